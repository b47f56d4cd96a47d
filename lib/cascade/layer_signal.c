/*
 * layer_signal.c: the Signal layer (docs/protocol.md §5.5): a Double
 * Ratchet session of ek_ratchet.h (Signal v3), with a compact, lossless
 * re-encoding of its messages so that what every message repeats costs
 * nothing on the wire.
 *
 * Handshake (X3DH without a server, docs/ratchet.md): the initiator plays
 * Signal's Bob and puts a fresh prekey bundle in hello; the responder plays
 * Alice: X3DH against the bundle, and her first message (a
 * PreKeySignalMessage over the hello's transcript hash) is her response
 * material; Bob opens it and answers with a SignalMessage (finish
 * material) that Alice opens. Both sessions are then acknowledged: no
 * PreKeySignalMessage follows, and each side has confirmed the other's
 * X3DH through its MAC (the layer contributes no binder).
 *
 * A v3 SignalMessage is version || protobuf{1 ratchetKey (0x05 || u),
 * 2 counter N, 3 previousCounter PN, 4 ciphertext} || mac[8]. On the wire
 * the layer sends one of (first byte):
 *   0x00 RAW     the ek_ratchet_seal bytes as they are (type || message);
 *   0x01 FULL    tag || u[32] || varint(N) || varint(PN) || ct || mac;
 *   0x80|tag     SHORT: ct || mac.
 * tag (7 bits) names the chain: the low 7 bits of u[0] (a FULL message
 * whose tag is not its u's is refused at once). Within one chain u and PN
 * are fixed and seq - N is constant (every cascade message carries exactly
 * one Signal message), so after a FULL message the receiver knows (u, PN,
 * seq - N) and a SHORT one needs nothing else: it is tried on each known
 * chain with its tag (two chains may share one), most recent first, and
 * kept for a retry when none opens it (its own chain may be one whose FULL
 * messages are late). The receiver rebuilds the exact v3 bytes and the
 * ratchet checks the MAC over them: the compact form changes no byte that
 * Signal authenticates. The form byte (and a FULL message's tag) are not
 * in the v3 bytes: they are appended to the ratchet's associated data, so
 * the MAC covers every byte sent and a message re-encoded on the path
 * (another tag, FULL as SHORT, RAW) does not open.
 *
 * Opening is two-phase (ek_cascade.h): the ratchet keeps a verified open
 * aside (ratchet_decrypt_prepare) until the cascade commits it, and drops
 * it on a rollback, so the same bytes open again.
 * The sender uses FULL for messages N with N mod EK_SIGNAL_FULL_PERIOD < 2,
 * whenever the chain's invariants do not hold, and for the next message
 * after the receiver asked for it: a receiver that gets a SHORT message of
 * a chain it does not know (its FULL messages were lost) keeps the frame
 * (the engine retries it) and sends signal-chain-request {epoch: tag}
 * through the cascade, at most once a second per tag; the sender answers
 * at once with signal-chain-announce {epoch: tag, data: u || u32(PN) ||
 * u64(seq - N)}, what a FULL message of that chain says (it remembers its
 * last EK_SIGNAL_PEER_CHAINS chains: by then it may have ratcheted on and
 * can never send on the old chain again). RAW is for PreKeySignalMessages
 * and anything the layer cannot re-encode exactly.
 */
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_ratchet.h>

#include "cascade/cascade_internal.h"
#include "ratchet/ratchet_cascade.h"

#define EK_SIGNAL_FULL_PERIOD 32u
#define EK_SIGNAL_PEER_CHAINS 8

#define FORM_RAW   0x00
#define FORM_FULL  0x01
#define FORM_SHORT 0x80
#define U_LEN      32
#define MAC_LEN    EK_RATCHET_MAC_LEN
#define VERSION    0x33

/* Field keys of the SignalMessage protobuf. */
#define PB_KEY_RATCHET  0x0a
#define PB_KEY_COUNTER  0x10
#define PB_KEY_PREVIOUS 0x18
#define PB_KEY_CT       0x22

typedef struct chain_info {
    int live;
    uint8_t tag;
    uint8_t u[U_LEN];
    uint64_t base; /* seq - N, modulo 2^64 (N may exceed seq: the handshake's
                      own Signal messages have no seq) */
    uint32_t pn;
} chain_info;

