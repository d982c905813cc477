-- The transitions after a claim and the operator's: complete, fail (backoff, dead letter,
-- non-retryable), release, cancel, retry, complete_batch, prune; zixly_queue_stats.
-- Legal ones change the row as documented; illegal ones raise 55000 (wrong owner or status)
-- or P0002 (unknown job) and change nothing.
BEGIN;
SELECT plan(92);

-- Jobs are made and found by name (parameters->>'name').
CREATE FUNCTION pg_temp.job(name text, max_attempts int DEFAULT 3, q text DEFAULT 'default') RETURNS text
LANGUAGE sql AS $$
	SELECT (zixly_enqueue('noop', jsonb_build_object('name', name), queue => q, max_attempts => max_attempts)).id
$$;
CREATE FUNCTION pg_temp.id(name text) RETURNS text LANGUAGE sql AS $$
	SELECT id FROM zixly.pipeline_jobs WHERE parameters->>'name' = name
$$;
CREATE FUNCTION pg_temp.j(name text) RETURNS zixly.pipeline_jobs LANGUAGE sql AS $$
	SELECT * FROM zixly.pipeline_jobs WHERE parameters->>'name' = name
$$;
-- Claims the named job (and only it) for a worker: other QUEUED jobs are parked meanwhile.
CREATE FUNCTION pg_temp.claim(name text, w text) RETURNS zixly.pipeline_jobs LANGUAGE plpgsql AS $$
DECLARE r zixly.pipeline_jobs;
BEGIN
	UPDATE zixly.pipeline_jobs SET priority = priority + 1000000, run_at = now()
	 WHERE parameters->>'name' = name AND status = 'QUEUED';
	SELECT * INTO r FROM zixly_claim(w, 1);
	UPDATE zixly.pipeline_jobs SET priority = priority - 1000000 WHERE priority >= 1000000;
	IF r.parameters->>'name' IS DISTINCT FROM name THEN
		RAISE EXCEPTION 'claimed % instead of %', r.parameters->>'name', name;
	END IF;
	RETURN r;
END $$;
-- An illegal transition: SQLSTATE and exact message, the job's name substituted for %s.
CREATE FUNCTION pg_temp.refuses(sql text, name text, state text, msg text, description text) RETURNS text
LANGUAGE sql AS $$
	SELECT throws_ok(format(sql, pg_temp.id(name)), state, format(msg, pg_temp.id(name)), description)
$$;

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

-- ---------------------------------------------------------------- fail: backoff and dead letter
SELECT pg_temp.job('f1') \g /dev/null
SELECT pg_temp.claim('f1', 'w1') \g /dev/null
SELECT pg_temp.refuses($$SELECT zixly_fail(%L, 'w2', 'boom')$$, 'f1', '55000', 'cannot fail job "%s": it is held by worker "w1", not "w2"',
	'fail: only the owner may fail');
CREATE TEMP TABLE f AS SELECT * FROM zixly_fail(pg_temp.id('f1'), 'w1', 'boom 1');
SELECT is((SELECT status FROM f), 'QUEUED', 'fail, attempt 1 of 3: back to QUEUED');
SELECT is((SELECT attempts FROM f), 1, '... the attempt counted');
SELECT ok((SELECT run_at > now() + interval '1.5 s' AND run_at < now() + interval '2.5 s' FROM f), '... due again in 2 s');
SELECT is((SELECT error_message FROM f), 'boom 1', '... the error kept');
SELECT ok((SELECT completed_at IS NULL AND locked_pid IS NULL AND lease_expires_at IS NULL FROM f), '... not finished, lease released');
SELECT is((SELECT count(*) FROM zixly_claim('w1')), 0::bigint, '... and not claimable before its run_at');
UPDATE zixly.pipeline_jobs SET run_at = now() WHERE id = pg_temp.id('f1');   -- time passes
SELECT is((pg_temp.claim('f1', 'w1')).attempts, 2, 'claimed again: attempt 2');
SELECT ok((SELECT run_at > now() + interval '3.5 s' AND run_at < now() + interval '4.5 s' FROM zixly_fail(pg_temp.id('f1'), 'w1', 'boom 2')),
	'fail, attempt 2 of 3: due again in 4 s');
