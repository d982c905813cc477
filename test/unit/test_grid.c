/*
 * test_grid.c — the (fast, slow) grid: the spec's example (8 combinations, in grid order),
 * edge cases, and parameter validation with clear messages.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "../../worker/engine/engine.h"

static struct zx_sweep_params
params(int flo, int fhi, int slo, int shi, int step)
{
	struct zx_sweep_params p;

	zx_sweep_params_init(&p);
	p.fast_lo = flo;
	p.fast_hi = fhi;
	p.slow_lo = slo;
	p.slow_hi = shi;
	p.step = step;
	return p;
}

/* Checks the grid of p is exactly want[] (pairs, grid order). */
static void
assert_grid(const struct zx_sweep_params *p, const int (*want)[2], size_t nwant)
{
	size_t nc = 0;
	char err[256];

	if (zx_sweep_params_check(p, 1000, &nc, err, sizeof(err)) < 0)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(nc, nwant);

	int *f = malloc(nc * sizeof(int)), *s = malloc(nc * sizeof(int));

	zx_grid_fill(p, f, s);
	for (size_t k = 0; k < nc; k++) {
		if (f[k] != want[k][0] || s[k] != want[k][1])
			fail_msg("combination %zu is (%d, %d), want (%d, %d)", k, f[k], s[k],
			    want[k][0], want[k][1]);
	}
	free(f);
	free(s);
}

static void
test_spec_example(void **state)
{
	struct zx_sweep_params p = params(10, 20, 20, 30, 5);
	const int want[][2] = {
		{ 10, 20 }, { 10, 25 }, { 10, 30 }, { 15, 20 }, { 15, 25 }, { 15, 30 },
		{ 20, 25 }, { 20, 30 }
	};

	(void)state;
	assert_grid(&p, want, 8);
}

static void
test_edges(void **state)
{
	(void)state;
	{	/* one combination */
		struct zx_sweep_params p = params(3, 3, 7, 7, 1);
		const int want[][2] = { { 3, 7 } };

		assert_grid(&p, want, 1);
	}
	{	/* overlapping ranges: only fast < slow */
		struct zx_sweep_params p = params(2, 6, 2, 6, 2);
		const int want[][2] = { { 2, 4 }, { 2, 6 }, { 4, 6 } };

		assert_grid(&p, want, 3);
	}
	{	/* step beyond the range: the start only; the end need not be on the step */
		struct zx_sweep_params p = params(10, 14, 20, 29, 5);
		const int want[][2] = { { 10, 20 }, { 10, 25 } };

		assert_grid(&p, want, 2);
	}
	{	/* fast above part of slow: rows get shorter */
		struct zx_sweep_params p = params(1, 4, 2, 4, 1);
		const int want[][2] = { { 1, 2 }, { 1, 3 }, { 1, 4 }, { 2, 3 }, { 2, 4 }, { 3, 4 } };

		assert_grid(&p, want, 6);
	}
	assert_int_equal(zx_range_count(10, 20, 5), 3);
	assert_int_equal(zx_range_count(10, 24, 5), 3);
	assert_int_equal(zx_range_count(10, 9, 5), 0);
	assert_int_equal(zx_range_count(1, 1000000, 1), 1000000);
}

/* Each invalid input: -1 and a message containing `needle`. */
static void
expect_error(const struct zx_sweep_params *p, size_t n, const char *needle)
{
	char err[256] = "";

	if (zx_sweep_params_check(p, n, NULL, err, sizeof(err)) != -1)
		fail_msg("accepted; wanted an error about '%s'", needle);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void
test_validation(void **state)
{
	struct zx_sweep_params p;

	(void)state;
	p = params(5, 5, 5, 5, 1);
	expect_error(&p, 100, "no combination");
	p = params(20, 30, 10, 20, 5);
	expect_error(&p, 100, "no combination");
	p = params(10, 20, 20, 30, 0);
	expect_error(&p, 100, "step");
	p = params(0, 20, 20, 30, 5);
	expect_error(&p, 100, "fast range start");
	p = params(20, 10, 20, 30, 5);
	expect_error(&p, 100, "empty");
	p = params(10, 20, 30, 20, 5);
	expect_error(&p, 100, "slow range");
	p = params(10, 20, 20, ZX_MAX_PERIOD + 1, 5);
	expect_error(&p, 100, "out of range");
	p = params(10, 20, 20, 30, 5);
	expect_error(&p, 29, "needs at least 30 bars");
	expect_error(&p, 1, "at least");
	p.strategy = ZX_STRATEGY_MACD;
	p.signal_period = 9;
	expect_error(&p, 37, "signal period 9 needs at least 38 bars");
	p.signal_period = 0;
	expect_error(&p, 1000, "signal period");
	p = params(10, 20, 20, 30, 5);
	p.fee_bps = -1;
	expect_error(&p, 100, "fee_bps");
	p.fee_bps = NAN;
	expect_error(&p, 100, "fee_bps");
	p.fee_bps = ZX_MAX_FEE_BPS + 1;
	expect_error(&p, 100, "fee_bps");
	p = params(10, 20, 20, 30, 5);
	p.periods_per_year = 0;
	expect_error(&p, 100, "periods_per_year");
	p.periods_per_year = INFINITY;
	expect_error(&p, 100, "periods_per_year");
	p = params(10, 20, 20, 30, 5);
	p.min_trades = -1;
	expect_error(&p, 100, "min_trades");
	p = params(10, 20, 20, 30, 5);
	p.threads = ZX_MAX_THREADS + 1;
	expect_error(&p, 100, "threads");
	p = params(10, 20, 20, 30, 5);
	p.objective = (enum zx_objective)42;
	expect_error(&p, 100, "objective");
	p = params(10, 20, 20, 30, 5);
	p.strategy = (enum zx_strategy)7;
	expect_error(&p, 100, "strategy");
	p = params(1, 2000, 1, 2000, 1);
	expect_error(&p, 100000, "more than");	/* ~2 million combinations */
	/* The boundary itself is fine. */
	p = params(10, 20, 20, 30, 5);
	assert_int_equal(zx_sweep_params_check(&p, 30, NULL, NULL, 0), 0);
}

static void
test_names(void **state)
{
	enum zx_strategy s;
	enum zx_objective o;

	(void)state;
	assert_int_equal(zx_strategy_parse("MACD", &s), 0);
	assert_int_equal(s, ZX_STRATEGY_MACD);
	assert_int_equal(zx_strategy_parse("ema", &s), 0);
	assert_int_equal(s, ZX_STRATEGY_EMA);
	assert_int_equal(zx_strategy_parse("WMA", &s), -1);
	assert_string_equal(zx_strategy_name(ZX_STRATEGY_SMA), "SMA");
	assert_int_equal(zx_objective_parse("max_drawdown_pct", &o), 0);
	assert_int_equal(o, ZX_OBJ_MAX_DRAWDOWN);
	assert_int_equal(zx_objective_parse("sharpe", &o), -1);
	for (int i = ZX_OBJ_SHARPE; i <= ZX_OBJ_WIN_RATE; i++) {
		assert_int_equal(zx_objective_parse(zx_objective_name((enum zx_objective)i), &o), 0);
		assert_int_equal(o, i);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
