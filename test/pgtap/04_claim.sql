-- zixly_claim (order, due time, max_jobs, queues, what a claim sets, argument checks),
-- zixly_heartbeat and zixly_next_run_at.
BEGIN;
SELECT plan(54);

CREATE FUNCTION pg_temp.job(name text, prio int, due interval, q text DEFAULT 'default') RETURNS text
LANGUAGE sql AS $$
	SELECT (zixly_enqueue('noop', jsonb_build_object('name', name), queue => q, priority => prio,
	                      run_at => now() + due)).id
$$;
CREATE FUNCTION pg_temp.claim_one(w text, qs text[] DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(parameters->>'name', ',') FROM zixly_claim(w, 1, qs)
$$;

-- ---------------------------------------------------------------- max_jobs, whatever the plan
-- This must be the session's first claim: zixly_claim plans its statement once per session.
-- The statistics say the job table holds one row (a small queue, just analyzed) when it is
-- planned; the claim must still take at most max_jobs jobs.
SELECT zixly_enqueue('noop') \g /dev/null
ANALYZE zixly.pipeline_jobs;
SELECT count(*) FROM zixly_enqueue_batch('noop', '[{}, {}, {}, {}, {}, {}, {}, {}, {}]') \g /dev/null
SELECT is((SELECT count(*) FROM zixly_claim('w0', 1)), 1::bigint,
	'max_jobs 1 claims one job even when the statistics say the table is tiny');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'RUNNING'), 1::bigint, '... and only one job is RUNNING');
SELECT is((SELECT count(*) FROM zixly_claim('w0', 3)), 3::bigint, 'max_jobs 3 then claims three');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'QUEUED'), 6::bigint, '... leaving six QUEUED');
-- ANALYZE writes the table's size in place, past the rollback: leave it as 00_schema does.
DELETE FROM zixly.pipeline_jobs;
INSERT INTO zixly.pipeline_jobs (id, tenant_id, job_type, status)
SELECT 'j' || g, 't', 'noop', 'COMPLETED' FROM generate_series(1, 20000) g;
ANALYZE zixly.pipeline_jobs;
DELETE FROM zixly.pipeline_jobs;

SELECT is((SELECT count(*) FROM zixly_claim('w1', 10)), 0::bigint, 'an empty queue gives nothing');

-- ---------------------------------------------------------------- claim order
SELECT pg_temp.job('a', 0, '-10 s'), pg_temp.job('b', 5, '-1 s'), pg_temp.job('c', 5, '-5 s'),
       pg_temp.job('d', 0, '-20 s'), pg_temp.job('e', 10, '1 hour'), pg_temp.job('f', -1, '-100 s'),
       pg_temp.job('g', 0, '0 s') \g /dev/null
SELECT is(zixly_next_run_at(), now() - interval '100 s', 'zixly_next_run_at: the earliest QUEUED run_at');
SELECT is(pg_temp.claim_one('w1'), 'c', 'highest priority first, and of equal priority the oldest run_at');
SELECT is(pg_temp.claim_one('w1'), 'b', 'then the other priority-5 job');
SELECT is(pg_temp.claim_one('w1'), 'd', 'then priority 0, oldest run_at first');
SELECT is(pg_temp.claim_one('w1'), 'a', 'then the next oldest');
SELECT is(pg_temp.claim_one('w1'), 'g', 'a job due exactly now() is claimable');
SELECT is(pg_temp.claim_one('w1'), 'f', 'a negative priority comes last');
SELECT is(pg_temp.claim_one('w1'), NULL, 'a job with a future run_at is not claimed, whatever its priority');
SELECT is((SELECT status FROM zixly.pipeline_jobs WHERE parameters->>'name' = 'e'), 'QUEUED', 'the future job stays QUEUED');
SELECT is(zixly_next_run_at(), now() + interval '1 hour', 'zixly_next_run_at: the future job''s run_at');
SELECT is((SELECT count(*) FROM zixly_claim('w2', 100)), 0::bigint, 'claimed jobs are not claimed again');
-- several at once: in claim order, whatever order the rows have in the table
SELECT pg_temp.job('o1', 0, '-5 s'), pg_temp.job('o2', 7, '-1 s'), pg_temp.job('o3', 0, '-9 s'),
       pg_temp.job('o4', 3, '-2 s'), pg_temp.job('t1', 1, '-3 s'), pg_temp.job('t2', 1, '-3 s') \g /dev/null
