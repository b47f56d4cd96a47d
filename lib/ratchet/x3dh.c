/*
 * x3dh.c: the X3DH key agreement (Signal's X3DH specification, §3.3 and
 * §3.4) down to the first root and chain key, as libsignal computes it:
 *
 *   DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)
 *   DH4 = DH(EK_A, OPK_B)   (only when a one-time prekey is used)
 *   root_key || chain_key = KDF(DH1 || DH2 || DH3 [|| DH4])   (kdf.c)
 *
 * Both sides compute the same four agreements from opposite halves of each
 * key pair. Any agreement with a small-order key fails (EK_ERR_WEAK_KEY).
 * Checking the signed prekey's signature (§3.3) is the session's job
 * before it calls x3dh_initiate_secret.
 */
#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

/* DH outputs, then the KDF; the DH buffer is wiped on every path. */
static int x3dh_finish(uint8_t root_key[32], uint8_t chain_key[32], uint8_t dh[4][32], int rc,
                       size_t n_dh)
{
    if (rc == EK_OK)
        rc = kdf_x3dh(root_key, chain_key, &dh[0][0], n_dh * 32);
    ek_wipe(dh, 4 * sizeof(dh[0]));
    return rc;
}

int x3dh_initiate_secret(uint8_t root_key[32], uint8_t chain_key[32],
                         const uint8_t identity_priv[32], const uint8_t base_priv[32],
                         const uint8_t peer_identity[32], const uint8_t peer_signed_prekey[32],
                         const uint8_t *peer_one_time_prekey)
{
    uint8_t dh[4][32];
    int rc = ek_x25519(dh[0], identity_priv, peer_signed_prekey);
    if (rc == EK_OK)
        rc = ek_x25519(dh[1], base_priv, peer_identity);
    if (rc == EK_OK)
        rc = ek_x25519(dh[2], base_priv, peer_signed_prekey);
    if (rc == EK_OK && peer_one_time_prekey != NULL)
        rc = ek_x25519(dh[3], base_priv, peer_one_time_prekey);
    return x3dh_finish(root_key, chain_key, dh, rc, peer_one_time_prekey != NULL ? 4 : 3);
}

int x3dh_respond_secret(uint8_t root_key[32], uint8_t chain_key[32],
                        const uint8_t identity_priv[32], const uint8_t signed_prekey_priv[32],
                        const uint8_t *one_time_prekey_priv, const uint8_t peer_identity[32],
                        const uint8_t peer_base_key[32])
{
    uint8_t dh[4][32];
    int rc = ek_x25519(dh[0], signed_prekey_priv, peer_identity);
    if (rc == EK_OK)
        rc = ek_x25519(dh[1], identity_priv, peer_base_key);
    if (rc == EK_OK)
        rc = ek_x25519(dh[2], signed_prekey_priv, peer_base_key);
    if (rc == EK_OK && one_time_prekey_priv != NULL)
        rc = ek_x25519(dh[3], one_time_prekey_priv, peer_base_key);
    return x3dh_finish(root_key, chain_key, dh, rc, one_time_prekey_priv != NULL ? 4 : 3);
}
