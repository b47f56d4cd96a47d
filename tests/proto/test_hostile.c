/*
 * test_hostile.c: the hostile pipe, a property test over many seeds
 * (../shared/DESIGN.md §6, issue 6). After a clean handshake, two engines
 * talk through a network that drops, reorders (within a window),
 * duplicates, truncates, extends and bit-flips frames, and injects random
 * frames and replays of old ones (handshake PDUs included), while the clock
 * runs so the layers re-key and rotate (their control messages suffer the
 * same network). Properties:
 *
 *   - a frame that was altered or injected never yields an event (no
 *     message, no file chunk, no ready, failed, error or closed);
 *   - every message delivered is one that was sent, byte for byte, and none
 *     is delivered twice, however often its frame is replayed;
 *   - valid traffic keeps flowing: most messages arrive during the hostile
 *     phase, and after it, on a clean network, every new message arrives
 *     both ways.
 *
 *   test_proto_hostile [SEEDS [STEPS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_test.h"
#include "pipe.h"

enum { MAX_FLIGHT = 256, WINDOW = 5, MAX_MSGS = 8192, HISTORY = 64 };

typedef struct net {
    pipe_frame q[2][MAX_FLIGHT]; /* q[0]: a -> b, q[1]: b -> a */
    size_t n[2];
    pipe_frame hist[HISTORY]; /* delivered frames, for replays */
    size_t n_hist, hist_at;
} net;

typedef struct world {
    pipe p;
    net nt;
    ek_rng_seeded rng;
    uint64_t sent[2];               /* messages sent by a (0) and b (1) */
    uint8_t delivered[2][MAX_MSGS]; /* per sender, per message number */
    unsigned long got[2], bad_events, dup_delivery, wrong_content;
    int hostile_frame; /* the frame being delivered is not genuine */
    const char *bad_kind;
    uint8_t bad_first;
    size_t bad_len;
    unsigned long events_from_bad;
    unsigned long mutated, injected, dropped, duplicated, full;
} world;

