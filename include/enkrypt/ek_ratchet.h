/*
 * ek_ratchet.h: the Signal layer: XEdDSA, X3DH and the Double Ratchet,
 * wire-compatible with Signal's protocol version 3 as libsignal-protocol-c
 * speaks it (SignalMessage / PreKeySignalMessage, AES-256-CBC + HMAC-SHA256
 * truncated to 8 bytes).
 *
 * Specifications: Signal's "The XEdDSA and VXEdDSA Signature Schemes"
 * (rev. 1), "The X3DH Key Agreement Protocol" (rev. 1) and "The Double
 * Ratchet Algorithm" (rev. 1), with libsignal's KDF inputs ("WhisperText",
 * "WhisperRatchet", "WhisperMessageKeys"). docs/ratchet.md describes the
 * bounds, the saved-state format and the peer-to-peer bundle exchange.
 *
 * Peer to peer, there is no prekey server: the responder ("Bob") makes a
 * fresh signed prekey (and optionally a one-time prekey) for one session,
 * sends the serialized bundle to the initiator ("Alice") over the data
 * channel, and waits for her first PreKeySignalMessage.
 *
 *   Bob:   ek_ratchet_identity_generate, ek_ratchet_prekeys_generate,
 *          ek_ratchet_bundle_from_prekeys, ek_ratchet_bundle_encode -> send;
 *          ek_ratchet_session_new_responder.
 *   Alice: ek_ratchet_bundle_decode, ek_ratchet_session_new_initiator
 *          (verifies the bundle's signature: X3DH §3.3).
 *   Both:  ek_ratchet_seal / ek_ratchet_open (bytes in, bytes out, with
 *          associated data), ek_ratchet_session_save / _restore, _free.
 *
 * Public keys are Signal-serialized: 33 bytes, 0x05 || X25519 u, with u
 * canonical (below 2^255 - 19; anything else is refused). Private keys are
 * 32-byte X25519 scalars.
 *
 * Errors from opening a message (no state changes on any of them):
 *   EK_ERR_DECODE      malformed message (protobuf, key encoding, lengths)
 *   EK_ERR_UNSUPPORTED a version byte other than 0x33 (version 3)
 *   EK_ERR_AUTH        the MAC or the padding does not verify, or the message
 *                      was already opened (replay, duplicate) or its key was
 *                      dropped (too old): its message key no longer exists
 *   EK_ERR_LIMIT       the message would need more than EK_RATCHET_MAX_SKIP
 *                      skipped message keys
 *   EK_ERR_WEAK_KEY    the sender's ratchet key is of small order
 *   EK_ERR_BAD_KEY     a PreKeySignalMessage names prekeys we do not hold
 *   EK_ERR_STATE       a message the session cannot take in its state (a
 *                      SignalMessage before the session exists, a second
 *                      X3DH on an established session)
 *   EK_ERR_TOO_LARGE   the output buffer is too small, or the message is
 *                      larger than EK_RATCHET_MAX_PLAINTEXT allows
 *   EK_ERR_NOMEM, EK_ERR_RNG  resources failed (the message may be retried)
 */
#ifndef EK_RATCHET_H
#define EK_RATCHET_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_crypto.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Sizes and bounds.
 */
#define EK_RATCHET_PUBLIC_LEN  33 /* 0x05 || u */
#define EK_RATCHET_PRIVATE_LEN 32
#define EK_RATCHET_KEY_TYPE    0x05 /* Signal's DJB key type byte */
#define EK_XEDDSA_SIG_LEN      64
#define EK_XEDDSA_RANDOM_LEN   64 /* Z, XEdDSA §3 */
#define EK_RATCHET_MAC_LEN     8  /* Signal v3 truncates the HMAC */
#define EK_RATCHET_VERSION     3

