/*
 * transitions.c
 *	  The status transitions after a claim, and the operator's ones:
 *	  complete, fail (retry with backoff or dead-letter), release, cancel,
 *	  retry and prune.
 *
 * Each transition is one UPDATE whose WHERE clause states what must hold
 * (status, owner), so concurrent transitions cannot both succeed. When it
 * matches no row, the job is read once more only to say why.
 *
 * Backoff: a failed attempt n (1-based) with attempts left is due again
 * after 2^n seconds (2 s, 4 s, 8 s, ...), capped at 2^16 s.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_complete);
PG_FUNCTION_INFO_V1(zixly_complete_batch);
PG_FUNCTION_INFO_V1(zixly_fail);
PG_FUNCTION_INFO_V1(zixly_release);
PG_FUNCTION_INFO_V1(zixly_cancel);
PG_FUNCTION_INFO_V1(zixly_retry);
PG_FUNCTION_INFO_V1(zixly_prune);

#define MAX_ERROR_MESSAGE 10000
#define NO_ATTEMPT (-1)

/*
 * The optional attempt argument: the attempt the caller runs (a worker's
 * fencing token: a claim's attempts), or NO_ATTEMPT when NULL.
 */
static int32
attempt_arg(FunctionCallInfo fcinfo, int argno)
{
	int32		attempt;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NO_ATTEMPT;
	attempt = PG_GETARG_INT32(argno);
	if (attempt < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("attempt must be 1 or more")));
	return attempt;
}

/* SET list shared by every transition that ends the ownership of a job. */
#define UNLOCK \
	" locked_pid = NULL, locked_backend_start = NULL, lease_expires_at = NULL," \
	" updated_at = pg_catalog.now()"

static void read_job(Datum job_id);
static void explain_no_row(Datum job_id, const char *worker_id, int32 attempt,
						   const char *action);
static Datum run_row_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *types,
						  Datum *values, const char *nulls, Datum job_id,
						  const char *worker_id, int32 attempt, const char *action,
						  bool as_owner);

/*
 * Runs an UPDATE ... RETURNING j for one job and returns the row, or
 * raises the reason the job could not take that transition.  attempt is
 * the one the caller says it runs, or NO_ATTEMPT.  as_owner: the app's
 * cancel or retry, made as the table's owner (app_write.c) on a job of the
 * transaction's tenant that the app can see, as its policy allowed before.
 */
static Datum
run_row_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *types, Datum *values,
			 const char *nulls, Datum job_id, const char *worker_id, int32 attempt,
			 const char *action, bool as_owner)
{
	Datum		row;
	int			rc;

	SPI_connect();
	if (as_owner)
	{
		/* the UPDATE policy's condition, whatever else lets the caller read the job */
		read_job(job_id);
		if (!ZixlyIsAppTenant(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4)))
			explain_no_row(job_id, worker_id, attempt, action);
	}
	ZixlyPlan(cache, sql, nargs, types);
	rc = ZixlyExecuteJobWrite(*cache, values, nulls, 1, as_owner);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "zixly: %s failed: %s", action, SPI_result_code_string(rc));
	if (SPI_processed == 0)
		explain_no_row(job_id, worker_id, attempt, action);
	row = ZixlyRowDatum(0);
	SPI_finish();
	ZixlyPublishRow(row);
	return row;
}

/* The job's status, owner, attempts and tenant as the caller sees it, in SPI_tuptable; else an error. */
static void
read_job(Datum job_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {TEXTOID};
	int			rc;

	ZixlyPlan(&plan,
			  "SELECT j.status, j.locked_by, j.attempts, j.tenant_id FROM zixly.pipeline_jobs j"
			  " WHERE j.id OPERATOR(pg_catalog.=) $1",
			  1, types);
	/* not read-only: a fresh snapshot sees the transition that beat this one */
	rc = SPI_execute_plan(plan, &job_id, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "zixly: job lookup failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("job \"%s\" does not exist", TextDatumGetCString(job_id))));
}

