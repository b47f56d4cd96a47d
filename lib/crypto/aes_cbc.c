/*
 * aes_cbc.c: AES-256-CBC with PKCS#7 padding over OpenSSL, for Signal v3
 * messages (encrypt-then-MAC: callers decrypt only MAC-verified input).
 * The padding is applied and checked here, in constant time, so OpenSSL's
 * own padding check (which branches on the pad byte) is never used.
 */
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include <enkrypt/ek_crypto.h>

/* Run raw CBC (no OpenSSL padding) over n bytes, n a multiple of 16. */
static int cbc_raw(uint8_t *out, int encrypt, const uint8_t key[32], const uint8_t iv[16],
                   const uint8_t *in, size_t n)
{
    if (n > INT_MAX)
        return EK_ERR_TOO_LARGE;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return EK_ERR_NOMEM;
    int len = 0, rc = EK_ERR_CRYPTO;
    if (EVP_CipherInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv, encrypt) == 1 &&
        EVP_CIPHER_CTX_set_padding(c, 0) == 1 && EVP_CipherUpdate(c, out, &len, in, (int)n) == 1 &&
        (size_t)len == n)
        rc = EK_OK;
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int ek_aes256_cbc_encrypt(uint8_t *ct, const uint8_t key[32], const uint8_t iv[EK_AES_CBC_BLOCK],
                          const void *pt, size_t pt_len)
{
    if (ct == NULL || key == NULL || iv == NULL || (pt == NULL && pt_len > 0))
        return EK_ERR_INVALID_ARG;
    if (pt_len > INT_MAX - EK_AES_CBC_BLOCK)
        return EK_ERR_TOO_LARGE;
    size_t ct_len = EK_AES256_CBC_CT_LEN(pt_len);
    uint8_t pad = (uint8_t)(ct_len - pt_len); /* RFC 5652 §6.3: 1..16 bytes of value n */
    if (pt_len > 0)
        memmove(ct, pt, pt_len);
    memset(ct + pt_len, pad, pad);
    int rc = cbc_raw(ct, 1, key, iv, ct, ct_len);
    if (rc != EK_OK)
        ek_wipe(ct, ct_len);
    return rc;
}

int ek_aes256_cbc_decrypt(uint8_t *pt, size_t *pt_len, const uint8_t key[32],
                          const uint8_t iv[EK_AES_CBC_BLOCK], const uint8_t *ct, size_t ct_len)
{
    if (pt == NULL || pt_len == NULL || key == NULL || iv == NULL || ct == NULL)
        return EK_ERR_INVALID_ARG;
    *pt_len = 0;
    if (ct_len == 0 || ct_len % EK_AES_CBC_BLOCK != 0)
        return EK_ERR_AUTH;
    int rc = cbc_raw(pt, 0, key, iv, ct, ct_len);
    if (rc != EK_OK) {
        ek_wipe(pt, ct_len);
        return rc;
    }
    /* Check the padding without a data-dependent branch: pad must be 1..16
     * and the last pad bytes must all equal it. */
    uint32_t pad = pt[ct_len - 1];
    uint32_t bad = ((pad - 1) >> 8) | ((16 - pad) >> 8); /* pad == 0 or pad > 16 */
    for (uint32_t i = 1; i <= EK_AES_CBC_BLOCK; i++) {
        uint32_t in_pad = (i - pad - 1) >> 31; /* 1 if i <= pad */
        bad |= (0u - in_pad) & (uint32_t)(pt[ct_len - i] ^ pad);
    }
    if (bad != 0) {
        ek_wipe(pt, ct_len);
        return EK_ERR_AUTH;
    }
    *pt_len = ct_len - pad;
    ek_wipe(pt + *pt_len, pad);
    return EK_OK;
}
