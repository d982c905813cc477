#!/usr/bin/env bash
# worker_config.t — zixly-worker's configuration (TAP): every bad environment value or flag
# stops it at once with exit status 2 and one line on stderr naming the variable (or flag)
# and the value; --help documents every variable; flags override the environment, which
# overrides the defaults; a start-up resource it cannot get (artifact directory, metrics
# port) exits 1 with a logged reason; a password in DATABASE_URL and the webhook secret are
# never logged (the config line says only whether a secret is set).
# No database is needed: the worker logs its settings before it connects.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

[ -x "$ZW_BIN" ] || bail "$ZW_BIN not built (make -C worker)"
NOWHERE=$(zx_free_port)	# nothing listens there: the worker waits for its database
export DATABASE_URL="host=127.0.0.1 port=$NOWHERE dbname=none connect_timeout=2"
unset ZIXLY_WORKER_ID ZIXLY_CONCURRENCY ZIXLY_THREADS ZIXLY_METRICS_PORT ZIXLY_ARTIFACT_DIR \
	ZIXLY_QUEUES ZIXLY_LOG_LEVEL ZIXLY_SHUTDOWN_TIMEOUT ZIXLY_LEASE ZIXLY_POLL_INTERVAL \
	ZIXLY_WEBHOOK_SECRET ZIXLY_WEBHOOK_ALLOW_PRIVATE

