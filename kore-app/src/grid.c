/*
 * grid.c
 *	The grid CSV to JSON conversion, and CSV lines for database rows.
 *
 * The conversion is incremental (the results endpoint streams a grid of
 * up to 250,000 rows in pieces) and strict: every line must have the
 * twelve cells of the header, and every cell must be a number, so a file
 * that is not the worker's never turns into broken JSON. Numbers are
 * copied as the worker wrote them (17 significant digits), not reparsed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "grid.h"

static const char *const columns[ZX_GRID_COLUMNS] = {
	"fast", "slow", "total_return_pct", "sharpe_ratio", "max_drawdown_pct",
	"total_trades", "sortino_ratio", "win_rate_pct", "profit_factor",
	"exposure_pct", "score", "rank"
};

static int	cell_is_number(const char *, size_t);
static int	cell_is_nonfinite(const char *, size_t);
static int	conv_line(struct zx_grid_conv *, const char *, size_t,
		    struct zx_buf *);

void
zx_grid_conv_init(struct zx_grid_conv *c)
{
	memset(c, 0, sizeof(*c));
	zx_buf_init(&c->line, 256);
}

void
zx_grid_conv_free(struct zx_grid_conv *c)
{
	zx_buf_free(&c->line);
}

static int
digits(const char *s, size_t n, size_t *i)
{
	size_t	start = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return (*i > start);
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
cell_is_number(const char *s, size_t n)
{
	size_t	i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i >= n || s[i] < '1' || s[i] > '9' || !digits(s, n, &i))
		return (0);
	if (i < n && s[i] == '.') {
		i++;
		if (!digits(s, n, &i))
			return (0);
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!digits(s, n, &i))
			return (0);
	}
	return (i == n);
}

/* nan, inf, infinity with an optional sign, any case (printf and PostgreSQL). */
static int
cell_is_nonfinite(const char *s, size_t n)
{
	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		s++;
		n--;
	}
	return ((n == 3 && (strncasecmp(s, "nan", 3) == 0 ||
	    strncasecmp(s, "inf", 3) == 0)) ||
	    (n == 8 && strncasecmp(s, "infinity", 8) == 0));
}

/* One complete line (no newline). */
static int
conv_line(struct zx_grid_conv *c, const char *l, size_t n, struct zx_buf *out)
{
	const char	*cell, *end;
	size_t		 len;
	int		 i;

	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (!c->header_seen) {
		if (n != sizeof(ZX_GRID_HEADER) - 1 ||
		    memcmp(l, ZX_GRID_HEADER, n) != 0) {
			(void)snprintf(c->error, sizeof(c->error),
			    "the first line is not the grid header");
			return (-1);
		}
		c->header_seen = 1;
		return (0);
	}

	zx_buf_puts(out, c->rows > 0 ? ",{" : "{");
	for (i = 0, cell = l; i < ZX_GRID_COLUMNS; i++, cell = end + 1) {
		end = memchr(cell, ',', (size_t)(l + n - cell));
		if ((end == NULL) != (i == ZX_GRID_COLUMNS - 1)) {
			(void)snprintf(c->error, sizeof(c->error), "line %llu "
			    "does not have %d cells",
			    (unsigned long long)c->rows + 2, ZX_GRID_COLUMNS);
			return (-1);
		}
		if (end == NULL)
			end = l + n;
		len = (size_t)(end - cell);
		zx_buf_appendf(out, "%s\"%s\":", i > 0 ? "," : "", columns[i]);
		if (len == 0 || cell_is_nonfinite(cell, len)) {
			zx_buf_puts(out, "null");
		} else if (cell_is_number(cell, len)) {
			zx_buf_append(out, cell, len);
		} else {
			(void)snprintf(c->error, sizeof(c->error), "line %llu: "
			    "%s is not a number", (unsigned long long)c->rows + 2,
			    columns[i]);
			return (-1);
		}
	}
	zx_buf_puts(out, "}");
	c->rows++;
	return (0);
}

int
zx_grid_conv_feed(struct zx_grid_conv *c, const char *s, size_t n,
    struct zx_buf *out)
{
	const char	*nl;
	size_t		 take;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		take = nl != NULL ? (size_t)(nl - s) : n;
		if (c->line.len + take > ZX_GRID_LINE_MAX) {
			(void)snprintf(c->error, sizeof(c->error), "line %llu is "
			    "longer than %d bytes", (unsigned long long)c->rows +
			    (c->header_seen ? 2 : 1), ZX_GRID_LINE_MAX);
			return (-1);
		}
		if (nl == NULL) {
			zx_buf_append(&c->line, s, take);
			return (0);
		}
		if (c->line.len > 0) {
			zx_buf_append(&c->line, s, take);
			if (conv_line(c, c->line.data, c->line.len, out) == -1)
				return (-1);
			zx_buf_reset(&c->line);
		} else if (conv_line(c, s, take, out) == -1) {
			return (-1);
		}
		s += take + 1;
		n -= take + 1;
	}
	return (0);
}

int
zx_grid_conv_finish(struct zx_grid_conv *c, struct zx_buf *out)
{
	if (c->line.len > 0) {
		if (conv_line(c, c->line.data, c->line.len, out) == -1)
			return (-1);
		zx_buf_reset(&c->line);
	}
	if (!c->header_seen) {
		(void)snprintf(c->error, sizeof(c->error), "the grid is empty");
		return (-1);
	}
	return (0);
}

void
zx_grid_csv_row(struct zx_buf *b, const char *const cells[ZX_GRID_COLUMNS])
{
	int	i;

	for (i = 0; i < ZX_GRID_COLUMNS; i++) {
		if (i > 0)
			zx_buf_puts(b, ",");
		if (cells[i] != NULL)
			zx_buf_puts(b, cells[i]);
	}
	zx_buf_puts(b, "\n");
}
