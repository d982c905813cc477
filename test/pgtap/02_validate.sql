-- trading-sweep parameter validation (zixly_validate and the zixly_enqueue gate): every rule
-- raises SQLSTATE 22023 with a message naming the field; the grid's combination count.
BEGIN;
SELECT plan(107);

-- The spec's example, a valid sweep; tests vary it one field at a time.
CREATE FUNCTION pg_temp.sweep(changes jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
	SELECT '{"ticker":"AAPL","strategy_type":"SMA","fast_range":[10,20],"slow_range":[20,30],"step":5}'::jsonb || changes
$$;
-- zixly_enqueue must reject sweep(changes) with 22023 and exactly this message.
CREATE FUNCTION pg_temp.rejects(changes jsonb, field text, msg text, description text) RETURNS text
LANGUAGE sql AS $$
	SELECT throws_ok(format('SELECT zixly_enqueue(%L, %L::jsonb)', 'trading-sweep', pg_temp.sweep(changes)),
		'22023', format('invalid trading-sweep parameter "%s": %s', field, msg), description)
$$;
-- zixly_enqueue must accept sweep(changes).
CREATE FUNCTION pg_temp.accepts(changes jsonb, description text) RETURNS text LANGUAGE sql AS $$
	SELECT lives_ok(format('SELECT zixly_enqueue(%L, %L::jsonb)', 'trading-sweep', pg_temp.sweep(changes)),
		description)
$$;
-- The error fields of a failing zixly_validate call: sqlstate, column name and detail.
CREATE FUNCTION pg_temp.error_of(params jsonb, OUT state text, OUT col text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM zixly_validate('trading-sweep', params);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, col = COLUMN_NAME, detail = PG_EXCEPTION_DETAIL;
END $$;

-- ---------------------------------------------------------------- the valid example
SELECT is(zixly_validate('trading-sweep', pg_temp.sweep()), '{"valid": true, "combinations": 8}'::jsonb,
	'the spec''s example is valid and gives 8 combinations');
SELECT pg_temp.accepts('{}', 'the spec''s example is enqueued');
SELECT is((zixly_validate('trading-sweep', pg_temp.sweep('{"fast_range":[1,10],"slow_range":[3,12],"step":4}')))->'combinations',
	'6', 'fast {1,5,9} x slow {3,7,11} gives 6 pairs with fast < slow');
SELECT is((zixly_validate('trading-sweep', pg_temp.sweep('{"fast_range":[5,5],"slow_range":[5,6],"step":1}')))->'combinations',
	'1', 'fast {5} x slow {5,6} gives 1 pair');
SELECT is((zixly_validate('trading-sweep', pg_temp.sweep('{"fast_range":[1,100],"slow_range":[1,100],"step":1}')))->'combinations',
	'4950', '[1,100] x [1,100] step 1 gives 4950 pairs');
SELECT is((zixly_validate('noop', '{"anything": [1, 2]}'))->'combinations', '0', 'other job types: any object, 0 combinations');
SELECT pg_temp.accepts('{"strategy_type":"MACD","min_trades":0,"signal_period":9,"fee_bps":2.5,"periods_per_year":365,'
	'"objective":"sortino_ratio","webhook_url":"https://hooks.example.com/x?y=1"}', 'every optional field, valid');

-- ---------------------------------------------------------------- ticker
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', pg_temp.sweep() - 'ticker')$$, '22023',
	'invalid trading-sweep parameter "ticker": is required', 'a sweep without ticker is rejected');
SELECT pg_temp.rejects('{"ticker":""}', 'ticker', 'must be a string of 1 to 20 characters', 'ticker of 0 characters');
SELECT pg_temp.rejects(jsonb_build_object('ticker', repeat('A', 21)), 'ticker', 'must be a string of 1 to 20 characters', 'ticker of 21 characters');
SELECT pg_temp.accepts(jsonb_build_object('ticker', repeat('A', 20)), 'ticker of 20 characters');
SELECT pg_temp.accepts('{"ticker":"X"}', 'ticker of 1 character');
SELECT pg_temp.accepts('{"ticker":"^GDAXI"}', 'ticker ^GDAXI');
SELECT pg_temp.accepts('{"ticker":"BRK.B"}', 'ticker BRK.B');
SELECT pg_temp.accepts('{"ticker":"EUR/USD"}', 'ticker EUR/USD');
SELECT pg_temp.rejects('{"ticker":5}', 'ticker', 'must be a string of 1 to 20 characters', 'ticker as a number');
SELECT pg_temp.rejects('{"ticker":["AAPL"]}', 'ticker', 'must be a string of 1 to 20 characters', 'ticker as an array');
SELECT pg_temp.rejects('{"ticker":null}', 'ticker', 'must be a string of 1 to 20 characters', 'ticker null');
SELECT pg_temp.rejects('{"ticker":"AA PL"}', 'ticker', 'may contain only letters, digits and . - _ ^ = /', 'ticker with a space');
SELECT pg_temp.rejects('{"ticker":"ÄBC"}', 'ticker', 'may contain only letters, digits and . - _ ^ = /', 'ticker with a non-ASCII letter');
SELECT pg_temp.rejects('{"ticker":"A\"B"}', 'ticker', 'may contain only letters, digits and . - _ ^ = /', 'ticker with a quote');

-- ---------------------------------------------------------------- strategy_type
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', pg_temp.sweep() - 'strategy_type')$$, '22023',
	'invalid trading-sweep parameter "strategy_type": is required', 'strategy_type is required');
