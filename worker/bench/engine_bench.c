/*
 * engine_bench.c — nanoseconds per bar·combination of zx_sweep_run, end to end (validation,
 * moving averages, every backtest, ranking), on a deterministic synthetic series.
 *
 * Default workload: a geometric random walk of 100,000 bars (seed fixed, 1 % daily volatility,
 * starting at 100), SMA strategy, fast 10..95 and slow 100..190 with step 5: 18 x 19 = 342
 * combinations, all with fast < slow.  Runs with 1 thread and with 2 threads, best of
 * --reps repetitions each, and prints
 *   RESULT system=zixly bench=engine metric=ns_per_bar_combo_1t value=<ns>
 *   RESULT system=zixly bench=engine metric=ns_per_bar_combo_2t value=<ns>
 * Options (for exploring, not for the reported figure): --bars N --fast A:B --slow C:D
 * --step S --strategy SMA|EMA|MACD --reps R.  A "#" line on stderr gives the grid, trades and a
 * checksum, which must be the same for both thread counts (the run fails otherwise).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/sweep.h"

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double
unif(uint64_t *s)
{
	return ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static void
random_walk(double *c, size_t n)
{
	uint64_t seed = 20240601;
	double x = 100.0;

	for (size_t t = 0; t < n; t++) {
		/* Box-Muller normal step, 1 % volatility; rounded to cents like real closes. */
		double z = sqrt(-2.0 * log(unif(&seed))) * cos(6.283185307179586 * unif(&seed));

		x *= exp(0.01 * z);
		c[t] = round(x * 100.0) / 100.0;
		if (c[t] <= 0)
			c[t] = 0.01;
	}
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best wall time of reps runs (*first: the first one's); *checksum from the last run. */
static double
best_ns(const double *c, size_t n, struct zx_sweep_params *p, int reps, double *checksum,
    size_t *combos, long *trades, double *first)
{
	double best = INFINITY;
	char err[256];

	for (int i = 0; i < reps; i++) {
		struct zx_sweep_result r;
		double t0 = now_ns();

		if (zx_sweep_run(c, n, p, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "zixly-engine-bench: %s\n", err);
			exit(1);
		}
		double dt = now_ns() - t0;

		if (dt < best)
			best = dt;
		if (i == 0)
			*first = dt;
		*checksum = 0;
		*trades = 0;
		for (size_t k = 0; k < r.n_combos; k++) {
			*checksum += r.combos[k].score + r.combos[k].max_drawdown_pct +
			    r.combos[k].total_return_pct;
			*trades += r.combos[k].total_trades;
		}
		*combos = r.n_combos;
		zx_sweep_result_free(&r);
	}
	return best;
}

static void
range_arg(const char *s, int *lo, int *hi)
{
	if (sscanf(s, "%d:%d", lo, hi) != 2) {
		fprintf(stderr, "zixly-engine-bench: bad range '%s'\n", s);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct zx_sweep_params p;
	size_t n = 100000, combos = 0;
	int reps = 7;

	zx_sweep_params_init(&p);
	p.strategy = ZX_STRATEGY_SMA;
	p.fast_lo = 10;
	p.fast_hi = 95;
	p.slow_lo = 100;
	p.slow_hi = 190;
	p.step = 5;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--bars") == 0)
			n = (size_t)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--fast") == 0)
			range_arg(argv[i + 1], &p.fast_lo, &p.fast_hi);
		else if (strcmp(argv[i], "--slow") == 0)
			range_arg(argv[i + 1], &p.slow_lo, &p.slow_hi);
		else if (strcmp(argv[i], "--step") == 0)
			p.step = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--reps") == 0)
			reps = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--strategy") == 0 &&
		    zx_strategy_parse(argv[i + 1], &p.strategy) == 0)
			;
		else {
			fprintf(stderr, "zixly-engine-bench: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (n < 2 || reps < 1) {
		fprintf(stderr, "zixly-engine-bench: need --bars >= 2 and --reps >= 1\n");
		return 2;
	}

	double *c = malloc(n * sizeof(double));

	if (c == NULL)
		return 1;
	random_walk(c, n);

	double sum1, sum2, first1, first2;
	long tr1, tr2;

	p.threads = 1;
	double t1 = best_ns(c, n, &p, reps, &sum1, &combos, &tr1, &first1);
	p.threads = 2;
	double t2 = best_ns(c, n, &p, reps, &sum2, &combos, &tr2, &first2);

	fprintf(stderr, "# %s fast %d..%d slow %d..%d step %d: %zu combinations x %zu bars, "
	    "%ld trades, checksum %.17g, best of %d: 1t %.2f ms, 2t %.2f ms "
	    "(first runs in this process: %.2f ms, %.2f ms)\n",
	    zx_strategy_name(p.strategy), p.fast_lo, p.fast_hi, p.slow_lo, p.slow_hi, p.step,
	    combos, n, tr1, sum1, reps, t1 / 1e6, t2 / 1e6, first1 / 1e6, first2 / 1e6);
	if (memcmp(&sum1, &sum2, sizeof(sum1)) != 0 || tr1 != tr2) {
		fprintf(stderr, "zixly-engine-bench: 1- and 2-thread results differ\n");
		return 1;
	}
	double work = (double)n * (double)combos;

	printf("RESULT system=zixly bench=engine metric=ns_per_bar_combo_1t value=%.2f\n",
	    t1 / work);
	printf("RESULT system=zixly bench=engine metric=ns_per_bar_combo_2t value=%.2f\n",
	    t2 / work);
	free(c);
	return 0;
}
