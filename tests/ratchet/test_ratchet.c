/*
 * test_ratchet.c: unit tests of the Signal layer (ek_ratchet.h): XEdDSA,
 * bundles, sessions both ways, associated data, malformed and replayed
 * messages (rejected with no state change), the skip bounds, old chains,
 * save/restore, and allocation failures.
 *
 * "No state change" is checked by saving the session before and after a
 * rejected message: the saved bytes must be identical.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#include "ek_test.h"
#include "ratchet/ratchet_internal.h"

enum { BUF = 4096 };

typedef struct pair {
    ek_rng_seeded rng;
    ek_ratchet_identity alice_id, bob_id;
    ek_ratchet_prekeys prekeys;
    ek_ratchet_bundle bundle;
    ek_ratchet_session *alice, *bob;
} pair;

static void pair_init(pair *p, const char *seed, int one_time, const ek_allocator *a)
{
    memset(p, 0, sizeof(*p));
    ek_rng_seeded_init(&p->rng, (const uint8_t *)seed, strlen(seed));
    EK_CHECK_OK(ek_ratchet_identity_generate(&p->alice_id, &p->rng.rng));
    EK_CHECK_OK(ek_ratchet_identity_generate(&p->bob_id, &p->rng.rng));
    EK_CHECK_OK(
        ek_ratchet_prekeys_generate(&p->prekeys, &p->bob_id, 17, one_time, 99, &p->rng.rng));
    ek_ratchet_bundle_from_prekeys(&p->bundle, &p->bob_id, &p->prekeys, 1);
    EK_CHECK_OK(
        ek_ratchet_session_new_initiator(&p->alice, a, &p->rng.rng, &p->alice_id, &p->bundle));
    EK_CHECK_OK(ek_ratchet_session_new_responder(&p->bob, a, &p->rng.rng, &p->bob_id, &p->prekeys,
                                                 p->alice_id.key.pub));
}

static void pair_free(pair *p)
{
    ek_ratchet_session_free(p->alice);
    ek_ratchet_session_free(p->bob);
    p->alice = p->bob = NULL;
}

typedef struct wire_msg {
    uint8_t b[BUF];
    size_t len;
} wire_msg;

static void seal(wire_msg *m, ek_ratchet_session *s, const char *text, const char *ad)
{
    size_t ad_len = ad != NULL ? strlen(ad) : 0;
    EK_CHECK_OK(ek_ratchet_seal(m->b, sizeof(m->b), &m->len, s, ad, ad_len, text, strlen(text)));
}

/* Open and compare; returns the rc. */
static int open_expect(ek_ratchet_session *s, const wire_msg *m, const char *text, const char *ad)
{
    uint8_t out[BUF];
    size_t out_len = 0, ad_len = ad != NULL ? strlen(ad) : 0;
    int rc = ek_ratchet_open(out, sizeof(out), &out_len, s, ad, ad_len, m->b, m->len);
    if (rc == EK_OK && text != NULL) {
        EK_CHECK(out_len == strlen(text));
        EK_CHECK(out_len == strlen(text) && memcmp(out, text, out_len) == 0);
    }
    return rc;
}

/* The saved state (malloc'd) and its length. */
static uint8_t *saved(const ek_ratchet_session *s, size_t *len)
{
    size_t n = ek_ratchet_session_saved_len(s);
    uint8_t *b = malloc(n);
    EK_CHECK(b != NULL);
    EK_CHECK_OK(ek_ratchet_session_save(b, n, len, s));
    EK_CHECK(*len == n);
    return b;
}

/* rc of opening m must be want, and the session must not change. */
static void expect_rejected(ek_ratchet_session *s, const uint8_t *wire, size_t len, int want,
                            const char *what)
{
    size_t before_len = 0, after_len = 0, out_len = 0;
    uint8_t *before = saved(s, &before_len), out[BUF];
    int rc = ek_ratchet_open(out, sizeof(out), &out_len, s, NULL, 0, wire, len);
    uint8_t *after = saved(s, &after_len);
    if ((want != 0 && rc != want) || (want == 0 && rc == EK_OK))
        ek_test_fail(__FILE__, __LINE__, "%s: rc %d (%s), wanted %d", what, rc, ek_strerror(rc),
                     want);
    if (before_len != after_len || memcmp(before, after, before_len) != 0)
        ek_test_fail(__FILE__, __LINE__, "%s: the session changed", what);
    EK_CHECK(out_len == 0);
    free(before);
    free(after);
}

