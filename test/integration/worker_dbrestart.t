#!/usr/bin/env bash
# worker_dbrestart.t — zixly-worker and database outages (TAP).
#
#   1. A worker started before its database retries with backoff (a handful of attempts in
#      seconds, not one per 100 ms) and reports ready once the database is up.
#   2. Two workers (one the ASan + UBSan build) run a long sweep and a stream of noop jobs when
#      the server is stopped (pg_ctl stop -m fast) and started again on the same port: while it
#      is down /health answers 503 and /metrics shows the database down and the worker not
#      ready; then both reconnect with backoff (every connection role comes back), and carry
#      on: every job enqueued before, during the sweep and after the restart is COMPLETED, the
#      sweep has exactly one set of 10 rows from the run its result names, no sweep is
#      completed twice, none lost an attempt (the restart ended both workers' sessions, and
#      neither takes the other's running jobs), and jobs enqueued after the restart are found
#      through the restored wake-ups (the safety poll is at 60 s).  Both exit 0 on SIGTERM with
#      clean logs.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

PORT=$(zx_free_port)
DB=worker_dbrestart
URL="host=127.0.0.1 port=$PORT user=postgres dbname=$DB connect_timeout=2"

# ---------------------------------------------------------------- 1. the database comes up late
P1=$(zx_free_port)
zx_spawn "$ZW_TMP/w1.log" "$ZW_BIN" --worker-id w1 --database-url "$URL" --artifact-dir "$ZW_TMP/artifacts" \
	--metrics-port "$P1" --concurrency 2 --threads 1 --poll-interval 60
W1=$ZX_LAST_PID
sleep 2.5
tries=$(grep -c 'event=db_connect_failed role=control' "$ZW_TMP/w1.log")
ok "$([ "$tries" -ge 2 ] && [ "$tries" -le 8 ] && echo 0 || echo 1)" \
	"no database: w1 retries with backoff ($tries attempts in 2.5 s)"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/health")" 503 "its /health is 503 meanwhile"
ZX_PG_PORT=$PORT zx_cluster_start
zx_db_create "$DB"
zw_synthetic_prices SLOW 200000
zx_wait_for "w1 ready" 30 zw_log_has w1 "event=ready"
ok $? "w1 connects once the database is up and reports ready"

zw_use_asan
P2=$(zx_free_port)
while [ "$P2" = "$P1" ]; do P2=$(zx_free_port); done
zw_start w2 --database-url "$URL" --metrics-port "$P2" --concurrency 2 --threads 1 --poll-interval 60
W2=$ZW_PID

# ---------------------------------------------------------------- 2. restart under load
J_LONG=$(zw_enqueue trading-sweep '{"ticker":"SLOW","strategy_type":"SMA","fast_range":[2,41],"slow_range":[101,600],"step":1}')
zx_wait_for "the long sweep starts" 30 sh -c "grep -q 'event=job_started job_id=$J_LONG' '$ZW_TMP/w1.log' '$ZW_TMP/w2.log'" ||
	bail "nobody started the long sweep"
zx_sql "SELECT count(*) FROM zixly_enqueue_batch('noop', (SELECT jsonb_agg(jsonb_build_object('n', g)) FROM generate_series(1, 300) g))" >/dev/null
zw_enqueue trading-sweep '{"ticker":"SLOW","strategy_type":"EMA","fast_range":[5,30],"slow_range":[40,80],"step":5}' >/dev/null
is "$(zx_sql "SELECT status FROM zixly.pipeline_jobs WHERE id = '$J_LONG'")" RUNNING "the long sweep is running when the server stops"
zx_cluster_stop || bail "pg_ctl stop failed"
zx_wait_for "w1 sees the outage" 20 sh -c "curl -s http://127.0.0.1:$P1/metrics | grep -q '^zixly_worker_db_connected 0'"
zw_scrape "$P1" "$ZW_TMP/down.prom"
is "$(zw_metric "$ZW_TMP/down.prom" zixly_worker_db_connected) $(zw_metric "$ZW_TMP/down.prom" zixly_worker_ready)" "0 0" \
	"database stopped: zixly_worker_db_connected 0, zixly_worker_ready 0"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/health")" 503 "/health is 503"
sleep 2
zx_cluster_restart || bail "pg_ctl start failed"

