#!/usr/bin/env bash
# Commit-time wake-ups (extension/src/wake.c): zixly_wait() returns when a commit makes jobs due
# or queues jobs due later (a delayed enqueue, a failed attempt to retry), not on rollback;
# NOTIFY is sent only for jobs due now; zixly.notify off silences NOTIFY but not zixly_wait.
. "$(dirname "$0")/../lib/harness.sh"
zx_cluster_start
zx_db_create wake

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_after SINCE TIMEOUT_MS SQL [DB]: start a waiter, run SQL in another session (in database DB,
# default the waiter's), print "<gen> <ms>".
wait_after() {
	local out=$ZX_CLUSTER/wait.out t0
	t0=$(now_ms)
	psql -XAt -c "SELECT zixly_wait($1, $2)" >"$out" 2>&1 &
	local pid=$!
	sleep 0.3
	psql -qXAt ${4:+-d "$4"} -c "$3" >/dev/null 2>&1
	wait "$pid"
	echo "$(cat "$out") $(( $(now_ms) - t0 ))"
}

g=$(zx_sql "SELECT zixly_wait()")
like "$g" '^[0-9]+$' "zixly_wait() without a generation answers the current one at once"

read -r g2 ms <<<"$(wait_after "$g" 5000 "SET zixly.notify = off; SELECT zixly_enqueue('noop')")"
ok "$([ "$g2" -gt "$g" ] && echo 0 || echo 1)" "an enqueue commit moves the generation ($g -> $g2)"
ok "$([ "$ms" -lt 1500 ] && echo 0 || echo 1)" "the waiter returns right after the commit, not at its 5 s timeout (${ms} ms)"

read -r g3 ms <<<"$(wait_after "$g2" 1500 "BEGIN; SELECT zixly_enqueue('noop'); ROLLBACK")"
is "$g3" "$g2" "a rolled-back enqueue wakes nobody"
ok "$([ "$ms" -ge 1400 ] && echo 0 || echo 1)" "so the waiter runs to its timeout (${ms} ms)"

read -r g4 ms <<<"$(wait_after "$g3" 5000 "SELECT zixly_enqueue('noop', run_at => now() + interval '1 hour')")"
ok "$([ "$g4" -gt "$g3" ] && [ "$ms" -lt 1500 ] && echo 0 || echo 1)" \
	"a job due only later moves the generation too, so waiters re-read the next due time (${ms} ms)"
out=$(psql -XAt -c "LISTEN zixly_jobs" -c "SELECT id FROM zixly_enqueue('noop', run_at => now() + interval '1 hour')" -c "SELECT 1" 2>&1)
ok "$(echo "$out" | grep -q 'Asynchronous notification' && echo 1 || echo 0)" "... but sends no NOTIFY (not due)"
J=$(zx_sql "SELECT id FROM zixly_enqueue('noop', queue => 'failq')")
zx_sql "SELECT id FROM zixly_claim('w', 1, '{failq}')" >/dev/null
g=$(zx_sql "SELECT zixly_wait()")
read -r g6 ms <<<"$(wait_after "$g" 5000 "SELECT zixly_fail('$J', 'w', 'boom')")"
ok "$([ "$g6" -gt "$g" ] && [ "$ms" -lt 1500 ] && echo 0 || echo 1)" "a failed attempt put back for a retry moves it (${ms} ms)"
J=$(zx_sql "SELECT id FROM zixly_enqueue('noop', queue => 'failq', max_attempts => 1)")
zx_sql "SELECT id FROM zixly_claim('w', 1, '{failq}')" >/dev/null
g=$(zx_sql "SELECT zixly_wait()")
read -r g7 ms <<<"$(wait_after "$g" 1500 "SELECT zixly_fail('$J', 'w', 'boom')")"
is "$g7" "$g" "a failure that dead-letters the job wakes nobody"

g=$(zx_sql "SELECT zixly_wait()")
read -r g5 ms <<<"$(wait_after "$g" 5000 "SELECT count(*) FROM zixly_enqueue_batch('noop', '[{},{},{}]')")"
ok "$([ "$g5" -gt "$g" ] && [ "$ms" -lt 1500 ] && echo 0 || echo 1)" "a batch enqueue wakes the waiter (${ms} ms)"

out=$(psql -XAt -c "LISTEN zixly_jobs" -c "SET zixly.notify = off" -c "SELECT id FROM zixly_enqueue('noop')" -c "SELECT 1" 2>&1)
ok "$(echo "$out" | grep -q 'Asynchronous notification' && echo 1 || echo 0)" "zixly.notify off sends no NOTIFY"
out=$(psql -XAt -c "LISTEN zixly_jobs" -c "SELECT id FROM zixly_enqueue('noop', queue => 'q7')" -c "SELECT 1" 2>&1)
like "$out" 'notification "zixly_jobs" with payload "q7"' "by default an enqueue NOTIFYs zixly_jobs with its queue"

# Each database has its own counter: a commit in another database of the cluster (staging beside
# production) wakes nobody here, and one here wakes a waiter here.
psql -qX -d postgres -c "CREATE DATABASE wake_other" >/dev/null
psql -qX -d wake_other -c "CREATE EXTENSION zixly" >/dev/null
g=$(zx_sql "SELECT zixly_wait()")
read -r g8 ms <<<"$(wait_after "$g" 1500 "SELECT zixly_enqueue('noop')" wake_other)"
is "$g8" "$g" "an enqueue in another database of the cluster wakes nobody here"
ok "$([ "$ms" -ge 1400 ] && echo 0 || echo 1)" "so the waiter runs to its timeout (${ms} ms)"
is "$(psql -qXAt -d wake_other -c "SELECT count(*) FROM zixly.pipeline_jobs")" 1 "... where that job was queued"
read -r g9 ms <<<"$(wait_after "$g" 5000 "SELECT zixly_enqueue('noop')")"
ok "$([ "$g9" -gt "$g" ] && [ "$ms" -lt 1500 ] && echo 0 || echo 1)" "an enqueue here still wakes it (${ms} ms)"

like "$(psql -XAt -c "SELECT zixly_wait(1, -5)" 2>&1)" 'timeout_ms must be from 0 to 3600000' "a negative timeout is a clear error"
is "$(zx_sql "SELECT 1")" "1" "the server is still up"
done_testing
