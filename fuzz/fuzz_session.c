/*
 * fuzz_session.c: ek_session_recv on a session after the handshake, with
 * the fuzzer's bytes as frames (docs/protocol.md §5, §8). The input is a
 * sequence of frames, each a u16 big-endian length and that many bytes.
 *
 * The fixture (built once from fixed seeds): a handshake between two
 * engines over the default cascade available, the responder's state saved
 * right after it, a resumption of that saved state (the initiator's
 * resume-ok recorded; the resume re-keys both sides, docs/protocol.md
 * §4.6), then the initiator's next frames recorded (text envelopes and a
 * file chunk large enough to be chunked). For every input the responder is
 * restored from its saved bytes (with the same seeded RNG, so its resume
 * nonce and thus the recorded resume-ok fit), made ready again by the
 * recorded resume-ok (the same re-key), then fed the frames.
 *
 * Properties, besides no crash, leak or sanitizer report:
 *   - the only events the fuzzer's frames may cause are the delivery of a
 *     recorded message (it can replay recorded frames), each at most once,
 *     with its exact content; no failure, close or other event;
 *   - afterwards every recorded frame, delivered in order, is delivered or
 *     was delivered already: nothing the fuzzer did cost a valid frame.
 *
 * The seed corpus (fuzz/corpus/fuzz_session/) holds the recorded frames;
 * regenerate it with
 *   cc -std=c11 -DFUZZ_SESSION_CORPUS_MAIN -Iinclude -Ilib fuzz/fuzz_session.c \
 *      build/libenkrypt.a -ljansson -lcrypto -lsodium -o gen && ./gen fuzz/corpus/fuzz_session
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_session.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_REC = 16, MSGS = 5 };
#define NOW 1717000000000ull

typedef struct blob {
    uint8_t *b;
    size_t len;
} blob;

typedef struct fixture {
    const char *layers[4];
    size_t n_layers;
    ek_identity id_b;
    blob saved_b;
    blob resume_ok;
    blob rec[MAX_REC]; /* the initiator's frames after the save */
    size_t n_rec;
    blob msg[MSGS + 1]; /* what each recorded message delivers */
    size_t n_msg;
} fixture;

static void need(int ok)
{
    if (!ok)
        abort();
}

static void keep(blob *b, const uint8_t *p, size_t len)
{
    b->b = malloc(len > 0 ? len : 1);
    need(b->b != NULL);
    memcpy(b->b, p, len);
    b->len = len;
}

static ek_session *make(const ek_identity *id, int role, const fixture *f, ek_rng_seeded *rng)
{
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role;
    cfg.layers = f->layers;
    cfg.n_layers = f->n_layers;
    cfg.rng = &rng->rng;
    ek_session *s = NULL;
    need(ek_session_new(&s, id, &cfg) == EK_OK);
    return s;
}

static void drain(ek_session *from, ek_session *to, uint64_t now)
{
    ek_frame fr;
    while (ek_session_pop_frame(from, &fr) == 1)
        need(ek_session_recv(to, fr.data, fr.len, now) == EK_OK);
}

static void seed_rng(ek_rng_seeded *r, const char *s)
{
    ek_rng_seeded_init(r, (const uint8_t *)s, strlen(s));
}

static ek_session *restore_b(const fixture *f, ek_rng_seeded *rng)
{
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = EK_ROLE_RESPONDER;
    cfg.layers = f->layers;
    cfg.n_layers = f->n_layers;
    seed_rng(rng, "fuzz_session restored responder");
    cfg.rng = &rng->rng;
    ek_session *b = NULL;
    need(ek_session_restore(&b, &f->id_b, &cfg, f->saved_b.b, f->saved_b.len) == EK_OK);
    return b;
}

static const fixture *fixture_get(void)
{
    static fixture f;
    static int built;
    if (built)
        return &f;
    built = 1;
    ek_layer *mls = NULL;
    size_t i = 0;
    if (ek_layer_mls_new(&mls, NULL, NULL) == EK_OK) {
        ek_layer_free(mls);
        f.layers[i++] = "MLS";
    }
    f.layers[i++] = "Signal";
    f.layers[i++] = "ML-KEM";
    f.layers[i++] = "AES";
    f.n_layers = i;
    static ek_rng_seeded ra, rb, rr;
    seed_rng(&ra, "fuzz_session initiator");
    seed_rng(&rb, "fuzz_session responder");
    ek_identity id_a;
    need(ek_identity_generate(&id_a, &ra.rng) == EK_OK);
    need(ek_identity_generate(&f.id_b, &rb.rng) == EK_OK);
    ek_session *a = make(&id_a, EK_ROLE_INITIATOR, &f, &ra);
    ek_session *b = make(&f.id_b, EK_ROLE_RESPONDER, &f, &rb);
    need(ek_session_start(b, NOW) == EK_OK);
    need(ek_session_start(a, NOW) == EK_OK);
    for (int r = 0; r < 4; r++) {
        drain(a, b, NOW);
        drain(b, a, NOW);
    }
    need(ek_session_get_state(a) == EK_STATE_READY && ek_session_get_state(b) == EK_STATE_READY);
    size_t cap = 0;
    need(ek_session_save(b, &f.saved_b.b, &f.saved_b.len, &cap) == EK_OK);
    /* The resume-ok a restored responder will need; the resumption re-keys
     * both sides, and the initiator's frames below are under those keys. */
    ek_session *b2 = restore_b(&f, &rr);
    need(ek_session_start(b2, NOW) == EK_OK);
    drain(b2, a, NOW);
    ek_frame fr;
    need(ek_session_pop_frame(a, &fr) == 1);
    keep(&f.resume_ok, fr.data, fr.len);
    need(ek_session_recv(b2, f.resume_ok.b, f.resume_ok.len, NOW) == EK_OK);
    drain(b2, a, NOW); /* resume-finish */
    need(ek_session_get_state(a) == EK_STATE_READY && ek_session_get_state(b2) == EK_STATE_READY);
    ek_session_free(b2);
    /* The initiator's next frames. */
    for (int m = 0; m < MSGS; m++) {
        char env[200];
        int n = snprintf(
            env, sizeof(env),
            "{\"type\":\"text\",\"specVersion\":\"1.0\",\"id\":\"AAAAAAAAAAAAAAAAAAAA%cA\","
            "\"timestamp\":%d,\"body\":\"fuzz %d\"}",
            'A' + m, 1000 + m, m);
        need(ek_session_send(a, (const uint8_t *)env, (size_t)n, NOW) == EK_OK);
        keep(&f.msg[f.n_msg++], (const uint8_t *)env, (size_t)n);
    }
    static uint8_t big[40000];
    for (size_t k = 0; k < sizeof(big); k++)
        big[k] = (uint8_t)k;
    uint8_t transfer[16] = {9};
    need(ek_session_send_file_chunk(a, transfer, 3, big, sizeof(big), NOW) == EK_OK);
    keep(&f.msg[f.n_msg++], big, sizeof(big));
    while (ek_session_pop_frame(a, &fr) == 1) {
        need(f.n_rec < MAX_REC);
        keep(&f.rec[f.n_rec++], fr.data, fr.len);
    }
    ek_session_free(a);
    ek_session_free(b);
    return &f;
}

