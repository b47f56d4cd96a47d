/*
 * epoch.c: one epoch of a group's state (RFC 9420 §8): its tree, the
 * GroupContext (§8.1) kept encoded, transcript hashes (§8.2), epoch
 * secrets, the secret tree (§9), the private keys of the own path and the
 * proposals cached in the epoch (§12.1). Forking an epoch for the next one
 * shares the tree's nodes (tree.h), so it costs one array copy.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "group_internal.h"

int ek_mls_epoch_new(ek_mls_epoch **out, const ek_allocator *a)
{
    ek_mls_epoch *e = ek_alloc(a, sizeof(*e));
    if (e == NULL)
        return EK_ERR_NOMEM;
    memset(e, 0, sizeof(*e));
    e->committer = EK_MLS_NO_LEAF;
    *out = e;
    return EK_OK;
}

void ek_mls_leaf_list_free(ek_mls_leaf_list *l, const ek_allocator *a)
{
    if (l->items != NULL)
        ek_free(a, l->items, l->count * sizeof(uint32_t));
    l->items = NULL;
    l->count = 0;
}

int ek_mls_leaf_list_set(ek_mls_leaf_list *l, const ek_allocator *a, const uint32_t *items,
                         size_t n)
{
    uint32_t *copy = NULL;
    if (n > 0) {
        copy = ek_alloc(a, n * sizeof(uint32_t));
        if (copy == NULL)
            return EK_ERR_NOMEM;
        memcpy(copy, items, n * sizeof(uint32_t));
    }
    ek_mls_leaf_list_free(l, a);
    l->items = copy;
    l->count = n;
    return EK_OK;
}

int ek_mls_leaf_list_has(const ek_mls_leaf_list *l, uint32_t leaf)
{
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i] == leaf)
            return 1;
    return 0;
}

static void free_bytes(const ek_allocator *a, uint8_t **p, size_t *len)
{
    if (*p != NULL) {
        ek_wipe(*p, *len);
        ek_free(a, *p, *len);
    }
    *p = NULL;
    *len = 0;
}

static void free_proposals(ek_mls_epoch *e, const ek_allocator *a)
{
    for (size_t i = 0; i < e->proposal_count; i++) {
        ek_mls_cached_proposal *p = &e->proposals[i];
        free_bytes(a, &p->enc, &p->enc_len);
        ek_wipe(p, sizeof(*p));
    }
    if (e->proposals != NULL)
        ek_free(a, e->proposals, e->proposal_cap * sizeof(*e->proposals));
    e->proposals = NULL;
    e->proposal_count = e->proposal_cap = 0;
}

void ek_mls_encoded_list_free(ek_mls_encoded_list *l, const ek_allocator *a)
{
    for (size_t i = 0; i < l->count; i++) {
        ek_wipe(l->items[i], l->lens[i] ? l->lens[i] : 1);
        ek_free(a, l->items[i], l->lens[i] ? l->lens[i] : 1);
    }
    if (l->items != NULL)
        ek_free(a, l->items, l->cap * sizeof(uint8_t *));
    if (l->lens != NULL)
        ek_free(a, l->lens, l->cap * sizeof(size_t));
    memset(l, 0, sizeof(*l));
}

int ek_mls_encoded_list_push(ek_mls_encoded_list *l, const ek_allocator *a, const uint8_t *p,
                             size_t n)
{
    uint8_t *c = ek_alloc(a, n ? n : 1);
    if (c == NULL)
        return EK_ERR_NOMEM;
    if (l->count == l->cap) {
        /* Both arrays are replaced together, or neither is. */
        size_t ncap = l->cap ? l->cap * 2 : 4;
        uint8_t **items = ek_alloc(a, ncap * sizeof(uint8_t *));
        size_t *lens = ek_alloc(a, ncap * sizeof(size_t));
        if (items == NULL || lens == NULL) {
            if (items != NULL)
                ek_free(a, items, ncap * sizeof(uint8_t *));
            if (lens != NULL)
                ek_free(a, lens, ncap * sizeof(size_t));
            ek_free(a, c, n ? n : 1);
            return EK_ERR_NOMEM;
        }
        if (l->count > 0) {
            memcpy(items, l->items, l->count * sizeof(uint8_t *));
            memcpy(lens, l->lens, l->count * sizeof(size_t));
        }
        if (l->items != NULL)
            ek_free(a, l->items, l->cap * sizeof(uint8_t *));
        if (l->lens != NULL)
            ek_free(a, l->lens, l->cap * sizeof(size_t));
        l->items = items;
        l->lens = lens;
        l->cap = ncap;
    }
    if (n > 0)
        memcpy(c, p, n);
    l->items[l->count] = c;
    l->lens[l->count] = n;
    l->count++;
    return EK_OK;
}

