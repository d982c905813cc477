-- zixly_prune: retention of finished jobs (and, by cascade, their results).
BEGIN;
SELECT plan(11);

\ir fixtures/jobs.psql

-- ---------------------------------------------------------------- prune
-- COMPLETED c1, c2, b1, b2, fresh; CANCELLED x2; FAILED long; QUEUED q1; RUNNING r1
SELECT pg_temp.job(n) FROM unnest(ARRAY['c1', 'c2', 'b1', 'b2', 'fresh', 'x2', 'long', 'q1', 'r1']) n \g /dev/null
SELECT pg_temp.claim(n, 'w1') FROM unnest(ARRAY['c1', 'c2', 'b1', 'b2', 'fresh', 'x2', 'long', 'r1']) n \g /dev/null
SELECT zixly_complete(pg_temp.id(n), 'w1') FROM unnest(ARRAY['c1', 'c2', 'b1', 'b2', 'fresh']) n \g /dev/null
SELECT zixly_cancel(pg_temp.id('x2')) \g /dev/null
-- finished 8 days ago: c1, c2, b1 (COMPLETED), x2 (CANCELLED), long (FAILED); b2 6 days ago
UPDATE zixly.pipeline_jobs SET completed_at = now() - interval '8 days'
 WHERE parameters->>'name' IN ('c1', 'c2', 'x2', 'b1');
UPDATE zixly.pipeline_jobs SET status = 'FAILED', completed_at = now() - interval '8 days', locked_pid = NULL,
       lease_expires_at = NULL WHERE parameters->>'name' = 'long';
UPDATE zixly.pipeline_jobs SET completed_at = now() - interval '6 days' WHERE parameters->>'name' = 'b2';
INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type, fast_period,
	slow_period, rank, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
VALUES ('r1', pg_temp.id('c1'), 'default', 'run', 'X', 'SMA', 1, 2, 1, 0, 0, 0, 0);
SELECT throws_ok($$SELECT zixly_prune('-1 day')$$, '22023', 'older_than must not be negative', 'prune: negative age');
SELECT throws_ok($$SELECT zixly_prune(NULL)$$, '22004', 'older_than must not be null', 'prune: NULL age');
CREATE TEMP TABLE before AS SELECT id, status, parameters->>'name' AS name FROM zixly.pipeline_jobs;
SELECT is(zixly_prune(), 4::bigint, 'prune: 4 jobs finished over 7 days ago (COMPLETED, CANCELLED)');
SELECT is((SELECT array_agg(name ORDER BY name) FROM before WHERE id NOT IN (SELECT id FROM zixly.pipeline_jobs)),
	ARRAY['b1', 'c1', 'c2', 'x2'], '... exactly those');
SELECT is((SELECT count(*) FROM zixly.trading_sweep_results), 0::bigint, '... with their results');
SELECT is((pg_temp.j('long')).status, 'FAILED', 'prune keeps FAILED jobs by default');
SELECT is(zixly_prune('7 days', true), 1::bigint, 'prune with include_failed deletes the old FAILED job');
SELECT is(zixly_prune('1 day'), 1::bigint, 'prune: a shorter age reaches the 6-day-old job');
SELECT is(zixly_prune('0 s'), 0::bigint, 'prune: a job completed in this very transaction is not older than 0 s');
SELECT is((pg_temp.j('fresh')).status, 'COMPLETED', '... and stays');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')),
	(SELECT count(*) FROM before WHERE status IN ('QUEUED', 'RUNNING')), 'prune never deletes QUEUED or RUNNING jobs');

SELECT * FROM finish();
ROLLBACK;
