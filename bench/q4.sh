#!/usr/bin/env bash
# Q4 (enqueue-to-start latency) of bench/peers/WORKLOAD.md for zixly, on a throwaway cluster
# with WORKLOAD.md's settings (test/lib/harness.sh), clients and worker over TCP to 127.0.0.1.
#
# Clean database (untimed), settle (VACUUM ANALYZE; CHECKPOINT).  One zixly-worker with the Q3
# configuration (--concurrency 10), started --paused: it connects, logs event=ready, gets "go"
# (SIGUSR1) and is left idle for 1,000 ms (waiting in zixly_wait() and LISTENing).  Then one
# producer (bench/queue_bench.c q4) enqueues M = 500 noop jobs, one SELECT zixly_enqueue(...)
# per call in autocommit, call i starting at max(t0 + 20 ms * i, the return of call i-1); each
# payload is P plus "enq_mono_ms" (CLOCK_MONOTONIC ms read just before the call).  The
# worker's noop handler reads CLOCK_MONOTONIC as its first action and appends
# start - enq_mono_ms to --latency-file; the nearest-rank p50/p95/p99 of the 500 are printed.
# Then the floor (system=plain-insert): the same 500 calls, same pace, as a plain INSERT into
# q4_floor; no job can start before its commit is visible, so no queue here beats these.
# Last, an INFO line: a round trip that writes nothing, at the same pace and back to back,
# which shows what waking idle processes costs on this host.
set -u
cd "$(dirname "$0")/.."
. test/lib/harness.sh
Q4_N=${Q4_N:-500}
Q4_GAP_MS=${Q4_GAP_MS:-20}
Q4_IDLE_MS=${Q4_IDLE_MS:-1000}
WORKER=${ZIXLY_WORKER_BIN:-bin/zixly-worker}
[ -x "$WORKER" ] || { echo "q4: $WORKER is not built (make -C worker)" >&2; exit 1; }
make -s -C bench >&2 || { echo "q4: cannot build bench/queue_bench" >&2; exit 1; }
logs=$(mktemp -d /tmp/zixly-q4.XXXXXX)

zx_cluster_start
zx_db_create bench >/dev/null
export DATABASE_URL="host=127.0.0.1 port=$PGPORT user=postgres dbname=bench"
psql -qX -d bench -c "CREATE TABLE q4_floor (id bigserial PRIMARY KEY, parameters jsonb NOT NULL)" \
	-c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null || exit 1
zx_spawn "$logs/worker.log" "$WORKER" --paused --concurrency 10 --metrics-port 0 \
	--worker-id q4-zixly --latency-file "$logs/latency.txt"
pid=$ZX_LAST_PID
zx_wait_for "worker ready" 30 grep -q "event=ready" "$logs/worker.log" || exit 1
kill -USR1 "$pid"
sleep "$(awk -v ms="$Q4_IDLE_MS" 'BEGIN { printf "%.3f", ms / 1000 }')"
rc=0
build/bench/queue_bench q4 "$Q4_N" "$Q4_GAP_MS" "$logs/latency.txt" || rc=1
zx_stop "$pid"
grep "level=error" "$logs/worker.log" >&2 && rc=1
[ $rc = 0 ] && rm -rf "$logs" || echo "q4: worker log in $logs" >&2
exit $rc
