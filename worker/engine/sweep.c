/*
 * sweep.c — zx_sweep_run: validate, build the shared per-run arrays, backtest every combination
 * (in parallel over batches of combinations, each thread with its own scratch), then rank.
 *
 * Cache blocking: a batch of consecutive combinations (they share most of their periods) walks
 * the series in chunks of CHUNK_BARS bars.  Per chunk the batch's moving averages are made
 * once — SMAs computed on the spot from the exact prefix sums, EMAs read from arrays computed
 * up front (one per distinct period) — and every combination of the batch then compares,
 * trades and scans with its lines, the closes and the returns in L1/L2.  An SMA sweep never
 * holds a whole moving average in memory.  Results do not depend on the batch size or the
 * thread count; the chunk size only fixes the order of summation.
 *
 * Sharing rules: struct run is read-only while the threads run, except each thread's own
 * scratch and each combination's own result slot; no locks are needed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define CHUNK_WORDS ZX_CHUNK_WORDS
#define CHUNK_BARS ZX_CHUNK_BARS
#define MAX_BATCH 512

/* EMA arrays are T doubles per distinct period; refuse absurd grids. */
#define ZX_MAX_MA_BYTES ((size_t)2 << 30)

struct scratch {
	struct zx_bt *bt;		/* batch entries */
	double *sig;			/* MACD: signal EMA carried across chunks, per combination */
	size_t *lf, *ls;		/* per combination: its fast/slow line among the batch's lines */
	int *slot;			/* per distinct period: its line in the batch, or -1 */
	size_t *lines;			/* the batch's distinct periods (indexes into periods) */
	double *buf;			/* SMA: one chunk per line of the batch */
	double *line, *signal;		/* MACD: the combination's lines on the chunk */
	uint64_t gt[CHUNK_WORDS], lt[CHUNK_WORDS];
	struct zx_chunk *ck;		/* the current chunk's tables */
	struct zx_bt_ctx bx;		/* the run's context pointing at ck */
};

struct run {
	const struct zx_sweep_params *p;
	const double *c;
	size_t n;
	struct zx_bt_ctx bx;
	zx_cmp_kernel kernel;

	int *periods;			/* distinct periods, ascending */
	size_t n_periods;
	double *ma;			/* EMA, MACD: n_periods * n, the EMA of periods[i] */
	double *ph, *pl;		/* SMA: exact prefix sums of c */

	int *fast, *slow;		/* per combination, grid order */
	size_t *fi, *si;		/* their indexes into periods */
	struct zx_combo_result *res;
	size_t n_combos, batch;

	struct scratch *sc;		/* one per thread */
	int threads;
};

