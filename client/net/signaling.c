/*
 * signaling.c: the PeerJS signaling client on libsoup-3 (peerjs-protocol.md
 * §2, §3, §6.1, §6.2; webrtc-transport.md §9). It
 *  - asks the broker for an ID (GET {path}{key}/id) when none is configured,
 *  - opens ws(s)://host:port{path}peerjs?key=&id=&token=&version=,
 *  - waits for OPEN, sends HEARTBEAT every 5 s,
 *  - reports ERROR / ID-TAKEN / INVALID-KEY as fatal, like PeerJS does,
 *  - reconnects with exponential backoff (same ID, same token) when the
 *    broker cannot be reached or the socket drops,
 *  - hands OFFER / ANSWER / CANDIDATE / LEAVE / EXPIRE to the endpoint.
 * Everything runs on the main loop (libsoup is not thread-safe); the
 * endpoint's sends come from the main loop too.
 *
 * The reference server answers a same-token reconnect (a takeover) with no
 * OPEN at all (§3.1), so a socket that stays up for EK_SIG_TAKEOVER_MS
 * without an error counts as registered; enkrypt-broker sends OPEN.
 */
#include <string.h>

#include <libsoup/soup.h>

#include "net_internal.h"

#define EK_SIG_TAKEOVER_MS    2000
#define EK_SIG_MAX_QUEUED     256
#define EK_SIG_HTTP_TIMEOUT_S 10
/* The PeerJS client version we speak like (sent as &version=, ignored by servers). */
#define EK_SIG_PEERJS_VERSION "1.5.5"

struct ek_signaling {
    GMainContext *ctx;
    const ek_net_cfg *cfg;
    ek_signaling_handlers h;
    void *user;

    SoupSession *session;
    SoupWebsocketConnection *ws;
    gulong ws_message_id, ws_closed_id;
    GCancellable *cancel; /* the pending /id fetch or WebSocket connect */
    GSource *heartbeat, *retry, *takeover;

    char *id;
    ek_net_state state;
    int registered_once;
    unsigned failures; /* failed attempts in a row */
    int fatal_err;     /* set by ERROR / ID-TAKEN: do not reconnect */
    char *fatal_detail;
    GQueue outq; /* char * frames waiting for the socket */
};

static void sig_connect(ek_signaling *s);

static void set_state(ek_signaling *s, ek_net_state st, int err, const char *detail)
{
    s->state = st;
    if (s->h.on_state != NULL)
        s->h.on_state(s->user, st, err, detail);
}

