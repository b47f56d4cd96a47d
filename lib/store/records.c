/*
 * records.c: the generic key/value layer and the typed records on top of
 * it: identity, settings, contacts, session and MLS group states
 * (docs/vault.md §4). Each call is one transaction (or a savepoint inside
 * ek_vault_begin).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "store/vault_internal.h"

static const char identity_id[] = "identity";
static const char reserved_ns[] = "ek.";

/* One record written in its own transaction. */
static int put_one(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len,
                   const uint8_t *id, size_t id_len, const uint8_t *body, size_t body_len)
{
    int rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    return vault_op_end(
        v, vault_rec_put(v, VAULT_UPSERT, kind, group, group_len, id, id_len, 0, body, body_len));
}

static int delete_one(ek_vault *v, uint8_t kind, const uint8_t *group, size_t group_len,
                      const uint8_t *id, size_t id_len)
{
    int rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    return vault_op_end(v, vault_rec_delete(v, kind, group, group_len, id, id_len));
}

/* Read one record's body into a fresh buffer. */
static int get_blob(ek_vault *v, uint8_t **out, size_t *out_len, uint8_t kind, const uint8_t *group,
                    size_t group_len, const uint8_t *id, size_t id_len)
{
    vault_rec r;
    int rc;
    *out = NULL;
    *out_len = 0;
    rc = vault_rec_get(v, &r, kind, group, group_len, id, id_len);
    if (rc != EK_OK)
        return rc;
    rc = vault_dup(v, out, r.body, r.body_len);
    if (rc == EK_OK)
        *out_len = r.body_len;
    vault_rec_release(v, &r);
    return rc;
}

static int check_blob_args(const uint8_t *p, size_t len)
{
    if (p == NULL && len > 0)
        return EK_ERR_INVALID_ARG;
    if (len > EK_VAULT_BLOB_MAX)
        return EK_ERR_TOO_LARGE;
    return EK_OK;
}

/* ---------------------------------------------------------------------------
 * Generic key/value.
 */
static int check_ns(const char *ns, size_t *len, int allow_reserved)
{
    int rc = vault_id_len(ns, len);
    if (rc != EK_OK)
        return rc;
    if (!allow_reserved && *len >= sizeof reserved_ns - 1 &&
        memcmp(ns, reserved_ns, sizeof reserved_ns - 1) == 0)
        return EK_ERR_INVALID_ARG;
    return EK_OK;
}

static int check_key(const uint8_t *key, size_t key_len)
{
    if (key == NULL || key_len == 0)
        return EK_ERR_INVALID_ARG;
    if (key_len > EK_VAULT_ID_MAX)
        return EK_ERR_TOO_LARGE;
    return EK_OK;
}

int ek_vault_kv_put(ek_vault *v, const char *ns, const uint8_t *key, size_t key_len,
                    const uint8_t *val, size_t val_len)
{
    size_t ns_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = check_ns(ns, &ns_len, 0);
    if (rc == EK_OK)
        rc = check_key(key, key_len);
    if (rc == EK_OK)
        rc = check_blob_args(val, val_len);
    if (rc != EK_OK)
        return rc;
    return put_one(v, VK_KV, (const uint8_t *)ns, ns_len, key, key_len, val, val_len);
}

int ek_vault_kv_get(ek_vault *v, uint8_t **val, size_t *val_len, const char *ns, const uint8_t *key,
                    size_t key_len)
{
    size_t ns_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && (val == NULL || val_len == NULL))
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = check_ns(ns, &ns_len, 0);
    if (rc == EK_OK)
        rc = check_key(key, key_len);
    if (rc != EK_OK)
        return rc;
    return get_blob(v, val, val_len, VK_KV, (const uint8_t *)ns, ns_len, key, key_len);
}

int ek_vault_kv_delete(ek_vault *v, const char *ns, const uint8_t *key, size_t key_len)
{
    size_t ns_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = check_ns(ns, &ns_len, 0);
    if (rc == EK_OK)
        rc = check_key(key, key_len);
    if (rc != EK_OK)
        return rc;
    return delete_one(v, VK_KV, (const uint8_t *)ns, ns_len, key, key_len);
}

