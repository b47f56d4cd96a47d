/*
 * leaf_validation.c: LeafNode validation (RFC 9420 §7.3) and the checks
 * that relate one leaf to the rest of the group: required capabilities
 * (§11.1), support for the GroupContext extensions (§13.4), credential types
 * supported by every member, and the uniqueness of signature and encryption
 * keys. Signatures can be checked in batches (ek_mls_verify_signed_items).
 */
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "validation.h"

/* Credential types one tree may use at once before we call it abuse. */
#define MAX_CREDENTIAL_TYPES_IN_USE 32

int ek_mls_default_proposal_type(uint16_t type)
{
    return type >= EK_MLS_PROPOSAL_ADD && type <= EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
}

int ek_mls_default_extension_type(uint16_t type)
{
    return type >= EK_MLS_EXT_APPLICATION_ID && type <= EK_MLS_EXT_EXTERNAL_SENDERS;
}

int ek_mls_u16_has(const ek_mls_u16_list *list, uint16_t v)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i] == v)
            return 1;
    return 0;
}

int ek_mls_extensions_check(const ek_mls_extensions *x)
{
    /* Lists are short (EK_MLS_MAX_EXTENSIONS at most): quadratic is fine. */
    for (size_t i = 0; i < x->count; i++)
        for (size_t j = i + 1; j < x->count; j++)
            if (x->items[i].type == x->items[j].type)
                return EK_ERR_DECODE;
    return EK_OK;
}

const ek_mls_extension *ek_mls_extension_find(const ek_mls_extensions *x, uint16_t type)
{
    if (x == NULL)
        return NULL;
    for (size_t i = 0; i < x->count; i++)
        if (x->items[i].type == type)
            return &x->items[i];
    return NULL;
}

/* Extension support: default types always, others only when listed. */
static int supports_extension(const ek_mls_tnode *n, uint16_t type)
{
    return ek_mls_default_extension_type(type) || ek_mls_u16_has(&n->caps.extensions, type);
}

static int supports_proposal(const ek_mls_tnode *n, uint16_t type)
{
    return ek_mls_default_proposal_type(type) || ek_mls_u16_has(&n->caps.proposals, type);
}

/* §11.1 RequiredCapabilities and §13.4 GroupContext extensions. */
static int check_group_requirements(const ek_mls_tnode *n, const ek_mls_extensions *gc,
                                    const ek_allocator *alloc)
{
    if (gc == NULL)
        return EK_OK;
    for (size_t i = 0; i < gc->count; i++)
        if (!supports_extension(n, gc->items[i].type))
            return EK_ERR_UNSUPPORTED;
    const ek_mls_extension *rc = ek_mls_extension_find(gc, EK_MLS_EXT_REQUIRED_CAPABILITIES);
    if (rc == NULL)
        return EK_OK;
    ek_mls_arena a;
    ek_mls_arena_init(&a, alloc);
    ek_mls_u16_list ext, prop, cred;
    ek_reader r;
    ek_reader_init(&r, rc->data.data, rc->data.len);
    (void)ek_mls_read_u16_list(&ext, EK_MLS_MAX_CAPABILITY_ITEMS, &a, &r);
    (void)ek_mls_read_u16_list(&prop, EK_MLS_MAX_CAPABILITY_ITEMS, &a, &r);
    (void)ek_mls_read_u16_list(&cred, EK_MLS_MAX_CAPABILITY_ITEMS, &a, &r);
    int rcode = ek_reader_finish(&r);
    for (size_t i = 0; rcode == EK_OK && i < ext.count; i++)
        if (!supports_extension(n, ext.items[i]))
            rcode = EK_ERR_UNSUPPORTED;
    for (size_t i = 0; rcode == EK_OK && i < prop.count; i++)
        if (!supports_proposal(n, prop.items[i]))
            rcode = EK_ERR_UNSUPPORTED;
    for (size_t i = 0; rcode == EK_OK && i < cred.count; i++)
        if (!ek_mls_u16_has(&n->caps.credentials, cred.items[i]))
            rcode = EK_ERR_UNSUPPORTED;
    ek_mls_arena_free(&a);
    return rcode;
}

