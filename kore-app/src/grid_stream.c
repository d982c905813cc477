/*
 * grid_stream.c
 *	A grid file sent as JSON at the pace the client reads it.
 *
 * The answer goes out with chunked transfer coding (HTTP/1.0 clients get
 * the bytes as they are and a closed connection at the end). Each chunk
 * is up to STREAM_READ bytes of the file converted by grid.c; the next is
 * made only when Kore has sent the previous one (its netbuf callback), so
 * a slow client holds one chunk, not the grid. A fast one could keep that
 * going for the whole file in one turn of the event loop (a 250,000-row
 * grid converts in about a third of a second), so after STREAM_BURST
 * chunks the stream lets the loop go round (a zero-delay timer) and the
 * worker's other connections are served in between.
 *
 * A file that turns out not to be the worker's grid (a bad line, fewer or
 * more rows than the job's result says) cannot become an error answer any
 * more: the connection is closed without the last chunk, so the client
 * sees a truncated transfer rather than wrong JSON.
 *
 * Ownership: the stream (kore_calloc) belongs to the connection while it
 * runs, through the one netbuf of ours in its send queue, or the one
 * timer waiting to make the next. If the client goes away, Kore calls the
 * disconnect hook (we stop) and then removes that netbuf, whose callback
 * frees the stream -- or the timer does, when it fires. c->hdlr_extra points at
 * the stream only so the hook can find it; it is cleared before Kore
 * would free it.
 */
#include <sys/types.h>

#include <errno.h>
#include <unistd.h>

#include "app.h"
#include "grid.h"

#define STREAM_READ	(64 * 1024)
#define STREAM_BURST	4		/* chunks in a row, about 2 ms */

struct grid_stream {
	struct connection	*c;
	int			 fd;
	int			 chunked;
	int			 close_at_end;	/* HTTP/1.0 or Connection: close */
	int			 gone;		/* the connection went away */
	int			 last;		/* the netbuf in flight ends it */
	int			 burst;		/* chunks since the loop went round */
	uint64_t		 rows;		/* what the job's result says */
	struct zx_grid_conv	 conv;
	struct zx_buf		 data;		/* this chunk's JSON */
	struct zx_buf		 out;		/* framed; the netbuf's bytes */
};

static int	stream_sent(struct netbuf *);
static void	stream_resume(void *, uint64_t);
static void	stream_disconnect(struct connection *);
static int	stream_fill(struct grid_stream *);
static void	stream_queue(struct grid_stream *);
static void	stream_free(struct grid_stream *);

void
zx_grid_stream(struct http_request *req, int status, int fd,
    struct zx_buf *prefix, uint64_t rows)
{
	struct grid_stream	*s;
	struct connection	*c = req->owner;

	req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
	if (!(req->flags & HTTP_VERSION_1_0))
		http_response_header(req, "transfer-encoding", "chunked");
	if (req->method == HTTP_METHOD_HEAD || c == NULL) {
		http_response(req, status, NULL, 0);
		(void)close(fd);
		return;
	}

	s = kore_calloc(1, sizeof(*s));
	s->c = c;
	s->fd = fd;
	s->chunked = !(req->flags & HTTP_VERSION_1_0);
	s->rows = rows;
	zx_grid_conv_init(&s->conv);
	zx_buf_init(&s->data, STREAM_READ * 2);
	zx_buf_init(&s->out, STREAM_READ * 2);
	/* The prefix is the first chunk. */
	zx_buf_append(&s->data, prefix->data, prefix->len);

	c->hdlr_extra = s;
	c->disconnect = stream_disconnect;
	c->flags |= CONN_IS_BUSY;	/* Kore reads no next request yet */
	http_response(req, status, NULL, 0);
	/* Kore would close on an empty send queue, as between two bursts. */
	s->close_at_end = (c->flags & CONN_CLOSE_EMPTY) != 0;
	c->flags &= ~CONN_CLOSE_EMPTY;
	stream_queue(s);
}

static void
stream_disconnect(struct connection *c)
{
	struct grid_stream	*s = c->hdlr_extra;

	s->gone = 1;
	c->hdlr_extra = NULL;
	c->disconnect = NULL;
}

