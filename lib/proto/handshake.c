/*
 * handshake.c: hello / response / finish, and resume / resume-ok /
 * resume-finish (docs/protocol.md §4). One function per protocol step,
 * named after it.
 *
 *   I -> R  hello     versions, layers, identity_I, ephemeral_I, random_I,
 *                     material_I[k] (every layer's first key material)
 *   R -> I  response  version, layers, identity_R, ephemeral_R, random_R,
 *                     material_R[k], signature_R, mac_R
 *   I -> R  finish    material_I'[k], signature_I, mac_I
 *
 * The initiator is ready after reading the response and sending finish (one
 * round trip), the responder after reading finish (one and a half). Every
 * field goes into the transcript (transcript.c); each side signs the
 * transcript hash with its Ed25519 identity key and proves with a MAC that
 * it holds every fresh secret: the MAC key comes from the handshake's own
 * X25519 (ephemeral_I, ephemeral_R) and every layer's binder. A man in the
 * middle who drops a layer, offers another version or swaps any key changes
 * the transcript: the signatures fail before anyone is ready.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "cascade/cascade_internal.h"
#include "proto/session_internal.h"

static const char *const offered_versions[] = {EK_SPEC_VERSION};

/* ---- helpers ---- */

static void ev_failed(ek_session *s, int err, const char *code, uint64_t now_ms)
{
    send_protocol_error(s, code, 1, now_ms);
    session_fail(s, err, code, now_ms);
}

static ek_layer_hs layer_hs(const ek_session *s, const uint8_t *th, uint64_t now_ms)
{
    ek_layer_hs h;
    h.role = s->role;
    h.rng = s->rng;
    h.now_ms = now_ms;
    h.self_identity = s->id_pub;
    h.peer_identity = s->have_peer ? s->peer_id : NULL;
    h.transcript = th;
    return h;
}

/* The MAC of stage over th: key = KDF(th, hs_dh || binders, label). */
static int confirm_mac(ek_session *s, int stage, const uint8_t th[32], uint8_t mac[32],
                       uint64_t now_ms)
{
    uint8_t ikm[32 + EK_CASCADE_MAX_LAYERS * EK_LAYER_BINDER_LEN], key[32];
    size_t n = 32;
    memcpy(ikm, s->hs_dh, 32);
    ek_layer_hs h = layer_hs(s, th, now_ms);
    int rc = EK_OK;
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        size_t len = 0;
        if (l->ops->binder != NULL)
            rc = l->ops->binder(l, ikm + n, &len, stage, &h);
        if (rc == EK_OK && len > EK_LAYER_BINDER_LEN)
            rc = EK_ERR_STATE;
        n += len;
    }
    if (rc == EK_OK)
        rc = ek_kdf(key, sizeof(key), th, 32, ikm, n,
                    stage == EK_HS_STAGE_RESPONSE ? "confirm response" : "confirm finish", NULL, 0);
    if (rc == EK_OK)
        ek_hmac_sha256(mac, key, sizeof(key), th, 32);
    ek_wipe(ikm, sizeof(ikm));
    ek_wipe(key, sizeof(key));
    return rc;
}

/* Copy an ASCII label (no terminator) to dst, at most cap bytes. */
static size_t put_label(uint8_t *dst, size_t cap, const char *label)
{
    size_t n = 0;
    for (; n < cap && label[n] != 0; n++)
        dst[n] = (uint8_t)label[n];
    return n;
}

/* Ed25519 over label || th. */
static int sign_th(ek_session *s, uint8_t sig[64], const char *label, const uint8_t th[32])
{
    uint8_t msg[64];
    size_t n = put_label(msg, 32, label);
    memcpy(msg + n, th, 32);
    return ek_ed25519_sign_with(sig, &s->sign_key, msg, n + 32);
}

static int verify_th(const uint8_t *sig, size_t sig_len, const uint8_t pk[32], const char *label,
                     const uint8_t th[32])
{
    uint8_t msg[64];
    size_t n = put_label(msg, 32, label);
    memcpy(msg + n, th, 32);
    return ek_ed25519_verify(sig, sig_len, pk, msg, n + 32);
}

static int add_layers(ek_pdu_builder *b, const ek_session *s)
{
    int rc = EK_OK;
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++)
        rc = ek_pdu_add_array_string(b, "layers", s->layer_names[k], strlen(s->layer_names[k]));
    return rc;
}

static void transcript_layers(ek_session *s)
{
    transcript_u8(s, (uint8_t)s->n_layers);
    for (size_t k = 0; k < s->n_layers; k++)
        transcript_str(s, s->layer_names[k], strlen(s->layer_names[k]));
}

/* The peer's layer list must be ours, name for name, in order. */
static int check_layers(const ek_session *s, const ek_pdu *p)
{
    if (ek_pdu_array_len(p, "layers") != s->n_layers)
        return EK_ERR_UNSUPPORTED;
    for (size_t k = 0; k < s->n_layers; k++) {
        const char *name;
        size_t len;
        if (ek_pdu_array_string(p, "layers", k, &name, &len) != EK_OK ||
            len != strlen(s->layer_names[k]) || memcmp(name, s->layer_names[k], len) != 0)
            return EK_ERR_UNSUPPORTED;
    }
    return EK_OK;
}

