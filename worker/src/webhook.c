/*
 * webhook.c — completion callbacks with libcurl (see webhook.h).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "webhook.h"

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

void
zx_webhook_post(const char *url, const char *body, double timeout_s, const char *job_id)
{
	CURL *h = curl_easy_init();
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	double t0 = zx_mono_s();
	long status = 0;
	CURLcode rc;

	if (h == NULL) {
		zlog(ZX_WARN, "webhook_failed", "job_id=%s error=%s", job_id, zx_q("curl_easy_init"));
		return;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "User-Agent: zixly-worker/" ZX_VERSION);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);		/* threads: no SIGALRM */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		zlog(ZX_WARN, "webhook_failed", "job_id=%s url=%s error=%s duration_ms=%.1f", job_id,
		    zx_q(url), zx_q(errbuf[0] ? errbuf : curl_easy_strerror(rc)),
		    (zx_mono_s() - t0) * 1e3);
	else
		zlog(status >= 200 && status < 300 ? ZX_INFO : ZX_WARN, "webhook_sent",
		    "job_id=%s url=%s http_status=%ld duration_ms=%.1f", job_id, zx_q(url), status,
		    (zx_mono_s() - t0) * 1e3);
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
}