typedef struct signal_layer {
    ek_layer base;
    int role;
    int established;
    ek_ratchet_identity id;
    ek_ratchet_prekeys prekeys; /* Bob, until the session exists */
    ek_ratchet_session *session;
    /* our sending chain, as the receiver learns it, and the ones before it
     * (most recent first), for signal-chain-announce */
    chain_info send;
    chain_info sent_before[EK_SIGNAL_PEER_CHAINS];
    /* the peer's chains we know, most recent first */
    chain_info peer[EK_SIGNAL_PEER_CHAINS];
    /* the pending open: a chain to learn */
    int pending;
    chain_info pend;
    /* asked by the peer to announce a chain of ours: the next message is
     * FULL when it is the current chain (force_full), and one
     * signal-chain-announce goes out at once for each chain of ours with
     * that tag (announce_mask: bit 0 send, bit 1 + i sent_before[i]) */
    int force_full;
    uint16_t announce_mask;
    uint8_t announce_data[U_LEN + 4 + 8];
    /* a chain of the peer we need announced (request not sent yet / sent) */
    int want_tag, asked_tag;
    uint64_t asked_ms;
    /* scratch for rebuilt messages and their plaintext */
    uint8_t *buf;
    size_t buf_cap;
} signal_layer;

static signal_layer *sg(ek_layer *l)
{
    return (signal_layer *)l;
}

static uint8_t *scratch(signal_layer *s, size_t need)
{
    if (s->buf != NULL && s->buf_cap >= need)
        return s->buf;
    size_t cap = need < 4096 ? 4096 : need;
    uint8_t *nb = ek_alloc(s->base.alloc, cap);
    if (nb == NULL)
        return NULL;
    if (s->buf != NULL) {
        ek_wipe(s->buf, s->buf_cap);
        ek_free(s->base.alloc, s->buf, s->buf_cap);
    }
    s->buf = nb;
    s->buf_cap = cap;
    return nb;
}

/* ---- protobuf varints (little-endian base 128) ---- */

static size_t pb_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void pb_put_varint(ek_writer *w, uint64_t v)
{
    while (v >= 0x80) {
        ek_write_u8(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    ek_write_u8(w, (uint8_t)v);
}

static int pb_get_varint(ek_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        uint8_t b = 0;
        if (ek_read_u8(r, &b) != EK_OK)
            return r->err;
        x |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            if (pb_varint_len(x) != (size_t)shift / 7 + 1 || x > UINT32_MAX)
                return ek_reader_fail(r, EK_ERR_DECODE);
            *v = x;
            return EK_OK;
        }
    }
    return ek_reader_fail(r, EK_ERR_DECODE);
}

/* The v3 SignalMessage (type byte first, as ek_ratchet_open takes it). */
static size_t v3_len(uint32_t n, uint32_t pn, size_t ct_len)
{
    return 1 + 1 + 2 + 1 + U_LEN + 1 + pb_varint_len(n) + 1 + pb_varint_len(pn) + 1 +
           pb_varint_len(ct_len) + ct_len + MAC_LEN;
}

static void v3_write(ek_writer *w, const uint8_t u[U_LEN], uint32_t n, uint32_t pn,
                     const uint8_t *ct, size_t ct_len, const uint8_t mac[MAC_LEN])
{
    ek_write_u8(w, EK_RATCHET_MSG_SIGNAL);
    ek_write_u8(w, VERSION);
    ek_write_u8(w, PB_KEY_RATCHET);
    ek_write_u8(w, 1 + U_LEN);
    ek_write_u8(w, EK_RATCHET_KEY_TYPE);
    ek_write_bytes(w, u, U_LEN);
    ek_write_u8(w, PB_KEY_COUNTER);
    pb_put_varint(w, n);
    ek_write_u8(w, PB_KEY_PREVIOUS);
    pb_put_varint(w, pn);
    ek_write_u8(w, PB_KEY_CT);
    pb_put_varint(w, ct_len);
    ek_write_bytes(w, ct, ct_len);
    ek_write_bytes(w, mac, MAC_LEN);
}

/* Parse what ek_ratchet_seal wrote, accepting only the exact layout
 * v3_write produces (anything else travels RAW). */
typedef struct v3_parts {
    uint8_t u[U_LEN];
    uint32_t n, pn;
    size_t ct_off, ct_len;
    uint8_t mac[MAC_LEN];
} v3_parts;

