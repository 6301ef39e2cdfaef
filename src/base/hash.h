/*
 * hash.h - keyed hashing for hash tables.
 *
 * SipHash-1-3 (Aumasson and Bernstein, "SipHash: a fast short-input PRF"), keyed with a
 * random 128-bit secret per process: a client that picks keys cannot predict collisions
 * and turn a hash table into a list (hash flooding). Deterministic tests may fix the key.
 */
#ifndef ST_BASE_HASH_H
#define ST_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-1-3 of p[0..n) under the 16-byte key k. */
uint64_t st_siphash13(const void *p, size_t n, const uint8_t k[16]);

/* Hash with the process key (randomized on first use from getrandom()). */
uint64_t st_hash(const void *p, size_t n);
/* Case-insensitive (ASCII) variant: equal under st_str_ieq means equal hashes. */
uint64_t st_hash_nocase(const void *p, size_t n);

/* Replace the process key (tests, reproducible benchmarks). */
void st_hash_set_key(const uint8_t k[16]);

#endif
