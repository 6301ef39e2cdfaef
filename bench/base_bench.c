/*
 * base_bench.c - the base library against well-known C peers, measured in one run.
 *
 *   hash map   st_map (NULL type: borrowed keys) vs GLib's GHashTable (g_str_hash,
 *              g_str_equal, borrowed keys): insert, lookup hit, lookup miss, delete; plus
 *              the hash functions alone and the page faults taken while inserting, which
 *              say where an insert gap comes from
 *   arena      st_arena_alloc vs malloc/free, objects of 16..64 bytes
 *   utf8       st_utf8_valid vs g_utf8_validate: ASCII, mixed-script words, random code
 *              points
 *   search     st_cur_search latency over a fixed list of queries (no peer)
 *
 * Every round measures every case, the strata side and its peer back to back, and the
 * order is swapped each round (A B, B A, ...) so that neither side always runs first on a
 * warmer or cooler machine. The cases that allocate a lot run each side in a forked child,
 * so both start from the same heap. The tables show medians over rounds; "paired" is the
 * median of the per-round ratios, which cancels slow drift. Both sides get the same
 * pre-generated inputs, and every result is checked, so nothing is optimised away and a
 * wrong answer stops the run. bench/README.md explains the figures and records them.
 *
 * Environment: BENCH_CPU (core to pin to, default 0; -1 leaves the affinity alone),
 * BENCH_ROUNDS (default 5), BENCH_KEYS (hash map keys, default 1000000).
 */
#include <glib.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/map.h"
#include "base/str.h"
#include "base/time.h"
#include "base/utf8.h"
#include "curriculum/curriculum.h"

#define MAX_ROUNDS 25

/* Arena: objects per round, and the batch size of the steady-state case (a request's
 * worth: 1000 objects of ~40 bytes, about 40 KB). */
#define ALLOC_OBJECTS 1000000
#define ALLOC_BATCH 1000

/* UTF-8: a 1 MiB text (it stays in L2/L3, so this measures the validator rather than
 * memory bandwidth) validated this many times per measurement. */
#define TEXT_BYTES (1u << 20)
#define ASCII_PASSES 512
#define MIXED_PASSES 128

/* Search: each query is timed this many times per round. */
#define SEARCH_REPS 25
#define SEARCH_HITS 10

/*
 * The value stored for key i: a real heap pointer, as a program's values would be, and not
 * the key (GHashTable turns itself into a cheaper set when every value equals its key).
 * Small integers would flatter GLib, which packs values that fit in 32 bits into 4 bytes.
 */
#define VAL(k, i) ((void *)&(k)->hit[i])

/* One figure, measured once per round. */
struct series {
    double v[MAX_ROUNDS];
    int n;
};

/* A strata case and its peer, measured back to back in every round. */
struct duel {
    const char *name;
    struct series st, peer;
};

struct config {
    int rounds;
    size_t keys;
    int cpu;
};

/* Distinct short string keys, NUL-terminated so GLib can use the same bytes. */
struct keys {
    size_t n;
    struct st_str *hit;  /* inserted: "user:<id>" */
    struct st_str *miss; /* never inserted: "item:<id>", same lengths */
    size_t *order;       /* a random permutation of 0..n-1: lookup and delete order */
    char *bytes;         /* the storage of all keys */
};

struct allocs {
    size_t n;
    unsigned char *size; /* 16..64 */
    void **ptr;          /* where both sides keep their objects */
};

/* Whatever a loop computes goes here, so the compiler cannot drop the loop. */
static volatile uint64_t sink;

static void series_add(struct series *s, double x)
{
    if (s->n < MAX_ROUNDS)
        s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile (q in 0..1) of v[0..n); sorts v. */
static double percentile(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof(*v), cmp_double);
    size_t rank = (size_t)ceil(q * (double)n);
    return v[rank ? rank - 1 : 0];
}

static double series_median(const struct series *s)
{
    double v[MAX_ROUNDS];
    memcpy(v, s->v, sizeof(v[0]) * (size_t)s->n);
    return percentile(v, (size_t)s->n, 0.5);
}

/* (max - min) / median, in percent: how much the rounds disagree. */
static double series_spread(const struct series *s)
{
    double lo = s->v[0], hi = s->v[0];
    for (int i = 1; i < s->n; i++) {
        lo = fmin(lo, s->v[i]);
        hi = fmax(hi, s->v[i]);
    }
    return 100.0 * (hi - lo) / series_median(s);
}

