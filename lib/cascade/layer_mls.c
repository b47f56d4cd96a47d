/*
 * layer_mls.c: the MLS layer (docs/protocol.md §5.4): application messages
 * as RFC 9420 PrivateMessages in the connection's two-member group, cipher
 * suite MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 (0x0001) as in the
 * original, with a compact encoding of what both members already know.
 *
 * Handshake: the initiator puts a fresh KeyPackage in hello (basic
 * credential: its Ed25519 identity key); the responder checks it (§10.1,
 * and that the credential is the hello's identity), creates the group
 * (group_id: the first 16 bytes of SHA-256("enkrypt 1.0 MLS group" ||
 * transcript)), commits an Add of the initiator and sends the Welcome (with
 * the ratchet tree in the GroupInfo) as its response material; the
 * initiator joins from it and checks the group holds exactly the two of
 * them, under the group_id this handshake gives. Binder:
 * MLS-Exporter("enkrypt 1.0 binder", transcript, 32).
 *
 * Message (§6.3): the PrivateMessage of ek_mls_group_protect, the engine's
 * associated data as its authenticated_data, sent as
 *   varint(epoch) || encrypted_sender_data (28 bytes) || ciphertext
 * The version (mls10), wire format (private_message), group_id,
 * content_type (application) and authenticated_data are not sent: the
 * receiver knows them and puts them back, rebuilding the exact MLSMessage
 * before ek_mls_group_process; they stay under the content AEAD's AAD and
 * the sender's signature (§6.1, §6.3.1), so nothing MLS authenticates is
 * lost. The receiver accepts only application messages from the peer's
 * leaf.
 *
 * Two-phase open. ek_mls_group_process deletes the generation's key as
 * soon as the message verifies (RFC 9420 §9.2, §15.2), so the library
 * cannot take an open back. When a layer inside this one fails after we
 * opened (a Signal frame the engine keeps for later, docs/protocol.md
 * §5.3), the cascade rolls us back: we then retain the plaintext under the
 * SHA-256 of the MLSMessage we rebuilt (which holds the associated data and
 * every byte received) and give it back, without the library, when the
 * very same bytes are opened again; the entry goes once that open is
 * committed. At most EK_MLS_LAYER_RETAINED entries and
 * EK_MLS_LAYER_RETAINED_BYTES of plaintext are kept (oldest evicted); they
 * are not saved (the engine does not save the frames it keeps either).
 *
 * Until MLS part 2 (the group API of ek_mls.h) is in the tree, the layer
 * cannot be made: ek_layer_mls_new returns EK_ERR_UNSUPPORTED.
 */
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "cascade/cascade_internal.h"

#ifndef EK_MLS_MAX_GROUP_ID_BYTES /* the group API is not there yet */

int ek_layer_mls_new(ek_layer **out, const ek_allocator *a, const ek_rng *rng)
{
    (void)a;
    (void)rng;
    if (out != NULL)
        *out = NULL;
    return EK_ERR_UNSUPPORTED;
}

#else

#define SUITE                       0x0001
#define GROUP_ID_LEN                16
#define ESD_LEN                     28 /* SenderData (12) + AES-128-GCM tag (16) */
#define MLS_TAG_LEN                 16
#define MLS_SIG_LEN                 64

/* Opens rolled back and kept for a retry of the same bytes. */
#define EK_MLS_LAYER_RETAINED       64u
#define EK_MLS_LAYER_RETAINED_BYTES ((size_t)40 << 20)

#define PEND_NONE     0
#define PEND_LIBRARY  1 /* opened by the library: pend_pt; the message in buf */
#define PEND_RETAINED 2 /* opened from retained[pend_slot] */

typedef struct retained_open {
    uint8_t digest[EK_SHA256_LEN]; /* SHA-256 of the rebuilt MLSMessage */
    ek_mls_buf pt;
} retained_open;

typedef struct mls_layer {
    ek_layer base;
    int role;
    int established;
    ek_mls_group_config cfg;
    ek_mls_key_package_bundle *kp;
    ek_mls_group *group;
    uint8_t self_id[32], peer_id[32];
    int have_ids;
    uint32_t peer_leaf;
    uint8_t group_id[GROUP_ID_LEN];
    uint8_t *buf;
    size_t buf_cap;
    /* the open waiting for commit or rollback */
    int pending;
    ek_mls_buf pend_pt;
    size_t pend_msg_len; /* the rebuilt MLSMessage, at the start of buf */
    size_t pend_slot;
    /* rolled-back opens, oldest first */
    retained_open retained[EK_MLS_LAYER_RETAINED];
    size_t n_retained, retained_bytes;
} mls_layer;

