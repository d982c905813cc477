#!/usr/bin/env bash
# ext_upgrade.t — upgrading the zixly extension in place, 0.1.0 to 0.1.1 to 0.1.2 (TAP).
#
# make test starts from fresh clusters, so only this file sees a database that an older build
# created.  Such a database keeps working on the new library before its update (the 0.1.0
# functions, without the attempt, still complete and fail jobs).  The new worker, whose calls
# need 0.1.1, takes no job from it and says what to run; once ALTER EXTENSION zixly UPDATE has
# run, it carries on by itself, drains the jobs queued before and rescues the one a vanished old
# worker held.  An old worker's statement prepared before the update completes its job after it;
# the attempt (the fencing token 0.1.1 adds) then works.  From 0.1.2 the app's role writes jobs
# only through the SQL API, an app session's statement prepared before that update included.  The
# updated catalogue equals a fresh CREATE EXTENSION's.  On a database without the extension the
# worker says CREATE EXTENSION zixly.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

zw_use_asan
zx_cluster_start
zx_db_create upgraded --no-extension
zx_sql "CREATE EXTENSION zixly VERSION '0.1.0'"
q() { zx_sql "$1"; }

is "$(q "SELECT extversion FROM pg_extension WHERE extname = 'zixly'")" 0.1.0 "a database created with zixly 0.1.0"
is "$(q "SELECT string_agg(pronargs::text, ' ' ORDER BY proname) FROM pg_proc WHERE proname IN ('zixly_complete', 'zixly_fail')")" \
	"4 4" "0.1.0's zixly_complete and zixly_fail take 4 arguments"
# a DBA's hardening, which the update must keep
q "REVOKE EXECUTE ON FUNCTION zixly_complete(text, text, jsonb, jsonb) FROM PUBLIC" >/dev/null
q "GRANT EXECUTE ON FUNCTION zixly_complete(text, text, jsonb, jsonb) TO zixly_worker" >/dev/null
ACL=$(q "SELECT proacl FROM pg_proc WHERE oid = 'zixly_complete(text, text, jsonb, jsonb)'::regprocedure")

# ---------------------------------------------------------------- 0.1.0 on the new library
H1=$(zw_enqueue noop '{}')	# held by an old worker that is gone by the update
H2=$(zw_enqueue noop '{}')	# completed by it with a statement prepared before the update
F=$(zw_enqueue noop '{}')	# failed through 0.1.0's zixly_fail
is "$(q "SELECT count(*) FROM zixly_claim('old-w', 3)")" 3 "an old worker claims three jobs"
is "$(q "SELECT status FROM zixly_fail('$F', 'old-w', 'boom', false)")" FAILED \
	"0.1.0's zixly_fail (4 arguments) works on the new library"