static int v3_parse(v3_parts *p, const uint8_t *in, size_t len)
{
    ek_reader r;
    ek_reader_init(&r, in, len);
    uint8_t type = 0, ver = 0, k1 = 0, l1 = 0, kt = 0, k2 = 0, k3 = 0, k4 = 0;
    uint64_t n = 0, pn = 0, ct_len = 0;
    ek_read_u8(&r, &type);
    ek_read_u8(&r, &ver);
    ek_read_u8(&r, &k1);
    ek_read_u8(&r, &l1);
    ek_read_u8(&r, &kt);
    ek_read_bytes(&r, p->u, U_LEN);
    ek_read_u8(&r, &k2);
    pb_get_varint(&r, &n);
    ek_read_u8(&r, &k3);
    pb_get_varint(&r, &pn);
    ek_read_u8(&r, &k4);
    pb_get_varint(&r, &ct_len);
    if (r.err != EK_OK || type != EK_RATCHET_MSG_SIGNAL || ver != VERSION || k1 != PB_KEY_RATCHET ||
        l1 != 1 + U_LEN || kt != EK_RATCHET_KEY_TYPE || k2 != PB_KEY_COUNTER ||
        k3 != PB_KEY_PREVIOUS || k4 != PB_KEY_CT)
        return EK_ERR_DECODE;
    if (ek_reader_remaining(&r) != ct_len + MAC_LEN)
        return EK_ERR_DECODE;
    p->n = (uint32_t)n;
    p->pn = (uint32_t)pn;
    p->ct_off = r.pos;
    p->ct_len = (size_t)ct_len;
    memcpy(p->mac, in + r.pos + ct_len, MAC_LEN);
    return EK_OK;
}

/* ---- handshake ---- */

static int signal_hello(ek_layer *l, ek_writer *out, const ek_layer_hs *h)
{
    signal_layer *s = sg(l);
    s->role = h->role;
    /* Bob: one signed prekey made for this session, no one-time prekey
     * (the bundle is never reused, so it would add nothing). */
    int rc = ek_ratchet_prekeys_generate(&s->prekeys, &s->id, 1, 0, 0, h->rng);
    if (rc != EK_OK)
        return rc;
    ek_ratchet_bundle b;
    ek_ratchet_bundle_from_prekeys(&b, &s->id, &s->prekeys, 1);
    uint8_t *p = ek_write_reserve(out, EK_RATCHET_BUNDLE_MAX_LEN);
    if (p == NULL)
        return out->err;
    size_t n = 0;
    rc = ek_ratchet_bundle_encode(p, EK_RATCHET_BUNDLE_MAX_LEN, &n, &b);
    out->len -= EK_RATCHET_BUNDLE_MAX_LEN - n;
    if (rc != EK_OK)
        return rc;
    return ek_ratchet_session_new_responder(&s->session, s->base.alloc, s->base.rng, &s->id,
                                            &s->prekeys, NULL);
}

/* The associated data of the handshake's Signal messages. */
static void hs_ad(uint8_t ad[48], const char *what, const uint8_t *transcript)
{
    size_t n = strlen(what) < 16 ? strlen(what) : 16;
    memset(ad, 0, 16);
    for (size_t i = 0; i < n; i++)
        ad[i] = (uint8_t)what[i];
    memcpy(ad + 16, transcript, 32);
}

static int seal_material(signal_layer *s, ek_writer *out, const char *what, const ek_layer_hs *h)
{
    uint8_t ad[48];
    hs_ad(ad, what, h->transcript);
    size_t cap = ek_ratchet_encrypt_max_len(0) + 1;
    uint8_t *p = ek_write_reserve(out, cap);
    if (p == NULL)
        return out->err;
    size_t n = 0;
    int rc = ek_ratchet_seal(p, cap, &n, s->session, ad, sizeof(ad), NULL, 0);
    out->len -= cap - n;
    return rc;
}

static int open_material(signal_layer *s, const char *what, const uint8_t *in, size_t in_len,
                         const ek_layer_hs *h)
{
    uint8_t ad[48];
    hs_ad(ad, what, h->transcript);
    uint8_t *buf = scratch(s, in_len);
    if (buf == NULL)
        return EK_ERR_NOMEM;
    size_t n = 0;
    int rc = ek_ratchet_open(buf, s->buf_cap, &n, s->session, ad, sizeof(ad), in, in_len);
    if (rc == EK_OK && n != 0)
        rc = EK_ERR_DECODE;
    return rc;
}

static int signal_respond(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                          const ek_layer_hs *h)
{
    signal_layer *s = sg(l);
    s->role = h->role;
    ek_ratchet_bundle b;
    int rc = ek_ratchet_bundle_decode(&b, in, in_len);
    if (rc == EK_OK)
        rc = ek_ratchet_session_new_initiator(&s->session, s->base.alloc, s->base.rng, &s->id, &b);
    if (rc == EK_OK)
        rc = seal_material(s, out, "Signal response", h);
    return rc;
}

