/*
 * rescue.c
 *	  zixly_rescue: RUNNING jobs whose owner is gone go back to the queue.
 *
 * An owner is gone when the database session that claimed the job has
 * ended (its pid is no longer a backend with the same start time, so pid
 * reuse is harmless), or when its lease ran out without a heartbeat. A
 * job that has used all its attempts is dead-lettered (FAILED) instead.
 * Sessions that a server restart ended count by their lease only (below).
 *
 * Live workers call this every second or so; it reads only RUNNING rows
 * through their partial index and the backend status array, which makes it
 * cheap however many finished jobs the table holds.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_rescue);
PG_FUNCTION_INFO_V1(zixly_rescue_jobs);
PG_FUNCTION_INFO_V1(zixly_session_alive);

/*
 * Is the backend with this pid and start time still running? Reads this
 * transaction's snapshot of the backend status array.
 */
Datum
zixly_session_alive(PG_FUNCTION_ARGS)
{
	int32		pid = PG_GETARG_INT32(0);
	TimestampTz started = PG_GETARG_TIMESTAMPTZ(1);
	int			n = pgstat_fetch_stat_numbackends();

	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *e = pgstat_fetch_stat_local_beentry(i);

		if (e != NULL && e->backendStatus.st_procpid == pid &&
			e->backendStatus.st_proc_start_timestamp == started)
			PG_RETURN_BOOL(true);
	}
	PG_RETURN_BOOL(false);
}

/*
 * When the server's processes started: the earliest start in the backend status array, which
 * holds the checkpointer and the other auxiliary processes.  A restart, or the reinitialisation
 * after a backend crashed, starts them again, and ends every session.
 */
static TimestampTz
instance_start(void)
{
	int			n = pgstat_fetch_stat_numbackends();
	TimestampTz earliest = GetCurrentTimestamp();

	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *e = pgstat_fetch_stat_local_beentry(i);

		if (e != NULL && e->backendStatus.st_proc_start_timestamp != 0 &&
			e->backendStatus.st_proc_start_timestamp < earliest)
			earliest = e->backendStatus.st_proc_start_timestamp;
	}
	return earliest;
}

/*
 * Rescues, leaving the rescued rows in SPI_tuptable (inside SPI_connect): column 5 is the row
 * as it is now.  Wakes the queues of the requeued jobs and publishes every rescued job's status.
 *
 * A session that ended in a restart (it started before the server's processes did) ended with
 * every other: its worker is most likely reconnecting, and its first heartbeat binds the job to
 * its new session.  Such jobs are rescued when their lease runs out, not at once; otherwise the
 * first worker back would take every other worker's running jobs, and spend their attempts.
 */
static void
rescue_rows(void)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		since;
	int			rc;
	ZixlyEvents *events;

	/*
	 * A fresh view of the backend status array: the one session_alive would otherwise reuse is
	 * as old as this transaction's first look at it, and a worker that connected since would
	 * count as gone (its jobs put back while it runs them).
	 */
	pgstat_clear_backend_activity_snapshot();
	since = TimestampTzGetDatum(instance_start());
	ZixlyPlan(&plan,
			  "UPDATE zixly.pipeline_jobs AS j"
			  "   SET status = CASE WHEN j.attempts OPERATOR(pg_catalog.>=) j.max_attempts"
			  "                     THEN 'FAILED' ELSE 'QUEUED' END,"
			  "       completed_at = CASE WHEN j.attempts OPERATOR(pg_catalog.>=) j.max_attempts"
			  "                     THEN pg_catalog.now() END,"
			  "       run_at = pg_catalog.now(),"
			  "       error_message = pg_catalog.format('worker %s lost the job (%s) on attempt %s of %s',"
			  "           j.locked_by,"
			  "           CASE WHEN zixly.session_alive(j.locked_pid, j.locked_backend_start)"
			  "                  OR j.locked_backend_start OPERATOR(pg_catalog.<) $1"
			  "                THEN 'lease expired' ELSE 'session ended' END,"
			  "           j.attempts, j.max_attempts),"
			  "       locked_pid = NULL, locked_backend_start = NULL, lease_expires_at = NULL,"
			  "       updated_at = pg_catalog.now()"
			  " WHERE j.status OPERATOR(pg_catalog.=) 'RUNNING'"
			  "   AND (j.lease_expires_at OPERATOR(pg_catalog.<) pg_catalog.now()"
			  "        OR (j.locked_backend_start OPERATOR(pg_catalog.>=) $1"
			  "            AND NOT zixly.session_alive(j.locked_pid, j.locked_backend_start))"
			  /* not claimed by zixly_claim (a direct write): nobody holds it */
			  "        OR j.lease_expires_at IS NULL OR j.locked_pid IS NULL"
			  "        OR j.locked_backend_start IS NULL)"
			  " RETURNING j.queue, j.status, j.id, j.tenant_id, j",
			  1, types);
	rc = SPI_execute_plan(plan, &since, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "zixly: rescue failed: %s", SPI_result_code_string(rc));
	events = ZixlyEventsBegin();
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *status = SPI_getvalue(tuple, desc, 2);

		if (strcmp(status, "QUEUED") == 0)
			ZixlyWakeQueue(SPI_getvalue(tuple, desc, 1));
		ZixlyEventsAdd(events, SPI_getvalue(tuple, desc, 3), SPI_getvalue(tuple, desc, 4), status);
	}
	ZixlyEventsEnd(events);
}

Datum
zixly_rescue(PG_FUNCTION_ARGS)
{
	int32		rescued;

	SPI_connect();
	rescue_rows();
	rescued = (int32) SPI_processed;
	SPI_finish();
	PG_RETURN_INT32(rescued);
}

/* zixly_rescue, returning the rescued jobs as they are now (a worker tells the dead-lettered
 * ones' callbacks). */
Datum
zixly_rescue_jobs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SPI_connect();
	rescue_rows();
	ZixlyRowsToTuplestore(rsinfo, 5);
	SPI_finish();
	return (Datum) 0;
}
