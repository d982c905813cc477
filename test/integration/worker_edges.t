#!/usr/bin/env bash
# worker_edges.t — zixly-worker at the edges: lost jobs, cancels, shutdown with a pending
# callback, killed backends, start-up validation, statement_timeout, signals, queue order (TAP).
#
# Sweeps over a long synthetic series make jobs that run for seconds; short DAX sweeps (the
# sample prices) make many quick ones.
#   1. A stalled worker does not overwrite a rescued job's artifact: A (lease 3 s) is stopped
#      with SIGSTOP mid-sweep, bars are added to the ticker, B rescues the job and completes it
#      over the longer series; A is resumed, logs job_lost and finishes.  The file at
#      result.artifact.path then has result.artifact.bytes bytes and result.combinations rows,
#      is B's grid (zixly-sweep over the longer series, byte for byte), and no .tmp file is left.
#   2. zixly_cancel on a running ~20 s sweep stops it early: the worker logs job_lost, a noop
#      enqueued after the cancel starts within 5 s on the freed slot (concurrency 1); the job
#      stays CANCELLED, with no rows and no artifact.
#   3. 40 short DAX sweeps enqueued in one batch (concurrency 4): all COMPLETED, and no
#      job_lost line (no false loss of jobs finished between claim and heartbeat).
#   4. SIGTERM after a job completed while its callback is still pending (a listener that
#      accepts and never answers; --shutdown-timeout 1, --webhook-timeout 60): exit 0, no error,
#      no zixly_release call and no job_not_released for the completed job, which stays COMPLETED.
#   5. Every line on stderr is a structured log line (ts=... pid=... level=... event=...), even
#      when the worker's backends are terminated with pg_terminate_backend (libpq's own FATAL
#      notices must not reach stderr bare); the worker reconnects and still completes a job.
#   6. Start-up validation: --queues "," (an empty queue name), a worker id with a control
#      character, one of 129 characters, an artifact directory that is not valid UTF-8: exit 2,
#      one line naming the setting, never event=ready.
#   7. ALTER DATABASE ... SET statement_timeout = '500ms': an idle worker (waiting in
#      zixly_wait for 1 s at a time) logs no SQLSTATE 57014 and does not reconnect in 4 s; a noop
#      enqueued then completes promptly.
#   8. SIGHUP is a graceful stop like SIGTERM (exit 0, event=shutdown); SIGUSR2 is ignored (the
#      worker keeps running, completes a noop, then exits 0 on SIGTERM).
#   Then: a worker whose artifact store fails pauses its claims, so that another worker takes
#   the retry; ZIXLY_QUEUES with spaces around the names.
#   9. Released jobs keep their place: 10 short DAX sweeps enqueued in one zixly_enqueue_batch
#      to queue fifo start in enqueue order on a worker with concurrency 2, none more than one
#      place off (two claims racing for the last slot release one job, which starts next; jobs
#      started by the same claim may log job_started in either order, compared in claim order);
#      and zixly_release called directly keeps the job's run_at.
#  10. Integers written as 5.0 (which the extension accepts) run like 5: the same best result.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

[ -x "$ZW_SWEEP" ] || bail "$ZW_SWEEP not built (make -C worker)"
zx_cluster_start
zx_db_create worker_edges
zx_load_prices
zw_synthetic_prices SLOW 200000
q() { zx_sql "SELECT $2 FROM zixly.pipeline_jobs WHERE id = '$1'"; }
rows() { zx_sql "SELECT count(*) FROM zixly.trading_sweep_results WHERE job_id = '$1'"; }
log_of() { echo "$ZW_TMP/$1.log"; }
# metrics_port NAME: the port a worker's /metrics listens on (from its log)
metrics_port() { grep -o 'event=metrics_listening port=[0-9]*' "$(log_of "$1")" | head -1 | cut -d= -f3; }
in_flight_zero() { curl -sf --max-time 2 "http://127.0.0.1:$1/metrics" | grep -q '^zixly_worker_jobs_in_flight 0$'; }
DAX_SHORT='{"ticker":"DAX","strategy_type":"SMA","fast_range":[5,50],"slow_range":[20,200],"step":5}'

