#!/usr/bin/env bash
# worker_sweep.t — zixly-worker end to end on one worker, built with ASan + UBSan (TAP).
#
# Jobs enqueued with SQL on a real cluster loaded with the sample prices: trading-sweep jobs
# (SMA with a webhook; MACD with fees, min_trades and another objective, and a webhook nobody
# answers) whose stored top 10 must equal bin/zixly-sweep's output to 9+ significant digits,
# whose result carries the summary (best, combinations, bars, duration, equity curve, artifact)
# and whose artifact is zixly-sweep's full grid CSV, byte for byte; a ticker with no prices and
# an unknown job type fail at once, not retried, naming the ticker / type; noop jobs complete;
# delayed jobs enqueued while the worker idles start on time (the worker looks them up with
# zixly_next_run_at; its safety poll is set to 60 s); rows left by an earlier attempt are
# replaced.  The completion callback reaches a local HTTP receiver (on 127.0.0.1, so the worker
# runs with --webhook-allow-private; no secret: the callback is unsigned).  SIGTERM exits 0, and the
# log holds no sanitizer report (leak detection on) and no error.  (/metrics: worker_metrics.t.)
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

SWEEP=$ZW_SWEEP
DATA=$ZX_ROOT/data/eustockmarkets.csv
[ -x "$SWEEP" ] || bail "$SWEEP not built (make -C worker)"
zw_use_asan

zx_cluster_start
zx_db_create worker_sweep
zx_load_prices

# An HTTP receiver for the completion callback (zw_receiver): saves each request, answers 204.
zw_receiver "$ZW_TMP/hooks"
HOOK_PORT=$ZW_RECEIVER_PORT

DEAD_PORT=$(zx_free_port)	# nothing listens there: that callback fails, the job does not
unset ZIXLY_WEBHOOK_SECRET
zw_start w1 --metrics-port 0 --concurrency 2 --threads 2 --poll-interval 60 --webhook-allow-private
W1=$ZW_PID

SMA_P='{"ticker":"DAX","strategy_type":"SMA","fast_range":[5,50],"slow_range":[20,200],"step":5,"webhook_url":"http://127.0.0.1:'$HOOK_PORT'/hook"}'
MACD_P='{"ticker":"CAC","strategy_type":"MACD","fast_range":[5,20],"slow_range":[20,60],"step":5,"signal_period":9,"min_trades":3,"fee_bps":5,"objective":"sortino_ratio","webhook_url":"http://127.0.0.1:'$DEAD_PORT'/hook"}'
J_SMA=$(zw_enqueue trading-sweep "$SMA_P")
J_MACD=$(zw_enqueue trading-sweep "$MACD_P")
J_NOPE=$(zw_enqueue trading-sweep '{"ticker":"NOPE","strategy_type":"SMA","fast_range":[5,10],"slow_range":[20,30],"step":5}')
J_ODD=$(zw_enqueue mystery '{}')
J_NOOP=$(zw_enqueue noop '{}')

zw_wait_sql 60 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT id, job_type, status FROM zixly.pipeline_jobs")"
# Delayed jobs, enqueued while the worker idles (their enqueue wakes nobody): a noop 1.5 s
# ahead, and a sweep whose id already has rows from "an earlier attempt".
J_LATE=$(zw_enqueue noop '{}' "run_at => now() + interval '1.5 s'")
J_RERUN=$(zw_enqueue trading-sweep '{"ticker":"SMI","strategy_type":"EMA","fast_range":[5,30],"slow_range":[40,120],"step":5}' "run_at => now() + interval '1.5 s'")
zx_sql "INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker, strategy_type,
	fast_period, slow_period, rank, sharpe_ratio, total_return_pct, max_drawdown_pct, total_trades)
	SELECT 'stale-' || g, '$J_RERUN', 'default', 'stale-run', 'SMI', 'EMA', 1, 2, g, 0, 0, 0, 0
	FROM generate_series(1, 12) g" >/dev/null

zw_wait_sql 60 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT id, job_type, status FROM zixly.pipeline_jobs")"

status() { zw_status "$1"; }
is "$(status "$J_SMA")" "COMPLETED/1" "SMA sweep completed on its first attempt"
is "$(status "$J_MACD")" "COMPLETED/1" "MACD sweep completed on its first attempt"
is "$(status "$J_NOOP")" "COMPLETED/1" "noop job completed"

