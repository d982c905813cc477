/*
 * sweep.c — zx_sweep_run: validate, split the grid into batches of consecutive combinations
 * (about one per thread), backtest each batch on its own thread, then rank.
 *
 * Cache blocking: a batch walks the series in chunks of ZX_CHUNK_BARS bars.  Per chunk it
 * makes each of its moving averages once — SMAs from the exact prefix sums, EMAs by carrying
 * their recurrences from chunk to chunk, all the batch's EMAs in one interleaved loop — and
 * then every combination of the batch compares, trades and scans with its lines, the closes
 * and the chunk's tables in L1/L2.  No moving average is ever held for the whole series.
 * MACD signal lines are carried per combination, eight combinations interleaved.  Results do
 * not depend on the batch size or the thread count; the chunk size only fixes the order of
 * summation.
 *
 * Sharing rules: struct run is read-only while the threads run, except each thread's own
 * scratch and each combination's own result slot; no locks are needed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define CB ZX_CHUNK_BARS
/* Per-line buffers are LS apart, not CB: with a power-of-two stride every line's bar i would
 * fall in the same L1 set, and the interleaved EMA and MACD loops would thrash it. */
#define LS (CB + 8)
#define MAX_BATCH 512
#define MACD_GROUP 8		/* MACD signal recurrences interleaved */

struct scratch {
	size_t *member;			/* the batch's combinations (grid indexes) */
	struct zx_bt *bt;		/* per combination of the batch */
	size_t *lf, *ls;		/* per combination: its fast/slow line among the batch's */
	int *slot;			/* per distinct period: its line in the batch, or -1 */
	size_t *lines;			/* the batch's distinct periods (indexes into periods) */
	int *lper;			/* per line: period */
	double *lalpha, *lseed, *lstate;	/* per line (EMA): weight, seed, running value */
	double *buf;			/* per line: its values on the current chunk */
	double *msig, *mh, *ml;		/* MACD per combination: signal, seed sum (hi, lo) */
	double *mline, *msignal;	/* MACD: lines of one group on the current chunk */
	uint64_t gt[ZX_CHUNK_WORDS], lt[ZX_CHUNK_WORDS];
	struct zx_chunk *ck;		/* the current chunk's tables */
	struct zx_bt_ctx bx;		/* the run's context, pointing at ck */
};

struct run {
	const struct zx_sweep_params *p;
	const double *c;
	size_t n;
	struct zx_bt_ctx bx;
	zx_cmp_kernel kernel;
	double *ph, *pl;		/* SMA: exact prefix sums of c */
	size_t inexact_at;		/* SMA: the first bar whose prefix sum is not exact, or n */

	int *periods;			/* distinct periods, ascending */
	size_t n_periods;
	int *fast, *slow;		/* per combination, grid order */
	size_t *fi, *si;		/* their indexes into periods */
	struct zx_combo_result *res;
	size_t n_combos;
	size_t n_batches, batch;	/* batches, and the most combinations in one */
	size_t *members, *boff;		/* batch b: members[boff[b] .. boff[b+1]-1], grid order */

	struct scratch *sc;		/* one per thread */
	int threads;
};

static double
max_close(const double *c, size_t n)
{
	double m = 0.0;

	for (size_t t = 0; t < n; t++)
		m = fmax(m, c[t]);
	return m;
}

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

/* The distinct periods of the batch's combinations become its lines. */
static size_t
batch_lines(const struct run *R, struct scratch *sc, size_t nm)
{
	size_t nl = 0;

	for (size_t j = 0; j < nm; j++) {
		size_t k = sc->member[j];
		size_t pi[2] = { R->fi[k], R->si[k] };

		for (int i = 0; i < 2; i++) {
			if (sc->slot[pi[i]] < 0) {
				sc->slot[pi[i]] = (int)nl;
				sc->lines[nl++] = pi[i];
			}
		}
		sc->lf[j] = (size_t)sc->slot[pi[0]];
		sc->ls[j] = (size_t)sc->slot[pi[1]];
	}
	for (size_t i = 0; i < nl; i++) {
		int p = R->periods[sc->lines[i]];

		sc->slot[sc->lines[i]] = -1;	/* leave the map clean for the next batch */
		sc->lper[i] = p;
		if (R->p->strategy != ZX_STRATEGY_SMA) {
			sc->lalpha[i] = zx_ema_alpha(p);
			sc->lseed[i] = zx_mean_exact(R->c, (size_t)p);
			sc->lstate[i] = 0;
		}
	}
	return nl;
}

