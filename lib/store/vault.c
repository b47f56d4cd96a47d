/*
 * vault.c: creating, opening and closing a vault; its header, the two
 * wraps of the data key, passphrase and recovery changes, transactions and
 * the mapping of SQLite's errors to ours (docs/vault.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/vault_internal.h"

/* The schema, exactly as created; an open vault must have these objects
 * and no others (no trigger or view an attacker might add). */
static const char *const schema_header =
    "CREATE TABLE ek_header(id INTEGER PRIMARY KEY CHECK (id = 1), magic TEXT NOT NULL, "
    "version INTEGER NOT NULL, body BLOB NOT NULL, checksum BLOB NOT NULL) STRICT";
static const char *const schema_rows =
    "CREATE TABLE ek_rows(kind INTEGER NOT NULL, grp BLOB NOT NULL, k BLOB NOT NULL, "
    "pos INTEGER NOT NULL, v BLOB NOT NULL, UNIQUE (kind, grp, k)) STRICT";
static const char *const schema_rows_pos = "CREATE INDEX ek_rows_pos ON ek_rows(kind, grp, pos)";

#define HEADER_BODY_LEN                                                                            \
    (VAULT_ID_LEN + 1 + 4 + 4 + EK_ARGON2ID_SALT_LEN + EK_AEAD_NONCE_LEN + VAULT_WRAP_LEN +        \
     VAULT_SALT_LEN + EK_AEAD_NONCE_LEN + VAULT_WRAP_LEN)

/* Labels (domain separation of every key and every associated data). */
static const char label_header[] = "enkrypt-vault-header";
static const char label_wrap_pass[] = "enkrypt-vault-wrap-passphrase";
static const char label_wrap_rec[] = "enkrypt-vault-wrap-recovery";
static const char label_rec_key[] = "enkrypt vault v1 recovery key";
static const char label_seal_key[] = "enkrypt vault v1 seal key";
static const char label_index_key[] = "enkrypt vault v1 index key";

const char *ek_vault_strerror(int err)
{
    switch (err) {
    case EK_ERR_VAULT_BAD_PASSPHRASE: return "wrong passphrase";
    case EK_ERR_VAULT_BAD_RECOVERY: return "this recovery code does not open this vault";
    case EK_ERR_VAULT_RECOVERY_TYPO: return "the recovery code is mistyped";
    case EK_ERR_VAULT_NOT_VAULT: return "not an enkrypt vault";
    case EK_ERR_VAULT_VERSION: return "the vault was written by a newer version of enkrypt";
    case EK_ERR_VAULT_CORRUPT: return "the vault is damaged";
    case EK_ERR_VAULT_NO_FILE: return "no vault at this path";
    case EK_ERR_VAULT_EXISTS: return "already exists";
    case EK_ERR_VAULT_NOT_FOUND: return "not found in the vault";
    case EK_ERR_VAULT_BUSY: return "the vault is in use by another process";
    case EK_ERR_VAULT_READONLY: return "the vault or its folder is read-only";
    case EK_ERR_VAULT_FULL: return "the disk is full";
    case EK_ERR_VAULT_IO: return "disk input/output error";
    case EK_ERR_VAULT_CLOSED: return "the vault is unusable after an earlier error";
    default: return ek_strerror(err);
    }
}

int vault_sqlite_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return EK_OK;
    case SQLITE_NOMEM: return EK_ERR_NOMEM;
    case SQLITE_FULL: return EK_ERR_VAULT_FULL;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return EK_ERR_VAULT_READONLY;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return EK_ERR_VAULT_BUSY;
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
    case SQLITE_SCHEMA:
    case SQLITE_MISMATCH: return EK_ERR_VAULT_CORRUPT;
    case SQLITE_NOTADB: return EK_ERR_VAULT_NOT_VAULT;
    case SQLITE_TOOBIG: return EK_ERR_TOO_LARGE;
    case SQLITE_CONSTRAINT: return EK_ERR_VAULT_EXISTS;
    default: return EK_ERR_VAULT_IO;
    }
}

int vault_check(const ek_vault *v)
{
    if (v == NULL || v->db == NULL)
        return EK_ERR_INVALID_ARG;
    if (v->broken)
        return EK_ERR_VAULT_CLOSED;
    return EK_OK;
}

void ek_vault_free(const ek_allocator *alloc, void *p, size_t len)
{
    if (p == NULL)
        return;
    ek_wipe(p, len + 1);
    ek_free(alloc, p, len + 1);
}

void ek_vault_id(const ek_vault *v, uint8_t id[16])
{
    memcpy(id, v->hdr.vault_id, VAULT_ID_LEN);
}

/* ---------------------------------------------------------------------------
 * SQL helpers.
 */
static int exec_sql(sqlite3 *db, const char *sql)
{
    return vault_sqlite_err(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* Run a pragma (or any statement) that returns one row; its first column
 * as an integer, or as text into buf. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_CORRUPT;
        }
    }
    sqlite3_finalize(st);
    return vault_sqlite_err(rc);
}

static int query_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    buf[0] = 0;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            if (t != NULL) {
                size_t n = strlen((const char *)t);
                if (n >= cap)
                    n = cap - 1;
                memcpy(buf, t, n);
                buf[n] = 0;
            }
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_CORRUPT;
        }
    }
    sqlite3_finalize(st);
    return vault_sqlite_err(rc);
}

