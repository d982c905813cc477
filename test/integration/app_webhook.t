#!/usr/bin/env bash
# The Kore app's webhook, health, metrics and HTTP edges, over real HTTP against a real
# PostgreSQL: the spec's 202 body exactly; API keys (X-API-Key and Bearer; missing, wrong,
# malformed, revoked); the extension's validation as 400 with details; malformed, truncated,
# deeply nested, oversized and non-JSON bodies; SQL-injection strings in every field;
# Idempotency-Key (replay, 422 for another body, 409 while the first is in flight); 404, 405,
# 413, 415; half-sent requests time out; /health and /metrics (promtool). Never a 500.
. "$(dirname "$0")/../lib/harness.sh"
. "$ZX_ROOT/kore-app/test/app_helpers.sh"

zx_cluster_start
app_db app_webhook
KEY=$(zx_sql "SELECT zixly_create_api_key('acme', 'webhook test')")
OTHER_KEY=$(zx_sql "SELECT zixly_create_api_key('globex', 'other tenant')")
app_start ZIXLY_RATE_LIMIT=100000
PORT=${APP_URL##*:}

P='{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'
post() { req POST /webhook/trading-sweep -H 'Content-Type: application/json' "$@"; }
jobs() { zx_sql "SELECT count(*) FROM zixly.pipeline_jobs"; }

# Half-sent requests, started first because they take a while: headers that never end, and
# a body shorter than its Content-Length. Kore must give up on both (408 or a closed socket).
slow_headers() {
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'POST /webhook/trading-sweep HTTP/1.1\r\nHost: x\r\nX-API-Key: ' >&5
	timeout 15 cat <&5 >"$ZX_CLUSTER/slow_headers.out"
	echo "rc=$? secs=$(( $(date +%s) - SLOW_T0 ))" >>"$ZX_CLUSTER/slow_headers.out"
}
slow_body() {
	exec 6<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'POST /webhook/trading-sweep HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: %s\r\nContent-Length: 500\r\n\r\n{"ticker":' "$KEY" >&6
	timeout 20 cat <&6 >"$ZX_CLUSTER/slow_body.out"
	echo "rc=$? secs=$(( $(date +%s) - SLOW_T0 ))" >>"$ZX_CLUSTER/slow_body.out"
}
SLOW_T0=$(date +%s)
export SLOW_T0
slow_headers & SLOW1=$!
slow_body & SLOW2=$!

# ---------------------------------------------------------------- health and the 202
req GET /health
is "$ST" 200 "GET /health is 200"
is "$(jget '{status}')" healthy "health says healthy"
is "$(jget '{database_connected}')" true "health: database_connected true"
like "$(jget '{version}')" '^[0-9]+\.[0-9]+\.[0-9]+$' "health reports a version"

before=$(jobs)
post -H "X-API-Key: $KEY" --data-binary "$P"
is "$ST" 202 "the spec's example request is accepted (202)"
like "$BODY" '^\{"job_id":"c[a-z0-9]{24}","status":"QUEUED","message":"Trading sweep job queued successfully","created_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"\}$' \
	"the 202 body is exactly {job_id,status,message,created_at} (ISO 8601 UTC)"
JOB=$(jget '{job_id}')
is "$(hdr content-type)" application/json "the 202 is application/json"
is "$(hdr location)" "/api/pipelines/$JOB" "Location points at the job"
like "$(hdr ratelimit-policy)" '^"per-key";q=100000;w=60$' "RateLimit-Policy header"
like "$(hdr ratelimit)" '^"per-key";r=[0-9]+;t=[0-9]+$' "RateLimit header"
is "$(zx_sql "SELECT tenant_id || ' ' || status || ' ' || job_type || ' ' || (parameters = '$P'::jsonb) FROM zixly.pipeline_jobs WHERE id = '$JOB'")" \
	"acme QUEUED trading-sweep true" "the job is stored for the key's tenant with the body as parameters"
is "$(zx_sql "SELECT abs(extract(epoch FROM created_at) - extract(epoch FROM '$(jget '{created_at}')'::timestamptz)) < 0.002 FROM zixly.pipeline_jobs WHERE id = '$JOB'")" t \
	"created_at in the answer is the stored one"

post -H "Authorization: Bearer $KEY" --data-binary "$P"
is "$ST" 202 "the key also works as Authorization: Bearer"
post -H "Authorization: bearer   $KEY" -H "X-API-Key: $KEY" --data-binary "$P"
is "$ST" 202 "the same key in both headers is fine"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"ETH-USD","fast_range":[5,10],"slow_range":[20,40],"step":5,"strategy_type":"EMA","priority":7,"min_trades":3,"fee_bps":2.5,"webhook_url":"https://example.com/hook"}'
is "$ST" 202 "optional fields and a priority are accepted"
is "$(zx_sql "SELECT priority || ' ' || (parameters ? 'priority') FROM zixly.pipeline_jobs WHERE id = '$(jget '{job_id}')'")" "7 false" \
	"priority is a job option, not a sweep parameter"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"ETH-USD","fast_range":[5.0,10],"slow_range":[20,40],"step":5,"strategy_type":"EMA","priority":3.0}'
