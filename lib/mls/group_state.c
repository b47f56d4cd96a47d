/*
 * group_state.c: saving and restoring a whole group (for the vault): the
 * current epoch, the retained previous epoch and our pending commit's
 * epoch, each with its tree, GroupContext fields, every epoch secret, the
 * secret tree's exact position (consumed keys stay consumed, so no nonce is
 * ever reused after a restore), our private keys and cached proposals;
 * plus the resumption PSKs and proposals awaiting re-commit.
 *
 * The blob is SECRET. Format version 2, all integers big-endian, <V> as in
 * RFC 9420 §2.1.2 (version 1, without an Epoch's race fields, is still
 * read):
 *   "EKMLSGRP" uint16 version uint16 cipher_suite V(group_id) V(sig_priv)
 *   uint8 active  [uint64 clock_floor (version 2)]
 *   resumption<V>  lost<V>  uint8 has_prev  uint8 has_pending
 *   Epoch cur  [Epoch prev]  [Epoch pending]
 * An Epoch is listed in write_epoch. restore parses strictly (every length,
 * every enum, nothing left over) and rebuilds derived state (tree hashes,
 * the encoded GroupContext) rather than trusting it.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "group_internal.h"

static const uint8_t state_magic[8] = {'E', 'K', 'M', 'L', 'S', 'G', 'R', 'P'};
#define STATE_VERSION    2
#define STATE_VERSION_V1 1

/* ---- writing ---- */

static void write_secret_tree(ek_writer *w, const ek_mls_secret_tree *st, size_t nh)
{
    uint32_t width = ek_mls_tree_width(st->n_leaves);
    (void)ek_write_u32(w, st->n_leaves);
    for (uint32_t i = 0; i < width; i++) {
        (void)ek_write_u8(w, st->node_present[i]);
        if (st->node_present[i])
            (void)ek_write_bytes(w, st->node_secrets + (size_t)i * nh, nh);
    }
    for (size_t i = 0; i < 2 * (size_t)st->n_leaves; i++) {
        const ek_mls_ratchet *r = &st->ratchets[i];
        (void)ek_write_u8(w, r->live);
        if (!r->live)
            continue;
        (void)ek_write_u8(w, r->exhausted);
        (void)ek_write_u32(w, r->next);
        (void)ek_write_bytes(w, r->secret, nh);
        (void)ek_write_u16(w, r->skipped_count);
        for (uint16_t k = 0; k < r->skipped_count; k++) {
            (void)ek_write_u32(w, r->skipped[k].generation);
            (void)ek_write_bytes(w, r->skipped[k].key, sizeof(r->skipped[k].key));
            (void)ek_write_bytes(w, r->skipped[k].nonce, sizeof(r->skipped[k].nonce));
        }
    }
}

/* The secrets of ek_mls_epoch_secrets, in declaration order. */
static uint8_t *secret_field(ek_mls_epoch_secrets *es, size_t i)
{
    uint8_t *fields[] = {
        es->joiner_secret,   es->welcome_secret,      es->sender_data_secret, es->encryption_secret,
        es->exporter_secret, es->external_secret,     es->confirmation_key,   es->membership_key,
        es->resumption_psk,  es->epoch_authenticator, es->init_secret,
    };
    return i < sizeof(fields) / sizeof(fields[0]) ? fields[i] : NULL;
}
#define SECRET_FIELDS 11

static void write_list(ek_writer *w, const ek_mls_encoded_list *l)
{
    size_t mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < l->count; i++)
        (void)ek_mls_write_opaque(w, l->items[i], l->lens[i]);
    (void)ek_mls_vector_end(w, mark);
}

/* Epoch = uint64 epoch uint32 own_leaf V(ratchet_tree) V(gc_extensions)
 *   V(confirmed) opaque interim[Nh] opaque secrets[11][Nh]
 *   keys<V> (uint32 node, opaque pub[Npk], opaque priv[Nsk])
 *   proposals<V> (opaque ref[Nh], Sender, V(proposal), uint8 own_update
 *                 [opaque pub[Npk], opaque priv[Nsk]])
 *   uint8 has_commit_ref [opaque ref[Nh]] uint8 own_commit own_inline<V>
 *   uint32 committer removed<V> (uint32) owed<V> (uint32)   (version 2)
 *   SecretTree (uint32 n_leaves, per node uint8 present [secret[Nh]],
 *   per ratchet uint8 live [uint8 exhausted uint32 next secret[Nh]
 *   uint16 skipped (uint32 generation key[32] nonce[12])*]). */
