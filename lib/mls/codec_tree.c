/*
 * codec_tree.c: the codec of the ratchet tree's public state: ParentNode
 * (RFC 9420 §7.1), the ratchet_tree encoding optional<Node> ratchet_tree<V>
 * (§12.4.3.3), HPKECiphertext and UpdatePath (§7.6).
 */
#include "codec.h"

int ek_mls_read_parent_node(ek_mls_parent_node *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_parent_node){0};
    (void)ek_mls_read_opaque(&out->encryption_key, r);
    (void)ek_mls_read_opaque(&out->parent_hash, r);
    return ek_mls_read_u32_list(&out->unmerged_leaves, EK_MLS_MAX_LEAVES, a, r);
}

int ek_mls_write_parent_node(ek_writer *w, const ek_mls_parent_node *x)
{
    (void)ek_mls_write_opaque(w, x->encryption_key.data, x->encryption_key.len);
    (void)ek_mls_write_opaque(w, x->parent_hash.data, x->parent_hash.len);
    return ek_mls_write_u32_list(w, &x->unmerged_leaves);
}

/* One optional<Node> at array index i: leaves sit at even indices and
 * parents at odd ones (Appendix C), so a node of the other type is
 * malformed. */
static int read_tree_node(ek_mls_node **out, size_t i, ek_mls_arena *a, ek_reader *r)
{
    int present = 0;
    *out = NULL;
    EK_TRY(ek_mls_read_presence(&present, r));
    if (!present)
        return EK_OK;
    uint8_t type;
    EK_TRY(ek_read_u8(r, &type));
    if (type != (i % 2 == 0 ? EK_MLS_NODE_LEAF : EK_MLS_NODE_PARENT))
        return ek_reader_fail(r, EK_ERR_DECODE);
    ek_mls_node *n = ek_mls_arena_alloc(a, sizeof(*n));
    if (n == NULL)
        return ek_reader_fail(r, EK_ERR_NOMEM);
    n->type = type;
    *out = n;
    if (type == EK_MLS_NODE_LEAF)
        return ek_mls_read_leaf_node(&n->u.leaf, a, r);
    return ek_mls_read_parent_node(&n->u.parent, a, r);
}

int ek_mls_read_ratchet_tree(ek_mls_ratchet_tree *out, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    size_t cap = 0;
    out->nodes = NULL;
    out->count = 0;
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        int err = EK_OK;
        ek_mls_node **slot =
            ek_mls_list_push((void **)&out->nodes, &out->count, &cap, sizeof(ek_mls_node *),
                             EK_MLS_MAX_TREE_NODES, a, &err);
        if (slot == NULL)
            return ek_reader_fail(r, err);
        (void)read_tree_node(slot, out->count - 1, a, &sub);
    }
    EK_TRY(ek_mls_finish_sub(r, &sub));
    /* §12.4.3.3: the sender drops trailing blank nodes, so the last node
     * must be non-blank (and a tree has at least one member). */
    if (out->count == 0 || out->nodes[out->count - 1] == NULL)
        return ek_reader_fail(r, EK_ERR_DECODE);
    return EK_OK;
}

int ek_mls_write_ratchet_tree(ek_writer *w, const ek_mls_ratchet_tree *x)
{
    if (x->count == 0 || x->nodes == NULL || x->nodes[x->count - 1] == NULL)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    size_t mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < x->count; i++) {
        const ek_mls_node *n = x->nodes[i];
        if (n == NULL) {
            (void)ek_write_u8(w, 0);
            continue;
        }
        if (n->type != (i % 2 == 0 ? EK_MLS_NODE_LEAF : EK_MLS_NODE_PARENT))
            return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
        (void)ek_write_u8(w, 1);
        (void)ek_write_u8(w, n->type);
        if (n->type == EK_MLS_NODE_LEAF)
            (void)ek_mls_write_leaf_node(w, &n->u.leaf);
        else
            (void)ek_mls_write_parent_node(w, &n->u.parent);
    }
    return ek_mls_vector_end(w, mark);
}

int ek_mls_read_hpke_ciphertext(ek_mls_hpke_ciphertext *out, ek_reader *r)
{
    (void)ek_mls_read_opaque(&out->kem_output, r);
    return ek_mls_read_opaque(&out->ciphertext, r);
}

int ek_mls_write_hpke_ciphertext(ek_writer *w, const ek_mls_hpke_ciphertext *x)
{
    (void)ek_mls_write_opaque(w, x->kem_output.data, x->kem_output.len);
    return ek_mls_write_opaque(w, x->ciphertext.data, x->ciphertext.len);
}

static int read_update_path_node(ek_mls_update_path_node *out, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    size_t cap = 0;
    (void)ek_mls_read_opaque(&out->encryption_key, r);
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        int err = EK_OK;
        ek_mls_hpke_ciphertext *c = ek_mls_list_push((void **)&out->encrypted_path_secret,
                                                     &out->encrypted_path_secret_count, &cap,
                                                     sizeof(*c), EK_MLS_MAX_LEAVES, a, &err);
        if (c == NULL)
            return ek_reader_fail(r, err);
        (void)ek_mls_read_hpke_ciphertext(c, &sub);
    }
    return ek_mls_finish_sub(r, &sub);
}

int ek_mls_read_update_path(ek_mls_update_path *out, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    size_t cap = 0;
    *out = (ek_mls_update_path){0};
    EK_TRY(ek_mls_read_leaf_node(&out->leaf_node, a, r));
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        int err = EK_OK;
        ek_mls_update_path_node *n = ek_mls_list_push((void **)&out->nodes, &out->node_count, &cap,
                                                      sizeof(*n), EK_MLS_MAX_TREE_DEPTH, a, &err);
        if (n == NULL)
            return ek_reader_fail(r, err);
        (void)read_update_path_node(n, a, &sub);
    }
    return ek_mls_finish_sub(r, &sub);
}

int ek_mls_write_update_path(ek_writer *w, const ek_mls_update_path *x)
{
    if (x->node_count > 0 && x->nodes == NULL)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    EK_TRY(ek_mls_write_leaf_node(w, &x->leaf_node));
    size_t mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < x->node_count; i++) {
        const ek_mls_update_path_node *n = &x->nodes[i];
        if (n->encrypted_path_secret_count > 0 && n->encrypted_path_secret == NULL)
            return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
        (void)ek_mls_write_opaque(w, n->encryption_key.data, n->encryption_key.len);
        size_t inner = ek_mls_vector_begin(w);
        for (size_t j = 0; j < n->encrypted_path_secret_count; j++)
            (void)ek_mls_write_hpke_ciphertext(w, &n->encrypted_path_secret[j]);
        (void)ek_mls_vector_end(w, inner);
    }
    return ek_mls_vector_end(w, mark);
}