static void drop_source(GSource **src)
{
    if (*src != NULL) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static GSource *add_timeout(ek_signaling *s, unsigned ms, GSourceFunc fn)
{
    GSource *src = g_timeout_source_new(ms);
    g_source_set_callback(src, fn, s, NULL);
    g_source_attach(src, s->ctx);
    return src;
}

static void drop_socket(ek_signaling *s)
{
    drop_source(&s->heartbeat);
    drop_source(&s->takeover);
    if (s->ws != NULL) {
        g_signal_handler_disconnect(s->ws, s->ws_message_id);
        g_signal_handler_disconnect(s->ws, s->ws_closed_id);
        if (soup_websocket_connection_get_state(s->ws) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close(s->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
        g_object_unref(s->ws);
        s->ws = NULL;
    }
}

static void flush_queue(ek_signaling *s)
{
    char *frame;
    while (s->ws != NULL && (frame = g_queue_pop_head(&s->outq)) != NULL) {
        soup_websocket_connection_send_text(s->ws, frame);
        free(frame);
    }
}

static void clear_queue(ek_signaling *s)
{
    char *frame;
    while ((frame = g_queue_pop_head(&s->outq)) != NULL)
        free(frame);
}

static void registered(ek_signaling *s)
{
    drop_source(&s->takeover);
    s->failures = 0;
    s->registered_once = 1;
    set_state(s, EK_NET_REGISTERED, 0, NULL);
    flush_queue(s);
}

static gboolean retry_cb(gpointer data)
{
    ek_signaling *s = data;
    g_source_unref(s->retry);
    s->retry = NULL;
    sig_connect(s);
    return G_SOURCE_REMOVE;
}

/* The socket or an attempt failed: give up for good, or retry later. */
static void lost(ek_signaling *s, int err, const char *detail)
{
    drop_socket(s);
    if (s->fatal_err != 0) {
        clear_queue(s);
        set_state(s, EK_NET_FAILED, s->fatal_err, s->fatal_detail);
        return;
    }
    s->failures++;
    if (s->cfg->reconnect_attempts != 0 && s->failures > s->cfg->reconnect_attempts) {
        clear_queue(s);
        char *why = g_strdup_printf("%s (gave up after %u attempts)",
                                    detail != NULL ? detail : ek_net_strerror(err), s->failures);
        set_state(s, EK_NET_FAILED, err, why);
        g_free(why);
        return;
    }
    /* Exponential backoff with +-20% jitter, so many clients do not
     * reconnect in lockstep after a broker restart. */
    guint64 delay = s->cfg->reconnect_min_ms;
    for (unsigned i = 1; i < s->failures && delay < s->cfg->reconnect_max_ms; i++)
        delay *= 2;
    if (delay > s->cfg->reconnect_max_ms)
        delay = s->cfg->reconnect_max_ms;
    delay = delay * (guint64)g_random_int_range(80, 121) / 100;
    set_state(s, EK_NET_RECONNECTING, err, detail);
    if (s->retry == NULL)
        s->retry = add_timeout(s, (unsigned)delay, retry_cb);
}

static void fatal(ek_signaling *s, int err, const char *text)
{
    s->fatal_err = err;
    g_free(s->fatal_detail);
    s->fatal_detail = g_strdup(text);
}

static gboolean heartbeat_cb(gpointer data)
{
    ek_signaling *s = data;
    /* PeerJS's client sends {"type":"HEARTBEAT"} every 5 s; the broker
     * drops a client after alive_timeout without one (§4). */
    if (s->ws != NULL && soup_websocket_connection_get_state(s->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text(s->ws, "{\"type\":\"HEARTBEAT\"}");
    return G_SOURCE_CONTINUE;
}

static gboolean takeover_cb(gpointer data)
{
    ek_signaling *s = data;
    g_source_unref(s->takeover);
    s->takeover = NULL;
    if (s->state != EK_NET_REGISTERED && s->ws != NULL && s->fatal_err == 0) {
        g_message("no OPEN from the broker after %d ms: taking it as a same-token "
                  "re-registration (peer@1.0.2 sends none)",
                  EK_SIG_TAKEOVER_MS);
        registered(s);
    }
    return G_SOURCE_REMOVE;
}

static void handle_frame(ek_signaling *s, const char *text, size_t len)
{
    ek_pj_msg m;
    int rc = ek_pj_parse(&m, text, len);
    if (rc != EK_OK) {
        /* A broker that sends garbage is not a reason to drop the socket;
         * PeerJS's client logs and ignores it too (§6.2). */
        g_warning("ignoring a malformed message from the broker (%s)", ek_net_strerror(rc));
        return;
    }
    switch (m.type) {
    case EK_PJ_OPEN:
        if (s->state != EK_NET_REGISTERED)
            registered(s);
        break;
    case EK_PJ_ID_TAKEN: {
        char *why = g_strdup_printf("ID \"%s\" is taken (%s)", s->id,
                                    m.error_text != NULL ? m.error_text : "no reason given");
        fatal(s, EK_NET_ERR_ID_TAKEN, why);
        g_free(why);
        lost(s, EK_NET_ERR_ID_TAKEN, NULL);
        break;
    }
    case EK_PJ_INVALID_KEY:
        fatal(s, EK_NET_ERR_INVALID_KEY, m.error_text != NULL ? m.error_text : "invalid key");
        lost(s, EK_NET_ERR_INVALID_KEY, NULL);
        break;
    case EK_PJ_ERROR: {
        const char *t = m.error_text != NULL ? m.error_text : "unspecified error";
        /* peer@1.0.2 reports a bad key as ERROR "Invalid key provided" (§3.1). */
        int err = strcmp(t, "Invalid key provided") == 0 ? EK_NET_ERR_INVALID_KEY
                                                         : EK_NET_ERR_BROKER_REFUSED;
        char *why = g_strdup_printf("the broker says: %s", t);
        fatal(s, err, why);
        g_free(why);
        lost(s, err, NULL);
        break;
    }
    case EK_PJ_OFFER:
    case EK_PJ_ANSWER:
    case EK_PJ_CANDIDATE:
    case EK_PJ_LEAVE:
    case EK_PJ_EXPIRE:
        if (s->h.on_message != NULL)
            s->h.on_message(s->user, &m);
        break;
    case EK_PJ_HEARTBEAT:
    case EK_PJ_UNKNOWN: break;
    }
    ek_pj_msg_clear(&m);
}

static void ws_message_cb(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
    (void)ws;
    (void)type; /* servers send text; JSON in binary frames is read the same (§3.2) */
    ek_signaling *s = data;
    gsize len = 0;
    const char *text = g_bytes_get_data(message, &len);
    handle_frame(s, text != NULL ? text : "", len);
}

static void ws_closed_cb(SoupWebsocketConnection *ws, gpointer data)
{
    ek_signaling *s = data;
    gushort code = soup_websocket_connection_get_close_code(ws);
    int was_registered = s->state == EK_NET_REGISTERED;
    char *why = g_strdup_printf("the broker closed the WebSocket (code %u)", (unsigned)code);
    lost(s, was_registered ? EK_NET_ERR_BROKER_LOST : EK_NET_ERR_BROKER_UNREACHABLE, why);
    g_free(why);
}

static void ws_connected_cb(GObject *source, GAsyncResult *res, gpointer data)
{
    GError *err = NULL;
    SoupWebsocketConnection *ws =
        soup_session_websocket_connect_finish(SOUP_SESSION(source), res, &err);
    if (ws == NULL && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_error_free(err); /* the signaling object is gone or going */
        return;
    }
    ek_signaling *s = data;
    g_clear_object(&s->cancel);
    if (ws == NULL) {
        char *why =
            g_strdup_printf("cannot open the WebSocket %s: %s", s->cfg->ws_base, err->message);
        g_error_free(err);
        lost(s, EK_NET_ERR_BROKER_UNREACHABLE, why);
        g_free(why);
        return;
    }
    s->ws = ws;
    soup_websocket_connection_set_max_incoming_payload_size(ws, EK_PJ_MAX_FRAME);
    s->ws_message_id = g_signal_connect(ws, "message", G_CALLBACK(ws_message_cb), s);
    s->ws_closed_id = g_signal_connect(ws, "closed", G_CALLBACK(ws_closed_cb), s);
    s->heartbeat = add_timeout(s, s->cfg->heartbeat_ms, heartbeat_cb);
    s->takeover = add_timeout(s, EK_SIG_TAKEOVER_MS, takeover_cb);
}

static void open_socket(ek_signaling *s)
{
    char *id = g_uri_escape_string(s->id, NULL, FALSE);
    char *key = g_uri_escape_string(s->cfg->key, NULL, FALSE);
    char *token = g_uri_escape_string(s->cfg->token, NULL, FALSE);
    char *url = g_strdup_printf("%s?key=%s&id=%s&token=%s&version=%s", s->cfg->ws_base, key, id,
                                token, EK_SIG_PEERJS_VERSION);
    g_free(id);
    g_free(key);
    g_free(token);
    SoupMessage *msg = soup_message_new("GET", url);
    g_free(url);
    if (msg == NULL) {
        fatal(s, EK_NET_ERR_CONFIG, "the broker URL does not make a valid WebSocket URL");
        lost(s, EK_NET_ERR_CONFIG, NULL);
        return;
    }
    s->cancel = g_cancellable_new();
    soup_session_websocket_connect_async(s->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, s->cancel,
                                         ws_connected_cb, s);
    g_object_unref(msg);
}

/* An ID from GET /id: PeerJS uses the body as is; we want it printable and
 * bounded because it goes into URLs, logs and the peer table. */
static int id_from_broker_valid(const char *id, size_t n)
{
    if (n == 0 || n > EK_PJ_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}

static void id_fetched_cb(GObject *source, GAsyncResult *res, gpointer data)
{
    GError *err = NULL;
    GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(source), res, &err);
    if (body == NULL && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_error_free(err);
        return;
    }
    ek_signaling *s = data;
    SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), res);
    guint status = msg != NULL ? soup_message_get_status(msg) : 0;
    g_clear_object(&s->cancel);
    if (body == NULL || status != 200) {
        char *why = body == NULL
                        ? g_strdup_printf("cannot get an ID from %s%s/id: %s", s->cfg->http_base,
                                          s->cfg->key, err != NULL ? err->message : "no answer")
                        : g_strdup_printf("cannot get an ID from %s%s/id: HTTP %u "
                                          "(is the broker's path right?)",
                                          s->cfg->http_base, s->cfg->key, status);
        if (err != NULL)
            g_error_free(err);
        if (body != NULL)
            g_bytes_unref(body);
        lost(s, EK_NET_ERR_BROKER_UNREACHABLE, why);
        g_free(why);
        return;
    }
    gsize n = 0;
    const char *text = g_bytes_get_data(body, &n);
    if (!id_from_broker_valid(text, n)) {
        g_bytes_unref(body);
        lost(s, EK_NET_ERR_PROTOCOL, "the broker's /id answer is not a usable ID");
        return;
    }
    s->id = g_strndup(text, n);
    g_bytes_unref(body);
    open_socket(s);
}

static void sig_connect(ek_signaling *s)
{
    if (s->state != EK_NET_RECONNECTING)
        set_state(s, EK_NET_CONNECTING, 0, NULL);
    if (s->id != NULL) {
        open_socket(s);
        return;
    }
    /* No ID: ask the broker, as PeerJS does (§6.1), with its cache-busting
     * ts parameter. */
    char *url = g_strdup_printf("%s%s/id?ts=%" G_GINT64_FORMAT "%u&version=%s", s->cfg->http_base,
                                s->cfg->key, g_get_real_time() / 1000, g_random_int_range(0, 1000),
                                EK_SIG_PEERJS_VERSION);
    SoupMessage *msg = soup_message_new("GET", url);
    g_free(url);
    if (msg == NULL) {
        fatal(s, EK_NET_ERR_CONFIG, "the broker URL does not make a valid HTTP URL");
        lost(s, EK_NET_ERR_CONFIG, NULL);
        return;
    }
    s->cancel = g_cancellable_new();
    soup_session_send_and_read_async(s->session, msg, G_PRIORITY_DEFAULT, s->cancel, id_fetched_cb,
                                     s);
    g_object_unref(msg);
}

ek_signaling *ek_signaling_new(GMainContext *ctx, const ek_net_cfg *cfg,
                               const ek_signaling_handlers *h, void *user)
{
    ek_signaling *s = g_new0(ek_signaling, 1);
    s->ctx = g_main_context_ref(ctx);
    s->cfg = cfg;
    s->h = *h;
    s->user = user;
    s->id = g_strdup(cfg->id);
    s->state = EK_NET_CONNECTING;
    g_queue_init(&s->outq);
    /* No proxy resolver: signaling goes straight to the configured broker. */
    s->session = soup_session_new_with_options("timeout", EK_SIG_HTTP_TIMEOUT_S, "idle-timeout",
                                               EK_SIG_HTTP_TIMEOUT_S, "proxy-resolver", NULL, NULL);
    return s;
}

void ek_signaling_start(ek_signaling *s)
{
    sig_connect(s);
}

const char *ek_signaling_id(const ek_signaling *s)
{
    return s->state == EK_NET_REGISTERED || s->registered_once ? s->id : NULL;
}

ek_net_state ek_signaling_state(const ek_signaling *s)
{
    return s->state;
}

int ek_signaling_send(ek_signaling *s, const char *type, const char *dst, json_t *payload)
{
    if (s->state == EK_NET_FAILED) {
        json_decref(payload);
        return EK_NET_ERR_NOT_REGISTERED;
    }
    char *frame = ek_pj_frame(type, dst, payload);
    if (frame == NULL)
        return EK_ERR_NOMEM;
    if (s->state == EK_NET_REGISTERED && s->ws != NULL &&
        soup_websocket_connection_get_state(s->ws) == SOUP_WEBSOCKET_STATE_OPEN) {
        soup_websocket_connection_send_text(s->ws, frame);
        free(frame);
        return EK_OK;
    }
    /* Down for now: keep a bounded backlog for the reconnect. */
    if (g_queue_get_length(&s->outq) >= EK_SIG_MAX_QUEUED) {
        free(frame);
        return EK_ERR_LIMIT;
    }
    g_queue_push_tail(&s->outq, frame);
    return EK_OK;
}

void ek_signaling_free(ek_signaling *s)
{
    if (s == NULL)
        return;
    if (s->cancel != NULL) {
        /* The callback sees G_IO_ERROR_CANCELLED and leaves s alone. */
        g_cancellable_cancel(s->cancel);
        g_clear_object(&s->cancel);
    }
    drop_source(&s->retry);
    drop_socket(s);
    clear_queue(s);
    g_object_unref(s->session);
    g_main_context_unref(s->ctx);
    g_free(s->id);
    g_free(s->fatal_detail);
    g_free(s);
}
