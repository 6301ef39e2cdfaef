"""tfb_check.py - HTTP checks for tests/examples/tfb.sh, by TechEmpower's validation rules.

  tfb_check.py world URL N [T]   GET URL (T times, default 1, on one keep-alive connection):
                                 200, application/json, Date and Content-Length,
                                 a JSON array of N objects (N=0: one object, /db), each with
                                 exactly the keys id and randomNumber, integers in 1..10000;
                                 prints "id randomNumber" per row
  tfb_check.py fortunes URL FILE GET URL: 200, text/html; charset=utf-8, body == FILE's bytes
  tfb_check.py head URL          HEAD URL: 200, Content-Length > 0, no body
  tfb_check.py load URL N THREADS  N GETs of URL over THREADS keep-alive connections: all 200
                                 with a valid world array
Exits 1 with the reason on stderr when a check fails.
"""
import http.client
import json
import sys
import threading
import urllib.parse


def fail(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(1)


def get(url, method="GET", conn=None):
    u = urllib.parse.urlsplit(url)
    c = conn or http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    path = u.path + ("?" + u.query if u.query else "")
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body, c


def check_world_obj(o):
    if type(o) is not dict:
        return "not an object: %r" % (o,)
    if set(o.keys()) != {"id", "randomNumber"}:
        return "keys %r, want exactly id and randomNumber" % sorted(o.keys())
    for k in ("id", "randomNumber"):
        if type(o[k]) is not int or not 1 <= o[k] <= 10000:
            return "%s=%r is not an integer in 1..10000" % (k, o[k])
    return None


def check_world(status, headers, body, n):
    if status != 200:
        return "status %d: %r" % (status, body[:300])
    ct = headers.get("content-type", "")
    if not (ct == "application/json" or ct.lower().replace(" ", "") == "application/json;charset=utf-8"):
        return "Content-Type %r" % ct
    for h in ("date", "content-length"):
        if h not in headers:
            return "no %s header" % h
    try:
        doc = json.loads(body)
    except ValueError as e:
        return "invalid JSON (%s): %r" % (e, body[:200])
    rows = [doc] if n == 0 else doc
    if n == 0 and type(doc) is not dict:
        return "/db must answer an object, got %r" % body[:80]
    if n > 0 and (type(doc) is not list or len(doc) != n):
        return "want an array of %d, got %r" % (n, body[:120])
    for o in rows:
        bad = check_world_obj(o)
        if bad:
            return bad
    return rows


def world(url, n, times="1"):
    c = None
    for _ in range(int(times)):
        status, headers, body, c = get(url, conn=c)
        rows = check_world(status, headers, body, int(n))
        if type(rows) is str:
            fail(url + ": " + rows)
        for o in rows:
            print(o["id"], o["randomNumber"])
    c.close()


def fortunes(url, path):
    status, headers, body, c = get(url)
    c.close()
    want = open(path, "rb").read()
    if status != 200:
        fail("status %d" % status)
    if headers.get("content-type", "").lower().replace(" ", "") != "text/html;charset=utf-8":
        fail("Content-Type %r" % headers.get("content-type"))
    if body != want:
        fail("body differs:\n got: %r\nwant: %r" % (body, want))


def head(url):
    status, headers, body, c = get(url, "HEAD")
    c.close()
    if status != 200 or body != b"" or int(headers.get("content-length", "0")) <= 0:
        fail("HEAD: status %d, Content-Length %r, body %r" % (status, headers.get("content-length"), body[:80]))


def load(url, total, threads):
    total, threads = int(total), int(threads)
    n = int(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("queries", ["1"])[0])
    errors = []
    per = total // threads

    def run():
        c = None
        for _ in range(per):
            try:
                status, headers, body, c = get(url, conn=c)
            except Exception as e:  # noqa: BLE001 - report any client failure
                errors.append(repr(e))
                return
            rows = check_world(status, headers, body, n)
            if type(rows) is str:
                errors.append(rows)
                return
        if c:
            c.close()

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        fail("%d failures, first: %s" % (len(errors), errors[0]))


if __name__ == "__main__":
    cmds = {"world": world, "fortunes": fortunes, "head": head, "load": load}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        fail(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
