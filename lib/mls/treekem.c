/*
 * treekem.c: TreeKEM (RFC 9420 §7.4-§7.6, §7.9): the private keys of a
 * member's direct path, creating an UpdatePath, merging a received one
 * (with the parent-hash check of §7.9.2) and decrypting it. A commit's
 * crypto is O(log n) in a tree without blanks: one key pair per path node,
 * one encryption per resolution node, one decryption for a receiver.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "treekem.h"

/* ---- the keyring ---- */

int ek_mls_keyring_put(ek_mls_keyring *r, const ek_mls_suite *s, uint32_t node, const uint8_t *pub,
                       const uint8_t *priv)
{
    size_t i = 0;
    while (i < r->count && r->k[i].node != node)
        i++;
    if (i == r->count) {
        if (r->count == EK_MLS_MAX_NODE_KEYS)
            return EK_ERR_LIMIT;
        r->count++;
    }
    ek_mls_node_key *k = &r->k[i];
    memset(k, 0, sizeof(*k));
    k->node = node;
    memcpy(k->pub, pub, s->kem_public_len);
    memcpy(k->priv, priv, s->kem_private_len);
    return EK_OK;
}

static int node_holds(const ek_mls_tree *t, const ek_mls_node_key *k)
{
    const ek_mls_tnode *n = ek_mls_tree_get(t, k->node);
    return n != NULL && n->encryption_key.len <= sizeof(k->pub) &&
           memcmp(n->encryption_key.data, k->pub, n->encryption_key.len) == 0;
}

const uint8_t *ek_mls_keyring_get(const ek_mls_keyring *r, const ek_mls_tree *t, uint32_t node)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->k[i].node == node)
            return node_holds(t, &r->k[i]) ? r->k[i].priv : NULL;
    return NULL;
}

void ek_mls_keyring_prune(ek_mls_keyring *r, const ek_mls_tree *t)
{
    size_t j = 0;
    for (size_t i = 0; i < r->count; i++) {
        if (node_holds(t, &r->k[i])) {
            if (i != j)
                r->k[j] = r->k[i];
            j++;
        }
    }
    for (size_t i = j; i < r->count; i++)
        ek_wipe(&r->k[i], sizeof(r->k[i]));
    r->count = j;
}

void ek_mls_keyring_wipe(ek_mls_keyring *r)
{
    ek_wipe(r, sizeof(*r));
}

void ek_mls_path_secrets_wipe(ek_mls_path_secrets *ps)
{
    ek_wipe(ps, sizeof(*ps));
}

int ek_mls_node_key_pair(uint8_t *pub, uint8_t *priv, const ek_mls_suite *s,
                         const uint8_t *path_secret)
{
    uint8_t node_secret[EK_MLS_MAX_HASH_LEN];
    int rc = ek_mls_derive_secret(node_secret, s, path_secret, "node");
    if (rc == EK_OK)
        rc = ek_mls_derive_key_pair(pub, priv, s, node_secret, s->hash_len);
    ek_wipe(node_secret, sizeof(node_secret));
    return rc;
}

int ek_mls_leaf_sign(ek_mls_tnode **out, ek_mls_leaf_node *leaf, ek_mls_arena *a,
                     const ek_allocator *alloc, const ek_mls_suite *s, const uint8_t *sig_priv,
                     size_t sig_priv_len, const uint8_t *group_id, size_t group_id_len,
                     uint32_t leaf_index)
{
    uint8_t *sig = ek_mls_arena_alloc(a, s->sig_max_len);
    if (sig == NULL)
        return EK_ERR_NOMEM;
    size_t sig_len = 0;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    int rc = ek_mls_write_leaf_node_tbs(&w, leaf, group_id, group_id_len, leaf_index);
    if (rc == EK_OK)
        rc = ek_mls_sign_with_label_alloc(sig, &sig_len, s, sig_priv, sig_priv_len, "LeafNodeTBS",
                                          w.buf, w.len, alloc);
    ek_writer_dispose(&w);
    if (rc != EK_OK)
        return rc;
    leaf->signature.data = sig;
    leaf->signature.len = sig_len;
    return ek_mls_tnode_new_leaf(out, alloc, leaf);
}

/* ---- creating an UpdatePath ---- */

/* Parent hashes along a freshly set filtered path, top down (§7.9): the
 * topmost node's parent_hash is empty, each lower node gets the hash of the
 * one above it; *leaf_ph receives the hash for the leaf. The nodes are
 * rebuilt with their parent_hash; unmerged lists are empty. */
