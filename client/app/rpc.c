/*
 * rpc.c: the JSON-RPC 2.0 daemon interface (https://www.jsonrpc.org/
 * specification) over a Unix socket, newline-delimited: every request,
 * response and notification is one line of compact JSON. See docs/rpc.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <jansson.h>

#include "rpc.h"

/* JSON-RPC 2.0 §5.1 codes, and ours: -32000 - ek_app_error_code. */
#define RPC_PARSE_ERROR      (-32700)
#define RPC_INVALID_REQUEST  (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS   (-32602)
#define RPC_INTERNAL_ERROR   (-32603)
#define RPC_APP_ERROR_BASE   (-32000)

#define MAX_LINE_BYTES   ((size_t)1 << 20)
#define MAX_OUTBUF_BYTES ((size_t)64 << 20)
#define MAX_BATCH        1000u

typedef struct rpc_client rpc_client;

struct ek_rpc {
    ek_app *app;
    char *path;
    GSocketService *service;
    GList *clients;
    ek_rpc_shutdown_fn on_shutdown;
    void *shutdown_user;
    guint shutdown_source;
};

struct rpc_client {
    ek_rpc *rpc;
    GSocketConnection *conn;
    GInputStream *in;
    GOutputStream *out;
    GCancellable *cancel;
    GString *inbuf;
    GString *outbuf; /* lines waiting */
    GBytes *current; /* being written */
    size_t out_off;  /* bytes of current written */
    int refs;
    int list_ref; /* the list's reference is still held */
    int writing;
    int closing;
    int drop_after_write;
    char readbuf[16384];
};

/* ---- errors ---- */

static const char *app_error_name(int code)
{
    switch (code) {
    case EK_APP_ERR_INTERNAL: return "internal";
    case EK_APP_ERR_INVALID_ARG: return "invalid-argument";
    case EK_APP_ERR_NO_PROFILE: return "no-profile";
    case EK_APP_ERR_PROFILE_EXISTS: return "profile-exists";
    case EK_APP_ERR_WRONG_PASSPHRASE: return "wrong-passphrase";
    case EK_APP_ERR_CORRUPT_VAULT: return "corrupt-vault";
    case EK_APP_ERR_LOCKED: return "locked";
    case EK_APP_ERR_CONFIG: return "config";
    case EK_APP_ERR_IO: return "io";
    case EK_APP_ERR_BROKER_UNREACHABLE: return "broker-unreachable";
    case EK_APP_ERR_ID_TAKEN: return "id-taken";
    case EK_APP_ERR_NOT_REGISTERED: return "not-registered";
    case EK_APP_ERR_UNKNOWN_PEER: return "unknown-peer";
    case EK_APP_ERR_PEER_OFFLINE: return "peer-offline";
    case EK_APP_ERR_NOT_READY: return "not-ready";
    case EK_APP_ERR_IDENTITY_MISMATCH: return "identity-mismatch";
    case EK_APP_ERR_SESSION_FAILED: return "session-failed";
    case EK_APP_ERR_DISABLED: return "disabled";
    default: return NULL;
    }
}

static json_t *error_obj(int code, const char *message, const char *name)
{
    json_t *e = json_pack("{s:i,s:s}", "code", code, "message", message);
    if (name != NULL)
        json_object_set_new(e, "data", json_pack("{s:s}", "name", name));
    return e;
}

static json_t *gerror_obj(GError *err)
{
    if (err == NULL)
        return error_obj(RPC_INTERNAL_ERROR, "internal error", NULL);
    if (err->domain == EK_APP_ERROR) {
        if (err->code == EK_APP_ERR_INVALID_ARG)
            return error_obj(RPC_INVALID_PARAMS, err->message, "invalid-argument");
        return error_obj(RPC_APP_ERROR_BASE - err->code, err->message, app_error_name(err->code));
    }
    return error_obj(RPC_INTERNAL_ERROR, err->message, NULL);
}

/* ---- parameters ---- */

typedef struct call {
    ek_rpc *rpc;
    json_t *params; /* an object (or NULL) */
    GError *err;
} call;

