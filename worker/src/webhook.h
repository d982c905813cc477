/*
 * webhook.h — completion callbacks: POST a small JSON document to a job's webhook_url with
 * libcurl.  Best effort: one attempt with a short timeout, the outcome logged, never an error
 * for the job.  Runs on the pool thread that finished the job, never on the claim loop.
 */
#ifndef ZX_WEBHOOK_H
#define ZX_WEBHOOK_H

/* Once at start-up, before any thread starts (curl_global_init); 0 or -1. */
int zx_webhook_init(void);
void zx_webhook_cleanup(void);

/* POSTs body (JSON) to url; logs the HTTP status or the error. */
void zx_webhook_post(const char *url, const char *body, double timeout_s, const char *job_id);

#endif /* ZX_WEBHOOK_H */
