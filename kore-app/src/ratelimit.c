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
 * One zixly_rate_limit hit (allowed, remaining, reset: its columns) of a
 * one-minute window of limit hits, named policy in the headers. Returns 1
 * when allowed; otherwise the 429 is set, its message starting with what
 * was too many, and 0 returned.
 */
int
zx_ratelimit_window(struct http_request *req, struct zx_ctx *ctx,
    const char *policy, long limit, const char *allowed,
    const char *remaining, const char *reset, const char *too_many)
{
	char	h[160];

	(void)snprintf(h, sizeof(h), "\"%s\";q=%ld;w=60", policy, limit);
	http_response_header(req, "ratelimit-policy", h);
	(void)snprintf(h, sizeof(h), "\"%s\";r=%s;t=%s", policy, remaining,
	    reset);
	http_response_header(req, "ratelimit", h);

	if (strcmp(allowed, "t") != 0) {
		http_response_header(req, "retry-after", reset);
		(void)snprintf(h, sizeof(h), "%s (at most %ld a minute); retry "
		    "in %s s", too_many, limit, reset);
		zx_fail(ctx, 429, "rate_limited", h);
		return (0);
	}
	return (1);
}

/*
 * Applies a key check and rate-limit result: found says whether the key
 * is valid. Returns 1 when the request may go on (ctx->tenant set);
 * otherwise the 401 or 429 answer is set and 0 returned.
 */
int
zx_ratelimit_apply(struct http_request *req, struct zx_ctx *ctx, int found,
    const char *allowed, const char *remaining, const char *reset)
{
	if (!found) {
		http_response_header(req, "www-authenticate",
		    "Bearer realm=\"zixly\", error=\"invalid_token\"");
		zx_fail(ctx, 401, "unauthorized",
		    "the API key is not valid (unknown, revoked or malformed)");
		return (0);
	}
	return (zx_ratelimit_window(req, ctx, "per-key", zx_config.rate_limit,
	    allowed, remaining, reset, "too many requests for this API key"));
}

/* The same, from the row of ZX_RATELIMIT_SQL (tenant, allowed, ...). */
int
zx_ratelimit_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	if (kore_pgsql_ntuples(sql) != 1)
		return (zx_ratelimit_apply(req, ctx, 0, NULL, NULL, NULL));
	(void)kore_strlcpy(ctx->tenant, kore_pgsql_getvalue(sql, 0, 0),
	    sizeof(ctx->tenant));
	return (zx_ratelimit_apply(req, ctx, 1, kore_pgsql_getvalue(sql, 0, 1),
	    kore_pgsql_getvalue(sql, 0, 2), kore_pgsql_getvalue(sql, 0, 3)));
}
