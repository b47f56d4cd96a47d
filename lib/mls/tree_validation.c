/*
 * tree_validation.c: checking a whole ratchet tree, as a new member must
 * (RFC 9420 §12.4.3.1): unmerged leaves consistent, every non-blank parent
 * "parent-hash valid" (§7.9.2), every leaf valid (§7.3), keys unique.
 *
 * Cost: O(n log n) hashing in the group size n, whatever the tree looks
 * like. Parent hashes are checked bottom up (each non-blank parent must be
 * covered by exactly one chain from a leaf). A link D -> P can only be to
 * the first non-blank ancestor P of D; its expected parent hash and the
 * resolution condition depend on P and the side of P only, so each is
 * computed at most twice per parent. The "original sibling tree hash"
 * recomputes only the paths above P's unmerged leaves, and the resolution
 * condition is checked by counting resolution sizes (computed once, bottom
 * up) and testing the unmerged leaves for membership, never by building
 * resolutions, which could be quadratic in a sparse tree.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "validation.h"

/* Per (parent, side) state of the link check. */
#define LINK_UNKNOWN    0
#define LINK_ELIGIBLE   1
#define LINK_INELIGIBLE 2

typedef struct ph_check {
    ek_mls_tree *t;
    size_t nh;
    uint32_t *res_size; /* |resolution(i)| for every node */
    uint8_t *cover;     /* chains reaching each parent (saturating) */
    uint8_t *link;      /* [2 i + side]: LINK_* */
    uint8_t *want;      /* [2 i + side]: expected parent hash, Nh bytes */
} ph_check;

static uint32_t child_toward(uint32_t p, uint32_t d)
{
    /* d is in p's subtree: left when d < p. */
    uint32_t c;
    if (d < p)
        (void)ek_mls_tree_left(&c, p);
    else
        (void)ek_mls_tree_right(&c, p);
    return c;
}

/* Is node d (non-blank, inside c's subtree) in the resolution of c? */
static int in_resolution(const ek_mls_tree *t, uint32_t c, uint32_t d)
{
    uint32_t x = c;
    while (x != d) {
        const ek_mls_tnode *n = t->nodes[x];
        if (n != NULL)
            return d % 2 == 0 && ek_mls_u32_sorted_has(n->unmerged.items, n->unmerged.count, d / 2);
        x = child_toward(x, d);
    }
    return t->nodes[d] != NULL;
}

static int leaf_in_subtree(uint32_t leaf, uint32_t node)
{
    uint32_t k = ek_mls_tree_level(node);
    uint32_t lo = (node - (((uint32_t)1 << k) - 1)) / 2;
    return leaf >= lo && leaf - lo < ((uint32_t)1 << k);
}

/* The part of the condition of §7.9.2 that depends only on p and the side
 * c: P.unmerged_leaves ∩ subtree(C) must be resolution(C) minus one node
 * (D, checked by the caller). Also computes the expected parent hash. */
static int link_prepare(ph_check *ph, uint32_t p, uint32_t c, uint32_t s, size_t slot)
{
    ek_mls_tree *t = ph->t;
    const ek_mls_tnode *pn = t->nodes[p];
    size_t in_c = 0;
    int ok = 1;
    for (size_t k = 0; k < pn->unmerged.count && ok; k++) {
        uint32_t leaf = pn->unmerged.items[k];
        if (!leaf_in_subtree(leaf, c))
            continue;
        in_c++;
        ok = in_resolution(t, c, 2 * leaf);
    }
    if (!ok || ph->res_size[c] != in_c + 1) {
        ph->link[slot] = LINK_INELIGIBLE;
        return EK_OK;
    }
    uint8_t sib[EK_MLS_MAX_HASH_LEN];
    EK_TRY(ek_mls_tree_hash_excluding(sib, t, s, pn->unmerged.items, pn->unmerged.count));
    EK_TRY(ek_mls_parent_hash(ph->want + slot * ph->nh, t->suite, pn, sib));
    ph->link[slot] = LINK_ELIGIBLE;
    return EK_OK;
}

