/*
 * pages.c
 *	Serves the dashboard: the HTML pages at their own paths and every
 *	script, style and library under /assets/, all from the table that
 *	assets_gen.sh embedded in the module (no file is read at run time).
 *
 *	/			index.html	landing page
 *	/login			login.html
 *	/dashboard		dashboard.html	the job list
 *	/dashboard/new		new.html	the new-sweep form
 *	/dashboard/jobs/{id}	job.html	one job
 *	anything else under /dashboard: 404.html with status 404
 *
 * Pages carry no data: their scripts call the JSON API with the token
 * from POST /api/login, so what a page shows is decided by the API (a
 * job of another tenant is a 404 there). Answers are revalidated with
 * the ETag on every use (Cache-Control: no-cache), so a new build is
 * picked up at once and an unchanged file costs a 304.
 */
#include <sys/types.h>

#include <string.h>

#include "app.h"
#include "pages.h"

/* Scripts and styles only from this origin; pushes over ws(s) to it. */
#define ZX_CSP								\
	"default-src 'none'; script-src 'self'; style-src 'self'; "	\
	"img-src 'self' data:; connect-src 'self'; "			\
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

int	zx_page(struct http_request *);
int	zx_asset(struct http_request *);

static const struct zx_asset	*asset_find(const char *);
static const char		*page_file(const char *);
static int			 serve(struct http_request *, int,
				    const struct zx_asset *, uint64_t);
static int			 method_not_allowed(struct http_request *);

static const struct zx_asset *
asset_find(const char *path)
{
	size_t	i;

	for (i = 0; i < zx_assets_count; i++) {
		if (strcmp(zx_assets[i].path, path) == 0)
			return (&zx_assets[i]);
	}
	return (NULL);
}

/* The embedded page for a page path, or NULL (a 404). */
static const char *
page_file(const char *path)
{
	const char	*id;
	size_t		 len;

	if (strcmp(path, "/") == 0)
		return ("/assets/index.html");
	if (strcmp(path, "/login") == 0)
		return ("/assets/login.html");
	if (strcmp(path, "/dashboard") == 0)
		return ("/assets/dashboard.html");
	if (strcmp(path, "/dashboard/new") == 0)
		return ("/assets/new.html");
	if (strncmp(path, "/dashboard/jobs/", 16) != 0)
		return (NULL);
	id = path + 16;
	len = strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789");
	if (len == 0 || len > ZX_ID_MAX || id[len] != '\0')
		return (NULL);
	return ("/assets/job.html");
}

static int
serve(struct http_request *req, int status, const struct zx_asset *a,
    uint64_t t0)
{
	const char	*inm;

	http_response_header(req, "content-type", a->type);
	http_response_header(req, "cache-control", "no-cache");
	http_response_header(req, "etag", a->etag);
	http_response_header(req, "x-content-type-options", "nosniff");
	http_response_header(req, "referrer-policy", "no-referrer");
	if (strncmp(a->type, "text/html", 9) == 0)
		http_response_header(req, "content-security-policy", ZX_CSP);

	inm = zx_header(req, "if-none-match");
	if (status == 200 && inm != NULL && strcmp(inm, a->etag) == 0)
		status = 304;
	if (status == 304) {
		http_response(req, status, NULL, 0);
	} else {
		/* The bytes are static: sent from where they are, no copy. */
		http_response_stream(req, status, (void *)(uintptr_t)a->data,
		    a->len, NULL, NULL);
	}
	zx_metrics_observe(zx_metrics, ZX_ROUTE_PAGES, status, zx_now_us() - t0);
	return (KORE_RESULT_OK);
}

/* 405 for anything but GET and HEAD, as a JSON error like the API's. */
static int
method_not_allowed(struct http_request *req)
{
	struct zx_ctx	*ctx;

	ctx = zx_ctx_create(req, sizeof(*ctx), ZX_ROUTE_PAGES, NULL, NULL);
	(void)zx_method_ok(req, ctx, HTTP_METHOD_GET);
	return (zx_reply(req, ctx));
}

int
zx_page(struct http_request *req)
{
	const struct zx_asset	*a;
	const char		*file;
	uint64_t		 t0 = zx_now_us();

	if (!(req->method & (HTTP_METHOD_GET | HTTP_METHOD_HEAD)))
		return (method_not_allowed(req));
	if ((file = page_file(req->path)) == NULL ||
	    (a = asset_find(file)) == NULL) {
		if ((a = asset_find("/assets/404.html")) == NULL)
			fatal("zixly: 404.html is not embedded");
		return (serve(req, 404, a, t0));
	}
	return (serve(req, 200, a, t0));
}

int
zx_asset(struct http_request *req)
{
	const struct zx_asset	*a;
	uint64_t		 t0 = zx_now_us();

	if (!(req->method & (HTTP_METHOD_GET | HTTP_METHOD_HEAD)))
		return (method_not_allowed(req));
	if ((a = asset_find(req->path)) == NULL) {
		if ((a = asset_find("/assets/404.html")) == NULL)
			fatal("zixly: 404.html is not embedded");
		return (serve(req, 404, a, t0));
	}
	return (serve(req, 200, a, t0));
}
