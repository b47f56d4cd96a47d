/*
 * rows.c: the sealed row layer and the records on top of it
 * (docs/vault.md §4).
 *
 * A row is (kind, grp, k, pos, v): grp and k are HMAC-SHA256 under the
 * index key of the caller's group id and id, v is the sealed record
 *   v = 0x01 || r (16) || nonce (12) || AES-256-GCM(subkey, nonce, aad, plain)
 *   subkey = HMAC-SHA256(seal key, r)
 *   aad = "enkrypt-vault-row" || u32 format || vault id || u8 kind
 *         || u8 |grp| || grp || k || u64 pos
 *   plain = u32 |id| || id || body
 * so a row that is moved to another key, kind, group or position, or comes
 * from another vault, does not open. The fresh 128-bit r per write makes
 * the random 96-bit nonces safe for any number of writes (each subkey
 * seals once).
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "store/vault_internal.h"

static const char label_row[] = "enkrypt-vault-row";

int vault_dup(const ek_vault *v, uint8_t **out, const uint8_t *p, size_t n)
{
    uint8_t *b = ek_alloc(v->alloc, n + 1);
    if (b == NULL)
        return EK_ERR_NOMEM;
    if (n > 0)
        memcpy(b, p, n);
    b[n] = 0;
    *out = b;
    return EK_OK;
}

int vault_id_len(const char *id, size_t *len)
{
    size_t n;
    if (id == NULL)
        return EK_ERR_INVALID_ARG;
    n = strnlen(id, EK_VAULT_ID_MAX + 1);
    if (n == 0 || n > EK_VAULT_ID_MAX)
        return EK_ERR_INVALID_ARG;
    *len = n;
    return EK_OK;
}

static void put_u32(uint8_t b[4], uint32_t x)
{
    b[0] = (uint8_t)(x >> 24);
    b[1] = (uint8_t)(x >> 16);
    b[2] = (uint8_t)(x >> 8);
    b[3] = (uint8_t)x;
}

void vault_addr_make(const ek_vault *v, vault_addr *a, uint8_t kind, const uint8_t *group,
                     size_t group_len, const uint8_t *id, size_t id_len)
{
    ek_hmac_sha256_ctx c;
    uint8_t n[4];

    a->kind = kind;
    a->grp_len = 0;
    if (group_len > 0) {
        ek_hmac_sha256_init(&c, v->keys->index, VAULT_KEY_LEN);
        ek_hmac_sha256_update(&c, "G", 1);
        ek_hmac_sha256_update(&c, &kind, 1);
        put_u32(n, (uint32_t)group_len);
        ek_hmac_sha256_update(&c, n, 4);
        ek_hmac_sha256_update(&c, group, group_len);
        ek_hmac_sha256_final(&c, a->grp);
        a->grp_len = VAULT_HASH_LEN;
    }
    ek_hmac_sha256_init(&c, v->keys->index, VAULT_KEY_LEN);
    ek_hmac_sha256_update(&c, "K", 1);
    ek_hmac_sha256_update(&c, &kind, 1);
    put_u32(n, (uint32_t)group_len);
    ek_hmac_sha256_update(&c, n, 4);
    if (group_len > 0)
        ek_hmac_sha256_update(&c, group, group_len);
    put_u32(n, (uint32_t)id_len);
    ek_hmac_sha256_update(&c, n, 4);
    ek_hmac_sha256_update(&c, id, id_len);
    ek_hmac_sha256_final(&c, a->key);
}

static size_t row_aad(uint8_t *aad, size_t cap, const ek_vault *v, const vault_addr *a,
                      uint64_t pos)
{
    ek_writer w;
    ek_writer_init_fixed(&w, aad, cap);
    (void)ek_write_bytes(&w, label_row, sizeof label_row - 1);
    (void)ek_write_u32(&w, EK_VAULT_FORMAT_VERSION);
    (void)ek_write_bytes(&w, v->hdr.vault_id, VAULT_ID_LEN);
    (void)ek_write_u8(&w, a->kind);
    (void)ek_write_u8(&w, (uint8_t)a->grp_len);
    (void)ek_write_bytes(&w, a->grp, a->grp_len);
    (void)ek_write_bytes(&w, a->key, VAULT_HASH_LEN);
    (void)ek_write_u64(&w, pos);
    return w.err == EK_OK ? w.len : 0;
}

#define ROW_AAD_MAX 160

static int seal_row(ek_vault *v, uint8_t **out, size_t *out_len, const vault_addr *a, uint64_t pos,
                    const uint8_t *plain, size_t plain_len)
{
    uint8_t aad[ROW_AAD_MAX], subkey[VAULT_KEY_LEN];
    size_t aad_len = row_aad(aad, sizeof aad, v, a, pos);
    size_t n = VAULT_SEAL_OVERHEAD + plain_len;
    uint8_t *b = ek_alloc(v->alloc, n);
    int rc;
    if (b == NULL)
        return EK_ERR_NOMEM;
    b[0] = VAULT_SEAL_VERSION;
    rc = ek_random(v->rng, b + 1, VAULT_SEAL_R_LEN + EK_AEAD_NONCE_LEN);
    if (rc == EK_OK) {
        ek_hmac_sha256(subkey, v->keys->seal, VAULT_KEY_LEN, b + 1, VAULT_SEAL_R_LEN);
        rc = ek_aead_seal(b + 1 + VAULT_SEAL_R_LEN + EK_AEAD_NONCE_LEN, EK_AEAD_AES256GCM, subkey,
                          VAULT_KEY_LEN, b + 1 + VAULT_SEAL_R_LEN, EK_AEAD_NONCE_LEN, aad, aad_len,
                          plain, plain_len);
    }
    ek_wipe(subkey, sizeof subkey);
    if (rc != EK_OK) {
        ek_wipe(b, n);
        ek_free(v->alloc, b, n);
        return rc;
    }
    *out = b;
    *out_len = n;
    return EK_OK;
}

/* Open a sealed row: *plain (plain_len + 1 bytes, NUL after) or
 * EK_ERR_VAULT_CORRUPT. */
