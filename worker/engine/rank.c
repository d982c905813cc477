/*
 * rank.c — score = the chosen objective; ranking of the combinations with enough trades.
 * Best first (highest score; lowest for max_drawdown_pct), ties broken by grid order, so the
 * ranking is a pure function of the results.
 */
#include <stdlib.h>

#include "engine.h"

double
zx_objective_value(const struct zx_combo_result *c, enum zx_objective o)
{
	switch (o) {
	case ZX_OBJ_SORTINO:		return c->sortino_ratio;
	case ZX_OBJ_TOTAL_RETURN:	return c->total_return_pct;
	case ZX_OBJ_MAX_DRAWDOWN:	return c->max_drawdown_pct;
	case ZX_OBJ_PROFIT_FACTOR:	return c->profit_factor;
	case ZX_OBJ_WIN_RATE:		return c->win_rate_pct;
	case ZX_OBJ_SHARPE:
	default:			return c->sharpe_ratio;
	}
}

struct rank_key {
	double key;		/* higher is better */
	size_t index;
};

static int
cmp_key(const void *pa, const void *pb)
{
	const struct rank_key *a = pa, *b = pb;

	if (a->key > b->key)
		return -1;
	if (a->key < b->key)
		return 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

size_t
zx_rank(struct zx_combo_result *c, size_t n, enum zx_objective o, int min_trades, size_t *order)
{
	struct rank_key *keys = malloc((n ? n : 1) * sizeof(*keys));
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		c[i].score = zx_objective_value(&c[i], o);
		c[i].rank = 0;
		if (c[i].total_trades >= min_trades && keys != NULL) {
			keys[m].key = o == ZX_OBJ_MAX_DRAWDOWN ? -c[i].score : c[i].score;
			keys[m].index = i;
			m++;
		}
	}
	if (keys == NULL)
		return (size_t)-1;
	qsort(keys, m, sizeof(*keys), cmp_key);
	for (size_t k = 0; k < m; k++) {
		order[k] = keys[k].index;
		c[keys[k].index].rank = (int)(k + 1);
	}
	free(keys);
	return m;
}
