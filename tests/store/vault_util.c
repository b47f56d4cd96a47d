/*
 * vault_util.c: helpers of the vault tests (see vault_util.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_session.h>

#include "ek_test.h"
#include "vault_util.h"

ek_vault_options vt_opts(void)
{
    ek_vault_options o;
    memset(&o, 0, sizeof o);
    o.argon2_t_cost = 1;
    o.argon2_m_kib = 64;
    return o;
}

char *vt_tempdir(void)
{
    char tmpl[] = "/tmp/ek-vault-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (d == NULL) {
        perror("mkdtemp");
        abort();
    }
    return strdup(d);
}

char *vt_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p == NULL)
        abort();
    (void)snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void vt_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char *p;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        p = vt_join(dir, e->d_name);
        (void)unlink(p);
        free(p);
    }
    (void)closedir(d);
    (void)rmdir(dir);
}

uint8_t *vt_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            uint8_t *nb;
            cap = cap ? cap * 2 : 65536;
            nb = realloc(buf, cap + 1);
            if (nb == NULL)
                abort();
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    (void)fclose(f);
    if (buf == NULL) {
        buf = malloc(1);
        if (buf == NULL)
            abort();
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int vt_write(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (f == NULL)
        return -1;
    ok = fwrite(buf, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : -1;
}

int vt_copy(const char *from, const char *to)
{
    size_t n = 0;
    uint8_t *b = vt_read(from, &n);
    int rc;
    if (b == NULL)
        return -1;
    rc = vt_write(to, b, n);
    free(b);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void vt_snap(vt_snapshot *s, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t i;
    memset(s, 0, sizeof *s);
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL && s->n < 32) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        s->names[s->n++] = strdup(e->d_name);
    }
    (void)closedir(d);
    qsort(s->names, s->n, sizeof s->names[0], name_cmp);
    for (i = 0; i < s->n; i++) {
        char *p = vt_join(dir, s->names[i]);
        s->data[i] = vt_read(p, &s->lens[i]);
        free(p);
    }
}

int vt_snap_equal(const vt_snapshot *a, const vt_snapshot *b)
{
    size_t i;
    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++) {
        if (strcmp(a->names[i], b->names[i]) != 0 || a->lens[i] != b->lens[i])
            return 0;
        if ((a->data[i] == NULL) != (b->data[i] == NULL))
            return 0;
        if (a->data[i] != NULL && memcmp(a->data[i], b->data[i], a->lens[i]) != 0)
            return 0;
    }
    return 1;
}

void vt_snap_free(vt_snapshot *s)
{
    size_t i;
    for (i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->data[i]);
    }
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------------------
 * The data set.
 */
void vt_blob(uint8_t *out, size_t len, uint32_t seed, unsigned which)
{
    uint8_t s[8] = {(uint8_t)(seed >> 24),
                    (uint8_t)(seed >> 16),
                    (uint8_t)(seed >> 8),
                    (uint8_t)seed,
                    'b',
                    (uint8_t)which,
                    (uint8_t)(which >> 8),
                    0x5a};
    ek_rng_seeded r;
    ek_rng_seeded_init(&r, s, sizeof s);
    if (ek_random(&r.rng, out, len) != EK_OK)
        abort();
}

void vt_message_body(char *out, size_t cap, uint32_t seed, unsigned i)
{
    (void)snprintf(out, cap, "canary message %u/%u: meet me at the old mill at %u o'clock",
                   (unsigned)seed, i, i % 12 + 1);
}

static void make_identity(ek_identity *id, uint32_t seed)
{
    uint8_t s[5] = {(uint8_t)(seed >> 24), (uint8_t)(seed >> 16), (uint8_t)(seed >> 8),
                    (uint8_t)seed, 'i'};
    ek_rng_seeded r;
    ek_rng_seeded_init(&r, s, sizeof s);
    if (ek_identity_generate(id, &r.rng) != EK_OK)
        abort();
}