struct kv_list_ctx {
    ek_vault_kv_fn fn;
    void *ctx;
};

static int kv_list_cb(void *ctx, const vault_rec *r)
{
    const struct kv_list_ctx *c = ctx;
    return c->fn(c->ctx, r->id, r->id_len, r->body, r->body_len);
}

int ek_vault_kv_list(ek_vault *v, const char *ns, ek_vault_kv_fn fn, void *ctx)
{
    struct kv_list_ctx c = {fn, ctx};
    size_t ns_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && fn == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = check_ns(ns, &ns_len, 0);
    if (rc != EK_OK)
        return rc;
    return vault_rec_list(v, VK_KV, (const uint8_t *)ns, ns_len, 0, 0, kv_list_cb, &c);
}

/* ---------------------------------------------------------------------------
 * Identity: seed (32) || Signal public (33) || Signal private (32) ||
 * u32 registration id.
 */
#define IDENTITY_LEN (EK_ED25519_SEED_LEN + EK_RATCHET_PUBLIC_LEN + EK_RATCHET_PRIVATE_LEN + 4)

int ek_vault_identity_put(ek_vault *v, const ek_identity *id)
{
    uint8_t body[IDENTITY_LEN];
    ek_writer w;
    int rc = vault_check(v);
    if (rc == EK_OK && id == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    ek_writer_init_fixed(&w, body, sizeof body);
    (void)ek_write_bytes(&w, id->seed, EK_ED25519_SEED_LEN);
    (void)ek_write_bytes(&w, id->signal.key.pub, EK_RATCHET_PUBLIC_LEN);
    (void)ek_write_bytes(&w, id->signal.key.priv, EK_RATCHET_PRIVATE_LEN);
    (void)ek_write_u32(&w, id->signal.registration_id);
    rc = put_one(v, VK_IDENTITY, NULL, 0, (const uint8_t *)identity_id, sizeof identity_id - 1,
                 body, sizeof body);
    ek_wipe(body, sizeof body);
    return rc;
}

int ek_vault_identity_get(ek_vault *v, ek_identity *id)
{
    vault_rec r;
    ek_reader rd;
    int rc = vault_check(v);
    if (rc == EK_OK && id == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    memset(id, 0, sizeof *id);
    rc = vault_rec_get(v, &r, VK_IDENTITY, NULL, 0, (const uint8_t *)identity_id,
                       sizeof identity_id - 1);
    if (rc != EK_OK)
        return rc;
    ek_reader_init(&rd, r.body, r.body_len);
    (void)ek_read_bytes(&rd, id->seed, EK_ED25519_SEED_LEN);
    (void)ek_read_bytes(&rd, id->signal.key.pub, EK_RATCHET_PUBLIC_LEN);
    (void)ek_read_bytes(&rd, id->signal.key.priv, EK_RATCHET_PRIVATE_LEN);
    (void)ek_read_u32(&rd, &id->signal.registration_id);
    if (ek_reader_finish(&rd) != EK_OK) {
        ek_wipe(id, sizeof *id);
        rc = EK_ERR_VAULT_CORRUPT;
    }
    vault_rec_release(v, &r);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Settings.
 */
int ek_vault_setting_set(ek_vault *v, const char *key, const char *value)
{
    size_t key_len = 0, val_len;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(key, &key_len);
    if (rc == EK_OK && value == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    val_len = strnlen(value, EK_VAULT_SETTING_MAX + 1);
    if (val_len > EK_VAULT_SETTING_MAX)
        return EK_ERR_TOO_LARGE;
    return put_one(v, VK_SETTING, NULL, 0, (const uint8_t *)key, key_len, (const uint8_t *)value,
                   val_len);
}

int ek_vault_setting_get(ek_vault *v, char *out, size_t cap, size_t *len, const char *key)
{
    vault_rec r;
    size_t key_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && (out == NULL || cap == 0))
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(key, &key_len);
    if (rc != EK_OK)
        return rc;
    out[0] = 0;
    rc = vault_rec_get(v, &r, VK_SETTING, NULL, 0, (const uint8_t *)key, key_len);
    if (rc != EK_OK)
        return rc;
    if (r.body_len >= cap) {
        rc = EK_ERR_TOO_LARGE;
    } else {
        memcpy(out, r.body, r.body_len);
        out[r.body_len] = 0;
        if (len != NULL)
            *len = r.body_len;
    }
    vault_rec_release(v, &r);
    return rc;
}

int ek_vault_setting_delete(ek_vault *v, const char *key)
{
    size_t key_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(key, &key_len);
    if (rc != EK_OK)
        return rc;
    return delete_one(v, VK_SETTING, NULL, 0, (const uint8_t *)key, key_len);
}

struct setting_list_ctx {
    ek_vault_setting_fn fn;
    void *ctx;
};

static int setting_list_cb(void *ctx, const vault_rec *r)
{
    const struct setting_list_ctx *c = ctx;
    char key[EK_VAULT_ID_MAX + 1];
    int rc;
    if (r->id_len > EK_VAULT_ID_MAX || r->body_len > EK_VAULT_SETTING_MAX)
        return EK_ERR_VAULT_CORRUPT;
    memcpy(key, r->id, r->id_len);
    key[r->id_len] = 0;
    /* The body is the end of the opened payload, which has a NUL after. */
    rc = c->fn(c->ctx, key, (const char *)r->body);
    ek_wipe(key, sizeof key);
    return rc;
}

int ek_vault_setting_list(ek_vault *v, ek_vault_setting_fn fn, void *ctx)
{
    struct setting_list_ctx c = {fn, ctx};
    int rc = vault_check(v);
    if (rc == EK_OK && fn == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    return vault_rec_list(v, VK_SETTING, NULL, 0, 0, 0, setting_list_cb, &c);
}

/* ---------------------------------------------------------------------------
 * Contacts: u16 |nickname| || nickname || u8 flags (1: identity key known,
 * 2: verified) || identity key (32, zero when unknown) || u64 added ||
 * u64 last seen.
 */
#define CONTACT_HAS_KEY  1u
#define CONTACT_VERIFIED 2u

static int contact_encode(ek_writer *w, const ek_vault_contact *c, size_t nick_len)
{
    static const uint8_t zero[EK_ED25519_PUBLIC_LEN];
    uint8_t flags = (uint8_t)((c->has_identity_key ? CONTACT_HAS_KEY : 0) |
                              (c->verified ? CONTACT_VERIFIED : 0));
    (void)ek_write_u16(w, (uint16_t)nick_len);
    (void)ek_write_bytes(w, c->nickname, nick_len);
    (void)ek_write_u8(w, flags);
    (void)ek_write_bytes(w, c->has_identity_key ? c->identity_key : zero, EK_ED25519_PUBLIC_LEN);
    (void)ek_write_u64(w, c->added_ms);
    (void)ek_write_u64(w, c->last_seen_ms);
    return w->err;
}

static int contact_decode(ek_vault_contact *c, const vault_rec *r)
{
    ek_reader rd;
    uint16_t nick_len = 0;
    uint8_t flags = 0;
    memset(c, 0, sizeof *c);
    if (r->id_len > EK_VAULT_ID_MAX)
        return EK_ERR_VAULT_CORRUPT;
    memcpy(c->peer_id, r->id, r->id_len);
    ek_reader_init(&rd, r->body, r->body_len);
    (void)ek_read_u16(&rd, &nick_len);
    if (nick_len > EK_VAULT_NICK_MAX)
        return EK_ERR_VAULT_CORRUPT;
    (void)ek_read_bytes(&rd, (uint8_t *)c->nickname, nick_len);
    (void)ek_read_u8(&rd, &flags);
    (void)ek_read_bytes(&rd, c->identity_key, EK_ED25519_PUBLIC_LEN);
    (void)ek_read_u64(&rd, &c->added_ms);
    (void)ek_read_u64(&rd, &c->last_seen_ms);
    if (ek_reader_finish(&rd) != EK_OK || (flags & ~(CONTACT_HAS_KEY | CONTACT_VERIFIED)) != 0) {
        memset(c, 0, sizeof *c);
        return EK_ERR_VAULT_CORRUPT;
    }
    c->nickname[nick_len] = 0;
    c->has_identity_key = (flags & CONTACT_HAS_KEY) != 0;
    c->verified = (flags & CONTACT_VERIFIED) != 0;
    return EK_OK;
}

/* Write c (validated) inside an open operation. */
static int contact_write(ek_vault *v, const ek_vault_contact *c)
{
    uint8_t body[2 + EK_VAULT_NICK_MAX + 1 + EK_ED25519_PUBLIC_LEN + 16];
    size_t id_len = 0, nick_len;
    ek_writer w;
    int rc = vault_id_len(c->peer_id, &id_len);
    if (rc != EK_OK)
        return rc;
    nick_len = strnlen(c->nickname, EK_VAULT_NICK_MAX + 1);
    if (nick_len > EK_VAULT_NICK_MAX)
        return EK_ERR_INVALID_ARG;
    ek_writer_init_fixed(&w, body, sizeof body);
    rc = contact_encode(&w, c, nick_len);
    if (rc == EK_OK)
        rc = vault_rec_put(v, VAULT_UPSERT, VK_CONTACT, NULL, 0, (const uint8_t *)c->peer_id,
                           id_len, 0, body, w.len);
    ek_wipe(body, sizeof body);
    return rc;
}

int ek_vault_contact_put(ek_vault *v, const ek_vault_contact *c)
{
    size_t id_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && c == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(c->peer_id, &id_len);
    if (rc == EK_OK && strnlen(c->nickname, EK_VAULT_NICK_MAX + 1) > EK_VAULT_NICK_MAX)
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    return vault_op_end(v, contact_write(v, c));
}

static int contact_read(ek_vault *v, ek_vault_contact *c, const char *peer_id, size_t id_len)
{
    vault_rec r;
    int rc = vault_rec_get(v, &r, VK_CONTACT, NULL, 0, (const uint8_t *)peer_id, id_len);
    if (rc != EK_OK)
        return rc;
    rc = contact_decode(c, &r);
    vault_rec_release(v, &r);
    return rc;
}

int ek_vault_contact_get(ek_vault *v, ek_vault_contact *c, const char *peer_id)
{
    size_t id_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && c == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &id_len);
    if (rc != EK_OK)
        return rc;
    rc = contact_read(v, c, peer_id, id_len);
    if (rc != EK_OK)
        memset(c, 0, sizeof *c);
    return rc;
}

int ek_vault_contact_delete(ek_vault *v, const char *peer_id)
{
    size_t id_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &id_len);
    if (rc != EK_OK)
        return rc;
    return delete_one(v, VK_CONTACT, NULL, 0, (const uint8_t *)peer_id, id_len);
}

/* Read, change one field, rewrite: field 0 verified, 1 last seen. */
static int contact_update(ek_vault *v, const char *peer_id, int field, uint64_t value)
{
    ek_vault_contact c;
    size_t id_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &id_len);
    if (rc != EK_OK)
        return rc;
    rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    rc = contact_read(v, &c, peer_id, id_len);
    if (rc == EK_OK) {
        if (field == 0)
            c.verified = value != 0;
        else
            c.last_seen_ms = value;
        rc = contact_write(v, &c);
    }
    ek_wipe(&c, sizeof c);
    return vault_op_end(v, rc);
}

int ek_vault_contact_set_verified(ek_vault *v, const char *peer_id, int verified)
{
    return contact_update(v, peer_id, 0, verified != 0);
}

int ek_vault_contact_set_last_seen(ek_vault *v, const char *peer_id, uint64_t last_seen_ms)
{
    return contact_update(v, peer_id, 1, last_seen_ms);
}

struct contact_array {
    const ek_vault *v;
    ek_vault_contact *items;
    size_t n, cap;
};

static int contact_collect(void *ctx, const vault_rec *r)
{
    struct contact_array *a = ctx;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        ek_vault_contact *p =
            ek_realloc(a->v->alloc, a->items, a->cap * sizeof *p, cap * sizeof *p);
        if (p == NULL)
            return EK_ERR_NOMEM;
        a->items = p;
        a->cap = cap;
    }
    return contact_decode(&a->items[a->n++], r);
}