static void
explain_no_row(Datum job_id, const char *worker_id, int32 attempt, const char *action)
{
	char	   *id = TextDatumGetCString(job_id);
	char	   *status;
	char	   *owner;
	char	   *held_attempt;

	read_job(job_id);
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	held_attempt = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	if (worker_id != NULL && attempt != NO_ATTEMPT && strcmp(status, "RUNNING") == 0 &&
		owner != NULL && strcmp(owner, worker_id) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s job \"%s\": worker \"%s\" holds it on attempt %s, not %d",
						action, id, worker_id, held_attempt, attempt)));
	if (worker_id != NULL && strcmp(status, "RUNNING") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s job \"%s\": it is held by worker \"%s\", not \"%s\"",
						action, id, owner ? owner : "", worker_id)));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s job \"%s\": its status is %s", action, id, status)));
}

static Datum
jsonb_or_null(FunctionCallInfo fcinfo, int argno, char *null_flag)
{
	*null_flag = PG_ARGISNULL(argno) ? 'n' : ' ';
	return PG_ARGISNULL(argno) ? (Datum) 0 : PG_GETARG_DATUM(argno);
}

Datum
zixly_complete(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[5] = {TEXTOID, TEXTOID, JSONBOID, JSONBOID, INT4OID};
	Datum		values[5];
	char		nulls[5] = "     ";
	char	   *worker_id = ZixlyRequiredCString(fcinfo, 1, "worker_id");
	int32		attempt = attempt_arg(fcinfo, 4);

	values[0] = PointerGetDatum(ZixlyTextArg(fcinfo, 0, "job_id"));
	values[1] = CStringGetTextDatum(worker_id);
	values[2] = jsonb_or_null(fcinfo, 2, &nulls[2]);
	values[3] = jsonb_or_null(fcinfo, 3, &nulls[3]);
	values[4] = Int32GetDatum(attempt);
	nulls[4] = attempt == NO_ATTEMPT ? 'n' : ' ';
	PG_RETURN_DATUM(run_row_plan(&plan,
								 "UPDATE zixly.pipeline_jobs AS j"
								 "   SET status = 'COMPLETED', result = $3, metrics = $4,"
								 "       completed_at = pg_catalog.now(), error_message = NULL," UNLOCK
								 " WHERE j.id OPERATOR(pg_catalog.=) $1"
								 "   AND j.status OPERATOR(pg_catalog.=) 'RUNNING'"
								 "   AND j.locked_by OPERATOR(pg_catalog.=) $2"
								 "   AND ($5 IS NULL OR j.attempts OPERATOR(pg_catalog.=) $5)"
								 " RETURNING j",
								 5, types, values, nulls, values[0], worker_id, attempt,
								 "complete", false));
}

/*
 * Completes many jobs without results; returns the ids it completed.  The ids are joined, not
 * tested with = ANY: as a filter on the worker's running jobs that costs a comparison per held
 * job per id, over a quarter of all CPU in a drain of 1,000-job batches (perf).
 */
Datum
zixly_complete_batch(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[2] = {TEXTOID, TEXTARRAYOID};
	Datum		values[2];
	int			rc;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	values[0] = CStringGetTextDatum(ZixlyRequiredCString(fcinfo, 0, "worker_id"));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("job_ids must not be null")));
	values[1] = PG_GETARG_DATUM(1);

	SPI_connect();
	ZixlyPlan(&plan,
			  "UPDATE zixly.pipeline_jobs AS j"
			  "   SET status = 'COMPLETED', completed_at = pg_catalog.now(), error_message = NULL," UNLOCK
			  "  FROM pg_catalog.unnest($2) AS u(id)"
			  " WHERE j.id OPERATOR(pg_catalog.=) u.id"
			  "   AND j.status OPERATOR(pg_catalog.=) 'RUNNING'"
			  "   AND j.locked_by OPERATOR(pg_catalog.=) $1"
			  " RETURNING j.id, j.tenant_id",
			  2, types);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "zixly: complete_batch failed: %s", SPI_result_code_string(rc));
	ZixlyFirstColumnToTuplestore(rsinfo);
	ZixlyPublishSpiRows(1, 2, "COMPLETED");
	SPI_finish();
	return (Datum) 0;
}

