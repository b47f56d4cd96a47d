/*
 * commit.c: processing a received commit (RFC 9420 §12.4.2), the CommitRef
 * of our commit-ordering rule (docs/protocol.md), and the key schedule and
 * transcript step shared with commit creation (§8, §8.2; commit_create.c).
 * Processing works on a fork of the current epoch, so a commit that fails
 * a check changes nothing.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "group_internal.h"

int ek_mls_commit_ref(uint8_t *out, const ek_mls_suite *s, const ek_mls_authenticated_content *ac,
                      const ek_allocator *alloc)
{
    static const char label[] = "enkrypt MLS 1.0 CommitRef";
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    int rc = ek_mls_write_authenticated_content(&w, ac);
    if (rc == EK_OK)
        rc = ek_mls_ref_hash_alloc(out, s, label, sizeof(label) - 1, w.buf, w.len, alloc);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_epoch_advance(ek_mls_epoch *next, const ek_mls_group *g, const ek_mls_epoch *cur,
                         const uint8_t *commit_secret, const ek_mls_applied *applied,
                         const ek_mls_authenticated_content *ac, uint8_t *tag_out)
{
    const ek_mls_suite *s = g->suite;
    size_t nh = s->hash_len;
    next->epoch = cur->epoch + 1;
    /* §8.2: confirmed = Hash(interim_[n-1] || ConfirmedTranscriptHashInput). */
    EK_TRY(
        ek_mls_confirmed_transcript_hash_alloc(next->confirmed, s, cur->interim, nh, ac, g->alloc));
    next->confirmed_len = nh;
    EK_TRY(ek_mls_epoch_refresh_context(next, g));
    uint8_t psk_secret[EK_MLS_MAX_HASH_LEN];
    int rc = ek_mls_psk_secret_alloc(psk_secret, s, applied->psks, applied->psk_count, g->alloc);
    if (rc == EK_OK)
        rc = ek_mls_key_schedule_alloc(&next->secrets, s, cur->secrets.init_secret, commit_secret,
                                       psk_secret, next->gc, next->gc_len, g->alloc);
    ek_wipe(psk_secret, sizeof(psk_secret));
    if (rc != EK_OK)
        return rc;
    const uint8_t *tag = ac->auth.confirmation_tag.data;
    size_t tag_len = ac->auth.confirmation_tag.len;
    if (tag_out == NULL) {
        EK_TRY(ek_mls_confirmation_tag_verify(s, next->secrets.confirmation_key, next->confirmed,
                                              tag, tag_len));
    } else {
        /* §6.1: confirmation_tag = MAC(confirmation_key, confirmed). */
        ek_mls_confirmation_tag(tag_out, s, next->secrets.confirmation_key, next->confirmed);
        tag = tag_out;
        tag_len = nh;
    }
    EK_TRY(ek_mls_interim_transcript_hash_alloc(next->interim, s, next->confirmed, tag, tag_len,
                                                g->alloc));
    return ek_mls_epoch_start_secret_tree(next, g);
}

/* docs/protocol.md "MLS commit ordering" rule 3.5: a commit for an epoch
 * that owes Removes (carried over from a commit that lost a race in the
 * epoch before) must carry every one of them. The committer of such a
 * commit can never be an owed leaf: it cannot remove itself (§12.2). */
static int check_owed(const ek_mls_epoch *e, const ek_mls_applied *ap)
{
    for (size_t i = 0; i < e->owed.count; i++) {
        uint32_t l = e->owed.items[i];
        if (ek_mls_tree_leaf(&e->tree, l) == NULL)
            continue;
        int found = 0;
        for (size_t k = 0; k < ap->removed_count && !found; k++)
            found = ap->removed[k] == l;
        if (!found)
            return EK_ERR_DECODE;
    }
    return EK_OK;
}

