/*
 * test_downgrade.c: a man in the middle of the handshake (issue 6,
 * docs/protocol.md §4.5). For every field of hello, response and finish the
 * MITM changes one thing (drops a layer, reorders the layers, adds or
 * replaces a version, flips one bit of a key, a material, a signature or a
 * MAC, changes specVersion) and the test checks the change is detected
 * before ready: after a tampered hello or response neither side is ever
 * ready; after a tampered finish (the initiator is ready once it sent
 * finish, as in any 1-RTT handshake) the responder never is, and the
 * initiator's messages are never delivered.
 *
 * Then a MITM with its own identity that runs a handshake with each side:
 * both sides are ready, but their safety numbers differ (what out-of-band
 * verification catches), and a side that pinned the expected identity
 * refuses at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_test.h"
#include "pipe.h"

typedef struct tamper {
    const char *pdu;   /* hello, response, finish */
    const char *field; /* the field changed */
    int how;           /* 0 flip a bit, 1 drop last element, 2 reverse, 3 add "2.0",
                          4 replace with "0.9" / "1.1", 5 specVersion "1.1",
                          6 swap in the value of another, genuine handshake (a
                          valid key, material or signature of someone else) */
    size_t index;      /* for arrays of bytes */
    const char *const *responder_layers; /* NULL: the same as the initiator's */
    size_t n_responder_layers;
} tamper;

static void flip_b64(json_t *s)
{
    size_t n = 0;
    uint8_t buf[40000];
    const char *v = json_string_value(s);
    EK_CHECK_OK(ek_b64url_decode(buf, sizeof(buf), &n, v, strlen(v)));
    if (n == 0) {
        buf[0] = 1;
        n = 1;
    } else
        buf[n / 2] ^= 0x01;
    char enc[60000];
    size_t m = 0;
    EK_CHECK_OK(ek_b64url_encode(enc, sizeof(enc), &m, buf, n));
    json_string_setn(s, enc, m);
}

/* hello, response and finish of a genuine handshake between two other
 * identities, for the swaps (how 6). */
static json_t *reference[3];

static int pdu_index(const char *type)
{
    return strcmp(type, "hello") == 0 ? 0 : strcmp(type, "response") == 0 ? 1 : 2;
}

static void record_reference(void)
{
    pipe p;
    pipe_init(&p, 777, NULL, 0);
    EK_CHECK_OK(ek_session_start(p.b.s, p.now));
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    for (int round = 0; round < 4; round++) {
        for (int d = 0; d < 2; d++) {
            ek_frame f;
            while (ek_session_pop_frame(d == 0 ? p.a.s : p.b.s, &f) == 1) {
                if (!f.binary) {
                    json_error_t e;
                    json_t *j = json_loadb((const char *)f.data, f.len, 0, &e);
                    EK_CHECK(j != NULL);
                    const char *type = json_string_value(json_object_get(j, "type"));
                    if (type != NULL && reference[pdu_index(type)] == NULL)
                        reference[pdu_index(type)] = json_incref(j);
                    json_decref(j);
                }
                pipe_deliver(&p, d == 0 ? &p.b : &p.a, f.data, f.len);
            }
        }
    }
    EK_CHECK(p.a.ready == 1 && p.b.ready == 1);
    EK_CHECK(reference[0] != NULL && reference[1] != NULL && reference[2] != NULL);
    pipe_free(&p);
}

/* Set when a swap changed nothing (a layer with no material at that step:
 * both handshakes have an empty string there); the case is then skipped. */
static int swap_was_noop;

static void swap_in(json_t *j, const tamper *t)
{
    json_t *ref = json_object_get(reference[pdu_index(t->pdu)], t->field);
    EK_CHECK(ref != NULL);
    json_t *cur = json_object_get(j, t->field);
    if (json_is_array(ref) && strcmp(t->field, "material") == 0) {
        swap_was_noop = json_equal(json_array_get(cur, t->index), json_array_get(ref, t->index));
        json_array_set(cur, t->index, json_array_get(ref, t->index));
    } else {
        swap_was_noop = json_equal(cur, ref);
        json_object_set_new(j, t->field, json_deep_copy(ref));
    }
}

