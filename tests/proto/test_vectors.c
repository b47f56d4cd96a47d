/*
 * test_vectors.c: enkrypt profile 1.0's own golden vectors (tests/vectors/,
 * docs/protocol.md Appendix A):
 *
 *   protocol-error.json   protocol-error PDUs, byte for byte
 *   chunking.json         a 9000-byte message frame cut for 8192-byte frames
 *                         (the original's V7 case), and its reassembly
 *   live-cascade*.json    fixed seeds -> hello, response, finish, the session
 *                         id, the safety number, and the first message frames
 *                         through the real cascade
 *
 *   test_proto_vectors DIR              check every file against the code
 *   test_proto_vectors --generate DIR   (re)write them from the code
 *
 * A check regenerates everything from the same seeds and compares bytes;
 * the live vector is also replayed into a fresh responder, which must open
 * the initiator's recorded frames to the recorded envelopes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_session.h>

#include "ek_test.h"
#include "pipe.h"
#include "proto/session_internal.h"

#define NOW0 1717000000000ull

static int generate;
static const char *dir;
static ek_vec_stats st;

static char *hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = 0;
    return s;
}

static json_t *jhex(const uint8_t *p, size_t n)
{
    char *h = hex(p, n);
    json_t *j = json_string(h);
    free(h);
    return j;
}

static char *path_of(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

/* Write doc (generate) or compare it with the file (check). */
static void emit(const char *name, json_t *doc)
{
    if (generate) {
        if (json_dump_file(doc, path_of(name), JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
            fprintf(stderr, "cannot write %s\n", path_of(name));
            exit(2);
        }
        printf("  wrote %s\n", path_of(name));
    } else {
        json_t *want = ek_test_load_json(path_of(name));
        int same = json_equal(want, doc);
        ek_vec_case(&st, same, "%s differs from what the code produces", name);
        printf("  %s: %s\n", name, same ? "identical" : "DIFFERS");
        json_decref(want);
    }
    json_decref(doc);
}

/* ---- protocol-error ---- */

static void protocol_errors(void)
{
    static const struct {
        const char *code;
        int fatal;
    } cases[] = {{"decrypt-failed", 0}, {"layer-mismatch", 1}, {"unknown-session", 0}};
    json_t *vs = json_array();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ek_pdu_builder *b = NULL;
        uint8_t buf[256];
        ek_writer w;
        ek_writer_init_fixed(&w, buf, sizeof(buf));
        EK_CHECK_OK(ek_pdu_build_begin(&b, "protocol-error"));
        EK_CHECK_OK(ek_pdu_add_string(b, "code", cases[i].code, strlen(cases[i].code)));
        EK_CHECK_OK(ek_pdu_add_bool(b, "fatal", cases[i].fatal));
        EK_CHECK_OK(ek_pdu_build_finish(b, &w));
        ek_pdu_build_free(b);
        json_t *v = json_object();
        json_object_set_new(v, "code", json_string(cases[i].code));
        json_object_set_new(v, "fatal", json_boolean(cases[i].fatal));
        json_object_set_new(v, "json", json_stringn((const char *)buf, w.len));
        json_object_set_new(v, "hex", jhex(buf, w.len));
        json_array_append_new(vs, v);
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "profile", json_string("enkrypt profile 1.0"));
    json_object_set_new(doc, "vectors", vs);
    emit("protocol-error.json", doc);
}

/* ---- chunking ---- */

static void chunking(void)
{
    enum { LEN = 9000, FRAME = 8192, SEQ = 5 };
    static uint8_t f[LEN];
    f[0] = FRAME_MESSAGE;
    f[1] = SEQ; /* varint(5) */
    for (size_t i = 2; i < LEN; i++)
        f[i] = (uint8_t)(i * 31 + 7);
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    size_t count = 0;
    EK_CHECK_OK(frame_chunk_count(LEN, SEQ, FRAME, &count));
    json_t *chunks = json_array();
    static uint8_t joined[LEN];
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        static uint8_t c[FRAME];
        ek_writer w;
        ek_writer_init_fixed(&w, c, sizeof(c));
        EK_CHECK_OK(frame_chunk_write(&w, f, LEN, SEQ, FRAME, i, key));
        EK_CHECK(w.len <= FRAME);
        chunk_hdr h;
        EK_CHECK_OK(frame_parse_chunk(c, w.len, &h));
        EK_CHECK_OK(frame_chunk_verify(c, w.len, key));
        EK_CHECK(h.msg_id == SEQ && h.index == i && h.count == count);
        memcpy(joined + at, c + h.hdr_len, h.data_len);
        at += h.data_len;
        json_t *o = json_object();
        json_object_set_new(o, "length", json_integer((json_int_t)w.len));
        json_object_set_new(o, "hex", jhex(c, w.len));
        json_array_append_new(chunks, o);
    }
    EK_CHECK(at == LEN && memcmp(joined, f, LEN) == 0);
    json_t *doc = json_object();
    json_object_set_new(doc, "profile", json_string("enkrypt profile 1.0"));
    json_object_set_new(doc, "frameBytes", json_integer(FRAME));
    json_object_set_new(doc, "chunkKey", jhex(key, 32));
    json_object_set_new(doc, "messageFrameLength", json_integer(LEN));
    json_object_set_new(doc, "messageFrame",
                        json_string("e1 05 then bytes (i * 31 + 7) mod 256 for i = 2 .. 8999"));
    json_object_set_new(doc, "messageFrameHex", jhex(f, LEN));
    json_object_set_new(doc, "chunkCount", json_integer((json_int_t)count));
    json_object_set_new(doc, "chunks", chunks);
    emit("chunking.json", doc);
}

