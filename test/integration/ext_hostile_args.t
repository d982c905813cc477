#!/usr/bin/env bash
# Hostile arguments: every function of the extension (found through pg_depend, so a new one is
# covered without editing this file) is called 80 times in one session with arguments drawn
# from values chosen to break C code: NULLs, empty and 20,000-character text, control and
# multibyte characters, extreme integers, infinite timestamps, huge and multi-dimensional
# arrays, deep and oversized jsonb.  Each call runs in its own subtransaction and its SQLSTATE
# is recorded.  Passing means: the session answered to the end, the postmaster did not
# restart, no backend died, and no call ended in an internal or system error (classes XX, 58)
# or a resource limit (53, 54) that argument checks should have caught first.
. "$(dirname "$0")/../lib/harness.sh"

CALLS=80
zx_cluster_start
zx_db_create zx_hostile
zx_load_prices
q() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
q "SELECT count(*) FROM (SELECT zixly_enqueue('noop', '{}') FROM generate_series(1, 50)) s" >/dev/null
q "SELECT count(*) FROM zixly_claim('w1', 10)" >/dev/null
started=$(q "SELECT pg_postmaster_start_time()")

out=$(psql -qXAt -v ON_ERROR_STOP=1 -v calls="$CALLS" 2>&1 <<'SQL'
SET client_min_messages = warning;
SET log_min_error_statement = panic;
SELECT pg_backend_pid() AS pid0 \gset
CREATE TEMP TABLE hostile (type regtype, val text);
INSERT INTO hostile VALUES
	('text', 'NULL'), ('text', $$''$$), ('text', $$'noop'$$), ('text', $$'trading-sweep'$$),
	('text', $$'w1'$$), ('text', $$'default'$$), ('text', $$repeat('x', 20000)$$),
	('text', $$E'a\x01b'$$), ('text', $$'a"b\c'$$), ('text', $$repeat('é', 300)$$),
	('text', $$'a@b.c'$$), ('text', $$'zx_live_abc'$$),
	('text', $$(SELECT id FROM zixly.pipeline_jobs ORDER BY random() LIMIT 1)$$),
	('jsonb', 'NULL'), ('jsonb', $$'{}'$$), ('jsonb', $$'[]'$$), ('jsonb', $$'null'$$),
	('jsonb', $$'"s"'$$), ('jsonb', $$'1e400'$$),
	('jsonb', $$(repeat('[', 2000) || repeat(']', 2000))::jsonb$$),
	('jsonb', $$(SELECT jsonb_agg('{}'::jsonb) FROM generate_series(1, 5000))$$),
	('jsonb', quote_literal($${"ticker":"DAX","strategy_type":"SMA","fast_range":[5,50],"slow_range":[20,200],"step":5}$$)),
	('jsonb', quote_literal($${"ticker":"DAX","strategy_type":"MACD","fast_range":[1e308,-1],"slow_range":["a",null],"step":0}$$)),
	('jsonb', quote_literal($${"ticker":null,"strategy_type":{},"fast_range":{},"slow_range":[],"step":[1]}$$)),
	('jsonb', quote_literal($$[{"ticker":"DAX","strategy_type":"SMA","fast_range":[5,10],"slow_range":[20,30],"step":5},1,null]$$)),
	('integer', 'NULL'), ('integer', '0'), ('integer', '-1'), ('integer', '1'),
	('integer', '1000'), ('integer', '1001'), ('integer', '2147483647'), ('integer', '(-2147483648)'),
	('bigint', 'NULL'), ('bigint', '-1'), ('bigint', '9223372036854775807'),
	('bigint', '(SELECT zixly_wait(NULL, 0))'),
	('text[]', 'NULL'), ('text[]', $$'{}'$$), ('text[]', $$'{NULL}'$$), ('text[]', $$'{"",""}'$$),
	('text[]', $$'{{a,b},{c,d}}'$$), ('text[]', $$'[2:3]={a,b}'$$),
	('text[]', $$(SELECT array_agg(i::text) FROM generate_series(1, 100000) i)$$),
	('text[]', $$(SELECT array_agg(id) FROM zixly.pipeline_jobs)$$),
	('interval', 'NULL'), ('interval', $$'0'$$), ('interval', $$'-1 day'$$),
	('interval', $$'1 microsecond'$$), ('interval', $$'178000000 years'$$),
	('timestamptz', 'NULL'), ('timestamptz', $$'infinity'$$), ('timestamptz', $$'-infinity'$$),
	('timestamptz', $$'4713-01-01 BC'$$), ('timestamptz', $$'294276-12-31'$$), ('timestamptz', 'now()'),
	('boolean', 'NULL'), ('boolean', 'true'), ('boolean', 'false');

CREATE TEMP TABLE outcome (fn regprocedure, state text);
SET zx.calls = :calls;
SELECT setseed(0.2026) \gset
DO $$
DECLARE
	f regprocedure;
	nargs int;
	call text;
	st text;
BEGIN
	FOR f, nargs IN
		SELECT p.oid::regprocedure, p.pronargs FROM pg_proc p
		  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
		 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'zixly')
		 ORDER BY 1::text
	LOOP
		FOR i IN 1..current_setting('zx.calls')::int LOOP
			SELECT format('SELECT %s(%s)', (SELECT p.oid::regproc FROM pg_proc p WHERE p.oid = f),
			              coalesce(string_agg(format('%s::%s', v.val, a.t::regtype), ', ' ORDER BY a.n), ''))
			  INTO call
			  FROM unnest((SELECT proargtypes::oid[] FROM pg_proc WHERE oid = f)) WITH ORDINALITY a(t, n)
			  CROSS JOIN LATERAL (SELECT h.val FROM hostile h WHERE h.type = a.t
			                       ORDER BY random() + a.n * 0 LIMIT 1) v;
			-- a wait that would block: at most 50 ms
			call := replace(call, '::bigint, 1000::integer)', '::bigint, 50::integer)');
			call := replace(call, '::bigint, 2147483647::integer)', '::bigint, 50::integer)');
			BEGIN
				EXECUTE call;
				st := '00000';
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
			END;
			INSERT INTO outcome VALUES (f, st);
		END LOOP;
	END LOOP;
