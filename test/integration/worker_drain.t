#!/usr/bin/env bash
# worker_drain.t — several zixly-worker processes drain many jobs (TAP).
#
# Three workers (one of them the ASan + UBSan build), each with several sweep slots and small
# claim batches so that their claims interleave, all with the safety poll at 60 s: the jobs
# arrive while they run, from four producers at once (batches of noop jobs, and trading-sweep
# jobs over the four sample tickers one by one), so every job must be found through wake-ups.
# Then: every job COMPLETED on its first attempt; every sweep has exactly one set of 10 rows
# (ranks 1..10, one sweep_run_id, the one in its result) and one job_completed log line in
# all the logs; the workers' pipeline_jobs_processed_total add up to the number of jobs, with
# nothing failed, retried, lost or rescued; sampled sweeps equal zixly-sweep's output;
# every worker exits 0 on SIGTERM with a clean log.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

DATA=$ZX_ROOT/data/eustockmarkets.csv
NOOP_BATCHES=20 NOOP_PER_BATCH=50 SWEEPS_PER_PRODUCER=15 PRODUCERS=4
NOOPS=$((PRODUCERS * NOOP_BATCHES * NOOP_PER_BATCH)) SWEEPS=$((PRODUCERS * SWEEPS_PER_PRODUCER))
TOTAL=$((NOOPS + SWEEPS))

zx_cluster_start
zx_db_create worker_drain
zx_load_prices

PORTS=()
PIDS=()
for w in w1 w2 w3; do
	p=$(zx_free_port)
	while [[ " ${PORTS[*]} " == *" $p "* ]]; do p=$(zx_free_port); done
	PORTS+=("$p")
	if [ "$w" = w3 ]; then zw_use_asan; fi
	zw_start "$w" --metrics-port "$p" --concurrency 3 --threads 1 --claim-batch 25 --poll-interval 60
	PIDS+=("$ZW_PID")
done

# ---------------------------------------------------------------- four producers at once
# producer N: noop batches interleaved with single sweeps; grids differ by producer and step
producer() {
	local n=$1 i tickers=(DAX SMI CAC FTSE) strategies=(SMA EMA MACD)
	for i in $(seq 1 "$NOOP_BATCHES"); do
		echo "SELECT count(*) FROM zixly_enqueue_batch('noop', (SELECT jsonb_agg(jsonb_build_object('p', $n, 'b', $i, 'k', g)) FROM generate_series(1, $NOOP_PER_BATCH) g));"
		if [ "$i" -le "$SWEEPS_PER_PRODUCER" ]; then
			echo "SELECT id FROM zixly_enqueue('trading-sweep', '{\"ticker\":\"${tickers[$(( (n + i) % 4 ))]}\",\"strategy_type\":\"${strategies[$(( i % 3 ))]}\",\"fast_range\":[$((2 + n)),$((20 + i))],\"slow_range\":[30,$((60 + 5 * i))],\"step\":$((1 + i % 3))}');"
		fi
	done | psql -qXAt -v ON_ERROR_STOP=1 >"$ZW_TMP/producer$n.out" 2>&1
}
PRODUCER_PIDS=()
for n in $(seq 1 "$PRODUCERS"); do producer "$n" & PRODUCER_PIDS+=($!); done
wait_ok=0
for pid in "${PRODUCER_PIDS[@]}"; do wait "$pid" || wait_ok=1; done
ok $wait_ok "$PRODUCERS producers enqueued $NOOPS noop and $SWEEPS trading-sweep jobs"
is "$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs")" "$TOTAL" "all $TOTAL jobs are in the table"

zw_wait_sql 50 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT status, count(*) FROM zixly.pipeline_jobs GROUP BY 1")"

# ---------------------------------------------------------------- exactly once
is "$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'COMPLETED' AND attempts = 1")" "$TOTAL" \
	"every job COMPLETED on its first attempt (found through wake-ups; safety poll at 60 s)"
is "$(zx_sql "SELECT count(*) FROM zixly.trading_sweep_results")" "$((SWEEPS * 10))" \
	"$((SWEEPS * 10)) result rows: 10 per sweep"