/* ---- the live cascade ---- */

typedef struct rec {
    json_t *frames; /* every frame, in order, with its sender */
    json_t *events;
} rec;

static void record(rec *r, const char *from, const ek_frame *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "from", json_string(from));
    json_object_set_new(o, "binary", json_boolean(f->binary));
    json_object_set_new(o, "hex", jhex(f->data, f->len));
    if (!f->binary)
        json_object_set_new(o, "json", json_stringn((const char *)f->data, f->len));
    json_array_append_new(r->frames, o);
}

/* Move frames both ways until quiet, recording them. */
static void run_pipe(pipe *p, rec *r)
{
    for (int moved = 1; moved;) {
        moved = 0;
        ek_frame f;
        while (ek_session_pop_frame(p->a.s, &f) == 1) {
            record(r, "initiator", &f);
            EK_CHECK_OK(ek_session_recv(p->b.s, f.data, f.len, p->now));
            moved = 1;
        }
        while (ek_session_pop_frame(p->b.s, &f) == 1) {
            record(r, "responder", &f);
            EK_CHECK_OK(ek_session_recv(p->a.s, f.data, f.len, p->now));
            moved = 1;
        }
    }
    ek_event ev;
    while (ek_session_pop_event(p->b.s, &ev) == 1) {
        if (ev.type == EK_EVENT_MESSAGE)
            json_array_append_new(r->events, json_pack("{s:s,s:s#}", "to", "responder", "envelope",
                                                       (const char *)ev.data, ev.len));
    }
    while (ek_session_pop_event(p->a.s, &ev) == 1) {
        if (ev.type == EK_EVENT_MESSAGE)
            json_array_append_new(r->events, json_pack("{s:s,s:s#}", "to", "initiator", "envelope",
                                                       (const char *)ev.data, ev.len));
    }
}

static void side_with_seed(pipe_side *side, const char *seed, int role, const char *const *layers,
                           size_t n)
{
    memset(side, 0, sizeof(*side));
    ek_rng_seeded_init(&side->rng, (const uint8_t *)seed, strlen(seed));
    EK_CHECK_OK(ek_identity_generate(&side->id, &side->rng.rng));
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role;
    cfg.layers = layers;
    cfg.n_layers = n;
    cfg.rng = &side->rng.rng;
    cfg.send_read_receipts = 1;
    EK_CHECK_OK(ek_session_new(&side->s, &side->id, &cfg));
}

