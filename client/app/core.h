/*
 * core.h: the core of the enkrypt program (issue 9), shared by the JSON-RPC
 * daemon (`enkrypt daemon --rpc PATH`) and the terminal UI. It owns one
 * profile: the unlocked vault (identity, contacts, sessions, history,
 * outbox, settings), the network endpoint (client/net, one WebRTC data
 * channel per peer through a PeerJS broker), one ek_session per peer on top
 * of it, and, when no broker is configured, an embedded enkrypt-broker on
 * 127.0.0.1.
 *
 * Threading: everything runs on the GLib main context that is thread-default
 * when ek_app_open() is called (the default one in the program). Call every
 * function from that thread; the event callback runs there too, from the
 * main loop and never from inside a call into this API (events are queued
 * and delivered from an idle source), so it may call anything here.
 *
 * Errors: functions that can fail return FALSE (or NULL) and set a GError
 * in the EK_APP_ERROR domain whose message is a sentence for the user
 * ("wrong passphrase", "peer abc... is offline; the message is queued").
 *
 * Life of a profile:
 *
 *   ek_app_profile_create("alice", pass, &info, &err);     `enkrypt init`
 *   ek_app_options o; ek_app_options_init(&o); o.profile = "alice";
 *   o.passphrase = pass;
 *   ek_app *app = ek_app_open(&o, &err);                     unlock the vault
 *   ek_app_set_event_callback(app, on_event, ui);
 *   ek_app_start(app, &err);                                 broker, reconnects
 *   ek_app_connect(app, "bob's peer id", &err);              -> PEER_STATE ready
 *   ek_app_send_text(app, peer, "hi", id, &err);             -> DELIVERED id
 *   ...g_main_loop_run...
 *   ek_app_close(app);                                       saves, leaves
 *
 * Peer IDs are self-certifying: the base32 (RFC 4648 §6, lower case, no
 * padding) of the first 16 bytes of SHA-256("enkrypt peer id v1" || Ed25519
 * identity public key), 26 characters. After every handshake the peer's
 * identity key is checked against the ID we dialled or accepted, and a
 * contact's key is pinned on first contact (TOFU; /verify upgrades that
 * to verified by comparing safety numbers out of band).
 */
#ifndef EK_APP_CORE_H
#define EK_APP_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---- */

#define EK_APP_ERROR (ek_app_error_quark())
GQuark ek_app_error_quark(void);

typedef enum ek_app_error_code {
    EK_APP_ERR_INTERNAL = 1,       /* a bug or a resource failure (the message says which) */
    EK_APP_ERR_INVALID_ARG,        /* a malformed argument (peer ID, setting, text too long) */
    EK_APP_ERR_NO_PROFILE,         /* no such profile: run `enkrypt init` */
    EK_APP_ERR_PROFILE_EXISTS,     /* `enkrypt init` on an existing profile */
    EK_APP_ERR_WRONG_PASSPHRASE,   /* the passphrase (or recovery code) does not open the vault */
    EK_APP_ERR_CORRUPT_VAULT,      /* the vault file is damaged or not a vault */
    EK_APP_ERR_LOCKED,             /* another enkrypt process has this profile open */
    EK_APP_ERR_CONFIG,             /* the config file is invalid (message names the key) */
    EK_APP_ERR_IO,                 /* a file could not be read or written */
    EK_APP_ERR_BROKER_UNREACHABLE, /* the broker cannot be reached (we keep retrying) */
    EK_APP_ERR_ID_TAKEN,           /* the broker says our peer ID is registered by someone else */
    EK_APP_ERR_NOT_REGISTERED,     /* not registered with the broker yet */
    EK_APP_ERR_UNKNOWN_PEER,       /* not a contact (connect or accept first) */
    EK_APP_ERR_PEER_OFFLINE,       /* the peer is not connected to the broker */
    EK_APP_ERR_NOT_READY,          /* no session with the peer yet (no safety number) */
    EK_APP_ERR_IDENTITY_MISMATCH,  /* the peer's identity key is not the one pinned or its ID's */
    EK_APP_ERR_SESSION_FAILED,     /* the handshake or the session failed */
    EK_APP_ERR_DISABLED,           /* a setting forbids it (typing, read receipts): nothing sent */
} ek_app_error_code;

