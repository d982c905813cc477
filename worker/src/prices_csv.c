/*
 * prices_csv.c — reads a prices CSV (see prices_csv.h) into one ticker's sorted closes.
 * Every failure is a one-line reason naming the file and, for a row, its line number.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prices_csv.h"

#define MAX_FIELDS 1024

struct row {
	long long key;		/* microseconds since 0000-03-01 UTC, for sorting */
	double close;
	size_t line;
	char date[ZX_DATE_MAX];
};

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Strips a trailing CR/LF in place. */
static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static int
blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Splits line into fields in place (RFC 4180 quoting, "" inside quotes; unquoted fields are
 * trimmed).  Returns the number of fields, or -1 for an unterminated quote or too many fields.
 */
static int
split_csv(char *line, char **f, int max)
{
	int nf = 0;
	char *p = line;

	for (;;) {
		if (nf == max)
			return -1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			char *w = ++p;

			f[nf++] = w;
			for (;;) {
				if (*p == '\0')
					return -1;
				if (*p == '"') {
					if (p[1] == '"') {
						*w++ = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				*w++ = *p++;
			}
			*w = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != ',' && *p != '\0')
				return -1;
		} else {
			char *start = p, *end;
			int last;

			while (*p != ',' && *p != '\0')
				p++;
			end = p;
			while (end > start && isspace((unsigned char)end[-1]))
				end--;
			f[nf++] = start;
			last = *p == '\0';
			*end = '\0';	/* may overwrite the comma at p: `last` was read first */
			if (last)
				break;
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		p++;		/* the comma after a quoted field */
	}
	return nf;
}

/* Days from 0000-03-01 (proleptic Gregorian); H. Hinnant's days_from_civil. */
static long long
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153LL * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe;
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * YYYY-MM-DD, optionally followed by [T ]HH:MM[:SS[.fraction]] and a zone Z or +HH[:MM] /
 * -HH[:MM] (PostgreSQL's timestamptz output included).  *key: microseconds since 0000-03-01
 * UTC.  0 ok, -1 invalid.
 */
static int
parse_date(const char *s, long long *key)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, hh = 0, mm = 0, ss = 0, zh = 0, zm = 0;
	long long micro = 0;
	const char *p;

	if (strlen(s) < 10 || digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &m) < 0 ||
	    s[7] != '-' || digits(s + 8, 2, &d) < 0)
		return -1;
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	p = s + 10;
	if (*p == 'T' || *p == ' ') {
		if (digits(p + 1, 2, &hh) < 0 || p[3] != ':' || digits(p + 4, 2, &mm) < 0)
			return -1;
		p += 6;
		if (*p == ':') {
			if (digits(p + 1, 2, &ss) < 0)
				return -1;
			p += 3;
			if (*p == '.') {
				long long scale = 100000;

				if (!isdigit((unsigned char)p[1]))
					return -1;
				for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
					micro += (*p - '0') * scale;	/* digits past 6 add 0 */
			}
		}
		if (hh > 23 || mm > 59 || ss > 59)
			return -1;
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;

			if (digits(p + 1, 2, &zh) < 0 || zh > 23)
				return -1;
			p += 3;
			if (*p == ':')
				p++;
			if (isdigit((unsigned char)*p)) {
				if (digits(p, 2, &zm) < 0 || zm > 59)
					return -1;
				p += 2;
			}
			zh *= sign;
			zm *= sign;
		}
	}
	if (*p != '\0')
		return -1;
	long long secs = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss -
	    (zh * 3600 + zm * 60);

	*key = secs * 1000000 + micro;
	return 0;
}

/* Strict decimal: the whole field is a finite number, digits with an optional sign, point and
 * exponent (strtod alone would also take hexadecimal, "inf" and "nan"). */
