/*
 * ed25519.c: Ed25519 (RFC 8032) over libsodium, whose verifier is strict:
 * it rejects S >= L, a non-canonical or small-order public key, and a
 * small-order R (the checks Wycheproof expects of a careful verifier).
 */
#include <sodium.h>

#include <enkrypt/ek_crypto.h>

int ek_ed25519_public(uint8_t pk[EK_ED25519_PUBLIC_LEN], const uint8_t seed[EK_ED25519_SEED_LEN])
{
    if (pk == NULL || seed == NULL)
        return EK_ERR_INVALID_ARG;
    if (sodium_init() < 0)
        return EK_ERR_CRYPTO;
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    int rc = crypto_sign_seed_keypair(pk, sk, seed) == 0 ? EK_OK : EK_ERR_CRYPTO;
    ek_wipe(sk, sizeof(sk));
    return rc;
}

int ek_ed25519_keypair(uint8_t pk[EK_ED25519_PUBLIC_LEN], uint8_t seed[EK_ED25519_SEED_LEN],
                       const ek_rng *rng)
{
    if (pk == NULL || seed == NULL)
        return EK_ERR_INVALID_ARG;
    int rc = ek_random(rng, seed, EK_ED25519_SEED_LEN);
    if (rc == EK_OK)
        rc = ek_ed25519_public(pk, seed);
    if (rc != EK_OK)
        ek_wipe(seed, EK_ED25519_SEED_LEN);
    return rc;
}

int ek_ed25519_sign(uint8_t sig[EK_ED25519_SIG_LEN], const uint8_t seed[EK_ED25519_SEED_LEN],
                    const void *msg, size_t msg_len)
{
    if (sig == NULL || seed == NULL || (msg == NULL && msg_len > 0))
        return EK_ERR_INVALID_ARG;
    if (sodium_init() < 0)
        return EK_ERR_CRYPTO;
    /* The expanded key is seed || public key, derived here from the seed. */
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    int rc = EK_ERR_CRYPTO;
    if (crypto_sign_seed_keypair(pk, sk, seed) == 0 &&
        crypto_sign_detached(sig, NULL, msg, msg_len, sk) == 0)
        rc = EK_OK;
    ek_wipe(sk, sizeof(sk));
    if (rc != EK_OK)
        ek_wipe(sig, EK_ED25519_SIG_LEN);
    return rc;
}

int ek_ed25519_key_from_seed(ek_ed25519_key *k, const uint8_t seed[EK_ED25519_SEED_LEN])
{
    if (k == NULL || seed == NULL)
        return EK_ERR_INVALID_ARG;
    if (sodium_init() < 0)
        return EK_ERR_CRYPTO;
    _Static_assert(sizeof(k->expanded) == crypto_sign_SECRETKEYBYTES, "libsodium key layout");
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    if (crypto_sign_seed_keypair(pk, k->expanded, seed) != 0) {
        ek_wipe(k, sizeof(*k));
        return EK_ERR_CRYPTO;
    }
    return EK_OK;
}

const uint8_t *ek_ed25519_key_public(const ek_ed25519_key *k)
{
    return k->expanded + EK_ED25519_SEED_LEN;
}

int ek_ed25519_sign_with(uint8_t sig[EK_ED25519_SIG_LEN], const ek_ed25519_key *k, const void *msg,
                         size_t msg_len)
{
    if (sig == NULL || k == NULL || (msg == NULL && msg_len > 0))
        return EK_ERR_INVALID_ARG;
    if (sodium_init() < 0)
        return EK_ERR_CRYPTO;
    if (crypto_sign_detached(sig, NULL, msg, msg_len, k->expanded) != 0) {
        ek_wipe(sig, EK_ED25519_SIG_LEN);
        return EK_ERR_CRYPTO;
    }
    return EK_OK;
}

int ek_ed25519_verify(const uint8_t *sig, size_t sig_len, const uint8_t pk[EK_ED25519_PUBLIC_LEN],
                      const void *msg, size_t msg_len)
{
    if ((sig == NULL && sig_len > 0) || pk == NULL || (msg == NULL && msg_len > 0))
        return EK_ERR_INVALID_ARG;
    if (sig_len != EK_ED25519_SIG_LEN)
        return EK_ERR_AUTH;
    if (sodium_init() < 0)
        return EK_ERR_CRYPTO;
    return crypto_sign_verify_detached(sig, msg, msg_len, pk) == 0 ? EK_OK : EK_ERR_AUTH;
}