# ---------------------------------------------------------------- 1. a stalled worker's artifact
zw_start a1 --metrics-port "$(zx_free_port)" --concurrency 1 --threads 1 --lease 3 --queues lost
A1=$ZW_PID
A1_PORT=$(metrics_port a1)
J1=$(zw_enqueue trading-sweep '{"ticker":"SLOW","strategy_type":"SMA","fast_range":[2,41],"slow_range":[101,600],"step":1}' "queue => 'lost'")
zx_wait_for "a1 starts J1" 30 zw_log_has a1 "event=job_started job_id=$J1" || bail "a1 did not start J1"
sleep 0.5	# a1 has read its 200,000 bars and runs the engine
kill -STOP "$A1"
# 20,000 more bars: b1's run (and its grid) differ from a1's
zx_sql "INSERT INTO zixly.prices (ticker, ts, close)
	SELECT 'SLOW', timestamptz '1900-01-01 00:00:00+00' + g * interval '1 day',
	       100 + 20 * sin(g / 300.0) + 7 * sin(g / 37.0) + 3 * sin(g / 5.3) + g * 0.0005
	  FROM generate_series(200000, 219999) g" >/dev/null || bail "cannot add prices"
zw_start b1 --metrics-port 0 --concurrency 1 --threads 2 --queues lost
B1=$ZW_PID
zw_wait_sql 60 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$J1'" ||
	diag "$(q "$J1" "status || ' ' || coalesce(locked_by, '-')")"
kill -CONT "$A1"
is "$(q "$J1" "status || '/' || attempts || ' ' || locked_by || ' ' || (result->>'bars')")" "COMPLETED/2 b1 220000" \
	"a1 stopped past its lease: b1 rescued the job and completed it over 220,000 bars"
zx_wait_for "a1 learns it lost J1" 15 zw_log_has a1 "event=job_lost job_id=$J1"
ok $? "a1, resumed, logs job_lost for it"
zx_wait_for "a1 finishes its run" 30 in_flight_zero "$A1_PORT" || diag "a1 still has a job in flight"
sleep 0.5
ART=$(q "$J1" "result->'artifact'->>'path'")
is "$(stat -c %s "$ART" 2>&1) $(( $(wc -l <"$ART") - 1 ))" \
	"$(q "$J1" "(result->'artifact'->>'bytes') || ' ' || (result->>'combinations')")" \
	"after a1 finished, the artifact has result.artifact.bytes bytes and result.combinations rows"
zw_export_prices SLOW "$ZW_TMP/slow220k.csv"
"$ZW_SWEEP" --csv "$ZW_TMP/slow220k.csv" --ticker SLOW --strategy SMA --fast 2:41 --slow 101:600 --step 1 \
	--threads 2 >"$ZW_TMP/grid220k.csv"
ok "$(cmp -s "$ART" "$ZW_TMP/grid220k.csv" && echo 0 || echo 1)" \
	"it is b1's grid (zixly-sweep over the 220,000 bars, byte for byte), not a1's"
tmps=$(ls "$ZW_TMP/artifacts" | grep -c '\.csv\.tmp\.')
is "$tmps" 0 "no <id>.csv.tmp.* file is left in the artifact directory"
zx_stop "$A1" TERM
zx_stop "$B1" TERM

