/*
 * layer_mlkem.c: the ML-KEM layer (docs/protocol.md §5.6): a sparse
 * post-quantum ratchet. A fresh ML-KEM-768 encapsulation starts a new epoch
 * every EK_MLKEM_REKEY_MESSAGES messages or EK_MLKEM_REKEY_MS; between
 * them a symmetric chain gives every message its own key, so a message
 * carries only an epoch byte, an index and the AEAD tag.
 *
 *   handshake  hello: ek_I. response: ct1 = Encaps(ek_I) || ek_R.
 *              finish: ct2 = Encaps(ek_R). binder = KDF(th, ss1 [|| ss2]).
 *   roots      root[dir][0] = KDF(session_id, ss1 || ss2, "ML-KEM root", dir)
 *              root[dir][e+1] = KDF(root[dir][e], ss, "ML-KEM rekey",
 *                               u32(e+1) || SHA-256(ct))
 *   chain      CK_0 = KDF(-, root, "ML-KEM chain"); MK_i = HMAC(CK_i, 0x01);
 *              CK_i+1 = HMAC(CK_i, 0x02).
 *   message    epoch (1 byte, e mod 256) || varint(i) ||
 *              AES-256-GCM(MK_i, nonce = 0^4 || u64(i), ad, pt).
 *
 * Re-keying, per direction (the sender S, the receiver R):
 *   1. S encapsulates to R's latest encapsulation key and sends
 *      mlkem-rekey {epoch e+1, ct} (through the cascade), but keeps sending
 *      in epoch e;
 *   2. R decapsulates, prepares epoch e+1, makes a fresh key pair and
 *      answers mlkem-rekey-ack {epoch e+1, its new ek};
 *   3. on the ack S switches to e+1 and keeps R's new ek for the next round.
 * S switches only once R holds the new epoch, so a lost control message
 * never makes traffic undecryptable: S repeats mlkem-rekey every
 * EK_MLKEM_REKEY_RETRY_MS until acknowledged, and R answers a repeat with
 * the same ack. R keeps the previous, current and next epoch.
 *
 * A re-key must not be suppressible for ever (a path that drops only the
 * large frames would otherwise keep a direction in one epoch, with no
 * fresh post-quantum secret, while small messages flow): when a re-key
 * has waited EK_MLKEM_REKEY_STALL_MS of active time or the epoch has sealed
 * EK_MLKEM_REKEY_STALL_MESSAGES messages without its ack, seal and
 * poll_control answer EK_ERR_LIMIT and the engine fails the session with
 * rekey-stalled (docs/protocol.md §5.6). Active time: the time between two
 * calls that see the re-key pending, each gap counted up to the retry
 * interval, so a pause of the whole engine (a machine asleep, no ticks)
 * does not count, while a re-key repeated 96 times without an answer
 * does.
 *
 * Resumption (docs/protocol.md §4.6): each side's material is its sending
 * position, its receiving chains' positions and its current encapsulation
 * key:
 *   u32(send epoch) || u64(send index) || u8(k) || k x (u32(epoch) ||
 *   u64(next index)) || ek
 * For each direction both sides find the sender's epoch among the
 * receiver's chains, step the chain forward to the larger of the two
 * indexes (at most EK_MLKEM_MAX_RESUME_SKIP) and restart the epoch from
 *   root' = KDF(ctx, CK at that index, "ML-KEM resume", dir)
 * at index 0. Pending re-keys, the other epochs and the skipped keys are
 * dropped, and each side takes the other's ek for its next re-key. So no
 * chain key used before the resume is used after it, even by a side
 * restored from older bytes.
 */
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mlkem.h>

#include "cascade/cascade_internal.h"

/* The re-key schedule and the skipping bounds (docs/protocol.md §7). */
#define EK_MLKEM_REKEY_MESSAGES       1024u
#define EK_MLKEM_REKEY_MS             ((uint64_t)120 * 1000)
#define EK_MLKEM_REKEY_RETRY_MS       ((uint64_t)5 * 1000)
#define EK_MLKEM_MAX_SKIP             2000u
#define EK_MLKEM_MAX_SKIPPED_KEYS     2000u
/* An unacknowledged re-key fails the session after this (see above). */
#define EK_MLKEM_REKEY_STALL_MS       (4 * EK_MLKEM_REKEY_MS)
#define EK_MLKEM_REKEY_STALL_MESSAGES ((uint64_t)8 * EK_MLKEM_REKEY_MESSAGES)
/* How far resumption steps a chain forward to meet the peer. */
#define EK_MLKEM_MAX_RESUME_SKIP      ((uint64_t)1 << 16)

#define KEY_LEN 32
#define TAG_LEN EK_AEAD_TAG_LEN

enum { SLOT_PREV = 0, SLOT_CUR = 1, SLOT_NEXT = 2, SLOTS = 3 };

typedef struct chain {
    int live;
    uint32_t epoch;
    uint8_t ck[KEY_LEN];
    uint64_t next; /* index of ck */
} chain;

typedef struct skipped_key {
    int live;
    uint32_t epoch;
    uint64_t index;
    uint8_t mk[KEY_LEN];
} skipped_key;

