/*
 * vectors_tree_validation.c: tree-validation.json (RFC 9420 §4.1.1, §7.8,
 * §7.9.2, §7.3): for each tree, the resolution and the tree hash of every
 * node, and the whole tree validates (parent hashes, unmerged leaves, leaf
 * nodes with their signatures). The tree also re-encodes to its bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "mls/tree.h"
#include "mls/validation.h"
#include "mls_vec.h"

static int check_case(const ek_mls_suite *s, const json_t *c)
{
    mls_hex_pool p = {0};
    ek_mls_bytes raw = mls_hex_bytes(&p, c, "tree");
    ek_mls_bytes group_id = mls_hex_bytes(&p, c, "group_id");
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_ratchet_tree rt;
    ek_reader r;
    ek_reader_init(&r, raw.data, raw.len);
    ek_mls_tree t;
    memset(&t, 0, sizeof(t));
    int ok = ek_mls_read_ratchet_tree(&rt, &a, &r) == EK_OK && ek_reader_finish(&r) == EK_OK &&
             ek_mls_tree_from_decoded(&t, s, NULL, &rt) == EK_OK;
    if (ok) {
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        ok = ek_mls_tree_write(&w, &t) == EK_OK && mls_eq(w.buf, w.len, raw.data, raw.len);
        ek_writer_dispose(&w);
        if (!ok)
            fprintf(stderr, "  re-encoding differs\n");
    }
    const json_t *res = json_object_get(c, "resolutions");
    const json_t *hashes = json_object_get(c, "tree_hashes");
    if (ok && (json_array_size(res) != ek_mls_tree_nodes(&t) ||
               json_array_size(hashes) != ek_mls_tree_nodes(&t))) {
        fprintf(stderr, "  width %u, vector has %zu\n", ek_mls_tree_nodes(&t),
                json_array_size(res));
        ok = 0;
    }
    for (uint32_t i = 0; ok && i < ek_mls_tree_nodes(&t); i++) {
        ek_mls_u32vec v;
        ek_mls_u32vec_init(&v, NULL);
        ok = ek_mls_tree_resolution(&v, &t, i, NULL, 0) == EK_OK;
        const json_t *want = json_array_get(res, i);
        ok = ok && json_array_size(want) == v.n;
        for (size_t k = 0; ok && k < v.n; k++)
            ok = (long long)v.v[k] == json_integer_value(json_array_get(want, k));
        ek_mls_u32vec_free(&v);
        if (!ok) {
            fprintf(stderr, "  resolution of node %u differs\n", i);
            break;
        }
        size_t hl;
        uint8_t *h = ek_test_unhex(json_string_value(json_array_get(hashes, i)), &hl);
        uint8_t got[EK_MLS_MAX_HASH_LEN];
        ok = ek_mls_tree_hash(got, &t, i) == EK_OK && mls_eq(got, s->hash_len, h, hl);
        free(h);
        if (!ok)
            fprintf(stderr, "  tree hash of node %u differs\n", i);
    }
    if (ok) {
        ek_mls_leaf_params lp = {
            .suite = s, .group_id = group_id.data, .group_id_len = group_id.len};
        int rc = ek_mls_tree_validate(&t, &lp);
        if (rc != EK_OK)
            fprintf(stderr, "  validate: %s\n", ek_strerror(rc));
        ok = rc == EK_OK;
    }
    ek_mls_tree_free(&t);
    ek_mls_arena_free(&a);
    mls_hex_free(&p);
    return ok;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/tree-validation.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/tree-validation");
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
