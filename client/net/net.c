/*
 * net.c: the endpoint (ek_net) and the connection objects' lifecycle: the
 * public API, routing of signaling messages to connections by
 * (peer, connectionId), the main-loop side of the mailbox, and the one
 * place a connection ends (ek_conn_finish), which tears it down at once and
 * reports CLOSED to the app later, from the main loop.
 *
 * App callbacks are only ever made from mailbox dispatch or main-loop
 * timers, never from inside an API call, and the code re-checks a
 * connection's state after every callback, since a callback may close the
 * connection or free the whole endpoint.
 */
#include <string.h>

#include "net_internal.h"

/* Bounds on what remote peers can make us hold. */
#define EK_NET_MAX_CONNS       256
#define EK_NET_MAX_EARLY_CANDS 64

/* Process-wide counters for tests (ek_net_get_stats); atomics because
 * the last reference to a connection may drop on a GStreamer thread. */
static gint live_conns;
static gint live_pipelines;
static gint local_cands[EK_NET_CAND_TYPES];
static gint remote_cands[EK_NET_CAND_TYPES];

void ek_stats_pipeline(int delta)
{
    g_atomic_int_add(&live_pipelines, delta);
}

void ek_stats_candidate(int local, const char *candidate)
{
    static const char *const types[EK_NET_CAND_TYPES] = {" typ host", " typ srflx", " typ prflx",
                                                         " typ relay"};
    for (int i = 0; i < EK_NET_CAND_TYPES; i++) {
        if (strstr(candidate, types[i]) != NULL) {
            g_atomic_int_inc(local ? &local_cands[i] : &remote_cands[i]);
            return;
        }
    }
}

void ek_net_get_stats(ek_net_stats *out)
{
    out->live_conns = (unsigned)g_atomic_int_get(&live_conns);
    out->live_pipelines = (unsigned)g_atomic_int_get(&live_pipelines);
    for (int i = 0; i < EK_NET_CAND_TYPES; i++) {
        out->local_cands[i] = (unsigned)g_atomic_int_get(&local_cands[i]);
        out->remote_cands[i] = (unsigned)g_atomic_int_get(&remote_cands[i]);
    }
}

/* ---- names ---- */

const char *ek_net_serialization_name(ek_net_serialization s)
{
    switch (s) {
    case EK_NET_SER_RAW: return "raw";
    case EK_NET_SER_JSON: return "json";
    case EK_NET_SER_BINARY: return "binary";
    }
    return "raw";
}

int ek_net_serialization_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    if (strcmp(name, "raw") == 0)
        return EK_NET_SER_RAW;
    if (strcmp(name, "json") == 0)
        return EK_NET_SER_JSON;
    /* PeerJS maps "default" and "binary-utf8" to its binary class (§6.3). */
    if (strcmp(name, "binary") == 0 || strcmp(name, "default") == 0 ||
        strcmp(name, "binary-utf8") == 0)
        return EK_NET_SER_BINARY;
    return -1;
}

/* ---- connection objects ---- */

static void early_cand_free(gpointer p)
{
    ek_early_cand *e = p;
    g_free(e->candidate);
    g_free(e);
}

static void conn_free(ek_net_conn *c)
{
    /* May run on a GStreamer thread (the last reference can be a signal
     * closure's): plain memory only here. Teardown already happened. */
    g_queue_clear_full(&c->early_cands, early_cand_free);
    g_queue_clear_full(&c->early_msgs, (GDestroyNotify)ek_ev_free);
    ek_dc_clear_queue(c);
    ek_ser_clear(&c->ser);
    ek_mailbox_unref(c->mailbox);
    g_free(c->peer_id);
    g_free(c->connection_id);
    g_free(c->label);
    g_free(c->metadata_json);
    g_free(c->key);
    g_free(c->close_detail);
    g_free(c->pending_offer_sdp);
    g_free(c);
    g_atomic_int_add(&live_conns, -1);
}

ek_net_conn *ek_conn_ref(ek_net_conn *c)
{
    g_atomic_ref_count_inc(&c->ref);
    return c;
}

void ek_conn_unref(ek_net_conn *c)
{
    if (c != NULL && g_atomic_ref_count_dec(&c->ref))
        conn_free(c);
}

void ek_conn_closure_unref(gpointer data, GClosure *closure)
{
    (void)closure;
    ek_conn_unref(data);
}

