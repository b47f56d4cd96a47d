/*
 * message.c: messages after the handshake (docs/protocol.md §5.1, §6):
 * sealing an inner plaintext into a message frame (cut into chunk frames
 * when it exceeds the frame size), opening a message frame, and handing
 * its plaintext to the application (envelopes, file chunks) or to the
 * layers (control PDUs). Also the layers' control messages going out, and
 * the frames kept for later (a Signal chain not learnt yet).
 *
 * Every frame's associated data is
 *   "enkrypt 1.0 msg" || traffic_id || direction || frame header
 * (direction 0 initiator-to-responder, 1 the other way; traffic_id is the
 * session id, renewed by each resumption), so each layer binds the frame
 * to this session since its last resumption, this direction and this
 * sequence number.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "cascade/cascade_internal.h"
#include "proto/session_internal.h"

#define AD_LABEL "enkrypt 1.0 msg"

static size_t make_ad(uint8_t ad[EK_CASCADE_MAX_AD], const ek_session *s, int outgoing,
                      const uint8_t *hdr, size_t hdr_len)
{
    size_t n = sizeof(AD_LABEL) - 1;
    memcpy(ad, AD_LABEL, n);
    memcpy(ad + n, s->traffic_id, 32);
    n += 32;
    int initiator_sends = (s->role == EK_ROLE_INITIATOR) == (outgoing != 0);
    ad[n++] = initiator_sends ? 0 : 1;
    memcpy(ad + n, hdr, hdr_len);
    return n + hdr_len;
}

/* ---- sending ---- */

static int queue_chunks(ek_session *s, const uint8_t *f, size_t len, uint64_t seq)
{
    size_t count = 0;
    int rc = frame_chunk_count(len, seq, s->frame_bytes, &count);
    if (rc != EK_OK)
        return rc;
    if (count > EK_MAX_QUEUED_FRAMES - s->fq_count)
        return EK_ERR_LIMIT;
    uint8_t chunk[EK_FRAME_BYTES_MAX];
    for (size_t i = 0; i < count && rc == EK_OK; i++) {
        ek_writer w;
        ek_writer_init_fixed(&w, chunk, sizeof(chunk));
        rc = frame_chunk_write(&w, f, len, seq, s->frame_bytes, i, s->chunk_key_send);
        if (rc == EK_OK)
            rc = queue_frame(s, chunk, w.len, 1);
    }
    return rc;
}

int msg_send_inner(ek_session *s, const uint8_t *pt, size_t len, uint64_t now_ms)
{
    if (s->state != EK_STATE_READY)
        return EK_ERR_STATE;
    if (len > EK_MAX_MESSAGE_BYTES)
        return EK_ERR_TOO_LARGE;
    size_t sealed_max = ek_cascade_sealed_max(s->cascade, len);
    if (sealed_max >= SIZE_MAX - 16)
        return EK_ERR_TOO_LARGE; /* a layer cannot take it */
    if (s->send_seq >= EK_VARINT_MAX)
        return EK_ERR_LIMIT;
    uint64_t seq = s->send_seq++;
    uint8_t hdr[16];
    ek_writer hw;
    ek_writer_init_fixed(&hw, hdr, sizeof(hdr));
    frame_message_header(&hw, seq);
    size_t max = hw.len + sealed_max;
    uint8_t *buf = session_scratch(s, max);
    if (buf == NULL)
        return EK_ERR_NOMEM;
    memcpy(buf, hdr, hw.len);
    uint8_t ad[EK_CASCADE_MAX_AD];
    ek_layer_msg m = {seq, 1, ad, make_ad(ad, s, 1, hdr, hw.len), now_ms};
    size_t sealed = 0;
    int rc = ek_cascade_seal(s->cascade, buf + hw.len, max - hw.len, &sealed, &m, pt, len);
    if (rc != EK_OK)
        return rc;
    size_t flen = hw.len + sealed;
    if (flen <= s->frame_bytes)
        rc = queue_frame(s, buf, flen, 1);
    else
        rc = queue_chunks(s, buf, flen, seq);
    if (rc == EK_OK)
        s->stats.messages_out++;
    return rc;
}

/* Send one control PDU for layer (built before sealing: the layer's data
 * may change once the cascade runs). */
