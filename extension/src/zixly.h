/*
 * zixly.h
 *	  Declarations shared by the zixly extension's C files.
 *
 * Every SQL-callable function lives in the file named after its concern;
 * this header holds only what more than one file needs.
 */
#ifndef ZIXLY_H
#define ZIXLY_H

#include "postgres.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "utils/jsonb.h"

#define ZIXLY_ID_LEN 25				/* cuid-style job ids: 'c' + 24 base-36 chars */
#define ZIXLY_WAKE_CHANNEL "zixly_jobs"
#define ZIXLY_EVENT_CHANNEL "zixly_job_events"
#define ZIXLY_DEFAULT_TENANT "default"
#define ZIXLY_MAX_BATCH 10000

/* ids.c */
extern void ZixlyNewId(char *buf);	/* writes ZIXLY_ID_LEN chars + NUL */

/* validate.c */
extern int64 ZixlyValidateParameters(const char *job_type, Jsonb *params);
extern void ZixlyCheckName(const char *what, const char *value, int maxlen);

/* events.c */
extern void ZixlyWakeQueue(const char *queue);
extern void ZixlyPublishStatus(const char *id, const char *tenant_id, const char *status);
extern void ZixlyPublishRow(Datum row);
typedef struct ZixlyEvents ZixlyEvents;
extern ZixlyEvents *ZixlyEventsBegin(void);
extern void ZixlyEventsAdd(ZixlyEvents *ev, const char *id, const char *tenant_id, const char *status);
extern void ZixlyEventsEnd(ZixlyEvents *ev);

/* wake.c */
extern void ZixlyWakeInit(void);
extern bool ZixlyWakeNotifyEnabled(void);
extern bool ZixlyEventsEnabled(void);
extern void ZixlyWakeAtCommit(void);

/* app_write.c */
extern bool ZixlyAppWritesAsOwner(AclMode mode);
extern bool ZixlyIsAppTenant(const char *tenant_id);
extern void ZixlyCheckAppTenant(const char *tenant_id);
extern int	ZixlyExecuteJobWrite(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount,
								 bool as_owner);

/* zixly.c */
extern char *ZixlyCurrentTenant(void);
extern text *ZixlyTextArg(FunctionCallInfo fcinfo, int argno, const char *name);
extern char *ZixlyRequiredCString(FunctionCallInfo fcinfo, int argno, const char *name);
extern SPIPlanPtr ZixlyPlan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern Datum ZixlyRowDatum(int i);
extern void ZixlyRowsToTuplestore(ReturnSetInfo *rsinfo, int col);
extern void ZixlyFirstColumnToTuplestore(ReturnSetInfo *rsinfo);
extern void ZixlyPublishSpiRows(int id_col, int tenant_col, const char *status);

#endif							/* ZIXLY_H */
