/*
 * test_vault.c: round trips of every kind of record, reopening, the
 * semantics of each call (not found, duplicates, ranges, order),
 * transactions, the exclusive lock, the allocator hook (every byte
 * returned, every allocation failure handled).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <enkrypt/ek_vault.h>

#include "ek_test.h"
#include "vault_util.h"

static const char pass[] = "correct horse battery staple";

static void check_recovery_form(const char *code)
{
    size_t i;
    EK_CHECK(strlen(code) == EK_VAULT_RECOVERY_LEN);
    for (i = 0; i < EK_VAULT_RECOVERY_LEN; i++) {
        if (i % 6 == 5)
            EK_CHECK(code[i] == '-');
        else
            EK_CHECK(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[i]) != NULL);
    }
    EK_CHECK_OK(ek_vault_recovery_check(code, NULL));
}

static void test_round_trip(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1], code2[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    vt_result res;
    struct stat sb;
    uint8_t id1[16], id2[16];

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    check_recovery_form(code);
    EK_CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    vt_fill(v, 7);
    vt_verify(v, 7, &res);
    EK_CHECK(res.same == VT_TOTAL && res.errors == 0 && res.wrong == 0);
    ek_vault_id(v, id1);
    ek_vault_close(v);

    EK_CHECK_OK(ek_vault_open(&v, path, pass, strlen(pass), &o));
    vt_verify(v, 7, &res);
    EK_CHECK(res.same == VT_TOTAL && res.errors == 0 && res.wrong == 0);
    ek_vault_id(v, id2);
    EK_CHECK(memcmp(id1, id2, 16) == 0);
    ek_vault_close(v);

    EK_CHECK_OK(ek_vault_open_recovery(&v, path, code, NULL));
    vt_verify(v, 7, &res);
    EK_CHECK(res.same == VT_TOTAL && res.errors == 0 && res.wrong == 0);
    ek_vault_close(v);

    /* A second vault: different id, different code. */
    {
        char *p2 = vt_join(dir, "second.db");
        EK_CHECK_OK(ek_vault_create(&v, code2, p2, pass, strlen(pass), &o));
        ek_vault_id(v, id2);
        EK_CHECK(memcmp(id1, id2, 16) != 0);
        EK_CHECK(strcmp(code, code2) != 0);
        ek_vault_close(v);
        free(p2);
    }

    /* create never overwrites. */
    {
        vt_snapshot a, b;
        vt_snap(&a, dir);
        EK_CHECK_RC(ek_vault_create(&v, code2, path, pass, strlen(pass), &o), EK_ERR_VAULT_EXISTS);
        EK_CHECK(v == NULL);
        vt_snap(&b, dir);
        EK_CHECK(vt_snap_equal(&a, &b));
        vt_snap_free(&a);
        vt_snap_free(&b);
    }
    vt_rmtree(dir);
    free(path);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * Semantics of each call.
 */
struct collect {
    unsigned n;
    uint64_t idx[64];
    char ids[64][EK_VAULT_ID_MAX + 1];
    int stop_at; /* return 42 at this item (-1: never) */
};

static int collect_msg(void *ctx, const ek_vault_message *m)
{
    struct collect *c = ctx;
    if (c->n < 64) {
        c->idx[c->n] = m->index;
        (void)snprintf(c->ids[c->n], sizeof c->ids[0], "%s", m->id);
    }
    if ((int)c->n++ == c->stop_at)
        return 42;
    return EK_OK;
}

static int collect_outbox(void *ctx, const ek_vault_outbox_item *it)
{
    struct collect *c = ctx;
    if (c->n < 64) {
        c->idx[c->n] = it->seq;
        (void)snprintf(c->ids[c->n], sizeof c->ids[0], "%s", it->msg_id);
    }
    c->n++;
    return EK_OK;
}

struct conv_seen {
    unsigned n;
    uint64_t count, last;
    char id[64];
};

