/*
 * enkrypt_netcat.c: enkrypt-netcat, the network layer's demo. It registers
 * with a PeerJS broker and either connects to a peer ID or listens for
 * connections, then pipes stdin to the data channel and the data channel
 * to stdout, like netcat over WebRTC. Used by hand and by the tests (the
 * browser interop test drives it through its stdin and stdout).
 *
 *   enkrypt-netcat --broker ws://127.0.0.1:9000/ --id alice --listen
 *   enkrypt-netcat --broker ws://127.0.0.1:9000/ bob < file
 *
 * Status lines go to stderr, one per event, in a fixed shape tests parse:
 *   READY id=<our id>
 *   OPEN peer=<id> conn=<connectionId> serialization=<raw|json|binary> ping=<0|1>
 *   CLOSED peer=<id> err=<code> (<words>)[: <detail>]
 *   BROKER state=<n> err=<code> (<words>)[: <detail>]
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "ek_net.h"

typedef enum { IN_BYTES, IN_LINES_TEXT, IN_LINES_JSON } input_mode;

typedef struct app {
    GMainLoop *loop;
    ek_net *net;
    const char *peer;
    int listen, echo, once, quiet;
    input_mode mode;
    ek_net_connect_opts opts;
    GPtrArray *conns; /* open connections; stdin goes to the latest */
    ek_net_conn *out; /* the connection we made (connect mode) */
    GIOChannel *in;
    guint in_watch;
    GString *pending; /* a frame refused with WOULD_BLOCK, to retry */
    int pending_kind;
    int stdin_eof;
    int exit_code;
    int connected_once;
    int stopping;
} app;

static void status(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    (void)fprintf(stderr, "%s\n", line);
    (void)fflush(stderr);
    g_free(line);
}

static void watch_stdin(app *a);

static int send_frame(ek_net_conn *c, int kind, const char *data, size_t len)
{
    switch (kind) {
    case IN_LINES_TEXT: return ek_net_conn_send_text(c, data, len);
    case IN_LINES_JSON: return ek_net_conn_send_value(c, data, len);
    default: return ek_net_conn_send(c, (const uint8_t *)data, len);
    }
}

/* stdin goes to one connection: the one we made, or in listen mode the
 * latest one that opened. */
static ek_net_conn *target(app *a)
{
    return a->conns->len > 0 ? g_ptr_array_index(a->conns, a->conns->len - 1) : NULL;
}

/* Send the pending frame; 1 if the connection is full (kept for later). */
static int flush_pending(app *a)
{
    ek_net_conn *c = target(a);
    if (a->pending == NULL || c == NULL)
        return 0;
    int rc = send_frame(c, a->pending_kind, a->pending->str, a->pending->len);
    if (rc == EK_NET_ERR_WOULD_BLOCK)
        return 1;
    if (rc != 0)
        status("WARN send: %s", ek_net_strerror(rc));
    g_string_free(a->pending, TRUE);
    a->pending = NULL;
    return 0;
}

static void finish_input(app *a)
{
    /* stdin is done: close what we opened; exit once it has closed. */
    if (a->out != NULL)
        ek_net_conn_close(a->out);
    else if (!a->listen)
        g_main_loop_quit(a->loop);
}

