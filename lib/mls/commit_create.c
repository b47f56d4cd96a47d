/*
 * commit_create.c: making a commit (RFC 9420 §12.4.1): choose the
 * proposals (every valid cached one by reference, then our own by value),
 * resolve conflicts as §12.2 suggests (a Remove beats an Update of the same
 * leaf), apply them to a fork of the epoch, update our path (§7.5), sign,
 * confirm, protect, and build the Welcome for added members (§12.4.3.1).
 * The group itself does not change (§14): the new epoch is kept as pending.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "group_internal.h"

typedef struct candidate {
    ek_mls_proposal *p;
    ek_mls_sender sender;
    const ek_mls_cached_proposal *cached; /* by reference, or NULL (by value) */
    int keep;
    int mandatory; /* the caller's own options and owed Removes: never pruned */
} candidate;

typedef struct candidates {
    candidate *v;
    size_t n, cap;
} candidates;

static candidate *add_candidate(candidates *c)
{
    if (c->n == c->cap)
        return NULL;
    candidate *x = &c->v[c->n++];
    memset(x, 0, sizeof(*x));
    x->keep = 1;
    return x;
}

static int decode_proposal(ek_mls_proposal **out, ek_mls_arena *a, const uint8_t *enc, size_t len)
{
    ek_mls_proposal *p = ek_mls_arena_alloc(a, sizeof(*p));
    if (p == NULL)
        return EK_ERR_NOMEM;
    ek_reader r;
    ek_reader_init(&r, enc, len);
    EK_TRY(ek_mls_read_proposal(p, a, &r));
    EK_TRY(ek_reader_finish(&r));
    *out = p;
    return EK_OK;
}