static int send_control(ek_session *s, const ek_layer *l, const ek_layer_control *c,
                        uint64_t now_ms)
{
    ek_pdu_builder *b = NULL;
    ek_writer w;
    ek_writer_init_growable(&w, s->alloc);
    const char *name = ek_layer_name(l);
    int rc = ek_pdu_build_begin(&b, c->type);
    if (rc == EK_OK)
        rc = ek_pdu_add_string(b, "layer", name, strlen(name));
    if (rc == EK_OK)
        rc = ek_pdu_add_int(b, "epoch", (int64_t)c->epoch);
    if (rc == EK_OK)
        rc = ek_pdu_add_int(b, "timestamp", (int64_t)c->timestamp);
    if (rc == EK_OK && c->data_len > 0)
        rc = ek_pdu_add_bytes(b, "data", c->data, c->data_len);
    if (rc == EK_OK)
        rc = ek_pdu_build_finish(b, &w);
    ek_pdu_build_free(b);
    if (rc == EK_OK)
        rc = msg_send_inner(s, w.buf, w.len, now_ms);
    ek_writer_dispose(&w);
    return rc;
}

int msg_pump_controls(ek_session *s, uint64_t now_ms)
{
    if (s->state != EK_STATE_READY || s->cascade == NULL)
        return EK_OK;
    for (size_t k = 0; k < ek_cascade_layer_count(s->cascade); k++) {
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        if (l->ops->poll_control == NULL)
            continue;
        for (int i = 0; i < 4; i++) {
            ek_layer_control c;
            int rc = l->ops->poll_control(l, &c, now_ms);
            if (rc == EK_ERR_NOMEM)
                return rc;
            if (rc < 0) {
                /* The layer gave up (an ML-KEM re-key never acknowledged,
                 * docs/protocol.md §5.6): so does the session. */
                const char *code = rc == EK_ERR_LIMIT ? "rekey-stalled" : "internal";
                send_protocol_error(s, code, 1, now_ms);
                session_fail(s, rc, code, now_ms);
                return EK_OK;
            }
            if (rc == 0)
                break;
            rc = send_control(s, l, &c, now_ms);
            if (rc != EK_OK)
                return rc;
        }
    }
    return EK_OK;
}

/* ---- receiving ---- */

static void drop(ek_session *s, uint64_t *counter, const char *code, uint64_t now_ms)
{
    (*counter)++;
    send_protocol_error(s, code, 0, now_ms);
}

static int on_control(ek_session *s, const ek_pdu *p, uint64_t now_ms)
{
    if (strcmp(ek_pdu_type(p), "close") == 0) {
        ek_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = EK_EVENT_CLOSED;
        s->state = EK_STATE_CLOSED;
        return queue_event(s, &ev, NULL, 0);
    }
    const char *name;
    size_t n;
    int64_t epoch = 0, ts = 0;
    if (ek_pdu_string(p, "layer", &name, &n) != EK_OK || ek_pdu_int(p, "epoch", &epoch) != EK_OK ||
        ek_pdu_int(p, "timestamp", &ts) != EK_OK)
        return EK_ERR_DECODE;
    ek_layer *l = NULL;
    for (size_t k = 0; k < ek_cascade_layer_count(s->cascade); k++) {
        ek_layer *c = ek_cascade_layer(s->cascade, k);
        if (strlen(ek_layer_name(c)) == n && memcmp(ek_layer_name(c), name, n) == 0)
            l = c;
    }
    if (l == NULL || l->ops->control == NULL)
        return EK_ERR_DECODE;
    uint8_t data[2048];
    size_t dlen = 0;
    if (ek_pdu_has(p, "data") && ek_pdu_bytes(p, "data", data, sizeof(data), &dlen) != EK_OK)
        return EK_ERR_DECODE;
    ek_layer_control c = {ek_pdu_type(p), (uint64_t)epoch, (uint64_t)ts, data, dlen};
    return l->ops->control(l, &c, now_ms);
}

/* The plaintext of an opened frame. */
static void dispatch(ek_session *s, const uint8_t *pt, size_t len, uint64_t seq, uint64_t now_ms)
{
    ek_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.seq = seq;
    if (len >= 1 && pt[0] == '{') {
        ek_pdu *p = NULL;
        if (ek_pdu_parse(&p, pt, len, EK_PDU_INNER) != EK_OK) {
            drop(s, &s->stats.dropped_malformed, "malformed", now_ms);
            return;
        }
        if (pdu_kind_of(p) == PK_APP) {
            ev.type = EK_EVENT_MESSAGE;
            ev.pdu_type = ek_pdu_type(p);
            if (queue_event(s, &ev, pt, len) != EK_OK)
                s->stats.dropped_limit++;
        } else if (on_control(s, p, now_ms) != EK_OK)
            drop(s, &s->stats.dropped_malformed, "malformed", now_ms);
        ek_pdu_free(p);
        return;
    }
    if (len >= 1 + 16 + 4 && pt[0] == INNER_FILE_CHUNK) {
        ev.type = EK_EVENT_FILE_CHUNK;
        memcpy(ev.transfer, pt + 1, 16);
        ev.chunk_index =
            (uint32_t)pt[17] << 24 | (uint32_t)pt[18] << 16 | (uint32_t)pt[19] << 8 | pt[20];
        if (queue_event(s, &ev, pt + 21, len - 21) != EK_OK)
            s->stats.dropped_limit++;
        return;
    }
    drop(s, &s->stats.dropped_malformed, "malformed", now_ms);
}

