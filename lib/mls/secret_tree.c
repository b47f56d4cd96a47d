/*
 * secret_tree.c: the secret tree of an epoch and its per-sender ratchets
 * (RFC 9420 §9, §9.1) with the deletion schedule of §9.2 and the limits of
 * §15.3:
 *   - a node's secret is wiped once both children are derived, a leaf's
 *     once its handshake and application ratchets are;
 *   - a ratchet secret is replaced by the next one as soon as it is used,
 *     and a key/nonce is never kept once it protected or opened a message;
 *   - keys of skipped generations are kept for out-of-order messages, at
 *     most EK_MLS_MAX_SKIPPED_KEYS per ratchet (the oldest is evicted), and
 *     one message can move a ratchet at most EK_MLS_MAX_GENERATION_JUMP.
 * Receiving is two-step (peek, then consume once the message verified), so
 * a forged message changes no state: peeking at a ratchet not yet derived
 * derives its secret on the side, storing and deleting nothing.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"

static uint32_t padded_leaves(uint32_t n)
{
    uint32_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

static uint8_t *node_secret(ek_mls_secret_tree *st, uint32_t node)
{
    return st->node_secrets + (size_t)node * st->suite->hash_len;
}

static size_t ratchet_array_bytes(uint32_t n_leaves)
{
    return (size_t)2 * n_leaves * sizeof(ek_mls_ratchet);
}

static size_t skipped_array_bytes(void)
{
    return (size_t)EK_MLS_MAX_SKIPPED_KEYS * sizeof(ek_mls_key_nonce);
}

void ek_mls_secret_tree_free(ek_mls_secret_tree *st)
{
    if (st == NULL || st->suite == NULL)
        return;
    uint32_t width = ek_mls_tree_width(st->n_leaves);
    if (st->ratchets != NULL) {
        for (size_t i = 0; i < (size_t)2 * st->n_leaves; i++) {
            ek_mls_ratchet *r = &st->ratchets[i];
            if (r->skipped != NULL) {
                ek_wipe(r->skipped, skipped_array_bytes());
                ek_free(st->alloc, r->skipped, skipped_array_bytes());
            }
        }
        ek_wipe(st->ratchets, ratchet_array_bytes(st->n_leaves));
        ek_free(st->alloc, st->ratchets, ratchet_array_bytes(st->n_leaves));
    }
    if (st->node_secrets != NULL) {
        ek_wipe(st->node_secrets, (size_t)width * st->suite->hash_len);
        ek_free(st->alloc, st->node_secrets, (size_t)width * st->suite->hash_len);
    }
    ek_free(st->alloc, st->node_present, width);
    memset(st, 0, sizeof(*st));
}

int ek_mls_secret_tree_init(ek_mls_secret_tree *st, const ek_mls_suite *s,
                            const ek_allocator *alloc, const uint8_t *encryption_secret,
                            uint32_t n_leaves)
{
    if (st == NULL)
        return EK_ERR_INVALID_ARG;
    memset(st, 0, sizeof(*st));
    if (s == NULL || encryption_secret == NULL || n_leaves == 0 || n_leaves > EK_MLS_MAX_LEAVES ||
        s->hash_len > EK_MLS_MAX_HASH_LEN || s->aead_key_len > EK_MLS_MAX_AEAD_KEY_LEN ||
        s->aead_nonce_len != EK_MLS_AEAD_NONCE_LEN)
        return EK_ERR_INVALID_ARG;
    st->suite = s;
    st->alloc = alloc;
    st->n_leaves = padded_leaves(n_leaves);
    uint32_t width = ek_mls_tree_width(st->n_leaves);
    size_t nh = s->hash_len;
    st->node_secrets = ek_alloc(alloc, (size_t)width * nh);
    st->node_present = ek_alloc(alloc, width);
    st->ratchets = ek_alloc(alloc, ratchet_array_bytes(st->n_leaves));
    if (st->node_secrets == NULL || st->node_present == NULL || st->ratchets == NULL) {
        ek_mls_secret_tree_free(st);
        return EK_ERR_NOMEM;
    }
    memset(st->node_secrets, 0, (size_t)width * nh);
    memset(st->node_present, 0, width);
    memset(st->ratchets, 0, ratchet_array_bytes(st->n_leaves));
    uint32_t root = ek_mls_tree_root(st->n_leaves);
    memcpy(node_secret(st, root), encryption_secret, nh);
    st->node_present[root] = 1;
    return EK_OK;
}

/* Figure 25: tree_node_[left(N)] = ExpandWithLabel(N, "tree", "left", Nh),
 * likewise "right"; N is wiped once both exist (§9.2). */
