/*
 * group.c: the group API of ek_mls.h (RFC 9420 §11, §12): creating a
 * group, proposals, receiving messages (with the commit-ordering rule of
 * docs/protocol.md "MLS commit ordering"), application messages (§6.3,
 * §15), exporters and accessors. Commits are made in commit_create.c and
 * processed in commit.c, Welcomes in welcome.c, state saved in
 * group_state.c.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "group_internal.h"

/* ---- helpers shared with the other group files ---- */

void ek_mls_group_content_header(ek_mls_framed_content *c, const ek_mls_group *g,
                                 const ek_mls_epoch *e, uint8_t content_type)
{
    memset(c, 0, sizeof(*c));
    c->group_id.data = g->group_id;
    c->group_id.len = g->group_id_len;
    c->epoch = e->epoch;
    c->sender.type = EK_MLS_SENDER_MEMBER;
    c->sender.index = e->own_leaf;
    c->content_type = content_type;
}

static size_t padding_for(const ek_mls_group *g, const ek_mls_authenticated_content *ac)
{
    size_t block = g->cfg.padding_block;
    if (block == 0)
        return 0;
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    (void)ek_mls_write_content_body(&w, &ac->content);
    (void)ek_mls_write_auth_data(&w, &ac->auth, ac->content.content_type);
    size_t len = w.err == EK_OK ? w.len : 0;
    ek_writer_dispose(&w);
    size_t pad = (block - len % block) % block;
    return pad > EK_MLS_MAX_PADDING_BYTES ? 0 : pad;
}

int ek_mls_group_frame(ek_writer *w, ek_mls_key_use *use, ek_mls_group *g, ek_mls_epoch *e,
                       ek_mls_authenticated_content *ac, ek_mls_arena *a)
{
    const ek_mls_suite *s = g->suite;
    ek_mls_message m;
    memset(&m, 0, sizeof(m));
    memset(use, 0, sizeof(*use));
    m.version = EK_MLS_VERSION_MLS10;
    m.wire_format = ac->wire_format;
    if (ac->wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE)
        EK_TRY(ek_mls_public_message_protect(&m.u.public_message, a, s, ac,
                                             e->secrets.membership_key, e->gc, e->gc_len));
    else
        EK_TRY(ek_mls_private_message_seal(&m.u.private_message, use, a, s, &e->st,
                                           e->secrets.sender_data_secret, ac, padding_for(g, ac),
                                           g->cfg.rng));
    return ek_mls_write_message(w, &m);
}

static uint16_t handshake_wire_format(const ek_mls_group *g)
{
    return g->cfg.handshake_wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE ? EK_MLS_WIRE_PUBLIC_MESSAGE
                                                                      : EK_MLS_WIRE_PRIVATE_MESSAGE;
}

/* ---- lifetime ---- */

static int group_new(ek_mls_group **out, const ek_mls_group_config *cfg, const ek_mls_suite *s,
                     const uint8_t *group_id, size_t group_id_len)
{
    const ek_allocator *a = cfg != NULL ? cfg->alloc : NULL;
    if (group_id_len == 0 || group_id_len > EK_MLS_MAX_GROUP_ID_BYTES || group_id == NULL)
        return EK_ERR_INVALID_ARG;
    if (cfg != NULL && cfg->padding_block > EK_MLS_MAX_PADDING_BYTES)
        return EK_ERR_INVALID_ARG;
    ek_mls_group *g = ek_alloc(a, sizeof(*g));
    if (g == NULL)
        return EK_ERR_NOMEM;
    memset(g, 0, sizeof(*g));
    if (cfg != NULL)
        g->cfg = *cfg;
    g->alloc = a;
    g->suite = s;
    g->group_id = ek_alloc(a, group_id_len);
    if (g->group_id == NULL) {
        ek_free(a, g, sizeof(*g));
        return EK_ERR_NOMEM;
    }
    memcpy(g->group_id, group_id, group_id_len);
    g->group_id_len = group_id_len;
    g->active = 1;
    *out = g;
    return EK_OK;
}

int ek_mls_group_alloc(ek_mls_group **out, const ek_mls_group_config *cfg, const ek_mls_suite *s,
                       const uint8_t *group_id, size_t group_id_len)
{
    return group_new(out, cfg, s, group_id, group_id_len);
}

void ek_mls_group_free(ek_mls_group *g)
{
    if (g == NULL)
        return;
    const ek_allocator *a = g->alloc;
    ek_mls_epoch_free(g->cur, a);
    ek_mls_epoch_free(g->prev, a);
    ek_mls_epoch_free(g->pending, a);
    ek_mls_encoded_list_free(&g->lost, a);
    if (g->group_id != NULL)
        ek_free(a, g->group_id, g->group_id_len);
    ek_wipe(g, sizeof(*g));
    ek_free(a, g, sizeof(*g));
}

void ek_mls_group_set_time(ek_mls_group *g, uint64_t now_s)
{
    if (g != NULL)
        g->now_s = now_s;
}

