/*
 * events.c
 *	  Notifications: workers are woken on channel zixly_jobs (payload: the
 *	  queue name) when jobs become claimable, and every status change is
 *	  published on zixly_job_events as {"id","tenant_id","status"} for live
 *	  dashboards.
 *
 * Notifications are transactional: they are delivered at commit, never for
 * a transaction that rolls back. The status events come from a row trigger
 * so that no transition can skip them; the wake-ups are sent by the
 * functions that make jobs due, once per call and queue.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/rel.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_job_event_trigger);

void
ZixlyWakeQueue(const char *queue)
{
	Async_Notify(ZIXLY_WAKE_CHANNEL, queue);
}

static char *
text_column(HeapTuple tuple, TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);
	bool		isnull;
	Datum		d;

	if (attno <= 0)
		elog(ERROR, "zixly: column \"%s\" not found", name);
	d = heap_getattr(tuple, attno, desc, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

Datum
zixly_job_event_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	desc;
	StringInfoData payload;
	char	   *id;
	char	   *tenant;
	char	   *status;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "zixly.job_event_trigger must be an AFTER ... FOR EACH ROW trigger");

	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	desc = RelationGetDescr(trigdata->tg_relation);
	id = text_column(tuple, desc, "id");
	tenant = text_column(tuple, desc, "tenant_id");
	status = text_column(tuple, desc, "status");

	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"id\":");
	escape_json(&payload, id ? id : "");
	appendStringInfoString(&payload, ",\"tenant_id\":");
	escape_json(&payload, tenant ? tenant : "");
	appendStringInfoString(&payload, ",\"status\":");
	escape_json(&payload, status ? status : "");
	appendStringInfoChar(&payload, '}');
	Async_Notify(ZIXLY_EVENT_CHANNEL, payload.data);

	return PointerGetDatum(NULL);
}
