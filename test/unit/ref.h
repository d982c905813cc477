/*
 * ref.h — the unit tests' shared harness: cmocka includes, a float comparison assertion,
 * deterministic test series, and a reference implementation of DESIGN.md's sweep semantics
 * written the plain way (per bar, long double, two-pass variance) and independent of the
 * engine's code, to check the engine's fast paths against.
 */
#ifndef ZX_TEST_REF_H
#define ZX_TEST_REF_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

struct ref_metrics {
	double total_return_pct, sharpe_ratio, max_drawdown_pct;
	long total_trades;
	double sortino_ratio, win_rate_pct, profit_factor, exposure_pct;
};

/* |got - want| <= abs_tol + rel_tol * |want|, with a message naming what differs. */
#define assert_close(got, want, rel_tol, abs_tol) \
	ref_assert_close((got), (want), (rel_tol), (abs_tol), #got, __FILE__, __LINE__)
void ref_assert_close(double got, double want, double rel_tol, double abs_tol,
    const char *what, const char *file, int line);

/* Geometric random walk rounded to cents, deterministic in seed; vol is the step st.dev. */
void ref_random_walk(double *c, size_t n, uint64_t seed, double vol);

/* Moving averages straight from the definitions (long double sums); NaN where undefined. */
void ref_sma(const double *c, size_t n, int p, double *out);
void ref_ema(const double *c, size_t n, int p, double *out);
void ref_macd(const double *c, size_t n, int f, int s, int g, double *line, double *signal);

/*
 * Backtest of lines a, b (defined from bar start) on closes c, per bar as DESIGN.md writes it.
 * equity (optional, n entries) receives E[t].  profit_factor is capped like the engine's.
 */
void ref_backtest(const double *c, size_t n, const double *a, const double *b, size_t start,
    double fee, double periods_per_year, struct ref_metrics *m, double *equity);

/* Strategy lines for (fast, slow) as the sweep defines them; returns the start bar. */
size_t ref_lines(int strategy, const double *c, size_t n, int fast, int slow, int signal,
    double *a, double *b);

#endif /* ZX_TEST_REF_H */