typedef struct mlkem_layer {
    ek_layer base;
    int role;
    int established;
    /* our key pair for receiving re-keys (first the handshake's) */
    uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN];
    /* the peer's latest encapsulation key, for our re-keys */
    uint8_t peer_ek[EK_MLKEM768_EK_LEN];
    int have_peer_ek;
    uint8_t ss1[EK_MLKEM768_SS_LEN], ss2[EK_MLKEM768_SS_LEN];
    int have_ss1, have_ss2;
    /* sending direction */
    uint8_t send_root[KEY_LEN];
    chain send;
    uint64_t send_count, send_start_ms;
    int rekey_pending, rekey_emit;
    uint8_t rekey_ct[EK_MLKEM768_CT_LEN];
    uint8_t rekey_root[KEY_LEN];
    uint64_t rekey_sent_ms;
    uint64_t rekey_waited_ms; /* active time the pending re-key has waited */
    uint64_t rekey_seen_ms;   /* when we last counted it */
    /* receiving direction */
    uint8_t recv_root[KEY_LEN]; /* root of the newest receiving epoch */
    chain recv[SLOTS];
    int ack_due;
    uint32_t acked_epoch; /* the last epoch we acknowledged (0: none) */
    uint8_t acked_ct_hash[EK_SHA256_LEN];
    /* skipped message keys, a ring of EK_MLKEM_MAX_SKIPPED_KEYS */
    skipped_key *skipped;
    size_t skipped_head, skipped_n;
    /* the pending open */
    int pending, pend_slot, pend_skipped;
    uint64_t pend_index;
    size_t pend_pos;
} mlkem_layer;

static mlkem_layer *mk(ek_layer *l)
{
    return (mlkem_layer *)l;
}