static void bad_params(call *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void bad_params(call *c, const char *fmt, ...)
{
    if (c->err != NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(&c->err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG, m);
    g_free(m);
}

static const char *p_str(call *c, const char *name, int required)
{
    json_t *v = c->params != NULL ? json_object_get(c->params, name) : NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            bad_params(c, "missing parameter \"%s\"", name);
        return NULL;
    }
    if (!json_is_string(v)) {
        bad_params(c, "parameter \"%s\" must be a string", name);
        return NULL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        bad_params(c, "parameter \"%s\" contains a NUL character", name);
        return NULL;
    }
    return json_string_value(v);
}

static json_int_t p_int(call *c, const char *name, json_int_t def, json_int_t lo, json_int_t hi)
{
    json_t *v = c->params != NULL ? json_object_get(c->params, name) : NULL;
    if (v == NULL || json_is_null(v))
        return def;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        bad_params(c, "parameter \"%s\" must be an integer in range", name);
        return def;
    }
    return json_integer_value(v);
}

static int p_bool(call *c, const char *name, int def)
{
    json_t *v = c->params != NULL ? json_object_get(c->params, name) : NULL;
    if (v == NULL || json_is_null(v))
        return def;
    if (!json_is_boolean(v)) {
        bad_params(c, "parameter \"%s\" must be true or false", name);
        return def;
    }
    return json_is_true(v);
}

/* ---- JSON shapes ---- */

static json_t *message_json(const ek_app_message *m)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:I}", "id", m->id, "peer", m->peer, "direction",
                     m->outgoing ? "out" : "in", "timestamp", (json_int_t)m->timestamp_ms, "status",
                     ek_app_msg_status_name(m->status), "body", m->body, "order",
                     (json_int_t)m->order);
}

static json_t *contact_json(const ek_app_contact *c)
{
    json_t *o =
        json_pack("{s:s,s:o,s:b,s:b,s:s,s:I,s:i,s:i}", "peer", c->peer_id, "nick",
                  c->nick != NULL ? json_string(c->nick) : json_null(), "accepted", c->accepted,
                  "verified", c->verified, "state", ek_app_peer_state_name(c->state), "lastSeen",
                  (json_int_t)c->last_seen_ms, "queued", (int)c->queued, "unread", (int)c->unread);
    if (c->has_identity) {
        char hex[65];
        static const char hx[] = "0123456789abcdef";
        for (size_t i = 0; i < 32; i++) {
            hex[2 * i] = hx[c->identity[i] >> 4];
            hex[2 * i + 1] = hx[c->identity[i] & 15];
        }
        hex[64] = 0;
        json_object_set_new(o, "identityKey", json_string(hex));
    } else {
        json_object_set_new(o, "identityKey", json_null());
    }
    return o;
}

/* ---- methods ---- */

typedef json_t *(*method_fn)(call *c);

static json_t *ok_true(gboolean ok)
{
    return ok ? json_true() : NULL;
}

static json_t *m_status(call *c)
{
    ek_app_status s;
    ek_app_get_status(c->rpc->app, &s);
    json_t *r = json_pack("{s:s,s:s,s:s,s:o,s:b,s:i,s:i,s:i}", "profile", s.profile, "peerId",
                          s.peer_id, "net", ek_app_net_state_name(s.net_state), "broker",
                          s.broker_url != NULL ? json_string(s.broker_url) : json_null(),
                          "brokerEmbedded", s.broker_embedded, "contacts", (int)s.contacts,
                          "readyPeers", (int)s.ready_peers, "queued", (int)s.queued);
    if (r != NULL && s.net_error != 0) {
        const char *n = app_error_name(s.net_error);
        json_object_set_new(r, "netError", json_string(n != NULL ? n : "internal"));
    }
    if (r != NULL && s.net_detail != NULL)
        json_object_set_new(r, "netDetail", json_string(s.net_detail));
    return r;
}

static json_t *m_connect(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    if (c->err != NULL || !ek_app_connect(c->rpc->app, peer, &c->err))
        return NULL;
    ek_app_contact *ct = ek_app_contact_get(c->rpc->app, peer, &c->err);
    if (ct == NULL)
        return NULL;
    json_t *r =
        json_pack("{s:s,s:s}", "peer", ct->peer_id, "state", ek_app_peer_state_name(ct->state));
    ek_app_contact_free(ct);
    return r;
}

static json_t *m_accept(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    return c->err == NULL ? ok_true(ek_app_accept(c->rpc->app, peer, &c->err)) : NULL;
}

