-- Schema of the zixly extension: tables, columns, indexes (the partial claim index among them),
-- row-level security, roles and the SQL API's functions and privileges.
BEGIN;
SELECT plan(108);

SELECT has_extension('zixly', 'the zixly extension is installed');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'zixly'), '0.1.2', 'zixly version 0.1.2');
SELECT has_schema('zixly', 'schema zixly exists');
SELECT tables_are('zixly',
	ARRAY['pipeline_jobs', 'trading_sweep_results', 'prices', 'tenants', 'api_keys', 'users', 'rate_limits'],
	'schema zixly holds exactly the expected tables');

-- ---------------------------------------------------------------- pipeline_jobs
SELECT columns_are('zixly', 'pipeline_jobs', ARRAY[
	'id', 'tenant_id', 'job_type', 'queue', 'status', 'priority', 'run_at', 'attempts', 'max_attempts',
	'parameters', 'result', 'metrics', 'error_message', 'idempotency_key', 'locked_by', 'locked_pid',
	'locked_backend_start', 'lease_expires_at', 'created_at', 'started_at', 'completed_at', 'updated_at'],
	'pipeline_jobs has the spec''s columns plus the queue''s');
SELECT col_is_pk('zixly', 'pipeline_jobs', 'id', 'pipeline_jobs.id is the primary key');
SELECT col_type_is('zixly', 'pipeline_jobs', 'id', 'text', 'id is text');
SELECT col_type_is('zixly', 'pipeline_jobs', 'parameters', 'jsonb', 'parameters is jsonb');
SELECT col_type_is('zixly', 'pipeline_jobs', 'result', 'jsonb', 'result is jsonb');
SELECT col_type_is('zixly', 'pipeline_jobs', 'metrics', 'jsonb', 'metrics is jsonb');
SELECT col_type_is('zixly', 'pipeline_jobs', 'run_at', 'timestamp with time zone', 'run_at is timestamptz');
SELECT col_type_is('zixly', 'pipeline_jobs', 'priority', 'integer', 'priority is integer');
SELECT col_not_null('zixly', 'pipeline_jobs', 'tenant_id', 'tenant_id is NOT NULL');
SELECT col_not_null('zixly', 'pipeline_jobs', 'status', 'status is NOT NULL');
SELECT col_default_is('zixly', 'pipeline_jobs', 'status', 'QUEUED'::text, 'status defaults to QUEUED');
SELECT col_default_is('zixly', 'pipeline_jobs', 'max_attempts', 3, 'max_attempts defaults to 3');
SELECT col_default_is('zixly', 'pipeline_jobs', 'attempts', 0, 'attempts defaults to 0');
SELECT col_is_null('zixly', 'pipeline_jobs', 'result', 'result may be NULL');
SELECT col_is_null('zixly', 'pipeline_jobs', 'idempotency_key', 'idempotency_key may be NULL');
SELECT col_has_check('zixly', 'pipeline_jobs', 'status', 'status has a CHECK constraint');
SELECT throws_ok(
	$$INSERT INTO zixly.pipeline_jobs (id, tenant_id, job_type, status) VALUES ('x', 't', 'j', 'DONE')$$,
	'23514', NULL, 'an unknown status is rejected by the CHECK constraint');
SELECT throws_ok(
	$$INSERT INTO zixly.pipeline_jobs (id, tenant_id, job_type, max_attempts) VALUES ('x', 't', 'j', 0)$$,
	'23514', NULL, 'max_attempts 0 is rejected by the CHECK constraint');

SELECT indexes_are('zixly', 'pipeline_jobs', ARRAY[
	'pipeline_jobs_pkey', 'pipeline_jobs_tenant_id_status_idx', 'pipeline_jobs_created_at_idx',
	'pipeline_jobs_claim_idx', 'pipeline_jobs_running_idx', 'pipeline_jobs_failed_idx', 'pipeline_jobs_idempotency_idx'],
	'pipeline_jobs has exactly the expected indexes');
SELECT has_index('zixly', 'pipeline_jobs', 'pipeline_jobs_tenant_id_status_idx', ARRAY['tenant_id', 'status'],
	'the spec''s (tenant_id, status) index');
SELECT has_index('zixly', 'pipeline_jobs', 'pipeline_jobs_created_at_idx', ARRAY['created_at'],
	'the spec''s (created_at) index');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index
            WHERE indexrelid = 'zixly.pipeline_jobs_claim_idx'::regclass),
	$$(status = 'QUEUED'::text)$$, 'the claim index is partial: only QUEUED rows');
