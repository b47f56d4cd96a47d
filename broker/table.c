/*
 * table.c: the broker's hash table (see table.h) and SipHash-2-4, written
 * from the SipHash paper (Aumasson and Bernstein, 2012).
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t bk_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = len & ~(size_t)7;

    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

int bk_table_init(bk_table *t, bk_key_of_fn key_of)
{
    uint64_t k[2];
    memset(t, 0, sizeof *t);
    if (RAND_bytes((unsigned char *)k, sizeof k) != 1)
        return -1;
    t->k0 = k[0];
    t->k1 = k[1];
    t->key_of = key_of;
    t->cap = 16;
    t->slots = calloc(t->cap, sizeof *t->slots);
    return t->slots ? 0 : -1;
}

void bk_table_free(bk_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}

static int key_equal(const bk_table *t, const void *value, const void *key, size_t len)
{
    size_t vlen;
    const void *vkey = t->key_of(value, &vlen);
    return vlen == len && memcmp(vkey, key, len) == 0;
}

void *bk_table_get(const bk_table *t, const void *key, size_t len)
{
    uint64_t h = bk_siphash(t->k0, t->k1, key, len);
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const bk_slot *s = &t->slots[i];
        if (!s->value)
            return NULL;
        if (s->hash == h && key_equal(t, s->value, key, len))
            return s->value;
    }
}

static void place(bk_slot *slots, size_t cap, uint64_t h, void *value)
{
    size_t mask = cap - 1;
    size_t i = (size_t)h & mask;
    while (slots[i].value)
        i = (i + 1) & mask;
    slots[i].hash = h;
    slots[i].value = value;
}

static int grow(bk_table *t)
{
    size_t cap = t->cap * 2;
    bk_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].value)
            place(slots, cap, t->slots[i].hash, t->slots[i].value);
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

int bk_table_put(bk_table *t, void *value)
{
    if ((t->count + 1) * 2 > t->cap && grow(t))
        return -1;
    size_t len;
    const void *key = t->key_of(value, &len);
    place(t->slots, t->cap, bk_siphash(t->k0, t->k1, key, len), value);
    t->count++;
    return 0;
}

void bk_table_del(bk_table *t, const void *value)
{
    size_t len;
    const void *key = t->key_of(value, &len);
    uint64_t h = bk_siphash(t->k0, t->k1, key, len);
    size_t mask = t->cap - 1;
    size_t i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        if (!t->slots[i].value)
            return; /* not present */
        if (t->slots[i].value == value)
            break;
    }
    /* Backward-shift: pull later members of the probe run into the hole so
     * lookups never need tombstones. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; t->slots[j].value; j = (j + 1) & mask) {
        size_t home = (size_t)t->slots[j].hash & mask;
        /* j may move to hole if home is not cyclically in (hole, j]. */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole].value = NULL;
    t->slots[hole].hash = 0;
    t->count--;
}