static json_t *m_reject(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    return c->err == NULL ? ok_true(ek_app_reject(c->rpc->app, peer, &c->err)) : NULL;
}

static json_t *m_disconnect(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    return c->err == NULL ? ok_true(ek_app_disconnect(c->rpc->app, peer, &c->err)) : NULL;
}

static json_t *m_send(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    const char *text = p_str(c, "text", 1);
    char id[33];
    if (c->err != NULL || !ek_app_send_text(c->rpc->app, peer, text, id, &c->err))
        return NULL;
    ek_app_peer_state st = ek_app_get_peer_state(c->rpc->app, peer);
    return json_pack("{s:s,s:s}", "id", id, "status", st == EK_APP_PEER_READY ? "sent" : "queued");
}

static json_t *m_history(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    json_int_t limit = p_int(c, "limit", 100, 0, 1000000);
    json_int_t before = p_int(c, "before", 0, 0, (json_int_t)1 << 53);
    if (c->err != NULL)
        return NULL;
    GPtrArray *h = ek_app_history(c->rpc->app, peer, (unsigned)limit, (uint64_t)before, &c->err);
    if (h == NULL)
        return NULL;
    json_t *a = json_array();
    for (guint i = 0; i < h->len; i++)
        json_array_append_new(a, message_json(g_ptr_array_index(h, i)));
    g_ptr_array_unref(h);
    return a;
}

static json_t *m_contacts(call *c)
{
    GPtrArray *cs = ek_app_contacts(c->rpc->app);
    json_t *a = json_array();
    for (guint i = 0; i < cs->len; i++)
        json_array_append_new(a, contact_json(g_ptr_array_index(cs, i)));
    g_ptr_array_unref(cs);
    return a;
}

static json_t *m_set_nick(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    const char *nick = p_str(c, "nick", 0);
    return c->err == NULL ? ok_true(ek_app_set_nick(c->rpc->app, peer, nick, &c->err)) : NULL;
}

static json_t *m_remove_contact(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    return c->err == NULL ? ok_true(ek_app_remove_contact(c->rpc->app, peer, &c->err)) : NULL;
}

static json_t *safety_json(call *c, const char *peer, int mark, int verified)
{
    char digits[61];
    if (!ek_app_safety_number(c->rpc->app, peer, digits, &c->err))
        return NULL;
    if (mark && !ek_app_set_verified(c->rpc->app, peer, verified, &c->err))
        return NULL;
    ek_app_contact *ct = ek_app_contact_get(c->rpc->app, peer, &c->err);
    if (ct == NULL)
        return NULL;
    char *fmt = ek_app_format_safety_number(digits);
    json_t *r = json_pack("{s:s,s:s,s:s,s:b}", "peer", ct->peer_id, "safetyNumber", digits,
                          "formatted", fmt, "verified", ct->verified);
    g_free(fmt);
    ek_app_contact_free(ct);
    return r;
}

static json_t *m_safety_number(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    return c->err == NULL ? safety_json(c, peer, 0, 0) : NULL;
}

static json_t *m_verify(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    int verified = p_bool(c, "verified", 1);
    return c->err == NULL ? safety_json(c, peer, 1, verified) : NULL;
}

static json_t *m_mark_read(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    const char *id = p_str(c, "id", 0);
    return c->err == NULL ? ok_true(ek_app_mark_read(c->rpc->app, peer, id, &c->err)) : NULL;
}

static json_t *m_typing(call *c)
{
    const char *peer = p_str(c, "peer", 1);
    int typing = p_bool(c, "typing", 1);
    return c->err == NULL ? ok_true(ek_app_typing(c->rpc->app, peer, typing, &c->err)) : NULL;
}

static json_t *settings_json(ek_app *app)
{
    json_t *o = json_object();
    for (const char *const *n = ek_app_setting_names(); *n != NULL; n++) {
        char *v = ek_app_setting_get(app, *n, NULL);
        json_object_set_new(o, *n, json_string(v));
        g_free(v);
    }
    return o;
}

static json_t *m_get_settings(call *c)
{
    return settings_json(c->rpc->app);
}

