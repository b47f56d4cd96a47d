/*
 * xeddsa.c: XEd25519 signatures with X25519 keys (Signal's "The XEdDSA and
 * VXEdDSA Signature Schemes", rev. 1), as Signal signs its signed prekeys.
 *
 * Signing follows §3 literally: calculate_key_pair (§2.3) turns the
 * Montgomery private key k into the Edwards key pair (A, a) whose A has
 * sign bit 0, r = hash_1(a || M || Z) with 64 random bytes Z, R = rB,
 * h = hash(R || A || M), s = r + ha (mod q). Everything that touches k, a
 * or r is constant time: libsodium's scalar and base-point code, and a
 * masked select instead of a branch on the sign of kB.
 *
 * Verification follows libsignal, which is the spec's xeddsa_verify plus
 * one extension: the top bit of the signature's last byte carries the sign
 * of A (old Signal signers set it; §3 signers never do, s < q < 2^253), and
 * the check itself is strict Ed25519 verification (libsodium's: canonical
 * s, no small-order A or R), which subsumes the spec's range checks.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

/* XEdDSA §2.5: hash_i(X) = hash(2^b - 1 - i || X), the prefix b = 256 bits
 * little-endian; for i = 1 that is 0xFE followed by 31 0xFF. */
static void hash1_prefix(uint8_t prefix[32])
{
    memset(prefix, 0xff, 32);
    prefix[0] = 0xfe;
}

/* XEdDSA §2.3 calculate_key_pair(k): E = kB; A = E with sign bit 0;
 * a = k or -k (mod q) so that aB = A. The choice uses a mask, not a
 * branch, since the sign of E is secret. */
static int calculate_key_pair(uint8_t A[32], uint8_t a[32], const uint8_t k[32])
{
    uint8_t wide[64] = {0}, k_mod_q[32], neg[32];
    int rc = ek_ed25519_scalarmult_base_noclamp(A, k);
    if (rc == EK_OK) {
        uint8_t mask = (uint8_t)(0u - (uint8_t)(A[31] >> 7)); /* 0xff if E.s == 1 */
        A[31] &= 0x7f;
        memcpy(wide, k, 32);
        ek_ed25519_scalar_reduce(k_mod_q, wide);
        ek_ed25519_scalar_negate(neg, k_mod_q);
        for (int i = 0; i < 32; i++)
            a[i] = (uint8_t)((k_mod_q[i] & ~mask) | (neg[i] & mask));
    }
    ek_wipe(wide, sizeof(wide));
    ek_wipe(k_mod_q, sizeof(k_mod_q));
    ek_wipe(neg, sizeof(neg));
    return rc;
}

int ek_xeddsa_sign_with_random(uint8_t sig[EK_XEDDSA_SIG_LEN],
                               const uint8_t sk[EK_RATCHET_PRIVATE_LEN], const void *msg,
                               size_t msg_len, const uint8_t z[EK_XEDDSA_RANDOM_LEN])
{
    if (sig == NULL || sk == NULL || z == NULL || (msg == NULL && msg_len > 0))
        return EK_ERR_INVALID_ARG;
    uint8_t k[32], A[32], a[32], r[32], h[32], ha[32], digest[64], prefix[32];
    /* The X25519 private key as X25519 uses it (RFC 7748 §5 clamping). */
    memcpy(k, sk, 32);
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    int rc = calculate_key_pair(A, a, k);
    if (rc == EK_OK) {
        ek_sha512_ctx c;
        hash1_prefix(prefix);
        ek_sha512_init(&c);
        ek_sha512_update(&c, prefix, sizeof(prefix));
        ek_sha512_update(&c, a, sizeof(a));
        ek_sha512_update(&c, msg, msg_len);
        ek_sha512_update(&c, z, EK_XEDDSA_RANDOM_LEN);
        ek_sha512_final(&c, digest);
        ek_ed25519_scalar_reduce(r, digest);
        rc = ek_ed25519_scalarmult_base_noclamp(sig, r); /* R; fails only for r = 0 */
    }
    if (rc == EK_OK) {
        ek_sha512_ctx c;
        ek_sha512_init(&c);
        ek_sha512_update(&c, sig, 32);
        ek_sha512_update(&c, A, sizeof(A));
        ek_sha512_update(&c, msg, msg_len);
        ek_sha512_final(&c, digest);
        ek_ed25519_scalar_reduce(h, digest);
        ek_ed25519_scalar_mul(ha, h, a);
        ek_ed25519_scalar_add(sig + 32, r, ha);
    } else {
        ek_wipe(sig, EK_XEDDSA_SIG_LEN);
    }
    ek_wipe(k, sizeof(k));
    ek_wipe(a, sizeof(a));
    ek_wipe(r, sizeof(r));
    ek_wipe(ha, sizeof(ha));
    ek_wipe(digest, sizeof(digest));
    return rc;
}

int ek_xeddsa_sign(uint8_t sig[EK_XEDDSA_SIG_LEN], const uint8_t sk[EK_RATCHET_PRIVATE_LEN],
                   const void *msg, size_t msg_len, const ek_rng *rng)
{
    uint8_t z[EK_XEDDSA_RANDOM_LEN];
    int rc = ek_random(rng, z, sizeof(z));
    if (rc == EK_OK)
        rc = ek_xeddsa_sign_with_random(sig, sk, msg, msg_len, z);
    ek_wipe(z, sizeof(z));
    return rc;
}

int ek_xeddsa_verify(const uint8_t *sig, size_t sig_len, const uint8_t u[EK_X25519_LEN],
                     const void *msg, size_t msg_len)
{
    if ((sig == NULL && sig_len > 0) || u == NULL || (msg == NULL && msg_len > 0))
        return EK_ERR_INVALID_ARG;
    if (sig_len != EK_XEDDSA_SIG_LEN)
        return EK_ERR_AUTH;
    uint8_t A[32], ed_sig[EK_XEDDSA_SIG_LEN];
    /* XEdDSA §3 xeddsa_verify: u >= p fails; convert_mont(u) (§2.3), with
     * the sign bit taken from the signature as libsignal does. */
    if (ek_ed25519_from_x25519_public(A, u, sig[63] >> 7) != EK_OK)
        return EK_ERR_AUTH;
    memcpy(ed_sig, sig, sizeof(ed_sig));
    ed_sig[63] &= 0x7f;
    return ek_ed25519_verify(ed_sig, sizeof(ed_sig), A, msg, msg_len) == EK_OK ? EK_OK
                                                                               : EK_ERR_AUTH;
}
