/*
 * mlkem.c: ML-KEM-768, the key-encapsulation mechanism of FIPS 203 §6-7:
 * KeyGen_internal / Encaps_internal / Decaps_internal (Algorithms 16-18),
 * their randomized wrappers (Algorithms 19-21), and the input checks of
 * §7.2 (encapsulation key: type and modulus) and §7.3 (ciphertext type,
 * decapsulation key type and hash).
 *
 * H = SHA3-256, G = SHA3-512, J(s) = SHAKE256(s, 32 bytes) (FIPS 203 §4.1).
 * Decaps re-encrypts and compares the whole ciphertext in constant time;
 * on a mismatch it returns J(z || c) instead of the real key, selected with a
 * mask, so no branch or timing difference tells the caller (or an observer)
 * which one it got (the Fujisaki-Okamoto transform with implicit
 * rejection).
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mlkem.h>

#include "crypto/mlkem/mlkem_internal.h"

/* FIPS 203 §7.2, step 2 (modulus check): ByteEncode_12(ByteDecode_12(ek
 * slice)) must equal the slice for every polynomial of t̂. */
static unsigned modulus_ok(const uint8_t ek[EK_MLKEM768_EK_LEN])
{
    unsigned ok = 1;
    for (size_t i = 0; i < MLKEM_K; i++)
        ok &= ek_mlkem_poly_bytes_reduced(ek + i * MLKEM_POLYBYTES);
    return ok;
}

/* FIPS 203 §7.3, step 3 (hash check): H(dk[384k : 768k + 32]) must equal
 * dk[768k + 32 : 768k + 64]. Both sides are public (ek and its hash). */
static unsigned dk_hash_ok(const uint8_t dk[EK_MLKEM768_DK_LEN])
{
    uint8_t h[MLKEM_SYMBYTES];
    ek_sha3_256(h, dk + MLKEM_DK_EK_OFF, EK_MLKEM768_EK_LEN);
    return (unsigned)ek_ct_equal(h, dk + MLKEM_DK_H_OFF, MLKEM_SYMBYTES);
}

int ek_mlkem768_check_ek(const uint8_t *ek, size_t ek_len)
{
    if (ek == NULL && ek_len != 0)
        return EK_ERR_INVALID_ARG;
    /* §7.2 step 1 (type check). */
    if (ek_len != EK_MLKEM768_EK_LEN)
        return EK_ERR_DECODE;
    return modulus_ok(ek) ? EK_OK : EK_ERR_BAD_KEY;
}

int ek_mlkem768_check_dk(const uint8_t *dk, size_t dk_len)
{
    if (dk == NULL && dk_len != 0)
        return EK_ERR_INVALID_ARG;
    /* §7.3 step 2 (decapsulation key type check). */
    if (dk_len != EK_MLKEM768_DK_LEN)
        return EK_ERR_DECODE;
    return dk_hash_ok(dk) ? EK_OK : EK_ERR_BAD_KEY;
}

int ek_mlkem768_check_ct(const uint8_t *ct, size_t ct_len)
{
    if (ct == NULL && ct_len != 0)
        return EK_ERR_INVALID_ARG;
    /* §7.3 step 1 (ciphertext type check): 32 (du k + dv) bytes. */
    return ct_len == EK_MLKEM768_CT_LEN ? EK_OK : EK_ERR_DECODE;
}