static void put_u32(uint8_t b[4], uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* ---- chains ---- */

static void chain_message_key(uint8_t mkey[KEY_LEN], const uint8_t ck[KEY_LEN])
{
    static const uint8_t one = 0x01;
    ek_hmac_sha256(mkey, ck, KEY_LEN, &one, 1);
}

static void chain_step(uint8_t ck[KEY_LEN])
{
    static const uint8_t two = 0x02;
    uint8_t next[KEY_LEN];
    ek_hmac_sha256(next, ck, KEY_LEN, &two, 1);
    memcpy(ck, next, KEY_LEN);
    ek_wipe(next, sizeof(next));
}

static int chain_start(chain *c, uint32_t epoch, const uint8_t root[KEY_LEN])
{
    c->live = 1;
    c->epoch = epoch;
    c->next = 0;
    return ek_kdf(c->ck, KEY_LEN, NULL, 0, root, KEY_LEN, "ML-KEM chain", NULL, 0);
}

static void chain_wipe(chain *c)
{
    ek_wipe(c, sizeof(*c));
}

/* root' = KDF(root, ss, "ML-KEM rekey", u32(epoch) || SHA-256(ct)). */
static int rekey_root(uint8_t out[KEY_LEN], const uint8_t root[KEY_LEN],
                      const uint8_t ss[EK_MLKEM768_SS_LEN], uint32_t epoch,
                      const uint8_t ct_hash[EK_SHA256_LEN])
{
    uint8_t ctx[4 + EK_SHA256_LEN];
    put_u32(ctx, epoch);
    memcpy(ctx + 4, ct_hash, EK_SHA256_LEN);
    return ek_kdf(out, KEY_LEN, root, KEY_LEN, ss, EK_MLKEM768_SS_LEN, "ML-KEM rekey", ctx,
                  sizeof(ctx));
}

/* ---- skipped keys ---- */

static void skipped_drop_epoch(mlkem_layer *m, uint32_t epoch)
{
    for (size_t i = 0; m->skipped != NULL && i < EK_MLKEM_MAX_SKIPPED_KEYS; i++) {
        if (m->skipped[i].live && m->skipped[i].epoch == epoch)
            ek_wipe(&m->skipped[i], sizeof(m->skipped[i]));
    }
}

static int skipped_find(const mlkem_layer *m, uint32_t epoch, uint64_t index, size_t *pos)
{
    for (size_t i = 0; m->skipped != NULL && i < EK_MLKEM_MAX_SKIPPED_KEYS; i++) {
        const skipped_key *k = &m->skipped[i];
        if (k->live && k->epoch == epoch && k->index == index) {
            *pos = i;
            return 1;
        }
    }
    return 0;
}

/* Store a key; when the ring is full the oldest entry is overwritten. */
static void skipped_put(mlkem_layer *m, uint32_t epoch, uint64_t index, const uint8_t key[KEY_LEN])
{
    size_t pos;
    if (m->skipped_n < EK_MLKEM_MAX_SKIPPED_KEYS) {
        pos = (m->skipped_head + m->skipped_n) % EK_MLKEM_MAX_SKIPPED_KEYS;
        m->skipped_n++;
    } else {
        pos = m->skipped_head;
        m->skipped_head = (m->skipped_head + 1) % EK_MLKEM_MAX_SKIPPED_KEYS;
    }
    skipped_key *k = &m->skipped[pos];
    k->live = 1;
    k->epoch = epoch;
    k->index = index;
    memcpy(k->mk, key, KEY_LEN);
}

static int skipped_alloc(mlkem_layer *m)
{
    if (m->skipped != NULL)
        return EK_OK;
    size_t n = EK_MLKEM_MAX_SKIPPED_KEYS * sizeof(skipped_key);
    m->skipped = ek_alloc(m->base.alloc, n);
    if (m->skipped == NULL)
        return EK_ERR_NOMEM;
    memset(m->skipped, 0, n);
    return EK_OK;
}

/* ---- handshake ---- */

static int mlkem_hello(ek_layer *l, ek_writer *out, const ek_layer_hs *h)
{
    mlkem_layer *m = mk(l);
    m->role = h->role;
    int rc = ek_mlkem768_keypair(m->ek, m->dk, h->rng);
    if (rc != EK_OK)
        return rc;
    return ek_write_bytes(out, m->ek, sizeof(m->ek));
}

static int mlkem_respond(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                         const ek_layer_hs *h)
{
    mlkem_layer *m = mk(l);
    m->role = h->role;
    int rc = ek_mlkem768_check_ek(in, in_len);
    if (rc != EK_OK)
        return rc;
    memcpy(m->peer_ek, in, EK_MLKEM768_EK_LEN);
    m->have_peer_ek = 1;
    uint8_t *ct = ek_write_reserve(out, EK_MLKEM768_CT_LEN);
    if (ct == NULL)
        return out->err;
    rc = ek_mlkem768_encaps(ct, m->ss1, m->peer_ek, h->rng);
    if (rc != EK_OK)
        return rc;
    m->have_ss1 = 1;
    rc = ek_mlkem768_keypair(m->ek, m->dk, h->rng);
    if (rc != EK_OK)
        return rc;
    return ek_write_bytes(out, m->ek, sizeof(m->ek));
}

static int mlkem_finish(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                        const ek_layer_hs *h)
{
    mlkem_layer *m = mk(l);
    if (in_len != EK_MLKEM768_CT_LEN + EK_MLKEM768_EK_LEN)
        return EK_ERR_DECODE;
    int rc = ek_mlkem768_check_ek(in + EK_MLKEM768_CT_LEN, EK_MLKEM768_EK_LEN);
    if (rc != EK_OK)
        return rc;
    rc = ek_mlkem768_decaps(m->ss1, in, m->dk);
    if (rc != EK_OK)
        return rc;
    m->have_ss1 = 1;
    memcpy(m->peer_ek, in + EK_MLKEM768_CT_LEN, EK_MLKEM768_EK_LEN);
    m->have_peer_ek = 1;
    uint8_t *ct = ek_write_reserve(out, EK_MLKEM768_CT_LEN);
    if (ct == NULL)
        return out->err;
    rc = ek_mlkem768_encaps(ct, m->ss2, m->peer_ek, h->rng);
    if (rc == EK_OK)
        m->have_ss2 = 1;
    return rc;
}

static int mlkem_complete(ek_layer *l, const uint8_t *in, size_t in_len, const ek_layer_hs *h)
{
    (void)h;
    mlkem_layer *m = mk(l);
    int rc = ek_mlkem768_check_ct(in, in_len);
    if (rc != EK_OK)
        return rc;
    rc = ek_mlkem768_decaps(m->ss2, in, m->dk);
    if (rc == EK_OK)
        m->have_ss2 = 1;
    return rc;
}

static int mlkem_binder(ek_layer *l, uint8_t *out, size_t *len, int stage, const ek_layer_hs *h)
{
    mlkem_layer *m = mk(l);
    if (!m->have_ss1)
        return EK_ERR_STATE;
    uint8_t ikm[2 * EK_MLKEM768_SS_LEN];
    memcpy(ikm, m->ss1, EK_MLKEM768_SS_LEN);
    size_t n = EK_MLKEM768_SS_LEN;
    if (stage == EK_HS_STAGE_FINISH) {
        if (!m->have_ss2)
            return EK_ERR_STATE;
        memcpy(ikm + n, m->ss2, EK_MLKEM768_SS_LEN);
        n += EK_MLKEM768_SS_LEN;
    }
    *len = EK_LAYER_BINDER_LEN;
    int rc = ek_kdf(out, EK_LAYER_BINDER_LEN, h->transcript, 32, ikm, n, "ML-KEM binder", NULL, 0);
    ek_wipe(ikm, sizeof(ikm));
    return rc;
}

static int mlkem_established(ek_layer *l, const uint8_t session_id[32])
{
    mlkem_layer *m = mk(l);
    if (!m->have_ss1 || !m->have_ss2 || !m->have_peer_ek)
        return EK_ERR_STATE;
    uint8_t ikm[2 * EK_MLKEM768_SS_LEN];
    memcpy(ikm, m->ss1, EK_MLKEM768_SS_LEN);
    memcpy(ikm + EK_MLKEM768_SS_LEN, m->ss2, EK_MLKEM768_SS_LEN);
    const char *mine = m->role == EK_ROLE_INITIATOR ? "I2R" : "R2I";
    const char *theirs = m->role == EK_ROLE_INITIATOR ? "R2I" : "I2R";
    int rc = ek_kdf(m->send_root, KEY_LEN, session_id, 32, ikm, sizeof(ikm), "ML-KEM root",
                    (const uint8_t *)mine, 3);
    if (rc == EK_OK)
        rc = ek_kdf(m->recv_root, KEY_LEN, session_id, 32, ikm, sizeof(ikm), "ML-KEM root",
                    (const uint8_t *)theirs, 3);
    if (rc == EK_OK)
        rc = chain_start(&m->send, 0, m->send_root);
    if (rc == EK_OK)
        rc = chain_start(&m->recv[SLOT_CUR], 0, m->recv_root);
    ek_wipe(ikm, sizeof(ikm));
    ek_wipe(m->ss1, sizeof(m->ss1));
    ek_wipe(m->ss2, sizeof(m->ss2));
    m->have_ss1 = m->have_ss2 = 0;
    if (rc == EK_OK)
        m->established = 1;
    return rc;
}

/* ---- re-keying ---- */

static int start_rekey(mlkem_layer *m, uint64_t now_ms)
{
    if (m->send.epoch == UINT32_MAX)
        return EK_ERR_LIMIT;
    uint8_t ss[EK_MLKEM768_SS_LEN], h[EK_SHA256_LEN];
    int rc = ek_mlkem768_encaps(m->rekey_ct, ss, m->peer_ek, m->base.rng);
    if (rc == EK_OK) {
        ek_sha256(h, m->rekey_ct, sizeof(m->rekey_ct));
        rc = rekey_root(m->rekey_root, m->send_root, ss, m->send.epoch + 1, h);
    }
    ek_wipe(ss, sizeof(ss));
    if (rc != EK_OK)
        return rc;
    m->rekey_pending = 1;
    m->rekey_emit = 1;
    m->rekey_sent_ms = now_ms;
    m->rekey_waited_ms = 0;
    m->rekey_seen_ms = now_ms;
    return EK_OK;
}

/* Count the active time a pending re-key has waited; 1 when it has waited
 * too long, or its epoch sealed too many messages (see above). */
static int rekey_stalled(mlkem_layer *m, uint64_t now_ms)
{
    if (!m->rekey_pending)
        return 0;
    if (now_ms > m->rekey_seen_ms) {
        uint64_t gap = now_ms - m->rekey_seen_ms;
        m->rekey_waited_ms += gap < EK_MLKEM_REKEY_RETRY_MS ? gap : EK_MLKEM_REKEY_RETRY_MS;
        m->rekey_seen_ms = now_ms;
    }
    return m->send_count >= EK_MLKEM_REKEY_STALL_MESSAGES ||
           m->rekey_waited_ms >= EK_MLKEM_REKEY_STALL_MS;
}

/* Make room for a new next epoch: prev <- cur <- next. */
static void shift_slots(mlkem_layer *m)
{
    if (m->recv[SLOT_PREV].live)
        skipped_drop_epoch(m, m->recv[SLOT_PREV].epoch);
    chain_wipe(&m->recv[SLOT_PREV]);
    m->recv[SLOT_PREV] = m->recv[SLOT_CUR];
    m->recv[SLOT_CUR] = m->recv[SLOT_NEXT];
    chain_wipe(&m->recv[SLOT_NEXT]);
}

static uint32_t newest_recv_epoch(const mlkem_layer *m)
{
    return m->recv[SLOT_NEXT].live ? m->recv[SLOT_NEXT].epoch : m->recv[SLOT_CUR].epoch;
}

/* R: a re-key from the peer. */
static int on_rekey(mlkem_layer *m, const ek_layer_control *in)
{
    if (in->data_len != EK_MLKEM768_CT_LEN)
        return EK_ERR_DECODE;
    uint8_t h[EK_SHA256_LEN];
    ek_sha256(h, in->data, in->data_len);
    uint32_t newest = newest_recv_epoch(m);
    if (in->epoch == m->acked_epoch && m->acked_epoch != 0) {
        /* A repeat (our ack was lost): answer it again, change nothing. */
        if (ek_ct_equal(h, m->acked_ct_hash, sizeof(h)))
            m->ack_due = 1;
        return EK_OK;
    }
    if (newest == UINT32_MAX || in->epoch != (uint64_t)newest + 1)
        return EK_OK; /* stale or out of order: the sender repeats it */
    uint8_t ss[EK_MLKEM768_SS_LEN], root[KEY_LEN];
    int rc = ek_mlkem768_decaps(ss, in->data, m->dk);
    if (rc == EK_OK)
        rc = rekey_root(root, m->recv_root, ss, (uint32_t)in->epoch, h);
    ek_wipe(ss, sizeof(ss));
    /* Our next key pair; the ack carries its ek. */
    uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN];
    if (rc == EK_OK)
        rc = ek_mlkem768_keypair(ek, dk, m->base.rng);
    if (rc == EK_OK) {
        if (m->recv[SLOT_NEXT].live)
            shift_slots(m);
        rc = chain_start(&m->recv[SLOT_NEXT], (uint32_t)in->epoch, root);
    }
    if (rc == EK_OK) {
        memcpy(m->recv_root, root, KEY_LEN);
        memcpy(m->ek, ek, sizeof(ek));
        memcpy(m->dk, dk, sizeof(dk));
        m->acked_epoch = (uint32_t)in->epoch;
        memcpy(m->acked_ct_hash, h, sizeof(h));
        m->ack_due = 1;
    }
    ek_wipe(root, sizeof(root));
    ek_wipe(dk, sizeof(dk));
    return rc;
}

