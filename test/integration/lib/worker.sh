# Helpers for the zixly-worker integration tests (test/integration/worker_*.t); sourced after
# test/lib/harness.sh.
#
# ZW_BIN is the worker under test: $ZX_BIN/zixly-worker, or the ASan/UBSan build when a test
# calls zw_use_asan (then every sanitizer report in a worker log fails zw_clean_log).

ZW_BIN=${ZW_BIN:-$ZX_BIN/zixly-worker}
ZW_SWEEP=$ZX_BIN/zixly-sweep
ZW_TMP=$(mktemp -d /tmp/zixly-worker-test.XXXXXX)
zx_on_exit "rm -rf '$ZW_TMP'"

# zw_use_asan: run the sanitizer build, with leak detection, stopping at the first report.
zw_use_asan() {
	ZW_BIN=$ZX_BIN/asan/zixly-worker
	[ -x "$ZW_BIN" ] || bail "$ZW_BIN not built (make -C worker SANITIZE=1)"
	export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
}

# zw_start NAME [ARGS...]: starts a worker logging to $ZW_TMP/NAME.log with --worker-id NAME
# and waits until it logs event=ready.  Sets ZW_PID.
zw_start() {
	local name=$1; shift
	[ -x "$ZW_BIN" ] || bail "$ZW_BIN not built (make -C worker)"
	zx_spawn "$ZW_TMP/$name.log" "$ZW_BIN" --worker-id "$name" --artifact-dir "$ZW_TMP/artifacts" "$@"
	ZW_PID=$ZX_LAST_PID
	zx_wait_for "worker $name ready" 30 grep -q "event=ready" "$ZW_TMP/$name.log" ||
		{ cat "$ZW_TMP/$name.log" >&2; bail "worker $name did not start"; }
}

# zw_receiver DIR: starts a local HTTP receiver for job callbacks and sets ZW_RECEIVER_PORT.  Every
# request is saved as DIR/NNN.head (request line and headers) and DIR/NNN.body (the body, in
# place once complete); a POST to /redirect is answered 302 to /landed, any other 204.
zw_receiver() {
	local dir=$1
	mkdir -p "$dir"
	ZW_RECEIVER_PORT=$(zx_free_port)
	zx_spawn "$dir/receiver.log" perl -MIO::Socket::INET -e '
		my ($port, $dir) = @ARGV;
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $port, Listen => 16,
			ReuseAddr => 1) or die "listen: $!";
		$| = 1; print "listening\n";
		my $n = 0;
		while (my $c = $s->accept) {
			my ($head, $len) = ("", 0);
			while (defined(my $l = <$c>)) { $head .= $l; last if $l eq "\r\n"; }
			$len = $1 if $head =~ /^Content-Length:\s*(\d+)/mi;
			my $body = "";
			read($c, $body, $len) if $len;
			my $f = sprintf("%s/%03d", $dir, ++$n);
			open my $h, ">", "$f.head" or die; print $h $head; close $h;
			open my $b, ">", "$f.tmp" or die; print $b $body; close $b; rename "$f.tmp", "$f.body";
			if ($head =~ m{^POST /redirect }) {
				print $c "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:$port/landed\r\n" .
					"Content-Length: 0\r\nConnection: close\r\n\r\n";
			} else {
				print $c "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
			}
			close $c;
		}' "$ZW_RECEIVER_PORT" "$dir"
	zx_wait_for "callback receiver" 10 grep -q listening "$dir/receiver.log" ||
		bail "the callback receiver did not start"
}

