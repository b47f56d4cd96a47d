/*
 * net_internal.h: what the files of client/net share and the public API
 * hides: the owned configuration, the main-loop mailbox, the signaling
 * client, the event type marshalled from GStreamer threads, and the two
 * objects (ek_net, ek_net_conn).
 *
 * The threading rule of the whole layer (webrtc-transport.md §6, §9):
 * webrtcbin, data-channel, promise and notify callbacks run on GStreamer
 * threads; they only copy what they were given into an ek_ev and post it
 * to the mailbox. All state lives on the GLib main loop. Each signal
 * handler and promise owns a reference on its connection, released by
 * GLib only once no emission can still be running (GClosure notify), so a
 * late callback never sees freed memory.
 */
#ifndef EK_NET_INTERNAL_H
#define EK_NET_INTERNAL_H

#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>
#include <jansson.h>

#include <enkrypt/ek_base.h>

#include "ek_net.h"
#include "ice_config.h"
#include "peerjs_msg.h"
#include "serialization.h"

/* ---- config.c: the owned, validated configuration ---- */

typedef struct ek_net_cfg {
    char *http_base; /* "http(s)://host:port/path/": GET {http_base}{key}/id */
    char *ws_base;   /* "ws(s)://host:port/path/peerjs" */
    char *key, *id, *token;
    ek_ice_settings ice;
    unsigned heartbeat_ms, reconnect_min_ms, reconnect_max_ms, reconnect_attempts;
    unsigned open_timeout_ms, ping_interval_ms, ping_timeout_ms, close_linger_ms;
    size_t buffer_high, buffer_low, send_queue_bytes, max_message;
} ek_net_cfg;

/* Validate and copy; EK_NET_ERR_CONFIG with *why (g_free) on a bad value. */
int ek_net_cfg_build(ek_net_cfg *out, const ek_net_config *in, char **why);
void ek_net_cfg_clear(ek_net_cfg *c);
/* n random characters of [0-9a-z] from the OS CSPRNG, like PeerJS's
 * randomToken() but unpredictable (g_free). NULL if the RNG fails. */
char *ek_net_random_token(size_t n);

/* ---- mailbox.c: any thread -> the main loop, in order ---- */

typedef struct ek_mailbox ek_mailbox;
typedef void (*ek_mailbox_dispatch_fn)(void *item, void *user);
typedef void (*ek_mailbox_drop_fn)(void *item);

ek_mailbox *ek_mailbox_new(GMainContext *ctx, ek_mailbox_dispatch_fn dispatch,
                           ek_mailbox_drop_fn drop, void *user);
ek_mailbox *ek_mailbox_ref(ek_mailbox *mb);
void ek_mailbox_unref(ek_mailbox *mb);
/* Any thread. Dispatched later on the main loop, never inside this call. */
void ek_mailbox_post(ek_mailbox *mb, void *item);
/* Main loop: drop what is pending; later posts are dropped at once. */
void ek_mailbox_shutdown(ek_mailbox *mb);

/* ---- signaling.c: the PeerJS WebSocket client ---- */

typedef struct ek_signaling ek_signaling;
typedef struct ek_signaling_handlers {
    void (*on_state)(void *user, ek_net_state state, int err, const char *detail);
    /* OFFER, ANSWER, CANDIDATE, LEAVE, EXPIRE (msg valid during the call) */
    void (*on_message)(void *user, const ek_pj_msg *msg);
} ek_signaling_handlers;

ek_signaling *ek_signaling_new(GMainContext *ctx, const ek_net_cfg *cfg,
                               const ek_signaling_handlers *h, void *user);
void ek_signaling_start(ek_signaling *s);
const char *ek_signaling_id(const ek_signaling *s);
ek_net_state ek_signaling_state(const ek_signaling *s);
/* Send {type, payload, dst}; payload is stolen. Queued (bounded) while the
 * socket is down. 0 or EK_ERR_NOMEM / EK_ERR_LIMIT (queue full). */
int ek_signaling_send(ek_signaling *s, const char *type, const char *dst, json_t *payload);
void ek_signaling_free(ek_signaling *s);

/* ---- events from GStreamer threads ---- */

