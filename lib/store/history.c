/*
 * history.c: message history per conversation and the outbox per peer
 * (docs/vault.md §4.3, §4.4).
 *
 * A message is a record of kind VK_MESSAGE grouped by its conversation,
 * at position pos = its index (0, 1, 2...), which is bound into the
 * row's associated data: reordering rows is detected. Its body is
 *   u8 direction || u8 status || u64 timestamp || the message body.
 * A conversation record (VK_CONVERSATION) holds u64 count || u64 last
 * timestamp, for the next index and the list of conversations.
 *
 * The outbox: records of kind VK_OUTBOX grouped by peer, at position seq,
 * body u64 queued_ms || payload; a VK_OUTBOX_PEER record per peer holds
 * the next seq (u64), so sequence numbers only grow.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "store/vault_internal.h"

#define MSG_HEAD_LEN 10

static int valid_msg_fields(int direction, int status)
{
    return (direction == EK_VAULT_INCOMING || direction == EK_VAULT_OUTGOING) &&
           status >= EK_VAULT_MSG_QUEUED && status <= EK_VAULT_MSG_FAILED;
}

static void put_u64(uint8_t b[8], uint64_t x)
{
    int i;
    for (i = 7; i >= 0; i--) {
        b[i] = (uint8_t)x;
        x >>= 8;
    }
}

static uint64_t get_u64(const uint8_t b[8])
{
    uint64_t x = 0;
    int i;
    for (i = 0; i < 8; i++)
        x = x << 8 | b[i];
    return x;
}

/* A counter record: u64 a || u64 b (conversation: count, last timestamp;
 * outbox peer: next seq, 0). Absent: zeros. */
static int counter_get(ek_vault *v, uint64_t *a, uint64_t *b, uint8_t kind, const char *id,
                       size_t id_len)
{
    vault_rec r;
    int rc = vault_rec_get(v, &r, kind, NULL, 0, (const uint8_t *)id, id_len);
    *a = *b = 0;
    if (rc == EK_ERR_VAULT_NOT_FOUND)
        return EK_OK;
    if (rc != EK_OK)
        return rc;
    if (r.body_len != 16) {
        rc = EK_ERR_VAULT_CORRUPT;
    } else {
        *a = get_u64(r.body);
        *b = get_u64(r.body + 8);
    }
    vault_rec_release(v, &r);
    return rc;
}

static int counter_put(ek_vault *v, uint8_t kind, const char *id, size_t id_len, uint64_t a,
                       uint64_t b)
{
    uint8_t body[16];
    put_u64(body, a);
    put_u64(body + 8, b);
    return vault_rec_put(v, VAULT_UPSERT, kind, NULL, 0, (const uint8_t *)id, id_len, 0, body,
                         sizeof body);
}

/* Write a message record: head || body. */
static int msg_write(ek_vault *v, int mode, const char *conv, size_t conv_len, const char *id,
                     size_t id_len, uint64_t pos, int direction, int status, uint64_t ts,
                     const uint8_t *body, size_t body_len)
{
    size_t n = MSG_HEAD_LEN + body_len;
    uint8_t *b = ek_alloc(v->alloc, n);
    int rc;
    if (b == NULL)
        return EK_ERR_NOMEM;
    b[0] = (uint8_t)direction;
    b[1] = (uint8_t)status;
    put_u64(b + 2, ts);
    if (body_len > 0)
        memcpy(b + MSG_HEAD_LEN, body, body_len);
    rc = vault_rec_put(v, mode, VK_MESSAGE, (const uint8_t *)conv, conv_len, (const uint8_t *)id,
                       id_len, pos, b, n);
    ek_wipe(b, n);
    ek_free(v->alloc, b, n);
    return rc;
}

