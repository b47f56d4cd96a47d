/*
 * treekem.h: TreeKEM (RFC 9420 §7.4-§7.6): the private keys a member holds
 * in the ratchet tree, creating an UpdatePath (new path secrets, parent
 * hashes, the re-signed leaf, the encrypted path secrets), merging a
 * received one into the tree and decrypting it.
 */
#ifndef EK_MLS_TREEKEM_H
#define EK_MLS_TREEKEM_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_mls.h>

#include "tree.h"

/* Private keys held for tree nodes: the own leaf and nodes on its direct
 * path (the tree invariant, §16.2: nothing else). */
#define EK_MLS_MAX_NODE_KEYS (EK_MLS_MAX_TREE_DEPTH + 1)

typedef struct ek_mls_node_key {
    uint32_t node;
    uint8_t pub[EK_MLS_MAX_KEM_PUBLIC_LEN];
    uint8_t priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
} ek_mls_node_key;

typedef struct ek_mls_keyring {
    size_t count;
    ek_mls_node_key k[EK_MLS_MAX_NODE_KEYS];
} ek_mls_keyring;

/* Store (replacing any key for the same node). */
int ek_mls_keyring_put(ek_mls_keyring *r, const ek_mls_suite *s, uint32_t node, const uint8_t *pub,
                       const uint8_t *priv);
/* The private key for node, only if the tree still holds its public key
 * there; NULL otherwise. */
const uint8_t *ek_mls_keyring_get(const ek_mls_keyring *r, const ek_mls_tree *t, uint32_t node);
/* Forget (and wipe) every key whose node no longer holds its public key. */
void ek_mls_keyring_prune(ek_mls_keyring *r, const ek_mls_tree *t);
void ek_mls_keyring_wipe(ek_mls_keyring *r);

/* The secrets of one UpdatePath (§7.4): the filtered direct path and its
 * copath, path_secret[k] for each node, and the commit secret. Secret:
 * wipe with ek_mls_path_secrets_wipe. */
typedef struct ek_mls_path_secrets {
    size_t count;
    uint32_t nodes[EK_MLS_MAX_TREE_DEPTH];
    uint32_t copath[EK_MLS_MAX_TREE_DEPTH];
    uint8_t secrets[EK_MLS_MAX_TREE_DEPTH][EK_MLS_MAX_HASH_LEN];
    uint8_t commit_secret[EK_MLS_MAX_HASH_LEN];
} ek_mls_path_secrets;

void ek_mls_path_secrets_wipe(ek_mls_path_secrets *ps);

/* node_priv, node_pub = DeriveKeyPair(DeriveSecret(path_secret, "node")). */
int ek_mls_node_key_pair(uint8_t *pub, uint8_t *priv, const ek_mls_suite *s,
                         const uint8_t *path_secret);

/* Sign leaf (its signature field is set to a buffer in a) and build the
 * node object; group_id/leaf_index enter the TBS for the update and commit
 * sources (§7.2). */
int ek_mls_leaf_sign(ek_mls_tnode **out, ek_mls_leaf_node *leaf, ek_mls_arena *a,
                     const ek_allocator *alloc, const ek_mls_suite *s, const uint8_t *sig_priv,
                     size_t sig_priv_len, const uint8_t *group_id, size_t group_id_len,
                     uint32_t leaf_index);

/* §7.5 "update their direct path", on tree t (proposals already applied):
 * blank the direct path of leaf, draw path secrets, set the filtered path's
 * nodes, compute parent hashes, and re-sign the leaf from tmpl (encryption
 * key, source commit and parent hash replaced). ps receives the secrets,
 * ring the new private keys (leaf and path). */
int ek_mls_treekem_update_path(ek_mls_path_secrets *ps, ek_mls_keyring *ring, ek_mls_tree *t,
                               uint32_t leaf, const ek_mls_leaf_node *tmpl, const uint8_t *sig_priv,
                               size_t sig_priv_len, const uint8_t *group_id, size_t group_id_len,
                               const ek_rng *rng);
/* §7.5-§7.6: the UpdatePath for the updated tree t: the leaf, each path
 * node's key, and path_secret[k] encrypted to every node of the copath
 * child's resolution (leaves in excl, the new members, left out), with the
 * provisional GroupContext as context. Buffers come from a. */
int ek_mls_treekem_encrypt(ek_mls_update_path *out, ek_mls_arena *a, ek_mls_tree *t, uint32_t leaf,
                           const ek_mls_path_secrets *ps, const uint32_t *excl, size_t excl_n,
                           const uint8_t *group_context, size_t gc_len, const ek_rng *rng);

/* §7.5 "merge UpdatePath into the tree": path length and key uniqueness
 * checked, direct path blanked, filtered path set with empty unmerged
 * lists, parent hashes recomputed and the leaf's parent_hash checked, then
 * the leaf stored. leaf_node is the node object of up->leaf_node (the
 * caller validated it, §7.3). */
int ek_mls_treekem_merge(ek_mls_tree *t, uint32_t sender, const ek_mls_update_path *up,
                         ek_mls_tnode *leaf_node);
/* §7.5 "decrypt the path secrets" on the merged tree t, as member me:
 * every encrypted_path_secret list has the size of its resolution, the
 * path secret decrypts with a key of ring, the derived public keys equal
 * the UpdatePath's; ring receives the new private keys, commit_secret the
 * commit secret, first (optional) the decrypted path secret. */
int ek_mls_treekem_decrypt(uint8_t *commit_secret, uint8_t *first, ek_mls_keyring *ring,
                           const ek_mls_tree *t, uint32_t sender, uint32_t me,
                           const ek_mls_update_path *up, const uint32_t *excl, size_t excl_n,
                           const uint8_t *group_context, size_t gc_len);
/* Derive the keys of the path from a path secret received for node
 * `from` (a Welcome's path_secret, §12.4.3.1): for `from` and each
 * non-blank ancestor, the derived public key must equal the tree's. */
int ek_mls_treekem_install_path_secret(ek_mls_keyring *ring, const ek_mls_tree *t, uint32_t me,
                                       uint32_t from, const uint8_t *path_secret);

#endif /* EK_MLS_TREEKEM_H */
