/*
 * fuzz_accept.c - libFuzzer target for Accept negotiation (st_http_negotiate).
 *
 * Input: the Accept header value. Oracles:
 *   - every q is in 0..1000 and the index is -1 or names an offer of the highest q, no
 *     earlier offer having the same q, and -1 only when every q is 0;
 *   - the answer does not change with an empty list element put first (RFC 9110 5.6.1.2),
 *     nor with the header upper-cased (types, subtypes and "q" are case-insensitive);
 *   - an absent header accepts the first offer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/negotiate.h"

static const char *const offers[] = { "application/json", "text/csv; charset=utf-8", "text/html", "image/png",
                                      "application/problem+json" };
#define NOFFERS (sizeof offers / sizeof offers[0])

/* st_http_negotiate on an exact-size heap copy (a read past the value is caught), with
 * its consistency with st_http_negotiate_q checked. */
static int negotiate(const char *p, size_t n)
{
    char *copy = malloc(n ? n : 1);
    CHECK(copy);
    memcpy(copy, p, n);
    struct st_str a = st_str(copy, n);
    int best = st_http_negotiate(a, offers, NOFFERS);
    int q[NOFFERS], max = 0;
    for (size_t i = 0; i < NOFFERS; i++) {
        q[i] = st_http_negotiate_q(a, st_str_c(offers[i]));
        CHECK(q[i] >= 0 && q[i] <= 1000);
        max = q[i] > max ? q[i] : max;
    }
    free(copy);
    CHECK(best >= -1 && best < (int)NOFFERS);
    if (best < 0) {
        CHECK(max == 0);
    } else {
        CHECK(q[best] == max && max > 0);
        for (int i = 0; i < best; i++)
            CHECK(q[i] < max);
    }
    return best;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *v = (const char *)data;
    int best = negotiate(v, size);

    char *alt = malloc(size + 2);
    CHECK(alt);
    alt[0] = ',';
    alt[1] = ' ';
    memcpy(alt + 2, v, size);
    CHECK(negotiate(alt, size + 2) == best);
    for (size_t i = 0; i < size; i++)
        alt[i] = (char)(v[i] >= 'a' && v[i] <= 'z' ? v[i] - 32 : v[i]);
    CHECK(negotiate(alt, size) == best);
    free(alt);

    CHECK(st_http_negotiate(st_str(NULL, 0), offers, NOFFERS) == 0);
    return 0;
}
