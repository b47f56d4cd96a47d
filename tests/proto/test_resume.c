/*
 * test_resume.c: saved state, restore and resumption against a hostile
 * path and stale states (docs/protocol.md §4.6, §9.3), the regression tests
 * of the session review's findings F1, F2 and F6:
 *
 *   - stale restore (F1): a sender restored from a state older than what it
 *     sent must not reuse an AES-GCM or ML-KEM (key, nonce) after the
 *     resume: the resume re-keys every counter-keyed layer from both sides'
 *     fresh nonces, so the frame it sends again with the same sequence
 *     number shares nothing with the first beyond its header;
 *   - stale receiver (F1): a receiver restored from a state older than a
 *     frame it delivered never delivers that frame again (old frames do not
 *     open under the resumed keys);
 *   - hello on a restored session (F2): an unauthenticated hello from
 *     another identity neither replaces nor destroys the saved state; a
 *     fresh handshake runs beside it and replaces it only when it completes
 *     with the same peer;
 *   - replayed resume (F6): a resume recorded on the path and replayed
 *     later gives no ready: the responder is ready only after the resumer's
 *     resume-finish, which proves the key over the responder's fresh nonce.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_test.h"
#include "pipe.h"

/* The frame header's length (kind byte and varint(seq)). */
static size_t hdr_len(const uint8_t *f)
{
    return 1 + ((size_t)1 << (f[1] >> 6));
}

static size_t common_prefix(const pipe_frame *x, const pipe_frame *y)
{
    size_t n = 0;
    while (n < x->len && n < y->len && x->data[n] == y->data[n])
        n++;
    return n;
}

static ek_session *restore_side(pipe_side *side, int role, const char *const *layers, size_t n,
                                const uint8_t *blob, size_t len, const uint8_t *pin)
{
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role;
    cfg.layers = layers;
    cfg.n_layers = n;
    cfg.rng = &side->rng.rng;
    cfg.expected_peer = pin;
    cfg.send_typing = 1;
    cfg.send_read_receipts = 1;
    ek_session *s = NULL;
    EK_CHECK_OK(ek_session_restore(&s, &side->id, &cfg, blob, len));
    return s;
}

static void send_text(pipe *p, pipe_side *from, uint64_t n, const char *body)
{
    uint8_t env[512];
    size_t len = pipe_text(env, sizeof(env), n, body, strlen(body), p->now);
    EK_CHECK_OK(ek_session_send(from->s, env, len, p->now));
}

/* ---- F1: a stale sender ---- */

