/*
 * callback.c — job callbacks' bodies and the sending threads (see callback.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "callback.h"
#include "common.h"
#include "log.h"

char *
zx_callback_body(const char *event, const char *job_id, const char *job_type,
    const char *status, const char *tenant_id, const char *ticker, struct json_object *fields)
{
	struct json_object *doc = json_object_new_object();
	char *body;

	json_object_object_add(doc, "event", json_object_new_string(event));
	json_object_object_add(doc, "job_id", json_object_new_string(job_id));
	json_object_object_add(doc, "job_type", json_object_new_string(job_type));
	json_object_object_add(doc, "status", json_object_new_string(status));
	json_object_object_add(doc, "tenant_id", json_object_new_string(tenant_id));
	json_object_object_add(doc, "ticker", ticker ? json_object_new_string(ticker) : NULL);
	json_object_object_foreach(fields, key, val)
		json_object_object_add(doc, key, json_object_get(val));
	json_object_put(fields);
	body = zx_xstrdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
	return body;
}

struct json_object *
zx_callback_failure(const char *error, int attempts)
{
	struct json_object *fields = json_object_new_object();

	json_object_object_add(fields, "error", json_object_new_string(error));
	json_object_object_add(fields, "attempts", json_object_new_int(attempts));
	return fields;
}

struct item {
	char *url, *body, *event, *job_id;
	struct item *next;
};

/* Callbacks sent at once: a receiver that stalls holds up one of them, not every tenant's. */
#define SENDER_THREADS 4

struct zx_sender {
	struct zx_webhook_opts opts;	/* the caller's, abandoning through give_up */
	pthread_t threads[SENDER_THREADS];
	int nthreads;			/* started */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *head, *tail;	/* queued, oldest first */
	double until;			/* once stopping: nothing sent after this (zx_mono_s) */
	atomic_int stop;		/* zx_sender_stop was called (until is set before) */
	int (*hurry)(void);		/* NULL, or non-zero: give up at once */
};

/* Whether to give up the callback being sent, and the rest. */
static int
give_up(void *arg)
{
	struct zx_sender *s = arg;

	return (s->hurry != NULL && s->hurry()) ||
	    (atomic_load(&s->stop) && zx_mono_s() >= s->until);
}

static void
item_free(struct item *it)
{
	free(it->url);
	free(it->body);
	free(it->event);
	free(it->job_id);
	free(it);
}

static void *
run(void *arg)
{
	struct zx_sender *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct item *it;

		while (s->head == NULL && !atomic_load(&s->stop))
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->head == NULL || give_up(s))
			break;
		it = s->head;
		s->head = it->next;
		if (s->head == NULL)
			s->tail = NULL;
		pthread_mutex_unlock(&s->mu);
		zx_webhook_post(&s->opts, it->url, it->body, it->event, it->job_id);
		item_free(it);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct zx_sender *
zx_sender_start(const struct zx_webhook_opts *opts, int (*hurry)(void))
{
	struct zx_sender *s = zx_xcalloc(1, sizeof(*s));
	int rc;

	s->opts = *opts;
	s->hurry = hurry;
	s->opts.abandon = give_up;
	s->opts.abandon_arg = s;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	for (; s->nthreads < SENDER_THREADS; s->nthreads++)
		if ((rc = pthread_create(&s->threads[s->nthreads], NULL, run, s)) != 0) {
			zlog(ZX_ERROR, "thread_failed", "what=%s error=%s", zx_q("callback sender"),
			    zx_q(strerror(rc)));
			zx_sender_stop(s, 0);
			return NULL;
		}
	return s;
}

void
zx_sender_queue(struct zx_sender *s, const char *url, const char *body, const char *event,
    const char *job_id)
{
	struct item *it = zx_xcalloc(1, sizeof(*it));

	it->url = zx_xstrdup(url);
	it->body = zx_xstrdup(body);
	it->event = zx_xstrdup(event);
	it->job_id = zx_xstrdup(job_id);
	pthread_mutex_lock(&s->mu);
	if (s->tail != NULL)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void
zx_sender_stop(struct zx_sender *s, double until)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->until = until;
	atomic_store(&s->stop, 1);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	while (s->head != NULL) {
		struct item *it = s->head;

		s->head = it->next;
		zlog(ZX_WARN, "webhook_dropped", "job_id=%s callback=%s reason=%s", it->job_id,
		    it->event, zx_q("the worker stopped before sending it"));
		item_free(it);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
