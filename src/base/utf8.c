/*
 * utf8.c - strict UTF-8 validation, decoding and encoding (RFC 3629).
 *
 * The well-formed byte sequences are those of RFC 3629 section 4 (also Table 3-7 of the
 * Unicode standard). Only the second byte of a sequence has a lead-dependent range; every
 * later byte is a plain continuation 80..BF. Checking that narrowed second-byte range is
 * what rejects overlongs (E0 80.., F0 80..), surrogates (ED A0..) and code points above
 * U+10FFFF (F4 90..) without decoding first and range-checking afterwards.
 */
#include "base/utf8.h"

#include <string.h>

/* Every high bit of eight bytes: a word with none of them set is eight ASCII bytes. */
#define HIGH_BITS 0x8080808080808080ull

/*
 * For a lead byte, the sequence length and the allowed range of the second byte.
 * Returns 0 for bytes that cannot start a sequence: continuation bytes 80..BF, C0 and C1
 * (they could only start overlong 2-byte forms) and F5..FF (beyond U+10FFFF).
 */
static size_t lead_info(unsigned char b, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80)
        return 1;
    if (b < 0xC2)
        return 0;
    if (b < 0xE0)
        return 2;
    if (b < 0xF0) {
        if (b == 0xE0)
            *lo = 0xA0; /* below: overlong forms of U+0000..U+07FF */
        else if (b == 0xED)
            *hi = 0x9F; /* above: UTF-16 surrogates U+D800..U+DFFF */
        return 3;
    }
    if (b < 0xF5) {
        if (b == 0xF0)
            *lo = 0x90; /* below: overlong forms of U+0000..U+FFFF */
        else if (b == 0xF4)
            *hi = 0x8F; /* above: code points past U+10FFFF */
        return 4;
    }
    return 0;
}

size_t st_utf8_decode(const void *p, size_t n, uint32_t *cp)
{
    const unsigned char *s = p;
    unsigned char lo, hi;
    if (n == 0)
        return 0;
    size_t len = lead_info(s[0], &lo, &hi);
    if (len == 0 || len > n)
        return 0;
    if (len == 1) {
        *cp = s[0];
        return 1;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    /* The lead keeps 7 - len payload bits: 5, 4 or 3 for lengths 2, 3, 4. */
    uint32_t c = s[0] & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    *cp = c;
    return len;
}

/* Skip the run of ASCII starting at i, eight bytes at a time; returns the new offset. */
static size_t skip_ascii(const unsigned char *s, size_t i, size_t n)
{
    while (n - i >= 8) {
        uint64_t w;
        memcpy(&w, s + i, 8); /* memcpy: unaligned-safe, compiles to one load */
        if (w & HIGH_BITS)
            break;
        i += 8;
    }
    while (i < n && s[i] < 0x80)
        i++;
    return i;
}

/* Lead-byte classes for validation: the length, and which second-byte range applies. */
enum { BAD, ASCII, TWO, THREE, THREE_E0, THREE_ED, FOUR, FOUR_F0, FOUR_F4 };

/* Range designators are a GCC/clang extension; both compilers we support have it. */
static const unsigned char lead_class[256] = {
    [0x00 ... 0x7F] = ASCII, [0x80 ... 0xC1] = BAD, [0xC2 ... 0xDF] = TWO,   [0xE0] = THREE_E0,
    [0xE1 ... 0xEC] = THREE, [0xED] = THREE_ED,     [0xEE ... 0xEF] = THREE, [0xF0] = FOUR_F0,
    [0xF1 ... 0xF3] = FOUR,  [0xF4] = FOUR_F4,      [0xF5 ... 0xFF] = BAD,
};

static inline bool cont(unsigned char b)
{
    return (b & 0xC0) == 0x80;
}

/*
 * Length of the well-formed multi-byte sequence at s[0..n) (s[0] >= 0x80), or 0. One table
 * lookup and range checks: validation needs no code point, and skipping the decode is what
 * makes multi-byte text fast.
 */
static inline size_t multibyte_len(const unsigned char *s, size_t n)
{
    switch (lead_class[s[0]]) {
    case TWO: return n >= 2 && cont(s[1]) ? 2 : 0;
    case THREE: return n >= 3 && cont(s[1]) && cont(s[2]) ? 3 : 0;
    case THREE_E0: return n >= 3 && s[1] >= 0xA0 && s[1] <= 0xBF && cont(s[2]) ? 3 : 0;
    case THREE_ED: return n >= 3 && s[1] >= 0x80 && s[1] <= 0x9F && cont(s[2]) ? 3 : 0;
    case FOUR: return n >= 4 && cont(s[1]) && cont(s[2]) && cont(s[3]) ? 4 : 0;
    case FOUR_F0: return n >= 4 && s[1] >= 0x90 && s[1] <= 0xBF && cont(s[2]) && cont(s[3]) ? 4 : 0;
    case FOUR_F4: return n >= 4 && s[1] >= 0x80 && s[1] <= 0x8F && cont(s[2]) && cont(s[3]) ? 4 : 0;
    default: return 0;
    }
}

size_t st_utf8_valid_prefix(const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            /* A lone ASCII byte between letters (a space) is common: take it here and
             * only start the word-at-a-time skip on a longer run. */
            if (i + 1 < n && s[i + 1] >= 0x80)
                i++;
            else
                i = skip_ascii(s, i, n);
            continue;
        }
        size_t len = multibyte_len(s + i, n - i);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

bool st_utf8_valid(const void *p, size_t n)
{
    return st_utf8_valid_prefix(p, n) == n;
}

size_t st_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0; /* surrogates are not scalar values */
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF)
        return 0;
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