/* The index of the recorded message ev delivers, or abort. */
static size_t which(const fixture *f, const ek_event *ev)
{
    for (size_t m = 0; m < f->n_msg; m++) {
        if (ev->len == f->msg[m].len && memcmp(ev->data, f->msg[m].b, ev->len) == 0)
            return m;
    }
    abort();
}

static void collect(ek_session *b, const fixture *f, int *seen)
{
    ek_event ev;
    while (ek_session_pop_event(b, &ev) == 1) {
        need(ev.type == EK_EVENT_MESSAGE || ev.type == EK_EVENT_FILE_CHUNK);
        size_t m = which(f, &ev);
        need(!seen[m]);
        seen[m] = 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fixture *f = fixture_get();
    ek_rng_seeded rng;
    ek_session *b = restore_b(f, &rng);
    need(ek_session_start(b, NOW) == EK_OK);
    ek_frame fr;
    while (ek_session_pop_frame(b, &fr) == 1) {
    }
    need(ek_session_recv(b, f->resume_ok.b, f->resume_ok.len, NOW) == EK_OK);
    need(ek_session_get_state(b) == EK_STATE_READY);
    ek_event ev;
    while (ek_session_pop_event(b, &ev) == 1)
        need(ev.type == EK_EVENT_READY);

    int seen[MSGS + 1] = {0};
    uint64_t now = NOW;
    size_t at = 0;
    while (at + 2 <= size) {
        size_t len = (size_t)data[at] << 8 | data[at + 1];
        at += 2;
        if (len > size - at)
            len = size - at;
        need(ek_session_recv(b, data + at, len, now) == EK_OK);
        at += len;
        now += 1000;
        collect(b, f, seen);
        while (ek_session_pop_frame(b, &fr) == 1) {
        }
    }
    need(ek_session_tick(b, now) == EK_OK);
    collect(b, f, seen);
    need(ek_session_get_state(b) == EK_STATE_READY);
    /* Every recorded frame still gets its message through. */
    for (size_t i = 0; i < f->n_rec; i++)
        need(ek_session_recv(b, f->rec[i].b, f->rec[i].len, now) == EK_OK);
    collect(b, f, seen);
    for (size_t m = 0; m < f->n_msg; m++)
        need(seen[m]);
    ek_session_free(b);
    return 0;
}

#ifdef FUZZ_SESSION_CORPUS_MAIN
static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *out = fopen(path, "wb");
    need(out != NULL && fwrite(p, 1, n, out) == n);
    fclose(out);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const fixture *f = fixture_get();
    static uint8_t all[1 << 16];
    size_t at = 0;
    for (size_t i = 0; i < f->n_rec; i++) {
        uint8_t one[1 << 16];
        one[0] = (uint8_t)(f->rec[i].len >> 8);
        one[1] = (uint8_t)f->rec[i].len;
        memcpy(one + 2, f->rec[i].b, f->rec[i].len);
        char name[64];
        snprintf(name, sizeof(name), "frame-%02zu", i);
        write_seed(argv[1], name, one, f->rec[i].len + 2);
        if (at + f->rec[i].len + 2 <= sizeof(all)) {
            memcpy(all + at, one, f->rec[i].len + 2);
            at += f->rec[i].len + 2;
        }
    }
    write_seed(argv[1], "all-frames", all, at);
    static const char pe[] = "{\"type\":\"protocol-error\",\"specVersion\":\"1.0\","
                             "\"code\":\"decrypt-failed\",\"fatal\":false}";
    uint8_t one[256];
    one[0] = 0;
    one[1] = (uint8_t)(sizeof(pe) - 1);
    memcpy(one + 2, pe, sizeof(pe) - 1);
    write_seed(argv[1], "protocol-error", one, sizeof(pe) + 1);
    /* The recorded resume-ok again: late, it changes nothing. */
    static uint8_t rok[1 << 16];
    rok[0] = (uint8_t)(f->resume_ok.len >> 8);
    rok[1] = (uint8_t)f->resume_ok.len;
    memcpy(rok + 2, f->resume_ok.b, f->resume_ok.len);
    write_seed(argv[1], "resume-ok", rok, f->resume_ok.len + 2);
    return 0;
}
#endif