/* FIPS 203 Algorithm 16. */
int ek_mlkem768_keypair_derand(uint8_t ek[EK_MLKEM768_EK_LEN], uint8_t dk[EK_MLKEM768_DK_LEN],
                               const uint8_t d[EK_MLKEM_SEED_LEN],
                               const uint8_t z[EK_MLKEM_SEED_LEN])
{
    if (ek == NULL || dk == NULL || d == NULL || z == NULL)
        return EK_ERR_INVALID_ARG;
    /* Lines 1-2: (ek_PKE, dk_PKE) = K-PKE.KeyGen(d), ek = ek_PKE. */
    ek_mlkem_kpke_keygen(ek, dk, d);
    /* ek is the public key: it is published by design, so what it reveals
     * about d is what ML-KEM's security argument already allows. */
    EK_CT_DECLASSIFY(ek, EK_MLKEM768_EK_LEN);
    /* Line 3: dk = dk_PKE || ek || H(ek) || z. */
    memcpy(dk + MLKEM_DK_EK_OFF, ek, EK_MLKEM768_EK_LEN);
    ek_sha3_256(dk + MLKEM_DK_H_OFF, ek, EK_MLKEM768_EK_LEN);
    memcpy(dk + MLKEM_DK_Z_OFF, z, MLKEM_SYMBYTES);
    return EK_OK;
}

int ek_mlkem768_keypair_from_seed(uint8_t ek[EK_MLKEM768_EK_LEN], uint8_t dk[EK_MLKEM768_DK_LEN],
                                  const uint8_t *seed, size_t seed_len)
{
    if (ek == NULL || dk == NULL || seed == NULL)
        return EK_ERR_INVALID_ARG;
    if (seed_len != EK_MLKEM768_SEED_FORM_LEN)
        return EK_ERR_DECODE;
    return ek_mlkem768_keypair_derand(ek, dk, seed, seed + EK_MLKEM_SEED_LEN);
}

/* FIPS 203 Algorithm 19. */
int ek_mlkem768_keypair(uint8_t ek[EK_MLKEM768_EK_LEN], uint8_t dk[EK_MLKEM768_DK_LEN],
                        const ek_rng *rng)
{
    if (ek == NULL || dk == NULL)
        return EK_ERR_INVALID_ARG;
    uint8_t dz[2 * EK_MLKEM_SEED_LEN];
    int rc = ek_random(rng, dz, sizeof(dz));
    if (rc == EK_OK)
        rc = ek_mlkem768_keypair_derand(ek, dk, dz, dz + EK_MLKEM_SEED_LEN);
    ek_wipe(dz, sizeof(dz));
    return rc;
}

/* FIPS 203 Algorithm 17, after the §7.2 input check. */
int ek_mlkem768_encaps_derand(uint8_t ct[EK_MLKEM768_CT_LEN], uint8_t ss[EK_MLKEM768_SS_LEN],
                              const uint8_t ek[EK_MLKEM768_EK_LEN],
                              const uint8_t m[EK_MLKEM_SEED_LEN])
{
    if (ct == NULL || ss == NULL || ek == NULL || m == NULL)
        return EK_ERR_INVALID_ARG;
    if (!modulus_ok(ek))
        return EK_ERR_BAD_KEY;
    /* Line 1: (K, r) = G(m || H(ek)). */
    uint8_t g_in[2 * MLKEM_SYMBYTES], k_r[2 * MLKEM_SYMBYTES];
    memcpy(g_in, m, MLKEM_SYMBYTES);
    ek_sha3_256(g_in + MLKEM_SYMBYTES, ek, EK_MLKEM768_EK_LEN);
    ek_sha3_512(k_r, g_in, sizeof(g_in));
    /* Line 2: c = K-PKE.Encrypt(ek, m, r). */
    ek_mlkem_kpke_encrypt(ct, ek, m, k_r + MLKEM_SYMBYTES);
    memcpy(ss, k_r, MLKEM_SYMBYTES);
    /* The ciphertext goes on the wire to the peer: it is public by design
     * (IND-CCA security is exactly that it reveals nothing about K). */
    EK_CT_DECLASSIFY(ct, EK_MLKEM768_CT_LEN);
    ek_wipe(g_in, sizeof(g_in));
    ek_wipe(k_r, sizeof(k_r));
    return EK_OK;
}

