-- Row-level security from a member of zixly_app: with zixly.tenant_id set for the transaction it
-- sees only that tenant's jobs and results, changes them only through the SQL API (enqueue, cancel,
-- retry), cannot cancel or retry another tenant's jobs nor enqueue for it, cannot act as a worker,
-- and cannot read API keys or users. A zixly_worker member sees all.
BEGIN;
SELECT plan(60);

CREATE ROLE zx_test_app NOLOGIN IN ROLE zixly_app;
CREATE ROLE zx_test_worker NOLOGIN IN ROLE zixly_worker;

-- Fixture, as superuser: per tenant, a QUEUED job, a RUNNING one, a FAILED one and a result.
CREATE FUNCTION pg_temp.id(tenant text, name text) RETURNS text LANGUAGE sql AS $$
	SELECT id FROM zixly.pipeline_jobs WHERE tenant_id = tenant AND parameters->>'name' = name
$$;
DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['t1', 't2'] LOOP
		PERFORM zixly_enqueue('noop', jsonb_build_object('name', 'running'), tenant_id => t);
		PERFORM zixly_claim('w-' || t);
		PERFORM zixly_enqueue('noop', jsonb_build_object('name', 'failed'), tenant_id => t, max_attempts => 1);
		PERFORM zixly_claim('w-' || t);	-- then dead-lettered directly (zixly_fail is tested elsewhere)
		UPDATE zixly.pipeline_jobs SET status = 'FAILED', completed_at = now(), error_message = 'boom',
		       locked_pid = NULL, lease_expires_at = NULL
		 WHERE tenant_id = t AND parameters->>'name' = 'failed';
	END LOOP;
	FOREACH t IN ARRAY ARRAY['t1', 't2'] LOOP
		PERFORM zixly_enqueue('noop', jsonb_build_object('name', 'queued'), tenant_id => t, idempotency_key => 'k');
		INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type,
			fast_period, slow_period, rank, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
		VALUES ('r-' || t, pg_temp.id(t, 'running'), t, 'run', 'X', 'SMA', 1, 2, 1, 0, 0, 0, 0);
	END LOOP;
END $$;
SELECT results_eq($$SELECT tenant_id || ':' || (parameters->>'name') || ':' || status FROM zixly.pipeline_jobs ORDER BY 1$$,
	ARRAY['t1:failed:FAILED', 't1:queued:QUEUED', 't1:running:RUNNING',
	      't2:failed:FAILED', 't2:queued:QUEUED', 't2:running:RUNNING'], 'fixture: three jobs per tenant');

UPDATE zixly.pipeline_jobs SET lease_expires_at = now() - interval '1 s' WHERE id = pg_temp.id('t2', 'running');
-- ids as psql variables: the app role cannot look t2's up
SELECT pg_temp.id('t1', 'queued') AS t1_queued, pg_temp.id('t2', 'queued') AS t2_queued,
       pg_temp.id('t2', 'running') AS t2_running, pg_temp.id('t2', 'failed') AS t2_failed \gset

-- ---------------------------------------------------------------- the app, acting for t1
SET LOCAL ROLE zx_test_app;
SELECT set_config('zixly.tenant_id', 't1', true) \g /dev/null
SELECT is(current_user::text, 'zx_test_app', 'acting as a zixly_app member');
SELECT is((SELECT array_agg(DISTINCT tenant_id) FROM zixly.pipeline_jobs), ARRAY['t1'], 'it sees only t1''s jobs');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs), 3::bigint, '... all three of them');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE id = :'t2_queued'), 0::bigint, 't2''s job is invisible even by id');
SELECT is((SELECT array_agg(tenant_id) FROM zixly.trading_sweep_results), ARRAY['t1'], 'it sees only t1''s results');

-- no direct writes, not even to its own tenant's rows (0.1.1 allowed INSERT and UPDATE within t1)
SELECT throws_ok($$UPDATE zixly.pipeline_jobs SET priority = 99 WHERE tenant_id = 't2'$$, '42501', NULL,
	'it cannot UPDATE t2''s jobs');
SELECT throws_ok(format($$UPDATE zixly.pipeline_jobs SET status = 'COMPLETED', result = '{"forged": true}'
	WHERE id = %L$$, :'t1_queued'), '42501', NULL, 'nor mark its own job COMPLETED with a result');
SELECT throws_ok($$INSERT INTO zixly.pipeline_jobs (id, tenant_id, job_type, parameters)
	VALUES ('forged', 't1', 'trading-sweep', '{"ticker": "X"}')$$, '42501', NULL,
	'nor INSERT a job past zixly_enqueue''s checks');
