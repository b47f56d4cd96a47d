/* hkdf.c: HKDF-SHA256 (RFC 5869) and MLS's ExpandWithLabel (RFC 9420 §5.1). */
#include <string.h>

#include <enkrypt/ek_crypto.h>

void ek_hkdf_sha256_extract(uint8_t prk[EK_SHA256_LEN], const void *salt, size_t salt_len,
                            const void *ikm, size_t ikm_len)
{
    /* RFC 5869 §2.2: an absent salt is HashLen zeros; HMAC pads a short key
     * with zeros, so an empty key gives the same result. */
    ek_hmac_sha256(prk, salt, salt_len, ikm, ikm_len);
}

int ek_hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
                          const void *info, size_t info_len)
{
    if (out == NULL || out_len == 0 || prk == NULL || prk_len < EK_SHA256_LEN ||
        (info == NULL && info_len > 0))
        return EK_ERR_INVALID_ARG;
    if (out_len > EK_HKDF_SHA256_MAX_OUT)
        return EK_ERR_TOO_LARGE;
    /* RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) || info || i). */
    uint8_t t[EK_SHA256_LEN];
    size_t t_len = 0, done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        ek_hmac_sha256_ctx c;
        ek_hmac_sha256_init(&c, prk, prk_len);
        ek_hmac_sha256_update(&c, t, t_len);
        ek_hmac_sha256_update(&c, info, info_len);
        ek_hmac_sha256_update(&c, &i, 1);
        ek_hmac_sha256_final(&c, t);
        t_len = sizeof(t);
        size_t n = out_len - done < sizeof(t) ? out_len - done : sizeof(t);
        memcpy(out + done, t, n);
        done += n;
    }
    ek_wipe(t, sizeof(t));
    return EK_OK;
}

int ek_hkdf_sha256(uint8_t *out, size_t out_len, const void *salt, size_t salt_len, const void *ikm,
                   size_t ikm_len, const void *info, size_t info_len)
{
    uint8_t prk[EK_SHA256_LEN];
    ek_hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len);
    int rc = ek_hkdf_sha256_expand(out, out_len, prk, sizeof(prk), info, info_len);
    ek_wipe(prk, sizeof(prk));
    return rc;
}

/* RFC 9420 §2.1.2 variable-length integer, the length prefix of <V>. */
static void write_mls_varint(ek_writer *w, size_t v)
{
    if (v < (1u << 6)) {
        ek_write_u8(w, (uint8_t)v);
    } else if (v < (1u << 14)) {
        ek_write_u16(w, (uint16_t)(0x4000u | v));
    } else if (v < (1u << 30)) {
        ek_write_u32(w, (uint32_t)(0x80000000u | v));
    } else if (w->err == EK_OK) {
        w->err = EK_ERR_TOO_LARGE;
    }
}

int ek_hkdf_expand_with_label(uint8_t *out, size_t out_len, const uint8_t *secret,
                              size_t secret_len, const char *label, const void *context,
                              size_t context_len)
{
    static const char prefix[] = "MLS 1.0 ";
    if (label == NULL || (context == NULL && context_len > 0))
        return EK_ERR_INVALID_ARG;
    if (out_len > UINT16_MAX)
        return EK_ERR_TOO_LARGE;
    size_t label_len = strlen(label);
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    ek_write_u16(&w, (uint16_t)out_len);
    write_mls_varint(&w, sizeof(prefix) - 1 + label_len);
    ek_write_bytes(&w, prefix, sizeof(prefix) - 1);
    ek_write_bytes(&w, label, label_len);
    write_mls_varint(&w, context_len);
    ek_write_bytes(&w, context, context_len);
    int rc = w.err;
    if (rc == EK_OK)
        rc = ek_hkdf_sha256_expand(out, out_len, secret, secret_len, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}