/*
 * MACD lines of the batch's combinations j0 .. j1-1 on chunk bars [bar0, bar1): line =
 * EMA_f - EMA_s from the batch's lines; the signal's seed sum and value carried per
 * combination.  Same operations as zx_macd, so the same bits.  Once every signal of the group
 * is past its seed, the group's recurrences run interleaved.
 */
static void
macd_group(const struct run *R, struct scratch *sc, size_t j0, size_t j1, size_t bar0,
    size_t bar1)
{
	int g = R->p->signal_period;
	double alpha = zx_ema_alpha(g);
	size_t tc = bar0;	/* from here on every signal of the group is running */

	for (size_t j = j0; j < j1; j++) {
		size_t k = sc->member[j], m = j - j0;
		size_t t0 = (size_t)R->slow[k] - 1, ts = t0 + (size_t)g - 1;
		const double *f = sc->buf + sc->lf[j] * LS, *sl = sc->buf + sc->ls[j] * LS;
		double *line = sc->mline + m * LS, *sig = sc->msignal + m * LS;

		for (size_t t = bar0 > t0 ? bar0 : t0; t < bar1; t++)
			line[t - bar0] = f[t - bar0] - sl[t - bar0];
		/* The seed, and the bars before the group's common start, one by one. */
		for (size_t t = bar0 > t0 ? bar0 : t0; t < bar1 && t <= ts; t++) {
			zx_sum2_add(&sc->mh[j], &sc->ml[j], line[t - bar0]);
			if (t == ts) {
				sc->msig[j] = zx_sum2_mean(sc->mh[j], sc->ml[j], (size_t)g);
				sig[t - bar0] = sc->msig[j];
			}
		}
		if (ts + 1 > tc)
			tc = ts + 1 < bar1 ? ts + 1 : bar1;
	}
	for (size_t j = j0; j < j1; j++) {
		size_t ts = (size_t)R->slow[sc->member[j]] + (size_t)g - 2;
		const double *line = sc->mline + (j - j0) * LS;
		double *sig = sc->msignal + (j - j0) * LS;

		for (size_t t = ts + 1 > bar0 ? ts + 1 : bar0; t < tc; t++) {
			sc->msig[j] = zx_ema_step(sc->msig[j], alpha, line[t - bar0]);
			sig[t - bar0] = sc->msig[j];
		}
	}
	if (tc >= bar1)
		return;
	/* Interleaved: the group's independent recurrences overlap in the pipeline. */
	double e[MACD_GROUP];
	size_t ng = j1 - j0;

	for (size_t m = 0; m < ng; m++)
		e[m] = sc->msig[j0 + m];
	for (size_t i = tc - bar0; i < bar1 - bar0; i++) {
		for (size_t m = 0; m < ng; m++) {
			e[m] = zx_ema_step(e[m], alpha, sc->mline[m * LS + i]);
			sc->msignal[m * LS + i] = e[m];
		}
	}
	for (size_t m = 0; m < ng; m++)
		sc->msig[j0 + m] = e[m];
}

/* Compares, trades and scans the batch's combination j on the current chunk with lines a, b. */
static void
combo_chunk(const struct run *R, struct scratch *sc, size_t j, const double *a,
    const double *b, size_t w0, size_t w1, size_t bar0, size_t bar1)
{
	size_t start = zx_lines_start(R->p->strategy, R->slow[sc->member[j]],
	    R->p->signal_period);

	if (bar1 <= start)
		return;		/* lines not defined yet */
	zx_cmp_words(R->kernel, a, b, bar0, bar1 - bar0, start, sc->gt, sc->lt);
	zx_bt_words(&sc->bx, &sc->bt[j], w0, w1, sc->gt, sc->lt, start);
	zx_bt_chunk_end(&sc->bx, &sc->bt[j], bar1 - 1);
}

