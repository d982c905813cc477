-- zixly 0.1.0 -> 0.1.1: zixly_complete and zixly_fail take an optional attempt, a fencing token;
-- pg_dump keeps the tables' rows (see the end).
-- A worker passes the attempt of its claim, so a stale attempt of a job that the same worker
-- claimed again (its lease ran out) cannot end the job with the older attempt's outcome.
-- Calls without the attempt behave as before; a fresh CREATE EXTENSION runs 0.1.0 then this.
\echo Use "ALTER EXTENSION zixly UPDATE TO '0.1.1'" to load this file. \quit

-- A new argument is a new signature: CREATE OR REPLACE would add an overload beside the old one
-- (and make calls without the attempt ambiguous), so the old functions go first.
DROP FUNCTION zixly_complete(text, text, jsonb, jsonb);
CREATE FUNCTION zixly_complete(
	job_id    text,
	worker_id text,
	result    jsonb DEFAULT NULL,
	metrics   jsonb DEFAULT NULL,
	attempt   integer DEFAULT NULL)
	RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_complete' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_complete(text, text, jsonb, jsonb, integer) IS
	'Completes a job the worker holds (on that attempt, when given: a fencing token) with its result and metrics';

DROP FUNCTION zixly_fail(text, text, text, boolean);
CREATE FUNCTION zixly_fail(
	job_id    text,
	worker_id text,
	error     text,
	retryable boolean DEFAULT true,
	attempt   integer DEFAULT NULL)
	RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_fail' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_fail(text, text, text, boolean, integer) IS
	'Records a failed attempt (of that attempt, when given: a fencing token): back to QUEUED after 2^attempts s while attempts remain, else FAILED';

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