static mls_layer *ml(ek_layer *l)
{
    return (mls_layer *)l;
}

static uint8_t *scratch(mls_layer *m, size_t need)
{
    if (m->buf != NULL && m->buf_cap >= need)
        return m->buf;
    size_t cap = need < 4096 ? 4096 : need;
    uint8_t *nb = ek_alloc(m->base.alloc, cap);
    if (nb == NULL)
        return NULL;
    if (m->buf != NULL) {
        ek_wipe(m->buf, m->buf_cap);
        ek_free(m->base.alloc, m->buf, m->buf_cap);
    }
    m->buf = nb;
    m->buf_cap = cap;
    return nb;
}

/* Credentials: basic, 32 bytes, one of the two identity keys. */
static int validate_credential(void *ctx, const ek_mls_credential *c, const uint8_t *sig_key,
                               size_t sig_key_len)
{
    (void)sig_key;
    (void)sig_key_len;
    const mls_layer *m = ctx;
    if (c->type != EK_MLS_CREDENTIAL_BASIC || c->identity.len != 32 || !m->have_ids)
        return EK_ERR_AUTH;
    if (ek_ct_equal(c->identity.data, m->self_id, 32) ||
        ek_ct_equal(c->identity.data, m->peer_id, 32))
        return EK_OK;
    return EK_ERR_AUTH;
}

static void set_ids(mls_layer *m, const ek_layer_hs *h)
{
    memcpy(m->self_id, h->self_identity, 32);
    if (h->peer_identity != NULL) {
        memcpy(m->peer_id, h->peer_identity, 32);
        m->have_ids = 1;
    }
}

static int make_key_package(mls_layer *m, const ek_layer_hs *h)
{
    ek_mls_key_package_params p;
    memset(&p, 0, sizeof(p));
    p.cipher_suite = SUITE;
    p.identity = m->self_id;
    p.identity_len = 32;
    p.now_s = h->now_ms / 1000;
    return ek_mls_key_package_create(&m->kp, &p, h->rng, m->base.alloc);
}

/* ---- handshake ---- */

static int mls_hello(ek_layer *l, ek_writer *out, const ek_layer_hs *h)
{
    mls_layer *m = ml(l);
    m->role = h->role;
    set_ids(m, h);
    int rc = make_key_package(m, h);
    if (rc != EK_OK)
        return rc;
    const uint8_t *msg;
    size_t len;
    ek_mls_key_package_bundle_message(m->kp, &msg, &len);
    return ek_write_bytes(out, msg, len);
}

/* The basic credential identity of a KeyPackage MLSMessage. */
static int key_package_identity(const uint8_t *in, size_t len, const ek_allocator *a,
                                uint8_t id[32])
{
    ek_mls_arena arena;
    ek_mls_arena_init(&arena, a);
    ek_mls_message msg;
    int rc = ek_mls_message_decode(&msg, &arena, in, len);
    if (rc == EK_OK && msg.wire_format != EK_MLS_WIRE_KEY_PACKAGE)
        rc = EK_ERR_DECODE;
    if (rc == EK_OK) {
        const ek_mls_credential *c = &msg.u.key_package.leaf_node.credential;
        if (c->type != EK_MLS_CREDENTIAL_BASIC || c->identity.len != 32)
            rc = EK_ERR_AUTH;
        else
            memcpy(id, c->identity.data, 32);
    }
    ek_mls_arena_free(&arena);
    return rc;
}

/* group_id = SHA-256("enkrypt 1.0 MLS group" || transcript)[0..16], the
 * transcript hash at the layer's response position (both sides know it). */
static void group_id_for(uint8_t gid[GROUP_ID_LEN], const uint8_t *transcript)
{
    static const char label[] = "enkrypt 1.0 MLS group";
    ek_iovec v[2] = {{label, sizeof(label) - 1}, {transcript, 32}};
    uint8_t digest[EK_SHA256_LEN];
    ek_sha256_v(digest, v, 2);
    memcpy(gid, digest, GROUP_ID_LEN);
}

