/*
 * test_indicators.c — SMA, EMA and MACD values: hand-computed series, TA-Lib's conventions
 * (EMA seeded with the SMA at t = n-1), exactness on flat data, and MACD seeding as DESIGN.md
 * defines it (each EMA seeded on its own; signal seeded with the mean of the first g values).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "../../worker/engine/engine.h"

static void
test_sma_hand(void **state)
{
	const double c[] = { 1, 2, 3, 4, 5, 6 };
	double out[6];

	(void)state;
	assert_int_equal(zx_sma(c, 6, 3, out), 0);
	assert_true(isnan(out[0]) && isnan(out[1]));
	assert_true(out[2] == 2.0 && out[3] == 3.0 && out[4] == 4.0 && out[5] == 5.0);
	assert_int_equal(zx_sma(c, 6, 6, out), 0);
	assert_true(out[5] == 3.5 && isnan(out[4]));
	assert_int_equal(zx_sma(c, 6, 1, out), 0);
	for (int t = 0; t < 6; t++)
		assert_true(out[t] == c[t]);
}

/* A flat stretch must give the price itself for every period: no invented crosses. */
static void
test_sma_flat_is_exact(void **state)
{
	const double prices[] = { 0.1, 100.13, 2718.28, 0.07 };
	double c[300], out[300];

	(void)state;
	for (size_t k = 0; k < sizeof(prices) / sizeof(prices[0]); k++) {
		for (int t = 0; t < 300; t++)
			c[t] = t < 40 ? 50.0 + t : prices[k];	/* a ramp, then flat */
		for (int p = 1; p <= 60; p++) {
			assert_int_equal(zx_sma(c, 300, p, out), 0);
			for (int t = 40 + p - 1; t < 300; t++) {
				if (out[t] != prices[k])
					fail_msg("SMA(%d)[%d] = %.17g, want %.17g", p, t, out[t],
					    prices[k]);
			}
		}
	}
}

/*
 * Windows holding the same values give bit-identical SMAs, in any order and at any place in
 * the series: (0.1 + 0.2) + 0.3 and (0.3 + 0.2) + 0.1 differ in naive double arithmetic.
 */
static void
test_sma_equal_windows(void **state)
{
	const double c[] = { 0.1, 0.2, 0.3, 0.7, 0.3, 0.2, 0.1, 1.1, 3.3, 2.2, 2.2 };
	double s2[11], s3[11], s4[11];

	(void)state;
	zx_sma(c, 11, 2, s2);
	zx_sma(c, 11, 3, s3);
	zx_sma(c, 11, 4, s4);
	assert_true(s3[2] == s3[6]);	/* {0.1, 0.2, 0.3} and {0.3, 0.2, 0.1} */
	assert_true(s3[2] == 0.2);	/* the correctly rounded mean */
	assert_true(s2[1] == s2[6]);	/* {0.1, 0.2} and {0.2, 0.1} */
	assert_true(s4[10] == s2[10]);	/* (1.1+3.3+2.2+2.2)/4 = (2.2+2.2)/2 */
}

static void
test_sma_matches_reference(void **state)
{
	enum { N = 5000 };
	double *c = malloc(N * sizeof(double)), *a = malloc(N * sizeof(double));
	double *b = malloc(N * sizeof(double));
	const int periods[] = { 2, 3, 7, 50, 200, 4999, 5000 };

	(void)state;
	ref_random_walk(c, N, 7, 0.02);
	for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		zx_sma(c, N, periods[i], a);
		ref_sma(c, N, periods[i], b);
		for (int t = 0; t < N; t++) {
			if (isnan(b[t])) {
				assert_true(isnan(a[t]));
				continue;
			}
			assert_close(a[t], b[t], 2.3e-16, 0);
		}
	}
	free(c);
	free(a);
	free(b);
}

/*
 * The EMA example of StockCharts' ChartSchool ("Moving Averages - Simple and Exponential"):
 * 10-day EMA seeded with the 10-day SMA on the 10th close, multiplier 2/11 — TA-Lib's
 * default.  Values computed by hand in exact rational arithmetic (they round to the article's
 * two-decimal column).
 */
