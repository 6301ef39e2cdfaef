#!/usr/bin/env python3
"""blog_proxy.py - a blog API with one planted bug: a proxy in front of a correct one.

Usage: blog_proxy.py --listen PORT --upstream HOST:PORT [--bug NAME]

Without --bug it forwards every request and answer unchanged (the graders must pass through
it: they do not depend on strata). Each bug breaks exactly one rule of docs/blog-api.md, the
way a real implementation gets it wrong; tests/grade/blog_http.sh checks that the grader of
that rule fails. Stdlib only.
"""
import argparse
import http.client
import http.server
import json
import random
import re
import socketserver
import urllib.parse

BUGS = {
    "v2_is_v1": "v2 is an alias of v1 (no embedded author, offset paging)",
    "tag_ignored": "the tag filter is dropped from lists",
    "openapi_incomplete": "the OpenAPI document misses the search route",
    "no_ratelimit": "every request counts against a new client: nobody is ever limited",
    "no_location": "201 answers carry no Location",
    "no_idempotency": "Idempotency-Key is ignored: a retry creates a second post",
    "csv_ignored": "Accept is ignored: always JSON, never 406",
    "hard_delete": "DELETE destroys the post (archive): nothing to restore",
    "no_mark": "search snippets have no <mark>",
    "rank_reversed": "search results come worst first",
    "no_allow": "405 answers without Allow",
    "created_200": "creations answer 200 instead of 201",
    "offset_overlap": "offset is off by one: pages overlap",
    "first_error_only": "a 422 lists only the first bad field",
    "plain_errors": "errors are {\"error\": ...} as application/json, not problem+json",
    "lost_update": "If-Match is treated as *: concurrent writers overwrite each other",
}

ap = argparse.ArgumentParser()
ap.add_argument("--listen", type=int, required=True)
ap.add_argument("--upstream", required=True)
ap.add_argument("--bug", choices=sorted(BUGS))
args = ap.parse_args()
UP_HOST, UP_PORT = args.upstream.rsplit(":", 1)
BUG = args.bug
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


def rewrite_request(method, path, headers):
    u = urllib.parse.urlsplit(path)
    if BUG == "v2_is_v1" and u.path.startswith("/api/v2/"):
        path = "/api/v1/" + path[len("/api/v2/"):]
    if BUG == "tag_ignored" and "tag=" in u.query:
        q = "&".join(p for p in u.query.split("&") if not p.startswith("tag="))
        path = u.path + ("?" + q if q else "")
    if BUG == "no_ratelimit":
        headers["X-API-Key"] = "anon-%x" % random.getrandbits(64)
    if BUG == "no_idempotency":
        headers.pop("Idempotency-Key", None)
    if BUG == "csv_ignored":
        headers.pop("Accept", None)
    if BUG == "offset_overlap" and "offset=" in u.query:
        q = re.sub(r"(^|&)offset=(\d+)", lambda m: "%soffset=%d" % (m.group(1), max(0, int(m.group(2)) - 1)), u.query)
        path = u.path + "?" + q
    if BUG == "lost_update" and "If-Match" in headers:
        headers["If-Match"] = "*"
    if BUG == "hard_delete" and method == "DELETE" and re.fullmatch(r"/api/v[12]/posts/\d+", u.path):
        return "POST", path + "/archive", headers
    return method, path, headers


def rewrite_response(method, path, status, headers, body):
    u = urllib.parse.urlsplit(path)
    if BUG == "no_location":
        headers.pop("Location", None)
    if BUG == "no_ratelimit":
        for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
            headers.pop(h, None)
    if BUG == "offset_overlap" and "offset=" in u.query:
        q = re.sub(r"(^|&)offset=(\d+)", lambda m: "%soffset=%d" % (m.group(1), max(0, int(m.group(2)) - 1)), u.query)
        path = u.path + "?" + q
    if BUG == "lost_update" and "If-Match" in headers:
        headers["If-Match"] = "*"
    if BUG == "hard_delete" and method == "DELETE" and status == 200:
        return 204, headers, b""
    if BUG == "no_allow":
        headers.pop("Allow", None)
    if BUG == "created_200" and status == 201:
        status = 200
    problem = headers.get("Content-Type", "").startswith("application/problem+json")
    if BUG == "first_error_only" and problem and status == 422:
        doc = json.loads(body)
        doc["errors"] = doc.get("errors", [])[:1]
        body = json.dumps(doc).encode()
    if BUG == "plain_errors" and problem:
        doc = json.loads(body)
        body = json.dumps({"error": doc.get("detail") or doc.get("title")}).encode()
        headers["Content-Type"] = "application/json"
    if BUG == "openapi_incomplete" and u.path.endswith("/openapi.json") and status == 200:
        doc = json.loads(body)
        doc["paths"] = {k: v for k, v in doc["paths"].items() if not k.endswith("/search")}
        body = json.dumps(doc).encode()
    if BUG in ("no_mark", "rank_reversed") and u.path.endswith("/search") and status == 200:
        doc = json.loads(body)
        if BUG == "no_mark":
            for d in doc["data"]:
                d["snippet"] = d["snippet"].replace("<mark>", "").replace("</mark>", "")
        else:
            doc["data"].reverse()
        body = json.dumps(doc).encode()
    return status, headers, body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        method, path, headers = rewrite_request(self.command, self.path, headers)
        if body is not None or method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body or b""))
        c = http.client.HTTPConnection(UP_HOST, int(UP_PORT), timeout=60)
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        rh = {k: v for k, v in r.getheaders() if k.lower() not in HOP}
        c.close()
        status, rh, data = rewrite_response(self.command, self.path, r.status, rh, data)
        self.send_response(status)
        for k, v in rh.items():
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the graders open 8 connections at once (Q117)


srv = Server(("127.0.0.1", args.listen), Handler)
print("listening on http://127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
