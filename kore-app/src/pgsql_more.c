/*
 * pgsql_more.c
 *	What the app needs from Kore's pgsql layer beyond its API: finishing
 *	a statement without giving the connection back, and named prepared
 *	statements.
 *
 * Kore 4.1 sends every statement with PQsendQueryParams, so PostgreSQL
 * parses and plans it each time. The webhook's shared statements
 * (batch.c) run hundreds of times a second and their planning costs
 * about as much as running them, so they are prepared once per
 * connection and then executed by name. Kore does not say when its pool
 * opens a connection, so the app remembers which connections -- libpq
 * handle and server process id, so a new connection at a recycled
 * address is not taken for an old one -- have prepared which statements.
 * A connection that has not prepares first: one more round trip, once.
 *
 * A connection the server closed while it sat in the pool (a restart,
 * idle_session_timeout, pg_terminate_backend) looks usable until used:
 * zx_pgsql_usable reads what waits in its socket first, so such a
 * connection is dropped before anything is sent on it.
 *
 * Sending follows Kore's own pgsql_schedule: the socket is watched for
 * reading, the state is WAIT, and Kore's read handler takes it from
 * there (results, DONE, ERROR, the callback or the request's wake-up).
 */
#include <sys/types.h>

#include <errno.h>

#include "app.h"

#define PREPARED_CONNS	1024	/* remembered connections (LRU-ish reuse) */

struct prepared_conn {
	PGconn		*db;
	int		 pid;
	unsigned int	 mask;		/* bit n: statement n is prepared */
};

static struct prepared_conn	conns[PREPARED_CONNS];
static unsigned int		next_slot;

static void	schedule(struct kore_pgsql *);

static struct prepared_conn *
find(struct kore_pgsql *sql, int create)
{
	PGconn		*db = sql->conn->db;
	int		 pid = PQbackendPID(db);
	unsigned int	 i;

	for (i = 0; i < PREPARED_CONNS; i++) {
		if (conns[i].db == db && conns[i].pid == pid)
			return (&conns[i]);
	}
	if (!create)
		return (NULL);
	i = next_slot++ % PREPARED_CONNS;
	conns[i].db = db;
	conns[i].pid = pid;
	conns[i].mask = 0;
	return (&conns[i]);
}

/* Kore's pgsql_schedule, which it does not export. */
static void
schedule(struct kore_pgsql *sql)
{
	kore_platform_schedule_read(PQsocket(sql->conn->db), sql->conn);
	sql->state = KORE_PGSQL_STATE_WAIT;
	sql->flags |= KORE_PGSQL_SCHEDULED;
	if (sql->req != NULL)
		http_request_sleep(sql->req);
	if (sql->cb != NULL)
		sql->cb(sql, sql->arg);
}

int
zx_prepared_ready(struct kore_pgsql *sql, const struct zx_prepared *p)
{
	struct prepared_conn	*c = find(sql, 0);

	return (c != NULL && (c->mask & (1u << p->id)));
}

int
zx_prepared_send_prepare(struct kore_pgsql *sql, const struct zx_prepared *p)
{
	if (!PQsendPrepare(sql->conn->db, p->name, p->sql, p->nparams, NULL))
		return (KORE_RESULT_ERROR);
	schedule(sql);
	return (KORE_RESULT_OK);
}

void
zx_prepared_note(struct kore_pgsql *sql, const struct zx_prepared *p)
{
	find(sql, 1)->mask |= 1u << p->id;
}

int
zx_prepared_send(struct kore_pgsql *sql, const struct zx_prepared *p,
    const char *const *params)
{
	if (!PQsendQueryPrepared(sql->conn->db, p->name, p->nparams, params,
	    NULL, NULL, 0))
		return (KORE_RESULT_ERROR);
	schedule(sql);
	return (KORE_RESULT_OK);
}

/*
 * Kore marks a statement without rows (BEGIN, COMMIT, a Prepare) DONE as
 * soon as its result arrives, before libpq has read the end-of-command
 * message; sending the next statement then fails ("another command is
 * already in progress"). This finishes that read without blocking, as
 * Kore's own reader does: 1 when the connection is ready for another
 * statement, 0 when more input must arrive first (Kore's read handler
 * will set the state back to DONE and call back or wake the request),
 * -1 if the connection failed.
 */
int
zx_pgsql_settle(struct kore_pgsql *sql)
{
	PGresult	*r;
	int		 saved_errno;

	if (sql->result != NULL) {
		PQclear(sql->result);
		sql->result = NULL;
	}
	for (;;) {
		if (!PQconsumeInput(sql->conn->db))
			return (-1);
		saved_errno = errno;
		if (PQisBusy(sql->conn->db)) {
			if (saved_errno != EAGAIN && saved_errno != EWOULDBLOCK)
				continue;
			sql->state = KORE_PGSQL_STATE_WAIT;
			sql->conn->evt.flags &= ~KORE_EVENT_READ;
			return (0);
		}
		if ((r = PQgetResult(sql->conn->db)) == NULL)
			return (1);
		PQclear(r);	/* not expected: statements return one result */
	}
}

/*
 * Is the connection just taken from the pool still open?  Never blocks.
 * Twice: a closed one has the server's FATAL message waiting, which the
 * first read takes, and then the end of the stream, which the second sees.
 */
int
zx_pgsql_usable(struct kore_pgsql *sql)
{
	PGconn	*db = sql->conn != NULL ? sql->conn->db : NULL;
	int	 i;

	for (i = 0; i < 2; i++) {
		if (db == NULL || PQconsumeInput(db) == 0 ||
		    PQstatus(db) != CONNECTION_OK)
			return (0);
	}
	return (1);
}
