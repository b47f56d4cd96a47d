/*
 * test_layers.c: the cascade and its layers without the engine. Two
 * cascades run the layers' handshake steps directly (a fixed transcript
 * hash stands in for the engine's), then exchange messages both ways:
 * in order, out of order, with tampering (rejected, nothing changes),
 * replays (rejected), ML-KEM re-keys and AES rotations (the control
 * messages handed straight to the peer layer), and save/restore of every
 * layer mid-stream. Layer lists: each layer alone, and the Signal/ML-KEM/AES
 * cascade in the default order and reversed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#include "ek_test.h"

enum { MAX_PT = 3000, WIRE = MAX_PT + 1024, FLIGHT = 24 };
#define T0 1717000000000ull

typedef struct side {
    ek_cascade *c;
    ek_ratchet_identity sid;
    uint64_t seq;
    int role;
} side;

static ek_rng_seeded rng_i, rng_r, rng_t;

static uint32_t rnd(void)
{
    uint8_t b[4];
    if (ek_random(&rng_t.rng, b, 4) != EK_OK)
        abort();
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static ek_cascade *make_cascade(const char *const *names, size_t n, const ek_rng *rng,
                                const ek_ratchet_identity *id)
{
    ek_layer *ls[EK_CASCADE_MAX_LAYERS];
    for (size_t i = 0; i < n; i++)
        EK_CHECK_OK(ek_layer_new_by_name(&ls[i], names[i], NULL, rng, id));
    ek_cascade *c = NULL;
    EK_CHECK_OK(ek_cascade_new(&c, NULL, ls, n));
    return c;
}

/* The layers' handshake, as the engine drives it. */
static void handshake(side *a, side *b)
{
    uint8_t th[32], sid[32], ida[32], idb[32];
    memset(th, 0x11, sizeof(th));
    memset(sid, 0x22, sizeof(sid));
    memset(ida, 0xaa, sizeof(ida));
    memset(idb, 0xbb, sizeof(idb));
    ek_layer_hs ha = {EK_ROLE_INITIATOR, &rng_i.rng, T0, ida, idb, th};
    ek_layer_hs hb = {EK_ROLE_RESPONDER, &rng_r.rng, T0, idb, ida, th};
    for (size_t k = 0; k < ek_cascade_layer_count(a->c); k++) {
        ek_layer *la = ek_cascade_layer(a->c, k), *lb = ek_cascade_layer(b->c, k);
        ek_writer w1, w2, w3;
        ek_writer_init_growable(&w1, NULL);
        ek_writer_init_growable(&w2, NULL);
        ek_writer_init_growable(&w3, NULL);
        EK_CHECK_OK(la->ops->hello(la, &w1, &ha));
        EK_CHECK_OK(lb->ops->respond(lb, &w2, w1.buf, w1.len, &hb));
        uint8_t b1[32] = {0}, b2[32] = {0}, f1[32] = {0}, f2[32] = {0};
        size_t n1 = 0, n2 = 0, m1 = 0, m2 = 0;
        int binds = la->ops->binder != NULL; /* the Signal layer has none */
        if (binds)
            EK_CHECK_OK(lb->ops->binder(lb, b2, &n2, EK_HS_STAGE_RESPONSE, &hb));
        EK_CHECK_OK(la->ops->finish(la, &w3, w2.buf, w2.len, &ha));
        if (binds)
            EK_CHECK_OK(la->ops->binder(la, b1, &n1, EK_HS_STAGE_RESPONSE, &ha));
        EK_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
        if (binds)
            EK_CHECK_OK(la->ops->binder(la, f1, &m1, EK_HS_STAGE_FINISH, &ha));
        EK_CHECK_OK(lb->ops->complete(lb, w3.buf, w3.len, &hb));
        if (binds)
            EK_CHECK_OK(lb->ops->binder(lb, f2, &m2, EK_HS_STAGE_FINISH, &hb));
        EK_CHECK(m1 == m2 && memcmp(f1, f2, m1) == 0);
        EK_CHECK_OK(la->ops->established(la, sid));
        EK_CHECK_OK(lb->ops->established(lb, sid));
        ek_writer_dispose(&w1);
        ek_writer_dispose(&w2);
        ek_writer_dispose(&w3);
    }
}

