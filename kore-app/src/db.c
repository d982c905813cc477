/*
 * db.c
 *	The asynchronous statement runner every database endpoint uses.
 *
 * A Kore http_state machine: SETUP takes a pooled connection (or sleeps
 * until one is free), SEND issues the flow's next statement with bound
 * parameters, WAIT hands rows to the flow and moves on, DONE releases
 * the connection and answers. No call here blocks on the database
 * (Kore's own pool may PQconnectdb when it opens a new connection, with
 * PGCONNECT_TIMEOUT set by init.c).
 *
 * Failures: a SQL error on a live connection is drained, the open
 * transaction (if any) rolled back, and mapped by errors.c. A dead
 * connection (the server restarted) is thrown away; if that happened on
 * the first statement and the statement is marked retry_safe, the flow
 * starts over on a fresh connection, so idle pooled connections killed
 * by a restart cost no failed requests.
 *
 * Buffers: the kore_pgsql (inside the context) owns its PGresult until
 * kore_pgsql_continue; the flow copies what it needs in rows().
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "errors.h"

enum {
	ZX_ST_SETUP,
	ZX_ST_SEND,
	ZX_ST_WAIT,
	ZX_ST_DONE,
};

static int	st_setup(struct http_request *);
static int	st_send(struct http_request *);
static int	st_wait(struct http_request *);
static int	st_done(struct http_request *);
static int	db_error(struct http_request *, struct zx_ctx *);
static void	db_release(struct zx_ctx *);
static void	db_keep_error(struct zx_ctx *, struct kore_pgsql *);
static char	*dup_or_null(const char *);

static struct http_state db_states[] = {
	KORE_HTTP_STATE(st_setup),
	KORE_HTTP_STATE(st_send),
	KORE_HTTP_STATE(st_wait),
	KORE_HTTP_STATE(st_done),
};

#define DB_STATES	(sizeof(db_states) / sizeof(db_states[0]))

void
zx_db_register(const char *conninfo)
{
	if (!kore_pgsql_register(ZX_DB, conninfo))
		fatal("zixly: cannot register the database");
}

int
zx_db_run(struct http_request *req)
{
	return (http_state_run(db_states, DB_STATES, req));
}

/* Starts the flow of a context built by zx_ctx_create. */
int
zx_db_start(struct http_request *req, struct zx_ctx *ctx)
{
	ctx->step = 0;
	ctx->in_db = 1;
	req->fsm_state = ZX_ST_SETUP;
	return (zx_db_run(req));
}

static char *
dup_or_null(const char *s)
{
	return (s != NULL ? zx_xstrdup(s) : NULL);
}

static int
st_setup(struct http_request *req)
{
	struct zx_ctx	*ctx = http_state_get(req);

	if (!ctx->sql_bound) {
		kore_pgsql_init(&ctx->sql);
		kore_pgsql_bind_request(&ctx->sql, req);
		ctx->sql_bound = 1;
	}

	if (!kore_pgsql_setup(&ctx->sql, ZX_DB, KORE_PGSQL_ASYNC)) {
		/* Still INIT: queued for a free connection, we get woken. */
		if (ctx->sql.state == KORE_PGSQL_STATE_INIT)
			return (HTTP_STATE_RETRY);
		kore_log(LOG_NOTICE, "zixly: database connection failed: %s",
		    ctx->sql.error != NULL ? ctx->sql.error : "unknown");
		ctx->failed = 1;
		ctx->sqlstate[0] = '\0';
		db_release(ctx);
		req->fsm_state = ZX_ST_DONE;
		return (HTTP_STATE_CONTINUE);
	}

	zx_dbconns_acquired(&ctx->sql);
	ctx->holds_conn = 1;
	if (!zx_pgsql_usable(&ctx->sql) &&
	    ctx->retries < (int)pgsql_conn_max + 1) {
		/* Closed by the server while pooled: nothing sent yet. */
		ctx->retries++;
		kore_pgsql_handle(ctx->sql.conn, 1);
		db_release(ctx);
		return (HTTP_STATE_CONTINUE);
	}
	req->fsm_state = ZX_ST_SEND;
	return (HTTP_STATE_CONTINUE);
}

