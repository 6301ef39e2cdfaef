/*
 * test_hash.c - unit tests for SipHash and the process key (src/base/hash.c).
 *
 * The .c file is included so the generic siphash() can be checked against the published
 * SipHash-2-4 vectors as well as SipHash-1-3 ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/hash.c"

/*
 * Vectors of the SipHash reference implementation: key 00 01 .. 0f (2-4) or all zeros
 * (1-3), message 00 01 .. (n-1). Lengths 0..16 cover every tail size and the word
 * boundary; 15 is the worked example of the paper's appendix.
 */
static const uint64_t sip24_vectors[17] = {
    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL,
    0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL,
    0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL, 0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL,
    0xa129ca6149be45e5ULL, 0x3f2acc7f57c29bdbULL,
};
static const uint64_t sip24_vector63 = 0x958a324ceb064572ULL;

static const uint64_t sip13_zero_key_vectors[17] = {
    0xd1fba762150c532cULL, 0x68a914128e01e473ULL, 0x010bac45c41e3669ULL, 0x4d4c9a4a8ef6e0adULL, 0x7cc43f98813e4dbdULL,
    0x5abe2169dff36275ULL, 0xe3c25f87624f1cdbULL, 0x2f098ab0c751325aULL, 0xead411e67ebe2eeaULL, 0x75927f9d95124362ULL,
    0xaf9f77a65ab51a1dULL, 0xfe64ce8b6617fcffULL, 0xa6baf4fb0f9fe1c2ULL, 0xa0cf3211850f8e0dULL, 0x7f86049379fbfe67ULL,
    0xf30eb725bb91c9eaULL, 0x8972188433a5c5b7ULL,
};
static const uint64_t sip13_zero_key_vector63 = 0x385d3e39e5f37359ULL;

static const uint8_t zero_key[16];

static void counting_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)i;
}

#define HASH_INPUT "strata hash key check"

static void *hash_in_thread(void *arg)
{
    *(uint64_t *)arg = st_hash(HASH_INPUT, sizeof(HASH_INPUT) - 1);
    return NULL;
}

/* A child forked before the key exists draws its own: return its hash of HASH_INPUT. */
static uint64_t hash_in_fresh_child(void)
{
    int fds[2];
    uint64_t h = 0;
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        h = st_hash(HASH_INPUT, sizeof(HASH_INPUT) - 1);
        _exit(write(fds[1], &h, sizeof(h)) == sizeof(h) ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &h, sizeof(h)), sizeof(h));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return h;
}

/* In a child where the key is still unset: a key set before the first hash must stick. */
static void set_key_before_first_use_sticks(void)
{
    uint8_t k[16];
    counting_bytes(k, sizeof(k));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        st_hash_set_key(k);
        _exit(st_hash("abc", 3) == st_siphash13("abc", 3, k) ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * Must run first: the process key is still unset. Threads racing to hash for the first
 * time must agree on one key, and that key must be random (differ from another process's
 * and from the all-zero key).
 */
static void lazy_process_key(void **state)
{
    (void)state;
    enum { THREADS = 8 };
    set_key_before_first_use_sticks();
    uint64_t child = hash_in_fresh_child();
    pthread_t t[THREADS];
    uint64_t h[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hash_in_thread, &h[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 1; i < THREADS; i++)
        assert_true(h[i] == h[0]);
    assert_true(st_hash(HASH_INPUT, sizeof(HASH_INPUT) - 1) == h[0]);
    assert_true(h[0] != child);
    assert_true(h[0] != st_siphash13(HASH_INPUT, sizeof(HASH_INPUT) - 1, zero_key));
}

static void siphash24_reference_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[64];
    counting_bytes(key, sizeof(key));
    counting_bytes(msg, sizeof(msg));
    for (size_t n = 0; n <= 16; n++)
        assert_true(siphash(msg, n, key, 2, 4, false) == sip24_vectors[n]);
    assert_true(siphash(msg, 63, key, 2, 4, false) == sip24_vector63);
}

static void siphash13_reference_vectors(void **state)
{
    (void)state;
    uint8_t msg[64];
    counting_bytes(msg, sizeof(msg));
    for (size_t n = 0; n <= 16; n++)
        assert_true(st_siphash13(msg, n, zero_key) == sip13_zero_key_vectors[n]);
    assert_true(st_siphash13(msg, 63, zero_key) == sip13_zero_key_vector63);
    assert_true(st_siphash13(NULL, 0, zero_key) == sip13_zero_key_vectors[0]);
}

/* Flipping any one bit of the key or of the message changes the hash. */
static void key_and_message_sensitivity(void **state)
{
    (void)state;
    uint8_t key[16], msg[24];
    counting_bytes(key, sizeof(key));
    counting_bytes(msg, sizeof(msg));
    uint64_t base = st_siphash13(msg, sizeof(msg), key);
    assert_true(st_siphash13(msg, sizeof(msg), key) == base); /* deterministic */
    for (int bit = 0; bit < 128; bit++) {
        key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(st_siphash13(msg, sizeof(msg), key) != base);
        key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (int bit = 0; bit < 8 * (int)sizeof(msg); bit++) {
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(st_siphash13(msg, sizeof(msg), key) != base);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Trailing zero bytes count: the length is part of the hash. */
    assert_true(st_siphash13("a", 1, key) != st_siphash13("a\0", 2, key));
    assert_true(st_siphash13("", 0, key) != st_siphash13("\0", 1, key));
}

static void set_key_makes_hash_reproducible(void **state)
{
    (void)state;
    uint8_t key[16];
    counting_bytes(key, sizeof(key));
    st_hash_set_key(key);
    assert_true(st_hash("abc", 3) == st_siphash13("abc", 3, key));
    key[0] = 0xff;
    assert_true(st_hash("abc", 3) != st_siphash13("abc", 3, key));
    st_hash_set_key(key);
    assert_true(st_hash("abc", 3) == st_siphash13("abc", 3, key));
    st_hash_set_key(zero_key);
    assert_true(st_hash("", 0) == sip13_zero_key_vectors[0]);
}

/* nocase(s) is the plain hash of s lower-cased, for every length and tail size. */
static void nocase_folds_ascii_only(void **state)
{
    (void)state;
    static const char mixed[] = "Content-Type: X-Forwarded-For; ABCxyz@[`{";
    static const char lower[] = "content-type: x-forwarded-for; abcxyz@[`{";
    for (size_t n = 0; n < sizeof(mixed); n++) {
        assert_true(st_hash_nocase(mixed, n) == st_hash(lower, n));
        assert_true(st_hash_nocase(lower, n) == st_hash(lower, n));
    }
    assert_true(st_hash("HOST", 4) != st_hash("host", 4));
    /* Neighbours of the letter ranges and non-ASCII bytes are not folded. */
    assert_true(st_hash_nocase("@", 1) != st_hash_nocase("`", 1));
    assert_true(st_hash_nocase("[", 1) != st_hash_nocase("{", 1));
    assert_true(st_hash_nocase("\xc4", 1) != st_hash_nocase("\xe4", 1));
    assert_true(st_hash_nocase(NULL, 0) == st_hash("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_process_key), /* first: needs the key unset */
        cmocka_unit_test(siphash24_reference_vectors),
        cmocka_unit_test(siphash13_reference_vectors),
        cmocka_unit_test(key_and_message_sensitivity),
        cmocka_unit_test(set_key_makes_hash_reproducible),
        cmocka_unit_test(nocase_folds_ascii_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
