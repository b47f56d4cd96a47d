/*
 * labeled.c: LabeledExtract and LabeledExpand (RFC 9180 §4), the only way
 * HPKE uses its KDF. Every input is prefixed with "HPKE-v1" and a suite_id,
 * so the KEM's derivations ("KEM...") and the key schedule's ("HPKE...")
 * can never collide (§9.6).
 *
 * HKDF takes its input in one piece, so the labeled input is assembled in
 * a writer: on the stack when it fits (every fixed-size step does), on the
 * heap for long info, psk_id or exporter_context. Either way the buffer may
 * hold secrets (a DH output, a psk) and is wiped before it is released.
 */
#include <string.h>

#include "crypto/hpke/hpke_internal.h"

enum { LABELED_STACK_BUF = 256 };

static const uint8_t hpke_version[7] = {'H', 'P', 'K', 'E', '-', 'v', '1'};

/* A writer over buf when need bytes fit in it, else a growable one. */
static void labeled_writer_init(ek_writer *w, uint8_t *buf, size_t cap, size_t need)
{
    if (need <= cap)
        ek_writer_init_fixed(w, buf, cap);
    else
        ek_writer_init_growable(w, NULL);
}

int ek_hpke_labeled_extract(uint8_t prk[EK_HPKE_NH], const uint8_t *suite_id, size_t suite_id_len,
                            const uint8_t *salt, size_t salt_len, const char *label,
                            const uint8_t *ikm, size_t ikm_len)
{
    size_t label_len = strlen(label);
    /* The callers bound ikm_len by Table 4 (§7.2.1); this keeps the sum
     * from wrapping whatever they pass. */
    if (ikm_len > SIZE_MAX / 2)
        return EK_ERR_TOO_LARGE;
    /* labeled_ikm = concat("HPKE-v1", suite_id, label, ikm) */
    size_t need = sizeof(hpke_version) + suite_id_len + label_len + ikm_len;
    uint8_t buf[LABELED_STACK_BUF];
    ek_writer w;
    labeled_writer_init(&w, buf, sizeof(buf), need);
    ek_write_bytes(&w, hpke_version, sizeof(hpke_version));
    ek_write_bytes(&w, suite_id, suite_id_len);
    ek_write_bytes(&w, label, label_len);
    ek_write_bytes(&w, ikm, ikm_len);
    int rc = w.err;
    if (rc == EK_OK)
        ek_hkdf_sha256_extract(prk, salt, salt_len, w.buf, w.len);
    else
        ek_wipe(prk, EK_HPKE_NH);
    ek_writer_dispose(&w);
    return rc;
}

int ek_hpke_labeled_expand(uint8_t *out, size_t out_len, const uint8_t prk[EK_HPKE_NH],
                           const uint8_t *suite_id, size_t suite_id_len, const char *label,
                           const uint8_t *info, size_t info_len)
{
    if (out_len == 0)
        return EK_ERR_INVALID_ARG;
    if (out_len > EK_HPKE_EXPORT_MAX) {
        ek_wipe(out, out_len);
        return EK_ERR_TOO_LARGE;
    }
    size_t label_len = strlen(label);
    if (info_len > SIZE_MAX / 2) {
        ek_wipe(out, out_len);
        return EK_ERR_TOO_LARGE;
    }
    /* labeled_info = concat(I2OSP(L, 2), "HPKE-v1", suite_id, label, info) */
    size_t need = 2 + sizeof(hpke_version) + suite_id_len + label_len + info_len;
    uint8_t buf[LABELED_STACK_BUF];
    ek_writer w;
    labeled_writer_init(&w, buf, sizeof(buf), need);
    ek_write_u16(&w, (uint16_t)out_len);
    ek_write_bytes(&w, hpke_version, sizeof(hpke_version));
    ek_write_bytes(&w, suite_id, suite_id_len);
    ek_write_bytes(&w, label, label_len);
    ek_write_bytes(&w, info, info_len);
    int rc = w.err;
    if (rc == EK_OK)
        rc = ek_hkdf_sha256_expand(out, out_len, prk, EK_HPKE_NH, w.buf, w.len);
    if (rc != EK_OK)
        ek_wipe(out, out_len);
    ek_writer_dispose(&w);
    return rc;
}
