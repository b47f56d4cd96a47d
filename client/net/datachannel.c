/*
 * datachannel.c: the one data channel of a connection: its signals
 * (marshalled), the outgoing queue with flow control, and the incoming
 * path through liveness filtering and the serialization decoder.
 *
 * Flow control (webrtc-transport.md §4, §6, §9): messages are handed to
 * webrtcbin while its buffered-amount is under buffer_high; above it we
 * wait for on-buffered-amount-low (threshold buffer_low). That signal comes
 * from a streaming thread; it sets an atomic "pump scheduled" flag *before*
 * posting, so one wake-up is never lost and never doubled (the spike's
 * version that tested a stored idle id stalled at random). Frames wait in
 * our own queue, bounded by send_queue_bytes: past it, send returns
 * EK_NET_ERR_WOULD_BLOCK and on_writable follows once half of it drained.
 *
 * We always use the *_full send functions: the old send-data signal fails
 * silently (§6). A message over 65536 bytes cannot be sent at all, which
 * the API's EK_NET_MAX_FRAME enforces before we get here.
 */
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

/* Messages that beat the open event are kept (bounded) and replayed. */
#define EK_DC_MAX_EARLY_BYTES (4u << 20)

enum { D_OPEN, D_CLOSE, D_ERROR, D_DATA, D_STRING, D_LOW, D_COUNT };

/* ---- GStreamer-thread callbacks ---- */

static void on_open(GstWebRTCDataChannel *dc, gpointer data)
{
    (void)dc;
    ek_ev_post(data, EV_DC_OPEN, NULL, NULL, 0, NULL, NULL);
}

static void on_close(GstWebRTCDataChannel *dc, gpointer data)
{
    (void)dc;
    ek_ev_post(data, EV_DC_CLOSE, NULL, NULL, 0, NULL, NULL);
}

static void on_error(GstWebRTCDataChannel *dc, GError *err, gpointer data)
{
    (void)dc;
    ek_ev_post(data, EV_DC_ERROR, NULL, g_strdup(err != NULL ? err->message : "channel error"), 0,
               NULL, NULL);
}

static void on_data(GstWebRTCDataChannel *dc, GBytes *bytes, gpointer data)
{
    (void)dc;
    ek_ev_post(data, EV_DC_DATA, bytes != NULL ? g_bytes_ref(bytes) : NULL, NULL, 0, NULL, NULL);
}

static void on_string(GstWebRTCDataChannel *dc, gchar *str, gpointer data)
{
    (void)dc;
    ek_ev_post(data, EV_DC_STRING, NULL, g_strdup(str != NULL ? str : ""), 0, NULL, NULL);
}

static void on_low(GstWebRTCDataChannel *dc, gpointer data)
{
    (void)dc;
    ek_net_conn *c = data;
    if (g_atomic_int_compare_and_exchange(&c->pump_scheduled, 0, 1))
        ek_ev_post(c, EV_DC_LOW, NULL, NULL, 0, NULL, NULL);
}

/* Any thread (on-data-channel) or the main loop: only connects handlers. */
void ek_dc_connect_handlers(ek_net_conn *c, GstWebRTCDataChannel *dc)
{
    static const struct {
        const char *name;
        GCallback fn;
    } sigs[D_COUNT] = {
        [D_OPEN] = {"on-open", G_CALLBACK(on_open)},
        [D_CLOSE] = {"on-close", G_CALLBACK(on_close)},
        [D_ERROR] = {"on-error", G_CALLBACK(on_error)},
        [D_DATA] = {"on-message-data", G_CALLBACK(on_data)},
        [D_STRING] = {"on-message-string", G_CALLBACK(on_string)},
        [D_LOW] = {"on-buffered-amount-low", G_CALLBACK(on_low)},
    };
    for (int i = 0; i < D_COUNT; i++)
        c->dc_handlers[i] = g_signal_connect_data(dc, sigs[i].name, sigs[i].fn, ek_conn_ref(c),
                                                  ek_conn_closure_unref, 0);
}

/* ---- main loop ---- */

static void replay_early(ek_net_conn *c);

void ek_dc_attach(ek_net_conn *c, GstWebRTCDataChannel *dc)
{
    c->dc = dc;
    g_object_set(dc, "buffered-amount-low-threshold", (guint64)c->buffer_low, NULL);
    GstWebRTCDataChannelState st = GST_WEBRTC_DATA_CHANNEL_STATE_CONNECTING;
    g_object_get(dc, "ready-state", &st, NULL);
    /* An incoming channel is already open when on-data-channel fires, and
     * on-open may or may not follow (§6): opening is idempotent. */
    if (st == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN || c->dc_open_seen) {
        ek_conn_opened(c);
        replay_early(c);
    }
}