static int signal_finish(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                         const ek_layer_hs *h)
{
    signal_layer *s = sg(l);
    int rc = open_material(s, "Signal response", in, in_len, h);
    ek_wipe(&s->prekeys, sizeof(s->prekeys));
    if (rc == EK_OK)
        rc = seal_material(s, out, "Signal finish", h);
    return rc;
}

static int signal_complete(ek_layer *l, const uint8_t *in, size_t in_len, const ek_layer_hs *h)
{
    return open_material(sg(l), "Signal finish", in, in_len, h);
}

static int signal_established(ek_layer *l, const uint8_t session_id[32])
{
    (void)session_id;
    signal_layer *s = sg(l);
    if (s->session == NULL || !ek_ratchet_session_ready(s->session))
        return EK_ERR_STATE;
    s->established = 1;
    return EK_OK;
}

/* ---- messages ---- */

static size_t signal_overhead(const ek_layer *l, size_t pt_len)
{
    (void)l;
    size_t max = ek_ratchet_encrypt_max_len(pt_len);
    if (max == 0)
        return SIZE_MAX; /* over EK_RATCHET_MAX_PLAINTEXT: seal refuses it */
    return max + 2 - pt_len;
}

/* A chain's tag: 7 bits of its ratchet key, so that the receiver can check
 * the tag of a FULL message (the ratchet's MAC does not cover it). Two
 * chains may share a tag: a SHORT message is tried on each. */
static uint8_t chain_tag(const uint8_t u[U_LEN])
{
    return u[0] & 0x7f;
}

/* The sender's form for the message with ratchet header (u, n, pn) at seq,
 * and the chain it announces from then on (*next); changes nothing. */
static uint8_t choose_form(const signal_layer *s, const uint8_t u[U_LEN], uint32_t n, uint32_t pn,
                           uint64_t seq, chain_info *next)
{
    *next = s->send;
    if (!s->send.live || memcmp(s->send.u, u, U_LEN) != 0) {
        memset(next, 0, sizeof(*next));
        next->live = 1;
        memcpy(next->u, u, U_LEN);
        next->tag = chain_tag(u);
        next->base = seq - n;
        next->pn = pn;
        return FORM_FULL;
    }
    if (s->send.base != seq - n || s->send.pn != pn) {
        next->base = seq - n;
        next->pn = pn;
        return FORM_FULL;
    }
    if (s->force_full)
        return FORM_FULL;
    return n % EK_SIGNAL_FULL_PERIOD < 2 ? FORM_FULL : FORM_SHORT;
}

/* Adopt next as our sending chain (after a seal). */
static void adopt_send_chain(signal_layer *s, const chain_info *next, uint8_t form)
{
    if (s->send.live && memcmp(s->send.u, next->u, U_LEN) != 0) {
        memmove(&s->sent_before[1], &s->sent_before[0],
                (EK_SIGNAL_PEER_CHAINS - 1) * sizeof(chain_info));
        s->sent_before[0] = s->send;
    }
    s->send = *next;
    if (form == FORM_FULL)
        s->force_full = 0;
}

/*
 * The associated data of a message: the cascade's AD_i, then the layer's
 * own header bytes that the ratchet message does not hold: the form byte,
 * and for FULL the tag. So every byte on the wire is authenticated: the
 * ratchet's MAC covers u, N, PN and the ciphertext (through the v3 bytes
 * rebuilt around them) and, through this, the encoding that carried them
 * (docs/protocol.md §5.5).
 */
static size_t bound_ad(uint8_t ad[EK_CASCADE_MAX_AD + 4], const ek_layer_msg *m, uint8_t form,
                       uint8_t tag)
{
    size_t n = m->ad_len; /* at most EK_CASCADE_MAX_AD + 2: the callers checked */
    if (n > 0)
        memcpy(ad, m->ad, n);
    ad[n++] = form;
    if (form == FORM_FULL)
        ad[n++] = tag;
    return n;
}

