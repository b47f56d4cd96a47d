/*
 * vault_internal.h: what the files of lib/store share: the ek_vault
 * layout, the header, the per-call transactions, the sealed row layer and
 * the record layer on top of it (docs/vault.md). Tests reach it through
 * the enkrypt_internal target (to simulate a full disk).
 */
#ifndef EK_VAULT_INTERNAL_H
#define EK_VAULT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_vault.h>

#define VAULT_KEY_LEN        32
#define VAULT_ID_LEN         16
#define VAULT_HASH_LEN       32 /* HMAC-SHA256 row and group hashes */
#define VAULT_SALT_LEN       16
#define VAULT_WRAP_LEN       (VAULT_KEY_LEN + EK_AEAD_TAG_LEN)
#define VAULT_RECOVERY_LEN   16 /* the recovery code's random bytes */
/* The SQLite application_id of a vault: "EKVA". */
#define VAULT_APPLICATION_ID 0x454b5641
#define VAULT_MAGIC          "enkrypt-vault"
/* sealed = 0x01 || r || nonce || ciphertext || tag */
#define VAULT_SEAL_VERSION   0x01
#define VAULT_SEAL_R_LEN     16
#define VAULT_SEAL_OVERHEAD  (1 + VAULT_SEAL_R_LEN + EK_AEAD_NONCE_LEN + EK_AEAD_TAG_LEN)

/* What a row holds (the kind column). Stable: part of the format. */
enum vault_kind {
    VK_IDENTITY = 1,
    VK_SETTING = 2,
    VK_CONTACT = 3,
    VK_SESSION = 4,
    VK_GROUP = 5,
    VK_CONVERSATION = 6, /* per conversation: id, count, last timestamp */
    VK_MESSAGE = 7,      /* grouped by conversation, ordered by pos */
    VK_OUTBOX_PEER = 8,  /* per peer: the next outbox sequence number */
    VK_OUTBOX = 9,       /* grouped by peer, ordered by pos */
    VK_KV = 10,          /* the generic layer, grouped by namespace */
};

/* The plaintext header (one row of ek_header; docs/vault.md §2). */
typedef struct vault_header {
    uint8_t vault_id[VAULT_ID_LEN];
    uint8_t row_alg; /* ek_aead_alg of the rows: EK_AEAD_AES256GCM */
    uint32_t t_cost, m_kib;
    uint8_t pass_salt[EK_ARGON2ID_SALT_LEN];
    uint8_t pass_nonce[EK_AEAD_NONCE_LEN];
    uint8_t pass_wrap[VAULT_WRAP_LEN];
    uint8_t rec_salt[VAULT_SALT_LEN];
    uint8_t rec_nonce[EK_AEAD_NONCE_LEN];
    uint8_t rec_wrap[VAULT_WRAP_LEN];
} vault_header;

/* The three keys, in guarded memory while the vault is open. */
typedef struct vault_keys {
    uint8_t data[VAULT_KEY_LEN];  /* random; wrapped in the header */
    uint8_t seal[VAULT_KEY_LEN];  /* HKDF(data): row subkeys */
    uint8_t index[VAULT_KEY_LEN]; /* HKDF(data): row and group hashes */
} vault_keys;

struct ek_vault {
    sqlite3 *db;
    const ek_allocator *alloc;
    const ek_rng *rng;
    uint32_t t_cost, m_kib; /* Argon2id cost for rewrapping */
    vault_header hdr;
    vault_keys *keys;
    int in_txn;  /* ek_vault_begin is open */
    int in_op;   /* a call's own transaction or savepoint is open */
    int txn_err; /* a disk error rolled ek_vault_begin's transaction back */
    int broken;  /* a rollback failed: refuse everything */
};

/* ---------------------------------------------------------------------------
 * vault.c
 */
/* An SQLite result code as an ek_err. */
int vault_sqlite_err(int rc);
/* Check the vault is usable (open, not broken). */
int vault_check(const ek_vault *v);
/* A call's write transaction: BEGIN IMMEDIATE, or a SAVEPOINT inside
 * ek_vault_begin. vault_op_end commits (rc == EK_OK) or rolls back, and
 * returns the final code. */
