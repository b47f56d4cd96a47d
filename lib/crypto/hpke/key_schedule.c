/*
 * key_schedule.c: the HPKE key schedule (RFC 9180 §5.1): which suites we
 * accept, VerifyPSKInputs, and KeySchedule<ROLE>, which turns a KEM shared
 * secret, info and the optional psk into the key, base_nonce and
 * exporter_secret of an encryption context.
 */
#include <string.h>

#include "crypto/hpke/hpke_internal.h"

int ek_hpke_check_suite(ek_hpke_suite suite)
{
    if (suite.kem_id != EK_HPKE_KEM_X25519_SHA256 || suite.kdf_id != EK_HPKE_KDF_HKDF_SHA256)
        return EK_ERR_UNSUPPORTED;
    switch (suite.aead_id) {
    case EK_HPKE_AEAD_AES128GCM:
    case EK_HPKE_AEAD_AES256GCM:
    case EK_HPKE_AEAD_CHACHA20POLY1305:
    case EK_HPKE_AEAD_EXPORT_ONLY: return EK_OK;
    }
    return EK_ERR_UNSUPPORTED;
}

/* suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2),
 *                   I2OSP(aead_id, 2)) (§5.1) */
void ek_hpke_suite_id(uint8_t out[EK_HPKE_SUITE_ID_LEN], ek_hpke_suite suite)
{
    ek_writer w;
    ek_writer_init_fixed(&w, out, EK_HPKE_SUITE_ID_LEN);
    ek_write_bytes(&w, "HPKE", 4);
    ek_write_u16(&w, suite.kem_id);
    ek_write_u16(&w, suite.kdf_id);
    ek_write_u16(&w, suite.aead_id);
}

/*
 * VerifyPSKInputs(mode, psk, psk_id) (§5.1): psk and psk_id come together
 * or not at all, only in the psk modes, and always there. Beyond the RFC's
 * pseudocode we require what §5.1.2 and §9.5 say a psk MUST have: at least
 * 32 bytes of entropy, which a shorter psk cannot hold, so psk_len < 32 is
 * refused. An empty string counts as absent (default_psk = "").
 */
int ek_hpke_verify_psk_inputs(ek_hpke_mode mode, const uint8_t *psk, size_t psk_len,
                              const uint8_t *psk_id, size_t psk_id_len)
{
    if ((unsigned)mode > EK_HPKE_MODE_AUTH_PSK)
        return EK_ERR_UNSUPPORTED;
    if ((psk == NULL && psk_len > 0) || (psk_id == NULL && psk_id_len > 0))
        return EK_ERR_INVALID_ARG;
    if ((uint64_t)psk_len > EK_HPKE_MAX_PSK || (uint64_t)psk_id_len > EK_HPKE_MAX_PSK_ID)
        return EK_ERR_TOO_LARGE;
    int got_psk = psk_len > 0;
    int got_psk_id = psk_id_len > 0;
    int psk_mode = mode == EK_HPKE_MODE_PSK || mode == EK_HPKE_MODE_AUTH_PSK;
    if (got_psk != got_psk_id)
        return EK_ERR_INVALID_ARG; /* "Inconsistent PSK inputs" */
    if (got_psk && !psk_mode)
        return EK_ERR_INVALID_ARG; /* "PSK input provided when not needed" */
    if (!got_psk && psk_mode)
        return EK_ERR_INVALID_ARG; /* "Missing required PSK input" */
    if (got_psk && psk_len < 32)
        return EK_ERR_INVALID_ARG; /* §9.5: at least 32 bytes of entropy */
    return EK_OK;
}

