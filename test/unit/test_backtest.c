/*
 * test_backtest.c — one combination's books: fees, drawdown, trade counting (a position open
 * at the end, an entry on the last bar), the extra metrics, the per-trade fast path against
 * the per-bar reference, the literal equity recurrence, and SIMD vs plain C scan kernels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "../../worker/engine/engine.h"

/* The engine's backtest of lines a, b over the whole series, fed in chunks of `words`. */
static void
bt_lines(zx_cmp_kernel ck, zx_scan_kernel sk, const double *c, size_t n, const double *a,
    const double *b, size_t start, double fee, size_t words, struct zx_combo_result *out)
{
	uint64_t gt[ZX_CHUNK_WORDS], lt[ZX_CHUNK_WORDS];
	struct zx_chunk *chunk = malloc(sizeof(*chunk));
	struct zx_bt_ctx x = { c, n, fee, sk, chunk };
	struct zx_bt bt;
	size_t nw = zx_words(n);

	assert_true(words >= 1 && words <= ZX_CHUNK_WORDS);
	memset(out, 0, sizeof(*out));
	zx_bt_init(&bt);
	for (size_t w0 = 0; w0 < nw; w0 += words) {
		size_t w1 = w0 + words < nw ? w0 + words : nw;
		size_t bar0 = 64 * w0, bar1 = 64 * w1 < n ? 64 * w1 : n;

		zx_chunk_prepare(chunk, c, bar0, bar1);
		zx_cmp_words(ck, a + bar0, b + bar0, bar0, bar1 - bar0, start, gt, lt);
		zx_bt_words(&x, &bt, w0, w1, gt, lt, start);
		zx_bt_chunk_end(&x, &bt, bar1 - 1);
	}
	zx_bt_finish(&x, &bt, 252, out);
	free(chunk);
}

static void
engine(const double *c, size_t n, const double *a, const double *b, size_t start, double fee,
    struct zx_combo_result *out)
{
	bt_lines(zx_cmp_kernel_select(), zx_scan_kernel_select(), c, n, a, b, start, fee, 32, out);
}

static void
assert_matches_ref(const struct zx_combo_result *e, const struct ref_metrics *m)
{
	assert_int_equal(e->total_trades, m->total_trades);
	assert_close(e->total_return_pct, m->total_return_pct, 1e-11, 1e-11);
	assert_close(e->max_drawdown_pct, m->max_drawdown_pct, 1e-11, 1e-11);
	assert_close(e->sharpe_ratio, m->sharpe_ratio, 1e-10, 1e-12);
	assert_close(e->sortino_ratio, m->sortino_ratio, 1e-10, 1e-12);
	assert_close(e->win_rate_pct, m->win_rate_pct, 0, 1e-12);
	assert_close(e->profit_factor, m->profit_factor, 1e-9, 1e-12);
	assert_close(e->exposure_pct, m->exposure_pct, 0, 1e-12);
}

/*
 * Up-cross at 1, down-cross at 3, fee 10 bps:
 *   s[2] = r[2] - fee = 0.1 - 0.001, s[3] = r[3] = 0.1, s[4] = -fee (exit), s[5] = 0.
 */
static void
test_fees(void **state)
{
	const double c[] = { 100, 100, 110, 121, 121, 121 };
	const double a[] = { 0, 1, 1, 0, 0, 0 };
	const double b[] = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 };
	struct zx_combo_result e;
	double E = 1.0 * (1 + (0.1 - 0.001)) * (1 + (121.0 / 110 - 1)) * (1 - 0.001);

	(void)state;
	engine(c, 6, a, b, 0, 0.001, &e);
	assert_int_equal(e.total_trades, 1);
	assert_close(e.total_return_pct, (E - 1) * 100, 1e-13, 0);
	assert_close(e.win_rate_pct, 100, 0, 0);
	assert_close(e.profit_factor, ZX_PROFIT_FACTOR_CAP, 0, 0);	/* no losing trade */
	assert_close(e.exposure_pct, 40, 0, 1e-13);			/* 2 of 5 bars */
	/* The exit fee is a drawdown from the peak at bar 3. */
	assert_close(e.max_drawdown_pct, 0.1, 1e-12, 0);

	/* Without fees: exactly the price move. */
	engine(c, 6, a, b, 0, 0.0, &e);
	assert_close(e.total_return_pct, 21, 1e-13, 0);
	assert_close(e.max_drawdown_pct, 0, 0, 0);
}

