/*
 * wake.c
 *	  Waking idle workers at commit without NOTIFY's lock.
 *
 * NOTIFY serialises every notifying transaction on a database-wide lock
 * held until after its commit record is flushed, so concurrent producers
 * that NOTIFY lose group commit: measured here with 50 clients, enqueueing
 * with NOTIFY committed half as many jobs per second as without. So a
 * commit that made jobs due (or queued jobs due later, so that waiting
 * workers re-read when the next one is due) also bumps its database's
 * generation counter in shared memory and sets the latch of every backend
 * of that database blocked in zixly_wait(); a worker's session waits there
 * instead of LISTENing.  Databases have their own counters so that one
 * database's enqueues do not wake (and make claim) the workers of another
 * in the same cluster; past MAX_DATABASES, databases share one counter.
 * NOTIFY on zixly_jobs stays on by default for SQL users, and a producer
 * that does not need it turns it off for its session with SET
 * zixly.notify = events (the web app does: status events for live
 * dashboards, no wake-ups) or off (neither).
 *
 * No lost wake-ups: the counter is bumped by the commit callback, which
 * runs after the commit is visible. A worker reads generation G, claims
 * (seeing every commit counted in G), then waits for a generation after
 * G, so a job committed after its claim always ends the wait.
 *
 * Shared memory: a few kilobytes, taken with ShmemInitStruct from the
 * space PostgreSQL keeps for small structures; with zixly in
 * shared_preload_libraries the space is requested at start-up instead.
 * Locking: the waiter table is protected by its spinlock; latches are set
 * after releasing it. The commit callback must not fail, so the segment is
 * attached before commit, when the wake-up is requested.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_wait);

#define MAX_WAITERS 256
#define MAX_DATABASES 64
#define NO_WAITER (-1)

/*
 * The segment's name carries its layout's version: a server keeps the segment of the library
 * that first made it, and after an upgrade of the library without a restart a new layout under
 * the old name would fail ShmemInitStruct's size check.
 */
#define WAKE_SEGMENT "zixly wake-ups 2"

typedef struct WakeShared
{
	slock_t		mutex;
	/* the database of each generation counter (InvalidOid: free); never freed */
	Oid			databases[MAX_DATABASES];
	/* one per database, and the last one for databases that found no free counter */
	pg_atomic_uint64 generations[MAX_DATABASES + 1];
	int			waiters[MAX_WAITERS];	/* pgprocno of a waiting backend, or NO_WAITER */
	int			waiter_gen[MAX_WAITERS];	/* ... and the counter it waits on */
} WakeShared;

static WakeShared *wake = NULL;
/* this backend's database's counter in wake->generations, once attached */
static int	my_gen = -1;
/*
 * The outermost transaction nesting level (1 = top) that asked for a wake-up since the top
 * transaction began, or 0: a wake-up asked for inside a savepoint that rolls back is dropped.
 */
static int	wake_level = 0;
/* zixly.notify: which NOTIFYs this session sends (see ZixlyWakeInit) */
typedef enum NotifyMode
{
	NOTIFY_OFF,
	NOTIFY_EVENTS,
	NOTIFY_ALL
} NotifyMode;

static const struct config_enum_entry notify_options[] = {
	{"on", NOTIFY_ALL, false},
	{"events", NOTIFY_EVENTS, false},
	{"off", NOTIFY_OFF, false},
	{"true", NOTIFY_ALL, true},
	{"false", NOTIFY_OFF, true},
	{"yes", NOTIFY_ALL, true},
	{"no", NOTIFY_OFF, true},
	{"1", NOTIFY_ALL, true},
	{"0", NOTIFY_OFF, true},
	{NULL, 0, false}
};
static int	notify_mode = NOTIFY_ALL;
static int	my_slot = -1;
static shmem_request_hook_type prev_shmem_request_hook = NULL;

static WakeShared *
wake_shared(void)
{
	bool		found;

	if (wake != NULL)
		return wake;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	wake = ShmemInitStruct(WAKE_SEGMENT, sizeof(WakeShared), &found);
	if (!found)
	{
		SpinLockInit(&wake->mutex);
		for (int i = 0; i < MAX_DATABASES; i++)
			wake->databases[i] = InvalidOid;
		for (int i = 0; i <= MAX_DATABASES; i++)
			pg_atomic_init_u64(&wake->generations[i], 1);
		for (int i = 0; i < MAX_WAITERS; i++)
			wake->waiters[i] = NO_WAITER;
	}
	LWLockRelease(AddinShmemInitLock);

	/* counters are taken in order and never freed: a database's comes before any free one */
	SpinLockAcquire(&wake->mutex);
	for (my_gen = 0; my_gen < MAX_DATABASES; my_gen++)
		if (wake->databases[my_gen] == MyDatabaseId || wake->databases[my_gen] == InvalidOid)
			break;
	if (my_gen < MAX_DATABASES)
		wake->databases[my_gen] = MyDatabaseId;
	SpinLockRelease(&wake->mutex);
	return wake;
}

