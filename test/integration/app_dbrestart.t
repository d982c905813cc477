#!/usr/bin/env bash
# The database goes away under load and comes back while the app keeps running: /health turns
# 503 within 5 s, webhooks get a JSON 503 (never a 500, never a hang), and once PostgreSQL is
# back the app is healthy again by itself, without a restart. Every job the app answered 202
# for exists afterwards: nothing accepted is lost. Idle pooled connections the server closed are
# replaced before use, so the next webhooks are accepted, not answered 503. A locked table gives
# a 503 after the app's 5 s lock_timeout, not a request held as long as the lock.
. "$(dirname "$0")/../lib/harness.sh"
. "$ZX_ROOT/kore-app/test/app_helpers.sh"

zx_cluster_start
app_db app_dbrestart
KEY=$(zx_sql "SELECT zixly_create_api_key('acme', 'restart test')")
app_start ZIXLY_RATE_LIMIT=1000000 ZIXLY_APP_WORKERS=2
P='{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'

# Load: four clients posting webhooks back to back, logging "status job_id" per request.
LOAD=$ZX_CLUSTER/load
mkdir -p "$LOAD"
load_client() {
	while [ ! -f "$LOAD/stop" ]; do
		curl -s -m 10 -o "$LOAD/$1.body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			-H "X-API-Key: $KEY" --data-binary "$P" "$APP_URL/webhook/trading-sweep" >"$LOAD/$1.code"
		printf '%s %s\n' "$(cat "$LOAD/$1.code")" \
			"$(sed -n 's/.*"job_id":"\([a-z0-9]*\)".*/\1/p' "$LOAD/$1.body")" >>"$LOAD/$1.log"
	done
}
CLIENTS=()
for c in 1 2 3 4; do load_client "$c" & CLIENTS+=($!); done
sleep 1

req GET /health
is "$ST" 200 "healthy under load"

t0=$(date +%s%N)
zx_cluster_stop
zx_wait_for "health to turn 503" 5 sh -c "curl -s -o /dev/null -w '%{http_code}' '$APP_URL/health' | grep -q 503"
ok $? "/health is 503 within 5 s of the database stopping"
req GET /health
is "$ST" 503 "GET /health: 503"
is "$(jget '{status}')" unhealthy "status unhealthy"
is "$(jget '{database_connected}')" false "database_connected false"
req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary "$P"
is "$ST" 503 "a webhook while the database is down: 503"
is "$(jget '{error}')" service_unavailable "503 body says service_unavailable"
ok "$(is_error_json; echo $?)" "503 body is {error,message}"
ok "$([ -n "$(hdr retry-after)" ] && echo 0 || echo 1)" "503 has Retry-After"
req GET /metrics
is "$ST" 200 "/metrics still answers"
ok "$(printf '%s' "$BODY" | grep -q pipeline_queue_depth && echo 1 || echo 0)" "without the queue depth it cannot know"
sleep 1

zx_cluster_restart
zx_wait_for "health to come back" 15 sh -c "curl -s -o /dev/null -w '%{http_code}' '$APP_URL/health' | grep -q 200"
ok $? "/health is 200 again once the database is back (no app restart)"
secs=$(( ($(date +%s%N) - t0) / 1000000000 ))
diag "database down and up again in ${secs}s"
sleep 1
touch "$LOAD/stop"
wait "${CLIENTS[@]}"

cat "$LOAD"/*.log >"$LOAD/all"
n202=$(grep -c '^202 ' "$LOAD/all")
n503=$(grep -c '^503 ' "$LOAD/all")
other=$(grep -Evc '^(202|503) ' "$LOAD/all")
ok "$([ "$n202" -gt 10 ] && echo 0 || echo 1)" "the load got 202s ($n202)"
ok "$([ "$n503" -gt 0 ] && echo 0 || echo 1)" "and 503s while the database was down ($n503)"
is "$other" 0 "and nothing else (no 500, no timeout)"
grep '^202 ' "$LOAD/all" | awk '{print $2}' | sort -u >"$LOAD/ids"
is "$(wc -l <"$LOAD/ids")" "$n202" "every 202 has its own job id"
missing=$(psql -qXAt -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE seen (id text);
\copy seen FROM '$LOAD/ids'
SELECT count(*) FROM seen s WHERE NOT EXISTS (SELECT 1 FROM zixly.pipeline_jobs j WHERE j.id = s.id);
SQL
)
is "$missing" 0 "every job answered 202 exists after the restart"

req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary "$P"
is "$ST" 202 "webhooks are accepted again"

# Connections the server closes while they sit in the pool (pg_terminate_backend here; a
# restart, idle_session_timeout or a proxy does the same) are dropped before use, not answered
# with 503: the database is up.
for i in 1 2 3 4 5 6; do req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary "$P"; done
codes=""
for round in 1 2; do
	zx_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'zixly_web'" >/dev/null
	sleep 0.3
	for i in 1 2 3; do
		req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary "$P"
		codes="$codes $ST"
		req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" \
			-H "Idempotency-Key: redial-$round-$i" --data-binary "$P"
		codes="$codes $ST"
	done
done
is "$codes" "$(printf ' 202%.0s' $(seq 12))" "webhooks right after the server closed the app's idle connections: all 202"

# A table locked for longer than the app's lock_timeout (5 s): the webhook gets a JSON 503 within
# about 5 s instead of waiting for the lock, and the next one after the lock is accepted.
zx_spawn "$ZX_CLUSTER/locker.log" psql -qXAt -c "BEGIN" -c "LOCK TABLE zixly.pipeline_jobs IN ACCESS EXCLUSIVE MODE" \
	-c "SELECT pg_sleep(9)" -c "COMMIT"
locker=$ZX_LAST_PID
zx_wait_for "the table is locked" 10 sh -c "[ \"\$(psql -qXAt -c \"SELECT count(*) FROM pg_locks WHERE relation = 'zixly.pipeline_jobs'::regclass AND mode = 'AccessExclusiveLock' AND granted\")\" = 1 ]"
t0=$(date +%s%N)
req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary "$P"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$ST $(jget '{error}')" "503 service_unavailable" "a webhook while its table is locked: a JSON 503 ..."
ok "$([ "$ms" -ge 4000 ] && [ "$ms" -lt 8000 ] && echo 0 || echo 1)" "... after the 5 s lock_timeout (${ms} ms), not the lock's 9 s"
wait "$locker"
req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary "$P"
is "$ST" 202 "accepted again once the lock is gone"
app_stop
ok "$(app_log_clean; echo $?)" "no crash, sanitizer report or sandbox violation in the app's log"
done_testing