static int set_path_nodes(ek_mls_tree *t, const uint32_t *nodes, const uint32_t *copath,
                          size_t count, uint8_t pubs[][EK_MLS_MAX_KEM_PUBLIC_LEN], uint8_t *leaf_ph,
                          size_t *leaf_ph_len)
{
    const ek_mls_suite *s = t->suite;
    uint8_t ph[EK_MLS_MAX_HASH_LEN] = {0};
    size_t ph_len = 0;
    for (size_t k = count; k-- > 0;) {
        ek_mls_tnode *n = NULL;
        EK_TRY(
            ek_mls_tnode_new_parent(&n, t->alloc, pubs[k], s->kem_public_len, ph, ph_len, NULL, 0));
        ek_mls_tree_set(t, nodes[k], n);
        ek_mls_tnode_unref(n, t->alloc);
        uint8_t sib[EK_MLS_MAX_HASH_LEN];
        EK_TRY(ek_mls_tree_hash(sib, t, copath[k]));
        EK_TRY(ek_mls_parent_hash(ph, s, t->nodes[nodes[k]], sib));
        ph_len = s->hash_len;
    }
    memcpy(leaf_ph, ph, ph_len);
    *leaf_ph_len = ph_len;
    return EK_OK;
}

int ek_mls_treekem_update_path(ek_mls_path_secrets *ps, ek_mls_keyring *ring, ek_mls_tree *t,
                               uint32_t leaf, const ek_mls_leaf_node *tmpl, const uint8_t *sig_priv,
                               size_t sig_priv_len, const uint8_t *group_id, size_t group_id_len,
                               const ek_rng *rng)
{
    const ek_mls_suite *s = t->suite;
    memset(ps, 0, sizeof(*ps));
    EK_TRY(ek_mls_tree_filtered_path(ps->nodes, ps->copath, &ps->count, t, leaf));
    ek_mls_tree_blank_path(t, leaf);

    uint8_t pubs[EK_MLS_MAX_TREE_DEPTH][EK_MLS_MAX_KEM_PUBLIC_LEN];
    uint8_t priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    uint8_t leaf_secret[EK_MLS_MAX_HASH_LEN], leaf_pub[EK_MLS_MAX_KEM_PUBLIC_LEN];
    uint8_t last[EK_MLS_MAX_HASH_LEN];
    ek_mls_keyring fresh;
    memset(&fresh, 0, sizeof(fresh));
    /* §7.4: a fresh leaf key pair; path_secret[0] random, then each next
     * one DeriveSecret(previous, "path"); the commit secret is one step
     * past the last. */
    int rc = ek_random(rng, leaf_secret, s->hash_len);
    if (rc == EK_OK)
        rc = ek_mls_node_key_pair(leaf_pub, priv, s, leaf_secret);
    if (rc == EK_OK)
        rc = ek_mls_keyring_put(&fresh, s, 2 * leaf, leaf_pub, priv);
    if (rc == EK_OK)
        rc = ek_random(rng, last, s->hash_len);
    for (size_t k = 0; k < ps->count && rc == EK_OK; k++) {
        if (k > 0)
            rc = ek_mls_derive_secret(last, s, ps->secrets[k - 1], "path");
        if (rc == EK_OK) {
            memcpy(ps->secrets[k], last, s->hash_len);
            rc = ek_mls_node_key_pair(pubs[k], priv, s, ps->secrets[k]);
        }
        if (rc == EK_OK)
            rc = ek_mls_keyring_put(&fresh, s, ps->nodes[k], pubs[k], priv);
    }
    if (rc == EK_OK)
        rc = ek_mls_derive_secret(ps->commit_secret, s,
                                  ps->count > 0 ? ps->secrets[ps->count - 1] : last, "path");
    uint8_t leaf_ph[EK_MLS_MAX_HASH_LEN];
    size_t leaf_ph_len = 0;
    if (rc == EK_OK)
        rc = set_path_nodes(t, ps->nodes, ps->copath, ps->count, pubs, leaf_ph, &leaf_ph_len);
    ek_mls_arena a;
    ek_mls_arena_init(&a, t->alloc);
    ek_mls_tnode *n = NULL;
    if (rc == EK_OK) {
        ek_mls_leaf_node l = *tmpl;
        l.encryption_key.data = leaf_pub;
        l.encryption_key.len = s->kem_public_len;
        l.source = EK_MLS_LEAF_SOURCE_COMMIT;
        l.not_before = l.not_after = 0;
        l.parent_hash.data = leaf_ph_len > 0 ? leaf_ph : NULL;
        l.parent_hash.len = leaf_ph_len;
        rc = ek_mls_leaf_sign(&n, &l, &a, t->alloc, s, sig_priv, sig_priv_len, group_id,
                              group_id_len, leaf);
    }
    if (rc == EK_OK) {
        ek_mls_tree_set(t, 2 * leaf, n);
        *ring = fresh;
    }
    ek_mls_tnode_unref(n, t->alloc);
    ek_mls_arena_free(&a);
    ek_wipe(priv, sizeof(priv));
    ek_wipe(leaf_secret, sizeof(leaf_secret));
    ek_wipe(last, sizeof(last));
    ek_mls_keyring_wipe(&fresh);
    if (rc != EK_OK)
        ek_mls_path_secrets_wipe(ps);
    return rc;
}

