/*
 * peer.c: one peer: its data channel (client/net), the ek_session on top of
 * it, reconnecting, the outbox and delivery receipts.
 *
 * The order of things is what makes messages survive crashes
 * (ek_session.h, "Saving and restoring"): frames the session produces are
 * popped, the session is saved in the same vault transaction as the
 * history rows and outbox changes they belong to, the transaction is
 * committed, and only then are the frames handed to the channel. So the
 * saved state is never older than what went on the wire, a delivery
 * receipt never leaves before the message it acknowledges is stored, and
 * a message the user sent is in the outbox before anything is sent.
 *
 * Exactly once: every outgoing message stays in the outbox until the
 * peer's delivery receipt names it; whenever a session becomes ready
 * (fresh or resumed), and when nothing was acknowledged for APP_RESEND_MS
 * while messages wait, the whole outbox is sent again in order. The
 * receiver stores by message id and drops (but acknowledges again) an id
 * it has.
 *
 * Order: the session engine may hand over a frame it could not open at
 * first (kept, then retried) after a later one (seen after a resume), so
 * order is ours to keep. Each message id carries the sender's sequence
 * number for this peer (wire.c); the receiver stores message n only after
 * n - 1 and holds the early ones in memory, unacknowledged. Before sending
 * its outbox again the sender says where it starts (the low-water mark):
 * everything older was acknowledged, so a receiver that lost track skips
 * ahead instead of waiting forever. Both counters live in the vault and
 * change in the same transaction as the messages.
 *
 * Connections: the side that called connect (or accept) dials, and dials
 * again with doubling backoff when the channel drops; so does a side with
 * messages in its outbox. When both dial at once, the incoming offer wins
 * if ours is not open yet and the peer's ID sorts before ours, or if the
 * peer says it answers a request of ours.
 */
#include <string.h>

#include <jansson.h>

#include <enkrypt/ek_crypto.h>

#include "core_internal.h"

typedef struct conn_ctx {
    ek_app *app;
    char *peer;
} conn_ctx;

static void on_conn_state(ek_net_conn *conn, ek_net_conn_state st, int err, const char *detail,
                          void *user);
static void on_conn_frame(ek_net_conn *conn, ek_net_frame_kind kind, const uint8_t *data,
                          size_t len, void *user);
static void on_conn_writable(ek_net_conn *conn, void *user);

static void clear_held(app_peer *p);

static const ek_net_conn_callbacks conn_callbacks = {on_conn_state, on_conn_frame,
                                                     on_conn_writable};

/* ---- bookkeeping ---- */

#define FLAGS_NS         "app.peer"
#define FLAG_ACCEPTED    1u
#define FLAG_AUTOCONNECT 2u

app_peer *app_peer_get(ek_app *app, const char *id, int create)
{
    app_peer *p = g_hash_table_lookup(app->peers, id);
    if (p != NULL || !create)
        return p;
    p = g_new0(app_peer, 1);
    p->app = app;
    p->id = g_strdup(id);
    p->acks = g_array_new(FALSE, FALSE, APP_MSG_ID_LEN);
    g_queue_init(&p->out);
    g_hash_table_insert(app->peers, p->id, p);
    return p;
}

static void clear_out(app_peer *p)
{
    app_out_frame *f;
    while ((f = g_queue_pop_head(&p->out)) != NULL) {
        ek_wipe(f->data, f->len);
        g_free(f);
    }
}

void app_peer_free(app_peer *p)
{
    if (p->retry_source != 0)
        g_source_remove(p->retry_source);
    clear_out(p);
    clear_held(p);
    ek_session_free(p->session);
    g_array_free(p->acks, TRUE);
    g_free(p->id);
    g_free(p);
}

gboolean app_peer_save_flags(ek_app *app, app_peer *p)
{
    uint8_t v[2] = {
        1, (uint8_t)((p->accepted ? FLAG_ACCEPTED : 0) | (p->autoconnect ? FLAG_AUTOCONNECT : 0))};
    if (!app_txn(app))
        return FALSE;
    int rc = ek_vault_kv_put(app->vault, FLAGS_NS, (const uint8_t *)p->id, strlen(p->id), v, 2);
    if (rc != EK_OK)
        g_warning("cannot save the contact %s: %s", p->id, ek_vault_strerror(rc));
    app_schedule_flush(app);
    return rc == EK_OK;
}

void app_peer_load_flags(ek_app *app, app_peer *p)
{
    uint8_t *v = NULL;
    size_t n = 0;
    int rc = ek_vault_kv_get(app->vault, &v, &n, FLAGS_NS, (const uint8_t *)p->id, strlen(p->id));
    if (rc == EK_OK && n == 2 && v[0] == 1) {
        p->accepted = (v[1] & FLAG_ACCEPTED) != 0;
        p->autoconnect = (v[1] & FLAG_AUTOCONNECT) != 0;
    } else {
        p->accepted = 1; /* a contact without flags was added by us */
    }
    ek_vault_free(NULL, v, n);
}

/* ---- sequence numbers ---- */

#define SEQ_OUT_NS "app.seq.out"
#define SEQ_IN_NS  "app.seq.in"

static uint64_t kv_u64(ek_app *app, const char *ns, const char *peer)
{
    uint8_t *v = NULL;
    size_t n = 0;
    uint64_t x = 0;
    if (ek_vault_kv_get(app->vault, &v, &n, ns, (const uint8_t *)peer, strlen(peer)) == EK_OK &&
        n == 8) {
        for (size_t i = 0; i < 8; i++)
            x = x << 8 | v[i];
    }
    ek_vault_free(NULL, v, n);
    return x;
}

static int put_u64(ek_app *app, const char *ns, const char *peer, uint64_t x)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)x;
        x >>= 8;
    }
    if (!app_txn(app))
        return EK_ERR_VAULT_IO;
    return ek_vault_kv_put(app->vault, ns, (const uint8_t *)peer, strlen(peer), b, 8);
}

static void load_seqs(app_peer *p)
{
    if (p->seq_loaded)
        return;
    p->next_out = kv_u64(p->app, SEQ_OUT_NS, p->id);
    p->next_in = kv_u64(p->app, SEQ_IN_NS, p->id);
    p->seq_loaded = 1;
}