/* Median of the per-round ratios st/peer. */
static double duel_paired(const struct duel *d)
{
    struct series r = { .n = 0 };
    for (int i = 0; i < d->st.n && i < d->peer.n; i++)
        series_add(&r, d->st.v[i] / d->peer.v[i]);
    return series_median(&r);
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (the modulo bias is irrelevant here). */
static size_t rand_below(uint64_t *state, size_t n)
{
    return (size_t)(splitmix64(state) % n);
}

static double mops(size_t ops, int64_t ns)
{
    return (double)ops * 1e3 / (double)(ns > 0 ? ns : 1);
}

static double elapsed_us(int64_t since)
{
    return (double)(st_time_mono_ns() - since) / 1e3;
}

_Noreturn static void wrong(const char *what, size_t bad)
{
    st_panic("bench_base: %s gave %zu wrong result(s); the benchmark is not valid", what, bad);
}

/* ---- configuration and pinning ---- */

static long env_long(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) {
        fprintf(stderr, "bench_base: %s=%s is not a number in %ld..%ld\n", name, s, lo, hi);
        exit(2);
    }
    return v;
}

static void pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        fprintf(stderr, "bench_base: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
        exit(2);
    }
}

/*
 * Run fn(arg, out) in a forked child and copy out[0..n) back. The cases that allocate
 * a lot (hash map, arena) run this way, so that each side starts from the same heap and
 * address space: otherwise whichever side runs second inherits memory the first one
 * freed (or trimmed), and the result depends on the order rather than the code.
 */
