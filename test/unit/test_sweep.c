/*
 * test_sweep.c — zx_sweep_run and zx_equity_curve end to end: every combination against the
 * per-bar reference (SMA, EMA, MACD, fees), results bit-identical for 1, 2, 3 and 7 threads,
 * zero trades => zero return and drawdown, flat prices => no trades, buy-and-hold and the
 * equity curve, invalid input rejected with a message, a run stopped by its cancel flag, and a
 * series too wide for exact SMA sums refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "../../worker/engine/engine.h"

static struct zx_sweep_params
params(enum zx_strategy s, int flo, int fhi, int slo, int shi, int step, double fee)
{
	struct zx_sweep_params p;

	zx_sweep_params_init(&p);
	p.strategy = s;
	p.fast_lo = flo;
	p.fast_hi = fhi;
	p.slow_lo = slo;
	p.slow_hi = shi;
	p.step = step;
	p.fee_bps = fee;
	return p;
}

static void
run_ok(const double *c, size_t n, const struct zx_sweep_params *p, struct zx_sweep_result *r)
{
	char err[256];

	if (zx_sweep_run(c, n, p, r, err, sizeof(err)) != 0)
		fail_msg("zx_sweep_run: %s", err);
}

/* Every combination of the grid against ref_backtest on the reference lines. */
static void
check_against_reference(const double *c, size_t n, const struct zx_sweep_params *p)
{
	struct zx_sweep_result r;
	double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double));

	run_ok(c, n, p, &r);
	for (size_t k = 0; k < r.n_combos; k++) {
		const struct zx_combo_result *e = &r.combos[k];
		struct ref_metrics m;
		size_t start = ref_lines((int)p->strategy, c, n, e->fast, e->slow, p->signal_period,
		    a, b);

		ref_backtest(c, n, a, b, start, p->fee_bps / 1e4, p->periods_per_year, &m, NULL);
		if (e->total_trades != m.total_trades)
			fail_msg("%s (%d, %d): %ld trades, reference %ld",
			    zx_strategy_name(p->strategy), e->fast, e->slow, e->total_trades,
			    m.total_trades);
		assert_close(e->total_return_pct, m.total_return_pct, 1e-10, 1e-10);
		assert_close(e->max_drawdown_pct, m.max_drawdown_pct, 1e-10, 1e-10);
		assert_close(e->sharpe_ratio, m.sharpe_ratio, 1e-9, 1e-12);
		assert_close(e->sortino_ratio, m.sortino_ratio, 1e-9, 1e-12);
		assert_close(e->win_rate_pct, m.win_rate_pct, 0, 1e-12);
		assert_close(e->profit_factor, m.profit_factor, 1e-9, 1e-12);
		assert_close(e->exposure_pct, m.exposure_pct, 0, 1e-12);
	}
	zx_sweep_result_free(&r);
	free(a);
	free(b);
}

static void
test_spec_example_vs_reference(void **state)
{
	enum { N = 1860 };
	double c[N];
	struct zx_sweep_params p = params(ZX_STRATEGY_SMA, 10, 20, 20, 30, 5, 0);
	struct zx_sweep_result r;

	(void)state;
	ref_random_walk(c, N, 1860, 0.012);
	run_ok(c, N, &p, &r);
	assert_int_equal(r.n_combos, 8);
	assert_int_equal(r.bars, N);
	const int want[][2] = { { 10, 20 }, { 10, 25 }, { 10, 30 }, { 15, 20 }, { 15, 25 },
		{ 15, 30 }, { 20, 25 }, { 20, 30 } };

	for (int k = 0; k < 8; k++) {
		assert_int_equal(r.combos[k].fast, want[k][0]);
		assert_int_equal(r.combos[k].slow, want[k][1]);
	}
	zx_sweep_result_free(&r);
	check_against_reference(c, N, &p);
	p.fee_bps = 10;
	check_against_reference(c, N, &p);
}

static void
test_strategies_vs_reference(void **state)
{
	enum { N = 7000 };	/* several chunks */
	double *c = malloc(N * sizeof(double));
	struct zx_sweep_params p;

	(void)state;
	ref_random_walk(c, N, 99, 0.01);
	p = params(ZX_STRATEGY_SMA, 2, 40, 5, 120, 9, 5);
	check_against_reference(c, N, &p);
	p = params(ZX_STRATEGY_EMA, 2, 40, 5, 120, 9, 5);
	check_against_reference(c, N, &p);
	p = params(ZX_STRATEGY_MACD, 4, 16, 20, 40, 6, 5);
	check_against_reference(c, N, &p);
	p.signal_period = 3;
	p.fee_bps = 0;
	check_against_reference(c, N, &p);
	p = params(ZX_STRATEGY_SMA, 1, 1, 2, 2, 1, 0);	/* price vs SMA(2): many trades */
	check_against_reference(c, N, &p);
	free(c);
}

