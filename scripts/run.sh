#!/usr/bin/env bash
# make run: the whole pipeline on this machine, nothing to configure.
#   - a private PostgreSQL cluster under .run/ (kept between runs) with the zixly extension
#     and the sample prices of data/eustockmarkets.csv;
#   - two workers (bin/zixly-worker) and the web app (bin/zixly-app) when they are built;
#   - a demo sweep (DAX, SMA, fast 5-50, slow 20-200, step 5) whose ranked results are printed;
# then waits for Ctrl-C and stops everything it started.
# Settings: ZIXLY_PG_PORT (default 55433), ZIXLY_HTTP_PORT (default 3000).
set -u
cd "$(dirname "$0")/.."
. test/lib/harness.sh
export ZX_CLUSTER_DIR=$ZX_ROOT/.run/postgres ZX_PG_PORT=${ZIXLY_PG_PORT:-55433}
HTTP_PORT=${ZIXLY_HTTP_PORT:-3000}
LOGS=$ZX_ROOT/.run/logs
mkdir -p "$LOGS"

say() { printf 'zixly: %s\n' "$*"; }

zx_cluster_start
if ! psql -XAtq -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'zixly'" | grep -q 1; then
	zx_db_create zixly
else
	export PGDATABASE=zixly
	psql -qX -c "CREATE EXTENSION IF NOT EXISTS zixly" -c "ALTER EXTENSION zixly UPDATE" >/dev/null ||
		bail "cannot create or update the zixly extension"
fi
export PGDATABASE=zixly
zx_load_prices
# Login roles for the parts: the app is a zixly_app member (row-level security applies), the
# workers are zixly_worker members. Trust authentication on loopback only.
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bail "cannot create roles"
DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zixly_web') THEN CREATE ROLE zixly_web LOGIN IN ROLE zixly_app; END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zixly_runner') THEN CREATE ROLE zixly_runner LOGIN IN ROLE zixly_worker; END IF;
END $$;
SQL
say "PostgreSQL with zixly: psql \"host=127.0.0.1 port=$PGPORT user=postgres dbname=zixly\""
say "logs in .run/logs/"

WORKER_URL="host=127.0.0.1 port=$PGPORT user=zixly_runner dbname=zixly"
if [ -x bin/zixly-worker ]; then
	for i in 1 2; do
		port=$((3000 + i + (HTTP_PORT == 3000 ? 0 : 100)))
		DATABASE_URL=$WORKER_URL ZIXLY_WORKER_ID="run-worker-$i" ZIXLY_METRICS_PORT=$port \
			zx_spawn "$LOGS/worker-$i.log" bin/zixly-worker
		say "worker $i: pid $ZX_LAST_PID, metrics http://127.0.0.1:$port/metrics"
	done
else
	say "bin/zixly-worker is not built: no workers"
fi

if [ -x bin/zixly-app ]; then
	key=$(zx_sql "SELECT zixly_create_api_key('demo', 'make run')")
	zx_sql "SELECT 1 FROM zixly.users WHERE email = 'demo@zixly.local'" | grep -q 1 ||
		zx_sql "SELECT zixly_create_user('demo', 'demo@zixly.local', 'demo-password')" >/dev/null
	DATABASE_URL="host=127.0.0.1 port=$PGPORT user=zixly_web dbname=zixly" ZIXLY_HTTP_PORT=$HTTP_PORT \
		ZIXLY_DEV=1 zx_spawn "$LOGS/app.log" bin/zixly-app
	if zx_wait_for "the app" 20 curl -fsS "http://127.0.0.1:$HTTP_PORT/health"; then
		say "dashboard: http://127.0.0.1:$HTTP_PORT/dashboard  (login demo@zixly.local / demo-password)"
		say "API key for tenant demo: $key"
		say "  curl -H 'X-API-Key: $key' -H 'Content-Type: application/json' \\"
		say "    -d '{\"ticker\":\"DAX\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\"}' \\"
		say "    http://127.0.0.1:$HTTP_PORT/webhook/trading-sweep"
	else
		say "the app did not become healthy; see .run/logs/app.log"
	fi
fi

job=$(zx_sql "SELECT id FROM zixly_enqueue('trading-sweep',
	'{\"ticker\":\"DAX\",\"strategy_type\":\"SMA\",\"fast_range\":[5,50],\"slow_range\":[20,200],\"step\":5}',
	tenant_id => 'demo')")
say "demo sweep queued: job $job (DAX, SMA, fast 5-50, slow 20-200, step 5)"
if [ -x bin/zixly-worker ]; then
	if zx_wait_for "the demo sweep" 120 sh -c \
		"psql -XAtq -c \"SELECT status FROM zixly.pipeline_jobs WHERE id = '$job'\" | grep -Eq 'COMPLETED|FAILED'"; then
		psql -X -c "SELECT status, error_message, result->>'combinations' AS combinations, result->>'bars' AS bars
		              FROM zixly.pipeline_jobs WHERE id = '$job'" \
		        -c "SELECT rank, fast_period AS fast, slow_period AS slow, round(sharpe_ratio::numeric, 3) AS sharpe,
		                   round(total_return_pct::numeric, 2) AS return_pct, round(max_drawdown_pct::numeric, 2) AS max_dd_pct,
		                   total_trades AS trades
		              FROM zixly.trading_sweep_results WHERE job_id = '$job' ORDER BY rank"
	fi
fi

say "running; Ctrl-C stops everything started here"
# the sleep runs in the background so that a signal ends the wait at once; the shell does not
# pass SIGINT to it, so it is ended with the rest
zx_on_exit 'kill "$idle_pid" 2>/dev/null'
while :; do sleep 3600 & idle_pid=$!; wait "$idle_pid"; done
