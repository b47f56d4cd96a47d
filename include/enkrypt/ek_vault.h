/*
 * ek_vault.h: the encrypted vault, where the enkrypt program keeps
 * everything it must remember: the identity, settings, contacts, session
 * and MLS group states, message history and the outbox (docs/vault.md).
 *
 * A vault is one SQLite 3 file (WAL journal, synchronous=FULL, an
 * exclusive lock held while open, so a second process opening the same
 * vault gets EK_ERR_VAULT_BUSY). Every write runs in a transaction: a
 * crash or a full disk loses nothing that was committed.
 *
 * What reaches the disk:
 *   - a header row in plaintext: magic, format version, the vault id, the
 *     Argon2id salt and parameters, the data key wrapped twice (by the
 *     passphrase and by the recovery code), and a SHA-256 checksum of all
 *     that (so a damaged header reads as "corrupt", not as "wrong
 *     passphrase");
 *   - rows of (kind, group, key, position, sealed payload). kind is a small
 *     integer (contact, session, message...). group and key are never the
 *     caller's ids but HMAC-SHA256(index key, kind || id), so peer ids,
 *     group ids, message ids and setting names stay secret. position is
 *     the order of a message (or outbox entry) inside its conversation.
 *   - the payload, sealed with AES-256-GCM under a per-row subkey:
 *     sealed = 0x01 || r (16) || nonce (12) || ciphertext || tag (16),
 *     subkey = HMAC-SHA256(seal key, r), r and nonce fresh random bytes on
 *     every write; associated data = ("enkrypt-vault-row", format version,
 *     kind, group, key, position), so a row copied, moved or swapped to
 *     another key, kind, conversation or position does not open.
 * The seal key and the index key are HKDF-SHA256 outputs of the random
 * 32-byte data key, which is only ever on disk wrapped. No secret and no
 * message text is ever written in plaintext, in the database, its WAL or
 * anywhere else (temporary tables are kept in memory; freed pages are
 * zeroed: secure_delete).
 *
 * Wrapping the data key (docs/vault.md §3):
 *   - passphrase: key = Argon2id(passphrase, salt, t, m) (RFC 9106), the
 *     parameters stored in the header; default t = 3, m = 64 MiB (RFC 9106
 *     §4, second recommended option), lower in tests through the options.
 *   - recovery code: 128 random bits, shown once at creation. Written as
 *     8 groups of 5 Crockford base32 characters, e.g.
 *     "7KQ2M-XG4TA-...": each group has 4 data characters and 1 check
 *     character (Luhn mod 32 over the group and its position), and the 32
 *     data characters hold the 128 bits and a 32-bit SHA-256 checksum. A
 *     typo is reported as EK_ERR_VAULT_RECOVERY_TYPO with the group that is
 *     wrong; input is read case-insensitively, hyphens and spaces ignored,
 *     O read as 0 and I, L as 1. key = HKDF-SHA256(salt, code bits).
 * Changing the passphrase (or the recovery code) only rewraps the data
 * key, in one transaction; the rows are not touched.
 *
 * A failed open never touches the files: after a wrong passphrase or
 * recovery code they are byte for byte identical. A row that does not
 * verify yields EK_ERR_VAULT_CORRUPT and no plaintext.
 *
 * Threat model (docs/vault.md §5): protects secrecy and integrity of each
 * row against someone who reads or edits the files while the vault is
 * closed. It does not stop deleting rows or rolling the whole file back to
 * an older copy, and reveals sizes, counts and write times of rows.
 *
 * libenkrypt stays sans-IO except for this file: no threads, no clock
 * (every timestamp comes from the caller, in ms), randomness from
 * opts->rng. Not thread safe: one ek_vault is used by one thread at a time.
 *
 * Conventions: functions return EK_OK or a negative error (ek_base.h's
 * codes and the EK_ERR_VAULT_* codes below; ek_vault_strerror knows all).
 * Ids (peer ids, conversation ids, message ids, setting keys, namespaces)
 * are NUL-terminated UTF-8 strings of 1..EK_VAULT_ID_MAX bytes. Buffers the
 * vault returns are allocated through opts->alloc with one extra byte, a
 * NUL, after them (so text can be used as a C string), and are released
 * with ek_vault_free(alloc, p, len), which wipes them. Pointers handed to
 * callbacks are valid only during the callback. A callback returns EK_OK
 * to go on; any other value stops the listing and is returned by it. A
 * callback may call the vault, also to write (rows are read before the
 * first callback).
 */
