/*
 * validation.h: the semantic checks of RFC 9420 that the codec does not do:
 * LeafNode validation (§7.3, leaf_validation.c), whole-tree validation on
 * joining (§7.9.2, §12.4.3.1, tree_validation.c), and the extension-list
 * rules of §13.4. Everything here fails closed with EK_ERR_AUTH (a bad
 * signature or hash) or EK_ERR_DECODE (a well-formed but invalid value).
 */
#ifndef EK_MLS_VALIDATION_H
#define EK_MLS_VALIDATION_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_mls.h>

#include "tree.h"

/* The group parameters a LeafNode is checked against. */
typedef struct ek_mls_leaf_params {
    const ek_mls_suite *suite;
    const uint8_t *group_id;
    size_t group_id_len;
    const ek_mls_extensions *gc_extensions;         /* the GroupContext's; NULL = none */
    uint64_t now_s;                                 /* 0: the lifetime window is not checked */
    uint64_t now_floor_s;                           /* with now_s 0: not expired before this */
    uint64_t max_lifetime_s;                        /* 0: no cap on not_after - not_before */
    const ek_mls_credential_validator *credentials; /* NULL: every credential accepted */
    const ek_allocator *alloc;                      /* for scratch memory (NULL: malloc) */
} ek_mls_leaf_params;

/* Where a LeafNode appears decides its required source (§7.3). */
#define EK_MLS_LEAF_IN_TREE 0 /* any source */

/* 1 for the proposal and extension types every client implements (§7.2):
 * they are never listed in capabilities and are always supported. */
int ek_mls_default_proposal_type(uint16_t type);
int ek_mls_default_extension_type(uint16_t type);
/* 1 if list holds v. */
int ek_mls_u16_has(const ek_mls_u16_list *list, uint16_t v);
/* §13.4: no two extensions of one list share a type. */
int ek_mls_extensions_check(const ek_mls_extensions *x);
/* The extension of type in x, or NULL. */
const ek_mls_extension *ek_mls_extension_find(const ek_mls_extensions *x, uint16_t type);

/* Every check of §7.3 on one leaf except the signature and the checks
 * against the other members: credential, capabilities against the group's
 * extensions and required_capabilities (§11.1, §13.4), extensions listed in
 * the capabilities, lifetime, source (expected_source, or
 * EK_MLS_LEAF_IN_TREE for any). */
int ek_mls_leaf_check(const ek_mls_tnode *n, const ek_mls_leaf_params *p, int expected_source);
/* SignContent of a leaf: V("MLS 1.0 LeafNodeTBS") || V(LeafNodeTBS) with
 * group_id and leaf_index for the update and commit sources (§7.2). */
int ek_mls_leaf_sign_content(ek_writer *w, const ek_mls_tnode *n, const uint8_t *group_id,
                             size_t group_id_len, uint32_t leaf_index);
/* Verify one leaf's signature. */
int ek_mls_leaf_verify(const ek_mls_tnode *n, const ek_mls_suite *s, const uint8_t *group_id,
                       size_t group_id_len, uint32_t leaf_index, const ek_allocator *alloc);
/* Verify a batch of signatures through the suite (verify_batch or one by
 * one). */
int ek_mls_verify_signed_items(const ek_mls_suite *s, const ek_mls_signed_item *items, size_t n,
                               const ek_allocator *alloc);
/* §7.3 across members: every leaf's credential type is supported by every
 * leaf. O(n) over the cached capabilities. */
int ek_mls_tree_check_credential_types(const ek_mls_tree *t);
/* §7.3, §12.4.2: no two leaves share a signature key, and no encryption key
 * appears twice in the tree (leaves and parents). O(n log n). */
int ek_mls_tree_check_unique_keys(const ek_mls_tree *t);

/* Everything §12.4.3.1 asks of a tree a new member receives: unmerged
 * leaves consistent, every non-blank parent parent-hash valid (§7.9.2),
 * every leaf valid (§7.3, signatures batched), keys unique. The tree hash
 * itself is compared by the caller. */
int ek_mls_tree_validate(ek_mls_tree *t, const ek_mls_leaf_params *p);
/* Only the parent-hash part (§7.9.2). */
int ek_mls_tree_check_parent_hashes(ek_mls_tree *t);

#endif /* EK_MLS_VALIDATION_H */
