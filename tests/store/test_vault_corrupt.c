/*
 * test_vault_corrupt.c: damaged and hostile files. Files that are not
 * vaults, vaults of a newer format, truncated files, a byte flipped
 * anywhere in the file, rows swapped or moved between keys, kinds,
 * conversations and positions, rows copied from another vault, a header
 * or schema edited by someone without the keys. Each gives a clear error,
 * never a crash and never plaintext that did not verify.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <enkrypt/ek_vault.h>

#include "ek_test.h"
#include "store/vault_internal.h"
#include "vault_util.h"

static const char pass[] = "a passphrase";
static char *dir, *master, *work, *other_master;

static void reset_work(void)
{
    char *wal = vt_join(dir, "work.db-wal");
    (void)unlink(wal);
    free(wal);
    if (vt_copy(master, work) != 0)
        abort();
}

/* Run SQL on the work file directly, as someone without the keys could. */
static void tamper(const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    int rc = sqlite3_open(work, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        printf("tamper: %s: %s\n", sql, err ? err : sqlite3_errmsg(db));
    EK_CHECK(rc == SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(db);
}

/* Open work and check everything back; returns the open's code. */
static int open_verify(vt_result *res)
{
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    int rc = ek_vault_open(&v, work, pass, strlen(pass), &o);
    memset(res, 0, sizeof *res);
    if (rc != EK_OK)
        return rc;
    vt_verify(v, 5, res);
    ek_vault_close(v);
    return EK_OK;
}

static void expect_open_error(const char *what, int want)
{
    vt_result res;
    int rc = open_verify(&res);
    if (rc != want)
        printf("%s: open gave %d (%s), wanted %d\n", what, rc, ek_vault_strerror(rc), want);
    EK_CHECK_RC(rc, want);
}

/* The vault opens, at least one check fails cleanly with CORRUPT and
 * nothing wrong is ever returned. */
static void expect_row_corrupt(const char *what)
{
    vt_result res;
    int rc = open_verify(&res);
    EK_CHECK_OK(rc);
    if (res.wrong != 0 || res.errors == 0 || res.bad_errors != 0)
        printf("%s: same %u errors %u wrong %u bad %u last %d\n", what, res.same, res.errors,
               res.wrong, res.bad_errors, res.last_error);
    EK_CHECK(res.wrong == 0);
    EK_CHECK(res.errors > 0 && res.bad_errors == 0);
    EK_CHECK(res.last_error == EK_ERR_VAULT_CORRUPT || res.last_error == EK_ERR_VAULT_NOT_FOUND);
}

static void setup(void)
{
    char code[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    ek_vault_message m;

    dir = vt_tempdir();
    master = vt_join(dir, "master.db");
    work = vt_join(dir, "work.db");
    other_master = vt_join(dir, "other.db");
    EK_CHECK_OK(ek_vault_create(&v, code, master, pass, strlen(pass), &o));
    vt_fill(v, 5);
    memset(&m, 0, sizeof m);
    m.conversation = "other-conversation";
    m.id = "other-0";
    m.direction = EK_VAULT_INCOMING;
    m.status = EK_VAULT_MSG_READ;
    EK_CHECK_OK(ek_vault_msg_append(v, NULL, &m));
    ek_vault_close(v);
    /* Another vault, same passphrase, same data. */
    EK_CHECK_OK(ek_vault_create(&v, code, other_master, pass, strlen(pass), &o));
    vt_fill(v, 5);
    ek_vault_close(v);
}

static void test_not_a_vault(void)
{
    uint8_t junk[65536];
    char *sub = vt_join(dir, "subdir");
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;

    EK_CHECK_RC(ek_vault_open(&v, "/nonexistent/dir/vault.db", pass, strlen(pass), &o),
                EK_ERR_VAULT_NO_FILE);
    (void)unlink(work);
    expect_open_error("missing", EK_ERR_VAULT_NO_FILE);
    EK_CHECK(vt_write(work, "", 0) == 0);
    expect_open_error("empty", EK_ERR_VAULT_NOT_VAULT);
    vt_blob(junk, sizeof junk, 9, 9);
    EK_CHECK(vt_write(work, junk, 100) == 0);
    expect_open_error("100 random bytes", EK_ERR_VAULT_NOT_VAULT);
    EK_CHECK(vt_write(work, junk, sizeof junk) == 0);
    expect_open_error("64 KiB random bytes", EK_ERR_VAULT_NOT_VAULT);
    EK_CHECK(vt_write(work, "hello, I am a text file\n", 24) == 0);
    expect_open_error("text", EK_ERR_VAULT_NOT_VAULT);
    (void)unlink(work);
    tamper("CREATE TABLE notes(t TEXT); INSERT INTO notes VALUES ('an ordinary database')");
    expect_open_error("other sqlite db", EK_ERR_VAULT_NOT_VAULT);
    {
        /* And that database is left alone (still not in WAL mode). */
        uint8_t *b;
        size_t n = 0;
        b = vt_read(work, &n);
        EK_CHECK(b != NULL && n > 20 && b[18] == 1 && b[19] == 1);
        free(b);
    }
    EK_CHECK(mkdir(sub, 0700) == 0);
    EK_CHECK_RC(ek_vault_open(&v, sub, pass, strlen(pass), &o), EK_ERR_VAULT_NOT_VAULT);
    (void)rmdir(sub);
    free(sub);

    reset_work();
    tamper("PRAGMA application_id = 1234");
    expect_open_error("application_id", EK_ERR_VAULT_NOT_VAULT);
}

static void test_versions_and_schema(void)
{
    reset_work();
    tamper("PRAGMA user_version = 2");
    expect_open_error("user_version 2", EK_ERR_VAULT_VERSION);
    reset_work();
    tamper("UPDATE ek_header SET version = 2");
    expect_open_error("header version 2", EK_ERR_VAULT_VERSION);
    reset_work();
    tamper("PRAGMA user_version = 0");
    expect_open_error("user_version 0", EK_ERR_VAULT_CORRUPT);
    reset_work();
    tamper("CREATE TRIGGER t AFTER INSERT ON ek_rows BEGIN DELETE FROM ek_rows; END");
    expect_open_error("trigger", EK_ERR_VAULT_CORRUPT);
    reset_work();
    tamper("CREATE TABLE extra(x)");
    expect_open_error("extra table", EK_ERR_VAULT_CORRUPT);
    reset_work();
    tamper("DROP TABLE ek_rows");
    expect_open_error("no rows table", EK_ERR_VAULT_CORRUPT);
    reset_work();
    tamper("DELETE FROM ek_header");
    expect_open_error("no header", EK_ERR_VAULT_CORRUPT);
    reset_work();
    tamper("PRAGMA journal_mode = DELETE");
    expect_open_error("not WAL", EK_ERR_VAULT_CORRUPT);
}

/* SQL that writes body into the header, with the checksum recomputed
 * (label || magic || u32 version || body, as vault.c does) when fix. */
static void fix_checksum_sql(char *sql, size_t cap, const uint8_t *body, size_t len, int fix)
{
    static const char label[] = "enkrypt-vault-header";
    uint8_t ver[4] = {0, 0, 0, 1}, sum[32];
    ek_iovec parts[4] = {{label, sizeof label - 1}, {"enkrypt-vault", 13}, {ver, 4}, {body, len}};
    size_t i, k;
    ek_sha256_v(sum, parts, 4);
    k = (size_t)snprintf(sql, cap, "UPDATE ek_header SET body = x'");
    if (!fix) {
        for (i = 0; i < len; i++)
            k += (size_t)snprintf(sql + k, cap - k, "%02x", body[i]);
        (void)snprintf(sql + k, cap - k, "'");
        return;
    }
    for (i = 0; i < len; i++)
        k += (size_t)snprintf(sql + k, cap - k, "%02x", body[i]);
    k += (size_t)snprintf(sql + k, cap - k, "', checksum = x'");
    for (i = 0; i < 32; i++)
        k += (size_t)snprintf(sql + k, cap - k, "%02x", sum[i]);
    (void)snprintf(sql + k, cap - k, "'");
}

static void read_header_body(uint8_t *body, size_t *len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    *len = 0;
    if (sqlite3_open(work, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT body FROM ek_header", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        if (*len <= 512)
            memcpy(body, sqlite3_column_blob(st, 0), *len);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_header(void)
{
    uint8_t body[512];
    char sql[2048];
    size_t len = 0;

    /* Damage: the checksum catches it, so it is not "wrong passphrase". */
    reset_work();
    read_header_body(body, &len);
    EK_CHECK(len == 177);
    if (len != 177)
        return;
    body[40] ^= 0x10; /* inside the passphrase salt */
    fix_checksum_sql(sql, sizeof sql, body, len, 0);
    tamper(sql);
    expect_open_error("header byte", EK_ERR_VAULT_CORRUPT);
    reset_work();
    tamper("UPDATE ek_header SET checksum = zeroblob(32)");
    expect_open_error("header checksum", EK_ERR_VAULT_CORRUPT);
    reset_work();
    tamper("UPDATE ek_header SET body = substr(body, 1, 100)");
    expect_open_error("header short", EK_ERR_VAULT_CORRUPT);

    /* Someone who recomputes the checksum: lower Argon2 cost. The wrap's
     * associated data binds the parameters: it does not open. */
    reset_work();
    read_header_body(body, &len);
    EK_CHECK(len == 177);
    if (len != 177)
        return;
    body[17] = 0;
    body[18] = 0;
    body[19] = 0;
    body[20] = 2; /* t_cost, big-endian after the id and the algorithm */
    fix_checksum_sql(sql, sizeof sql, body, len, 1);
    tamper(sql);
    expect_open_error("header cost changed", EK_ERR_VAULT_BAD_PASSPHRASE);
    /* Absurd parameters are refused before running Argon2id. */
    reset_work();
    read_header_body(body, &len);
    if (len != 177)
        return;
    body[21] = 0xff; /* m_kib = 0xff...: far beyond the maximum */
    fix_checksum_sql(sql, sizeof sql, body, len, 1);
    tamper(sql);
    expect_open_error("header cost absurd", EK_ERR_VAULT_CORRUPT);
}

static int count_msg(void *ctx, const ek_vault_message *m)
{
    (void)m;
    (*(unsigned *)ctx)++;
    return EK_OK;
}

static void test_moved_rows(void)
{
    char sql[512];

    /* Two contacts' payloads swapped. */
    reset_work();
    (void)snprintf(sql, sizeof sql,
                   "UPDATE ek_rows SET v = CASE WHEN rowid = (SELECT min(rowid) FROM ek_rows "
                   "WHERE kind = %d) THEN (SELECT v FROM ek_rows WHERE kind = %d ORDER BY rowid "
                   "DESC LIMIT 1) ELSE (SELECT v FROM ek_rows WHERE kind = %d ORDER BY rowid "
                   "LIMIT 1) END WHERE kind = %d",
                   VK_CONTACT, VK_CONTACT, VK_CONTACT, VK_CONTACT);
    tamper(sql);
    expect_row_corrupt("contacts swapped");

    /* One session's state copied over another's. */
    reset_work();
    (void)snprintf(sql, sizeof sql,
                   "UPDATE ek_rows SET v = (SELECT v FROM ek_rows WHERE kind = %d ORDER BY rowid "
                   "LIMIT 1) WHERE rowid = (SELECT max(rowid) FROM ek_rows WHERE kind = %d)",
                   VK_SESSION, VK_SESSION);
    tamper(sql);
    expect_row_corrupt("session copied");

    /* Two messages' positions swapped (reordering the history). */
    reset_work();
    (void)snprintf(sql, sizeof sql,
                   "UPDATE ek_rows SET pos = CASE pos WHEN 3 THEN 4 ELSE 3 END "
                   "WHERE kind = %d AND pos IN (3, 4)",
                   VK_MESSAGE);
    tamper(sql);
    expect_row_corrupt("messages reordered");

    /* A message moved into another conversation. */
    reset_work();
    (void)snprintf(sql, sizeof sql,
                   "UPDATE ek_rows SET grp = (SELECT grp FROM ek_rows WHERE kind = %d AND pos = 0 "
                   "ORDER BY rowid DESC LIMIT 1), pos = 1 WHERE kind = %d AND pos = 5 AND grp = "
                   "(SELECT grp FROM ek_rows WHERE kind = %d ORDER BY rowid LIMIT 1)",
                   VK_MESSAGE, VK_MESSAGE, VK_MESSAGE);
    tamper(sql);
    expect_row_corrupt("message moved");
    {
        /* The other conversation's listing fails rather than show it. */
        ek_vault_options o = vt_opts();
        ek_vault *v = NULL;
        uint64_t n = 0;
        EK_CHECK_OK(ek_vault_open(&v, work, pass, strlen(pass), &o));
        EK_CHECK_OK(ek_vault_msg_count(v, &n, "other-conversation"));
        EK_CHECK(n == 2);
        unsigned seen = 0;
        EK_CHECK_RC(ek_vault_msg_list(v, "other-conversation", 0, 10, count_msg, &seen),
                    EK_ERR_VAULT_CORRUPT);
        EK_CHECK(seen == 1); /* its own message, then the stranger fails */
        ek_vault_close(v);
    }

    /* A setting turned into a contact. */
    reset_work();
    (void)snprintf(sql, sizeof sql,
                   "UPDATE ek_rows SET kind = %d WHERE rowid = (SELECT min(rowid) FROM ek_rows "
                   "WHERE kind = %d)",
                   VK_CONTACT, VK_SETTING);
    tamper(sql);
    expect_row_corrupt("kind changed");

    /* The identity row of another vault (same passphrase, same data). */
    reset_work();
    (void)snprintf(sql, sizeof sql,
                   "ATTACH '%s' AS o; UPDATE ek_rows SET v = (SELECT v FROM o.ek_rows WHERE "
                   "kind = %d) WHERE kind = %d",
                   other_master, VK_IDENTITY, VK_IDENTITY);
    tamper(sql);
    expect_row_corrupt("row from another vault");

    /* Row keys and groups are hashes: no id appears in them. */
    reset_work();
    (void)snprintf(sql, sizeof sql, "UPDATE ek_rows SET k = zeroblob(32) WHERE kind = %d",
                   VK_IDENTITY);
    tamper(sql);
    expect_row_corrupt("row key changed");
}

static void test_truncated(void)
{
    size_t len = 0, cuts[12], i;
    uint8_t *b = vt_read(master, &len);
    EK_CHECK(b != NULL && len > 8192);
    if (b == NULL)
        return;
    cuts[0] = 0;
    cuts[1] = 16;
    cuts[2] = 99;
    cuts[3] = 100;
    cuts[4] = 1024;
    cuts[5] = 4096;
    cuts[6] = 4097;
    cuts[7] = 8192;
    cuts[8] = len / 2;
    cuts[9] = len - 4096;
    cuts[10] = len - 100;
    cuts[11] = len - 1;
    for (i = 0; i < 12; i++) {
        vt_result res;
        int rc;
        reset_work();
        EK_CHECK(vt_write(work, b, cuts[i]) == 0);
        rc = open_verify(&res);
        EK_CHECK(rc == EK_OK || rc == EK_ERR_VAULT_NOT_VAULT || rc == EK_ERR_VAULT_CORRUPT);
        EK_CHECK(res.wrong == 0 && res.bad_errors == 0);
        if (rc == EK_OK)
            EK_CHECK(res.errors > 0); /* something is missing */
        printf("truncated to %zu: open %d, same %u, errors %u\n", cuts[i], rc, res.same,
               res.errors);
    }
    free(b);
}

/* Flip one byte at many positions (all of the first page, then a stride
 * through the rest): every read either returns the original data or a
 * clean error. */
static void test_flipped_bytes(void)
{
    size_t len = 0, pos, tried = 0, opened = 0, intact = 0;
    uint8_t *b = vt_read(master, &len);
    unsigned results[8] = {0};
    EK_CHECK(b != NULL);
    if (b == NULL)
        return;
    for (pos = 0; pos < len; pos += pos < 4096 ? 7 : 37) {
        vt_result res;
        int rc;
        b[pos] ^= (uint8_t)(1u << (pos % 8));
        EK_CHECK(vt_write(work, b, len) == 0);
        b[pos] ^= (uint8_t)(1u << (pos % 8));
        rc = open_verify(&res);
        tried++;
        if (rc == EK_OK) {
            opened++;
            if (res.errors == 0)
                intact++;
            results[0]++;
        } else if (rc == EK_ERR_VAULT_CORRUPT) {
            results[1]++;
        } else if (rc == EK_ERR_VAULT_NOT_VAULT) {
            results[2]++;
        } else if (rc == EK_ERR_VAULT_VERSION) {
            results[3]++;
        } else {
            results[4]++;
            printf("flip at %zu: unexpected open error %d (%s)\n", pos, rc, ek_vault_strerror(rc));
        }
        if (res.wrong != 0 || res.bad_errors != 0)
            printf("flip at %zu: wrong %u, bad errors %u (last %d)\n", pos, res.wrong,
                   res.bad_errors, res.last_error);
        EK_CHECK(res.wrong == 0 && res.bad_errors == 0);
    }
    printf("flipped bytes: %zu positions of %zu; opened %zu (all intact %zu), corrupt %u, "
           "not a vault %u, version %u, other %u\n",
           tried, len, opened, intact, results[1], results[2], results[3], results[4]);
    EK_CHECK(results[4] == 0);
    EK_CHECK(opened > intact); /* some flips hit rows and were caught */
    free(b);
}

int main(void)
{
    setup();
    test_not_a_vault();
    test_versions_and_schema();
    test_header();
    test_moved_rows();
    test_truncated();
    test_flipped_bytes();
    vt_rmtree(dir);
    free(dir);
    free(master);
    free(work);
    free(other_master);
    return ek_test_finish("store.corrupt");
}