static char *conn_key(const char *peer, const char *cid)
{
    return g_strconcat(peer, "\n", cid, NULL);
}

static ek_net_conn *conn_new(ek_net *net, const char *peer, const char *cid, int outgoing)
{
    ek_net_conn *c = g_new0(ek_net_conn, 1);
    g_atomic_ref_count_init(&c->ref); /* the endpoint table's reference */
    g_atomic_int_add(&live_conns, 1);
    c->net = net;
    c->mailbox = ek_mailbox_ref(net->mailbox);
    c->peer_id = g_strdup(peer);
    c->connection_id = g_strdup(cid);
    c->key = conn_key(peer, cid);
    c->outgoing = outgoing;
    c->state = PC_NEW;
    c->buffer_high = net->cfg.buffer_high;
    c->buffer_low = net->cfg.buffer_low;
    c->send_queue_bytes = net->cfg.send_queue_bytes;
    c->open_timeout_ms = net->cfg.open_timeout_ms;
    c->close_linger_ms = net->cfg.close_linger_ms;
    c->ping_interval_ms = net->cfg.ping_interval_ms;
    c->ping_timeout_ms = net->cfg.ping_timeout_ms;
    g_queue_init(&c->outq);
    g_queue_init(&c->early_cands);
    g_queue_init(&c->early_msgs);
    g_hash_table_insert(net->conns, c->key, c);
    return c;
}

/* ---- events ---- */

void ek_ev_free(ek_ev *ev)
{
    if (ev == NULL)
        return;
    if (ev->bytes != NULL)
        g_bytes_unref(ev->bytes);
    g_free(ev->str);
    if (ev->obj != NULL)
        g_object_unref(ev->obj);
    if (ev->desc != NULL)
        gst_webrtc_session_description_free(ev->desc);
    if (ev->conn != NULL)
        ek_conn_unref(ev->conn);
    g_free(ev);
}

static void ev_drop(void *item)
{
    ek_ev_free(item);
}

void ek_ev_post(ek_net_conn *c, ek_ev_type type, GBytes *bytes, char *str, guint num, GObject *obj,
                GstWebRTCSessionDescription *desc)
{
    ek_ev *ev = g_new0(ek_ev, 1);
    ev->type = type;
    ev->conn = ek_conn_ref(c);
    ev->bytes = bytes;
    ev->str = str;
    ev->num = num;
    ev->obj = obj;
    ev->desc = desc;
    ek_mailbox_post(c->mailbox, ev);
}

static void post_net_state(ek_net *net, ek_net_state st, int err, const char *detail)
{
    ek_ev *ev = g_new0(ek_ev, 1);
    ev->type = EV_NET_STATE;
    ev->num = (guint)st;
    ev->err = err;
    ev->str = g_strdup(detail);
    ek_mailbox_post(net->mailbox, ev);
}

static void handle_incoming(ek_net_conn *c);

static void dispatch(void *item, void *user)
{
    ek_net *net = user;
    ek_ev *ev = item;
    if (ev->type == EV_NET_STATE) {
        if (net->cb.on_state != NULL)
            net->cb.on_state(net, (ek_net_state)ev->num, ev->err, ev->str, net->user);
        ek_ev_free(ev);
        return;
    }
    ek_net_conn *c = ev->conn;
    switch (ev->type) {
    case EV_NOTIFY_CLOSED:
        if (c->cb.on_state != NULL)
            c->cb.on_state(c, EK_NET_CONN_CLOSED, c->close_err, c->close_detail, c->user);
        break;
    case EV_WRITABLE:
        c->writable_posted = 0;
        c->want_writable = 0;
        if (c->state == PC_OPEN && c->cb.on_writable != NULL)
            c->cb.on_writable(c, c->user);
        break;
    case EV_INCOMING: handle_incoming(c); break;
    default: ek_pc_handle_event(ev); break;
    }
    ek_ev_free(ev);
}

/* ---- the one way a connection ends ---- */

