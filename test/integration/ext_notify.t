#!/usr/bin/env bash
# NOTIFY from the zixly extension, seen by a second session that LISTENs:
#   zixly_jobs        payload = queue name, when jobs become claimable: once per statement and
#                     queue (a batch of 1000 gives one), never for a future run_at or a rollback;
#   zixly_job_events  {"id","tenant_id","status"} for each status change ({"ids": [...]} when one
#                     statement changes many jobs);
# zixly.notify = events keeps only the status events (the web app's setting), off silences both,
# and zixly_wait() still wakes a waiting worker either way (for a future run_at too, so that it
# re-reads the next due time; never for a rollback, nor for an enqueue rolled back to a
# savepoint).  Events are grouped per statement, tenant and status, however many tenants.
#
# The listener is one psql session reading commands from a FIFO. psql prints the notifications
# it has received after each command, so "polling" is sending two marker SELECTs and reading
# the "Asynchronous notification" lines that appeared since the previous poll.
. "$(dirname "$0")/../lib/harness.sh"

zx_cluster_start
zx_db_create zx_notify
WORK=$ZX_CLUSTER/notify
mkdir -p "$WORK"

q() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }

mkfifo "$WORK/listen.in"
zx_spawn "$WORK/listen.out" psql -XAt -f "$WORK/listen.in"
exec 3>"$WORK/listen.in"
zx_on_exit 'exec 3>&-'
echo 'LISTEN zixly_jobs; LISTEN zixly_job_events;' >&3

# poll: the notifications received since the last poll, one per line as "channel<TAB>payload",
# in $WORK/notes; $NOTES_N is how many.
_poll_n=0
_seen=0
poll() {
	_poll_n=$((_poll_n + 1))
	echo "SELECT 'mark-$_poll_n';" >&3
	echo "SELECT 'end-$_poll_n';" >&3
	zx_wait_for "listener marker $_poll_n" 10 grep -qx "end-$_poll_n" "$WORK/listen.out" || bail "listener is stuck"
	# everything up to the end marker, notifications only, minus those already seen
	sed -n "1,/^end-$_poll_n\$/p" "$WORK/listen.out" |
		perl -ne 'print "$1\t$2\n" if /^Asynchronous notification "([^"]+)" with payload "(.*)" received from server process with PID \d+\.$/' \
		>"$WORK/all_notes"
	tail -n +$((_seen + 1)) "$WORK/all_notes" >"$WORK/notes"
	_seen=$(wc -l <"$WORK/all_notes")
	NOTES_N=$(wc -l <"$WORK/notes")
}
# on CHANNEL: the payloads received on CHANNEL in the last poll, one per line
on() { awk -F '\t' -v c="$1" '$1 == c { print $2 }' "$WORK/notes"; }
# json FIELD: the field of each JSON payload on stdin ("ids" arrays joined by spaces)
json() {
	perl -MJSON::PP -ne 'my $v = decode_json($_)->{'"$1"'}; print ref $v ? join(" ", @$v) : $v, "\n"'
}

poll
is "$NOTES_N" 0 "no notification before anything happens"

# ---------------------------------------------------------------- one enqueue
id=$(q "SELECT (zixly_enqueue('noop', tenant_id => 'acme')).id")
poll
is "$(on zixly_jobs)" "default" "enqueue: zixly_jobs with the queue name as payload"
is "$(on zixly_job_events | wc -l)" 1 "enqueue: one zixly_job_events notification"
is "$(on zixly_job_events)" "{\"id\":\"$id\",\"tenant_id\":\"acme\",\"status\":\"QUEUED\"}" \
	"enqueue: the event is {\"id\",\"tenant_id\",\"status\"} of the new job"
is "$NOTES_N" 2 "enqueue: nothing else"

q "SELECT zixly_enqueue('noop', queue => 'sweeps')" >/dev/null
poll
is "$(on zixly_jobs)" "sweeps" "enqueue to another queue: its name"

