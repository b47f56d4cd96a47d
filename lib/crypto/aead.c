/*
 * aead.c: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 (RFC 5116 shape)
 * over OpenSSL's EVP interface: 12-byte nonces, 16-byte tags, one shot.
 */
#include <limits.h>

#include <openssl/evp.h>

#include <enkrypt/ek_crypto.h>

size_t ek_aead_key_len(ek_aead_alg alg)
{
    switch (alg) {
    case EK_AEAD_AES128GCM: return 16;
    case EK_AEAD_AES256GCM: /* fall through: both take 256-bit keys */
    case EK_AEAD_CHACHA20POLY1305: return 32;
    }
    return 0;
}

static const EVP_CIPHER *cipher_of(ek_aead_alg alg)
{
    switch (alg) {
    case EK_AEAD_AES128GCM: return EVP_aes_128_gcm();
    case EK_AEAD_AES256GCM: return EVP_aes_256_gcm();
    case EK_AEAD_CHACHA20POLY1305: return EVP_chacha20_poly1305();
    }
    return NULL;
}

/* The checks shared by seal and open; EK_OK when the call is well formed. */
static int check_args(ek_aead_alg alg, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                      size_t nonce_len, const void *aad, size_t aad_len, const void *in,
                      size_t in_len)
{
    size_t want = ek_aead_key_len(alg);
    if (want == 0)
        return EK_ERR_UNSUPPORTED;
    if (key == NULL || key_len != want || nonce == NULL || nonce_len != EK_AEAD_NONCE_LEN ||
        (aad == NULL && aad_len > 0) || (in == NULL && in_len > 0))
        return EK_ERR_INVALID_ARG;
    /* EVP takes int lengths. */
    if (aad_len > INT_MAX || in_len > INT_MAX - EK_AEAD_TAG_LEN)
        return EK_ERR_TOO_LARGE;
    return EK_OK;
}

int ek_aead_seal(uint8_t *ct, ek_aead_alg alg, const uint8_t *key, size_t key_len,
                 const uint8_t *nonce, size_t nonce_len, const void *aad, size_t aad_len,
                 const void *pt, size_t pt_len)
{
    int rc = check_args(alg, key, key_len, nonce, nonce_len, aad, aad_len, pt, pt_len);
    if (rc != EK_OK)
        return rc;
    if (ct == NULL)
        return EK_ERR_INVALID_ARG;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return EK_ERR_NOMEM;
    int n = 0;
    rc = EK_ERR_CRYPTO;
    if (EVP_EncryptInit_ex(c, cipher_of(alg), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, EK_AEAD_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1)
        goto out;
    if (aad_len > 0 && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        goto out;
    if (pt_len > 0 && EVP_EncryptUpdate(c, ct, &n, pt, (int)pt_len) != 1)
        goto out;
    if (EVP_EncryptFinal_ex(c, ct + pt_len, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, EK_AEAD_TAG_LEN, ct + pt_len) != 1)
        goto out;
    rc = EK_OK;
out:
    EVP_CIPHER_CTX_free(c);
    if (rc != EK_OK)
        ek_wipe(ct, pt_len + EK_AEAD_TAG_LEN);
    return rc;
}

int ek_aead_open(uint8_t *pt, ek_aead_alg alg, const uint8_t *key, size_t key_len,
                 const uint8_t *nonce, size_t nonce_len, const void *aad, size_t aad_len,
                 const uint8_t *ct, size_t ct_len)
{
    if (ct == NULL)
        return EK_ERR_INVALID_ARG;
    size_t pt_len = ct_len >= EK_AEAD_TAG_LEN ? ct_len - EK_AEAD_TAG_LEN : 0;
    int rc = check_args(alg, key, key_len, nonce, nonce_len, aad, aad_len, ct, pt_len);
    if (rc != EK_OK)
        return rc;
    /* Too short to hold a tag: it cannot be authentic. */
    if (ct_len < EK_AEAD_TAG_LEN)
        return EK_ERR_AUTH;
    if (pt == NULL && pt_len > 0)
        return EK_ERR_INVALID_ARG;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return EK_ERR_NOMEM;
    /* The tag is copied out first: with pt == ct the decryption overwrites
     * the ciphertext, but never the tag that follows it. */
    uint8_t tag[EK_AEAD_TAG_LEN];
    for (int i = 0; i < EK_AEAD_TAG_LEN; i++)
        tag[i] = ct[pt_len + (size_t)i];
    int n = 0;
    rc = EK_ERR_CRYPTO;
    if (EVP_DecryptInit_ex(c, cipher_of(alg), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, EK_AEAD_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, EK_AEAD_TAG_LEN, tag) != 1)
        goto out;
    if (aad_len > 0 && EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        goto out;
    if (pt_len > 0 && EVP_DecryptUpdate(c, pt, &n, ct, (int)pt_len) != 1)
        goto out;
    /* Final checks the tag in constant time; failure means forged or
     * corrupted input, so no byte of pt may survive. */
    rc = EVP_DecryptFinal_ex(c, pt != NULL ? pt + pt_len : tag, &n) == 1 ? EK_OK : EK_ERR_AUTH;
out:
    EVP_CIPHER_CTX_free(c);
    if (rc != EK_OK && pt != NULL)
        ek_wipe(pt, pt_len);
    return rc;
}