static int mls_respond(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                       const ek_layer_hs *h)
{
    mls_layer *m = ml(l);
    m->role = h->role;
    set_ids(m, h);
    if (!m->have_ids)
        return EK_ERR_STATE;
    uint64_t now_s = h->now_ms / 1000;
    int rc = ek_mls_key_package_verify(in, in_len, now_s);
    uint8_t id[32];
    if (rc == EK_OK)
        rc = key_package_identity(in, in_len, m->base.alloc, id);
    if (rc == EK_OK && !ek_ct_equal(id, m->peer_id, 32))
        rc = EK_ERR_AUTH;
    if (rc != EK_OK)
        return rc;
    group_id_for(m->group_id, h->transcript);
    rc = make_key_package(m, h);
    if (rc == EK_OK)
        rc = ek_mls_group_create(&m->group, &m->cfg, m->kp, m->group_id, GROUP_ID_LEN, NULL);
    if (rc != EK_OK)
        return rc;
    ek_mls_group_set_time(m->group, now_s);
    ek_mls_bytes add = {in, in_len};
    ek_mls_commit_options opt;
    memset(&opt, 0, sizeof(opt));
    opt.add_key_packages = &add;
    opt.add_count = 1;
    ek_mls_buf commit, welcome;
    memset(&commit, 0, sizeof(commit));
    memset(&welcome, 0, sizeof(welcome));
    rc = ek_mls_group_commit(m->group, &commit, &welcome, &opt);
    if (rc == EK_OK)
        rc = ek_mls_group_merge_pending_commit(m->group);
    if (rc == EK_OK)
        rc = ek_write_bytes(out, welcome.data, welcome.len);
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);
    ek_mls_key_package_bundle_free(m->kp);
    m->kp = NULL;
    return rc;
}

/* Exactly us two, with our identities: find the peer's leaf. */
static int check_members(mls_layer *m)
{
    if (ek_mls_group_member_count(m->group) != 2)
        return EK_ERR_AUTH;
    uint32_t own = ek_mls_group_own_leaf(m->group);
    uint32_t peer = own == 0 ? 1 : 0;
    const uint8_t *id;
    size_t len;
    int rc = ek_mls_group_member_identity(m->group, own, &id, &len);
    if (rc != EK_OK || len != 32 || !ek_ct_equal(id, m->self_id, 32))
        return EK_ERR_AUTH;
    rc = ek_mls_group_member_identity(m->group, peer, &id, &len);
    if (rc != EK_OK || len != 32 || !ek_ct_equal(id, m->peer_id, 32))
        return EK_ERR_AUTH;
    m->peer_leaf = peer;
    return EK_OK;
}

static int mls_finish(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                      const ek_layer_hs *h)
{
    (void)out;
    mls_layer *m = ml(l);
    set_ids(m, h);
    if (!m->have_ids || m->kp == NULL)
        return EK_ERR_STATE;
    int rc = ek_mls_group_join(&m->group, &m->cfg, in, in_len, m->kp, NULL, 0);
    ek_mls_key_package_bundle_free(m->kp);
    m->kp = NULL;
    if (rc != EK_OK)
        return rc;
    ek_mls_group_set_time(m->group, h->now_ms / 1000);
    const uint8_t *gid;
    size_t gid_len;
    ek_mls_group_id(m->group, &gid, &gid_len);
    group_id_for(m->group_id, h->transcript);
    if (gid_len != GROUP_ID_LEN || !ek_ct_equal(gid, m->group_id, GROUP_ID_LEN))
        return EK_ERR_AUTH; /* not the group of this handshake */
    return check_members(m);
}

static int mls_complete(ek_layer *l, const uint8_t *in, size_t in_len, const ek_layer_hs *h)
{
    (void)in;
    (void)h;
    mls_layer *m = ml(l);
    if (in_len != 0)
        return EK_ERR_DECODE;
    return m->group != NULL ? check_members(m) : EK_ERR_STATE;
}

static int mls_binder(ek_layer *l, uint8_t *out, size_t *len, int stage, const ek_layer_hs *h)
{
    (void)stage;
    mls_layer *m = ml(l);
    if (m->group == NULL)
        return EK_ERR_STATE;
    static const char label[] = "enkrypt 1.0 binder";
    *len = EK_LAYER_BINDER_LEN;
    return ek_mls_group_export(m->group, out, EK_LAYER_BINDER_LEN, label, sizeof(label) - 1,
                               h->transcript, 32);
}

