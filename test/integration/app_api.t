#!/usr/bin/env bash
# The dashboard API of the Kore app, over real HTTP against a real PostgreSQL: login, JWTs
# (expired, tampered, alg:none, wrong algorithm, audience, issuer, not-yet-valid, wrong key),
# jobs list with status filter and cursor pagination, job detail with top results, the full
# results as JSON and CSV, cancel and retry, top strategies per ticker, POST /api/pipelines;
# tenants are kept apart by row-level security (another tenant's job is a 404, for reads and
# writes); SQL-injection strings in query parameters, paths and the login.
. "$(dirname "$0")/../lib/harness.sh"
. "$ZX_ROOT/kore-app/test/app_helpers.sh"

zx_cluster_start
app_db app_api
zx_sql "SELECT zixly_create_user('acme', 'alice@acme.test', 'alice-password')" >/dev/null
zx_sql "SELECT zixly_create_user('globex', 'bob@globex.test', 'bob-password')" >/dev/null
ACME_KEY=$(zx_sql "SELECT zixly_create_api_key('acme', 'api test')")

# Jobs for both tenants (as the superuser), one of them completed with 12 results.
P='{"ticker":"DAX","fast_range":[5,20],"slow_range":[20,60],"step":5,"strategy_type":"SMA"}'
enq() { zx_sql "SELECT id FROM zixly_enqueue('trading-sweep', '$P', tenant_id => '$1')"; }
A_IDS=()
for i in 1 2 3 4 5; do A_IDS+=("$(enq acme)"); done
B_JOB=$(enq globex)
DONE=${A_IDS[0]}
zx_sql "UPDATE zixly.pipeline_jobs SET priority = 100 WHERE id = '$DONE'" >/dev/null
zx_sql "SELECT id FROM zixly_claim('w1', 1)" >/dev/null
zx_sql "SELECT status FROM zixly_complete('$DONE', 'w1', '{\"combinations\":12,\"artifact\":\"artifacts/$DONE.csv\"}')" >/dev/null
zx_sql "INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type,
            fast_period, slow_period, rank, score, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
        SELECT 'r' || g, '$DONE', 'acme', 'run-1', 'DAX', 'SMA', 5 * g, 5 * g + 20, g,
               CASE WHEN g = 12 THEN NULL ELSE 3.0 - g * 0.25 END, 3.0 - g * 0.25, 10.0 - g, 5.5, g
          FROM generate_series(1, 12) g" >/dev/null
zx_sql "UPDATE zixly.trading_sweep_results SET sharpe_ratio = 'NaN' WHERE id = 'r11'" >/dev/null
zx_sql "INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type,
            fast_period, slow_period, rank, score, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
        VALUES ('rb', '$B_JOB', 'globex', 'run-2', 'DAX', 'EMA', 7, 70, 1, 99, 99, 1, 1, 1)" >/dev/null
FAILED=${A_IDS[1]}
zx_sql "SELECT id FROM zixly_claim('w1', 1)" >/dev/null
zx_sql "SELECT status FROM zixly_fail('$FAILED', 'w1', 'boom', false)" >/dev/null
# A third tenant's sweep ranked by max_drawdown_pct (lower is better): rank 1 has the lowest
# score (3), rank 10 the highest (12), all higher than any Sharpe ratio above.
zx_sql "SELECT zixly_create_user('initech', 'carol@initech.test', 'carol-password')" >/dev/null
DD_JOB=$(zx_sql "SELECT id FROM zixly_enqueue('trading-sweep',
	'{\"ticker\":\"DAX\",\"fast_range\":[5,50],\"slow_range\":[20,60],\"step\":5,\"strategy_type\":\"SMA\",\"objective\":\"max_drawdown_pct\"}',
	tenant_id => 'initech')")
zx_sql "INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type,
            fast_period, slow_period, rank, score, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
        SELECT 'd' || g, '$DD_JOB', 'initech', 'run-3', 'DAX', 'SMA', 5 * g, 5 * g + 20, g,
               2.0 + g, 0.5, 1.0, 2.0 + g, 4
          FROM generate_series(1, 10) g" >/dev/null
zx_sql "UPDATE zixly.pipeline_jobs SET result = '{\"combinations\":10,\"artifact\":{\"store\":\"local\",
	\"path\":\"/srv/zixly/artifacts/secret.csv\",\"rows\":10},\"equity_curve\":{\"dates\":[\"2020-01-02\"],
	\"strategy\":[1],\"buy_and_hold\":[1]}}' WHERE id = '$DD_JOB'" >/dev/null