/* Apply t to a JSON frame; returns the new frame (malloc) or NULL if t is
 * not for this PDU. */
static char *apply(const tamper *t, const uint8_t *f, size_t len, size_t *out_len)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)f, len, 0, &e);
    if (j == NULL)
        return NULL;
    if (strcmp(json_string_value(json_object_get(j, "type")), t->pdu) != 0) {
        json_decref(j);
        return NULL;
    }
    json_t *v = json_object_get(j, t->field);
    switch (t->how) {
    case 0:
        if (json_is_array(v))
            flip_b64(json_array_get(v, t->index));
        else
            flip_b64(v);
        break;
    case 1: json_array_remove(v, json_array_size(v) - 1); break;
    case 2: {
        json_t *r = json_array();
        for (size_t i = json_array_size(v); i-- > 0;)
            json_array_append(r, json_array_get(v, i));
        json_object_set_new(j, t->field, r);
        break;
    }
    case 3: json_array_append_new(v, json_string("2.0")); break;
    case 4:
        if (json_is_array(v)) {
            json_array_clear(v);
            json_array_append_new(v, json_string("0.9"));
        } else
            json_object_set_new(j, t->field, json_string("1.1"));
        break;
    case 5: json_object_set_new(j, "specVersion", json_string("1.1")); break;
    case 6: swap_in(j, t); break;
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    *out_len = strlen(s);
    return s;
}

static unsigned long delivered_to_b;

static void count_b(pipe *p, pipe_side *to, const ek_event *ev)
{
    (void)p;
    if (to == &p->b && ev->type == EK_EVENT_MESSAGE)
        delivered_to_b++;
}

/* Run the handshake through the MITM; then a message a -> b. Returns 0
 * when the case changed nothing (see swap_was_noop), 1 otherwise. */
static int run_case(const tamper *t, unsigned seed)
{
    pipe p;
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    pipe_init(&p, seed, layers, n);
    if (t->responder_layers != NULL) {
        ek_session_free(p.b.s);
        ek_session_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.role = EK_ROLE_RESPONDER;
        cfg.layers = t->responder_layers;
        cfg.n_layers = t->n_responder_layers;
        cfg.rng = &p.b.rng.rng;
        EK_CHECK_OK(ek_session_new(&p.b.s, &p.b.id, &cfg));
    }
    p.on_event = count_b;
    delivered_to_b = 0;
    swap_was_noop = 0;
    EK_CHECK_OK(ek_session_start(p.b.s, p.now));
    EK_CHECK_OK(ek_session_start(p.a.s, p.now));
    int applied = 0;
    for (int round = 0; round < 20; round++) {
        ek_frame f;
        while (ek_session_pop_frame(p.a.s, &f) == 1) {
            size_t len = 0;
            char *m = f.binary ? NULL : apply(t, f.data, f.len, &len);
            if (m != NULL) {
                applied = 1;
                pipe_deliver(&p, &p.b, (const uint8_t *)m, len);
                free(m);
            } else
                pipe_deliver(&p, &p.b, f.data, f.len);
        }
        while (ek_session_pop_frame(p.b.s, &f) == 1) {
            size_t len = 0;
            char *m = f.binary ? NULL : apply(t, f.data, f.len, &len);
            if (m != NULL) {
                applied = 1;
                pipe_deliver(&p, &p.a, (const uint8_t *)m, len);
                free(m);
            } else
                pipe_deliver(&p, &p.a, f.data, f.len);
        }
    }
    EK_CHECK(applied);
    if (swap_was_noop) {
        pipe_free(&p);
        return 0;
    }
    /* The initiator may be ready only when the finish was tampered with;
     * the responder never. Past the stall time both have given up. */
    int a_ready = p.a.ready > 0;
    int b_ready = p.b.ready > 0;
    if (strcmp(t->pdu, "finish") != 0 && a_ready)
        ek_test_fail(__FILE__, __LINE__, "%s.%s (how %d): initiator became ready", t->pdu, t->field,
                     t->how);
    if (b_ready)
        ek_test_fail(__FILE__, __LINE__, "%s.%s (how %d): responder became ready", t->pdu, t->field,
                     t->how);
    if (a_ready) {
        uint8_t env[256];
        size_t len = pipe_text(env, sizeof(env), 1, "after a forged finish", 21, p.now);
        EK_CHECK_OK(ek_session_send(p.a.s, env, len, p.now));
        pipe_flush(&p);
        EK_CHECK(delivered_to_b == 0);
    }
    p.now += EK_HANDSHAKE_STALL_MS + 1;
    EK_CHECK_OK(ek_session_tick(p.a.s, p.now));
    EK_CHECK_OK(ek_session_tick(p.b.s, p.now));
    pipe_flush(&p);
    EK_CHECK(ek_session_get_state(p.b.s) == EK_STATE_FAILED);
    if (!a_ready)
        EK_CHECK(ek_session_get_state(p.a.s) == EK_STATE_FAILED);
    pipe_free(&p);
    return 1;
}

