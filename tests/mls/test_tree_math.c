/*
 * test_tree_math.c: what tree-math.json does not cover (RFC 9420 §4.1.2,
 * Appendix C): direct paths and copaths (the example of Figure 11), the
 * lowest common ancestor against its definition for every pair of nodes,
 * and the argument checks.
 */
#include <enkrypt/ek_mls.h>

#include "ek_test.h"

static void test_paths(void)
{
    /* Figure 11, 8 leaves: A (node 0) has direct path T, U, W = 1, 3, 7
     * and copath B, V, Y = 2, 5, 11. */
    uint32_t path[EK_MLS_MAX_TREE_DEPTH];
    size_t n = 0;
    EK_CHECK_OK(ek_mls_tree_direct_path(path, &n, 0, 8));
    EK_CHECK(n == 3 && path[0] == 1 && path[1] == 3 && path[2] == 7);
    EK_CHECK_OK(ek_mls_tree_copath(path, &n, 0, 8));
    EK_CHECK(n == 3 && path[0] == 2 && path[1] == 5 && path[2] == 11);
    /* G (node 12): direct path Z, Y, W = 13, 11, 7; copath H, X, U. */
    EK_CHECK_OK(ek_mls_tree_direct_path(path, &n, 12, 8));
    EK_CHECK(n == 3 && path[0] == 13 && path[1] == 11 && path[2] == 7);
    EK_CHECK_OK(ek_mls_tree_copath(path, &n, 12, 8));
    EK_CHECK(n == 3 && path[0] == 14 && path[1] == 9 && path[2] == 3);
    /* The root has empty paths; a one-leaf tree is just its root. */
    EK_CHECK_OK(ek_mls_tree_direct_path(path, &n, 7, 8));
    EK_CHECK(n == 0);
    EK_CHECK_OK(ek_mls_tree_direct_path(path, &n, 0, 1));
    EK_CHECK(n == 0);
    /* The deepest tree we allow has EK_MLS_MAX_TREE_DEPTH levels. */
    EK_CHECK_OK(ek_mls_tree_direct_path(path, &n, 0, EK_MLS_MAX_LEAVES));
    EK_CHECK(n == EK_MLS_MAX_TREE_DEPTH);
    /* Argument checks. */
    EK_CHECK_RC(ek_mls_tree_direct_path(path, &n, 15, 8), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_mls_tree_direct_path(path, &n, 0, 6), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_mls_tree_direct_path(path, &n, 0, 2 * EK_MLS_MAX_LEAVES), EK_ERR_INVALID_ARG);
    uint32_t v;
    EK_CHECK_RC(ek_mls_tree_parent(&v, 7, 8), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_mls_tree_left(&v, 4), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_mls_tree_left(&v, UINT32_MAX), EK_ERR_INVALID_ARG);
}

/* Appendix C common_ancestor_semantic: the lowest-level node in both
 * {x} + direct_path(x) and {y} + direct_path(y). */
static uint32_t ancestor_by_definition(uint32_t x, uint32_t y, uint32_t n_leaves)
{
    uint32_t px[EK_MLS_MAX_TREE_DEPTH + 1], py[EK_MLS_MAX_TREE_DEPTH + 1];
    size_t nx = 0, ny = 0;
    px[0] = x;
    py[0] = y;
    (void)ek_mls_tree_direct_path(px + 1, &nx, x, n_leaves);
    (void)ek_mls_tree_direct_path(py + 1, &ny, y, n_leaves);
    for (size_t i = 0; i <= nx; i++)
        for (size_t j = 0; j <= ny; j++)
            if (px[i] == py[j])
                return px[i];
    return UINT32_MAX;
}

static void test_common_ancestor(void)
{
    const uint32_t n_leaves = 16;
    int all = 1;
    for (uint32_t x = 0; x < ek_mls_tree_width(n_leaves); x++)
        for (uint32_t y = 0; y < ek_mls_tree_width(n_leaves); y++)
            all &= ek_mls_tree_common_ancestor(x, y) == ancestor_by_definition(x, y, n_leaves);
    EK_CHECK(all);
    EK_CHECK(ek_mls_tree_common_ancestor(0, 2) == 1);
    EK_CHECK(ek_mls_tree_common_ancestor(0, 14) == 7);
    /* Indices far apart stay defined (no shift by 32). */
    EK_CHECK(ek_mls_tree_common_ancestor(0, 0x80000000u) == 0x7fffffffu);
    EK_CHECK(ek_mls_tree_common_ancestor(UINT32_MAX, UINT32_MAX) == UINT32_MAX);
}

int main(void)
{
    test_paths();
    test_common_ancestor();
    return ek_test_finish("unit.mls.tree_math");
}