# ---------------------------------------------------------------- 2. cancelling a running sweep
# about 33e9 bar x combinations: some 20 s on one thread
zw_start c2 --metrics-port 0 --concurrency 1 --threads 1 --lease 3 --shutdown-timeout 1 --queues cancel
C2=$ZW_PID
J2=$(zw_enqueue trading-sweep '{"ticker":"SLOW","strategy_type":"SMA","fast_range":[2,151],"slow_range":[201,1200],"step":1}' "queue => 'cancel'")
zx_wait_for "c2 starts J2" 30 zw_log_has c2 "event=job_started job_id=$J2" || bail "c2 did not start J2"
sleep 1
is "$(zx_sql "SELECT status FROM zixly_cancel('$J2')")" CANCELLED "zixly_cancel on the running sweep"
N2=$(zw_enqueue noop '{}' "queue => 'cancel'")
zw_wait_sql 8 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$N2'"
is "$(zx_sql "SELECT status || ' ' || coalesce((started_at - (SELECT completed_at FROM zixly.pipeline_jobs
	WHERE id = '$J2') < interval '5 s')::text, 'never') FROM zixly.pipeline_jobs WHERE id = '$N2'")" "COMPLETED true" \
	"the cancelled sweep stops early: a noop enqueued after the cancel starts within 5 s on the freed slot"
like "$(grep -E "job_id=$J2" "$(log_of c2)" | grep -E 'event=(job_lost|job_stopped|job_cancelled|job_aborted)')" \
	"job_id=$J2" "c2 logs that it lost (stopped) the cancelled job"
sleep 1
is "$(q "$J2" status) $(rows "$J2")" "CANCELLED 0" "the job stays CANCELLED, with no rows"
is "$(ls "$ZW_TMP/artifacts" | grep -c "^$J2\.csv")" 0 "no artifact (nor temporary file) for the cancelled job"
zx_stop "$C2" TERM

# ---------------------------------------------------------------- 3. many short sweeps, no false loss
zw_start m3 --metrics-port 0 --concurrency 4 --threads 1 --queues many
M3=$ZW_PID
zx_sql "SELECT count(*) FROM zixly_enqueue_batch('trading-sweep',
	(SELECT jsonb_agg('$DAX_SHORT'::jsonb) FROM generate_series(1, 40)), queue => 'many')" >/dev/null
zw_wait_sql 60 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE queue = 'many' AND status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT status, count(*) FROM zixly.pipeline_jobs WHERE queue = 'many' GROUP BY 1")"
is "$(zx_sql "SELECT count(*) FILTER (WHERE status = 'COMPLETED') || '/' || count(*) FROM zixly.pipeline_jobs WHERE queue = 'many'")" \
	"40/40" "40 short DAX sweeps enqueued in one batch (concurrency 4): all COMPLETED"
n_lost=$(grep -c 'event=job_lost' "$(log_of m3)")
is "$n_lost" 0 "and no job_lost line in the worker's log"
[ "$n_lost" = 0 ] || diag "$(grep 'event=job_lost' "$(log_of m3)" | head -3)"
zx_stop "$M3" TERM

# ---------------------------------------------------------------- 4. shutdown with a callback pending
HOOK_PORT=$(zx_free_port)
zx_spawn "$ZW_TMP/silent.log" perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 8,
		ReuseAddr => 1) or die "listen: $!";
	$| = 1; print "listening\n";
	my @keep;
	while (my $c = $s->accept) { push @keep, $c; print "accepted\n"; }' "$HOOK_PORT"
SILENT=$ZX_LAST_PID
zx_wait_for "silent listener" 10 grep -q listening "$ZW_TMP/silent.log" || bail "listener did not start"
zw_start h4 --metrics-port 0 --concurrency 1 --threads 1 --shutdown-timeout 1 --webhook-timeout 60 --queues hook \
	--webhook-allow-private	# the silent receiver is on loopback
H4=$ZW_PID
J4=$(zw_enqueue trading-sweep '{"ticker":"DAX","strategy_type":"SMA","fast_range":[5,50],"slow_range":[20,200],"step":5,"webhook_url":"http://127.0.0.1:'"$HOOK_PORT"'/hook"}' "queue => 'hook'")
zx_wait_for "h4 completes J4" 30 zw_log_has h4 "event=job_completed job_id=$J4" || diag "h4 did not complete J4"
zx_wait_for "the callback connects" 10 grep -q accepted "$ZW_TMP/silent.log"
ok $? "the callback connects to the receiver, which never answers"
zw_signal_wait "$H4" TERM 15
is "$ZW_EXIT" 0 "SIGTERM while a completed job's callback is pending (--shutdown-timeout 1): exit 0"
ok "$(zw_clean_log h4 && echo 0 || echo 1)" "no level=error line"
is "$(grep -c -E 'call=zixly_release|event=job_not_released' "$(log_of h4)")" 0 \
	"no zixly_release call and no job_not_released for the completed job"
