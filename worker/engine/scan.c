/*
 * scan.c — the bars of a trade in the market: running peak, worst drawdown and the sums of
 * r, r^2, min(r,0)^2.  With the cross comparisons this is the engine's per-bar work.
 *
 * Inside a trade E[t] = K c[t], so E[t]/peak[t] = c[t]/pkc[t] with pkc the running peak in
 * price units (seeded with the peak carried in from earlier trades, divided by K).  The worst
 * ratio is min over t of RN(c[t]/pkc[t]); to avoid a division per bar a bar is a candidate only
 * if c[t] < thr * pkc[t] with thr = worst (1 + 2^-50), a slightly generous test that never
 * misses a bar whose rounded ratio is below worst, then the ratio is computed exactly.  So the
 * AVX-512 kernel (8 bars per step, prefix max across lanes) and the plain C kernel return the
 * same bits, sums included (both add bar t to lane (t - a) % 8 of the caller's lane sums).
 */
#include "engine.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ZX_X86_DISPATCH 1
#include <immintrin.h>
#endif

#define THR_SLACK (1.0 + 0x1p-50)

static void
scan_portable(const double *c, const double *r, size_t a, size_t b, double *pkc, double *worst,
    double acc[3 * ZX_LANES])
{
	double *a1 = acc, *a2 = acc + ZX_LANES, *an = acc + 2 * ZX_LANES;
	double pk = *pkc, lo = *worst, thr = lo * THR_SLACK;

	for (size_t t = a; t <= b; t++) {
		unsigned j = (unsigned)((t - a) & 7);
		double ct = c[t], rt = r[t];
		double ng = rt < 0 ? rt : 0.0;

		pk = ct > pk ? ct : pk;
		if (ct < thr * pk) {
			double q = ct / pk;

			if (q < lo) {
				lo = q;
				thr = lo * THR_SLACK;
			}
		}
		a1[j] += rt;
		a2[j] += rt * rt;
		an[j] += ng * ng;
	}
	*pkc = pk;
	*worst = lo;
}

#ifdef ZX_X86_DISPATCH
/* Lanes moved up by k (lane i gets lane i-k), zeros shifted in: prices are > 0, so a zero
 * never wins a max. */
#define SHIFT_UP(v, k) _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(v), \
    _mm512_setzero_si512(), 8 - (k)))

__attribute__((target("avx512f"))) static void
scan_avx512(const double *c, const double *r, size_t a, size_t b, double *pkc, double *worst,
    double acc[3 * ZX_LANES])
{
	const __m512i last = _mm512_set1_epi64(7);
	const __m512d zero = _mm512_setzero_pd();
	__m512d a1 = _mm512_loadu_pd(acc), a2 = _mm512_loadu_pd(acc + 8);
	__m512d an = _mm512_loadu_pd(acc + 16);
	__m512d pkv = _mm512_set1_pd(*pkc);
	double lo = *worst;
	__m512d thr = _mm512_set1_pd(lo * THR_SLACK);
	size_t len = b - a + 1;

	for (size_t i = 0; i < len; i += 8) {
		__mmask8 act = len - i >= 8 ? 0xFF : (__mmask8)((1u << (len - i)) - 1);
		__m512d v = _mm512_maskz_loadu_pd(act, c + a + i);
		__m512d rv = _mm512_maskz_loadu_pd(act, r + a + i);
		__m512d m = _mm512_max_pd(v, SHIFT_UP(v, 1));

		m = _mm512_max_pd(m, SHIFT_UP(m, 2));
		m = _mm512_max_pd(m, SHIFT_UP(m, 4));	/* peak within these 8 bars */
		__m512d top = _mm512_permutexvar_pd(last, m);

		m = _mm512_max_pd(m, pkv);		/* running peak at each bar */
		pkv = _mm512_max_pd(pkv, top);		/* the only loop-carried max */

		__mmask8 cand = _mm512_mask_cmp_pd_mask(act, v, _mm512_mul_pd(thr, m), _CMP_LT_OQ);

		if (cand) {
			double q[8];

			_mm512_storeu_pd(q, _mm512_div_pd(v, m));
			for (unsigned j = 0; j < 8; j++)
				if (((cand >> j) & 1) && q[j] < lo)
					lo = q[j];
			thr = _mm512_set1_pd(lo * THR_SLACK);
		}
		__m512d ng = _mm512_min_pd(rv, zero);

		a1 = _mm512_add_pd(a1, rv);
		a2 = _mm512_add_pd(a2, _mm512_mul_pd(rv, rv));
		an = _mm512_add_pd(an, _mm512_mul_pd(ng, ng));
	}
	_mm512_storeu_pd(acc, a1);
	_mm512_storeu_pd(acc + 8, a2);
	_mm512_storeu_pd(acc + 16, an);
	*pkc = _mm512_cvtsd_f64(pkv);
	*worst = lo;
}
#endif

zx_scan_kernel
zx_scan_kernel_portable(void)
{
	return scan_portable;
}

zx_scan_kernel
zx_scan_kernel_select(void)
{
#ifdef ZX_X86_DISPATCH
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return scan_avx512;
#endif
	return scan_portable;
}
