#!/usr/bin/env python3
"""pubsub_test.py - multi-connection tests of pub/sub and transactions; TAP output.

Usage: pubsub_test.py --target LABEL=HOST:PORT:AOFDIR [--target ...]

Runs every test against every target (redis-server and strata kv, started by
tests/kv/pubsub.sh with appendonly yes and appendfsync always). AOFDIR is where the
server writes its AOF: a file "appendonly.aof" (strata) or Redis 7's "appendonlydir/"
with *.incr.aof parts. What is checked here needs several connections at once or more
than one reply at a time: RESP3 push frames interleaved with replies, fan-out to many
subscribers, a slow subscriber cut by the output buffer limit, concurrent check-and-set
with WATCH, and the MULTI ... EXEC block in the AOF.
"""
import glob
import os
import socket
import sys
import threading
import time

# ---- a small RESP2/RESP3 client -----------------------------------------------------------


class Conn:
    def __init__(self, host, port, timeout=10.0):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, *cmds):
        out = b""
        for args in cmds:
            parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
            out += b"*%d\r\n" % len(parts)
            for p in parts:
                out += b"$%d\r\n%s\r\n" % (len(p), p)
        self.s.sendall(out)

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        d, self.buf = self.buf[:n], self.buf[n + 2:]
        return d

    def read(self):
        """One reply: str for status, Err for errors, int, bytes, None, list, or
        ("push", list) for RESP3 push frames, ("map", list of pairs)."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Err(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"_":
            return None
        if t in (b"*", b">", b"~"):
            n = int(rest)
            if n < 0:
                return None
            items = [self.read() for _ in range(n)]
            return ("push", items) if t == b">" else items
        if t == b"%":
            return ("map", [(self.read(), self.read()) for _ in range(int(rest))])
        if t == b"#":
            return rest == b"t"
        if t == b",":
            return float(rest)
        raise ValueError("unexpected reply type %r" % line)

    def cmd(self, *args):
        self.send(args)
        return self.read()


class Err(str):
    pass


# ---- tests ---------------------------------------------------------------------------------


class Fail(Exception):
    pass


def expect(got, want, what):
    if got != want:
        raise Fail("%s: expected %r, got %r" % (what, want, got))


def t_resp3_push(t):
    """RESP3 subscribers get push frames and can still run ordinary commands."""
    a, b = t.conn(), t.conn()
    a.cmd("HELLO", "3")
    expect(a.cmd("SUBSCRIBE", "r3"), ("push", [b"subscribe", b"r3", 1]), "subscribe push")
    expect(a.cmd("SET", "r3key", "v"), "OK", "SET while subscribed (RESP3)")
    expect(a.cmd("GET", "r3key"), b"v", "GET while subscribed (RESP3)")
    expect(a.cmd("PSUBSCRIBE", "r*"), ("push", [b"psubscribe", b"r*", 2]), "psubscribe push")
    expect(b.cmd("PUBLISH", "r3", "hello"), 2, "PUBLISH count")
    expect(a.read(), ("push", [b"message", b"r3", b"hello"]), "message push")
    expect(a.read(), ("push", [b"pmessage", b"r*", b"r3", b"hello"]), "pmessage push")
    # Publishing to itself: the pushes come before the reply to PUBLISH.
    a.send(("PUBLISH", "r3", "self"))
    expect(a.read(), ("push", [b"message", b"r3", b"self"]), "own message first")
    expect(a.read(), ("push", [b"pmessage", b"r*", b"r3", b"self"]), "own pmessage")
    expect(a.read(), 2, "then the PUBLISH reply")
    expect(a.cmd("UNSUBSCRIBE"), ("push", [b"unsubscribe", b"r3", 1]), "unsubscribe push")
    expect(a.cmd("PUNSUBSCRIBE"), ("push", [b"punsubscribe", b"r*", 0]), "punsubscribe push")
    expect(a.cmd("UNSUBSCRIBE"), ("push", [b"unsubscribe", None, 0]), "unsubscribe with nothing: null name")
    expect(a.cmd("PING"), "PONG", "PING after leaving (RESP3)")


def t_fanout(t):
    """Many subscribers each get every message, in order; PUBLISH counts them all."""
    nsubs, npat, nmsg = 40, 3, 300
    subs = [t.conn() for _ in range(nsubs)]
    for s in subs:
        s.send(("SUBSCRIBE", "fan", "other"))
    for s in subs:
        expect(s.read(), [b"subscribe", b"fan", 1], "subscribe fan")
        expect(s.read(), [b"subscribe", b"other", 2], "subscribe other")
    pats = [t.conn() for _ in range(npat)]
    for p in pats:
        expect(p.cmd("PSUBSCRIBE", "f?n"), [b"psubscribe", b"f?n", 1], "psubscribe")
    pub = t.conn()
    pub.send(*[("PUBLISH", "fan", "m%d" % i) for i in range(nmsg)])
    for i in range(nmsg):
        expect(pub.read(), nsubs + npat, "PUBLISH %d receivers" % i)
    for s in subs:
        for i in range(nmsg):
            expect(s.read(), [b"message", b"fan", b"m%d" % i], "message order")
    for p in pats:
        for i in range(nmsg):
            expect(p.read(), [b"pmessage", b"f?n", b"fan", b"m%d" % i], "pmessage order")
    expect(pub.cmd("PUBSUB", "NUMSUB", "fan", "other"), [b"fan", nsubs, b"other", nsubs], "NUMSUB")
    for s in subs + pats:
        s.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        if pub.cmd("PUBSUB", "NUMSUB", "fan") == [b"fan", 0] and pub.cmd("PUBSUB", "NUMPAT") == 0:
            break
        time.sleep(0.05)
    expect(pub.cmd("PUBSUB", "NUMSUB", "fan"), [b"fan", 0], "subscribers gone after close")
    expect(pub.cmd("PUBSUB", "NUMPAT"), 0, "patterns gone after close")


def t_many_channels(t):
    """A client with thousands of subscriptions; disconnecting frees them all."""
    a, b = t.conn(), t.conn()
    n = 3000
    a.send(("SUBSCRIBE",) + tuple("ch:%d" % i for i in range(n)))
    for i in range(n):
        expect(a.read(), [b"subscribe", b"ch:%d" % i, i + 1], "subscribe %d" % i)
    expect(len(b.cmd("PUBSUB", "CHANNELS", "ch:*")), n, "PUBSUB CHANNELS count")
    expect(b.cmd("PUBLISH", "ch:1234", "x"), 1, "PUBLISH one of many")
    expect(a.read(), [b"message", b"ch:1234", b"x"], "message")
    a.close()
    deadline = time.time() + 5
    while time.time() < deadline and b.cmd("PUBSUB", "CHANNELS", "ch:*"):
        time.sleep(0.05)
    expect(b.cmd("PUBSUB", "CHANNELS", "ch:*"), [], "channels freed after close")


def t_slow_subscriber(t):
    """A subscriber that never reads is disconnected by the pubsub output limit; the
    server and the publisher carry on."""
    admin = t.conn()
    old = admin.cmd("CONFIG", "GET", "client-output-buffer-limit")
    expect(admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 131072 60"), "OK",
           "CONFIG SET client-output-buffer-limit")
    try:
        slow = socket.create_connection((t.host, t.port), timeout=10)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nslow\r\n")
        time.sleep(0.2)
        pub = t.conn()
        msg = b"x" * 65536
        counts = []
        for _ in range(200):  # 12.5 MB against a 256 KB limit
            pub.send(("PUBLISH", "slow", msg))
            counts.append(pub.read())
        # The subscriber is dropped once its pending output passes the hard limit: later
        # messages reach nobody. (Reading what the kernel still holds is not needed.)
        if counts[0] != 1:
            raise Fail("first PUBLISH reached %r subscribers, expected 1" % counts[0])
        if counts[-1] != 0:
            raise Fail("slow subscriber was never disconnected (last PUBLISH reached %r)" % counts[-1])
        if counts.index(0) * len(msg) > 4 * 1024 * 1024:
            raise Fail("disconnected only after %d bytes" % (counts.index(0) * len(msg)))
        slow.close()
        expect(pub.cmd("PUBSUB", "NUMSUB", "slow"), [b"slow", 0], "slow subscriber gone")
        expect(pub.cmd("PING"), "PONG", "server still serves")
    finally:
        if isinstance(old, list) and len(old) == 2:
            admin.cmd("CONFIG", "SET", "client-output-buffer-limit", old[1])


def t_watch_cas(t):
    """Optimistic locking: concurrent WATCH/GET/MULTI/SET/EXEC increments lose nothing."""
    c0 = t.conn()
    c0.cmd("SET", "cas", "0")
    nthreads, per = 6, 40
    errors, retries = [], [0]

    def worker():
        try:
            c = t.conn()
            for _ in range(per):
                while True:
                    c.cmd("WATCH", "cas")
                    v = int(c.cmd("GET", "cas"))
                    c.cmd("MULTI")
                    c.cmd("SET", "cas", str(v + 1))
                    r = c.cmd("EXEC")
                    if r is not None:
                        break
                    retries[0] += 1
            c.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    ths = [threading.Thread(target=worker) for _ in range(nthreads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(60)
    if errors:
        raise Fail("worker failed: " + errors[0])
    expect(c0.cmd("GET", "cas"), str(nthreads * per).encode(), "no lost update")
    t.note("%d retries" % retries[0])


def aof_commands(path_glob):
    """Every command of the AOF files matching path_glob, as lists of bytes."""
    cmds = []
    for path in sorted(glob.glob(path_glob)):
        with open(path, "rb") as f:
            data = f.read()
        i = 0
        while i < len(data):
            if data[i:i + 1] != b"*":
                break
            j = data.index(b"\r\n", i)
            n = int(data[i + 1:j])
            i = j + 2
            args = []
            for _ in range(n):
                j = data.index(b"\r\n", i)
                ln = int(data[i + 1:j])
                args.append(data[j + 2:j + 2 + ln])
                i = j + 2 + ln + 2
            cmds.append([args[0].upper()] + args[1:])
    return cmds


def t_aof_multi(t):
    """A transaction that writes reaches the AOF as MULTI ... EXEC; read-only and failed
    transactions write nothing."""
    c, other = t.conn(), t.conn()
    c.send(("MULTI",), ("SET", "aof:a", "1"), ("INCR", "aof:a"), ("EXEC",))
    for want in ("OK", "QUEUED", "QUEUED"):
        expect(c.read(), want, "queue")
    expect(c.read(), ["OK", 2], "EXEC")
    c.send(("MULTI",), ("GET", "aof:a"), ("EXISTS", "aof:ro"), ("EXEC",))
    [c.read() for _ in range(3)]
    expect(c.read(), [b"2", 0], "read-only EXEC")
    c.cmd("WATCH", "aof:a")
    other.cmd("SET", "aof:b", "x")
    other.cmd("SET", "aof:a", "9")
    c.send(("MULTI",), ("SET", "aof:failed", "1"), ("SET", "aof:failed2", "1"), ("EXEC",))
    [c.read() for _ in range(3)]
    expect(c.read(), None, "EXEC after a watched write")
    time.sleep(0.3)
    cmds = aof_commands(t.aof_glob)
    flat = [x for x in cmds if x[0] != b"SELECT"]
    keys = [x for x in flat if (len(x) > 1 and x[1].startswith(b"aof:")) or x[0] in (b"MULTI", b"EXEC")]
    want = [[b"MULTI"], [b"SET", b"aof:a", b"1"], [b"INCR", b"aof:a"], [b"EXEC"],
            [b"SET", b"aof:b", b"x"], [b"SET", b"aof:a", b"9"]]
    # Keep only our block and the commands after it (the file may hold earlier tests).
    for i in range(len(keys) - len(want), -1, -1):
        if keys[i:i + len(want)] == want:
            break
    else:
        raise Fail("AOF does not hold the expected sequence; tail: %r" % keys[-10:])
    if any(x[1].startswith(b"aof:failed") for x in flat if len(x) > 1):
        raise Fail("a failed transaction reached the AOF")


TESTS = [t_resp3_push, t_fanout, t_many_channels, t_slow_subscriber, t_watch_cas, t_aof_multi]


class Target:
    def __init__(self, spec):
        label, addr = spec.split("=", 1)
        host, port, aofdir = addr.split(":", 2)
        self.label, self.host, self.port = label, host, int(port)
        if os.path.isdir(os.path.join(aofdir, "appendonlydir")):
            self.aof_glob = os.path.join(aofdir, "appendonlydir", "*.incr.aof")
        else:
            self.aof_glob = os.path.join(aofdir, "appendonly.aof")
        self.conns = []
        self.notes = []

    def conn(self):
        c = Conn(self.host, self.port)
        self.conns.append(c)
        return c

    def note(self, s):
        self.notes.append(s)

    def cleanup(self):
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.conns = []
        self.notes = []


def main(argv):
    targets = []
    i = 1
    while i < len(argv):
        if argv[i] == "--target" and i + 1 < len(argv):
            targets.append(Target(argv[i + 1]))
            i += 2
        else:
            print("usage: pubsub_test.py --target LABEL=HOST:PORT:AOFDIR ...", file=sys.stderr)
            return 2
    n, failed = 0, 0
    for tg in targets:
        for test in TESTS:
            n += 1
            name = "%s %s" % (tg.label, test.__name__[2:])
            try:
                c = Conn(tg.host, tg.port)
                c.cmd("FLUSHALL")
                c.close()
                test(tg)
                print("ok %d - %s" % (n, name))
                for note in tg.notes:
                    print("# " + note)
            except (Fail, OSError, EOFError, ValueError) as e:
                failed += 1
                print("not ok %d - %s" % (n, name))
                print("# " + str(e).replace("\n", "\n# "))
            finally:
                tg.cleanup()
            sys.stdout.flush()
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
