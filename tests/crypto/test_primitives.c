/*
 * test_primitives.c: unit tests of ek_crypto.h beyond what Wycheproof covers:
 * known answers from the RFCs, API contracts (bad arguments, failure leaves
 * no output), the RNGs, Argon2id, constant-time helpers and guarded memory.
 */
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ek_test.h"

static uint8_t *unhex(const char *hex)
{
    size_t n;
    return ek_test_unhex(hex, &n);
}

static void test_sha2(void)
{
    /* FIPS 180-4 examples for "abc". */
    uint8_t out[64];
    uint8_t *want256 = unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    uint8_t *want512 = unhex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                             "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    ek_sha256(out, "abc", 3);
    EK_CHECK_BYTES(out, want256, 32);
    ek_sha512(out, "abc", 3);
    EK_CHECK_BYTES(out, want512, 64);
    /* Incremental and gather forms agree with one-shot. */
    ek_iovec parts[3] = {{"a", 1}, {"", 0}, {"bc", 2}};
    memset(out, 0, sizeof(out));
    ek_sha256_v(out, parts, 3);
    EK_CHECK_BYTES(out, want256, 32);
    ek_sha512_ctx c;
    ek_sha512_init(&c);
    ek_sha512_update(&c, "ab", 2);
    ek_sha512_update(&c, "c", 1);
    ek_sha512_final(&c, out);
    EK_CHECK_BYTES(out, want512, 64);
    free(want256);
    free(want512);
}

static void test_hmac_hkdf_contracts(void)
{
    uint8_t tag[32], prk[32] = {0}, out[64];
    ek_hmac_sha256(tag, "key", 3, "msg", 3);
    EK_CHECK_OK(ek_hmac_sha256_verify(tag, 32, "key", 3, "msg", 3));
    EK_CHECK_OK(ek_hmac_sha256_verify(tag, EK_HMAC_MIN_TAG_LEN, "key", 3, "msg", 3));
    EK_CHECK_RC(ek_hmac_sha256_verify(tag, EK_HMAC_MIN_TAG_LEN - 1, "key", 3, "msg", 3),
                EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hmac_sha256_verify(tag, 33, "key", 3, "msg", 3), EK_ERR_INVALID_ARG);
    tag[31] ^= 1;
    EK_CHECK_RC(ek_hmac_sha256_verify(tag, 32, "key", 3, "msg", 3), EK_ERR_AUTH);
    EK_CHECK_RC(ek_hkdf_sha256_expand(out, 0, prk, 32, NULL, 0), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hkdf_sha256_expand(out, 32, prk, 16, NULL, 0), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hkdf_sha256_expand(out, 32, prk, 32, NULL, 1), EK_ERR_INVALID_ARG);

    /* RFC 9420 ExpandWithLabel: the crypto-basics vector of suite 1. */
    uint8_t *secret = unhex("1499360a561335f4ef51d0a1b0d586900dc8007ae405b1ab79bf4207bb3d67e4");
    uint8_t *context = unhex("2ff8c1f9d9c1248f82e372ddb5791c771695e01882abca6a64097bd2f04c971f");
    uint8_t *want = unhex("c1e8eb360391526c0c64039f13e0c5b1");
    EK_CHECK_OK(ek_hkdf_expand_with_label(out, 16, secret, 32, "ExpandWithLabel", context, 32));
    EK_CHECK_BYTES(out, want, 16);
    EK_CHECK_RC(ek_hkdf_expand_with_label(out, 16, secret, 32, NULL, context, 32),
                EK_ERR_INVALID_ARG);
    free(secret);
    free(context);
    free(want);
}

