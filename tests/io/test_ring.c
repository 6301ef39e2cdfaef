/* test_ring.c - tests for src/io/ring.c: reads through io_uring into the caller's buffer,
 * bytes and end of stream held while the watch does not want to read, batched sends
 * with the unsent rest put back, and a watch freed while its receive is still armed.
 * Socket pairs only. Without io_uring (STRATA_IO_URING=0, old kernel) the cases skip. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/io.h"

struct probe {
    struct st_io_watch w;
    struct st_buf in, out;
    int reads, ends, sends;
    long last_rres, last_sres;
};

static void probe_cb(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)loop;
    struct probe *p = w->data;
    if (revents & ST_IO_SENT) {
        p->sends++;
        p->last_sres = w->sres;
    }
    if (revents & ST_IO_RDATA) {
        p->last_rres = w->rres;
        if (w->rres > 0)
            p->reads++;
        else
            p->ends++;
    }
}

struct fixture {
    struct st_io_loop *loop;
    int fds[2]; /* [0] watched by the loop, [1] the peer */
    struct probe *p;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(st_io_loop_new(&f->loop), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, f->fds), 0);
    f->p = calloc(1, sizeof *f->p);
    st_buf_init(&f->p->in, 1 << 20);
    st_buf_init(&f->p->out, ST_BUF_UNLIMITED);
    st_io_watch_init(&f->p->w, f->fds[0], probe_cb, f->p);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->p) {
        st_io_watch_stop(f->loop, &f->p->w);
        st_buf_release(&f->p->in);
        st_buf_release(&f->p->out);
        free(f->p);
    }
    close(f->fds[0]);
    if (f->fds[1] >= 0)
        close(f->fds[1]);
    st_io_loop_free(f->loop);
    free(f);
    return 0;
}

/* Run short turns until cond holds or about a second passed. */
#define TURN_UNTIL(f, cond)                                                                                            \
    do {                                                                                                               \
        for (int i_ = 0; i_ < 100 && !(cond); i_++)                                                                    \
            assert_int_equal(st_io_loop_run_once((f)->loop, 10), 0);                                                   \
    } while (0)

static void start_ring(struct fixture *f)
{
    if (!st_io_watch_ring_read(f->loop, &f->p->w, &f->p->in))
        skip();
    assert_true(st_io_ring_enabled(f->loop));
    assert_int_equal(st_io_watch_set(f->loop, &f->p->w, ST_IO_READ), 0);
}

static void test_read(void **state)
{
    struct fixture *f = *state;
    start_ring(f);
    assert_int_equal(write(f->fds[1], "hello", 5), 5);
    TURN_UNTIL(f, f->p->in.len == 5);
    assert_int_equal(f->p->reads, 1);
    assert_int_equal(f->p->last_rres, 5);
    assert_memory_equal(f->p->in.data, "hello", 5);
    assert_int_equal(write(f->fds[1], " world", 6), 6);
    TURN_UNTIL(f, f->p->in.len == 11);
    assert_string_equal(f->p->in.data, "hello world");
    close(f->fds[1]);
    f->fds[1] = -1;
    TURN_UNTIL(f, f->p->ends == 1);
    assert_int_equal(f->p->last_rres, 0);
}

static void test_hold_while_not_reading(void **state)
{
    struct fixture *f = *state;
    start_ring(f);
    assert_int_equal(st_io_loop_run_once(f->loop, 0), 0); /* the receive is armed */
    assert_int_equal(st_io_watch_set(f->loop, &f->p->w, 0), 0);
    assert_int_equal(write(f->fds[1], "abc", 3), 3);
    close(f->fds[1]);
    f->fds[1] = -1;
    for (int i = 0; i < 20; i++)
        assert_int_equal(st_io_loop_run_once(f->loop, 5), 0);
    assert_int_equal(f->p->in.len, 0); /* the caller's buffer was not touched */
    assert_int_equal(f->p->reads + f->p->ends, 0);
    assert_int_equal(st_io_watch_set(f->loop, &f->p->w, ST_IO_READ), 0);
    TURN_UNTIL(f, f->p->ends == 1);
    assert_int_equal(f->p->in.len, 3);
    assert_memory_equal(f->p->in.data, "abc", 3);
    assert_int_equal(f->p->last_rres, 0); /* the end comes after the bytes */
}

