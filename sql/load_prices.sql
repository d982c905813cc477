-- Load a prices CSV into zixly.prices (upsert by ticker and date).
--   psql -v csv=data/eustockmarkets.csv -f sql/load_prices.sql
-- The CSV has a header with at least ticker,date,close; optional open,high,low,volume.
-- Rows are loaded through a staging table so that a bad row aborts the whole load
-- with psql's line number, and existing bars for the same (ticker, date) are replaced.
\set ON_ERROR_STOP 1
BEGIN;
CREATE TEMP TABLE zixly_prices_staging (ticker text, date date, close double precision) ON COMMIT DROP;
\set copy_cmd '\\copy zixly_prices_staging (ticker, date, close) FROM ' :'csv' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd
INSERT INTO zixly.prices (ticker, ts, close)
SELECT ticker, date::timestamptz, close FROM zixly_prices_staging
ON CONFLICT (ticker, ts) DO UPDATE SET close = EXCLUDED.close;
COMMIT;
SELECT ticker, count(*) AS bars, min(ts)::date AS first, max(ts)::date AS last
  FROM zixly.prices GROUP BY ticker ORDER BY ticker;