static int contact_cmp(const void *a, const void *b)
{
    return strcmp(((const ek_vault_contact *)a)->peer_id, ((const ek_vault_contact *)b)->peer_id);
}

int ek_vault_contact_list(ek_vault *v, ek_vault_contact_fn fn, void *ctx)
{
    struct contact_array a = {v, NULL, 0, 0};
    size_t i;
    int rc = vault_check(v);
    if (rc == EK_OK && fn == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    rc = vault_rec_list(v, VK_CONTACT, NULL, 0, 0, 0, contact_collect, &a);
    if (rc == EK_OK && a.n > 1)
        qsort(a.items, a.n, sizeof a.items[0], contact_cmp);
    for (i = 0; rc == EK_OK && i < a.n; i++)
        rc = fn(ctx, &a.items[i]);
    if (a.items != NULL) {
        ek_wipe(a.items, a.cap * sizeof a.items[0]);
        ek_free(v->alloc, a.items, a.cap * sizeof a.items[0]);
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Session and MLS group states.
 */
int ek_vault_session_put(ek_vault *v, const char *peer_id, const uint8_t *state, size_t len)
{
    size_t id_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &id_len);
    if (rc == EK_OK)
        rc = check_blob_args(state, len);
    if (rc != EK_OK)
        return rc;
    return put_one(v, VK_SESSION, NULL, 0, (const uint8_t *)peer_id, id_len, state, len);
}

int ek_vault_session_get(ek_vault *v, uint8_t **state, size_t *len, const char *peer_id)
{
    size_t id_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && (state == NULL || len == NULL))
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &id_len);
    if (rc != EK_OK)
        return rc;
    return get_blob(v, state, len, VK_SESSION, NULL, 0, (const uint8_t *)peer_id, id_len);
}

