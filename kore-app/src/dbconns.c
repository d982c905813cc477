/*
 * dbconns.c
 *	The database connections each Kore worker holds, for /metrics.
 *
 * Kore's pgsql pool does not tell how many connections it has open, so
 * the app notes every connection it is handed (db.c, batch.c): its socket
 * and the socket's inode. Counting, it keeps those still open -- a
 * connection Kore dropped has closed its socket, and a reused descriptor
 * names another inode. Busy ones are counted as they are taken and given
 * back. Each worker writes its counts into its slot of the shared
 * metrics once a second, and at once when it answers a scrape, so any
 * worker can report every worker's connections.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <string.h>
#include <unistd.h>

#include "app.h"

#define DBCONNS_MAX		1024	/* sockets noted; the pool holds <= 500 */
#define DBCONNS_PUBLISH_MS	1000

struct dbconn {
	int	fd;
	ino_t	ino;
};

static struct dbconn		seen[DBCONNS_MAX];
static int			nseen;
static int			busy;
static struct zx_proc_slot	*slot;

static void	dbconns_tick(void *, uint64_t);

/* A connection was handed to this worker for a statement (or several). */
void
zx_dbconns_acquired(struct kore_pgsql *sql)
{
	struct stat	st;
	int		fd, i;

	busy++;
	if (sql->conn == NULL || (fd = PQsocket(sql->conn->db)) < 0 ||
	    fstat(fd, &st) == -1)
		return;
	for (i = 0; i < nseen; i++) {
		if (seen[i].fd == fd && seen[i].ino == st.st_ino)
			return;
	}
	if (nseen < DBCONNS_MAX) {
		seen[nseen].fd = fd;
		seen[nseen].ino = st.st_ino;
		nseen++;
	}
}

void
zx_dbconns_released(void)
{
	busy--;
}

/* Forgets closed connections and writes the counts to the shared slot. */
void
zx_dbconns_publish(void)
{
	struct stat	st;
	int		i;

	for (i = 0; i < nseen; ) {
		if (fstat(seen[i].fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
		    st.st_ino != seen[i].ino)
			seen[i] = seen[--nseen];
		else
			i++;
	}
	if (slot == NULL)
		return;
	__atomic_store_n(&slot->db_open, nseen, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->db_busy, busy, __ATOMIC_RELAXED);
}

static void
dbconns_tick(void *arg, uint64_t now)
{
	(void)arg;
	(void)now;
	zx_dbconns_publish();
}

/* In each Kore worker: take its slot (by worker id) and publish from now on. */
void
zx_dbconns_worker_start(void)
{
	if (zx_metrics == NULL || worker == NULL || worker->id < 1 ||
	    worker->id > ZX_PROC_SLOTS)
		return;
	slot = &zx_metrics->workers[worker->id - 1];
	__atomic_store_n(&slot->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	zx_dbconns_publish();
	(void)kore_timer_add(dbconns_tick, DBCONNS_PUBLISH_MS, NULL, 0);
}
