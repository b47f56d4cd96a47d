/*
 * test_context.c: unit tests of the HPKE encryption context (RFC 9180
 * §5.2, §5.3): tampered ciphertexts, tags, aad and lengths fail with
 * EK_ERR_AUTH, wipe pt and leave seq where it was (the genuine ciphertext
 * still opens after); roles (no seal on a recipient's context, no open on
 * a sender's); the export-only AEAD; sequence number exhaustion; Export's
 * length limit; in-place operation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_hpke.h>

#include "crypto/hpke/hpke_internal.h"
#include "ek_test.h"

static const uint16_t aeads[] = {EK_HPKE_AEAD_AES128GCM, EK_HPKE_AEAD_AES256GCM,
                                 EK_HPKE_AEAD_CHACHA20POLY1305};

static uint8_t pk_r[32], sk_r[32];

static ek_hpke_suite suite_with(uint16_t aead_id)
{
    ek_hpke_suite s = {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256, aead_id};
    return s;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

/* A sender and a recipient context that agree. */
static void pair(ek_hpke_ctx *s, ek_hpke_ctx *r, ek_hpke_suite suite)
{
    static const uint8_t ikm_e[32] = {0x11, 0x22, 0x33};
    uint8_t enc[32];
    EK_CHECK_OK(ek_hpke_setup_sender_derand(s, enc, suite, pk_r, "ctx", 3, NULL, ikm_e, 32));
    EK_CHECK_OK(ek_hpke_setup_receiver(r, suite, enc, sk_r, "ctx", 3, NULL));
}

/* Every single-byte corruption of ct, a change of aad, and every wrong
 * length fail; nothing leaks or moves; then the genuine message opens. */
static void test_tamper(uint16_t aead_id)
{
    ek_hpke_ctx s, r;
    pair(&s, &r, suite_with(aead_id));
    uint8_t msg[40], aad[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t ct[sizeof(msg) + 16], bad[sizeof(ct) + 1], pt[sizeof(ct) + 1];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 5 + 1);

    for (uint64_t seq = 0; seq < 3; seq++) {
        EK_CHECK_OK(ek_hpke_seal(&s, ct, aad, sizeof(aad), msg, sizeof(msg)));
        EK_CHECK(s.seq == seq + 1);
        /* Each byte of the body and of the tag, one bit at a time. */
        for (size_t i = 0; i < sizeof(ct); i++) {
            memcpy(bad, ct, sizeof(ct));
            bad[i] ^= (uint8_t)(1u << (i % 8));
            memset(pt, 0x5a, sizeof(pt));
            EK_CHECK_RC(ek_hpke_open(&r, pt, aad, sizeof(aad), bad, sizeof(ct)), EK_ERR_AUTH);
            EK_CHECK(all_zero(pt, sizeof(msg)));
            EK_CHECK(r.seq == seq);
        }
        /* Another aad, no aad, a longer aad. */
        uint8_t aad2[9];
        memcpy(aad2, aad, sizeof(aad));
        aad2[8] = 0;
        aad2[3] ^= 0x80;
        memset(pt, 0x5a, sizeof(pt));
        EK_CHECK_RC(ek_hpke_open(&r, pt, aad2, sizeof(aad), ct, sizeof(ct)), EK_ERR_AUTH);
        EK_CHECK(all_zero(pt, sizeof(msg)));
        aad2[3] ^= 0x80;
        EK_CHECK_RC(ek_hpke_open(&r, pt, aad2, sizeof(aad2), ct, sizeof(ct)), EK_ERR_AUTH);
        EK_CHECK_RC(ek_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct)), EK_ERR_AUTH);
        /* Truncated, extended, shorter than a tag. */
        memset(pt, 0x5a, sizeof(pt));
        EK_CHECK_RC(ek_hpke_open(&r, pt, aad, sizeof(aad), ct, sizeof(ct) - 1), EK_ERR_AUTH);
        EK_CHECK(all_zero(pt, sizeof(msg) - 1));
        memcpy(bad, ct, sizeof(ct));
        bad[sizeof(ct)] = 0;
        EK_CHECK_RC(ek_hpke_open(&r, pt, aad, sizeof(aad), bad, sizeof(ct) + 1), EK_ERR_AUTH);
        EK_CHECK(all_zero(pt, sizeof(msg) + 1));
        EK_CHECK_RC(ek_hpke_open(&r, pt, aad, sizeof(aad), ct, 15), EK_ERR_AUTH);
        EK_CHECK_RC(ek_hpke_open(&r, NULL, aad, sizeof(aad), ct, 16), EK_ERR_AUTH);
        EK_CHECK_RC(ek_hpke_open(&r, pt, aad, sizeof(aad), ct, 0), EK_ERR_AUTH);
        EK_CHECK(r.seq == seq);
        /* The genuine message still opens, and moves seq. */
        memset(pt, 0, sizeof(pt));
        EK_CHECK_OK(ek_hpke_open(&r, pt, aad, sizeof(aad), ct, sizeof(ct)));
        EK_CHECK_BYTES(pt, msg, sizeof(msg));
        EK_CHECK(r.seq == seq + 1);
        /* A replay no longer opens: the nonce moved on. */
        EK_CHECK_RC(ek_hpke_open(&r, pt, aad, sizeof(aad), ct, sizeof(ct)), EK_ERR_AUTH);
        EK_CHECK(r.seq == seq + 1);
    }

    /* Out of order: message 4 before message 3 fails, in order both open. */
    uint8_t ct3[sizeof(ct)], ct4[sizeof(ct)];
    EK_CHECK_OK(ek_hpke_seal(&s, ct3, NULL, 0, msg, sizeof(msg)));
    EK_CHECK_OK(ek_hpke_seal(&s, ct4, NULL, 0, msg, sizeof(msg)));
    EK_CHECK(memcmp(ct3, ct4, sizeof(ct)) != 0);
    EK_CHECK_RC(ek_hpke_open(&r, pt, NULL, 0, ct4, sizeof(ct)), EK_ERR_AUTH);
    EK_CHECK_OK(ek_hpke_open(&r, pt, NULL, 0, ct3, sizeof(ct)));
    EK_CHECK_OK(ek_hpke_open(&r, pt, NULL, 0, ct4, sizeof(ct)));
    EK_CHECK_BYTES(pt, msg, sizeof(msg));
    ek_hpke_ctx_wipe(&s);
    ek_hpke_ctx_wipe(&r);
    EK_CHECK(all_zero(&s, sizeof(s)) && all_zero(&r, sizeof(r)));
}