static void stale_sender(const char *const *layers, size_t n, const char *name, int delivers)
{
    pipe p;
    pipe_init(&p, 7, layers, n);
    pipe_handshake(&p);
    uint8_t *blob = NULL;
    size_t blen = 0, bcap = 0;
    EK_CHECK_OK(ek_session_save(p.a.s, &blob, &blen, &bcap));

    /* Two envelopes of the same length: if a (key, nonce) repeated, the
     * XOR of the frames would be the XOR of the envelopes. */
    static const char b1[] = "launch codes: 0000-1111-2222-3333";
    static const char b2[] = "meet at the north gate at 21:00!!";
    uint8_t env1[512], env2[512];
    size_t l1 = pipe_text(env1, sizeof(env1), 1, b1, sizeof(b1) - 1, p.now);
    size_t l2 = pipe_text(env2, sizeof(env2), 1, b2, sizeof(b2) - 1, p.now);
    EK_CHECK(l1 == l2);
    EK_CHECK_OK(ek_session_send(p.a.s, env1, l1, p.now));
    pipe_frame f1[4], f2[4];
    EK_CHECK(pipe_take(&p.a, f1, 4) == 1);
    pipe_deliver(&p, &p.b, f1[0].data, f1[0].len);
    unsigned long got = p.b.messages;
    EK_CHECK(got == 1);

    /* a crashes before its vault saw the send; it comes back from the older
     * state and resumes. */
    ek_session_free(p.a.s);
    p.a.s = restore_side(&p.a, EK_ROLE_INITIATOR, layers, n, blob, blen, NULL);
    ek_session_transport_lost(p.b.s);
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    EK_CHECK_OK(ek_session_send(p.a.s, env2, l2, p.now));
    EK_CHECK(pipe_take(&p.a, f2, 4) == 1);

    /* The same sequence number (the state is older), but nothing else in
     * common: a few bytes by chance at most, never the keystream. */
    size_t h = hdr_len(f1[0].data);
    size_t same = common_prefix(&f1[0], &f2[0]);
    EK_CHECK(f1[0].len == f2[0].len && memcmp(f1[0].data, f2[0].data, h) == 0);
    EK_CHECK(same < h + 1 + 4);
    size_t tail = 16 * n, off = f1[0].len - tail - l1;
    int reused = 1;
    for (size_t i = 0; i < l1; i++) {
        if ((f1[0].data[off + i] ^ f2[0].data[off + i]) != (env1[i] ^ env2[i])) {
            reused = 0;
            break;
        }
    }
    EK_CHECK(!reused);

    pipe_deliver(&p, &p.b, f2[0].data, f2[0].len);
    if (delivers) {
        EK_CHECK(p.b.messages == got + 1);
    } else {
        /* The Signal (and MLS) layer's own chains are stale on a: its
         * message key for this number is spent at b, so this one frame is
         * lost; one round trip later a is on a new chain and messages flow
         * (docs/protocol.md §9.3). */
        unsigned long back = p.a.messages;
        send_text(&p, &p.b, 7, "b answers");
        pipe_flush(&p);
        EK_CHECK(p.a.messages == back + 1);
        unsigned long now_b = p.b.messages;
        send_text(&p, &p.a, 8, "a again");
        pipe_flush(&p);
        EK_CHECK(p.b.messages == now_b + 1);
    }
    printf("  stale sender [%s]: common prefix %zu bytes (header %zu), keystream reused: %s\n",
           name, same, h, reused ? "YES" : "no");
    free(f1[0].data);
    free(f2[0].data);
    free(blob);
    pipe_free(&p);
}

/* ---- F1: a stale receiver ---- */

static void stale_receiver(void)
{
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    pipe p;
    pipe_init(&p, 21, layers, n);
    pipe_handshake(&p);
    uint8_t *blob = NULL;
    size_t bl = 0, bc = 0;
    EK_CHECK_OK(ek_session_save(p.b.s, &blob, &bl, &bc));
    send_text(&p, &p.a, 1, "transfer 100 EUR to mallory");
    pipe_frame f[4];
    EK_CHECK(pipe_take(&p.a, f, 4) == 1);
    pipe_deliver(&p, &p.b, f[0].data, f[0].len);
    EK_CHECK(p.b.messages == 1);
    /* b comes back from the state before the frame; a resumes. */
    ek_session_free(p.b.s);
    p.b.s = restore_side(&p.b, EK_ROLE_RESPONDER, layers, n, blob, bl, NULL);
    ek_session_transport_lost(p.a.s);
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    /* The path replays the frame: never delivered twice. */
    pipe_deliver(&p, &p.b, f[0].data, f[0].len);
    EK_CHECK(p.b.messages == 1);
    /* New traffic flows. */
    send_text(&p, &p.a, 2, "after the resume");
    pipe_flush(&p);
    EK_CHECK(p.b.messages == 2);
    printf("  stale receiver: a frame delivered before the restore is not delivered again\n");
    free(f[0].data);
    free(blob);
    pipe_free(&p);
}

/* ---- F2: hello on a restored session ---- */

static void move_all(ek_session *from, ek_session *to, uint64_t now)
{
    ek_frame f;
    while (ek_session_pop_frame(from, &f) == 1)
        EK_CHECK_OK(ek_session_recv(to, f.data, f.len, now));
}

static void count_events(ek_session *s, int *ready, int *failed, int *resumed)
{
    ek_event ev;
    while (ek_session_pop_event(s, &ev) == 1) {
        if (ev.type == EK_EVENT_READY) {
            (*ready)++;
            *resumed = ev.resumed;
        }
        if (ev.type == EK_EVENT_FAILED)
            (*failed)++;
    }
}

