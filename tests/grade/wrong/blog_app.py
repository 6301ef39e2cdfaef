#!/usr/bin/env python3
"""blog_app.py - the blog API of docs/blog-api.md written again from the contract alone.

Usage: blog_app.py --listen PORT [--bug NAME] [--rate-limit N]

A second implementation (Python stdlib: http.server and sqlite3 with FTS5), so the HTTP
graders Q71-Q80, Q114, Q117 and Q120 are tested against an API that shares no code and no
incidental behaviour with `strata example blog`: without --bug every grader must pass. Each
--bug breaks one rule inside the server itself (not in front of it, as blog_proxy.py does),
and tests/grade/blog.sh checks that the grader of that rule fails.
"""
import argparse
import base64
import calendar
import collections
import csv
import datetime
import functools
import hashlib
import hmac
import io
import json
import os
import re
import sqlite3
import threading
import time
import urllib.parse
import http.server
import socketserver

BUGS = {
    "no_405": "a method a route does not support answers 404 instead of 405 with Allow",
    "nested_all": "/users/{id}/posts lists every user's posts",
    "validation_400": "an invalid body is 400 instead of 422",
    "etag_weak": "ETags are weak (W/...), and If-None-Match is ignored",
    "race": "If-Match is checked outside the write lock: concurrent writers all win",
    "no_code": "problem+json answers carry no \"code\"",
    "first_field_only": "validation stops at the first bad field",
    "unknown_ignored": "unknown fields in a body are silently dropped",
    "cursor_offset": "cursors encode an offset: an inserted row shifts the next page",
    "sort_asc_only": "a '-' in sort is ignored (always ascending)",
    "limit_unchecked": "limit=0 and limit=1000 are accepted (clamped) instead of 400",
    "soft_delete_listed": "soft-deleted posts still appear in lists",
    "restore_bumps": "restore bumps version and updated_at",
    "no_stemming": "search matches whole words only (no stemming)",
    "drafts_found": "search finds drafts too",
    "v2_offset": "v2 lists still page by offset with total",
    "search_undocumented": "the OpenAPI document leaves out /search",
    "limit_shared": "the rate limit is one bucket for every client",
    "tag_or": "the tag filter is OR-ed with the others instead of AND-ed",
    "csv_unquoted": "CSV fields are written without RFC 4180 quoting",
}

ap = argparse.ArgumentParser()
ap.add_argument("--listen", type=int, required=True)
ap.add_argument("--bug", choices=sorted(BUGS))
ap.add_argument("--rate-limit", type=int, default=100)
args = ap.parse_args()
BUG = args.bug
LIMIT = args.rate_limit
WINDOW = 3600
SECRET = os.urandom(16)
TAG_RE = re.compile(r"^[a-z0-9-]{1,30}$")
LOCK = threading.RLock()

db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
db.row_factory = sqlite3.Row
db.executescript("""
PRAGMA foreign_keys = ON;
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES users ON DELETE RESTRICT,
  title TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, tags TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  deleted_at INTEGER);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts ON DELETE CASCADE,
  author_id INTEGER NOT NULL REFERENCES users ON DELETE CASCADE, body TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE archived_posts (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, tokenize = 'porter unicode61');
""")
if BUG == "no_stemming":
    db.executescript("DROP TABLE posts_fts; CREATE VIRTUAL TABLE posts_fts USING fts5(title, body);")

# rate limit windows and idempotency answers, per client
hits = collections.defaultdict(collections.deque)
idem = {}

TITLES = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
          409: "Conflict", 412: "Precondition Failed", 413: "Content Too Large",
          415: "Unsupported Media Type", 422: "Unprocessable Content", 428: "Precondition Required",
          429: "Too Many Requests"}


class Problem(Exception):
    def __init__(self, status, code, detail, errors=None, headers=None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors, self.headers = status, code, detail, errors, headers or {}


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse_time(s):
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)", s or "")
    if not m:
        return None
    try:
        parts = [int(x) for x in m.groups()[:6]]
        datetime.datetime(*parts)  # rejects 2026-02-31 and 25:00, which timegm would roll over
        t = calendar.timegm(tuple(parts) + (0, 0, 0))
    except (ValueError, OverflowError):
        return None
    z = m.group(7)
    if z != "Z":
        off = int(z[1:3]) * 3600 + int(z[4:6]) * 60
        t -= off if z[0] == "+" else -off
    return t


# ---- representations --------------------------------------------------------------------