# and one of its Sharpe sweeps, whose best (0.9) must not lose to the drawdowns' 12
SH_JOB=$(zx_sql "SELECT id FROM zixly_enqueue('trading-sweep', '$P', tenant_id => 'initech')")
zx_sql "INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type,
            fast_period, slow_period, rank, score, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
        VALUES ('s1', '$SH_JOB', 'initech', 'run-4', 'DAX', 'SMA', 10, 30, 1, 0.9, 0.9, 3, 20, 4),
               ('s2', '$SH_JOB', 'initech', 'run-4', 'DAX', 'SMA', 15, 30, 2, 'NaN', 'NaN', 3, 20, 4)" >/dev/null

app_start
login() { req POST /api/login -H 'Content-Type: application/json' --data-binary "$1"; }
api() { local m=$1 p=$2; shift 2; req "$m" "$p" -H "Authorization: Bearer $TOKEN" "$@"; }
# POSTs without a body still send Content-Length: 0 (Kore answers 411 otherwise).
act() { api POST "$1" --data-binary ''; }

# ---------------------------------------------------------------- login
login '{"email":"alice@acme.test","password":"alice-password"}'
is "$ST" 200 "login with the right password: 200"
TOKEN=$(jget '{token}')
like "$TOKEN" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "a JWT comes back"
is "$(jget '{token_type}')" Bearer "token_type Bearer"
like "$(jget '{expires_at}')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "expires_at in ISO 8601 UTC"
is "$(jget '{user}{tenant_id}')" acme "the user's tenant"
is "$(printf '%s' "${TOKEN%%.*}" | tr '_-' '/+' | base64 -d 2>/dev/null)" '{"alg":"HS256","typ":"JWT"}' "the header is HS256"
login '{"email":"ALICE@acme.test","password":"alice-password"}'
is "$ST" 200 "emails are case-insensitive"
login '{"email":"alice@acme.test","password":"wrong-password"}'
is "$ST" 401 "a wrong password: 401"
is "$(jget '{error}')" invalid_credentials "error invalid_credentials"
login '{"email":"nobody@acme.test","password":"alice-password"}'
is "$ST" 401 "an unknown email: 401"
login '{"email":"alice@acme.test"}'
is "$ST" 400 "no password: 400"
login '{"email":"alice@acme.test","password":'
is "$ST" 400 "truncated JSON: 400"
login "{\"email\":\"' OR 1=1 --\",\"password\":\"' OR '1'='1\"}"
is "$ST" 401 "SQL injection in the login: 401"
req POST /api/login -H 'Content-Type: text/plain' --data-binary '{}'
is "$ST" 415 "login as text/plain: 415"
req GET /api/login
is "$ST" 405 "GET /api/login: 405"
B_TOKEN=$(login '{"email":"bob@globex.test","password":"bob-password"}'; jget '{token}')
C_TOKEN=$(login '{"email":"carol@initech.test","password":"carol-password"}'; jget '{token}')

# ---------------------------------------------------------------- tokens
now=$(date +%s)
claims() { printf '{"iss":"%s","aud":"%s","sub":"u1","tid":"acme","email":"alice@acme.test","iat":%s,"exp":%s%s}' \
	"${ISS:-zixly}" "${AUD:-zixly-dashboard}" "${IAT:-$now}" "${EXP:-$((now + 600))}" "${MORE:-}"; }
