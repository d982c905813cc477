#!/usr/bin/env bash
# worker_shutdown.t — SIGTERM and SIGINT (TAP).  Sweeps over a long synthetic series make
# jobs that run for seconds.
#   1. SIGTERM while a sweep runs, within the deadline (ASan + UBSan build, leak detection):
#      the worker stops claiming (jobs enqueued before and after the signal stay QUEUED),
#      finishes its sweep, completes it, and exits 0 with a clean log.
#   2. SIGTERM with a deadline shorter than the sweep (--shutdown-timeout 1): the sweep is
#      released (QUEUED again, attempt given back, no rows) and the worker exits 0 without
#      waiting for it; another worker then completes it once, with one set of rows.  A worker
#      claims only what it can start: a job queued behind the sweep waits for the one slot.
#   3. A second signal during shutdown releases at once; SIGINT and SIGTERM when idle exit 0.
#      An idle worker claims from its wait connection (zixly_wait and the claim in one
#      statement); SIGTERM cancels that wait, which ends at once and quietly.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

zx_cluster_start
zx_db_create worker_shutdown
zw_synthetic_prices SLOW 200000
SHORT='{"ticker":"SLOW","strategy_type":"SMA","fast_range":[2,16],"slow_range":[101,500],"step":1}'
LONG='{"ticker":"SLOW","strategy_type":"SMA","fast_range":[2,41],"slow_range":[101,600],"step":1}'
q() { zx_sql "SELECT $2 FROM zixly.pipeline_jobs WHERE id = '$1'"; }
rows() { zx_sql "SELECT count(*) FROM zixly.trading_sweep_results WHERE job_id = '$1'"; }

# ---------------------------------------------------------------- 1. finish within the deadline
zw_use_asan
zw_start w1 --metrics-port 0 --concurrency 1 --threads 1
W1=$ZW_PID
J1=$(zw_enqueue trading-sweep "$SHORT")
zx_wait_for "w1 starts J1" 30 zw_log_has w1 "event=job_started job_id=$J1" || bail "w1 did not start J1"
J2=$(zw_enqueue trading-sweep "$LONG")	# no free slot: w1 leaves it in the queue
kill -TERM "$W1"
zx_wait_for "w1 shutting down" 10 zw_log_has w1 "event=shutdown"
J3=$(zw_enqueue noop '{}')
zw_signal_wait "$W1" 0 60	# signal 0: only wait
is "$ZW_EXIT" 0 "SIGTERM during a sweep: w1 exits 0"
is "$(q "$J1" "status || '/' || attempts || ' ' || locked_by") $(rows "$J1")" "COMPLETED/1 w1 10" \
	"after finishing and completing its sweep (10 rows)"
is "$(q "$J2" "status || '/' || attempts") $(q "$J3" "status || '/' || attempts")" "QUEUED/0 QUEUED/0" \
	"it claimed nothing after the signal (a sweep enqueued before it, a noop after it)"
like "$(grep 'event=stopped' "$ZW_TMP/w1.log")" 'released_running_jobs=0' "it logs its stop: nothing released"
ok "$(zw_clean_log w1 && echo 0 || echo 1)" "no sanitizer report (leaks included), no error in the log"
unset ASAN_OPTIONS UBSAN_OPTIONS
ZW_BIN=$ZX_BIN/zixly-worker

# ---------------------------------------------------------------- 2. deadline shorter than the job
zw_start w2 --metrics-port 0 --concurrency 1 --threads 1 --shutdown-timeout 1
W2=$ZW_PID
zx_wait_for "w2 starts J2" 30 zw_log_has w2 "event=job_started job_id=$J2" || bail "w2 did not start J2"
sleep 0.5
is "$(q "$J3" "status || '/' || attempts")" "QUEUED/0" \
	"w2 claims only what it can start: the noop queued after the sweep waits for the one slot"
zw_signal_wait "$W2" TERM 20
is "$ZW_EXIT" 0 "SIGTERM with a 1 s deadline: w2 exits 0"
is "$(q "$J2" "status || '/' || attempts || ' ' || coalesce(locked_by, '-')") $(rows "$J2")" "QUEUED/0 - 0" \
	"without waiting for its sweep: released, attempt given back, no rows"
like "$(grep "event=job_released job_id=$J2" "$ZW_TMP/w2.log")" 'reason="shutdown timeout"' "the release is logged with its reason"
like "$(grep 'event=stopped' "$ZW_TMP/w2.log")" 'released_running_jobs=1' "and the stop"
sleep 1	# the abandoned sweep thread died with its process: nothing may arrive late
is "$(rows "$J2")" 0 "no late rows from the abandoned run"

zw_start w3 --metrics-port 0 --concurrency 1 --threads 2
W3=$ZW_PID
zw_wait_sql 60 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$J2'"
is "$(q "$J2" "status || '/' || attempts || ' ' || locked_by") $(rows "$J2")" "COMPLETED/1 w3 10" \
	"another worker completes the released sweep once, with one set of rows"
zw_wait_sql 20 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$J3'"
is "$(q "$J3" "status || ' ' || locked_by")" "COMPLETED w3" "and the noop that waited"

# ---------------------------------------------------------------- 3. second signal, SIGINT, idle
J4=$(zw_enqueue trading-sweep "$LONG")
zx_wait_for "w3 starts J4" 30 zw_log_has w3 "event=job_started job_id=$J4" || bail "w3 did not start J4"
kill -TERM "$W3"
zx_wait_for "w3 shutting down" 10 zw_log_has w3 "event=shutdown"
zw_signal_wait "$W3" INT 20
is "$ZW_EXIT" 0 "a second signal (SIGINT) during the 30 s shutdown: exit 0 at once"
like "$(grep 'event=shutdown_now' "$ZW_TMP/w3.log")" 'reason="second signal"' "logged as such"
is "$(q "$J4" "status || ' ' || coalesce(locked_by, '-')") $(rows "$J4")" "QUEUED - 0" "its sweep was released"
zx_sql "SELECT status FROM zixly_cancel('$J4')" >/dev/null	# the queue is empty: w4 and w5 are idle

zw_start w4 --metrics-port 0
zw_signal_wait "$ZW_PID" INT 10
is "$ZW_EXIT" 0 "SIGINT when idle: exit 0"
zw_use_asan
zw_start w5 --metrics-port 0 --log-level debug
W5=$ZW_PID
sleep 0.5	# w5's start-up claim is over: it waits
J5=$(PGOPTIONS="-c zixly.notify=off" zw_enqueue noop '{}')	# no NOTIFY: only zixly_wait wakes w5
zw_wait_sql 10 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$J5'"
is "$(zw_status "$J5")" "COMPLETED/1" "an idle worker takes a job enqueued with zixly.notify off"
like "$(grep 'event=claimed' "$ZW_TMP/w5.log" | grep -v 'jobs=0' | tail -1)" 'via=wait requested=[0-9]+ jobs=1' \
	"... claimed by the statement that waited (one round trip from the commit)"
t0=$(date +%s%N)
zw_signal_wait "$W5" TERM 10
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$ZW_EXIT" 0 "SIGTERM when idle: exit 0"
ok "$([ "$ms" -lt 900 ] && echo 0 || echo 1)" \
	"... at once (${ms} ms): the claiming wait is cancelled, not waited out"
like "$(grep 'event=db_cancelled' "$ZW_TMP/w5.log")" 'call=zixly_wait' "... and the cancel is logged as such (info)"
for w in w2 w3 w4 w5; do
	ok "$(zw_clean_log "$w" && echo 0 || echo 1)" "$w: no error in the log"
done

done_testing
