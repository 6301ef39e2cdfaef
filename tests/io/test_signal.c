/* test_signal.c - SIGHUP/SIGTERM/SIGINT delivered through the loop's signalfd
 * (src/io/signal.c): raised at ourselves, seen as ordinary loop callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <unistd.h>

#include "io/io.h"

struct sig_case {
    int stops, reloads, last_stop;
};

static void on_stop(struct st_io_signals *s, int signo)
{
    struct sig_case *sc = s->data;
    sc->stops++;
    sc->last_stop = signo;
}

static void on_reload(struct st_io_signals *s)
{
    struct sig_case *sc = s->data;
    sc->reloads++;
}

static void test_signals(void **state)
{
    (void)state;
    assert_int_equal(st_io_signals_block(), 0);
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    struct sig_case sc = { 0 };
    struct st_io_signals s;
    assert_int_equal(st_io_signals_open(loop, &s, on_stop, on_reload, &sc), 0);

    assert_int_equal(raise(SIGHUP), 0); /* blocked: stays pending for the signalfd */
    for (int i = 0; i < 50 && sc.reloads == 0; i++)
        assert_int_equal(st_io_loop_run_once(loop, 100), 0);
    assert_int_equal(sc.reloads, 1);
    assert_int_equal(sc.stops, 0);

    assert_int_equal(kill(getpid(), SIGTERM), 0); /* process-directed this time */
    for (int i = 0; i < 50 && sc.stops == 0; i++)
        assert_int_equal(st_io_loop_run_once(loop, 100), 0);
    assert_int_equal(sc.stops, 1);
    assert_int_equal(sc.last_stop, SIGTERM);

    assert_int_equal(raise(SIGINT), 0);
    for (int i = 0; i < 50 && sc.stops == 1; i++)
        assert_int_equal(st_io_loop_run_once(loop, 100), 0);
    assert_int_equal(sc.stops, 2);
    assert_int_equal(sc.last_stop, SIGINT);

    /* SIGPIPE is ignored: writing to a closed pipe returns EPIPE instead of killing us. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    assert_int_equal(write(p[1], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(p[1]);

    st_io_signals_close(loop, &s);
    st_io_signals_close(loop, &s); /* twice is harmless */
    st_io_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