static void in_child(void (*fn)(const void *arg, double *out), const void *arg, double *out, size_t n)
{
    int fd[2];
    if (pipe(fd) != 0)
        st_panic("bench_base: pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        st_panic("bench_base: fork: %s", strerror(errno));
    if (pid == 0) {
        close(fd[0]);
        fn(arg, out);
        ssize_t w = write(fd[1], out, n * sizeof(*out)); /* < PIPE_BUF: one write */
        _exit(w == (ssize_t)(n * sizeof(*out)) ? 0 : 1);
    }
    close(fd[1]);
    ssize_t r;
    do {
        r = read(fd[0], out, n * sizeof(*out));
    } while (r < 0 && errno == EINTR);
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (r != (ssize_t)(n * sizeof(*out)) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        st_panic("bench_base: a measuring child failed (status 0x%x)", status);
}

/*
 * What the first write to a fresh 4 KiB page costs here (microseconds): a growing hash
 * table pays it for every page of its new table, which can dominate an insert benchmark.
 */
static double page_fault_us(void)
{
    size_t len = 64u << 20, pages = len / 4096;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NAN;
    int64_t t = st_time_mono_ns();
    for (size_t i = 0; i < pages; i++)
        p[i * 4096] = 1;
    double us = (double)(st_time_mono_ns() - t) / 1e3 / (double)pages;
    munmap(p, len);
    return us;
}

/* Minor page faults of this process so far. */
static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* ---- hash map ---- */

/* The figures of the table, then the minor page faults taken while inserting (a child
 * reports them in out[MAP_FAULTS]: a growing table touches fresh pages). */
enum { MAP_INSERT, MAP_HIT, MAP_MISS, MAP_DELETE, MAP_HASH, MAP_CASES, MAP_FAULTS = MAP_CASES, MAP_OUT };

static const char *const map_case_names[MAP_CASES] = {
    "insert", "lookup hit", "lookup miss", "delete", "hash only (diagnostic)",
};

/* The longest key: "user:" + 10 digits + NUL. */
#define KEY_MAX 16

static void keys_init(struct keys *k, size_t n)
{
    k->n = n;
    k->hit = st_xcalloc(n, sizeof(*k->hit));
    k->miss = st_xcalloc(n, sizeof(*k->miss));
    k->order = st_xcalloc(n, sizeof(*k->order));
    k->bytes = st_xmalloc(2 * n * KEY_MAX);

    char *p = k->bytes;
    for (size_t i = 0; i < n; i++) {
        /* Multiplying by an odd constant is a bijection on 32 bits: the ids are distinct
         * and scattered, so the keys are 6..15 bytes with no sequential pattern. */
        uint32_t id = (uint32_t)i * 2654435761u;
        int len = snprintf(p, KEY_MAX, "user:%" PRIu32, id);
        k->hit[i] = st_str(p, (size_t)len);
        p += len + 1;
        len = snprintf(p, KEY_MAX, "item:%" PRIu32, id);
        k->miss[i] = st_str(p, (size_t)len);
        p += len + 1;
    }

    uint64_t rng = 42;
    for (size_t i = 0; i < n; i++)
        k->order[i] = i;
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = rand_below(&rng, i + 1), t = k->order[i];
        k->order[i] = k->order[j];
        k->order[j] = t;
    }
}

static void keys_release(struct keys *k)
{
    free(k->hit);
    free(k->miss);
    free(k->order);
    free(k->bytes);
}

static void map_child_strata(const void *arg, double *out)
{
    const struct keys *k = arg;
    struct st_map m;
    size_t bad = 0, n = k->n;
    st_map_init(&m, NULL);

    long faults = minor_faults();
    int64_t t = st_time_mono_ns();
    for (size_t i = 0; i < n; i++)
        bad += !st_map_put(&m, k->hit[i], VAL(k, i));
    out[MAP_INSERT] = mops(n, st_time_mono_ns() - t);
    out[MAP_FAULTS] = (double)(minor_faults() - faults);

    t = st_time_mono_ns();
    for (size_t i = 0; i < n; i++) {
        size_t j = k->order[i];
        bad += st_map_get(&m, k->hit[j]) != VAL(k, j);
    }
    out[MAP_HIT] = mops(n, st_time_mono_ns() - t);

    t = st_time_mono_ns();
    for (size_t i = 0; i < n; i++)
        bad += st_map_get(&m, k->miss[k->order[i]]) != NULL;
    out[MAP_MISS] = mops(n, st_time_mono_ns() - t);

    t = st_time_mono_ns();
    for (size_t i = 0; i < n; i++)
        bad += !st_map_del(&m, k->hit[k->order[i]], NULL);
    out[MAP_DELETE] = mops(n, st_time_mono_ns() - t);

    bad += st_map_len(&m) != 0;
    st_map_release(&m);
    if (bad)
        wrong("st_map", bad);
}

static void map_child_glib(const void *arg, double *out)
{
    const struct keys *k = arg;
    GHashTable *h = g_hash_table_new(g_str_hash, g_str_equal);
    size_t bad = 0, n = k->n;

    long faults = minor_faults();
    int64_t t = st_time_mono_ns();
    for (size_t i = 0; i < n; i++)
        bad += !g_hash_table_insert(h, (gpointer)k->hit[i].ptr, VAL(k, i));
    out[MAP_INSERT] = mops(n, st_time_mono_ns() - t);
    out[MAP_FAULTS] = (double)(minor_faults() - faults);

    t = st_time_mono_ns();
    for (size_t i = 0; i < n; i++) {
        size_t j = k->order[i];
        bad += g_hash_table_lookup(h, k->hit[j].ptr) != VAL(k, j);
    }
    out[MAP_HIT] = mops(n, st_time_mono_ns() - t);

    t = st_time_mono_ns();
    for (size_t i = 0; i < n; i++)
        bad += g_hash_table_lookup(h, k->miss[k->order[i]].ptr) != NULL;
    out[MAP_MISS] = mops(n, st_time_mono_ns() - t);

    t = st_time_mono_ns();
    for (size_t i = 0; i < n; i++)
        bad += !g_hash_table_remove(h, k->hit[k->order[i]].ptr);
    out[MAP_DELETE] = mops(n, st_time_mono_ns() - t);

    bad += g_hash_table_size(h) != 0;
    g_hash_table_destroy(h);
    if (bad)
        wrong("GHashTable", bad);
}

/*
 * Read every key once, untimed. Right after the measuring children exit, the first pass
 * over the keys in this process runs up to 40% slower (whichever side runs first); a
 * warm-up pass takes that out of the hash-only figures.
 */
static void keys_touch(const struct keys *k)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < k->n; i++)
        acc += (unsigned char)k->hit[i].ptr[k->hit[i].len - 1];
    sink += acc;
}

/* Hashing alone, to tell the cost of the hash function from the cost of the table. */
static void hash_run_strata(const struct keys *k, double *out)
{
    uint64_t acc = 0;
    int64_t t = st_time_mono_ns();
    for (size_t i = 0; i < k->n; i++)
        acc += st_hash(k->hit[i].ptr, k->hit[i].len);
    out[MAP_HASH] = mops(k->n, st_time_mono_ns() - t);
    sink += acc;
}

static void hash_run_glib(const struct keys *k, double *out)
{
    uint64_t acc = 0;
    int64_t t = st_time_mono_ns();
    for (size_t i = 0; i < k->n; i++)
        acc += g_str_hash(k->hit[i].ptr);
    out[MAP_HASH] = mops(k->n, st_time_mono_ns() - t);
    sink += acc;
}

/* ---- arena vs malloc ---- */

enum { ALLOC_COLD, ALLOC_WARM, ALLOC_WARM_FREE, ALLOC_BATCHES, ALLOC_CASES };

