/*
 * metrics.c: the /metrics page in the Prometheus text exposition format
 * (version 0.0.4): one HELP and TYPE line per family, then its samples.
 */
#include "broker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reject_names[BK_REJ_COUNT] = {
    [BK_REJ_MISSING_PARAMS] = "missing_params",
    [BK_REJ_INVALID_KEY] = "invalid_key",
    [BK_REJ_INVALID_ID] = "invalid_id",
    [BK_REJ_ID_TAKEN] = "id_taken",
    [BK_REJ_CONCURRENT_LIMIT] = "concurrent_limit",
    [BK_REJ_IP_CONNECTIONS] = "ip_connections",
    [BK_REJ_AUTH_FAILED] = "auth_failed",
    [BK_REJ_AUTH_REPLAY] = "auth_replay",
    [BK_REJ_RATE_LIMITED] = "rate_limited",
    [BK_REJ_MESSAGE_TOO_BIG] = "message_too_big",
    [BK_REJ_BAD_MESSAGE] = "bad_message",
    [BK_REJ_QUEUE_FULL] = "queue_full",
    [BK_REJ_SLOW_CONSUMER] = "slow_consumer",
};

static const char *const type_names[BK_T_COUNT] = {"OFFER", "ANSWER", "CANDIDATE", "LEAVE",
                                                   "EXPIRE"};

const char *bk_reject_name(enum bk_reject r)
{
    return r < BK_REJ_COUNT ? reject_names[r] : "unknown";
}

const char *bk_mtype_name(enum bk_mtype t)
{
    return t < BK_T_COUNT ? type_names[t] : "unknown";
}

typedef struct out {
    char *buf;
    size_t len, cap;
    int failed;
} out;

static void outf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        /* va_start is just above: a clang-tidy 14 multi-file false positive (llvm-project#40656).
         * NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *p = realloc(o->buf, cap);
        if (!p) {
            o->failed = 1;
            return;
        }
        o->buf = p;
        o->cap = cap;
    }
}

static void family(out *o, const char *name, const char *type, const char *help)
{
    outf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *bk_metrics_render(const bk_broker *b, size_t *len)
{
    const bk_metrics *m = &b->m;
    out o = {malloc(4096), 0, 4096, 0};
    if (!o.buf)
        return NULL;

    family(&o, "enkrypt_broker_connections", "gauge", "Open WebSocket connections.");
    outf(&o, "enkrypt_broker_connections %llu\n", (unsigned long long)m->connections);
    family(&o, "enkrypt_broker_peers", "gauge", "Registered peer IDs.");
    outf(&o, "enkrypt_broker_peers %zu\n", b->peers.count);
    family(&o, "enkrypt_broker_connections_total", "counter", "WebSocket connections accepted.");
    outf(&o, "enkrypt_broker_connections_total %llu\n", (unsigned long long)m->connections_total);
    family(&o, "enkrypt_broker_relayed_messages_total", "counter",
           "Messages relayed to a connected peer, by type.");
    for (int t = 0; t < BK_T_COUNT; t++)
        outf(&o, "enkrypt_broker_relayed_messages_total{type=\"%s\"} %llu\n", type_names[t],
             (unsigned long long)m->relayed[t]);
    family(&o, "enkrypt_broker_relayed_bytes_total", "counter", "Bytes of relayed messages.");
    outf(&o, "enkrypt_broker_relayed_bytes_total %llu\n", (unsigned long long)m->relayed_bytes);
    family(&o, "enkrypt_broker_queued_messages", "gauge",
           "Messages waiting for a peer ID that is not connected.");
    outf(&o, "enkrypt_broker_queued_messages %llu\n", (unsigned long long)m->queued_messages);
    family(&o, "enkrypt_broker_queued_bytes", "gauge", "Bytes held in offline queues.");
    outf(&o, "enkrypt_broker_queued_bytes %llu\n", (unsigned long long)m->queued_bytes);
    family(&o, "enkrypt_broker_queued_messages_total", "counter",
           "Messages put in offline queues.");
    outf(&o, "enkrypt_broker_queued_messages_total %llu\n", (unsigned long long)m->queued_total);
    family(&o, "enkrypt_broker_queue_delivered_messages_total", "counter",
           "Queued messages delivered after the destination registered.");
    outf(&o, "enkrypt_broker_queue_delivered_messages_total %llu\n",
         (unsigned long long)m->delivered_from_queue);
    family(&o, "enkrypt_broker_expired_messages_total", "counter",
           "Queued messages dropped by expire_timeout.");
    outf(&o, "enkrypt_broker_expired_messages_total %llu\n",
         (unsigned long long)m->expired_messages);
    family(&o, "enkrypt_broker_expire_sent_total", "counter", "EXPIRE messages sent to senders.");
    outf(&o, "enkrypt_broker_expire_sent_total %llu\n", (unsigned long long)m->expire_sent);
    family(&o, "enkrypt_broker_heartbeats_total", "counter", "HEARTBEAT messages received.");
    outf(&o, "enkrypt_broker_heartbeats_total %llu\n", (unsigned long long)m->heartbeats);
    family(&o, "enkrypt_broker_ignored_messages_total", "counter",
           "Messages of an unknown type, or with no destination, dropped.");
    outf(&o, "enkrypt_broker_ignored_messages_total %llu\n", (unsigned long long)m->ignored);
    family(&o, "enkrypt_broker_alive_timeouts_total", "counter",
           "Clients disconnected for want of a HEARTBEAT within alive_timeout.");
    outf(&o, "enkrypt_broker_alive_timeouts_total %llu\n", (unsigned long long)m->alive_timeouts);
    family(&o, "enkrypt_broker_rejected_total", "counter",
           "Connections or messages refused, by reason.");
    for (int r = 0; r < BK_REJ_COUNT; r++)
        outf(&o, "enkrypt_broker_rejected_total{reason=\"%s\"} %llu\n", reject_names[r],
             (unsigned long long)m->rejected[r]);
    family(&o, "enkrypt_broker_http_requests_total", "counter", "HTTP requests answered.");
    outf(&o, "enkrypt_broker_http_requests_total %llu\n", (unsigned long long)m->http_requests);
    family(&o, "enkrypt_broker_uptime_seconds", "gauge", "Seconds since the broker started.");
    outf(&o, "enkrypt_broker_uptime_seconds %lld\n",
         (long long)((bk_now_ms() - b->started_ms) / 1000));

    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}
