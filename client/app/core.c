/*
 * core.c: the core's object (ek_app): opening a profile, the broker
 * registration, the flush that saves, commits and transmits, events,
 * contacts, history, verification, settings and status. The per-peer glue
 * is peer.c.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "core_internal.h"

int64_t app_now_ms(void)
{
    return g_get_real_time() / 1000;
}

/* ---- events ---- */

typedef struct queued_event {
    ek_app_event ev;
    ek_app_message msg;
    char *peer, *msg_id, *detail;
} queued_event;

static void queued_event_free(queued_event *q)
{
    g_free(q->peer);
    g_free(q->msg_id);
    g_free(q->detail);
    g_free(q->msg.peer);
    if (q->msg.body != NULL)
        ek_wipe(q->msg.body, strlen(q->msg.body));
    g_free(q->msg.body);
    g_free(q);
}

void app_emit(ek_app *app, const ek_app_event *ev)
{
    queued_event *q = g_new0(queued_event, 1);
    q->ev = *ev;
    q->peer = g_strdup(ev->peer);
    q->msg_id = g_strdup(ev->msg_id);
    q->detail = g_strdup(ev->detail);
    q->ev.peer = q->peer;
    q->ev.msg_id = q->msg_id;
    q->ev.detail = q->detail;
    if (ev->msg != NULL) {
        q->msg = *ev->msg;
        q->msg.peer = g_strdup(ev->msg->peer);
        q->msg.body = g_strdup(ev->msg->body);
        q->ev.msg = &q->msg;
    }
    g_queue_push_tail(&app->events, q);
    app_schedule_flush(app);
}

void app_emit_peer_state(ek_app *app, app_peer *p, int error, const char *detail, int resumed)
{
    ek_app_event ev = {0};
    ev.type = EK_APP_EV_PEER_STATE;
    ev.peer = p->id;
    ev.peer_state = p->state;
    ev.error = error;
    ev.detail = detail;
    ev.resumed = resumed;
    app_emit(app, &ev);
}

void ek_app_set_event_callback(ek_app *app, ek_app_event_fn fn, void *user)
{
    app->event_fn = fn;
    app->event_user = user;
}

/* ---- the vault transaction and the flush ---- */

gboolean app_txn(ek_app *app)
{
    if (app->in_txn)
        return TRUE;
    int rc = ek_vault_begin(app->vault);
    if (rc != EK_OK) {
        g_warning("cannot write to the vault: %s", ek_vault_strerror(rc));
        return FALSE;
    }
    app->in_txn = 1;
    return TRUE;
}

/* Save sessions, commit, then transmit (peer.c's header comment says
 * why in this order). */
static void flush_io(ek_app *app)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, app->peers);
    while (g_hash_table_iter_next(&it, &k, &v))
        app_peer_prepare(v);
    if (app->in_txn) {
        app->in_txn = 0;
        int rc = ek_vault_commit(app->vault);
        if (rc != EK_OK) {
            /* Nothing of this round may reach the wire: the vault does not
             * have the states the frames come from. Drop the sessions in
             * memory; they restore from the vault on the next channel. */
            char *d = g_strdup_printf("cannot write to the vault: %s; connections restart",
                                      ek_vault_strerror(rc));
            g_warning("%s", d);
            app_ignore(ek_vault_rollback(app->vault));
            g_hash_table_iter_init(&it, app->peers);
            while (g_hash_table_iter_next(&it, &k, &v)) {
                app_peer *p = v;
                if (p->conn != NULL)
                    app_peer_stop(p, 1);
                ek_session_free(p->session);
                p->session = NULL;
                p->seq_loaded = 0; /* the counters: as the vault has them */
                g_array_set_size(p->acks, 0);
                app_peer_dial(p);
            }
            ek_app_event ev = {0};
            ev.type = EK_APP_EV_ERROR;
            ev.error = EK_APP_ERR_IO;
            ev.detail = d;
            app_emit(app, &ev);
            g_free(d);
            return;
        }
    }
    g_hash_table_iter_init(&it, app->peers);
    while (g_hash_table_iter_next(&it, &k, &v))
        app_peer_transmit(v);
}

static void deliver_events(ek_app *app)
{
    queued_event *q;
    while ((q = g_queue_pop_head(&app->events)) != NULL) {
        if (app->event_fn != NULL && !app->closing)
            app->event_fn(app, &q->ev, app->event_user);
        queued_event_free(q);
    }
}

static gboolean flush_cb(gpointer user)
{
    ek_app *app = user;
    app->flush_source = 0;
    flush_io(app);
    deliver_events(app);
    return G_SOURCE_REMOVE;
}

void app_schedule_flush(ek_app *app)
{
    if (app->flush_source == 0 && !app->closing)
        app->flush_source = g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, flush_cb, app, NULL);
}

/* Inside an API call: make what it wrote durable before returning (the
 * events wait for the idle flush). */
static void commit_now(ek_app *app)
{
    flush_io(app);
    if (!g_queue_is_empty(&app->events))
        app_schedule_flush(app);
}

static gboolean tick_cb(gpointer user)
{
    ek_app *app = user;
    int64_t now = app_now_ms();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, app->peers);
    while (g_hash_table_iter_next(&it, &k, &v))
        app_peer_tick(v, now);
    app_schedule_flush(app);
    return G_SOURCE_CONTINUE;
}

