#!/usr/bin/env python3
"""run_cases.py - run `strata kv` case files against Redis-compatible servers; TAP output.

Usage: run_cases.py --target LABEL=HOST:PORT [--target ...] FILE...

Every FILE is run against every target (stdlib only, a small RESP2/RESP3 client). One TAP
line per block per target; the exit status is 1 if anything failed. The same expectations
must pass on redis-server and on strata kv: that is what proves a case right.

CASE-FILE SYNTAX (one item per line; blank lines and lines starting with # are ignored)

  @test NAME          start a block (one TAP line). Lines before the first @test form a
                      block named after the file. Each file starts on fresh connections
                      after a FLUSHALL; a block's failure does not stop the next block.
  > CMD ARGS...       send a command (shell-like quoting: "a b", 'x', "\\r\\n\\x00" escapes in
                      double quotes) and read ONE reply, matched against the next line.
  >> CMD ARGS...      queue a command; the queue is written in one send(2) (pipelining) at
                      the next > or @read, and its replies are matched in order against the
                      expectation lines that follow each >> line.
  >| CMD ARGS...      send a command and do not read its reply now (blocking commands,
                      SUBSCRIBE); read it later with @read.
  >raw "BYTES"        send raw bytes (double-quoted, with escapes); every following
                      expectation line reads one reply (zero lines: read nothing).
  @read               read one reply on the current connection, match the next line.
  @noreply MS         pass if nothing arrives on the current connection within MS ms.
  @closed             pass if the server closes the current connection (within 5 s).
  @conn NAME          switch to connection NAME (opened on first use); "main" at start.
  @close              close the current connection (it reopens on next use).
  @sleep MS           sleep.
  @flushall           FLUSHALL on the current connection, expecting +OK.
  @if LABEL / @endif  lines between run only against the target labelled LABEL (rare:
                      prefer expectations that hold on both servers).

A line starting with # is a comment unless it is exactly #t or #f.

EXPECTATION NOTATION (one reply per line; an aggregate may span lines while its brackets
are open)

  +OK            status (bare word, or +"text with spaces, commas")
  -ERR text      error, exact (top level: the rest of the line); a trailing * matches a
                 prefix: -WRONGTYPE*   Inside aggregates quote it: -"ERR x, y". Trailing
                 spaces are significant in Redis errors but editors drop them: quote
                 such errors, -"ERR unknown command 'x', with args beginning with: "
  :5  :1..100    integer, exact or an inclusive range
  word  "a b"    bulk string (bare word: no spaces or , [ ] { }); "" is the empty bulk;
                 double-quoted strings take \\r \\n \\t \\" \\\\ \\xHH escapes
  nil            any null ($-1, *-1 or RESP3 _);  $-1  *-1  _  a null of exactly that kind
  [a, b, :1]     array, in order; nested freely: [[a, :1], []]
  ^[a, b]        array (or RESP3 set) whose elements match in any order (SMEMBERS, KEYS)
  ~[a, b]        RESP3 set, any order
  >[a, b]        RESP3 push (pub/sub messages), in order
  {k => v}       RESP3 map, pairs in any order
  *{k => v}      RESP2 flat array of key/value pairs, pairs in any order (HGETALL)
  ,3.5  ,inf     RESP3 double (compared as numbers)
  #t  #f         RESP3 boolean
  =txt "text"    RESP3 verbatim string with its format
  r"REGEX"       a bulk, status or verbatim string in which REGEX is found (re.search;
                 backslashes are the regex's own, \\" is a quote)
  ?              any single reply
"""
import os
import re
import select
import shlex
import socket
import sys
import time


class CaseError(Exception):
    pass


# ---- RESP client ------------------------------------------------------------------------