void ek_conn_finish(ek_net_conn *c, int err, const char *detail)
{
    if (c->state == PC_CLOSED)
        return;
    c->state = PC_CLOSED;
    c->close_err = err;
    /* detail may be c->close_detail itself (a remote close finishing). */
    char *d = g_strdup(detail);
    g_free(c->close_detail);
    c->close_detail = d;
    if (err != 0)
        g_message("connection %s with %s closed: %s%s%s", c->connection_id, c->peer_id,
                  ek_net_strerror(err), d != NULL ? ": " : "", d != NULL ? d : "");
    ek_live_stop(c);
    /* We closed the channel ourselves: let its stream reset reach the peer
     * before the pipeline stops (see ek_pc_teardown). */
    ek_pc_teardown(c, err == 0 && c->dc != NULL);
    ek_dc_clear_queue(c);
    g_queue_clear_full(&c->early_msgs, (GDestroyNotify)ek_ev_free);
    g_queue_init(&c->early_msgs);
    ek_net *net = c->net;
    if (net != NULL) {
        g_hash_table_steal(net->conns, c->key);
        c->net = NULL;
        /* The app learns of a connection it knows about (it made it, or
         * accepted it); a refused offer just goes away. */
        if (c->accepted && !net->freeing)
            ek_ev_post(c, EV_NOTIFY_CLOSED, NULL, NULL, 0, NULL, NULL);
        ek_conn_unref(c); /* the table's reference */
    }
}

void ek_conn_signal(ek_net_conn *c, const char *type, json_t *payload)
{
    if (c->net == NULL || c->net->sig == NULL) {
        json_decref(payload);
        return;
    }
    int rc = ek_signaling_send(c->net->sig, type, c->peer_id, payload);
    if (rc != EK_OK)
        g_warning("could not send %s to %s: %s", type, c->peer_id, ek_net_strerror(rc));
}

void ek_conn_opened(ek_net_conn *c)
{
    if (c->state != PC_NEGOTIATING || c->open_notified)
        return;
    c->state = PC_OPEN;
    c->open_notified = 1;
    ek_live_start(c);
    if (c->cb.on_state != NULL)
        c->cb.on_state(c, EK_NET_CONN_OPEN, 0, NULL, c->user);
}

void ek_conn_deliver_frame(ek_net_conn *c, ek_net_frame_kind kind, const uint8_t *data, size_t len)
{
    if (c->cb.on_frame != NULL && c->state != PC_CLOSED)
        c->cb.on_frame(c, kind, data, len, c->user);
}

/* ---- incoming offers ---- */

static void handle_incoming(ek_net_conn *c)
{
    ek_net *net = c->net;
    if (net == NULL || c->state != PC_NEW)
        return;
    ek_net_offer_info info = {
        .peer_id = c->peer_id,
        .connection_id = c->connection_id,
        .label = c->label,
        .metadata_json = c->metadata_json,
        .serialization = c->serialization,
        .reliable = c->reliable,
    };
    c->in_incoming = 1;
    if (net->cb.on_incoming != NULL)
        net->cb.on_incoming(net, c, &info, net->user);
    c->in_incoming = 0;
    if (c->state != PC_NEW)
        return; /* closed from the callback (or the endpoint was freed) */
    if (!c->accepted) {
        ek_conn_finish(c, EK_NET_ERR_CLOSED, "refused by the application");
        return;
    }
    char *why = NULL;
    int rc = ek_pc_create(c, &why);
    if (rc == EK_OK)
        rc = ek_pc_accept_offer(c, c->pending_offer_sdp, &why);
    g_free(c->pending_offer_sdp);
    c->pending_offer_sdp = NULL;
    if (rc != EK_OK) {
        ek_conn_finish(c, rc, why);
        g_free(why);
        return;
    }
    ek_early_cand *e;
    while ((e = g_queue_pop_head(&c->early_cands)) != NULL) {
        ek_pc_remote_candidate(c, e->mline, e->candidate);
        early_cand_free(e);
    }
}