try_token() { # NAME TOKEN EXPECTED
	req GET /api/pipelines -H "Authorization: Bearer $2"
	is "$ST" "$3" "$1: $3"
}
try_token "a token made with the app's key" "$(sign_jwt '{"alg":"HS256","typ":"JWT"}' "$(claims)")" 200
req GET /api/pipelines
is "$ST" 401 "no token: 401"
like "$(hdr www-authenticate)" '^Bearer' "401 carries WWW-Authenticate: Bearer"
ok "$(is_error_json; echo $?)" "401 body is {error,message}"
try_token "an expired token" "$(EXP=$((now - 120)) IAT=$((now - 720)) sign_jwt '{"alg":"HS256"}' "$(EXP=$((now - 120)) IAT=$((now - 720)) claims)")" 401
like "$(jget '{message}')" 'expired' "the message says expired"
h=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
pl=$(printf '%s' "$(claims)" | sed 's/"tid":"acme"/"tid":"globex"/' | b64url)
try_token "a tampered payload (tenant changed)" "$h.$pl.${TOKEN##*.}" 401
try_token "alg:none" "$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(claims | b64url)." 401
try_token "alg:none with a signature" "$(printf '{"alg":"none"}' | b64url).$(claims | b64url).${TOKEN##*.}" 401
try_token "HS512" "$(printf '{"alg":"HS512"}' | b64url).$(claims | b64url).${TOKEN##*.}" 401
try_token "RS256" "$(sign_jwt '{"alg":"RS256"}' "$(claims)")" 401
try_token "a wrong key" "$(sign_jwt '{"alg":"HS256"}' "$(claims)" another-secret-another-secret-another)" 401
try_token "another audience" "$(sign_jwt '{"alg":"HS256"}' "$(AUD=other claims)")" 401
try_token "another issuer" "$(sign_jwt '{"alg":"HS256"}' "$(ISS=evil claims)")" 401
try_token "nbf in the future" "$(sign_jwt '{"alg":"HS256"}' "$(MORE=",\"nbf\":$((now + 3600))" claims)")" 401
try_token "iat in the future" "$(sign_jwt '{"alg":"HS256"}' "$(IAT=$((now + 3600)) claims)")" 401
try_token "no exp" "$(sign_jwt '{"alg":"HS256"}' '{"iss":"zixly","aud":"zixly-dashboard","sub":"u1","tid":"acme"}')" 401
try_token "a crit header" "$(sign_jwt '{"alg":"HS256","crit":["x"],"x":1}' "$(claims)")" 401
try_token "a small clock skew is tolerated" "$(sign_jwt '{"alg":"HS256"}' "$(IAT=$((now + 10)) claims)")" 200
try_token "garbage" "not.a.token" 401
try_token "an API key on the dashboard API" "$ACME_KEY" 403
try_token "a revoked-looking key" "zx_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" 401
req GET /api/pipelines -H "X-API-Key: $ACME_KEY"
is "$ST" 403 "an API key in X-API-Key on the dashboard API: 403"
for inj in "x' OR '1'='1" "zx_x';DROP/**/TABLE/**/zixly.api_keys;--" "a.b.c'--" "\$1"; do
	req GET /api/pipelines -H "Authorization: Bearer $inj"
	is "$ST" 401 "SQL injection as a bearer credential ($inj): 401"
	req GET /api/pipelines -H "X-API-Key: $inj"
	is "$ST" 401 "SQL injection in X-API-Key ($inj): 401"
done
is "$(zx_sql "SELECT count(*) FROM zixly.api_keys")" 1 "the api_keys table is intact"

# ---------------------------------------------------------------- list
api GET /api/pipelines
is "$ST" 200 "GET /api/pipelines: 200"
is "$(jget '{jobs}->@*')" 5 "alice sees acme's five jobs"
is "$(jget 'join(",", sort map { $_->{id} } @{$v->{jobs}})')" "$(printf '%s\n' "${A_IDS[@]}" | sort | paste -sd,)" "exactly acme's jobs"
is "$(jget '{jobs}[0]{id}')" "${A_IDS[4]}" "newest first"
is "$(jget '{next_cursor}')" null "no next page"
done_json=$(jget "(grep { \$_->{id} eq '$DONE' } @{\$v->{jobs}})[0]")
is "$(jget '{top_results}->@*' "$done_json")" 5 "a job comes with its top 5 results"
is "$(jget '{top_results}[0]{rank}' "$done_json")" 1 "best first"
is "$(jget '{status}' "$done_json")" COMPLETED "the completed job's status"
is "$(jget '{result}{combinations}' "$done_json")" 12 "the job's result summary"
like "$(jget '{created_at}' "$done_json")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "timestamps in ISO 8601 UTC"
api GET "/api/pipelines?status=FAILED"
is "$(jget '{jobs}->@*')" 1 "status=FAILED filters"
is "$(jget '{jobs}[0]{error_message}')" boom "the failed job's error"
is "$(curl -s -m 10 -I -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$APP_URL/api/pipelines?status=FAILED&limit=5")" 200 \
	"HEAD with query arguments: 200 (validated as for GET)"
api GET "/api/pipelines?status=bogus"
is "$ST" 400 "an unknown status: 400"
api GET "/api/pipelines?status=QUEUED'%20OR%201=1--"
is "$ST" 400 "SQL injection in status: 400"
for l in 0 101 abc -1; do
	api GET "/api/pipelines?limit=$l"
	is "$ST" 400 "limit=$l: 400"
