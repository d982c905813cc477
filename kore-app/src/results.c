/*
 * results.c
 *	GET /api/pipelines/{id}/results: a sweep's full grid, JSON or CSV.
 *
 * The full grid is the worker's artifact file (artifact.c), read from
 * this app's ZIXLY_ARTIFACT_DIR: CSV is that file as it is, sent with
 * sendfile; JSON is the same rows converted while the client reads them
 * (grid_stream.c). When this app cannot read the file (a worker on
 * another host without a shared volume, a file pruned or rewritten), the
 * answer is the job's top rows from the database, marked incomplete.
 *
 * JSON: {"job_id", "status",
 *        "source": "artifact" | "database",
 *        "complete": true when results hold every combination,
 *        "grid_unavailable": why not (only when source is "database"),
 *        "combinations": the grid's size from the job's result, or null,
 *        "count": the number of entries in results,
 *        "results": [{"fast", "slow", "total_return_pct", "sharpe_ratio",
 *            "max_drawdown_pct", "total_trades", "sortino_ratio",
 *            "win_rate_pct", "profit_factor", "exposure_pct", "score",
 *            "rank"}, ...]}
 *   Artifact rows come in grid order (fast, then slow), database rows by
 *   rank. rank 0 marks a combination with too few trades to be ranked;
 *   numbers that are not finite are null.
 * CSV:  the artifact's header and rows (the database's rows in the same
 *       columns when it is not readable).
 * Both: Zixly-Results-Source and Zixly-Grid-Complete headers.
 *
 * The job and its rows are read with the caller's tenant set (db.c,
 * zx_tenant_next): another tenant's job is a 404 before any file is
 * looked at.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "artifact.h"
#include "grid.h"

static const char sql_results[] =
    "SELECT j.status, j.result #>> '{artifact,store}', "
    "j.result #>> '{artifact,format}', j.result #>> '{artifact,rows}', "
    "j.result #>> '{artifact,bytes}', j.result ->> 'combinations', "
    "r.fast_period, r.slow_period, r.total_return_pct, r.sharpe_ratio, "
    "r.max_drawdown_pct, r.total_trades, r.sortino_ratio, r.win_rate_pct, "
    "r.profit_factor, r.exposure_pct, r.score, r.rank "
    "FROM zixly.pipeline_jobs j "
    "LEFT JOIN zixly.trading_sweep_results r ON r.job_id = j.id "
    "WHERE j.id = $1 ORDER BY r.rank, r.fast_period, r.slow_period";

#define COL_GRID	6	/* the first of the ZX_GRID_COLUMNS row columns */

struct results_state {
	struct zx_ctx		 ctx;
	char			 id[ZX_ID_MAX + 1];
	int			 csv;
	int			 found;
	char			 status[16];
	int			 has_file;	/* store "file", format "csv" */
	long long		 rows;		/* of the file; -1 unknown */
	long long		 bytes;
	long long		 combinations;
	struct zx_buf		 db_csv;	/* the database's rows, as CSV */
	long			 db_rows;
	int			 fd;		/* the artifact, for JSON */
	struct kore_fileref	*ref;		/* the artifact, for CSV */
};

