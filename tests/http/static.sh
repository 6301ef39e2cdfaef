#!/usr/bin/env bash
# static.sh - static files over real HTTP (curl on loopback against the strata binary):
# exact bytes, media types, validators and conditional requests (304), ranges (206/416),
# HEAD, 405, directory redirect and index, and path traversal in every spelling - raw
# "..", encoded, double-encoded, backslash, NUL, symlinks out of the tree - never
# answering with the bytes of a file outside the served directory.
#
# Serves DIR under /static/ with `strata example basics --directory DIR`; while that app
# does not exist yet, with `strata example bench --root PARENT` where PARENT/static is DIR
# (the same URLs). STATIC_APP=basics|bench forces one.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA

T=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# ---- the tree: $W/static is DIR; secrets live outside it ----
W=$T/www
D=$W/static
mkdir -p "$D/sub" "$D/noindex" "$T/outside"
printf 'hello static\n' >"$D/hello.txt"
head -c 300000 /dev/urandom >"$D/blob.bin" # large enough for the sendfile path
printf '<!doctype html><title>root index</title>\n' >"$D/index.html"
printf '<!doctype html><title>sub index</title>\n' >"$D/sub/index.html"
printf 'body{color:red}\n' >"$D/style.css"
printf 'export const x = 1;\n' >"$D/app.js"
printf '{"a":1}\n' >"$D/data.json"
printf '<svg xmlns="http://www.w3.org/2000/svg"/>\n' >"$D/logo.svg"
printf '\x89PNG\r\n\x1a\n' >"$D/pixel.png"
printf 'just a file\n' >"$D/noindex/file.txt"
printf 'spaced\n' >"$D/a b.txt"
printf 'OUTSIDE-SECRET\n' >"$T/secret.txt"
printf 'OUTSIDE-SECRET\n' >"$T/outside/secret.txt"
ln -s /etc/passwd "$D/passwd-link"
ln -s "$T/outside" "$D/out-dir"
ln -s ../../secret.txt "$D/rel-link"
ln -s hello.txt "$D/in-link"
mkfifo "$D/fifo"
touch -d '2021-03-04 05:06:07 UTC' "$D/hello.txt"

# ---- the server ----
app=${STATIC_APP:-}
if [ -z "$app" ]; then
    if "$S" example basics --help >/dev/null 2>&1; then app=basics; else app=bench; fi
fi
# Right above DIR: outside the tree for basics (inside the bench app's root, so not there).
[ "$app" = basics ] && printf 'OUTSIDE-SECRET\n' >"$W/secret.txt"
if [ "$app" = basics ]; then
    "$S" example basics --listen 127.0.0.1:0 --directory "$D" >"$T/out" 2>"$T/err" &
else
    echo "# 'strata example basics' is not available: serving through 'strata example bench --root'"
    "$S" example bench --listen 127.0.0.1:0 --workers 2 --root "$W" >"$T/out" 2>"$T/err" &
fi
SERVER_PID=$!
port=$(listen_port "$T/out" "$SERVER_PID" 10)
if [ -z "$port" ]; then
    tap_result 0 "server ($app) started" "$(cat "$T/out" "$T/err")"
    done_testing
    exit 1
fi
tap_result 1 "server ($app) started on port $port"
U=http://127.0.0.1:$port

C=(curl -s --max-time 10)
code() { "${C[@]}" -o /dev/null -w '%{http_code}' "$@"; }
# The response head, CRs removed.
head_of() { "${C[@]}" -D - -o /dev/null "$@" | tr -d '\r'; }
# One header's value from a head.
field() { printf '%s\n' "$1" | sed -n "s/^$2: //Ip" | head -1; }

# ---- exact bytes and media types ----
"${C[@]}" -o "$T/got" "$U/static/hello.txt"
ok "GET hello.txt: exact bytes" cmp "$T/got" "$D/hello.txt"
"${C[@]}" -o "$T/got" "$U/static/blob.bin"
ok "GET blob.bin (300 kB, sendfile): exact bytes" cmp "$T/got" "$D/blob.bin"
"${C[@]}" -o "$T/got" "$U/static/a%20b.txt"
ok "percent-encoded name: exact bytes" cmp "$T/got" "$D/a b.txt"
"${C[@]}" -o "$T/got" "$U/static/in-link"
ok "symlink inside the tree is followed" cmp "$T/got" "$D/hello.txt"