/* identity, ephemeral and random of the peer's hello or response. */
static int read_peer_keys(ek_session *s, const ek_pdu *p)
{
    size_t n1 = 0, n2 = 0, n3 = 0;
    if (ek_pdu_bytes(p, "identity", s->peer_id, 32, &n1) != EK_OK ||
        ek_pdu_bytes(p, "ephemeral", s->peer_eph, 32, &n2) != EK_OK ||
        ek_pdu_bytes(p, "random", s->peer_random, 32, &n3) != EK_OK || n1 != 32 || n2 != 32 ||
        n3 != 32)
        return EK_ERR_DECODE;
    /* Not ourselves (a reflected hello), and the one we expect if pinned. */
    if (ek_ct_equal(s->peer_id, s->id_pub, 32) ||
        (s->have_expected && !ek_ct_equal(s->peer_id, s->expected_peer, 32)))
        return EK_ERR_AUTH;
    s->have_peer = 1;
    return EK_OK;
}

/* One material element (decoded into a fresh growable writer). */
static int read_material(const ek_pdu *p, size_t k, ek_writer *w)
{
    uint8_t *dst = ek_write_reserve(w, EK_LAYER_MAX_MATERIAL);
    if (dst == NULL)
        return w->err;
    size_t n = 0;
    int rc = ek_pdu_array_bytes(p, "material", k, dst, EK_LAYER_MAX_MATERIAL, &n);
    w->len = rc == EK_OK ? n : 0;
    return rc;
}

static void dispose_all(ek_writer *w, size_t n)
{
    for (size_t k = 0; k < n; k++)
        ek_writer_dispose(&w[k]);
}

static void init_all(ek_writer *w, size_t n, const ek_allocator *a)
{
    for (size_t k = 0; k < n; k++)
        ek_writer_init_growable(&w[k], a);
}

/* The session's keys once the transcript is final (both sides). */
static int establish(ek_session *s, uint64_t now_ms)
{
    transcript_hash(s, s->session_id);
    memcpy(s->traffic_id, s->session_id, 32);
    int rc = EK_OK;
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        rc = l->ops->established(l, s->session_id);
    }
    if (rc == EK_OK)
        rc = ek_kdf(s->resume_key, 32, s->session_id, 32, s->hs_dh, 32, "resume", NULL, 0);
    if (rc == EK_OK)
        rc = ek_kdf(s->handle, 16, s->session_id, 32, s->hs_dh, 32, "session handle", NULL, 0);
    /* Chunk keys, one per direction (frame.c). */
    const uint8_t *mine = (const uint8_t *)(s->role == EK_ROLE_INITIATOR ? "I2R" : "R2I");
    const uint8_t *theirs = (const uint8_t *)(s->role == EK_ROLE_INITIATOR ? "R2I" : "I2R");
    if (rc == EK_OK)
        rc = ek_kdf(s->chunk_key_send, 32, s->session_id, 32, s->hs_dh, 32, "chunk", mine, 3);
    if (rc == EK_OK)
        rc = ek_kdf(s->chunk_key_recv, 32, s->session_id, 32, s->hs_dh, 32, "chunk", theirs, 3);
    (void)now_ms;
    return rc;
}

/* ---- initiator: hello ---- */

int hs_send_hello(ek_session *s, uint64_t now_ms)
{
    int rc = session_make_cascade(s);
    if (rc != EK_OK)
        return rc;
    rc = ek_x25519_keypair(s->eph_pk, s->eph_sk, s->rng);
    if (rc == EK_OK)
        rc = ek_random(s->rng, s->random, sizeof(s->random));
    if (rc != EK_OK)
        return rc;
    transcript_u8(s, 'H');
    transcript_u8(s, 1);
    transcript_str(s, offered_versions[0], strlen(offered_versions[0]));
    transcript_layers(s);
    transcript_bytes(s, s->id_pub, 32);
    transcript_bytes(s, s->eph_pk, 32);
    transcript_bytes(s, s->random, 32);

    ek_writer mat[EK_CASCADE_MAX_LAYERS];
    init_all(mat, s->n_layers, s->alloc);
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        uint8_t th[32];
        transcript_hash(s, th);
        ek_layer_hs h = layer_hs(s, th, now_ms);
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        if (l->ops->hello != NULL)
            rc = l->ops->hello(l, &mat[k], &h);
        if (rc == EK_OK)
            rc = mat[k].err;
        transcript_vec(s, mat[k].buf, mat[k].len);
    }
    ek_pdu_builder *b = NULL;
    if (rc == EK_OK)
        rc = ek_pdu_build_begin(&b, "hello");
    if (rc == EK_OK)
        rc = ek_pdu_add_array_string(b, "versions", offered_versions[0],
                                     strlen(offered_versions[0]));
    if (rc == EK_OK)
        rc = add_layers(b, s);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "identity", s->id_pub, 32);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "ephemeral", s->eph_pk, 32);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "random", s->random, 32);
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++)
        rc = ek_pdu_add_array_bytes(b, "material", mat[k].buf, mat[k].len);
    ek_writer out;
    ek_writer_init_growable(&out, s->alloc);
    if (rc == EK_OK)
        rc = ek_pdu_build_finish(b, &out);
    if (rc == EK_OK)
        rc = s->transcript.err;
    if (rc == EK_OK)
        rc = queue_frame(s, out.buf, out.len, 0);
    ek_writer_dispose(&out);
    ek_pdu_build_free(b);
    dispose_all(mat, s->n_layers);
    if (rc == EK_OK)
        s->step = HS_I_WAIT_RESPONSE;
    return rc;
}

/* ---- responder: hello -> response ---- */

