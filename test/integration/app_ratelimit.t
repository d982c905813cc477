#!/usr/bin/env bash
# The per-API-key rate limit holds across the app's Kore worker processes and across two app
# instances sharing one database: a burst of concurrent requests gets exactly the limit's worth
# of 202s and 429s for the rest (Retry-After, RateLimit-Policy, RateLimit headers, JSON body);
# another key is not affected. /metrics gives the same numbers whichever worker answers.
# Logins are throttled per email (ZIXLY_LOGIN_RATE_LIMIT): past the limit a 429 with
# Retry-After, even for the right password; other emails are not affected.
. "$(dirname "$0")/../lib/harness.sh"
. "$ZX_ROOT/kore-app/test/app_helpers.sh"

LIMIT=5
zx_cluster_start
app_db app_ratelimit
KEY=$(zx_sql "SELECT zixly_create_api_key('acme', 'limited')")
OTHER=$(zx_sql "SELECT zixly_create_api_key('acme', 'another key')")
app_start ZIXLY_RATE_LIMIT=$LIMIT ZIXLY_APP_WORKERS=2
A_URL=$APP_URL A_LOG=$APP_LOG A_PID=$APP_PID
app_start ZIXLY_RATE_LIMIT=$LIMIT ZIXLY_APP_WORKERS=1
B_URL=$APP_URL B_LOG=$APP_LOG
APP_URL=$A_URL APP_LOG=$A_LOG APP_PID=$A_PID

is "$(grep -c 'worker [12] started' "$A_LOG")" 2 "instance A runs two Kore workers"
P='{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'

# The limit is a fixed one-minute window: do not start the burst in its last seconds.
while [ $(( $(date +%s) % 60 )) -ge 50 ]; do sleep 1; done

# A burst of 12 concurrent requests, each on its own connection, split over both instances.
OUT=$ZX_CLUSTER/burst
mkdir -p "$OUT"
CURLS=()
for i in $(seq 1 12); do
	url=$A_URL
	[ $((i % 3)) = 0 ] && url=$B_URL
	curl -s -m 10 -D "$OUT/$i.h" -o "$OUT/$i.b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "X-API-Key: $KEY" --data-binary "$P" "$url/webhook/trading-sweep" >"$OUT/$i.code" &
	CURLS+=($!)
done
wait "${CURLS[@]}"
codes=$(for c in "$OUT"/*.code; do cat "$c"; echo; done | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' ')
is "$codes" "202x$LIMIT 429x$((12 - LIMIT))" "12 concurrent requests against a limit of $LIMIT: $LIMIT accepted, the rest 429"
is "$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs")" "$LIMIT" "exactly $LIMIT jobs were stored"

f=$(grep -l 429 "$OUT"/*.code | head -1)
f=${f%.code}
H=$(tr -d '\r' <"$f.h")
BODY=$(cat "$f.b")
retry=$(printf '%s\n' "$H" | awk -F': ' 'tolower($1) == "retry-after" {print $2}')
ok "$([ -n "$retry" ] && [ "$retry" -ge 1 ] && [ "$retry" -le 60 ] && echo 0 || echo 1)" "429 has Retry-After in seconds ($retry)"
like "$(printf '%s\n' "$H" | awk -F': ' 'tolower($1) == "ratelimit-policy" {print $2}')" "^\"per-key\";q=$LIMIT;w=60$" "429 has RateLimit-Policy"
like "$(printf '%s\n' "$H" | awk -F': ' 'tolower($1) == "ratelimit" {print $2}')" '^"per-key";r=0;t=[0-9]+$' "429 has RateLimit with r=0"
is "$(jget '{error}')" rate_limited "429 body says rate_limited"
ok "$(is_error_json; echo $?)" "429 body is {error,message}"

req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $OTHER" --data-binary "$P"
is "$ST" 202 "another key of the same tenant has its own limit"
req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary "$P"
is "$ST" 429 "the limited key is still limited"
req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary '{bad'
is "$ST" 429 "a limited key gets 429 before its body is looked at"

# /metrics from either worker: counts live in memory shared by instance A's workers.
accepted_a=$(grep -l 202 $(for i in $(seq 1 12); do [ $((i % 3)) = 0 ] || echo "$OUT/$i.code"; done) | wc -l)
same=0
values=""
for i in $(seq 1 8); do
	v=$(curl -s "$A_URL/metrics" | awk '/^http_requests_total\{route="\/webhook\/trading-sweep",code="202"\}/ {print $2}')
	values="$values $v"
	[ "$v" = "$((accepted_a + 1))" ] && same=$((same + 1))
done
is "$same" 8 "eight scrapes agree on the 202 count of instance A ($((accepted_a + 1)):$values)"
q=$(curl -s "$A_URL/metrics" | awk '/^pipeline_jobs_queued_total/ {print $2}')
is "$q" "$((accepted_a + 1))" "pipeline_jobs_queued_total counts instance A's jobs"

# ---------------------------------------------------------------- logins
zx_sql "SELECT zixly_create_user('acme', 'dave@acme.test', 'dave-password')" >/dev/null
zx_sql "SELECT zixly_create_user('acme', 'erin@acme.test', 'erin-password')" >/dev/null
login() { req POST /api/login -H 'Content-Type: application/json' --data-binary "$1"; }
while [ $(( $(date +%s) % 60 )) -ge 45 ]; do sleep 1; done
codes=""
for i in $(seq 1 10); do
	login '{"email":"dave@acme.test","password":"guess-'"$i"'"}'
	codes="$codes $ST"
done
is "$codes" "$(printf ' 401%.0s' $(seq 1 10))" "ten wrong passwords for one email: 401 each"
login '{"email":"dave@acme.test","password":"guess-11"}'
is "$ST" 429 "the eleventh attempt within the minute: 429"
is "$(jget '{error}')" rate_limited "429 body says rate_limited"
like "$(jget '{message}')" 'too many login attempts.*at most 10 a minute' "the message says why"
retry=$(hdr retry-after)
ok "$([ -n "$retry" ] && [ "$retry" -ge 1 ] && [ "$retry" -le 60 ] && echo 0 || echo 1)" "login 429 has Retry-After in seconds ($retry)"
like "$(hdr ratelimit-policy)" '^"per-email";q=10;w=60$' "login 429 has RateLimit-Policy"
login '{"email":"dave@acme.test","password":"dave-password"}'
is "$ST" 429 "the right password is refused too while limited (the password is not checked)"
login '{"email":"DAVE@acme.test","password":"guess-12"}'
is "$ST" 429 "emails are counted case-insensitively"
B_ST=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary '{"email":"dave@acme.test","password":"dave-password"}' "$B_URL/api/login")
is "$B_ST" 429 "and on the other instance (the count is in the database)"
login '{"email":"erin@acme.test","password":"erin-password"}'
is "$ST" 200 "another email logs in"

app_stop
ok "$(app_log_clean; echo $?)" "instance A's log is clean"
APP_LOG=$B_LOG
ok "$(app_log_clean; echo $?)" "instance B's log is clean"
done_testing
