#!/usr/bin/env bash
# Fuzz: 5,000 random, malformed and hostile JSON documents (and 300 batches of them) thrown at
# zixly_enqueue('trading-sweep', ...), zixly_validate and zixly_enqueue_batch through ONE psql
# session with ON_ERROR_STOP off. Every document must end as the oracle in
# lib/fuzz_sweeps.pl says: valid sweeps are enqueued (and zixly_validate counts their
# combinations right), invalid ones fail with 22023, broken JSON with jsonb's own errors
# (22P02 syntax, 22P05 \u0000, 54001 too deep, 22003 numeric overflow, 22021 bad UTF-8) and
# nothing else; the same session must still answer at the end, the postmaster must not have
# restarted and no backend may have died.
. "$(dirname "$0")/../lib/harness.sh"

SEED=${ZX_FUZZ_SEED:-20261128}
COUNT=5000
BATCHES=300
zx_cluster_start
zx_db_create zx_fuzz
WORK=$ZX_CLUSTER/fuzz
mkdir -p "$WORK"

q() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }

diag "seed $SEED (set ZX_FUZZ_SEED to replay another)"
perl "$ZX_ROOT/test/integration/lib/fuzz_sweeps.pl" "$SEED" "$COUNT" "$BATCHES" "$WORK/fuzz.sql" "$WORK/expect" ||
	bail "the fuzz generator failed"
started=$(q "SELECT pg_postmaster_start_time()")

cat >"$WORK/head.sql" <<'SQL'
SET log_min_error_statement = panic;
SELECT pg_backend_pid() AS pid0 \gset
SQL
cat >"$WORK/tail.sql" <<'SQL'
SELECT pg_backend_pid() AS pid1, count(*) AS jobs FROM zixly.pipeline_jobs \gset
\echo ALIVE :SQLSTATE :pid0 :pid1 :jobs
SQL
start=$(date +%s%N)
psql -qX -f "$WORK/head.sql" -f "$WORK/fuzz.sql" -f "$WORK/tail.sql" >"$WORK/out" 2>"$WORK/err"
rc=$?
diag "$((COUNT + BATCHES)) statements in $(( ($(date +%s%N) - start) / 1000000 )) ms"
is "$rc" 0 "psql ran the whole script in one session (exit 0: the connection never broke)"

grep -E '^[RB] ' "$WORK/out" >"$WORK/results"
is "$(wc -l <"$WORK/results")" "$((COUNT + BATCHES))" "every statement reported its outcome"

# results against expectations: "R|B n SQLSTATE value" vs "R|B n allowed-states value"
perl -e '
	open my $e, "<", $ARGV[0] or die; my %want;
	while (<$e>) { chomp; my ($k, $n, $st, $v) = split / /; $want{"$k $n"} = [$st, $v] }
	open my $r, "<", $ARGV[1] or die; my $bad = 0;
	while (<$r>) {
		chomp; my ($k, $n, $st, $v) = split / /, $_, 4;
		my $w = $want{"$k $n"} or die "unexpected result line: $_\n";
		my %ok = map { $_ => 1 } split /\|/, $w->[0];
		next if $ok{$st} && ($w->[0] ne "00000" || $v eq $w->[1]);
		print "$k $n: got $st $v, expected $w->[0] $w->[1]\n"; $bad++;
	}
	exit($bad ? 1 : 0);
' "$WORK/expect" "$WORK/results" >"$WORK/mismatches"
is "$(wc -l <"$WORK/mismatches")" 0 "every document ended as the oracle expects (SQLSTATE, and combinations when valid)"
[ -s "$WORK/mismatches" ] && diag "$(head -20 "$WORK/mismatches")"

# what was thrown, and that each kind really happened
count_state() { awk -v k="$1" -v s="$2" '$1 == k && $3 == s' "$WORK/results" | wc -l; }
valid_r=$(awk '$1 == "R" && $3 == "00000"' "$WORK/expect" | wc -l)
valid_b_jobs=$(awk '$1 == "B" && $3 == "00000" { s += $4 } END { print s + 0 }' "$WORK/expect")
is "$(count_state R 00000)" "$valid_r" "all $valid_r valid documents were enqueued"
ok "$( [ "$valid_r" -ge 500 ] && echo 0 || echo 1)" "... a real share of the documents ($valid_r)"
ok "$( [ "$(count_state R 22023)" -ge 2000 ] && echo 0 || echo 1)" "invalid sweeps rejected with 22023 ($(count_state R 22023))"
ok "$( [ "$(count_state R 22P02)" -ge 300 ] && echo 0 || echo 1)" "malformed JSON rejected with 22P02 ($(count_state R 22P02))"
for st in 22P05 54001 22003 22021; do
	n=$(count_state R $st)
	ok "$( [ "$n" -ge 1 ] && echo 0 || echo 1)" "some documents hit $st ($n)"
done
ok "$( [ "$(count_state B 00000)" -ge 50 ] && [ "$(count_state B 22023)" -ge 20 ] && echo 0 || echo 1)" \
	"batches both succeed ($(count_state B 00000)) and fail as a whole ($(count_state B 22023))"
other=$(awk '$3 !~ /^(00000|22023|22P02|22P05|54001|22003|22021)$/' "$WORK/results" | wc -l)
is "$other" 0 "no other SQLSTATE at all (no internal error, no crash)"

# the server and the session survived
alive=$(grep '^ALIVE ' "$WORK/out")
pid0=$(echo "$alive" | awk '{ print $3 }')
is "$alive" "ALIVE 00000 $pid0 $pid0 $((valid_r + valid_b_jobs))" \
	"the same session still answers at the end (same backend pid) and holds exactly the valid jobs"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs")" "$((valid_r + valid_b_jobs))" \
	"$((valid_r + valid_b_jobs)) jobs stored: the valid documents and batches, nothing else"
is "$(q "SELECT pg_postmaster_start_time()")" "$started" "the postmaster did not restart"
crashes=$(grep -cE 'terminated by signal|exited with exit code|PANIC|server process .* was terminated' "$ZX_CLUSTER/server.log")
is "$crashes" 0 "no backend died (server.log)"
[ "$crashes" = 0 ] || diag "$(grep -E 'terminated by signal|exited with exit code|PANIC' "$ZX_CLUSTER/server.log" | head -5)"

done_testing