/* S: the peer holds our new epoch: switch to it. */
static int on_ack(mlkem_layer *m, const ek_layer_control *in, uint64_t now_ms)
{
    if (!m->rekey_pending || in->epoch != (uint64_t)m->send.epoch + 1)
        return EK_OK; /* a repeat of an ack already used */
    int rc = ek_mlkem768_check_ek(in->data, in->data_len);
    if (rc != EK_OK)
        return rc;
    chain next;
    rc = chain_start(&next, m->send.epoch + 1, m->rekey_root);
    if (rc != EK_OK)
        return rc;
    chain_wipe(&m->send);
    m->send = next;
    chain_wipe(&next);
    memcpy(m->send_root, m->rekey_root, KEY_LEN);
    ek_wipe(m->rekey_root, KEY_LEN);
    memcpy(m->peer_ek, in->data, EK_MLKEM768_EK_LEN);
    m->rekey_pending = m->rekey_emit = 0;
    m->rekey_waited_ms = 0;
    m->send_count = 0;
    m->send_start_ms = now_ms;
    return EK_OK;
}

static int mlkem_poll_control(ek_layer *l, ek_layer_control *out, uint64_t now_ms)
{
    mlkem_layer *m = mk(l);
    if (!m->established)
        return 0;
    memset(out, 0, sizeof(*out));
    if (rekey_stalled(m, now_ms))
        return EK_ERR_LIMIT;
    if (m->ack_due) {
        m->ack_due = 0;
        out->type = "mlkem-rekey-ack";
        out->epoch = m->acked_epoch;
        out->timestamp = now_ms;
        out->data = m->ek;
        out->data_len = sizeof(m->ek);
        return 1;
    }
    if (m->rekey_pending &&
        (m->rekey_emit || now_ms >= m->rekey_sent_ms + EK_MLKEM_REKEY_RETRY_MS)) {
        m->rekey_emit = 0;
        m->rekey_sent_ms = now_ms;
        out->type = "mlkem-rekey";
        out->epoch = (uint64_t)m->send.epoch + 1;
        out->timestamp = now_ms;
        out->data = m->rekey_ct;
        out->data_len = sizeof(m->rekey_ct);
        return 1;
    }
    return 0;
}