# ---------------------------------------------------------------- top 10 against zixly-sweep
out=$(zw_compare_top "$J_SMA" "$DATA" --ticker DAX --strategy SMA --fast 5:50 --slow 20:200 --step 5)
is "$(tail -1 <<<"$out")" "rows 10 mismatches 0" "SMA: exactly 10 rows stored, equal to zixly-sweep --top 10 (9+ significant digits)"
[ "$(tail -1 <<<"$out")" = "rows 10 mismatches 0" ] || diag "$out"
out=$(zw_compare_top "$J_MACD" "$DATA" --ticker CAC --strategy MACD --fast 5:20 --slow 20:60 --step 5 --signal 9 \
	--min-trades 3 --fee-bps 5 --objective sortino_ratio)
is "$(tail -1 <<<"$out")" "rows 10 mismatches 0" "MACD with fees, min_trades and sortino: rows equal zixly-sweep's"
[ "$(tail -1 <<<"$out")" = "rows 10 mismatches 0" ] || diag "$out"
is "$(zx_sql "SELECT string_agg(DISTINCT signal_period::text || strategy_type || ticker, ',') FROM zixly.trading_sweep_results WHERE job_id = '$J_MACD'")" \
	"9MACDCAC" "MACD rows carry ticker, strategy and signal period"
is "$(zx_sql "SELECT count(DISTINCT sweep_run_id) = 1 AND bool_and(sweep_run_id = (j.result->>'sweep_run_id')) AND bool_and(r.tenant_id = j.tenant_id)
	FROM zixly.trading_sweep_results r JOIN zixly.pipeline_jobs j ON j.id = r.job_id WHERE j.id = '$J_SMA' GROUP BY j.id")" t \
	"rows share the sweep_run_id recorded in the result and the job's tenant"

# ---------------------------------------------------------------- result, metrics, artifact
q() { zx_sql "SELECT $1 FROM zixly.pipeline_jobs WHERE id = '$J_SMA'"; }
"$SWEEP" --csv "$DATA" --ticker DAX --strategy SMA --fast 5:50 --slow 20:200 --step 5 >"$ZW_TMP/full.csv"
COMBOS=$(( $(wc -l <"$ZW_TMP/full.csv") - 1 ))
is "$(q "result->>'combinations'")" "$COMBOS" "result.combinations is the grid size ($COMBOS)"
is "$(q "result->>'bars'")" 1860 "result.bars"
is "$(q "(result->'best'->>'fast') || ':' || (result->'best'->>'slow') || ':' || (result->'best'->>'rank')")" \
	"$("$SWEEP" --csv "$DATA" --ticker DAX --strategy SMA --fast 5:50 --slow 20:200 --step 5 --top 1 | awk -F, 'NR == 2 { print $1 ":" $2 ":" $12 }')" \
	"result.best is zixly-sweep's best combination"
ok "$(zw_close "$(q "result->'best'->>'sharpe_ratio'")" \
	"$(zx_sql "SELECT sharpe_ratio FROM zixly.trading_sweep_results WHERE job_id = '$J_SMA' AND rank = 1")" && echo 0 || echo 1)" \
	"result.best's figures are those of the rank-1 row"
is "$(q "(result->>'duration_seconds')::float8 > 0 AND (result->>'duration_seconds')::float8 <= extract(epoch FROM completed_at - started_at)")" t \
	"result.duration_seconds is positive and within the job's started..completed span"
is "$(q "jsonb_array_length(result->'equity_curve'->'strategy') = jsonb_array_length(result->'equity_curve'->'buy_and_hold')
	AND jsonb_array_length(result->'equity_curve'->'index') = jsonb_array_length(result->'equity_curve'->'dates')
	AND jsonb_array_length(result->'equity_curve'->'index') = jsonb_array_length(result->'equity_curve'->'strategy')
	AND jsonb_array_length(result->'equity_curve'->'index') BETWEEN 2 AND 1000")" t \
	"result.equity_curve: index, dates, strategy and buy_and_hold of one length, at most 1000"
is "$(q "(result->'equity_curve'->'index'->>0) || ' ' || (result->'equity_curve'->'index'->>-1) || ' ' ||
	(result->'equity_curve'->'dates'->>0) || ' ' || (result->'equity_curve'->'strategy'->>0) || ' ' || (result->'equity_curve'->'buy_and_hold'->>0)")" \
	"0 1859 1991-07-01 1 1" "the curve spans the series from 1.0 (strategy and buy-and-hold)"