/* ---- profiles (no main loop needed) ---- */

/* Where a profile lives (g_free each string): config_dir is
 * $XDG_CONFIG_HOME/enkrypt/NAME (default ~/.config/enkrypt/NAME), holding
 * `config` (broker, ICE servers; a GKeyFile documented in docs/rpc.md);
 * data_dir is $XDG_DATA_HOME/enkrypt/NAME (~/.local/share/enkrypt/NAME),
 * holding the vault `vault.db` (and its WAL). NAME defaults to "default"
 * and must match [A-Za-z0-9_-]{1,64}. */
typedef struct ek_app_paths {
    char *profile;
    char *config_dir;
    char *config_file;
    char *data_dir;
    char *vault_file;
} ek_app_paths;

gboolean ek_app_paths_get(ek_app_paths *out, const char *profile, GError **err);
void ek_app_paths_clear(ek_app_paths *p);

/* What `enkrypt init` produced (ek_app_created_clear wipes and frees). */
typedef struct ek_app_created {
    char *peer_id;       /* our self-certifying peer ID */
    char *recovery_code; /* shown once; unlocks the vault when the passphrase is lost */
    char *config_file;
    char *vault_file;
} ek_app_created;

/* Create a profile: a new identity (ek_identity_generate), its peer ID, a
 * new vault sealed under passphrase (and the recovery code the vault
 * makes), and a default config file (no broker: the embedded one). Fails
 * with EK_APP_ERR_PROFILE_EXISTS if the vault exists. broker_url may be
 * NULL (written to the config file if given). */
gboolean ek_app_profile_create(const char *profile, const char *passphrase, const char *broker_url,
                               ek_app_created *out, GError **err);
void ek_app_created_clear(ek_app_created *c);

/* ---- opening ---- */

typedef struct ek_app_options {
    const char *profile;       /* NULL: "default" */
    const char *passphrase;    /* unlock with this ... */
    const char *recovery_code; /* ... or with this (when passphrase is NULL) */
    /* Overrides of the config file (NULL / 0: the file's value). */
    const char *broker_url;
    /* The enkrypt-broker executable for the embedded broker; NULL: next
     * to this program, then the path CMake built it at, then $PATH. */
    const char *broker_exe;
} ek_app_options;

void ek_app_options_init(ek_app_options *o);

typedef struct ek_app ek_app;

/* Unlock the profile's vault and load the config. Nothing touches the
 * network until ek_app_start(). Errors: NO_PROFILE, WRONG_PASSPHRASE
 * (nothing in the vault is changed), CORRUPT_VAULT, LOCKED, CONFIG. */
ek_app *ek_app_open(const ek_app_options *o, GError **err);

/* Register with the broker (starting the embedded one if none is
 * configured), then reconnect to the contacts we were connected to as the
 * dialling side. Registration continues in the background: failures
 * arrive as EK_APP_EV_NET_STATE events (ID taken is fatal; an unreachable
 * broker is retried with backoff). FALSE only for a local failure (the
 * embedded broker cannot be started, invalid network config). */
gboolean ek_app_start(ek_app *app, GError **err);

/* Close every peer session (state saved: it resumes next time), leave
 * the broker, stop the embedded broker, lock the vault and free. Runs
 * the main context for up to 0.5 s so the channels' closes reach the
 * peers; no event is delivered from inside it. NULL is fine. */
void ek_app_close(ek_app *app);

/* ---- events ---- */