/* Results (and ranking) are the same bits for any thread count. */
static void
test_threads_bit_identical(void **state)
{
	enum { N = 10000 };
	double *c = malloc(N * sizeof(double));
	const enum zx_strategy strategies[] = { ZX_STRATEGY_SMA, ZX_STRATEGY_EMA, ZX_STRATEGY_MACD };
	const int threads[] = { 2, 3, 7 };

	(void)state;
	ref_random_walk(c, N, 5, 0.01);
	for (int s = 0; s < 3; s++) {
		struct zx_sweep_params p = params(strategies[s], 3, 30, 10, 90, 4, 7.5);
		struct zx_sweep_result one, many;

		p.min_trades = 20;
		p.threads = 1;
		run_ok(c, N, &p, &one);
		assert_true(one.n_combos > 100);
		for (int t = 0; t < 3; t++) {
			p.threads = threads[t];
			run_ok(c, N, &p, &many);
			assert_int_equal(many.n_combos, one.n_combos);
			assert_int_equal(many.n_ranked, one.n_ranked);
			assert_memory_equal(many.combos, one.combos,
			    one.n_combos * sizeof(*one.combos));
			assert_memory_equal(many.ranking, one.ranking,
			    one.n_ranked * sizeof(*one.ranking));
			zx_sweep_result_free(&many);
		}
		zx_sweep_result_free(&one);
	}
	free(c);
}

/* Grids bigger than one batch, and grids with fewer rows than batches, split differently
 * across threads: still the same bits, and still right. */
static void
test_batches(void **state)
{
	enum { N = 3000 };
	double *c = malloc(N * sizeof(double));
	struct zx_sweep_params grids[2];
	const int threads[] = { 2, 3, 5 };

	(void)state;
	ref_random_walk(c, N, 17, 0.01);
	grids[0] = params(ZX_STRATEGY_SMA, 1, 3, 4, 900, 1, 5);	/* 3 rows, 2691 combos */
	grids[1] = params(ZX_STRATEGY_EMA, 2, 60, 3, 80, 2, 5);	/* 30 rows, > 512 combos */
	for (int gi = 0; gi < 2; gi++) {
		struct zx_sweep_params p = grids[gi];
		struct zx_sweep_result one, many;

		p.threads = 1;
		run_ok(c, N, &p, &one);
		assert_true(one.n_combos > 512);
		for (int t = 0; t < 3; t++) {
			p.threads = threads[t];
			run_ok(c, N, &p, &many);
			assert_memory_equal(many.combos, one.combos,
			    one.n_combos * sizeof(*one.combos));
			zx_sweep_result_free(&many);
		}
		zx_sweep_result_free(&one);
	}
	/* A sample of the first grid against the reference. */
	struct zx_sweep_params p = params(ZX_STRATEGY_SMA, 1, 3, 890, 900, 1, 5);

	check_against_reference(c, N, &p);
	free(c);
}

/* Steadily rising prices: the fast MA is above the slow one from the start, never crosses. */
static void
test_zero_trades(void **state)
{
	enum { N = 500 };
	double c[N];

	(void)state;
	for (int t = 0; t < N; t++)
		c[t] = 100.0 * pow(1.001, t) + (t % 3) * 0.001;
	for (int s = ZX_STRATEGY_SMA; s <= ZX_STRATEGY_EMA; s++) {
		struct zx_sweep_params p = params((enum zx_strategy)s, 2, 20, 5, 60, 3, 25);
		struct zx_sweep_result r;

		run_ok(c, N, &p, &r);
		for (size_t k = 0; k < r.n_combos; k++) {
			const struct zx_combo_result *x = &r.combos[k];

			assert_int_equal(x->total_trades, 0);
			assert_true(x->total_return_pct == 0 && x->max_drawdown_pct == 0);
			assert_true(x->sharpe_ratio == 0 && x->sortino_ratio == 0);
			assert_true(x->exposure_pct == 0 && x->win_rate_pct == 0 &&
			    x->profit_factor == 0);
		}
		zx_sweep_result_free(&r);
	}
}

/*
 * Flat prices after a fall: the SMAs become exactly equal — ties, never a cross, no fees paid
 * for rounding noise.  (EMAs only approach a flat price, in exact arithmetic too, and settle
 * a few ulps from it; they are not covered by this guarantee.)
 */