static int mlkem_control(ek_layer *l, const ek_layer_control *in, uint64_t now_ms)
{
    mlkem_layer *m = mk(l);
    if (!m->established)
        return EK_ERR_STATE;
    if (strcmp(in->type, "mlkem-rekey") == 0)
        return on_rekey(m, in);
    if (strcmp(in->type, "mlkem-rekey-ack") == 0)
        return on_ack(m, in, now_ms);
    return EK_ERR_DECODE;
}

/* ---- messages ---- */

static size_t mlkem_overhead(const ek_layer *l, size_t pt_len)
{
    (void)l;
    (void)pt_len;
    return 1 + 8 + TAG_LEN;
}

static void make_nonce(uint8_t nonce[EK_AEAD_NONCE_LEN], uint64_t index)
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(index >> (56 - 8 * i));
}

static int mlkem_seal(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                      const ek_layer_msg *msg, const uint8_t *pt, size_t pt_len)
{
    mlkem_layer *m = mk(l);
    if (!m->established)
        return EK_ERR_STATE;
    if (m->send_start_ms == 0)
        m->send_start_ms = msg->now_ms;
    if (rekey_stalled(m, msg->now_ms))
        return EK_ERR_LIMIT;
    if (!m->rekey_pending &&
        (m->send_count >= EK_MLKEM_REKEY_MESSAGES ||
         (msg->now_ms > m->send_start_ms && msg->now_ms - m->send_start_ms >= EK_MLKEM_REKEY_MS))) {
        int rc = start_rekey(m, msg->now_ms);
        if (rc != EK_OK)
            return rc;
    }
    if (m->send.next >= EK_VARINT_MAX - 1)
        return EK_ERR_LIMIT;
    ek_writer w;
    ek_writer_init_fixed(&w, out, out_cap);
    ek_write_u8(&w, (uint8_t)m->send.epoch);
    ek_varint_write(&w, m->send.next);
    uint8_t *ct = ek_write_reserve(&w, pt_len + TAG_LEN);
    if (ct == NULL)
        return w.err;
    uint8_t key[KEY_LEN], nonce[EK_AEAD_NONCE_LEN];
    chain_message_key(key, m->send.ck);
    make_nonce(nonce, m->send.next);
    int rc = ek_aead_seal(ct, EK_AEAD_AES256GCM, key, KEY_LEN, nonce, sizeof(nonce), msg->ad,
                          msg->ad_len, pt, pt_len);
    ek_wipe(key, sizeof(key));
    if (rc != EK_OK)
        return rc;
    chain_step(m->send.ck);
    m->send.next++;
    m->send_count++;
    *out_len = w.len;
    return EK_OK;
}

static int mlkem_open(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                      const ek_layer_msg *msg, const uint8_t *ct, size_t ct_len)
{
    mlkem_layer *m = mk(l);
    m->pending = 0;
    if (!m->established)
        return EK_ERR_STATE;
    ek_reader r;
    ek_reader_init(&r, ct, ct_len);
    uint8_t e8 = 0;
    uint64_t index = 0;
    ek_read_u8(&r, &e8);
    ek_varint_read(&r, &index);
    if (r.err != EK_OK)
        return EK_ERR_DECODE;
    size_t body_len = ek_reader_remaining(&r);
    const uint8_t *body = ct + r.pos;
    if (body_len < TAG_LEN)
        return EK_ERR_DECODE;
    if (out_cap < body_len - TAG_LEN)
        return EK_ERR_TOO_LARGE;
    int slot = -1;
    for (int s = 0; s < SLOTS; s++) {
        if (m->recv[s].live && (uint8_t)m->recv[s].epoch == e8)
            slot = s;
    }
    if (slot < 0)
        return EK_ERR_AUTH; /* an epoch we do not hold */
    chain *c = &m->recv[slot];
    uint8_t key[KEY_LEN];
    size_t pos = 0;
    int from_skipped = 0;
    if (index < c->next) {
        if (!skipped_find(m, c->epoch, index, &pos))
            return EK_ERR_AUTH; /* used already (replay) or dropped */
        memcpy(key, m->skipped[pos].mk, KEY_LEN);
        from_skipped = 1;
    } else {
        if (index - c->next > EK_MLKEM_MAX_SKIP)
            return EK_ERR_LIMIT;
        if (index > c->next) {
            int rc = skipped_alloc(m);
            if (rc != EK_OK)
                return rc;
        }
        uint8_t ck[KEY_LEN];
        memcpy(ck, c->ck, KEY_LEN);
        for (uint64_t i = c->next; i < index; i++)
            chain_step(ck);
        chain_message_key(key, ck);
        ek_wipe(ck, sizeof(ck));
    }
    uint8_t nonce[EK_AEAD_NONCE_LEN];
    make_nonce(nonce, index);
    int rc = ek_aead_open(out, EK_AEAD_AES256GCM, key, KEY_LEN, nonce, sizeof(nonce), msg->ad,
                          msg->ad_len, body, body_len);
    ek_wipe(key, sizeof(key));
    if (rc != EK_OK)
        return rc;
    m->pending = 1;
    m->pend_slot = slot;
    m->pend_index = index;
    m->pend_skipped = from_skipped;
    m->pend_pos = pos;
    *out_len = body_len - TAG_LEN;
    return EK_OK;
}