#ifndef EK_VAULT_H
#define EK_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_session.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Error codes of the vault, beside ek_base.h's (EK_ERR_INVALID_ARG,
 * EK_ERR_NOMEM, EK_ERR_RNG, EK_ERR_TOO_LARGE...).
 */
enum {
    EK_ERR_VAULT_BAD_PASSPHRASE = -100, /* the passphrase does not open this vault */
    EK_ERR_VAULT_BAD_RECOVERY = -101,   /* a well-formed recovery code, not this vault's */
    EK_ERR_VAULT_RECOVERY_TYPO = -102,  /* the recovery code is mistyped (checksum, length,
                                           character): nothing was tried */
    EK_ERR_VAULT_NOT_VAULT = -103,      /* the file is not an enkrypt vault */
    EK_ERR_VAULT_VERSION = -104,        /* the vault's format is newer than this program */
    EK_ERR_VAULT_CORRUPT = -105,        /* damaged: a row or the header does not verify */
    EK_ERR_VAULT_NO_FILE = -106,        /* no vault at this path */
    EK_ERR_VAULT_EXISTS = -107,         /* create: the file exists; append: the message id
                                           is already in the conversation */
    EK_ERR_VAULT_NOT_FOUND = -108,      /* no such entry (contact, setting, session...) */
    EK_ERR_VAULT_BUSY = -109,           /* another process has the vault open */
    EK_ERR_VAULT_READONLY = -110,       /* the file or its directory is not writable */
    EK_ERR_VAULT_FULL = -111,           /* the disk is full; the write was rolled back */
    EK_ERR_VAULT_IO = -112,             /* another I/O error; the write was rolled back */
    EK_ERR_VAULT_CLOSED = -113,         /* the vault was closed after a fatal error */
};

/* The human words for any error code, the vault's and ek_base.h's; never
 * NULL. */
EK_API const char *ek_vault_strerror(int err);

/* ---------------------------------------------------------------------------
 * Limits and constants.
 */
#define EK_VAULT_FORMAT_VERSION   1u
/* The longest id (peer, conversation, message, setting key, namespace). */
#define EK_VAULT_ID_MAX           256u
/* The longest nickname and setting value, in bytes. */
#define EK_VAULT_NICK_MAX         256u
#define EK_VAULT_SETTING_MAX      4096u
/* The largest blob or message body (sessions, MLS groups, bodies). */
#define EK_VAULT_BLOB_MAX         ((size_t)64 << 20)
/* A recovery code: 8 groups of 5 characters and 7 hyphens. */
#define EK_VAULT_RECOVERY_GROUPS  8u
#define EK_VAULT_RECOVERY_LEN     47u /* characters, without the NUL */
/* Argon2id parameters: defaults and the bounds accepted from a header. */
#define EK_VAULT_ARGON2_T_DEFAULT 3u
#define EK_VAULT_ARGON2_M_DEFAULT 65536u /* KiB, 64 MiB */
#define EK_VAULT_ARGON2_T_MAX     64u
#define EK_VAULT_ARGON2_M_MAX     4194304u /* KiB, 4 GiB */
#define EK_VAULT_ARGON2_M_MIN     8u       /* KiB */

/* ---------------------------------------------------------------------------
 * Opening and closing.
 */
typedef struct ek_vault ek_vault;

