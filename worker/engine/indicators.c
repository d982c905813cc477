/*
 * indicators.c — SMA, EMA and MACD lines as DESIGN.md defines them (TA-Lib's SMA and EMA:
 * EMA seeded with the SMA at t = n-1; MACD's EMAs and signal each seeded on their own).
 *
 * Crossovers compare these lines for exact order, ties included, so the SMA is computed from an
 * error-free running sum and a correctly rounded division: two windows with the same mean give
 * bit-identical values, and a flat stretch of prices gives exactly that price.  A plain running
 * sum would let rounding noise invent crosses (and fees) on flat data.
 *
 * Needs IEEE double arithmetic without contraction into FMA (the Makefile passes
 * -ffp-contract=off): the TwoSum and splitting steps below rely on it.
 */
#include <math.h>
#include <stdlib.h>

#include "engine.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ZX_X86_DISPATCH 1
#include <immintrin.h>
#endif

/* zx_sum2_add's steps, with a check that each addition to lo is exact (its own TwoSum error). */
size_t
zx_prefix_sum2(const double *c, size_t n, double *hi, double *lo)
{
	double h = 0.0, l = 0.0, e, r;
	size_t inexact = n;

	for (size_t t = 0; t < n; t++) {
		h = zx_two_sum(h, c[t], &e);
		l = zx_two_sum(l, e, &r);
		if (r != 0.0 && inexact == n)
			inexact = t;
		hi[t] = h;
		lo[t] = l;
	}
	return inexact;
}

/*
 * (s + e) / d, rounded once (to within a tiny fraction of an ulp; exact whenever the true mean
 * is a double).  q = s * (1/d); the remainder s - q*d is computed exactly by splitting q into
 * two 26-bit halves (d < 2^26, so each partial product is exact), then q is corrected.
 */
static inline double
div_exact(double s, double e, double d, double inv)
{
	double q = s * inv;
	double t = 134217729.0 * q;	/* 2^27 + 1: Veltkamp split */
	double qh = t - (t - q);
	double ql = q - qh;
	double rem = ((s - qh * d) - ql * d) + e;

	return q + rem * inv;
}

/* One SMA value from the window sum (s, e) = TwoDiff(a, b) + (la - lb). */
static inline double
sma_at(double a, double b, double la, double lb, double d, double inv)
{
	double s = a - b;
	double z = s - a;
	double e = (a - (s - z)) + (-b - z);

	e += la - lb;
	return div_exact(s, e, d, inv);
}

#ifdef ZX_X86_DISPATCH
/* sma_at on 8 bars at a time: the same operations in the same order, so the same bits. */
__attribute__((target("avx512f"))) static size_t
sma_avx512(const double *hi, const double *lo, size_t p, size_t t, size_t n, double d,
    double inv, double *out, size_t t0)
{
	const __m512d vd = _mm512_set1_pd(d), vinv = _mm512_set1_pd(inv);
	const __m512d split = _mm512_set1_pd(134217729.0);
	const __m512i sign = _mm512_set1_epi64((long long)0x8000000000000000ULL);

	for (; t + 8 <= n; t += 8) {
		__m512d a = _mm512_loadu_pd(hi + t), b = _mm512_loadu_pd(hi + t - p);
		__m512d s = _mm512_sub_pd(a, b);
		__m512d z = _mm512_sub_pd(s, a);
		__m512d nb = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(b), sign));
		__m512d e = _mm512_add_pd(_mm512_sub_pd(a, _mm512_sub_pd(s, z)),
		    _mm512_sub_pd(nb, z));

		e = _mm512_add_pd(e, _mm512_sub_pd(_mm512_loadu_pd(lo + t),
		    _mm512_loadu_pd(lo + t - p)));

		__m512d q = _mm512_mul_pd(s, vinv);
		__m512d tt = _mm512_mul_pd(split, q);
		__m512d qh = _mm512_sub_pd(tt, _mm512_sub_pd(tt, q));
		__m512d ql = _mm512_sub_pd(q, qh);
		__m512d rem = _mm512_add_pd(_mm512_sub_pd(_mm512_sub_pd(s, _mm512_mul_pd(qh, vd)),
		    _mm512_mul_pd(ql, vd)), e);

		_mm512_storeu_pd(out + (t - t0), _mm512_add_pd(q, _mm512_mul_pd(rem, vinv)));
	}
	return t;
}
#endif