static gint seq_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void)unused;
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void held_bytes_free(gpointer b)
{
    gsize n = 0;
    uint8_t *d = (uint8_t *)g_bytes_get_data(b, &n);
    ek_wipe(d, n);
    g_bytes_unref(b);
}

static void clear_held(app_peer *p)
{
    if (p->held != NULL)
        g_tree_destroy(p->held);
    p->held = NULL;
}

static gboolean has_outbox(app_peer *p)
{
    uint64_t n = 0;
    return ek_vault_outbox_count(p->app->vault, &n, p->id) == EK_OK && n > 0;
}

static void set_state(app_peer *p, ek_app_peer_state st, int error, const char *detail, int resumed)
{
    if (p->state == st && error == 0 && detail == NULL)
        return;
    p->state = st;
    app_emit_peer_state(p->app, p, error, detail, resumed);
}

/* ---- dialling and backoff ---- */

static gboolean retry_cb(gpointer user)
{
    app_peer *p = user;
    p->retry_source = 0;
    app_peer_dial(p);
    return G_SOURCE_REMOVE;
}

static int wants_connection(app_peer *p)
{
    return p->accepted && (p->autoconnect || has_outbox(p));
}

/* After a failed attempt or a drop: dial again later, if we want to. */
static void schedule_retry(app_peer *p, int error, const char *why)
{
    ek_app *app = p->app;
    if (app->closing || p->conn != NULL || p->retry_source != 0)
        return;
    if (!wants_connection(p)) {
        set_state(p, EK_APP_PEER_OFFLINE, error, why, 0);
        return;
    }
    unsigned delay = p->retry_ms != 0 ? p->retry_ms : app->cfg.reconnect_min_ms;
    p->retry_ms = delay * 2 > app->cfg.reconnect_max_ms ? app->cfg.reconnect_max_ms : delay * 2;
    /* ±20% jitter so two peers retrying do not stay in step. */
    unsigned jitter = delay / 5;
    if (jitter > 0)
        delay = delay - jitter + (unsigned)g_random_int_range(0, (gint32)(2 * jitter + 1));
    char *d = g_strdup_printf("%s; retrying in %.1f s", why != NULL ? why : "not connected",
                              delay / 1000.0);
    set_state(p, EK_APP_PEER_CONNECTING, error, d, 0);
    g_free(d);
    p->retry_source = g_timeout_add(delay, retry_cb, p);
}

/* A connection's callback context. The app's conn_ctxs set owns every
 * one, so those of connections still open when ek_net_free() runs (no
 * more callbacks then) are freed with the set. */
static conn_ctx *ctx_new(ek_app *app, const char *peer)
{
    conn_ctx *c = g_new0(conn_ctx, 1);
    c->app = app;
    c->peer = g_strdup(peer);
    g_hash_table_add(app->conn_ctxs, c);
    return c;
}

void app_conn_ctx_destroy(gpointer c)
{
    conn_ctx *ctx = c;
    g_free(ctx->peer);
    g_free(ctx);
}

static void ctx_free(conn_ctx *c)
{
    g_hash_table_remove(c->app->conn_ctxs, c);
}

void app_peer_dial(app_peer *p)
{
    ek_app *app = p->app;
    if (app->closing || p->conn != NULL || !p->accepted)
        return;
    if (p->retry_source != 0) {
        g_source_remove(p->retry_source);
        p->retry_source = 0;
    }
    if (app->net == NULL || ek_net_get_state(app->net) != EK_NET_REGISTERED) {
        /* Dialled when the broker registers us (core.c). */
        set_state(p, EK_APP_PEER_CONNECTING, 0, "waiting for the broker", 0);
        return;
    }
    ek_net_connect_opts opts = {0};
    opts.serialization = EK_NET_SER_RAW;
    /* reply: we answer the peer's request, so its own pending offer loses */
    opts.metadata_json = p->requested ? "{\"enkrypt\":1,\"reply\":true}" : "{\"enkrypt\":1}";
    conn_ctx *ctx = ctx_new(app, p->id);
    ek_net_conn *c = NULL;
    int rc = ek_net_connect(&c, app->net, p->id, &opts, &conn_callbacks, ctx);
    if (rc != 0) {
        ctx_free(ctx);
        char *d = g_strdup_printf("cannot connect: %s", ek_net_strerror(rc));
        schedule_retry(p, EK_APP_ERR_INTERNAL, d);
        g_free(d);
        return;
    }
    p->requested = 0;
    p->conn = c;
    p->conn_outgoing = 1;
    p->conn_open = 0;
    if (p->dial_started_ms == 0)
        p->dial_started_ms = app_now_ms();
    set_state(p, EK_APP_PEER_CONNECTING, 0, NULL, 0);
}

/* The transport under the session is gone (closed, replaced). */
static void transport_gone(app_peer *p)
{
    clear_out(p);
    p->conn = NULL;
    p->conn_open = 0;
    p->resuming_from_save = 0;
    if (p->session == NULL)
        return;
    ek_session_transport_lost(p->session);
    ek_session_state st = ek_session_get_state(p->session);
    if (st != EK_STATE_DISCONNECTED) {
        /* A handshake that did not finish, or a dead session: nothing to
         * resume from memory (the vault keeps the last ready state). */
        ek_session_free(p->session);
        p->session = NULL;
    }
    p->session_dirty = 0;
}

void app_peer_stop(app_peer *p, int keep_wanting)
{
    if (p->retry_source != 0) {
        g_source_remove(p->retry_source);
        p->retry_source = 0;
    }
    if (!keep_wanting)
        p->autoconnect = 0;
    ek_net_conn *c = p->conn;
    if (c != NULL) {
        transport_gone(p);
        ek_net_conn_close(c); /* its CLOSED callback finds c no longer ours */
    }
    p->dial_started_ms = 0;
    set_state(p, EK_APP_PEER_OFFLINE, 0, NULL, 0);
}

/* ---- sessions ---- */