/* A MITM that terminates a handshake with each side under its own key. */
static void full_mitm(int pin)
{
    pipe left, right; /* left: a <-> m (m responds); right: m <-> b (m initiates) */
    pipe_init(&left, 91, NULL, 0);
    pipe_init(&right, 92, NULL, 0);
    uint8_t b_pub[32];
    EK_CHECK_OK(ek_identity_public(b_pub, &right.b.id));
    if (pin) {
        /* a expects b's key: configure a with it */
        ek_session_free(left.a.s);
        const char *const *layers;
        size_t n = pipe_default_layers(&layers);
        ek_session_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.role = EK_ROLE_INITIATOR;
        cfg.layers = layers;
        cfg.n_layers = n;
        cfg.rng = &left.a.rng.rng;
        cfg.expected_peer = b_pub;
        EK_CHECK_OK(ek_session_new(&left.a.s, &left.a.id, &cfg));
    }
    EK_CHECK_OK(ek_session_start(left.b.s, left.now));
    EK_CHECK_OK(ek_session_start(left.a.s, left.now));
    pipe_flush(&left);
    pipe_handshake(&right);
    if (pin) {
        EK_CHECK(ek_session_get_state(left.a.s) == EK_STATE_FAILED);
        EK_CHECK(strcmp(left.a.last_code, "auth-failed") == 0);
        printf("  MITM with its own key, initiator pinned the peer: refused (%s)\n",
               left.a.last_code);
    } else {
        char sa[61], sb[61];
        EK_CHECK_OK(ek_session_safety_number(left.a.s, sa));
        EK_CHECK_OK(ek_session_safety_number(right.b.s, sb));
        EK_CHECK(strcmp(sa, sb) != 0);
        printf("  MITM with its own key, unpinned: both ready, safety numbers differ\n"
               "    a sees %s\n    b sees %s\n",
               sa, sb);
    }
    pipe_free(&left);
    pipe_free(&right);
}