static int derive_children(ek_mls_secret_tree *st, uint32_t parent)
{
    const ek_mls_suite *s = st->suite;
    uint32_t left, right;
    EK_TRY(ek_mls_tree_left(&left, parent));
    EK_TRY(ek_mls_tree_right(&right, parent));
    EK_TRY(ek_mls_expand_with_label(node_secret(st, left), s->hash_len, s, node_secret(st, parent),
                                    s->hash_len, "tree", 4, "left", 4));
    EK_TRY(ek_mls_expand_with_label(node_secret(st, right), s->hash_len, s, node_secret(st, parent),
                                    s->hash_len, "tree", 4, "right", 5));
    st->node_present[left] = 1;
    st->node_present[right] = 1;
    ek_wipe(node_secret(st, parent), s->hash_len);
    st->node_present[parent] = 0;
    return EK_OK;
}

/* Make leaf's two ratchets live (Figure 26), deriving down from the lowest
 * ancestor whose secret is still held. Only secrets that were about to be
 * needed are derived; nothing a later message needs is lost. */
static int derive_leaf(ek_mls_secret_tree *st, uint32_t leaf)
{
    const ek_mls_suite *s = st->suite;
    ek_mls_ratchet *hs = &st->ratchets[2 * (size_t)leaf + EK_MLS_RATCHET_HANDSHAKE];
    ek_mls_ratchet *app = &st->ratchets[2 * (size_t)leaf + EK_MLS_RATCHET_APPLICATION];
    if (hs->live)
        return EK_OK;
    uint32_t path[EK_MLS_MAX_TREE_DEPTH + 1];
    size_t len = 0;
    path[0] = 2 * leaf;
    EK_TRY(ek_mls_tree_direct_path(path + 1, &len, 2 * leaf, st->n_leaves));
    len++;
    size_t start = len;
    for (size_t i = 0; i < len; i++) {
        if (st->node_present[path[i]]) {
            start = i;
            break;
        }
    }
    if (start == len)
        return EK_ERR_STATE; /* cannot happen: some node on the path is held */
    for (size_t i = start; i > 0; i--)
        EK_TRY(derive_children(st, path[i]));
    uint8_t *leaf_secret = node_secret(st, path[0]);
    EK_TRY(ek_mls_expand_with_label(hs->secret, s->hash_len, s, leaf_secret, s->hash_len,
                                    "handshake", 9, NULL, 0));
    EK_TRY(ek_mls_expand_with_label(app->secret, s->hash_len, s, leaf_secret, s->hash_len,
                                    "application", 11, NULL, 0));
    ek_wipe(leaf_secret, s->hash_len);
    st->node_present[path[0]] = 0;
    hs->live = app->live = 1;
    return EK_OK;
}

static int get_ratchet(ek_mls_ratchet **out, ek_mls_secret_tree *st, uint32_t leaf, int type)
{
    if (st == NULL || st->suite == NULL || leaf >= st->n_leaves ||
        (type != EK_MLS_RATCHET_HANDSHAKE && type != EK_MLS_RATCHET_APPLICATION))
        return EK_ERR_INVALID_ARG;
    EK_TRY(derive_leaf(st, leaf));
    *out = &st->ratchets[2 * (size_t)leaf + (size_t)type];
    return EK_OK;
}

/* §9.1: key and nonce of generation g from ratchet_secret_[g]. */
static int key_nonce_at(ek_mls_key_nonce *out, const ek_mls_suite *s, const uint8_t *secret,
                        uint32_t g)
{
    memset(out, 0, sizeof(*out));
    out->generation = g;
    int rc = ek_mls_derive_tree_secret(out->key, s->aead_key_len, s, secret, "key", g);
    if (rc == EK_OK)
        rc = ek_mls_derive_tree_secret(out->nonce, s->aead_nonce_len, s, secret, "nonce", g);
    if (rc != EK_OK)
        ek_wipe(out, sizeof(*out));
    return rc;
}

