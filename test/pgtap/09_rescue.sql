-- zixly_rescue and zixly.session_alive: RUNNING jobs whose session ended (by pid AND backend
-- start, so a reused pid does not keep a dead worker's job) or whose lease ran out go back to
-- the queue, or are dead-lettered when their attempts are used up; live, leased jobs stay.
-- zixly_rescue_jobs does the same and returns those jobs (for the dead letters' callbacks).
-- A dead session is simulated by rewriting the owner columns as superuser.
BEGIN;
SELECT plan(46);

CREATE FUNCTION pg_temp.job(name text, max_attempts int DEFAULT 3) RETURNS text LANGUAGE sql AS $$
	SELECT (zixly_enqueue('noop', jsonb_build_object('name', name), max_attempts => max_attempts)).id
$$;
CREATE FUNCTION pg_temp.j(name text) RETURNS zixly.pipeline_jobs LANGUAGE sql AS $$
	SELECT * FROM zixly.pipeline_jobs WHERE parameters->>'name' = name
$$;
CREATE FUNCTION pg_temp.my_start() RETURNS timestamptz LANGUAGE sql AS $$
	SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()
$$;

-- ---------------------------------------------------------------- session_alive
SELECT ok(zixly.session_alive(pg_backend_pid(), pg_temp.my_start()), 'session_alive: this session is alive');
SELECT ok(NOT zixly.session_alive(pg_backend_pid(), pg_temp.my_start() - interval '1 day'),
	'session_alive: the same pid with another start time is another (dead) session');
SELECT ok(NOT zixly.session_alive(0, pg_temp.my_start()), 'session_alive: pid 0 is no session');
SELECT is(zixly.session_alive(NULL, now()), NULL, 'session_alive is strict');

SELECT is(zixly_rescue(), 0, 'rescue with no jobs: 0');

-- ---------------------------------------------------------------- live and leased: kept
SELECT pg_temp.job('live') \g /dev/null
SELECT count(*) FROM zixly_claim('w1', 10) \g /dev/null
SELECT is(zixly_rescue(), 0, 'a job of a live session with a valid lease is not rescued');
SELECT is((pg_temp.j('live')).status, 'RUNNING', '... it stays RUNNING');
SELECT is((pg_temp.j('live')).locked_by, 'w1', '... with its owner');

-- ---------------------------------------------------------------- lease expired
UPDATE zixly.pipeline_jobs SET lease_expires_at = now() - interval '1 second' WHERE parameters->>'name' = 'live';
SELECT is(zixly_rescue(), 1, 'a live session''s job whose lease ran out is rescued');
SELECT is((pg_temp.j('live')).status, 'QUEUED', '... back to QUEUED');
SELECT is((pg_temp.j('live')).run_at, now(), '... due at once');
SELECT is((pg_temp.j('live')).attempts, 1, '... the lost attempt counted');
SELECT is((pg_temp.j('live')).error_message, 'worker w1 lost the job (lease expired) on attempt 1 of 3', '... and explained');
SELECT ok((SELECT locked_pid IS NULL AND locked_backend_start IS NULL AND lease_expires_at IS NULL FROM pg_temp.j('live')),
	'... the lease cleared');
SELECT is(zixly_rescue(), 0, 'a second rescue finds nothing');
SELECT throws_ok(format($$SELECT zixly_complete(%L, 'w1')$$, (pg_temp.j('live')).id), '55000', NULL,
	'the old owner can no longer complete it');
SELECT is((SELECT attempts FROM zixly_claim('w2')), 2, 'the rescued job is claimable again: attempt 2');

-- ---------------------------------------------------------------- session ended
SELECT pg_temp.job('dead' || g) FROM generate_series(1, 3) g \g /dev/null
SELECT count(*) FROM zixly_claim('w3', 10) \g /dev/null
UPDATE zixly.pipeline_jobs SET locked_pid = 0 WHERE parameters->>'name' = 'dead1';
-- pid reuse: same pid as this (live) session, but the claimer started earlier (as the server's
-- processes did: the oldest start in pg_stat_activity, the checkpointer's or another's)
UPDATE zixly.pipeline_jobs SET locked_backend_start = (SELECT min(backend_start) FROM pg_stat_activity)
 WHERE parameters->>'name' = 'dead2';
SELECT is(zixly_rescue(), 2, 'jobs whose session ended are rescued at once, despite a valid lease');
SELECT is((pg_temp.j('dead1')).status, 'QUEUED', 'a job of a gone pid is QUEUED again');
SELECT is((pg_temp.j('dead2')).status, 'QUEUED', 'a job whose pid now belongs to a newer session is QUEUED again');
SELECT is((pg_temp.j('dead2')).error_message, 'worker w3 lost the job (session ended) on attempt 1 of 3',
	'... explained as a session that ended');
SELECT is((pg_temp.j('dead3')).status, 'RUNNING', 'the job of the live session is untouched');
SELECT ok((SELECT lease_expires_at > now() FROM pg_temp.j('dead3')), '... and its lease too');
SELECT is((SELECT array_agg(parameters->>'name' ORDER BY parameters->>'name') FROM zixly_claim('w5', 10)),
	ARRAY['dead1', 'dead2'], 'exactly the rescued jobs are claimable again');

-- ---------------------------------------------------------------- dead letter
SELECT pg_temp.job('last') \g /dev/null
SELECT count(*) FROM zixly_claim('w4', 10) \g /dev/null
UPDATE zixly.pipeline_jobs SET attempts = 3, locked_pid = 0 WHERE parameters->>'name' = 'last';
SELECT is(zixly_rescue(), 1, 'a lost job on its last attempt is rescued ...');
SELECT is((pg_temp.j('last')).status, 'FAILED', '... into the dead letters (FAILED)');
SELECT is((pg_temp.j('last')).completed_at, now(), '... with completed_at');
SELECT is((pg_temp.j('last')).error_message, 'worker w4 lost the job (session ended) on attempt 3 of 3', '... and the reason');
SELECT pg_temp.job('last2', 1) \g /dev/null
SELECT count(*) FROM zixly_claim('w4', 10) \g /dev/null
UPDATE zixly.pipeline_jobs SET lease_expires_at = now() - interval '1 s' WHERE parameters->>'name' = 'last2';
SELECT is(zixly_rescue(), 1, 'an expired lease with max_attempts 1 ...');
SELECT is((pg_temp.j('last2')).status, 'FAILED', '... is dead-lettered too');
SELECT is((SELECT count(*) FROM zixly_claim('w6', 10)), 0::bigint, 'dead letters are not claimable');

-- ---------------------------------------------------------------- only RUNNING jobs
UPDATE zixly.pipeline_jobs SET status = 'QUEUED', run_at = now() + interval '1 hour', locked_pid = 0,
       lease_expires_at = now() - interval '1 hour' WHERE parameters->>'name' = 'dead3';
SELECT is(zixly_rescue(), 0, 'rescue leaves non-RUNNING rows alone, whatever their owner columns say');
SELECT is((pg_temp.j('dead3')).run_at, now() + interval '1 hour', '... their run_at untouched');

-- ---------------------------------------------------------------- RUNNING, but never claimed
-- a row written RUNNING directly (a role with UPDATE on the table, a hand-made fix) has no lease
-- and no session: nobody will finish it, so rescue takes it back
SELECT pg_temp.job('orphan') \g /dev/null
UPDATE zixly.pipeline_jobs SET status = 'RUNNING', locked_by = 'hand' WHERE parameters->>'name' = 'orphan';
SELECT is(zixly_rescue(), 1, 'a RUNNING row without a lease or a session is rescued');
SELECT is((pg_temp.j('orphan')).status, 'QUEUED', '... back to the queue');

-- ---------------------------------------------------------------- sessions a restart ended
-- A claimer that started before the server's processes did lost its session in a restart (or
-- the reinitialisation after a crash), like every worker: its worker is reconnecting, and will
-- heartbeat the job into its new session.  Only the lease decides for such a job.
SELECT zixly_enqueue('noop', '{"name": "restart"}', queue => 'restart') \g /dev/null
SELECT count(*) FROM zixly_claim('w8', 10, ARRAY['restart']) \g /dev/null
UPDATE zixly.pipeline_jobs SET locked_pid = 0,
       locked_backend_start = (SELECT min(backend_start) FROM pg_stat_activity) - interval '1 second'
 WHERE parameters->>'name' = 'restart';
SELECT is(zixly_rescue(), 0, 'a job whose session ended before the server restarted waits for its lease');
SELECT is((pg_temp.j('restart')).status, 'RUNNING', '... still RUNNING');
SELECT is((SELECT count(*) FROM zixly_heartbeat('w8')), 1::bigint, 'its worker, reconnected, heartbeats it');
SELECT ok((SELECT locked_pid = pg_backend_pid() FROM pg_temp.j('restart')), '... into its new session');
UPDATE zixly.pipeline_jobs SET locked_pid = 0,
       locked_backend_start = (SELECT min(backend_start) FROM pg_stat_activity) - interval '1 second',
       lease_expires_at = now() - interval '1 second'
 WHERE parameters->>'name' = 'restart';
SELECT is(zixly_rescue(), 1, 'once the lease ran out without a heartbeat, it is rescued');
SELECT is((pg_temp.j('restart')).error_message, 'worker w8 lost the job (lease expired) on attempt 1 of 3',
	'... as a lease that expired');

-- ---------------------------------------------------------------- zixly_rescue_jobs
SELECT is((SELECT count(*) FROM zixly_rescue_jobs()), 0::bigint, 'zixly_rescue_jobs: nothing to rescue, no rows');
SELECT pg_temp.job('again') \g /dev/null
SELECT pg_temp.job('gone', 1) \g /dev/null
SELECT count(*) FROM zixly_claim('w7', 10) \g /dev/null
UPDATE zixly.pipeline_jobs SET locked_pid = 0 WHERE locked_by = 'w7';
CREATE TEMP TABLE rescued AS SELECT * FROM zixly_rescue_jobs();
SELECT is((SELECT array_agg(parameters->>'name' || ' ' || status ORDER BY parameters->>'name') FROM rescued),
	ARRAY['again QUEUED', 'gone FAILED', 'orphan QUEUED', 'restart QUEUED'], 'it returns the rescued jobs with their new status: requeued, dead-lettered');
SELECT is((SELECT error_message FROM rescued WHERE parameters->>'name' = 'gone'),
	'worker w7 lost the job (session ended) on attempt 1 of 1', '... the reason, and the parameters (for a webhook_url)');
SELECT is((SELECT status FROM zixly.pipeline_jobs WHERE id = (SELECT id FROM rescued WHERE status = 'FAILED')), 'FAILED',
	'... as they are now in the table');
SELECT is(zixly_rescue(), 0, 'they are rescued once');

SELECT * FROM finish();
ROLLBACK;
