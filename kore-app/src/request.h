/*
 * request.h
 *	Parsing and checking what clients send, before anything reaches the
 *	database: media types, the job body's shape, credentials, the
 *	Idempotency-Key header, job ids in paths, cursors and query values.
 *
 * Plain C (no Kore calls) so unit tests reach it. Values are never
 * range-checked here: sweep parameters are the extension's business.
 */
#ifndef ZX_REQUEST_H
#define ZX_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ZX_BODY_MAX		(64 * 1024)	/* larger bodies are a 413 */
#define ZX_JSON_DEPTH		32		/* deeper nesting is a 400 */
#define ZX_IDEM_KEY_MAX		255
#define ZX_ID_MAX		64		/* job, tenant and user ids */
#define ZX_TOKEN_MAX		4096		/* API keys and JWTs */

/* The job options a job body may carry besides the sweep parameters. */
struct zx_job_body {
	int		 has_priority;
	int32_t		 priority;
	char		*idempotency_key;	/* from the body; malloc'd or NULL */
};

/*
 * Checks a job body (webhook or dashboard): size, UTF-8, well-formed JSON
 * no deeper than ZX_JSON_DEPTH, an object; reads the job options
 * "priority" and "idempotency_key". Returns 0, or an HTTP status (400,
 * 413) with the JSON error body appended to err.
 */
int	zx_job_body_parse(const char *, size_t, struct zx_job_body *,
	    struct zx_buf *err);
void	zx_job_body_clear(struct zx_job_body *);

/* The keys zixly_enqueue must not see (SQL text array literal). */
#define ZX_JOB_OPTION_KEYS	"{priority,idempotency_key}"

/* Login body: {"email": ..., "password": ...}; same contract as above. */
int	zx_login_body_parse(const char *, size_t, char **email, char **password,
	    struct zx_buf *err);

/* Content-Type is application/json (or +json), charset utf-8 if given. */
int	zx_media_type_is_json(const char *);

enum zx_cred_kind {
	ZX_CRED_NONE = 0,	/* nothing presented */
	ZX_CRED_API_KEY,	/* X-API-Key, or a bearer that is not a JWT */
	ZX_CRED_JWT,		/* a bearer with the shape of a JWT */
	ZX_CRED_BAD,		/* unreadable Authorization, or two that differ */
};

/* The credential from X-API-Key and/or Authorization: Bearer (copied to out). */
enum zx_cred_kind zx_credential(const char *x_api_key, const char *authorization,
	    char *out, size_t outlen);

/* Idempotency-Key: 1..255 printable ASCII (sf-string quotes removed). */
int	zx_idempotency_key_parse(const char *, char *, size_t);

/*
 * "/api/pipelines/<id>[/<action>]": copies the id ([a-z0-9], 1..64) and
 * returns the action ("" if none), or NULL if the path does not match.
 */
const char *zx_path_job_id(const char *, char *, size_t);

/* Whether the raw query string names a parameter (validated or not). */
int	zx_qs_present(const char *, const char *);

/* Decimal integer in [lo, hi]; -1 otherwise. */
int	zx_parse_long(const char *, long, long, long *);

/* Page cursors: base64url("<created_at epoch microseconds>:<job id>"). */
void	zx_cursor_encode(struct zx_buf *, const char *micros, const char *id);
int	zx_cursor_decode(const char *, char *micros, size_t, char *id, size_t);

/* Whether the client asked for CSV: ?format=csv, else the Accept header. */
int	zx_wants_csv(const char *accept, const char *format);

/* ISO 8601 UTC with milliseconds for a Unix time. */
void	zx_iso8601(int64_t, char *, size_t);

#endif
