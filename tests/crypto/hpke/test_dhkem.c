/*
 * test_dhkem.c: unit tests of DHKEM(X25519, HKDF-SHA256) in HPKE
 * (RFC 9180 §4.1, §7.1): DeriveKeyPair and GenerateKeyPair contracts, the
 * KEM's agreement in both directions, and the refusal of every small-order
 * X25519 public key (§7.1.4: the all-zero DH output) wherever a public key
 * enters: pkR at the sender, enc (pkE) and pkS at the recipient.
 */
#include <string.h>

#include <enkrypt/ek_hpke.h>

#include "crypto/hpke/hpke_internal.h"
#include "ek_test.h"

static const ek_hpke_suite suite = {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256,
                                    EK_HPKE_AEAD_AES128GCM};

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static void keypair(uint8_t pk[32], uint8_t sk[32], uint8_t seed)
{
    uint8_t ikm[32];
    memset(ikm, seed, sizeof(ikm));
    EK_CHECK_OK(ek_hpke_derive_keypair(pk, sk, suite, ikm, sizeof(ikm)));
}

static int failing_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    memset(out, 0x77, len); /* a partial write that must not survive */
    return EK_ERR_RNG;
}

static void test_derive_keypair(void)
{
    uint8_t ikm[64], pk[32], sk[32], pk2[32], sk2[32], pub[32];
    memset(ikm, 0x42, sizeof(ikm));
    EK_CHECK_OK(ek_hpke_derive_keypair(pk, sk, suite, ikm, 32));
    EK_CHECK_OK(ek_hpke_derive_keypair(pk2, sk2, suite, ikm, 32));
    EK_CHECK_BYTES(pk, pk2, 32);
    EK_CHECK_BYTES(sk, sk2, 32);
    EK_CHECK_OK(ek_x25519_public(pub, sk));
    EK_CHECK_BYTES(pk, pub, 32);
    /* A longer ikm is a different key. */
    EK_CHECK_OK(ek_hpke_derive_keypair(pk2, sk2, suite, ikm, 33));
    EK_CHECK(memcmp(sk, sk2, 32) != 0);

    /* Contract violations: refused, outputs wiped. */
    memset(pk, 0xaa, 32);
    memset(sk, 0xaa, 32);
    EK_CHECK_RC(ek_hpke_derive_keypair(pk, sk, suite, ikm, 31), EK_ERR_INVALID_ARG);
    EK_CHECK(all_zero(pk, 32) && all_zero(sk, 32));
    memset(sk, 0xaa, 32);
    EK_CHECK_RC(ek_hpke_derive_keypair(pk, sk, suite, NULL, 32), EK_ERR_INVALID_ARG);
    EK_CHECK(all_zero(sk, 32));
    EK_CHECK_RC(ek_hpke_derive_keypair(NULL, sk, suite, ikm, 32), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_derive_keypair(pk, NULL, suite, ikm, 32), EK_ERR_INVALID_ARG);
    ek_hpke_suite bad = suite;
    bad.kem_id = 0x0010; /* DHKEM(P-256): not ours */
    memset(sk, 0xaa, 32);
    EK_CHECK_RC(ek_hpke_derive_keypair(pk, sk, bad, ikm, 32), EK_ERR_UNSUPPORTED);
    EK_CHECK(all_zero(sk, 32));
}