int ek_mls_treekem_encrypt(ek_mls_update_path *out, ek_mls_arena *a, ek_mls_tree *t, uint32_t leaf,
                           const ek_mls_path_secrets *ps, const uint32_t *excl, size_t excl_n,
                           const uint8_t *group_context, size_t gc_len, const ek_rng *rng)
{
    const ek_mls_suite *s = t->suite;
    memset(out, 0, sizeof(*out));
    int rc = ek_mls_tnode_leaf(&out->leaf_node, a, t->nodes[(size_t)2 * leaf]);
    if (rc != EK_OK)
        return rc;
    if (ps->count > 0) {
        out->nodes = ek_mls_arena_alloc(a, ps->count * sizeof(*out->nodes));
        if (out->nodes == NULL)
            return EK_ERR_NOMEM;
    }
    out->node_count = ps->count;
    ek_mls_u32vec res;
    ek_mls_u32vec_init(&res, t->alloc);
    for (size_t k = 0; k < ps->count && rc == EK_OK; k++) {
        ek_mls_update_path_node *un = &out->nodes[k];
        un->encryption_key = t->nodes[ps->nodes[k]]->encryption_key;
        res.n = 0;
        rc = ek_mls_tree_resolution(&res, t, ps->copath[k], excl, excl_n);
        if (rc != EK_OK || res.n == 0)
            continue;
        un->encrypted_path_secret = ek_mls_arena_alloc(a, res.n * sizeof(ek_mls_hpke_ciphertext));
        if (un->encrypted_path_secret == NULL) {
            rc = EK_ERR_NOMEM;
            break;
        }
        un->encrypted_path_secret_count = res.n;
        for (size_t j = 0; j < res.n && rc == EK_OK; j++) {
            const ek_mls_tnode *target = t->nodes[res.v[j]];
            uint8_t *kem = ek_mls_arena_alloc(a, s->kem_output_len);
            uint8_t *ct = ek_mls_arena_alloc(a, s->hash_len + EK_AEAD_TAG_LEN);
            if (kem == NULL || ct == NULL) {
                rc = EK_ERR_NOMEM;
                break;
            }
            rc = ek_mls_encrypt_with_label_alloc(kem, ct, s, target->encryption_key.data,
                                                 target->encryption_key.len, "UpdatePathNode",
                                                 group_context, gc_len, ps->secrets[k], s->hash_len,
                                                 rng, a->alloc);
            un->encrypted_path_secret[j].kem_output = (ek_mls_bytes){kem, s->kem_output_len};
            un->encrypted_path_secret[j].ciphertext =
                (ek_mls_bytes){ct, s->hash_len + EK_AEAD_TAG_LEN};
        }
    }
    ek_mls_u32vec_free(&res);
    return rc;
}

/* ---- receiving an UpdatePath ---- */

static int views_equal(const ek_mls_bytes *a, const ek_mls_bytes *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static uint64_t key_prefix(const ek_mls_bytes *k)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 8 && i < k->len; i++)
        x = x << 8 | k->data[i];
    return x;
}

/* §12.4.2: none of the UpdatePath's keys may already be in the tree. One
 * pass over the tree, comparing an 8-byte prefix first. */
