/*
 * aes_cbc.c: AES-256-CBC with PKCS#7 padding over OpenSSL, for Signal v3
 * messages (encrypt-then-MAC: callers decrypt only MAC-verified input).
 * The padding is applied and checked here, in constant time, so OpenSSL's
 * own padding check (which branches on the pad byte) is never used.
 *
 * A context keeps the fetched algorithm and the EVP context between calls:
 * a one-shot EVP call looks the algorithm up by name under a lock, which
 * costs more than decrypting a 1 KiB message. After every call the EVP
 * context is reset, which wipes the expanded key.
 */
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include <enkrypt/ek_crypto.h>

struct ek_aes256_cbc_ctx {
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *evp;
};

int ek_aes256_cbc_ctx_new(ek_aes256_cbc_ctx **out)
{
    if (out == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    ek_aes256_cbc_ctx *c = OPENSSL_zalloc(sizeof(*c));
    if (c == NULL)
        return EK_ERR_NOMEM;
    c->cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    c->evp = EVP_CIPHER_CTX_new();
    if (c->cipher == NULL || c->evp == NULL) {
        ek_aes256_cbc_ctx_free(c);
        return EK_ERR_NOMEM;
    }
    *out = c;
    return EK_OK;
}

void ek_aes256_cbc_ctx_free(ek_aes256_cbc_ctx *c)
{
    if (c == NULL)
        return;
    EVP_CIPHER_CTX_free(c->evp); /* cleanses the key schedule */
    EVP_CIPHER_free(c->cipher);
    OPENSSL_free(c);
}

/* Run raw CBC (no OpenSSL padding) over n bytes, n a multiple of 16. */
static int cbc_raw(ek_aes256_cbc_ctx *c, uint8_t *out, int encrypt, const uint8_t key[32],
                   const uint8_t iv[16], const uint8_t *in, size_t n)
{
    if (n > INT_MAX)
        return EK_ERR_TOO_LARGE;
    int len = 0, rc = EK_ERR_CRYPTO;
    if (EVP_CipherInit_ex2(c->evp, c->cipher, key, iv, encrypt, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(c->evp, 0) == 1 &&
        EVP_CipherUpdate(c->evp, out, &len, in, (int)n) == 1 && (size_t)len == n)
        rc = EK_OK;
    /* Wipes the expanded key; the context stays usable. */
    EVP_CIPHER_CTX_reset(c->evp);
    return rc;
}

int ek_aes256_cbc_encrypt_with(ek_aes256_cbc_ctx *c, uint8_t *ct, const uint8_t key[32],
                               const uint8_t iv[EK_AES_CBC_BLOCK], const void *pt, size_t pt_len)
{
    if (c == NULL || ct == NULL || key == NULL || iv == NULL || (pt == NULL && pt_len > 0))
        return EK_ERR_INVALID_ARG;
    if (pt_len > INT_MAX - EK_AES_CBC_BLOCK)
        return EK_ERR_TOO_LARGE;
    size_t ct_len = EK_AES256_CBC_CT_LEN(pt_len);
    uint8_t pad = (uint8_t)(ct_len - pt_len); /* RFC 5652 §6.3: 1..16 bytes of value n */
    if (pt_len > 0)
        memmove(ct, pt, pt_len);
    memset(ct + pt_len, pad, pad);
    int rc = cbc_raw(c, ct, 1, key, iv, ct, ct_len);
    if (rc != EK_OK)
        ek_wipe(ct, ct_len);
    return rc;
}

int ek_aes256_cbc_decrypt_with(ek_aes256_cbc_ctx *c, uint8_t *pt, size_t *pt_len,
                               const uint8_t key[32], const uint8_t iv[EK_AES_CBC_BLOCK],
                               const uint8_t *ct, size_t ct_len)
{
    if (c == NULL || pt == NULL || pt_len == NULL || key == NULL || iv == NULL || ct == NULL)
        return EK_ERR_INVALID_ARG;
    *pt_len = 0;
    if (ct_len == 0 || ct_len % EK_AES_CBC_BLOCK != 0)
        return EK_ERR_AUTH;
    int rc = cbc_raw(c, pt, 0, key, iv, ct, ct_len);
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

int ek_aes256_cbc_encrypt(uint8_t *ct, const uint8_t key[32], const uint8_t iv[EK_AES_CBC_BLOCK],
                          const void *pt, size_t pt_len)
{
    ek_aes256_cbc_ctx *c;
    int rc = ek_aes256_cbc_ctx_new(&c);
    if (rc == EK_OK)
        rc = ek_aes256_cbc_encrypt_with(c, ct, key, iv, pt, pt_len);
    ek_aes256_cbc_ctx_free(c);
    return rc;
}

int ek_aes256_cbc_decrypt(uint8_t *pt, size_t *pt_len, const uint8_t key[32],
                          const uint8_t iv[EK_AES_CBC_BLOCK], const uint8_t *ct, size_t ct_len)
{
    if (pt_len != NULL)
        *pt_len = 0;
    ek_aes256_cbc_ctx *c;
    int rc = ek_aes256_cbc_ctx_new(&c);
    if (rc == EK_OK)
        rc = ek_aes256_cbc_decrypt_with(c, pt, pt_len, key, iv, ct, ct_len);
    ek_aes256_cbc_ctx_free(c);
    return rc;
}
