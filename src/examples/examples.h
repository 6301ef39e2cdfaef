/*
 * examples.h - `strata example NAME`: the reference apps that answer the bank's practical
 * questions, each a real server on the HTTP engine (src/http).
 *
 * Every app prints "listening on http://HOST:PORT" on stdout once it accepts connections
 * (so scripts and graders can use --listen 127.0.0.1:0) and stops cleanly on SIGTERM/SIGINT.
 */
#ifndef ST_EXAMPLES_EXAMPLES_H
#define ST_EXAMPLES_EXAMPLES_H

/* `strata example NAME ARGS...`: argv[0] is "example". Returns the exit status. */
int st_example_main(int argc, char **argv);

/* The apps; argv[0] is the app name. */
int st_example_bench(int argc, char **argv);
int st_example_basics(int argc, char **argv);
int st_example_sqlsafe(int argc, char **argv);
int st_example_pool(int argc, char **argv);
/* strata example blog: the blog REST API of Modules 2, 4 and 6 (blog.c). */
int st_example_blog(int argc, char **argv);

/* on_ready callback for st_http_serve: prints the address line (arg: the host text). */
void st_example_print_ready(int port, void *arg);

/* on_reload callback for st_http_serve (SIGHUP): reopens STRATA_LOG_FILE so logrotate can
 * rename it (st_log_reopen). arg is unused. */
void st_example_on_reload(void *arg);

#endif