static int pinned_identity(app_peer *p, uint8_t pk[32])
{
    ek_vault_contact vc;
    if (ek_vault_contact_get(p->app->vault, &vc, p->id) != EK_OK || !vc.has_identity_key)
        return 0;
    memcpy(pk, vc.identity_key, 32);
    return 1;
}

static void session_config(app_peer *p, ek_session_config *cfg, int role, const uint8_t *pinned)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->role = role;
    cfg->expected_peer = pinned;
    cfg->send_typing = p->app->settings.typing_indicators;
    cfg->send_read_receipts = p->app->settings.read_receipts;
}

/* A fresh session in role, started. */
static gboolean new_session(app_peer *p, int role)
{
    uint8_t pk[32];
    int pinned = pinned_identity(p, pk);
    ek_session_config cfg;
    session_config(p, &cfg, role, pinned ? pk : NULL);
    ek_session_free(p->session);
    p->session = NULL;
    int rc = ek_session_new(&p->session, &p->app->identity, &cfg);
    if (rc == EK_OK)
        rc = ek_session_start(p->session, (uint64_t)app_now_ms());
    if (rc != EK_OK) {
        g_warning("cannot start a session with %s: %s", p->id, ek_strerror(rc));
        ek_session_free(p->session);
        p->session = NULL;
        return FALSE;
    }
    p->resuming_from_save = 0;
    p->session_dirty = 1;
    return TRUE;
}

/* The saved session with p, restored (Disconnected), or none. */
static void load_session(app_peer *p)
{
    uint8_t *blob = NULL;
    size_t n = 0;
    int rc = ek_vault_session_get(p->app->vault, &blob, &n, p->id);
    if (rc != EK_OK) {
        if (rc != EK_ERR_VAULT_NOT_FOUND)
            g_warning("cannot read the session with %s: %s", p->id, ek_vault_strerror(rc));
        return;
    }
    uint8_t pk[32];
    int pinned = pinned_identity(p, pk);
    ek_session_config cfg;
    session_config(p, &cfg, EK_ROLE_INITIATOR, pinned ? pk : NULL);
    rc = ek_session_restore(&p->session, &p->app->identity, &cfg, blob, n);
    ek_vault_free(NULL, blob, n);
    if (rc != EK_OK) {
        g_warning("the saved session with %s does not restore (%s): a new handshake follows", p->id,
                  ek_strerror(rc));
        p->session = NULL;
    }
}

static void drain_events(app_peer *p);

/* The channel opened: resume or start a handshake. The dialling side
 * sends resume (or hello); the answering side waits for it. */
static void channel_open(app_peer *p)
{
    p->conn_open = 1;
    set_state(p, EK_APP_PEER_HANDSHAKING, 0, NULL, 0);
    if (p->session == NULL)
        load_session(p);
    if (p->session != NULL) {
        ek_session_state st = ek_session_get_state(p->session);
        if (st == EK_STATE_READY || st == EK_STATE_RESUMING) {
            ek_session_transport_lost(p->session);
            st = ek_session_get_state(p->session);
        }
        if (st != EK_STATE_DISCONNECTED) {
            ek_session_free(p->session);
            p->session = NULL;
        }
    }
    if (p->session != NULL) {
        if (p->conn_outgoing) {
            int rc = ek_session_start(p->session, (uint64_t)app_now_ms());
            if (rc != EK_OK) {
                g_warning("cannot resume the session with %s: %s", p->id, ek_strerror(rc));
                (void)new_session(p, EK_ROLE_INITIATOR);
            } else {
                p->resuming_from_save = 1;
                p->session_dirty = 1;
            }
        }
        /* answering: the peer sends resume (or hello, if it lost its state) */
    } else {
        (void)new_session(p, p->conn_outgoing ? EK_ROLE_INITIATOR : EK_ROLE_RESPONDER);
    }
    drain_events(p);
    app_schedule_flush(p->app);
}

/* ---- receiving ---- */

static void fail_peer(app_peer *p, int error, const char *detail, int stop)
{
    ek_net_conn *c = p->conn;
    if (c != NULL) {
        transport_gone(p);
        ek_net_conn_close(c);
    }
    ek_session_free(p->session);
    p->session = NULL;
    if (stop) {
        if (p->retry_source != 0) {
            g_source_remove(p->retry_source);
            p->retry_source = 0;
        }
        p->autoconnect = 0;
        p->dial_started_ms = 0;
        set_state(p, EK_APP_PEER_FAILED, error, detail, 0);
    } else {
        schedule_retry(p, error, detail);
    }
}

static void on_ready(app_peer *p, int resumed)
{
    ek_app *app = p->app;
    uint8_t pk[32];
    char derived[EK_APP_PEER_ID_LEN + 1];
    if (ek_session_peer_identity(p->session, pk) != EK_OK) {
        fail_peer(p, EK_APP_ERR_INTERNAL, "no peer identity after the handshake", 0);
        return;
    }
    ek_app_peer_id_from_key(derived, pk);
    if (strcmp(derived, p->id) != 0) {
        /* Self-certifying IDs: whoever answers under this ID must hold the
         * key it derives from (a broker or a peer lying about IDs). */
        char *d = g_strdup_printf("the peer answering as %s holds another identity key (its ID "
                                  "would be %s): connection refused",
                                  p->id, derived);
        g_warning("%s", d);
        fail_peer(p, EK_APP_ERR_IDENTITY_MISMATCH, d, 1);
        g_free(d);
        return;
    }
    ek_vault_contact vc;
    int rc = ek_vault_contact_get(app->vault, &vc, p->id);
    if (rc == EK_OK && vc.has_identity_key && !ek_ct_equal(vc.identity_key, pk, 32)) {
        fail_peer(p, EK_APP_ERR_IDENTITY_MISMATCH,
                  "the peer's identity key changed since the last session: refused", 1);
        return;
    }
    if (rc != EK_OK) {
        memset(&vc, 0, sizeof(vc));
        g_strlcpy(vc.peer_id, p->id, sizeof(vc.peer_id));
        vc.added_ms = (uint64_t)app_now_ms();
    }
    vc.has_identity_key = 1;
    memcpy(vc.identity_key, pk, 32);
    vc.last_seen_ms = (uint64_t)app_now_ms();
    if (app_txn(app)) {
        rc = ek_vault_contact_put(app->vault, &vc);
        if (rc != EK_OK)
            g_warning("cannot save the contact %s: %s", p->id, ek_vault_strerror(rc));
    }
    p->resuming_from_save = 0;
    p->retry_ms = 0;
    p->outbox_pending = 1;
    p->progress_ms = app_now_ms();
    p->session_dirty = 1;
    char *detail = NULL;
    if (p->dial_started_ms != 0)
        detail =
            g_strdup_printf("ready in %" G_GINT64_FORMAT " ms", app_now_ms() - p->dial_started_ms);
    p->dial_started_ms = 0;
    p->state = EK_APP_PEER_READY;
    app_emit_peer_state(app, p, 0, detail, resumed);
    g_free(detail);
}

