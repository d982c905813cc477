-- zixly_enqueue: defaults, every option, argument checks, idempotency; zixly_new_id.
BEGIN;
SELECT plan(52);

-- ---------------------------------------------------------------- ids
SELECT matches(zixly_new_id(), '^c[0-9a-z]{24}$', 'zixly_new_id is c + 24 base-36 characters');
SELECT is((SELECT count(DISTINCT zixly_new_id()) FROM generate_series(1, 10000)), 10000::bigint,
	'10,000 new ids are all distinct');
SELECT ok((SELECT bool_and(a < b) FROM (SELECT zixly_new_id() a, pg_sleep(0.002), zixly_new_id() b) s),
	'ids sort by creation time');

-- ---------------------------------------------------------------- defaults
SET LOCAL zixly.tenant_id = '';
CREATE TEMP TABLE j1 AS SELECT * FROM zixly_enqueue('noop');
SELECT is((SELECT status FROM j1), 'QUEUED', 'a new job is QUEUED');
SELECT matches((SELECT id FROM j1), '^c[0-9a-z]{24}$', 'its id is cuid-style');
SELECT is((SELECT length(id) FROM j1), 25, 'its id has 25 characters');
SELECT is((SELECT tenant_id FROM j1), 'default', 'without zixly.tenant_id the tenant is ''default''');
SELECT is((SELECT queue FROM j1), 'default', 'queue defaults to ''default''');
SELECT is((SELECT priority FROM j1), 0, 'priority defaults to 0');
SELECT is((SELECT run_at FROM j1), now(), 'run_at defaults to now()');
SELECT is((SELECT max_attempts FROM j1), 3, 'max_attempts defaults to 3');
SELECT is((SELECT attempts FROM j1), 0, 'attempts start at 0');
SELECT is((SELECT parameters FROM j1), '{}'::jsonb, 'parameters default to {}');
SELECT is((SELECT job_type FROM j1), 'noop', 'job_type is kept');
SELECT ok((SELECT result IS NULL AND metrics IS NULL AND error_message IS NULL AND started_at IS NULL
                  AND completed_at IS NULL AND locked_by IS NULL AND lease_expires_at IS NULL
                  AND idempotency_key IS NULL FROM j1),
	'result, metrics, error, started_at, completed_at, owner, lease and key start NULL');
SELECT is((SELECT created_at FROM j1), now(), 'created_at is now()');
SELECT is((SELECT row(p.*)::text FROM zixly.pipeline_jobs p WHERE p.id = (SELECT id FROM j1)),
	(SELECT row(j1.*)::text FROM j1), 'the returned row is the stored row');

SET LOCAL zixly.tenant_id = 'acme';
SELECT is((zixly_enqueue('noop')).tenant_id, 'acme', 'the tenant comes from the zixly.tenant_id setting');
SELECT is((zixly_enqueue('noop', tenant_id => 'other')).tenant_id, 'other', 'an explicit tenant_id wins over the setting');
SET LOCAL zixly.tenant_id = '';

-- ---------------------------------------------------------------- options
CREATE TEMP TABLE j2 AS SELECT * FROM zixly_enqueue('trading-sweep',
	'{"ticker":"AAPL","strategy_type":"SMA","fast_range":[10,20],"slow_range":[20,30],"step":5}',
	tenant_id => 't1', queue => 'sweeps', priority => 7, run_at => now() + interval '1 hour',
	max_attempts => 5, idempotency_key => 'k1');
SELECT is((SELECT tenant_id FROM j2), 't1', 'option tenant_id');
SELECT is((SELECT queue FROM j2), 'sweeps', 'option queue');
SELECT is((SELECT priority FROM j2), 7, 'option priority');
SELECT is((SELECT run_at FROM j2), now() + interval '1 hour', 'option run_at');
SELECT is((SELECT max_attempts FROM j2), 5, 'option max_attempts');
SELECT is((SELECT idempotency_key FROM j2), 'k1', 'option idempotency_key');
SELECT is((SELECT parameters->>'ticker' FROM j2), 'AAPL', 'parameters are stored');
SELECT is((zixly_enqueue('noop', priority => -5)).priority, -5, 'a negative priority is allowed');
SELECT is((zixly_enqueue('noop', max_attempts => 100)).max_attempts, 100, 'max_attempts 100 is allowed');
SELECT is((zixly_enqueue('noop', '{}', NULL, NULL, NULL, NULL, NULL, NULL)).max_attempts, 3,
	'NULL options take their defaults');