int ek_mls_leaf_check(const ek_mls_tnode *n, const ek_mls_leaf_params *p, int expected_source)
{
    if (n == NULL || n->type != EK_MLS_NODE_LEAF || p == NULL || p->suite == NULL)
        return EK_ERR_INVALID_ARG;
    const ek_mls_suite *s = p->suite;
    /* Keys of the suite's sizes (§10: valid for the cipher suite). */
    if (n->encryption_key.len != s->kem_public_len || n->signature_key.len != s->sig_public_len)
        return EK_ERR_DECODE;
    if (expected_source != EK_MLS_LEAF_IN_TREE && n->source != expected_source)
        return EK_ERR_DECODE;
    /* §11: every member supports the group's version and cipher suite;
     * §7.2: the leaf's own credential type is in its capabilities. */
    if (!ek_mls_u16_has(&n->caps.versions, EK_MLS_VERSION_MLS10) ||
        !ek_mls_u16_has(&n->caps.cipher_suites, s->id) ||
        !ek_mls_u16_has(&n->caps.credentials, n->credential_type))
        return EK_ERR_UNSUPPORTED;
    /* §7.2, §7.3: each extension is listed in the capabilities (the default
     * types need not be), and §13.4: no type twice. */
    for (size_t i = 0; i < n->extension_types.count; i++) {
        uint16_t t = n->extension_types.items[i];
        if (!supports_extension(n, t))
            return EK_ERR_UNSUPPORTED;
        for (size_t j = i + 1; j < n->extension_types.count; j++)
            if (n->extension_types.items[j] == t)
                return EK_ERR_DECODE;
    }
    EK_TRY(check_group_requirements(n, p->gc_extensions, p->alloc));
    if (n->source == EK_MLS_LEAF_SOURCE_KEY_PACKAGE) {
        if (n->not_after < n->not_before)
            return EK_ERR_DECODE;
        if (p->max_lifetime_s != 0 && n->not_after - n->not_before > p->max_lifetime_s)
            return EK_ERR_DECODE;
        if (p->now_s != 0 && (p->now_s < n->not_before || p->now_s > n->not_after))
            return EK_ERR_STATE;
        if (p->now_s == 0 && p->now_floor_s > n->not_after)
            return EK_ERR_STATE; /* expired before a time known to have passed */
    }
    if (p->credentials != NULL && p->credentials->validate != NULL) {
        ek_mls_arena a;
        ek_mls_arena_init(&a, p->alloc);
        ek_mls_leaf_node leaf;
        int rc = ek_mls_tnode_leaf(&leaf, &a, n);
        if (rc == EK_OK)
            rc = p->credentials->validate(p->credentials->ctx, &leaf.credential,
                                          n->signature_key.data, n->signature_key.len);
        ek_mls_arena_free(&a);
        if (rc != EK_OK)
            return rc < 0 ? rc : EK_ERR_AUTH;
    }
    return EK_OK;
}

int ek_mls_leaf_sign_content(ek_writer *w, const ek_mls_tnode *n, const uint8_t *group_id,
                             size_t group_id_len, uint32_t leaf_index)
{
    static const char label[] = "MLS 1.0 LeafNodeTBS";
    int in_group = n->source == EK_MLS_LEAF_SOURCE_UPDATE || n->source == EK_MLS_LEAF_SOURCE_COMMIT;
    (void)ek_mls_write_opaque(w, label, sizeof(label) - 1);
    size_t mark = ek_mls_vector_begin(w);
    (void)ek_write_bytes(w, n->enc, n->tbs_len);
    if (in_group) {
        (void)ek_mls_write_opaque(w, group_id, group_id_len);
        (void)ek_write_u32(w, leaf_index);
    }
    return ek_mls_vector_end(w, mark);
}

