/*
 * group_internal.h: the state behind ek_mls_group (RFC 9420 §8, §11, §12)
 * and the internal functions the group files share: key_package.c,
 * epoch.c, proposals.c, commit.c, welcome.c, group.c, group_state.c.
 *
 * A group holds its current epoch, optionally the previous one (retained
 * until settled, for late messages and for the commit-ordering rule of
 * docs/protocol.md "MLS commit ordering"), and optionally the epoch its own
 * unsent commit would create. An epoch owns its ratchet tree (nodes shared
 * with the other epochs), its GroupContext, secrets, secret tree, the
 * private keys of the own direct path and the proposals received in it.
 */
#ifndef EK_MLS_GROUP_INTERNAL_H
#define EK_MLS_GROUP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_mls.h>

#include "codec.h"
#include "tree.h"
#include "treekem.h"
#include "validation.h"

struct ek_mls_key_package_bundle {
    const ek_allocator *alloc;
    const ek_mls_suite *suite;
    uint8_t *msg; /* MLSMessage(KeyPackage) */
    size_t msg_len;
    uint8_t ref[EK_MLS_MAX_HASH_LEN]; /* KeyPackageRef */
    uint8_t init_priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    uint8_t encryption_priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    uint8_t signature_priv[EK_MLS_MAX_HASH_LEN * 2];
    size_t signature_priv_len;
    ek_mls_tnode *leaf; /* its LeafNode */
};

/* A proposal received (or sent) in an epoch, kept under its ProposalRef. */
typedef struct ek_mls_cached_proposal {
    uint8_t ref[EK_MLS_MAX_HASH_LEN];
    ek_mls_sender sender;
    uint8_t *enc; /* the encoded Proposal */
    size_t enc_len;
    int own_update; /* our own Update: the new leaf key below */
    uint8_t update_pub[EK_MLS_MAX_KEM_PUBLIC_LEN];
    uint8_t update_priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
} ek_mls_cached_proposal;

/* A list of leaf indices (owned copy). */
typedef struct ek_mls_leaf_list {
    uint32_t *items;
    size_t count;
} ek_mls_leaf_list;

/* A list of encoded proposals (owned copies). */
typedef struct ek_mls_encoded_list {
    uint8_t **items;
    size_t *lens;
    size_t count, cap;
} ek_mls_encoded_list;

typedef struct ek_mls_epoch {
    uint64_t epoch;
    ek_mls_tree tree;
    uint32_t own_leaf;
    uint8_t *gc_ext; /* the GroupContext's Extension extensions<V>, encoded */
    size_t gc_ext_len;
    uint8_t confirmed[EK_MLS_MAX_HASH_LEN];
    size_t confirmed_len; /* 0 in epoch 0 (§8.2) */
    uint8_t interim[EK_MLS_MAX_HASH_LEN];
    uint8_t tree_hash[EK_MLS_MAX_HASH_LEN];
    uint8_t *gc; /* the encoded GroupContext */
    size_t gc_len;
    ek_mls_epoch_secrets secrets;
    ek_mls_secret_tree st;
    ek_mls_keyring ring;
    ek_mls_cached_proposal *proposals;
    size_t proposal_count, proposal_cap;
    /* The commit that started this epoch (docs/protocol.md): its CommitRef,
     * and whether it was ours. */
    uint8_t commit_ref[EK_MLS_MAX_HASH_LEN];
    int has_commit_ref;
    int own_commit;
    /* That commit's committer (EK_MLS_NO_LEAF for an epoch entered by
     * creating or joining) and the leaves it removed, numbered as in the
     * epoch before (and here: removed leaves are blank, others keep their
     * index). They decide a race against a competing commit (rule 3.3). */
    uint32_t committer;
    ek_mls_leaf_list removed;
    /* Removes carried over from commits that lost a race (rule 3.5):
     * every commit for this epoch must remove these leaves. */
    ek_mls_leaf_list owed;
    /* Our own commit: the proposals it carried by value, to carry again
     * if it loses the tie-break. */
    ek_mls_encoded_list own_inline;
} ek_mls_epoch;

/* The resumption PSK of one past epoch (§8.6). */
typedef struct ek_mls_resumption_psk {
    uint64_t epoch;
    int used;
    uint8_t psk[EK_MLS_MAX_HASH_LEN];
} ek_mls_resumption_psk;

struct ek_mls_group {
    ek_mls_group_config cfg;
    const ek_allocator *alloc;
    const ek_mls_suite *suite;
    uint8_t *group_id;
    size_t group_id_len;
    uint8_t sig_priv[EK_MLS_MAX_HASH_LEN * 2];
    size_t sig_priv_len;
    uint64_t now_s;
    /* A time known to have passed (our own KeyPackage's not_before at
     * create or join; 0: none): without now_s, KeyPackages we accept must
     * not have expired before it (RFC 9420 §7.3). */
    uint64_t clock_floor_s;
    int active; /* 0 once a commit removed us */
    ek_mls_epoch *cur, *prev, *pending;
    /* Proposals a lost commit of ours carried by value: the next commit
     * carries them again (re-proposal after losing the tie-break). */
    ek_mls_encoded_list lost;
    ek_mls_resumption_psk resumption[EK_MLS_RESUMPTION_EPOCHS];
};