static void emit_msg_event(app_peer *p, ek_app_event_type type, const char *hex)
{
    ek_app_event ev = {0};
    ev.type = type;
    ev.peer = p->id;
    ev.msg_id = hex;
    app_emit(p->app, &ev);
}

/* Store one text message and queue its receipt; FALSE if it could not
 * be stored (then it is not acknowledged: the peer sends it again). */
static gboolean store_text(app_peer *p, const ek_pdu *pdu)
{
    ek_app *app = p->app;
    uint8_t id[APP_MSG_ID_LEN];
    size_t idn = 0, bn = 0;
    int64_t ts = 0;
    const char *body = NULL;
    if (ek_pdu_bytes(pdu, "id", id, sizeof(id), &idn) != EK_OK || idn != APP_MSG_ID_LEN ||
        ek_pdu_int(pdu, "timestamp", &ts) != EK_OK ||
        ek_pdu_string(pdu, "body", &body, &bn) != EK_OK)
        return TRUE; /* the codec checked the schema: cannot happen */
    if (memchr(body, 0, bn) != NULL) {
        g_warning("a message from %s contains a NUL character: dropped", p->id);
        return TRUE;
    }
    char hex[2 * APP_MSG_ID_LEN + 1], vid[2 * APP_MSG_ID_LEN + 2];
    app_hex(hex, id, APP_MSG_ID_LEN);
    vid[0] = 'i';
    memcpy(vid + 1, hex, sizeof(hex));
    if (!app_txn(app))
        return FALSE;
    ek_vault_message m = {0};
    m.conversation = p->id;
    m.id = vid;
    m.direction = EK_VAULT_INCOMING;
    m.status = EK_VAULT_MSG_DELIVERED; /* received, not read yet */
    m.timestamp_ms = (uint64_t)ts;
    m.body = (const uint8_t *)body;
    m.body_len = bn;
    uint64_t index = 0;
    int rc = ek_vault_msg_append(app->vault, &index, &m);
    if (rc == EK_ERR_VAULT_EXISTS) {
        g_array_append_val(p->acks, id); /* a repeat: acknowledge again */
        return TRUE;
    }
    if (rc != EK_OK) {
        g_warning("cannot store a message from %s: %s", p->id, ek_vault_strerror(rc));
        return FALSE;
    }
    g_array_append_val(p->acks, id);
    ek_app_message msg = {0};
    memcpy(msg.id, hex, sizeof(msg.id));
    msg.peer = p->id;
    msg.outgoing = 0;
    msg.timestamp_ms = ts;
    msg.stored_ms = app_now_ms();
    msg.status = EK_APP_MSG_RECEIVED;
    msg.body = g_strndup(body, bn);
    msg.order = index;
    ek_app_event ev = {0};
    ev.type = EK_APP_EV_MESSAGE;
    ev.peer = p->id;
    ev.msg = &msg;
    app_emit(app, &ev);
    g_free(msg.body);
    return TRUE;
}

/* Store the held messages that are next in line. */
static void release_held(app_peer *p)
{
    uint64_t start = p->next_in;
    while (p->held != NULL && g_tree_nnodes(p->held) > 0) {
        uint64_t key = p->next_in;
        GBytes *b = g_tree_lookup(p->held, &key);
        if (b == NULL)
            break;
        gsize n = 0;
        const uint8_t *d = g_bytes_get_data(b, &n);
        ek_pdu *pdu = NULL;
        gboolean ok = ek_pdu_parse(&pdu, d, n, EK_PDU_INNER) != EK_OK || store_text(p, pdu);
        ek_pdu_free(pdu);
        if (!ok)
            break;
        g_tree_remove(p->held, &key);
        p->next_in++;
    }
    if (p->next_in != start && put_u64(p->app, SEQ_IN_NS, p->id, p->next_in) != EK_OK)
        g_warning("cannot save the message counter of %s", p->id);
}

/* Everything older than low was acknowledged (or given up) by the peer. */
static void skip_to(app_peer *p, uint64_t low)
{
    load_seqs(p);
    if (low <= p->next_in)
        return;
    g_message("%s holds nothing older than message %" G_GUINT64_FORMAT
              ": skipping from %" G_GUINT64_FORMAT,
              p->id, low, p->next_in);
    while (p->held != NULL && g_tree_nnodes(p->held) > 0) {
        uint64_t *first = NULL;
        GBytes *b = NULL;
        GTreeNode *node = g_tree_node_first(p->held);
        first = g_tree_node_key(node);
        b = g_tree_node_value(node);
        (void)b;
        if (*first >= low)
            break;
        uint64_t k = *first;
        g_tree_remove(p->held, &k);
    }
    p->next_in = low;
    if (put_u64(p->app, SEQ_IN_NS, p->id, p->next_in) != EK_OK)
        g_warning("cannot save the message counter of %s", p->id);
    release_held(p);
}