is "$(zx_sql "SELECT count(*) FROM (SELECT j.id FROM zixly.pipeline_jobs j JOIN zixly.trading_sweep_results r ON r.job_id = j.id
	WHERE j.job_type = 'trading-sweep'
	GROUP BY j.id HAVING count(*) = 10 AND count(DISTINCT r.rank) = 10 AND min(r.rank) = 1 AND max(r.rank) = 10
	   AND count(DISTINCT r.sweep_run_id) = 1 AND min(r.sweep_run_id) = min(j.result->>'sweep_run_id')
	   AND min(j.locked_by) = min(j.result->>'worker_id')) s")" "$SWEEPS" \
	"each sweep has one set of rows: ranks 1..10, the sweep_run_id of its result, written by the worker that completed it"
cat "$ZW_TMP"/w[123].log | grep -o 'event=job_completed job_id=[^ ]*' | sort | uniq -c | awk '$1 != 1' >"$ZW_TMP/dup.txt"
is "$(grep -c 'event=job_completed' "$ZW_TMP"/w[123].log | awk -F: '{ s += $2 } END { print s }') $(wc -l <"$ZW_TMP/dup.txt")" \
	"$SWEEPS 0" "one job_completed line per sweep across the three logs"
is "$(zx_sql "SELECT count(DISTINCT locked_by) > 1 FROM zixly.pipeline_jobs")" t "the jobs were shared between workers"

sum=0 others=0 rescued=0 i=0
for w in w1 w2 w3; do
	zw_scrape "${PORTS[$i]}" "$ZW_TMP/$w.prom" || diag "cannot scrape $w"
	c=$(awk '$1 ~ /^pipeline_jobs_processed_total\{.*status="completed"/ { s += $2 } END { print s + 0 }' "$ZW_TMP/$w.prom")
	o=$(awk '$1 ~ /^pipeline_jobs_processed_total\{.*status="(failed|retried|lost)"/ { s += $2 } END { print s + 0 }' "$ZW_TMP/$w.prom")
	is "$c" "$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs WHERE locked_by = '$w'")" \
		"$w: pipeline_jobs_processed_total{status=\"completed\"} = the jobs it completed in the database"
	sum=$((sum + c)) others=$((others + o)) rescued=$((rescued + $(zw_metric "$ZW_TMP/$w.prom" zixly_worker_rescued_jobs_total)))
	i=$((i + 1))
done
is "$sum" "$TOTAL" "the workers' completed counts add up to the $TOTAL jobs"
is "$others $rescued" "0 0" "nothing failed, retried, lost or rescued (a sweep claimed beyond the free slots is released)"

# ---------------------------------------------------------------- sampled results: one sweep per worker
while IFS='|' read -r id ticker strategy f0 f1 s0 s1 step signal; do
	args=(--ticker "$ticker" --strategy "$strategy" --fast "$f0:$f1" --slow "$s0:$s1" --step "$step")
	[ "$strategy" = MACD ] && args+=(--signal "$signal")
	out=$(zw_compare_top "$id" "$DATA" "${args[@]}")
	is "$(tail -1 <<<"$out")" "rows 10 mismatches 0" "sweep $ticker $strategy $f0:$f1 $s0:$s1/$step equals zixly-sweep's top 10"
	[ "$(tail -1 <<<"$out")" = "rows 10 mismatches 0" ] || diag "$out"
done < <(zx_sql "SELECT id, parameters->>'ticker', parameters->>'strategy_type', parameters->'fast_range'->>0,
	parameters->'fast_range'->>1, parameters->'slow_range'->>0, parameters->'slow_range'->>1, parameters->>'step',
	coalesce(parameters->>'signal_period', '9')
	FROM (SELECT DISTINCT ON (locked_by) * FROM zixly.pipeline_jobs WHERE job_type = 'trading-sweep'
	ORDER BY locked_by, created_at DESC) j ORDER BY locked_by")

# ---------------------------------------------------------------- stop
i=0
for w in w1 w2 w3; do
	zw_signal_wait "${PIDS[$i]}" TERM 30
	is "$ZW_EXIT" 0 "$w: SIGTERM, exit 0"
	ok "$(zw_clean_log "$w" && echo 0 || echo 1)" "$w: no error in the log$([ "$w" = w3 ] && echo ', no sanitizer report')"
	i=$((i + 1))
done

done_testing
