/*
 * kem.c: the public-key operations of MLS over HPKE (RFC 9180):
 * EncryptWithLabel / DecryptWithLabel (RFC 9420 §5.1.3, base mode,
 * info = EncryptContext, empty aad) and KEM.DeriveKeyPair (§4, §8).
 */
#include <string.h>

#include <enkrypt/ek_hpke.h>

#include "codec.h"

/* RFC 9420 §5.1.3: EncryptContext = V("MLS 1.0 " + Label) || V(Context). */
static int write_encrypt_context(ek_writer *w, const char *label, const void *context,
                                 size_t context_len)
{
    static const char prefix[] = "MLS 1.0 ";
    size_t label_len = strlen(label);
    (void)ek_mls_write_varint(w, sizeof(prefix) - 1 + label_len);
    (void)ek_write_bytes(w, prefix, sizeof(prefix) - 1);
    (void)ek_write_bytes(w, label, label_len);
    return ek_mls_write_opaque(w, context, context_len);
}

/* The lengths the ek_hpke API fixes must be the suite's. */
static int suite_fits_hpke(const ek_mls_suite *s)
{
    return s->kem_public_len == EK_HPKE_PK_LEN && s->kem_private_len == EK_HPKE_SK_LEN &&
           s->kem_output_len == EK_HPKE_ENC_LEN;
}

int ek_mls_encrypt_with_label_alloc(uint8_t *kem_output, uint8_t *ciphertext, const ek_mls_suite *s,
                                    const uint8_t *pub, size_t pub_len, const char *label,
                                    const void *context, size_t context_len, const void *pt,
                                    size_t pt_len, const ek_rng *rng, const ek_allocator *alloc)
{
    if (s == NULL || kem_output == NULL || ciphertext == NULL || pub == NULL || label == NULL ||
        (context == NULL && context_len > 0) || (pt == NULL && pt_len > 0))
        return EK_ERR_INVALID_ARG;
    if (!suite_fits_hpke(s))
        return EK_ERR_UNSUPPORTED;
    if (pub_len != s->kem_public_len)
        return EK_ERR_BAD_KEY;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    int rc = write_encrypt_context(&w, label, context, context_len);
    if (rc == EK_OK)
        rc = ek_hpke_seal_once(kem_output, ciphertext, s->hpke, pub, w.buf, w.len, NULL, 0, pt,
                               pt_len, NULL, rng);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_encrypt_with_label(uint8_t *kem_output, uint8_t *ciphertext, const ek_mls_suite *s,
                              const uint8_t *pub, size_t pub_len, const char *label,
                              const void *context, size_t context_len, const void *pt,
                              size_t pt_len, const ek_rng *rng)
{
    return ek_mls_encrypt_with_label_alloc(kem_output, ciphertext, s, pub, pub_len, label, context,
                                           context_len, pt, pt_len, rng, NULL);
}

int ek_mls_decrypt_with_label_alloc(uint8_t *pt, const ek_mls_suite *s, const uint8_t *priv,
                                    size_t priv_len, const char *label, const void *context,
                                    size_t context_len, const uint8_t *kem_output,
                                    size_t kem_output_len, const uint8_t *ct, size_t ct_len,
                                    const ek_allocator *alloc)
{
    if (s == NULL || priv == NULL || label == NULL || (context == NULL && context_len > 0) ||
        kem_output == NULL || ct == NULL)
        return EK_ERR_INVALID_ARG;
    if (!suite_fits_hpke(s))
        return EK_ERR_UNSUPPORTED;
    if (priv_len != s->kem_private_len)
        return EK_ERR_BAD_KEY;
    if (kem_output_len != s->kem_output_len || ct_len < EK_HPKE_TAG_LEN)
        return EK_ERR_AUTH;
    if (pt == NULL && ct_len > EK_HPKE_TAG_LEN)
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    int rc = write_encrypt_context(&w, label, context, context_len);
    if (rc == EK_OK)
        rc = ek_hpke_open_once(pt, s->hpke, kem_output, priv, w.buf, w.len, NULL, 0, ct, ct_len,
                               NULL);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_decrypt_with_label(uint8_t *pt, const ek_mls_suite *s, const uint8_t *priv,
                              size_t priv_len, const char *label, const void *context,
                              size_t context_len, const uint8_t *kem_output, size_t kem_output_len,
                              const uint8_t *ct, size_t ct_len)
{
    return ek_mls_decrypt_with_label_alloc(pt, s, priv, priv_len, label, context, context_len,
                                           kem_output, kem_output_len, ct, ct_len, NULL);
}

int ek_mls_derive_key_pair(uint8_t *pub, uint8_t *priv, const ek_mls_suite *s, const uint8_t *ikm,
                           size_t ikm_len)
{
    if (s == NULL || pub == NULL || priv == NULL || ikm == NULL)
        return EK_ERR_INVALID_ARG;
    if (!suite_fits_hpke(s))
        return EK_ERR_UNSUPPORTED;
    return ek_hpke_derive_keypair(pub, priv, s->hpke, ikm, ikm_len);
}
