/*
 * webhook.c
 *	POST /webhook/trading-sweep, and the enqueue flow it shares with
 *	POST /api/pipelines.
 *
 * The app checks only what is HTTP's business (method, key, media type,
 * size, well-formed JSON object) and splits off the job options
 * "priority" and "idempotency_key"; zixly_enqueue validates the sweep
 * parameters (SQLSTATE 22023, mapped to a 400 by errors.c).
 *
 * Steps:
 *   0. [webhook, a well-formed body without an Idempotency-Key] key
 *      check, rate limit and enqueue in one statement shared with the
 *      concurrent requests for the same key and priority (batch.c,
 *      "submit"). If it fails (one bad body fails them all), each
 *      request goes through the steps below on its own.
 *   1. [webhook] key check + rate limit, in its own quick transaction,
 *      shared with concurrent requests for the same key (batch.c).
 *   2. without an Idempotency-Key: the job joins a shared
 *      zixly_enqueue_batch for its tenant and priority (batch.c), one
 *      commit for all of them. If that statement fails, or if the batch
 *      could not be used, the request runs alone on its own connection
 *      (db.c): zixly_enqueue(...) whose tenant_id argument is
 *      set_config('zixly.tenant_id', $1, true) -- arguments are evaluated
 *      before the function runs, so the tenant is set in the statement's
 *      transaction before the insert and RLS checks the new row.
 *   3. with an Idempotency-Key, alone on its connection: BEGIN; set the
 *      tenant and take a
 *     transaction advisory lock on (tenant, key) without waiting -- if
 *     another request holds it, that one is in flight: 409; enqueue with
 *     the key (the extension returns the first job for a known key);
 *     a stored job whose body differs: 422; COMMIT.
 *
 * Auth comes first: a body problem found before the key was checked is
 * answered only once the key is known to be good (and counted against
 * its rate limit).
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "errors.h"

#define ENQUEUE_RETURNING						\
	"SELECT j.id, " ZX_SQL_TS("j.created_at") ", "			\
	"j.created_at = pg_catalog.now(), "				\
	"j.parameters = ($2::jsonb - '" ZX_JOB_OPTION_KEYS "'::text[]) "	\
	"AND j.priority = $3::integer AND j.job_type = 'trading-sweep' "

static const char sql_enqueue[] =
    ENQUEUE_RETURNING
    "FROM zixly_enqueue('trading-sweep', "
    "$2::jsonb - '" ZX_JOB_OPTION_KEYS "'::text[], "
    "pg_catalog.set_config('zixly.tenant_id', $1, true), "
    "priority => $3::integer) AS j";

static const char sql_lock[] =
    "SELECT pg_catalog.set_config('zixly.tenant_id', $1, true), "
    "pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended("
    "'zixly.idempotency:' || $1 || ':' || $2, 0))";

static const char sql_enqueue_idem[] =
    ENQUEUE_RETURNING
    "FROM zixly_enqueue('trading-sweep', "
    "$2::jsonb - '" ZX_JOB_OPTION_KEYS "'::text[], $1, "
    "priority => $3::integer, idempotency_key => $4) AS j";

enum { PHASE_START, PHASE_SUBMIT, PHASE_ADMIT, PHASE_ENQUEUE };

struct enqueue_state {
	struct zx_ctx		 ctx;
	int			 phase;
	struct zx_member	 m;		/* in a batch (batch.c) */
	char			*body;		/* the raw JSON text, NUL-ended */
	size_t			 body_len;
	struct zx_job_body	 opts;
	char			 idem[ZX_IDEM_KEY_MAX + 1];
	int			 has_idem;
	char			 prio[16];
	int			 base;		/* first step after the key check */
	int			 pending_status; /* body error, after auth */
	struct zx_buf		 pending;
	int			 have_job;
	int			 created;
	int			 replay;
	char			 job_id[ZX_ID_MAX + 1];
	char			 created_at[40];
};

