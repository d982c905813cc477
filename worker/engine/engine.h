/*
 * engine.h — internal interfaces between the engine's files (not part of the public API in
 * sweep.h; the unit tests use them to check each piece on its own).
 *
 *   indicators.c  SMA, EMA, MACD lines
 *   cross.c       comparison words and cross events of two lines (SIMD kernel picked at run time)
 *   scan.c        the in-market bars of a trade: drawdown and sums (SIMD kernel picked at run time)
 *   backtest.c    events -> long-only trades -> metrics for one combination, streamed by chunks
 *   equity.c      the bar-by-bar equity curve (zx_equity_curve)
 *   grid.c        parameter checks, grid enumeration, names
 *   rank.c        score and ranking
 *   parallel.c    a minimal parallel-for over pthreads
 *   sweep.c       zx_sweep_run: puts the pieces together
 */
#ifndef ZX_ENGINE_H
#define ZX_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "sweep.h"

/* ------------------------------------------------------------ errors */
/* Formats the message into err (if any) and returns -1. */
int zx_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------ indicators.c */
/* TwoSum: a + b rounded, and in *err its rounding error (a + b = result + *err exactly). */
static inline double
zx_two_sum(double a, double b, double *err)
{
	double s = a + b;
	double z = s - a;

	*err = (a - (s - z)) + (b - z);
	return s;
}

/*
 * One step of an exact running sum: TwoSum puts hi + v into hi and the rounding error into lo.
 * For price data (a few significant decimals, bounded range) lo's own sum is exact too, so
 * hi + lo is the exact sum: equal windows give equal means, a flat stretch gives the price
 * itself, and no drift accumulates along the series.
 */
static inline void
zx_sum2_add(double *hi, double *lo, double v)
{
	double e;

	*hi = zx_two_sum(*hi, v, &e);
	*lo += e;
}
/* (hi + lo) / k rounded once (exact when the mean is a double); k < 2^26. */
double zx_sum2_mean(double hi, double lo, size_t k);

/* The EMA recurrence and its weight, one expression for every EMA in the engine. */
static inline double
zx_ema_alpha(int period)
{
	return 2.0 / ((double)period + 1.0);
}
static inline double
zx_ema_step(double e, double alpha, double x)
{
	return e + alpha * (x - e);
}

/*
 * Prefix sums of c with zx_sum2_add (hi[t] + lo[t] = c[0] + ... + c[t]).  Returns n when every
 * addition to lo was exact, so every sum is; else the first t where one was not (closes spanning
 * some 16 orders of magnitude, e.g. 1e15 then 0.1), from which the sums, and means taken from
 * them, may be off.
 */
size_t zx_prefix_sum2(const double *c, size_t n, double *hi, double *lo);

/* SMA(period)[t] for t >= period-1 from zx_prefix_sum2's arrays; out[t] = NaN before. */
void zx_sma_prefix(const double *hi, const double *lo, size_t n, int period, double *out);
/* The same for bars [t0, t1) only, into out[t - t0]; bars before period-1 are not written. */
void zx_sma_range(const double *hi, const double *lo, int period, size_t t0, size_t t1,
    double *out);

/* EMA(period) of c, seeded with sma_seed = SMA(period)[period-1]; NaN before period-1. */
void zx_ema_seeded(const double *c, size_t n, int period, double sma_seed, double *out);

/*
 * EMAs of nl periods over bars [t0, t1) at once (their recurrences interleave, so the
 * dependency chains overlap): line j has period[j], alpha[j], seed[j] (its SMA at
 * period[j]-1) and its running value in state[j], carried from call to call over consecutive
 * ranges.  out[j * stride + t - t0] receives EMA[t] where defined.  Same bits as zx_ema.
 */
void zx_ema_lines(const double *c, size_t t0, size_t t1, size_t nl, const int *period,
    const double *alpha, const double *seed, double *state, double *out, size_t stride);

/* Convenience forms (zx_sma allocates its prefix arrays: -1 only when out of memory). */
int zx_sma(const double *c, size_t n, int period, double *out);
void zx_ema(const double *c, size_t n, int period, double *out);

/* Mean of x[0..k-1] (k >= 1) with the exact summation. */
double zx_mean_exact(const double *x, size_t k);

/*
 * MACD(fast, slow, g) from the two EMAs (each seeded on its own): line = ema_f - ema_s for
 * t >= slow-1; signal = EMA(g) of line seeded with the mean of line[slow-1 .. slow+g-2].
 * line/signal are NaN where undefined.
 */