static void hello_hijack(int pin)
{
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    pipe p;
    pipe_init(&p, 11, layers, n);
    pipe_handshake(&p);
    uint8_t apub[32], sid[32];
    EK_CHECK_OK(ek_identity_public(apub, &p.a.id));
    EK_CHECK_OK(ek_session_id(p.b.s, sid));
    uint8_t *blob = NULL;
    size_t blen = 0, bcap = 0;
    EK_CHECK_OK(ek_session_save(p.b.s, &blob, &blen, &bcap));
    ek_session_free(p.b.s);
    p.b.s = restore_side(&p.b, EK_ROLE_RESPONDER, layers, n, blob, blen, pin ? apub : NULL);

    /* mallory (another identity) speaks first on b's next channel */
    pipe q;
    pipe_init(&q, 99, layers, n);
    EK_CHECK_OK(ek_session_start(q.a.s, q.now));
    for (int r = 0; r < 10; r++) {
        move_all(q.a.s, p.b.s, p.now);
        move_all(p.b.s, q.a.s, p.now);
    }
    int ready = 0, failed = 0, resumed = -1;
    count_events(p.b.s, &ready, &failed, &resumed);
    EK_CHECK(ready == 0);
    EK_CHECK(failed == 0);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_DISCONNECTED);
    /* The saved session is still there, unchanged. */
    uint8_t *now_blob = NULL;
    size_t nlen = 0, ncap = 0;
    EK_CHECK_OK(ek_session_save(p.b.s, &now_blob, &nlen, &ncap));
    EK_CHECK(nlen == blen && memcmp(now_blob, blob, blen) == 0);
    free(now_blob);

    /* ... and the genuine peer resumes it. */
    ek_session_transport_lost(p.a.s);
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    uint8_t peer[32], sid2[32];
    EK_CHECK_OK(ek_session_peer_identity(p.b.s, peer));
    EK_CHECK_OK(ek_session_id(p.b.s, sid2));
    EK_CHECK(memcmp(peer, apub, 32) == 0 && memcmp(sid, sid2, 32) == 0);
    unsigned long got = p.b.messages;
    send_text(&p, &p.a, 3, "still us");
    pipe_flush(&p);
    EK_CHECK(p.b.messages == got + 1);
    printf("  hello from another identity on a restored session (expected_peer %s): refused, "
           "saved session kept and resumed\n",
           pin ? "pinned" : "not set");
    free(blob);
    pipe_free(&q);
    pipe_free(&p);
}

/* The genuine peer lost its state and starts afresh: the fresh handshake
 * replaces the saved session once it completes with the same identity. */