static int signal_seal(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                       const ek_layer_msg *m, const uint8_t *pt, size_t pt_len)
{
    signal_layer *s = sg(l);
    if (!s->established)
        return EK_ERR_STATE;
    if (out_cap < 1)
        return EK_ERR_TOO_LARGE;
    if (m->ad_len > EK_CASCADE_MAX_AD + 2)
        return EK_ERR_INVALID_ARG;
    /* The form first: the associated data binds it. */
    uint8_t u[U_LEN];
    uint32_t n32 = 0, pn32 = 0;
    int type = 0;
    int rc = ratchet_next_header(s->session, u, &n32, &pn32, &type);
    if (rc != EK_OK)
        return rc;
    chain_info next;
    memset(&next, 0, sizeof(next));
    uint8_t form =
        type == EK_RATCHET_MSG_SIGNAL ? choose_form(s, u, n32, pn32, m->seq, &next) : FORM_RAW;
    uint8_t tag = form == FORM_RAW ? 0 : next.tag;
    uint8_t ad[EK_CASCADE_MAX_AD + 4];
    size_t ad_len = bound_ad(ad, m, form == FORM_SHORT ? (uint8_t)(FORM_SHORT | tag) : form, tag);
    size_t n = 0;
    rc = ek_ratchet_seal(out + 1, out_cap - 1, &n, s->session, ad, ad_len, pt, pt_len);
    if (rc != EK_OK)
        return rc;
    if (form == FORM_RAW) {
        out[0] = FORM_RAW;
        *out_len = n + 1;
        return EK_OK;
    }
    v3_parts p;
    if (v3_parse(&p, out + 1, n) != EK_OK || memcmp(p.u, u, U_LEN) != 0 || p.n != n32 ||
        p.pn != pn32) {
        ek_wipe(out, out_cap); /* the ratchet wrote what it announced it would not */
        return EK_ERR_CRYPTO;
    }
    adopt_send_chain(s, &next, form);
    /* Rewrite in place: the compact form is shorter and keeps the order. */
    ek_writer w;
    ek_writer_init_fixed(&w, out, out_cap);
    if (form == FORM_FULL) {
        ek_write_u8(&w, FORM_FULL);
        ek_write_u8(&w, tag);
        ek_write_bytes(&w, p.u, U_LEN);
        ek_varint_write(&w, p.n);
        ek_varint_write(&w, p.pn);
    } else {
        ek_write_u8(&w, (uint8_t)(FORM_SHORT | tag));
    }
    memmove(out + w.len, out + 1 + p.ct_off, p.ct_len);
    w.len += p.ct_len;
    ek_write_bytes(&w, p.mac, MAC_LEN);
    if (w.err != EK_OK)
        return w.err;
    *out_len = w.len;
    return EK_OK;
}

/* Open the rebuilt (or raw) v3 bytes (type byte first) into out through the
 * scratch, with associated data ad. The ratchet keeps the result aside
 * until signal_commit (or signal_rollback). */
static int open_v3(signal_layer *s, uint8_t *out, size_t out_cap, size_t *out_len,
                   const uint8_t *ad, size_t ad_len, const uint8_t *msg, size_t msg_len)
{
    if (msg_len < 1)
        return EK_ERR_DECODE;
    uint8_t *buf = s->buf;
    /* The scratch holds the message at its start; decrypt after it. */
    size_t off = msg == s->buf ? msg_len : 0;
    if (s->buf_cap < off + msg_len)
        return EK_ERR_NOMEM;
    size_t n = 0;
    int rc = ratchet_decrypt_prepare(buf + off, s->buf_cap - off, &n, s->session, msg[0], ad,
                                     ad_len, msg + 1, msg_len - 1);
    if (rc == EK_OK) {
        if (n > out_cap)
            rc = EK_ERR_TOO_LARGE;
        else {
            memcpy(out, buf + off, n);
            *out_len = n;
        }
    }
    if (rc != EK_OK)
        ratchet_decrypt_abort(s->session);
    ek_wipe(buf + off, msg_len);
    return rc;
}

/* Rebuild the v3 message of chain c, number n, around body (ct || mac) and
 * open it. */
static int open_in_chain(signal_layer *s, uint8_t *out, size_t out_cap, size_t *out_len,
                         const uint8_t *ad, size_t ad_len, const chain_info *c, uint32_t n,
                         const uint8_t *body, size_t body_len)
{
    if (body_len < EK_AES_CBC_BLOCK + MAC_LEN || (body_len - MAC_LEN) % EK_AES_CBC_BLOCK != 0)
        return EK_ERR_DECODE;
    size_t cbc_len = body_len - MAC_LEN;
    size_t len = v3_len(n, c->pn, cbc_len);
    uint8_t *buf = scratch(s, 2 * len);
    if (buf == NULL)
        return EK_ERR_NOMEM;
    ek_writer w;
    ek_writer_init_fixed(&w, buf, len);
    v3_write(&w, c->u, n, c->pn, body, cbc_len, body + cbc_len);
    if (w.err != EK_OK)
        return w.err;
    return open_v3(s, out, out_cap, out_len, ad, ad_len, buf, len);
}

