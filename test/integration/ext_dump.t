#!/usr/bin/env bash
# ext_dump.t — a DBA's backup: pg_dump of a zixly database, restored into a new one, keeps every
# row of the users' data (TAP).
#
# CREATE EXTENSION makes the extension's tables, so pg_dump leaves them out, and their rows with
# them unless the extension marks the tables (pg_extension_config_dump): zixly 0.1.0 did not, and
# its dumps held no job.  Here a database with jobs in every state, a completed sweep's results,
# the sample prices, a tenant, an API key and a user is dumped in both formats (custom with
# pg_restore, plain SQL with psql) and restored; each table must come back row for row, and
# the restored database must work: the key and the password authenticate, an idempotency key
# still returns its first job, and a worker drains the queued jobs.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/lib/worker.sh"

zx_cluster_start
zx_db_create dumped
zx_load_prices
SRC_URL=$DATABASE_URL

KEY=$(zx_sql "SELECT zixly_create_api_key('acme', 'ci')")
zx_sql "SELECT zixly_create_user('acme', 'quant@acme.test', 'correct horse battery')" >/dev/null
SWEEP=$(zw_enqueue trading-sweep '{"ticker": "DAX", "strategy_type": "SMA", "fast_range": [5, 20], "slow_range": [30, 60], "step": 5}' "'acme'")
zw_start dump-w --metrics-port 0
zw_wait_sql 60 "SELECT status = 'COMPLETED' FROM zixly.pipeline_jobs WHERE id = '$SWEEP'" ||
	bail "the sweep did not complete: $(zw_status "$SWEEP")"
zw_signal_wait "$ZW_PID" TERM 20
# with the worker gone: a failed job, a cancelled one, a delayed one, an idempotent one, a queue
FAILED=$(zw_enqueue noop '{}')
zx_sql "SELECT zixly_claim('sql-w', 1)" >/dev/null
zx_sql "SELECT zixly_fail('$FAILED', 'sql-w', 'boom', false)" >/dev/null
zx_sql "SELECT zixly_cancel(id) FROM zixly_enqueue('noop', '{}')" >/dev/null
zx_sql "SELECT id FROM zixly_enqueue('noop', '{}', run_at => now() + interval '1 day')" >/dev/null
IDEM=$(zx_sql "SELECT id FROM zixly_enqueue('noop', '{}', 'acme', idempotency_key => 'order-42')")
zx_sql "SELECT count(*) FROM zixly_enqueue_batch('noop', (SELECT jsonb_agg(jsonb_build_object('i', i)) FROM generate_series(1, 20) i))" >/dev/null

TABLES="pipeline_jobs trading_sweep_results prices tenants api_keys users"
# fingerprint DB: per table, its row count and an md5 of its rows in order
fingerprint() {
	local t
	for t in $TABLES; do
		psql -qXAt -d "$1" -c "SELECT '$t ' || count(*) || ' ' || md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '')) FROM zixly.$t r"
	done
}
fingerprint dumped >"$ZW_TMP/src.fp"
is "$(awk '$2 == 0 { print $1 }' "$ZW_TMP/src.fp" | tr '\n' ' ')" "" "every table of the source holds rows ($(awk '{ printf("%s%s %s", (NR > 1 ? ", " : ""), $1, $2) }' "$ZW_TMP/src.fp"))"

# restored NAME: the restored database matches the source and works
restored() {
	local db=$1 fp
	fp=$(fingerprint "$db")
	if [ "$fp" = "$(cat "$ZW_TMP/src.fp")" ]; then
		ok 0 "$db: every table comes back row for row"
	else
		ok 1 "$db: every table comes back row for row"
		diag "$(diff "$ZW_TMP/src.fp" <(printf '%s\n' "$fp"))"
	fi
	is "$(psql -qXAt -d "$db" -c "SELECT tenant_id FROM zixly_authenticate_api_key('$KEY')")" acme \
		"$db: the API key authenticates"
	is "$(psql -qXAt -d "$db" -c "SELECT tenant_id FROM zixly_authenticate_user('quant@acme.test', 'correct horse battery')")" acme \
		"$db: the user's password authenticates"
	is "$(psql -qXAt -d "$db" -c "SELECT id FROM zixly_enqueue('noop', '{}', 'acme', idempotency_key => 'order-42')")" "$IDEM" \
		"$db: the idempotency key still returns its first job"
	DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$db" zw_start "$db-w" --metrics-port 0
	zx_wait_for "$db drained" 30 sh -c "[ \"\$(psql -qXAt -d $db -c \"SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'QUEUED' AND run_at <= now()\")\" = 0 ]"
	ok $? "$db: a worker drains the 21 queued jobs (the batch and the idempotent one)"
	zw_signal_wait "$ZW_PID" TERM 20
	is "$(psql -qXAt -d "$db" -c "SELECT string_agg(status || ':' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM zixly.pipeline_jobs GROUP BY 1) s")" \
		"CANCELLED:1 COMPLETED:22 FAILED:1 QUEUED:1" "$db: every job is there in its state (the delayed one still QUEUED)"
}

pg_dump -Fc -d dumped -f "$ZW_TMP/dump.custom" || bail "pg_dump -Fc failed"
psql -qX -d postgres -c "CREATE DATABASE from_custom" >/dev/null
pg_restore --exit-on-error -d from_custom "$ZW_TMP/dump.custom" 2>"$ZW_TMP/restore.err"
ok $? "pg_restore of a custom-format dump succeeds$( [ -s "$ZW_TMP/restore.err" ] && echo ": $(head -3 "$ZW_TMP/restore.err")")"
restored from_custom

pg_dump -d dumped -f "$ZW_TMP/dump.sql" || bail "pg_dump failed"
psql -qX -d postgres -c "CREATE DATABASE from_plain" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -d from_plain -f "$ZW_TMP/dump.sql" >/dev/null 2>"$ZW_TMP/psql.err"
ok $? "psql restores a plain dump without an error$( [ -s "$ZW_TMP/psql.err" ] && echo ": $(head -3 "$ZW_TMP/psql.err")")"
restored from_plain

# the source is untouched by all this
is "$(DATABASE_URL=$SRC_URL fingerprint dumped)" "$(cat "$ZW_TMP/src.fp")" "the source database is unchanged"

done_testing
