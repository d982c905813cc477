\echo Use "CREATE EXTENSION zixly" to load this file. \quit

-- zixly 0.1.0: the job queue, sweep results, prices, tenants, API keys and users.
--
-- Tables live in schema zixly; the SQL API lives in the extension's schema (the first schema of
-- search_path at CREATE EXTENSION time, normally public), so `SELECT zixly_enqueue(...)` works with
-- the default search_path. Every status transition goes through these functions.

CREATE SCHEMA zixly;
COMMENT ON SCHEMA zixly IS 'zixly job queue: jobs, sweep results, prices, tenants';

-- Roles are cluster-wide: create them once, keep them when the extension is dropped.
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'zixly_app') THEN
		CREATE ROLE zixly_app NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'zixly_worker') THEN
		CREATE ROLE zixly_worker NOLOGIN;
	END IF;
END
$roles$;

GRANT USAGE ON SCHEMA zixly TO zixly_app, zixly_worker;

-- ------------------------------------------------------------------ jobs
CREATE TABLE zixly.pipeline_jobs (
	id                   text PRIMARY KEY,
	tenant_id            text NOT NULL,
	job_type             text NOT NULL,
	queue                text NOT NULL DEFAULT 'default',
	status               text NOT NULL DEFAULT 'QUEUED'
	                     CHECK (status IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
	priority             integer NOT NULL DEFAULT 0,
	run_at               timestamptz NOT NULL DEFAULT now(),
	attempts             integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	max_attempts         integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
	parameters           jsonb NOT NULL DEFAULT '{}',
	result               jsonb,
	metrics              jsonb,
	error_message        text,
	idempotency_key      text,
	locked_by            text,                -- worker id of the owner while RUNNING
	locked_pid           integer,             -- the owner's backend pid ...
	locked_backend_start timestamptz,         -- ... and its start time (pids are reused)
	lease_expires_at     timestamptz,
	created_at           timestamptz NOT NULL DEFAULT now(),
	started_at           timestamptz,
	completed_at         timestamptz,
	updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE zixly.pipeline_jobs IS
	'Jobs. QUEUED -> RUNNING -> COMPLETED | FAILED, and CANCELLED; change them only through the zixly_* functions';

CREATE INDEX pipeline_jobs_tenant_id_status_idx ON zixly.pipeline_jobs (tenant_id, status);
CREATE INDEX pipeline_jobs_created_at_idx ON zixly.pipeline_jobs (created_at);
-- A claim is a probe of this index: only QUEUED rows, in claim order.
CREATE INDEX pipeline_jobs_claim_idx ON zixly.pipeline_jobs (priority DESC, run_at, id)
	WHERE status = 'QUEUED';
-- zixly_rescue and heartbeats look only at RUNNING rows.
CREATE INDEX pipeline_jobs_running_idx ON zixly.pipeline_jobs (locked_by)
	WHERE status = 'RUNNING';
-- Dead letters, newest first, and their count for metrics.
CREATE INDEX pipeline_jobs_failed_idx ON zixly.pipeline_jobs (completed_at)
	WHERE status = 'FAILED';
CREATE UNIQUE INDEX pipeline_jobs_idempotency_idx ON zixly.pipeline_jobs (tenant_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;

-- ------------------------------------------------------------------ results
CREATE TABLE zixly.trading_sweep_results (
	id               text PRIMARY KEY,
	job_id           text NOT NULL REFERENCES zixly.pipeline_jobs (id) ON DELETE CASCADE,
	tenant_id        text NOT NULL,
	sweep_run_id     text NOT NULL,
	ticker           text NOT NULL,
	strategy_type    text NOT NULL,
	fast_period      integer NOT NULL,
	slow_period      integer NOT NULL,
	signal_period    integer,
	rank             integer NOT NULL,
	score            double precision,
	sharpe_ratio     double precision NOT NULL,
	total_return_pct double precision NOT NULL,
	max_drawdown_pct double precision NOT NULL,
	total_trades     integer NOT NULL,
	sortino_ratio    double precision,
	win_rate_pct     double precision,
	profit_factor    double precision,
	exposure_pct     double precision,
	created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trading_sweep_results_job_id_idx ON zixly.trading_sweep_results (job_id);
CREATE INDEX trading_sweep_results_sweep_run_id_idx ON zixly.trading_sweep_results (sweep_run_id);
CREATE INDEX trading_sweep_results_ticker_score_idx ON zixly.trading_sweep_results (ticker, score);

-- ------------------------------------------------------------------ prices
CREATE TABLE zixly.prices (
	ticker text NOT NULL CHECK (length(ticker) BETWEEN 1 AND 20),
	ts     timestamptz NOT NULL,
	open   double precision,
	high   double precision,
	low    double precision,
	close  double precision NOT NULL CHECK (close > 0 AND close < 'Infinity'),
	volume double precision,
	PRIMARY KEY (ticker, ts)
);

-- ------------------------------------------------------------------ tenants, keys, users
CREATE TABLE zixly.tenants (
	id         text PRIMARY KEY,
	name       text,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- API keys look like zx_<key id>_<secret>; only a SHA-256 of the whole key is stored.
CREATE TABLE zixly.api_keys (
	id           text PRIMARY KEY,
	tenant_id    text NOT NULL REFERENCES zixly.tenants (id) ON DELETE CASCADE,
	name         text NOT NULL,
	key_hash     bytea NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	revoked_at   timestamptz
);

CREATE TABLE zixly.users (
	id            text PRIMARY KEY,
	tenant_id     text NOT NULL REFERENCES zixly.tenants (id) ON DELETE CASCADE,
	email         text NOT NULL,
	password_hash text NOT NULL,             -- bcrypt ($2b$), via libxcrypt
	created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON zixly.users (lower(email));

-- Fixed-window request counters shared by every app process and instance. Unlogged: a
-- transaction that only touches it commits without waiting for a WAL flush, and losing the
-- counters in a crash only forgives a minute of requests.
CREATE UNLOGGED TABLE zixly.rate_limits (
	bucket       text PRIMARY KEY,
	window_start timestamptz NOT NULL,
	hits         integer NOT NULL
);

-- ------------------------------------------------------------------ privileges and RLS
GRANT SELECT, INSERT, UPDATE ON zixly.pipeline_jobs TO zixly_app;
GRANT SELECT ON zixly.trading_sweep_results, zixly.prices TO zixly_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON zixly.pipeline_jobs, zixly.trading_sweep_results TO zixly_worker;
GRANT SELECT ON zixly.prices TO zixly_worker;

ALTER TABLE zixly.pipeline_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE zixly.pipeline_jobs FORCE ROW LEVEL SECURITY;
ALTER TABLE zixly.trading_sweep_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE zixly.trading_sweep_results FORCE ROW LEVEL SECURITY;

-- The app acts for one tenant at a time: SELECT set_config('zixly.tenant_id', $1, true).
CREATE POLICY tenant_isolation ON zixly.pipeline_jobs TO zixly_app
	USING (tenant_id OPERATOR(pg_catalog.=) pg_catalog.current_setting('zixly.tenant_id', true))
	WITH CHECK (tenant_id OPERATOR(pg_catalog.=) pg_catalog.current_setting('zixly.tenant_id', true));
CREATE POLICY tenant_isolation ON zixly.trading_sweep_results TO zixly_app
	USING (tenant_id OPERATOR(pg_catalog.=) pg_catalog.current_setting('zixly.tenant_id', true));
CREATE POLICY worker_all ON zixly.pipeline_jobs TO zixly_worker USING (true) WITH CHECK (true);
CREATE POLICY worker_all ON zixly.trading_sweep_results TO zixly_worker USING (true) WITH CHECK (true);

-- ------------------------------------------------------------------ SQL API: producers
CREATE FUNCTION zixly_new_id() RETURNS text
	AS 'MODULE_PATHNAME', 'zixly_new_id' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION zixly_new_id() IS 'A new 25-character cuid-style id';

CREATE FUNCTION zixly_validate(job_type text, parameters jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'zixly_validate' LANGUAGE C STABLE;
COMMENT ON FUNCTION zixly_validate(text, jsonb) IS
	'Checks job parameters as zixly_enqueue does (SQLSTATE 22023 naming the field); returns {"valid":true,"combinations":n}';

CREATE FUNCTION zixly_enqueue(
	job_type        text,
	parameters      jsonb DEFAULT '{}',
	tenant_id       text DEFAULT NULL,
	queue           text DEFAULT 'default',
	priority        integer DEFAULT 0,
	run_at          timestamptz DEFAULT NULL,
	max_attempts    integer DEFAULT 3,
	idempotency_key text DEFAULT NULL)
	RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_enqueue' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_enqueue(text, jsonb, text, text, integer, timestamptz, integer, text) IS
	'Queues one job and returns it; the same idempotency key again returns the first job';

CREATE FUNCTION zixly_enqueue_batch(
	job_type     text,
	parameters   jsonb,
	tenant_id    text DEFAULT NULL,
	queue        text DEFAULT 'default',
	priority     integer DEFAULT 0,
	run_at       timestamptz DEFAULT NULL,
	max_attempts integer DEFAULT 3)
	RETURNS SETOF zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_enqueue_batch' LANGUAGE C VOLATILE ROWS 1000;
COMMENT ON FUNCTION zixly_enqueue_batch(text, jsonb, text, text, integer, timestamptz, integer) IS
	'Queues one job per element of a JSON array of parameter objects, in one statement';

-- ------------------------------------------------------------------ SQL API: workers
CREATE FUNCTION zixly_claim(
	worker_id text,
	max_jobs  integer DEFAULT 1,
	queues    text[] DEFAULT NULL,
	lease     interval DEFAULT '5 minutes')
	RETURNS SETOF zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_claim' LANGUAGE C VOLATILE ROWS 10
	SET enable_seqscan = off SET enable_sort = off SET jit = off;
COMMENT ON FUNCTION zixly_claim(text, integer, text[], interval) IS
	'Claims up to max_jobs due jobs (highest priority, then oldest run_at), skipping locked rows';

CREATE FUNCTION zixly_heartbeat(
	worker_id text,
	job_ids   text[] DEFAULT NULL,
	lease     interval DEFAULT '5 minutes')
	RETURNS SETOF text
	AS 'MODULE_PATHNAME', 'zixly_heartbeat' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_heartbeat(text, text[], interval) IS
	'Extends the lease of the worker''s RUNNING jobs (all, or those listed); returns the ids still held';

CREATE FUNCTION zixly_complete(
	job_id    text,
	worker_id text,
	result    jsonb DEFAULT NULL,
	metrics   jsonb DEFAULT NULL)
	RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_complete' LANGUAGE C VOLATILE;

CREATE FUNCTION zixly_complete_batch(worker_id text, job_ids text[])
	RETURNS SETOF text
	AS 'MODULE_PATHNAME', 'zixly_complete_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_complete_batch(text, text[]) IS
	'Completes the listed jobs this worker holds (without results); returns the ids it completed';

CREATE FUNCTION zixly_fail(
	job_id    text,
	worker_id text,
	error     text,
	retryable boolean DEFAULT true)
	RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_fail' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_fail(text, text, text, boolean) IS
	'Records a failed attempt: back to QUEUED after 2^attempts s while attempts remain, else FAILED';

CREATE FUNCTION zixly_release(job_id text, worker_id text)
	RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_release' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_release(text, text) IS
	'Gives a RUNNING job back to the queue without counting the attempt (worker shutdown)';

CREATE FUNCTION zixly.session_alive(pid integer, backend_start timestamptz) RETURNS boolean
	AS 'MODULE_PATHNAME', 'zixly_session_alive' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION zixly.session_alive(integer, timestamptz) IS
	'Whether the backend with this pid and start time is still running';

-- Plans of the claim and rescue statements are kept for the whole session; with sequential scans
-- and sorts off they are made to probe the partial indexes even if the table was empty when planned.
-- JIT is off with them: a node those settings disable still costs over 10^10, far above
-- jit_above_cost, and a plan keeping one would be compiled on every call (about 100 ms).
CREATE FUNCTION zixly_rescue() RETURNS integer
	AS 'MODULE_PATHNAME', 'zixly_rescue' LANGUAGE C VOLATILE
	SET enable_seqscan = off SET enable_sort = off SET jit = off;
COMMENT ON FUNCTION zixly_rescue() IS
	'Puts back RUNNING jobs whose owner''s session ended or whose lease ran out; returns how many';

-- ------------------------------------------------------------------ SQL API: operators
CREATE FUNCTION zixly_cancel(job_id text) RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_cancel' LANGUAGE C VOLATILE;
CREATE FUNCTION zixly_retry(job_id text, run_at timestamptz DEFAULT NULL) RETURNS zixly.pipeline_jobs
	AS 'MODULE_PATHNAME', 'zixly_retry' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_retry(text, timestamptz) IS
	'Re-queues a FAILED or CANCELLED job with its attempts reset';

CREATE FUNCTION zixly_prune(older_than interval DEFAULT '7 days', include_failed boolean DEFAULT false)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'zixly_prune' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION zixly_prune(interval, boolean) IS
	'Deletes COMPLETED and CANCELLED (and optionally FAILED) jobs finished before now() - older_than';

-- Queue depth for metrics: QUEUED, RUNNING and FAILED (the dead letters) per queue. Counts only,
-- never rows, so the app may call it across tenants. Each branch reads only its status's partial
-- index, so the cost follows the active and dead-lettered jobs, not the finished millions.
CREATE FUNCTION zixly_queue_stats()
	RETURNS TABLE (queue text, status text, jobs bigint)
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	SET enable_seqscan = off
	AS $$
	SELECT j.queue, 'QUEUED', count(*) FROM zixly.pipeline_jobs j WHERE j.status = 'QUEUED' GROUP BY j.queue
	UNION ALL
	SELECT j.queue, 'RUNNING', count(*) FROM zixly.pipeline_jobs j WHERE j.status = 'RUNNING' GROUP BY j.queue
	UNION ALL
	SELECT j.queue, 'FAILED', count(*) FROM zixly.pipeline_jobs j WHERE j.status = 'FAILED' GROUP BY j.queue
	$$;

-- Blocks until a commit makes jobs due or queues jobs due later (a waiting worker then re-reads
-- zixly_next_run_at), or timeout_ms passes, and returns the wake-up
-- generation; with since NULL it returns the current one at once. Workers wait here instead of
-- LISTENing, so producers may run with zixly.notify off (see README, "Waking workers").
CREATE FUNCTION zixly_wait(since bigint DEFAULT NULL, timeout_ms integer DEFAULT 1000) RETURNS bigint
	AS 'MODULE_PATHNAME', 'zixly_wait' LANGUAGE C VOLATILE;

-- When the next delayed job becomes due (for a worker's wake-up timer), or NULL.
CREATE FUNCTION zixly_next_run_at(queues text[] DEFAULT NULL) RETURNS timestamptz
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT min(j.run_at) FROM zixly.pipeline_jobs j
	 WHERE j.status = 'QUEUED' AND (queues IS NULL OR j.queue = ANY (queues))
	$$;

-- ------------------------------------------------------------------ SQL API: auth (for the app)
CREATE FUNCTION zixly_create_api_key(tenant_id text, name text) RETURNS text
	AS 'MODULE_PATHNAME', 'zixly_create_api_key' LANGUAGE C VOLATILE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION zixly_create_api_key(text, text) IS
	'Creates an API key for a tenant (creating the tenant if needed) and returns it; only its hash is kept';
CREATE FUNCTION zixly_revoke_api_key(api_key_or_id text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'zixly_revoke_api_key' LANGUAGE C VOLATILE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION zixly_authenticate_api_key(api_key text)
	RETURNS TABLE (tenant_id text, key_id text)
	AS 'MODULE_PATHNAME', 'zixly_authenticate_api_key' LANGUAGE C STABLE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION zixly_create_user(tenant_id text, email text, password text) RETURNS text
	AS 'MODULE_PATHNAME', 'zixly_create_user' LANGUAGE C VOLATILE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION zixly_authenticate_user(email text, password text)
	RETURNS TABLE (user_id text, tenant_id text, email text)
	AS 'MODULE_PATHNAME', 'zixly_authenticate_user' LANGUAGE C STABLE
	SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- One hit in a fixed window; allowed is false once hits exceed max_hits in the window.  The
-- count stops at max_hits + 1, so a flood cannot overflow it.
CREATE FUNCTION zixly_rate_limit(bucket text, max_hits integer, window_seconds integer)
	RETURNS TABLE (allowed boolean, remaining integer, reset_seconds integer)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF zixly_rate_limit.bucket IS NULL OR length(zixly_rate_limit.bucket) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'bucket must be 1 to 200 characters' USING ERRCODE = '22023';
	END IF;
	IF max_hits IS NULL OR max_hits NOT BETWEEN 1 AND 1000000000 THEN
		RAISE EXCEPTION 'max_hits must be from 1 to 1000000000' USING ERRCODE = '22023';
	END IF;
	IF window_seconds IS NULL OR window_seconds NOT BETWEEN 1 AND 86400 THEN
		RAISE EXCEPTION 'window_seconds must be from 1 to 86400' USING ERRCODE = '22023';
	END IF;
	RETURN QUERY
	INSERT INTO zixly.rate_limits AS r (bucket, window_start, hits)
	VALUES (zixly_rate_limit.bucket,
	        date_bin(make_interval(secs => window_seconds), now(), 'epoch'), 1)
	ON CONFLICT ON CONSTRAINT rate_limits_pkey DO UPDATE
	   SET hits = CASE WHEN r.window_start = EXCLUDED.window_start
	                   THEN least(r.hits, max_hits) + 1 ELSE 1 END,
	       window_start = EXCLUDED.window_start
	RETURNING r.hits <= max_hits,
	          greatest(max_hits - r.hits, 0),
	          greatest(1, ceil(extract(epoch FROM r.window_start
	                          + make_interval(secs => window_seconds) - now())))::integer;
END
$$;

REVOKE ALL ON FUNCTION zixly_create_api_key(text, text), zixly_revoke_api_key(text),
	zixly_create_user(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION zixly_authenticate_api_key(text), zixly_authenticate_user(text, text),
	zixly_rate_limit(text, integer, integer), zixly_queue_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zixly_authenticate_api_key(text), zixly_authenticate_user(text, text),
	zixly_rate_limit(text, integer, integer), zixly_queue_stats() TO zixly_app, zixly_worker;