is "$ST" 202 "a priority written 3.0 is read as 3, like the sweep's own numbers (5.0)"
is "$(zx_sql "SELECT priority FROM zixly.pipeline_jobs WHERE id = '$(jget '{job_id}')'")" 3 "... and stored as 3"
is "$(jobs)" $((before + 5)) "five jobs were stored"

# ---------------------------------------------------------------- credentials
n=$(jobs)
post --data-binary "$P"
is "$ST" 401 "no key: 401"
ok "$(is_error_json; echo $?)" "401 body is {error,message}"
like "$(hdr www-authenticate)" '^Bearer realm="zixly"' "401 carries WWW-Authenticate"
post -H "X-API-Key: zx_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" --data-binary "$P"
is "$ST" 401 "an unknown well-formed key: 401"
# the last character changed (to x, or to y where it was an x)
WRONG=${KEY%?}x
[ "$WRONG" != "$KEY" ] || WRONG=${KEY%?}y
post -H "X-API-Key: $WRONG" --data-binary "$P"
is "$ST" 401 "a key with a wrong secret: 401"
post -H "X-API-Key: not-a-key" --data-binary "$P"
is "$ST" 401 "a malformed key: 401"
post -H "Authorization: Basic dXNlcjpwYXNz" --data-binary "$P"
is "$ST" 401 "Basic auth: 401"
post -H "Authorization: Bearer $KEY" -H "X-API-Key: $OTHER_KEY" --data-binary "$P"
is "$ST" 401 "two different keys: 401"
REVOKED=$(zx_sql "SELECT zixly_create_api_key('acme', 'to revoke')")
post -H "X-API-Key: $REVOKED" --data-binary "$P"
is "$ST" 202 "a fresh key works"
zx_sql "SELECT zixly_revoke_api_key('$REVOKED')" >/dev/null
post -H "X-API-Key: $REVOKED" --data-binary "$P"
is "$ST" 401 "the same key once revoked: 401"
TOKEN=$(sign_jwt '{"alg":"HS256","typ":"JWT"}' "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"u1\",\"tid\":\"acme\",\"exp\":$(( $(date +%s) + 600 ))}")
post -H "Authorization: Bearer $TOKEN" --data-binary "$P"
is "$ST" 403 "a valid dashboard token on the webhook: 403"
ok "$(is_error_json; echo $?)" "403 body is {error,message}"
post -H "Authorization: Bearer $(sign_jwt '{"alg":"HS256"}' '{"exp":1}' wrong-secret-wrong-secret-wrong-secret)" --data-binary "$P"
is "$ST" 401 "a bad token on the webhook: 401"
is "$(jobs)" $((n + 1)) "only the fresh key's request stored a job"

