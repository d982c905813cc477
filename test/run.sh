#!/usr/bin/env bash
# Runs every suite through TAP and exits non-zero if any fails:
#   test/pgtap/*.sql        pg_prove against a throwaway cluster with zixly and pgTAP
#   build/test/unit/*       C unit tests (cmocka, TAP), plain and sanitizer builds
#   test/integration/*.t    real clusters, workers, app and HTTP (bash, TAP)
#   test/browser            Chromium through Playwright (node's test runner)
# ZX_SUITES="pgtap unit integration browser" picks suites; ZX_ONLY=name.t one integration file.
set -u
cd "$(dirname "$0")/.."
. test/lib/harness.sh
mkdir -p "$ZX_TEST_OUT"
suites=${ZX_SUITES:-pgtap unit integration browser}
failed=()

run_suite() {
	local name=$1; shift
	echo "=== $name"
	if "$@"; then echo "=== $name: ok"; else echo "=== $name: FAILED"; failed+=("$name"); fi
}

pgtap_suite() {
	zx_cluster_start
	zx_db_create zixly_pgtap
	zx_sql "CREATE EXTENSION pgtap" >/dev/null
	pg_prove --failures -d zixly_pgtap test/pgtap/*.sql
	local rc=$?
	zx_cluster_stop
	return $rc
}

unit_suite() {
	local bins=()
	shopt -s nullglob
	bins=(build/test/unit/test_* build/asan/test/unit/test_*)
	shopt -u nullglob
	[ "${#bins[@]}" -gt 0 ] || { echo "no unit test binaries built"; return 1; }
	CMOCKA_MESSAGE_OUTPUT=TAP prove --failures -e '' "${bins[@]}"
}

integration_suite() {
	local files
	if [ -n "${ZX_ONLY:-}" ]; then files=(test/integration/$ZX_ONLY); else files=(test/integration/*.t); fi
	prove --failures -e bash "${files[@]}"
}

# Fails, never skips, when package.json or node_modules is missing (test/browser/run.sh says why).
browser_suite() {
	test/browser/run.sh
}

for s in $suites; do
	case $s in
		pgtap) run_suite "pgTAP (extension)" pgtap_suite ;;
		unit) run_suite "unit (C, cmocka)" unit_suite ;;
		integration) run_suite "integration (real servers)" integration_suite ;;
		browser) run_suite "browser (Chromium)" browser_suite ;;
		*) echo "unknown suite $s"; failed+=("$s") ;;
	esac
done

if [ "${#failed[@]}" -gt 0 ]; then
	echo "FAILED suites: ${failed[*]}"
	exit 1
fi
echo "all suites passed"
