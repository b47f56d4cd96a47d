/*
 * single_shot.c: the single-shot APIs Seal<MODE> and Open<MODE> (RFC 9180
 * §6.1): one setup, one message, and the context wiped before returning.
 */
#include "crypto/hpke/hpke_internal.h"

/* Seal<MODE>(pkR, info, aad, pt, ...):
 *   enc, ctx = Setup<MODE>S(pkR, info, ...); ct = ctx.Seal(aad, pt) */
int ek_hpke_seal_once(uint8_t enc[EK_HPKE_ENC_LEN], uint8_t *ct, ek_hpke_suite suite,
                      const uint8_t pk_r[EK_HPKE_PK_LEN], const void *info, size_t info_len,
                      const void *aad, size_t aad_len, const void *pt, size_t pt_len,
                      const ek_hpke_opts *opts, const ek_rng *rng)
{
    ek_hpke_ctx ctx;
    int rc = ek_hpke_setup_sender(&ctx, enc, suite, pk_r, info, info_len, opts, rng);
    /* ct is only ever written by the AEAD, which wipes it on failure. */
    if (rc == EK_OK)
        rc = ek_hpke_seal(&ctx, ct, aad, aad_len, pt, pt_len);
    ek_hpke_ctx_wipe(&ctx);
    if (rc != EK_OK && enc != NULL)
        ek_wipe(enc, EK_HPKE_ENC_LEN);
    return rc;
}

/* Open<MODE>(enc, skR, info, aad, ct, ...):
 *   ctx = Setup<MODE>R(enc, skR, info, ...); return ctx.Open(aad, ct) */
int ek_hpke_open_once(uint8_t *pt, ek_hpke_suite suite, const uint8_t enc[EK_HPKE_ENC_LEN],
                      const uint8_t sk_r[EK_HPKE_SK_LEN], const void *info, size_t info_len,
                      const void *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                      const ek_hpke_opts *opts)
{
    ek_hpke_ctx ctx;
    int rc = ek_hpke_setup_receiver(&ctx, suite, enc, sk_r, info, info_len, opts);
    if (rc == EK_OK)
        rc = ek_hpke_open(&ctx, pt, aad, aad_len, ct, ct_len);
    else if (pt != NULL && ct_len >= EK_HPKE_TAG_LEN)
        ek_wipe(pt, ct_len - EK_HPKE_TAG_LEN);
    ek_hpke_ctx_wipe(&ctx);
    return rc;
}