static void hello_genuine(void)
{
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    pipe p;
    pipe_init(&p, 13, layers, n);
    pipe_handshake(&p);
    uint8_t apub[32], sid[32];
    EK_CHECK_OK(ek_identity_public(apub, &p.a.id));
    EK_CHECK_OK(ek_session_id(p.b.s, sid));
    uint8_t *blob = NULL;
    size_t blen = 0, bcap = 0;
    EK_CHECK_OK(ek_session_save(p.b.s, &blob, &blen, &bcap));
    ek_session_free(p.b.s);
    p.b.s = restore_side(&p.b, EK_ROLE_RESPONDER, layers, n, blob, blen, NULL);

    /* A hello that never finishes (a replay of a's, say): b gives up the
     * attempt after the stall time and keeps its saved session. */
    ek_session_free(p.a.s);
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = EK_ROLE_INITIATOR;
    cfg.layers = layers;
    cfg.n_layers = n;
    cfg.rng = &p.a.rng.rng;
    EK_CHECK_OK(ek_session_new(&p.a.s, &p.a.id, &cfg));
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_frame h[2];
    EK_CHECK(pipe_take(&p.a, h, 2) == 1);
    pipe_deliver(&p, &p.b, h[0].data, h[0].len);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_HANDSHAKING);
    ek_frame drop;
    while (ek_session_pop_frame(p.b.s, &drop) == 1) {
    }
    EK_CHECK_OK(ek_session_tick(p.b.s, p.now + EK_HANDSHAKE_STALL_MS));
    pipe_events(&p, &p.b);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_DISCONNECTED);
    while (ek_session_pop_frame(p.b.s, &drop) == 1) {
    } /* its handshake-timeout, for a gone by now */
    uint8_t *kept = NULL;
    size_t klen = 0, kcap = 0;
    EK_CHECK_OK(ek_session_save(p.b.s, &kept, &klen, &kcap));
    EK_CHECK(klen == blen && memcmp(kept, blob, blen) == 0);
    free(kept);
    free(h[0].data);

    /* Now a real fresh handshake from a. */
    p.now += EK_HANDSHAKE_STALL_MS + 1;
    ek_session_free(p.a.s);
    EK_CHECK_OK(ek_session_new(&p.a.s, &p.a.id, &cfg));
    unsigned long ready_b = p.b.ready;
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    EK_CHECK(p.b.ready == ready_b + 1);
    uint8_t peer[32], sid2[32];
    EK_CHECK_OK(ek_session_peer_identity(p.b.s, peer));
    EK_CHECK_OK(ek_session_id(p.b.s, sid2));
    EK_CHECK(memcmp(peer, apub, 32) == 0 && memcmp(sid, sid2, 32) != 0);
    unsigned long got = p.b.messages;
    send_text(&p, &p.a, 4, "a new session");
    pipe_flush(&p);
    EK_CHECK(p.b.messages == got + 1);
    printf("  hello from the same identity: an unfinished one changes nothing, a finished one "
           "replaces the saved session\n");
    free(blob);
    pipe_free(&p);
}

/* ---- F6: a replayed resume ---- */

static void resume_replay(void)
{
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    pipe p;
    pipe_init(&p, 31, layers, n);
    pipe_handshake(&p);
    ek_session_transport_lost(p.a.s);
    ek_session_transport_lost(p.b.s);
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_frame r[4];
    EK_CHECK(pipe_take(&p.a, r, 4) == 1); /* the resume, recorded on the path */
    pipe_deliver(&p, &p.b, r[0].data, r[0].len);
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    /* Later the channel drops again; a is gone; the path replays. */
    ek_session_transport_lost(p.a.s);
    ek_session_transport_lost(p.b.s);
    unsigned long ready_before = p.b.ready, failed_before = p.b.failed;
    pipe_deliver(&p, &p.b, r[0].data, r[0].len);
    EK_CHECK(ek_session_get_state(p.b.s) != EK_STATE_READY);
    EK_CHECK(p.b.ready == ready_before);
    ek_frame drop;
    while (ek_session_pop_frame(p.b.s, &drop) == 1) {
    }
    /* Unconfirmed, the attempt lapses and the session is as it was. */
    p.now += EK_HANDSHAKE_STALL_MS;
    EK_CHECK_OK(ek_session_tick(p.b.s, p.now));
    pipe_events(&p, &p.b);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_DISCONNECTED);
    EK_CHECK(p.b.ready == ready_before && p.b.failed == failed_before);
    /* The genuine resume still works. */
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    unsigned long got = p.b.messages;
    send_text(&p, &p.a, 5, "resumed");
    pipe_flush(&p);
    EK_CHECK(p.b.messages == got + 1);
    printf("  a replayed resume gives no ready; the genuine one does\n");
    free(r[0].data);
    pipe_free(&p);
}

/* ---- resumption corner cases ---- */

/* b did not notice the transport loss (still ready) when a resumes; then
 * both resume at once; a replayed resume against a ready b leaves it ready
 * with its keys after the confirmation time. */
