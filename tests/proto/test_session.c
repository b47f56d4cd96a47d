/*
 * test_session.c: two engines over an in-memory pipe (../shared/DESIGN.md
 * §6, issue 6): the handshake, 10,000 messages each way with the clock
 * running (so the ML-KEM layer re-keys and the AES layer rotates), a save
 * and restore of each side mid-stream with resumption, a chunked message,
 * typing and receipts refused by the privacy settings, and a close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_test.h"
#include "pipe.h"

enum { MESSAGES = 10000 };

typedef struct expect {
    uint64_t next[2]; /* next message number per receiving side */
    uint64_t chunk_bytes;
} expect;

static void body_for(char *out, size_t *len, int from_a, uint64_t n)
{
    *len = (size_t)snprintf(out, 200, "%s message %llu", from_a ? "a->b" : "b->a",
                            (unsigned long long)n);
    /* a few longer ones */
    if (n % 97 == 0) {
        memset(out + *len, 'x', 150);
        *len += 150;
    }
}

static void on_event(pipe *p, pipe_side *to, const ek_event *ev)
{
    expect *e = p->user;
    int at_b = to == &p->b;
    if (ev->type == EK_EVENT_FILE_CHUNK) {
        for (size_t i = 0; i < ev->len; i++)
            EK_CHECK(ev->data[i] == (uint8_t)(i * 7));
        e->chunk_bytes += ev->len;
        return;
    }
    if (ev->type != EK_EVENT_MESSAGE || strcmp(ev->pdu_type, "text") != 0)
        return;
    ek_pdu *pdu = NULL;
    EK_CHECK_OK(ek_pdu_parse(&pdu, ev->data, ev->len, EK_PDU_INNER));
    const char *body;
    size_t blen;
    EK_CHECK_OK(ek_pdu_string(pdu, "body", &body, &blen));
    char want[256];
    size_t wlen;
    body_for(want, &wlen, at_b, e->next[at_b]);
    EK_CHECK(blen == wlen && memcmp(body, want, wlen) == 0);
    e->next[at_b]++;
    ek_pdu_free(pdu);
}

static void send_text(pipe *p, pipe_side *from, uint64_t n)
{
    char body[256];
    size_t blen;
    body_for(body, &blen, from == &p->a, n);
    uint8_t env[1024];
    size_t len = pipe_text(env, sizeof(env), n, body, blen, p->now);
    EK_CHECK_OK(ek_session_send(from->s, env, len, p->now));
}

/* Save side, free it, restore it (Disconnected). */
static void save_restore(pipe *p, pipe_side *side, int role)
{
    uint8_t *blob = NULL;
    size_t len = 0, cap = 0;
    EK_CHECK_OK(ek_session_save(side->s, &blob, &len, &cap));
    ek_session_free(side->s);
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role;
    cfg.layers = layers;
    cfg.n_layers = n;
    cfg.rng = &side->rng.rng;
    cfg.send_typing = 1;
    cfg.send_read_receipts = 1;
    EK_CHECK_OK(ek_session_restore(&side->s, &side->id, &cfg, blob, len));
    EK_CHECK(ek_session_get_state(side->s) == EK_STATE_DISCONNECTED);
    /* A restored session saves to the same bytes. */
    uint8_t *again = NULL;
    size_t len2 = 0, cap2 = 0;
    EK_CHECK_OK(ek_session_save(side->s, &again, &len2, &cap2));
    EK_CHECK(len == len2 && memcmp(blob, again, len) == 0);
    printf("  saved state of %s: %zu bytes\n", role == EK_ROLE_INITIATOR ? "a" : "b", len);
    free(blob);
    free(again);
    (void)p;
}

/* A fresh session of side (its state lost), in role. */
static void fresh(pipe_side *side, int role)
{
    ek_session_free(side->s);
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role;
    cfg.layers = layers;
    cfg.n_layers = n;
    cfg.rng = &side->rng.rng;
    EK_CHECK_OK(ek_session_new(&side->s, &side->id, &cfg));
}

