/*
 * proposals.c: the proposal list of a commit (RFC 9420 §12.1-§12.3):
 * resolving references against the epoch's cache, validating every
 * proposal and the list as a whole (§12.2), and applying it to the next
 * epoch in the order of §12.3. PSKs are looked up here (§8.4).
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "group_internal.h"

int ek_mls_proposals_resolve(ek_mls_proposal_list *out, ek_mls_arena *a, const ek_mls_epoch *e,
                             const ek_mls_commit *c, ek_mls_sender committer, const ek_mls_suite *s)
{
    memset(out, 0, sizeof(*out));
    if (c->proposal_count == 0)
        return EK_OK;
    out->items = ek_mls_arena_alloc(a, c->proposal_count * sizeof(*out->items));
    if (out->items == NULL)
        return EK_ERR_NOMEM;
    for (size_t i = 0; i < c->proposal_count; i++) {
        const ek_mls_proposal_or_ref *por = &c->proposals[i];
        ek_mls_resolved_proposal *it = &out->items[i];
        if (por->type == EK_MLS_PROPOSAL_OR_REF_PROPOSAL) {
            it->p = por->proposal;
            it->sender = committer;
            continue;
        }
        if (por->reference.len != s->hash_len)
            return EK_ERR_DECODE;
        const ek_mls_cached_proposal *cp =
            ek_mls_epoch_find_proposal(e, por->reference.data, por->reference.len);
        if (cp == NULL)
            return EK_ERR_STATE; /* a proposal we never received */
        ek_mls_proposal *p = ek_mls_arena_alloc(a, sizeof(*p));
        if (p == NULL)
            return EK_ERR_NOMEM;
        ek_reader r;
        ek_reader_init(&r, cp->enc, cp->enc_len);
        EK_TRY(ek_mls_read_proposal(p, a, &r));
        EK_TRY(ek_reader_finish(&r));
        it->p = p;
        it->sender = cp->sender;
        it->cached = cp;
    }
    out->count = c->proposal_count;
    return EK_OK;
}

int ek_mls_psk_resolve(ek_mls_bytes *secret, const ek_mls_group *g, const ek_mls_psk_id *id)
{
    const ek_mls_suite *s = g->suite;
    if (id->psk_nonce.len != s->hash_len)
        return EK_ERR_DECODE;
    if (id->type == EK_MLS_PSK_EXTERNAL) {
        if (g->cfg.psks.lookup == NULL)
            return EK_ERR_STATE;
        const uint8_t *psk = NULL;
        size_t len = 0;
        int rc = g->cfg.psks.lookup(g->cfg.psks.ctx, id->psk_id.data, id->psk_id.len, &psk, &len);
        if (rc != EK_OK || (psk == NULL && len > 0))
            return EK_ERR_STATE;
        secret->data = psk;
        secret->len = len;
        return EK_OK;
    }
    /* Resumption (§8.6): only usage application, only this group, only the
     * epochs whose PSK we keep (EK_MLS_RESUMPTION_EPOCHS). reinit and branch belong to §11.2/§11.3,
     * which we do not implement. */
    if (id->usage != EK_MLS_RESUMPTION_APPLICATION)
        return EK_ERR_UNSUPPORTED;
    if (id->psk_group_id.len != g->group_id_len ||
        memcmp(id->psk_group_id.data, g->group_id, g->group_id_len) != 0)
        return EK_ERR_STATE;
    if (g->cur != NULL && g->cur->epoch == id->psk_epoch) {
        secret->data = g->cur->secrets.resumption_psk;
        secret->len = s->hash_len;
        return EK_OK;
    }
    for (size_t i = 0; i < EK_MLS_RESUMPTION_EPOCHS; i++) {
        if (g->resumption[i].used && g->resumption[i].epoch == id->psk_epoch) {
            secret->data = g->resumption[i].psk;
            secret->len = s->hash_len;
            return EK_OK;
        }
    }
    return EK_ERR_STATE;
}