-- a new version of t1 lies after t2 in the table; only its (smaller) id puts it first
UPDATE zixly.pipeline_jobs SET updated_at = updated_at WHERE parameters->>'name' = 't1';
SELECT is((SELECT array_agg(parameters->>'name') FROM zixly_claim('w2', 10)),
	ARRAY['o2', 'o4', 't1', 't2', 'o3', 'o1'],
	'a claim of several jobs returns them in claim order: priority, run_at, then id');

-- ---------------------------------------------------------------- what a claim sets
SELECT pg_temp.job('h', 0, '-1 s') \g /dev/null
CREATE TEMP TABLE c1 AS SELECT * FROM zixly_claim('worker-A', 1, lease => '90 seconds');
SELECT is((SELECT status FROM c1), 'RUNNING', 'a claimed job is RUNNING');
SELECT is((SELECT attempts FROM c1), 1, 'attempts + 1');
SELECT ok((SELECT started_at BETWEEN now() AND clock_timestamp() FROM c1),
	'started_at is the moment of the claim (not the transaction''s start)');
SELECT is((SELECT updated_at FROM c1), (SELECT started_at FROM c1), 'updated_at = started_at');
SELECT is((SELECT locked_by FROM c1), 'worker-A', 'locked_by is the worker id');
SELECT is((SELECT locked_pid FROM c1), pg_backend_pid(), 'locked_pid is the claiming backend');
SELECT is((SELECT locked_backend_start FROM c1), (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()),
	'locked_backend_start is that backend''s start time');
SELECT is((SELECT lease_expires_at FROM c1), (SELECT started_at FROM c1) + interval '90 seconds',
	'the lease runs for the given interval from the claim');
SELECT is((SELECT row(c1.*)::text FROM c1), (SELECT row(p.*)::text FROM zixly.pipeline_jobs p JOIN c1 USING (id)),
	'the returned row is the stored row');
SELECT pg_temp.job('i', 0, '-1 s') \g /dev/null
SELECT is((SELECT lease_expires_at - started_at FROM zixly_claim('w1')), interval '5 minutes', 'the default lease is 5 minutes');
-- due as of the claim: a job due after this transaction began (zixly_wait then claim in one statement)
SELECT pg_temp.job('late', 0, '-1 s') \g /dev/null
UPDATE zixly.pipeline_jobs SET run_at = clock_timestamp() WHERE parameters->>'name' = 'late';
SELECT pg_sleep(0.01) \g /dev/null
SELECT is(pg_temp.claim_one('w1'), 'late', 'a job whose run_at is after the transaction''s start but before the claim is due');

-- ---------------------------------------------------------------- max_jobs and queues
SELECT pg_temp.job('m' || g, g, '-1 s') FROM generate_series(1, 5) g \g /dev/null
SELECT is((SELECT array_agg(parameters->>'name' ORDER BY parameters->>'name') FROM zixly_claim('w3', 3)),
	ARRAY['m3', 'm4', 'm5'], 'max_jobs 3 claims the 3 best jobs');
SELECT is((SELECT count(*) FROM zixly_claim('w3', NULL)), 1::bigint, 'max_jobs NULL means 1');
SELECT is((SELECT count(*) FROM zixly_claim('w3', 1000)), 1::bigint, 'max_jobs above what is due claims what is due');
SELECT pg_temp.job('q1a', 0, '-1 s', 'q1'), pg_temp.job('q2a', 9, '-1 s', 'q2'), pg_temp.job('q2b', 0, '-1 s', 'q2'),
       pg_temp.job('d1', 99, '-1 s') \g /dev/null
SELECT is(pg_temp.claim_one('w4', '{q1}'), 'q1a', 'queues: only the listed queue, even when others have higher priority');
SELECT is(pg_temp.claim_one('w4', '{q1}'), NULL, 'queues: nothing left in q1');
SELECT is((SELECT array_agg(parameters->>'name' ORDER BY parameters->>'name') FROM zixly_claim('w4', 10, '{q2,nope}')),
	ARRAY['q2a', 'q2b'], 'queues: any of the listed queues');
