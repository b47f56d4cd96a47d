/*
 * dhkem.c: DHKEM(X25519, HKDF-SHA256), the KEM of our HPKE suites
 * (RFC 9180 §4.1, §7.1): DeriveKeyPair, GenerateKeyPair, Encap/Decap and
 * AuthEncap/AuthDecap.
 *
 * For X25519, SerializePublicKey and DeserializePublicKey are the identity
 * (§7.1.1), so enc is the ephemeral public key itself. The one validation
 * X25519 needs (§7.1.4) is that no DH output is all zero, which is what a
 * small-order public key gives; ek_x25519 refuses that with
 * EK_ERR_WEAK_KEY, and so does every step here that calls it.
 */
#include <string.h>

#include "crypto/hpke/hpke_internal.h"

#define NDH EK_X25519_LEN /* §4.1: Ndh = 32 for X25519 */

/* suite_id = concat("KEM", I2OSP(kem_id, 2)) (§4.1) */
static const uint8_t kem_suite_id[EK_HPKE_KEM_SUITE_ID_LEN] = {'K', 'E', 'M', 0x00, 0x20};

/* ExtractAndExpand(dh, kem_context) (§4.1). */
static int extract_and_expand(uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t *dh,
                              size_t dh_len, const uint8_t *kem_context, size_t kem_context_len)
{
    uint8_t eae_prk[EK_HPKE_NH];
    int rc = ek_hpke_labeled_extract(eae_prk, kem_suite_id, sizeof(kem_suite_id), NULL, 0,
                                     "eae_prk", dh, dh_len);
    if (rc == EK_OK)
        rc = ek_hpke_labeled_expand(shared_secret, EK_HPKE_NSECRET, eae_prk, kem_suite_id,
                                    sizeof(kem_suite_id), "shared_secret", kem_context,
                                    kem_context_len);
    ek_wipe(eae_prk, sizeof(eae_prk));
    if (rc != EK_OK)
        ek_wipe(shared_secret, EK_HPKE_NSECRET);
    return rc;
}

/* DeriveKeyPair(ikm) for X25519 (§7.1.3). sk is the expanded string as is:
 * X25519 clamps it on every use (RFC 7748 §5), and the official vectors
 * (skRm, skEm, skSm) hold it unclamped. */
static int derive_keypair(uint8_t pk[EK_HPKE_PK_LEN], uint8_t sk[EK_HPKE_SK_LEN],
                          const uint8_t *ikm, size_t ikm_len)
{
    uint8_t dkp_prk[EK_HPKE_NH];
    int rc = ek_hpke_labeled_extract(dkp_prk, kem_suite_id, sizeof(kem_suite_id), NULL, 0,
                                     "dkp_prk", ikm, ikm_len);
    if (rc == EK_OK)
        rc = ek_hpke_labeled_expand(sk, EK_HPKE_SK_LEN, dkp_prk, kem_suite_id, sizeof(kem_suite_id),
                                    "sk", NULL, 0);
    if (rc == EK_OK)
        rc = ek_x25519_public(pk, sk);
    ek_wipe(dkp_prk, sizeof(dkp_prk));
    if (rc != EK_OK) {
        ek_wipe(sk, EK_HPKE_SK_LEN);
        ek_wipe(pk, EK_HPKE_PK_LEN);
    }
    return rc;
}

int ek_hpke_derive_keypair(uint8_t pk[EK_HPKE_PK_LEN], uint8_t sk[EK_HPKE_SK_LEN],
                           ek_hpke_suite suite, const uint8_t *ikm, size_t ikm_len)
{
    if (pk == NULL || sk == NULL)
        return EK_ERR_INVALID_ARG;
    int rc = ek_hpke_check_suite(suite);
    /* §7.1.3: ikm SHOULD be at least Nsk bytes; we require it, since a
     * shorter ikm can only mean a caller mistake in our protocols. */
    if (rc == EK_OK && (ikm == NULL || ikm_len < EK_HPKE_SK_LEN))
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK && (uint64_t)ikm_len > EK_HPKE_MAX_IKM)
        rc = EK_ERR_TOO_LARGE;
    if (rc == EK_OK)
        return derive_keypair(pk, sk, ikm, ikm_len);
    ek_wipe(sk, EK_HPKE_SK_LEN);
    ek_wipe(pk, EK_HPKE_PK_LEN);
    return rc;
}