static void on_text(app_peer *p, const ek_pdu *pdu, const uint8_t *data, size_t len)
{
    uint8_t id[APP_MSG_ID_LEN];
    size_t idn = 0;
    uint64_t seq = 0;
    if (ek_pdu_bytes(pdu, "id", id, sizeof(id), &idn) != EK_OK || idn != APP_MSG_ID_LEN)
        return;
    if (!app_msg_id_seq(id, &seq)) {
        (void)store_text(p, pdu); /* a peer without sequence numbers: as it comes */
        return;
    }
    load_seqs(p);
    if (seq < p->next_in) {
        (void)store_text(p, pdu); /* had it: acknowledged again */
        return;
    }
    if (seq > p->next_in) {
        /* Early: keep it (unacknowledged) until the ones before it come. */
        if (p->held == NULL)
            p->held = g_tree_new_full(seq_cmp, NULL, g_free, held_bytes_free);
        if (g_tree_nnodes(p->held) < (gint)APP_MAX_HELD && g_tree_lookup(p->held, &seq) == NULL) {
            uint64_t *k = g_new(uint64_t, 1);
            *k = seq;
            g_tree_insert(p->held, k, g_bytes_new(data, len));
        }
        return;
    }
    if (!store_text(p, pdu))
        return;
    p->next_in++;
    if (put_u64(p->app, SEQ_IN_NS, p->id, p->next_in) != EK_OK)
        g_warning("cannot save the message counter of %s", p->id);
    release_held(p);
}

static void on_read_receipt(app_peer *p, const ek_pdu *pdu)
{
    size_t n = ek_pdu_array_len(pdu, "targets");
    for (size_t i = 0; i < n; i++) {
        uint8_t id[APP_MSG_ID_LEN];
        size_t len = 0;
        if (ek_pdu_array_bytes(pdu, "targets", i, id, sizeof(id), &len) != EK_OK ||
            len != APP_MSG_ID_LEN)
            continue;
        char vid[2 * APP_MSG_ID_LEN + 2];
        vid[0] = 'o';
        app_hex(vid + 1, id, APP_MSG_ID_LEN);
        if (!app_txn(p->app))
            return;
        if (ek_vault_msg_set_status(p->app->vault, p->id, vid, EK_VAULT_MSG_READ) == EK_OK)
            emit_msg_event(p, EK_APP_EV_READ, vid + 1);
    }
}

static void on_envelope(app_peer *p, const char *type, const uint8_t *data, size_t len)
{
    ek_pdu *pdu = NULL;
    if (ek_pdu_parse(&pdu, data, len, EK_PDU_INNER) != EK_OK)
        return;
    if (strcmp(type, "text") == 0) {
        on_text(p, pdu, data, len);
    } else if (strcmp(type, "typing") == 0) {
        const char *st = NULL;
        size_t n = 0;
        if (ek_pdu_string(pdu, "state", &st, &n) == EK_OK) {
            ek_app_event ev = {0};
            ev.type = EK_APP_EV_TYPING;
            ev.peer = p->id;
            ev.typing = n == 5 && memcmp(st, "start", 5) == 0;
            app_emit(p->app, &ev);
        }
    } else if (strcmp(type, "read-receipt") == 0) {
        on_read_receipt(p, pdu);
    } else {
        g_debug("%s sent a %s envelope: not supported yet, ignored", p->id, type);
    }
    ek_pdu_free(pdu);
}

static void on_receipts(app_peer *p, const uint8_t *data, size_t len)
{
    ek_app *app = p->app;
    if (len == 7 && data[0] == APP_RECEIPT_LOW_WATER) {
        uint64_t low = 0;
        for (size_t i = 1; i < 7; i++)
            low = low << 8 | data[i];
        skip_to(p, low);
        return;
    }
    if (len < 1 || data[0] != APP_RECEIPT_DELIVERED || (len - 1) % APP_MSG_ID_LEN != 0)
        return;
    p->progress_ms = app_now_ms();
    for (size_t off = 1; off < len; off += APP_MSG_ID_LEN) {
        char vid[2 * APP_MSG_ID_LEN + 2];
        vid[0] = 'o';
        app_hex(vid + 1, data + off, APP_MSG_ID_LEN);
        if (!app_txn(app))
            return;
        int rc = ek_vault_outbox_remove(app->vault, p->id, vid + 1);
        if (rc == EK_ERR_VAULT_NOT_FOUND)
            continue; /* a receipt repeated */
        if (rc != EK_OK) {
            g_warning("cannot update the outbox of %s: %s", p->id, ek_vault_strerror(rc));
            continue;
        }
        rc = ek_vault_msg_set_status(app->vault, p->id, vid, EK_VAULT_MSG_DELIVERED);
        if (rc != EK_OK && rc != EK_ERR_VAULT_NOT_FOUND)
            g_warning("cannot update a message to %s: %s", p->id, ek_vault_strerror(rc));
        emit_msg_event(p, EK_APP_EV_DELIVERED, vid + 1);
    }
}

static void on_session_failed(app_peer *p, int error, const char *code)
{
    char *d = g_strdup_printf("the session failed (%s%s%s)", ek_strerror(error),
                              code != NULL ? ": " : "", code != NULL ? code : "");
    int mismatch = code != NULL && strcmp(code, "auth-failed") == 0;
    if (mismatch) {
        g_free(d);
        d = g_strdup("the handshake failed authentication (the peer's identity key is not the "
                     "pinned one, or the frames were tampered with)");
    }
    fail_peer(p, mismatch ? EK_APP_ERR_IDENTITY_MISMATCH : EK_APP_ERR_SESSION_FAILED, d, 0);
    g_free(d);
}

static void drain_events(app_peer *p)
{
    ek_event ev;
    while (p->session != NULL && ek_session_pop_event(p->session, &ev) == 1) {
        switch (ev.type) {
        case EK_EVENT_READY: on_ready(p, ev.resumed); break;
        case EK_EVENT_MESSAGE: on_envelope(p, ev.pdu_type, ev.data, ev.len); break;
        case EK_EVENT_FILE_CHUNK:
            if (memcmp(ev.transfer, app_receipt_transfer, 16) == 0)
                on_receipts(p, ev.data, ev.len);
            break;
        case EK_EVENT_PEER_ERROR:
            g_message("%s reported a protocol error: %s", p->id, ev.code != NULL ? ev.code : "?");
            break;
        case EK_EVENT_FAILED: on_session_failed(p, ev.error, ev.code); return;
        case EK_EVENT_CLOSED: {
            /* The peer ended the session for good: forget its state. */
            if (app_txn(p->app))
                app_ignore(ek_vault_session_delete(p->app->vault, p->id));
            ek_net_conn *c = p->conn;
            if (c != NULL) {
                transport_gone(p);
                ek_net_conn_close(c);
            }
            ek_session_free(p->session);
            p->session = NULL;
            p->autoconnect = 0;
            (void)app_peer_save_flags(p->app, p);
            set_state(p, EK_APP_PEER_OFFLINE, 0, "the peer closed the session", 0);
            return;
        }
        default: break;
        }
    }
}

