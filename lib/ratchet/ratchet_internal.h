/*
 * ratchet_internal.h: what the files of lib/ratchet share: the session
 * layout, the KDFs, the v3 wire codecs and the small protobuf codec. Tests,
 * the fuzzer and the benchmark reach it through the enkrypt_internal target
 * (the vectors need the KDF steps one by one).
 */
#ifndef EK_RATCHET_INTERNAL_H
#define EK_RATCHET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#include "ratchet_cascade.h"

#define RATCHET_KEY_LEN      32 /* X25519 keys, root and chain keys */
#define RATCHET_IV_LEN       16
/* The v3 version byte: message version 3 in the high nibble, the sender's
 * current version (3) in the low one. */
#define RATCHET_VERSION_BYTE ((uint8_t)(EK_RATCHET_VERSION << 4 | EK_RATCHET_VERSION))

/* ---------------------------------------------------------------------------
 * protobuf.c: the little of protobuf that the v3 messages and our bundle
 * use (varint and length-delimited fields), always through ek_reader and
 * ek_writer.
 */
enum { PB_VARINT = 0, PB_LEN = 2 };

size_t pb_varint_len(uint64_t v);
size_t pb_bytes_field_len(uint32_t field, size_t n);
size_t pb_uint32_field_len(uint32_t field, uint32_t v);
void pb_write_varint(ek_writer *w, uint64_t v);
void pb_write_uint32(ek_writer *w, uint32_t field, uint32_t v);
void pb_write_bytes(ek_writer *w, uint32_t field, const void *p, size_t n);
/* Write the key and length of a bytes field and reserve its n bytes. */
uint8_t *pb_reserve_bytes(ek_writer *w, uint32_t field, size_t n);
/* Write a Signal public key (0x05 || u) as a bytes field. */
void pb_write_public_key(ek_writer *w, uint32_t field, const uint8_t u[RATCHET_KEY_LEN]);

/* Minimal encodings only; at most 10 bytes. */
int pb_read_varint(ek_reader *r, uint64_t *v);
/* A field key; wire types other than varint and bytes are refused. */
int pb_read_key(ek_reader *r, uint32_t *field, unsigned *wire);
int pb_read_uint32(ek_reader *r, uint32_t *v);
int pb_read_bytes(ek_reader *r, const uint8_t **p, size_t *n);
/* A bytes field holding a Signal public key: 33 bytes, type 0x05. *u points
 * at the 32-byte u inside the reader's buffer. */
int pb_read_public_key(ek_reader *r, const uint8_t **u);

/* ---------------------------------------------------------------------------
 * kdf.c: libsignal's KDFs (X3DH §2.2 and §3.3, Double Ratchet §5.2).
 */
typedef struct message_keys {
    uint8_t cipher_key[32];
    uint8_t mac_key[32];
    uint8_t iv[RATCHET_IV_LEN];
} message_keys;

/* HMAC key schedule of the all-zero 32-byte HKDF salt: constant, so made
 * once per session and forked for every message key. */
void kdf_zero_salt_init(ek_hmac_sha256_ctx *c);
/* X3DH: HKDF(salt = 0^32, ikm = 0xFF^32 || dh, "WhisperText", 64) =
 * root_key || chain_key. dh is DH1 || DH2 || DH3 [|| DH4]. */
int kdf_x3dh(uint8_t root_key[32], uint8_t chain_key[32], const uint8_t *dh, size_t dh_len);
/* The root KDF: HKDF(salt = root_key, ikm = dh, "WhisperRatchet", 64). */
int kdf_root(uint8_t new_root_key[32], uint8_t chain_key[32], const uint8_t root_key[32],
             const uint8_t dh[32]);
/* The chain KDF: seed = HMAC(ck, 0x01), next = HMAC(ck, 0x02). */
void kdf_chain(uint8_t seed[32], uint8_t next_chain_key[32], const uint8_t chain_key[32]);
/* HKDF(salt = 0^32, seed, "WhisperMessageKeys", 80) = cipher || mac || iv.
 * zero_salt may be NULL (computed here). */
void kdf_message_keys(message_keys *mk, const uint8_t seed[32],
                      const ek_hmac_sha256_ctx *zero_salt);

/* ---------------------------------------------------------------------------
 * x3dh.c: the agreement (X3DH §3.3, §3.4) down to root and chain key.
 * Keys here are raw 32-byte X25519 values.
 */
