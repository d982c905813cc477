#!/usr/bin/env bash
# The spec's example end to end, through real processes: the webhook answers 202, a real
# zixly-worker runs the sweep, and the dashboard API shows the job COMPLETED with its results:
# the top results, the full grid from the worker's artifact as JSON and as CSV (byte for byte
# what bin/zixly-sweep computes for the same prices), the best strategies for the ticker, and
# /metrics counting the job. App and worker run their sanitizer builds; their logs stay clean.
. "$(dirname "$0")/../lib/harness.sh"
. "$ZX_ROOT/kore-app/test/app_helpers.sh"
. "$(dirname "$0")/lib/worker.sh"

APP_BIN=$ZX_ROOT/bin/asan/zixly-app
zw_use_asan
[ -x "$ZW_SWEEP" ] || bail "$ZW_SWEEP not built (make -C worker)"

zx_cluster_start
app_db app_e2e
# BTC-USD: 400 daily closes with cycles of a few weeks, so the example's averages cross.
zx_sql "INSERT INTO zixly.prices (ticker, ts, close)
        SELECT 'BTC-USD', timestamptz '2023-01-01 00:00:00+00' + g * interval '1 day',
               round((30000 + 4000 * sin(g / 9.0) + 1500 * sin(g / 3.7) + 12 * g)::numeric, 2)
          FROM generate_series(0, 399) g" >/dev/null
psql -qXA -c "\\copy (SELECT ticker, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS date, close
                      FROM zixly.prices WHERE ticker = 'BTC-USD' ORDER BY ts)
              TO '$ZW_TMP/btc.csv' WITH (FORMAT csv, HEADER true)"
KEY=$(zx_sql "SELECT zixly_create_api_key('acme', 'e2e')")
zx_sql "SELECT zixly_create_user('acme', 'alice@acme.test', 'alice-password')" >/dev/null

# Leak checks stay off in the app (see kore-app/Makefile); the worker has them on.
app_start ZIXLY_ARTIFACT_DIR="$ZW_TMP/artifacts" ASAN_OPTIONS=detect_leaks=0:symbolize=0
zw_start w1 --metrics-port 0 --concurrency 1 --threads 2

# ---------------------------------------------------------------- the spec's request
SPEC='{"ticker":"BTC-USD","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}'
req POST /webhook/trading-sweep -H 'Content-Type: application/json' -H "X-API-Key: $KEY" --data-binary "$SPEC"
is "$ST" 202 "the spec's example request: 202"
like "$BODY" '^\{"job_id":"c[a-z0-9]{24}","status":"QUEUED","message":"Trading sweep job queued successfully","created_at":"[0-9T:.-]+Z"\}$' \
	"the 202 body as the spec shows it"
JOB=$(jget '{job_id}')

req POST /api/login -H 'Content-Type: application/json' --data-binary '{"email":"alice@acme.test","password":"alice-password"}'
TOKEN=$(jget '{token}')
api() { local p=$1; shift; req GET "$p" -H "Authorization: Bearer $TOKEN" "$@"; }
job_status() { api "/api/pipelines/$JOB"; jget '{status}'; }
completed() { [ "$(job_status)" = COMPLETED ]; }
zx_wait_for "the worker to complete the job" 60 completed
ok $? "the worker completes the job"

# ---------------------------------------------------------------- the job and its top results
api "/api/pipelines/$JOB"
is "$ST" 200 "GET /api/pipelines/{id}: 200"
is "$(jget '{status}')" COMPLETED "status COMPLETED"
is "$(jget '{result}{combinations}')" 8 "the result counts the 8 combinations"
is "$(jget '{top_results}->@*')" 8 "all 8 are among the top results"
is "$(jget '{top_results}[0]{rank}')" 1 "best first"
like "$(jget '{completed_at}')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "completed_at is set"
BEST_FAST=$(jget '{top_results}[0]{fast_period}')
BEST_SLOW=$(jget '{top_results}[0]{slow_period}')

# ---------------------------------------------------------------- the full grid
"$ZW_SWEEP" --csv "$ZW_TMP/btc.csv" --ticker BTC-USD --fast 10:20 --slow 20:30 --step 5 --threads 1 \
	>"$ZW_TMP/sweep.csv" || bail "zixly-sweep failed"
curl -s -m 30 -o "$ZW_TMP/api.csv" -D "$ZW_TMP/api.csv.h" -H "Authorization: Bearer $TOKEN" \
	"$APP_URL/api/pipelines/$JOB/results?format=csv"
cmp -s "$ZW_TMP/api.csv" "$ZW_TMP/sweep.csv"
ok $? "the results as CSV are zixly-sweep's grid for the same prices, byte for byte"
like "$(tr -d '\r' <"$ZW_TMP/api.csv.h" | grep -i '^zixly-results-source:')" 'artifact$' "served from the artifact"

api "/api/pipelines/$JOB/results"
is "$ST" 200 "the results as JSON: 200"
is "$(jget '{source}') $(jget '{complete}') $(jget '{count}') $(jget '{combinations}')" "artifact true 8 8" \
	"source artifact, complete, count and combinations 8"
is "$(jget 'join(" ", map { "$_->{fast}/$_->{slow}" } @{$v->{results}})')" \
	"10/20 10/25 10/30 15/20 15/25 15/30 20/25 20/30" "the 8 combinations in grid order"
is "$(jget "join(' ', map { \$_->{rank} == 1 ? \"\$_->{fast}/\$_->{slow}\" : () } @{\$v->{results}})")" \
	"$BEST_FAST/$BEST_SLOW" "rank 1 in the grid is the best of the top results"
# Every JSON number is the CSV's cell (the same text, so the same double).
printf '%s' "$BODY" >"$ZW_TMP/api.json"
python3 - "$ZW_TMP/api.json" "$ZW_TMP/sweep.csv" <<'PY'
import csv, json, math, sys
doc = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(doc["results"]) == 8
for r, j in zip(rows, doc["results"]):
    for k, cell in r.items():
        v = float(cell)
        assert (j[k] is None) if not math.isfinite(v) else (j[k] == v), (k, cell, j[k])
PY
ok $? "every value in the JSON equals zixly-sweep's"

api "/api/strategies/top?ticker=BTC-USD&limit=3"
is "$(jget '{strategies}->@*')" 3 "the best strategies for BTC-USD"
is "$(jget '{strategies}[0]{job_id}')" "$JOB" "come from the job"

req GET /metrics
like "$BODY" 'pipeline_jobs_queued_total\{job_type="trading-sweep"\} 1' "/metrics counts the job queued"
like "$BODY" 'pipeline_queue_depth\{status="QUEUED"\} 0' "and none waiting"
like "$BODY" 'pipeline_queue_depth\{status="RUNNING"\} 0' "or running now that it completed"

zw_signal_wait "$ZW_PID" TERM 20
app_stop
ok "$(app_log_clean; echo $?)" "the app's log is clean (sanitizers, sandbox)"
ok "$(zw_clean_log w1 && echo 0 || echo 1)" "the worker's log is clean"
done_testing
