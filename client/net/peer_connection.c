/*
 * peer_connection.c: one GstPipeline with one webrtcbin per PeerJS
 * DataConnection (PeerJS uses one RTCPeerConnection per connection,
 * webrtc-transport.md §3): creation, offer/answer, trickled candidates,
 * watching ICE / connection / DTLS state, the open timeout, graceful and
 * abrupt close, and teardown.
 *
 * Gotchas this file is built around (webrtc-transport.md §5, §6):
 *  - the pipeline goes to PLAYING before create-data-channel, or webrtcbin
 *    asserts and returns NULL;
 *  - on-negotiation-needed fires before any channel exists, so we ignore it
 *    and drive negotiation ourselves (channel first, then create-offer);
 *  - callbacks (promises, on-ice-candidate, notify::*) only marshal: one
 *    property get inside a callback deadlocked webrtcbin in the spike;
 *  - a remote pc.close() (PeerJS conn.close()) gives no data-channel
 *    on-close and no connection-state change: only the DTLS transport's
 *    state goes to closed, so we watch it;
 *  - the pipeline goes to NULL from the main loop only.
 * The OFFER/ANSWER is sent before set-local-description so that it always
 * precedes our trickled candidates on the signaling socket.
 */
#include <string.h>

#include <gst/sdp/sdp.h>

#include "net_internal.h"

/* After the peer closed, keep delivering messages already in flight on
 * other GStreamer threads until none came for EK_PC_REMOTE_QUIET_MS, at
 * most EK_PC_REMOTE_GRACE_MS (see ek_pc_remote_closed). */
#define EK_PC_REMOTE_QUIET_MS  50
#define EK_PC_REMOTE_GRACE_MS  500
/* How long the local channel close may take before we tear down anyway. */
#define EK_PC_DC_CLOSE_WAIT_MS 500
#define EK_PC_DRAIN_POLL_MS    20

enum { H_ICE_CANDIDATE, H_DATA_CHANNEL, H_ICE_STATE, H_CONN_STATE, H_COUNT };

/* ---- GStreamer-thread callbacks: copy, post, return ---- */

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer data)
{
    (void)webrtc;
    if (candidate == NULL || candidate[0] == 0)
        return; /* end of candidates: PeerJS sends no such message (§6.3) */
    ek_ev_post(data, EV_ICE_CANDIDATE, NULL, g_strdup(candidate), mline, NULL, NULL);
}

static void on_data_channel(GstElement *webrtc, GstWebRTCDataChannel *dc, gpointer data)
{
    (void)webrtc;
    ek_net_conn *c = data;
    /* Connect the channel's handlers here, before returning, so no message
     * sent right after the open is missed; only the first channel is ours
     * (PeerJS opens exactly one per connection). */
    if (g_atomic_int_compare_and_exchange(&c->dc_claimed, 0, 1))
        ek_dc_connect_handlers(c, dc);
    ek_ev_post(c, EV_DATA_CHANNEL, NULL, NULL, 0, G_OBJECT(g_object_ref(dc)), NULL);
}

static void on_notify_ice(GObject *obj, GParamSpec *pspec, gpointer data)
{
    (void)obj;
    (void)pspec;
    ek_ev_post(data, EV_ICE_STATE, NULL, NULL, 0, NULL, NULL);
}

static void on_notify_conn(GObject *obj, GParamSpec *pspec, gpointer data)
{
    (void)obj;
    (void)pspec;
    ek_ev_post(data, EV_CONN_STATE, NULL, NULL, 0, NULL, NULL);
}

static void on_notify_dtls(GObject *obj, GParamSpec *pspec, gpointer data)
{
    (void)obj;
    (void)pspec;
    ek_ev_post(data, EV_DTLS_STATE, NULL, NULL, 0, NULL, NULL);
}

/* Errors and warnings from any element of the pipeline; everything is
 * dropped here so the bus never accumulates messages. */
