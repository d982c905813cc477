-- zixly_complete, zixly_cancel and zixly_complete_batch; zixly_queue_stats.
-- Legal transitions change the row as documented; illegal ones raise 55000 (wrong owner or
-- status) or P0002 (unknown job) and change nothing.
BEGIN;
SELECT plan(39);

\ir fixtures/jobs.psql

-- ---------------------------------------------------------------- complete
SELECT pg_temp.job('c1') \g /dev/null
SELECT throws_ok($$SELECT zixly_complete('no-such-job', 'w1')$$, 'P0002', 'job "no-such-job" does not exist',
	'complete: an unknown job is P0002');
SELECT pg_temp.refuses($$SELECT zixly_complete(%L, 'w1')$$, 'c1', '55000', 'cannot complete job "%s": its status is QUEUED',
	'complete: a QUEUED job cannot be completed');
SELECT pg_temp.claim('c1', 'w1') \g /dev/null
SELECT pg_temp.refuses($$SELECT zixly_complete(%L, 'w2')$$, 'c1', '55000', 'cannot complete job "%s": it is held by worker "w1", not "w2"',
	'complete: only the owner may complete');
SELECT is((pg_temp.j('c1')).status, 'RUNNING', '... and the job is still RUNNING');
CREATE TEMP TABLE done AS SELECT * FROM zixly_complete(pg_temp.id('c1'), 'w1', '{"best": 1}', '{"ms": 42}');
SELECT is((SELECT status FROM done), 'COMPLETED', 'complete: the owner completes a RUNNING job');
SELECT is((SELECT result FROM done), '{"best": 1}'::jsonb, 'complete: result is stored');
SELECT is((SELECT metrics FROM done), '{"ms": 42}'::jsonb, 'complete: metrics are stored');
SELECT is((SELECT completed_at FROM done), now(), 'complete: completed_at = now()');
SELECT ok((SELECT locked_pid IS NULL AND locked_backend_start IS NULL AND lease_expires_at IS NULL FROM done),
	'complete: the lease is released');
SELECT is((SELECT row(done.*)::text FROM done), (SELECT row(p.*)::text FROM pg_temp.j('c1') p), 'complete returns the stored row');
SELECT pg_temp.refuses($$SELECT zixly_complete(%L, 'w1')$$, 'c1', '55000', 'cannot complete job "%s": its status is COMPLETED',
	'complete: a job is completed once');
SELECT throws_ok($$SELECT zixly_complete(NULL, 'w1')$$, '22004', 'job_id must not be null', 'complete: job_id NULL');
SELECT throws_ok($$SELECT zixly_complete('x', NULL)$$, '22004', 'worker_id must not be null', 'complete: worker_id NULL');
SELECT pg_temp.job('c2') \g /dev/null
SELECT pg_temp.claim('c2', 'w1') \g /dev/null
SELECT ok((SELECT result IS NULL AND metrics IS NULL AND status = 'COMPLETED' FROM zixly_complete(pg_temp.id('c2'), 'w1')),
	'complete: result and metrics are optional');

-- the attempt as a fencing token: a stale attempt of a job its worker claimed again cannot end it
SELECT pg_temp.job('c3') \g /dev/null
SELECT pg_temp.claim('c3', 'w1') \g /dev/null
UPDATE zixly.pipeline_jobs SET status = 'QUEUED', locked_by = NULL WHERE id = pg_temp.id('c3');	-- as a rescue does
SELECT is((pg_temp.claim('c3', 'w1')).attempts, 2, 'the same worker claims the job again: attempt 2');
SELECT pg_temp.refuses($$SELECT zixly_complete(%L, 'w1', '{"from": 1}', NULL, 1)$$, 'c3', '55000',
	'cannot complete job "%s": worker "w1" holds it on attempt 2, not 1',
	'complete: attempt 1 cannot complete what attempt 2 holds');
SELECT is((SELECT result->>'from' FROM zixly_complete(pg_temp.id('c3'), 'w1', '{"from": 2}', NULL, 2)), '2',
	'complete: attempt 2 completes it, with its own result');
SELECT throws_ok($$SELECT zixly_complete('x', 'w1', NULL, NULL, 0)$$, '22023', 'attempt must be 1 or more',
	'complete: attempt 0 is refused');
SELECT throws_ok($$SELECT zixly_fail('x', 'w1', 'boom', true, -3)$$, '22023', 'attempt must be 1 or more',
	'fail: a negative attempt is refused');

-- a dead letter, made directly (zixly_fail has its own file)
SELECT pg_temp.job('f1') \g /dev/null
SELECT pg_temp.claim('f1', 'w1') \g /dev/null
UPDATE zixly.pipeline_jobs SET status = 'FAILED', completed_at = now(), locked_pid = NULL, lease_expires_at = NULL
 WHERE parameters->>'name' = 'f1';

