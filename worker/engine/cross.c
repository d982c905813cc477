/*
 * cross.c — where two lines cross: comparison words and up/down-cross events.
 *
 * Every combination compares its two lines on every bar, so this is kept branch-free and
 * vectorised: a kernel packs 64 comparisons a[t] > b[t] and a[t] < b[t] into two words, and
 * events are then word operations (zx_events_word in engine.h).  On x86-64 the AVX-512 or AVX2
 * kernel is picked at run time (the build stays portable: no -march flags); elsewhere the
 * plain C kernel runs.  All kernels compute the same bits.
 */
#include "engine.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ZX_X86_DISPATCH 1
#include <immintrin.h>
#endif

static void
cmp_portable(const double *a, const double *b, size_t nwords, uint64_t *gt, uint64_t *lt)
{
	for (size_t w = 0; w < nwords; w++) {
		const double *x = a + 64 * w, *y = b + 64 * w;
		uint64_t g = 0, l = 0;

		for (unsigned i = 0; i < 64; i++) {
			g |= (uint64_t)(x[i] > y[i]) << i;
			l |= (uint64_t)(x[i] < y[i]) << i;
		}
		gt[w] = g;
		lt[w] = l;
	}
}

#ifdef ZX_X86_DISPATCH
/* 8 comparisons per instruction; each 8-bit mask goes to a general register (unrolled, so
 * the shifts are constants and nothing is spilled). */
#define CMP8(k) do {								\
	__m512d va_ = _mm512_loadu_pd(x + 8 * (k));				\
	__m512d vb_ = _mm512_loadu_pd(y + 8 * (k));				\
	g |= (uint64_t)_mm512_cmp_pd_mask(va_, vb_, _CMP_GT_OQ) << (8 * (k));	\
	l |= (uint64_t)_mm512_cmp_pd_mask(va_, vb_, _CMP_LT_OQ) << (8 * (k));	\
} while (0)

__attribute__((target("avx512f"))) static void
cmp_avx512(const double *a, const double *b, size_t nwords, uint64_t *gt, uint64_t *lt)
{
	for (size_t w = 0; w < nwords; w++) {
		const double *x = a + 64 * w, *y = b + 64 * w;
		uint64_t g = 0, l = 0;

		CMP8(0); CMP8(1); CMP8(2); CMP8(3); CMP8(4); CMP8(5); CMP8(6); CMP8(7);
		gt[w] = g;
		lt[w] = l;
	}
}
#undef CMP8

__attribute__((target("avx2"))) static void
cmp_avx2(const double *a, const double *b, size_t nwords, uint64_t *gt, uint64_t *lt)
{
	for (size_t w = 0; w < nwords; w++) {
		const double *x = a + 64 * w, *y = b + 64 * w;
		uint64_t g = 0, l = 0;

		for (unsigned k = 0; k < 16; k++) {
			__m256d va = _mm256_loadu_pd(x + 4 * k);
			__m256d vb = _mm256_loadu_pd(y + 4 * k);

			g |= (uint64_t)_mm256_movemask_pd(_mm256_cmp_pd(va, vb, _CMP_GT_OQ)) << (4 * k);
			l |= (uint64_t)_mm256_movemask_pd(_mm256_cmp_pd(va, vb, _CMP_LT_OQ)) << (4 * k);
		}
		gt[w] = g;
		lt[w] = l;
	}
}
#endif

zx_cmp_kernel
zx_cmp_kernel_portable(void)
{
	return cmp_portable;
}

zx_cmp_kernel
zx_cmp_kernel_select(void)
{
#ifdef ZX_X86_DISPATCH
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return cmp_avx512;
	if (__builtin_cpu_supports("avx2"))
		return cmp_avx2;
#endif
	return cmp_portable;
}

/* Comparison bits of bars [lo, hi) of one word, relative to the word's first bar w64. */
static void
cmp_partial(const double *a, const double *b, size_t lo, size_t hi, uint64_t *g, uint64_t *l)
{
	uint64_t gm = 0, lm = 0;

	for (size_t i = lo; i < hi; i++) {
		gm |= (uint64_t)(a[i] > b[i]) << (i % 64);
		lm |= (uint64_t)(a[i] < b[i]) << (i % 64);
	}
	*g = gm;
	*l = lm;
}

void
zx_cmp_words(zx_cmp_kernel k, const double *a, const double *b, size_t bar0, size_t nbars,
    size_t start, uint64_t *gt, uint64_t *lt)
{
	size_t nw = zx_words(nbars);
	size_t i0 = start > bar0 ? start - bar0 : 0;	/* first defined bar, chunk-relative */
	size_t w = 0;

	/* Words wholly before start: zero.  The word holding start: partial. */
	for (; w < nw && (w + 1) * 64 <= i0; w++)
		gt[w] = lt[w] = 0;
	if (w < nw && i0 > w * 64) {
		size_t hi = (w + 1) * 64 < nbars ? (w + 1) * 64 : nbars;

		cmp_partial(a, b, i0, hi, &gt[w], &lt[w]);
		w++;
	}
	/* Whole words, then a partial last word. */
	size_t wfull = nbars / 64;

	if (wfull > w) {
		k(a + 64 * w, b + 64 * w, wfull - w, gt + w, lt + w);
		w = wfull;
	}
	if (w < nw)
		cmp_partial(a, b, w * 64, nbars, &gt[w], &lt[w]);
}

void
zx_cross_events(zx_cmp_kernel k, const double *a, const double *b, size_t n, size_t start,
    uint64_t *up, uint64_t *down)
{
	size_t nw = zx_words(n);
	uint64_t gprev = 0, lprev = 0;

	zx_cmp_words(k, a, b, 0, n, start, up, down);
	for (size_t w = 0; w < nw; w++) {
		uint64_t m = zx_event_mask(w, start);

		zx_events_word(up[w], down[w], &gprev, &lprev, &up[w], &down[w]);
		up[w] &= m;
		down[w] &= m;
	}
}
