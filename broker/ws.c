/*
 * ws.c: the WebSocket side of the broker: the handshake checks of
 * {path}peerjs?key=&id=&token=, reassembly of incoming messages, the
 * per-client send queue and closing.
 *
 * lws may only write from a WRITEABLE callback, so every outgoing message
 * goes through the client's queue (bounded by send_buffer_bytes: a client
 * that does not read is dropped instead of growing the broker without
 * limit).
 */
#include "broker.h"

#include <stdlib.h>
#include <string.h>

#include "jscan.h"

#include <enkrypt/ek_crypto.h>

/* The reference's texts (peerjs-server src/enums.ts), kept byte for byte
 * because clients show them to users. */
#define TXT_NO_PARAMS "No id, token, or key supplied to websocket server"
#define TXT_BAD_KEY   "Invalid key provided"
#define TXT_LIMIT     "Server has reached its concurrent user limit"

static bk_broker *broker_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

static void free_out_queue(bk_client *c)
{
    for (bk_msg *m = c->out_head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    c->out_head = c->out_tail = NULL;
    c->out_bytes = 0;
}

int bk_send_msg(bk_broker *b, bk_client *c, bk_msg *m)
{
    if (c->closing) {
        free(m);
        return 0; /* it is going away; nothing to do */
    }
    if (c->out_bytes + m->len > b->cfg.send_buffer_bytes) {
        /* It does not read what it is sent: drop it, as the reference does
         * when a send fails, and let the caller tell the sender. */
        free(m);
        b->m.rejected[BK_REJ_SLOW_CONSUMER]++;
        bk_log(BK_LOG_INFO, "dropping a client that does not read (%zu bytes waiting)",
               c->out_bytes);
        bk_registry_remove(b, c);
        free_out_queue(c);
        c->closing = true;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        return -1;
    }
    if (b->direct_send && !c->out_head && !lws_partial_buffered(c->wsi)) {
        /* The hot path: nothing is waiting for this client, so write now
         * instead of asking for a WRITEABLE callback, which costs two
         * epoll_ctl calls and a loop pass per message. lws keeps whatever
         * the socket does not take and finishes it when the socket is
         * writeable (lws_partial_buffered() then stops further direct
         * writes until it has). */
        size_t len = m->len;
        int n = lws_write(c->wsi, BK_MSG_DATA(m), len, LWS_WRITE_TEXT);
        free(m);
        if (n < (int)len) {
            bk_registry_remove(b, c);
            c->closing = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            return -1;
        }
        return 0;
    }
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    c->out_bytes += m->len;
    lws_callback_on_writable(c->wsi);
    return 0;
}

int bk_send_text(bk_broker *b, bk_client *c, const char *text)
{
    size_t n = strlen(text);
    bk_msg *m = bk_msg_new(n);
    if (!m)
        return -1;
    memcpy(BK_MSG_DATA(m), text, n);
    return bk_send_msg(b, c, m);
}

void bk_close_after_flush(bk_client *c, uint16_t close_code)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_code = close_code;
    lws_callback_on_writable(c->wsi);
}

void bk_send_error(bk_broker *b, bk_client *c, const char *text, uint16_t close_code)
{
    static const char head[] = "{\"type\":\"ERROR\",\"payload\":{\"msg\":";
    size_t tl = strlen(text);
    bk_msg *m = bk_msg_new(sizeof head - 1 + bk_json_escaped_len(text, tl) + 2);
    if (m) {
        char *p = (char *)BK_MSG_DATA(m);
        memcpy(p, head, sizeof head - 1);
        size_t n = sizeof head - 1;
        n += bk_json_escape(p + n, text, tl);
        p[n++] = '}';
        p[n++] = '}';
        m->len = n;
        bk_send_msg(b, c, m);
    }
    if (close_code)
        bk_close_after_flush(c, close_code);
}

/* The query of the upgrade request. A repeated parameter: the last one wins,
 * as observed with the reference. lws has already percent-decoded each
 * name=value fragment. */
typedef struct ws_query {
    char key[sizeof(((bk_config *)0)->key) + 1];
    char id[BK_MAX_ID_LEN + 1];
    char token[BK_MAX_TOKEN_LEN + 1];
    bool key_set, id_set, token_set;
    bool too_long;
} ws_query;

