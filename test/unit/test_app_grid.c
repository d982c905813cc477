/*
 * test_app_grid.c — the full grid behind GET /api/pipelines/{id}/results: the worker's grid
 * CSV converted to JSON (kore-app/src/grid.c) whole or in pieces split anywhere, with every
 * cell form the worker or PostgreSQL writes (17 digits, exponents, nan, inf, empty) and every
 * way a file can fail to be a grid; database rows written as grid lines; and the artifact
 * store (kore-app/src/artifact.c): file names from job ids, the checks made before a file is
 * served (size, header, regular file, no symbolic link), and the default directory.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "artifact.h"
#include "buf.h"
#include "grid.h"

#define HDR	ZX_GRID_HEADER "\n"

static const char two_rows[] = HDR
    "10,20,12.345678901234567,1.2345678901234567e-05,5,3,nan,-inf,inf,50,"
    "1.2345678901234567e-05,1\n"
    "10,25,-0.5,0,0,0,,,,0,-nan,0\n";

/* Converts text fed in pieces of n bytes; returns the JSON array text or NULL (error kept). */
static char *
convert(const char *text, size_t len, size_t piece, char *error, size_t errlen)
{
	struct zx_grid_conv	 c;
	struct zx_buf		 out;
	size_t			 off, n;
	int			 r = 0;

	zx_grid_conv_init(&c);
	zx_buf_init(&out, 256);
	zx_buf_puts(&out, "[");
	for (off = 0; off < len && r == 0; off += n) {
		n = len - off < piece ? len - off : piece;
		r = zx_grid_conv_feed(&c, text + off, n, &out);
	}
	if (r == 0)
		r = zx_grid_conv_finish(&c, &out);
	zx_buf_puts(&out, "]");
	if (error != NULL)
		(void)snprintf(error, errlen, "%s", c.error);
	zx_grid_conv_free(&c);
	if (r == -1) {
		zx_buf_free(&out);
		return (NULL);
	}
	return (out.data);
}

static void
test_convert(void **state)
{
	struct json_object	*a, *o, *v;
	char			*json;

	(void)state;
	json = convert(two_rows, sizeof(two_rows) - 1, 1 << 20, NULL, 0);
	assert_non_null(json);
	assert_string_equal(json, "[{\"fast\":10,\"slow\":20,"
	    "\"total_return_pct\":12.345678901234567,"
	    "\"sharpe_ratio\":1.2345678901234567e-05,\"max_drawdown_pct\":5,"
	    "\"total_trades\":3,\"sortino_ratio\":null,\"win_rate_pct\":null,"
	    "\"profit_factor\":null,\"exposure_pct\":50,"
	    "\"score\":1.2345678901234567e-05,\"rank\":1},"
	    "{\"fast\":10,\"slow\":25,\"total_return_pct\":-0.5,"
	    "\"sharpe_ratio\":0,\"max_drawdown_pct\":0,\"total_trades\":0,"
	    "\"sortino_ratio\":null,\"win_rate_pct\":null,\"profit_factor\":null,"
	    "\"exposure_pct\":0,\"score\":null,\"rank\":0}]");
	/* It is JSON, and the numbers are the CSV's. */
	a = json_tokener_parse(json);
	assert_non_null(a);
	assert_int_equal(json_object_array_length(a), 2);
	o = json_object_array_get_idx(a, 0);
	assert_true(json_object_object_get_ex(o, "total_return_pct", &v));
	assert_true(json_object_get_double(v) == strtod("12.345678901234567", NULL));
	json_object_put(a);
	free(json);
}

static void
test_pieces(void **state)
{
	char	*whole, *split;
	size_t	 piece;

	(void)state;
	/* Split at every possible place: the same JSON. */
	whole = convert(two_rows, sizeof(two_rows) - 1, 1 << 20, NULL, 0);
	for (piece = 1; piece < sizeof(two_rows); piece++) {
		split = convert(two_rows, sizeof(two_rows) - 1, piece, NULL, 0);
		if (split == NULL || strcmp(split, whole) != 0)
			fail_msg("pieces of %zu bytes give %s", piece, split);
		free(split);
	}
	free(whole);
}