static json_t *m_set_settings(call *c)
{
    if (c->params == NULL || json_object_size(c->params) == 0) {
        bad_params(c, "%s", "give at least one setting, e.g. {\"read-receipts\":\"off\"}");
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach (c->params, k, v) {
        const char *val = json_is_string(v)  ? json_string_value(v)
                          : json_is_true(v)  ? "on"
                          : json_is_false(v) ? "off"
                                             : NULL;
        if (val == NULL) {
            bad_params(c, "setting \"%s\" takes a string or a boolean", k);
            return NULL;
        }
        if (!ek_app_setting_set(c->rpc->app, k, val, &c->err))
            return NULL;
    }
    return settings_json(c->rpc->app);
}

static json_t *m_change_passphrase(call *c)
{
    const char *pass = p_str(c, "passphrase", 1);
    return c->err == NULL ? ok_true(ek_app_change_passphrase(c->rpc->app, pass, &c->err)) : NULL;
}

static gboolean shutdown_cb(gpointer user)
{
    ek_rpc *rpc = user;
    rpc->shutdown_source = 0;
    if (rpc->on_shutdown != NULL)
        rpc->on_shutdown(rpc->shutdown_user);
    return G_SOURCE_REMOVE;
}

static json_t *m_shutdown(call *c)
{
    /* Answer first, then stop (after the response has been written). */
    if (c->rpc->shutdown_source == 0)
        c->rpc->shutdown_source = g_timeout_add(50, shutdown_cb, c->rpc);
    return json_true();
}

static const struct {
    const char *name;
    method_fn fn;
} methods[] = {
    {"status", m_status},
    {"connect", m_connect},
    {"accept", m_accept},
    {"reject", m_reject},
    {"disconnect", m_disconnect},
    {"send", m_send},
    {"history", m_history},
    {"contacts", m_contacts},
    {"setNick", m_set_nick},
    {"removeContact", m_remove_contact},
    {"safetyNumber", m_safety_number},
    {"verify", m_verify},
    {"markRead", m_mark_read},
    {"typing", m_typing},
    {"getSettings", m_get_settings},
    {"setSettings", m_set_settings},
    {"changePassphrase", m_change_passphrase},
    {"shutdown", m_shutdown},
};

/* ---- requests ---- */

static json_t *response(json_t *id, json_t *result, json_t *error)
{
    json_t *r = json_pack("{s:s}", "jsonrpc", "2.0");
    if (error != NULL)
        json_object_set_new(r, "error", error);
    else
        json_object_set_new(r, "result", result != NULL ? result : json_null());
    json_object_set(r, "id", id != NULL ? id : json_null());
    return r;
}

/* One request object: a response, or NULL for a notification. */
static json_t *handle_request(ek_rpc *rpc, json_t *req)
{
    if (!json_is_object(req))
        return response(NULL, NULL, error_obj(RPC_INVALID_REQUEST, "a request is an object", NULL));
    json_t *id = json_object_get(req, "id");
    if (id != NULL && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
        return response(
            NULL, NULL,
            error_obj(RPC_INVALID_REQUEST, "id must be a string, an integer or null", NULL));
    json_t *ver = json_object_get(req, "jsonrpc");
    json_t *method = json_object_get(req, "method");
    json_t *params = json_object_get(req, "params");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0)
        return response(id, NULL,
                        error_obj(RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"", NULL));
    if (!json_is_string(method))
        return response(id, NULL,
                        error_obj(RPC_INVALID_REQUEST, "\"method\" must be a string", NULL));
    if (params != NULL && !json_is_object(params) && !json_is_null(params))
        return response(
            id, NULL,
            error_obj(RPC_INVALID_PARAMS, "params must be an object of named parameters", NULL));
    method_fn fn = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
        if (strcmp(methods[i].name, json_string_value(method)) == 0)
            fn = methods[i].fn;
    }
    json_t *res = NULL, *err = NULL;
    call c = {rpc, json_is_object(params) ? params : NULL, NULL};
    if (fn == NULL) {
        char *m = g_strdup_printf("no method \"%s\" (see docs/rpc.md)", json_string_value(method));
        err = error_obj(RPC_METHOD_NOT_FOUND, m, NULL);
        g_free(m);
    } else {
        res = fn(&c);
        if (res == NULL)
            err = gerror_obj(c.err);
        g_clear_error(&c.err);
    }
    if (id == NULL) { /* a notification: no answer (JSON-RPC 2.0 §4.1) */
        json_decref(res);
        json_decref(err);
        return NULL;
    }
    return response(id, res, err);
}

