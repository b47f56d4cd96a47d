/*
 * main.c: enkrypt-broker's entry point: settings, the libwebsockets context
 * (one vhost serving HTTP(S) and WS(S) on one port), the periodic sweep of
 * timers, and a clean shutdown on SIGTERM or SIGINT.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "broker.h"

/* How often the liveness, queue-expiry and replay-cache sweeps run. The
 * reference checks liveness every 300 ms and queues every 1000 ms. */
#define SWEEP_INTERVAL_MS 250
/* How long a shutdown waits for queued messages and close frames to go out. */
#define SHUTDOWN_GRACE_MS 2000

static volatile sig_atomic_t signalled;
static struct lws_context *signal_ctx;

static void on_signal(int sig)
{
    (void)sig;
    signalled = 1;
    if (signal_ctx)
        lws_cancel_service(signal_ctx); /* wakes the loop (it writes a pipe) */
}

/* One callback for the one protocol: lws sends both the HTTP requests and the
 * WebSocket upgrades of {path}peerjs here. */
static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    bk_session *s = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED: return bk_ws_callback(wsi, reason, s ? &s->ws : NULL, in, len);
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (!s)
            return 0;
        return bk_http_callback(wsi, reason, &s->http, in, len);
    case LWS_CALLBACK_RAW_RX_FILE: /* the listening socket is readable */
        return bk_listen_accept(lws_context_user(lws_get_context(wsi)),
                                (int)lws_get_socket_fd(wsi));
    case LWS_CALLBACK_RAW_ADOPT_FILE:
    case LWS_CALLBACK_RAW_CLOSE_FILE: return 0;
    default: return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static void sweep(lws_sorted_usec_list_t *sul)
{
    bk_broker *b = lws_container_of(sul, bk_broker, sweep_timer);
    int64_t now = bk_now_ms();
    bk_registry_expire(b, now);
    bk_queue_expire(b, now);
    bk_auth_expire(b, now);
    lws_sul_schedule(b->ctx, 0, &b->sweep_timer, sweep, SWEEP_INTERVAL_MS * LWS_US_PER_MS);
}

static void lws_log_to_ours(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    bk_log(level == LLL_ERR ? BK_LOG_ERROR : BK_LOG_WARN, "lws: %.*s", (int)n, line);
}

static int readable_file(const char *what, const char *path)
{
    if (access(path, R_OK)) {
        fprintf(stderr, "enkrypt-broker: cannot read the %s file '%s'\n", what, path);
        return -1;
    }
    return 0;
}

/* With libev the loop is ours (a "foreign loop" to lws): signals arrive as
 * ev watchers and a short timer ends the loop once shutdown is done. */
static ev_signal ev_sigterm, ev_sigint;
static ev_timer ev_stop_check;
static int64_t shutdown_deadline;
static bk_broker *ev_broker;

static void begin_shutdown(bk_broker *b);

static void ev_stop_check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    if (ev_broker->m.connections == 0 || bk_now_ms() >= shutdown_deadline)
        ev_break(loop, EVBREAK_ALL);
}

static void ev_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    if (ev_broker->stopping)
        return;
    begin_shutdown(ev_broker);
    shutdown_deadline = bk_now_ms() + SHUTDOWN_GRACE_MS;
    ev_timer_init(&ev_stop_check, ev_stop_check_cb, 0.0, 0.05);
    ev_timer_start(loop, &ev_stop_check);
}

/* Tell every client we are going away, after what is already queued. */
static void begin_shutdown(bk_broker *b)
{
    b->stopping = true;
    bk_log(BK_LOG_INFO, "shutting down: closing %llu connections",
           (unsigned long long)b->m.connections);
    for (size_t i = 0; i < b->peers.cap; i++) {
        bk_client *c = b->peers.slots[i].value;
        if (c)
            bk_close_after_flush(c, LWS_CLOSE_STATUS_GOINGAWAY);
    }
}

