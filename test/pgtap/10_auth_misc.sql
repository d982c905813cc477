-- API keys (only a hash stored), dashboard users (bcrypt), zixly_rate_limit, zixly_wait.
BEGIN;
SELECT plan(56);

-- ---------------------------------------------------------------- API keys
CREATE TEMP TABLE k AS SELECT zixly_create_api_key('t1', 'ci') AS key, zixly_create_api_key('t2', 'other') AS key2;
SELECT matches((SELECT key FROM k), '^zx_[0-9a-z]{12}_[0-9A-Za-z]{32}$', 'an API key is zx_<12-char id>_<32-char secret>');
SELECT isnt((SELECT key FROM k), (SELECT key2 FROM k), 'keys differ');
SELECT is((SELECT count(*) FROM zixly.tenants WHERE id IN ('t1', 't2')), 2::bigint, 'creating a key creates its tenant');
SELECT is((SELECT tenant_id || '/' || name FROM zixly.api_keys WHERE id = (SELECT substr(key, 4, 12) FROM k)), 't1/ci',
	'the key row: id is the key''s id part, with tenant and name');
SELECT is((SELECT key_hash FROM zixly.api_keys WHERE id = (SELECT substr(key, 4, 12) FROM k)),
	(SELECT sha256(convert_to(key, 'UTF8')) FROM k), 'key_hash is SHA-256 of the whole key');
SELECT is((SELECT count(*) FROM zixly.api_keys a, k WHERE strpos(a::text, substr(k.key, 17)) > 0
                                                        OR strpos(a::text, substr(k.key2, 17)) > 0), 0::bigint,
	'the secret part appears nowhere in zixly.api_keys');
SELECT is((SELECT count(*) FROM zixly.tenants t, k WHERE strpos(t::text, substr(k.key, 17)) > 0), 0::bigint,
	'... nor in zixly.tenants');
SELECT is((SELECT row(a.*)::text FROM zixly_authenticate_api_key((SELECT key FROM k)) a),
	(SELECT row('t1', substr(key, 4, 12))::text FROM k), 'the right key authenticates: its tenant and key id');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key((SELECT left(key, -1) || CASE WHEN right(key, 1) = 'a' THEN 'b' ELSE 'a' END FROM k))),
	0::bigint, 'a key with a wrong secret: no row');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key((SELECT left(key, 15) || substr(key2, 16) FROM k))),
	0::bigint, 'one key''s id with another''s secret: no row');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key('zx_aaaaaaaaaaaa_' || repeat('A', 32))), 0::bigint, 'an unknown key id: no row');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key('not a key')), 0::bigint, 'a malformed key: no row');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key('')), 0::bigint, 'an empty key: no row');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key(NULL)), 0::bigint, 'NULL: no row');
SELECT is(zixly_revoke_api_key((SELECT key FROM k)), true, 'revoking a key by the key');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key((SELECT key FROM k))), 0::bigint, 'a revoked key: no row');
SELECT ok((SELECT revoked_at = now() FROM zixly.api_keys WHERE id = (SELECT substr(key, 4, 12) FROM k)), 'revoked_at is set');
SELECT is(zixly_revoke_api_key((SELECT key FROM k)), false, 'revoking twice: false');
SELECT is(zixly_revoke_api_key((SELECT substr(key2, 4, 12) FROM k)), true, 'revoking a key by its id');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key((SELECT key2 FROM k))), 0::bigint, '... revokes it');
SELECT is(zixly_revoke_api_key('nosuchkeyid0'), false, 'revoking an unknown id: false');
SELECT throws_ok($$SELECT zixly_revoke_api_key('zx_short')$$, '22023', 'not a zixly API key or key id', 'revoking a malformed key');
SELECT throws_ok($$SELECT zixly_create_api_key('t1', '')$$, '22023', 'name must not be empty', 'a key needs a name');
SELECT throws_ok($$SELECT zixly_create_api_key(NULL, 'x')$$, '22004', 'tenant_id must not be null', 'a key needs a tenant');

-- ---------------------------------------------------------------- users
CREATE TEMP TABLE u AS SELECT zixly_create_user('t1', 'Alice@Example.com', 'correct horse') AS id;
SELECT matches((SELECT id FROM u), '^c[0-9a-z]{24}$', 'a user id is cuid-style');
SELECT matches((SELECT password_hash FROM zixly.users WHERE id = (SELECT id FROM u)), '^\$2b\$10\$[./A-Za-z0-9]{53}$',
	'the password is stored as a bcrypt hash ($2b$, cost 10)');
SELECT is((SELECT count(*) FROM zixly.users x WHERE strpos(x::text, 'correct horse') > 0), 0::bigint,
	'the password appears nowhere in zixly.users');
SELECT is((SELECT row(a.*)::text FROM zixly_authenticate_user('alice@example.com', 'correct horse') a),
	(SELECT row(id, 't1', 'Alice@Example.com')::text FROM u), 'login: the right password, email case-insensitive');