done
seen=()
cursor=""
pages=0
while :; do
	api GET "/api/pipelines?limit=2${cursor:+&cursor=$cursor}"
	[ "$ST" = 200 ] || break
	pages=$((pages + 1))
	for id in $(jget 'join(" ", map { $_->{id} } @{$v->{jobs}})'); do seen+=("$id"); done
	cursor=$(jget '{next_cursor}')
	[ "$cursor" = null ] && break
	[ "$pages" -lt 10 ] || break
done
is "$pages" 3 "limit=2 gives three pages for five jobs"
is "$(printf '%s\n' "${seen[@]}" | sort | paste -sd,)" "$(printf '%s\n' "${A_IDS[@]}" | sort | paste -sd,)" \
	"following next_cursor visits every job once"
api GET "/api/pipelines?cursor=bm90LWEtY3Vyc29y"
is "$ST" 400 "a cursor we did not make: 400"
api GET "/api/pipelines?cursor='%3B%20DROP%20TABLE%20x--"
is "$ST" 400 "SQL injection in the cursor: 400"

# ---------------------------------------------------------------- detail and results
api GET "/api/pipelines/$DONE"
is "$ST" 200 "GET /api/pipelines/{id}: 200"
is "$(jget '{id}')" "$DONE" "the job"
is "$(jget '{top_results}->@*')" 10 "with its top 10 results"
is "$(jget 'join(",", map { $_->{rank} } @{$v->{top_results}})')" "1,2,3,4,5,6,7,8,9,10" "ordered by score"
is "$(jget '{top_results}[0]{sharpe_ratio}')" 2.75 "numbers are numbers"
req GET "/api/pipelines/$DD_JOB" -H "Authorization: Bearer $C_TOKEN"
is "$(jget 'join(",", map { $_->{rank} } @{$v->{top_results}})')" "1,2,3,4,5,6,7,8,9,10" \
	"a max_drawdown_pct sweep's results by rank too (lowest drawdown first)"
is "$(jget '{top_results}[0]{score}')" 3 "its best is the lowest drawdown"
req GET "/api/pipelines?limit=100" -H "Authorization: Bearer $C_TOKEN"
is "$(jget "join(',', map { \$_->{rank} } @{(grep { \$_->{id} eq '$DD_JOB' } @{\$v->{jobs}})[0]{top_results}})")" \
	"1,2,3,4,5" "the list's top 5 of a max_drawdown_pct sweep are ranks 1 to 5"
dd_json=$(jget "(grep { \$_->{id} eq '$DD_JOB' } @{\$v->{jobs}})[0]")
is "$(jget '{result}{combinations} // "none"' "$dd_json")" 10 "the list gives the job's result summary"
is "$(jget 'exists $v->{result}{artifact}{path} ? "path" : "none"' "$dd_json")" none "but not the server's file path"
is "$(jget 'exists $v->{result}{equity_curve} ? "curve" : "none"' "$dd_json")" none "nor the equity curve"
req GET "/api/pipelines/$DD_JOB" -H "Authorization: Bearer $C_TOKEN"
is "$(jget 'exists $v->{result}{artifact}{path} ? "path" : "none"')" none "the job's detail has no file path either"
is "$(jget '"$v->{result}{artifact}{rows} " . scalar @{$v->{result}{equity_curve}{dates}}')" "10 1" \
	"but the rest of the artifact's summary and the equity curve"
ok "$(case $BODY in *secret.csv*) echo 1 ;; *) echo 0 ;; esac)" "the path is nowhere in the answer"
api GET "/api/pipelines/$B_JOB"
is "$ST" 404 "another tenant's job: 404"
ok "$(is_error_json; echo $?)" "404 body is {error,message}"
api GET "/api/pipelines/cxxxxxxxxxxxxxxxxxxxxxxxx"
is "$ST" 404 "an unknown job: 404"
api GET "/api/pipelines/x'%20OR%20'1'='1"
is "$ST" 404 "SQL injection in the path: 404"
api GET "/api/pipelines/$DONE/nonsense"
is "$ST" 404 "an unknown action: 404"
act "/api/pipelines/$DONE"
is "$ST" 405 "POST on a job: 405"