static int	results_next(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
static void	results_main(struct zx_ctx *, struct zx_stmt *);
static void	results_rows(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);
static void	results_done(struct http_request *, struct zx_ctx *);
static void	results_free(struct zx_ctx *);
static const char *results_open(struct http_request *,
		    struct results_state *);
static void	results_prefix(struct results_state *, struct zx_buf *,
		    const char *, long long);
static void	respond_file(struct http_request *, struct zx_ctx *);
static void	respond_stream(struct http_request *, struct zx_ctx *);

static const struct zx_flow results_flow = {
	results_next, results_rows, results_done
};

/* A count the worker wrote (digits only); -1 when absent or odd. */
static long long
count_value(const char *s)
{
	long	v;

	if (s == NULL || strspn(s, "0123456789") != strlen(s) ||
	    zx_parse_long(s, 0, 1000000000000L, &v) == -1)
		return (-1);
	return (v);
}

int
zx_results_start(struct http_request *req, const char *id)
{
	struct zx_jwt_claims	 claims;
	struct results_state	*rs;
	struct zx_ctx		*ctx;
	char			*fmt;
	int			 a;

	rs = zx_ctx_create(req, sizeof(*rs), ZX_ROUTE_RESULTS, &results_flow,
	    results_free);
	ctx = &rs->ctx;
	rs->fd = -1;
	zx_buf_init(&rs->db_csv, 1024);
	(void)kore_strlcpy(rs->id, id, sizeof(rs->id));

	if ((a = zx_dashboard_begin(req, ctx, HTTP_METHOD_GET, &claims)) !=
	    ZX_AUTH_OK)
		return (zx_dashboard_answer(req, ctx, a));
	http_populate_qs(req);
	if (!zx_query_arg(req, ctx, "format", &fmt, "must be json or csv"))
		return (zx_reply(req, ctx));
	rs->csv = zx_wants_csv(zx_header(req, "accept"), fmt);
	return (zx_db_start(req, ctx));
}

static void
results_free(struct zx_ctx *ctx)
{
	struct results_state	*rs = (struct results_state *)ctx;

	if (rs->fd != -1)
		(void)close(rs->fd);
	if (rs->ref != NULL)
		kore_fileref_release(rs->ref);
	zx_buf_free(&rs->db_csv);
}

static void
results_main(struct zx_ctx *ctx, struct zx_stmt *st)
{
	struct results_state	*rs = (struct results_state *)ctx;

	st->sql = sql_results;
	st->nparams = 1;
	st->params[0] = rs->id;
}

static int
results_next(struct http_request *req, struct zx_ctx *ctx, struct zx_stmt *st)
{
	(void)req;
	return (zx_tenant_next(ctx, st, results_main));
}

static void
results_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	struct results_state	*rs = (struct results_state *)ctx;
	const char		*cells[ZX_GRID_COLUMNS], *store, *format;
	int			 i, k, n;

	(void)req;
	if (ctx->step != ZX_TENANT_MAIN || (n = kore_pgsql_ntuples(sql)) == 0)
		return;
	rs->found = 1;
	(void)kore_strlcpy(rs->status, kore_pgsql_getvalue(sql, 0, 0),
	    sizeof(rs->status));
	store = PQgetisnull(sql->result, 0, 1) ? "" :
	    kore_pgsql_getvalue(sql, 0, 1);
	format = PQgetisnull(sql->result, 0, 2) ? "" :
	    kore_pgsql_getvalue(sql, 0, 2);
	rs->has_file = strcmp(store, "file") == 0 && strcmp(format, "csv") == 0;
	rs->rows = count_value(PQgetisnull(sql->result, 0, 3) ? NULL :
	    kore_pgsql_getvalue(sql, 0, 3));
	rs->bytes = count_value(PQgetisnull(sql->result, 0, 4) ? NULL :
	    kore_pgsql_getvalue(sql, 0, 4));
	rs->combinations = count_value(PQgetisnull(sql->result, 0, 5) ? NULL :
	    kore_pgsql_getvalue(sql, 0, 5));

	zx_buf_puts(&rs->db_csv, ZX_GRID_HEADER);
	zx_buf_puts(&rs->db_csv, "\n");
	for (i = 0; i < n; i++) {
		if (PQgetisnull(sql->result, i, COL_GRID))
			continue;	/* the job has no rows */
		for (k = 0; k < ZX_GRID_COLUMNS; k++) {
			cells[k] = PQgetisnull(sql->result, i, COL_GRID + k) ?
			    NULL : kore_pgsql_getvalue(sql, i, COL_GRID + k);
		}
		zx_grid_csv_row(&rs->db_csv, cells);
		rs->db_rows++;
	}
}

/*
 * Opens the job's grid file for the answer (rs->fd or rs->ref), or says
 * why the database's rows must do.
 */
static const char *
results_open(struct http_request *req, struct results_state *rs)
{
	struct kore_server	*srv = req->owner->owner->server;
	struct stat		 st;
	const char		*why;
	char			 path[ZX_ARTIFACT_DIR_MAX + ZX_ID_MAX + 8];
	int			 fd;

	if (strcmp(rs->status, "COMPLETED") != 0)
		return ("the job has not completed");
	if (!rs->has_file || rs->rows < 0 || rs->bytes < 0)
		return ("the job's result names no grid file");
	if (zx_config.artifact_dir == NULL)
		return ("this app has no artifact store (ZIXLY_ARTIFACT_DIR)");
	if (zx_artifact_path(zx_config.artifact_dir, rs->id, path,
	    sizeof(path)) == -1)
		return ("the grid file's name is too long for this app");

	/* CSV: Kore keeps the open file for repeated downloads. */
	if (rs->csv && (rs->ref = kore_fileref_get(path, srv->tls)) != NULL) {
		if (rs->ref->size == rs->bytes)
			return (NULL);
		kore_fileref_release(rs->ref);
		rs->ref = NULL;
		return ("the grid file does not match the job's result (its "
		    "size differs)");
	}
	if ((fd = zx_artifact_open(path, rs->bytes, &why)) == -1)
		return (why);
	if (!rs->csv) {
		rs->fd = fd;
		return (NULL);
	}
	/* kore_fileref_create owns fd from here. */
	if (fstat(fd, &st) == -1 || (rs->ref = kore_fileref_create(srv, path,
	    fd, st.st_size, &st.st_mtim)) == NULL) {
		(void)close(fd);
		return ("the grid file cannot be read by this app");
	}
	return (NULL);
}