static int contact_equal(const ek_vault_contact *a, const ek_vault_contact *b)
{
    return strcmp(a->peer_id, b->peer_id) == 0 && strcmp(a->nickname, b->nickname) == 0 &&
           a->has_identity_key == b->has_identity_key &&
           memcmp(a->identity_key, b->identity_key, sizeof a->identity_key) == 0 &&
           a->verified == b->verified && a->added_ms == b->added_ms &&
           a->last_seen_ms == b->last_seen_ms;
}

static int identity_equal(const ek_identity *a, const ek_identity *b)
{
    return memcmp(a->seed, b->seed, sizeof a->seed) == 0 &&
           memcmp(a->signal.key.pub, b->signal.key.pub, sizeof a->signal.key.pub) == 0 &&
           memcmp(a->signal.key.priv, b->signal.key.priv, sizeof a->signal.key.priv) == 0 &&
           a->signal.registration_id == b->signal.registration_id;
}

static void make_contact(ek_vault_contact *c, uint32_t seed, int which)
{
    memset(c, 0, sizeof *c);
    if (which == 0) {
        (void)snprintf(c->peer_id, sizeof c->peer_id, "peer-alice-%u", (unsigned)seed);
        (void)snprintf(c->nickname, sizeof c->nickname, "Alice Canary %u", (unsigned)seed);
        c->has_identity_key = 1;
        vt_blob(c->identity_key, sizeof c->identity_key, seed, 10);
        c->verified = 1;
        c->added_ms = 1000 + seed;
        c->last_seen_ms = 2000 + seed;
    } else {
        (void)snprintf(c->peer_id, sizeof c->peer_id, "peer-bob-%u", (unsigned)seed);
        (void)snprintf(c->nickname, sizeof c->nickname, "Bob");
        c->added_ms = 3000;
    }
}

#define SETTING_COUNT 3
static void make_setting(char *key, char *val, size_t cap, uint32_t seed, int i)
{
    switch (i) {
    case 0:
        (void)snprintf(key, cap, "typing");
        (void)snprintf(val, cap, "off");
        break;
    case 1:
        (void)snprintf(key, cap, "theme");
        (void)snprintf(val, cap, "dark-%u", (unsigned)seed);
        break;
    default:
        (void)snprintf(key, cap, "canary.setting.%u", (unsigned)seed);
        (void)snprintf(val, cap, "setting-value-canary-%u", (unsigned)seed);
        break;
    }
}

static void msg_fields(ek_vault_message *m, char *conv, char *id, char *body, size_t cap,
                       uint32_t seed, unsigned i)
{
    memset(m, 0, sizeof *m);
    (void)snprintf(conv, cap, "peer-alice-%u", (unsigned)seed);
    (void)snprintf(id, cap, "msg-%u-%u", (unsigned)seed, i);
    vt_message_body(body, cap, seed, i);
    m->conversation = conv;
    m->id = id;
    m->direction = (int)(i % 2) + 1;
    m->status = (int)(i % 5) + 1;
    m->timestamp_ms = 1700000000000ull + i * 1000ull;
    m->body = (const uint8_t *)body;
    m->body_len = strlen(body);
}

static void outbox_fields(ek_vault_outbox_item *it, char *peer, char *id, char *payload, size_t cap,
                          uint32_t seed, unsigned j)
{
    memset(it, 0, sizeof *it);
    (void)snprintf(peer, cap, "peer-bob-%u", (unsigned)seed);
    (void)snprintf(id, cap, "out-%u-%u", (unsigned)seed, j);
    (void)snprintf(payload, cap, "outbox canary payload %u/%u", (unsigned)seed, j);
    it->peer_id = peer;
    it->msg_id = id;
    it->payload = (const uint8_t *)payload;
    it->payload_len = strlen(payload);
    it->queued_ms = 5000 + j;
}

