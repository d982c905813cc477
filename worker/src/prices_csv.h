/*
 * prices_csv.h — load one ticker's closes from a prices CSV file.
 *
 * The file has a header naming at least the columns ticker, date (or ts) and close, in any
 * order, extra columns ignored; fields may be double-quoted (RFC 4180, no line breaks inside).
 * Rows may come in any order; the ticker's rows are returned sorted by date.  Dates are
 * YYYY-MM-DD, optionally followed by [T ]HH:MM[:SS[.fraction]] and a zone (Z, +HH[:MM],
 * -HH[:MM]; PostgreSQL's timestamptz output reads as is).  Every row must have as many fields as the
 * header; the selected ticker's rows must have a valid date, a finite close > 0, and no date
 * twice.  Result convention: 0 ok, -1 error with a one-line reason in err.
 */
#ifndef ZX_PRICES_CSV_H
#define ZX_PRICES_CSV_H

#include <stddef.h>

#define ZX_DATE_MAX 40		/* longest date text kept, NUL included */

struct zx_prices {
	size_t n;
	double *close;			/* ascending date */
	char (*date)[ZX_DATE_MAX];	/* the dates as written, trimmed */
};

int zx_prices_load_csv(const char *path, const char *ticker, struct zx_prices *out, char *err,
    size_t errlen);
void zx_prices_free(struct zx_prices *p);

#endif /* ZX_PRICES_CSV_H */
