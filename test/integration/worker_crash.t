#!/usr/bin/env bash
# worker_crash.t — a worker dies or stalls in the middle of a sweep (TAP).
#
# Sweeps over a long synthetic series (200,000 bars x 12,000 combinations: seconds of work).
#   1. SIGKILL: w1 is killed while its sweep runs; the job stays RUNNING under w1 until w2
#      (ASan + UBSan build) starts, whose zixly_rescue puts it back (w1's sessions are gone),
#      claims it and completes it: one set of 10 rows, equal to zixly-sweep's, the full grid
#      in the artifact.
#   2. Heartbeats: w3 (lease 3 s) runs a sweep longer than its lease while w2 calls
#      zixly_rescue every second: the job stays w3's and completes on its first attempt.
#   3. A stall past the lease: w3 is stopped with SIGSTOP mid-sweep; its lease
#      runs out, w4 rescues and takes the job; then w3 is resumed and finishes its own run of
#      the sweep, but its heartbeat learns the job is no longer its own and the run is thrown
#      away: the rows, result and completion are w4's alone, w3 counts the job as lost and
#      keeps working.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

zx_cluster_start
zx_db_create worker_crash
zw_synthetic_prices SLOW 200000
zw_export_prices SLOW "$ZW_TMP/slow.csv"
GRID='"strategy_type":"SMA","fast_range":[2,31],"slow_range":[101,500],"step":1'
CLI_GRID=(--ticker SLOW --strategy SMA --fast 2:31 --slow 101:500 --step 1)
COMBOS=12000
ASAN_BIN=$ZX_BIN/asan/zixly-worker
[ -x "$ASAN_BIN" ] || bail "$ASAN_BIN not built (make -C worker SANITIZE=1)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
q() { zx_sql "SELECT $2 FROM zixly.pipeline_jobs WHERE id = '$1'"; }

# ---------------------------------------------------------------- 1. SIGKILL mid-sweep
zw_start w1 --metrics-port 0 --concurrency 1 --threads 1
W1=$ZW_PID
J1=$(zw_enqueue trading-sweep "{\"ticker\":\"SLOW\",$GRID}")
zx_wait_for "w1 starts the sweep" 30 zw_log_has w1 "event=job_started job_id=$J1" || bail "w1 did not start the job"
sleep 0.5
kill -KILL "$W1"
wait "$W1" 2>/dev/null
is "$(q "$J1" "status || ' ' || locked_by")" "RUNNING w1" "w1 killed with SIGKILL mid-sweep: the job is still RUNNING under w1"
is "$(zx_sql "SELECT count(*) FROM zixly.trading_sweep_results WHERE job_id = '$J1'")" 0 "no rows were written"

W2_PORT=$(zx_free_port)
ZW_BIN=$ASAN_BIN zw_start w2 --metrics-port "$W2_PORT" --concurrency 1 --threads 2 --queues default
W2=$ZW_PID
zw_wait_sql 60 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$J1'" ||
	diag "$(q "$J1" "status || ' ' || locked_by || ' ' || coalesce(error_message, '')")"
is "$(q "$J1" "status || '/' || attempts || ' ' || locked_by || ' ' || (result->>'worker_id')")" "COMPLETED/2 w2 w2" \
	"w2 rescued the job and completed it on the second attempt"
like "$(grep "event=rescued" "$ZW_TMP/w2.log")" 'jobs=1' "w2's zixly_rescue gave it back (logged)"
zw_scrape "$W2_PORT" "$ZW_TMP/w2.prom"
is "$(zw_metric "$ZW_TMP/w2.prom" zixly_worker_rescued_jobs_total)" 1 "zixly_worker_rescued_jobs_total counts it"
out=$(zw_compare_top "$J1" "$ZW_TMP/slow.csv" "${CLI_GRID[@]}" --threads 2)
is "$(tail -1 <<<"$out")" "rows 10 mismatches 0" "one set of 10 rows, equal to zixly-sweep's top 10"
[ "$(tail -1 <<<"$out")" = "rows 10 mismatches 0" ] || diag "$out"
is "$(zx_sql "SELECT count(DISTINCT sweep_run_id) || ' ' || bool_and(sweep_run_id = (SELECT result->>'sweep_run_id'
	FROM zixly.pipeline_jobs WHERE id = '$J1')) FROM zixly.trading_sweep_results WHERE job_id = '$J1'")" "1 true" \
	"the rows belong to the completed run"
ART=$(q "$J1" "result->'artifact'->>'path'")
is "$(q "$J1" "result->>'combinations'") $(( $(wc -l <"$ART") - 1 ))" "$COMBOS $COMBOS" \
	"result.combinations and the artifact: the full grid ($COMBOS rows)"