static void on_offer(ek_net *net, const ek_pj_msg *m)
{
    if (m->conn_type != NULL && strcmp(m->conn_type, "data") != 0) {
        g_message("ignoring a %s offer from %s: only data connections are supported", m->conn_type,
                  m->src);
        return;
    }
    int ser =
        ek_net_serialization_from_name(m->serialization != NULL ? m->serialization : "binary");
    if (ser < 0) {
        g_message("ignoring an offer from %s: unknown serialization \"%s\"", m->src,
                  m->serialization);
        return;
    }
    char *key = conn_key(m->src, m->connection_id);
    ek_net_conn *old = g_hash_table_lookup(net->conns, key);
    g_free(key);
    /* PeerJS closes a connection whose id is offered again (§6.3). */
    if (old != NULL)
        ek_conn_finish(old, EK_NET_ERR_PEER_LEFT, "the peer offered this connection again");
    if (g_hash_table_size(net->conns) >= EK_NET_MAX_CONNS) {
        g_warning("refusing an offer from %s: %d connections already", m->src, EK_NET_MAX_CONNS);
        return;
    }
    ek_net_conn *c = conn_new(net, m->src, m->connection_id, 0);
    c->serialization = (ek_net_serialization)ser;
    c->reliable = m->reliable;
    c->remote_caps = m->has_caps;
    c->label = g_strdup(m->label != NULL ? m->label : m->connection_id);
    c->metadata_json = m->metadata != NULL && !json_is_null(m->metadata)
                           ? json_dumps(m->metadata, JSON_ENCODE_ANY | JSON_COMPACT)
                           : NULL;
    if (c->metadata_json != NULL) {
        /* json_dumps allocates with malloc; keep one allocator per field. */
        char *copy = g_strdup(c->metadata_json);
        free(c->metadata_json);
        c->metadata_json = copy;
    }
    c->pending_offer_sdp = g_strdup(m->sdp);
    ek_ser_init(&c->ser, c->serialization, net->cfg.max_message);
    ek_ev_post(c, EV_INCOMING, NULL, NULL, 0, NULL, NULL);
}

static ek_net_conn *find_conn(ek_net *net, const ek_pj_msg *m)
{
    if (m->src == NULL || m->connection_id == NULL)
        return NULL;
    char *key = conn_key(m->src, m->connection_id);
    ek_net_conn *c = g_hash_table_lookup(net->conns, key);
    g_free(key);
    return c;
}

/* Finish every connection to peer (outgoing_only: only those still
 * negotiating that we started). */
static void finish_peer(ek_net *net, const char *peer, int outgoing_only, int err,
                        const char *detail)
{
    GPtrArray *hit = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, net->conns);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        ek_net_conn *c = v;
        if (strcmp(c->peer_id, peer) != 0)
            continue;
        if (outgoing_only && (!c->outgoing || c->state != PC_NEGOTIATING))
            continue;
        g_ptr_array_add(hit, ek_conn_ref(c));
    }
    for (guint i = 0; i < hit->len; i++) {
        ek_net_conn *c = g_ptr_array_index(hit, i);
        ek_conn_finish(c, err, detail);
        ek_conn_unref(c);
    }
    g_ptr_array_free(hit, TRUE);
}

static void sig_message(void *user, const ek_pj_msg *m)
{
    ek_net *net = user;
    if (m->src == NULL || m->src[0] == 0) {
        g_warning("ignoring a relayed message with no src");
        return;
    }
    ek_net_conn *c;
    switch (m->type) {
    case EK_PJ_OFFER: on_offer(net, m); break;
    case EK_PJ_ANSWER:
        c = find_conn(net, m);
        /* Only the peer we offered to can answer, and only once. */
        if (c == NULL || !c->outgoing || c->state != PC_NEGOTIATING || c->remote_set) {
            g_message("ignoring an unexpected ANSWER from %s", m->src);
            break;
        }
        c->remote_caps = m->has_caps;
        ek_pc_remote_answer(c, m->sdp);
        break;
    case EK_PJ_CANDIDATE:
        c = find_conn(net, m);
        if (c == NULL)
            break; /* for a connection already gone: harmless */
        if (c->state == PC_NEW) {
            if (g_queue_get_length(&c->early_cands) < EK_NET_MAX_EARLY_CANDS) {
                ek_early_cand *e = g_new0(ek_early_cand, 1);
                e->mline = m->mline_index;
                e->candidate = g_strdup(m->candidate);
                g_queue_push_tail(&c->early_cands, e);
            }
        } else {
            ek_pc_remote_candidate(c, m->mline_index, m->candidate);
        }
        break;
    case EK_PJ_LEAVE:
        finish_peer(net, m->src, 0, EK_NET_ERR_PEER_LEFT, "the peer left the broker (LEAVE)");
        break;
    case EK_PJ_EXPIRE: {
        char *why = g_strdup_printf("peer \"%s\" is not connected to the broker (EXPIRE)", m->src);
        finish_peer(net, m->src, 1, EK_NET_ERR_PEER_UNAVAILABLE, why);
        g_free(why);
        break;
    }
    default: break;
    }
}

