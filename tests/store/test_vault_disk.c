/*
 * test_vault_disk.c: a full disk and a read-only folder.
 *
 * Part 1 (always): the database is limited to a few more pages (SQLite's
 * max_page_count, which fails writes with SQLITE_FULL as a full disk
 * does): writes fail with EK_ERR_VAULT_FULL, a transaction is rolled back
 * whole, every committed row survives close and reopen.
 *
 * Part 2 (needs CAP_SYS_ADMIN for a private mount namespace; skipped with
 * the reason printed otherwise): a real 2 MiB tmpfs filled up, freed,
 * and remounted read-only.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <enkrypt/ek_vault.h>

#include "ek_test.h"
#include "store/vault_internal.h"
#include "vault_util.h"

static const char pass[] = "disk test passphrase";

static int append_big(ek_vault *v, uint64_t i)
{
    static char body[4000];
    char id[32];
    ek_vault_message m;
    memset(body, 'a' + (int)(i % 26), sizeof body - 1);
    (void)snprintf(id, sizeof id, "big-%llu", (unsigned long long)i);
    memset(&m, 0, sizeof m);
    m.conversation = "big";
    m.id = id;
    m.direction = EK_VAULT_OUTGOING;
    m.status = EK_VAULT_MSG_QUEUED;
    m.timestamp_ms = i;
    m.body = (const uint8_t *)body;
    m.body_len = sizeof body - 1;
    return ek_vault_msg_append(v, NULL, &m);
}

struct big_ctx {
    uint64_t next;
    unsigned bad;
};

static int check_big(void *ctx, const ek_vault_message *m)
{
    struct big_ctx *c = ctx;
    size_t k;
    if (m->index != c->next || m->body_len != 3999 || m->timestamp_ms != c->next)
        c->bad++;
    for (k = 0; k < m->body_len && k < 3999; k++)
        if (m->body[k] != 'a' + (int)(c->next % 26)) {
            c->bad++;
            break;
        }
    c->next++;
    return EK_OK;
}

static int kv_set(ek_vault *v, const char *key, const char *val)
{
    return ek_vault_kv_put(v, "app.test", (const uint8_t *)key, strlen(key), (const uint8_t *)val,
                           strlen(val));
}

/* 1 if key holds val (val NULL: if key is absent). */
static int kv_is(ek_vault *v, const char *key, const char *val)
{
    uint8_t *got = NULL;
    size_t len = 0;
    int rc = ek_vault_kv_get(v, &got, &len, "app.test", (const uint8_t *)key, strlen(key));
    int ok = val == NULL ? rc == EK_ERR_VAULT_NOT_FOUND
                         : rc == EK_OK && len == strlen(val) && memcmp(got, val, len) == 0;
    ek_vault_free(NULL, got, len);
    return ok;
}

/* Open and check: the data set, and exactly n big messages. */
static void reopen_check(const char *path, uint64_t n)
{
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    struct big_ctx bc = {0, 0};
    uint64_t count = 0;
    vt_result res;
    EK_CHECK_OK(ek_vault_open(&v, path, pass, strlen(pass), &o));
    if (v == NULL)
        return;
    vt_verify(v, 4, &res);
    EK_CHECK(res.same == VT_TOTAL && res.errors == 0 && res.wrong == 0);
    EK_CHECK_OK(ek_vault_msg_count(v, &count, "big"));
    EK_CHECK(count == n);
    EK_CHECK_OK(ek_vault_msg_list(v, "big", 0, 100000, check_big, &bc));
    EK_CHECK(bc.next == n && bc.bad == 0);
    ek_vault_close(v);
}

/* Append until the disk is full; returns how many were committed. */
static uint64_t fill_until_full(ek_vault *v, uint64_t start)
{
    uint64_t i;
    int rc = EK_OK;
    for (i = start; i < start + 100000; i++) {
        rc = append_big(v, i);
        if (rc != EK_OK)
            break;
    }
    EK_CHECK_RC(rc, EK_ERR_VAULT_FULL);
    return i;
}

