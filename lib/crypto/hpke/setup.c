/*
 * setup.c: Setup<MODE>S and Setup<MODE>R (RFC 9180 §5.1.1-§5.1.4): run the
 * KEM (Encap/AuthEncap on the sender side, Decap/AuthDecap on the
 * recipient's) and feed its shared secret to the key schedule.
 *
 * The four modes differ only in what ek_hpke_opts carries: a psk and psk_id
 * for mode_psk and mode_auth_psk, the sender's private key (sender side) or
 * public key (recipient side) for mode_auth and mode_auth_psk. Inputs a
 * mode does not take are refused rather than ignored, like VerifyPSKInputs
 * refuses a psk in base mode. On any failure ctx and enc are wiped.
 */
#include <string.h>

#include "crypto/hpke/hpke_internal.h"

/* What the mode adds to the base setup, checked before any work. */
typedef struct mode_inputs {
    ek_hpke_mode mode;
    const uint8_t *psk;
    size_t psk_len;
    const uint8_t *psk_id;
    size_t psk_id_len;
    const uint8_t *key_s; /* sk_s (sender side) or pk_s (recipient side); NULL: no auth */
} mode_inputs;

static int is_auth_mode(ek_hpke_mode mode)
{
    return mode == EK_HPKE_MODE_AUTH || mode == EK_HPKE_MODE_AUTH_PSK;
}

/* Read opts (NULL: base mode) for one side and check it fits the mode. */
static int read_mode_inputs(mode_inputs *in, const ek_hpke_opts *opts, int is_sender)
{
    memset(in, 0, sizeof(*in));
    in->mode = EK_HPKE_MODE_BASE;
    if (opts == NULL)
        return EK_OK;
    in->mode = opts->mode;
    in->psk = opts->psk;
    in->psk_len = opts->psk_len;
    in->psk_id = opts->psk_id;
    in->psk_id_len = opts->psk_id_len;
    int rc = ek_hpke_verify_psk_inputs(in->mode, in->psk, in->psk_len, in->psk_id, in->psk_id_len);
    if (rc != EK_OK)
        return rc;
    /* §5.1.1/§5.1.2 take no sender key: one given is a mode mix-up. */
    if (!is_auth_mode(in->mode))
        return opts->sk_s == NULL && opts->pk_s == NULL ? EK_OK : EK_ERR_INVALID_ARG;
    /* §5.1.3/§5.1.4: SetupAuthS takes skS, SetupAuthR takes pkS. */
    in->key_s = is_sender ? opts->sk_s : opts->pk_s;
    return in->key_s != NULL ? EK_OK : EK_ERR_INVALID_ARG;
}

/* The checks every setup shares; ctx is wiped first so that it is never
 * left half-valid. */
static int check_setup_args(ek_hpke_ctx *ctx, ek_hpke_suite suite, const void *info,
                            size_t info_len)
{
    if (ctx == NULL)
        return EK_ERR_INVALID_ARG;
    ek_hpke_ctx_wipe(ctx);
    int rc = ek_hpke_check_suite(suite);
    if (rc != EK_OK)
        return rc;
    if (info == NULL && info_len > 0)
        return EK_ERR_INVALID_ARG;
    if ((uint64_t)info_len > EK_HPKE_MAX_INFO)
        return EK_ERR_TOO_LARGE;
    return EK_OK;
}

/* Setup<MODE>S with the ephemeral key pair already drawn:
 *   shared_secret, enc = Encap(pkR) or AuthEncap(pkR, skS)
 *   KeyScheduleS(mode, shared_secret, info, psk, psk_id) */
static int setup_sender(ek_hpke_ctx *ctx, uint8_t enc[EK_HPKE_ENC_LEN], ek_hpke_suite suite,
                        const uint8_t pk_r[EK_HPKE_PK_LEN], const void *info, size_t info_len,
                        const mode_inputs *in, const uint8_t sk_e[EK_HPKE_SK_LEN],
                        const uint8_t pk_e[EK_HPKE_PK_LEN])
{
    uint8_t shared_secret[EK_HPKE_NSECRET];
    int rc = ek_hpke_dhkem_encap(shared_secret, enc, pk_r, sk_e, pk_e, in->key_s);
    if (rc == EK_OK)
        rc = ek_hpke_key_schedule(ctx, suite, in->mode, shared_secret, info, info_len, in->psk,
                                  in->psk_len, in->psk_id, in->psk_id_len, 1);
    ek_wipe(shared_secret, sizeof(shared_secret));
    return rc;
}