/* Skipped message keys (Double Ratchet §3.5 MAX_SKIP; §6.4 deletion).
 * One message may make the receiver derive and store at most
 * EK_RATCHET_MAX_SKIP keys of one chain (messages); a message further ahead
 * is rejected with EK_ERR_LIMIT (libsignal-protocol-c has the same 2000).
 * At most EK_RATCHET_MAX_SKIPPED_KEYS keys are kept in all (the oldest are
 * dropped first), and only for the current and EK_RATCHET_MAX_OLD_CHAINS
 * previous receiving chains: older chains are dropped with their keys. */
#define EK_RATCHET_MAX_SKIP         2000
#define EK_RATCHET_MAX_SKIPPED_KEYS 2000
#define EK_RATCHET_MAX_OLD_CHAINS   4
/* The largest plaintext one message may carry, in bytes (1 MiB). */
#define EK_RATCHET_MAX_PLAINTEXT    ((size_t)1 << 20)

/* Message types, as libsignal's CIPHERTEXT_SIGNAL_TYPE / _PREKEY_TYPE. */
#define EK_RATCHET_MSG_SIGNAL 2
#define EK_RATCHET_MSG_PREKEY 3

/* ---------------------------------------------------------------------------
 * XEdDSA (XEdDSA §3) over Curve25519 identity keys.
 */

/* Sign msg with the X25519 private key sk, using 64 fresh random bytes Z
 * from rng (NULL = the system RNG). Constant time in sk. */
EK_API EK_MUST_CHECK int ek_xeddsa_sign(uint8_t sig[EK_XEDDSA_SIG_LEN],
                                        const uint8_t sk[EK_RATCHET_PRIVATE_LEN], const void *msg,
                                        size_t msg_len, const ek_rng *rng);
/* The same with a caller-supplied Z (for reproducible tests only). */
EK_API EK_MUST_CHECK int ek_xeddsa_sign_with_random(uint8_t sig[EK_XEDDSA_SIG_LEN],
                                                    const uint8_t sk[EK_RATCHET_PRIVATE_LEN],
                                                    const void *msg, size_t msg_len,
                                                    const uint8_t z[EK_XEDDSA_RANDOM_LEN]);
/* Verify under the X25519 public key u (32 bytes, no type byte), as
 * libsignal does: the top bit of sig[63] is the sign of the Edwards key
 * (always 0 for signatures of XEdDSA §3; set by older Signal signers), then
 * strict Ed25519 verification. EK_OK or EK_ERR_AUTH. */
EK_API EK_MUST_CHECK int ek_xeddsa_verify(const uint8_t *sig, size_t sig_len,
                                          const uint8_t u[EK_X25519_LEN], const void *msg,
                                          size_t msg_len);

/* ---------------------------------------------------------------------------
 * Keys and bundles.
 */
typedef struct ek_ratchet_keypair {
    uint8_t pub[EK_RATCHET_PUBLIC_LEN];
    uint8_t priv[EK_RATCHET_PRIVATE_LEN];
} ek_ratchet_keypair;

/* A long-term identity: the key pair and Signal's registration id. */
typedef struct ek_ratchet_identity {
    ek_ratchet_keypair key;
    uint32_t registration_id; /* 1..16380, as libsignal makes them */
} ek_ratchet_identity;

/* The responder's secret half of a bundle: one signed prekey, optionally
 * one one-time prekey (X3DH §3.2). */
typedef struct ek_ratchet_prekeys {
    uint32_t signed_prekey_id;
    ek_ratchet_keypair signed_prekey;
    uint8_t signature[EK_XEDDSA_SIG_LEN]; /* XEdDSA over signed_prekey.pub */
    int has_one_time_prekey;
    uint32_t one_time_prekey_id;
    ek_ratchet_keypair one_time_prekey;
} ek_ratchet_prekeys;

/* What the responder sends: public values only. */
typedef struct ek_ratchet_bundle {
    uint32_t registration_id;
    uint32_t device_id;
    uint8_t identity_key[EK_RATCHET_PUBLIC_LEN];
    uint32_t signed_prekey_id;
    uint8_t signed_prekey[EK_RATCHET_PUBLIC_LEN];
    uint8_t signed_prekey_signature[EK_XEDDSA_SIG_LEN];
    int has_one_time_prekey;
    uint32_t one_time_prekey_id;
    uint8_t one_time_prekey[EK_RATCHET_PUBLIC_LEN];
} ek_ratchet_bundle;

