/*
 * test_signal.c: the Signal layer's compact encoding and its two-phase open
 * (docs/protocol.md §5.3, §5.5), the regression tests of the session
 * review's findings F3 and F4:
 *
 *   - F4: an open that is rolled back (a layer inside failed) changes
 *     nothing: the same bytes open again to the same plaintext, and only a
 *     committed open spends the message key (then the bytes are a replay);
 *   - F3: every byte the layer sends is authenticated: a FULL message with
 *     another tag, a FULL message rewritten as SHORT (or a SHORT one as
 *     FULL) does not open, even though the ratchet message it stands for is
 *     the same; and the genuine bytes still open afterwards;
 *   - F3 through the engine, with the Signal layer alone (outermost): a
 *     frame whose tag was changed on the path delivers nothing, the genuine
 *     frame is delivered after it, and the next messages flow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_session.h>

#include "ek_test.h"
#include "pipe.h"

typedef struct pair {
    ek_rng_seeded ra, rb;
    ek_identity ia, ib;
    ek_layer *a, *b;
} pair;

static void pair_init(pair *p)
{
    ek_rng_seeded_init(&p->ra, (const uint8_t *)"signal a", 8);
    ek_rng_seeded_init(&p->rb, (const uint8_t *)"signal b", 8);
    EK_CHECK_OK(ek_identity_generate(&p->ia, &p->ra.rng));
    EK_CHECK_OK(ek_identity_generate(&p->ib, &p->rb.rng));
    uint8_t pa[32], pb[32], th[32];
    memset(th, 1, sizeof(th));
    EK_CHECK_OK(ek_identity_public(pa, &p->ia));
    EK_CHECK_OK(ek_identity_public(pb, &p->ib));
    EK_CHECK_OK(ek_layer_signal_new(&p->a, NULL, &p->ra.rng, &p->ia.signal));
    EK_CHECK_OK(ek_layer_signal_new(&p->b, NULL, &p->rb.rng, &p->ib.signal));
    ek_layer_hs ha = {EK_ROLE_INITIATOR, &p->ra.rng, 0, pa, pb, th};
    ek_layer_hs hb = {EK_ROLE_RESPONDER, &p->rb.rng, 0, pb, pa, th};
    ek_writer w1, w2, w3;
    ek_writer_init_growable(&w1, NULL);
    ek_writer_init_growable(&w2, NULL);
    ek_writer_init_growable(&w3, NULL);
    EK_CHECK_OK(p->a->ops->hello(p->a, &w1, &ha));
    EK_CHECK_OK(p->b->ops->respond(p->b, &w2, w1.buf, w1.len, &hb));
    EK_CHECK_OK(p->a->ops->finish(p->a, &w3, w2.buf, w2.len, &ha));
    EK_CHECK_OK(p->b->ops->complete(p->b, w3.buf, w3.len, &hb));
    uint8_t sid[32];
    memset(sid, 2, sizeof(sid));
    EK_CHECK_OK(p->a->ops->established(p->a, sid));
    EK_CHECK_OK(p->b->ops->established(p->b, sid));
    ek_writer_dispose(&w1);
    ek_writer_dispose(&w2);
    ek_writer_dispose(&w3);
}

static void pair_free(pair *p)
{
    ek_layer_free(p->a);
    ek_layer_free(p->b);
}

static const uint8_t ad[8] = "adadadad";

/* a seals message number seq. */
static size_t seal(pair *p, uint64_t seq, uint8_t *ct, size_t cap, const char *pt)
{
    ek_layer_msg m = {seq, 1, ad, sizeof(ad), 0};
    size_t n = 0;
    EK_CHECK_OK(p->a->ops->seal(p->a, ct, cap, &n, &m, (const uint8_t *)pt, strlen(pt)));
    return n;
}

/* b opens; commit (1), roll back (0); the ek_err. */
static int open_at_b(pair *p, uint64_t seq, const uint8_t *ct, size_t n, const char *want,
                     int commit)
{
    ek_layer_msg m = {seq, 0, ad, sizeof(ad), 0};
    uint8_t pt[1024];
    size_t pl = 0;
    int rc = p->b->ops->open(p->b, pt, sizeof(pt), &pl, &m, ct, n);
    if (rc == EK_OK && want != NULL)
        EK_CHECK(pl == strlen(want) && memcmp(pt, want, pl) == 0);
    if (rc == EK_OK && commit)
        p->b->ops->commit(p->b);
    else
        p->b->ops->rollback(p->b);
    return rc;
}

/* F4: open, roll back, open again. */
static void rollback(void)
{
    pair p;
    pair_init(&p);
    uint8_t c0[512], c1[512], c2[512];
    size_t n0 = seal(&p, 0, c0, sizeof(c0), "secret zero");
    size_t n1 = seal(&p, 1, c1, sizeof(c1), "secret one");
    size_t n2 = seal(&p, 2, c2, sizeof(c2), "secret two");
    EK_CHECK(c0[0] == 0x01 && c1[0] >= 0x80 && c2[0] >= 0x80); /* FULL, then SHORT */
    /* A FULL message: rolled back, it opens again; committed, it is spent. */
    EK_CHECK_OK(open_at_b(&p, 0, c0, n0, "secret zero", 0));
    EK_CHECK_OK(open_at_b(&p, 0, c0, n0, "secret zero", 0));
    EK_CHECK_OK(open_at_b(&p, 0, c0, n0, "secret zero", 1));
    EK_CHECK(open_at_b(&p, 0, c0, n0, NULL, 0) != EK_OK);
    /* Out of order: message 2 skips 1, rolled back, then in order. */
    EK_CHECK_OK(open_at_b(&p, 2, c2, n2, "secret two", 0));
    EK_CHECK_OK(open_at_b(&p, 1, c1, n1, "secret one", 0));
    EK_CHECK_OK(open_at_b(&p, 2, c2, n2, "secret two", 0));
    EK_CHECK_OK(open_at_b(&p, 1, c1, n1, "secret one", 1));
    EK_CHECK_OK(open_at_b(&p, 2, c2, n2, "secret two", 1));
    EK_CHECK(open_at_b(&p, 1, c1, n1, NULL, 0) != EK_OK);
    EK_CHECK(open_at_b(&p, 2, c2, n2, NULL, 0) != EK_OK);
    printf("  Signal layer: a rolled-back open changes nothing (FULL and SHORT, in and out of "
           "order); a committed one is final\n");
    pair_free(&p);
}

