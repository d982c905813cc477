/*
 * job.c — claimed jobs, the noop handler, and the thread pool that runs trading-sweep jobs.
 *
 * Locking: the pool's mutex guards its two lists (queued, finished) and the stop flag; a thread
 * waits on the condition variable for work.  Finishing a job appends it to the finished list
 * and writes the eventfd the main loop polls.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common.h"
#include "db.h"
#include "job.h"
#include "log.h"

enum zx_job_kind
zx_job_kind_of(const char *job_type)
{
	if (strcmp(job_type, "noop") == 0)
		return ZX_KIND_NOOP;
	if (strcmp(job_type, "trading-sweep") == 0)
		return ZX_KIND_SWEEP;
	return ZX_KIND_UNKNOWN;
}

struct zx_job *
zx_job_from_claim(PGresult *r, int row)
{
	struct zx_job *j = zx_xcalloc(1, sizeof(*j));

	j->id = zx_xstrdup(PQgetvalue(r, row, ZX_CLAIM_COL_ID));
	j->job_type = zx_xstrdup(PQgetvalue(r, row, ZX_CLAIM_COL_TYPE));
	j->tenant_id = zx_xstrdup(PQgetvalue(r, row, ZX_CLAIM_COL_TENANT));
	j->queue = zx_xstrdup(PQgetvalue(r, row, ZX_CLAIM_COL_QUEUE));
	j->params = zx_xstrdup(PQgetvalue(r, row, ZX_CLAIM_COL_PARAMS));
	j->attempts = atoi(PQgetvalue(r, row, ZX_CLAIM_COL_ATTEMPTS));
	j->max_attempts = atoi(PQgetvalue(r, row, ZX_CLAIM_COL_MAX_ATTEMPTS));
	j->kind = zx_job_kind_of(j->job_type);
	atomic_init(&j->lost, 0);
	atomic_init(&j->abandon, 0);
	return j;
}

void
zx_job_free(struct zx_job *j)
{
	if (j == NULL)
		return;
	free(j->id);
	free(j->job_type);
	free(j->tenant_id);
	free(j->queue);
	free(j->params);
	free(j);
}

void
zx_noop_run(const char *id, const char *params, FILE *latency)
{
	double start_ms = zx_mono_ms();		/* first action: the Q4 start time */
	const char *k;
	char *end;
	double enq;

	if (latency == NULL || (k = strstr(params, "\"enq_mono_ms\"")) == NULL)
		return;
	k += strlen("\"enq_mono_ms\"");
	while (*k == ' ' || *k == ':')
		k++;
	enq = strtod(k, &end);
	if (end != k)
		fprintf(latency, "%s %.4f\n", id, start_ms - enq);
}

/* ---------------------------------------------------------------- the pool */
struct zx_pool {
	const struct zx_config *cfg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct zx_job *queued, **queued_tail;
	struct zx_job *finished;
	int stop;
	int efd;
	int nthreads;
	pthread_t *threads;
};

static void *
pool_thread(void *arg)
{
	struct zx_pool *p = arg;
	PGconn *conn = NULL;

	for (;;) {
		struct zx_job *j;
		uint64_t one = 1;

		pthread_mutex_lock(&p->mu);
		while (p->queued == NULL && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->queued == NULL) {	/* stopping and nothing left */
			pthread_mutex_unlock(&p->mu);
			break;
		}
		j = p->queued;
		p->queued = j->next;
		if (p->queued == NULL)
			p->queued_tail = &p->queued;
		pthread_mutex_unlock(&p->mu);

		j->next = NULL;
		zx_sweep_job_run(p->cfg, &conn, j);

		pthread_mutex_lock(&p->mu);
		j->next = p->finished;
		p->finished = j;
		pthread_mutex_unlock(&p->mu);
		if (write(p->efd, &one, sizeof(one)) < 0)
			zlog(ZX_ERROR, "pool_notify_failed", "error=%s", zx_q(strerror(errno)));
	}
	zx_db_close(conn, ZX_DB_SWEEP);
	return NULL;
}

struct zx_pool *
zx_pool_start(const struct zx_config *cfg, int nthreads)
{
	struct zx_pool *p = zx_xcalloc(1, sizeof(*p));

	p->cfg = cfg;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->queued_tail = &p->queued;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		zlog(ZX_ERROR, "pool_start_failed", "error=%s", zx_q(strerror(errno)));
		free(p);
		return NULL;
	}
	p->threads = zx_xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (int i = 0; i < nthreads; i++) {
		int rc = pthread_create(&p->threads[i], NULL, pool_thread, p);

		if (rc != 0) {
			zlog(ZX_ERROR, "pool_start_failed", "error=%s", zx_q(strerror(rc)));
			zx_pool_stop(p, 1);
			return NULL;
		}
		p->nthreads = i + 1;
	}
	return p;
}

void
zx_pool_submit(struct zx_pool *p, struct zx_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&p->mu);
	*p->queued_tail = j;
	p->queued_tail = &j->next;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int
zx_pool_fd(struct zx_pool *p)
{
	return p->efd;
}

struct zx_job *
zx_pool_reap(struct zx_pool *p)
{
	uint64_t n;
	struct zx_job *list;

	if (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		zlog(ZX_ERROR, "pool_read_failed", "error=%s", zx_q(strerror(errno)));
	pthread_mutex_lock(&p->mu);
	list = p->finished;
	p->finished = NULL;
	pthread_mutex_unlock(&p->mu);
	return list;
}

struct zx_job *
zx_pool_take_queued(struct zx_pool *p)
{
	struct zx_job *list;

	pthread_mutex_lock(&p->mu);
	list = p->queued;
	p->queued = NULL;
	p->queued_tail = &p->queued;
	pthread_mutex_unlock(&p->mu);
	return list;
}

void
zx_pool_stop(struct zx_pool *p, int wait)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (!wait)
		return;
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while (p->finished != NULL) {
		struct zx_job *j = p->finished;

		p->finished = j->next;
		zx_job_free(j);
	}
	close(p->efd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
}