/* ---- opening ---- */

void ek_app_options_init(ek_app_options *o)
{
    memset(o, 0, sizeof(*o));
}

static const char *const setting_names[] = {"typing-indicators", "read-receipts", "accept", NULL};

static int read_bool_setting(ek_app *app, const char *key, int def)
{
    char buf[16];
    if (ek_vault_setting_get(app->vault, buf, sizeof(buf), NULL, key) != EK_OK)
        return def;
    return strcmp(buf, "on") == 0;
}

static void load_settings(ek_app *app)
{
    app->settings.typing_indicators = read_bool_setting(app, "app.typing-indicators", 0);
    app->settings.read_receipts = read_bool_setting(app, "app.read-receipts", 0);
    char buf[16];
    app->settings.accept = EK_APP_ACCEPT_ASK;
    if (ek_vault_setting_get(app->vault, buf, sizeof(buf), NULL, "app.accept") == EK_OK &&
        strcmp(buf, "all") == 0)
        app->settings.accept = EK_APP_ACCEPT_ALL;
}

static int load_contact(void *ctx, const ek_vault_contact *c)
{
    ek_app *app = ctx;
    app_peer *p = app_peer_get(app, c->peer_id, 1);
    p->known = 1;
    return EK_OK;
}

ek_app *ek_app_open(const ek_app_options *o, GError **err)
{
    ek_app *app = g_new0(ek_app, 1);
    app->peers =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)app_peer_free);
    app->conn_ctxs = g_hash_table_new_full(NULL, NULL, app_conn_ctx_destroy, NULL);
    g_queue_init(&app->events);
    if (!ek_app_paths_get(&app->paths, o->profile, err))
        goto fail;
    if (!g_file_test(app->paths.vault_file, G_FILE_TEST_EXISTS)) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_NO_PROFILE,
                    "no profile \"%s\" (no %s): create it with `enkrypt init --profile %s`",
                    app->paths.profile, app->paths.vault_file, app->paths.profile);
        goto fail;
    }
    if (!app_config_load(&app->cfg, app->paths.config_file, err))
        goto fail;
    int rc;
    if (o->passphrase != NULL)
        rc = ek_vault_open(&app->vault, app->paths.vault_file, o->passphrase, strlen(o->passphrase),
                           NULL);
    else if (o->recovery_code != NULL)
        rc = ek_vault_open_recovery(&app->vault, app->paths.vault_file, o->recovery_code, NULL);
    else
        rc = EK_ERR_VAULT_BAD_PASSPHRASE;
    if (rc != EK_OK) {
        char *doing = g_strdup_printf("cannot open profile \"%s\" (%s)", app->paths.profile,
                                      app->paths.vault_file);
        app_set_vault_error(err, rc, doing);
        g_free(doing);
        app->vault = NULL;
        goto fail;
    }
    rc = ek_vault_identity_get(app->vault, &app->identity);
    if (rc == EK_OK)
        rc = ek_identity_public(app->self_pk, &app->identity);
    if (rc != EK_OK) {
        app_set_vault_error(err, rc == EK_ERR_VAULT_NOT_FOUND ? EK_ERR_VAULT_CORRUPT : rc,
                            "cannot read the identity from the vault");
        goto fail;
    }
    ek_app_peer_id_from_key(app->self_id, app->self_pk);
    char token[64];
    if (ek_vault_setting_get(app->vault, token, sizeof(token), NULL, "net.token") == EK_OK)
        app->token = g_strdup(token);
    load_settings(app);
    rc = ek_vault_contact_list(app->vault, load_contact, app);
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot read the contacts");
        goto fail;
    }
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, app->peers);
    while (g_hash_table_iter_next(&it, &k, &v))
        app_peer_load_flags(app, v);
    app->broker_exe = g_strdup(o->broker_exe);
    if (o->broker_url != NULL && o->broker_url[0]) {
        g_free(app->cfg.broker_url);
        app->cfg.broker_url = g_strdup(o->broker_url);
    }
    app->scratch = g_string_new(NULL);
    return app;
fail:
    ek_app_close(app);
    return NULL;
}

/* ---- the broker registration ---- */

