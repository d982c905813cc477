# Harness shared by every test suite, `make run` and the benchmarks (sourced, bash). One place for:
#   - throwaway PostgreSQL clusters: temp directory, unix socket, free port, never the machine's
#     default cluster; stopped by PID on exit;
#   - databases with the zixly extension created;
#   - process bookkeeping: everything started through zx_spawn is stopped by PID on exit;
#   - TAP output for shell tests (plan, ok, is, like, diag, done_testing).
#
# Usage in a test:  . "$(dirname "$0")/../lib/harness.sh"; zx_cluster_start; zx_db_create t1
# After zx_cluster_start, PGHOST/PGPORT/PGUSER are exported, so psql, libpq clients and the
# worker/app find the cluster through the environment (DATABASE_URL is set by zx_db_create).

set -u

ZX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ZX_PG_BIN=${ZX_PG_BIN:-/usr/lib/postgresql/15/bin}
ZX_BIN=${ZX_BIN:-$ZX_ROOT/bin}
ZX_TEST_OUT=${ZX_TEST_OUT:-$ZX_ROOT/test/output}
# PostgreSQL refuses to run as root: as root, the server runs as the postgres system user.
if [ "$(id -u)" = 0 ]; then ZX_PG_AS=(runuser -u postgres --); else ZX_PG_AS=(); fi
ZX_PIDS=()
ZX_CLUSTERS=()
ZX_CLEANUP_HOOKS=()
_zx_tap_n=0
_zx_tap_failed=0

# ---------------------------------------------------------------- TAP
plan()         { echo "1..$1"; }
diag()         { printf '# %s\n' "$*" | sed '2,$s/^/# /' >&2; }
ok() {
	local cond=$1; shift
	_zx_tap_n=$((_zx_tap_n + 1))
	if [ "$cond" = 0 ] || [ "$cond" = true ]; then
		echo "ok $_zx_tap_n - $*"
	else
		echo "not ok $_zx_tap_n - $*"
		_zx_tap_failed=$((_zx_tap_failed + 1))
	fi
}
# is GOT EXPECTED NAME
is() {
	if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; diag "got: '$1'" "expected: '$2'"; fi
}
# like GOT REGEX NAME
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else ok 1 "$3"; diag "got: '$1'" "expected to match: $2"; fi
}
done_testing() {
	echo "1..$_zx_tap_n"
	[ "$_zx_tap_failed" = 0 ]
}
bail() { echo "Bail out! $*"; exit 255; }

# ---------------------------------------------------------------- processes
# zx_spawn LOGFILE CMD...: start CMD in the background, remember its PID for cleanup.
zx_spawn() {
	local log=$1; shift
	"$@" >"$log" 2>&1 &
	ZX_LAST_PID=$!
	ZX_PIDS+=("$ZX_LAST_PID")
}
# zx_stop PID [SIGNAL]: signal one process we started and wait up to 10 s for it.
zx_stop() {
	local pid=$1 sig=${2:-TERM} i
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
zx_on_exit() { ZX_CLEANUP_HOOKS+=("$*"); }
_zx_cleanup() {
	local h pid c
	for h in "${ZX_CLEANUP_HOOKS[@]}"; do eval "$h" || true; done
	for pid in "${ZX_PIDS[@]}"; do zx_stop "$pid"; done
	for c in "${ZX_CLUSTERS[@]}"; do
		if [ -n "${ZX_CLUSTER_DIR:-}" ] && [ "$c" = "$ZX_CLUSTER_DIR" ]; then
			"${ZX_PG_AS[@]}" "$ZX_PG_BIN/pg_ctl" -D "$c/data" -m fast -w stop >/dev/null 2>&1
			continue
		fi
		"${ZX_PG_AS[@]}" "$ZX_PG_BIN/pg_ctl" -D "$c/data" -m immediate -w stop >/dev/null 2>&1
		case "$c" in /tmp/zixly-test.*) rm -rf -- "$c" ;; esac
	done
}
trap _zx_cleanup EXIT
trap 'exit 130' INT TERM