/* Try the link from non-blank node d to its first non-blank ancestor. */
static int try_link(ph_check *ph, uint32_t d)
{
    ek_mls_tree *t = ph->t;
    const ek_mls_tnode *dn = t->nodes[d];
    if (dn->parent_hash.len == 0)
        return EK_OK;
    uint32_t root = ek_mls_tree_root(t->n_leaves);
    uint32_t p = d;
    do {
        if (p == root)
            return EK_OK; /* nothing above: the link is simply absent */
        EK_TRY(ek_mls_tree_parent(&p, p, t->n_leaves));
    } while (t->nodes[p] == NULL);
    uint32_t c = child_toward(p, d);
    uint32_t s;
    EK_TRY(ek_mls_tree_sibling(&s, c, t->n_leaves));
    size_t slot = 2 * (size_t)p + (c > p ? 1 : 0);
    if (ph->link[slot] == LINK_UNKNOWN)
        EK_TRY(link_prepare(ph, p, c, s, slot));
    if (ph->link[slot] != LINK_ELIGIBLE)
        return EK_OK;
    const ek_mls_tnode *pn = t->nodes[p];
    /* D must be in resolution(C) and not one of P's unmerged leaves. */
    if (d % 2 == 0 && ek_mls_u32_sorted_has(pn->unmerged.items, pn->unmerged.count, d / 2))
        return EK_OK;
    if (!in_resolution(t, c, d))
        return EK_OK;
    if (dn->parent_hash.len != ph->nh ||
        memcmp(dn->parent_hash.data, ph->want + slot * ph->nh, ph->nh) != 0)
        return EK_OK;
    if (ph->cover[p] < 2)
        ph->cover[p]++;
    return EK_OK;
}

int ek_mls_tree_check_parent_hashes(ek_mls_tree *t)
{
    uint32_t width = ek_mls_tree_nodes(t);
    ph_check ph = {.t = t, .nh = t->suite->hash_len};
    size_t res_bytes = (size_t)width * sizeof(uint32_t);
    size_t want_bytes = 2 * (size_t)width * ph.nh;
    ph.res_size = ek_alloc(t->alloc, res_bytes);
    ph.cover = ek_alloc(t->alloc, width);
    ph.link = ek_alloc(t->alloc, 2 * (size_t)width);
    ph.want = ek_alloc(t->alloc, want_bytes);
    int rc = EK_OK;
    if (ph.res_size == NULL || ph.cover == NULL || ph.link == NULL || ph.want == NULL)
        rc = EK_ERR_NOMEM;
    uint32_t depth = ek_mls_tree_level(ek_mls_tree_root(t->n_leaves));
    if (rc == EK_OK) {
        memset(ph.cover, 0, width);
        memset(ph.link, 0, 2 * (size_t)width);
        /* Resolution sizes, bottom up. */
        for (uint32_t k = 0; k <= depth; k++) {
            for (uint32_t i = ((uint32_t)1 << k) - 1; i < width; i += (uint32_t)1 << (k + 1)) {
                const ek_mls_tnode *n = t->nodes[i];
                if (n != NULL) {
                    ph.res_size[i] = 1 + (uint32_t)n->unmerged.count;
                } else if (k == 0) {
                    ph.res_size[i] = 0;
                } else {
                    uint32_t l, r;
                    (void)ek_mls_tree_left(&l, i);
                    (void)ek_mls_tree_right(&r, i);
                    ph.res_size[i] = ph.res_size[l] + ph.res_size[r];
                }
            }
        }
        /* Chains, bottom up: a parent continues a chain only when one chain
         * reached it (an uncovered parent fails below anyway). */
        for (uint32_t k = 0; k <= depth && rc == EK_OK; k++) {
            for (uint32_t i = ((uint32_t)1 << k) - 1; i < width && rc == EK_OK;
                 i += (uint32_t)1 << (k + 1)) {
                if (t->nodes[i] == NULL || (k > 0 && ph.cover[i] != 1))
                    continue;
                rc = try_link(&ph, i);
            }
        }
        for (uint32_t i = 1; i < width && rc == EK_OK; i += 2)
            if (t->nodes[i] != NULL && ph.cover[i] != 1)
                rc = EK_ERR_AUTH;
    }
    if (ph.res_size != NULL)
        ek_free(t->alloc, ph.res_size, res_bytes);
    if (ph.cover != NULL)
        ek_free(t->alloc, ph.cover, width);
    if (ph.link != NULL)
        ek_free(t->alloc, ph.link, 2 * (size_t)width);
    if (ph.want != NULL)
        ek_free(t->alloc, ph.want, want_bytes);
    return rc;
}

/* §12.4.3.1: each unmerged entry of P is a non-blank leaf under P, and
 * every non-blank node between it and P lists it too; §7.1: sorted. */
