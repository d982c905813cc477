#!/usr/bin/env bash
# The app's /metrics with two Kore worker processes: whichever worker answers, every scrape
# shows the same processes (process="main" for Kore's parent, "worker1", "worker2"), with
# process_cpu_seconds_total, process_resident_memory_bytes, process_start_time_seconds and
# process_open_fds that match what /proc says about those pids, counters that do not go
# backwards, and zixly_app_db_connections{state} that matches the sessions PostgreSQL sees
# from the app after concurrent requests. promtool accepts every scrape.
. "$(dirname "$0")/../lib/harness.sh"
. "$ZX_ROOT/kore-app/test/app_helpers.sh"

zx_cluster_start
app_db app_metrics
KEY=$(zx_sql "SELECT zixly_create_api_key('acme', 'metrics test')")
app_start ZIXLY_APP_WORKERS=2 ZIXLY_RATE_LIMIT=1000000 ZIXLY_DB_POOL=8
P='{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'
MAIN=$APP_PID
WORKERS=$(pgrep -P "$MAIN" | sort -n | paste -sd' ')
is "$(echo "$WORKERS" | wc -w)" 2 "the app runs two Kore workers under its main process"

scrape() { curl -s -m 10 "$APP_URL/metrics"; }
val() { awk -v s="$1" 'index($0, s " ") == 1 { print $2 }'; }

# ---------------------------------------------------------------- every scrape, every process
same=0 ok_promtool=0
for i in $(seq 1 8); do
	m=$(scrape)
	names=$(printf '%s\n' "$m" | sed -n 's/^process_cpu_seconds_total{process="\([a-z0-9]*\)"}.*/\1/p' | paste -sd' ')
	[ "$names" = "main worker1 worker2" ] && same=$((same + 1))
	printf '%s\n' "$m" | promtool check metrics >/dev/null 2>&1 && ok_promtool=$((ok_promtool + 1))
done
is "$same" 8 "eight scrapes each list main, worker1 and worker2"
is "$ok_promtool" 8 "promtool check metrics passes on each"
for f in process_resident_memory_bytes process_start_time_seconds process_open_fds; do
	is "$(printf '%s\n' "$m" | grep -c "^$f{process=\"\(main\|worker1\|worker2\)\"} [0-9.]*$")" 3 "$f for the three processes"
done

