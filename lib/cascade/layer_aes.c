/*
 * layer_aes.c: the AES layer (docs/protocol.md §5.7): AES-256-GCM keyed
 * from the layer's own X25519 exchange, one key per direction, rotated by
 * epochs that rotation-timestamp-broadcast announces, with deterministic
 * nonces that are never reused.
 *
 *   handshake   hello: X25519 public key a; response: X25519 public key b.
 *               dh = X25519(a, b); binder = KDF(th, dh, "AES binder").
 *   keys        K[dir][0] = KDF(session_id, dh, "AES key", dir), dir "I2R"
 *               or "R2I"; K[dir][e+1] = KDF(-, K[dir][e], "AES rotate",
 *               u32(e+1)); the old key is wiped.
 *   message     epoch (1 byte: e mod 256) || AES-256-GCM(K[dir][e],
 *               nonce = u32(e) || u64(seq), ad, pt) (ciphertext || tag).
 *
 * (epoch, seq) never repeats in a direction: the engine's seq strictly
 * increases and the layer refuses a seq that does not (EK_ERR_LIMIT).
 *
 * Rotation: the sender moves to e+1 after EK_AES_ROTATE_MESSAGES messages
 * or EK_AES_ROTATE_MS, and announces it with rotation-timestamp-broadcast
 * {epoch, timestamp}. The derivation needs nothing from the announcement,
 * so a lost or late broadcast costs nothing: a receiver seeing an epoch up
 * to EK_AES_MAX_EPOCH_AHEAD ahead derives forward. On a broadcast from the
 * peer, a side whose own sending epoch is behind catches up, so both
 * directions rotate together. The previous receiving key is kept for
 * EK_AES_PREVIOUS_EPOCH_MS for late frames, then wiped.
 *
 * Resumption (docs/protocol.md §4.6): each side tells the other its
 * sending and receiving epochs (material: u32(send) || u32(recv)). For each
 * direction both sides derive forward to E = max(the sender's epoch, the
 * receiver's epoch) (at most EK_AES_MAX_RESUME_AHEAD epochs) and re-key:
 *   K'[dir] = KDF(ctx, K[dir][E], "AES resume", dir)
 * in epoch E, with the sender's sequence check and the previous key
 * dropped. ctx comes from both sides' fresh resume nonces, so a state
 * restored from older bytes (whose (epoch, seq) pairs went on the wire
 * before) never seals under a key it used before, and frames sealed
 * before the resume no longer open.
 */
#include <stddef.h>
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_crypto.h>

#include "cascade/cascade_internal.h"

/* Rotation schedule and tolerances (docs/protocol.md §7). */
#define EK_AES_ROTATE_MESSAGES   ((uint64_t)1 << 20)
#define EK_AES_ROTATE_MS         ((uint64_t)60 * 60 * 1000)
#define EK_AES_PREVIOUS_EPOCH_MS ((uint64_t)120 * 1000)
#define EK_AES_MAX_EPOCH_AHEAD   4u
/* How far resumption derives forward to meet the peer (a state restored
 * from further back falls back to a fresh handshake). */
#define EK_AES_MAX_RESUME_AHEAD  64u

#define KEY_LEN 32
#define TAG_LEN EK_AEAD_TAG_LEN

typedef struct aes_layer {
    ek_layer base;
    int role;
    int established;
    /* handshake */
    uint8_t sk[EK_X25519_LEN], pk[EK_X25519_LEN], peer_pk[EK_X25519_LEN], dh[EK_X25519_LEN];
    int have_dh;
    /* sending direction */
    uint32_t send_epoch;
    uint8_t send_key[KEY_LEN];
    uint64_t send_count;    /* messages sealed in this epoch */
    uint64_t send_start_ms; /* when this epoch began (0: at the first message) */
    uint64_t last_seq;
    int have_last_seq;
    int announce; /* a rotation-timestamp-broadcast is due */
    uint64_t announce_ts;
    /* receiving direction */
    uint32_t recv_epoch;
    uint8_t recv_key[KEY_LEN];
    int have_prev;
    uint8_t prev_key[KEY_LEN];
    uint64_t prev_until_ms; /* 0: not yet started counting */
    uint64_t last_broadcast_ts;
    /* pending open */
    int pending;
    uint32_t pend_epoch;
    uint8_t pend_key[KEY_LEN], pend_prev[KEY_LEN];
} aes_layer;