typedef enum ek_ev_type {
    EV_OFFER_CREATED,     /* desc */
    EV_ANSWER_CREATED,    /* desc */
    EV_REMOTE_SET,        /* set-remote-description replied; str = error or NULL */
    EV_LOCAL_SET,         /* set-local-description replied; str = error or NULL */
    EV_NEGOTIATION_ERROR, /* str */
    EV_ICE_CANDIDATE,     /* num = mline, str = candidate */
    EV_ICE_STATE,         /* notify::ice-connection-state */
    EV_CONN_STATE,        /* notify::connection-state */
    EV_DTLS_STATE,        /* notify::state of the DTLS transport */
    EV_BUS_ERROR,         /* str */
    EV_DATA_CHANNEL,      /* obj = the incoming GstWebRTCDataChannel */
    EV_DC_OPEN,
    EV_DC_CLOSE,
    EV_DC_ERROR,      /* str */
    EV_DC_DATA,       /* bytes (may be NULL: empty message) */
    EV_DC_STRING,     /* str */
    EV_DC_LOW,        /* buffered-amount fell below the low threshold */
    EV_NOTIFY_CLOSED, /* main loop -> app: deliver on_state(CLOSED) */
    EV_WRITABLE,      /* main loop -> app: on_writable */
    EV_INCOMING,      /* main loop -> app: on_incoming */
    EV_NET_STATE,     /* main loop -> app: the endpoint's on_state (conn is NULL) */
} ek_ev_type;

typedef struct ek_ev {
    ek_ev_type type;
    ek_net_conn *conn; /* a reference; NULL for EV_NET_STATE */
    GBytes *bytes;
    char *str;
    guint num;
    int err;
    GObject *obj;
    GstWebRTCSessionDescription *desc;
} ek_ev;

/* Post an event for conn from any thread (takes its own reference). */
void ek_ev_post(ek_net_conn *c, ek_ev_type type, GBytes *bytes, char *str, guint num, GObject *obj,
                GstWebRTCSessionDescription *desc);
void ek_ev_free(ek_ev *ev);

/* ---- the objects ---- */

typedef enum ek_pc_state {
    PC_NEW,            /* created, not yet negotiating (incoming, before accept) */
    PC_NEGOTIATING,    /* offer/answer, ICE, DTLS, SCTP */
    PC_OPEN,           /* data channel open */
    PC_DRAINING,       /* app closed: sending what is queued */
    PC_CLOSING_DC,     /* data channel close sent, waiting for it to finish */
    PC_REMOTE_CLOSING, /* the peer closed; a short grace for in-flight messages */
    PC_CLOSED,         /* torn down; the CLOSED notification is pending or done */
} ek_pc_state;

typedef struct ek_early_cand {
    int mline;
    char *candidate;
} ek_early_cand;

/* One queued outgoing data-channel message. */
typedef struct ek_out_msg {
    int is_text;
    uint8_t *data; /* malloc'd; text is NUL-terminated */
    size_t len;
} ek_out_msg;

struct ek_net_conn {
    gatomicrefcount ref;
    ek_net *net;         /* NULL once detached from the endpoint */
    ek_mailbox *mailbox; /* a reference: events can outlive the endpoint */

    char *peer_id, *connection_id, *label, *metadata_json;
    char *key; /* peer_id "\n" connection_id: the endpoint's table key */
    ek_net_serialization serialization;
    int reliable, outgoing, accepted, remote_caps;
    ek_pc_state state;
    int close_err;
    char *close_detail;

    ek_net_conn_callbacks cb;
    void *user;

    /* webrtcbin and friends (peer_connection.c) */
    GstElement *pipeline, *webrtc;
    GObject *dtls; /* GstWebRTCDTLSTransport being watched */
    gulong webrtc_handlers[8];
    gulong dtls_handler;
    GSource *bus_watch, *open_timer, *close_timer;
    char *pending_offer_sdp; /* incoming: the remote offer until negotiation starts */
    int remote_set, local_set;

    /* limits copied from the configuration (the conn may outlive no net,
     * but reading them must not depend on it) */
    size_t buffer_high, buffer_low, send_queue_bytes;
    unsigned open_timeout_ms, close_linger_ms, ping_interval_ms, ping_timeout_ms;

    /* remote candidates that came before the app accepted the offer */
    GQueue early_cands; /* ek_early_cand */
    int in_incoming;    /* inside on_incoming: accept is allowed */

