#!/usr/bin/env python3
"""blog_check.py - black-box checks of `strata example blog` against docs/blog-api.md.

Usage: blog_check.py BASE_URL DB_URL
Prints TAP lines ("ok N - ..." / "not ok N - ...") without a plan; tests/examples/blog.sh
counts them. The server must run with --rate-limit high (except the rate-limit checks, which
use their own API keys) and --debug-queries (X-Query-Count). Every response body of a
resource is validated against the schemas of the server's own OpenAPI document, so the
document and the answers cannot drift apart (Q76, Q77).
"""
import http.client
import json
import random
import re
import sys
import threading
import urllib.parse

BASE = sys.argv[1].rstrip("/")
DB = sys.argv[2]
U = urllib.parse.urlsplit(BASE)
N = 0
FAILED = 0


def tap(ok, name, info=""):
    global N, FAILED
    N += 1
    if not ok:
        FAILED += 1
    print(("ok" if ok else "not ok"), N, "-", name)
    if not ok and info:
        for line in str(info)[:2000].splitlines():
            print("#", line)
    sys.stdout.flush()


def req(method, path, body=None, headers=None, raw=None):
    c = http.client.HTTPConnection(U.hostname, U.port, timeout=30)
    h = {"X-API-Key": "blog-check"}
    if body is not None:
        raw = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    c.request(method, path, body=raw, headers=h)
    r = c.getresponse()
    data = r.read()
    hdr = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    js = None
    if data and hdr.get("content-type", "").split(";")[0].endswith("json"):
        js = json.loads(data)
    return r.status, hdr, js, data


RUN = "".join(random.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))  # unique per run: the check can rerun on one database
V1 = "/api/v1"
V2 = "/api/v2"

# ---- schemas from the OpenAPI document ----
st, _, DOC1, _ = req("GET", V1 + "/openapi.json")
tap(st == 200 and DOC1.get("openapi", "").startswith("3.1"), "GET /api/v1/openapi.json is OpenAPI 3.1")
st, _, DOC2, _ = req("GET", V2 + "/openapi.json")
tap(st == 200 and DOC2["info"]["version"].startswith("2"), "GET /api/v2/openapi.json is the v2 document")
SCHEMAS = {1: DOC1["components"]["schemas"], 2: DOC2["components"]["schemas"]}


def conform(v, s, schemas, path="$"):
    """The problems of v under JSON Schema s (the subset the server emits)."""
    if "$ref" in s:
        s = schemas[s["$ref"].split("/")[-1]]
    t = s.get("type")
    types = t if isinstance(t, list) else [t] if t else []
    if v is None:
        return [] if "null" in types or not types else [f"{path}: null"]
    py = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}
    if types and not any(isinstance(v, py[x]) and not (x in ("integer", "number") and isinstance(v, bool))
                         for x in types if x in py):
        return [f"{path}: {type(v).__name__} is not {types}"]
    out = []
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                out.append(f"{path}.{k}: missing")
        for k, x in v.items():
            if k in props:
                out += conform(x, props[k], schemas, f"{path}.{k}")
            elif s.get("additionalProperties") is False:
                out.append(f"{path}.{k}: not in the schema")
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            out += conform(x, s["items"], schemas, f"{path}[{i}]")
    if isinstance(v, str):
        if "enum" in s and v not in s["enum"]:
            out.append(f"{path}: {v!r} not in enum")
        if "pattern" in s and not re.search(s["pattern"], v):
            out.append(f"{path}: {v!r} does not match {s['pattern']}")
        if "maxLength" in s and len(v) > s["maxLength"]:
            out.append(f"{path}: too long")
    return out


def valid(name, v, api=1):
    probs = conform(v, {"$ref": "#/components/schemas/" + name}, SCHEMAS[api])
    return not probs, probs


def problem_ok(js, status, code):
    return (isinstance(js, dict) and js.get("status") == status and js.get("code") == code
            and "title" in js and "type" in js)


