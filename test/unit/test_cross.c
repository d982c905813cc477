/*
 * test_cross.c — cross detection: DESIGN.md's rules with ties (a[t-1] == b[t-1]), the first
 * bar where both lines are defined, word boundaries, long-only trades from the events, and
 * the SIMD comparison kernel against the plain C one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "../../worker/engine/engine.h"

static int
bit(const uint64_t *w, size_t t)
{
	return (int)((w[t / 64] >> (t % 64)) & 1);
}

static void
events(const double *a, const double *b, size_t n, size_t start, uint64_t *up, uint64_t *down)
{
	zx_cross_events(zx_cmp_kernel_select(), a, b, n, start, up, down);
}

/*
 *  t:  0 1 2 3 4 5 6 7 8 9 10 11
 *  a:  1 1 2 2 2 1 1 2 3 2 2  1
 *  b:  1 1 1 2 3 3 1 1 1 2 3  1
 * up at 2 and 7 (a[t-1] == b[t-1], then a > b); down at 4 and 10 (tie, then a < b); the ties
 * at 3, 6, 9, 11 are no events.
 */
static void
test_ties(void **state)
{
	const double a[] = { 1, 1, 2, 2, 2, 1, 1, 2, 3, 2, 2, 1 };
	const double b[] = { 1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 1 };
	uint64_t up[1], down[1];
	struct zx_trade tr[8];

	(void)state;
	events(a, b, 12, 0, up, down);
	assert_int_equal(up[0], (1u << 2) | (1u << 7));
	assert_int_equal(down[0], (1u << 4) | (1u << 10));
	assert_int_equal(zx_trades_from_events(up, down, 12, 0, tr), 2);
	assert_int_equal(tr[0].entry, 2);
	assert_int_equal(tr[0].exit, 4);
	assert_int_equal(tr[1].entry, 7);
	assert_int_equal(tr[1].exit, 10);
}

/* An up-cross after a tie while already long is an event but not a new trade. */
static void
test_up_while_long(void **state)
{
	const double a[] = { 1, 2, 1, 2, 0, 2 };
	const double b[] = { 1, 1, 1, 1, 1, 1 };
	uint64_t up[1], down[1];
	struct zx_trade tr[4];

	(void)state;
	events(a, b, 6, 0, up, down);
	assert_int_equal(up[0], (1u << 1) | (1u << 3) | (1u << 5));
	assert_int_equal(down[0], 1u << 4);
	assert_int_equal(zx_trades_from_events(up, down, 6, 0, tr), 2);
	assert_int_equal(tr[0].entry, 1);
	assert_int_equal(tr[0].exit, 4);
	assert_int_equal(tr[1].entry, 5);
	assert_int_equal(tr[1].exit, 6);	/* still open: exit == n */
}

/* A cross needs both lines defined at t-1 and t: nothing at t = start. */
static void
test_start_bar(void **state)
{
	const double a[] = { NAN, NAN, 0, 2, 2, 0 };
	const double b[] = { NAN, NAN, 1, 1, 1, 1 };
	const double a2[] = { NAN, NAN, 2, 2, 0, 2 };
	uint64_t up[1], down[1];

	(void)state;
	events(a, b, 6, 2, up, down);
	assert_int_equal(up[0], 1u << 3);
	assert_int_equal(down[0], 1u << 5);
	events(a2, b, 6, 2, up, down);	/* a > b already at start: no up-cross there */
	assert_int_equal(up[0], 1u << 5);
	assert_int_equal(down[0], 1u << 4);
}

/* Crosses right at and around word boundaries, starts in every position of a word. */
static void
test_word_boundaries(void **state)
{
	enum { N = 300 };
	double a[N], b[N];
	uint64_t up[5], down[5];
	const size_t ups[] = { 63, 65, 128, 191, 255, 298 };

	(void)state;
	for (size_t t = 0; t < N; t++) {
		b[t] = 0;
		a[t] = -1;
	}
	/* a goes above b for one bar at each of ups (down-cross the bar after). */
	for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++)
		a[ups[i]] = 1;
	for (size_t start = 0; start < 140; start++) {
		events(a, b, N, start, up, down);
		for (size_t t = 0; t < N; t++) {
			int want_up = 0, want_down = 0;

			for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
				want_up |= t == ups[i];
				want_down |= t == ups[i] + 1;
			}
			if (t <= start)
				want_up = want_down = 0;
			if (bit(up, t) != want_up || bit(down, t) != want_down)
				fail_msg("start %zu bar %zu: up %d down %d, want %d %d", start, t,
				    bit(up, t), bit(down, t), want_up, want_down);
		}
	}
}

/* The run-time kernel and the plain C one give the same words, chunk by chunk too. */
static void
test_kernels_agree(void **state)
{
	enum { N = 5000 };
	double *a = malloc(N * sizeof(double)), *b = malloc(N * sizeof(double));
	uint64_t g1[79], l1[79], g2[79], l2[79];

	(void)state;
	ref_random_walk(a, N, 5, 0.01);
	ref_random_walk(b, N, 6, 0.01);
	for (size_t t = 0; t < N; t += 7)
		b[t] = a[t];	/* plenty of ties */
	for (size_t start = 0; start < N; start += 333) {
		zx_cmp_words(zx_cmp_kernel_select(), a, b, 0, N, start, g1, l1);
		zx_cmp_words(zx_cmp_kernel_portable(), a, b, 0, N, start, g2, l2);
		assert_memory_equal(g1, g2, sizeof(g1));
		assert_memory_equal(l1, l2, sizeof(l1));
		for (size_t t = 0; t < N; t++) {
			int g = t >= start && a[t] > b[t], l = t >= start && a[t] < b[t];

			if (bit(g1, t) != g || bit(l1, t) != l)
				fail_msg("start %zu bar %zu", start, t);
		}
		/* A chunk starting at bar 1024 sees the same bits. */
		zx_cmp_words(zx_cmp_kernel_select(), a + 1024, b + 1024, 1024, 2000, start, g2, l2);
		for (size_t w = 0; w < 2000 / 64; w++)
			assert_int_equal(g2[w], g1[16 + w]);
	}
	free(a);
	free(b);
}

/* Events against a direct transcription of the rules on random lines with ties. */
static void
test_events_match_rules(void **state)
{
	enum { N = 2000 };
	double a[N], b[N];
	uint64_t up[32], down[32];

	(void)state;
	ref_random_walk(a, N, 8, 0.002);
	for (size_t t = 0; t < N; t++) {
		b[t] = round(a[t]);	/* a crosses the integers, touching them now and then */
		if (t % 5 == 0)
			a[t] = b[t];
	}
	events(a, b, N, 17, up, down);
	for (size_t t = 0; t < N; t++) {
		int u = t >= 18 && a[t - 1] <= b[t - 1] && a[t] > b[t];
		int d = t >= 18 && a[t - 1] >= b[t - 1] && a[t] < b[t];

		if (bit(up, t) != u || bit(down, t) != d)
			fail_msg("bar %zu: up %d down %d, want %d %d", t, bit(up, t),
			    bit(down, t), u, d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_up_while_long),
		cmocka_unit_test(test_start_bar),
		cmocka_unit_test(test_word_boundaries),
		cmocka_unit_test(test_kernels_agree),
		cmocka_unit_test(test_events_match_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
