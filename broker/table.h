/*
 * table.h: a hash table from byte-string keys to pointers.
 *
 * Keys are chosen by clients (peer IDs), so the hash is SipHash-2-4 under a
 * random per-process key: nobody can aim collisions at one bucket. The table
 * stores values only; it asks key_of() for a value's key, so an entry costs
 * 16 bytes of slot and the key is never copied. Open addressing, linear
 * probing, backward-shift deletion, load factor at most 1/2.
 */
#ifndef BK_TABLE_H
#define BK_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef const void *(*bk_key_of_fn)(const void *value, size_t *len);

typedef struct bk_slot {
    uint64_t hash;
    void *value; /* NULL: empty */
} bk_slot;

typedef struct bk_table {
    bk_slot *slots;
    size_t cap; /* power of two */
    size_t count;
    bk_key_of_fn key_of;
    uint64_t k0, k1;
} bk_table;

int bk_table_init(bk_table *t, bk_key_of_fn key_of);
void bk_table_free(bk_table *t);
void *bk_table_get(const bk_table *t, const void *key, size_t len);
/* Insert a value whose key is not present yet. 0 or -1 (out of memory). */
int bk_table_put(bk_table *t, void *value);
/* Remove this exact value (found by its key). */
void bk_table_del(bk_table *t, const void *value);

uint64_t bk_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len);

#endif
