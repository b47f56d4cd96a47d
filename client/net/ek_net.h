/*
 * ek_net.h: the native client's network layer. A peer registers its ID with a
 * PeerJS-compatible broker (enkrypt-broker or the `peer` npm server), and
 * opens WebRTC data channels (GStreamer webrtcbin, one per connection) to
 * other peers, native or browser PeerJS ones. The layer carries opaque
 * frames; what they mean is the session engine's business (issue 9).
 *
 * Threading: everything here belongs to one GLib main context, the
 * thread-default one of the thread that calls ek_net_new(). Call every
 * function from that thread; every callback runs there too, never inside a
 * GStreamer thread (../shared/research/webrtc-transport.md §9: webrtcbin
 * callbacks only marshal). Callbacks are never made from inside a call into
 * this API, so a callback may call any function here, including close.
 *
 * Errors are negative ints: libenkrypt's ek_err codes, plus the EK_NET_ERR_*
 * codes below. ek_net_strerror() gives the words for either.
 *
 * Usage:
 *
 *   ek_net_config cfg;
 *   ek_net_config_init(&cfg);
 *   cfg.broker_url = "ws://127.0.0.1:9000/";    // http(s) or ws(s); path = PeerJS path
 *   cfg.id = NULL;                              // NULL: ask the broker (GET /{key}/id)
 *   ek_net *net;
 *   ek_net_new(&net, &cfg, &callbacks, app);    // starts registering at once
 *   ...
 *   ek_net_conn *c;
 *   ek_net_connect(&c, net, "bob", NULL, &conn_callbacks, app);
 *   ek_net_conn_send(c, frame, len);            // after on_state(EK_NET_CONN_OPEN)
 *   ek_net_conn_close(c);                       // on_state(EK_NET_CONN_CLOSED) follows
 *   ek_net_free(net);
 */
#ifndef EK_NET_H
#define EK_NET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---- */

/* The network layer's own codes. They sit far below libenkrypt's ek_err
 * range so the two never collide; functions may return either. */
enum {
    EK_NET_ERR_BROKER_UNREACHABLE = -1001, /* could not reach the broker (TCP, HTTP or WS) */
    EK_NET_ERR_BROKER_LOST = -1002,        /* the broker connection dropped */
    EK_NET_ERR_ID_TAKEN = -1003,           /* the broker says our ID is held by someone else */
    EK_NET_ERR_INVALID_KEY = -1004,        /* the broker refused our API key */
    EK_NET_ERR_BROKER_REFUSED = -1005,     /* the broker sent ERROR (text in the detail) */
    EK_NET_ERR_PEER_UNAVAILABLE = -1006,   /* EXPIRE: the peer is not registered */
    EK_NET_ERR_PEER_LEFT = -1007,          /* LEAVE from the peer, or it closed the channel */
    EK_NET_ERR_ICE_FAILED = -1008,         /* no working ICE candidate pair */
    EK_NET_ERR_DTLS_FAILED = -1009,        /* the DTLS transport failed or closed */
    EK_NET_ERR_TIMEOUT = -1010,            /* the connection did not open in time */
    EK_NET_ERR_PEER_TIMEOUT = -1011,       /* no answer to the liveness ping */
    EK_NET_ERR_WOULD_BLOCK = -1012,        /* the send queue is full: wait for on_writable */
    EK_NET_ERR_CLOSED = -1013,             /* the connection is closing or closed */
    EK_NET_ERR_WEBRTC = -1014,             /* webrtcbin/GStreamer failed (detail says how) */
    EK_NET_ERR_PROTOCOL = -1015,           /* the peer or broker broke the protocol */
    EK_NET_ERR_NOT_REGISTERED = -1016,     /* no ID yet: wait for EK_NET_REGISTERED */
    EK_NET_ERR_CONFIG = -1017,             /* a configuration value is invalid */
    EK_NET_ERR_SHUTDOWN = -1018,           /* the endpoint is being freed */
};

/* The words for an EK_NET_ERR_* or ek_err code; never NULL. */
const char *ek_net_strerror(int err);