static const char *const alloc_case_names[ALLOC_CASES] = {
    "1M objects, fresh heap: alloc+free",
    "1M objects, warm heap: alloc",
    "1M objects, warm heap: alloc+free",
    "1k-object batches: alloc+free",
};

static void allocs_init(struct allocs *a, size_t n)
{
    uint64_t rng = 7;
    a->n = n;
    a->size = st_xmalloc(n);
    a->ptr = st_xcalloc(n, sizeof(*a->ptr));
    for (size_t i = 0; i < n; i++)
        a->size[i] = (unsigned char)(16 + rand_below(&rng, 49));
}

static void allocs_release(struct allocs *a)
{
    free(a->size);
    free(a->ptr);
}

/*
 * Run in a fresh child (see in_child), before timing. The pointer array is shared
 * copy-on-write with the parent: write it once so neither side pays those faults. And keep
 * freed memory in the heap (no trimming back to the kernel), so the second pass of a side
 * reuses what its first pass faulted in: that pass measures the allocator, not the kernel.
 */
static void alloc_child_prepare(const struct allocs *a)
{
    memset(a->ptr, 0, a->n * sizeof(*a->ptr));
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

/*
 * glibc's free() parks small chunks in "fastbins" and merges them only when a later request
 * of 1 KiB or more arrives. Left alone, the merge of a million chunks (tens of ms) would be
 * paid by whatever allocates next. Both sides call this at the end of each timed case, so
 * each pays for its own frees.
 */
static void settle_heap(void)
{
    void *p = malloc(4096);
    if (!p)
        st_panic("bench_base: out of memory");
    sink += (uintptr_t)p;
    free(p);
}

/*
 * Both sides write the first byte of every object (so each really gets its memory) and
 * keep the pointer in the same array, as a program keeping its objects would.
 */
static void arena_big(const struct allocs *a, int64_t *alloc_ns, int64_t *total_ns)
{
    struct st_arena ar;
    st_arena_init(&ar, 0);
    int64_t t0 = st_time_mono_ns();
    for (size_t i = 0; i < a->n; i++) {
        unsigned char *p = st_arena_alloc(&ar, a->size[i]);
        p[0] = (unsigned char)i;
        a->ptr[i] = p;
    }
    int64_t t1 = st_time_mono_ns();
    st_arena_release(&ar);
    settle_heap();
    *alloc_ns = t1 - t0;
    *total_ns = st_time_mono_ns() - t0;
}

/* The steady state of a server: one arena per request, reset after each. */
static double arena_batches(const struct allocs *a)
{
    struct st_arena ar;
    size_t n = a->n / ALLOC_BATCH * ALLOC_BATCH;
    st_arena_init(&ar, 0);
    int64_t t0 = st_time_mono_ns();
    for (size_t b = 0; b < n; b += ALLOC_BATCH) {
        for (size_t i = b; i < b + ALLOC_BATCH; i++) {
            unsigned char *p = st_arena_alloc(&ar, a->size[i]);
            p[0] = (unsigned char)i;
            a->ptr[i] = p;
        }
        st_arena_reset(&ar);
    }
    st_arena_release(&ar);
    settle_heap();
    return mops(n, st_time_mono_ns() - t0);
}

/* Plain malloc, not st_xmalloc: the peer is the C library, without a wrapper call. */
static void malloc_range(const struct allocs *a, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        unsigned char *p = malloc(a->size[i]);
        if (!p)
            abort();
        p[0] = (unsigned char)i;
        a->ptr[i] = p;
    }
}

/* malloc_range filled every entry of [from, to) just before (the analyzer cannot see that
 * the two ranges match, and takes the pointers for the previous pass's). */
static void free_range(const struct allocs *a, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        free(a->ptr[i]); /* NOLINT(clang-analyzer-unix.Malloc) */
}

static void malloc_big(const struct allocs *a, int64_t *alloc_ns, int64_t *total_ns)
{
    int64_t t0 = st_time_mono_ns();
    malloc_range(a, 0, a->n);
    int64_t t1 = st_time_mono_ns();
    free_range(a, 0, a->n);
    settle_heap();
    *alloc_ns = t1 - t0;
    *total_ns = st_time_mono_ns() - t0;
}

static double malloc_batches(const struct allocs *a)
{
    size_t n = a->n / ALLOC_BATCH * ALLOC_BATCH;
    int64_t t0 = st_time_mono_ns();
    for (size_t b = 0; b < n; b += ALLOC_BATCH) {
        malloc_range(a, b, b + ALLOC_BATCH);
        free_range(a, b, b + ALLOC_BATCH);
    }
    settle_heap();
    return mops(n, st_time_mono_ns() - t0);
}

