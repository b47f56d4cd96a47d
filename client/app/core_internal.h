/*
 * core_internal.h: what the files of the core share (core.c, profile.c,
 * peer.c, wire.c, broker_spawn.c). Not for the UI or the daemon: they use
 * core.h only.
 */
#ifndef EK_APP_CORE_INTERNAL_H
#define EK_APP_CORE_INTERNAL_H

#include <stdint.h>

#include <glib.h>

#include <enkrypt/ek_session.h>
#include <enkrypt/ek_vault.h>

#include "core.h"
#include "ek_net.h"

/* ---- config (profile.c) ---- */

typedef struct app_ice_server {
    char *url, *username, *credential;
} app_ice_server;

typedef struct app_config {
    char *broker_url;  /* NULL: the embedded broker */
    int embedded_port; /* [9000] */
    char *key;         /* PeerJS key [peerjs] */
    int relay_only;
    char **local_addrs; /* NULL-terminated or NULL */
    app_ice_server ice[EK_NET_MAX_ICE_SERVERS];
    size_t n_ice;
    unsigned ping_interval_ms, ping_timeout_ms;  /* [2000, 8000] */
    unsigned open_timeout_ms;                    /* [15000] */
    unsigned reconnect_min_ms, reconnect_max_ms; /* peers: [500, 30000] */
} app_config;

gboolean app_config_load(app_config *c, const char *path, GError **err);
void app_config_clear(app_config *c);
/* Write the default config file (with broker_url if not NULL). */
gboolean app_config_write_default(const char *path, const char *broker_url, const char *peer_id,
                                  GError **err);

/* Vault options for create and change_passphrase (Argon2id cost from
 * ENKRYPT_ARGON2_M_KIB / ENKRYPT_ARGON2_T, else the vault's defaults). */
void app_vault_options(ek_vault_options *vo);

/* ---- errors ---- */

/* Discard a result on purpose (the call is best effort; GCC's
 * warn_unused_result does not accept a (void) cast). */
static inline void app_ignore(int rc)
{
    (void)rc;
}

/* Set err from a vault error code, with what we were doing. */
void app_set_vault_error(GError **err, int rc, const char *doing);

/* ---- messages and envelopes (wire.c) ---- */

#define APP_MSG_ID_LEN 16
#define APP_MAX_TEXT   65536

/* The text envelope (docs/protocol.md §6.2) for id/timestamp/body. */
gboolean app_wire_text(GByteArray **out, const uint8_t id[APP_MSG_ID_LEN], int64_t ts_ms,
                       const char *body, size_t body_len);
gboolean app_wire_typing(GByteArray **out, int64_t ts_ms, int typing);
gboolean app_wire_read_receipt(GByteArray **out, int64_t ts_ms, const uint8_t *ids, size_t n);

/* Delivery receipts: see wire.c (a reserved transfer id). */
extern const uint8_t app_receipt_transfer[16];
#define APP_RECEIPT_DELIVERED  'D'
#define APP_RECEIPT_LOW_WATER  'L'
#define APP_RECEIPTS_PER_CHUNK 1024u
/* Message ids: "ek" || 48-bit sequence number (big-endian) || 8 random
 * bytes (wire.c). */
#define APP_SEQ_MAX            ((uint64_t)1 << 48)
/* Nothing acknowledged for this long while messages wait: send the
 * outbox again (the receiver drops repeats). */
#define APP_RESEND_MS          5000
/* Messages held back waiting for an earlier one, per peer. */
#define APP_MAX_HELD           4096u

void app_hex(char *out, const uint8_t *in, size_t n);
/* Build a message id for seq; read one back (0 for an id without "ek"). */
int app_msg_id_make(uint8_t id[APP_MSG_ID_LEN], uint64_t seq);
int app_msg_id_seq(const uint8_t id[APP_MSG_ID_LEN], uint64_t *seq);
gboolean app_unhex(uint8_t *out, size_t n, const char *hex);

/* ---- one peer (peer.c) ---- */

typedef struct app_out_frame {
    int binary;
    size_t len;
    uint8_t data[];
} app_out_frame;