/* ---------------------------------------------------------------------------
 * Transactions.
 */
static int rollback_quietly(ek_vault *v, const char *sql)
{
    int rc = sqlite3_exec(v->db, sql, NULL, NULL, NULL);
    /* A failed ROLLBACK after SQLite already rolled back by itself (full
     * disk, I/O error) is fine: there is nothing left to undo. One that
     * leaves a transaction open is not. */
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(v->db))
        v->broken = 1;
    return rc;
}

static int is_disk_error(int rc)
{
    return rc == EK_ERR_VAULT_FULL || rc == EK_ERR_VAULT_IO || rc == EK_ERR_VAULT_READONLY;
}

int vault_op_begin(ek_vault *v)
{
    int rc = vault_check(v);
    if (rc != EK_OK)
        return rc;
    if (v->in_op)
        return EK_ERR_STATE;
    if (v->in_txn) {
        if (v->txn_err != EK_OK)
            return v->txn_err; /* the transaction is gone: write nothing */
        if (sqlite3_get_autocommit(v->db))
            return EK_ERR_VAULT_IO;
        rc = exec_sql(v->db, "SAVEPOINT ek_op");
    } else {
        rc = exec_sql(v->db, "BEGIN IMMEDIATE");
    }
    if (rc == EK_OK)
        v->in_op = 1;
    return rc;
}

int vault_op_end(ek_vault *v, int rc)
{
    if (!v->in_op)
        return rc;
    v->in_op = 0;
    if (v->in_txn) {
        if (rc == EK_OK) {
            rc = exec_sql(v->db, "RELEASE ek_op");
            if (rc == EK_OK)
                return EK_OK;
        }
        /* Undo only this call; but after a disk error SQLite may already
         * have rolled the whole transaction back: make that certain, so
         * the outcome does not depend on where the disk filled up. */
        if (!is_disk_error(rc) && !sqlite3_get_autocommit(v->db) &&
            sqlite3_exec(v->db, "ROLLBACK TO ek_op; RELEASE ek_op", NULL, NULL, NULL) == SQLITE_OK)
            return rc;
        if (!sqlite3_get_autocommit(v->db))
            (void)rollback_quietly(v, "ROLLBACK");
        v->txn_err = is_disk_error(rc) ? rc : EK_ERR_VAULT_IO;
        return rc;
    }
    if (rc == EK_OK) {
        rc = exec_sql(v->db, "COMMIT");
        if (rc == EK_OK)
            return EK_OK;
    }
    if (!sqlite3_get_autocommit(v->db))
        (void)rollback_quietly(v, "ROLLBACK");
    return rc;
}

int ek_vault_begin(ek_vault *v)
{
    int rc = vault_check(v);
    if (rc != EK_OK)
        return rc;
    if (v->in_txn || v->in_op)
        return EK_ERR_STATE;
    rc = exec_sql(v->db, "BEGIN IMMEDIATE");
    if (rc == EK_OK)
        v->in_txn = 1;
    return rc;
}

int ek_vault_commit(ek_vault *v)
{
    int rc = vault_check(v);
    if (rc != EK_OK)
        return rc;
    if (!v->in_txn)
        return EK_ERR_STATE;
    v->in_txn = 0;
    if (v->txn_err != EK_OK) {
        rc = v->txn_err;
        v->txn_err = EK_OK;
        return rc;
    }
    if (sqlite3_get_autocommit(v->db))
        return EK_ERR_VAULT_IO; /* SQLite rolled it back by itself */
    rc = exec_sql(v->db, "COMMIT");
    if (rc != EK_OK && !sqlite3_get_autocommit(v->db))
        (void)rollback_quietly(v, "ROLLBACK");
    return rc;
}

int ek_vault_rollback(ek_vault *v)
{
    int rc = vault_check(v);
    if (rc != EK_OK)
        return rc;
    if (!v->in_txn)
        return EK_ERR_STATE;
    v->in_txn = 0;
    v->txn_err = EK_OK;
    if (sqlite3_get_autocommit(v->db))
        return EK_OK;
    if (rollback_quietly(v, "ROLLBACK") != SQLITE_OK)
        return EK_ERR_VAULT_IO;
    return EK_OK;
}

int vault_test_set_max_pages(ek_vault *v, uint32_t n)
{
    char sql[64];
    int64_t got = 0;
    (void)snprintf(sql, sizeof sql, "PRAGMA max_page_count = %u", (unsigned)n);
    return query_int(v->db, sql, &got);
}

/* ---------------------------------------------------------------------------
 * The header.
 */
static void header_encode(uint8_t body[HEADER_BODY_LEN], const vault_header *h)
{
    ek_writer w;
    ek_writer_init_fixed(&w, body, HEADER_BODY_LEN);
    (void)ek_write_bytes(&w, h->vault_id, VAULT_ID_LEN);
    (void)ek_write_u8(&w, h->row_alg);
    (void)ek_write_u32(&w, h->t_cost);
    (void)ek_write_u32(&w, h->m_kib);
    (void)ek_write_bytes(&w, h->pass_salt, sizeof h->pass_salt);
    (void)ek_write_bytes(&w, h->pass_nonce, sizeof h->pass_nonce);
    (void)ek_write_bytes(&w, h->pass_wrap, sizeof h->pass_wrap);
    (void)ek_write_bytes(&w, h->rec_salt, sizeof h->rec_salt);
    (void)ek_write_bytes(&w, h->rec_nonce, sizeof h->rec_nonce);
    (void)ek_write_bytes(&w, h->rec_wrap, sizeof h->rec_wrap);
}