static void
stream_free(struct grid_stream *s)
{
	struct connection	*c = s->c;

	if (!s->gone) {
		c->hdlr_extra = NULL;
		c->disconnect = NULL;
		c->flags &= ~CONN_IS_BUSY;
	}
	(void)close(s->fd);
	zx_grid_conv_free(&s->conv);
	zx_buf_free(&s->data);
	zx_buf_free(&s->out);
	kore_free(s);
}

/*
 * The next piece of JSON into s->data (after what is there). 0, or -1
 * when the file is not what it should be: then the connection is set to
 * close once what was queued is out, without a last chunk.
 */
static int
stream_fill(struct grid_stream *s)
{
	char		buf[STREAM_READ];
	ssize_t		n;
	const char	*why = NULL;

	/* At least one byte to send: a read may end inside the first line. */
	while (why == NULL && !s->last && s->data.len == 0) {
		if ((n = read(s->fd, buf, sizeof(buf))) > 0) {
			if (zx_grid_conv_feed(&s->conv, buf, (size_t)n,
			    &s->data) == -1)
				why = s->conv.error;
		} else if (n == 0) {
			if (zx_grid_conv_finish(&s->conv, &s->data) == -1)
				why = s->conv.error;
			else if (s->conv.rows != s->rows)
				why = "the grid has another number of rows than "
				    "its job's result";
			zx_buf_puts(&s->data, "]}");
			s->last = 1;
		} else if (errno != EINTR) {
			why = errno_s;
		}
	}
	if (why == NULL)
		return (0);
	kore_log(LOG_ERR, "zixly: grid stream stopped: %s", why);
	s->c->flags |= CONN_CLOSE_EMPTY;
	return (-1);
}

/* Frames s->data as a chunk (plus the last one at the end) and queues it. */
static void
stream_queue(struct grid_stream *s)
{
	struct netbuf	*nb;

	zx_buf_reset(&s->out);
	if (s->chunked && s->data.len > 0)
		zx_buf_appendf(&s->out, "%zx\r\n", s->data.len);
	zx_buf_append(&s->out, s->data.data, s->data.len);
	if (s->chunked && s->data.len > 0)
		zx_buf_puts(&s->out, "\r\n");
	if (s->chunked && s->last)
		zx_buf_puts(&s->out, "0\r\n\r\n");
	if (s->last && s->close_at_end)
		s->c->flags |= CONN_CLOSE_EMPTY;
	zx_buf_reset(&s->data);

	/* A stream netbuf points into s->out until stream_sent. */
	net_send_stream(s->c, s->out.data, s->out.len, stream_sent, &nb);
	nb->extra = s;
}

/* Kore sent our netbuf (or is dropping it with the connection). */
static int
stream_sent(struct netbuf *nb)
{
	struct grid_stream	*s = nb->extra;
	struct connection	*c = s->c;

	if (s->gone) {
		stream_free(s);
		return (KORE_RESULT_OK);
	}
	if (s->last) {
		stream_free(s);
		if (!(c->flags & CONN_CLOSE_EMPTY))
			http_start_recv(c);	/* keep-alive: the next request */
		return (KORE_RESULT_OK);
	}
	if (++s->burst >= STREAM_BURST) {
		s->burst = 0;
		(void)kore_timer_add(stream_resume, 0, s, KORE_TIMER_ONESHOT);
		return (KORE_RESULT_OK);
	}
	if (stream_fill(s) == -1) {
		stream_free(s);
		return (KORE_RESULT_OK);
	}
	stream_queue(s);
	return (KORE_RESULT_OK);
}

/* The loop went round: the next chunk, and send what the socket takes. */
static void
stream_resume(void *arg, uint64_t now)
{
	struct grid_stream	*s = arg;
	struct connection	*c = s->c;

	(void)now;
	if (s->gone) {
		stream_free(s);
		return;
	}
	if (stream_fill(s) == -1)
		stream_free(s);		/* the connection closes, empty */
	else
		stream_queue(s);
	if (!net_send_flush(c))
		kore_connection_disconnect(c);
}