/* The control messages of every layer of from, handed to to's layer. */
static void pump_controls(side *from, side *to, uint64_t now)
{
    for (size_t k = 0; k < ek_cascade_layer_count(from->c); k++) {
        ek_layer *lf = ek_cascade_layer(from->c, k), *lt = ek_cascade_layer(to->c, k);
        if (lf->ops->poll_control == NULL)
            continue;
        ek_layer_control ctl;
        int guard = 0;
        while (lf->ops->poll_control(lf, &ctl, now) == 1 && guard++ < 8) {
            uint8_t copy[4096];
            EK_CHECK(ctl.data_len <= sizeof(copy));
            if (ctl.data_len > 0)
                memcpy(copy, ctl.data, ctl.data_len);
            ctl.data = copy;
            EK_CHECK_OK(lt->ops->control(lt, &ctl, now));
        }
    }
}

/* Save every layer of s and restore into a fresh cascade. */
static void save_restore(side *s, const char *const *names, size_t n, const ek_rng *rng)
{
    ek_cascade *fresh = make_cascade(names, n, rng, &s->sid);
    for (size_t k = 0; k < n; k++) {
        ek_layer *l = ek_cascade_layer(s->c, k), *f = ek_cascade_layer(fresh, k);
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        EK_CHECK_OK(l->ops->save(l, &w));
        EK_CHECK_OK(f->ops->restore(f, w.buf, w.len));
        /* A restored layer saves to the same bytes. */
        ek_writer w2;
        ek_writer_init_growable(&w2, NULL);
        EK_CHECK_OK(f->ops->save(f, &w2));
        EK_CHECK(w.len == w2.len && memcmp(w.buf, w2.buf, w.len) == 0);
        ek_writer_dispose(&w);
        ek_writer_dispose(&w2);
    }
    ek_cascade_free(s->c);
    s->c = fresh;
}

typedef struct msg {
    uint8_t wire[WIRE];
    size_t len;
    uint8_t pt[MAX_PT];
    size_t pt_len;
    uint64_t seq;
} msg;