int ek_mls_leaf_verify(const ek_mls_tnode *n, const ek_mls_suite *s, const uint8_t *group_id,
                       size_t group_id_len, uint32_t leaf_index, const ek_allocator *alloc)
{
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    int rc = ek_mls_leaf_sign_content(&w, n, group_id, group_id_len, leaf_index);
    if (rc == EK_OK)
        rc = s->verify(n->signature.data, n->signature.len, n->signature_key.data,
                       n->signature_key.len, w.buf, w.len) == EK_OK
                 ? EK_OK
                 : EK_ERR_AUTH;
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_verify_signed_items(const ek_mls_suite *s, const ek_mls_signed_item *items, size_t n,
                               const ek_allocator *alloc)
{
    if (n == 0)
        return EK_OK;
    /* One signature: the single check is as fast and exactly libsodium's. */
    if (s->verify_batch != NULL && n > 1) {
        int rc = s->verify_batch(items, n, alloc);
        return rc == EK_OK || rc == EK_ERR_NOMEM ? rc : EK_ERR_AUTH;
    }
    for (size_t i = 0; i < n; i++)
        if (s->verify(items[i].sig, items[i].sig_len, items[i].pub, items[i].pub_len, items[i].msg,
                      items[i].msg_len) != EK_OK)
            return EK_ERR_AUTH;
    return EK_OK;
}

int ek_mls_tree_check_credential_types(const ek_mls_tree *t)
{
    uint16_t in_use[MAX_CREDENTIAL_TYPES_IN_USE];
    size_t n_in_use = 0;
    for (uint32_t l = 0; l < t->n_leaves; l++) {
        const ek_mls_tnode *n = t->nodes[(size_t)2 * l];
        if (n == NULL)
            continue;
        size_t k = 0;
        while (k < n_in_use && in_use[k] != n->credential_type)
            k++;
        if (k == n_in_use) {
            if (n_in_use == MAX_CREDENTIAL_TYPES_IN_USE)
                return EK_ERR_LIMIT;
            in_use[n_in_use++] = n->credential_type;
        }
    }
    for (uint32_t l = 0; l < t->n_leaves; l++) {
        const ek_mls_tnode *n = t->nodes[(size_t)2 * l];
        if (n == NULL)
            continue;
        for (size_t k = 0; k < n_in_use; k++)
            if (!ek_mls_u16_has(&n->caps.credentials, in_use[k]))
                return EK_ERR_UNSUPPORTED;
    }
    return EK_OK;
}

static int cmp_bytes(const void *a, const void *b)
{
    const ek_mls_bytes *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->len == 0 ? 0 : memcmp(x->data, y->data, x->len);
}

/* Sort the keys and look for neighbours that are equal. */
static int all_distinct(ek_mls_bytes *keys, size_t n)
{
    if (n < 2)
        return EK_OK;
    qsort(keys, n, sizeof(*keys), cmp_bytes);
    for (size_t i = 1; i < n; i++)
        if (cmp_bytes(&keys[i - 1], &keys[i]) == 0)
            return EK_ERR_DECODE;
    return EK_OK;
}

int ek_mls_tree_check_unique_keys(const ek_mls_tree *t)
{
    uint32_t width = ek_mls_tree_nodes(t);
    size_t bytes = (size_t)width * sizeof(ek_mls_bytes);
    ek_mls_bytes *keys = ek_alloc(t->alloc, bytes);
    if (keys == NULL)
        return EK_ERR_NOMEM;
    size_t n = 0;
    for (uint32_t i = 0; i < width; i++)
        if (t->nodes[i] != NULL)
            keys[n++] = t->nodes[i]->encryption_key;
    int rc = all_distinct(keys, n);
    if (rc == EK_OK) {
        n = 0;
        for (uint32_t l = 0; l < t->n_leaves; l++)
            if (t->nodes[(size_t)2 * l] != NULL)
                keys[n++] = t->nodes[(size_t)2 * l]->signature_key;
        rc = all_distinct(keys, n);
    }
    ek_free(t->alloc, keys, bytes);
    return rc;
}
