/*
 * mls_vec.h: helpers shared by the MLS vector tests: suite selection with
 * per-suite skip reasons, and a pool of decoded hex fields freed per case.
 */
#ifndef EK_TEST_MLS_VEC_H
#define EK_TEST_MLS_VEC_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_mls.h>

#include "ek_test.h"

/* The suite of case c, or NULL after recording the case as skipped with a
 * reason naming the suite (suites we do not implement). */
const ek_mls_suite *mls_vec_suite(ek_vec_stats *st, const json_t *c);

/* Decoded hex fields of one case, freed together. */
#define MLS_HEX_POOL_MAX 64
typedef struct mls_hex_pool {
    uint8_t *bufs[MLS_HEX_POOL_MAX];
    size_t n;
} mls_hex_pool;

/* The hex field key of obj (aborts if absent), kept in the pool. */
uint8_t *mls_hex(mls_hex_pool *p, const json_t *obj, const char *key, size_t *len);
/* The field as an ek_mls_bytes view. */
ek_mls_bytes mls_hex_bytes(mls_hex_pool *p, const json_t *obj, const char *key);
void mls_hex_free(mls_hex_pool *p);

/* 1 if (a, alen) equals (b, blen). */
int mls_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
