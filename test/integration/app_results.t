#!/usr/bin/env bash
# GET /api/pipelines/{id}/results serves the FULL grid of a real sweep (about 60,000
# combinations, computed by a real zixly-worker) from the worker's artifact: JSON streamed with
# chunked coding, every value equal to the file's; CSV byte for byte the file, by sendfile; HEAD,
# keep-alive after a stream, HTTP/1.0, concurrent downloads, a reader that stalls and hangs up
# (the app keeps answering others). When the file is not readable by the app -- missing, of
# another size, a symbolic link, another format -- the answer is the database's top rows, marked
# incomplete with the reason; a file that is corrupt inside is cut off (a truncated transfer),
# never sent as broken JSON. Jobs not completed, other tenants (404), API keys (403), bad
# formats (400). The app is the sanitizer build; its log stays clean.
. "$(dirname "$0")/../lib/harness.sh"
. "$ZX_ROOT/kore-app/test/app_helpers.sh"
. "$(dirname "$0")/lib/worker.sh"

APP_BIN=$ZX_ROOT/bin/asan/zixly-app
ART=$ZW_TMP/artifacts
OUT=$ZW_TMP/out
mkdir -p "$OUT"

zx_cluster_start
app_db app_results
zx_load_prices
zx_sql "SELECT zixly_create_user('acme', 'alice@acme.test', 'alice-password')" >/dev/null
zx_sql "SELECT zixly_create_user('globex', 'bob@globex.test', 'bob-password')" >/dev/null
KEY=$(zx_sql "SELECT zixly_create_api_key('acme', 'results test')")

app_start ZIXLY_ARTIFACT_DIR="$ART" ASAN_OPTIONS=detect_leaks=0:symbolize=0
zw_start w1 --metrics-port 0 --concurrency 1 --threads 2

enq() { zx_sql "SELECT id FROM zixly_enqueue('trading-sweep', '$1', tenant_id => 'acme'${2:+, $2})"; }
JOB=$(enq '{"ticker":"DAX","strategy_type":"SMA","fast_range":[2,200],"slow_range":[3,400],"step":1,"min_trades":3}')
LATER=$(enq '{"ticker":"DAX","strategy_type":"SMA","fast_range":[5,10],"slow_range":[20,30],"step":5}' \
	"run_at => now() + interval '1 hour'")
zw_wait_sql 180 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$JOB'" ||
	bail "the sweep did not complete: $(zx_sql "SELECT status, error_message FROM zixly.pipeline_jobs WHERE id = '$JOB'")"
COMBOS=$(zx_sql "SELECT result->>'combinations' FROM zixly.pipeline_jobs WHERE id = '$JOB'")
FILE=$ART/$JOB.csv
BYTES=$(stat -c %s "$FILE")
diag "grid: $COMBOS combinations, $BYTES bytes of CSV"
ok "$([ "$COMBOS" -gt 50000 ] && echo 0 || echo 1)" "a large grid ($COMBOS combinations)"

login() { req POST /api/login -H 'Content-Type: application/json' --data-binary "$1"; jget '{token}'; }
TOKEN=$(login '{"email":"alice@acme.test","password":"alice-password"}')
B_TOKEN=$(login '{"email":"bob@globex.test","password":"bob-password"}')
AUTH="Authorization: Bearer $TOKEN"
URL=$APP_URL/api/pipelines/$JOB/results
# get NAME [curl args]: the answer's body in $OUT/NAME, headers in $OUT/NAME.h; prints the status.
get() { local n=$1; shift; curl -s -m 60 -o "$OUT/$n" -D "$OUT/$n.h" -w '%{http_code}' -H "$AUTH" "$@"; }
h() { tr -d '\r' <"$OUT/$1.h" | awk -v n="$2" -F': ' 'tolower($1) == n { sub(/^[^:]*: /, ""); print }'; }

# check_json FILE [ROWS_EXPECTED]: the JSON is the artifact's grid, value for value.
check_json() {
	python3 - "$1" "$FILE" "$COMBOS" <<'PY'
import csv, json, math, sys
doc = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
n = int(sys.argv[3])
assert doc["source"] == "artifact" and doc["complete"] is True, doc.get("source")
assert doc["count"] == doc["combinations"] == len(doc["results"]) == len(rows) == n, (doc["count"], len(rows))
for i, (r, j) in enumerate(zip(rows, doc["results"])):
    assert list(j.keys()) == list(r.keys()), (i, list(j.keys()))
    for k, cell in r.items():
        v = float(cell)
        if not math.isfinite(v):
            assert j[k] is None, (i, k, cell, j[k])
        else:
            assert j[k] == v, (i, k, cell, j[k])
PY
}