static void defer_frame(ek_session *s, const uint8_t *f, size_t len, uint64_t now_ms)
{
    if (s->n_defer >= EK_MAX_DEFERRED_FRAMES) {
        s->stats.dropped_state++;
        return;
    }
    uint8_t *copy = ek_alloc(s->alloc, len);
    if (copy == NULL) {
        s->stats.dropped_limit++;
        return;
    }
    memcpy(copy, f, len);
    s->defer[s->n_defer].frame = copy;
    s->defer[s->n_defer].len = len;
    s->defer[s->n_defer].since_ms = now_ms;
    s->n_defer++;
    s->stats.deferred++;
}

static int open_frame(ek_session *s, const uint8_t *f, size_t len, uint64_t now_ms, int retry)
{
    uint64_t seq = 0;
    size_t hdr = 0;
    if (frame_parse_message(f, len, &seq, &hdr) != EK_OK) {
        drop(s, &s->stats.dropped_malformed, "malformed", now_ms);
        return EK_ERR_DECODE;
    }
    if (replay_check(s, seq) != EK_OK) {
        drop(s, &s->stats.dropped_replay, "replay", now_ms);
        return EK_ERR_AUTH;
    }
    uint8_t *pt = session_scratch(s, len);
    if (pt == NULL)
        return EK_ERR_NOMEM;
    uint8_t ad[EK_CASCADE_MAX_AD];
    ek_layer_msg m = {seq, 0, ad, make_ad(ad, s, 0, f, hdr), now_ms};
    size_t n = 0;
    int rc = ek_cascade_open(s->cascade, pt, s->buf_cap, &n, &m, f + hdr, len - hdr);
    if (rc == EK_ERR_STATE) {
        if (!retry)
            defer_frame(s, f, len, now_ms);
        return rc;
    }
    if (rc != EK_OK) {
        drop(s, &s->stats.dropped_decrypt, "decrypt-failed", now_ms);
        return rc;
    }
    replay_mark(s, seq);
    s->stats.messages_in++;
    dispatch(s, pt, n, seq, now_ms);
    ek_wipe(pt, n);
    return EK_OK;
}

int msg_on_message_frame(ek_session *s, const uint8_t *f, size_t len, uint64_t now_ms)
{
    int rc = open_frame(s, f, len, now_ms, 0);
    if (rc == EK_OK && s->n_defer > 0)
        msg_retry_deferred(s, now_ms);
    return rc == EK_ERR_NOMEM ? rc : EK_OK;
}

/* Retry kept frames until a pass opens none. */
void msg_retry_deferred(ek_session *s, uint64_t now_ms)
{
    int progress = 1;
    while (progress && s->n_defer > 0 && s->state == EK_STATE_READY) {
        progress = 0;
        for (size_t i = 0; i < s->n_defer;) {
            int rc = open_frame(s, s->defer[i].frame, s->defer[i].len, now_ms, 1);
            if (rc == EK_ERR_STATE) {
                i++;
                continue;
            }
            if (rc == EK_OK)
                progress = 1;
            ek_wipe(s->defer[i].frame, s->defer[i].len);
            ek_free(s->alloc, s->defer[i].frame, s->defer[i].len);
            memmove(&s->defer[i], &s->defer[i + 1], (s->n_defer - i - 1) * sizeof(deferred));
            s->n_defer--;
        }
    }
}

void msg_expire_deferred(ek_session *s, uint64_t now_ms)
{
    for (size_t i = 0; i < s->n_defer;) {
        if (now_ms < s->defer[i].since_ms + EK_DEFERRED_MS) {
            i++;
            continue;
        }
        s->stats.dropped_state++;
        ek_free(s->alloc, s->defer[i].frame, s->defer[i].len);
        memmove(&s->defer[i], &s->defer[i + 1], (s->n_defer - i - 1) * sizeof(deferred));
        s->n_defer--;
    }
}

void msg_free_deferred(ek_session *s)
{
    for (size_t i = 0; i < s->n_defer; i++) {
        ek_wipe(s->defer[i].frame, s->defer[i].len);
        ek_free(s->alloc, s->defer[i].frame, s->defer[i].len);
    }
    s->n_defer = 0;
}