/* ---- XEdDSA ---- */

static void test_xeddsa(void)
{
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"xeddsa", 6);
    for (int i = 0; i < 100; i++) {
        ek_ratchet_keypair kp;
        uint8_t msg[64], sig[64], sig2[64], z[64];
        EK_CHECK_OK(ek_ratchet_keypair_generate(&kp, &rng.rng));
        EK_CHECK_OK(ek_random(&rng.rng, msg, sizeof(msg)));
        EK_CHECK_OK(ek_xeddsa_sign(sig, kp.priv, msg, (size_t)i % 64, &rng.rng));
        EK_CHECK_OK(ek_xeddsa_verify(sig, 64, kp.pub + 1, msg, (size_t)i % 64));
        EK_CHECK((sig[63] & 0x80) == 0);
        msg[0] ^= 1;
        EK_CHECK_RC(ek_xeddsa_verify(sig, 64, kp.pub + 1, msg, 64), EK_ERR_AUTH);
        EK_CHECK_RC(ek_xeddsa_verify(sig, 63, kp.pub + 1, msg, 64), EK_ERR_AUTH);
        /* The same Z gives the same signature; a different one does not. */
        EK_CHECK_OK(ek_random(&rng.rng, z, sizeof(z)));
        EK_CHECK_OK(ek_xeddsa_sign_with_random(sig, kp.priv, msg, 10, z));
        EK_CHECK_OK(ek_xeddsa_sign_with_random(sig2, kp.priv, msg, 10, z));
        EK_CHECK_BYTES(sig, sig2, 64);
        z[0] ^= 1;
        EK_CHECK_OK(ek_xeddsa_sign_with_random(sig2, kp.priv, msg, 10, z));
        EK_CHECK(memcmp(sig, sig2, 64) != 0);
        EK_CHECK_OK(ek_xeddsa_verify(sig2, 64, kp.pub + 1, msg, 10));
    }
    /* u >= p and other keys fail. */
    uint8_t u[32], sig[64] = {0}, msg[1] = {0};
    memset(u, 0xff, sizeof(u));
    EK_CHECK_RC(ek_xeddsa_verify(sig, 64, u, msg, 1), EK_ERR_AUTH);
}

/* ---- bundles ---- */