static void test_generate_keypair(void)
{
    uint8_t pk[32], sk[32], pk2[32], sk2[32], pub[32];
    ek_rng_seeded r1, r2;
    ek_rng_seeded_init(&r1, (const uint8_t *)"dhkem", 5);
    ek_rng_seeded_init(&r2, (const uint8_t *)"dhkem", 5);
    EK_CHECK_OK(ek_hpke_generate_keypair(pk, sk, suite, &r1.rng));
    EK_CHECK_OK(ek_hpke_generate_keypair(pk2, sk2, suite, &r2.rng));
    EK_CHECK_BYTES(sk, sk2, 32);
    EK_CHECK_OK(ek_x25519_public(pub, sk));
    EK_CHECK_BYTES(pk, pub, 32);
    EK_CHECK_OK(ek_hpke_generate_keypair(pk2, sk2, suite, &r1.rng));
    EK_CHECK(memcmp(sk, sk2, 32) != 0);
    /* The system RNG. */
    EK_CHECK_OK(ek_hpke_generate_keypair(pk2, sk2, suite, NULL));
    EK_CHECK(memcmp(sk, sk2, 32) != 0);

    ek_rng broken = {failing_fill, NULL};
    memset(sk, 0xaa, 32);
    memset(pk, 0xaa, 32);
    EK_CHECK_RC(ek_hpke_generate_keypair(pk, sk, suite, &broken), EK_ERR_RNG);
    EK_CHECK(all_zero(pk, 32) && all_zero(sk, 32));
    ek_hpke_suite bad = suite;
    bad.aead_id = 0x0004;
    EK_CHECK_RC(ek_hpke_generate_keypair(pk, sk, bad, &r1.rng), EK_ERR_UNSUPPORTED);

    /* A sender setup whose ephemeral key cannot be drawn fails closed. */
    ek_hpke_ctx ctx;
    uint8_t enc[32];
    keypair(pk, sk, 1);
    memset(enc, 0xaa, sizeof(enc));
    EK_CHECK_RC(ek_hpke_setup_sender(&ctx, enc, suite, pk, NULL, 0, NULL, &broken), EK_ERR_RNG);
    EK_CHECK(all_zero(enc, sizeof(enc)) && all_zero(&ctx, sizeof(ctx)));
}

/* Encap/Decap and AuthEncap/AuthDecap agree; a wrong pkS does not. */
static void test_kem_agreement(void)
{
    uint8_t pk_r[32], sk_r[32], pk_e[32], sk_e[32], pk_s[32], sk_s[32], other[32], junk[32];
    uint8_t enc[32], ss1[32], ss2[32], ss3[32];
    keypair(pk_r, sk_r, 1);
    keypair(pk_e, sk_e, 2);
    keypair(pk_s, sk_s, 3);
    keypair(other, junk, 4);

    EK_CHECK_OK(ek_hpke_dhkem_encap(ss1, enc, pk_r, sk_e, pk_e, NULL));
    EK_CHECK_BYTES(enc, pk_e, 32);
    EK_CHECK_OK(ek_hpke_dhkem_decap(ss2, enc, sk_r, NULL));
    EK_CHECK_BYTES(ss1, ss2, 32);

    EK_CHECK_OK(ek_hpke_dhkem_encap(ss3, enc, pk_r, sk_e, pk_e, sk_s));
    EK_CHECK(memcmp(ss1, ss3, 32) != 0); /* AuthEncap binds skS */
    EK_CHECK_OK(ek_hpke_dhkem_decap(ss2, enc, sk_r, pk_s));
    EK_CHECK_BYTES(ss3, ss2, 32);
    /* §8.2: AuthDecap with the wrong pkS yields another secret. */
    EK_CHECK_OK(ek_hpke_dhkem_decap(ss2, enc, sk_r, other));
    EK_CHECK(memcmp(ss3, ss2, 32) != 0);
}

/* The X25519 public keys of small order (RFC 7748 §6.1 requires the all-zero
 * check they trigger): u = 0, 1, the two points of order 8, p - 1, p, p + 1,
 * each also with the ignored bit 255 set. */
static void small_order_point(uint8_t out[32], int which)
{
    static const uint8_t order8a[32] = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae,
                                        0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
                                        0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd,
                                        0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
    static const uint8_t order8b[32] = {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24,
                                        0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
                                        0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86,
                                        0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57};
    memset(out, 0, 32);
    switch (which % 7) {
    case 0: break;             /* 0 */
    case 1: out[0] = 1; break; /* 1 */
    case 2: memcpy(out, order8a, 32); break;
    case 3: memcpy(out, order8b, 32); break;
    default: /* p - 1, p, p + 1 with p = 2^255 - 19 */
        memset(out, 0xff, 32);
        out[0] = (uint8_t)(0xec + (which % 7 - 4));
        out[31] = 0x7f;
        break;
    }
    if (which >= 7)
        out[31] |= 0x80;
}

enum { SMALL_ORDER_POINTS = 14 };

