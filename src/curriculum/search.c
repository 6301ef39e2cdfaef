/*
 * search.c - ranked search over the embedded question bank.
 *
 * BM25F-style scoring: each question is a document with weighted fields (text 3, tags 2,
 * module name 1, answer 1); a term's frequency is the weighted sum over fields and the
 * document length the weighted token count. Terms are lower-cased, stop words dropped, and
 * plurals folded with Harman's S-stemmer ("caches" -> "cache"), which is light enough not
 * to merge "consistent" with "consistency". On top of BM25: documents that match more of
 * the query's terms rank first (coordination), the whole query as a phrase in the question
 * text earns a bonus, and a bare number names a question id.
 *
 * The index is built once, lazily and thread-safely; 500 small documents take well under
 * a millisecond to scan, so a query walks every document rather than keeping postings.
 */
#include "curriculum/curriculum.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "curriculum/tables.h"

#define MAX_TERMS 32 /* query terms considered */
#define MAX_TOKEN 64 /* longer tokens are cut (they still match their prefix) */
#define K1 1.2
#define B 0.75

struct posting {
    uint64_t term;
    double tf; /* weighted by field */
};

struct doc {
    struct posting *terms; /* sorted by term, unique */
    size_t nterms;
    double len; /* weighted length */
};

static struct doc docs[ST_CUR_QUESTIONS];
static double avg_len;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static const char *const stop_words[] = {
    "a",    "an",  "and",  "are",  "as",    "at",  "be",   "by",  "can",  "do", "does", "for",
    "from", "how", "i",    "in",   "into",  "is",  "it",   "its", "of",   "on", "or",   "the",
    "to",   "vs",  "what", "when", "which", "why", "with", "you", "your", NULL,
};

static bool is_stop(const char *w)
{
    for (int i = 0; stop_words[i]; i++)
        if (strcmp(w, stop_words[i]) == 0)
            return true;
    return false;
}

static bool ends_with(const char *w, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(w + n - m, suffix, m) == 0;
}

/* Harman's S-stemmer, applied to words longer than three letters. */
static void stem(char *w)
{
    size_t n = strlen(w);
    if (n <= 3)
        return;
    if (ends_with(w, n, "ies") && !ends_with(w, n, "eies") && !ends_with(w, n, "aies")) {
        strcpy(w + n - 3, "y");
        return;
    }
    /* Harman's "-es" -> "-e" and "-s" -> "" rules both drop the final 's' (the "-es"
     * exceptions aes/ees/oes fall through to the "-s" rule, which drops it too). */
    if (ends_with(w, n, "s") && !ends_with(w, n, "us") && !ends_with(w, n, "ss"))
        w[n - 1] = '\0';
}

static uint64_t term_hash(const char *w)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a: tiny vocabulary, no adversary */
    for (; *w; w++)
        h = (h ^ (unsigned char)*w) * 1099511628211ull;
    return h;
}

static bool is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/*
 * Call fn(term, word, arg) for every indexed word of s: lower-cased, stemmed, stop words
 * skipped. Returns the number of words passed to fn.
 */
static int each_term(const char *s, void (*fn)(uint64_t term, const char *word, void *arg), void *arg)
{
    int count = 0;
    while (s && *s) {
        while (*s && !is_word_byte((unsigned char)*s))
            s++;
        char w[MAX_TOKEN + 1];
        size_t n = 0;
        for (; *s && is_word_byte((unsigned char)*s); s++)
            if (n < MAX_TOKEN)
                w[n++] = (char)((*s >= 'A' && *s <= 'Z') ? *s - 'A' + 'a' : *s);
        w[n] = '\0';
        if (n == 0 || is_stop(w))
            continue;
        stem(w);
        fn(term_hash(w), w, arg);
        count++;
    }
    return count;
}

struct doc_builder {
    struct posting *items;
    size_t len, cap;
    double weight;
};

static void add_posting(uint64_t term, const char *word, void *arg)
{
    (void)word;
    struct doc_builder *d = arg;
    for (size_t i = 0; i < d->len; i++)
        if (d->items[i].term == term) {
            d->items[i].tf += d->weight;
            return;
        }
    if (d->len == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->items = st_xrealloc(d->items, d->cap * sizeof(*d->items));
    }
    d->items[d->len++] = (struct posting){ term, d->weight };
}

