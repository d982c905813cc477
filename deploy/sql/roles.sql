-- Login roles for a zixly deployment (run as a superuser in the database that has the zixly
-- extension; safe to run again, e.g. after ALTER EXTENSION zixly UPDATE):
--
--   zixly_web      the web app: member of zixly_app, so row-level security limits it to the
--                  tenant of each transaction
--   zixly_runner   workers: member of zixly_worker (claims, completes, reads every tenant)
--   zixly_monitor  Grafana's PostgreSQL datasource and KEDA's queue-depth query: reads what the
--                  dashboards need across tenants (zixly.monitor_jobs, results' summary columns),
--                  calls zixly_queue_stats(), reads pg_stat_activity (pg_monitor); cannot
--                  change anything
--
--   psql -d zixly -v web_password=... -v runner_password=... -v monitor_password=... \
--        -f deploy/sql/roles.sql
-- A password variable left out leaves that role's password as it is (none for a new role:
-- fine with peer or trust authentication on a private socket, not over a network).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

SELECT format('CREATE ROLE %I LOGIN', r)
  FROM unnest(ARRAY['zixly_web', 'zixly_runner', 'zixly_monitor']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec

\if :{?web_password}
ALTER ROLE zixly_web PASSWORD :'web_password';
\endif
\if :{?runner_password}
ALTER ROLE zixly_runner PASSWORD :'runner_password';
\endif
\if :{?monitor_password}
ALTER ROLE zixly_monitor PASSWORD :'monitor_password';
\endif

GRANT zixly_app TO zixly_web;
GRANT zixly_worker TO zixly_runner;

-- zixly_monitor sees every tenant's rows, not through BYPASSRLS (that attribute would hold in
-- every database of the cluster, for every table), and only what the dashboards need: results,
-- error messages, lease details and the jobs' parameters stay out.
--   - jobs through the view zixly.monitor_jobs, which runs with its owner's (this script's
--     superuser's) rights and shows of the parameters only the ticker: they also hold tenants'
--     webhook_urls, which may carry tokens;
--   - sweep results through a read-only policy of its own (row-level security is forced).
ALTER ROLE zixly_monitor NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE;
ALTER ROLE zixly_monitor SET default_transaction_read_only = on;
ALTER ROLE zixly_monitor SET statement_timeout = '10s';
GRANT pg_monitor TO zixly_monitor;
GRANT USAGE ON SCHEMA zixly TO zixly_monitor;
CREATE OR REPLACE VIEW zixly.monitor_jobs AS
SELECT id, tenant_id, job_type, status, queue, parameters->>'ticker' AS ticker, attempts,
       created_at, started_at, completed_at
  FROM zixly.pipeline_jobs;
REVOKE ALL ON zixly.pipeline_jobs FROM zixly_monitor;	-- and the column grants of earlier versions
DROP POLICY IF EXISTS monitor_read ON zixly.pipeline_jobs;
GRANT SELECT ON zixly.monitor_jobs TO zixly_monitor;
DROP POLICY IF EXISTS monitor_read ON zixly.trading_sweep_results;
CREATE POLICY monitor_read ON zixly.trading_sweep_results FOR SELECT TO zixly_monitor USING (true);
GRANT SELECT (job_id, tenant_id, ticker, strategy_type, fast_period, slow_period, score, created_at)
   ON zixly.trading_sweep_results TO zixly_monitor;
GRANT EXECUTE ON FUNCTION zixly_queue_stats() TO zixly_monitor;