static int check_unmerged(const ek_mls_tree *t)
{
    uint32_t width = ek_mls_tree_nodes(t);
    for (uint32_t p = 1; p < width; p += 2) {
        const ek_mls_tnode *pn = t->nodes[p];
        if (pn == NULL)
            continue;
        for (size_t k = 0; k < pn->unmerged.count; k++) {
            uint32_t leaf = pn->unmerged.items[k];
            if (k > 0 && pn->unmerged.items[k - 1] >= leaf)
                return EK_ERR_DECODE;
            if (leaf >= t->n_leaves || !leaf_in_subtree(leaf, p) ||
                t->nodes[(size_t)2 * leaf] == NULL)
                return EK_ERR_DECODE;
            for (uint32_t x = child_toward(p, 2 * leaf); x != 2 * leaf;
                 x = child_toward(x, 2 * leaf)) {
                const ek_mls_tnode *xn = t->nodes[x];
                if (xn != NULL &&
                    !ek_mls_u32_sorted_has(xn->unmerged.items, xn->unmerged.count, leaf))
                    return EK_ERR_DECODE;
            }
        }
    }
    return EK_OK;
}

/* Every leaf: the checks of §7.3, then all signatures in one batch. */
static int check_leaves(const ek_mls_tree *t, const ek_mls_leaf_params *p)
{
    const ek_mls_suite *s = t->suite;
    uint32_t members = ek_mls_tree_member_count(t);
    for (uint32_t l = 0; l < t->n_leaves; l++) {
        const ek_mls_tnode *n = t->nodes[(size_t)2 * l];
        if (n != NULL)
            EK_TRY(ek_mls_leaf_check(n, p, EK_MLS_LEAF_IN_TREE));
    }
    EK_TRY(ek_mls_tree_check_credential_types(t));
    size_t items_bytes = (size_t)members * sizeof(ek_mls_signed_item);
    size_t *offsets = NULL;
    size_t offsets_bytes = (size_t)members * sizeof(size_t);
    ek_mls_signed_item *items = ek_alloc(t->alloc, items_bytes ? items_bytes : 1);
    offsets = ek_alloc(t->alloc, offsets_bytes ? offsets_bytes : 1);
    ek_writer w;
    ek_writer_init_growable(&w, t->alloc);
    int rc = items != NULL && offsets != NULL ? EK_OK : EK_ERR_NOMEM;
    size_t k = 0;
    for (uint32_t l = 0; l < t->n_leaves && rc == EK_OK; l++) {
        const ek_mls_tnode *n = t->nodes[(size_t)2 * l];
        if (n == NULL)
            continue;
        offsets[k] = w.len;
        rc = ek_mls_leaf_sign_content(&w, n, p->group_id, p->group_id_len, l);
        items[k].pub = n->signature_key.data;
        items[k].pub_len = n->signature_key.len;
        items[k].sig = n->signature.data;
        items[k].sig_len = n->signature.len;
        items[k].msg_len = w.len - offsets[k];
        k++;
    }
    if (rc == EK_OK) {
        /* The writer may have moved while growing: point into it now. */
        for (size_t i = 0; i < k; i++)
            items[i].msg = w.buf + offsets[i];
        rc = ek_mls_verify_signed_items(s, items, k, t->alloc);
    }
    ek_writer_dispose(&w);
    if (items != NULL)
        ek_free(t->alloc, items, items_bytes ? items_bytes : 1);
    if (offsets != NULL)
        ek_free(t->alloc, offsets, offsets_bytes ? offsets_bytes : 1);
    return rc;
}

/* §7.1, §10: every parent's encryption_key is an HPKE public key of the
 * suite (Npk bytes). A key of another length would pass the parent-hash
 * check if its subtree's committer signed it, and break every later path
 * encryption to it. Leaves are checked in ek_mls_leaf_check. */
static int check_parent_keys(const ek_mls_tree *t)
{
    uint32_t width = ek_mls_tree_nodes(t);
    for (uint32_t i = 1; i < width; i += 2) {
        const ek_mls_tnode *n = t->nodes[i];
        if (n != NULL && n->encryption_key.len != t->suite->kem_public_len)
            return EK_ERR_DECODE;
    }
    return EK_OK;
}

int ek_mls_tree_validate(ek_mls_tree *t, const ek_mls_leaf_params *p)
{
    if (t == NULL || p == NULL || t->nodes == NULL)
        return EK_ERR_INVALID_ARG;
    if (ek_mls_tree_member_count(t) == 0)
        return EK_ERR_DECODE;
    EK_TRY(check_parent_keys(t));
    EK_TRY(check_unmerged(t));
    EK_TRY(ek_mls_tree_check_parent_hashes(t));
    EK_TRY(ek_mls_tree_check_unique_keys(t));
    return check_leaves(t, p);
}