static void ready_and_glare(void)
{
    pipe p;
    pipe_init(&p, 41, NULL, 0);
    pipe_handshake(&p);
    ek_session_transport_lost(p.a.s);
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_frame r[4];
    EK_CHECK(pipe_take(&p.a, r, 4) == 1);
    pipe_deliver(&p, &p.b, r[0].data, r[0].len);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_RESUMING);
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    unsigned long got = p.b.messages;
    send_text(&p, &p.a, 1, "one");
    send_text(&p, &p.b, 2, "two");
    pipe_flush(&p);
    EK_CHECK(p.b.messages == got + 1 && p.a.messages == 1);

    /* The replay against the ready b: it waits for a finish that never
     * comes, then is ready again with the keys it had. */
    pipe_deliver(&p, &p.b, r[0].data, r[0].len);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_RESUMING);
    ek_frame drop;
    while (ek_session_pop_frame(p.b.s, &drop) == 1) {
    }
    p.now += EK_RESUME_CONFIRM_MS;
    EK_CHECK_OK(ek_session_tick(p.b.s, p.now));
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    send_text(&p, &p.a, 3, "three");
    send_text(&p, &p.b, 4, "four");
    pipe_flush(&p);
    EK_CHECK(p.b.messages == got + 2 && p.a.messages == 2);

    /* Both resume at once: the initiator's resumption goes on. */
    ek_session_transport_lost(p.a.s);
    ek_session_transport_lost(p.b.s);
    unsigned long ra = p.a.ready, rb = p.b.ready;
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    EK_CHECK_OK(ek_session_start(p.b.s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    EK_CHECK(p.a.ready == ra + 1 && p.b.ready == rb + 1);
    send_text(&p, &p.a, 5, "five");
    send_text(&p, &p.b, 6, "six");
    pipe_flush(&p);
    EK_CHECK(p.b.messages == got + 3 && p.a.messages == 3);
    printf("  resume to a ready peer, a replay against it, both resuming at once: ready, "
           "messages flow\n");
    free(r[0].data);
    pipe_free(&p);
}

/* A state restored from so far back that the peer no longer holds its
 * ML-KEM epoch: no resumption can meet it; a fresh handshake takes over. */
static void too_far_back(void)
{
    static const char *const layers[] = {"ML-KEM", "AES"};
    pipe p;
    pipe_init(&p, 43, layers, 2);
    pipe_handshake(&p);
    uint8_t *blob = NULL;
    size_t blen = 0, bcap = 0;
    EK_CHECK_OK(ek_session_save(p.a.s, &blob, &blen, &bcap));
    uint8_t sid[32], sid2[32];
    EK_CHECK_OK(ek_session_id(p.a.s, sid));
    /* Three ML-KEM re-keys each way (one per 120 s). */
    for (int i = 0; i < 40; i++) {
        p.now += (uint64_t)10 * 1000;
        send_text(&p, &p.a, (uint64_t)i, "tick");
        send_text(&p, &p.b, (uint64_t)i, "tock");
        pipe_flush(&p);
    }
    ek_session_free(p.a.s);
    p.a.s = restore_side(&p.a, EK_ROLE_INITIATOR, layers, 2, blob, blen, NULL);
    ek_session_transport_lost(p.b.s);
    unsigned long ra = p.a.ready;
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    EK_CHECK(p.a.ready == ra + 1);
    EK_CHECK_OK(ek_session_id(p.a.s, sid2));
    EK_CHECK(memcmp(sid, sid2, 32) != 0);
    unsigned long got = p.b.messages;
    send_text(&p, &p.a, 100, "fresh");
    pipe_flush(&p);
    EK_CHECK(p.b.messages == got + 1);
    printf("  a state from before three ML-KEM re-keys: unknown-session, a fresh handshake\n");
    free(blob);
    pipe_free(&p);
}

int main(void)
{
    static const char *const aes[] = {"AES"};
    static const char *const mk_aes[] = {"ML-KEM", "AES"};
    stale_sender(aes, 1, "AES", 1);
    stale_sender(mk_aes, 2, "ML-KEM, AES", 1);
    const char *const *def;
    size_t nd = pipe_default_layers(&def);
    stale_sender(def, nd, "default", 0);
    stale_receiver();
    hello_hijack(0);
    hello_hijack(1);
    hello_genuine();
    resume_replay();
    ready_and_glare();
    too_far_back();
    return ek_test_finish("proto.resume");
}
