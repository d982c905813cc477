/*
 * sweep_job.c — the trading-sweep job, run on a pool thread with the thread's own connection:
 *
 *   1. read the ticker's closes from zixly.prices (ascending ts); none: fail, not retryable
 *   2. run the engine over the grid (worker/engine/sweep.h)
 *   3. write the full grid to the artifact store, under a temporary name
 *   4. in ONE transaction: delete any rows of this job (an earlier attempt's), insert the top 10
 *      ranked combinations, zixly_complete with the summary in result and the figures in
 *      metrics, and (the job's row now locked by that update) rename the grid file to
 *      <job id>.csv.  A retried or rescued job therefore never leaves two sets of rows, and a
 *      job that is no longer ours (rescued, cancelled) fails the complete, rolls back and
 *      leaves the file of the run that completed it alone.
 *   5. POST the completion callback if the job has a webhook_url (best effort).
 *
 * The parameters were validated by the extension at enqueue; what the engine still rejects
 * (say, a grid longer than the series) fails the job without retry, with the engine's reason.
 * A lost connection is retried with backoff, step by step, until the job is abandoned.  A job
 * found lost while the engine runs (a heartbeat saw it cancelled or taken over) stops the
 * engine at once.
 */
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/sweep.h"
#include "artifact.h"
#include "common.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "callback.h"
#include "webhook.h"

#define TOP_N 10
#define CURVE_POINTS 1000
#define ERRLEN 512

struct sweep_req {
	char *ticker;
	char *webhook_url;		/* NULL when none */
	struct zx_sweep_params p;
};

struct prices {
	size_t n;
	double *close;
	char **date;
};

/* ---------------------------------------------------------------- parameters */
/*
 * An integer as the extension's validation takes it (its single gate): a JSON integer, or a
 * number with no fractional part such as 20.0, within the range of int.
 */
static int
json_integer(struct json_object *v, int *out)
{
	double d;

	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n < INT_MIN || n > INT_MAX)
			return -1;
		*out = (int)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_double))
		return -1;
	d = json_object_get_double(v);
	if (!isfinite(d) || d != floor(d) || d < INT_MIN || d > INT_MAX)
		return -1;
	*out = (int)d;
	return 0;
}

static int
get_int(struct json_object *o, const char *key, int *out, char *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;		/* optional: keep the default */
	if (json_integer(v, out) < 0) {
		snprintf(err, ERRLEN, "parameter %s must be an integer", key);
		return -1;
	}
	return 0;
}

static int
get_number(struct json_object *o, const char *key, double *out, char *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
		snprintf(err, ERRLEN, "parameter %s must be a number", key);
		return -1;
	}
	*out = json_object_get_double(v);
	return 0;
}

static int
get_range(struct json_object *o, const char *key, int *lo, int *hi, char *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != 2 ||
	    json_integer(json_object_array_get_idx(v, 0), lo) < 0 ||
	    json_integer(json_object_array_get_idx(v, 1), hi) < 0) {
		snprintf(err, ERRLEN, "parameter %s must be [from, to]", key);
		return -1;
	}
	return 0;
}

static const char *
get_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
parse_request(const char *json, struct sweep_req *req, int threads, char *err)
{
	struct json_object *o = json_tokener_parse(json);
	const char *s;
	int rc = -1;

	memset(req, 0, sizeof(*req));
	zx_sweep_params_init(&req->p);
	req->p.threads = threads;
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, ERRLEN, "parameters are not a JSON object");
		goto out;
	}
	/* first, so that a job failed for its other parameters still gets its callback */
	if ((s = get_string(o, "webhook_url")) != NULL && s[0] != '\0')
		req->webhook_url = zx_xstrdup(s);
	if ((s = get_string(o, "ticker")) == NULL || s[0] == '\0') {
		snprintf(err, ERRLEN, "parameter ticker is required");
		goto out;
	}
	req->ticker = zx_xstrdup(s);
	if ((s = get_string(o, "strategy_type")) == NULL ||
	    zx_strategy_parse(s, &req->p.strategy) < 0) {
		snprintf(err, ERRLEN, "parameter strategy_type must be SMA, EMA or MACD");
		goto out;
	}
	if ((s = get_string(o, "objective")) != NULL && zx_objective_parse(s, &req->p.objective) < 0) {
		snprintf(err, ERRLEN, "unknown objective \"%s\"", s);
		goto out;
	}
	if (get_range(o, "fast_range", &req->p.fast_lo, &req->p.fast_hi, err) < 0 ||
	    get_range(o, "slow_range", &req->p.slow_lo, &req->p.slow_hi, err) < 0 ||
	    get_int(o, "step", &req->p.step, err) < 0 ||
	    get_int(o, "min_trades", &req->p.min_trades, err) < 0 ||
	    get_int(o, "signal_period", &req->p.signal_period, err) < 0 ||
	    get_number(o, "fee_bps", &req->p.fee_bps, err) < 0 ||
	    get_number(o, "periods_per_year", &req->p.periods_per_year, err) < 0)
		goto out;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

