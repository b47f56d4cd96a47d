/*
 * fuzz_ratchet.c: libFuzzer target for the Signal layer's parsers and its
 * decrypt path. The first input byte picks what the rest is fed to:
 *
 *   0  signal_message_decode        3  ek_ratchet_session_restore (and a
 *   1  prekey_message_decode           restored state must save back to
 *   2  ek_ratchet_bundle_decode        the same bytes)
 *   4  ek_ratchet_open on Alice, established, with a skipped key stored
 *   5  ek_ratchet_open on Bob, waiting for Alice's first message
 *   6  ek_ratchet_open on Bob, established, with a skipped key stored
 *
 * The sessions come from fixed seeds, built once and restored from their
 * saved bytes for every input. After an open that succeeds the session
 * must still seal, save and restore. Any inconsistency aborts.
 *
 * The seed corpus (fuzz/corpus/fuzz_ratchet/) holds valid inputs for every
 * mode; regenerate it with
 *   cc -std=c11 -DFUZZ_RATCHET_CORPUS_MAIN -Iinclude -Ilib fuzz/fuzz_ratchet.c \
 *      build/libenkrypt.a -lcrypto -lsodium -o gen && ./gen fuzz/corpus/fuzz_ratchet
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#include "ratchet/ratchet_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { WIRE = 1024, STATE = 8192, N_SEEDS = 16 };

typedef struct blob {
    uint8_t b[STATE];
    size_t len;
} blob;

/* Built once: the saved sessions, and valid inputs for the corpus. */
typedef struct fixture {
    blob alice, bob_waiting, bob;
    blob seeds[N_SEEDS];
    size_t n_seeds;
} fixture;

static void need(int ok)
{
    if (!ok)
        abort();
}

static void save_to(blob *out, const ek_ratchet_session *s)
{
    need(ek_ratchet_session_save(out->b, sizeof(out->b), &out->len, s) == EK_OK);
}

static void add_seed(fixture *f, uint8_t mode, const uint8_t *p, size_t len)
{
    need(f->n_seeds < N_SEEDS && len + 1 <= STATE);
    blob *s = &f->seeds[f->n_seeds++];
    s->b[0] = mode;
    memcpy(s->b + 1, p, len);
    s->len = len + 1;
}

static void seal(blob *out, ek_ratchet_session *s, const char *text)
{
    need(ek_ratchet_seal(out->b, sizeof(out->b), &out->len, s, NULL, 0, text, strlen(text)) ==
         EK_OK);
}

static void open_ok(ek_ratchet_session *s, const blob *m)
{
    uint8_t out[WIRE];
    size_t n = 0;
    need(ek_ratchet_open(out, sizeof(out), &n, s, NULL, 0, m->b, m->len) == EK_OK);
}

static const fixture *fixture_get(void)
{
    static fixture f;
    static int ready;
    if (ready)
        return &f;
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"fuzz_ratchet", 12);
    ek_ratchet_identity alice_id, bob_id;
    ek_ratchet_prekeys pk;
    ek_ratchet_bundle bundle;
    ek_ratchet_session *alice = NULL, *bob = NULL;
    need(ek_ratchet_identity_generate(&alice_id, &rng.rng) == EK_OK);
    need(ek_ratchet_identity_generate(&bob_id, &rng.rng) == EK_OK);
    need(ek_ratchet_prekeys_generate(&pk, &bob_id, 1, 1, 2, &rng.rng) == EK_OK);
    ek_ratchet_bundle_from_prekeys(&bundle, &bob_id, &pk, 1);
    need(ek_ratchet_session_new_initiator(&alice, NULL, &rng.rng, &alice_id, &bundle) == EK_OK);
    need(ek_ratchet_session_new_responder(&bob, NULL, &rng.rng, &bob_id, &pk, NULL) == EK_OK);
    save_to(&f.bob_waiting, bob);

    blob enc, a0, a1, a2, b0, b1, b2, a3;
    need(ek_ratchet_bundle_encode(enc.b, sizeof(enc.b), &enc.len, &bundle) == EK_OK);
    seal(&a0, alice, "a0");
    seal(&a1, alice, "a1");
    seal(&a2, alice, "a2");
    open_ok(bob, &a0);
    open_ok(bob, &a2); /* a1's key stays in Bob's store */
    seal(&b0, bob, "b0");
    seal(&b1, bob, "b1");
    seal(&b2, bob, "b2");
    open_ok(alice, &b1); /* b0's key stays in Alice's store */
    seal(&a3, alice, "a3");
    save_to(&f.alice, alice);
    save_to(&f.bob, bob);

    prekey_message pm;
    need(prekey_message_decode(&pm, a0.b + 1, a0.len - 1) == EK_OK);
    add_seed(&f, 0, pm.message, pm.message_len);
    add_seed(&f, 0, b0.b + 1, b0.len - 1);
    add_seed(&f, 1, a0.b + 1, a0.len - 1);
    add_seed(&f, 2, enc.b, enc.len);
    add_seed(&f, 3, f.alice.b, f.alice.len);
    add_seed(&f, 3, f.bob.b, f.bob.len);
    add_seed(&f, 3, f.bob_waiting.b, f.bob_waiting.len);
    add_seed(&f, 4, b0.b, b0.len);
    add_seed(&f, 4, b2.b, b2.len);
    add_seed(&f, 5, a0.b, a0.len);
    add_seed(&f, 5, a1.b, a1.len);
    add_seed(&f, 6, a1.b, a1.len);
    add_seed(&f, 6, a3.b, a3.len);
    ek_ratchet_session_free(alice);
    ek_ratchet_session_free(bob);
    ready = 1;
    return &f;
}