/* ratchet_secret_[g+1] = DeriveTreeSecret(ratchet_secret_[g], "secret", g,
 * Nh), in place; the old secret is gone afterwards. */
static int advance_secret(const ek_mls_suite *s, uint8_t *secret, uint32_t g)
{
    uint8_t next[EK_MLS_MAX_HASH_LEN];
    int rc = ek_mls_derive_tree_secret(next, s->hash_len, s, secret, "secret", g);
    if (rc == EK_OK)
        memcpy(secret, next, s->hash_len);
    ek_wipe(next, sizeof(next));
    return rc;
}

/* Step past generation g (the ratchet's next one) without keeping its key. */
static int step_past(const ek_mls_suite *s, ek_mls_ratchet *r, uint32_t g)
{
    if (g == UINT32_MAX) {
        ek_wipe(r->secret, sizeof(r->secret));
        r->exhausted = 1;
        return EK_OK;
    }
    EK_TRY(advance_secret(s, r->secret, g));
    r->next = g + 1;
    return EK_OK;
}

static int find_skipped(const ek_mls_ratchet *r, uint32_t g)
{
    for (int i = 0; i < (int)r->skipped_count; i++)
        if (r->skipped[i].generation == g)
            return i;
    return -1;
}

static void drop_skipped(ek_mls_ratchet *r, int i)
{
    ek_wipe(&r->skipped[i], sizeof(r->skipped[i]));
    memmove(&r->skipped[i], &r->skipped[i + 1],
            (size_t)(r->skipped_count - 1 - i) * sizeof(r->skipped[0]));
    r->skipped_count--;
    ek_wipe(&r->skipped[r->skipped_count], sizeof(r->skipped[0]));
}

int ek_mls_secret_tree_next(ek_mls_key_nonce *out, ek_mls_secret_tree *st, uint32_t leaf,
                            int ratchet)
{
    ek_mls_ratchet *r;
    if (out == NULL)
        return EK_ERR_INVALID_ARG;
    EK_TRY(get_ratchet(&r, st, leaf, ratchet));
    if (r->exhausted)
        return EK_ERR_LIMIT;
    EK_TRY(key_nonce_at(out, st->suite, r->secret, r->next));
    int rc = step_past(st->suite, r, r->next);
    if (rc != EK_OK)
        ek_wipe(out, sizeof(*out));
    return rc;
}

/* The first secret of a ratchet that is not live yet, derived on the side
 * (nothing stored, nothing deleted): peeking changes no state. */
static int ratchet_secret_aside(uint8_t *out, ek_mls_secret_tree *st, uint32_t leaf, int type)
{
    const ek_mls_suite *s = st->suite;
    uint32_t path[EK_MLS_MAX_TREE_DEPTH + 1];
    size_t len = 0;
    path[0] = 2 * leaf;
    EK_TRY(ek_mls_tree_direct_path(path + 1, &len, 2 * leaf, st->n_leaves));
    len++;
    size_t start = len;
    for (size_t i = 0; i < len && start == len; i++)
        if (st->node_present[path[i]])
            start = i;
    if (start == len)
        return EK_ERR_STATE;
    uint8_t cur[EK_MLS_MAX_HASH_LEN], next[EK_MLS_MAX_HASH_LEN];
    memcpy(cur, node_secret(st, path[start]), s->hash_len);
    int rc = EK_OK;
    for (size_t i = start; i > 0 && rc == EK_OK; i--) {
        int left = path[i - 1] < path[i];
        rc = ek_mls_expand_with_label(next, s->hash_len, s, cur, s->hash_len, "tree", 4,
                                      left ? "left" : "right", left ? 4 : 5);
        memcpy(cur, next, s->hash_len);
    }
    if (rc == EK_OK)
        rc = type == EK_MLS_RATCHET_HANDSHAKE
                 ? ek_mls_expand_with_label(out, s->hash_len, s, cur, s->hash_len, "handshake", 9,
                                            NULL, 0)
                 : ek_mls_expand_with_label(out, s->hash_len, s, cur, s->hash_len, "application",
                                            11, NULL, 0);
    ek_wipe(cur, sizeof(cur));
    ek_wipe(next, sizeof(next));
    return rc;
}