static void write_leaf_list(ek_writer *w, const ek_mls_leaf_list *l)
{
    size_t mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < l->count; i++)
        (void)ek_write_u32(w, l->items[i]);
    (void)ek_mls_vector_end(w, mark);
}

static void write_epoch(ek_writer *w, const ek_mls_group *g, const ek_mls_epoch *e)
{
    const ek_mls_suite *s = g->suite;
    size_t nh = s->hash_len;
    (void)ek_write_u64(w, e->epoch);
    (void)ek_write_u32(w, e->own_leaf);
    size_t mark = ek_mls_vector_begin(w);
    (void)ek_mls_tree_write(w, &e->tree);
    (void)ek_mls_vector_end(w, mark);
    (void)ek_mls_write_opaque(w, e->gc_ext, e->gc_ext_len);
    (void)ek_mls_write_opaque(w, e->confirmed_len > 0 ? e->confirmed : NULL, e->confirmed_len);
    (void)ek_write_bytes(w, e->interim, nh);
    ek_mls_epoch_secrets es = e->secrets;
    for (size_t i = 0; i < SECRET_FIELDS; i++)
        (void)ek_write_bytes(w, secret_field(&es, i), nh);
    ek_wipe(&es, sizeof(es));
    mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < e->ring.count; i++) {
        (void)ek_write_u32(w, e->ring.k[i].node);
        (void)ek_write_bytes(w, e->ring.k[i].pub, s->kem_public_len);
        (void)ek_write_bytes(w, e->ring.k[i].priv, s->kem_private_len);
    }
    (void)ek_mls_vector_end(w, mark);
    mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < e->proposal_count; i++) {
        const ek_mls_cached_proposal *p = &e->proposals[i];
        (void)ek_write_bytes(w, p->ref, nh);
        (void)ek_mls_write_sender(w, &p->sender);
        (void)ek_mls_write_opaque(w, p->enc, p->enc_len);
        (void)ek_write_u8(w, p->own_update ? 1 : 0);
        if (p->own_update) {
            (void)ek_write_bytes(w, p->update_pub, s->kem_public_len);
            (void)ek_write_bytes(w, p->update_priv, s->kem_private_len);
        }
    }
    (void)ek_mls_vector_end(w, mark);
    (void)ek_write_u8(w, e->has_commit_ref ? 1 : 0);
    if (e->has_commit_ref)
        (void)ek_write_bytes(w, e->commit_ref, nh);
    (void)ek_write_u8(w, e->own_commit ? 1 : 0);
    write_list(w, &e->own_inline);
    (void)ek_write_u32(w, e->committer);
    write_leaf_list(w, &e->removed);
    write_leaf_list(w, &e->owed);
    write_secret_tree(w, &e->st, nh);
}

int ek_mls_group_save(const ek_mls_group *g, ek_mls_buf *out)
{
    if (g == NULL || out == NULL || g->cur == NULL)
        return EK_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    const ek_mls_suite *s = g->suite;
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    (void)ek_write_bytes(&w, state_magic, sizeof(state_magic));
    (void)ek_write_u16(&w, STATE_VERSION);
    (void)ek_write_u16(&w, s->id);
    (void)ek_mls_write_opaque(&w, g->group_id, g->group_id_len);
    (void)ek_mls_write_opaque(&w, g->sig_priv, g->sig_priv_len);
    (void)ek_write_u8(&w, g->active ? 1 : 0);
    (void)ek_write_u64(&w, g->clock_floor_s);
    size_t mark = ek_mls_vector_begin(&w);
    for (size_t i = 0; i < EK_MLS_RESUMPTION_EPOCHS; i++) {
        if (!g->resumption[i].used)
            continue;
        (void)ek_write_u64(&w, g->resumption[i].epoch);
        (void)ek_write_bytes(&w, g->resumption[i].psk, s->hash_len);
    }
    (void)ek_mls_vector_end(&w, mark);
    write_list(&w, &g->lost);
    (void)ek_write_u8(&w, g->prev != NULL);
    (void)ek_write_u8(&w, g->pending != NULL);
    write_epoch(&w, g, g->cur);
    if (g->prev != NULL)
        write_epoch(&w, g, g->prev);
    if (g->pending != NULL)
        write_epoch(&w, g, g->pending);
    int rc = ek_mls_buf_from_writer(out, &w);
    ek_writer_dispose(&w);
    return rc;
}

/* ---- reading ---- */

static int read_flag(int *v, ek_reader *r)
{
    uint8_t b = 0;
    EK_TRY(ek_read_u8(r, &b));
    if (b > 1)
        return ek_reader_fail(r, EK_ERR_DECODE);
    *v = b;
    return EK_OK;
}

