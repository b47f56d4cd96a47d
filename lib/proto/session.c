/*
 * session.c: the engine's entry points and its two state machines
 * (docs/protocol.md §9): the connection states of ek_session_state and the
 * handshake steps of hs_step. Frames in are classified here (text: a JSON
 * PDU; binary: a message or chunk frame) and handed to the handshake,
 * the message path or the reassembly; nothing here touches a key.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "proto/session_internal.h"

static const char *const default_layers[] = {"MLS", "Signal", "ML-KEM", "AES"};

/* ---- life cycle ---- */

static int known_layer(const char *name)
{
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(name, default_layers[i]) == 0)
            return 1;
    }
    return 0;
}

static int configure(ek_session *s, const ek_identity *id, const ek_session_config *cfg)
{
    if (cfg->role != EK_ROLE_INITIATOR && cfg->role != EK_ROLE_RESPONDER)
        return EK_ERR_INVALID_ARG;
    const char *const *names = cfg->layers != NULL ? cfg->layers : default_layers;
    size_t n = cfg->layers != NULL ? cfg->n_layers : 4;
    if (n == 0 || n > EK_CASCADE_MAX_LAYERS)
        return EK_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        if (names[i] == NULL || !known_layer(names[i]))
            return EK_ERR_UNSUPPORTED;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[i], names[j]) == 0)
                return EK_ERR_INVALID_ARG;
        }
        memcpy(s->layer_names[i], names[i], strlen(names[i]) + 1); /* known: <= 6 bytes */
    }
    s->n_layers = n;
    s->role = cfg->role;
    if (cfg->expected_peer != NULL) {
        s->have_expected = 1;
        memcpy(s->expected_peer, cfg->expected_peer, 32);
    }
    s->stall_ms = cfg->handshake_stall_ms != 0 ? cfg->handshake_stall_ms : EK_HANDSHAKE_STALL_MS;
    s->reassembly_ms = cfg->reassembly_ms != 0 ? cfg->reassembly_ms : EK_CHUNK_REASSEMBLY_MS;
    s->frame_bytes = cfg->frame_bytes != 0 ? cfg->frame_bytes : EK_FRAME_BYTES_DEFAULT;
    if (s->frame_bytes < EK_FRAME_BYTES_MIN || s->frame_bytes > EK_FRAME_BYTES_MAX)
        return EK_ERR_INVALID_ARG;
    s->send_typing = cfg->send_typing;
    s->send_receipts = cfg->send_read_receipts;
    s->id = *id;
    int rc = ek_ed25519_key_from_seed(&s->sign_key, id->seed);
    if (rc == EK_OK)
        memcpy(s->id_pub, ek_ed25519_key_public(&s->sign_key), 32);
    return rc;
}

