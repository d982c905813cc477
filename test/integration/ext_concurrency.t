#!/usr/bin/env bash
# Several connections claim and complete 5,000 jobs at once; every job must be completed exactly
# once. Each worker is a psql session running a procedure that claims (committed), then completes
# and records the completion in a side table in the same transaction, so a job completed twice
# or never shows up there. Two workers complete one job at a time (one of them fails some jobs
# once, which sends them through the retry backoff), two use zixly_complete_batch; all of them
# call zixly_rescue between batches, as live workers do, which must not take live jobs away.
# Also: concurrent enqueues with the same idempotency keys make one job per key, and a rescue in
# a transaction block does not take the job of a worker that connected during it; a transition
# that lost a race names the status that beat it.
. "$(dirname "$0")/../lib/harness.sh"

JOBS=5000
WORKERS="w1:single w2:flaky w3:batch w4:batch"
zx_cluster_start
zx_db_create zx_concurrency
WORK=$ZX_CLUSTER/concurrency
mkdir -p "$WORK"
# a worker that hangs must not hang the suite
export PGOPTIONS="-c statement_timeout=90s"

q() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }

psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bail "setup failed"
CREATE TABLE completions (job_id text NOT NULL, worker text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE idem (key text NOT NULL, job_id text NOT NULL, session int NOT NULL);

-- A worker: claim up to 1..10 jobs (committed), complete them (recording each completion in the
-- same transaction), rescue, repeat until nothing is QUEUED any more.
CREATE PROCEDURE work(w text, mode text) LANGUAGE plpgsql AS $$
DECLARE
	ids text[];
	j record;
BEGIN
	LOOP
		SELECT array_agg(c.id) INTO ids FROM zixly_claim(w, 1 + (random() * 9)::int) c;
		COMMIT;
		IF ids IS NULL THEN
			EXIT WHEN NOT EXISTS (SELECT 1 FROM zixly.pipeline_jobs WHERE status = 'QUEUED');
			PERFORM pg_sleep(0.02);
			CONTINUE;
		END IF;
		IF mode = 'batch' THEN
			INSERT INTO completions (job_id, worker) SELECT c, w FROM zixly_complete_batch(w, ids) c;
		ELSE
			FOR j IN SELECT p.id, p.attempts, (p.parameters->>'n')::int AS n
			           FROM zixly.pipeline_jobs p WHERE p.id = ANY (ids) LOOP
				IF mode = 'flaky' AND j.n % 50 = 0 AND j.attempts = 1 THEN
					PERFORM zixly_fail(j.id, w, 'flaky ' || w);
				ELSE
					PERFORM zixly_complete(j.id, w, jsonb_build_object('by', w));
					INSERT INTO completions (job_id, worker) VALUES (j.id, w);
				END IF;
			END LOOP;
		END IF;
		PERFORM zixly_rescue();
		COMMIT;
	END LOOP;
END $$;

-- Enqueues keys k1..k300 one transaction each, recording the id it got back.
CREATE PROCEDURE enqueue_keys(session int) LANGUAGE plpgsql AS $$
BEGIN
	FOR g IN 1..300 LOOP
		INSERT INTO idem SELECT 'k' || g, (zixly_enqueue('keyed', jsonb_build_object('s', session), queue => 'keyed',
		                                                  idempotency_key => 'k' || g)).id, session;
		COMMIT;
	END LOOP;
END $$;
SQL

# ---------------------------------------------------------------- 5,000 jobs, 4 workers
for b in $(seq 0 $((JOBS / 1000 - 1))); do
	q "SELECT count(*) FROM zixly_enqueue_batch('noop',
	     (SELECT jsonb_agg(jsonb_build_object('n', g) ORDER BY g) FROM generate_series($b * 1000 + 1, $b * 1000 + 1000) g))" >/dev/null
done
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'QUEUED'")" "$JOBS" "$JOBS jobs queued"

start=$(date +%s%N)
pids=()
for wm in $WORKERS; do
	zx_spawn "$WORK/${wm%%:*}.log" psql -qX -v ON_ERROR_STOP=1 -c "CALL work('${wm%%:*}', '${wm#*:}')"
	pids+=("$ZX_LAST_PID")
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$failed" 0 "all 4 workers ran to the end without an error"
[ "$failed" = 0 ] || diag "$(cat "$WORK"/w*.log)"
diag "4 workers: $JOBS jobs claimed and completed in ${ms} ms"

is "$(q "SELECT count(*) FROM completions")" "$JOBS" "$JOBS completions recorded"
is "$(q "SELECT count(*) FROM (SELECT job_id FROM completions GROUP BY job_id HAVING count(*) > 1) d")" 0 \
	"no job was completed twice"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs j WHERE NOT EXISTS (SELECT 1 FROM completions c WHERE c.job_id = j.id)")" 0 \
	"every job was completed"
is "$(q "SELECT count(*) FROM completions c WHERE NOT EXISTS (SELECT 1 FROM zixly.pipeline_jobs j WHERE j.id = c.job_id)")" 0 \
	"every completion is of a real job"
is "$(q "SELECT string_agg(status || '=' || n, ',') FROM (SELECT status, count(*) n FROM zixly.pipeline_jobs GROUP BY 1) s")" \
	"COMPLETED=$JOBS" "every job is COMPLETED: none left QUEUED, RUNNING or FAILED"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs j JOIN completions c ON c.job_id = j.id WHERE j.locked_by <> c.worker")" 0 \
	"each job was completed by the worker that held it"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs j JOIN completions c ON c.job_id = j.id
          WHERE c.worker IN ('w1', 'w2') AND j.result <> jsonb_build_object('by', c.worker)")" 0 \
	"results were stored by the completing worker"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE attempts = 1 OR attempts = 2 AND (parameters->>'n')::int % 50 = 0")" "$JOBS" \
	"no job was claimed twice: one attempt each, two for those w2 failed once"
