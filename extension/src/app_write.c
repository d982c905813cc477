/*
 * app_write.c
 *	  The app's role writes jobs only through the SQL API.
 *
 * From 0.1.2 zixly_app has no INSERT or UPDATE on zixly.pipeline_jobs:
 * with them, a member could skip validation, forge a result or mark a job
 * COMPLETED (within its tenant).  For such a caller, zixly_enqueue,
 * zixly_enqueue_batch, zixly_cancel and zixly_retry run their one write as
 * the table's owner, after checking what row-level security checked before:
 * the job's tenant, new or to change, is the transaction's zixly.tenant_id
 * (and a job to change is one the caller can see: transitions.c).  Every
 * other caller writes as itself, under its own privileges and policies, as
 * before; so does every caller on a database before 0.1.2, where a zixly_app
 * member without the grants is one a DBA took them from.
 *
 * The owner is in place only for the statement.  An error inside it needs
 * no cleanup: aborting the (sub)transaction restores the user, as it does
 * for PostgreSQL's own foreign-key checks, which switch users the same way.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "zixly.h"

static Oid
jobs_relid(void)
{
	return get_relname_relid("pipeline_jobs", get_namespace_oid("zixly", false));
}

/*
 * Whether the database's zixly took the app's grants (0.1.2 or later).  Before, a zixly_app
 * member without them is one a DBA revoked them from, and it writes as itself.
 */
static bool
app_grants_revoked(void)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		revoked = false;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("zixly"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		v = heap_getattr(tuple, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);
		char	   *version = isnull ? NULL : TextDatumGetCString(v);

		revoked = version != NULL && strcmp(version, "0.1.0") != 0 &&
			strcmp(version, "0.1.1") != 0;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return revoked;
}

/*
 * Whether this caller writes jobs as the owner: it lacks mode on the table, is the app, and
 * the extension is one that took the app's grants.
 */
bool
ZixlyAppWritesAsOwner(AclMode mode)
{
	Oid			user = GetUserId();
	Oid			app = get_role_oid("zixly_app", true);

	return OidIsValid(app) && pg_class_aclcheck(jobs_relid(), user, mode) != ACLCHECK_OK &&
		has_privs_of_role(user, app) && app_grants_revoked();
}

/* Whether a job's tenant is the transaction's (zixly.tenant_id, set and not empty). */
bool
ZixlyIsAppTenant(const char *tenant_id)
{
	const char *mine = GetConfigOption("zixly.tenant_id", true, false);

	return mine != NULL && mine[0] != '\0' && tenant_id != NULL && strcmp(mine, tenant_id) == 0;
}

/* For a write as the owner: the new job's tenant must be the transaction's. */
void
ZixlyCheckAppTenant(const char *tenant_id)
{
	const char *mine = GetConfigOption("zixly.tenant_id", true, false);

	/* the words of the policy's own error, which the app's callers met before 0.1.2 */
	if (!ZixlyIsAppTenant(tenant_id))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("new row violates row-level security policy for table \"pipeline_jobs\""),
				 errdetail("A zixly_app member queues jobs only for the tenant in zixly.tenant_id "
						   "(\"%s\"), not for \"%s\".", mine ? mine : "", tenant_id)));
}

static int
execute_as_owner(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(jobs_relid()));
	Oid			owner;
	Oid			saved_user;
	int			saved_context;
	int			rc;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "zixly: no pg_class row for zixly.pipeline_jobs");
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);

	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION | SECURITY_NOFORCE_RLS);
	rc = SPI_execute_plan(plan, values, nulls, false, tcount);
	SetUserIdAndSecContext(saved_user, saved_context);
	return rc;
}

/* Executes a write of jobs, as the owner when as_owner, else as the caller. */
int
ZixlyExecuteJobWrite(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount, bool as_owner)
{
	return as_owner ? execute_as_owner(plan, values, nulls, tcount)
		: SPI_execute_plan(plan, values, nulls, false, tcount);
}
