/*
 * utf8.h - strict UTF-8 validation (RFC 3629).
 *
 * Rejects overlong encodings, UTF-16 surrogates (U+D800..U+DFFF), code points above
 * U+10FFFF, stray continuation bytes and truncated sequences. NUL bytes are valid UTF-8;
 * callers that forbid them check separately.
 */
#ifndef ST_BASE_UTF8_H
#define ST_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if p[0..n) is entirely valid UTF-8. */
bool st_utf8_valid(const void *p, size_t n);

/* Length of the longest valid prefix of p[0..n): equals n when everything is valid, else
 * the offset where the first invalid or truncated sequence starts (for error messages). */
size_t st_utf8_valid_prefix(const void *p, size_t n);

/*
 * Decode one code point from p[0..n) (n >= 1). Returns its byte length (1..4) and sets
 * *cp; returns 0 for an invalid or truncated sequence.
 */
size_t st_utf8_decode(const void *p, size_t n, uint32_t *cp);

/* Encode cp (must be a scalar value) into out[4]; returns 1..4, or 0 if cp is invalid. */
size_t st_utf8_encode(uint32_t cp, char out[4]);

#endif