/* §11: the creator's one-member group at epoch 0. */
int ek_mls_group_create(ek_mls_group **out, const ek_mls_group_config *cfg,
                        const ek_mls_key_package_bundle *creator, const uint8_t *group_id,
                        size_t group_id_len, const ek_mls_extensions *extensions)
{
    if (out == NULL || creator == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    const ek_mls_suite *s = creator->suite;
    ek_mls_group *g = NULL;
    EK_TRY(group_new(&g, cfg, s, group_id, group_id_len));
    /* The creator's KeyPackage was made no later than now. */
    g->clock_floor_s = creator->leaf->not_before;
    memcpy(g->sig_priv, creator->signature_priv, creator->signature_priv_len);
    g->sig_priv_len = creator->signature_priv_len;
    size_t nh = s->hash_len;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_mls_epoch *e = NULL;
    int rc = ek_mls_epoch_new(&e, g->alloc);
    if (rc == EK_OK)
        rc = ek_mls_tree_init(&e->tree, s, g->alloc, 1);
    if (rc == EK_OK) {
        ek_mls_tree_set(&e->tree, 0, creator->leaf);
        e->own_leaf = 0;
        rc = ek_mls_epoch_set_extensions(e, g->alloc, extensions);
    }
    ek_mls_extensions ext;
    if (rc == EK_OK)
        rc = extensions != NULL ? ek_mls_extensions_check(extensions) : EK_OK;
    if (rc == EK_OK)
        rc = ek_mls_epoch_extensions(&ext, &a, e);
    if (rc == EK_OK) {
        ek_mls_leaf_params lp;
        ek_mls_epoch_leaf_params(&lp, g, &ext);
        lp.now_s = 0; /* our own leaf: its lifetime is the creator's business */
        lp.max_lifetime_s = 0;
        rc = ek_mls_leaf_check(creator->leaf, &lp, EK_MLS_LEAF_IN_TREE);
    }
    if (rc == EK_OK)
        rc = ek_mls_keyring_put(&e->ring, s, 0, creator->leaf->encryption_key.data,
                                creator->encryption_priv);
    if (rc == EK_OK)
        rc = ek_mls_epoch_refresh_context(e, g);
    /* A random epoch secret; the confirmation tag over the empty confirmed
     * transcript hash gives the interim hash (§11). */
    uint8_t epoch_secret[EK_MLS_MAX_HASH_LEN], tag[EK_MLS_MAX_HASH_LEN];
    if (rc == EK_OK)
        rc = ek_random(g->cfg.rng, epoch_secret, nh);
    if (rc == EK_OK)
        rc = ek_mls_key_schedule_from_epoch_secret(&e->secrets, s, epoch_secret);
    if (rc == EK_OK) {
        s->mac(tag, e->secrets.confirmation_key, nh, "", 0);
        ek_writer w;
        ek_writer_init_growable(&w, g->alloc);
        rc = ek_mls_write_opaque(&w, tag, nh);
        if (rc == EK_OK)
            s->hash(e->interim, w.buf, w.len);
        ek_writer_dispose(&w);
    }
    if (rc == EK_OK)
        rc = ek_mls_epoch_start_secret_tree(e, g);
    ek_wipe(epoch_secret, sizeof(epoch_secret));
    ek_mls_arena_free(&a);
    if (rc != EK_OK) {
        ek_mls_epoch_free(e, g->alloc);
        ek_mls_group_free(g);
        return rc;
    }
    g->cur = e;
    ek_mls_group_remember_resumption(g, e);
    *out = g;
    return EK_OK;
}

/* ---- accessors ---- */

uint64_t ek_mls_group_epoch(const ek_mls_group *g)
{
    return g != NULL && g->cur != NULL ? g->cur->epoch : 0;
}

uint32_t ek_mls_group_own_leaf(const ek_mls_group *g)
{
    return g != NULL && g->cur != NULL ? g->cur->own_leaf : UINT32_MAX;
}

uint32_t ek_mls_group_member_count(const ek_mls_group *g)
{
    return g != NULL && g->cur != NULL ? ek_mls_tree_member_count(&g->cur->tree) : 0;
}

int ek_mls_group_active(const ek_mls_group *g)
{
    return g != NULL && g->active;
}

const ek_mls_suite *ek_mls_group_suite(const ek_mls_group *g)
{
    return g != NULL ? g->suite : NULL;
}

void ek_mls_group_id(const ek_mls_group *g, const uint8_t **id, size_t *len)
{
    *id = g->group_id;
    *len = g->group_id_len;
}

int ek_mls_group_tree_hash(const ek_mls_group *g, uint8_t *out, size_t *len)
{
    if (g == NULL || out == NULL || len == NULL || g->cur == NULL)
        return EK_ERR_INVALID_ARG;
    memcpy(out, g->cur->tree_hash, g->suite->hash_len);
    *len = g->suite->hash_len;
    return EK_OK;
}

int ek_mls_group_epoch_authenticator(const ek_mls_group *g, uint8_t *out, size_t *len)
{
    if (g == NULL || out == NULL || len == NULL || g->cur == NULL)
        return EK_ERR_INVALID_ARG;
    if (!g->active)
        return EK_ERR_STATE;
    memcpy(out, g->cur->secrets.epoch_authenticator, g->suite->hash_len);
    *len = g->suite->hash_len;
    return EK_OK;
}

int ek_mls_group_export(const ek_mls_group *g, uint8_t *out, size_t out_len, const void *label,
                        size_t label_len, const void *context, size_t context_len)
{
    if (g == NULL || g->cur == NULL)
        return EK_ERR_INVALID_ARG;
    if (!g->active)
        return EK_ERR_STATE;
    return ek_mls_exporter_alloc(out, out_len, g->suite, g->cur->secrets.exporter_secret, label,
                                 label_len, context, context_len, g->alloc);
}

int ek_mls_group_member_identity(const ek_mls_group *g, uint32_t leaf, const uint8_t **id,
                                 size_t *len)
{
    if (g == NULL || id == NULL || len == NULL || g->cur == NULL)
        return EK_ERR_INVALID_ARG;
    const ek_mls_tnode *n = ek_mls_tree_leaf(&g->cur->tree, leaf);
    if (n == NULL)
        return EK_ERR_STATE;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_mls_leaf_node l;
    int rc = ek_mls_tnode_leaf(&l, &a, n);
    if (rc == EK_OK && l.credential.type != EK_MLS_CREDENTIAL_BASIC)
        rc = EK_ERR_UNSUPPORTED;
    if (rc == EK_OK) {
        /* The view points into the node, which the tree keeps alive. */
        *id = l.credential.identity.data;
        *len = l.credential.identity.len;
    }
    ek_mls_arena_free(&a);
    return rc;
}

int ek_mls_group_ratchet_tree(const ek_mls_group *g, ek_mls_buf *out)
{
    if (g == NULL || out == NULL || g->cur == NULL)
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    (void)ek_mls_tree_write(&w, &g->cur->tree);
    int rc = ek_mls_buf_from_writer(out, &w);
    ek_writer_dispose(&w);
    return rc;
}

/* ---- epochs: merge, settle ---- */

void ek_mls_group_remember_resumption(ek_mls_group *g, const ek_mls_epoch *e)
{
    ek_mls_resumption_psk *slot = NULL;
    for (size_t i = 0; i < EK_MLS_RESUMPTION_EPOCHS && slot == NULL; i++)
        if (g->resumption[i].used && g->resumption[i].epoch == e->epoch)
            slot = &g->resumption[i];
    for (size_t i = 0; i < EK_MLS_RESUMPTION_EPOCHS && slot == NULL; i++)
        if (!g->resumption[i].used)
            slot = &g->resumption[i];
    if (slot == NULL) {
        slot = &g->resumption[0];
        for (size_t i = 1; i < EK_MLS_RESUMPTION_EPOCHS; i++)
            if (g->resumption[i].epoch < slot->epoch)
                slot = &g->resumption[i];
    }
    slot->used = 1;
    slot->epoch = e->epoch;
    memcpy(slot->psk, e->secrets.resumption_psk, sizeof(slot->psk));
}

/* Enter next as the current epoch; the old current one is retained. */
static void enter_epoch(ek_mls_group *g, ek_mls_epoch *next)
{
    ek_mls_group_remember_resumption(g, next);
    ek_mls_epoch_free(g->prev, g->alloc);
    g->prev = g->cur;
    g->cur = next;
    /* §9.2: the joiner and welcome secrets are consumed. */
    ek_wipe(next->secrets.joiner_secret, sizeof(next->secrets.joiner_secret));
    ek_wipe(next->secrets.welcome_secret, sizeof(next->secrets.welcome_secret));
}

int ek_mls_group_merge_pending_commit(ek_mls_group *g)
{
    if (g == NULL || g->pending == NULL)
        return EK_ERR_STATE;
    ek_mls_epoch *next = g->pending;
    g->pending = NULL;
    enter_epoch(g, next);
    ek_mls_encoded_list_free(&g->lost, g->alloc);
    return EK_OK;
}

void ek_mls_group_discard_pending_commit(ek_mls_group *g)
{
    if (g == NULL)
        return;
    ek_mls_epoch_free(g->pending, g->alloc);
    g->pending = NULL;
}

void ek_mls_group_settle(ek_mls_group *g)
{
    if (g == NULL)
        return;
    ek_mls_epoch_free(g->prev, g->alloc);
    g->prev = NULL;
}

/* ---- proposals we send ---- */

static int send_proposal(ek_mls_group *g, ek_mls_buf *msg, const ek_mls_proposal *p,
                         const uint8_t *update_pub, const uint8_t *update_priv, ek_mls_arena *a)
{
    ek_mls_epoch *e = g->cur;
    const ek_mls_suite *s = g->suite;
    ek_mls_authenticated_content ac;
    memset(&ac, 0, sizeof(ac));
    ac.wire_format = handshake_wire_format(g);
    ek_mls_group_content_header(&ac.content, g, e, EK_MLS_CONTENT_PROPOSAL);
    ac.content.u.proposal = *p;
    EK_TRY(ek_mls_sign_content(&ac, a, s, g->sig_priv, g->sig_priv_len, e->gc, e->gc_len));
    /* The message first, then the cache entry, then the ratchet key:
     * failing anywhere leaves the group as it was. */
    ek_mls_key_use use;
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    int rc = ek_mls_group_frame(&w, &use, g, e, &ac, a);
    if (rc == EK_OK)
        rc = ek_mls_buf_from_writer(msg, &w);
    ek_writer_dispose(&w);
    ek_mls_cached_proposal cp;
    memset(&cp, 0, sizeof(cp));
    ek_writer_init_growable(&w, g->alloc);
    if (rc == EK_OK)
        rc = ek_mls_write_authenticated_content(&w, &ac);
    if (rc == EK_OK)
        rc = ek_mls_proposal_ref_alloc(cp.ref, s, w.buf, w.len, g->alloc);
    w.len = 0;
    if (rc == EK_OK)
        rc = ek_mls_write_proposal(&w, p);
    size_t count = e->proposal_count;
    if (rc == EK_OK) {
        cp.sender = ac.content.sender;
        cp.enc = w.buf;
        cp.enc_len = w.len;
        if (update_pub != NULL) {
            cp.own_update = 1;
            memcpy(cp.update_pub, update_pub, s->kem_public_len);
            memcpy(cp.update_priv, update_priv, s->kem_private_len);
        }
        rc = ek_mls_epoch_cache_proposal(e, g->alloc, &cp);
    }
    ek_wipe(&cp, sizeof(cp));
    ek_writer_dispose(&w);
    if (rc == EK_OK) {
        rc = ek_mls_key_use_consume(&e->st, &use);
        if (rc != EK_OK)
            ek_mls_epoch_uncache_since(e, g->alloc, count);
    }
    if (rc != EK_OK)
        ek_mls_buf_free(msg);
    return rc;
}

static int proposal_preamble(ek_mls_group *g, ek_mls_buf *msg)
{
    if (g == NULL || msg == NULL)
        return EK_ERR_INVALID_ARG;
    memset(msg, 0, sizeof(*msg));
    if (!g->active || g->cur == NULL)
        return EK_ERR_STATE;
    return EK_OK;
}

int ek_mls_group_propose_add(ek_mls_group *g, ek_mls_buf *msg, const uint8_t *key_package_msg,
                             size_t len)
{
    EK_TRY(proposal_preamble(g, msg));
    if (key_package_msg == NULL)
        return EK_ERR_INVALID_ARG;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_mls_message m;
    int rc = ek_mls_message_decode(&m, &a, key_package_msg, len);
    if (rc == EK_OK && m.wire_format != EK_MLS_WIRE_KEY_PACKAGE)
        rc = EK_ERR_DECODE;
    ek_mls_extensions ext;
    ek_mls_leaf_params lp;
    ek_mls_tnode *leaf = NULL;
    if (rc == EK_OK)
        rc = ek_mls_epoch_extensions(&ext, &a, g->cur);
    ek_mls_epoch_leaf_params(&lp, g, &ext);
    /* §7.3: the proposer MUST check the KeyPackage's lifetime. */
    if (rc == EK_OK)
        rc = ek_mls_group_accept_params(&lp, g);
    if (rc == EK_OK)
        rc = ek_mls_key_package_check(&leaf, &m.u.key_package, &lp, g->alloc);
    ek_mls_tnode_unref(leaf, g->alloc);
    if (rc == EK_OK) {
        ek_mls_proposal p = {.type = EK_MLS_PROPOSAL_ADD};
        p.u.add = m.u.key_package;
        rc = send_proposal(g, msg, &p, NULL, NULL, &a);
    }
    ek_mls_arena_free(&a);
    return rc;
}

int ek_mls_group_propose_remove(ek_mls_group *g, ek_mls_buf *msg, uint32_t leaf)
{
    EK_TRY(proposal_preamble(g, msg));
    if (ek_mls_tree_leaf(&g->cur->tree, leaf) == NULL)
        return EK_ERR_INVALID_ARG;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_mls_proposal p = {.type = EK_MLS_PROPOSAL_REMOVE};
    p.u.remove = leaf;
    int rc = send_proposal(g, msg, &p, NULL, NULL, &a);
    ek_mls_arena_free(&a);
    return rc;
}

int ek_mls_group_propose_update(ek_mls_group *g, ek_mls_buf *msg)
{
    EK_TRY(proposal_preamble(g, msg));
    const ek_mls_suite *s = g->suite;
    ek_mls_epoch *e = g->cur;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_mls_leaf_node leaf;
    uint8_t secret[EK_MLS_MAX_HASH_LEN], pub[EK_MLS_MAX_KEM_PUBLIC_LEN];
    uint8_t priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    int rc = ek_mls_tnode_leaf(&leaf, &a, ek_mls_tree_leaf(&e->tree, e->own_leaf));
    if (rc == EK_OK)
        rc = ek_random(g->cfg.rng, secret, s->hash_len);
    if (rc == EK_OK)
        rc = ek_mls_node_key_pair(pub, priv, s, secret);
    ek_mls_tnode *n = NULL;
    if (rc == EK_OK) {
        leaf.encryption_key.data = pub;
        leaf.encryption_key.len = s->kem_public_len;
        leaf.source = EK_MLS_LEAF_SOURCE_UPDATE;
        leaf.not_before = leaf.not_after = 0;
        leaf.parent_hash.data = NULL;
        leaf.parent_hash.len = 0;
        rc = ek_mls_leaf_sign(&n, &leaf, &a, g->alloc, s, g->sig_priv, g->sig_priv_len, g->group_id,
                              g->group_id_len, e->own_leaf);
    }
    if (rc == EK_OK) {
        ek_mls_proposal p = {.type = EK_MLS_PROPOSAL_UPDATE};
        p.u.update = leaf;
        rc = send_proposal(g, msg, &p, pub, priv, &a);
    }
    ek_mls_tnode_unref(n, g->alloc);
    ek_wipe(secret, sizeof(secret));
    ek_wipe(priv, sizeof(priv));
    ek_mls_arena_free(&a);
    return rc;
}

int ek_mls_group_propose_psk(ek_mls_group *g, ek_mls_buf *msg, const uint8_t *psk_id,
                             size_t psk_id_len)
{
    EK_TRY(proposal_preamble(g, msg));
    if (psk_id == NULL || psk_id_len == 0)
        return EK_ERR_INVALID_ARG;
    uint8_t nonce[EK_MLS_MAX_HASH_LEN];
    EK_TRY(ek_random(g->cfg.rng, nonce, g->suite->hash_len));
    ek_mls_proposal p = {.type = EK_MLS_PROPOSAL_PSK};
    p.u.psk.type = EK_MLS_PSK_EXTERNAL;
    p.u.psk.psk_id = (ek_mls_bytes){psk_id, psk_id_len};
    p.u.psk.psk_nonce = (ek_mls_bytes){nonce, g->suite->hash_len};
    ek_mls_bytes secret;
    int rc = ek_mls_psk_resolve(&secret, g, &p.u.psk);
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    if (rc == EK_OK)
        rc = send_proposal(g, msg, &p, NULL, NULL, &a);
    ek_mls_arena_free(&a);
    return rc;
}

int ek_mls_group_propose_group_context_extensions(ek_mls_group *g, ek_mls_buf *msg,
                                                  const ek_mls_extensions *extensions)
{
    EK_TRY(proposal_preamble(g, msg));
    if (extensions == NULL)
        return EK_ERR_INVALID_ARG;
    EK_TRY(ek_mls_extensions_check(extensions));
    ek_mls_proposal p = {.type = EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS};
    p.u.group_context_extensions = *extensions;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    int rc = send_proposal(g, msg, &p, NULL, NULL, &a);
    ek_mls_arena_free(&a);
    return rc;
}

/* ---- application messages ---- */

int ek_mls_group_protect(ek_mls_group *g, ek_mls_buf *msg, const uint8_t *data, size_t len,
                         const uint8_t *authenticated_data, size_t ad_len)
{
    if (g == NULL || msg == NULL || (data == NULL && len > 0) ||
        (authenticated_data == NULL && ad_len > 0))
        return EK_ERR_INVALID_ARG;
    memset(msg, 0, sizeof(*msg));
    if (len > EK_MLS_MAX_APPLICATION_BYTES || ad_len > EK_MLS_MAX_APPLICATION_BYTES)
        return EK_ERR_TOO_LARGE;
    if (!g->active || g->cur == NULL)
        return EK_ERR_STATE;
    ek_mls_epoch *e = g->cur;
    /* §12.4: a member that has seen proposals commits before sending
     * application data. */
    if (e->proposal_count > 0)
        return EK_ERR_STATE;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_mls_authenticated_content ac;
    memset(&ac, 0, sizeof(ac));
    ac.wire_format = EK_MLS_WIRE_PRIVATE_MESSAGE;
    ek_mls_group_content_header(&ac.content, g, e, EK_MLS_CONTENT_APPLICATION);
    ac.content.authenticated_data = (ek_mls_bytes){authenticated_data, ad_len};
    ac.content.u.application_data = (ek_mls_bytes){data, len};
    int rc = ek_mls_sign_content(&ac, &a, g->suite, g->sig_priv, g->sig_priv_len, e->gc, e->gc_len);
    ek_mls_key_use use;
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    if (rc == EK_OK)
        rc = ek_mls_group_frame(&w, &use, g, e, &ac, &a);
    if (rc == EK_OK)
        rc = ek_mls_buf_from_writer(msg, &w);
    ek_writer_dispose(&w);
    ek_mls_arena_free(&a);
    /* The key is consumed last: a failure before leaves the group as it
     * was. */
    if (rc == EK_OK)
        rc = ek_mls_key_use_consume(&e->st, &use);
    if (rc != EK_OK)
        ek_mls_buf_free(msg);
    return rc;
}

/* ---- receiving ---- */

typedef struct lookup_ctx {
    const ek_mls_tree *tree;
} lookup_ctx;

/* §6.3.2: the sender must be a non-blank leaf of the epoch's tree. */
static int member_key(void *ctx, const ek_mls_framed_content *content, ek_mls_bytes *key)
{
    const lookup_ctx *lc = ctx;
    if (content->sender.type != EK_MLS_SENDER_MEMBER)
        return EK_ERR_UNSUPPORTED;
    const ek_mls_tnode *n = ek_mls_tree_leaf(lc->tree, content->sender.index);
    if (n == NULL)
        return EK_ERR_AUTH;
    *key = n->signature_key;
    return EK_OK;
}

void ek_mls_received_free(ek_mls_received *r)
{
    if (r == NULL)
        return;
    ek_mls_buf_free(&r->data);
    ek_mls_buf_free(&r->authenticated_data);
    memset(r, 0, sizeof(*r));
}

static int copy_out(ek_mls_buf *out, const ek_allocator *a, ek_mls_bytes b)
{
    memset(out, 0, sizeof(*out));
    ek_writer w;
    ek_writer_init_growable(&w, a);
    (void)ek_write_bytes(&w, b.data, b.len);
    int rc = ek_mls_buf_from_writer(out, &w);
    ek_writer_dispose(&w);
    return rc;
}

static int receive_proposal(ek_mls_group *g, ek_mls_epoch *e,
                            const ek_mls_authenticated_content *ac, const ek_mls_key_use *use)
{
    const ek_mls_suite *s = g->suite;
    if (e != g->cur)
        return EK_ERR_STATE; /* a proposal for an epoch we left */
    ek_mls_cached_proposal cp;
    memset(&cp, 0, sizeof(cp));
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    int rc = ek_mls_write_authenticated_content(&w, ac);
    if (rc == EK_OK)
        rc = ek_mls_proposal_ref_alloc(cp.ref, s, w.buf, w.len, g->alloc);
    if (rc == EK_OK && ac->content.sender.index == e->own_leaf) {
        /* Our own proposal coming back: it is cached already. */
        rc = ek_mls_epoch_find_proposal(e, cp.ref, s->hash_len) != NULL ? EK_OK : EK_ERR_STATE;
        ek_writer_dispose(&w);
        return rc == EK_OK ? ek_mls_key_use_consume(&e->st, use) : rc;
    }
    /* §12.1, §7.3: a proposal is validated when it arrives, so an invalid
     * one is never cached (and never blocks the epoch's commit). */
    if (rc == EK_OK)
        rc = ek_mls_proposal_check(g, e, &ac->content.u.proposal, ac->content.sender, NULL);
    w.len = 0;
    if (rc == EK_OK)
        rc = ek_mls_write_proposal(&w, &ac->content.u.proposal);
    size_t count = e->proposal_count;
    if (rc == EK_OK) {
        cp.sender = ac->content.sender;
        cp.enc = w.buf;
        cp.enc_len = w.len;
        rc = ek_mls_epoch_cache_proposal(e, g->alloc, &cp);
    }
    ek_writer_dispose(&w);
    if (rc == EK_OK) {
        rc = ek_mls_key_use_consume(&e->st, use);
        if (rc != EK_OK)
            ek_mls_epoch_uncache_since(e, g->alloc, count);
    }
    return rc;
}

/* Our commit lost the tie-break: keep its inline proposals for the next
 * commit (docs/protocol.md "MLS commit ordering", re-proposal). */
static int copy_lost(ek_mls_encoded_list *out, const ek_mls_group *g, const ek_mls_epoch *lost)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < lost->own_inline.count; i++) {
        int rc = ek_mls_encoded_list_push(out, g->alloc, lost->own_inline.items[i],
                                          lost->own_inline.lens[i]);
        if (rc != EK_OK) {
            ek_mls_encoded_list_free(out, g->alloc);
            return rc;
        }
    }
    return EK_OK;
}