static int header_decode(vault_header *h, const uint8_t *body, size_t len)
{
    ek_reader r;
    ek_reader_init(&r, body, len);
    (void)ek_read_bytes(&r, h->vault_id, VAULT_ID_LEN);
    (void)ek_read_u8(&r, &h->row_alg);
    (void)ek_read_u32(&r, &h->t_cost);
    (void)ek_read_u32(&r, &h->m_kib);
    (void)ek_read_bytes(&r, h->pass_salt, sizeof h->pass_salt);
    (void)ek_read_bytes(&r, h->pass_nonce, sizeof h->pass_nonce);
    (void)ek_read_bytes(&r, h->pass_wrap, sizeof h->pass_wrap);
    (void)ek_read_bytes(&r, h->rec_salt, sizeof h->rec_salt);
    (void)ek_read_bytes(&r, h->rec_nonce, sizeof h->rec_nonce);
    (void)ek_read_bytes(&r, h->rec_wrap, sizeof h->rec_wrap);
    if (ek_reader_finish(&r) != EK_OK)
        return EK_ERR_VAULT_CORRUPT;
    if (h->row_alg != EK_AEAD_AES256GCM)
        return EK_ERR_VAULT_CORRUPT;
    if (h->t_cost < 1 || h->t_cost > EK_VAULT_ARGON2_T_MAX || h->m_kib < EK_VAULT_ARGON2_M_MIN ||
        h->m_kib > EK_VAULT_ARGON2_M_MAX)
        return EK_ERR_VAULT_CORRUPT;
    return EK_OK;
}

/* checksum = SHA-256(label || magic || u32 version || body): catches damage,
 * so that a damaged header is not mistaken for a wrong passphrase. It is
 * not a MAC: the wraps' AEAD tags authenticate what matters. */
static void header_checksum(uint8_t out[EK_SHA256_LEN], uint32_t version, const uint8_t *body,
                            size_t len)
{
    uint8_t ver[4] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16), (uint8_t)(version >> 8),
                      (uint8_t)version};
    ek_iovec parts[4] = {{label_header, sizeof label_header - 1},
                         {VAULT_MAGIC, sizeof VAULT_MAGIC - 1},
                         {ver, sizeof ver},
                         {body, len}};
    ek_sha256_v(out, parts, 4);
}

static int header_store(ek_vault *v, const vault_header *h, int insert)
{
    uint8_t body[HEADER_BODY_LEN], sum[EK_SHA256_LEN];
    sqlite3_stmt *st = NULL;
    const char *sql = insert ? "INSERT INTO ek_header(id, magic, version, body, checksum) "
                               "VALUES (1, ?1, ?2, ?3, ?4)"
                             : "UPDATE ek_header SET magic = ?1, version = ?2, body = ?3, "
                               "checksum = ?4 WHERE id = 1";
    int rc;

    header_encode(body, h);
    header_checksum(sum, EK_VAULT_FORMAT_VERSION, body, sizeof body);
    rc = sqlite3_prepare_v2(v->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, VAULT_MAGIC, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, EK_VAULT_FORMAT_VERSION);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, body, (int)sizeof body, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, sum, (int)sizeof sum, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = sqlite3_changes(v->db) == 1 ? SQLITE_OK : SQLITE_CORRUPT;
    }
    sqlite3_finalize(st);
    return vault_sqlite_err(rc);
}

static int header_load(vault_header *h, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT magic, version, body, checksum FROM ek_header", -1, &st,
                                NULL);
    int err;
    if (rc != SQLITE_OK) {
        err = vault_sqlite_err(rc);
        goto done;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        err = rc == SQLITE_DONE ? EK_ERR_VAULT_CORRUPT : vault_sqlite_err(rc);
        goto done;
    }
    {
        const unsigned char *magic = sqlite3_column_text(st, 0);
        int64_t version = sqlite3_column_int64(st, 1);
        const uint8_t *body = sqlite3_column_blob(st, 2);
        size_t body_len = (size_t)sqlite3_column_bytes(st, 2);
        const uint8_t *sum = sqlite3_column_blob(st, 3);
        size_t sum_len = (size_t)sqlite3_column_bytes(st, 3);
        uint8_t want[EK_SHA256_LEN];

        if (magic == NULL || strcmp((const char *)magic, VAULT_MAGIC) != 0) {
            err = EK_ERR_VAULT_CORRUPT;
            goto done;
        }
        if (version > (int64_t)EK_VAULT_FORMAT_VERSION) {
            err = EK_ERR_VAULT_VERSION;
            goto done;
        }
        if (version != (int64_t)EK_VAULT_FORMAT_VERSION || body == NULL || sum == NULL ||
            sum_len != EK_SHA256_LEN) {
            err = EK_ERR_VAULT_CORRUPT;
            goto done;
        }
        header_checksum(want, (uint32_t)version, body, body_len);
        if (!ek_ct_equal(want, sum, EK_SHA256_LEN)) {
            err = EK_ERR_VAULT_CORRUPT;
            goto done;
        }
        err = header_decode(h, body, body_len);
        if (err != EK_OK)
            goto done;
    }
    rc = sqlite3_step(st);
    err = rc == SQLITE_DONE ? EK_OK : EK_ERR_VAULT_CORRUPT; /* exactly one row */
