/* argon2id.c: Argon2id v1.3 (RFC 9106) over libsodium, one lane. */
#include <sodium.h>

#include <enkrypt/ek_crypto.h>

int ek_argon2id(uint8_t *out, size_t out_len, const void *pass, size_t pass_len,
                const uint8_t salt[EK_ARGON2ID_SALT_LEN], uint32_t t_cost, uint32_t m_cost_kib)
{
    if (out == NULL || salt == NULL || (pass == NULL && pass_len > 0))
        return EK_ERR_INVALID_ARG;
    if (out_len < EK_ARGON2ID_MIN_OUT || t_cost < 1 || m_cost_kib < 8 ||
        pass_len > crypto_pwhash_PASSWD_MAX)
        return EK_ERR_INVALID_ARG;
    if (sodium_init() < 0)
        return EK_ERR_CRYPTO;
    /* A fixed empty password pointer keeps libsodium happy with pass_len 0. */
    static const char empty[1] = {0};
    if (crypto_pwhash(out, out_len, pass_len > 0 ? pass : empty, pass_len, salt, t_cost,
                      (size_t)m_cost_kib * 1024u, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        ek_wipe(out, out_len);
        return EK_ERR_NOMEM; /* libsodium fails only when it cannot allocate */
    }
    return EK_OK;
}
