/*
 * auth.c
 *	Who is calling: API keys for webhooks, JWTs for the dashboard API,
 *	and POST /api/login, which trades an email and password for a JWT.
 *
 * API keys are checked by the database (zixly_authenticate_api_key: a
 * SHA-256 lookup compared in constant time); the webhook flow does that
 * in the same statement as the rate limit. JWTs are checked here (jwt.c)
 * without a database round trip. A credential of the wrong kind for an
 * endpoint that is otherwise valid is a 403; an invalid one is a 401.
 *
 * Logins are throttled per email (ZIXLY_LOGIN_RATE_LIMIT attempts a
 * minute, right or wrong, in zixly_rate_limit's fixed window, so across
 * processes and instances): past the limit the password is not even
 * checked and the answer is a 429 with Retry-After.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "errors.h"
#include "jwt.h"


static struct zx_jwt_config	jwt;

static int	apikey_next(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
static void	apikey_rows(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);
static void	apikey_done(struct http_request *, struct zx_ctx *);
static void	unauthorized(struct http_request *, struct zx_ctx *,
		    const char *, int);

static int	login_next(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
static void	login_rows(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);
static void	login_done(struct http_request *, struct zx_ctx *);
static void	login_free(struct zx_ctx *);

int		zx_api_login(struct http_request *);

/* An API key presented to the dashboard API: is it a real one? */
static const struct zx_flow apikey_flow = {
	apikey_next, apikey_rows, apikey_done
};

static const struct zx_flow login_flow = {
	login_next, login_rows, login_done
};

struct login_state {
	struct zx_ctx	 ctx;
	char		*email;
	char		*password;
	int		 found;
	/* the per-email rate limit's hit: allowed (empty: no answer), ... */
	char		 allowed[4], remaining[16], reset[16];
	char		 limit[24];	/* as sent to SQL */
	char		 user_id[ZX_ID_MAX + 1];
	char		 tenant_id[ZX_ID_MAX + 1];
	char		*user_email;
};

void
zx_auth_setup(void)
{
	jwt.secret = zx_config.jwt_secret;
	jwt.secret_len = zx_config.jwt_secret_len;
	jwt.issuer = ZX_JWT_ISSUER;
	jwt.audience = ZX_JWT_AUDIENCE;
}

char *
zx_jwt_issue(const char *sub, const char *tid, const char *email,
    int64_t *exp)
{
	struct zx_jwt_claims	c;

	memset(&c, 0, sizeof(c));
	(void)kore_strlcpy(c.sub, sub, sizeof(c.sub));
	(void)kore_strlcpy(c.tid, tid, sizeof(c.tid));
	(void)kore_strlcpy(c.email, email, sizeof(c.email));
	c.iat = (int64_t)time(NULL);
	c.exp = c.iat + zx_config.jwt_ttl;
	*exp = c.exp;
	return (zx_jwt_sign(&jwt, &c));
}

static void
unauthorized(struct http_request *req, struct zx_ctx *ctx, const char *msg,
    int bad_token)
{
	http_response_header(req, "www-authenticate", bad_token ?
	    "Bearer realm=\"zixly\", error=\"invalid_token\"" :
	    "Bearer realm=\"zixly\"");
	zx_fail(ctx, 401, "unauthorized", msg);
}

/* A login token, checked against this app's secret, issuer and audience, now. */
enum zx_jwt_result
zx_auth_token(const char *tok, struct zx_jwt_claims *claims)
{
	return (zx_jwt_verify(&jwt, tok, (int64_t)time(NULL), claims));
}

int
zx_dashboard_begin(struct http_request *req, struct zx_ctx *ctx, int methods,
    struct zx_jwt_claims *claims)
{
	if (!zx_method_ok(req, ctx, methods))
		return (ZX_AUTH_ANSWERED);
	return (zx_auth_dashboard(req, ctx, claims));
}

int
zx_dashboard_answer(struct http_request *req, struct zx_ctx *ctx, int a)
{
	/* An API key goes on to its check, which answers 401 or 403. */
	return (a == ZX_AUTH_CHECK_KEY ? zx_db_start(req, ctx) :
	    zx_reply(req, ctx));
}

int
zx_auth_dashboard(struct http_request *req, struct zx_ctx *ctx,
    struct zx_jwt_claims *claims)
{
	char			tok[ZX_TOKEN_MAX + 1];
	enum zx_jwt_result	r;