# ---- users ----
st, h, u1, _ = req("POST", V1 + "/users", {"name": "Ada", "email": f"Ada.{RUN}@Example.org"})
tap(st == 201 and h.get("location") == f"{V1}/users/{u1['id']}", "POST /users: 201 with Location", (st, h, u1))
ok, probs = valid("User", u1)
tap(ok, "a created user conforms to the User schema", probs)
tap(u1["links"] == {"self": f"{V1}/users/{u1['id']}", "posts": f"{V1}/users/{u1['id']}/posts"}, "a user links to itself and its posts", u1)
st, _, js, _ = req("POST", V1 + "/users", {"name": "Other", "email": f"ada.{RUN}@example.ORG"})
tap(st == 409 and problem_ok(js, 409, "email_taken"), "the same email in another case is 409 email_taken", (st, js))
st, _, js, _ = req("POST", V1 + "/users", {"name": 5, "email": "nope", "admin": True})
fields = sorted(e["field"] for e in (js or {}).get("errors", []))
tap(st == 422 and problem_ok(js, 422, "validation_failed") and fields == ["admin", "email", "name"],
    "a body with three bad fields: 422 listing all three", (st, js))
st, _, js, _ = req("POST", V1 + "/users", raw=b'{"name": "x",', headers={"Content-Type": "application/json"})
tap(st == 400 and problem_ok(js, 400, "malformed_json"), "malformed JSON: 400 malformed_json", (st, js))
st, _, js, _ = req("POST", V1 + "/users", raw=b'name=x', headers={"Content-Type": "application/x-www-form-urlencoded"})
tap(st == 415 and problem_ok(js, 415, "unsupported_media_type"), "a form body: 415", (st, js))
st, _, js, _ = req("POST", V1 + "/users", raw=b'[1,2]', headers={"Content-Type": "application/json"})
tap(st == 400 and problem_ok(js, 400, "malformed_json"), "a JSON array body: 400", (st, js))
st, _, js, _ = req("POST", V1 + "/users", {"name": "Robert'); DROP TABLE users;--", "email": f"bobby.{RUN}@tables.org"})
tap(st == 201 and js["name"] == "Robert'); DROP TABLE users;--", "SQL metacharacters are stored as data", (st, js))
st, _, js, _ = req("GET", V1 + "/users/999999999")
tap(st == 404 and problem_ok(js, 404, "not_found"), "GET a missing user: 404 not_found", (st, js))
for bad in ("abc", "0", "-1", "1e3", "99999999999999999999"):
    st, _, js, _ = req("GET", V1 + "/users/" + bad)
    tap(st == 404, f"GET /users/{bad}: 404", (st, js))
st, _, js, _ = req("PATCH", f"{V1}/users/{u1['id']}", {"name": "Ada L."})
tap(st == 200 and js["name"] == "Ada L." and js["email"] == f"Ada.{RUN}@Example.org", "PATCH /users/:id changes the name only", js)
st, h, _, _ = req("PUT", f"{V1}/users/{u1['id']}", {"name": "x"})
tap(st == 405 and "PATCH" in h.get("allow", ""), "PUT /users/:id: 405 with Allow", (st, h))
st, h, js, _ = req("DELETE", V1 + "/users")
tap(st == 405 and problem_ok(js, 405, "method_not_allowed"), "DELETE /users: 405 method_not_allowed", (st, js))
st, h, js, _ = req("GET", V1 + "/nothing/here")
tap(st == 404 and problem_ok(js, 404, "not_found"), "an unknown path: 404 not_found", (st, js))

# ---- posts ----
st, h, p1, _ = req("POST", V1 + "/posts", {"author_id": u1["id"], "title": f"Galloping {RUN}", "body": "about kernels",
                                            "status": "published", "tags": ["c", "linux", "c"]})
tap(st == 201 and h.get("location") == f"{V1}/posts/{p1['id']}", "POST /posts: 201 with Location", (st, h, p1))
ok, probs = valid("Post", p1)
tap(ok, "a created post conforms to the Post schema", probs)
tap(p1["tags"] == ["c", "linux"] and p1["version"] == 1 and p1["comment_count"] == 0,
    "a new post: tags deduplicated and sorted, version 1, no comments", p1)
st, _, js, _ = req("POST", V1 + "/posts", {"author_id": 999999999, "title": "t", "body": "b"})
tap(st == 422 and [e["field"] for e in js["errors"]] == ["author_id"], "a post by no user: 422 on author_id", js)
st, _, js, _ = req("POST", V1 + "/posts", {"author_id": u1["id"], "title": "", "body": 3, "status": "gone",
                                            "tags": ["ok", "Not OK"], "id": 5})