static void mlkem_commit(ek_layer *l)
{
    mlkem_layer *m = mk(l);
    if (!m->pending)
        return;
    m->pending = 0;
    chain *c = &m->recv[m->pend_slot];
    if (m->pend_skipped) {
        ek_wipe(&m->skipped[m->pend_pos], sizeof(skipped_key));
    } else {
        for (uint64_t i = c->next; i < m->pend_index; i++) {
            uint8_t key[KEY_LEN];
            chain_message_key(key, c->ck);
            skipped_put(m, c->epoch, i, key);
            ek_wipe(key, sizeof(key));
            chain_step(c->ck);
        }
        chain_step(c->ck); /* past the message itself */
        c->next = m->pend_index + 1;
    }
    /* The first message of the next epoch: the sender has switched. */
    if (m->pend_slot == SLOT_NEXT)
        shift_slots(m);
}

static void mlkem_rollback(ek_layer *l)
{
    mk(l)->pending = 0;
}

/* ---- resumption ---- */

static int mlkem_resume_material(const ek_layer *l, ek_writer *out)
{
    const mlkem_layer *m = (const mlkem_layer *)l;
    if (!m->established)
        return EK_ERR_STATE;
    ek_write_u32(out, m->send.epoch);
    ek_write_u64(out, m->send.next);
    uint8_t k = 0;
    for (int s = 0; s < SLOTS; s++)
        k += m->recv[s].live ? 1 : 0;
    ek_write_u8(out, k);
    for (int s = 0; s < SLOTS; s++) {
        if (!m->recv[s].live)
            continue;
        ek_write_u32(out, m->recv[s].epoch);
        ek_write_u64(out, m->recv[s].next);
    }
    return ek_write_bytes(out, m->ek, sizeof(m->ek));
}

typedef struct resume_peer {
    uint32_t send_epoch;
    uint64_t send_next;
    uint8_t k;
    uint32_t epoch[SLOTS];
    uint64_t next[SLOTS];
    const uint8_t *ek;
} resume_peer;

static int parse_resume(resume_peer *p, const uint8_t *in, size_t len)
{
    ek_reader r;
    ek_reader_init(&r, in, len);
    ek_read_u32(&r, &p->send_epoch);
    ek_read_u64(&r, &p->send_next);
    ek_read_u8(&r, &p->k);
    if (r.err != EK_OK || p->k == 0 || p->k > SLOTS)
        return EK_ERR_DECODE;
    for (uint8_t i = 0; i < p->k; i++) {
        ek_read_u32(&r, &p->epoch[i]);
        ek_read_u64(&r, &p->next[i]);
    }
    ek_read_view(&r, &p->ek, EK_MLKEM768_EK_LEN);
    if (ek_reader_finish(&r) != EK_OK)
        return EK_ERR_DECODE;
    return ek_mlkem768_check_ek(p->ek, EK_MLKEM768_EK_LEN) == EK_OK ? EK_OK : EK_ERR_DECODE;
}

/* The index where a chain at a (sender) and b (receiver) meet. */
static int meeting_index(uint64_t a, uint64_t b, uint64_t *at)
{
    *at = a > b ? a : b;
    if (*at - a > EK_MLKEM_MAX_RESUME_SKIP || *at - b > EK_MLKEM_MAX_RESUME_SKIP ||
        *at >= EK_VARINT_MAX - 1)
        return EK_ERR_STATE;
    return EK_OK;
}

/* root' = KDF(ctx, CK of c stepped forward to index at, "ML-KEM resume",
 * dir). */
static int resume_root(uint8_t root[KEY_LEN], const chain *c, uint64_t at, const uint8_t ctx[32],
                       const char *dir)
{
    uint8_t ck[KEY_LEN];
    memcpy(ck, c->ck, KEY_LEN);
    for (uint64_t i = c->next; i < at; i++)
        chain_step(ck);
    int rc = ek_kdf(root, KEY_LEN, ctx, 32, ck, KEY_LEN, "ML-KEM resume", (const uint8_t *)dir, 3);
    ek_wipe(ck, sizeof(ck));
    return rc;
}