# ---------------------------------------------------------------- the full grid as JSON
is "$(get grid.json "$URL")" 200 "the full grid as JSON: 200"
is "$(h grid.json transfer-encoding)" chunked "streamed with chunked transfer coding"
is "$(h grid.json content-length)" "" "no Content-Length for a stream"
is "$(h grid.json zixly-results-source) $(h grid.json zixly-grid-complete)" "artifact true" "from the artifact, complete"
check_json "$OUT/grid.json"
ok $? "every one of the $COMBOS rows in the JSON equals the artifact's row, value for value"
BEST=$(zx_sql "SELECT fast_period || '/' || slow_period FROM zixly.trading_sweep_results WHERE job_id = '$JOB' AND rank = 1")
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%d/%d" % (r["fast"], r["slow"]) for r in d["results"] if r["rank"] == 1))' "$OUT/grid.json")" \
	"$BEST" "rank 1 in the grid is the database's rank 1"

# ---------------------------------------------------------------- the full grid as CSV
is "$(get grid.csv "$URL" -H 'Accept: text/csv')" 200 "the full grid as CSV: 200"
cmp -s "$OUT/grid.csv" "$FILE"
ok $? "the CSV is the artifact, byte for byte"
is "$(h grid.csv content-length)" "$BYTES" "Content-Length is the file's size"
is "$(h grid.csv content-type)" "text/csv; charset=utf-8" "one Content-Type, text/csv"
like "$(h grid.csv last-modified)" 'GMT$' "Last-Modified from the file"
like "$(h grid.csv content-disposition)" "filename=\"$JOB-results.csv\"" "as an attachment"
is "$(get grid2.csv "$URL?format=csv")" 200 "?format=csv again (Kore's open file): 200"
cmp -s "$OUT/grid2.csv" "$FILE"
ok $? "the same bytes"

# ---------------------------------------------------------------- HEAD, keep-alive, HTTP/1.0, concurrency
is "$(get head.json -I "$URL")" 200 "HEAD on the JSON: 200"
is "$(h head.json transfer-encoding)" chunked "HEAD on the JSON: the headers GET would give"
is "$(get head.csv -I "$URL?format=csv")" 200 "HEAD on the CSV (with ?format=csv): 200"
is "$(h head.csv content-length)" "$BYTES" "HEAD on the CSV gives its length"
is "$(curl -s -m 10 -I -H "$AUTH" -w '%{size_download}' -o /dev/null "$URL?format=csv")" 0 "and no body"
conns=$(curl -s -m 60 -H "$AUTH" -w '%{num_connects}/%{http_code} ' -o "$OUT/ka1" "$URL" -o "$OUT/ka2" "$APP_URL/health")
is "$conns" "1/200 0/200 " "after a streamed grid the connection is kept alive for the next request"
cmp -s "$OUT/ka1" "$OUT/grid.json"
ok $? "and the grid on it was complete"
is "$(get old.json --http1.0 "$URL")" 200 "HTTP/1.0: 200"
is "$(h old.json transfer-encoding)" "" "HTTP/1.0: no chunked coding"
cmp -s "$OUT/old.json" "$OUT/grid.json"
ok $? "HTTP/1.0: the same JSON, ended by closing the connection"
PIDS=()
for i in 1 2 3 4; do get "par$i.json" "$URL" >"$OUT/par$i.code" & PIDS+=($!); done
wait "${PIDS[@]}"
same=0
for i in 1 2 3 4; do
	[ "$(cat "$OUT/par$i.code")" = 200 ] && cmp -s "$OUT/par$i.json" "$OUT/grid.json" && same=$((same + 1))
done
is "$same" 4 "four concurrent downloads each get the whole grid"

# A client that reads as fast as it can does not hold the worker: other requests are answered
# while its grid is still on the way.
curl -s -m 60 -o "$OUT/fast.json" -H "$AUTH" "$URL" &
FAST=$!
zx_wait_for "the fast download to start" 10 test -s "$OUT/fast.json"
req GET /health
is "$ST" 200 "during a fast download, another request is answered"
ok "$(kill -0 "$FAST" 2>/dev/null && echo 0 || echo 1)" "before that download is over"
wait "$FAST"
cmp -s "$OUT/fast.json" "$OUT/grid.json"
ok $? "and the download is complete"

# A client that reads a little, stalls, then hangs up: the app serves others meanwhile.
perl -MIO::Socket::INET -e '
	my ($port, $path, $auth, $out) = @ARGV;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port) or die;
	print $s "GET $path HTTP/1.1\r\nHost: x\r\n$auth\r\n\r\n";
	my $got = 0; while ($got < 16384) { my $n = sysread($s, my $b, 4096) or last; $got += $n; }
	open my $f, ">", $out; print $f "$got\n"; close $f;
	sleep 3; close $s;' "${APP_URL##*:}" "/api/pipelines/$JOB/results" "$AUTH" "$OUT/stall.out" &
