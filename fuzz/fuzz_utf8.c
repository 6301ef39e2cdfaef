/*
 * fuzz_utf8.c - libFuzzer target for the UTF-8 validator.
 *
 * The oracle is a second decoder written straight from the definition in RFC 3629: take
 * the bit pattern of the lead byte, collect the continuation bits, then reject what is
 * overlong, a surrogate or past U+10FFFF. The library instead narrows the range of the
 * second byte, so the two share no logic. Checked on every input:
 *   - st_utf8_decode agrees with the oracle at every offset (so the bytes after a first
 *     error are checked too), and each decoded code point re-encodes to exactly the bytes
 *     it came from;
 *   - st_utf8_valid_prefix stops where that walk stopped, st_utf8_valid says the same,
 *     and the prefix itself is valid;
 *   - each 4-byte group, read as a code point, encodes and decodes back, or is refused
 *     exactly when it is not a scalar value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/utf8.h"

static size_t ref_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0)
        len = 2, min = 0x80, c = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0)
        len = 3, min = 0x800, c = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0)
        len = 4, min = 0x10000, c = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Decode at offset i with both decoders and compare; returns the length (0: invalid). */
static size_t decode_both(const uint8_t *data, size_t size, size_t i)
{
    uint32_t cp = 0, ref = 0;
    size_t len = st_utf8_decode(data + i, size - i, &cp);
    CHECK(len == ref_decode(data + i, size - i, &ref));
    if (len) {
        char enc[4];
        CHECK(cp == ref);
        CHECK(st_utf8_encode(cp, enc) == len && memcmp(enc, data + i, len) == 0);
    }
    return len;
}

/* Walk the input sequence by sequence; returns where decoding stopped. */
static size_t walk(const uint8_t *data, size_t size)
{
    size_t i = 0, len;
    while (i < size && (len = decode_both(data, size, i)) > 0)
        i += len;
    return i;
}

static void round_trip(uint32_t cp)
{
    char enc[4];
    uint32_t back = 0;
    size_t n = st_utf8_encode(cp, enc);
    if (n == 0) {
        CHECK(cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF));
        return;
    }
    CHECK(st_utf8_valid(enc, n));
    CHECK(st_utf8_decode(enc, n, &back) == n && back == cp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t stop = walk(data, size);
    CHECK(st_utf8_valid_prefix(data, size) == stop);
    CHECK(st_utf8_valid(data, size) == (stop == size));
    CHECK(st_utf8_valid(data, stop));
    for (size_t i = 0; i < size; i++)
        decode_both(data, size, i);
    for (size_t i = 0; i + 4 <= size; i += 4) {
        uint32_t cp;
        memcpy(&cp, data + i, 4);
        round_trip(cp);
        round_trip(cp & 0x1FFFFF); /* mostly in and near the Unicode range */
    }
    return 0;
}
