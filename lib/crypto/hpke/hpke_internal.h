/*
 * hpke_internal.h: internal: the steps of HPKE (RFC 9180) that the public
 * API in ek_hpke.h is built from, shared by the files of lib/crypto/hpke/
 * and reached by the vector test, which checks each intermediate value
 * (KEM shared secret, key schedule context, secret, nonces) on its own.
 *
 * Only the one ciphersuite family we support is described here:
 * DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256, so Nsecret = Nh = Ndh = 32.
 */
#ifndef EK_CRYPTO_HPKE_INTERNAL_H
#define EK_CRYPTO_HPKE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_hpke.h>

#define EK_HPKE_NH               32 /* Nh of HKDF-SHA256 (§7.2) */
#define EK_HPKE_NSECRET          32 /* Nsecret of DHKEM(X25519, HKDF-SHA256) (§7.1) */
#define EK_HPKE_NN               12 /* Nn of every AEAD we support (§7.3) */
#define EK_HPKE_KEM_SUITE_ID_LEN 5  /* "KEM" || I2OSP(kem_id, 2) (§4.1) */
#define EK_HPKE_SUITE_ID_LEN     10 /* "HPKE" || kem_id || kdf_id || aead_id (§5.1) */
#define EK_HPKE_KS_CONTEXT_LEN   65 /* mode || psk_id_hash || info_hash (§5.1) */
#define EK_HPKE_EXPORT_MAX       ((size_t)255 * EK_HPKE_NH) /* §5.3 */

/*
 * RFC 9180 §7.2.1, Table 4: the longest application inputs HKDF-SHA256
 * allows once the labels are prefixed. Longer inputs are refused with
 * EK_ERR_TOO_LARGE (no real caller comes near them; the checks keep the
 * length arithmetic in the labeled functions from overflowing).
 */
#define EK_HPKE_MAX_PSK              ((UINT64_C(1) << 61) - 88)
#define EK_HPKE_MAX_PSK_ID           ((UINT64_C(1) << 61) - 93)
#define EK_HPKE_MAX_INFO             ((UINT64_C(1) << 61) - 91)
#define EK_HPKE_MAX_EXPORTER_CONTEXT ((UINT64_C(1) << 61) - 120)
#define EK_HPKE_MAX_IKM              ((UINT64_C(1) << 61) - 84)

/* LabeledExtract(salt, label, ikm) (§4) under suite_id; label is a
 * NUL-terminated ASCII string. EK_OK, EK_ERR_NOMEM or EK_ERR_TOO_LARGE;
 * prk is wiped on failure. */
int ek_hpke_labeled_extract(uint8_t prk[EK_HPKE_NH], const uint8_t *suite_id, size_t suite_id_len,
                            const uint8_t *salt, size_t salt_len, const char *label,
                            const uint8_t *ikm, size_t ikm_len);

/* LabeledExpand(prk, label, info, L) (§4) under suite_id, L = out_len
 * (1..255*Nh). out is wiped on failure. */
int ek_hpke_labeled_expand(uint8_t *out, size_t out_len, const uint8_t prk[EK_HPKE_NH],
                           const uint8_t *suite_id, size_t suite_id_len, const char *label,
                           const uint8_t *info, size_t info_len);

/* EK_OK when suite is one we implement, else EK_ERR_UNSUPPORTED. */
int ek_hpke_check_suite(ek_hpke_suite suite);
/* The key schedule's suite_id: "HPKE" || kem_id || kdf_id || aead_id (§5.1). */
void ek_hpke_suite_id(uint8_t out[EK_HPKE_SUITE_ID_LEN], ek_hpke_suite suite);

/* VerifyPSKInputs (§5.1), plus the §9.5 rule that a psk has at least 32
 * bytes: EK_OK, EK_ERR_INVALID_ARG (inconsistent or missing psk/psk_id, or
 * a psk outside the psk modes), EK_ERR_UNSUPPORTED (unknown mode) or
 * EK_ERR_TOO_LARGE (§7.2.1). */
int ek_hpke_verify_psk_inputs(ek_hpke_mode mode, const uint8_t *psk, size_t psk_len,
                              const uint8_t *psk_id, size_t psk_id_len);

/*
 * DHKEM(X25519, HKDF-SHA256) (§4.1). The ephemeral key pair (sk_e, pk_e)
 * is an input, so Encap is deterministic here: the public API draws it
 * with GenerateKeyPair or DeriveKeyPair(ikmE). sk_s == NULL gives Encap,
 * else AuthEncap with the sender's private key sk_s; pk_s == NULL gives
 * Decap, else AuthDecap. EK_ERR_WEAK_KEY when a DH output is all zero
 * (§7.1.4); shared_secret (and enc) are wiped on failure.
 */
int ek_hpke_dhkem_encap(uint8_t shared_secret[EK_HPKE_NSECRET], uint8_t enc[EK_HPKE_ENC_LEN],
                        const uint8_t pk_r[EK_HPKE_PK_LEN], const uint8_t sk_e[EK_HPKE_SK_LEN],
                        const uint8_t pk_e[EK_HPKE_PK_LEN], const uint8_t *sk_s);
int ek_hpke_dhkem_decap(uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t enc[EK_HPKE_ENC_LEN],
                        const uint8_t sk_r[EK_HPKE_SK_LEN], const uint8_t *pk_s);

/*
 * The key schedule (§5.1), in its two halves so the vector test can check
 * each: key_schedule_context = mode || psk_id_hash || info_hash, and
 * secret = LabeledExtract(shared_secret, "secret", psk). ek_hpke_key_schedule
 * runs VerifyPSKInputs and both, then derives key, base_nonce and
 * exporter_secret into ctx (wiped on failure).
 */
int ek_hpke_key_schedule_context(uint8_t out[EK_HPKE_KS_CONTEXT_LEN], ek_hpke_suite suite,
                                 ek_hpke_mode mode, const uint8_t *info, size_t info_len,
                                 const uint8_t *psk_id, size_t psk_id_len);
int ek_hpke_key_schedule_secret(uint8_t secret[EK_HPKE_NH], ek_hpke_suite suite,
                                const uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t *psk,
                                size_t psk_len);
int ek_hpke_key_schedule(ek_hpke_ctx *ctx, ek_hpke_suite suite, ek_hpke_mode mode,
                         const uint8_t shared_secret[EK_HPKE_NSECRET], const uint8_t *info,
                         size_t info_len, const uint8_t *psk, size_t psk_len, const uint8_t *psk_id,
                         size_t psk_id_len, int is_sender);

/* Context.ComputeNonce(seq) (§5.2): base_nonce XOR I2OSP(seq, Nn). */
void ek_hpke_compute_nonce(uint8_t nonce[EK_HPKE_NN], const ek_hpke_ctx *ctx, uint64_t seq);

#endif /* EK_CRYPTO_HPKE_INTERNAL_H */