int main(int argc, char **argv)
{
    static bk_broker broker; /* large (config strings); lives for the process */
    bk_broker *b = &broker;

    bk_config_defaults(&b->cfg);
    int rc = bk_config_parse(&b->cfg, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    if (bk_config_finish(&b->cfg))
        return 2;
    bool tls = b->cfg.sslcert[0] != '\0';
    if (tls && (readable_file("certificate", b->cfg.sslcert) ||
                readable_file("private key", b->cfg.sslkey)))
        return 2;

    bk_log_set_level(b->cfg.log_level);
    lws_set_log_level(LLL_ERR | (b->cfg.log_level >= BK_LOG_WARN ? LLL_WARN : 0), lws_log_to_ours);

    if (bk_registry_init(b) || bk_queue_init(b) || bk_limits_init(b) || bk_auth_init(b)) {
        fprintf(stderr, "enkrypt-broker: out of memory\n");
        return 1;
    }
    b->started_ms = bk_now_ms();

    static const struct lws_protocols protocols_template[] = {
        {"enkrypt-broker", callback, sizeof(bk_session), 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct lws_protocols protocols[2];
    memcpy(protocols, protocols_template, sizeof protocols);
    /* lws keeps a receive buffer of this size per WebSocket and hands a
     * longer message over in pieces (docs/broker.md, "Memory and CPU"). */
    protocols[0].rx_buffer_size = b->cfg.rx_buffer_bytes;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* lws does not listen: listen.c does (see there), and lws serves what
     * it accepts, with TLS when the vhost has certificates. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols;
    info.user = b;
    info.server_string = "enkrypt-broker";
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    struct ev_loop *loop = NULL;
    void *foreign_loops[1];
    if (b->cfg.libev) {
        /* epoll: the cost of a wakeup does not grow with idle connections. */
        loop = ev_default_loop(EVBACKEND_EPOLL);
        if (!loop) {
            fprintf(stderr, "enkrypt-broker: could not start the libev loop\n");
            return 1;
        }
        foreign_loops[0] = loop;
        info.foreign_loops = foreign_loops;
        info.options |= LWS_SERVER_OPTION_LIBEV;
    }
    info.pt_serv_buf_size = 65536; /* one read takes many messages */
    info.max_http_header_data = 4096;
    info.max_http_header_pool = 64;
    info.timeout_secs = 10;
    info.keepalive_timeout = 5;
    if (tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = b->cfg.sslcert;
        info.ssl_private_key_filepath = b->cfg.sslkey;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* Cannot fail: SIGPIPE is a valid signal and SIG_IGN a valid action. */
    (void)signal(SIGPIPE, SIG_IGN);

    int port = b->cfg.port;
    b->listen_fd = bk_listen_open(b->cfg.host, b->cfg.port, &port);
    if (b->listen_fd < 0)
        return 1;
    b->ctx = lws_create_context(&info);
    b->vhost = b->ctx ? lws_get_vhost_by_name(b->ctx, "default") : NULL;
    lws_sock_file_fd_type lfd = {.filefd = b->listen_fd};
    if (!b->vhost ||
        !lws_adopt_descriptor_vhost(b->vhost, LWS_ADOPT_RAW_FILE_DESC, lfd, NULL, NULL)) {
        fprintf(stderr, "enkrypt-broker: could not start libwebsockets (are the TLS files "
                        "valid?)\n");
        return 1;
    }
    signal_ctx = b->ctx;

    /* The one line on stdout: tests and scripts read the port from it. */
    printf("enkrypt-broker listening on %s://%s:%d%s (WebSocket %s)\n", tls ? "https" : "http",
           b->cfg.host[0] ? b->cfg.host : "*", port, b->cfg.path, b->cfg.ws_path);
    /* If stdout is gone the broker still serves: the log line below says
     * the same. */
    (void)fflush(stdout);
    bk_log(BK_LOG_INFO, "listening on port %d%s, key '%s', auth %s", port, tls ? " with TLS" : "",
           b->cfg.key,
           b->cfg.auth == BK_AUTH_OFF        ? "off"
           : b->cfg.auth == BK_AUTH_OPTIONAL ? "optional"
                                             : "required");

    lws_sul_schedule(b->ctx, 0, &b->sweep_timer, sweep, SWEEP_INTERVAL_MS * LWS_US_PER_MS);

    if (loop) {
        ev_broker = b;
        ev_signal_init(&ev_sigterm, ev_signal_cb, SIGTERM);
        ev_signal_start(loop, &ev_sigterm);
        ev_signal_init(&ev_sigint, ev_signal_cb, SIGINT);
        ev_signal_start(loop, &ev_sigint);
        ev_run(loop, 0);
    }
    int64_t deadline = 0;
    while (!loop) {
        if (lws_service(b->ctx, 0) < 0)
            break;
        if (signalled && !b->stopping) {
            begin_shutdown(b);
            deadline = bk_now_ms() + SHUTDOWN_GRACE_MS;
        }
        if (b->stopping && (b->m.connections == 0 || bk_now_ms() >= deadline))
            break;
    }

    lws_sul_cancel(&b->sweep_timer);
    lws_context_destroy(b->ctx);
    bk_auth_free(b);
    bk_limits_free(b);
    bk_queue_free(b);
    bk_registry_free(b);
    bk_log(BK_LOG_INFO, "stopped");
    return 0;
}
