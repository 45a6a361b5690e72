#!/bin/sh
# Restore a dump made by backup.sh into a fresh, empty PostgreSQL database, then check that
# this version of Vestibule finds its schema complete there. See docs/deploy.md, "Backups".
#
#   deploy/restore.sh DUMP_FILE TARGET_DATABASE_URL
#
# The target database must exist and be empty (createdb -O vestibule vestibule_restored):
# a restore never writes over a database that holds anything. Objects are owned by the
# target URL's user, whoever owned them in the dumped database.
# VESTIBULE     the vestibule command (default: vestibule on PATH); it runs with
#               DATABASE_URL set to the target and the rest of its environment as is.
#
# Exit status: 0 restored and up to date; 3 restored, but the dump predates this version
# (run `vestibule migrate` against it before serving); anything else: nothing usable.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: restore.sh DUMP_FILE TARGET_DATABASE_URL" >&2
    exit 2
fi
dump=$1
target=$2
vestibule=${VESTIBULE:-vestibule}

pg_restore --list "$dump" >/dev/null

objects=$(psql --no-psqlrc --tuples-only --no-align --dbname="$target" --command="
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'")
if [ "$objects" != 0 ]; then
    echo "restore.sh: the target database is not empty ($objects objects): give a fresh one" >&2
    exit 2
fi

# One transaction: a restore that fails half-way leaves the target empty, not half-filled.
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
    --dbname="$target" "$dump"

accounts=$(psql --no-psqlrc --tuples-only --no-align --dbname="$target" \
    --command="SELECT count(*) FROM accounts_account")
echo "restore.sh: restored $dump ($accounts accounts)"

# `migrate --check` exits 1 both for "migrations to apply" and for a crash (an unreachable
# database, a broken setting): read the migrations once first, so that a crash fails here
# with its own message and status, and 1 below can only mean a dump of an older version.
DATABASE_URL=$target "$vestibule" showmigrations >/dev/null
status=0
DATABASE_URL=$target "$vestibule" migrate --check || status=$?
case $status in
    0) echo "restore.sh: every migration of this version is applied" ;;
    1)
        echo "restore.sh: the dump predates this version of Vestibule: run" \
            "'vestibule migrate' against the restored database before serving it" >&2
        exit 3
        ;;
    *)
        echo "restore.sh: '$vestibule migrate --check' failed (status $status)" >&2
        exit "$status"
        ;;
esac