int ek_vault_msg_append(ek_vault *v, uint64_t *index, const ek_vault_message *m)
{
    size_t conv_len = 0, id_len = 0;
    uint64_t count = 0, last = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && m == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(m->conversation, &conv_len);
    if (rc == EK_OK)
        rc = vault_id_len(m->id, &id_len);
    if (rc == EK_OK &&
        (!valid_msg_fields(m->direction, m->status) || (m->body == NULL && m->body_len > 0)))
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK && m->body_len > EK_VAULT_BLOB_MAX)
        rc = EK_ERR_TOO_LARGE;
    if (rc != EK_OK)
        return rc;

    rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    rc = counter_get(v, &count, &last, VK_CONVERSATION, m->conversation, conv_len);
    if (rc == EK_OK) {
        rc = vault_rec_exists(v, VK_MESSAGE, (const uint8_t *)m->conversation, conv_len,
                              (const uint8_t *)m->id, id_len);
        rc = rc == 1 ? EK_ERR_VAULT_EXISTS : rc;
    }
    if (rc == EK_OK)
        rc = msg_write(v, VAULT_INSERT, m->conversation, conv_len, m->id, id_len, count,
                       m->direction, m->status, m->timestamp_ms, m->body, m->body_len);
    if (rc == EK_OK)
        rc = counter_put(v, VK_CONVERSATION, m->conversation, conv_len, count + 1,
                         m->timestamp_ms > last ? m->timestamp_ms : last);
    rc = vault_op_end(v, rc);
    if (rc == EK_OK && index != NULL)
        *index = count;
    return rc;
}

/* Fill an ek_vault_message from a record; id receives the NUL-terminated
 * id. */
static int msg_decode(ek_vault_message *m, char id[EK_VAULT_ID_MAX + 1], const char *conv,
                      const vault_rec *r)
{
    memset(m, 0, sizeof *m);
    if (r->id_len > EK_VAULT_ID_MAX || r->body_len < MSG_HEAD_LEN ||
        !valid_msg_fields(r->body[0], r->body[1]))
        return EK_ERR_VAULT_CORRUPT;
    memcpy(id, r->id, r->id_len);
    id[r->id_len] = 0;
    m->conversation = conv;
    m->id = id;
    m->direction = r->body[0];
    m->status = r->body[1];
    m->timestamp_ms = get_u64(r->body + 2);
    m->body = r->body + MSG_HEAD_LEN;
    m->body_len = r->body_len - MSG_HEAD_LEN;
    m->index = r->pos;
    return EK_OK;
}

int ek_vault_msg_set_status(ek_vault *v, const char *conversation, const char *msg_id, int status)
{
    size_t conv_len = 0, id_len = 0;
    vault_rec r;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(conversation, &conv_len);
    if (rc == EK_OK)
        rc = vault_id_len(msg_id, &id_len);
    if (rc == EK_OK && !valid_msg_fields(EK_VAULT_INCOMING, status))
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    rc = vault_rec_get(v, &r, VK_MESSAGE, (const uint8_t *)conversation, conv_len,
                       (const uint8_t *)msg_id, id_len);
    if (rc == EK_OK) {
        if (r.body_len < MSG_HEAD_LEN || !valid_msg_fields(r.body[0], r.body[1]))
            rc = EK_ERR_VAULT_CORRUPT;
        else
            rc = msg_write(v, VAULT_UPSERT, conversation, conv_len, msg_id, id_len, r.pos,
                           r.body[0], status, get_u64(r.body + 2), r.body + MSG_HEAD_LEN,
                           r.body_len - MSG_HEAD_LEN);
        vault_rec_release(v, &r);
    }
    return vault_op_end(v, rc);
}

