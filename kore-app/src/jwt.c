/*
 * jwt.c
 *	HS256 sign and verify, following RFC 7519 and the RFC 8725 best
 *	current practices:
 *	  - the algorithm is pinned: only {"alg":"HS256"} is accepted, so
 *	    "none" and algorithm-confusion tokens fail before any crypto;
 *	  - the MAC is compared in constant time (CRYPTO_memcmp);
 *	  - exp is required; nbf and iat may not lie in the future; a small
 *	    leeway absorbs clock skew;
 *	  - iss and aud must match this deployment, so a token minted for
 *	    another service with the same key is still refused;
 *	  - "crit" headers are refused (we implement no extensions).
 *
 * Plain C: json-c parses, OpenSSL computes HMAC-SHA256.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "jwt.h"

#define JWT_DEPTH	8

static int	hs256(const struct zx_jwt_config *, const char *, size_t,
		    unsigned char *);
static struct json_object *part_json(const char *, size_t);
static int	claim_int(struct json_object *, const char *, int64_t *);
static int	claim_str(struct json_object *, const char *, char *, size_t);
static int	audience_ok(struct json_object *, const char *);

static int
hs256(const struct zx_jwt_config *cfg, const char *data, size_t len,
    unsigned char *mac)
{
	unsigned int	maclen = 0;

	if (HMAC(EVP_sha256(), cfg->secret, (int)cfg->secret_len,
	    (const unsigned char *)data, len, mac, &maclen) == NULL)
		return (-1);
	return (maclen == 32 ? 0 : -1);
}

/* A base64url part decoded and parsed as a JSON object, or NULL. */
static struct json_object *
part_json(const char *s, size_t len)
{
	struct zx_buf		 raw;
	struct json_tokener	*tok;
	struct json_object	*obj = NULL;

	zx_buf_init(&raw, len);
	if (zx_base64url_decode(s, len, &raw) == -1 ||
	    !zx_utf8_valid(raw.data, raw.len))
		goto out;
	if ((tok = json_tokener_new_ex(JWT_DEPTH)) == NULL)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, raw.data, (int)raw.len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != raw.len ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
out:
	zx_buf_free(&raw);
	return (obj);
}

/* A NumericDate: a JSON integer (or a float, truncated). -1 if mistyped. */
static int
claim_int(struct json_object *o, const char *name, int64_t *out)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, name, &v))
		return (0);
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return (1);
	}
	if (json_object_is_type(v, json_type_double)) {
		double	d = json_object_get_double(v);

		if (!(d > -9.2e18 && d < 9.2e18))
			return (-1);
		*out = (int64_t)d;
		return (1);
	}
	return (-1);
}

/* A string claim of 1..len-1 printable bytes. 0 absent, -1 bad, 1 ok. */
static int
claim_str(struct json_object *o, const char *name, char *out, size_t len)
{
	struct json_object	*v;
	const char		*s;
	size_t			 n, i;

	if (!json_object_object_get_ex(o, name, &v))
		return (0);
	if (!json_object_is_type(v, json_type_string))
		return (-1);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n >= len)
		return (-1);
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (-1);
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return (1);
}

/* aud is a string or an array of strings; ours must be among them. */
static int
audience_ok(struct json_object *payload, const char *aud)
{
	struct json_object	*v, *e;
	size_t			 i, n;

	if (!json_object_object_get_ex(payload, "aud", &v))
		return (0);
	if (json_object_is_type(v, json_type_string))
		return (strcmp(json_object_get_string(v), aud) == 0);
	if (!json_object_is_type(v, json_type_array))
		return (0);
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (json_object_is_type(e, json_type_string) &&
		    strcmp(json_object_get_string(e), aud) == 0)
			return (1);
	}
	return (0);
}

