/*
 * webhook.c — job callbacks with libcurl, signed with OpenSSL's HMAC, and the destination
 * check run on every address libcurl connects to (see webhook.h).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common.h"
#include "log.h"
#include "webhook.h"

/* ---------------------------------------------------------------- destination addresses */
static enum zx_addr_class
classify_v4(uint32_t a)		/* host byte order */
{
	if ((a >> 24) == 0)
		return ZX_ADDR_UNSPECIFIED;		/* 0/8: "this network"; 0.0.0.0 reaches us */
	if ((a >> 24) == 127)
		return ZX_ADDR_LOOPBACK;
	if ((a >> 24) == 10 || (a & 0xfff00000u) == 0xac100000u ||
	    (a & 0xffff0000u) == 0xc0a80000u ||	/* RFC 1918 */
	    (a & 0xffc00000u) == 0x64400000u ||	/* 100.64/10, carrier-grade NAT */
	    (a & 0xfffe0000u) == 0xc6120000u)		/* 198.18/15, benchmarking */
		return ZX_ADDR_PRIVATE;
	if ((a & 0xffff0000u) == 0xa9fe0000u)
		return ZX_ADDR_LINK_LOCAL;		/* 169.254/16, with 169.254.169.254 */
	if ((a & 0xf0000000u) == 0xe0000000u)
		return ZX_ADDR_MULTICAST;
	if ((a & 0xf0000000u) == 0xf0000000u || (a & 0xffffff00u) == 0xc0000000u)
		return ZX_ADDR_RESERVED;		/* 240/4, 255.255.255.255; 192.0.0/24 */
	return ZX_ADDR_PUBLIC;
}

static uint32_t
v4_at(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int
all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static enum zx_addr_class
classify_v6(const unsigned char *b)
{
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

	if (all_zero(b, 15))
		return b[15] == 0 ? ZX_ADDR_UNSPECIFIED : b[15] == 1 ? ZX_ADDR_LOOPBACK :
		    classify_v4(v4_at(b + 12));
	if (all_zero(b, 10) && b[10] == 0xff && b[11] == 0xff)
		return classify_v4(v4_at(b + 12));	/* ::ffff:a.b.c.d */
	if (all_zero(b, 12))
		return classify_v4(v4_at(b + 12));	/* ::a.b.c.d (deprecated) */
	if (memcmp(b, nat64, 12) == 0)
		return classify_v4(v4_at(b + 12));	/* 64:ff9b::a.b.c.d */
	if (b[0] == 0x20 && b[1] == 0x02) {
		enum zx_addr_class c = classify_v4(v4_at(b + 2));	/* 6to4 */

		if (c != ZX_ADDR_PUBLIC)
			return c;
	}
	if (b[0] == 0xff)
		return ZX_ADDR_MULTICAST;
	if ((b[0] & 0xfe) == 0xfc)
		return ZX_ADDR_PRIVATE;			/* fc00::/7, unique local */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return ZX_ADDR_LINK_LOCAL;		/* fe80::/10 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return ZX_ADDR_PRIVATE;			/* fec0::/10, the old site-local */
	if (b[0] == 0x00)
		return ZX_ADDR_RESERVED;		/* the rest of ::/8 */
	return ZX_ADDR_PUBLIC;
}

enum zx_addr_class
zx_addr_classify(const struct sockaddr *sa)
{
	if (sa == NULL)
		return ZX_ADDR_RESERVED;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return classify_v4(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		return classify_v6(in6->sin6_addr.s6_addr);
	}
	return ZX_ADDR_RESERVED;
}

const char *
zx_addr_class_name(enum zx_addr_class c)
{
	switch (c) {
	case ZX_ADDR_PUBLIC:
		return "public";
	case ZX_ADDR_LOOPBACK:
		return "loopback";
	case ZX_ADDR_PRIVATE:
		return "private";
	case ZX_ADDR_LINK_LOCAL:
		return "link-local";
	case ZX_ADDR_UNSPECIFIED:
		return "unspecified";
	case ZX_ADDR_MULTICAST:
		return "multicast";
	case ZX_ADDR_RESERVED:
		return "reserved";
	}
	return "reserved";
}

int
zx_addr_allowed(enum zx_addr_class c, int allow_private)
{
	return c == ZX_ADDR_PUBLIC ||
	    (allow_private && (c == ZX_ADDR_LOOPBACK || c == ZX_ADDR_PRIVATE));
}

/* ---------------------------------------------------------------- signing */
int
zx_webhook_sign(const char *secret, long long timestamp, const char *body, char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *msg = zx_xasprintf("%lld.%s", timestamp, body);
	int ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
	    strlen(msg), mac, &len) != NULL && len == 32;

	free(msg);
	hex[0] = '\0';
	if (!ok) {
		zlog(ZX_ERROR, "webhook_sign_failed", "error=%s", zx_q("HMAC-SHA256 failed"));
		return ZX_ERR;
	}
	for (unsigned int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return ZX_OK;
}

/* ---------------------------------------------------------------- posting */
int
zx_webhook_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		zlog(ZX_ERROR, "webhook_init_failed", "error=%s", zx_q("curl_global_init failed"));
		return ZX_ERR;
	}
	return ZX_OK;
}

