/*
 * queue.c: messages for peer IDs that are not connected.
 *
 * PeerJS peers often send an OFFER before the callee has registered, so the
 * broker keeps such messages in a FIFO per destination and delivers them
 * right after the destination's OPEN. A queue expires as a whole
 * expire_timeout after its first message (as in the reference); each distinct
 * sender then gets one EXPIRE. Unlike the reference, every queue is bounded
 * in messages and bytes, and all queues together in bytes.
 */
#include "broker.h"

#include <stdlib.h>
#include <string.h>

typedef struct bk_queued {
    struct bk_queued *next;
    bk_msg *msg;
    size_t src_len;
    char src[]; /* NUL-terminated */
} bk_queued;

typedef struct bk_queue {
    struct bk_queue *prev, *next; /* all queues, oldest first */
    bk_queued *head, *tail;
    int64_t created_ms;
    unsigned count;
    size_t bytes;
    size_t dst_len;
    char dst[]; /* NUL-terminated */
} bk_queue;

static const void *queue_key(const void *value, size_t *len)
{
    const bk_queue *q = value;
    *len = q->dst_len;
    return q->dst;
}

int bk_queue_init(bk_broker *b)
{
    return bk_table_init(&b->queues, queue_key);
}

static void queue_unlink(bk_broker *b, bk_queue *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        b->q_head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        b->q_tail = q->prev;
}

/* Remove q from every index and free it; keep_msgs leaves the messages to
 * the caller (who took them off the list). */
static void queue_destroy(bk_broker *b, bk_queue *q)
{
    bk_table_del(&b->queues, q);
    queue_unlink(b, q);
    for (bk_queued *e = q->head, *next; e; e = next) {
        next = e->next;
        free(e->msg);
        free(e);
    }
    b->m.queued_messages -= q->count;
    b->m.queued_bytes -= q->bytes;
    free(q);
}

void bk_queue_free(bk_broker *b)
{
    while (b->q_head)
        queue_destroy(b, b->q_head);
    bk_table_free(&b->queues);
}

int bk_queue_push(bk_broker *b, const char *dst, size_t dst_len, const char *src, size_t src_len,
                  bk_msg *m)
{
    size_t cost = m->len + src_len;
    bk_queue *q = bk_table_get(&b->queues, dst, dst_len);

    if (b->m.queued_bytes + cost + dst_len > b->cfg.queue_total_bytes)
        return -1;
    if (q && (q->count >= b->cfg.queue_max_messages || q->bytes + cost > b->cfg.queue_max_bytes))
        return -1;
    if (!q && (b->cfg.queue_max_messages < 1 || cost + dst_len > b->cfg.queue_max_bytes))
        return -1;

    bk_queued *e = malloc(sizeof *e + src_len + 1);
    if (!e)
        return -1;
    e->next = NULL;
    e->msg = m;
    e->src_len = src_len;
    memcpy(e->src, src, src_len);
    e->src[src_len] = '\0';

    if (!q) {
        q = calloc(1, sizeof *q + dst_len + 1);
        if (!q) {
            free(e);
            return -1;
        }
        q->dst_len = dst_len;
        memcpy(q->dst, dst, dst_len);
        q->created_ms = bk_now_ms();
        q->bytes = dst_len;
        if (bk_table_put(&b->queues, q)) {
            free(q);
            free(e);
            return -1;
        }
        q->prev = b->q_tail;
        if (b->q_tail)
            b->q_tail->next = q;
        else
            b->q_head = q;
        b->q_tail = q;
        b->m.queued_bytes += dst_len;
    }
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->count++;
    q->bytes += cost;
    b->m.queued_messages++;
    b->m.queued_bytes += cost;
    b->m.queued_total++;
    return 0;
}

void bk_queue_deliver(bk_broker *b, bk_client *c)
{
    bk_queue *q = bk_table_get(&b->queues, c->id, c->id_len);
    if (!q)
        return;
    for (bk_queued *e = q->head, *next; e; e = next) {
        next = e->next;
        q->head = next;
        b->m.queued_messages--;
        b->m.queued_bytes -= e->msg->len + e->src_len;
        q->bytes -= e->msg->len + e->src_len;
        q->count--;
        b->m.delivered_from_queue++;
        bk_send_msg(b, c, e->msg); /* takes the message, even on failure */
        free(e);
    }
    q->tail = NULL;
    queue_destroy(b, q);
}

void bk_queue_drop(bk_broker *b, const char *dst, size_t dst_len)
{
    bk_queue *q = bk_table_get(&b->queues, dst, dst_len);
    if (q)
        queue_destroy(b, q);
}

/* One EXPIRE per distinct sender: {"type":"EXPIRE","src":<dst>,"dst":<sender>}. */
static void send_expires(bk_broker *b, bk_queue *q)
{
    for (bk_queued *e = q->head; e; e = e->next) {
        bool seen = false;
        for (bk_queued *p = q->head; p != e; p = p->next)
            if (p->src_len == e->src_len && !memcmp(p->src, e->src, e->src_len))
                seen = true;
        if (seen)
            continue;
        bk_client *sender = bk_registry_find(b, e->src, e->src_len);
        if (!sender)
            continue; /* the sender left too: nothing to tell */
        bk_msg *m = bk_relay_build("EXPIRE", q->dst, q->dst_len, e->src, e->src_len, NULL, 0);
        if (m) {
            b->m.expire_sent++;
            bk_send_msg(b, sender, m);
        }
    }
}

void bk_queue_expire(bk_broker *b, int64_t now_ms)
{
    while (b->q_head && now_ms - b->q_head->created_ms >= b->cfg.expire_timeout_ms) {
        bk_queue *q = b->q_head;
        b->m.expired_messages += q->count;
        send_expires(b, q);
        queue_destroy(b, q);
    }
}
