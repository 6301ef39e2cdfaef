#!/usr/bin/env bash
# pg-test.sh - a throwaway PostgreSQL 15 for tests.
#
#   scripts/pg-test.sh start DIR [PORT]   initdb into DIR, start on 127.0.0.1:PORT (default 25432)
#                                         and a unix socket in DIR, print the URL
#   scripts/pg-test.sh url DIR            print the URL of the server in DIR
#   scripts/pg-test.sh restart DIR        pg_ctl restart (fast shutdown: clients are cut off)
#   scripts/pg-test.sh stop DIR           stop the server and remove DIR
#
# The server runs as an unprivileged user: as root, the system user strata-pg (created when
# missing) owns DIR. fsync is off: the data is thrown away anyway. Needs Debian's
# postgresql package (binaries in /usr/lib/postgresql/15/bin).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGUSER_OS=strata-pg

die() { echo "pg-test.sh: $*" >&2; exit 1; }

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$PGUSER_OS" -- "$@"
    else
        "$@"
    fi
}

ensure_user() {
    [ "$(id -u)" = 0 ] || return 0
    id "$PGUSER_OS" >/dev/null 2>&1 ||
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PGUSER_OS" ||
        die "cannot create the system user $PGUSER_OS"
}

url_of() { echo "postgres://strata@127.0.0.1:$(cat "$1/port")/strata"; }

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pg-test.sh start|url|restart|stop DIR [PORT]"
case "$cmd" in
start)
    port=${3:-25432}
    [ -x "$PGBIN/initdb" ] || die "no $PGBIN/initdb: apt-get install postgresql (scripts/install-deps.sh test)"
    ensure_user
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown "$PGUSER_OS" "$dir"
    chmod 700 "$dir"
    echo "$port" > "$dir/port"
    as_pg "$PGBIN/initdb" -D "$dir/data" -U strata --auth=trust -E UTF8 --no-locale -N >"$dir/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -5 "$dir/initdb.log")"
    opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off"
    opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 30 start >/dev/null ||
        die "the server did not start: $(tail -5 "$dir/server.log" 2>/dev/null)"
    as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U strata strata || die "createdb failed"
    url_of "$dir"
    ;;
url)
    url_of "$dir"
    ;;
restart)
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 30 restart >/dev/null ||
        die "restart failed: $(tail -5 "$dir/server.log" 2>/dev/null)"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    die "unknown command $cmd"
    ;;
esac