/* In zixly_fail: will this failed attempt be tried again? */
#define AGAIN "($4 AND j.attempts OPERATOR(pg_catalog.<) j.max_attempts)"

Datum
zixly_fail(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, BOOLOID, INT4OID};
	Datum		values[5];
	char		nulls[5] = "     ";
	char	   *worker_id = ZixlyRequiredCString(fcinfo, 1, "worker_id");
	char	   *error = text_to_cstring(ZixlyTextArg(fcinfo, 2, "error"));
	int32		attempt = attempt_arg(fcinfo, 4);
	Datum		row;
	bool		isnull;

	if (strlen(error) > MAX_ERROR_MESSAGE)
		error[pg_mbcliplen(error, strlen(error), MAX_ERROR_MESSAGE)] = '\0';
	values[0] = PointerGetDatum(ZixlyTextArg(fcinfo, 0, "job_id"));
	values[1] = CStringGetTextDatum(worker_id);
	values[2] = CStringGetTextDatum(error);
	values[3] = BoolGetDatum(PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3));
	values[4] = Int32GetDatum(attempt);
	nulls[4] = attempt == NO_ATTEMPT ? 'n' : ' ';
	row = run_row_plan(&plan,
					   "UPDATE zixly.pipeline_jobs AS j"
					   "   SET status = CASE WHEN " AGAIN " THEN 'QUEUED' ELSE 'FAILED' END,"
					   "       run_at = CASE WHEN " AGAIN " THEN pg_catalog.now() OPERATOR(pg_catalog.+)"
					   "                pg_catalog.make_interval(secs => pg_catalog.power(2::float8,"
					   "                  LEAST(j.attempts, 16)::float8))"
					   "                ELSE j.run_at END,"
					   "       completed_at = CASE WHEN " AGAIN " THEN NULL ELSE pg_catalog.now() END,"
					   "       error_message = $3," UNLOCK
					   " WHERE j.id OPERATOR(pg_catalog.=) $1"
					   "   AND j.status OPERATOR(pg_catalog.=) 'RUNNING'"
					   "   AND j.locked_by OPERATOR(pg_catalog.=) $2"
					   "   AND ($5 IS NULL OR j.attempts OPERATOR(pg_catalog.=) $5)"
					   " RETURNING j",
					   5, types, values, nulls, values[0], worker_id, attempt, "fail",
					   false);
	/* to be tried again later: waiting workers re-read when the next job is due */
	if (strcmp(TextDatumGetCString(GetAttributeByName(DatumGetHeapTupleHeader(row), "status", &isnull)),
			   "QUEUED") == 0)
		ZixlyWakeAtCommit();
	PG_RETURN_DATUM(row);
}

/*
 * A RUNNING job back to the queue, the attempt not counted.  It keeps its run_at, so it keeps
 * its place in claim order: a worker that claimed more jobs than it could start gives them back
 * ahead of the jobs queued after them.
 */
Datum
zixly_release(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char	   *worker_id = ZixlyRequiredCString(fcinfo, 1, "worker_id");
	Datum		row;
	HeapTupleHeader th;
	bool		isnull;

	values[0] = PointerGetDatum(ZixlyTextArg(fcinfo, 0, "job_id"));
	values[1] = CStringGetTextDatum(worker_id);
	row = run_row_plan(&plan,
					   "UPDATE zixly.pipeline_jobs AS j"
					   "   SET status = 'QUEUED',"
					   "       attempts = GREATEST(j.attempts OPERATOR(pg_catalog.-) 1, 0),"
					   "       started_at = NULL, locked_by = NULL," UNLOCK
					   " WHERE j.id OPERATOR(pg_catalog.=) $1"
					   "   AND j.status OPERATOR(pg_catalog.=) 'RUNNING'"
					   "   AND j.locked_by OPERATOR(pg_catalog.=) $2"
					   " RETURNING j",
					   2, types, values, NULL, values[0], worker_id, NO_ATTEMPT, "release",
					   false);
	th = DatumGetHeapTupleHeader(row);
	ZixlyWakeQueue(TextDatumGetCString(GetAttributeByName(th, "queue", &isnull)));
	PG_RETURN_DATUM(row);
}

