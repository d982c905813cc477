/*
 * ratelimit.c
 *	Per-API-key rate limiting (default 10 requests a minute).
 *
 * The count lives in the database (zixly_rate_limit: a fixed window in an
 * unlogged table), so the limit holds across Kore workers and across app
 * instances sharing the database. It runs in the same statement as the
 * key check but in its own transaction, never the enqueue's: the window
 * row stays locked only until that quick commit, which needs no WAL
 * flush. Answers carry the IETF draft's RateLimit-Policy and RateLimit
 * headers; a refusal is a 429 with Retry-After.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static char	limit_text[24];

const char *
zx_ratelimit_param(void)
{
	if (limit_text[0] == '\0') {
		(void)snprintf(limit_text, sizeof(limit_text), "%ld",
		    zx_config.rate_limit);
	}
	return (limit_text);
}

/*
 * Reads the row of ZX_RATELIMIT_SQL. Returns 1 when the key is valid and
 * within its limit (ctx->tenant is set); otherwise the 401 or 429 answer
 * is set and 0 returned.
 */
int
zx_ratelimit_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	char		 h[96];
	const char	*remaining, *reset;

	if (kore_pgsql_ntuples(sql) != 1) {
		http_response_header(req, "www-authenticate",
		    "Bearer realm=\"zixly\", error=\"invalid_token\"");
		zx_fail(ctx, 401, "unauthorized",
		    "the API key is not valid (unknown, revoked or malformed)");
		return (0);
	}
	(void)kore_strlcpy(ctx->tenant, kore_pgsql_getvalue(sql, 0, 0),
	    sizeof(ctx->tenant));
	remaining = kore_pgsql_getvalue(sql, 0, 2);
	reset = kore_pgsql_getvalue(sql, 0, 3);

	(void)snprintf(h, sizeof(h), "\"per-key\";q=%ld;w=60",
	    zx_config.rate_limit);
	http_response_header(req, "ratelimit-policy", h);
	(void)snprintf(h, sizeof(h), "\"per-key\";r=%s;t=%s", remaining, reset);
	http_response_header(req, "ratelimit", h);

	if (strcmp(kore_pgsql_getvalue(sql, 0, 1), "t") != 0) {
		http_response_header(req, "retry-after", reset);
		(void)snprintf(h, sizeof(h), "at most %ld requests a minute "
		    "per API key; retry in %s s", zx_config.rate_limit, reset);
		zx_fail(ctx, 429, "rate_limited", h);
		return (0);
	}
	return (1);
}