/* docs/protocol.md "MLS commit ordering" rule 3.3: does a competing commit
 * for the retained epoch (committer c_committer, ap what it applied, c_ref
 * its CommitRef) beat w, the commit that started the current epoch? A
 * commit that removes the other's committer, and is not removed by it,
 * wins: a member cannot undo its removal by racing the commit that removed
 * it, however it grinds its CommitRef. Otherwise (neither, or each the
 * other) the smaller CommitRef wins; *by_ref says the CommitRef decided. */
static int competitor_wins(const ek_mls_epoch *w, uint32_t c_committer, const ek_mls_applied *ap,
                           const uint8_t *c_ref, size_t nh, int *by_ref)
{
    int c_removes_w = 0;
    for (size_t i = 0; i < ap->removed_count && w->committer != EK_MLS_NO_LEAF; i++)
        c_removes_w |= ap->removed[i] == w->committer;
    int w_removes_c = ek_mls_leaf_list_has(&w->removed, c_committer);
    *by_ref = c_removes_w == w_removes_c;
    return *by_ref ? memcmp(c_ref, w->commit_ref, nh) < 0 : c_removes_w;
}

static int in_list(const uint32_t *v, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

/* Rule 3.5: the Removes the winner's epoch owes after a race: what the
 * displaced or losing side owed already (keep), plus the loser's own
 * Removes (carried) when it lost on CommitRef; each only while its leaf is
 * still a member there (not removed by the winner, winner_removed). A
 * loser that lost because the winner removed its committer carries
 * nothing: a removed member's Removes are not enforced after it. */
static int owed_after_race(ek_mls_leaf_list *out, const ek_allocator *a,
                           const ek_mls_leaf_list *keep, const uint32_t *carried, size_t n_carried,
                           const uint32_t *winner_removed, size_t n_winner_removed,
                           const ek_mls_tree *winner_tree)
{
    memset(out, 0, sizeof(*out));
    size_t cap = keep->count + n_carried;
    if (cap == 0)
        return EK_OK;
    uint32_t *v = ek_alloc(a, cap * sizeof(uint32_t));
    if (v == NULL)
        return EK_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < cap; i++) {
        uint32_t l = i < keep->count ? keep->items[i] : carried[i - keep->count];
        if (ek_mls_tree_leaf(winner_tree, l) != NULL &&
            !in_list(winner_removed, n_winner_removed, l) && !in_list(v, n, l))
            v[n++] = l;
    }
    int rc = ek_mls_leaf_list_set(out, a, v, n);
    ek_free(a, v, cap * sizeof(uint32_t));
    return rc;
}