# zx_free_port: a TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's
# ephemeral range: a port in that range can be taken at any moment as the local end of some
# outgoing connection, and a server that then binds it fails with "Address already in use".
zx_free_port() {
	local p lo=32768
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
	[ "$lo" -gt 11024 ] 2>/dev/null || lo=32768
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
}

# zx_wait_for DESCRIPTION SECONDS CMD...: poll CMD every 50 ms until it succeeds.
zx_wait_for() {
	local what=$1 secs=$2; shift 2
	local end=$(( $(date +%s%N) + secs * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	diag "timed out after ${secs}s waiting for $what"
	return 1
}

# ---------------------------------------------------------------- PostgreSQL
# zx_cluster_start [EXTRA_SETTINGS...]: new cluster, started, env exported.
# Sets ZX_CLUSTER (its directory). Settings follow bench/peers/WORKLOAD.md (fsync on).
# With ZX_CLUSTER_DIR set, the cluster lives there and is kept (made on first use).
zx_cluster_start() {
	local dir port
	if [ -n "${ZX_CLUSTER_DIR:-}" ]; then
		dir=$ZX_CLUSTER_DIR
		mkdir -p "$dir"
	else
		dir=$(mktemp -d /tmp/zixly-test.XXXXXX)
	fi
	ZX_CLUSTERS+=("$dir")
	[ "${#ZX_PG_AS[@]}" = 0 ] || chown postgres: "$dir"
	port=${ZX_PG_PORT:-$(zx_free_port)}
	if [ -f "$dir/data/PG_VERSION" ]; then
		sed -i "s/^port = .*/port = $port/" "$dir/data/postgresql.conf"
		"${ZX_PG_AS[@]}" "$ZX_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
			{ tail -20 "$dir/server.log" >&2; bail "cluster in $dir did not start"; }
		ZX_CLUSTER=$dir
		export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
		return 0
	fi
	"${ZX_PG_AS[@]}" "$ZX_PG_BIN/initdb" -D "$dir/data" -E UTF8 --locale=C -A trust -U postgres >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; bail "initdb failed"; }
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$dir'"
		echo "max_connections = 200"
		echo "fsync = on"
		echo "synchronous_commit = on"
		echo "log_min_messages = warning"
		for s in "$@"; do echo "$s"; done
	} >>"$dir/data/postgresql.conf"
	"${ZX_PG_AS[@]}" "$ZX_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ cat "$dir/server.log" >&2; bail "cluster did not start"; }
	ZX_CLUSTER=$dir
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}
zx_cluster_stop()    { "${ZX_PG_AS[@]}" "$ZX_PG_BIN/pg_ctl" -D "$ZX_CLUSTER/data" -m fast -w stop >/dev/null; }
zx_cluster_restart() { "${ZX_PG_AS[@]}" "$ZX_PG_BIN/pg_ctl" -D "$ZX_CLUSTER/data" -l "$ZX_CLUSTER/server.log" -w -t 60 start >/dev/null; }

# zx_db_create NAME [--no-extension]: fresh database with zixly (and pgTAP) created;
# exports PGDATABASE and DATABASE_URL for it.
zx_db_create() {
	local db=$1
	PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\"" >/dev/null ||
		bail "cannot create database $db"
	export PGDATABASE=$db
	export DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$db"
	if [ "${2:-}" != "--no-extension" ]; then
		psql -qX -v ON_ERROR_STOP=1 -c "CREATE EXTENSION zixly" >/dev/null || bail "CREATE EXTENSION zixly failed"
	fi
}

# zx_load_prices [CSV]: load a prices CSV (default: the sample data) into zixly.prices.
zx_load_prices() {
	psql -qX -v ON_ERROR_STOP=1 -v csv="${1:-$ZX_ROOT/data/eustockmarkets.csv}" \
		-f "$ZX_ROOT/sql/load_prices.sql" >/dev/null || bail "loading prices failed"
}

# zx_sql SQL: one value, unaligned, no headers; stops on error.
zx_sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