static void part_page_limit(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    sqlite3_stmt *st = NULL;
    int64_t pages = 0;
    uint64_t n, count = 0;

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    vt_fill(v, 4);
    EK_CHECK(sqlite3_prepare_v2(v->db, "PRAGMA page_count", -1, &st, NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW);
    pages = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    EK_CHECK_OK(vault_test_set_max_pages(v, (uint32_t)pages + 6));

    n = fill_until_full(v, 0);
    printf("page limit: %llu messages committed before the disk was full\n", (unsigned long long)n);
    EK_CHECK(n > 0);
    /* Still full; reads work; a transaction is undone whole. */
    EK_CHECK_RC(append_big(v, n), EK_ERR_VAULT_FULL);
    EK_CHECK_OK(kv_set(v, "small", "fits"));
    EK_CHECK_OK(ek_vault_begin(v));
    EK_CHECK_OK(kv_set(v, "small", "changed"));
    EK_CHECK_RC(append_big(v, n), EK_ERR_VAULT_FULL);
    /* The whole transaction is gone; nothing more is written in it. */
    EK_CHECK_RC(kv_set(v, "other", "x"), EK_ERR_VAULT_FULL);
    EK_CHECK_RC(ek_vault_commit(v), EK_ERR_VAULT_FULL);
    EK_CHECK(kv_is(v, "other", NULL));
    EK_CHECK(kv_is(v, "small", "fits"));
    EK_CHECK_OK(ek_vault_begin(v));
    EK_CHECK_OK(kv_set(v, "small", "changed"));
    EK_CHECK_RC(append_big(v, n), EK_ERR_VAULT_FULL);
    EK_CHECK_OK(ek_vault_rollback(v));
    EK_CHECK(kv_is(v, "small", "fits"));
    EK_CHECK_OK(ek_vault_msg_count(v, &count, "big"));
    EK_CHECK(count == n);
    ek_vault_close(v);
    reopen_check(path, n);

    /* Without the limit (a new connection), writing works again. */
    EK_CHECK_OK(ek_vault_open(&v, path, pass, strlen(pass), &o));
    EK_CHECK_OK(append_big(v, n));
    ek_vault_close(v);
    reopen_check(path, n + 1);
    vt_rmtree(dir);
    free(path);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * A real small file system.
 */
static int make_ballast(const char *path, size_t bytes)
{
    static uint8_t chunk[16384];
    FILE *f = fopen(path, "wb");
    size_t done = 0;
    if (f == NULL)
        return -1;
    while (done < bytes && fwrite(chunk, 1, sizeof chunk, f) == sizeof chunk)
        done += sizeof chunk;
    return fclose(f) == 0 ? 0 : -1;
}

static void part_tmpfs(void)
{
    char *dir, *path, *ballast, *path2;
    char code[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    uint64_t n, n2;
    struct stat sb;

    if (unshare(CLONE_NEWNS) != 0) {
        printf("SKIP tmpfs part: unshare(CLONE_NEWNS) failed (%s); it needs root or "
               "CAP_SYS_ADMIN. The page-limit part above covers a full disk.\n",
               strerror(errno));
        return;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("SKIP tmpfs part: making mounts private failed (%s)\n", strerror(errno));
        return;
    }
    dir = vt_tempdir();
    if (mount("tmpfs", dir, "tmpfs", 0, "size=2m,mode=0700") != 0) {
        printf("SKIP tmpfs part: mount tmpfs failed (%s)\n", strerror(errno));
        vt_rmtree(dir);
        free(dir);
        return;
    }
    path = vt_join(dir, "vault.db");
    path2 = vt_join(dir, "second.db");
    ballast = vt_join(dir, "ballast");
    EK_CHECK(make_ballast(ballast, (size_t)256 * 1024) == 0);

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    vt_fill(v, 4);
    n = fill_until_full(v, 0);
    printf("tmpfs: %llu messages committed before the disk was full\n", (unsigned long long)n);
    EK_CHECK(n > 10);
    EK_CHECK_RC(append_big(v, n), EK_ERR_VAULT_FULL);
    ek_vault_close(v); /* its checkpoint may fail for lack of space: fine */

    /* A new vault cannot be made on the full disk, and none is left. */
    EK_CHECK_RC(ek_vault_create(&v, code, path2, pass, strlen(pass), &o), EK_ERR_VAULT_FULL);
    EK_CHECK(stat(path2, &sb) != 0);

    reopen_check(path, n);

    /* Space freed: writing goes on. */
    EK_CHECK(unlink(ballast) == 0);
    EK_CHECK_OK(ek_vault_open(&v, path, pass, strlen(pass), &o));
    n2 = n;
    if (v != NULL) {
        for (n2 = n; n2 < n + 5; n2++)
            EK_CHECK_OK(append_big(v, n2));
        ek_vault_close(v);
    }
    reopen_check(path, n2);

    /* Read-only: a clear error, nothing changed. */
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0) {
        printf("SKIP read-only part: remount failed (%s)\n", strerror(errno));
    } else {
        vt_snapshot a, b;
        vt_snap(&a, dir);
        EK_CHECK_RC(ek_vault_open(&v, path, pass, strlen(pass), &o), EK_ERR_VAULT_READONLY);
        EK_CHECK_RC(ek_vault_open(&v, path, "wrong", 5, &o), EK_ERR_VAULT_READONLY);
        EK_CHECK_RC(ek_vault_create(&v, code, path2, pass, strlen(pass), &o),
                    EK_ERR_VAULT_READONLY);
        vt_snap(&b, dir);
        EK_CHECK(vt_snap_equal(&a, &b));
        vt_snap_free(&a);
        vt_snap_free(&b);
        printf("read-only: open and create refused cleanly\n");
    }
    EK_CHECK(umount(dir) == 0);
    (void)rmdir(dir);
    free(path);
    free(path2);
    free(ballast);
    free(dir);
}

int main(void)
{
    part_page_limit();
    part_tmpfs();
    return ek_test_finish("store.disk");
}
