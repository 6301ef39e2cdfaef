#!/usr/bin/env python3
"""blog_check.py STRATA_URL PEER_URL - bench/blog.sh's check before measuring: both servers
answer the benchmark's four routes with the same status, the same members (recursively) and
the same meta; a list page has 20 posts with comment_count and tags; the create answers 201
with a Location naming the post. Exits 1 with the first difference."""
import json
import sys
import urllib.request


def call(base, path, body=None):
    req = urllib.request.Request(base + path, method="POST" if body else "GET")
    if body:
        req.add_header("Content-Type", "application/json")
        req.data = json.dumps(body).encode()
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.read())


def shape(v):
    """The members and types of a JSON value, recursively (list items: the first one's)."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in sorted(v.items())}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    return type(v).__name__


def fail(msg):
    print(f"blog_check: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail("usage: blog_check.py STRATA_URL PEER_URL")
    a, b = sys.argv[1], sys.argv[2]
    reads = ["/api/v1/posts?limit=20", "/api/v1/posts/7", "/api/v1/posts/7/comments?limit=20"]
    for path in reads:
        sa, _, ja = call(a, path)
        sb, _, jb = call(b, path)
        if sa != 200 or sb != 200:
            fail(f"{path}: status {sa} and {sb}")
        if shape(ja) != shape(jb):
            fail(f"{path}: shapes differ:\n{shape(ja)}\n{shape(jb)}")
        if "meta" in ja and ja["meta"] != jb["meta"]:
            fail(f"{path}: meta differs: {ja['meta']} {jb['meta']}")
        if "data" not in ja and ja != jb:  # the same post, the same values
            fail(f"{path}: the post differs")
    _, _, page = call(a, reads[0])
    if len(page["data"]) != 20 or not all("comment_count" in p and "tags" in p for p in page["data"]):
        fail("the list page does not hold 20 posts with comment_count and tags")
    post = {"author_id": 1, "title": "check", "body": "b", "status": "published", "tags": ["bench"]}
    created = []
    for base in (a, b):
        st, hdr, js = call(base, "/api/v1/posts", post)
        if st != 201 or hdr.get("location") != f"/api/v1/posts/{js['id']}" or js["tags"] != ["bench"]:
            fail(f"{base}: create answered {st}, Location {hdr.get('location')}, {js}")
        created.append(js)
    if shape(created[0]) != shape(created[1]):
        fail(f"create: shapes differ:\n{shape(created[0])}\n{shape(created[1])}")
    print("blog_check: both servers answer the four routes alike")


if __name__ == "__main__":
    main()