static void
test_forms(void **state)
{
	const char	*t;
	char		*json;

	(void)state;
	/* No newline at the end, CRLF lines, PostgreSQL's NaN and Infinity. */
	t = HDR "1,2,3,4,5,6,7,8,9,10,11,12";
	json = convert(t, strlen(t), 7, NULL, 0);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"rank\":12}]"));
	free(json);
	t = ZX_GRID_HEADER "\r\n1,2,NaN,Infinity,-Infinity,+inf,0,0,0,0,0,1\r\n";
	json = convert(t, strlen(t), 3, NULL, 0);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"total_return_pct\":null,"
	    "\"sharpe_ratio\":null,\"max_drawdown_pct\":null,\"total_trades\":null"));
	free(json);
	/* A header alone is an empty grid. */
	json = convert(HDR, sizeof(HDR) - 1, 5, NULL, 0);
	assert_string_equal(json, "[]");
	free(json);
}

static void
assert_refused(const char *text, const char *why)
{
	char	 error[200], *json;
	size_t	 piece;

	for (piece = 1; piece <= strlen(text) + 1; piece += 13) {
		json = convert(text, strlen(text), piece, error, sizeof(error));
		if (json != NULL)
			fail_msg("accepted (pieces of %zu): %s", piece, text);
		if (strstr(error, why) == NULL)
			fail_msg("error \"%s\" lacks \"%s\" for %s", error, why, text);
	}
}

static void
test_refused(void **state)
{
	char	 long_line[2200];

	(void)state;
	assert_refused("", "empty");
	assert_refused("fast,slow\n1,2\n", "not the grid header");
	assert_refused(ZX_GRID_HEADER ",extra\n", "not the grid header");
	assert_refused("<html>\n", "not the grid header");
	assert_refused(HDR "1,2,3,4,5,6,7,8,9,10,11\n", "line 2 does not have 12 cells");
	assert_refused(HDR "1,2,3,4,5,6,7,8,9,10,11,12,13\n", "does not have 12 cells");
	assert_refused(HDR "1,2,3,4,5,6,7,8,9,10,11,12\n\n", "line 3 does not have");
	assert_refused(HDR "1,2,3,4,5,6,7,8,9,10,11,x\n", "line 2: rank is not a number");
	assert_refused(HDR "1,2,0x10,4,5,6,7,8,9,10,11,12\n", "total_return_pct");
	assert_refused(HDR "1,2,+1,4,5,6,7,8,9,10,11,12\n", "not a number");
	assert_refused(HDR "1,2, 3,4,5,6,7,8,9,10,11,12\n", "not a number");
	assert_refused(HDR "1,2,01,4,5,6,7,8,9,10,11,12\n", "not a number");
	assert_refused(HDR "1,2,1.,4,5,6,7,8,9,10,11,12\n", "not a number");
	assert_refused(HDR "1,2,1e,4,5,6,7,8,9,10,11,12\n", "not a number");
	assert_refused(HDR "1,2,\"3\",4,5,6,7,8,9,10,11,12\n", "not a number");
	assert_refused(HDR "1,2,nanx,4,5,6,7,8,9,10,11,12\n", "not a number");
	assert_refused(HDR "1,2,3,4,5,6,7,8,9,10,11,12}]},{\"x\":1\n", "12 cells");
	assert_refused(HDR "1,2,3,4,5,6,7,8,9,10,11,12}]}\n", "rank is not a number");
	memset(long_line, '1', sizeof(long_line) - 2);
	long_line[sizeof(long_line) - 2] = '\n';
	long_line[sizeof(long_line) - 1] = '\0';
	{
		char	*t;

		assert_true(asprintf(&t, HDR "%s", long_line) > 0);
		assert_refused(t, "longer than 1024 bytes");
		free(t);
	}
}

static void
test_csv_row(void **state)
{
	const char *const cells[ZX_GRID_COLUMNS] = { "5", "25", "9", "2.75",
	    "5.5", "1", NULL, NULL, NULL, NULL, "2.75", "1" };
	struct zx_buf	b;
	char		*json;

	(void)state;
	zx_buf_init(&b, 64);
	zx_buf_puts(&b, HDR);
	zx_grid_csv_row(&b, cells);
	assert_string_equal(b.data + sizeof(HDR) - 1, "5,25,9,2.75,5.5,1,,,,,2.75,1\n");
	/* And back: the database's rows take the same path as the file's. */
	json = convert(b.data, b.len, 4, NULL, 0);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"fast\":5,\"slow\":25,"));
	assert_non_null(strstr(json, "\"sortino_ratio\":null"));
	free(json);
	zx_buf_free(&b);
}