static void on_net_state(ek_net *net, ek_net_state st, int err, const char *detail, void *user)
{
    (void)net;
    ek_app *app = user;
    ek_app_event ev = {0};
    ev.type = EK_APP_EV_NET_STATE;
    char *d = NULL;
    switch (st) {
    case EK_NET_CONNECTING: app->net_state = EK_APP_NET_CONNECTING; break;
    case EK_NET_REGISTERED: {
        app->net_state = EK_APP_NET_REGISTERED;
        d = g_strdup_printf("registered as %s at %s", app->self_id, app->broker_url);
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, app->peers);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            app_peer *p = v;
            if (p->accepted && p->conn == NULL && p->retry_source == 0 &&
                (p->autoconnect || p->state == EK_APP_PEER_CONNECTING))
                app_peer_dial(p);
        }
        GHashTableIter it2;
        g_hash_table_iter_init(&it2, app->peers);
        while (g_hash_table_iter_next(&it2, &k, &v)) {
            app_peer *p = v;
            uint64_t n = 0;
            if (p->accepted && p->conn == NULL && p->retry_source == 0 &&
                ek_vault_outbox_count(app->vault, &n, p->id) == EK_OK && n > 0)
                app_peer_dial(p);
        }
        break;
    }
    case EK_NET_RECONNECTING:
        app->net_state = EK_APP_NET_RECONNECTING;
        if (err == EK_NET_ERR_BROKER_UNREACHABLE || err == EK_NET_ERR_BROKER_LOST) {
            ev.error = EK_APP_ERR_BROKER_UNREACHABLE;
            if (app->embedded) {
                /* The embedded broker may have been another profile's that
                 * quit: start ours. */
                GError *e = NULL;
                if (!app_broker_ensure(app, &e)) {
                    g_message("%s", e->message);
                    g_clear_error(&e);
                }
            }
        }
        d = g_strdup_printf("cannot reach the broker %s (%s%s%s); retrying", app->broker_url,
                            ek_net_strerror(err), detail != NULL ? ": " : "",
                            detail != NULL ? detail : "");
        break;
    case EK_NET_FAILED:
        app->net_state = EK_APP_NET_FAILED;
        if (err == EK_NET_ERR_ID_TAKEN) {
            ev.error = EK_APP_ERR_ID_TAKEN;
            d = g_strdup_printf("the broker %s says our peer ID %s is taken: another client "
                                "holds it (is this profile running elsewhere?)",
                                app->broker_url, app->self_id);
        } else {
            ev.error = err == EK_NET_ERR_BROKER_UNREACHABLE ? EK_APP_ERR_BROKER_UNREACHABLE
                                                            : EK_APP_ERR_CONFIG;
            d = g_strdup_printf("the broker %s refused us: %s%s%s", app->broker_url,
                                ek_net_strerror(err), detail != NULL ? ": " : "",
                                detail != NULL ? detail : "");
        }
        break;
    }
    ev.net_state = app->net_state;
    ev.detail = d;
    /* Kept for status: a client that connects after the event still learns
     * why the broker state is what it is. */
    app->net_error = ev.error;
    g_free(app->net_detail);
    app->net_detail = g_strdup(d);
    app_emit(app, &ev);
    g_free(d);
}

static void on_incoming(ek_net *net, ek_net_conn *conn, const ek_net_offer_info *info, void *user)
{
    (void)net;
    app_peer_on_incoming(user, conn, info);
}

gboolean ek_app_start(ek_app *app, GError **err)
{
    if (app->started)
        return TRUE;
    if (app->cfg.broker_url != NULL) {
        app->broker_url = g_strdup(app->cfg.broker_url);
    } else if (!app_broker_ensure(app, err)) {
        return FALSE;
    }
    ek_net_config nc;
    ek_net_config_init(&nc);
    nc.broker_url = app->broker_url;
    nc.key = app->cfg.key;
    nc.id = app->self_id;
    nc.token = app->token;
    nc.relay_only = app->cfg.relay_only;
    nc.ping_interval_ms = app->cfg.ping_interval_ms;
    nc.ping_timeout_ms = app->cfg.ping_timeout_ms;
    nc.open_timeout_ms = app->cfg.open_timeout_ms;
    nc.reconnect_max_ms = 5000; /* the broker: come back soon after it does */
    for (size_t i = 0; i < app->cfg.n_ice; i++) {
        if (ek_net_config_add_ice_server(&nc, app->cfg.ice[i].url, app->cfg.ice[i].username,
                                         app->cfg.ice[i].credential) != 0) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG, "%s: invalid ICE server %s",
                        app->paths.config_file, app->cfg.ice[i].url);
            return FALSE;
        }
    }
    for (char **a = app->cfg.local_addrs; a != NULL && *a != NULL; a++) {
        if (ek_net_config_add_local_addr(&nc, *a) != 0) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG, "%s: invalid local address %s",
                        app->paths.config_file, *a);
            return FALSE;
        }
    }
    static const ek_net_callbacks cb = {on_net_state, on_incoming};
    int rc = ek_net_new(&app->net, &nc, &cb, app);
    if (rc != 0) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG, "invalid network configuration (%s): %s",
                    app->paths.config_file, ek_net_strerror(rc));
        app->net = NULL;
        return FALSE;
    }
    app->net_state = EK_APP_NET_CONNECTING;
    app->tick_source = g_timeout_add(1000, tick_cb, app);
    app->started = 1;
    return TRUE;
}

void ek_app_close(ek_app *app)
{
    if (app == NULL)
        return;
    if (app->vault != NULL && app->net != NULL)
        commit_now(app);
    app->closing = 1;
    if (app->flush_source != 0)
        g_source_remove(app->flush_source);
    if (app->tick_source != 0)
        g_source_remove(app->tick_source);
    if (app->net != NULL) {
        /* Close the channels so the peers learn at once, and give the
         * closes a moment to reach the wire. */
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, app->peers);
        while (g_hash_table_iter_next(&it, &k, &v))
            app_peer_stop(v, 1);
        int64_t until = g_get_monotonic_time() + (int64_t)500 * 1000;
        while (g_hash_table_size(app->conn_ctxs) > 0 && g_get_monotonic_time() < until) {
            if (!g_main_context_iteration(NULL, FALSE))
                g_usleep(5000);
        }
        ek_net_free(app->net);
        app->net = NULL;
    }
    app_broker_stop(app);
    if (app->in_txn)
        app_ignore(ek_vault_commit(app->vault));
    g_queue_clear_full(&app->events, (GDestroyNotify)queued_event_free);
    g_hash_table_destroy(app->peers);
    g_hash_table_destroy(app->conn_ctxs);
    ek_vault_close(app->vault);
    ek_wipe(&app->identity, sizeof(app->identity));
    app_config_clear(&app->cfg);
    ek_app_paths_clear(&app->paths);
    g_free(app->token);
    g_free(app->broker_exe);
    g_free(app->broker_url);
    g_free(app->net_detail);
    if (app->scratch != NULL)
        g_string_free(app->scratch, TRUE);
    g_free(app);
}

