/*
 * keys.c: identity keys, signed and one-time prekeys (X3DH §2.4, §3.2) and
 * Signal's serialized public key, 0x05 || the X25519 u-coordinate (the
 * Encode(PK) of X3DH §2.1).
 *
 * Peer to peer there is no prekey server, so a responder makes one signed
 * prekey (and optionally one one-time prekey) for each session it offers
 * and sends them in a bundle (bundle.c); the session that answers keeps
 * them only until X3DH is done.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

/* libsignal's registration ids are 1..16380 (key_helper.h). */
enum { REGISTRATION_ID_MAX = 16380 };

void ratchet_public_key(uint8_t out[EK_RATCHET_PUBLIC_LEN], const uint8_t u[32])
{
    out[0] = EK_RATCHET_KEY_TYPE;
    memcpy(out + 1, u, 32);
}

/* 1 if the little-endian u is below p = 2^255 - 19. X25519 would ignore
 * bit 255 and reduce mod p, so without this check one key would have many
 * encodings; every X25519 implementation we meet writes canonical ones. */
static int u_is_canonical(const uint8_t u[32])
{
    if (u[31] != 0x7f)
        return u[31] < 0x7f;
    for (int i = 30; i > 0; i--)
        if (u[i] != 0xff)
            return 1;
    return u[0] < 0xed;
}

int ratchet_parse_public_key(const uint8_t **u, const uint8_t in[EK_RATCHET_PUBLIC_LEN])
{
    if (in[0] != EK_RATCHET_KEY_TYPE || !u_is_canonical(in + 1))
        return EK_ERR_DECODE;
    *u = in + 1;
    return EK_OK;
}

int ek_ratchet_keypair_from_private(ek_ratchet_keypair *kp,
                                    const uint8_t priv[EK_RATCHET_PRIVATE_LEN])
{
    if (kp == NULL || priv == NULL)
        return EK_ERR_INVALID_ARG;
    uint8_t u[32];
    int rc = ek_x25519_public(u, priv);
    if (rc == EK_OK) {
        memmove(kp->priv, priv, EK_RATCHET_PRIVATE_LEN);
        ratchet_public_key(kp->pub, u);
    } else {
        ek_wipe(kp, sizeof(*kp));
    }
    return rc;
}

int ek_ratchet_keypair_generate(ek_ratchet_keypair *kp, const ek_rng *rng)
{
    if (kp == NULL)
        return EK_ERR_INVALID_ARG;
    uint8_t u[32];
    int rc = ek_x25519_keypair(u, kp->priv, rng);
    if (rc == EK_OK)
        ratchet_public_key(kp->pub, u);
    else
        ek_wipe(kp, sizeof(*kp));
    return rc;
}

int ek_ratchet_identity_generate(ek_ratchet_identity *id, const ek_rng *rng)
{
    if (id == NULL)
        return EK_ERR_INVALID_ARG;
    uint8_t r[4];
    int rc = ek_ratchet_keypair_generate(&id->key, rng);
    if (rc == EK_OK)
        rc = ek_random(rng, r, sizeof(r));
    if (rc != EK_OK) {
        ek_wipe(id, sizeof(*id));
        return rc;
    }
    uint32_t x = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
    id->registration_id = 1 + x % REGISTRATION_ID_MAX; /* the bias is immaterial */
    return EK_OK;
}

int ek_ratchet_prekeys_generate(ek_ratchet_prekeys *pk, const ek_ratchet_identity *id,
                                uint32_t signed_id, int with_one_time, uint32_t one_time_id,
                                const ek_rng *rng)
{
    if (pk == NULL || id == NULL)
        return EK_ERR_INVALID_ARG;
    memset(pk, 0, sizeof(*pk));
    pk->signed_prekey_id = signed_id;
    /* X3DH §3.2: Sig(IK_B, Encode(SPK_B)), Encode being the 33-byte form. */
    int rc = ek_ratchet_keypair_generate(&pk->signed_prekey, rng);
    if (rc == EK_OK)
        rc = ek_xeddsa_sign(pk->signature, id->key.priv, pk->signed_prekey.pub,
                            EK_RATCHET_PUBLIC_LEN, rng);
    if (rc == EK_OK && with_one_time) {
        pk->has_one_time_prekey = 1;
        pk->one_time_prekey_id = one_time_id;
        rc = ek_ratchet_keypair_generate(&pk->one_time_prekey, rng);
    }
    if (rc != EK_OK)
        ek_wipe(pk, sizeof(*pk));
    return rc;
}