static void test_roles(void)
{
    ek_hpke_ctx s, r;
    pair(&s, &r, suite_with(EK_HPKE_AEAD_AES128GCM));
    uint8_t ct[16 + 4], pt[4] = {1, 2, 3, 4};
    memset(ct, 0x33, sizeof(ct));
    EK_CHECK_RC(ek_hpke_seal(&r, ct, NULL, 0, pt, sizeof(pt)), EK_ERR_STATE);
    EK_CHECK(r.seq == 0);
    EK_CHECK_OK(ek_hpke_seal(&s, ct, NULL, 0, pt, sizeof(pt)));
    memset(pt, 0x5a, sizeof(pt));
    EK_CHECK_RC(ek_hpke_open(&s, pt, NULL, 0, ct, sizeof(ct)), EK_ERR_STATE);
    EK_CHECK(all_zero(pt, sizeof(pt)));
    EK_CHECK(s.seq == 1);
    EK_CHECK_OK(ek_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct)));

    /* A wiped (or never set up) context does nothing. */
    ek_hpke_ctx_wipe(&s);
    ek_hpke_ctx_wipe(&r);
    ek_hpke_ctx_wipe(NULL);
    uint8_t out[32];
    EK_CHECK_RC(ek_hpke_seal(&s, ct, NULL, 0, pt, sizeof(pt)), EK_ERR_STATE);
    EK_CHECK_RC(ek_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct)), EK_ERR_STATE);
    memset(out, 0x5a, sizeof(out));
    EK_CHECK_RC(ek_hpke_export(&r, out, sizeof(out), NULL, 0), EK_ERR_STATE);
    EK_CHECK(all_zero(out, sizeof(out)));
    /* A sender context flipped to recipient (or back) by hand. */
    pair(&s, &r, suite_with(EK_HPKE_AEAD_AES128GCM));
    r.is_sender = 1;
    EK_CHECK_RC(ek_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct)), EK_ERR_STATE);
    /* Argument contracts. */
    EK_CHECK_RC(ek_hpke_seal(NULL, ct, NULL, 0, pt, sizeof(pt)), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_seal(&s, NULL, NULL, 0, pt, sizeof(pt)), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_seal(&s, ct, NULL, 1, pt, sizeof(pt)), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_seal(&s, ct, NULL, 0, NULL, 4), EK_ERR_INVALID_ARG);
    EK_CHECK(s.seq == 0);
    EK_CHECK_RC(ek_hpke_open(NULL, pt, NULL, 0, ct, sizeof(ct)), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_open(&r, pt, NULL, 0, NULL, sizeof(ct)), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_open(&r, NULL, NULL, 0, ct, sizeof(ct)), EK_ERR_INVALID_ARG);
    ek_hpke_ctx_wipe(&s);
    ek_hpke_ctx_wipe(&r);
}

