#!/usr/bin/env bash
# Q3 (drain) of bench/peers/WORKLOAD.md for zixly: 20,000 pre-loaded jobs drained by
#   system=zixly        1 zixly-worker process, --concurrency 10
#   system=zixly-2proc  2 zixly-worker processes, --concurrency 10 each
# on a throwaway cluster with WORKLOAD.md's settings (test/lib/harness.sh: fsync on,
# synchronous_commit on, max_connections 200), clients and workers over TCP to 127.0.0.1.
#
# Each variant: clean database (DROP/CREATE + CREATE EXTENSION zixly, untimed), pre-load by the
# Q2 method (zixly_enqueue_batch, 1000 jobs per call) and check the count, settle (VACUUM
# ANALYZE; CHECKPOINT).  Workers start with --paused: they connect and prepare, log
# event=ready and take no job until SIGUSR1 ("go"); t0 is taken just before that signal, so
# process start-up is not timed.  Once the workers' /metrics count N jobs completed (read every
# 20 ms), the store is polled; t1: the first poll (every 5 ms, one dedicated connection)
# reporting 0 jobs not yet completed.  See bench/queue_bench.c.
#
# The jobs are of zixly's built-in job type `noop` (the handler does nothing but, for Q4,
# record its start time), with payload P.
# Claims are batched: up to 1000 jobs per zixly_claim call, sent on 2 connections per process
# while a backlog drains, and completions are batched (one zixly_complete_batch per claim).
# Completed rows are kept (status COMPLETED), as pg-boss and BullMQ keep theirs.
set -u
cd "$(dirname "$0")/.."
. test/lib/harness.sh
Q3_N=${Q3_N:-20000}
Q3_CONCURRENCY=${Q3_CONCURRENCY:-10}
WORKER=${ZIXLY_WORKER_BIN:-bin/zixly-worker}
[ -x "$WORKER" ] || { echo "q3: $WORKER is not built (make -C worker)" >&2; exit 1; }
make -s -C bench >&2 || { echo "q3: cannot build bench/queue_bench" >&2; exit 1; }
logs=$(mktemp -d /tmp/zixly-q3.XXXXXX)

zx_cluster_start
export DATABASE_URL="host=127.0.0.1 port=$PGPORT user=postgres dbname=bench"

variant() {
	local system=$1 procs=$2 pids=() workers=() i port rc=0
	zx_db_create bench >/dev/null
	export DATABASE_URL="host=127.0.0.1 port=$PGPORT user=postgres dbname=bench"
	build/bench/queue_bench preload "$Q3_N" || return 1
	psql -qX -d bench -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null || return 1
	for i in $(seq 1 "$procs"); do
		port=$(zx_free_port)
		zx_spawn "$logs/$system-$i.log" "$WORKER" --paused --concurrency "$Q3_CONCURRENCY" \
			--metrics-port "$port" --worker-id "q3-$system-$i"
		pids+=("$ZX_LAST_PID")
		workers+=("$ZX_LAST_PID:$port")
	done
	for i in $(seq 1 "$procs"); do
		zx_wait_for "worker $i ready" 30 grep -q "event=ready" "$logs/$system-$i.log" || return 1
	done
	build/bench/queue_bench q3 "$system" "$Q3_N" "${workers[@]}" || rc=1
	for i in "${pids[@]}"; do zx_stop "$i"; done
	grep -h "level=error" "$logs/$system"-*.log >&2 && rc=1
	return $rc
}

rc=0
variant zixly 1 || rc=1
variant zixly-2proc 2 || rc=1
[ $rc = 0 ] && rm -rf "$logs" || echo "q3: worker logs in $logs" >&2
exit $rc