/* Always long from bar 1: E = c[t]/c[1]; worst drawdown 1.3 -> 0.65 is 50 %. */
static void
test_drawdown(void **state)
{
	const double c[] = { 100, 100, 120, 90, 108, 130, 65 };
	const double a[] = { 0, 1, 1, 1, 1, 1, 1 };
	const double b[] = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 };
	struct zx_combo_result e;
	struct ref_metrics m;

	(void)state;
	engine(c, 7, a, b, 0, 0.0, &e);
	assert_close(e.max_drawdown_pct, 50, 1e-13, 0);
	assert_close(e.total_return_pct, -35, 1e-13, 0);
	assert_int_equal(e.total_trades, 1);		/* open at the end, still counted */
	assert_close(e.win_rate_pct, 0, 0, 0);
	assert_close(e.profit_factor, 0, 0, 0);	/* no winner */
	ref_backtest(c, 7, a, b, 0, 0.0, 252, &m, NULL);
	assert_matches_ref(&e, &m);
}

/* The peak of an earlier trade carries over: trade 2 never regains it. */
static void
test_drawdown_across_trades(void **state)
{
	const double c[] = { 100, 100, 150, 150, 80, 100, 90, 95, 60, 70 };
	const double a[] = { 0, 1, 1, 0, 0, 1, 1, 1, 0, 0 };
	const double b[] = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 };
	struct zx_combo_result e;
	struct ref_metrics m;

	(void)state;
	/* E: 1.5 after trade 1; trade 2 bought at 100: E = 1.5 * 90/100 at bar 6, 1.5 * 95/100
	 * at 7 and 1.5 * 60/100 = 0.9 at 8 (the down-cross bar still earns pos[7]'s return):
	 * drawdown 1 - 0.9/1.5 = 40 %, measured from trade 1's peak. */
	engine(c, 10, a, b, 0, 0.0, &e);
	assert_close(e.max_drawdown_pct, 40, 1e-12, 0);
	assert_int_equal(e.total_trades, 2);
	ref_backtest(c, 10, a, b, 0, 0.0, 252, &m, NULL);
	assert_matches_ref(&e, &m);
	engine(c, 10, a, b, 0, 0.0025, &e);
	ref_backtest(c, 10, a, b, 0, 0.0025, 252, &m, NULL);
	assert_matches_ref(&e, &m);
}

/* Entry on the last bar: a trade with nothing in the market (return 0, not a win). */
static void
test_entry_on_last_bar(void **state)
{
	const double c[] = { 100, 101, 99, 102, 103 };
	const double a[] = { 0, 1, 0, 0, 1 };
	const double b[] = { 0.5, 0.5, 0.5, 0.5, 0.5 };
	struct zx_combo_result e;
	struct ref_metrics m;

	(void)state;
	engine(c, 5, a, b, 0, 0.001, &e);
	assert_int_equal(e.total_trades, 2);
	assert_close(e.exposure_pct, 25, 0, 1e-13);	/* bar 2 only */
	assert_close(e.win_rate_pct, 0, 0, 0);		/* trade 1 lost, trade 2 is flat */
	ref_backtest(c, 5, a, b, 0, 0.001, 252, &m, NULL);
	assert_matches_ref(&e, &m);
}

/* No cross: no trade, E = 1 throughout, every metric 0. */
static void
test_no_trades(void **state)
{
	const double c[] = { 100, 90, 80, 120, 60, 200 };
	const double a[] = { 1, 1, 1, 1, 1, 1 };
	const double b[] = { 0, 0, 0, 0, 0, 0 };
	struct zx_combo_result e;

	(void)state;
	engine(c, 6, a, b, 0, 0.01, &e);
	assert_int_equal(e.total_trades, 0);
	assert_true(e.total_return_pct == 0 && e.max_drawdown_pct == 0 && e.sharpe_ratio == 0 &&
	    e.sortino_ratio == 0 && e.win_rate_pct == 0 && e.profit_factor == 0 &&
	    e.exposure_pct == 0);
}

/* A one-bar loss beyond 1 - fee takes the equity below zero: the metrics stay finite and
 * follow the per-bar definition. */
static void
test_equity_wiped_out(void **state)
{
	const double c[] = { 100, 100, 5, 6, 3, 10, 10, 12 };
	const double a[] = { 0, 1, 1, 1, 1, 0, 1, 1 };
	const double b[] = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 };
	struct zx_combo_result e;
	struct ref_metrics m;

	(void)state;
	engine(c, 8, a, b, 0, 0.1, &e);
	ref_backtest(c, 8, a, b, 0, 0.1, 252, &m, NULL);
	assert_matches_ref(&e, &m);
	assert_true(e.max_drawdown_pct > 100);
}

