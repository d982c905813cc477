/*
 * validate.c
 *	  The single gate for job parameters: SQL, the webhook and the dashboard
 *	  API all enqueue through zixly_enqueue, which calls this.
 *
 * Every problem is collected, so a client can show all of them at once.
 * The error is SQLSTATE 22023; its message names the first bad field, its
 * detail lists every problem as "field: message" lines, and the diagnostic
 * field COLUMN_NAME carries the first field for programs.
 *
 * Input is hostile: any jsonb at all (nested, huge, odd keys) must end in
 * a clean error, so values are read with the jsonb accessors only, field
 * names are truncated and escaped before they reach a message, and numbers
 * are checked from their exact decimal text.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_validate);

#define MAX_PARAMETERS_BYTES (256 * 1024)
#define MAX_COMBINATIONS 250000
#define MAX_SHOWN_KEY 40

typedef struct Problems
{
	StringInfoData detail;
	char	   *first_field;
	char	   *first_message;
	int			count;
} Problems;

static void problem(Problems *p, const char *field, const char *fmt,...) pg_attribute_printf(3, 4);
static void raise_problems(Problems *p, const char *job_type);
static char *printable_key(const char *s, int len);
static bool numeric_text(JsonbValue *v, char **out);
static bool json_int(JsonbValue *v, int64 lo, int64 hi, int64 *out);
static bool json_number(JsonbValue *v, double lo, double hi);
static bool json_string_is(JsonbValue *v, const char *const *allowed);
static void check_range(Problems *p, JsonbValue *v, const char *field, int64 *lo, int64 *hi);
static void check_ticker(Problems *p, JsonbValue *v);
static void check_url(Problems *p, JsonbValue *v);
static int64 count_combinations(int64 flo, int64 fhi, int64 slo, int64 shi, int64 step);
static int64 validate_trading_sweep(Jsonb *params, Problems *p);

static const char *const strategy_types[] = {"SMA", "EMA", "MACD", NULL};
static const char *const objectives[] = {"sharpe_ratio", "sortino_ratio", "total_return_pct",
"max_drawdown_pct", "profit_factor", "win_rate_pct", NULL};

static void
problem(Problems *p, const char *field, const char *fmt,...)
{
	StringInfoData msg;

	initStringInfo(&msg);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}
	if (p->count == 0)
	{
		p->first_field = pstrdup(field);
		p->first_message = msg.data;
	}
	else
		appendStringInfoChar(&p->detail, '\n');
	appendStringInfo(&p->detail, "%s: %s", field, msg.data);
	p->count++;
}

static void
raise_problems(Problems *p, const char *job_type)
{
	if (p->count == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s parameter \"%s\": %s", job_type, p->first_field, p->first_message),
			 errdetail_internal("%s", p->detail.data),
			 err_generic_string(PG_DIAG_COLUMN_NAME, p->first_field)));
}

/* A field name safe to show: at most MAX_SHOWN_KEY bytes, non-printables as '?'. */
static char *
printable_key(const char *s, int len)
{
	int			n = Min(len, MAX_SHOWN_KEY);
	char	   *out = palloc(n + 4);

	for (int i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
	if (len > n)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
	return out;
}

/* The exact decimal text of a JSON number (numeric_out never uses exponents). */
static bool
numeric_text(JsonbValue *v, char **out)
{
	if (v == NULL || v->type != jbvNumeric)
		return false;
	*out = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	return true;
}

/* A JSON integer within [lo, hi]; 10.0 counts as an integer, 10.5 does not. */
static bool
json_int(JsonbValue *v, int64 lo, int64 hi, int64 *out)
{
	char	   *s;
	char	   *dot;
	double		d;

	if (!numeric_text(v, &s))
		return false;
	dot = strchr(s, '.');
	if (dot != NULL)
	{
		for (char *c = dot + 1; *c; c++)
			if (*c != '0')
				return false;
	}
	d = strtod(s, NULL);
	if (!(d >= (double) lo && d <= (double) hi))
		return false;
	*out = (int64) d;
	return true;
}

static bool
json_number(JsonbValue *v, double lo, double hi)
{
	char	   *s;
	double		d;

	if (!numeric_text(v, &s))
		return false;
	d = strtod(s, NULL);
	return d >= lo && d <= hi;
}

static bool
json_string_is(JsonbValue *v, const char *const *allowed)
{
	if (v == NULL || v->type != jbvString)
		return false;
	for (; *allowed; allowed++)
		if (strlen(*allowed) == (size_t) v->val.string.len &&
			memcmp(*allowed, v->val.string.val, v->val.string.len) == 0)
			return true;
	return false;
}

/* fast_range / slow_range: [a, b] with 1 <= a <= b <= 10000. */
static void
check_range(Problems *p, JsonbValue *v, const char *field, int64 *lo, int64 *hi)
{
	JsonbContainer *c;
	JsonbValue *a;
	JsonbValue *b;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data) || JsonContainerSize(v->val.binary.data) != 2)
	{
		problem(p, field, "must be an array of two integers [from, to]");
		return;
	}
	c = v->val.binary.data;
	a = getIthJsonbValueFromContainer(c, 0);
	b = getIthJsonbValueFromContainer(c, 1);
	if (!json_int(a, 1, 10000, lo) || !json_int(b, 1, 10000, hi))
	{
		problem(p, field, "must be two integers from 1 to 10000");
		return;
	}
	if (*lo > *hi)
		problem(p, field, "from (%lld) must not be greater than to (%lld)",
				(long long) *lo, (long long) *hi);
}

