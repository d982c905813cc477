#!/usr/bin/env bash
# Several connections claim and complete 5,000 jobs at once; every job must be completed exactly
# once. Each worker is a psql session running a procedure that claims (committed), then completes
# and records the completion in a side table in the same transaction, so a job completed twice
# or never shows up there. Two workers complete one job at a time (one of them fails some jobs
# once, which sends them through the retry backoff), two use zixly_complete_batch; all of them
# call zixly_rescue between batches, as live workers do, which must not take live jobs away.
# Also: concurrent enqueues with the same idempotency keys make one job per key.
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

done_testing