/* Both sender entry points: check, draw the ephemeral key pair (from rng,
 * or from ikm_e when ikm_e != NULL), set up; wipe everything on failure. */
static int setup_sender_with(ek_hpke_ctx *ctx, uint8_t enc[EK_HPKE_ENC_LEN], ek_hpke_suite suite,
                             const uint8_t pk_r[EK_HPKE_PK_LEN], const void *info, size_t info_len,
                             const ek_hpke_opts *opts, const ek_rng *rng, const uint8_t *ikm_e,
                             size_t ikm_e_len)
{
    if (enc == NULL) {
        ek_hpke_ctx_wipe(ctx);
        return EK_ERR_INVALID_ARG;
    }
    uint8_t sk_e[EK_HPKE_SK_LEN], pk_e[EK_HPKE_PK_LEN];
    mode_inputs in;
    int rc = check_setup_args(ctx, suite, info, info_len);
    if (rc == EK_OK && pk_r == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = read_mode_inputs(&in, opts, 1);
    if (rc == EK_OK)
        rc = ikm_e != NULL ? ek_hpke_derive_keypair(pk_e, sk_e, suite, ikm_e, ikm_e_len)
                           : ek_hpke_generate_keypair(pk_e, sk_e, suite, rng);
    if (rc == EK_OK)
        rc = setup_sender(ctx, enc, suite, pk_r, info, info_len, &in, sk_e, pk_e);
    ek_wipe(sk_e, sizeof(sk_e));
    if (rc != EK_OK) {
        ek_hpke_ctx_wipe(ctx);
        ek_wipe(enc, EK_HPKE_ENC_LEN);
    }
    return rc;
}

int ek_hpke_setup_sender(ek_hpke_ctx *ctx, uint8_t enc[EK_HPKE_ENC_LEN], ek_hpke_suite suite,
                         const uint8_t pk_r[EK_HPKE_PK_LEN], const void *info, size_t info_len,
                         const ek_hpke_opts *opts, const ek_rng *rng)
{
    return setup_sender_with(ctx, enc, suite, pk_r, info, info_len, opts, rng, NULL, 0);
}

int ek_hpke_setup_sender_derand(ek_hpke_ctx *ctx, uint8_t enc[EK_HPKE_ENC_LEN], ek_hpke_suite suite,
                                const uint8_t pk_r[EK_HPKE_PK_LEN], const void *info,
                                size_t info_len, const ek_hpke_opts *opts, const uint8_t *ikm_e,
                                size_t ikm_e_len)
{
    if (ikm_e == NULL) {
        if (enc != NULL)
            ek_wipe(enc, EK_HPKE_ENC_LEN);
        ek_hpke_ctx_wipe(ctx);
        return EK_ERR_INVALID_ARG;
    }
    return setup_sender_with(ctx, enc, suite, pk_r, info, info_len, opts, NULL, ikm_e, ikm_e_len);
}

/* Setup<MODE>R:
 *   shared_secret = Decap(enc, skR) or AuthDecap(enc, skR, pkS)
 *   KeyScheduleR(mode, shared_secret, info, psk, psk_id) */
int ek_hpke_setup_receiver(ek_hpke_ctx *ctx, ek_hpke_suite suite,
                           const uint8_t enc[EK_HPKE_ENC_LEN], const uint8_t sk_r[EK_HPKE_SK_LEN],
                           const void *info, size_t info_len, const ek_hpke_opts *opts)
{
    uint8_t shared_secret[EK_HPKE_NSECRET];
    mode_inputs in;
    int rc = check_setup_args(ctx, suite, info, info_len);
    if (rc == EK_OK && (enc == NULL || sk_r == NULL))
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = read_mode_inputs(&in, opts, 0);
    if (rc == EK_OK)
        rc = ek_hpke_dhkem_decap(shared_secret, enc, sk_r, in.key_s);
    if (rc == EK_OK)
        rc = ek_hpke_key_schedule(ctx, suite, in.mode, shared_secret, info, info_len, in.psk,
                                  in.psk_len, in.psk_id, in.psk_id_len, 0);
    ek_wipe(shared_secret, sizeof(shared_secret));
    if (rc != EK_OK)
        ek_hpke_ctx_wipe(ctx);
    return rc;
}
