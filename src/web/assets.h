/*
 * assets.h - internal to src/web: the lab's stylesheet and script, compiled in and served
 * from /assets/style.css and /assets/app.js (assets.c).
 */
#ifndef ST_WEB_ASSETS_H
#define ST_WEB_ASSETS_H

struct st_lab_web;

/* 16 hex digits identifying this build's assets (FNV-1a of their bytes): pages link
 * "/assets/style.css?v=VERSION", so a changed stylesheet is a new URL and the old one may
 * be cached for a year. Thread-safe, constant for the life of the process. */
const char *st__web_asset_version(void);

/* GET /assets/style.css and /assets/app.js. 0 or a routing status. */
int st__web_assets_routes(struct st_lab_web *w);

#endif