static void test_small_order(void)
{
    uint8_t pk_r[32], sk_r[32], pk_s[32], sk_s[32], bad[32], enc[32], good_enc[32], ss[32];
    uint8_t ct[64] = {0}, pt[16] = {0};
    ek_hpke_ctx ctx;
    keypair(pk_r, sk_r, 1);
    keypair(pk_s, sk_s, 3);
    ek_hpke_opts auth_s = {EK_HPKE_MODE_AUTH, NULL, 0, NULL, 0, sk_s, NULL};
    ek_hpke_opts auth_r = {EK_HPKE_MODE_AUTH, NULL, 0, NULL, 0, NULL, pk_s};
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"small", 5);
    EK_CHECK_OK(ek_hpke_setup_sender(&ctx, good_enc, suite, pk_r, NULL, 0, NULL, &rng.rng));

    for (int i = 0; i < SMALL_ORDER_POINTS; i++) {
        small_order_point(bad, i);
        /* Sender: pkR of small order, base and auth modes. */
        memset(enc, 0xaa, sizeof(enc));
        memset(&ctx, 0xaa, sizeof(ctx));
        EK_CHECK_RC(ek_hpke_setup_sender(&ctx, enc, suite, bad, NULL, 0, NULL, &rng.rng),
                    EK_ERR_WEAK_KEY);
        EK_CHECK(all_zero(enc, sizeof(enc)) && all_zero(&ctx, sizeof(ctx)));
        memset(enc, 0xaa, sizeof(enc));
        EK_CHECK_RC(ek_hpke_setup_sender(&ctx, enc, suite, bad, NULL, 0, &auth_s, &rng.rng),
                    EK_ERR_WEAK_KEY);
        EK_CHECK(all_zero(enc, sizeof(enc)) && all_zero(&ctx, sizeof(ctx)));
        memset(enc, 0xaa, sizeof(enc));
        EK_CHECK_RC(ek_hpke_seal_once(enc, ct, suite, bad, NULL, 0, NULL, 0, pt, sizeof(pt), NULL,
                                      &rng.rng),
                    EK_ERR_WEAK_KEY);
        EK_CHECK(all_zero(enc, sizeof(enc)));

        /* Recipient: enc (pkE) of small order. */
        memset(&ctx, 0xaa, sizeof(ctx));
        EK_CHECK_RC(ek_hpke_setup_receiver(&ctx, suite, bad, sk_r, NULL, 0, NULL), EK_ERR_WEAK_KEY);
        EK_CHECK(all_zero(&ctx, sizeof(ctx)));
        EK_CHECK_RC(ek_hpke_setup_receiver(&ctx, suite, bad, sk_r, NULL, 0, &auth_r),
                    EK_ERR_WEAK_KEY);
        memset(pt, 0xaa, sizeof(pt));
        EK_CHECK_RC(
            ek_hpke_open_once(pt, suite, bad, sk_r, NULL, 0, NULL, 0, ct, sizeof(pt) + 16, NULL),
            EK_ERR_WEAK_KEY);
        EK_CHECK(all_zero(pt, sizeof(pt)));

        /* Recipient, auth modes: pkS of small order with a sound enc. */
        ek_hpke_opts bad_r = auth_r;
        bad_r.pk_s = bad;
        memset(&ctx, 0xaa, sizeof(ctx));
        EK_CHECK_RC(ek_hpke_setup_receiver(&ctx, suite, good_enc, sk_r, NULL, 0, &bad_r),
                    EK_ERR_WEAK_KEY);
        EK_CHECK(all_zero(&ctx, sizeof(ctx)));

        /* The KEM itself. */
        memset(ss, 0xaa, sizeof(ss));
        EK_CHECK_RC(ek_hpke_dhkem_decap(ss, bad, sk_r, NULL), EK_ERR_WEAK_KEY);
        EK_CHECK(all_zero(ss, sizeof(ss)));
        memset(ss, 0xaa, sizeof(ss));
        EK_CHECK_RC(ek_hpke_dhkem_encap(ss, enc, bad, sk_s, pk_s, NULL), EK_ERR_WEAK_KEY);
        EK_CHECK(all_zero(ss, sizeof(ss)) && all_zero(enc, sizeof(enc)));
    }
}

int main(void)
{
    test_derive_keypair();
    test_generate_keypair();
    test_kem_agreement();
    test_small_order();
    return ek_test_finish("unit.hpke.dhkem");
}
