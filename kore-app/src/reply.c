/*
 * reply.c
 *	Per-request context, answers and the small checks every endpoint
 *	makes (method, media type, body size).
 *
 * Every answer leaves through zx_reply, which also records the request
 * in the shared metrics, so nothing is counted twice or missed.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "errors.h"

static void	ctx_free(struct http_request *);

uint64_t
zx_now_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/*
 * The context lives in req->hdlr_extra (Kore frees that memory); this
 * onfree hook releases what the context owns.
 */
static void
ctx_free(struct http_request *req)
{
	struct zx_ctx	*ctx = http_state_get(req);

	if (ctx == NULL)
		return;
	if (ctx->holds_conn)		/* gone mid-statement (Kore drops it) */
		zx_dbconns_released();
	if (ctx->cleanup != NULL)
		ctx->cleanup(ctx);
	zx_buf_free(&ctx->body);
	free(ctx->err_message);
	free(ctx->err_detail);
	free(ctx->err_column);
	free(ctx->cred);
	ctx->err_message = ctx->err_detail = ctx->err_column = NULL;
	ctx->cred = NULL;
}

void *
zx_ctx_create(struct http_request *req, size_t len, int route,
    const struct zx_flow *flow, void (*cleanup)(struct zx_ctx *))
{
	struct zx_ctx	*ctx;

	ctx = http_state_create(req, len, ctx_free);
	ctx->route = route;
	ctx->t0 = zx_now_us();
	ctx->flow = flow;
	ctx->cleanup = cleanup;
	ctx->content_type = "application/json";
	zx_buf_init(&ctx->body, 256);
	return (ctx);
}

/* Sets an error answer (replacing any answer decided before). */
void
zx_fail(struct zx_ctx *ctx, int status, const char *code, const char *msg)
{
	zx_buf_reset(&ctx->body);
	zx_error_body(&ctx->body, code, msg, NULL);
	ctx->status = status;
	ctx->content_type = "application/json";
}

/* Sets an error answer whose body was built elsewhere (errors.c). */
void
zx_fail_body(struct zx_ctx *ctx, int status, struct zx_buf *b)
{
	zx_buf_reset(&ctx->body);
	zx_buf_append(&ctx->body, b->data, b->len);
	ctx->status = status;
	ctx->content_type = "application/json";
}

int
zx_reply(struct http_request *req, struct zx_ctx *ctx)
{
	if (ctx->status == 0)
		zx_fail(ctx, 500, "internal_error", "no answer was decided");
	http_response_header(req, "content-type", ctx->content_type);
	http_response_header(req, "cache-control", "no-store");
	if (ctx->status == 503 && ctx->route != ZX_ROUTE_HEALTH)
		http_response_header(req, "retry-after", "5");
	if (ctx->respond != NULL)
		ctx->respond(req, ctx);
	else
		http_response(req, ctx->status, ctx->body.data, ctx->body.len);
	zx_metrics_observe(zx_metrics, ctx->route, ctx->status,
	    zx_now_us() - ctx->t0);
	return (KORE_RESULT_OK);
}

const char *
zx_header(struct http_request *req, const char *name)
{
	const char	*v;

	if (!http_request_header(req, name, &v))
		return (NULL);
	return (v);
}

/*
 * A validated query argument (Kore's params/validator in zixly.conf).
 * Present but rejected by the validator: a 400 naming the argument.
 */
int
zx_query_arg(struct http_request *req, struct zx_ctx *ctx, const char *name,
    char **out, const char *why)
{
	char	*v, msg[160];

	*out = NULL;
	if (http_argument_get_string(req, name, &v)) {
		*out = v;
		return (1);
	}
	if (!zx_qs_present(req->query_string, name))
		return (1);
	(void)snprintf(msg, sizeof(msg), "query parameter \"%s\": %s",
	    name, why);
	zx_fail(ctx, 400, "invalid_request", msg);
	return (0);
}

/*
 * 405 unless the method is among the allowed ones (HEAD rides on GET).
 * Routing is by path only, so every handler starts here.
 */
int
zx_method_ok(struct http_request *req, struct zx_ctx *ctx, int allowed)
{
	const char	*allow;

	if (allowed & HTTP_METHOD_GET)
		allowed |= HTTP_METHOD_HEAD;
	if (req->method & allowed)
		return (1);
	if ((allowed & HTTP_METHOD_GET) && (allowed & HTTP_METHOD_POST))
		allow = "GET, HEAD, POST";
	else if (allowed & HTTP_METHOD_GET)
		allow = "GET, HEAD";
	else
		allow = "POST";
	http_response_header(req, "allow", allow);
	zx_fail(ctx, 405, "method_not_allowed",
	    "this method is not allowed here; see the Allow header");
	return (0);
}

/* 415 unless the body is declared as JSON. */
int
zx_require_json(struct http_request *req, struct zx_ctx *ctx)
{
	if (zx_media_type_is_json(zx_header(req, "content-type")))
		return (1);
	zx_fail(ctx, 415, "unsupported_media_type",
	    "send the body as Content-Type: application/json");
	return (0);
}

/*
 * The request body as a NUL-terminated malloc'd string. Bodies over
 * ZX_BODY_MAX are a 413 (Kore itself stops at http_body_max, 1 MiB).
 */
int
zx_read_body(struct http_request *req, struct zx_ctx *ctx, char **out,
    size_t *outlen)
{
	struct zx_buf	b;
	char		chunk[8192];
	ssize_t		n;

	*out = NULL;
	*outlen = 0;
	if (req->http_body_length > ZX_BODY_MAX) {
		zx_fail(ctx, 413, "payload_too_large",
		    "the request body is larger than 65536 bytes");
		return (0);
	}
	zx_buf_init(&b, req->http_body_length + 1);
	for (;;) {
		if ((n = http_body_read(req, chunk, sizeof(chunk))) == -1) {
			zx_buf_free(&b);
			zx_fail(ctx, 400, "invalid_request",
			    "the request body could not be read");
			return (0);
		}
		if (n == 0)
			break;
		zx_buf_append(&b, chunk, (size_t)n);
		if (b.len > ZX_BODY_MAX) {
			zx_buf_free(&b);
			zx_fail(ctx, 413, "payload_too_large",
			    "the request body is larger than 65536 bytes");
			return (0);
		}
	}
	*out = b.data;
	*outlen = b.len;
	return (1);
}
