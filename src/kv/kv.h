/*
 * kv.h - `strata kv`, a Redis-compatible server (docs/adr/0010-kv.md).
 */
#ifndef ST_KV_KV_H
#define ST_KV_KV_H

/* The `strata kv` command: argv[0] is "kv", then redis-server's own command line
 * ([config-file] [--name value ...]). Runs until SIGTERM/SIGINT or SHUTDOWN; returns the
 * exit status. */
int st_kv_main(int argc, char **argv);

#endif