void vt_fill(ek_vault *v, uint32_t seed)
{
    ek_identity id;
    ek_vault_contact c;
    char a[300], b[300], body[300];
    uint8_t blob[VT_BLOB_LEN], gid[16];
    unsigned i;
    int k;

    make_identity(&id, seed);
    EK_CHECK_OK(ek_vault_identity_put(v, &id));
    for (k = 0; k < SETTING_COUNT; k++) {
        make_setting(a, b, sizeof a, seed, k);
        EK_CHECK_OK(ek_vault_setting_set(v, a, b));
    }
    for (k = 0; k < 2; k++) {
        make_contact(&c, seed, k);
        EK_CHECK_OK(ek_vault_contact_put(v, &c));
    }
    vt_blob(blob, sizeof blob, seed, 1);
    (void)snprintf(a, sizeof a, "peer-alice-%u", (unsigned)seed);
    EK_CHECK_OK(ek_vault_session_put(v, a, blob, sizeof blob));
    vt_blob(blob, 100, seed, 2);
    (void)snprintf(a, sizeof a, "peer-bob-%u", (unsigned)seed);
    EK_CHECK_OK(ek_vault_session_put(v, a, blob, 100));
    vt_blob(gid, sizeof gid, seed, 3);
    vt_blob(blob, sizeof blob, seed, 4);
    EK_CHECK_OK(ek_vault_group_put(v, gid, sizeof gid, blob, sizeof blob));
    for (i = 0; i < VT_N_MESSAGES; i++) {
        ek_vault_message m;
        uint64_t index = 99;
        msg_fields(&m, a, b, body, sizeof a, seed, i);
        EK_CHECK_OK(ek_vault_msg_append(v, &index, &m));
        EK_CHECK(index == i);
    }
    for (i = 0; i < VT_N_OUTBOX; i++) {
        ek_vault_outbox_item it;
        uint64_t seq = 99;
        outbox_fields(&it, a, b, body, sizeof a, seed, i);
        EK_CHECK_OK(ek_vault_outbox_push(v, &seq, &it));
        EK_CHECK(seq == i);
    }
    (void)snprintf(a, sizeof a, "draft-%u", (unsigned)seed);
    (void)snprintf(b, sizeof b, "draft canary text %u", (unsigned)seed);
    EK_CHECK_OK(ek_vault_kv_put(v, "app.drafts", (const uint8_t *)a, strlen(a), (const uint8_t *)b,
                                strlen(b)));
    ek_wipe(&id, sizeof id);
}

/* ---------------------------------------------------------------------------
 * Checking back.
 */
static void tally(vt_result *res, int rc, int equal)
{
    if (rc == EK_OK) {
        if (equal)
            res->same++;
        else
            res->wrong++;
        return;
    }
    res->errors++;
    res->last_error = rc;
    if (rc != EK_ERR_VAULT_CORRUPT && rc != EK_ERR_VAULT_NOT_FOUND)
        res->bad_errors++;
}

struct msg_ctx {
    uint32_t seed;
    unsigned seen, wrong;
};

static int msg_equal(const ek_vault_message *got, uint32_t seed)
{
    char a[300], b[300], body[300];
    ek_vault_message m;
    if (got->index >= VT_N_MESSAGES)
        return 0;
    msg_fields(&m, a, b, body, sizeof a, seed, (unsigned)got->index);
    return strcmp(got->conversation, m.conversation) == 0 && strcmp(got->id, m.id) == 0 &&
           got->direction == m.direction && got->status == m.status &&
           got->timestamp_ms == m.timestamp_ms && got->body_len == m.body_len &&
           memcmp(got->body, m.body, m.body_len) == 0;
}

static int msg_cb(void *ctx, const ek_vault_message *m)
{
    struct msg_ctx *c = ctx;
    if (!msg_equal(m, c->seed))
        c->wrong++;
    c->seen++;
    return EK_OK;
}