void ek_mls_epoch_free(ek_mls_epoch *e, const ek_allocator *a)
{
    if (e == NULL)
        return;
    ek_mls_encoded_list_free(&e->own_inline, a);
    ek_mls_leaf_list_free(&e->removed, a);
    ek_mls_leaf_list_free(&e->owed, a);
    ek_mls_tree_free(&e->tree);
    free_bytes(a, &e->gc_ext, &e->gc_ext_len);
    free_bytes(a, &e->gc, &e->gc_len);
    ek_mls_secret_tree_free(&e->st);
    free_proposals(e, a);
    ek_wipe(e, sizeof(*e));
    ek_free(a, e, sizeof(*e));
}

static int copy_bytes(uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len,
                      const ek_allocator *a)
{
    *dst = NULL;
    *dst_len = 0;
    if (len == 0)
        return EK_OK;
    *dst = ek_alloc(a, len);
    if (*dst == NULL)
        return EK_ERR_NOMEM;
    memcpy(*dst, src, len);
    *dst_len = len;
    return EK_OK;
}

int ek_mls_epoch_fork(ek_mls_epoch **out, const ek_mls_epoch *e, const ek_allocator *a)
{
    ek_mls_epoch *n = NULL;
    EK_TRY(ek_mls_epoch_new(&n, a));
    n->epoch = e->epoch;
    n->own_leaf = e->own_leaf;
    n->confirmed_len = e->confirmed_len;
    memcpy(n->confirmed, e->confirmed, sizeof(n->confirmed));
    memcpy(n->interim, e->interim, sizeof(n->interim));
    memcpy(n->tree_hash, e->tree_hash, sizeof(n->tree_hash));
    n->ring = e->ring;
    int rc = ek_mls_tree_clone(&n->tree, &e->tree);
    if (rc == EK_OK)
        rc = copy_bytes(&n->gc_ext, &n->gc_ext_len, e->gc_ext, e->gc_ext_len, a);
    if (rc != EK_OK) {
        ek_mls_epoch_free(n, a);
        return rc;
    }
    *out = n;
    return EK_OK;
}

int ek_mls_epoch_set_extensions(ek_mls_epoch *e, const ek_allocator *a,
                                const ek_mls_extensions *ext)
{
    ek_mls_extensions none = {0};
    ek_writer w;
    ek_writer_init_growable(&w, a);
    int rc = ek_mls_write_extensions(&w, ext != NULL ? ext : &none);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (rc == EK_OK)
        rc = copy_bytes(&buf, &len, w.buf, w.len, a);
    ek_writer_dispose(&w);
    if (rc != EK_OK)
        return rc;
    free_bytes(a, &e->gc_ext, &e->gc_ext_len);
    e->gc_ext = buf;
    e->gc_ext_len = len;
    return EK_OK;
}

int ek_mls_epoch_extensions(ek_mls_extensions *out, ek_mls_arena *arena, const ek_mls_epoch *e)
{
    static const uint8_t empty[1] = {0};
    ek_reader r;
    if (e->gc_ext_len == 0)
        ek_reader_init(&r, empty, sizeof(empty));
    else
        ek_reader_init(&r, e->gc_ext, e->gc_ext_len);
    EK_TRY(ek_mls_read_extensions(out, arena, &r));
    return ek_reader_finish(&r);
}

