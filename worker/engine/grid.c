/*
 * grid.c — sweep parameters: defaults, validation with one-line reasons, the (fast, slow) grid
 * in grid order, and the strategy/objective names shared by the CLI, JSON and the worker.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine.h"

int
zx_fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
zx_sweep_params_init(struct zx_sweep_params *p)
{
	memset(p, 0, sizeof(*p));
	p->strategy = ZX_STRATEGY_SMA;
	p->step = 1;
	p->signal_period = 9;
	p->fee_bps = 0.0;
	p->periods_per_year = 252.0;
	p->min_trades = 0;
	p->objective = ZX_OBJ_SHARPE;
	p->threads = 0;
}

size_t
zx_range_count(int lo, int hi, int step)
{
	if (step < 1 || hi < lo)
		return 0;
	return (size_t)(((long long)hi - lo) / step) + 1;
}

/* Number of slow values > f. */
static size_t
slows_above(const struct zx_sweep_params *p, long long f)
{
	size_t ns = zx_range_count(p->slow_lo, p->slow_hi, p->step);

	if (ns == 0)
		return 0;
	if (f < p->slow_lo)
		return ns;
	/* first index k with slow_lo + k*step > f */
	long long k = (f - p->slow_lo) / p->step + 1;

	return (size_t)k >= ns ? 0 : ns - (size_t)k;
}

void
zx_grid_fill(const struct zx_sweep_params *p, int *fast, int *slow)
{
	size_t nf = zx_range_count(p->fast_lo, p->fast_hi, p->step);
	size_t ns = zx_range_count(p->slow_lo, p->slow_hi, p->step);
	size_t k = 0;

	for (size_t i = 0; i < nf; i++) {
		int f = p->fast_lo + (int)i * p->step;
		size_t above = slows_above(p, f);

		for (size_t j = ns - above; j < ns; j++) {
			fast[k] = f;
			slow[k] = p->slow_lo + (int)j * p->step;
			k++;
		}
	}
}

static int
check_range(const char *what, int lo, int hi, char *err, size_t errlen)
{
	if (lo < 1 || lo > ZX_MAX_PERIOD)
		return zx_fail(err, errlen, "%s range start %d is out of range (1..%d)", what, lo,
		    ZX_MAX_PERIOD);
	if (hi < 1 || hi > ZX_MAX_PERIOD)
		return zx_fail(err, errlen, "%s range end %d is out of range (1..%d)", what, hi,
		    ZX_MAX_PERIOD);
	if (hi < lo)
		return zx_fail(err, errlen, "%s range %d..%d is empty (end below start)", what, lo, hi);
	return 0;
}

