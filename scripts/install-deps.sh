#!/usr/bin/env bash
# Installs the Debian packages zixly needs to build, test and benchmark, when missing.
# As root it runs apt-get; otherwise it prints the apt-get line to run and fails.
set -eu
PKGS="gcc make pkg-config postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
libtap-parser-sourcehandler-pgtap-perl libpq-dev libcurl4-openssl-dev libjson-c-dev libssl-dev
kore libmicrohttpd-dev libcmocka-dev wrk redis-server prometheus chromium curl jq python3-yaml"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# node and npm (browser tests, chart library) may come from Debian or from NodeSource's nodejs,
# which bundles npm and conflicts with Debian's npm package: accept either.
command -v node >/dev/null && command -v npm >/dev/null || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "zixly needs these Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "install-deps: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The Debian postgresql package may create and start a default cluster; zixly never uses it.