static void test_aead_contracts(void)
{
    static const ek_aead_alg algs[] = {EK_AEAD_AES128GCM, EK_AEAD_AES256GCM,
                                       EK_AEAD_CHACHA20POLY1305};
    uint8_t key[32], nonce[12], pt[100], ct[116], back[116];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
    memset(nonce, 7, sizeof(nonce));
    memset(pt, 'p', sizeof(pt));
    for (size_t a = 0; a < 3; a++) {
        ek_aead_alg alg = algs[a];
        size_t kl = ek_aead_key_len(alg);
        EK_CHECK_OK(ek_aead_seal(ct, alg, key, kl, nonce, 12, "ad", 2, pt, sizeof(pt)));
        EK_CHECK_OK(ek_aead_open(back, alg, key, kl, nonce, 12, "ad", 2, ct, sizeof(ct)));
        EK_CHECK_BYTES(back, pt, sizeof(pt));
        /* Wrong aad, nonce, key, or a flipped bit anywhere: no plaintext. */
        memset(back, 0x55, sizeof(back));
        EK_CHECK_RC(ek_aead_open(back, alg, key, kl, nonce, 12, "ae", 2, ct, sizeof(ct)),
                    EK_ERR_AUTH);
        EK_CHECK(ek_ct_is_zero(back, sizeof(pt)));
        uint8_t n2[12];
        memcpy(n2, nonce, 12);
        n2[0] ^= 1;
        EK_CHECK_RC(ek_aead_open(back, alg, key, kl, n2, 12, "ad", 2, ct, sizeof(ct)), EK_ERR_AUTH);
        for (size_t bit = 0; bit < sizeof(ct) * 8; bit += 37) {
            ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            EK_CHECK_RC(ek_aead_open(back, alg, key, kl, nonce, 12, "ad", 2, ct, sizeof(ct)),
                        EK_ERR_AUTH);
            ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        /* Too short to hold a tag, wrong key length, unsupported algorithm. */
        EK_CHECK_RC(ek_aead_open(back, alg, key, kl, nonce, 12, NULL, 0, ct, 15), EK_ERR_AUTH);
        EK_CHECK_RC(ek_aead_seal(ct, alg, key, kl - 1, nonce, 12, NULL, 0, pt, 1),
                    EK_ERR_INVALID_ARG);
        /* Empty plaintext: just a tag. */
        EK_CHECK_OK(ek_aead_seal(ct, alg, key, kl, nonce, 12, NULL, 0, NULL, 0));
        EK_CHECK_OK(ek_aead_open(NULL, alg, key, kl, nonce, 12, NULL, 0, ct, 16));
        /* In-place seal. */
        memcpy(back, pt, sizeof(pt));
        EK_CHECK_OK(ek_aead_seal(back, alg, key, kl, nonce, 12, NULL, 0, back, sizeof(pt)));
        EK_CHECK_OK(ek_aead_open(back, alg, key, kl, nonce, 12, NULL, 0, back, sizeof(back)));
        EK_CHECK_BYTES(back, pt, sizeof(pt));
    }
    EK_CHECK(ek_aead_key_len((ek_aead_alg)9) == 0);
    EK_CHECK_RC(ek_aead_seal(ct, (ek_aead_alg)9, key, 32, nonce, 12, NULL, 0, pt, 1),
                EK_ERR_UNSUPPORTED);
}

/* Make the last plaintext block of a CBC ciphertext decrypt to target, by
 * xoring the previous ciphertext block (CBC malleability). */
static void set_last_block(uint8_t *ct, size_t ct_len, const uint8_t *known_last,
                           const uint8_t target[16])
{
    for (int i = 0; i < 16; i++)
        ct[ct_len - 32 + (size_t)i] ^= (uint8_t)(known_last[i] ^ target[i]);
}

static void test_aes_cbc(void)
{
    /* NIST SP 800-38A F.2.5 CBC-AES256.Encrypt, plus the PKCS#7 block
     * (the last 16 bytes, as computed by `openssl enc -aes-256-cbc`). */
    uint8_t *key = unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    uint8_t *iv = unhex("000102030405060708090a0b0c0d0e0f");
    uint8_t *pt = unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
    uint8_t *want = unhex("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
                          "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"
                          "3f461796d6b0d6b2e0c2a72b4d80e644");
    uint8_t ct[80], back[80];
    size_t n = 0;
    EK_CHECK(EK_AES256_CBC_CT_LEN(64) == 80 && EK_AES256_CBC_CT_LEN(0) == 16);
    EK_CHECK_OK(ek_aes256_cbc_encrypt(ct, key, iv, pt, 64));
    EK_CHECK_BYTES(ct, want, 80);
    EK_CHECK_OK(ek_aes256_cbc_decrypt(back, &n, key, iv, ct, 80));
    EK_CHECK(n == 64);
    EK_CHECK_BYTES(back, pt, 64);
    /* Every padding length 0..15 bytes of data in one block round-trips. */
    for (size_t len = 0; len < 40; len++) {
        EK_CHECK_OK(ek_aes256_cbc_encrypt(ct, key, iv, pt, len));
        EK_CHECK_OK(ek_aes256_cbc_decrypt(back, &n, key, iv, ct, EK_AES256_CBC_CT_LEN(len)));
        EK_CHECK(n == len && memcmp(back, pt, len) == 0);
    }
    /* Bad paddings: the last block of a 32-byte ciphertext (16 data bytes
     * and a full pad block of 0x10) rewritten to chosen values. */
    uint8_t pad_block[16], target[16];
    memset(pad_block, 0x10, 16);
    static const struct {
        uint8_t last, prev;
        int ok;
        size_t len;
    } cases[] = {{0x00, 0x00, 0, 0}, {0x11, 0x11, 0, 0},  {0xff, 0xff, 0, 0},
                 {0x02, 0x03, 0, 0}, {0x02, 0x02, 1, 30}, {0x01, 0x07, 1, 31}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t c2[32];
        EK_CHECK_OK(ek_aes256_cbc_encrypt(c2, key, iv, pt, 16));
        memset(target, 0x10, 16);
        target[15] = cases[i].last;
        target[14] = cases[i].prev;
        set_last_block(c2, 32, pad_block, target);
        memset(back, 0x77, sizeof(back));
        int rc = ek_aes256_cbc_decrypt(back, &n, key, iv, c2, 32);
        if (cases[i].ok) {
            EK_CHECK(rc == EK_OK && n == cases[i].len);
        } else {
            EK_CHECK_RC(rc, EK_ERR_AUTH);
            EK_CHECK(n == 0 && ek_ct_is_zero(back, 32));
        }
    }
    /* One context for many calls with different keys gives the same bytes
     * as the one-shot calls. */
    ek_aes256_cbc_ctx *ctx = NULL;
    EK_CHECK_OK(ek_aes256_cbc_ctx_new(&ctx));
    for (int round = 0; round < 3; round++) {
        key[0] ^= (uint8_t)round;
        uint8_t one[80], two[80];
        EK_CHECK_OK(ek_aes256_cbc_encrypt(one, key, iv, pt, 64));
        EK_CHECK_OK(ek_aes256_cbc_encrypt_with(ctx, two, key, iv, pt, 64));
        EK_CHECK_BYTES(one, two, 80);
        EK_CHECK_OK(ek_aes256_cbc_decrypt_with(ctx, back, &n, key, iv, two, 80));
        EK_CHECK(n == 64 && memcmp(back, pt, 64) == 0);
        key[0] ^= (uint8_t)round;
    }
    EK_CHECK_RC(ek_aes256_cbc_decrypt_with(ctx, back, &n, key, iv, ct, 15), EK_ERR_AUTH);
    ek_aes256_cbc_ctx_free(ctx);
    EK_CHECK_RC(ek_aes256_cbc_decrypt(back, &n, key, iv, ct, 15), EK_ERR_AUTH);
    EK_CHECK_RC(ek_aes256_cbc_decrypt(back, &n, key, iv, ct, 0), EK_ERR_AUTH);
    free(key);
    free(iv);
    free(pt);
    free(want);
}

static void test_x25519(void)
{
    /* RFC 7748 §6.1: public keys from private keys, and agreement. */
    uint8_t *a_sk = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    uint8_t *a_pk = unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    uint8_t *b_sk = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    uint8_t *b_pk = unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    uint8_t *k = unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    uint8_t pk[32], s1[32], s2[32], zero[32] = {0};
    EK_CHECK_OK(ek_x25519_public(pk, a_sk));
    EK_CHECK_BYTES(pk, a_pk, 32);
    EK_CHECK_OK(ek_x25519_public(pk, b_sk));
    EK_CHECK_BYTES(pk, b_pk, 32);
    EK_CHECK_OK(ek_x25519(s1, a_sk, b_pk));
    EK_CHECK_OK(ek_x25519(s2, b_sk, a_pk));
    EK_CHECK_BYTES(s1, k, 32);
    EK_CHECK_BYTES(s2, k, 32);
    /* The all-zero u-coordinate is of small order: refused, output wiped. */
    memset(s1, 0xee, sizeof(s1));
    EK_CHECK_RC(ek_x25519(s1, a_sk, zero), EK_ERR_WEAK_KEY);
    EK_CHECK(ek_ct_is_zero(s1, 32));
    free(a_sk);
    free(a_pk);
    free(b_sk);
    free(b_pk);
    free(k);
}

static void test_ed25519(void)
{
    /* RFC 8032 §7.1 TEST 1 (empty message). */
    uint8_t *seed = unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    uint8_t *want_pk = unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    uint8_t *want_sig = unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                              "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    uint8_t pk[32], sig[64];
    EK_CHECK_OK(ek_ed25519_public(pk, seed));
    EK_CHECK_BYTES(pk, want_pk, 32);
    EK_CHECK_OK(ek_ed25519_sign(sig, seed, NULL, 0));
    EK_CHECK_BYTES(sig, want_sig, 64);
    EK_CHECK_OK(ek_ed25519_verify(sig, 64, pk, NULL, 0));
    EK_CHECK_RC(ek_ed25519_verify(sig, 64, pk, "x", 1), EK_ERR_AUTH);
    EK_CHECK_RC(ek_ed25519_verify(sig, 63, pk, NULL, 0), EK_ERR_AUTH);
    /* The expanded key signs the same bytes (Ed25519 is deterministic). */
    ek_ed25519_key k;
    uint8_t sig2[64];
    EK_CHECK_OK(ek_ed25519_key_from_seed(&k, seed));
    EK_CHECK_BYTES(ek_ed25519_key_public(&k), want_pk, 32);
    EK_CHECK_OK(ek_ed25519_sign_with(sig2, &k, NULL, 0));
    EK_CHECK_BYTES(sig2, want_sig, 64);
    ek_wipe(&k, sizeof(k));
    /* A fresh key pair signs and verifies; another key does not. */
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"ed", 2);
    uint8_t pk2[32], seed2[32];
    EK_CHECK_OK(ek_ed25519_keypair(pk2, seed2, &rng.rng));
    EK_CHECK_OK(ek_ed25519_sign(sig, seed2, "hello", 5));
    EK_CHECK_OK(ek_ed25519_verify(sig, 64, pk2, "hello", 5));
    EK_CHECK_RC(ek_ed25519_verify(sig, 64, pk, "hello", 5), EK_ERR_AUTH);
    free(seed);
    free(want_pk);
    free(want_sig);
}