SELECT pg_temp.accepts('{"strategy_type":"EMA"}', 'strategy_type EMA');
SELECT pg_temp.accepts('{"strategy_type":"MACD"}', 'strategy_type MACD');
SELECT pg_temp.rejects('{"strategy_type":"sma"}', 'strategy_type', 'must be one of SMA, EMA, MACD', 'strategy_type is case-sensitive');
SELECT pg_temp.rejects('{"strategy_type":"RSI"}', 'strategy_type', 'must be one of SMA, EMA, MACD', 'strategy_type RSI');
SELECT pg_temp.rejects('{"strategy_type":1}', 'strategy_type', 'must be one of SMA, EMA, MACD', 'strategy_type as a number');
SELECT pg_temp.rejects('{"strategy_type":"SMA "}', 'strategy_type', 'must be one of SMA, EMA, MACD', 'strategy_type with a trailing space');

-- ---------------------------------------------------------------- fast_range / slow_range
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', pg_temp.sweep() - 'fast_range')$$, '22023',
	'invalid trading-sweep parameter "fast_range": is required', 'fast_range is required');
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', pg_temp.sweep() - 'slow_range')$$, '22023',
	'invalid trading-sweep parameter "slow_range": is required', 'slow_range is required');
SELECT pg_temp.rejects('{"fast_range":[10]}', 'fast_range', 'must be an array of two integers [from, to]', 'fast_range of one element');
SELECT pg_temp.rejects('{"fast_range":[10,15,20]}', 'fast_range', 'must be an array of two integers [from, to]', 'fast_range of three elements');
SELECT pg_temp.rejects('{"fast_range":"10,20"}', 'fast_range', 'must be an array of two integers [from, to]', 'fast_range as a string');
SELECT pg_temp.rejects('{"fast_range":{"from":10,"to":20}}', 'fast_range', 'must be an array of two integers [from, to]', 'fast_range as an object');
SELECT pg_temp.rejects('{"fast_range":10}', 'fast_range', 'must be an array of two integers [from, to]', 'fast_range as a number');
SELECT pg_temp.rejects('{"fast_range":[0,20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range from 0');
SELECT pg_temp.rejects('{"fast_range":[-5,20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range negative');
SELECT pg_temp.rejects('{"slow_range":[20,10001]}', 'slow_range', 'must be two integers from 1 to 10000', 'slow_range to 10001');
SELECT pg_temp.accepts('{"fast_range":[1,2],"slow_range":[9999,10000],"step":1}', 'ranges at the bounds 1 and 10000');
SELECT pg_temp.rejects('{"fast_range":[10.5,20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range 10.5 is not an integer');
SELECT pg_temp.accepts('{"fast_range":[10.0,20.00]}', 'fast_range 10.0 and 20.00 count as integers');
SELECT pg_temp.accepts('{"fast_range":[1e1,2E1]}', 'fast_range 1e1 and 2E1 count as integers');
SELECT pg_temp.rejects('{"fast_range":["10",20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range with a string');
SELECT pg_temp.rejects('{"fast_range":[null,20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range with a null');
SELECT pg_temp.rejects('{"fast_range":[[10],20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range with a nested array');
SELECT pg_temp.rejects('{"fast_range":[true,20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range with a boolean');
SELECT pg_temp.rejects('{"fast_range":[1e400,20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range with 1e400');
SELECT pg_temp.rejects('{"fast_range":[10,18446744073709551626]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range beyond int64');
SELECT pg_temp.rejects('{"fast_range":[1e-400,20]}', 'fast_range', 'must be two integers from 1 to 10000', 'fast_range with 1e-400');
SELECT pg_temp.rejects('{"fast_range":[20,10]}', 'fast_range', 'from (20) must not be greater than to (10)', 'fast_range reversed');
SELECT pg_temp.rejects('{"slow_range":[30,20]}', 'slow_range', 'from (30) must not be greater than to (20)', 'slow_range reversed');