    /* the data channel (datachannel.c) */
    GstWebRTCDataChannel *dc;
    gint dc_claimed; /* atomic: the first channel is ours, others are refused */
    gulong dc_handlers[6];
    int dc_open_seen;    /* on-open came before the channel was attached */
    gint pump_scheduled; /* atomic: an EV_DC_LOW is on its way */
    GQueue outq;         /* ek_out_msg */
    size_t queued_bytes;
    int want_writable, writable_posted, open_notified;
    GQueue early_msgs; /* ek_ev of messages that beat the open event */
    size_t early_bytes;
    gint64 drain_deadline_us;
    guint64 bytes_handed; /* bytes given to webrtcbin on this channel */
    GstElement *sctpenc;  /* webrtcbin's SCTP encoder, found when draining */
    ek_ser ser;

    /* liveness (liveness.c) */
    GSource *ping_timer;
    gint64 last_rx_us;
    guint64 ping_seq;
};

struct ek_net {
    GMainContext *ctx;
    ek_net_cfg cfg;
    ek_net_callbacks cb;
    void *user;
    ek_signaling *sig;
    ek_mailbox *mailbox;
    GHashTable *conns; /* key -> ek_net_conn (one reference each) */
    GList *lingering;  /* ek_linger: closed pipelines still sending their last packets */
    int freeing;
};

/* net.c */
ek_net_conn *ek_conn_ref(ek_net_conn *c);
void ek_conn_unref(ek_net_conn *c);
/* A GClosureNotify that drops a connection reference (for signal handlers). */
void ek_conn_closure_unref(gpointer data, GClosure *closure);
/* Tear the connection down now and report CLOSED(err, detail) later. */
void ek_conn_finish(ek_net_conn *c, int err, const char *detail);
/* Send a signaling message about this connection to its peer. */
void ek_conn_signal(ek_net_conn *c, const char *type, json_t *payload);
/* The data channel opened (from datachannel.c). */
void ek_conn_opened(ek_net_conn *c);
/* Deliver a frame to the app (from datachannel.c, after liveness filtering). */
void ek_conn_deliver_frame(ek_net_conn *c, ek_net_frame_kind kind, const uint8_t *data, size_t len);

/* peer_connection.c */
int ek_pc_create(ek_net_conn *c, char **why);
int ek_pc_start_offer(ek_net_conn *c, char **why);
int ek_pc_accept_offer(ek_net_conn *c, const char *sdp, char **why);
void ek_pc_remote_answer(ek_net_conn *c, const char *sdp);
void ek_pc_remote_candidate(ek_net_conn *c, int mline, const char *candidate);
void ek_pc_handle_event(ek_ev *ev);
/* Stop all timers and watches, close the channel, set the pipeline to
 * NULL and release it. Main loop only; idempotent. With linger, the
 * pipeline is cut loose from the connection but kept running for
 * EK_PC_LINGER_MS first (see ek_pc_teardown). */
void ek_pc_teardown(ek_net_conn *c, int linger);
/* Stop every lingering pipeline of the endpoint now (ek_net_free). */
void ek_pc_bury_all(ek_net *net);
/* Begin a graceful close (the app asked): drain, close the channel, finish. */
void ek_pc_close_gracefully(ek_net_conn *c);
/* The peer closed: keep delivering what is in flight for a short grace,
 * then finish with err/detail. */
void ek_pc_remote_closed(ek_net_conn *c, int err, const char *detail);

/* datachannel.c */
void ek_dc_connect_handlers(ek_net_conn *c, GstWebRTCDataChannel *dc);
void ek_dc_attach(ek_net_conn *c, GstWebRTCDataChannel *dc);
void ek_dc_detach(ek_net_conn *c);
int ek_dc_send_frame(ek_net_conn *c, ek_net_frame_kind kind, const uint8_t *data, size_t len);
int ek_dc_send_control(ek_net_conn *c, const char *text);
void ek_dc_pump(ek_net_conn *c);
guint64 ek_dc_buffered(ek_net_conn *c);
/* 1 once everything we sent has left webrtcbin for the SCTP stack. */
int ek_dc_flushed(ek_net_conn *c);
void ek_dc_clear_queue(ek_net_conn *c);
void ek_dc_handle_event(ek_ev *ev);

/* liveness.c */
void ek_live_start(ek_net_conn *c);
void ek_live_stop(ek_net_conn *c);
void ek_live_seen(ek_net_conn *c);
/* 1 if text was a liveness control message (and was handled). */
int ek_live_handle_control(ek_net_conn *c, const char *text, size_t len);

/* process-wide counters (net.c) */
void ek_stats_pipeline(int delta);
void ek_stats_candidate(int local, const char *candidate);

#endif /* EK_NET_INTERNAL_H */