char *ek_rpc_handle_line(ek_rpc *rpc, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *out = NULL;
    if (req == NULL) {
        char *m = g_strdup_printf("parse error: %s (column %d)", jerr.text, jerr.column);
        out = response(NULL, NULL, error_obj(RPC_PARSE_ERROR, m, NULL));
        g_free(m);
    } else if (json_is_array(req)) {
        if (json_array_size(req) == 0 || json_array_size(req) > MAX_BATCH) {
            out =
                response(NULL, NULL,
                         error_obj(RPC_INVALID_REQUEST, "a batch holds 1 to 1000 requests", NULL));
        } else {
            out = json_array();
            size_t i;
            json_t *r;
            json_array_foreach (req, i, r) {
                json_t *one = handle_request(rpc, r);
                if (one != NULL)
                    json_array_append_new(out, one);
            }
            if (json_array_size(out) == 0) {
                json_decref(out);
                out = NULL;
            }
        }
    } else {
        out = handle_request(rpc, req);
    }
    json_decref(req);
    if (out == NULL)
        return NULL;
    char *s = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(out);
    char *g = g_strdup(s);
    free(s);
    return g;
}

/* ---- clients ---- */

/* A client is held by the server's list and by each read or write in
 * flight. Closing takes it off the list and cancels its operations; the
 * list's reference is dropped by the last operation's callback, which is
 * the only place a client is freed (so nothing touches it afterwards). A
 * live client always has a read in flight. Callbacks of a closed client
 * never touch the server, which may be gone by then. */
static unsigned live_clients; /* not yet freed, for ek_rpc_free to wait on */

static rpc_client *client_ref(rpc_client *cl)
{
    cl->refs++;
    return cl;
}

/* The end of an operation's callback: drop its reference (and the list's,
 * once closed); free at zero. */
static void client_op_done(rpc_client *cl)
{
    if (cl->closing && cl->list_ref) {
        cl->list_ref = 0;
        cl->refs--;
    }
    if (--cl->refs > 0)
        return;
    (void)g_io_stream_close(G_IO_STREAM(cl->conn), NULL, NULL);
    g_object_unref(cl->conn);
    g_object_unref(cl->cancel);
    g_string_free(cl->inbuf, TRUE);
    g_string_free(cl->outbuf, TRUE);
    if (cl->current != NULL)
        g_bytes_unref(cl->current);
    g_free(cl);
    live_clients--;
}

static void client_close(rpc_client *cl)
{
    if (cl->closing)
        return;
    cl->closing = 1;
    if (cl->rpc != NULL)
        cl->rpc->clients = g_list_remove(cl->rpc->clients, cl);
    cl->rpc = NULL;
    g_cancellable_cancel(cl->cancel);
}

static void start_write(rpc_client *cl);
static void read_cb(GObject *src, GAsyncResult *res, gpointer user);

static void wrote_cb(GObject *src, GAsyncResult *res, gpointer user)
{
    rpc_client *cl = user;
    GError *e = NULL;
    gssize n = g_output_stream_write_finish(G_OUTPUT_STREAM(src), res, &e);
    g_clear_error(&e);
    cl->writing = 0;
    if (!cl->closing && n < 0)
        client_close(cl);
    if (!cl->closing) {
        cl->out_off += (size_t)n;
        if (cl->out_off == g_bytes_get_size(cl->current)) {
            g_bytes_unref(cl->current);
            cl->current = NULL;
            cl->out_off = 0;
        }
        start_write(cl);
        if (cl->drop_after_write && !cl->writing)
            client_close(cl); /* the error about an oversize line is out */
    }
    client_op_done(cl);
}

/* Writes go out of `current` (immutable while a write is in flight);
 * new lines gather in outbuf and become the next `current`. */
static void start_write(rpc_client *cl)
{
    if (cl->writing || cl->closing)
        return;
    if (cl->current == NULL) {
        if (cl->outbuf->len == 0)
            return;
        cl->current = g_string_free_to_bytes(cl->outbuf);
        cl->outbuf = g_string_new(NULL);
        cl->out_off = 0;
    }
    gsize size = 0;
    const char *data = g_bytes_get_data(cl->current, &size);
    cl->writing = 1;
    g_output_stream_write_async(cl->out, data + cl->out_off, size - cl->out_off, G_PRIORITY_DEFAULT,
                                cl->cancel, wrote_cb, client_ref(cl));
}