static int collect_conv(void *ctx, const char *conv, uint64_t count, uint64_t last)
{
    struct conv_seen *c = ctx;
    (void)snprintf(c->id, sizeof c->id, "%s", conv);
    c->count = count;
    c->last = last;
    c->n++;
    return EK_OK;
}

static int count_setting(void *ctx, const char *key, const char *value)
{
    (void)key;
    (void)value;
    (*(unsigned *)ctx)++;
    return EK_OK;
}

static int count_contact(void *ctx, const ek_vault_contact *c)
{
    struct collect *col = ctx;
    if (col->n < 64)
        (void)snprintf(col->ids[col->n], sizeof col->ids[0], "%s", c->peer_id);
    col->n++;
    return EK_OK;
}

/* Removes each item while the listing runs: callbacks may use the vault. */
static int remove_while_listing(void *ctx, const ek_vault_outbox_item *it)
{
    ek_vault *v = ctx;
    return ek_vault_outbox_remove(v, it->peer_id, it->msg_id);
}

static void append(ek_vault *v, const char *conv, const char *id, const char *body, uint64_t ts,
                   int want)
{
    ek_vault_message m;
    memset(&m, 0, sizeof m);
    m.conversation = conv;
    m.id = id;
    m.direction = EK_VAULT_OUTGOING;
    m.status = EK_VAULT_MSG_SENT;
    m.timestamp_ms = ts;
    m.body = (const uint8_t *)body;
    m.body_len = strlen(body);
    EK_CHECK_RC(ek_vault_msg_append(v, NULL, &m), want);
}

static int status_of_cb(void *ctx, const ek_vault_message *m)
{
    *(int *)ctx = m->status;
    return EK_OK;
}

