/*
 * labeled.c: LabeledExtract and LabeledExpand (RFC 9180 §4), the only way
 * HPKE uses its KDF. Every input is prefixed with "HPKE-v1" and a suite_id,
 * so the KEM's derivations ("KEM...") and the key schedule's ("HPKE...")
 * can never collide (§9.6).
 *
 * The labeled input is never assembled: its pieces go straight into HMAC
 * (HKDF-Extract is one HMAC, HKDF-Expand one HMAC per block, RFC 5869
 * §2.2, §2.3), so HPKE allocates nothing, whatever the length of info,
 * psk_id or exporter_context, and a caller's allocator (lib/mls's group
 * allocator) covers every allocation made for it. The HMAC states hold
 * secrets (a DH output, a psk) and are wiped.
 */
#include <string.h>

#include "crypto/hpke/hpke_internal.h"

static const uint8_t hpke_version[7] = {'H', 'P', 'K', 'E', '-', 'v', '1'};

static void mac_piece(ek_hmac_sha256_ctx *c, const void *p, size_t len)
{
    if (len > 0)
        ek_hmac_sha256_update(c, p, len);
}

int ek_hpke_labeled_extract(uint8_t prk[EK_HPKE_NH], const uint8_t *suite_id, size_t suite_id_len,
                            const uint8_t *salt, size_t salt_len, const char *label,
                            const uint8_t *ikm, size_t ikm_len)
{
    /* The callers bound ikm_len by Table 4 (§7.2.1). */
    if (ikm_len > SIZE_MAX / 2 || (ikm == NULL && ikm_len > 0) || (salt == NULL && salt_len > 0)) {
        ek_wipe(prk, EK_HPKE_NH);
        return ikm_len > SIZE_MAX / 2 ? EK_ERR_TOO_LARGE : EK_ERR_INVALID_ARG;
    }
    /* HMAC(salt, labeled_ikm), labeled_ikm = concat("HPKE-v1", suite_id,
     * label, ikm); an absent salt is an empty HMAC key (RFC 5869 §2.2). */
    ek_hmac_sha256_ctx c;
    ek_hmac_sha256_init(&c, salt, salt_len);
    mac_piece(&c, hpke_version, sizeof(hpke_version));
    mac_piece(&c, suite_id, suite_id_len);
    mac_piece(&c, label, strlen(label));
    mac_piece(&c, ikm, ikm_len);
    ek_hmac_sha256_final(&c, prk);
    ek_wipe(&c, sizeof(c));
    return EK_OK;
}

int ek_hpke_labeled_expand(uint8_t *out, size_t out_len, const uint8_t prk[EK_HPKE_NH],
                           const uint8_t *suite_id, size_t suite_id_len, const char *label,
                           const uint8_t *info, size_t info_len)
{
    if (out_len == 0)
        return EK_ERR_INVALID_ARG;
    if (out_len > EK_HPKE_EXPORT_MAX || info_len > SIZE_MAX / 2 || (info == NULL && info_len > 0)) {
        ek_wipe(out, out_len);
        return out_len > EK_HPKE_EXPORT_MAX || info_len > SIZE_MAX / 2 ? EK_ERR_TOO_LARGE
                                                                       : EK_ERR_INVALID_ARG;
    }
    /* labeled_info = concat(I2OSP(L, 2), "HPKE-v1", suite_id, label, info);
     * T(i) = HMAC(prk, T(i-1) || labeled_info || i) (RFC 5869 §2.3). */
    const uint8_t l2[2] = {(uint8_t)(out_len >> 8), (uint8_t)out_len};
    size_t label_len = strlen(label);
    uint8_t t[EK_HPKE_NH];
    size_t t_len = 0, done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        ek_hmac_sha256_ctx c;
        ek_hmac_sha256_init(&c, prk, EK_HPKE_NH);
        mac_piece(&c, t, t_len);
        mac_piece(&c, l2, sizeof(l2));
        mac_piece(&c, hpke_version, sizeof(hpke_version));
        mac_piece(&c, suite_id, suite_id_len);
        mac_piece(&c, label, label_len);
        mac_piece(&c, info, info_len);
        mac_piece(&c, &i, 1);
        ek_hmac_sha256_final(&c, t);
        ek_wipe(&c, sizeof(c));
        t_len = sizeof(t);
        size_t n = out_len - done < sizeof(t) ? out_len - done : sizeof(t);
        memcpy(out + done, t, n);
        done += n;
    }
    ek_wipe(t, sizeof(t));
    return EK_OK;
}