/* FIPS 203 Algorithm 20. */
int ek_mlkem768_encaps(uint8_t ct[EK_MLKEM768_CT_LEN], uint8_t ss[EK_MLKEM768_SS_LEN],
                       const uint8_t ek[EK_MLKEM768_EK_LEN], const ek_rng *rng)
{
    if (ct == NULL || ss == NULL || ek == NULL)
        return EK_ERR_INVALID_ARG;
    /* Check first, so that a bad key costs no randomness and writes nothing. */
    if (!modulus_ok(ek))
        return EK_ERR_BAD_KEY;
    uint8_t m[EK_MLKEM_SEED_LEN];
    int rc = ek_random(rng, m, sizeof(m));
    if (rc == EK_OK)
        rc = ek_mlkem768_encaps_derand(ct, ss, ek, m);
    ek_wipe(m, sizeof(m));
    return rc;
}

/* 0xff when the n bytes at a and b differ anywhere, else 0; reads every byte
 * (a strcmp-like early stop is the bug the CCTV "strcmp" vector catches). */
static uint8_t ct_differ_mask(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint32_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint32_t)(a[i] ^ b[i]);
    EK_VALUE_BARRIER_U32(diff);
    /* diff in [0, 255]: 0 - diff has its top bit set exactly when diff != 0. */
    return (uint8_t)(0u - ((0u - diff) >> 31));
}

/* FIPS 203 Algorithm 21 (= Algorithm 18 after the §7.3 checks). */
int ek_mlkem768_decaps(uint8_t ss[EK_MLKEM768_SS_LEN], const uint8_t ct[EK_MLKEM768_CT_LEN],
                       const uint8_t dk[EK_MLKEM768_DK_LEN])
{
    if (ss == NULL || ct == NULL || dk == NULL)
        return EK_ERR_INVALID_ARG;
    if (!dk_hash_ok(dk))
        return EK_ERR_BAD_KEY;
    const uint8_t *dk_pke = dk, *ek_pke = dk + MLKEM_DK_EK_OFF, *h = dk + MLKEM_DK_H_OFF;
    const uint8_t *z = dk + MLKEM_DK_Z_OFF;
    uint8_t g_in[2 * MLKEM_SYMBYTES], k_r[2 * MLKEM_SYMBYTES], k_bar[MLKEM_SYMBYTES];
    uint8_t c_prime[EK_MLKEM768_CT_LEN];

    /* Line 5: m' = K-PKE.Decrypt(dk_PKE, c). */
    ek_mlkem_kpke_decrypt(g_in, dk_pke, ct);
    /* Line 6: (K', r') = G(m' || h). */
    memcpy(g_in + MLKEM_SYMBYTES, h, MLKEM_SYMBYTES);
    ek_sha3_512(k_r, g_in, sizeof(g_in));
    /* Line 7: K_bar = J(z || c). */
    ek_keccak j;
    ek_shake256_init(&j);
    ek_keccak_absorb(&j, z, MLKEM_SYMBYTES);
    ek_keccak_absorb(&j, ct, EK_MLKEM768_CT_LEN);
    ek_keccak_squeeze(&j, k_bar, sizeof(k_bar));
    /* Line 8: c' = K-PKE.Encrypt(ek_PKE, m', r'). */
    ek_mlkem_kpke_encrypt(c_prime, ek_pke, g_in, k_r + MLKEM_SYMBYTES);
    /* Lines 9-11: K' unless c != c', then K_bar; selected with a mask. */
    uint8_t mask = ct_differ_mask(ct, c_prime, EK_MLKEM768_CT_LEN);
    for (unsigned i = 0; i < MLKEM_SYMBYTES; i++)
        ss[i] = (uint8_t)(k_r[i] ^ (mask & (k_r[i] ^ k_bar[i])));

    ek_wipe(g_in, sizeof(g_in));
    ek_wipe(k_r, sizeof(k_r));
    ek_wipe(k_bar, sizeof(k_bar));
    ek_wipe(c_prime, sizeof(c_prime));
    ek_wipe(&j, sizeof(j));
    return EK_OK;
}