int vault_op_begin(ek_vault *v);
int vault_op_end(ek_vault *v, int rc);
/* Test hook: limit the database to n pages (SQLITE_FULL beyond it), to
 * simulate a full disk. */
int vault_test_set_max_pages(ek_vault *v, uint32_t n);

/* ---------------------------------------------------------------------------
 * recovery.c: the recovery code (docs/vault.md §3.2).
 */
/* Encode 16 random bytes as a code (NUL-terminated). */
void vault_recovery_encode(char out[EK_VAULT_RECOVERY_LEN + 1],
                           const uint8_t secret[VAULT_RECOVERY_LEN]);
/* Decode a typed code: EK_OK or EK_ERR_VAULT_RECOVERY_TYPO (*bad_group:
 * 1-based group, or 0). */
int vault_recovery_decode(uint8_t secret[VAULT_RECOVERY_LEN], unsigned *bad_group,
                          const char *code);

/* ---------------------------------------------------------------------------
 * rows.c: sealed rows and records.
 *
 * A record is one row: its address is (kind, group id, id), hashed with the
 * index key; its payload is sealed and holds the id again and the body:
 *   u32 id_len || id || body.
 * Group ids are empty for ungrouped kinds.
 */
typedef struct vault_addr {
    uint8_t kind;
    size_t grp_len; /* 0 or VAULT_HASH_LEN */
    uint8_t grp[VAULT_HASH_LEN];
    uint8_t key[VAULT_HASH_LEN];
} vault_addr;

void vault_addr_make(const ek_vault *v, vault_addr *a, uint8_t kind, const uint8_t *group,
                     size_t group_len, const uint8_t *id, size_t id_len);

/* How a put treats an existing row. */
enum vault_put_mode {
    VAULT_UPSERT = 0, /* replace it (keeping nothing) */
    VAULT_INSERT = 1, /* EK_ERR_VAULT_EXISTS */
};

/* Seal and write one record at position pos. */
int vault_rec_put(ek_vault *v, int mode, uint8_t kind, const uint8_t *group, size_t group_len,
                  const uint8_t *id, size_t id_len, uint64_t pos, const uint8_t *body,
                  size_t body_len);
/* Read and open one record. *plain is the whole opened payload (free with
 * ek_vault_free(v->alloc, *plain, *plain_len)); *body points into it.
 * EK_ERR_VAULT_NOT_FOUND, EK_ERR_VAULT_CORRUPT. */
typedef struct vault_rec {
    uint8_t *plain;
    size_t plain_len;
    const uint8_t *id;
    size_t id_len;
    const uint8_t *body;
    size_t body_len;
    uint64_t pos;
} vault_rec;

int vault_rec_get(ek_vault *v, vault_rec *r, uint8_t kind, const uint8_t *group, size_t group_len,
                  const uint8_t *id, size_t id_len);
void vault_rec_release(const ek_vault *v, vault_rec *r);
/* 1 if the record exists, 0 if not, or a negative error. */
int vault_rec_exists(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len,
                     const uint8_t *id, size_t id_len);
int vault_rec_delete(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len,
                     const uint8_t *id, size_t id_len);
/* Delete every record of a group. */
int vault_rec_delete_group(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len);
/* The records of (kind, group) with pos in [first, first + max), ordered
 * by pos; max 0 means all. fn gets each opened record (valid during the
 * call). Stops at the first error (EK_ERR_VAULT_CORRUPT for a row that does
 * not verify) or at fn's first nonzero result, which is returned. */
typedef int (*vault_rec_fn)(void *ctx, const vault_rec *r);
int vault_rec_list(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len,
                   uint64_t first, uint64_t max, vault_rec_fn fn, void *ctx);
int vault_rec_count(ek_vault *v, uint64_t *count, uint8_t kind, const uint8_t *group,
                    size_t group_len);

/* Copy n bytes into a fresh buffer of n + 1 (the last a NUL). */
int vault_dup(const ek_vault *v, uint8_t **out, const uint8_t *p, size_t n);
/* Check an id string: 1..EK_VAULT_ID_MAX bytes; *len its length. */
int vault_id_len(const char *id, size_t *len);

#endif /* EK_VAULT_INTERNAL_H */