	switch (zx_credential(zx_header(req, "x-api-key"),
	    zx_header(req, "authorization"), tok, sizeof(tok))) {
	case ZX_CRED_NONE:
		unauthorized(req, ctx, "log in first: send Authorization: "
		    "Bearer <token> with a token from POST /api/login", 0);
		return (ZX_AUTH_ANSWERED);
	case ZX_CRED_BAD:
		unauthorized(req, ctx, "the Authorization header is not "
		    "\"Bearer <token>\"", 1);
		return (ZX_AUTH_ANSWERED);
	case ZX_CRED_API_KEY:
		ctx->cred = zx_xstrdup(tok);
		ctx->flow = &apikey_flow;
		return (ZX_AUTH_CHECK_KEY);
	case ZX_CRED_JWT:
		break;
	}

	r = zx_auth_token(tok, claims);
	if (r != ZX_JWT_OK) {
		unauthorized(req, ctx, zx_jwt_strerror(r), 1);
		return (ZX_AUTH_ANSWERED);
	}
	(void)kore_strlcpy(ctx->tenant, claims->tid, sizeof(ctx->tenant));
	return (ZX_AUTH_OK);
}

int
zx_auth_webhook(struct http_request *req, struct zx_ctx *ctx)
{
	struct zx_jwt_claims	claims;
	char			tok[ZX_TOKEN_MAX + 1];

	switch (zx_credential(zx_header(req, "x-api-key"),
	    zx_header(req, "authorization"), tok, sizeof(tok))) {
	case ZX_CRED_NONE:
		unauthorized(req, ctx, "an API key is required: send "
		    "X-API-Key or Authorization: Bearer <key>", 0);
		return (ZX_AUTH_ANSWERED);
	case ZX_CRED_BAD:
		unauthorized(req, ctx, "the Authorization header is not "
		    "\"Bearer <key>\", or X-API-Key and it differ", 1);
		return (ZX_AUTH_ANSWERED);
	case ZX_CRED_JWT:
		if (zx_auth_token(tok, &claims) == ZX_JWT_OK) {
			zx_fail(ctx, 403, "forbidden", "dashboard tokens "
			    "cannot call webhooks; use an API key");
		} else {
			unauthorized(req, ctx, "the API key is not valid", 1);
		}
		return (ZX_AUTH_ANSWERED);
	case ZX_CRED_API_KEY:
		ctx->cred = zx_xstrdup(tok);
		return (ZX_AUTH_OK);
	}
	return (ZX_AUTH_ANSWERED);
}

static int
apikey_next(struct http_request *req, struct zx_ctx *ctx, struct zx_stmt *st)
{
	(void)req;
	if (ctx->step != 0)
		return (0);
	st->sql = "SELECT 1 FROM zixly_authenticate_api_key($1)";
	st->nparams = 1;
	st->params[0] = ctx->cred;
	st->retry_safe = 1;
	return (1);
}

static void
apikey_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	(void)req;
	if (kore_pgsql_ntuples(sql) > 0) {
		zx_fail(ctx, 403, "forbidden", "API keys can only call the "
		    "webhooks; log in with POST /api/login for the dashboard "
		    "API");
	}
}

static void
apikey_done(struct http_request *req, struct zx_ctx *ctx)
{
	if (ctx->status == 0)
		unauthorized(req, ctx, "the credential is not valid", 1);
}

/*
 * POST /api/login {"email","password"} -> {"token","token_type",
 * "expires_at","user"}. The password is checked by the database (bcrypt
 * in zixly_authenticate_user, which spends the same time on unknown
 * emails).
 */
int
zx_api_login(struct http_request *req)
{
	struct login_state	*ls;
	struct zx_buf		 err;
	char			*body;
	size_t			 len;
	int			 status;

	if (http_state_exists(req))
		return (zx_db_run(req));

	ls = zx_ctx_create(req, sizeof(*ls), ZX_ROUTE_LOGIN, &login_flow,
	    login_free);
	if (!zx_method_ok(req, &ls->ctx, HTTP_METHOD_POST) ||
	    !zx_require_json(req, &ls->ctx) ||
	    !zx_read_body(req, &ls->ctx, &body, &len))
		return (zx_reply(req, &ls->ctx));

	zx_buf_init(&err, 256);
	status = zx_login_body_parse(body, len, &ls->email, &ls->password,
	    &err);
	free(body);
	if (status != 0) {
		zx_fail_body(&ls->ctx, status, &err);
		zx_buf_free(&err);
		return (zx_reply(req, &ls->ctx));
	}
	zx_buf_free(&err);
	(void)snprintf(ls->limit, sizeof(ls->limit), "%ld",
	    zx_config.login_rate_limit);
	return (zx_db_start(req, &ls->ctx));
}