static int check_versions(const ek_pdu *p, int *found)
{
    *found = 0;
    for (size_t i = 0; i < ek_pdu_array_len(p, "versions"); i++) {
        const char *v;
        size_t n;
        if (ek_pdu_array_string(p, "versions", i, &v, &n) != EK_OK)
            return EK_ERR_DECODE;
        if (n == strlen(EK_SPEC_VERSION) && memcmp(v, EK_SPEC_VERSION, n) == 0)
            *found = 1;
    }
    return EK_OK;
}

/* The common end of response and finish (§4.3): each layer's
 * material, the signature and the MAC; then the PDU is encoded into out
 * and the builder freed (rc: what the fields before returned). */
static int finish_signed(ek_pdu_builder *b, int rc, const ek_session *s, const ek_writer *mat,
                         const uint8_t sig[64], const uint8_t mac[32], ek_writer *out)
{
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++)
        rc = ek_pdu_add_array_bytes(b, "material", mat[k].buf, mat[k].len);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "signature", sig, 64);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "mac", mac, 32);
    if (rc == EK_OK)
        rc = ek_pdu_build_finish(b, out);
    ek_pdu_build_free(b);
    return rc;
}

static int build_response(ek_session *s, ek_writer *mat, const uint8_t sig[64],
                          const uint8_t mac[32], ek_writer *out)
{
    ek_pdu_builder *b = NULL;
    int rc = ek_pdu_build_begin(&b, "response");
    if (rc == EK_OK)
        rc = ek_pdu_add_string(b, "version", EK_SPEC_VERSION, strlen(EK_SPEC_VERSION));
    if (rc == EK_OK)
        rc = add_layers(b, s);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "identity", s->id_pub, 32);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "ephemeral", s->eph_pk, 32);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "random", s->random, 32);
    return finish_signed(b, rc, s, mat, sig, mac, out);
}

int hs_on_hello(ek_session *s, const ek_pdu *p, uint64_t now_ms)
{
    if (s->step != HS_R_WAIT_HELLO) {
        send_protocol_error(s, "unexpected", 0, now_ms);
        return EK_OK;
    }
    int found = 0;
    if (check_versions(p, &found) != EK_OK || !found) {
        ev_failed(s, EK_ERR_UNSUPPORTED, "unsupported-version", now_ms);
        return EK_OK;
    }
    if (check_layers(s, p) != EK_OK) {
        ev_failed(s, EK_ERR_UNSUPPORTED, "layer-mismatch", now_ms);
        return EK_OK;
    }
    if (ek_pdu_array_len(p, "material") != s->n_layers) {
        ev_failed(s, EK_ERR_DECODE, "malformed", now_ms);
        return EK_OK;
    }
    int rc = read_peer_keys(s, p);
    if (rc != EK_OK) {
        ev_failed(s, rc, rc == EK_ERR_AUTH ? "auth-failed" : "malformed", now_ms);
        return EK_OK;
    }
    rc = session_make_cascade(s);
    if (rc == EK_OK)
        rc = ek_x25519_keypair(s->eph_pk, s->eph_sk, s->rng);
    if (rc == EK_OK)
        rc = ek_random(s->rng, s->random, sizeof(s->random));
    if (rc != EK_OK)
        return rc;
    if (ek_x25519(s->hs_dh, s->eph_sk, s->peer_eph) != EK_OK) {
        ev_failed(s, EK_ERR_AUTH, "auth-failed", now_ms);
        return EK_OK;
    }
    ek_wipe(s->eph_sk, sizeof(s->eph_sk));

    /* The hello, as received. */
    transcript_u8(s, 'H');
    transcript_u8(s, (uint8_t)ek_pdu_array_len(p, "versions"));
    for (size_t i = 0; i < ek_pdu_array_len(p, "versions"); i++) {
        const char *v;
        size_t n;
        if (ek_pdu_array_string(p, "versions", i, &v, &n) == EK_OK)
            transcript_str(s, v, n);
    }
    transcript_layers(s);
    transcript_bytes(s, s->peer_id, 32);
    transcript_bytes(s, s->peer_eph, 32);
    transcript_bytes(s, s->peer_random, 32);
    ek_writer in[EK_CASCADE_MAX_LAYERS], mat[EK_CASCADE_MAX_LAYERS];
    init_all(in, s->n_layers, s->alloc);
    init_all(mat, s->n_layers, s->alloc);
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        rc = read_material(p, k, &in[k]);
        transcript_vec(s, in[k].buf, in[k].len);
    }
    /* Our response. */
    transcript_u8(s, 'R');
    transcript_str(s, EK_SPEC_VERSION, strlen(EK_SPEC_VERSION));
    transcript_layers(s);
    transcript_bytes(s, s->id_pub, 32);
    transcript_bytes(s, s->eph_pk, 32);
    transcript_bytes(s, s->random, 32);
    const char *code = "auth-failed";
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        transcript_hash(s, s->layer_th[k]);
        ek_layer_hs h = layer_hs(s, s->layer_th[k], now_ms);
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        if (l->ops->respond != NULL)
            rc = l->ops->respond(l, &mat[k], in[k].buf, in[k].len, &h);
        else if (in[k].len != 0)
            rc = EK_ERR_DECODE;
        if (rc == EK_OK)
            rc = mat[k].err;
        transcript_vec(s, mat[k].buf, mat[k].len);
    }
    uint8_t th[32], sig[64], mac[32];
    if (rc == EK_OK)
        rc = s->transcript.err;
    if (rc == EK_OK) {
        transcript_hash(s, th);
        rc = confirm_mac(s, EK_HS_STAGE_RESPONSE, th, mac, now_ms);
    }
    if (rc == EK_OK)
        rc = sign_th(s, sig, "enkrypt 1.0 response", th);
    ek_writer out;
    ek_writer_init_growable(&out, s->alloc);
    if (rc == EK_OK) {
        code = "internal";
        transcript_bytes(s, sig, 64);
        transcript_bytes(s, mac, 32);
        rc = build_response(s, mat, sig, mac, &out);
    }
    if (rc == EK_OK)
        rc = queue_frame(s, out.buf, out.len, 0);
    ek_writer_dispose(&out);
    dispose_all(in, s->n_layers);
    dispose_all(mat, s->n_layers);
    if (rc == EK_ERR_NOMEM || rc == EK_ERR_RNG || rc == EK_ERR_LIMIT)
        return rc;
    if (rc != EK_OK) {
        ev_failed(s, rc, code, now_ms);
        return EK_OK;
    }
    s->step = HS_R_WAIT_FINISH;
    return EK_OK;
}

