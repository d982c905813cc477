#!/usr/bin/env bash
# make bench: every zixly benchmark, then the peers' (bench/peers in the shared folder beside
# this repository, when present), so that all RESULT lines come from one run on one machine.
#   RESULT system=<name> bench=<Q1|Q2|Q3|Q4|W1|engine> metric=<...> value=<number>
# ZIXLY_BENCH="q12 q3 q4 w1 engine" picks ours; PEERS=0 skips the peers.
set -u
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-build/bench/results-$(date +%Y%m%d-%H%M%S).txt}
mkdir -p "$(dirname "$out")"
: >"$out"
failed=0
run() {
	echo "bench: $*" >&2
	"$@" 2>>"${out%.txt}.log" | tee -a "$out" || { echo "bench: $* FAILED" >&2; failed=1; }
}
for b in ${ZIXLY_BENCH:-engine q12 q3 q4 w1}; do
	case $b in
		engine) [ -f worker/Makefile ] && make --no-print-directory -C worker bench-engine >&2 &&
			run bin/zixly-engine-bench ;;
		q12) run bench/q12.sh ;;
		*) [ -x "bench/$b.sh" ] && run "bench/$b.sh" ;;
	esac
done
peers=$(cd .. && pwd)/shared/bench/peers
if [ "${PEERS:-1}" != 0 ] && [ -x "$peers/run-all.sh" ]; then
	echo "bench: peers (graphile-worker, pg-boss, BullMQ, Express) from $peers" >&2
	# run-all.sh prints each RESULT line as it comes and again in its summary: keep the first
	"$peers/run-all.sh" 2>>"${out%.txt}.log" | grep '^RESULT ' |
		awk '!seen[$0]++ { print; fflush() }' | tee -a "$out"
fi
echo "bench: results in $out" >&2
exit $failed