static gboolean stdin_ready(GIOChannel *ch, GIOCondition cond, gpointer data)
{
    app *a = data;
    (void)cond;
    if (a->conns->len == 0 || flush_pending(a)) {
        a->in_watch = 0;
        return G_SOURCE_REMOVE; /* resumed when a connection opens or drains */
    }
    for (int burst = 0; burst < 64; burst++) {
        GString *frame = g_string_new(NULL);
        if (a->mode == IN_BYTES) {
            char buf[16384];
            ssize_t n = read(g_io_channel_unix_get_fd(ch), buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                g_string_free(frame, TRUE);
                continue;
            }
            if (n < 0 && errno == EAGAIN) {
                g_string_free(frame, TRUE);
                return G_SOURCE_CONTINUE; /* the watch wakes us again */
            }
            if (n <= 0) {
                g_string_free(frame, TRUE);
                a->stdin_eof = 1;
                break;
            }
            g_string_append_len(frame, buf, n);
        } else {
            gsize term = 0;
            GError *err = NULL;
            GIOStatus st = g_io_channel_read_line_string(ch, frame, &term, &err);
            g_clear_error(&err);
            if (st == G_IO_STATUS_AGAIN) {
                g_string_free(frame, TRUE);
                return G_SOURCE_CONTINUE;
            }
            if (st != G_IO_STATUS_NORMAL) {
                g_string_free(frame, TRUE);
                a->stdin_eof = 1;
                break;
            }
            g_string_truncate(frame, term);
        }
        a->pending = frame;
        a->pending_kind = (int)a->mode;
        if (flush_pending(a)) {
            /* Full: on_writable sends it and resumes reading. */
            a->in_watch = 0;
            return G_SOURCE_REMOVE;
        }
        if (a->mode == IN_BYTES)
            break; /* one read per wake-up keeps the loop responsive */
    }
    if (a->stdin_eof) {
        a->in_watch = 0;
        finish_input(a);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void watch_stdin(app *a)
{
    if (a->echo || a->in_watch != 0 || a->stdin_eof || a->conns->len == 0)
        return;
    a->in_watch = g_io_add_watch(a->in, G_IO_IN | G_IO_HUP | G_IO_ERR, stdin_ready, a);
}

static void on_frame(ek_net_conn *c, ek_net_frame_kind kind, const uint8_t *data, size_t len,
                     void *user)
{
    app *a = user;
    if (a->echo) {
        int rc;
        switch (kind) {
        case EK_NET_FRAME_TEXT: rc = ek_net_conn_send_text(c, (const char *)data, len); break;
        case EK_NET_FRAME_VALUE: rc = ek_net_conn_send_value(c, (const char *)data, len); break;
        default: rc = ek_net_conn_send(c, data, len); break;
        }
        if (rc != 0)
            status("WARN echo: %s", ek_net_strerror(rc));
        return;
    }
    if (a->quiet)
        return;
    (void)fwrite(data, 1, len, stdout);
    if (kind != EK_NET_FRAME_BYTES)
        (void)fputc('\n', stdout);
    (void)fflush(stdout);
}

static void on_writable(ek_net_conn *c, void *user)
{
    (void)c;
    app *a = user;
    if (!flush_pending(a))
        watch_stdin(a);
}

static void on_conn_state(ek_net_conn *c, ek_net_conn_state st, int err, const char *detail,
                          void *user)
{
    app *a = user;
    if (st == EK_NET_CONN_OPEN) {
        status("OPEN peer=%s conn=%s serialization=%s ping=%d", ek_net_conn_peer_id(c),
               ek_net_conn_id(c), ek_net_serialization_name(ek_net_conn_serialization(c)),
               ek_net_conn_has_ping(c));
        g_ptr_array_add(a->conns, c);
        a->connected_once = 1;
        watch_stdin(a);
        return;
    }
    if (st != EK_NET_CONN_CLOSED)
        return;
    status("CLOSED peer=%s err=%d (%s)%s%s", ek_net_conn_peer_id(c), err, ek_net_strerror(err),
           detail != NULL ? ": " : "", detail != NULL ? detail : "");
    g_ptr_array_remove(a->conns, c);
    if (c == a->out) {
        a->out = NULL;
        if (err != 0 && err != EK_NET_ERR_PEER_LEFT)
            a->exit_code = 1;
        g_main_loop_quit(a->loop);
    } else if (a->once && (!a->stopping || a->conns->len == 0)) {
        g_main_loop_quit(a->loop);
    }
}

static const ek_net_conn_callbacks conn_cb = {
    .on_state = on_conn_state,
    .on_frame = on_frame,
    .on_writable = on_writable,
};

static void on_incoming(ek_net *net, ek_net_conn *c, const ek_net_offer_info *info, void *user)
{
    (void)net;
    app *a = user;
    if (!a->listen) {
        status("REFUSED peer=%s (not listening)", info->peer_id);
        return;
    }
    status("INCOMING peer=%s conn=%s label=%s serialization=%s reliable=%d metadata=%s",
           info->peer_id, info->connection_id, info->label,
           ek_net_serialization_name(info->serialization), info->reliable,
           info->metadata_json != NULL ? info->metadata_json : "null");
    ek_net_conn_accept(c, &conn_cb, a);
}

static void on_net_state(ek_net *net, ek_net_state st, int err, const char *detail, void *user)
{
    app *a = user;
    if (st == EK_NET_REGISTERED) {
        status("READY id=%s", ek_net_id(net));
        if (!a->listen && a->out == NULL && !a->connected_once) {
            int rc = ek_net_connect(&a->out, net, a->peer, &a->opts, &conn_cb, a);
            if (rc != 0) {
                status("CLOSED peer=%s err=%d (%s)", a->peer, rc, ek_net_strerror(rc));
                a->exit_code = 1;
                g_main_loop_quit(a->loop);
            }
        }
        return;
    }
    status("BROKER state=%d err=%d (%s)%s%s", (int)st, err, ek_net_strerror(err),
           detail != NULL ? ": " : "", detail != NULL ? detail : "");
    if (st == EK_NET_FAILED) {
        a->exit_code = 2;
        g_main_loop_quit(a->loop);
    }
}

static gboolean give_up(gpointer data)
{
    app *a = data;
    g_main_loop_quit(a->loop);
    return G_SOURCE_REMOVE;
}

/* SIGINT/SIGTERM: close every connection so peers hear of it (ek_net_free
 * alone tears down at once), then quit when they are closed or after 1 s. */
static gboolean on_signal(gpointer data)
{
    app *a = data;
    if (a->stopping || a->conns->len == 0) {
        g_main_loop_quit(a->loop);
        return G_SOURCE_CONTINUE;
    }
    a->stopping = 1;
    a->once = 1;
    GPtrArray *all = g_ptr_array_copy(a->conns, NULL, NULL);
    for (guint i = 0; i < all->len; i++)
        ek_net_conn_close(g_ptr_array_index(all, i));
    g_ptr_array_free(all, TRUE);
    g_timeout_add(1000, give_up, a);
    return G_SOURCE_CONTINUE;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: enkrypt-netcat [options] (--listen | PEER_ID)\n"
            "  --broker URL          PeerJS broker (default ws://127.0.0.1:9000/)\n"
            "  --key KEY             PeerJS API key (default peerjs)\n"
            "  --id ID               our peer ID (default: ask the broker)\n"
            "  --listen              accept connections instead of making one\n"
            "  --echo                with --listen: send every frame back\n"
            "  --once                with --listen: exit when the first connection closes\n"
            "  --serialization S     raw (default), json or binary (PeerJS's default)\n"
            "  --unreliable          an unordered channel (PeerJS reliable:false)\n"
            "  --metadata JSON       sent with the offer\n"
            "  --text | --json-lines stdin lines are text frames | JSON values (default: bytes)\n"
            "  --stun URL            a STUN server (stun:host:port)\n"
            "  --turn URL --turn-user U --turn-pass P   a TURN server (turn:host:port)\n"
            "  --relay-only          use TURN relay candidates only\n"
            "  --local-ip ADDR       gather ICE candidates on ADDR only (repeatable)\n"
            "  --open-timeout MS     give up opening after MS (default 30000)\n"
            "  --ping MS             liveness ping interval (timeout: 3x)\n"
            "  --retries N           broker reconnect attempts before giving up (0 = forever)\n"
            "  --quiet               do not print received frames\n"
            "Nothing outside is contacted unless --stun/--turn say so.\n");
}

int main(int argc, char **argv)
{
    app a = {0};
    ek_net_config cfg;
    ek_net_config_init(&cfg);
    cfg.broker_url = "ws://127.0.0.1:9000/";
    cfg.reconnect_attempts = 5;
    a.conns = g_ptr_array_new();
    const char *turn_url = NULL, *turn_user = NULL, *turn_pass = NULL;
    const char *stun_url = NULL;

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE()                                                                                     \
    do {                                                                                           \
        if (v == NULL) {                                                                           \
            usage();                                                                               \
            return 64;                                                                             \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (strcmp(o, "--broker") == 0) {
            TAKE();
            cfg.broker_url = v;
        } else if (strcmp(o, "--key") == 0) {
            TAKE();
            cfg.key = v;
        } else if (strcmp(o, "--id") == 0) {
            TAKE();
            cfg.id = v;
        } else if (strcmp(o, "--listen") == 0) {
            a.listen = 1;
        } else if (strcmp(o, "--echo") == 0) {
            a.echo = 1;
        } else if (strcmp(o, "--once") == 0) {
            a.once = 1;
        } else if (strcmp(o, "--quiet") == 0) {
            a.quiet = 1;
        } else if (strcmp(o, "--serialization") == 0) {
            TAKE();
            int s = ek_net_serialization_from_name(v);
            if (s < 0) {
                usage();
                return 64;
            }
            a.opts.serialization = (ek_net_serialization)s;
        } else if (strcmp(o, "--unreliable") == 0) {
            a.opts.unreliable = 1;
        } else if (strcmp(o, "--metadata") == 0) {
            TAKE();
            a.opts.metadata_json = v;
        } else if (strcmp(o, "--text") == 0) {
            a.mode = IN_LINES_TEXT;
        } else if (strcmp(o, "--json-lines") == 0) {
            a.mode = IN_LINES_JSON;
        } else if (strcmp(o, "--stun") == 0) {
            TAKE();
            stun_url = v;
        } else if (strcmp(o, "--turn") == 0) {
            TAKE();
            turn_url = v;
        } else if (strcmp(o, "--turn-user") == 0) {
            TAKE();
            turn_user = v;
        } else if (strcmp(o, "--turn-pass") == 0) {
            TAKE();
            turn_pass = v;
        } else if (strcmp(o, "--relay-only") == 0) {
            cfg.relay_only = 1;
        } else if (strcmp(o, "--local-ip") == 0) {
            TAKE();
            if (ek_net_config_add_local_addr(&cfg, v) != 0) {
                fprintf(stderr, "enkrypt-netcat: bad --local-ip %s\n", v);
                return 64;
            }
        } else if (strcmp(o, "--open-timeout") == 0) {
            TAKE();
            cfg.open_timeout_ms = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(o, "--ping") == 0) {
            TAKE();
            cfg.ping_interval_ms = (unsigned)strtoul(v, NULL, 10);
            cfg.ping_timeout_ms = cfg.ping_interval_ms * 3;
        } else if (strcmp(o, "--retries") == 0) {
            TAKE();
            cfg.reconnect_attempts = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage();
            return 0;
        } else if (o[0] == '-') {
            usage();
            return 64;
        } else {
            a.peer = o;
        }
#undef TAKE
    }
    if (a.listen == (a.peer != NULL)) {
        usage();
        return 64;
    }
    if (stun_url != NULL && ek_net_config_add_ice_server(&cfg, stun_url, NULL, NULL) != 0) {
        fprintf(stderr, "enkrypt-netcat: bad --stun %s\n", stun_url);
        return 64;
    }
    if (turn_url != NULL &&
        ek_net_config_add_ice_server(&cfg, turn_url, turn_user, turn_pass) != 0) {
        fprintf(stderr, "enkrypt-netcat: bad --turn %s\n", turn_url);
        return 64;
    }

    a.loop = g_main_loop_new(NULL, FALSE);
    a.in = g_io_channel_unix_new(STDIN_FILENO);
    g_io_channel_set_encoding(a.in, NULL, NULL);
    /* Non-blocking: a read must never stall the main loop, which also runs
     * the network (a blocking read of the next line did exactly that). */
    g_io_channel_set_flags(a.in, G_IO_FLAG_NONBLOCK, NULL);
    g_io_channel_set_buffered(a.in, a.mode != IN_BYTES);
    g_unix_signal_add(SIGINT, on_signal, &a);
    g_unix_signal_add(SIGTERM, on_signal, &a);

    ek_net_callbacks cb = {.on_state = on_net_state, .on_incoming = on_incoming};
    int rc = ek_net_new(&a.net, &cfg, &cb, &a);
    if (rc != 0) {
        fprintf(stderr, "enkrypt-netcat: %s\n", ek_net_strerror(rc));
        return 2;
    }
    g_main_loop_run(a.loop);
    if (a.in_watch != 0)
        g_source_remove(a.in_watch);
    if (a.pending != NULL)
        g_string_free(a.pending, TRUE);
    ek_net_free(a.net);
    g_io_channel_unref(a.in);
    g_main_loop_unref(a.loop);
    g_ptr_array_free(a.conns, TRUE);
    return a.exit_code;
}