struct outbox_ctx {
    uint32_t seed;
    unsigned seen, wrong;
    uint64_t last_seq;
};

static int outbox_cb(void *ctx, const ek_vault_outbox_item *got)
{
    struct outbox_ctx *c = ctx;
    char a[300], b[300], payload[300];
    ek_vault_outbox_item it;
    if (got->seq >= VT_N_OUTBOX || (c->seen > 0 && got->seq <= c->last_seq)) {
        c->wrong++;
    } else {
        outbox_fields(&it, a, b, payload, sizeof a, c->seed, (unsigned)got->seq);
        if (strcmp(got->peer_id, it.peer_id) != 0 || strcmp(got->msg_id, it.msg_id) != 0 ||
            got->payload_len != it.payload_len ||
            memcmp(got->payload, it.payload, it.payload_len) != 0 || got->queued_ms != it.queued_ms)
            c->wrong++;
    }
    c->last_seq = got->seq;
    c->seen++;
    return EK_OK;
}

struct contact_ctx {
    uint32_t seed;
    unsigned seen, wrong;
};

static int contact_cb(void *ctx, const ek_vault_contact *got)
{
    struct contact_ctx *c = ctx;
    ek_vault_contact want;
    int k, found = 0;
    for (k = 0; k < 2; k++) {
        make_contact(&want, c->seed, k);
        if (contact_equal(&want, got))
            found = 1;
    }
    if (!found)
        c->wrong++;
    c->seen++;
    return EK_OK;
}

struct setting_ctx {
    uint32_t seed;
    unsigned seen, wrong;
};

static int setting_cb(void *ctx, const char *key, const char *value)
{
    struct setting_ctx *c = ctx;
    char a[300], b[300];
    int k, found = 0;
    for (k = 0; k < SETTING_COUNT; k++) {
        make_setting(a, b, sizeof a, c->seed, k);
        if (strcmp(a, key) == 0 && strcmp(b, value) == 0)
            found = 1;
    }
    if (!found)
        c->wrong++;
    c->seen++;
    return EK_OK;
}

struct group_ctx {
    uint32_t seed;
    unsigned seen, wrong;
};

static int group_cb(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    struct group_ctx *c = ctx;
    uint8_t gid[16], blob[VT_BLOB_LEN];
    vt_blob(gid, sizeof gid, c->seed, 3);
    vt_blob(blob, sizeof blob, c->seed, 4);
    if (key_len != sizeof gid || memcmp(key, gid, sizeof gid) != 0 || val_len != sizeof blob ||
        memcmp(val, blob, sizeof blob) != 0)
        c->wrong++;
    c->seen++;
    return EK_OK;
}

static void list_tally(vt_result *res, int rc, unsigned seen, unsigned wrong, unsigned want)
{
    if (rc != EK_OK) {
        tally(res, rc, 0);
        return;
    }
    res->wrong += wrong;
    if (seen - wrong == want)
        res->same++;
    else if (wrong == 0)
        tally(res, EK_ERR_VAULT_NOT_FOUND, 0); /* rows missing: a clean loss */
}

