/*
 * errors.h
 *	The app's error bodies, and how database errors become HTTP answers.
 *
 * Plain C (no Kore calls). Every error the app sends is a JSON object
 * {"error": code, "message": text, "details": [...]?} built here.
 */
#ifndef ZX_ERRORS_H
#define ZX_ERRORS_H

#include "buf.h"

/* {"error":code,"message":msg}; details_json (a JSON array) is optional. */
void	zx_error_body(struct zx_buf *, const char *code, const char *msg,
	    const char *details_json);

/* The fields of a PostgreSQL error that the mapping looks at. */
struct zx_pgerr {
	const char	*sqlstate;	/* NULL when the connection failed */
	const char	*message;	/* primary message */
	const char	*detail;
	const char	*column;	/* PG_DIAG_COLUMN_NAME */
};

/*
 * Maps a database error to an HTTP status and writes the JSON body:
 * 22023 (the extension's validation) is 400 invalid_payload with one
 * details entry per DETAIL line "field: message"; other data errors are
 * 400; P0002 404; 55000 and 23505 409; 42501 403; connection loss,
 * shutdown and resource errors 503; anything else 500 (no internals).
 */
int	zx_pgerr_map(const struct zx_pgerr *, struct zx_buf *);

/* Whether the error means the connection is gone (so a retry may help). */
int	zx_pgerr_conn_lost(const char *sqlstate);

/*
 * Whether the database, not the request, is at fault (the 503s): a lost
 * connection, no resources, a timeout, a lock not granted in time, a
 * serialization failure or deadlock.
 */
int	zx_pgerr_unavailable(const char *sqlstate);

#endif