STALL=$!
zx_wait_for "the stalled reader to start" 10 test -s "$OUT/stall.out"
req GET /health
is "$ST" 200 "while a reader stalls mid-grid, others are answered"
wait "$STALL"
req GET /health
is "$ST" 200 "after it hangs up, too"

# ---------------------------------------------------------------- when the file is not usable
fallback() { # NAME REASON_REGEX
	local n=$1
	is "$(get "$n.json" "$URL")" 200 "$n: 200"
	python3 - "$OUT/$n.json" "$2" "$COMBOS" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d["source"] == "database" and d["complete"] is False, d["source"]
assert re.search(sys.argv[2], d["grid_unavailable"]), d["grid_unavailable"]
assert d["combinations"] == int(sys.argv[3]) and d["count"] == len(d["results"]) == 10, d["count"]
assert [r["rank"] for r in d["results"]] == list(range(1, 11))
PY
	ok $? "$n: the database's 10 top rows, incomplete, saying why"
	is "$(get "$n.csv" "$URL?format=csv")" 200 "$n: CSV 200"
	is "$(grep -c . "$OUT/$n.csv") $(h "$n.csv" zixly-grid-complete)" "11 false" "$n: CSV of the header and the 10 rows, Zixly-Grid-Complete: false"
}
cp -p "$FILE" "$OUT/saved.csv"
mv "$FILE" "$OUT/moved.csv"
fallback missing "not in this app's artifact store"
head -c $((BYTES / 2)) "$OUT/saved.csv" >"$FILE"
fallback shorter "size differs"
rm "$FILE"; ln -s "$OUT/saved.csv" "$FILE"
fallback symlink "symbolic link"
rm "$FILE"; { echo "a,b,c"; tail -c $((BYTES - 6)) "$OUT/saved.csv"; } >"$FILE"
is "$(stat -c %s "$FILE")" "$BYTES" "(a file of the right size with another header)"
fallback other-format "worker's CSV format"

# Corrupt inside, same size and header: the JSON stream stops short, never broken JSON.
perl -e 'my ($in, $out, $at) = @ARGV; open my $f, "<", $in; local $/; my $d = <$f>;
	my $p = index($d, "\n", $at) + 1; substr($d, $p, 1) = "x"; open my $o, ">", $out; print $o $d;' \
	"$OUT/saved.csv" "$FILE" $((BYTES / 2))
curl -s -m 60 -o "$OUT/corrupt.json" -H "$AUTH" "$URL"
is "$?" 18 "a corrupt row in the middle: the transfer is cut off (curl: partial file)"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT/corrupt.json" 2>/dev/null
ok "$([ $? != 0 ] && echo 0 || echo 1)" "what arrived does not pass for complete JSON"
like "$(grep -c 'grid stream stopped: line [0-9]*: fast is not a number' "$APP_LOG")" '^1$' "the app logs why it stopped"

cp -p "$OUT/saved.csv" "$FILE"
is "$(get back.json "$URL")" 200 "the file restored: 200"
cmp -s "$OUT/back.json" "$OUT/grid.json"
ok $? "the full grid again"
get back.csv "$URL?format=csv" >/dev/null
cmp -s "$OUT/back.csv" "$FILE"
ok $? "the CSV again (Kore's cached file was dropped when the file changed)"

# ---------------------------------------------------------------- other jobs, tenants, credentials
is "$(get later.json "$APP_URL/api/pipelines/$LATER/results")" 200 "a queued job's results: 200"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["source"], d["complete"], d["count"], d["results"], d["grid_unavailable"])' "$OUT/later.json")" \
	"database False 0 [] the job has not completed" "nothing yet, and why"
is "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $B_TOKEN" "$URL")" 404 "another tenant: 404"
is "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $B_TOKEN" "$URL?format=csv")" 404 "another tenant, as CSV: 404"
is "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" "$URL")" 403 "an API key: 403"
is "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL")" 401 "no credentials: 401"
is "$(get xml "$URL?format=xml")" 400 "?format=xml: 400"
is "$(get post -X POST --data-binary '' "$URL")" 405 "POST: 405"
is "$(get trav "$APP_URL/api/pipelines/..%2F..%2Fetc%2Fpasswd/results")" 404 "a path that climbs out: 404"
is "$(get inj "$APP_URL/api/pipelines/x'%20OR%20'1'='1/results")" 404 "SQL injection in the id: 404"

zw_signal_wait "$ZW_PID" TERM 20
app_stop
ok "$(app_log_clean; echo $?)" "the app's log is clean (sanitizers, sandbox)"
done_testing