SELECT throws_ok($$DELETE FROM zixly.pipeline_jobs$$, '42501', NULL, 'the app cannot delete jobs');
SELECT throws_ok($$INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type,
	fast_period, slow_period, rank, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
	VALUES ('r', 'x', 't1', 'run', 'X', 'SMA', 1, 2, 1, 0, 0, 0, 0)$$, '42501', NULL, 'the app cannot write results');
SELECT throws_ok(format($$SELECT zixly_cancel(%L)$$, :'t2_queued'), 'P0002', NULL, 'it cannot cancel t2''s job: no such job');
SELECT throws_ok(format($$SELECT zixly_retry(%L)$$, :'t2_failed'), 'P0002', NULL, 'it cannot retry t2''s job');
-- the worker's functions are the worker's: the app can neither claim nor end a job
SELECT throws_ok(format($$SELECT zixly_complete(%L, 'w-t2')$$, :'t2_running'), '42501', NULL,
	'it cannot complete t2''s job, even with its worker id');
SELECT throws_ok(format($$SELECT zixly_complete(%L, 'w-t1', '{"forged": true}')$$, pg_temp.id('t1', 'running')),
	'42501', NULL, 'nor its own tenant''s');
SELECT throws_ok(format($$SELECT zixly_fail(%L, 'w-t2', 'x')$$, :'t2_running'), '42501', NULL,
	'it cannot fail a job');
SELECT throws_ok($$SELECT zixly_heartbeat('w-t2')$$, '42501', NULL, 'it cannot extend leases');
SELECT throws_ok($$SELECT zixly_claim('app-worker', 10)$$, '42501', NULL, 'it cannot claim');
SELECT throws_ok(format($$SELECT zixly_complete_batch('w-t2', ARRAY[%L])$$, :'t2_running'), '42501', NULL,
	'complete_batch is not for it');
SELECT throws_ok($$SELECT zixly_prune('0 s', true)$$, '42501', NULL, 'the app cannot prune');
SELECT throws_ok($$SELECT zixly_rescue()$$, '42501', NULL, 'nor rescue');

-- its own jobs, through the SQL API
SELECT is((zixly_cancel(:'t1_queued')).status, 'CANCELLED', 'it cancels its own job through zixly_cancel');
SELECT is((zixly_retry(:'t1_queued')).status, 'QUEUED', '... and retries it through zixly_retry');
SELECT throws_ok(format($$SELECT zixly_retry(%L)$$, :'t1_queued'), '55000', 'cannot retry job "' || :'t1_queued' || '": its status is QUEUED',
	'a retry of a queued job says why, as before');

-- enqueue for t1 only
SELECT is((zixly_enqueue('noop')).tenant_id, 't1', 'the app enqueues for its tenant by default');
SELECT throws_ok($$SELECT zixly_enqueue('noop', tenant_id => 't2')$$, '42501',
	'new row violates row-level security policy for table "pipeline_jobs"', 'it cannot enqueue for t2');
SELECT throws_ok($$SELECT zixly_enqueue('noop', tenant_id => 't2', idempotency_key => 'k')$$, '42501', NULL,
	'nor with an idempotency key');
SELECT throws_ok($$SELECT zixly_enqueue_batch('noop', '[{}]', tenant_id => 't2')$$, '42501', NULL, 'nor a batch for t2');
SELECT is((SELECT array_agg(DISTINCT tenant_id) FROM zixly_enqueue_batch('noop', '[{}, {}]')), ARRAY['t1'],
	'a batch for t1 is queued');
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', '{"ticker": "X"}')$$, '22023', NULL,
	'what it queues is checked');
SELECT is((zixly_enqueue('noop', '{"n": 2}', idempotency_key => 'k')).id, :'t1_queued',
	'an idempotency key resolves within t1, not to t2''s job with the same key');

-- the auth tables are out of reach; the definer functions meant for the app work
SELECT throws_ok($$SELECT * FROM zixly.api_keys$$, '42501', NULL, 'it cannot read api_keys');
SELECT throws_ok($$SELECT * FROM zixly.users$$, '42501', NULL, 'it cannot read users');
SELECT throws_ok($$SELECT * FROM zixly.tenants$$, '42501', NULL, 'it cannot read tenants');
SELECT throws_ok($$SELECT zixly_create_api_key('t1', 'x')$$, '42501', NULL, 'it cannot create API keys');
SELECT throws_ok($$SELECT zixly_create_user('t1', 'x@example.com', 'password1')$$, '42501', NULL, 'it cannot create users');
SELECT is((SELECT count(*) FROM zixly_authenticate_api_key('zx_aaaaaaaaaaaa_' || repeat('A', 32))), 0::bigint,
	'it can call zixly_authenticate_api_key');
SELECT is((SELECT sum(jobs) FROM zixly_queue_stats() WHERE status = 'FAILED'), 2::numeric,
	'zixly_queue_stats counts across tenants (counts only)');

