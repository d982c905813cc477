-- zixly 0.1.1 -> 0.1.2; a fresh CREATE EXTENSION runs 0.1.0, 0.1.1, then this.
--   - The app's role writes jobs only through the SQL API.
\echo Use "ALTER EXTENSION zixly UPDATE TO '0.1.2'" to load this file. \quit

-- With INSERT and UPDATE on the jobs, a zixly_app member could skip zixly_enqueue's checks and
-- write any parameters, or mark its tenant's jobs COMPLETED with a forged result.  The SQL API
-- now makes the app's writes for it: zixly_enqueue, zixly_enqueue_batch, zixly_cancel and
-- zixly_retry write as the table's owner for a zixly_app member without these grants, after
-- checking the tenant as the policy did (src/app_write.c).  The policy still limits what it reads.
REVOKE INSERT, UPDATE ON zixly.pipeline_jobs FROM zixly_app;