static int keys_are_new(const ek_mls_tree *t, const ek_mls_update_path *up)
{
    const ek_mls_bytes *keys[EK_MLS_MAX_TREE_DEPTH + 1];
    uint64_t prefix[EK_MLS_MAX_TREE_DEPTH + 1];
    size_t m = 0;
    keys[m++] = &up->leaf_node.encryption_key;
    for (size_t k = 0; k < up->node_count && m < EK_MLS_MAX_TREE_DEPTH + 1; k++)
        keys[m++] = &up->nodes[k].encryption_key;
    for (size_t k = 0; k < m; k++) {
        prefix[k] = key_prefix(keys[k]);
        for (size_t j = k + 1; j < m; j++)
            if (views_equal(keys[k], keys[j]))
                return EK_ERR_DECODE;
    }
    uint32_t width = ek_mls_tree_nodes(t);
    for (uint32_t i = 0; i < width; i++) {
        const ek_mls_tnode *n = t->nodes[i];
        if (n == NULL)
            continue;
        uint64_t x = key_prefix(&n->encryption_key);
        for (size_t k = 0; k < m; k++)
            if (x == prefix[k] && views_equal(&n->encryption_key, keys[k]))
                return EK_ERR_DECODE;
    }
    return EK_OK;
}

int ek_mls_treekem_merge(ek_mls_tree *t, uint32_t sender, const ek_mls_update_path *up,
                         ek_mls_tnode *leaf_node)
{
    const ek_mls_suite *s = t->suite;
    uint32_t nodes[EK_MLS_MAX_TREE_DEPTH], copath[EK_MLS_MAX_TREE_DEPTH];
    size_t count = 0;
    if (sender >= t->n_leaves || leaf_node == NULL)
        return EK_ERR_INVALID_ARG;
    EK_TRY(ek_mls_tree_filtered_path(nodes, copath, &count, t, sender));
    if (up->node_count != count)
        return EK_ERR_DECODE;
    uint8_t pubs[EK_MLS_MAX_TREE_DEPTH][EK_MLS_MAX_KEM_PUBLIC_LEN];
    for (size_t k = 0; k < count; k++) {
        if (up->nodes[k].encryption_key.len != s->kem_public_len)
            return EK_ERR_DECODE;
        memcpy(pubs[k], up->nodes[k].encryption_key.data, s->kem_public_len);
    }
    EK_TRY(keys_are_new(t, up));
    ek_mls_tree_blank_path(t, sender);
    uint8_t leaf_ph[EK_MLS_MAX_HASH_LEN];
    size_t leaf_ph_len = 0;
    EK_TRY(set_path_nodes(t, nodes, copath, count, pubs, leaf_ph, &leaf_ph_len));
    /* §7.9.2: the leaf's parent_hash must be the parent hash of the first
     * node of its filtered direct path (empty when there is none). */
    if (leaf_node->parent_hash.len != leaf_ph_len ||
        (leaf_ph_len > 0 && memcmp(leaf_node->parent_hash.data, leaf_ph, leaf_ph_len) != 0))
        return EK_ERR_AUTH;
    ek_mls_tree_set(t, 2 * sender, leaf_node);
    return EK_OK;
}