/* ---- configuration ---- */

/* Largest frame ek_net_conn_send and friends accept: webrtcbin cannot send a
 * data-channel message over 65536 bytes (webrtc-transport.md §6). */
#define EK_NET_MAX_FRAME 65536u

/* PeerJS serializations (peerjs-protocol.md §6.5). RAW is ours: each frame
 * is one data-channel message, unchanged. */
typedef enum ek_net_serialization {
    EK_NET_SER_RAW = 0,    /* "raw": bytes as binary messages, text as text messages */
    EK_NET_SER_JSON = 1,   /* "json": UTF-8 JSON in binary messages */
    EK_NET_SER_BINARY = 2, /* "binary" (PeerJS's default): BinaryPack, chunked at 16300 */
} ek_net_serialization;

/* One STUN or TURN server, in RTCIceServer's words. */
typedef struct ek_net_ice_server {
    const char *url;        /* stun:host[:port], turn:host[:port][?transport=udp|tcp], turns: */
    const char *username;   /* TURN only */
    const char *credential; /* TURN only */
} ek_net_ice_server;

#define EK_NET_MAX_ICE_SERVERS 8
#define EK_NET_MAX_LOCAL_ADDRS 8

typedef struct ek_net_config {
    /* The broker: scheme http/https/ws/wss, host, port, and the PeerJS mount
     * path (default "/"); e.g. "ws://127.0.0.1:9000/" or "https://b.example/myapp/". */
    const char *broker_url;
    const char *key;   /* PeerJS API key; default "peerjs" */
    const char *id;    /* our peer ID; NULL or "": ask the broker (GET {path}{key}/id) */
    const char *token; /* registration token; NULL: a fresh random one */

    /* ICE. No server at all by default: nothing is contacted unless the
     * user configures it (DESIGN.md §4). */
    ek_net_ice_server ice_servers[EK_NET_MAX_ICE_SERVERS];
    size_t n_ice_servers;
    int relay_only; /* ice-transport-policy=relay: only TURN relay candidates */
    /* Gather only on these local addresses (libnice add-local-ip-address):
     * {"127.0.0.1"} keeps a test on loopback (libnice never gathers loopback
     * on its own; webrtc-transport.md §5), and then remote candidates off
     * loopback are ignored too. Empty: every interface. */
    const char *local_addrs[EK_NET_MAX_LOCAL_ADDRS];
    size_t n_local_addrs;

    /* Timers, in milliseconds (0 = the default in brackets). */
    unsigned heartbeat_ms;       /* PeerJS HEARTBEAT [5000] */
    unsigned reconnect_min_ms;   /* first reconnect delay, doubled each try [500] */
    unsigned reconnect_max_ms;   /* cap of the delay [30000] */
    unsigned reconnect_attempts; /* give up after this many failed tries in a row; 0 = never */
    unsigned open_timeout_ms;    /* a connection must open within this [30000] */
    unsigned ping_interval_ms;   /* liveness ping between enkrypt peers [5000] */
    unsigned ping_timeout_ms;    /* silence after which the peer is dead [15000] */
    unsigned close_linger_ms;    /* how long close waits for queued data to drain [3000] */

    /* Flow control (webrtc-transport.md §4, §9): keep the data channel's
     * buffered-amount under high water, resume below low water; frames wait
     * in our own queue, which holds at most send_queue_bytes. */
    size_t buffer_high_bytes; /* [4 MiB] */
    size_t buffer_low_bytes;  /* [1 MiB] */
    size_t send_queue_bytes;  /* [1 MiB] */
    size_t max_message_bytes; /* largest reassembled incoming message [1 MiB] */
} ek_net_config;

/* Fill cfg with the defaults (all pointers NULL, all numbers 0 = default). */
void ek_net_config_init(ek_net_config *cfg);

/* Add one ICE server / local address; EK_NET_ERR_CONFIG when full or bad.
 * The strings are copied when ek_net_new() runs, not here. */