/* ---- initiator: response -> finish, ready ---- */

static int build_finish(ek_session *s, ek_writer *mat, const uint8_t sig[64], const uint8_t mac[32],
                        ek_writer *out)
{
    ek_pdu_builder *b = NULL;
    int rc = ek_pdu_build_begin(&b, "finish");
    return finish_signed(b, rc, s, mat, sig, mac, out);
}

int hs_on_response(ek_session *s, const ek_pdu *p, uint64_t now_ms)
{
    if (s->step != HS_I_WAIT_RESPONSE) {
        send_protocol_error(s, "unexpected", 0, now_ms);
        return EK_OK;
    }
    const char *v;
    size_t vn;
    if (ek_pdu_string(p, "version", &v, &vn) != EK_OK || vn != strlen(EK_SPEC_VERSION) ||
        memcmp(v, EK_SPEC_VERSION, vn) != 0) {
        ev_failed(s, EK_ERR_UNSUPPORTED, "unsupported-version", now_ms);
        return EK_OK;
    }
    if (check_layers(s, p) != EK_OK) {
        ev_failed(s, EK_ERR_UNSUPPORTED, "layer-mismatch", now_ms);
        return EK_OK;
    }
    if (ek_pdu_array_len(p, "material") != s->n_layers) {
        ev_failed(s, EK_ERR_DECODE, "malformed", now_ms);
        return EK_OK;
    }
    int rc = read_peer_keys(s, p);
    if (rc != EK_OK) {
        ev_failed(s, rc, rc == EK_ERR_AUTH ? "auth-failed" : "malformed", now_ms);
        return EK_OK;
    }
    uint8_t sig_r[64], mac_r[32];
    size_t n1 = 0, n2 = 0;
    if (ek_pdu_bytes(p, "signature", sig_r, sizeof(sig_r), &n1) != EK_OK ||
        ek_pdu_bytes(p, "mac", mac_r, sizeof(mac_r), &n2) != EK_OK || n2 != 32) {
        ev_failed(s, EK_ERR_DECODE, "malformed", now_ms);
        return EK_OK;
    }
    if (ek_x25519(s->hs_dh, s->eph_sk, s->peer_eph) != EK_OK) {
        ev_failed(s, EK_ERR_AUTH, "auth-failed", now_ms);
        return EK_OK;
    }
    ek_wipe(s->eph_sk, sizeof(s->eph_sk));

    transcript_u8(s, 'R');
    transcript_str(s, v, vn);
    transcript_layers(s);
    transcript_bytes(s, s->peer_id, 32);
    transcript_bytes(s, s->peer_eph, 32);
    transcript_bytes(s, s->peer_random, 32);
    ek_writer in[EK_CASCADE_MAX_LAYERS], mat[EK_CASCADE_MAX_LAYERS];
    init_all(in, s->n_layers, s->alloc);
    init_all(mat, s->n_layers, s->alloc);
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        transcript_hash(s, s->layer_th[k]);
        rc = read_material(p, k, &in[k]);
        transcript_vec(s, in[k].buf, in[k].len);
    }
    uint8_t th_r[32], mac[32], sig[64];
    const char *code = "malformed";
    if (rc == EK_OK)
        rc = s->transcript.err;
    /* The signature first: a forged response costs one verification. */
    if (rc == EK_OK) {
        code = "auth-failed";
        transcript_hash(s, th_r);
        rc = verify_th(sig_r, n1, s->peer_id, "enkrypt 1.0 response", th_r);
    }
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        ek_layer_hs h = layer_hs(s, s->layer_th[k], now_ms);
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        if (l->ops->finish != NULL)
            rc = l->ops->finish(l, &mat[k], in[k].buf, in[k].len, &h);
        else if (in[k].len != 0)
            rc = EK_ERR_DECODE;
        if (rc == EK_OK)
            rc = mat[k].err;
    }
    if (rc == EK_OK)
        rc = confirm_mac(s, EK_HS_STAGE_RESPONSE, th_r, mac, now_ms);
    if (rc == EK_OK && !ek_ct_equal(mac, mac_r, 32))
        rc = EK_ERR_AUTH;
    /* Our finish. */
    if (rc == EK_OK) {
        transcript_bytes(s, sig_r, 64);
        transcript_bytes(s, mac_r, 32);
        transcript_u8(s, 'F');
        for (size_t k = 0; k < s->n_layers; k++)
            transcript_vec(s, mat[k].buf, mat[k].len);
        rc = s->transcript.err;
    }
    uint8_t th_f[32];
    if (rc == EK_OK) {
        transcript_hash(s, th_f);
        rc = confirm_mac(s, EK_HS_STAGE_FINISH, th_f, mac, now_ms);
    }
    if (rc == EK_OK)
        rc = sign_th(s, sig, "enkrypt 1.0 finish", th_f);
    ek_writer out;
    ek_writer_init_growable(&out, s->alloc);
    if (rc == EK_OK) {
        code = "internal";
        rc = build_finish(s, mat, sig, mac, &out);
    }
    if (rc == EK_OK)
        rc = establish(s, now_ms);
    if (rc == EK_OK)
        rc = queue_frame(s, out.buf, out.len, 0);
    ek_writer_dispose(&out);
    dispose_all(in, s->n_layers);
    dispose_all(mat, s->n_layers);
    if (rc == EK_ERR_NOMEM || rc == EK_ERR_RNG || rc == EK_ERR_LIMIT)
        return rc;
    if (rc != EK_OK) {
        ev_failed(s, rc, code, now_ms);
        return EK_OK;
    }
    hs_wipe(s);
    session_set_ready(s, 0);
    return EK_OK;
}