static int open_row(ek_vault *v, uint8_t **plain, size_t *plain_len, const vault_addr *a,
                    uint64_t pos, const uint8_t *sealed, size_t sealed_len)
{
    uint8_t aad[ROW_AAD_MAX], subkey[VAULT_KEY_LEN];
    size_t aad_len, n;
    uint8_t *b;
    int rc;
    if (sealed == NULL || sealed_len < VAULT_SEAL_OVERHEAD || sealed[0] != VAULT_SEAL_VERSION)
        return EK_ERR_VAULT_CORRUPT;
    n = sealed_len - VAULT_SEAL_OVERHEAD;
    b = ek_alloc(v->alloc, n + 1);
    if (b == NULL)
        return EK_ERR_NOMEM;
    aad_len = row_aad(aad, sizeof aad, v, a, pos);
    ek_hmac_sha256(subkey, v->keys->seal, VAULT_KEY_LEN, sealed + 1, VAULT_SEAL_R_LEN);
    rc = ek_aead_open(b, EK_AEAD_AES256GCM, subkey, VAULT_KEY_LEN, sealed + 1 + VAULT_SEAL_R_LEN,
                      EK_AEAD_NONCE_LEN, aad, aad_len,
                      sealed + 1 + VAULT_SEAL_R_LEN + EK_AEAD_NONCE_LEN,
                      sealed_len - 1 - VAULT_SEAL_R_LEN - EK_AEAD_NONCE_LEN);
    ek_wipe(subkey, sizeof subkey);
    if (rc != EK_OK) {
        ek_wipe(b, n + 1);
        ek_free(v->alloc, b, n + 1);
        return rc == EK_ERR_AUTH ? EK_ERR_VAULT_CORRUPT : rc;
    }
    b[n] = 0;
    *plain = b;
    *plain_len = n;
    return EK_OK;
}

/* Split an opened payload into id and body. */
static int parse_plain(vault_rec *r)
{
    ek_reader rd;
    uint32_t id_len = 0;
    ek_reader_init(&rd, r->plain, r->plain_len);
    (void)ek_read_u32(&rd, &id_len);
    (void)ek_read_view(&rd, &r->id, id_len);
    if (rd.err != EK_OK || id_len == 0)
        return EK_ERR_VAULT_CORRUPT;
    r->id_len = id_len;
    r->body = r->plain + rd.pos;
    r->body_len = r->plain_len - rd.pos;
    return EK_OK;
}

