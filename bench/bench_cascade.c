/*
 * bench_cascade.c: the "cascade" suite (issue 6): the cascade and the
 * session engine, with, in the same run, a single AES-256-GCM seal+open of
 * the same sizes as the floor.
 *
 *   handshake              a whole handshake between two engines (both
 *                          sides' CPU), and each side's own share:
 *   handshake.initiator    start (hello) + reading the response (finish)
 *   handshake.responder    reading hello (response) + reading finish
 *   cascade.seal_open      one message sealed by one cascade and opened by
 *                          its peer, n = 64, 1024, 16384 (one direction, so
 *                          the layers run in their steady state: the ML-KEM
 *                          re-keys every 1024 messages are included, with
 *                          their control messages handed over directly)
 *   cascade.seal / .open   the two halves at 16 KiB
 *   layer.<name>.seal_open each layer alone, n = 16384
 *   engine.send_recv       16 KiB file chunks through two engines (framing,
 *                          events, replay window on top of the cascade)
 *   aes256gcm.seal_open    the floor: one AES-256-GCM seal and open
 *
 * Lines with "overhead_bytes" give the bytes a message grows by: per layer
 * and in all, one way (the bulk case) and alternating directions (every
 * message starts a new Signal chain). Counted over 2048 messages: mean and
 * maximum, ML-KEM re-key messages included in the mean (they carry no key
 * material themselves: the re-keys travel as control messages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_session.h>

#include "bench.h"

enum { MAX_MSG = 16384, WIRE = MAX_MSG + 4096 };

static const char *const all_layers[] = {"MLS", "Signal", "ML-KEM", "AES"};

/* The default cascade, without MLS while its layer cannot be built. */
static size_t default_layers(const char *const **out)
{
    ek_layer *l = NULL;
    if (ek_layer_mls_new(&l, NULL, NULL) == EK_OK) {
        ek_layer_free(l);
        *out = all_layers;
        return 4;
    }
    *out = all_layers + 1;
    return 3;
}

static void print_extra(const char *op, long long n, double ns, double bytes, const char *extra)
{
    printf("{\"bench\":\"cascade\",\"op\":\"%s\"", op);
    if (n >= 0)
        printf(",\"n\":%lld", n);
    printf(",\"ns_per_op\":%.1f,\"ops_per_s\":%.0f", ns, 1e9 / ns);
    if (bytes > 0)
        printf(",\"mb_per_s\":%.1f", bytes / ns * 1e3);
    if (extra != NULL)
        printf(",%s", extra);
    printf("}\n");
    (void)fflush(stdout);
}

/* ---- two cascades after their layers' handshake ---- */

typedef struct pair {
    ek_rng_seeded ri, rr;
    ek_ratchet_identity si, sr;
    ek_cascade *a, *b;
    uint64_t seq[2];
    uint64_t now;
    uint8_t pt[MAX_MSG], wire[WIRE], out[WIRE];
    size_t n;
    int alternate;
} pair;

static ek_cascade *make_cascade(const char *const *names, size_t n, const ek_rng *rng,
                                const ek_ratchet_identity *id)
{
    ek_layer *ls[EK_CASCADE_MAX_LAYERS];
    for (size_t i = 0; i < n; i++)
        ek_bench_check(ek_layer_new_by_name(&ls[i], names[i], NULL, rng, id), "layer");
    ek_cascade *c = NULL;
    ek_bench_check(ek_cascade_new(&c, NULL, ls, n), "cascade");
    return c;
}