static int same_bytes(ek_mls_bytes a, ek_mls_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* The last GroupContextExtensions candidate that is valid on its own
 * (§12.1.7), or -1: its extensions govern the other checks. */
static long chosen_gce(const candidates *c, const ek_mls_epoch *e, const ek_mls_group *g)
{
    for (size_t i = c->n; i-- > 0;) {
        const candidate *x = &c->v[i];
        if (x->keep && x->p->type == EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS &&
            ek_mls_proposal_check(g, e, x->p, x->sender, NULL) == EK_OK)
            return (long)i;
    }
    return -1;
}

/* Drop what would make the list invalid (§12.2: the committer leaves
 * invalid proposals out), keeping the first of each conflicting pair,
 * except that Removes beat Updates and the last valid
 * GroupContextExtensions wins. Each Add and Update is checked against the
 * extensions the commit will set, so that one bad cached proposal cannot
 * make every commit of the epoch fail. */
static int resolve_conflicts(candidates *c, const ek_mls_epoch *e, const ek_mls_group *g,
                             ek_mls_arena *a)
{
    const ek_mls_tree *t = &e->tree;
    uint32_t me = e->own_leaf;
    ek_mls_extensions ext;
    if (ek_mls_epoch_extensions(&ext, a, e) != EK_OK)
        ext.count = 0;
    long gce = chosen_gce(c, e, g);
    const ek_mls_extensions *ext_after = gce >= 0 ? &c->v[gce].p->u.group_context_extensions : &ext;
    ek_mls_leaf_params lp;
    ek_mls_epoch_leaf_params(&lp, g, ext_after);
    int clock = ek_mls_group_accept_params(&lp, g) == EK_OK;
    uint8_t *removed = ek_mls_arena_alloc(a, t->n_leaves);
    if (removed == NULL)
        return EK_ERR_NOMEM;
    memset(removed, 0, t->n_leaves);
    for (size_t i = 0; i < c->n; i++) {
        candidate *x = &c->v[i];
        const ek_mls_proposal *p = x->p;
        if (p->type == EK_MLS_PROPOSAL_REMOVE) {
            if (p->u.remove == me || ek_mls_tree_leaf(t, p->u.remove) == NULL ||
                removed[p->u.remove])
                x->keep = 0;
            else
                removed[p->u.remove] = 1;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        candidate *x = &c->v[i];
        const ek_mls_proposal *p = x->p;
        switch (p->type) {
        case EK_MLS_PROPOSAL_REMOVE: break;
        case EK_MLS_PROPOSAL_ADD: {
            /* Against the members that stay: the removed ones' keys may
             * come back (a member removed and added again). */
            ek_mls_tnode *leaf = NULL;
            if (!clock || /* §7.3: the lifetime needs a clock */
                ek_mls_key_package_check(&leaf, &p->u.add, &lp, g->alloc) != EK_OK ||
                ek_mls_new_leaf_fits(t, leaf, EK_MLS_NO_LEAF, removed) != EK_OK)
                x->keep = 0;
            ek_mls_tnode_unref(leaf, g->alloc);
            break;
        }
        case EK_MLS_PROPOSAL_PSK: {
            ek_mls_bytes secret;
            if (ek_mls_proposal_check(g, e, p, x->sender, ext_after) != EK_OK ||
                ek_mls_psk_resolve(&secret, g, &p->u.psk) != EK_OK)
                x->keep = 0;
            break;
        }
        case EK_MLS_PROPOSAL_UPDATE:
            if (x->sender.index == me ||
                ek_mls_proposal_check(g, e, p, x->sender, ext_after) != EK_OK)
                x->keep = 0;
            break;
        case EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS: x->keep = (long)i == gce; break;
        default: x->keep = 0; /* ReInit, ExternalInit: never in our commits */
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        candidate *x = &c->v[i];
        if (!x->keep)
            continue;
        const ek_mls_proposal *p = x->p;
        if (p->type == EK_MLS_PROPOSAL_UPDATE) {
            /* An Update of a removed leaf or a second one of the same leaf
             * goes. Bounds first: the sender's leaf index comes from the
             * cache. */
            uint32_t l = x->sender.index;
            if (ek_mls_tree_leaf(t, l) == NULL || removed[l])
                x->keep = 0;
            for (size_t j = 0; j < i && x->keep; j++)
                if (c->v[j].keep && c->v[j].p->type == EK_MLS_PROPOSAL_UPDATE &&
                    c->v[j].sender.index == l)
                    c->v[j].keep = 0; /* the most recent Update wins */
        } else if (p->type == EK_MLS_PROPOSAL_PSK) {
            for (size_t j = 0; j < i && x->keep; j++)
                if (c->v[j].keep && c->v[j].p->type == EK_MLS_PROPOSAL_PSK &&
                    c->v[j].p->u.psk.type == p->u.psk.type &&
                    same_bytes(c->v[j].p->u.psk.psk_id, p->u.psk.psk_id) &&
                    same_bytes(c->v[j].p->u.psk.psk_nonce, p->u.psk.psk_nonce))
                    x->keep = 0;
        } else if (p->type == EK_MLS_PROPOSAL_ADD) {
            /* One client once: not twice in the list (by signature or
             * encryption key), not already a member unless removed by this
             * commit. */
            const ek_mls_leaf_node *ln = &p->u.add.leaf_node;
            for (size_t j = 0; j < i && x->keep; j++)
                if (c->v[j].keep && c->v[j].p->type == EK_MLS_PROPOSAL_ADD &&
                    (same_bytes(c->v[j].p->u.add.leaf_node.signature_key, ln->signature_key) ||
                     same_bytes(c->v[j].p->u.add.leaf_node.encryption_key, ln->encryption_key)))
                    x->keep = 0;
            for (uint32_t l = 0; l < t->n_leaves && x->keep; l++) {
                const ek_mls_tnode *n = ek_mls_tree_leaf(t, l);
                if (n != NULL && !removed[l] && same_bytes(n->signature_key, ln->signature_key))
                    x->keep = 0;
            }
        }
    }
    return EK_OK;
}

static int collect(candidates *c, ek_mls_group *g, const ek_mls_commit_options *opt,
                   ek_mls_arena *a, uint8_t *nonces)
{
    ek_mls_epoch *e = g->cur;
    ek_mls_sender me = {EK_MLS_SENDER_MEMBER, e->own_leaf};
    size_t n = e->proposal_count + g->lost.count + e->owed.count;
    if (opt != NULL)
        n += opt->add_count + opt->remove_count + opt->psk_count +
             (opt->group_context_extensions != NULL);
    c->cap = n;
    c->n = 0;
    c->v = ek_mls_arena_alloc(a, (n ? n : 1) * sizeof(candidate));
    if (c->v == NULL)
        return EK_ERR_NOMEM;
    for (size_t i = 0; i < e->proposal_count; i++) {
        candidate *x = add_candidate(c);
        EK_TRY(decode_proposal(&x->p, a, e->proposals[i].enc, e->proposals[i].enc_len));
        x->sender = e->proposals[i].sender;
        x->cached = &e->proposals[i];
    }
    for (size_t i = 0; i < g->lost.count; i++) {
        candidate *x = add_candidate(c);
        EK_TRY(decode_proposal(&x->p, a, g->lost.items[i], g->lost.lens[i]));
        x->sender = me;
    }
    /* Removes owed from a lost race (docs/protocol.md rule 3.5). */
    for (size_t i = 0; i < e->owed.count; i++) {
        candidate *x = add_candidate(c);
        x->p = ek_mls_arena_alloc(a, sizeof(*x->p));
        if (x->p == NULL)
            return EK_ERR_NOMEM;
        memset(x->p, 0, sizeof(*x->p));
        x->p->type = EK_MLS_PROPOSAL_REMOVE;
        x->p->u.remove = e->owed.items[i];
        x->sender = me;
        x->mandatory = 1;
    }
    if (opt == NULL)
        return EK_OK;
    /* §7.3: the committer MUST check a KeyPackage's lifetime before adding
     * it, which takes a clock (ek_mls_group_set_time). The KeyPackages are
     * checked against the extensions the commit sets. */
    ek_mls_extensions ext;
    if (opt->group_context_extensions != NULL)
        ext = *opt->group_context_extensions;
    else
        EK_TRY(ek_mls_epoch_extensions(&ext, a, e));
    ek_mls_leaf_params lp;
    ek_mls_epoch_leaf_params(&lp, g, &ext);
    if (opt->add_count > 0)
        EK_TRY(ek_mls_group_accept_params(&lp, g));
    for (size_t i = 0; i < opt->add_count; i++) {
        ek_mls_message m;
        EK_TRY(ek_mls_message_decode(&m, a, opt->add_key_packages[i].data,
                                     opt->add_key_packages[i].len));
        if (m.wire_format != EK_MLS_WIRE_KEY_PACKAGE)
            return EK_ERR_DECODE;
        ek_mls_tnode *leaf = NULL;
        int rc = ek_mls_key_package_check(&leaf, &m.u.key_package, &lp, g->alloc);
        ek_mls_tnode_unref(leaf, g->alloc);
        EK_TRY(rc);
        candidate *x = add_candidate(c);
        x->p = ek_mls_arena_alloc(a, sizeof(*x->p));
        if (x->p == NULL)
            return EK_ERR_NOMEM;
        x->p->type = EK_MLS_PROPOSAL_ADD;
        x->p->u.add = m.u.key_package;
        x->sender = me;
        x->mandatory = 1;
    }
    for (size_t i = 0; i < opt->remove_count; i++) {
        candidate *x = add_candidate(c);
        x->p = ek_mls_arena_alloc(a, sizeof(*x->p));
        if (x->p == NULL)
            return EK_ERR_NOMEM;
        x->p->type = EK_MLS_PROPOSAL_REMOVE;
        x->p->u.remove = opt->remove_leaves[i];
        x->sender = me;
        x->mandatory = 1;
    }
    size_t nh = g->suite->hash_len;
    for (size_t i = 0; i < opt->psk_count; i++) {
        candidate *x = add_candidate(c);
        x->p = ek_mls_arena_alloc(a, sizeof(*x->p));
        if (x->p == NULL)
            return EK_ERR_NOMEM;
        EK_TRY(ek_random(g->cfg.rng, nonces + i * nh, nh));
        x->p->type = EK_MLS_PROPOSAL_PSK;
        x->p->u.psk.type = EK_MLS_PSK_EXTERNAL;
        x->p->u.psk.psk_id = opt->psk_ids[i];
        x->p->u.psk.psk_nonce = (ek_mls_bytes){nonces + i * nh, nh};
        x->sender = me;
        x->mandatory = 1;
    }
    if (opt->group_context_extensions != NULL) {
        EK_TRY(ek_mls_extensions_check(opt->group_context_extensions));
        candidate *x = add_candidate(c);
        x->p = ek_mls_arena_alloc(a, sizeof(*x->p));
        if (x->p == NULL)
            return EK_ERR_NOMEM;
        x->p->type = EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
        x->p->u.group_context_extensions = *opt->group_context_extensions;
        x->sender = me;
        x->mandatory = 1;
    }
    return EK_OK;
}

/* The Commit's proposals (cached ones by reference) and the resolved list,
 * in one order, from the kept candidates. */
static void build_list(ek_mls_commit *cm, ek_mls_proposal_list *list, const candidates *c,
                       size_t nh)
{
    cm->proposal_count = 0;
    list->count = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->v[i].keep)
            continue;
        ek_mls_proposal_or_ref *por = &cm->proposals[cm->proposal_count++];
        if (c->v[i].cached != NULL) {
            por->type = EK_MLS_PROPOSAL_OR_REF_REFERENCE;
            por->reference = (ek_mls_bytes){c->v[i].cached->ref, nh};
        } else {
            por->type = EK_MLS_PROPOSAL_OR_REF_PROPOSAL;
            por->proposal = c->v[i].p;
        }
        list->items[list->count].p = c->v[i].p;
        list->items[list->count].sender = c->v[i].sender;
        list->items[list->count].cached = c->v[i].cached;
        list->count++;
    }
}

/* Do the kept candidates apply as one commit (§12.2, §12.3)? */
static int list_applies(const candidates *c, ek_mls_group *g, ek_mls_epoch *e, ek_mls_commit *cm,
                        ek_mls_proposal_list *list, ek_mls_arena *a)
{
    build_list(cm, list, c, g->suite->hash_len);
    ek_mls_epoch *next = NULL;
    EK_TRY(ek_mls_epoch_fork(&next, e, g->alloc));
    ek_mls_applied applied;
    int rc = ek_mls_proposals_apply(&applied, a, g, e, next, list, e->own_leaf);
    ek_mls_epoch_free(next, g->alloc);
    return rc;
}

/* Other members' proposals tried one by one when the list does not apply. */
#define PRUNE_MAX_TRIED 64

/* §12.2: the committer leaves invalid proposals out, and a combination can
 * be invalid when every proposal alone is valid. Our own proposals and the
 * owed Removes must apply, or the commit fails (the caller asked for
 * something impossible); then each other proposal is kept only if the list
 * still applies with it, in order (at most PRUNE_MAX_TRIED of them; beyond
 * that they are all left out, and their senders propose them again). So no
 * proposal anyone sends can stop every commit of an epoch. */
static int prune_list(candidates *c, ek_mls_group *g, ek_mls_epoch *e, ek_mls_commit *cm,
                      ek_mls_proposal_list *list, ek_mls_arena *a)
{
    uint8_t *was = ek_mls_arena_alloc(a, c->n ? c->n : 1);
    if (was == NULL)
        return EK_ERR_NOMEM;
    size_t optional = 0;
    for (size_t i = 0; i < c->n; i++) {
        was[i] = (uint8_t)c->v[i].keep;
        if (c->v[i].keep && !c->v[i].mandatory) {
            optional++;
            c->v[i].keep = 0;
        }
    }
    EK_TRY(list_applies(c, g, e, cm, list, a));
    for (size_t i = 0; i < c->n && optional <= PRUNE_MAX_TRIED; i++) {
        if (!was[i] || c->v[i].mandatory)
            continue;
        c->v[i].keep = 1;
        int rc = list_applies(c, g, e, cm, list, a);
        if (rc == EK_ERR_NOMEM)
            return rc;
        c->v[i].keep = rc == EK_OK;
    }
    build_list(cm, list, c, g->suite->hash_len);
    return EK_OK;
}

int ek_mls_group_commit(ek_mls_group *g, ek_mls_buf *commit, ek_mls_buf *welcome,
                        const ek_mls_commit_options *opt)
{
    if (g == NULL || commit == NULL)
        return EK_ERR_INVALID_ARG;
    memset(commit, 0, sizeof(*commit));
    if (welcome != NULL)
        memset(welcome, 0, sizeof(*welcome));
    if (opt != NULL &&
        ((opt->add_count > 0 && opt->add_key_packages == NULL) ||
         (opt->remove_count > 0 && opt->remove_leaves == NULL) ||
         (opt->psk_count > 0 && opt->psk_ids == NULL) || opt->psk_count > EK_MLS_MAX_PSKS ||
         opt->add_count > EK_MLS_MAX_PROPOSALS || opt->remove_count > EK_MLS_MAX_PROPOSALS))
        return EK_ERR_INVALID_ARG;
    /* docs/protocol.md: a member commits only in a settled epoch, and not
     * when the epoch owes its removal (rule 3.5): it cannot remove itself. */
    if (!g->active || g->cur == NULL || g->prev != NULL ||
        ek_mls_leaf_list_has(&g->cur->owed, g->cur->own_leaf))
        return EK_ERR_STATE;
    const ek_mls_suite *s = g->suite;
    ek_mls_epoch *e = g->cur;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    uint8_t *nonces = NULL;
    if (opt != NULL && opt->psk_count > 0)
        nonces = ek_mls_arena_alloc(&a, opt->psk_count * s->hash_len);
    candidates c;
    int rc = opt != NULL && opt->psk_count > 0 && nonces == NULL ? EK_ERR_NOMEM
                                                                 : collect(&c, g, opt, &a, nonces);
    if (rc == EK_OK)
        rc = resolve_conflicts(&c, e, g, &a);

    /* The Commit's proposals and the resolved list, in one order. */
    ek_mls_commit cm;
    memset(&cm, 0, sizeof(cm));
    ek_mls_proposal_list list = {0};
    if (rc == EK_OK && c.n > 0) {
        cm.proposals = ek_mls_arena_alloc(&a, c.n * sizeof(*cm.proposals));
        list.items = ek_mls_arena_alloc(&a, c.n * sizeof(*list.items));
        if (cm.proposals == NULL || list.items == NULL)
            rc = EK_ERR_NOMEM;
    }
    if (rc == EK_OK)
        build_list(&cm, &list, &c, s->hash_len);

    ek_mls_epoch *next = NULL;
    ek_mls_applied applied;
    ek_mls_path_secrets ps;
    memset(&ps, 0, sizeof(ps));
    if (rc == EK_OK)
        rc = ek_mls_epoch_fork(&next, e, g->alloc);
    if (rc == EK_OK) {
        rc = ek_mls_proposals_apply(&applied, &a, g, e, next, &list, e->own_leaf);
        if (rc != EK_OK && rc != EK_ERR_NOMEM) {
            /* A combination the single checks could not see: prune. */
            ek_mls_epoch_free(next, g->alloc);
            next = NULL;
            rc = prune_list(&c, g, e, &cm, &list, &a);
            if (rc == EK_OK)
                rc = ek_mls_epoch_fork(&next, e, g->alloc);
            if (rc == EK_OK)
                rc = ek_mls_proposals_apply(&applied, &a, g, e, next, &list, e->own_leaf);
        }
    }
    /* §12.4: we always send a path ("by default, the path field of a
     * Commit MUST be populated"): post-compromise security for us. */
    ek_mls_leaf_node tmpl;
    ek_mls_keyring ring;
    memset(&ring, 0, sizeof(ring));
    if (rc == EK_OK)
        rc = ek_mls_tnode_leaf(&tmpl, &a, ek_mls_tree_leaf(&next->tree, next->own_leaf));
    if (rc == EK_OK)
        rc = ek_mls_treekem_update_path(&ps, &ring, &next->tree, next->own_leaf, &tmpl, g->sig_priv,
                                        g->sig_priv_len, g->group_id, g->group_id_len, g->cfg.rng);
    if (rc == EK_OK) {
        next->ring = ring;
        next->epoch = e->epoch + 1;
        rc = ek_mls_epoch_refresh_context(next, g); /* the provisional GroupContext */
    }
    ek_mls_keyring_wipe(&ring);
    ek_mls_update_path up;
    if (rc == EK_OK) {
        /* The added leaves are in increasing order (each Add takes the
         * leftmost blank leaf), as the exclusion list must be. */
        rc = ek_mls_treekem_encrypt(&up, &a, &next->tree, next->own_leaf, &ps, applied.added,
                                    applied.added_count, next->gc, next->gc_len, g->cfg.rng);
        cm.path = &up;
    }

    /* Frame, sign with the old context, confirm, protect (§12.4.1). */
    ek_mls_authenticated_content ac;
    memset(&ac, 0, sizeof(ac));
    ac.wire_format = g->cfg.handshake_wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE
                         ? EK_MLS_WIRE_PUBLIC_MESSAGE
                         : EK_MLS_WIRE_PRIVATE_MESSAGE;
    ek_mls_group_content_header(&ac.content, g, e, EK_MLS_CONTENT_COMMIT);
    ac.content.u.commit = cm;
    uint8_t tag[EK_MLS_MAX_HASH_LEN];
    if (rc == EK_OK)
        rc = ek_mls_sign_content(&ac, &a, s, g->sig_priv, g->sig_priv_len, e->gc, e->gc_len);
    if (rc == EK_OK)
        rc = ek_mls_epoch_advance(next, g, e, ps.commit_secret, &applied, &ac, tag);
    if (rc == EK_OK) {
        ac.auth.confirmation_tag = (ek_mls_bytes){tag, s->hash_len};
        rc = ek_mls_commit_ref(next->commit_ref, s, &ac, g->alloc);
        next->has_commit_ref = 1;
        next->own_commit = 1;
        next->committer = e->own_leaf;
    }
    if (rc == EK_OK)
        rc = ek_mls_leaf_list_set(&next->removed, g->alloc, applied.removed, applied.removed_count);
    /* Remember what we proposed by value, for a re-proposal if this commit
     * loses the tie-break. */
    for (size_t i = 0; rc == EK_OK && i < list.count; i++) {
        if (list.items[i].cached != NULL)
            continue;
        ek_writer pw;
        ek_writer_init_growable(&pw, g->alloc);
        rc = ek_mls_write_proposal(&pw, list.items[i].p);
        if (rc == EK_OK)
            rc = ek_mls_encoded_list_push(&next->own_inline, g->alloc, pw.buf, pw.len);
        ek_writer_dispose(&pw);
    }
    ek_mls_key_use use = {0};
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    if (rc == EK_OK)
        rc = ek_mls_group_frame(&w, &use, g, e, &ac, &a);
    if (rc == EK_OK)
        rc = ek_mls_buf_from_writer(commit, &w);
    ek_writer_dispose(&w);
    if (rc == EK_OK && welcome != NULL && applied.added_count > 0) {
        ek_writer_init_growable(&w, g->alloc);
        rc = ek_mls_welcome_create(&w, g, next, &applied, &ps, 1, tag);
        if (rc == EK_OK)
            rc = ek_mls_buf_from_writer(welcome, &w);
        ek_writer_dispose(&w);
    }
    /* Only now, with nothing else left to fail, is the handshake key
     * consumed (§14: a failed commit leaves the group as it was). */
    if (rc == EK_OK)
        rc = ek_mls_key_use_consume(&e->st, &use);
    ek_mls_path_secrets_wipe(&ps);
    ek_wipe(tag, sizeof(tag));
    ek_mls_arena_free(&a);
    if (rc != EK_OK) {
        ek_mls_epoch_free(next, g->alloc);
        ek_mls_buf_free(commit);
        if (welcome != NULL)
            ek_mls_buf_free(welcome);
        return rc;
    }
    /* A previous unsent commit is replaced. */
    ek_mls_group_discard_pending_commit(g);
    g->pending = next;
    return EK_OK;
}
