#!/usr/bin/env bash
# worker_wakeup.t — how an idle zixly-worker learns of a new job (TAP).  The safety poll is set
# to 60 s and the rescue tick, which also looks for due jobs, to 30 s, so each job below is
# found through a wake-up or not at all within the test's waits.
#   1. With zixly_wait (the extension as installed): the worker says so, and a job enqueued
#      with NOTIFY on or off is claimed by the statement that waited (via=wait) with no second
#      claim: the worker does not LISTEN, so no notification asks for one.  A job enqueued
#      0.8 s ahead of its run_at starts on time: its enqueue moved the generation too, the
#      wait's claim found nothing due, and the worker set its timer by zixly_next_run_at.
#      ASan + UBSan build.
#   2. An extension without zixly_wait (dropped from it in a second database): the worker
#      LISTENs on zixly_jobs instead; a job is claimed on its notification, and a job enqueued
#      with NOTIFY off is not (it waits for the next rescue tick or safety poll).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

zx_cluster_start
zx_db_create worker_wakeup

# claims_after NAME N: the worker's event=claimed lines after its first N ones
claims_after() { grep 'event=claimed' "$ZW_TMP/$1.log" | tail -n +$(($2 + 1)); }
nclaims() { grep -c 'event=claimed' "$ZW_TMP/$1.log"; }
completed() { zw_wait_sql "$1" "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$2'"; }

# ---------------------------------------------------------------- 1. zixly_wait
zw_use_asan
zw_start w1 --metrics-port 0 --log-level debug --poll-interval 60 --rescue-interval 30
W1=$ZW_PID
like "$(grep 'event=db_connected role=control' "$ZW_TMP/w1.log")" 'wakeup=zixly_wait' \
	"w1 wakes through zixly_wait"
sleep 0.5	# its start-up claim is over
for mode in on off; do
	n=$(nclaims w1)
	J=$(PGOPTIONS="-c zixly.notify=$mode" zw_enqueue noop '{}')
	completed 5 "$J"
	is "$(zw_status "$J")" "COMPLETED/1" "zixly.notify=$mode: the idle worker takes the job"
	sleep 0.3	# room for a second claim, if one were coming
	claims=$(claims_after w1 "$n")
	is "$(wc -l <<<"$claims")" 1 "... with one claim"
	like "$claims" 'via=wait requested=[0-9]+ jobs=1 ' "... made by the statement that waited"
done
J=$(zx_sql "SELECT id FROM zixly_enqueue('noop', run_at => clock_timestamp() + interval '800 ms')")
completed 5 "$J"
late=$(zx_sql "SELECT round(extract(epoch FROM started_at - run_at) * 1000) FROM zixly.pipeline_jobs WHERE id = '$J'")
ok "$([ "$late" -ge 0 ] && [ "$late" -lt 300 ] && echo 0 || echo 1)" \
	"a job due 0.8 s after its enqueue starts on time (${late} ms after its run_at)"
zw_signal_wait "$W1" TERM 10
is "$ZW_EXIT" 0 "w1 exits 0"
ok "$(zw_clean_log w1 && echo 0 || echo 1)" "w1: no sanitizer report, no error in the log"
unset ASAN_OPTIONS UBSAN_OPTIONS

# ---------------------------------------------------------------- 2. LISTEN without zixly_wait
zx_db_create worker_wakeup_listen
zx_sql "ALTER EXTENSION zixly DROP FUNCTION zixly_wait(bigint, integer);
        DROP FUNCTION zixly_wait(bigint, integer)"
zw_start w2 --metrics-port 0 --log-level debug --poll-interval 60 --rescue-interval 30
W2=$ZW_PID
like "$(grep 'event=db_connected role=control' "$ZW_TMP/w2.log")" 'wakeup=listen' \
	"without zixly_wait, w2 wakes through LISTEN"
sleep 0.5
n=$(nclaims w2)
J=$(zw_enqueue noop '{}')
completed 5 "$J"
is "$(zw_status "$J")" "COMPLETED/1" "a job enqueued with NOTIFY is taken"
like "$(claims_after w2 "$n" | head -1)" 'via=lane0 requested=[0-9]+ jobs=1 ' "... claimed on its notification"
J=$(PGOPTIONS="-c zixly.notify=off" zw_enqueue noop '{}')
sleep 1.5
is "$(zw_status "$J")" "QUEUED/0" "a job enqueued with NOTIFY off wakes nobody"
zw_signal_wait "$W2" TERM 10
is "$ZW_EXIT" 0 "w2 exits 0"
ok "$(zw_clean_log w2 && echo 0 || echo 1)" "w2: no error in the log"

done_testing