SELECT matches(pg_get_indexdef('zixly.pipeline_jobs_claim_idx'::regclass),
	'\(priority DESC, run_at, id\)', 'the claim index is in claim order (priority DESC, run_at, id)');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index
            WHERE indexrelid = 'zixly.pipeline_jobs_running_idx'::regclass),
	$$(status = 'RUNNING'::text)$$, 'the running index is partial: only RUNNING rows');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index
            WHERE indexrelid = 'zixly.pipeline_jobs_failed_idx'::regclass),
	$$(status = 'FAILED'::text)$$, 'the dead-letter index is partial: only FAILED rows');
SELECT index_is_unique('zixly', 'pipeline_jobs', 'pipeline_jobs_idempotency_idx',
	'idempotency keys are unique ...');
SELECT has_index('zixly', 'pipeline_jobs', 'pipeline_jobs_idempotency_idx', ARRAY['tenant_id', 'idempotency_key'],
	'... per tenant');

-- The claim statement is an index probe: with many rows, the planner uses the partial index.
INSERT INTO zixly.pipeline_jobs (id, tenant_id, job_type, status)
SELECT 'j' || g, 't', 'noop', CASE WHEN g % 100 = 0 THEN 'QUEUED' ELSE 'COMPLETED' END
  FROM generate_series(1, 20000) g;
ANALYZE zixly.pipeline_jobs;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; o text := '';
BEGIN
	FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP o := o || r || E'\n'; END LOOP;
	RETURN o;
END $$;
SELECT matches(pg_temp.plan_of($$SELECT id FROM zixly.pipeline_jobs WHERE status = 'QUEUED' AND run_at <= now()
	ORDER BY priority DESC, run_at, id LIMIT 5 FOR UPDATE SKIP LOCKED$$),
	'pipeline_jobs_claim_idx', 'a claim query probes the partial claim index');
DELETE FROM zixly.pipeline_jobs;

-- ---------------------------------------------------------------- results, prices, tenants
SELECT has_column('zixly', 'trading_sweep_results', c, 'trading_sweep_results.' || c)
  FROM unnest(ARRAY['job_id', 'sweep_run_id', 'ticker', 'strategy_type', 'fast_period', 'slow_period',
                    'score', 'sharpe_ratio', 'total_return_pct', 'max_drawdown_pct', 'total_trades',
                    'created_at', 'tenant_id']) c;
SELECT fk_ok('zixly', 'trading_sweep_results', 'job_id', 'zixly', 'pipeline_jobs', 'id',
	'results reference their job');
SELECT is((SELECT confdeltype FROM pg_constraint
            WHERE conrelid = 'zixly.trading_sweep_results'::regclass AND contype = 'f'),
	'c'::"char", 'results are deleted with their job (ON DELETE CASCADE)');
SELECT has_index('zixly', 'trading_sweep_results', 'trading_sweep_results_job_id_idx', ARRAY['job_id'], 'results by job');
SELECT has_index('zixly', 'trading_sweep_results', 'trading_sweep_results_sweep_run_id_idx', ARRAY['sweep_run_id'], 'results by run');
SELECT has_index('zixly', 'trading_sweep_results', 'trading_sweep_results_ticker_score_idx', ARRAY['ticker', 'score'], 'results by (ticker, score)');
SELECT col_is_pk('zixly', 'prices', ARRAY['ticker', 'ts'], 'prices are keyed by (ticker, ts)');
SELECT col_not_null('zixly', 'prices', 'close', 'a price has a close');
SELECT col_is_null('zixly', 'prices', 'volume', 'volume is optional');
SELECT throws_ok($$INSERT INTO zixly.prices (ticker, ts, close) VALUES ('X', now(), 0)$$, '23514', NULL,
	'a close of 0 is rejected');
SELECT has_column('zixly', 'api_keys', 'key_hash', 'api_keys stores a key hash');
SELECT hasnt_column('zixly', 'api_keys', 'key', 'api_keys has no clear-text key column');
SELECT col_type_is('zixly', 'api_keys', 'key_hash', 'bytea', 'the key hash is bytea');
SELECT has_column('zixly', 'users', 'password_hash', 'users stores a password hash');
SELECT hasnt_column('zixly', 'users', 'password', 'users has no clear-text password column');