void
zx_sma_range(const double *hi, const double *lo, int period, size_t t0, size_t t1, double *out)
{
	size_t p = (size_t)period, t = t0;
	double d = (double)period, inv = 1.0 / d;

	if (t < p - 1)
		t = p - 1;
	if (t == p - 1 && t < t1) {
		out[t - t0] = div_exact(hi[p - 1], lo[p - 1], d, inv);
		t++;
	}
#ifdef ZX_X86_DISPATCH
	if (t < t1 && __builtin_cpu_supports("avx512f"))
		t = sma_avx512(hi, lo, p, t, t1, d, inv, out, t0);
#endif
	for (; t < t1; t++)
		out[t - t0] = sma_at(hi[t], hi[t - p], lo[t], lo[t - p], d, inv);
}

void
zx_sma_prefix(const double *hi, const double *lo, size_t n, int period, double *out)
{
	for (size_t t = 0; t < n && t + 1 < (size_t)period; t++)
		out[t] = NAN;
	zx_sma_range(hi, lo, period, 0, n, out);
}

void
zx_ema_seeded(const double *c, size_t n, int period, double sma_seed, double *out)
{
	size_t p = (size_t)period;
	double alpha = zx_ema_alpha(period);
	double e = sma_seed;

	for (size_t t = 0; t < n && t + 1 < p; t++)
		out[t] = NAN;
	if (p > n)
		return;
	out[p - 1] = e;
	for (size_t t = p; t < n; t++) {
		e = zx_ema_step(e, alpha, c[t]);
		out[t] = e;
	}
}

void
zx_ema_lines(const double *c, size_t t0, size_t t1, size_t nl, const int *period,
    const double *alpha, const double *seed, double *state, double *out, size_t stride)
{
	size_t pmax = 0, t = t0;

	for (size_t j = 0; j < nl; j++)
		if ((size_t)period[j] > pmax)
			pmax = (size_t)period[j];
	/* Bars where some line is still undefined or seeded: one by one. */
	for (; t < t1 && t < pmax; t++) {
		for (size_t j = 0; j < nl; j++) {
			size_t p = (size_t)period[j];

			if (t + 1 < p)
				continue;
			state[j] = t + 1 == p ? seed[j] : zx_ema_step(state[j], alpha[j], c[t]);
			out[j * stride + (t - t0)] = state[j];
		}
	}
	/* Every line running: the recurrences of different lines are independent, so the loop
	 * over j keeps several in flight. */
	for (; t < t1; t++) {
		double ct = c[t];

		for (size_t j = 0; j < nl; j++) {
			double e = zx_ema_step(state[j], alpha[j], ct);

			state[j] = e;
			out[j * stride + (t - t0)] = e;
		}
	}
}

int
zx_sma(const double *c, size_t n, int period, double *out)
{
	double *hi = malloc((n ? n : 1) * 2 * sizeof(double));

	if (hi == NULL)
		return -1;
	(void)zx_prefix_sum2(c, n, hi, hi + n);	/* zx_sweep refuses the series it finds inexact */
	zx_sma_prefix(hi, hi + n, n, period, out);
	free(hi);
	return 0;
}

void
zx_ema(const double *c, size_t n, int period, double *out)
{
	double seed = (size_t)period <= n ? zx_mean_exact(c, (size_t)period) : NAN;

	zx_ema_seeded(c, n, period, seed, out);
}

double
zx_sum2_mean(double h, double l, size_t k)
{
	double d = (double)k;

	return div_exact(h, l, d, 1.0 / d);
}

double
zx_mean_exact(const double *x, size_t k)
{
	double h = 0.0, l = 0.0;

	for (size_t t = 0; t < k; t++)
		zx_sum2_add(&h, &l, x[t]);
	return zx_sum2_mean(h, l, k);
}

void
zx_macd(const double *ema_f, const double *ema_s, size_t n, int slow, int g, double *line,
    double *signal)
{
	size_t t0 = (size_t)slow - 1;
	size_t ts = t0 + (size_t)g - 1;		/* first bar of the signal line */
	double alpha = zx_ema_alpha(g);

	for (size_t t = 0; t < n && t < t0; t++)
		line[t] = NAN;
	for (size_t t = t0; t < n; t++)
		line[t] = ema_f[t] - ema_s[t];
	for (size_t t = 0; t < n && t < ts; t++)
		signal[t] = NAN;
	if (ts >= n)
		return;
	double e = zx_mean_exact(line + t0, (size_t)g);
	signal[ts] = e;
	for (size_t t = ts + 1; t < n; t++) {
		e = zx_ema_step(e, alpha, line[t]);
		signal[t] = e;
	}
}

size_t
zx_lines_start(enum zx_strategy s, int slow, int signal_period)
{
	if (s == ZX_STRATEGY_MACD)
		return (size_t)slow + (size_t)signal_period - 2;
	return (size_t)slow - 1;
}
