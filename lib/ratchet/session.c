/*
 * session.c: a Signal v3 session: X3DH to start it (X3DH §3.3, §3.4), the
 * Double Ratchet to run it (Double Ratchet §3), the seal/open interface
 * the cascade uses.
 *
 * How it maps to the Double Ratchet specification:
 *   - Initialization (§3.3, §5.1): the X3DH secret's first half is the
 *     first root key (libsignal derives 64 bytes; the second half, a chain
 *     for Bob's signed prekey that libsignal sets up and never uses, is
 *     dropped). Bob's signed prekey is his first ratchet key; Alice ratchets
 *     against it at once.
 *   - Encrypting (§3.4): chain step, message keys, AES-256-CBC, MAC.
 *   - Decrypting (§3.5): a message key from the skipped store, from the
 *     current receiving chain (skipping ahead at most EK_RATCHET_MAX_SKIP),
 *     or from a new chain after a DH ratchet step. The sender's
 *     previousCounter is libsignal's: the index of its last message on the
 *     old chain (0 when there was none), so the old chain's keys are kept up
 *     to and including it. Old chain keys themselves are dropped: only
 *     their skipped message keys live on, for EK_RATCHET_MAX_OLD_CHAINS
 *     chains.
 *
 * No state changes from a message that does not verify: decrypt works on a
 * scratch copy of the small core state and collects the keys it skips in a
 * pending list; only after the MAC, the padding and our new ratchet key
 * pair are all good is the copy committed and the store updated. The
 * cascade splits the two (ratchet_decrypt_prepare, then _commit or _abort):
 * a verified open stays aside until every layer opened. Our new
 * sending ratchet key (the second half of §3.5 DHRatchet) is made only
 * after the message verified (§6.5 allows deferring it), so a forged
 * message costs one agreement, not three.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

/* ---- life cycle ---- */

int session_alloc(ek_ratchet_session **out, const ek_allocator *a, const ek_rng *rng)
{
    ek_ratchet_session *s = ek_alloc(a, sizeof(*s));
    if (s == NULL)
        return EK_ERR_NOMEM;
    memset(s, 0, sizeof(*s));
    s->alloc = a;
    s->rng = rng;
    kdf_zero_salt_init(&s->zero_salt);
    int rc = ek_aes256_cbc_ctx_new(&s->cbc);
    if (rc != EK_OK) {
        ek_free(a, s, sizeof(*s));
        return rc;
    }
    *out = s;
    return EK_OK;
}

void ek_ratchet_session_free(ek_ratchet_session *s)
{
    if (s == NULL)
        return;
    const ek_allocator *a = s->alloc;
    ratchet_decrypt_abort(s);
    skipped_free(s);
    ek_aes256_cbc_ctx_free(s->cbc);
    ek_wipe(s, sizeof(*s));
    ek_free(a, s, sizeof(*s));
}

int ek_ratchet_session_ready(const ek_ratchet_session *s)
{
    return s != NULL && s->core.phase == PHASE_READY && s->core.has_send_chain;
}

int ek_ratchet_session_peer_identity(uint8_t out[EK_RATCHET_PUBLIC_LEN],
                                     const ek_ratchet_session *s)
{
    if (out == NULL || s == NULL)
        return EK_ERR_INVALID_ARG;
    if (!s->core.has_peer_identity)
        return EK_ERR_STATE;
    ratchet_public_key(out, s->core.peer_identity);
    return EK_OK;
}

/* ---- the DH ratchet (Double Ratchet §3.5 DHRatchet, in two halves) ---- */

/* A new receiving chain for their ratchet key: RK, CKr = KDF_RK(RK,
 * DH(DHs, their)). The chain being replaced keeps only its epoch and key,
 * to name its skipped keys; the oldest such name falls off the list. */
static int ratchet_receive_step(ratchet_core *c, const uint8_t their[32])
{
    if (c->next_epoch == UINT32_MAX)
        return EK_ERR_LIMIT;
    uint8_t dh[32];
    int rc = ek_x25519(dh, c->send_ratchet_priv, their);
    if (rc == EK_OK)
        rc = kdf_root(c->root_key, c->recv_chain_key, c->root_key, dh);
    ek_wipe(dh, sizeof(dh));
    if (rc != EK_OK)
        return rc;
    if (c->has_recv_chain) {
        uint32_t keep =
            c->n_old < EK_RATCHET_MAX_OLD_CHAINS ? c->n_old : EK_RATCHET_MAX_OLD_CHAINS - 1;
        memmove(&c->old[1], &c->old[0], keep * sizeof(old_chain));
        c->old[0].epoch = c->recv_epoch;
        memcpy(c->old[0].ratchet_key, c->recv_ratchet_key, 32);
        c->n_old = keep + 1;
    }
    memcpy(c->recv_ratchet_key, their, 32);
    c->recv_counter = 0;
    c->recv_epoch = c->next_epoch++;
    c->has_recv_chain = 1;
    return EK_OK;
}