-- ---------------------------------------------------------------- RLS and roles
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'zixly.pipeline_jobs'::regclass),
	'RLS is enabled and forced on pipeline_jobs');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'zixly.trading_sweep_results'::regclass),
	'RLS is enabled and forced on trading_sweep_results');
SELECT policies_are('zixly', 'pipeline_jobs', ARRAY['tenant_isolation', 'worker_all'], 'policies on jobs');
SELECT policy_roles_are('zixly', 'pipeline_jobs', 'tenant_isolation', ARRAY['zixly_app'], 'tenant isolation applies to zixly_app');
SELECT policy_roles_are('zixly', 'pipeline_jobs', 'worker_all', ARRAY['zixly_worker'], 'workers see all jobs');
SELECT policies_are('zixly', 'trading_sweep_results', ARRAY['tenant_isolation', 'worker_all'], 'policies on results');
SELECT has_role('zixly_app', 'role zixly_app exists');
SELECT has_role('zixly_worker', 'role zixly_worker exists');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'zixly_app'), false, 'zixly_app is NOLOGIN');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'zixly_worker'), false, 'zixly_worker is NOLOGIN');
SELECT is((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = 'zixly_app'), false, 'zixly_app cannot bypass RLS');
SELECT table_privs_are('zixly', 'api_keys', 'zixly_app', ARRAY[]::text[], 'zixly_app has no privileges on api_keys');
SELECT table_privs_are('zixly', 'users', 'zixly_app', ARRAY[]::text[], 'zixly_app has no privileges on users');
SELECT table_privs_are('zixly', 'pipeline_jobs', 'zixly_app', ARRAY['SELECT'],
	'zixly_app reads jobs (rows limited by RLS) and writes them only through the SQL API (0.1.1 let it insert and update)');

-- ---------------------------------------------------------------- the SQL API
SELECT has_function(f, f || ' exists')
  FROM unnest(ARRAY['zixly_new_id', 'zixly_validate', 'zixly_enqueue', 'zixly_enqueue_batch', 'zixly_claim',
                    'zixly_heartbeat', 'zixly_complete', 'zixly_complete_batch', 'zixly_fail', 'zixly_release',
                    'zixly_rescue', 'zixly_rescue_jobs', 'zixly_wait', 'zixly_cancel', 'zixly_retry', 'zixly_prune', 'zixly_queue_stats',
                    'zixly_next_run_at', 'zixly_create_api_key', 'zixly_revoke_api_key',
                    'zixly_authenticate_api_key', 'zixly_create_user', 'zixly_authenticate_user',
                    'zixly_rate_limit']) f;
SELECT function_privs_are('zixly_create_api_key', ARRAY['text', 'text'], 'zixly_app', ARRAY[]::text[],
	'zixly_app cannot create API keys');
SELECT function_privs_are('zixly_authenticate_api_key', ARRAY['text'], 'zixly_app', ARRAY['EXECUTE'],
	'zixly_app can authenticate API keys');

-- workers: what they use, nothing more (0.1.0 also let them delete jobs, check passwords and
-- keys, and spend rate limits)
SELECT table_privs_are('zixly', 'pipeline_jobs', 'zixly_worker', ARRAY['SELECT', 'INSERT', 'UPDATE'],
	'zixly_worker may select, insert and update jobs, not delete them');
SELECT table_privs_are('zixly', 'trading_sweep_results', 'zixly_worker', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
	'zixly_worker replaces a job''s results');
SELECT function_privs_are(f, a, 'zixly_worker', ARRAY[]::text[], 'zixly_worker cannot call ' || f)
  FROM (VALUES ('zixly_authenticate_api_key', ARRAY['text']), ('zixly_authenticate_user', ARRAY['text', 'text']),
               ('zixly_rate_limit', ARRAY['text', 'integer', 'integer'])) v(f, a);
SELECT function_privs_are('zixly_wait', ARRAY['bigint', 'integer'], 'zixly_worker', ARRAY['EXECUTE'],
	'zixly_worker waits for wake-ups');
SELECT function_privs_are('zixly_wait', ARRAY['bigint', 'integer'], 'zixly_app', ARRAY[]::text[],
	'... and only workers: other roles cannot take the waiter slots shared by the cluster');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE proname = 'zixly_complete'), 2,
	'zixly_complete: 0.1.0''s form and the 5-argument one with the attempt');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE proname = 'zixly_fail'), 2,
	'zixly_fail: 0.1.0''s form and the 5-argument one with the attempt');

SELECT * FROM finish();
ROLLBACK;
