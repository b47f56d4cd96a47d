/*
 * ek_crypto.h: the cryptographic primitives of libenkrypt.
 *
 * Thin, hard-to-misuse wrappers: nothing else in the tree calls OpenSSL or
 * libsodium directly. Backends:
 *   - OpenSSL 3 libcrypto: AES-GCM, ChaCha20-Poly1305, SHA-256/512 (with the
 *     CPU's SHA extensions), the OS CSPRNG.
 *   - libsodium: X25519 (one scalar multiplication per agreement, where
 *     OpenSSL's EVP costs two), Ed25519 (its verifier is the strict one:
 *     canonical S, no small-order or non-canonical A or R), Argon2id,
 *     guarded memory, wiping.
 *   - our own: Keccak/SHA-3/SHAKE (incremental squeezing, which OpenSSL 3.0
 *     lacks, and batched use by ML-KEM), HMAC and HKDF over SHA-256.
 *
 * All functions follow the libsodium manner: outputs first, lengths next to
 * their buffers, EK_OK or a negative ek_err. Functions that cannot fail
 * return void. Outputs of a failed call are wiped, never partially valid.
 */
#ifndef EK_CRYPTO_H
#define EK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Memory: wiping, constant-time comparison, guarded allocations.
 */

/* Overwrite n bytes with zeros in a way the compiler cannot elide. */
EK_API void ek_wipe(void *p, size_t n);
/* 1 if the n bytes at a and b are equal, else 0; time depends only on n. */
EK_API int ek_ct_equal(const void *a, const void *b, size_t n);
/* 1 if all n bytes are zero, else 0; time depends only on n. */
EK_API int ek_ct_is_zero(const void *p, size_t n);
/* Guarded, locked memory for long-lived secrets (sodium_malloc): guard pages
 * around it, wiped on free. Returns NULL on failure. */
EK_API void *ek_secure_alloc(size_t n);
EK_API void ek_secure_free(void *p);

/* ---------------------------------------------------------------------------
 * Random numbers. Every function that needs randomness takes an ek_rng, so
 * tests and golden vectors can be reproduced from a seed.
 */
typedef struct ek_rng {
    /* Fill out[0..len) with random bytes; EK_OK or EK_ERR_RNG. */
    int (*fill)(void *ctx, uint8_t *out, size_t len);
    void *ctx;
} ek_rng;

/* The operating system's CSPRNG (through OpenSSL's RAND_priv_bytes). */
EK_API const ek_rng *ek_rng_system(void);
/* Fill out with len random bytes from rng (NULL means the system RNG). On
 * failure out is wiped and EK_ERR_RNG returned. */
EK_API EK_MUST_CHECK int ek_random(const ek_rng *rng, uint8_t *out, size_t len);

/*
 * A deterministic generator for tests and reproducible vectors ONLY: the
 * stream is SHA-256(seed_hash || counter) blocks. Never use it for keys that
 * protect real data.
 */
typedef struct ek_rng_seeded {
    ek_rng rng; /* pass &s.rng to functions that take an ek_rng */
    uint8_t key[32];
    uint64_t counter;
    uint8_t block[32];
    size_t block_used;
} ek_rng_seeded;

EK_API void ek_rng_seeded_init(ek_rng_seeded *s, const uint8_t *seed, size_t seed_len);

/* ---------------------------------------------------------------------------
 * SHA-2 (OpenSSL's implementation, SHA-NI where the CPU has it).
 */
#define EK_SHA256_LEN 32
#define EK_SHA512_LEN 64

/* Opaque, stack-allocatable incremental states (sized for OpenSSL's). */
typedef struct ek_sha256_ctx {
    uint64_t opaque[16];
} ek_sha256_ctx;
typedef struct ek_sha512_ctx {
    uint64_t opaque[28];
} ek_sha512_ctx;

EK_API void ek_sha256(uint8_t out[EK_SHA256_LEN], const void *in, size_t len);
/* SHA-256 over the concatenation of parts[0..n). */
EK_API void ek_sha256_v(uint8_t out[EK_SHA256_LEN], const ek_iovec *parts, size_t n);
EK_API void ek_sha256_init(ek_sha256_ctx *c);
EK_API void ek_sha256_update(ek_sha256_ctx *c, const void *in, size_t len);
/* Writes the digest and wipes the state. */
EK_API void ek_sha256_final(ek_sha256_ctx *c, uint8_t out[EK_SHA256_LEN]);