static int	enqueue_next(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
static void	enqueue_rows(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);
static void	enqueue_done(struct http_request *, struct zx_ctx *);
static void	enqueue_free(struct zx_ctx *);
static void	enqueue_read_body(struct http_request *, struct enqueue_state *);
static int	enqueue_admitted(struct http_request *, struct enqueue_state *);
static int	enqueue_alone(struct http_request *, struct enqueue_state *, int);
static void	enqueue_accepted(struct http_request *, struct enqueue_state *);

int		zx_webhook_trading_sweep(struct http_request *);

static const struct zx_flow enqueue_flow = {
	enqueue_next, enqueue_rows, enqueue_done
};

struct zx_ctx *
zx_enqueue_ctx(struct http_request *req, int route)
{
	struct enqueue_state	*es;

	es = zx_ctx_create(req, sizeof(*es), route, &enqueue_flow,
	    enqueue_free);
	zx_buf_init(&es->pending, 64);
	return (&es->ctx);
}

static void
enqueue_free(struct zx_ctx *ctx)
{
	struct enqueue_state	*es = (struct enqueue_state *)ctx;

	zx_batch_leave(&es->m);
	free(es->body);
	zx_job_body_clear(&es->opts);
	zx_buf_free(&es->pending);
}

/* POST /webhook/trading-sweep (API key). */
int
zx_webhook_trading_sweep(struct http_request *req)
{
	struct zx_ctx	*ctx;

	if (http_state_exists(req))
		return (zx_enqueue_resume(req));

	ctx = zx_enqueue_ctx(req, ZX_ROUTE_WEBHOOK);
	if (!zx_method_ok(req, ctx, HTTP_METHOD_POST))
		return (zx_reply(req, ctx));
	if (zx_auth_webhook(req, ctx) != ZX_AUTH_OK)
		return (zx_reply(req, ctx));
	return (zx_enqueue_begin(req, ctx));
}

/*
 * Reads and checks the body and the Idempotency-Key. A problem becomes
 * the pending answer (given after the key check, if there is one).
 */
static void
enqueue_read_body(struct http_request *req, struct enqueue_state *es)
{
	struct zx_ctx	*ctx = &es->ctx;
	const char	*h;
	int		 status;

	if (!zx_require_json(req, ctx) ||
	    !zx_read_body(req, ctx, &es->body, &es->body_len))
		goto pending;

	if ((status = zx_job_body_parse(es->body, es->body_len, &es->opts,
	    &es->pending)) != 0) {
		es->pending_status = status;
		return;
	}

	if ((h = zx_header(req, "idempotency-key")) != NULL) {
		if (zx_idempotency_key_parse(h, es->idem,
		    sizeof(es->idem)) == -1) {
			zx_fail(ctx, 400, "invalid_request", "the "
			    "Idempotency-Key header must be 1 to 255 "
			    "printable ASCII characters");
			goto pending;
		}
		es->has_idem = 1;
	}
	if (es->opts.idempotency_key != NULL) {
		if (es->has_idem && strcmp(es->idem,
		    es->opts.idempotency_key) != 0) {
			zx_fail(ctx, 400, "invalid_request", "the "
			    "Idempotency-Key header and the body's "
			    "idempotency_key differ");
			goto pending;
		}
		(void)kore_strlcpy(es->idem, es->opts.idempotency_key,
		    sizeof(es->idem));
		es->has_idem = 1;
	}
	(void)snprintf(es->prio, sizeof(es->prio), "%d",
	    es->opts.has_priority ? (int)es->opts.priority : 0);
	return;

pending:
	/* zx_fail put the answer in ctx; keep it for after the key check. */
	es->pending_status = ctx->status;
	zx_buf_reset(&es->pending);
	zx_buf_append(&es->pending, ctx->body.data, ctx->body.len);
	ctx->status = 0;
	zx_buf_reset(&ctx->body);
}

/*
 * After method and credential checks: the body, then the statements.
 * ctx->cred set means the key is still to be checked (webhook);
 * otherwise ctx->tenant is known (dashboard JWT).
 */
int
zx_enqueue_begin(struct http_request *req, struct zx_ctx *ctx)
{
	struct enqueue_state	*es = (struct enqueue_state *)ctx;

	enqueue_read_body(req, es);
	if (ctx->cred != NULL && !zx_config.batch)
		return (enqueue_alone(req, es, 1));
	if (ctx->cred != NULL && es->pending_status == 0 && !es->has_idem) {
		es->phase = PHASE_SUBMIT;
		zx_batch_submit(&es->m, req, ctx->cred, es->prio, es->body,
		    es->body_len);
		return (KORE_RESULT_RETRY);
	}
	if (ctx->cred != NULL) {
		es->phase = PHASE_ADMIT;
		zx_batch_admit(&es->m, req, ctx->cred);
		return (KORE_RESULT_RETRY);
	}
	if (es->pending_status != 0) {
		zx_fail_body(ctx, es->pending_status, &es->pending);
		return (zx_reply(req, ctx));
	}
	return (enqueue_admitted(req, es));
}

/* The key is good and within its limit: queue the job. */
static int
enqueue_admitted(struct http_request *req, struct enqueue_state *es)
{
	if (es->has_idem || !zx_config.batch)
		return (enqueue_alone(req, es, 0));
	es->phase = PHASE_ENQUEUE;
	zx_batch_enqueue(&es->m, req, es->ctx.tenant, es->prio, es->body,
	    es->body_len);
	return (KORE_RESULT_RETRY);
}

/* The statements on the request's own connection (base 1: key first). */
static int
enqueue_alone(struct http_request *req, struct enqueue_state *es, int base)
{
	es->base = base;
	return (zx_db_start(req, &es->ctx));
}

/* Called again after sleeping in a batch, or by the statement runner. */
int
zx_enqueue_resume(struct http_request *req)
{
	struct enqueue_state	*es = http_state_get(req);
	struct zx_ctx		*ctx = &es->ctx;
	struct zx_member	*m = &es->m;

	if (ctx->in_db)
		return (zx_db_run(req));
	if (!m->done) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}
	m->done = 0;

	if (m->outcome == ZX_MEMBER_LOST) {
		zx_fail(ctx, 503, "service_unavailable",
		    "the database is unavailable; try again shortly");
		return (zx_reply(req, ctx));
	}
	if (m->outcome == ZX_MEMBER_FAILED)
		return (enqueue_alone(req, es, es->phase != PHASE_ENQUEUE));

	if (es->phase != PHASE_ENQUEUE) {
		if (!zx_ratelimit_apply(req, ctx, m->outcome == ZX_MEMBER_OK,
		    m->allowed ? "t" : "f", m->remaining, m->reset))
			return (zx_reply(req, ctx));
		(void)kore_strlcpy(ctx->tenant, m->tenant, sizeof(ctx->tenant));
	}
	if (es->phase == PHASE_ADMIT) {
		if (es->pending_status != 0) {
			zx_fail_body(ctx, es->pending_status, &es->pending);
			return (zx_reply(req, ctx));
		}
		return (enqueue_admitted(req, es));
	}

	if (m->job_id[0] == '\0') {
		zx_fail(ctx, 500, "internal_error", "the job was not queued");
		return (zx_reply(req, ctx));
	}
	es->have_job = 1;
	es->created = 1;
	(void)kore_strlcpy(es->job_id, m->job_id, sizeof(es->job_id));
	(void)kore_strlcpy(es->created_at, m->created_at,
	    sizeof(es->created_at));
	enqueue_accepted(req, es);
	return (zx_reply(req, ctx));
}

