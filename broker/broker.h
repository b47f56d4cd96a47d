/*
 * broker.h: the state of enkrypt-broker shared by its modules.
 *
 * The broker is one single-threaded libwebsockets event loop. Everything it
 * knows lives in one struct bk_broker: the configuration, the table of
 * registered peer IDs, the offline queues, the per-IP limits, the replay cache
 * of the authenticated-ID mode and the metrics. Each module owns one part and
 * exposes a few functions here; see docs/broker.md for the behaviour.
 */
#ifndef BK_BROKER_H
#define BK_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "config.h"
#include "table.h"

struct bk_broker;
struct bk_ip;

/* One outgoing WebSocket message: LWS_PRE bytes of headroom that lws needs
 * for the frame header, then len bytes of text. */
typedef struct bk_msg {
    struct bk_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE + len */
} bk_msg;

#define BK_MSG_DATA(m) ((m)->buf + LWS_PRE)

bk_msg *bk_msg_new(size_t len);

/* bk_send_error's close code for "close as the reference would": it sends
 * no status (1005), which lws cannot, so it is 1000 (docs/broker.md). */
#define BK_CLOSE_NO_STATUS 1000

/* The per-request state of an HTTP response being written. */
typedef struct bk_http_req {
    char *body;
    size_t len, off;
} bk_http_req;

/* The per-WebSocket state; lws allocates it as the session's user data. */
typedef struct bk_client {
    struct lws *wsi;
    struct bk_ip *ip;
    char *id; /* NUL-terminated; id and token share one allocation */
    char *token;
    size_t id_len;
    int64_t last_ping_ms;
    /* Liveness list of registered clients, oldest HEARTBEAT first. */
    struct bk_client *live_prev, *live_next;
    bk_msg *out_head, *out_tail;
    size_t out_bytes;
    unsigned char *rx; /* reassembly of a fragmented message */
    size_t rx_len;
    uint8_t strikes;
    bool registered; /* holds its id in the registry */
    bool closing;    /* close once the out queue is flushed */
    bool rx_too_big; /* discard the rest of an oversized message */
    bool counted;    /* counted in connection and per-IP gauges */
    uint16_t close_code;
} bk_client;

/* The session data lws allocates for every connection: an HTTP request
 * and a WebSocket client in separate parts, because lws may deliver an
 * HTTP-level callback on a connection that became a WebSocket. */
typedef struct bk_session {
    bk_http_req http;
    bk_client ws;
} bk_session;

/* Metrics: plain counters, rendered by metrics.c. */
enum bk_reject {
    BK_REJ_MISSING_PARAMS,
    BK_REJ_INVALID_KEY,
    BK_REJ_INVALID_ID,
    BK_REJ_ID_TAKEN,
    BK_REJ_CONCURRENT_LIMIT,
    BK_REJ_IP_CONNECTIONS,
    BK_REJ_AUTH_FAILED,
    BK_REJ_AUTH_REPLAY,
    BK_REJ_RATE_LIMITED,
    BK_REJ_MESSAGE_TOO_BIG,
    BK_REJ_BAD_MESSAGE,
    BK_REJ_QUEUE_FULL,
    BK_REJ_SLOW_CONSUMER,
    BK_REJ_COUNT
};

enum bk_mtype { BK_T_OFFER, BK_T_ANSWER, BK_T_CANDIDATE, BK_T_LEAVE, BK_T_EXPIRE, BK_T_COUNT };

typedef struct bk_metrics {
    uint64_t connections_total;
    uint64_t relayed[BK_T_COUNT];
    uint64_t relayed_bytes;
    uint64_t queued_total;
    uint64_t delivered_from_queue;
    uint64_t expired_messages;
    uint64_t expire_sent;
    uint64_t heartbeats;
    uint64_t ignored;
    uint64_t alive_timeouts;
    uint64_t rejected[BK_REJ_COUNT];
    uint64_t http_requests;
    /* gauges */
    uint64_t connections;
    uint64_t queued_messages;
    uint64_t queued_bytes;
} bk_metrics;

const char *bk_reject_name(enum bk_reject r);
const char *bk_mtype_name(enum bk_mtype t);

typedef struct bk_broker {
    bk_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    int listen_fd;
    bk_table peers;  /* id -> bk_client* (registered) */
    bk_table queues; /* dst id -> struct bk_queue* */
    bk_table ips;    /* 16-byte address -> struct bk_ip* */
    struct bk_client *live_head, *live_tail;
    struct bk_queue *q_head, *q_tail; /* offline queues, oldest first */
    struct bk_auth *auth;
    bk_metrics m;
    lws_sorted_usec_list_t sweep_timer;
    int64_t started_ms;
    bool stopping;
    bool direct_send; /* inside a relay: bk_send_msg may write at once */
} bk_broker;