# ---------------------------------------------------------------- 2. heartbeats past the lease
zw_start w3 --metrics-port "$(zx_free_port)" --concurrency 1 --threads 1 --lease 3 --queues long,default
W3=$ZW_PID
W3_PORT=$(grep -o 'event=metrics_listening port=[0-9]*' "$ZW_TMP/w3.log" | cut -d= -f3)
# on queue "long", which only w3 takes; w2 rescues every second meanwhile
J_HB=$(zw_enqueue trading-sweep '{"ticker":"SLOW","strategy_type":"SMA","fast_range":[2,41],"slow_range":[101,600],"step":1}' "queue => 'long'")
zw_wait_sql 90 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$J_HB'"
is "$(q "$J_HB" "status || '/' || attempts || ' ' || locked_by || ' ' || ((result->>'duration_seconds')::float8 > 3)")" \
	"COMPLETED/1 w3 true" "a sweep running longer than w3's 3 s lease stays w3's (heartbeats) and completes on its first attempt"
is "$(zw_metric <(curl -s "http://127.0.0.1:$W2_PORT/metrics") zixly_worker_rescued_jobs_total)" 1 \
	"w2's rescue calls meanwhile took nothing more"

# ---------------------------------------------------------------- 3. a stall past the lease
# w2 stops first, so that only w3 can claim the next job
zw_signal_wait "$W2" TERM 30
is "$ZW_EXIT" 0 "w2 (ASan): SIGTERM, exit 0"
ok "$(zw_clean_log w2 && echo 0 || echo 1)" "w2: no sanitizer report, no error"

J2=$(zw_enqueue trading-sweep "{\"ticker\":\"SLOW\",$GRID,\"min_trades\":2}")
zx_wait_for "w3 starts the sweep" 30 zw_log_has w3 "event=job_started job_id=$J2" || bail "w3 did not start the job"
sleep 0.3
kill -STOP "$W3"
ZW_BIN=$ASAN_BIN zw_start w4 --metrics-port 0 --concurrency 1 --threads 2
W4=$ZW_PID
zw_wait_sql 30 "SELECT status = 'RUNNING' AND locked_by = 'w4' FROM zixly.pipeline_jobs WHERE id = '$J2'" ||
	diag "$(q "$J2" "status || ' ' || locked_by")"
is "$(q "$J2" "locked_by || ' ' || attempts")" "w4 2" "w3 stopped: its lease ran out and w4 took the job over"
kill -CONT "$W3"
zw_wait_sql 60 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$J2'"
zx_wait_for "w3 learns it lost the job" 30 zw_log_has w3 "event=job_lost job_id=$J2"
ok $? "w3, resumed, learns that the job is no longer its own"
# let w3 reach the end of its own run of the sweep: its result is thrown away
zx_wait_for "w3 finishes" 60 sh -c "curl -sf http://127.0.0.1:$W3_PORT/metrics | grep -q '^zixly_worker_jobs_in_flight 0$'"
zw_scrape "$W3_PORT" "$ZW_TMP/w3.prom"
is "$(zw_metric "$ZW_TMP/w3.prom" 'pipeline_jobs_processed_total{job_type="trading-sweep",status="lost"}') $(zw_metric "$ZW_TMP/w3.prom" 'pipeline_jobs_processed_total{job_type="trading-sweep",status="completed"}')" \
	"1 1" "w3 counts it as lost, not completed (its one completion is the heartbeat test's job)"
is "$(q "$J2" "status || '/' || attempts || ' ' || locked_by || ' ' || (result->>'worker_id')")" "COMPLETED/2 w4 w4" \
	"the job is w4's: completed once"
is "$(zx_sql "SELECT count(*) || ' ' || count(DISTINCT sweep_run_id) || ' ' || bool_and(sweep_run_id = (SELECT result->>'sweep_run_id'
	FROM zixly.pipeline_jobs WHERE id = '$J2')) FROM zixly.trading_sweep_results WHERE job_id = '$J2'")" "10 1 true" \
	"one set of 10 rows, from w4's run"
is "$(grep -c "event=job_completed job_id=$J2" "$ZW_TMP/w3.log") $(grep -c "event=job_completed job_id=$J2" "$ZW_TMP/w4.log")" \
	"0 1" "only w4 logs its completion"

# w3 carries on: it still takes new jobs (w4 stops first, so that only w3 can take it)
zw_signal_wait "$W4" TERM 30
is "$ZW_EXIT" 0 "w4 (ASan): SIGTERM, exit 0"
J3=$(zw_enqueue noop '{}')
zw_wait_sql 20 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$J3'"
is "$(q "$J3" "status || ' ' || locked_by")" "COMPLETED w3" "w3 keeps working after losing a job"
zw_signal_wait "$W3" TERM 30
is "$ZW_EXIT" 0 "w3: SIGTERM, exit 0"
for w in w3 w4; do
	ok "$(zw_clean_log "$w" && echo 0 || echo 1)" "$w: no error in the log$([ "$w" = w4 ] && echo ', no sanitizer report')"
done

done_testing