static void test_semantics(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1], buf[64], longid[EK_VAULT_ID_MAX + 2];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    ek_vault_contact c;
    ek_identity id;
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t n = 0;
    struct collect col;
    struct conv_seen cs;
    unsigned count = 0;
    int status = 0, i;

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));

    /* Empty vault: nothing is there. */
    EK_CHECK_RC(ek_vault_identity_get(v, &id), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_setting_get(v, buf, sizeof buf, NULL, "x"), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_contact_get(v, &c, "nobody"), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_session_get(v, &blob, &len, "nobody"), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_group_get(v, &blob, &len, (const uint8_t *)"g", 1),
                EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_kv_get(v, &blob, &len, "ns", (const uint8_t *)"k", 1),
                EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_msg_get(v, "conv", "m", status_of_cb, &status), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_setting_delete(v, "x"), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_contact_delete(v, "x"), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_session_delete(v, "x"), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_outbox_remove(v, "p", "m"), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_contact_set_verified(v, "x", 1), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_RC(ek_vault_msg_set_status(v, "c", "m", EK_VAULT_MSG_READ), EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_OK(ek_vault_msg_count(v, &n, "conv"));
    EK_CHECK(n == 0);
    EK_CHECK_OK(ek_vault_conversation_delete(v, "conv"));

    /* Bad arguments. */
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    EK_CHECK_RC(ek_vault_setting_set(v, longid, "v"), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_vault_setting_set(v, "", "v"), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_vault_setting_set(v, NULL, "v"), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_vault_session_put(v, "p", NULL, 5), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_vault_kv_put(v, "ek.reserved", (const uint8_t *)"k", 1, NULL, 0),
                EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_vault_kv_put(v, "ns", (const uint8_t *)"k", 0, NULL, 0), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_vault_msg_set_status(v, "c", "m", 9), EK_ERR_INVALID_ARG);
    {
        ek_vault_message m;
        memset(&m, 0, sizeof m);
        m.conversation = "c";
        m.id = "m";
        m.direction = 3;
        m.status = EK_VAULT_MSG_SENT;
        EK_CHECK_RC(ek_vault_msg_append(v, NULL, &m), EK_ERR_INVALID_ARG);
    }
    longid[EK_VAULT_ID_MAX] = 0; /* exactly the longest id: fine */
    EK_CHECK_OK(ek_vault_setting_set(v, longid, "longest key"));
    EK_CHECK_OK(ek_vault_setting_get(v, buf, sizeof buf, NULL, longid));
    EK_CHECK(strcmp(buf, "longest key") == 0);
    EK_CHECK_OK(ek_vault_setting_delete(v, longid));

    /* Settings: overwrite, small buffer, empty value, list. */
    EK_CHECK_OK(ek_vault_setting_set(v, "typing", "on"));
    EK_CHECK_OK(ek_vault_setting_set(v, "typing", "off"));
    EK_CHECK_OK(ek_vault_setting_get(v, buf, sizeof buf, &len, "typing"));
    EK_CHECK(strcmp(buf, "off") == 0 && len == 3);
    EK_CHECK_RC(ek_vault_setting_get(v, buf, 3, &len, "typing"), EK_ERR_TOO_LARGE);
    EK_CHECK_OK(ek_vault_setting_set(v, "empty", ""));
    EK_CHECK_OK(ek_vault_setting_get(v, buf, sizeof buf, &len, "empty"));
    EK_CHECK(buf[0] == 0 && len == 0);
    EK_CHECK_OK(ek_vault_setting_list(v, count_setting, &count));
    EK_CHECK(count == 2);

    /* Contacts: shortcuts, sorted list, delete. */
    memset(&c, 0, sizeof c);
    (void)snprintf(c.peer_id, sizeof c.peer_id, "zed");
    EK_CHECK_OK(ek_vault_contact_put(v, &c));
    (void)snprintf(c.peer_id, sizeof c.peer_id, "amy");
    (void)snprintf(c.nickname, sizeof c.nickname, "Amy");
    EK_CHECK_OK(ek_vault_contact_put(v, &c));
    (void)snprintf(c.peer_id, sizeof c.peer_id, "max");
    EK_CHECK_OK(ek_vault_contact_put(v, &c));
    EK_CHECK_OK(ek_vault_contact_set_verified(v, "amy", 1));
    EK_CHECK_OK(ek_vault_contact_set_last_seen(v, "amy", 123456));
    EK_CHECK_OK(ek_vault_contact_get(v, &c, "amy"));
    EK_CHECK(c.verified == 1 && c.last_seen_ms == 123456 && strcmp(c.nickname, "Amy") == 0 &&
             !c.has_identity_key);
    EK_CHECK_OK(ek_vault_contact_set_verified(v, "amy", 0));
    EK_CHECK_OK(ek_vault_contact_get(v, &c, "amy"));
    EK_CHECK(c.verified == 0 && c.last_seen_ms == 123456);
    memset(&col, 0, sizeof col);
    EK_CHECK_OK(ek_vault_contact_list(v, count_contact, &col));
    EK_CHECK(col.n == 3 && strcmp(col.ids[0], "amy") == 0 && strcmp(col.ids[1], "max") == 0 &&
             strcmp(col.ids[2], "zed") == 0);
    EK_CHECK_OK(ek_vault_contact_delete(v, "max"));
    EK_CHECK_RC(ek_vault_contact_get(v, &c, "max"), EK_ERR_VAULT_NOT_FOUND);

    /* Session blobs: a large one, an empty one, replace, delete. */
    {
        size_t big = (size_t)1 << 20;
        uint8_t *b = malloc(big);
        if (b == NULL)
            abort();
        vt_blob(b, big, 1, 77);
        EK_CHECK_OK(ek_vault_session_put(v, "peer", b, big));
        EK_CHECK_OK(ek_vault_session_get(v, &blob, &len, "peer"));
        EK_CHECK(len == big && memcmp(blob, b, big) == 0);
        ek_vault_free(NULL, blob, len);
        EK_CHECK_OK(ek_vault_session_put(v, "peer", NULL, 0));
        EK_CHECK_OK(ek_vault_session_get(v, &blob, &len, "peer"));
        EK_CHECK(len == 0 && blob != NULL && blob[0] == 0);
        ek_vault_free(NULL, blob, len);
        EK_CHECK_OK(ek_vault_session_delete(v, "peer"));
        EK_CHECK_RC(ek_vault_session_get(v, &blob, &len, "peer"), EK_ERR_VAULT_NOT_FOUND);
        free(b);
    }

    /* Messages: order, ranges, duplicate ids, status, conversations. */
    for (i = 0; i < 30; i++) {
        char mid[32];
        (void)snprintf(mid, sizeof mid, "m%02d", i);
        append(v, "conv-a", mid, "hello", 100 + (uint64_t)i, EK_OK);
    }
    append(v, "conv-a", "m05", "a duplicate", 999, EK_ERR_VAULT_EXISTS);
    append(v, "conv-b", "m05", "same id, other conversation", 50, EK_OK);
    EK_CHECK_OK(ek_vault_msg_count(v, &n, "conv-a"));
    EK_CHECK(n == 30);
    memset(&col, 0, sizeof col);
    col.stop_at = -1;
    EK_CHECK_OK(ek_vault_msg_list(v, "conv-a", 0, 1000, collect_msg, &col));
    EK_CHECK(col.n == 30);
    for (i = 0; i < 30 && i < (int)col.n; i++) {
        char mid[32];
        (void)snprintf(mid, sizeof mid, "m%02d", i);
        EK_CHECK(col.idx[i] == (uint64_t)i && strcmp(col.ids[i], mid) == 0);
    }
    memset(&col, 0, sizeof col);
    col.stop_at = -1;
    EK_CHECK_OK(ek_vault_msg_list(v, "conv-a", 25, 10, collect_msg, &col));
    EK_CHECK(col.n == 5 && col.idx[0] == 25 && col.idx[4] == 29);
    memset(&col, 0, sizeof col);
    col.stop_at = -1;
    EK_CHECK_OK(ek_vault_msg_list(v, "conv-a", 30, 10, collect_msg, &col));
    EK_CHECK(col.n == 0);
    EK_CHECK_OK(ek_vault_msg_list(v, "conv-a", 3, 0, collect_msg, &col));
    EK_CHECK(col.n == 0);
    memset(&col, 0, sizeof col);
    col.stop_at = 2;
    EK_CHECK_RC(ek_vault_msg_list(v, "conv-a", 0, 100, collect_msg, &col), 42);
    EK_CHECK(col.n == 3);
    EK_CHECK_OK(ek_vault_msg_set_status(v, "conv-a", "m07", EK_VAULT_MSG_READ));
    EK_CHECK_OK(ek_vault_msg_get(v, "conv-a", "m07", status_of_cb, &status));
    EK_CHECK(status == EK_VAULT_MSG_READ);
    memset(&col, 0, sizeof col);
    col.stop_at = -1;
    EK_CHECK_OK(ek_vault_msg_list(v, "conv-a", 7, 1, collect_msg, &col));
    EK_CHECK(col.n == 1 && col.idx[0] == 7 && strcmp(col.ids[0], "m07") == 0);
    memset(&cs, 0, sizeof cs);
    EK_CHECK_OK(ek_vault_conversation_delete(v, "conv-a"));
    EK_CHECK_OK(ek_vault_conversation_list(v, collect_conv, &cs));
    EK_CHECK(cs.n == 1 && strcmp(cs.id, "conv-b") == 0 && cs.count == 1 && cs.last == 50);
    EK_CHECK_OK(ek_vault_msg_count(v, &n, "conv-a"));
    EK_CHECK(n == 0);
    append(v, "conv-a", "m05", "after the delete", 1, EK_OK); /* index restarts */
    memset(&col, 0, sizeof col);
    col.stop_at = -1;
    EK_CHECK_OK(ek_vault_msg_list(v, "conv-a", 0, 10, collect_msg, &col));
    EK_CHECK(col.n == 1 && col.idx[0] == 0);

    /* Outbox: order, duplicates, removal, sequence numbers only grow. */
    for (i = 0; i < 6; i++) {
        ek_vault_outbox_item it;
        char mid[32];
        uint64_t seq = 0;
        memset(&it, 0, sizeof it);
        (void)snprintf(mid, sizeof mid, "o%d", i);
        it.peer_id = "bob";
        it.msg_id = mid;
        it.payload = (const uint8_t *)"payload";
        it.payload_len = 7;
        EK_CHECK_OK(ek_vault_outbox_push(v, &seq, &it));
        EK_CHECK(seq == (uint64_t)i);
        EK_CHECK_RC(ek_vault_outbox_push(v, &seq, &it), EK_ERR_VAULT_EXISTS);
    }
    EK_CHECK_OK(ek_vault_outbox_remove(v, "bob", "o5"));
    EK_CHECK_OK(ek_vault_outbox_remove(v, "bob", "o0"));
    EK_CHECK_RC(ek_vault_outbox_remove(v, "bob", "o0"), EK_ERR_VAULT_NOT_FOUND);
    {
        ek_vault_outbox_item it;
        uint64_t seq = 0;
        memset(&it, 0, sizeof it);
        it.peer_id = "bob";
        it.msg_id = "o6";
        EK_CHECK_OK(ek_vault_outbox_push(v, &seq, &it));
        EK_CHECK(seq == 6);
    }
    EK_CHECK_OK(ek_vault_outbox_count(v, &n, "bob"));
    EK_CHECK(n == 5);
    memset(&col, 0, sizeof col);
    EK_CHECK_OK(ek_vault_outbox_list(v, "bob", collect_outbox, &col));
    EK_CHECK(col.n == 5 && strcmp(col.ids[0], "o1") == 0 && strcmp(col.ids[3], "o4") == 0 &&
             strcmp(col.ids[4], "o6") == 0 && col.idx[4] == 6);
    EK_CHECK_OK(ek_vault_outbox_list(v, "bob", remove_while_listing, v));
    EK_CHECK_OK(ek_vault_outbox_count(v, &n, "bob"));
    EK_CHECK(n == 0);

    /* Generic key/value. */
    EK_CHECK_OK(
        ek_vault_kv_put(v, "ns", (const uint8_t *)"\x00\x01", 2, (const uint8_t *)"val", 3));
    EK_CHECK_OK(ek_vault_kv_get(v, &blob, &len, "ns", (const uint8_t *)"\x00\x01", 2));
    EK_CHECK(len == 3 && memcmp(blob, "val", 3) == 0);
    ek_vault_free(NULL, blob, len);
    EK_CHECK_RC(ek_vault_kv_get(v, &blob, &len, "ns2", (const uint8_t *)"\x00\x01", 2),
                EK_ERR_VAULT_NOT_FOUND);
    EK_CHECK_OK(ek_vault_kv_delete(v, "ns", (const uint8_t *)"\x00\x01", 2));

    ek_vault_close(v);
    vt_rmtree(dir);
    free(path);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * Transactions and the lock.
 */
static void test_transactions(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL, *w = NULL;
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t n = 0;

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    EK_CHECK_RC(ek_vault_commit(v), EK_ERR_STATE);
    EK_CHECK_RC(ek_vault_rollback(v), EK_ERR_STATE);

    EK_CHECK_OK(ek_vault_begin(v));
    EK_CHECK_RC(ek_vault_begin(v), EK_ERR_STATE);
    EK_CHECK_RC(ek_vault_change_passphrase(v, "new", 3), EK_ERR_STATE);
    append(v, "c", "m1", "one", 1, EK_OK);
    EK_CHECK_OK(ek_vault_session_put(v, "c", (const uint8_t *)"state-1", 7));
    EK_CHECK_OK(ek_vault_rollback(v));
    EK_CHECK_OK(ek_vault_msg_count(v, &n, "c"));
    EK_CHECK(n == 0);
    EK_CHECK_RC(ek_vault_session_get(v, &blob, &len, "c"), EK_ERR_VAULT_NOT_FOUND);

    /* A failing call inside keeps the transaction and undoes only itself. */
    EK_CHECK_OK(ek_vault_begin(v));
    append(v, "c", "m1", "one", 1, EK_OK);
    append(v, "c", "m1", "dup", 2, EK_ERR_VAULT_EXISTS);
    EK_CHECK_OK(ek_vault_session_put(v, "c", (const uint8_t *)"state-1", 7));
    EK_CHECK_OK(ek_vault_commit(v));
    ek_vault_close(v);

    EK_CHECK_OK(ek_vault_open(&v, path, pass, strlen(pass), &o));
    EK_CHECK_OK(ek_vault_msg_count(v, &n, "c"));
    EK_CHECK(n == 1);
    EK_CHECK_OK(ek_vault_session_get(v, &blob, &len, "c"));
    EK_CHECK(len == 7 && memcmp(blob, "state-1", 7) == 0);
    ek_vault_free(NULL, blob, len);

    /* A second opener is refused while the first has it. */
    EK_CHECK_RC(ek_vault_open(&w, path, pass, strlen(pass), &o), EK_ERR_VAULT_BUSY);
    EK_CHECK(w == NULL);
    /* An open transaction is rolled back by close. */
    EK_CHECK_OK(ek_vault_begin(v));
    append(v, "c", "m2", "two", 3, EK_OK);
    ek_vault_close(v);
    EK_CHECK_OK(ek_vault_open(&w, path, pass, strlen(pass), &o));
    EK_CHECK_OK(ek_vault_msg_count(w, &n, "c"));
    EK_CHECK(n == 1);
    ek_vault_close(w);
    ek_vault_close(NULL);
    vt_rmtree(dir);
    free(path);
    free(dir);
}

/* ---------------------------------------------------------------------------
 * The allocator hook: sizes match, nothing leaks, failures are clean.
 */
struct counting {
    long live;    /* allocations not freed */
    size_t bytes; /* bytes not freed */
    long fail_at; /* fail the allocation with this number (-1: never) */
    long count;
    int size_mismatch;
};

#define HDR 16

static void *c_alloc(void *ctx, size_t size)
{
    struct counting *c = ctx;
    uint8_t *p;
    if (c->fail_at >= 0 && c->count++ == c->fail_at)
        return NULL;
    p = malloc(size + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof size);
    c->live++;
    c->bytes += size;
    return p + HDR;
}

static void c_free(void *ctx, void *ptr, size_t size)
{
    struct counting *c = ctx;
    uint8_t *p = (uint8_t *)ptr - HDR;
    size_t got;
    memcpy(&got, p, sizeof got);
    if (got != size)
        c->size_mismatch = 1;
    c->live--;
    c->bytes -= got;
    free(p);
}

static void *c_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    void *n = c_alloc(ctx, new_size);
    if (n == NULL)
        return NULL;
    if (ptr != NULL) {
        memcpy(n, ptr, old_size < new_size ? old_size : new_size);
        c_free(ctx, ptr, old_size);
    }
    return n;
}

/* One pass of work through the counting allocator: EK_OK when all went
 * through; otherwise the first error. */
static int alloc_workload(const char *path, const ek_allocator *a)
{
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    ek_vault_contact c;
    uint8_t *blob = NULL;
    size_t len = 0;
    struct collect col;
    int rc;

    o.alloc = a;
    rc = ek_vault_open(&v, path, pass, strlen(pass), &o);
    if (rc != EK_OK)
        return rc;
    memset(&c, 0, sizeof c);
    (void)snprintf(c.peer_id, sizeof c.peer_id, "p%d", 1);
    rc = ek_vault_contact_put(v, &c);
    if (rc == EK_OK)
        rc = ek_vault_session_put(v, "p1", (const uint8_t *)"abc", 3);
    if (rc == EK_OK)
        rc = ek_vault_session_get(v, &blob, &len, "p1");
    if (rc == EK_OK)
        ek_vault_free(a, blob, len);
    if (rc == EK_OK) {
        memset(&col, 0, sizeof col);
        rc = ek_vault_contact_list(v, count_contact, &col);
    }
    if (rc == EK_OK) {
        memset(&col, 0, sizeof col);
        col.stop_at = -1;
        rc = ek_vault_msg_list(v, "conv", 0, 100, collect_msg, &col);
    }
    if (rc == EK_OK) {
        ek_vault_outbox_item it;
        memset(&it, 0, sizeof it);
        it.peer_id = "p1";
        it.msg_id = "x";
        rc = ek_vault_outbox_push(v, NULL, &it);
        if (rc == EK_OK)
            rc = ek_vault_outbox_remove(v, "p1", "x");
    }
    ek_vault_close(v);
    return rc;
}

static void test_allocator(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1];
    struct counting cnt;
    ek_allocator a = {c_alloc, c_realloc, c_free, &cnt};
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    long k;
    int ok_seen = 0;

    memset(&cnt, 0, sizeof cnt);
    cnt.fail_at = -1;
    o.alloc = &a;
    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    vt_fill(v, 3);
    ek_vault_close(v);
    EK_CHECK(cnt.live == 0 && cnt.bytes == 0 && !cnt.size_mismatch);

    /* Fail the k-th allocation, for every k until the workload passes. */
    for (k = 0; k < 200 && !ok_seen; k++) {
        int rc;
        cnt.fail_at = k;
        cnt.count = 0;
        rc = alloc_workload(path, &a);
        EK_CHECK(rc == EK_OK || rc == EK_ERR_NOMEM);
        EK_CHECK(cnt.live == 0 && !cnt.size_mismatch);
        if (rc == EK_OK)
            ok_seen = 1;
    }
    EK_CHECK(ok_seen);
    printf("allocation failures injected: %ld\n", k - 1);

    /* Create failing at each allocation leaves nothing behind. */
    {
        char *p2 = vt_join(dir, "fail.db");
        for (k = 0; k < 10; k++) {
            struct stat sb;
            int rc;
            cnt.fail_at = k;
            cnt.count = 0;
            rc = ek_vault_create(&v, code, p2, pass, strlen(pass), &o);
            if (rc == EK_OK) {
                ek_vault_close(v);
                break;
            }
            EK_CHECK_RC(rc, EK_ERR_NOMEM);
            EK_CHECK(stat(p2, &sb) != 0);
            EK_CHECK(cnt.live == 0);
        }
        free(p2);
    }
    vt_rmtree(dir);
    free(path);
    free(dir);
}

static void test_strerror(void)
{
    int e;
    for (e = EK_ERR_VAULT_CLOSED; e <= EK_ERR_VAULT_BAD_PASSPHRASE; e++)
        EK_CHECK(strcmp(ek_vault_strerror(e), "unknown error") != 0);
    EK_CHECK(strcmp(ek_vault_strerror(EK_ERR_NOMEM), ek_strerror(EK_ERR_NOMEM)) == 0);
    EK_CHECK(strcmp(ek_vault_strerror(EK_ERR_VAULT_BAD_PASSPHRASE), "wrong passphrase") == 0);
}

int main(void)
{
    test_round_trip();
    test_semantics();
    test_transactions();
    test_allocator();
    test_strerror();
    return ek_test_finish("store.vault");
}