static void sig_state(void *user, ek_net_state st, int err, const char *detail)
{
    ek_net *net = user;
    if (err != 0)
        g_message("broker: %s%s%s", ek_net_strerror(err), detail != NULL ? ": " : "",
                  detail != NULL ? detail : "");
    post_net_state(net, st, err, detail);
}

/* ---- public API ---- */

int ek_net_new(ek_net **out, const ek_net_config *cfg, const ek_net_callbacks *cb, void *user)
{
    *out = NULL;
    if (cfg == NULL)
        return EK_ERR_INVALID_ARG;
    GError *gerr = NULL;
    if (!gst_init_check(NULL, NULL, &gerr)) {
        g_warning("GStreamer did not initialise: %s", gerr->message);
        g_error_free(gerr);
        return EK_NET_ERR_WEBRTC;
    }
    ek_net *net = g_new0(ek_net, 1);
    char *why = NULL;
    int rc = ek_net_cfg_build(&net->cfg, cfg, &why);
    if (rc != EK_OK) {
        g_warning("configuration: %s", why != NULL ? why : ek_net_strerror(rc));
        g_free(why);
        g_free(net);
        return rc;
    }
    net->ctx = g_main_context_ref_thread_default();
    if (cb != NULL)
        net->cb = *cb;
    net->user = user;
    net->mailbox = ek_mailbox_new(net->ctx, dispatch, ev_drop, net);
    net->conns = g_hash_table_new(g_str_hash, g_str_equal);
    ek_signaling_handlers h = {.on_state = sig_state, .on_message = sig_message};
    net->sig = ek_signaling_new(net->ctx, &net->cfg, &h, net);
    ek_signaling_start(net->sig);
    *out = net;
    return EK_OK;
}

void ek_net_free(ek_net *net)
{
    if (net == NULL)
        return;
    net->freeing = 1;
    /* No callbacks from here on: pending ones are dropped with the mailbox. */
    ek_mailbox_shutdown(net->mailbox);
    GPtrArray *all = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, net->conns);
    while (g_hash_table_iter_next(&it, &k, &v))
        g_ptr_array_add(all, ek_conn_ref(v));
    for (guint i = 0; i < all->len; i++)
        ek_conn_finish(g_ptr_array_index(all, i), EK_NET_ERR_SHUTDOWN, NULL);
    /* The array's own references keep every connection alive until here;
     * the analyzer cannot follow the atomic reference count. */
    for (guint i = 0; i < all->len; i++)
        ek_conn_unref(g_ptr_array_index(all, i)); // NOLINT(clang-analyzer-unix.Malloc)
    g_ptr_array_free(all, TRUE);
    ek_pc_bury_all(net);
    ek_signaling_free(net->sig);
    g_hash_table_destroy(net->conns);
    ek_mailbox_unref(net->mailbox);
    g_main_context_unref(net->ctx);
    ek_net_cfg_clear(&net->cfg);
    g_free(net);
}

const char *ek_net_id(const ek_net *net)
{
    return ek_signaling_id(net->sig);
}

ek_net_state ek_net_get_state(const ek_net *net)
{
    return ek_signaling_state(net->sig);
}

