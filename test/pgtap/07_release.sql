-- zixly_release: a RUNNING job back to the queue at once, the attempt not counted.
-- Legal transitions change the row as documented; illegal ones raise 55000 (wrong owner or
-- status) or P0002 (unknown job) and change nothing.
BEGIN;
SELECT plan(8);

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

SELECT pg_temp.job('c1') \g /dev/null
SELECT pg_temp.claim('c1', 'w1') \g /dev/null
SELECT zixly_complete(pg_temp.id('c1'), 'w1') \g /dev/null

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

SELECT * FROM finish();
ROLLBACK;
