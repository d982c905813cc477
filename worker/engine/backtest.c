/*
 * backtest.c — one combination: cross events -> long-only trades -> metrics.
 *
 * DESIGN.md defines everything per bar: s[t] = pos[t-1] r[t] - fee |pos[t-1] - pos[t-2]|,
 * E[t] = E[t-1](1 + s[t]).  The fast path (zx_bt_*) keeps the books per trade instead.  For a
 * trade entered at bar e (up-cross) and left at bar x (down-cross):
 *   bar e+1        s = r[e+1] - fee                   (entry fee)
 *   bars e+2..x    s = r[t]                           (in the market)
 *   bar x+1        s = -fee                           (exit fee; flat again)
 *   other bars     s = 0
 * so E only moves inside trades, where E[t] = K c[t] with K = E[e+1] / c[e+1]; the in-market
 * bars feed the drawdown (scan.c) and the sums of s, s^2, min(s,0)^2 (two subtractions of the
 * chunk's prefix sums); everything else happens once per trade.  An open trade is valued at the last bar; an entry on the last bar counts as
 * a trade with no bar in the market.
 *
 * The state is fed in bar order, word by word, so the sweep can walk the series in chunks that
 * stay in cache for a whole batch of combinations.  zx_equity_bars is the literal per-bar
 * recurrence (for charts); the unit tests check that the two agree.
 */
#include <math.h>
#include <string.h>

#include "engine.h"

void
zx_bt_init(struct zx_bt *bt)
{
	memset(bt, 0, sizeof(*bt));
	bt->E = 1.0;
	bt->peak = 1.0;
	bt->worst = 1.0;
}

/* One s[t] outside the in-market ranges (entry and exit fees, the per-bar path). */
static inline void
add_s(struct zx_bt *bt, double s)
{
	double ng = s < 0 ? s : 0.0;

	bt->c1 += s;
	bt->c2 += s * s;
	bt->cn += ng * ng;
}

/* Adds the chunk's sums to the running totals (long double) and clears them. */
static void
fold_sums(struct zx_bt *bt)
{
	bt->s1 += bt->c1;
	bt->s2 += bt->c2;
	bt->sn += bt->cn;
	bt->c1 = bt->c2 = bt->cn = 0;
}

static inline void
note_ratio(struct zx_bt *bt, double q)
{
	if (q < bt->worst)
		bt->worst = q;
}

/* Up-cross at bar e while flat. */
static void
open_trade(const struct zx_bt_ctx *x, struct zx_bt *bt, size_t e)
{
	bt->pos = 1;
	bt->trades++;
	bt->entry = e;
	if (e + 1 >= x->n) {
		bt->live = 0;	/* entered on the last bar: nothing in the market */
		return;
	}
	bt->live = 1;
	bt->e0 = bt->E;

	const struct zx_chunk *ck = x->ck;
	double c1 = x->c[e + 1];
	double r1 = e + 1 < ck->bar1 ? ck->r[e + 1 - ck->bar0] : zx_ret(x->c, e + 1);
	double st = r1 - x->fee;
	double E1 = bt->E * (1.0 + st);

	bt->E = E1;
	bt->s1st = st;
	add_s(bt, st);
	bt->next = e + 2;
	if (E1 > 0) {
		/* E[t] = K c[t] from here on; the carried peak in price units is peak / K. */
		bt->bust = 0;
		bt->K = E1 / c1;
		bt->qc = bt->peak * (c1 / E1);
		bt->pkc = c1 > bt->qc ? c1 : bt->qc;
	} else {
		/* A one-bar loss bigger than 1 - fee wiped the equity out: go bar by bar. */
		bt->bust = 1;
	}
	if (E1 < bt->peak)
		note_ratio(bt, E1 / bt->peak);
}

static void
advance(const struct zx_bt_ctx *x, struct zx_bt *bt, size_t upto)
{
	if (!bt->live || upto < bt->next)
		return;
	if (!bt->bust) {
		const struct zx_chunk *ck = x->ck;
		size_t i = bt->next - ck->bar0, j = upto + 1 - ck->bar0;

		x->scan(x->c, ck, bt->next, upto, &bt->pkc, &bt->worst);
		bt->c1 += ck->p1[j] - ck->p1[i];
		bt->c2 += ck->p2[j] - ck->p2[i];
		bt->cn += ck->pn[j] - ck->pn[i];
	} else {
		for (size_t t = bt->next; t <= upto; t++) {
			double rt = zx_ret(x->c, t);

			bt->E = bt->E * (1.0 + rt);
			add_s(bt, rt);
			if (bt->E > bt->peak)
				bt->peak = bt->E;
			note_ratio(bt, bt->E / bt->peak);
		}
	}
	bt->next = upto + 1;
}

void
zx_bt_chunk_end(const struct zx_bt_ctx *x, struct zx_bt *bt, size_t upto)
{
	advance(x, bt, upto);
	fold_sums(bt);
}

/*
 * The trade's net return E[after]/E[entry] - 1 (sweep.h), from prices where possible: with no
 * fee it is c[xe]/c[e] - 1, computed so that getting out at the entry price is exactly 0
 * (neither a win nor a loss), whatever the rounding of the equity products.
 */
static double
trade_return(const struct zx_bt_ctx *x, const struct zx_bt *bt, size_t xe, int exit_fee)
{
	const double *c = x->c;
	size_t e = bt->entry;

	if (bt->bust)
		return bt->e0 != 0 ? bt->E / bt->e0 - 1.0 : 0.0;
	if (x->fee == 0)
		return (c[xe] - c[e]) / c[e];

	double m = 1.0 + bt->s1st;

	if (xe >= e + 2)
		m = m * (c[xe] / c[e + 1]);
	if (exit_fee)
		m = m * (1.0 - x->fee);
	return m - 1.0;
}