static int
st_send(struct http_request *req)
{
	struct zx_ctx	*ctx = http_state_get(req);
	struct zx_stmt	 st;
	int		 ok;

	memset(&st, 0, sizeof(st));

	/* Decided (or failed) inside a transaction: roll it back first. */
	if (ctx->status != 0 || ctx->failed) {
		if (!ctx->in_txn) {
			req->fsm_state = ZX_ST_DONE;
			return (HTTP_STATE_CONTINUE);
		}
		st.sql = "ROLLBACK";
		st.nparams = -1;
		st.txn = -1;
	} else if (!ctx->flow->next(req, ctx, &st)) {
		req->fsm_state = ZX_ST_DONE;
		return (HTTP_STATE_CONTINUE);
	}

	if (st.txn > 0)
		ctx->in_txn = 1;
	else if (st.txn < 0)
		ctx->in_txn = 0;

	if (st.nparams < 0) {
		ok = kore_pgsql_query(&ctx->sql, st.sql);
	} else {
		ok = kore_pgsql_query_param_fields(&ctx->sql, st.sql, 0,
		    st.nparams, st.params, NULL, NULL);
	}
	ctx->retry_safe = st.retry_safe;
	if (!ok) {
		/* Only a connection problem fails here (nothing was run). */
		return (db_error(req, ctx));
	}

	req->fsm_state = ZX_ST_WAIT;
	return (HTTP_STATE_CONTINUE);
}

static int
st_wait(struct http_request *req)
{
	struct zx_ctx	*ctx = http_state_get(req);

	switch (ctx->sql.state) {
	case KORE_PGSQL_STATE_WAIT:
		return (HTTP_STATE_RETRY);
	case KORE_PGSQL_STATE_RESULT:
		if (!ctx->failed && ctx->status == 0 && ctx->flow->rows != NULL)
			ctx->flow->rows(req, ctx, &ctx->sql);
		kore_pgsql_continue(&ctx->sql);
		return (HTTP_STATE_CONTINUE);
	case KORE_PGSQL_STATE_ERROR:
		return (db_error(req, ctx));
	case KORE_PGSQL_STATE_DONE:
		/* Complete: the next one on the same connection, once read. */
		switch (zx_pgsql_settle(&ctx->sql)) {
		case 0:
			return (HTTP_STATE_RETRY);	/* Kore wakes us */
		case -1:
			ctx->sql.state = KORE_PGSQL_STATE_ERROR;
			return (db_error(req, ctx));
		}
		ctx->step++;
		req->fsm_state = ZX_ST_SEND;
		return (HTTP_STATE_CONTINUE);
	case KORE_PGSQL_STATE_NOTIFY:
		kore_pgsql_continue(&ctx->sql);
		return (HTTP_STATE_CONTINUE);
	default:
		kore_log(LOG_ERR, "zixly: unexpected pgsql state %d",
		    ctx->sql.state);
		ctx->failed = 1;
		db_release(ctx);
		req->fsm_state = ZX_ST_DONE;
		return (HTTP_STATE_CONTINUE);
	}
}

/* Copies the error of the current statement into the context. */
static void
db_keep_error(struct zx_ctx *ctx, struct kore_pgsql *sql)
{
	const char	*s = NULL, *m = NULL, *d = NULL, *c = NULL;

	if (sql->result != NULL) {
		s = PQresultErrorField(sql->result, PG_DIAG_SQLSTATE);
		m = PQresultErrorField(sql->result, PG_DIAG_MESSAGE_PRIMARY);
		d = PQresultErrorField(sql->result, PG_DIAG_MESSAGE_DETAIL);
		c = PQresultErrorField(sql->result, PG_DIAG_COLUMN_NAME);
	}
	if (m == NULL)
		m = sql->error;
	free(ctx->err_message);
	free(ctx->err_detail);
	free(ctx->err_column);
	ctx->err_message = dup_or_null(m);
	ctx->err_detail = dup_or_null(d);
	ctx->err_column = dup_or_null(c);
	if (s != NULL && strlen(s) == 5)
		memcpy(ctx->sqlstate, s, 6);
	else
		ctx->sqlstate[0] = '\0';
}