void zx_macd(const double *ema_f, const double *ema_s, size_t n, int slow, int g,
    double *line, double *signal);

/* First bar where both strategy lines are defined. */
size_t zx_lines_start(enum zx_strategy s, int slow, int signal_period);

/* ------------------------------------------------------------ cross.c */
/*
 * Comparison words: bit t%64 of gt[w] is a[t] > b[t], of lt[w] is a[t] < b[t].  A kernel does
 * nwords whole words (64 bars each); the AVX-512, AVX2 and plain C kernels give equal bits.
 */
typedef void (*zx_cmp_kernel)(const double *a, const double *b, size_t nwords,
    uint64_t *gt, uint64_t *lt);
static inline size_t zx_words(size_t n) { return (n + 63) / 64; }
zx_cmp_kernel zx_cmp_kernel_select(void);	/* best kernel this CPU runs */
zx_cmp_kernel zx_cmp_kernel_portable(void);	/* plain C */

/*
 * Comparison words for bars [bar0, bar0 + nbars) (bar0 a multiple of 64): a[i], b[i] are the
 * lines at bar bar0 + i.  Bits of bars before `start` (lines undefined) and after the range
 * are 0, and a/b are not read there.
 */
void zx_cmp_words(zx_cmp_kernel k, const double *a, const double *b, size_t bar0, size_t nbars,
    size_t start, uint64_t *gt, uint64_t *lt);

/*
 * Cross events of one word from its comparison words and the previous word's (carried in
 * gprev and lprev as bit 0):  up = gt & !gt[t-1],  down = lt & !lt[t-1]  — DESIGN.md's rules,
 * ties included ("a[t-1] <= b[t-1]" is "not gt[t-1]").
 */
static inline void
zx_events_word(uint64_t g, uint64_t l, uint64_t *gprev, uint64_t *lprev, uint64_t *up,
    uint64_t *down)
{
	*up = g & ~((g << 1) | *gprev);
	*down = l & ~((l << 1) | *lprev);
	*gprev = g >> 63;
	*lprev = l >> 63;
}

/* Mask of the bits of word w that may hold events: bars t >= start + 1. */
static inline uint64_t
zx_event_mask(size_t w, size_t start)
{
	if (w < start / 64)
		return 0;
	if (w > start / 64)
		return ~0ULL;
	return (~0ULL << (start % 64)) << 1;
}

/* Whole-series event bitmaps (zx_words(n) words each) for lines a, b defined from start. */
void zx_cross_events(zx_cmp_kernel k, const double *a, const double *b, size_t n,
    size_t start, uint64_t *up, uint64_t *down);

/* ------------------------------------------------------------ scan.c */
/*
 * The series is walked in chunks of ZX_CHUNK_BARS bars (a multiple of 64, so chunks start on
 * word and 8-bar block boundaries).  Per chunk, shared by every combination:
 */
#define ZX_CHUNK_WORDS 32
#define ZX_CHUNK_BARS (ZX_CHUNK_WORDS * 64)
struct zx_chunk {
	size_t bar0, bar1;			/* bars [bar0, bar1) */
	double r[ZX_CHUNK_BARS];		/* zx_ret(c, bar0 + i); 0 for bar 0 */
	double pm[ZX_CHUNK_BARS];		/* max of c over the aligned 8-bar block, up to i */
	double p1[ZX_CHUNK_BARS + 1];		/* p1[i] = sum of r over bars bar0 .. bar0+i-1 */
	double p2[ZX_CHUNK_BARS + 1];		/* ... of r^2 */
	double pn[ZX_CHUNK_BARS + 1];		/* ... of min(r,0)^2 */
};
void zx_chunk_prepare(struct zx_chunk *ck, const double *c, size_t bar0, size_t bar1);

/* The bar return r[t] = c[t]/c[t-1] - 1 (t >= 1), one expression everywhere. */
static inline double
zx_ret(const double *c, size_t t)
{
	return c[t] / c[t - 1] - 1.0;
}

/*
 * The bars a..b (inside chunk ck) of a trade in the market: pkc, the running peak in price
 * units, is updated, and worst, the lowest E/peak so far, lowered to min(worst, c[t]/pkc[t]).
 * The AVX-512 and plain C kernels return the same bits.
 */
typedef void (*zx_scan_kernel)(const double *c, const struct zx_chunk *ck, size_t a, size_t b,
    double *pkc, double *worst);
