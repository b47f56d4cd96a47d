/*
 * suite.c: the MLS cipher suites we implement (RFC 9420 §5.1, §17.1), each
 * one descriptor of algorithms and lengths over ek_crypto.h. The rest of
 * lib/mls reaches a primitive only through a descriptor, so a suite (P-256,
 * suite 2, say) is added here and nowhere else: a descriptor with its
 * hash/MAC/KDF, its signature functions and its HPKE ids.
 */
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "sig_batch.h"

static void sha256_hash(uint8_t *out, const void *in, size_t len)
{
    ek_sha256(out, in, len);
}

static void hmac_sha256(uint8_t *out, const uint8_t *key, size_t key_len, const void *msg,
                        size_t len)
{
    ek_hmac_sha256(out, key, key_len, msg, len);
}

static void hkdf_sha256_extract(uint8_t *prk, const uint8_t *salt, size_t salt_len,
                                const uint8_t *ikm, size_t ikm_len)
{
    ek_hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len);
}

static int hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
                              const uint8_t *info, size_t info_len)
{
    return ek_hkdf_sha256_expand(out, out_len, prk, prk_len, info, info_len);
}

/* Ed25519 (RFC 8032): the private key is the 32-byte seed (§5.1.2). */
static int ed25519_sign(uint8_t *sig, size_t *sig_len, const uint8_t *priv, size_t priv_len,
                        const uint8_t *msg, size_t msg_len)
{
    if (priv_len != EK_ED25519_SEED_LEN)
        return EK_ERR_INVALID_ARG;
    int rc = ek_ed25519_sign(sig, priv, msg, msg_len);
    *sig_len = rc == EK_OK ? EK_ED25519_SIG_LEN : 0;
    return rc;
}

static int ed25519_verify(const uint8_t *sig, size_t sig_len, const uint8_t *pub, size_t pub_len,
                          const uint8_t *msg, size_t msg_len)
{
    if (pub_len != EK_ED25519_PUBLIC_LEN)
        return EK_ERR_AUTH;
    return ek_ed25519_verify(sig, sig_len, pub, msg, msg_len);
}

static int ed25519_public(uint8_t *pub, const uint8_t *priv, size_t priv_len)
{
    if (priv_len != EK_ED25519_SEED_LEN)
        return EK_ERR_INVALID_ARG;
    return ek_ed25519_public(pub, priv);
}

/* MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 (suite 1, mandatory). */
static const ek_mls_suite suite_1 = {
    .id = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
    .name = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
    .hash_len = EK_SHA256_LEN,
    .aead_key_len = 16,
    .aead_nonce_len = EK_AEAD_NONCE_LEN,
    .aead = EK_AEAD_AES128GCM,
    .hpke = {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256, EK_HPKE_AEAD_AES128GCM},
    .kem_public_len = EK_HPKE_PK_LEN,
    .kem_private_len = EK_HPKE_SK_LEN,
    .kem_output_len = EK_HPKE_ENC_LEN,
    .sig_public_len = EK_ED25519_PUBLIC_LEN,
    .sig_private_len = EK_ED25519_SEED_LEN,
    .sig_max_len = EK_ED25519_SIG_LEN,
    .hash = sha256_hash,
    .mac = hmac_sha256,
    .kdf_extract = hkdf_sha256_extract,
    .kdf_expand = hkdf_sha256_expand,
    .sign = ed25519_sign,
    .verify = ed25519_verify,
    .sig_public = ed25519_public,
    .verify_batch = ek_mls_ed25519_verify_batch,
};

/* MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 (suite 3). */
static const ek_mls_suite suite_3 = {
    .id = EK_MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519,
    .name = "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
    .hash_len = EK_SHA256_LEN,
    .aead_key_len = 32,
    .aead_nonce_len = EK_AEAD_NONCE_LEN,
    .aead = EK_AEAD_CHACHA20POLY1305,
    .hpke = {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256, EK_HPKE_AEAD_CHACHA20POLY1305},
    .kem_public_len = EK_HPKE_PK_LEN,
    .kem_private_len = EK_HPKE_SK_LEN,
    .kem_output_len = EK_HPKE_ENC_LEN,
    .sig_public_len = EK_ED25519_PUBLIC_LEN,
    .sig_private_len = EK_ED25519_SEED_LEN,
    .sig_max_len = EK_ED25519_SIG_LEN,
    .hash = sha256_hash,
    .mac = hmac_sha256,
    .kdf_extract = hkdf_sha256_extract,
    .kdf_expand = hkdf_sha256_expand,
    .sign = ed25519_sign,
    .verify = ed25519_verify,
    .sig_public = ed25519_public,
    .verify_batch = ek_mls_ed25519_verify_batch,
};

const ek_mls_suite *ek_mls_suite_get(uint16_t id)
{
    switch (id) {
    case EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519: return &suite_1;
    case EK_MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519: return &suite_3;
    default: return NULL;
    }
}
