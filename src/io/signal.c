/*
 * signal.c - SIGTERM/SIGINT/SIGHUP delivered as loop callbacks through a signalfd.
 *
 * The signals are blocked in every thread (st_io_signals_block before threads start), so
 * no asynchronous handler ever runs: the callbacks are ordinary loop code and may do
 * anything, such as stopping acceptors or reopening log files.
 */
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "io/internal.h"

static void handled_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

int st_io_signals_block(void)
{
    sigset_t set;
    handled_set(&set);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc)
        return -rc;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return -errno;
    return 0;
}

static void signal_ready(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)loop;
    (void)revents;
    struct st_io_signals *s = w->data;
    struct signalfd_siginfo si[8];
    ssize_t n;
    while ((n = read(w->fd, si, sizeof si)) > 0) {
        for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
            int signo = (int)si[i].ssi_signo;
            if (signo == SIGHUP) {
                if (s->on_reload)
                    s->on_reload(s);
            } else if (s->on_stop) {
                s->on_stop(s, signo);
            }
            if (!w->registered)
                return; /* a callback closed us */
        }
    }
}

int st_io_signals_open(struct st_io_loop *loop, struct st_io_signals *s, void (*on_stop)(struct st_io_signals *, int),
                       void (*on_reload)(struct st_io_signals *), void *data)
{
    sigset_t set;
    handled_set(&set);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    memset(s, 0, sizeof *s);
    s->on_stop = on_stop;
    s->on_reload = on_reload;
    s->data = data;
    st_io_watch_init(&s->w, fd, signal_ready, s);
    int rc = st_io_watch_set(loop, &s->w, ST_IO_READ);
    if (rc) {
        close(fd);
        s->w.fd = -1;
    }
    return rc;
}

void st_io_signals_close(struct st_io_loop *loop, struct st_io_signals *s)
{
    if (s->w.fd < 0)
        return;
    st_io_watch_stop(loop, &s->w);
    close(s->w.fd);
    s->w.fd = -1;
}