bh_last=$(awk -F, '$1 == "DAX" { if (!f) f = $3; l = $3 } END { printf "%.10g", l / f }' "$DATA")
ok "$(zw_close "$(q "result->'equity_curve'->'buy_and_hold'->>-1")" "$bh_last" && echo 0 || echo 1)" \
	"buy-and-hold ends at last close / first close ($bh_last)"
ok "$(zw_close "$(q "result->'equity_curve'->'strategy'->>-1")" \
	"$(q "1 + (result->'best'->>'total_return_pct')::float8 / 100")" && echo 0 || echo 1)" \
	"the strategy curve ends at 1 + the best total return"
is "$(q "(metrics->>'combinations')::int = $COMBOS AND (metrics->>'bar_combinations')::float8 = 1860.0 * $COMBOS
	AND (metrics->>'engine_seconds')::float8 > 0 AND (metrics->>'duration_seconds')::float8 >= (metrics->>'engine_seconds')::float8")" t \
	"metrics: combinations, bar_combinations, engine and total seconds"
ART=$(q "result->'artifact'->>'path'")
ok "$([ -f "$ART" ] && echo 0 || echo 1)" "the artifact file exists ($ART)"
ok "$(cmp -s "$ART" "$ZW_TMP/full.csv" && echo 0 || echo 1)" "the artifact is zixly-sweep's full grid CSV, byte for byte"
is "$(q "result->'artifact'->>'rows'")" "$COMBOS" "result.artifact records its rows"

# ---------------------------------------------------------------- failures, delays, re-runs
is "$(status "$J_NOPE")" "FAILED/1" "a ticker without prices fails at once, not retried"
like "$(zx_sql "SELECT error_message FROM zixly.pipeline_jobs WHERE id = '$J_NOPE'")" 'ticker "NOPE"' \
	"the error names the ticker"
is "$(status "$J_ODD")" "FAILED/1" "an unknown job type fails at once"
like "$(zx_sql "SELECT error_message FROM zixly.pipeline_jobs WHERE id = '$J_ODD'")" 'unknown job type "mystery"' \
	"the error names the job type"
is "$(status "$J_LATE")" "COMPLETED/1" "the delayed noop job completed"
is "$(zx_sql "SELECT started_at >= run_at AND started_at < run_at + interval '2 s' FROM zixly.pipeline_jobs WHERE id = '$J_LATE'")" t \
	"it started on time, though its enqueue woke nobody and the safety poll is at 60 s"
is "$(status "$J_RERUN")" "COMPLETED/1" "the delayed sweep completed"
is "$(zx_sql "SELECT count(*) || '/' || count(*) FILTER (WHERE sweep_run_id = 'stale-run') FROM zixly.trading_sweep_results WHERE job_id = '$J_RERUN'")" \
	"10/0" "rows left from an earlier attempt were replaced, not added to"

# ---------------------------------------------------------------- webhook
zx_wait_for "webhook call" 10 test -e "$ZW_TMP/hooks/001.body"
hook=$(cat "$ZW_TMP/hooks/001.head" "$ZW_TMP/hooks/001.body" 2>/dev/null)
like "$hook" '^POST /hook HTTP/1.1' "the completion callback is a POST to webhook_url"
like "$hook" "\"job_id\":\"$J_SMA\"" "it names the job"
like "$hook" '"status":"COMPLETED"' "and its status"
like "$hook" '[Cc]ontent-[Tt]ype: application/json' "as JSON"
like "$hook" '"best":\{"fast":[0-9]+,"slow":[0-9]+' "with the best combination"
is "$(grep -ciE '^zixly-(signature|timestamp):' <<<"$hook")" 0 "unsigned: no secret is configured"
is "$(status "$J_MACD")" "COMPLETED/1" "a callback that cannot be delivered leaves the job completed"
like "$(grep "event=webhook_failed" "$ZW_TMP/w1.log")" "job_id=$J_MACD" "and is logged as a warning naming the job"

# ---------------------------------------------------------------- logs and exit
like "$(grep "event=job_completed" "$ZW_TMP/w1.log" | grep "$J_SMA")" 'ts=.* pid=[0-9]+ level=info event=job_completed job_id=.* duration_ms=' \
	"one logfmt line per event: timestamp, pid, level, job id, duration"
zw_signal_wait "$W1" TERM 20
is "$ZW_EXIT" 0 "SIGTERM: the worker exits 0"
ok "$(zw_clean_log w1 && echo 0 || echo 1)" "no sanitizer report (ASan, UBSan, leaks) and no error in the log"

done_testing