static int
enqueue_next(struct http_request *req, struct zx_ctx *ctx, struct zx_stmt *st)
{
	struct enqueue_state	*es = (struct enqueue_state *)ctx;
	int			 s;

	(void)req;
	if (ctx->step == 0 && es->base == 1) {
		st->sql = ZX_RATELIMIT_SQL;
		st->nparams = 2;
		st->params[0] = ctx->cred;
		st->params[1] = zx_ratelimit_param();
		st->retry_safe = 1;
		return (1);
	}

	s = ctx->step - es->base;
	st->params[0] = ctx->tenant;
	st->params[1] = es->body;
	st->params[2] = es->prio;
	if (!es->has_idem) {
		if (s != 0)
			return (0);
		st->sql = sql_enqueue;
		st->nparams = 3;
		return (1);
	}

	switch (s) {
	case 0:
		st->sql = "BEGIN";
		st->nparams = -1;
		st->txn = 1;
		st->retry_safe = 1;
		return (1);
	case 1:
		st->sql = sql_lock;
		st->nparams = 2;
		st->params[1] = es->idem;
		return (1);
	case 2:
		st->sql = sql_enqueue_idem;
		st->nparams = 4;
		st->params[3] = es->idem;
		return (1);
	case 3:
		st->sql = "COMMIT";
		st->nparams = -1;
		st->txn = -1;
		return (1);
	default:
		return (0);
	}
}