static void ad_for(uint8_t ad[9], int dir, uint64_t seq)
{
    ad[0] = (uint8_t)dir;
    for (int i = 0; i < 8; i++)
        ad[1 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

static void seal_one(side *s, int dir, msg *m, uint64_t now)
{
    m->pt_len = rnd() % 5 == 0 ? rnd() % MAX_PT : rnd() % 64;
    if (ek_random(&rng_t.rng, m->pt, m->pt_len) != EK_OK)
        abort();
    m->seq = s->seq++;
    uint8_t ad[9];
    ad_for(ad, dir, m->seq);
    ek_layer_msg lm = {m->seq, 1, ad, sizeof(ad), now};
    EK_CHECK(ek_cascade_sealed_max(s->c, m->pt_len) <= WIRE);
    EK_CHECK_OK(ek_cascade_seal(s->c, m->wire, WIRE, &m->len, &lm, m->pt, m->pt_len));
}

static int open_one(side *s, int dir, const msg *m, const uint8_t *wire, size_t len, uint64_t now,
                    uint8_t *out, size_t *out_len)
{
    uint8_t ad[9];
    ad_for(ad, dir, m->seq);
    ek_layer_msg lm = {m->seq, 0, ad, sizeof(ad), now};
    return ek_cascade_open(s->c, out, WIRE, out_len, &lm, wire, len);
}

static void run(const char *const *names, size_t n, unsigned seed, int steps)
{
    uint8_t sd[8] = {(uint8_t)seed, (uint8_t)(seed >> 8), 1, 2, 3, 4, 5, 6};
    ek_rng_seeded_init(&rng_i, sd, sizeof(sd));
    sd[2] = 9;
    ek_rng_seeded_init(&rng_r, sd, sizeof(sd));
    sd[2] = 7;
    ek_rng_seeded_init(&rng_t, sd, sizeof(sd));
    side a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    EK_CHECK_OK(ek_ratchet_identity_generate(&a.sid, &rng_i.rng));
    EK_CHECK_OK(ek_ratchet_identity_generate(&b.sid, &rng_r.rng));
    a.c = make_cascade(names, n, &rng_i.rng, &a.sid);
    b.c = make_cascade(names, n, &rng_r.rng, &b.sid);
    handshake(&a, &b);

    static msg flight[2][FLIGHT];
    int nf[2] = {0, 0};
    uint64_t now = T0;
    unsigned delivered = 0, tampered = 0, replays = 0, restores = 0, deferred = 0;
    static uint8_t out[WIRE], bad[WIRE];
    for (int step = 0; step < steps; step++) {
        now += rnd() % 2000;
        int dir = (int)(rnd() & 1);
        side *tx = dir == 0 ? &a : &b, *rx = dir == 0 ? &b : &a;
        uint32_t what = rnd() % 10;
        if (what < 5 && nf[dir] < FLIGHT) {
            seal_one(tx, dir, &flight[dir][nf[dir]++], now);
        } else if (nf[dir] > 0) {
            /* deliver one of the oldest few: reordering within a window */
            int i = (int)(rnd() % (uint32_t)(nf[dir] < 4 ? nf[dir] : 4));
            msg *m = &flight[dir][i];
            size_t got = 0;
            if (rnd() % 4 == 0) {
                /* a tampered copy first: rejected */
                memcpy(bad, m->wire, m->len);
                size_t bl = m->len;
                switch (rnd() % 3) {
                case 0: bad[rnd() % bl] ^= (uint8_t)(1u << (rnd() % 8)); break;
                case 1: bl = rnd() % bl; break;
                default: bad[bl++] = (uint8_t)rnd(); break;
                }
                EK_CHECK(open_one(rx, dir, m, bad, bl, now, out, &got) != EK_OK);
                tampered++;
            }
            int rc = open_one(rx, dir, m, m->wire, m->len, now, out, &got);
            if (rc == EK_ERR_STATE) {
                /* A Signal SHORT message ahead of its chain's FULL one:
                 * the engine keeps such a frame and retries it later. */
                deferred++;
                continue;
            }
            EK_CHECK_OK(rc);
            EK_CHECK(rc != EK_OK || (got == m->pt_len && memcmp(out, m->pt, got) == 0));
            delivered++;
            /* The AES layer alone has no replay state (its nonces are
             * deterministic): the engine's replay window covers it. */
            if (rnd() % 8 == 0 && !(n == 1 && strcmp(names[0], "AES") == 0)) {
                EK_CHECK(open_one(rx, dir, m, m->wire, m->len, now, out, &got) != EK_OK);
                replays++;
            }
            memmove(&flight[dir][i], &flight[dir][i + 1], (size_t)(nf[dir] - i - 1) * sizeof(msg));
            nf[dir]--;
        }
        if (rnd() % 3 == 0)
            pump_controls(tx, rx, now);
        if (rnd() % 3 == 0)
            pump_controls(rx, tx, now);
        if (rnd() % 400 == 0) {
            save_restore(rnd() & 1 ? &a : &b, names, n, rnd() & 1 ? &rng_i.rng : &rng_r.rng);
            restores++;
        }
    }
    printf("  layers");
    for (size_t i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf(": seed %u, delivered %u, deferred %u, tampered rejected %u, replays rejected %u, "
           "restores %u\n",
           seed, delivered, deferred, tampered, replays, restores);
    ek_cascade_free(a.c);
    ek_cascade_free(b.c);
}

/* The ML-KEM layer re-keys after EK_MLKEM_REKEY_MESSAGES: send past it in
 * one direction with controls pumped, and check the overhead stays. */
static void mlkem_rekey_stream(void)
{
    const char *names[] = {"ML-KEM"};
    uint8_t sd[4] = {42, 0, 0, 1};
    ek_rng_seeded_init(&rng_i, sd, sizeof(sd));
    sd[3] = 2;
    ek_rng_seeded_init(&rng_r, sd, sizeof(sd));
    side a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.c = make_cascade(names, 1, &rng_i.rng, NULL);
    b.c = make_cascade(names, 1, &rng_r.rng, NULL);
    handshake(&a, &b);
    static msg m;
    static uint8_t out[WIRE];
    unsigned epochs_seen = 0;
    uint8_t last_epoch = 0;
    for (int i = 0; i < 5000; i++) {
        seal_one(&a, 0, &m, T0 + (uint64_t)i);
        if (m.wire[0] != last_epoch) {
            epochs_seen++;
            last_epoch = m.wire[0];
        }
        size_t got = 0;
        EK_CHECK_OK(open_one(&b, 0, &m, m.wire, m.len, T0 + (uint64_t)i, out, &got));
        EK_CHECK(m.len - m.pt_len <= 1 + 2 + 16);
        pump_controls(&a, &b, T0 + (uint64_t)i);
        pump_controls(&b, &a, T0 + (uint64_t)i);
    }
    printf("  ML-KEM: 5000 messages, %u re-keys\n", epochs_seen);
    EK_CHECK(epochs_seen >= 4);
    ek_cascade_free(a.c);
    ek_cascade_free(b.c);
}

/* The AES layer rotates every EK_AES_ROTATE_MS: an hour apart, each
 * message is in a new epoch; a late message of the previous epoch still
 * opens (within EK_AES_PREVIOUS_EPOCH_MS); the peer follows the
 * rotation-timestamp-broadcast by rotating its own direction. */
static void aes_rotation_stream(void)
{
    const char *names[] = {"AES"};
    uint8_t sd[4] = {43, 0, 0, 1};
    ek_rng_seeded_init(&rng_i, sd, sizeof(sd));
    sd[3] = 2;
    ek_rng_seeded_init(&rng_r, sd, sizeof(sd));
    side a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.c = make_cascade(names, 1, &rng_i.rng, NULL);
    b.c = make_cascade(names, 1, &rng_r.rng, NULL);
    handshake(&a, &b);
    static msg m, late, back;
    static uint8_t out[WIRE];
    uint64_t now = T0;
    size_t got = 0;
    for (int i = 0; i < 6; i++) {
        seal_one(&a, 0, &late, now);
        now += 3600 * 1000 + 1;
        seal_one(&a, 0, &m, now);
        EK_CHECK(m.wire[0] == (uint8_t)(i + 1) && late.wire[0] == (uint8_t)i);
        EK_CHECK_OK(open_one(&b, 0, &m, m.wire, m.len, now, out, &got));
        EK_CHECK_OK(open_one(&b, 0, &late, late.wire, late.len, now, out, &got));
        pump_controls(&a, &b, now);
        /* b followed: its own direction is in the same epoch now */
        seal_one(&b, 1, &back, now);
        EK_CHECK(back.wire[0] == (uint8_t)(i + 1));
        EK_CHECK_OK(open_one(&a, 1, &back, back.wire, back.len, now, out, &got));
    }
    /* Long after, the previous epoch's key is gone. */
    seal_one(&a, 0, &late, now);
    now += 3600 * 1000 + 1;
    seal_one(&a, 0, &m, now);
    EK_CHECK_OK(open_one(&b, 0, &m, m.wire, m.len, now, out, &got));
    pump_controls(&b, &a, now);
    pump_controls(&a, &b, now);
    now += (uint64_t)10 * 60 * 1000;
    pump_controls(&a, &b, now);
    EK_CHECK(open_one(&b, 0, &late, late.wire, late.len, now, out, &got) == EK_ERR_AUTH);
    printf("  AES: 7 rotations followed by the peer, late frames within the grace period open\n");
    ek_cascade_free(a.c);
    ek_cascade_free(b.c);
}

/* The MLS layer outside a layer that asks to retry (a Signal SHORT message
 * ahead of its chain's FULL one): the MLS library deletes a generation's
 * key as soon as it opens, so the layer must give the same bytes back when
 * the cascade retries them, and nothing else (docs/protocol.md §5.3). */
static void mls_outside_retry(void)
{
    const char *names[] = {"Signal", "MLS"};
    uint8_t sd[4] = {44, 0, 0, 1};
    ek_rng_seeded_init(&rng_i, sd, sizeof(sd));
    sd[3] = 2;
    ek_rng_seeded_init(&rng_r, sd, sizeof(sd));
    sd[3] = 3;
    ek_rng_seeded_init(&rng_t, sd, sizeof(sd));
    side a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    EK_CHECK_OK(ek_ratchet_identity_generate(&a.sid, &rng_i.rng));
    EK_CHECK_OK(ek_ratchet_identity_generate(&b.sid, &rng_r.rng));
    a.c = make_cascade(names, 2, &rng_i.rng, &a.sid);
    b.c = make_cascade(names, 2, &rng_r.rng, &b.sid);
    handshake(&a, &b);
    static msg m[4];
    static uint8_t out[WIRE], bad[WIRE];
    size_t got = 0;
    for (int i = 0; i < 4; i++)
        seal_one(&a, 0, &m[i], T0);
    /* m[2] and m[3] are SHORT Signal messages of a chain b has not seen. */
    for (int round = 0; round < 2; round++) {
        EK_CHECK_RC(open_one(&b, 0, &m[3], m[3].wire, m[3].len, T0, out, &got), EK_ERR_STATE);
        EK_CHECK_RC(open_one(&b, 0, &m[2], m[2].wire, m[2].len, T0, out, &got), EK_ERR_STATE);
    }
    /* An altered copy of a retained frame is not the frame. */
    memcpy(bad, m[2].wire, m[2].len);
    bad[m[2].len / 2] ^= 0x20;
    EK_CHECK(open_one(&b, 0, &m[2], bad, m[2].len, T0, out, &got) == EK_ERR_AUTH);
    /* The same bytes under other associated data are not either. */
    msg other = m[2];
    other.seq = m[3].seq;
    EK_CHECK(open_one(&b, 0, &other, m[2].wire, m[2].len, T0, out, &got) == EK_ERR_AUTH);
    /* The chain's FULL message, then the kept ones, in any order. */
    EK_CHECK_OK(open_one(&b, 0, &m[0], m[0].wire, m[0].len, T0, out, &got));
    EK_CHECK(got == m[0].pt_len && memcmp(out, m[0].pt, got) == 0);
    EK_CHECK_OK(open_one(&b, 0, &m[3], m[3].wire, m[3].len, T0, out, &got));
    EK_CHECK(got == m[3].pt_len && memcmp(out, m[3].pt, got) == 0);
    EK_CHECK_OK(open_one(&b, 0, &m[2], m[2].wire, m[2].len, T0, out, &got));
    EK_CHECK(got == m[2].pt_len && memcmp(out, m[2].pt, got) == 0);
    EK_CHECK_OK(open_one(&b, 0, &m[1], m[1].wire, m[1].len, T0, out, &got));
    /* Once committed, a retained frame is gone: a replay fails. */
    for (int i = 0; i < 4; i++)
        EK_CHECK(open_one(&b, 0, &m[i], m[i].wire, m[i].len, T0, out, &got) != EK_OK);
    printf("  MLS outside Signal: kept frames open once on retry, altered copies never\n");
    ek_cascade_free(a.c);
    ek_cascade_free(b.c);
}

/* A message too large for a layer (the Signal layer takes at most
 * EK_RATCHET_MAX_PLAINTEXT bytes) is refused cleanly, in any position. */
static void too_large(void)
{
    const char *names[] = {"Signal", "AES"};
    uint8_t sd[4] = {45, 0, 0, 1};
    ek_rng_seeded_init(&rng_i, sd, sizeof(sd));
    sd[3] = 2;
    ek_rng_seeded_init(&rng_r, sd, sizeof(sd));
    side a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    EK_CHECK_OK(ek_ratchet_identity_generate(&a.sid, &rng_i.rng));
    EK_CHECK_OK(ek_ratchet_identity_generate(&b.sid, &rng_r.rng));
    for (int order = 0; order < 2; order++) {
        const char *list[2] = {names[order], names[1 - order]};
        a.c = make_cascade(list, 2, &rng_i.rng, &a.sid);
        b.c = make_cascade(list, 2, &rng_r.rng, &b.sid);
        handshake(&a, &b);
        size_t n = EK_RATCHET_MAX_PLAINTEXT + 1;
        EK_CHECK(ek_cascade_sealed_max(a.c, n) == SIZE_MAX);
        EK_CHECK(ek_cascade_sealed_max(a.c, EK_RATCHET_MAX_PLAINTEXT - 64) < SIZE_MAX);
        uint8_t *pt = calloc(1, n), *out = calloc(1, n + 4096);
        EK_CHECK(pt != NULL && out != NULL);
        uint8_t ad[9] = {0};
        ek_layer_msg lm = {0, 1, ad, sizeof(ad), T0};
        size_t len = 0;
        EK_CHECK_RC(ek_cascade_seal(a.c, out, n + 4096, &len, &lm, pt, n), EK_ERR_TOO_LARGE);
        free(pt);
        free(out);
        ek_cascade_free(a.c);
        ek_cascade_free(b.c);
    }
    printf("  a message over a layer's limit: refused (EK_ERR_TOO_LARGE), either order\n");
}

int main(void)
{
    (void)setvbuf(stdout, NULL, _IONBF, 0); /* keep reports in order with failures */
    const char *aes[] = {"AES"}, *mlkem[] = {"ML-KEM"}, *signal[] = {"Signal"};
    const char *three[] = {"Signal", "ML-KEM", "AES"}, *rev[] = {"AES", "ML-KEM", "Signal"};
    const char *mls[] = {"MLS"}, *four[] = {"MLS", "Signal", "ML-KEM", "AES"};
    const char *four_rev[] = {"AES", "ML-KEM", "Signal", "MLS"};
    ek_layer *probe = NULL;
    int have_mls = ek_layer_mls_new(&probe, NULL, NULL) == EK_OK;
    ek_layer_free(probe);
    for (unsigned s = 0; s < 3; s++) {
        run(aes, 1, s, 1500);
        run(mlkem, 1, s, 1500);
        run(signal, 1, s, 1500);
        run(three, 3, s, 3000);
        run(rev, 3, s, 1500);
        if (have_mls) {
            run(mls, 1, s, 1500);
            run(four, 4, s, 3000);
            run(four_rev, 4, s, 1500);
        }
    }
    if (!have_mls)
        printf("  the MLS layer is not available (MLS part 2 not in the tree): not tested\n");
    if (have_mls)
        mls_outside_retry();
    mlkem_rekey_stream();
    aes_rotation_stream();
    too_large();
    return ek_test_finish("cascade.layers");
}