done:
    sqlite3_finalize(st);
    return err;
}

/* ---------------------------------------------------------------------------
 * Keys and wraps.
 */
static int derive_row_keys(ek_vault *v)
{
    vault_keys *k = v->keys;
    int rc = ek_hkdf_sha256(k->seal, VAULT_KEY_LEN, v->hdr.vault_id, VAULT_ID_LEN, k->data,
                            VAULT_KEY_LEN, label_seal_key, sizeof label_seal_key - 1);
    if (rc == EK_OK)
        rc = ek_hkdf_sha256(k->index, VAULT_KEY_LEN, v->hdr.vault_id, VAULT_ID_LEN, k->data,
                            VAULT_KEY_LEN, label_index_key, sizeof label_index_key - 1);
    return rc;
}

/* The associated data of the passphrase wrap: label || vault id || t || m
 * || salt, so the stored parameters cannot be swapped unnoticed. */
static size_t wrap_pass_aad(uint8_t *aad, size_t cap, const vault_header *h)
{
    ek_writer w;
    size_t n;
    ek_writer_init_fixed(&w, aad, cap);
    (void)ek_write_bytes(&w, label_wrap_pass, sizeof label_wrap_pass - 1);
    (void)ek_write_bytes(&w, h->vault_id, VAULT_ID_LEN);
    (void)ek_write_u32(&w, h->t_cost);
    (void)ek_write_u32(&w, h->m_kib);
    (void)ek_write_bytes(&w, h->pass_salt, sizeof h->pass_salt);
    n = w.err == EK_OK ? w.len : 0;
    return n;
}

static size_t wrap_rec_aad(uint8_t *aad, size_t cap, const vault_header *h)
{
    ek_writer w;
    ek_writer_init_fixed(&w, aad, cap);
    (void)ek_write_bytes(&w, label_wrap_rec, sizeof label_wrap_rec - 1);
    (void)ek_write_bytes(&w, h->vault_id, VAULT_ID_LEN);
    (void)ek_write_bytes(&w, h->rec_salt, sizeof h->rec_salt);
    return w.err == EK_OK ? w.len : 0;
}

/* RFC 9106: the key-encryption key from the passphrase. */
static int pass_kek(uint8_t kek[VAULT_KEY_LEN], const vault_header *h, const char *pass,
                    size_t pass_len)
{
    return ek_argon2id(kek, VAULT_KEY_LEN, pass, pass_len, h->pass_salt, h->t_cost, h->m_kib);
}

/* The recovery code carries 128 random bits: a fast KDF is enough (RFC
 * 5869). */
static int rec_kek(uint8_t kek[VAULT_KEY_LEN], const vault_header *h,
                   const uint8_t secret[VAULT_RECOVERY_LEN])
{
    uint8_t info[sizeof label_rec_key - 1 + VAULT_ID_LEN];
    memcpy(info, label_rec_key, sizeof label_rec_key - 1);
    memcpy(info + sizeof label_rec_key - 1, h->vault_id, VAULT_ID_LEN);
    return ek_hkdf_sha256(kek, VAULT_KEY_LEN, h->rec_salt, VAULT_SALT_LEN, secret,
                          VAULT_RECOVERY_LEN, info, sizeof info);
}

/* Wrap data under a new passphrase into h (new salt and nonce). */
static int wrap_pass(vault_header *h, const ek_rng *rng, const uint8_t data[VAULT_KEY_LEN],
                     const char *pass, size_t pass_len)
{
    uint8_t kek[VAULT_KEY_LEN], aad[128];
    size_t aad_len;
    int rc = ek_random(rng, h->pass_salt, sizeof h->pass_salt);
    if (rc == EK_OK)
        rc = ek_random(rng, h->pass_nonce, sizeof h->pass_nonce);
    if (rc == EK_OK)
        rc = pass_kek(kek, h, pass, pass_len);
    if (rc == EK_OK) {
        aad_len = wrap_pass_aad(aad, sizeof aad, h);
        rc = ek_aead_seal(h->pass_wrap, EK_AEAD_AES256GCM, kek, VAULT_KEY_LEN, h->pass_nonce,
                          EK_AEAD_NONCE_LEN, aad, aad_len, data, VAULT_KEY_LEN);
    }
    ek_wipe(kek, sizeof kek);
    return rc;
}

static int unwrap_pass(uint8_t data[VAULT_KEY_LEN], const vault_header *h, const char *pass,
                       size_t pass_len)
{
    uint8_t kek[VAULT_KEY_LEN], aad[128];
    size_t aad_len = wrap_pass_aad(aad, sizeof aad, h);
    int rc = pass_kek(kek, h, pass, pass_len);
    if (rc == EK_OK) {
        rc = ek_aead_open(data, EK_AEAD_AES256GCM, kek, VAULT_KEY_LEN, h->pass_nonce,
                          EK_AEAD_NONCE_LEN, aad, aad_len, h->pass_wrap, VAULT_WRAP_LEN);
        if (rc == EK_ERR_AUTH)
            rc = EK_ERR_VAULT_BAD_PASSPHRASE;
    }
    ek_wipe(kek, sizeof kek);
    return rc;
}