static int read_list(ek_mls_encoded_list *l, const ek_allocator *a, ek_reader *r)
{
    ek_reader sub;
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        ek_mls_bytes b;
        EK_TRY(ek_mls_read_opaque(&b, &sub));
        if (l->count >= EK_MLS_MAX_PROPOSALS)
            return ek_reader_fail(r, EK_ERR_TOO_LARGE);
        EK_TRY(ek_mls_encoded_list_push(l, a, b.data, b.len));
    }
    return ek_mls_finish_sub(r, &sub);
}

/* A list of leaves of the epoch's tree (index below n_leaves, no repeats:
 * at most one entry per leaf). */
static int read_leaf_list(ek_mls_leaf_list *l, const ek_mls_group *g, ek_reader *r)
{
    ek_reader sub;
    EK_TRY(ek_mls_read_vector(&sub, r));
    size_t n = ek_reader_remaining(&sub) / 4;
    if (ek_reader_remaining(&sub) % 4 != 0 || n > EK_MLS_MAX_PROPOSALS)
        return ek_reader_fail(r, EK_ERR_DECODE);
    uint32_t items[64];
    uint32_t *v = n <= 64 ? items : ek_alloc(g->alloc, n * sizeof(uint32_t));
    if (v == NULL)
        return ek_reader_fail(r, EK_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        (void)ek_read_u32(&sub, &v[i]);
    int rc = ek_mls_finish_sub(r, &sub);
    for (size_t i = 0; rc == EK_OK && i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (v[j] == v[i])
                rc = ek_reader_fail(r, EK_ERR_DECODE);
    if (rc == EK_OK)
        rc = ek_mls_leaf_list_set(l, g->alloc, v, n);
    if (v != items)
        ek_free(g->alloc, v, n * sizeof(uint32_t));
    return rc == EK_OK ? EK_OK : ek_reader_fail(r, rc);
}

static int read_secret_tree(ek_mls_epoch *e, const ek_mls_group *g, ek_reader *r)
{
    const ek_mls_suite *s = g->suite;
    size_t nh = s->hash_len;
    uint32_t n_leaves = 0;
    EK_TRY(ek_read_u32(r, &n_leaves));
    /* The secret tree covers the ratchet tree's leaves (padded). */
    if (n_leaves != e->tree.n_leaves)
        return ek_reader_fail(r, EK_ERR_DECODE);
    uint8_t zero[EK_MLS_MAX_HASH_LEN] = {0};
    ek_mls_secret_tree *st = &e->st;
    EK_TRY(ek_mls_secret_tree_init(st, s, g->alloc, zero, n_leaves));
    uint32_t width = ek_mls_tree_width(n_leaves);
    memset(st->node_present, 0, width);
    ek_wipe(st->node_secrets, (size_t)width * nh);
    for (uint32_t i = 0; i < width; i++) {
        int present = 0;
        EK_TRY(read_flag(&present, r));
        st->node_present[i] = (uint8_t)present;
        if (present)
            EK_TRY(ek_read_bytes(r, st->node_secrets + (size_t)i * nh, nh));
    }
    for (size_t i = 0; i < 2 * (size_t)n_leaves; i++) {
        ek_mls_ratchet *rt = &st->ratchets[i];
        int live = 0, exhausted = 0;
        EK_TRY(read_flag(&live, r));
        rt->live = (uint8_t)live;
        if (!live)
            continue;
        EK_TRY(read_flag(&exhausted, r));
        rt->exhausted = (uint8_t)exhausted;
        EK_TRY(ek_read_u32(r, &rt->next));
        EK_TRY(ek_read_bytes(r, rt->secret, nh));
        uint16_t skipped = 0;
        EK_TRY(ek_read_u16(r, &skipped));
        if (skipped > EK_MLS_MAX_SKIPPED_KEYS)
            return ek_reader_fail(r, EK_ERR_DECODE);
        if (skipped > 0) {
            size_t bytes = (size_t)EK_MLS_MAX_SKIPPED_KEYS * sizeof(ek_mls_key_nonce);
            rt->skipped = ek_alloc(g->alloc, bytes);
            if (rt->skipped == NULL)
                return ek_reader_fail(r, EK_ERR_NOMEM);
            memset(rt->skipped, 0, bytes);
        }
        for (uint16_t k = 0; k < skipped; k++) {
            ek_mls_key_nonce *kn = &rt->skipped[k];
            EK_TRY(ek_read_u32(r, &kn->generation));
            EK_TRY(ek_read_bytes(r, kn->key, sizeof(kn->key)));
            EK_TRY(ek_read_bytes(r, kn->nonce, sizeof(kn->nonce)));
        }
        rt->skipped_count = skipped;
    }
    return EK_OK;
}

static int read_epoch(ek_mls_epoch *e, const ek_mls_group *g, ek_reader *r, uint16_t version)
{
    const ek_mls_suite *s = g->suite;
    size_t nh = s->hash_len;
    const ek_allocator *a = g->alloc;
    EK_TRY(ek_read_u64(r, &e->epoch));
    EK_TRY(ek_read_u32(r, &e->own_leaf));
    ek_reader sub;
    EK_TRY(ek_mls_read_vector(&sub, r));
    ek_mls_arena arena;
    ek_mls_arena_init(&arena, a);
    ek_mls_ratchet_tree rt;
    int rc = ek_mls_read_ratchet_tree(&rt, &arena, &sub);
    if (rc == EK_OK)
        rc = ek_reader_finish(&sub);
    if (rc == EK_OK)
        rc = ek_mls_tree_from_decoded(&e->tree, s, a, &rt);
    ek_mls_arena_free(&arena);
    if (rc != EK_OK)
        return ek_reader_fail(r, rc);
    ek_mls_bytes ext, confirmed;
    EK_TRY(ek_mls_read_opaque(&ext, r));
    EK_TRY(ek_mls_read_opaque(&confirmed, r));
    if (confirmed.len != 0 && confirmed.len != nh)
        return ek_reader_fail(r, EK_ERR_DECODE);
    e->confirmed_len = confirmed.len;
    if (confirmed.len > 0)
        memcpy(e->confirmed, confirmed.data, nh);
    /* The extensions must decode as an Extension list. */
    if (ext.len > 0) {
        ek_reader er;
        ek_reader_init(&er, ext.data, ext.len);
        ek_mls_extensions dec;
        ek_mls_arena_init(&arena, a);
        rc = ek_mls_read_extensions(&dec, &arena, &er);
        if (rc == EK_OK)
            rc = ek_reader_finish(&er);
        if (rc == EK_OK)
            rc = ek_mls_epoch_set_extensions(e, a, &dec);
        ek_mls_arena_free(&arena);
        if (rc != EK_OK)
            return ek_reader_fail(r, rc);
    } else if ((rc = ek_mls_epoch_set_extensions(e, a, NULL)) != EK_OK) {
        return ek_reader_fail(r, rc);
    }
    EK_TRY(ek_read_bytes(r, e->interim, nh));
    e->secrets.len = nh;
    for (size_t i = 0; i < SECRET_FIELDS; i++)
        EK_TRY(ek_read_bytes(r, secret_field(&e->secrets, i), nh));
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        if (e->ring.count == EK_MLS_MAX_NODE_KEYS)
            return ek_reader_fail(r, EK_ERR_DECODE);
        ek_mls_node_key *k = &e->ring.k[e->ring.count++];
        (void)ek_read_u32(&sub, &k->node);
        (void)ek_read_bytes(&sub, k->pub, s->kem_public_len);
        (void)ek_read_bytes(&sub, k->priv, s->kem_private_len);
    }
    EK_TRY(ek_mls_finish_sub(r, &sub));
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        ek_mls_cached_proposal p;
        memset(&p, 0, sizeof(p));
        ek_mls_bytes enc;
        int own = 0;
        (void)ek_read_bytes(&sub, p.ref, nh);
        (void)ek_mls_read_sender(&p.sender, &sub);
        (void)ek_mls_read_opaque(&enc, &sub);
        (void)read_flag(&own, &sub);
        if (own) {
            (void)ek_read_bytes(&sub, p.update_pub, s->kem_public_len);
            (void)ek_read_bytes(&sub, p.update_priv, s->kem_private_len);
        }
        if (sub.err != EK_OK)
            break;
        p.own_update = own;
        p.enc = (uint8_t *)enc.data;
        p.enc_len = enc.len;
        rc = ek_mls_epoch_cache_proposal(e, a, &p);
        ek_wipe(&p, sizeof(p));
        if (rc != EK_OK)
            return ek_reader_fail(r, rc);
    }
    EK_TRY(ek_mls_finish_sub(r, &sub));
    int has_ref = 0, own_commit = 0;
    EK_TRY(read_flag(&has_ref, r));
    e->has_commit_ref = has_ref;
    if (has_ref)
        EK_TRY(ek_read_bytes(r, e->commit_ref, nh));
    EK_TRY(read_flag(&own_commit, r));
    e->own_commit = own_commit;
    EK_TRY(read_list(&e->own_inline, a, r));
    if (version >= STATE_VERSION) {
        EK_TRY(ek_read_u32(r, &e->committer));
        EK_TRY(read_leaf_list(&e->removed, g, r));
        EK_TRY(read_leaf_list(&e->owed, g, r));
    }
    EK_TRY(read_secret_tree(e, g, r));
    /* Derived state is rebuilt, not trusted: tree hash and GroupContext. */
    if (e->own_leaf >= e->tree.n_leaves ||
        (e->committer != EK_MLS_NO_LEAF && e->committer >= e->tree.n_leaves))
        return ek_reader_fail(r, EK_ERR_DECODE);
    for (size_t i = 0; i < e->removed.count; i++)
        if (e->removed.items[i] >= e->tree.n_leaves)
            return ek_reader_fail(r, EK_ERR_DECODE);
    for (size_t i = 0; i < e->owed.count; i++)
        if (e->owed.items[i] >= e->tree.n_leaves)
            return ek_reader_fail(r, EK_ERR_DECODE);
    for (size_t i = 0; i < e->ring.count; i++)
        if (e->ring.k[i].node >= ek_mls_tree_nodes(&e->tree))
            return ek_reader_fail(r, EK_ERR_DECODE);
    rc = ek_mls_epoch_refresh_context(e, g);
    return rc == EK_OK ? EK_OK : ek_reader_fail(r, rc);
}