static void read_query(struct lws *wsi, ws_query *q)
{
    char frag[BK_MAX_TOKEN_LEN + 16];
    memset(q, 0, sizeof *q);
    for (int i = 0; i < 64; i++) {
        int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (flen <= 0)
            break;
        if ((size_t)flen >= sizeof frag) {
            q->too_long = true;
            continue;
        }
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if ((size_t)n != strlen(frag)) {
            q->too_long = true; /* an embedded NUL: no valid ID or token has one */
            continue;
        }
        char *eq = strchr(frag, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        char *dst = NULL;
        size_t cap = 0;
        bool *set = NULL;
        if (!strcmp(frag, "key")) {
            dst = q->key, cap = sizeof q->key, set = &q->key_set;
        } else if (!strcmp(frag, "id")) {
            dst = q->id, cap = sizeof q->id, set = &q->id_set;
        } else if (!strcmp(frag, "token")) {
            dst = q->token, cap = sizeof q->token, set = &q->token_set;
        } else {
            continue; /* version and anything else: ignored, as by the reference */
        }
        size_t v_len = strlen(v);
        if (v_len >= cap) {
            q->too_long = true;
            dst[0] = '\0';
        } else {
            memcpy(dst, v, v_len + 1);
        }
        *set = true;
    }
}

/* An ID or token we can put in JSON and a log line: UTF-8, no controls. */
static bool printable_utf8(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return bk_utf8_valid((const unsigned char *)s, strlen(s));
}

static void reject(bk_broker *b, bk_client *c, enum bk_reject why, const char *text)
{
    b->m.rejected[why]++;
    bk_log(BK_LOG_DEBUG, "refusing a connection: %s", bk_reject_name(why));
    if (why == BK_REJ_ID_TAKEN) {
        bk_send_text(b, c, "{\"type\":\"ID-TAKEN\",\"payload\":{\"msg\":\"ID is taken\"}}");
        bk_close_after_flush(c, BK_CLOSE_NO_STATUS);
    } else {
        bk_send_error(b, c, text, BK_CLOSE_NO_STATUS);
    }
}

/* The token is the only proof of ownership of an unauthenticated ID, so it
 * is compared in constant time (for its length): an early-exit compare
 * would let a guesser learn it byte by byte from response timing. */
static bool same_token(const char *held, const char *offered)
{
    size_t n = strlen(held);
    return strlen(offered) == n && ek_ct_equal(held, offered, n);
}

static void establish(bk_broker *b, bk_client *c)
{
    unsigned char addr[16];
    ws_query q;

    b->m.connections++;
    b->m.connections_total++;
    c->counted = true;
    c->last_ping_ms = bk_now_ms();

    bk_limits_client_addr(b, c->wsi, addr);
    if (bk_limits_attach(b, c, addr)) {
        if (b->cfg.log_ips) {
            char ip[64];
            lws_get_peer_simple(c->wsi, ip, sizeof ip);
            bk_log(BK_LOG_INFO, "too many connections from %s", ip);
        }
        reject(b, c, BK_REJ_IP_CONNECTIONS, "Too many connections from your address");
        return;
    }
    if (b->stopping) {
        reject(b, c, BK_REJ_CONCURRENT_LIMIT, "Server is shutting down");
        return;
    }

    read_query(c->wsi, &q);
    /* Handshake checks in the reference's order (research notes §3.1). */
    if (!q.id[0] || !q.token[0] || !q.key[0]) {
        if (q.too_long)
            reject(b, c, BK_REJ_INVALID_ID, "ID or token too long");
        else
            reject(b, c, BK_REJ_MISSING_PARAMS, TXT_NO_PARAMS);
        return;
    }
    if (strcmp(q.key, b->cfg.key) != 0) {
        reject(b, c, BK_REJ_INVALID_KEY, TXT_BAD_KEY);
        return;
    }
    if (!printable_utf8(q.id) || !printable_utf8(q.token)) {
        reject(b, c, BK_REJ_INVALID_ID, "ID or token is not printable UTF-8");
        return;
    }
    size_t id_len = strlen(q.id);
    bool authenticated = false;
    if (bk_auth_required_for(b, q.id, id_len)) {
        enum bk_reject why;
        const char *text;
        if (bk_auth_check(b, q.id, id_len, q.token, bk_wall_ms(), bk_now_ms(), &why, &text)) {
            reject(b, c, why, text);
            return;
        }
        authenticated = true;
    }

    bk_client *holder = bk_registry_find(b, q.id, id_len);
    if (holder) {
        /* Same token (or a fresh signature for an authenticated ID): the
         * owner reconnecting. Unlike the reference, the new socket gets OPEN
         * and the old one is closed, so peer.reconnect() works. */
        if (!authenticated && !same_token(holder->token, q.token)) {
            reject(b, c, BK_REJ_ID_TAKEN, "ID is taken");
            return;
        }
        bk_log(BK_LOG_DEBUG, "client %s: taken over by a new connection", holder->id);
        bk_registry_remove(b, holder);
        bk_close_after_flush(holder, LWS_CLOSE_STATUS_NORMAL);
    } else if (b->peers.count >= b->cfg.concurrent_limit) {
        reject(b, c, BK_REJ_CONCURRENT_LIMIT, TXT_LIMIT);
        return;
    }

    size_t tok_len = strlen(q.token);
    c->id = malloc(id_len + tok_len + 2);
    if (!c->id) {
        reject(b, c, BK_REJ_CONCURRENT_LIMIT, "Server out of memory");
        return;
    }
    memcpy(c->id, q.id, id_len + 1);
    c->token = c->id + id_len + 1;
    memcpy(c->token, q.token, tok_len + 1);
    c->id_len = id_len;
    if (bk_registry_add(b, c)) {
        reject(b, c, BK_REJ_CONCURRENT_LIMIT, "Server out of memory");
        return;
    }
    bk_log(BK_LOG_DEBUG, "client %s: registered", c->id);
    bk_send_text(b, c, "{\"type\":\"OPEN\"}");
    bk_queue_deliver(b, c);
}

static void release(bk_broker *b, bk_client *c)
{
    if (c->registered) {
        bk_log(BK_LOG_DEBUG, "client %s: disconnected", c->id);
        bk_registry_remove(b, c);
    }
    free_out_queue(c);
    free(c->rx);
    c->rx = NULL;
    free(c->id);
    c->id = c->token = NULL;
    bk_limits_detach(b, c);
    if (c->counted) {
        b->m.connections--;
        c->counted = false;
    }
}

/* A piece of an incoming message; relay once the message is complete. */
static int receive(bk_broker *b, bk_client *c, const unsigned char *in, size_t len)
{
    bool first = lws_is_first_fragment(c->wsi);
    bool final = lws_is_final_fragment(c->wsi);
    size_t max = b->cfg.max_message_size;

    if (first) {
        free(c->rx);
        c->rx = NULL;
        c->rx_len = 0;
        c->rx_too_big = false;
    }
    if (c->closing || c->rx_too_big)
        return 0;
    if (c->rx_len + len + lws_remaining_packet_payload(c->wsi) > max) {
        /* The rest would be read only to be thrown away: refuse now. */
        free(c->rx);
        c->rx = NULL;
        c->rx_too_big = true;
        b->m.rejected[BK_REJ_MESSAGE_TOO_BIG]++;
        bk_send_error(b, c, "Message too big", LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
        return 0;
    }
    if (first && final) {
        if (c->registered)
            bk_relay_message(b, c, in, len); /* the common case: no copy */
        return 0;
    }
    unsigned char *rx = realloc(c->rx, c->rx_len + len);
    if (!rx && c->rx_len + len)
        return -1;
    c->rx = rx;
    if (len)
        memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (final) {
        if (c->registered)
            bk_relay_message(b, c, c->rx, c->rx_len);
        free(c->rx);
        c->rx = NULL;
        c->rx_len = 0;
    }
    return 0;
}

static int writeable(bk_client *c)
{
    /* Several messages per callback while the socket takes them: one poll
     * round per message would cost more than the message itself. */
    for (int n = 0; c->out_head && n < 64; n++) {
        if (n && lws_partial_buffered(c->wsi))
            break;
        bk_msg *m = c->out_head;
        if (lws_write(c->wsi, BK_MSG_DATA(m), m->len, LWS_WRITE_TEXT) < (int)m->len)
            return -1;
        c->out_head = m->next;
        if (!c->out_head)
            c->out_tail = NULL;
        c->out_bytes -= m->len;
        free(m);
    }
    if (c->out_head) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (c->closing) {
        /* The reference closes with no status (1005); lws cannot send an
         * empty close frame, so "no status" becomes 1000. PeerJS does not
         * look at the code. */
        lws_close_reason(
            c->wsi, c->close_code ? (enum lws_close_status)c->close_code : LWS_CLOSE_STATUS_NORMAL,
            NULL, 0);
        return -1;
    }
    return 0;
}

/* The WebSocket must be exactly {path}peerjs; anything else is refused
 * before the upgrade, as the reference answers it with 400. */
static int filter_path(bk_broker *b, struct lws *wsi)
{
    char uri[sizeof b->cfg.ws_path + 1];
    int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    if (n <= 0 || strcmp(uri, b->cfg.ws_path) != 0) {
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, NULL);
        return 1;
    }
    return 0;
}

int bk_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    bk_broker *b = broker_of(wsi);
    bk_client *c = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return filter_path(b, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        establish(b, c);
        return 0;
    case LWS_CALLBACK_RECEIVE: return receive(b, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE: return writeable(c);
    case LWS_CALLBACK_CLOSED: release(b, c); return 0;
    default: return 0;
    }
}