static void
test_ema_published_example(void **state)
{
	const double c[] = {
		22.27, 22.19, 22.08, 22.17, 22.18, 22.13, 22.23, 22.43, 22.24, 22.29,
		22.15, 22.39, 22.38, 22.61, 23.36, 24.05, 23.75, 23.83, 23.95, 23.63,
		23.82, 23.87, 23.65, 23.19, 23.10, 23.33, 22.68, 23.10, 22.40, 22.17
	};
	const double want[] = {
		22.221, 22.20809090909091, 22.241165289256198, 22.26640796393689,
		22.328879243221092, 22.51635574445362, 22.795200154552962, 22.96880012645242,
		23.12538192164289, 23.275312481344184, 23.339801121099786, 23.42711000817255,
		23.507635461232088, 23.533519922826255, 23.471061755039663, 23.403595981396087,
		23.390214893869526, 23.261084913165977, 23.2317967471358, 23.08056097492929,
		22.915004434033055
	};
	const double two_dp[] = {
		22.22, 22.21, 22.24, 22.27, 22.33, 22.52, 22.80, 22.97, 23.13, 23.28, 23.34,
		23.43, 23.51, 23.53, 23.47, 23.40, 23.39, 23.26, 23.23, 23.08, 22.92
	};
	double e[30], s[30];

	(void)state;
	zx_ema(c, 30, 10, e);
	zx_sma(c, 30, 10, s);
	for (int t = 0; t < 9; t++)
		assert_true(isnan(e[t]));
	assert_true(e[9] == s[9]);		/* seeded with the SMA, bit for bit */
	for (int t = 9; t < 30; t++) {
		assert_close(e[t], want[t - 9], 1e-14, 0);
		assert_close(round(e[t] * 100) / 100, two_dp[t - 9], 0, 1e-9);
	}
}

static void
test_ema_period_one_and_reference(void **state)
{
	enum { N = 3000 };
	double *c = malloc(N * sizeof(double)), *a = malloc(N * sizeof(double));
	double *b = malloc(N * sizeof(double));

	(void)state;
	ref_random_walk(c, N, 11, 0.01);
	zx_ema(c, N, 1, a);
	for (int t = 0; t < N; t++)
		assert_true(a[t] == c[t]);
	for (int p = 2; p < 300; p += 37) {
		zx_ema(c, N, p, a);
		ref_ema(c, N, p, b);
		for (int t = p - 1; t < N; t++)
			assert_close(a[t], b[t], 1e-13, 0);
	}
	free(c);
	free(a);
	free(b);
}

/* MACD(12, 26, 9): line from t = 25, each EMA seeded on its own; signal from t = 33. */
static void
test_macd_seeding(void **state)
{
	enum { N = 400, F = 12, S = 26, G = 9 };
	double c[N], ef[N], es[N], line[N], sig[N], rl[N], rs[N];

	(void)state;
	ref_random_walk(c, N, 3, 0.015);
	zx_ema(c, N, F, ef);
	zx_ema(c, N, S, es);
	zx_macd(ef, es, N, S, G, line, sig);
	for (int t = 0; t < S - 1; t++)
		assert_true(isnan(line[t]));
	for (int t = S - 1; t < N; t++)
		assert_true(line[t] == ef[t] - es[t]);
	for (int t = 0; t < S + G - 2; t++)
		assert_true(isnan(sig[t]));

	/* Seed: the mean of the first G line values; then alpha = 2/(G+1). */
	long double sum = 0;

	for (int t = S - 1; t < S - 1 + G; t++)
		sum += line[t];
	assert_close(sig[S + G - 2], (double)(sum / G), 1e-15, 1e-15);
	assert_true(sig[S + G - 1] == sig[S + G - 2] + 0.2 * (line[S + G - 1] - sig[S + G - 2]));

	/* The fast EMA is seeded at t = F-1 (backtrader), not at S-1 as TA-Lib's TA_MACD does:
	 * seeding it at S-1 gives a different line at t = S-1. */
	long double fs = 0;

	for (int t = S - F; t < S; t++)
		fs += c[t];
	assert_true(fabs(line[S - 1] - ((double)(fs / F) - es[S - 1])) > 1e-9);

	ref_macd(c, N, F, S, G, rl, rs);
	for (int t = S + G - 2; t < N; t++) {
		assert_close(line[t], rl[t], 1e-12, 1e-12);
		assert_close(sig[t], rs[t], 1e-12, 1e-12);
	}
}

static void
test_lines_start(void **state)
{
	(void)state;
	assert_int_equal(zx_lines_start(ZX_STRATEGY_SMA, 30, 9), 29);
	assert_int_equal(zx_lines_start(ZX_STRATEGY_EMA, 30, 9), 29);
	assert_int_equal(zx_lines_start(ZX_STRATEGY_MACD, 26, 9), 33);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sma_hand),
		cmocka_unit_test(test_sma_flat_is_exact),
		cmocka_unit_test(test_sma_equal_windows),
		cmocka_unit_test(test_sma_matches_reference),
		cmocka_unit_test(test_ema_published_example),
		cmocka_unit_test(test_ema_period_one_and_reference),
		cmocka_unit_test(test_macd_seeding),
		cmocka_unit_test(test_lines_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