#define EK_MLS_NO_LEAF UINT32_MAX

/* ---- epoch.c ---- */
/* Replace l's items by a copy of items[0..n). */
int ek_mls_leaf_list_set(ek_mls_leaf_list *l, const ek_allocator *a, const uint32_t *items,
                         size_t n);
void ek_mls_leaf_list_free(ek_mls_leaf_list *l, const ek_allocator *a);
int ek_mls_leaf_list_has(const ek_mls_leaf_list *l, uint32_t leaf);
int ek_mls_encoded_list_push(ek_mls_encoded_list *l, const ek_allocator *a, const uint8_t *p,
                             size_t n);
void ek_mls_encoded_list_free(ek_mls_encoded_list *l, const ek_allocator *a);
int ek_mls_epoch_new(ek_mls_epoch **out, const ek_allocator *a);
void ek_mls_epoch_free(ek_mls_epoch *e, const ek_allocator *a);
/* A copy of e for the next epoch: the tree (shared nodes), extensions,
 * transcript hashes, keys; no secrets, no proposals. */
int ek_mls_epoch_fork(ek_mls_epoch **out, const ek_mls_epoch *e, const ek_allocator *a);
int ek_mls_epoch_set_extensions(ek_mls_epoch *e, const ek_allocator *a,
                                const ek_mls_extensions *ext);
int ek_mls_epoch_extensions(ek_mls_extensions *out, ek_mls_arena *arena, const ek_mls_epoch *e);
/* Tree hash and the encoded GroupContext from the epoch's fields. */
int ek_mls_epoch_refresh_context(ek_mls_epoch *e, const ek_mls_group *g);
/* The secret tree of the epoch, from secrets.encryption_secret. */
int ek_mls_epoch_start_secret_tree(ek_mls_epoch *e, const ek_mls_group *g);
int ek_mls_epoch_cache_proposal(ek_mls_epoch *e, const ek_allocator *a,
                                const ek_mls_cached_proposal *p);
/* Drop the proposals cached after the first count (undoing a cache that
 * must not stay). */
void ek_mls_epoch_uncache_since(ek_mls_epoch *e, const ek_allocator *a, size_t count);
const ek_mls_cached_proposal *ek_mls_epoch_find_proposal(const ek_mls_epoch *e, const uint8_t *ref,
                                                         size_t ref_len);
/* The leaf params (§7.3) for the group in epoch e; ext is e's decoded
 * extensions (or NULL). */
void ek_mls_epoch_leaf_params(ek_mls_leaf_params *p, const ek_mls_group *g,
                              const ek_mls_extensions *ext);

/* §7.3: the proposer or committer of an Add MUST check the KeyPackage's
 * lifetime. The leaf params for that (lp from ek_mls_epoch_leaf_params):
 * the window against the clock (ek_mls_group_set_time), or without one,
 * expiry against the group's clock floor; EK_ERR_STATE when the group
 * knows no time at all. */
int ek_mls_group_accept_params(ek_mls_leaf_params *lp, const ek_mls_group *g);

/* ---- key_package.c ---- */
/* §10.1: a received KeyPackage (kp decoded from kp_bytes) is valid for
 * the group parameters p; *leaf receives its leaf node object. */
int ek_mls_key_package_check(ek_mls_tnode **leaf, const ek_mls_key_package *kp,
                             const ek_mls_leaf_params *p, const ek_allocator *a);

/* ---- proposals.c ---- */
typedef struct ek_mls_resolved_proposal {
    const ek_mls_proposal *p; /* decoded (views into the message or a cache) */
    ek_mls_sender sender;
    const ek_mls_cached_proposal *cached; /* by reference: the cache entry */
} ek_mls_resolved_proposal;

typedef struct ek_mls_proposal_list {
    ek_mls_resolved_proposal *items;
    size_t count;
} ek_mls_proposal_list;

/* What applying a proposal list produced (§12.3). */
typedef struct ek_mls_applied {
    int path_required;
    int self_removed;
    int self_updated;  /* our own Update was applied: ring has the new key */
    uint32_t *removed; /* leaf of each Remove, in order (arena) */
    size_t removed_count;
    uint32_t *added; /* leaf of each Add, in order (arena) */
    const ek_mls_key_package **added_kp;
    size_t added_count;
    ek_mls_psk *psks; /* resolved PSKs, in order (arena) */
    size_t psk_count;
    int has_gce;
} ek_mls_applied;

/* The proposals of commit c (by value or reference, in order) from the
 * cache of epoch e; committer is the sender of the commit. */
int ek_mls_proposals_resolve(ek_mls_proposal_list *out, ek_mls_arena *a, const ek_mls_epoch *e,
                             const ek_mls_commit *c, ek_mls_sender committer,
                             const ek_mls_suite *s);
/* §12.2 and §12.3: validate the list for a commit by committer and apply
 * it to next (a fork of the current epoch): GroupContextExtensions first,
 * then Updates, Removes, Adds, PSKs. */