int ek_net_connect(ek_net_conn **out, ek_net *net, const char *peer_id,
                   const ek_net_connect_opts *opts, const ek_net_conn_callbacks *cb, void *user)
{
    *out = NULL;
    ek_net_connect_opts defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    if (peer_id == NULL || peer_id[0] == 0 || strlen(peer_id) > EK_PJ_MAX_ID || cb == NULL)
        return EK_ERR_INVALID_ARG;
    if ((unsigned)opts->serialization > EK_NET_SER_BINARY)
        return EK_ERR_INVALID_ARG;
    if (ek_signaling_state(net->sig) != EK_NET_REGISTERED)
        return EK_NET_ERR_NOT_REGISTERED;
    if (g_hash_table_size(net->conns) >= EK_NET_MAX_CONNS)
        return EK_ERR_LIMIT;
    if (opts->label != NULL && strlen(opts->label) > EK_PJ_MAX_LABEL)
        return EK_ERR_INVALID_ARG;
    if (opts->metadata_json != NULL) {
        json_error_t jerr;
        json_t *m = json_loads(opts->metadata_json, JSON_DECODE_ANY, &jerr);
        if (m == NULL)
            return EK_ERR_DECODE;
        json_decref(m);
    }
    /* PeerJS's connection ids: "dc_" + a random token (§6.3). */
    char *token = ek_net_random_token(12);
    if (token == NULL)
        return EK_ERR_RNG;
    char *cid = g_strconcat("dc_", token, NULL);
    g_free(token);
    ek_net_conn *c = conn_new(net, peer_id, cid, 1);
    g_free(cid);
    c->serialization = opts->serialization;
    c->reliable = !opts->unreliable;
    c->label = g_strdup(opts->label != NULL ? opts->label : c->connection_id);
    c->metadata_json = g_strdup(opts->metadata_json);
    c->cb = *cb;
    c->user = user;
    ek_ser_init(&c->ser, c->serialization, net->cfg.max_message);

    char *why = NULL;
    int rc = ek_pc_create(c, &why);
    if (rc == EK_OK)
        rc = ek_pc_start_offer(c, &why);
    if (rc != EK_OK) {
        g_warning("cannot connect to %s: %s", peer_id, why != NULL ? why : ek_net_strerror(rc));
        g_free(why);
        ek_conn_finish(c, rc, NULL); /* not accepted: no CLOSED callback */
        return rc;
    }
    c->accepted = 1;
    *out = c;
    return EK_OK;
}

int ek_net_conn_accept(ek_net_conn *c, const ek_net_conn_callbacks *cb, void *user)
{
    if (c == NULL || cb == NULL)
        return EK_ERR_INVALID_ARG;
    if (!c->in_incoming || c->state != PC_NEW)
        return EK_ERR_STATE;
    c->cb = *cb;
    c->user = user;
    c->accepted = 1;
    return EK_OK;
}

static int send_kind(ek_net_conn *c, ek_net_frame_kind kind, const uint8_t *data, size_t len)
{
    if (c == NULL || (data == NULL && len > 0))
        return EK_ERR_INVALID_ARG;
    return ek_dc_send_frame(c, kind, data, len);
}

int ek_net_conn_send(ek_net_conn *c, const uint8_t *data, size_t len)
{
    return send_kind(c, EK_NET_FRAME_BYTES, data, len);
}

int ek_net_conn_send_text(ek_net_conn *c, const char *utf8, size_t len)
{
    return send_kind(c, EK_NET_FRAME_TEXT, (const uint8_t *)utf8, len);
}

int ek_net_conn_send_value(ek_net_conn *c, const char *json, size_t len)
{
    return send_kind(c, EK_NET_FRAME_VALUE, (const uint8_t *)json, len);
}

void ek_net_conn_close(ek_net_conn *c)
{
    if (c == NULL)
        return;
    switch (c->state) {
    case PC_NEW:
    case PC_NEGOTIATING: ek_conn_finish(c, 0, NULL); break;
    case PC_OPEN: ek_pc_close_gracefully(c); break;
    default: break; /* already closing */
    }
}

const char *ek_net_conn_peer_id(const ek_net_conn *c)
{
    return c->peer_id;
}

const char *ek_net_conn_id(const ek_net_conn *c)
{
    return c->connection_id;
}

ek_net_serialization ek_net_conn_serialization(const ek_net_conn *c)
{
    return c->serialization;
}

ek_net_conn_state ek_net_conn_get_state(const ek_net_conn *c)
{
    switch (c->state) {
    case PC_NEW:
    case PC_NEGOTIATING: return EK_NET_CONN_CONNECTING;
    case PC_OPEN: return EK_NET_CONN_OPEN;
    case PC_DRAINING:
    case PC_CLOSING_DC:
    case PC_REMOTE_CLOSING: return EK_NET_CONN_CLOSING;
    case PC_CLOSED: return EK_NET_CONN_CLOSED;
    }
    return EK_NET_CONN_CLOSED;
}

size_t ek_net_conn_pending_bytes(const ek_net_conn *c)
{
    return c->queued_bytes + (size_t)ek_dc_buffered((ek_net_conn *)c);
}

int ek_net_conn_has_ping(const ek_net_conn *c)
{
    return c->remote_caps && c->ping_timer != NULL;
}

void *ek_net_conn_user(const ek_net_conn *c)
{
    return c->user;
}