/* A new sending chain: DHs = GENERATE_DH(); RK, CKs = KDF_RK(RK, DH(DHs,
 * their)). PN is libsignal's: the last index used on the old chain. */
static int ratchet_send_step(ratchet_core *c, const uint8_t their[32], const ek_rng *rng)
{
    uint8_t priv[32], pub[32], dh[32];
    int rc = ek_x25519_keypair(pub, priv, rng);
    if (rc == EK_OK)
        rc = ek_x25519(dh, priv, their);
    if (rc == EK_OK)
        rc = kdf_root(c->root_key, c->send_chain_key, c->root_key, dh);
    if (rc == EK_OK) {
        c->previous_counter = c->has_send_chain && c->send_counter > 0 ? c->send_counter - 1 : 0;
        c->send_counter = 0;
        c->has_send_chain = 1;
        memcpy(c->send_ratchet_priv, priv, 32);
        memcpy(c->send_ratchet_pub, pub, 32);
    }
    ek_wipe(priv, sizeof(priv));
    ek_wipe(dh, sizeof(dh));
    return rc;
}

/* ---- X3DH ---- */

/* Alice (X3DH §3.3): check the bundle's signature, make the base key, agree,
 * then ratchet against Bob's signed prekey (Double Ratchet §3.3
 * RatchetInitAlice). */
static int x3dh_initiate(ek_ratchet_session *s, const ek_ratchet_identity *self,
                         const ek_ratchet_bundle *peer)
{
    ratchet_core *c = &s->core;
    const uint8_t *self_u = NULL, *ik = NULL, *spk = NULL, *opk = NULL;
    int rc = ek_ratchet_bundle_verify(peer);
    if (rc == EK_OK && (ratchet_parse_public_key(&self_u, self->key.pub) != EK_OK ||
                        ratchet_parse_public_key(&ik, peer->identity_key) != EK_OK ||
                        ratchet_parse_public_key(&spk, peer->signed_prekey) != EK_OK ||
                        (peer->has_one_time_prekey &&
                         ratchet_parse_public_key(&opk, peer->one_time_prekey) != EK_OK)))
        rc = EK_ERR_DECODE;
    if (rc != EK_OK)
        return rc;
    uint8_t base_priv[32], unused_chain[32];
    rc = ek_x25519_keypair(c->base_key, base_priv, s->rng);
    if (rc == EK_OK)
        rc = x3dh_initiate_secret(c->root_key, unused_chain, self->key.priv, base_priv, ik, spk,
                                  opk);
    ek_wipe(base_priv, sizeof(base_priv));
    ek_wipe(unused_chain, sizeof(unused_chain));
    if (rc == EK_OK)
        rc = ratchet_send_step(c, spk, s->rng);
    if (rc != EK_OK)
        return rc;
    c->phase = PHASE_READY;
    c->role = ROLE_INITIATOR;
    c->unacknowledged = 1;
    memcpy(c->self_identity, self_u, 32);
    memcpy(c->peer_identity, ik, 32);
    c->has_peer_identity = 1;
    c->local_registration_id = self->registration_id;
    c->remote_registration_id = peer->registration_id;
    c->signed_prekey_id = peer->signed_prekey_id;
    c->has_one_time_prekey = (uint8_t)(peer->has_one_time_prekey != 0);
    c->one_time_prekey_id = peer->one_time_prekey_id;
    return EK_OK;
}

/* Bob (X3DH §3.4), into the scratch core: the prekeys named must be ours,
 * then agree; his signed prekey becomes his ratchet key (Double Ratchet
 * §3.3 RatchetInitBob). */