def user_doc(r, v):
    p = "/api/v%d" % v
    return {"id": r["id"], "name": r["name"], "email": r["email"], "created_at": rfc3339(r["created_at"]),
            "updated_at": rfc3339(r["updated_at"]),
            "links": {"self": "%s/users/%d" % (p, r["id"]), "posts": "%s/users/%d/posts" % (p, r["id"])}}


def author_of(uid):
    r = db.execute("SELECT id, name FROM users WHERE id = ?", (uid,)).fetchone()
    return {"id": r["id"], "name": r["name"]}


def post_doc(r, v):
    p = "/api/v%d" % v
    d = {"id": r["id"], "author_id": r["author_id"], "title": r["title"], "body": r["body"],
         "status": r["status"], "tags": json.loads(r["tags"]),
         "comment_count": db.execute("SELECT count(*) FROM comments WHERE post_id = ?", (r["id"],)).fetchone()[0],
         "version": r["version"], "created_at": rfc3339(r["created_at"]), "updated_at": rfc3339(r["updated_at"]),
         "links": {"self": "%s/posts/%d" % (p, r["id"]), "author": "%s/users/%d" % (p, r["author_id"]),
                   "comments": "%s/posts/%d/comments" % (p, r["id"])}}
    if r["deleted_at"] is not None:
        d["deleted_at"] = rfc3339(r["deleted_at"])
    if v == 2:
        d["author"] = author_of(d.pop("author_id"))
    return d


def comment_doc(r, v):
    p = "/api/v%d" % v
    d = {"id": r["id"], "post_id": r["post_id"], "author_id": r["author_id"], "body": r["body"],
         "created_at": rfc3339(r["created_at"]), "updated_at": rfc3339(r["updated_at"]),
         "links": {"self": "%s/comments/%d" % (p, r["id"]), "post": "%s/posts/%d" % (p, r["post_id"]),
                   "author": "%s/users/%d" % (p, r["author_id"])}}
    if v == 2:
        d["author"] = author_of(d.pop("author_id"))
    return d


# ---- validation ------------------------------------------------------------------------

def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def check_string(errs, body, name, lo, hi, required):
    if name not in body:
        if required:
            errs.append((name, "required", "is required"))
        return
    x = body[name]
    if not isinstance(x, str):
        errs.append((name, "type", "must be a string"))
    elif not lo <= len(x) <= hi:
        errs.append((name, "too_long" if len(x) > hi else "too_short", "%d to %d characters" % (lo, hi)))


def check_fields(errs, body, writable, readonly):
    for k in body:
        if k in readonly:
            errs.append((k, "read_only", "is read-only"))
        elif k not in writable and BUG != "unknown_ignored":
            errs.append((k, "unknown_field", "is not a field of this resource"))


def finish(errs):
    if not errs:
        return
    if BUG == "first_field_only":
        errs = errs[:1]
    status = 400 if BUG == "validation_400" else 422
    raise Problem(status, "validation_failed", "%d field%s invalid" % (len(errs), " is" if len(errs) == 1 else "s are"),
                  [{"field": f, "code": c, "message": m} for f, c, m in errs])


READ_ONLY = {"id", "created_at", "updated_at", "links", "version", "comment_count", "deleted_at", "post_id"}


def validate_user(body, create):
    errs = []
    check_fields(errs, body, {"name", "email"}, READ_ONLY)
    check_string(errs, body, "name", 1, 100, create)
    check_string(errs, body, "email", 3, 254, create)
    if isinstance(body.get("email"), str) and "@" not in body["email"]:
        errs.append(("email", "format", "must contain @"))
    finish(errs)


def check_author(errs, body, required):
    if "author_id" not in body:
        if required:
            errs.append(("author_id", "required", "is required"))
    elif not is_int(body["author_id"]):
        errs.append(("author_id", "type", "must be an integer"))
    elif not db.execute("SELECT 1 FROM users WHERE id = ?", (body["author_id"],)).fetchone():
        errs.append(("author_id", "not_found", "no such user"))


def validate_post(body, mode):
    """mode: create, put or patch."""
    errs = []
    check_fields(errs, body, {"author_id", "title", "body", "status", "tags"} if mode != "patch" else
                 {"title", "body", "status", "tags"}, READ_ONLY | ({"author_id"} if mode == "patch" else set()))
    if mode != "patch":
        check_author(errs, body, mode == "create")
    check_string(errs, body, "title", 1, 200, mode != "patch")
    check_string(errs, body, "body", 0, 100000, mode != "patch")
    if "status" in body:
        if body["status"] not in ("draft", "published"):
            errs.append(("status", "enum", "draft or published"))
    elif mode == "put":
        errs.append(("status", "required", "is required"))
    if "tags" in body:
        t = body["tags"]
        if not isinstance(t, list):
            errs.append(("tags", "type", "must be an array"))
        elif len(t) > 10:
            errs.append(("tags", "too_many", "at most 10 tags"))
        else:
            for i, x in enumerate(t):
                if not isinstance(x, str) or not TAG_RE.match(x):
                    errs.append(("tags[%d]" % i, "pattern", "must match ^[a-z0-9-]{1,30}$"))
    elif mode == "put":
        errs.append(("tags", "required", "is required"))
    finish(errs)