/* Each side in its own child: the first pass meets a fresh heap, the second a warm one. */
static void alloc_child_strata(const void *arg, double *out)
{
    const struct allocs *a = arg;
    int64_t alloc_ns, total_ns;
    alloc_child_prepare(a);
    arena_big(a, &alloc_ns, &total_ns);
    out[ALLOC_COLD] = mops(a->n, total_ns);
    arena_big(a, &alloc_ns, &total_ns);
    out[ALLOC_WARM] = mops(a->n, alloc_ns);
    out[ALLOC_WARM_FREE] = mops(a->n, total_ns);
    out[ALLOC_BATCHES] = arena_batches(a);
}

static void alloc_child_malloc(const void *arg, double *out)
{
    const struct allocs *a = arg;
    int64_t alloc_ns, total_ns;
    alloc_child_prepare(a);
    malloc_big(a, &alloc_ns, &total_ns);
    out[ALLOC_COLD] = mops(a->n, total_ns);
    malloc_big(a, &alloc_ns, &total_ns);
    out[ALLOC_WARM] = mops(a->n, alloc_ns);
    out[ALLOC_WARM_FREE] = mops(a->n, total_ns);
    out[ALLOC_BATCHES] = malloc_batches(a);
}

/* ---- UTF-8 validation ---- */

enum { UTF8_ASCII, UTF8_MIXED, UTF8_RANDOM, UTF8_CASES };

static const char *const utf8_case_names[UTF8_CASES] = {
    "ASCII text",
    "mixed text (words in 4 scripts)",
    "random code points (worst case)",
};
static const unsigned utf8_passes[UTF8_CASES] = { ASCII_PASSES, MIXED_PASSES, MIXED_PASSES };

static char *texts[UTF8_CASES];
/* Share of each text's bytes that belong to multi-byte sequences, in percent. */
static double text_multibyte[UTF8_CASES];

/* A code point drawn from a script: 0 ASCII letters, 1 Cyrillic (2 bytes), 2 CJK
 * (3 bytes), 3 emoji (4 bytes). */
static uint32_t script_char(uint64_t *rng, int script)
{
    switch (script) {
    case 0: return (uint32_t)('a' + rand_below(rng, 26));
    case 1: return (uint32_t)(0x430 + rand_below(rng, 32));
    case 2: return (uint32_t)(0x4E00 + rand_below(rng, 0x9FFF - 0x4E00));
    default: return (uint32_t)(0x1F600 + rand_below(rng, 0x50));
    }
}

/* Append cp at s[*i] if it fits in the text; false when the text is full. */
static bool put_char(char *s, size_t *i, uint32_t cp, size_t *multibyte)
{
    char enc[4];
    size_t len = st_utf8_encode(cp, enc);
    if (len == 0 || *i + len > TEXT_BYTES)
        return false;
    memcpy(s + *i, enc, len);
    *i += len;
    *multibyte += len > 1 ? len : 0;
    return true;
}

/* Pad the last 0..3 bytes with spaces; returns the multi-byte share in percent. */
static double finish_text(char *s, size_t i, size_t multibyte)
{
    memset(s + i, ' ', TEXT_BYTES - i);
    return 100.0 * (double)multibyte / TEXT_BYTES;
}

/* Printable ASCII with spaces and newlines, like source code or English prose. */
static char *make_ascii(uint64_t *rng)
{
    char *s = st_xmalloc(TEXT_BYTES);
    for (size_t i = 0; i < TEXT_BYTES; i++) {
        size_t r = rand_below(rng, 100);
        s[i] = r < 15 ? ' ' : r < 17 ? '\n' : (char)('!' + rand_below(rng, 94));
    }
    return s;
}

/*
 * Words of 1..8 characters, each word in one script: 55% English, 20% Russian, 20% Chinese,
 * 5% emoji, separated by a space (a comma or newline now and then). Real multilingual text
 * (a chat log, a localised page) comes in runs like this, not in random single characters.
 */
static char *make_mixed(uint64_t *rng, double *multibyte_pct)
{
    char *s = st_xmalloc(TEXT_BYTES);
    size_t i = 0, mb = 0;
    for (;;) {
        size_t r = rand_below(rng, 100);
        int script = r < 55 ? 0 : r < 75 ? 1 : r < 95 ? 2 : 3;
        size_t len = 1 + rand_below(rng, script >= 2 ? 4 : 8);
        bool fits = true;
        for (size_t c = 0; c < len && fits; c++)
            fits = put_char(s, &i, script_char(rng, script), &mb);
        size_t sep = rand_below(rng, 20);
        if (!fits || !put_char(s, &i, sep == 0 ? '\n' : sep == 1 ? ',' : ' ', &mb))
            break;
    }
    *multibyte_pct = finish_text(s, i, mb);
    return s;
}