static aes_layer *aes(ek_layer *l)
{
    return (aes_layer *)l;
}

/* ---- handshake ---- */

static int aes_hello(ek_layer *l, ek_writer *out, const ek_layer_hs *h)
{
    aes_layer *a = aes(l);
    a->role = h->role;
    int rc = ek_x25519_keypair(a->pk, a->sk, h->rng);
    if (rc != EK_OK)
        return rc;
    return ek_write_bytes(out, a->pk, sizeof(a->pk));
}

static int aes_agree(aes_layer *a, const uint8_t *in, size_t in_len)
{
    if (in_len != EK_X25519_LEN)
        return EK_ERR_DECODE;
    memcpy(a->peer_pk, in, EK_X25519_LEN);
    int rc = ek_x25519(a->dh, a->sk, a->peer_pk);
    ek_wipe(a->sk, sizeof(a->sk));
    if (rc == EK_OK)
        a->have_dh = 1;
    return rc;
}

static int aes_respond(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                       const ek_layer_hs *h)
{
    aes_layer *a = aes(l);
    a->role = h->role;
    if (in_len != EK_X25519_LEN)
        return EK_ERR_DECODE;
    int rc = ek_x25519_keypair(a->pk, a->sk, h->rng);
    if (rc == EK_OK)
        rc = aes_agree(a, in, in_len);
    if (rc == EK_OK)
        rc = ek_write_bytes(out, a->pk, sizeof(a->pk));
    return rc;
}

static int aes_finish(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                      const ek_layer_hs *h)
{
    (void)out;
    (void)h;
    return aes_agree(aes(l), in, in_len);
}

static int aes_complete(ek_layer *l, const uint8_t *in, size_t in_len, const ek_layer_hs *h)
{
    (void)l;
    (void)h;
    (void)in;
    return in_len == 0 ? EK_OK : EK_ERR_DECODE;
}

static int aes_binder(ek_layer *l, uint8_t *out, size_t *len, int stage, const ek_layer_hs *h)
{
    aes_layer *a = aes(l);
    (void)stage; /* the same secret at both stages */
    if (!a->have_dh)
        return EK_ERR_STATE;
    *len = EK_LAYER_BINDER_LEN;
    return ek_kdf(out, EK_LAYER_BINDER_LEN, h->transcript, 32, a->dh, sizeof(a->dh), "AES binder",
                  NULL, 0);
}

static int aes_established(ek_layer *l, const uint8_t session_id[32])
{
    aes_layer *a = aes(l);
    if (!a->have_dh)
        return EK_ERR_STATE;
    const char *mine = a->role == EK_ROLE_INITIATOR ? "I2R" : "R2I";
    const char *theirs = a->role == EK_ROLE_INITIATOR ? "R2I" : "I2R";
    int rc = ek_kdf(a->send_key, KEY_LEN, session_id, 32, a->dh, sizeof(a->dh), "AES key",
                    (const uint8_t *)mine, 3);
    if (rc == EK_OK)
        rc = ek_kdf(a->recv_key, KEY_LEN, session_id, 32, a->dh, sizeof(a->dh), "AES key",
                    (const uint8_t *)theirs, 3);
    ek_wipe(a->dh, sizeof(a->dh));
    a->have_dh = 0;
    if (rc == EK_OK)
        a->established = 1;
    return rc;
}

/* ---- keys ---- */

/* next = KDF(-, key, "AES rotate", u32(epoch)): the key of epoch from the
 * key of epoch - 1. next may equal key. */
