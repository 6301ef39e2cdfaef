#!/usr/bin/env python3
"""kv_fake.py - a tiny RESP server, right except for one planted bug, to prove that the
key-value graders (src/grade/kv.c) fail a wrong server. Usage:

    kv_fake.py --port PORT --bug BUG

BUG is one of:
  none        no bug: every grader passes (proves the fake is otherwise good enough)
  nottl       expiry is accepted and reported (TTL/PTTL) but never enforced
  nonx        SET ... NX overwrites a key that exists
  nowatch     WATCH is accepted but a watched key's change never fails EXEC
  nooverflow  INCR/INCRBY wrap around at 2^63 instead of refusing
  nopattern   PSUBSCRIBE is confirmed but pattern subscribers never get messages
  binary      values are cut at the first NUL byte
  badcount    PUBLISH always answers 1, whoever listens

One thread, selectors, RESP2 only: just what the graders use.
"""
import argparse
import fnmatch
import selectors
import socket
import time

INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1


def now_ms():
    return int(time.time() * 1000)


class Err(Exception):
    pass


def enc(v):
    if v is None:
        return b"$-1\r\n"
    if isinstance(v, Status):
        return b"+" + v.s.encode() + b"\r\n"
    if isinstance(v, Err):
        return b"-" + str(v).encode() + b"\r\n"
    if isinstance(v, bool):
        return b":%d\r\n" % int(v)
    if isinstance(v, int):
        return b":%d\r\n" % v
    if isinstance(v, bytes):
        return b"$%d\r\n%s\r\n" % (len(v), v)
    if isinstance(v, NilArray):
        return b"*-1\r\n"
    if isinstance(v, list):
        return b"*%d\r\n" % len(v) + b"".join(enc(x) for x in v)
    raise TypeError(v)


class Status:
    def __init__(self, s):
        self.s = s


class NilArray:
    pass


OK, QUEUED = Status("OK"), Status("QUEUED")
NOTINT = "ERR value is not an integer or out of range"


class Client:
    def __init__(self, sock):
        self.sock, self.buf, self.out = sock, b"", b""
        self.multi, self.queue, self.dirty = False, [], False
        self.watched = set()
        self.channels, self.patterns = set(), set()


