/*
 * enqueue.c
 *	  zixly_enqueue and zixly_enqueue_batch: validate, insert, wake workers.
 *
 * The insert is one prepared statement with bound arguments; it never
 * scans the job table, so its cached plan cannot go stale as the table
 * grows. Workers are woken with one NOTIFY per call and queue (PostgreSQL
 * folds duplicates within a transaction), never one per row: the notify
 * queue lock is taken at commit, so fewer notifications mean cheaper commits.
 *
 * Idempotency: with a key, INSERT ... ON CONFLICT DO NOTHING on the
 * (tenant_id, idempotency_key) index, then the existing row is returned.
 * A concurrent insert of the same key waits for the first to commit.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_enqueue);
PG_FUNCTION_INFO_V1(zixly_enqueue_batch);

typedef struct JobOptions
{
	char	   *job_type;
	char	   *tenant_id;
	char	   *queue;
	int32		priority;
	Datum		run_at;
	bool		run_at_null;
	int32		max_attempts;
} JobOptions;

static void read_job_options(FunctionCallInfo fcinfo, JobOptions *o);
static void check_job_type(const char *job_type);
static void wake_for(const JobOptions *o);
static void job_options_to_params(const JobOptions *o, Datum *values, char *nulls);
static void batch_element_context(void *arg);

static void
check_job_type(const char *job_type)
{
	ZixlyCheckName("job_type", job_type, 64);
	for (const char *c = job_type; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			  (c != job_type && strchr("-_.:", *c) != NULL)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("job_type must be lower-case letters, digits and - _ . :, starting with a letter or digit")));
}

/*
 * Arguments shared by both forms: 0 job_type, 2 tenant_id, 3 queue,
 * 4 priority, 5 run_at, 6 max_attempts. NULL options take their defaults.
 */
static void
read_job_options(FunctionCallInfo fcinfo, JobOptions *o)
{
	o->job_type = ZixlyRequiredCString(fcinfo, 0, "job_type");
	check_job_type(o->job_type);

	o->tenant_id = PG_ARGISNULL(2) ? ZixlyCurrentTenant() : text_to_cstring(PG_GETARG_TEXT_PP(2));
	ZixlyCheckName("tenant_id", o->tenant_id, 64);

	o->queue = PG_ARGISNULL(3) ? pstrdup("default") : text_to_cstring(PG_GETARG_TEXT_PP(3));
	ZixlyCheckName("queue", o->queue, 64);

	o->priority = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);

	o->run_at_null = PG_ARGISNULL(5);
	o->run_at = o->run_at_null ? (Datum) 0 : PG_GETARG_DATUM(5);
	if (!o->run_at_null && TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(o->run_at)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("run_at must be a finite timestamp")));

	o->max_attempts = PG_ARGISNULL(6) ? 3 : PG_GETARG_INT32(6);
	if (o->max_attempts < 1 || o->max_attempts > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_attempts must be from 1 to 100"),
				 errdetail("Got %d.", o->max_attempts)));
}

/*
 * Jobs due now wake workers (NOTIFY and zixly_wait); jobs due later move only zixly_wait's
 * generation, so that waiting workers re-read when the next job is due (zixly_next_run_at).
 */
static void
wake_for(const JobOptions *o)
{
	if (o->run_at_null || DatumGetTimestampTz(o->run_at) <= GetCurrentTransactionStartTimestamp())
		ZixlyWakeQueue(o->queue);
	else
		ZixlyWakeAtCommit();
}

/* Parameters $2..$7 of both insert statements: tenant, type, queue, priority, run_at, max_attempts. */
static void
job_options_to_params(const JobOptions *o, Datum *values, char *nulls)
{
	values[1] = CStringGetTextDatum(o->tenant_id);
	values[2] = CStringGetTextDatum(o->job_type);
	values[3] = CStringGetTextDatum(o->queue);
	values[4] = Int32GetDatum(o->priority);
	values[5] = o->run_at;
	nulls[5] = o->run_at_null ? 'n' : ' ';
	values[6] = Int32GetDatum(o->max_attempts);
}

