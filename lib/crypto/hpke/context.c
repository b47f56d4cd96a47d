/*
 * context.c: the HPKE encryption context (RFC 9180 §5.2, §5.3): Seal on the
 * sender's side, Open on the recipient's, both with ComputeNonce and
 * IncrementSeq; Export on either side.
 *
 * §5.2 lets the sequence number be shorter than the nonce as long as its
 * overflow is an error: ours is 64 bits (ek_hpke_ctx.seq), zero-padded on
 * the left to Nn = 12 bytes. A Seal or Open that would need seq to pass
 * 2^64 - 1 fails with EK_ERR_LIMIT before the AEAD runs, so seq values
 * 0 .. 2^64 - 2 are used and no nonce ever repeats.
 */
#include <string.h>

#include "crypto/hpke/hpke_internal.h"

void ek_hpke_ctx_wipe(ek_hpke_ctx *ctx)
{
    if (ctx != NULL)
        ek_wipe(ctx, sizeof(*ctx));
}

/* A context that came out of a setup: a suite we know (a wiped context has
 * suite ids 0). */
static int is_set_up(const ek_hpke_ctx *ctx)
{
    return ek_hpke_check_suite(ctx->suite) == EK_OK;
}

/* A set-up context with an AEAD (not export-only) and a key of its size. */
static int has_aead(const ek_hpke_ctx *ctx)
{
    return is_set_up(ctx) && ctx->suite.aead_id != EK_HPKE_AEAD_EXPORT_ONLY &&
           ctx->key_len == ek_aead_key_len((ek_aead_alg)ctx->suite.aead_id);
}

/* Context<ROLE>.ComputeNonce(seq) (§5.2):
 *   seq_bytes = I2OSP(seq, Nn); return xor(base_nonce, seq_bytes) */
void ek_hpke_compute_nonce(uint8_t nonce[EK_HPKE_NN], const ek_hpke_ctx *ctx, uint64_t seq)
{
    memcpy(nonce, ctx->base_nonce, EK_HPKE_NN);
    for (int i = 0; i < 8; i++)
        nonce[EK_HPKE_NN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* Context<ROLE>.IncrementSeq() (§5.2), split in two: the overflow check runs
 * before the AEAD (so no ciphertext is made, and no plaintext released,
 * for a message whose increment would fail), the increment after success. */
static int check_seq(const ek_hpke_ctx *ctx)
{
    return ctx->seq == UINT64_MAX ? EK_ERR_LIMIT : EK_OK;
}

static void increment_seq(ek_hpke_ctx *ctx)
{
    ctx->seq++;
}

/* ContextS.Seal(aad, pt) (§5.2). */
int ek_hpke_seal(ek_hpke_ctx *ctx, uint8_t *ct, const void *aad, size_t aad_len, const void *pt,
                 size_t pt_len)
{
    if (ctx == NULL || ct == NULL)
        return EK_ERR_INVALID_ARG;
    /* §5.2: a recipient's context MUST NOT be used for encryption. */
    if (!ctx->is_sender || !has_aead(ctx))
        return EK_ERR_STATE;
    int rc = check_seq(ctx);
    if (rc != EK_OK)
        return rc;
    uint8_t nonce[EK_HPKE_NN];
    ek_hpke_compute_nonce(nonce, ctx, ctx->seq);
    rc = ek_aead_seal(ct, (ek_aead_alg)ctx->suite.aead_id, ctx->key, ctx->key_len, nonce,
                      sizeof(nonce), aad, aad_len, pt, pt_len);
    ek_wipe(nonce, sizeof(nonce));
    if (rc == EK_OK)
        increment_seq(ctx);
    return rc;
}

/* ContextR.Open(aad, ct) (§5.2): on any failure pt is wiped and seq does
 * not move, so the genuine ciphertext for this seq still opens. */
int ek_hpke_open(ek_hpke_ctx *ctx, uint8_t *pt, const void *aad, size_t aad_len, const uint8_t *ct,
                 size_t ct_len)
{
    size_t pt_len = ct_len >= EK_HPKE_TAG_LEN ? ct_len - EK_HPKE_TAG_LEN : 0;
    if (ctx == NULL || ct == NULL || (pt == NULL && pt_len > 0)) {
        if (pt != NULL)
            ek_wipe(pt, pt_len);
        return EK_ERR_INVALID_ARG;
    }
    int rc = EK_OK;
    /* §5.2: a sender's context MUST NOT be used for decryption. */
    if (ctx->is_sender || !has_aead(ctx))
        rc = EK_ERR_STATE;
    if (rc == EK_OK)
        rc = check_seq(ctx);
    /* Shorter than a tag: it cannot be authentic (OpenError). */
    if (rc == EK_OK && ct_len < EK_HPKE_TAG_LEN)
        rc = EK_ERR_AUTH;
    if (rc == EK_OK) {
        uint8_t nonce[EK_HPKE_NN];
        ek_hpke_compute_nonce(nonce, ctx, ctx->seq);
        rc = ek_aead_open(pt, (ek_aead_alg)ctx->suite.aead_id, ctx->key, ctx->key_len, nonce,
                          sizeof(nonce), aad, aad_len, ct, ct_len);
        ek_wipe(nonce, sizeof(nonce));
    }
    if (rc == EK_OK)
        increment_seq(ctx);
    else if (pt != NULL)
        ek_wipe(pt, pt_len);
    return rc;
}

/* Context.Export(exporter_context, L) (§5.3):
 *   LabeledExpand(exporter_secret, "sec", exporter_context, L), L <= 255*Nh.
 * L = 0 is refused: it can only be a caller mistake. */
int ek_hpke_export(const ek_hpke_ctx *ctx, uint8_t *out, size_t out_len,
                   const void *exporter_context, size_t exporter_context_len)
{
    if (out == NULL || out_len == 0)
        return EK_ERR_INVALID_ARG;
    int rc = EK_OK;
    if (ctx == NULL || (exporter_context == NULL && exporter_context_len > 0))
        rc = EK_ERR_INVALID_ARG;
    else if (!is_set_up(ctx))
        rc = EK_ERR_STATE;
    else if (out_len > EK_HPKE_EXPORT_MAX ||
             (uint64_t)exporter_context_len > EK_HPKE_MAX_EXPORTER_CONTEXT)
        rc = EK_ERR_TOO_LARGE;
    if (rc == EK_OK) {
        uint8_t suite_id[EK_HPKE_SUITE_ID_LEN];
        ek_hpke_suite_id(suite_id, ctx->suite);
        rc = ek_hpke_labeled_expand(out, out_len, ctx->exporter_secret, suite_id, sizeof(suite_id),
                                    "sec", exporter_context, exporter_context_len);
    }
    if (rc != EK_OK)
        ek_wipe(out, out_len);
    return rc;
}