static void test_export_only(void)
{
    ek_hpke_ctx s, r;
    pair(&s, &r, suite_with(EK_HPKE_AEAD_EXPORT_ONLY));
    EK_CHECK(s.key_len == 0 && r.key_len == 0);
    EK_CHECK(all_zero(s.key, sizeof(s.key)) && all_zero(s.base_nonce, sizeof(s.base_nonce)));
    uint8_t ct[16 + 4], pt[4] = {1, 2, 3, 4}, e1[48], e2[48];
    EK_CHECK_RC(ek_hpke_seal(&s, ct, NULL, 0, pt, sizeof(pt)), EK_ERR_STATE);
    memset(ct, 0, sizeof(ct));
    EK_CHECK_RC(ek_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct)), EK_ERR_STATE);
    EK_CHECK(all_zero(pt, sizeof(pt)));
    EK_CHECK(s.seq == 0 && r.seq == 0);
    EK_CHECK_OK(ek_hpke_export(&s, e1, sizeof(e1), "label", 5));
    EK_CHECK_OK(ek_hpke_export(&r, e2, sizeof(e2), "label", 5));
    EK_CHECK_BYTES(e1, e2, sizeof(e1));
    /* A key stuffed into an export-only context by hand changes nothing. */
    s.key_len = 16;
    EK_CHECK_RC(ek_hpke_seal(&s, ct, NULL, 0, pt, sizeof(pt)), EK_ERR_STATE);
    /* Single-shot with export-only: refused, enc wiped. */
    uint8_t enc[32];
    memset(enc, 0xaa, sizeof(enc));
    EK_CHECK_RC(ek_hpke_seal_once(enc, ct, suite_with(EK_HPKE_AEAD_EXPORT_ONLY), pk_r, NULL, 0,
                                  NULL, 0, pt, sizeof(pt), NULL, NULL),
                EK_ERR_STATE);
    EK_CHECK(all_zero(enc, sizeof(enc)));
    ek_hpke_ctx_wipe(&s);
    ek_hpke_ctx_wipe(&r);
}

/* §5.2: the sequence number must not overflow. Ours is 64 bits: the last
 * message uses seq 2^64 - 2; at 2^64 - 1 both sides refuse. */
static void test_sequence_overflow(uint16_t aead_id)
{
    ek_hpke_ctx s, r;
    ek_hpke_suite suite = suite_with(aead_id);
    pair(&s, &r, suite);
    uint8_t msg[8] = "last one", ct[24], pt[8], want[24], nonce[12];
    s.seq = UINT64_MAX - 1;
    r.seq = UINT64_MAX - 1;
    /* The nonce is base_nonce XOR I2OSP(2^64 - 2, 12). */
    ek_hpke_compute_nonce(nonce, &s, s.seq);
    for (int i = 0; i < 4; i++)
        EK_CHECK(nonce[i] == s.base_nonce[i]);
    for (int i = 4; i < 11; i++)
        EK_CHECK((nonce[i] ^ s.base_nonce[i]) == 0xff);
    EK_CHECK((nonce[11] ^ s.base_nonce[11]) == 0xfe);
    EK_CHECK_OK(ek_aead_seal(want, (ek_aead_alg)aead_id, s.key, s.key_len, nonce, 12, NULL, 0, msg,
                             sizeof(msg)));
    EK_CHECK_OK(ek_hpke_seal(&s, ct, NULL, 0, msg, sizeof(msg)));
    EK_CHECK_BYTES(ct, want, sizeof(ct));
    EK_CHECK(s.seq == UINT64_MAX);
    EK_CHECK_OK(ek_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct)));
    EK_CHECK_BYTES(pt, msg, sizeof(msg));
    EK_CHECK(r.seq == UINT64_MAX);
    /* Exhausted: nothing is sealed or opened, seq stays. */
    memset(ct, 0x33, sizeof(ct));
    EK_CHECK_RC(ek_hpke_seal(&s, ct, NULL, 0, msg, sizeof(msg)), EK_ERR_LIMIT);
    EK_CHECK(s.seq == UINT64_MAX);
    /* Even a ciphertext that would authenticate at 2^64 - 1 is refused. */
    uint8_t last[12];
    ek_hpke_compute_nonce(last, &s, UINT64_MAX);
    EK_CHECK_OK(ek_aead_seal(ct, (ek_aead_alg)aead_id, s.key, s.key_len, last, 12, NULL, 0, msg,
                             sizeof(msg)));
    memset(pt, 0x5a, sizeof(pt));
    EK_CHECK_RC(ek_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct)), EK_ERR_LIMIT);
    EK_CHECK(all_zero(pt, sizeof(pt)));
    EK_CHECK(r.seq == UINT64_MAX);
    /* Export still works on an exhausted context. */
    uint8_t e[16];
    EK_CHECK_OK(ek_hpke_export(&r, e, sizeof(e), NULL, 0));
    ek_hpke_ctx_wipe(&s);
    ek_hpke_ctx_wipe(&r);
}

