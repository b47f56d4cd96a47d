/*
 * kdf.c: the key derivations of Signal's protocol version 3, with
 * libsignal's inputs:
 *   X3DH (X3DH §2.2, §3.3): HKDF(0^32, 0xFF^32 || DH..., "WhisperText", 64)
 *   root KDF (Double Ratchet §5.2): HKDF(rk, dh, "WhisperRatchet", 64)
 *   chain KDF (Double Ratchet §5.2): HMAC(ck, 0x01) / HMAC(ck, 0x02)
 *   message keys: HKDF(0^32, seed, "WhisperMessageKeys", 80)
 *
 * The chain and message-key steps run once per message on each side, so
 * they keep HMAC key schedules instead of re-keying: one schedule of ck
 * serves both of its HMACs, the all-zero salt's schedule is made once per
 * session, and the PRK's schedule serves all three HKDF-Expand blocks.
 * ek_hmac_sha256_ctx holds plain hash state (no pointers), so forking it by
 * assignment is sound.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

static const char info_text[] = "WhisperText";
static const char info_ratchet[] = "WhisperRatchet";
static const char info_message_keys[] = "WhisperMessageKeys";

/* X3DH §2.2: the KDF input starts with F, 32 0xFF bytes for X25519, for
 * domain separation from XEdDSA's hashes. */
enum { X3DH_PREFIX_LEN = 32, X3DH_MAX_DH = 4 };

void kdf_zero_salt_init(ek_hmac_sha256_ctx *c)
{
    static const uint8_t zeros[32] = {0};
    ek_hmac_sha256_init(c, zeros, sizeof(zeros));
}

int kdf_x3dh(uint8_t root_key[32], uint8_t chain_key[32], const uint8_t *dh, size_t dh_len)
{
    uint8_t ikm[X3DH_PREFIX_LEN + X3DH_MAX_DH * 32], out[64];
    if (dh_len > sizeof(ikm) - X3DH_PREFIX_LEN)
        return EK_ERR_INVALID_ARG;
    memset(ikm, 0xff, X3DH_PREFIX_LEN);
    memcpy(ikm + X3DH_PREFIX_LEN, dh, dh_len);
    int rc = ek_hkdf_sha256(out, sizeof(out), NULL, 0, ikm, X3DH_PREFIX_LEN + dh_len, info_text,
                            sizeof(info_text) - 1);
    if (rc == EK_OK) {
        memcpy(root_key, out, 32);
        memcpy(chain_key, out + 32, 32);
    }
    ek_wipe(ikm, sizeof(ikm));
    ek_wipe(out, sizeof(out));
    return rc;
}

int kdf_root(uint8_t new_root_key[32], uint8_t chain_key[32], const uint8_t root_key[32],
             const uint8_t dh[32])
{
    uint8_t out[64];
    int rc = ek_hkdf_sha256(out, sizeof(out), root_key, 32, dh, 32, info_ratchet,
                            sizeof(info_ratchet) - 1);
    if (rc == EK_OK) {
        memcpy(new_root_key, out, 32);
        memcpy(chain_key, out + 32, 32);
    }
    ek_wipe(out, sizeof(out));
    return rc;
}

void kdf_chain(uint8_t seed[32], uint8_t next_chain_key[32], const uint8_t chain_key[32])
{
    static const uint8_t message_key_seed = 0x01, chain_key_seed = 0x02;
    ek_hmac_sha256_ctx keyed, c;
    ek_hmac_sha256_init(&keyed, chain_key, 32);
    c = keyed;
    ek_hmac_sha256_update(&c, &message_key_seed, 1);
    ek_hmac_sha256_final(&c, seed);
    ek_hmac_sha256_update(&keyed, &chain_key_seed, 1);
    ek_hmac_sha256_final(&keyed, next_chain_key);
}

void kdf_message_keys(message_keys *mk, const uint8_t seed[32], const ek_hmac_sha256_ctx *zero_salt)
{
    enum { INFO_LEN = sizeof(info_message_keys) - 1 };
    ek_hmac_sha256_ctx c, prk_keyed;
    uint8_t prk[32], t[3][32];
    /* T(i-1) || info || i, built once so each block is one update. */
    uint8_t in[32 + INFO_LEN + 1];
    memcpy(in + 32, info_message_keys, INFO_LEN);
    /* HKDF-Extract with the zero salt (RFC 5869 §2.2). */
    if (zero_salt != NULL)
        c = *zero_salt;
    else
        kdf_zero_salt_init(&c);
    ek_hmac_sha256_update(&c, seed, 32);
    ek_hmac_sha256_final(&c, prk);
    /* HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC(prk, T(i-1) || info || i). */
    ek_hmac_sha256_init(&prk_keyed, prk, sizeof(prk));
    for (uint8_t i = 1; i <= 3; i++) {
        c = prk_keyed;
        in[sizeof(in) - 1] = i;
        if (i == 1) {
            ek_hmac_sha256_update(&c, in + 32, INFO_LEN + 1);
        } else {
            memcpy(in, t[i - 2], 32);
            ek_hmac_sha256_update(&c, in, sizeof(in));
        }
        ek_hmac_sha256_final(&c, t[i - 1]);
    }
    memcpy(mk->cipher_key, t[0], 32);
    memcpy(mk->mac_key, t[1], 32);
    memcpy(mk->iv, t[2], RATCHET_IV_LEN);
    ek_wipe(&prk_keyed, sizeof(prk_keyed));
    ek_wipe(prk, sizeof(prk));
    ek_wipe(t, sizeof(t));
    ek_wipe(in, sizeof(in));
}