void
zx_webhook_cleanup(void)
{
	curl_global_cleanup();
}

/* The response body is not needed: read and dropped. */
static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* What the socket callback saw: the last address it refused. */
struct guard {
	int allow_private;
	int refused;
	enum zx_addr_class cls;
	char addr[INET6_ADDRSTRLEN];
};

/*
 * libcurl calls this for every address it is about to connect to, after name resolution: the
 * one place where the real destination is known (a DNS answer that changes between a check
 * and the connect cannot get past it).  A refused address makes libcurl try the next one.
 */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct guard *g = arg;
	enum zx_addr_class c = purpose == CURLSOCKTYPE_IPCXN ? zx_addr_classify(&a->addr) :
	    ZX_ADDR_RESERVED;

	if (!zx_addr_allowed(c, g->allow_private)) {
		const void *raw = NULL;

		if (a->family == AF_INET)
			raw = &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
		else if (a->family == AF_INET6)
			raw = &((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr;
		if (raw == NULL || inet_ntop(a->family, raw, g->addr, sizeof(g->addr)) == NULL)
			snprintf(g->addr, sizeof(g->addr), "family-%d", a->family);
		g->refused++;
		g->cls = c;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* libcurl's progress callback: a non-zero answer of opts->abandon aborts the transfer. */
static int
progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const struct zx_webhook_opts *opts = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return opts->abandon(opts->abandon_arg) != 0;
}

/*
 * The URL as logged: its origin, scheme://host[:port], parsed by libcurl.  Credentials, path and
 * query are left out: a callback URL often carries a secret in one of them (user:password@, a
 * Slack-style /services/T/B/<secret> path, ?token=).  The caller frees it.
 */
static char *
url_for_log(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		out = zx_xstrdup("(unparsable)");
		goto done;
	}
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);	/* none when not written */
	out = zx_xasprintf("%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

void
zx_webhook_post(const struct zx_webhook_opts *opts, const char *url, const char *body,
    const char *event, const char *job_id)
{
	CURL *h = curl_easy_init();
	struct curl_slist *headers = NULL;
	struct guard g = {opts->allow_private, 0, ZX_ADDR_PUBLIC, ""};
	char errbuf[CURL_ERROR_SIZE] = "", line[128], hex[65];
	char *shown;
	double t0 = zx_mono_s();
	long status = 0;
	CURLcode rc;

	if (h == NULL) {
		zlog(ZX_WARN, "webhook_failed", "job_id=%s callback=%s error=%s", job_id, event,
		    zx_q("curl_easy_init"));
		return;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "User-Agent: zixly-worker/" ZX_VERSION);
	snprintf(line, sizeof(line), "Zixly-Event: %s", event);
	headers = curl_slist_append(headers, line);
	if (opts->secret != NULL && opts->secret[0] != '\0') {
		long long ts = (long long)time(NULL);

		if (zx_webhook_sign(opts->secret, ts, body, hex) != ZX_OK) {
			zlog(ZX_WARN, "webhook_failed", "job_id=%s callback=%s error=%s", job_id, event,
			    zx_q("cannot sign the callback"));
			goto out;
		}
		snprintf(line, sizeof(line), "Zixly-Timestamp: %lld", ts);
		headers = curl_slist_append(headers, line);
		snprintf(line, sizeof(line), "Zixly-Signature: v1=%s", hex);
		headers = curl_slist_append(headers, line);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(opts->timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(opts->timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);		/* threads: no SIGALRM */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);	/* a redirect is not followed */
	curl_easy_setopt(h, CURLOPT_PROXY, "");			/* direct: the check sees the peer */
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &g);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (opts->abandon != NULL) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)opts);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	shown = url_for_log(url);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		zlog(ZX_WARN, "webhook_dropped", "job_id=%s callback=%s url=%s reason=%s", job_id, event,
		    zx_q(shown), zx_q("given up while it was sent: the worker is stopping"));
	else if (rc != CURLE_OK && g.refused > 0)
		zlog(ZX_WARN, "webhook_refused", "job_id=%s callback=%s url=%s address=%s class=%s"
		    " reason=%s", job_id, event, zx_q(shown), g.addr, zx_addr_class_name(g.cls),
		    zx_q(g.cls == ZX_ADDR_LOOPBACK || g.cls == ZX_ADDR_PRIVATE ?
		    "loopback and private destinations need ZIXLY_WEBHOOK_ALLOW_PRIVATE=1" :
		    "this kind of destination is never allowed"));
	else if (rc != CURLE_OK)
		zlog(ZX_WARN, "webhook_failed", "job_id=%s callback=%s url=%s error=%s duration_ms=%.1f",
		    job_id, event, zx_q(shown), zx_q(errbuf[0] ? errbuf : curl_easy_strerror(rc)),
		    (zx_mono_s() - t0) * 1e3);
	else
		zlog(status >= 200 && status < 300 ? ZX_INFO : ZX_WARN, "webhook_sent",
		    "job_id=%s callback=%s url=%s http_status=%ld duration_ms=%.1f", job_id, event,
		    zx_q(shown), status, (zx_mono_s() - t0) * 1e3);
	free(shown);
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
}