static int rotate_key(uint8_t next[KEY_LEN], const uint8_t key[KEY_LEN], uint32_t epoch)
{
    uint8_t ctx[4] = {(uint8_t)(epoch >> 24), (uint8_t)(epoch >> 16), (uint8_t)(epoch >> 8),
                      (uint8_t)epoch};
    uint8_t tmp[KEY_LEN];
    int rc = ek_kdf(tmp, KEY_LEN, NULL, 0, key, KEY_LEN, "AES rotate", ctx, sizeof(ctx));
    memcpy(next, tmp, KEY_LEN);
    ek_wipe(tmp, sizeof(tmp));
    return rc;
}

static void make_nonce(uint8_t nonce[EK_AEAD_NONCE_LEN], uint32_t epoch, uint64_t seq)
{
    for (int i = 0; i < 4; i++)
        nonce[i] = (uint8_t)(epoch >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

/* Move the sending direction to the next epoch and schedule its notice. */
static int rotate_send(aes_layer *a, uint64_t now_ms)
{
    if (a->send_epoch == UINT32_MAX)
        return EK_ERR_LIMIT;
    int rc = rotate_key(a->send_key, a->send_key, a->send_epoch + 1);
    if (rc != EK_OK)
        return rc;
    a->send_epoch++;
    a->send_count = 0;
    a->send_start_ms = now_ms;
    a->announce = 1;
    a->announce_ts = now_ms;
    return EK_OK;
}

/* ---- messages ---- */

static size_t aes_overhead(const ek_layer *l, size_t pt_len)
{
    (void)l;
    (void)pt_len;
    return 1 + TAG_LEN;
}

static int aes_seal(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                    const ek_layer_msg *m, const uint8_t *pt, size_t pt_len)
{
    aes_layer *a = aes(l);
    if (!a->established)
        return EK_ERR_STATE;
    if (out_cap < pt_len + 1 + TAG_LEN)
        return EK_ERR_TOO_LARGE;
    if (a->have_last_seq && m->seq <= a->last_seq)
        return EK_ERR_LIMIT; /* a nonce must never repeat */
    if (a->send_start_ms == 0)
        a->send_start_ms = m->now_ms;
    if (a->send_count >= EK_AES_ROTATE_MESSAGES ||
        (m->now_ms > a->send_start_ms && m->now_ms - a->send_start_ms >= EK_AES_ROTATE_MS)) {
        int rc = rotate_send(a, m->now_ms);
        if (rc != EK_OK)
            return rc;
    }
    uint8_t nonce[EK_AEAD_NONCE_LEN];
    make_nonce(nonce, a->send_epoch, m->seq);
    out[0] = (uint8_t)a->send_epoch;
    int rc = ek_aead_seal(out + 1, EK_AEAD_AES256GCM, a->send_key, KEY_LEN, nonce, sizeof(nonce),
                          m->ad, m->ad_len, pt, pt_len);
    if (rc != EK_OK)
        return rc;
    a->last_seq = m->seq;
    a->have_last_seq = 1;
    a->send_count++;
    *out_len = pt_len + 1 + TAG_LEN;
    return EK_OK;
}

/* Drop the previous receiving key once its time is up. */
static void expire_prev(aes_layer *a, uint64_t now_ms)
{
    if (a->have_prev && a->prev_until_ms != 0 && now_ms >= a->prev_until_ms) {
        ek_wipe(a->prev_key, sizeof(a->prev_key));
        a->have_prev = 0;
    }
}

static int try_open(uint8_t *out, const uint8_t key[KEY_LEN], uint32_t epoch, const ek_layer_msg *m,
                    const uint8_t *ct, size_t ct_len)
{
    uint8_t nonce[EK_AEAD_NONCE_LEN];
    make_nonce(nonce, epoch, m->seq);
    return ek_aead_open(out, EK_AEAD_AES256GCM, key, KEY_LEN, nonce, sizeof(nonce), m->ad,
                        m->ad_len, ct, ct_len);
}

static int aes_open(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                    const ek_layer_msg *m, const uint8_t *ct, size_t ct_len)
{
    aes_layer *a = aes(l);
    a->pending = 0;
    if (!a->established)
        return EK_ERR_STATE;
    if (ct_len < 1 + TAG_LEN)
        return EK_ERR_DECODE;
    if (out_cap < ct_len - 1 - TAG_LEN)
        return EK_ERR_TOO_LARGE;
    expire_prev(a, m->now_ms);
    uint8_t e8 = ct[0];
    uint8_t ahead = (uint8_t)(e8 - (uint8_t)a->recv_epoch);
    int rc;
    if (ahead == 0)
        rc = try_open(out, a->recv_key, a->recv_epoch, m, ct + 1, ct_len - 1);
    else if (ahead == 0xff && a->have_prev && a->recv_epoch > 0)
        rc = try_open(out, a->prev_key, a->recv_epoch - 1, m, ct + 1, ct_len - 1);
    else if (ahead <= EK_AES_MAX_EPOCH_AHEAD && a->recv_epoch <= UINT32_MAX - ahead) {
        /* Derive forward on a copy; adopt it only when the message opens. */
        uint8_t k[KEY_LEN], prev[KEY_LEN];
        memcpy(k, a->recv_key, KEY_LEN);
        memcpy(prev, a->recv_key, KEY_LEN);
        rc = EK_OK;
        for (uint32_t i = 1; i <= ahead && rc == EK_OK; i++) {
            memcpy(prev, k, KEY_LEN);
            rc = rotate_key(k, k, a->recv_epoch + i);
        }
        if (rc == EK_OK)
            rc = try_open(out, k, a->recv_epoch + ahead, m, ct + 1, ct_len - 1);
        if (rc == EK_OK) {
            a->pending = 1;
            a->pend_epoch = a->recv_epoch + ahead;
            memcpy(a->pend_key, k, KEY_LEN);
            memcpy(a->pend_prev, prev, KEY_LEN);
        }
        ek_wipe(k, sizeof(k));
        ek_wipe(prev, sizeof(prev));
    } else
        rc = EK_ERR_AUTH; /* an epoch we no longer (or never) hold */
    if (rc != EK_OK)
        return rc;
    *out_len = ct_len - 1 - TAG_LEN;
    return EK_OK;
}

static void aes_commit(ek_layer *l)
{
    aes_layer *a = aes(l);
    if (!a->pending)
        return;
    a->recv_epoch = a->pend_epoch;
    memcpy(a->recv_key, a->pend_key, KEY_LEN);
    memcpy(a->prev_key, a->pend_prev, KEY_LEN);
    a->have_prev = 1;
    a->prev_until_ms = 0; /* starts counting at the next control or open */
    ek_wipe(a->pend_key, KEY_LEN);
    ek_wipe(a->pend_prev, KEY_LEN);
    a->pending = 0;
}

static void aes_rollback(ek_layer *l)
{
    aes_layer *a = aes(l);
    ek_wipe(a->pend_key, KEY_LEN);
    ek_wipe(a->pend_prev, KEY_LEN);
    a->pending = 0;
}

/* ---- control: rotation-timestamp-broadcast ---- */

static int aes_poll_control(ek_layer *l, ek_layer_control *out, uint64_t now_ms)
{
    aes_layer *a = aes(l);
    if (a->have_prev && a->prev_until_ms == 0)
        a->prev_until_ms = now_ms + EK_AES_PREVIOUS_EPOCH_MS;
    expire_prev(a, now_ms);
    if (!a->announce)
        return 0;
    a->announce = 0;
    memset(out, 0, sizeof(*out));
    out->type = "rotation-timestamp-broadcast";
    out->epoch = a->send_epoch;
    out->timestamp = a->announce_ts;
    return 1;
}

static int aes_control(ek_layer *l, const ek_layer_control *in, uint64_t now_ms)
{
    aes_layer *a = aes(l);
    if (!a->established || strcmp(in->type, "rotation-timestamp-broadcast") != 0 ||
        in->data_len != 0)
        return EK_ERR_DECODE;
    /* Timestamps of one peer never go back; an old notice changes nothing. */
    if (in->timestamp < a->last_broadcast_ts)
        return EK_OK;
    a->last_broadcast_ts = in->timestamp;
    /* Catch up: the peer rotated its direction, so we rotate ours. */
    while (a->send_epoch < in->epoch) {
        if (in->epoch - a->send_epoch > EK_AES_MAX_EPOCH_AHEAD)
            return EK_ERR_DECODE;
        int rc = rotate_send(a, now_ms);
        if (rc != EK_OK)
            return rc;
    }
    return EK_OK;
}

/* ---- resumption ---- */

static int aes_resume_material(const ek_layer *l, ek_writer *out)
{
    const aes_layer *a = (const aes_layer *)l;
    if (!a->established)
        return EK_ERR_STATE;
    ek_write_u32(out, a->send_epoch);
    return ek_write_u32(out, a->recv_epoch);
}

/* The meeting epoch of a direction whose sender is at s and receiver at r,
 * or EK_ERR_STATE when one of them is too far behind. */
static int meeting_epoch(uint32_t s, uint32_t r, uint32_t *e)
{
    *e = s > r ? s : r;
    if (*e - s > EK_AES_MAX_RESUME_AHEAD || *e - r > EK_AES_MAX_RESUME_AHEAD)
        return EK_ERR_STATE;
    return EK_OK;
}

/* out = KDF(ctx, key derived from epoch from forward to epoch to, "AES
 * resume", dir). */
static int resume_key(uint8_t out[KEY_LEN], const uint8_t key[KEY_LEN], uint32_t from, uint32_t to,
                      const uint8_t ctx[32], const char *dir)
{
    uint8_t k[KEY_LEN];
    memcpy(k, key, KEY_LEN);
    int rc = EK_OK;
    for (uint32_t e = from; e < to && rc == EK_OK; e++)
        rc = rotate_key(k, k, e + 1);
    if (rc == EK_OK)
        rc = ek_kdf(out, KEY_LEN, ctx, 32, k, KEY_LEN, "AES resume", (const uint8_t *)dir, 3);
    ek_wipe(k, sizeof(k));
    return rc;
}

static int aes_resume(ek_layer *l, const uint8_t *peer, size_t peer_len, const uint8_t ctx[32],
                      int apply)
{
    aes_layer *a = aes(l);
    if (!a->established)
        return EK_ERR_STATE;
    ek_reader r;
    ek_reader_init(&r, peer, peer_len);
    uint32_t peer_send = 0, peer_recv = 0;
    ek_read_u32(&r, &peer_send);
    ek_read_u32(&r, &peer_recv);
    if (ek_reader_finish(&r) != EK_OK)
        return EK_ERR_DECODE;
    uint32_t e_send = 0, e_recv = 0;
    if (meeting_epoch(a->send_epoch, peer_recv, &e_send) != EK_OK ||
        meeting_epoch(peer_send, a->recv_epoch, &e_recv) != EK_OK)
        return EK_ERR_STATE;
    if (!apply)
        return EK_OK;
    const char *mine = a->role == EK_ROLE_INITIATOR ? "I2R" : "R2I";
    const char *theirs = a->role == EK_ROLE_INITIATOR ? "R2I" : "I2R";
    uint8_t send[KEY_LEN], recv[KEY_LEN];
    int rc = resume_key(send, a->send_key, a->send_epoch, e_send, ctx, mine);
    if (rc == EK_OK)
        rc = resume_key(recv, a->recv_key, a->recv_epoch, e_recv, ctx, theirs);
    if (rc == EK_OK) {
        memcpy(a->send_key, send, KEY_LEN);
        memcpy(a->recv_key, recv, KEY_LEN);
    }
    ek_wipe(send, sizeof(send));
    ek_wipe(recv, sizeof(recv));
    if (rc != EK_OK)
        return rc;
    a->send_epoch = e_send;
    a->send_count = 0;
    a->send_start_ms = 0;
    a->have_last_seq = 0;
    a->last_seq = 0;
    a->announce = 0;
    a->recv_epoch = e_recv;
    ek_wipe(a->prev_key, KEY_LEN);
    a->have_prev = 0;
    a->prev_until_ms = 0;
    aes_rollback(l);
    return EK_OK;
}

/* ---- state ---- */

static int aes_save(const ek_layer *l, ek_writer *w)
{
    const aes_layer *a = (const aes_layer *)l;
    if (!a->established)
        return EK_ERR_STATE;
    ek_state_begin(w, "EKAE", 1);
    ek_write_u8(w, (uint8_t)a->role);
    ek_write_u32(w, a->send_epoch);
    ek_write_bytes(w, a->send_key, KEY_LEN);
    ek_write_u64(w, a->send_count);
    ek_write_u64(w, a->send_start_ms);
    ek_write_u8(w, (uint8_t)(a->have_last_seq | a->announce << 1 | a->have_prev << 2));
    ek_write_u64(w, a->last_seq);
    ek_write_u64(w, a->announce_ts);
    ek_write_u32(w, a->recv_epoch);
    ek_write_bytes(w, a->recv_key, KEY_LEN);
    ek_write_bytes(w, a->prev_key, KEY_LEN);
    ek_write_u64(w, a->prev_until_ms);
    return ek_write_u64(w, a->last_broadcast_ts);
}

static int aes_restore(ek_layer *l, const uint8_t *in, size_t in_len)
{
    aes_layer *a = aes(l);
    ek_reader r;
    ek_reader_init(&r, in, in_len);
    uint8_t role = 0, flags = 0;
    ek_state_check(&r, "EKAE", 1);
    ek_read_u8(&r, &role);
    ek_read_u32(&r, &a->send_epoch);
    ek_read_bytes(&r, a->send_key, KEY_LEN);
    ek_read_u64(&r, &a->send_count);
    ek_read_u64(&r, &a->send_start_ms);
    ek_read_u8(&r, &flags);
    ek_read_u64(&r, &a->last_seq);
    ek_read_u64(&r, &a->announce_ts);
    ek_read_u32(&r, &a->recv_epoch);
    ek_read_bytes(&r, a->recv_key, KEY_LEN);
    ek_read_bytes(&r, a->prev_key, KEY_LEN);
    ek_read_u64(&r, &a->prev_until_ms);
    ek_read_u64(&r, &a->last_broadcast_ts);
    int rc = ek_reader_finish(&r);
    if (rc == EK_OK && ((role != EK_ROLE_INITIATOR && role != EK_ROLE_RESPONDER) || flags > 7))
        rc = EK_ERR_DECODE;
    if (rc != EK_OK) {
        ek_wipe(&a->role, sizeof(*a) - offsetof(aes_layer, role));
        return rc;
    }
    a->role = role;
    a->have_last_seq = flags & 1;
    a->announce = flags >> 1 & 1;
    a->have_prev = flags >> 2 & 1;
    a->established = 1;
    return EK_OK;
}

static void aes_free(ek_layer *l)
{
    const ek_allocator *al = l->alloc;
    ek_wipe(l, sizeof(aes_layer));
    ek_free(al, l, sizeof(aes_layer));
}

static const ek_layer_ops aes_ops = {
    .name = "AES",
    .hello = aes_hello,
    .respond = aes_respond,
    .finish = aes_finish,
    .complete = aes_complete,
    .binder = aes_binder,
    .established = aes_established,
    .overhead = aes_overhead,
    .seal = aes_seal,
    .open = aes_open,
    .commit = aes_commit,
    .rollback = aes_rollback,
    .poll_control = aes_poll_control,
    .control = aes_control,
    .save = aes_save,
    .restore = aes_restore,
    .free = aes_free,
    .resume_material = aes_resume_material,
    .resume = aes_resume,
};

int ek_layer_aes_new(ek_layer **out, const ek_allocator *a, const ek_rng *rng)
{
    if (out == NULL)
        return EK_ERR_INVALID_ARG;
    aes_layer *k = ek_alloc(a, sizeof(*k));
    if (k == NULL)
        return EK_ERR_NOMEM;
    memset(k, 0, sizeof(*k));
    k->base.ops = &aes_ops;
    k->base.alloc = a;
    k->base.rng = rng;
    *out = &k->base;
    return EK_OK;
}