static int x3dh_respond(ratchet_core *c, const responder_secrets *r, const prekey_message *m)
{
    const ek_ratchet_prekeys *pk = &r->prekeys;
    if (r->has_expected_peer && !ek_ct_equal(r->expected_peer, m->identity_key, 32))
        return EK_ERR_AUTH;
    if (m->signed_prekey_id != pk->signed_prekey_id)
        return EK_ERR_BAD_KEY;
    const uint8_t *one_time = NULL;
    if (m->has_one_time_prekey_id) {
        if (!pk->has_one_time_prekey || m->one_time_prekey_id != pk->one_time_prekey_id)
            return EK_ERR_BAD_KEY;
        one_time = pk->one_time_prekey.priv;
    }
    uint8_t unused_chain[32];
    int rc = x3dh_respond_secret(c->root_key, unused_chain, r->identity_priv,
                                 pk->signed_prekey.priv, one_time, m->identity_key, m->base_key);
    ek_wipe(unused_chain, sizeof(unused_chain));
    if (rc != EK_OK)
        return rc;
    memcpy(c->send_ratchet_priv, pk->signed_prekey.priv, 32);
    memcpy(c->send_ratchet_pub, pk->signed_prekey.pub + 1, 32);
    c->phase = PHASE_READY;
    memcpy(c->peer_identity, m->identity_key, 32);
    c->has_peer_identity = 1;
    memcpy(c->base_key, m->base_key, 32);
    c->remote_registration_id = m->registration_id;
    c->signed_prekey_id = m->signed_prekey_id;
    c->has_one_time_prekey = (uint8_t)(m->has_one_time_prekey_id != 0);
    c->one_time_prekey_id = m->one_time_prekey_id;
    return EK_OK;
}

