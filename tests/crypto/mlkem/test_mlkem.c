/*
 * test_mlkem.c: unit tests of ML-KEM-768: the accumulated pseudo-random test
 * of 10 000 KeyGen/Encaps/Decaps runs (vectors/mlkem/README.md §2.6), the
 * arithmetic helpers checked exhaustively against their definitions, the API
 * contract (argument and input checks, nothing written on failure) and
 * round trips with the RNG-driven entry points.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mlkem.h>

#include "crypto/mlkem/mlkem_internal.h"
#include "ek_test.h"

/* README §2.6: one SHAKE-128 stream (empty input) gives d, z, m and a random
 * ciphertext per test; a second SHAKE-128 absorbs ek || dk || c || K ||
 * K_bad; after 10 000 tests its first 32 bytes are the published hash. */
static void test_accumulated(void)
{
    static const char want_hex[] =
        "f959d18d3d1180121433bf0e05f11e7908cf9d03edc150b2b07cb90bef5bc1c1";
    ek_keccak rng, acc;
    ek_shake128_init(&rng);
    ek_shake128_init(&acc);
    static uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN], ct[EK_MLKEM768_CT_LEN],
        ct_bad[EK_MLKEM768_CT_LEN];
    uint8_t d[32], z[32], m[32], k[32], k_dec[32], k_bad[32];
    for (int n = 0; n < 10000; n++) {
        ek_keccak_squeeze(&rng, d, sizeof(d));
        ek_keccak_squeeze(&rng, z, sizeof(z));
        ek_keccak_squeeze(&rng, m, sizeof(m));
        ek_keccak_squeeze(&rng, ct_bad, sizeof(ct_bad));
        EK_CHECK_OK(ek_mlkem768_keypair_derand(ek, dk, d, z));
        EK_CHECK_OK(ek_mlkem768_encaps_derand(ct, k, ek, m));
        EK_CHECK_OK(ek_mlkem768_decaps(k_dec, ct, dk));
        EK_CHECK_BYTES(k_dec, k, 32);
        EK_CHECK_OK(ek_mlkem768_decaps(k_bad, ct_bad, dk));
        ek_keccak_absorb(&acc, ek, sizeof(ek));
        ek_keccak_absorb(&acc, dk, sizeof(dk));
        ek_keccak_absorb(&acc, ct, sizeof(ct));
        ek_keccak_absorb(&acc, k, sizeof(k));
        ek_keccak_absorb(&acc, k_bad, sizeof(k_bad));
    }
    uint8_t got[32];
    ek_keccak_squeeze(&acc, got, sizeof(got));
    printf("accumulated test, 10000 runs: ");
    for (size_t i = 0; i < sizeof(got); i++)
        printf("%02x", got[i]);
    printf("\n");
    size_t want_len;
    uint8_t *want = ek_test_unhex(want_hex, &want_len);
    EK_CHECK_BYTES(got, want, 32);
    free(want);
}

/* Barrett and Montgomery reduction on every input in their ranges. */
static void test_reductions(void)
{
    int bad = 0;
    for (int32_t a = -32768; a <= 32767; a++) {
        int16_t r = ek_mlkem_barrett_reduce((int16_t)a);
        if (r < -(MLKEM_Q - 1) / 2 || r > (MLKEM_Q - 1) / 2 || ((a - r) % MLKEM_Q) != 0)
            bad++;
    }
    EK_CHECK(bad == 0);
    /* montgomery_reduce(a) = a R^-1: r * 2^16 == a (mod q), |r| < q, over a
     * sample spread across |a| < q 2^15. */
    bad = 0;
    const int32_t lim = MLKEM_Q * 32768 - 1;
    for (int64_t a = -lim; a <= lim; a += 997) {
        int16_t r = ek_mlkem_montgomery_reduce((int32_t)a);
        if (r <= -MLKEM_Q || r >= MLKEM_Q || (((int64_t)r * 65536 - a) % MLKEM_Q) != 0)
            bad++;
    }
    EK_CHECK(bad == 0);
}

/* Compress_d against the exact rounded division (FIPS 203 (4.7)) for every
 * x in [0, q), and Decompress_d then Compress_d is the identity. */
