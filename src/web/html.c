/*
 * html.c - building HTML safely (html.h): escaping, st_html_fmt, the lab's page layout and
 * markdown through md4c.
 *
 * Markdown is rendered by md4c's md_html with raw HTML off (MD_FLAG_NOHTML: a <script> in
 * the source comes out as &lt;script&gt;). md4c does not judge link destinations: it
 * decodes entities and percent-encodes, but `[x](javascript:alert(1))` still becomes
 * href="javascript:alert(1)". So the rendered HTML is filtered afterwards: every href and
 * src value md4c wrote must be relative or use http, https or mailto, or it becomes "#".
 * md4c escapes '"' in text (&quot;), so the bytes `href="` only ever occur inside a tag
 * it wrote, which is what makes the filter a plain scan.
 */
#include "web/html.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <md4c-html.h>

#include "base/err.h"
#include "web/assets.h"

/* ---- escaping ---- */

void st_html_text(struct st_buf *b, struct st_str s)
{
    size_t from = 0;
    for (size_t i = 0; i < s.len; i++) {
        const char *rep;
        size_t n;
        switch (s.ptr[i]) {
        case '&': rep = "&amp;", n = 5; break;
        case '<': rep = "&lt;", n = 4; break;
        case '>': rep = "&gt;", n = 4; break;
        case '"': rep = "&quot;", n = 6; break;
        case '\'': rep = "&#39;", n = 5; break;
        default: continue;
        }
        st_buf_append(b, s.ptr + from, i - from);
        st_buf_append(b, rep, n);
        from = i + 1;
    }
    st_buf_append(b, s.ptr + from, s.len - from);
}

/* A wrong conversion in a format literal is a bug in our code: stop loudly. */
__attribute__((noreturn)) static void bad_format(const char *fmt, const char *at)
{
    fprintf(stderr, "st_html_fmt: unsupported conversion at offset %zu of \"%s\"\n", (size_t)(at - fmt), fmt);
    abort();
}

void st_html_fmt(struct st_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *p = fmt;
    while (*p) {
        const char *pct = strchr(p, '%');
        if (!pct) {
            st_buf_append_c(b, p);
            break;
        }
        st_buf_append(b, p, (size_t)(pct - p));
        const char *c = pct + 1;
        if (c[0] == 's') {
            const char *s = va_arg(ap, const char *);
            st_html_text(b, st_str_c(s));
            p = c + 1;
        } else if (c[0] == 'S') {
            const struct st_str *s = va_arg(ap, const struct st_str *);
            st_html_text(b, s ? *s : (struct st_str){ NULL, 0 });
            p = c + 1;
        } else if (c[0] == 'R') {
            st_buf_append_c(b, va_arg(ap, const char *));
            p = c + 1;
        } else if (c[0] == 'd') {
            st_buf_printf(b, "%d", va_arg(ap, int));
            p = c + 1;
        } else if (c[0] == 'u') {
            st_buf_printf(b, "%u", va_arg(ap, unsigned));
            p = c + 1;
        } else if (c[0] == 'l' && c[1] == 'l' && c[2] == 'd') {
            st_buf_printf(b, "%lld", va_arg(ap, long long));
            p = c + 3;
        } else if (c[0] == 'z' && c[1] == 'u') {
            st_buf_printf(b, "%zu", va_arg(ap, size_t));
            p = c + 2;
        } else if (c[0] == '.' && c[1] == '1' && c[2] == 'f') {
            st_buf_printf(b, "%.1f", va_arg(ap, double));
            p = c + 3;
        } else if (c[0] == '%') {
            st_buf_append_byte(b, '%');
            p = c + 1;
        } else {
            va_end(ap);
            bad_format(fmt, pct);
        }
    }
    va_end(ap);
}

/* ---- the layout ---- */

static const struct {
    const char *key, *href, *label;
} nav[] = {
    { "home", "/", "Dashboard" },
    { "questions", "/levels/1", "Questions" },
    { "search", "/search", "Search" },
    { "review", "/review", "Review" },
    { "notes", "/notes", "Notes" },
    { "activity", "/activity", "Activity" },
    { "completion", "/completion", "Completion" },
};

