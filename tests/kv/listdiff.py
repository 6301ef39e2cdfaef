#!/usr/bin/env python3
"""listdiff.py - differential test of the list and hash commands: the same random command
stream goes to redis-server and to `strata kv`, and every reply must be equal (HGETALL,
HKEYS, HVALS are compared sorted: hash order is free; HRANDFIELD only where the whole hash
comes back). Small limits (list-max-listpack-size 4 or -1, hash-max-listpack-entries 6,
-value 20) make node splits and listpack -> hashtable conversions happen all the time, and
a DEBUG RELOAD now and then checks that what the AOF/snapshot rebuilds is the same list.

Usage: listdiff.py REDIS_PORT STRATA_PORT SEED OPS  (TAP: one line per 500-op round)
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffclient import call, conn  # noqa: E402


def hscan_all(c, key):
    cursor, seen = b"0", set()
    for _ in range(10000):
        r = call(c, [b"HSCAN", key, cursor, b"COUNT", b"2"])
        if not (isinstance(r, tuple) and r[0] == b"*"):
            return r
        cursor, items = r[1][0], r[1][1][1]
        seen.update(tuple(items[i:i + 2]) for i in range(0, len(items), 2))
        if cursor == b"0":
            return sorted(seen)
    return "cursor never returned to 0"


UNORDERED = (b"HKEYS", b"HVALS")
PAIRS = (b"HGETALL", b"HRANDFIELD")


def norm(args, r):
    if isinstance(r, tuple) and r[0] == b"*" and args[0] in UNORDERED:
        return sorted(map(repr, r[1]))
    if isinstance(r, tuple) and r[0] == b"*" and args[0] in PAIRS:
        it = r[1]
        if args[0] == b"HRANDFIELD" and len(args) == 3:
            return sorted(map(repr, it))
        return sorted(repr(tuple(it[i:i + 2])) for i in range(0, len(it), 2))
    return r


def run(c, args):
    if args[0] == b"HSCANALL":
        return hscan_all(c, args[1])
    return call(c, args)


rnd = random.Random(int(sys.argv[3]))
R, S = conn(int(sys.argv[1])), conn(int(sys.argv[2]))
keys = [b"k1", b"k2", b"k3"]


def ele():
    return rnd.choice([b"a", b"b", b"c", b"d", b"1", b"2", b"10", b"-1", b"", b"01", b"300", b"70000",
                       b"-9223372036854775808", b"x" * 30, b"y" * 90, b"z" * 600, b"a\x00b"])


def idx():
    return str(rnd.randint(-12, 12)).encode()


def key():
    return rnd.choice(keys)


LGEN = [
    lambda k: [b"RPUSH", k] + [ele() for _ in range(rnd.randint(1, 6))],
    lambda k: [b"LPUSH", k] + [ele() for _ in range(rnd.randint(1, 6))],
    lambda k: [b"LPUSHX", k, ele()], lambda k: [b"RPUSHX", k, ele(), ele()],
    lambda k: [b"LPOP", k], lambda k: [b"RPOP", k, idx()],
    lambda k: [b"LLEN", k], lambda k: [b"LRANGE", k, idx(), idx()], lambda k: [b"LRANGE", k, b"0", b"-1"],
    lambda k: [b"LINDEX", k, idx()], lambda k: [b"LSET", k, idx(), ele()],
    lambda k: [b"LREM", k, idx(), ele()], lambda k: [b"LTRIM", k, idx(), idx()],
    lambda k: [b"LINSERT", k, rnd.choice([b"BEFORE", b"AFTER"]), ele(), ele()],
    lambda k: [b"LPOS", k, ele(), b"RANK", rnd.choice([b"1", b"2", b"-1", b"-2"]), b"COUNT", idx().lstrip(b"-"),
               b"MAXLEN", rnd.choice([b"0", b"3", b"10"])],
    lambda k: [b"LMOVE", k, key(), rnd.choice([b"LEFT", b"RIGHT"]), rnd.choice([b"LEFT", b"RIGHT"])],
    lambda k: [b"RPOPLPUSH", k, key()],
    lambda k: [b"LMPOP", b"2", k, key(), rnd.choice([b"LEFT", b"RIGHT"]), b"COUNT", b"3"],
    lambda k: [b"BLPOP", k, key(), b"0.001"],
    lambda k: [b"BLMOVE", k, key(), b"RIGHT", b"LEFT", b"0.001"],
    lambda k: [b"OBJECT", b"ENCODING", k],
]
HGEN = [
    lambda k: [b"HSET", k] + sum([[ele(), ele()] for _ in range(rnd.randint(1, 4))], []),
    lambda k: [b"HSETNX", k, ele(), ele()],
    lambda k: [b"HGET", k, ele()], lambda k: [b"HMGET", k, ele(), ele()],
    lambda k: [b"HDEL", k, ele(), ele()], lambda k: [b"HEXISTS", k, ele()],
    lambda k: [b"HLEN", k], lambda k: [b"HSTRLEN", k, ele()],
    lambda k: [b"HGETALL", k], lambda k: [b"HKEYS", k], lambda k: [b"HVALS", k],
    lambda k: [b"HINCRBY", k, ele(), idx()],
    lambda k: [b"HINCRBYFLOAT", k, ele(), rnd.choice([b"1.5", b"-0.25", b"3", b"1e3"])],
    lambda k: [b"HRANDFIELD", k, b"100", b"WITHVALUES"], lambda k: [b"HRANDFIELD", k, b"100"],
    lambda k: [b"OBJECT", b"ENCODING", k],
    lambda k: [b"HSCANALL", k],
]
for c in (R, S):
    call(c, [b"CONFIG", b"SET", b"hash-max-listpack-entries", b"6"])
    call(c, [b"CONFIG", b"SET", b"hash-max-listpack-value", b"20"])
ops = int(sys.argv[4])
rounds, failed = (ops + 499) // 500, 0
print("1..%d" % rounds)
for rd in range(rounds):
    for c in (R, S):
        call(c, [b"FLUSHALL"])
        call(c, [b"CONFIG", b"SET", b"list-max-listpack-size", rnd.choice([b"4", b"-1", b"2"])])
    diff = None
    for i in range(500):
        # alternate list and hash phases; keys of the other type give WRONGTYPE
        args = rnd.choice(LGEN if (i // 125) % 2 == 0 else HGEN)(key())
        if i == 250:
            args = [b"DEBUG", b"RELOAD"]
        a, b = norm(args, run(R, args)), norm(args, run(S, args))
        if a != b and diff is None:
            diff = (args, a, b)
    for k in keys:  # the final state, whatever the type
        for args in ([b"TYPE", k], [b"LRANGE", k, b"0", b"-1"], [b"HGETALL", k]):
            a, b = norm(args, run(R, args)), norm(args, run(S, args))
            if a != b and diff is None:
                diff = (args, a, b)
    if diff:
        failed += 1
        print("not ok %d - seed %s round %d" % (rd + 1, sys.argv[3], rd))
        print("# first difference: %r\n#   redis:  %r\n#   strata: %r" % (b" ".join(diff[0]), diff[1], diff[2]))
    else:
        print("ok %d - seed %s round %d: 500 commands, same replies" % (rd + 1, sys.argv[3], rd))
for c in (R, S):
    call(c, [b"CONFIG", b"SET", b"list-max-listpack-size", b"-2"])
sys.exit(1 if failed else 0)
