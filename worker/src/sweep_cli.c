/*
 * sweep_cli.c — zixly-sweep: run a parameter sweep on one ticker of a prices CSV and print every
 * combination (CSV or JSON).  A thin shell over the engine (worker/engine/sweep.h) for people,
 * scripts and tests; the worker daemon calls the same engine on prices from the database.
 *
 * Exit status: 0 ok; 2 bad usage or input (one line "zixly-sweep: <reason>" on stderr);
 * 1 when the output cannot be written.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "../engine/sweep.h"
#include "prices_csv.h"

#define PROG "zixly-sweep"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: " PROG " --csv FILE --ticker T --fast A:B --slow C:D [options]\n"
	    "\n"
	    "Backtests every (fast, slow) moving-average crossover on one ticker's closes.\n"
	    "\n"
	    "  --csv FILE              prices CSV with a header naming ticker,date,close\n"
	    "  --ticker T              ticker to read from the file\n"
	    "  --strategy NAME         SMA (default), EMA or MACD\n"
	    "  --fast A:B              fast periods A, A+step, ... <= B (\"A\" alone means A:A)\n"
	    "  --slow C:D              slow periods, likewise; only pairs with fast < slow run\n"
	    "  --step S                step of both ranges (default 1)\n"
	    "  --signal N              MACD signal period (default 9)\n"
	    "  --fee-bps X             cost per position change in basis points (default 0)\n"
	    "  --periods-per-year P    annualisation of Sharpe/Sortino (default 252)\n"
	    "  --min-trades N          rank only combinations with >= N trades (default 0)\n"
	    "  --objective NAME        score: sharpe_ratio (default), sortino_ratio,\n"
	    "                          total_return_pct, max_drawdown_pct (lower is better),\n"
	    "                          profit_factor, win_rate_pct\n"
	    "  --threads N             worker threads, 0 = one per CPU (default 0)\n"
	    "  --top N                 print only the N best ranked combinations, best first\n"
	    "  --format csv|json       output format (default csv)\n"
	    "  -h, --help              this text\n"
	    "\n"
	    "CSV output: one row per combination in grid order (fast, then slow), or in rank order\n"
	    "with --top; rank 0 means unranked (fewer than --min-trades trades).\n");
}

/* Prints "zixly-sweep: <reason>" and exits 2. */
static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static long
parse_long(const char *flag, const char *s, long lo, long hi)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		die("%s: '%s' is not an integer", flag, s);
	errno = 0;
	long v = strtol(s, &end, 10);

	if (*end != '\0')
		die("%s: '%s' is not an integer", flag, s);
	if (errno == ERANGE || v < lo || v > hi)
		die("%s: %s is out of range (%ld..%ld)", flag, s, lo, hi);
	return v;
}

static double
parse_double(const char *flag, const char *s, double lo, double hi)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		die("%s: '%s' is not a number", flag, s);
	errno = 0;
	double v = strtod(s, &end);

	if (*end != '\0' || !isfinite(v))
		die("%s: '%s' is not a number", flag, s);
	if (errno == ERANGE || v < lo || v > hi)
		die("%s: %s is out of range (%g..%g)", flag, s, lo, hi);
	return v;
}

/* "A:B" or "A" (= A:A). */
static void
parse_range(const char *flag, const char *s, int *lo, int *hi)
{
	const char *colon = strchr(s, ':');
	char buf[64];

	if (colon == NULL) {
		*lo = *hi = (int)parse_long(flag, s, 1, ZX_MAX_PERIOD);
		return;
	}
	if ((size_t)(colon - s) >= sizeof(buf))
		die("%s: '%s' is not a range A:B", flag, s);
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (buf[0] == '\0' || colon[1] == '\0')
		die("%s: '%s' is not a range A:B", flag, s);
	*lo = (int)parse_long(flag, buf, 1, ZX_MAX_PERIOD);
	*hi = (int)parse_long(flag, colon + 1, 1, ZX_MAX_PERIOD);
	if (*hi < *lo)
		die("%s: range %s is empty (end below start)", flag, s);
}

struct options {
	const char *csv, *ticker;
	int top;			/* 0 = all combinations, grid order */
	int json;
	int have_fast, have_slow;
	struct zx_sweep_params p;
};

