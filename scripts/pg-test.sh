#!/usr/bin/env bash
# pg-test.sh - a throwaway PostgreSQL 15 for tests.
#
#   scripts/pg-test.sh start DIR [PORT]   initdb into DIR, start on 127.0.0.1:PORT (default 25432)
#                                         and a unix socket in DIR, print the URL
#   scripts/pg-test.sh url DIR            print the URL of the server in DIR
#   scripts/pg-test.sh restart DIR        pg_ctl restart (fast shutdown: clients are cut off)
#   scripts/pg-test.sh stop DIR           stop the server and remove DIR
#   scripts/pg-test.sh start-replica PRIMARY_DIR DIR [PORT]
#                                         a streaming replica of the server in PRIMARY_DIR:
#                                         pg_basebackup -R into DIR, start on PORT (default the
#                                         primary's + 1), wait until it streams, print its URL
#                                         (stop it with `stop DIR`)
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
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pg-test.sh start|url|restart|stop DIR [PORT] | start-replica PRIMARY_DIR DIR [PORT]"
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
start-replica)
    # initdb --auth=trust already lets 127.0.0.1 replicate, and wal_level is replica by default
    primary=$(cd "$dir" && pwd)
    rdir=${3:-}
    [ -n "$rdir" ] || die "usage: pg-test.sh start-replica PRIMARY_DIR DIR [PORT]"
    pport=$(cat "$primary/port")
    port=${4:-$((pport + 1))}
    mkdir -p "$rdir"
    rdir=$(cd "$rdir" && pwd)
    [ "$(id -u)" = 0 ] && chown "$PGUSER_OS" "$rdir"
    chmod 700 "$rdir"
    echo "$port" > "$rdir/port"
    as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U strata -D "$rdir/data" -R -X stream -c fast \
        >"$rdir/basebackup.log" 2>&1 || die "pg_basebackup failed: $(tail -5 "$rdir/basebackup.log")"
    opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$rdir -c fsync=off"
    opts+=" -c max_connections=200 -c hot_standby=on"
    as_pg "$PGBIN/pg_ctl" -D "$rdir/data" -l "$rdir/server.log" -o "$opts" -w -t 30 start >/dev/null ||
        die "the replica did not start: $(tail -5 "$rdir/server.log" 2>/dev/null)"
    for _ in $(seq 100); do
        st=$(as_pg "$PGBIN/psql" -X -A -t -h 127.0.0.1 -p "$port" -U strata -d strata \
            -c "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" 2>/dev/null)
        [ "$st" = t ] && break
        sleep 0.1
    done
    [ "$st" = t ] || die "the replica does not stream: $(tail -5 "$rdir/server.log" 2>/dev/null)"
    url_of "$rdir"
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
