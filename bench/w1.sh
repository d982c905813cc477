#!/usr/bin/env bash
# W1 ingress benchmark (bench/peers/WORKLOAD.md section 4) against the zixly
# Kore app: the same wrk script, parameters, sanity checks and RESULT lines
# as the Express peers, on a throwaway PostgreSQL cluster with WORKLOAD.md's
# settings (test/lib/harness.sh: fsync and synchronous_commit on,
# max_connections 200). The app connects over TCP to 127.0.0.1 as a
# zixly_app member (row-level security on), with the rate limit raised.
#
#   bench/w1.sh                  system=zixly (1 Kore worker)
#   W1_WORKERS="1 2" bench/w1.sh also system=zixly-2proc (2 Kore workers)
#
# Environment: W1_SECONDS (10), W1_WARMUP_SECONDS (2), ZIXLY_PEERS_DIR (the
# bench/peers directory holding apps/trading-sweep.lua), ZIXLY_APP (the
# launcher, default bin/zixly-app), ZIXLY_DB_POOL (16), W1_LOG_DIR (the app's
# log, default build/bench).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/test/lib/harness.sh"
trap - INT TERM
trap 'exit 130' INT TERM

W1_SECONDS=${W1_SECONDS:-10}
W1_WARMUP_SECONDS=${W1_WARMUP_SECONDS:-2}
W1_WORKERS=${W1_WORKERS:-1}
APP=${ZIXLY_APP:-$ROOT/bin/zixly-app}
LOGDIR=${W1_LOG_DIR:-$ROOT/build/bench}
mkdir -p "$LOGDIR"
PAYLOAD='{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'

fail() { echo "w1: $*" >&2; exit 1; }
info() { echo "INFO $*"; }

peers=""
for d in "${ZIXLY_PEERS_DIR:-}" "$ROOT/bench/peers" "$ROOT/../shared/bench/peers" /work/shared/bench/peers; do
	[ -n "$d" ] && [ -f "$d/apps/trading-sweep.lua" ] && { peers=$d; break; }
done
[ -n "$peers" ] || fail "bench/peers/apps/trading-sweep.lua not found; set ZIXLY_PEERS_DIR"
LUA=$peers/apps/trading-sweep.lua
command -v wrk >/dev/null || fail "wrk is not installed (Debian package wrk)"
[ -x "$APP" ] || fail "$APP is missing; run: make -C kore-app"

# post KEY BODY -> "STATUS BODY"
post() {
	curl -s -m 5 -o /tmp/w1.$$.body -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' -H "X-API-Key: $1" \
	    --data-binary "$2" "$URL"
	printf ' '; cat /tmp/w1.$$.body; rm -f /tmp/w1.$$.body
}

sanity() {
	local r
	r=$(post "$WEBHOOK_API_KEY" "$PAYLOAD")
	printf '%s' "$r" | grep -Eq '^202 \{"job_id":"[a-z0-9]{25}","status":"QUEUED","message":"[^"]+","created_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"\}$' ||
		fail "valid request: expected 202 {job_id,status:QUEUED,message,created_at}, got $r"
	local ok=$r
	r=$(post "$WEBHOOK_API_KEY" "${PAYLOAD/\[10,20\]/[20,10]}")
	[ "${r%% *}" = 400 ] || fail "invalid range: expected 400, got $r"
	r=$(post "$WEBHOOK_API_KEY" "${PAYLOAD/\"SMA\"/\"RSI\",\"min_trades\":-1}")
	[ "${r%% *}" = 400 ] || fail "invalid strategy_type: expected 400, got $r"
	r=$(post wrong "$PAYLOAD")
	[ "${r%% *}" = 401 ] || fail "wrong key: expected 401, got $r"
	info "sanity ok: ${ok}; 400 for a bad range and a bad enum; 401 for a wrong key"
}

# run_wrk SECONDS -> the WRKRESULT line's fields as shell assignments
run_wrk() {
	WEBHOOK_API_KEY=$WEBHOOK_API_KEY wrk -t2 -c50 -d"$1"s -s "$LUA" "$URL" |
		awk '/^WRKRESULT/ { for (i = 2; i <= NF; i++) print $i }'
}

jobs_count() { zx_sql "SELECT count(*) FROM zixly.pipeline_jobs"; }

w1() {
	local workers=$1 system=zixly
	[ "$workers" = 1 ] || system=zixly-${workers}proc

	zx_db_create bench
	zx_sql "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zixly_w1') THEN CREATE ROLE zixly_w1 LOGIN IN ROLE zixly_app; END IF; END \$\$" >/dev/null
	WEBHOOK_API_KEY=$(zx_sql "SELECT zixly_create_api_key('bench', 'w1')")

	local port=58080
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && port=$(zx_free_port)
	URL=http://127.0.0.1:$port/webhook/trading-sweep
	DATABASE_URL="host=127.0.0.1 port=$PGPORT user=zixly_w1 dbname=bench" \
	ZIXLY_HTTP_PORT=$port ZIXLY_APP_WORKERS=$workers \
	ZIXLY_RATE_LIMIT=1000000000 ZIXLY_JWT_SECRET=$(openssl rand -hex 32) \
	    zx_spawn "$LOGDIR/w1-app-$workers.log" "$APP"
	local app=$ZX_LAST_PID
	zx_wait_for "the app" 20 curl -sf "http://127.0.0.1:$port/health" ||
		{ tail -20 "$LOGDIR/w1-app-$workers.log" >&2; fail "the app did not become healthy"; }

	sanity
	local warm
	warm=$(run_wrk "$W1_WARMUP_SECONDS" | sed -n 's/^requests=//p')
	info "$system W1 warm-up: $warm requests in $W1_WARMUP_SECONDS s"

	local before after
	before=$(jobs_count)
	local r
	r=$(run_wrk "$W1_SECONDS")
	after=$(jobs_count)
	[ -n "$r" ] || fail "no WRKRESULT line from wrk"
	local requests duration_us p50_us p99_us mean_us max_us status_errors connect_errors read_errors write_errors timeouts
	eval "$r"
	awk -v sys="$system" -v n="$requests" -v us="$duration_us" -v p50="$p50_us" -v p99="$p99_us" \
	    -v mean="$mean_us" -v max="$max_us" -v st="$status_errors" -v ce="$connect_errors" \
	    -v re="$read_errors" -v we="$write_errors" -v to="$timeouts" -v jobs="$((after - before))" 'BEGIN {
		s = us / 1e6
		printf "INFO %s W1: %d responses in %.2f s (2 threads, 50 connections); mean %.2f ms, max %.2f ms; non-2xx %d; socket errors %d (connect %d, read %d, write %d, timeout %d); jobs enqueued during the run: %d\n",
		    sys, n, s, mean / 1000, max / 1000, st, ce + re + we + to, ce, re, we, to, jobs
		printf "RESULT system=%s bench=W1 metric=rps value=%.2f\n", sys, n / s
		printf "RESULT system=%s bench=W1 metric=p50_ms value=%.2f\n", sys, p50 / 1000
		printf "RESULT system=%s bench=W1 metric=p99_ms value=%.2f\n", sys, p99 / 1000
		printf "RESULT system=%s bench=W1 metric=non_2xx value=%d\n", sys, st
	}'
	zx_stop "$app"
}

zx_cluster_start "full_page_writes = on"
for w in $W1_WORKERS; do
	w1 "$w"
done
