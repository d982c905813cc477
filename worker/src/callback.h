/*
 * callback.h — job callbacks above the HTTP of webhook.h: their JSON body, and threads that
 * send the callbacks the main loop decides on.
 *
 * A sweep's own callbacks (job.completed, job.failed) are sent by the pool thread that ran it.
 * A job that zixly_rescue dead-letters (its worker died during its last attempt) is known only
 * to the worker whose rescue took it; its job.failed goes through the sender here, so that the
 * main loop never waits for a receiver.
 */
#ifndef ZX_CALLBACK_H
#define ZX_CALLBACK_H

#include <json-c/json.h>

#include "webhook.h"

/*
 * The body of a callback: event, job_id, job_type, status, tenant_id and ticker (null when
 * NULL), then the members of fields, which it takes.  The caller frees the text.
 */
char *zx_callback_body(const char *event, const char *job_id, const char *job_type,
    const char *status, const char *tenant_id, const char *ticker, struct json_object *fields);

/* The fields job.failed adds to zx_callback_body: the error and the attempts made. */
struct json_object *zx_callback_failure(const char *error, int attempts);

struct zx_sender;

/*
 * Starts the sending threads (with a copy of opts); NULL (logged) if it cannot.  hurry, if not
 * NULL, is asked from those threads while they send: non-zero gives up the callback in flight and
 * the rest at once (the daemon's second stop signal).
 */
struct zx_sender *zx_sender_start(const struct zx_webhook_opts *opts, int (*hurry)(void));

/* Queues a callback (copies everything); up to 4 threads send them, oldest first. */
void zx_sender_queue(struct zx_sender *s, const char *url, const char *body, const char *event,
    const char *job_id);

/*
 * Sends what is queued until the time until (zx_mono_s()), then stops the threads; a callback
 * being sent then is given up within a second, and those still queued are dropped, each logged
 * (event=webhook_dropped).  Then frees the sender.  NULL is fine.
 */
void zx_sender_stop(struct zx_sender *s, double until);


#endif /* ZX_CALLBACK_H */