int ek_mls_proposals_apply(ek_mls_applied *out, ek_mls_arena *a, const ek_mls_group *g,
                           const ek_mls_epoch *cur, ek_mls_epoch *next,
                           const ek_mls_proposal_list *list, uint32_t committer);
/* A proposal received in epoch e from sender, on its own (§12.1, §7.3):
 * Add (KeyPackage §10.1, keys new to the tree, credential types supported
 * both ways), Update (leaf valid for the sender's leaf, signed, keys new),
 * Remove (a member), PSK (nonce length, usage), GroupContextExtensions (no
 * duplicate type, supported by every member). ext: the GroupContext
 * extensions to check leaves against (NULL: e's). Checks that need the
 * whole commit's list are ek_mls_proposals_apply's. */
int ek_mls_proposal_check(const ek_mls_group *g, const ek_mls_epoch *e, const ek_mls_proposal *p,
                          ek_mls_sender sender, const ek_mls_extensions *ext);
/* §7.3 against the members of t: n's encryption key is in no node of t,
 * its signature key is no other member's (replacing: the leaf it
 * replaces, or EK_MLS_NO_LEAF), each supports the other's credential
 * type. gone (one byte per leaf, or NULL): leaves a commit removes, left
 * out. */
int ek_mls_new_leaf_fits(const ek_mls_tree *t, const ek_mls_tnode *n, uint32_t replacing,
                         const uint8_t *gone);
/* A PSK by id: external through the config, resumption from a retained
 * epoch of this group. */
int ek_mls_psk_resolve(ek_mls_bytes *secret, const ek_mls_group *g, const ek_mls_psk_id *id);

/* ---- commit.c ---- */
/* CommitRef (docs/protocol.md): RefHash("enkrypt MLS 1.0 CommitRef",
 * AuthenticatedContent). */
int ek_mls_commit_ref(uint8_t *out, const ek_mls_suite *s, const ek_mls_authenticated_content *ac,
                      const ek_allocator *alloc);
/* §12.4.2: apply the authenticated commit ac to epoch e; *out receives the
 * new epoch. Nothing of g or e changes. */
int ek_mls_commit_process(ek_mls_epoch **out, ek_mls_applied *applied, ek_mls_arena *a,
                          ek_mls_group *g, ek_mls_epoch *e, const ek_mls_authenticated_content *ac);
/* Key schedule and transcript of a new epoch (shared by create/process):
 * with tag_out NULL the commit's confirmation tag is verified, otherwise
 * it is computed into tag_out (Nh bytes) for the commit being made. */
int ek_mls_epoch_advance(ek_mls_epoch *next, const ek_mls_group *g, const ek_mls_epoch *cur,
                         const uint8_t *commit_secret, const ek_mls_applied *applied,
                         const ek_mls_authenticated_content *ac, uint8_t *tag_out);

/* ---- welcome.c ---- */
/* §12.4.3.1: a Welcome for the members added by a commit. */
int ek_mls_welcome_create(ek_writer *w, const ek_mls_group *g, const ek_mls_epoch *next,
                          const ek_mls_applied *applied, const ek_mls_path_secrets *ps,
                          int has_path, const uint8_t *confirmation_tag);

/* §12.4.3.1 up to the GroupInfo: find our entry (KeyPackageRef kp_ref),
 * decrypt the GroupSecrets with init_priv, resolve the PSKs (external
 * only) into psk_secret (Nh), decrypt and decode the GroupInfo. Views
 * point into a. */
int ek_mls_welcome_open(ek_mls_group_secrets *gs, ek_mls_group_info *gi, uint8_t *psk_secret,
                        ek_mls_arena *a, const ek_mls_group_config *cfg, const ek_mls_welcome *wel,
                        const ek_mls_suite *s, const uint8_t *kp_ref, const uint8_t *init_priv);

/* ---- group.c ---- */
/* Keep e's resumption PSK (replacing the same epoch's, or the oldest). */
void ek_mls_group_remember_resumption(ek_mls_group *g, const ek_mls_epoch *e);
/* A group object with config, suite and group id; no epoch yet. */
int ek_mls_group_alloc(ek_mls_group **out, const ek_mls_group_config *cfg, const ek_mls_suite *s,
                       const uint8_t *group_id, size_t group_id_len);
/* Protect authenticated content as the group's handshake wire format or
 * a PrivateMessage, into an MLSMessage. A PrivateMessage's ratchet key is
 * not consumed: *use names it, for the caller to consume with
 * ek_mls_key_use_consume once nothing else can fail. */
int ek_mls_group_frame(ek_writer *w, ek_mls_key_use *use, ek_mls_group *g, ek_mls_epoch *e,
                       ek_mls_authenticated_content *ac, ek_mls_arena *a);
/* Fill framing header fields (group id, epoch, member sender). */
void ek_mls_group_content_header(ek_mls_framed_content *c, const ek_mls_group *g,
                                 const ek_mls_epoch *e, uint8_t content_type);
/* A byte buffer handed to the caller (taken from a writer). */
int ek_mls_buf_from_writer(ek_mls_buf *out, ek_writer *w);

#endif /* EK_MLS_GROUP_INTERNAL_H */