[ -z "$(grep -E 'call=zixly_release|event=job_not_released' "$(log_of h4)")" ] ||
	diag "$(grep -E 'call=zixly_release|event=job_not_released' "$(log_of h4)")"
is "$(q "$J4" "status || '/' || attempts")" "COMPLETED/1" "the job stays COMPLETED"
zx_stop "$SILENT" TERM

# ---------------------------------------------------------------- 5. killed backends, structured stderr
zw_start k5 --metrics-port 0 --log-level debug --queues killed
K5=$ZW_PID
sleep 0.5	# idle: waiting in zixly_wait, the other connections idle
killed=$(zx_sql "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE application_name LIKE 'zixly-worker%' AND pid <> pg_backend_pid()")
like "$killed" '^[1-9]' "pg_terminate_backend on the idle worker's backends ($killed terminated)"
zx_wait_for "k5 reconnects" 15 sh -c "[ \$(grep -c 'event=db_connected role=control' '$(log_of k5)') -ge 2 ]"
ok $? "k5 reconnects (a second db_connected role=control)"
N5=$(zw_enqueue noop '{}' "queue => 'killed'")
zw_wait_sql 15 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$N5'"
is "$(zw_status "$N5")" "COMPLETED/1" "and completes a noop afterwards"
zw_signal_wait "$K5" TERM 10
LOGRE='^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z pid=[0-9]+ level=(debug|info|warn|error) event=[a-z_]+( |$)'
bad_lines=$(grep -Ev -- "$LOGRE" "$(log_of k5)")
is "$(printf '%s' "$bad_lines" | grep -c .)" 0 "every line on the worker's stderr is a structured log line"
[ -z "$bad_lines" ] || diag "$(head -5 <<<"$bad_lines")"

# ---------------------------------------------------------------- 6. start-up validation
# refused NAME REGEX ARGS...: exit 2, one line matching REGEX, no event=ready (with a database
# reachable, so that a worker accepting the settings gets ready and is stopped).
refused() {
	local name=$1 re=$2 pid rc out lines; shift 2
	zx_spawn "$ZW_TMP/$name.log" "$ZW_BIN" --metrics-port 0 "$@"
	pid=$ZX_LAST_PID
	zx_wait_for "$name exits" 5 sh -c "! kill -0 $pid || grep -q event=ready '$ZW_TMP/$name.log'"
	if kill -0 "$pid" 2>/dev/null; then
		zx_stop "$pid" TERM
		rc=running
	else
		wait "$pid"
		rc=$?
	fi
	out=$(LC_ALL=C tr -c '[:print:]\n' '?' <"$ZW_TMP/$name.log")	# TAP stays printable
	lines=$(printf '%s\n' "$out" | grep -c .)
	if [ "$rc" = 2 ] && [ "$lines" = 1 ] && printf '%s' "$out" | grep -Eq -- "$re" &&
		! printf '%s' "$out" | grep -q 'event=ready'; then
		ok 0 "$name: exit 2, $out"
	else
		ok 1 "$name: exit 2 with one line matching $re, no event=ready"
		diag "exit $rc, $lines lines: $(head -c 600 <<<"$out")"
	fi
}
BADDIR=$(printf '/tmp/edges-%s-\377/art' "$$")
zx_on_exit "rm -rf -- '${BADDIR%/art}'"
refused empty_queue '(ZIXLY_QUEUES|--queues).*' --artifact-dir "$ZW_TMP/a" --queues ","
refused ctl_id '(ZIXLY_WORKER_ID|--worker-id).*control' --artifact-dir "$ZW_TMP/a" --worker-id "$(printf 'w\001')"
refused long_id '(ZIXLY_WORKER_ID|--worker-id).*128' --artifact-dir "$ZW_TMP/a" --worker-id "$(printf 'w%.0s' $(seq 1 129))"
refused bad_utf8_dir '(ZIXLY_ARTIFACT_DIR|--artifact-dir)' --artifact-dir "$BADDIR"