int ek_mls_secret_tree_peek(ek_mls_key_nonce *out, ek_mls_secret_tree *st, uint32_t leaf,
                            int ratchet, uint32_t generation)
{
    if (out == NULL || st == NULL || st->suite == NULL || leaf >= st->n_leaves ||
        (ratchet != EK_MLS_RATCHET_HANDSHAKE && ratchet != EK_MLS_RATCHET_APPLICATION))
        return EK_ERR_INVALID_ARG;
    const ek_mls_suite *s = st->suite;
    ek_mls_ratchet *r = &st->ratchets[2 * (size_t)leaf + (size_t)ratchet];
    uint8_t secret[EK_MLS_MAX_HASH_LEN];
    uint32_t next = 0;
    if (r->live) {
        if (r->exhausted || generation < r->next) {
            int i = r->skipped != NULL ? find_skipped(r, generation) : -1;
            if (i < 0)
                return EK_ERR_STATE; /* consumed already, or evicted */
            *out = r->skipped[i];
            return EK_OK;
        }
        memcpy(secret, r->secret, s->hash_len);
        next = r->next;
    } else {
        EK_TRY(ratchet_secret_aside(secret, st, leaf, ratchet));
    }
    int rc = generation - next > EK_MLS_MAX_GENERATION_JUMP ? EK_ERR_LIMIT : EK_OK;
    for (uint32_t g = next; g < generation && rc == EK_OK; g++)
        rc = advance_secret(s, secret, g);
    if (rc == EK_OK)
        rc = key_nonce_at(out, s, secret, generation);
    ek_wipe(secret, sizeof(secret));
    return rc;
}

int ek_mls_secret_tree_next_generation(uint32_t *generation, const ek_mls_secret_tree *st,
                                       uint32_t leaf, int ratchet)
{
    if (generation == NULL || st == NULL || st->suite == NULL || leaf >= st->n_leaves ||
        (ratchet != EK_MLS_RATCHET_HANDSHAKE && ratchet != EK_MLS_RATCHET_APPLICATION))
        return EK_ERR_INVALID_ARG;
    const ek_mls_ratchet *r = &st->ratchets[2 * (size_t)leaf + (size_t)ratchet];
    if (r->exhausted)
        return EK_ERR_LIMIT;
    *generation = r->live ? r->next : 0;
    return EK_OK;
}

int ek_mls_secret_tree_consume(ek_mls_secret_tree *st, uint32_t leaf, int ratchet,
                               uint32_t generation)
{
    uint32_t next = 0;
    int rc = ek_mls_secret_tree_next_generation(&next, st, leaf, ratchet);
    if (rc != EK_OK && rc != EK_ERR_LIMIT)
        return rc;
    /* The one allocation comes first: a consume that fails for memory
     * changes nothing (the group relies on it, group.c). */
    ek_mls_ratchet *r = &st->ratchets[2 * (size_t)leaf + (size_t)ratchet];
    if (rc == EK_OK && generation > next && generation - next <= EK_MLS_MAX_GENERATION_JUMP &&
        r->skipped == NULL) {
        r->skipped = ek_alloc(st->alloc, skipped_array_bytes());
        if (r->skipped == NULL)
            return EK_ERR_NOMEM;
        memset(r->skipped, 0, skipped_array_bytes());
    }
    EK_TRY(get_ratchet(&r, st, leaf, ratchet));
    if (r->exhausted || generation < r->next) {
        int i = r->skipped != NULL ? find_skipped(r, generation) : -1;
        if (i < 0)
            return EK_ERR_STATE;
        drop_skipped(r, i);
        return EK_OK;
    }
    if (generation - r->next > EK_MLS_MAX_GENERATION_JUMP)
        return EK_ERR_LIMIT;
    const ek_mls_suite *s = st->suite;
    while (r->next < generation) {
        if (r->skipped_count == EK_MLS_MAX_SKIPPED_KEYS)
            drop_skipped(r, 0); /* evict the oldest */
        EK_TRY(key_nonce_at(&r->skipped[r->skipped_count], s, r->secret, r->next));
        r->skipped_count++;
        EK_TRY(step_past(s, r, r->next));
    }
    return step_past(s, r, generation);
}
