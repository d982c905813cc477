/*
 * app.h
 *	What the Kore-facing files of the zixly app share: the per-request
 *	context, the asynchronous statement runner (db.c) and the reply
 *	helpers (reply.c).
 *
 * Every request that talks to the database runs the same small state
 * machine (db.c): SETUP (get a pooled connection) -> SEND -> WAIT (rows
 * are handed to the endpoint) -> SEND ... -> DONE. An endpoint supplies a
 * struct zx_flow: which statement comes next, and what to do with rows.
 * All statements of one request run on one connection, so a flow may
 * open a transaction. Parameters are always bound, never spliced.
 */
#ifndef ZX_APP_H
#define ZX_APP_H

#include <stdint.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include "buf.h"
#include "config.h"
#include "metrics.h"
#include "jwt.h"
#include "request.h"

#define ZX_DB			"zixly"
#define ZX_MAX_PARAMS		8

/* SQL for an ISO 8601 UTC timestamp with milliseconds. */
#define ZX_SQL_TS(col)							\
	"pg_catalog.to_char(" col " AT TIME ZONE 'UTC', "		\
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

struct zx_ctx;

struct zx_stmt {
	const char	*sql;
	int		 nparams;	/* -1: simple protocol, no parameters */
	const char	*params[ZX_MAX_PARAMS];
	int		 retry_safe;	/* may rerun on a fresh connection */
	int		 txn;		/* +1 opens a transaction, -1 ends it */
};

struct zx_flow {
	/* Fills the statement for ctx->step; returns 0 when none is left. */
	int	(*next)(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
	/* Reads the rows of the statement at ctx->step (may be NULL). */
	void	(*rows)(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);
	/* Decides the answer once all statements ran (may be NULL). */
	void	(*done)(struct http_request *, struct zx_ctx *);
};

/*
 * The state of one request (http_state_create). Endpoints embed it as
 * the first member of their own state. The context owns body and the
 * error strings; kore_pgsql owns its result until kore_pgsql_continue.
 */
struct zx_ctx {
	int			 route;
	uint64_t		 t0;		/* microseconds, monotonic */
	const struct zx_flow	*flow;
	void			(*cleanup)(struct zx_ctx *);

	struct kore_pgsql	 sql;
	int			 sql_bound;
	int			 holds_conn;	/* counted by dbconns.c */
	int			 in_db;		/* zx_db_run drives the request */
	int			 step;
	int			 in_txn;
	int			 retries;
	int			 retry_safe;	/* of the statement in flight */
	int			 failed;	/* a statement failed; see err */
	char			 sqlstate[6];
	char			*err_message;
	char			*err_detail;
	char			*err_column;

	char			*cred;		/* API key to check, malloc'd */