typedef struct ek_vault_options {
    const ek_allocator *alloc; /* NULL: malloc; must outlive the vault */
    const ek_rng *rng;         /* NULL: the OS CSPRNG; must outlive the vault */
    /* Argon2id cost for create and change_passphrase (opening uses the
     * header's). 0: the defaults. Tests use t = 1, m = 64. */
    uint32_t argon2_t_cost;
    uint32_t argon2_m_kib;
} ek_vault_options;

/*
 * Create a new vault at path (the file must not exist: EK_ERR_VAULT_EXISTS;
 * created with mode 0600). Writes the header with a fresh data key wrapped
 * by passphrase (pass_len >= 1 bytes, used as given, no normalization) and
 * by a fresh recovery code, which is written to recovery (NUL-terminated):
 * show it to the user once, it is never stored. On success *out is the
 * open vault; on failure nothing is left at path.
 */
EK_API EK_MUST_CHECK int ek_vault_create(ek_vault **out, char recovery[EK_VAULT_RECOVERY_LEN + 1],
                                         const char *path, const char *pass, size_t pass_len,
                                         const ek_vault_options *opts);
/* Open with the passphrase. EK_ERR_VAULT_NO_FILE, _NOT_VAULT, _VERSION,
 * _CORRUPT, _BUSY, _BAD_PASSPHRASE: in every failure the file is left
 * untouched. opts may be NULL. */
EK_API EK_MUST_CHECK int ek_vault_open(ek_vault **out, const char *path, const char *pass,
                                       size_t pass_len, const ek_vault_options *opts);
/* Open with the recovery code (any case, hyphens and spaces optional).
 * EK_ERR_VAULT_RECOVERY_TYPO for a mistyped code, EK_ERR_VAULT_BAD_RECOVERY
 * for a valid code of another vault; then usually
 * ek_vault_change_passphrase. */
EK_API EK_MUST_CHECK int ek_vault_open_recovery(ek_vault **out, const char *path,
                                                const char *recovery, const ek_vault_options *opts);
/* Roll back an open transaction, close the database and wipe the keys.
 * NULL is fine. */
EK_API void ek_vault_close(ek_vault *v);

/* Rewrap the data key under a new passphrase (new Argon2id salt, the
 * options' cost), atomically: afterwards only the new passphrase opens
 * the vault; the recovery code still does. Not inside ek_vault_begin. */
EK_API EK_MUST_CHECK int ek_vault_change_passphrase(ek_vault *v, const char *new_pass,
                                                    size_t new_pass_len);
/* EK_OK if pass is the vault's passphrase, else EK_ERR_VAULT_BAD_PASSPHRASE
 * (for a UI that asks for the old passphrase before changing it). */
EK_API EK_MUST_CHECK int ek_vault_check_passphrase(ek_vault *v, const char *pass, size_t pass_len);
/* Make a new recovery code (the old one stops working), atomically. */
EK_API EK_MUST_CHECK int ek_vault_reset_recovery(ek_vault *v,
                                                 char recovery[EK_VAULT_RECOVERY_LEN + 1]);

/* Check a recovery code's form and checksums without any vault: EK_OK, or
 * EK_ERR_VAULT_RECOVERY_TYPO with *bad_group (if not NULL) set to the
 * 1-based group that is wrong, or 0 when the length is wrong or the error
 * cannot be located (the overall checksum failed). */
EK_API EK_MUST_CHECK int ek_vault_recovery_check(const char *recovery, unsigned *bad_group);

/* The vault's random 16-byte id (public, in the header). */
EK_API void ek_vault_id(const ek_vault *v, uint8_t id[16]);

/* Release a buffer the vault returned (wiped first). NULL is fine. */
EK_API void ek_vault_free(const ek_allocator *alloc, void *p, size_t len);