/* Fast path against the per-bar reference on random walks, SMA lines, with and without fees. */
static void
test_matches_reference(void **state)
{
	enum { N = 6000 };
	double *c = malloc(N * sizeof(double)), *a = malloc(N * sizeof(double));
	double *b = malloc(N * sizeof(double));
	const int pairs[][2] = { { 2, 3 }, { 3, 10 }, { 5, 40 }, { 20, 200 }, { 1, 2 } };
	const double fees[] = { 0, 0.0005, 0.003 };

	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		ref_random_walk(c, N, seed, 0.012);
		for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
			ref_sma(c, N, pairs[i][0], a);
			ref_sma(c, N, pairs[i][1], b);
			for (size_t f = 0; f < 3; f++) {
				struct zx_combo_result e;
				struct ref_metrics m;

				engine(c, N, a, b, (size_t)pairs[i][1] - 1, fees[f], &e);
				ref_backtest(c, N, a, b, (size_t)pairs[i][1] - 1, fees[f], 252, &m,
				    NULL);
				assert_matches_ref(&e, &m);
			}
		}
	}
	free(c);
	free(a);
	free(b);
}

/* The literal equity recurrence against the reference's, bar by bar. */
static void
test_equity_bars(void **state)
{
	enum { N = 3000 };
	double *c = malloc(N * sizeof(double)), *a = malloc(N * sizeof(double));
	double *b = malloc(N * sizeof(double)), *e1 = malloc(N * sizeof(double));
	double *e2 = malloc(N * sizeof(double));
	uint64_t *up = malloc(2 * zx_words(N) * sizeof(uint64_t)), *down = up + zx_words(N);
	struct zx_trade *tr = malloc((N / 2 + 2) * sizeof(*tr));
	struct ref_metrics m;

	(void)state;
	ref_random_walk(c, N, 21, 0.01);
	ref_sma(c, N, 4, a);
	ref_sma(c, N, 16, b);
	zx_cross_events(zx_cmp_kernel_select(), a, b, N, 15, up, down);
	size_t nt = zx_trades_from_events(up, down, N, 15, tr);

	zx_equity_bars(c, N, tr, nt, 0.002, e1);
	ref_backtest(c, N, a, b, 15, 0.002, 252, &m, e2);
	assert_int_equal((long)nt, m.total_trades);
	for (size_t t = 0; t < N; t++)
		assert_true(e1[t] == e2[t]);	/* same recurrence, same bits */
	free(c);
	free(a);
	free(b);
	free(e1);
	free(e2);
	free(up);
	free(tr);
}

/* SIMD and plain C kernels, and any chunk size, give the same metrics. */
static void
test_kernels_and_chunks_agree(void **state)
{
	enum { N = 9000 };
	double *c = malloc(N * sizeof(double)), *a = malloc(N * sizeof(double));
	double *b = malloc(N * sizeof(double));
	struct zx_combo_result x, y;

	(void)state;
	ref_random_walk(c, N, 33, 0.01);
	ref_sma(c, N, 5, a);
	ref_sma(c, N, 30, b);
	bt_lines(zx_cmp_kernel_select(), zx_scan_kernel_select(), c, N, a, b, 29, 0.001, 32, &x);
	bt_lines(zx_cmp_kernel_portable(), zx_scan_kernel_portable(), c, N, a, b, 29, 0.001, 32,
	    &y);
	assert_memory_equal(&x, &y, sizeof(x));
	/* Another chunk size changes only the order of summation. */
	bt_lines(zx_cmp_kernel_select(), zx_scan_kernel_select(), c, N, a, b, 29, 0.001, 3, &y);
	assert_int_equal(x.total_trades, y.total_trades);
	assert_true(x.total_return_pct == y.total_return_pct);
	assert_true(x.max_drawdown_pct == y.max_drawdown_pct);
	assert_close(y.sharpe_ratio, x.sharpe_ratio, 1e-13, 0);
	free(c);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fees),
		cmocka_unit_test(test_drawdown),
		cmocka_unit_test(test_drawdown_across_trades),
		cmocka_unit_test(test_entry_on_last_bar),
		cmocka_unit_test(test_no_trades),
		cmocka_unit_test(test_equity_wiped_out),
		cmocka_unit_test(test_matches_reference),
		cmocka_unit_test(test_equity_bars),
		cmocka_unit_test(test_kernels_and_chunks_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