check_type() { # path, wanted Content-Type
    local got
    got=$(field "$(head_of "$U/static/$1")" content-type)
    ok "Content-Type of $1 is $2" test "$got" = "$2"
}
check_type hello.txt 'text/plain; charset=utf-8'
check_type index.html 'text/html; charset=utf-8'
check_type style.css 'text/css; charset=utf-8'
check_type app.js 'text/javascript; charset=utf-8'
check_type data.json 'application/json'
check_type logo.svg 'image/svg+xml'
check_type pixel.png 'image/png'
check_type blob.bin 'application/octet-stream'

h=$(head_of "$U/static/hello.txt")
etag=$(field "$h" etag)
lm=$(field "$h" last-modified)
ok_match "200 for hello.txt" '^HTTP/1.1 200' "$h"
ok_match "strong quoted ETag" '^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$' "$etag"
ok "Last-Modified is the file's mtime" test "$lm" = "Thu, 04 Mar 2021 05:06:07 GMT"
ok_match "Accept-Ranges: bytes" '(^|\n)accept-ranges: bytes' "$(printf '%s' "$h" | tr 'A-Z' 'a-z')"
ok_match "Content-Length: 13" '(^|\n)content-length: 13(\n|$)' "$(printf '%s' "$h" | tr 'A-Z' 'a-z')"
ok_match "X-Content-Type-Options: nosniff" '(^|\n)x-content-type-options: nosniff' "$(printf '%s' "$h" | tr 'A-Z' 'a-z')"

# ---- conditional requests ----
ok "If-None-Match: the ETag -> 304" test "$(code -H "If-None-Match: $etag" "$U/static/hello.txt")" = 304
ok "If-None-Match: W/ETag (weak comparison) -> 304" test "$(code -H "If-None-Match: W/$etag" "$U/static/hello.txt")" = 304
ok "If-None-Match: a list containing it -> 304" test "$(code -H "If-None-Match: \"nope\", $etag" "$U/static/hello.txt")" = 304
ok "If-None-Match: * -> 304" test "$(code -H 'If-None-Match: *' "$U/static/hello.txt")" = 304
ok "If-None-Match: another tag -> 200" test "$(code -H 'If-None-Match: "nope"' "$U/static/hello.txt")" = 200
ok "HEAD with If-None-Match -> 304" test "$(code -I -H "If-None-Match: $etag" "$U/static/hello.txt")" = 304
rm -f "$T/got"
h304=$("${C[@]}" -D - -o "$T/got" -H "If-None-Match: $etag" "$U/static/hello.txt" | tr -d '\r')
ok "304 has no body" test ! -s "$T/got"
ok "304 repeats the ETag" test "$(field "$h304" etag)" = "$etag"
ok "If-Modified-Since: Last-Modified -> 304" test "$(code -H "If-Modified-Since: $lm" "$U/static/hello.txt")" = 304
ok "If-Modified-Since: later -> 304" test "$(code -H 'If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT' "$U/static/hello.txt")" = 304
ok "If-Modified-Since: earlier -> 200" test "$(code -H 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT' "$U/static/hello.txt")" = 200
ok "If-Modified-Since: rfc850 form -> 304" test "$(code -H 'If-Modified-Since: Thursday, 04-Mar-21 05:06:07 GMT' "$U/static/hello.txt")" = 304
ok "If-Modified-Since: garbage is ignored -> 200" test "$(code -H 'If-Modified-Since: yesterday' "$U/static/hello.txt")" = 200
ok "If-None-Match wins over If-Modified-Since -> 200" test "$(code -H 'If-None-Match: "nope"' -H "If-Modified-Since: $lm" "$U/static/hello.txt")" = 200
ok "If-Match: another tag -> 412" test "$(code -H 'If-Match: "nope"' "$U/static/hello.txt")" = 412
ok "If-Match: the ETag -> 200" test "$(code -H "If-Match: $etag" "$U/static/hello.txt")" = 200
ok "If-Unmodified-Since: earlier -> 412" test "$(code -H 'If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT' "$U/static/hello.txt")" = 412