static uint32_t rnd(world *w)
{
    uint8_t b[4];
    if (ek_random(&w->rng.rng, b, 4) != EK_OK)
        abort();
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static size_t body_of(char *out, size_t cap, int sender, uint64_t n)
{
    size_t len = (size_t)snprintf(out, cap, "%c:%llu:", sender ? 'b' : 'a', (unsigned long long)n);
    size_t extra = (size_t)(n * 37 % 300);
    for (size_t i = 0; i < extra && len + 1 < cap; i++)
        out[len++] = (char)('a' + (n + i) % 26);
    return len;
}

static void on_event(pipe *p, pipe_side *to, const ek_event *ev)
{
    world *w = p->user;
    if (w->hostile_frame) {
        w->events_from_bad++;
        if (getenv("HOSTILE_VERBOSE") != NULL)
            printf("  event %d (%s) from a %s frame, first byte %02x len %zu\n", ev->type,
                   ev->pdu_type != NULL ? ev->pdu_type : "-", w->bad_kind, w->bad_first,
                   w->bad_len);
        return;
    }
    if (ev->type != EK_EVENT_MESSAGE && ev->type != EK_EVENT_FILE_CHUNK) {
        w->bad_events++;
        if (getenv("HOSTILE_VERBOSE") != NULL)
            printf("  event %d (code %s) at %s\n", ev->type, ev->code != NULL ? ev->code : "-",
                   to == &p->a ? "a" : "b");
        return;
    }
    int sender = to == &p->a; /* messages to a come from b */
    uint64_t n = 0;
    if (ev->type == EK_EVENT_FILE_CHUNK) {
        n = ev->chunk_index;
        int ok = ev->transfer[0] == (uint8_t)sender && ev->len == 40000;
        for (size_t i = 0; ok && i < ev->len; i++)
            ok = ev->data[i] == (uint8_t)(i + n);
        if (!ok)
            w->wrong_content++;
    } else {
        ek_pdu *pdu = NULL;
        const char *body = NULL;
        size_t blen = 0;
        if (ek_pdu_parse(&pdu, ev->data, ev->len, EK_PDU_INNER) != EK_OK ||
            ek_pdu_string(pdu, "body", &body, &blen) != EK_OK) {
            w->wrong_content++;
            ek_pdu_free(pdu);
            return;
        }
        n = strtoull(body + 2, NULL, 10);
        char want[512];
        size_t wlen = body_of(want, sizeof(want), sender, n);
        if (blen != wlen || memcmp(body, want, wlen) != 0 || n >= w->sent[sender])
            w->wrong_content++;
        ek_pdu_free(pdu);
    }
    if (n >= MAX_MSGS) {
        w->wrong_content++;
        return;
    }
    if (w->delivered[sender][n])
        w->dup_delivery++;
    w->delivered[sender][n] = 1;
    w->got[sender]++;
}

static void collect(world *w)
{
    for (int d = 0; d < 2; d++) {
        pipe_side *from = d == 0 ? &w->p.a : &w->p.b;
        ek_frame f;
        while (ek_session_pop_frame(from->s, &f) == 1) {
            if (w->nt.n[d] == MAX_FLIGHT) { /* the network is full: lose it */
                w->dropped++;
                w->full++;
                continue;
            }
            pipe_frame *pf = &w->nt.q[d][w->nt.n[d]++];
            pf->data = malloc(f.len);
            memcpy(pf->data, f.data, f.len);
            pf->len = f.len;
            pf->binary = f.binary;
        }
    }
}

static void remember(world *w, const pipe_frame *f)
{
    pipe_frame *h = &w->nt.hist[w->nt.hist_at];
    free(h->data);
    h->data = malloc(f->len);
    memcpy(h->data, f->data, f->len);
    h->len = f->len;
    w->nt.hist_at = (w->nt.hist_at + 1) % HISTORY;
    if (w->nt.n_hist < HISTORY)
        w->nt.n_hist++;
}

static void deliver_bytes(world *w, int d, const uint8_t *data, size_t len, int genuine)
{
    w->bad_first = len > 0 ? data[0] : 0;
    w->bad_len = len;
    pipe_side *to = d == 0 ? &w->p.b : &w->p.a;
    w->hostile_frame = !genuine;
    EK_CHECK_OK(ek_session_recv(to->s, data, len, w->p.now));
    pipe_events(&w->p, to);
    w->hostile_frame = 0;
}

/* Deliver (or mistreat) one frame of direction d. */
static void network_step(world *w, int d)
{
    net *nt = &w->nt;
    if (nt->n[d] == 0)
        return;
    size_t i = rnd(w) % (nt->n[d] < WINDOW ? nt->n[d] : WINDOW);
    pipe_frame f = nt->q[d][i];
    uint32_t what = rnd(w) % 100;
    int keep = 0;
    if (what < 10) { /* drop */
        w->dropped++;
    } else if (what < 30) { /* alter a copy, deliver it; the original may follow */
        uint8_t *bad = malloc(f.len + 16);
        memcpy(bad, f.data, f.len);
        size_t bl = f.len;
        switch (rnd(w) % 4) {
        case 0: bad[rnd(w) % bl] ^= (uint8_t)(1u << (rnd(w) % 8)); break;
        case 1: bl = rnd(w) % bl; break;
        case 2:
            for (int k = 0; k < 8; k++)
                bad[bl++] = (uint8_t)rnd(w);
            break;
        default: bad[rnd(w) % bl] = (uint8_t)rnd(w); break;
        }
        if (bl != f.len || memcmp(bad, f.data, bl) != 0) {
            w->mutated++;
            w->bad_kind = "altered";
            deliver_bytes(w, d, bad, bl, 0);
        }
        free(bad);
        keep = (int)(rnd(w) % 2);
    } else if (what < 40) { /* duplicate: deliver now, again later */
        w->duplicated++;
        deliver_bytes(w, d, f.data, f.len, 1);
        keep = 1;
    } else {
        deliver_bytes(w, d, f.data, f.len, 1);
        remember(w, &f);
    }
    if (keep)
        return;
    free(f.data);
    memmove(&nt->q[d][i], &nt->q[d][i + 1], (nt->n[d] - i - 1) * sizeof(pipe_frame));
    nt->n[d]--;
}

static void inject(world *w)
{
    int d = (int)(rnd(w) & 1);
    w->injected++;
    if (rnd(w) % 2 == 0 && w->nt.n_hist > 0) {
        /* a replay of an old frame (already delivered: nothing new) */
        /* A replay of a frame delivered before. Genuine bytes: if its first
         * copy never opened (kept, then dropped), this one may; the
         * at-most-once check is what guards replays. */
        pipe_frame *h = &w->nt.hist[rnd(w) % w->nt.n_hist];
        deliver_bytes(w, d, h->data, h->len, 1);
        return;
    }
    uint8_t junk[600];
    size_t len = 1 + rnd(w) % sizeof(junk);
    for (size_t i = 0; i < len; i++)
        junk[i] = (uint8_t)rnd(w);
    static const uint8_t firsts[] = {0xE1, 0xE2, '{', 0x00};
    junk[0] = firsts[rnd(w) % 4];
    if (junk[0] == '{' && rnd(w) % 2) {
        static const char *pdus[] = {
            "{\"type\":\"protocol-error\",\"specVersion\":\"1.0\",\"code\":\"auth-failed\","
            "\"fatal\":true}",
            "{\"type\":\"resume\",\"specVersion\":\"1.0\",\"session\":\"AAAAAAAAAAAAAAAAAAAAAA\","
            "\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"material\":[\"\",\"\",\"\"],\"mac\":"
            "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
            "{\"type\":\"resume-ok\",\"specVersion\":\"1.0\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\","
            "\"material\":[\"\"],\"mac\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
            "{\"type\":\"finish\",\"specVersion\":\"1.0\",\"material\":[\"\"],\"signature\":\"AA\","
            "\"mac\":\"AA\"}",
            "{\"type\":\"resume-finish\",\"specVersion\":\"1.0\","
            "\"mac\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
            "{\"type\":\"hello\",\"specVersion\":\"1.0\",\"versions\":[\"1.0\"],"
            "\"layers\":[\"AES\"],\"identity\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
            "\"ephemeral\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
            "\"random\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"material\":[\"\"]}",
        };
        const char *s = pdus[rnd(w) % (sizeof(pdus) / sizeof(pdus[0]))];
        w->bad_kind = "injected PDU";
        deliver_bytes(w, d, (const uint8_t *)s, strlen(s), 0);
        return;
    }
    w->bad_kind = "injected";
    deliver_bytes(w, d, junk, len, 0);
}

static void send_one(world *w, int sender)
{
    pipe_side *from = sender ? &w->p.b : &w->p.a;
    uint64_t n = w->sent[sender];
    if (n >= MAX_MSGS)
        return;
    if (rnd(w) % 50 == 0) { /* a chunked file chunk now and then */
        static uint8_t data[40000];
        for (size_t i = 0; i < sizeof(data); i++)
            data[i] = (uint8_t)(i + n);
        uint8_t transfer[16] = {(uint8_t)sender};
        EK_CHECK_OK(ek_session_send_file_chunk(from->s, transfer, (uint32_t)n, data, sizeof(data),
                                               w->p.now));
    } else {
        char body[512];
        size_t blen = body_of(body, sizeof(body), sender, n);
        uint8_t env[1024];
        size_t len = pipe_text(env, sizeof(env), n, body, blen, w->p.now);
        EK_CHECK_OK(ek_session_send(from->s, env, len, w->p.now));
    }
    w->sent[sender]++;
}

static void run_seed(unsigned seed, int steps, const char *const *layers, size_t n_layers,
                     unsigned long totals[6])
{
    static world w;
    memset(&w, 0, sizeof(w));
    uint8_t sd[6] = {'h', 'o', 's', (uint8_t)seed, (uint8_t)(seed >> 8), (uint8_t)n_layers};
    ek_rng_seeded_init(&w.rng, sd, sizeof(sd));
    pipe_init(&w.p, 1000 + seed, layers, n_layers);
    pipe_handshake(&w.p);
    w.p.on_event = on_event;
    w.p.user = &w;

    for (int step = 0; step < steps; step++) {
        uint32_t r = rnd(&w) % 1000;
        w.p.now += rnd(&w) % 1500;
        if (r < 3)
            w.p.now += (uint64_t)20 * 60 * 1000; /* a long pause: re-keys and rotations by time */
        uint32_t what = rnd(&w) % 100;
        if (what < 20)
            send_one(&w, (int)(rnd(&w) & 1));
        else if (what < 94)
            network_step(&w, (int)(rnd(&w) & 1));
        else if (what < 97)
            inject(&w);
        else {
            w.hostile_frame = 0;
            EK_CHECK_OK(ek_session_tick(w.p.a.s, w.p.now));
            EK_CHECK_OK(ek_session_tick(w.p.b.s, w.p.now));
            pipe_events(&w.p, &w.p.a);
            pipe_events(&w.p, &w.p.b);
        }
        collect(&w);
    }
    unsigned long hostile_got = w.got[0] + w.got[1];
    if (getenv("HOSTILE_VERBOSE") != NULL) {
        ek_session_stats sa, sb;
        ek_session_get_stats(w.p.a.s, &sa);
        ek_session_get_stats(w.p.b.s, &sb);
        printf("  seed %u: full %lu, sent %llu got %lu; b: deferred %llu state %llu decrypt %llu "
               "replay %llu "
               "malformed %llu limit %llu\n",
               seed, w.full, (unsigned long long)(w.sent[0] + w.sent[1]), hostile_got,
               (unsigned long long)sb.deferred, (unsigned long long)sb.dropped_state,
               (unsigned long long)sb.dropped_decrypt, (unsigned long long)sb.dropped_replay,
               (unsigned long long)sb.dropped_malformed, (unsigned long long)sb.dropped_limit);
    }
    unsigned long hostile_sent = (unsigned long)(w.sent[0] + w.sent[1]);

    /* Clean network: what is in flight arrives, in order. */
    for (int round = 0; round < 50; round++) {
        for (int d = 0; d < 2; d++) {
            while (w.nt.n[d] > 0) {
                pipe_frame f = w.nt.q[d][0];
                memmove(&w.nt.q[d][0], &w.nt.q[d][1], (w.nt.n[d] - 1) * sizeof(pipe_frame));
                w.nt.n[d]--;
                deliver_bytes(&w, d, f.data, f.len, 1);
                free(f.data);
            }
        }
        w.p.now += 6000; /* past the re-key retry */
        EK_CHECK_OK(ek_session_tick(w.p.a.s, w.p.now));
        EK_CHECK_OK(ek_session_tick(w.p.b.s, w.p.now));
        collect(&w);
    }
    /* ... and new traffic flows, every message, both ways. */
    uint64_t from[2] = {w.sent[0], w.sent[1]};
    for (int i = 0; i < 20; i++) {
        send_one(&w, 0);
        send_one(&w, 1);
        collect(&w);
        for (int d = 0; d < 2; d++) {
            while (w.nt.n[d] > 0) {
                pipe_frame f = w.nt.q[d][0];
                memmove(&w.nt.q[d][0], &w.nt.q[d][1], (w.nt.n[d] - 1) * sizeof(pipe_frame));
                w.nt.n[d]--;
                deliver_bytes(&w, d, f.data, f.len, 1);
                free(f.data);
                collect(&w);
            }
        }
    }
    if (getenv("HOSTILE_VERBOSE") != NULL) {
        ek_session_stats sa;
        ek_session_get_stats(w.p.a.s, &sa);
        printf("  seed %u end: a: in %llu deferred %llu state %llu decrypt %llu replay %llu "
               "malformed %llu limit %llu\n",
               seed, (unsigned long long)sa.messages_in, (unsigned long long)sa.deferred,
               (unsigned long long)sa.dropped_state, (unsigned long long)sa.dropped_decrypt,
               (unsigned long long)sa.dropped_replay, (unsigned long long)sa.dropped_malformed,
               (unsigned long long)sa.dropped_limit);
    }
    for (int s = 0; s < 2; s++) {
        for (uint64_t n = from[s]; n < w.sent[s]; n++) {
            if (!w.delivered[s][n])
                ek_test_fail(__FILE__, __LINE__, "seed %u: clean message %c:%llu lost", seed,
                             s ? 'b' : 'a', (unsigned long long)n);
        }
    }
    EK_CHECK(w.events_from_bad == 0);
    EK_CHECK(w.bad_events == 0);
    EK_CHECK(w.dup_delivery == 0);
    EK_CHECK(w.wrong_content == 0);
    EK_CHECK(ek_session_get_state(w.p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(w.p.b.s) == EK_STATE_READY);
    /* Most of what was sent during the hostile phase arrived. */
    EK_CHECK(hostile_sent == 0 || hostile_got * 2 >= hostile_sent);
    totals[0] += hostile_sent;
    totals[1] += hostile_got;
    totals[2] += w.mutated;
    totals[3] += w.injected;
    totals[4] += w.dropped;
    totals[5] += w.duplicated;
    for (size_t i = 0; i < HISTORY; i++)
        free(w.nt.hist[i].data);
    pipe_free(&w.p);
}

int main(int argc, char **argv)
{
    unsigned seeds = argc > 1 ? (unsigned)atoi(argv[1]) : 64;
    int steps = argc > 2 ? atoi(argv[2]) : 1500;
    unsigned long totals[6] = {0};
    const char *only = getenv("HOSTILE_SEED");
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    for (unsigned s = 0; s < seeds; s++) {
        if (only == NULL || (unsigned)atoi(only) == s)
            run_seed(s, steps, layers, n, totals);
    }
    printf("  %u seeds x %d steps (%s ... %s): sent %lu, delivered %lu during the hostile "
           "phase; altered %lu, injected %lu, dropped %lu, duplicated %lu frames; "
           "no event from any of them\n",
           seeds, steps, layers[0], layers[n - 1], totals[0], totals[1], totals[2], totals[3],
           totals[4], totals[5]);
    /* The same, with the cascade reversed: the layer that asks for a retry
     * (Signal) sits inside MLS, which must then give kept frames back. */
    const char *rev[EK_CASCADE_MAX_LAYERS] = {NULL};
    EK_CHECK(n > 0 && n <= EK_CASCADE_MAX_LAYERS);
    for (size_t i = 0; i < n; i++)
        rev[i] = layers[n - 1 - i];
    unsigned rseeds = seeds / 4 > 0 ? seeds / 4 : 1;
    memset(totals, 0, sizeof(totals));
    for (unsigned s = 0; s < rseeds; s++) {
        if (only == NULL || (unsigned)atoi(only) == s)
            run_seed(500 + s, steps, rev, n, totals);
    }
    printf("  %u seeds x %d steps (%s ... %s): sent %lu, delivered %lu during the hostile "
           "phase; altered %lu, injected %lu, dropped %lu, duplicated %lu frames; "
           "no event from any of them\n",
           rseeds, steps, rev[0] != NULL ? rev[0] : "-", rev[n - 1] != NULL ? rev[n - 1] : "-",
           totals[0], totals[1], totals[2], totals[3], totals[4], totals[5]);
    return ek_test_finish("proto.hostile");
}