/* Each path below consumes the message's ratchet key (use) once nothing
 * else can fail, and after that changes the group only in ways that cannot
 * fail: a commit that fails, for memory too, leaves the group as it was. */
static int receive_commit(ek_mls_group *g, ek_mls_received *out, ek_mls_epoch *e,
                          const ek_mls_authenticated_content *ac, ek_mls_arena *a,
                          const ek_mls_key_use *use)
{
    const ek_mls_suite *s = g->suite;
    uint8_t ref[EK_MLS_MAX_HASH_LEN];
    EK_TRY(ek_mls_commit_ref(ref, s, ac, g->alloc));
    if (ac->content.sender.index == e->own_leaf) {
        /* Our own commit coming back. */
        if (e == g->cur && g->pending != NULL &&
            memcmp(g->pending->commit_ref, ref, s->hash_len) == 0) {
            EK_TRY(ek_mls_key_use_consume(&e->st, use));
            EK_TRY(ek_mls_group_merge_pending_commit(g));
            out->kind = EK_MLS_RECEIVED_COMMIT;
            return EK_OK;
        }
        if (e == g->prev && memcmp(g->cur->commit_ref, ref, s->hash_len) == 0) {
            EK_TRY(ek_mls_key_use_consume(&e->st, use));
            out->kind = EK_MLS_RECEIVED_DUPLICATE;
            return EK_OK;
        }
        return EK_ERR_STATE;
    }
    if (e == g->prev && g->cur->has_commit_ref &&
        memcmp(g->cur->commit_ref, ref, s->hash_len) == 0) {
        EK_TRY(ek_mls_key_use_consume(&e->st, use));
        out->kind = EK_MLS_RECEIVED_DUPLICATE;
        return EK_OK;
    }
    ek_mls_epoch *next = NULL;
    ek_mls_applied applied;
    EK_TRY(ek_mls_commit_process(&next, &applied, a, g, e, ac));
    /* A competitor for the retained epoch: who wins, and the Removes the
     * winner's epoch owes afterwards (rules 3.3, 3.5). Its proposals, for
     * the re-proposal when it beats our own commit, are copied now, while
     * failing still changes nothing. */
    int wins = 0, by_ref = 0;
    ek_mls_leaf_list owed = {0};
    int rc = EK_OK;
    if (e == g->prev) {
        ek_mls_epoch *w = g->cur;
        wins = competitor_wins(w, ac->content.sender.index, &applied, ref, s->hash_len, &by_ref);
        if (wins)
            rc = owed_after_race(&owed, g->alloc, &w->owed, w->removed.items,
                                 by_ref ? w->removed.count : 0, applied.removed,
                                 applied.removed_count, &next->tree);
        else
            rc = owed_after_race(&owed, g->alloc, &w->owed, applied.removed,
                                 by_ref ? applied.removed_count : 0, w->removed.items,
                                 w->removed.count, &w->tree);
    }
    ek_mls_encoded_list lost = {0};
    if (rc == EK_OK && wins && g->cur->own_commit)
        rc = copy_lost(&lost, g, g->cur);
    if (rc == EK_OK)
        rc = ek_mls_key_use_consume(&e->st, use);
    if (rc != EK_OK) {
        ek_mls_leaf_list_free(&owed, g->alloc);
        ek_mls_encoded_list_free(&lost, g->alloc);
        ek_mls_epoch_free(next, g->alloc);
        return rc;
    }
    if (applied.self_removed && (e == g->cur || wins)) {
        /* Removed (§12.4.2): we cannot follow into the new epoch. The
         * state stays at the last epoch we were a member of, inactive. */
        ek_mls_leaf_list_free(&owed, g->alloc);
        ek_mls_encoded_list_free(&lost, g->alloc);
        ek_mls_epoch_free(next, g->alloc);
        ek_mls_group_discard_pending_commit(g);
        g->active = 0;
        out->kind = EK_MLS_RECEIVED_COMMIT;
        out->removed = 1;
        return EK_OK;
    }
    if (e == g->prev) {
        /* A competing commit for the epoch we left (docs/protocol.md
         * rule 3.3); the winner's epoch takes the owed Removes (3.5). */
        if (!wins) {
            ek_mls_epoch_free(next, g->alloc);
            ek_mls_leaf_list_free(&g->cur->owed, g->alloc);
            g->cur->owed = owed;
            out->kind = EK_MLS_RECEIVED_COMMIT_LOST;
            return EK_OK;
        }
        ek_mls_leaf_list_free(&next->owed, g->alloc);
        next->owed = owed;
        out->switched = 1;
        out->own_commit_lost = g->cur->own_commit;
        if (g->cur->own_commit) {
            ek_mls_encoded_list_free(&g->lost, g->alloc);
            g->lost = lost;
        }
        ek_mls_epoch_free(g->cur, g->alloc);
        g->cur = next;
        ek_mls_group_remember_resumption(g, next);
        ek_wipe(next->secrets.joiner_secret, sizeof(next->secrets.joiner_secret));
        ek_wipe(next->secrets.welcome_secret, sizeof(next->secrets.welcome_secret));
    } else {
        /* Our own commit for this epoch was never sent (it would have been
         * merged): it is void now. */
        ek_mls_group_discard_pending_commit(g);
        enter_epoch(g, next);
        ek_mls_encoded_list_free(&g->lost, g->alloc);
    }
    out->kind = EK_MLS_RECEIVED_COMMIT;
    return EK_OK;
}