fields = sorted(e["field"] for e in (js or {}).get("errors", []))
tap(st == 422 and fields == ["body", "id", "status", "tags[1]", "title"], "five bad fields, all listed with paths", (st, js))
st, _, js, _ = req("POST", V1 + "/posts", {"author_id": u1["id"], "title": "x" * 201, "body": ""})
tap(st == 422 and js["errors"][0]["code"] == "too_long", "a 201-character title: too_long", js)
st, _, js, _ = req("POST", V1 + "/posts", raw=b"x" * (1024 * 1024 + 10), headers={"Content-Type": "application/json"})
tap(st == 413 and problem_ok(js, 413, "payload_too_large"), "a body over 1 MiB: 413 payload_too_large", (st, js))
pid = p1["id"]
st, h, js, _ = req("GET", f"{V1}/posts/{pid}")
tap(st == 200 and h.get("etag") == f'"{pid}-1"', "GET /posts/:id has ETag \"id-version\"", h)
st, h, _, data = req("GET", f"{V1}/posts/{pid}", headers={"If-None-Match": f'"{pid}-1"'})
tap(st == 304 and not data, "If-None-Match with the current ETag: 304", st)
st, _, js, _ = req("PATCH", f"{V1}/posts/{pid}", {"title": "t2"})
tap(st == 428 and problem_ok(js, 428, "precondition_required"), "PATCH without If-Match: 428", (st, js))
st, _, js, _ = req("PATCH", f"{V1}/posts/{pid}", {"title": "t2"}, {"If-Match": f'"{pid}-7"'})
tap(st == 412 and problem_ok(js, 412, "precondition_failed"), "PATCH with a stale ETag: 412", (st, js))
st, h, js, _ = req("PATCH", f"{V1}/posts/{pid}", {"tags": ["go"]}, {"If-Match": f'"{pid}-1"'})
tap(st == 200 and js["version"] == 2 and js["tags"] == ["go"] and h.get("etag") == f'"{pid}-2"',
    "PATCH of the tags only bumps the version and the ETag", (st, h, js))
st, h, js, _ = req("PUT", f"{V1}/posts/{pid}", {"title": "Put", "body": "b"}, {"If-Match": f'"{pid}-2"'})
tap(st == 422, "PUT without every writable field: 422", (st, js))
st, h, js, _ = req("PUT", f"{V1}/posts/{pid}", {"title": f"Galloping {RUN}", "body": "about kernels and running",
                                                 "status": "published", "tags": ["c"]}, {"If-Match": f'"{pid}-2"'})
tap(st == 200 and js["version"] == 3, "PUT with every field and the current ETag: 200, version 3", (st, js))

# concurrent writers with the same ETag: exactly one wins
results = []


def racer(i):
    s, _, _, _ = req("PATCH", f"{V1}/posts/{pid}", {"body": f"racer {i}"}, {"If-Match": f'"{pid}-3"'})
    results.append(s)