int ek_hpke_generate_keypair(uint8_t pk[EK_HPKE_PK_LEN], uint8_t sk[EK_HPKE_SK_LEN],
                             ek_hpke_suite suite, const ek_rng *rng)
{
    if (pk == NULL || sk == NULL)
        return EK_ERR_INVALID_ARG;
    /* §4: GenerateKeyPair() can be DeriveKeyPair(random(Nsk)). */
    uint8_t ikm[EK_HPKE_SK_LEN];
    int rc = ek_hpke_check_suite(suite);
    if (rc == EK_OK)
        rc = ek_random(rng, ikm, sizeof(ikm));
    if (rc == EK_OK)
        rc = derive_keypair(pk, sk, ikm, sizeof(ikm));
    ek_wipe(ikm, sizeof(ikm));
    if (rc != EK_OK) {
        ek_wipe(sk, EK_HPKE_SK_LEN);
        ek_wipe(pk, EK_HPKE_PK_LEN);
    }
    return rc;
}

/* Encap(pkR) (§4.1): dh = DH(skE, pkR); kem_context = enc || pkRm. The
 * sender validates pkR (§7.1.4) through DH(skE, pkR). */
static int encap(uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t pk_r[EK_HPKE_PK_LEN],
                 const uint8_t sk_e[EK_HPKE_SK_LEN], const uint8_t pk_e[EK_HPKE_PK_LEN])
{
    uint8_t dh[NDH];
    uint8_t kem_context[EK_HPKE_ENC_LEN + EK_HPKE_PK_LEN];
    memcpy(kem_context, pk_e, EK_HPKE_ENC_LEN); /* enc = SerializePublicKey(pkE) */
    memcpy(kem_context + EK_HPKE_ENC_LEN, pk_r, EK_HPKE_PK_LEN);
    int rc = ek_x25519(dh, sk_e, pk_r);
    if (rc == EK_OK)
        rc = extract_and_expand(shared_secret, dh, sizeof(dh), kem_context, sizeof(kem_context));
    ek_wipe(dh, sizeof(dh));
    return rc;
}

/* AuthEncap(pkR, skS) (§4.1): dh = DH(skE, pkR) || DH(skS, pkR);
 * kem_context = enc || pkRm || pk(skS). */
static int auth_encap(uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t pk_r[EK_HPKE_PK_LEN],
                      const uint8_t sk_s[EK_HPKE_SK_LEN], const uint8_t sk_e[EK_HPKE_SK_LEN],
                      const uint8_t pk_e[EK_HPKE_PK_LEN])
{
    uint8_t dh[2 * NDH];
    uint8_t kem_context[EK_HPKE_ENC_LEN + 2 * EK_HPKE_PK_LEN];
    memcpy(kem_context, pk_e, EK_HPKE_ENC_LEN);
    memcpy(kem_context + EK_HPKE_ENC_LEN, pk_r, EK_HPKE_PK_LEN);
    int rc = ek_x25519(dh, sk_e, pk_r);
    if (rc == EK_OK)
        rc = ek_x25519(dh + NDH, sk_s, pk_r);
    if (rc == EK_OK)
        rc = ek_x25519_public(kem_context + EK_HPKE_ENC_LEN + EK_HPKE_PK_LEN, sk_s);
    if (rc == EK_OK)
        rc = extract_and_expand(shared_secret, dh, sizeof(dh), kem_context, sizeof(kem_context));
    ek_wipe(dh, sizeof(dh));
    return rc;
}