QUEUED=()
for i in 1 2 3 4 5; do QUEUED+=("$(zw_enqueue noop "{\"i\": $i}")"); done

zx_spawn "$ZW_TMP/w.log" "$ZW_BIN" --worker-id new-w --artifact-dir "$ZW_TMP/artifacts" --metrics-port 0
W=$ZX_LAST_PID
zx_wait_for "the outdated extension named" 20 \
	zw_log_has w "event=db_extension_outdated database=upgraded installed=0.1.0 needed=0.1.1 hint=\"ALTER EXTENSION zixly UPDATE\""
ok $? "the new worker on 0.1.0 names the installed and the needed version, and what to run"
! grep -q 'event=ready' "$ZW_TMP/w.log"
ok $? "... does not announce itself ready"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'QUEUED'")" 5 "... nor take a job from 0.1.0"
like "$(grep -m1 'event=db_error' "$ZW_TMP/w.log")" 'sqlstate=42883 .*zixly_fail' \
	"... after the server's own error (42883, the call that is missing)"

# ---------------------------------------------------------------- the update
# psql's \! runs the update from another session between PREPARE and EXECUTE, as for an old
# worker whose statements were prepared before it.
out=$(psql -qXAt -v ON_ERROR_STOP=1 <<SQL 2>&1
PREPARE complete(text, text, jsonb, jsonb) AS SELECT status FROM zixly_complete(\$1, \$2, \$3, \$4);
\! psql -qXAt -c "ALTER EXTENSION zixly UPDATE TO '0.1.1'"
EXECUTE complete('$H2', 'old-w', '{"by": "old-w"}', NULL);
SQL
)
is "$out" COMPLETED "an old worker's zixly_complete prepared before the update completes its job after it"
is "$(q "SELECT extversion FROM pg_extension WHERE extname = 'zixly'")" 0.1.1 "ALTER EXTENSION zixly UPDATE TO '0.1.1'"
is "$(q "SELECT string_agg(pronargs::text, ' ' ORDER BY proname, pronargs) FROM pg_proc WHERE proname IN ('zixly_complete', 'zixly_fail')")" \
	"4 5 4 5" "zixly_complete and zixly_fail have 5-argument forms with the attempt, beside 0.1.0's"
is "$(q "SELECT proacl FROM pg_proc WHERE oid = 'zixly_complete(text, text, jsonb, jsonb)'::regprocedure")" "$ACL" \
	"a DBA's REVOKE on 0.1.0's zixly_complete survives the update ($ACL)"
zx_wait_for "ready after the update" 20 zw_log_has w "event=ready"
ok $? "the new worker is ready by itself after the update"
zw_wait_sql 30 "SELECT count(*) = 5 FROM zixly.pipeline_jobs WHERE status = 'COMPLETED' AND parameters ? 'i'" &&
	ok 0 "the new worker drains the 5 jobs queued before the update" ||
	{ ok 1 "the new worker drains the 5 jobs queued before the update"; diag "$(q "SELECT status, count(*) FROM zixly.pipeline_jobs GROUP BY 1")"; }
is "$(q "SELECT string_agg(DISTINCT status || ' ' || locked_by, ',') FROM zixly.pipeline_jobs WHERE id IN ($(printf "'%s'," "${QUEUED[@]}" | sed 's/,$//'))")" \
	"COMPLETED new-w" "... each of them COMPLETED by it"

is "$(q "SELECT status || ' ' || attempts || ' ' || locked_by FROM zixly.pipeline_jobs WHERE id = '$H1'")" \
	"COMPLETED 2 new-w" "the job an old worker held, its session gone, is rescued and completed by the new worker"
is "$(q "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'COMPLETED'")" 7 \
	"every job but the failed one COMPLETED, none lost across the update"
zw_signal_wait "$W" TERM 20
is "$ZW_EXIT" 0 "the new worker exits 0 on SIGTERM"
! grep -Eq "AddressSanitizer|LeakSanitizer|runtime error:" "$ZW_TMP/w.log"
ok $? "no sanitizer report in its log"

# the fencing token 0.1.1 adds, in one session (a claim's session must live, or rescue takes it)
J=$(zw_enqueue noop '{}')
out=$(psql -qXAt <<SQL 2>&1
SELECT attempts FROM zixly_claim('fw', 1);
SELECT zixly_complete('$J', 'fw', NULL, NULL, 2);
SELECT status FROM zixly_complete('$J', 'fw', NULL, NULL, 1);
SQL
)
is "$(printf '%s' "$out" | tr '\n' '|')" "1|ERROR:  cannot complete job \"$J\": worker \"fw\" holds it on attempt 1, not 2|COMPLETED" \
	"after the update the attempt fences: attempt 2 cannot complete attempt 1's job, attempt 1 can"

# 0.1.0 did not mark its tables for pg_dump (ext_dump.t): the update does
dumped=$(pg_dump -d upgraded | awk '/^COPY zixly.pipeline_jobs / { on = 1; next } /^\\\.$/ { on = 0 } on' | wc -l)
is "$dumped" "$(q "SELECT count(*) FROM zixly.pipeline_jobs")" "after the update pg_dump keeps every job of the database"

# ---------------------------------------------------------------- 0.1.1 -> 0.1.2
# A member of zixly_app (the web app's role), acting for tenant t1.
q "CREATE ROLE zx_up_app NOLOGIN IN ROLE zixly_app" >/dev/null
as_app() {
	psql -qXAt -d upgraded -v ON_ERROR_STOP=1 -c "SET ROLE zx_up_app" \
		-c "SELECT set_config('zixly.tenant_id', 't1', false)" -c "$1" 2>&1 | tail -n +2
}
# before 0.1.2 an app role without the grants is one a DBA took them from: it writes as itself
q "REVOKE INSERT ON zixly.pipeline_jobs FROM zixly_app" >/dev/null
like "$(as_app "SELECT zixly_enqueue('noop')")" "permission denied for table pipeline_jobs" \
	"on 0.1.1 a DBA's REVOKE of INSERT from zixly_app holds for zixly_enqueue too"
q "GRANT INSERT ON zixly.pipeline_jobs TO zixly_app" >/dev/null
is "$(as_app "INSERT INTO zixly.pipeline_jobs (id, tenant_id, job_type, status, result)
	VALUES ('forged-011', 't1', 'noop', 'COMPLETED', '{\"forged\": true}') RETURNING status")" COMPLETED \
	"on 0.1.1 the app's role could write a COMPLETED job with a forged result past the SQL API"
out=$(psql -qXAt -d upgraded <<SQL 2>&1
SET ROLE zx_up_app;
SELECT set_config('zixly.tenant_id', 't1', false) \\g /dev/null
PREPARE enq AS SELECT tenant_id || ' ' || status FROM zixly_enqueue('noop', '{"by": "app"}');
\\! psql -qXAt -c "ALTER EXTENSION zixly UPDATE"
EXECUTE enq;
INSERT INTO zixly.pipeline_jobs (id, tenant_id, job_type) VALUES ('forged-012', 't1', 'noop');
SQL
)
is "$(q "SELECT extversion FROM pg_extension WHERE extname = 'zixly'")" 0.1.2 "ALTER EXTENSION zixly UPDATE: 0.1.2"
is "$(printf '%s' "$out" | head -1)" "t1 QUEUED" "an app session's zixly_enqueue prepared before the update queues its job after it"
like "$(printf '%s' "$out" | tail -1)" "permission denied for table pipeline_jobs" "... while its direct INSERT is refused"
A=$(q "SELECT id FROM zixly.pipeline_jobs WHERE parameters->>'by' = 'app'")
is "$(as_app "SELECT status FROM zixly_cancel('$A')")" CANCELLED "the app cancels its job through zixly_cancel"
is "$(as_app "SELECT status FROM zixly_retry('$A')")" QUEUED "... and retries it through zixly_retry"
like "$(as_app "UPDATE zixly.pipeline_jobs SET status = 'COMPLETED' WHERE id = '$A'")" "permission denied" \
	"... but cannot UPDATE it directly"
like "$(as_app "SELECT zixly_enqueue('noop', tenant_id => 't2')")" "violates row-level security" \
	"... nor queue a job for another tenant"
q "DELETE FROM zixly.pipeline_jobs WHERE id = 'forged-011' OR parameters->>'by' = 'app'" >/dev/null

# ---------------------------------------------------------------- updated = fresh
# The extension's objects are not in pg_dump's output (CREATE EXTENSION makes them), so the
# catalogue is compared: every member object, and every function's definition, comment and
# privileges (the DBA's REVOKE above undone first), every column, index and policy of schema
# zixly.
catalogue() {
	psql -qXAt -d "$1" <<'SQL'
SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'zixly') ORDER BY 1;
SELECT pg_get_functiondef(p.oid), obj_description(p.oid, 'pg_proc'),
       array(SELECT a::text FROM unnest(coalesce(p.proacl, acldefault('f', p.proowner))) a ORDER BY 1) FROM pg_proc p
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
 ORDER BY p.oid::regprocedure::text;
SELECT attrelid::regclass, attname, format_type(atttypid, atttypmod), attnotnull,
       pg_get_expr(adbin, adrelid), col_description(attrelid, attnum)
  FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
 WHERE attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'zixly'::regnamespace)
   AND attnum > 0 AND NOT attisdropped ORDER BY 1, attnum;