/* Wrap data under a new recovery code into h; the code goes to code. */
static int wrap_rec(vault_header *h, char code[EK_VAULT_RECOVERY_LEN + 1], const ek_rng *rng,
                    const uint8_t data[VAULT_KEY_LEN])
{
    uint8_t secret[VAULT_RECOVERY_LEN], kek[VAULT_KEY_LEN], aad[128];
    size_t aad_len;
    int rc = ek_random(rng, secret, sizeof secret);
    if (rc == EK_OK)
        rc = ek_random(rng, h->rec_salt, sizeof h->rec_salt);
    if (rc == EK_OK)
        rc = ek_random(rng, h->rec_nonce, sizeof h->rec_nonce);
    if (rc == EK_OK)
        rc = rec_kek(kek, h, secret);
    if (rc == EK_OK) {
        aad_len = wrap_rec_aad(aad, sizeof aad, h);
        rc = ek_aead_seal(h->rec_wrap, EK_AEAD_AES256GCM, kek, VAULT_KEY_LEN, h->rec_nonce,
                          EK_AEAD_NONCE_LEN, aad, aad_len, data, VAULT_KEY_LEN);
    }
    if (rc == EK_OK)
        vault_recovery_encode(code, secret);
    ek_wipe(secret, sizeof secret);
    ek_wipe(kek, sizeof kek);
    return rc;
}

static int unwrap_rec(uint8_t data[VAULT_KEY_LEN], const vault_header *h,
                      const uint8_t secret[VAULT_RECOVERY_LEN])
{
    uint8_t kek[VAULT_KEY_LEN], aad[128];
    size_t aad_len = wrap_rec_aad(aad, sizeof aad, h);
    int rc = rec_kek(kek, h, secret);
    if (rc == EK_OK) {
        rc = ek_aead_open(data, EK_AEAD_AES256GCM, kek, VAULT_KEY_LEN, h->rec_nonce,
                          EK_AEAD_NONCE_LEN, aad, aad_len, h->rec_wrap, VAULT_WRAP_LEN);
        if (rc == EK_ERR_AUTH)
            rc = EK_ERR_VAULT_BAD_RECOVERY;
    }
    ek_wipe(kek, sizeof kek);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Opening.
 */
static int vault_new(ek_vault **out, const ek_vault_options *opts)
{
    const ek_allocator *alloc = opts != NULL ? opts->alloc : NULL;
    ek_vault *v = ek_alloc(alloc, sizeof *v);
    if (v == NULL)
        return EK_ERR_NOMEM;
    memset(v, 0, sizeof *v);
    v->alloc = alloc;
    v->rng = opts != NULL && opts->rng != NULL ? opts->rng : ek_rng_system();
    v->t_cost =
        opts != NULL && opts->argon2_t_cost != 0 ? opts->argon2_t_cost : EK_VAULT_ARGON2_T_DEFAULT;
    v->m_kib =
        opts != NULL && opts->argon2_m_kib != 0 ? opts->argon2_m_kib : EK_VAULT_ARGON2_M_DEFAULT;
    if (v->t_cost > EK_VAULT_ARGON2_T_MAX || v->m_kib < EK_VAULT_ARGON2_M_MIN ||
        v->m_kib > EK_VAULT_ARGON2_M_MAX) {
        ek_free(alloc, v, sizeof *v);
        return EK_ERR_INVALID_ARG;
    }
    v->keys = ek_secure_alloc(sizeof *v->keys);
    if (v->keys == NULL) {
        ek_free(alloc, v, sizeof *v);
        return EK_ERR_NOMEM;
    }
    ek_wipe(v->keys, sizeof *v->keys);
    *out = v;
    return EK_OK;
}

void ek_vault_close(ek_vault *v)
{
    const ek_allocator *alloc;
    if (v == NULL)
        return;
    if (v->db != NULL) {
        if (!sqlite3_get_autocommit(v->db))
            (void)sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
        (void)sqlite3_close_v2(v->db);
    }
    if (v->keys != NULL)
        ek_secure_free(v->keys); /* wipes */
    alloc = v->alloc;
    ek_wipe(v, sizeof *v);
    ek_free(alloc, v, sizeof *v);
}

/* The directory part of path, for the writability check. */
static void dir_of(char *dir, size_t cap, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n;
    if (slash == NULL) {
        (void)snprintf(dir, cap, ".");
        return;
    }
    n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/file" */
    if (n >= cap)
        n = cap - 1;
    memcpy(dir, path, n);
    dir[n] = 0;
}

static int errno_err(int e)
{
    switch (e) {
    case EACCES:
    case EPERM:
    case EROFS: return EK_ERR_VAULT_READONLY;
    case ENOSPC:
    case EDQUOT: return EK_ERR_VAULT_FULL;
    case ENOENT:
    case ENOTDIR: return EK_ERR_VAULT_NO_FILE;
    case EEXIST: return EK_ERR_VAULT_EXISTS;
    case ENOMEM: return EK_ERR_NOMEM;
    default: return EK_ERR_VAULT_IO;
    }
}

/* Look at the file before SQLite does: a regular file, writable, in a
 * writable folder (WAL needs its -wal file beside it), starting with
 * SQLite's header and our application_id (bytes 68..71, big-endian). */
static int precheck_file(const char *path)
{
    static const char sqlite_magic[16] = "SQLite format 3";
    char dir[4096];
    uint8_t head[100];
    struct stat sb;
    size_t got = 0;
    FILE *f;
    uint32_t app;

    if (stat(path, &sb) != 0)
        return errno_err(errno);
    if (!S_ISREG(sb.st_mode))
        return EK_ERR_VAULT_NOT_VAULT;
    f = fopen(path, "rb");
    if (f == NULL)
        return errno_err(errno);
    got = fread(head, 1, sizeof head, f);
    (void)fclose(f);
    if (got < sizeof head || memcmp(head, sqlite_magic, sizeof sqlite_magic) != 0)
        return EK_ERR_VAULT_NOT_VAULT;
    app = (uint32_t)head[68] << 24 | (uint32_t)head[69] << 16 | (uint32_t)head[70] << 8 |
          (uint32_t)head[71];
    if (app != VAULT_APPLICATION_ID)
        return EK_ERR_VAULT_NOT_VAULT;
    if (access(path, R_OK | W_OK) != 0)
        return errno_err(errno) == EK_ERR_VAULT_NO_FILE ? EK_ERR_VAULT_NO_FILE
                                                        : EK_ERR_VAULT_READONLY;
    dir_of(dir, sizeof dir, path);
    if (access(dir, W_OK | X_OK) != 0)
        return EK_ERR_VAULT_READONLY;
    return EK_OK;
}

/* Connection settings of every open (none of them writes to the file):
 * an exclusive lock held from the first access, before WAL is touched (so
 * no -shm file: the WAL index lives in memory); full syncs; freed pages
 * zeroed; temporary data in memory; no schema-borne code. */
static int configure(sqlite3 *db)
{
    int rc;
    (void)sqlite3_extended_result_codes(db, 1);
    (void)sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    (void)sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    (void)sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *)NULL);
    (void)sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, (int *)NULL);
    rc = exec_sql(db, "PRAGMA locking_mode = EXCLUSIVE");
    if (rc == EK_OK)
        rc = exec_sql(db, "PRAGMA synchronous = FULL");
    if (rc == EK_OK)
        rc = exec_sql(db, "PRAGMA secure_delete = ON");
    if (rc == EK_OK)
        rc = exec_sql(db, "PRAGMA temp_store = MEMORY");
    if (rc == EK_OK)
        rc = exec_sql(db, "PRAGMA cell_size_check = ON");
    if (rc == EK_OK)
        rc = exec_sql(db, "PRAGMA mmap_size = 0");
    return rc;
}