/* Resumption when the other side kept nothing (P7.4 "else
 * CryptoHandshaking"): the restored side falls back to a fresh handshake,
 * as initiator and as responder, and messages flow on the new session. */
static void resume_fallback(int restored_is_initiator)
{
    pipe p;
    pipe_init(&p, 7 + (unsigned)restored_is_initiator, NULL, 0);
    pipe_handshake(&p);
    uint8_t old_id[32], new_id[32];
    EK_CHECK_OK(ek_session_id(p.a.s, old_id));
    pipe_side *kept = restored_is_initiator ? &p.a : &p.b;
    pipe_side *lost = restored_is_initiator ? &p.b : &p.a;
    int kept_role = restored_is_initiator ? EK_ROLE_INITIATOR : EK_ROLE_RESPONDER;
    save_restore(&p, kept, kept_role);
    fresh(lost, restored_is_initiator ? EK_ROLE_RESPONDER : EK_ROLE_INITIATOR);
    unsigned long ready_kept = kept->ready, ready_lost = lost->ready;
    EK_CHECK_OK(ek_session_start(lost->s, p.now));
    EK_CHECK_OK(ek_session_start(kept->s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
    EK_CHECK(kept->ready == ready_kept + 1 && lost->ready == ready_lost + 1);
    EK_CHECK_OK(ek_session_id(p.a.s, new_id));
    EK_CHECK(memcmp(old_id, new_id, 32) != 0); /* a new session, not the old one */
    unsigned long before = p.b.messages;
    uint8_t env[256];
    size_t len = pipe_text(env, sizeof(env), 1, "after the fallback", 18, p.now);
    EK_CHECK_OK(ek_session_send(p.a.s, env, len, p.now));
    pipe_flush(&p);
    EK_CHECK(p.b.messages == before + 1);
    printf("  resume against a peer that kept nothing (%s restored): fresh handshake, ready\n",
           restored_is_initiator ? "initiator" : "responder");
    pipe_free(&p);
}

int main(void)
{
    pipe p;
    expect e;
    memset(&e, 0, sizeof(e));
    pipe_init(&p, 1, NULL, 0);
    p.on_event = on_event;
    p.user = &e;
    pipe_handshake(&p);
    EK_CHECK(p.a.ready == 1 && p.b.ready == 1);

    char sa[61], sb[61];
    EK_CHECK_OK(ek_session_safety_number(p.a.s, sa));
    EK_CHECK_OK(ek_session_safety_number(p.b.s, sb));
    EK_CHECK(strcmp(sa, sb) == 0 && strlen(sa) == 60);
    uint8_t ida[32], idb[32];
    EK_CHECK_OK(ek_session_id(p.a.s, ida));
    EK_CHECK_OK(ek_session_id(p.b.s, idb));
    EK_CHECK(memcmp(ida, idb, 32) == 0);
    uint8_t pa[32], pb[32], qa[32], qb[32];
    EK_CHECK_OK(ek_identity_public(pa, &p.a.id));
    EK_CHECK_OK(ek_identity_public(pb, &p.b.id));
    EK_CHECK_OK(ek_session_peer_identity(p.a.s, qb));
    EK_CHECK_OK(ek_session_peer_identity(p.b.s, qa));
    EK_CHECK(memcmp(pa, qa, 32) == 0 && memcmp(pb, qb, 32) == 0);
    printf("  handshake done; safety number %s\n", sa);

    uint64_t sent_a = 0, sent_b = 0;
    for (int step = 0; step < MESSAGES; step++) {
        p.now += 500;
        send_text(&p, &p.a, sent_a++);
        send_text(&p, &p.b, sent_b++);
        if (step % 7 == 0) {
            EK_CHECK_OK(ek_session_tick(p.a.s, p.now));
            EK_CHECK_OK(ek_session_tick(p.b.s, p.now));
        }
        if (step % 3 == 0)
            pipe_flush(&p);
        if (step == 3000) {
            pipe_flush(&p);
            save_restore(&p, &p.a, EK_ROLE_INITIATOR);
            ek_session_transport_lost(p.b.s);
            EK_CHECK_OK(ek_session_start(p.a.s, p.now));
            pipe_flush(&p);
            EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
            EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
        }
        if (step == 6000) {
            pipe_flush(&p);
            save_restore(&p, &p.a, EK_ROLE_INITIATOR);
            save_restore(&p, &p.b, EK_ROLE_RESPONDER);
            EK_CHECK_OK(ek_session_start(p.b.s, p.now));
            pipe_flush(&p);
            EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
            EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);
        }
    }
    pipe_flush(&p);
    EK_CHECK(e.next[0] == MESSAGES && e.next[1] == MESSAGES);
    printf("  %llu messages a->b, %llu b->a delivered in order; resumed %lu / %lu times\n",
           (unsigned long long)e.next[1], (unsigned long long)e.next[0], p.a.ready - 1,
           p.b.ready - 1);

    /* A message larger than a frame travels in chunks. */
    static uint8_t big[200000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    uint8_t transfer[16] = {1, 2, 3};
    EK_CHECK_OK(ek_session_send_file_chunk(p.a.s, transfer, 0, big, sizeof(big), p.now));
    pipe_flush(&p);
    EK_CHECK(e.chunk_bytes == sizeof(big));
    /* The largest message goes through every layer (64 chunks); one byte
     * more is refused at once, and nothing is queued or spent. */
    size_t most = EK_MAX_MESSAGE_BYTES - 21;
    uint8_t *huge = calloc(1, most + 1);
    if (huge == NULL) {
        ek_test_fail(__FILE__, __LINE__, "out of memory");
        return ek_test_finish("proto.session");
    }
    for (size_t i = 0; i <= most; i++)
        huge[i] = (uint8_t)(i * 7);
    e.chunk_bytes = 0;
    EK_CHECK_OK(ek_session_send_file_chunk(p.a.s, transfer, 1, huge, most, p.now));
    pipe_flush(&p);
    EK_CHECK(e.chunk_bytes == most);
    EK_CHECK_RC(ek_session_send_file_chunk(p.a.s, transfer, 2, huge, most + 1, p.now),
                EK_ERR_TOO_LARGE);
    ek_frame none;
    EK_CHECK(ek_session_pop_frame(p.a.s, &none) == 0);
    free(huge);

    /* Privacy: typing and receipts are refused when the settings say no. */
    ek_session_set_privacy(p.a.s, 0, 0);
    static const char typing[] =
        "{\"type\":\"typing\",\"specVersion\":\"1.0\",\"timestamp\":1,\"state\":\"start\"}";
    EK_CHECK_RC(ek_session_send(p.a.s, (const uint8_t *)typing, sizeof(typing) - 1, p.now),
                EK_ERR_STATE);
    ek_session_set_privacy(p.a.s, 1, 1);
    EK_CHECK_OK(ek_session_send(p.a.s, (const uint8_t *)typing, sizeof(typing) - 1, p.now));
    pipe_flush(&p);

    ek_session_stats st;
    ek_session_get_stats(p.b.s, &st);
    printf("  b: frames in %llu, messages in %llu, dropped %llu, deferred %llu\n",
           (unsigned long long)st.frames_in, (unsigned long long)st.messages_in,
           (unsigned long long)(st.dropped_malformed + st.dropped_replay + st.dropped_decrypt +
                                st.dropped_state + st.dropped_limit),
           (unsigned long long)st.deferred);
    EK_CHECK(st.dropped_decrypt == 0 && st.dropped_replay == 0 && st.dropped_malformed == 0);

    EK_CHECK_OK(ek_session_close(p.a.s, p.now));
    pipe_flush(&p);
    EK_CHECK(p.b.closed == 1 && ek_session_get_state(p.b.s) == EK_STATE_CLOSED);
    pipe_free(&p);
    resume_fallback(1);
    resume_fallback(0);
    return ek_test_finish("proto.session");
}