/* F3: the compact encoding's own bytes are authenticated. */
static void encoding(void)
{
    enum { N = 34 };
    pair p;
    pair_init(&p);
    static uint8_t c[N][256];
    size_t n[N];
    char pt[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(pt[i], sizeof(pt[i]), "message %d", i);
        n[i] = seal(&p, (uint64_t)i, c[i], sizeof(c[i]), pt[i]);
    }
    /* FULL: 01 || tag || u[32] || varint(N) || varint(PN) || ct || mac
     * (N and PN below 64 here: one byte each); SHORT: (80 | tag) || ct ||
     * mac. The chain's counter N is seq + 1 (the handshake's finish message
     * was its first), so FULL at seq 0 (a new chain) and at N mod 32 < 2. */
    const size_t full_hdr = 1 + 1 + 32 + 1 + 1;
    uint8_t tag = c[0][1];
    EK_CHECK(c[0][0] == 0x01 && c[1][0] == (0x80 | tag) && c[31][0] == 0x01 && c[32][0] == 0x01 &&
             c[33][0] == (0x80 | tag));
    uint8_t x[300];

    /* Another tag on a FULL message. */
    memcpy(x, c[0], n[0]);
    x[1] ^= 0x2a;
    EK_CHECK(open_at_b(&p, 0, x, n[0], NULL, 0) != EK_OK);
    EK_CHECK_OK(open_at_b(&p, 0, c[0], n[0], pt[0], 1)); /* b knows the chain now */

    /* FULL rewritten as SHORT: the same ratchet message, other bytes. */
    x[0] = (uint8_t)(0x80 | tag);
    memcpy(x + 1, c[31] + full_hdr, n[31] - full_hdr);
    int as_short = open_at_b(&p, 31, x, 1 + n[31] - full_hdr, NULL, 0);
    EK_CHECK(as_short != EK_OK);

    /* SHORT rewritten as FULL (u and PN from message 0, N = 2). */
    memcpy(x, c[0], full_hdr);
    x[full_hdr - 2] = 2;
    memcpy(x + full_hdr, c[1] + 1, n[1] - 1);
    int as_full = open_at_b(&p, 1, x, full_hdr + n[1] - 1, NULL, 0);
    EK_CHECK(as_full != EK_OK);

    /* The genuine bytes open, in order. */
    for (int i = 1; i < N; i++)
        EK_CHECK_OK(open_at_b(&p, (uint64_t)i, c[i], n[i], pt[i], 1));
    printf("  Signal layer: changed tag, FULL as SHORT, SHORT as FULL refused (%s, %s); genuine "
           "bytes open\n",
           ek_strerror(as_short), ek_strerror(as_full));
    pair_free(&p);
}

/* F3 through the engine: ["Signal"] alone, so its bytes are on the wire. */
static void engine_tag(void)
{
    static const char *const layers[] = {"Signal"};
    pipe p;
    pipe_init(&p, 5, layers, 1);
    pipe_handshake(&p);
    uint8_t env[256];
    size_t l = pipe_text(env, sizeof(env), 1, "hello b", 7, p.now);
    EK_CHECK_OK(ek_session_send(p.a.s, env, l, p.now));
    pipe_frame f[4];
    EK_CHECK(pipe_take(&p.a, f, 4) == 1);
    /* e1 || varint(seq) = 00 || form || tag || ... */
    EK_CHECK(f[0].data[2] == 0x01);
    f[0].data[3] ^= 0x2a;
    pipe_deliver(&p, &p.b, f[0].data, f[0].len);
    EK_CHECK(p.b.messages == 0);
    f[0].data[3] ^= 0x2a;
    pipe_deliver(&p, &p.b, f[0].data, f[0].len);
    EK_CHECK(p.b.messages == 1);
    for (int i = 0; i < 3; i++) {
        l = pipe_text(env, sizeof(env), 2 + (uint64_t)i, "hello b", 7, p.now);
        EK_CHECK_OK(ek_session_send(p.a.s, env, l, p.now));
        pipe_flush(&p);
    }
    EK_CHECK(p.b.messages == 4);
    ek_session_stats st;
    ek_session_get_stats(p.b.s, &st);
    EK_CHECK(st.dropped_replay == 0 && st.deferred == 0);
    printf("  engine, [\"Signal\"]: a frame with a changed tag delivers nothing; the genuine one "
           "and the next three are delivered\n");
    free(f[0].data);
    pipe_free(&p);
}

int main(void)
{
    rollback();
    encoding();
    engine_tag();
    return ek_test_finish("cascade.signal");
}
