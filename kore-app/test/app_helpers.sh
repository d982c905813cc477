# Helpers for the Kore app's integration tests (test/integration/app_*.t), sourced after
# test/lib/harness.sh. They start the app against the harness's cluster and talk to it over
# real HTTP with curl.
#
#   app_db NAME             fresh database with zixly, login role zixly_web (a zixly_app
#                           member, so row-level security applies); sets APP_DB_URL (TCP)
#   app_start [VAR=VAL...]  start the app (ZIXLY_APP_BIN, default bin/zixly-app) with the
#                           settings given; waits until it answers; sets APP_URL, APP_PID, APP_LOG
#   app_stop                stop it (TERM, by PID)
#   req METHOD PATH [curl args...]
#                           one request; sets ST (status), BODY, HDRS (raw header text)
#   jget PERLEXPR [JSON]    a value out of JSON (BODY by default): jget '{job_id}' is
#                           $v->{job_id}; other Perl expressions see the document as $v
#   hdr NAME                a response header's value (of the last req)
#   app_log_clean           ok when the app's log shows no sanitizer report, no sandbox
#                           violation and no worker death
#   sign_jwt HEADER PAYLOAD [SECRET]
#                           an HS256 token for raw JSON header and payload (openssl)

APP_BIN=${ZIXLY_APP_BIN:-$ZX_ROOT/bin/zixly-app}
APP_SECRET=test-secret-0123456789abcdef0123456789
APP_N=0

app_db() {
	zx_db_create "$1"
	zx_sql "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zixly_web')
	        THEN CREATE ROLE zixly_web LOGIN IN ROLE zixly_app; END IF; END \$\$" >/dev/null
	APP_DB_URL="host=127.0.0.1 port=$PGPORT user=zixly_web dbname=$1"
}

app_start() {
	local port
	[ -x "$APP_BIN" ] || bail "$APP_BIN is not built (make -C kore-app)"
	port=$(zx_free_port)
	APP_N=$((APP_N + 1))
	APP_LOG=$ZX_CLUSTER/app-$APP_N.log
	env DATABASE_URL="$APP_DB_URL" ZIXLY_HTTP_PORT="$port" ZIXLY_JWT_SECRET="$APP_SECRET" \
		"$@" "$APP_BIN" >"$APP_LOG" 2>&1 &
	APP_PID=$!
	ZX_PIDS+=("$APP_PID")
	APP_URL=http://127.0.0.1:$port
	zx_wait_for "the app on port $port" 20 curl -s -o /dev/null "$APP_URL/health" ||
		{ cat "$APP_LOG" >&2; bail "the app did not start"; }
}

app_stop() { zx_stop "$APP_PID"; }

_req_n=0
req() {
	local method=$1 path=$2 out
	shift 2
	_req_n=$((_req_n + 1))
	out=$ZX_CLUSTER/req.$_req_n
	ST=$(curl -s -m 10 -X "$method" -D "$out.h" -o "$out.b" -w '%{http_code}' "$@" "$APP_URL$path")
	BODY=$(cat "$out.b" 2>/dev/null)
	HDRS=$(tr -d '\r' <"$out.h")
	rm -f "$out.h" "$out.b"
}

jget() {
	local e=$1
	case $e in '{'*|'['*) e="\$v->$e" ;; esac
	printf '%s' "${2-$BODY}" | E="$e" perl -MJSON::PP -0777 -ne '
		my $v = eval { JSON::PP->new->allow_nonref->decode($_) };
		exit 1 unless defined $v;
		my $r = eval $ENV{E};
		print ref($r) ? JSON::PP->new->canonical->encode($r) : (defined $r ? (JSON::PP::is_bool($r) ? ($r ? "true" : "false") : $r) : "null");'
}

# Whether BODY is a JSON object with string "error" and "message" members.
is_error_json() {
	printf '%s' "$BODY" | perl -MJSON::PP -0777 -ne '
		my $v = eval { JSON::PP->new->decode($_) };
		exit !(ref $v eq "HASH" && defined $v->{error} && !ref $v->{error} && defined $v->{message});'
}

hdr() { printf '%s\n' "$HDRS" | awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }'; }

app_log_clean() {
	! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|sandbox violation|seccomp violation|exited with status|worker .* gone' "$APP_LOG"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
sign_jwt() {
	local h p s
	h=$(printf '%s' "$1" | b64url)
	p=$(printf '%s' "$2" | b64url)
	s=$(printf '%s' "$h.$p" | openssl dgst -sha256 -mac HMAC -macopt "key:${3:-$APP_SECRET}" -binary | b64url)
	printf '%s.%s.%s' "$h" "$p" "$s"
}