static void test_bundle(void)
{
    pair p;
    pair_init(&p, "bundle", 1, NULL);
    uint8_t enc[EK_RATCHET_BUNDLE_MAX_LEN + 8];
    size_t len = 0;
    ek_ratchet_bundle b;
    EK_CHECK_OK(ek_ratchet_bundle_encode(enc, sizeof(enc), &len, &p.bundle));
    EK_CHECK(len <= EK_RATCHET_BUNDLE_MAX_LEN);
    EK_CHECK_OK(ek_ratchet_bundle_decode(&b, enc, len));
    EK_CHECK(memcmp(&b, &p.bundle, sizeof(b)) == 0);
    /* Every truncation and every bit flip fails. */
    /* Every truncation fails, except the one that drops exactly the
     * one-time prekey: X3DH §3.2 does not sign it, so stripping it leaves
     * a valid bundle (the cascade's signed transcript covers it). */
    for (size_t n = 0; n < len; n++) {
        int rc = ek_ratchet_bundle_decode(&b, enc, n);
        EK_CHECK(rc != EK_OK || (n == len - 2 - 35 && !b.has_one_time_prekey));
    }
    for (size_t bit = 0; bit < 8 * len; bit++) {
        enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = ek_ratchet_bundle_decode(&b, enc, len);
        /* Ids and the device id are not signed (as in Signal): a changed id
         * may decode; anything else must fail. */
        if (rc == EK_OK)
            EK_CHECK(memcmp(b.identity_key, p.bundle.identity_key, 33) == 0 &&
                     memcmp(b.signed_prekey, p.bundle.signed_prekey, 33) == 0 &&
                     memcmp(b.signed_prekey_signature, p.bundle.signed_prekey_signature, 64) == 0);
        enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    enc[len] = 0;
    EK_CHECK(ek_ratchet_bundle_decode(&b, enc, len + 1) != EK_OK);
    /* A duplicated field, an unknown field, a wrong format byte. */
    uint8_t dup[EK_RATCHET_BUNDLE_MAX_LEN];
    memcpy(dup, enc, len);
    dup[len] = 0x08; /* field 1 again */
    dup[len + 1] = 0x01;
    EK_CHECK_RC(ek_ratchet_bundle_decode(&b, dup, len + 2), EK_ERR_DECODE);
    dup[len] = 0x48; /* field 9 */
    EK_CHECK_RC(ek_ratchet_bundle_decode(&b, dup, len + 2), EK_ERR_DECODE);
    dup[0] = 0x02;
    EK_CHECK_RC(ek_ratchet_bundle_decode(&b, dup, len), EK_ERR_UNSUPPORTED);
    /* A bundle signed by someone else. */
    ek_ratchet_bundle forged = p.bundle;
    memcpy(forged.identity_key, p.alice_id.key.pub, 33);
    EK_CHECK_RC(ek_ratchet_bundle_verify(&forged), EK_ERR_AUTH);
    ek_ratchet_session *s = NULL;
    EK_CHECK_RC(ek_ratchet_session_new_initiator(&s, NULL, NULL, &p.alice_id, &forged),
                EK_ERR_AUTH);
    EK_CHECK(s == NULL);
    /* Without a one-time prekey. */
    ek_ratchet_bundle plain = p.bundle;
    plain.has_one_time_prekey = 0;
    memset(plain.one_time_prekey, 0, 33);
    plain.one_time_prekey_id = 0;
    EK_CHECK_OK(ek_ratchet_bundle_encode(enc, sizeof(enc), &len, &plain));
    EK_CHECK_OK(ek_ratchet_bundle_decode(&b, enc, len));
    EK_CHECK(memcmp(&b, &plain, sizeof(b)) == 0);
    pair_free(&p);
}

/* ---- conversations ---- */

static void converse(pair *p, const char *ad, int rounds)
{
    wire_msg m;
    char text[64];
    for (int r = 0; r < rounds; r++) {
        int burst = 1 + r % 3;
        for (int i = 0; i < burst; i++) {
            snprintf(text, sizeof(text), "alice %d.%d", r, i);
            seal(&m, p->alice, text, ad);
            EK_CHECK_OK(open_expect(p->bob, &m, text, ad));
        }
        for (int i = 0; i < 2; i++) {
            snprintf(text, sizeof(text), "bob %d.%d", r, i);
            seal(&m, p->bob, text, ad);
            EK_CHECK_OK(open_expect(p->alice, &m, text, ad));
        }
    }
}

static void test_conversations(void)
{
    const char *ads[] = {NULL, "cascade transcript"};
    for (int one_time = 0; one_time <= 1; one_time++) {
        for (int a = 0; a < 2; a++) {
            pair p;
            pair_init(&p, one_time ? "conv1" : "conv0", one_time, NULL);
            EK_CHECK(ek_ratchet_session_ready(p.alice));
            EK_CHECK(!ek_ratchet_session_ready(p.bob));
            uint8_t peer[33];
            EK_CHECK_RC(ek_ratchet_session_peer_identity(peer, p.bob), EK_ERR_STATE);
            wire_msg m;
            EK_CHECK_RC(ek_ratchet_seal(m.b, sizeof(m.b), &m.len, p.bob, NULL, 0, "x", 1),
                        EK_ERR_STATE);
            seal(&m, p.alice, "first", ads[a]);
            EK_CHECK(m.b[0] == EK_RATCHET_MSG_PREKEY);
            EK_CHECK_OK(open_expect(p.bob, &m, "first", ads[a]));
            EK_CHECK(ek_ratchet_session_ready(p.bob));
            EK_CHECK_OK(ek_ratchet_session_peer_identity(peer, p.bob));
            EK_CHECK_BYTES(peer, p.alice_id.key.pub, 33);
            converse(&p, ads[a], 20);
            seal(&m, p.alice, "later", ads[a]);
            EK_CHECK(m.b[0] == EK_RATCHET_MSG_SIGNAL);
            EK_CHECK_OK(open_expect(p.bob, &m, "later", ads[a]));
            /* Empty and 0-byte plaintexts, and a large one. */
            uint8_t big[70000], out[71000];
            size_t out_len = 0;
            memset(big, 0x42, sizeof(big));
            EK_CHECK(ek_ratchet_encrypt_max_len(sizeof(big)) + 1 <= sizeof(m.b) + 70000);
            uint8_t *wire = malloc(ek_ratchet_encrypt_max_len(sizeof(big)) + 1);
            EK_CHECK_OK(ek_ratchet_seal(wire, ek_ratchet_encrypt_max_len(sizeof(big)) + 1, &m.len,
                                        p.bob, NULL, 0, big, sizeof(big)));
            EK_CHECK_OK(ek_ratchet_open(out, sizeof(out), &out_len, p.alice, NULL, 0, wire, m.len));
            EK_CHECK(out_len == sizeof(big) && memcmp(out, big, sizeof(big)) == 0);
            EK_CHECK_OK(ek_ratchet_seal(wire, 100, &m.len, p.bob, NULL, 0, NULL, 0));
            EK_CHECK_OK(ek_ratchet_open(out, sizeof(out), &out_len, p.alice, NULL, 0, wire, m.len));
            EK_CHECK(out_len == 0);
            free(wire);
            pair_free(&p);
        }
    }
    EK_CHECK(ek_ratchet_encrypt_max_len(EK_RATCHET_MAX_PLAINTEXT + 1) == 0);
}

static void test_associated_data(void)
{
    pair p;
    pair_init(&p, "ad", 1, NULL);
    wire_msg m;
    seal(&m, p.alice, "hello", "ad-1");
    EK_CHECK_RC(open_expect(p.bob, &m, NULL, "ad-2"), EK_ERR_AUTH);
    EK_CHECK_RC(open_expect(p.bob, &m, NULL, NULL), EK_ERR_AUTH);
    EK_CHECK_OK(open_expect(p.bob, &m, "hello", "ad-1"));
    /* With associated data the PreKeySignalMessage's registrationId is
     * authenticated too; without, as in Signal v3, it is not. */
    for (int with_ad = 0; with_ad <= 1; with_ad++) {
        const char *ad = with_ad ? "ad" : NULL;
        seal(&m, p.alice, "again", ad);
        prekey_message pm;
        EK_CHECK_OK(prekey_message_decode(&pm, m.b + 1, m.len - 1));
        /* registrationId is field 5, written after the inner message. */
        size_t at = (size_t)(pm.message - m.b) + pm.message_len;
        EK_CHECK(m.b[at] == 0x28);
        m.b[at + 1] ^= 0x01;
        int rc = open_expect(p.bob, &m, "again", ad);
        EK_CHECK(with_ad ? rc == EK_ERR_AUTH : rc == EK_OK);
        m.b[at + 1] ^= 0x01;
        if (with_ad)
            EK_CHECK_OK(open_expect(p.bob, &m, "again", ad));
    }
    pair_free(&p);
}

/* ---- malformed and replayed ---- */

static void test_mutations(void)
{
    pair p;
    pair_init(&p, "mutations", 1, NULL);
    wire_msg m, first;
    seal(&first, p.alice, "hi bob", NULL);
    /* Every truncation and bit flip of Alice's first message fails at an
     * unset-up Bob, who stays waiting. */
    for (size_t n = 0; n < first.len; n++)
        expect_rejected(p.bob, first.b, n, 0, "truncated PreKeySignalMessage");
    prekey_message orig;
    EK_CHECK_OK(prekey_message_decode(&orig, first.b + 1, first.len - 1));
    for (size_t bit = 0; bit < 8 * first.len; bit++) {
        first.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        uint8_t out[BUF];
        size_t out_len = 0, before_len = 0;
        uint8_t *before = saved(p.bob, &before_len);
        int rc = ek_ratchet_open(out, sizeof(out), &out_len, p.bob, NULL, 0, first.b, first.len);
        if (rc == EK_OK) {
            /* Without associated data only the registrationId, which v3
             * does not authenticate, may have changed. */
            prekey_message pm;
            EK_CHECK_OK(prekey_message_decode(&pm, first.b + 1, first.len - 1));
            EK_CHECK(pm.registration_id != orig.registration_id &&
                     pm.signed_prekey_id == orig.signed_prekey_id &&
                     pm.has_one_time_prekey_id == orig.has_one_time_prekey_id &&
                     pm.one_time_prekey_id == orig.one_time_prekey_id &&
                     memcmp(pm.base_key, orig.base_key, 32) == 0 &&
                     memcmp(pm.identity_key, orig.identity_key, 32) == 0 &&
                     pm.message_len == orig.message_len &&
                     memcmp(pm.message, orig.message, pm.message_len) == 0);
            EK_CHECK(out_len == 6 && memcmp(out, "hi bob", 6) == 0);
            ek_ratchet_session_free(p.bob);
            p.bob = NULL;
            EK_CHECK_OK(ek_ratchet_session_restore(&p.bob, NULL, &p.rng.rng, before, before_len));
        }
        free(before);
        first.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    EK_CHECK_OK(open_expect(p.bob, &first, "hi bob", NULL));
    seal(&m, p.bob, "hi alice", NULL);
    for (size_t n = 0; n < m.len; n++)
        expect_rejected(p.alice, m.b, n, 0, "truncated SignalMessage");
    for (size_t bit = 0; bit < 8 * m.len; bit++) {
        m.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        expect_rejected(p.alice, m.b, m.len, 0, "bit-flipped SignalMessage");
        m.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    EK_CHECK_OK(open_expect(p.alice, &m, "hi alice", NULL));
    expect_rejected(p.alice, m.b, m.len, EK_ERR_AUTH, "replayed SignalMessage");
    expect_rejected(p.bob, first.b, first.len, EK_ERR_AUTH, "replayed PreKeySignalMessage");

    /* Crafted decoder cases on a valid message from Bob. */
    seal(&m, p.bob, "crafted", NULL);
    uint8_t w[BUF];
    memcpy(w, m.b, m.len);
    w[1] = 0x23;
    expect_rejected(p.alice, w, m.len, EK_ERR_UNSUPPORTED, "version 2");
    w[1] = 0x43;
    expect_rejected(p.alice, w, m.len, EK_ERR_UNSUPPORTED, "version 4");
    w[1] = 0x33;
    w[0] = 7;
    expect_rejected(p.alice, w, m.len, EK_ERR_DECODE, "unknown type");
    w[0] = EK_RATCHET_MSG_PREKEY;
    expect_rejected(p.alice, w, m.len, 0, "SignalMessage as PreKey");
    w[0] = EK_RATCHET_MSG_SIGNAL;
    /* Key type byte (offset: type, version, tag, len, then the key). */
    EK_CHECK(w[2] == 0x0a && w[3] == 33 && w[4] == 0x05);
    w[4] = 0x06;
    expect_rejected(p.alice, w, m.len, EK_ERR_DECODE, "key type");
    w[4] = 0x05;
    /* A small-order ratchet key (u = 0, u = 1): the agreement fails. */
    {
        uint8_t x[BUF];
        memcpy(x, w, m.len);
        memset(x + 5, 0, 32);
        expect_rejected(p.alice, x, m.len, EK_ERR_WEAK_KEY, "ratchet key u = 0");
        x[5] = 1;
        expect_rejected(p.alice, x, m.len, EK_ERR_WEAK_KEY, "ratchet key u = 1");
        memset(x + 5, 0xff, 32); /* u >= p: not canonical */
        expect_rejected(p.alice, x, m.len, EK_ERR_DECODE, "ratchet key u >= p");
    }
    /* A second ratchetKey field appended before the MAC. */
    {
        uint8_t x[BUF];
        size_t body = m.len - 8;
        memcpy(x, w, body);
        memcpy(x + body, w + 2, 35);
        memcpy(x + body + 35, w + body, 8);
        expect_rejected(p.alice, x, m.len + 35, EK_ERR_DECODE, "duplicate field");
        x[body] = 0x2a; /* field 5 */
        expect_rejected(p.alice, x, m.len + 35, EK_ERR_DECODE, "unknown field");
    }
    /* Counter (field 2) as a non-minimal varint. */
    {
        uint8_t x[BUF];
        size_t at = 2 + 35;
        EK_CHECK(w[at] == 0x10);
        memcpy(x, w, at + 1);
        x[at + 1] = (uint8_t)(w[at + 1] | 0x80);
        x[at + 2] = 0x00;
        memcpy(x + at + 3, w + at + 2, m.len - at - 2);
        expect_rejected(p.alice, x, m.len + 1, EK_ERR_DECODE, "non-minimal varint");
    }
    EK_CHECK_OK(open_expect(p.alice, &m, "crafted", NULL));
    pair_free(&p);
}

static void test_responder_checks(void)
{
    pair p;
    pair_init(&p, "responder", 1, NULL);
    wire_msg m;
    seal(&m, p.alice, "x", NULL);
    /* A SignalMessage before the session exists; a PreKey to Alice. */
    uint8_t w[BUF];
    memcpy(w, m.b, m.len);
    w[0] = EK_RATCHET_MSG_SIGNAL;
    expect_rejected(p.bob, w, m.len, EK_ERR_STATE, "SignalMessage to waiting Bob");
    expect_rejected(p.alice, m.b, m.len, EK_ERR_STATE, "PreKey to Alice");
    /* Another responder: other signed prekey id, no one-time prekey, an
     * expected peer that is not Alice. */
    ek_ratchet_prekeys other = p.prekeys;
    ek_ratchet_session *s = NULL;
    other.signed_prekey_id = 18;
    EK_CHECK_OK(ek_ratchet_session_new_responder(&s, NULL, NULL, &p.bob_id, &other, NULL));
    expect_rejected(s, m.b, m.len, EK_ERR_BAD_KEY, "unknown signed prekey id");
    ek_ratchet_session_free(s);
    other = p.prekeys;
    other.has_one_time_prekey = 0;
    EK_CHECK_OK(ek_ratchet_session_new_responder(&s, NULL, NULL, &p.bob_id, &other, NULL));
    expect_rejected(s, m.b, m.len, EK_ERR_BAD_KEY, "unknown one-time prekey");
    ek_ratchet_session_free(s);
    EK_CHECK_OK(
        ek_ratchet_session_new_responder(&s, NULL, NULL, &p.bob_id, &p.prekeys, p.bob_id.key.pub));
    expect_rejected(s, m.b, m.len, EK_ERR_AUTH, "unexpected peer");
    ek_ratchet_session_free(s);
    /* Alice's repeated PreKeySignalMessages, in any order. */
    wire_msg pre[5];
    for (int i = 1; i < 5; i++)
        seal(&pre[i], p.alice, "again", NULL);
    pre[0] = m;
    int order[5] = {3, 0, 4, 1, 2};
    for (int i = 0; i < 5; i++)
        EK_CHECK_OK(open_expect(p.bob, &pre[order[i]], NULL, NULL));
    /* A second X3DH (another base key) on the established session. */
    ek_ratchet_session *alice2 = NULL;
    ek_rng_seeded r2;
    ek_rng_seeded_init(&r2, (const uint8_t *)"other base", 10);
    EK_CHECK_OK(ek_ratchet_session_new_initiator(&alice2, NULL, &r2.rng, &p.alice_id, &p.bundle));
    wire_msg m2;
    seal(&m2, alice2, "second x3dh", NULL);
    expect_rejected(p.bob, m2.b, m2.len, EK_ERR_STATE, "second X3DH");
    ek_ratchet_session_free(alice2);
    pair_free(&p);
}

/* ---- bounds ---- */

static void test_skip_bounds(void)
{
    pair p;
    pair_init(&p, "skip", 0, NULL);
    wire_msg m;
    seal(&m, p.alice, "0", NULL);
    EK_CHECK_OK(open_expect(p.bob, &m, "0", NULL));
    seal(&m, p.bob, "b", NULL);
    EK_CHECK_OK(open_expect(p.alice, &m, "b", NULL));
    /* Alice's chain now at 0: messages 0..MAX_SKIP+1. */
    enum { N = EK_RATCHET_MAX_SKIP + 2 };
    wire_msg *ms = malloc(N * sizeof(wire_msg));
    char text[32];
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        seal(&ms[i], p.alice, text, NULL);
    }
    /* Index MAX_SKIP + 1 needs MAX_SKIP + 1 skipped keys: refused. */
    expect_rejected(p.bob, ms[N - 1].b, ms[N - 1].len, EK_ERR_LIMIT, "beyond MAX_SKIP");
    /* Index MAX_SKIP needs exactly MAX_SKIP: accepted; then all others. */
    snprintf(text, sizeof(text), "m%d", N - 2);
    EK_CHECK_OK(open_expect(p.bob, &ms[N - 2], text, NULL));
    EK_CHECK(p.bob->n_skipped == EK_RATCHET_MAX_SKIP);
    for (int i = 0; i < N - 2; i += 7) {
        snprintf(text, sizeof(text), "m%d", i);
        EK_CHECK_OK(open_expect(p.bob, &ms[i], text, NULL));
        expect_rejected(p.bob, ms[i].b, ms[i].len, EK_ERR_AUTH, "replay of a skipped one");
    }
    snprintf(text, sizeof(text), "m%d", N - 1);
    EK_CHECK_OK(open_expect(p.bob, &ms[N - 1], text, NULL));
    /* The store is bounded: skip another full chain's worth and the oldest
     * keys (m1, m2, ...) are dropped. */
    for (int i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "n%d", i);
        seal(&ms[i], p.alice, text, NULL);
    }
    EK_CHECK_OK(open_expect(p.bob, &ms[N - 2], "n2000", NULL));
    EK_CHECK(p.bob->n_skipped == EK_RATCHET_MAX_SKIPPED_KEYS);
    seal(&m, p.alice, "fresh", NULL);
    EK_CHECK_OK(open_expect(p.bob, &m, "fresh", NULL));
    free(ms);
    pair_free(&p);
}

static void test_old_chains(void)
{
    pair p;
    pair_init(&p, "old chains", 0, NULL);
    wire_msg m, late_a, late_b;
    seal(&m, p.alice, "a0", NULL);
    seal(&late_a, p.alice, "late a", NULL);
    EK_CHECK_OK(open_expect(p.bob, &m, "a0", NULL));
    seal(&m, p.bob, "b0", NULL);
    seal(&late_b, p.bob, "late b", NULL);
    EK_CHECK_OK(open_expect(p.alice, &m, "b0", NULL));
    /* MAX_OLD_CHAINS turns: Bob's first receiving chain is the oldest he
     * keeps, "late a" still has its key... */
    for (int turn = 0; turn < EK_RATCHET_MAX_OLD_CHAINS; turn++) {
        seal(&m, p.alice, "a", NULL);
        EK_CHECK_OK(open_expect(p.bob, &m, "a", NULL));
        seal(&m, p.bob, "b", NULL);
        EK_CHECK_OK(open_expect(p.alice, &m, "b", NULL));
    }
    EK_CHECK(p.bob->core.n_old == EK_RATCHET_MAX_OLD_CHAINS);
    EK_CHECK(skipped_find(p.bob, 0, 1) >= 0);
    /* ...one more chain and that chain, with its key, is dropped. */
    seal(&m, p.alice, "a", NULL);
    EK_CHECK_OK(open_expect(p.bob, &m, "a", NULL));
    EK_CHECK(skipped_find(p.bob, 0, 1) < 0);
    expect_rejected(p.bob, late_a.b, late_a.len, EK_ERR_AUTH, "message of a dropped chain");
    /* Alice still holds Bob's late message (her chains moved less). */
    EK_CHECK_OK(open_expect(p.alice, &late_b, "late b", NULL));
    pair_free(&p);
}

/* ---- save / restore ---- */

static ek_ratchet_session *reload(ek_ratchet_session *s, const ek_rng *rng)
{
    size_t len = 0;
    uint8_t *b = saved(s, &len);
    ek_ratchet_session *r = NULL;
    EK_CHECK_OK(ek_ratchet_session_restore(&r, NULL, rng, b, len));
    /* Saving the restored session gives the same bytes. */
    size_t len2 = 0;
    uint8_t *b2 = saved(r, &len2);
    EK_CHECK(len == len2 && memcmp(b, b2, len) == 0);
    /* Every truncation and trailing byte is refused. */
    for (size_t n = 0; n < len; n += (n < 64 ? 1 : 37)) {
        ek_ratchet_session *t = NULL;
        EK_CHECK(ek_ratchet_session_restore(&t, NULL, rng, b, n) != EK_OK && t == NULL);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, b, len);
    longer[len] = 0;
    ek_ratchet_session *t = NULL;
    EK_CHECK_RC(ek_ratchet_session_restore(&t, NULL, rng, longer, len + 1), EK_ERR_TRAILING);
    free(longer);
    free(b);
    free(b2);
    ek_ratchet_session_free(s);
    return r;
}

static void test_save_restore(void)
{
    pair p;
    pair_init(&p, "save", 1, NULL);
    p.bob = reload(p.bob, &p.rng.rng); /* waiting for the first message */
    wire_msg m, late;
    seal(&m, p.alice, "1", NULL);
    seal(&late, p.alice, "late", NULL);
    p.alice = reload(p.alice, &p.rng.rng);
    seal(&m, p.alice, "3", NULL);
    EK_CHECK_OK(open_expect(p.bob, &m, "3", NULL));
    p.bob = reload(p.bob, &p.rng.rng); /* with a skipped key */
    EK_CHECK_OK(open_expect(p.bob, &late, "late", NULL));
    converse(&p, NULL, 5);
    p.alice = reload(p.alice, &p.rng.rng);
    p.bob = reload(p.bob, &p.rng.rng);
    converse(&p, "ad", 5);

    /* Damaged states: magic, format, flags, counts. */
    size_t len = 0;
    uint8_t *b = saved(p.bob, &len);
    const size_t offsets[] = {0, 4, 5, 6, 7};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        ek_ratchet_session *t = NULL;
        b[offsets[i]] ^= 0x40;
        EK_CHECK_RC(ek_ratchet_session_restore(&t, NULL, NULL, b, len), EK_ERR_DECODE);
        b[offsets[i]] ^= 0x40;
    }
    free(b);
    pair_free(&p);
}