void ek_dc_detach(ek_net_conn *c)
{
    if (c->dc == NULL)
        return;
    for (int i = 0; i < D_COUNT; i++) {
        if (c->dc_handlers[i] != 0)
            g_signal_handler_disconnect(c->dc, c->dc_handlers[i]);
        c->dc_handlers[i] = 0;
    }
    GstWebRTCDataChannelState st = GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;
    g_object_get(c->dc, "ready-state", &st, NULL);
    /* Close it so a browser peer hears of it before the pipeline stops. */
    if (st == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
        gst_webrtc_data_channel_close(c->dc);
    g_object_unref(c->dc);
    c->dc = NULL;
    if (c->sctpenc != NULL) {
        gst_object_unref(c->sctpenc);
        c->sctpenc = NULL;
    }
}

guint64 ek_dc_buffered(ek_net_conn *c)
{
    guint64 v = 0;
    if (c->dc != NULL)
        g_object_get(c->dc, "buffered-amount", &v, NULL);
    return v;
}

static gboolean is_sctpenc(const GValue *v, const GValue *unused)
{
    (void)unused;
    GstElement *e = g_value_get_object(v);
    GstElementFactory *f = gst_element_get_factory(e);
    return f != NULL && strcmp(GST_OBJECT_NAME(f), "sctpenc") == 0 ? 0 : 1;
}

/*
 * buffered-amount reaching 0 only means webrtcbin pushed our messages on to
 * sctpenc, which keeps a queue of its own per stream; GStreamer 1.22 closes
 * a channel by releasing that stream's sctpenc pad, and later GStreamer
 * versions send an EOS through the queue first precisely so that queued
 * data is not lost on close. sctpenc counts what it handed to usrsctp per
 * stream ("bytes-sent" action), so we close only once that covers every
 * byte we gave webrtcbin on this channel.
 */
int ek_dc_flushed(ek_net_conn *c)
{
    if (c->dc == NULL || c->webrtc == NULL)
        return 1;
    if (ek_dc_buffered(c) != 0)
        return 0;
    if (c->sctpenc == NULL) {
        GstIterator *it = gst_bin_iterate_recurse(GST_BIN(c->webrtc));
        GValue found = G_VALUE_INIT;
        if (gst_iterator_find_custom(it, (GCompareFunc)(void (*)(void))is_sctpenc, &found, NULL)) {
            c->sctpenc = g_value_dup_object(&found);
            g_value_unset(&found);
        }
        gst_iterator_free(it);
        if (c->sctpenc == NULL)
            return 1; /* nothing to wait for */
    }
    gint id = -1;
    g_object_get(c->dc, "id", &id, NULL);
    if (id < 0)
        return 1;
    guint64 sent = 0;
    g_signal_emit_by_name(c->sctpenc, "bytes-sent", (guint)id, &sent);
    return sent >= c->bytes_handed;
}

static void out_msg_free(gpointer p)
{
    ek_out_msg *m = p;
    free(m->data);
    g_free(m);
}

void ek_dc_clear_queue(ek_net_conn *c)
{
    g_queue_clear_full(&c->outq, out_msg_free);
    g_queue_init(&c->outq);
    c->queued_bytes = 0;
}

static int enqueue(void *user, int is_text, uint8_t *data, size_t len)
{
    ek_net_conn *c = user;
    ek_out_msg *m = g_new(ek_out_msg, 1);
    m->is_text = is_text;
    m->data = data;
    m->len = len;
    g_queue_push_tail(&c->outq, m);
    c->queued_bytes += len;
    return 0;
}

static void maybe_writable(ek_net_conn *c)
{
    if (c->want_writable && !c->writable_posted && c->queued_bytes <= c->send_queue_bytes / 2) {
        c->writable_posted = 1;
        ek_ev_post(c, EV_WRITABLE, NULL, NULL, 0, NULL, NULL);
    }
}

void ek_dc_pump(ek_net_conn *c)
{
    if (c->dc == NULL || (c->state != PC_OPEN && c->state != PC_DRAINING))
        return;
    while (!g_queue_is_empty(&c->outq)) {
        if (ek_dc_buffered(c) >= c->buffer_high)
            break; /* on-buffered-amount-low will call us again */
        ek_out_msg *m = g_queue_pop_head(&c->outq);
        c->queued_bytes -= m->len;
        c->bytes_handed += m->len;
        GError *err = NULL;
        gboolean ok;
        if (m->is_text) {
            ok = gst_webrtc_data_channel_send_string_full(c->dc, (const gchar *)m->data, &err);
            free(m->data);
        } else {
            GBytes *b = g_bytes_new_with_free_func(m->data, m->len, free, m->data);
            ok = gst_webrtc_data_channel_send_data_full(c->dc, b, &err);
            g_bytes_unref(b);
        }
        g_free(m);
        if (!ok) {
            char *why = g_strdup_printf("sending on the data channel failed: %s",
                                        err != NULL ? err->message : "unknown error");
            g_clear_error(&err);
            ek_conn_finish(c, EK_NET_ERR_WEBRTC, why);
            g_free(why);
            return;
        }
    }
    maybe_writable(c);
}

int ek_dc_send_frame(ek_net_conn *c, ek_net_frame_kind kind, const uint8_t *data, size_t len)
{
    switch (c->state) {
    case PC_OPEN: break;
    case PC_NEW:
    case PC_NEGOTIATING: return EK_ERR_STATE;
    default: return EK_NET_ERR_CLOSED;
    }
    if (len > EK_NET_MAX_FRAME)
        return EK_ERR_TOO_LARGE;
    /* An empty queue takes any one frame; otherwise the bound holds. */
    if (c->queued_bytes > 0 && c->queued_bytes + len > c->send_queue_bytes) {
        c->want_writable = 1;
        maybe_writable(c);
        return EK_NET_ERR_WOULD_BLOCK;
    }
    int rc = ek_ser_encode(&c->ser, kind, data, len, enqueue, c);
    if (rc != EK_OK)
        return rc;
    ek_dc_pump(c);
    return EK_OK;
}

int ek_dc_send_control(ek_net_conn *c, const char *text)
{
    if (c->dc == NULL)
        return EK_NET_ERR_CLOSED;
    GError *err = NULL;
    c->bytes_handed += strlen(text);
    if (!gst_webrtc_data_channel_send_string_full(c->dc, text, &err)) {
        g_message("liveness message not sent: %s", err != NULL ? err->message : "?");
        g_clear_error(&err);
        return EK_NET_ERR_WEBRTC;
    }
    return EK_OK;
}

static void frame_out(void *user, ek_net_frame_kind kind, const uint8_t *data, size_t len)
{
    ek_conn_deliver_frame(user, kind, data, len);
}

static void receive(ek_net_conn *c, ek_ev *ev)
{
    ek_live_seen(c);
    int is_text = ev->type == EV_DC_STRING;
    const uint8_t *p;
    size_t n;
    if (is_text) {
        p = (const uint8_t *)ev->str;
        n = strlen(ev->str);
        if (ek_live_handle_control(c, ev->str, n))
            return;
    } else {
        gsize gn = 0;
        p = ev->bytes != NULL ? g_bytes_get_data(ev->bytes, &gn) : NULL;
        n = gn;
    }
    int rc = ek_ser_decode(&c->ser, is_text, p, n, frame_out, c);
    if (rc == EK_SER_CLOSE_REQUESTED)
        ek_pc_remote_closed(c, EK_NET_ERR_PEER_LEFT, "the peer asked to close (PeerJS close)");
    else if (rc < 0)
        g_message("dropped a %zu-byte message from %s: %s", n, c->peer_id, ek_net_strerror(rc));
}

static void replay_early(ek_net_conn *c)
{
    ek_ev *ev;
    while (c->state == PC_OPEN && (ev = g_queue_pop_head(&c->early_msgs)) != NULL) {
        receive(c, ev);
        ek_ev_free(ev);
    }
    c->early_bytes = 0;
}

void ek_dc_handle_event(ek_ev *ev)
{
    ek_net_conn *c = ev->conn;
    switch (ev->type) {
    case EV_DC_OPEN:
        if (c->dc == NULL) {
            c->dc_open_seen = 1; /* attach will open */
            break;
        }
        ek_conn_opened(c);
        replay_early(c);
        break;
    case EV_DC_CLOSE:
        if (c->state == PC_NEGOTIATING)
            ek_conn_finish(c, EK_NET_ERR_PEER_LEFT, "the data channel closed before it opened");
        else
            ek_pc_remote_closed(c, EK_NET_ERR_PEER_LEFT, "the peer closed the data channel");
        break;
    case EV_DC_ERROR: ek_conn_finish(c, EK_NET_ERR_WEBRTC, ev->str); break;
    case EV_DC_DATA:
    case EV_DC_STRING:
        if (!c->open_notified) {
            /* Came before the open event (different threads): keep it. */
            size_t n = ev->bytes != NULL ? g_bytes_get_size(ev->bytes)
                       : ev->str != NULL ? strlen(ev->str)
                                         : 0;
            if (c->early_bytes + n > EK_DC_MAX_EARLY_BYTES) {
                ek_conn_finish(c, EK_NET_ERR_PROTOCOL, "too much data before the channel opened");
                break;
            }
            c->early_bytes += n;
            ek_ev *copy = g_new0(ek_ev, 1);
            *copy = *ev;
            copy->conn = ek_conn_ref(c);
            ev->bytes = NULL;
            ev->str = NULL;
            g_queue_push_tail(&c->early_msgs, copy);
            break;
        }
        receive(c, ev);
        break;
    case EV_DC_LOW:
        g_atomic_int_set(&c->pump_scheduled, 0);
        ek_dc_pump(c);
        break;
    default: break;
    }
}