/* Values the open trade at bar xe (its exit, or the last bar) and books its return; with
 * exit_fee the exit fee bar xe+1 is inside the series. */
static void
settle_trade(const struct zx_bt_ctx *x, struct zx_bt *bt, size_t xe, int exit_fee)
{
	advance(x, bt, xe);
	bt->exposure += xe - bt->entry;
	if (!bt->bust) {
		if (xe >= bt->entry + 2)
			bt->E = bt->K * x->c[xe];
		if (bt->pkc > bt->qc)
			bt->peak = bt->pkc * bt->K;
	}
	if (exit_fee) {
		bt->E = bt->E * (1.0 - x->fee);
		add_s(bt, -x->fee);
		if (bt->E < bt->worst * bt->peak * (1.0 + 0x1p-50))
			note_ratio(bt, bt->E / bt->peak);
	}

	double ret = trade_return(x, bt, xe, exit_fee);

	if (ret > 0) {
		bt->wins++;
		bt->gross_win += ret;
	} else if (ret < 0) {
		bt->gross_loss -= ret;
	}
	bt->live = 0;
}

void
zx_bt_words(const struct zx_bt_ctx *x, struct zx_bt *bt, size_t w0, size_t w1,
    const uint64_t *gt, const uint64_t *lt, size_t start)
{
	for (size_t w = w0; w < w1; w++) {
		uint64_t u, d, m = zx_event_mask(w, start);

		zx_events_word(gt[w - w0], lt[w - w0], &bt->gprev, &bt->lprev, &u, &d);
		u &= m;
		d &= m;
		for (;;) {
			uint64_t ev = bt->pos ? d : u;

			if (ev == 0)
				break;
			unsigned j = (unsigned)__builtin_ctzll(ev);
			size_t t = 64 * w + j;
			uint64_t keep = (~0ULL << j) << 1;

			if (bt->pos) {
				bt->pos = 0;
				if (bt->live)
					settle_trade(x, bt, t, t + 1 < x->n);
			} else {
				open_trade(x, bt, t);
			}
			u &= keep;
			d &= keep;
		}
	}
}

void
zx_bt_finish(const struct zx_bt_ctx *x, struct zx_bt *bt, double periods_per_year,
    struct zx_combo_result *out)
{
	size_t m = x->n - 1;	/* observations t = 1..T-1 */

	if (bt->pos && bt->live)
		settle_trade(x, bt, x->n - 1, 0);
	fold_sums(bt);

	long double mean = bt->s1 / (long double)m;
	long double var = m > 1 ?
	    (bt->s2 - bt->s1 * bt->s1 / (long double)m) / (long double)(m - 1) : 0;
	long double down = sqrtl(bt->sn / (long double)m);
	double ann = sqrt(periods_per_year);

	out->total_return_pct = (bt->E - 1.0) * 100.0;
	out->sharpe_ratio = var > 0 ? (double)(mean / sqrtl(var)) * ann : 0.0;
	out->max_drawdown_pct = (1.0 - bt->worst) * 100.0;
	out->total_trades = bt->trades;
	out->sortino_ratio = down > 0 ? (double)(mean / down) * ann : 0.0;
	out->win_rate_pct = bt->trades ? (double)bt->wins * 100.0 / (double)bt->trades : 0.0;
	if (bt->gross_loss > 0)
		out->profit_factor = bt->gross_win / bt->gross_loss;
	else
		out->profit_factor = bt->gross_win > 0 ? ZX_PROFIT_FACTOR_CAP : 0.0;
	if (!(out->profit_factor <= ZX_PROFIT_FACTOR_CAP))
		out->profit_factor = ZX_PROFIT_FACTOR_CAP;
	out->exposure_pct = (double)bt->exposure * 100.0 / (double)m;
}

size_t
zx_trades_from_events(const uint64_t *up, const uint64_t *down, size_t n, size_t start,
    struct zx_trade *out)
{
	size_t nw = zx_words(n), nt = 0;
	int pos = 0;

	for (size_t w = start / 64; w < nw; w++) {
		uint64_t u = up[w], d = down[w];

		for (;;) {
			uint64_t m = pos ? d : u;

			if (m == 0)
				break;
			unsigned j = (unsigned)__builtin_ctzll(m);
			size_t t = 64 * w + j;
			uint64_t keep = (~0ULL << j) << 1;

			if (pos) {
				out[nt - 1].exit = t;
			} else {
				out[nt].entry = t;
				out[nt].exit = n;
				nt++;
			}
			pos ^= 1;
			u &= keep;
			d &= keep;
		}
	}
	return nt;
}

/* pos[t] for increasing t: 1 while some trade has entry <= t < exit. */
static inline int
pos_at(const struct zx_trade *tr, size_t ntr, size_t *k, size_t t)
{
	while (*k < ntr && tr[*k].exit <= t)
		(*k)++;
	return *k < ntr && tr[*k].entry <= t;
}

void
zx_equity_bars(const double *c, size_t n, const struct zx_trade *tr, size_t ntr, double fee,
    double *equity)
{
	size_t k = 0;
	int p2 = 0;				/* pos[t-2]; pos[-1] = 0 */
	int p1 = pos_at(tr, ntr, &k, 0);	/* pos[t-1] */

	if (n == 0)
		return;
	equity[0] = 1.0;
	for (size_t t = 1; t < n; t++) {
		double r = c[t] / c[t - 1] - 1.0;
		double st = (double)p1 * r - fee * fabs((double)(p1 - p2));

		equity[t] = equity[t - 1] * (1.0 + st);
		p2 = p1;
		p1 = pos_at(tr, ntr, &k, t);
	}
}
