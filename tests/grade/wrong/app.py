#!/usr/bin/env python3
"""app.py - a correct Python answer to questions 11-20 of module 1, for testing the graders.

tests/grade/graders.sh runs every grader against this app (all must pass) and against the
other scripts in this directory, each of which subclasses Handler to plant exactly one bug
(the grader for that question must FAIL). Standard library only: http.server.

    python3 app.py --port PORT [--dir DIR]
"""
import argparse
import email.utils
import glob
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def module_names():
    names = []
    for path in sorted(glob.glob(os.path.join(ROOT, "curriculum", "[0-9][0-9]-*.txt"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("name: "):
                    names.append(line[6:].strip())
                    break
    return names


MODULES = module_names()
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css", ".png": "image/png", ".txt": "text/plain"}
PAGES = {"/home": "Home", "/about": "About us", "/contact": "Contact"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # http.server answers a request line it cannot parse the HTTP/0.9 way (a bare body, no
    # status line) unless the default version is 1.x: a client then sees no 400 at all.
    default_request_version = "HTTP/1.0"
    static_dir = None
    users = {}
    next_id = [1]
    lock = threading.Lock()

    # ---- plumbing ----

    def log_message(self, fmt, *args):  # the default access log is replaced by log_line
        pass

    def log_line(self, status):
        ms = (time.monotonic() - self.t0) * 1000
        sys.stderr.write(f"method={self.command} path={self.path_only} status={status} duration_ms={ms:.3f}\n")
        sys.stderr.flush()

    def send(self, status, body=b"", ctype=None, headers=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)
        self.log_line(status)

    def send_json(self, status, value, pretty=True):
        text = json.dumps(value, indent=2 if pretty else None, ensure_ascii=False)
        self.send(status, text, "application/json")

    def problem(self, status, title, **extra):
        body = {"type": "about:blank", "title": title, "status": status}
        body.update(extra)
        self.send(status, json.dumps(body), "application/problem+json")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def media_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def handle_any(self):
        self.t0 = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        self.path_only = url.path
        self.query = url.query
        body = self.read_body()
        try:
            self.route(self.command, url.path, body)
        except Exception:  # Q17: never leak the trace
            self.problem(500, "Internal Server Error")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def route(self, method, path, body):
        if path == "/" and method in ("GET", "HEAD"):
            return self.hello()
        if path == "/time" and method == "GET":
            return self.time()
        if path == "/echo" and method == "POST":
            return self.echo(body)
        if path in PAGES:
            if method not in ("GET", "HEAD"):
                return self.not_allowed()
            return self.page(path)
        if path == "/search" and method == "GET":
            return self.search()
        if path == "/error":
            raise RuntimeError("boom")
        if path == "/users" or path.startswith("/users/"):
            return self.users_route(method, path, body)
        if path.startswith("/static/") and method in ("GET", "HEAD"):
            return self.static(path)
        return self.problem(404, "Not Found")

    # ---- Q11-Q15 ----

    def hello(self):
        self.send(200, "Hello World\n", "text/plain; charset=utf-8")

    def time(self):
        now = time.time()
        self.send_json(200, {"time": self.format_time(now), "epoch_ms": int(now * 1000)})

    def format_time(self, now):
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % int((now % 1) * 1000)

    def echo(self, body):
        if self.media_type() != "application/json":
            return self.problem(415, "Unsupported Media Type")
        try:
            value = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return self.problem(400, "Invalid JSON", detail=str(e))
        self.send_json(200, value, pretty=self.pretty(value))

    def pretty(self, value):
        return True

    def not_allowed(self):
        self.send(405, "Method Not Allowed\n", "text/plain", {"Allow": "GET, HEAD"})

    def page(self, path):
        title = PAGES[path]
        self.send(200, f"<!doctype html><html><body><h1>{title}</h1><p>{path}</p></body></html>\n",
                  "text/html; charset=utf-8")

    def matches(self, name, q):
        return q.lower() in name.lower()

    def search(self):
        params = urllib.parse.parse_qs(self.query, keep_blank_values=True)
        q = params.get("q", [""])[0]
        if not q:
            return self.problem(400, "q is required")
        limit = 25
        if "limit" in params:
            text = params["limit"][0]
            if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= 25:
                return self.problem(400, "limit must be 1..25")
            limit = int(text)
        results = [{"id": i + 1, "name": n} for i, n in enumerate(MODULES) if self.matches(n, q)]
        self.send_json(200, {"query": q, "results": results[:limit]})

    # ---- Q18-Q19 ----

    def validate(self, u):
        errors = []
        name, mail = u.get("name"), u.get("email")
        if not isinstance(name, str) or not name.strip():
            errors.append({"field": "name", "message": "name is required and must be a non-empty string"})
        if not isinstance(mail, str) or "@" not in mail:
            errors.append({"field": "email", "message": "email is required and must contain '@'"})
        return errors

    def user_input(self, body):
        try:
            u = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.problem(400, "Invalid JSON")
            return None
        if not isinstance(u, dict):
            self.problem(422, "Validation failed", errors=[{"field": "body", "message": "must be an object"}])
            return None
        errors = self.validate(u)
        if errors:
            self.problem(422, "Validation failed", errors=errors)
            return None
        return {"name": u["name"], "email": u["email"]}

    def created_status(self):
        return 201

    def users_route(self, method, path, body):
        with self.lock:
            if path == "/users":
                if method == "GET":
                    return self.send_json(200, list(self.users.values()))
                if method == "POST":
                    u = self.user_input(body)
                    if u is None:
                        return
                    if any(x["email"] == u["email"] for x in self.users.values()):
                        return self.problem(409, "email already taken")
                    u = {"id": self.next_id[0], **u}
                    self.next_id[0] += 1
                    self.users[u["id"]] = u
                    return self.send(self.created_status(), json.dumps(u), "application/json",
                                     {"Location": f"/users/{u['id']}"})
                return self.send(405, "", "text/plain", {"Allow": "GET, POST"})
            try:
                uid = int(path[len("/users/"):])
            except ValueError:
                return self.problem(404, "Not Found")
            if uid not in self.users:
                return self.problem(404, "Not Found")
            if method == "GET":
                return self.send_json(200, self.users[uid])
            if method == "PUT":
                u = self.user_input(body)
                if u is None:
                    return
                if any(x["email"] == u["email"] and k != uid for k, x in self.users.items()):
                    return self.problem(409, "email already taken")
                self.users[uid] = {"id": uid, **u}
                return self.send_json(200, self.users[uid])
            if method == "DELETE":
                del self.users[uid]
                return self.send(204)
            return self.send(405, "", "text/plain", {"Allow": "GET, PUT, DELETE"})

    # ---- Q20 ----

    def resolve(self, rel):
        """The file for a /static/ path, or None when it is missing or outside the root."""
        rel = urllib.parse.unquote(rel)
        if "\0" in rel or "\\" in rel or ".." in rel.split("/"):
            return None
        root = os.path.realpath(self.static_dir)
        full = os.path.realpath(os.path.join(root, rel))
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            return None
        return full

    def static(self, path):
        if not self.static_dir:
            return self.problem(404, "Not Found")
        full = self.resolve(path[len("/static/"):])
        if not full:
            return self.problem(404, "Not Found")
        st = os.stat(full)
        etag = '"%x-%x"' % (st.st_size, st.st_mtime_ns)
        ctype = TYPES.get(os.path.splitext(full)[1], "application/octet-stream")
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Last-Modified": email.utils.formatdate(st.st_mtime, usegmt=True)}
        inm = self.headers.get("If-None-Match")
        if inm and etag in [t.strip() for t in inm.split(",")]:
            return self.send(304, b"", None, headers)
        with open(full, "rb") as f:
            data = f.read()
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if m and (m.group(1) or m.group(2)):
                size = len(data)
                if m.group(1):
                    a = int(m.group(1))
                    b = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    a, b = max(size - int(m.group(2)), 0), size - 1
                if a >= size or a > b:
                    headers["Content-Range"] = f"bytes */{size}"
                    return self.send(416, b"", None, headers)
                headers["Content-Range"] = f"bytes {a}-{b}/{size}"
                return self.send(206, data[a:b + 1], ctype, headers)
        self.send(200, data, ctype, headers)


def main(handler=Handler):
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir")
    args = ap.parse_args()
    handler.static_dir = args.dir
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