static void pair_init(pair *p, const char *const *names, size_t n)
{
    memset(p, 0, sizeof(*p));
    ek_rng_seeded_init(&p->ri, (const uint8_t *)"bench i", 7);
    ek_rng_seeded_init(&p->rr, (const uint8_t *)"bench r", 7);
    ek_bench_check(ek_ratchet_identity_generate(&p->si, &p->ri.rng), "identity");
    ek_bench_check(ek_ratchet_identity_generate(&p->sr, &p->rr.rng), "identity");
    p->a = make_cascade(names, n, &p->ri.rng, &p->si);
    p->b = make_cascade(names, n, &p->rr.rng, &p->sr);
    uint8_t th[32], sid[32], ida[32], idb[32];
    memset(th, 1, 32);
    memset(sid, 2, 32);
    memset(ida, 3, 32);
    memset(idb, 4, 32);
    ek_layer_hs ha = {EK_ROLE_INITIATOR, &p->ri.rng, 1717000000000ull, ida, idb, th};
    ek_layer_hs hb = {EK_ROLE_RESPONDER, &p->rr.rng, 1717000000000ull, idb, ida, th};
    for (size_t k = 0; k < n; k++) {
        ek_layer *la = ek_cascade_layer(p->a, k), *lb = ek_cascade_layer(p->b, k);
        ek_writer w1, w2, w3;
        ek_writer_init_growable(&w1, NULL);
        ek_writer_init_growable(&w2, NULL);
        ek_writer_init_growable(&w3, NULL);
        if (la->ops->hello != NULL)
            ek_bench_check(la->ops->hello(la, &w1, &ha), "hello");
        if (lb->ops->respond != NULL)
            ek_bench_check(lb->ops->respond(lb, &w2, w1.buf, w1.len, &hb), "respond");
        if (la->ops->finish != NULL)
            ek_bench_check(la->ops->finish(la, &w3, w2.buf, w2.len, &ha), "finish");
        if (lb->ops->complete != NULL)
            ek_bench_check(lb->ops->complete(lb, w3.buf, w3.len, &hb), "complete");
        ek_bench_check(la->ops->established(la, sid), "established");
        ek_bench_check(lb->ops->established(lb, sid), "established");
        ek_writer_dispose(&w1);
        ek_writer_dispose(&w2);
        ek_writer_dispose(&w3);
    }
    for (size_t i = 0; i < sizeof(p->pt); i++)
        p->pt[i] = (uint8_t)i;
    p->now = 1717000000000ull;
}

static void pair_free(pair *p)
{
    ek_cascade_free(p->a);
    ek_cascade_free(p->b);
}

static void pump(ek_cascade *from, ek_cascade *to, uint64_t now)
{
    for (size_t k = 0; k < ek_cascade_layer_count(from); k++) {
        ek_layer *lf = ek_cascade_layer(from, k), *lt = ek_cascade_layer(to, k);
        if (lf->ops->poll_control == NULL)
            continue;
        ek_layer_control c;
        while (lf->ops->poll_control(lf, &c, now) == 1) {
            static uint8_t copy[4096];
            memcpy(copy, c.data, c.data_len);
            c.data = copy;
            ek_bench_check(lt->ops->control(lt, &c, now), "control");
        }
    }
}

/* One message: seal by the sender of this turn, open by the other. Returns
 * the sealed length. */
static size_t one(pair *p, int dir)
{
    ek_cascade *tx = dir == 0 ? p->a : p->b, *rx = dir == 0 ? p->b : p->a;
    uint8_t ad[9] = {(uint8_t)dir};
    uint64_t seq = p->seq[dir]++;
    for (int i = 0; i < 8; i++)
        ad[1 + i] = (uint8_t)(seq >> (56 - 8 * i));
    ek_layer_msg m = {seq, 1, ad, sizeof(ad), p->now};
    size_t len = 0, got = 0;
    ek_bench_check(ek_cascade_seal(tx, p->wire, sizeof(p->wire), &len, &m, p->pt, p->n), "seal");
    m.outgoing = 0;
    ek_bench_check(ek_cascade_open(rx, p->out, sizeof(p->out), &got, &m, p->wire, len), "open");
    pump(tx, rx, p->now);
    pump(rx, tx, p->now);
    return len;
}

static void op_seal_open(void *ctx)
{
    pair *p = ctx;
    int dir = p->alternate ? (int)(p->seq[0] + p->seq[1]) & 1 : 0;
    (void)one(p, dir);
}

/* Seal only: the opener runs outside the timing (ctx->seal_only). */
typedef struct half {
    pair *p;
    size_t len;
} half;

static void op_seal(void *ctx)
{
    half *h = ctx;
    pair *p = h->p;
    uint8_t ad[9] = {0};
    uint64_t seq = p->seq[0]++;
    for (int i = 0; i < 8; i++)
        ad[1 + i] = (uint8_t)(seq >> (56 - 8 * i));
    ek_layer_msg m = {seq, 1, ad, sizeof(ad), p->now};
    ek_bench_check(ek_cascade_seal(p->a, p->wire, sizeof(p->wire), &h->len, &m, p->pt, p->n),
                   "seal");
    pump(p->a, p->b, p->now);
}

