#!/usr/bin/env bash
# sweep_cli.t — zixly-sweep end to end on the sample data and on bad input (TAP).
#
# Runs bin/zixly-sweep (and bin/asan/zixly-sweep when it exists): the spec's example grid on
# DAX (header, 8 rows in grid order), values against an awk transcription of DESIGN.md's
# formulas, --top, JSON, thread counts, row order of the input, and for every kind of bad
# input: exit status 2, one line "zixly-sweep: <reason>" on stderr, nothing on stdout.
. "$(dirname "$0")/../lib/harness.sh"

DATA=$ZX_ROOT/data/eustockmarkets.csv
TMP=$(mktemp -d /tmp/zixly-sweep-cli.XXXXXX)
zx_on_exit "rm -rf '$TMP'"
HEADER=fast,slow,total_return_pct,sharpe_ratio,max_drawdown_pct,total_trades,sortino_ratio,win_rate_pct,profit_factor,exposure_pct,score,rank

BINS=("$ZX_BIN/zixly-sweep")
[ -x "$ZX_BIN/asan/zixly-sweep" ] && BINS+=("$ZX_BIN/asan/zixly-sweep")
[ -x "${BINS[0]}" ] || bail "${BINS[0]} not built (make -C worker)"

# ref_combo FAST SLOW FEE_BPS: one SMA combination on DAX straight from DESIGN.md, printed as
# "total_return_pct sharpe_ratio max_drawdown_pct total_trades exposure_pct".
ref_combo() {
	awk -F, -v F="$1" -v S="$2" -v FEE="$3" '
	NR > 1 && $1 == "DAX" { c[n++] = $3 + 0 }
	function sma(p, t,   u, s) { s = 0; for (u = t - p + 1; u <= t; u++) s += c[u]; return s / p }
	END {
		fee = FEE / 10000
		for (t = 0; t < n; t++) { if (t >= S - 1) { a[t] = sma(F, t); b[t] = sma(S, t) } }
		p = 0; trades = 0
		for (t = 0; t < n; t++) {
			if (t >= S) {
				if (a[t-1] <= b[t-1] && a[t] > b[t]) { if (p == 0) trades++; p = 1 }
				else if (a[t-1] >= b[t-1] && a[t] < b[t]) p = 0
			}
			pos[t] = p
		}
		E = 1; peak = 1; mdd = 0; sum = 0; expo = 0
		for (t = 1; t < n; t++) {
			p1 = pos[t-1]; p2 = (t >= 2) ? pos[t-2] : 0
			d = p1 - p2; if (d < 0) d = -d
			s[t] = p1 * (c[t] / c[t-1] - 1) - fee * d
			E *= 1 + s[t]; sum += s[t]; expo += p1
			if (E > peak) peak = E
			if (1 - E / peak > mdd) mdd = 1 - E / peak
		}
		m = sum / (n - 1); ss = 0
		for (t = 1; t < n; t++) ss += (s[t] - m) ^ 2
		sd = sqrt(ss / (n - 2))
		printf "%.17g %.17g %.17g %d %.17g\n", (E - 1) * 100, (sd > 0 ? m / sd * sqrt(252) : 0), mdd * 100, trades, expo / (n - 1) * 100
	}' "$DATA"
}

# close GOT WANT: relative difference below 1e-9 (or both tiny).
close() { awk -v g="$1" -v w="$2" 'BEGIN { d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w; exit !(d <= 1e-9 * a + 1e-12) }'; }

# check_ref OUT FAST SLOW FEE NAME: the row (FAST, SLOW) of CSV output OUT against ref_combo.
check_ref() {
	local row ref ok=0 i
	row=$(printf '%s\n' "$1" | awk -F, -v f="$2" -v s="$3" '$1 == f && $2 == s { print $3, $4, $5, $6, $10 }')
	ref=$(ref_combo "$2" "$3" "$4")
	read -r -a g <<<"$row"
	read -r -a w <<<"$ref"
	[ "${#g[@]}" = 5 ] && [ "${#w[@]}" = 5 ] || ok=1
	for i in 0 1 2 3 4; do
		[ $ok = 0 ] && { close "${g[$i]}" "${w[$i]}" || ok=1; }
	done
	ok $ok "$5"
	[ $ok = 0 ] || diag "got:  $row" "want: $ref"
}

# bad NAME ARGS...: exit 2, exactly one stderr line "zixly-sweep: ...", empty stdout.
bad() {
	local name=$1 bin out err rc; shift
	for bin in "${BINS[@]}"; do
		out=$("$bin" "$@" 2>"$TMP/err"); rc=$?
		err=$(cat "$TMP/err")
		if [ $rc = 2 ] && [ -z "$out" ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] &&
		    printf '%s' "$err" | grep -q '^zixly-sweep: .'; then
			ok 0 "$name ($(basename "$(dirname "$bin")")): $err"
		else
			ok 1 "$name ($(basename "$(dirname "$bin")"))"
			diag "exit $rc, stdout '$out', stderr: $err"
		fi
	done
}