-- no tenant set: nothing
SELECT set_config('zixly.tenant_id', '', true) \g /dev/null
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs), 0::bigint, 'without a tenant the app sees no jobs');
SELECT throws_ok($$SELECT zixly_enqueue('noop')$$, '42501', NULL, '... and cannot enqueue');
SELECT set_config('zixly.tenant_id', 't2', true) \g /dev/null
SELECT is((SELECT array_agg(DISTINCT tenant_id) FROM zixly.pipeline_jobs), ARRAY['t2'], 'switching the setting to t2 shows t2''s jobs');
RESET ROLE;

SELECT is((SELECT status FROM zixly.pipeline_jobs WHERE id = pg_temp.id('t2', 'queued')), 'QUEUED', 't2''s queued job was not claimed');
SELECT ok((SELECT status = 'RUNNING' AND error_message IS NULL FROM zixly.pipeline_jobs WHERE id = pg_temp.id('t2', 'running')),
	't2''s running job was not completed, failed or rescued');
SELECT is((SELECT priority FROM zixly.pipeline_jobs WHERE tenant_id = 't2' AND priority = 99), NULL, 't2''s jobs were not updated');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE tenant_id = 't2'), 3::bigint, 't2 still has exactly its three jobs');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE id = 'forged' OR result ? 'forged'), 0::bigint,
	'no forged job or result');
SELECT is(zixly_rescue(), 1, 'the superuser''s rescue does see it');

-- ---------------------------------------------------------------- the app that may read more
-- A DBA lets an auditing group read every tenant's jobs; an app role in that group may still
-- change only its tenant's jobs (before 0.1.2 the UPDATE policy said so; now the SQL API does).
CREATE ROLE zx_test_auditors NOLOGIN;
GRANT SELECT ON zixly.pipeline_jobs TO zx_test_auditors;
CREATE POLICY zx_test_audit_read ON zixly.pipeline_jobs FOR SELECT TO zx_test_auditors USING (true);
CREATE ROLE zx_test_support NOLOGIN IN ROLE zixly_app, zx_test_auditors;
SET LOCAL ROLE zx_test_support;
SELECT set_config('zixly.tenant_id', 't1', true) \g /dev/null
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE id = :'t2_queued'), 1::bigint, 'an auditing app role sees t2''s job');
SELECT throws_ok(format($$SELECT zixly_cancel(%L)$$, :'t2_queued'), '55000',
	'cannot cancel job "' || :'t2_queued' || '": its status is QUEUED', '... but cannot cancel it');
SELECT throws_ok(format($$SELECT zixly_retry(%L)$$, :'t2_failed'), '55000', NULL, '... nor retry t2''s dead letter');
RESET ROLE;
SELECT is((SELECT status FROM zixly.pipeline_jobs WHERE id = :'t2_queued'), 'QUEUED', 't2''s job is still QUEUED');
SELECT is((SELECT status FROM zixly.pipeline_jobs WHERE id = :'t2_failed'), 'FAILED', '... and its dead letter FAILED');

-- ---------------------------------------------------------------- a worker sees all
SET LOCAL ROLE zx_test_worker;
SELECT set_config('zixly.tenant_id', 't1', true) \g /dev/null
SELECT is((SELECT array_agg(DISTINCT tenant_id ORDER BY tenant_id) FROM zixly.pipeline_jobs), ARRAY['t1', 't2'],
	'a zixly_worker member sees every tenant''s jobs, whatever zixly.tenant_id says');
SELECT is((SELECT count(*) FROM zixly.trading_sweep_results), 2::bigint, '... and every result');
SELECT is((SELECT array_agg(DISTINCT tenant_id ORDER BY tenant_id) FROM zixly_claim('real-worker', 10)), ARRAY['t1', 't2'],
	'it claims every tenant''s queued jobs');
SELECT is((SELECT array_agg(h) FROM zixly_heartbeat('real-worker') h WHERE h = pg_temp.id('t2', 'queued')),
	ARRAY[pg_temp.id('t2', 'queued')], 'it holds t2''s job');
SELECT is((zixly_complete(pg_temp.id('t2', 'queued'), 'real-worker')).status, 'COMPLETED', 'it completes t2''s job');
SELECT lives_ok($$INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type,
	fast_period, slow_period, rank, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
	SELECT 'r-w', id, tenant_id, 'run', 'X', 'SMA', 1, 2, 1, 0, 0, 0, 0 FROM zixly.pipeline_jobs LIMIT 1$$,
	'it writes results');
SELECT throws_ok($$SELECT * FROM zixly.api_keys$$, '42501', NULL, 'it cannot read api_keys');
SELECT throws_ok($$SELECT * FROM zixly.users$$, '42501', NULL, 'it cannot read users');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