typedef struct app_peer {
    ek_app *app;
    char *id;
    /* contact flags (persisted in the vault's "app.peer" namespace) */
    int known;       /* a contact (accepted or pending) */
    int accepted;    /* we talk to it */
    int autoconnect; /* we dial it (after connect/accept) and redial on drops */
    int requested;   /* a pending request was announced in this run */
    /* live */
    ek_app_peer_state state;
    ek_net_conn *conn;
    int conn_outgoing;
    int conn_open;
    ek_session *session;
    int session_dirty;      /* changed since saved */
    int resuming_from_save; /* the dialer sent resume: watch for the fallback */
    guint retry_source;
    unsigned retry_ms;
    int64_t dial_started_ms;
    GQueue out;   /* app_out_frame *: popped, saved, waiting for the channel */
    GArray *acks; /* 16-byte ids to acknowledge */
    uint32_t receipt_index;
    int outbox_pending;  /* outbox must be (re)sent on this session */
    int64_t progress_ms; /* last delivery receipt (or ready, or first queued message) */
    int64_t last_request_ms;
    /* message order (peer.c, "Order"): our next sequence number to this
     * peer, the next one we expect from it, and what came early */
    int seq_loaded;
    uint64_t next_out, next_in;
    GTree *held; /* uint64_t * seq -> GBytes * envelope */
} app_peer;

/* ---- the app ---- */

struct ek_app {
    ek_app_paths paths;
    app_config cfg;
    ek_vault *vault;
    ek_identity identity;
    uint8_t self_pk[32];
    char self_id[EK_APP_PEER_ID_LEN + 1];
    char *token;
    char *broker_exe;
    char *broker_url; /* in use */
    int embedded;
    GPid broker_pid; /* our embedded broker, or 0 */
    guint broker_watch;

    ek_net *net;
    ek_app_net_state net_state;
    int net_error;    /* EK_APP_ERR_* of the last broker state change, or 0 */
    char *net_detail; /* its sentence (g_free) */
    int started;

    GHashTable *peers;     /* id -> app_peer */
    GHashTable *conn_ctxs; /* the connections' callback contexts (owned) */
    ek_app_settings settings;

    ek_app_event_fn event_fn;
    void *event_user;
    GQueue events; /* queued ek_app_event copies (app_queued_event) */
    guint flush_source;
    guint tick_source;
    int in_txn;
    int closing;
    GString *scratch;
};

/* Time: the wall clock in ms (sessions are saved and restored across
 * restarts, so one clock for both). */
int64_t app_now_ms(void);

/* Queue an event (copied), delivered from the flush idle after the vault
 * commit. */
void app_emit(ek_app *app, const ek_app_event *ev);
void app_emit_peer_state(ek_app *app, app_peer *p, int error, const char *detail, int resumed);
/* Schedule the flush (save sessions, commit, transmit, deliver events). */
void app_schedule_flush(ek_app *app);
/* Open a vault transaction if none is (committed by the flush). */
gboolean app_txn(ek_app *app);

app_peer *app_peer_get(ek_app *app, const char *id, int create);
void app_peer_free(app_peer *p);
gboolean app_peer_save_flags(ek_app *app, app_peer *p);
/* Load the flags saved for p (a contact without flags: accepted). */
void app_peer_load_flags(ek_app *app, app_peer *p);
void app_conn_ctx_destroy(gpointer ctx);
void app_peer_dial(app_peer *p);
void app_peer_stop(app_peer *p, int keep_wanting);
void app_peer_on_incoming(ek_app *app, ek_net_conn *conn, const ek_net_offer_info *info);
void app_peer_tick(app_peer *p, int64_t now);
/* Flush phases: drive outbox and acks, pop frames, save. */
void app_peer_prepare(app_peer *p);
void app_peer_transmit(app_peer *p);
gboolean app_peer_send_text(app_peer *p, const char *text, char id_out[33], GError **err);
gboolean app_peer_send_typing(app_peer *p, int typing, GError **err);
gboolean app_peer_send_read(app_peer *p, const uint8_t *ids, size_t n, GError **err);
void app_peer_settings_changed(app_peer *p);

/* ---- the embedded broker (broker_spawn.c) ---- */

gboolean app_broker_ensure(ek_app *app, GError **err);
void app_broker_stop(ek_app *app);

#endif /* EK_APP_CORE_INTERNAL_H */
