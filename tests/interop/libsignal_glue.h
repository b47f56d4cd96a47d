/*
 * libsignal_glue.h: one libsignal-protocol-c party (Debian's
 * libsignal-protocol-c-dev, linked by the interop test and the benchmark
 * only), with the crypto provider the library needs implemented on
 * ek_crypto (HMAC-SHA256, SHA-512, AES-256-CBC, random) and in-memory
 * stores for one remote peer.
 */
#ifndef EK_LIBSIGNAL_GLUE_H
#define EK_LIBSIGNAL_GLUE_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

typedef struct lsg_party lsg_party;

/* A party with a fresh identity and registration id; its randomness comes
 * from rng (NULL: the system RNG), which must outlive it. NULL on failure. */
lsg_party *lsg_party_new(const ek_rng *rng);
void lsg_party_free(lsg_party *p);

/* The party's identity key, Signal-serialized (33 bytes). */
void lsg_identity_public(const lsg_party *p, uint8_t out[EK_RATCHET_PUBLIC_LEN]);

/* Make and store a signed prekey (and a one-time prekey) and describe
 * them as our bundle type. 0 or a negative libsignal error. */
int lsg_make_bundle(lsg_party *p, ek_ratchet_bundle *out, uint32_t signed_id, int with_one_time,
                    uint32_t one_time_id);
/* Start a session with the peer (libsignal as Alice) from our bundle. */
int lsg_process_bundle(lsg_party *p, const ek_ratchet_bundle *b);
/* Forget the session with the peer (for benchmarks). */
void lsg_forget_session(lsg_party *p);

/* Encrypt pt for the peer: *type is EK_RATCHET_MSG_SIGNAL or _PREKEY. */
int lsg_encrypt(lsg_party *p, uint8_t *out, size_t cap, size_t *out_len, int *type,
                const uint8_t *pt, size_t pt_len);
int lsg_decrypt(lsg_party *p, uint8_t *out, size_t cap, size_t *out_len, int type,
                const uint8_t *msg, size_t msg_len);

/* XEdDSA through libsignal's curve code, for cross-checks. */
int lsg_sign(lsg_party *p, uint8_t sig[64], const uint8_t priv[32], const uint8_t *msg, size_t len);
/* 1 valid, 0 invalid, negative on error. */
int lsg_verify(lsg_party *p, const uint8_t pub[EK_RATCHET_PUBLIC_LEN], const uint8_t *msg,
               size_t len, const uint8_t sig[64]);

#endif