static int
db_error(struct http_request *req, struct zx_ctx *ctx)
{
	struct kore_pgsql	*sql = &ctx->sql;
	int			 lost, first_error;

	first_error = !ctx->failed;
	if (first_error)
		db_keep_error(ctx, sql);

	lost = sql->conn == NULL || PQstatus(sql->conn->db) == CONNECTION_BAD ||
	    (sql->result != NULL && zx_pgerr_conn_lost(PQresultErrorField(
	    sql->result, PG_DIAG_SQLSTATE)));

	if (!lost) {
		/* A SQL error: drain to DONE on the same connection. */
		ctx->failed = 1;
		kore_pgsql_continue(sql);
		req->fsm_state = ZX_ST_WAIT;
		return (HTTP_STATE_CONTINUE);
	}

	/* The connection is gone: drop it from Kore's pool for good. */
	if (sql->conn != NULL)
		kore_pgsql_handle(sql->conn, 1);
	db_release(ctx);
	ctx->in_txn = 0;

	if (first_error && ctx->step == 0 && ctx->retry_safe &&
	    ctx->status == 0 &&
	    ctx->retries < (int)pgsql_conn_max + 1) {
		ctx->retries++;
		ctx->sqlstate[0] = '\0';
		req->fsm_state = ZX_ST_SETUP;
		return (HTTP_STATE_CONTINUE);
	}

	kore_log(LOG_NOTICE, "zixly: database connection lost: %s",
	    ctx->err_message != NULL ? ctx->err_message : "unknown");
	if (first_error)
		ctx->sqlstate[0] = '\0';	/* answer 503 */
	ctx->failed = 1;
	req->fsm_state = ZX_ST_DONE;
	return (HTTP_STATE_CONTINUE);
}

/* Gives the connection back to the pool (or forgets a dead one). */
static void
db_release(struct zx_ctx *ctx)
{
	if (ctx->holds_conn) {
		zx_dbconns_released();
		ctx->holds_conn = 0;
	}
	if (!ctx->sql_bound)
		return;
	if (ctx->sql.state == KORE_PGSQL_STATE_DONE && ctx->sql.conn != NULL)
		kore_pgsql_continue(&ctx->sql);
	kore_pgsql_cleanup(&ctx->sql);
	ctx->sql_bound = 0;
}

static int
st_done(struct http_request *req)
{
	struct zx_ctx	*ctx = http_state_get(req);
	struct zx_buf	 b;
	struct zx_pgerr	 e;
	int		 status;

	db_release(ctx);

	if (ctx->failed && ctx->status == 0) {
		e.sqlstate = ctx->sqlstate[0] != '\0' ? ctx->sqlstate : NULL;
		e.message = ctx->err_message;
		e.detail = ctx->err_detail;
		e.column = ctx->err_column;
		zx_buf_init(&b, 256);
		status = zx_pgerr_map(&e, &b);
		if (status >= 500 && status != 503) {
			kore_log(LOG_ERR, "zixly: %s %s: SQLSTATE %s: %s",
			    http_method_text(req->method), req->path,
			    ctx->sqlstate, ctx->err_message != NULL ?
			    ctx->err_message : "");
		}
		zx_fail_body(ctx, status, &b);
		zx_buf_free(&b);
	}
	if (ctx->flow->done != NULL)
		ctx->flow->done(req, ctx);

	(void)zx_reply(req, ctx);
	return (HTTP_STATE_COMPLETE);
}

/*
 * The steps of a tenant-scoped read: BEGIN, set the tenant for this
 * transaction (so row-level security applies), the main statement,
 * COMMIT. main fills the statement for step ZX_TENANT_MAIN.
 */
int
zx_tenant_next(struct zx_ctx *ctx, struct zx_stmt *st,
    void (*main)(struct zx_ctx *, struct zx_stmt *))
{
	switch (ctx->step) {
	case 0:
		st->sql = "BEGIN";
		st->nparams = -1;
		st->txn = 1;
		st->retry_safe = 1;
		return (1);
	case 1:
		st->sql = "SELECT pg_catalog.set_config('zixly.tenant_id', $1, "
		    "true)";
		st->nparams = 1;
		st->params[0] = ctx->tenant;
		return (1);
	case ZX_TENANT_MAIN:
		main(ctx, st);
		return (1);
	case ZX_TENANT_MAIN + 1:
		st->sql = "COMMIT";
		st->nparams = -1;
		st->txn = -1;
		return (1);
	default:
		return (0);
	}
}