# ---- ranges ----
h=$("${C[@]}" -D - -o "$T/got" -H 'Range: bytes=0-4' "$U/static/hello.txt" | tr -d '\r')
ok_match "Range 0-4 -> 206" '^HTTP/1.1 206' "$h"
ok "Range 0-4: Content-Range" test "$(field "$h" content-range)" = "bytes 0-4/13"
ok "Range 0-4: the bytes" test "$(cat "$T/got")" = "hello"
"${C[@]}" -o "$T/got" -H 'Range: bytes=-7' "$U/static/hello.txt"
ok "Range -7: the last 7 bytes" test "$(cat "$T/got")" = "static"
"${C[@]}" -o "$T/got" -H 'Range: bytes=6-' "$U/static/hello.txt"
ok "Range 6-: to the end" test "$(cat "$T/got")" = "static"
"${C[@]}" -o "$T/got" -H 'Range: bytes=100000-249999' "$U/static/blob.bin"
tail -c +100001 "$D/blob.bin" | head -c 150000 >"$T/want"
ok "Range inside blob.bin (sendfile at an offset): exact bytes" cmp "$T/got" "$T/want"
ok "Range past a huge last position is clamped -> 206" test "$(code -H 'Range: bytes=5-99999999999999999999999' "$U/static/hello.txt")" = 206
h=$(head_of -H 'Range: bytes=13-' "$U/static/hello.txt")
ok_match "Range past the end -> 416" '^HTTP/1.1 416' "$h"
ok "416 has Content-Range: bytes */13" test "$(field "$h" content-range)" = "bytes */13"
ok "Range -0 -> 416" test "$(code -H 'Range: bytes=-0' "$U/static/hello.txt")" = 416
"${C[@]}" -o "$T/got" -w '%{http_code}' -H 'Range: bytes=0-1,4-5' "$U/static/hello.txt" >"$T/code"
ok "several ranges -> 200 with the whole file" test "$(cat "$T/code")" = 200 -a "$(cat "$T/got")" = "hello static"
ok "malformed Range -> 200" test "$(code -H 'Range: bytes=5-3' "$U/static/hello.txt")" = 200
ok "Range in another unit -> 200" test "$(code -H 'Range: items=0-1' "$U/static/hello.txt")" = 200
ok "Range garbage -> 200" test "$(code -H 'Range: zzz' "$U/static/hello.txt")" = 200
ok "If-Range: the ETag -> 206" test "$(code -H 'Range: bytes=0-1' -H "If-Range: $etag" "$U/static/hello.txt")" = 206
ok "If-Range: another ETag -> 200" test "$(code -H 'Range: bytes=0-1' -H 'If-Range: "nope"' "$U/static/hello.txt")" = 200
ok "If-Range: a weak ETag never matches -> 200" test "$(code -H 'Range: bytes=0-1' -H "If-Range: W/$etag" "$U/static/hello.txt")" = 200
ok "If-Range: Last-Modified -> 206" test "$(code -H 'Range: bytes=0-1' -H "If-Range: $lm" "$U/static/hello.txt")" = 206
ok "If-Range: another date -> 200" test "$(code -H 'Range: bytes=0-1' -H 'If-Range: Sun, 06 Nov 1994 08:49:37 GMT' "$U/static/hello.txt")" = 200
ok "HEAD ignores Range -> 200" test "$(code -I -H 'Range: bytes=0-1' "$U/static/hello.txt")" = 200

# ---- HEAD and methods (raw, so that a body after the head would be seen) ----
raw() { # raw REQUEST-BYTES: the whole response until the server closes, then "|END"
    python3 - "$port" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode("latin-1") + "|END")