int x3dh_initiate_secret(uint8_t root_key[32], uint8_t chain_key[32],
                         const uint8_t identity_priv[32], const uint8_t base_priv[32],
                         const uint8_t peer_identity[32], const uint8_t peer_signed_prekey[32],
                         const uint8_t *peer_one_time_prekey);
int x3dh_respond_secret(uint8_t root_key[32], uint8_t chain_key[32],
                        const uint8_t identity_priv[32], const uint8_t signed_prekey_priv[32],
                        const uint8_t *one_time_prekey_priv, const uint8_t peer_identity[32],
                        const uint8_t peer_base_key[32]);

/* ---------------------------------------------------------------------------
 * message.c: SignalMessage and PreKeySignalMessage, protocol version 3.
 */
typedef struct signal_message {
    const uint8_t *ratchet_key; /* 32 bytes, inside the input */
    uint32_t counter;
    uint32_t previous_counter;
    const uint8_t *ciphertext;
    size_t ciphertext_len;
    const uint8_t *body; /* version byte || protobuf: what the MAC covers */
    size_t body_len;
    const uint8_t *mac; /* EK_RATCHET_MAC_LEN bytes */
} signal_message;

typedef struct prekey_message {
    uint32_t registration_id;
    int has_one_time_prekey_id;
    uint32_t one_time_prekey_id;
    uint32_t signed_prekey_id;
    const uint8_t *base_key;     /* 32 bytes */
    const uint8_t *identity_key; /* 32 bytes */
    const uint8_t *message;      /* a serialized SignalMessage */
    size_t message_len;
} prekey_message;

int signal_message_decode(signal_message *m, const uint8_t *in, size_t len);
int prekey_message_decode(prekey_message *m, const uint8_t *in, size_t len);

/* The length of a SignalMessage carrying ct_len bytes of ciphertext. */
size_t signal_message_len(uint32_t counter, uint32_t previous_counter, size_t ct_len);
/* Write version byte and protobuf, leaving *ct to be filled with ct_len
 * bytes of ciphertext; the MAC follows (signal_message_write_mac). */
int signal_message_write(ek_writer *w, uint8_t **ct, const uint8_t ratchet_key[32],
                         uint32_t counter, uint32_t previous_counter, size_t ct_len);
/* What a MAC binds besides the identities and the message body: the
 * associated data and, when there is associated data and the message is
 * wrapped in a PreKeySignalMessage, the wrapper's own bytes (prefix before
 * the inner message, suffix after it). */
typedef struct mac_binding {
    const uint8_t *ad;
    size_t ad_len;
    const uint8_t *prefix;
    size_t prefix_len;
    const uint8_t *suffix;
    size_t suffix_len;
} mac_binding;

/* The truncated MAC of a body (see ek_ratchet_encrypt for the input). */
void signal_message_mac(uint8_t tag[EK_RATCHET_MAC_LEN], const uint8_t mac_key[32],
                        const uint8_t sender_identity[32], const uint8_t receiver_identity[32],
                        const mac_binding *bind, const uint8_t *body, size_t body_len);

typedef struct prekey_header {
    uint32_t registration_id;
    int has_one_time_prekey_id;
    uint32_t one_time_prekey_id;
    uint32_t signed_prekey_id;
    uint8_t base_key[32];
    uint8_t identity_key[32];
} prekey_header;

size_t prekey_message_len(const prekey_header *h, size_t inner_len);
/* Fields 1-3 and the key and length of field 4 (the inner message)... */
void prekey_message_write_head(ek_writer *w, const prekey_header *h, size_t inner_len);
/* ...then, after the inner message, fields 5 and 6 (field-number order, as
 * protobuf-c packs them). */
void prekey_message_write_tail(ek_writer *w, const prekey_header *h);

/* ---------------------------------------------------------------------------
 * The session (session.c, skipped.c, state.c).
 */
enum session_phase { PHASE_AWAIT_PREKEY = 1, PHASE_READY = 2 };
enum session_role { ROLE_INITIATOR = 1, ROLE_RESPONDER = 2 };

/* A previous receiving chain: its ratchet key names its skipped keys. */
typedef struct old_chain {
    uint32_t epoch;
    uint8_t ratchet_key[32];
} old_chain;

/*
 * Everything opening a message may change apart from the skipped-key
 * store. It is small (about 600 bytes), so every decrypt works on a copy
 * and commits it only when the message verified.
 */
