#!/bin/sh
# Back up Vestibule's PostgreSQL database: one dated pg_dump file (custom format) per run,
# then remove this script's dumps older than the retention. See docs/deploy.md, "Backups".
#
#   DATABASE_URL=postgres://user@host:5432/vestibule deploy/backup.sh [DIRECTORY]
#
# DATABASE_URL  the database, as the nodes have it (postgres:// or postgresql://); keep the
#               password in ~/.pgpass (or PGPASSFILE) rather than in the URL on shared hosts:
#               a URL's password shows in the process list while pg_dump runs
# DIRECTORY     where dumps go (default: $BACKUP_DIR, else ./backups)
# BACKUP_RETENTION_DAYS  dumps older than this many days are deleted (default 14)
#
# Prints the new file's path. Exits non-zero, deleting nothing, if the dump fails.
set -eu

: "${DATABASE_URL:?DATABASE_URL must name the database to back up (postgres://…)}"
directory=${1:-${BACKUP_DIR:-backups}}
days=${BACKUP_RETENTION_DAYS:-14}
case $days in
    '' | *[!0-9]*)
        echo "backup.sh: BACKUP_RETENTION_DAYS must be a whole number of days" >&2
        exit 2
        ;;
esac

# The dump holds password hashes and members' addresses: readable by this user only.
umask 077
mkdir -p "$directory"
file="$directory/vestibule-$(date -u +%Y%m%dT%H%M%SZ).dump"
partial="$file.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --file="$partial" --dbname="$DATABASE_URL"
# A dump pg_restore cannot read is no backup: checked before it takes a dated name.
pg_restore --list "$partial" >/dev/null
mv "$partial" "$file"
trap - EXIT

# Retention runs only after a good dump, and touches only this script's files.
find "$directory" -maxdepth 1 -type f -name 'vestibule-*.dump' -mmin +$((days * 1440)) -delete
echo "$file"