/* ---- who we are ---- */

const char *ek_app_profile(const ek_app *app)
{
    return app->paths.profile;
}

const char *ek_app_self_id(const ek_app *app)
{
    return app->self_id;
}

void ek_app_self_identity(const ek_app *app, uint8_t pk[32])
{
    memcpy(pk, app->self_pk, 32);
}

ek_app_net_state ek_app_get_net_state(const ek_app *app)
{
    return app->net_state;
}

const char *ek_app_broker_url(const ek_app *app)
{
    return app->broker_url;
}

int ek_app_broker_embedded(const ek_app *app)
{
    return app->embedded;
}

gboolean ek_app_change_passphrase(ek_app *app, const char *new_passphrase, GError **err)
{
    if (new_passphrase == NULL || new_passphrase[0] == 0) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "the new passphrase is empty");
        return FALSE;
    }
    commit_now(app); /* change_passphrase runs outside a transaction */
    int rc = ek_vault_change_passphrase(app->vault, new_passphrase, strlen(new_passphrase));
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot change the passphrase");
        return FALSE;
    }
    return TRUE;
}

/* ---- contacts ---- */

/* The peer ID that peer_or_nick names (a valid ID, or a contact's nick). */
static char *resolve(ek_app *app, const char *peer_or_nick, GError **err)
{
    if (peer_or_nick == NULL || peer_or_nick[0] == 0) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "no peer given");
        return NULL;
    }
    if (ek_app_peer_id_valid(peer_or_nick))
        return g_strdup(peer_or_nick);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, app->peers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        ek_vault_contact vc;
        if (ek_vault_contact_get(app->vault, &vc, k) == EK_OK &&
            strcmp(vc.nickname, peer_or_nick) == 0)
            return g_strdup(k);
    }
    g_set_error(err, EK_APP_ERROR, EK_APP_ERR_UNKNOWN_PEER,
                "\"%s\" is neither a peer ID (26 characters a-z 2-7) nor a contact's nickname",
                peer_or_nick);
    return NULL;
}

/* The contact peer_or_nick names, which must be accepted. */
static app_peer *contact_peer(ek_app *app, const char *peer_or_nick, GError **err)
{
    char *id = resolve(app, peer_or_nick, err);
    if (id == NULL)
        return NULL;
    app_peer *p = app_peer_get(app, id, 0);
    if (p == NULL || !p->accepted) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_UNKNOWN_PEER,
                    "%s is not a contact: connect to it (or accept its request) first", id);
        p = NULL;
    }
    g_free(id);
    return p;
}

void ek_app_contact_free(ek_app_contact *c)
{
    if (c == NULL)
        return;
    g_free(c->peer_id);
    g_free(c->nick);
    g_free(c);
}

typedef struct count_walk {
    unsigned unread;
} count_walk;

static int count_unread(void *ctx, const ek_vault_message *m)
{
    count_walk *w = ctx;
    if (m->direction == EK_VAULT_INCOMING && m->status == EK_VAULT_MSG_DELIVERED)
        w->unread++;
    return EK_OK;
}

static ek_app_contact *make_contact(ek_app *app, app_peer *p)
{
    ek_app_contact *c = g_new0(ek_app_contact, 1);
    c->peer_id = g_strdup(p->id);
    c->accepted = p->accepted;
    c->state = p->state;
    ek_vault_contact vc;
    if (ek_vault_contact_get(app->vault, &vc, p->id) == EK_OK) {
        c->nick = vc.nickname[0] ? g_strdup(vc.nickname) : NULL;
        c->verified = vc.verified;
        c->has_identity = vc.has_identity_key;
        memcpy(c->identity, vc.identity_key, 32);
        c->last_seen_ms = (int64_t)vc.last_seen_ms;
    }
    uint64_t n = 0;
    if (ek_vault_outbox_count(app->vault, &n, p->id) == EK_OK)
        c->queued = (unsigned)n;
    count_walk w = {0};
    uint64_t total = 0;
    if (ek_vault_msg_count(app->vault, &total, p->id) == EK_OK && total > 0)
        app_ignore(ek_vault_msg_list(app->vault, p->id, 0, total, count_unread, &w));
    c->unread = w.unread;
    return c;
}

static gint contact_cmp(gconstpointer a, gconstpointer b)
{
    const ek_app_contact *x = *(ek_app_contact *const *)a;
    const ek_app_contact *y = *(ek_app_contact *const *)b;
    const char *kx = x->nick != NULL ? x->nick : x->peer_id;
    const char *ky = y->nick != NULL ? y->nick : y->peer_id;
    int r = g_strcmp0(kx, ky);
    return r != 0 ? r : g_strcmp0(x->peer_id, y->peer_id);
}