class Conn:
    def __init__(self, host, port, timeout):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            raise CaseError("timeout waiting for a reply")
        except ConnectionResetError:
            raise CaseError("connection reset")
        if not chunk:
            raise CaseError("connection closed by the server")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        if not line:
            raise CaseError("empty reply line")
        t, rest = chr(line[0]), line[1:]
        if t == "+":
            return ("status", rest.decode("latin-1"))
        if t == "-":
            return ("error", rest.decode("latin-1"))
        if t == ":":
            return ("int", int(rest))
        if t == "(":
            return ("big", rest.decode())
        if t == ",":
            return ("double", rest.decode())
        if t == "#":
            return ("bool", rest == b"t")
        if t == "_":
            return ("null", "_")
        if t in "$=!":
            n = int(rest)
            if n < 0:
                return ("null", "$")
            data = self._exact(n)
            if t == "=":
                return ("verbatim", data[:3].decode(), data[4:])
            if t == "!":
                return ("error", data.decode("latin-1"))
            return ("bulk", data)
        if t in "*~>%|":
            n = int(rest)
            if n < 0:
                return ("null", "*")
            if t in "%|":
                pairs = [(self.read(), self.read()) for _ in range(n)]
                if t == "|":  # attribute: skip, the reply follows
                    return self.read()
                return ("map", pairs)
            items = [self.read() for _ in range(n)]
            return ({"*": "array", "~": "set", ">": "push"}[t], items)
        raise CaseError("bad reply type byte %r in %r" % (t, line[:60]))

    def wait_silent(self, ms):
        if self.buf:
            return False
        r, _, _ = select.select([self.s], [], [], ms / 1000.0)
        return not r

    def wait_closed(self, secs=5.0):
        deadline = time.time() + secs
        while time.time() < deadline:
            r, _, _ = select.select([self.s], [], [], max(0.0, deadline - time.time()))
            if not r:
                break
            try:
                chunk = self.s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False