static size_t
period_index(const struct run *R, int period)
{
	size_t lo = 0, hi = R->n_periods;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (R->periods[mid] < period)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Distinct periods used by the grid, and every combination's indexes into them. */
static int
collect_periods(struct run *R, size_t nc)
{
	int *all = malloc(2 * nc * sizeof(int));
	size_t m = 0;

	if (all == NULL)
		return -1;
	memcpy(all, R->fast, nc * sizeof(int));
	memcpy(all + nc, R->slow, nc * sizeof(int));
	qsort(all, 2 * nc, sizeof(int), cmp_int);
	for (size_t i = 0; i < 2 * nc; i++)
		if (m == 0 || all[m - 1] != all[i])
			all[m++] = all[i];
	R->periods = all;
	R->n_periods = m;
	for (size_t k = 0; k < nc; k++) {
		R->fi[k] = period_index(R, R->fast[k]);
		R->si[k] = period_index(R, R->slow[k]);
	}
	return 0;
}

/* EMA and MACD: the EMA of one distinct period over the whole series. */
static void
ema_item(void *ctx, size_t i, int thread)
{
	struct run *R = ctx;
	int period = R->periods[i];

	(void)thread;
	zx_ema_seeded(R->c, R->n, period, zx_mean_exact(R->c, (size_t)period),
	    R->ma + i * R->n);
}

/*
 * MACD lines of combination k on chunk bars [bar0, bar0 + nb), into the scratch buffers: line
 * = EMA_f - EMA_s, signal carried in *sig (seeded at its first bar with the exact mean).
 * Same operations as zx_macd, so the same bits.
 */
static void
macd_chunk(const struct run *R, size_t k, size_t bar0, size_t nb, double *sig, double *line,
    double *signal)
{
	const double *ef = R->ma + R->fi[k] * R->n, *es = R->ma + R->si[k] * R->n;
	size_t t0 = (size_t)R->slow[k] - 1;
	size_t ts = t0 + (size_t)R->p->signal_period - 1;
	double alpha = 2.0 / ((double)R->p->signal_period + 1.0);
	double e = *sig;

	for (size_t i = 0; i < nb; i++) {
		size_t t = bar0 + i;

		if (t < t0)
			continue;
		line[i] = ef[t] - es[t];
		if (t < ts)
			continue;
		if (t == ts)
			e = zx_mean_diff_exact(ef + t0, es + t0, (size_t)R->p->signal_period);
		else
			e = e + alpha * (line[i] - e);
		signal[i] = e;
	}
	*sig = e;
}

/* SMA batches: the distinct periods of combinations [k0, k1) become the batch's lines. */
static size_t
batch_lines(const struct run *R, struct scratch *sc, size_t k0, size_t k1)
{
	size_t nl = 0;

	for (size_t k = k0; k < k1; k++) {
		size_t pi[2] = { R->fi[k], R->si[k] };

		for (int j = 0; j < 2; j++) {
			if (sc->slot[pi[j]] < 0) {
				sc->slot[pi[j]] = (int)nl;
				sc->lines[nl++] = pi[j];
			}
		}
		sc->lf[k - k0] = (size_t)sc->slot[pi[0]];
		sc->ls[k - k0] = (size_t)sc->slot[pi[1]];
	}
	for (size_t j = 0; j < nl; j++)
		sc->slot[sc->lines[j]] = -1;	/* leave the map clean for the next batch */
	return nl;
}

/* One batch of combinations, chunk by chunk over the series. */
static void
batch_item(void *ctx, size_t item, int thread)
{
	struct run *R = ctx;
	struct scratch *sc = &R->sc[thread];
	size_t k0 = item * R->batch;
	size_t k1 = k0 + R->batch < R->n_combos ? k0 + R->batch : R->n_combos;
	size_t n = R->n, nw = zx_words(n), nl = 0;
	enum zx_strategy strat = R->p->strategy;

	for (size_t k = k0; k < k1; k++) {
		zx_bt_init(&sc->bt[k - k0]);
		sc->sig[k - k0] = 0;
	}
	sc->bx = R->bx;
	sc->bx.ck = sc->ck;
	if (strat == ZX_STRATEGY_SMA)
		nl = batch_lines(R, sc, k0, k1);

	for (size_t w0 = 0; w0 < nw; w0 += CHUNK_WORDS) {
		size_t w1 = w0 + CHUNK_WORDS < nw ? w0 + CHUNK_WORDS : nw;
		size_t bar0 = 64 * w0, bar1 = 64 * w1 < n ? 64 * w1 : n;

		zx_chunk_prepare(sc->ck, R->c, bar0, bar1);
		for (size_t j = 0; j < nl; j++)
			zx_sma_range(R->ph, R->pl, R->periods[sc->lines[j]], bar0, bar1,
			    sc->buf + j * CHUNK_BARS);

		for (size_t k = k0; k < k1; k++) {
			struct zx_bt *bt = &sc->bt[k - k0];
			size_t start = zx_lines_start(strat, R->slow[k], R->p->signal_period);
			const double *a, *b;

			if (bar1 <= start)
				continue;	/* lines not defined yet */
			if (strat == ZX_STRATEGY_SMA) {
				a = sc->buf + sc->lf[k - k0] * CHUNK_BARS;
				b = sc->buf + sc->ls[k - k0] * CHUNK_BARS;
			} else if (strat == ZX_STRATEGY_EMA) {
				a = R->ma + R->fi[k] * n + bar0;
				b = R->ma + R->si[k] * n + bar0;
			} else {
				macd_chunk(R, k, bar0, bar1 - bar0, &sc->sig[k - k0], sc->line,
				    sc->signal);
				a = sc->line;
				b = sc->signal;
			}
			zx_cmp_words(R->kernel, a, b, bar0, bar1 - bar0, start, sc->gt, sc->lt);
			zx_bt_words(&sc->bx, bt, w0, w1, sc->gt, sc->lt, start);
			zx_bt_chunk_end(&sc->bx, bt, bar1 - 1);
		}
	}
	for (size_t k = k0; k < k1; k++) {
		zx_bt_finish(&sc->bx, &sc->bt[k - k0], R->p->periods_per_year, &R->res[k]);
		R->res[k].fast = R->fast[k];
		R->res[k].slow = R->slow[k];
	}
}

static void
scratch_free(struct scratch *s)
{
	free(s->bt);
	free(s->sig);
	free(s->lf);
	free(s->slot);
	free(s->buf);
	free(s->line);
	free(s->ck);
}

/* Per-thread scratch for batches of up to R->batch combinations. */
static int
scratch_alloc(const struct run *R, struct scratch *s)
{
	size_t b = R->batch;
	size_t nl = 2 * b < R->n_periods ? 2 * b : R->n_periods;

	s->bt = malloc(b * sizeof(*s->bt));
	s->sig = malloc(b * sizeof(double));
	s->lf = malloc((2 * b + nl) * sizeof(size_t));
	s->slot = malloc(R->n_periods * sizeof(int));
	s->ck = malloc(sizeof(*s->ck));
	if (s->bt == NULL || s->sig == NULL || s->lf == NULL || s->slot == NULL || s->ck == NULL)
		return -1;
	s->ls = s->lf + b;
	s->lines = s->lf + 2 * b;
	for (size_t i = 0; i < R->n_periods; i++)
		s->slot[i] = -1;
	if (R->p->strategy == ZX_STRATEGY_SMA) {
		s->buf = malloc(nl * CHUNK_BARS * sizeof(double));
		if (s->buf == NULL)
			return -1;
	}
	if (R->p->strategy == ZX_STRATEGY_MACD) {
		s->line = malloc(2 * CHUNK_BARS * sizeof(double));
		if (s->line == NULL)
			return -1;
		s->signal = s->line + CHUNK_BARS;
	}
	return 0;
}

static void
run_free(struct run *R)
{
	if (R->sc != NULL) {
		for (int t = 0; t < R->threads; t++)
			scratch_free(&R->sc[t]);
		free(R->sc);
	}
	free(R->periods);
	free(R->ma);
	free(R->ph);
	free(R->fast);
	free(R->fi);
}

static int
combo_finite(const struct zx_combo_result *c)
{
	return isfinite(c->total_return_pct) && isfinite(c->sharpe_ratio) &&
	    isfinite(c->max_drawdown_pct) && isfinite(c->sortino_ratio) &&
	    isfinite(c->win_rate_pct) && isfinite(c->profit_factor) && isfinite(c->exposure_pct);
}

/* Shared arrays and per-thread scratch; -1 when out of memory, -2 over ZX_MAX_MA_BYTES. */
static int
run_setup(struct run *R, const double *close, size_t n, const struct zx_sweep_params *p,
    size_t nc)
{
	R->p = p;
	R->c = close;
	R->n = n;
	R->n_combos = nc;
	R->kernel = zx_cmp_kernel_select();
	R->threads = p->threads > 0 ? p->threads : zx_online_cpus();
	if ((size_t)R->threads > nc)
		R->threads = (int)nc;
	/* About one batch per thread (each line made once per chunk and thread). */
	R->batch = (nc + (size_t)R->threads - 1) / (size_t)R->threads;
	if (R->batch > MAX_BATCH)
		R->batch = MAX_BATCH;

	R->fast = malloc(2 * nc * sizeof(int));
	R->fi = malloc(2 * nc * sizeof(size_t));
	R->res = calloc(nc, sizeof(*R->res));
	if (R->fast == NULL || R->fi == NULL || R->res == NULL)
		return -1;
	R->slow = R->fast + nc;
	R->si = R->fi + nc;
	zx_grid_fill(p, R->fast, R->slow);
	if (collect_periods(R, nc) < 0)
		return -1;

	R->bx.c = close;
	R->bx.n = n;
	R->bx.fee = p->fee_bps / 1e4;
	R->bx.scan = zx_scan_kernel_select();

	if (p->strategy == ZX_STRATEGY_SMA) {
		R->ph = malloc(2 * n * sizeof(double));
		if (R->ph == NULL)
			return -1;
		R->pl = R->ph + n;
		zx_prefix_sum2(close, n, R->ph, R->pl);
	} else {
		if (R->n_periods > ZX_MAX_MA_BYTES / sizeof(double) / n)
			return -2;
		R->ma = malloc(R->n_periods * n * sizeof(double));
		if (R->ma == NULL)
			return -1;
	}
	R->sc = calloc((size_t)R->threads, sizeof(*R->sc));
	if (R->sc == NULL)
		return -1;
	for (int t = 0; t < R->threads; t++)
		if (scratch_alloc(R, &R->sc[t]) < 0)
			return -1;
	return 0;
}

int
zx_sweep_run(const double *close, size_t n, const struct zx_sweep_params *p,
    struct zx_sweep_result *out, char *err, size_t errlen)
{
	struct run R;
	size_t nc;

	if (out == NULL)
		return zx_fail(err, errlen, "no result to fill");
	memset(out, 0, sizeof(*out));
	if (close == NULL)
		return zx_fail(err, errlen, "no prices");
	if (zx_sweep_params_check(p, n, &nc, err, errlen) < 0)
		return -1;
	for (size_t t = 0; t < n; t++)
		if (!(isfinite(close[t]) && close[t] > 0))
			return zx_fail(err, errlen, "close[%zu] = %g is not a positive finite number",
			    t, close[t]);

	memset(&R, 0, sizeof(R));
	switch (run_setup(&R, close, n, p, nc)) {
	case 0:
		break;
	case -2:
		free(R.res);
		run_free(&R);
		return zx_fail(err, errlen,
		    "grid needs %zu moving averages of %zu bars, more than the %zu MiB limit",
		    R.n_periods, n, ZX_MAX_MA_BYTES >> 20);
	default:
		goto oom;
	}
	if (p->strategy != ZX_STRATEGY_SMA)
		zx_parallel_for(R.threads, R.n_periods, ema_item, &R);
	zx_parallel_for(R.threads, (nc + R.batch - 1) / R.batch, batch_item, &R);

	for (size_t k = 0; k < nc; k++) {
		if (!combo_finite(&R.res[k])) {
			int f = R.res[k].fast, s = R.res[k].slow;

			free(R.res);
			run_free(&R);
			return zx_fail(err, errlen,
			    "numeric overflow in combination fast=%d slow=%d (prices span too wide a "
			    "range)", f, s);
		}
	}
	out->ranking = malloc(nc * sizeof(size_t));
	if (out->ranking == NULL)
		goto oom;
	out->n_ranked = zx_rank(R.res, nc, p->objective, p->min_trades, out->ranking);
	if (out->n_ranked == (size_t)-1)
		goto oom;
	out->combos = R.res;
	out->n_combos = nc;
	out->bars = n;
	run_free(&R);
	return 0;

oom:
	free(out->ranking);
	free(R.res);
	run_free(&R);
	memset(out, 0, sizeof(*out));
	return zx_fail(err, errlen, "out of memory");
}

void
zx_sweep_result_free(struct zx_sweep_result *r)
{
	if (r == NULL)
		return;
	free(r->combos);
	free(r->ranking);
	memset(r, 0, sizeof(*r));
}