GPtrArray *ek_app_contacts(ek_app *app)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)ek_app_contact_free);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, app->peers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        app_peer *p = v;
        if (p->known)
            g_ptr_array_add(a, make_contact(app, p));
    }
    g_ptr_array_sort(a, contact_cmp);
    return a;
}

ek_app_contact *ek_app_contact_get(ek_app *app, const char *peer_or_nick, GError **err)
{
    char *id = resolve(app, peer_or_nick, err);
    if (id == NULL)
        return NULL;
    app_peer *p = app_peer_get(app, id, 0);
    ek_app_contact *c = NULL;
    if (p == NULL || !p->known)
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_UNKNOWN_PEER, "%s is not a contact", id);
    else
        c = make_contact(app, p);
    g_free(id);
    return c;
}

gboolean ek_app_set_nick(ek_app *app, const char *peer_or_nick, const char *nick, GError **err)
{
    app_peer *p = contact_peer(app, peer_or_nick, err);
    if (p == NULL)
        return FALSE;
    if (nick == NULL)
        nick = "";
    if (strlen(nick) > 64 || !g_utf8_validate(nick, -1, NULL) || ek_app_peer_id_valid(nick) ||
        strpbrk(nick, " \t\r\n") != NULL) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                    "a nickname is up to 64 bytes of UTF-8 without spaces, and not a peer ID");
        return FALSE;
    }
    if (nick[0]) {
        GError *e = NULL;
        char *other = resolve(app, nick, &e);
        g_clear_error(&e);
        if (other != NULL && strcmp(other, p->id) != 0) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                        "the nickname \"%s\" is already %s's", nick, other);
            g_free(other);
            return FALSE;
        }
        g_free(other);
    }
    ek_vault_contact vc;
    int rc = ek_vault_contact_get(app->vault, &vc, p->id);
    if (rc == EK_OK) {
        g_strlcpy(vc.nickname, nick, sizeof(vc.nickname));
        rc = app_txn(app) ? ek_vault_contact_put(app->vault, &vc) : EK_ERR_VAULT_IO;
    }
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot save the nickname");
        return FALSE;
    }
    commit_now(app);
    return TRUE;
}

static gboolean ensure_contact(ek_app *app, app_peer *p, GError **err)
{
    ek_vault_contact vc;
    int rc = ek_vault_contact_get(app->vault, &vc, p->id);
    if (rc == EK_ERR_VAULT_NOT_FOUND) {
        memset(&vc, 0, sizeof(vc));
        g_strlcpy(vc.peer_id, p->id, sizeof(vc.peer_id));
        vc.added_ms = (uint64_t)app_now_ms();
        rc = app_txn(app) ? ek_vault_contact_put(app->vault, &vc) : EK_ERR_VAULT_IO;
    }
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot save the contact");
        return FALSE;
    }
    p->known = 1;
    p->accepted = 1;
    p->autoconnect = 1;
    return app_peer_save_flags(app, p);
}

typedef struct outbox_ids {
    GPtrArray *ids;
} outbox_ids;

static int collect_outbox(void *ctx, const ek_vault_outbox_item *it)
{
    outbox_ids *o = ctx;
    g_ptr_array_add(o->ids, g_strdup(it->msg_id));
    return EK_OK;
}

gboolean ek_app_remove_contact(ek_app *app, const char *peer_or_nick, GError **err)
{
    char *id = resolve(app, peer_or_nick, err);
    if (id == NULL)
        return FALSE;
    app_peer *p = app_peer_get(app, id, 0);
    if (p == NULL || !p->known) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_UNKNOWN_PEER, "%s is not a contact", id);
        g_free(id);
        return FALSE;
    }
    app_peer_stop(p, 0);
    gboolean ok = app_txn(app);
    if (ok) {
        outbox_ids o = {g_ptr_array_new_with_free_func(g_free)};
        app_ignore(ek_vault_outbox_list(app->vault, id, collect_outbox, &o));
        for (guint i = 0; i < o.ids->len; i++)
            app_ignore(ek_vault_outbox_remove(app->vault, id, g_ptr_array_index(o.ids, i)));
        g_ptr_array_free(o.ids, TRUE);
        app_ignore(ek_vault_session_delete(app->vault, id));
        app_ignore(ek_vault_conversation_delete(app->vault, id));
        app_ignore(ek_vault_kv_delete(app->vault, "app.peer", (const uint8_t *)id, strlen(id)));
        int rc = ek_vault_contact_delete(app->vault, id);
        if (rc != EK_OK && rc != EK_ERR_VAULT_NOT_FOUND) {
            app_set_vault_error(err, rc, "cannot remove the contact");
            ok = FALSE;
        }
    } else {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_IO, "cannot write to the vault");
    }
    g_hash_table_remove(app->peers, id);
    commit_now(app);
    g_free(id);
    return ok;
}

/* ---- connections ---- */

gboolean ek_app_connect(ek_app *app, const char *peer_or_nick, GError **err)
{
    char *id = resolve(app, peer_or_nick, err);
    if (id == NULL)
        return FALSE;
    if (strcmp(id, app->self_id) == 0) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "%s is your own peer ID", id);
        g_free(id);
        return FALSE;
    }
    app_peer *p = app_peer_get(app, id, 1);
    g_free(id);
    if (!ensure_contact(app, p, err))
        return FALSE;
    commit_now(app);
    if (p->state != EK_APP_PEER_READY && p->conn == NULL) {
        p->retry_ms = 0;
        app_peer_dial(p);
    }
    return TRUE;
}