int ek_mls_epoch_refresh_context(ek_mls_epoch *e, const ek_mls_group *g)
{
    const ek_mls_suite *s = g->suite;
    EK_TRY(ek_mls_tree_root_hash(e->tree_hash, &e->tree));
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    (void)ek_write_u16(&w, EK_MLS_VERSION_MLS10);
    (void)ek_write_u16(&w, s->id);
    (void)ek_mls_write_opaque(&w, g->group_id, g->group_id_len);
    (void)ek_write_u64(&w, e->epoch);
    (void)ek_mls_write_opaque(&w, e->tree_hash, s->hash_len);
    (void)ek_mls_write_opaque(&w, e->confirmed_len > 0 ? e->confirmed : NULL, e->confirmed_len);
    if (e->gc_ext_len == 0)
        (void)ek_write_u8(&w, 0);
    else
        (void)ek_write_bytes(&w, e->gc_ext, e->gc_ext_len);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = w.err;
    if (rc == EK_OK)
        rc = copy_bytes(&buf, &len, w.buf, w.len, g->alloc);
    ek_writer_dispose(&w);
    if (rc != EK_OK)
        return rc;
    free_bytes(g->alloc, &e->gc, &e->gc_len);
    e->gc = buf;
    e->gc_len = len;
    return EK_OK;
}

int ek_mls_epoch_start_secret_tree(ek_mls_epoch *e, const ek_mls_group *g)
{
    ek_mls_secret_tree_free(&e->st);
    return ek_mls_secret_tree_init(&e->st, g->suite, g->alloc, e->secrets.encryption_secret,
                                   e->tree.n_leaves);
}

int ek_mls_epoch_cache_proposal(ek_mls_epoch *e, const ek_allocator *a,
                                const ek_mls_cached_proposal *p)
{
    for (size_t i = 0; i < e->proposal_count; i++)
        if (memcmp(e->proposals[i].ref, p->ref, sizeof(p->ref)) == 0)
            return EK_OK; /* already cached (a duplicate delivery) */
    if (e->proposal_count == EK_MLS_MAX_CACHED_PROPOSALS)
        return EK_ERR_LIMIT;
    /* The copy first: a failure leaves nothing allocated. */
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    EK_TRY(copy_bytes(&enc, &enc_len, p->enc, p->enc_len, a));
    if (e->proposal_count == e->proposal_cap) {
        size_t ncap = e->proposal_cap ? e->proposal_cap * 2 : 8;
        ek_mls_cached_proposal *n =
            ek_realloc(a, e->proposals, e->proposal_cap * sizeof(*n), ncap * sizeof(*n));
        if (n == NULL) {
            free_bytes(a, &enc, &enc_len);
            return EK_ERR_NOMEM;
        }
        e->proposals = n;
        e->proposal_cap = ncap;
    }
    ek_mls_cached_proposal *dst = &e->proposals[e->proposal_count];
    *dst = *p;
    dst->enc = enc;
    dst->enc_len = enc_len;
    e->proposal_count++;
    return EK_OK;
}

void ek_mls_epoch_uncache_since(ek_mls_epoch *e, const ek_allocator *a, size_t count)
{
    while (e->proposal_count > count) {
        ek_mls_cached_proposal *p = &e->proposals[--e->proposal_count];
        free_bytes(a, &p->enc, &p->enc_len);
        ek_wipe(p, sizeof(*p));
    }
}

const ek_mls_cached_proposal *ek_mls_epoch_find_proposal(const ek_mls_epoch *e, const uint8_t *ref,
                                                         size_t ref_len)
{
    for (size_t i = 0; i < e->proposal_count; i++)
        if (ref_len <= sizeof(e->proposals[i].ref) &&
            memcmp(e->proposals[i].ref, ref, ref_len) == 0)
            return &e->proposals[i];
    return NULL;
}

int ek_mls_group_accept_params(ek_mls_leaf_params *lp, const ek_mls_group *g)
{
    if (g->now_s == 0 && g->clock_floor_s == 0)
        return EK_ERR_STATE;
    lp->now_s = g->now_s;
    lp->now_floor_s = g->clock_floor_s;
    return EK_OK;
}

void ek_mls_epoch_leaf_params(ek_mls_leaf_params *p, const ek_mls_group *g,
                              const ek_mls_extensions *ext)
{
    memset(p, 0, sizeof(*p));
    p->suite = g->suite;
    p->group_id = g->group_id;
    p->group_id_len = g->group_id_len;
    p->gc_extensions = ext;
    p->now_s = g->now_s;
    p->max_lifetime_s = g->cfg.max_lifetime_s == UINT64_MAX ? 0
                        : g->cfg.max_lifetime_s == 0        ? EK_MLS_DEFAULT_MAX_LIFETIME_S
                                                            : g->cfg.max_lifetime_s;
    p->credentials = g->cfg.credentials.validate != NULL ? &g->cfg.credentials : NULL;
    p->alloc = g->alloc;
}
