/*
 * live.c
 *	GET /api/live: job status changes pushed to the dashboard over a
 *	WebSocket, scoped to the tenant of the user's token.
 *
 * Browsers cannot set Authorization on a WebSocket, so the page offers
 * two subprotocols, "zixly-live" and its login token; the token is
 * checked here (jwt.c) before the upgrade and the answer names
 * "zixly-live". A bad or missing token is a 401 and no connection.
 *
 * Each Kore worker keeps one extra database connection of its own that
 * LISTENs on zixly_job_events, opened without blocking (PQconnectStart,
 * its socket in Kore's event loop) when the worker's first client
 * arrives and closed LIVE_LINGER_MS after its last one leaves. Every
 * notification (live_event.c) goes to this worker's clients of the
 * event's tenant. Clients are told {"type":"ready"} once the LISTEN
 * is in place (events before that were missed: they reload) and
 * {"type":"lost"} when the connection drops; it is reopened with
 * backoff while clients remain, and the pages poll in between.
 *
 * A heartbeat pings every client (Kore closes a WebSocket that is idle
 * for websocket_timeout) and closes, with code 4001, those whose token
 * has expired. Client state (struct live_client) is kore_calloc'd into
 * c->hdlr_extra, which Kore frees with the connection; the list only
 * links it while the connection is open.
 */
#include <sys/types.h>
#include <sys/epoll.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "app.h"
#include "live_event.h"

#define LIVE_PROTOCOL		"zixly-live"
#define LIVE_CHANNEL		"zixly_job_events"
#define LIVE_HEARTBEAT_MS	20000
#define LIVE_LINGER_MS		30000
#define LIVE_RETRY_MIN_MS	500
#define LIVE_RETRY_MAX_MS	30000
#define LIVE_CLOSE_EXPIRED	4001

struct live_client {
	struct connection		*c;
	char				 tenant[ZX_ID_MAX + 1];
	int64_t				 exp;
	TAILQ_ENTRY(live_client)	 list;
};

enum listen_state { L_DOWN, L_CONNECTING, L_LISTENING, L_READY };

struct live_listener {
	struct kore_event	 evt;		/* first: epoll hands us this */
	PGconn			*conn;
	int			 fd;
	enum listen_state	 state;
	struct kore_timer	*retry;
	struct kore_timer	*linger;
	u_int64_t		 backoff;
};

int	zx_api_live(struct http_request *);
void	zx_live_connect(struct connection *);
void	zx_live_message(struct connection *, u_int8_t, const void *, size_t);
void	zx_live_disconnect(struct connection *);

static int	 token_from_protocols(const char *, char *, size_t);
static void	 send_all(const char *, const char *, size_t);
static void	 heartbeat(void *, u_int64_t);
static void	 listen_start(void);
static void	 listen_arm(int);
static void	 listen_stop(void);
static void	 listen_lost(const char *);
static void	 listen_handle(void *, int);
static void	 listen_connecting(void);
static void	 listen_read(int);
static void	 retry_fire(void *, u_int64_t);
static void	 linger_fire(void *, u_int64_t);

static TAILQ_HEAD(, live_client)	 clients =
    TAILQ_HEAD_INITIALIZER(clients);
static struct live_listener		 lsn = { .fd = -1 };
static struct kore_timer		*beat;
/* The claims of the request being upgraded, for zx_live_connect. */
static const struct zx_jwt_claims	*upgrading;

static const char msg_ready[] = "{\"type\":\"ready\"}";
static const char msg_lost[] = "{\"type\":\"lost\"}";

/*
 * The token among the offered subprotocols ("zixly-live, <token>"), or
 * -1 if "zixly-live" is not offered or no single other value is.
 */
static int
token_from_protocols(const char *h, char *tok, size_t toklen)
{
	const char	*p, *end;
	size_t		 len;
	int		 ours = 0, tokens = 0;

	for (p = h; *p != '\0'; p = end) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ", \t");
		len = (size_t)(end - p);
		if (len == sizeof(LIVE_PROTOCOL) - 1 &&
		    strncmp(p, LIVE_PROTOCOL, len) == 0) {
			ours = 1;
		} else {
			if (len >= toklen || tokens++ > 0)
				return (-1);
			memcpy(tok, p, len);
			tok[len] = '\0';
		}
	}
	return (ours && tokens == 1 ? 0 : -1);
}