/* ---- allocation failures ---- */

typedef struct failing_alloc {
    ek_allocator a;
    long left; /* allocations that may still succeed; < 0: no limit */
    long live;
} failing_alloc;

static void *fa_alloc(void *ctx, size_t n)
{
    failing_alloc *f = ctx;
    if (f->left == 0)
        return NULL;
    if (f->left > 0)
        f->left--;
    f->live++;
    return malloc(n);
}

static void fa_free(void *ctx, void *p, size_t n)
{
    failing_alloc *f = ctx;
    (void)n;
    if (p != NULL)
        f->live--;
    free(p);
}

static void test_alloc_failures(void)
{
    failing_alloc fa = {{fa_alloc, NULL, fa_free, NULL}, -1, 0};
    fa.a.ctx = &fa;
    pair p;
    pair_init(&p, "alloc", 1, &fa.a);
    wire_msg m[4];
    for (int i = 0; i < 4; i++)
        seal(&m[i], p.alice, "x", NULL);
    /* Opening m[3] first skips three keys: it allocates. With no
     * allocation allowed it fails cleanly, then works. */
    fa.left = 0;
    expect_rejected(p.bob, m[3].b, m[3].len, EK_ERR_NOMEM, "no memory");
    fa.left = 1;
    expect_rejected(p.bob, m[3].b, m[3].len, EK_ERR_NOMEM, "one allocation");
    fa.left = -1;
    EK_CHECK_OK(open_expect(p.bob, &m[3], "x", NULL));
    for (int i = 0; i < 3; i++)
        EK_CHECK_OK(open_expect(p.bob, &m[i], "x", NULL));
    ek_ratchet_session *s = NULL;
    fa.left = 0;
    EK_CHECK_RC(ek_ratchet_session_new_initiator(&s, &fa.a, NULL, &p.alice_id, &p.bundle),
                EK_ERR_NOMEM);
    fa.left = -1;
    pair_free(&p);
    EK_CHECK(fa.live == 0);
}