for w in w1 w2; do
	zx_wait_for "$w reconnects" 30 sh -c "[ \$(grep -c 'event=db_connected role=control' '$ZW_TMP/$w.log') -ge 2 ]"
	ok $? "$w reconnects after the restart"
done
zw_wait_sql 90 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT status, job_type, count(*) FROM zixly.pipeline_jobs GROUP BY 1, 2")"
# after the restart: new jobs must be found through the restored LISTEN / zixly_wait
zx_sql "SELECT count(*) FROM zixly_enqueue_batch('noop', (SELECT jsonb_agg(jsonb_build_object('after', g)) FROM generate_series(1, 200) g))" >/dev/null
J_AFTER=$(zw_enqueue trading-sweep '{"ticker":"SLOW","strategy_type":"MACD","fast_range":[5,30],"slow_range":[40,80],"step":5}')
zw_wait_sql 30 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT status, job_type, count(*) FROM zixly.pipeline_jobs GROUP BY 1, 2")"

is "$(zx_sql "SELECT count(*) FILTER (WHERE status = 'COMPLETED') || '/' || count(*) FROM zixly.pipeline_jobs")" "503/503" \
	"every job completed: the long sweep, 300 noop and a sweep from before the restart, 200 noop and a sweep after"
is "$(zx_sql "SELECT count(*) || ' ' || count(DISTINCT sweep_run_id) || ' ' || bool_and(sweep_run_id = (SELECT result->>'sweep_run_id'
	FROM zixly.pipeline_jobs WHERE id = '$J_LONG')) FROM zixly.trading_sweep_results WHERE job_id = '$J_LONG'")" "10 1 true" \
	"the sweep running through the restart has one set of 10 rows, from the run its result names"
is "$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs j WHERE job_type = 'trading-sweep'
	AND (SELECT count(*) FROM zixly.trading_sweep_results r WHERE r.job_id = j.id) = 10")" 3 "every sweep has 10 rows"
is "$(cat "$ZW_TMP"/w[12].log | grep -o 'event=job_completed job_id=[^ ]*' | sort | uniq -d | wc -l)" 0 \
	"no sweep was completed twice"
is "$(zw_status "$J_AFTER")" "COMPLETED/1" "the sweep enqueued after the restart completed on its first attempt"
# the restart ended both workers' sessions: neither takes the other's running jobs (they wait
# for their leases, which the owner's first heartbeat renews in its new session)
is "$(zw_status "$J_LONG")" "COMPLETED/1" "the sweep running through the restart completed on its first attempt"
is "$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs WHERE attempts > 1 OR error_message IS NOT NULL")" 0 \
	"no job lost an attempt to the restart"
is "$(cat "$ZW_TMP"/w[12].log | grep -c 'event=job_lost')" 0 "no worker lost a job it was running"

for p in "$P1" "$P2"; do
	zw_scrape "$p" "$ZW_TMP/up.prom"
	claim=$(zw_metric "$ZW_TMP/up.prom" 'zixly_worker_db_connections{role="claim"}')
	is "$(zw_metric "$ZW_TMP/up.prom" zixly_worker_db_connected) $(zw_metric "$ZW_TMP/up.prom" zixly_worker_ready) $(zw_metric "$ZW_TMP/up.prom" 'zixly_worker_db_connections{role="control"}') $(zw_metric "$ZW_TMP/up.prom" 'zixly_worker_db_connections{role="wait"}') $([ "$claim" -ge 1 ] && echo claim)" \
		"1 1 1 1 claim" "port $p: connected and ready again, with its control, wait and claim connections (the second claim connection comes back when a backlog needs it)"
	ok "$(awk '$1 == "zixly_worker_db_reconnects_total" { exit !($2 >= 1) }' "$ZW_TMP/up.prom" && echo 0 || echo 1)" \
		"port $p: zixly_worker_db_reconnects_total counts the reconnection"
done
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/health")" 200 "/health is 200 again"

zw_signal_wait "$W1" TERM 30
is "$ZW_EXIT" 0 "w1: SIGTERM, exit 0"
zw_signal_wait "$W2" TERM 30
is "$ZW_EXIT" 0 "w2 (ASan): SIGTERM, exit 0"
for w in w1 w2; do
	ok "$(zw_clean_log "$w" && echo 0 || echo 1)" "$w: no error in the log$([ "$w" = w2 ] && echo ', no sanitizer report')"
done

done_testing