static int
parse_close(const char *s, double *out)
{
	char *end;

	if (*s == '\0' || strspn(s, "0123456789+-.eE") != strlen(s))
		return -1;
	errno = 0;
	double v = strtod(s, &end);

	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int
find_column(char **f, int nf, const char *const *names)
{
	for (int i = 0; i < nf; i++)
		for (const char *const *n = names; *n; n++)
			if (strcasecmp(f[i], *n) == 0)
				return i;
	return -1;
}

int
zx_prices_load_csv(const char *path, const char *ticker, struct zx_prices *out, char *err,
    size_t errlen)
{
	static const char *const ticker_names[] = { "ticker", "symbol", NULL };
	static const char *const date_names[] = { "date", "ts", NULL };
	static const char *const close_names[] = { "close", NULL };
	FILE *fp;
	char *line = NULL;
	size_t cap = 0, lineno = 0, nrows = 0, rowcap = 0;
	ssize_t len;
	char **f = NULL;
	struct row *rows = NULL;
	int nheader = -1, ci_t = -1, ci_d = -1, ci_c = -1, rc = -1;

	memset(out, 0, sizeof(*out));
	if (ticker == NULL || *ticker == '\0')
		return fail(err, errlen, "no ticker given");
	fp = fopen(path, "r");
	if (fp == NULL)
		return fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	f = malloc(MAX_FIELDS * sizeof(char *));
	if (f == NULL) {
		fail(err, errlen, "out of memory");
		goto done;
	}

	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (strlen(line) != (size_t)len) {
			fail(err, errlen, "%s:%zu: NUL byte in line", path, lineno);
			goto done;
		}
		chomp(line);
		char *s = line;

		if (lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
		    (unsigned char)s[2] == 0xBF)
			s += 3;		/* UTF-8 byte order mark */
		if (blank(s))
			continue;
		int nf = split_csv(s, f, MAX_FIELDS);

		if (nf < 0) {
			fail(err, errlen, "%s:%zu: malformed CSV (unbalanced quote or over %d fields)",
			    path, lineno, MAX_FIELDS);
			goto done;
		}
		if (nheader < 0) {
			nheader = nf;
			ci_t = find_column(f, nf, ticker_names);
			ci_d = find_column(f, nf, date_names);
			ci_c = find_column(f, nf, close_names);
			if (ci_t < 0 || ci_d < 0 || ci_c < 0) {
				fail(err, errlen, "%s: header has no '%s' column (need ticker,date,close)",
				    path, ci_t < 0 ? "ticker" : ci_d < 0 ? "date" : "close");
				goto done;
			}
			continue;
		}
		if (nf != nheader) {
			fail(err, errlen, "%s:%zu: expected %d fields, got %d", path, lineno, nheader,
			    nf);
			goto done;
		}
		if (strcmp(f[ci_t], ticker) != 0)
			continue;

		struct row r;

		r.line = lineno;
		if (strlen(f[ci_d]) >= ZX_DATE_MAX || parse_date(f[ci_d], &r.key) < 0) {
			fail(err, errlen, "%s:%zu: bad date '%.40s' (want YYYY-MM-DD[ HH:MM[:SS]][zone])",
			    path, lineno, f[ci_d]);
			goto done;
		}
		strcpy(r.date, f[ci_d]);
		if (parse_close(f[ci_c], &r.close) < 0) {
			fail(err, errlen, "%s:%zu: close '%.40s' is not a number", path, lineno,
			    f[ci_c]);
			goto done;
		}
		if (!(r.close > 0)) {
			fail(err, errlen, "%s:%zu: close %.40s is not positive", path, lineno,
			    f[ci_c]);
			goto done;
		}
		if (nrows == rowcap) {
			size_t ncap = rowcap ? rowcap * 2 : 1024;
			struct row *nr = realloc(rows, ncap * sizeof(*rows));

			if (nr == NULL) {
				fail(err, errlen, "out of memory");
				goto done;
			}
			rows = nr;
			rowcap = ncap;
		}
		rows[nrows++] = r;
	}
	if (ferror(fp)) {
		fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto done;
	}
	if (nheader < 0) {
		fail(err, errlen, "%s: empty file (no header)", path);
		goto done;
	}
	if (nrows == 0) {
		fail(err, errlen, "%s: no rows for ticker '%s'", path, ticker);
		goto done;
	}
	qsort(rows, nrows, sizeof(*rows), cmp_row);
	for (size_t i = 1; i < nrows; i++) {
		if (rows[i].key == rows[i - 1].key) {
			fail(err, errlen, "%s: duplicate date %s for ticker '%s' (lines %zu and %zu)",
			    path, rows[i].date, ticker, rows[i - 1].line, rows[i].line);
			goto done;
		}
	}
	out->close = malloc(nrows * sizeof(double));
	out->date = malloc(nrows * sizeof(*out->date));
	if (out->close == NULL || out->date == NULL) {
		zx_prices_free(out);
		fail(err, errlen, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nrows; i++) {
		out->close[i] = rows[i].close;
		memcpy(out->date[i], rows[i].date, ZX_DATE_MAX);
	}
	out->n = nrows;
	rc = 0;
done:
	free(rows);
	free(f);
	free(line);
	fclose(fp);
	return rc;
}

void
zx_prices_free(struct zx_prices *p)
{
	free(p->close);
	free(p->date);
	p->close = NULL;
	p->date = NULL;
	p->n = 0;
}