static void
parse_args(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof(*o));
	zx_sweep_params_init(&o->p);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		char flag[40];

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strncmp(arg, "--", 2) != 0)
			die("unexpected argument '%s' (see --help)", arg);
		eq = strchr(arg, '=');
		if (eq != NULL) {
			if ((size_t)(eq - arg) >= sizeof(flag))
				die("unknown option '%s' (see --help)", arg);
			memcpy(flag, arg, (size_t)(eq - arg));
			flag[eq - arg] = '\0';
			val = eq + 1;
		} else {
			if (strlen(arg) >= sizeof(flag))
				die("unknown option '%s' (see --help)", arg);
			strcpy(flag, arg);
		}
#define IS(name) (strcmp(flag, name) == 0)
		if (!(IS("--csv") || IS("--ticker") || IS("--strategy") || IS("--fast") ||
		    IS("--slow") || IS("--step") || IS("--signal") || IS("--fee-bps") ||
		    IS("--periods-per-year") || IS("--min-trades") || IS("--objective") ||
		    IS("--threads") || IS("--top") || IS("--format")))
			die("unknown option '%s' (see --help)", flag);
		if (val == NULL) {
			if (i + 1 >= argc)
				die("%s needs a value", flag);
			val = argv[++i];
		}
		if (IS("--csv")) {
			o->csv = val;
		} else if (IS("--ticker")) {
			o->ticker = val;
		} else if (IS("--strategy")) {
			if (zx_strategy_parse(val, &o->p.strategy) < 0)
				die("--strategy: unknown strategy '%s' (SMA, EMA or MACD)", val);
		} else if (IS("--fast")) {
			parse_range(flag, val, &o->p.fast_lo, &o->p.fast_hi);
			o->have_fast = 1;
		} else if (IS("--slow")) {
			parse_range(flag, val, &o->p.slow_lo, &o->p.slow_hi);
			o->have_slow = 1;
		} else if (IS("--step")) {
			o->p.step = (int)parse_long(flag, val, 1, ZX_MAX_PERIOD);
		} else if (IS("--signal")) {
			o->p.signal_period = (int)parse_long(flag, val, 1, ZX_MAX_PERIOD);
		} else if (IS("--fee-bps")) {
			o->p.fee_bps = parse_double(flag, val, 0, ZX_MAX_FEE_BPS);
		} else if (IS("--periods-per-year")) {
			o->p.periods_per_year = parse_double(flag, val, 1e-9, 1e7);
		} else if (IS("--min-trades")) {
			o->p.min_trades = (int)parse_long(flag, val, 0, INT_MAX);
		} else if (IS("--objective")) {
			if (zx_objective_parse(val, &o->p.objective) < 0)
				die("--objective: unknown objective '%s' (see --help)", val);
		} else if (IS("--threads")) {
			o->p.threads = (int)parse_long(flag, val, 0, ZX_MAX_THREADS);
		} else if (IS("--top")) {
			o->top = (int)parse_long(flag, val, 1, INT_MAX);
		} else if (IS("--format")) {
			if (strcmp(val, "csv") == 0)
				o->json = 0;
			else if (strcmp(val, "json") == 0)
				o->json = 1;
			else
				die("--format: unknown format '%s' (csv or json)", val);
		}
#undef IS
	}
	if (o->csv == NULL)
		die("--csv FILE is required (see --help)");
	if (o->ticker == NULL || o->ticker[0] == '\0')
		die("--ticker T is required (see --help)");
	if (!o->have_fast || !o->have_slow)
		die("--fast A:B and --slow C:D are required (see --help)");
}

/* Rows to print: all in grid order, or the --top N ranked in rank order. */
static size_t
rows_to_print(const struct options *o, const struct zx_sweep_result *r, size_t k)
{
	return o->top > 0 ? r->ranking[k] : k;
}

static size_t
n_rows(const struct options *o, const struct zx_sweep_result *r)
{
	if (o->top > 0)
		return (size_t)o->top < r->n_ranked ? (size_t)o->top : r->n_ranked;
	return r->n_combos;
}

static void
print_csv(const struct options *o, const struct zx_sweep_result *r)
{
	size_t m = n_rows(o, r);

	printf("fast,slow,total_return_pct,sharpe_ratio,max_drawdown_pct,total_trades,"
	    "sortino_ratio,win_rate_pct,profit_factor,exposure_pct,score,rank\n");
	for (size_t k = 0; k < m; k++) {
		const struct zx_combo_result *c = &r->combos[rows_to_print(o, r, k)];

		printf("%d,%d,%.17g,%.17g,%.17g,%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%d\n",
		    c->fast, c->slow, c->total_return_pct, c->sharpe_ratio, c->max_drawdown_pct,
		    c->total_trades, c->sortino_ratio, c->win_rate_pct, c->profit_factor,
		    c->exposure_pct, c->score, c->rank);
	}
}