/* Decap(enc, skR) (§4.1): dh = DH(skR, pkE); kem_context = enc || pk(skR).
 * The recipient validates pkE (§7.1.4) through DH(skR, pkE). */
static int decap(uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t enc[EK_HPKE_ENC_LEN],
                 const uint8_t sk_r[EK_HPKE_SK_LEN])
{
    uint8_t dh[NDH];
    uint8_t kem_context[EK_HPKE_ENC_LEN + EK_HPKE_PK_LEN];
    memcpy(kem_context, enc, EK_HPKE_ENC_LEN); /* pkE = DeserializePublicKey(enc) */
    int rc = ek_x25519(dh, sk_r, enc);
    if (rc == EK_OK)
        rc = ek_x25519_public(kem_context + EK_HPKE_ENC_LEN, sk_r);
    if (rc == EK_OK)
        rc = extract_and_expand(shared_secret, dh, sizeof(dh), kem_context, sizeof(kem_context));
    ek_wipe(dh, sizeof(dh));
    return rc;
}

/* AuthDecap(enc, skR, pkS) (§4.1): dh = DH(skR, pkE) || DH(skR, pkS);
 * kem_context = enc || pk(skR) || pkSm. pkS is validated like pkE. */
static int auth_decap(uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t enc[EK_HPKE_ENC_LEN],
                      const uint8_t sk_r[EK_HPKE_SK_LEN], const uint8_t pk_s[EK_HPKE_PK_LEN])
{
    uint8_t dh[2 * NDH];
    uint8_t kem_context[EK_HPKE_ENC_LEN + 2 * EK_HPKE_PK_LEN];
    memcpy(kem_context, enc, EK_HPKE_ENC_LEN);
    memcpy(kem_context + EK_HPKE_ENC_LEN + EK_HPKE_PK_LEN, pk_s, EK_HPKE_PK_LEN);
    int rc = ek_x25519(dh, sk_r, enc);
    if (rc == EK_OK)
        rc = ek_x25519(dh + NDH, sk_r, pk_s);
    if (rc == EK_OK)
        rc = ek_x25519_public(kem_context + EK_HPKE_ENC_LEN, sk_r);
    if (rc == EK_OK)
        rc = extract_and_expand(shared_secret, dh, sizeof(dh), kem_context, sizeof(kem_context));
    ek_wipe(dh, sizeof(dh));
    return rc;
}

int ek_hpke_dhkem_encap(uint8_t shared_secret[EK_HPKE_NSECRET], uint8_t enc[EK_HPKE_ENC_LEN],
                        const uint8_t pk_r[EK_HPKE_PK_LEN], const uint8_t sk_e[EK_HPKE_SK_LEN],
                        const uint8_t pk_e[EK_HPKE_PK_LEN], const uint8_t *sk_s)
{
    int rc = sk_s == NULL ? encap(shared_secret, pk_r, sk_e, pk_e)
                          : auth_encap(shared_secret, pk_r, sk_s, sk_e, pk_e);
    if (rc == EK_OK) {
        memcpy(enc, pk_e, EK_HPKE_ENC_LEN);
    } else {
        ek_wipe(shared_secret, EK_HPKE_NSECRET);
        ek_wipe(enc, EK_HPKE_ENC_LEN);
    }
    return rc;
}

int ek_hpke_dhkem_decap(uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t enc[EK_HPKE_ENC_LEN],
                        const uint8_t sk_r[EK_HPKE_SK_LEN], const uint8_t *pk_s)
{
    int rc =
        pk_s == NULL ? decap(shared_secret, enc, sk_r) : auth_decap(shared_secret, enc, sk_r, pk_s);
    if (rc != EK_OK)
        ek_wipe(shared_secret, EK_HPKE_NSECRET);
    return rc;
}