UPDATE zixly.pipeline_jobs SET run_at = now() WHERE id = pg_temp.id('f1');
SELECT is((pg_temp.claim('f1', 'w1')).attempts, 3, 'claimed again: attempt 3');
DELETE FROM f;
INSERT INTO f SELECT * FROM zixly_fail(pg_temp.id('f1'), 'w1', 'boom 3');
SELECT is((SELECT status FROM f), 'FAILED', 'fail, attempt 3 of 3: FAILED (dead letter)');
SELECT is((SELECT error_message FROM f), 'boom 3', '... with the last error');
SELECT is((SELECT completed_at FROM f), now(), '... completed_at = now()');
SELECT is((SELECT run_at FROM f), now(), '... run_at unchanged');
SELECT pg_temp.refuses($$SELECT zixly_fail(%L, 'w1', 'again')$$, 'f1', '55000', 'cannot fail job "%s": its status is FAILED',
	'fail: a dead letter cannot fail again');
SELECT is((SELECT count(*) FROM zixly_claim('w1')), 0::bigint, 'a dead letter is not claimed');

-- 8 s, 16 s ... capped at 2^16 s
SELECT pg_temp.job('f5', 5) \g /dev/null
SELECT pg_temp.claim('f5', 'w1') \g /dev/null
UPDATE zixly.pipeline_jobs SET attempts = 3 WHERE id = pg_temp.id('f5');
SELECT ok((SELECT run_at > now() + interval '7.5 s' AND run_at < now() + interval '8.5 s' FROM zixly_fail(pg_temp.id('f5'), 'w1', 'x')),
	'fail, attempt 3 of 5: due again in 8 s');
UPDATE zixly.pipeline_jobs SET run_at = now() WHERE id = pg_temp.id('f5');
SELECT pg_temp.claim('f5', 'w1') \g /dev/null
SELECT ok((SELECT status = 'QUEUED' AND run_at > now() + interval '15.5 s' AND run_at < now() + interval '16.5 s'
             FROM zixly_fail(pg_temp.id('f5'), 'w1', 'x')),
	'fail, attempt 4 of 5: due again in 16 s');
SELECT pg_temp.job('f100', 100) \g /dev/null
SELECT pg_temp.claim('f100', 'w1') \g /dev/null
UPDATE zixly.pipeline_jobs SET attempts = 40 WHERE id = pg_temp.id('f100');
SELECT is((SELECT run_at FROM zixly_fail(pg_temp.id('f100'), 'w1', 'x')), now() + interval '65536 s',
	'fail, attempt 40: the backoff is capped at 2^16 s');

-- non-retryable and odd arguments
SELECT pg_temp.job('nr') \g /dev/null
SELECT pg_temp.claim('nr', 'w1') \g /dev/null
DELETE FROM f;
INSERT INTO f SELECT * FROM zixly_fail(pg_temp.id('nr'), 'w1', 'bad input', false);
SELECT is((SELECT status FROM f), 'FAILED', 'fail, non-retryable: FAILED on attempt 1 of 3');
SELECT is((SELECT error_message FROM f), 'bad input', '... with its error');
SELECT is((SELECT attempts FROM f), 1, '... after one attempt');
SELECT pg_temp.job('rn') \g /dev/null
SELECT pg_temp.claim('rn', 'w1') \g /dev/null
SELECT is((zixly_fail(pg_temp.id('rn'), 'w1', 'x', NULL)).status, 'QUEUED', 'fail: retryable NULL means retryable');
SELECT pg_temp.job('long') \g /dev/null
SELECT pg_temp.claim('long', 'w1') \g /dev/null
SELECT is((SELECT octet_length(error_message) || ' bytes, ' || length(error_message) || ' characters'
             FROM zixly_fail(pg_temp.id('long'), 'w1', repeat('é', 20000))), '10000 bytes, 5000 characters',
	'fail: a long error is cut to 10,000 bytes on a character boundary');
SELECT pg_temp.claim('long', 'w1') \g /dev/null
SELECT is((SELECT length(error_message) FROM zixly_fail(pg_temp.id('long'), 'w1', repeat('x', 10001))), 10000,
	'fail: 10,001 ASCII characters are cut to 10,000');