int ek_mls_commit_process(ek_mls_epoch **out, ek_mls_applied *applied, ek_mls_arena *a,
                          ek_mls_group *g, ek_mls_epoch *e, const ek_mls_authenticated_content *ac)
{
    const ek_mls_suite *s = g->suite;
    const ek_mls_commit *c = &ac->content.u.commit;
    *out = NULL;
    if (ac->content.sender.type != EK_MLS_SENDER_MEMBER)
        return EK_ERR_UNSUPPORTED; /* external commits (§12.4.3.2) are not in our profile */
    uint32_t committer = ac->content.sender.index;
    if (committer == e->own_leaf || ek_mls_tree_leaf(&e->tree, committer) == NULL)
        return EK_ERR_STATE;
    ek_mls_proposal_list list;
    EK_TRY(ek_mls_proposals_resolve(&list, a, e, c, ac->content.sender, s));
    ek_mls_epoch *next = NULL;
    EK_TRY(ek_mls_epoch_fork(&next, e, g->alloc));
    int rc = ek_mls_proposals_apply(applied, a, g, e, next, &list, committer);
    if (rc == EK_OK)
        rc = check_owed(e, applied);
    if (rc == EK_OK && applied->path_required && c->path == NULL)
        rc = EK_ERR_DECODE;
    uint8_t commit_secret[EK_MLS_MAX_HASH_LEN] = {0};
    ek_mls_tnode *leaf = NULL;
    if (rc == EK_OK && c->path != NULL) {
        ek_mls_extensions ext;
        ek_mls_leaf_params lp;
        rc = ek_mls_epoch_extensions(&ext, a, next);
        ek_mls_epoch_leaf_params(&lp, g, &ext);
        if (rc == EK_OK)
            rc = ek_mls_tnode_new_leaf(&leaf, g->alloc, &c->path->leaf_node);
        if (rc == EK_OK)
            rc = ek_mls_leaf_check(leaf, &lp, EK_MLS_LEAF_SOURCE_COMMIT);
        if (rc == EK_OK)
            rc = ek_mls_leaf_verify(leaf, s, g->group_id, g->group_id_len, committer, g->alloc);
        const ek_mls_tnode *old = ek_mls_tree_leaf(&next->tree, committer);
        if (rc == EK_OK &&
            (old == NULL || (old->encryption_key.len == leaf->encryption_key.len &&
                             memcmp(old->encryption_key.data, leaf->encryption_key.data,
                                    leaf->encryption_key.len) == 0)))
            rc = EK_ERR_DECODE;
        /* A new signature key must stay unique among the members. */
        for (uint32_t l = 0; rc == EK_OK && l < next->tree.n_leaves; l++) {
            const ek_mls_tnode *n = ek_mls_tree_leaf(&next->tree, l);
            if (l != committer && n != NULL && n->signature_key.len == leaf->signature_key.len &&
                memcmp(n->signature_key.data, leaf->signature_key.data, n->signature_key.len) == 0)
                rc = EK_ERR_DECODE;
        }
        /* §7.3 across members: when the new leaf keeps the credential type
         * and supports at least the credential types the old one did, the
         * tree's answer cannot change; otherwise check every member. */
        int same_creds = rc == EK_OK && old->credential_type == leaf->credential_type;
        for (size_t k = 0; same_creds && k < old->caps.credentials.count; k++)
            same_creds = ek_mls_u16_has(&leaf->caps.credentials, old->caps.credentials.items[k]);
        if (rc == EK_OK)
            rc = ek_mls_treekem_merge(&next->tree, committer, c->path, leaf);
        if (rc == EK_OK && !same_creds)
            rc = ek_mls_tree_check_credential_types(&next->tree);
        /* The provisional GroupContext (§12.4.2): new epoch and tree, old
         * confirmed transcript hash. */
        next->epoch = e->epoch + 1;
        if (rc == EK_OK)
            rc = ek_mls_epoch_refresh_context(next, g);
        if (rc == EK_OK && !applied->self_removed) {
            /* New members are left out of the resolutions (§7.6); the
             * added leaves are in increasing order already. */
            rc = ek_mls_treekem_decrypt(commit_secret, NULL, &next->ring, &next->tree, committer,
                                        next->own_leaf, c->path, applied->added,
                                        applied->added_count, next->gc, next->gc_len);
        }
    }
    ek_mls_tnode_unref(leaf, g->alloc);
    if (rc == EK_OK && !applied->self_removed)
        rc = ek_mls_epoch_advance(next, g, e, commit_secret, applied, ac, NULL);
    else if (rc == EK_OK)
        next->epoch = e->epoch + 1; /* removed: no secrets of the new epoch */
    if (rc == EK_OK) {
        rc = ek_mls_commit_ref(next->commit_ref, s, ac, g->alloc);
        next->has_commit_ref = 1;
        next->committer = committer;
    }
    if (rc == EK_OK)
        rc = ek_mls_leaf_list_set(&next->removed, g->alloc, applied->removed,
                                  applied->removed_count);
    ek_wipe(commit_secret, sizeof(commit_secret));
    if (rc == EK_OK)
        ek_mls_keyring_prune(&next->ring, &next->tree);
    if (rc != EK_OK) {
        ek_mls_epoch_free(next, g->alloc);
        return rc;
    }
    *out = next;
    return EK_OK;
}