/* ---------------------------------------------------------------------------
 * Transactions. Every call below is atomic by itself. To make several
 * atomic together (a received message and the session state it advanced),
 * wrap them in begin / commit; rollback undoes them. No nesting. If a call
 * inside fails, only its own writes are undone and the transaction is
 * still open: commit what succeeded or roll back. Except after a disk
 * error (EK_ERR_VAULT_FULL, _IO, _READONLY): then the whole transaction is
 * rolled back, the following calls that write fail with that error, and
 * commit returns it (rollback returns EK_OK).
 */
EK_API EK_MUST_CHECK int ek_vault_begin(ek_vault *v);
EK_API EK_MUST_CHECK int ek_vault_commit(ek_vault *v);
EK_API EK_MUST_CHECK int ek_vault_rollback(ek_vault *v);

/* ---------------------------------------------------------------------------
 * Generic sealed key/value store: namespaces of (key bytes -> value bytes),
 * for anything the typed helpers below do not cover. Keys are
 * 1..EK_VAULT_ID_MAX bytes, values 0..EK_VAULT_BLOB_MAX. The namespaces
 * starting with "ek." are reserved. A put replaces.
 */
EK_API EK_MUST_CHECK int ek_vault_kv_put(ek_vault *v, const char *ns, const uint8_t *key,
                                         size_t key_len, const uint8_t *val, size_t val_len);
/* *val receives a copy (free with ek_vault_free(alloc, *val, *val_len)).
 * EK_ERR_VAULT_NOT_FOUND when absent. */
EK_API EK_MUST_CHECK int ek_vault_kv_get(ek_vault *v, uint8_t **val, size_t *val_len,
                                         const char *ns, const uint8_t *key, size_t key_len);
/* EK_ERR_VAULT_NOT_FOUND when absent. */
EK_API EK_MUST_CHECK int ek_vault_kv_delete(ek_vault *v, const char *ns, const uint8_t *key,
                                            size_t key_len);
typedef int (*ek_vault_kv_fn)(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *val,
                              size_t val_len);
/* Every entry of ns, in no particular order. */
EK_API EK_MUST_CHECK int ek_vault_kv_list(ek_vault *v, const char *ns, ek_vault_kv_fn fn,
                                          void *ctx);

/* ---------------------------------------------------------------------------
 * Identity: our own ek_identity (ek_session.h), one per vault.
 */
EK_API EK_MUST_CHECK int ek_vault_identity_put(ek_vault *v, const ek_identity *id);
/* EK_ERR_VAULT_NOT_FOUND when none was stored. *id is wiped on failure;
 * wipe it with ek_wipe when done. */
EK_API EK_MUST_CHECK int ek_vault_identity_get(ek_vault *v, ek_identity *id);

/* ---------------------------------------------------------------------------
 * Settings: key -> value, both strings (value up to EK_VAULT_SETTING_MAX).
 */
EK_API EK_MUST_CHECK int ek_vault_setting_set(ek_vault *v, const char *key, const char *value);
/* Copies the value and a NUL into out (cap bytes); *len (may be NULL) is
 * its length. EK_ERR_TOO_LARGE if cap <= length; EK_ERR_VAULT_NOT_FOUND. */
EK_API EK_MUST_CHECK int ek_vault_setting_get(ek_vault *v, char *out, size_t cap, size_t *len,
                                              const char *key);
EK_API EK_MUST_CHECK int ek_vault_setting_delete(ek_vault *v, const char *key);
typedef int (*ek_vault_setting_fn)(void *ctx, const char *key, const char *value);
EK_API EK_MUST_CHECK int ek_vault_setting_list(ek_vault *v, ek_vault_setting_fn fn, void *ctx);

/* ---------------------------------------------------------------------------
 * Contacts, keyed by peer id.
 */
typedef struct ek_vault_contact {
    char peer_id[EK_VAULT_ID_MAX + 1];    /* NUL-terminated */
    char nickname[EK_VAULT_NICK_MAX + 1]; /* NUL-terminated, may be empty */
    int has_identity_key;                 /* identity_key is known */
    uint8_t identity_key[EK_ED25519_PUBLIC_LEN];
    int verified;          /* the user compared safety numbers */
    uint64_t added_ms;     /* caller's clock */
    uint64_t last_seen_ms; /* 0: never */
} ek_vault_contact;

