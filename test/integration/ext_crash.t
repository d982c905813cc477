#!/usr/bin/env bash
# Crash recovery: a claimer session claims jobs and sits idle; its backend is terminated with
# pg_terminate_backend; zixly_rescue() from another session must give the jobs back within 2 s
# (no waiting for the 5-minute lease) and they must be claimable again. A live session whose
# lease ran out loses its job too; one that heartbeats, or whose lease is still valid, keeps it.
# Owners are (pid, backend start): a job whose pid now belongs to another session is rescued.
# After a server restart, RUNNING jobs wait for their leases (their workers reconnect).
. "$(dirname "$0")/../lib/harness.sh"

zx_cluster_start
zx_db_create zx_crash
WORK=$ZX_CLUSTER/crash
mkdir -p "$WORK"

q() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# session NAME: an idle psql session fed through a FIFO on fd 4, 5, ... (SESSION_FD)
# say NAME SQL: send SQL to it; its output goes to $WORK/NAME.out
declare -A SESSION_FD
_next_fd=4
session() {
	local name=$1 fd=$_next_fd
	_next_fd=$((_next_fd + 1))
	mkfifo "$WORK/$name.in"
	zx_spawn "$WORK/$name.out" psql -XAt -f "$WORK/$name.in"
	eval "exec $fd>\"$WORK/$name.in\""
	SESSION_FD[$name]=$fd
	zx_on_exit "exec $fd>&-"
}
say() { echo "$2" >&"${SESSION_FD[$1]}"; }
# running_by WORKER: how many RUNNING jobs WORKER holds
running_by() { q "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'RUNNING' AND locked_by = '$1'"; }
# holds WORKER N: WORKER holds at least N RUNNING jobs (for zx_wait_for, which re-runs it)
holds() { [ "$(running_by "$1")" -ge "$2" ]; }
rescues_one() { [ "$(q "SELECT zixly_rescue()")" = 1 ]; }

q "SELECT count(*) FROM zixly_enqueue_batch('noop', (SELECT jsonb_agg(jsonb_build_object('n', g)) FROM generate_series(1, 5) g))" >/dev/null

# ---------------------------------------------------------------- a claimer is terminated
session claimer
say claimer "SELECT count(*) FROM zixly_claim('crash-w', 5);"
zx_wait_for "the claim" 10 holds crash-w 5 || bail "the claimer did not claim"
pid=$(q "SELECT DISTINCT locked_pid FROM zixly.pipeline_jobs WHERE locked_by = 'crash-w'")
is "$(q "SELECT state FROM pg_stat_activity WHERE pid = $pid")" "idle" "the claimer holds 5 jobs and sits idle"
is "$(q "SELECT zixly_rescue()")" 0 "while its session lives and its lease is valid, nothing is rescued"
is "$(running_by crash-w)" 5 "... its 5 jobs stay RUNNING"

t0=$(now_ms)
is "$(q "SELECT pg_terminate_backend($pid)")" "t" "the claimer's backend is terminated"
rescued=0
while [ "$(( $(now_ms) - t0 ))" -lt 5000 ]; do
	rescued=$(q "SELECT zixly_rescue()")
	[ "$rescued" = 0 ] || break
	sleep 0.05
done
t_rescue=$(( $(now_ms) - t0 ))
is "$rescued" 5 "zixly_rescue() from another session returns 5 (${t_rescue} ms after the termination)"
claimed=$(q "SELECT count(*) FROM zixly_claim('rescuer', 10)")
t_claim=$(( $(now_ms) - t0 ))
is "$claimed" 5 "the 5 jobs are claimed again by another worker"
ok "$( [ "$t_claim" -lt 2000 ] && echo 0 || echo 1)" "... within 2 s of the termination (${t_claim} ms), not after the 5-minute lease"
is "$(q "SELECT string_agg(DISTINCT error_message, '|') FROM zixly.pipeline_jobs WHERE locked_by = 'rescuer'")" \
	"worker crash-w lost the job (session ended) on attempt 1 of 3" "the lost attempt is recorded as a session that ended"
is "$(q "SELECT string_agg(DISTINCT attempts::text, ',') FROM zixly.pipeline_jobs WHERE locked_by = 'rescuer'")" 2 \
	"the new claim is attempt 2"
is "$(q "SELECT count(*) FROM zixly_complete_batch('rescuer', (SELECT array_agg(id) FROM zixly.pipeline_jobs))")" 5 \
	"the new owner completes them"

# ---------------------------------------------------------------- a live session's lease runs out
q "SELECT zixly_enqueue('noop', '{\"n\": \"lease\"}')" >/dev/null
session slow
say slow "SELECT count(*) FROM zixly_claim('slow-w', 1, lease => '3 seconds');"
zx_wait_for "the slow claim" 10 holds slow-w 1 || bail "the slow worker did not claim"
slow_pid=$(q "SELECT locked_pid FROM zixly.pipeline_jobs WHERE locked_by = 'slow-w'")
# one transaction: the lease is still valid at now(), and the rescue (which compares with now()) keeps it
is "$(psql -qXAt -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
SELECT lease_expires_at > now() FROM zixly.pipeline_jobs WHERE locked_by = 'slow-w';
SELECT zixly_rescue();
COMMIT;
SQL
)" "t
0" "a live session with a valid 3 s lease keeps its job"
expires=$(q "SELECT extract(epoch FROM lease_expires_at)::numeric(20,3) FROM zixly.pipeline_jobs WHERE locked_by = 'slow-w'")
zx_wait_for "the lease to run out" 15 rescues_one
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE locked_by = 'slow-w' AND status = 'QUEUED'
          AND updated_at >= to_timestamp($expires)")" 1 "after its lease ran out without a heartbeat, its job is rescued"
