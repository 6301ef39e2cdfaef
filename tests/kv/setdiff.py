#!/usr/bin/env python3
"""setdiff.py - differential test of the set and sorted-set commands: the same random
command stream goes to redis-server and to `strata kv`, and every reply must be equal
(replies whose order is free - SMEMBERS, SPOP ... - are compared sorted; random picks are
only sent where the whole set comes back). Small encoding limits (6 entries) make the
intset/listpack <-> hashtable/skiplist conversions happen all the time; members up to 130
bytes and scores of every stored width exercise the compact encodings.

Usage: setdiff.py REDIS_PORT STRATA_PORT SEED OPS  (TAP: one line per 500-op round)
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffclient import call, conn  # noqa: E402


UNORDERED = (b"SMEMBERS", b"SINTER", b"SUNION", b"SDIFF", b"SPOP", b"SRANDMEMBER")


def scan_all(c, cmd, key):
    """Every member a full SSCAN/ZSCAN walk returns (COUNT 3: many calls), deduplicated."""
    cursor, seen = b"0", set()
    for _ in range(10000):
        r = call(c, [cmd, key, cursor, b"COUNT", b"3"])
        if not (isinstance(r, tuple) and r[0] == b"*"):
            return r
        cursor, items = r[1][0], r[1][1][1]
        step = 2 if cmd == b"ZSCAN" else 1
        seen.update(tuple(items[i:i + step]) for i in range(0, len(items), step))
        if cursor == b"0":
            return sorted(seen)
    return "cursor never returned to 0"


def run(c, args):
    if args[0] == b"SCANALL":
        return scan_all(c, args[1], args[2])
    return call(c, args)


def norm(cmd, r):
    if cmd in UNORDERED and isinstance(r, tuple) and r[0] in (b"*", b"~"):
        return (r[0], sorted(map(repr, r[1])))
    return r


rnd = random.Random(int(sys.argv[3]))
R, S = conn(int(sys.argv[1])), conn(int(sys.argv[2]))
for c in (R, S):
    call(c, [b"FLUSHALL"])
    call(c, [b"CONFIG", b"SET", b"zset-max-listpack-entries", b"6"])
    call(c, [b"CONFIG", b"SET", b"set-max-intset-entries", b"6"])
    call(c, [b"CONFIG", b"SET", b"zset-max-listpack-value", b"200"])
keys = [b"k1", b"k2", b"k3"]
def mem():
    return rnd.choice([b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"1", b"2", b"3", b"10", b"-1", b"", b"aa", b"L" * 130, b"M" * 120])
def score():
    return rnd.choice([b"0", b"1", b"2", b"-1", b"1.5", b"inf", b"-inf", b"3", b"100000", b"-70000", b"1e10", b"0.1", b"-65", b"63", b"64", b"-64", b"32767", b"-32769", b"2147483648"])
def bound():
    return rnd.choice([b"-inf", b"+inf", b"0", b"1", b"(1", b"2", b"(2", b"1.5", b"3"])
def lex():
    return rnd.choice([b"-", b"+", b"[a", b"(a", b"[c", b"(d", b"[aa", b"[", b"(b"])
def idx():
    return str(rnd.randint(-8, 8)).encode()
ZGEN = [
    lambda k: [b"ZADD", k] + sum([[score(), mem()] for _ in range(rnd.randint(1, 4))], []),
    lambda k: [b"ZADD", k, rnd.choice([b"NX", b"XX", b"GT", b"LT", b"CH"]), score(), mem()],
    lambda k: [b"ZADD", k, b"INCR", score(), mem()],
    lambda k: [b"ZINCRBY", k, score(), mem()],
    lambda k: [b"ZREM", k, mem(), mem()],
    lambda k: [b"ZSCORE", k, mem()],
    lambda k: [b"ZMSCORE", k, mem(), mem()],
    lambda k: [b"ZRANK", k, mem()], lambda k: [b"ZREVRANK", k, mem()],
    lambda k: [b"ZCARD", k],
    lambda k: [b"ZCOUNT", k, bound(), bound()],
    lambda k: [b"ZLEXCOUNT", b"lx", lex(), lex()],
    lambda k: [b"ZADD", b"lx", b"0", mem(), b"0", mem()],
    lambda k: [b"ZRANGE", b"lx", lex(), lex(), b"BYLEX", b"REV", b"LIMIT", idx(), idx()],
    lambda k: [b"ZRANGE", k, idx(), idx(), b"WITHSCORES"],
    lambda k: [b"ZREVRANGE", k, idx(), idx()],
    lambda k: [b"ZRANGEBYSCORE", k, bound(), bound(), b"WITHSCORES"],
    lambda k: [b"ZRANGEBYSCORE", k, bound(), bound(), b"LIMIT", idx(), idx()],
    lambda k: [b"ZREVRANGEBYSCORE", k, bound(), bound(), b"LIMIT", idx(), idx()],
    lambda k: [b"ZRANGEBYLEX", b"lx", lex(), lex()],
    lambda k: [b"ZREVRANGEBYLEX", b"lx", lex(), lex(), b"LIMIT", idx(), idx()],
    lambda k: [b"ZRANGE", k, bound(), bound(), b"BYSCORE", b"REV", b"LIMIT", idx(), idx()],
    lambda k: [b"ZREMRANGEBYRANK", k, idx(), idx()],
    lambda k: [b"ZREMRANGEBYSCORE", k, bound(), bound()],
    lambda k: [b"ZREMRANGEBYLEX", b"lx", lex(), lex()],
    lambda k: [b"ZPOPMIN", k, idx()], lambda k: [b"ZPOPMAX", k],
    lambda k: [b"ZUNIONSTORE", rnd.choice(keys), b"2", k, rnd.choice(keys), b"WEIGHTS", score(), b"2", b"AGGREGATE", rnd.choice([b"SUM", b"MIN", b"MAX"])],
    lambda k: [b"ZINTERSTORE", rnd.choice(keys), b"2", k, rnd.choice(keys)],
    lambda k: [b"ZDIFFSTORE", rnd.choice(keys), b"2", k, rnd.choice(keys)],
    lambda k: [b"ZUNION", b"2", k, rnd.choice(keys), b"WITHSCORES"],
    lambda k: [b"ZINTER", b"2", k, rnd.choice(keys), b"AGGREGATE", b"MAX", b"WITHSCORES"],
    lambda k: [b"ZDIFF", b"2", k, rnd.choice(keys), b"WITHSCORES"],
    lambda k: [b"ZRANGESTORE", rnd.choice(keys), k, idx(), idx()],
    lambda k: [b"ZINTERCARD", b"2", k, rnd.choice(keys)],
    lambda k: [b"OBJECT", b"ENCODING", k],
    lambda k: [b"SCANALL", b"ZSCAN", k],
    lambda k: [b"ZMPOP", b"2", k, rnd.choice(keys), rnd.choice([b"MIN", b"MAX"]), b"COUNT", b"2"],
]
SGEN = [
    lambda k: [b"SADD", k] + [mem() for _ in range(rnd.randint(1, 4))],
    lambda k: [b"SREM", k, mem(), mem()],
    lambda k: [b"SISMEMBER", k, mem()], lambda k: [b"SMISMEMBER", k, mem(), mem()],
    lambda k: [b"SCARD", k], lambda k: [b"SMEMBERS", k],
    lambda k: [b"SMOVE", k, rnd.choice(keys), mem()],
    lambda k: [b"SINTER", k, rnd.choice(keys)], lambda k: [b"SUNION", k, rnd.choice(keys)],
    lambda k: [b"SDIFF", k, rnd.choice(keys), rnd.choice(keys)],
    lambda k: [b"SINTERSTORE", rnd.choice(keys), k, rnd.choice(keys)],
    lambda k: [b"SUNIONSTORE", rnd.choice(keys), k, rnd.choice(keys)],
    lambda k: [b"SDIFFSTORE", rnd.choice(keys), k, rnd.choice(keys)],
    lambda k: [b"SINTERCARD", b"2", k, rnd.choice(keys), b"LIMIT", b"2"],
    lambda k: [b"OBJECT", b"ENCODING", k],
    lambda k: [b"SRANDMEMBER", k, b"100"], lambda k: [b"SPOP", k, b"100"],
    lambda k: [b"SCANALL", b"SSCAN", k],
]
ops = int(sys.argv[4])
rounds, failed = (ops + 499) // 500, 0
print("1..%d" % rounds)
for rd in range(rounds):
    for c in (R, S):
        call(c, [b"FLUSHALL"])
    diff = None
    for i in range(500):
        # alternate sorted-set and set phases; keys of the other type give WRONGTYPE
        g = rnd.choice(ZGEN if (i // 125) % 2 == 0 else SGEN)
        args = g(rnd.choice(keys))
        a, b = norm(args[0], run(R, args)), norm(args[0], run(S, args))
        if a != b and diff is None:
            diff = (args, a, b)
    if diff:
        failed += 1
        print("not ok %d - seed %s round %d" % (rd + 1, sys.argv[3], rd))
        print("# first difference: %r\n#   redis:  %r\n#   strata: %r" % (b" ".join(diff[0]), diff[1], diff[2]))
    else:
        print("ok %d - seed %s round %d: 500 commands, same replies" % (rd + 1, sys.argv[3], rd))
sys.exit(1 if failed else 0)