zx_scan_kernel zx_scan_kernel_select(void);
zx_scan_kernel zx_scan_kernel_portable(void);

/* ------------------------------------------------------------ backtest.c */
struct zx_trade {
	size_t entry;		/* bar of the up-cross: pos[entry] = 1, pos[entry-1] = 0 */
	size_t exit;		/* bar of the down-cross (pos[exit] = 0), or n while still open */
};
/* Long-only positions from whole-series events; writes the trades (at most n/2 + 1). */
size_t zx_trades_from_events(const uint64_t *up, const uint64_t *down, size_t n, size_t start,
    struct zx_trade *out);

/* E[0..n-1] bar by bar from the DESIGN.md recurrence (zx_equity_curve and the tests). */
void zx_equity_bars(const double *c, size_t n, const struct zx_trade *tr, size_t ntr,
    double fee, double *equity);

/* What a combination's backtest reads: the run's constants, and the calling thread's current
 * chunk tables. */
struct zx_bt_ctx {
	const double *c;	/* closes */
	size_t n;
	double fee;		/* fee_bps / 1e4 */
	zx_scan_kernel scan;
	const struct zx_chunk *ck;	/* the chunk being fed (set by the caller) */
};

/*
 * One combination's backtest, fed word by word in bar order (so a sweep can walk the series
 * in cache-sized chunks for many combinations at once).  The metrics are kept per trade, not
 * per bar — see backtest.c.
 */
struct zx_bt {
	uint64_t gprev, lprev;	/* comparison bits of the previous bar */
	int pos;		/* position after the events seen so far */
	int live;		/* open trade with bars in the market still to account */
	int bust;		/* equity <= 0 at entry: per-bar path */
	size_t entry, next;	/* open trade: entry bar; next in-market bar to scan */
	double e0, s1st;	/* open trade: E at entry; s of its first bar (r - fee) */
	double K, qc, pkc;	/* E[t] = K c[t]; peak/K at entry; running peak/K */
	double E, peak, worst;	/* equity after the accounted bars; its peak; min E/peak */
	double c1, c2, cn;	/* this chunk's sums of s, s^2, min(s,0)^2 */
	long double s1, s2, sn;	/* the sums of earlier chunks */
	long trades, wins;
	double gross_win, gross_loss;
	size_t exposure;
};
void zx_bt_init(struct zx_bt *bt);
/* Events of words [w0, w1) (inside chunk x->ck) from their comparison words gt[0..], lt[0..];
 * the lines are defined from bar start. */
void zx_bt_words(const struct zx_bt_ctx *x, struct zx_bt *bt, size_t w0, size_t w1,
    const uint64_t *gt, const uint64_t *lt, size_t start);
/* At the end of a chunk: accounts the in-market bars up to bar upto, folds the chunk's sums. */
void zx_bt_chunk_end(const struct zx_bt_ctx *x, struct zx_bt *bt, size_t upto);
/* Closes the books (an open trade is valued at the last bar) and fills the metrics. */
void zx_bt_finish(const struct zx_bt_ctx *x, struct zx_bt *bt, double periods_per_year,
    struct zx_combo_result *out);

/* ------------------------------------------------------------ grid.c */
/* Values lo, lo+step, ... <= hi: how many. */
size_t zx_range_count(int lo, int hi, int step);
/* Fills fast/slow (n_combos entries each) in grid order. */
void zx_grid_fill(const struct zx_sweep_params *p, int *fast, int *slow);

/* ------------------------------------------------------------ rank.c */
double zx_objective_value(const struct zx_combo_result *c, enum zx_objective o);
/* Sets score and rank of every combo; fills order (n entries) with the ranked indices, best
 * first; returns how many are ranked, or (size_t)-1 when out of memory. */
size_t zx_rank(struct zx_combo_result *c, size_t n, enum zx_objective o, int min_trades,
    size_t *order);

/* ------------------------------------------------------------ parallel.c */
/* Calls fn(ctx, item, thread) for item = 0..n_items-1 on `threads` threads (caller included,
 * thread ids 0..threads-1); items are handed out one at a time.  If a thread cannot be
 * started the others do its items (the work always completes) and -1 is returned. */
int zx_parallel_for(int threads, size_t n_items, void (*fn)(void *ctx, size_t item, int thread),
    void *ctx);
int zx_online_cpus(void);

#endif /* ZX_ENGINE_H */