/* clock.c-free helpers: monotonic and wall time in milliseconds. */
int64_t bk_now_ms(void);
int64_t bk_wall_ms(void);

/* ws.c: the WebSocket protocol callback, and the send/close primitives
 * the relay uses. bk_send_* queue a message and ask lws for a writeable
 * callback; they return -1 if the client's send buffer bound was hit. */
int bk_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len);
int bk_send_msg(bk_broker *b, bk_client *c, bk_msg *m);
int bk_send_text(bk_broker *b, bk_client *c, const char *text);
/* Send {"type":"ERROR","payload":{"msg":text}}; close afterwards if close_code != 0. */
void bk_send_error(bk_broker *b, bk_client *c, const char *text, uint16_t close_code);
/* Flush what is queued, then close with code (0: no status, as the reference). */
void bk_close_after_flush(bk_client *c, uint16_t close_code);

/* listen.c: our own listening socket (see there for why). */
int bk_listen_open(const char *host, int port, int *port_out);
int bk_listen_accept(bk_broker *b, int listen_fd);

/* http.c: the HTTP routes (root, /{key}/id, /{key}/peers, /health, /metrics). */
int bk_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

/* registry.c: registered ids and the liveness list. */
int bk_registry_init(bk_broker *b);
void bk_registry_free(bk_broker *b);
bk_client *bk_registry_find(bk_broker *b, const char *id, size_t id_len);
int bk_registry_add(bk_broker *b, bk_client *c);
void bk_registry_remove(bk_broker *b, bk_client *c);
void bk_registry_touch(bk_broker *b, bk_client *c, int64_t now_ms);
void bk_registry_expire(bk_broker *b, int64_t now_ms);

/* relay.c: one complete message from a registered client. */
void bk_relay_message(bk_broker *b, bk_client *c, const unsigned char *buf, size_t len);
/* Build {"type":T,"src":S,"dst":D[,"payload":P]}. */
bk_msg *bk_relay_build(const char *type, const char *src, size_t src_len, const char *dst,
                       size_t dst_len, const unsigned char *payload, size_t payload_len);
/* A strike against a misbehaving client: ERROR now, disconnect at max_strikes. */
void bk_strike(bk_broker *b, bk_client *c, enum bk_reject why, const char *text);

/* queue.c: messages for ids that are not connected, and their expiry. */
int bk_queue_init(bk_broker *b);
void bk_queue_free(bk_broker *b);
/* 0 queued; -1 refused by a bound (the caller tells the sender). */
int bk_queue_push(bk_broker *b, const char *dst, size_t dst_len, const char *src, size_t src_len,
                  bk_msg *m);
void bk_queue_deliver(bk_broker *b, bk_client *c);
void bk_queue_drop(bk_broker *b, const char *dst, size_t dst_len);
void bk_queue_expire(bk_broker *b, int64_t now_ms);

/* limits.c: per-IP connection counts and message rates. */
int bk_limits_init(bk_broker *b);
void bk_limits_free(bk_broker *b);
/* Attach c to its address; -1 if the address has too many connections. */
int bk_limits_attach(bk_broker *b, bk_client *c, const unsigned char addr[16]);
void bk_limits_detach(bk_broker *b, bk_client *c);
/* true if c may send one more message now. */
bool bk_limits_allow_message(bk_broker *b, bk_client *c, int64_t now_ms);
/* The client's address as 16 bytes (IPv4 mapped into IPv6), honouring proxied. */
void bk_limits_client_addr(const bk_broker *b, struct lws *wsi, unsigned char addr[16]);

/* auth.c: the authenticated-ID mode. */
int bk_auth_init(bk_broker *b);
void bk_auth_free(bk_broker *b);
/* Does this id need a signature under the configured mode? */
bool bk_auth_required_for(const bk_broker *b, const char *id, size_t id_len);
/* 0 if token proves id; else sets *why and *text. */
int bk_auth_check(bk_broker *b, const char *id, size_t id_len, const char *token, int64_t wall_ms,
                  int64_t now_ms, enum bk_reject *why, const char **text);
void bk_auth_expire(bk_broker *b, int64_t now_ms);

/* metrics.c: Prometheus text exposition into a malloc'd buffer. */
char *bk_metrics_render(const bk_broker *b, size_t *len);

/* log.c: one line per event to stderr; never payloads, IPs only if enabled. */
void bk_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bk_log_set_level(int level);
enum { BK_LOG_ERROR = 0, BK_LOG_WARN = 1, BK_LOG_INFO = 2, BK_LOG_DEBUG = 3 };

#endif