typedef struct ratchet_core {
    uint8_t phase, role;
    uint8_t has_send_chain, has_recv_chain;
    uint8_t unacknowledged; /* Alice: still sending PreKeySignalMessages */
    uint8_t root_key[32];
    /* Sending: our ratchet key pair (DHs), chain key (CKs), Ns and PN. */
    uint8_t send_ratchet_priv[32], send_ratchet_pub[32];
    uint8_t send_chain_key[32];
    uint32_t send_counter, previous_counter;
    /* Receiving: their ratchet key (DHr), chain key (CKr), Nr, the chain's
     * epoch (a serial number naming it in the skipped-key store). */
    uint8_t recv_ratchet_key[32];
    uint8_t recv_chain_key[32];
    uint32_t recv_counter;
    uint32_t recv_epoch;
    uint32_t next_epoch;
    uint32_t n_old;
    old_chain old[EK_RATCHET_MAX_OLD_CHAINS]; /* newest first */
    /* X3DH: identities, Alice's base key, the prekeys used. */
    uint8_t self_identity[32];
    uint8_t peer_identity[32];
    uint8_t has_peer_identity;
    uint8_t base_key[32];
    uint32_t local_registration_id, remote_registration_id;
    uint32_t signed_prekey_id;
    uint8_t has_one_time_prekey;
    uint32_t one_time_prekey_id;
} ratchet_core;

/* A message key kept for a late message: the seed HMAC(ck, 0x01) of the
 * chain named by epoch, at index counter. */
typedef struct skipped_key {
    uint32_t epoch;
    uint32_t counter;
    uint8_t seed[32];
} skipped_key;

/* What one decrypt would change outside the core, applied on success. */
typedef struct open_txn {
    long used;            /* index of the stored key used, or -1 */
    skipped_key *pending; /* keys this message made us skip */
    size_t n_pending, cap_pending;
    int new_chain; /* the message started a new receiving chain */
    int did_x3dh;  /* it was Alice's first PreKeySignalMessage */
} open_txn;

/* Bob's secrets while he waits for Alice's first message. */
typedef struct responder_secrets {
    uint8_t identity_priv[32];
    ek_ratchet_prekeys prekeys;
    uint8_t has_expected_peer;
    uint8_t expected_peer[32];
} responder_secrets;

struct ek_ratchet_session {
    const ek_allocator *alloc;
    const ek_rng *rng;
    ratchet_core core;
    responder_secrets responder; /* wiped once X3DH is done */
    skipped_key *skipped;        /* oldest first */
    size_t n_skipped, cap_skipped;
    ek_hmac_sha256_ctx zero_salt;
    ek_aes256_cbc_ctx *cbc; /* reused for every message; holds no key between calls */
    /* A verified open waiting for ratchet_decrypt_commit (or _abort). */
    int has_pending;
    ratchet_core pend_core;
    open_txn pend_txn;
};

/* session.c */
int session_alloc(ek_ratchet_session **out, const ek_allocator *a, const ek_rng *rng);

/* ratchet_decrypt_prepare / _commit / _abort, ratchet_next_header: in
 * ratchet_cascade.h (the cascade's Signal layer includes that alone). */

/* skipped.c: the store of skipped message keys (Double Ratchet §3.5). */
/* Index of (epoch, counter) in the store, or -1. */
long skipped_find(const ek_ratchet_session *s, uint32_t epoch, uint32_t counter);
/* Make room for n more keys (up to the bound) before anything commits. */
int skipped_reserve(ek_ratchet_session *s, size_t n);
/* Commit: remove the key at index used (or -1), forget the keys of chains
 * no longer in core, append the n pending keys, dropping the oldest beyond
 * EK_RATCHET_MAX_SKIPPED_KEYS. Cannot fail after skipped_reserve. */
void skipped_commit(ek_ratchet_session *s, long used, const skipped_key *pending, size_t n);
void skipped_free(ek_ratchet_session *s);

/* xeddsa.c, keys.c */
void ratchet_public_key(uint8_t out[EK_RATCHET_PUBLIC_LEN], const uint8_t u[32]);
/* The u of a serialized key: EK_ERR_DECODE unless type 0x05 and u < p. */
int ratchet_parse_public_key(const uint8_t **u, const uint8_t in[EK_RATCHET_PUBLIC_LEN]);

#endif /* EK_RATCHET_INTERNAL_H */