int ek_vault_msg_get(ek_vault *v, const char *conversation, const char *msg_id,
                     ek_vault_message_fn fn, void *ctx)
{
    char id[EK_VAULT_ID_MAX + 1];
    size_t conv_len = 0, id_len = 0;
    ek_vault_message m;
    vault_rec r;
    int rc = vault_check(v);
    if (rc == EK_OK && fn == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(conversation, &conv_len);
    if (rc == EK_OK)
        rc = vault_id_len(msg_id, &id_len);
    if (rc != EK_OK)
        return rc;
    rc = vault_rec_get(v, &r, VK_MESSAGE, (const uint8_t *)conversation, conv_len,
                       (const uint8_t *)msg_id, id_len);
    if (rc != EK_OK)
        return rc;
    rc = msg_decode(&m, id, conversation, &r);
    if (rc == EK_OK)
        rc = fn(ctx, &m);
    vault_rec_release(v, &r);
    return rc;
}

int ek_vault_msg_count(ek_vault *v, uint64_t *count, const char *conversation)
{
    size_t conv_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && count == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(conversation, &conv_len);
    if (rc != EK_OK)
        return rc;
    return vault_rec_count(v, count, VK_MESSAGE, (const uint8_t *)conversation, conv_len);
}

struct msg_list_ctx {
    const char *conv;
    ek_vault_message_fn fn;
    void *ctx;
};

static int msg_list_cb(void *ctx, const vault_rec *r)
{
    const struct msg_list_ctx *c = ctx;
    char id[EK_VAULT_ID_MAX + 1];
    ek_vault_message m;
    int rc = msg_decode(&m, id, c->conv, r);
    if (rc == EK_OK)
        rc = c->fn(c->ctx, &m);
    return rc;
}

int ek_vault_msg_list(ek_vault *v, const char *conversation, uint64_t first, uint64_t max,
                      ek_vault_message_fn fn, void *ctx)
{
    struct msg_list_ctx c = {conversation, fn, ctx};
    size_t conv_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && fn == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(conversation, &conv_len);
    if (rc != EK_OK)
        return rc;
    if (max == 0)
        return EK_OK;
    return vault_rec_list(v, VK_MESSAGE, (const uint8_t *)conversation, conv_len, first, max,
                          msg_list_cb, &c);
}

struct conv_list_ctx {
    ek_vault_conversation_fn fn;
    void *ctx;
};

static int conv_list_cb(void *ctx, const vault_rec *r)
{
    const struct conv_list_ctx *c = ctx;
    char id[EK_VAULT_ID_MAX + 1];
    if (r->id_len > EK_VAULT_ID_MAX || r->body_len != 16)
        return EK_ERR_VAULT_CORRUPT;
    memcpy(id, r->id, r->id_len);
    id[r->id_len] = 0;
    return c->fn(c->ctx, id, get_u64(r->body), get_u64(r->body + 8));
}

int ek_vault_conversation_list(ek_vault *v, ek_vault_conversation_fn fn, void *ctx)
{
    struct conv_list_ctx c = {fn, ctx};
    int rc = vault_check(v);
    if (rc == EK_OK && fn == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc != EK_OK)
        return rc;
    return vault_rec_list(v, VK_CONVERSATION, NULL, 0, 0, 0, conv_list_cb, &c);
}

int ek_vault_conversation_delete(ek_vault *v, const char *conversation)
{
    size_t conv_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(conversation, &conv_len);
    if (rc != EK_OK)
        return rc;
    rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    rc = vault_rec_delete_group(v, VK_MESSAGE, (const uint8_t *)conversation, conv_len);
    if (rc == EK_OK) {
        rc = vault_rec_delete(v, VK_CONVERSATION, NULL, 0, (const uint8_t *)conversation, conv_len);
        if (rc == EK_ERR_VAULT_NOT_FOUND)
            rc = EK_OK; /* deleting an empty history is fine */
    }
    return vault_op_end(v, rc);
}

/* ---------------------------------------------------------------------------
 * The outbox.
 */
int ek_vault_outbox_push(ek_vault *v, uint64_t *seq, const ek_vault_outbox_item *item)
{
    size_t peer_len = 0, id_len = 0, n;
    uint64_t next = 0, unused = 0;
    uint8_t *b;
    int rc = vault_check(v);
    if (rc == EK_OK && item == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(item->peer_id, &peer_len);
    if (rc == EK_OK)
        rc = vault_id_len(item->msg_id, &id_len);
    if (rc == EK_OK && item->payload == NULL && item->payload_len > 0)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK && item->payload_len > EK_VAULT_BLOB_MAX)
        rc = EK_ERR_TOO_LARGE;
    if (rc != EK_OK)
        return rc;

    n = 8 + item->payload_len;
    b = ek_alloc(v->alloc, n);
    if (b == NULL)
        return EK_ERR_NOMEM;
    put_u64(b, item->queued_ms);
    if (item->payload_len > 0)
        memcpy(b + 8, item->payload, item->payload_len);

    rc = vault_op_begin(v);
    if (rc == EK_OK) {
        rc = vault_rec_exists(v, VK_OUTBOX, (const uint8_t *)item->peer_id, peer_len,
                              (const uint8_t *)item->msg_id, id_len);
        rc = rc == 1 ? EK_ERR_VAULT_EXISTS : rc;
        if (rc == EK_OK)
            rc = counter_get(v, &next, &unused, VK_OUTBOX_PEER, item->peer_id, peer_len);
        if (rc == EK_OK)
            rc = vault_rec_put(v, VAULT_INSERT, VK_OUTBOX, (const uint8_t *)item->peer_id, peer_len,
                               (const uint8_t *)item->msg_id, id_len, next, b, n);
        if (rc == EK_OK)
            rc = counter_put(v, VK_OUTBOX_PEER, item->peer_id, peer_len, next + 1, 0);
        rc = vault_op_end(v, rc);
    }
    ek_wipe(b, n);
    ek_free(v->alloc, b, n);
    if (rc == EK_OK && seq != NULL)
        *seq = next;
    return rc;
}

struct outbox_list_ctx {
    const char *peer;
    ek_vault_outbox_fn fn;
    void *ctx;
};

static int outbox_list_cb(void *ctx, const vault_rec *r)
{
    const struct outbox_list_ctx *c = ctx;
    char id[EK_VAULT_ID_MAX + 1];
    ek_vault_outbox_item it;
    if (r->id_len > EK_VAULT_ID_MAX || r->body_len < 8)
        return EK_ERR_VAULT_CORRUPT;
    memcpy(id, r->id, r->id_len);
    id[r->id_len] = 0;
    it.peer_id = c->peer;
    it.msg_id = id;
    it.queued_ms = get_u64(r->body);
    it.payload = r->body + 8;
    it.payload_len = r->body_len - 8;
    it.seq = r->pos;
    return c->fn(c->ctx, &it);
}

int ek_vault_outbox_list(ek_vault *v, const char *peer_id, ek_vault_outbox_fn fn, void *ctx)
{
    struct outbox_list_ctx c = {peer_id, fn, ctx};
    size_t peer_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && fn == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &peer_len);
    if (rc != EK_OK)
        return rc;
    return vault_rec_list(v, VK_OUTBOX, (const uint8_t *)peer_id, peer_len, 0, 0, outbox_list_cb,
                          &c);
}

int ek_vault_outbox_count(ek_vault *v, uint64_t *count, const char *peer_id)
{
    size_t peer_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK && count == NULL)
        rc = EK_ERR_INVALID_ARG;
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &peer_len);
    if (rc != EK_OK)
        return rc;
    return vault_rec_count(v, count, VK_OUTBOX, (const uint8_t *)peer_id, peer_len);
}

int ek_vault_outbox_remove(ek_vault *v, const char *peer_id, const char *msg_id)
{
    size_t peer_len = 0, id_len = 0;
    int rc = vault_check(v);
    if (rc == EK_OK)
        rc = vault_id_len(peer_id, &peer_len);
    if (rc == EK_OK)
        rc = vault_id_len(msg_id, &id_len);
    if (rc != EK_OK)
        return rc;
    rc = vault_op_begin(v);
    if (rc != EK_OK)
        return rc;
    return vault_op_end(v, vault_rec_delete(v, VK_OUTBOX, (const uint8_t *)peer_id, peer_len,
                                            (const uint8_t *)msg_id, id_len));
}
