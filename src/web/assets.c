/*
 * assets.c - the lab's stylesheet and its one small script, compiled into the binary.
 *
 * The Content-Security-Policy of the lab is default-src 'self': no inline <style>, no
 * style="" attribute, no inline <script>. Every look therefore lives here, as classes.
 * Both files are served with an ETag and a year of Cache-Control: pages link them with
 * ?v=VERSION (a hash of the bytes), so a new build is a new URL.
 *
 * The script is optional (every page works without it): on the review page it lets the
 * keys 0-5 press the grade buttons once the answer is shown.
 *
 * The icon is a small SVG, linked from every page and also answered at /favicon.ico, which
 * browsers fetch on their own: without it every page load logs a 404 in the console.
 */
#include "web/assets.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http/app.h"
#include "web/web.h"

static const char style_css[] =
    ":root{--bg:#fbfbf9;--fg:#1d2125;--muted:#5b636b;--line:#dfe2e5;--card:#fff;--accent:#1f5fbf;"
    "--accent-fg:#fff;--done:#2e7d4f;--review:#b06b00;--doing:#1f5fbf;--todo:#d5d9dd;--mark:#fff1a8;"
    "--code:#f2f3f1;--err:#b3261e;color-scheme:light dark}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#15181b;--fg:#e6e8ea;--muted:#a2abb3;--line:#30363c;"
    "--card:#1c2024;--accent:#7ab0ff;--accent-fg:#0d1b2e;--done:#5cc28a;--review:#f0a840;--doing:#7ab0ff;"
    "--todo:#3a4047;--mark:#5a4b00;--code:#22272c;--err:#ff8a80}}\n"
    "*,*::before,*::after{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.55 system-ui,-apple-system,'Segoe UI',"
    "Roboto,'Helvetica Neue',Arial,sans-serif}\n"
    "a{color:var(--accent);text-underline-offset:2px}\n"
    "a:hover{text-decoration-thickness:2px}\n"
    ":focus-visible{outline:3px solid var(--accent);outline-offset:2px;border-radius:2px}\n"
    ".skip{position:absolute;left:-999px;top:0;background:var(--accent);color:var(--accent-fg);padding:.5rem 1rem;"
    "z-index:10}\n"
    ".skip:focus{left:.5rem;top:.5rem}\n"
    ".top{border-bottom:1px solid var(--line);background:var(--card)}\n"
    ".top nav{max-width:62rem;margin:0 auto;padding:.5rem 1rem;display:flex;flex-wrap:wrap;align-items:center;"
    "gap:.25rem 1rem}\n"
    ".brand{font-weight:700;color:var(--fg);text-decoration:none;margin-right:.5rem}\n"
    ".top ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem}\n"
    ".top li a{display:block;padding:.3rem .6rem;border-radius:6px;text-decoration:none;color:var(--fg)}\n"
    ".top li a:hover{background:var(--code)}\n"
    ".top li a[aria-current=page]{background:var(--accent);color:var(--accent-fg)}\n"
    "main{max-width:62rem;margin:0 auto;padding:1rem 1rem 3rem}\n"
    "main:focus{outline:none}\n"
    "h1{font-size:1.6rem;line-height:1.25;margin:.8rem 0}\n"
    "h2{font-size:1.25rem;margin:1.8rem 0 .6rem}\n"
    "h3{font-size:1.05rem;margin:1.2rem 0 .4rem}\n"
    ".muted,.foot{color:var(--muted)}\n"
    ".foot{max-width:62rem;margin:0 auto;padding:1rem;border-top:1px solid var(--line);font-size:.9rem}\n"
    ".crumbs{font-size:.9rem;color:var(--muted)}\n"
    ".crumbs ol{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap}\n"
    ".crumbs li+li::before{content:'/';padding:0 .4rem;color:var(--muted)}\n"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));gap:1rem}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.2rem}\n"
    ".card h2{margin-top:0}\n"
    ".big{font-size:1.15rem}\n"
    ".bar{display:block;width:100%;height:10px;border-radius:5px;overflow:hidden;background:var(--todo)}\n"
    ".bar .b-done{fill:var(--done)}.bar .b-review{fill:var(--review)}.bar .b-doing{fill:var(--doing)}\n"
    ".progress{list-style:none;padding:0;margin:0}\n"
    ".progress li{margin:.55rem 0}\n"
    ".progress .row{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap;font-size:.95rem}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem;color:var(--muted);padding:0;"
    "list-style:none}\n"
    ".legend li::before{content:'';display:inline-block;width:.7rem;height:.7rem;border-radius:2px;"
    "margin-right:.35rem;vertical-align:-1px;background:var(--todo)}\n"
    ".legend .l-done::before{background:var(--done)}.legend .l-review::before{background:var(--review)}"
    ".legend .l-doing::before{background:var(--doing)}\n"
    ".badge{display:inline-block;font-size:.78rem;font-weight:600;padding:.05rem .5rem;border-radius:999px;"
    "border:1px solid var(--line);white-space:nowrap}\n"
    ".s-done{color:var(--done);border-color:var(--done)}.s-review{color:var(--review);border-color:var(--review)}"
    ".s-doing{color:var(--doing);border-color:var(--doing)}.s-todo{color:var(--muted)}\n"
    "table{border-collapse:collapse;width:100%}\n"
    ".scroll{overflow-x:auto}\n"
    "th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}\n"
    "th{font-size:.85rem;color:var(--muted);font-weight:600}\n"
    "td.n{white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "code,pre,kbd{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}\n"
    "code{background:var(--code);padding:.1rem .3rem;border-radius:4px}\n"
    "pre{background:var(--code);padding:.8rem 1rem;border-radius:8px;overflow-x:auto;line-height:1.45}\n"
    "pre code{background:none;padding:0}\n"
    ".answer{max-width:46rem}\n"
    ".answer table{margin:1rem 0}\n"
    "mark{background:var(--mark);color:inherit;padding:0 .1rem;border-radius:2px}\n"
    "form{margin:.5rem 0}\n"
    "label{font-weight:600;display:block;margin:.5rem 0 .2rem}\n"
    "input[type=text],input[type=search],input[type=url],select,textarea{font:inherit;color:inherit;"
    "background:var(--card);border:1px solid var(--muted);border-radius:6px;padding:.4rem .55rem;max-width:100%}\n"
    "textarea{width:100%;min-height:8rem}\n"
    "input[type=search],input[type=text],input[type=url]{width:min(30rem,100%)}\n"
    "button{font:inherit;cursor:pointer;border-radius:6px;padding:.4rem .9rem;border:1px solid var(--accent);"
    "background:var(--accent);color:var(--accent-fg)}\n"
    "button.ghost{background:transparent;color:var(--accent)}\n"
    "button[aria-pressed=true]{outline:2px solid var(--fg)}\n"
    ".row-form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}\n"
    ".row-form label{margin:0 0 .2rem}\n"
    ".row-form>div{display:flex;flex-direction:column}\n"
    ".choices{display:flex;flex-wrap:wrap;gap:.4rem;border:0;padding:0;margin:.4rem 0}\n"
    ".choices legend{font-weight:600;margin-bottom:.3rem}\n"
    ".hits{list-style:none;padding:0}\n"
    ".hits li{padding:.7rem 0;border-bottom:1px solid var(--line)}\n"
    ".hits p{margin:.25rem 0 0}\n"
    ".pager{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;margin:1rem 0}\n"
    ".prevnext{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap;margin:1.5rem 0;"
    "border-top:1px solid var(--line);padding-top:1rem}\n"
    ".note{white-space:pre-wrap;overflow-wrap:anywhere}\n"
    ".notes{list-style:none;padding:0}\n"
    ".notes li{padding:.6rem 0;border-bottom:1px solid var(--line)}\n"
    ".error{color:var(--err);font-weight:600}\n"
    ".ok{color:var(--done);font-weight:600}\n"
    ".state{font-weight:700}\n"
    ".state-passed{color:var(--done)}.state-failed,.state-error{color:var(--err)}.state-running{color:var(--doing)}\n"
    ".log{max-height:32rem;white-space:pre-wrap}\n"
    "dl.attempt,dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}\n"
    "dl dt{color:var(--muted)}dl dd{margin:0}\n"
    "details{border:1px solid var(--line);border-radius:8px;padding:.5rem 1rem;margin:1rem 0;"
    "background:var(--card)}\n"
    "summary{cursor:pointer;font-weight:600}\n"
    ".grades{display:flex;flex-wrap:wrap;gap:.4rem}\n"
    ".grades button{min-width:3rem}\n"
    ".source{font-size:.85rem}\n"
    ".files{columns:2 16rem}\n"
    "@media (max-width:40rem){body{font-size:15px}h1{font-size:1.35rem}.hide-s{display:none}"
    "th,td{padding:.4rem .3rem}}\n"
    "@media (prefers-reduced-motion:reduce){*{scroll-behavior:auto}}\n"
    "@media print{.top,.foot,form{display:none}}\n";

