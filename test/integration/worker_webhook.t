#!/usr/bin/env bash
# worker_webhook.t — zixly-worker's job callbacks (webhook_url), end to end (TAP): a real
# cluster with the sample prices, ASan + UBSan workers, and a local HTTP receiver (Perl) that
# records every request's head and body.
#
#   1. Signing: with ZIXLY_WEBHOOK_SECRET, job.completed carries Zixly-Timestamp (now) and
#      Zixly-Signature: v1=<hex>, which verifies as HMAC-SHA256(secret, "<timestamp>.<body>")
#      (Digest::SHA here, not the worker's code) and does not verify with another secret.
#   2. Failures: a final failure (a ticker with no prices) sends a signed job.failed with the
#      error; a retryable failure (the artifact store broken under the worker) sends nothing
#      while attempts remain, and one job.failed, naming attempt 2, when they run out.
#   3. Destinations: a worker without ZIXLY_WEBHOOK_ALLOW_PRIVATE refuses loopback (127.0.0.1,
#      localhost, ::ffff:127.0.0.1), unspecified (0.0.0.0) and link-local (169.254.169.254)
#      callbacks, completed and failed alike: nothing reaches the receiver, the job stays
#      COMPLETED, and event=webhook_refused names the job, the address and its class.  With the
#      opt-in, loopback is allowed (1 and 2 use it) but 169.254.169.254 is still refused.  A 302
#      is not followed.
#   4. The secret (given by variable and by flag) appears in no log; the config line says
#      webhook-secret=set.  A callback URL's credentials, path and query (where secrets travel)
#      are not logged either: only its origin.  SIGTERM exits 0; no sanitizer report, no error
#      line.
#   5. A job dead-lettered by zixly_rescue (its worker's session ended during its last attempt)
#      gets its job.failed callback, signed, from the worker whose rescue took it: once, with
#      the rescue's reason.
#   6. Those callbacks do not hold up a shutdown: against a receiver that never answers (and a
#      webhook timeout of 30 s), a worker exits within its shutdown deadline, and at once on a
#      second SIGTERM; the callbacks it gave up are logged (webhook_dropped).
#   7. Nor does such a receiver hold up another job's callback: it arrives within seconds.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

zw_use_asan
zx_cluster_start
zx_db_create worker_webhook
zx_load_prices

SECRET="whsec_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
HOOKS=$ZW_TMP/hooks

# The receiver (zw_receiver): every request saved as NNN.head and NNN.body.
zw_receiver "$HOOKS"
PORT=$ZW_RECEIVER_PORT

