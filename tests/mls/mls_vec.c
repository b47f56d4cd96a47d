/* mls_vec.c: the helpers of mls_vec.h. */
#include "mls_vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const ek_mls_suite *mls_vec_suite(ek_vec_stats *st, const json_t *c)
{
    long long id = ek_test_json_int(c, "cipher_suite");
    const ek_mls_suite *s = ek_mls_suite_get((uint16_t)id);
    if (s != NULL && s->id == id)
        return s;
    /* The reasons are literals, one per suite, so the summary counts the
     * skipped cases suite by suite. */
    switch (id) {
    case 2: ek_vec_skip(st, "suite 2 (P-256/AES-128-GCM/SHA-256/P-256) not implemented"); break;
    case 4: ek_vec_skip(st, "suite 4 (X448/AES-256-GCM/SHA-512/Ed448) not implemented"); break;
    case 5: ek_vec_skip(st, "suite 5 (P-521/AES-256-GCM/SHA-512/P-521) not implemented"); break;
    case 6:
        ek_vec_skip(st, "suite 6 (X448/ChaCha20-Poly1305/SHA-512/Ed448) not implemented");
        break;
    case 7: ek_vec_skip(st, "suite 7 (P-384/AES-256-GCM/SHA-384/P-384) not implemented"); break;
    default: ek_vec_skip(st, "unknown suite not implemented"); break;
    }
    return NULL;
}

uint8_t *mls_hex(mls_hex_pool *p, const json_t *obj, const char *key, size_t *len)
{
    if (p->n == MLS_HEX_POOL_MAX) {
        fprintf(stderr, "mls_hex pool full\n");
        exit(2);
    }
    uint8_t *b = ek_test_json_hex(obj, key, len);
    p->bufs[p->n++] = b;
    return b;
}

ek_mls_bytes mls_hex_bytes(mls_hex_pool *p, const json_t *obj, const char *key)
{
    ek_mls_bytes b;
    b.data = mls_hex(p, obj, key, &b.len);
    return b;
}

void mls_hex_free(mls_hex_pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->bufs[i]);
    p->n = 0;
}

int mls_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}