Datum
zixly_enqueue(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr insert_plan = NULL;
	static SPIPlanPtr insert_idem_plan = NULL;
	static SPIPlanPtr existing_plan = NULL;
	Oid			types[9] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID,
	INT4OID, JSONBOID, TEXTOID};
	Datum		values[9];
	char		nulls[9] = "         ";
	JobOptions	o;
	Jsonb	   *params;
	char	   *idem_key = NULL;
	char		id[ZIXLY_ID_LEN + 1];
	Datum		row;
	bool		as_owner;
	int			rc;

	read_job_options(fcinfo, &o);
	as_owner = ZixlyAppWritesAsOwner(ACL_INSERT);
	if (as_owner)
		ZixlyCheckAppTenant(o.tenant_id);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must not be null")));
	params = PG_GETARG_JSONB_P(1);
	ZixlyValidateParameters(o.job_type, params);
	if (!PG_ARGISNULL(7))
	{
		idem_key = text_to_cstring(PG_GETARG_TEXT_PP(7));
		ZixlyCheckName("idempotency_key", idem_key, 255);
	}

	ZixlyNewId(id);
	values[0] = CStringGetTextDatum(id);
	job_options_to_params(&o, values, nulls);
	values[7] = JsonbPGetDatum(params);
	values[8] = idem_key ? CStringGetTextDatum(idem_key) : (Datum) 0;

	SPI_connect();
	if (idem_key == NULL)
	{
		ZixlyPlan(&insert_plan,
				  "INSERT INTO zixly.pipeline_jobs AS j (id, tenant_id, job_type, queue, priority,"
				  " run_at, max_attempts, parameters)"
				  " VALUES ($1, $2, $3, $4, $5, coalesce($6, pg_catalog.now()), $7, $8)"
				  " RETURNING j",
				  8, types);
		rc = ZixlyExecuteJobWrite(insert_plan, values, nulls, 1, as_owner);
		if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			elog(ERROR, "zixly: job insert failed: %s", SPI_result_code_string(rc));
	}
	else
	{
		ZixlyPlan(&insert_idem_plan,
				  "INSERT INTO zixly.pipeline_jobs AS j (id, tenant_id, job_type, queue, priority,"
				  " run_at, max_attempts, parameters, idempotency_key)"
				  " VALUES ($1, $2, $3, $4, $5, coalesce($6, pg_catalog.now()), $7, $8, $9)"
				  " ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL"
				  " DO NOTHING RETURNING j",
				  9, types);
		rc = ZixlyExecuteJobWrite(insert_idem_plan, values, nulls, 1, as_owner);
		if (rc != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "zixly: job insert failed: %s", SPI_result_code_string(rc));
		if (SPI_processed == 0)
		{
			Oid			ktypes[2] = {TEXTOID, TEXTOID};
			Datum		kvalues[2] = {values[1], values[8]};

			ZixlyPlan(&existing_plan,
					  "SELECT j FROM zixly.pipeline_jobs j"
					  " WHERE j.tenant_id OPERATOR(pg_catalog.=) $1"
					  " AND j.idempotency_key OPERATOR(pg_catalog.=) $2",
					  2, ktypes);
			rc = SPI_execute_plan(existing_plan, kvalues, NULL, false, 1);
			if (rc != SPI_OK_SELECT || SPI_processed != 1)
				ereport(ERROR,
						(errcode(ERRCODE_UNIQUE_VIOLATION),
						 errmsg("idempotency key \"%s\" is taken by a job this role cannot see", idem_key)));
			row = ZixlyRowDatum(0);
			SPI_finish();
			PG_RETURN_DATUM(row);
		}
	}
	row = ZixlyRowDatum(0);
	SPI_finish();

	ZixlyPublishStatus(id, o.tenant_id, "QUEUED");
	wake_for(&o);
	PG_RETURN_DATUM(row);
}