static int failing_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    memset(out, 0x41, len / 2); /* partial output before failing */
    return EK_ERR_RNG;
}

static void test_rng(void)
{
    ek_rng_seeded a, b, c;
    uint8_t x[100], y[100], z[100];
    ek_rng_seeded_init(&a, (const uint8_t *)"seed", 4);
    ek_rng_seeded_init(&b, (const uint8_t *)"seed", 4);
    ek_rng_seeded_init(&c, (const uint8_t *)"seee", 4);
    EK_CHECK_OK(ek_random(&a.rng, x, sizeof(x)));
    /* The same stream whatever the read sizes. */
    EK_CHECK_OK(ek_random(&b.rng, y, 1));
    EK_CHECK_OK(ek_random(&b.rng, y + 1, 40));
    EK_CHECK_OK(ek_random(&b.rng, y + 41, 59));
    EK_CHECK_BYTES(x, y, sizeof(x));
    EK_CHECK_OK(ek_random(&c.rng, z, sizeof(z)));
    EK_CHECK(memcmp(x, z, sizeof(x)) != 0);
    /* The system generator: two draws differ and are not all zero. */
    EK_CHECK_OK(ek_random(NULL, x, 32));
    EK_CHECK_OK(ek_random(ek_rng_system(), y, 32));
    EK_CHECK(memcmp(x, y, 32) != 0 && !ek_ct_is_zero(x, 32));
    /* A failing generator: the error is reported and nothing is left. */
    ek_rng bad = {failing_fill, NULL};
    EK_CHECK_RC(ek_random(&bad, x, sizeof(x)), EK_ERR_RNG);
    EK_CHECK(ek_ct_is_zero(x, sizeof(x)));
    uint8_t pk[32], sk[32];
    EK_CHECK_RC(ek_x25519_keypair(pk, sk, &bad), EK_ERR_RNG);
}