-- ---------------------------------------------------------------- cancel
SELECT pg_temp.job('x1') \g /dev/null
CREATE TEMP TABLE can AS SELECT * FROM zixly_cancel(pg_temp.id('x1'));
SELECT is((SELECT status FROM can), 'CANCELLED', 'cancel: a QUEUED job is CANCELLED');
SELECT is((SELECT completed_at FROM can), now(), 'cancel: completed_at = now()');
SELECT is((SELECT count(*) FROM zixly_claim('w1')), 0::bigint, 'a cancelled job is not claimed');
SELECT pg_temp.job('x2') \g /dev/null
SELECT pg_temp.claim('x2', 'w1') \g /dev/null
SELECT ok((SELECT status = 'CANCELLED' AND lease_expires_at IS NULL AND locked_pid IS NULL FROM zixly_cancel(pg_temp.id('x2'))),
	'cancel: a RUNNING job is CANCELLED and its lease released');
SELECT pg_temp.refuses($$SELECT zixly_complete(%L, 'w1')$$, 'x2', '55000', 'cannot complete job "%s": its status is CANCELLED',
	'the worker of a cancelled job cannot complete it');
SELECT is((SELECT count(*) FROM zixly_heartbeat('w1', ARRAY[pg_temp.id('x2')])), 0::bigint,
	'the heartbeat tells the worker it lost the cancelled job');
SELECT pg_temp.refuses($$SELECT zixly_cancel(%L)$$, 'x2', '55000', 'cannot cancel job "%s": its status is CANCELLED',
	'cancel: not twice');
SELECT pg_temp.refuses($$SELECT zixly_cancel(%L)$$, 'c1', '55000', 'cannot cancel job "%s": its status is COMPLETED',
	'cancel: not a COMPLETED job');
SELECT pg_temp.refuses($$SELECT zixly_cancel(%L)$$, 'f1', '55000', 'cannot cancel job "%s": its status is FAILED',
	'cancel: not a FAILED job');
SELECT throws_ok($$SELECT zixly_cancel('no-such-job')$$, 'P0002', 'job "no-such-job" does not exist', 'cancel: unknown job');
SELECT throws_ok($$SELECT zixly_cancel(NULL)$$, '22004', 'job_id must not be null', 'cancel: NULL');

-- ---------------------------------------------------------------- complete_batch
SELECT pg_temp.job('b' || g) FROM generate_series(1, 4) g \g /dev/null
SELECT pg_temp.claim('b' || g, 'wb') FROM generate_series(1, 3) g \g /dev/null
SELECT pg_temp.claim('b4', 'other') \g /dev/null
SELECT is((SELECT array_agg(i ORDER BY i) FROM zixly_complete_batch('wb',
		ARRAY[pg_temp.id('b1'), pg_temp.id('b2'), pg_temp.id('b3'), pg_temp.id('b4'), pg_temp.id('c1'), 'no-such-job']) i),
	(SELECT array_agg(i ORDER BY i) FROM unnest(ARRAY[pg_temp.id('b1'), pg_temp.id('b2'), pg_temp.id('b3')]) i),
	'complete_batch returns exactly the jobs the worker held');
SELECT ok((SELECT bool_and(status = 'COMPLETED' AND completed_at = now() AND lease_expires_at IS NULL)
             FROM zixly.pipeline_jobs WHERE parameters->>'name' IN ('b1', 'b2', 'b3')), '... and completed them');
SELECT is((pg_temp.j('b4')).status, 'RUNNING', '... not another worker''s job');
SELECT is((SELECT count(*) FROM zixly_complete_batch('wb', '{}')), 0::bigint, 'complete_batch of nothing');
SELECT throws_ok($$SELECT zixly_complete_batch('wb', NULL)$$, '22004', 'job_ids must not be null', 'complete_batch: job_ids NULL');
SELECT throws_ok($$SELECT zixly_complete_batch('', '{}')$$, '22023', 'worker_id must not be empty', 'complete_batch: empty worker');

-- ---------------------------------------------------------------- queue stats
SELECT pg_temp.job('s' || g, 3, 'stats') FROM generate_series(1, 3) g \g /dev/null
SELECT pg_temp.claim('s1', 'w1') \g /dev/null
SELECT results_eq(
	$$SELECT queue, status, jobs FROM zixly_queue_stats() ORDER BY 1, 2$$,
	$$SELECT queue, status, count(*) FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING', 'FAILED')
	   GROUP BY 1, 2 ORDER BY 1, 2$$,
	'zixly_queue_stats counts QUEUED, RUNNING and FAILED jobs per queue');
SELECT is((SELECT count(*) FROM zixly_queue_stats() WHERE status IN ('COMPLETED', 'CANCELLED')), 0::bigint,
	'zixly_queue_stats leaves out finished jobs');
SELECT results_eq($$SELECT status, jobs FROM zixly_queue_stats() WHERE queue = 'stats' ORDER BY 1$$,
	$$VALUES ('QUEUED', 2::bigint), ('RUNNING', 1::bigint)$$, 'zixly_queue_stats for one queue');

SELECT * FROM finish();
ROLLBACK;
