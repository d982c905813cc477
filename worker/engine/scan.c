/*
 * scan.c — the bars of a trade in the market: running peak and worst drawdown, plus the
 * per-chunk tables that make them and the trade's sums cheap.
 *
 * Inside a trade E[t] = K c[t], so E[t]/peak[t] = c[t]/pkc[t] with pkc the running peak in
 * price units (seeded with the peak carried in from earlier trades, divided by K).  The worst
 * ratio is min over t of RN(c[t]/pkc[t]).  A bar is a candidate only if c[t] < thr * pkc[t]
 * with thr = worst (1 + 2^-50) — a slightly generous test that never misses a bar whose
 * rounded ratio is below worst — and only candidates pay for a division.  So every kernel
 * returns the same bits.
 *
 * zx_chunk_prepare builds, once per chunk for all combinations, the prefix max of c within
 * each aligned block of 8 bars (the running peak of a block is then max(peak before it, that
 * prefix max): no shuffles per combination) and prefix sums of r, r^2 and min(r,0)^2 (a
 * trade's sums over a range of bars are then two subtractions).
 */
#include <string.h>

#include "engine.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ZX_X86_DISPATCH 1
#include <immintrin.h>
#endif

#define THR_SLACK (1.0 + 0x1p-50)

void
zx_chunk_prepare(struct zx_chunk *ck, const double *c, size_t bar0, size_t bar1)
{
	double s1 = 0, s2 = 0, sn = 0, m = 0;

	ck->bar0 = bar0;
	ck->bar1 = bar1;
	ck->p1[0] = ck->p2[0] = ck->pn[0] = 0;
	for (size_t i = 0; i < bar1 - bar0; i++) {
		double rt = bar0 + i > 0 ? zx_ret(c, bar0 + i) : 0.0;
		double ng = rt < 0 ? rt : 0.0, ct = c[bar0 + i];

		ck->r[i] = rt;
		s1 += rt;
		s2 += rt * rt;
		sn += ng * ng;
		ck->p1[i + 1] = s1;
		ck->p2[i + 1] = s2;
		ck->pn[i + 1] = sn;
		m = (i % 8 == 0 || ct > m) ? ct : m;	/* restart at each block of 8 */
		ck->pm[i] = m;
	}
}

static void
scan_portable(const double *c, const struct zx_chunk *ck, size_t a, size_t b, double *pkc,
    double *worst)
{
	double pk = *pkc, lo = *worst, thr = lo * THR_SLACK;

	(void)ck;
	for (size_t t = a; t <= b; t++) {
		double ct = c[t];

		pk = ct > pk ? ct : pk;
		if (ct < thr * pk) {
			double q = ct / pk;

			if (q < lo) {
				lo = q;
				thr = lo * THR_SLACK;
			}
		}
	}
	*pkc = pk;
	*worst = lo;
}

#ifdef ZX_X86_DISPATCH
/* Lanes moved up by k (lane i gets lane i-k), zeros shifted in: prices are > 0, so a zero
 * never wins a max. */
#define SHIFT_UP(v, k) _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(v), \
    _mm512_setzero_si512(), 8 - (k)))

/*
 * 8 bars per step (blocks aligned to the chunk): running peak =
 * max(peak before the block, the block's prefix max), one multiply-compare, and the peak
 * carried on with the block's maximum (its last prefix max).  A partial last block works the
 * same under a mask (its prefix max starts at the block start, which is inside the range); a
 * first block that starts before a computes its prefix max from a, with lane shifts.
 */
__attribute__((target("avx512f"))) static void
scan_avx512(const double *c, const struct zx_chunk *ck, size_t a, size_t b, double *pkc,
    double *worst)
{
	double pk = *pkc, lo = *worst;
	__m512d thrv = _mm512_set1_pd(lo * THR_SLACK);
	size_t end = b + 1;
	size_t t = a - (a - ck->bar0) % 8;	/* start of a's block */

	for (; t < end; t += 8) {
		size_t i = t - ck->bar0, left = end - t;
		__mmask8 act = left >= 8 ? 0xFF : (__mmask8)((1u << left) - 1);
		__m512d v, run;
		double top;

		if (t < a) {
			/* The first block starts before a: its prefix max must start at a. */
			act &= (__mmask8)(0xFFu << (a - t));
			v = _mm512_maskz_loadu_pd(act, c + t);
			run = _mm512_max_pd(v, SHIFT_UP(v, 1));
			run = _mm512_max_pd(run, SHIFT_UP(run, 2));
			run = _mm512_max_pd(run, SHIFT_UP(run, 4));
			top = _mm512_reduce_max_pd(run);
		} else {
			v = _mm512_maskz_loadu_pd(act, c + t);
			run = _mm512_maskz_loadu_pd(act, ck->pm + i);
			top = ck->pm[i + (left >= 8 ? 7 : left - 1)];
		}
		run = _mm512_max_pd(run, _mm512_set1_pd(pk));
		pk = top > pk ? top : pk;

		__mmask8 cand = _mm512_mask_cmp_pd_mask(act, v, _mm512_mul_pd(thrv, run),
		    _CMP_LT_OQ);

		if (cand) {
			double q[8];

			_mm512_storeu_pd(q, _mm512_div_pd(v, run));
			for (unsigned j = 0; j < 8; j++)
				if (((cand >> j) & 1) && q[j] < lo)
					lo = q[j];
			thrv = _mm512_set1_pd(lo * THR_SLACK);
		}
	}
	*pkc = pk;
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