gboolean ek_app_accept(ek_app *app, const char *peer, GError **err)
{
    char *id = resolve(app, peer, err);
    if (id == NULL)
        return FALSE;
    app_peer *p = app_peer_get(app, id, 0);
    if (p == NULL || !p->known) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_UNKNOWN_PEER,
                    "no contact request from %s (it must try to connect first)", id);
        g_free(id);
        return FALSE;
    }
    g_free(id);
    if (!ensure_contact(app, p, err))
        return FALSE;
    commit_now(app);
    if (p->conn == NULL) {
        p->retry_ms = 0;
        app_peer_dial(p);
    }
    return TRUE;
}

gboolean ek_app_reject(ek_app *app, const char *peer, GError **err)
{
    char *id = resolve(app, peer, err);
    if (id == NULL)
        return FALSE;
    app_peer *p = app_peer_get(app, id, 0);
    gboolean ok = p != NULL && p->known && !p->accepted;
    if (!ok)
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_UNKNOWN_PEER, "no pending request from %s", id);
    else
        g_hash_table_remove(app->peers, id);
    g_free(id);
    return ok;
}

gboolean ek_app_disconnect(ek_app *app, const char *peer_or_nick, GError **err)
{
    app_peer *p = contact_peer(app, peer_or_nick, err);
    if (p == NULL)
        return FALSE;
    app_peer_stop(p, 0);
    (void)app_peer_save_flags(app, p);
    commit_now(app);
    return TRUE;
}

ek_app_peer_state ek_app_get_peer_state(ek_app *app, const char *peer)
{
    app_peer *p = app_peer_get(app, peer, 0);
    return p != NULL ? p->state : EK_APP_PEER_OFFLINE;
}

/* ---- messages ---- */

gboolean ek_app_send_text(ek_app *app, const char *peer_or_nick, const char *text, char id_out[33],
                          GError **err)
{
    app_peer *p = contact_peer(app, peer_or_nick, err);
    if (p == NULL)
        return FALSE;
    if (text == NULL) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "no text given");
        return FALSE;
    }
    if (!app_peer_send_text(p, text, id_out, err))
        return FALSE;
    commit_now(app);
    return TRUE;
}

void ek_app_message_free(ek_app_message *m)
{
    if (m == NULL)
        return;
    g_free(m->peer);
    if (m->body != NULL)
        ek_wipe(m->body, strlen(m->body));
    g_free(m->body);
    g_free(m);
}

static ek_app_msg_status map_status(const ek_vault_message *m)
{
    if (m->direction == EK_VAULT_INCOMING)
        return EK_APP_MSG_RECEIVED;
    switch (m->status) {
    case EK_VAULT_MSG_QUEUED: return EK_APP_MSG_QUEUED;
    case EK_VAULT_MSG_SENT: return EK_APP_MSG_SENT;
    case EK_VAULT_MSG_DELIVERED: return EK_APP_MSG_DELIVERED;
    case EK_VAULT_MSG_READ: return EK_APP_MSG_READ;
    case EK_VAULT_MSG_FAILED: return EK_APP_MSG_FAILED;
    default: return EK_APP_MSG_QUEUED;
    }
}

typedef struct history_walk {
    GPtrArray *out;
    const char *peer;
} history_walk;

static int collect_message(void *ctx, const ek_vault_message *vm)
{
    history_walk *w = ctx;
    ek_app_message *m = g_new0(ek_app_message, 1);
    g_strlcpy(m->id, vm->id[0] != 0 ? vm->id + 1 : vm->id, sizeof(m->id));
    m->peer = g_strdup(w->peer);
    m->outgoing = vm->direction == EK_VAULT_OUTGOING;
    m->timestamp_ms = (int64_t)vm->timestamp_ms;
    m->stored_ms = (int64_t)vm->timestamp_ms;
    m->status = map_status(vm);
    m->body = g_strndup((const char *)vm->body, vm->body_len);
    m->order = vm->index;
    g_ptr_array_add(w->out, m);
    return EK_OK;
}

GPtrArray *ek_app_history(ek_app *app, const char *peer_or_nick, unsigned limit,
                          uint64_t before_order, GError **err)
{
    char *id = resolve(app, peer_or_nick, err);
    if (id == NULL)
        return NULL;
    app_peer *p = app_peer_get(app, id, 0);
    if (p == NULL || !p->known) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_UNKNOWN_PEER, "%s is not a contact", id);
        g_free(id);
        return NULL;
    }
    uint64_t count = 0;
    int rc = ek_vault_msg_count(app->vault, &count, id);
    uint64_t end = before_order > 0 && before_order < count ? before_order : count;
    uint64_t first = limit > 0 && end > limit ? end - limit : 0;
    history_walk w = {g_ptr_array_new_with_free_func((GDestroyNotify)ek_app_message_free), id};
    if (rc == EK_OK && end > first)
        rc = ek_vault_msg_list(app->vault, id, first, end - first, collect_message, &w);
    g_free(id);
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot read the history");
        g_ptr_array_free(w.out, TRUE);
        return NULL;
    }
    return w.out;
}