int ek_net_config_add_ice_server(ek_net_config *cfg, const char *url, const char *username,
                                 const char *credential);
int ek_net_config_add_local_addr(ek_net_config *cfg, const char *addr);

/* ---- the endpoint ---- */

typedef struct ek_net ek_net;
typedef struct ek_net_conn ek_net_conn;

typedef enum ek_net_state {
    EK_NET_CONNECTING = 0,   /* asking for an ID or opening the WebSocket */
    EK_NET_REGISTERED = 1,   /* OPEN received: ek_net_id() is ours */
    EK_NET_RECONNECTING = 2, /* lost or could not reach the broker; retrying (err says why) */
    EK_NET_FAILED = 3,       /* gave up for good: ID taken, bad key, or out of retries */
} ek_net_state;

/* What an incoming OFFER asked for. Strings live until the callback returns. */
typedef struct ek_net_offer_info {
    const char *peer_id;       /* who offers (the broker's `src`) */
    const char *connection_id; /* PeerJS connectionId, "dc_..." */
    const char *label;
    const char *metadata_json; /* the offer's metadata as JSON text, or NULL */
    ek_net_serialization serialization;
    int reliable; /* 1: ordered channel; PeerJS's default is 0 (unordered) */
} ek_net_offer_info;

typedef struct ek_net_callbacks {
    /* Registration state changed. err is 0 or why (EK_NET_ERR_ID_TAKEN,
     * _BROKER_UNREACHABLE, ...); detail is a human sentence or NULL. */
    void (*on_state)(ek_net *net, ek_net_state state, int err, const char *detail, void *user);
    /* A peer offers a connection. To accept, call ek_net_conn_accept(conn,
     * callbacks, user) before returning; otherwise it is refused. */
    void (*on_incoming)(ek_net *net, ek_net_conn *conn, const ek_net_offer_info *info, void *user);
} ek_net_callbacks;

/* Create an endpoint and start registering. cfg and the strings it points
 * to are copied. Returns 0, EK_NET_ERR_CONFIG (bad URL, bad ICE server, with
 * a g_warning saying which) or EK_ERR_NOMEM. */
int ek_net_new(ek_net **out, const ek_net_config *cfg, const ek_net_callbacks *cb, void *user);

/* Close every connection (no more callbacks), leave the broker, free. */
void ek_net_free(ek_net *net);

/* Our peer ID once known (EK_NET_REGISTERED), else NULL. */
const char *ek_net_id(const ek_net *net);
ek_net_state ek_net_get_state(const ek_net *net);

/* ---- connections ---- */

typedef enum ek_net_conn_state {
    EK_NET_CONN_CONNECTING = 0, /* offer/answer and ICE/DTLS in progress */
    EK_NET_CONN_OPEN = 1,       /* the data channel is open: frames flow */
    EK_NET_CONN_CLOSING = 2,    /* draining the queue before closing */
    EK_NET_CONN_CLOSED = 3,     /* final: err says why (0 = closed on request) */
} ek_net_conn_state;

/* How a frame travelled. RAW connections give BYTES and TEXT; JSON ones
 * give VALUE; BINARY ones give BYTES (a BinaryPack raw), TEXT (a string) or
 * VALUE (anything else, converted to JSON; raw bytes nested inside become
 * arrays of numbers). */
typedef enum ek_net_frame_kind {
    EK_NET_FRAME_BYTES = 0,
    EK_NET_FRAME_TEXT = 1,  /* UTF-8, not NUL-terminated in data (but data[len] == 0) */
    EK_NET_FRAME_VALUE = 2, /* JSON text of a structured value (data[len] == 0) */
} ek_net_frame_kind;

typedef struct ek_net_conn_callbacks {
    /* State changed. CLOSED comes exactly once per connection, and after it
     * returns the handle is gone. err/detail say why for CLOSED. */
    void (*on_state)(ek_net_conn *conn, ek_net_conn_state state, int err, const char *detail,
                     void *user);
    /* One whole frame, in order on reliable connections. data is valid only
     * during the call. */
    void (*on_frame)(ek_net_conn *conn, ek_net_frame_kind kind, const uint8_t *data, size_t len,
                     void *user);
    /* The send queue drained after a send returned EK_NET_ERR_WOULD_BLOCK. */
    void (*on_writable)(ek_net_conn *conn, void *user);
} ek_net_conn_callbacks;