/* The schema must be exactly ours. */
static int check_schema(sqlite3 *db)
{
    static const struct {
        const char *type, *name, *sql;
    } want[] = {
        {"table", "ek_header", NULL},
        {"table", "ek_rows", NULL},
        {"index", "ek_rows_pos", NULL},
        {"index", "sqlite_autoindex_ek_rows_1", NULL},
    };
    const char *want_sql[] = {schema_header, schema_rows, schema_rows_pos, NULL};
    sqlite3_stmt *st = NULL;
    size_t i = 0;
    int rc = sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_schema ORDER BY name", -1,
                                &st, NULL);
    int err = EK_OK;
    if (rc != SQLITE_OK) {
        err = vault_sqlite_err(rc);
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *sql = (const char *)sqlite3_column_text(st, 2);
        if (i >= sizeof want / sizeof want[0] || type == NULL || name == NULL ||
            strcmp(type, want[i].type) != 0 || strcmp(name, want[i].name) != 0) {
            err = EK_ERR_VAULT_CORRUPT;
            goto done;
        }
        if ((want_sql[i] == NULL) != (sql == NULL) ||
            (sql != NULL && strcmp(sql, want_sql[i]) != 0)) {
            err = EK_ERR_VAULT_CORRUPT;
            goto done;
        }
        i++;
    }
    if (rc != SQLITE_DONE)
        err = vault_sqlite_err(rc);
    else if (i != sizeof want / sizeof want[0])
        err = EK_ERR_VAULT_CORRUPT;
done:
    sqlite3_finalize(st);
    if (err == EK_ERR_VAULT_NOT_VAULT)
        err = EK_ERR_VAULT_CORRUPT; /* it had our application_id */
    return err;
}

static int wal_exists(const char *path)
{
    char wal[4096 + 8];
    struct stat sb;
    (void)snprintf(wal, sizeof wal, "%s-wal", path);
    return stat(wal, &sb) == 0;
}

