-- zixly_release: a RUNNING job back to the queue, in its place (run_at kept), the attempt not counted.
-- Legal transitions change the row as documented; illegal ones raise 55000 (wrong owner or
-- status) or P0002 (unknown job) and change nothing.
BEGIN;
SELECT plan(8);

\ir fixtures/jobs.psql

SELECT pg_temp.job('c1') \g /dev/null
SELECT pg_temp.claim('c1', 'w1') \g /dev/null
SELECT zixly_complete(pg_temp.id('c1'), 'w1') \g /dev/null

-- ---------------------------------------------------------------- release
SELECT pg_temp.job('r1') \g /dev/null
SELECT pg_temp.claim('r1', 'w1') \g /dev/null
UPDATE zixly.pipeline_jobs SET run_at = now() - interval '1 hour' WHERE id = pg_temp.id('r1');
SELECT pg_temp.refuses($$SELECT zixly_release(%L, 'w2')$$, 'r1', '55000', 'cannot release job "%s": it is held by worker "w1", not "w2"',
	'release: only the owner may release');
CREATE TEMP TABLE rel AS SELECT * FROM zixly_release(pg_temp.id('r1'), 'w1');
SELECT is((SELECT status FROM rel), 'QUEUED', 'release: back to QUEUED');
SELECT is((SELECT attempts FROM rel), 0, 'release: the attempt is not counted');
SELECT is((SELECT run_at FROM rel), now() - interval '1 hour', 'release: keeps its run_at, so its place in claim order');
SELECT ok((SELECT started_at IS NULL AND locked_pid IS NULL AND lease_expires_at IS NULL FROM rel), 'release: started_at and lease cleared');
SELECT is((pg_temp.claim('r1', 'w2')).attempts, 1, 'a released job is claimed again as attempt 1');
SELECT pg_temp.refuses($$SELECT zixly_release(%L, 'w2')$$, 'c1', '55000', 'cannot release job "%s": its status is COMPLETED',
	'release: a COMPLETED job cannot be released');
SELECT throws_ok($$SELECT zixly_release('no-such-job', 'w1')$$, 'P0002', 'job "no-such-job" does not exist', 'release: unknown job');

SELECT * FROM finish();
ROLLBACK;