static int mlkem_resume(ek_layer *l, const uint8_t *peer, size_t peer_len, const uint8_t ctx[32],
                        int apply)
{
    mlkem_layer *m = mk(l);
    if (!m->established)
        return EK_ERR_STATE;
    resume_peer p;
    memset(&p, 0, sizeof(p));
    if (parse_resume(&p, peer, peer_len) != EK_OK)
        return EK_ERR_DECODE;
    /* Our sending chain, among the peer's receiving chains. */
    int found = 0;
    uint64_t at_send = 0, at_recv = 0;
    for (uint8_t i = 0; i < p.k; i++) {
        if (p.epoch[i] == m->send.epoch) {
            found = 1;
            if (meeting_index(m->send.next, p.next[i], &at_send) != EK_OK)
                return EK_ERR_STATE;
        }
    }
    if (!found)
        return EK_ERR_STATE;
    /* The peer's sending chain, among ours. */
    int slot = -1;
    for (int s = 0; s < SLOTS; s++) {
        if (m->recv[s].live && m->recv[s].epoch == p.send_epoch)
            slot = s;
    }
    if (slot < 0 || meeting_index(p.send_next, m->recv[slot].next, &at_recv) != EK_OK)
        return EK_ERR_STATE;
    if (!apply)
        return EK_OK;
    const char *mine = m->role == EK_ROLE_INITIATOR ? "I2R" : "R2I";
    const char *theirs = m->role == EK_ROLE_INITIATOR ? "R2I" : "I2R";
    uint8_t send_root[KEY_LEN], recv_root[KEY_LEN];
    chain send, recv;
    int rc = resume_root(send_root, &m->send, at_send, ctx, mine);
    if (rc == EK_OK)
        rc = resume_root(recv_root, &m->recv[slot], at_recv, ctx, theirs);
    if (rc == EK_OK)
        rc = chain_start(&send, m->send.epoch, send_root);
    if (rc == EK_OK)
        rc = chain_start(&recv, m->recv[slot].epoch, recv_root);
    if (rc == EK_OK) {
        /* sending: the epoch restarts; a pending re-key is dropped */
        memcpy(m->send_root, send_root, KEY_LEN);
        chain_wipe(&m->send);
        m->send = send;
        m->send_count = 0;
        m->send_start_ms = 0;
        m->rekey_pending = m->rekey_emit = 0;
        m->rekey_waited_ms = 0;
        ek_wipe(m->rekey_ct, sizeof(m->rekey_ct));
        ek_wipe(m->rekey_root, sizeof(m->rekey_root));
        memcpy(m->peer_ek, p.ek, EK_MLKEM768_EK_LEN);
        m->have_peer_ek = 1;
        /* receiving: that epoch alone, restarted; nothing older opens */
        for (int s = 0; s < SLOTS; s++)
            chain_wipe(&m->recv[s]);
        m->recv[SLOT_CUR] = recv;
        memcpy(m->recv_root, recv_root, KEY_LEN);
        if (m->skipped != NULL)
            ek_wipe(m->skipped, EK_MLKEM_MAX_SKIPPED_KEYS * sizeof(skipped_key));
        m->skipped_head = m->skipped_n = 0;
        m->ack_due = 0;
        m->acked_epoch = 0;
        ek_wipe(m->acked_ct_hash, sizeof(m->acked_ct_hash));
        m->pending = 0;
    }
    ek_wipe(send_root, sizeof(send_root));
    ek_wipe(recv_root, sizeof(recv_root));
    ek_wipe(&send, sizeof(send));
    ek_wipe(&recv, sizeof(recv));
    return rc;
}

/* ---- state ---- */

static void save_chain(ek_writer *w, const chain *c)
{
    ek_write_u8(w, (uint8_t)c->live);
    ek_write_u32(w, c->epoch);
    ek_write_bytes(w, c->ck, KEY_LEN);
    ek_write_u64(w, c->next);
}

static int restore_chain(ek_reader *r, chain *c)
{
    uint8_t live = 0;
    ek_read_u8(r, &live);
    ek_read_u32(r, &c->epoch);
    ek_read_bytes(r, c->ck, KEY_LEN);
    ek_read_u64(r, &c->next);
    if (r->err == EK_OK && live > 1)
        ek_reader_fail(r, EK_ERR_DECODE);
    c->live = live;
    return r->err;
}

static int mlkem_save(const ek_layer *l, ek_writer *w)
{
    const mlkem_layer *m = (const mlkem_layer *)l;
    if (!m->established)
        return EK_ERR_STATE;
    ek_state_begin(w, "EKMK", 2);
    ek_write_u8(w, (uint8_t)m->role);
    ek_write_bytes(w, m->ek, sizeof(m->ek));
    ek_write_bytes(w, m->dk, sizeof(m->dk));
    ek_write_bytes(w, m->peer_ek, sizeof(m->peer_ek));
    ek_write_bytes(w, m->send_root, KEY_LEN);
    save_chain(w, &m->send);
    ek_write_u64(w, m->send_count);
    ek_write_u64(w, m->send_start_ms);
    ek_write_u8(w, (uint8_t)(m->rekey_pending | m->rekey_emit << 1 | m->ack_due << 2));
    ek_write_bytes(w, m->rekey_ct, sizeof(m->rekey_ct));
    ek_write_bytes(w, m->rekey_root, KEY_LEN);
    ek_write_u64(w, m->rekey_sent_ms);
    ek_write_bytes(w, m->recv_root, KEY_LEN);
    for (int s = 0; s < SLOTS; s++)
        save_chain(w, &m->recv[s]);
    ek_write_u32(w, m->acked_epoch);
    ek_write_bytes(w, m->acked_ct_hash, sizeof(m->acked_ct_hash));
    ek_write_u64(w, m->rekey_waited_ms); /* format 2 */
    ek_write_u64(w, m->rekey_seen_ms);
    /* skipped keys, oldest first */
    size_t live = 0;
    for (size_t i = 0; m->skipped != NULL && i < m->skipped_n; i++)
        live += m->skipped[(m->skipped_head + i) % EK_MLKEM_MAX_SKIPPED_KEYS].live ? 1 : 0;
    ek_write_u16(w, (uint16_t)live);
    for (size_t i = 0; m->skipped != NULL && i < m->skipped_n; i++) {
        const skipped_key *k = &m->skipped[(m->skipped_head + i) % EK_MLKEM_MAX_SKIPPED_KEYS];
        if (!k->live)
            continue;
        ek_write_u32(w, k->epoch);
        ek_write_u64(w, k->index);
        ek_write_bytes(w, k->mk, KEY_LEN);
    }
    return w->err;
}