static void
free_request(struct sweep_req *req)
{
	free(req->ticker);
	free(req->webhook_url);
}

/* ---------------------------------------------------------------- database steps */
/* Result of one database step. */
enum step { STEP_OK, STEP_SQL_ERROR, STEP_BROKEN, STEP_LOST };

static void
sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};

	nanosleep(&ts, NULL);
}

/*
 * Runs step(conn, arg) until it is done: on a lost connection, reconnects with backoff (0.1 s
 * doubling up to 5 s) and runs it again, as long as the job is not abandoned or lost.
 */
static enum step
with_db(const struct zx_config *cfg, PGconn **conn, struct zx_job *job,
    enum step (*step)(PGconn *, void *), void *arg)
{
	double backoff = 0.1;

	for (;;) {
		enum step rc;

		if (atomic_load(&job->abandon) || atomic_load(&job->lost))
			return STEP_LOST;
		if (*conn == NULL)
			*conn = zx_db_connect(cfg->database_url, ZX_DB_SWEEP);
		if (*conn != NULL) {
			rc = step(*conn, arg);
			if (rc != STEP_BROKEN && !(rc == STEP_SQL_ERROR && zx_db_broken(*conn)))
				return rc;
			zx_db_close(*conn, ZX_DB_SWEEP);
			*conn = NULL;
		}
		zlog(ZX_WARN, "db_retry", "job_id=%s retry_in_s=%.1f", job->id, backoff);
		sleep_s(backoff);
		backoff = backoff * 2 > 5 ? 5 : backoff * 2;
	}
}

struct load_arg {
	const char *ticker;
	struct prices *px;
};

static enum step
load_prices(PGconn *c, void *arg)
{
	struct load_arg *a = arg;
	const char *v[1] = {a->ticker};
	PGresult *r = zx_db_exec(c, "prices", 1, v, PGRES_TUPLES_OK, "load prices");
	size_t n;

	if (r == NULL)
		return zx_db_broken(c) ? STEP_BROKEN : STEP_SQL_ERROR;
	n = (size_t)PQntuples(r);
	a->px->n = n;
	a->px->close = zx_xcalloc(n, sizeof(double));
	a->px->date = zx_xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		a->px->date[i] = zx_xstrdup(PQgetvalue(r, (int)i, 0));
		a->px->close[i] = strtod(PQgetvalue(r, (int)i, 1), NULL);
	}
	PQclear(r);
	return STEP_OK;
}

static void
free_prices(struct prices *px)
{
	for (size_t i = 0; i < px->n; i++)
		free(px->date[i]);
	free(px->date);
	free(px->close);
	memset(px, 0, sizeof(*px));
}

struct fail_arg {
	const struct zx_config *cfg;
	struct zx_job *job;
	const char *error;
	int retryable;
	int requeued;
};

static enum step
fail_step(PGconn *c, void *arg)
{
	struct fail_arg *a = arg;

	if (zx_db_fail(c, a->job->id, a->cfg->worker_id, a->job->attempts, a->error, a->retryable,
	    &a->requeued) < 0)
		return zx_db_broken(c) ? STEP_BROKEN : STEP_LOST;
	return STEP_OK;
}

/* POSTs a job callback to the job's webhook_url: zx_callback_body with the fields of cb. */
static void
post_callback(const struct zx_config *cfg, const struct zx_job *job, const struct sweep_req *req,
    const char *event, const char *status, struct json_object *cb)
{
	struct zx_webhook_opts opts = {cfg->webhook_secret, cfg->webhook_allow_private,
	    cfg->webhook_timeout, NULL, NULL};
	char *body = zx_callback_body(event, job->id, "trading-sweep", status, job->tenant_id,
	    req->ticker, cb);

	zx_webhook_post(&opts, req->webhook_url, body, event, job->id);
	free(body);
}