# The job's result names no grid file (results.c; the full grid from a real worker's artifact
# is app_results.t's): the answer is the database's rows, and says so.
api GET "/api/pipelines/$DONE/results"
is "$ST" 200 "results as JSON: 200"
is "$(jget '{source}') $(jget '{complete}')" "database false" "from the database, marked incomplete"
like "$(jget '{grid_unavailable}')" 'no grid file' "saying why"
is "$(jget '{combinations}')" 12 "the grid's size from the job's result"
is "$(jget '{count}')" 12 "count of the rows given"
is "$(jget '{results}->@*')" 12 "the stored rows"
is "$(jget '"$v->{results}[0]{rank} $v->{results}[0]{fast} $v->{results}[0]{slow}"')" "1 5 25" "rank 1 first, with fast and slow"
is "$(jget '{results}[10]{sharpe_ratio}')" null "NaN becomes null, so the JSON stays valid"
is "$(jget '{results}[11]{score}')" null "an unranked result has a null score"
is "$(hdr zixly-grid-complete)" false "Zixly-Grid-Complete: false"
api GET "/api/pipelines/$DONE/results" -H 'Accept: text/csv'
is "$ST" 200 "results as CSV (Accept): 200"
like "$(hdr content-type)" '^text/csv' "text/csv"
like "$(hdr content-disposition)" "attachment; filename=\"$DONE-results.csv\"" "as an attachment"
is "$(hdr zixly-results-source)" database "Zixly-Results-Source: database"
is "$(printf '%s' "$BODY" | head -1)" \
	"fast,slow,total_return_pct,sharpe_ratio,max_drawdown_pct,total_trades,sortino_ratio,win_rate_pct,profit_factor,exposure_pct,score,rank" \
	"the CSV header is the worker's grid header"
is "$(printf '%s' "$BODY" | sed -n 2p)" "5,25,9,2.75,5.5,1,,,,,2.75,1" "the first CSV row"
is "$(printf '%s' "$BODY" | grep -c .)" 13 "header and 12 rows"
api GET "/api/pipelines/$DONE/results?format=csv"
like "$(hdr content-type)" '^text/csv' "?format=csv gives CSV too"
api GET "/api/pipelines/$DONE/results?format=xml"
is "$ST" 400 "?format=xml: 400"
api GET "/api/pipelines/${A_IDS[2]}/results?format=csv"
is "$(printf '%s' "$BODY" | grep -c .)" 1 "a job without results: only the CSV header"
api GET "/api/pipelines/$B_JOB/results"
is "$ST" 404 "another tenant's results: 404"
api GET "/api/pipelines/$B_JOB/results?format=csv"
is "$ST" 404 "another tenant's results as CSV: 404"

# ---------------------------------------------------------------- cancel and retry
J=${A_IDS[3]}
act "/api/pipelines/$J/cancel"
is "$ST" 200 "cancel a queued job: 200"
is "$(jget '{status}')" CANCELLED "it is CANCELLED"
act "/api/pipelines/$J/cancel"
is "$ST" 409 "cancel it again: 409"
like "$(jget '{message}')" 'CANCELLED' "the conflict says why"
act "/api/pipelines/$J/retry"
is "$ST" 200 "retry the cancelled job: 200"
is "$(jget '{status}')" QUEUED "it is QUEUED again"
act "/api/pipelines/$J/retry"
is "$ST" 409 "retry a queued job: 409"
act "/api/pipelines/$FAILED/retry"
is "$ST" 200 "retry a failed job (dead letter): 200"
act "/api/pipelines/$B_JOB/cancel"
is "$ST" 404 "cancel another tenant's job: 404"
act "/api/pipelines/$B_JOB/retry"
is "$ST" 404 "retry another tenant's job: 404"
is "$(zx_sql "SELECT status FROM zixly.pipeline_jobs WHERE id = '$B_JOB'")" QUEUED "the other tenant's job is untouched"
api GET "/api/pipelines/$J/cancel"
is "$ST" 405 "GET on cancel: 405"
req POST "/api/pipelines/$J/cancel" -H "Authorization: Bearer $B_TOKEN" --data-binary ''
is "$ST" 404 "bob cannot cancel alice's job: 404"
req POST "/api/pipelines/$J/cancel" -H "Authorization: Bearer $TOKEN"
is "$ST" 411 "a POST without Content-Length is refused by Kore (411)"