void st_html_page_begin(struct st_buf *b, const char *title, const char *active)
{
    st_html_fmt(b,
                "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<meta name=\"color-scheme\" content=\"light dark\">\n"
                "<title>%s &middot; strata lab</title>\n"
                "<link rel=\"stylesheet\" href=\"/assets/style.css?v=%s\">\n"
                "<link rel=\"icon\" type=\"image/svg+xml\" href=\"/assets/icon.svg?v=%s\">\n"
                "</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n"
                "<header class=\"top\"><nav aria-label=\"Main\"><a class=\"brand\" href=\"/\">strata lab</a><ul>",
                title ? title : "", st__web_asset_version(), st__web_asset_version());
    for (size_t i = 0; i < sizeof nav / sizeof *nav; i++) {
        bool on = active && strcmp(active, nav[i].key) == 0;
        st_html_fmt(b, "<li><a href=\"%s\"%R>%s</a></li>", nav[i].href, on ? " aria-current=\"page\"" : "",
                    nav[i].label);
    }
    st_html_fmt(b, "</ul></nav></header>\n<main id=\"main\" tabindex=\"-1\">\n");
}

void st_html_page_end(struct st_buf *b)
{
    st_html_fmt(b,
                "</main>\n<footer class=\"foot\"><p>strata lab &middot; <a href=\"/api/v1\">JSON API</a> "
                "&middot; your progress stays on this machine</p></footer>\n"
                "<script src=\"/assets/app.js?v=%s\" defer></script>\n</body>\n</html>\n",
                st__web_asset_version());
}

/* ---- markdown ---- */

static void md_out(const MD_CHAR *text, MD_SIZE size, void *userdata)
{
    st_buf_append(userdata, text, size);
}

/* True if the attribute value v (as md4c wrote it: entities decoded, '&' as &amp;) is a
 * destination we let through: http, https, mailto, or relative (no scheme at all). */
static bool url_safe(struct st_str v)
{
    static const char *const schemes[] = { "http:", "https:", "mailto:" };
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        size_t n = strlen(schemes[i]);
        if (v.len >= n && st_str_ieq(st_str(v.ptr, n), st_str(schemes[i], n)))
            return true;
    }
    /* Relative: no ':' (nor an entity, which a browser would decode) before the first
     * '/', '?' or '#'. */
    for (size_t i = 0; i < v.len; i++) {
        char c = v.ptr[i];
        if (c == '/' || c == '?' || c == '#')
            return true;
        if (c == ':' || c == '&' || (unsigned char)c < 0x20 || c == '\\')
            return false;
    }
    return true;
}

/* Rewrite unsafe href/src values in b->data[from..) to "#". */
static void filter_urls(struct st_buf *b, size_t from)
{
    static const char *const attrs[] = { " href=\"", " src=\"" };
    struct st_buf out; /* the rewritten b->data[from..), only once something changes */
    st_buf_init(&out, b->max);
    size_t copied = from, i = from;
    while (i < b->len) {
        const char *sp = memchr(b->data + i, ' ', b->len - i);
        if (!sp)
            break;
        i = (size_t)(sp - b->data);
        size_t alen = 0;
        for (size_t k = 0; k < sizeof attrs / sizeof *attrs && !alen; k++) {
            size_t n = strlen(attrs[k]);
            if (b->len - i >= n && memcmp(b->data + i, attrs[k], n) == 0)
                alen = n;
        }
        if (!alen) {
            i++;
            continue;
        }
        size_t vstart = i + alen;
        const char *q = memchr(b->data + vstart, '"', b->len - vstart);
        size_t vend = q ? (size_t)(q - b->data) : b->len;
        if (!url_safe(st_str(b->data + vstart, vend - vstart))) {
            st_buf_append(&out, b->data + copied, vstart - copied);
            st_buf_append_c(&out, "#");
            copied = vend;
        }
        i = vend;
    }
    if (copied != from) {
        st_buf_append(&out, b->data + copied, b->len - copied);
        st_buf_truncate(b, from);
        st_buf_append(b, out.data, out.len);
    }
    st_buf_release(&out);
}

int st_html_markdown(struct st_buf *b, const char *md, size_t len)
{
    size_t from = b->len;
    unsigned flags = MD_FLAG_NOHTML | MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH;
    if (md_html(md ? md : "", (MD_SIZE)len, md_out, b, flags, 0) != 0) {
        st_buf_truncate(b, from);
        return ST_EPARSE;
    }
    filter_urls(b, from);
    return 0;
}
