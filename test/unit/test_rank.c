/*
 * test_rank.c — score and ranking: objectives, min_trades (reported but unranked), ties broken
 * by grid order, max_drawdown_pct ranked ascending, and the ranking zx_sweep_run returns.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "../../worker/engine/engine.h"

static void
set(struct zx_combo_result *c, double sharpe, double mdd, long trades)
{
	memset(c, 0, sizeof(*c));
	c->sharpe_ratio = sharpe;
	c->max_drawdown_pct = mdd;
	c->total_trades = trades;
	c->total_return_pct = sharpe * 10;
}

static void
test_min_trades_and_ties(void **state)
{
	struct zx_combo_result c[6];
	size_t order[6];

	(void)state;
	set(&c[0], 1.0, 30, 5);
	set(&c[1], 2.0, 10, 1);		/* best Sharpe but too few trades */
	set(&c[2], 1.5, 20, 5);
	set(&c[3], 1.0, 25, 5);		/* ties with 0: after it (grid order) */
	set(&c[4], -0.5, 5, 9);
	set(&c[5], 1.5, 20, 2);		/* exactly min_trades: ranked */
	assert_int_equal(zx_rank(c, 6, ZX_OBJ_SHARPE, 2, order), 5);
	const size_t want[] = { 2, 5, 0, 3, 4 };

	for (int k = 0; k < 5; k++) {
		assert_int_equal(order[k], want[k]);
		assert_int_equal(c[want[k]].rank, k + 1);
	}
	assert_int_equal(c[1].rank, 0);
	assert_true(c[1].score == 2.0);		/* scored, just not ranked */
	assert_true(c[4].score == -0.5);

	/* Drawdown: lower is better. */
	assert_int_equal(zx_rank(c, 6, ZX_OBJ_MAX_DRAWDOWN, 0, order), 6);
	const size_t want_dd[] = { 4, 1, 2, 5, 3, 0 };

	for (int k = 0; k < 6; k++)
		assert_int_equal(order[k], want_dd[k]);
	assert_true(c[0].score == 30);

	/* Total return as the objective. */
	assert_int_equal(zx_rank(c, 6, ZX_OBJ_TOTAL_RETURN, 6, order), 1);
	assert_int_equal(order[0], 4);
	assert_true(c[0].score == 10);
}

/* End to end: rank fields, ranking order and min_trades as zx_sweep_run reports them. */
static void
test_sweep_ranking(void **state)
{
	enum { N = 4000 };
	double *c = malloc(N * sizeof(double));
	struct zx_sweep_params p;
	struct zx_sweep_result r;
	char err[256];

	(void)state;
	ref_random_walk(c, N, 44, 0.01);
	zx_sweep_params_init(&p);
	p.fast_lo = 2;
	p.fast_hi = 30;
	p.slow_lo = 10;
	p.slow_hi = 300;
	p.step = 7;
	p.min_trades = 40;
	for (int o = ZX_OBJ_SHARPE; o <= ZX_OBJ_WIN_RATE; o++) {
		p.objective = (enum zx_objective)o;
		assert_int_equal(zx_sweep_run(c, N, &p, &r, err, sizeof(err)), 0);
		size_t unranked = 0;

		for (size_t k = 0; k < r.n_combos; k++) {
			const struct zx_combo_result *x = &r.combos[k];

			assert_true(x->score == zx_objective_value(x, p.objective));
			if (x->total_trades < 40) {
				assert_int_equal(x->rank, 0);
				unranked++;
			} else {
				assert_true(x->rank >= 1 && (size_t)x->rank <= r.n_ranked);
				assert_int_equal(r.ranking[x->rank - 1], k);
			}
		}
		assert_true(unranked > 0 && r.n_ranked > 0);	/* the test covers both */
		assert_int_equal(unranked + r.n_ranked, r.n_combos);
		for (size_t i = 1; i < r.n_ranked; i++) {
			const struct zx_combo_result *a = &r.combos[r.ranking[i - 1]];
			const struct zx_combo_result *b = &r.combos[r.ranking[i]];
			int better = o == ZX_OBJ_MAX_DRAWDOWN ? a->score < b->score : a->score > b->score;

			assert_true(better || (a->score == b->score && r.ranking[i - 1] < r.ranking[i]));
		}
		zx_sweep_result_free(&r);
	}
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_min_trades_and_ties),
		cmocka_unit_test(test_sweep_ranking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