/* The largest encoded bundle, in bytes. */
#define EK_RATCHET_BUNDLE_MAX_LEN 256

EK_API EK_MUST_CHECK int ek_ratchet_keypair_generate(ek_ratchet_keypair *kp, const ek_rng *rng);
/* Rebuild a key pair from its private key (the public key is derived). */
EK_API EK_MUST_CHECK int
ek_ratchet_keypair_from_private(ek_ratchet_keypair *kp, const uint8_t priv[EK_RATCHET_PRIVATE_LEN]);
EK_API EK_MUST_CHECK int ek_ratchet_identity_generate(ek_ratchet_identity *id, const ek_rng *rng);
/* A signed prekey with id signed_id, signed by id; and a one-time prekey
 * with one_time_id when with_one_time is nonzero. */
EK_API EK_MUST_CHECK int ek_ratchet_prekeys_generate(ek_ratchet_prekeys *pk,
                                                     const ek_ratchet_identity *id,
                                                     uint32_t signed_id, int with_one_time,
                                                     uint32_t one_time_id, const ek_rng *rng);
EK_API void ek_ratchet_bundle_from_prekeys(ek_ratchet_bundle *b, const ek_ratchet_identity *id,
                                           const ek_ratchet_prekeys *pk, uint32_t device_id);
/* EK_OK if the signed prekey's signature verifies under the identity key
 * and every key is well formed; else EK_ERR_AUTH / EK_ERR_DECODE. */
EK_API EK_MUST_CHECK int ek_ratchet_bundle_verify(const ek_ratchet_bundle *b);
/* Serialize for the data channel (docs/ratchet.md): *out_len bytes, at
 * most EK_RATCHET_BUNDLE_MAX_LEN. */
EK_API EK_MUST_CHECK int ek_ratchet_bundle_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                                                  const ek_ratchet_bundle *b);
/* Parse (strictly: every field once, no unknown fields, no trailing bytes)
 * and verify the signature. */
EK_API EK_MUST_CHECK int ek_ratchet_bundle_decode(ek_ratchet_bundle *b, const uint8_t *in,
                                                  size_t in_len);

/* ---------------------------------------------------------------------------
 * Sessions.
 */
typedef struct ek_ratchet_session ek_ratchet_session;

/*
 * Alice: run X3DH (§3.3) against a peer's bundle; the bundle's signature is
 * verified first (EK_ERR_AUTH). Until she has opened a message from Bob,
 * what she seals are PreKeySignalMessages. a and rng may be NULL (malloc,
 * the system RNG); both must outlive the session.
 */
EK_API EK_MUST_CHECK int ek_ratchet_session_new_initiator(ek_ratchet_session **out,
                                                          const ek_allocator *a, const ek_rng *rng,
                                                          const ek_ratchet_identity *self,
                                                          const ek_ratchet_bundle *peer);
/*
 * Bob: a session that waits for Alice's first PreKeySignalMessage, made
 * with these prekeys (copied; the caller may wipe its own). When
 * expected_peer is not NULL (33 bytes), a PreKeySignalMessage from any
 * other identity key is refused (EK_ERR_AUTH).
 */
EK_API EK_MUST_CHECK int ek_ratchet_session_new_responder(ek_ratchet_session **out,
                                                          const ek_allocator *a, const ek_rng *rng,
                                                          const ek_ratchet_identity *self,
                                                          const ek_ratchet_prekeys *prekeys,
                                                          const uint8_t *expected_peer);
/* Wipe and free (NULL is fine). */
EK_API void ek_ratchet_session_free(ek_ratchet_session *s);

/* 1 once the session can seal (Alice at once; Bob after Alice's first
 * message), else 0. */