	int			 status;	/* the answer, once decided */
	struct zx_buf		 body;
	const char		*content_type;
	/* Sends the answer itself (a file, a stream); NULL: body is sent. */
	void			(*respond)(struct http_request *,
				    struct zx_ctx *);
	char			 tenant[ZX_ID_MAX + 1];
};

/* reply.c */
void	*zx_ctx_create(struct http_request *, size_t, int route,
	    const struct zx_flow *, void (*)(struct zx_ctx *));
uint64_t zx_now_us(void);
int	 zx_reply(struct http_request *, struct zx_ctx *);
void	 zx_fail(struct zx_ctx *, int, const char *, const char *);
void	 zx_fail_body(struct zx_ctx *, int, struct zx_buf *);
int	 zx_method_ok(struct http_request *, struct zx_ctx *, int);
int	 zx_read_body(struct http_request *, struct zx_ctx *, char **,
	    size_t *);
int	 zx_require_json(struct http_request *, struct zx_ctx *);
int	 zx_query_arg(struct http_request *, struct zx_ctx *, const char *,
	    char **, const char *);
const char *zx_header(struct http_request *, const char *);

/* pgsql_more.c: named prepared statements, settling a statement */
struct zx_prepared {
	const char	*name;
	const char	*sql;
	int		 nparams;
	int		 id;		/* 0..31, unique */
};

int	 zx_prepared_ready(struct kore_pgsql *, const struct zx_prepared *);
int	 zx_pgsql_usable(struct kore_pgsql *);
int	 zx_prepared_send_prepare(struct kore_pgsql *,
	    const struct zx_prepared *);
void	 zx_prepared_note(struct kore_pgsql *, const struct zx_prepared *);
int	 zx_prepared_send(struct kore_pgsql *, const struct zx_prepared *,
	    const char *const *);
int	 zx_pgsql_settle(struct kore_pgsql *);

/* db.c */
int	 zx_db_run(struct http_request *);
int	 zx_db_start(struct http_request *, struct zx_ctx *);
void	 zx_db_register(const char *);
int	 zx_tenant_next(struct zx_ctx *, struct zx_stmt *,
	    void (*)(struct zx_ctx *, struct zx_stmt *));
#define ZX_TENANT_MAIN	2	/* the step of the main statement */

/* auth.c */
#define ZX_AUTH_OK		0	/* ctx->tenant is set */
#define ZX_AUTH_ANSWERED	1	/* an error answer is set: zx_reply */
#define ZX_AUTH_CHECK_KEY	2	/* an API key on /api: zx_db_start */
int	 zx_auth_dashboard(struct http_request *, struct zx_ctx *,
	    struct zx_jwt_claims *);
int	 zx_auth_webhook(struct http_request *, struct zx_ctx *);
enum zx_jwt_result zx_auth_token(const char *, struct zx_jwt_claims *);
/*
 * The start of every dashboard API handler: the method check, then the
 * credential. Anything but ZX_AUTH_OK goes to zx_dashboard_answer.
 */
int	 zx_dashboard_begin(struct http_request *, struct zx_ctx *, int,
	    struct zx_jwt_claims *);
int	 zx_dashboard_answer(struct http_request *, struct zx_ctx *, int);
void	 zx_auth_setup(void);
char	*zx_jwt_issue(const char *, const char *, const char *, int64_t *);

/*
 * batch.c: concurrent webhook requests share statements. A member is
 * embedded in a request's state; it joins a batch, the request sleeps,
 * and is woken with its own row of the shared statement's result.
 */
#define ZX_MEMBER_OK		1	/* got its row */
#define ZX_MEMBER_NOROW		2	/* admit, submit: the API key is not valid */
#define ZX_MEMBER_FAILED	3	/* a SQL error: redo this one alone */
#define ZX_MEMBER_LOST		4	/* no database: 503 */

struct zx_run;
struct zx_batch;

struct zx_member {
	struct http_request	*req;
	struct zx_batch		*batch;		/* pending in this batch */
	struct zx_run		*run;		/* or in flight in this run */
	int			 index;
	int			 done;
	int			 outcome;
	const char		*body;		/* enqueue: the JSON object */
	size_t			 body_len;
	/* admit: key check and rate limit */
	char			 tenant[ZX_ID_MAX + 1];
	int			 allowed;
	char			 remaining[24];
	char			 reset[24];
	/* enqueue */
	char			 job_id[ZX_ID_MAX + 1];
	char			 created_at[40];
	TAILQ_ENTRY(zx_member)	 list;
};

void	 zx_batch_admit(struct zx_member *, struct http_request *,
	    const char *);
void	 zx_batch_enqueue(struct zx_member *, struct http_request *,
	    const char *, const char *, const char *, size_t);
void	 zx_batch_submit(struct zx_member *, struct http_request *,
	    const char *, const char *, const char *, size_t);
void	 zx_batch_leave(struct zx_member *);

/* webhook.c: the enqueue flow, shared with POST /api/pipelines */
struct zx_ctx	*zx_enqueue_ctx(struct http_request *, int);
int	 zx_enqueue_begin(struct http_request *, struct zx_ctx *);
int	 zx_enqueue_resume(struct http_request *);

/* results.c: GET /api/pipelines/{id}/results */
int	 zx_results_start(struct http_request *, const char *);

/*
 * grid_stream.c: sends prefix, the grid file at fd as JSON objects, then
 * "]}", as the client reads (chunked). Takes fd and prefix's data.
 */
void	 zx_grid_stream(struct http_request *, int, int, struct zx_buf *,
	    uint64_t);

/* metrics.c */
void	 zx_metrics_init(void);

/* dbconns.c: the pooled connections of this worker, for /metrics */
void	 zx_dbconns_acquired(struct kore_pgsql *);
void	 zx_dbconns_released(void);
void	 zx_dbconns_publish(void);
void	 zx_dbconns_worker_start(void);

/* ratelimit.c */
#define ZX_RATELIMIT_SQL						\
	"SELECT a.tenant_id, r.allowed, r.remaining, r.reset_seconds "	\
	"FROM zixly_authenticate_api_key($1) AS a "			\
	"CROSS JOIN LATERAL zixly_rate_limit('apikey:' || a.key_id, "	\
	"$2::integer, 60) AS r"
int	 zx_ratelimit_rows(struct http_request *, struct zx_ctx *,
	    struct kore_pgsql *);
int	 zx_ratelimit_apply(struct http_request *, struct zx_ctx *, int,
	    const char *, const char *, const char *);
int	 zx_ratelimit_window(struct http_request *, struct zx_ctx *,
	    const char *, long, const char *, const char *, const char *,
	    const char *);
const char *zx_ratelimit_param(void);

#endif