/* Options of an outgoing connection. NULL options = the defaults. */
typedef struct ek_net_connect_opts {
    ek_net_serialization serialization; /* [RAW] */
    int unreliable;                     /* 1: unordered channel (PeerJS reliable:false) */
    const char *label;                  /* [the connectionId, as PeerJS does] */
    const char *metadata_json;          /* any JSON value, or NULL (sent as null) */
} ek_net_connect_opts;

/* Offer a connection to peer_id. The handle is valid until on_state(CLOSED)
 * returns. Needs EK_NET_REGISTERED (else EK_NET_ERR_NOT_REGISTERED). */
int ek_net_connect(ek_net_conn **out, ek_net *net, const char *peer_id,
                   const ek_net_connect_opts *opts, const ek_net_conn_callbacks *cb, void *user);

/* Accept an incoming connection, only from inside on_incoming. */
int ek_net_conn_accept(ek_net_conn *conn, const ek_net_conn_callbacks *cb, void *user);

/* Queue one frame. 0, EK_NET_ERR_WOULD_BLOCK (queue full: wait for
 * on_writable), EK_ERR_TOO_LARGE (over EK_NET_MAX_FRAME), EK_NET_ERR_CLOSED,
 * EK_ERR_STATE (not open yet), EK_ERR_UNSUPPORTED (bytes on a JSON
 * connection), EK_ERR_DECODE (send_value: not JSON; send_text: not UTF-8). */
int ek_net_conn_send(ek_net_conn *conn, const uint8_t *data, size_t len);
int ek_net_conn_send_text(ek_net_conn *conn, const char *utf8, size_t len);
int ek_net_conn_send_value(ek_net_conn *conn, const char *json, size_t len);

/* Close: stop accepting frames, send what is queued (up to close_linger_ms),
 * close the channel, tear down. on_state(CLOSED, 0) follows later. */
void ek_net_conn_close(ek_net_conn *conn);

const char *ek_net_conn_peer_id(const ek_net_conn *conn);
const char *ek_net_conn_id(const ek_net_conn *conn); /* the PeerJS connectionId */
ek_net_serialization ek_net_conn_serialization(const ek_net_conn *conn);
ek_net_conn_state ek_net_conn_get_state(const ek_net_conn *conn);
/* Bytes in our queue plus the data channel's buffered-amount. */
size_t ek_net_conn_pending_bytes(const ek_net_conn *conn);
/* 1 when the liveness ping runs (both ends are enkrypt peers). */
int ek_net_conn_has_ping(const ek_net_conn *conn);
void *ek_net_conn_user(const ek_net_conn *conn);

/* The PeerJS name of a serialization ("raw", "json", "binary"), and back
 * (also "default" and "binary-utf8"); -1 for an unknown name. */
const char *ek_net_serialization_name(ek_net_serialization s);
int ek_net_serialization_from_name(const char *name);

/* Counters for tests and the demo, for the whole process. */
enum {
    EK_NET_CAND_HOST,
    EK_NET_CAND_SRFLX,
    EK_NET_CAND_PRFLX,
    EK_NET_CAND_RELAY,
    EK_NET_CAND_TYPES
};
typedef struct ek_net_stats {
    unsigned live_conns;     /* ek_net_conn objects not yet freed */
    unsigned live_pipelines; /* webrtcbin pipelines not yet disposed */
    /* ICE candidates by type ("typ host" ...): ours sent to peers, and
     * peers' given to webrtcbin */
    unsigned local_cands[EK_NET_CAND_TYPES];
    unsigned remote_cands[EK_NET_CAND_TYPES];
} ek_net_stats;
void ek_net_get_stats(ek_net_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* EK_NET_H */