# ---------------------------------------------------------------- a batch of 1000
q "SELECT count(*) FROM zixly_enqueue_batch('noop', (SELECT jsonb_agg('{}'::jsonb) FROM generate_series(1, 1000)))" >/dev/null
poll
is "$(on zixly_jobs)" "default" "batch of 1000: ONE zixly_jobs notification"
is "$(on zixly_job_events | json ids | wc -w)" 1000 "batch of 1000: the events carry all 1000 ids"
is "$(on zixly_job_events | json ids | tr ' ' '\n' | sort -u | wc -l)" 1000 "batch of 1000: each id once"
ok "$( [ "$(on zixly_job_events | wc -l)" -le 10 ] && echo 0 || echo 1)" \
	"batch of 1000: events coalesced into a few notifications, not 1000 ($(on zixly_job_events | wc -l))"
is "$(on zixly_job_events | json status | sort -u)" "QUEUED" "batch of 1000: status QUEUED"
ok "$(on zixly_job_events | awk 'length($0) >= 8000 { bad = 1 } END { print bad + 0 }')" "batch of 1000: every payload under NOTIFY's 8000 bytes"
is "$(q "SELECT string_agg(id, ' ' ORDER BY id) FROM zixly.pipeline_jobs WHERE status = 'QUEUED' AND queue = 'default' AND id <> '$id'")" \
	"$(on zixly_job_events | json ids | tr ' ' '\n' | sort | paste -sd ' ')" "batch of 1000: the ids are the batch's jobs"

# several statements in one transaction, two queues
psql -qXAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
BEGIN;
SELECT zixly_enqueue('noop');
SELECT zixly_enqueue('noop');
SELECT count(*) FROM zixly_enqueue_batch('noop', '[{}, {}]', queue => 'q2');
COMMIT;
SQL
poll
is "$(on zixly_jobs | sort | paste -sd ,)" "default,q2" "a transaction enqueueing to two queues: one wake-up per queue"

# ---------------------------------------------------------------- not claimable yet, or never
q "SELECT zixly_enqueue('noop', queue => 'later', run_at => now() + interval '1 hour')" >/dev/null
q "SELECT count(*) FROM zixly_enqueue_batch('noop', '[{}, {}]', queue => 'later', run_at => now() + interval '1 hour')" >/dev/null
poll
is "$(on zixly_jobs | wc -l)" 0 "a future run_at sends no NOTIFY on zixly_jobs (single and batch)"
is "$(on zixly_job_events | json status | sort -u)" "QUEUED" "... though the QUEUED events are published"
q "BEGIN; SELECT zixly_enqueue('noop'); ROLLBACK;" >/dev/null
poll
is "$NOTES_N" 0 "a rolled-back enqueue notifies nothing"