typedef enum ek_app_event_type {
    EK_APP_EV_MESSAGE = 1,     /* a text message arrived (msg) */
    EK_APP_EV_DELIVERED,       /* the peer has our message msg_id (stored in its vault) */
    EK_APP_EV_READ,            /* the peer read our message msg_id (its read receipts are on) */
    EK_APP_EV_PEER_STATE,      /* a peer's state changed (peer_state, resumed, detail) */
    EK_APP_EV_CONTACT_REQUEST, /* an unknown peer wants to connect: ek_app_accept() it */
    EK_APP_EV_TYPING,          /* the peer started (typing = 1) or stopped typing */
    EK_APP_EV_NET_STATE,       /* our registration with the broker changed (net_state) */
    EK_APP_EV_ERROR,           /* something went wrong that the user should see (detail) */
} ek_app_event_type;

typedef enum ek_app_peer_state {
    EK_APP_PEER_OFFLINE = 0, /* no connection; nothing under way */
    EK_APP_PEER_CONNECTING,  /* WebRTC connection being set up (or waiting to retry) */
    EK_APP_PEER_HANDSHAKING, /* data channel open; handshake or resume in flight */
    EK_APP_PEER_READY,       /* messages flow */
    EK_APP_PEER_FAILED,      /* the last attempt failed for good (detail); connect again */
} ek_app_peer_state;

typedef enum ek_app_net_state {
    EK_APP_NET_OFFLINE = 0,  /* not started */
    EK_APP_NET_CONNECTING,   /* reaching the broker */
    EK_APP_NET_REGISTERED,   /* our peer ID is registered: peers can reach us */
    EK_APP_NET_RECONNECTING, /* lost the broker, retrying (detail says why) */
    EK_APP_NET_FAILED,       /* gave up: ID taken or refused (error says which) */
} ek_app_net_state;

typedef enum ek_app_msg_status {
    EK_APP_MSG_QUEUED = 0, /* outgoing, in the outbox: not sent on a channel yet */
    EK_APP_MSG_SENT,       /* outgoing, sent; no delivery receipt yet (still in the outbox) */
    EK_APP_MSG_DELIVERED,  /* outgoing, the peer has it */
    EK_APP_MSG_READ,       /* outgoing, the peer read it */
    EK_APP_MSG_RECEIVED,   /* incoming */
    EK_APP_MSG_FAILED,     /* outgoing, could not be stored in the outbox (disk error) */
} ek_app_msg_status;

/* A message of the history. */
typedef struct ek_app_message {
    char id[33];          /* 16 random bytes in hex: the envelope's id, unique per sender */
    char *peer;           /* the contact's peer ID */
    int outgoing;         /* 1: we sent it */
    int64_t timestamp_ms; /* the sender's clock (the envelope's timestamp) */
    int64_t stored_ms;    /* our clock when we stored it */
    ek_app_msg_status status;
    char *body;     /* UTF-8 */
    uint64_t order; /* position in this conversation (ascending) */
} ek_app_message;

typedef struct ek_app_event {
    ek_app_event_type type;
    const char *peer;             /* every type but NET_STATE */
    const ek_app_message *msg;    /* MESSAGE */
    const char *msg_id;           /* DELIVERED, READ */
    ek_app_peer_state peer_state; /* PEER_STATE */
    int resumed;                  /* PEER_STATE ready: 1 when a saved session resumed */
    int typing;                   /* TYPING */
    ek_app_net_state net_state;   /* NET_STATE */
    int error;                    /* NET_STATE, PEER_STATE failed, ERROR: an ek_app_error_code */
    const char *detail;           /* a sentence for the user, or NULL */
} ek_app_event;

/* One callback for everything; the event and what it points to are
 * valid during the call only. */
typedef void (*ek_app_event_fn)(ek_app *app, const ek_app_event *ev, void *user);
void ek_app_set_event_callback(ek_app *app, ek_app_event_fn fn, void *user);

/* ---- who we are ---- */