/* ---- responder: finish, ready ---- */

int hs_on_finish(ek_session *s, const ek_pdu *p, uint64_t now_ms)
{
    if (s->step != HS_R_WAIT_FINISH) {
        send_protocol_error(s, "unexpected", 0, now_ms);
        return EK_OK;
    }
    if (ek_pdu_array_len(p, "material") != s->n_layers) {
        ev_failed(s, EK_ERR_DECODE, "malformed", now_ms);
        return EK_OK;
    }
    uint8_t sig_i[64], mac_i[32];
    size_t n1 = 0, n2 = 0;
    if (ek_pdu_bytes(p, "signature", sig_i, sizeof(sig_i), &n1) != EK_OK ||
        ek_pdu_bytes(p, "mac", mac_i, sizeof(mac_i), &n2) != EK_OK || n2 != 32) {
        ev_failed(s, EK_ERR_DECODE, "malformed", now_ms);
        return EK_OK;
    }
    ek_writer in[EK_CASCADE_MAX_LAYERS];
    init_all(in, s->n_layers, s->alloc);
    int rc = EK_OK;
    transcript_u8(s, 'F');
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        rc = read_material(p, k, &in[k]);
        transcript_vec(s, in[k].buf, in[k].len);
    }
    uint8_t th_f[32], mac[32];
    const char *code = "malformed";
    if (rc == EK_OK)
        rc = s->transcript.err;
    if (rc == EK_OK) {
        code = "auth-failed";
        transcript_hash(s, th_f);
        rc = verify_th(sig_i, n1, s->peer_id, "enkrypt 1.0 finish", th_f);
    }
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        ek_layer_hs h = layer_hs(s, s->layer_th[k], now_ms);
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        if (l->ops->complete != NULL)
            rc = l->ops->complete(l, in[k].buf, in[k].len, &h);
        else if (in[k].len != 0)
            rc = EK_ERR_DECODE;
    }
    if (rc == EK_OK)
        rc = confirm_mac(s, EK_HS_STAGE_FINISH, th_f, mac, now_ms);
    if (rc == EK_OK && !ek_ct_equal(mac, mac_i, 32))
        rc = EK_ERR_AUTH;
    if (rc == EK_OK) {
        code = "internal";
        rc = establish(s, now_ms);
    }
    dispose_all(in, s->n_layers);
    if (rc == EK_ERR_NOMEM || rc == EK_ERR_RNG || rc == EK_ERR_LIMIT)
        return rc;
    if (rc != EK_OK) {
        ev_failed(s, rc, code, now_ms);
        return EK_OK;
    }
    hs_wipe(s);
    session_set_ready(s, 0);
    return EK_OK;
}

/* What only the handshake needed. */
void hs_wipe(ek_session *s)
{
    ek_writer_dispose(&s->transcript);
    ek_writer_init_growable(&s->transcript, s->alloc);
    ek_wipe(s->eph_sk, sizeof(s->eph_sk));
    ek_wipe(s->hs_dh, sizeof(s->hs_dh));
    ek_wipe(s->layer_th, sizeof(s->layer_th));
}

/* ---- resumption (§4.6) ----
 *
 *   A -> B  resume        {session: handle, nonce: n_a, material: M_a[k], mac_a}
 *   B -> A  resume-ok     {nonce: n_b, material: M_b[k], mac_b}
 *   A -> B  resume-finish {mac_f}
 *
 *   T_a   = SHA-256("enkrypt 1.0 resume transcript" || handle || n_a || M_a)
 *   T_ab  = SHA-256("enkrypt 1.0 resume transcript" || handle || n_a || M_a ||
 *                   n_b || M_b),  M = n x (u32(len) || layer material)
 *   mac_a = HMAC(resume_key, "enkrypt 1.0 resume" || T_a)
 *   mac_b = HMAC(resume_key, "enkrypt 1.0 resume-ok" || T_ab)
 *   mac_f = HMAC(resume_key, "enkrypt 1.0 resume-finish" || T_ab)
 *   ctx   = KDF(resume_key, T_ab, "resume context")
 *
 * A re-keys and is ready on a valid resume-ok, B on a valid resume-finish:
 * each side has then seen the other prove the resume key over its own fresh
 * nonce, so a recorded resume replayed later gives nothing (B never gets the
 * finish). The re-key (resume_rekey) gives every counter-keyed layer and
 * the chunk keys fresh keys from ctx, and the frames a new traffic id. */