/* One batch, chunk by chunk over the series. */
static void
batch_item(void *ctx, size_t item, int thread)
{
	struct run *R = ctx;
	struct scratch *sc = &R->sc[thread];
	size_t n = R->n, nw = zx_words(n), nm = 0;
	enum zx_strategy strat = R->p->strategy;

	for (size_t i = R->boff[item]; i < R->boff[item + 1]; i++)
		sc->member[nm++] = R->members[i];

	size_t nl = batch_lines(R, sc, nm);

	for (size_t j = 0; j < nm; j++) {
		zx_bt_init(&sc->bt[j]);
		sc->msig[j] = sc->mh[j] = sc->ml[j] = 0;
	}
	sc->bx = R->bx;
	sc->bx.ck = sc->ck;

	for (size_t w0 = 0; w0 < nw; w0 += ZX_CHUNK_WORDS) {
		size_t w1 = w0 + ZX_CHUNK_WORDS < nw ? w0 + ZX_CHUNK_WORDS : nw;
		size_t bar0 = 64 * w0, bar1 = 64 * w1 < n ? 64 * w1 : n;

		if (R->p->cancel != NULL && atomic_load_explicit(R->p->cancel, memory_order_relaxed))
			return;
		zx_chunk_prepare(sc->ck, R->c, bar0, bar1);
		if (strat == ZX_STRATEGY_SMA) {
			for (size_t i = 0; i < nl; i++)
				zx_sma_range(R->ph, R->pl, sc->lper[i], bar0, bar1, sc->buf + i * LS);
		} else {
			zx_ema_lines(R->c, bar0, bar1, nl, sc->lper, sc->lalpha, sc->lseed,
			    sc->lstate, sc->buf, LS);
		}
		if (strat != ZX_STRATEGY_MACD) {
			for (size_t j = 0; j < nm; j++)
				combo_chunk(R, sc, j, sc->buf + sc->lf[j] * LS,
				    sc->buf + sc->ls[j] * LS, w0, w1, bar0, bar1);
			continue;
		}
		for (size_t j0 = 0; j0 < nm; j0 += MACD_GROUP) {
			size_t j1 = j0 + MACD_GROUP < nm ? j0 + MACD_GROUP : nm;

			macd_group(R, sc, j0, j1, bar0, bar1);
			for (size_t j = j0; j < j1; j++)
				combo_chunk(R, sc, j, sc->mline + (j - j0) * LS,
				    sc->msignal + (j - j0) * LS, w0, w1, bar0, bar1);
		}
	}
	for (size_t j = 0; j < nm; j++) {
		size_t k = sc->member[j];

		zx_bt_finish(&sc->bx, &sc->bt[j], R->p->periods_per_year, &R->res[k]);
		R->res[k].fast = R->fast[k];
		R->res[k].slow = R->slow[k];
	}
}

static void
scratch_free(struct scratch *s)
{
	free(s->member);
	free(s->bt);
	free(s->lf);
	free(s->slot);
	free(s->lper);
	free(s->lalpha);
	free(s->buf);
	free(s->msig);
	free(s->mline);
	free(s->ck);
}