static void
batch_element_context(void *arg)
{
	errcontext("parameters element %d of the batch", *(int *) arg);
}

Datum
zixly_enqueue_batch(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[8] = {TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID,
	INT4OID, JSONBARRAYOID};
	Datum		values[8];
	char		nulls[8] = "        ";
	JobOptions	o;
	Jsonb	   *batch;
	int			n;
	Datum	   *ids;
	Datum	   *params;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			element = 0;
	ErrorContextCallback errcb;
	ZixlyEvents *events;
	MemoryContext scratch;
	bool		as_owner;
	int			rc;

	InitMaterializedSRF(fcinfo, 0);
	read_job_options(fcinfo, &o);
	as_owner = ZixlyAppWritesAsOwner(ACL_INSERT);
	if (as_owner)
		ZixlyCheckAppTenant(o.tenant_id);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must not be null")));
	batch = PG_GETARG_JSONB_P(1);
	if (!JB_ROOT_IS_ARRAY(batch) || JB_ROOT_IS_SCALAR(batch))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must be a JSON array of parameter objects")));
	n = JB_ROOT_COUNT(batch);
	if (n < 1 || n > ZIXLY_MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a batch must hold 1 to %d jobs", ZIXLY_MAX_BATCH),
				 errdetail("Got %d.", n)));

	ids = palloc(sizeof(Datum) * n);
	params = palloc(sizeof(Datum) * n);
	errcb.callback = batch_element_context;
	errcb.arg = &element;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	/* validation garbage goes to a context reset per element, so memory stays small and warm */
	scratch = AllocSetContextCreate(CurrentMemoryContext, "zixly batch validation",
									ALLOCSET_DEFAULT_SIZES);
	it = JsonbIteratorInit(&batch->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char		id[ZIXLY_ID_LEN + 1];
		Jsonb	   *p;
		MemoryContext outer;

		if (tok != WJB_ELEM)
			continue;
		p = JsonbValueToJsonb(&v);
		outer = MemoryContextSwitchTo(scratch);
		ZixlyValidateParameters(o.job_type, p);
		MemoryContextSwitchTo(outer);
		MemoryContextReset(scratch);
		ZixlyNewId(id);
		ids[element] = CStringGetTextDatum(id);
		params[element] = JsonbPGetDatum(p);
		element++;
	}
	error_context_stack = errcb.previous;
	MemoryContextDelete(scratch);

	values[0] = PointerGetDatum(construct_array(ids, n, TEXTOID, -1, false, TYPALIGN_INT));
	job_options_to_params(&o, values, nulls);
	values[7] = PointerGetDatum(construct_array(params, n, JSONBOID, -1, false, TYPALIGN_INT));

	SPI_connect();
	ZixlyPlan(&plan,
			  "INSERT INTO zixly.pipeline_jobs AS j (id, tenant_id, job_type, queue, priority,"
			  " run_at, max_attempts, parameters)"
			  " SELECT u.id, $2, $3, $4, $5, coalesce($6, pg_catalog.now()), $7, u.p"
			  " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($8)) WITH ORDINALITY AS u(id, p, n)"
			  " ORDER BY u.n"
			  " RETURNING j",
			  8, types);
	rc = ZixlyExecuteJobWrite(plan, values, nulls, 0, as_owner);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != (uint64) n)
		elog(ERROR, "zixly: batch insert failed: %s", SPI_result_code_string(rc));
	ZixlyRowsToTuplestore(rsinfo, 1);
	SPI_finish();
	events = ZixlyEventsBegin();
	for (int i = 0; i < n; i++)
		ZixlyEventsAdd(events, TextDatumGetCString(ids[i]), o.tenant_id, "QUEUED");
	ZixlyEventsEnd(events);

	wake_for(&o);
	return (Datum) 0;
}