/*
 * Every character from a random script (70% ASCII, 10% / 15% / 5% of 2, 3, 4 bytes): the
 * sequence length changes unpredictably at every character, the worst case for a
 * validator's branches.
 */
static char *make_random(uint64_t *rng, double *multibyte_pct)
{
    char *s = st_xmalloc(TEXT_BYTES);
    size_t i = 0, mb = 0;
    for (;;) {
        size_t r = rand_below(rng, 100);
        uint32_t cp = r < 70   ? (uint32_t)(' ' + rand_below(rng, 95))
                      : r < 80 ? (uint32_t)(0xC0 + rand_below(rng, 0x4FF - 0xC0))
                      : r < 95 ? script_char(rng, 2)
                               : script_char(rng, 3);
        if (!put_char(s, &i, cp, &mb))
            break;
    }
    *multibyte_pct = finish_text(s, i, mb);
    return s;
}

static void texts_init(void)
{
    uint64_t rng = 2026;
    texts[UTF8_ASCII] = make_ascii(&rng);
    texts[UTF8_MIXED] = make_mixed(&rng, &text_multibyte[UTF8_MIXED]);
    texts[UTF8_RANDOM] = make_random(&rng, &text_multibyte[UTF8_RANDOM]);
}

/* GB/s (10^9 bytes per second). */
static double utf8_run_strata(int c)
{
    size_t ok = 0;
    int64_t t = st_time_mono_ns();
    for (unsigned p = 0; p < utf8_passes[c]; p++)
        ok += st_utf8_valid(texts[c], TEXT_BYTES);
    int64_t ns = st_time_mono_ns() - t;
    if (ok != utf8_passes[c])
        wrong("st_utf8_valid", utf8_passes[c] - ok);
    return (double)utf8_passes[c] * TEXT_BYTES / (double)ns;
}

static double utf8_run_glib(int c)
{
    size_t ok = 0;
    int64_t t = st_time_mono_ns();
    for (unsigned p = 0; p < utf8_passes[c]; p++)
        ok += g_utf8_validate(texts[c], TEXT_BYTES, NULL);
    int64_t ns = st_time_mono_ns() - t;
    if (ok != utf8_passes[c])
        wrong("g_utf8_validate", utf8_passes[c] - ok);
    return (double)utf8_passes[c] * TEXT_BYTES / (double)ns;
}

/* ---- search latency ---- */

