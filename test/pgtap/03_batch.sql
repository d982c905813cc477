-- zixly_enqueue_batch: one job per element, in order, with the call's options; one bad element
-- fails the whole batch and names its index; size limits.
BEGIN;
SELECT plan(27);

CREATE FUNCTION pg_temp.sweep(n int) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('ticker', 'T' || n, 'strategy_type', 'SMA', 'fast_range', jsonb_build_array(10, 20),
	                          'slow_range', jsonb_build_array(20, 30), 'step', 5)
$$;
-- The error fields of a failing batch call.
CREATE FUNCTION pg_temp.batch_error(params jsonb, OUT state text, OUT msg text, OUT context text)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM zixly_enqueue_batch('trading-sweep', params);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, context = PG_EXCEPTION_CONTEXT;
	context := split_part(context, E'\n', 1);	-- the innermost context line
END $$;

SET LOCAL zixly.tenant_id = 'acme';
CREATE TEMP TABLE b AS
SELECT * FROM zixly_enqueue_batch('trading-sweep',
	(SELECT jsonb_agg(pg_temp.sweep(g) ORDER BY g) FROM generate_series(1, 1000) g),
	queue => 'sweeps', priority => 3, max_attempts => 7) WITH ORDINALITY;

SELECT is((SELECT count(*) FROM b), 1000::bigint, 'a batch of 1000 returns 1000 jobs');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs), 1000::bigint, '... and stores 1000 jobs');
SELECT ok((SELECT bool_and(parameters->>'ticker' = 'T' || ordinality) FROM b), 'the jobs come back in the order of the array');
SELECT is((SELECT count(DISTINCT id) FROM b), 1000::bigint, 'every job has its own id');
SELECT ok((SELECT bool_and(id ~ '^c[0-9a-z]{24}$') FROM b), 'every id is cuid-style');
SELECT ok((SELECT bool_and(status = 'QUEUED' AND attempts = 0) FROM b), 'every job is QUEUED with 0 attempts');
SELECT ok((SELECT bool_and(tenant_id = 'acme') FROM b), 'the tenant comes from zixly.tenant_id');
SELECT ok((SELECT bool_and(queue = 'sweeps' AND priority = 3 AND max_attempts = 7 AND run_at = now()) FROM b),
	'queue, priority and max_attempts apply to every job; run_at defaults to now()');
SELECT ok((SELECT bool_and(p.id = b.id) FROM b JOIN zixly.pipeline_jobs p USING (id)), 'the returned rows are the stored ones');

SELECT is((SELECT count(*) FROM zixly_enqueue_batch('noop', '[{}, {"a": 1}]', tenant_id => 't2',
	run_at => now() + interval '1 minute')), 2::bigint, 'a batch of another job type');
SELECT ok((SELECT bool_and(tenant_id = 't2' AND run_at = now() + interval '1 minute')
             FROM zixly.pipeline_jobs WHERE job_type = 'noop'), 'explicit tenant and run_at apply to every job');
SELECT is((SELECT count(*) FROM zixly_enqueue_batch('noop', '[{}]')), 1::bigint, 'a batch of one');

-- one bad element fails the whole batch and the error names it (0-based)
SELECT is(pg_temp.batch_error(jsonb_build_array(pg_temp.sweep(1), pg_temp.sweep(2), pg_temp.sweep(3),
		pg_temp.sweep(4) || '{"step": 0}', pg_temp.sweep(5)))::text,
	row('22023', 'invalid trading-sweep parameter "step": must be an integer from 1 to 1000', 'parameters element 3 of the batch')::text,
	'a bad element fails the batch with 22023, naming the field and (in the context) the element');
SELECT is((pg_temp.batch_error(jsonb_build_array(pg_temp.sweep(1), 5))).context, 'parameters element 1 of the batch',
	'a scalar element is named in the context');
SELECT is((pg_temp.batch_error(jsonb_build_array(pg_temp.sweep(1), 5))).msg,
	'invalid trading-sweep parameter "parameters": must be a JSON object', '... and is not parameters');
SELECT is((pg_temp.batch_error((SELECT jsonb_agg(pg_temp.sweep(g)) FROM generate_series(1, 999) g) || '[{"x": 1}]')).context,
	'parameters element 999 of the batch', 'the last of 1000 elements is named');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs), 1003::bigint, 'failed batches stored nothing');
SELECT throws_ok($$SELECT zixly_enqueue_batch('trading-sweep', jsonb_build_array(pg_temp.sweep(1), '{"ticker": ""}'::jsonb))$$,
	'22023', NULL, 'a failing batch raises 22023');

-- limits and shapes
SELECT throws_ok($$SELECT zixly_enqueue_batch('noop', '[]')$$, '22023', 'a batch must hold 1 to 10000 jobs', 'an empty batch');
SELECT throws_ok($$SELECT zixly_enqueue_batch('noop', (SELECT jsonb_agg('{}'::jsonb) FROM generate_series(1, 10001)))$$,
	'22023', 'a batch must hold 1 to 10000 jobs', 'a batch of 10,001');
SELECT is((SELECT count(*) FROM zixly_enqueue_batch('noop', (SELECT jsonb_agg('{}'::jsonb) FROM generate_series(1, 10000))))::int,
	10000, 'a batch of 10,000 is allowed');
SELECT throws_ok($$SELECT zixly_enqueue_batch('noop', '{}')$$, '22023', 'parameters must be a JSON array of parameter objects',
	'an object is not a batch');
SELECT throws_ok($$SELECT zixly_enqueue_batch('noop', '5')$$, '22023', 'parameters must be a JSON array of parameter objects',
	'a scalar is not a batch');
SELECT throws_ok($$SELECT zixly_enqueue_batch('noop', NULL)$$, '22023', 'parameters must not be null', 'a NULL batch');
SELECT throws_ok($$SELECT zixly_enqueue_batch('noop', '[{}]', max_attempts => 0)$$, '22023', 'max_attempts must be from 1 to 100',
	'batch options are checked');
SELECT throws_ok($$SELECT zixly_enqueue_batch('Bad', '[{}]')$$, '22023', NULL, 'the batch''s job type is checked');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs), 11003::bigint, 'exactly the accepted batches are stored');

SELECT * FROM finish();
ROLLBACK;
