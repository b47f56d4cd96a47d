/*
 * tree.h: the ratchet tree as the group keeps it between messages (RFC 9420
 * §4, §7): an array of immutable, reference-counted node objects, each owning
 * its encoding and the fields the protocol reads from it, with the tree hash
 * of every node cached (§7.8).
 *
 * Why this shape: a commit changes O(log n) nodes, and processing one must
 * leave the old tree intact until every check has passed (fail closed, and
 * the previous epoch is retained for the commit-ordering rule of
 * docs/protocol.md). Cloning a tree copies an array of pointers and the
 * hash cache and takes a reference on each node, so the working copy costs
 * one memcpy, and only the changed nodes are new objects. A node's tree
 * hash is cached per tree; setting a node invalidates it and its ancestors.
 */
#ifndef EK_MLS_TREE_H
#define EK_MLS_TREE_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_mls.h>

/* One non-blank node. Immutable once built; shared between trees. */
typedef struct ek_mls_tnode {
    uint32_t refs;
    uint8_t type;   /* EK_MLS_NODE_LEAF or EK_MLS_NODE_PARENT */
    uint8_t source; /* leaf: leaf_node_source */
    uint16_t credential_type;
    size_t alloc_size; /* bytes of the single block holding everything */
    /* The encoded LeafNode or ParentNode (owned, inside the block). */
    const uint8_t *enc;
    size_t enc_len;
    size_t tbs_len; /* leaf: bytes of enc before the signature vector */
    /* Views into enc. */
    ek_mls_bytes encryption_key;
    ek_mls_bytes signature_key; /* leaf */
    ek_mls_bytes parent_hash;   /* parent, or leaf of source commit */
    ek_mls_bytes signature;     /* leaf */
    uint64_t not_before, not_after;
    /* Leaf: capabilities and the types of its extensions (owned copies). */
    ek_mls_capabilities caps;
    ek_mls_u16_list extension_types;
    /* Parent: unmerged leaves, as encoded (owned copy). */
    ek_mls_u32_list unmerged;
} ek_mls_tnode;

/* A leaf node object from a decoded LeafNode (re-encoded canonically). */
int ek_mls_tnode_new_leaf(ek_mls_tnode **out, const ek_allocator *a, const ek_mls_leaf_node *leaf);
/* A leaf node object from an encoded LeafNode (the whole buffer). */
int ek_mls_tnode_new_leaf_bytes(ek_mls_tnode **out, const ek_allocator *a, const uint8_t *enc,
                                size_t len);
/* A parent node object. */
int ek_mls_tnode_new_parent(ek_mls_tnode **out, const ek_allocator *a, const uint8_t *pub,
                            size_t pub_len, const uint8_t *parent_hash, size_t ph_len,
                            const uint32_t *unmerged, size_t unmerged_count);
void ek_mls_tnode_ref(ek_mls_tnode *n);
void ek_mls_tnode_unref(ek_mls_tnode *n, const ek_allocator *a);
/* Decode a leaf node object's LeafNode (views into the node). */
int ek_mls_tnode_leaf(ek_mls_leaf_node *out, ek_mls_arena *arena, const ek_mls_tnode *n);

/* A sorted list of leaf indices (unmerged leaves, exclusions), or any
 * growable uint32 list owned through the allocator. */
typedef struct ek_mls_u32vec {
    uint32_t *v;
    size_t n, cap;
    const ek_allocator *alloc;
} ek_mls_u32vec;

void ek_mls_u32vec_init(ek_mls_u32vec *x, const ek_allocator *a);
int ek_mls_u32vec_push(ek_mls_u32vec *x, uint32_t v);
void ek_mls_u32vec_free(ek_mls_u32vec *x);
/* 1 if v is in the sorted list (binary search). */
int ek_mls_u32_sorted_has(const uint32_t *v, size_t n, uint32_t x);

typedef struct ek_mls_tree {
    const ek_mls_suite *suite;
    const ek_allocator *alloc;
    uint32_t n_leaves;    /* a power of two; width = 2 n_leaves - 1 */
    uint32_t cap_leaves;  /* leaves the arrays have room for */
    ek_mls_tnode **nodes; /* width entries; NULL is blank */
    uint8_t *hashes;      /* width * Nh */
    uint8_t *hash_ok;     /* width flags */
} ek_mls_tree;

/* An all-blank tree of n_leaves (a power of two). */
int ek_mls_tree_init(ek_mls_tree *t, const ek_mls_suite *s, const ek_allocator *a,
                     uint32_t n_leaves);
void ek_mls_tree_free(ek_mls_tree *t);
/* dst (uninitialised) becomes a copy of src sharing its nodes. */
int ek_mls_tree_clone(ek_mls_tree *dst, const ek_mls_tree *src);
/* Move src into dst (dst is freed first); src is left empty. */
void ek_mls_tree_move(ek_mls_tree *dst, ek_mls_tree *src);