const char *ek_app_profile(const ek_app *app);
const char *ek_app_self_id(const ek_app *app); /* our peer ID */
/* Our Ed25519 identity public key. */
void ek_app_self_identity(const ek_app *app, uint8_t pk[32]);
ek_app_net_state ek_app_get_net_state(const ek_app *app);
const char *ek_app_broker_url(const ek_app *app); /* the one in use */
int ek_app_broker_embedded(const ek_app *app);    /* 1: we run the embedded broker */

/* Change the vault's passphrase (old one or recovery code already
 * unlocked it). */
gboolean ek_app_change_passphrase(ek_app *app, const char *new_passphrase, GError **err);

/* The peer ID an identity key gives (buf of EK_APP_PEER_ID_LEN + 1). */
#define EK_APP_PEER_ID_LEN 26
void ek_app_peer_id_from_key(char out[EK_APP_PEER_ID_LEN + 1], const uint8_t pk[32]);
/* 1 when s has the shape of a peer ID (26 of [a-z2-7]). */
int ek_app_peer_id_valid(const char *s);

/* ---- contacts ---- */

typedef struct ek_app_contact {
    char *peer_id;
    char *nick;              /* local name or NULL */
    int accepted;            /* 1: we connect / accept; 0: a pending request */
    int verified;            /* safety number compared and confirmed */
    int has_identity;        /* identity learnt (after the first handshake) */
    uint8_t identity[32];    /* pinned Ed25519 identity key */
    ek_app_peer_state state; /* live state */
    int64_t last_seen_ms;    /* last time the session was ready, 0 never */
    unsigned queued;         /* our messages still in the outbox (not delivered) */
    unsigned unread;         /* incoming messages not marked read */
} ek_app_contact;

void ek_app_contact_free(ek_app_contact *c);
/* Every contact (and pending request), sorted by nick then ID; an array
 * of ek_app_contact * that frees them (g_ptr_array_unref). */
GPtrArray *ek_app_contacts(ek_app *app);
/* One contact by peer ID or nick; NULL and UNKNOWN_PEER if none. */
ek_app_contact *ek_app_contact_get(ek_app *app, const char *peer_or_nick, GError **err);
/* Set (or clear with NULL/"") the local nickname; unique among contacts. */
gboolean ek_app_set_nick(ek_app *app, const char *peer_or_nick, const char *nick, GError **err);
/* Forget a contact: close the session, delete its session state and
 * history. */
gboolean ek_app_remove_contact(ek_app *app, const char *peer_or_nick, GError **err);

/* ---- connections ---- */

/* Add peer as a contact (accepted) and open a connection to it; we are
 * the dialling side and reconnect with backoff whenever the channel
 * drops. Returns at once; progress comes as PEER_STATE events
 * (connecting, handshaking, ready; or failed with PEER_OFFLINE and more
 * retries). Connecting to a ready peer is a no-op. */
gboolean ek_app_connect(ek_app *app, const char *peer_or_nick, GError **err);
/* Accept a pending contact request (an EK_APP_EV_CONTACT_REQUEST): the
 * contact becomes accepted and we dial it back. */
gboolean ek_app_accept(ek_app *app, const char *peer, GError **err);
/* Refuse and forget a pending request. */
gboolean ek_app_reject(ek_app *app, const char *peer, GError **err);
/* Close the connection (session state kept: connect resumes it) and stop
 * reconnecting. */
gboolean ek_app_disconnect(ek_app *app, const char *peer_or_nick, GError **err);
ek_app_peer_state ek_app_get_peer_state(ek_app *app, const char *peer);

/* ---- messages ---- */

/* Send a text message (at most 65536 bytes of UTF-8). It is stored in the
 * history and the outbox first, so it is never lost: sent at once when the
 * session is ready, else when the peer is back (the dialling side
 * reconnects). id_out receives its ID. Re-sent after a reconnect until the
 * peer acknowledges it (EK_APP_EV_DELIVERED); the peer drops duplicates
 * by ID, so each message arrives exactly once and in order. Fails only for
 * a non-contact or bad text. */