int ek_mls_group_process(ek_mls_group *g, ek_mls_received *out, const uint8_t *msg, size_t len)
{
    if (g == NULL || out == NULL || msg == NULL)
        return EK_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (!g->active || g->cur == NULL)
        return EK_ERR_STATE;
    const ek_mls_suite *s = g->suite;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_mls_message m;
    int rc = ek_mls_message_decode(&m, &a, msg, len);
    ek_mls_bytes group_id = {0};
    uint64_t epoch = 0;
    if (rc == EK_OK) {
        if (m.wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE) {
            group_id = m.u.public_message.content.group_id;
            epoch = m.u.public_message.content.epoch;
        } else if (m.wire_format == EK_MLS_WIRE_PRIVATE_MESSAGE) {
            group_id = m.u.private_message.group_id;
            epoch = m.u.private_message.epoch;
        } else {
            rc = EK_ERR_DECODE;
        }
    }
    if (rc == EK_OK && (group_id.len != g->group_id_len ||
                        memcmp(group_id.data, g->group_id, g->group_id_len) != 0))
        rc = EK_ERR_DECODE;
    ek_mls_epoch *e = NULL;
    if (rc == EK_OK) {
        if (epoch == g->cur->epoch)
            e = g->cur;
        else if (g->prev != NULL && epoch == g->prev->epoch)
            e = g->prev;
        else
            rc = EK_ERR_STATE; /* an epoch we do not hold (too old, or ahead) */
    }
    /* A PrivateMessage's ratchet key is consumed only once everything the
     * message causes has succeeded: a failure leaves the group as it was. */
    ek_mls_authenticated_content ac;
    ek_mls_key_use use = {0};
    lookup_ctx lc = {e != NULL ? &e->tree : NULL};
    ek_mls_signer_lookup signer = {member_key, &lc};
    if (rc == EK_OK && m.wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE)
        rc = ek_mls_public_message_unprotect_alloc(&ac, s, &m.u.public_message,
                                                   e->secrets.membership_key, e->gc, e->gc_len,
                                                   &signer, g->alloc);
    else if (rc == EK_OK)
        rc = ek_mls_private_message_open(&ac, &use, &a, s, &e->st, e->secrets.sender_data_secret,
                                         &m.u.private_message, e->gc, e->gc_len, &signer);
    if (rc == EK_OK) {
        out->sender = ac.content.sender.index;
        out->epoch = epoch;
        switch (ac.content.content_type) {
        case EK_MLS_CONTENT_APPLICATION:
            out->kind = EK_MLS_RECEIVED_APPLICATION;
            rc = copy_out(&out->data, g->alloc, ac.content.u.application_data);
            if (rc == EK_OK)
                rc = copy_out(&out->authenticated_data, g->alloc, ac.content.authenticated_data);
            if (rc == EK_OK)
                rc = ek_mls_key_use_consume(&e->st, &use);
            break;
        case EK_MLS_CONTENT_PROPOSAL:
            out->kind = EK_MLS_RECEIVED_PROPOSAL;
            rc = receive_proposal(g, e, &ac, &use);
            break;
        case EK_MLS_CONTENT_COMMIT: rc = receive_commit(g, out, e, &ac, &a, &use); break;
        default: rc = EK_ERR_DECODE;
        }
    }
    ek_mls_arena_free(&a);
    if (rc != EK_OK)
        ek_mls_received_free(out);
    return rc;
}