int ek_session_new(ek_session **out, const ek_identity *id, const ek_session_config *cfg)
{
    if (out == NULL || id == NULL || cfg == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    ek_session *s = ek_alloc(cfg->alloc, sizeof(*s));
    if (s == NULL)
        return EK_ERR_NOMEM;
    memset(s, 0, sizeof(*s));
    s->alloc = cfg->alloc;
    s->rng = cfg->rng != NULL ? cfg->rng : ek_rng_system();
    ek_writer_init_growable(&s->transcript, s->alloc);
    ek_writer_init_growable(&s->resume_mat, s->alloc);
    int rc = configure(s, id, cfg);
    if (rc != EK_OK) {
        ek_session_free(s);
        return rc;
    }
    s->state = EK_STATE_IDLE;
    *out = s;
    return EK_OK;
}

/* Forget everything cryptographic (before a fresh handshake). */
static void drop_crypto(ek_session *s)
{
    if (s->shadow != NULL) {
        ek_session_free(s->shadow);
        s->shadow = NULL;
    }
    ek_cascade_free(s->cascade);
    s->cascade = NULL;
    hs_wipe(s);
    hs_resume_clear(s);
    reasm_free_all(s);
    msg_free_deferred(s);
    ek_wipe(s->eph_pk, sizeof(s->eph_pk));
    ek_wipe(s->session_id, sizeof(s->session_id));
    ek_wipe(s->resume_key, sizeof(s->resume_key));
    ek_wipe(s->handle, sizeof(s->handle));
    ek_wipe(s->chunk_key_send, sizeof(s->chunk_key_send));
    ek_wipe(s->chunk_key_recv, sizeof(s->chunk_key_recv));
    ek_wipe(s->traffic_id, sizeof(s->traffic_id));
    s->have_peer = 0;
    s->send_seq = s->recv_top = 0;
    memset(s->window, 0, sizeof(s->window));
    s->step = HS_NONE;
}

void ek_session_free(ek_session *s)
{
    if (s == NULL)
        return;
    drop_crypto(s);
    ek_writer_dispose(&s->transcript);
    ek_writer_dispose(&s->resume_mat);
    queue_free_all(s);
    if (s->buf != NULL) {
        ek_wipe(s->buf, s->buf_cap);
        ek_free(s->alloc, s->buf, s->buf_cap);
    }
    const ek_allocator *a = s->alloc;
    ek_wipe(s, sizeof(*s));
    ek_free(a, s, sizeof(*s));
}

uint8_t *session_scratch(ek_session *s, size_t need)
{
    if (s->buf != NULL && s->buf_cap >= need)
        return s->buf;
    size_t cap = need < 32768 ? 32768 : need + need / 4;
    uint8_t *nb = ek_alloc(s->alloc, cap);
    if (nb == NULL)
        return NULL;
    if (s->buf != NULL) {
        ek_wipe(s->buf, s->buf_cap);
        ek_free(s->alloc, s->buf, s->buf_cap);
    }
    s->buf = nb;
    s->buf_cap = cap;
    return nb;
}

int session_make_cascade(ek_session *s)
{
    ek_cascade_free(s->cascade);
    s->cascade = NULL;
    ek_layer *layers[EK_CASCADE_MAX_LAYERS];
    for (size_t k = 0; k < s->n_layers; k++) {
        int rc =
            ek_layer_new_by_name(&layers[k], s->layer_names[k], s->alloc, s->rng, &s->id.signal);
        if (rc != EK_OK) {
            for (size_t j = 0; j < k; j++)
                ek_layer_free(layers[j]);
            return rc;
        }
    }
    return ek_cascade_new(&s->cascade, s->alloc, layers, s->n_layers);
}

/* ---- transitions ---- */

void session_fail(ek_session *s, int err, const char *code, uint64_t now_ms)
{
    (void)now_ms;
    if (s->state == EK_STATE_FAILED)
        return;
    drop_crypto(s);
    s->state = EK_STATE_FAILED;
    ek_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = EK_EVENT_FAILED;
    ev.error = err;
    ev.code = code;
    (void)queue_event(s, &ev, NULL, 0);
}

void session_set_ready(ek_session *s, int resumed)
{
    s->state = EK_STATE_READY;
    s->step = HS_DONE;
    ek_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = EK_EVENT_READY;
    ev.resumed = resumed;
    (void)queue_event(s, &ev, NULL, 0);
}

/* ---- a fresh handshake beside a kept session (docs/protocol.md §4.6) ----
 *
 * A session that holds a saved state (Disconnected, or Resuming) and hears
 * an unauthenticated hello, or unknown-session in answer to its resume,
 * must not give that state up on the word of whoever sent it. It runs the
 * fresh handshake in a second engine (the shadow), pinned to the kept
 * session's peer, and takes the shadow's keys only once the shadow is
 * ready: the same peer proved itself over a new transcript. Should the
 * shadow fail (another identity, a stall, a bad signature), it is dropped
 * and the kept session is as it was. Meanwhile the session reports
 * Handshaking. */

static int shadow_sync(ek_session *s);

int shadow_begin(ek_session *s, int role, uint64_t now_ms)
{
    if (s->shadow != NULL)
        shadow_discard(s);
    const char *names[EK_CASCADE_MAX_LAYERS];
    for (size_t k = 0; k < s->n_layers; k++)
        names[k] = s->layer_names[k];
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role;
    cfg.layers = names;
    cfg.n_layers = s->n_layers;
    cfg.expected_peer = s->peer_id;
    cfg.rng = s->rng;
    cfg.alloc = s->alloc;
    cfg.handshake_stall_ms = s->stall_ms;
    cfg.reassembly_ms = s->reassembly_ms;
    cfg.frame_bytes = s->frame_bytes;
    cfg.send_typing = s->send_typing;
    cfg.send_read_receipts = s->send_receipts;
    ek_session *sh = NULL;
    int rc = ek_session_new(&sh, &s->id, &cfg);
    if (rc == EK_OK)
        rc = ek_session_start(sh, now_ms);
    if (rc != EK_OK) {
        ek_session_free(sh);
        return rc;
    }
    hs_resume_clear(s);
    s->shadow = sh;
    s->shadow_prev = EK_STATE_DISCONNECTED;
    s->state = EK_STATE_HANDSHAKING;
    return shadow_sync(s); /* its hello, if it is the initiator */
}

void shadow_discard(ek_session *s)
{
    if (s->shadow == NULL)
        return;
    ek_session_free(s->shadow);
    s->shadow = NULL;
    s->state = s->shadow_prev;
}

/* The shadow is ready: its keys become the session's. */
static void shadow_adopt(ek_session *s)
{
    ek_session *sh = s->shadow;
    s->shadow = NULL;
    drop_crypto(s);
    s->cascade = sh->cascade;
    sh->cascade = NULL;
    s->role = sh->role;
    memcpy(s->peer_id, sh->peer_id, 32);
    s->have_peer = 1;
    memcpy(s->session_id, sh->session_id, 32);
    memcpy(s->resume_key, sh->resume_key, 32);
    memcpy(s->handle, sh->handle, 16);
    memcpy(s->chunk_key_send, sh->chunk_key_send, 32);
    memcpy(s->chunk_key_recv, sh->chunk_key_recv, 32);
    memcpy(s->traffic_id, sh->traffic_id, 32);
    s->send_seq = sh->send_seq;
    s->recv_top = sh->recv_top;
    memcpy(s->window, sh->window, sizeof(s->window));
    ek_session_free(sh);
    session_set_ready(s, 0);
}

/* Move what the shadow produced: its frames go out as ours; ready adopts
 * it; failed drops it (the kept session stays); a peer's error is passed
 * on. */
static int shadow_sync(ek_session *s)
{
    ek_session *sh = s->shadow;
    ek_frame f;
    int rc = EK_OK;
    while (rc == EK_OK && ek_session_pop_frame(sh, &f) == 1)
        rc = queue_frame(s, f.data, f.len, f.binary);
    if (rc != EK_OK)
        return rc;
    ek_event ev;
    while (s->shadow != NULL && ek_session_pop_event(sh, &ev) == 1) {
        if (ev.type == EK_EVENT_READY) {
            uint8_t peer[32];
            if (ek_session_peer_identity(sh, peer) == EK_OK && ek_ct_equal(peer, s->peer_id, 32))
                shadow_adopt(s);
            else
                shadow_discard(s);
        } else if (ev.type == EK_EVENT_FAILED) {
            shadow_discard(s);
        } else if (ev.type == EK_EVENT_PEER_ERROR) {
            (void)queue_event(s, &ev, NULL, 0);
        }
    }
    if (s->shadow != NULL && ek_session_get_state(sh) != EK_STATE_HANDSHAKING)
        shadow_discard(s);
    return EK_OK;
}

uint64_t resume_confirm_ms(const ek_session *s)
{
    return s->stall_ms < EK_RESUME_CONFIRM_MS ? s->stall_ms : EK_RESUME_CONFIRM_MS;
}

/* Begin the handshake the configured role plays. */
static int begin_handshake(ek_session *s, uint64_t now_ms)
{
    s->state = EK_STATE_HANDSHAKING;
    s->start_ms = now_ms;
    if (s->role == EK_ROLE_INITIATOR)
        return hs_send_hello(s, now_ms);
    s->step = HS_R_WAIT_HELLO;
    return EK_OK;
}

int ek_session_start(ek_session *s, uint64_t now_ms)
{
    if (s == NULL)
        return EK_ERR_INVALID_ARG;
    if (s->state == EK_STATE_IDLE)
        return begin_handshake(s, now_ms);
    if (s->state == EK_STATE_DISCONNECTED && s->step == HS_DONE) {
        int rc = hs_send_resume(s, now_ms);
        if (rc == EK_OK) {
            s->state = EK_STATE_RESUMING;
            s->start_ms = now_ms;
        }
        return rc;
    }
    return EK_ERR_STATE;
}

void ek_session_transport_lost(ek_session *s)
{
    if (s == NULL)
        return;
    reasm_free_all(s);
    msg_free_deferred(s);
    if (s->shadow != NULL) {
        shadow_discard(s); /* the kept session waits for the next transport */
        return;
    }
    if (s->state == EK_STATE_RESUMING)
        hs_resume_clear(s);
    if (s->state == EK_STATE_READY || s->state == EK_STATE_RESUMING)
        s->state = EK_STATE_DISCONNECTED;
    else if (s->state == EK_STATE_HANDSHAKING) {
        /* A handshake does not survive the transport: start over. */
        drop_crypto(s);
        s->state = EK_STATE_IDLE;
    }
}

void on_protocol_error(ek_session *s, const ek_pdu *p, uint64_t now_ms)
{
    s->stats.errors_received++;
    const char *code = "";
    size_t n = 0;
    int fatal = 0;
    if (ek_pdu_string(p, "code", &code, &n) != EK_OK || ek_pdu_bool(p, "fatal", &fatal) != EK_OK)
        return;
    int unknown_session = n == 15 && memcmp(code, "unknown-session", 15) == 0;
    if (s->state == EK_STATE_RESUMING && unknown_session) {
        if (s->resume == RESUME_ANSWERED) {
            /* The resumer cannot meet us: it starts afresh, we answer its
             * hello (beside the kept session). */
            hs_resume_clear(s);
            s->state = EK_STATE_DISCONNECTED;
            return;
        }
        /* The peer kept no state (or not ours): a fresh handshake beside
         * the kept one, which it replaces only if the same peer completes
         * it. The resumer is the side that dials: it sends hello. */
        (void)shadow_begin(s, EK_ROLE_INITIATOR, now_ms);
        return;
    }
    if (s->state != EK_STATE_HANDSHAKING && s->state != EK_STATE_RESUMING)
        return; /* unauthenticated: after ready it is only counted */
    char c[32];
    size_t k = n < sizeof(c) - 1 ? n : sizeof(c) - 1;
    memcpy(c, code, k);
    c[k] = 0;
    ek_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = EK_EVENT_PEER_ERROR;
    ev.code = c;
    (void)queue_event(s, &ev, NULL, 0);
    if (fatal)
        session_fail(s, EK_ERR_STATE, c, now_ms);
}

/* ---- receiving ---- */

static int on_json(ek_session *s, const uint8_t *f, size_t len, uint64_t now_ms)
{
    ek_pdu *p = NULL;
    const char *code = NULL;
    int rc = pdu_parse(&p, f, len, EK_PDU_OUTER, &code);
    if (rc == EK_ERR_NOMEM)
        return rc;
    if (rc != EK_OK) {
        s->stats.dropped_malformed++;
        send_protocol_error(s, code, 0, now_ms);
        return EK_OK;
    }
    const char *type = ek_pdu_type(p);
    rc = EK_OK;
    if (s->shadow != NULL && pdu_kind_of(p) != PK_ERROR && strncmp(type, "resume", 6) != 0) {
        /* hello, response, finish: the fresh handshake's (and a protocol-
         * error below). A hello of the kept peer while our own hello is out
         * (both sides started afresh): we answer theirs. */
        uint8_t id[32];
        size_t idn = 0;
        if (strcmp(type, "hello") == 0 && s->shadow->role == EK_ROLE_INITIATOR &&
            ek_pdu_bytes(p, "identity", id, sizeof(id), &idn) == EK_OK && idn == 32 &&
            ek_ct_equal(id, s->peer_id, 32))
            rc = shadow_begin(s, EK_ROLE_RESPONDER, now_ms);
        if (rc == EK_OK)
            rc = ek_session_recv(s->shadow, f, len, now_ms);
        if (rc == EK_OK)
            rc = shadow_sync(s);
    } else if (s->shadow != NULL && strcmp(type, "protocol-error") == 0) {
        s->stats.errors_received++;
        rc = ek_session_recv(s->shadow, f, len, now_ms);
        if (rc == EK_OK)
            rc = shadow_sync(s);
    } else if (strcmp(type, "protocol-error") == 0)
        on_protocol_error(s, p, now_ms);
    else if (strcmp(type, "hello") == 0) {
        if (s->state == EK_STATE_RESUMING || s->state == EK_STATE_DISCONNECTED) {
            /* The peer lost its state and starts afresh (or someone says
             * so): answer it beside the kept session (see shadow_begin). */
            rc = shadow_begin(s, EK_ROLE_RESPONDER, now_ms);
            if (rc == EK_OK)
                rc = ek_session_recv(s->shadow, f, len, now_ms);
            if (rc == EK_OK)
                rc = shadow_sync(s);
        } else if (s->state == EK_STATE_HANDSHAKING)
            rc = hs_on_hello(s, p, now_ms);
        else {
            s->stats.dropped_state++;
            send_protocol_error(s, "unexpected", 0, now_ms);
        }
    } else if (strcmp(type, "response") == 0 && s->state == EK_STATE_HANDSHAKING)
        rc = hs_on_response(s, p, now_ms);
    else if (strcmp(type, "finish") == 0 && s->state == EK_STATE_HANDSHAKING)
        rc = hs_on_finish(s, p, now_ms);
    else if (strcmp(type, "resume") == 0 && s->state != EK_STATE_FAILED &&
             s->state != EK_STATE_CLOSED)
        rc = hs_on_resume(s, p, now_ms);
    else if (strcmp(type, "resume-ok") == 0)
        rc = hs_on_resume_ok(s, p, now_ms);
    else if (strcmp(type, "resume-finish") == 0)
        rc = hs_on_resume_finish(s, p, now_ms);
    else {
        s->stats.dropped_state++;
        send_protocol_error(s, "unexpected", 0, now_ms);
    }
    ek_pdu_free(p);
    return rc;
}

int ek_session_recv(ek_session *s, const uint8_t *frame, size_t len, uint64_t now_ms)
{
    if (s == NULL || (frame == NULL && len > 0))
        return EK_ERR_INVALID_ARG;
    s->stats.frames_in++;
    if (s->state == EK_STATE_FAILED || s->state == EK_STATE_CLOSED || s->state == EK_STATE_IDLE) {
        s->stats.dropped_state++;
        return EK_OK;
    }
    if (len == 0 || len > EK_FRAME_BYTES_MAX + EK_PDU_MAX_JSON_BYTES) {
        s->stats.dropped_malformed++;
        send_protocol_error(s, len == 0 ? "malformed" : "too-large", 0, now_ms);
        return EK_OK;
    }
    int rc = EK_OK;
    if (frame[0] == '{')
        rc = on_json(s, frame, len, now_ms);
    else if (frame[0] != FRAME_MESSAGE && frame[0] != FRAME_CHUNK) {
        s->stats.dropped_malformed++;
        send_protocol_error(s, "malformed", 0, now_ms);
    } else if (s->state != EK_STATE_READY) {
        s->stats.dropped_state++;
        send_protocol_error(s, "unexpected", 0, now_ms);
    } else if (len > EK_FRAME_BYTES_MAX) {
        s->stats.dropped_malformed++;
        send_protocol_error(s, "too-large", 0, now_ms);
    } else if (frame[0] == FRAME_MESSAGE)
        rc = msg_on_message_frame(s, frame, len, now_ms);
    else
        rc = reasm_on_chunk(s, frame, len, now_ms);
    if (rc == EK_OK)
        rc = msg_pump_controls(s, now_ms);
    return rc;
}

int ek_session_tick(ek_session *s, uint64_t now_ms)
{
    if (s == NULL)
        return EK_ERR_INVALID_ARG;
    if (s->shadow != NULL) {
        int rc = ek_session_tick(s->shadow, now_ms);
        if (rc == EK_OK)
            rc = shadow_sync(s);
        return rc;
    }
    if (s->state == EK_STATE_RESUMING && s->resume == RESUME_ANSWERED) {
        /* No resume-finish (a replayed resume, or a resumer gone): the
         * session is as it was. */
        if (now_ms >= s->resume_since_ms + resume_confirm_ms(s)) {
            s->state = s->resume_prev;
            hs_resume_clear(s);
        }
        if (s->state != EK_STATE_READY)
            return EK_OK;
    } else if ((s->state == EK_STATE_HANDSHAKING || s->state == EK_STATE_RESUMING) &&
               now_ms >= s->start_ms + s->stall_ms) {
        send_protocol_error(s, "handshake-timeout", 1, now_ms);
        session_fail(s, EK_ERR_LIMIT, "handshake-timeout", now_ms);
        return EK_OK;
    }
    if (s->state != EK_STATE_READY)
        return EK_OK;
    reasm_expire(s, now_ms);
    msg_expire_deferred(s, now_ms);
    return msg_pump_controls(s, now_ms);
}

/* ---- sending ---- */

int ek_session_send(ek_session *s, const uint8_t *envelope, size_t len, uint64_t now_ms)
{
    if (s == NULL || envelope == NULL)
        return EK_ERR_INVALID_ARG;
    if (s->state != EK_STATE_READY)
        return EK_ERR_STATE;
    ek_pdu *p = NULL;
    int rc = ek_pdu_parse(&p, envelope, len, EK_PDU_INNER);
    if (rc != EK_OK)
        return rc;
    const char *type = ek_pdu_type(p);
    if (pdu_kind_of(p) != PK_APP)
        rc = EK_ERR_INVALID_ARG; /* control PDUs are the engine's */
    else if ((strcmp(type, "typing") == 0 && !s->send_typing) ||
             (strcmp(type, "read-receipt") == 0 && !s->send_receipts))
        rc = EK_ERR_STATE; /* the user's settings say no: nothing is sent */
    ek_pdu_free(p);
    if (rc == EK_OK)
        rc = msg_pump_controls(s, now_ms); /* a layer may have given up (rekey-stalled) */
    if (rc == EK_OK)
        rc = msg_send_inner(s, envelope, len, now_ms);
    if (rc == EK_OK)
        rc = msg_pump_controls(s, now_ms);
    return rc;
}

int ek_session_send_file_chunk(ek_session *s, const uint8_t transfer[16], uint32_t index,
                               const uint8_t *data, size_t len, uint64_t now_ms)
{
    if (s == NULL || transfer == NULL || (data == NULL && len > 0))
        return EK_ERR_INVALID_ARG;
    if (len > EK_MAX_MESSAGE_BYTES - 21)
        return EK_ERR_TOO_LARGE;
    int rc = msg_pump_controls(s, now_ms);
    if (rc != EK_OK)
        return rc;
    if (s->state != EK_STATE_READY)
        return EK_ERR_STATE;
    uint8_t *pt = ek_alloc(s->alloc, len + 21);
    if (pt == NULL)
        return EK_ERR_NOMEM;
    pt[0] = INNER_FILE_CHUNK;
    memcpy(pt + 1, transfer, 16);
    pt[17] = (uint8_t)(index >> 24);
    pt[18] = (uint8_t)(index >> 16);
    pt[19] = (uint8_t)(index >> 8);
    pt[20] = (uint8_t)index;
    if (len > 0)
        memcpy(pt + 21, data, len);
    rc = msg_send_inner(s, pt, len + 21, now_ms);
    ek_wipe(pt, len + 21);
    ek_free(s->alloc, pt, len + 21);
    if (rc == EK_OK)
        rc = msg_pump_controls(s, now_ms);
    return rc;
}

int ek_session_close(ek_session *s, uint64_t now_ms)
{
    if (s == NULL)
        return EK_ERR_INVALID_ARG;
    if (s->state != EK_STATE_READY)
        return EK_ERR_STATE;
    static const char close_pdu[] = "{\"type\":\"close\",\"specVersion\":\"1.0\"}";
    int rc = msg_send_inner(s, (const uint8_t *)close_pdu, sizeof(close_pdu) - 1, now_ms);
    s->state = EK_STATE_CLOSED;
    return rc;
}

void ek_session_set_privacy(ek_session *s, int send_typing, int send_read_receipts)
{
    if (s == NULL)
        return;
    s->send_typing = send_typing;
    s->send_receipts = send_read_receipts;
}

/* ---- reading ---- */

ek_session_state ek_session_get_state(const ek_session *s)
{
    return s != NULL ? s->state : EK_STATE_FAILED;
}

int ek_session_peer_identity(const ek_session *s, uint8_t out[EK_ED25519_PUBLIC_LEN])
{
    if (s == NULL || out == NULL)
        return EK_ERR_INVALID_ARG;
    if (s->step != HS_DONE)
        return EK_ERR_STATE;
    memcpy(out, s->peer_id, 32);
    return EK_OK;
}

int ek_session_safety_number(const ek_session *s, char out[EK_SAFETY_NUMBER_DIGITS + 1])
{
    if (s == NULL || out == NULL)
        return EK_ERR_INVALID_ARG;
    if (s->step != HS_DONE)
        return EK_ERR_STATE;
    return ek_safety_number(out, s->id_pub, s->peer_id);
}

int ek_session_id(const ek_session *s, uint8_t out[32])
{
    if (s == NULL || out == NULL)
        return EK_ERR_INVALID_ARG;
    if (s->step != HS_DONE)
        return EK_ERR_STATE;
    memcpy(out, s->session_id, 32);
    return EK_OK;
}

void ek_session_get_stats(const ek_session *s, ek_session_stats *out)
{
    if (out == NULL)
        return;
    if (s == NULL)
        memset(out, 0, sizeof(*out));
    else
        *out = s->stats;
}