def validate_comment(body, create):
    errs = []
    check_fields(errs, body, {"author_id", "body"} if create else {"body"}, READ_ONLY | (set() if create else {"author_id"}))
    if create:
        check_author(errs, body, True)
    check_string(errs, body, "body", 1, 10000, create)
    finish(errs)


# ---- lists -----------------------------------------------------------------------------

SORTS = {"posts": ("id", "created_at", "updated_at", "title", "comment_count"), "users": ("id", "name", "created_at"),
         "comments": ("id", "created_at")}
DEFAULT_SORT = {"posts": "-created_at", "users": "-created_at", "comments": "created_at"}


def sign(obj):
    raw = base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(SECRET, raw.encode(), hashlib.sha256).hexdigest()[:16]
    return raw + "." + mac


def unsign(s):
    raw, _, mac = s.partition(".")
    if not hmac.compare_digest(hmac.new(SECRET, raw.encode(), hashlib.sha256).hexdigest()[:16], mac):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return None


def int_param(errs, q, name, lo, hi, default):
    if name not in q:
        return default
    s = q[name]
    if not re.fullmatch(r"-?\d{1,9}", s) or not lo <= int(s) <= hi:
        errs.append((name, "out_of_range", "an integer from %d to %d" % (lo, hi)))
        return default
    return int(s)


def list_page(kind, path, q, rows, v, doc):
    """rows: dicts holding the sort fields; paginates, sorts, links. Raises on bad params."""
    errs = []
    lo_limit = 0 if BUG == "limit_unchecked" else 1
    limit = int_param(errs, q, "limit", lo_limit, 100000 if BUG == "limit_unchecked" else 100, 20)
    limit = min(max(limit, 1), 100)
    offset = int_param(errs, q, "offset", 0, 10 ** 9, 0)
    if v == 2 and "offset" in q and BUG != "v2_offset":
        errs.append(("offset", "unsupported", "v2 pages by cursor"))
    sort = q.get("sort") or DEFAULT_SORT[kind]
    keys = []
    for f in sort.split(","):
        desc = f.startswith("-") and BUG != "sort_asc_only"
        name = f.lstrip("-")
        if name not in SORTS[kind]:
            errs.append(("sort", "unknown_field", "sortable: " + ", ".join(SORTS[kind])))
            break
        keys.append((name, desc))
    cursor_mode = "cursor" in q or (v == 2 and BUG != "v2_offset")
    cur = None
    if q.get("cursor"):
        cur = unsign(q["cursor"])
        if cur is None or cur.get("s") != sort:
            errs.append(("cursor", "invalid", "not a cursor this server issued for this sort"))
    if errs:
        raise Problem(400, "invalid_parameter", "%d query parameter%s invalid" % (len(errs), "s are" if len(errs) > 1 else " is"),
                      [{"field": f, "code": c, "message": m} for f, c, m in errs])
    if not any(n == "id" for n, _ in keys):
        keys.append(("id", keys[-1][1]))

    def cmp(a, b):
        for name, desc in keys:
            x, y = a[name], b[name]
            if x != y:
                return (1 if x > y else -1) * (-1 if desc else 1)
        return 0

    rows.sort(key=functools.cmp_to_key(cmp))
    other = [(k, val) for k, val in q.items() if k not in ("limit", "offset", "cursor")]

    def link(**extra):
        return path + "?" + urllib.parse.urlencode(other + [("limit", limit)] + list(extra.items()), safe=",:")

    def key_of(r):
        return {n: r[n] for n, _ in keys}

    if cursor_mode:
        if cur is None:
            start = 0
        elif BUG == "cursor_offset":
            start = cur["o"] if cur["d"] == "n" else max(0, cur["o"] - limit)
        elif cur["d"] == "n":
            start = sum(1 for r in rows if cmp(r, cur["k"]) <= 0)
        else:
            start = max(0, sum(1 for r in rows if cmp(r, cur["k"]) < 0) - limit)
        page = rows[start:start + limit]
        meta, links = {"limit": limit}, {"self": path + "?" + urllib.parse.urlencode(list(q.items()), safe=",:")}
        if page and start + limit < len(rows):
            meta["next_cursor"] = sign({"k": key_of(page[-1]), "d": "n", "s": sort, "o": start + limit})
            links["next"] = link(cursor=meta["next_cursor"])
        if page and start > 0:
            meta["prev_cursor"] = sign({"k": key_of(page[0]), "d": "p", "s": sort, "o": start})
            links["prev"] = link(cursor=meta["prev_cursor"])
        links["first"] = link(cursor="")
    else:
        page = rows[offset:offset + limit]
        meta = {"limit": limit, "offset": offset, "total": len(rows)}
        links = {"self": link(offset=offset), "first": link(offset=0)}
        if offset > 0:
            links["prev"] = link(offset=max(0, offset - limit))
        if offset + limit < len(rows):
            links["next"] = link(offset=offset + limit)
    return {"data": [doc(r) for r in page], "meta": meta, "links": links}


