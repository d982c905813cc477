/*
 * live_event.h
 *	The zixly_job_events notifications, read for the dashboard's live
 *	updates (live.c). Plain C (no Kore calls) so unit tests reach it.
 *
 * The extension publishes (extension/src/events.c)
 *	{"id":"...","tenant_id":"...","status":"..."}		one job
 *	{"ids":["...",...],"tenant_id":"...","status":"..."}	several
 * and browsers get either shape as
 *	{"type":"jobs","ids":["...",...],"status":"..."}
 * without the tenant, which only decides who receives it.
 */
#ifndef ZX_LIVE_EVENT_H
#define ZX_LIVE_EVENT_H

#include <stddef.h>

#include "buf.h"

#define ZX_LIVE_PAYLOAD_MAX	8000	/* NOTIFY's own limit */

/*
 * Reads one payload. Returns 0 with the tenant copied to tenant (NUL
 * terminated, at most tenantlen - 1 bytes) and the browsers' message
 * appended to out; -1 (out untouched) when the payload is not such an
 * event: not JSON, a member missing or mistyped, an id that is not 1 to
 * 64 of [a-z0-9], an unknown status, or a tenant too long.
 */
int	zx_live_event(const char *payload, char *tenant, size_t tenantlen,
	    struct zx_buf *out);

#endif
