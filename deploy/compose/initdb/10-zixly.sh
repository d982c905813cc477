#!/bin/sh
# First start of the zixly PostgreSQL image (docker-entrypoint-initdb.d; runs once, on an empty
# data directory): the zixly extension in $POSTGRES_DB, the login roles of deploy/sql/roles.sql
# with passwords from the environment, and the sample prices unless ZIXLY_LOAD_SAMPLE_PRICES=0.
set -eu
share=${ZIXLY_SHARE:-/usr/share/zixly}
db=${POSTGRES_DB:-zixly}
run_psql() { psql -v ON_ERROR_STOP=1 -X -q --username "${POSTGRES_USER:-postgres}" --dbname "$db" "$@"; }

run_psql -c 'CREATE EXTENSION IF NOT EXISTS zixly'
set --
[ -z "${ZIXLY_WEB_DB_PASSWORD:-}" ] || set -- "$@" -v web_password="$ZIXLY_WEB_DB_PASSWORD"
[ -z "${ZIXLY_RUNNER_DB_PASSWORD:-}" ] || set -- "$@" -v runner_password="$ZIXLY_RUNNER_DB_PASSWORD"
[ -z "${ZIXLY_MONITOR_DB_PASSWORD:-}" ] || set -- "$@" -v monitor_password="$ZIXLY_MONITOR_DB_PASSWORD"
run_psql "$@" -f "$share/roles.sql"
if [ "${ZIXLY_LOAD_SAMPLE_PRICES:-1}" != 0 ]; then
	run_psql -v csv="$share/eustockmarkets.csv" -f "$share/load_prices.sql" >/dev/null
fi
echo "zixly: extension $(run_psql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'zixly'") ready in database $db"
