#!/bin/bash
# persist.sh - persistence of `strata kv` end to end: AOF with each fsync policy, snapshots
# (SAVE, BGSAVE, LASTSAVE), background rewrite under write load, recovery from a truncated
# AOF, refusal of a corrupted snapshot or an AOF with garbage, a corrupted length or a command
# that fails on replay, CONFIG SET appendonly yes, MISCONF after a failed BGSAVE.
#
# Every check runs against redis-server too (when installed) with the same command line:
# the restart semantics are the same even though the files differ (Redis 7 keeps its AOF
# in appendonlydir/ and its snapshot in RDB), which proves the test itself.
#
# Environment: STRATA (the binary; without it only redis-server is tested), SRCROOT,
# KV_TARGETS (default "strata redis"), KV_PORT (first of 2 ports, default 21410).
set -u
SRCROOT=${SRCROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCROOT/tests/lib/tap.sh"
if ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "1..0 # SKIP redis-cli/redis-benchmark not installed (scripts/install-deps.sh test)"
    exit 0
fi

BASE_PORT=${KV_PORT:-21410}
TMP=$(mktemp -d /tmp/kv-persist.XXXXXX)
SRV_PID=
trap 'stop_server kill; [ -n "${KV_KEEP:-}" ] || rm -rf "$TMP"' EXIT

# ---- server control ----------------------------------------------------------------------

# start_server TARGET PORT DIR ARGS... : start in the background, wait until it answers.
start_server() {
    local target=$1 port=$2 dir=$3
    shift 3
    mkdir -p "$dir"
    if [ "$target" = strata ]; then
        "$STRATA" kv --port "$port" --bind 127.0.0.1 --dir "$dir" "$@" >>"$dir/log" 2>&1 &
    else
        redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize no "$@" >>"$dir/log" 2>&1 &
    fi
    SRV_PID=$!
    SRV_PORT=$port
    for _ in $(seq 300); do
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
            # Redis answers -LOADING while it loads: wait for the real thing.
            return 0
        fi
        kill -0 "$SRV_PID" 2>/dev/null || { wait "$SRV_PID" 2>/dev/null; SRV_PID=; return 1; }
        sleep 0.1
    done
    return 1
}

# stop_server [kill|term] : kill -9 (a crash) or SIGTERM (a clean stop; status must be 0).
stop_server() {
    [ -n "$SRV_PID" ] || return 0
    local pid=$SRV_PID st=0
    SRV_PID=
    if [ "${1:-term}" = kill ]; then
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" || st=$?
    return $st
}

# start_fail TARGET PORT DIR ARGS... : the server must refuse to start (exit non-zero).
start_fail() {
    local target=$1 port=$2 dir=$3 st=0
    shift 3
    if [ "$target" = strata ]; then
        timeout 30 "$STRATA" kv --port "$port" --bind 127.0.0.1 --dir "$dir" "$@" >>"$dir/log" 2>&1 || st=$?
    else
        timeout 30 redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize no "$@" >>"$dir/log" 2>&1 || st=$?
    fi
    [ "$st" -ne 0 ] && [ "$st" -ne 124 ]
}

# okc NAME COMMAND... : like tap.sh's ok, but runs COMMAND in this shell (not a $(...)
# subshell), so start_server/stop_server can keep the server's pid.
okc() {
    local name=$1
    shift
    if "$@" >"$TMP/out" 2>&1; then tap_result 1 "$name"; else tap_result 0 "$name" "$(cat "$TMP/out")"; fi
}

cli() { redis-cli -p "$SRV_PORT" "$@"; }

info_field() { cli info persistence | tr -d '\r' | sed -n "s/^$1://p"; }

# wait_field NAME VALUE : poll INFO persistence (up to 30 s).
wait_field() {
    for _ in $(seq 300); do
        [ "$(info_field "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    echo "INFO $1 is $(info_field "$1"), wanted $2"
    return 1
}

# The AOF file that takes appends (Redis 7: the last incr file of appendonlydir/).
aof_file() {
    if [ "$1" = strata ]; then
        echo "$2/appendonly.aof"
    else
        ls "$2"/appendonlydir/*.incr.aof | sort -V | tail -1
    fi
}

# ---- data ----------------------------------------------------------------------------------

# Keys of every type and encoding, with and without expiry, in two databases.
load_data() {
    cli set s1 hello >/dev/null
    cli set n1 12345 >/dev/null
    cli set big "$(head -c 3000 /dev/zero | tr '\0' x)" >/dev/null
    cli set neg -42 >/dev/null
    cli rpush l1 a b c "" >/dev/null
    cli rpush lbig $(seq 1 400) >/dev/null
    cli hset h1 f1 v1 f2 v2 >/dev/null
    cli hset hbig $(for i in $(seq 1 200); do echo "f$i v$i"; done) >/dev/null
    cli sadd si 3 1 2 >/dev/null
    cli sadd ss a b c >/dev/null
    cli sadd sbig $(seq 1 700) >/dev/null
    cli sadd sbigs $(for i in $(seq 1 200); do echo "m$i"; done) >/dev/null
    cli zadd z1 1 a 2.5 b -3 c >/dev/null
    cli zadd zbig $(for i in $(seq 1 200); do echo "$i.5 m$i"; done) >/dev/null
    cli incrbyfloat fl 1.5 >/dev/null
    cli set t1 x ex 100000 >/dev/null
    cli expire lbig 100000 >/dev/null
    cli pexpire h1 100000000 >/dev/null
    cli expire zbig 100000 >/dev/null
    cli set short x px 50 >/dev/null
    cli -n 5 set other db5 >/dev/null
    cli -n 5 rpush l5 x y >/dev/null
    sleep 0.2 # "short" expires
}

# A text digest of everything (sorted, so it does not depend on hash order).
digest() {
    local db k t v ttl
    for db in 0 5; do
        for k in $(cli -n $db --scan | sort); do
            t=$(cli -n $db type "$k")
            case $t in
            string) v=$(cli -n $db get "$k") ;;
            list) v=$(cli -n $db lrange "$k" 0 -1) ;;
            hash) v=$(cli -n $db hgetall "$k" | paste - - | sort) ;;
            set) v=$(cli -n $db smembers "$k" | sort) ;;
            zset) v=$(cli -n $db zrange "$k" 0 -1 withscores) ;;
            *) v=? ;;
            esac
            ttl=$(cli -n $db pttl "$k")
            [ "$ttl" -gt 0 ] && ttl=ttl
            echo "$db $k $t $ttl $(printf '%s' "$v" | md5sum | cut -c1-12)"
        done
    done
}

same_digest() { # same_digest EXPECTED : the current digest equals it
    local now
    now=$(digest)
    [ "$now" = "$1" ] || { diff <(echo "$1") <(echo "$now"); return 1; }
}

# ---- the checks, per target -------------------------------------------------------------------

run_target() {
    local t=$1 port=$2 d want n before

    # 1. Every type survives kill -9 with appendfsync always.
    d=$TMP/$t-types
    okc "$t: start with appendonly yes, appendfsync always" start_server $t $port "$d" --appendonly yes --appendfsync always --save ''
    load_data
    want=$(digest)
    ok_match "$t: data of every type loaded" "^0 zbig zset ttl" "$want"
    stop_server kill
    okc "$t: restart after kill -9" start_server $t $port "$d" --appendonly yes --appendfsync always --save ''
    ok "$t: every key, value and expiry is back" same_digest "$want"
    ok_match "$t: the short expiry stayed expired" "^0$" "$(cli exists short)"
    okc "$t: clean shutdown on SIGTERM" stop_server term

    # 2. everysec and no: acknowledged writes reach the file (kill -9 keeps the page cache).
    for pol in everysec no; do
        d=$TMP/$t-$pol
        okc "$t: start with appendfsync $pol" start_server $t $port "$d" --appendonly yes --appendfsync $pol --save ''
        for i in $(seq 1 50); do echo "SET k$i v$i"; echo "INCR c"; done | cli >/dev/null
        cli rpush l $(seq 1 100) >/dev/null
        sleep 1.2
        stop_server kill
        okc "$t: restart ($pol)" start_server $t $port "$d" --appendonly yes --appendfsync $pol --save ''
        ok_match "$t: appendfsync $pol kept every write" "^50 v50 v1 100$" \
            "$(echo "$(cli get c) $(cli get k50) $(cli get k1) $(cli llen l)")"
        stop_server term
    done

    # 3. Snapshots: SAVE, LASTSAVE, BGSAVE, restart from the snapshot.
    d=$TMP/$t-snap
    okc "$t: start without AOF" start_server $t $port "$d" --appendonly no --save ''
    load_data
    want=$(digest)
    before=$(cli lastsave)
    sleep 1.1
    ok_match "$t: SAVE replies OK" "^OK$" "$(cli save)"
    ok "$t: LASTSAVE moved forward" test "$(cli lastsave)" -gt "$before"
    ok_match "$t: rdb_changes_since_last_save is 0 after SAVE" "^0$" "$(info_field rdb_changes_since_last_save)"
    cli set after-save 1 >/dev/null
    ok_match "$t: a write counts as a change" "^[1-9]" "$(info_field rdb_changes_since_last_save)"
    stop_server kill
    okc "$t: restart from the snapshot" start_server $t $port "$d" --appendonly no --save ''
    ok "$t: the snapshot has every key, value and expiry" same_digest "$want"
    ok_match "$t: a write after SAVE is not in it" "^0$" "$(cli exists after-save)"
    cli set s1 changed >/dev/null
    ok_match "$t: BGSAVE starts" "^Background saving started$" "$(cli bgsave)"
    ok "$t: BGSAVE finishes" wait_field rdb_bgsave_in_progress 0
    ok_match "$t: BGSAVE status ok" "^ok$" "$(info_field rdb_last_bgsave_status)"
    ok_match "$t: BGSAVE SCHEDULE with no child starts at once" "^Background saving started$" "$(cli bgsave schedule)"
    wait_field rdb_bgsave_in_progress 0 >/dev/null
    ok_match "$t: BGSAVE with a bad argument" "ERR syntax error" "$(cli bgsave now)"
    stop_server kill
    okc "$t: restart from the BGSAVE snapshot" start_server $t $port "$d" --appendonly no --save ''
    ok_match "$t: the BGSAVE snapshot has the later write" "^changed$" "$(cli get s1)"
    stop_server term

    # 4. A corrupted snapshot is refused.
    n=$(stat -c %s "$d/dump.rdb")
    python3 - "$d/dump.rdb" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.find(b'changed')        # inside a value: the file still parses, only the checksum can tell
assert i > 0
b[i + 1] ^= 0x20
open(p, 'wb').write(b)
EOF
    ok "$t: a snapshot with a flipped byte is refused (exit 1)" start_fail $t $port "$d" --appendonly no --save ''
    ok_match "$t: the log says checksum" "[Cc]hecksum" "$(cat "$d/log")"

    # 5. BGREWRITEAOF while writers run keeps every write.
    d=$TMP/$t-rewrite
    okc "$t: start for the rewrite test" start_server $t $port "$d" --appendonly yes --appendfsync always --save ''
    load_data
    redis-benchmark -p $port -t incr,rpush -n 6000 -c 4 -q >/dev/null 2>&1 &
    local bench=$!
    for _ in 1 2 3; do
        sleep 0.3
        cli bgrewriteaof >/dev/null
        wait_field aof_rewrite_in_progress 0 >/dev/null
    done
    wait $bench
    ok_match "$t: rewrites done" "^[1-9]" "$(info_field aof_rewrites)"
    ok_match "$t: last rewrite ok" "^ok$" "$(info_field aof_last_bgrewrite_status)"
    want=$(digest)
    ok_match "$t: the benchmark's writes are all there" "^6000 6000$" \
        "$(echo "$(cli get counter:__rand_int__) $(cli llen mylist)")"
    ok_match "$t: BGREWRITEAOF replies started" "^Background append only file rewriting started$" "$(cli bgrewriteaof)"
    wait_field aof_rewrite_in_progress 0 >/dev/null
    stop_server kill
    okc "$t: restart after rewrites" start_server $t $port "$d" --appendonly yes --appendfsync always --save ''
    ok "$t: everything written during the rewrites is back" same_digest "$want"

    # 6. A truncated last command is cut and reported; the rest loads.
    stop_server term
    local f size
    f=$(aof_file $t "$d")
    size=$(stat -c %s "$f")
    printf '*3\r\n$3\r\nSET\r\n$5\r\ntorn1\r\n$5\r\nab' >>"$f"
    okc "$t: start with a torn last command" start_server $t $port "$d" --appendonly yes --appendfsync always --save ''
    ok "$t: the data before it is intact" same_digest "$want"
    ok_match "$t: the torn command was not applied" "^0$" "$(cli exists torn1)"
    ok_match "$t: the log reports the truncation" "[Tt]runcat" "$(cat "$d/log")"
    ok_match "$t: the file was cut back to its last complete command" "^$size$" "$(stat -c %s "$f")"
    cli set after-cut 1 >/dev/null
    stop_server kill
    okc "$t: restart after the cut" start_server $t $port "$d" --appendonly yes --appendfsync always --save ''
    ok_match "$t: writes after the cut load too" "^1$" "$(cli get after-cut)"
    stop_server term

    # 7. Garbage in the middle is fatal.
    f=$(aof_file $t "$d")
    python3 - "$f" <<'EOF'
import sys
p = sys.argv[1]
b = open(p, 'rb').read()
i = b.find(b'*', len(b) // 2)
open(p, 'wb').write(b[:i] + b'garbage\r\n' + b[i:])
EOF
    ok "$t: an AOF with garbage in the middle is refused (exit 1)" start_fail $t $port "$d" --appendonly yes --save ''
    ok_match "$t: the log says bad format" "Bad file format" "$(tail -5 "$d/log")"

    # 7b. A command that fails on replay stops the start, naming it; never skipped.
    d=$TMP/$t-replayerr
    okc "$t: start for the replay-error test" start_server $t $port "$d" --appendonly yes --appendfsync always --save ''
    cli set str v >/dev/null
    cli rpush lst a >/dev/null
    okc "$t: clean stop" stop_server term
    f=$(aof_file $t "$d")
    cp "$f" "$TMP/$t-good.aof"
    n=$(stat -c %s "$f")
    printf '*1\r\n$7\r\nNOSUCH1\r\n*3\r\n$3\r\nSET\r\n$5\r\nlater\r\n$1\r\n1\r\n' >>"$f"
    ok "$t: an unknown command in the AOF is refused (exit 1)" start_fail $t $port "$d" --appendonly yes --save ''
    ok_match "$t: the log names the command" "NOSUCH1.*reading the append only file|reading the append only file.*NOSUCH1" \
        "$(tail -5 "$d/log")"
    if [ $t = strata ]; then
        # Redis runs a replayed command without looking at its reply; strata refuses.
        ok_match "$t: the log names the offset" "offset[=: \"]*$n\b" "$(tail -5 "$d/log")"
        cp "$TMP/$t-good.aof" "$f"
        printf '*3\r\n$5\r\nLPUSH\r\n$3\r\nstr\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$5\r\nlater\r\n$1\r\n1\r\n' >>"$f"
        ok "$t: a command failing on replay (WRONGTYPE) is refused" start_fail $t $port "$d" --appendonly yes --save ''
        ok_match "$t: the log gives the error and offset" "WRONGTYPE.*|offset[=: \"]*$n\b" "$(tail -3 "$d/log")"
        ok_match "$t: ... both of them" "offset[=: \"]*$n\b" "$(tail -3 "$d/log" | grep WRONGTYPE)"
        # Redis cuts at a short read anywhere (aof-load-truncated); strata only cuts a torn
        # last record: a length in the middle that points past the end is corruption.
        cp "$TMP/$t-good.aof" "$f"
        python3 - "$f" <<'EOF2'
import sys
p = sys.argv[1]
b = open(p, 'rb').read()
i = b.find(b'$1\r\nv\r\n')     # the value of SET str v
assert i > 0
open(p, 'wb').write(b[:i] + b'$9999\r\nv\r\n' + b[i + 7:])
EOF2
        n=$(stat -c %s "$f")
        ok "$t: a corrupted length in the middle is refused" start_fail $t $port "$d" --appendonly yes --save ''
        ok_match "$t: the log says bad format, corrupted length" "Bad file format.*corrupted length" "$(tail -3 "$d/log")"
        ok_match "$t: the file was not cut" "^$n$" "$(stat -c %s "$f")"
        cp "$TMP/$t-good.aof" "$f"
        okc "$t: the intact file still loads" start_server $t $port "$d" --appendonly yes --save ''
        ok_match "$t: with its data" "^v a$" "$(echo $(cli get str) $(cli lrange lst 0 -1))"
        okc "$t: clean stop" stop_server term
    fi

    # 8. CONFIG SET appendonly yes creates the AOF from the dataset.
    d=$TMP/$t-switch
    okc "$t: start with appendonly no" start_server $t $port "$d" --appendonly no --save ''
    load_data
    ok_match "$t: CONFIG SET appendonly yes" "^OK$" "$(cli config set appendonly yes)"
    ok "$t: aof_enabled:1" wait_field aof_enabled 1
    ok "$t: the first rewrite finishes" wait_field aof_rewrite_in_progress 0
    cli set after-switch 1 >/dev/null
    want=$(digest)
    stop_server kill
    okc "$t: restart with appendonly yes" start_server $t $port "$d" --appendonly yes --save ''
    ok "$t: data from before and after the switch" same_digest "$want"
    local fields=""
    for k in loading rdb_changes_since_last_save rdb_bgsave_in_progress rdb_last_save_time rdb_last_bgsave_status \
        aof_enabled aof_rewrite_in_progress aof_last_bgrewrite_status aof_current_size aof_base_size; do
        [ -n "$(info_field $k)" ] || fields="$fields $k"
    done
    ok "$t: INFO persistence has Redis's fields (missing:$fields)" test -z "$fields"
    ok_match "$t: CONFIG SET appendonly no" "^OK$" "$(cli config set appendonly no)"
    ok "$t: aof_enabled:0" wait_field aof_enabled 0
    okc "$t: clean shutdown" stop_server term

    # 9. A save point (save 1 1) snapshots by itself.
    d=$TMP/$t-savepoint
    okc "$t: start with save 1 1" start_server $t $port "$d" --appendonly no --save "1 1"
    cli set sp 1 >/dev/null
    ok "$t: the save point triggers a background save" wait_field rdb_changes_since_last_save 0
    ok "$t: ... which finishes" wait_field rdb_bgsave_in_progress 0
    stop_server kill
    okc "$t: restart from the save point's snapshot" start_server $t $port "$d" --appendonly no --save ''
    ok_match "$t: the key written before the save point is there" "^1$" "$(cli get sp)"
    okc "$t: clean shutdown" stop_server term

    # 10. MISCONF: after a failed BGSAVE writes are refused until a save succeeds. The
    # snapshot's name is taken by a directory (made after the start, which would refuse to
    # load it), so the final rename fails even as root.
    d=$TMP/$t-misconf
    okc "$t: start with a save point" start_server $t $port "$d" --appendonly no --save "3600 1"
    mkdir "$d/dump.rdb"
    cli set before 1 >/dev/null
    ok_match "$t: BGSAVE starts" "^Background saving started$" "$(cli bgsave)"
    ok "$t: ... and fails" wait_field rdb_last_bgsave_status err
    ok_match "$t: SET gets Redis's MISCONF error" "^MISCONF Redis is configured to save RDB snapshots, but it's \
currently unable to persist to disk\. Commands that may modify the data set are disabled, because this instance is \
configured to report errors during writes if RDB snapshotting fails \(stop-writes-on-bgsave-error option\)\. \
Please check the Redis logs for details about the RDB error\.$" "$(cli set k v)"
    ok_match "$t: PING is refused too" "^MISCONF " "$(cli ping)"
    ok_match "$t: reads still work" "^1$" "$(cli get before)"
    ok_match "$t: the refused write did nothing" "^0$" "$(cli exists k)"
    ok_match "$t: a write queued in MULTI aborts EXEC" "MISCONF.*EXECABORT" \
        "$(printf 'MULTI\nSET k v\nEXEC\n' | cli | tr '\n' ' ')"
    ok_match "$t: CONFIG SET stop-writes-on-bgsave-error no" "^OK$" "$(cli config set stop-writes-on-bgsave-error no)"
    ok_match "$t: ... lets writes through" "^OK$" "$(cli set k v)"
    cli config set stop-writes-on-bgsave-error yes >/dev/null
    ok_match "$t: ... and yes refuses them again" "^MISCONF " "$(cli set k2 v)"
    rmdir "$d/dump.rdb"
    ok_match "$t: SAVE succeeds once the path is free" "^OK$" "$(cli save)"
    ok_match "$t: writes are accepted again" "^OK$" "$(cli set k3 v)"
    okc "$t: clean shutdown after MISCONF" stop_server term
}

targets=${KV_TARGETS:-strata redis}
i=0
for t in $targets; do
    if [ $t = strata ] && [ -z "${STRATA:-}" ]; then
        echo "# STRATA not set: skipping strata"
        continue
    fi
    if [ $t = redis ] && ! command -v redis-server >/dev/null; then
        echo "# redis-server not installed: skipping redis"
        continue
    fi
    run_target $t $((BASE_PORT + i))
    i=$((i + 1))
done
done_testing
