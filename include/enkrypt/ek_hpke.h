/*
 * ek_hpke.h: Hybrid Public Key Encryption (RFC 9180), our own.
 *
 * KEM DHKEM(X25519, HKDF-SHA256); KDF HKDF-SHA256; AEADs AES-128-GCM,
 * AES-256-GCM, ChaCha20-Poly1305 and export-only; modes base, psk, auth and
 * auth_psk; single-shot and context APIs (sequence numbers, export).
 */
#ifndef EK_HPKE_H
#define EK_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_crypto.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ek_hpke_mode {
    EK_HPKE_MODE_BASE = 0,
    EK_HPKE_MODE_PSK = 1,
    EK_HPKE_MODE_AUTH = 2,
    EK_HPKE_MODE_AUTH_PSK = 3,
} ek_hpke_mode;

#define EK_HPKE_KEM_X25519_SHA256     0x0020
#define EK_HPKE_KDF_HKDF_SHA256       0x0001
#define EK_HPKE_AEAD_AES128GCM        0x0001
#define EK_HPKE_AEAD_AES256GCM        0x0002
#define EK_HPKE_AEAD_CHACHA20POLY1305 0x0003
#define EK_HPKE_AEAD_EXPORT_ONLY      0xFFFF

#define EK_HPKE_PK_LEN  32 /* Npk */
#define EK_HPKE_SK_LEN  32 /* Nsk */
#define EK_HPKE_ENC_LEN 32 /* Nenc */
#define EK_HPKE_TAG_LEN 16 /* Nt */

typedef struct ek_hpke_suite {
    uint16_t kem_id;
    uint16_t kdf_id;
    uint16_t aead_id;
} ek_hpke_suite;

/*
 * What the non-base modes add. Pass NULL for base mode. The setups check it
 * like VerifyPSKInputs (§5.1) and refuse with EK_ERR_INVALID_ARG: a psk or
 * psk_id without the other, either one outside the psk modes, none in a
 * psk mode, a psk shorter than 32 bytes, a missing sk_s (sender) or pk_s
 * (receiver) in an auth mode, or sk_s/pk_s given in a non-auth mode. Each
 * side reads only its own key (sk_s or pk_s). An unknown mode gives
 * EK_ERR_UNSUPPORTED.
 */
typedef struct ek_hpke_opts {
    ek_hpke_mode mode;
    const uint8_t *psk; /* psk modes: at least 32 bytes (RFC 9180 §9.5) */
    size_t psk_len;
    const uint8_t *psk_id; /* psk modes: at least 1 byte */
    size_t psk_id_len;
    const uint8_t *sk_s; /* auth modes, sender side: the sender's private key */
    const uint8_t *pk_s; /* auth modes, receiver side: the sender's public key */
} ek_hpke_opts;

/* An encryption context (RFC 9180 §5.2). Plain data; wipe with
 * ek_hpke_ctx_wipe when done. seq is the 64-bit sequence number §5.2
 * allows (zero-padded to the nonce length); key_len is 0 for the
 * export-only AEAD. A failed setup leaves the context wiped, and a wiped
 * context refuses Seal, Open and Export with EK_ERR_STATE. */
typedef struct ek_hpke_ctx {
    ek_hpke_suite suite;
    uint8_t key[32];
    size_t key_len;
    uint8_t base_nonce[12];
    uint64_t seq;
    uint8_t exporter_secret[32];
    uint8_t is_sender;
} ek_hpke_ctx;

/*
 * Every function taking a suite refuses ids other than kem 0x0020, kdf
 * 0x0001 and aead 0x0001/0x0002/0x0003/0xFFFF with EK_ERR_UNSUPPORTED.
 * Outputs of a failed call are wiped, never partially valid.
 */

/* DeriveKeyPair(ikm) (§7.1.3); ikm_len >= EK_HPKE_SK_LEN (the SHOULD of
 * §7.1.3 enforced). sk is the derived string, unclamped, as in RFC 9180's
 * vectors (X25519 clamps on use). */
EK_API EK_MUST_CHECK int ek_hpke_derive_keypair(uint8_t pk[EK_HPKE_PK_LEN],
                                                uint8_t sk[EK_HPKE_SK_LEN], ek_hpke_suite suite,
                                                const uint8_t *ikm, size_t ikm_len);
/* GenerateKeyPair() from rng (NULL: system RNG). */
EK_API EK_MUST_CHECK int ek_hpke_generate_keypair(uint8_t pk[EK_HPKE_PK_LEN],
                                                  uint8_t sk[EK_HPKE_SK_LEN], ek_hpke_suite suite,
                                                  const ek_rng *rng);