static app_peer *peer_of(conn_ctx *ctx, ek_net_conn *conn)
{
    app_peer *p = g_hash_table_lookup(ctx->app->peers, ctx->peer);
    return p != NULL && p->conn == conn ? p : NULL;
}

static void on_conn_frame(ek_net_conn *conn, ek_net_frame_kind kind, const uint8_t *data,
                          size_t len, void *user)
{
    (void)kind;
    app_peer *p = peer_of(user, conn);
    if (p == NULL || p->session == NULL)
        return;
    if (len > 0 && data[0] == 1)
        return; /* the net layer's own liveness messages start with \x01 */
    int rc = ek_session_recv(p->session, data, len, (uint64_t)app_now_ms());
    if (rc != EK_OK)
        g_warning("session with %s: %s", p->id, ek_strerror(rc));
    p->session_dirty = 1;
    /* When the peer kept no state for our resume (unknown-session), the
     * engine itself runs the fresh handshake beside the kept state and
     * replaces it only when that handshake reaches Ready with the same
     * identity (docs/protocol.md §9.3): an unauthenticated frame must not
     * make us throw the saved session away. */
    drain_events(p);
    app_schedule_flush(p->app);
}

static void on_conn_writable(ek_net_conn *conn, void *user)
{
    app_peer *p = peer_of(user, conn);
    if (p != NULL)
        app_peer_transmit(p);
}

static const char *close_words(int err)
{
    switch (err) {
    case EK_NET_ERR_PEER_UNAVAILABLE: return "the peer is offline (not connected to the broker)";
    case EK_NET_ERR_PEER_LEFT: return "the peer closed the connection";
    case EK_NET_ERR_PEER_TIMEOUT: return "the peer stopped answering";
    case EK_NET_ERR_TIMEOUT: return "the connection did not open in time";
    case EK_NET_ERR_ICE_FAILED: return "no network path to the peer (ICE failed)";
    default: return NULL;
    }
}

static void on_conn_state(ek_net_conn *conn, ek_net_conn_state st, int err, const char *detail,
                          void *user)
{
    conn_ctx *ctx = user;
    app_peer *p = peer_of(ctx, conn);
    if (st == EK_NET_CONN_CLOSED) {
        ctx_free(ctx); /* the handle is gone after this call */
        if (p == NULL)
            return;
        transport_gone(p);
        const char *w = close_words(err);
        char *d = g_strdup_printf("%s%s%s", w != NULL ? w : ek_net_strerror(err),
                                  detail != NULL && w == NULL ? ": " : "",
                                  detail != NULL && w == NULL ? detail : "");
        int code = err == EK_NET_ERR_PEER_UNAVAILABLE ? EK_APP_ERR_PEER_OFFLINE : 0;
        if (err == 0) {
            g_free(d);
            d = g_strdup("connection closed");
        }
        schedule_retry(p, code, d);
        g_free(d);
        app_schedule_flush(p->app);
        return;
    }
    if (p == NULL)
        return;
    if (st == EK_NET_CONN_OPEN)
        channel_open(p);
}

/* ---- incoming offers ---- */

static int offer_is_reply(const char *metadata_json)
{
    if (metadata_json == NULL)
        return 0;
    json_error_t e;
    json_t *m = json_loads(metadata_json, JSON_DECODE_ANY, &e);
    int reply = json_is_object(m) && json_is_true(json_object_get(m, "reply"));
    json_decref(m);
    return reply;
}

void app_peer_on_incoming(ek_app *app, ek_net_conn *conn, const ek_net_offer_info *info)
{
    const char *id = info->peer_id;
    if (app->closing || !ek_app_peer_id_valid(id) || strcmp(id, app->self_id) == 0) {
        g_message("refusing an offer from \"%s\": not an enkrypt peer ID", id);
        return;
    }
    if (info->serialization != EK_NET_SER_RAW || !info->reliable) {
        g_message("refusing an offer from %s: needs a reliable raw channel", id);
        return;
    }
    app_peer *p = app_peer_get(app, id, 0);
    if (p == NULL || !p->accepted) {
        if (app->settings.accept != EK_APP_ACCEPT_ALL) {
            int64_t now = app_now_ms();
            if (p == NULL) {
                p = app_peer_get(app, id, 1);
                p->known = 1;
            }
            /* Announce a request once a minute at most; the requester
             * keeps retrying until we accept. */
            if (p->last_request_ms == 0 || now - p->last_request_ms > 60000) {
                p->last_request_ms = now;
                p->requested = 1;
                ek_app_event ev = {0};
                ev.type = EK_APP_EV_CONTACT_REQUEST;
                ev.peer = id;
                ev.detail = "wants to connect: accept or reject";
                app_emit(app, &ev);
                app_schedule_flush(app);
            }
            return;
        }
        if (p == NULL)
            p = app_peer_get(app, id, 1);
        p->known = 1;
        p->accepted = 1;
        (void)app_peer_save_flags(app, p);
    }
    if (p->conn != NULL) {
        if (p->conn_outgoing && !p->conn_open && !offer_is_reply(info->metadata_json) &&
            strcmp(app->self_id, id) < 0)
            return; /* both dialled: ours wins (our ID sorts first) */
        ek_net_conn *old = p->conn;
        transport_gone(p);
        ek_net_conn_close(old);
    }
    conn_ctx *ctx = ctx_new(app, id);
    if (ek_net_conn_accept(conn, &conn_callbacks, ctx) != 0) {
        ctx_free(ctx);
        return;
    }
    if (p->retry_source != 0) {
        g_source_remove(p->retry_source);
        p->retry_source = 0;
    }
    p->conn = conn;
    p->conn_outgoing = 0;
    p->conn_open = 0;
    set_state(p, EK_APP_PEER_CONNECTING, 0, NULL, 0);
}