# hook_of JOB: the NNN of the first request whose body names JOB (empty if none).
hook_of() { grep -l "\"job_id\":\"$1\"" "$HOOKS"/*.body 2>/dev/null | head -1 | sed 's/\.body$//'; }
# hooks_of JOB: how many requests name JOB.
hooks_of() { grep -l "\"job_id\":\"$1\"" "$HOOKS"/*.body 2>/dev/null | wc -l; }
# header NNN NAME: the value of one header of a saved request.
header() { awk -v k="$2" 'BEGIN { k = tolower(k) ":" } tolower($1) == k { sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print; exit }' "$1.head" 2>/dev/null; }
# verify NNN SECRET: "valid" if Zixly-Signature is v1=HMAC-SHA256(SECRET, "<ts>.<body>").
verify() {
	perl -MDigest::SHA=hmac_sha256_hex -e '
		my ($ts, $sig, $secret, $file) = @ARGV;
		open my $f, "<", $file or die; local $/; my $body = <$f>;
		print $sig eq "v1=" . hmac_sha256_hex("$ts.$body", $secret) ? "valid" : "invalid";' \
		"$(header "$1" Zixly-Timestamp)" "$(header "$1" Zixly-Signature)" "$2" "$1.body" 2>/dev/null
}
sweep() {	# sweep TICKER URL: trading-sweep parameters with a webhook_url
	printf '{"ticker":"%s","strategy_type":"SMA","fast_range":[5,20],"slow_range":[20,60],"step":5,"webhook_url":"%s"}' "$1" "$2"
}

# Worker "open": secret from the environment, private destinations allowed.
export ZIXLY_WEBHOOK_SECRET=$SECRET ZIXLY_WEBHOOK_ALLOW_PRIVATE=1
zw_start open --metrics-port 0 --concurrency 2 --threads 1 --queues open
OPEN=$ZW_PID
# Worker "broken": the same, and its artifact directory is replaced by a file once it runs.
zw_start broken --metrics-port 0 --concurrency 1 --threads 1 --queues broken --artifact-dir "$ZW_TMP/broken-art" \
	--artifact-failure-pause 1
BROKEN=$ZW_PID
rm -rf "$ZW_TMP/broken-art" && : >"$ZW_TMP/broken-art"
# Worker "strict": the defaults (no private destinations), secret by flag.
unset ZIXLY_WEBHOOK_SECRET ZIXLY_WEBHOOK_ALLOW_PRIVATE
zw_start strict --metrics-port 0 --concurrency 2 --threads 1 --queues strict --webhook-secret "$SECRET"
STRICT=$ZW_PID

LOCAL=http://127.0.0.1:$PORT
J_OK=$(zw_enqueue trading-sweep "$(sweep DAX "$LOCAL/done")" "queue => 'open'")
J_NOPE=$(zw_enqueue trading-sweep "$(sweep NOPE "$LOCAL/failed")" "queue => 'open'")
J_META=$(zw_enqueue trading-sweep "$(sweep DAX "http://169.254.169.254/latest/meta-data/")" "queue => 'open'")
J_REDIR=$(zw_enqueue trading-sweep "$(sweep DAX "$LOCAL/redirect")" "queue => 'open'")
J_CRED=$(zw_enqueue trading-sweep "$(sweep DAX "http://hook:pw_s3cr3t@127.0.0.1:$PORT/services/T0/path_s3cr3t?token=q_s3cr3t")" "queue => 'open'")
J_RETRY=$(zw_enqueue trading-sweep "$(sweep DAX "$LOCAL/retried")" "queue => 'broken', max_attempts => 2")
J_S1=$(zw_enqueue trading-sweep "$(sweep DAX "$LOCAL/strict")" "queue => 'strict'")
J_S2=$(zw_enqueue trading-sweep "$(sweep DAX "http://localhost:$PORT/strict")" "queue => 'strict'")
J_S3=$(zw_enqueue trading-sweep "$(sweep DAX "http://[::ffff:127.0.0.1]:$PORT/strict")" "queue => 'strict'")
J_S4=$(zw_enqueue trading-sweep "$(sweep DAX "http://0.0.0.0:$PORT/strict")" "queue => 'strict'")
J_S5=$(zw_enqueue trading-sweep "$(sweep DAX "http://169.254.169.254/latest/meta-data/")" "queue => 'strict'")
J_S6=$(zw_enqueue trading-sweep "$(sweep NOPE "$LOCAL/strict")" "queue => 'strict'")

zw_wait_sql 60 "SELECT count(*) = 0 FROM zixly.pipeline_jobs WHERE status IN ('QUEUED', 'RUNNING')" ||
	diag "$(zx_sql "SELECT id, queue, status, attempts FROM zixly.pipeline_jobs")"
# a callback is sent after the job's outcome is stored: wait for the log line that follows it
for j in "$J_OK" "$J_NOPE" "$J_RETRY" "$J_REDIR" "$J_CRED"; do
	zx_wait_for "callback of $j" 15 sh -c 'grep -q "\"job_id\":\"$1\"" "$2"/*.body' sh "$j" "$HOOKS"
done
for j in "$J_S1" "$J_S2" "$J_S3" "$J_S4" "$J_S5" "$J_S6"; do
	zx_wait_for "refusal of $j" 15 zw_log_has strict "event=webhook_refused job_id=$j "
done
zx_wait_for "refusal of $J_META" 15 zw_log_has open "event=webhook_refused job_id=$J_META "
zx_wait_for "redirect logged" 15 zw_log_has open "event=webhook_sent job_id=$J_REDIR "
zx_wait_for "credentials' callback logged" 15 zw_log_has open "event=webhook_sent job_id=$J_CRED "
sleep 0.5	# anything wrongly sent by now would have arrived

# ---------------------------------------------------------------- 1. signing
is "$(zw_status "$J_OK")" "COMPLETED/1" "the sweep completed"
H=$(hook_of "$J_OK")
ok "$([ -n "$H" ] && echo 0 || echo 1)" "its job.completed callback reached the receiver"
H=${H:-$HOOKS/none}
like "$(cat "$H.body" 2>/dev/null)" '"event":"job.completed".*"status":"COMPLETED"' "the body is job.completed, status COMPLETED"
like "$(header "$H" Zixly-Signature)" '^v1=[0-9a-f]{64}$' "Zixly-Signature: v1=<64 hex digits>"
ts=$(header "$H" Zixly-Timestamp)
now=$(date +%s)
ok "$([[ "$ts" =~ ^[0-9]+$ ]] && [ $((now - ts)) -ge 0 ] && [ $((now - ts)) -le 60 ] && echo 0 || echo 1)" \
	"Zixly-Timestamp is the unix time of sending ($ts, now $now)"
is "$(verify "$H" "$SECRET")" valid "the signature verifies: HMAC-SHA256(secret, timestamp.body)"
is "$(verify "$H" "${SECRET}x")" invalid "and does not verify with another secret"
is "$(header "$H" Zixly-Event)" job.completed "Zixly-Event names the callback"

# ---------------------------------------------------------------- 2. failures
is "$(zw_status "$J_NOPE")" "FAILED/1" "a ticker without prices fails for good"
H=$(hook_of "$J_NOPE"); H=${H:-$HOOKS/none}
like "$(cat "$H.body" 2>/dev/null)" '"event":"job.failed"' "a final failure sends job.failed"
like "$(cat "$H.body" 2>/dev/null)" '"status":"FAILED"' "with status FAILED"
like "$(cat "$H.body" 2>/dev/null)" '"error":"no prices for ticker \\"NOPE\\"' "and the error"
like "$(cat "$H.body" 2>/dev/null)" "\"job_id\":\"$J_NOPE\",\"job_type\":\"trading-sweep\",.*\"tenant_id\":\"default\",\"ticker\":\"NOPE\"" \
	"shaped as job.completed: job_id, job_type, status, tenant_id, ticker"
is "$(verify "$H" "$SECRET")" valid "signed like job.completed"
is "$(zw_status "$J_RETRY")" "FAILED/2" "a job whose artifact store broke failed twice (max_attempts 2)"
like "$(grep "event=job_failed job_id=$J_RETRY" "$ZW_TMP/broken.log" | head -1)" 'status=retry attempt=1' \
	"its first failure was retried"
is "$(hooks_of "$J_RETRY")" 1 "one callback for it: none for the retried failure"
H=$(hook_of "$J_RETRY"); H=${H:-$HOOKS/none}
like "$(cat "$H.body" 2>/dev/null)" '"event":"job.failed".*"error":"cannot write artifact .*"attempts":2' \
	"job.failed after the last attempt, with the error and attempts 2"

# ---------------------------------------------------------------- 3. destinations
refused() { grep "event=webhook_refused job_id=$2 " "$ZW_TMP/$1.log" | head -1; }
for j in "$J_S1" "$J_S2" "$J_S3" "$J_S4" "$J_S5"; do
	is "$(zw_status "$j")" "COMPLETED/1" "strict: job $j completed though its callback was refused"
done
is "$(grep -l '^POST /strict' "$HOOKS"/*.head 2>/dev/null | wc -l)" 0 \
	"without ZIXLY_WEBHOOK_ALLOW_PRIVATE no callback reached the loopback receiver"
like "$(refused strict "$J_S1")" "level=warn .*callback=job.completed url=http://127.0.0.1:$PORT address=127.0.0.1 class=loopback reason=.*ZIXLY_WEBHOOK_ALLOW_PRIVATE" \
	"127.0.0.1 is refused and logged: job, url, address, class, reason"
like "$(refused strict "$J_S2")" "address=(127\.0\.0\.1|::1) class=loopback" "localhost (resolved, then checked) is refused"
like "$(refused strict "$J_S3")" "address=::ffff:127\.0\.0\.1 class=loopback" "::ffff:127.0.0.1 is refused"
like "$(refused strict "$J_S4")" "address=0\.0\.0\.0 class=unspecified" "0.0.0.0 is refused"
like "$(refused strict "$J_S5")" "address=169\.254\.169\.254 class=link-local" "169.254.169.254 (cloud metadata) is refused"
is "$(zw_status "$J_S6")" "FAILED/1" "strict: the failed job stays FAILED"
like "$(refused strict "$J_S6")" "callback=job.failed .*class=loopback" "and its job.failed callback to loopback is refused too"
is "$(zw_status "$J_META")" "COMPLETED/1" "with the opt-in: the job with a metadata callback completed"
like "$(refused open "$J_META")" "address=169\.254\.169\.254 class=link-local reason=.*never allowed" \
	"and ZIXLY_WEBHOOK_ALLOW_PRIVATE does not open link-local (cloud metadata)"
like "$(grep "event=webhook_sent job_id=$J_REDIR " "$ZW_TMP/open.log")" 'level=warn .*http_status=302' \
	"a 302 answer is logged as a warning"
is "$(grep -l '^POST /landed\|^GET /landed' "$HOOKS"/*.head 2>/dev/null | wc -l)" 0 "and not followed"

# ---------------------------------------------------------------- 4. the secret and the logs
like "$(grep event=config "$ZW_TMP/strict.log")" ' webhook-secret=set webhook-allow-private=0 ' \
	"the config line says whether a secret is set"
like "$(grep event=config "$ZW_TMP/open.log")" ' webhook-secret=set webhook-allow-private=1 ' "(and the opt-in)"
is "$(cat "$ZW_TMP"/open.log "$ZW_TMP"/broken.log "$ZW_TMP"/strict.log | grep -cF "$SECRET")" 0 \
	"the secret appears in no worker log"
H=$(hook_of "$J_CRED"); H=${H:-$HOOKS/none}
like "$(head -1 "$H.head" 2>/dev/null)" '^POST /services/T0/path_s3cr3t\?token=q_s3cr3t ' \
	"a callback URL with credentials, a secret path and a token reaches the receiver"
like "$(grep "event=webhook_sent job_id=$J_CRED " "$ZW_TMP/open.log")" "callback=job.completed url=http://127.0.0.1:$PORT http_status=204 " \
	"its log line shows only the URL's origin"
is "$(cat "$ZW_TMP"/open.log | grep -c 's3cr3t')" 0 "its password, path and token appear in no log"
for w in open:$OPEN broken:$BROKEN strict:$STRICT; do
	zw_signal_wait "${w#*:}" TERM 20
	is "$ZW_EXIT" 0 "${w%%:*}: SIGTERM exits 0"
	ok "$(zw_clean_log "${w%%:*}" && echo 0 || echo 1)" "${w%%:*}: no sanitizer report and no error line"
done

# ---------------------------------------------------------------- 5. dead-lettered by a rescue
# A session claims the job (its last attempt) and ends: nobody holds it any more.
J_DEAD=$(zw_enqueue trading-sweep "$(sweep DAX "$LOCAL/dead")" "queue => 'ghost', max_attempts => 1")
is "$(zx_sql "SELECT id FROM zixly_claim('ghost-w', 1, ARRAY['ghost'])")" "$J_DEAD" "a session claims a job on its last attempt, then ends"
export ZIXLY_WEBHOOK_SECRET=$SECRET ZIXLY_WEBHOOK_ALLOW_PRIVATE=1
zw_start rescuer --metrics-port 0 --concurrency 1 --threads 1 --queues nothing --rescue-interval 0.2
RESCUER=$ZW_PID
zx_wait_for "callback of $J_DEAD" 15 sh -c 'grep -q "\"job_id\":\"$1\"" "$2"/*.body' sh "$J_DEAD" "$HOOKS"
sleep 0.5	# a second callback would have arrived by now
is "$(zw_status "$J_DEAD")" "FAILED/1" "the rescue dead-lettered it"
like "$(grep "event=job_dead_lettered job_id=$J_DEAD " "$ZW_TMP/rescuer.log")" \
	'level=warn .*job_type=trading-sweep attempts=1 error="worker ghost-w lost the job \(session ended\) on attempt 1 of 1"' \
	"the rescuing worker logs the dead letter and why"
is "$(hooks_of "$J_DEAD")" 1 "one callback for it"
H=$(hook_of "$J_DEAD"); H=${H:-$HOOKS/none}
like "$(head -1 "$H.head" 2>/dev/null)" '^POST /dead ' "sent to its webhook_url"
like "$(cat "$H.body" 2>/dev/null)" "^\{\"event\":\"job.failed\",\"job_id\":\"$J_DEAD\",\"job_type\":\"trading-sweep\",\"status\":\"FAILED\",\"tenant_id\":\"default\",\"ticker\":\"DAX\",\"error\":\"worker ghost-w lost the job \(session ended\) on attempt 1 of 1\",\"attempts\":1\}$" \
	"job.failed, shaped as a worker's own, with the rescue's reason and attempts"
is "$(verify "$H" "$SECRET")" valid "signed"
zw_signal_wait "$RESCUER" TERM 20
is "$ZW_EXIT" 0 "rescuer: SIGTERM exits 0"
ok "$(zw_clean_log rescuer && echo 0 || echo 1)" "rescuer: no sanitizer report and no error line"

# ---------------------------------------------------------------- 6. callbacks and shutdown
TARPIT=$(zx_free_port)	# accepts connections (the kernel's backlog) and never answers
zx_spawn "$ZW_TMP/tarpit.log" perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 16,
		ReuseAddr => 1) or die "listen: $!";
	$| = 1; print "listening\n"; sleep 600;' "$TARPIT"
zx_wait_for "tarpit" 10 grep -q listening "$ZW_TMP/tarpit.log" || bail "the tarpit did not start"
# dead_letters QUEUE: two jobs on their last attempt, claimed by a session that ends
dead_letters() {
	zw_enqueue trading-sweep "$(sweep DAX "http://127.0.0.1:$TARPIT/$1")" "queue => '$1', max_attempts => 1" >/dev/null
	zw_enqueue trading-sweep "$(sweep DAX "http://127.0.0.1:$TARPIT/$1")" "queue => '$1', max_attempts => 1" >/dev/null
	zx_sql "SELECT count(*) FROM zixly_claim('ghost-$1', 2, ARRAY['$1'])" >/dev/null
}
# stop_timed NAME PID [SECOND_AFTER]: SIGTERM (and a second one after SECOND_AFTER s); sets
# STOP_MS, the time to the worker's exit
stop_timed() {
	local t0
	t0=$(date +%s%N)
	kill -TERM "$2"
	[ -n "${3:-}" ] && { sleep "$3"; kill -TERM "$2" 2>/dev/null; }
	zw_signal_wait "$2" TERM 40
	STOP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
for variant in deadline second; do
	dead_letters "stall$variant"
	if [ $variant = deadline ]; then
		zw_start "stop-$variant" --metrics-port 0 --queues nothing --rescue-interval 0.2 \
			--webhook-timeout 30 --shutdown-timeout 2
	else
		zw_start "stop-$variant" --metrics-port 0 --queues nothing --rescue-interval 0.2 \
			--webhook-timeout 30 --shutdown-timeout 30
	fi
	P=$ZW_PID
	zx_wait_for "dead letters of $variant" 15 sh -c "[ \$(grep -c event=job_dead_lettered '$ZW_TMP/stop-$variant.log') -ge 2 ]"
	sleep 1	# the first callback is being sent, the second waits behind it
	if [ $variant = deadline ]; then
		stop_timed "$variant" "$P"
		ok "$([ "$ZW_EXIT" = 0 ] && [ "$STOP_MS" -lt 6000 ] && echo 0 || echo 1)" \
			"a worker sending a callback to a receiver that never answers exits 0 by its 2 s shutdown deadline (${STOP_MS} ms; exit $ZW_EXIT)"
	else
		stop_timed "$variant" "$P" 0.5
		ok "$([ "$ZW_EXIT" = 0 ] && [ "$STOP_MS" -lt 4000 ] && echo 0 || echo 1)" \
			"with a 30 s deadline, a second SIGTERM stops it at once (${STOP_MS} ms; exit $ZW_EXIT)"
	fi
	like "$(grep -c 'event=webhook_dropped' "$ZW_TMP/stop-$variant.log")" '^2$' \
		"... and both callbacks it gave up are logged (webhook_dropped)"
	ok "$(zw_clean_log "stop-$variant" && echo 0 || echo 1)" "... no sanitizer report and no error line"
done

# ---------------------------------------------------------------- 7. one stalled receiver
# Two dead letters, the first one's receiver never answering (webhook timeout 30 s).
J_STALL=$(zw_enqueue trading-sweep "$(sweep DAX "http://127.0.0.1:$TARPIT/stall")" "queue => 'mixed1', max_attempts => 1")
J_FINE=$(zw_enqueue trading-sweep "$(sweep DAX "$LOCAL/fine")" "queue => 'mixed2', max_attempts => 1")
zx_sql "SELECT count(*) FROM zixly_claim('ghost-mixed', 1, ARRAY['mixed1'])" >/dev/null
zx_sql "SELECT count(*) FROM zixly_claim('ghost-mixed', 1, ARRAY['mixed2'])" >/dev/null
zw_start mixed --metrics-port 0 --queues nothing --rescue-interval 0.2 --webhook-timeout 30 --shutdown-timeout 1
P=$ZW_PID
zx_wait_for "the callback of $J_FINE" 10 sh -c 'grep -q "\"job_id\":\"$1\"" "$2"/*.body' sh "$J_FINE" "$HOOKS"
ok $? "a stalled receiver does not hold up another dead letter's callback (arrived within 10 s)"
is "$(zw_status "$J_STALL") $(zw_status "$J_FINE")" "FAILED/1 FAILED/1" "... both jobs dead-lettered"
zw_signal_wait "$P" TERM 10
is "$ZW_EXIT" 0 "... and the worker exits 0 by its deadline"

done_testing