SELECT indexdef FROM pg_indexes WHERE schemaname = 'zixly' ORDER BY 1;
SELECT tablename, policyname, cmd, roles, qual, with_check FROM pg_policies WHERE schemaname = 'zixly' ORDER BY 1, 2;
SELECT relname, relacl FROM pg_class WHERE relnamespace = 'zixly'::regnamespace ORDER BY 1;
SQL
}
q "GRANT EXECUTE ON FUNCTION zixly_complete(text, text, jsonb, jsonb) TO PUBLIC" >/dev/null	# the DBA's hardening undone
q "REVOKE EXECUTE ON FUNCTION zixly_complete(text, text, jsonb, jsonb) FROM zixly_worker" >/dev/null
catalogue upgraded >"$ZW_TMP/upgraded.cat"
zx_db_create fresh
catalogue fresh >"$ZW_TMP/fresh.cat"
if [ "$(wc -l <"$ZW_TMP/fresh.cat")" -gt 100 ] && cmp -s "$ZW_TMP/upgraded.cat" "$ZW_TMP/fresh.cat"; then
	ok 0 "the updated catalogue equals a fresh CREATE EXTENSION zixly's ($(wc -l <"$ZW_TMP/fresh.cat") lines)"
else
	ok 1 "the updated catalogue equals a fresh CREATE EXTENSION zixly's"
	diag "$(diff "$ZW_TMP/upgraded.cat" "$ZW_TMP/fresh.cat" | head -20)"
fi

# ---------------------------------------------------------------- no extension at all
zx_db_create bare --no-extension
zx_spawn "$ZW_TMP/bare.log" "$ZW_BIN" --worker-id bare-w --artifact-dir "$ZW_TMP/artifacts" --metrics-port 0
B=$ZX_LAST_PID
zx_wait_for "the missing extension named" 20 \
	zw_log_has bare "event=db_extension_missing database=bare needed=0.1.1 hint=\"CREATE EXTENSION zixly\""
ok $? "a worker on a database without zixly says so, and what to run"
zw_signal_wait "$B" TERM 20
is "$ZW_EXIT" 0 "... and exits 0 on SIGTERM while it waits for the extension"

done_testing