int ek_mls_treekem_decrypt(uint8_t *commit_secret, uint8_t *first, ek_mls_keyring *ring,
                           const ek_mls_tree *t, uint32_t sender, uint32_t me,
                           const ek_mls_update_path *up, const uint32_t *excl, size_t excl_n,
                           const uint8_t *group_context, size_t gc_len)
{
    const ek_mls_suite *s = t->suite;
    uint32_t nodes[EK_MLS_MAX_TREE_DEPTH], copath[EK_MLS_MAX_TREE_DEPTH];
    size_t count = 0;
    if (me == sender || me >= t->n_leaves)
        return EK_ERR_INVALID_ARG;
    EK_TRY(ek_mls_tree_filtered_path(nodes, copath, &count, t, sender));
    if (up->node_count != count)
        return EK_ERR_DECODE;
    /* Every list must match its resolution (§7.6); find the node whose
     * copath child holds me, and the resolution entry I hold a key for. */
    ek_mls_u32vec res;
    ek_mls_u32vec_init(&res, t->alloc);
    int rc = EK_OK;
    size_t at = count, pos = 0;
    const uint8_t *priv = NULL;
    for (size_t k = 0; k < count && rc == EK_OK; k++) {
        res.n = 0;
        rc = ek_mls_tree_resolution(&res, t, copath[k], excl, excl_n);
        if (rc != EK_OK)
            break;
        if (up->nodes[k].encrypted_path_secret_count != res.n) {
            rc = EK_ERR_DECODE;
            break;
        }
        if (at != count || ek_mls_tree_common_ancestor(copath[k], 2 * me) != copath[k])
            continue;
        at = k;
        for (size_t j = 0; j < res.n && priv == NULL; j++) {
            priv = ek_mls_keyring_get(ring, t, res.v[j]);
            pos = j;
        }
    }
    ek_mls_u32vec_free(&res);
    if (rc != EK_OK)
        return rc;
    if (at == count || priv == NULL)
        return EK_ERR_STATE; /* not ours to decrypt (a new member, or no key) */
    const ek_mls_hpke_ciphertext *ct = &up->nodes[at].encrypted_path_secret[pos];
    if (ct->ciphertext.len != s->hash_len + EK_AEAD_TAG_LEN)
        return EK_ERR_AUTH;
    uint8_t secret[EK_MLS_MAX_HASH_LEN], pub[EK_MLS_MAX_KEM_PUBLIC_LEN];
    uint8_t npriv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    ek_mls_keyring fresh = *ring;
    rc = ek_mls_decrypt_with_label_alloc(
        secret, s, priv, s->kem_private_len, "UpdatePathNode", group_context, gc_len,
        ct->kem_output.data, ct->kem_output.len, ct->ciphertext.data, ct->ciphertext.len, t->alloc);
    if (rc == EK_OK && first != NULL)
        memcpy(first, secret, s->hash_len);
    /* §7.5 steps 4-7: derive up the path, check each public key. */
    for (size_t k = at; k < count && rc == EK_OK; k++) {
        if (k > at)
            rc = ek_mls_derive_secret(secret, s, secret, "path");
        if (rc == EK_OK)
            rc = ek_mls_node_key_pair(pub, npriv, s, secret);
        if (rc == EK_OK && !ek_ct_equal(pub, up->nodes[k].encryption_key.data, s->kem_public_len))
            rc = EK_ERR_AUTH;
        if (rc == EK_OK)
            rc = ek_mls_keyring_put(&fresh, s, nodes[k], pub, npriv);
    }
    if (rc == EK_OK)
        rc = ek_mls_derive_secret(commit_secret, s, secret, "path");
    if (rc == EK_OK)
        *ring = fresh;
    ek_mls_keyring_wipe(&fresh);
    ek_wipe(secret, sizeof(secret));
    ek_wipe(npriv, sizeof(npriv));
    return rc;
}

int ek_mls_treekem_install_path_secret(ek_mls_keyring *ring, const ek_mls_tree *t, uint32_t me,
                                       uint32_t from, const uint8_t *path_secret)
{
    const ek_mls_suite *s = t->suite;
    if (ek_mls_tree_common_ancestor(from, 2 * me) != from || from % 2 == 0)
        return EK_ERR_DECODE;
    uint8_t secret[EK_MLS_MAX_HASH_LEN], pub[EK_MLS_MAX_KEM_PUBLIC_LEN];
    uint8_t priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    memcpy(secret, path_secret, s->hash_len);
    ek_mls_keyring fresh = *ring;
    uint32_t root = ek_mls_tree_root(t->n_leaves);
    uint32_t x = from;
    int rc = EK_OK, started = 0;
    for (;;) {
        const ek_mls_tnode *n = t->nodes[x];
        /* Blank ancestors were left out of the committer's filtered path;
         * the chain of path secrets continues at the next non-blank one. */
        if (n != NULL) {
            if (started)
                rc = ek_mls_derive_secret(secret, s, secret, "path");
            started = 1;
            if (rc == EK_OK)
                rc = ek_mls_node_key_pair(pub, priv, s, secret);
            if (rc == EK_OK && (n->encryption_key.len != s->kem_public_len ||
                                !ek_ct_equal(pub, n->encryption_key.data, s->kem_public_len)))
                rc = EK_ERR_AUTH;
            if (rc == EK_OK)
                rc = ek_mls_keyring_put(&fresh, s, x, pub, priv);
        } else if (!started) {
            rc = EK_ERR_DECODE; /* the common ancestor must be non-blank */
        }
        if (rc != EK_OK || x == root)
            break;
        rc = ek_mls_tree_parent(&x, x, t->n_leaves);
        if (rc != EK_OK)
            break;
    }
    if (rc == EK_OK)
        *ring = fresh;
    ek_mls_keyring_wipe(&fresh);
    ek_wipe(secret, sizeof(secret));
    ek_wipe(priv, sizeof(priv));
    return rc;
}
