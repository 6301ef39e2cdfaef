/*
 * html.h - building HTML safely: escaping by default, the lab's page layout, markdown.
 *
 * The rule that keeps learner input (notes, search text, target addresses) inert: text is
 * only ever appended through st_html_fmt's %s (escaped) or st_html_text; markup comes
 * from format strings, which are literals in our code. %R is the one raw insertion and
 * takes only HTML we built ourselves (another st_html buffer, rendered markdown).
 */
#ifndef ST_WEB_HTML_H
#define ST_WEB_HTML_H

#include <stddef.h>

#include "base/buf.h"
#include "base/str.h"

/* Append s with & < > " ' escaped (safe in text and in quoted attribute values). */
void st_html_text(struct st_buf *b, struct st_str s);

/*
 * printf-like with escaping by default. Conversions: %s (const char *, escaped), %S (struct
 * st_str *, escaped), %R (const char *, raw: our own markup only), %d (int), %lld (long
 * long), %zu (size_t), %u (unsigned), %.1f (double, one decimal), %% ('%'). Anything else
 * aborts: a format is a literal in our code, so a wrong one is a bug to catch in tests.
 */
void st_html_fmt(struct st_buf *b, const char *fmt, ...);

/* The layout: doctype, head (title, viewport, the /assets/style.css link: the CSP allows no
 * inline CSS), skip link, navigation with
 * `active` marked (aria-current), then <main>. page_end closes main, body and html. */
void st_html_page_begin(struct st_buf *b, const char *title, const char *active);
void st_html_page_end(struct st_buf *b);

/* Render CommonMark (md4c, tables and strikethrough on) with raw HTML disabled: any HTML
 * in the source is shown as text. 0 or ST_EPARSE. */
int st_html_markdown(struct st_buf *b, const char *md, size_t len);

#endif
