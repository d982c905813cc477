/*
 * auth.c
 *	  API keys and dashboard users for the web app.
 *
 * API keys look like zx_<12-char key id>_<32-char secret>. The prefix lets
 * secret scanners and people recognise them; the key id is the public
 * part used for lookup and revocation; only SHA-256 of the whole key is
 * stored, and the check compares hashes in constant time.
 *
 * Passwords are hashed with bcrypt ($2b$, cost 10) by libxcrypt. A login
 * for an unknown email still spends one bcrypt, so response time does not
 * tell which emails exist.
 *
 * These functions are SECURITY DEFINER with a fixed search_path: the app
 * role authenticates before it knows the tenant, so it cannot read these
 * tables itself.
 */
#include "postgres.h"

#include <crypt.h>

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "port.h"
#include "utils/builtins.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_create_api_key);
PG_FUNCTION_INFO_V1(zixly_revoke_api_key);
PG_FUNCTION_INFO_V1(zixly_authenticate_api_key);
PG_FUNCTION_INFO_V1(zixly_create_user);
PG_FUNCTION_INFO_V1(zixly_authenticate_user);

#define KEY_ID_LEN 12
#define KEY_SECRET_LEN 32
#define KEY_LEN (3 + KEY_ID_LEN + 1 + KEY_SECRET_LEN)
#define BCRYPT_COST 10

static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* n random characters from the first `radix` of alnum, without modulo bias. */
static void
random_chars(char *dst, int n, int radix)
{
	int			i = 0;

	while (i < n)
	{
		uint8		buf[64];

		if (!pg_strong_random(buf, sizeof(buf)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes")));
		for (int j = 0; j < (int) sizeof(buf) && i < n; j++)
			if (buf[j] < 256 - (256 % radix))
				dst[i++] = alnum[buf[j] % radix];
	}
}

static void
sha256(const char *s, size_t len, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) s, len) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "zixly: could not compute SHA-256");
	pg_cryptohash_free(ctx);
}

/* The key id of a well-formed key, else NULL (nothing is looked up). */
static char *
parse_key_id(const char *key)
{
	size_t		len = strlen(key);

	if (len != KEY_LEN || strncmp(key, "zx_", 3) != 0 || key[3 + KEY_ID_LEN] != '_')
		return NULL;
	for (int i = 3; i < KEY_LEN; i++)
		if (i != 3 + KEY_ID_LEN && strchr(alnum, key[i]) == NULL)
			return NULL;
	return pnstrdup(key + 3, KEY_ID_LEN);
}

static void
ensure_tenant(Datum tenant_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {TEXTOID};

	ZixlyPlan(&plan,
			  "INSERT INTO zixly.tenants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING",
			  1, types);
	if (SPI_execute_plan(plan, &tenant_id, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "zixly: tenant insert failed");
}

Datum
zixly_create_api_key(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, BYTEAOID};
	Datum		values[4];
	char	   *tenant = ZixlyRequiredCString(fcinfo, 0, "tenant_id");
	char	   *name = ZixlyRequiredCString(fcinfo, 1, "name");
	char		key[KEY_LEN + 1];
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	bytea	   *hash_bytea = palloc(VARHDRSZ + sizeof(hash));

	ZixlyCheckName("tenant_id", tenant, 64);
	ZixlyCheckName("name", name, 200);
	memcpy(key, "zx_", 3);
	random_chars(key + 3, KEY_ID_LEN, 36);
	key[3 + KEY_ID_LEN] = '_';
	random_chars(key + 4 + KEY_ID_LEN, KEY_SECRET_LEN, 62);
	key[KEY_LEN] = '\0';
	sha256(key, KEY_LEN, hash);
	SET_VARSIZE(hash_bytea, VARHDRSZ + sizeof(hash));
	memcpy(VARDATA(hash_bytea), hash, sizeof(hash));

	values[0] = PointerGetDatum(cstring_to_text_with_len(key + 3, KEY_ID_LEN));
	values[1] = CStringGetTextDatum(tenant);
	values[2] = CStringGetTextDatum(name);
	values[3] = PointerGetDatum(hash_bytea);
	SPI_connect();
	ensure_tenant(values[1]);
	ZixlyPlan(&plan,
			  "INSERT INTO zixly.api_keys (id, tenant_id, name, key_hash) VALUES ($1, $2, $3, $4)",
			  4, types);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "zixly: api key insert failed");
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(key));
}

Datum
zixly_revoke_api_key(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {TEXTOID};
	char	   *arg = ZixlyRequiredCString(fcinfo, 0, "api_key_or_id");
	char	   *id = strncmp(arg, "zx_", 3) == 0 ? parse_key_id(arg) : arg;
	Datum		value;
	bool		revoked;

	if (id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("not a zixly API key or key id")));
	value = CStringGetTextDatum(id);
	SPI_connect();
	ZixlyPlan(&plan,
			  "UPDATE zixly.api_keys SET revoked_at = pg_catalog.now()"
			  " WHERE id OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL",
			  1, types);
	if (SPI_execute_plan(plan, &value, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "zixly: api key revoke failed");
	revoked = SPI_processed > 0;
	SPI_finish();
	PG_RETURN_BOOL(revoked);
}