static size_t pending_bytes(const rpc_client *cl)
{
    return cl->outbuf->len + (cl->current != NULL ? g_bytes_get_size(cl->current) : 0);
}

static void client_send(rpc_client *cl, const char *line)
{
    if (cl->closing)
        return;
    if (pending_bytes(cl) > MAX_OUTBUF_BYTES) {
        g_message("rpc: a client does not read its notifications: disconnected");
        client_close(cl);
        return;
    }
    g_string_append(cl->outbuf, line);
    g_string_append_c(cl->outbuf, '\n');
    start_write(cl);
}

static void start_read(rpc_client *cl)
{
    if (!cl->closing)
        g_input_stream_read_async(cl->in, cl->readbuf, sizeof(cl->readbuf), G_PRIORITY_DEFAULT,
                                  cl->cancel, read_cb, client_ref(cl));
}

static void handle_lines(rpc_client *cl)
{
    char *nl;
    while (!cl->closing && (nl = memchr(cl->inbuf->str, '\n', cl->inbuf->len)) != NULL) {
        size_t len = (size_t)(nl - cl->inbuf->str);
        size_t l = len;
        if (l > 0 && cl->inbuf->str[l - 1] == '\r')
            l--;
        int blank = 1;
        for (size_t i = 0; i < l && blank; i++)
            blank = g_ascii_isspace(cl->inbuf->str[i]);
        char *resp = blank ? NULL : ek_rpc_handle_line(cl->rpc, cl->inbuf->str, l);
        g_string_erase(cl->inbuf, 0, (gssize)len + 1);
        if (resp != NULL) {
            client_send(cl, resp);
            g_free(resp);
        }
    }
    if (!cl->closing && cl->inbuf->len > MAX_LINE_BYTES) {
        client_send(cl, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":"
                        "\"request line over 1 MiB\"},\"id\":null}");
        g_string_truncate(cl->inbuf, 0);
        cl->drop_after_write = 1;
    }
}

static void read_cb(GObject *src, GAsyncResult *res, gpointer user)
{
    rpc_client *cl = user;
    GError *e = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &e);
    g_clear_error(&e);
    if (!cl->closing) {
        if (n <= 0) {
            client_close(cl); /* EOF: the client is gone */
        } else {
            g_string_append_len(cl->inbuf, cl->readbuf, n);
            handle_lines(cl);
            if (!cl->drop_after_write)
                start_read(cl);
        }
    }
    client_op_done(cl);
}

static gboolean on_incoming(GSocketService *svc, GSocketConnection *conn, GObject *src,
                            gpointer user)
{
    (void)svc;
    (void)src;
    ek_rpc *rpc = user;
    rpc_client *cl = g_new0(rpc_client, 1);
    cl->refs = 1; /* the list's */
    cl->list_ref = 1;
    live_clients++;
    cl->rpc = rpc;
    cl->conn = g_object_ref(conn);
    cl->in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
    cl->out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    cl->cancel = g_cancellable_new();
    cl->inbuf = g_string_new(NULL);
    cl->outbuf = g_string_new(NULL);
    rpc->clients = g_list_prepend(rpc->clients, cl);
    start_read(cl);
    return TRUE;
}

/* ---- notifications ---- */

