/*
 * tree_math.c: the arithmetic of array-based complete binary trees (RFC 9420
 * §4, Appendix C). Leaves are the even node indices (leaf L at 2L); the
 * level of a node is its number of trailing one bits.
 */
#include <enkrypt/ek_mls.h>

static int valid_leaf_count(uint32_t n_leaves)
{
    return n_leaves != 0 && (n_leaves & (n_leaves - 1)) == 0 && n_leaves <= EK_MLS_MAX_LEAVES;
}

/* floor(log2(x)) for x > 0; 0 for x == 0. */
static uint32_t log2_floor(uint32_t x)
{
    uint32_t k = 0;
    while (x >> (k + 1) != 0)
        k++;
    return k;
}

uint32_t ek_mls_tree_width(uint32_t n_leaves)
{
    return n_leaves == 0 ? 0 : 2 * (n_leaves - 1) + 1;
}

uint32_t ek_mls_tree_root(uint32_t n_leaves)
{
    uint32_t w = ek_mls_tree_width(n_leaves);
    return w == 0 ? 0 : ((uint32_t)1 << log2_floor(w)) - 1;
}

uint32_t ek_mls_tree_level(uint32_t node)
{
    uint32_t k = 0;
    while (k < 32 && ((node >> k) & 1u) == 1u)
        k++;
    return k;
}

int ek_mls_tree_left(uint32_t *out, uint32_t node)
{
    uint32_t k = ek_mls_tree_level(node);
    if (k == 0 || k >= 31)
        return EK_ERR_INVALID_ARG;
    *out = node ^ ((uint32_t)1 << (k - 1));
    return EK_OK;
}

int ek_mls_tree_right(uint32_t *out, uint32_t node)
{
    uint32_t k = ek_mls_tree_level(node);
    if (k == 0 || k >= 31)
        return EK_ERR_INVALID_ARG;
    *out = node ^ ((uint32_t)3 << (k - 1));
    return EK_OK;
}

int ek_mls_tree_parent(uint32_t *out, uint32_t node, uint32_t n_leaves)
{
    if (!valid_leaf_count(n_leaves) || node >= ek_mls_tree_width(n_leaves) ||
        node == ek_mls_tree_root(n_leaves))
        return EK_ERR_INVALID_ARG;
    uint32_t k = ek_mls_tree_level(node);
    uint32_t b = (node >> (k + 1)) & 1u;
    *out = (node | ((uint32_t)1 << k)) ^ (b << (k + 1));
    return EK_OK;
}

int ek_mls_tree_sibling(uint32_t *out, uint32_t node, uint32_t n_leaves)
{
    uint32_t p;
    int rc = ek_mls_tree_parent(&p, node, n_leaves);
    if (rc != EK_OK)
        return rc;
    return node < p ? ek_mls_tree_right(out, p) : ek_mls_tree_left(out, p);
}

int ek_mls_tree_direct_path(uint32_t *out, size_t *count, uint32_t node, uint32_t n_leaves)
{
    if (!valid_leaf_count(n_leaves) || node >= ek_mls_tree_width(n_leaves))
        return EK_ERR_INVALID_ARG;
    uint32_t root = ek_mls_tree_root(n_leaves);
    size_t n = 0;
    while (node != root) {
        if (n >= EK_MLS_MAX_TREE_DEPTH || ek_mls_tree_parent(&node, node, n_leaves) != EK_OK)
            return EK_ERR_INVALID_ARG;
        out[n++] = node;
    }
    *count = n;
    return EK_OK;
}

int ek_mls_tree_copath(uint32_t *out, size_t *count, uint32_t node, uint32_t n_leaves)
{
    if (!valid_leaf_count(n_leaves) || node >= ek_mls_tree_width(n_leaves))
        return EK_ERR_INVALID_ARG;
    uint32_t root = ek_mls_tree_root(n_leaves);
    size_t n = 0;
    while (node != root) {
        if (n >= EK_MLS_MAX_TREE_DEPTH || ek_mls_tree_sibling(&out[n], node, n_leaves) != EK_OK ||
            ek_mls_tree_parent(&node, node, n_leaves) != EK_OK)
            return EK_ERR_INVALID_ARG;
        n++;
    }
    *count = n;
    return EK_OK;
}

/* Appendix C common_ancestor_direct: strip low bits until the two indices
 * agree; the ancestor is the common prefix followed by 0111... */
uint32_t ek_mls_tree_common_ancestor(uint32_t x, uint32_t y)
{
    if (x == y)
        return x;
    uint32_t lx = ek_mls_tree_level(x) + 1, ly = ek_mls_tree_level(y) + 1;
    if (lx <= ly && lx < 32 && ly < 32 && x >> ly == y >> ly)
        return y;
    if (ly <= lx && lx < 32 && x >> lx == y >> lx)
        return x;
    uint32_t k = 0;
    while (x != y) {
        x >>= 1;
        y >>= 1;
        k++;
    }
    /* k is 1..32 here; 64-bit arithmetic keeps every shift defined. */
    return (uint32_t)(((uint64_t)x << k) + ((uint64_t)1 << (k - 1)) - 1);
}