SPEC=(--csv "$DATA" --ticker DAX --strategy SMA --fast 10:20 --slow 20:30 --step 5)

for bin in "${BINS[@]}"; do
	tag=$(basename "$(dirname "$bin")")
	out=$("$bin" "${SPEC[@]}" 2>"$TMP/err"); rc=$?
	is "$rc" 0 "spec example exits 0 ($tag)"
	is "$(cat "$TMP/err")" "" "spec example: nothing on stderr ($tag)"
	is "$(printf '%s\n' "$out" | head -1)" "$HEADER" "CSV header ($tag)"
	is "$(printf '%s\n' "$out" | tail -n +2 | wc -l)" 8 "8 combinations for the spec example ($tag)"
	is "$(printf '%s\n' "$out" | tail -n +2 | cut -d, -f1,2 | tr '\n' ' ')" \
	   "10,20 10,25 10,30 15,20 15,25 15,30 20,25 20,30 " "grid order: fast, then slow ($tag)"
	ranks=$(printf '%s\n' "$out" | tail -n +2 | cut -d, -f12 | sort -n | tr '\n' ' ')
	is "$ranks" "1 2 3 4 5 6 7 8 " "ranks 1..8 ($tag)"
done
out=$("${BINS[0]}" "${SPEC[@]}")
check_ref "$out" 10 20 0 "SMA(10,20) on DAX matches the awk reference"
check_ref "$out" 20 30 0 "SMA(20,30) on DAX matches the awk reference"
out=$("${BINS[0]}" "${SPEC[@]}" --fee-bps 10)
check_ref "$out" 15 25 10 "SMA(15,25) with 10 bps fees matches the awk reference"
like "$(printf '%s\n' "$out" | sed -n 2p)" '^10,20,[-0-9.e]+,[-0-9.e]+,[0-9.e]+,[0-9]+,' "rows are plain numbers"

# score = sharpe by default; --top N prints the N best in rank order.
best=$(printf '%s\n' "$out" | tail -n +2 | sort -t, -k4,4 -g -r | head -1 | cut -d, -f1,2)
top=$("${BINS[0]}" "${SPEC[@]}" --fee-bps 10 --top 3)
is "$(printf '%s\n' "$top" | wc -l)" 4 "--top 3: header and 3 rows"
is "$(printf '%s\n' "$top" | tail -n +2 | cut -d, -f12 | tr '\n' ' ')" "1 2 3 " "--top 3 in rank order"
is "$(printf '%s\n' "$top" | sed -n 2p | cut -d, -f1,2)" "$best" "rank 1 has the best Sharpe ratio"
dd=$("${BINS[0]}" "${SPEC[@]}" --fee-bps 10 --objective max_drawdown_pct --top 1 | tail -1)
mindd=$(printf '%s\n' "$out" | tail -n +2 | cut -d, -f5 | sort -g | head -1)
is "$(printf '%s' "$dd" | cut -d, -f5)" "$mindd" "max_drawdown_pct ranks the smallest drawdown first"
none=$("${BINS[0]}" "${SPEC[@]}" --min-trades 100000)
is "$(printf '%s\n' "$none" | tail -n +2 | cut -d, -f12 | sort -u)" 0 "--min-trades above every count: all unranked (rank 0)"
is "$("${BINS[0]}" "${SPEC[@]}" --min-trades 100000 --top 5)" "$HEADER" "--top with nothing ranked prints the header only"

# Threads and input row order do not change a bit of the output.
is "$("${BINS[0]}" "${SPEC[@]}" --threads 1 --fee-bps 3)" "$("${BINS[0]}" "${SPEC[@]}" --threads 2 --fee-bps 3)" \
   "--threads 1 and 2 print the same bytes"
{ head -1 "$DATA"; tail -n +2 "$DATA" | awk 'BEGIN { srand(7) } { print rand() "\t" $0 }' | sort -k1,1 | cut -f2-; } >"$TMP/shuffled.csv"
is "$("${BINS[0]}" --csv "$TMP/shuffled.csv" --ticker DAX --fast 10:20 --slow 20:30 --step 5 --fee-bps 10)" "$out" \
   "rows in any order: sorted by date first"
awk -F, 'BEGIN { OFS = "," } NR == 1 { print "close,note,date,ticker"; next } { print $3, "x", $2, $1 }' "$DATA" >"$TMP/reordered.csv"
is "$("${BINS[0]}" --csv "$TMP/reordered.csv" --ticker DAX --fast 10:20 --slow 20:30 --step 5 --fee-bps 10)" "$out" \
   "columns in any order, extra columns ignored"