EK_API void ek_sha512(uint8_t out[EK_SHA512_LEN], const void *in, size_t len);
EK_API void ek_sha512_init(ek_sha512_ctx *c);
EK_API void ek_sha512_update(ek_sha512_ctx *c, const void *in, size_t len);
EK_API void ek_sha512_final(ek_sha512_ctx *c, uint8_t out[EK_SHA512_LEN]);

/* ---------------------------------------------------------------------------
 * SHA-3 and SHAKE (FIPS 202), our own Keccak-f[1600].
 */
#define EK_SHA3_256_LEN 32
#define EK_SHA3_512_LEN 64

/* An incremental Keccak sponge: absorb any number of times, then squeeze any
 * number of times (the first squeeze pads). Plain data: copy it to fork a
 * state, wipe it with ek_wipe when it held secrets. */
typedef struct ek_keccak {
    uint64_t s[25];
    uint32_t pos;  /* byte position inside the current rate block */
    uint32_t rate; /* in bytes: 168 SHAKE128, 136 SHAKE256/SHA3-256, 72 SHA3-512 */
    uint8_t dsep;  /* domain separation byte: 0x1f SHAKE, 0x06 SHA-3 */
    uint8_t squeezing;
} ek_keccak;

EK_API void ek_shake128_init(ek_keccak *k);
EK_API void ek_shake256_init(ek_keccak *k);
EK_API void ek_keccak_absorb(ek_keccak *k, const void *in, size_t len);
EK_API void ek_keccak_squeeze(ek_keccak *k, uint8_t *out, size_t len);

EK_API void ek_sha3_256(uint8_t out[EK_SHA3_256_LEN], const void *in, size_t len);
EK_API void ek_sha3_512(uint8_t out[EK_SHA3_512_LEN], const void *in, size_t len);
EK_API void ek_shake128(uint8_t *out, size_t out_len, const void *in, size_t len);
EK_API void ek_shake256(uint8_t *out, size_t out_len, const void *in, size_t len);

/* ---------------------------------------------------------------------------
 * HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869).
 */
#define EK_HMAC_SHA256_LEN     32
/* Shortest tag ek_hmac_sha256_verify accepts (Signal v3 truncates to 8). */
#define EK_HMAC_MIN_TAG_LEN    8
#define EK_HKDF_SHA256_MAX_OUT ((size_t)255 * 32)

typedef struct ek_hmac_sha256_ctx {
    ek_sha256_ctx inner;
    ek_sha256_ctx outer;
} ek_hmac_sha256_ctx;

EK_API void ek_hmac_sha256(uint8_t out[EK_HMAC_SHA256_LEN], const void *key, size_t key_len,
                           const void *msg, size_t msg_len);
EK_API void ek_hmac_sha256_init(ek_hmac_sha256_ctx *c, const void *key, size_t key_len);
EK_API void ek_hmac_sha256_update(ek_hmac_sha256_ctx *c, const void *msg, size_t len);
/* Writes the tag and wipes the state. */
EK_API void ek_hmac_sha256_final(ek_hmac_sha256_ctx *c, uint8_t out[EK_HMAC_SHA256_LEN]);
/* Constant-time check of a tag of tag_len bytes (EK_HMAC_MIN_TAG_LEN..32),
 * compared against the leading bytes of the full HMAC. EK_OK or EK_ERR_AUTH;
 * EK_ERR_INVALID_ARG for a tag length outside the range. */
EK_API EK_MUST_CHECK int ek_hmac_sha256_verify(const uint8_t *tag, size_t tag_len, const void *key,
                                               size_t key_len, const void *msg, size_t msg_len);

/* HKDF-Extract: prk = HMAC(salt, ikm); an empty salt means 32 zero bytes. */
EK_API void ek_hkdf_sha256_extract(uint8_t prk[EK_SHA256_LEN], const void *salt, size_t salt_len,
                                   const void *ikm, size_t ikm_len);
/* HKDF-Expand. out_len must be 1..EK_HKDF_SHA256_MAX_OUT, else
 * EK_ERR_TOO_LARGE / EK_ERR_INVALID_ARG. prk_len must be >= 32. */
