-- zixly_fail (backoff 2^attempt s, dead letter after max_attempts, non-retryable errors) and
-- zixly_retry (FAILED or CANCELLED back to QUEUED with attempts reset).
-- Legal transitions change the row as documented; illegal ones raise 55000 (wrong owner or
-- status) or P0002 (unknown job) and change nothing.
BEGIN;
SELECT plan(42);

\ir fixtures/jobs.psql

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

-- a completed and a cancelled job for zixly_retry
SELECT pg_temp.job('c1') \g /dev/null
SELECT pg_temp.claim('c1', 'w1') \g /dev/null
SELECT zixly_complete(pg_temp.id('c1'), 'w1') \g /dev/null
SELECT pg_temp.job('x1') \g /dev/null
SELECT zixly_cancel(pg_temp.id('x1')) \g /dev/null

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

-- ---------------------------------------------------------------- fail: the attempt as a fencing token
SELECT pg_temp.job('fa') \g /dev/null
SELECT pg_temp.claim('fa', 'w1') \g /dev/null
SELECT pg_temp.refuses($$SELECT zixly_fail(%L, 'w1', 'late', true, 2)$$, 'fa', '55000',
	'cannot fail job "%s": worker "w1" holds it on attempt 1, not 2',
	'fail: another attempt of the same worker cannot fail it');
SELECT is((SELECT status FROM zixly_fail(pg_temp.id('fa'), 'w1', 'boom', true, 1)), 'QUEUED',
	'fail: its own attempt can');

SELECT * FROM finish();
ROLLBACK;
