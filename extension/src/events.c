/*
 * events.c
 *	  Notifications: workers are woken on channel zixly_jobs (payload: the
 *	  queue name) when jobs become claimable, and status changes are
 *	  published on zixly_job_events for live dashboards.
 *
 * Notifications are transactional: delivered at commit, never for a
 * transaction that rolls back. Each one costs a slot in the server's
 * notification queue, written under a cluster-wide lock at commit, so they
 * are coalesced: one wake-up per call and queue, and one status event per
 * statement, tenant and status. A transition of one job publishes
 *     {"id": "...", "tenant_id": "...", "status": "..."}
 * and one of many jobs (batch enqueue, claim, batch completion, rescue)
 *     {"ids": ["...", ...], "tenant_id": "...", "status": "..."}
 * split so that no payload exceeds MAX_PAYLOAD bytes. Every transition goes
 * through the zixly_* functions, which publish what they changed. A
 * session with zixly.notify = events sends only the status events, one
 * with zixly.notify = off neither kind (see wake.c).
 */
#include "postgres.h"

#include "commands/async.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "zixly.h"

#define MAX_PAYLOAD 7000		/* NOTIFY's limit is 8000 bytes */

typedef struct EventGroup
{
	char	   *tenant_id;
	char	   *status;
	char	   *first_id;
	StringInfoData ids;			/* JSON array body of every id so far */
	int			count;
} EventGroup;

/* One group per tenant and status met in the statement, in the order first met. */
struct ZixlyEvents
{
	EventGroup *groups;
	int			ngroups;
	int			capacity;
	int			last;			/* the group of the previous row: rows often come in runs */
};

void
ZixlyWakeQueue(const char *queue)
{
	ZixlyWakeAtCommit();
	if (ZixlyWakeNotifyEnabled())
		Async_Notify(ZIXLY_WAKE_CHANNEL, queue);
}

static void
emit(const char *key, const char *value_json, const char *tenant_id, const char *status)
{
	StringInfoData payload;

	if (!ZixlyEventsEnabled())
		return;
	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"%s\":%s,\"tenant_id\":", key, value_json);
	escape_json(&payload, tenant_id);
	appendStringInfoString(&payload, ",\"status\":");
	escape_json(&payload, status);
	appendStringInfoChar(&payload, '}');
	Async_Notify(ZIXLY_EVENT_CHANNEL, payload.data);
	pfree(payload.data);
}

void
ZixlyPublishStatus(const char *id, const char *tenant_id, const char *status)
{
	StringInfoData idjson;

	initStringInfo(&idjson);
	escape_json(&idjson, id);
	emit("id", idjson.data, tenant_id, status);
	pfree(idjson.data);
}

/* Publishes the status of a job row returned by a transition. */
void
ZixlyPublishRow(Datum row)
{
	HeapTupleHeader th = DatumGetHeapTupleHeader(row);
	bool		isnull[3];
	Datum		id = GetAttributeByName(th, "id", &isnull[0]);
	Datum		tenant = GetAttributeByName(th, "tenant_id", &isnull[1]);
	Datum		status = GetAttributeByName(th, "status", &isnull[2]);

	if (isnull[0] || isnull[1] || isnull[2])
		elog(ERROR, "zixly: job row without id, tenant or status");
	ZixlyPublishStatus(TextDatumGetCString(id), TextDatumGetCString(tenant),
					   TextDatumGetCString(status));
}

ZixlyEvents *
ZixlyEventsBegin(void)
{
	return palloc0(sizeof(ZixlyEvents));
}

static void
flush_group(EventGroup *g)
{
	if (g->count == 1)
		ZixlyPublishStatus(g->first_id, g->tenant_id, g->status);
	else if (g->count > 1)
	{
		StringInfoData arr;

		initStringInfo(&arr);
		appendStringInfoChar(&arr, '[');
		appendBinaryStringInfo(&arr, g->ids.data, g->ids.len);
		appendStringInfoChar(&arr, ']');
		emit("ids", arr.data, g->tenant_id, g->status);
		pfree(arr.data);
	}
	resetStringInfo(&g->ids);
	g->count = 0;
}

void
ZixlyEventsAdd(ZixlyEvents *ev, const char *id, const char *tenant_id, const char *status)
{
	EventGroup *g = NULL;

	for (int k = 0; k < ev->ngroups && g == NULL; k++)
	{
		int			i = (ev->last + k) % ev->ngroups;

		if (strcmp(ev->groups[i].tenant_id, tenant_id) == 0 &&
			strcmp(ev->groups[i].status, status) == 0)
		{
			g = &ev->groups[i];
			ev->last = i;
		}
	}
	if (g == NULL)
	{
		if (ev->ngroups == ev->capacity)
		{
			ev->capacity = ev->capacity ? ev->capacity * 2 : 4;
			ev->groups = ev->groups ? repalloc(ev->groups, sizeof(EventGroup) * ev->capacity)
				: palloc(sizeof(EventGroup) * ev->capacity);
		}
		ev->last = ev->ngroups;
		g = &ev->groups[ev->ngroups++];
		g->tenant_id = pstrdup(tenant_id);
		g->status = pstrdup(status);
		initStringInfo(&g->ids);
		g->count = 0;
	}
	if (g->ids.len + strlen(id) + strlen(tenant_id) + 64 > MAX_PAYLOAD)
		flush_group(g);
	if (g->count == 0)
		g->first_id = pstrdup(id);
	else
		appendStringInfoChar(&g->ids, ',');
	escape_json(&g->ids, id);
	g->count++;
}

void
ZixlyEventsEnd(ZixlyEvents *ev)
{
	for (int i = 0; i < ev->ngroups; i++)
		flush_group(&ev->groups[i]);
	ev->ngroups = 0;
}