int
zx_api_live(struct http_request *req)
{
	struct zx_jwt_claims		 claims;
	struct zx_ctx			*ctx;
	const char			*h;
	char				 tok[ZX_TOKEN_MAX + 1];
	enum zx_jwt_result		 r;

	ctx = zx_ctx_create(req, sizeof(*ctx), ZX_ROUTE_LIVE, NULL, NULL);
	if (!zx_method_ok(req, ctx, HTTP_METHOD_GET))
		return (zx_reply(req, ctx));
	if ((h = zx_header(req, "upgrade")) == NULL ||
	    strcasecmp(h, "websocket") != 0) {
		zx_fail(ctx, 400, "invalid_request", "this is a WebSocket: "
		    "connect with the subprotocols \"" LIVE_PROTOCOL "\" and "
		    "a token from POST /api/login");
		return (zx_reply(req, ctx));
	}
	if ((h = zx_header(req, "sec-websocket-protocol")) == NULL ||
	    token_from_protocols(h, tok, sizeof(tok)) == -1) {
		zx_fail(ctx, 401, "unauthorized", "offer the subprotocols \""
		    LIVE_PROTOCOL "\" and a token from POST /api/login");
		return (zx_reply(req, ctx));
	}

	if ((r = zx_auth_token(tok, &claims)) != ZX_JWT_OK) {
		zx_fail(ctx, 401, "unauthorized", zx_jwt_strerror(r));
		return (zx_reply(req, ctx));
	}

	http_response_header(req, "sec-websocket-protocol", LIVE_PROTOCOL);
	upgrading = &claims;
	kore_websocket_handshake(req, "zx_live_connect", "zx_live_message",
	    "zx_live_disconnect");
	upgrading = NULL;
	/* Kore answers a bad handshake (no Sec-WebSocket-Key, say) itself */
	zx_metrics_observe(zx_metrics, ZX_ROUTE_LIVE, req->status != 0 ? req->status : 101,
	    zx_now_us() - ctx->t0);
	return (KORE_RESULT_OK);
}

void
zx_live_connect(struct connection *c)
{
	struct live_client	*cl;

	cl = kore_calloc(1, sizeof(*cl));
	cl->c = c;
	(void)kore_strlcpy(cl->tenant, upgrading->tid, sizeof(cl->tenant));
	cl->exp = upgrading->exp;
	c->hdlr_extra = cl;
	TAILQ_INSERT_TAIL(&clients, cl, list);

	if (beat == NULL)
		beat = kore_timer_add(heartbeat, LIVE_HEARTBEAT_MS, NULL, 0);
	if (lsn.linger != NULL) {
		kore_timer_remove(lsn.linger);
		lsn.linger = NULL;
	}
	if (lsn.state == L_READY)
		kore_websocket_send(c, WEBSOCKET_OP_TEXT, msg_ready,
		    sizeof(msg_ready) - 1);
	else if (lsn.state == L_DOWN && lsn.retry == NULL)
		listen_start();
}

/* Pages send nothing; whatever arrives is ignored. */
void
zx_live_message(struct connection *c, u_int8_t op, const void *data,
    size_t len)
{
	(void)c;
	(void)op;
	(void)data;
	(void)len;
}

void
zx_live_disconnect(struct connection *c)
{
	struct live_client	*cl = c->hdlr_extra;

	if (cl == NULL)
		return;
	TAILQ_REMOVE(&clients, cl, list);
	if (TAILQ_EMPTY(&clients) && lsn.state != L_DOWN && lsn.linger == NULL)
		lsn.linger = kore_timer_add(linger_fire, LIVE_LINGER_MS, NULL,
		    KORE_TIMER_ONESHOT);
}

/* To every live client of tenant (NULL: of every tenant). */
static void
send_all(const char *tenant, const char *msg, size_t len)
{
	struct live_client	*cl;
	int64_t			 now = (int64_t)time(NULL);

	TAILQ_FOREACH(cl, &clients, list) {
		if (cl->exp <= now)
			continue;	/* closed by the next heartbeat */
		if (tenant == NULL || strcmp(cl->tenant, tenant) == 0)
			kore_websocket_send(cl->c, WEBSOCKET_OP_TEXT, msg, len);
	}
}

static void
heartbeat(void *arg, u_int64_t now_ms)
{
	struct live_client	*cl, *next;
	int64_t			 now = (int64_t)time(NULL);
	/* Close frame: status code 4001, then the reason. */
	static const u_int8_t	 expired[] = {
		LIVE_CLOSE_EXPIRED >> 8, LIVE_CLOSE_EXPIRED & 0xff,
		't', 'o', 'k', 'e', 'n', ' ', 'e', 'x', 'p', 'i', 'r', 'e', 'd'
	};

	(void)arg;
	(void)now_ms;
	for (cl = TAILQ_FIRST(&clients); cl != NULL; cl = next) {
		next = TAILQ_NEXT(cl, list);
		if (cl->exp > now) {
			kore_websocket_send(cl->c, WEBSOCKET_OP_PING, NULL, 0);
			continue;
		}
		cl->c->flags |= CONN_WS_CLOSE_SENT;
		kore_websocket_send(cl->c, WEBSOCKET_OP_CLOSE, expired,
		    sizeof(expired));
		kore_connection_disconnect(cl->c);	/* unlinks cl */
	}
}

/* ------------------------------------------------------------ LISTEN */