static int mls_established(ek_layer *l, const uint8_t session_id[32])
{
    (void)session_id;
    mls_layer *m = ml(l);
    if (m->group == NULL)
        return EK_ERR_STATE;
    int rc = check_members(m);
    if (rc == EK_OK)
        m->established = 1;
    return rc;
}

/* ---- messages ---- */

static size_t mls_overhead(const ek_layer *l, size_t pt_len)
{
    (void)l;
    (void)pt_len;
    /* varint(epoch) + sender data + content length + signature<V> + tag */
    return 8 + ESD_LEN + 4 + 2 + MLS_SIG_LEN + MLS_TAG_LEN;
}

static int mls_seal(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                    const ek_layer_msg *msg, const uint8_t *pt, size_t pt_len)
{
    mls_layer *m = ml(l);
    if (!m->established)
        return EK_ERR_STATE;
    ek_mls_group_set_time(m->group, msg->now_ms / 1000);
    ek_mls_buf wire;
    memset(&wire, 0, sizeof(wire));
    int rc = ek_mls_group_protect(m->group, &wire, pt, pt_len, msg->ad, msg->ad_len);
    if (rc != EK_OK)
        return rc;
    ek_mls_arena arena;
    ek_mls_arena_init(&arena, m->base.alloc);
    ek_mls_message parsed;
    rc = ek_mls_message_decode(&parsed, &arena, wire.data, wire.len);
    const ek_mls_private_message *pm = &parsed.u.private_message;
    if (rc == EK_OK && (parsed.wire_format != EK_MLS_WIRE_PRIVATE_MESSAGE ||
                        pm->encrypted_sender_data.len != ESD_LEN))
        rc = EK_ERR_STATE;
    if (rc == EK_OK) {
        ek_writer w;
        ek_writer_init_fixed(&w, out, out_cap);
        ek_varint_write(&w, pm->epoch);
        ek_write_bytes(&w, pm->encrypted_sender_data.data, ESD_LEN);
        ek_write_bytes(&w, pm->ciphertext.data, pm->ciphertext.len);
        rc = w.err;
        *out_len = w.len;
    }
    ek_mls_arena_free(&arena);
    ek_mls_buf_free(&wire);
    return rc;
}

/* ---- two-phase open over a library that commits at once ---- */

/* An open is known by the MLSMessage the layer rebuilt for it: its bytes
 * hold the epoch, the associated data, the sender data and the ciphertext,
 * so equal digests mean the same frame under the same associated data. */
static void message_digest(uint8_t out[EK_SHA256_LEN], const uint8_t *msg, size_t len)
{
    ek_sha256(out, msg, len);
}

static void retained_drop(mls_layer *m, size_t i)
{
    m->retained_bytes -= m->retained[i].pt.len;
    ek_mls_buf_free(&m->retained[i].pt);
    memmove(&m->retained[i], &m->retained[i + 1], (m->n_retained - i - 1) * sizeof(m->retained[0]));
    m->n_retained--;
    memset(&m->retained[m->n_retained], 0, sizeof(m->retained[0]));
}

static void retained_free_all(mls_layer *m)
{
    while (m->n_retained > 0)
        retained_drop(m, m->n_retained - 1);
}

static void mls_commit(ek_layer *l)
{
    mls_layer *m = ml(l);
    if (m->pending == PEND_LIBRARY)
        ek_mls_buf_free(&m->pend_pt);
    else if (m->pending == PEND_RETAINED && m->pend_slot < m->n_retained)
        retained_drop(m, m->pend_slot);
    m->pending = PEND_NONE;
}

static void mls_rollback(ek_layer *l)
{
    mls_layer *m = ml(l);
    int was = m->pending;
    m->pending = PEND_NONE;
    if (was != PEND_LIBRARY)
        return; /* a retained open stays retained */
    retained_open r;
    message_digest(r.digest, m->buf, m->pend_msg_len);
    r.pt = m->pend_pt;
    memset(&m->pend_pt, 0, sizeof(m->pend_pt));
    if (r.pt.len > EK_MLS_LAYER_RETAINED_BYTES) {
        ek_mls_buf_free(&r.pt);
        return;
    }
    while (m->n_retained > 0 && (m->n_retained == EK_MLS_LAYER_RETAINED ||
                                 m->retained_bytes + r.pt.len > EK_MLS_LAYER_RETAINED_BYTES))
        retained_drop(m, 0);
    m->retained[m->n_retained++] = r;
    m->retained_bytes += r.pt.len;
}