static void
wake_waiters(void)
{
	int			procs[MAX_WAITERS];
	int			n = 0;

	pg_atomic_fetch_add_u64(&wake->generations[my_gen], 1);
	SpinLockAcquire(&wake->mutex);
	for (int i = 0; i < MAX_WAITERS; i++)
		if (wake->waiters[i] != NO_WAITER && wake->waiter_gen[i] == my_gen)
			procs[n++] = wake->waiters[i];
	SpinLockRelease(&wake->mutex);
	for (int i = 0; i < n; i++)
		SetLatch(&GetPGProcByNumber(procs[i])->procLatch);
}

static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_level > 0 && wake != NULL)
				wake_waiters();
			wake_level = 0;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			wake_level = 0;
			break;
		default:
			break;
	}
}

/* Called while the subtransaction ending is still the current one. */
static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
				 void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (wake_level < level)
		return;					/* asked for by an enclosing level, or not at all */
	if (event == SUBXACT_EVENT_ABORT_SUB)
		wake_level = 0;
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		wake_level = level - 1;
}

static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(WakeShared)));
}

void
ZixlyWakeInit(void)
{
	DefineCustomEnumVariable("zixly.notify",
							 "Which NOTIFYs this session sends: on (zixly_jobs and zixly_job_events), "
							 "events (zixly_job_events only) or off.",
							 "Turning zixly_jobs off spares concurrent producers NOTIFY's commit lock "
							 "on every call; workers waiting in zixly_wait() are woken either way.",
							 &notify_mode, NOTIFY_ALL, notify_options, PGC_USERSET, 0, NULL, NULL, NULL);
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = shmem_request;
	}
}

bool
ZixlyWakeNotifyEnabled(void)
{
	return notify_mode == NOTIFY_ALL;
}

bool
ZixlyEventsEnabled(void)
{
	return notify_mode != NOTIFY_OFF;
}

/* Wake waiting workers when this transaction commits. */
void
ZixlyWakeAtCommit(void)
{
	int			level = GetCurrentTransactionNestLevel();

	wake_shared();
	if (wake_level == 0 || level < wake_level)
		wake_level = level;
}

static void
unregister_waiter(int code, Datum arg)
{
	if (my_slot < 0 || wake == NULL)
		return;
	SpinLockAcquire(&wake->mutex);
	if (wake->waiters[my_slot] == MyProc->pgprocno)
		wake->waiters[my_slot] = NO_WAITER;
	SpinLockRelease(&wake->mutex);
	my_slot = -1;
}

static void
register_waiter(void)
{
	static bool exit_hook = false;

	SpinLockAcquire(&wake->mutex);
	for (int i = 0; i < MAX_WAITERS && my_slot < 0; i++)
		if (wake->waiters[i] == NO_WAITER || wake->waiters[i] == MyProc->pgprocno)
		{
			wake->waiters[i] = MyProc->pgprocno;
			wake->waiter_gen[i] = my_gen;
			my_slot = i;
		}
	SpinLockRelease(&wake->mutex);
	if (!exit_hook)
	{
		before_shmem_exit(unregister_waiter, (Datum) 0);
		exit_hook = true;
	}
}

/*
 * zixly_wait(since bigint, timeout_ms integer) returns the wake-up
 * generation: at once when since is NULL or differs from it, else when a
 * commit makes jobs due or queues jobs due later, or the timeout passes.
 * With more than MAX_WAITERS waiters the extra ones simply wait for their
 * timeout.
 */
Datum
zixly_wait(PG_FUNCTION_ARGS)
{
	int32		timeout_ms = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	TimestampTz deadline;
	uint64		since;
	uint64		now_gen;

	if (timeout_ms < 0 || timeout_ms > 3600 * 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout_ms must be from 0 to 3600000")));
	wake_shared();
	now_gen = pg_atomic_read_u64(&wake->generations[my_gen]);
	if (PG_ARGISNULL(0) || (uint64) PG_GETARG_INT64(0) != now_gen || timeout_ms == 0)
		PG_RETURN_INT64((int64) now_gen);
	since = (uint64) PG_GETARG_INT64(0);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	register_waiter();
	PG_TRY();
	{
		for (;;)
		{
			long		left;

			now_gen = pg_atomic_read_u64(&wake->generations[my_gen]);
			left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
			if (now_gen != since || left <= 0)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 left, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_FINALLY();
	{
		unregister_waiter(0, (Datum) 0);
	}
	PG_END_TRY();
	PG_RETURN_INT64((int64) now_gen);
}