END $$;
SELECT count(*) AS calls, count(DISTINCT fn) AS fns FROM outcome \gset
SELECT coalesce(string_agg(state || ':' || n, ' ' ORDER BY state), '') AS states
  FROM (SELECT state, count(*) n FROM outcome GROUP BY state) s \gset
SELECT coalesce(string_agg(DISTINCT fn::text || ' ' || state, '; '), '') AS bad
  FROM outcome WHERE left(state, 2) IN ('XX', '58', '53', '54') \gset
SELECT pg_backend_pid() AS pid1 \gset
\echo RESULT :calls :fns :pid0 :pid1
\echo STATES :states
\echo BAD :bad
SQL
)
rc=$?
ok "$rc" "psql ran every call in one session (exit $rc)"
[ "$rc" = 0 ] || diag "$(echo "$out" | tail -5)"
fns=$(q "SELECT count(*) FROM pg_depend WHERE classid = 'pg_proc'::regclass AND deptype = 'e'
	AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'zixly')")
read -r _ calls called pid0 pid1 <<<"$(echo "$out" | grep '^RESULT ')"
ok "$( [ "$fns" -ge 20 ] && echo 0 || echo 1)" "the extension's functions found: $fns"
is "${called:-}" "$fns" "every one of them was called"
is "${calls:-}" "$((fns * CALLS))" "$CALLS calls each, every one's outcome recorded"
diag "SQLSTATEs: $(echo "$out" | sed -n 's/^STATES //p')"
is "$(echo "$out" | sed -n 's/^BAD //p')" "" "no internal, system or resource-limit error"
ok "$( [ -n "${pid0:-}" ] && [ "$pid0" = "${pid1:-}" ] && echo 0 || echo 1)" "the same backend answered to the end"
is "$(q "SELECT pg_postmaster_start_time()")" "$started" "the postmaster did not restart"
crashes=$(grep -cE 'terminated by signal|exited with exit code|PANIC' "$ZX_CLUSTER/server.log")
is "$crashes" 0 "no backend died (server.log)"

done_testing