class Server:
    def __init__(self, bug):
        self.bug = bug
        self.data = {}  # key -> value (bytes | dict | zset dict)
        self.exp = {}  # key -> unix ms
        self.clients = []

    # ---- keyspace ----
    def alive(self, key):
        t = self.exp.get(key)
        if t is not None and t <= now_ms() and self.bug != "nottl":
            self.delete(key)
        return key in self.data

    def touch(self, key):
        if self.bug == "nowatch":
            return
        for c in self.clients:
            if key in c.watched:
                c.dirty = True

    def delete(self, key):
        if key in self.data:
            del self.data[key]
            self.exp.pop(key, None)
            self.touch(key)
            return True
        return False

    def put(self, key, val, keep_ttl=False):
        if self.bug == "binary" and isinstance(val, bytes):
            val = val.split(b"\0")[0]
        self.data[key] = val
        if not keep_ttl:
            self.exp.pop(key, None)
        self.touch(key)

    def get_int(self, key):
        if not self.alive(key):
            return 0
        try:
            return int(self.data[key])
        except ValueError:
            raise Err(NOTINT)

    def incr(self, key, by):
        v = self.get_int(key) + by
        if v > INT_MAX or v < INT_MIN:
            if self.bug != "nooverflow":
                raise Err("ERR increment or decrement would overflow")
            v = (v + (1 << 63)) % (1 << 64) - (1 << 63)
        self.put(key, str(v).encode(), keep_ttl=True)
        return v

    def ttl(self, key, div):
        if not self.alive(key):
            return -2
        t = self.exp.get(key)
        return -1 if t is None else max(0, (t - now_ms() + div - 1) // div)

    # ---- commands ----
    def call(self, c, a):
        name = a[0].decode().lower()
        f = getattr(self, "c_" + name, None)
        if f is None:
            return Err("ERR unknown command '%s'" % a[0].decode(errors="replace"))
        try:
            return f(c, a[1:])
        except Err as e:
            return e
        except (IndexError, ValueError):
            return Err("ERR wrong number of arguments for '%s' command" % name)

    def c_ping(self, c, a):
        return Status("PONG")

    def c_get(self, c, a):
        return self.data[a[0]] if self.alive(a[0]) else None

    def c_set(self, c, a):
        key, val, opts = a[0], a[1], [x.upper() for x in a[2:]]
        ttl, keep, i = None, False, 0
        while i < len(opts):
            o = opts[i]
            if o in (b"EX", b"PX"):
                ttl = int(a[2 + i + 1]) * (1000 if o == b"EX" else 1)
                i += 1
            elif o == b"KEEPTTL":
                keep = True
            i += 1
        exists = self.alive(key)
        if b"NX" in opts and exists and self.bug != "nonx":
            return None
        if b"XX" in opts and not exists:
            return None
        self.put(key, val, keep_ttl=keep)
        if ttl is not None:
            self.exp[key] = now_ms() + ttl
        return OK

    def c_del(self, c, a):
        return sum(1 for k in a if self.alive(k) and self.delete(k))

    def c_exists(self, c, a):
        return sum(1 for k in a if self.alive(k))

    def c_mget(self, c, a):
        return [self.c_get(c, [k]) if isinstance(self.data.get(k), bytes) or k not in self.data else None for k in a]

    def c_incr(self, c, a):
        return self.incr(a[0], 1)

    def c_decr(self, c, a):
        return self.incr(a[0], -1)

    def c_incrby(self, c, a):
        try:
            by = int(a[1])
        except ValueError:
            raise Err(NOTINT)
        return self.incr(a[0], by)

    def c_decrby(self, c, a):
        return self.incr(a[0], -int(a[1]))

    def c_expire(self, c, a, mult=1000):
        if not self.alive(a[0]):
            return 0
        self.exp[a[0]] = now_ms() + int(a[1]) * mult
        self.touch(a[0])
        return 1

    def c_pexpire(self, c, a):
        return self.c_expire(c, a, 1)

    def c_ttl(self, c, a):
        return self.ttl(a[0], 1000)

    def c_pttl(self, c, a):
        return self.ttl(a[0], 1)

    def hash(self, key, create=False):
        if not self.alive(key):
            if not create:
                return {}
            self.data[key] = {}
        return self.data[key]

    def c_hset(self, c, a):
        h = self.hash(a[0], True)
        n = 0
        for i in range(1, len(a), 2):
            n += a[i] not in h
            h[a[i]] = a[i + 1]
        self.touch(a[0])
        return n

    def c_hget(self, c, a):
        return self.hash(a[0]).get(a[1])

    def c_hgetall(self, c, a):
        return [x for kv in self.hash(a[0]).items() for x in kv]

    def c_hdel(self, c, a):
        h = self.hash(a[0])
        n = sum(1 for f in a[1:] if h.pop(f, None) is not None)
        if not h:
            self.delete(a[0])
        return n

    def c_hincrby(self, c, a):
        h = self.hash(a[0], True)
        h[a[1]] = str(int(h.get(a[1], b"0")) + int(a[2])).encode()
        self.touch(a[0])
        return int(h[a[1]])

    def c_zadd(self, c, a):
        z = self.hash(a[0], True)
        n = 0
        for i in range(1, len(a), 2):
            n += a[i + 1] not in z
            z[a[i + 1]] = float(a[i])
        self.touch(a[0])
        return n

    def c_zcount(self, c, a):
        def bound(b):
            if b in (b"+inf", b"-inf"):
                return float(b), False
            return (float(b[1:]), True) if b.startswith(b"(") else (float(b), False)

        (lo, lox), (hi, hix) = bound(a[1]), bound(a[2])
        return sum(1 for s in self.hash(a[0]).values()
                   if (s > lo if lox else s >= lo) and (s < hi if hix else s <= hi))

    # ---- transactions ----
    def c_multi(self, c, a):
        c.multi, c.queue = True, []
        return OK

    def c_watch(self, c, a):
        c.watched.update(a)
        return OK

    def c_unwatch(self, c, a):
        c.watched, c.dirty = set(), False
        return OK

    def c_discard(self, c, a):
        c.multi, c.queue, c.watched, c.dirty = False, [], set(), False
        return OK

    def c_exec(self, c, a):
        if not c.multi:
            return Err("ERR EXEC without MULTI")
        q, dirty = c.queue, c.dirty
        self.c_discard(c, a)
        if dirty:
            return NilArray()
        return [self.call(c, x) for x in q]

    # ---- pub/sub ----
    def c_subscribe(self, c, a, kind="subscribe", where="channels"):
        out = []
        for ch in a:
            getattr(c, where).add(ch)
            out.append([kind.encode(), ch, len(c.channels) + len(c.patterns)])
        return Multi(out)

    def c_psubscribe(self, c, a):
        return self.c_subscribe(c, a, "psubscribe", "patterns")

    def c_unsubscribe(self, c, a):
        out = []
        for ch in a or sorted(c.channels):
            c.channels.discard(ch)
            out.append([b"unsubscribe", ch, len(c.channels) + len(c.patterns)])
        return Multi(out)

    def c_publish(self, c, a):
        n = 0
        for s in self.clients:
            if a[0] in s.channels:
                s.out += enc([b"message", a[0], a[1]])
                n += 1
            for p in s.patterns:
                if fnmatch.fnmatchcase(a[0].decode("latin-1"), p.decode("latin-1")):
                    if self.bug != "nopattern":
                        s.out += enc([b"pmessage", p, a[0], a[1]])
                    n += 1
        return 1 if self.bug == "badcount" else n

    def c_pubsub(self, c, a):
        sub = a[0].upper()
        if sub == b"NUMSUB":
            return [x for ch in a[1:] for x in (ch, sum(1 for s in self.clients if ch in s.channels))]
        if sub == b"CHANNELS":
            pat = a[1].decode("latin-1") if len(a) > 1 else "*"
            chans = {ch for s in self.clients for ch in s.channels}
            return [ch for ch in chans if fnmatch.fnmatchcase(ch.decode("latin-1"), pat)]
        raise Err("ERR unknown subcommand")


class Multi:
    """Several top-level replies (SUBSCRIBE answers one per channel)."""

    def __init__(self, items):
        self.items = items


def parse(buf):
    """One multibulk command from buf: (args, rest) or (None, buf)."""
    if not buf.startswith(b"*") or b"\r\n" not in buf:
        return None, buf
    head, rest = buf.split(b"\r\n", 1)
    args = []
    for _ in range(int(head[1:])):
        if b"\r\n" not in rest:
            return None, buf
        ln, rest2 = rest.split(b"\r\n", 1)
        n = int(ln[1:])
        if len(rest2) < n + 2:
            return None, buf
        args.append(rest2[:n])
        rest = rest2[n + 2:]
    return args, rest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bug", default="none")
    o = ap.parse_args()
    srv = Server(o.bug)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", o.port))
    ls.listen(128)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select(0.05):
            if key.fileobj is ls:
                s, _ = ls.accept()
                c = Client(s)
                srv.clients.append(c)
                sel.register(s, selectors.EVENT_READ, c)
                continue
            c = key.data
            try:
                d = c.sock.recv(1 << 20)
            except OSError:
                d = b""
            if not d:
                sel.unregister(c.sock)
                c.sock.close()
                srv.clients.remove(c)
                continue
            c.buf += d
            while True:
                args, c.buf = parse(c.buf)
                if not args:
                    break
                name = args[0].lower()
                if c.multi and name not in (b"exec", b"discard", b"multi", b"watch"):
                    c.queue.append(args)
                    c.out += enc(QUEUED)
                    continue
                r = srv.call(c, args)
                if isinstance(r, Multi):
                    c.out += b"".join(enc(x) for x in r.items)
                elif isinstance(r, list) and name == b"exec":
                    c.out += b"*%d\r\n" % len(r) + b"".join(
                        b"".join(enc(y) for y in x.items) if isinstance(x, Multi) else enc(x) for x in r)
                else:
                    c.out += enc(r)
        for c in srv.clients:
            if c.out:
                try:
                    c.sock.setblocking(True)
                    c.sock.sendall(c.out)
                except OSError:
                    pass
                c.out = b""


if __name__ == "__main__":
    main()