/* An RNG that can be switched off. */
typedef struct switch_rng {
    ek_rng rng;
    ek_rng_seeded inner;
    int off;
} switch_rng;

static int switch_fill(void *ctx, uint8_t *out, size_t len)
{
    switch_rng *r = ctx;
    return r->off ? EK_ERR_RNG : ek_random(&r->inner.rng, out, len);
}

static void test_rng_failure(void)
{
    pair p;
    pair_init(&p, "rng", 1, NULL);
    switch_rng r = {{switch_fill, NULL}, {{NULL, NULL}, {0}, 0, {0}, 0}, 0};
    r.rng.ctx = &r;
    ek_rng_seeded_init(&r.inner, (const uint8_t *)"switch", 6);
    ek_ratchet_session_free(p.bob);
    p.bob = NULL;
    EK_CHECK_OK(
        ek_ratchet_session_new_responder(&p.bob, NULL, &r.rng, &p.bob_id, &p.prekeys, NULL));
    wire_msg m;
    seal(&m, p.alice, "needs a new ratchet key", NULL);
    /* Bob's answer needs a fresh ratchet key pair: without randomness the
     * message is refused and nothing changes, then it opens. */
    r.off = 1;
    expect_rejected(p.bob, m.b, m.len, EK_ERR_RNG, "no randomness");
    r.off = 0;
    EK_CHECK_OK(open_expect(p.bob, &m, "needs a new ratchet key", NULL));
    ek_ratchet_session *s = NULL;
    r.off = 1;
    EK_CHECK_RC(ek_ratchet_session_new_initiator(&s, NULL, &r.rng, &p.alice_id, &p.bundle),
                EK_ERR_RNG);
    EK_CHECK(s == NULL);
    pair_free(&p);
}

int main(void)
{
    test_xeddsa();
    test_bundle();
    test_conversations();
    test_associated_data();
    test_mutations();
    test_responder_checks();
    test_skip_bounds();
    test_old_chains();
    test_save_restore();
    test_alloc_failures();
    test_rng_failure();
    return ek_test_finish("ratchet.session");
}