typedef struct read_walk {
    const char *upto; /* vault id or NULL */
    GArray *ids;      /* 16-byte ids */
    GPtrArray *vids;
    int done;
} read_walk;

static int collect_unread(void *ctx, const ek_vault_message *m)
{
    read_walk *w = ctx;
    if (w->done)
        return EK_OK;
    if (m->direction == EK_VAULT_INCOMING && m->status == EK_VAULT_MSG_DELIVERED) {
        uint8_t id[APP_MSG_ID_LEN];
        if (app_unhex(id, sizeof(id), m->id + 1)) {
            g_array_append_vals(w->ids, id, 1);
            g_ptr_array_add(w->vids, g_strdup(m->id));
        }
    }
    if (w->upto != NULL && strcmp(m->id, w->upto) == 0)
        w->done = 1;
    return EK_OK;
}

gboolean ek_app_mark_read(ek_app *app, const char *peer_or_nick, const char *msg_id, GError **err)
{
    app_peer *p = contact_peer(app, peer_or_nick, err);
    if (p == NULL)
        return FALSE;
    char *upto = msg_id != NULL ? g_strdup_printf("i%s", msg_id) : NULL;
    read_walk w = {upto, g_array_new(FALSE, FALSE, APP_MSG_ID_LEN),
                   g_ptr_array_new_with_free_func(g_free), 0};
    uint64_t count = 0;
    int rc = ek_vault_msg_count(app->vault, &count, p->id);
    if (rc == EK_OK && count > 0)
        rc = ek_vault_msg_list(app->vault, p->id, 0, count, collect_unread, &w);
    gboolean ok = rc == EK_OK;
    if (!ok)
        app_set_vault_error(err, rc, "cannot read the history");
    if (ok && upto != NULL && !w.done) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "no message %s from %s", msg_id,
                    p->id);
        ok = FALSE;
    }
    if (ok && w.vids->len > 0 && app_txn(app)) {
        for (guint i = 0; i < w.vids->len; i++)
            app_ignore(ek_vault_msg_set_status(app->vault, p->id, g_ptr_array_index(w.vids, i),
                                               EK_VAULT_MSG_READ));
        GError *e = NULL;
        /* A receipt that cannot go now (peer offline) is not kept: the read
         * state is ours; only a live session carries it. */
        if (p->session != NULL && ek_session_get_state(p->session) == EK_STATE_READY &&
            !app_peer_send_read(p, (const uint8_t *)w.ids->data, w.ids->len, &e))
            g_message("%s", e->message);
        g_clear_error(&e);
        commit_now(app);
    }
    g_array_free(w.ids, TRUE);
    g_ptr_array_free(w.vids, TRUE);
    g_free(upto);
    return ok;
}

gboolean ek_app_typing(ek_app *app, const char *peer_or_nick, int typing, GError **err)
{
    app_peer *p = contact_peer(app, peer_or_nick, err);
    if (p == NULL)
        return FALSE;
    if (!app_peer_send_typing(p, typing, err))
        return FALSE;
    commit_now(app);
    return TRUE;
}

/* ---- verification ---- */

gboolean ek_app_safety_number(ek_app *app, const char *peer_or_nick, char out[61], GError **err)
{
    char *id = resolve(app, peer_or_nick, err);
    if (id == NULL)
        return FALSE;
    ek_vault_contact vc;
    int rc = ek_vault_contact_get(app->vault, &vc, id);
    gboolean ok = FALSE;
    if (rc == EK_ERR_VAULT_NOT_FOUND)
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_UNKNOWN_PEER, "%s is not a contact", id);
    else if (rc != EK_OK)
        app_set_vault_error(err, rc, "cannot read the contact");
    else if (!vc.has_identity_key)
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_NOT_READY,
                    "no session with %s yet: its identity key is learnt on the first connection",
                    id);
    else if (ek_safety_number(out, app->self_pk, vc.identity_key) != EK_OK)
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INTERNAL, "cannot compute the safety number");
    else
        ok = TRUE;
    g_free(id);
    return ok;
}

gboolean ek_app_set_verified(ek_app *app, const char *peer_or_nick, int verified, GError **err)
{
    char digits[61];
    if (!ek_app_safety_number(app, peer_or_nick, digits, err))
        return FALSE;
    char *id = resolve(app, peer_or_nick, err);
    if (id == NULL)
        return FALSE;
    int rc = app_txn(app) ? ek_vault_contact_set_verified(app->vault, id, verified ? 1 : 0)
                          : EK_ERR_VAULT_IO;
    g_free(id);
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot mark the contact verified");
        return FALSE;
    }
    commit_now(app);
    return TRUE;
}

char *ek_app_format_safety_number(const char digits[61])
{
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 60; i += 5) {
        if (i > 0)
            g_string_append_c(s, ' ');
        g_string_append_len(s, digits + i, 5);
    }
    return g_string_free(s, FALSE);
}

/* ---- settings ---- */

void ek_app_get_settings(const ek_app *app, ek_app_settings *out)
{
    *out = app->settings;
}