# zw_signal_wait PID SIGNAL SECONDS: sends SIGNAL to a worker this shell started and waits for
# it.  Sets ZW_EXIT to its exit status, or "timeout".  (Not in $(...): a subshell cannot wait
# for its parent's children.)
zw_signal_wait() {
	local pid=$1 sig=$2 secs=$3 i
	kill -"$sig" "$pid" 2>/dev/null
	for i in $(seq 1 $((secs * 20))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			ZW_EXIT=$?
			return 0
		fi
		sleep 0.05
	done
	ZW_EXIT=timeout
}

# zw_wait_sql SECONDS SQL: polls until SQL answers t.
zw_wait_sql() {
	zx_wait_for "$2" "$1" sh -c "[ \"\$(psql -qXAt -c \"\$1\")\" = t ]" sh "$2"
}

# zw_enqueue TYPE PARAMS_JSON [EXTRA SQL ARGS]: enqueues one job, prints its id.
zw_enqueue() {
	zx_sql "SELECT id FROM zixly_enqueue('$1', '$2'::jsonb${3:+, $3})"
}

# zw_status JOB: status/attempts of a job.
zw_status() { zx_sql "SELECT status || '/' || attempts FROM zixly.pipeline_jobs WHERE id = '$1'"; }

# zw_log_has NAME REGEX: the worker's log has a line matching REGEX (for zx_wait_for).
zw_log_has() { grep -Eq -- "$2" "$ZW_TMP/$1.log"; }

# zw_clean_log NAME: no sanitizer report and no level=error line in the worker's log.
zw_clean_log() {
	local log=$ZW_TMP/$1.log
	if grep -Eq "AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:" "$log"; then
		diag "$(grep -E -A20 "Sanitizer|runtime error:" "$log" | head -40)"
		return 1
	fi
	if grep -q "level=error" "$log"; then
		diag "$(grep "level=error" "$log" | head -5)"
		return 1
	fi
	return 0
}

# zw_close GOT WANT: relative difference at most 1e-9 (9+ significant digits).
zw_close() {
	awk -v g="$1" -v w="$2" 'BEGIN { d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w;
		exit !(d <= 1e-9 * a + 1e-12) }'
}

# zw_scrape PORT FILE: GET /metrics into FILE.
zw_scrape() { curl -sf --max-time 10 "http://127.0.0.1:$1/metrics" >"$2"; }

# zw_metric FILE SAMPLE: the value of one sample (name with its labels, as exposed); empty if absent.
zw_metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# zw_synthetic_prices TICKER BARS: a long deterministic daily series for slow sweeps (about
# 1 ns per bar x combination per thread: 200,000 bars x 20,000 combinations take seconds).
zw_synthetic_prices() {
	zx_sql "INSERT INTO zixly.prices (ticker, ts, close)
		SELECT '$1', timestamptz '1900-01-01 00:00:00+00' + g * interval '1 day',
		       100 + 20 * sin(g / 300.0) + 7 * sin(g / 37.0) + 3 * sin(g / 5.3) + g * 0.0005
		  FROM generate_series(0, $2 - 1) g" >/dev/null || bail "cannot insert prices for $1"
}

# zw_export_prices TICKER FILE: the ticker's bars as a ticker,date,close CSV for zixly-sweep.
zw_export_prices() {
	psql -qX -v ON_ERROR_STOP=1 -c "\\copy (SELECT ticker, to_char(ts, 'YYYY-MM-DD') AS date, close
		FROM zixly.prices WHERE ticker = '$1' ORDER BY ts) TO '$2' WITH (FORMAT csv, HEADER true)" ||
		bail "cannot export prices of $1"
}

# zw_compare_top JOB CSV ZIXLY_SWEEP_ARGS...: the job's stored rows against
# `zixly-sweep --csv CSV --top 10 ARGS`, every column to 9+ significant digits.  Prints the
# mismatches, then "rows N mismatches M" on the last line.
zw_compare_top() {
	local job=$1 csv=$2; shift 2
	"$ZW_SWEEP" --csv "$csv" --top 10 "$@" | tail -n +2 >"$ZW_TMP/cli.csv"
	psql -qXAt -F, -c "SELECT fast_period, slow_period, total_return_pct, sharpe_ratio,
		max_drawdown_pct, total_trades, sortino_ratio, win_rate_pct, profit_factor, exposure_pct,
		score, rank FROM zixly.trading_sweep_results WHERE job_id = '$job' ORDER BY rank" >"$ZW_TMP/db.csv"
	paste -d'|' "$ZW_TMP/cli.csv" "$ZW_TMP/db.csv" | awk -F'|' '
		{ n = split($1, c, ","); m = split($2, d, ",")
		  if (n != 12 || m != 12) { bad++; print "row " NR ": " $0; next }
		  for (i = 1; i <= 12; i++) {
			x = c[i] + 0; y = d[i] + 0; df = x - y; if (df < 0) df = -df; a = x < 0 ? -x : x
			if (df > 1e-9 * a + 1e-12) { bad++; print "row " NR " column " i ": cli " c[i] " db " d[i] }
		  } }
		END { print "rows " NR " mismatches " bad + 0 }'
}
