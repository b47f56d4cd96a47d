/*
 * psk.c: injecting pre-shared keys into the key schedule (RFC 9420 §8.4,
 * Figure 24): each PSK is extracted, expanded with its PSKLabel (id, index,
 * count) and chained into psk_secret with KDF.Extract.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"

/* PSKLabel = PreSharedKeyID id || uint16 index || uint16 count. */
static int write_psk_label(ek_writer *w, const ek_mls_psk_id *id, uint16_t index, uint16_t count)
{
    (void)ek_mls_write_psk_id(w, id);
    (void)ek_write_u16(w, index);
    return ek_write_u16(w, count);
}

int ek_mls_psk_secret_alloc(uint8_t *out, const ek_mls_suite *s, const ek_mls_psk *psks,
                            size_t count, const ek_allocator *alloc)
{
    if (out == NULL || s == NULL || (psks == NULL && count > 0))
        return EK_ERR_INVALID_ARG;
    if (count > EK_MLS_MAX_PSKS)
        return EK_ERR_TOO_LARGE;
    size_t nh = s->hash_len;
    uint8_t zero[EK_MLS_MAX_HASH_LEN] = {0};
    uint8_t secret[EK_MLS_MAX_HASH_LEN] = {0}; /* psk_secret_[0] = 0 */
    uint8_t extracted[EK_MLS_MAX_HASH_LEN], input[EK_MLS_MAX_HASH_LEN];
    int rc = EK_OK;
    for (size_t i = 0; i < count && rc == EK_OK; i++) {
        if (psks[i].secret.data == NULL && psks[i].secret.len > 0) {
            rc = EK_ERR_INVALID_ARG;
            break;
        }
        ek_writer w;
        ek_writer_init_growable(&w, alloc);
        rc = write_psk_label(&w, &psks[i].id, (uint16_t)i, (uint16_t)count);
        if (rc == EK_OK) {
            /* psk_extracted_[i] = KDF.Extract(0, psk_[i]);
             * psk_input_[i] = ExpandWithLabel(., "derived psk", PSKLabel, Nh);
             * psk_secret_[i+1] = KDF.Extract(psk_input_[i], psk_secret_[i]). */
            s->kdf_extract(extracted, zero, nh, psks[i].secret.data, psks[i].secret.len);
            rc = ek_mls_expand_with_label_alloc(input, nh, s, extracted, nh, "derived psk", 11,
                                                w.buf, w.len, alloc);
        }
        if (rc == EK_OK)
            s->kdf_extract(secret, input, nh, secret, nh);
        ek_writer_dispose(&w);
    }
    if (rc == EK_OK)
        memcpy(out, secret, nh);
    ek_wipe(secret, sizeof(secret));
    ek_wipe(extracted, sizeof(extracted));
    ek_wipe(input, sizeof(input));
    return rc;
}

int ek_mls_psk_secret(uint8_t *out, const ek_mls_suite *s, const ek_mls_psk *psks, size_t count)
{
    return ek_mls_psk_secret_alloc(out, s, psks, count, NULL);
}