static void live(const char *name, const char *const *layers, size_t n)
{
    static const char seed_i[] = "enkrypt golden vector: initiator";
    static const char seed_r[] = "enkrypt golden vector: responder";
    pipe p;
    memset(&p, 0, sizeof(p));
    side_with_seed(&p.a, seed_i, EK_ROLE_INITIATOR, layers, n);
    side_with_seed(&p.b, seed_r, EK_ROLE_RESPONDER, layers, n);
    p.now = NOW0;
    rec r = {json_array(), json_array()};
    EK_CHECK_OK(ek_session_start(p.b.s, p.now));
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    run_pipe(&p, &r);
    EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_READY);

    /* The first messages. */
    static const char m1[] =
        "{\"type\":\"text\",\"specVersion\":\"1.0\",\"id\":\"AAAAAAAAAAAAAAAAAAAAAQ\","
        "\"timestamp\":1717000000001,\"body\":\"Hi\"}";
    static const char m2[] =
        "{\"type\":\"text\",\"specVersion\":\"1.0\",\"id\":\"AAAAAAAAAAAAAAAAAAAAAg\","
        "\"timestamp\":1717000000002,\"body\":\"Hello, \\u00e9 \\\"quoted\\\"\"}";
    static const char m3[] =
        "{\"type\":\"read-receipt\",\"specVersion\":\"1.0\",\"timestamp\":1717000000003,"
        "\"targets\":[\"AAAAAAAAAAAAAAAAAAAAAg\"]}";
    p.now = NOW0 + 1;
    EK_CHECK_OK(ek_session_send(p.a.s, (const uint8_t *)m1, sizeof(m1) - 1, p.now));
    run_pipe(&p, &r);
    p.now = NOW0 + 2;
    EK_CHECK_OK(ek_session_send(p.b.s, (const uint8_t *)m2, sizeof(m2) - 1, p.now));
    run_pipe(&p, &r);
    p.now = NOW0 + 3;
    EK_CHECK_OK(ek_session_send(p.a.s, (const uint8_t *)m3, sizeof(m3) - 1, p.now));
    run_pipe(&p, &r);

    uint8_t sid[32], pi[32], pr[32];
    char sn[61];
    EK_CHECK_OK(ek_session_id(p.a.s, sid));
    EK_CHECK_OK(ek_session_safety_number(p.a.s, sn));
    EK_CHECK_OK(ek_identity_public(pi, &p.a.id));
    EK_CHECK_OK(ek_identity_public(pr, &p.b.id));

    json_t *jl = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(jl, json_string(layers[i]));
    json_t *doc = json_object();
    json_object_set_new(doc, "profile", json_string("enkrypt profile 1.0"));
    json_object_set_new(doc, "layers", jl);
    json_object_set_new(doc, "rng",
                        json_string("ek_rng_seeded: SHA-256(seed) is the key; block i is "
                                    "SHA-256(key || u64be(i)); see lib/crypto/rng.c"));
    json_object_set_new(doc, "initiatorSeed", json_string(seed_i));
    json_object_set_new(doc, "responderSeed", json_string(seed_r));
    json_object_set_new(doc, "nowMs", json_integer((json_int_t)NOW0));
    json_object_set_new(doc, "initiatorIdentity", jhex(pi, 32));
    json_object_set_new(doc, "responderIdentity", jhex(pr, 32));
    json_object_set_new(doc, "sessionId", jhex(sid, 32));
    json_object_set_new(doc, "safetyNumber", json_string(sn));
    json_object_set_new(doc, "frames", r.frames);
    json_object_set_new(doc, "delivered", r.events);
    pipe_free(&p);

    /* Replay: a fresh responder from the same seed opens the recorded
     * initiator frames to the same envelopes. */
    pipe_side b2;
    side_with_seed(&b2, seed_r, EK_ROLE_RESPONDER, layers, n);
    EK_CHECK_OK(ek_session_start(b2.s, NOW0));
    size_t opened = 0;
    json_t *frames = json_object_get(doc, "frames");
    for (size_t i = 0; i < json_array_size(frames); i++) {
        json_t *f = json_array_get(frames, i);
        if (strcmp(json_string_value(json_object_get(f, "from")), "initiator") != 0)
            continue;
        size_t len;
        uint8_t *bytes = ek_test_json_hex(f, "hex", &len);
        EK_CHECK_OK(ek_session_recv(b2.s, bytes, len, NOW0 + 3));
        free(bytes);
        ek_event ev;
        while (ek_session_pop_event(b2.s, &ev) == 1)
            opened += ev.type == EK_EVENT_MESSAGE;
    }
    EK_CHECK(opened == 2);
    ek_session_free(b2.s);
    emit(name, doc);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--generate") == 0) {
        generate = 1;
        dir = argv[2];
    } else if (argc == 2)
        dir = argv[1];
    else {
        fprintf(stderr, "usage: %s [--generate] DIR\n", argv[0]);
        return 2;
    }
    ek_vec_init(&st, "proto.golden");
    protocol_errors();
    chunking();
    static const char *const three[] = {"Signal", "ML-KEM", "AES"};
    live("live-cascade-signal-mlkem-aes.json", three, 3);
    const char *const *layers;
    if (pipe_default_layers(&layers) == 4)
        live("live-cascade.json", layers, 4);
    if (generate)
        return ek_test_finish("proto.golden (generate)");
    if (ek_test_failures > 0)
        ek_vec_case(&st, 0, "%d checks failed", ek_test_failures);
    return ek_vec_finish(&st);
}