/* An open the cascade rolled back, asked again with the same bytes: 1 and
 * the plaintext, 0 when not retained (the library decides), or an error. */
static int open_retained(mls_layer *m, uint8_t *out, size_t out_cap, size_t *out_len,
                         const uint8_t *msg, size_t msg_len)
{
    uint8_t d[EK_SHA256_LEN];
    message_digest(d, msg, msg_len);
    for (size_t i = 0; i < m->n_retained; i++) {
        const retained_open *r = &m->retained[i];
        if (!ek_ct_equal(r->digest, d, sizeof(d)))
            continue;
        if (r->pt.len > out_cap)
            return EK_ERR_TOO_LARGE;
        if (r->pt.len > 0)
            memcpy(out, r->pt.data, r->pt.len);
        *out_len = r->pt.len;
        m->pending = PEND_RETAINED;
        m->pend_slot = i;
        return 1;
    }
    return 0;
}

static int mls_open(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                    const ek_layer_msg *msg, const uint8_t *ct, size_t ct_len)
{
    mls_layer *m = ml(l);
    if (!m->established)
        return EK_ERR_STATE;
    if (m->pending != PEND_NONE) /* never settled: keep it as rolled back */
        mls_rollback(l);
    ek_reader r;
    ek_reader_init(&r, ct, ct_len);
    uint64_t epoch = 0;
    const uint8_t *esd = NULL;
    ek_varint_read(&r, &epoch);
    ek_read_view(&r, &esd, ESD_LEN);
    if (r.err != EK_OK || ek_reader_remaining(&r) == 0)
        return EK_ERR_DECODE;
    /* The MLSMessage as the sender's library wrote it. */
    ek_mls_message full;
    memset(&full, 0, sizeof(full));
    full.version = EK_MLS_VERSION_MLS10;
    full.wire_format = EK_MLS_WIRE_PRIVATE_MESSAGE;
    ek_mls_private_message *pm = &full.u.private_message;
    pm->group_id = (ek_mls_bytes){m->group_id, GROUP_ID_LEN};
    pm->epoch = epoch;
    pm->content_type = EK_MLS_CONTENT_APPLICATION;
    pm->authenticated_data = (ek_mls_bytes){msg->ad, msg->ad_len};
    pm->encrypted_sender_data = (ek_mls_bytes){esd, ESD_LEN};
    pm->ciphertext = (ek_mls_bytes){ct + r.pos, ek_reader_remaining(&r)};
    uint8_t *buf = scratch(m, ct_len + msg->ad_len + 64);
    if (buf == NULL)
        return EK_ERR_NOMEM;
    ek_writer w;
    ek_writer_init_fixed(&w, buf, m->buf_cap);
    int rc = ek_mls_write_message(&w, &full);
    if (rc != EK_OK)
        return EK_ERR_DECODE;
    if (m->n_retained > 0) {
        rc = open_retained(m, out, out_cap, out_len, buf, w.len);
        if (rc != 0)
            return rc < 0 ? rc : EK_OK;
    }
    ek_mls_group_set_time(m->group, msg->now_ms / 1000);
    ek_mls_received got;
    memset(&got, 0, sizeof(got));
    rc = ek_mls_group_process(m->group, &got, buf, w.len);
    if (rc == EK_OK && (got.kind != EK_MLS_RECEIVED_APPLICATION || got.sender != m->peer_leaf))
        rc = EK_ERR_AUTH;
    if (rc == EK_OK && got.data.len > out_cap)
        rc = EK_ERR_TOO_LARGE;
    if (rc == EK_OK) {
        if (got.data.len > 0)
            memcpy(out, got.data.data, got.data.len);
        *out_len = got.data.len;
        /* The library's key is gone: keep the plaintext, and the message in
         * the scratch, until the cascade commits or rolls back. */
        m->pend_pt = got.data;
        memset(&got.data, 0, sizeof(got.data));
        m->pend_msg_len = w.len;
        m->pending = PEND_LIBRARY;
    }
    ek_mls_received_free(&got);
    /* Anything else but resources is "does not open" (EK_ERR_STATE is the
     * engine's "try again later", which MLS never means here). */
    if (rc != EK_OK && rc != EK_ERR_NOMEM && rc != EK_ERR_TOO_LARGE)
        rc = EK_ERR_AUTH;
    return rc;
}

