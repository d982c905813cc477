-- zixly 0.1.0 -> 0.1.1; a fresh CREATE EXTENSION runs 0.1.0, then this.
--   - zixly_complete and zixly_fail take an attempt, a fencing token: a worker passes its claim's,
--     so a stale attempt of a job the same worker claimed again (its lease ran out) cannot end
--     the job with the older attempt's outcome.  Calls without it behave as before.
--   - The prices CHECK no longer binds to operators outside pg_catalog.
--   - Workers lose privileges they never needed; zixly_wait is for workers only.
--   - pg_dump keeps the tables' rows.
\echo Use "ALTER EXTENSION zixly UPDATE TO '0.1.1'" to load this file. \quit

-- The attempt comes as a fifth argument of new 5-argument forms, beside 0.1.0's functions rather
-- than in place of them: a DROP would fail on a DBA's objects that depend on the old ones and
-- would reset their privileges (a REVOKE FROM PUBLIC) to the default.  The attempt has no
-- default, so calls with 2 to 4 arguments still reach 0.1.0's forms unambiguously.
CREATE FUNCTION zixly_complete(
	job_id    text,
	worker_id text,
	result    jsonb,
	metrics   jsonb,
	attempt   integer)
	RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_complete' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_complete(text, text, jsonb, jsonb, integer) IS
	'Completes a job the worker holds on that attempt (a fencing token; NULL: any) with its result and metrics';

CREATE FUNCTION zixly_fail(
	job_id    text,
	worker_id text,
	error     text,
	retryable boolean,
	attempt   integer)
	RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_fail' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_fail(text, text, text, boolean, integer) IS
	'Records a failed attempt (that attempt: a fencing token; NULL: any): back to QUEUED after 2^attempts s while attempts remain, else FAILED';

-- Only the extension's own expressions are trusted: 0.1.0's CHECK on prices compared close > 0,
-- a float8 > integer that pg_catalog has no exact operator for, so CREATE EXTENSION bound it to
-- whatever such operator the schema first in search_path held; a database owner's
-- public.>(float8, integer) then ran as every role inserting prices (a superuser, when loading
-- them).  The operators are spelled out now.
ALTER TABLE zixly.prices DROP CONSTRAINT prices_close_check;
ALTER TABLE zixly.prices ADD CONSTRAINT prices_close_check
	CHECK (close OPERATOR(pg_catalog.>) 0::pg_catalog.float8
	       AND close OPERATOR(pg_catalog.<) 'Infinity'::pg_catalog.float8);

-- Least privilege: workers never delete jobs, authenticate users or keys, or spend rate limits
-- (0.1.0 granted them all three), and only workers (and superusers) wait for wake-ups: any role
-- could take the waiter slots shared by the whole cluster.
REVOKE DELETE ON zixly.pipeline_jobs FROM zixly_worker;
REVOKE EXECUTE ON FUNCTION zixly_authenticate_api_key(text), zixly_authenticate_user(text, text),
	zixly_rate_limit(text, integer, integer) FROM zixly_worker;
REVOKE EXECUTE ON FUNCTION zixly_wait(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zixly_wait(bigint, integer) TO zixly_worker;

-- pg_dump leaves an extension's tables out (CREATE EXTENSION makes them) and, unless they are
-- marked here, their rows too: a dump of a 0.1.0 database held no job, result, price, tenant,
-- key or user, and its restore came back empty.  These tables hold the users' data; the rate
-- limit counters (a minute's worth, unlogged) are left out on purpose.
SELECT pg_catalog.pg_extension_config_dump('zixly.pipeline_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('zixly.trading_sweep_results', '');
SELECT pg_catalog.pg_extension_config_dump('zixly.prices', '');
SELECT pg_catalog.pg_extension_config_dump('zixly.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('zixly.api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('zixly.users', '');