/* What a learner types: topics, tool names, a question number, a long phrase. */
static const char *const queries[] = {
    "consistent hashing",
    "load balancer",
    "cache invalidation",
    "database sharding",
    "rate limiting",
    "message queue",
    "CAP theorem",
    "raft consensus leader election",
    "http server",
    "redis",
    "kafka partitions",
    "dns",
    "idempotency",
    "connection pooling",
    "eventual consistency",
    "two phase commit distributed transactions",
    "b-tree index",
    "circuit breaker",
    "242",
    "how would you design a url shortener that scales to billions of links",
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

struct search_stats {
    double cold_us; /* the first call of the process: builds the index */
    size_t matches[NQUERIES];
    double *us; /* [query][round][rep] */
    int rounds;
};

static void search_init(struct search_stats *s, int rounds)
{
    struct st_cur_hit hits[SEARCH_HITS];
    s->rounds = rounds;
    s->us = st_xcalloc(NQUERIES * (size_t)rounds * SEARCH_REPS, sizeof(*s->us));
    int64_t t = st_time_mono_ns();
    s->matches[0] = st_cur_search(queries[0], hits, SEARCH_HITS);
    s->cold_us = elapsed_us(t);
    for (size_t q = 1; q < NQUERIES; q++)
        s->matches[q] = st_cur_search(queries[q], hits, SEARCH_HITS);
}

/* Time every call on its own; queries interleave so none always runs on a warm cache. */
static void search_round(struct search_stats *s, int round)
{
    struct st_cur_hit hits[SEARCH_HITS];
    size_t bad = 0;
    for (int r = 0; r < SEARCH_REPS; r++) {
        for (size_t q = 0; q < NQUERIES; q++) {
            int64_t t = st_time_mono_ns();
            size_t n = st_cur_search(queries[q], hits, SEARCH_HITS);
            s->us[(q * (size_t)s->rounds + (size_t)round) * SEARCH_REPS + (size_t)r] = elapsed_us(t);
            bad += n != s->matches[q];
        }
    }
    if (bad)
        wrong("st_cur_search (results changed between calls)", bad);
}

/* ---- the run ---- */

struct results {
    struct duel map[MAP_OUT];
    double fault_us; /* the cost of one page fault, measured at start */
    struct duel alloc[ALLOC_CASES];
    struct duel utf8[UTF8_CASES];
    struct search_stats search;
};

/* CPU time of this process and of its finished children (the measuring children). */
static int64_t cpu_time_ns(void)
{
    struct timespec ts;
    struct rusage ru;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    getrusage(RUSAGE_CHILDREN, &ru);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
           ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* One case, both sides, in the order this round wants; out arrays are filled per side. */
#define BOTH(swap, st_call, peer_call)                                                                                 \
    do {                                                                                                               \
        if (swap) {                                                                                                    \
            peer_call;                                                                                                 \
            st_call;                                                                                                   \
        } else {                                                                                                       \
            st_call;                                                                                                   \
            peer_call;                                                                                                 \
        }                                                                                                              \
    } while (0)

static void run_round(struct results *res, const struct keys *k, const struct allocs *a, int round)
{
    bool swap = round % 2;
    double st[MAP_OUT], peer[MAP_OUT];

    BOTH(swap, in_child(map_child_strata, k, st, MAP_OUT), in_child(map_child_glib, k, peer, MAP_OUT));
    keys_touch(k);
    BOTH(swap, hash_run_strata(k, st), hash_run_glib(k, peer));
    for (int c = 0; c < MAP_OUT; c++) {
        series_add(&res->map[c].st, st[c]);
        series_add(&res->map[c].peer, peer[c]);
    }

    BOTH(swap, in_child(alloc_child_strata, a, st, ALLOC_CASES), in_child(alloc_child_malloc, a, peer, ALLOC_CASES));
    for (int c = 0; c < ALLOC_CASES; c++) {
        series_add(&res->alloc[c].st, st[c]);
        series_add(&res->alloc[c].peer, peer[c]);
    }

    for (int c = 0; c < UTF8_CASES; c++)
        BOTH(swap, st[c] = utf8_run_strata(c), peer[c] = utf8_run_glib(c));
    for (int c = 0; c < UTF8_CASES; c++) {
        series_add(&res->utf8[c].st, st[c]);
        series_add(&res->utf8[c].peer, peer[c]);
    }

    search_round(&res->search, round);
}

/* ---- the report ---- */

static void print_duels(const char *title, const char *st_name, const char *peer_name, const struct duel *d, int n)
{
    printf("\n%s\n", title);
    printf("  %-33s %10s %10s %8s %8s %13s\n", "case", st_name, peer_name, "ratio", "paired", "spread st/pe");
    for (int i = 0; i < n; i++) {
        double ms = series_median(&d[i].st), mp = series_median(&d[i].peer);
        printf("  %-33s %10.2f %10.2f %8.2f %8.2f %5.0f%% / %3.0f%%\n", d[i].name, ms, mp, ms / mp, duel_paired(&d[i]),
               series_spread(&d[i].st), series_spread(&d[i].peer));
    }
}

static void print_search(struct search_stats *s)
{
    size_t per = (size_t)s->rounds * SEARCH_REPS, total = NQUERIES * per;
    double *all = st_xcalloc(total, sizeof(*all));
    memcpy(all, s->us, total * sizeof(*all));

    printf("\nsearch: st_cur_search latency, %zu queries x %d calls x %d rounds, microseconds\n", NQUERIES, SEARCH_REPS,
           s->rounds);
    printf("  first call (builds the index):  %8.1f us\n", s->cold_us);
    printf("  all queries:  p50 %7.1f   p90 %7.1f   p99 %7.1f   max %7.1f us\n", percentile(all, total, 0.50),
           percentile(all, total, 0.90), percentile(all, total, 0.99), percentile(all, total, 1.0));
    printf("  %-72s %7s %8s %8s\n", "query", "matches", "p50 us", "p99 us");
    for (size_t q = 0; q < NQUERIES; q++) {
        double *v = s->us + q * per;
        printf("  %-72s %7zu %8.1f %8.1f\n", queries[q], s->matches[q], percentile(v, per, 0.5),
               percentile(v, per, 0.99));
    }
    free(all);
}

/* How much of each side's insert time the page faults of its growing table explain. */
static void print_insert_faults(const struct results *res, size_t keys)
{
    double faults[2], insert_ms[2];
    faults[0] = series_median(&res->map[MAP_FAULTS].st);
    faults[1] = series_median(&res->map[MAP_FAULTS].peer);
    insert_ms[0] = (double)keys / series_median(&res->map[MAP_INSERT].st) / 1e3;
    insert_ms[1] = (double)keys / series_median(&res->map[MAP_INSERT].peer) / 1e3;
    printf("  insert: page faults %.0f vs %.0f, x %.1f us = ~%.0f ms vs ~%.0f ms of %.0f ms vs %.0f ms\n", faults[0],
           faults[1], res->fault_us, faults[0] * res->fault_us / 1e3, faults[1] * res->fault_us / 1e3, insert_ms[0],
           insert_ms[1]);
}

static void print_report(struct results *res, const struct config *cfg)
{
    char title[160];
    printf("\nFigures are medians over %d rounds. ratio = strata / peer (above 1: strata faster);\n"
           "paired = median of per-round ratios; spread = (max - min) / median over rounds.\n",
           cfg->rounds);
    snprintf(title, sizeof(title), "hash map: %zu distinct keys of 6-15 bytes, borrowed, Mops/s", cfg->keys);
    print_duels(title, "st_map", "GHashTable", res->map, MAP_CASES);
    print_insert_faults(res, cfg->keys);
    print_duels("arena: objects of 16-64 bytes, Mops/s", "st_arena", "malloc", res->alloc, ALLOC_CASES);
    snprintf(title, sizeof(title),
             "utf8: validation of a 1 MiB text, GB/s (multi-byte share of the bytes: mixed %.0f%%, random %.0f%%)",
             text_multibyte[UTF8_MIXED], text_multibyte[UTF8_RANDOM]);
    print_duels(title, "st_utf8", "g_utf8", res->utf8, UTF8_CASES);
    print_search(&res->search);
}

static void results_init(struct results *res, int rounds)
{
    memset(res, 0, sizeof(*res));
    for (int c = 0; c < MAP_CASES; c++)
        res->map[c].name = map_case_names[c];
    for (int c = 0; c < ALLOC_CASES; c++)
        res->alloc[c].name = alloc_case_names[c];
    for (int c = 0; c < UTF8_CASES; c++)
        res->utf8[c].name = utf8_case_names[c];
    search_init(&res->search, rounds);
}

int main(void)
{
    struct config cfg = {
        .cpu = (int)env_long("BENCH_CPU", 0, -1, CPU_SETSIZE - 1),
        .rounds = (int)env_long("BENCH_ROUNDS", 5, 1, MAX_ROUNDS),
        .keys = (size_t)env_long("BENCH_KEYS", 1000000, 1000, 10000000),
    };
    pin(cfg.cpu);
    /* A fixed SipHash key: the same table layout on every run. */
    static const uint8_t hash_key[16] = { 's', 't', 'r', 'a', 't', 'a', '-', 'b', 'e', 'n', 'c', 'h' };
    st_hash_set_key(hash_key);

    printf("bench_base: %d rounds, CPU %d%s, GLib %u.%u.%u, %s\n", cfg.rounds, sched_getcpu(),
           cfg.cpu < 0 ? " (not pinned)" : " (pinned)", glib_major_version, glib_minor_version, glib_micro_version,
           "cc " __VERSION__);

    struct keys k;
    struct allocs a;
    struct results *res = st_xmalloc(sizeof(*res));
    keys_init(&k, cfg.keys);
    allocs_init(&a, ALLOC_OBJECTS);
    texts_init();
    results_init(res, cfg.rounds);
    res->fault_us = page_fault_us();
    printf("first write to a fresh 4 KiB page (a minor page fault): %.2f us\n", res->fault_us);

    for (int r = 0; r < cfg.rounds; r++) {
        int64_t wall = st_time_mono_ns(), cpu = cpu_time_ns();
        run_round(res, &k, &a, r);
        double w = (double)(st_time_mono_ns() - wall), c = (double)(cpu_time_ns() - cpu);
        /* On-CPU below ~95% means the process was preempted or waited: a noisy round. */
        printf("[round %d] %s first, %.1f s, on-CPU %.0f%%%s\n", r + 1, r % 2 ? "peer" : "strata", w / 1e9,
               100.0 * c / w, c / w < 0.95 ? "  NOISY" : "");
        fflush(stdout);
    }
    print_report(res, &cfg);

    free(res->search.us);
    free(res);
    keys_release(&k);
    allocs_release(&a);
    for (int c = 0; c < UTF8_CASES; c++)
        free(texts[c]);
    return 0;
}