gboolean ek_app_send_text(ek_app *app, const char *peer_or_nick, const char *text, char id_out[33],
                          GError **err);
/* The last `limit` messages with peer (0: all), oldest first; an array of
 * ek_app_message * that frees them. before_order > 0: only older ones. */
GPtrArray *ek_app_history(ek_app *app, const char *peer_or_nick, unsigned limit,
                          uint64_t before_order, GError **err);
void ek_app_message_free(ek_app_message *m);
/* Mark incoming messages up to and including msg_id (NULL: all) as read;
 * sends a read receipt only if the read-receipts setting is on. */
gboolean ek_app_mark_read(ek_app *app, const char *peer_or_nick, const char *msg_id, GError **err);
/* Tell the peer we (stopped) typing; FALSE with EK_APP_ERR_DISABLED when
 * the typing-indicators setting is off (nothing is sent), EK_APP_ERR_NOT_READY
 * without a live session (typing is never queued). */
gboolean ek_app_typing(ek_app *app, const char *peer_or_nick, int typing, GError **err);

/* ---- verification ---- */

/* The 60-digit safety number of us and peer (Signal's numeric
 * fingerprint over both identity keys; the same on both sides), available
 * once the peer's identity is known (first handshake done). out gets 60
 * digits and a NUL. */
gboolean ek_app_safety_number(ek_app *app, const char *peer_or_nick, char out[61], GError **err);
/* Mark the contact verified (after comparing the safety number) or not. */
gboolean ek_app_set_verified(ek_app *app, const char *peer_or_nick, int verified, GError **err);
/* The safety number formatted as 12 groups of 5 digits separated by
 * spaces (g_free). */
char *ek_app_format_safety_number(const char digits[61]);

/* ---- settings (kept in the vault) ---- */

typedef enum ek_app_accept_policy {
    EK_APP_ACCEPT_ASK = 0, /* unknown peers become CONTACT_REQUEST events */
    EK_APP_ACCEPT_ALL = 1, /* every peer is accepted (bots, tests) */
} ek_app_accept_policy;

typedef struct ek_app_settings {
    int typing_indicators;       /* send typing notices [0]; off: nothing is sent */
    int read_receipts;           /* send read receipts [0]; off: nothing is sent */
    ek_app_accept_policy accept; /* [ASK] */
} ek_app_settings;

void ek_app_get_settings(const ek_app *app, ek_app_settings *out);
gboolean ek_app_set_settings(ek_app *app, const ek_app_settings *s, GError **err);
/* By name, for the RPC and /settings: "typing-indicators" and
 * "read-receipts" take "on"/"off" (or true/false), "accept" takes
 * "ask"/"all". get returns a g_strdup'd value. */
char *ek_app_setting_get(ek_app *app, const char *name, GError **err);
gboolean ek_app_setting_set(ek_app *app, const char *name, const char *value, GError **err);
/* The names, NULL-terminated. */
const char *const *ek_app_setting_names(void);

/* ---- status ---- */

typedef struct ek_app_status {
    const char *profile;
    const char *peer_id;
    ek_app_net_state net_state;
    const char *broker_url;
    int broker_embedded;
    unsigned contacts;
    unsigned ready_peers;
    unsigned queued;        /* outgoing messages not yet delivered, all peers */
    int net_error;          /* EK_APP_ERR_* of the last broker state change, or 0 */
    const char *net_detail; /* its sentence, or NULL */
} ek_app_status;

/* Strings valid until the next call into the core. */
void ek_app_get_status(ek_app *app, ek_app_status *out);

/* Names for logs and the RPC ("ready", "registered", "delivered"...). */
const char *ek_app_peer_state_name(ek_app_peer_state s);
const char *ek_app_net_state_name(ek_app_net_state s);
const char *ek_app_msg_status_name(ek_app_msg_status s);

#ifdef __cplusplus
}
#endif
#endif /* EK_APP_CORE_H */