/* {"job_id":..., "count":N, "results":[ -- the JSON answer's head. */
static void
results_prefix(struct results_state *rs, struct zx_buf *b, const char *why,
    long long count)
{
	zx_buf_puts(b, "{\"job_id\":");
	zx_buf_json_cstr(b, rs->id);
	zx_buf_puts(b, ",\"status\":");
	zx_buf_json_cstr(b, rs->status);
	zx_buf_appendf(b, ",\"source\":\"%s\",\"complete\":%s",
	    why == NULL ? "artifact" : "database",
	    why == NULL ? "true" : "false");
	if (why != NULL) {
		zx_buf_puts(b, ",\"grid_unavailable\":");
		zx_buf_json_cstr(b, why);
	}
	if (rs->combinations >= 0)
		zx_buf_appendf(b, ",\"combinations\":%lld", rs->combinations);
	else
		zx_buf_puts(b, ",\"combinations\":null");
	zx_buf_appendf(b, ",\"count\":%lld,\"results\":[", count);
}

static void
results_done(struct http_request *req, struct zx_ctx *ctx)
{
	struct results_state	*rs = (struct results_state *)ctx;
	struct zx_grid_conv	 conv;
	const char		*why;
	char			 h[128];

	if (ctx->status != 0)
		return;
	if (!rs->found) {
		zx_fail(ctx, 404, "not_found", "no such job");
		return;
	}
	why = results_open(req, rs);
	http_response_header(req, "zixly-results-source",
	    why == NULL ? "artifact" : "database");
	http_response_header(req, "zixly-grid-complete",
	    why == NULL ? "true" : "false");
	ctx->status = 200;
	zx_buf_reset(&ctx->body);

	if (rs->csv) {
		ctx->content_type = "text/csv; charset=utf-8";
		(void)snprintf(h, sizeof(h),
		    "attachment; filename=\"%s-results.csv\"", rs->id);
		http_response_header(req, "content-disposition", h);
		if (why == NULL)
			ctx->respond = respond_file;
		else
			zx_buf_append(&ctx->body, rs->db_csv.data, rs->db_csv.len);
		return;
	}

	if (why == NULL) {
		ctx->respond = respond_stream;
		return;
	}
	/* The database's rows through the same conversion as the file's. */
	results_prefix(rs, &ctx->body, why, rs->db_rows);
	zx_grid_conv_init(&conv);
	if (zx_grid_conv_feed(&conv, rs->db_csv.data, rs->db_csv.len,
	    &ctx->body) == -1 || zx_grid_conv_finish(&conv, &ctx->body) == -1) {
		kore_log(LOG_ERR, "zixly: results of job %s: %s", rs->id,
		    conv.error);
		zx_fail(ctx, 500, "internal_error",
		    "the job's results could not be read");
	} else {
		zx_buf_puts(&ctx->body, "]}");
	}
	zx_grid_conv_free(&conv);
}

static void
respond_file(struct http_request *req, struct zx_ctx *ctx)
{
	struct results_state	*rs = (struct results_state *)ctx;

	http_response_fileref(req, ctx->status, rs->ref);	/* takes it */
	rs->ref = NULL;
}

static void
respond_stream(struct http_request *req, struct zx_ctx *ctx)
{
	struct results_state	*rs = (struct results_state *)ctx;
	struct zx_buf		 prefix;

	zx_buf_init(&prefix, 256);
	results_prefix(rs, &prefix, NULL, rs->rows);
	zx_grid_stream(req, ctx->status, rs->fd, &prefix, (uint64_t)rs->rows);
	rs->fd = -1;		/* the stream's now */
	zx_buf_free(&prefix);
}
