/*
 * live_event.c
 *	Turns a zixly_job_events payload into the message the dashboard's
 *	pages receive (see live_event.h). Everything is checked: the payload
 *	comes from the database, but what it names goes to browsers.
 */
#include <string.h>

#include <json-c/json.h>

#include "live_event.h"
#include "request.h"

static const char *const statuses[] = {
	"QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"
};

static int	id_ok(struct json_object *);
static int	status_ok(const char *);

static int
id_ok(struct json_object *v)
{
	const char	*s;
	size_t		 len;

	if (!json_object_is_type(v, json_type_string))
		return (0);
	s = json_object_get_string(v);
	len = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789");
	return (len > 0 && len <= ZX_ID_MAX && s[len] == '\0' &&
	    (size_t)json_object_get_string_len(v) == len);
}

static int
status_ok(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		if (strcmp(s, statuses[i]) == 0)
			return (1);
	}
	return (0);
}

int
zx_live_event(const char *payload, char *tenant, size_t tenantlen,
    struct zx_buf *out)
{
	struct json_tokener	*tok;
	struct json_object	*root, *t, *st, *id, *ids;
	size_t			 i, n, len;
	int			 rc = -1;

	len = strlen(payload);
	if (len == 0 || len > ZX_LIVE_PAYLOAD_MAX)
		return (-1);
	if ((tok = json_tokener_new_ex(4)) == NULL)
		return (-1);
	root = json_tokener_parse_ex(tok, payload, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)
		goto out;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "tenant_id", &t) ||
	    !json_object_is_type(t, json_type_string) ||
	    (size_t)json_object_get_string_len(t) >= tenantlen ||
	    json_object_get_string_len(t) == 0 ||
	    strlen(json_object_get_string(t)) !=
	    (size_t)json_object_get_string_len(t) ||
	    !json_object_object_get_ex(root, "status", &st) ||
	    !json_object_is_type(st, json_type_string) ||
	    !status_ok(json_object_get_string(st)))
		goto out;

	if (json_object_object_get_ex(root, "id", &id)) {
		if (json_object_object_get_ex(root, "ids", &ids) || !id_ok(id))
			goto out;
		n = 1;
	} else {
		if (!json_object_object_get_ex(root, "ids", &ids) ||
		    !json_object_is_type(ids, json_type_array) ||
		    (n = json_object_array_length(ids)) == 0)
			goto out;
		for (i = 0; i < n; i++) {
			if (!id_ok(json_object_array_get_idx(ids, i)))
				goto out;
		}
		id = NULL;
	}

	memcpy(tenant, json_object_get_string(t),
	    (size_t)json_object_get_string_len(t) + 1);
	zx_buf_puts(out, "{\"type\":\"jobs\",\"ids\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			zx_buf_puts(out, ",");
		zx_buf_json_cstr(out, json_object_get_string(id != NULL ? id :
		    json_object_array_get_idx(ids, i)));
	}
	zx_buf_puts(out, "],\"status\":");
	zx_buf_json_cstr(out, json_object_get_string(st));
	zx_buf_puts(out, "}");
	rc = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return (rc);
}
