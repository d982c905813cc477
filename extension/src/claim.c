/*
 * claim.c
 *	  zixly_claim and zixly_heartbeat: how a worker takes jobs and keeps them.
 *
 * Locking: a claim locks due QUEUED rows with FOR UPDATE SKIP LOCKED in
 * claim order (priority DESC, run_at, id), so concurrent claimers never
 * wait on each other and never take the same job. The claimer's backend
 * pid and start time are stored with the job; zixly_rescue uses them to
 * put back jobs whose session has ended without waiting for the lease.
 *
 * zixly_claim is declared with enable_seqscan/enable_sort off: its plan is
 * cached for the life of the session, and a plan made while the table was
 * empty must still probe the partial claim index when it holds millions.
 * The locking subquery is a MATERIALIZED CTE so that it runs exactly once:
 * as a plain subquery the planner may rescan it per outer row, and every
 * rescan of LIMIT ... SKIP LOCKED locks the next job, claiming past max_jobs.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_claim);
PG_FUNCTION_INFO_V1(zixly_heartbeat);

#define MAX_CLAIM 1000

/* A lease must be positive and at most a week. */
static Datum
lease_arg(FunctionCallInfo fcinfo, int argno)
{
	Interval   *lease;
	Interval	zero = {0};
	Interval	week = {.day = 7};

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease must not be null")));
	lease = PG_GETARG_INTERVAL_P(argno);
	if (DatumGetBool(DirectFunctionCall2(interval_le, IntervalPGetDatum(lease), IntervalPGetDatum(&zero))) ||
		DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(lease), IntervalPGetDatum(&week))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease must be more than 0 and at most 7 days")));
	return PointerGetDatum(lease);
}

/* NULL, or a non-empty array of non-null text without NULL elements. */
static Datum
text_array_arg(FunctionCallInfo fcinfo, int argno, const char *name, bool *isnull)
{
	ArrayType  *arr;

	*isnull = PG_ARGISNULL(argno);
	if (*isnull)
		return (Datum) 0;
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", name)));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls", name)));
	return PointerGetDatum(arr);
}

/* A claimed row and its claim-order key: priority DESC, run_at, id (the claim index's order). */
typedef struct ClaimedRow
{
	int32		priority;
	TimestampTz run_at;
	text	   *id;
	HeapTuple	tuple;
} ClaimedRow;

static int
claim_order_cmp(const void *a, const void *b)
{
	const ClaimedRow *x = a;
	const ClaimedRow *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->run_at != y->run_at)
		return x->run_at < y->run_at ? -1 : 1;
	return varstr_cmp(VARDATA_ANY(x->id), VARSIZE_ANY_EXHDR(x->id),
					  VARDATA_ANY(y->id), VARSIZE_ANY_EXHDR(y->id), DEFAULT_COLLATION_OID);
}

/* Orders the claim's SPI result rows (columns: j, id, tenant_id, priority, run_at). */
static void
sort_in_claim_order(void)
{
	uint64		n = SPI_processed;
	ClaimedRow *rows;
	bool		isnull;

	if (n < 2)
		return;
	rows = palloc(n * sizeof(ClaimedRow));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];

		rows[i].tuple = t;
		rows[i].id = DatumGetTextPP(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull));
		rows[i].priority = DatumGetInt32(SPI_getbinval(t, SPI_tuptable->tupdesc, 4, &isnull));
		rows[i].run_at = DatumGetTimestampTz(SPI_getbinval(t, SPI_tuptable->tupdesc, 5, &isnull));
	}
	qsort(rows, n, sizeof(ClaimedRow), claim_order_cmp);
	for (uint64 i = 0; i < n; i++)
		SPI_tuptable->vals[i] = rows[i].tuple;
	pfree(rows);
}

