#!/usr/bin/env bash
# worker_metrics.t — GET /metrics and /health of one zixly-worker (TAP).
#
# Scraped right after start and again after a known set of jobs: completed sweeps, a sweep
# whose ticker has no prices (failed), a sweep whose first attempt cannot write its artifact
# (retried, then completed), an unknown job type, noop jobs.  Both scrapes pass
# `promtool check metrics`; the spec's pipeline_jobs_processed_total{job_type,status} counts
# exactly those outcomes; pipeline_job_duration_seconds has the spec's buckets
# (1 5 15 30 60 300 600 1800 +Inf), cumulative, +Inf = count; engine throughput
# (zixly_engine_bar_combinations_total) equals the bars x combinations the jobs report;
# claimed jobs equal the attempts in the database; the process_* metrics agree with /proc and
# `ulimit -n`; open database connections by role agree with pg_stat_activity; counters never
# go backwards between scrapes.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

command -v promtool >/dev/null || bail "promtool not installed (Debian package prometheus)"
zx_cluster_start
zx_db_create worker_metrics
zx_load_prices

MP=$(zx_free_port)
T0=$(date +%s.%N)
zw_start w1 --metrics-port "$MP" --concurrency 2 --threads 1
W1=$ZW_PID
T1=$(date +%s.%N)
M0=$ZW_TMP/m0.txt M1=$ZW_TMP/m1.txt
m0() { zw_metric "$M0" "$1"; }
m1() { zw_metric "$M1" "$1"; }
# the worker's connections as the server sees them
server_conns() { zx_sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zixly-worker'"; }
role_sum() { awk '$1 ~ /^zixly_worker_db_connections\{/ { s += $2 } END { print s + 0 }' "$1"; }

# ---------------------------------------------------------------- after start
zw_scrape "$MP" "$M0"
ok $? "GET /metrics answers"
check=$(promtool check metrics <"$M0" 2>&1)
ok $? "promtool check metrics passes before any job"
[ -z "$check" ] || diag "$check"
is "$(m0 'pipeline_jobs_processed_total{job_type="trading-sweep",status="completed"}')" 0 \
	"pipeline_jobs_processed_total is exported at 0 before any job"
is "$(awk -F'le="' '/^pipeline_job_duration_seconds_bucket\{job_type="trading-sweep"/ { split($2, a, "\""); printf "%s ", a[1] }' "$M0")" \
	"1 5 15 30 60 300 600 1800 +Inf " "pipeline_job_duration_seconds has the spec's buckets"
is "$(grep -c '^# TYPE pipeline_job_duration_seconds histogram$' "$M0")" 1 "as a histogram"
ok "$(awk -v a="$T0" -v b="$T1" -v s="$(m0 process_start_time_seconds)" 'BEGIN { exit !(s >= a - 1 && s <= b + 1) }' && echo 0 || echo 1)" \
	"process_start_time_seconds is when the worker started"
fds=$(ls "/proc/$W1/fd" | wc -l)
ok "$(awk -v m="$(m0 process_open_fds)" -v f="$fds" 'BEGIN { d = m - f; exit !(d >= -2 && d <= 2) }' && echo 0 || echo 1)" \
	"process_open_fds agrees with /proc/PID/fd ($fds)"
is "$(m0 process_max_fds)" "$(ulimit -n)" "process_max_fds is the descriptor limit"
rss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$W1/status")
ok "$(awk -v m="$(m0 process_resident_memory_bytes)" -v r="$rss" 'BEGIN { exit !(m > r / 2 && m < r * 2) }' && echo 0 || echo 1)" \
	"process_resident_memory_bytes agrees with VmRSS ($rss)"
ok "$(awk -v v="$(m0 process_virtual_memory_bytes)" -v r="$rss" 'BEGIN { exit !(v >= r) }' && echo 0 || echo 1)" \
	"process_virtual_memory_bytes is at least the resident size"
is "$(m0 'zixly_worker_db_connections{role="control"}') $(m0 'zixly_worker_db_connections{role="wait"}') $(m0 'zixly_worker_db_connections{role="claim"}') $(m0 'zixly_worker_db_connections{role="sweep"}')" \
	"1 1 2 0" "open connections by role: control, wait, 2 claim, no sweep yet"
is "$(role_sum "$M0")" "$(server_conns)" "they add up to the worker's sessions in pg_stat_activity"
is "$(m0 zixly_worker_ready)" 1 "zixly_worker_ready is 1"
is "$(m0 "zixly_worker_info{worker_id=\"w1\",version=\"$("$ZW_BIN" --version | awk '{ print $2 }')\"}")" 1 \
	"zixly_worker_info names the worker and its version"

# ---------------------------------------------------------------- a known set of jobs
# The retried job: its artifact directory is a file while its first attempt runs.
mv "$ZW_TMP/artifacts" "$ZW_TMP/artifacts.real"
touch "$ZW_TMP/artifacts"
J_RETRY=$(zw_enqueue trading-sweep '{"ticker":"SMI","strategy_type":"SMA","fast_range":[5,20],"slow_range":[30,60],"step":5}')
zw_wait_sql 30 "SELECT status = 'QUEUED' AND attempts = 1 FROM zixly.pipeline_jobs WHERE id = '$J_RETRY'"
like "$(zx_sql "SELECT error_message FROM zixly.pipeline_jobs WHERE id = '$J_RETRY'")" 'artifact' \
	"a sweep that cannot write its artifact goes back to the queue for another attempt"
rm "$ZW_TMP/artifacts"
mv "$ZW_TMP/artifacts.real" "$ZW_TMP/artifacts"
zw_enqueue trading-sweep '{"ticker":"DAX","strategy_type":"SMA","fast_range":[5,50],"slow_range":[20,200],"step":5}' >/dev/null
zw_enqueue trading-sweep '{"ticker":"FTSE","strategy_type":"EMA","fast_range":[2,100],"slow_range":[10,300],"step":1}' >/dev/null
zw_enqueue trading-sweep '{"ticker":"NOPE","strategy_type":"SMA","fast_range":[5,10],"slow_range":[20,30],"step":5}' >/dev/null
zw_enqueue mystery '{}' >/dev/null
zx_sql "SELECT count(*) FROM zixly_enqueue_batch('noop', '[{}, {}, {}, {}, {}]')" >/dev/null
zw_wait_sql 60 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT id, job_type, status, attempts FROM zixly.pipeline_jobs")"
is "$(zw_status "$J_RETRY")" "COMPLETED/2" "the retried sweep completed on its second attempt"

zw_scrape "$MP" "$M1"
check=$(promtool check metrics <"$M1" 2>&1)
ok $? "promtool check metrics passes after the jobs"
[ -z "$check" ] || diag "$check"
P='pipeline_jobs_processed_total'
is "$(m1 "$P{job_type=\"trading-sweep\",status=\"completed\"}") $(m1 "$P{job_type=\"trading-sweep\",status=\"failed\"}") $(m1 "$P{job_type=\"trading-sweep\",status=\"retried\"}")" \
	"3 1 1" "processed by status: 3 sweeps completed, 1 failed, 1 retried"
is "$(m1 "$P{job_type=\"noop\",status=\"completed\"}") $(m1 "$P{job_type=\"unknown\",status=\"failed\"}")" \
	"5 1" "5 noop jobs completed, the unknown job type failed"
is "$(awk -v p="$P" 'index($1, p "{") == 1 { s += $2 } END { print s }' "$M1")" 11 \
	"11 outcomes in all: nothing released, lost or counted twice"
H='pipeline_job_duration_seconds'
is "$(m1 "${H}_count{job_type=\"trading-sweep\"}") $(m1 "${H}_bucket{job_type=\"trading-sweep\",le=\"+Inf\"}") $(m1 "${H}_bucket{job_type=\"trading-sweep\",le=\"1800\"}")" \
	"5 5 5" "the duration histogram observed the 5 finished sweep attempts (+Inf = count; all under 30 min)"
is "$(m1 "${H}_count{job_type=\"noop\"}")" 5 "and the 5 noop jobs"
ok "$(awk -v h="${H}_bucket" 'index($1, h "{") == 1 { split($1, a, "le="); k = a[1]; if (k == prev && $2 < last) bad = 1; prev = k; last = $2 } END { exit bad }' "$M1" && echo 0 || echo 1)" \
	"buckets are cumulative"
ok "$(awk -v s="$(m1 "${H}_sum{job_type=\"trading-sweep\"}")" 'BEGIN { exit !(s > 0 && s < 5 * 60) }' && echo 0 || echo 1)" \
	"the histogram's sum is the time spent"
expect_bc=$(zx_sql "SELECT sum((metrics->>'bar_combinations')::float8) + (SELECT (metrics->>'bar_combinations')::float8
	FROM zixly.pipeline_jobs WHERE id = '$J_RETRY') FROM zixly.pipeline_jobs WHERE status = 'COMPLETED' AND job_type = 'trading-sweep'")
ok "$(zw_close "$(m1 zixly_engine_bar_combinations_total)" "$expect_bc" && echo 0 || echo 1)" \
	"engine throughput: bar-combinations = the jobs' bars x combinations, the retried run counted twice ($expect_bc)"
ok "$(awk -v s="$(m1 zixly_engine_seconds_total)" 'BEGIN { exit !(s > 0) }' && echo 0 || echo 1)" "engine seconds counted"
is "$(m1 zixly_worker_claimed_jobs_total)" "$(zx_sql "SELECT sum(attempts) FROM zixly.pipeline_jobs")" \
	"claimed jobs = the attempts recorded in the database"
is "$(m1 zixly_worker_jobs_in_flight) $(m1 zixly_worker_rescued_jobs_total) $(m1 zixly_worker_db_reconnects_total)" "0 0 0" \
	"nothing in flight, rescued or reconnected"
ok "$(awk -v a="$(m0 process_cpu_seconds_total)" -v b="$(m1 process_cpu_seconds_total)" 'BEGIN { exit !(b > a) }' && echo 0 || echo 1)" \
	"process_cpu_seconds_total grew with the work"
is "$(m1 process_start_time_seconds)" "$(m0 process_start_time_seconds)" "process_start_time_seconds does not move"
sweep_conns=$(m1 'zixly_worker_db_connections{role="sweep"}')
ok "$([ "$sweep_conns" -ge 1 ] && [ "$sweep_conns" -le 2 ] && echo 0 || echo 1)" \
	"one sweep connection per pool thread that ran a job ($sweep_conns of 2)"
is "$(role_sum "$M1")" "$(server_conns)" "connections by role add up to pg_stat_activity"
backwards=$(awk 'NR == FNR { if ($1 ~ /_total(\{|$)/) v[$1] = $2; next }
	($1 in v) && $2 < v[$1] { print $1 " " v[$1] " -> " $2 }' "$M0" "$M1")
is "$backwards" "" "no counter went backwards"

# ---------------------------------------------------------------- /health and other paths
is "$(curl -s "http://127.0.0.1:$MP/health")" '{"status":"healthy","database_connected":true}' "GET /health"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/health")" 200 "is 200 while the database is up"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/nope")" 404 "unknown paths are 404"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MP/metrics")" 405 "POST is 405"
like "$(curl -sI "http://127.0.0.1:$MP/metrics" | tr -d '\r')" 'Content-Type: text/plain; version=0.0.4' \
	"the exposition format's content type"

is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.2:$MP/metrics")" 200 \
	"by default it listens on every interface (127.0.0.2 answers too)"

zw_signal_wait "$W1" TERM 20
is "$ZW_EXIT" 0 "SIGTERM: exits 0"
ok "$(zw_clean_log w1 && echo 0 || echo 1)" "no error in the log"

# ---------------------------------------------------------------- --metrics-address
for addr in 127.0.0.1 ::1; do
	AP=$(zx_free_port)
	zw_start "addr-$addr" --metrics-port "$AP" --metrics-address "$addr" --queues none
	AW=$ZW_PID
	host=$addr; [ "$addr" = ::1 ] && host="[::1]"
	is "$(curl -s -o /dev/null -w '%{http_code}' "http://$host:$AP/metrics")" 200 "--metrics-address $addr: it answers there"
	is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.2:$AP/metrics")" 000 "... and not on another address (127.0.0.2)"
	like "$(grep event=metrics_listening "$ZW_TMP/addr-$addr.log")" "port=$AP address=$addr " "... as its log says"
	zw_signal_wait "$AW" TERM 20
done

done_testing