# ---------------------------------------------------------------- top strategies
api GET "/api/strategies/top?ticker=DAX"
is "$ST" 200 "top strategies: 200"
is "$(jget '{strategies}->@*')" 10 "ten by default"
is "$(jget '{strategies}[0]{result}{rank}')" 1 "the best first"
is "$(jget '{strategies}[0]{job_id}')" "$DONE" "with its job"
is "$(jget '{objective}')" sharpe_ratio "ranked by sharpe_ratio by default"
req GET "/api/strategies/top?ticker=DAX" -H "Authorization: Bearer $C_TOKEN"
is "$(jget 'join(",", map { $_->{result}{score} } @{$v->{strategies}})')" 0.9 \
	"only sweeps ranked by the same objective are compared (no drawdowns, no NaN)"
req GET "/api/strategies/top?ticker=DAX&objective=max_drawdown_pct&limit=3" -H "Authorization: Bearer $C_TOKEN"
is "$ST" 200 "objective=max_drawdown_pct: 200"
is "$(jget 'join(",", map { $_->{result}{score} } @{$v->{strategies}})')" "3,4,5" "lowest drawdown first"
is "$(jget '{strategies}[0]{job_id}')" "$DD_JOB" "from the drawdown sweep"
for o in bogus SHARPE_RATIO "sharpe_ratio'--"; do
	api GET "/api/strategies/top?ticker=DAX&objective=$o"
	is "$ST" 400 "objective=$o: 400"
	like "$(jget '{message}')" '"objective": must be one of sharpe_ratio' "the message names objective and the choices"
done
api GET "/api/strategies/top?ticker=DAX&limit=3"
is "$(jget '{strategies}->@*')" 3 "limit=3"
req GET "/api/strategies/top?ticker=DAX" -H "Authorization: Bearer $B_TOKEN"
is "$(jget 'join(",", map { $_->{job_id} } @{$v->{strategies}})')" "$B_JOB" "bob sees only globex's results"
api GET "/api/strategies/top"
is "$ST" 400 "no ticker: 400"
api GET "/api/strategies/top?ticker=DAX'%20OR%201=1--"
is "$ST" 400 "a ticker with spaces (an injection attempt): 400"
api GET "/api/strategies/top?ticker=DAX');DELETE%2FROM%2Fzixly.trading_sweep_results;--"
is "$ST" 200 "an injection without spaces is just an unknown ticker"
is "$(jget '{strategies}->@*')" 0 "nothing found for it"
is "$(zx_sql "SELECT count(*) FROM zixly.trading_sweep_results")" 25 "and the results are intact"

# ---------------------------------------------------------------- POST /api/pipelines
api POST /api/pipelines -H 'Content-Type: application/json' --data-binary "$P"
is "$ST" 202 "POST /api/pipelines: 202"
like "$BODY" '^\{"job_id":"c[a-z0-9]{24}","status":"QUEUED","message":"Trading sweep job queued successfully","created_at":"[^"]+Z"\}$' \
	"the same answer as the webhook"
is "$(zx_sql "SELECT tenant_id FROM zixly.pipeline_jobs WHERE id = '$(jget '{job_id}')'")" acme "queued for the token's tenant"
api POST /api/pipelines -H 'Content-Type: application/json' --data-binary '{"ticker":"DAX","step":0}'
is "$ST" 400 "an invalid body: 400"
is "$(jget '{error}')" invalid_payload "invalid_payload with details"
api POST /api/pipelines -H 'Content-Type: application/json' -H 'Idempotency-Key: dash-1' --data-binary "$P"
first=$(jget '{job_id}')
api POST /api/pipelines -H 'Content-Type: application/json' -H 'Idempotency-Key: dash-1' --data-binary "$P"
is "$(jget '{job_id}')" "$first" "Idempotency-Key works on the dashboard too"
req POST /api/pipelines -H 'Content-Type: application/json' --data-binary "$P"
is "$ST" 401 "POST without a token: 401"
req PUT /api/pipelines -H "Authorization: Bearer $TOKEN" --data-binary ''
is "$ST" 405 "PUT /api/pipelines: 405"

# Row-level security is the database's, not only the app's: the app's role without a tenant
# set sees no jobs at all.
is "$(psql -XAtq "$APP_DB_URL" -c "SELECT count(*) FROM zixly.pipeline_jobs")" 0 \
	"the app's database role sees nothing without a tenant"

req GET /health
is "$ST" 200 "still healthy"
app_stop
ok "$(app_log_clean; echo $?)" "no crash, sanitizer report or sandbox violation in the app's log"
done_testing