/* ---- timers ---- */

void app_peer_tick(app_peer *p, int64_t now)
{
    if (p->session == NULL)
        return;
    int rc = ek_session_tick(p->session, (uint64_t)now);
    if (rc != EK_OK)
        g_warning("session with %s: %s", p->id, ek_strerror(rc));
    drain_events(p);
    if (p->session != NULL && ek_session_get_state(p->session) == EK_STATE_READY &&
        !p->outbox_pending && now - p->progress_ms > APP_RESEND_MS && has_outbox(p)) {
        /* Nothing acknowledged for a while: a frame was lost (or dropped by
         * the engine); send everything waiting again, in order. */
        p->outbox_pending = 1;
        p->progress_ms = now;
    }
}

/* ---- sending ---- */

typedef struct outbox_walk {
    app_peer *p;
    GPtrArray *ids; /* msg ids whose status must become SENT */
    int rc;
    int low_sent;
} outbox_walk;

/* The low-water mark: the oldest message we still hold for the peer. */
static int send_low_water(app_peer *p, uint64_t low)
{
    uint8_t b[7];
    b[0] = APP_RECEIPT_LOW_WATER;
    for (int i = 0; i < 6; i++)
        b[1 + i] = (uint8_t)(low >> (8 * (5 - i)));
    return ek_session_send_file_chunk(p->session, app_receipt_transfer, p->receipt_index++, b,
                                      sizeof(b), (uint64_t)app_now_ms());
}

static int resend_item(void *ctx, const ek_vault_outbox_item *it)
{
    outbox_walk *w = ctx;
    uint8_t id[APP_MSG_ID_LEN];
    uint64_t seq = 0;
    if (!w->low_sent && app_unhex(id, sizeof(id), it->msg_id) && app_msg_id_seq(id, &seq)) {
        w->low_sent = 1;
        int rc = send_low_water(w->p, seq);
        if (rc != EK_OK) {
            w->rc = rc;
            return rc;
        }
    }
    int rc = ek_session_send(w->p->session, it->payload, it->payload_len, (uint64_t)app_now_ms());
    if (rc != EK_OK) {
        w->rc = rc;
        return rc;
    }
    g_ptr_array_add(w->ids, g_strdup_printf("o%s", it->msg_id));
    return EK_OK;
}

static void send_outbox(app_peer *p)
{
    ek_app *app = p->app;
    outbox_walk w = {p, g_ptr_array_new_with_free_func(g_free), EK_OK, 0};
    int rc = ek_vault_outbox_list(app->vault, p->id, resend_item, &w);
    if (rc != EK_OK && w.rc == EK_OK)
        g_warning("cannot read the outbox of %s: %s", p->id, ek_vault_strerror(rc));
    if (w.rc != EK_OK)
        g_warning("cannot send the outbox to %s: %s", p->id, ek_strerror(w.rc));
    if (w.ids->len > 0 && app_txn(app)) {
        for (guint i = 0; i < w.ids->len; i++) {
            /* QUEUED -> SENT; never back from DELIVERED/READ */
            app_ignore(ek_vault_msg_set_status(app->vault, p->id, g_ptr_array_index(w.ids, i),
                                               EK_VAULT_MSG_SENT));
        }
    }
    g_ptr_array_free(w.ids, TRUE);
    p->session_dirty = 1;
}

static void send_acks(app_peer *p)
{
    while (p->acks->len > 0) {
        guint n = p->acks->len < APP_RECEIPTS_PER_CHUNK ? p->acks->len : APP_RECEIPTS_PER_CHUNK;
        size_t len = 1 + (size_t)n * APP_MSG_ID_LEN;
        uint8_t *buf = g_malloc(len);
        buf[0] = APP_RECEIPT_DELIVERED;
        memcpy(buf + 1, p->acks->data, (size_t)n * APP_MSG_ID_LEN);
        int rc = ek_session_send_file_chunk(p->session, app_receipt_transfer, p->receipt_index++,
                                            buf, len, (uint64_t)app_now_ms());
        g_free(buf);
        if (rc != EK_OK) {
            g_warning("cannot send receipts to %s: %s", p->id, ek_strerror(rc));
            return; /* kept: sent with the next flush */
        }
        g_array_remove_range(p->acks, 0, n);
        p->session_dirty = 1;
    }
}

void app_peer_prepare(app_peer *p)
{
    if (p->session == NULL)
        return;
    if (ek_session_get_state(p->session) == EK_STATE_READY) {
        if (p->outbox_pending) {
            p->outbox_pending = 0;
            send_outbox(p);
        }
        send_acks(p);
    }
    ek_frame f;
    while (ek_session_pop_frame(p->session, &f) == 1) {
        app_out_frame *o = g_malloc(sizeof(*o) + f.len);
        o->binary = f.binary;
        o->len = f.len;
        memcpy(o->data, f.data, f.len);
        g_queue_push_tail(&p->out, o);
        p->session_dirty = 1;
    }
    if (!p->session_dirty)
        return;
    uint8_t *blob = NULL;
    size_t len = 0, cap = 0;
    int rc = ek_session_save(p->session, &blob, &len, &cap);
    if (rc == EK_ERR_STATE) {
        p->session_dirty = 0; /* nothing to keep before the handshake ends */
        return;
    }
    if (rc == EK_OK && app_txn(p->app)) {
        rc = ek_vault_session_put(p->app->vault, p->id, blob, len);
        if (rc != EK_OK)
            g_warning("cannot save the session with %s: %s", p->id, ek_vault_strerror(rc));
    } else if (rc != EK_OK) {
        g_warning("cannot save the session with %s: %s", p->id, ek_strerror(rc));
    }
    if (blob != NULL) {
        ek_wipe(blob, cap);
        ek_free(NULL, blob, cap);
    }
    p->session_dirty = 0;
}