static void
listen_start(void)
{
	lsn.conn = PQconnectStart(zx_config.database_url);
	if (lsn.conn == NULL || PQstatus(lsn.conn) == CONNECTION_BAD) {
		listen_lost(lsn.conn != NULL ? PQerrorMessage(lsn.conn) :
		    "out of memory");
		return;
	}
	lsn.evt.type = KORE_TYPE_PGSQL_CONN;
	lsn.evt.flags = 0;
	lsn.evt.handle = listen_handle;
	lsn.fd = PQsocket(lsn.conn);
	lsn.state = L_CONNECTING;
	listen_arm(1);		/* connect(2) is under way */
}

/*
 * Waits for what libpq waits for: readable, or writable too. Edge-
 * triggered, and re-armed after every step, which reports a readiness
 * that is already there (epoll_ctl MOD), so none is missed. Linux epoll
 * flags: the app is built for Debian's Kore (see kore-app/Dockerfile).
 */
static void
listen_arm(int want_write)
{
	kore_platform_event_schedule(lsn.fd, EPOLLIN | EPOLLRDHUP | EPOLLET |
	    (want_write ? EPOLLOUT : 0), 0, &lsn.evt);
}

/* Closes the connection (the kernel drops its socket from epoll). */
static void
listen_stop(void)
{
	if (lsn.conn != NULL)
		PQfinish(lsn.conn);
	lsn.conn = NULL;
	lsn.fd = -1;
	lsn.state = L_DOWN;
}

static void
listen_lost(const char *why)
{
	size_t	len;

	len = strcspn(why, "\n");
	kore_log(LOG_NOTICE, "zixly: live updates: database connection "
	    "lost: %.*s", (int)(len > 200 ? 200 : len), why);
	if (lsn.state == L_READY)
		send_all(NULL, msg_lost, sizeof(msg_lost) - 1);
	listen_stop();
	if (TAILQ_EMPTY(&clients) || lsn.retry != NULL)
		return;
	lsn.backoff = lsn.backoff == 0 ? LIVE_RETRY_MIN_MS :
	    lsn.backoff * 2 > LIVE_RETRY_MAX_MS ? LIVE_RETRY_MAX_MS :
	    lsn.backoff * 2;
	lsn.retry = kore_timer_add(retry_fire, lsn.backoff, NULL,
	    KORE_TIMER_ONESHOT);
}

static void
retry_fire(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;
	lsn.retry = NULL;	/* Kore frees a one-shot timer */
	if (!TAILQ_EMPTY(&clients) && lsn.state == L_DOWN)
		listen_start();
}

static void
linger_fire(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;
	lsn.linger = NULL;
	if (TAILQ_EMPTY(&clients))
		listen_stop();
}

static void
listen_handle(void *arg, int error)
{
	(void)arg;
	if (lsn.state == L_CONNECTING)
		listen_connecting();
	else if (lsn.state != L_DOWN)
		listen_read(error);
}

static void
listen_connecting(void)
{
	PostgresPollingStatusType	r;

	switch ((r = PQconnectPoll(lsn.conn))) {
	case PGRES_POLLING_OK:
		break;
	case PGRES_POLLING_FAILED:
		listen_lost(PQerrorMessage(lsn.conn));
		return;
	default:
		/* libpq may have moved on to another socket (next host). */
		lsn.fd = PQsocket(lsn.conn);
		listen_arm(r == PGRES_POLLING_WRITING);
		return;
	}
	if (PQsetnonblocking(lsn.conn, 1) == -1 ||
	    !PQsendQuery(lsn.conn, "LISTEN " LIVE_CHANNEL)) {
		listen_lost(PQerrorMessage(lsn.conn));
		return;
	}
	lsn.state = L_LISTENING;
	listen_read(0);
}

static void
listen_read(int error)
{
	struct zx_buf	 msg;
	PGresult	*res;
	PGnotify	*n;
	char		 tenant[ZX_ID_MAX + 1];
	int		 ok, pending;

	if ((pending = PQflush(lsn.conn)) == -1 || !PQconsumeInput(lsn.conn)) {
		listen_lost(PQerrorMessage(lsn.conn));
		return;
	}
	while (!PQisBusy(lsn.conn) && (res = PQgetResult(lsn.conn)) != NULL) {
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (!ok) {
			listen_lost(PQerrorMessage(lsn.conn));
			return;
		}
		if (lsn.state == L_LISTENING) {
			lsn.state = L_READY;
			lsn.backoff = 0;
			send_all(NULL, msg_ready, sizeof(msg_ready) - 1);
		}
	}
	zx_buf_init(&msg, 256);
	while ((n = PQnotifies(lsn.conn)) != NULL) {
		zx_buf_reset(&msg);
		if (strcmp(n->relname, LIVE_CHANNEL) == 0 &&
		    zx_live_event(n->extra, tenant, sizeof(tenant), &msg) == 0)
			send_all(tenant, msg.data, msg.len);
		else
			kore_log(LOG_NOTICE, "zixly: live updates: ignored "
			    "a notification that is not a job event");
		PQfreemem(n);
	}
	zx_buf_free(&msg);
	if (error || PQstatus(lsn.conn) == CONNECTION_BAD)
		listen_lost("the server closed the connection");
	else
		listen_arm(pending);
}