/* Our materials, M: n x (u32(len) || bytes). */
static int own_materials(ek_session *s, ek_writer *w)
{
    int rc = EK_OK;
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        size_t at = w->len;
        ek_write_u32(w, 0);
        if (l->ops->resume_material != NULL)
            rc = l->ops->resume_material(l, w);
        if (rc == EK_OK)
            rc = w->err;
        if (rc == EK_OK) {
            uint32_t n = (uint32_t)(w->len - at - 4);
            w->buf[at] = (uint8_t)(n >> 24);
            w->buf[at + 1] = (uint8_t)(n >> 16);
            w->buf[at + 2] = (uint8_t)(n >> 8);
            w->buf[at + 3] = (uint8_t)n;
        }
    }
    return rc;
}

/* The peer's materials from p, as M. */
static int peer_materials(const ek_session *s, const ek_pdu *p, ek_writer *w)
{
    if (ek_pdu_array_len(p, "material") != s->n_layers)
        return EK_ERR_DECODE;
    int rc = EK_OK;
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        size_t at = w->len;
        ek_write_u32(w, 0);
        uint8_t *dst = ek_write_reserve(w, EK_LAYER_MAX_MATERIAL);
        if (dst == NULL)
            return w->err;
        size_t n = 0;
        rc = ek_pdu_array_bytes(p, "material", k, dst, EK_LAYER_MAX_MATERIAL, &n);
        if (rc != EK_OK)
            return EK_ERR_DECODE;
        w->len = at + 4 + n;
        w->buf[at] = (uint8_t)(n >> 24);
        w->buf[at + 1] = (uint8_t)(n >> 16);
        w->buf[at + 2] = (uint8_t)(n >> 8);
        w->buf[at + 3] = (uint8_t)n;
    }
    return rc;
}

/* Item k of M. */
static int material_at(const uint8_t *m, size_t len, size_t k, const uint8_t **item,
                       size_t *item_len)
{
    ek_reader r;
    ek_reader_init(&r, m, len);
    for (size_t i = 0; i <= k; i++) {
        uint32_t n = 0;
        ek_read_u32(&r, &n);
        ek_read_view(&r, item, n);
        *item_len = n;
    }
    return r.err;
}

static int add_materials(ek_pdu_builder *b, const ek_session *s, const ek_writer *m)
{
    int rc = EK_OK;
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        const uint8_t *item = NULL;
        size_t n = 0;
        rc = material_at(m->buf, m->len, k, &item, &n);
        if (rc == EK_OK)
            rc = ek_pdu_add_array_bytes(b, "material", item, n);
    }
    return rc;
}

/* T_a (n_b NULL) or T_ab. */
static void resume_transcript(const ek_session *s, uint8_t out[32], const uint8_t n_a[16],
                              const ek_writer *m_a, const uint8_t *n_b, const ek_writer *m_b)
{
    static const char label[] = "enkrypt 1.0 resume transcript";
    ek_sha256_ctx c;
    ek_sha256_init(&c);
    ek_sha256_update(&c, label, sizeof(label) - 1);
    ek_sha256_update(&c, s->handle, 16);
    ek_sha256_update(&c, n_a, 16);
    ek_sha256_update(&c, m_a->buf, m_a->len);
    if (n_b != NULL) {
        ek_sha256_update(&c, n_b, 16);
        ek_sha256_update(&c, m_b->buf, m_b->len);
    }
    ek_sha256_final(&c, out);
}

static void resume_mac(const ek_session *s, uint8_t mac[32], const char *label,
                       const uint8_t th[32])
{
    uint8_t msg[64];
    size_t n = put_label(msg, 32, label);
    memcpy(msg + n, th, 32);
    ek_hmac_sha256(mac, s->resume_key, 32, msg, n + 32);
}

/* Every layer's resume with the peer's materials (see ek_layer_ops). */
static int layers_resume(ek_session *s, const ek_writer *peer, const uint8_t ctx[32], int apply)
{
    int rc = EK_OK;
    for (size_t k = 0; k < s->n_layers && rc == EK_OK; k++) {
        ek_layer *l = ek_cascade_layer(s->cascade, k);
        const uint8_t *item = NULL;
        size_t n = 0;
        rc = material_at(peer->buf, peer->len, k, &item, &n);
        if (rc == EK_OK && l->ops->resume != NULL)
            rc = l->ops->resume(l, item, n, ctx, apply);
        else if (rc != EK_OK || n != 0)
            rc = EK_ERR_DECODE; /* unreadable, or material for a layer that takes none */
    }
    return rc;
}