int main(void)
{
    const char *const *layers;
    size_t n = pipe_default_layers(&layers);
    const char *reduced[EK_CASCADE_MAX_LAYERS];
    for (size_t i = 0; i + 1 < n; i++)
        reduced[i] = layers[i];
    tamper cases[128];
    size_t nc = 0;
    /* hello */
    cases[nc++] = (tamper){"hello", "layers", 1, 0, NULL, 0};
    cases[nc++] = (tamper){"hello", "layers", 1, 0, reduced, n - 1}; /* responder accepts less */
    cases[nc++] = (tamper){"hello", "layers", 2, 0, NULL, 0};
    cases[nc++] = (tamper){"hello", "material", 1, 0, NULL, 0};
    cases[nc++] = (tamper){"hello", "versions", 3, 0, NULL, 0};
    cases[nc++] = (tamper){"hello", "versions", 4, 0, NULL, 0};
    cases[nc++] = (tamper){"hello", "type", 5, 0, NULL, 0};
    cases[nc++] = (tamper){"hello", "identity", 0, 0, NULL, 0};
    cases[nc++] = (tamper){"hello", "ephemeral", 0, 0, NULL, 0};
    cases[nc++] = (tamper){"hello", "random", 0, 0, NULL, 0};
    for (size_t k = 0; k < n; k++)
        cases[nc++] = (tamper){"hello", "material", 0, k, NULL, 0};
    /* response */
    cases[nc++] = (tamper){"response", "version", 4, 0, NULL, 0};
    cases[nc++] = (tamper){"response", "layers", 1, 0, NULL, 0};
    cases[nc++] = (tamper){"response", "layers", 2, 0, NULL, 0};
    cases[nc++] = (tamper){"response", "type", 5, 0, NULL, 0};
    cases[nc++] = (tamper){"response", "identity", 0, 0, NULL, 0};
    cases[nc++] = (tamper){"response", "ephemeral", 0, 0, NULL, 0};
    cases[nc++] = (tamper){"response", "random", 0, 0, NULL, 0};
    cases[nc++] = (tamper){"response", "signature", 0, 0, NULL, 0};
    cases[nc++] = (tamper){"response", "mac", 0, 0, NULL, 0};
    for (size_t k = 0; k < n; k++)
        cases[nc++] = (tamper){"response", "material", 0, k, NULL, 0};
    /* finish */
    cases[nc++] = (tamper){"finish", "signature", 0, 0, NULL, 0};
    cases[nc++] = (tamper){"finish", "mac", 0, 0, NULL, 0};
    cases[nc++] = (tamper){"finish", "type", 5, 0, NULL, 0};
    for (size_t k = 0; k < n; k++)
        cases[nc++] = (tamper){"finish", "material", 0, k, NULL, 0};
    /* every field swapped for the same field of another genuine handshake */
    static const char *const hello_keys[] = {"identity", "ephemeral", "random"};
    static const char *const response_keys[] = {"identity", "ephemeral", "random", "signature",
                                                "mac"};
    static const char *const finish_keys[] = {"signature", "mac"};
    size_t n_flip = nc;
    for (size_t i = 0; i < sizeof(hello_keys) / sizeof(hello_keys[0]); i++)
        cases[nc++] = (tamper){"hello", hello_keys[i], 6, 0, NULL, 0};
    for (size_t i = 0; i < sizeof(response_keys) / sizeof(response_keys[0]); i++)
        cases[nc++] = (tamper){"response", response_keys[i], 6, 0, NULL, 0};
    for (size_t i = 0; i < sizeof(finish_keys) / sizeof(finish_keys[0]); i++)
        cases[nc++] = (tamper){"finish", finish_keys[i], 6, 0, NULL, 0};
    for (size_t k = 0; k < n; k++) {
        cases[nc++] = (tamper){"hello", "material", 6, k, NULL, 0};
        cases[nc++] = (tamper){"response", "material", 6, k, NULL, 0};
        cases[nc++] = (tamper){"finish", "material", 6, k, NULL, 0};
    }
    record_reference();
    size_t ran = 0, swaps = 0;
    for (size_t i = 0; i < nc; i++) {
        int r = run_case(&cases[i], (unsigned)i);
        ran += (size_t)r;
        swaps += i >= n_flip ? (size_t)r : 0;
    }
    EK_CHECK(swaps >= 10);
    printf("  %zu tamperings of hello, response and finish (%zu changed values, %zu values "
           "swapped for another handshake's genuine ones): every one detected before ready\n",
           ran, n_flip, swaps);
    for (int i = 0; i < 3; i++)
        json_decref(reference[i]);
    full_mitm(0);
    full_mitm(1);
    return ek_test_finish("proto.downgrade");
}