static const char app_js[] = "'use strict';\n"
                             "// Review page: once the answer is shown, keys 0-5 press the matching grade button.\n"
                             "document.addEventListener('keydown', function (e) {\n"
                             "  if (e.altKey || e.ctrlKey || e.metaKey || !/^[0-5]$/.test(e.key)) return;\n"
                             "  var t = e.target && e.target.tagName;\n"
                             "  if (t === 'INPUT' || t === 'TEXTAREA' || t === 'SELECT') return;\n"
                             "  var d = document.querySelector('details.reveal');\n"
                             "  if (!d || !d.open) return;\n"
                             "  var b = document.querySelector('.grades button[value=\"' + e.key + '\"]');\n"
                             "  if (b) { e.preventDefault(); b.click(); }\n"
                             "});\n";

static const char icon_svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
                               "<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1f5fbf\"/>"
                               "<rect x=\"3\" y=\"4\" width=\"10\" height=\"2\" fill=\"#fff\"/>"
                               "<rect x=\"3\" y=\"7\" width=\"7\" height=\"2\" fill=\"#fff\"/>"
                               "<rect x=\"3\" y=\"10\" width=\"4\" height=\"2\" fill=\"#fff\"/></svg>\n";

static char version[17];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_init(void)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a 64 */
    const char *parts[] = { style_css, app_js, icon_svg };
    for (size_t k = 0; k < sizeof parts / sizeof *parts; k++)
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
    snprintf(version, sizeof version, "%016llx", (unsigned long long)h);
}