static void
test_flat_prices_no_trades(void **state)
{
	enum { N = 400 };
	double c[N];
	struct zx_sweep_params p = params(ZX_STRATEGY_SMA, 1, 40, 2, 120, 1, 10);
	struct zx_sweep_result r;

	(void)state;
	for (int t = 0; t < N; t++)
		c[t] = t < 150 ? 100.0 - t * 0.3 : 55.1;	/* falling, then flat at 55.1 */
	run_ok(c, N, &p, &r);
	for (size_t k = 0; k < r.n_combos; k++)
		if (r.combos[k].total_trades != 0)
			fail_msg("SMA (%d, %d): %ld trades on falling-then-flat prices",
			    r.combos[k].fast, r.combos[k].slow, r.combos[k].total_trades);
	zx_sweep_result_free(&r);
}

static void
test_equity_curve(void **state)
{
	enum { N = 3000 };
	double *c = malloc(N * sizeof(double)), *eq = malloc(N * sizeof(double));
	double *bh = malloc(N * sizeof(double)), *a = malloc(N * sizeof(double));
	double *b = malloc(N * sizeof(double)), *ref_eq = malloc(N * sizeof(double));
	size_t *idx = malloc(N * sizeof(size_t)), len;
	struct zx_sweep_params p = params(ZX_STRATEGY_EMA, 5, 5, 30, 30, 1, 12);
	struct zx_sweep_result r;
	struct ref_metrics m;
	char err[256];

	(void)state;
	ref_random_walk(c, N, 77, 0.01);
	run_ok(c, N, &p, &r);
	assert_int_equal(zx_equity_curve(c, N, &p, 5, 30, eq, bh, idx, N, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, N);
	ref_lines(ZX_STRATEGY_EMA, c, N, 5, 30, 9, a, b);
	ref_backtest(c, N, a, b, 29, 12e-4, 252, &m, ref_eq);
	for (size_t t = 0; t < N; t++) {
		assert_int_equal(idx[t], t);
		assert_close(eq[t], ref_eq[t], 1e-12, 0);
		assert_true(bh[t] == c[t] / c[0]);
	}
	assert_true(eq[0] == 1.0 && bh[0] == 1.0);
	assert_true(bh[N - 1] == c[N - 1] / c[0]);		/* buy and hold */
	assert_close((eq[N - 1] - 1) * 100, r.combos[0].total_return_pct, 1e-11, 1e-11);

	/* Downsampled: first and last bar kept, indices increasing. */
	assert_int_equal(zx_equity_curve(c, N, &p, 5, 30, eq, NULL, idx, 10, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, 10);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[9], N - 1);
	for (int k = 1; k < 10; k++) {
		assert_true(idx[k] > idx[k - 1]);
		assert_true(eq[k] == ref_eq[idx[k]] || fabs(eq[k] / ref_eq[idx[k]] - 1) < 1e-12);
	}
	/* Invalid requests. */
	assert_int_equal(zx_equity_curve(c, N, &p, 30, 5, eq, bh, idx, 10, &len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "fast < slow"));
	assert_int_equal(zx_equity_curve(c, N, &p, 5, 30, eq, bh, idx, 1, &len, err,
	    sizeof(err)), -1);
	assert_int_equal(zx_equity_curve(c, 20, &p, 5, 30, eq, bh, idx, 10, &len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bars"));
	zx_sweep_result_free(&r);
	free(c);
	free(eq);
	free(bh);
	free(a);
	free(b);
	free(ref_eq);
	free(idx);
}

static void
expect_run_error(const double *c, size_t n, const struct zx_sweep_params *p, const char *needle)
{
	struct zx_sweep_result r;
	char err[256] = "";

	memset(&r, 0x55, sizeof(r));
	if (zx_sweep_run(c, n, p, &r, err, sizeof(err)) != -1)
		fail_msg("accepted; wanted an error about '%s'", needle);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, needle);
	assert_null(r.combos);
	assert_null(r.ranking);
	zx_sweep_result_free(&r);	/* safe on the emptied result */
}

static void
test_invalid_input(void **state)
{
	double c[100];
	struct zx_sweep_params p = params(ZX_STRATEGY_SMA, 10, 20, 20, 30, 5, 0);

	(void)state;
	for (int t = 0; t < 100; t++)
		c[t] = 50 + t;
	c[40] = NAN;
	expect_run_error(c, 100, &p, "close[40]");
	c[40] = 0;
	expect_run_error(c, 100, &p, "positive");
	c[40] = -3;
	expect_run_error(c, 100, &p, "positive");
	c[40] = INFINITY;
	expect_run_error(c, 100, &p, "close[40]");
	c[40] = 1.01e200;
	expect_run_error(c, 100, &p, "above 1e+200");
	c[40] = 90;
	expect_run_error(NULL, 100, &p, "no prices");
	expect_run_error(c, 1, &p, "bars");
	expect_run_error(c, 25, &p, "needs at least 30 bars");
	p.fast_lo = 40;
	p.fast_hi = 50;
	expect_run_error(c, 100, &p, "no combination");
	assert_int_equal(zx_sweep_run(c, 100, &p, NULL, NULL, 0), -1);	/* no crash */
}

/*
 * SMA crosses compare exact means, which need exact prefix sums: a series whose closes span too
 * many orders of magnitude for that (1e15, then 0.1 for ever) is refused, naming the bar, where
 * it used to give a spurious trade; 100,000 closes of two decimals from 0.01 to 1,000,000 are
 * well within it.
 */
static void
test_inexact_span(void **state)
{
	enum { N = 100000 };
	static double c[N], hi[N], lo[N];
	struct zx_sweep_params p = params(ZX_STRATEGY_SMA, 2, 4, 5, 8, 1, 0);
	struct zx_sweep_result r;
	char err[256];

	(void)state;
	c[0] = 1e15;
	for (int t = 1; t < 100; t++)
		c[t] = 0.1;
	assert_true(zx_prefix_sum2(c, 100, hi, lo) < 100);
	expect_run_error(c, 100, &p, "too wide a range for exact moving averages");
	expect_run_error(c, 100, &p, "close[11] = 0.1");
	p.strategy = ZX_STRATEGY_EMA;	/* no prefix sums there */
	assert_int_equal(zx_sweep_run(c, 100, &p, &r, err, sizeof(err)), 0);
	zx_sweep_result_free(&r);

	for (int t = 0; t < N; t++)
		c[t] = (double)((t * 7919LL) % 100000000 + 1) / 100;
	assert_int_equal(zx_prefix_sum2(c, N, hi, lo), N);
	p.strategy = ZX_STRATEGY_SMA;
	assert_int_equal(zx_sweep_run(c, N, &p, &r, err, sizeof(err)), 0);
	zx_sweep_result_free(&r);
}

/* A set cancel flag stops every strategy at its first chunk; a clear one changes nothing. */
static void
test_cancel(void **state)
{
	enum zx_strategy strategies[] = {ZX_STRATEGY_SMA, ZX_STRATEGY_EMA, ZX_STRATEGY_MACD};
	size_t n = 5000;
	double *c = malloc(n * sizeof(double));
	atomic_int flag = 0;

	(void)state;
	for (size_t t = 0; t < n; t++)
		c[t] = 100 + 10 * sin((double)t / 37) + (double)(t % 11);
	for (size_t i = 0; i < 3; i++) {
		for (int threads = 1; threads <= 2; threads++) {
			struct zx_sweep_params p = params(strategies[i], 2, 30, 10, 90, 4, 5);
			struct zx_sweep_result plain, watched;

			p.threads = threads;
			run_ok(c, n, &p, &plain);
			p.cancel = &flag;
			atomic_store(&flag, 0);
			run_ok(c, n, &p, &watched);
			assert_int_equal(plain.n_combos, watched.n_combos);
			assert_memory_equal(plain.combos, watched.combos,
			    plain.n_combos * sizeof(*plain.combos));
			zx_sweep_result_free(&plain);
			zx_sweep_result_free(&watched);
			atomic_store(&flag, 1);
			expect_run_error(c, n, &p, "cancelled");
		}
	}
	free(c);
}

/* Every metric finite (JSON can print them), even with extreme fees and jumpy prices. */
static void
test_metrics_finite(void **state)
{
	enum { N = 2000 };
	double c[N];

	(void)state;
	ref_random_walk(c, N, 12, 0.2);
	for (int s = ZX_STRATEGY_SMA; s <= ZX_STRATEGY_MACD; s++) {
		struct zx_sweep_params p = params((enum zx_strategy)s, 1, 10, 2, 30, 1,
		    ZX_MAX_FEE_BPS);
		struct zx_sweep_result r;

		run_ok(c, N, &p, &r);
		for (size_t k = 0; k < r.n_combos; k++) {
			const struct zx_combo_result *x = &r.combos[k];

			assert_true(isfinite(x->total_return_pct) && isfinite(x->sharpe_ratio) &&
			    isfinite(x->max_drawdown_pct) && isfinite(x->sortino_ratio) &&
			    isfinite(x->win_rate_pct) && isfinite(x->profit_factor) &&
			    isfinite(x->exposure_pct) && isfinite(x->score));
			assert_true(x->profit_factor >= 0 && x->profit_factor <= ZX_PROFIT_FACTOR_CAP);
			assert_true(x->max_drawdown_pct >= 0);
		}
		zx_sweep_result_free(&r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example_vs_reference),
		cmocka_unit_test(test_strategies_vs_reference),
		cmocka_unit_test(test_threads_bit_identical),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_zero_trades),
		cmocka_unit_test(test_flat_prices_no_trades),
		cmocka_unit_test(test_equity_curve),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_inexact_span),
		cmocka_unit_test(test_metrics_finite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