/* ---- state ---- */

static int mls_save(const ek_layer *l, ek_writer *w)
{
    const mls_layer *m = (const mls_layer *)l;
    if (!m->established)
        return EK_ERR_STATE;
    ek_mls_buf blob;
    memset(&blob, 0, sizeof(blob));
    int rc = ek_mls_group_save(m->group, &blob);
    if (rc != EK_OK)
        return rc;
    ek_state_begin(w, "EKML", 1);
    ek_write_u8(w, (uint8_t)m->role);
    ek_write_bytes(w, m->self_id, 32);
    ek_write_bytes(w, m->peer_id, 32);
    ek_write_u32(w, (uint32_t)blob.len);
    ek_write_bytes(w, blob.data, blob.len);
    ek_mls_buf_free(&blob);
    return w->err;
}

static int mls_restore(ek_layer *l, const uint8_t *in, size_t in_len)
{
    mls_layer *m = ml(l);
    ek_reader r;
    ek_reader_init(&r, in, in_len);
    uint8_t role = 0;
    uint32_t n = 0;
    const uint8_t *blob = NULL;
    ek_state_check(&r, "EKML", 1);
    ek_read_u8(&r, &role);
    ek_read_bytes(&r, m->self_id, 32);
    ek_read_bytes(&r, m->peer_id, 32);
    ek_read_u32(&r, &n);
    ek_read_view(&r, &blob, n);
    int rc = ek_reader_finish(&r);
    if (rc == EK_OK && role != EK_ROLE_INITIATOR && role != EK_ROLE_RESPONDER)
        rc = EK_ERR_DECODE;
    if (rc != EK_OK)
        return rc;
    m->have_ids = 1;
    rc = ek_mls_group_restore(&m->group, &m->cfg, blob, n);
    if (rc != EK_OK)
        return rc;
    const uint8_t *gid;
    size_t gid_len;
    ek_mls_group_id(m->group, &gid, &gid_len);
    if (gid_len != GROUP_ID_LEN)
        return EK_ERR_DECODE;
    memcpy(m->group_id, gid, GROUP_ID_LEN);
    rc = check_members(m);
    if (rc != EK_OK)
        return EK_ERR_DECODE;
    m->role = role;
    m->established = 1;
    return EK_OK;
}

static void mls_free(ek_layer *l)
{
    mls_layer *m = ml(l);
    const ek_allocator *a = l->alloc;
    ek_mls_group_free(m->group);
    ek_mls_key_package_bundle_free(m->kp);
    ek_mls_buf_free(&m->pend_pt);
    retained_free_all(m);
    if (m->buf != NULL) {
        ek_wipe(m->buf, m->buf_cap);
        ek_free(a, m->buf, m->buf_cap);
    }
    ek_wipe(m, sizeof(*m));
    ek_free(a, m, sizeof(*m));
}

static const ek_layer_ops mls_ops = {
    .name = "MLS",
    .hello = mls_hello,
    .respond = mls_respond,
    .finish = mls_finish,
    .complete = mls_complete,
    .binder = mls_binder,
    .established = mls_established,
    .overhead = mls_overhead,
    .seal = mls_seal,
    .open = mls_open,
    .commit = mls_commit,
    .rollback = mls_rollback,
    .save = mls_save,
    .restore = mls_restore,
    .free = mls_free,
};

int ek_layer_mls_new(ek_layer **out, const ek_allocator *a, const ek_rng *rng)
{
    if (out == NULL)
        return EK_ERR_INVALID_ARG;
    mls_layer *m = ek_alloc(a, sizeof(*m));
    if (m == NULL)
        return EK_ERR_NOMEM;
    memset(m, 0, sizeof(*m));
    m->base.ops = &mls_ops;
    m->base.alloc = a;
    m->base.rng = rng;
    m->cfg.alloc = a;
    m->cfg.rng = rng;
    m->cfg.handshake_wire_format = EK_MLS_WIRE_PRIVATE_MESSAGE;
    m->cfg.credentials.validate = validate_credential;
    m->cfg.credentials.ctx = m;
    *out = &m->base;
    return EK_OK;
}

#endif /* EK_MLS_MAX_GROUP_ID_BYTES */
