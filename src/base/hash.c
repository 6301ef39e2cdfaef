/*
 * hash.c - SipHash with a per-process random key, plus an ASCII case-folding variant.
 *
 * Written from the specification in Aumasson and Bernstein, "SipHash: a fast short-input
 * PRF" (2012): four 64-bit lanes initialised from the key and four constants, c
 * compression rounds per 8-byte little-endian message word, a final word carrying the
 * length in its top byte, then d finalisation rounds. SipHash-1-3 (c = 1, d = 3) is the
 * hash-table variant used by Rust and CPython; the round counts are parameters here so the
 * test can check the paper's SipHash-2-4 test vector against the same code.
 *
 * The process key is drawn from getrandom() on first use, under pthread_once so two
 * threads hashing for the first time agree on it.
 */
#include "base/hash.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include "base/err.h"

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

struct sip {
    uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

static inline void sip_rounds(struct sip *s, int n)
{
    for (int i = 0; i < n; i++)
        sip_round(s);
}

static inline unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* n (<= 8) bytes as a little-endian integer, optionally ASCII lower-cased. */
static inline uint64_t load_le(const unsigned char *p, size_t n, bool fold)
{
    uint64_t w = 0;
    for (size_t i = n; i-- > 0;)
        w = (w << 8) | (fold ? ascii_lower(p[i]) : p[i]);
    return w;
}

static inline void sip_absorb(struct sip *s, uint64_t m, int crounds)
{
    s->v3 ^= m;
    sip_rounds(s, crounds);
    s->v0 ^= m;
}

/*
 * SipHash-c-d of p[0..n). Folding case while loading words (instead of hashing a
 * lower-cased copy) keeps st_hash_nocase allocation-free for keys of any length.
 */
static inline uint64_t siphash(const void *p, size_t n, const uint8_t k[16], int crounds, int drounds, bool fold)
{
    const unsigned char *in = p;
    uint64_t k0 = load_le(k, 8, false), k1 = load_le(k + 8, 8, false);
    /* The four constants spell "somepseudorandomlygeneratedbytes" in ASCII. */
    struct sip s = {
        k0 ^ 0x736f6d6570736575ULL,
        k1 ^ 0x646f72616e646f6dULL,
        k0 ^ 0x6c7967656e657261ULL,
        k1 ^ 0x7465646279746573ULL,
    };
    size_t whole = n - n % 8;

    for (size_t i = 0; i < whole; i += 8)
        sip_absorb(&s, load_le(in + i, 8, fold), crounds);
    /* The last word: the remaining 0-7 bytes, and the length mod 256 in the top byte. */
    uint64_t last = n % 8 ? load_le(in + whole, n % 8, fold) : 0; /* in may be NULL */
    sip_absorb(&s, ((uint64_t)n << 56) | last, crounds);

    s.v2 ^= 0xff;
    sip_rounds(&s, drounds);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t st_siphash13(const void *p, size_t n, const uint8_t k[16])
{
    return siphash(p, n, k, 1, 3, false);
}

static uint8_t process_key[16];
static pthread_once_t process_key_once = PTHREAD_ONCE_INIT;

/* getrandom() of 16 bytes cannot be short once the pool is ready; it can be interrupted. */
static void process_key_init(void)
{
    ssize_t got;
    do {
        got = getrandom(process_key, sizeof(process_key), 0);
    } while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof(process_key))
        st_panic("hash: getrandom failed: %s", got < 0 ? strerror(errno) : "short read");
}

static inline const uint8_t *process_key_get(void)
{
    pthread_once(&process_key_once, process_key_init);
    return process_key;
}

uint64_t st_hash(const void *p, size_t n)
{
    return siphash(p, n, process_key_get(), 1, 3, false);
}

uint64_t st_hash_nocase(const void *p, size_t n)
{
    return siphash(p, n, process_key_get(), 1, 3, true);
}

/* Run the lazy init first, or it could later overwrite the key set here. */
void st_hash_set_key(const uint8_t k[16])
{
    pthread_once(&process_key_once, process_key_init);
    memcpy(process_key, k, sizeof(process_key));
}