static int signal_open(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                       const ek_layer_msg *m, const uint8_t *ct, size_t ct_len)
{
    signal_layer *s = sg(l);
    s->pending = 0;
    ratchet_decrypt_abort(s->session);
    if (!s->established)
        return EK_ERR_STATE;
    if (ct_len < 1)
        return EK_ERR_DECODE;
    if (m->ad_len > EK_CASCADE_MAX_AD + 2)
        return EK_ERR_INVALID_ARG;
    uint8_t ad[EK_CASCADE_MAX_AD + 4];
    uint8_t form = ct[0];
    if (form == FORM_RAW) {
        if (scratch(s, ct_len) == NULL)
            return EK_ERR_NOMEM;
        size_t ad_len = bound_ad(ad, m, FORM_RAW, 0);
        return open_v3(s, out, out_cap, out_len, ad, ad_len, ct + 1, ct_len - 1);
    }
    if (form == FORM_FULL) {
        chain_info c;
        memset(&c, 0, sizeof(c));
        ek_reader r;
        ek_reader_init(&r, ct + 1, ct_len - 1);
        uint64_t n64 = 0, pn64 = 0;
        ek_read_u8(&r, &c.tag);
        ek_read_bytes(&r, c.u, U_LEN);
        ek_varint_read(&r, &n64);
        ek_varint_read(&r, &pn64);
        if (r.err != EK_OK || n64 > UINT32_MAX || pn64 > UINT32_MAX)
            return EK_ERR_DECODE;
        if (c.tag != chain_tag(c.u))
            return EK_ERR_AUTH; /* a tag not of this chain: altered */
        c.live = 1;
        c.pn = (uint32_t)pn64;
        c.base = m->seq - n64;
        size_t ad_len = bound_ad(ad, m, FORM_FULL, c.tag);
        int rc = open_in_chain(s, out, out_cap, out_len, ad, ad_len, &c, (uint32_t)n64,
                               ct + 1 + r.pos, ek_reader_remaining(&r));
        if (rc == EK_OK) {
            s->pending = 1;
            s->pend = c;
        }
        return rc;
    }
    if ((form & FORM_SHORT) == 0)
        return EK_ERR_DECODE;
    /* SHORT: each known chain with the tag, most recent first. */
    if (ct_len - 1 < EK_AES_CBC_BLOCK + MAC_LEN || (ct_len - 1 - MAC_LEN) % EK_AES_CBC_BLOCK != 0)
        return EK_ERR_DECODE;
    uint8_t tag = form & 0x7f;
    size_t ad_len = bound_ad(ad, m, form, tag);
    for (int i = 0; i < EK_SIGNAL_PEER_CHAINS; i++) {
        const chain_info *k = &s->peer[i];
        if (!k->live || k->tag != tag)
            continue;
        if (m->seq - k->base > UINT32_MAX) /* modulo 2^64, like base */
            continue;
        int rc = open_in_chain(s, out, out_cap, out_len, ad, ad_len, k,
                               (uint32_t)(m->seq - k->base), ct + 1, ct_len - 1);
        if (rc == EK_OK || rc == EK_ERR_NOMEM || rc == EK_ERR_TOO_LARGE)
            return rc;
    }
    /* No known chain opens it: its own chain's FULL messages have not
     * arrived (the chains we know with this tag are others). The engine
     * keeps the frame; ask the sender (once a second) to announce it. */
    if (s->asked_tag != tag + 1 || m->now_ms >= s->asked_ms + 1000)
        s->want_tag = tag + 1;
    return EK_ERR_STATE;
}

/* Learn (or refresh) a chain of the peer; the most recent goes first. */
static void learn_chain(signal_layer *s, const chain_info *c)
{
    int at = EK_SIGNAL_PEER_CHAINS - 1;
    for (int i = 0; i < EK_SIGNAL_PEER_CHAINS; i++) {
        if (s->peer[i].live && memcmp(s->peer[i].u, c->u, U_LEN) == 0) {
            at = i;
            break;
        }
    }
    memmove(&s->peer[1], &s->peer[0], (size_t)at * sizeof(chain_info));
    s->peer[0] = *c;
    if (s->asked_tag == c->tag + 1)
        s->asked_tag = 0;
}

static void signal_commit(ek_layer *l)
{
    signal_layer *s = sg(l);
    ratchet_decrypt_commit(s->session);
    if (!s->pending)
        return;
    s->pending = 0;
    learn_chain(s, &s->pend);
    ek_wipe(&s->pend, sizeof(s->pend));
}

/* ---- control: signal-chain-request, signal-chain-announce ---- */

/* Our chain at position i: 0 the current one, 1 + k sent_before[k]. */
static const chain_info *own_chain(const signal_layer *s, int i)
{
    return i == 0 ? &s->send : &s->sent_before[i - 1];
}