void vault_rec_release(const ek_vault *v, vault_rec *r)
{
    if (r->plain != NULL)
        ek_vault_free(v->alloc, r->plain, r->plain_len);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------------------
 * SQL.
 */
static int bind_addr(sqlite3_stmt *st, const vault_addr *a, int with_key)
{
    int rc = sqlite3_bind_int(st, 1, a->kind);
    if (rc == SQLITE_OK)
        rc = a->grp_len > 0 ? sqlite3_bind_blob(st, 2, a->grp, (int)a->grp_len, SQLITE_STATIC)
                            : sqlite3_bind_zeroblob(st, 2, 0);
    if (rc == SQLITE_OK && with_key)
        rc = sqlite3_bind_blob(st, 3, a->key, VAULT_HASH_LEN, SQLITE_STATIC);
    return rc;
}

int vault_rec_put(ek_vault *v, int mode, uint8_t kind, const uint8_t *group, size_t group_len,
                  const uint8_t *id, size_t id_len, uint64_t pos, const uint8_t *body,
                  size_t body_len)
{
    static const char *const sql[2] = {
        "INSERT INTO ek_rows(kind, grp, k, pos, v) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (kind, grp, k) DO UPDATE SET pos = excluded.pos, v = excluded.v",
        "INSERT INTO ek_rows(kind, grp, k, pos, v) VALUES (?1, ?2, ?3, ?4, ?5)",
    };
    vault_addr a;
    uint8_t *plain = NULL, *sealed = NULL;
    size_t plain_len, sealed_len = 0;
    sqlite3_stmt *st = NULL;
    int rc;

    if (body_len > EK_VAULT_BLOB_MAX || id_len > EK_VAULT_ID_MAX || pos > (uint64_t)INT64_MAX)
        return EK_ERR_TOO_LARGE;
    vault_addr_make(v, &a, kind, group, group_len, id, id_len);
    plain_len = 4 + id_len + body_len;
    plain = ek_alloc(v->alloc, plain_len);
    if (plain == NULL)
        return EK_ERR_NOMEM;
    put_u32(plain, (uint32_t)id_len);
    memcpy(plain + 4, id, id_len);
    if (body_len > 0)
        memcpy(plain + 4 + id_len, body, body_len);
    rc = seal_row(v, &sealed, &sealed_len, &a, pos, plain, plain_len);
    ek_wipe(plain, plain_len);
    ek_free(v->alloc, plain, plain_len);
    if (rc != EK_OK)
        return rc;

    rc = sqlite3_prepare_v2(v->db, sql[mode == VAULT_INSERT], -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_addr(st, &a, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, (int64_t)pos);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob64(st, 5, sealed, sealed_len, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    ek_free(v->alloc, sealed, sealed_len); /* ciphertext only */
    return vault_sqlite_err(rc);
}

int vault_rec_get(ek_vault *v, vault_rec *r, uint8_t kind, const uint8_t *group, size_t group_len,
                  const uint8_t *id, size_t id_len)
{
    vault_addr a;
    sqlite3_stmt *st = NULL;
    int rc, err;

    memset(r, 0, sizeof *r);
    vault_addr_make(v, &a, kind, group, group_len, id, id_len);
    rc = sqlite3_prepare_v2(
        v->db, "SELECT pos, v FROM ek_rows WHERE kind = ?1 AND grp = ?2 AND k = ?3", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_addr(st, &a, 1);
    if (rc != SQLITE_OK) {
        err = vault_sqlite_err(rc);
        goto done;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        err = EK_ERR_VAULT_NOT_FOUND;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        err = vault_sqlite_err(rc);
        goto done;
    }
    {
        int64_t pos = sqlite3_column_int64(st, 0);
        const uint8_t *sealed = sqlite3_column_blob(st, 1);
        size_t sealed_len = (size_t)sqlite3_column_bytes(st, 1);
        if (pos < 0) {
            err = EK_ERR_VAULT_CORRUPT;
            goto done;
        }
        r->pos = (uint64_t)pos;
        err = open_row(v, &r->plain, &r->plain_len, &a, r->pos, sealed, sealed_len);
    }
    if (err == EK_OK)
        err = parse_plain(r);
    if (err == EK_OK && (r->id_len != id_len || !ek_ct_equal(r->id, id, id_len)))
        err = EK_ERR_VAULT_CORRUPT;
done:
    sqlite3_finalize(st);
    if (err != EK_OK)
        vault_rec_release(v, r);
    return err;
}

int vault_rec_exists(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len,
                     const uint8_t *id, size_t id_len)
{
    vault_addr a;
    sqlite3_stmt *st = NULL;
    int rc;
    vault_addr_make(v, &a, kind, group, group_len, id, id_len);
    rc = sqlite3_prepare_v2(v->db, "SELECT 1 FROM ek_rows WHERE kind = ?1 AND grp = ?2 AND k = ?3",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_addr(st, &a, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return vault_sqlite_err(rc);
}

int vault_rec_delete(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len,
                     const uint8_t *id, size_t id_len)
{
    vault_addr a;
    sqlite3_stmt *st = NULL;
    int rc;
    vault_addr_make(v, &a, kind, group, group_len, id, id_len);
    rc = sqlite3_prepare_v2(v->db, "DELETE FROM ek_rows WHERE kind = ?1 AND grp = ?2 AND k = ?3",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_addr(st, &a, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return sqlite3_changes(v->db) > 0 ? EK_OK : EK_ERR_VAULT_NOT_FOUND;
    return vault_sqlite_err(rc);
}

int vault_rec_delete_group(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len)
{
    vault_addr a;
    sqlite3_stmt *st = NULL;
    int rc;
    vault_addr_make(v, &a, kind, group, group_len, (const uint8_t *)"", 0);
    rc = sqlite3_prepare_v2(v->db, "DELETE FROM ek_rows WHERE kind = ?1 AND grp = ?2", -1, &st,
                            NULL);
    if (rc == SQLITE_OK)
        rc = bind_addr(st, &a, 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? EK_OK : vault_sqlite_err(rc);
}

int vault_rec_count(ek_vault *v, uint64_t *count, uint8_t kind, const uint8_t *group,
                    size_t group_len)
{
    vault_addr a;
    sqlite3_stmt *st = NULL;
    int rc;
    *count = 0;
    vault_addr_make(v, &a, kind, group, group_len, (const uint8_t *)"", 0);
    rc = sqlite3_prepare_v2(v->db, "SELECT count(*) FROM ek_rows WHERE kind = ?1 AND grp = ?2", -1,
                            &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_addr(st, &a, 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = (uint64_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return vault_sqlite_err(rc);
}

/* The rows are read first (their sealed bytes copied), the statement
 * finished, and only then opened and handed to fn: fn may use the vault,
 * even write to it. */
int vault_rec_list(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len,
                   uint64_t first, uint64_t max, vault_rec_fn fn, void *ctx)
{
    vault_addr a;
    sqlite3_stmt *st = NULL;
    ek_writer w;
    ek_reader rd;
    int rc, err = EK_OK;

    if (first > (uint64_t)INT64_MAX)
        return EK_OK; /* nothing can be there */
    vault_addr_make(v, &a, kind, group, group_len, (const uint8_t *)"", 0);
    ek_writer_init_growable(&w, v->alloc);
    rc = sqlite3_prepare_v2(v->db,
                            "SELECT k, pos, v FROM ek_rows WHERE kind = ?1 AND grp = ?2 AND "
                            "pos >= ?3 ORDER BY pos, k LIMIT ?4",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_addr(st, &a, 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, (int64_t)first);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, max == 0 || max > (uint64_t)INT64_MAX ? -1 : (int64_t)max);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *k = sqlite3_column_blob(st, 0);
        size_t k_len = (size_t)sqlite3_column_bytes(st, 0);
        int64_t pos = sqlite3_column_int64(st, 1);
        const uint8_t *sealed = sqlite3_column_blob(st, 2);
        size_t sealed_len = (size_t)sqlite3_column_bytes(st, 2);
        if (k == NULL || k_len != VAULT_HASH_LEN || pos < 0 || sealed == NULL ||
            sealed_len > UINT32_MAX) {
            err = EK_ERR_VAULT_CORRUPT;
            break;
        }
        (void)ek_write_bytes(&w, k, VAULT_HASH_LEN);
        (void)ek_write_u64(&w, (uint64_t)pos);
        (void)ek_write_u32(&w, (uint32_t)sealed_len);
        (void)ek_write_bytes(&w, sealed, sealed_len);
        rc = SQLITE_OK;
    }
    if (err == EK_OK && rc != SQLITE_DONE)
        err = vault_sqlite_err(rc);
    sqlite3_finalize(st);
    if (err == EK_OK && w.err != EK_OK)
        err = w.err;

    ek_reader_init(&rd, w.buf, w.len);
    while (err == EK_OK && ek_reader_remaining(&rd) > 0) {
        vault_addr ra = a;
        vault_addr check;
        uint64_t pos = 0;
        uint32_t sealed_len = 0;
        const uint8_t *sealed = NULL;
        vault_rec r;
        memset(&r, 0, sizeof r);
        (void)ek_read_bytes(&rd, ra.key, VAULT_HASH_LEN);
        (void)ek_read_u64(&rd, &pos);
        (void)ek_read_u32(&rd, &sealed_len);
        (void)ek_read_view(&rd, &sealed, sealed_len);
        if (rd.err != EK_OK) {
            err = EK_ERR_VAULT_CORRUPT;
            break;
        }
        r.pos = pos;
        err = open_row(v, &r.plain, &r.plain_len, &ra, pos, sealed, sealed_len);
        if (err == EK_OK)
            err = parse_plain(&r);
        if (err == EK_OK) {
            /* The id inside must hash to the row's key. */
            vault_addr_make(v, &check, kind, group, group_len, r.id, r.id_len);
            if (!ek_ct_equal(check.key, ra.key, VAULT_HASH_LEN))
                err = EK_ERR_VAULT_CORRUPT;
        }
        if (err == EK_OK)
            err = fn(ctx, &r);
        vault_rec_release(v, &r);
    }
    ek_writer_dispose(&w); /* ciphertext only, but wiped anyway */
    return err;
}