def post_rows(q, where, params):
    errs = []
    if "author_id" in q:
        if not re.fullmatch(r"\d{1,18}", q["author_id"]):
            errs.append(("author_id", "type", "an integer"))
        else:
            where.append("author_id = ?")
            params.append(int(q["author_id"]))
    if "status" in q:
        if q["status"] not in ("draft", "published"):
            errs.append(("status", "enum", "draft or published"))
        else:
            where.append("status = ?")
            params.append(q["status"])
    for name, op in (("created_after", ">"), ("created_before", "<")):
        if name in q:
            t = parse_time(q[name])
            if t is None:
                errs.append((name, "format", "an RFC 3339 time"))
            else:
                where.append("created_at %s ?" % op)
                params.append(t)
    inc = q.get("include_deleted", "false")
    if inc not in ("true", "false"):
        errs.append(("include_deleted", "type", "true or false"))
    if errs:
        raise Problem(400, "invalid_parameter", "%d query parameters are invalid" % len(errs),
                      [{"field": f, "code": c, "message": m} for f, c, m in errs])
    if inc != "true" and BUG != "soft_delete_listed":
        where.append("deleted_at IS NULL")
    if "q" in q:
        where.append("(instr(lower(title), lower(?)) > 0 OR instr(lower(body), lower(?)) > 0)")
        params += [q["q"], q["q"]]
    if "tag" in q:
        cond = "EXISTS (SELECT 1 FROM json_each(posts.tags) WHERE value = ?)"
        params.append(q["tag"])
        if BUG == "tag_or" and where:
            where[:] = ["((" + " AND ".join(where) + ") OR " + cond + ")"]
        else:
            where.append(cond)
    sql = "SELECT *, (SELECT count(*) FROM comments c WHERE c.post_id = posts.id) AS comment_count FROM posts"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [dict(r) for r in db.execute(sql, params)]


# ---- OpenAPI ---------------------------------------------------------------------------

def openapi(v):
    p = "/api/v%d" % v
    s = {"type": "string"}
    user_in = {"type": "object", "additionalProperties": False, "required": ["name", "email"],
               "properties": {"name": dict(s, minLength=1, maxLength=100),
                              "email": dict(s, minLength=3, maxLength=254, pattern="@")}}
    post_in = {"type": "object", "additionalProperties": False, "required": ["author_id", "title", "body"],
               "properties": {"author_id": {"type": "integer"}, "title": dict(s, minLength=1, maxLength=200),
                              "body": dict(s, maxLength=100000), "status": {"enum": ["draft", "published"]},
                              "tags": {"type": "array", "maxItems": 10,
                                       "items": dict(s, pattern="^[a-z0-9-]{1,30}$")}}}
    comment_in = {"type": "object", "additionalProperties": False, "required": ["author_id", "body"],
                  "properties": {"author_id": {"type": "integer"}, "body": dict(s, minLength=1, maxLength=10000)}}
    schemas = {"UserCreate": user_in, "PostCreate": post_in, "CommentCreate": comment_in,
               "Problem": {"type": "object", "required": ["type", "title", "status", "code"]}}

    def op(desc, status, body=None):
        o = {"summary": desc, "responses": {str(status): {"description": desc},
                                            "default": {"description": "a problem",
                                                        "content": {"application/problem+json": {
                                                            "schema": {"$ref": "#/components/schemas/Problem"}}}}}}
        if body:
            o["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/" + body}}}}
        return o

    paths = {}
    for method, route, status, body in ROUTES_DOC:
        paths.setdefault(p + route, {})[method] = op(method.upper() + " " + route, status, body)
    if BUG == "search_undocumented":
        del paths[p + "/search"]
    return {"openapi": "3.1.0", "info": {"title": "blog API (blog_app.py)", "version": "%d.0.0" % v},
            "paths": paths, "components": {"schemas": schemas}}