# ---------------------------------------------------------------- validation (the extension's)
n=$(jobs)
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"BTC-USD","fast_range":[20,10],"slow_range":[20,30],"step":5,"strategy_type":"RSI"}'
is "$ST" 400 "a reversed range and a bad enum: 400"
is "$(jget '{error}')" invalid_payload "error is invalid_payload"
like "$(jget '{message}')" 'strategy_type|fast_range' "the message names a field"
is "$(jget '{details}[0]{field}')" strategy_type "details[0].field"
like "$(jget '{details}[0]{message}')" 'SMA, EMA, MACD' "details[0].message says why"
is "$(jget '{details}[1]{field}')" fast_range "details lists every problem (fast_range too)"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"BTC-USD"}'
is "$ST" 400 "missing fields: 400"
like "$(jget '{details}')" '"field":"fast_range"' "details name the missing fields"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA","extra":1}'
is "$ST" 400 "an unknown field: 400"
is "$(jget '{details}[0]{field}')" extra "details name the unknown field"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA","priority":"high"}'
is "$ST" 400 "a non-integer priority: 400"
is "$(jget '{details}[0]{field}')" priority "details name priority"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA","priority":99999999999}'
is "$ST" 400 "a priority beyond int32: 400"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA","priority":1.5}'
is "$ST" 400 "a fractional priority: 400"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"BTC-USD","fast_range":[10,1e400],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'
is "$ST" 400 "a huge number: 400"
post -H "X-API-Key: $KEY" --data-binary '{"ticker":"BTC\u0000","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'
is "$ST" 400 "an escaped NUL in a string: 400"
is "$(jobs)" "$n" "no invalid request stored a job"

# ---------------------------------------------------------------- malformed bodies
n=$(jobs)
bad_body() { # NAME BODY [ERROR]
	post -H "X-API-Key: $KEY" --data-binary "$2"
	is "$ST" 400 "$1: 400"
	[ -z "${3:-}" ] || is "$(jget '{error}')" "$3" "$1: error is $3"
}
bad_body "malformed JSON" '{ticker: "BTC"}' invalid_json
bad_body "truncated JSON" '{"ticker":"BTC-USD","fast_range":[10,' invalid_json
bad_body "trailing garbage" "$P xyz" invalid_json
bad_body "two objects" "$P$P" invalid_json
bad_body "a JSON array" '[1,2,3]' invalid_payload
bad_body "a JSON string" '"hello"' invalid_payload
bad_body "JSON null" 'null' invalid_payload
bad_body "an empty body" '' invalid_json
bad_body "whitespace only" '   ' invalid_json
bad_body "a trailing comma" '{"ticker":"BTC-USD",}' invalid_json
bad_body "single quotes" "{'ticker':'BTC-USD'}" invalid_json
bad_body "a comment" '{"ticker":"BTC-USD" /* hi */}' invalid_json
bad_body "NaN" '{"ticker":NaN}' invalid_json
# a name given twice: JSON parsers keep the last, so the job would run CAC unnoticed
bad_body "ticker given twice" '{"ticker":"DAX","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA","ticker":"CAC"}' invalid_payload
like "$(jget '{message}')" 'a name appears twice in one object' "a name given twice: the message says so"
bad_body "ticker twice, once escaped" '{"ticker":"DAX","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA","\u0074icker":"CAC"}' invalid_payload
bad_body "a name twice in a nested object" '{"ticker":"DAX","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA","x":{"a":1,"a":2}}' invalid_payload
like "$(jget '{message}')" 'a name appears twice in one object' "... said before the unknown field x"
nested=$(printf '{"a":%s1%s}' "$(printf '[%.0s' $(seq 1 200))" "$(printf ']%.0s' $(seq 1 200))")
bad_body "200 levels of nesting" "$nested" invalid_json
like "$(jget '{message}')" 'nested deeper than 32' "nesting: the message says why"
deep_ok=$(printf '{"a":%s1%s}' "$(printf '[%.0s' $(seq 1 20))" "$(printf ']%.0s' $(seq 1 20))")
post -H "X-API-Key: $KEY" --data-binary "$deep_ok"
is "$ST" 400 "20 levels parse, then fail validation (unknown field): 400"
is "$(jget '{error}')" invalid_payload "moderate nesting reaches the validator"
printf '{"ticker":"\xff\xfe"}' >"$ZX_CLUSTER/badutf8.json"
post -H "X-API-Key: $KEY" --data-binary @"$ZX_CLUSTER/badutf8.json"
is "$ST" 400 "invalid UTF-8: 400"
printf '{"ticker":"BTC\0USD"}' >"$ZX_CLUSTER/nul.json"
post -H "X-API-Key: $KEY" --data-binary @"$ZX_CLUSTER/nul.json"
is "$ST" 400 "a raw NUL byte: 400"
head -c 70000 /dev/zero | tr '\0' ' ' >"$ZX_CLUSTER/big.json"
printf '%s' "$P" >>"$ZX_CLUSTER/big.json"
post -H "X-API-Key: $KEY" --data-binary @"$ZX_CLUSTER/big.json"
is "$ST" 413 "a 70 KB body: 413"
is "$(jget '{error}')" payload_too_large "413 body is JSON"
head -c 2000000 /dev/zero | tr '\0' 'a' >"$ZX_CLUSTER/huge.json"
post -H "X-API-Key: $KEY" --data-binary @"$ZX_CLUSTER/huge.json"
is "$ST" 413 "a 2 MB body: 413 (refused by Kore before reading it)"
req POST /webhook/trading-sweep -H "X-API-Key: $KEY" -H 'Content-Type: text/plain' --data-binary "$P"
is "$ST" 415 "text/plain: 415"
ok "$(is_error_json; echo $?)" "415 body is {error,message}"
req POST /webhook/trading-sweep -H "X-API-Key: $KEY" -H 'Content-Type:' --data-binary "$P"
is "$ST" 415 "no Content-Type: 415"
req POST /webhook/trading-sweep -H "X-API-Key: $KEY" -H 'Content-Type: application/json; charset=latin1' --data-binary "$P"
is "$ST" 415 "a non-UTF-8 charset: 415"
post -H "X-API-Key: $KEY" -H 'Content-Type: application/json; charset=UTF-8' --data-binary "$P"
is "$ST" 202 "application/json; charset=UTF-8 is fine"
post --data-binary '{ticker'
is "$ST" 401 "a bad body without a key is a 401 (auth first)"
is "$(jobs)" $((n + 1)) "only the one good request stored a job"