static int mlkem_restore(ek_layer *l, const uint8_t *in, size_t in_len)
{
    mlkem_layer *m = mk(l);
    ek_reader r;
    ek_reader_init(&r, in, in_len);
    uint8_t role = 0, flags = 0;
    uint16_t n = 0;
    /* Format 2 adds the stall bookkeeping; format 1 is still read. */
    uint8_t format = in_len > 4 ? in[4] : 0;
    ek_state_check(&r, "EKMK", format == 1 ? 1 : 2);
    ek_read_u8(&r, &role);
    ek_read_bytes(&r, m->ek, sizeof(m->ek));
    ek_read_bytes(&r, m->dk, sizeof(m->dk));
    ek_read_bytes(&r, m->peer_ek, sizeof(m->peer_ek));
    ek_read_bytes(&r, m->send_root, KEY_LEN);
    restore_chain(&r, &m->send);
    ek_read_u64(&r, &m->send_count);
    ek_read_u64(&r, &m->send_start_ms);
    ek_read_u8(&r, &flags);
    ek_read_bytes(&r, m->rekey_ct, sizeof(m->rekey_ct));
    ek_read_bytes(&r, m->rekey_root, KEY_LEN);
    ek_read_u64(&r, &m->rekey_sent_ms);
    ek_read_bytes(&r, m->recv_root, KEY_LEN);
    for (int s = 0; s < SLOTS; s++)
        restore_chain(&r, &m->recv[s]);
    ek_read_u32(&r, &m->acked_epoch);
    ek_read_bytes(&r, m->acked_ct_hash, sizeof(m->acked_ct_hash));
    if (format == 1) {
        m->rekey_waited_ms = 0;
        m->rekey_seen_ms = m->rekey_sent_ms;
    } else {
        ek_read_u64(&r, &m->rekey_waited_ms);
        ek_read_u64(&r, &m->rekey_seen_ms);
    }
    ek_read_u16(&r, &n);
    int rc = r.err;
    if (rc == EK_OK && ((role != EK_ROLE_INITIATOR && role != EK_ROLE_RESPONDER) || flags > 7 ||
                        n > EK_MLKEM_MAX_SKIPPED_KEYS || !m->send.live || !m->recv[SLOT_CUR].live))
        rc = EK_ERR_DECODE;
    if (rc == EK_OK)
        rc = ek_mlkem768_check_dk(m->dk, sizeof(m->dk));
    if (rc == EK_OK)
        rc = ek_mlkem768_check_ek(m->peer_ek, sizeof(m->peer_ek));
    if (rc == EK_OK && n > 0)
        rc = skipped_alloc(m);
    for (uint16_t i = 0; rc == EK_OK && i < n; i++) {
        skipped_key *k = &m->skipped[i];
        ek_read_u32(&r, &k->epoch);
        ek_read_u64(&r, &k->index);
        ek_read_bytes(&r, k->mk, KEY_LEN);
        k->live = 1;
        rc = r.err;
    }
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    if (rc != EK_OK)
        return rc == EK_ERR_BAD_KEY ? EK_ERR_DECODE : rc;
    m->skipped_head = 0;
    m->skipped_n = n;
    m->role = role;
    m->rekey_pending = flags & 1;
    m->rekey_emit = flags >> 1 & 1;
    m->ack_due = flags >> 2 & 1;
    m->have_peer_ek = 1;
    m->established = 1;
    return EK_OK;
}

static void mlkem_free(ek_layer *l)
{
    mlkem_layer *m = mk(l);
    const ek_allocator *a = l->alloc;
    if (m->skipped != NULL) {
        ek_wipe(m->skipped, EK_MLKEM_MAX_SKIPPED_KEYS * sizeof(skipped_key));
        ek_free(a, m->skipped, EK_MLKEM_MAX_SKIPPED_KEYS * sizeof(skipped_key));
    }
    ek_wipe(m, sizeof(*m));
    ek_free(a, m, sizeof(*m));
}

static const ek_layer_ops mlkem_ops = {
    .name = "ML-KEM",
    .hello = mlkem_hello,
    .respond = mlkem_respond,
    .finish = mlkem_finish,
    .complete = mlkem_complete,
    .binder = mlkem_binder,
    .established = mlkem_established,
    .overhead = mlkem_overhead,
    .seal = mlkem_seal,
    .open = mlkem_open,
    .commit = mlkem_commit,
    .rollback = mlkem_rollback,
    .poll_control = mlkem_poll_control,
    .control = mlkem_control,
    .save = mlkem_save,
    .restore = mlkem_restore,
    .free = mlkem_free,
    .resume_material = mlkem_resume_material,
    .resume = mlkem_resume,
};

int ek_layer_mlkem_new(ek_layer **out, const ek_allocator *a, const ek_rng *rng)
{
    if (out == NULL)
        return EK_ERR_INVALID_ARG;
    mlkem_layer *m = ek_alloc(a, sizeof(*m));
    if (m == NULL)
        return EK_ERR_NOMEM;
    memset(m, 0, sizeof(*m));
    m->base.ops = &mlkem_ops;
    m->base.alloc = a;
    m->base.rng = rng;
    *out = &m->base;
    return EK_OK;
}