/* Per-thread scratch for batches of up to R->batch combinations. */
static int
scratch_alloc(const struct run *R, struct scratch *s)
{
	size_t b = R->batch;
	size_t nl = 2 * b < R->n_periods ? 2 * b : R->n_periods;

	s->member = malloc(b * sizeof(size_t));
	s->bt = malloc(b * sizeof(*s->bt));
	s->lf = malloc((2 * b + nl) * sizeof(size_t));
	s->slot = malloc(R->n_periods * sizeof(int));
	s->lper = malloc(nl * sizeof(int));
	s->lalpha = malloc(3 * nl * sizeof(double));
	s->buf = malloc(nl * LS * sizeof(double));
	s->msig = malloc(3 * b * sizeof(double));
	s->ck = malloc(sizeof(*s->ck));
	if (s->member == NULL || s->bt == NULL || s->lf == NULL || s->slot == NULL || s->lper == NULL ||
	    s->lalpha == NULL || s->buf == NULL || s->msig == NULL || s->ck == NULL)
		return -1;
	s->ls = s->lf + b;
	s->lines = s->lf + 2 * b;
	s->lseed = s->lalpha + nl;
	s->lstate = s->lseed + nl;
	s->mh = s->msig + b;
	s->ml = s->mh + b;
	for (size_t i = 0; i < R->n_periods; i++)
		s->slot[i] = -1;
	if (R->p->strategy == ZX_STRATEGY_MACD) {
		s->mline = malloc(2 * MACD_GROUP * LS * sizeof(double));
		if (s->mline == NULL)
			return -1;
		s->msignal = s->mline + MACD_GROUP * LS;
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
	free(R->ph);
	free(R->fast);
	free(R->fi);
	free(R->members);
	free(R->boff);
}

static int
combo_finite(const struct zx_combo_result *c)
{
	return isfinite(c->total_return_pct) && isfinite(c->sharpe_ratio) &&
	    isfinite(c->max_drawdown_pct) && isfinite(c->sortino_ratio) &&
	    isfinite(c->win_rate_pct) && isfinite(c->profit_factor) && isfinite(c->exposure_pct);
}

/*
 * One batch per thread (each line is made once per chunk and thread), more only when a batch
 * would exceed MAX_BATCH.  Whole rows of the grid (one fast period) go to a batch, dealt in
 * the order 0, 1, .., nb-1, nb-1, .., 1, 0, 0, 1, ..: a batch needs few lines (its rows' fast
 * periods and the slow ones) and gets a fair share of short and long fast periods, so the
 * threads finish together.  Grids with too few rows are dealt combination by combination.
 */
static int
assign_batches(struct run *R)
{
	size_t nc = R->n_combos, rows = 0, nb;
	size_t *of;

	nb = (nc + MAX_BATCH - 1) / MAX_BATCH;
	if (nb < (size_t)R->threads)
		nb = (size_t)R->threads;
	of = malloc((nc + nb) * sizeof(size_t));	/* of[k], then nb fill positions */
	R->members = malloc(nc * sizeof(size_t));
	R->boff = calloc(nb + 1, sizeof(size_t));
	if (of == NULL || R->members == NULL || R->boff == NULL) {
		free(of);
		return -1;
	}
	for (size_t k = 0; k < nc; k++)
		rows += k == 0 || R->fast[k] != R->fast[k - 1];
	for (size_t k = 0, row = 0; k < nc; k++) {
		size_t unit, pos;

		row += k > 0 && R->fast[k] != R->fast[k - 1];
		unit = rows >= 2 * nb ? row : k;
		pos = unit % (2 * nb);
		of[k] = pos < nb ? pos : 2 * nb - 1 - pos;
		R->boff[of[k] + 1]++;
	}
	/* Counting sort into members (grid order within a batch); the largest batch sizes the
	 * scratch. */
	R->n_batches = nb;
	R->batch = 0;
	for (size_t b = 0; b < nb; b++) {
		if (R->boff[b + 1] > R->batch)
			R->batch = R->boff[b + 1];
		R->boff[b + 1] += R->boff[b];
	}
	size_t *fill = of + nc;

	memcpy(fill, R->boff, nb * sizeof(size_t));
	for (size_t k = 0; k < nc; k++)
		R->members[fill[of[k]]++] = k;
	free(of);
	return 0;
}

/* Shared arrays and per-thread scratch; -1 when out of memory. */
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
	R->fast = malloc(2 * nc * sizeof(int));
	R->fi = malloc(2 * nc * sizeof(size_t));
	R->res = calloc(nc, sizeof(*R->res));
	if (R->fast == NULL || R->fi == NULL || R->res == NULL)
		return -1;
	R->slow = R->fast + nc;
	R->si = R->fi + nc;
	zx_grid_fill(p, R->fast, R->slow);
	if (collect_periods(R, nc) < 0 || assign_batches(R) < 0)
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
		R->inexact_at = zx_prefix_sum2(close, n, R->ph, R->pl);
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
		else if (close[t] > ZX_MAX_CLOSE)
			return zx_fail(err, errlen, "close[%zu] = %g is above %g, the largest close "
			    "supported", t, close[t], ZX_MAX_CLOSE);

	memset(&R, 0, sizeof(R));
	R.inexact_at = n;
	if (run_setup(&R, close, n, p, nc) < 0)
		goto oom;
	if (R.inexact_at < n) {
		size_t t = R.inexact_at;

		free(R.res);
		run_free(&R);
		return zx_fail(err, errlen, "the closes span too wide a range for exact moving averages: "
		    "the running sum loses exactness at close[%zu] = %g (largest close so far %g)", t,
		    close[t], max_close(close, t + 1));
	}
	zx_parallel_for(R.threads, R.n_batches, batch_item, &R);
	if (p->cancel != NULL && atomic_load(p->cancel)) {
		free(R.res);
		run_free(&R);
		return zx_fail(err, errlen, "cancelled");
	}

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