/* key_schedule_context = concat(mode, psk_id_hash, info_hash) (§5.1). */
int ek_hpke_key_schedule_context(uint8_t out[EK_HPKE_KS_CONTEXT_LEN], ek_hpke_suite suite,
                                 ek_hpke_mode mode, const uint8_t *info, size_t info_len,
                                 const uint8_t *psk_id, size_t psk_id_len)
{
    uint8_t suite_id[EK_HPKE_SUITE_ID_LEN];
    ek_hpke_suite_id(suite_id, suite);
    out[0] = (uint8_t)mode;
    int rc = ek_hpke_labeled_extract(out + 1, suite_id, sizeof(suite_id), NULL, 0, "psk_id_hash",
                                     psk_id, psk_id_len);
    if (rc == EK_OK)
        rc = ek_hpke_labeled_extract(out + 1 + EK_HPKE_NH, suite_id, sizeof(suite_id), NULL, 0,
                                     "info_hash", info, info_len);
    if (rc != EK_OK)
        ek_wipe(out, EK_HPKE_KS_CONTEXT_LEN);
    return rc;
}

/* secret = LabeledExtract(shared_secret, "secret", psk) (§5.1). */
int ek_hpke_key_schedule_secret(uint8_t secret[EK_HPKE_NH], ek_hpke_suite suite,
                                const uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t *psk,
                                size_t psk_len)
{
    uint8_t suite_id[EK_HPKE_SUITE_ID_LEN];
    ek_hpke_suite_id(suite_id, suite);
    return ek_hpke_labeled_extract(secret, suite_id, sizeof(suite_id), shared_secret,
                                   EK_HPKE_NSECRET, "secret", psk, psk_len);
}

/*
 * KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id) (§5.1):
 *   key             = LabeledExpand(secret, "key", key_schedule_context, Nk)
 *   base_nonce      = LabeledExpand(secret, "base_nonce", key_schedule_context, Nn)
 *   exporter_secret = LabeledExpand(secret, "exp", key_schedule_context, Nh)
 * With the export-only AEAD the key and base_nonce are not derived (§5.3).
 */
int ek_hpke_key_schedule(ek_hpke_ctx *ctx, ek_hpke_suite suite, ek_hpke_mode mode,
                         const uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t *info,
                         size_t info_len, const uint8_t *psk, size_t psk_len, const uint8_t *psk_id,
                         size_t psk_id_len, int is_sender)
{
    uint8_t suite_id[EK_HPKE_SUITE_ID_LEN];
    uint8_t ks_context[EK_HPKE_KS_CONTEXT_LEN];
    uint8_t secret[EK_HPKE_NH];
    ek_hpke_ctx_wipe(ctx);
    int rc = ek_hpke_check_suite(suite);
    if (rc == EK_OK)
        rc = ek_hpke_verify_psk_inputs(mode, psk, psk_len, psk_id, psk_id_len);
    if (rc == EK_OK && (uint64_t)info_len > EK_HPKE_MAX_INFO)
        rc = EK_ERR_TOO_LARGE;
    if (rc == EK_OK)
        rc = ek_hpke_key_schedule_context(ks_context, suite, mode, info, info_len, psk_id,
                                          psk_id_len);
    if (rc == EK_OK)
        rc = ek_hpke_key_schedule_secret(secret, suite, shared_secret, psk, psk_len);
    ek_hpke_suite_id(suite_id, suite);
    if (rc == EK_OK && suite.aead_id != EK_HPKE_AEAD_EXPORT_ONLY) {
        ctx->key_len = ek_aead_key_len((ek_aead_alg)suite.aead_id); /* Nk */
        rc = ek_hpke_labeled_expand(ctx->key, ctx->key_len, secret, suite_id, sizeof(suite_id),
                                    "key", ks_context, sizeof(ks_context));
        if (rc == EK_OK)
            rc = ek_hpke_labeled_expand(ctx->base_nonce, EK_HPKE_NN, secret, suite_id,
                                        sizeof(suite_id), "base_nonce", ks_context,
                                        sizeof(ks_context));
    }
    if (rc == EK_OK)
        rc = ek_hpke_labeled_expand(ctx->exporter_secret, EK_HPKE_NH, secret, suite_id,
                                    sizeof(suite_id), "exp", ks_context, sizeof(ks_context));
    if (rc == EK_OK) {
        ctx->suite = suite;
        ctx->seq = 0;
        ctx->is_sender = is_sender ? 1 : 0;
    } else {
        ek_hpke_ctx_wipe(ctx);
    }
    ek_wipe(secret, sizeof(secret));
    ek_wipe(ks_context, sizeof(ks_context));
    return rc;
}