static void test_compress(void)
{
    static const unsigned ds[] = {1, 4, 10};
    for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
        unsigned d = ds[k];
        int bad = 0;
        for (uint32_t x = 0; x < MLKEM_Q; x++) {
            /* round(2^d x / q) mod 2^d, by integer division (test only). */
            uint32_t want = (((x << d) * 2 + MLKEM_Q) / (2 * MLKEM_Q)) & ((1u << d) - 1);
            if (ek_mlkem_compress_d((uint16_t)x, d) != want)
                bad++;
        }
        for (uint32_t y = 0; y < (1u << d); y++) {
            uint32_t x = (y * MLKEM_Q + (1u << (d - 1))) >> d;
            if (ek_mlkem_compress_d((uint16_t)x, d) != y)
                bad++;
        }
        if (bad != 0)
            ek_test_fail(__FILE__, __LINE__, "Compress_%u: %d mismatches", d, bad);
    }
}

/* NTT then NTT^-1 gives back the input times R (the Montgomery factor the
 * inverse adds), and ByteEncode_12/ByteDecode_12 round-trip. */
static void test_ntt_roundtrip(void)
{
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"ntt", 3);
    mlkem_poly p, q;
    uint8_t raw[2 * MLKEM_N], bytes[MLKEM_POLYBYTES];
    for (int iter = 0; iter < 100; iter++) {
        EK_CHECK_OK(ek_random(&rng.rng, raw, sizeof(raw)));
        for (int i = 0; i < MLKEM_N; i++)
            p.c[i] = (int16_t)((raw[2 * i] | raw[2 * i + 1] << 8) % MLKEM_Q);
        q = p;
        ek_mlkem_ntt(&q);
        ek_mlkem_invntt_tomont(&q);
        int bad = 0;
        for (int i = 0; i < MLKEM_N; i++)
            if ((((int32_t)q.c[i] - (int32_t)p.c[i] * 2285) % MLKEM_Q) != 0)
                bad++;
        EK_CHECK(bad == 0);
        ek_mlkem_poly_tobytes(bytes, &p);
        EK_CHECK(ek_mlkem_poly_bytes_reduced(bytes) == 1);
        ek_mlkem_poly_frombytes(&q, bytes);
        EK_CHECK(memcmp(p.c, q.c, sizeof(p.c)) == 0);
    }
}

static int count_rng_calls;
static int failing_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    (void)out;
    (void)len;
    count_rng_calls++;
    return EK_ERR_RNG;
}

