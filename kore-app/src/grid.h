/*
 * grid.h
 *	A sweep's full grid in the worker's artifact format, and its JSON.
 *
 * Plain C (no Kore calls). The worker writes every (fast, slow)
 * combination of a trading sweep to <artifact dir>/<job id>.csv, with
 * the header below (worker/src/artifact.c). GET /api/pipelines/{id}/results
 * serves that file as CSV as it is, or as JSON objects whose keys are the
 * header's columns; the database's top rows, when the file cannot be
 * read, go through the same path (written as CSV lines, then converted),
 * so both sources give the same row shape.
 */
#ifndef ZX_GRID_H
#define ZX_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ZX_GRID_COLUMNS		12
#define ZX_GRID_LINE_MAX	1024	/* longer lines are not the worker's */

/* The header line, without its newline. */
#define ZX_GRID_HEADER							\
	"fast,slow,total_return_pct,sharpe_ratio,max_drawdown_pct,"	\
	"total_trades,sortino_ratio,win_rate_pct,profit_factor,"	\
	"exposure_pct,score,rank"

/*
 * Converts CSV text, fed in pieces of any size, into JSON objects
 * separated by commas (the caller writes the enclosing array). The first
 * line must be the header. A cell is a JSON number copied as written, or
 * empty / nan / inf (any case and sign), which become null.
 */
struct zx_grid_conv {
	struct zx_buf	line;		/* a line split across pieces */
	uint64_t	rows;
	int		header_seen;
	char		error[160];	/* why the text was refused */
};

void	zx_grid_conv_init(struct zx_grid_conv *);
void	zx_grid_conv_free(struct zx_grid_conv *);
/* 0, or -1 with conv->error set (the output is then incomplete). */
int	zx_grid_conv_feed(struct zx_grid_conv *, const char *, size_t,
	    struct zx_buf *);
/* The end of the text: converts a last line without a newline. */
int	zx_grid_conv_finish(struct zx_grid_conv *, struct zx_buf *);

/* One CSV line in the artifact's format; a NULL cell is left empty. */
void	zx_grid_csv_row(struct zx_buf *, const char *const [ZX_GRID_COLUMNS]);

#endif