is "$(q "SELECT count(*) FROM pg_stat_activity WHERE pid = $slow_pid")" 1 "... though its session is alive"
is "$(q "SELECT status || ': ' || error_message FROM zixly.pipeline_jobs WHERE parameters->>'n' = 'lease'")" \
	"QUEUED: worker slow-w lost the job (lease expired) on attempt 1 of 3" "... back to QUEUED, explained as an expired lease"
say slow "SELECT zixly_complete(id, 'slow-w') FROM zixly.pipeline_jobs WHERE parameters->>'n' = 'lease';"
zx_wait_for "the slow worker's answer" 10 grep -q 'ERROR' "$WORK/slow.out"
like "$(cat "$WORK/slow.out")" 'cannot complete job "c[0-9a-z]{24}": its status is QUEUED' \
	"the slow worker can no longer complete it"

# ---------------------------------------------------------------- heartbeats keep a job
q "UPDATE zixly.pipeline_jobs SET status = 'CANCELLED' WHERE status = 'QUEUED'"
q "SELECT zixly_enqueue('noop', '{\"n\": \"hb\"}')" >/dev/null
session beating
say beating "SELECT count(*) FROM zixly_claim('hb-w', 1, lease => '2 seconds');"
zx_wait_for "the heartbeat claim" 10 holds hb-w 1 || bail "the heartbeating worker did not claim"
for i in $(seq 1 8); do
	say beating "SELECT count(*) FROM zixly_heartbeat('hb-w', NULL, '2 seconds');"
	sleep 0.3
	[ "$(q "SELECT zixly_rescue()")" = 0 ] || break
done
is "$(running_by hb-w)" 1 "a worker heartbeating every 0.3 s keeps its job past its 2 s lease ($i heartbeats)"

# ---------------------------------------------------------------- pid reuse
# The heartbeating session is alive. Pretend its job was claimed by an earlier session that had
# the same pid: same locked_pid, earlier backend start. That owner is gone, so the job goes back.
q "UPDATE zixly.pipeline_jobs SET lease_expires_at = now() + interval '1 hour' WHERE locked_by = 'hb-w'"
is "$(q "SELECT zixly_rescue()")" 0 "with a valid lease and the live owner's (pid, start), nothing is rescued"
q "UPDATE zixly.pipeline_jobs SET locked_backend_start = (SELECT min(backend_start) FROM pg_stat_activity) WHERE locked_by = 'hb-w'"
is "$(q "SELECT count(*) FROM pg_stat_activity WHERE pid = (SELECT locked_pid FROM zixly.pipeline_jobs WHERE locked_by = 'hb-w')")" 1 \
	"a live backend has the job's locked_pid"
is "$(q "SELECT zixly_rescue()")" 1 "... but not its backend start: the job is rescued (pid reuse is harmless)"
is "$(q "SELECT error_message FROM zixly.pipeline_jobs WHERE parameters->>'n' = 'hb'")" \
	"worker hb-w lost the job (session ended) on attempt 1 of 3" "... as a session that ended"

# ---------------------------------------------------------------- a server restart
# A restart ends every session, so every worker reconnects: their running jobs wait for their
# leases (which a reconnected worker's heartbeat renews in its new session), instead of going
# to whichever worker is back first.  Then a job whose worker did not come back is rescued.
q "SELECT count(*) FROM zixly_enqueue_batch('noop', '[{\"n\": \"r1\"}, {\"n\": \"r2\"}]')" >/dev/null
session doomed
say doomed "SELECT count(*) FROM zixly_claim('doomed-w', 10, lease => '3 seconds');"
zx_wait_for "the doomed claim" 10 holds doomed-w 2 || bail "the doomed worker did not claim"
n_doomed=$(running_by doomed-w)
zx_cluster_stop
zx_cluster_restart
is "$(q "SELECT zixly_rescue()")" 0 "after a restart, RUNNING jobs of the sessions it ended wait for their leases"
is "$(running_by doomed-w)" "$n_doomed" "... all $n_doomed still RUNNING"
zx_wait_for "the leases to run out" 10 sh -c '[ "$(psql -qXAt -c "SELECT zixly_rescue()")" != 0 ]'
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'RUNNING'")" 0 "once they ran out, every one is rescued"
is "$(q "SELECT DISTINCT error_message FROM zixly.pipeline_jobs WHERE parameters->>'n' IN ('r1', 'r2')")" \
	"worker doomed-w lost the job (lease expired) on attempt 1 of 3" "... as leases that expired"
ok "$(grep -c 'terminated by signal' "$ZX_CLUSTER/server.log" | grep -qx 0; echo $?)" "no backend crashed (server.log)"

done_testing
