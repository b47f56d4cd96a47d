/*
 * state.c: saving and restoring a session (docs/protocol.md §9.3), for the
 * vault. A fixed layout, integers big-endian, written with ek_writer and
 * read back strictly with ek_reader:
 *
 *   "EKSS" || format 2 || role || n || n names (u8 len, bytes) ||
 *   own identity (32) || peer identity (32) || session id (32) ||
 *   resume key (32) || handle (16) || chunk keys (send, receive: 32 each) ||
 *   traffic id (32) || send seq (u64) || recv top (u64) ||
 *   replay window (EK_REPLAY_WINDOW / 8) ||
 *   n layer states (u32 len, the layer's own saved bytes)
 *
 * (Format 1, without the traffic id, is still read: its traffic id is the
 * session id.) The bytes hold every secret of the session. A restored
 * session is Disconnected: ek_session_start sends resume, which re-keys
 * (docs/protocol.md §4.6), so even a state older than what went on the wire
 * never reuses a key and nonce. The restored session is pinned to its peer:
 * a fresh handshake beside it must complete with the same identity.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "proto/session_internal.h"

int ek_session_save(const ek_session *s, uint8_t **out, size_t *len, size_t *cap)
{
    if (s == NULL || out == NULL || len == NULL || cap == NULL)
        return EK_ERR_INVALID_ARG;
    if (s->step != HS_DONE || (s->state != EK_STATE_READY && s->state != EK_STATE_DISCONNECTED &&
                               s->state != EK_STATE_RESUMING && s->shadow == NULL))
        return EK_ERR_STATE;
    ek_writer w;
    ek_writer_init_growable(&w, s->alloc);
    ek_write_bytes(&w, "EKSS", 4);
    ek_write_u8(&w, 2);
    ek_write_u8(&w, (uint8_t)s->role);
    ek_write_u8(&w, (uint8_t)s->n_layers);
    for (size_t k = 0; k < s->n_layers; k++) {
        size_t n = strlen(s->layer_names[k]);
        ek_write_u8(&w, (uint8_t)n);
        ek_write_bytes(&w, s->layer_names[k], n);
    }
    ek_write_bytes(&w, s->id_pub, 32);
    ek_write_bytes(&w, s->peer_id, 32);
    ek_write_bytes(&w, s->session_id, 32);
    ek_write_bytes(&w, s->resume_key, 32);
    ek_write_bytes(&w, s->handle, 16);
    ek_write_bytes(&w, s->chunk_key_send, 32);
    ek_write_bytes(&w, s->chunk_key_recv, 32);
    ek_write_bytes(&w, s->traffic_id, 32);
    ek_write_u64(&w, s->send_seq);
    ek_write_u64(&w, s->recv_top);
    ek_write_bytes(&w, s->window, sizeof(s->window));
    int rc = EK_OK;
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        size_t at = w.len;
        ek_write_u32(&w, 0);
        rc = l->ops->save(l, &w);
        if (rc == EK_OK && w.err == EK_OK) {
            uint32_t n = (uint32_t)(w.len - at - 4);
            w.buf[at] = (uint8_t)(n >> 24);
            w.buf[at + 1] = (uint8_t)(n >> 16);
            w.buf[at + 2] = (uint8_t)(n >> 8);
            w.buf[at + 3] = (uint8_t)n;
        }
    }
    if (rc == EK_OK)
        rc = ek_writer_take(&w, out, len, cap);
    ek_writer_dispose(&w);
    return rc;
}

static int restore_into(ek_session *s, const uint8_t *in, size_t in_len)
{
    ek_reader r;
    ek_reader_init(&r, in, in_len);
    uint8_t magic[4], format = 0, role = 0, n = 0;
    ek_read_bytes(&r, magic, 4);
    ek_read_u8(&r, &format);
    ek_read_u8(&r, &role);
    ek_read_u8(&r, &n);
    if (r.err != EK_OK || memcmp(magic, "EKSS", 4) != 0 || (format != 1 && format != 2) ||
        (role != EK_ROLE_INITIATOR && role != EK_ROLE_RESPONDER) || n != s->n_layers)
        return EK_ERR_DECODE;
    for (size_t k = 0; k < n; k++) {
        uint8_t len = 0;
        const uint8_t *name = NULL;
        ek_read_u8(&r, &len);
        ek_read_view(&r, &name, len);
        if (r.err != EK_OK || len != strlen(s->layer_names[k]) ||
            memcmp(name, s->layer_names[k], len) != 0)
            return EK_ERR_DECODE; /* saved with another cascade */
    }
    uint8_t own[32];
    ek_read_bytes(&r, own, 32);
    ek_read_bytes(&r, s->peer_id, 32);
    ek_read_bytes(&r, s->session_id, 32);
    ek_read_bytes(&r, s->resume_key, 32);
    ek_read_bytes(&r, s->handle, 16);
    ek_read_bytes(&r, s->chunk_key_send, 32);
    ek_read_bytes(&r, s->chunk_key_recv, 32);
    if (format >= 2)
        ek_read_bytes(&r, s->traffic_id, 32);
    else
        memcpy(s->traffic_id, s->session_id, 32);
    ek_read_u64(&r, &s->send_seq);
    ek_read_u64(&r, &s->recv_top);
    ek_read_bytes(&r, s->window, sizeof(s->window));
    if (r.err != EK_OK)
        return EK_ERR_DECODE;
    if (!ek_ct_equal(own, s->id_pub, 32))
        return EK_ERR_AUTH; /* another identity's session */
    if (s->have_expected && !ek_ct_equal(s->peer_id, s->expected_peer, 32))
        return EK_ERR_AUTH;
    /* Pinned to the saved peer from now on (see the top). */
    s->have_expected = 1;
    memcpy(s->expected_peer, s->peer_id, 32);
    int rc = session_make_cascade(s);
    for (size_t k = 0; k < n && rc == EK_OK; k++) {
        uint32_t len = 0;
        const uint8_t *blob = NULL;
        ek_read_u32(&r, &len);
        ek_read_view(&r, &blob, len);
        if (r.err != EK_OK)
            return EK_ERR_DECODE;
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        rc = l->ops->restore(l, blob, len);
    }
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    if (rc != EK_OK)
        return rc;
    s->role = role;
    s->have_peer = 1;
    s->step = HS_DONE;
    s->state = EK_STATE_DISCONNECTED;
    return EK_OK;
}

int ek_session_restore(ek_session **out, const ek_identity *id, const ek_session_config *cfg,
                       const uint8_t *in, size_t len)
{
    if (out == NULL || (in == NULL && len > 0))
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    ek_session *s = NULL;
    int rc = ek_session_new(&s, id, cfg);
    if (rc != EK_OK)
        return rc;
    rc = restore_into(s, in, len);
    if (rc != EK_OK) {
        ek_session_free(s);
        return rc;
    }
    *out = s;
    return EK_OK;
}