static inline uint32_t ek_mls_tree_nodes(const ek_mls_tree *t)
{
    return 2 * t->n_leaves - 1;
}
/* The node at index i, NULL when blank or outside the tree. */
static inline const ek_mls_tnode *ek_mls_tree_get(const ek_mls_tree *t, uint32_t i)
{
    return i < ek_mls_tree_nodes(t) ? t->nodes[i] : NULL;
}
static inline const ek_mls_tnode *ek_mls_tree_leaf(const ek_mls_tree *t, uint32_t leaf)
{
    return leaf < t->n_leaves ? t->nodes[(size_t)2 * leaf] : NULL;
}
/* Set node i to n (the tree takes its own reference; NULL blanks). */
void ek_mls_tree_set(ek_mls_tree *t, uint32_t i, ek_mls_tnode *n);
/* Double the number of leaves (§7.7). */
int ek_mls_tree_extend(ek_mls_tree *t);
/* Halve while the right subtree is all blank (§7.7, §12.1.3). */
void ek_mls_tree_truncate(ek_mls_tree *t);
/* Number of non-blank leaves. */
uint32_t ek_mls_tree_member_count(const ek_mls_tree *t);

/* Tree hash of node i (§7.8), cached. out: Nh bytes. */
int ek_mls_tree_hash(uint8_t *out, ek_mls_tree *t, uint32_t i);
int ek_mls_tree_root_hash(uint8_t *out, ek_mls_tree *t);
/* Tree hash of node i in the tree with the leaves excl (sorted) blanked
 * and removed from every unmerged_leaves list (§7.9's "original sibling
 * tree hash"). Only the paths above excluded leaves are recomputed. */
int ek_mls_tree_hash_excluding(uint8_t *out, ek_mls_tree *t, uint32_t i, const uint32_t *excl,
                               size_t excl_n);
/* Parent hash of parent p with copath child s (§7.9): Hash(ParentHashInput)
 * with original_sibling_tree_hash given. out: Nh bytes. */
int ek_mls_parent_hash(uint8_t *out, const ek_mls_suite *s, const ek_mls_tnode *p,
                       const uint8_t *sibling_hash);

/* Resolution of node i (§4.1.1), appended to out as node indices; leaves
 * in excl (sorted leaf indices) are left out. */
int ek_mls_tree_resolution(ek_mls_u32vec *out, const ek_mls_tree *t, uint32_t i,
                           const uint32_t *excl, size_t excl_n);
/* 1 if the subtree under i has no non-blank node. */
int ek_mls_tree_subtree_blank(const ek_mls_tree *t, uint32_t i);
/* Filtered direct path of leaf (§4.1.2): path[k] a parent, copath[k] its
 * child not on the path; *count entries (at most EK_MLS_MAX_TREE_DEPTH). */
int ek_mls_tree_filtered_path(uint32_t *path, uint32_t *copath, size_t *count, const ek_mls_tree *t,
                              uint32_t leaf);

/* Leftmost blank leaf, or n_leaves when there is none. */
uint32_t ek_mls_tree_free_leaf(const ek_mls_tree *t);
/* Add (§12.1.1, §7.7): the leftmost blank leaf (extending when full) gets
 * leaf_node, and every non-blank parent above it lists it as unmerged. */
int ek_mls_tree_add(uint32_t *leaf, ek_mls_tree *t, ek_mls_tnode *leaf_node);
/* Blank every parent on leaf's direct path. */
void ek_mls_tree_blank_path(ek_mls_tree *t, uint32_t leaf);
/* Update (§12.1.2): replace the leaf, blank its direct path. */
void ek_mls_tree_update(ek_mls_tree *t, uint32_t leaf, ek_mls_tnode *leaf_node);
/* Remove (§12.1.3): blank the leaf and its direct path, then truncate. */
void ek_mls_tree_remove(ek_mls_tree *t, uint32_t leaf);

/* The ratchet_tree encoding (§12.4.3.3): trailing blanks dropped. */
int ek_mls_tree_write(ek_writer *w, const ek_mls_tree *t);
/* A tree from a decoded ratchet_tree (padded to 2^(d+1) - 1 nodes). Only
 * the shape is checked here; ek_mls_tree_validate does the rest. */
int ek_mls_tree_from_decoded(ek_mls_tree *t, const ek_mls_suite *s, const ek_allocator *a,
                             const ek_mls_ratchet_tree *rt);

/* The leaf whose encoding equals enc, or UINT32_MAX. */
uint32_t ek_mls_tree_find_leaf(const ek_mls_tree *t, const uint8_t *enc, size_t len);

#endif /* EK_MLS_TREE_H */