int
zx_sweep_params_check(const struct zx_sweep_params *p, size_t n, size_t *n_combos, char *err,
    size_t errlen)
{
	if (p == NULL)
		return zx_fail(err, errlen, "no parameters");
	if (p->strategy != ZX_STRATEGY_SMA && p->strategy != ZX_STRATEGY_EMA &&
	    p->strategy != ZX_STRATEGY_MACD)
		return zx_fail(err, errlen, "unknown strategy %d", (int)p->strategy);
	if (p->objective < ZX_OBJ_SHARPE || p->objective > ZX_OBJ_WIN_RATE)
		return zx_fail(err, errlen, "unknown objective %d", (int)p->objective);
	if (check_range("fast", p->fast_lo, p->fast_hi, err, errlen) < 0 ||
	    check_range("slow", p->slow_lo, p->slow_hi, err, errlen) < 0)
		return -1;
	if (p->step < 1 || p->step > ZX_MAX_PERIOD)
		return zx_fail(err, errlen, "step %d is out of range (1..%d)", p->step, ZX_MAX_PERIOD);
	if (p->strategy == ZX_STRATEGY_MACD &&
	    (p->signal_period < 1 || p->signal_period > ZX_MAX_PERIOD))
		return zx_fail(err, errlen, "signal period %d is out of range (1..%d)",
		    p->signal_period, ZX_MAX_PERIOD);
	if (!isfinite(p->fee_bps) || p->fee_bps < 0 || p->fee_bps > ZX_MAX_FEE_BPS)
		return zx_fail(err, errlen, "fee_bps %g is out of range (0..%g)", p->fee_bps,
		    ZX_MAX_FEE_BPS);
	if (!isfinite(p->periods_per_year) || p->periods_per_year <= 0 ||
	    p->periods_per_year > 1e7)
		return zx_fail(err, errlen, "periods_per_year %g is out of range (> 0, <= 1e7)",
		    p->periods_per_year);
	if (p->min_trades < 0)
		return zx_fail(err, errlen, "min_trades %d is negative", p->min_trades);
	if (p->threads < 0 || p->threads > ZX_MAX_THREADS)
		return zx_fail(err, errlen, "threads %d is out of range (0..%d)", p->threads,
		    ZX_MAX_THREADS);

	/* Count combinations; note the largest slow period any of them uses. */
	size_t nf = zx_range_count(p->fast_lo, p->fast_hi, p->step);
	size_t total = 0;
	int max_slow = 0;

	for (size_t i = 0; i < nf; i++) {
		long long f = p->fast_lo + (long long)i * p->step;
		size_t k = slows_above(p, f);

		if (k == 0)
			break;	/* larger fast values have even fewer slows above them */
		total += k;
		if (total > ZX_MAX_COMBINATIONS)
			return zx_fail(err, errlen, "grid has more than %d combinations",
			    ZX_MAX_COMBINATIONS);
	}
	if (total == 0)
		return zx_fail(err, errlen,
		    "no combination: no fast period in %d..%d is below a slow period in %d..%d "
		    "(step %d)", p->fast_lo, p->fast_hi, p->slow_lo, p->slow_hi, p->step);
	max_slow = p->slow_lo +
	    (int)(zx_range_count(p->slow_lo, p->slow_hi, p->step) - 1) * p->step;

	if (n < 2)
		return zx_fail(err, errlen, "need at least 2 bars, got %zu", n);
	size_t need = (size_t)max_slow;

	if (p->strategy == ZX_STRATEGY_MACD)
		need += (size_t)p->signal_period - 1;
	if (need > n) {
		if (p->strategy == ZX_STRATEGY_MACD)
			return zx_fail(err, errlen,
			    "slow period %d with signal period %d needs at least %zu bars, got %zu",
			    max_slow, p->signal_period, need, n);
		return zx_fail(err, errlen, "slow period %d needs at least %d bars, got %zu",
		    max_slow, max_slow, n);
	}
	if (n_combos != NULL)
		*n_combos = total;
	return 0;
}

static const char *const strategy_names[] = { "SMA", "EMA", "MACD" };
static const char *const objective_names[] = {
	"sharpe_ratio", "sortino_ratio", "total_return_pct", "max_drawdown_pct",
	"profit_factor", "win_rate_pct"
};

const char *
zx_strategy_name(enum zx_strategy s)
{
	return (unsigned)s < 3 ? strategy_names[s] : "?";
}

int
zx_strategy_parse(const char *name, enum zx_strategy *out)
{
	for (int i = 0; i < 3; i++) {
		if (name != NULL && strcasecmp(name, strategy_names[i]) == 0) {
			*out = (enum zx_strategy)i;
			return 0;
		}
	}
	return -1;
}

const char *
zx_objective_name(enum zx_objective o)
{
	return (unsigned)o < 6 ? objective_names[o] : "?";
}

int
zx_objective_parse(const char *name, enum zx_objective *out)
{
	for (int i = 0; i < 6; i++) {
		if (name != NULL && strcmp(name, objective_names[i]) == 0) {
			*out = (enum zx_objective)i;
			return 0;
		}
	}
	return -1;
}