void app_peer_transmit(app_peer *p)
{
    app_out_frame *f;
    while (p->conn != NULL && p->conn_open && (f = g_queue_peek_head(&p->out)) != NULL) {
        int rc = f->binary ? ek_net_conn_send(p->conn, f->data, f->len)
                           : ek_net_conn_send_text(p->conn, (const char *)f->data, f->len);

        if (rc == EK_NET_ERR_WOULD_BLOCK)
            return; /* on_writable resumes */
        if (rc != 0)
            g_warning("cannot send to %s: %s", p->id, ek_net_strerror(rc));
        g_queue_pop_head(&p->out);
        ek_wipe(f->data, f->len);
        g_free(f);
        if (rc != 0)
            return;
    }
}

gboolean app_peer_send_text(app_peer *p, const char *text, char id_out[33], GError **err)
{
    ek_app *app = p->app;
    size_t len = strlen(text);
    if (len > APP_MAX_TEXT || !g_utf8_validate(text, (gssize)len, NULL)) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                    "the text must be UTF-8 of at most %d bytes", APP_MAX_TEXT);
        return FALSE;
    }
    uint8_t id[APP_MSG_ID_LEN];
    load_seqs(p);
    if (!app_msg_id_make(id, p->next_out)) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INTERNAL, "cannot make a message id");
        return FALSE;
    }
    gboolean was_idle = !has_outbox(p);
    int64_t ts = app_now_ms();
    GByteArray *env = NULL;
    if (!app_wire_text(&env, id, ts, text, len)) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "cannot encode the message");
        return FALSE;
    }
    char hex[2 * APP_MSG_ID_LEN + 1], vid[2 * APP_MSG_ID_LEN + 2];
    app_hex(hex, id, APP_MSG_ID_LEN);
    vid[0] = 'o';
    memcpy(vid + 1, hex, sizeof(hex));
    int now_ready = p->session != NULL && ek_session_get_state(p->session) == EK_STATE_READY &&
                    !p->outbox_pending;
    /* The counter, the history row and the outbox entry go in the open
     * transaction; a failed write leaves it to the flush, whose commit
     * then fails and drops the round (core.c). */
    gboolean ok = app_txn(app);
    int rc = ok ? put_u64(app, SEQ_OUT_NS, p->id, p->next_out + 1) : EK_ERR_VAULT_IO;
    ek_vault_message m = {0};
    m.conversation = p->id;
    m.id = vid;
    m.direction = EK_VAULT_OUTGOING;
    m.status = now_ready ? EK_VAULT_MSG_SENT : EK_VAULT_MSG_QUEUED;
    m.timestamp_ms = (uint64_t)ts;
    m.body = (const uint8_t *)text;
    m.body_len = len;
    if (rc == EK_OK)
        rc = ek_vault_msg_append(app->vault, NULL, &m);
    if (rc == EK_OK) {
        ek_vault_outbox_item it = {0};
        it.peer_id = p->id;
        it.msg_id = hex;
        it.payload = env->data;
        it.payload_len = env->len;
        it.queued_ms = (uint64_t)ts;
        rc = ek_vault_outbox_push(app->vault, NULL, &it);
        if (rc != EK_OK) /* in the history but never sent: say so */
            app_ignore(ek_vault_msg_set_status(app->vault, p->id, vid, EK_VAULT_MSG_FAILED));
    }
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot store the message");
        ok = FALSE;
    }
    if (ok && now_ready) {
        rc = ek_session_send(p->session, env->data, env->len, (uint64_t)app_now_ms());
        if (rc != EK_OK) /* stays in the outbox: sent when ready again */
            g_warning("cannot send to %s now (%s): queued", p->id, ek_strerror(rc));
        p->session_dirty = 1;
    }
    g_byte_array_free(env, TRUE);
    if (!ok)
        return FALSE;
    p->next_out++;
    if (was_idle)
        p->progress_ms = app_now_ms();
    memcpy(id_out, hex, sizeof(hex));
    if (p->conn == NULL && p->retry_source == 0)
        app_peer_dial(p); /* queued messages make us reach out */
    app_schedule_flush(app);
    return TRUE;
}

static gboolean send_control(app_peer *p, GByteArray *env, const char *what, GError **err)
{
    if (p->session == NULL || ek_session_get_state(p->session) != EK_STATE_READY) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_NOT_READY, "%s is not connected: %s not sent",
                    p->id, what);
        return FALSE;
    }
    int rc = ek_session_send(p->session, env->data, env->len, (uint64_t)app_now_ms());
    if (rc == EK_ERR_STATE) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_DISABLED, "%s are off: nothing sent", what);
        return FALSE;
    }
    if (rc != EK_OK) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INTERNAL, "cannot send %s: %s", what,
                    ek_strerror(rc));
        return FALSE;
    }
    p->session_dirty = 1;
    app_schedule_flush(p->app);
    return TRUE;
}

gboolean app_peer_send_typing(app_peer *p, int typing, GError **err)
{
    if (!p->app->settings.typing_indicators) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_DISABLED,
                    "typing indicators are off: nothing "
                    "sent");
        return FALSE;
    }
    GByteArray *env = NULL;
    if (!app_wire_typing(&env, app_now_ms(), typing)) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INTERNAL, "cannot encode the typing notice");
        return FALSE;
    }
    gboolean ok = send_control(p, env, "typing indicators", err);
    g_byte_array_free(env, TRUE);
    return ok;
}

gboolean app_peer_send_read(app_peer *p, const uint8_t *ids, size_t n, GError **err)
{
    if (!p->app->settings.read_receipts)
        return TRUE; /* off: nothing is sent, and that is not an error */
    gboolean ok = TRUE;
    for (size_t off = 0; ok && off < n; off += 256) {
        size_t k = n - off < 256 ? n - off : 256;
        GByteArray *env = NULL;
        if (!app_wire_read_receipt(&env, app_now_ms(), ids + off * APP_MSG_ID_LEN, k)) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INTERNAL, "cannot encode a read receipt");
            return FALSE;
        }
        ok = send_control(p, env, "read receipts", err);
        g_byte_array_free(env, TRUE);
    }
    return ok;
}

void app_peer_settings_changed(app_peer *p)
{
    if (p->session != NULL)
        ek_session_set_privacy(p->session, p->app->settings.typing_indicators,
                               p->app->settings.read_receipts);
}
