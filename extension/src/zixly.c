/*
 * zixly.c
 *	  Module magic and the small helpers every SQL entry point shares:
 *	  the current tenant and argument checks.
 *
 * Every entry point treats its arguments as hostile: NULLs are reported
 * by name, text is length-checked before use.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

#include "zixly.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	ZixlyWakeInit();
}

/*
 * The tenant of this transaction: the zixly.tenant_id setting when it is
 * set and non-empty, else 'default'.
 */
char *
ZixlyCurrentTenant(void)
{
	const char *t = GetConfigOption("zixly.tenant_id", true, false);

	if (t == NULL || t[0] == '\0')
		return pstrdup(ZIXLY_DEFAULT_TENANT);
	return pstrdup(t);
}

/* The text argument argno, or an error naming it when it is NULL. */
text *
ZixlyTextArg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return PG_GETARG_TEXT_PP(argno);
}

/* The text argument argno as a C string; NULL and empty are errors. */
char *
ZixlyRequiredCString(FunctionCallInfo fcinfo, int argno, const char *name)
{
	char	   *s = text_to_cstring(ZixlyTextArg(fcinfo, argno, name));

	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name)));
	return s;
}

/*
 * A prepared statement kept for the life of the backend. Call inside
 * SPI_connect; the plan is replanned by the plan cache after schema changes.
 */
SPIPlanPtr
ZixlyPlan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

		if (plan == NULL)
			elog(ERROR, "zixly: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "zixly: SPI_keepplan failed");
		*cache = plan;
	}
	return *cache;
}

/* The whole-row result column 1 of SPI row i, copied to the function's caller. */
Datum
ZixlyRowDatum(int i)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

	if (isnull)
		elog(ERROR, "zixly: unexpected null row");
	return SPI_datumTransfer(d, false, -1);
}

/*
 * Appends the whole-row column col of every result of the last SPI command to
 * a materialized set-returning function's tuplestore.
 */
void
ZixlyRowsToTuplestore(ReturnSetInfo *rsinfo, int col)
{
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, &isnull);
		HeapTupleHeader th = DatumGetHeapTupleHeader(d);
		HeapTupleData tuple;

		tuple.t_len = HeapTupleHeaderGetDatumLength(th);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = th;
		tuplestore_puttuple(rsinfo->setResult, &tuple);
	}
}

/*
 * Appends the first column of every result row of the last SPI command to a
 * materialized one-column set-returning function's tuplestore.
 */
void
ZixlyFirstColumnToTuplestore(ReturnSetInfo *rsinfo)
{
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d, &isnull);
	}
}

/*
 * Publishes the status of every row of the last SPI command, whose id and
 * tenant are in columns id_col and tenant_col.
 */
void
ZixlyPublishSpiRows(int id_col, int tenant_col, const char *status)
{
	ZixlyEvents *events = ZixlyEventsBegin();

	for (uint64 i = 0; i < SPI_processed; i++)
		ZixlyEventsAdd(events,
					   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, id_col),
					   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, tenant_col),
					   status);
	ZixlyEventsEnd(events);
}
