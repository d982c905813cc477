-- zixly 0.1.1 -> 0.1.2; a fresh CREATE EXTENSION runs 0.1.0, 0.1.1, then this.
--   - The app's role writes jobs only through the SQL API.
--   - zixly_rescue_jobs: zixly_rescue returning the rescued jobs, so that a worker can send the
--     job.failed callback of a job it dead-letters.
\echo Use "ALTER EXTENSION zixly UPDATE TO '0.1.2'" to load this file. \quit

-- With INSERT and UPDATE on the jobs, a zixly_app member could skip zixly_enqueue's checks and
-- write any parameters, or mark its tenant's jobs COMPLETED with a forged result.  The SQL API
-- now makes the app's writes for it: zixly_enqueue, zixly_enqueue_batch, zixly_cancel and
-- zixly_retry write as the table's owner for a zixly_app member without these grants, after
-- checking the tenant as the policy did (src/app_write.c).  The policy still limits what it reads.
REVOKE INSERT, UPDATE ON zixly.pipeline_jobs FROM zixly_app;

-- zixly_rescue returns a count; a job it dead-letters (its worker died during the last attempt)
-- had no job.failed callback, for no worker held it any more.  This form returns the rescued
-- jobs as they are now, and the worker that rescued them sends the callbacks.
CREATE FUNCTION zixly_rescue_jobs() RETURNS SETOF zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_rescue_jobs' LANGUAGE C VOLATILE ROWS 10
	SET enable_seqscan = off SET enable_sort = off SET jit = off;
COMMENT ON FUNCTION zixly_rescue_jobs() IS
	'zixly_rescue, returning the jobs it put back (QUEUED) or dead-lettered (FAILED)';