void ek_rpc_notify(ek_rpc *rpc, const ek_app_event *ev)
{
    const char *method = NULL;
    json_t *params = NULL;
    switch (ev->type) {
    case EK_APP_EV_MESSAGE:
        method = "message";
        params = message_json(ev->msg);
        break;
    case EK_APP_EV_DELIVERED:
        method = "delivered";
        params = json_pack("{s:s,s:s}", "peer", ev->peer, "id", ev->msg_id);
        break;
    case EK_APP_EV_READ:
        method = "read";
        params = json_pack("{s:s,s:s}", "peer", ev->peer, "id", ev->msg_id);
        break;
    case EK_APP_EV_PEER_STATE:
        method = "peerState";
        params = json_pack("{s:s,s:s}", "peer", ev->peer, "state",
                           ek_app_peer_state_name(ev->peer_state));
        if (ev->peer_state == EK_APP_PEER_READY)
            json_object_set_new(params, "resumed", json_boolean(ev->resumed));
        break;
    case EK_APP_EV_CONTACT_REQUEST:
        method = "contactRequest";
        params = json_pack("{s:s}", "peer", ev->peer);
        break;
    case EK_APP_EV_TYPING:
        method = "typing";
        params = json_pack("{s:s,s:b}", "peer", ev->peer, "typing", ev->typing);
        break;
    case EK_APP_EV_NET_STATE:
        method = "netState";
        params = json_pack("{s:s}", "state", ek_app_net_state_name(ev->net_state));
        break;
    case EK_APP_EV_ERROR:
        method = "error";
        params = json_object();
        if (ev->peer != NULL)
            json_object_set_new(params, "peer", json_string(ev->peer));
        break;
    }
    if (method == NULL || params == NULL)
        return;
    if (ev->error != 0) {
        const char *n = app_error_name(ev->error);
        json_object_set_new(params, "error", json_string(n != NULL ? n : "internal"));
    }
    if (ev->detail != NULL)
        json_object_set_new(params, "detail", json_string(ev->detail));
    json_t *n = json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", method, "params", params);
    char *s = json_dumps(n, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(n);
    for (GList *l = rpc->clients; l != NULL;) {
        GList *next = l->next;
        client_send(l->data, s);
        l = next;
    }
    free(s);
}

/* ---- the server ---- */

static gboolean socket_is_live(const char *path)
{
    GSocketClient *c = g_socket_client_new();
    GSocketAddress *a = g_unix_socket_address_new(path);
    GSocketConnection *conn = g_socket_client_connect(c, G_SOCKET_CONNECTABLE(a), NULL, NULL);
    gboolean live = conn != NULL;
    if (conn != NULL)
        g_object_unref(conn);
    g_object_unref(a);
    g_object_unref(c);
    return live;
}

ek_rpc *ek_rpc_new(ek_app *app, const char *path, ek_rpc_shutdown_fn on_shutdown, void *user,
                   GError **err)
{
    if (path == NULL || path[0] == 0 || strlen(path) >= 108) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_INVALID_ARG,
                    "the RPC socket path must be 1 to 107 bytes");
        return NULL;
    }
    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        if (socket_is_live(path)) {
            g_set_error(err, EK_APP_ERROR, EK_APP_ERR_LOCKED, "another daemon is listening on %s",
                        path);
            return NULL;
        }
        (void)unlink(path); /* a stale socket of a daemon that died */
    }
    ek_rpc *rpc = g_new0(ek_rpc, 1);
    rpc->app = app;
    rpc->path = g_strdup(path);
    rpc->on_shutdown = on_shutdown;
    rpc->shutdown_user = user;
    rpc->service = g_socket_service_new();
    GSocketAddress *a = g_unix_socket_address_new(path);
    GError *e = NULL;
    mode_t old = umask(0077); /* the socket file: owner only */
    gboolean ok =
        g_socket_listener_add_address(G_SOCKET_LISTENER(rpc->service), a, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &e);
    umask(old);
    g_object_unref(a);
    if (!ok) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_IO, "cannot listen on %s: %s", path, e->message);
        g_clear_error(&e);
        g_object_unref(rpc->service);
        g_free(rpc->path);
        g_free(rpc);
        return NULL;
    }
    g_signal_connect(rpc->service, "incoming", G_CALLBACK(on_incoming), rpc);
    g_socket_service_start(rpc->service);
    return rpc;
}

void ek_rpc_free(ek_rpc *rpc)
{
    if (rpc == NULL)
        return;
    if (rpc->shutdown_source != 0)
        g_source_remove(rpc->shutdown_source);
    g_socket_service_stop(rpc->service);
    g_socket_listener_close(G_SOCKET_LISTENER(rpc->service));
    g_object_unref(rpc->service);
    GList *all = rpc->clients;
    rpc->clients = NULL;
    for (GList *l = all; l != NULL; l = l->next) {
        rpc_client *cl = l->data;
        cl->rpc = NULL;
        client_close(cl);
    }
    g_list_free(all);
    /* Let the cancelled operations finish, which frees the clients. */
    int64_t until = g_get_monotonic_time() + G_USEC_PER_SEC;
    while (live_clients > 0 && g_get_monotonic_time() < until) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
    (void)unlink(rpc->path);
    g_free(rpc->path);
    g_free(rpc);
}