static int restore_epoch(ek_mls_epoch **out, ek_mls_group *g, ek_reader *r, uint16_t version)
{
    EK_TRY(ek_mls_epoch_new(out, g->alloc));
    return read_epoch(*out, g, r, version);
}

int ek_mls_group_restore(ek_mls_group **out, const ek_mls_group_config *cfg, const uint8_t *buf,
                         size_t len)
{
    if (out == NULL || buf == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    ek_reader r;
    ek_reader_init(&r, buf, len);
    const uint8_t *magic = NULL;
    uint16_t version = 0, suite_id = 0;
    ek_mls_bytes group_id, sig;
    (void)ek_read_view(&r, &magic, sizeof(state_magic));
    (void)ek_read_u16(&r, &version);
    (void)ek_read_u16(&r, &suite_id);
    (void)ek_mls_read_opaque(&group_id, &r);
    (void)ek_mls_read_opaque(&sig, &r);
    EK_TRY(r.err);
    if (memcmp(magic, state_magic, sizeof(state_magic)) != 0)
        return EK_ERR_DECODE;
    if (version != STATE_VERSION && version != STATE_VERSION_V1)
        return EK_ERR_UNSUPPORTED;
    const ek_mls_suite *s = ek_mls_suite_get(suite_id);
    if (s == NULL)
        return EK_ERR_UNSUPPORTED;
    if (sig.len != s->sig_private_len)
        return EK_ERR_DECODE;
    ek_mls_group *g = NULL;
    EK_TRY(ek_mls_group_alloc(&g, cfg, s, group_id.data, group_id.len));
    memcpy(g->sig_priv, sig.data, sig.len);
    g->sig_priv_len = sig.len;
    int active = 0, has_prev = 0, has_pending = 0;
    (void)read_flag(&active, &r);
    g->active = active;
    if (version >= STATE_VERSION)
        (void)ek_read_u64(&r, &g->clock_floor_s);
    ek_reader sub;
    int rc = ek_mls_read_vector(&sub, &r);
    size_t n = 0;
    while (rc == EK_OK && ek_reader_remaining(&sub) > 0) {
        if (n == EK_MLS_RESUMPTION_EPOCHS) {
            rc = EK_ERR_DECODE;
            break;
        }
        g->resumption[n].used = 1;
        (void)ek_read_u64(&sub, &g->resumption[n].epoch);
        rc = ek_read_bytes(&sub, g->resumption[n].psk, s->hash_len);
        n++;
    }
    if (rc == EK_OK)
        rc = ek_mls_finish_sub(&r, &sub);
    if (rc == EK_OK)
        rc = read_list(&g->lost, g->alloc, &r);
    if (rc == EK_OK)
        rc = read_flag(&has_prev, &r);
    if (rc == EK_OK)
        rc = read_flag(&has_pending, &r);
    if (rc == EK_OK)
        rc = restore_epoch(&g->cur, g, &r, version);
    if (rc == EK_OK && has_prev)
        rc = restore_epoch(&g->prev, g, &r, version);
    if (rc == EK_OK && has_pending)
        rc = restore_epoch(&g->pending, g, &r, version);
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    if (rc == EK_OK && active && ek_mls_tree_leaf(&g->cur->tree, g->cur->own_leaf) == NULL)
        rc = EK_ERR_DECODE;
    if (rc != EK_OK) {
        ek_mls_group_free(g);
        return rc;
    }
    *out = g;
    return EK_OK;
}