def encode_cmd(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def unescape(s):
    """Double-quoted text with \\r \\n \\t \\" \\\\ \\xHH escapes -> bytes."""
    out = bytearray()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x" and i + 3 < len(s) + 1:
                out += bytes([int(s[i + 2:i + 4], 16)])
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0"}.get(n, n.encode("latin-1"))
            i += 2
            continue
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def split_command(text):
    """Shell-like words; double-quoted words get backslash escapes, single-quoted are literal."""
    words, i, n = [], 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return words
        cur = bytearray()
        while i < n and not text[i].isspace():
            q = text[i]
            if q in "\"'":
                j = i + 1
                raw = []
                while j < n and text[j] != q:
                    if q == '"' and text[j] == "\\" and j + 1 < n:
                        raw.append(text[j:j + 2])
                        j += 2
                        continue
                    raw.append(text[j])
                    j += 1
                if j >= n:
                    raise CaseError("unbalanced quotes in: " + text)
                body = "".join(raw)
                cur += unescape(body) if q == '"' else body.encode("utf-8")
                i = j + 1
            else:
                cur += text[i].encode("utf-8")
                i += 1
        words.append(bytes(cur))


# ---- expectations -----------------------------------------------------------------------

STOP = set(",[]{}")


class Parser:
    def __init__(self, text):
        self.t = text
        self.i = 0

    def ws(self):
        while self.i < len(self.t) and self.t[self.i].isspace():
            self.i += 1

    def peek(self, s):
        return self.t.startswith(s, self.i)

    def quoted(self):
        assert self.t[self.i] == '"'
        j = self.i + 1
        while j < len(self.t) and self.t[j] != '"':
            j += 2 if self.t[j] == "\\" else 1
        if j >= len(self.t):
            raise CaseError("unterminated string in expectation: " + self.t)
        body = self.t[self.i + 1:j]
        self.i = j + 1
        return unescape(body)

    def raw_quoted(self):
        """A quoted regex: only \\" is special (it stands for a quote), the rest is kept."""
        j = self.i + 1
        while j < len(self.t) and self.t[j] != '"':
            j += 2 if self.t[j] == "\\" else 1
        if j >= len(self.t):
            raise CaseError("unterminated regex in expectation: " + self.t)
        body = self.t[self.i + 1:j].replace('\\"', '"')
        self.i = j + 1
        return body

    def word(self, top):
        j = self.i
        while j < len(self.t) and not self.t[j].isspace() and (top or self.t[j] not in STOP):
            j += 1
        w = self.t[self.i:j]
        self.i = j
        return w

    def text_after_sigil(self, top):
        """Text of a status or error: quoted, or the rest of the line at top level, or a word."""
        if self.i < len(self.t) and self.t[self.i] == '"':
            return self.quoted().decode("latin-1")
        if top:
            w = self.t[self.i:].rstrip()
            self.i = len(self.t)
            return w
        return self.word(False)

    def items(self, close):
        out = []
        self.ws()
        if self.peek(close):
            self.i += 1
            return out
        while True:
            out.append(self.value(False))
            self.ws()
            if self.peek(","):
                self.i += 1
                continue
            if self.peek(close):
                self.i += 1
                return out
            raise CaseError("expected ',' or '%s' at column %d of: %s" % (close, self.i, self.t))

    def pairs(self):
        out = []
        self.ws()
        if self.peek("}"):
            self.i += 1
            return out
        while True:
            k = self.value(False)
            self.ws()
            if not self.peek("=>"):
                raise CaseError("expected '=>' at column %d of: %s" % (self.i, self.t))
            self.i += 2
            v = self.value(False)
            out.append((k, v))
            self.ws()
            if self.peek(","):
                self.i += 1
                continue
            if self.peek("}"):
                self.i += 1
                return out
            raise CaseError("expected ',' or '}' at column %d of: %s" % (self.i, self.t))

    def value(self, top):
        self.ws()
        t = self.t
        if self.i >= len(t):
            raise CaseError("missing expectation")
        c = t[self.i]
        two = t[self.i:self.i + 2]
        if two in ("^[", "~[", ">["):
            self.i += 2
            kind = {"^[": "unordered", "~[": "set", ">[": "push"}[two]
            return (kind, self.items("]"))
        if two == "*{":
            self.i += 2
            return ("flatmap", self.pairs())
        if two == "r\"":
            self.i += 1
            return ("regex", re.compile(self.raw_quoted(), re.S))
        if two == "=t" or (c == "=" and self.t[self.i + 1:self.i + 2].isalpha()):
            self.i += 1
            fmt = self.word(False)
            self.ws()
            return ("verbatim", fmt, self.quoted())
        if c == "[":
            self.i += 1
            return ("array", self.items("]"))
        if c == "{":
            self.i += 1
            return ("map", self.pairs())
        if c == '"':
            return ("bulk", self.quoted())
        if c == "+":
            self.i += 1
            return ("status", self.text_after_sigil(top))
        if c == "-":
            self.i += 1
            s = self.text_after_sigil(top)
            if s.endswith("*"):
                return ("errprefix", s[:-1])
            return ("error", s)
        if c == ":":
            self.i += 1
            w = self.word(False)
            if ".." in w:
                lo, hi = w.split("..")
                return ("intrange", int(lo), int(hi))
            return ("int", int(w))
        if c == ",":
            self.i += 1
            return ("double", float(self.word(False)))
        if c == "#":
            self.i += 1
            return ("bool", self.word(False) == "t")
        w = self.word(False)
        if w == "?":
            return ("any",)
        if w == "nil":
            return ("anynull",)
        if w in ("$-1", "*-1", "_"):
            return ("null", w[0])
        if not w:
            raise CaseError("cannot parse expectation at column %d: %s" % (self.i, t))
        return ("bulk", w.encode("utf-8"))


def parse_expect(text):
    p = Parser(text)
    v = p.value(True)
    p.ws()
    if p.i != len(text):
        raise CaseError("trailing text in expectation: " + text[p.i:])
    return v


def brackets_open(text):
    """How many [ { are open (outside quotes), to join multi-line expectations."""
    depth, i, q = 0, 0, False
    while i < len(text):
        ch = text[i]
        if q:
            if ch == "\\":
                i += 1
            elif ch == '"':
                q = False
        elif ch == '"':
            q = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return depth


def show(v):
    """A reply in the expectation notation, for failure messages."""
    k = v[0]
    if k == "status":
        return "+" + v[1]
    if k == "error":
        return "-" + v[1]
    if k == "int":
        return ":%d" % v[1]
    if k == "bulk":
        return '"' + v[1].decode("latin-1").encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if k == "null":
        return {"$": "$-1", "*": "*-1", "_": "_"}[v[1]]
    if k in ("array", "set", "push"):
        pre = {"array": "", "set": "~", "push": ">"}[k]
        return pre + "[" + ", ".join(show(x) for x in v[1]) + "]"
    if k == "map":
        return "{" + ", ".join(show(a) + " => " + show(b) for a, b in v[1]) + "}"
    if k == "double":
        return "," + v[1]
    if k == "bool":
        return "#t" if v[1] else "#f"
    if k == "verbatim":
        return "=%s %s" % (v[1], show(("bulk", v[2])))
    if k == "big":
        return "(" + v[1]
    return repr(v)


def match(e, v):
    k = e[0]
    if k == "any":
        return True
    if k == "anynull":
        return v[0] == "null"
    if k == "null":
        return v == ("null", e[1])
    if k in ("status", "error", "int", "bulk", "bool"):
        return v == e
    if k == "errprefix":
        return v[0] == "error" and v[1].startswith(e[1])
    if k == "intrange":
        return v[0] == "int" and e[1] <= v[1] <= e[2]
    if k == "double":
        if v[0] != "double":
            return False
        try:
            return float(v[1]) == e[1]
        except ValueError:
            return False
    if k == "verbatim":
        return v[0] == "verbatim" and v[1] == e[1] and v[2] == e[2]
    if k == "regex":
        if v[0] == "bulk" or v[0] == "verbatim":
            s = v[-1].decode("latin-1")
        elif v[0] == "status":
            s = v[1]
        else:
            return False
        return e[1].search(s) is not None
    if k in ("array", "set", "push"):
        return v[0] == k and len(v[1]) == len(e[1]) and all(match(a, b) for a, b in zip(e[1], v[1]))
    if k == "unordered":
        return v[0] in ("array", "set") and unordered(e[1], v[1])
    if k == "map":
        return v[0] == "map" and unordered_pairs(e[1], v[1])
    if k == "flatmap":
        if v[0] != "array" or len(v[1]) % 2:
            return False
        got = [(v[1][i], v[1][i + 1]) for i in range(0, len(v[1]), 2)]
        return unordered_pairs(e[1], got)
    return False


def unordered(exp, got):
    if len(exp) != len(got):
        return False
    left = list(got)
    for e in exp:
        for i, g in enumerate(left):
            if match(e, g):
                del left[i]
                break
        else:
            return False
    return True


def unordered_pairs(exp, got):
    if len(exp) != len(got):
        return False
    left = list(got)
    for ek, ev in exp:
        for i, (gk, gv) in enumerate(left):
            if match(ek, gk) and match(ev, gv):
                del left[i]
                break
        else:
            return False
    return True


# ---- case files -------------------------------------------------------------------------


class Step:
    def __init__(self, kind, lineno, arg=None):
        self.kind = kind
        self.lineno = lineno
        self.arg = arg
        self.expects = []  # [(lineno, text)]


def load(path, label):
    """Parse path into blocks [(name, [Step])] for the target label."""
    blocks = []
    cur = (os.path.basename(path), [])
    skipping = []
    pending = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        line = raw.strip()
        if not line or (line.startswith("#") and line not in ("#t", "#f")):
            continue
        if line.startswith("@if "):
            skipping.append(line[4:].strip() != label)
            continue
        if line == "@endif":
            if not skipping:
                raise CaseError("%s:%d: @endif without @if" % (path, lineno))
            skipping.pop()
            continue
        if any(skipping):
            continue
        if line.startswith("@test"):
            if cur[1] or blocks:
                blocks.append(cur)
            cur = (line[5:].strip() or "block at line %d" % lineno, [])
            continue
        if line.startswith(">"):
            if line.startswith(">raw"):
                st = Step("raw", lineno, line[4:].strip())
            elif line.startswith(">>"):
                st = Step("queue", lineno, line[2:].strip())
            elif line.startswith(">|"):
                st = Step("send", lineno, line[2:].strip())
            else:
                st = Step("cmd", lineno, line[1:].strip())
            if not st.arg:
                raise CaseError("%s:%d: empty command" % (path, lineno))
            cur[1].append(st)
            pending = st
            continue
        if line.startswith("@"):
            word, _, arg = line[1:].partition(" ")
            if word not in ("read", "noreply", "closed", "conn", "close", "sleep", "flushall"):
                raise CaseError("%s:%d: unknown directive @%s" % (path, lineno, word))
            st = Step(word, lineno, arg.strip())
            cur[1].append(st)
            pending = st if word == "read" else None
            continue
        # an expectation line, maybe continued while brackets are open
        text = line
        while brackets_open(text) > 0 and i < len(lines):
            text += " " + lines[i].strip()
            i += 1
        if pending is None:
            raise CaseError("%s:%d: expectation without a command: %s" % (path, lineno, line))
        pending.expects.append((lineno, text))
    if cur[1] or not blocks:
        blocks.append(cur)
    for _, steps in blocks:
        for st in steps:
            want = {"cmd": 1, "queue": 1, "read": 1}.get(st.kind)
            if want is not None and len(st.expects) != want:
                raise CaseError("%s:%d: needs exactly one expectation line" % (path, st.lineno))
            if st.kind == "send" and st.expects:
                raise CaseError("%s:%d: >| reads nothing (use @read)" % (path, st.lineno))
    return blocks


class Runner:
    def __init__(self, host, port, path, timeout=10.0):
        self.host, self.port, self.path = host, port, path
        self.timeout = timeout
        self.conns = {}
        self.cur = "main"
        self.queued = []  # [(step)] sent together at the next flush

    def conn(self):
        c = self.conns.get(self.cur)
        if c is None:
            c = Conn(self.host, self.port, self.timeout)
            self.conns[self.cur] = c
        return c

    def close_all(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}
        self.cur = "main"
        self.queued = []

    def fail(self, st, lineno, sent, exp, got):
        raise CaseError("%s:%d: sent %s\n  expected: %s\n  got:      %s" % (self.path, lineno, sent, exp, got))

    def check(self, st, lineno, text, sent):
        exp = parse_expect(text)
        got = self.conn().read()
        if not match(exp, got):
            self.fail(st, lineno, sent, text, show(got))

    def flush_queue(self):
        if not self.queued:
            return
        q, self.queued = self.queued, []
        self.conn().send(b"".join(encode_cmd(split_command(st.arg)) for st in q))
        for st in q:
            lineno, text = st.expects[0]
            self.check(st, lineno, text, st.arg)

    def step(self, st):
        if st.kind != "queue":
            self.flush_queue()
        k = st.kind
        if k == "queue":
            self.queued.append(st)
        elif k in ("cmd", "send"):
            self.conn().send(encode_cmd(split_command(st.arg)))
            if k == "cmd":
                lineno, text = st.expects[0]
                self.check(st, lineno, text, st.arg)
        elif k == "raw":
            if not st.arg.startswith('"') or not st.arg.endswith('"'):
                raise CaseError("%s:%d: >raw takes one double-quoted string" % (self.path, st.lineno))
            self.conn().send(unescape(st.arg[1:-1]))
            for lineno, text in st.expects:
                self.check(st, lineno, text, "raw " + st.arg)
        elif k == "read":
            lineno, text = st.expects[0]
            self.check(st, lineno, text, "(@read)")
        elif k == "noreply":
            if not self.conn().wait_silent(int(st.arg or "100")):
                got = show(self.conn().read())
                self.fail(st, st.lineno, "(@noreply)", "no reply", got)
        elif k == "closed":
            if not self.conn().wait_closed():
                self.fail(st, st.lineno, "(@closed)", "connection closed", "still open")
            self.conns.pop(self.cur).close()
        elif k == "conn":
            self.cur = st.arg or "main"
        elif k == "close":
            c = self.conns.pop(self.cur, None)
            if c:
                c.close()
        elif k == "sleep":
            time.sleep(int(st.arg) / 1000.0)
        elif k == "flushall":
            self.conn().send(encode_cmd([b"FLUSHALL"]))
            self.check(st, st.lineno, "+OK", "FLUSHALL")

    def run_block(self, steps):
        for st in steps:
            self.step(st)
        self.flush_queue()


def run_file(label, host, port, path, emit):
    try:
        blocks = load(path, label)
    except (CaseError, OSError) as e:
        emit(False, "%s %s: cannot load" % (label, path), str(e))
        return
    r = Runner(host, port, path)
    first = True
    for name, steps in blocks:
        try:
            if first:
                c = r.conn()
                c.send(encode_cmd([b"FLUSHALL"]))
                c.read()
                first = False
            r.run_block(steps)
            emit(True, "%s %s: %s" % (label, os.path.basename(path), name), "")
        except (CaseError, OSError, ValueError) as e:
            emit(False, "%s %s: %s" % (label, os.path.basename(path), name), str(e))
            r.close_all()  # a failed block may leave replies in flight
        except Exception as e:  # a bug in a case or the runner: report it, go on
            emit(False, "%s %s: %s" % (label, os.path.basename(path), name), "runner error: %r" % (e,))
            r.close_all()
    r.close_all()


def main(argv):
    targets, files = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--target" and i + 1 < len(argv):
            label, _, hp = argv[i + 1].partition("=")
            host, _, port = hp.rpartition(":")
            targets.append((label, host or "127.0.0.1", int(port)))
            i += 2
        elif argv[i] in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(argv[i])
            i += 1
    if not targets or not files:
        sys.stderr.write("usage: run_cases.py --target LABEL=HOST:PORT [...] FILE...\n")
        return 2
    state = {"n": 0, "failed": 0}

    def emit(ok, name, detail):
        state["n"] += 1
        if ok:
            print("ok %d - %s" % (state["n"], name))
        else:
            state["failed"] += 1
            print("not ok %d - %s" % (state["n"], name))
            for line in detail.splitlines():
                print("# " + line)
        sys.stdout.flush()

    for path in files:
        for label, host, port in targets:
            run_file(label, host, port, path, emit)
    print("1..%d" % state["n"])
    return 1 if state["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