EOF
}
r=$(raw 'HEAD /static/hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
ok_match "HEAD -> 200" '^HTTP/1.1 200' "$r"
ok_match "HEAD has Content-Length: 13" $'[Cc]ontent-[Ll]ength: 13\r' "$r"
ok "HEAD has no body" python3 -c 'import sys; r=sys.argv[1]; assert r.endswith("\r\n\r\n|END") and r.count("\r\n\r\n")==1, repr(r)' "$r"
r=$(raw 'HEAD /static/hello.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /static/hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
ok "HEAD then GET pipelined: the GET's response right after the HEAD's head" python3 -c '
import sys; r = sys.argv[1]
head, rest = r.split("\r\n\r\n", 1)
assert head.startswith("HTTP/1.1 200") and rest.startswith("HTTP/1.1 200"), repr(r)
assert rest.endswith("\r\n\r\nhello static\n|END"), repr(r)' "$r"
h=$(head_of -X POST -d x "$U/static/hello.txt")
ok_match "POST -> 405" '^HTTP/1.1 405' "$h"
# bench answers "GET, HEAD"; an app router may add OPTIONS, which it answers itself
ok_match "405 has Allow: GET, HEAD" '^GET, HEAD(, OPTIONS)?$' "$(field "$h" allow)"
ok "DELETE -> 405" test "$(code -X DELETE "$U/static/hello.txt")" = 405

# ---- directories ----
h=$(head_of "$U/static/sub")
ok_match "directory without '/' -> 301" '^HTTP/1.1 301' "$h"
ok "301 Location: /static/sub/" test "$(field "$h" location)" = "/static/sub/"
ok "301 keeps the query" test "$(field "$(head_of "$U/static/sub?x=1&y=2")" location)" = "/static/sub/?x=1&y=2"
h=$(head_of "$U/static")
ok_match "the prefix without '/' -> 301" '^HTTP/1.1 301' "$h"
ok "301 Location: /static/" test "$(field "$h" location)" = "/static/"
loc=$(field "$(head_of --path-as-is "$U//static/sub")" location)
ok "never a scheme-relative Location ('//host')" test "${loc#//}" = "$loc"
"${C[@]}" -o "$T/got" "$U/static/sub/"
ok "directory with '/' -> its index.html" cmp "$T/got" "$D/sub/index.html"
"${C[@]}" -o "$T/got" "$U/static/"
ok "/static/ -> the root index.html" cmp "$T/got" "$D/index.html"
ok "index Content-Type is text/html" test "$(field "$(head_of "$U/static/sub/")" content-type)" = 'text/html; charset=utf-8'
ok "directory without an index -> 404" test "$(code "$U/static/noindex/")" = 404
ok "a file with a trailing '/' -> 404" test "$(code "$U/static/hello.txt/")" = 404
ok "missing file -> 404" test "$(code "$U/static/nope.txt")" = 404
ok "a FIFO -> 404 at once (never blocks)" test "$(code "$U/static/fifo")" = 404
ok "still serving after the FIFO" test "$(code "$U/static/hello.txt")" = 200
b=$("${C[@]}" "$U/static/nope.txt")
ok "404 does not reveal the file system path" test "${b/$T/}" = "$b"

# ---- traversal: always 4xx, never the bytes of a file outside DIR ----
trav() { # name, path (sent as is)
    local c
    c=$("${C[@]}" --path-as-is -o "$T/got" -w '%{http_code}' "$U$2")
    if [[ $c == 4?? ]] && ! grep -q -e OUTSIDE-SECRET -e 'root:' "$T/got"; then
        tap_result 1 "traversal $1 -> $c"
    else
        tap_result 0 "traversal $1 -> $c" "$(head -c 300 "$T/got")"
    fi
}
trav "raw ../" "/static/../secret.txt"
trav "raw ../../" "/static/../../secret.txt"
trav "raw deep" "/static/../../../../../../etc/passwd"
trav "raw sub/../../" "/static/sub/../../secret.txt"
trav "%2e%2e/" "/static/%2e%2e/secret.txt"
trav "%2e%2e/%2e%2e/" "/static/%2e%2e/%2e%2e/secret.txt"
trav "%2E%2E%2F" "/static/%2E%2E%2Fsecret.txt"
trav "%2E%2E%2F%2E%2E%2F" "/static/%2E%2E%2F%2E%2E%2Fsecret.txt"
trav "..%2f" "/static/..%2fsecret.txt"
trav "..%2f..%2f" "/static/..%2f..%2fsecret.txt"
trav ".%2e/" "/static/.%2e/.%2e/secret.txt"
trav "%252e%252e (decoded once)" "/static/%252e%252e/%252e%252e/secret.txt"
trav "..%5c (backslash)" "/static/..%5c..%5csecret.txt"
trav "raw backslash" '/static/..\..\secret.txt'
trav "%00" "/static/hello.txt%00.png"
trav "%2e%2e to /etc/passwd" "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"
trav "symlink to /etc/passwd" "/static/passwd-link"
trav "relative symlink out" "/static/rel-link"
trav "symlinked directory out" "/static/out-dir/secret.txt"
trav "symlinked directory out, listing" "/static/out-dir/"
trav "symlinked directory out, redirect" "/static/out-dir"
trav "bad escape" "/static/%zz"

# ---- the server stops cleanly (ASan would fail the exit on a leak) ----
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
st=$?
SERVER_PID=
ok "server exits 0 on SIGTERM" test "$st" = 0
ok "no sanitizer report from the server" test -z "$(grep -e AddressSanitizer -e 'runtime error' "$T/err")"
if [ "$st" != 0 ]; then sed 's/^/# /' "$T/err" | head -40; fi

done_testing
