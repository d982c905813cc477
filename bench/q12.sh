#!/usr/bin/env bash
# Q1 (enqueue-single) and Q2 (enqueue-batch) of bench/peers/WORKLOAD.md for zixly, plus the
# plain-INSERT ceiling they are judged against: pgbench, one-row INSERT into a table of the
# same shape as zixly.pipeline_jobs (LIKE ... INCLUDING ALL: same columns, defaults and
# indexes, no triggers), 1 client, autocommit, alternating with Q1. Same cluster settings as
# the peers (fsync on, synchronous_commit on); clean database and settle step before each timed
# phase.
set -u
cd "$(dirname "$0")/.."
. test/lib/harness.sh
Q1_N=${Q1_N:-20000}
Q2_N=${Q2_N:-100000}
Q2_BATCH=${Q2_BATCH:-1000}
CEILING_S=${CEILING_S:-10}
mkdir -p build/bench
cc -std=c11 -O2 -Wall -Wextra -I"$(pg_config --includedir)" -o build/bench/enqueue_bench bench/enqueue_bench.c -lpq ||
	{ echo "q12: cannot build enqueue_bench" >&2; exit 1; }

zx_cluster_start
export DATABASE_URL="host=127.0.0.1 port=$PGPORT user=postgres dbname=bench"
fresh_bench_db() {
	zx_db_create bench >/dev/null
	export DATABASE_URL="host=127.0.0.1 port=$PGPORT user=postgres dbname=bench"
}
settle() { psql -qX -d bench -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null; }

# Q1 and its ceiling alternate for ROUNDS rounds (shared machines drift); medians are reported.
ROUNDS=${ROUNDS:-3}
cat > build/bench/plain_insert.sql <<'SQL'
INSERT INTO plain_jobs (id, tenant_id, job_type, parameters)
VALUES (md5(random()::text), 'default', 'trading-sweep',
        '{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}');
SQL
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
q1s=() ceilings=()
for r in $(seq "$ROUNDS"); do
	fresh_bench_db; settle
	v=$(build/bench/enqueue_bench q1 "$Q1_N" | awk '/^RESULT/ {sub("value=", "", $NF); print $NF}')
	[ -n "$v" ] || { echo "q12: Q1 failed" >&2; exit 1; }
	q1s+=("$v")
	fresh_bench_db
	psql -qX -d bench -c "CREATE TABLE plain_jobs (LIKE zixly.pipeline_jobs INCLUDING ALL)" >/dev/null
	settle
	tps=$("$ZX_PG_BIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -c 1 -T "$CEILING_S" \
		-f build/bench/plain_insert.sql bench 2>/dev/null | awk '/^tps = / {print $3}')
	[ -n "$tps" ] || { echo "q12: pgbench failed" >&2; exit 1; }
	ceilings+=("$tps")
	echo "INFO bench=Q1 round=$r zixly=$v plain_insert=$tps"
done
q1=$(printf '%s\n' "${q1s[@]}" | median)
ceiling=$(printf '%s\n' "${ceilings[@]}" | median)
printf 'RESULT system=zixly bench=Q1 metric=jobs_per_s value=%.2f\n' "$q1"
printf 'RESULT system=plain-insert bench=Q1 metric=jobs_per_s value=%.2f\n' "$ceiling"
awk -v a="$q1" -v b="$ceiling" 'BEGIN {printf "INFO bench=Q1 share_of_plain_insert_pct=%.1f\n", 100 * a / b}'

fresh_bench_db; settle
build/bench/enqueue_bench q2 "$Q2_N" "$Q2_BATCH" || exit 1