/* A double as JSON with %.17g (round-trips); the engine guarantees finite values. */
static struct json_object *
jdouble(double v)
{
	char buf[40];

	if (!isfinite(v))
		return NULL;	/* serialised as null; cannot happen with engine output */
	snprintf(buf, sizeof(buf), "%.17g", v);
	return json_object_new_double_s(v, buf);
}

static struct json_object *
jrange(int lo, int hi)
{
	struct json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_int(lo));
	json_object_array_add(a, json_object_new_int(hi));
	return a;
}

static int
print_json(const struct options *o, const struct zx_prices *px, const struct zx_sweep_result *r)
{
	const struct zx_sweep_params *p = &o->p;
	struct json_object *root = json_object_new_object();
	struct json_object *params = json_object_new_object();
	struct json_object *results = json_object_new_array();
	size_t m = n_rows(o, r);
	int rc;

	json_object_object_add(params, "ticker", json_object_new_string(o->ticker));
	json_object_object_add(params, "strategy_type",
	    json_object_new_string(zx_strategy_name(p->strategy)));
	json_object_object_add(params, "fast_range", jrange(p->fast_lo, p->fast_hi));
	json_object_object_add(params, "slow_range", jrange(p->slow_lo, p->slow_hi));
	json_object_object_add(params, "step", json_object_new_int(p->step));
	if (p->strategy == ZX_STRATEGY_MACD)
		json_object_object_add(params, "signal_period",
		    json_object_new_int(p->signal_period));
	json_object_object_add(params, "fee_bps", jdouble(p->fee_bps));
	json_object_object_add(params, "periods_per_year", jdouble(p->periods_per_year));
	json_object_object_add(params, "min_trades", json_object_new_int(p->min_trades));
	json_object_object_add(params, "objective",
	    json_object_new_string(zx_objective_name(p->objective)));
	if (o->top > 0)
		json_object_object_add(params, "top", json_object_new_int(o->top));
	json_object_object_add(root, "params", params);
	json_object_object_add(root, "bars", json_object_new_int64((int64_t)r->bars));
	json_object_object_add(root, "first_date", json_object_new_string(px->date[0]));
	json_object_object_add(root, "last_date", json_object_new_string(px->date[px->n - 1]));
	json_object_object_add(root, "combinations", json_object_new_int64((int64_t)r->n_combos));
	json_object_object_add(root, "ranked", json_object_new_int64((int64_t)r->n_ranked));

	for (size_t k = 0; k < m; k++) {
		const struct zx_combo_result *c = &r->combos[rows_to_print(o, r, k)];
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "fast", json_object_new_int(c->fast));
		json_object_object_add(j, "slow", json_object_new_int(c->slow));
		json_object_object_add(j, "total_return_pct", jdouble(c->total_return_pct));
		json_object_object_add(j, "sharpe_ratio", jdouble(c->sharpe_ratio));
		json_object_object_add(j, "max_drawdown_pct", jdouble(c->max_drawdown_pct));
		json_object_object_add(j, "total_trades", json_object_new_int64(c->total_trades));
		json_object_object_add(j, "sortino_ratio", jdouble(c->sortino_ratio));
		json_object_object_add(j, "win_rate_pct", jdouble(c->win_rate_pct));
		json_object_object_add(j, "profit_factor", jdouble(c->profit_factor));
		json_object_object_add(j, "exposure_pct", jdouble(c->exposure_pct));
		json_object_object_add(j, "score", jdouble(c->score));
		json_object_object_add(j, "rank", json_object_new_int(c->rank));
		json_object_array_add(results, j);
	}
	json_object_object_add(root, "results", results);

	rc = puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN)) < 0 ? -1 : 0;
	json_object_put(root);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct zx_prices px;
	struct zx_sweep_result res;
	char err[512];

	parse_args(argc, argv, &o);
	if (zx_prices_load_csv(o.csv, o.ticker, &px, err, sizeof(err)) < 0)
		die("%s", err);
	if (zx_sweep_run(px.close, px.n, &o.p, &res, err, sizeof(err)) < 0) {
		zx_prices_free(&px);
		die("%s", err);
	}
	if (o.json)
		print_json(&o, &px, &res);
	else
		print_csv(&o, &res);
	zx_sweep_result_free(&res);
	zx_prices_free(&px);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