# bad ENV=VALUE [FLAGS...] REGEX: exit 2, one line on stderr matching REGEX, within 10 s.
bad() {
	local assign=$1 re=${!#} rc err
	local flags=("${@:2:$#-2}")
	err=$(env "$assign" timeout 10 "$ZW_BIN" --metrics-port 0 --artifact-dir "$ZW_TMP/a" "${flags[@]}" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && printf '%s' "$err" | grep -Eq -- "$re"; then
		ok 0 "$assign ${flags[*]}: exit 2, $err"
	else
		ok 1 "$assign ${flags[*]}: exit 2 with one line matching $re"
		diag "exit $rc, stderr: $err"
	fi
}

bad ZIXLY_CONCURRENCY=abc "ZIXLY_CONCURRENCY: 'abc' is not an integer"
bad ZIXLY_CONCURRENCY=0 "ZIXLY_CONCURRENCY: 0 is out of range \(1\.\.256\)"
bad ZIXLY_CONCURRENCY= "ZIXLY_CONCURRENCY: '' is not an integer"
bad ZIXLY_CONCURRENCY=4x "ZIXLY_CONCURRENCY: '4x' is not an integer"
bad ZIXLY_CONCURRENCY=99999999999999999999 "ZIXLY_CONCURRENCY: '99999999999999999999' is not an integer"
bad ZIXLY_THREADS=-1 "ZIXLY_THREADS: -1 is out of range"
bad ZIXLY_METRICS_PORT=70000 "ZIXLY_METRICS_PORT: 70000 is out of range \(0\.\.65535\)"
bad ZIXLY_METRICS_PORT=http "ZIXLY_METRICS_PORT: 'http' is not an integer"
bad ZIXLY_POLL_INTERVAL=nan "ZIXLY_POLL_INTERVAL: 'nan' is not a number"
bad ZIXLY_POLL_INTERVAL=0 "ZIXLY_POLL_INTERVAL: 0 is out of range"
bad ZIXLY_SHUTDOWN_TIMEOUT=-5 "ZIXLY_SHUTDOWN_TIMEOUT: -5 is out of range"
bad ZIXLY_LEASE=2 "ZIXLY_LEASE: 2 is out of range \(3\.\.86400\)"
bad ZIXLY_LOG_LEVEL=loud "ZIXLY_LOG_LEVEL: unknown level 'loud' \(debug, info, warn, error\)"
bad ZIXLY_DURABLE_CLAIMS=maybe "ZIXLY_DURABLE_CLAIMS: 'maybe' is not a boolean"
bad "ZIXLY_QUEUES=a\"b" "ZIXLY_QUEUES / --queues: queue names are comma-separated plain words"
bad ZIXLY_METRICS_ADDRESS=localhost "ZIXLY_METRICS_ADDRESS / --metrics-address: 'localhost' is not an IPv4 or IPv6 address"
bad "ZIXLY_QUEUES=a, ,b" "ZIXLY_QUEUES / --queues: queue names are comma-separated plain words, none empty"
bad "ZIXLY_QUEUES=a," "ZIXLY_QUEUES / --queues: queue names are comma-separated plain words, none empty"
bad "ZIXLY_WORKER_ID=$(printf 'w\tone')" "ZIXLY_WORKER_ID / --worker-id: control characters are not allowed"
bad "ZIXLY_WORKER_ID=$(printf 'w%.0s' $(seq 1 129))" "ZIXLY_WORKER_ID / --worker-id: at most 128 characters"
bad "DATABASE_URL=postgresql://[::1" "DATABASE_URL: .*IPv6 host address"
bad "DATABASE_URL=host=db port" "DATABASE_URL: missing \"=\" after \"port\""
bad ZIXLY_WEBHOOK_SECRET= "ZIXLY_WEBHOOK_SECRET: must not be empty \(unset it for unsigned callbacks\)"
bad ZIXLY_WEBHOOK_ALLOW_PRIVATE=maybe "ZIXLY_WEBHOOK_ALLOW_PRIVATE: 'maybe' is not a boolean"
bad ZIXLY_WEBHOOK_TIMEOUT=0 "ZIXLY_WEBHOOK_TIMEOUT: 0 is out of range"
bad ZIXLY_CONCURRENCY=2 --webhook-secret "" "--webhook-secret: must not be empty"
bad ZIXLY_CONCURRENCY=2 --webhook-secret "--webhook-secret needs a value"
bad ZIXLY_CONCURRENCY=2 --concurrency 300 "--concurrency: 300 is out of range"
bad ZIXLY_CONCURRENCY=2 --bogus "unknown option '--bogus' \(see --help\)"
bad ZIXLY_CONCURRENCY=2 --concurrency "--concurrency needs a value"
bad ZIXLY_CONCURRENCY=2 stray "unexpected argument 'stray'"

# ---------------------------------------------------------------- --help and --version
help=$("$ZW_BIN" --help)
ok $? "--help exits 0"
missing=""
for v in DATABASE_URL ZIXLY_WORKER_ID ZIXLY_CONCURRENCY ZIXLY_THREADS ZIXLY_METRICS_PORT ZIXLY_ARTIFACT_DIR \
	ZIXLY_QUEUES ZIXLY_LOG_LEVEL ZIXLY_SHUTDOWN_TIMEOUT ZIXLY_LEASE ZIXLY_POLL_INTERVAL ZIXLY_RESCUE_INTERVAL \
	ZIXLY_WEBHOOK_TIMEOUT ZIXLY_WEBHOOK_SECRET ZIXLY_WEBHOOK_ALLOW_PRIVATE; do
	grep -q -- "$v" <<<"$help" || missing="$missing $v"
done
is "$missing" "" "--help names every environment variable"
like "$(grep -A1 -- '--metrics-port' <<<"$help")" 'default 3001; 0\.\.65535' "with defaults and bounds"
like "$("$ZW_BIN" --version)" '^zixly-worker [0-9]+\.[0-9]+\.[0-9]+$' "--version"

# ---------------------------------------------------------------- precedence and defaults
# run_config NAME [ENV=VALUE...] -- [FLAGS...]: starts a worker (no database reachable), sets
# LINE to its config line, stops it with SIGTERM; ZW_EXIT is its exit status.
run_config() {
	local name=$1; shift
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	zx_spawn "$ZW_TMP/$name.log" env "${envs[@]}" "$ZW_BIN" --metrics-port 0 --artifact-dir "$ZW_TMP/a" "$@"
	local pid=$ZX_LAST_PID
	zx_wait_for "$name config" 10 grep -q "event=db_connect_failed" "$ZW_TMP/$name.log"
	zw_signal_wait "$pid" TERM 10
	LINE=$(grep "event=config" "$ZW_TMP/$name.log")
}
run_config prec ZIXLY_CONCURRENCY=3 ZIXLY_THREADS=2 ZIXLY_WORKER_ID=from-env -- --concurrency 5 --worker-id from-flag
line=$LINE
like "$line" ' concurrency=5 ' "a flag overrides the environment (--concurrency 5 over ZIXLY_CONCURRENCY=3)"
like "$line" ' threads=2 ' "the environment overrides the default (ZIXLY_THREADS=2)"
like "$line" ' worker-id=from-flag ' "--worker-id over ZIXLY_WORKER_ID"
like "$line" ' lease=60 .* poll-interval=5 ' "defaults otherwise"
is "$ZW_EXIT" 0 "SIGTERM while waiting for the database: exit 0"
! grep -q "event=ready" "$ZW_TMP/prec.log"
ok $? "... without announcing itself ready"
run_config defaults --
line=$LINE
like "$line" " worker-id=$(hostname)-[0-9]+ " "the default worker id is <hostname>-<pid>"
like "$line" ' concurrency=4 threads=0 metrics-port=0 ' "concurrency 4, threads 0 (one per CPU)"
is "$(grep -c 'event=metrics_listening' "$ZW_TMP/defaults.log")" 0 "--metrics-port 0: no HTTP server"
run_config secret "DATABASE_URL=host=127.0.0.1 port=$NOWHERE user=u password=sekrit-pw connect_timeout=2" --
like "$(grep -c 'event=db_connect_failed' "$ZW_TMP/secret.log")" '^[1-9]' "an unreachable database is logged"
is "$(grep -c 'sekrit-pw' "$ZW_TMP/secret.log")" 0 "the password in DATABASE_URL is never logged"
like "$LINE" ' webhook-secret=none webhook-allow-private=0 ' "no webhook secret and no private callbacks by default"
run_config hooksecret ZIXLY_WEBHOOK_SECRET=whsec-from-env-31337 -- --webhook-allow-private
like "$LINE" ' webhook-secret=set webhook-allow-private=1 ' "ZIXLY_WEBHOOK_SECRET and --webhook-allow-private are in effect"
run_config hookflag -- --webhook-secret whsec-from-flag-31337
like "$LINE" ' webhook-secret=set ' "--webhook-secret is in effect"
is "$(cat "$ZW_TMP/hooksecret.log" "$ZW_TMP/hookflag.log" | grep -c 'whsec-from')" 0 \
	"the webhook secret (variable or flag) is never logged"

# ---------------------------------------------------------------- start-up resources
: >"$ZW_TMP/not-a-dir"
"$ZW_BIN" --metrics-port 0 --artifact-dir "$ZW_TMP/not-a-dir/artifacts" 2>"$ZW_TMP/art.err"
is "$?" 1 "an artifact directory that cannot be created: exit 1"
like "$(cat "$ZW_TMP/art.err")" "level=error event=artifact_dir_failed dir=$ZW_TMP/not-a-dir.* error=\"Not a directory\"" \
	"naming the directory and the reason"
BUSY=$(zx_free_port)
zx_spawn "$ZW_TMP/listener.log" perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 1, ReuseAddr => 1)
		or die "listen: $!"; $| = 1; print "listening\n"; sleep 60' "$BUSY"
zx_wait_for "listener" 10 grep -q listening "$ZW_TMP/listener.log" || bail "listener did not start"
timeout 10 "$ZW_BIN" --metrics-port "$BUSY" --artifact-dir "$ZW_TMP/a" 2>"$ZW_TMP/port.err"
is "$?" 1 "a metrics port in use: exit 1"
like "$(cat "$ZW_TMP/port.err")" "level=error event=metrics_start_failed port=$BUSY" "naming the port"

done_testing