/* Insert or replace the contact c->peer_id. */
EK_API EK_MUST_CHECK int ek_vault_contact_put(ek_vault *v, const ek_vault_contact *c);
EK_API EK_MUST_CHECK int ek_vault_contact_get(ek_vault *v, ek_vault_contact *c,
                                              const char *peer_id);
EK_API EK_MUST_CHECK int ek_vault_contact_delete(ek_vault *v, const char *peer_id);
/* Shortcuts that read, change and rewrite one field (atomically). */
EK_API EK_MUST_CHECK int ek_vault_contact_set_verified(ek_vault *v, const char *peer_id,
                                                       int verified);
EK_API EK_MUST_CHECK int ek_vault_contact_set_last_seen(ek_vault *v, const char *peer_id,
                                                        uint64_t last_seen_ms);
typedef int (*ek_vault_contact_fn)(void *ctx, const ek_vault_contact *c);
/* Every contact, sorted by peer id (bytewise). */
EK_API EK_MUST_CHECK int ek_vault_contact_list(ek_vault *v, ek_vault_contact_fn fn, void *ctx);

/* ---------------------------------------------------------------------------
 * Session states (ek_session_save blobs), one per peer id; and MLS group
 * states, one per group id (bytes, 1..EK_VAULT_ID_MAX). The blobs hold
 * every secret of a session: the vault seals them like everything else.
 */
EK_API EK_MUST_CHECK int ek_vault_session_put(ek_vault *v, const char *peer_id,
                                              const uint8_t *state, size_t len);
/* Free *state with ek_vault_free(alloc, *state, *len). */
EK_API EK_MUST_CHECK int ek_vault_session_get(ek_vault *v, uint8_t **state, size_t *len,
                                              const char *peer_id);
EK_API EK_MUST_CHECK int ek_vault_session_delete(ek_vault *v, const char *peer_id);

EK_API EK_MUST_CHECK int ek_vault_group_put(ek_vault *v, const uint8_t *group_id, size_t id_len,
                                            const uint8_t *state, size_t len);
EK_API EK_MUST_CHECK int ek_vault_group_get(ek_vault *v, uint8_t **state, size_t *len,
                                            const uint8_t *group_id, size_t id_len);
EK_API EK_MUST_CHECK int ek_vault_group_delete(ek_vault *v, const uint8_t *group_id, size_t id_len);
/* Every group's id (and its state), in no particular order. */
EK_API EK_MUST_CHECK int ek_vault_group_list(ek_vault *v, ek_vault_kv_fn fn, void *ctx);

/* ---------------------------------------------------------------------------
 * Message history, per conversation (a peer id or a group's name: any id).
 * Messages keep the order they were appended in; each gets an index
 * 0, 1, 2... in its conversation. Message ids are unique per conversation.
 */
typedef enum ek_vault_direction {
    EK_VAULT_INCOMING = 1,
    EK_VAULT_OUTGOING = 2,
} ek_vault_direction;

typedef enum ek_vault_msg_status {
    EK_VAULT_MSG_QUEUED = 1,    /* outgoing, not sent yet (in the outbox) */
    EK_VAULT_MSG_SENT = 2,      /* handed to the transport */
    EK_VAULT_MSG_DELIVERED = 3, /* the peer acknowledged it */
    EK_VAULT_MSG_READ = 4,      /* the peer (or we, for incoming) read it */
    EK_VAULT_MSG_FAILED = 5,    /* gave up */
} ek_vault_msg_status;

typedef struct ek_vault_message {
    const char *conversation; /* NUL-terminated id */
    const char *id;           /* NUL-terminated message id */
    int direction;            /* ek_vault_direction */
    int status;               /* ek_vault_msg_status */
    uint64_t timestamp_ms;    /* caller's clock (sent or received) */
    const uint8_t *body;      /* the text or envelope, opaque bytes */
    size_t body_len;
    uint64_t index; /* set by the vault: the position in the conversation */
} ek_vault_message;