EK_API EK_MUST_CHECK int ek_hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t *prk,
                                               size_t prk_len, const void *info, size_t info_len);
/* Extract then Expand. */
EK_API EK_MUST_CHECK int ek_hkdf_sha256(uint8_t *out, size_t out_len, const void *salt,
                                        size_t salt_len, const void *ikm, size_t ikm_len,
                                        const void *info, size_t info_len);
/*
 * RFC 9420 §5.1 ExpandWithLabel(Secret, Label, Context, Length) =
 *   HKDF-Expand(Secret, KDFLabel, Length), where KDFLabel is
 *   struct { uint16 length; opaque label<V> = "MLS 1.0 " + Label;
 *            opaque context<V>; }  (<V> = MLS variable-length vectors, §2.1.2).
 * label is a NUL-terminated ASCII string without the "MLS 1.0 " prefix.
 */
EK_API EK_MUST_CHECK int ek_hkdf_expand_with_label(uint8_t *out, size_t out_len,
                                                   const uint8_t *secret, size_t secret_len,
                                                   const char *label, const void *context,
                                                   size_t context_len);

/* ---------------------------------------------------------------------------
 * AEAD, one-shot (RFC 5116 interface). The nonce must be 12 bytes; the
 * ciphertext is the encrypted plaintext followed by a 16-byte tag.
 * ct and pt may be the same buffer (exact overlap), never partially overlap.
 */
typedef enum ek_aead_alg {
    EK_AEAD_AES128GCM = 1, /* values match the HPKE AEAD ids */
    EK_AEAD_AES256GCM = 2,
    EK_AEAD_CHACHA20POLY1305 = 3,
} ek_aead_alg;

#define EK_AEAD_NONCE_LEN   12
#define EK_AEAD_TAG_LEN     16
#define EK_AEAD_MAX_KEY_LEN 32

/* Key length of alg in bytes, or 0 if alg is not an AEAD we support. */
EK_API size_t ek_aead_key_len(ek_aead_alg alg);

/* ct receives pt_len + EK_AEAD_TAG_LEN bytes. */
EK_API EK_MUST_CHECK int ek_aead_seal(uint8_t *ct, ek_aead_alg alg, const uint8_t *key,
                                      size_t key_len, const uint8_t *nonce, size_t nonce_len,
                                      const void *aad, size_t aad_len, const void *pt,
                                      size_t pt_len);
/* pt receives ct_len - EK_AEAD_TAG_LEN bytes, only if the tag verifies:
 * otherwise EK_ERR_AUTH and pt is wiped. */
EK_API EK_MUST_CHECK int ek_aead_open(uint8_t *pt, ek_aead_alg alg, const uint8_t *key,
                                      size_t key_len, const uint8_t *nonce, size_t nonce_len,
                                      const void *aad, size_t aad_len, const uint8_t *ct,
                                      size_t ct_len);

/* ---------------------------------------------------------------------------
 * AES-256-CBC with PKCS#7 padding: only for Signal v3 compatibility, whose
 * messages are encrypt-then-MAC. CBC is not authenticated: decrypt only what
 * a MAC has already verified. A padding failure is reported as EK_ERR_AUTH,
 * checked in constant time, and leaves no plaintext.
 */
#define EK_AES_CBC_BLOCK             16
/* The ciphertext length for pt_len bytes of plaintext (always padded). */
#define EK_AES256_CBC_CT_LEN(pt_len) (((pt_len) / EK_AES_CBC_BLOCK + 1) * EK_AES_CBC_BLOCK)

/* ct receives EK_AES256_CBC_CT_LEN(pt_len) bytes. */
EK_API EK_MUST_CHECK int ek_aes256_cbc_encrypt(uint8_t *ct, const uint8_t key[32],
                                               const uint8_t iv[EK_AES_CBC_BLOCK], const void *pt,
                                               size_t pt_len);
/* pt receives up to ct_len - 1 bytes; *pt_len the unpadded length. */
EK_API EK_MUST_CHECK int ek_aes256_cbc_decrypt(uint8_t *pt, size_t *pt_len, const uint8_t key[32],
                                               const uint8_t iv[EK_AES_CBC_BLOCK],
                                               const uint8_t *ct, size_t ct_len);

