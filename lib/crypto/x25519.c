/* x25519.c: X25519 (RFC 7748) over OpenSSL, refusing the all-zero output. */
#include <openssl/evp.h>

#include <enkrypt/ek_crypto.h>

int ek_x25519_public(uint8_t pk[EK_X25519_LEN], const uint8_t sk[EK_X25519_LEN])
{
    if (pk == NULL || sk == NULL)
        return EK_ERR_INVALID_ARG;
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, EK_X25519_LEN);
    if (key == NULL)
        return EK_ERR_CRYPTO;
    size_t len = EK_X25519_LEN;
    int ok = EVP_PKEY_get_raw_public_key(key, pk, &len) == 1 && len == EK_X25519_LEN;
    EVP_PKEY_free(key);
    if (!ok) {
        ek_wipe(pk, EK_X25519_LEN);
        return EK_ERR_CRYPTO;
    }
    return EK_OK;
}

int ek_x25519_keypair(uint8_t pk[EK_X25519_LEN], uint8_t sk[EK_X25519_LEN], const ek_rng *rng)
{
    if (pk == NULL || sk == NULL)
        return EK_ERR_INVALID_ARG;
    int rc = ek_random(rng, sk, EK_X25519_LEN);
    if (rc == EK_OK)
        rc = ek_x25519_public(pk, sk);
    if (rc != EK_OK)
        ek_wipe(sk, EK_X25519_LEN);
    return rc;
}

int ek_x25519(uint8_t shared[EK_X25519_LEN], const uint8_t sk[EK_X25519_LEN],
              const uint8_t pk[EK_X25519_LEN])
{
    if (shared == NULL || sk == NULL || pk == NULL)
        return EK_ERR_INVALID_ARG;
    int rc = EK_ERR_CRYPTO;
    EVP_PKEY *mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, EK_X25519_LEN);
    EVP_PKEY *theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pk, EK_X25519_LEN);
    EVP_PKEY_CTX *ctx = mine != NULL ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
    size_t len = EK_X25519_LEN;
    if (ctx == NULL || theirs == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer(ctx, theirs) != 1)
        goto out;
    /* OpenSSL itself fails the derivation on an all-zero result; we check
     * again rather than depend on that. */
    if (EVP_PKEY_derive(ctx, shared, &len) != 1 || len != EK_X25519_LEN ||
        ek_ct_is_zero(shared, EK_X25519_LEN)) {
        rc = EK_ERR_WEAK_KEY;
        goto out;
    }
    rc = EK_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(mine);
    if (rc != EK_OK)
        ek_wipe(shared, EK_X25519_LEN);
    return rc;
}