static int signal_poll_control(ek_layer *l, ek_layer_control *out, uint64_t now_ms)
{
    signal_layer *s = sg(l);
    if (!s->established)
        return 0;
    memset(out, 0, sizeof(*out));
    for (int i = 0; s->announce_mask != 0 && i <= EK_SIGNAL_PEER_CHAINS; i++) {
        if ((s->announce_mask >> i & 1) == 0)
            continue;
        s->announce_mask &= (uint16_t) ~(1u << i);
        const chain_info *c = own_chain(s, i);
        if (!c->live)
            continue;
        /* What a FULL message of the chain says: u, PN and seq - N. */
        ek_writer w;
        ek_writer_init_fixed(&w, s->announce_data, sizeof(s->announce_data));
        ek_write_bytes(&w, c->u, U_LEN);
        ek_write_u32(&w, c->pn);
        ek_write_u64(&w, c->base);
        out->type = "signal-chain-announce";
        out->epoch = c->tag;
        out->timestamp = now_ms;
        out->data = s->announce_data;
        out->data_len = w.len;
        return w.err == EK_OK ? 1 : w.err;
    }
    if (s->want_tag == 0)
        return 0;
    out->type = "signal-chain-request";
    out->epoch = (uint64_t)(s->want_tag - 1);
    out->timestamp = now_ms;
    s->asked_tag = s->want_tag;
    s->asked_ms = now_ms;
    s->want_tag = 0;
    return 1;
}

static int signal_control(ek_layer *l, const ek_layer_control *in, uint64_t now_ms)
{
    (void)now_ms;
    signal_layer *s = sg(l);
    if (!s->established || in->epoch > 0x7f)
        return EK_ERR_DECODE;
    uint8_t tag = (uint8_t)in->epoch;
    if (strcmp(in->type, "signal-chain-announce") == 0) {
        /* Authenticated by every layer like any message, and the ratchet's
         * MAC still checks each message rebuilt from it. */
        if (in->data_len != sizeof(s->announce_data))
            return EK_ERR_DECODE;
        ek_reader r;
        ek_reader_init(&r, in->data, in->data_len);
        chain_info c;
        memset(&c, 0, sizeof(c));
        c.live = 1;
        c.tag = tag;
        ek_read_bytes(&r, c.u, U_LEN);
        ek_read_u32(&r, &c.pn);
        ek_read_u64(&r, &c.base);
        if (ek_reader_finish(&r) != EK_OK)
            return EK_ERR_DECODE;
        if (c.tag != chain_tag(c.u))
            return EK_ERR_DECODE;
        learn_chain(s, &c);
        return EK_OK;
    }
    if (strcmp(in->type, "signal-chain-request") != 0 || in->data_len != 0)
        return EK_ERR_DECODE;
    for (int i = 0; i <= EK_SIGNAL_PEER_CHAINS; i++) {
        if (own_chain(s, i)->live && own_chain(s, i)->tag == tag)
            s->announce_mask |= (uint16_t)(1u << i);
    }
    if (s->send.live && s->send.tag == tag)
        s->force_full = 1;
    return EK_OK;
}

/* An inner layer failed: the ratchet forgets the open it kept aside, so
 * the same bytes open again (ek_cascade.h, docs/protocol.md §5.3). */
static void signal_rollback(ek_layer *l)
{
    signal_layer *s = sg(l);
    ratchet_decrypt_abort(s->session);
    s->pending = 0;
    ek_wipe(&s->pend, sizeof(s->pend));
}

/* ---- state ---- */

static void save_chain(ek_writer *w, const chain_info *c)
{
    ek_write_u8(w, (uint8_t)c->live);
    ek_write_u8(w, c->tag);
    ek_write_bytes(w, c->u, U_LEN);
    ek_write_u64(w, c->base);
    ek_write_u32(w, c->pn);
}

static void restore_chain(ek_reader *r, chain_info *c)
{
    uint8_t live = 0;
    ek_read_u8(r, &live);
    ek_read_u8(r, &c->tag);
    ek_read_bytes(r, c->u, U_LEN);
    ek_read_u64(r, &c->base);
    ek_read_u32(r, &c->pn);
    if (r->err == EK_OK && (live > 1 || c->tag > 0x7f))
        ek_reader_fail(r, EK_ERR_DECODE);
    c->live = live;
}