static void test_send(void **state)
{
    struct fixture *f = *state;
    start_ring(f);
    assert_int_equal(st_buf_append(&f->p->out, "ping", 4), 0);
    assert_true(st_io_send(f->loop, &f->p->w, &f->p->out));
    assert_int_equal(f->p->out.len, 0); /* copied: the caller may append at once */
    assert_int_equal(st_buf_append(&f->p->out, "!", 1), 0);
    assert_true(st_io_send(f->loop, &f->p->w, &f->p->out)); /* joins the same send */
    TURN_UNTIL(f, f->p->sends == 1);
    assert_int_equal(f->p->last_sres, 5);
    char got[8] = { 0 };
    assert_int_equal(read(f->fds[1], got, sizeof got), 5);
    assert_string_equal(got, "ping!");
}

static void test_send_partial(void **state)
{
    struct fixture *f = *state;
    start_ring(f);
    int small = 4096;
    assert_int_equal(setsockopt(f->fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    char *big = malloc(ST_IO_SEND_MAX);
    for (int i = 0; i < ST_IO_SEND_MAX; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(st_buf_append(&f->p->out, big, ST_IO_SEND_MAX), 0);
    assert_true(st_io_send(f->loop, &f->p->w, &f->p->out));
    TURN_UNTIL(f, f->p->sends == 1);
    assert_true(f->p->last_sres > 0 && f->p->last_sres < ST_IO_SEND_MAX);
    /* the unsent rest is back in out, in order, and a read of everything matches */
    size_t sent = (size_t)f->p->last_sres;
    assert_int_equal(f->p->out.len, ST_IO_SEND_MAX - sent);
    assert_memory_equal(f->p->out.data, big + sent, ST_IO_SEND_MAX - sent);
    free(big);
}

static void test_stop_with_receive_armed(void **state)
{
    struct fixture *f = *state;
    start_ring(f);
    assert_int_equal(st_io_loop_run_once(f->loop, 0), 0);
    /* free the watch's memory while the kernel still holds its receive */
    st_io_watch_stop(f->loop, &f->p->w);
    st_buf_release(&f->p->in);
    st_buf_release(&f->p->out);
    free(f->p);
    f->p = NULL;
    assert_int_equal(write(f->fds[1], "late", 4), 4);
    for (int i = 0; i < 10; i++)
        assert_int_equal(st_io_loop_run_once(f->loop, 5), 0); /* ASan would see a stale use */
}

static void one_byte_cb(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)loop, (void)revents;
    char c;
    if (read(w->fd, &c, 1) == 1)
        ++*(int *)w->data;
}

/* In ring mode epoll is reached through the ring's poll of its fd; an fd that stays
 * readable after its callback (level-triggered) must still be reported next turn. */
static void test_level_triggered_in_ring_mode(void **state)
{
    struct fixture *f = *state;
    start_ring(f);
    int pfd[2], got = 0;
    assert_int_equal(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
    struct st_io_watch pw;
    st_io_watch_init(&pw, pfd[0], one_byte_cb, &got);
    assert_int_equal(st_io_watch_set(f->loop, &pw, ST_IO_READ), 0);
    assert_int_equal(write(pfd[1], "12345", 5), 5);
    TURN_UNTIL(f, got == 5);
    assert_int_equal(got, 5);
    st_io_watch_stop(f->loop, &pw);
    close(pfd[0]);
    close(pfd[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_while_not_reading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_receive_armed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_triggered_in_ring_mode, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