ROUTES_DOC = [
    ("get", "/users", 200, None), ("post", "/users", 201, "UserCreate"), ("get", "/users/{id}", 200, None),
    ("patch", "/users/{id}", 200, None), ("delete", "/users/{id}", 204, None), ("get", "/users/{id}/posts", 200, None),
    ("get", "/posts", 200, None), ("post", "/posts", 201, "PostCreate"), ("get", "/posts/{id}", 200, None),
    ("put", "/posts/{id}", 200, None), ("patch", "/posts/{id}", 200, None), ("delete", "/posts/{id}", 204, None),
    ("post", "/posts/{id}/restore", 200, None), ("post", "/posts/{id}/archive", 200, None),
    ("get", "/posts/{id}/comments", 200, None), ("post", "/posts/{id}/comments", 201, "CommentCreate"),
    ("get", "/comments/{id}", 200, None), ("patch", "/comments/{id}", 200, None),
    ("delete", "/comments/{id}", 204, None), ("get", "/search", 200, None),
]


# ---- handlers: each takes (req, ids) and returns (status, doc, headers) -------------------

def now():
    return int(time.time())


def get_user(uid):
    r = db.execute("SELECT * FROM users WHERE id = ?", (uid,)).fetchone()
    if not r:
        raise Problem(404, "not_found", "no user %d" % uid)
    return r


def get_post(pid, deleted=False):
    r = db.execute("SELECT * FROM posts WHERE id = ? AND (deleted_at IS NULL) = ?", (pid, not deleted)).fetchone()
    if not r:
        raise Problem(404, "not_found", "no post %d" % pid)
    return r


def get_comment(cid):
    r = db.execute("SELECT c.* FROM comments c JOIN posts p ON p.id = c.post_id "
                   "WHERE c.id = ? AND p.deleted_at IS NULL", (cid,)).fetchone()
    if not r:
        raise Problem(404, "not_found", "no comment %d" % cid)
    return r


def etag(r):
    return ('W/"%d-%d"' if BUG == "etag_weak" else '"%d-%d"') % (r["id"], r["version"])


def users_list(req, ids):
    rows = [dict(r) for r in db.execute("SELECT * FROM users")]
    return 200, list_page("users", req.path, req.q, rows, req.v, lambda r: user_doc(r, req.v)), {}


def users_create(req, ids):
    b = req.json()
    validate_user(b, True)
    if db.execute("SELECT 1 FROM users WHERE lower(email) = lower(?)", (b["email"],)).fetchone():
        raise Problem(409, "email_taken", "the email is taken")
    t = now()
    uid = db.execute("INSERT INTO users (name, email, created_at, updated_at) VALUES (?, ?, ?, ?)",
                     (b["name"], b["email"], t, t)).lastrowid
    return 201, user_doc(get_user(uid), req.v), {"Location": "/api/v%d/users/%d" % (req.v, uid)}


def user_get(req, ids):
    return 200, user_doc(get_user(ids[0]), req.v), {}


def user_patch(req, ids):
    get_user(ids[0])
    b = req.json()
    validate_user(b, False)
    if "email" in b and db.execute("SELECT 1 FROM users WHERE lower(email) = lower(?) AND id <> ?",
                                   (b["email"], ids[0])).fetchone():
        raise Problem(409, "email_taken", "the email is taken")
    for k in ("name", "email"):
        if k in b:
            db.execute("UPDATE users SET %s = ?, updated_at = ? WHERE id = ?" % k, (b[k], now(), ids[0]))
    return 200, user_doc(get_user(ids[0]), req.v), {}


def user_delete(req, ids):
    get_user(ids[0])
    if db.execute("SELECT 1 FROM posts WHERE author_id = ?", (ids[0],)).fetchone():
        raise Problem(409, "has_posts", "the user has posts")
    db.execute("DELETE FROM users WHERE id = ?", (ids[0],))
    return 204, None, {}


def posts_list(req, ids, where=None, params=None):
    rows = post_rows(req.q, where or [], params or [])
    return 200, list_page("posts", req.path, req.q, rows, req.v, lambda r: post_doc(r, req.v)), {}


def user_posts(req, ids):
    get_user(ids[0])
    if BUG == "nested_all":
        return posts_list(req, ids)
    return posts_list(req, ids, ["author_id = ?"], [ids[0]])


