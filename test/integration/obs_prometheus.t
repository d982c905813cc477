#!/usr/bin/env bash
# The observability stack against the real programs: a cluster, the app (as zixly_web) and two
# workers (as zixly_runner) run jobs submitted by webhook and by SQL; Debian's prometheus scrapes
# them with dashboards/prometheus/prometheus.yml (targets rewritten to this test's ports, 1 s
# scrapes) and evaluates alerts.yml. Then:
#   - /metrics of the app and a worker pass `promtool check metrics`;
#   - every target is up, every alert rule evaluates without error, and the "down" alerts are
#     inactive while everything runs;
#   - EVERY PromQL expression of EVERY panel of the three Grafana dashboards is evaluated through
#     Prometheus's HTTP API (instant, and as a range for range panels): none may error, and each
#     must return data;
#   - EVERY SQL query of the PostgreSQL panels runs as zixly_monitor (deploy/sql/roles.sql) with
#     Grafana's macros expanded: none may error, each returns rows, key figures are checked.
# Needs prometheus (promtool), jq, curl, perl.
. "$(dirname "$0")/../lib/harness.sh"
cd "$ZX_ROOT" || bail "no repository root"
for t in prometheus promtool jq curl perl; do
	command -v "$t" >/dev/null || bail "$t is missing (apt-get install ${t/promtool/prometheus})"
done
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/zixly-obs.XXXXXX)
[ -n "${ZX_KEEP_TMP:-}" ] || zx_on_exit "rm -rf '$TMP'"
DASHBOARDS=(dashboards/grafana/dashboards/pipeline-performance.json
	dashboards/grafana/dashboards/system-health.json dashboards/grafana/dashboards/business.json)
APP=$ZX_BIN/zixly-app
WORKER=$ZX_BIN/zixly-worker
[ -x "$APP" ] && [ -x "$WORKER" ] || bail "bin/zixly-app and bin/zixly-worker must be built (make)"

# ------------------------------------------------------------------ database, app, workers
zx_cluster_start
zx_db_create obs
zx_load_prices
psql -qX -v ON_ERROR_STOP=1 -v web_password=obs-web-pw -v runner_password=obs-runner-pw \
	-f deploy/sql/roles.sql >/dev/null 2>"$TMP/roles.err"
rc=$?; ok $rc "deploy/sql/roles.sql creates the login roles"; [ $rc = 0 ] || diag "$(cat "$TMP/roles.err")"
# As in docker-compose.yml and the k8s manifests: the app and workers log in over TCP with a
# password from PGPASSWORD (scram-sha-256 for their roles on 127.0.0.1, no trust).
sed -i '1i host all zixly_web,zixly_runner 127.0.0.1/32 scram-sha-256' "$ZX_CLUSTER/data/pg_hba.conf"
zx_sql "SELECT pg_reload_conf()" >/dev/null
like "$(PGPASSWORD=wrong psql -XAt -h 127.0.0.1 -U zixly_web -d obs -c 'SELECT 1' 2>&1)" 'password authentication failed' \
	"zixly_web needs its password over TCP"

AP=$(zx_free_port)
DATABASE_URL="host=127.0.0.1 port=$PGPORT user=zixly_web dbname=obs application_name=zixly-app" PGPASSWORD=obs-web-pw \
	ZIXLY_HTTP_PORT=$AP ZIXLY_DEV=1 zx_spawn "$TMP/app.log" "$APP"
WP=()
for i in 1 2; do
	p=$(zx_free_port)
	while [ "$p" = "$AP" ] || [ "${WP[0]:-}" = "$p" ]; do p=$(zx_free_port); done
	WP+=("$p")
	DATABASE_URL="host=127.0.0.1 port=$PGPORT user=zixly_runner dbname=obs application_name=zixly-worker" \
		PGPASSWORD=obs-runner-pw ZIXLY_METRICS_PORT=$p \
		ZIXLY_WORKER_ID="obs-worker-$i" ZIXLY_CONCURRENCY=1 ZIXLY_THREADS=1 ZIXLY_POLL_INTERVAL=0.5 \
		zx_spawn "$TMP/worker-$i.log" "$WORKER"