/*
 * Fails the job and sets its outcome (retried, failed, or lost when it is no longer ours).  A
 * final failure (FAILED, not to be retried) sends the job.failed callback.
 */
static void
fail_job(const struct zx_config *cfg, PGconn **conn, struct zx_job *job, const char *error,
    int retryable, const struct sweep_req *req)
{
	struct fail_arg a = {cfg, job, error, retryable, 0};
	enum step rc;
	double secs = zx_mono_s() - job->t_start;

	atomic_store(&job->finishing, 1);
	rc = with_db(cfg, conn, job, fail_step, &a);
	if (rc != STEP_OK)
		job->outcome = atomic_load(&job->abandon) ? ZX_ST_RELEASED : ZX_ST_LOST;
	else
		job->outcome = a.requeued ? ZX_ST_RETRIED : ZX_ST_FAILED;
	zlog(ZX_WARN, "job_failed", "job_id=%s job_type=trading-sweep status=%s attempt=%d"
	    " retryable=%d duration_ms=%.1f error=%s", job->id,
	    rc != STEP_OK ? "lost" : a.requeued ? "retry" : "failed", job->attempts, retryable,
	    secs * 1e3, zx_q(error));
	if (rc == STEP_OK && !a.requeued && req->webhook_url != NULL)
		post_callback(cfg, job, req, "job.failed", "FAILED",
		    zx_callback_failure(error, job->attempts));
}

struct new_id_arg {
	char id[64];
};