Datum
zixly_authenticate_api_key(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[1] = {TEXTOID};
	char	   *key;
	char	   *id;
	Datum		value;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	id = parse_key_id(key);
	if (id == NULL)
		return (Datum) 0;

	value = CStringGetTextDatum(id);
	SPI_connect();
	ZixlyPlan(&plan,
			  "SELECT tenant_id, key_hash FROM zixly.api_keys"
			  " WHERE id OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL",
			  1, types);
	if (SPI_execute_plan(plan, &value, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "zixly: api key lookup failed");
	if (SPI_processed == 1)
	{
		bool		isnull;
		bytea	   *stored = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0],
														   SPI_tuptable->tupdesc, 2, &isnull));
		uint8		hash[PG_SHA256_DIGEST_LENGTH];

		sha256(key, strlen(key), hash);
		if (VARSIZE_ANY_EXHDR(stored) == sizeof(hash) &&
			timingsafe_bcmp(VARDATA_ANY(stored), hash, sizeof(hash)) == 0)
		{
			Datum		out[2];
			bool		nulls[2] = {false, false};

			out[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			out[1] = value;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
		}
	}
	SPI_finish();
	return (Datum) 0;
}

static void
check_email(const char *email)
{
	const char *at = strchr(email, '@');

	ZixlyCheckName("email", email, 254);
	if (at == NULL || at == email || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
		strpbrk(email, " \t\"<>,;") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("email must look like name@example.com")));
}

/* bcrypt of a password with the given setting (a salt, or a stored hash). */
static char *
bcrypt(const char *password, const char *setting)
{
	struct crypt_data *data = palloc0(sizeof(struct crypt_data));
	char	   *out = crypt_r(password, setting, data);

	if (out == NULL || out[0] == '*')
		elog(ERROR, "zixly: bcrypt failed");
	out = pstrdup(out);
	pfree(data);
	return out;
}

Datum
zixly_create_user(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char	   *tenant = ZixlyRequiredCString(fcinfo, 0, "tenant_id");
	char	   *email = ZixlyRequiredCString(fcinfo, 1, "email");
	char	   *password = text_to_cstring(ZixlyTextArg(fcinfo, 2, "password"));
	char		salt[CRYPT_GENSALT_OUTPUT_SIZE];
	char		id[ZIXLY_ID_LEN + 1];

	ZixlyCheckName("tenant_id", tenant, 64);
	check_email(email);
	if (strlen(password) < 8 || strlen(password) > 72)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("password must be 8 to 72 bytes")));
	if (crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, salt, sizeof(salt)) == NULL)
		elog(ERROR, "zixly: could not make a bcrypt salt");

	ZixlyNewId(id);
	values[0] = CStringGetTextDatum(id);
	values[1] = CStringGetTextDatum(tenant);
	values[2] = CStringGetTextDatum(email);
	values[3] = CStringGetTextDatum(bcrypt(password, salt));
	SPI_connect();
	ensure_tenant(values[1]);
	ZixlyPlan(&plan,
			  "INSERT INTO zixly.users (id, tenant_id, email, password_hash)"
			  " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
			  4, types);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "zixly: user insert failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("a user with email \"%s\" already exists", email)));
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(id));
}

Datum
zixly_authenticate_user(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static char *dummy_hash = NULL;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[1] = {TEXTOID};
	Datum		email;
	char	   *password;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	email = PG_GETARG_DATUM(0);
	password = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strlen(password) > 72)
		password[72] = '\0';	/* bcrypt reads at most 72 bytes anyway */

	SPI_connect();
	ZixlyPlan(&plan,
			  "SELECT id, tenant_id, email, password_hash FROM zixly.users"
			  " WHERE pg_catalog.lower(email) OPERATOR(pg_catalog.=) pg_catalog.lower($1)",
			  1, types);
	if (SPI_execute_plan(plan, &email, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "zixly: user lookup failed");
	if (SPI_processed == 1)
	{
		char	   *stored = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
		char	   *computed = bcrypt(password, stored);

		if (strlen(computed) == strlen(stored) &&
			timingsafe_bcmp(computed, stored, strlen(stored)) == 0)
		{
			Datum		out[3];
			bool		nulls[3] = {false, false, false};
			bool		isnull;

			for (int i = 0; i < 3; i++)
				out[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
		}
	}
	else
	{
		if (dummy_hash == NULL)
		{
			char		salt[CRYPT_GENSALT_OUTPUT_SIZE];

			if (crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, salt, sizeof(salt)) == NULL)
				elog(ERROR, "zixly: could not make a bcrypt salt");
			dummy_hash = MemoryContextStrdup(TopMemoryContext, salt);
		}
		(void) bcrypt(password, dummy_hash);
	}
	SPI_finish();
	return (Datum) 0;
}
