#!/usr/bin/env python3
"""blog_replica.py - read-your-writes of `strata example blog --db-replica` (Q116).

Usage: blog_replica.py BASE_URL REPLICA_URL
The app reads from the replica and writes to the primary. Checks: 50 times, a post created
then read at once by the same client is found (the read waits for the replica's replay or
falls back to the primary); with the replica's replay paused, the writer still reads its
own post while another client, reading the replica, does not see it yet - which proves the
reads really go to the replica; after resuming, everyone sees it. Prints TAP lines.
"""
import http.client
import json
import subprocess
import sys
import time
import urllib.parse

BASE, REPLICA = sys.argv[1], sys.argv[2]
U = urllib.parse.urlsplit(BASE)
N = 0
FAILED = 0


def tap(ok, name, info=""):
    global N, FAILED
    N += 1
    FAILED += not ok
    print(("ok" if ok else "not ok"), N, "-", name)
    if not ok and info:
        print("#", str(info)[:1000])
    sys.stdout.flush()


def req(method, path, key, body=None):
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=30)
    h = {"X-API-Key": key}
    raw = None
    if body is not None:
        raw = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c.request(method, path, body=raw, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data else None)


def replica_sql(sql):
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", REPLICA, "-c", sql], capture_output=True, text=True,
                          check=True).stdout.strip()


st, user = req("POST", "/api/v1/users", "writer", {"name": "Writer", "email": f"w{time.time_ns()}@x.org"})
tap(st == 201, "a user is created through the primary", (st, user))
misses = []
for i in range(50):
    st, p = req("POST", "/api/v1/posts", "writer", {"author_id": user["id"], "title": f"t{i}", "body": "b"})
    st2, _ = req("GET", f"/api/v1/posts/{p['id']}", "writer")
    if st != 201 or st2 != 200:
        misses.append((i, st, st2))
tap(not misses, "50 times: a post read right after its creation is found", misses)

replica_sql("SELECT pg_wal_replay_pause()")
st, p = req("POST", "/api/v1/posts", "writer", {"author_id": user["id"], "title": "paused", "body": "b"})
t0 = time.monotonic()
st2, got = req("GET", f"/api/v1/posts/{p['id']}", "writer")
waited = time.monotonic() - t0
tap(st == 201 and st2 == 200 and got["title"] == "paused",
    f"replay paused: the writer still reads its own write (from the primary after {waited:.2f} s)", (st, st2))
tap(0.5 <= waited <= 5, "it waited for the replica before falling back (about 1 s)", waited)
st3, _ = req("GET", f"/api/v1/posts/{p['id']}", "bystander")
tap(st3 == 404, "another client reads the paused replica: the post is not there yet", st3)
replica_sql("SELECT pg_wal_replay_resume()")
for _ in range(50):
    st3, _ = req("GET", f"/api/v1/posts/{p['id']}", "bystander")
    if st3 == 200:
        break
    time.sleep(0.1)
tap(st3 == 200, "after the replay resumes, every client sees it", st3)
st, lst = req("GET", "/api/v1/posts?limit=1&sort=-id", "bystander")
tap(st == 200 and lst["data"][0]["id"] == p["id"], "lists read the replica too, and are current", lst and lst["data"][:1])
print(f"# {N} checks, {FAILED} failed")
sys.exit(1 if FAILED else 0)
