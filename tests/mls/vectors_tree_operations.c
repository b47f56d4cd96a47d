/*
 * vectors_tree_operations.c: tree-operations.json (RFC 9420 §7.7, §7.8,
 * §12.1.1-§12.1.3): apply one Add, Update or Remove to tree_before; the
 * tree hashes before and after and the re-encoded tree must match.
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "mls/tree.h"
#include "mls_vec.h"

static int load_tree(ek_mls_tree *t, const ek_mls_suite *s, ek_mls_arena *a, ek_mls_bytes raw)
{
    ek_mls_ratchet_tree rt;
    ek_reader r;
    ek_reader_init(&r, raw.data, raw.len);
    if (ek_mls_read_ratchet_tree(&rt, a, &r) != EK_OK || ek_reader_finish(&r) != EK_OK)
        return 0;
    return ek_mls_tree_from_decoded(t, s, NULL, &rt) == EK_OK;
}

static int apply(ek_mls_tree *t, const ek_mls_proposal *p, uint32_t sender)
{
    ek_mls_tnode *n = NULL;
    uint32_t leaf;
    int rc = EK_OK;
    switch (p->type) {
    case EK_MLS_PROPOSAL_ADD:
        rc = ek_mls_tnode_new_leaf(&n, NULL, &p->u.add.leaf_node);
        if (rc == EK_OK)
            rc = ek_mls_tree_add(&leaf, t, n);
        break;
    case EK_MLS_PROPOSAL_UPDATE:
        rc = ek_mls_tnode_new_leaf(&n, NULL, &p->u.update);
        if (rc == EK_OK)
            ek_mls_tree_update(t, sender, n);
        break;
    case EK_MLS_PROPOSAL_REMOVE: ek_mls_tree_remove(t, p->u.remove); break;
    default: rc = EK_ERR_UNSUPPORTED;
    }
    ek_mls_tnode_unref(n, NULL);
    return rc == EK_OK;
}

static int check_case(const ek_mls_suite *s, const json_t *c)
{
    mls_hex_pool p = {0};
    ek_mls_bytes before = mls_hex_bytes(&p, c, "tree_before");
    ek_mls_bytes after = mls_hex_bytes(&p, c, "tree_after");
    ek_mls_bytes hb = mls_hex_bytes(&p, c, "tree_hash_before");
    ek_mls_bytes ha = mls_hex_bytes(&p, c, "tree_hash_after");
    ek_mls_bytes prop = mls_hex_bytes(&p, c, "proposal");
    uint32_t sender = (uint32_t)ek_test_json_int(c, "proposal_sender");
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_tree t;
    memset(&t, 0, sizeof(t));
    uint8_t h[EK_MLS_MAX_HASH_LEN];
    int ok = load_tree(&t, s, &a, before) && ek_mls_tree_root_hash(h, &t) == EK_OK &&
             mls_eq(h, s->hash_len, hb.data, hb.len);
    ek_mls_proposal pr;
    ek_reader r;
    ek_reader_init(&r, prop.data, prop.len);
    ok = ok && ek_mls_read_proposal(&pr, &a, &r) == EK_OK && ek_reader_finish(&r) == EK_OK;
    ok = ok && apply(&t, &pr, sender);
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    ok = ok && ek_mls_tree_write(&w, &t) == EK_OK && mls_eq(w.buf, w.len, after.data, after.len);
    ok = ok && ek_mls_tree_root_hash(h, &t) == EK_OK && mls_eq(h, s->hash_len, ha.data, ha.len);
    /* The same hash from a fresh tree decoded from tree_after. */
    ek_mls_tree t2;
    memset(&t2, 0, sizeof(t2));
    ok = ok && load_tree(&t2, s, &a, after) && ek_mls_tree_root_hash(h, &t2) == EK_OK &&
         mls_eq(h, s->hash_len, ha.data, ha.len);
    ek_mls_tree_free(&t2);
    ek_writer_dispose(&w);
    ek_mls_tree_free(&t);
    ek_mls_arena_free(&a);
    mls_hex_free(&p);
    return ok;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/tree-operations.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/tree-operations");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        ek_vec_case(&st, check_case(s, c), "case %zu (suite %u)", i, s->id);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