/* A restored state saves back to exactly its bytes. */
static void check_round_trip(const ek_ratchet_session *s, const uint8_t *in, size_t len)
{
    static blob again;
    need(ek_ratchet_session_save(again.b, sizeof(again.b), &again.len, s) == EK_OK);
    need(again.len == len && memcmp(again.b, in, len) == 0);
}

static void fuzz_open(const blob *state, const uint8_t *in, size_t len)
{
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, in, len < 16 ? len : 16);
    ek_ratchet_session *s = NULL;
    need(ek_ratchet_session_restore(&s, NULL, &rng.rng, state->b, state->len) == EK_OK);
    static uint8_t out[1u << 17];
    size_t n = 0;
    int rc = ek_ratchet_open(out, sizeof(out), &n, s, NULL, 0, in, len);
    if (rc == EK_OK) {
        /* Still a working session. */
        static blob m, saved;
        if (ek_ratchet_session_ready(s))
            need(ek_ratchet_seal(m.b, sizeof(m.b), &m.len, s, NULL, 0, out, n < 64 ? n : 64) ==
                 EK_OK);
        need(ek_ratchet_session_save(saved.b, sizeof(saved.b), &saved.len, s) == EK_OK);
        ek_ratchet_session *r = NULL;
        need(ek_ratchet_session_restore(&r, NULL, &rng.rng, saved.b, saved.len) == EK_OK);
        ek_ratchet_session_free(r);
    } else {
        /* Refused: not a byte of the session changed. */
        need(n == 0);
        check_round_trip(s, state->b, state->len);
    }
    ek_ratchet_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fixture *f = fixture_get();
    if (size < 1)
        return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    switch (data[0] % 7) {
    case 0: {
        signal_message m;
        if (signal_message_decode(&m, in, len) == EK_OK)
            need(m.ciphertext_len % 16 == 0 && m.body_len + EK_RATCHET_MAC_LEN == len);
        break;
    }
    case 1: {
        prekey_message m;
        if (prekey_message_decode(&m, in, len) == EK_OK)
            need(m.message + m.message_len <= in + len);
        break;
    }
    case 2: {
        ek_ratchet_bundle b;
        static uint8_t again[EK_RATCHET_BUNDLE_MAX_LEN];
        size_t n = 0;
        if (ek_ratchet_bundle_decode(&b, in, len) == EK_OK)
            need(ek_ratchet_bundle_encode(again, sizeof(again), &n, &b) == EK_OK &&
                 ek_ratchet_bundle_verify(&b) == EK_OK);
        break;
    }
    case 3: {
        ek_ratchet_session *s = NULL;
        if (ek_ratchet_session_restore(&s, NULL, NULL, in, len) == EK_OK) {
            check_round_trip(s, in, len);
            ek_ratchet_session_free(s);
        }
        break;
    }
    case 4: fuzz_open(&f->alice, in, len); break;
    case 5: fuzz_open(&f->bob_waiting, in, len); break;
    default: fuzz_open(&f->bob, in, len);
    }
    return 0;
}

#ifdef FUZZ_RATCHET_CORPUS_MAIN
int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const fixture *f = fixture_get();
    for (size_t i = 0; i < f->n_seeds; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/seed-%02zu-mode%u", argv[1], i, f->seeds[i].b[0]);
        FILE *out = fopen(path, "wb");
        if (out == NULL || fwrite(f->seeds[i].b, 1, f->seeds[i].len, out) != f->seeds[i].len)
            return 1;
        fclose(out);
    }
    return 0;
}
#endif
