/*
 * test_ed25519_ops.c: the Ed25519 group operations added for XEdDSA.
 *
 * - Scalar reduce/mul/add and base-point multiplication rebuild a plain
 *   Ed25519 signature (RFC 8032 §5.1.6 step by step) that must equal the
 *   one ek_ed25519_sign makes, for many seeds and messages.
 * - The Montgomery -> Edwards map gives the known base point (u = 9 ->
 *   y = 4/5), the edge values u = 0, 1, p - 1, rejects u >= p, and agrees
 *   with libsodium's own Edwards public key for random X25519 keys.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ek_test.h"

static const uint8_t base_point[32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};

/* L, little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

static void reduce32(uint8_t out[32], const uint8_t in[32])
{
    uint8_t wide[64] = {0};
    memcpy(wide, in, 32);
    ek_ed25519_scalar_reduce(out, wide);
}

/* RFC 8032 §5.1.6, written out with the group operations. */
static void manual_ed25519_sign(uint8_t sig[64], const uint8_t seed[32], const uint8_t *msg,
                                size_t len)
{
    uint8_t h[64], a[32], a_red[32], A[32], r[32], k[32], digest[64], ka[32];
    ek_sha512(h, seed, 32);
    memcpy(a, h, 32);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    reduce32(a_red, a);
    EK_CHECK_OK(ek_ed25519_scalarmult_base_noclamp(A, a));

    ek_sha512_ctx c;
    ek_sha512_init(&c);
    ek_sha512_update(&c, h + 32, 32);
    ek_sha512_update(&c, msg, len);
    ek_sha512_final(&c, digest);
    ek_ed25519_scalar_reduce(r, digest);
    EK_CHECK_OK(ek_ed25519_scalarmult_base_noclamp(sig, r));

    ek_sha512_init(&c);
    ek_sha512_update(&c, sig, 32);
    ek_sha512_update(&c, A, 32);
    ek_sha512_update(&c, msg, len);
    ek_sha512_final(&c, digest);
    ek_ed25519_scalar_reduce(k, digest);
    ek_ed25519_scalar_mul(ka, k, a_red);
    ek_ed25519_scalar_add(sig + 32, r, ka);
}

static void test_scalars(void)
{
    uint8_t zero[32] = {0}, one[32] = {1}, out[32], wide[64] = {0};
    /* L reduces to 0, L + 1 to 1. */
    memcpy(wide, group_order, 32);
    ek_ed25519_scalar_reduce(out, wide);
    EK_CHECK_BYTES(out, zero, 32);
    wide[0]++;
    ek_ed25519_scalar_reduce(out, wide);
    EK_CHECK_BYTES(out, one, 32);
    /* x + (-x) = 0 */
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"scalars", 7);
    for (int i = 0; i < 64; i++) {
        uint8_t x[64], xr[32], neg[32], sum[32];
        EK_CHECK_OK(ek_random(&rng.rng, x, sizeof(x)));
        ek_ed25519_scalar_reduce(xr, x);
        ek_ed25519_scalar_negate(neg, xr);
        ek_ed25519_scalar_add(sum, xr, neg);
        EK_CHECK_BYTES(sum, zero, 32);
        ek_ed25519_scalar_mul(sum, xr, one);
        EK_CHECK_BYTES(sum, xr, 32);
    }
    /* 1 * B is the base point; 0 and L give the neutral element. */
    uint8_t p[32];
    EK_CHECK_OK(ek_ed25519_scalarmult_base_noclamp(p, one));
    EK_CHECK_BYTES(p, base_point, 32);
    EK_CHECK_RC(ek_ed25519_scalarmult_base_noclamp(p, zero), EK_ERR_WEAK_KEY);
    EK_CHECK_RC(ek_ed25519_scalarmult_base_noclamp(p, group_order), EK_ERR_WEAK_KEY);
}

static void test_rebuilt_signatures(void)
{
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"ed25519 ops", 11);
    for (int i = 0; i < 200; i++) {
        uint8_t seed[32], msg[100], want[64], got[64];
        size_t len = (size_t)i % sizeof(msg);
        EK_CHECK_OK(ek_random(&rng.rng, seed, sizeof(seed)));
        EK_CHECK_OK(ek_random(&rng.rng, msg, sizeof(msg)));
        EK_CHECK_OK(ek_ed25519_sign(want, seed, msg, len));
        manual_ed25519_sign(got, seed, msg, len);
        EK_CHECK_BYTES(got, want, 64);
    }
}

static void test_montgomery_to_edwards(void)
{
    uint8_t u[32] = {9}, y[32];
    EK_CHECK_OK(ek_ed25519_from_x25519_public(y, u, 0));
    EK_CHECK_BYTES(y, base_point, 32);
    EK_CHECK_OK(ek_ed25519_from_x25519_public(y, u, 1));
    EK_CHECK(y[31] == (base_point[31] | 0x80));

    /* u = 1 -> y = 0; u = 0 -> y = -1 = p - 1; u = p - 1 -> inv(0) = 0. */
    uint8_t zero[32] = {0}, p_minus_1[32];
    memset(p_minus_1, 0xff, 32);
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    memset(u, 0, 32);
    u[0] = 1;
    EK_CHECK_OK(ek_ed25519_from_x25519_public(y, u, 0));
    EK_CHECK_BYTES(y, zero, 32);
    memset(u, 0, 32);
    EK_CHECK_OK(ek_ed25519_from_x25519_public(y, u, 0));
    EK_CHECK_BYTES(y, p_minus_1, 32);
    EK_CHECK_OK(ek_ed25519_from_x25519_public(y, p_minus_1, 0));
    EK_CHECK_BYTES(y, zero, 32);

    /* Non-canonical u (p, p + 1, 2^255 - 1, top bit set) and a bad sign. */
    uint8_t bad[32];
    memcpy(bad, p_minus_1, 32);
    bad[0] = 0xed;
    EK_CHECK_RC(ek_ed25519_from_x25519_public(y, bad, 0), EK_ERR_BAD_KEY);
    bad[0] = 0xee;
    EK_CHECK_RC(ek_ed25519_from_x25519_public(y, bad, 0), EK_ERR_BAD_KEY);
    memset(bad, 0xff, 32);
    bad[31] = 0x7f;
    EK_CHECK_RC(ek_ed25519_from_x25519_public(y, bad, 0), EK_ERR_BAD_KEY);
    memset(bad, 0, 32);
    bad[31] = 0x80;
    EK_CHECK_RC(ek_ed25519_from_x25519_public(y, bad, 0), EK_ERR_BAD_KEY);
    EK_CHECK_RC(ek_ed25519_from_x25519_public(y, u, 2), EK_ERR_INVALID_ARG);

    /* Random X25519 keys: the map of the Montgomery public key is the
     * Edwards public key of the same (clamped) scalar. */
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"mont", 4);
    for (int i = 0; i < 500; i++) {
        uint8_t sk[32], mont[32], ed[32], conv[32];
        EK_CHECK_OK(ek_x25519_keypair(mont, sk, &rng.rng));
        sk[0] &= 248;
        sk[31] &= 127;
        sk[31] |= 64;
        EK_CHECK_OK(ek_ed25519_scalarmult_base_noclamp(ed, sk));
        EK_CHECK_OK(ek_ed25519_from_x25519_public(conv, mont, ed[31] >> 7));
        EK_CHECK_BYTES(conv, ed, 32);
    }
}

int main(void)
{
    test_scalars();
    test_rebuilt_signatures();
    test_montgomery_to_edwards();
    return ek_test_finish("crypto.ed25519_ops");
}
