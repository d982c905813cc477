#!/usr/bin/env bash
# The browser suite: Debian's chromium driven by playwright-core (never a browser download)
# through node's test runner, against real servers started here with test/lib/harness.sh:
#   - a throwaway cluster with zixly and the sample prices (data/eustockmarkets.csv);
#   - two dashboard users of different tenants, and a job of the second one;
#   - the sanitizer build bin/asan/zixly-app (ZIXLY_APP_BIN=bin/zixly-app for the plain one),
#     on 127.0.0.1;
#   - bin/zixly-worker, started paused: the test sends it SIGUSR1 once it has seen a job
#     QUEUED on the list, so the QUEUED -> COMPLETED change is watched, not raced.
# Screenshots go to test/output/browser/. Fails (never skips) without node_modules.
set -u
cd "$(dirname "$0")/../.." || exit 1
. test/lib/harness.sh
. kore-app/test/app_helpers.sh
APP_BIN=${ZIXLY_APP_BIN:-$ZX_ROOT/bin/asan/zixly-app}

CHROMIUM=${ZX_CHROMIUM:-/usr/bin/chromium}
[ -f package.json ] && [ -f package-lock.json ] ||
	{ echo "browser suite: package.json or package-lock.json is missing at $ZX_ROOT"; exit 1; }
[ -f node_modules/playwright-core/package.json ] && [ -f node_modules/uplot/package.json ] ||
	{ echo "browser suite: node_modules is missing; run: npm ci (in $ZX_ROOT)"; exit 1; }
[ -x "$CHROMIUM" ] || { echo "browser suite: $CHROMIUM is missing (apt-get install chromium)"; exit 1; }
command -v node >/dev/null || { echo "browser suite: node is missing"; exit 1; }
[ -x "$ZX_BIN/zixly-worker" ] || { echo "browser suite: $ZX_BIN/zixly-worker is not built (make)"; exit 1; }

OUT=$ZX_TEST_OUT/browser
rm -rf "$OUT"
mkdir -p "$OUT"

zx_cluster_start
app_db zixly_browser
zx_load_prices
zx_sql "SELECT zixly_create_user('acme', 'ann@acme.test', 'ann-password-1')" >/dev/null
zx_sql "SELECT zixly_create_user('globex', 'gus@globex.test', 'gus-password-1')" >/dev/null
OTHER_JOB=$(zx_sql "SELECT id FROM zixly_enqueue('trading-sweep',
	'{\"ticker\":\"SMI\",\"strategy_type\":\"EMA\",\"fast_range\":[5,10],\"slow_range\":[20,30],\"step\":5}',
	tenant_id => 'globex')")

# The worker writes each job's full grid where the app reads it.
ARTIFACTS=$ZX_CLUSTER/artifacts
mkdir -p "$ARTIFACTS"
app_start ZIXLY_APP_WORKERS=1 ZIXLY_ARTIFACT_DIR="$ARTIFACTS"
zx_spawn "$OUT/worker.log" env ZIXLY_PAUSED=true ZIXLY_METRICS_PORT=0 ZIXLY_THREADS=1 \
	ZIXLY_ARTIFACT_DIR="$ARTIFACTS" ZIXLY_WORKER_ID=browser-worker "$ZX_BIN/zixly-worker"
WORKER_PID=$ZX_LAST_PID
zx_wait_for "the worker" 30 grep -q "event=ready" "$OUT/worker.log" ||
	{ cat "$OUT/worker.log" >&2; exit 1; }

ZX_APP_URL=$APP_URL ZX_ARTIFACTS=$ARTIFACTS ZX_WORKER_PID=$WORKER_PID ZX_OTHER_JOB=$OTHER_JOB ZX_CHROMIUM=$CHROMIUM ZX_JWT_SECRET=$APP_SECRET \
	ZX_SHOTS=$OUT PGDATABASE=zixly_browser \
	node --test --test-reporter=spec --test-concurrency=1 test/browser/
rc=$?
cp "$APP_LOG" "$OUT/app.log"
if ! app_log_clean; then
	echo "browser suite: the app's log shows a sanitizer report, a sandbox violation or a dead worker:"
	grep -E 'AddressSanitizer|runtime error:|sandbox violation|seccomp violation|exited with status|worker .* gone' "$APP_LOG" | head -20
	rc=1
fi
exit $rc
