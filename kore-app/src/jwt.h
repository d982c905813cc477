/*
 * jwt.h
 *	HS256 JSON Web Tokens for the dashboard API, checked per RFC 8725.
 *
 * Plain C (OpenSSL HMAC and json-c, no Kore calls). The algorithm is
 * pinned to HS256: a token whose header names anything else, "none"
 * included, is refused before its signature is looked at.
 */
#ifndef ZX_JWT_H
#define ZX_JWT_H

#include <stddef.h>
#include <stdint.h>

#define ZX_JWT_MIN_SECRET	32	/* bytes; RFC 7518 3.2 wants >= 256 bits */
#define ZX_JWT_LEEWAY		30	/* seconds of clock skew for exp/nbf/iat */
#define ZX_JWT_MAX_LEN		4096	/* longer tokens are refused unread */
#define ZX_JWT_ID_MAX		64
#define ZX_JWT_EMAIL_MAX	254

/* What the app's tokens name as iss and aud (login issues them, the API and /api/live check them). */
#define ZX_JWT_ISSUER		"zixly"
#define ZX_JWT_AUDIENCE		"zixly-dashboard"

struct zx_jwt_claims {
	char		sub[ZX_JWT_ID_MAX + 1];		/* user id */
	char		tid[ZX_JWT_ID_MAX + 1];		/* tenant id */
	char		email[ZX_JWT_EMAIL_MAX + 1];
	int64_t		iat;
	int64_t		exp;
};

enum zx_jwt_result {
	ZX_JWT_OK = 0,
	ZX_JWT_MALFORMED,	/* not three base64url parts of JSON objects */
	ZX_JWT_BAD_ALG,		/* header alg is not HS256 (none, RS256, ...) */
	ZX_JWT_BAD_HEADER,	/* typ is not JWT, or crit is present */
	ZX_JWT_BAD_SIGNATURE,
	ZX_JWT_EXPIRED,
	ZX_JWT_NOT_YET_VALID,	/* nbf or iat in the future */
	ZX_JWT_MISSING_CLAIM,	/* exp, sub or tid missing or mistyped */
	ZX_JWT_BAD_ISSUER,
	ZX_JWT_BAD_AUDIENCE,
};

struct zx_jwt_config {
	const unsigned char	*secret;
	size_t			 secret_len;
	const char		*issuer;
	const char		*audience;
};

/* A signed token for the claims (iat and exp as given); malloc'd, or NULL. */
char	*zx_jwt_sign(const struct zx_jwt_config *,
	    const struct zx_jwt_claims *);

/* Verifies a token at time now (Unix seconds) and fills the claims. */
enum zx_jwt_result zx_jwt_verify(const struct zx_jwt_config *, const char *,
	    int64_t now, struct zx_jwt_claims *);

const char	*zx_jwt_strerror(enum zx_jwt_result);

/* Whether a bearer token has the shape of a JWT (exactly two dots). */
int	 zx_jwt_shaped(const char *);

#endif