SELECT is(pg_temp.claim_one('w4'), 'd1', 'queues NULL: every queue');
SELECT pg_temp.job('nq', 0, '-1 s', 'q3'), pg_temp.job('fut', 0, '1 minute', 'q4') \g /dev/null
SELECT is(zixly_next_run_at('{q4}'), now() + interval '1 minute', 'zixly_next_run_at for one queue');
SELECT is(zixly_next_run_at('{nope}'), NULL, 'zixly_next_run_at of a queue without jobs is NULL');

-- ---------------------------------------------------------------- argument checks
SELECT throws_ok($$SELECT * FROM zixly_claim(NULL)$$, '22004', 'worker_id must not be null', 'worker_id NULL');
SELECT throws_ok($$SELECT * FROM zixly_claim('')$$, '22023', 'worker_id must not be empty', 'worker_id empty');
SELECT throws_ok($$SELECT * FROM zixly_claim(repeat('w', 129))$$, '22023', 'worker_id must be 1 to 128 characters', 'worker_id of 129 characters');
SELECT throws_ok($$SELECT * FROM zixly_claim('w', 0)$$, '22023', 'max_jobs must be from 1 to 1000', 'max_jobs 0');
SELECT throws_ok($$SELECT * FROM zixly_claim('w', 1001)$$, '22023', 'max_jobs must be from 1 to 1000', 'max_jobs 1001');
SELECT throws_ok($$SELECT * FROM zixly_claim('w', 1, NULL, '0 s')$$, '22023', 'lease must be more than 0 and at most 7 days', 'lease 0');
SELECT throws_ok($$SELECT * FROM zixly_claim('w', 1, NULL, '-1 s')$$, '22023', 'lease must be more than 0 and at most 7 days', 'negative lease');
SELECT throws_ok($$SELECT * FROM zixly_claim('w', 1, NULL, '8 days')$$, '22023', 'lease must be more than 0 and at most 7 days', 'lease of 8 days');
SELECT throws_ok($$SELECT * FROM zixly_claim('w', 1, NULL, NULL)$$, '22004', 'lease must not be null', 'lease NULL');
SELECT throws_ok($$SELECT * FROM zixly_claim('w', 1, '{q1,NULL}')$$, '22004', 'queues must not contain nulls', 'queues with a NULL');
SELECT throws_ok($$SELECT * FROM zixly_claim('w', 1, '{{a},{b}}')$$, '22023', 'queues must be a one-dimensional array', 'queues 2-D');
SELECT is((SELECT status FROM zixly.pipeline_jobs WHERE parameters->>'name' = 'nq'), 'QUEUED', 'failed claims claimed nothing');

-- ---------------------------------------------------------------- heartbeat
UPDATE zixly.pipeline_jobs SET lease_expires_at = now() + interval '1 s', locked_pid = 1 WHERE locked_by = 'w4';
SELECT is((SELECT array_agg(h ORDER BY h) FROM zixly_heartbeat('w4', lease => '10 minutes') h),
	(SELECT array_agg(id ORDER BY id) FROM zixly.pipeline_jobs WHERE locked_by = 'w4'),
	'heartbeat returns every job the worker holds');
SELECT ok((SELECT bool_and(lease_expires_at = now() + interval '10 minutes' AND locked_pid = pg_backend_pid())
             FROM zixly.pipeline_jobs WHERE locked_by = 'w4'),
	'... extends their leases and binds them to the calling session');
SELECT is((SELECT array_agg(h) FROM zixly_heartbeat('w4', (SELECT array_agg(id) FROM zixly.pipeline_jobs
                                                            WHERE parameters->>'name' IN ('q2a', 'e'))) h),
	(SELECT array_agg(id) FROM zixly.pipeline_jobs WHERE parameters->>'name' = 'q2a'),
	'heartbeat with job_ids: only the listed jobs the worker holds');
SELECT is((SELECT count(*) FROM zixly_heartbeat('nobody')), 0::bigint, 'another worker''s heartbeat holds nothing');
SELECT throws_ok($$SELECT * FROM zixly_heartbeat('w4', NULL, '0 s')$$, '22023', 'lease must be more than 0 and at most 7 days',
	'heartbeat checks the lease');

SELECT * FROM finish();
ROLLBACK;