static void
check_ticker(Problems *p, JsonbValue *v)
{
	if (v->type != jbvString || v->val.string.len < 1 || v->val.string.len > 20)
	{
		problem(p, "ticker", "must be a string of 1 to 20 characters");
		return;
	}
	for (int i = 0; i < v->val.string.len; i++)
	{
		char		ch = v->val.string.val[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			  strchr(".-_^=/", ch) != NULL) || ch == '\0')
		{
			problem(p, "ticker", "may contain only letters, digits and . - _ ^ = /");
			return;
		}
	}
}

static void
check_url(Problems *p, JsonbValue *v)
{
	const char *s;
	int			len;
	int			scheme;

	if (v->type != jbvString || v->val.string.len > 2048)
	{
		problem(p, "webhook_url", "must be an http or https URL of at most 2048 characters");
		return;
	}
	s = v->val.string.val;
	len = v->val.string.len;
	if (len > 7 && pg_strncasecmp(s, "http://", 7) == 0)
		scheme = 7;
	else if (len > 8 && pg_strncasecmp(s, "https://", 8) == 0)
		scheme = 8;
	else
	{
		problem(p, "webhook_url", "must start with http:// or https://");
		return;
	}
	if (s[scheme] == '/' || s[scheme] == '?' || s[scheme] == '#')
	{
		problem(p, "webhook_url", "must name a host");
		return;
	}
	for (int i = 0; i < len; i++)
		if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f)
		{
			problem(p, "webhook_url", "must not contain spaces or control characters");
			return;
		}
}

/* Pairs (f, s) of the two grids with f < s. */
static int64
count_combinations(int64 flo, int64 fhi, int64 slo, int64 shi, int64 step)
{
	int64		n = 0;
	int64		slow_count = (shi - slo) / step + 1;

	for (int64 f = flo; f <= fhi; f += step)
	{
		/* slow grid values > f: slo + k*step > f  <=>  k > (f - slo) / step */
		int64		first_k = (f < slo) ? 0 : (f - slo) / step + 1;

		if (first_k < slow_count)
			n += slow_count - first_k;
	}
	return n;
}

/* The trading-sweep fields, in the order problems are reported. */
static const char *const sweep_fields[] = {"ticker", "strategy_type", "fast_range", "slow_range",
	"step", "min_trades", "signal_period", "fee_bps", "periods_per_year", "objective",
"webhook_url", NULL};

static JsonbValue *
field(Jsonb *params, const char *name)
{
	return getKeyJsonValueFromContainer(&params->root, name, strlen(name), NULL);
}