# ---------------------------------------------------------------- status changes
q "DELETE FROM zixly.pipeline_jobs"
id=$(q "SELECT (zixly_enqueue('noop', max_attempts => 2)).id")
poll
ev() { echo "{\"id\":\"$1\",\"tenant_id\":\"default\",\"status\":\"$2\"}"; }
q "SELECT count(*) FROM zixly_claim('w1')" >/dev/null
poll
is "$(on zixly_job_events)" "$(ev "$id" RUNNING)" "claim: event RUNNING"
is "$(on zixly_jobs | wc -l)" 0 "claim: no wake-up"
q "SELECT zixly_fail('$id', 'w1', 'boom')" >/dev/null
poll
is "$(on zixly_job_events)" "$(ev "$id" QUEUED)" "fail with attempts left: event QUEUED"
is "$(on zixly_jobs | wc -l)" 0 "fail with attempts left: no wake-up while the backoff runs"
q "UPDATE zixly.pipeline_jobs SET run_at = now(); SELECT count(*) FROM zixly_claim('w1')" >/dev/null
q "SELECT zixly_fail('$id', 'w1', 'boom')" >/dev/null
poll
is "$(on zixly_job_events | tail -1)" "$(ev "$id" FAILED)" "fail on the last attempt: event FAILED"
q "SELECT zixly_retry('$id')" >/dev/null
poll
is "$(on zixly_job_events)" "$(ev "$id" QUEUED)" "retry: event QUEUED"
is "$(on zixly_jobs)" "default" "retry: wakes the queue"
q "SELECT count(*) FROM zixly_claim('w1')" >/dev/null
q "SELECT zixly_release('$id', 'w1')" >/dev/null
poll
is "$(on zixly_job_events | tail -1)" "$(ev "$id" QUEUED)" "release: event QUEUED"
is "$(on zixly_jobs)" "default" "release: wakes the queue"
q "SELECT count(*) FROM zixly_claim('w1')" >/dev/null
q "SELECT zixly_complete('$id', 'w1', '{}')" >/dev/null
poll
is "$(on zixly_job_events | tail -1)" "$(ev "$id" COMPLETED)" "complete: event COMPLETED"
id2=$(q "SELECT (zixly_enqueue('noop')).id")
q "SELECT zixly_cancel('$id2')" >/dev/null
poll
is "$(on zixly_job_events | tail -1)" "$(ev "$id2" CANCELLED)" "cancel: event CANCELLED"
id3=$(q "SELECT (zixly_enqueue('noop')).id")
q "SELECT count(*) FROM zixly_claim('w1')" >/dev/null
q "UPDATE zixly.pipeline_jobs SET lease_expires_at = now() - interval '1 s' WHERE id = '$id3'"
poll
is "$(q "SELECT zixly_rescue()")" 1 "rescue of an expired lease"
poll
is "$(on zixly_job_events)" "$(ev "$id3" QUEUED)" "rescue: event QUEUED"
is "$(on zixly_jobs)" "default" "rescue: wakes the queue"
q "SELECT count(*) FROM zixly_claim('w1')" >/dev/null
q "SELECT zixly_cancel('$id3')" >/dev/null
poll
q "SELECT zixly_retry('$id3', now() + interval '1 hour')" >/dev/null
poll
is "$(on zixly_job_events)" "$(ev "$id3" QUEUED)" "retry for later: event QUEUED"
is "$(on zixly_jobs | wc -l)" 0 "retry for later: no wake-up"

# one statement touching 20 tenants: every job's event is published, grouped per tenant
q "DELETE FROM zixly.pipeline_jobs"
q "SELECT count(*) FROM (SELECT zixly_enqueue('noop', tenant_id => 'tenant-' || g) FROM generate_series(1, 20) g) s" >/dev/null
poll
q "SELECT count(*) FROM zixly_claim('w1', 100)" >/dev/null
poll
is "$(on zixly_job_events | json ids | wc -w)" 0 "a claim across 20 tenants: one event per tenant (a single id each) ..."
is "$(on zixly_job_events | json id | sort | paste -sd ' ')" \
	"$(q "SELECT string_agg(id, ' ' ORDER BY id) FROM zixly.pipeline_jobs")" "... for every claimed job"
is "$(on zixly_job_events | json tenant_id | sort -u | wc -l)" 20 "... naming each of the 20 tenants"
is "$(on zixly_job_events | json status | sort -u)" "RUNNING" "... as RUNNING"
# three jobs per tenant, the tenants interleaved in claim order: still one event per tenant
q "DELETE FROM zixly.pipeline_jobs"
q "SELECT count(*) FROM (SELECT zixly_enqueue('noop', tenant_id => 'tenant-' || (g % 20)) FROM generate_series(1, 60) g) s" >/dev/null
poll
q "SELECT count(*) FROM zixly_claim('w1', 100)" >/dev/null
poll
is "$(on zixly_job_events | wc -l) $(on zixly_job_events | json ids | wc -w)" "20 60" \
	"a claim of 60 jobs of 20 interleaved tenants: 20 events carrying the 60 ids"
q "SELECT count(*) FROM zixly_complete_batch('w1', (SELECT array_agg(id) FROM zixly.pipeline_jobs))" >/dev/null
poll
is "$(on zixly_job_events | wc -l) $(on zixly_job_events | json ids | wc -w) $(on zixly_job_events | json status | sort -u)" \
	"20 60 COMPLETED" "zixly_complete_batch publishes COMPLETED the same way: 20 events, the 60 ids"