int
zx_jwt_shaped(const char *t)
{
	const char	*d1, *d2;

	if ((d1 = strchr(t, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL)
		return (0);
	return (strchr(d2 + 1, '.') == NULL);
}

char *
zx_jwt_sign(const struct zx_jwt_config *cfg, const struct zx_jwt_claims *c)
{
	static const char	 header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	struct json_object	*p;
	struct zx_buf		 out;
	unsigned char		 mac[32];
	const char		*json;

	if (cfg->secret_len < ZX_JWT_MIN_SECRET)
		return (NULL);

	p = json_object_new_object();
	json_object_object_add(p, "iss", json_object_new_string(cfg->issuer));
	json_object_object_add(p, "aud", json_object_new_string(cfg->audience));
	json_object_object_add(p, "sub", json_object_new_string(c->sub));
	json_object_object_add(p, "tid", json_object_new_string(c->tid));
	json_object_object_add(p, "email", json_object_new_string(c->email));
	json_object_object_add(p, "iat", json_object_new_int64(c->iat));
	json_object_object_add(p, "nbf", json_object_new_int64(c->iat));
	json_object_object_add(p, "exp", json_object_new_int64(c->exp));
	json = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	zx_buf_init(&out, 256);
	zx_base64url_encode(&out, header, sizeof(header) - 1);
	zx_buf_append(&out, ".", 1);
	zx_base64url_encode(&out, json, strlen(json));
	json_object_put(p);

	if (hs256(cfg, out.data, out.len, mac) == -1) {
		zx_buf_free(&out);
		return (NULL);
	}
	zx_buf_append(&out, ".", 1);
	zx_base64url_encode(&out, mac, sizeof(mac));
	return (out.data);
}

enum zx_jwt_result
zx_jwt_verify(const struct zx_jwt_config *cfg, const char *token, int64_t now,
    struct zx_jwt_claims *out)
{
	struct json_object	*hdr = NULL, *payload = NULL, *v;
	struct zx_buf		 sig;
	const char		*d1, *d2;
	unsigned char		 mac[32];
	enum zx_jwt_result	 r;
	int64_t			 nbf, iat;
	char			 iss[256];
	size_t			 len;
	int			 k;

	memset(out, 0, sizeof(*out));
	len = strlen(token);
	if (len == 0 || len > ZX_JWT_MAX_LEN || !zx_jwt_shaped(token))
		return (ZX_JWT_MALFORMED);
	d1 = strchr(token, '.');
	d2 = strchr(d1 + 1, '.');

	/* 1. The header, and nothing but HS256. */
	if ((hdr = part_json(token, (size_t)(d1 - token))) == NULL)
		return (ZX_JWT_MALFORMED);
	if (!json_object_object_get_ex(hdr, "alg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "HS256") != 0) {
		r = ZX_JWT_BAD_ALG;
		goto out;
	}
	if (json_object_object_get_ex(hdr, "crit", NULL) ||
	    (json_object_object_get_ex(hdr, "typ", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcasecmp(json_object_get_string(v), "JWT") != 0))) {
		r = ZX_JWT_BAD_HEADER;
		goto out;
	}

	/* 2. The signature over "header.payload", in constant time. */
	zx_buf_init(&sig, 48);
	if (zx_base64url_decode(d2 + 1, strlen(d2 + 1), &sig) == -1 ||
	    sig.len != sizeof(mac) ||
	    hs256(cfg, token, (size_t)(d2 - token), mac) == -1 ||
	    CRYPTO_memcmp(mac, sig.data, sizeof(mac)) != 0) {
		zx_buf_free(&sig);
		r = ZX_JWT_BAD_SIGNATURE;
		goto out;
	}
	zx_buf_free(&sig);

	/* 3. The claims. */
	if ((payload = part_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL) {
		r = ZX_JWT_MALFORMED;
		goto out;
	}
	if (claim_int(payload, "exp", &out->exp) != 1 ||
	    claim_str(payload, "sub", out->sub, sizeof(out->sub)) != 1 ||
	    claim_str(payload, "tid", out->tid, sizeof(out->tid)) != 1 ||
	    claim_str(payload, "email", out->email, sizeof(out->email)) == -1) {
		r = ZX_JWT_MISSING_CLAIM;
		goto out;
	}
	if (now >= out->exp + ZX_JWT_LEEWAY) {
		r = ZX_JWT_EXPIRED;
		goto out;
	}
	if ((k = claim_int(payload, "nbf", &nbf)) == -1 ||
	    (k == 1 && nbf > now + ZX_JWT_LEEWAY)) {
		r = ZX_JWT_NOT_YET_VALID;
		goto out;
	}
	if ((k = claim_int(payload, "iat", &iat)) == -1 ||
	    (k == 1 && iat > now + ZX_JWT_LEEWAY)) {
		r = ZX_JWT_NOT_YET_VALID;
		goto out;
	}
	out->iat = k == 1 ? iat : 0;
	if (claim_str(payload, "iss", iss, sizeof(iss)) != 1 ||
	    strcmp(iss, cfg->issuer) != 0) {
		r = ZX_JWT_BAD_ISSUER;
		goto out;
	}
	if (!audience_ok(payload, cfg->audience)) {
		r = ZX_JWT_BAD_AUDIENCE;
		goto out;
	}
	r = ZX_JWT_OK;
out:
	json_object_put(hdr);
	json_object_put(payload);
	if (r != ZX_JWT_OK)
		memset(out, 0, sizeof(*out));
	return (r);
}

const char *
zx_jwt_strerror(enum zx_jwt_result r)
{
	switch (r) {
	case ZX_JWT_OK:
		return ("valid");
	case ZX_JWT_MALFORMED:
		return ("the token is not a well-formed JWT");
	case ZX_JWT_BAD_ALG:
		return ("the token's algorithm is not HS256");
	case ZX_JWT_BAD_HEADER:
		return ("the token's header is not acceptable");
	case ZX_JWT_BAD_SIGNATURE:
		return ("the token's signature does not verify");
	case ZX_JWT_EXPIRED:
		return ("the token has expired");
	case ZX_JWT_NOT_YET_VALID:
		return ("the token is not valid yet");
	case ZX_JWT_MISSING_CLAIM:
		return ("the token lacks a required claim (exp, sub, tid)");
	case ZX_JWT_BAD_ISSUER:
		return ("the token was issued by someone else");
	case ZX_JWT_BAD_AUDIENCE:
		return ("the token is meant for another audience");
	}
	return ("invalid token");
}