static void test_argon2id(void)
{
    /* Known answer from the reference implementation (phc-winner-argon2,
     * Debian package argon2): Argon2id v1.3, t=2, m=2^16 KiB, p=1:
     *   echo -n password | argon2 somesaltsomesalt -id -t 2 -m 16 -p 1 -l 32 -r
     * (our salts are 16 bytes, so the reference's own 8-byte-salt KAT does
     * not apply). */
    uint8_t *want = unhex("fc33b78139231d34b71626bd6245c1d72efa190ad605c3d8166a72adcedfa2c2");
    uint8_t salt[16], out[32];
    memcpy(salt, "somesaltsomesalt", 16);
    EK_CHECK_OK(ek_argon2id(out, 32, "password", 8, salt, 2, 1u << 16));
    EK_CHECK_BYTES(out, want, 32);
    free(want);
    EK_CHECK_RC(ek_argon2id(out, 8, "password", 8, salt, 2, 1u << 16), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_argon2id(out, 32, "password", 8, salt, 0, 1u << 16), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_argon2id(out, 32, "password", 8, salt, 2, 4), EK_ERR_INVALID_ARG);
}

static void test_memory(void)
{
    uint8_t a[33], b[33];
    memset(a, 1, sizeof(a));
    memset(b, 1, sizeof(b));
    EK_CHECK(ek_ct_equal(a, b, sizeof(a)) == 1);
    b[32] = 2;
    EK_CHECK(ek_ct_equal(a, b, sizeof(a)) == 0);
    EK_CHECK(ek_ct_equal(a, b, 0) == 1);
    EK_CHECK(ek_ct_is_zero(a, sizeof(a)) == 0);
    ek_wipe(a, sizeof(a));
    EK_CHECK(ek_ct_is_zero(a, sizeof(a)) == 1);
    uint8_t *s = ek_secure_alloc(64);
    EK_CHECK(s != NULL);
    if (s != NULL) {
        memset(s, 0x33, 64);
        ek_secure_free(s);
    }
    EK_CHECK(strcmp(ek_strerror(EK_ERR_AUTH), "authentication failed") == 0);
    EK_CHECK(strcmp(ek_strerror(12345), "unknown error") == 0);
}

int main(void)
{
    test_sha2();
    test_hmac_hkdf_contracts();
    test_aead_contracts();
    test_aes_cbc();
    test_x25519();
    test_ed25519();
    test_rng();
    test_argon2id();
    test_memory();
    return ek_test_finish("crypto.primitives");
}
