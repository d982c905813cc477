/*
 * test_prices_csv.c — the zixly-sweep CSV loader: column order, extra columns, quoting, CRLF
 * and BOM, sorting by date, and every rejection with its one-line reason.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ref.h"
#include "../../worker/src/prices_csv.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/zx-prices-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to a file in the test directory; returns its path (static buffer). */
static const char *
file_with(const char *text)
{
	static char path[128];
	static int k;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/f%d.csv", dir, k++);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_columns_quotes_sorting(void **state)
{
	struct zx_prices px;
	char err[256];
	const char *f = file_with(
	    "\xEF\xBB\xBF" "volume,Close,\"date\",ticker\r\n"
	    "10,101.5,2024-01-03,AAA\r\n"
	    "11,\"99.25\",2024-01-01,AAA\r\n"
	    "12,7,2024-01-02,BBB\r\n"
	    "\r\n"
	    "13, 100 ,2024-01-02,\"AAA\"\r\n");

	(void)state;
	if (zx_prices_load_csv(f, "AAA", &px, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(px.n, 3);
	assert_true(px.close[0] == 99.25 && px.close[1] == 100 && px.close[2] == 101.5);
	assert_string_equal(px.date[0], "2024-01-01");
	assert_string_equal(px.date[2], "2024-01-03");
	zx_prices_free(&px);
	assert_int_equal(zx_prices_load_csv(f, "BBB", &px, err, sizeof(err)), 0);
	assert_int_equal(px.n, 1);
	zx_prices_free(&px);
}

static void expect_error(const char *text, const char *ticker, const char *needle);

static void
test_times(void **state)
{
	struct zx_prices px;
	char err[256];
	const char *f = file_with("ticker,ts,close\nX,2024-02-29 10:00:00,2\n"
	    "X,2024-02-29T09:30,1\nX,2024-02-29,0.5\n"
	    "X,2024-02-29 10:00:00.5,3\nX,2024-02-29 13:00:01+03,4\n"
	    "X,2024-02-29T06:00:02-04:00,5\nX,2024-02-29T10:00:03Z,6\n");

	(void)state;
	if (zx_prices_load_csv(f, "X", &px, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(px.n, 7);
	for (int i = 0; i < 7; i++)	/* in time order, zones applied */
		assert_true(px.close[i] == (i == 0 ? 0.5 : i));
	assert_string_equal(px.date[4], "2024-02-29 13:00:01+03");
	zx_prices_free(&px);
	/* The same instant in two zones is a duplicate. */
	expect_error("ticker,ts,close\nX,2024-01-01 12:00:00+02,1\nX,2024-01-01T10:00:00Z,2\n",
	    "X", "duplicate date");
}

static void
expect_error(const char *text, const char *ticker, const char *needle)
{
	struct zx_prices px;
	char err[256] = "";
	const char *f = file_with(text);

	if (zx_prices_load_csv(f, ticker, &px, err, sizeof(err)) != -1)
		fail_msg("accepted; wanted an error about '%s'", needle);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, needle);
	assert_null(strchr(err, '\n'));		/* one line */
	assert_null(px.close);
}

static void
test_rejections(void **state)
{
	struct zx_prices px;
	char err[256];

	(void)state;
	assert_int_equal(zx_prices_load_csv("/nonexistent/p.csv", "X", &px, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open /nonexistent/p.csv"));
	expect_error("", "X", "empty file");
	expect_error("ticker,date\nX,2024-01-01\n", "X", "no 'close' column");
	expect_error("date,close\n2024-01-01,1\n", "X", "no 'ticker' column");
	expect_error("ticker,date,close\nX,2024-01-01,1\n", "Y", "no rows for ticker 'Y'");
	expect_error("ticker,date,close\nX,2024-01-01,1\nX,2024-01-02\n", "X",
	    ":3: expected 3 fields, got 2");
	expect_error("ticker,date,close\nY,2024-01-01,1,9\n", "X", "expected 3 fields, got 4");
	expect_error("ticker,date,close\nX,2024-01-01,abc\n", "X", "close 'abc' is not a number");
	expect_error("ticker,date,close\nX,2024-01-01,1.5x\n", "X", "not a number");
	expect_error("ticker,date,close\nX,2024-01-01,\n", "X", "not a number");
	expect_error("ticker,date,close\nX,2024-01-01,nan\n", "X", "not a number");
	expect_error("ticker,date,close\nX,2024-01-01,inf\n", "X", "not a number");
	expect_error("ticker,date,close\nX,2024-01-01,1e999\n", "X", "not a number");
	expect_error("ticker,date,close\nX,2024-01-01,0x1p3\n", "X", "close '0x1p3' is not a number");
	expect_error("ticker,date,close\nX,2024-01-01,0\n", "X", "not positive");
	expect_error("ticker,date,close\nX,2024-01-01,-2\n", "X", "not positive");
	expect_error("ticker,date,close\nX,2024-02-30,1\n", "X", "bad date '2024-02-30'");
	expect_error("ticker,date,close\nX,2023-02-29,1\n", "X", "bad date");
	expect_error("ticker,date,close\nX,01/02/2024,1\n", "X", "bad date");
	expect_error("ticker,date,close\nX,2024-01-01 25:00,1\n", "X", "bad date");
	expect_error("ticker,date,close\nX,2024-1-01,1\n", "X", "bad date");
	expect_error("ticker,date,close\nX,2024-01-01x,1\n", "X", "bad date");
	expect_error("ticker,date,close\nX,2024-01-01 10:00+25,1\n", "X", "bad date");
	expect_error("ticker,date,close\nX,2024-01-01 10:00:00.,1\n", "X", "bad date");
	expect_error("ticker,date,close\nX,2024-01-02,1\nX,2024-01-01,2\nX,2024-01-02,3\n", "X",
	    "duplicate date 2024-01-02 for ticker 'X' (lines 2 and 4)");
	expect_error("ticker,date,close\n\"X,2024-01-01,1\n", "X", "malformed CSV");
	/* Another ticker's bad values do not matter; its row shape does. */
	struct zx_prices ok;

	assert_int_equal(zx_prices_load_csv(file_with("ticker,date,close\nY,bad,bad\n"
	    "X,2024-01-01,1\n"), "X", &ok, err, sizeof(err)), 0);
	zx_prices_free(&ok);
}

/* The sample data: four tickers of 1,860 bars. */
static void
test_sample_data(void **state)
{
	const char *tickers[] = { "DAX", "SMI", "CAC", "FTSE" };
	struct zx_prices px;
	char err[256];

	(void)state;
	for (int i = 0; i < 4; i++) {
		if (zx_prices_load_csv(ZX_ROOT "/data/eustockmarkets.csv", tickers[i], &px, err,
		    sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_int_equal(px.n, 1860);
		assert_string_equal(px.date[0], "1991-07-01");
		zx_prices_free(&px);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns_quotes_sorting),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_sample_data),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
