/*
 * vectors_tree_math.c: tree-math.json (RFC 9420 Appendix C): for each tree
 * size, n_nodes, root and every node's left, right, parent and sibling
 * (null where the node has none) through the ek_mls_tree_* API.
 */
#include <enkrypt/ek_mls.h>

#include "ek_test.h"

/* 1 if the function's answer (rc, v) matches the JSON entry (null = none). */
static int matches(const json_t *want, int rc, uint32_t v)
{
    if (json_is_null(want))
        return rc != EK_OK;
    return rc == EK_OK && json_is_integer(want) && (json_int_t)v == json_integer_value(want);
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/tree-math.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/tree-math");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        uint32_t n = (uint32_t)ek_test_json_int(c, "n_leaves");
        uint32_t width = (uint32_t)ek_test_json_int(c, "n_nodes");
        int ok = ek_mls_tree_width(n) == width &&
                 ek_mls_tree_root(n) == (uint32_t)ek_test_json_int(c, "root");
        const json_t *left = json_object_get(c, "left"), *right = json_object_get(c, "right");
        const json_t *parent = json_object_get(c, "parent");
        const json_t *sibling = json_object_get(c, "sibling");
        ok = ok && json_array_size(left) == width && json_array_size(right) == width &&
             json_array_size(parent) == width && json_array_size(sibling) == width;
        for (uint32_t x = 0; ok && x < width; x++) {
            uint32_t v = 0;
            int rc = ek_mls_tree_left(&v, x);
            ok = ok && matches(json_array_get(left, x), rc, v);
            rc = ek_mls_tree_right(&v, x);
            ok = ok && matches(json_array_get(right, x), rc, v);
            rc = ek_mls_tree_parent(&v, x, n);
            ok = ok && matches(json_array_get(parent, x), rc, v);
            rc = ek_mls_tree_sibling(&v, x, n);
            ok = ok && matches(json_array_get(sibling, x), rc, v);
        }
        ek_vec_case(&st, ok, "case %zu (n_leaves %u)", i, n);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