int ek_ratchet_session_new_initiator(ek_ratchet_session **out, const ek_allocator *a,
                                     const ek_rng *rng, const ek_ratchet_identity *self,
                                     const ek_ratchet_bundle *peer)
{
    if (out == NULL || self == NULL || peer == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    ek_ratchet_session *s = NULL;
    int rc = session_alloc(&s, a, rng);
    if (rc == EK_OK)
        rc = x3dh_initiate(s, self, peer);
    if (rc != EK_OK) {
        ek_ratchet_session_free(s);
        return rc;
    }
    *out = s;
    return EK_OK;
}

int ek_ratchet_session_new_responder(ek_ratchet_session **out, const ek_allocator *a,
                                     const ek_rng *rng, const ek_ratchet_identity *self,
                                     const ek_ratchet_prekeys *prekeys,
                                     const uint8_t *expected_peer)
{
    if (out == NULL || self == NULL || prekeys == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    const uint8_t *u = NULL, *unused = NULL;
    if (ratchet_parse_public_key(&u, self->key.pub) != EK_OK ||
        ratchet_parse_public_key(&unused, prekeys->signed_prekey.pub) != EK_OK ||
        (prekeys->has_one_time_prekey &&
         ratchet_parse_public_key(&unused, prekeys->one_time_prekey.pub) != EK_OK) ||
        (expected_peer != NULL && ratchet_parse_public_key(&unused, expected_peer) != EK_OK))
        return EK_ERR_DECODE;
    ek_ratchet_session *s = NULL;
    int rc = session_alloc(&s, a, rng);
    if (rc != EK_OK)
        return rc;
    s->core.phase = PHASE_AWAIT_PREKEY;
    s->core.role = ROLE_RESPONDER;
    memcpy(s->core.self_identity, u, 32);
    s->core.local_registration_id = self->registration_id;
    memcpy(s->responder.identity_priv, self->key.priv, 32);
    s->responder.prekeys = *prekeys;
    if (expected_peer != NULL) {
        s->responder.has_expected_peer = 1;
        memcpy(s->responder.expected_peer, expected_peer + 1, 32);
    }
    *out = s;
    return EK_OK;
}

/* ---- encrypting (Double Ratchet §3.4) ---- */

static const prekey_header *prekey_header_of(prekey_header *h, const ratchet_core *c)
{
    h->registration_id = c->local_registration_id;
    h->has_one_time_prekey_id = c->has_one_time_prekey;
    h->one_time_prekey_id = c->one_time_prekey_id;
    h->signed_prekey_id = c->signed_prekey_id;
    memcpy(h->base_key, c->base_key, 32);
    memcpy(h->identity_key, c->self_identity, 32);
    return h;
}

size_t ek_ratchet_encrypt_max_len(size_t pt_len)
{
    if (pt_len > EK_RATCHET_MAX_PLAINTEXT)
        return 0;
    size_t inner = signal_message_len(UINT32_MAX, UINT32_MAX, EK_AES256_CBC_CT_LEN(pt_len));
    prekey_header h = {UINT32_MAX, 1, UINT32_MAX, UINT32_MAX, {0}, {0}};
    return prekey_message_len(&h, inner);
}

/* Write the message; keys and lengths computed by the caller. The wrapper's
 * tail is made first, since with associated data the MAC covers it. */
static int write_message(ek_writer *w, const ek_ratchet_session *s, const message_keys *mk,
                         const prekey_header *h, size_t inner_len, const uint8_t *ad, size_t ad_len,
                         const void *pt, size_t pt_len)
{
    const ratchet_core *c = &s->core;
    uint8_t tail[16];
    ek_writer tw;
    ek_writer_init_fixed(&tw, tail, sizeof(tail));
    mac_binding bind = {ad, ad_len, NULL, 0, NULL, 0};
    if (h != NULL) {
        prekey_message_write_head(w, h, inner_len);
        prekey_message_write_tail(&tw, h);
        bind.prefix = w->buf;
        bind.prefix_len = w->len;
        bind.suffix = tail;
        bind.suffix_len = tw.len;
    }
    size_t body_start = w->len;
    uint8_t *ct = NULL;
    int rc = signal_message_write(w, &ct, c->send_ratchet_pub, c->send_counter, c->previous_counter,
                                  EK_AES256_CBC_CT_LEN(pt_len));
    if (rc == EK_OK)
        rc = tw.err;
    if (rc == EK_OK)
        rc = ek_aes256_cbc_encrypt_with(s->cbc, ct, mk->cipher_key, mk->iv, pt, pt_len);
    if (rc != EK_OK)
        return rc;
    uint8_t tag[EK_RATCHET_MAC_LEN];
    signal_message_mac(tag, mk->mac_key, c->self_identity, c->peer_identity, &bind,
                       w->buf + body_start, w->len - body_start);
    ek_write_bytes(w, tag, sizeof(tag));
    ek_write_bytes(w, tail, tw.len);
    return w->err;
}

int ek_ratchet_encrypt(uint8_t *out, size_t out_cap, size_t *out_len, int *type,
                       ek_ratchet_session *s, const void *ad, size_t ad_len, const void *pt,
                       size_t pt_len)
{
    if (out == NULL || out_len == NULL || type == NULL || s == NULL || (ad == NULL && ad_len > 0) ||
        (pt == NULL && pt_len > 0))
        return EK_ERR_INVALID_ARG;
    *out_len = 0;
    ratchet_decrypt_abort(s); /* a pending open would commit over this */
    ratchet_core *c = &s->core;
    if (c->phase != PHASE_READY || !c->has_send_chain)
        return EK_ERR_STATE;
    if (pt_len > EK_RATCHET_MAX_PLAINTEXT)
        return EK_ERR_TOO_LARGE;
    if (c->send_counter == UINT32_MAX)
        return EK_ERR_LIMIT;
    prekey_header header;
    const prekey_header *h = c->unacknowledged ? prekey_header_of(&header, c) : NULL;
    size_t inner_len =
        signal_message_len(c->send_counter, c->previous_counter, EK_AES256_CBC_CT_LEN(pt_len));
    size_t total = h != NULL ? prekey_message_len(h, inner_len) : inner_len;
    if (total > out_cap)
        return EK_ERR_TOO_LARGE;

    uint8_t seed[32], next_chain_key[32];
    message_keys mk;
    kdf_chain(seed, next_chain_key, c->send_chain_key);
    kdf_message_keys(&mk, seed, &s->zero_salt);
    ek_writer w;
    ek_writer_init_fixed(&w, out, out_cap);
    int rc = write_message(&w, s, &mk, h, inner_len, ad, ad_len, pt, pt_len);
    if (rc == EK_OK && w.len != total)
        rc = EK_ERR_CRYPTO; /* the length computation and the writer disagree */
    if (rc == EK_OK) {
        memcpy(c->send_chain_key, next_chain_key, 32);
        c->send_counter++;
        *out_len = total;
        *type = h != NULL ? EK_RATCHET_MSG_PREKEY : EK_RATCHET_MSG_SIGNAL;
    } else {
        ek_wipe(out, out_cap);
    }
    ek_wipe(seed, sizeof(seed));
    ek_wipe(next_chain_key, sizeof(next_chain_key));
    ek_wipe(&mk, sizeof(mk));
    return rc;
}

/* ---- decrypting (Double Ratchet §3.5) ---- */

static int pending_reserve(ek_ratchet_session *s, open_txn *t, size_t n)
{
    if (t->cap_pending - t->n_pending >= n)
        return EK_OK;
    size_t cap = t->n_pending + n;
    skipped_key *grown = ek_alloc(s->alloc, cap * sizeof(skipped_key));
    if (grown == NULL)
        return EK_ERR_NOMEM;
    if (t->n_pending > 0)
        memcpy(grown, t->pending, t->n_pending * sizeof(skipped_key));
    if (t->pending != NULL) {
        ek_wipe(t->pending, t->cap_pending * sizeof(skipped_key));
        ek_free(s->alloc, t->pending, t->cap_pending * sizeof(skipped_key));
    }
    t->pending = grown;
    t->cap_pending = cap;
    return EK_OK;
}

static void txn_dispose(ek_ratchet_session *s, open_txn *t)
{
    if (t->pending != NULL) {
        ek_wipe(t->pending, t->cap_pending * sizeof(skipped_key));
        ek_free(s->alloc, t->pending, t->cap_pending * sizeof(skipped_key));
    }
    memset(t, 0, sizeof(*t));
}

/* §3.5 SkipMessageKeys: keep the keys of the current receiving chain up to
 * (not including) index until. Callers have checked the bound. */
static int skip_message_keys(ek_ratchet_session *s, ratchet_core *c, open_txn *t, uint32_t until)
{
    if (until <= c->recv_counter)
        return EK_OK;
    int rc = pending_reserve(s, t, until - c->recv_counter);
    if (rc != EK_OK)
        return rc;
    while (c->recv_counter < until) {
        skipped_key *k = &t->pending[t->n_pending++];
        k->epoch = c->recv_epoch;
        k->counter = c->recv_counter;
        kdf_chain(k->seed, c->recv_chain_key, c->recv_chain_key);
        c->recv_counter++;
    }
    return EK_OK;
}

/* §3.5 TrySkippedMessageKeys. A key that is not there was used already (a
 * replay or duplicate) or dropped (too old): the message cannot verify. */
static int stored_message_key(const ek_ratchet_session *s, open_txn *t, uint8_t seed[32],
                              uint32_t epoch, uint32_t counter)
{
    long i = skipped_find(s, epoch, counter);
    if (i < 0)
        return EK_ERR_AUTH;
    memcpy(seed, s->skipped[i].seed, 32);
    t->used = i;
    return EK_OK;
}

/* The next key of the current receiving chain, after skipping to counter. */
static int chain_next_message_key(ek_ratchet_session *s, ratchet_core *c, open_txn *t,
                                  uint8_t seed[32], uint32_t counter)
{
    if (counter - c->recv_counter > EK_RATCHET_MAX_SKIP || counter == UINT32_MAX)
        return EK_ERR_LIMIT;
    int rc = skip_message_keys(s, c, t, counter);
    if (rc == EK_OK) {
        kdf_chain(seed, c->recv_chain_key, c->recv_chain_key);
        c->recv_counter++;
    }
    return rc;
}

/* The seed of the message key for m, with the chain work done on c. */
static int find_message_key(ek_ratchet_session *s, ratchet_core *c, open_txn *t, uint8_t seed[32],
                            const signal_message *m)
{
    if (c->has_recv_chain && memcmp(m->ratchet_key, c->recv_ratchet_key, 32) == 0) {
        if (m->counter < c->recv_counter)
            return stored_message_key(s, t, seed, c->recv_epoch, m->counter);
        return chain_next_message_key(s, c, t, seed, m->counter);
    }
    for (uint32_t i = 0; i < c->n_old; i++)
        if (memcmp(m->ratchet_key, c->old[i].ratchet_key, 32) == 0)
            return stored_message_key(s, t, seed, c->old[i].epoch, m->counter);

    /* A new ratchet key: keep what is left of the current chain up to the
     * sender's previousCounter, then step the DH ratchet. */
    if (m->counter > EK_RATCHET_MAX_SKIP)
        return EK_ERR_LIMIT;
    int rc = EK_OK;
    if (c->has_recv_chain && m->previous_counter >= c->recv_counter) {
        if (m->previous_counter - c->recv_counter >= EK_RATCHET_MAX_SKIP)
            return EK_ERR_LIMIT;
        rc = skip_message_keys(s, c, t, m->previous_counter + 1);
    }
    if (rc == EK_OK)
        rc = ratchet_receive_step(c, m->ratchet_key);
    if (rc == EK_OK) {
        t->new_chain = 1;
        rc = chain_next_message_key(s, c, t, seed, m->counter);
    }
    return rc;
}

/* Verify and decrypt one SignalMessage against the scratch core c. */
static int open_signal_message(ek_ratchet_session *s, ratchet_core *c, open_txn *t, uint8_t *out,
                               size_t out_cap, size_t *out_len, const mac_binding *bind,
                               const uint8_t *msg, size_t msg_len)
{
    signal_message m;
    int rc = signal_message_decode(&m, msg, msg_len);
    if (rc != EK_OK)
        return rc;
    if (out_cap < m.ciphertext_len)
        return EK_ERR_TOO_LARGE;
    uint8_t seed[32], tag[EK_RATCHET_MAC_LEN];
    message_keys mk;
    rc = find_message_key(s, c, t, seed, &m);
    if (rc == EK_OK)
        rc = skipped_reserve(s, t->n_pending);
    if (rc == EK_OK) {
        kdf_message_keys(&mk, seed, &s->zero_salt);
        signal_message_mac(tag, mk.mac_key, c->peer_identity, c->self_identity, bind, m.body,
                           m.body_len);
        if (!ek_ct_equal(tag, m.mac, EK_RATCHET_MAC_LEN))
            rc = EK_ERR_AUTH;
    }
    if (rc == EK_OK)
        rc = ek_aes256_cbc_decrypt_with(s->cbc, out, out_len, mk.cipher_key, mk.iv, m.ciphertext,
                                        m.ciphertext_len);
    if (rc == EK_OK && t->new_chain)
        rc = ratchet_send_step(c, m.ratchet_key, s->rng);
    if (rc == EK_OK)
        c->unacknowledged = 0; /* Alice has heard from Bob */
    ek_wipe(seed, sizeof(seed));
    ek_wipe(&mk, sizeof(mk));
    return rc;
}

/* The X3DH part of a PreKeySignalMessage; *inner is the SignalMessage. */
static int open_prekey_message(ek_ratchet_session *s, ratchet_core *c, open_txn *t,
                               const uint8_t **inner, size_t *inner_len, const uint8_t *msg,
                               size_t msg_len)
{
    prekey_message m;
    int rc = prekey_message_decode(&m, msg, msg_len);
    if (rc != EK_OK)
        return rc;
    if (c->role != ROLE_RESPONDER)
        return EK_ERR_STATE;
    if (c->phase == PHASE_AWAIT_PREKEY) {
        rc = x3dh_respond(c, &s->responder, &m);
        t->did_x3dh = rc == EK_OK;
    } else if (memcmp(m.base_key, c->base_key, 32) != 0 ||
               memcmp(m.identity_key, c->peer_identity, 32) != 0 ||
               m.signed_prekey_id != c->signed_prekey_id ||
               m.has_one_time_prekey_id != c->has_one_time_prekey ||
               m.one_time_prekey_id != c->one_time_prekey_id) {
        /* Alice repeats her X3DH header until she hears from Bob; a
         * different one means a new session, which needs a new bundle. */
        rc = EK_ERR_STATE;
    }
    *inner = m.message;
    *inner_len = m.message_len;
    return rc;
}

static void commit(ek_ratchet_session *s, const ratchet_core *scratch, const open_txn *t)
{
    s->core = *scratch;
    skipped_commit(s, t->used, t->pending, t->n_pending);
    if (t->did_x3dh)
        ek_wipe(&s->responder, sizeof(s->responder)); /* the one-time prekey is spent */
}

int ratchet_decrypt_prepare(uint8_t *out, size_t out_cap, size_t *out_len, ek_ratchet_session *s,
                            int type, const void *ad, size_t ad_len, const uint8_t *msg,
                            size_t msg_len)
{
    if (out == NULL || out_len == NULL || s == NULL || (ad == NULL && ad_len > 0) ||
        (msg == NULL && msg_len > 0))
        return EK_ERR_INVALID_ARG;
    *out_len = 0;
    ratchet_decrypt_abort(s);
    if (type != EK_RATCHET_MSG_SIGNAL && type != EK_RATCHET_MSG_PREKEY)
        return EK_ERR_DECODE;
    ratchet_core scratch = s->core;
    open_txn t = {.used = -1};
    const uint8_t *inner = msg;
    size_t inner_len = msg_len;
    mac_binding bind = {ad, ad_len, NULL, 0, NULL, 0};
    int rc = EK_OK;
    if (type == EK_RATCHET_MSG_PREKEY) {
        rc = open_prekey_message(s, &scratch, &t, &inner, &inner_len, msg, msg_len);
        if (rc == EK_OK) {
            bind.prefix = msg;
            bind.prefix_len = (size_t)(inner - msg);
            bind.suffix = inner + inner_len;
            bind.suffix_len = msg_len - bind.prefix_len - inner_len;
        }
    } else if (scratch.phase != PHASE_READY) {
        rc = EK_ERR_STATE;
    }
    if (rc == EK_OK)
        rc = open_signal_message(s, &scratch, &t, out, out_cap, out_len, &bind, inner, inner_len);
    if (rc == EK_OK) {
        /* Kept aside: the store's indexes stay valid until the commit, since
         * nothing else may change the session meanwhile (see above). */
        s->pend_core = scratch;
        s->pend_txn = t;
        s->has_pending = 1;
    } else {
        *out_len = 0;
        ek_wipe(out, out_cap < msg_len ? out_cap : msg_len);
        txn_dispose(s, &t);
    }
    ek_wipe(&scratch, sizeof(scratch));
    return rc;
}

void ratchet_decrypt_commit(ek_ratchet_session *s)
{
    if (s == NULL || !s->has_pending)
        return;
    commit(s, &s->pend_core, &s->pend_txn);
    ratchet_decrypt_abort(s);
}

void ratchet_decrypt_abort(ek_ratchet_session *s)
{
    if (s == NULL || !s->has_pending)
        return;
    txn_dispose(s, &s->pend_txn);
    ek_wipe(&s->pend_core, sizeof(s->pend_core));
    s->has_pending = 0;
}

int ek_ratchet_decrypt(uint8_t *out, size_t out_cap, size_t *out_len, ek_ratchet_session *s,
                       int type, const void *ad, size_t ad_len, const uint8_t *msg, size_t msg_len)
{
    int rc = ratchet_decrypt_prepare(out, out_cap, out_len, s, type, ad, ad_len, msg, msg_len);
    if (rc == EK_OK)
        ratchet_decrypt_commit(s);
    return rc;
}

int ratchet_next_header(const ek_ratchet_session *s, uint8_t u[32], uint32_t *n, uint32_t *pn,
                        int *type)
{
    if (s == NULL || u == NULL || n == NULL || pn == NULL || type == NULL)
        return EK_ERR_INVALID_ARG;
    const ratchet_core *c = &s->core;
    if (c->phase != PHASE_READY || !c->has_send_chain)
        return EK_ERR_STATE;
    memcpy(u, c->send_ratchet_pub, 32);
    *n = c->send_counter;
    *pn = c->previous_counter;
    *type = c->unacknowledged ? EK_RATCHET_MSG_PREKEY : EK_RATCHET_MSG_SIGNAL;
    return EK_OK;
}

/* ---- the cascade's layer interface ---- */

int ek_ratchet_seal(uint8_t *out, size_t out_cap, size_t *out_len, ek_ratchet_session *s,
                    const void *ad, size_t ad_len, const void *pt, size_t pt_len)
{
    if (out == NULL || out_len == NULL || out_cap < 1)
        return EK_ERR_INVALID_ARG;
    int type = 0;
    size_t n = 0;
    int rc = ek_ratchet_encrypt(out + 1, out_cap - 1, &n, &type, s, ad, ad_len, pt, pt_len);
    *out_len = 0;
    if (rc == EK_OK) {
        out[0] = (uint8_t)type;
        *out_len = n + 1;
    }
    return rc;
}

int ek_ratchet_open(uint8_t *out, size_t out_cap, size_t *out_len, ek_ratchet_session *s,
                    const void *ad, size_t ad_len, const uint8_t *sealed, size_t sealed_len)
{
    if (out_len == NULL)
        return EK_ERR_INVALID_ARG;
    *out_len = 0;
    if (sealed == NULL || sealed_len < 1)
        return sealed == NULL && sealed_len > 0 ? EK_ERR_INVALID_ARG : EK_ERR_TRUNCATED;
    return ek_ratchet_decrypt(out, out_cap, out_len, s, sealed[0], ad, ad_len, sealed + 1,
                              sealed_len - 1);
}