def posts_create(req, ids):
    b = req.json()
    validate_post(b, "create")
    t = now()
    pid = db.execute("INSERT INTO posts (author_id, title, body, status, tags, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", (b["author_id"], b["title"], b["body"], b.get("status", "draft"),
                                                      json.dumps(b.get("tags", [])), t, t)).lastrowid
    db.execute("INSERT INTO posts_fts (rowid, title, body) VALUES (?, ?, ?)", (pid, b["title"], b["body"]))
    r = get_post(pid)
    return 201, post_doc(r, req.v), {"Location": "/api/v%d/posts/%d" % (req.v, pid), "ETag": etag(r)}


def post_get(req, ids):
    r = get_post(ids[0])
    inm = req.headers.get("If-None-Match")
    if inm and BUG != "etag_weak" and etag(r) in [x.strip() for x in inm.split(",")] + ["*"]:
        return 304, None, {"ETag": etag(r)}
    return 200, post_doc(r, req.v), {"ETag": etag(r)}


def post_update(req, ids, mode):
    r = get_post(ids[0])
    b = req.json()
    validate_post(b, mode)
    im = req.headers.get("If-Match")
    if im is None:
        raise Problem(428, "precondition_required", "send If-Match with the post's ETag")

    def matches():
        cur = get_post(ids[0])
        return im.strip() == "*" or etag(cur) in [x.strip() for x in im.split(",")]

    if BUG == "race":
        ok = matches()
        LOCK.release()  # let the racers in between the check and the write
        time.sleep(0.05)
        LOCK.acquire()
        if not ok:
            raise Problem(412, "precondition_failed", "the post changed; GET it again")
    elif not matches():
        raise Problem(412, "precondition_failed", "the post changed; GET it again")
    for k in ("author_id", "title", "body", "status"):
        if k in b:
            db.execute("UPDATE posts SET %s = ? WHERE id = ?" % k, (b[k], ids[0]))
    if "tags" in b:
        db.execute("UPDATE posts SET tags = ? WHERE id = ?", (json.dumps(b["tags"]), ids[0]))
    db.execute("UPDATE posts SET version = version + 1, updated_at = ? WHERE id = ?", (now(), ids[0]))
    r = get_post(ids[0])
    db.execute("DELETE FROM posts_fts WHERE rowid = ?", (r["id"],))
    db.execute("INSERT INTO posts_fts (rowid, title, body) VALUES (?, ?, ?)", (r["id"], r["title"], r["body"]))
    return 200, post_doc(r, req.v), {"ETag": etag(r)}


def post_delete(req, ids):
    get_post(ids[0])
    db.execute("UPDATE posts SET deleted_at = ? WHERE id = ?", (now(), ids[0]))
    return 204, None, {}


def post_restore(req, ids):
    get_post(ids[0], deleted=True)
    extra = ", version = version + 1, updated_at = updated_at + 1" if BUG == "restore_bumps" else ""
    db.execute("UPDATE posts SET deleted_at = NULL%s WHERE id = ?" % extra, (ids[0],))
    return 200, post_doc(get_post(ids[0]), req.v), {}


def post_archive(req, ids):
    r = get_post(ids[0])
    doc = post_doc(r, 1)
    n = db.execute("SELECT count(*) FROM comments WHERE post_id = ?", (ids[0],)).fetchone()[0]
    db.execute("BEGIN")
    db.execute("INSERT INTO archived_posts (id, doc) VALUES (?, ?)", (ids[0], json.dumps(doc)))
    db.execute("DELETE FROM posts WHERE id = ?", (ids[0],))
    db.execute("DELETE FROM posts_fts WHERE rowid = ?", (ids[0],))
    db.execute("COMMIT")
    return 200, {"archived_post_id": ids[0], "archived_comments": n}, {}


def comments_list(req, ids):
    get_post(ids[0])
    rows = [dict(r) for r in db.execute("SELECT * FROM comments WHERE post_id = ?", (ids[0],))]
    return 200, list_page("comments", req.path, req.q, rows, req.v, lambda r: comment_doc(r, req.v)), {}