/* Open the database and read the header, without writing anything. */
static int open_and_load(ek_vault *v, const char *path)
{
    char mode[16];
    int64_t version = 0, app = 0;
    int rc = precheck_file(path);
    if (rc != EK_OK)
        return rc;
    rc = sqlite3_open_v2(
        path, &v->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE, NULL);
    if (rc != SQLITE_OK)
        return rc == SQLITE_CANTOPEN ? EK_ERR_VAULT_IO : vault_sqlite_err(rc);
    if (sqlite3_db_readonly(v->db, "main") == 1)
        return EK_ERR_VAULT_READONLY;
    /* A failed open must leave the files as they were. Without a WAL file
     * (a vault closed cleanly), closing checkpoints nothing and deletes the
     * empty WAL that reading made. With one (after a crash), closing must
     * not checkpoint it into the database until the vault is unlocked. */
    if (wal_exists(path))
        (void)sqlite3_db_config(v->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    rc = configure(v->db);
    if (rc == EK_OK)
        rc = query_int(v->db, "PRAGMA application_id", &app);
    if (rc == EK_OK && app != VAULT_APPLICATION_ID)
        rc = EK_ERR_VAULT_NOT_VAULT;
    if (rc == EK_OK)
        rc = query_int(v->db, "PRAGMA user_version", &version);
    if (rc == EK_OK && version > (int64_t)EK_VAULT_FORMAT_VERSION)
        rc = EK_ERR_VAULT_VERSION;
    if (rc == EK_OK && version != (int64_t)EK_VAULT_FORMAT_VERSION)
        rc = EK_ERR_VAULT_CORRUPT;
    if (rc == EK_OK)
        rc = query_text(v->db, "PRAGMA journal_mode", mode, sizeof mode);
    if (rc == EK_OK && strcmp(mode, "wal") != 0)
        rc = EK_ERR_VAULT_CORRUPT;
    if (rc == EK_OK)
        rc = check_schema(v->db);
    if (rc == EK_OK)
        rc = header_load(&v->hdr, v->db);
    if (rc == EK_ERR_VAULT_NOT_VAULT)
        rc = EK_ERR_VAULT_CORRUPT; /* past the precheck, it had our id */
    return rc;
}

/* After the data key is known: derive the row keys and take the write
 * lock now, so that a second process is refused at once. */
static int finish_open(ek_vault *v)
{
    int rc = derive_row_keys(v);
    if (rc != EK_OK)
        return rc;
    rc = exec_sql(v->db, "BEGIN IMMEDIATE");
    if (rc == EK_OK)
        rc = exec_sql(v->db, "COMMIT");
    if (rc == EK_OK)
        (void)sqlite3_db_config(v->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, (int *)NULL);
    return rc;
}

static int valid_path(const char *path)
{
    return path != NULL && path[0] != 0 && strlen(path) < 4000;
}

int ek_vault_open(ek_vault **out, const char *path, const char *pass, size_t pass_len,
                  const ek_vault_options *opts)
{
    ek_vault *v = NULL;
    int rc;
    if (out == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    if (!valid_path(path) || pass == NULL || pass_len == 0)
        return EK_ERR_INVALID_ARG;
    rc = vault_new(&v, opts);
    if (rc != EK_OK)
        return rc;
    rc = open_and_load(v, path);
    if (rc == EK_OK)
        rc = unwrap_pass(v->keys->data, &v->hdr, pass, pass_len);
    if (rc == EK_OK)
        rc = finish_open(v);
    if (rc != EK_OK) {
        ek_vault_close(v);
        return rc;
    }
    *out = v;
    return EK_OK;
}

int ek_vault_open_recovery(ek_vault **out, const char *path, const char *recovery,
                           const ek_vault_options *opts)
{
    uint8_t secret[VAULT_RECOVERY_LEN];
    ek_vault *v = NULL;
    int rc;
    if (out == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    if (!valid_path(path) || recovery == NULL)
        return EK_ERR_INVALID_ARG;
    rc = vault_recovery_decode(secret, NULL, recovery);
    if (rc != EK_OK)
        return rc;
    rc = vault_new(&v, opts);
    if (rc == EK_OK)
        rc = open_and_load(v, path);
    if (rc == EK_OK)
        rc = unwrap_rec(v->keys->data, &v->hdr, secret);
    if (rc == EK_OK)
        rc = finish_open(v);
    ek_wipe(secret, sizeof secret);
    if (rc != EK_OK) {
        ek_vault_close(v);
        return rc;
    }
    *out = v;
    return EK_OK;
}

/* ---------------------------------------------------------------------------
 * Creating.
 */
static void remove_files(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char name[4096 + 16];
    size_t i;
    for (i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        (void)snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        (void)unlink(name);
    }
}

static int create_schema(ek_vault *v)
{
    char mode[16], sql[128];
    int rc = configure(v->db);
    if (rc == EK_OK)
        rc = query_text(v->db, "PRAGMA journal_mode = WAL", mode, sizeof mode);
    if (rc == EK_OK && strcmp(mode, "wal") != 0)
        rc = EK_ERR_VAULT_IO;
    if (rc != EK_OK)
        return rc;
    rc = exec_sql(v->db, "BEGIN IMMEDIATE");
    if (rc != EK_OK)
        return rc;
    (void)snprintf(sql, sizeof sql, "PRAGMA application_id = %d", VAULT_APPLICATION_ID);
    rc = exec_sql(v->db, sql);
    if (rc == EK_OK) {
        (void)snprintf(sql, sizeof sql, "PRAGMA user_version = %u", EK_VAULT_FORMAT_VERSION);
        rc = exec_sql(v->db, sql);
    }
    if (rc == EK_OK)
        rc = exec_sql(v->db, schema_header);
    if (rc == EK_OK)
        rc = exec_sql(v->db, schema_rows);
    if (rc == EK_OK)
        rc = exec_sql(v->db, schema_rows_pos);
    if (rc == EK_OK)
        rc = header_store(v, &v->hdr, 1);
    if (rc == EK_OK)
        rc = exec_sql(v->db, "COMMIT");
    if (rc != EK_OK && !sqlite3_get_autocommit(v->db))
        (void)sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int ek_vault_create(ek_vault **out, char recovery[EK_VAULT_RECOVERY_LEN + 1], const char *path,
                    const char *pass, size_t pass_len, const ek_vault_options *opts)
{
    ek_vault *v = NULL;
    int fd, rc;
    if (out == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    if (recovery == NULL || !valid_path(path) || pass == NULL || pass_len == 0)
        return EK_ERR_INVALID_ARG;
    recovery[0] = 0;
    rc = vault_new(&v, opts);
    if (rc != EK_OK)
        return rc;

    /* The keys and the header first: nothing is written until they are
     * ready. */
    v->hdr.row_alg = EK_AEAD_AES256GCM;
    v->hdr.t_cost = v->t_cost;
    v->hdr.m_kib = v->m_kib;
    rc = ek_random(v->rng, v->hdr.vault_id, VAULT_ID_LEN);
    if (rc == EK_OK)
        rc = ek_random(v->rng, v->keys->data, VAULT_KEY_LEN);
    if (rc == EK_OK)
        rc = wrap_pass(&v->hdr, v->rng, v->keys->data, pass, pass_len);
    if (rc == EK_OK)
        rc = wrap_rec(&v->hdr, recovery, v->rng, v->keys->data);
    if (rc == EK_OK)
        rc = derive_row_keys(v);
    if (rc != EK_OK) {
        ek_wipe(recovery, EK_VAULT_RECOVERY_LEN + 1);
        ek_vault_close(v);
        return rc;
    }

    /* O_EXCL: never overwrite anything; 0600: the WAL file SQLite makes
     * beside it gets the same mode. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno_err(errno);
        if (rc == EK_ERR_VAULT_NO_FILE)
            rc = EK_ERR_VAULT_IO; /* the folder does not exist */
        ek_wipe(recovery, EK_VAULT_RECOVERY_LEN + 1);
        ek_vault_close(v);
        return rc;
    }
    (void)close(fd);

    rc = sqlite3_open_v2(
        path, &v->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE, NULL);
    rc = rc == SQLITE_OK ? EK_OK : vault_sqlite_err(rc);
    if (rc == EK_OK)
        rc = create_schema(v);
    if (rc == EK_OK)
        rc = finish_open(v);
    if (rc != EK_OK) {
        if (v->db != NULL)
            (void)sqlite3_db_config(v->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
        ek_wipe(recovery, EK_VAULT_RECOVERY_LEN + 1);
        ek_vault_close(v);
        remove_files(path);
        return rc;
    }
    *out = v;
    return EK_OK;
}

/* ---------------------------------------------------------------------------
 * Rewrapping.
 */
static int store_new_header(ek_vault *v, const vault_header *h)
{
    int rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    rc = vault_op_end(v, header_store(v, h, 0));
    if (rc == EK_OK)
        v->hdr = *h;
    return rc;
}

int ek_vault_change_passphrase(ek_vault *v, const char *new_pass, size_t new_pass_len)
{
    vault_header h;
    int rc = vault_check(v);
    if (rc != EK_OK)
        return rc;
    if (new_pass == NULL || new_pass_len == 0)
        return EK_ERR_INVALID_ARG;
    if (v->in_txn)
        return EK_ERR_STATE;
    h = v->hdr;
    h.t_cost = v->t_cost;
    h.m_kib = v->m_kib;
    rc = wrap_pass(&h, v->rng, v->keys->data, new_pass, new_pass_len);
    if (rc == EK_OK)
        rc = store_new_header(v, &h);
    ek_wipe(&h, sizeof h);
    return rc;
}

int ek_vault_check_passphrase(ek_vault *v, const char *pass, size_t pass_len)
{
    uint8_t data[VAULT_KEY_LEN];
    int rc = vault_check(v);
    if (rc != EK_OK)
        return rc;
    if (pass == NULL || pass_len == 0)
        return EK_ERR_INVALID_ARG;
    rc = unwrap_pass(data, &v->hdr, pass, pass_len);
    if (rc == EK_OK && !ek_ct_equal(data, v->keys->data, VAULT_KEY_LEN))
        rc = EK_ERR_VAULT_BAD_PASSPHRASE;
    ek_wipe(data, sizeof data);
    return rc;
}

int ek_vault_reset_recovery(ek_vault *v, char recovery[EK_VAULT_RECOVERY_LEN + 1])
{
    vault_header h;
    int rc = vault_check(v);
    if (rc != EK_OK)
        return rc;
    if (recovery == NULL)
        return EK_ERR_INVALID_ARG;
    if (v->in_txn)
        return EK_ERR_STATE;
    h = v->hdr;
    rc = wrap_rec(&h, recovery, v->rng, v->keys->data);
    if (rc == EK_OK)
        rc = store_new_header(v, &h);
    if (rc != EK_OK)
        ek_wipe(recovery, EK_VAULT_RECOVERY_LEN + 1);
    ek_wipe(&h, sizeof h);
    return rc;
}

int ek_vault_recovery_check(const char *recovery, unsigned *bad_group)
{
    uint8_t secret[VAULT_RECOVERY_LEN];
    int rc;
    if (bad_group != NULL)
        *bad_group = 0;
    if (recovery == NULL)
        return EK_ERR_INVALID_ARG;
    rc = vault_recovery_decode(secret, bad_group, recovery);
    ek_wipe(secret, sizeof secret);
    return rc;
}
