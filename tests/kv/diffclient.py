"""diffclient.py - the small RESP2/RESP3 client of the differential tests (listdiff.py,
setdiff.py): a connection is [socket, unread bytes]; call() sends one command and returns its
reply as bytes (bulk), None (null), (type, text) for simple values, or (type, [items])."""
import socket


def conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return [s, b""]


def enc(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def fill(c):
    d = c[0].recv(65536)
    if not d:
        raise EOFError("connection closed")
    c[1] += d


def readline(c):
    while b"\r\n" not in c[1]:
        fill(c)
    line, c[1] = c[1].split(b"\r\n", 1)
    return line


def readn(c, n):
    while len(c[1]) < n + 2:
        fill(c)
    d, c[1] = c[1][:n], c[1][n + 2:]
    return d


def reply(c):
    line = readline(c)
    t, r = line[:1], line[1:]
    if t in (b"+", b"-", b":", b",", b"_", b"#"):
        return (t, r)
    if t == b"$":
        n = int(r)
        return None if n < 0 else readn(c, n)
    if t in (b"*", b"~", b"%"):
        n = int(r)
        if n < 0:
            return None
        return (t, [reply(c) for _ in range(n * (2 if t == b"%" else 1))])
    raise ValueError(line)


def call(c, args):
    c[0].sendall(enc(args))
    return reply(c)
