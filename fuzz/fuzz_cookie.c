/*
 * fuzz_cookie.c - libFuzzer target for Cookie parsing and Set-Cookie formatting
 * (src/http/cookie.c).
 *
 * Oracles:
 *   - parsed names and values are slices of the input, names non-empty and without '=',
 *     ';' or surrounding whitespace, values without ';'; st_http_cookie_get returns the
 *     first pair of a name;
 *   - the input split at its first 0xff byte is tried as a Set-Cookie name and value (the
 *     first byte picks attributes): when formatting succeeds the header is printable ASCII,
 *     and parsing its first pair gives back the name and (unquoted) value; when it fails,
 *     the buffer is unchanged.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/buf.h"
#include "base/err.h"
#include "http/cookie.h"

static void check_parse(const char *h, size_t size)
{
    struct st_str rest = st_str(h, size), n, v;
    bool first = true;
    struct st_str first_name = { 0 }, first_value = { 0 };
    while (st_http_cookie_next(&rest, &n, &v)) {
        CHECK(n.len > 0 && n.ptr >= h && v.ptr + v.len <= h + size);
        CHECK(!memchr(n.ptr, '=', n.len) && !memchr(n.ptr, ';', n.len) && !memchr(v.ptr, ';', v.len));
        CHECK(n.ptr[0] != ' ' && n.ptr[0] != '\t' && n.ptr[n.len - 1] != ' ' && n.ptr[n.len - 1] != '\t');
        if (first) {
            first_name = n;
            first_value = v;
            first = false;
        }
    }
    CHECK(rest.len == 0);
    if (first || memchr(first_name.ptr, '\0', first_name.len))
        return;
    char *name = malloc(first_name.len + 1);
    CHECK(name);
    memcpy(name, first_name.ptr, first_name.len);
    name[first_name.len] = '\0';
    struct st_str got;
    CHECK(st_http_cookie_get(st_str(h, size), name, &got) == 0);
    CHECK(got.ptr == first_value.ptr && got.len == first_value.len);
    free(name);
}

static void check_format(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    uint8_t bits = data[0];
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    const char *sep = memchr(p, 0xff, len);
    struct st_str name = st_str(p, sep ? (size_t)(sep - p) : len / 2);
    struct st_str value = sep ? st_str(sep + 1, len - name.len - 1) : st_str(p + name.len, len - name.len);
    struct st_http_cookie_opts o = {
        .path = bits & 1 ? "/" : NULL,
        .domain = bits & 2 ? "example.com" : NULL,
        .has_max_age = bits & 4,
        .max_age = (int64_t)bits * 1000 - 50000,
        .has_expires = bits & 8,
        .expires_ms = (int64_t)bits << 40,
        .secure = bits & 16,
        .http_only = bits & 32,
        .same_site = (enum st_http_samesite)(bits >> 6),
    };
    struct st_buf b;
    st_buf_init(&b, bits & 128 ? 40 : ST_BUF_UNLIMITED);
    CHECK(st_buf_append_c(&b, "x") == 0);
    int rc = st_http_cookie_format(&b, name, value, &o);
    CHECK(rc == 0 || rc == ST_EPARSE || rc == ST_ELIMIT);
    if (rc) {
        CHECK(b.len == 1 && strcmp(b.data, "x") == 0);
        st_buf_release(&b);
        return;
    }
    for (size_t i = 1; i < b.len; i++)
        CHECK(b.data[i] >= 0x20 && b.data[i] < 0x7f);
    struct st_str pair, n, v;
    st_str_cut(st_str(b.data + 1, b.len - 1), ';', &pair, NULL);
    CHECK(st_http_cookie_next(&pair, &n, &v));
    CHECK(st_str_eq(n, name));
    if (value.len >= 2 && value.ptr[0] == '"' && value.ptr[value.len - 1] == '"')
        value = st_str(value.ptr + 1, value.len - 2);
    CHECK(st_str_eq(v, value));
    st_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    check_parse((const char *)data, size);
    check_format(data, size);
    return 0;
}