static int
login_next(struct http_request *req, struct zx_ctx *ctx, struct zx_stmt *st)
{
	struct login_state	*ls = (struct login_state *)ctx;

	(void)req;
	if (ctx->step != 0)
		return (0);
	/*
	 * One hit on the email's bucket (its SHA-256: any length fits, and no
	 * address is stored); the password is checked only when allowed (the
	 * lateral subquery's condition on r alone is a one-time filter).
	 */
	st->sql = "SELECT r.allowed, r.remaining, r.reset_seconds, u.user_id, "
	    "u.tenant_id, u.email FROM zixly_rate_limit('login:' || pg_catalog.encode("
	    "pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.lower($1), "
	    "'UTF8')), 'hex'), $3::integer, 60) AS r "
	    "LEFT JOIN LATERAL (SELECT * FROM zixly_authenticate_user($1, $2) "
	    "WHERE r.allowed) AS u ON true";
	st->nparams = 3;
	st->params[0] = ls->email;
	st->params[1] = ls->password;
	st->params[2] = ls->limit;
	st->retry_safe = 1;	/* a retried statement counts one hit more */
	return (1);
}

static void
login_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	struct login_state	*ls = (struct login_state *)ctx;

	(void)req;
	if (kore_pgsql_ntuples(sql) != 1)
		return;
	(void)kore_strlcpy(ls->allowed, kore_pgsql_getvalue(sql, 0, 0),
	    sizeof(ls->allowed));
	(void)kore_strlcpy(ls->remaining, kore_pgsql_getvalue(sql, 0, 1),
	    sizeof(ls->remaining));
	(void)kore_strlcpy(ls->reset, kore_pgsql_getvalue(sql, 0, 2),
	    sizeof(ls->reset));
	if (PQgetisnull(sql->result, 0, 3))
		return;		/* limited, or a wrong email or password */
	ls->found = 1;
	(void)kore_strlcpy(ls->user_id, kore_pgsql_getvalue(sql, 0, 3),
	    sizeof(ls->user_id));
	(void)kore_strlcpy(ls->tenant_id, kore_pgsql_getvalue(sql, 0, 4),
	    sizeof(ls->tenant_id));
	ls->user_email = zx_xstrdup(kore_pgsql_getvalue(sql, 0, 5));
}

static void
login_done(struct http_request *req, struct zx_ctx *ctx)
{
	struct login_state	*ls = (struct login_state *)ctx;
	char			*token, when[32];
	int64_t			 exp;

	if (ctx->status != 0)
		return;
	if (ls->allowed[0] != '\0' && !zx_ratelimit_window(req, ctx,
	    "per-email", zx_config.login_rate_limit, ls->allowed, ls->remaining,
	    ls->reset, "too many login attempts for this email"))
		return;
	if (!ls->found) {
		zx_fail(ctx, 401, "invalid_credentials",
		    "the email or password is wrong");
		return;
	}
	if ((token = zx_jwt_issue(ls->user_id, ls->tenant_id, ls->user_email,
	    &exp)) == NULL) {
		zx_fail(ctx, 500, "internal_error", "cannot sign a token");
		return;
	}
	zx_iso8601(exp, when, sizeof(when));
	zx_buf_reset(&ctx->body);
	zx_buf_puts(&ctx->body, "{\"token\":");
	zx_buf_json_cstr(&ctx->body, token);
	zx_buf_puts(&ctx->body, ",\"token_type\":\"Bearer\",\"expires_at\":");
	zx_buf_json_cstr(&ctx->body, when);
	zx_buf_puts(&ctx->body, ",\"user\":{\"id\":");
	zx_buf_json_cstr(&ctx->body, ls->user_id);
	zx_buf_puts(&ctx->body, ",\"email\":");
	zx_buf_json_cstr(&ctx->body, ls->user_email);
	zx_buf_puts(&ctx->body, ",\"tenant_id\":");
	zx_buf_json_cstr(&ctx->body, ls->tenant_id);
	zx_buf_puts(&ctx->body, "}}");
	ctx->status = 200;
	free(token);
}

static void
login_free(struct zx_ctx *ctx)
{
	struct login_state	*ls = (struct login_state *)ctx;

	if (ls->password != NULL)
		explicit_bzero(ls->password, strlen(ls->password));
	free(ls->email);
	free(ls->password);
	free(ls->user_email);
}
