/*
 * sweep.h — public API of the zixly sweep engine.
 *
 * The engine backtests moving-average crossover strategies (SMA, EMA, MACD; long-only) over a
 * grid of (fast, slow) periods on one series of closes and ranks the combinations.  It is pure
 * C11 plus POSIX threads: no database, no I/O, no global state, so the worker daemon, the
 * zixly-sweep CLI and the unit tests all call the same code.  The semantics are exactly those of
 * "Sweep engine semantics" in DESIGN.md; the extra metrics are defined below.
 *
 * Result convention (whole engine): 0 ok, -1 error with a one-line, lower-case reason written
 * to err (if err is not NULL and errlen > 0).  Invalid input never crashes.
 *
 * Thread safety: every function is reentrant; zx_sweep_run starts its own threads and joins them
 * before returning.  Results are bit-identical for any thread count (and for the AVX-512 and
 * plain C kernels picked at run time).
 *
 * Numerics.  SMAs are computed from exact sums, so equal windows give equal means and a flat
 * stretch of prices gives the price itself: ties are real ties, never rounding noise.  (EMAs
 * only approach a flat price and may differ from each other by a few ulps there.)  Sums for
 * the Sharpe and Sortino ratios are accumulated in double per chunk of 2048 bars and in long
 * double across chunks.  Against a plain per-bar evaluation of the DESIGN.md formulas (long
 * double, two-pass variance) on 100,000 bars: Sharpe and Sortino agree to ~2e-14 relative,
 * drawdown ~2e-15, total return ~4e-12 (the per-bar product itself rounds 100,000 times);
 * the unit tests require 1e-9.
 *
 * Cost.  About 0.5 ns per bar and combination on one core for an SMA grid (see
 * worker/bench/engine_bench.c), EMA about the same, MACD about 2 ns.  Memory: the result, one
 * prefix-sum pair of the series (SMA), and per thread about 16 KiB per moving average of its
 * batch (at most 1024) plus small tables — no moving average is held for the whole series.
 */
#ifndef ZX_SWEEP_H
#define ZX_SWEEP_H

#include <stdatomic.h>
#include <stddef.h>

enum zx_strategy {
	ZX_STRATEGY_SMA = 0,	/* MA_fast vs MA_slow, simple moving averages */
	ZX_STRATEGY_EMA = 1,	/* MA_fast vs MA_slow, EMA seeded with the SMA at t = n-1 */
	ZX_STRATEGY_MACD = 2	/* MACD(fast, slow, signal_period) line vs its signal line */
};

/* What `score` holds.  All are "higher is better" except ZX_OBJ_MAX_DRAWDOWN (ranked ascending). */
enum zx_objective {
	ZX_OBJ_SHARPE = 0,	/* sharpe_ratio (default) */
	ZX_OBJ_SORTINO,		/* sortino_ratio */
	ZX_OBJ_TOTAL_RETURN,	/* total_return_pct */
	ZX_OBJ_MAX_DRAWDOWN,	/* max_drawdown_pct, lower is better */
	ZX_OBJ_PROFIT_FACTOR,	/* profit_factor */
	ZX_OBJ_WIN_RATE		/* win_rate_pct */
};

/*
 * profit_factor is capped at this value.  It is reported when there are winning trades and no
 * losing ones (gross loss 0), or when gross profit / gross loss exceeds it.  With no trades, or
 * no winning trades, profit_factor is 0.  Every metric the engine reports is finite.
 */
#define ZX_PROFIT_FACTOR_CAP 1e6

/* Bounds enforced by zx_sweep_params_check. */
#define ZX_MAX_PERIOD		1000000
#define ZX_MAX_COMBINATIONS	1000000
#define ZX_MAX_THREADS		256
#define ZX_MAX_FEE_BPS		1000.0	/* 10 % per position change */
#define ZX_MAX_CLOSE		1e200	/* larger would overflow the exact mean's splitting */

struct zx_sweep_params {
	enum zx_strategy strategy;
	int fast_lo, fast_hi;		/* fast periods: fast_lo, fast_lo+step, ... <= fast_hi */
	int slow_lo, slow_hi;		/* slow periods: same rule; only pairs with fast < slow */
	int step;			/* >= 1 */
	int signal_period;		/* MACD signal EMA period g (default 9); ignored otherwise */
	double fee_bps;			/* cost per unit position change, basis points, 0..ZX_MAX_FEE_BPS */
	double periods_per_year;	/* P in the sqrt(P) annualisation (default 252; 365 for crypto) */
	int min_trades;			/* combinations with fewer trades are reported, not ranked */
	enum zx_objective objective;
	int threads;			/* worker threads; 0 = one per online CPU */
	const atomic_int *cancel;	/* NULL, or set from elsewhere to stop a run early */
};