const char *st__web_asset_version(void)
{
    pthread_once(&version_once, version_init);
    return version;
}

/* Answer with an ETag and a long cache life; 304 when the client has this version. */
static void asset(struct st_http_ex *x, const char *type, const char *body, size_t len)
{
    const char *etag = st_arena_printf(x->arena, "\"%s\"", st__web_asset_version());
    st_http_header(x, ST_STR_LIT("ETag"), st_str_c(etag));
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("public, max-age=31536000, immutable"));
    struct st_str inm = st_http_req_header_named(x, "If-None-Match");
    if (inm.ptr && (st_str_find(inm, st_str_c(etag)) >= 0 || st_str_eq_c(st_str_trim(inm), "*"))) {
        x->status = 304;
        st_http_send(x);
        return;
    }
    st_http_reply(x, 200, type, st_str(body, len));
}

static void get_css(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    asset(x, "text/css; charset=utf-8", style_css, sizeof style_css - 1);
}

static void get_js(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    asset(x, "text/javascript; charset=utf-8", app_js, sizeof app_js - 1);
}

static void get_icon(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    asset(x, "image/svg+xml", icon_svg, sizeof icon_svg - 1);
}

int st__web_assets_routes(struct st_lab_web *w)
{
    int rc = st_http_app_route(&w->app, "GET", "/assets/style.css", get_css, w);
    rc = rc ? rc : st_http_app_route(&w->app, "GET", "/assets/app.js", get_js, w);
    rc = rc ? rc : st_http_app_route(&w->app, "GET", "/assets/icon.svg", get_icon, w);
    return rc ? rc : st_http_app_route(&w->app, "GET", "/favicon.ico", get_icon, w);
}