# ---------------------------------------------------------------- 7. statement_timeout
zx_sql "ALTER DATABASE worker_edges SET statement_timeout = '500ms'" >/dev/null
zw_start t7 --metrics-port 0 --log-level debug --queues timeout
T7=$ZW_PID
sleep 0.3
connects0=$(grep -c 'event=db_connect' "$(log_of t7)")
sleep 4
is "$(grep -c 'sqlstate=57014' "$(log_of t7)")" 0 "statement_timeout 500ms: 4 s idle without SQLSTATE 57014 (zixly_wait is not cut)"
[ "$(grep -c 'sqlstate=57014' "$(log_of t7)")" = 0 ] || diag "$(grep 'sqlstate=57014' "$(log_of t7)" | head -2)"
is "$(grep -c 'event=db_connect' "$(log_of t7)") $(grep -c 'event=db_disconnected' "$(log_of t7)")" "$connects0 0" \
	"and without reconnecting (db_connect* lines as at start, no db_disconnected)"
N7=$(zw_enqueue noop '{}' "queue => 'timeout'")
zw_wait_sql 3 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$N7'"
is "$(zw_status "$N7")" "COMPLETED/1" "a noop enqueued then completes within 3 s"
zx_sql "ALTER DATABASE worker_edges RESET statement_timeout" >/dev/null
zx_stop "$T7" TERM

# ---------------------------------------------------------------- 8. SIGHUP and SIGUSR2
zw_start s8 --metrics-port 0 --queues signals
zw_signal_wait "$ZW_PID" HUP 10
is "$ZW_EXIT" 0 "SIGHUP: a graceful stop, exit 0"
like "$(grep 'event=shutdown' "$(log_of s8)")" 'event=shutdown' "logged as event=shutdown"
zw_start u8 --metrics-port 0 --queues signals
U8=$ZW_PID
kill -USR2 "$U8"
sleep 0.5
ok "$(kill -0 "$U8" 2>/dev/null && echo 0 || echo 1)" "SIGUSR2 is ignored: the worker keeps running"
if kill -0 "$U8" 2>/dev/null; then
	N8=$(zw_enqueue noop '{}' "queue => 'signals'")
	zw_wait_sql 5 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$N8'"
	is "$(zw_status "$N8")" "COMPLETED/1" "and still completes a noop after it"
else
	ok 1 "and still completes a noop after it (the worker is gone)"
fi
zw_signal_wait "$U8" TERM 10
is "$ZW_EXIT" 0 "then SIGTERM: exit 0"

# ---------------------------------------------------------------- 9. released jobs keep their place
zw_start f9 --metrics-port 0 --concurrency 2 --threads 1 --queues fifo
F9=$ZW_PID
mapfile -t ENQ < <(zx_sql "SELECT id FROM zixly_enqueue_batch('trading-sweep',
	(SELECT jsonb_agg(jsonb_build_object('ticker', 'DAX', 'strategy_type', 'SMA', 'fast_range', jsonb_build_array(2 + g, 100),
		'slow_range', jsonb_build_array(101, 400), 'step', 2) ORDER BY g) FROM generate_series(1, 10) g), queue => 'fifo')")