/* A reusable context for callers on a hot path (a ratchet session): it keeps
 * the algorithm lookup that costs OpenSSL ~0.4 us per one-shot call. It holds
 * no key between calls (the key schedule is wiped after each one). */
typedef struct ek_aes256_cbc_ctx ek_aes256_cbc_ctx;

EK_API EK_MUST_CHECK int ek_aes256_cbc_ctx_new(ek_aes256_cbc_ctx **out);
EK_API void ek_aes256_cbc_ctx_free(ek_aes256_cbc_ctx *c);
/* As ek_aes256_cbc_encrypt / ek_aes256_cbc_decrypt, through c. */
EK_API EK_MUST_CHECK int ek_aes256_cbc_encrypt_with(ek_aes256_cbc_ctx *c, uint8_t *ct,
                                                    const uint8_t key[32],
                                                    const uint8_t iv[EK_AES_CBC_BLOCK],
                                                    const void *pt, size_t pt_len);
EK_API EK_MUST_CHECK int ek_aes256_cbc_decrypt_with(ek_aes256_cbc_ctx *c, uint8_t *pt,
                                                    size_t *pt_len, const uint8_t key[32],
                                                    const uint8_t iv[EK_AES_CBC_BLOCK],
                                                    const uint8_t *ct, size_t ct_len);

/* ---------------------------------------------------------------------------
 * X25519 (RFC 7748).
 */
#define EK_X25519_LEN 32

EK_API EK_MUST_CHECK int ek_x25519_keypair(uint8_t pk[EK_X25519_LEN], uint8_t sk[EK_X25519_LEN],
                                           const ek_rng *rng);
EK_API EK_MUST_CHECK int ek_x25519_public(uint8_t pk[EK_X25519_LEN],
                                          const uint8_t sk[EK_X25519_LEN]);
/* shared = X25519(sk, pk). Fails with EK_ERR_WEAK_KEY when the result is
 * all zero (pk of small order; RFC 7748 §6.1, RFC 9180 §7.1.4). */
EK_API EK_MUST_CHECK int ek_x25519(uint8_t shared[EK_X25519_LEN], const uint8_t sk[EK_X25519_LEN],
                                   const uint8_t pk[EK_X25519_LEN]);

/* ---------------------------------------------------------------------------
 * Ed25519 (RFC 8032). The private key is the 32-byte seed; signing derives
 * the public key itself, so a mismatched public key can never be used.
 */
#define EK_ED25519_SEED_LEN   32
#define EK_ED25519_PUBLIC_LEN 32
#define EK_ED25519_SIG_LEN    64

EK_API EK_MUST_CHECK int ek_ed25519_keypair(uint8_t pk[EK_ED25519_PUBLIC_LEN],
                                            uint8_t seed[EK_ED25519_SEED_LEN], const ek_rng *rng);
EK_API EK_MUST_CHECK int ek_ed25519_public(uint8_t pk[EK_ED25519_PUBLIC_LEN],
                                           const uint8_t seed[EK_ED25519_SEED_LEN]);
EK_API EK_MUST_CHECK int ek_ed25519_sign(uint8_t sig[EK_ED25519_SIG_LEN],
                                         const uint8_t seed[EK_ED25519_SEED_LEN], const void *msg,
                                         size_t msg_len);
/* A signing key expanded once from its seed (the seed and its public key),
 * for callers that sign often: ek_ed25519_sign derives the public key on
 * every call. Only ek_ed25519_key_from_seed makes one, so its halves always
 * match (a mismatched public key would leak the private key). Wipe it with
 * ek_wipe when done. */
typedef struct ek_ed25519_key {
    uint8_t expanded[64]; /* seed || public key */
} ek_ed25519_key;

EK_API EK_MUST_CHECK int ek_ed25519_key_from_seed(ek_ed25519_key *k,
                                                  const uint8_t seed[EK_ED25519_SEED_LEN]);
/* The public half of k. */
EK_API const uint8_t *ek_ed25519_key_public(const ek_ed25519_key *k);
EK_API EK_MUST_CHECK int ek_ed25519_sign_with(uint8_t sig[EK_ED25519_SIG_LEN],
                                              const ek_ed25519_key *k, const void *msg,
                                              size_t msg_len);
/* Strict verification of a signature as it arrived (sig_len bytes; only 64
 * can verify): EK_OK, or EK_ERR_AUTH for any signature of the wrong length,
 * not canonical (S >= L), whose R or public key is of small order or not
 * canonically encoded, or that does not verify. */