/* Append m (m->index is ignored) at the end of m->conversation; *index
 * (may be NULL) receives its position. EK_ERR_VAULT_EXISTS when m->id is
 * already in the conversation (nothing written: dedup of redeliveries). */
EK_API EK_MUST_CHECK int ek_vault_msg_append(ek_vault *v, uint64_t *index,
                                             const ek_vault_message *m);
/* Change the status of a message. EK_ERR_VAULT_NOT_FOUND. */
EK_API EK_MUST_CHECK int ek_vault_msg_set_status(ek_vault *v, const char *conversation,
                                                 const char *msg_id, int status);
typedef int (*ek_vault_message_fn)(void *ctx, const ek_vault_message *m);
/* One message by id (fn called once), or EK_ERR_VAULT_NOT_FOUND. */
EK_API EK_MUST_CHECK int ek_vault_msg_get(ek_vault *v, const char *conversation, const char *msg_id,
                                          ek_vault_message_fn fn, void *ctx);
/* How many messages the conversation has (0 for an unknown one). */
EK_API EK_MUST_CHECK int ek_vault_msg_count(ek_vault *v, uint64_t *count, const char *conversation);
/* The messages with index first .. first + max - 1, in order (fewer at
 * the end). For the newest n: count, then list(count - n, n). */
EK_API EK_MUST_CHECK int ek_vault_msg_list(ek_vault *v, const char *conversation, uint64_t first,
                                           uint64_t max, ek_vault_message_fn fn, void *ctx);
typedef int (*ek_vault_conversation_fn)(void *ctx, const char *conversation, uint64_t count,
                                        uint64_t last_timestamp_ms);
/* Every conversation with messages, in no particular order. */
EK_API EK_MUST_CHECK int ek_vault_conversation_list(ek_vault *v, ek_vault_conversation_fn fn,
                                                    void *ctx);
/* Delete a conversation's whole history (EK_OK also when it had none). */
EK_API EK_MUST_CHECK int ek_vault_conversation_delete(ek_vault *v, const char *conversation);

/* ---------------------------------------------------------------------------
 * Outbox: outgoing messages queued per peer until the peer has them.
 * Push when the user sends; list in order when the peer is reachable;
 * remove when the peer acknowledged (delivered). Message ids are unique per
 * peer.
 */
typedef struct ek_vault_outbox_item {
    const char *peer_id;
    const char *msg_id;
    const uint8_t *payload; /* what to send (e.g. the envelope) */
    size_t payload_len;
    uint64_t queued_ms;
    uint64_t seq; /* set by the vault: the order of queueing */
} ek_vault_outbox_item;

/* Queue at the end (item->seq is ignored; *seq may be NULL).
 * EK_ERR_VAULT_EXISTS when msg_id is already queued for that peer. */
EK_API EK_MUST_CHECK int ek_vault_outbox_push(ek_vault *v, uint64_t *seq,
                                              const ek_vault_outbox_item *item);
typedef int (*ek_vault_outbox_fn)(void *ctx, const ek_vault_outbox_item *item);
/* The peer's queued messages, oldest first. */
EK_API EK_MUST_CHECK int ek_vault_outbox_list(ek_vault *v, const char *peer_id,
                                              ek_vault_outbox_fn fn, void *ctx);
EK_API EK_MUST_CHECK int ek_vault_outbox_count(ek_vault *v, uint64_t *count, const char *peer_id);
/* Remove one delivered message. EK_ERR_VAULT_NOT_FOUND if not queued. */
EK_API EK_MUST_CHECK int ek_vault_outbox_remove(ek_vault *v, const char *peer_id,
                                                const char *msg_id);

#ifdef __cplusplus
}
#endif
#endif /* EK_VAULT_H */