/* The re-key both sides make at the end of a resumption. */
static int resume_rekey(ek_session *s, const ek_writer *peer, const uint8_t th[32])
{
    uint8_t ctx[32], k1[32], k2[32], t[32];
    int rc = ek_kdf(ctx, 32, s->resume_key, 32, th, 32, "resume context", NULL, 0);
    if (rc == EK_OK)
        rc = layers_resume(s, peer, ctx, 1);
    const uint8_t *mine = (const uint8_t *)(s->role == EK_ROLE_INITIATOR ? "I2R" : "R2I");
    const uint8_t *theirs = (const uint8_t *)(s->role == EK_ROLE_INITIATOR ? "R2I" : "I2R");
    if (rc == EK_OK)
        rc = ek_kdf(k1, 32, ctx, 32, s->chunk_key_send, 32, "chunk resume", mine, 3);
    if (rc == EK_OK)
        rc = ek_kdf(k2, 32, ctx, 32, s->chunk_key_recv, 32, "chunk resume", theirs, 3);
    if (rc == EK_OK)
        rc = ek_kdf(t, 32, ctx, 32, s->traffic_id, 32, "resume traffic", NULL, 0);
    if (rc == EK_OK) {
        memcpy(s->chunk_key_send, k1, 32);
        memcpy(s->chunk_key_recv, k2, 32);
        memcpy(s->traffic_id, t, 32);
        /* Frames from before do not open any more: the window starts over
         * (the peer's numbers may even go back, from an older state). */
        s->recv_top = 0;
        memset(s->window, 0, sizeof(s->window));
        reasm_free_all(s);
        msg_free_deferred(s);
    }
    ek_wipe(ctx, sizeof(ctx));
    ek_wipe(k1, sizeof(k1));
    ek_wipe(k2, sizeof(k2));
    ek_wipe(t, sizeof(t));
    return rc;
}

void hs_resume_clear(ek_session *s)
{
    ek_writer_dispose(&s->resume_mat);
    ek_writer_init_growable(&s->resume_mat, s->alloc);
    ek_wipe(s->resume_nonce, sizeof(s->resume_nonce));
    ek_wipe(s->resume_hash, sizeof(s->resume_hash));
    s->resume = RESUME_NONE;
}

int hs_send_resume(ek_session *s, uint64_t now_ms)
{
    (void)now_ms;
    hs_resume_clear(s);
    int rc = ek_random(s->rng, s->resume_nonce, sizeof(s->resume_nonce));
    if (rc == EK_OK)
        rc = own_materials(s, &s->resume_mat);
    if (rc != EK_OK) {
        hs_resume_clear(s);
        return rc;
    }
    uint8_t th[32], mac[32];
    resume_transcript(s, th, s->resume_nonce, &s->resume_mat, NULL, NULL);
    resume_mac(s, mac, "enkrypt 1.0 resume", th);
    ek_pdu_builder *b = NULL;
    ek_writer out;
    ek_writer_init_growable(&out, s->alloc);
    rc = ek_pdu_build_begin(&b, "resume");
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "session", s->handle, 16);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "nonce", s->resume_nonce, 16);
    if (rc == EK_OK)
        rc = add_materials(b, s, &s->resume_mat);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "mac", mac, 32);
    if (rc == EK_OK)
        rc = ek_pdu_build_finish(b, &out);
    if (rc == EK_OK)
        rc = queue_frame(s, out.buf, out.len, 0);
    ek_pdu_build_free(b);
    ek_writer_dispose(&out);
    if (rc == EK_OK)
        s->resume = RESUME_SENT;
    else
        hs_resume_clear(s);
    return rc;
}

int hs_on_resume(ek_session *s, const ek_pdu *p, uint64_t now_ms)
{
    uint8_t handle[16], nonce[16], mac[32], th[32], want[32];
    size_t n1 = 0, n2 = 0, n3 = 0;
    if (ek_pdu_bytes(p, "session", handle, 16, &n1) != EK_OK ||
        ek_pdu_bytes(p, "nonce", nonce, 16, &n2) != EK_OK ||
        ek_pdu_bytes(p, "mac", mac, 32, &n3) != EK_OK)
        return EK_OK;
    ek_writer peer;
    ek_writer_init_growable(&peer, s->alloc);
    int known = s->step == HS_DONE && ek_ct_equal(handle, s->handle, 16);
    int rc = EK_OK;
    if (known) {
        rc = peer_materials(s, p, &peer);
        if (rc == EK_ERR_NOMEM) {
            ek_writer_dispose(&peer);
            return rc;
        }
        known = rc == EK_OK;
    }
    if (known) {
        resume_transcript(s, th, nonce, &peer, NULL, NULL);
        resume_mac(s, want, "enkrypt 1.0 resume", th);
        known = ek_ct_equal(want, mac, 32);
    }
    if (known && s->resume == RESUME_SENT && s->role == EK_ROLE_INITIATOR) {
        /* Both resumed at once: the initiator's resume goes on, the
         * responder answers it (and drops its own). */
        ek_writer_dispose(&peer);
        return EK_OK;
    }
    /* Can every layer meet the peer where it is? (A side restored from far
     * back cannot: a fresh handshake follows.) */
    if (known && layers_resume(s, &peer, want, 0) != EK_OK)
        known = 0;
    if (!known) {
        /* Nothing to resume here (or a forgery): the peer starts afresh. */
        ek_writer_dispose(&peer);
        send_protocol_error(s, "unknown-session", 0, now_ms);
        return EK_OK;
    }
    /* An authenticated resume: the peer holds the session, so a fresh
     * handshake beside it is moot. */
    if (s->shadow != NULL)
        shadow_discard(s);
    ek_session_state prev = s->state;
    if (s->resume == RESUME_ANSWERED)
        prev = s->resume_prev;
    else if (prev == EK_STATE_RESUMING)
        prev = EK_STATE_DISCONNECTED;
    uint8_t mine[16];
    ek_writer own;
    ek_writer_init_growable(&own, s->alloc);
    rc = ek_random(s->rng, mine, sizeof(mine));
    if (rc == EK_OK)
        rc = own_materials(s, &own);
    ek_pdu_builder *b = NULL;
    ek_writer out;
    ek_writer_init_growable(&out, s->alloc);
    if (rc == EK_OK) {
        resume_transcript(s, th, nonce, &peer, mine, &own);
        resume_mac(s, want, "enkrypt 1.0 resume-ok", th);
        rc = ek_pdu_build_begin(&b, "resume-ok");
    }
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "nonce", mine, 16);
    if (rc == EK_OK)
        rc = add_materials(b, s, &own);
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "mac", want, 32);
    if (rc == EK_OK)
        rc = ek_pdu_build_finish(b, &out);
    if (rc == EK_OK)
        rc = queue_frame(s, out.buf, out.len, 0);
    ek_pdu_build_free(b);
    ek_writer_dispose(&out);
    ek_writer_dispose(&own);
    if (rc == EK_OK) {
        /* Wait for resume-finish with the keys as they are; nothing flows
         * meanwhile. */
        hs_resume_clear(s);
        s->resume_mat = peer;
        memcpy(s->resume_hash, th, 32);
        s->resume = RESUME_ANSWERED;
        s->resume_prev = prev;
        s->resume_since_ms = now_ms;
        if (s->state == EK_STATE_READY) {
            reasm_free_all(s);
            msg_free_deferred(s);
        }
        s->state = EK_STATE_RESUMING;
    } else {
        ek_writer_dispose(&peer);
    }
    ek_wipe(th, sizeof(th));
    return rc;
}