gboolean ek_app_set_settings(ek_app *app, const ek_app_settings *s, GError **err)
{
    int rc = app_txn(app) ? EK_OK : EK_ERR_VAULT_IO;
    if (rc == EK_OK)
        rc = ek_vault_setting_set(app->vault, "app.typing-indicators",
                                  s->typing_indicators ? "on" : "off");
    if (rc == EK_OK)
        rc = ek_vault_setting_set(app->vault, "app.read-receipts", s->read_receipts ? "on" : "off");
    if (rc == EK_OK)
        rc = ek_vault_setting_set(app->vault, "app.accept",
                                  s->accept == EK_APP_ACCEPT_ALL ? "all" : "ask");
    if (rc != EK_OK) {
        app_set_vault_error(err, rc, "cannot save the settings");
        return FALSE;
    }
    app->settings = *s;
    app->settings.typing_indicators = s->typing_indicators != 0;
    app->settings.read_receipts = s->read_receipts != 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, app->peers);
    while (g_hash_table_iter_next(&it, &k, &v))
        app_peer_settings_changed(v);
    commit_now(app);
    return TRUE;
}

const char *const *ek_app_setting_names(void)
{
    return setting_names;
}

char *ek_app_setting_get(ek_app *app, const char *name, GError **err)
{
    if (g_strcmp0(name, "typing-indicators") == 0)
        return g_strdup(app->settings.typing_indicators ? "on" : "off");
    if (g_strcmp0(name, "read-receipts") == 0)
        return g_strdup(app->settings.read_receipts ? "on" : "off");
    if (g_strcmp0(name, "accept") == 0)
        return g_strdup(app->settings.accept == EK_APP_ACCEPT_ALL ? "all" : "ask");
    g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                "unknown setting \"%s\" (typing-indicators, read-receipts, accept)",
                name != NULL ? name : "");
    return NULL;
}

static int parse_onoff(const char *v)
{
    if (g_ascii_strcasecmp(v, "on") == 0 || g_ascii_strcasecmp(v, "true") == 0 ||
        strcmp(v, "1") == 0 || g_ascii_strcasecmp(v, "yes") == 0)
        return 1;
    if (g_ascii_strcasecmp(v, "off") == 0 || g_ascii_strcasecmp(v, "false") == 0 ||
        strcmp(v, "0") == 0 || g_ascii_strcasecmp(v, "no") == 0)
        return 0;
    return -1;
}

gboolean ek_app_setting_set(ek_app *app, const char *name, const char *value, GError **err)
{
    if (value == NULL) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "no value given");
        return FALSE;
    }
    ek_app_settings s = app->settings;
    if (g_strcmp0(name, "typing-indicators") == 0 || g_strcmp0(name, "read-receipts") == 0) {
        int b = parse_onoff(value);
        if (b < 0) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, "%s takes on or off, not \"%s\"",
                        name, value);
            return FALSE;
        }
        if (name[0] == 't')
            s.typing_indicators = b;
        else
            s.read_receipts = b;
    } else if (g_strcmp0(name, "accept") == 0) {
        if (strcmp(value, "ask") == 0)
            s.accept = EK_APP_ACCEPT_ASK;
        else if (strcmp(value, "all") == 0)
            s.accept = EK_APP_ACCEPT_ALL;
        else {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                        "accept takes ask or all, not \"%s\"", value);
            return FALSE;
        }
    } else {
        char *unused = ek_app_setting_get(app, name, err);
        g_free(unused);
        return FALSE;
    }
    return ek_app_set_settings(app, &s, err);
}

/* ---- status ---- */

void ek_app_get_status(ek_app *app, ek_app_status *out)
{
    memset(out, 0, sizeof(*out));
    out->profile = app->paths.profile;
    out->peer_id = app->self_id;
    out->net_state = app->net_state;
    out->net_error = app->net_error;
    out->net_detail = app->net_detail;
    out->broker_url = app->broker_url;
    out->broker_embedded = app->embedded;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, app->peers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        app_peer *p = v;
        if (p->known && p->accepted)
            out->contacts++;
        if (p->state == EK_APP_PEER_READY)
            out->ready_peers++;
        uint64_t n = 0;
        if (ek_vault_outbox_count(app->vault, &n, p->id) == EK_OK)
            out->queued += (unsigned)n;
    }
}

const char *ek_app_peer_state_name(ek_app_peer_state s)
{
    switch (s) {
    case EK_APP_PEER_OFFLINE: return "offline";
    case EK_APP_PEER_CONNECTING: return "connecting";
    case EK_APP_PEER_HANDSHAKING: return "handshaking";
    case EK_APP_PEER_READY: return "ready";
    case EK_APP_PEER_FAILED: return "failed";
    }
    return "?";
}

const char *ek_app_net_state_name(ek_app_net_state s)
{
    switch (s) {
    case EK_APP_NET_OFFLINE: return "offline";
    case EK_APP_NET_CONNECTING: return "connecting";
    case EK_APP_NET_REGISTERED: return "registered";
    case EK_APP_NET_RECONNECTING: return "reconnecting";
    case EK_APP_NET_FAILED: return "failed";
    }
    return "?";
}

const char *ek_app_msg_status_name(ek_app_msg_status s)
{
    switch (s) {
    case EK_APP_MSG_QUEUED: return "queued";
    case EK_APP_MSG_SENT: return "sent";
    case EK_APP_MSG_DELIVERED: return "delivered";
    case EK_APP_MSG_READ: return "read";
    case EK_APP_MSG_RECEIVED: return "received";
    case EK_APP_MSG_FAILED: return "failed";
    }
    return "?";
}