def comments_create(req, ids):
    get_post(ids[0])
    b = req.json()
    validate_comment(b, True)
    t = now()
    cid = db.execute("INSERT INTO comments (post_id, author_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                     (ids[0], b["author_id"], b["body"], t, t)).lastrowid
    return 201, comment_doc(get_comment(cid), req.v), {"Location": "/api/v%d/comments/%d" % (req.v, cid)}


def comment_get(req, ids):
    return 200, comment_doc(get_comment(ids[0]), req.v), {}


def comment_patch(req, ids):
    get_comment(ids[0])
    b = req.json()
    validate_comment(b, False)
    if "body" in b:
        db.execute("UPDATE comments SET body = ?, updated_at = ? WHERE id = ?", (b["body"], now(), ids[0]))
    return 200, comment_doc(get_comment(ids[0]), req.v), {}


def comment_delete(req, ids):
    get_comment(ids[0])
    db.execute("DELETE FROM comments WHERE id = ?", (ids[0],))
    return 204, None, {}


def search(req, ids):
    words = re.findall(r"\w+", req.q.get("q", ""))
    if not words:
        raise Problem(400, "invalid_parameter", "q is required",
                      [{"field": "q", "code": "required", "message": "one or more words"}])
    errs = []
    limit = int_param(errs, req.q, "limit", 1, 100, 20)
    if errs:
        raise Problem(400, "invalid_parameter", "limit is invalid", [{"field": "limit", "code": "out_of_range",
                                                                      "message": "an integer from 1 to 100"}])
    match = " ".join('"%s"' % w for w in words)
    live = "" if BUG == "drafts_found" else "AND p.status = 'published'"
    rows = db.execute("SELECT p.id, p.title, -bm25(posts_fts, 10.0, 1.0) AS rank, "
                      "snippet(posts_fts, -1, '<mark>', '</mark>', '...', 12) AS snippet "
                      "FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid "
                      "WHERE posts_fts MATCH ? AND p.deleted_at IS NULL " + live +
                      " ORDER BY rank DESC, p.id LIMIT ?", (match, limit)).fetchall()
    return 200, {"data": [dict(r) for r in rows]}, {}


def openapi_doc(req, ids):
    return 200, openapi(req.v), {}


def docs_page(req, ids):
    rows = "".join("<li><code>%s /api/v%d%s</code></li>" % (m.upper(), req.v, r) for m, r, _, _ in ROUTES_DOC)
    page = "<!doctype html><title>blog API v%d</title><h1>blog API</h1><ul>%s</ul>" % (req.v, rows)
    return 200, page, {"Content-Type": "text/html; charset=utf-8"}


ROUTES = [
    (r"/users", {"GET": users_list, "POST": users_create}),
    (r"/users/(\d+)", {"GET": user_get, "PATCH": user_patch, "DELETE": user_delete}),
    (r"/users/(\d+)/posts", {"GET": user_posts}),
    (r"/posts", {"GET": posts_list, "POST": posts_create}),
    (r"/posts/(\d+)", {"GET": post_get, "PUT": lambda r, i: post_update(r, i, "put"),
                       "PATCH": lambda r, i: post_update(r, i, "patch"), "DELETE": post_delete}),
    (r"/posts/(\d+)/restore", {"POST": post_restore}),
    (r"/posts/(\d+)/archive", {"POST": post_archive}),
    (r"/posts/(\d+)/comments", {"GET": comments_list, "POST": comments_create}),
    (r"/comments/(\d+)", {"GET": comment_get, "PATCH": comment_patch, "DELETE": comment_delete}),
    (r"/search", {"GET": search}),
    (r"/openapi.json", {"GET": openapi_doc}),
    (r"/docs", {"GET": docs_page}),
]
UNLIMITED = ("/openapi.json", "/docs")
LISTS = (users_list, user_posts, posts_list, comments_list)


class Req:
    def __init__(self, h, path, q, v, raw):
        self.headers, self.path, self.q, self.v, self.raw = h.headers, path, q, v, raw
        self.ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self):
        if self.ctype != "application/json":
            raise Problem(415, "unsupported_media_type", "send application/json")
        try:
            b = json.loads(self.raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise Problem(400, "malformed_json", "the body is not JSON")
        if not isinstance(b, dict):
            raise Problem(400, "malformed_json", "the body must be a JSON object")
        return b


def negotiate(accept, is_list):
    """'json', 'csv' or None (406)."""
    if not accept:
        return "json"
    for part in accept.split(","):
        mt = part.split(";")[0].strip().lower()
        if mt in ("*/*", "application/*", "application/json"):
            return "json"
        if mt == "text/csv" and is_list:
            return "csv"
    return None


def to_csv(doc):
    rows = doc["data"]
    cols = [k for k in (rows[0] if rows else {}) if k not in ("links", "author")]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_NONE if BUG == "csv_unquoted" else csv.QUOTE_MINIMAL,
                   escapechar="\\" if BUG == "csv_unquoted" else None)
    w.writerow(cols)
    for r in rows:
        w.writerow([";".join(r[c]) if isinstance(r[c], list) else r[c] for c in cols])
    return out.getvalue()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, headers, ctype):
        self.send_response(status)
        headers = dict(headers)
        headers.setdefault("Vary", "Accept")
        if body is not None and status not in (204, 304):
            data = body.encode() if isinstance(body, str) else body
            headers.setdefault("Content-Type", ctype)
        else:
            data = b""
        for k, val in headers.items():
            self.send_header(k, str(val))
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def client(self):
        return self.headers.get("X-API-Key") or self.client_address[0]

    def limit(self, rl):
        """Counts this request; the RateLimit headers, or raises 429."""
        key = "shared" if BUG == "limit_shared" else self.client()
        t = time.monotonic()
        q = hits[key]
        while q and q[0] <= t - WINDOW:
            q.popleft()
        if len(q) >= LIMIT:
            reset = max(1, int(q[0] + WINDOW - t + 0.999))
            rl.update({"RateLimit-Limit": LIMIT, "RateLimit-Remaining": 0, "RateLimit-Reset": reset,
                       "Retry-After": reset})
            raise Problem(429, "rate_limited", "over %d requests an hour" % LIMIT)
        q.append(t)
        rl.update({"RateLimit-Limit": LIMIT, "RateLimit-Remaining": LIMIT - len(q),
                   "RateLimit-Reset": max(1, int(q[0] + WINDOW - t + 0.999))})

    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            self.close_connection = True
            return self.problem(Problem(413, "payload_too_large", "at most 1 MiB"), u.path, {})
        raw = self.rfile.read(n) if n else b""
        if u.path in ("/healthz", "/readyz"):
            return self.reply(200, '{"status":"ok"}', {}, "application/json")
        rl = {}
        with LOCK:
            try:
                self.route(u, raw, rl)
            except Problem as p:
                self.problem(p, u.path, rl)

    def problem(self, p, path, rl):
        doc = {"type": "https://strata.dev/problems/" + p.code.replace("_", "-"), "title": TITLES.get(p.status, ""),
               "status": p.status, "code": p.code, "detail": p.detail, "instance": path}
        if BUG == "no_code":
            del doc["code"]
        if p.errors is not None:
            doc["errors"] = p.errors
        self.reply(p.status, json.dumps(doc), dict(rl, **p.headers), "application/problem+json")

    def route(self, u, raw, rl):
        m = re.fullmatch(r"/api/v([12])(/.*)", u.path)
        if not m:
            raise Problem(404, "not_found", "no such resource")
        v, rest = int(m.group(1)), m.group(2)
        if rest not in UNLIMITED:
            self.limit(rl)
        for pat, methods in ROUTES:
            mm = re.fullmatch(pat, rest)
            if not mm:
                continue
            fn = methods.get(self.command)
            if fn is None:
                if BUG == "no_405":
                    raise Problem(404, "not_found", "no such resource")
                raise Problem(405, "method_not_allowed", "%s is not allowed here" % self.command,
                              headers={"Allow": ", ".join(methods)})
            fmt = negotiate(self.headers.get("Accept"), fn in LISTS)
            if fmt is None and fn is not docs_page:
                raise Problem(406, "not_acceptable", "lists answer JSON or CSV, resources JSON")
            q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
            req = Req(self, u.path, q, v, raw)
            key = self.headers.get("Idempotency-Key") if self.command == "POST" else None
            if key is not None and not re.fullmatch(r"[\x21-\x7e][\x20-\x7e]{0,254}", key):
                raise Problem(400, "invalid_header", "Idempotency-Key is 1 to 255 printable characters")
            if key:
                ik = (self.client(), key)
                if ik in idem:
                    body_hash, status, doc, headers = idem[ik]
                    if body_hash != hashlib.sha256(raw).hexdigest():
                        raise Problem(422, "idempotency_key_reused", "this key was used with another body")
                    return self.reply(status, json.dumps(doc), dict(rl, **headers, **{"Idempotent-Replayed": "true"}),
                                      "application/json")
            status, doc, headers = fn(req, [int(x) for x in mm.groups()])
            if key and status < 500:
                idem[(self.client(), key)] = (hashlib.sha256(raw).hexdigest(), status, doc, headers)
            if isinstance(doc, str):
                return self.reply(status, doc, dict(rl, **headers), "text/html")
            if fmt == "csv":
                return self.reply(status, to_csv(doc), dict(rl, **headers), "text/csv; charset=utf-8")
            return self.reply(status, None if doc is None else json.dumps(doc), dict(rl, **headers),
                              "application/json")
        raise Problem(404, "not_found", "no such resource")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", args.listen), Handler)
print("listening on http://127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