# ---------------------------------------------------------------- zixly.notify = events
id=$(q "SET zixly.notify = events; SELECT (zixly_enqueue('noop', tenant_id => 'acme')).id")
poll
is "$(on zixly_jobs | wc -l)" 0 "zixly.notify = events: no zixly_jobs wake-up ..."
is "$(on zixly_job_events)" "{\"id\":\"$id\",\"tenant_id\":\"acme\",\"status\":\"QUEUED\"}" \
	"... but the job's status event"
q "SET zixly.notify = events; SELECT zixly_cancel('$id')" >/dev/null
poll
is "$(on zixly_job_events | json status)" "CANCELLED" "zixly.notify = events: a cancel publishes CANCELLED"
is "$(psql -qXAt -c "SELECT zixly_wait()" -c "SET zixly.notify = 'sometimes'" 2>&1 | grep -c 'invalid value for parameter "zixly.notify"')" 1 \
	"zixly.notify refuses a value other than on, events or off"

# ---------------------------------------------------------------- zixly.notify = off, zixly_wait
q "SET zixly.notify = off; SELECT zixly_enqueue('noop'); SELECT count(*) FROM zixly_enqueue_batch('noop', '[{}, {}]')" >/dev/null
poll
is "$NOTES_N" 0 "zixly.notify = off: no NOTIFY at all"

# wait_across NAME TIMEOUT_MS OP SQL...: a zixly_wait in another session, from the current
# generation, while each SQL runs here; WAITED is whether the generation it returned is OP the one
# it waited from (t/f), WAIT_MS how long it took.
wait_across() {
	local name=$1 timeout=$2 op=$3 gen start waiter sql
	shift 3
	gen=$(q "SELECT zixly_wait()")
	start=$(date +%s%N)
	zx_spawn "$WORK/$name.out" psql -qXAt -c "SELECT zixly_wait($gen, $timeout) $op $gen"
	waiter=$ZX_LAST_PID
	sleep 0.3
	for sql in "$@"; do q "$sql" >/dev/null; done
	wait "$waiter"
	WAIT_MS=$(( ($(date +%s%N) - start) / 1000000 ))
	WAITED=$(cat "$WORK/$name.out")
}

wait_across wait1 20000 '>' "SET zixly.notify = off; SELECT zixly_enqueue('noop')"
is "$WAITED" "t" "zixly_wait in another session returns a newer generation after a commit with notify off"
ok "$( [ "$WAIT_MS" -lt 5000 ] && echo 0 || echo 1)" "... woken by the commit (${WAIT_MS} ms), not by its 20 s timeout"

wait_across wait2 1500 '=' "BEGIN; SELECT zixly_enqueue('noop'); ROLLBACK" \
	"BEGIN; SELECT zixly_enqueue('noop', run_at => now() + interval '1 hour'); ROLLBACK"
is "$WAITED" "t" "a rollback (of a job due now or later) does not wake zixly_wait ..."
ok "$( [ "$WAIT_MS" -ge 1400 ] && echo 0 || echo 1)" "... which waits out its timeout (${WAIT_MS} ms)"

wait_across wait3 1500 '=' "BEGIN; SAVEPOINT a; SELECT zixly_enqueue('noop'); ROLLBACK TO a; COMMIT"
is "$WAITED" "t" "an enqueue rolled back to a savepoint does not wake zixly_wait at the commit ..."
ok "$( [ "$WAIT_MS" -ge 1400 ] && echo 0 || echo 1)" "... which waits out its timeout (${WAIT_MS} ms)"
wait_across wait4 5000 '>' \
	"BEGIN; SAVEPOINT a; SELECT zixly_enqueue('noop'); RELEASE a; SAVEPOINT b; SELECT 1; ROLLBACK TO b; COMMIT"
is "$WAITED" "t" "one released with its savepoint does (a later savepoint's rollback keeps it)"

done_testing