Datum
zixly_claim(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[6] = {TEXTOID, INT4OID, TEXTARRAYOID, TIMESTAMPTZOID, INTERVALOID, TIMESTAMPTZOID};
	Datum		values[6];
	char		nulls[6] = "      ";
	char	   *worker_id;
	int32		max_jobs;
	bool		queues_null;
	int			rc;

	InitMaterializedSRF(fcinfo, 0);
	worker_id = ZixlyRequiredCString(fcinfo, 0, "worker_id");
	ZixlyCheckName("worker_id", worker_id, 128);
	max_jobs = PG_ARGISNULL(1) ? 1 : PG_GETARG_INT32(1);
	if (max_jobs < 1 || max_jobs > MAX_CLAIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_jobs must be from 1 to %d", MAX_CLAIM)));

	values[0] = CStringGetTextDatum(worker_id);
	values[1] = Int32GetDatum(max_jobs);
	values[2] = text_array_arg(fcinfo, 2, "queues", &queues_null);
	nulls[2] = queues_null ? 'n' : ' ';
	values[3] = TimestampTzGetDatum(MyStartTimestamp);
	values[4] = lease_arg(fcinfo, 3);
	/*
	 * Due, started and leased as of the moment of the claim rather than the start of the
	 * transaction: a worker claims at the end of a statement that waited in zixly_wait(), whose
	 * now() is the start of the wait (see the worker's wait connection).
	 */
	values[5] = TimestampTzGetDatum(GetCurrentTimestamp());

	/*
	 * The locked rows are updated by ctid, all of them in one Tid Scan over the array of their
	 * ctids: joined by id, the generic plan hashed the whole table's primary key on every claim,
	 * and a Tid Scan rescanned per row reads the table's size (an lseek) each time.  A locked
	 * row keeps its ctid until this update.  The scan goes in ctid order; the rows are put back
	 * in claim order here, for much less than a sort in the statement costs (its sort node and
	 * CTE took 2.5 ms of a 1,000-job claim).
	 */
	SPI_connect();
	ZixlyPlan(&plan,
			  "WITH claimed AS MATERIALIZED ("
			  "  SELECT c.ctid AS tid FROM zixly.pipeline_jobs c"
			  "   WHERE c.status OPERATOR(pg_catalog.=) 'QUEUED'"
			  "     AND c.run_at OPERATOR(pg_catalog.<=) $6"
			  "     AND ($3 IS NULL OR c.queue OPERATOR(pg_catalog.=) ANY ($3))"
			  "   ORDER BY c.priority DESC, c.run_at, c.id"
			  "   LIMIT $2 FOR UPDATE SKIP LOCKED)"
			  "  UPDATE zixly.pipeline_jobs AS j"
			  "     SET status = 'RUNNING', attempts = j.attempts OPERATOR(pg_catalog.+) 1,"
			  "         started_at = $6, updated_at = $6,"
			  "         locked_by = $1, locked_pid = pg_catalog.pg_backend_pid(),"
			  "         locked_backend_start = $4,"
			  "         lease_expires_at = $6 OPERATOR(pg_catalog.+) $5"
			  "   WHERE j.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT tid FROM claimed))"
			  "   RETURNING j, j.id, j.tenant_id, j.priority, j.run_at",
			  6, types);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "zixly: claim failed: %s", SPI_result_code_string(rc));
	sort_in_claim_order();
	ZixlyRowsToTuplestore(rsinfo, 1);
	ZixlyPublishSpiRows(2, 3, "RUNNING");
	SPI_finish();
	return (Datum) 0;
}

/*
 * Extends the leases of a worker's RUNNING jobs and binds them to the
 * calling session, so a worker that reconnected (say, after a database
 * restart) keeps its jobs. Returns the ids still held: a job missing from
 * the answer was cancelled or given to another worker.
 */
Datum
zixly_heartbeat(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[4] = {TEXTOID, TEXTARRAYOID, INTERVALOID, TIMESTAMPTZOID};
	Datum		values[4];
	char		nulls[4] = "    ";
	char	   *worker_id;
	bool		ids_null;
	int			rc;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	worker_id = ZixlyRequiredCString(fcinfo, 0, "worker_id");
	ZixlyCheckName("worker_id", worker_id, 128);
	values[0] = CStringGetTextDatum(worker_id);
	values[1] = text_array_arg(fcinfo, 1, "job_ids", &ids_null);
	nulls[1] = ids_null ? 'n' : ' ';
	values[2] = lease_arg(fcinfo, 2);
	values[3] = TimestampTzGetDatum(MyStartTimestamp);

	SPI_connect();
	ZixlyPlan(&plan,
			  "UPDATE zixly.pipeline_jobs AS j"
			  "   SET lease_expires_at = pg_catalog.now() OPERATOR(pg_catalog.+) $3,"
			  "       locked_pid = pg_catalog.pg_backend_pid(), locked_backend_start = $4,"
			  "       updated_at = pg_catalog.now()"
			  " WHERE j.status OPERATOR(pg_catalog.=) 'RUNNING'"
			  "   AND j.locked_by OPERATOR(pg_catalog.=) $1"
			  "   AND ($2 IS NULL OR j.id OPERATOR(pg_catalog.=) ANY ($2))"
			  " RETURNING j.id",
			  4, types);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "zixly: heartbeat failed: %s", SPI_result_code_string(rc));
	ZixlyFirstColumnToTuplestore(rsinfo);
	SPI_finish();
	return (Datum) 0;
}