static int signal_save(const ek_layer *l, ek_writer *w)
{
    const signal_layer *s = (const signal_layer *)l;
    if (!s->established)
        return EK_ERR_STATE;
    ek_state_begin(w, "EKSG", 1);
    ek_write_u8(w, (uint8_t)s->role);
    ek_write_u8(w, (uint8_t)s->force_full);
    ek_write_u8(w, (uint8_t)s->want_tag);
    ek_write_u8(w, (uint8_t)s->asked_tag);
    ek_write_u16(w, s->announce_mask);
    save_chain(w, &s->send);
    for (int i = 0; i < EK_SIGNAL_PEER_CHAINS; i++)
        save_chain(w, &s->peer[i]);
    for (int i = 0; i < EK_SIGNAL_PEER_CHAINS; i++)
        save_chain(w, &s->sent_before[i]);
    size_t n = ek_ratchet_session_saved_len(s->session);
    ek_write_u32(w, (uint32_t)n);
    uint8_t *p = ek_write_reserve(w, n);
    if (p == NULL)
        return w->err;
    size_t got = 0;
    int rc = ek_ratchet_session_save(p, n, &got, s->session);
    if (rc == EK_OK && got != n)
        rc = EK_ERR_STATE;
    return rc;
}

static int signal_restore(ek_layer *l, const uint8_t *in, size_t in_len)
{
    signal_layer *s = sg(l);
    ek_reader r;
    ek_reader_init(&r, in, in_len);
    uint8_t role = 0;
    uint32_t n = 0;
    const uint8_t *sess = NULL;
    uint8_t force = 0, want = 0, asked = 0;
    uint16_t announce = 0;
    ek_state_check(&r, "EKSG", 1);
    ek_read_u8(&r, &role);
    ek_read_u8(&r, &force);
    ek_read_u8(&r, &want);
    ek_read_u8(&r, &asked);
    ek_read_u16(&r, &announce);
    restore_chain(&r, &s->send);
    for (int i = 0; i < EK_SIGNAL_PEER_CHAINS; i++)
        restore_chain(&r, &s->peer[i]);
    for (int i = 0; i < EK_SIGNAL_PEER_CHAINS; i++)
        restore_chain(&r, &s->sent_before[i]);
    ek_read_u32(&r, &n);
    ek_read_view(&r, &sess, n);
    int rc = ek_reader_finish(&r);
    if (rc == EK_OK &&
        ((role != EK_ROLE_INITIATOR && role != EK_ROLE_RESPONDER) || force > 1 || want > 0x80 ||
         asked > 0x80 || announce >= 1u << (EK_SIGNAL_PEER_CHAINS + 1)))
        rc = EK_ERR_DECODE;
    if (rc == EK_OK)
        rc = ek_ratchet_session_restore(&s->session, s->base.alloc, s->base.rng, sess, n);
    if (rc == EK_OK && !ek_ratchet_session_ready(s->session))
        rc = EK_ERR_DECODE;
    if (rc != EK_OK)
        return rc;
    s->role = role;
    s->force_full = force;
    s->announce_mask = announce;
    s->want_tag = want;
    s->asked_tag = asked;
    s->established = 1;
    return EK_OK;
}

static void signal_free(ek_layer *l)
{
    signal_layer *s = sg(l);
    const ek_allocator *a = l->alloc;
    ek_ratchet_session_free(s->session);
    if (s->buf != NULL) {
        ek_wipe(s->buf, s->buf_cap);
        ek_free(a, s->buf, s->buf_cap);
    }
    ek_wipe(s, sizeof(*s));
    ek_free(a, s, sizeof(*s));
}

static const ek_layer_ops signal_ops = {
    .name = "Signal",
    .hello = signal_hello,
    .respond = signal_respond,
    .finish = signal_finish,
    .complete = signal_complete,
    /* no binder: confirmed by the MACs of its own handshake messages */
    .established = signal_established,
    .overhead = signal_overhead,
    .seal = signal_seal,
    .open = signal_open,
    .commit = signal_commit,
    .rollback = signal_rollback,
    .poll_control = signal_poll_control,
    .control = signal_control,
    .save = signal_save,
    .restore = signal_restore,
    .free = signal_free,
};

int ek_layer_signal_new(ek_layer **out, const ek_allocator *a, const ek_rng *rng,
                        const ek_ratchet_identity *id)
{
    if (out == NULL || id == NULL)
        return EK_ERR_INVALID_ARG;
    signal_layer *s = ek_alloc(a, sizeof(*s));
    if (s == NULL)
        return EK_ERR_NOMEM;
    memset(s, 0, sizeof(*s));
    s->base.ops = &signal_ops;
    s->base.alloc = a;
    s->base.rng = rng;
    s->id = *id;
    *out = &s->base;
    return EK_OK;
}