int ek_vault_session_delete(ek_vault *v, const char *peer_id)
{
    size_t id_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &id_len);
    if (rc != EK_OK)
        return rc;
    return delete_one(v, VK_SESSION, NULL, 0, (const uint8_t *)peer_id, id_len);
}

int ek_vault_group_put(ek_vault *v, const uint8_t *group_id, size_t id_len, const uint8_t *state,
                       size_t len)
{
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = check_key(group_id, id_len);
    if (rc == EK_OK)
        rc = check_blob_args(state, len);
    if (rc != EK_OK)
        return rc;
    return put_one(v, VK_GROUP, NULL, 0, group_id, id_len, state, len);
}

int ek_vault_group_get(ek_vault *v, uint8_t **state, size_t *len, const uint8_t *group_id,
                       size_t id_len)
{
    int rc = vault_check(v);
    if (rc == EK_OK && (state == NULL || len == NULL))
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = check_key(group_id, id_len);
    if (rc != EK_OK)
        return rc;
    return get_blob(v, state, len, VK_GROUP, NULL, 0, group_id, id_len);
}

int ek_vault_group_delete(ek_vault *v, const uint8_t *group_id, size_t id_len)
{
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = check_key(group_id, id_len);
    if (rc != EK_OK)
        return rc;
    return delete_one(v, VK_GROUP, NULL, 0, group_id, id_len);
}

int ek_vault_group_list(ek_vault *v, ek_vault_kv_fn fn, void *ctx)
{
    struct kv_list_ctx c = {fn, ctx};
    int rc = vault_check(v);
    if (rc == EK_OK && fn == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    return vault_rec_list(v, VK_GROUP, NULL, 0, 0, 0, kv_list_cb, &c);
}
