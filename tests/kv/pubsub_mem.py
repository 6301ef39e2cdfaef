#!/usr/bin/env python3
"""pubsub_mem.py - pub/sub memory is in INFO used_memory, and INFO stats counts channels,
patterns and instantaneous_ops_per_sec for real (TAP).

Usage: pubsub_mem.py PORT   (a `strata kv` with no keys and no other clients)

Subscriptions must count in used_memory like keys do (Redis counts them too), or a
server full of subscribers looks empty to INFO and maxmemory. Each subscription costs
at least a slot (32 bytes) in two hash tables, a channel record and a subscriber array
entry: at least 144 bytes even with completely full tables, so 10,000 subscriptions must
add at least 1.44 MB. When they end, every byte must come back (the tables shrink).
Only strata is checked: redis-server's used_memory also holds its query buffers and keeps
its pub/sub dicts at their peak size, so it has no such exact figure.
"""
import re
import socket
import sys
import time

N = 10000
MIN_PER_SUB = 144
SLACK = 1024  # bytes a test client itself may leave (its state, not the subscriptions)

results = []


def ok(cond, name, diag=""):
    results.append(cond)
    print("%s %d - %s" % ("ok" if cond else "not ok", len(results), name))
    if not cond and diag:
        print("# " + diag)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t in (b"*", b">"):
            return [self.read() for _ in range(int(rest))]
        raise RuntimeError("unexpected reply %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        self.f.close()
        self.s.close()


def used(ctl):
    info = ctl.call("INFO", "memory").decode()
    return int(re.search(r"used_memory:(\d+)", info).group(1))


def replies(c, n):
    """Read n (un)subscribe events; the last one's count."""
    last = None
    for _ in range(n):
        last = c.read()
    return int(last[2])


def check(ctl, label, subscribe, unsubscribe):
    """subscribe(c) / unsubscribe(c) run on a fresh subscriber connection."""
    sub = Conn(port)
    sub.call("PING")  # the client exists before the baseline
    base = used(ctl)
    subscribe(sub)
    grown = used(ctl) - base
    ok(grown >= N * MIN_PER_SUB, "%s: used_memory grows with %d subscriptions" % (label, N),
       "grew by %d bytes, expected at least %d" % (grown, N * MIN_PER_SUB))
    unsubscribe(sub)
    left = used(ctl) - base
    ok(left <= SLACK, "%s: ... and returns once they end" % label,
       "%d bytes still held (grown by %d)" % (left, grown))
    sub.close()


def channels(prefix):
    return ["%s:%d" % (prefix, i) for i in range(N)]


def sub_all(cmd, prefix):
    def run(c):
        c.send(cmd, *channels(prefix))
        n = replies(c, N)
        ok(n == N, "%s of %d names counts %d" % (cmd, N, n))
    return run


def unsub_all(cmd):
    def run(c):
        c.send(cmd)
        n = replies(c, N)
        ok(n == 0, "%s with no names ends them all" % cmd)
    return run


def unsub_by_name(cmd, prefix):
    def run(c):
        names = channels(prefix)
        # Half, then the rest: the tables shrink on the way down, not only when empty.
        c.send(cmd, *names[: N // 2])
        replies(c, N // 2)
        c.send(cmd, *names[N // 2:])
        n = replies(c, N - N // 2)
        ok(n == 0, "%s by name, in two halves, ends them all" % cmd)
    return run


def disconnect(ctl):
    def run(c):
        c.close()
        # The server frees the client when it sees the close; wait until it did.
        for _ in range(200):
            info = ctl.call("INFO", "clients").decode()
            if re.search(r"connected_clients:1\r", info):
                return
            time.sleep(0.05)
    return run


def stat(ctl, name):
    info = ctl.call("INFO", "stats").decode()
    return int(re.search(name + r":(\d+)", info).group(1))


def counted(ctl, name, prefix, cmd):
    """INFO stats counts the subscribed names server-wide, and forgets them at the end."""
    c = Conn(port)
    c.send(cmd, *channels(prefix))
    replies(c, N)
    ok(stat(ctl, name) == N, "INFO stats %s is %d while subscribed" % (name, N), stat(ctl, name))
    disconnect(ctl)(c)
    ok(stat(ctl, name) == 0, "INFO stats %s is 0 once the subscriber left" % name, stat(ctl, name))


def ops_per_sec(ctl):
    """instantaneous_ops_per_sec follows the load: about what a pipelined client sends, then 0."""
    c = Conn(port)
    sent = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.0:
        for _ in range(500):
            c.send("PING")
        for _ in range(500):
            c.read()
        sent += 500
    rate = sent / (time.monotonic() - t0)
    got = stat(ctl, "instantaneous_ops_per_sec")
    ok(rate * 0.3 <= got <= rate * 2, "instantaneous_ops_per_sec under load is near the real rate",
       "reported %d, sent %.0f/s" % (got, rate))
    c.close()
    time.sleep(2.0)
    got = stat(ctl, "instantaneous_ops_per_sec")
    ok(got <= 2, "instantaneous_ops_per_sec falls to 0 when idle", got)


port = int(sys.argv[1])
ctl = Conn(port)
counted(ctl, "pubsub_channels", "cnt", "SUBSCRIBE")
counted(ctl, "pubsub_patterns", "cnt*", "PSUBSCRIBE")
ops_per_sec(ctl)
check(ctl, "channels", sub_all("SUBSCRIBE", "ch"), unsub_all("UNSUBSCRIBE"))
check(ctl, "patterns", sub_all("PSUBSCRIBE", "pat*"), unsub_by_name("PUNSUBSCRIBE", "pat*"))
check(ctl, "shard channels", sub_all("SSUBSCRIBE", "sh"), unsub_all("SUNSUBSCRIBE"))
check(ctl, "a subscriber that disconnects", sub_all("SUBSCRIBE", "gone"), disconnect(ctl))
ctl.close()
print("1..%d" % len(results))
sys.exit(0 if all(results) else 1)