# JSON.
json=$("${BINS[0]}" "${SPEC[@]}" --format json --fee-bps 10)
like "$json" '^\{"params":\{"ticker":"DAX","strategy_type":"SMA","fast_range":\[10,20\],"slow_range":\[20,30\],"step":5' "JSON params"
like "$json" '"bars":1860,"first_date":"1991-07-01","last_date":"[0-9-]+","combinations":8,"ranked":8,"results":\[' "JSON bars and counts"
if command -v python3 >/dev/null; then
	n=$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["results"]), d["results"][0]["fast"], d["results"][0]["slow"], d["results"][0]["total_trades"])')
	is "$n" "8 10 20 $(printf '%s\n' "$out" | sed -n 2p | cut -d, -f6)" "JSON parses: 8 results, grid order, same trades as CSV"
else
	ok 0 "JSON parse check skipped (no python3)"
fi
if printf '%s' "$json" | grep -qiE 'nan|inf'; then ok 1 "JSON has no NaN/Infinity"; else ok 0 "JSON has no NaN/Infinity"; fi

# Other strategies.
for s in EMA MACD; do
	o=$("${BINS[0]}" --csv "$DATA" --ticker CAC --strategy $s --fast 10:20 --slow 20:30 --step 5 --signal 9)
	is "$(printf '%s\n' "$o" | tail -n +2 | wc -l)" 8 "$s on CAC: 8 rows"
done
like "$("${BINS[0]}" --help)" '^usage: zixly-sweep --csv FILE' "--help prints usage"

# Bad input.
printf 'ticker,date,close\nDAX,2024-01-01,1\nDAX,2024-01-02\n' >"$TMP/short.csv"
printf 'ticker,date,close\nDAX,2024-01-01,1\nDAX,2024-01-02,abc\n' >"$TMP/nonnum.csv"
printf 'ticker,date,close\nDAX,2024-01-01,1\nDAX,2024-01-02,0\n' >"$TMP/zero.csv"
printf 'ticker,date,close\nDAX,2024-01-01,1\nDAX,2024-13-02,2\n' >"$TMP/baddate.csv"
printf 'ticker,date,close\nDAX,2024-01-01,1\nDAX,2024-01-01,2\n' >"$TMP/dup.csv"
printf 'ticker,day,close\nDAX,2024-01-01,1\n' >"$TMP/nocol.csv"
: >"$TMP/empty.csv"
B=(--ticker DAX --fast 10:20 --slow 20:30 --step 5)
bad "missing file" --csv "$TMP/nope.csv" "${B[@]}"
bad "unknown ticker" --csv "$DATA" --ticker XYZ --fast 10:20 --slow 20:30 --step 5
bad "row with a missing field" --csv "$TMP/short.csv" "${B[@]}"
bad "non-numeric close" --csv "$TMP/nonnum.csv" "${B[@]}"
bad "non-positive close" --csv "$TMP/zero.csv" "${B[@]}"
bad "bad date" --csv "$TMP/baddate.csv" "${B[@]}"
bad "duplicate date" --csv "$TMP/dup.csv" "${B[@]}"
bad "no date column" --csv "$TMP/nocol.csv" "${B[@]}"
bad "empty file" --csv "$TMP/empty.csv" "${B[@]}"
bad "ranges with no combination" --csv "$DATA" --ticker DAX --fast 30:40 --slow 10:20 --step 5
bad "slow period longer than the series" --csv "$DATA" --ticker DAX --fast 10:20 --slow 2000:2100 --step 5
bad "MACD signal beyond the series" --csv "$DATA" --ticker DAX --strategy MACD --fast 10:20 --slow 1800:1850 --signal 100
bad "unknown option" "${SPEC[@]}" --fats 3
bad "step 0" --csv "$DATA" --ticker DAX --fast 10:20 --slow 20:30 --step 0
bad "step not a number" --csv "$DATA" --ticker DAX --fast 10:20 --slow 20:30 --step 5x
bad "range without colon part" --csv "$DATA" --ticker DAX --fast 10: --slow 20:30
bad "range end below start" --csv "$DATA" --ticker DAX --fast 20:10 --slow 20:30
bad "period overflow" --csv "$DATA" --ticker DAX --fast 10:99999999999999999999 --slow 20:30
bad "negative fee" "${SPEC[@]}" --fee-bps -1
bad "fee not a number" "${SPEC[@]}" --fee-bps nan
bad "threads out of range" "${SPEC[@]}" --threads 100000
bad "unknown strategy" "${SPEC[@]}" --strategy WMA
bad "unknown objective" "${SPEC[@]}" --objective sharpe
bad "unknown format" "${SPEC[@]}" --format xml
bad "top 0" "${SPEC[@]}" --top 0
bad "option without value" "${SPEC[@]}" --step
bad "missing --csv" --ticker DAX --fast 10:20 --slow 20:30
bad "missing --slow" --csv "$DATA" --ticker DAX --fast 10:20

done_testing