/* Setup<MODE>S (§5.1): enc receives the encapsulated key. EK_ERR_WEAK_KEY
 * when pk_r is of small order, i.e. a DH output is all zero (§7.1.4). */
EK_API EK_MUST_CHECK int ek_hpke_setup_sender(ek_hpke_ctx *ctx, uint8_t enc[EK_HPKE_ENC_LEN],
                                              ek_hpke_suite suite,
                                              const uint8_t pk_r[EK_HPKE_PK_LEN], const void *info,
                                              size_t info_len, const ek_hpke_opts *opts,
                                              const ek_rng *rng);
/* As ek_hpke_setup_sender with the ephemeral key pair DeriveKeyPair(ikm_e):
 * deterministic, for test vectors and reproducible tests. */
EK_API EK_MUST_CHECK int
ek_hpke_setup_sender_derand(ek_hpke_ctx *ctx, uint8_t enc[EK_HPKE_ENC_LEN], ek_hpke_suite suite,
                            const uint8_t pk_r[EK_HPKE_PK_LEN], const void *info, size_t info_len,
                            const ek_hpke_opts *opts, const uint8_t *ikm_e, size_t ikm_e_len);
/* Setup<MODE>R (§5.1). EK_ERR_WEAK_KEY when enc, or pk_s in the auth modes,
 * is of small order (§7.1.4). */
EK_API EK_MUST_CHECK int ek_hpke_setup_receiver(ek_hpke_ctx *ctx, ek_hpke_suite suite,
                                                const uint8_t enc[EK_HPKE_ENC_LEN],
                                                const uint8_t sk_r[EK_HPKE_SK_LEN],
                                                const void *info, size_t info_len,
                                                const ek_hpke_opts *opts);

/* ContextS.Seal (§5.2): ct receives pt_len + EK_HPKE_TAG_LEN bytes (ct == pt
 * is allowed). EK_ERR_LIMIT when the sequence number is exhausted (seq ==
 * 2^64 - 1); EK_ERR_STATE for an export-only suite or a receiver context.
 * seq moves only on success. */
EK_API EK_MUST_CHECK int ek_hpke_seal(ek_hpke_ctx *ctx, uint8_t *ct, const void *aad,
                                      size_t aad_len, const void *pt, size_t pt_len);
/* ContextR.Open (§5.2): pt receives ct_len - EK_HPKE_TAG_LEN bytes (pt == ct
 * is allowed). EK_ERR_AUTH for a ciphertext that does not authenticate
 * (also one shorter than the tag); EK_ERR_LIMIT and EK_ERR_STATE as for
 * Seal (a sender context cannot open). On any failure pt is wiped and the
 * sequence number does not move. */
EK_API EK_MUST_CHECK int ek_hpke_open(ek_hpke_ctx *ctx, uint8_t *pt, const void *aad,
                                      size_t aad_len, const uint8_t *ct, size_t ct_len);
/* Context.Export (§5.3), on either side and with any AEAD: out_len is
 * 1..255 * 32 (EK_ERR_TOO_LARGE above, EK_ERR_INVALID_ARG for 0). */
EK_API EK_MUST_CHECK int ek_hpke_export(const ek_hpke_ctx *ctx, uint8_t *out, size_t out_len,
                                        const void *exporter_context, size_t exporter_context_len);
EK_API void ek_hpke_ctx_wipe(ek_hpke_ctx *ctx);

/* Single-shot Seal<MODE> / Open<MODE> (§6.1): one setup and one Seal or
 * Open; the errors are theirs (EK_ERR_STATE for the export-only suite). */
EK_API EK_MUST_CHECK int ek_hpke_seal_once(uint8_t enc[EK_HPKE_ENC_LEN], uint8_t *ct,
                                           ek_hpke_suite suite, const uint8_t pk_r[EK_HPKE_PK_LEN],
                                           const void *info, size_t info_len, const void *aad,
                                           size_t aad_len, const void *pt, size_t pt_len,
                                           const ek_hpke_opts *opts, const ek_rng *rng);
EK_API EK_MUST_CHECK int ek_hpke_open_once(uint8_t *pt, ek_hpke_suite suite,
                                           const uint8_t enc[EK_HPKE_ENC_LEN],
                                           const uint8_t sk_r[EK_HPKE_SK_LEN], const void *info,
                                           size_t info_len, const void *aad, size_t aad_len,
                                           const uint8_t *ct, size_t ct_len,
                                           const ek_hpke_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* EK_HPKE_H */