static int64
validate_trading_sweep(Jsonb *params, Problems *p)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue *v;
	JsonbIteratorToken tok;
	int			before;
	int64		flo = 0,
				fhi = 0,
				slo = 0,
				shi = 0,
				step = 0,
				combinations = 0,
				ignored;

	if ((v = field(params, "ticker")) == NULL)
		problem(p, "ticker", "is required");
	else
		check_ticker(p, v);
	if ((v = field(params, "strategy_type")) == NULL)
		problem(p, "strategy_type", "is required");
	else if (!json_string_is(v, strategy_types))
		problem(p, "strategy_type", "must be one of SMA, EMA, MACD");

	/* the grid: both ranges and the step, then the combinations they give */
	before = p->count;
	if ((v = field(params, "fast_range")) == NULL)
		problem(p, "fast_range", "is required");
	else
		check_range(p, v, "fast_range", &flo, &fhi);
	if ((v = field(params, "slow_range")) == NULL)
		problem(p, "slow_range", "is required");
	else
		check_range(p, v, "slow_range", &slo, &shi);
	if ((v = field(params, "step")) == NULL)
		problem(p, "step", "is required");
	else if (!json_int(v, 1, 1000, &step))
		problem(p, "step", "must be an integer from 1 to 1000");
	if (p->count == before)
	{
		combinations = count_combinations(flo, fhi, slo, shi, step);
		if (combinations == 0)
			problem(p, "slow_range", "gives no combination with fast < slow for fast_range [%lld, %lld] and step %lld",
					(long long) flo, (long long) fhi, (long long) step);
		else if (combinations > MAX_COMBINATIONS)
			problem(p, "step", "gives %lld combinations; at most %d are allowed",
					(long long) combinations, MAX_COMBINATIONS);
	}

	if ((v = field(params, "min_trades")) != NULL && !json_int(v, 0, 1000000, &ignored))
		problem(p, "min_trades", "must be an integer from 0 to 1000000");
	if ((v = field(params, "signal_period")) != NULL && !json_int(v, 1, 1000, &ignored))
		problem(p, "signal_period", "must be an integer from 1 to 1000");
	/* the engine's limit (ZX_MAX_FEE_BPS): a fee of 100 % would take equity to 0 */
	if ((v = field(params, "fee_bps")) != NULL && !json_number(v, 0, 1000))
		problem(p, "fee_bps", "must be a number from 0 to 1000");
	if ((v = field(params, "periods_per_year")) != NULL && !json_int(v, 1, 100000, &ignored))
		problem(p, "periods_per_year", "must be an integer from 1 to 100000");
	if ((v = field(params, "objective")) != NULL && !json_string_is(v, objectives))
		problem(p, "objective", "must be one of sharpe_ratio, sortino_ratio, total_return_pct, max_drawdown_pct, profit_factor, win_rate_pct");
	if ((v = field(params, "webhook_url")) != NULL)
		check_url(p, v);

	/* anything else is a mistake the caller wants to hear about */
	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		bool		known = false;

		if (tok != WJB_KEY)
			continue;
		for (const char *const *f = sweep_fields; *f && !known; f++)
			known = strlen(*f) == (size_t) k.val.string.len &&
				memcmp(*f, k.val.string.val, k.val.string.len) == 0;
		if (!known)
			problem(p, printable_key(k.val.string.val, k.val.string.len), "unknown parameter");
	}
	return combinations;
}

/*
 * Checks the parameters of a job type; returns the number of grid
 * combinations for trading-sweep (0 for other job types).
 */
int64
ZixlyValidateParameters(const char *job_type, Jsonb *params)
{
	Problems	p = {0};
	int64		n = 0;

	initStringInfo(&p.detail);
	if (VARSIZE_ANY_EXHDR(params) > MAX_PARAMETERS_BYTES)
		problem(&p, "parameters", "must be at most %d bytes", MAX_PARAMETERS_BYTES);
	else if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		problem(&p, "parameters", "must be a JSON object");
	else if (strcmp(job_type, "trading-sweep") == 0)
		n = validate_trading_sweep(params, &p);
	raise_problems(&p, job_type);
	return n;
}

/*
 * Identifiers given by callers (tenant, queue, worker id, job type, keys):
 * 1..maxlen bytes, no control characters.
 */
void
ZixlyCheckName(const char *what, const char *value, int maxlen)
{
	size_t		len = strlen(value);

	if (len == 0 || len > (size_t) maxlen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be 1 to %d characters", what, maxlen)));
	for (const char *c = value; *c; c++)
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not contain control characters", what)));
}

Datum
zixly_validate(PG_FUNCTION_ARGS)
{
	char	   *job_type = ZixlyRequiredCString(fcinfo, 0, "job_type");
	Jsonb	   *params;
	int64		n;
	char		buf[64];

	ZixlyCheckName("job_type", job_type, 64);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must not be null")));
	params = PG_GETARG_JSONB_P(1);
	n = ZixlyValidateParameters(job_type, params);
	snprintf(buf, sizeof(buf), "{\"valid\": true, \"combinations\": %lld}", (long long) n);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf)));
}