static int cmp_posting(const void *a, const void *b)
{
    uint64_t x = ((const struct posting *)a)->term, y = ((const struct posting *)b)->term;
    return x < y ? -1 : x > y;
}

static double add_field(struct doc_builder *d, const char *s, double weight)
{
    d->weight = weight;
    return weight * each_term(s, add_posting, d);
}

static void build_index(void)
{
    double total = 0;
    for (int i = 0; i < ST_CUR_QUESTIONS; i++) {
        const struct st_cur_question *q = &st__cur_questions[i];
        struct doc_builder d = { 0 };
        double len = add_field(&d, q->text, 3.0);
        for (int t = 0; t < q->ntags; t++)
            len += add_field(&d, q->tags[t], 2.0);
        len += add_field(&d, st__cur_modules[q->module - 1].name, 1.0);
        len += add_field(&d, q->answer, 1.0);
        qsort(d.items, d.len, sizeof(*d.items), cmp_posting);
        docs[i] = (struct doc){ d.items, d.len, len };
        total += len;
    }
    avg_len = total / ST_CUR_QUESTIONS;
}

static double doc_tf(const struct doc *d, uint64_t term)
{
    struct posting key = { term, 0 };
    const struct posting *p = bsearch(&key, d->terms, d->nterms, sizeof(key), cmp_posting);
    return p ? p->tf : 0.0;
}

struct query {
    uint64_t terms[MAX_TERMS];
    int nterms;
    int ids[MAX_TERMS]; /* numbers that name a question */
    int nids;
};

static void add_query_term(uint64_t term, const char *word, void *arg)
{
    struct query *q = arg;
    char *end;
    long id = strtol(word, &end, 10);
    if (*end == '\0' && id >= 1 && id <= ST_CUR_QUESTIONS && q->nids < MAX_TERMS)
        q->ids[q->nids++] = (int)id;
    for (int i = 0; i < q->nterms; i++)
        if (q->terms[i] == term)
            return;
    if (q->nterms < MAX_TERMS)
        q->terms[q->nterms++] = term;
}

/* Lower-cased query with runs of non-word bytes collapsed to one space: the phrase. */
static void normalize(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (; *s && n + 2 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (!is_word_byte(c)) {
            space = n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = false;
        out[n++] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    }
    out[n] = '\0';
}

static double score_doc(int i, const struct query *q, const double *idf, const char *phrase)
{
    const struct doc *d = &docs[i];
    double score = 0;
    int matched = 0;
    for (int t = 0; t < q->nterms; t++) {
        double tf = doc_tf(d, q->terms[t]);
        if (tf <= 0)
            continue;
        matched++;
        score += idf[t] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * d->len / avg_len));
    }
    if (matched == 0)
        return 0;
    score *= (double)matched / q->nterms; /* coordination: all terms beat some terms */
    if (q->nterms > 1 && phrase[0]) {
        char text[1024];
        normalize(st__cur_questions[i].text, text, sizeof(text));
        if (strstr(text, phrase))
            score *= 1.5;
    }
    return score;
}

static int cmp_hit(const void *a, const void *b)
{
    const struct st_cur_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->q->id - y->q->id;
}

size_t st_cur_search(const char *query, struct st_cur_hit *hits, size_t max)
{
    pthread_once(&index_once, build_index);
    struct query q = { 0 };
    each_term(query, add_query_term, &q);
    double idf[MAX_TERMS];
    for (int t = 0; t < q.nterms; t++) {
        int df = 0;
        for (int i = 0; i < ST_CUR_QUESTIONS; i++)
            df += doc_tf(&docs[i], q.terms[t]) > 0;
        idf[t] = log(1.0 + (ST_CUR_QUESTIONS - df + 0.5) / (df + 0.5));
    }
    char phrase[512];
    normalize(query ? query : "", phrase, sizeof(phrase));
    struct st_cur_hit all[ST_CUR_QUESTIONS];
    size_t n = 0;
    for (int i = 0; i < ST_CUR_QUESTIONS; i++) {
        double s = score_doc(i, &q, idf, phrase);
        for (int k = 0; k < q.nids; k++)
            if (q.ids[k] == i + 1)
                s += 1000.0;
        if (s > 0)
            all[n++] = (struct st_cur_hit){ &st__cur_questions[i], s };
    }
    qsort(all, n, sizeof(all[0]), cmp_hit);
    memcpy(hits, all, (n < max ? n : max) * sizeof(*hits));
    return n;
}