SELECT is((SELECT count(*) FROM zixly_authenticate_user('Alice@Example.com', 'correct horsE')), 0::bigint, 'login: a wrong password');
SELECT is((SELECT count(*) FROM zixly_authenticate_user('Alice@Example.com', '')), 0::bigint, 'login: an empty password');
SELECT is((SELECT count(*) FROM zixly_authenticate_user('bob@example.com', 'correct horse')), 0::bigint, 'login: an unknown email');
SELECT is((SELECT count(*) FROM zixly_authenticate_user(NULL, 'x')), 0::bigint, 'login: NULL email');
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
SELECT count(*) FROM zixly_authenticate_user('nobody@example.com', 'whatever1') \g /dev/null
SELECT ok((SELECT clock_timestamp() - t > interval '10 ms' FROM t0),
	'login for an unknown email still spends a bcrypt (no fast path revealing which emails exist)');
SELECT throws_ok($$SELECT zixly_create_user('t1', 'ALICE@example.com', 'password2')$$, '23505',
	'a user with email "ALICE@example.com" already exists', 'emails are unique, case-insensitively');
SELECT throws_ok($$SELECT zixly_create_user('t1', 'x@example.com', '1234567')$$, '22023', 'password must be 8 to 72 bytes', 'a 7-byte password');
SELECT throws_ok($$SELECT zixly_create_user('t1', 'x@example.com', repeat('p', 73))$$, '22023', 'password must be 8 to 72 bytes', 'a 73-byte password');
SELECT throws_ok($$SELECT zixly_create_user('t1', 'nope', 'password1')$$, '22023', 'email must look like name@example.com', 'an email without @');
SELECT throws_ok($$SELECT zixly_create_user('t1', 'a@b@c', 'password1')$$, '22023', 'email must look like name@example.com', 'an email with two @');
SELECT throws_ok($$SELECT zixly_create_user('t1', 'a b@c.com', 'password1')$$, '22023', 'email must look like name@example.com', 'an email with a space');

-- ---------------------------------------------------------------- rate limit
SELECT is((SELECT row(r.allowed, r.remaining)::text FROM zixly_rate_limit('k1', 2, 60) r), '(t,1)', 'rate limit: hit 1 of 2 allowed, 1 left');
SELECT is((SELECT row(r.allowed, r.remaining)::text FROM zixly_rate_limit('k1', 2, 60) r), '(t,0)', 'rate limit: hit 2 of 2 allowed, 0 left');
SELECT is((SELECT row(r.allowed, r.remaining)::text FROM zixly_rate_limit('k1', 2, 60) r), '(f,0)', 'rate limit: hit 3 of 2 refused');
SELECT ok((SELECT reset_seconds BETWEEN 1 AND 60 FROM zixly_rate_limit('k1', 2, 60)), 'rate limit: the window resets within 60 s');
SELECT is((SELECT allowed FROM zixly_rate_limit('k2', 2, 60)), true, 'rate limit: buckets are independent');
UPDATE zixly.rate_limits SET window_start = window_start - interval '60 s' WHERE bucket = 'k1';
SELECT is((SELECT row(r.allowed, r.remaining)::text FROM zixly_rate_limit('k1', 2, 60) r), '(t,1)', 'rate limit: a new window starts afresh');
UPDATE zixly.rate_limits SET hits = 2147483647 WHERE bucket = 'k1';
SELECT is((SELECT row(r.allowed, r.remaining)::text FROM zixly_rate_limit('k1', 2, 60) r), '(f,0)', 'rate limit: a count at its limit refuses without overflowing');
SELECT is((SELECT hits FROM zixly.rate_limits WHERE bucket = 'k1'), 3, 'rate limit: the count stops at max_hits + 1');
SELECT throws_ok($$SELECT zixly_rate_limit(NULL, 2, 60)$$, '22023', 'bucket must be 1 to 200 characters', 'rate limit: a NULL bucket');
SELECT throws_ok($$SELECT zixly_rate_limit(repeat('b', 201), 2, 60)$$, '22023', 'bucket must be 1 to 200 characters', 'rate limit: a bucket of 201 characters');
SELECT throws_ok($$SELECT zixly_rate_limit('k3', 0, 60)$$, '22023', 'max_hits must be from 1 to 1000000000', 'rate limit: max_hits 0');
SELECT throws_ok($$SELECT zixly_rate_limit('k3', 2, 0)$$, '22023', 'window_seconds must be from 1 to 86400', 'rate limit: a window of 0 s');

-- ---------------------------------------------------------------- zixly_wait (cross-session wake-ups: ext_notify.t)
CREATE TEMP TABLE g AS SELECT zixly_wait() AS gen, clock_timestamp() AS t;
SELECT ok((SELECT gen > 0 FROM g), 'zixly_wait() returns the current wake-up generation');
SELECT is((SELECT zixly_wait(gen - 1, 5000) FROM g), (SELECT gen FROM g), 'zixly_wait of an older generation returns at once');
UPDATE g SET t = clock_timestamp();
SELECT is((SELECT zixly_wait(gen, 300) FROM g), (SELECT gen FROM g), 'zixly_wait without a commit returns the same generation ...');
SELECT ok((SELECT clock_timestamp() - t >= interval '290 ms' FROM g), '... after its timeout');
SELECT throws_ok($$SELECT zixly_wait(1, -1)$$, '22023', 'timeout_ms must be from 0 to 3600000', 'zixly_wait: negative timeout');

SELECT * FROM finish();
ROLLBACK;