static int same_key(ek_mls_bytes a, ek_mls_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

int ek_mls_new_leaf_fits(const ek_mls_tree *t, const ek_mls_tnode *n, uint32_t replacing,
                         const uint8_t *gone)
{
    uint32_t width = ek_mls_tree_nodes(t);
    for (uint32_t i = 0; i < width; i++) {
        const ek_mls_tnode *x = t->nodes[i];
        if (x != NULL && !(i % 2 == 0 && gone != NULL && gone[i / 2]) &&
            same_key(x->encryption_key, n->encryption_key))
            return EK_ERR_DECODE;
    }
    for (uint32_t l = 0; l < t->n_leaves; l++) {
        const ek_mls_tnode *x = t->nodes[(size_t)2 * l];
        if (x == NULL || l == replacing || (gone != NULL && gone[l]))
            continue;
        if (same_key(x->signature_key, n->signature_key))
            return EK_ERR_DECODE;
        if (!ek_mls_u16_has(&x->caps.credentials, n->credential_type) ||
            !ek_mls_u16_has(&n->caps.credentials, x->credential_type))
            return EK_ERR_UNSUPPORTED;
    }
    return EK_OK;
}

/* §12.1.7: every member supports the new GroupContext extensions (and
 * their required_capabilities); §13.4: no type twice. */
static int check_gce(const ek_mls_group *g, const ek_mls_epoch *e, const ek_mls_extensions *ext)
{
    EK_TRY(ek_mls_extensions_check(ext));
    ek_mls_leaf_params gp;
    ek_mls_epoch_leaf_params(&gp, g, ext);
    gp.now_s = 0;
    gp.max_lifetime_s = 0;
    gp.credentials = NULL;
    for (uint32_t l = 0; l < e->tree.n_leaves; l++) {
        const ek_mls_tnode *n = ek_mls_tree_leaf(&e->tree, l);
        if (n != NULL)
            EK_TRY(ek_mls_leaf_check(n, &gp, EK_MLS_LEAF_IN_TREE));
    }
    return EK_OK;
}

/* §12.1.2 with §7.3: an Update's leaf is valid for the sender's leaf. */
static int check_update(const ek_mls_group *g, const ek_mls_epoch *e, const ek_mls_leaf_node *ln,
                        uint32_t leaf, const ek_mls_leaf_params *lp)
{
    if (ek_mls_tree_leaf(&e->tree, leaf) == NULL)
        return EK_ERR_DECODE;
    ek_mls_tnode *n = NULL;
    EK_TRY(ek_mls_tnode_new_leaf(&n, g->alloc, ln));
    int rc = ek_mls_leaf_check(n, lp, EK_MLS_LEAF_SOURCE_UPDATE);
    if (rc == EK_OK)
        rc = ek_mls_leaf_verify(n, g->suite, g->group_id, g->group_id_len, leaf, g->alloc);
    /* The encryption key is new to the whole tree (the replaced leaf's
     * included), the signature key no other member's. */
    if (rc == EK_OK)
        rc = ek_mls_new_leaf_fits(&e->tree, n, leaf, NULL);
    ek_mls_tnode_unref(n, g->alloc);
    return rc;
}

int ek_mls_proposal_check(const ek_mls_group *g, const ek_mls_epoch *e, const ek_mls_proposal *p,
                          ek_mls_sender sender, const ek_mls_extensions *ext)
{
    const ek_mls_suite *s = g->suite;
    if (sender.type != EK_MLS_SENDER_MEMBER || ek_mls_tree_leaf(&e->tree, sender.index) == NULL)
        return EK_ERR_UNSUPPORTED;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_mls_extensions cur;
    int rc = EK_OK;
    if (ext == NULL) {
        rc = ek_mls_epoch_extensions(&cur, &a, e);
        ext = &cur;
    }
    ek_mls_leaf_params lp;
    ek_mls_epoch_leaf_params(&lp, g, ext);
    if (rc == EK_OK) {
        switch (p->type) {
        case EK_MLS_PROPOSAL_ADD: {
            ek_mls_tnode *leaf = NULL;
            rc = ek_mls_key_package_check(&leaf, &p->u.add, &lp, g->alloc);
            if (rc == EK_OK)
                rc = ek_mls_new_leaf_fits(&e->tree, leaf, EK_MLS_NO_LEAF, NULL);
            ek_mls_tnode_unref(leaf, g->alloc);
            break;
        }
        case EK_MLS_PROPOSAL_UPDATE:
            rc = check_update(g, e, &p->u.update, sender.index, &lp);
            break;
        case EK_MLS_PROPOSAL_REMOVE:
            rc = ek_mls_tree_leaf(&e->tree, p->u.remove) != NULL ? EK_OK : EK_ERR_DECODE;
            break;
        case EK_MLS_PROPOSAL_PSK:
            if (p->u.psk.psk_nonce.len != s->hash_len ||
                (p->u.psk.type == EK_MLS_PSK_RESUMPTION &&
                 p->u.psk.usage != EK_MLS_RESUMPTION_APPLICATION))
                rc = EK_ERR_DECODE;
            break;
        case EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
            rc = check_gce(g, e, &p->u.group_context_extensions);
            break;
        default: rc = EK_ERR_UNSUPPORTED; /* ReInit, ExternalInit: not in our profile */
        }
    }
    ek_mls_arena_free(&a);
    return rc;
}

static int psk_id_equal(const ek_mls_psk_id *a, const ek_mls_psk_id *b)
{
    uint8_t ba[512], bb[512];
    ek_writer wa, wb;
    ek_writer_init_fixed(&wa, ba, sizeof(ba));
    ek_writer_init_fixed(&wb, bb, sizeof(bb));
    if (ek_mls_write_psk_id(&wa, a) != EK_OK || ek_mls_write_psk_id(&wb, b) != EK_OK)
        return 1; /* too long to compare: treat as a duplicate (refused) */
    return wa.len == wb.len && memcmp(ba, bb, wa.len) == 0;
}

/* §12.2 checks on the list that need no tree change. */
static int check_list(const ek_mls_proposal_list *list, const ek_mls_epoch *cur, uint32_t committer,
                      ek_mls_arena *a, const ek_mls_suite *s)
{
    const ek_mls_tree *t = &cur->tree;
    uint8_t *touched = ek_mls_arena_alloc(a, t->n_leaves);
    if (touched == NULL)
        return EK_ERR_NOMEM;
    size_t gce = 0;
    for (size_t i = 0; i < list->count; i++) {
        const ek_mls_resolved_proposal *it = &list->items[i];
        const ek_mls_proposal *p = it->p;
        /* Only members send proposals here: external senders (§12.1.8) are
         * not part of our profile. */
        if (it->sender.type != EK_MLS_SENDER_MEMBER)
            return EK_ERR_UNSUPPORTED;
        if (ek_mls_tree_leaf(t, it->sender.index) == NULL)
            return EK_ERR_DECODE;
        switch (p->type) {
        case EK_MLS_PROPOSAL_ADD: break;
        case EK_MLS_PROPOSAL_UPDATE:
            /* The committer cannot update itself by proposal, and a leaf
             * gets at most one Update or Remove. */
            if (it->sender.index == committer || touched[it->sender.index])
                return EK_ERR_DECODE;
            touched[it->sender.index] = 1;
            break;
        case EK_MLS_PROPOSAL_REMOVE:
            if (p->u.remove >= t->n_leaves || ek_mls_tree_leaf(t, p->u.remove) == NULL ||
                p->u.remove == committer || touched[p->u.remove])
                return EK_ERR_DECODE;
            touched[p->u.remove] = 1;
            break;
        case EK_MLS_PROPOSAL_PSK:
            if (p->u.psk.psk_nonce.len != s->hash_len)
                return EK_ERR_DECODE;
            if (p->u.psk.type == EK_MLS_PSK_RESUMPTION &&
                p->u.psk.usage != EK_MLS_RESUMPTION_APPLICATION)
                return EK_ERR_DECODE; /* §12.1.4: reinit/branch only in their flows */
            for (size_t j = 0; j < i; j++)
                if (list->items[j].p->type == EK_MLS_PROPOSAL_PSK &&
                    psk_id_equal(&list->items[j].p->u.psk, &p->u.psk))
                    return EK_ERR_DECODE;
            break;
        case EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
            if (++gce > 1)
                return EK_ERR_DECODE;
            EK_TRY(ek_mls_extensions_check(&p->u.group_context_extensions));
            break;
        case EK_MLS_PROPOSAL_REINIT: return EK_ERR_UNSUPPORTED;   /* §11.2 not implemented */
        case EK_MLS_PROPOSAL_EXTERNAL_INIT: return EK_ERR_DECODE; /* only in external commits */
        default: return EK_ERR_UNSUPPORTED;
        }
    }
    return EK_OK;
}

static int apply_update(ek_mls_applied *out, const ek_mls_group *g, ek_mls_epoch *next,
                        const ek_mls_resolved_proposal *it, const ek_mls_leaf_params *lp)
{
    const ek_mls_suite *s = g->suite;
    uint32_t leaf = it->sender.index;
    const ek_mls_tnode *old = ek_mls_tree_leaf(&next->tree, leaf);
    if (old == NULL)
        return EK_ERR_DECODE;
    ek_mls_tnode *n = NULL;
    EK_TRY(ek_mls_tnode_new_leaf(&n, g->alloc, &it->p->u.update));
    int rc = ek_mls_leaf_check(n, lp, EK_MLS_LEAF_SOURCE_UPDATE);
    if (rc == EK_OK)
        rc = ek_mls_leaf_verify(n, s, g->group_id, g->group_id_len, leaf, g->alloc);
    /* §7.3: the new encryption key differs from the replaced leaf's. */
    if (rc == EK_OK && n->encryption_key.len == old->encryption_key.len &&
        memcmp(n->encryption_key.data, old->encryption_key.data, old->encryption_key.len) == 0)
        rc = EK_ERR_DECODE;
    if (rc == EK_OK && leaf == next->own_leaf) {
        /* Our own Update: we kept its private key when we proposed it. */
        if (it->cached == NULL || !it->cached->own_update ||
            memcmp(it->cached->update_pub, n->encryption_key.data, s->kem_public_len) != 0)
            rc = EK_ERR_STATE;
        else
            rc = ek_mls_keyring_put(&next->ring, s, 2 * leaf, it->cached->update_pub,
                                    it->cached->update_priv);
        out->self_updated = rc == EK_OK;
    }
    if (rc == EK_OK)
        ek_mls_tree_update(&next->tree, leaf, n);
    ek_mls_tnode_unref(n, g->alloc);
    return rc;
}

int ek_mls_proposals_apply(ek_mls_applied *out, ek_mls_arena *a, const ek_mls_group *g,
                           const ek_mls_epoch *cur, ek_mls_epoch *next,
                           const ek_mls_proposal_list *list, uint32_t committer)
{
    const ek_mls_suite *s = g->suite;
    memset(out, 0, sizeof(*out));
    EK_TRY(check_list(list, cur, committer, a, s));
    size_t adds = 0, psks = 0, changes = 0, removes = 0;
    out->path_required = list->count == 0;
    for (size_t i = 0; i < list->count; i++) {
        uint16_t type = list->items[i].p->type;
        adds += type == EK_MLS_PROPOSAL_ADD;
        psks += type == EK_MLS_PROPOSAL_PSK;
        removes += type == EK_MLS_PROPOSAL_REMOVE;
        changes += type == EK_MLS_PROPOSAL_ADD || type == EK_MLS_PROPOSAL_UPDATE;
        /* §12.4: update, remove, external_init and group_context_extensions
         * require a path. */
        if (type == EK_MLS_PROPOSAL_UPDATE || type == EK_MLS_PROPOSAL_REMOVE ||
            type == EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS)
            out->path_required = 1;
    }
    if (adds > 0) {
        out->added = ek_mls_arena_alloc(a, adds * sizeof(uint32_t));
        out->added_kp = ek_mls_arena_alloc(a, adds * sizeof(const ek_mls_key_package *));
        if (out->added == NULL || out->added_kp == NULL)
            return EK_ERR_NOMEM;
    }
    if (removes > 0) {
        out->removed = ek_mls_arena_alloc(a, removes * sizeof(uint32_t));
        if (out->removed == NULL)
            return EK_ERR_NOMEM;
    }
    if (psks > 0) {
        out->psks = ek_mls_arena_alloc(a, psks * sizeof(ek_mls_psk));
        if (out->psks == NULL)
            return EK_ERR_NOMEM;
    }
    /* 1. GroupContextExtensions: the new extensions govern the rest. */
    for (size_t i = 0; i < list->count; i++) {
        const ek_mls_proposal *p = list->items[i].p;
        if (p->type == EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS) {
            EK_TRY(ek_mls_epoch_set_extensions(next, g->alloc, &p->u.group_context_extensions));
            out->has_gce = 1;
        }
    }
    ek_mls_extensions ext;
    EK_TRY(ek_mls_epoch_extensions(&ext, a, next));
    ek_mls_leaf_params lp;
    ek_mls_epoch_leaf_params(&lp, g, &ext);
    /* 2. Updates, 3. Removes. */
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].p->type == EK_MLS_PROPOSAL_UPDATE)
            EK_TRY(apply_update(out, g, next, &list->items[i], &lp));
    for (size_t i = 0; i < list->count; i++) {
        const ek_mls_proposal *p = list->items[i].p;
        if (p->type != EK_MLS_PROPOSAL_REMOVE)
            continue;
        if (ek_mls_tree_leaf(&next->tree, p->u.remove) == NULL)
            return EK_ERR_DECODE;
        ek_mls_tree_remove(&next->tree, p->u.remove);
        out->removed[out->removed_count++] = p->u.remove;
        if (p->u.remove == next->own_leaf)
            out->self_removed = 1;
    }
    /* 4. Adds, in order (§12.1.1): each KeyPackage valid (§10.1) for the
     * new extensions. */
    for (size_t i = 0; i < list->count; i++) {
        const ek_mls_proposal *p = list->items[i].p;
        if (p->type != EK_MLS_PROPOSAL_ADD)
            continue;
        ek_mls_tnode *leaf = NULL;
        EK_TRY(ek_mls_key_package_check(&leaf, &p->u.add, &lp, g->alloc));
        uint32_t idx = 0;
        int rc = ek_mls_tree_add(&idx, &next->tree, leaf);
        ek_mls_tnode_unref(leaf, g->alloc);
        EK_TRY(rc);
        out->added[out->added_count] = idx;
        out->added_kp[out->added_count] = &p->u.add;
        out->added_count++;
    }
    /* 5. PSKs, in order. */
    for (size_t i = 0; i < list->count; i++) {
        const ek_mls_proposal *p = list->items[i].p;
        if (p->type != EK_MLS_PROPOSAL_PSK)
            continue;
        ek_mls_psk *dst = &out->psks[out->psk_count++];
        dst->id = p->u.psk;
        EK_TRY(ek_mls_psk_resolve(&dst->secret, g, &p->u.psk));
    }
    /* The tree after the proposals: §7.3 across members, unique keys; with
     * new extensions, every member must support them (§12.1.7). */
    if (changes > 0) {
        EK_TRY(ek_mls_tree_check_credential_types(&next->tree));
        EK_TRY(ek_mls_tree_check_unique_keys(&next->tree));
    }
    if (out->has_gce) {
        for (uint32_t l = 0; l < next->tree.n_leaves; l++) {
            const ek_mls_tnode *n = ek_mls_tree_leaf(&next->tree, l);
            if (n == NULL)
                continue;
            ek_mls_leaf_params gp = lp;
            gp.now_s = 0;
            gp.max_lifetime_s = 0;
            gp.credentials = NULL;
            EK_TRY(ek_mls_leaf_check(n, &gp, EK_MLS_LEAF_IN_TREE));
        }
    }
    ek_mls_keyring_prune(&next->ring, &next->tree);
    return EK_OK;
}