/* One combination's metrics.  Periods over t = 1..T-1 unless stated. */
struct zx_combo_result {
	int fast, slow;
	double total_return_pct;	/* (E[T-1] - 1) * 100 */
	double sharpe_ratio;		/* mean(s) / std(s, ddof=1) * sqrt(P); 0 when std is 0 */
	double max_drawdown_pct;	/* max_t (1 - E[t] / max_{u<=t} E[u]) * 100, >= 0 */
	long total_trades;		/* entries, an open position at the end included */
	double sortino_ratio;		/* mean(s) / sqrt(mean(min(s,0)^2)) * sqrt(P); 0 when that is 0 */
	double win_rate_pct;		/* winning round trips / total_trades * 100; 0 with no trades */
	double profit_factor;		/* sum of winning trade returns / |sum of losing ones|, see cap */
	double exposure_pct;		/* bars t with pos[t-1] = 1, / (T-1) * 100 */
	double score;			/* the objective's value */
	int rank;			/* 1 = best; 0 = unranked (total_trades < min_trades) */
};
/*
 * A round trip's net return is E[after]/E[entry bar] - 1, where "after" is the bar that pays the
 * exit fee (the exit bar + 1), or the last bar for a trade still open (or exiting on it).  A win
 * has a net return > 0, a loss < 0.  Without fees the return is c[exit]/c[entry] - 1 and is
 * computed from the two prices, so a trade closed at its entry price is exactly 0: neither.
 */

struct zx_sweep_result {
	struct zx_combo_result *combos;	/* grid order: fast ascending, then slow ascending */
	size_t n_combos;
	size_t *ranking;		/* indices into combos, best first: ranked ones only */
	size_t n_ranked;		/* ties are broken by grid order */
	size_t bars;			/* T */
};

/* Defaults: SMA, empty grid, step 1, signal 9, fee 0, P 252, min_trades 0, sharpe, 0 threads. */
void zx_sweep_params_init(struct zx_sweep_params *p);

/*
 * Checks p against a series of n bars: ranges, step, fee, P, threads, objective, that the grid
 * has at least one combination, and that every combination's lines are defined on at least one
 * bar (slow <= n; MACD: slow + signal_period - 1 <= n).  Stores the number of combinations in
 * *n_combos if that is not NULL.
 */
int zx_sweep_params_check(const struct zx_sweep_params *p, size_t n, size_t *n_combos,
    char *err, size_t errlen);

/*
 * Runs the sweep on close[0..n-1] (ascending time, every close finite and > 0, n >= 2).
 * On success fills *out (free it with zx_sweep_result_free); on error *out is empty.  When
 * *p->cancel becomes non-zero the threads stop at their next chunk of bars and the run fails
 * with "cancelled".
 */
int zx_sweep_run(const double *close, size_t n, const struct zx_sweep_params *p,
    struct zx_sweep_result *out, char *err, size_t errlen);

/* Frees what zx_sweep_run allocated; safe on a zeroed or already freed result. */
void zx_sweep_result_free(struct zx_sweep_result *r);

/*
 * Equity curve of one combination (fast, slow under p's strategy, fee and signal period), for
 * plotting against buy-and-hold.  Writes up to max_points (>= 2) points: out_idx[k] is the bar
 * index (0 and T-1 always included, evenly spaced in between), out_equity[k] = E[out_idx[k]]
 * with E[0] = 1, and, if out_bh is not NULL, out_bh[k] = close[out_idx[k]] / close[0].
 * *out_len receives the number of points written (min(T, max_points)).  Computed bar by bar
 * with the DESIGN.md recurrence E[t] = E[t-1](1 + s[t]).  fast and slow need not be on p's grid
 * but need fast < slow and the same definedness as a grid combination.
 */
int zx_equity_curve(const double *close, size_t n, const struct zx_sweep_params *p,
    int fast, int slow, double *out_equity, double *out_bh, size_t *out_idx,
    size_t max_points, size_t *out_len, char *err, size_t errlen);

/* Names used by the CLI and JSON ("SMA", "sharpe_ratio", ...); parse returns 0 or -1. */
const char *zx_strategy_name(enum zx_strategy s);
int zx_strategy_parse(const char *name, enum zx_strategy *out);
const char *zx_objective_name(enum zx_objective o);
int zx_objective_parse(const char *name, enum zx_objective *out);

#endif /* ZX_SWEEP_H */