static void
test_artifact_path(void **state)
{
	char	out[64];

	(void)state;
	assert_int_equal(zx_artifact_path("/data/artifacts", "cm4x8y9z00", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/data/artifacts/cm4x8y9z00.csv");
	assert_int_equal(zx_artifact_path("/d", "", out, sizeof(out)), -1);
	assert_int_equal(zx_artifact_path("/d", "../etc/passwd", out, sizeof(out)), -1);
	assert_int_equal(zx_artifact_path("/d", "a/b", out, sizeof(out)), -1);
	assert_int_equal(zx_artifact_path("/d", "ABC", out, sizeof(out)), -1);
	assert_int_equal(zx_artifact_path("/d", "abc", out, 10), -1);	/* too long */
}

/* A scratch directory with a grid file g.csv of the given contents. */
static char	tmpdir[64];

static void
put_file(const char *name, const char *text)
{
	char	 path[128];
	FILE	*f;

	(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
open_art(const char *name, long long bytes, const char **why)
{
	char	path[128];

	(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	*why = NULL;
	return (zx_artifact_open(path, bytes, why));
}

static void
test_artifact_open(void **state)
{
	const char	*why;
	char		 buf[8], path[128], target[128];
	int		 fd;

	(void)state;
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/zixly-grid-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	put_file("g.csv", two_rows);

	fd = open_art("g.csv", (long long)sizeof(two_rows) - 1, &why);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, 5), 5);		/* at the start */
	assert_memory_equal(buf, "fast,", 5);
	close(fd);

	assert_int_equal(open_art("g.csv", (long long)sizeof(two_rows), &why), -1);
	assert_non_null(strstr(why, "size differs"));
	assert_int_equal(open_art("none.csv", 10, &why), -1);
	assert_non_null(strstr(why, "not in this app's artifact store"));
	put_file("bad.csv", "fast,slow,other\n1,2,3\n");
	assert_int_equal(open_art("bad.csv", 22, &why), -1);
	assert_non_null(strstr(why, "not in the worker's CSV format"));
	put_file("short.csv", "fast");
	assert_int_equal(open_art("short.csv", 4, &why), -1);
	assert_non_null(strstr(why, "CSV format"));
	/* A symbolic link to a good file is not followed. */
	(void)snprintf(path, sizeof(path), "%s/link.csv", tmpdir);
	(void)snprintf(target, sizeof(target), "%s/g.csv", tmpdir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(open_art("link.csv", (long long)sizeof(two_rows) - 1, &why), -1);
	assert_non_null(strstr(why, "symbolic link"));
	/* A directory is not a grid. */
	(void)snprintf(path, sizeof(path), "%s/dir.csv", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(open_art("dir.csv", 4096, &why), -1);
	assert_non_null(strstr(why, "not a regular file"));
	/* No paths in what clients may see. */
	assert_null(strstr(why, tmpdir));

	(void)rmdir(path);
	(void)snprintf(path, sizeof(path), "%s/link.csv", tmpdir);
	(void)unlink(path);
	(void)unlink(target);
	(void)snprintf(path, sizeof(path), "%s/bad.csv", tmpdir);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/short.csv", tmpdir);
	(void)unlink(path);
	assert_int_equal(rmdir(tmpdir), 0);
}

static void
test_default_dir(void **state)
{
	static const struct {
		const char	*module;
		const char	*want;
	} cases[] = {
		{ "/work/main/build/kore-app/zixly.so", "/work/main/data/artifacts" },
		{ "/work/main/build/kore-app-asan/zixly.so", "/work/main/data/artifacts" },
		{ "/opt/zixly/build/kore-app/zixly.so", "/opt/zixly/data/artifacts" },
		{ "/build/kore-app/zixly.so", "/data/artifacts" },
		{ "/usr/lib/zixly/zixly.so", NULL },
		{ "/x/rebuild/kore-app/zixly.so", NULL },
		{ "/x/build/zixly.so", NULL },
		{ "build/kore-app/zixly.so", NULL },
		{ "zixly.so", NULL },
	};
	char	*d;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = zx_artifact_default_dir(cases[i].module);
		if ((d == NULL) != (cases[i].want == NULL) ||
		    (d != NULL && strcmp(d, cases[i].want) != 0))
			fail_msg("%s: got %s, want %s", cases[i].module,
			    d ? d : "NULL", cases[i].want ? cases[i].want : "NULL");
		free(d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_csv_row),
		cmocka_unit_test(test_artifact_path),
		cmocka_unit_test(test_artifact_open),
		cmocka_unit_test(test_default_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
