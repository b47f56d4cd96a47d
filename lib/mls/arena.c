/*
 * arena.c: the bump allocator behind decoded MLS structures. A decoded
 * message owns many small arrays (extensions, proposals, tree nodes); the
 * arena hands them out from chunks obtained through the ek_allocator hook
 * and releases (and wipes: decrypted content lives here too) all of them in
 * one call. The total is capped at EK_MLS_MAX_ARENA_BYTES so that no input
 * can make a decoder claim unbounded memory.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

/* Bytes in an ordinary chunk; larger requests get a chunk of their own. */
#define ARENA_CHUNK_BYTES 4096u
#define ARENA_ALIGN       16u

struct ek_mls_arena_chunk {
    ek_mls_arena_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    /* Pads the header to ARENA_ALIGN so the data that follows is aligned. */
    uint64_t pad_;
};

static uint8_t *chunk_data(ek_mls_arena_chunk *c)
{
    return (uint8_t *)c + sizeof(*c);
}

void ek_mls_arena_init(ek_mls_arena *a, const ek_allocator *alloc)
{
    a->alloc = alloc;
    a->head = NULL;
    a->total = 0;
}

void *ek_mls_arena_alloc(ek_mls_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > EK_MLS_MAX_ARENA_BYTES)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    ek_mls_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK_BYTES ? n : ARENA_CHUNK_BYTES;
        if (size > EK_MLS_MAX_ARENA_BYTES - a->total)
            return NULL;
        c = ek_alloc(a->alloc, sizeof(*c) + size);
        if (c == NULL)
            return NULL;
        c->size = size;
        c->used = 0;
        a->total += size;
        /* A big private chunk goes behind the head, so the head's free
         * space stays usable for the small requests that follow. */
        if (a->head != NULL && size > ARENA_CHUNK_BYTES) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    uint8_t *p = chunk_data(c) + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

void ek_mls_arena_free(ek_mls_arena *a)
{
    ek_mls_arena_chunk *c = a->head;
    while (c != NULL) {
        ek_mls_arena_chunk *next = c->next;
        size_t size = c->size;
        ek_wipe(chunk_data(c), c->used);
        ek_free(a->alloc, c, sizeof(*c) + size);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