static GstBusSyncReply bus_sync(GstBus *bus, GstMessage *msg, gpointer data)
{
    (void)bus;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *err = NULL;
        gchar *dbg = NULL;
        gst_message_parse_error(msg, &err, &dbg);
        char *text = g_strdup_printf("%s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
                                     err != NULL ? err->message : "error");
        ek_ev_post(data, EV_BUS_ERROR, NULL, text, 0, NULL, NULL);
        g_clear_error(&err);
        g_free(dbg);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
        GError *err = NULL;
        gst_message_parse_warning(msg, &err, NULL);
        g_message("gstreamer warning from %s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
                  err != NULL ? err->message : "?");
        g_clear_error(&err);
    }
    /* GST_BUS_DROP hands the message to us: a sync handler that drops must
     * unref it (GstBusSyncHandler's contract). Not doing so kept every
     * message, and through it every element and thread of the pipeline. */
    gst_message_unref(msg);
    return GST_BUS_DROP;
}

static void bus_data_free(gpointer data)
{
    ek_conn_unref(data);
}

/* Promise replies come on webrtcbin's thread. The promise's user data holds
 * a connection reference, dropped by GStreamer when the promise dies; we do
 * not keep our own reference past the emission, so a promise webrtcbin
 * never answers (torn down first) still frees everything. */
static void promise_data_free(gpointer data)
{
    ek_conn_unref(data);
}

static char *promise_error(GstPromise *p)
{
    if (gst_promise_wait(p) != GST_PROMISE_RESULT_REPLIED)
        return g_strdup("webrtcbin did not answer (interrupted)");
    const GstStructure *reply = gst_promise_get_reply(p);
    if (reply != NULL && gst_structure_has_field(reply, "error")) {
        GError *err = NULL;
        gst_structure_get(reply, "error", G_TYPE_ERROR, &err, NULL);
        char *text = g_strdup(err != NULL ? err->message : "unknown webrtcbin error");
        g_clear_error(&err);
        return text;
    }
    return NULL;
}

static void sdp_created(GstPromise *p, gpointer data, const char *field, ek_ev_type type)
{
    char *err = promise_error(p);
    if (err != NULL) {
        ek_ev_post(data, EV_NEGOTIATION_ERROR, NULL, err, 0, NULL, NULL);
        return;
    }
    GstWebRTCSessionDescription *desc = NULL;
    const GstStructure *reply = gst_promise_get_reply(p);
    if (reply != NULL)
        gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
    if (desc == NULL) {
        ek_ev_post(data, EV_NEGOTIATION_ERROR, NULL, g_strdup_printf("webrtcbin gave no %s", field),
                   0, NULL, NULL);
        return;
    }
    ek_ev_post(data, type, NULL, NULL, 0, NULL, desc);
}

static void offer_created(GstPromise *p, gpointer data)
{
    sdp_created(p, data, "offer", EV_OFFER_CREATED);
}

static void answer_created(GstPromise *p, gpointer data)
{
    sdp_created(p, data, "answer", EV_ANSWER_CREATED);
}

static void remote_set(GstPromise *p, gpointer data)
{
    ek_ev_post(data, EV_REMOTE_SET, NULL, promise_error(p), 0, NULL, NULL);
}

static void local_set(GstPromise *p, gpointer data)
{
    ek_ev_post(data, EV_LOCAL_SET, NULL, promise_error(p), 0, NULL, NULL);
}

static void emit_with_promise(ek_net_conn *c, const char *signal, GstPromiseChangeFunc fn,
                              GstWebRTCSessionDescription *desc)
{
    GstPromise *p = gst_promise_new_with_change_func(fn, ek_conn_ref(c), promise_data_free);
    if (desc != NULL)
        g_signal_emit_by_name(c->webrtc, signal, desc, p);
    else
        g_signal_emit_by_name(c->webrtc, signal, NULL, p);
    gst_promise_unref(p);
}