-- ---------------------------------------------------------------- step and the grid
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', pg_temp.sweep() - 'step')$$, '22023',
	'invalid trading-sweep parameter "step": is required', 'step is required');
SELECT pg_temp.rejects('{"step":0}', 'step', 'must be an integer from 1 to 1000', 'step 0');
SELECT pg_temp.rejects('{"step":-0}', 'step', 'must be an integer from 1 to 1000', 'step -0');
SELECT pg_temp.rejects('{"step":1001}', 'step', 'must be an integer from 1 to 1000', 'step 1001');
SELECT pg_temp.accepts('{"step":1000,"fast_range":[1,1],"slow_range":[2,2]}', 'step 1000');
SELECT pg_temp.rejects('{"step":2.5}', 'step', 'must be an integer from 1 to 1000', 'step 2.5');
SELECT pg_temp.accepts('{"step":5.0}', 'step 5.0 counts as an integer');
SELECT pg_temp.rejects('{"step":"5"}', 'step', 'must be an integer from 1 to 1000', 'step as a string');
SELECT pg_temp.rejects('{"step":1e400}', 'step', 'must be an integer from 1 to 1000', 'step 1e400');
SELECT pg_temp.rejects('{"step":null}', 'step', 'must be an integer from 1 to 1000', 'step null');
SELECT pg_temp.rejects('{"fast_range":[20,30],"slow_range":[10,20]}', 'slow_range',
	'gives no combination with fast < slow for fast_range [20, 30] and step 5', 'no combination with fast < slow');
SELECT pg_temp.rejects('{"fast_range":[10,10],"slow_range":[10,10]}', 'slow_range',
	'gives no combination with fast < slow for fast_range [10, 10] and step 5', 'fast = slow is no combination');
SELECT is((zixly_validate('trading-sweep', pg_temp.sweep('{"fast_range":[1,707],"slow_range":[1,707],"step":1}')))->'combinations',
	'249571', '249,571 combinations are allowed');
SELECT pg_temp.rejects('{"fast_range":[1,708],"slow_range":[1,708],"step":1}', 'step',
	'gives 250278 combinations; at most 250000 are allowed', '250,278 combinations are too many');
SELECT pg_temp.rejects('{"fast_range":[1,10000],"slow_range":[1,10000],"step":1}', 'step',
	'gives 49995000 combinations; at most 250000 are allowed', 'the widest grid is too big');

-- ---------------------------------------------------------------- optional fields
SELECT pg_temp.accepts('{"min_trades":0}', 'min_trades 0');
SELECT pg_temp.accepts('{"min_trades":1000000}', 'min_trades 1000000');
SELECT pg_temp.rejects('{"min_trades":-1}', 'min_trades', 'must be an integer from 0 to 1000000', 'min_trades -1');
SELECT pg_temp.rejects('{"min_trades":1.5}', 'min_trades', 'must be an integer from 0 to 1000000', 'min_trades 1.5');
SELECT pg_temp.rejects('{"min_trades":"3"}', 'min_trades', 'must be an integer from 0 to 1000000', 'min_trades as a string');
SELECT pg_temp.accepts('{"signal_period":1}', 'signal_period 1');
SELECT pg_temp.accepts('{"signal_period":1000}', 'signal_period 1000');
SELECT pg_temp.rejects('{"signal_period":0}', 'signal_period', 'must be an integer from 1 to 1000', 'signal_period 0');
SELECT pg_temp.rejects('{"signal_period":1001}', 'signal_period', 'must be an integer from 1 to 1000', 'signal_period 1001');
SELECT pg_temp.rejects('{"signal_period":9.5}', 'signal_period', 'must be an integer from 1 to 1000', 'signal_period 9.5');
SELECT pg_temp.accepts('{"fee_bps":0}', 'fee_bps 0');
SELECT pg_temp.accepts('{"fee_bps":1000}', 'fee_bps 1000 (10 % per position change, the engine''s limit)');
SELECT pg_temp.accepts('{"fee_bps":0.5}', 'fee_bps may be fractional');
SELECT pg_temp.rejects('{"fee_bps":-0.01}', 'fee_bps', 'must be a number from 0 to 1000', 'fee_bps -0.01');
SELECT pg_temp.rejects('{"fee_bps":1000.01}', 'fee_bps', 'must be a number from 0 to 1000', 'fee_bps 1000.01');
SELECT pg_temp.rejects('{"fee_bps":"5"}', 'fee_bps', 'must be a number from 0 to 1000', 'fee_bps as a string');
SELECT pg_temp.rejects('{"fee_bps":1e400}', 'fee_bps', 'must be a number from 0 to 1000', 'fee_bps 1e400');
SELECT pg_temp.rejects('{"periods_per_year":0}', 'periods_per_year', 'must be an integer from 1 to 100000', 'periods_per_year 0');
SELECT pg_temp.rejects('{"objective":"profit"}', 'objective',
	'must be one of sharpe_ratio, sortino_ratio, total_return_pct, max_drawdown_pct, profit_factor, win_rate_pct', 'objective unknown');