done
zx_wait_for "the app" 30 curl -fsS "http://127.0.0.1:$AP/health" || { diag "$(tail -20 "$TMP/app.log")"; bail "the app did not start"; }
for p in "${WP[@]}"; do
	zx_wait_for "a worker" 30 curl -fsS "http://127.0.0.1:$p/metrics" || { diag "$(tail -20 "$TMP"/worker-*.log)"; bail "a worker did not start"; }
done

# ------------------------------------------------------------------ prometheus
PP=$(zx_free_port)
while [ "$PP" = "$AP" ] || [[ " ${WP[*]} " == *" $PP "* ]]; do PP=$(zx_free_port); done
"$PY" - dashboards/prometheus/prometheus.yml "$TMP/prometheus.yml" "$ZX_ROOT/dashboards/prometheus/alerts.yml" \
	"zixly-app=127.0.0.1:$AP" "pipeline-worker=127.0.0.1:${WP[0]},127.0.0.1:${WP[1]}" "prometheus=127.0.0.1:$PP" \
	>"$TMP/rewrite.out" 2>&1 <<'PY'
# Keep the shipped file's jobs, paths and settings; point its targets at this test's ports.
import sys, yaml
src, dst, rules = sys.argv[1:4]
targets = dict(a.split("=", 1) for a in sys.argv[4:])
cfg = yaml.safe_load(open(src))
cfg["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
cfg["rule_files"] = [rules]
seen = set()
for job in cfg["scrape_configs"]:
    name = job["job_name"]
    if name not in targets:
        sys.exit("prometheus.yml has a job this test does not know: %s" % name)
    seen.add(name)
    for k in [k for k in job if k.endswith("_sd_configs")]:
        del job[k]
    job["static_configs"] = [{"targets": targets[name].split(",")}]
missing = set(targets) - seen
if missing:
    sys.exit("prometheus.yml lacks the jobs %s" % sorted(missing))
yaml.safe_dump(cfg, open(dst, "w"), sort_keys=False)
PY
rc=$?; ok $rc "prometheus.yml has the jobs zixly-app, pipeline-worker and prometheus (rewritten to this test's ports)"
[ $rc = 0 ] || diag "$(cat "$TMP/rewrite.out")"
out=$(promtool check config "$TMP/prometheus.yml" 2>&1)
rc=$?; ok $rc "promtool check config on the rewritten configuration"; [ $rc = 0 ] || diag "$out"
zx_spawn "$TMP/prometheus.log" prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/tsdb" --web.listen-address="127.0.0.1:$PP" --log.level=warn
PROM_PID=$ZX_LAST_PID
zx_wait_for "prometheus" 30 curl -fsS "http://127.0.0.1:$PP/-/ready" || { diag "$(tail -20 "$TMP/prometheus.log")"; bail "prometheus did not start"; }
PROM=http://127.0.0.1:$PP/api/v1

# q EXPR: instant query, prints the JSON answer.
q() { curl -sS --max-time 10 --data-urlencode "query=$1" "$PROM/query"; }
qv() { q "$1" | jq -r '.data.result[0].value[1] // empty'; }
zx_wait_for "a first scrape of every target" 30 sh -c \
	"curl -s '$PROM/query?query=count(up==1)' | grep -q '\"value\":\[[0-9.]*,\"4\"\]'" ||
	diag "targets: $(curl -s "$PROM/targets" | jq -c '[.data.activeTargets[] | {job: .labels.job, health, lastError}]')"

# ------------------------------------------------------------------ jobs: webhook and SQL
key=$(zx_sql "SELECT zixly_create_api_key('t1', 'obs')")
hook() {
	curl -sS -o /dev/null -w '%{http_code}' -H "X-API-Key: $key" -H 'Content-Type: application/json' \
		-d "$1" "http://127.0.0.1:$AP/webhook/trading-sweep"
}
codes=""
for t in DAX DAX SMI; do
	codes="$codes $(hook "{\"ticker\":\"$t\",\"fast_range\":[5,15],\"slow_range\":[20,40],\"step\":5,\"strategy_type\":\"SMA\"}")"
done
codes="$codes $(hook '{"ticker":"DAX","fast_range":[10,20]}')"
codes="$codes $(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$AP/webhook/trading-sweep")"
is "$codes" " 202 202 202 400 401" "webhooks: three sweeps accepted, a bad payload (400) and a missing key (401)"
psql -qX -v ON_ERROR_STOP=1 >/dev/null 2>"$TMP/enqueue.err" <<'SQL'
SELECT zixly_enqueue('trading-sweep', '{"ticker":"DAX","fast_range":[10,30],"slow_range":[40,60],"step":10,"strategy_type":"EMA"}', tenant_id => 't2');
SELECT zixly_enqueue('trading-sweep', '{"ticker":"CAC","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"MACD"}', tenant_id => 't2');
SELECT count(*) FROM zixly_enqueue_batch('noop', '[{},{},{},{},{},{},{},{},{},{}]');
-- no prices for this ticker: the worker fails it, and with one attempt it is dead-lettered
SELECT zixly_enqueue('trading-sweep', '{"ticker":"NOPRICES","fast_range":[10,20],"slow_range":[20,30],"step":5,"strategy_type":"SMA"}', tenant_id => 't2', max_attempts => 1);
SQL
rc=$?; ok $rc "jobs enqueued by SQL (sweeps, a noop batch, one that must fail)"; [ $rc = 0 ] || diag "$(cat "$TMP/enqueue.err")"
TOTAL=$(zx_sql "SELECT count(*) FROM zixly.pipeline_jobs")
is "$TOTAL" 16 "16 jobs in the queue"