/* Overhead: mean and max over 2048 messages. */
static void overhead(const char *const *names, size_t n, size_t size, int alternate, double *mean,
                     size_t *max)
{
    static pair p;
    pair_init(&p, names, n);
    p.n = size;
    p.alternate = alternate;
    size_t sum = 0, top = 0;
    for (int i = 0; i < 2048; i++) {
        size_t len = one(&p, alternate ? i & 1 : 0);
        sum += len - size;
        if (len - size > top)
            top = len - size;
    }
    *mean = (double)sum / 2048.0;
    *max = top;
    pair_free(&p);
}

static void bench_cascade_sizes(void)
{
    const char *const *names;
    size_t n = default_layers(&names);
    static const size_t sizes[] = {64, 1024, MAX_MSG};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        static pair p;
        pair_init(&p, names, n);
        p.n = sizes[i];
        double ns = ek_bench_measure(op_seal_open, &p);
        double mean1, mean2;
        size_t max1, max2;
        overhead(names, n, sizes[i], 0, &mean1, &max1);
        overhead(names, n, sizes[i], 1, &mean2, &max2);
        char extra[256];
        snprintf(extra, sizeof(extra),
                 "\"layers\":%zu,\"overhead_bytes\":%.1f,\"overhead_max\":%zu,"
                 "\"overhead_bytes_alternating\":%.1f,\"overhead_max_alternating\":%zu",
                 n, mean1, max1, mean2, max2);
        print_extra("cascade.seal_open", (long long)sizes[i], ns, (double)sizes[i], extra);
        pair_free(&p);
    }
    /* the two halves at 16 KiB */
    static pair p;
    pair_init(&p, names, n);
    p.n = MAX_MSG;
    half h = {&p, 0};
    double ns_seal = ek_bench_measure(op_seal, &h);
    print_extra("cascade.seal", MAX_MSG, ns_seal, MAX_MSG, NULL);
    pair_free(&p);
}

static void bench_layers(void)
{
    const char *const *names;
    size_t n = default_layers(&names);
    for (size_t i = 0; i < n; i++) {
        static pair p;
        pair_init(&p, &names[i], 1);
        p.n = MAX_MSG;
        double ns = ek_bench_measure(op_seal_open, &p);
        double mean, mean_alt;
        size_t max, max_alt;
        overhead(&names[i], 1, MAX_MSG, 0, &mean, &max);
        overhead(&names[i], 1, MAX_MSG, 1, &mean_alt, &max_alt);
        char op[64], extra[200];
        snprintf(op, sizeof(op), "layer.%s.seal_open", names[i]);
        snprintf(extra, sizeof(extra),
                 "\"overhead_bytes\":%.1f,\"overhead_max\":%zu,\"overhead_bytes_alternating\":%.1f,"
                 "\"overhead_max_alternating\":%zu",
                 mean, max, mean_alt, max_alt);
        print_extra(op, MAX_MSG, ns, MAX_MSG, extra);
        pair_free(&p);
    }
}

/* ---- the AES-256-GCM floor ---- */

typedef struct gcm {
    uint8_t key[32], nonce[12], pt[MAX_MSG], ct[MAX_MSG + 16], out[MAX_MSG];
    size_t n;
    uint64_t ctr;
} gcm;

static void op_gcm(void *ctx)
{
    gcm *g = ctx;
    g->ctr++;
    memcpy(g->nonce + 4, &g->ctr, 8);
    ek_bench_check(
        ek_aead_seal(g->ct, EK_AEAD_AES256GCM, g->key, 32, g->nonce, 12, NULL, 0, g->pt, g->n),
        "gcm seal");
    ek_bench_check(ek_aead_open(g->out, EK_AEAD_AES256GCM, g->key, 32, g->nonce, 12, NULL, 0, g->ct,
                                g->n + 16),
                   "gcm open");
}

static void bench_floor(void)
{
    static const size_t sizes[] = {64, 1024, MAX_MSG};
    static gcm g;
    memset(&g, 7, sizeof(g));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        g.n = sizes[i];
        double ns = ek_bench_measure(op_gcm, &g);
        print_extra("aes256gcm.seal_open", (long long)sizes[i], ns, (double)sizes[i],
                    "\"overhead_bytes\":16");
    }
}

/* ---- engines: handshake and send/recv ---- */

typedef struct engines {
    ek_identity ia, ib;
    ek_rng_seeded ra, rb;
    ek_session *a, *b;
    const char *const *layers;
    size_t n;
    uint64_t now;
    uint64_t ns_a, ns_b; /* per-side CPU of the last handshake */
    uint8_t chunk[MAX_MSG];
    uint32_t idx;
} engines;