EK_API EK_MUST_CHECK int ek_ed25519_verify(const uint8_t *sig, size_t sig_len,
                                           const uint8_t pk[EK_ED25519_PUBLIC_LEN], const void *msg,
                                           size_t msg_len);

/* ---------------------------------------------------------------------------
 * Argon2id (RFC 9106, version 0x13, one lane), for passphrases.
 */
#define EK_ARGON2ID_SALT_LEN 16
#define EK_ARGON2ID_MIN_OUT  16

/* out_len >= 16; t_cost >= 1 passes; m_cost in KiB (>= 8). */
EK_API EK_MUST_CHECK int ek_argon2id(uint8_t *out, size_t out_len, const void *pass,
                                     size_t pass_len, const uint8_t salt[EK_ARGON2ID_SALT_LEN],
                                     uint32_t t_cost, uint32_t m_cost_kib);

/* ---------------------------------------------------------------------------
 * Ed25519 group operations (for XEdDSA). XEdDSA (Signal's XEdDSA
 * specification, §2-§3) signs with a Montgomery (X25519) private key, so it
 * needs the group operations under Ed25519 that plain signing hides.
 * Scalars are 32-byte little-endian integers mod the group order
 * L = 2^252 + 27742317777372353535851937790883648493; points are 32-byte
 * Edwards encodings (RFC 8032 §5.1.2). Scalar operations and the base-point
 * multiplication are constant time (libsodium's crypto_core_ed25519_* and
 * crypto_scalarmult_ed25519_base_noclamp); the Montgomery-to-Edwards
 * conversion handles public data only.
 */
#define EK_ED25519_SCALAR_LEN      32
#define EK_ED25519_WIDE_SCALAR_LEN 64
#define EK_ED25519_POINT_LEN       32

/* out = in mod L, for a 64-byte little-endian in (e.g. a SHA-512 digest). */
EK_API void ek_ed25519_scalar_reduce(uint8_t out[EK_ED25519_SCALAR_LEN],
                                     const uint8_t in[EK_ED25519_WIDE_SCALAR_LEN]);
/* z = x * y mod L. */
EK_API void ek_ed25519_scalar_mul(uint8_t z[EK_ED25519_SCALAR_LEN],
                                  const uint8_t x[EK_ED25519_SCALAR_LEN],
                                  const uint8_t y[EK_ED25519_SCALAR_LEN]);
/* z = x + y mod L. */
EK_API void ek_ed25519_scalar_add(uint8_t z[EK_ED25519_SCALAR_LEN],
                                  const uint8_t x[EK_ED25519_SCALAR_LEN],
                                  const uint8_t y[EK_ED25519_SCALAR_LEN]);
/* neg = -s mod L. */
EK_API void ek_ed25519_scalar_negate(uint8_t neg[EK_ED25519_SCALAR_LEN],
                                     const uint8_t s[EK_ED25519_SCALAR_LEN]);
/* point = s * B for the Ed25519 base point B, without clamping s. The top
 * bit of s is ignored (s < 2^255). EK_ERR_WEAK_KEY when s is zero or the
 * result is the neutral element (s a multiple of L). */
EK_API EK_MUST_CHECK int ek_ed25519_scalarmult_base_noclamp(uint8_t point[EK_ED25519_POINT_LEN],
                                                            const uint8_t s[EK_ED25519_SCALAR_LEN]);
/* The Edwards encoding of the point whose Montgomery u-coordinate is u:
 * y = (u - 1) / (u + 1) mod p (XEdDSA §2.3 u_to_y), with sign_bit (0 or 1)
 * as the encoding's top bit. EK_ERR_BAD_KEY when u is not a canonical field
 * element (u >= 2^255 - 19); EK_ERR_INVALID_ARG when sign_bit is not 0/1.
 * The result is not checked to be on the curve or of large order: a
 * verifier does that. */
EK_API EK_MUST_CHECK int ek_ed25519_from_x25519_public(uint8_t ed_pk[EK_ED25519_POINT_LEN],
                                                       const uint8_t u[EK_X25519_LEN],
                                                       int sign_bit);

#ifdef __cplusplus
}
#endif
#endif /* EK_CRYPTO_H */