zx_wait_for "every job to finish" 60 sh -c \
	"psql -XAtq -c \"SELECT count(*) FROM zixly.pipeline_jobs WHERE status IN ('COMPLETED', 'FAILED')\" | grep -qx $TOTAL"
is "$(zx_sql "SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM zixly.pipeline_jobs GROUP BY 1) s")" \
	"COMPLETED=15 FAILED=1" "the workers finished every job (15 completed, the price-less sweep dead-lettered)"
# Wait until Prometheus has scraped the workers' final counters, then a few more scrapes.
zx_wait_for "the final counters in Prometheus" 30 sh -c \
	"curl -s '$PROM/query' --data-urlencode 'query=sum(pipeline_jobs_processed_total{status=~\"completed|failed\"})' | grep -q '\"$TOTAL\"\]'" ||
	diag "Prometheus has: $(q 'sum by (status) (pipeline_jobs_processed_total)' | jq -c '.data.result')"
# some traffic inside the rate windows
for i in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$AP/health"; curl -s -o /dev/null "http://127.0.0.1:$AP/api/pipelines"; done
sleep 3

# ------------------------------------------------------------------ /metrics, targets, rules
for what in "app:$AP" "worker:${WP[0]}"; do
	name=${what%%:*} port=${what#*:}
	curl -sS "http://127.0.0.1:$port/metrics" >"$TMP/$name.metrics"
	out=$(promtool check metrics <"$TMP/$name.metrics" 2>&1)
	rc=$?
	ok "$([ $rc = 0 ] && [ -z "$out" ] && echo 0 || echo 1)" "curl /metrics | promtool check metrics: the $name's output is clean"
	[ -z "$out" ] || diag "$out"
done
grep -hoE '^[a-zA-Z_:][a-zA-Z0-9_:]*' "$TMP/app.metrics" "$TMP/worker.metrics" | sed -E 's/_(bucket|sum|count)$//' | sort -u >"$TMP/exported"
for m in pipeline_jobs_queued_total pipeline_queue_depth http_requests_total http_request_duration_seconds \
	pipeline_jobs_processed_total pipeline_job_duration_seconds; do
	grep -qx "$m" "$TMP/exported"; ok $? "the spec's metric $m is exported"
done
like "$(grep -c 'le="' "$TMP/worker.metrics")" '^[1-9]' "pipeline_job_duration_seconds has buckets"
is "$(grep '^pipeline_job_duration_seconds_bucket{job_type="trading-sweep"' "$TMP/worker.metrics" | grep -oE 'le="[^"]+"' | tr '\n' ' ')" \
	'le="1" le="5" le="15" le="30" le="60" le="300" le="600" le="1800" le="+Inf" ' "pipeline_job_duration_seconds has the spec's buckets"
ok "$(grep -q 'tenant' "$TMP/app.metrics" "$TMP/worker.metrics" && echo 1 || echo 0)" "no tenant label in any metric"

targets=$(curl -sS "$PROM/targets" | jq -r '[.data.activeTargets[] | .labels.job + ":" + .health] | sort | join(" ")')
is "$targets" "pipeline-worker:up pipeline-worker:up prometheus:up zixly-app:up" "Prometheus scrapes the app, both workers and itself"
rules=$(curl -sS "$PROM/rules")
is "$(jq -r '[.data.groups[].rules[] | select(.health != "ok") | .name + ": " + (.lastError // "")] | join("; ")' <<<"$rules")" "" \
	"every alert rule of alerts.yml evaluates without error on the real metrics"
is "$(jq -r '[.data.groups[].rules[].name] | length' <<<"$rules")" \
	"$(grep -c -- '- alert:' dashboards/prometheus/alerts.yml)" "Prometheus loaded every rule of alerts.yml"
is "$(jq -r '[.data.groups[].rules[] | select(.name == ("ZixlyAppDown", "ZixlyNoWorkerUp", "ZixlyNoWorkerReady", "ZixlyDatabaseUnreachable")) | .state] | join(" ")' <<<"$rules")" \
	"inactive inactive inactive inactive" "app-down, no-worker, no-ready-worker and database alerts stay inactive while everything is up"

# ------------------------------------------------------------------ every PromQL expression of every panel
# Grafana's variables, as Grafana would fill them for a 5-minute view.
promql_subst() {
	printf '%s' "$1" | perl -pe 's/\$__rate_interval/1m/g; s/\$__interval_ms/15000/g; s/\$__interval/15s/g;
		s/\$__range_s/300/g; s/\$__range_ms/300000/g; s/\$__range/5m/g'
}
bad_q='sum(rate(pipeline_jobs_processed_total[1m])'
is "$(q "$bad_q" | jq -r .status)" "error" "a malformed expression comes back as an error (so the checks below can fail)"

now=$(date +%s)
n_exprs=0
for f in "${DASHBOARDS[@]}"; do
	dash=$(basename "$f" .json)
	while IFS= read -r t; do
		title=$(jq -r .title <<<"$t") ref=$(jq -r .ref <<<"$t") instant=$(jq -r .instant <<<"$t")
		expr=$(promql_subst "$(jq -r .expr <<<"$t")")
		n_exprs=$((n_exprs + 1))
		if [[ "$expr" == *'$'* ]]; then
			ok 1 "$dash / $title / $ref: no Grafana variable left unexpanded"; diag "$expr"; continue
		fi
		res=$(q "$expr")
		if [ "$instant" != true ]; then
			rres=$(curl -sS --max-time 10 --data-urlencode "query=$expr" --data-urlencode "start=$((now - 120))" \
				--data-urlencode "end=$now" --data-urlencode "step=5" "$PROM/query_range")
		else
			rres=$res
		fi
		st="$(jq -r .status <<<"$res") $(jq -r .status <<<"$rres")"
		if [ "$st" != "success success" ]; then
			ok 1 "$dash / $title / $ref evaluates"; diag "$expr" "$(jq -r .error <<<"$res") $(jq -r .error <<<"$rres")"; continue
		fi
		n=$(jq '.data.result | length' <<<"$res")
		nr=$(jq '.data.result | length' <<<"$rres")
		if [ "$n" -gt 0 ] && [ "$nr" -gt 0 ]; then
			ok 0 "$dash / $title / $ref evaluates and returns data ($n series)"
			continue
		fi
		ok 1 "$dash / $title / $ref evaluates and returns data"; diag "$expr" "instant: $n series, range: $nr series"
	done < <(jq -c '.panels[] | select(.datasource.type == "prometheus") | .title as $t | .targets[] |
		{title: $t, ref: .refId, expr: .expr, instant: (.instant // false)}' "$f")
done
ok "$([ "$n_exprs" -ge 25 ] && echo 0 || echo 1)" "$n_exprs PromQL expressions found in the dashboards"

# Core figures, checked against the database.
is "$(qv 'sum(pipeline_jobs_processed_total{status="completed"})')" "15" "Prometheus counts the 15 completed jobs across both workers"
is "$(qv 'sum(pipeline_jobs_processed_total{status="failed"})')" "1" "and the dead-lettered one"
is "$(qv 'max(pipeline_queue_depth{status="FAILED"})')" "1" "queue depth FAILED is the database's dead-letter count"
is "$(qv 'sum(pipeline_jobs_queued_total)')" "3" "pipeline_jobs_queued_total counts the 3 webhook jobs"
is "$(qv 'sum(http_requests_total{route="/webhook/trading-sweep"})')" "5" "http_requests_total counts the 5 webhook requests"
is "$(qv 'sum(pipeline_job_duration_seconds_count)')" "16" "every finished job has a duration observation"

# ------------------------------------------------------------------ every SQL query of the PostgreSQL panels
# Grafana's PostgreSQL macros for a 6-hour view, dashboard variables at their current values.
sql_subst() {
	local sql=$1 vars=$2
	sql=$(printf '%s' "$sql" | perl -0pe '
		my %s = (s => 1, m => 60, h => 3600, d => 86400);
		s/\$__timeFilter\(\s*([^)]+?)\s*\)/$1 BETWEEN now() - interval \x276 hours\x27 AND now() + interval \x271 minute\x27/g;
		s/\$__timeGroupAlias\(\s*([^,]+?)\s*,\s*\x27?(\d+)([smhd])\x27?\s*\)/"to_timestamp(floor(extract(epoch FROM $1) \/ " . $2 * $s{$3} . ") * " . $2 * $s{$3} . ") AS \"time\""/ge;')
	while IFS=$'\t' read -r name value; do
		[ -n "$name" ] || continue
		sql=${sql//"\${$name}"/$value}
		sql=${sql//"\$$name"/$value}
	done <<<"$vars"
	printf '%s' "$sql"
}
mon() { psql -X -v ON_ERROR_STOP=1 -U zixly_monitor -d obs -At -F '|' -c "$1" 2>&1; }
n_sql=0
declare -A SQL_OUT
for f in "${DASHBOARDS[@]}"; do
	dash=$(basename "$f" .json)
	vars=$(jq -r '.templating.list[]? | [.name, (.current.value // .query)] | @tsv' "$f")
	while IFS= read -r t; do
		title=$(jq -r .title <<<"$t") ref=$(jq -r .ref <<<"$t")
		sql=$(sql_subst "$(jq -r .sql <<<"$t")" "$vars")
		n_sql=$((n_sql + 1))
		if [[ "$sql" == *'$'* ]]; then
			ok 1 "$dash / $title / $ref: no Grafana macro or variable left unexpanded"; diag "$sql"; continue
		fi
		out=$(mon "$sql"); rc=$?
		if [ $rc != 0 ]; then ok 1 "$dash / $title / $ref runs as zixly_monitor"; diag "$sql" "$out"; continue; fi
		ok "$([ -n "$out" ] && echo 0 || echo 1)" "$dash / $title / $ref runs as zixly_monitor and returns rows ($(wc -l <<<"$out"))"
		SQL_OUT["$title"]=$out
	done < <(jq -c '.panels[] | select(.datasource.type | test("postgres")) | .title as $t | .targets[] |
		{title: $t, ref: .refId, sql: .rawSql}' "$f")
done
ok "$([ "$n_sql" -ge 6 ] && echo 0 || echo 1)" "$n_sql SQL queries found in the dashboards"
is "$(head -3 <<<"${SQL_OUT[Top 5 tickers by job count]:-}" | tr '\n' ' ')" "DAX|3 CAC|1 NOPRICES|1 " "Top 5 tickers: DAX first with 3 sweeps"
is "${SQL_OUT[Jobs by status]:-}" "0|0|15|1|0" "Jobs by status: 15 COMPLETED, 1 FAILED"
is "${SQL_OUT[Active tenants today]:-}" "3" "Active tenants today: t1 (webhook), t2 and default (SQL)"
is "${SQL_OUT[Jobs processed (all time)]:-}" "16" "Jobs processed (all time): 16"
like "${SQL_OUT[PostgreSQL connections by role and state]:-}" 'zixly_runner\|' "PostgreSQL connections: the workers' connections are there"
like "${SQL_OUT[PostgreSQL connections by role and state]:-}" 'zixly_web\|' "PostgreSQL connections: the app's connections are there"
done_testing