static void test_export_limits(void)
{
    ek_hpke_ctx s, r;
    pair(&s, &r, suite_with(EK_HPKE_AEAD_AES256GCM));
    size_t max = (size_t)255 * 32;
    uint8_t *a = malloc(max + 1), *b = malloc(max + 1);
    if (a == NULL || b == NULL)
        abort();
    EK_CHECK_OK(ek_hpke_export(&s, a, max, "ctx", 3));
    EK_CHECK_OK(ek_hpke_export(&r, b, max, "ctx", 3));
    EK_CHECK_BYTES(a, b, max);
    /* L is bound: a shorter export is not a prefix of a longer one. */
    EK_CHECK_OK(ek_hpke_export(&r, b, 32, "ctx", 3));
    EK_CHECK(memcmp(a, b, 32) != 0);
    /* So is the context. */
    EK_CHECK_OK(ek_hpke_export(&s, a, 32, "ctx", 3));
    EK_CHECK_BYTES(a, b, 32);
    EK_CHECK_OK(ek_hpke_export(&s, a, 32, "ctX", 3));
    EK_CHECK(memcmp(a, b, 32) != 0);
    EK_CHECK_OK(ek_hpke_export(&s, a, 32, NULL, 0));
    EK_CHECK(memcmp(a, b, 32) != 0);
    /* Too long: refused, out wiped. */
    memset(a, 0x5a, max + 1);
    EK_CHECK_RC(ek_hpke_export(&s, a, max + 1, "ctx", 3), EK_ERR_TOO_LARGE);
    EK_CHECK(all_zero(a, max + 1));
    EK_CHECK_RC(ek_hpke_export(&s, a, 0, "ctx", 3), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_export(&s, NULL, 32, "ctx", 3), EK_ERR_INVALID_ARG);
    memset(a, 0x5a, 32);
    EK_CHECK_RC(ek_hpke_export(NULL, a, 32, "ctx", 3), EK_ERR_INVALID_ARG);
    EK_CHECK(all_zero(a, 32));
    EK_CHECK_RC(ek_hpke_export(&s, a, 32, NULL, 3), EK_ERR_INVALID_ARG);
    free(a);
    free(b);
    ek_hpke_ctx_wipe(&s);
    ek_hpke_ctx_wipe(&r);
}

/* Seal and open in place, and the empty message. */
static void test_in_place_and_empty(uint16_t aead_id)
{
    ek_hpke_ctx s, r;
    pair(&s, &r, suite_with(aead_id));
    uint8_t buf[100 + 16], msg[100];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(255 - i);
    memcpy(buf, msg, sizeof(msg));
    EK_CHECK_OK(ek_hpke_seal(&s, buf, NULL, 0, buf, sizeof(msg)));
    EK_CHECK(memcmp(buf, msg, sizeof(msg)) != 0);
    EK_CHECK_OK(ek_hpke_open(&r, buf, NULL, 0, buf, sizeof(buf)));
    EK_CHECK_BYTES(buf, msg, sizeof(msg));
    uint8_t tag[16];
    EK_CHECK_OK(ek_hpke_seal(&s, tag, "aad", 3, NULL, 0));
    EK_CHECK_OK(ek_hpke_open(&r, NULL, "aad", 3, tag, sizeof(tag)));
    tag[0] ^= 1;
    EK_CHECK_OK(ek_hpke_seal(&s, buf, NULL, 0, msg, 1));
    EK_CHECK_RC(ek_hpke_open(&r, NULL, "aad", 3, tag, sizeof(tag)), EK_ERR_AUTH);
    EK_CHECK(r.seq == 2 && s.seq == 3);
    ek_hpke_ctx_wipe(&s);
    ek_hpke_ctx_wipe(&r);
}

int main(void)
{
    static const uint8_t ikm_r[32] = {0x99};
    const ek_hpke_suite suite = suite_with(EK_HPKE_AEAD_AES128GCM);
    EK_CHECK_OK(ek_hpke_derive_keypair(pk_r, sk_r, suite, ikm_r, sizeof(ikm_r)));
    for (size_t i = 0; i < sizeof(aeads) / sizeof(aeads[0]); i++) {
        test_tamper(aeads[i]);
        test_sequence_overflow(aeads[i]);
        test_in_place_and_empty(aeads[i]);
    }
    test_roles();
    test_export_only();
    test_export_limits();
    return ek_test_finish("unit.hpke.context");
}
