#!/usr/bin/env bash
# ext_search_path.t — CREATE EXTENSION in a schema a less trusted role controls (TAP).
#
# PostgreSQL 15 lets a database's owner create objects in its public schema.  An expression the
# extension's script writes without naming pg_catalog's operator binds, at CREATE EXTENSION
# time, to an exact-match operator found there first: 0.1.0's CHECK (close > 0) on prices
# (float8 > integer, which pg_catalog lacks) ran the owner's function as every role inserting
# prices, and a superuser loading prices made the owner a superuser.  Here the owner plants such
# an operator before a superuser creates the extension (0.1.1, and 0.1.0 then updated); a price
# insert by the superuser must leave the owner as it was, and the constraint must not depend on
# anything of the owner's.
. "$(dirname "$0")/../lib/harness.sh"

zx_cluster_start
psql -qX -c "CREATE ROLE mallory LOGIN" >/dev/null || bail "cannot create role mallory"

# hostile DB [VERSION]: a database owned by mallory, her operator planted, then the extension
hostile() {
	psql -qX -c "CREATE DATABASE $1 OWNER mallory" >/dev/null || bail "cannot create database $1"
	psql -qX -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<'SQL' || bail "cannot plant the operator"
SET ROLE mallory;
CREATE FUNCTION public.evil_gt(float8, integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		EXECUTE 'ALTER ROLE mallory SUPERUSER';
	END IF;
	RETURN $1 OPERATOR(pg_catalog.>) $2::float8;
END $$;
CREATE OPERATOR public.> (leftarg = float8, rightarg = integer, function = public.evil_gt);
SQL
	psql -qX -v ON_ERROR_STOP=1 -d "$1" -c "CREATE EXTENSION zixly${2:+ VERSION '$2'}" >/dev/null ||
		bail "CREATE EXTENSION in $1 failed"
}
# bound DB: how many of the prices CHECK's dependencies are mallory's function or operator
bound() {
	psql -qXAt -d "$1" -c "SELECT count(*) FROM pg_depend d JOIN pg_constraint c ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid
		WHERE c.conname = 'prices_close_check'
		  AND ((d.refclassid = 'pg_proc'::regclass AND d.refobjid = 'public.evil_gt(float8, integer)'::regprocedure)
		    OR (d.refclassid = 'pg_operator'::regclass AND d.refobjid = 'public.>(float8, integer)'::regoperator))"
}
superuser() { psql -qXAt -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'"; }
insert_price() { psql -qX -v ON_ERROR_STOP=1 -d "$1" -c "INSERT INTO zixly.prices (ticker, ts, close) VALUES ('DAX', now(), 100)" >/dev/null; }

hostile fresh
is "$(bound fresh)" 0 "a fresh CREATE EXTENSION: the prices CHECK uses none of the owner's operators"
insert_price fresh
ok $? "a superuser inserts a price"
is "$(superuser)" f "... and the database owner is still not a superuser"
like "$(psql -qX -d fresh -c "INSERT INTO zixly.prices (ticker, ts, close) VALUES ('DAX', now() - interval '1 day', 0)" 2>&1)" \
	'violates check constraint "prices_close_check"' "the CHECK still refuses a close of 0"

hostile old 0.1.0
is "$(bound old)" 1 "0.1.0's CHECK bound to the owner's operator (the defect this guards against)"
psql -qX -d old -c "ALTER EXTENSION zixly UPDATE" >/dev/null
ok $? "ALTER EXTENSION zixly UPDATE in that database"
is "$(bound old)" 0 "... after which the CHECK uses none of the owner's operators"
insert_price old
ok $? "a superuser inserts a price there"
is "$(superuser)" f "... and the database owner is still not a superuser"

done_testing