retried=$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE attempts = 2")
ok "$( [ "$retried" -gt 0 ] && echo 0 || echo 1)" "some jobs went through a failure and the retry backoff ($retried)"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE error_message IS NOT NULL")" 0 "completion cleared the errors of retried jobs"
for wm in $WORKERS; do
	w=${wm%%:*}
	n=$(q "SELECT count(*) FROM completions WHERE worker = '$w'")
	ok "$( [ "$n" -gt 0 ] && echo 0 || echo 1)" "worker $w completed jobs too ($n)"
done
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE lease_expires_at IS NOT NULL OR locked_pid IS NOT NULL")" 0 \
	"no lease is left behind"

# ---------------------------------------------------------------- idempotency under concurrency
pids=()
for s in 1 2 3 4; do
	zx_spawn "$WORK/idem$s.log" psql -qX -v ON_ERROR_STOP=1 -c "CALL enqueue_keys($s)"
	pids+=("$ZX_LAST_PID")
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
is "$failed" 0 "4 sessions enqueued the same 300 idempotency keys concurrently without an error"
[ "$failed" = 0 ] || diag "$(cat "$WORK"/idem*.log)"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE queue = 'keyed'")" 300 "one job per key"
is "$(q "SELECT count(*) FROM idem")" 1200 "every session got an answer for every key"
is "$(q "SELECT count(*) FROM (SELECT key FROM idem GROUP BY key HAVING count(DISTINCT job_id) > 1) d")" 0 \
	"all sessions got the same job for the same key"

# zixly_rescue in a transaction block: a worker that connected after the transaction first looked
# at the backends is alive all the same (the rescue reads them afresh on every call).
j0=$(q "SELECT (zixly_enqueue('noop', queue => 'late')).id")
zx_spawn "$WORK/w0.out" psql -qXAt -c "SELECT count(*) FROM zixly_claim('w0', 1, ARRAY['late'])" -c "SELECT pg_sleep(8)"
zw0=$ZX_LAST_PID
zx_wait_for "w0 holds its job" 10 sh -c "[ \"\$(psql -qXAt -c \"SELECT status FROM zixly.pipeline_jobs WHERE id = '$j0'\")\" = RUNNING ]"
mkfifo "$WORK/rescuer.in"
zx_spawn "$WORK/rescuer.out" psql -XAt -v ON_ERROR_STOP=1 -f "$WORK/rescuer.in"
exec 4>"$WORK/rescuer.in"
echo "BEGIN; SELECT 'first', zixly_rescue();" >&4
zx_wait_for "first rescue" 10 grep -q "^first|" "$WORK/rescuer.out"
j1=$(q "SELECT (zixly_enqueue('noop', queue => 'late')).id")
zx_spawn "$WORK/w1.out" psql -qXAt -c "SELECT count(*) FROM zixly_claim('w1', 1, ARRAY['late'])" -c "SELECT pg_sleep(4)"
zw1=$ZX_LAST_PID
zx_wait_for "w1 holds its job" 10 sh -c "[ \"\$(psql -qXAt -c \"SELECT status FROM zixly.pipeline_jobs WHERE id = '$j1'\")\" = RUNNING ]"
echo "SELECT 'second', zixly_rescue(); COMMIT;" >&4
zx_wait_for "second rescue" 10 grep -q "^second|" "$WORK/rescuer.out"
exec 4>&-
is "$(grep -h "^first|\|^second|" "$WORK/rescuer.out" | paste -sd ' ')" "first|0 second|0" \
	"rescue twice in one transaction, a worker connecting in between: nothing rescued"
is "$(q "SELECT status || ' ' || locked_by FROM zixly.pipeline_jobs WHERE id = '$j1'")" "RUNNING w1" \
	"the later worker keeps its job"
wait "$zw0" "$zw1"

# a transition that lost a race says why from what won it: a complete that waited on a cancel
j2=$(q "SELECT (zixly_enqueue('noop', queue => 'race')).id")
q "SELECT count(*) FROM zixly_claim('w2', 1, ARRAY['race'])" >/dev/null
mkfifo "$WORK/canceller.in"
zx_spawn "$WORK/canceller.out" psql -XAt -v ON_ERROR_STOP=1 -f "$WORK/canceller.in"
exec 5>"$WORK/canceller.in"
echo "BEGIN; SELECT 'cancelled', status FROM zixly_cancel('$j2');" >&5
zx_wait_for "cancel in flight" 10 grep -q "^cancelled|" "$WORK/canceller.out"
zx_spawn "$WORK/completer.out" psql -qXAt -c "SELECT zixly_complete('$j2', 'w2')"
zc=$ZX_LAST_PID
zx_wait_for "complete waits on the cancel's lock" 10 sh -c "[ \"\$(psql -qXAt -c \"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%zixly_complete%'\")\" = 1 ]"
echo "COMMIT;" >&5
exec 5>&-
wait "$zc"
like "$(cat "$WORK/completer.out")" "cannot complete job \"$j2\": its status is CANCELLED" \
	"a complete that waited on a concurrent cancel names the cancel as the reason"

done_testing