void vt_verify(ek_vault *v, uint32_t seed, vt_result *res)
{
    ek_identity id, want_id;
    ek_vault_contact c, want_c;
    char a[300], b[300], val[300];
    uint8_t blob[VT_BLOB_LEN], gid[16], *got = NULL;
    size_t got_len = 0;
    unsigned i;
    int k, rc;

    memset(res, 0, sizeof *res);
    make_identity(&want_id, seed);
    rc = ek_vault_identity_get(v, &id);
    tally(res, rc, rc == EK_OK && identity_equal(&id, &want_id));

    for (k = 0; k < SETTING_COUNT; k++) {
        size_t len = 0;
        make_setting(a, b, sizeof a, seed, k);
        rc = ek_vault_setting_get(v, val, sizeof val, &len, a);
        tally(res, rc, rc == EK_OK && strcmp(val, b) == 0 && len == strlen(b));
    }
    {
        struct setting_ctx sc = {seed, 0, 0};
        rc = ek_vault_setting_list(v, setting_cb, &sc);
        list_tally(res, rc, sc.seen, sc.wrong, SETTING_COUNT);
    }
    for (k = 0; k < 2; k++) {
        make_contact(&want_c, seed, k);
        rc = ek_vault_contact_get(v, &c, want_c.peer_id);
        tally(res, rc, rc == EK_OK && contact_equal(&c, &want_c));
    }
    {
        struct contact_ctx cc = {seed, 0, 0};
        rc = ek_vault_contact_list(v, contact_cb, &cc);
        list_tally(res, rc, cc.seen, cc.wrong, 2);
    }

    vt_blob(blob, sizeof blob, seed, 1);
    (void)snprintf(a, sizeof a, "peer-alice-%u", (unsigned)seed);
    rc = ek_vault_session_get(v, &got, &got_len, a);
    tally(res, rc, rc == EK_OK && got_len == sizeof blob && memcmp(got, blob, got_len) == 0);
    ek_vault_free(NULL, got, got_len);
    got = NULL;
    vt_blob(blob, 100, seed, 2);
    (void)snprintf(a, sizeof a, "peer-bob-%u", (unsigned)seed);
    rc = ek_vault_session_get(v, &got, &got_len, a);
    tally(res, rc, rc == EK_OK && got_len == 100 && memcmp(got, blob, got_len) == 0);
    ek_vault_free(NULL, got, got_len);
    got = NULL;

    vt_blob(gid, sizeof gid, seed, 3);
    vt_blob(blob, sizeof blob, seed, 4);
    rc = ek_vault_group_get(v, &got, &got_len, gid, sizeof gid);
    tally(res, rc, rc == EK_OK && got_len == sizeof blob && memcmp(got, blob, got_len) == 0);
    ek_vault_free(NULL, got, got_len);
    got = NULL;
    {
        struct group_ctx gc = {seed, 0, 0};
        rc = ek_vault_group_list(v, group_cb, &gc);
        list_tally(res, rc, gc.seen, gc.wrong, 1);
    }

    (void)snprintf(a, sizeof a, "peer-alice-%u", (unsigned)seed);
    {
        struct msg_ctx mc = {seed, 0, 0};
        rc = ek_vault_msg_list(v, a, 0, 1000, msg_cb, &mc);
        list_tally(res, rc, mc.seen, mc.wrong, VT_N_MESSAGES);
    }
    for (i = 0; i < VT_N_MESSAGES; i++) {
        struct msg_ctx mc = {seed, 0, 0};
        (void)snprintf(b, sizeof b, "msg-%u-%u", (unsigned)seed, i);
        rc = ek_vault_msg_get(v, a, b, msg_cb, &mc);
        tally(res, rc, rc == EK_OK && mc.seen == 1 && mc.wrong == 0);
    }
    {
        struct outbox_ctx oc = {seed, 0, 0, 0};
        (void)snprintf(a, sizeof a, "peer-bob-%u", (unsigned)seed);
        rc = ek_vault_outbox_list(v, a, outbox_cb, &oc);
        list_tally(res, rc, oc.seen, oc.wrong, VT_N_OUTBOX);
    }
    (void)snprintf(a, sizeof a, "draft-%u", (unsigned)seed);
    (void)snprintf(b, sizeof b, "draft canary text %u", (unsigned)seed);
    rc = ek_vault_kv_get(v, &got, &got_len, "app.drafts", (const uint8_t *)a, strlen(a));
    tally(res, rc, rc == EK_OK && got_len == strlen(b) && memcmp(got, b, got_len) == 0);
    ek_vault_free(NULL, got, got_len);
    ek_wipe(&id, sizeof id);
    ek_wipe(&want_id, sizeof want_id);
}