threads = [threading.Thread(target=racer, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
tap(sorted(results) == [200] + [412] * 7, "8 concurrent PATCHes with one ETag: exactly one 200, seven 412", results)
st, _, js, _ = req("GET", f"{V1}/posts/{pid}")
tap(js["version"] == 4, "after the race the version is 4", js)

# ---- comments ----
st, h, c1, _ = req("POST", f"{V1}/posts/{pid}/comments", {"author_id": u1["id"], "body": "first!"})
tap(st == 201 and h.get("location") == f"{V1}/comments/{c1['id']}", "POST a comment: 201 with Location", (st, h))
ok, probs = valid("Comment", c1)
tap(ok, "a comment conforms to the Comment schema", probs)
req("POST", f"{V1}/posts/{pid}/comments", {"author_id": u1["id"], "body": "second"})
st, _, js, _ = req("GET", f"{V1}/posts/{pid}/comments")
tap(st == 200 and [c["body"] for c in js["data"]] == ["first!", "second"], "comments list oldest first", js)
st, _, js, _ = req("GET", f"{V1}/posts/{pid}")
tap(js["comment_count"] == 2, "comment_count counts them", js)
st, _, js, _ = req("PATCH", f"{V1}/comments/{c1['id']}", {"body": "edited"})
tap(st == 200 and js["body"] == "edited", "PATCH a comment", js)
st, _, js, _ = req("POST", f"{V1}/posts/999999999/comments", {"author_id": u1["id"], "body": "x"})
tap(st == 404, "a comment on a missing post: 404", st)

# ---- idempotency ----
key = {"Idempotency-Key": f"check-key-{RUN}"}
body = {"author_id": u1["id"], "title": "Idem", "body": f"once {RUN}"}
st1, h1, j1, _ = req("POST", V1 + "/posts", body, key)
st2, h2, j2, _ = req("POST", V1 + "/posts", body, key)
tap(st1 == 201 and st2 == 201 and j1 == j2 and h2.get("idempotent-replayed") == "true" and
    h1.get("location") == h2.get("location"), "a retried POST with the same key replays the answer", (h2, j2))
st, _, js, _ = req("POST", V1 + "/posts", dict(body, title="Other"), key)
tap(st == 422 and problem_ok(js, 422, "idempotency_key_reused"), "the same key with another body: 422", (st, js))
st, _, js, _ = req("GET", V1 + f"/posts?q={RUN}&limit=100")
tap(st == 200 and len([p for p in js["data"] if p["title"] == "Idem"]) == 1, "the retried POST created one post", js)

# ---- lists ----
st, h, js, _ = req("GET", V1 + "/posts?limit=5&sort=-id")
tap(st == 200 and len(js["data"]) == 5 and js["meta"]["limit"] == 5 and js["meta"]["offset"] == 0 and
    "next" in js["links"] and "prev" not in js["links"], "an offset page: meta and links", js and js["meta"])
total = js["meta"]["total"]
ids = [p["id"] for p in js["data"]]
tap(ids == sorted(ids, reverse=True), "sort=-id orders by id descending", ids)
for p in js["data"]:
    ok, probs = valid("Post", p)
    if not ok:
        break
tap(ok, "every listed post conforms to the Post schema", probs)
# walk all pages by offset, then by cursor: each row exactly once, same order
seen, path = [], V1 + "/posts?limit=37&sort=title"
while path:
    st, _, js, _ = req("GET", path)
    seen += [p["id"] for p in js["data"]]
    path = js["links"].get("next")
tap(len(seen) == total and len(set(seen)) == total, f"offset pages cover all {total} posts once", len(seen))
cseen, path = [], V1 + "/posts?limit=37&sort=title&cursor="
while path:
    st, _, js, _ = req("GET", path)
    cseen += [p["id"] for p in js["data"]]
    path = js["links"].get("next")
tap(cseen == seen, "cursor pages give the same rows in the same order", (len(cseen), len(seen)))
# backwards from the last page
bseen, path = [], V1 + "/posts?limit=37&sort=title&cursor="
st, _, js, _ = req("GET", path)
first_page = [p["id"] for p in js["data"]]
st, _, js2, _ = req("GET", js["links"]["next"])
st, _, js3, _ = req("GET", js2["links"]["prev"])
tap([p["id"] for p in js3["data"]] == first_page, "prev of the second cursor page is the first page", js3 and js3["meta"])
# inserting between cursor pages neither repeats nor skips
st, _, a, _ = req("GET", V1 + "/posts?limit=10&sort=-created_at&cursor=")
req("POST", V1 + "/posts", {"author_id": u1["id"], "title": "late", "body": "inserted between pages"})
st, _, b, _ = req("GET", a["links"]["next"])
st, _, ref, _ = req("GET", V1 + "/posts?limit=20&sort=-created_at&offset=1")
tap([p["id"] for p in a["data"] + b["data"]] == [p["id"] for p in ref["data"]],
    "a row inserted between cursor pages does not shift them",
    ([p["id"] for p in a["data"] + b["data"]], [p["id"] for p in ref["data"]]))
for q in ("limit=0", "limit=101", "limit=-1", "limit=abc", "offset=-1", "sort=password", "sort=-id,-id",
          "cursor=bogus", "cursor=WyJuIiwiaWQiLDFd.AAAAAAAAAAA", "created_after=yesterday", "status=gone", "tag=Bad!"):
    st, _, js, _ = req("GET", V1 + "/posts?" + q)
    tap(st == 400 and problem_ok(js, 400, "invalid_parameter") and js["errors"], f"GET /posts?{q}: 400 invalid_parameter", (st, js))
st, _, js, _ = req("GET", V1 + "/posts?limit=0&sort=nope&offset=-5")
tap(st == 400 and len(js["errors"]) == 3, "three bad parameters: all three listed", js)
# filters combine
st, _, js, _ = req("GET", f"{V1}/posts?author_id={u1['id']}&tag=c&status=published&q=GALLOP&limit=100")
tap(st == 200 and [p["id"] for p in js["data"]] == [pid], "author_id + tag + status + q combine", js)
st, _, js, _ = req("GET", f"{V1}/posts?created_after=2099-01-01T00:00:00Z")
tap(st == 200 and js["data"] == [] and js["meta"]["total"] == 0, "created_after in the future: nothing", js)
st, _, js, _ = req("GET", f"{V1}/posts?q=%25&limit=100")
tap(st == 200 and all("%" in p["title"] + p["body"] for p in js["data"]), "q=% matches a literal percent sign only", js and len(js["data"]))
st, _, js, _ = req("GET", f"{V1}/users/{u1['id']}/posts?limit=100")
tap(st == 200 and all(p["author_id"] == u1["id"] for p in js["data"]) and len(js["data"]) >= 3, "/users/:id/posts lists that user's posts", js)
st, _, js, _ = req("GET", f"{V1}/users/999999999/posts")
tap(st == 404, "/users/:missing/posts: 404", st)
# sort by comment_count, both directions
st, _, js, _ = req("GET", V1 + "/posts?sort=-comment_count&limit=50")
cc = [p["comment_count"] for p in js["data"]]
tap(cc == sorted(cc, reverse=True), "sort=-comment_count", cc)

# ---- N+1: a list costs the same statements whatever its size ----
counts = []
for lim in (1, 10, 100):
    req("PATCH", f"{V1}/users/{u1['id']}", {"name": "Ada L."})  # a write: cached totals are stale
    st, h, js, _ = req("GET", f"{V1}/posts?limit={lim}")
    counts.append(h.get("x-query-count"))
tap(counts == ["2", "2", "2"], "a post list page runs 2 statements (page + total) for 1, 10 or 100 rows", counts)
st, h, js, _ = req("GET", f"{V1}/posts?limit=5")
tap(h.get("x-query-count") == "1", "with no write since, the total comes from the cache: 1 statement", h.get("x-query-count"))
before = js["meta"]["total"]
req("POST", V1 + "/posts", {"author_id": u1["id"], "title": "counted", "body": "x"})
st, h, js, _ = req("GET", f"{V1}/posts?limit=5")
tap(js["meta"]["total"] == before + 1, "a write invalidates the cached total at once", (before, js["meta"]))
st, h, js, _ = req("GET", f"{V1}/posts?limit=100&cursor=")
tap(h.get("x-query-count") == "1", "a cursor page runs 1 statement", h.get("x-query-count"))

# ---- content negotiation ----
st, h, _, data = req("GET", V1 + "/users?limit=3", headers={"Accept": "text/csv"})
lines = data.decode().split("\r\n")
tap(st == 200 and h.get("content-type", "").startswith("text/csv") and lines[0] == "id,name,email,created_at,updated_at"
    and len([l for l in lines if l]) == 4, "Accept: text/csv gives CSV with a header row", data[:200])
tap("Accept" in h.get("vary", ""), "lists carry Vary: Accept", h)
st, _, js, _ = req("GET", V1 + "/users", headers={"Accept": "application/xml"})
tap(st == 406 and problem_ok(js, 406, "not_acceptable"), "Accept: application/xml: 406", (st, js))
st, _, js, _ = req("GET", f"{V1}/posts/{pid}", headers={"Accept": "text/csv"})
tap(st == 406, "a single post as CSV: 406", st)
st, h, js, _ = req("GET", V1 + "/users?limit=1", headers={"Accept": "*/*"})
tap(st == 200 and h.get("content-type") == "application/json", "Accept: */* gives JSON", h)

# ---- v2 ----
st, h, js, _ = req("GET", f"{V2}/posts/{pid}")
tap(st == 200 and js["author"] == {"id": u1["id"], "name": "Ada L."} and "author_id" not in js,
    "v2 embeds the author", js)
ok, probs = valid("Post", js, api=2)
tap(ok, "a v2 post conforms to the v2 Post schema", probs)
st, _, js, _ = req("GET", f"{V2}/posts?limit=3")
tap(st == 200 and "next_cursor" in js["meta"] and "total" not in js["meta"], "v2 lists page by cursor", js and js["meta"])
st, _, js, _ = req("GET", f"{V2}/posts?offset=3")
tap(st == 400, "v2 refuses offset", st)
st, _, js, _ = req("GET", f"{V2}/posts/{pid}/comments")
tap(st == 200 and js["data"][0]["author"]["id"] == u1["id"], "v2 comments embed their author", js)

# ---- search ----
st, _, js, _ = req("GET", V1 + f"/search?q=gallop+{RUN}")
ids = [d["id"] for d in js["data"]]
tap(st == 200 and pid in ids, "search: 'gallop' finds 'Galloping' (stemming)", js)
hit = [d for d in js["data"] if d["id"] == pid]
tap(hit and "<mark>" in hit[0]["snippet"], "search: the snippet marks the hit", hit)
st, _, js, _ = req("GET", V1 + "/search?q=")
tap(st == 400, "search with an empty q: 400", st)
st, h, t1, _ = req("POST", V1 + "/posts", {"author_id": u1["id"], "title": f"zebra{RUN} notes", "body": "plain", "status": "published"})
st, h, t2, _ = req("POST", V1 + "/posts", {"author_id": u1["id"], "title": "plain notes", "body": f"a zebra{RUN}", "status": "published"})
st, h, t3, _ = req("POST", V1 + "/posts", {"author_id": u1["id"], "title": f"draft zebra{RUN}", "body": f"zebra{RUN}", "status": "draft"})
st, _, js, _ = req("GET", V1 + f"/search?q=zebra{RUN}")
ids = [d["id"] for d in js["data"]]
tap(ids[:2] == [t1["id"], t2["id"]] and t3["id"] not in ids, "search ranks a title hit above a body hit, drafts excluded", js)

# ---- soft delete, restore, archive ----
st, _, before, _ = req("GET", f"{V1}/posts/{t1['id']}")
st, _, _, data = req("DELETE", f"{V1}/posts/{t1['id']}")
tap(st == 204 and not data, "DELETE a post: 204", st)
st, _, js, _ = req("GET", f"{V1}/posts/{t1['id']}")
tap(st == 404, "a deleted post: 404", st)
st, _, js, _ = req("GET", V1 + f"/search?q=zebra{RUN}")
tap(t1["id"] not in [d["id"] for d in js["data"]], "a deleted post leaves search", js)
st, _, js, _ = req("GET", f"{V1}/posts?limit=100&sort=-id")
tap(t1["id"] not in [p["id"] for p in js["data"]], "a deleted post leaves lists", None)
st, _, js, _ = req("GET", f"{V1}/posts?limit=100&sort=-id&include_deleted=true")
d = [p for p in js["data"] if p["id"] == t1["id"]]
tap(d and "deleted_at" in d[0], "include_deleted=true lists it with deleted_at", d)
st, _, _, _ = req("DELETE", f"{V1}/posts/{t1['id']}")
tap(st == 404, "deleting twice: 404", st)
st, _, js, _ = req("POST", f"{V1}/posts/{t1['id']}/restore")
tap(st == 200 and js == before, "restore brings the post back unchanged", (js, before))
st, _, js, _ = req("POST", f"{V1}/posts/{t1['id']}/restore")
tap(st == 404, "restoring a post that is not deleted: 404", st)
st, _, js, _ = req("DELETE", f"{V1}/users/{u1['id']}")
tap(st == 409 and problem_ok(js, 409, "has_posts"), "deleting a user with posts: 409 has_posts", (st, js))
st, _, js, _ = req("POST", f"{V1}/posts/{pid}/archive")
tap(st == 200 and js == {"archived_post_id": pid, "archived_comments": 2}, "archive moves the post and its 2 comments", js)
st, _, js, _ = req("GET", f"{V1}/posts/{pid}")
tap(st == 404, "an archived post is gone", st)
st, _, js, _ = req("GET", f"{V1}/comments/{c1['id']}")
tap(st == 404, "its comments are gone", st)

# ---- users delete ----
st, _, u2, _ = req("POST", V1 + "/users", {"name": "Temp", "email": f"temp.{RUN}@x.org"})
st, _, _, _ = req("DELETE", f"{V1}/users/{u2['id']}")
tap(st == 204, "DELETE a user without posts: 204", st)
st, _, _, _ = req("DELETE", f"{V1}/users/{u2['id']}")
tap(st == 404, "DELETE again: 404", st)

# ---- docs, builtins ----
st, h, _, data = req("GET", V1 + "/docs")
tap(st == 200 and h["content-type"].startswith("text/html") and b"/posts/{id}" in data, "the docs page renders the routes", st)
paths = DOC1["paths"]
tap(all(p in paths for p in ("/api/v1/users", "/api/v1/posts/{id}", "/api/v1/posts/{id}/comments", "/api/v1/search")) and
    "patch" in paths["/api/v1/posts/{id}"], "the document lists the served routes", list(paths))
req_schema = DOC1["components"]["schemas"]["PostCreate"]
tap(sorted(req_schema["required"]) == ["author_id", "body", "title"] and req_schema["additionalProperties"] is False,
    "PostCreate: required fields and closed", req_schema)

# ---- rate limit (its own keys; a small limit is configured by blog.sh in a second server) ----
print(f"# {N} checks, {FAILED} failed")
sys.exit(1 if FAILED else 0)