is "${#ENQ[@]}" 10 "10 short DAX sweeps enqueued in one batch to queue fifo"
zw_wait_sql 60 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE queue = 'fifo' AND status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT status, count(*) FROM zixly.pipeline_jobs WHERE queue = 'fifo' GROUP BY 1")"
zw_signal_wait "$F9" TERM 10
# the log's job_started order; a run of jobs started by one claim (same started_at) is put in
# enqueue order, since two pool threads may log in either order
printf '%s\n' "${ENQ[@]}" | awk '{ print $1, NR }' >"$ZW_TMP/enq.txt"
zx_sql "SELECT id || ' ' || extract(epoch FROM started_at) FROM zixly.pipeline_jobs WHERE queue = 'fifo'" >"$ZW_TMP/started_at.txt"
grep -o 'event=job_started job_id=[^ ]*' "$(log_of f9)" | cut -d= -f3 | awk '!seen[$0]++' >"$ZW_TMP/log_order.txt"
started=$(awk 'FILENAME == ARGV[1] { idx[$1] = $2; next } FILENAME == ARGV[2] { at[$1] = $2; next }
	{ g = ($1 in at) ? at[$1] : "?" NR; if (g != prev) grp++; prev = g; printf "%d %d %s\n", grp, ($1 in idx) ? idx[$1] : 99, $1 }' \
	"$ZW_TMP/enq.txt" "$ZW_TMP/started_at.txt" "$ZW_TMP/log_order.txt" | sort -n -k1,1 -k2,2 | awk '{ print $3 }' | paste -sd' ')
# The waiter's claim and a claim connection's may both ask for the last free slot; the loser
# is released and, keeping its run_at, is the next job to start: one place late at most.  (Before
# release kept run_at, a released job went behind every other, and a fresh worker claimed 1,000.)
shift_max=$(printf '%s\n' $started |
	awk -v enq="${ENQ[*]}" 'BEGIN { n = split(enq, e, " "); for (i = 1; i <= n; i++) pos[e[i]] = i }
	{ d = NR - pos[$1]; if (d < 0) d = -d; if (d > m) m = d } END { print m + 0 }')
ok "$([ "$(printf '%s\n' $started | sort | paste -sd' ')" = "$(printf '%s\n' "${ENQ[@]}" | sort | paste -sd' ')" ] &&
	[ "$shift_max" -le 1 ] && echo 0 || echo 1)" \
	"concurrency 2: the jobs start in enqueue order, none more than one place off ($shift_max; released jobs keep their place)"
[ "$started" = "${ENQ[*]}" ] || diag "enqueue order: $(awk '{ print $2 }' "$ZW_TMP/enq.txt" | paste -sd' ')" \
	"started (enqueue positions): $(awk 'NR == FNR { i[$1] = $2; next } { printf "%s ", i[$1] }' "$ZW_TMP/enq.txt" "$ZW_TMP/log_order.txt")" \
	"$(grep -E 'event=job_released' "$(log_of f9)" | head -5)"
is "$(zx_sql "SELECT count(*) FILTER (WHERE status = 'COMPLETED') FROM zixly.pipeline_jobs WHERE queue = 'fifo'")" 10 "all 10 COMPLETED"

JR=$(zw_enqueue noop '{}' "queue => 'relq', run_at => now() - interval '1 hour'")
before=$(q "$JR" "run_at")
is "$(zx_sql "SELECT count(*) FROM zixly_claim('edges-tester', 1, ARRAY['relq'])") $(q "$JR" "status || ' ' || locked_by")" \
	"1 RUNNING edges-tester" "zixly_claim (psql) takes a job due an hour ago"
is "$(zx_sql "SELECT status || ' ' || attempts || ' ' || (run_at = '$before'::timestamptz) FROM zixly_release('$JR', 'edges-tester')")" \
	"QUEUED 0 true" "zixly_release gives it back with its run_at unchanged (its place in the queue)"
is "$(q "$JR" run_at)" "$before" "as stored"

# ---------------------------------------------------------------- 10. integers written as 20.0
# The extension takes a number without a fractional part as an integer; so must the worker.
zw_start f10 --metrics-port 0 --concurrency 1 --threads 1 --queues floats
F10=$ZW_PID
JI=$(zw_enqueue trading-sweep '{"ticker":"DAX","strategy_type":"MACD","fast_range":[5,20],"slow_range":[20,40],"step":5,"signal_period":9}' "queue => 'floats'")
JF=$(zw_enqueue trading-sweep '{"ticker":"DAX","strategy_type":"MACD","fast_range":[5.0,20],"slow_range":[20,40.0],"step":5.0,"signal_period":9.0,"min_trades":0.0}' "queue => 'floats'")
zw_wait_sql 60 "SELECT count(*) = 2 FROM zixly.pipeline_jobs WHERE queue = 'floats' AND status IN ('COMPLETED', 'FAILED')"
is "$(zw_status "$JF") $(zx_sql "SELECT error_message FROM zixly.pipeline_jobs WHERE id = '$JF'")" "COMPLETED/1 " \
	"a sweep with fast_range [5.0, 20], step 5.0, signal_period 9.0 completes"
is "$(zx_sql "SELECT result->'best' = (SELECT result->'best' FROM zixly.pipeline_jobs WHERE id = '$JI') FROM zixly.pipeline_jobs WHERE id = '$JF'")" t \
	"with the same best combination as the one written with integers"
zw_signal_wait "$F10" TERM 10

# ---------------------------------------------------------------- a broken artifact store
# A worker whose store refuses the grid (here its directory replaced by a file; a full disk
# alike) fails that attempt, then claims nothing for ZIXLY_ARTIFACT_FAILURE_PAUSE and reports
# itself not ready: the retry goes to a worker whose store works, instead of the broken one
# spending every attempt of every job it can claim.
BADM=$(zx_free_port)
zw_start badstore --metrics-port "$BADM" --concurrency 1 --threads 1 --queues store \
	--artifact-dir "$ZW_TMP/badstore-art" --artifact-failure-pause 20
BAD=$ZW_PID
rm -rf "$ZW_TMP/badstore-art" && : >"$ZW_TMP/badstore-art"
JS=$(zw_enqueue trading-sweep '{"ticker":"DAX","strategy_type":"SMA","fast_range":[5,20],"slow_range":[20,60],"step":5}' "queue => 'store'")
zx_wait_for "the store failure" 30 zw_log_has badstore "event=artifact_store_failing job_id=$JS "
like "$(grep "event=artifact_store_failing job_id=$JS " "$ZW_TMP/badstore.log")" "level=warn .* pause_s=20" \
	"a worker that cannot store a grid says so, and pauses its claims for 20 s"
zw_scrape "$BADM" "$ZW_TMP/badstore.prom"
is "$(zw_metric "$ZW_TMP/badstore.prom" zixly_worker_ready) $(zw_metric "$ZW_TMP/badstore.prom" zixly_worker_artifact_failures_total)" "0 1" \
	"... reporting zixly_worker_ready 0 and zixly_worker_artifact_failures_total 1"
zw_start goodstore --metrics-port 0 --concurrency 1 --threads 1 --queues store
GOOD=$ZW_PID
zw_wait_sql 30 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$JS'"
is "$(zw_status "$JS") $(zx_sql "SELECT locked_by FROM zixly.pipeline_jobs WHERE id = '$JS'")" "COMPLETED/2 goodstore" \
	"its retry is completed by the worker whose store works"
zw_signal_wait "$GOOD" TERM 10
zw_signal_wait "$BAD" TERM 10
is "$ZW_EXIT" 0 "the paused worker exits 0 on SIGTERM"

# ---------------------------------------------------------------- queue lists with spaces
# ZIXLY_QUEUES="a, b" is the queues a and b (spaces around names were kept, and " b" never
# matched a job).
zw_start spaced --metrics-port 0 --concurrency 1 --queues " spaced1 ,  spaced2 "
SP=$ZW_PID
J1=$(zw_enqueue noop '{}' "queue => 'spaced1'")
J2=$(zw_enqueue noop '{}' "queue => 'spaced2'")
zw_wait_sql 20 "SELECT count(*) = 2 FROM zixly.pipeline_jobs WHERE queue LIKE 'spaced_' AND status = 'COMPLETED'"
is "$(zw_status "$J1") $(zw_status "$J2")" "COMPLETED/1 COMPLETED/1" \
	"--queues \" spaced1 ,  spaced2 \": both queues are claimed, the spaces around their names ignored"
zw_signal_wait "$SP" TERM 10
is "$ZW_EXIT" 0 "... and it exits 0 on SIGTERM"

done_testing