# ---------------------------------------------------------------- the figures are /proc's
# Series are named by Kore's worker id, which Kore logs with each worker's pid.
btime=$(awk '/^btime/ {print $2}' /proc/stat)
tck=$(getconf CLK_TCK)
start_of() { awk -v b="$btime" -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.2f\n", b + $20 / t }' "/proc/$1/stat"; }
cpu_of() { awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / t }' "/proc/$1/stat"; }
rss_of() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$1/status"; }
fds_of() { ls "/proc/$1/fd" | wc -l; }
declare -A PID_OF
PID_OF[main]=$MAIN
for w in 1 2; do
	PID_OF[worker$w]=$(sed -n "s/.*worker $w started (cpu#[0-9]*, pid#\([0-9]*\)).*/\1/p" "$APP_LOG" | tail -1)
done
is "$(printf '%s\n' ${PID_OF[worker1]} ${PID_OF[worker2]} | sort -n | paste -sd' ')" "$WORKERS" "Kore's log names the two workers' pids"
for n in main worker1 worker2; do
	pid=${PID_OF[$n]}
	m=$(scrape)
	is "$(printf '%s\n' "$m" | val "process_start_time_seconds{process=\"$n\"}")" "$(start_of "$pid")" \
		"$n: the start time is /proc's"
	rss=$(printf '%s\n' "$m" | val "process_resident_memory_bytes{process=\"$n\"}")
	cpu=$(printf '%s\n' "$m" | val "process_cpu_seconds_total{process=\"$n\"}")
	fds=$(printf '%s\n' "$m" | val "process_open_fds{process=\"$n\"}")
	want_rss=$(rss_of "$pid") want_cpu=$(cpu_of "$pid") want_fds=$(fds_of "$pid")
	ok "$(awk -v a="$rss" -v b="$want_rss" 'BEGIN { exit !(a > 0 && a >= b * 0.8 && a <= b * 1.25) }' && echo 0 || echo 1)" \
		"$n: resident memory $rss is /proc's ($want_rss)"
	ok "$(awk -v a="$cpu" -v b="$want_cpu" 'BEGIN { exit !(a >= 0 && a <= b + 0.005) }' && echo 0 || echo 1)" \
		"$n: CPU seconds $cpu, at most /proc's ($want_cpu)"
	ok "$(awk -v a="$fds" -v b="$want_fds" 'BEGIN { d = a - b; exit !(d >= -2 && d <= 2) }' && echo 0 || echo 1)" \
		"$n: open descriptors $fds are /proc's ($want_fds)"
done

# ---------------------------------------------------------------- load, counters, connections
before=$(scrape)
PIDS=()
for c in $(seq 1 12); do
	( for i in $(seq 1 10); do
		curl -s -m 10 -o /dev/null -X POST -H 'Content-Type: application/json' -H "X-API-Key: $KEY" \
			--data-binary "$P" "$APP_URL/webhook/trading-sweep"
		curl -s -m 10 -o /dev/null "$APP_URL/health"
	done ) &
	PIDS+=($!)
done
wait "${PIDS[@]}"
sleep 1.2	# each worker publishes its connection counts every second
after=$(scrape)
back=0
for n in main worker1 worker2; do
	b=$(printf '%s\n' "$before" | val "process_cpu_seconds_total{process=\"$n\"}")
	a=$(printf '%s\n' "$after" | val "process_cpu_seconds_total{process=\"$n\"}")
	awk -v a="$a" -v b="$b" 'BEGIN { exit !(a >= b) }' || back=1
done
is "$back" 0 "process_cpu_seconds_total does not go backwards under load"
sessions=$(zx_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'zixly_web' AND datname = 'app_metrics'")
active=$(printf '%s\n' "$after" | val 'zixly_app_db_connections{state="active"}')
idle=$(printf '%s\n' "$after" | val 'zixly_app_db_connections{state="idle"}')
is "$active" 0 "no connection is busy once the load is over"
is "$((active + idle))" "$sessions" "the app's open connections are the sessions PostgreSQL sees from it ($sessions)"
ok "$([ "$sessions" -ge 1 ] && [ "$sessions" -le 16 ] && echo 0 || echo 1)" "at least one, at most two pools of 8 ($sessions)"

# dashboard pages (and their 304 revalidations) and the live socket have routes of their own
req GET /dashboard
etag=$(hdr etag)
req GET /dashboard -H "If-None-Match: $etag"
is "$ST" 304 "a page revalidated with its ETag is a 304"
req GET /api/live
m=$(curl -s "$APP_URL/metrics")
ok "$([ "$(printf '%s\n' "$m" | val 'http_requests_total{route="pages",code="200"}')" -ge 1 ] && echo 0 || echo 1)" \
	"pages are counted under route=\"pages\""
ok "$([ "$(printf '%s\n' "$m" | val 'http_requests_total{route="pages",code="304"}')" -ge 1 ] && echo 0 || echo 1)" \
	"... and their 304s under code=\"304\""
ok "$([ "$(printf '%s\n' "$m" | val 'http_requests_total{route="/api/live",code="400"}')" -ge 1 ] && echo 0 || echo 1)" \
	"a plain GET of /api/live is counted under its route as the 400 it is"
zx_sql "SELECT zixly_create_user('acme', 'metrics@acme.test', 'metrics-password-1')" >/dev/null
req POST /api/login -H 'Content-Type: application/json' \
	--data-binary '{"email":"metrics@acme.test","password":"metrics-password-1"}'
LIVE_TOKEN=$(jget '{token}')
n101=$(printf '%s\n' "$m" | val 'http_requests_total{route="/api/live",code="101"}')
n400=$(printf '%s\n' "$m" | val 'http_requests_total{route="/api/live",code="400"}')
req GET /api/live -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
	-H "Sec-WebSocket-Protocol: zixly-live, $LIVE_TOKEN"
is "$ST" 400 "a WebSocket upgrade with a valid token but no Sec-WebSocket-Key: Kore answers 400"
m=$(curl -s "$APP_URL/metrics")
a101=$(printf '%s\n' "$m" | val 'http_requests_total{route="/api/live",code="101"}')
a400=$(printf '%s\n' "$m" | val 'http_requests_total{route="/api/live",code="400"}')
is "${a101:-0}/${a400:-0}" "${n101:-0}/$(( ${n400:-0} + 1 ))" "... and /metrics counts that 400, not a 101"

req GET /health
is "$ST" 200 "still healthy"
app_stop
ok "$(app_log_clean; echo $?)" "no crash, sanitizer report or sandbox violation in the app's log"
done_testing