int hs_on_resume_ok(ek_session *s, const ek_pdu *p, uint64_t now_ms)
{
    if (s->state != EK_STATE_RESUMING || s->resume != RESUME_SENT)
        return EK_OK; /* late or replayed: nothing to do */
    uint8_t nonce[16], mac[32], th[32], want[32];
    size_t n1 = 0, n2 = 0;
    if (ek_pdu_bytes(p, "nonce", nonce, 16, &n1) != EK_OK ||
        ek_pdu_bytes(p, "mac", mac, 32, &n2) != EK_OK)
        return EK_OK;
    ek_writer peer;
    ek_writer_init_growable(&peer, s->alloc);
    int rc = peer_materials(s, p, &peer);
    if (rc == EK_ERR_NOMEM) {
        ek_writer_dispose(&peer);
        return rc;
    }
    if (rc == EK_OK) {
        resume_transcript(s, th, s->resume_nonce, &s->resume_mat, nonce, &peer);
        resume_mac(s, want, "enkrypt 1.0 resume-ok", th);
        if (!ek_ct_equal(want, mac, 32))
            rc = EK_ERR_AUTH;
    }
    if (rc != EK_OK) {
        s->stats.dropped_malformed++;
        ek_writer_dispose(&peer);
        return EK_OK;
    }
    if (layers_resume(s, &peer, th, 0) != EK_OK) {
        /* The peer holds the session but too far from ours to meet: tell it
         * so, and start afresh (beside the kept session). */
        ek_writer_dispose(&peer);
        hs_resume_clear(s);
        send_protocol_error(s, "unknown-session", 0, now_ms);
        return shadow_begin(s, EK_ROLE_INITIATOR, now_ms);
    }
    resume_mac(s, want, "enkrypt 1.0 resume-finish", th);
    ek_pdu_builder *b = NULL;
    ek_writer out;
    ek_writer_init_growable(&out, s->alloc);
    rc = ek_pdu_build_begin(&b, "resume-finish");
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "mac", want, 32);
    if (rc == EK_OK)
        rc = ek_pdu_build_finish(b, &out);
    if (rc == EK_OK)
        rc = resume_rekey(s, &peer, th);
    if (rc == EK_OK)
        rc = queue_frame(s, out.buf, out.len, 0);
    ek_pdu_build_free(b);
    ek_writer_dispose(&out);
    ek_writer_dispose(&peer);
    hs_resume_clear(s);
    ek_wipe(th, sizeof(th));
    if (rc == EK_ERR_NOMEM)
        return rc;
    if (rc != EK_OK) {
        ev_failed(s, rc, "internal", now_ms);
        return EK_OK;
    }
    session_set_ready(s, 1);
    return EK_OK;
}

int hs_on_resume_finish(ek_session *s, const ek_pdu *p, uint64_t now_ms)
{
    if (s->state != EK_STATE_RESUMING || s->resume != RESUME_ANSWERED)
        return EK_OK; /* late or replayed: nothing to do */
    uint8_t mac[32], want[32];
    size_t n = 0;
    if (ek_pdu_bytes(p, "mac", mac, 32, &n) != EK_OK)
        return EK_OK;
    resume_mac(s, want, "enkrypt 1.0 resume-finish", s->resume_hash);
    if (!ek_ct_equal(want, mac, 32)) {
        s->stats.dropped_malformed++;
        return EK_OK;
    }
    ek_writer peer = s->resume_mat;
    ek_writer_init_growable(&s->resume_mat, s->alloc);
    uint8_t th[32];
    memcpy(th, s->resume_hash, 32);
    int rc = resume_rekey(s, &peer, th);
    ek_writer_dispose(&peer);
    ek_wipe(th, sizeof(th));
    hs_resume_clear(s);
    if (rc == EK_ERR_NOMEM)
        return rc;
    if (rc != EK_OK) {
        ev_failed(s, rc, "internal", now_ms);
        return EK_OK;
    }
    session_set_ready(s, 1);
    return EK_OK;
}