EK_API int ek_ratchet_session_ready(const ek_ratchet_session *s);
/* The peer's identity key (33 bytes); EK_ERR_STATE before it is known. */
EK_API EK_MUST_CHECK int ek_ratchet_session_peer_identity(uint8_t out[EK_RATCHET_PUBLIC_LEN],
                                                          const ek_ratchet_session *s);

/* The most bytes ek_ratchet_encrypt may write for pt_len bytes of
 * plaintext; ek_ratchet_seal writes one more. */
EK_API size_t ek_ratchet_encrypt_max_len(size_t pt_len);

/*
 * Encrypt one message (Double Ratchet §3.4) as a v3 SignalMessage, or a
 * PreKeySignalMessage around it while Alice is unacknowledged; *type says
 * which (EK_RATCHET_MSG_*). Associated data ad (may be empty) is bound into
 * the MAC. With ad_len == 0 the MAC input is exactly libsignal's,
 *   IK_sender(33) || IK_receiver(33) || SignalMessage body,
 * and, as in Signal v3, a PreKeySignalMessage's registrationId is not
 * authenticated (its other fields are, through X3DH). With ad_len > 0 it is
 *   IK_sender || IK_receiver || u64be(ad_len) || ad || u64be(hdr_len) ||
 *   hdr || SignalMessage body,
 * hdr being the PreKeySignalMessage bytes around the inner message (empty
 * for a bare SignalMessage), so every byte on the wire is authenticated.
 * pt must not overlap out.
 */
EK_API EK_MUST_CHECK int ek_ratchet_encrypt(uint8_t *out, size_t out_cap, size_t *out_len,
                                            int *type, ek_ratchet_session *s, const void *ad,
                                            size_t ad_len, const void *pt, size_t pt_len);
/*
 * Decrypt one message of the given type (Double Ratchet §3.5). out needs
 * room for msg_len bytes (the padded ciphertext is decrypted in place
 * there); *out_len is the plaintext length. The session changes only when
 * the message verifies: everything is computed on a scratch copy of the
 * state, committed on success. out must not overlap msg.
 */
EK_API EK_MUST_CHECK int ek_ratchet_decrypt(uint8_t *out, size_t out_cap, size_t *out_len,
                                            ek_ratchet_session *s, int type, const void *ad,
                                            size_t ad_len, const uint8_t *msg, size_t msg_len);

/* The cascade's layer interface: the type byte followed by the message.
 * ek_ratchet_seal writes at most ek_ratchet_encrypt_max_len(pt_len) + 1
 * bytes; ek_ratchet_open needs out_cap >= sealed_len. */
EK_API EK_MUST_CHECK int ek_ratchet_seal(uint8_t *out, size_t out_cap, size_t *out_len,
                                         ek_ratchet_session *s, const void *ad, size_t ad_len,
                                         const void *pt, size_t pt_len);
EK_API EK_MUST_CHECK int ek_ratchet_open(uint8_t *out, size_t out_cap, size_t *out_len,
                                         ek_ratchet_session *s, const void *ad, size_t ad_len,
                                         const uint8_t *sealed, size_t sealed_len);

/* ---------------------------------------------------------------------------
 * Saving and restoring a session (for the vault). The saved bytes hold
 * secrets: the caller seals them. The format is in docs/ratchet.md.
 */

/* The exact length ek_ratchet_session_save will write. */
EK_API size_t ek_ratchet_session_saved_len(const ek_ratchet_session *s);
EK_API EK_MUST_CHECK int ek_ratchet_session_save(uint8_t *out, size_t out_cap, size_t *out_len,
                                                 const ek_ratchet_session *s);
/* Parse strictly (bounds, counts, flags); a and rng as for _new_*. */
EK_API EK_MUST_CHECK int ek_ratchet_session_restore(ek_ratchet_session **out, const ek_allocator *a,
                                                    const ek_rng *rng, const uint8_t *in,
                                                    size_t in_len);

#ifdef __cplusplus
}
#endif
#endif /* EK_RATCHET_H */
