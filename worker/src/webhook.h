/*
 * webhook.h — job callbacks: POST a small JSON document to a job's webhook_url with libcurl
 * (job.completed, and job.failed when a failure is final).  Best effort: one attempt with a
 * short timeout, the outcome logged, never an error for the job.  Runs on the pool thread that
 * finished the job, never on the claim loop.
 *
 * Signing: with a secret (--webhook-secret), each POST carries
 *
 *   Zixly-Timestamp: <unix seconds>
 *   Zixly-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *
 * (OpenSSL computes the HMAC); without one, neither header is sent.
 *
 * Destinations: every address libcurl is about to connect to (after DNS, so a name that
 * resolves differently later cannot slip through) is classified; loopback, private, link-local,
 * unspecified, multicast and reserved addresses are refused, and with --webhook-allow-private
 * loopback and private ones are allowed.  Redirects are never followed, and no proxy is used.
 */
#ifndef ZX_WEBHOOK_H
#define ZX_WEBHOOK_H

#include <sys/socket.h>

/* What a callback needs of the daemon's settings (filled from struct zx_config). */
struct zx_webhook_opts {
	const char *secret;		/* NULL or "": unsigned */
	int allow_private;		/* loopback and private destinations allowed */
	double timeout_s;
	/* NULL, or asked about once a second or more often: non-zero abandons the callback */
	int (*abandon)(void *arg);
	void *abandon_arg;
};

/* The classes of a destination address, from the most to the least acceptable. */
enum zx_addr_class {
	ZX_ADDR_PUBLIC,			/* global unicast */
	ZX_ADDR_LOOPBACK,		/* 127/8, ::1 */
	ZX_ADDR_PRIVATE,		/* 10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15, fc00::/7 */
	ZX_ADDR_LINK_LOCAL,		/* 169.254/16 (cloud metadata), fe80::/10 */
	ZX_ADDR_UNSPECIFIED,		/* 0/8, :: */
	ZX_ADDR_MULTICAST,		/* 224/4, ff00::/8 */
	ZX_ADDR_RESERVED,		/* 240/4 and broadcast, 192.0.0/24, other families */
};

/*
 * The class of an IPv4 or IPv6 socket address (IPv4-mapped and -compatible IPv6 addresses as
 * the IPv4 address they carry; NAT64's 64:ff9b::/96 likewise).  Other families: RESERVED.
 */
enum zx_addr_class zx_addr_classify(const struct sockaddr *sa);

/* "public", "loopback", "private", "link-local", "unspecified", "multicast", "reserved". */
const char *zx_addr_class_name(enum zx_addr_class c);

/* Whether a callback may connect to an address of class c under allow_private. */
int zx_addr_allowed(enum zx_addr_class c, int allow_private);

/*
 * hex = lower-case hex HMAC-SHA256(secret, "<timestamp>.<body>"), 64 characters and a NUL.
 * Returns 0, or -1 (logged) if OpenSSL fails.
 */
int zx_webhook_sign(const char *secret, long long timestamp, const char *body, char hex[65]);

/* Once at start-up, before any thread starts (curl_global_init); 0 or -1. */
int zx_webhook_init(void);
void zx_webhook_cleanup(void);

/*
 * POSTs body (JSON) to url, signed when opts->secret is set; logs the HTTP status, the error,
 * the refused destination with its class (event=webhook_refused), or that opts->abandon gave
 * it up (event=webhook_dropped).  event names the
 * callback in the log ("job.completed", "job.failed").
 */
void zx_webhook_post(const struct zx_webhook_opts *opts, const char *url, const char *body,
    const char *event, const char *job_id);

#endif /* ZX_WEBHOOK_H */