# ---------------------------------------------------------------- SQL injection in every field
n=$(jobs)
INJ=(
	"'; DROP TABLE zixly.pipeline_jobs; --"
	"\" OR 1=1 --"
	"BTC'); DELETE FROM zixly.api_keys; --"
	"\$1; SELECT pg_sleep(5)"
	"1) OR (1=1"
	"\\\\'; TRUNCATE zixly.tenants CASCADE; --"
)
for s in "${INJ[@]}"; do
	js=$(printf '%s' "$s" | perl -MJSON::PP -0777 -ne 'print JSON::PP->new->allow_nonref->encode($_)')
	for body in \
		"{\"ticker\":$js,\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\"}" \
		"{\"ticker\":\"BTC\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":$js}" \
		"{\"ticker\":\"BTC\",\"fast_range\":[$js,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\"}" \
		"{\"ticker\":\"BTC\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":$js,\"strategy_type\":\"SMA\"}" \
		"{\"ticker\":\"BTC\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\",\"webhook_url\":$js}" \
		"{\"ticker\":\"BTC\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\",$js:1}" \
		"{\"ticker\":\"BTC\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\",\"idempotency_key\":$js}"; do
		post -H "X-API-Key: $KEY" --data-binary "$body"
		[ "$ST" = 400 ] || [ "$ST" = 202 ] || { ok 1 "injection answered $ST: $body"; }
	done
	post -H "X-API-Key: $s" --data-binary "$P"
	[ "$ST" = 401 ] || ok 1 "injection in X-API-Key answered $ST"
	post -H "X-API-Key: $KEY" -H "Idempotency-Key: h-$s" --data-binary "$P"
	[ "$ST" = 202 ] || ok 1 "injection in Idempotency-Key answered $ST"
done
ok 0 "SQL-injection strings in every field are answered 400, 401 or 202, never 500"
is "$(zx_sql "SELECT count(*) FROM zixly.api_keys")" 3 "the api_keys table is intact"
is "$(zx_sql "SELECT count(*) FROM zixly.tenants")" 2 "the tenants table is intact"
like "$(jobs)" '^[0-9]+$' "the jobs table still exists"
is "$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs WHERE idempotency_key LIKE '%DROP TABLE%'")" 2 \
	"injection strings used as idempotency keys (body and header) are stored as plain data"