Datum
zixly_cancel(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	values[0] = PointerGetDatum(ZixlyTextArg(fcinfo, 0, "job_id"));
	PG_RETURN_DATUM(run_row_plan(&plan,
								 "UPDATE zixly.pipeline_jobs AS j"
								 "   SET status = 'CANCELLED', completed_at = pg_catalog.now()," UNLOCK
								 " WHERE j.id OPERATOR(pg_catalog.=) $1"
								 "   AND j.status OPERATOR(pg_catalog.=) ANY ('{QUEUED,RUNNING}')"
								 " RETURNING j",
								 1, types, values, NULL, values[0], NULL, NO_ATTEMPT, "cancel",
								 ZixlyAppWritesAsOwner(ACL_UPDATE)));
}

/* A dead letter (FAILED) or CANCELLED job back to the queue, attempts reset. */
Datum
zixly_retry(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {TEXTOID, TIMESTAMPTZOID};
	Datum		values[2];
	char		nulls[2] = "  ";
	Datum		row;
	HeapTupleHeader th;
	bool		isnull;
	TimestampTz run_at;

	values[0] = PointerGetDatum(ZixlyTextArg(fcinfo, 0, "job_id"));
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[1] = PG_ARGISNULL(1) ? 'n' : ' ';
	if (!PG_ARGISNULL(1) && TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("run_at must be a finite timestamp")));
	row = run_row_plan(&plan,
					   "UPDATE zixly.pipeline_jobs AS j"
					   "   SET status = 'QUEUED', attempts = 0,"
					   "       run_at = coalesce($2, pg_catalog.now()),"
					   "       started_at = NULL, completed_at = NULL, locked_by = NULL," UNLOCK
					   " WHERE j.id OPERATOR(pg_catalog.=) $1"
					   "   AND j.status OPERATOR(pg_catalog.=) ANY ('{FAILED,CANCELLED}')"
					   " RETURNING j",
					   2, types, values, nulls, values[0], NULL, NO_ATTEMPT, "retry",
					   ZixlyAppWritesAsOwner(ACL_UPDATE));
	th = DatumGetHeapTupleHeader(row);
	run_at = DatumGetTimestampTz(GetAttributeByName(th, "run_at", &isnull));
	if (run_at <= GetCurrentTransactionStartTimestamp())
		ZixlyWakeQueue(TextDatumGetCString(GetAttributeByName(th, "queue", &isnull)));
	else
		ZixlyWakeAtCommit();	/* due later: waiting workers re-read the next due time */
	PG_RETURN_DATUM(row);
}

/* Retention: deletes finished jobs (and, by cascade, their results). */
Datum
zixly_prune(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {INTERVALOID, BOOLOID};
	Datum		values[2];
	Interval	zero = {0};
	int			rc;
	uint64		n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("older_than must not be null")));
	if (DatumGetBool(DirectFunctionCall2(interval_lt, PG_GETARG_DATUM(0), IntervalPGetDatum(&zero))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than must not be negative")));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = BoolGetDatum(PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1));

	SPI_connect();
	ZixlyPlan(&plan,
			  "DELETE FROM zixly.pipeline_jobs j"
			  " WHERE (j.status OPERATOR(pg_catalog.=) ANY ('{COMPLETED,CANCELLED}')"
			  "        OR ($2 AND j.status OPERATOR(pg_catalog.=) 'FAILED'))"
			  "   AND j.completed_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)",
			  2, types);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "zixly: prune failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}
