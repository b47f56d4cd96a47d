/*
 * registry.c: which client holds which peer ID, and who is still alive.
 *
 * Registered clients sit in a list ordered by their last HEARTBEAT, oldest
 * first: a heartbeat moves its client to the tail, so the liveness sweep
 * (the reference's CheckBrokenConnections) only ever looks at the head and
 * costs nothing per idle client.
 */
#include "broker.h"

#include <string.h>

static const void *client_key(const void *value, size_t *len)
{
    const bk_client *c = value;
    *len = c->id_len;
    return c->id;
}

int bk_registry_init(bk_broker *b)
{
    return bk_table_init(&b->peers, client_key);
}

void bk_registry_free(bk_broker *b)
{
    bk_table_free(&b->peers);
}

bk_client *bk_registry_find(bk_broker *b, const char *id, size_t id_len)
{
    return bk_table_get(&b->peers, id, id_len);
}

static void live_unlink(bk_broker *b, bk_client *c)
{
    if (c->live_prev)
        c->live_prev->live_next = c->live_next;
    else if (b->live_head == c)
        b->live_head = c->live_next;
    if (c->live_next)
        c->live_next->live_prev = c->live_prev;
    else if (b->live_tail == c)
        b->live_tail = c->live_prev;
    c->live_prev = c->live_next = NULL;
}

static void live_append(bk_broker *b, bk_client *c)
{
    c->live_prev = b->live_tail;
    c->live_next = NULL;
    if (b->live_tail)
        b->live_tail->live_next = c;
    else
        b->live_head = c;
    b->live_tail = c;
}

int bk_registry_add(bk_broker *b, bk_client *c)
{
    if (bk_table_put(&b->peers, c))
        return -1;
    c->registered = true;
    live_append(b, c);
    return 0;
}

void bk_registry_remove(bk_broker *b, bk_client *c)
{
    if (!c->registered)
        return;
    bk_table_del(&b->peers, c);
    live_unlink(b, c);
    c->registered = false;
}

/* A HEARTBEAT: the only message that proves liveness, as in the reference. */
void bk_registry_touch(bk_broker *b, bk_client *c, int64_t now_ms)
{
    c->last_ping_ms = now_ms;
    if (c->registered && b->live_tail != c) {
        live_unlink(b, c);
        live_append(b, c);
    }
}

void bk_registry_expire(bk_broker *b, int64_t now_ms)
{
    while (b->live_head && now_ms - b->live_head->last_ping_ms >= b->cfg.alive_timeout_ms) {
        bk_client *c = b->live_head;
        bk_log(BK_LOG_DEBUG, "client %s: no HEARTBEAT for %lld ms, closing", c->id,
               (long long)(now_ms - c->last_ping_ms));
        b->m.alive_timeouts++;
        /* The reference also drops the queue addressed to the id. */
        bk_queue_drop(b, c->id, c->id_len);
        bk_registry_remove(b, c);
        bk_close_after_flush(c, 0);
    }
}