SELECT throws_ok($$SELECT zixly_fail('x', 'w1', NULL)$$, '22004', 'error must not be null', 'fail: error NULL');
SELECT throws_ok($$SELECT zixly_fail('no-such-job', 'w1', 'x')$$, 'P0002', 'job "no-such-job" does not exist', 'fail: unknown job');
SELECT pg_temp.refuses($$SELECT zixly_fail(%L, 'w1', 'x')$$, 'rn', '55000', 'cannot fail job "%s": its status is QUEUED',
	'fail: a QUEUED job cannot fail');

-- ---------------------------------------------------------------- release
SELECT pg_temp.job('r1') \g /dev/null
SELECT pg_temp.claim('r1', 'w1') \g /dev/null
SELECT pg_temp.refuses($$SELECT zixly_release(%L, 'w2')$$, 'r1', '55000', 'cannot release job "%s": it is held by worker "w1", not "w2"',
	'release: only the owner may release');
CREATE TEMP TABLE rel AS SELECT * FROM zixly_release(pg_temp.id('r1'), 'w1');
SELECT is((SELECT status FROM rel), 'QUEUED', 'release: back to QUEUED');
SELECT is((SELECT attempts FROM rel), 0, 'release: the attempt is not counted');
SELECT is((SELECT run_at FROM rel), now(), 'release: due at once');
SELECT ok((SELECT started_at IS NULL AND locked_pid IS NULL AND lease_expires_at IS NULL FROM rel), 'release: started_at and lease cleared');
SELECT is((pg_temp.claim('r1', 'w2')).attempts, 1, 'a released job is claimed again as attempt 1');
SELECT pg_temp.refuses($$SELECT zixly_release(%L, 'w2')$$, 'c1', '55000', 'cannot release job "%s": its status is COMPLETED',
	'release: a COMPLETED job cannot be released');
SELECT throws_ok($$SELECT zixly_release('no-such-job', 'w1')$$, 'P0002', 'job "no-such-job" does not exist', 'release: unknown job');

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

-- ---------------------------------------------------------------- retry
CREATE TEMP TABLE re AS SELECT * FROM zixly_retry(pg_temp.id('f1'));
SELECT is((SELECT status FROM re), 'QUEUED', 'retry: a FAILED job goes back to QUEUED');
SELECT is((SELECT attempts FROM re), 0, 'retry: attempts reset to 0');
SELECT is((SELECT run_at FROM re), now(), 'retry: due now');
SELECT ok((SELECT completed_at IS NULL AND started_at IS NULL AND locked_by IS NULL FROM re), 'retry: finish, start and owner cleared');
SELECT is((pg_temp.claim('f1', 'w3')).attempts, 1, 'a retried job gets its attempts again');
SELECT is((SELECT status FROM zixly_retry(pg_temp.id('x1'))), 'QUEUED', 'retry: a CANCELLED job goes back to QUEUED');
SELECT is((SELECT run_at FROM zixly_retry(pg_temp.id('nr'), now() + interval '1 hour')), now() + interval '1 hour',
	'retry: with a run_at');
SELECT pg_temp.refuses($$SELECT zixly_retry(%L)$$, 'x1', '55000', 'cannot retry job "%s": its status is QUEUED',
	'retry: not a QUEUED job');
SELECT pg_temp.refuses($$SELECT zixly_retry(%L)$$, 'f1', '55000', 'cannot retry job "%s": its status is RUNNING',
	'retry: not a RUNNING job');
SELECT pg_temp.refuses($$SELECT zixly_retry(%L)$$, 'c1', '55000', 'cannot retry job "%s": its status is COMPLETED',
	'retry: not a COMPLETED job');
SELECT throws_ok($$SELECT zixly_retry('no-such-job')$$, 'P0002', 'job "no-such-job" does not exist', 'retry: unknown job');
SELECT throws_ok(format($$SELECT zixly_retry(%L, 'infinity')$$, pg_temp.id('c1')), '22023', 'run_at must be a finite timestamp',
	'retry: run_at must be finite');

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

-- ---------------------------------------------------------------- prune
-- finished 8 days ago: c1, c2 (COMPLETED), x2 (CANCELLED), f100's neighbour nr... set it up explicitly
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
SELECT is(zixly_prune('0 s'), 0::bigint, 'prune: jobs finished in this very transaction are not older than 0 s');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')),
	(SELECT count(*) FROM before WHERE status IN ('QUEUED', 'RUNNING')), 'prune never deletes QUEUED or RUNNING jobs');

SELECT * FROM finish();
ROLLBACK;