-- ---------------------------------------------------------------- argument checks
SELECT throws_ok($$SELECT zixly_enqueue(NULL)$$, '22004', 'job_type must not be null', 'NULL job_type');
SELECT throws_ok($$SELECT zixly_enqueue('')$$, '22023', 'job_type must not be empty', 'empty job_type');
SELECT throws_like($$SELECT zixly_enqueue('Bad Type')$$, 'job_type must be lower-case%', 'job_type with capitals and a space');
SELECT throws_like($$SELECT zixly_enqueue(repeat('a', 65))$$, 'job_type must be 1 to 64 characters', 'job_type of 65 characters');
SELECT throws_ok($$SELECT zixly_enqueue('noop', NULL)$$, '22023', 'parameters must not be null', 'NULL parameters');
SELECT throws_ok($$SELECT zixly_enqueue('noop', '[]')$$, '22023',
	'invalid noop parameter "parameters": must be a JSON object', 'parameters must be an object for any job type');
SELECT throws_ok($$SELECT zixly_enqueue('noop', tenant_id => '')$$, '22023', 'tenant_id must be 1 to 64 characters', 'empty tenant');
SELECT throws_ok($$SELECT zixly_enqueue('noop', tenant_id => repeat('t', 65))$$, '22023', 'tenant_id must be 1 to 64 characters', 'tenant of 65 characters');
SELECT throws_ok($$SELECT zixly_enqueue('noop', tenant_id => E't\n1')$$, '22023', 'tenant_id must not contain control characters', 'tenant with a newline');
SELECT throws_ok($$SELECT zixly_enqueue('noop', queue => '')$$, '22023', 'queue must be 1 to 64 characters', 'empty queue');
SELECT throws_ok($$SELECT zixly_enqueue('noop', max_attempts => 0)$$, '22023', 'max_attempts must be from 1 to 100', 'max_attempts 0');
SELECT throws_ok($$SELECT zixly_enqueue('noop', max_attempts => 101)$$, '22023', 'max_attempts must be from 1 to 100', 'max_attempts 101');
SELECT throws_ok($$SELECT zixly_enqueue('noop', run_at => 'infinity')$$, '22023', 'run_at must be a finite timestamp', 'run_at infinity');
SELECT throws_ok($$SELECT zixly_enqueue('noop', idempotency_key => '')$$, '22023', 'idempotency_key must be 1 to 255 characters', 'empty idempotency key');

-- ---------------------------------------------------------------- idempotency
SELECT is((zixly_enqueue('noop', '{"n":1}', tenant_id => 't1', idempotency_key => 'same')).id,
          (zixly_enqueue('noop', '{"n":2}', tenant_id => 't1', idempotency_key => 'same')).id,
	'the same key and tenant return the same job');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE idempotency_key = 'same'), 1::bigint,
	'... and only one row exists');
SELECT is((SELECT parameters FROM zixly.pipeline_jobs WHERE idempotency_key = 'same'), '{"n": 1}'::jsonb,
	'... holding the first call''s parameters');
SELECT is((zixly_enqueue('noop', tenant_id => 't1', idempotency_key => 'k1')).id, (SELECT id FROM j2),
	'a repeated key returns the first job even for another job type');
SELECT isnt((zixly_enqueue('noop', tenant_id => 't2', idempotency_key => 'same')).id,
            (SELECT id FROM zixly.pipeline_jobs WHERE tenant_id = 't1' AND idempotency_key = 'same'),
	'another tenant may reuse a key: it gets its own job');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE idempotency_key = 'same'), 2::bigint,
	'one job per tenant and key');
SELECT isnt((zixly_enqueue('noop', tenant_id => 't1')).id, (zixly_enqueue('noop', tenant_id => 't1')).id,
	'without a key every call makes a new job');
-- a rejected enqueue leaves nothing behind, even with a fresh key
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', '{}', idempotency_key => 'fresh')$$, '22023', NULL,
	'invalid parameters with a key are rejected');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE idempotency_key = 'fresh'), 0::bigint,
	'... and the key is not taken');

SELECT * FROM finish();
ROLLBACK;