/* The public API's contract beyond the vectors. */
static void test_api(void)
{
    static uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN], ct[EK_MLKEM768_CT_LEN];
    uint8_t ss1[32], ss2[32];
    EK_CHECK_OK(ek_mlkem768_keypair(ek, dk, NULL));
    EK_CHECK_OK(ek_mlkem768_check_ek(ek, sizeof(ek)));
    EK_CHECK_OK(ek_mlkem768_check_dk(dk, sizeof(dk)));
    EK_CHECK_OK(ek_mlkem768_encaps(ct, ss1, ek, NULL));
    EK_CHECK_OK(ek_mlkem768_check_ct(ct, sizeof(ct)));
    EK_CHECK_OK(ek_mlkem768_decaps(ss2, ct, dk));
    EK_CHECK_BYTES(ss1, ss2, 32);

    /* Seeded RNG: reproducible and equal to the derandomized calls. */
    ek_rng_seeded r1, r2;
    ek_rng_seeded_init(&r1, (const uint8_t *)"api", 3);
    ek_rng_seeded_init(&r2, (const uint8_t *)"api", 3);
    static uint8_t ek2[EK_MLKEM768_EK_LEN], dk2[EK_MLKEM768_DK_LEN], ct2[EK_MLKEM768_CT_LEN];
    uint8_t dz[64], m[32];
    EK_CHECK_OK(ek_mlkem768_keypair(ek, dk, &r1.rng));
    EK_CHECK_OK(ek_random(&r2.rng, dz, sizeof(dz)));
    EK_CHECK_OK(ek_mlkem768_keypair_derand(ek2, dk2, dz, dz + 32));
    EK_CHECK_BYTES(ek, ek2, sizeof(ek));
    EK_CHECK_BYTES(dk, dk2, sizeof(dk));
    EK_CHECK_OK(ek_mlkem768_encaps(ct, ss1, ek, &r1.rng));
    EK_CHECK_OK(ek_random(&r2.rng, m, sizeof(m)));
    EK_CHECK_OK(ek_mlkem768_encaps_derand(ct2, ss2, ek, m));
    EK_CHECK_BYTES(ct, ct2, sizeof(ct));
    EK_CHECK_BYTES(ss1, ss2, 32);

    /* A failing RNG: EK_ERR_RNG. */
    ek_rng bad_rng = {failing_fill, NULL};
    EK_CHECK_RC(ek_mlkem768_keypair(ek2, dk2, &bad_rng), EK_ERR_RNG);
    EK_CHECK_RC(ek_mlkem768_encaps(ct2, ss2, ek, &bad_rng), EK_ERR_RNG);

    /* Length checks. */
    EK_CHECK_RC(ek_mlkem768_check_ek(ek, sizeof(ek) - 1), EK_ERR_DECODE);
    EK_CHECK_RC(ek_mlkem768_check_dk(dk, sizeof(dk) + 1), EK_ERR_DECODE);
    EK_CHECK_RC(ek_mlkem768_check_ct(ct, 0), EK_ERR_DECODE);
    EK_CHECK_RC(ek_mlkem768_check_ct(NULL, 5), EK_ERR_INVALID_ARG);

    /* An unreduced ek: rejected by the check and by encaps, which writes
     * nothing and does not touch the RNG. */
    memcpy(ek2, ek, sizeof(ek));
    ek2[0] = 0xff;
    ek2[1] |= 0x0f; /* first coefficient 4095 */
    EK_CHECK_RC(ek_mlkem768_check_ek(ek2, sizeof(ek2)), EK_ERR_BAD_KEY);
    memset(ct2, 0xaa, sizeof(ct2));
    memset(ss2, 0xaa, sizeof(ss2));
    count_rng_calls = 0;
    EK_CHECK_RC(ek_mlkem768_encaps(ct2, ss2, ek2, &bad_rng), EK_ERR_BAD_KEY);
    EK_CHECK(count_rng_calls == 0);
    EK_CHECK_RC(ek_mlkem768_encaps_derand(ct2, ss2, ek2, m), EK_ERR_BAD_KEY);
    EK_CHECK(ek_ct_is_zero(ct2, 0) && ct2[0] == 0xaa && ct2[sizeof(ct2) - 1] == 0xaa);
    EK_CHECK(ss2[0] == 0xaa && ss2[31] == 0xaa);

    /* A dk whose H(ek) is wrong: rejected by the check and by decaps. */
    memcpy(dk2, dk, sizeof(dk));
    dk2[MLKEM_DK_H_OFF] ^= 1;
    EK_CHECK_RC(ek_mlkem768_check_dk(dk2, sizeof(dk2)), EK_ERR_BAD_KEY);
    EK_CHECK_RC(ek_mlkem768_decaps(ss2, ct, dk2), EK_ERR_BAD_KEY);
    EK_CHECK(ss2[0] == 0xaa && ss2[31] == 0xaa);

    /* A modified ciphertext gives J(z || c), not K, and still EK_OK. */
    memcpy(ct2, ct, sizeof(ct));
    ct2[sizeof(ct2) - 1] ^= 0x80;
    EK_CHECK_OK(ek_mlkem768_decaps(ss2, ct2, dk));
    uint8_t jin[32 + EK_MLKEM768_CT_LEN], kbar[32];
    memcpy(jin, dk + MLKEM_DK_Z_OFF, 32);
    memcpy(jin + 32, ct2, sizeof(ct2));
    ek_shake256(kbar, 32, jin, sizeof(jin));
    EK_CHECK_BYTES(ss2, kbar, 32);
    EK_CHECK(memcmp(ss2, ss1, 32) != 0);

    /* NULL arguments. */
    EK_CHECK_RC(ek_mlkem768_keypair_derand(NULL, dk, dz, dz), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_mlkem768_encaps_derand(ct, NULL, ek, m), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_mlkem768_decaps(ss1, NULL, dk), EK_ERR_INVALID_ARG);
}

int main(void)
{
    test_reductions();
    test_compress();
    test_ntt_roundtrip();
    test_api();
    test_accumulated();
    return ek_test_finish("unit.crypto.mlkem");
}