/* ---- timers ---- */

static void drop_source(GSource **src)
{
    if (*src != NULL) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static void source_data_free(gpointer data)
{
    ek_conn_unref(data);
}

static GSource *conn_timeout(ek_net_conn *c, unsigned ms, GSourceFunc fn)
{
    GSource *src = g_timeout_source_new(ms);
    g_source_set_callback(src, fn, ek_conn_ref(c), source_data_free);
    g_source_attach(src, c->net != NULL ? c->net->ctx : NULL);
    return src;
}

static const char *ice_state_name(GstWebRTCICEConnectionState s)
{
    switch (s) {
    case GST_WEBRTC_ICE_CONNECTION_STATE_NEW: return "new";
    case GST_WEBRTC_ICE_CONNECTION_STATE_CHECKING: return "checking";
    case GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED: return "connected";
    case GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED: return "completed";
    case GST_WEBRTC_ICE_CONNECTION_STATE_FAILED: return "failed";
    case GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED: return "disconnected";
    case GST_WEBRTC_ICE_CONNECTION_STATE_CLOSED: return "closed";
    }
    return "?";
}

static gboolean open_timeout_cb(gpointer data)
{
    ek_net_conn *c = data;
    drop_source(&c->open_timer);
    if (c->state != PC_NEGOTIATING && c->state != PC_NEW)
        return G_SOURCE_REMOVE;
    GstWebRTCICEConnectionState ice = GST_WEBRTC_ICE_CONNECTION_STATE_NEW;
    if (c->webrtc != NULL)
        g_object_get(c->webrtc, "ice-connection-state", &ice, NULL);
    char *why =
        g_strdup_printf("no open data channel after %u ms (ICE %s%s)", c->open_timeout_ms,
                        ice_state_name(ice), c->remote_set ? "" : ", no answer from the peer");
    ek_conn_finish(c,
                   ice == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED ? EK_NET_ERR_ICE_FAILED
                                                                 : EK_NET_ERR_TIMEOUT,
                   why);
    g_free(why);
    return G_SOURCE_REMOVE;
}

/* ---- creation ---- */

int ek_pc_create(ek_net_conn *c, char **why)
{
    *why = NULL;
    GstElement *pipe = gst_pipeline_new(NULL);
    GstElement *webrtc = gst_element_factory_make("webrtcbin", NULL);
    if (pipe == NULL || webrtc == NULL) {
        if (pipe != NULL)
            gst_object_unref(pipe);
        if (webrtc != NULL)
            gst_object_unref(webrtc);
        *why = g_strdup("cannot create webrtcbin: install gstreamer1.0-plugins-bad, "
                        "gstreamer1.0-plugins-good and gstreamer1.0-nice");
        return EK_NET_ERR_WEBRTC;
    }
    gst_bin_add(GST_BIN(pipe), webrtc);
    c->pipeline = pipe;
    c->webrtc = webrtc;
    ek_stats_pipeline(1);

    /* One m-line only, but max-bundle is what browsers use (§9). */
    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    int rc = ek_ice_apply(webrtc, &c->net->cfg.ice, why);
    if (rc != EK_OK)
        return rc;

    c->webrtc_handlers[H_ICE_CANDIDATE] =
        g_signal_connect_data(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
                              ek_conn_ref(c), ek_conn_closure_unref, 0);
    c->webrtc_handlers[H_DATA_CHANNEL] =
        g_signal_connect_data(webrtc, "on-data-channel", G_CALLBACK(on_data_channel),
                              ek_conn_ref(c), ek_conn_closure_unref, 0);
    c->webrtc_handlers[H_ICE_STATE] =
        g_signal_connect_data(webrtc, "notify::ice-connection-state", G_CALLBACK(on_notify_ice),
                              ek_conn_ref(c), ek_conn_closure_unref, 0);
    c->webrtc_handlers[H_CONN_STATE] =
        g_signal_connect_data(webrtc, "notify::connection-state", G_CALLBACK(on_notify_conn),
                              ek_conn_ref(c), ek_conn_closure_unref, 0);

    GstBus *bus = gst_pipeline_get_bus(GST_PIPELINE(pipe));
    gst_bus_set_sync_handler(bus, bus_sync, ek_conn_ref(c), bus_data_free);
    gst_object_unref(bus);

    /* PLAYING before create-data-channel (§5). */
    if (gst_element_set_state(pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        *why = g_strdup("the webrtcbin pipeline refused to start");
        return EK_NET_ERR_WEBRTC;
    }
    c->open_timer = conn_timeout(c, c->open_timeout_ms, open_timeout_cb);
    return EK_OK;
}

int ek_pc_start_offer(ek_net_conn *c, char **why)
{
    GstWebRTCDataChannel *dc = NULL;
    /* PeerJS: createDataChannel(label, {ordered: !!reliable}) (§6.4). */
    GstStructure *opts = gst_structure_new("application/data-channel", "ordered", G_TYPE_BOOLEAN,
                                           (gboolean)(c->reliable != 0), NULL);
    g_signal_emit_by_name(c->webrtc, "create-data-channel", c->label, opts, &dc);
    gst_structure_free(opts);
    if (dc == NULL) {
        *why = g_strdup("webrtcbin would not create a data channel");
        return EK_NET_ERR_WEBRTC;
    }
    g_atomic_int_set(&c->dc_claimed, 1);
    ek_dc_connect_handlers(c, dc);
    ek_dc_attach(c, dc); /* takes our reference */
    c->state = PC_NEGOTIATING;
    emit_with_promise(c, "create-offer", offer_created, NULL);
    return EK_OK;
}

static GstWebRTCSessionDescription *parse_desc(GstWebRTCSDPType type, const char *sdp)
{
    GstSDPMessage *msg = NULL;
    if (gst_sdp_message_new_from_text(sdp, &msg) != GST_SDP_OK)
        return NULL;
    /* A description without a media line cannot carry our channel. */
    if (gst_sdp_message_medias_len(msg) == 0) {
        gst_sdp_message_free(msg);
        return NULL;
    }
    return gst_webrtc_session_description_new(type, msg);
}

int ek_pc_accept_offer(ek_net_conn *c, const char *sdp, char **why)
{
    GstWebRTCSessionDescription *desc = parse_desc(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
    if (desc == NULL) {
        *why = g_strdup("the peer's offer is not valid SDP");
        return EK_NET_ERR_PROTOCOL;
    }
    c->state = PC_NEGOTIATING;
    emit_with_promise(c, "set-remote-description", remote_set, desc);
    gst_webrtc_session_description_free(desc);
    return EK_OK;
}

void ek_pc_remote_answer(ek_net_conn *c, const char *sdp)
{
    GstWebRTCSessionDescription *desc = parse_desc(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    if (desc == NULL) {
        ek_conn_finish(c, EK_NET_ERR_PROTOCOL, "the peer's answer is not valid SDP");
        return;
    }
    c->remote_set = 1;
    emit_with_promise(c, "set-remote-description", remote_set, desc);
    gst_webrtc_session_description_free(desc);
}

void ek_pc_remote_candidate(ek_net_conn *c, int mline, const char *candidate)
{
    if (c->webrtc == NULL || candidate == NULL || candidate[0] == 0)
        return;
    if (c->net != NULL && !ek_ice_candidate_allowed(&c->net->cfg.ice, candidate)) {
        g_debug("ignoring a remote candidate off loopback: %s", candidate);
        return;
    }
    ek_stats_candidate(0, candidate);
    /* One bundled m-line: a candidate without an index belongs to it.
     * webrtcbin queues candidates that come before the remote description. */
    g_signal_emit_by_name(c->webrtc, "add-ice-candidate", (guint)(mline >= 0 ? mline : 0),
                          candidate);
}

/* ---- state watching ---- */

static void watch_dtls(ek_net_conn *c)
{
    if (c->dtls != NULL || c->webrtc == NULL)
        return;
    /* From the main loop only: this property get deadlocked when done
     * inside a data-channel callback (§6). */
    GObject *sctp = NULL;
    g_object_get(c->webrtc, "sctp-transport", &sctp, NULL);
    if (sctp == NULL)
        return;
    GObject *dtls = NULL;
    g_object_get(sctp, "transport", &dtls, NULL);
    g_object_unref(sctp);
    if (dtls == NULL)
        return;
    c->dtls = dtls;
    c->dtls_handler = g_signal_connect_data(dtls, "notify::state", G_CALLBACK(on_notify_dtls),
                                            ek_conn_ref(c), ek_conn_closure_unref, 0);
}

static int is_live(const ek_net_conn *c)
{
    return c->state == PC_NEGOTIATING || c->state == PC_OPEN || c->state == PC_DRAINING ||
           c->state == PC_CLOSING_DC || c->state == PC_REMOTE_CLOSING;
}

/* A transport failure while the connection is already closing ends it the
 * way the close began: ours completes (the peer tore down after our channel
 * close, as PeerJS does: it closes its whole PeerConnection), the peer's
 * keeps its reason. 1 if handled. */
static int ended_while_closing(ek_net_conn *c)
{
    if (c->state == PC_CLOSING_DC) {
        ek_conn_finish(c, 0, NULL);
        return 1;
    }
    if (c->state == PC_REMOTE_CLOSING) {
        ek_conn_finish(c, c->close_err, c->close_detail);
        return 1;
    }
    return 0;
}

static void on_ice_state(ek_net_conn *c)
{
    GstWebRTCICEConnectionState s = GST_WEBRTC_ICE_CONNECTION_STATE_NEW;
    g_object_get(c->webrtc, "ice-connection-state", &s, NULL);
    if (s == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED && !ended_while_closing(c))
        ek_conn_finish(c, EK_NET_ERR_ICE_FAILED, "ICE connectivity checks failed");
    else if (s == GST_WEBRTC_ICE_CONNECTION_STATE_CLOSED && c->state == PC_OPEN)
        ek_pc_remote_closed(c, EK_NET_ERR_PEER_LEFT, "the ICE transport closed");
}

static void on_conn_state(ek_net_conn *c)
{
    GstWebRTCPeerConnectionState s = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
    g_object_get(c->webrtc, "connection-state", &s, NULL);
    if (s == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
        watch_dtls(c);
    else if (s == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED && !ended_while_closing(c))
        ek_conn_finish(c, EK_NET_ERR_ICE_FAILED, "the peer connection failed (ICE or DTLS)");
}

static void on_dtls_state(ek_net_conn *c)
{
    GstWebRTCDTLSTransportState s = GST_WEBRTC_DTLS_TRANSPORT_STATE_NEW;
    g_object_get(c->dtls, "state", &s, NULL);
    if (s == GST_WEBRTC_DTLS_TRANSPORT_STATE_FAILED && !ended_while_closing(c))
        ek_conn_finish(c, EK_NET_ERR_DTLS_FAILED, "the DTLS handshake or transport failed");
    else if (s == GST_WEBRTC_DTLS_TRANSPORT_STATE_CLOSED)
        /* What a remote pc.close() looks like, and nothing else does (§6). */
        ek_pc_remote_closed(c, EK_NET_ERR_PEER_LEFT, "the peer closed the connection");
}

/* ---- close ---- */

static gboolean remote_grace_cb(gpointer data)
{
    ek_net_conn *c = data;
    if (c->state != PC_REMOTE_CLOSING)
        return G_SOURCE_CONTINUE; /* teardown removes us */
    gint64 now = g_get_monotonic_time();
    if (now - c->last_rx_us < (gint64)EK_PC_REMOTE_QUIET_MS * 1000 && now < c->drain_deadline_us)
        return G_SOURCE_CONTINUE;
    ek_conn_finish(c, c->close_err, c->close_detail);
    return G_SOURCE_CONTINUE;
}

void ek_pc_remote_closed(ek_net_conn *c, int err, const char *detail)
{
    /* The close may overtake messages still queued on another GStreamer
     * thread (data and close notifications come from different threads),
     * so keep delivering for a short grace before tearing down. */
    if (c->state == PC_CLOSING_DC) {
        ek_conn_finish(c, 0, NULL); /* our own close completed */
        return;
    }
    if (c->state != PC_OPEN && c->state != PC_DRAINING) {
        if (c->state == PC_NEGOTIATING)
            ek_conn_finish(c, err, detail);
        return;
    }
    c->state = PC_REMOTE_CLOSING;
    c->close_err = err;
    g_free(c->close_detail);
    c->close_detail = g_strdup(detail);
    ek_live_stop(c);
    drop_source(&c->close_timer);
    c->drain_deadline_us = g_get_monotonic_time() + (gint64)EK_PC_REMOTE_GRACE_MS * 1000;
    c->close_timer = conn_timeout(c, EK_PC_REMOTE_QUIET_MS / 2, remote_grace_cb);
}

static gboolean drain_cb(gpointer data)
{
    ek_net_conn *c = data;
    gint64 now = g_get_monotonic_time();
    if (c->state == PC_DRAINING) {
        ek_dc_pump(c);
        if (c->state != PC_DRAINING)
            return G_SOURCE_CONTINUE; /* the pump failed and finished it */
        int drained = g_queue_is_empty(&c->outq) && ek_dc_flushed(c);
        if (drained || now >= c->drain_deadline_us) {
            if (!drained)
                g_message("closing %s with %zu bytes unsent after %u ms", c->connection_id,
                          c->queued_bytes + (size_t)ek_dc_buffered(c), c->close_linger_ms);
            c->state = PC_CLOSING_DC;
            c->drain_deadline_us = now + (gint64)EK_PC_DC_CLOSE_WAIT_MS * 1000;
            if (c->dc != NULL)
                gst_webrtc_data_channel_close(c->dc);
        }
        return G_SOURCE_CONTINUE;
    }
    if (c->state == PC_CLOSING_DC && now >= c->drain_deadline_us) {
        /* The channel's on-close did not come; tear down anyway. */
        ek_conn_finish(c, 0, NULL);
        return G_SOURCE_CONTINUE;
    }
    return G_SOURCE_CONTINUE;
}

void ek_pc_close_gracefully(ek_net_conn *c)
{
    if (c->state != PC_OPEN)
        return;
    c->state = PC_DRAINING;
    ek_live_stop(c);
    c->drain_deadline_us = g_get_monotonic_time() + (gint64)c->close_linger_ms * 1000;
    drop_source(&c->close_timer);
    c->close_timer = conn_timeout(c, EK_PC_DRAIN_POLL_MS, drain_cb);
    drain_cb(c); /* often there is nothing to wait for */
}

/*
 * Lingering. GStreamer 1.22 closes a data channel by asking usrsctp for a
 * stream reset and reports the close at once, before the reset is on the
 * wire; stopping the pipeline right then can lose it, and a browser peer
 * then learns of the close only when ICE consent fails, half a minute
 * later (seen under ASan, where everything is slower). So after a close we
 * asked for, the pipeline is cut loose from the connection (no handler of
 * ours left on it) and kept running for EK_PC_LINGER_MS before it stops.
 */
#define EK_PC_LINGER_MS 250

typedef struct ek_linger {
    ek_net *net;
    GstElement *pipeline;
    gint64 until_us;
    GSource *timer;
} ek_linger;

static void pipeline_stop(GstElement *pipeline)
{
    /* From the main loop, never a streaming thread (§6). */
    gst_element_set_state(pipeline, GST_STATE_NULL);
    /* Flushing drops anything posted from now on: a message left queued on
     * the bus holds its source element, and so the whole pipeline. */
    GstBus *bus = gst_pipeline_get_bus(GST_PIPELINE(pipeline));
    gst_bus_set_flushing(bus, TRUE);
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
    ek_stats_pipeline(-1);
}

static void linger_end(ek_linger *l)
{
    l->net->lingering = g_list_remove(l->net->lingering, l);
    if (l->timer != NULL) {
        g_source_destroy(l->timer);
        g_source_unref(l->timer);
    }
    pipeline_stop(l->pipeline);
    g_free(l);
}

static gboolean linger_cb(gpointer data)
{
    linger_end(data);
    return G_SOURCE_REMOVE;
}

static GstBusSyncReply bus_drop_all(GstBus *bus, GstMessage *msg, gpointer data)
{
    (void)bus;
    (void)data;
    gst_message_unref(msg);
    return GST_BUS_DROP;
}

void ek_pc_bury_all(ek_net *net)
{
    /* The endpoint is going away: give the youngest a last moment to send
     * (a bounded wait, only after a close we asked for), then stop them. */
    gint64 until = 0;
    for (GList *l = net->lingering; l != NULL; l = l->next)
        until = MAX(until, ((ek_linger *)l->data)->until_us);
    gint64 wait = until - g_get_monotonic_time();
    if (wait > 0)
        g_usleep((gulong)MIN(wait, (gint64)EK_PC_LINGER_MS * 1000));
    GList *all = net->lingering;
    net->lingering = NULL;
    for (GList *l = all; l != NULL; l = l->next) {
        ek_linger *lg = l->data;
        g_source_destroy(lg->timer);
        g_source_unref(lg->timer);
        pipeline_stop(lg->pipeline);
        g_free(lg);
    }
    g_list_free(all);
}

void ek_pc_teardown(ek_net_conn *c, int linger)
{
    drop_source(&c->open_timer);
    drop_source(&c->close_timer);
    ek_dc_detach(c);
    if (c->dtls != NULL) {
        g_signal_handler_disconnect(c->dtls, c->dtls_handler);
        g_object_unref(c->dtls);
        c->dtls = NULL;
    }
    if (c->webrtc != NULL) {
        for (int i = 0; i < H_COUNT; i++) {
            if (c->webrtc_handlers[i] != 0)
                g_signal_handler_disconnect(c->webrtc, c->webrtc_handlers[i]);
            c->webrtc_handlers[i] = 0;
        }
        c->webrtc = NULL; /* owned by the pipeline */
    }
    if (c->pipeline == NULL)
        return;
    if (linger && c->net != NULL && !c->net->freeing) {
        /* Nothing of the connection stays attached: the bus handler that
         * holds a reference is swapped for one that only drops. */
        GstBus *bus = gst_pipeline_get_bus(GST_PIPELINE(c->pipeline));
        gst_bus_set_sync_handler(bus, bus_drop_all, NULL, NULL);
        gst_object_unref(bus);
        ek_linger *l = g_new0(ek_linger, 1);
        l->net = c->net;
        l->pipeline = c->pipeline;
        l->until_us = g_get_monotonic_time() + (gint64)EK_PC_LINGER_MS * 1000;
        l->timer = g_timeout_source_new(EK_PC_LINGER_MS);
        g_source_set_callback(l->timer, linger_cb, l, NULL);
        g_source_attach(l->timer, c->net->ctx);
        c->net->lingering = g_list_prepend(c->net->lingering, l);
    } else {
        pipeline_stop(c->pipeline);
    }
    c->pipeline = NULL;
}

/* ---- events on the main loop ---- */

static void send_description(ek_net_conn *c, GstWebRTCSessionDescription *desc, int offer)
{
    gchar *sdp = gst_sdp_message_as_text(desc->sdp);
    json_t *payload;
    if (offer) {
        json_t *meta = NULL;
        if (c->metadata_json != NULL) {
            json_error_t jerr;
            meta = json_loads(c->metadata_json, JSON_DECODE_ANY, &jerr);
        }
        payload = ek_pj_offer_payload(sdp, c->connection_id, c->label, c->reliable,
                                      ek_net_serialization_name(c->serialization), meta);
    } else {
        payload = ek_pj_answer_payload(sdp, c->connection_id);
    }
    g_free(sdp);
    /* Sent before set-local-description starts gathering, so the peer gets
     * it before any of our candidates. */
    ek_conn_signal(c, offer ? "OFFER" : "ANSWER", payload);
    emit_with_promise(c, "set-local-description", local_set, desc);
}

void ek_pc_handle_event(ek_ev *ev)
{
    ek_net_conn *c = ev->conn;
    if (!is_live(c))
        return; /* late events of a connection already torn down */
    switch (ev->type) {
    case EV_OFFER_CREATED: send_description(c, ev->desc, 1); break;
    case EV_ANSWER_CREATED: send_description(c, ev->desc, 0); break;
    case EV_REMOTE_SET:
        if (ev->str != NULL) {
            char *why = g_strdup_printf("webrtcbin refused the peer's description: %s", ev->str);
            ek_conn_finish(c, EK_NET_ERR_WEBRTC, why);
            g_free(why);
            break;
        }
        c->remote_set = 1;
        if (!c->outgoing && c->state == PC_NEGOTIATING)
            emit_with_promise(c, "create-answer", answer_created, NULL);
        break;
    case EV_LOCAL_SET:
        if (ev->str != NULL) {
            char *why = g_strdup_printf("webrtcbin refused our description: %s", ev->str);
            ek_conn_finish(c, EK_NET_ERR_WEBRTC, why);
            g_free(why);
            break;
        }
        c->local_set = 1;
        break;
    case EV_NEGOTIATION_ERROR: ek_conn_finish(c, EK_NET_ERR_WEBRTC, ev->str); break;
    case EV_ICE_CANDIDATE:
        ek_stats_candidate(1, ev->str);
        ek_conn_signal(c, "CANDIDATE", ek_pj_candidate_payload(ev->str, ev->num, c->connection_id));
        break;
    case EV_ICE_STATE: on_ice_state(c); break;
    case EV_CONN_STATE: on_conn_state(c); break;
    case EV_DTLS_STATE: on_dtls_state(c); break;
    case EV_BUS_ERROR:
        /* When the peer closes its whole PeerConnection (what PeerJS's
         * conn.close() does), its SCTP ABORT makes sctpenc/sctpdec fail
         * before the DTLS transport reports closed: once open, an error of
         * the SCTP elements means the association is gone. */
        if ((c->state == PC_OPEN || c->state == PC_DRAINING) &&
            (g_str_has_prefix(ev->str, "sctpenc") || g_str_has_prefix(ev->str, "sctpdec"))) {
            char *why = g_strdup_printf("the SCTP association with the peer ended (%s)", ev->str);
            ek_pc_remote_closed(c, EK_NET_ERR_PEER_LEFT, why);
            g_free(why);
            break;
        }
        if (!ended_while_closing(c))
            ek_conn_finish(c, EK_NET_ERR_WEBRTC, ev->str);
        break;
    case EV_DATA_CHANNEL: {
        GstWebRTCDataChannel *dc = GST_WEBRTC_DATA_CHANNEL(ev->obj);
        if (c->dc != NULL || c->outgoing) {
            g_message("closing an extra data channel from %s", c->peer_id);
            gst_webrtc_data_channel_close(dc);
            break;
        }
        ev->obj = NULL; /* attach takes the reference */
        ek_dc_attach(c, dc);
        break;
    }
    default: ek_dc_handle_event(ev); break;
    }
}