static enum step
new_id_step(PGconn *c, void *arg)
{
	struct new_id_arg *a = arg;
	PGresult *r = zx_db_exec(c, "new_id", 0, NULL, PGRES_TUPLES_OK, "zixly_new_id");

	if (r == NULL)
		return zx_db_broken(c) ? STEP_BROKEN : STEP_SQL_ERROR;
	snprintf(a->id, sizeof(a->id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return STEP_OK;
}

struct store_arg {
	const struct zx_config *cfg;
	struct zx_job *job;
	const char *run_id, *ticker, *strategy, *signal, *rows, *result, *metrics;
	const char *tmp, *path;		/* the grid file: its temporary and final names */
	int published;			/* renamed (kept when a later COMMIT is retried) */
	int publish_failed;		/* the rename failed: the store is at fault */
	char error[ERRLEN];
};

static enum step
store_step(PGconn *c, void *arg)
{
	struct store_arg *a = arg;
	const char *del[1] = {a->job->id};
	const char *ins[7] = {a->job->id, a->job->tenant_id, a->run_id, a->ticker, a->strategy,
	    a->signal, a->rows};
	char attempt_s[16];
	const char *done[5] = {a->job->id, a->cfg->worker_id, a->result, a->metrics, attempt_s};
	PGresult *r;

	snprintf(attempt_s, sizeof(attempt_s), "%d", a->job->attempts);
	if (zx_db_command(c, "BEGIN") < 0)
		return zx_db_broken(c) ? STEP_BROKEN : STEP_SQL_ERROR;
	if ((r = zx_db_exec(c, "delete_results", 1, del, PGRES_COMMAND_OK, "delete results")) == NULL)
		goto failed;
	PQclear(r);
	if ((r = zx_db_exec(c, "insert_results", 7, ins, PGRES_COMMAND_OK, "insert results")) == NULL)
		goto failed;
	PQclear(r);
	r = PQexecPrepared(c, "complete", 5, done, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int lost = zx_db_not_held(r);

		snprintf(a->error, sizeof(a->error), "%s", zx_db_errmsg(c, r));
		PQclear(r);
		if (zx_db_broken(c))
			return STEP_BROKEN;
		zx_db_command(c, "ROLLBACK");
		if (lost) {
			zlog(ZX_WARN, "job_lost", "job_id=%s reason=%s", a->job->id, zx_q(a->error));
			return STEP_LOST;
		}
		zlog(ZX_ERROR, "db_error", "call=zixly_complete job_id=%s error=%s", a->job->id,
		    zx_q(a->error));
		return STEP_SQL_ERROR;
	}
	PQclear(r);
	if (!a->published) {
		if (zx_artifact_publish(a->tmp, a->path, a->error, sizeof(a->error)) < 0) {
			zx_db_command(c, "ROLLBACK");
			a->publish_failed = 1;
			return STEP_SQL_ERROR;
		}
		a->published = 1;
	}
	if (zx_db_command(c, "COMMIT") < 0) {
		snprintf(a->error, sizeof(a->error), "%s", zx_db_errmsg(c, NULL));
		return zx_db_broken(c) ? STEP_BROKEN : STEP_SQL_ERROR;
	}
	return STEP_OK;
failed:
	if (zx_db_broken(c))
		return STEP_BROKEN;
	snprintf(a->error, sizeof(a->error), "%s", zx_db_errmsg(c, NULL));
	zx_db_command(c, "ROLLBACK");
	return STEP_SQL_ERROR;
}

/* ---------------------------------------------------------------- JSON */
/* A double that round-trips (17 significant digits), or with fewer digits for plots. */
static struct json_object *
jnum(double v, int digits)
{
	char buf[40];

	if (!isfinite(v))
		return NULL;
	snprintf(buf, sizeof(buf), "%.*g", digits, v);
	return json_object_new_double_s(v, buf);
}

static struct json_object *
combo_json(const struct zx_combo_result *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "fast", json_object_new_int(c->fast));
	json_object_object_add(o, "slow", json_object_new_int(c->slow));
	json_object_object_add(o, "rank", json_object_new_int(c->rank));
	json_object_object_add(o, "score", jnum(c->score, 17));
	json_object_object_add(o, "sharpe_ratio", jnum(c->sharpe_ratio, 17));
	json_object_object_add(o, "total_return_pct", jnum(c->total_return_pct, 17));
	json_object_object_add(o, "max_drawdown_pct", jnum(c->max_drawdown_pct, 17));
	json_object_object_add(o, "total_trades", json_object_new_int64(c->total_trades));
	json_object_object_add(o, "sortino_ratio", jnum(c->sortino_ratio, 17));
	json_object_object_add(o, "win_rate_pct", jnum(c->win_rate_pct, 17));
	json_object_object_add(o, "profit_factor", jnum(c->profit_factor, 17));
	json_object_object_add(o, "exposure_pct", jnum(c->exposure_pct, 17));
	return o;
}

static char *
json_text(struct json_object *o)
{
	char *s = zx_xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return s;
}

/* {"index":[...], "dates":[...], "strategy":[...], "buy_and_hold":[...]} of the best combination. */
static struct json_object *
equity_json(const struct prices *px, const struct zx_sweep_params *p, const struct zx_combo_result *best,
    char *err)
{
	double eq[CURVE_POINTS], bh[CURVE_POINTS];
	size_t idx[CURVE_POINTS], n = 0;
	struct json_object *o, *ai, *ad, *as, *ab;

	if (zx_equity_curve(px->close, px->n, p, best->fast, best->slow, eq, bh, idx, CURVE_POINTS,
	    &n, err, ERRLEN) < 0)
		return NULL;
	o = json_object_new_object();
	ai = json_object_new_array_ext((int)n);
	ad = json_object_new_array_ext((int)n);
	as = json_object_new_array_ext((int)n);
	ab = json_object_new_array_ext((int)n);
	for (size_t k = 0; k < n; k++) {
		json_object_array_add(ai, json_object_new_int64((int64_t)idx[k]));
		json_object_array_add(ad, json_object_new_string(px->date[idx[k]]));
		json_object_array_add(as, jnum(eq[k], 10));
		json_object_array_add(ab, jnum(bh[k], 10));
	}
	json_object_object_add(o, "index", ai);
	json_object_object_add(o, "dates", ad);
	json_object_object_add(o, "strategy", as);
	json_object_object_add(o, "buy_and_hold", ab);
	json_object_object_add(o, "combination", json_object_new_string("best"));
	return o;
}

/* ---------------------------------------------------------------- the job */
void
zx_sweep_job_run(const struct zx_config *cfg, PGconn **conn, struct zx_job *job)
{
	struct sweep_req req;
	struct prices px = {0};
	struct zx_sweep_result res = {0};
	struct load_arg la;
	struct new_id_arg run;
	struct store_arg sa;
	struct json_object *result, *metrics, *rows, *artifact, *curve = NULL;
	const struct zx_combo_result *best = NULL;
	char err[ERRLEN], path[4096], tmp[4096] = "", signal_s[16];
	char *rows_s = NULL, *result_s = NULL, *metrics_s = NULL;
	double t_loaded, t_engine, engine_s, bar_combos;
	size_t n_combos = 0;
	long bytes = 0;
	enum step rc;

	job->t_start = zx_mono_s();
	zlog(ZX_INFO, "job_started", "job_id=%s job_type=trading-sweep attempt=%d/%d",
	    job->id, job->attempts, job->max_attempts);
	if (parse_request(job->params, &req, cfg->threads, err) < 0) {
		fail_job(cfg, conn, job, err, 0, &req);
		free_request(&req);
		return;
	}
	req.p.cancel = &job->lost;
	la.ticker = req.ticker;
	la.px = &px;
	if ((rc = with_db(cfg, conn, job, load_prices, &la)) != STEP_OK) {
		if (rc == STEP_LOST)
			job->outcome = atomic_load(&job->abandon) ? ZX_ST_RELEASED : ZX_ST_LOST;
		else
			fail_job(cfg, conn, job, "cannot read prices (database error)", 1, &req);
		goto out;
	}
	t_loaded = zx_mono_s();
	if (px.n == 0) {
		snprintf(err, sizeof(err), "no prices for ticker \"%s\" in zixly.prices", req.ticker);
		fail_job(cfg, conn, job, err, 0, &req);
		goto out;
	}
	if (zx_sweep_params_check(&req.p, px.n, &n_combos, err, sizeof(err)) < 0 ||
	    zx_sweep_run(px.close, px.n, &req.p, &res, err, sizeof(err)) < 0) {
		char msg[ERRLEN + 64];

		if (atomic_load(&job->lost)) {		/* the engine was stopped: not ours */
			job->outcome = ZX_ST_LOST;
			zlog(ZX_INFO, "job_stopped", "job_id=%s reason=%s", job->id,
			    zx_q("no longer held by this worker; the sweep was stopped"));
			goto out;
		}
		snprintf(msg, sizeof(msg), "ticker \"%s\" (%zu bars): %s", req.ticker, px.n, err);
		fail_job(cfg, conn, job, msg, 0, &req);
		goto out;
	}
	t_engine = zx_mono_s();
	engine_s = t_engine - t_loaded;
	bar_combos = (double)px.n * (double)res.n_combos;
	zx_metrics_engine(bar_combos, engine_s);
	if (res.n_ranked > 0)
		best = &res.combos[res.ranking[0]];
	if (zx_artifact_write_grid(cfg->artifact_dir, job->id, job->attempts, &res, path, tmp,
	    sizeof(path), &bytes, err, sizeof(err)) < 0) {
		tmp[0] = '\0';
		job->store_failed = 1;	/* this worker pauses: another may have a usable store */
		fail_job(cfg, conn, job, err, 1, &req);
		goto out;
	}
	if (best != NULL && (curve = equity_json(&px, &req.p, best, err)) == NULL)
		zlog(ZX_WARN, "equity_curve_failed", "job_id=%s error=%s", job->id, zx_q(err));
	if (with_db(cfg, conn, job, new_id_step, &run) != STEP_OK) {
		json_object_put(curve);
		job->outcome = atomic_load(&job->abandon) ? ZX_ST_RELEASED : ZX_ST_LOST;
		goto out;
	}

	/* the top ranked rows, the result and the metrics */
	rows = json_object_new_array();
	for (size_t k = 0; k < res.n_ranked && k < TOP_N; k++)
		json_object_array_add(rows, combo_json(&res.combos[res.ranking[k]]));
	rows_s = json_text(rows);

	result = json_object_new_object();
	json_object_object_add(result, "sweep_run_id", json_object_new_string(run.id));
	json_object_object_add(result, "ticker", json_object_new_string(req.ticker));
	json_object_object_add(result, "strategy_type",
	    json_object_new_string(zx_strategy_name(req.p.strategy)));
	json_object_object_add(result, "objective",
	    json_object_new_string(zx_objective_name(req.p.objective)));
	json_object_object_add(result, "bars", json_object_new_int64((int64_t)px.n));
	json_object_object_add(result, "first_date", json_object_new_string(px.date[0]));
	json_object_object_add(result, "last_date", json_object_new_string(px.date[px.n - 1]));
	json_object_object_add(result, "combinations", json_object_new_int64((int64_t)res.n_combos));
	json_object_object_add(result, "ranked", json_object_new_int64((int64_t)res.n_ranked));
	json_object_object_add(result, "best", best ? combo_json(best) : NULL);
	json_object_object_add(result, "duration_seconds", jnum(zx_mono_s() - job->t_start, 6));
	artifact = json_object_new_object();
	json_object_object_add(artifact, "store", json_object_new_string("file"));
	json_object_object_add(artifact, "path", json_object_new_string(path));
	json_object_object_add(artifact, "format", json_object_new_string("csv"));
	json_object_object_add(artifact, "rows", json_object_new_int64((int64_t)res.n_combos));
	json_object_object_add(artifact, "bytes", json_object_new_int64(bytes));
	json_object_object_add(result, "artifact", artifact);
	json_object_object_add(result, "equity_curve", curve);
	json_object_object_add(result, "worker_id", json_object_new_string(cfg->worker_id));
	result_s = json_text(result);

	metrics = json_object_new_object();
	json_object_object_add(metrics, "duration_seconds", jnum(zx_mono_s() - job->t_start, 6));
	json_object_object_add(metrics, "load_seconds", jnum(t_loaded - job->t_start, 6));
	json_object_object_add(metrics, "engine_seconds", jnum(engine_s, 6));
	json_object_object_add(metrics, "bars", json_object_new_int64((int64_t)px.n));
	json_object_object_add(metrics, "combinations", json_object_new_int64((int64_t)res.n_combos));
	json_object_object_add(metrics, "bar_combinations", jnum(bar_combos, 17));
	json_object_object_add(metrics, "ns_per_bar_combination",
	    jnum(bar_combos > 0 ? engine_s * 1e9 / bar_combos : 0, 6));
	json_object_object_add(metrics, "engine_threads", json_object_new_int(req.p.threads));
	metrics_s = json_text(metrics);

	snprintf(signal_s, sizeof(signal_s), "%d", req.p.signal_period);
	memset(&sa, 0, sizeof(sa));
	sa.cfg = cfg;
	sa.job = job;
	sa.run_id = run.id;
	sa.ticker = req.ticker;
	sa.strategy = zx_strategy_name(req.p.strategy);
	sa.signal = req.p.strategy == ZX_STRATEGY_MACD ? signal_s : NULL;
	sa.rows = rows_s;
	sa.result = result_s;
	sa.metrics = metrics_s;
	sa.tmp = tmp;
	sa.path = path;
	atomic_store(&job->finishing, 1);
	rc = with_db(cfg, conn, job, store_step, &sa);
	if (sa.published)
		tmp[0] = '\0';
	if (rc == STEP_SQL_ERROR) {
		job->store_failed = sa.publish_failed;
		fail_job(cfg, conn, job, sa.error, 1, &req);
		goto out;
	}
	if (rc == STEP_LOST) {
		job->outcome = atomic_load(&job->abandon) ? ZX_ST_RELEASED : ZX_ST_LOST;
		goto out;
	}
	job->outcome = ZX_ST_COMPLETED;
	zlog(ZX_INFO, "job_completed", "job_id=%s job_type=trading-sweep status=completed"
	    " duration_ms=%.1f ticker=%s bars=%zu combinations=%zu engine_ms=%.1f best_fast=%d"
	    " best_slow=%d best_score=%.6g artifact=%s", job->id, (zx_mono_s() - job->t_start) * 1e3,
	    zx_q(req.ticker), px.n, res.n_combos, engine_s * 1e3, best ? best->fast : 0,
	    best ? best->slow : 0, best ? best->score : 0.0, zx_q(path));

	if (req.webhook_url != NULL) {
		struct json_object *cb = json_object_new_object();

		json_object_object_add(cb, "sweep_run_id", json_object_new_string(run.id));
		json_object_object_add(cb, "combinations", json_object_new_int64((int64_t)res.n_combos));
		json_object_object_add(cb, "best", best ? combo_json(best) : NULL);
		post_callback(cfg, job, &req, "job.completed", "COMPLETED", cb);
	}
out:
	if (tmp[0] != '\0')
		zx_artifact_discard(tmp);
	free(rows_s);
	free(result_s);
	free(metrics_s);
	zx_sweep_result_free(&res);
	free_prices(&px);
	free_request(&req);
}
