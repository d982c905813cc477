/*
 * ref.c — reference sweep semantics for the unit tests (see ref.h).  Deliberately naive: one
 * loop per definition, long double where it helps, nothing shared with worker/engine/.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ref.h"
#include "../../worker/engine/sweep.h"	/* ZX_PROFIT_FACTOR_CAP, strategy numbers only */

void
ref_assert_close(double got, double want, double rel_tol, double abs_tol, const char *what,
    const char *file, int line)
{
	double tol = abs_tol + rel_tol * fabs(want);

	if (!(fabs(got - want) <= tol)) {
		print_error("%s = %.17g, want %.17g (tolerance %.3g)\n", what, got, want, tol);
		_fail(file, line);
	}
}

static uint64_t
next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void
ref_random_walk(double *c, size_t n, uint64_t seed, double vol)
{
	double x = 100.0;

	for (size_t t = 0; t < n; t++) {
		double u1 = ((double)(next_u64(&seed) >> 11) + 0.5) / 9007199254740992.0;
		double u2 = ((double)(next_u64(&seed) >> 11) + 0.5) / 9007199254740992.0;
		double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);

		x *= exp(vol * z);
		c[t] = round(x * 100.0) / 100.0;
		if (c[t] < 0.01)
			c[t] = 0.01;
	}
}

void
ref_sma(const double *c, size_t n, int p, double *out)
{
	for (size_t t = 0; t < n; t++) {
		if (t + 1 < (size_t)p) {
			out[t] = NAN;
			continue;
		}
		long double sum = 0;

		for (size_t u = t + 1 - (size_t)p; u <= t; u++)
			sum += c[u];
		out[t] = (double)(sum / p);
	}
}

/* EMA of x over [from, n): seeded at from+p-1 with the mean of x[from .. from+p-1]. */
static void
ema_from(const double *x, size_t n, size_t from, int p, double *out)
{
	size_t seed = from + (size_t)p - 1;
	long double sum = 0;
	double e;

	for (size_t t = 0; t < n && t < seed; t++)
		out[t] = NAN;
	if (seed >= n)
		return;
	for (size_t u = from; u <= seed; u++)
		sum += x[u];
	e = (double)(sum / p);
	out[seed] = e;
	for (size_t t = seed + 1; t < n; t++) {
		e = e + (2.0 / (p + 1.0)) * (x[t] - e);
		out[t] = e;
	}
}

void
ref_ema(const double *c, size_t n, int p, double *out)
{
	ema_from(c, n, 0, p, out);
}

void
ref_macd(const double *c, size_t n, int f, int s, int g, double *line, double *signal)
{
	double *ef = malloc(n * sizeof(double)), *es = malloc(n * sizeof(double));

	ref_ema(c, n, f, ef);
	ref_ema(c, n, s, es);
	for (size_t t = 0; t < n; t++)
		line[t] = t + 1 >= (size_t)s ? ef[t] - es[t] : NAN;
	ema_from(line, n, (size_t)s - 1, g, signal);
	free(ef);
	free(es);
}

size_t
ref_lines(int strategy, const double *c, size_t n, int fast, int slow, int signal, double *a,
    double *b)
{
	switch (strategy) {
	case ZX_STRATEGY_SMA:
		ref_sma(c, n, fast, a);
		ref_sma(c, n, slow, b);
		return (size_t)slow - 1;
	case ZX_STRATEGY_EMA:
		ref_ema(c, n, fast, a);
		ref_ema(c, n, slow, b);
		return (size_t)slow - 1;
	default:
		ref_macd(c, n, fast, slow, signal, a, b);
		return (size_t)slow + (size_t)signal - 2;
	}
}

void
ref_backtest(const double *c, size_t n, const double *a, const double *b, size_t start,
    double fee, double ppy, struct ref_metrics *m, double *equity)
{
	int *pos = calloc(n, sizeof(int));
	double *E = malloc(n * sizeof(double)), *s = calloc(n, sizeof(double));
	int p = 0;
	long trades = 0, wins = 0, exposed = 0;
	double gw = 0, gl = 0;

	/* Positions from the cross rules. */
	for (size_t t = 0; t < n; t++) {
		if (t >= start + 1) {
			int up = a[t - 1] <= b[t - 1] && a[t] > b[t];
			int down = a[t - 1] >= b[t - 1] && a[t] < b[t];

			if (up) {
				if (p == 0)
					trades++;
				p = 1;
			} else if (down) {
				p = 0;
			}
		}
		pos[t] = p;
	}
	/* Returns and equity. */
	E[0] = 1.0;
	for (size_t t = 1; t < n; t++) {
		int p1 = pos[t - 1], p2 = t >= 2 ? pos[t - 2] : 0;
		double r = c[t] / c[t - 1] - 1.0;

		s[t] = p1 * r - fee * abs(p1 - p2);
		E[t] = E[t - 1] * (1.0 + s[t]);
		exposed += p1;
	}
	/* Round trips: entry bar e (pos 0 -> 1); valued after the exit fee bar, or at the end. */
	for (size_t e = 0; e < n; e++) {
		if (!(pos[e] == 1 && (e == 0 || pos[e - 1] == 0)))
			continue;
		size_t x = e;

		while (x < n && pos[x] == 1)
			x++;
		size_t after = x + 1 <= n - 1 ? x + 1 : n - 1;
		size_t xe = x <= n - 1 ? x : n - 1;
		/* Without fees E[after]/E[e] is c[xe]/c[e]: take the prices (exact sign). */
		double ret = fee == 0 ? (c[xe] - c[e]) / c[e] : E[after] / E[e] - 1.0;

		if (ret > 0) {
			wins++;
			gw += ret;
		} else if (ret < 0) {
			gl -= ret;
		}
	}

	long double sum = 0, ss = 0, dn = 0;
	size_t k = n - 1;
	double peak = E[0], mdd = 0;

	for (size_t t = 1; t < n; t++)
		sum += s[t];
	long double mean = sum / k;

	for (size_t t = 1; t < n; t++) {
		long double d = s[t] - mean;
		double ng = s[t] < 0 ? s[t] : 0;

		ss += d * d;
		dn += (long double)ng * ng;
	}
	for (size_t t = 0; t < n; t++) {
		if (E[t] > peak)
			peak = E[t];
		if (1.0 - E[t] / peak > mdd)
			mdd = 1.0 - E[t] / peak;
	}
	long double sd = k > 1 ? sqrtl(ss / (k - 1)) : 0;
	long double dd = sqrtl(dn / k);

	m->total_return_pct = (E[n - 1] - 1.0) * 100.0;
	m->sharpe_ratio = sd > 0 ? (double)(mean / sd * sqrtl(ppy)) : 0.0;
	m->max_drawdown_pct = mdd * 100.0;
	m->total_trades = trades;
	m->sortino_ratio = dd > 0 ? (double)(mean / dd * sqrtl(ppy)) : 0.0;
	m->win_rate_pct = trades ? 100.0 * wins / trades : 0.0;
	m->profit_factor = gl > 0 ? gw / gl : (gw > 0 ? ZX_PROFIT_FACTOR_CAP : 0.0);
	if (m->profit_factor > ZX_PROFIT_FACTOR_CAP)
		m->profit_factor = ZX_PROFIT_FACTOR_CAP;
	m->exposure_pct = 100.0 * exposed / k;
	if (equity != NULL)
		for (size_t t = 0; t < n; t++)
			equity[t] = E[t];
	free(pos);
	free(E);
	free(s);
}