SELECT pg_temp.accepts('{"webhook_url":"http://example.com"}', 'webhook_url http');
SELECT pg_temp.accepts('{"webhook_url":"HTTPS://Example.com/hook"}', 'webhook_url scheme is case-insensitive');
SELECT pg_temp.rejects('{"webhook_url":"ftp://example.com"}', 'webhook_url', 'must start with http:// or https://', 'webhook_url ftp');
SELECT pg_temp.rejects('{"webhook_url":"example.com"}', 'webhook_url', 'must start with http:// or https://', 'webhook_url without a scheme');
SELECT pg_temp.rejects('{"webhook_url":"https://"}', 'webhook_url', 'must start with http:// or https://', 'webhook_url of only a scheme');
SELECT pg_temp.rejects('{"webhook_url":"https:///path"}', 'webhook_url', 'must name a host', 'webhook_url without a host');
SELECT pg_temp.rejects('{"webhook_url":"http://a b.com"}', 'webhook_url', 'must not contain spaces or control characters', 'webhook_url with a space');
SELECT pg_temp.rejects('{"webhook_url":5}', 'webhook_url', 'must be an http or https URL of at most 2048 characters', 'webhook_url as a number');
SELECT pg_temp.rejects(jsonb_build_object('webhook_url', 'https://x.com/' || repeat('a', 2035)), 'webhook_url',
	'must be an http or https URL of at most 2048 characters', 'webhook_url of 2049 characters');

-- ---------------------------------------------------------------- unknown keys, non-objects, size
SELECT pg_temp.rejects('{"tickr":"AAPL"}', 'tickr', 'unknown parameter', 'an unknown key is rejected by name');
SELECT pg_temp.rejects(jsonb_build_object(repeat('k', 100), 1), repeat('k', 40) || '...', 'unknown parameter',
	'a long unknown key is shown truncated');
SELECT pg_temp.rejects('{"a\"b\\c\nd":1}', 'a?b?c?d', 'unknown parameter', 'quotes, backslashes and controls in a key are masked');
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', '[]')$$, '22023',
	'invalid trading-sweep parameter "parameters": must be a JSON object', 'an array is not parameters');
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', '5')$$, '22023',
	'invalid trading-sweep parameter "parameters": must be a JSON object', 'a number is not parameters');
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', '"AAPL"')$$, '22023',
	'invalid trading-sweep parameter "parameters": must be a JSON object', 'a string is not parameters');
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', 'null')$$, '22023',
	'invalid trading-sweep parameter "parameters": must be a JSON object', 'JSON null is not parameters');
SELECT throws_ok($$SELECT zixly_enqueue('trading-sweep', pg_temp.sweep(jsonb_build_object('ticker', repeat('x', 300000))))$$, '22023',
	'invalid trading-sweep parameter "parameters": must be at most 262144 bytes', 'parameters over 256 kB');
SELECT throws_ok($$SELECT zixly_validate('trading-sweep', NULL)$$, '22023', 'parameters must not be null', 'zixly_validate NULL');

-- ---------------------------------------------------------------- every problem is reported
SELECT is(pg_temp.error_of(pg_temp.sweep('{"step":0}'))::text, row('22023', 'step', 'step: must be an integer from 1 to 1000')::text,
	'sqlstate, COLUMN_NAME and detail name the field');
SELECT is((pg_temp.error_of('{"ticker":"","strategy_type":"X","fast_range":[1],"slow_range":[2,1],"step":"s","zz":1}')).detail,
	E'ticker: must be a string of 1 to 20 characters\nstrategy_type: must be one of SMA, EMA, MACD\n'
	'fast_range: must be an array of two integers [from, to]\nslow_range: from (2) must not be greater than to (1)\n'
	'step: must be an integer from 1 to 1000\nzz: unknown parameter',
	'the detail lists every problem, one per line, in field order');
SELECT is((pg_temp.error_of('{"ticker":"","zz":1}')).col, 'ticker', 'COLUMN_NAME is the first bad field');
SELECT is((SELECT count(*) FROM zixly.pipeline_jobs WHERE status <> 'QUEUED'), 0::bigint, 'only queued jobs were made');

SELECT * FROM finish();
ROLLBACK;