static void
enqueue_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	struct enqueue_state	*es = (struct enqueue_state *)ctx;
	int			 s = ctx->step - es->base;

	if (ctx->step == 0 && es->base == 1) {
		if (zx_ratelimit_rows(req, ctx, sql) &&
		    es->pending_status != 0)
			zx_fail_body(ctx, es->pending_status, &es->pending);
		return;
	}

	if (es->has_idem && s == 1) {
		if (strcmp(kore_pgsql_getvalue(sql, 0, 1), "t") != 0) {
			zx_fail(ctx, 409, "conflict", "a request with this "
			    "Idempotency-Key is still being processed; retry "
			    "once it has been answered");
		}
		return;
	}

	if (kore_pgsql_ntuples(sql) != 1)
		return;
	if (strcmp(kore_pgsql_getvalue(sql, 0, 3), "t") != 0) {
		zx_fail(ctx, 422, "idempotency_key_reused", "this "
		    "Idempotency-Key was used for a request with a different "
		    "body");
		return;
	}
	es->have_job = 1;
	es->created = strcmp(kore_pgsql_getvalue(sql, 0, 2), "t") == 0;
	es->replay = !es->created;
	(void)kore_strlcpy(es->job_id, kore_pgsql_getvalue(sql, 0, 0),
	    sizeof(es->job_id));
	(void)kore_strlcpy(es->created_at, kore_pgsql_getvalue(sql, 0, 1),
	    sizeof(es->created_at));
}

static void
enqueue_done(struct http_request *req, struct zx_ctx *ctx)
{
	struct enqueue_state	*es = (struct enqueue_state *)ctx;

	if (ctx->status != 0)
		return;
	if (!es->have_job) {
		zx_fail(ctx, 500, "internal_error", "the job was not queued");
		return;
	}
	if (es->created)
		zx_metrics_job_queued(zx_metrics);
	enqueue_accepted(req, es);
}

/* The 202 answer, exactly as the spec shows it. */
static void
enqueue_accepted(struct http_request *req, struct enqueue_state *es)
{
	struct zx_ctx	*ctx = &es->ctx;
	char		 loc[128];

	if (es->replay)
		http_response_header(req, "idempotent-replayed", "true");
	(void)snprintf(loc, sizeof(loc), "/api/pipelines/%s", es->job_id);
	http_response_header(req, "location", loc);

	zx_buf_reset(&ctx->body);
	zx_buf_puts(&ctx->body, "{\"job_id\":");
	zx_buf_json_cstr(&ctx->body, es->job_id);
	zx_buf_puts(&ctx->body, ",\"status\":\"QUEUED\",\"message\":"
	    "\"Trading sweep job queued successfully\",\"created_at\":");
	zx_buf_json_cstr(&ctx->body, es->created_at);
	zx_buf_puts(&ctx->body, "}");
	ctx->status = 202;
}