static ek_session *make_session(const ek_identity *id, int role, const engines *e, ek_rng_seeded *r)
{
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role;
    cfg.layers = e->layers;
    cfg.n_layers = e->n;
    cfg.rng = &r->rng;
    cfg.frame_bytes = EK_FRAME_BYTES_MAX;
    ek_session *s = NULL;
    ek_bench_check(ek_session_new(&s, id, &cfg), "session");
    return s;
}

/* Move a's frames to b (timed as b's work) and b's to a. */
static void move(engines *e, ek_session *from, ek_session *to, uint64_t *ns_to)
{
    ek_frame f;
    while (ek_session_pop_frame(from, &f) == 1) {
        uint64_t t0 = ek_bench_now_ns();
        ek_bench_check(ek_session_recv(to, f.data, f.len, e->now), "recv");
        *ns_to += ek_bench_now_ns() - t0;
    }
    ek_event ev;
    while (ek_session_pop_event(to, &ev) == 1) {
    }
}

static void handshake_once(engines *e)
{
    ek_session_free(e->a);
    ek_session_free(e->b);
    e->a = make_session(&e->ia, EK_ROLE_INITIATOR, e, &e->ra);
    e->b = make_session(&e->ib, EK_ROLE_RESPONDER, e, &e->rb);
    e->ns_a = e->ns_b = 0;
    uint64_t t0 = ek_bench_now_ns();
    ek_bench_check(ek_session_start(e->b, e->now), "start");
    ek_bench_check(ek_session_start(e->a, e->now), "start");
    e->ns_a += ek_bench_now_ns() - t0;
    for (int r = 0; r < 3; r++) {
        move(e, e->a, e->b, &e->ns_b);
        move(e, e->b, e->a, &e->ns_a);
    }
    if (ek_session_get_state(e->a) != EK_STATE_READY ||
        ek_session_get_state(e->b) != EK_STATE_READY) {
        fprintf(stderr, "enkrypt-bench: handshake did not complete\n");
        exit(1);
    }
}

static void op_handshake(void *ctx)
{
    handshake_once(ctx);
}

static void op_send_recv(void *ctx)
{
    engines *e = ctx;
    uint8_t transfer[16] = {1};
    ek_bench_check(
        ek_session_send_file_chunk(e->a, transfer, e->idx++, e->chunk, sizeof(e->chunk), e->now),
        "send");
    uint64_t dummy = 0;
    move(e, e->a, e->b, &dummy);
    move(e, e->b, e->a, &dummy);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static void bench_engines(void)
{
    static engines e;
    memset(&e, 0, sizeof(e));
    e.n = default_layers(&e.layers);
    ek_rng_seeded_init(&e.ra, (const uint8_t *)"bench engine a", 14);
    ek_rng_seeded_init(&e.rb, (const uint8_t *)"bench engine b", 14);
    ek_bench_check(ek_identity_generate(&e.ia, &e.ra.rng), "identity");
    ek_bench_check(ek_identity_generate(&e.ib, &e.rb.rng), "identity");
    e.now = 1717000000000ull;
    double ns = ek_bench_measure(op_handshake, &e);
    char extra[64];
    snprintf(extra, sizeof(extra), "\"layers\":%zu", e.n);
    print_extra("handshake", -1, ns, 0, extra);
    /* each side's share: the median of 101 handshakes */
    enum { N = 101 };
    uint64_t sa[N], sb[N];
    for (int i = 0; i < N; i++) {
        handshake_once(&e);
        sa[i] = e.ns_a;
        sb[i] = e.ns_b;
    }
    qsort(sa, N, sizeof(sa[0]), cmp_u64);
    qsort(sb, N, sizeof(sb[0]), cmp_u64);
    const size_t mid = N / 2;
    print_extra("handshake.initiator", -1, (double)sa[mid], 0, extra);
    print_extra("handshake.responder", -1, (double)sb[mid], 0, extra);
    /* 16 KiB file chunks through both engines (one frame each at 64 KiB
     * frames) */
    handshake_once(&e);
    ns = ek_bench_measure(op_send_recv, &e);
    print_extra("engine.send_recv", MAX_MSG, ns, MAX_MSG, extra);
    ek_session_free(e.a);
    ek_session_free(e.b);
}

void ek_bench_suite_cascade(void)
{
    bench_engines();
    bench_cascade_sizes();
    bench_layers();
    bench_floor();
}