post -H "X-API-Key: $KEY" --data-binary "$P"
is "$ST" 202 "the app still works after the injection attempts"

# ---------------------------------------------------------------- concurrent requests, one statement
# Concurrent webhooks for one key share a statement (batch.c): one invalid body fails it, and
# every request is then redone alone, so each still gets its own answer.
n=$(jobs)
CONC=$ZX_CLUSTER/conc
mkdir -p "$CONC"
PIDS=()
for i in $(seq 1 12); do
	body=$P
	[ $((i % 4)) = 0 ] && body=${P/\"SMA\"/\"RSI\"}
	curl -s -m 10 -o "$CONC/$i.b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "X-API-Key: $KEY" --data-binary "$body" "$APP_URL/webhook/trading-sweep" >"$CONC/$i.code" &
	PIDS+=($!)
done
wait "${PIDS[@]}"
codes=$(for i in $(seq 1 12); do echo "$i:$(cat "$CONC/$i.code")"; done | paste -sd' ')
is "$codes" "1:202 2:202 3:202 4:400 5:202 6:202 7:202 8:400 9:202 10:202 11:202 12:400" \
	"12 concurrent requests, 3 of them invalid: 9 accepted, the 3 invalid ones 400"
is "$(jobs)" $((n + 9)) "exactly 9 jobs were stored"
ids=$(grep -ho '"job_id":"[a-z0-9]*"' "$CONC"/*.b | sort -u | wc -l)
is "$ids" 9 "each accepted request has its own job"

# ---------------------------------------------------------------- Idempotency-Key
post -H "X-API-Key: $KEY" -H 'Idempotency-Key: order-1001' --data-binary "$P"
is "$ST" 202 "first request with an Idempotency-Key: 202"
FIRST=$BODY
post -H "X-API-Key: $KEY" -H 'Idempotency-Key: order-1001' --data-binary "$P"
is "$ST" 202 "the same key and body again: 202"
is "$BODY" "$FIRST" "the replay answers the first job, same body"
is "$(hdr idempotent-replayed)" true "the replay is marked Idempotent-Replayed"
is "$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs WHERE idempotency_key = 'order-1001'")" 1 "one job for the key"
post -H "X-API-Key: $KEY" -H 'Idempotency-Key: order-1001' --data-binary '{"ticker":"ETH-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'
is "$ST" 422 "the same key with another body: 422"
ok "$(is_error_json; echo $?)" "422 body is {error,message}"
post -H "X-API-Key: $KEY" -H 'Idempotency-Key: "order-1001"' --data-binary "$P"
is "$(jget '{job_id}')" "$(jget '{job_id}' "$FIRST")" "a quoted (sf-string) key is the same key"
post -H "X-API-Key: $OTHER_KEY" -H 'Idempotency-Key: order-1001' --data-binary "$P"
is "$ST" 202 "another tenant may use the same key"
isnt_first=$([ "$(jget '{job_id}')" != "$(jget '{job_id}' "$FIRST")" ] && echo 0 || echo 1)
ok "$isnt_first" "and gets its own job"
post -H "X-API-Key: $KEY" -H "Idempotency-Key: $(printf 'k%.0s' $(seq 1 300))" --data-binary "$P"
is "$ST" 400 "an Idempotency-Key over 255 characters: 400"
post -H "X-API-Key: $KEY" -H 'Idempotency-Key: a' --data-binary "${P%\}},\"idempotency_key\":\"b\"}"
is "$ST" 400 "header and body keys that differ: 400"
post -H "X-API-Key: $KEY" --data-binary "${P%\}},\"idempotency_key\":\"body-key-1\"}"
is "$ST" 202 "an idempotency_key in the body works too"
body_first=$(jget '{job_id}')
post -H "X-API-Key: $KEY" -H 'Idempotency-Key: body-key-1' --data-binary "${P%\}},\"idempotency_key\":\"body-key-1\"}"
is "$(jget '{job_id}')" "$body_first" "the body key and the header key name the same job"

# In flight: hold the job table so the first request waits inside its transaction.
psql -qX -c "BEGIN; LOCK TABLE zixly.pipeline_jobs IN SHARE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null &
LOCKER=$!
zx_wait_for "the table lock" 10 sh -c "psql -XAtq -c \"SELECT 1 FROM pg_locks WHERE mode = 'ShareLock' AND relation = 'zixly.pipeline_jobs'::regclass\" | grep -q 1"
curl -s -m 15 -o "$ZX_CLUSTER/inflight1.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-H "X-API-Key: $KEY" -H 'Idempotency-Key: in-flight-1' --data-binary "$P" "$APP_URL/webhook/trading-sweep" \
	>"$ZX_CLUSTER/inflight1.code" &
FIRST_PID=$!
zx_wait_for "the first request to wait on the lock" 10 sh -c \
	"psql -XAtq -c \"SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%zixly_enqueue%'\" | grep -q 1"
post -H "X-API-Key: $KEY" -H 'Idempotency-Key: in-flight-1' --data-binary "$P"
is "$ST" 409 "a repeat while the first is in flight: 409"
ok "$(is_error_json; echo $?)" "409 body is {error,message}"
wait "$LOCKER"
wait "$FIRST_PID"
is "$(cat "$ZX_CLUSTER/inflight1.code")" 202 "the first request completes with 202 once unblocked"
post -H "X-API-Key: $KEY" -H 'Idempotency-Key: in-flight-1' --data-binary "$P"
is "$(jget '{job_id}')" "$(jget '{job_id}' "$(cat "$ZX_CLUSTER/inflight1.out")")" "afterwards the repeat gets the first job"

# ---------------------------------------------------------------- routing and methods
req GET /webhook/trading-sweep -H "X-API-Key: $KEY"
is "$ST" 405 "GET on the webhook: 405"
is "$(hdr allow)" POST "405 names the allowed method"
ok "$(is_error_json; echo $?)" "405 body is {error,message}"
req DELETE /health
is "$ST" 405 "DELETE /health: 405"
req GET /no/such/path
is "$ST" 404 "an unknown path: 404"
ok "$(is_error_json; echo $?)" "404 body is {error,message}"
req GET "/webhook/trading-sweep/../../etc/passwd"
is "$ST" 404 "a path with dot segments: 404"
req HEAD /health
is "$ST" 200 "HEAD /health: 200"

# ---------------------------------------------------------------- metrics
req GET /metrics
is "$ST" 200 "GET /metrics is 200"
like "$(hdr content-type)" '^text/plain; version=0.0.4' "Prometheus text format"
printf '%s\n' "$BODY" >"$ZX_CLUSTER/metrics.txt"
promtool check metrics <"$ZX_CLUSTER/metrics.txt" >"$ZX_CLUSTER/promtool.out" 2>&1
ok $? "promtool check metrics passes"
queued=$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'QUEUED'")
like "$BODY" "pipeline_queue_depth\\{status=\"QUEUED\"\\} $queued" "pipeline_queue_depth{status=QUEUED} matches the table"
created_here=$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs")
like "$BODY" "pipeline_jobs_queued_total\\{job_type=\"trading-sweep\"\\} $created_here" \
	"pipeline_jobs_queued_total counts every job the app created (replays not counted)"
like "$BODY" 'http_requests_total\{route="/webhook/trading-sweep",code="202"\} [0-9]+' "request counts by route and code"
like "$BODY" 'http_request_duration_seconds_bucket\{route="/webhook/trading-sweep",code="400",le="\+Inf"\} [0-9]+' "latency histogram by route and code"
like "$BODY" 'http_requests_total\{route="other",code="404"\} [0-9]+' "unknown paths count as route=other"

# ---------------------------------------------------------------- half-sent requests
wait "$SLOW1" "$SLOW2"
like "$(cat "$ZX_CLUSTER/slow_headers.out")" 'rc=0 secs=([5-9]|1[0-2])$' \
	"unfinished headers: Kore closes the connection after the 5 s header timeout"
like "$(cat "$ZX_CLUSTER/slow_body.out")" 'rc=0 secs=(9|1[0-4])$' \
	"a short body: Kore closes the connection after the 10 s body timeout"

req GET /health
is "$ST" 200 "still healthy at the end"
app_stop
ok "$(app_log_clean; echo $?)" "no crash, sanitizer report or sandbox violation in the app's log"
done_testing
