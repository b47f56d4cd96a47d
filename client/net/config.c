/*
 * config.c: the network configuration: defaults, validation, and the owned
 * copy the endpoint keeps (ek_net_cfg). The broker URL is split into the
 * HTTP base (for GET {path}{key}/id) and the WebSocket URL
 * ({path}peerjs, peerjs-protocol.md §2, §3); ICE server URLs are turned
 * into webrtcbin's forms once, here, so a bad one fails ek_net_new.
 */
#include <string.h>

#include <gio/gio.h>

#include <enkrypt/ek_crypto.h>

#include "net_internal.h"

void ek_net_config_init(ek_net_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

int ek_net_config_add_ice_server(ek_net_config *cfg, const char *url, const char *username,
                                 const char *credential)
{
    ek_ice_url u;
    if (cfg->n_ice_servers >= EK_NET_MAX_ICE_SERVERS || ek_ice_parse_url(&u, url) != EK_OK)
        return EK_NET_ERR_CONFIG;
    ek_net_ice_server *s = &cfg->ice_servers[cfg->n_ice_servers++];
    s->url = url;
    s->username = username;
    s->credential = credential;
    return EK_OK;
}

int ek_net_config_add_local_addr(ek_net_config *cfg, const char *addr)
{
    GInetAddress *a = addr != NULL ? g_inet_address_new_from_string(addr) : NULL;
    if (a == NULL || cfg->n_local_addrs >= EK_NET_MAX_LOCAL_ADDRS) {
        if (a != NULL)
            g_object_unref(a);
        return EK_NET_ERR_CONFIG;
    }
    g_object_unref(a);
    cfg->local_addrs[cfg->n_local_addrs++] = addr;
    return EK_OK;
}

char *ek_net_random_token(size_t n)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint8_t raw[64];
    if (n == 0 || n > sizeof raw)
        return NULL;
    if (ek_random(NULL, raw, n) != EK_OK)
        return NULL;
    char *s = g_malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        /* 252 = 7 * 36: reject the top values so every character is
         * equally likely. */
        while (raw[i] >= 252) {
            if (ek_random(NULL, &raw[i], 1) != EK_OK) {
                g_free(s);
                return NULL;
            }
        }
        s[i] = alphabet[raw[i] % 36];
    }
    s[n] = 0;
    return s;
}

static unsigned or_default(unsigned v, unsigned def)
{
    return v != 0 ? v : def;
}

static size_t size_or_default(size_t v, size_t def)
{
    return v != 0 ? v : def;
}

/* PeerJS ids are free-form for the server but the client allows only
 * ^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$ (§6.1); we take the client's rule so
 * browser peers can reach us. */
static int peer_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > EK_PJ_MAX_ID)
        return 0;
    int prev_sep = 1;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum) {
            prev_sep = 0;
        } else if (c == ' ' || c == '_' || c == '-') {
            if (prev_sep)
                return 0;
            prev_sep = 1;
        } else {
            return 0;
        }
    }
    return !prev_sep;
}

static int split_broker_url(ek_net_cfg *out, const char *url, char **why)
{
    GError *err = NULL;
    GUri *u = g_uri_parse(url, G_URI_FLAGS_NONE, &err);
    if (u == NULL) {
        *why = g_strdup_printf("broker URL \"%s\": %s", url, err->message);
        g_error_free(err);
        return EK_NET_ERR_CONFIG;
    }
    const char *scheme = g_uri_get_scheme(u);
    int secure;
    if (g_ascii_strcasecmp(scheme, "http") == 0 || g_ascii_strcasecmp(scheme, "ws") == 0) {
        secure = 0;
    } else if (g_ascii_strcasecmp(scheme, "https") == 0 || g_ascii_strcasecmp(scheme, "wss") == 0) {
        secure = 1;
    } else {
        *why = g_strdup_printf("broker URL \"%s\": the scheme must be http, https, ws or wss", url);
        g_uri_unref(u);
        return EK_NET_ERR_CONFIG;
    }
    const char *host = g_uri_get_host(u);
    if (host == NULL || host[0] == 0 || g_uri_get_query(u) != NULL) {
        *why = g_strdup_printf("broker URL \"%s\": need scheme://host[:port][/path/]", url);
        g_uri_unref(u);
        return EK_NET_ERR_CONFIG;
    }
    int port = g_uri_get_port(u);
    if (port <= 0)
        port = secure ? 443 : 80;
    /* The PeerJS path is normalised to start and end with '/' (§6.1). */
    const char *path = g_uri_get_path(u);
    GString *p = g_string_new(path != NULL && path[0] == '/' ? "" : "/");
    g_string_append(p, path != NULL ? path : "");
    if (p->str[p->len - 1] != '/')
        g_string_append_c(p, '/');
    int v6 = strchr(host, ':') != NULL;
    const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
    out->http_base =
        g_strdup_printf("%s://%s%s%s:%d%s", secure ? "https" : "http", lb, host, rb, port, p->str);
    out->ws_base = g_strdup_printf("%s://%s%s%s:%d%speerjs", secure ? "wss" : "ws", lb, host, rb,
                                   port, p->str);
    g_string_free(p, TRUE);
    g_uri_unref(u);
    return EK_OK;
}

static int build_ice(ek_ice_settings *ice, const ek_net_config *in, char **why)
{
    ice->turn_uris = g_new0(char *, EK_NET_MAX_ICE_SERVERS);
    ice->local_addrs = g_new0(char *, EK_NET_MAX_LOCAL_ADDRS);
    ice->relay_only = in->relay_only != 0;
    if (in->n_ice_servers > EK_NET_MAX_ICE_SERVERS || in->n_local_addrs > EK_NET_MAX_LOCAL_ADDRS) {
        *why = g_strdup("too many ICE servers or local addresses");
        return EK_NET_ERR_CONFIG;
    }
    for (size_t i = 0; i < in->n_ice_servers; i++) {
        const ek_net_ice_server *s = &in->ice_servers[i];
        ek_ice_url u;
        if (ek_ice_parse_url(&u, s->url) != EK_OK) {
            *why = g_strdup_printf("ICE server URL \"%s\" is not stun:, turn: or turns:host[:port]",
                                   s->url != NULL ? s->url : "(null)");
            return EK_NET_ERR_CONFIG;
        }
        char *uri = ek_ice_webrtcbin_uri(&u, s->username, s->credential);
        if (uri == NULL) {
            *why = g_strdup_printf("TURN server \"%s\" needs a username and a credential", s->url);
            return EK_NET_ERR_CONFIG;
        }
        if (u.scheme == EK_ICE_STUN) {
            /* webrtcbin has one stun-server property; the first one wins. */
            if (ice->stun_uri == NULL)
                ice->stun_uri = uri;
            else {
                g_warning("only one STUN server is used; ignoring %s", s->url);
                g_free(uri);
            }
        } else {
            ice->turn_uris[ice->n_turn++] = uri;
        }
    }
    if (ice->relay_only && ice->n_turn == 0) {
        *why = g_strdup("relay-only mode needs at least one TURN server");
        return EK_NET_ERR_CONFIG;
    }
    for (size_t i = 0; i < in->n_local_addrs; i++) {
        GInetAddress *a =
            in->local_addrs[i] != NULL ? g_inet_address_new_from_string(in->local_addrs[i]) : NULL;
        if (a == NULL) {
            *why = g_strdup_printf("local address \"%s\" is not an IP address",
                                   in->local_addrs[i] != NULL ? in->local_addrs[i] : "(null)");
            return EK_NET_ERR_CONFIG;
        }
        ice->loopback_only = (i == 0 || ice->loopback_only) && g_inet_address_get_is_loopback(a);
        g_object_unref(a);
        ice->local_addrs[ice->n_local++] = g_strdup(in->local_addrs[i]);
    }
    return EK_OK;
}

int ek_net_cfg_build(ek_net_cfg *out, const ek_net_config *in, char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    int rc;
    if (in->broker_url == NULL) {
        *why = g_strdup("no broker URL");
        return EK_NET_ERR_CONFIG;
    }
    if ((rc = split_broker_url(out, in->broker_url, why)) != EK_OK)
        goto fail;
    out->key = g_strdup(in->key != NULL && in->key[0] != 0 ? in->key : "peerjs");
    if (in->id != NULL && in->id[0] != 0) {
        if (!peer_id_valid(in->id)) {
            *why = g_strdup_printf("peer ID \"%s\": use letters and digits, with single "
                                   "' ', '_' or '-' between them",
                                   in->id);
            rc = EK_NET_ERR_CONFIG;
            goto fail;
        }
        out->id = g_strdup(in->id);
    }
    out->token =
        in->token != NULL && in->token[0] != 0 ? g_strdup(in->token) : ek_net_random_token(12);
    if (out->token == NULL) {
        *why = g_strdup("the random generator failed");
        rc = EK_NET_ERR_CONFIG;
        goto fail;
    }
    if ((rc = build_ice(&out->ice, in, why)) != EK_OK)
        goto fail;

    out->heartbeat_ms = or_default(in->heartbeat_ms, 5000);
    out->reconnect_min_ms = or_default(in->reconnect_min_ms, 500);
    out->reconnect_max_ms = or_default(in->reconnect_max_ms, 30000);
    out->reconnect_attempts = in->reconnect_attempts;
    out->open_timeout_ms = or_default(in->open_timeout_ms, 30000);
    out->ping_interval_ms = or_default(in->ping_interval_ms, 5000);
    out->ping_timeout_ms = or_default(in->ping_timeout_ms, 15000);
    out->close_linger_ms = or_default(in->close_linger_ms, 3000);
    out->buffer_high = size_or_default(in->buffer_high_bytes, 4u << 20);
    out->buffer_low = size_or_default(in->buffer_low_bytes, 1u << 20);
    out->send_queue_bytes = size_or_default(in->send_queue_bytes, 1u << 20);
    out->max_message = size_or_default(in->max_message_bytes, 1u << 20);
    if (out->buffer_low >= out->buffer_high) {
        *why = g_strdup("buffer_low_bytes must be below buffer_high_bytes");
        rc = EK_NET_ERR_CONFIG;
        goto fail;
    }
    if (out->reconnect_min_ms > out->reconnect_max_ms)
        out->reconnect_max_ms = out->reconnect_min_ms;
    if (out->ping_timeout_ms <= out->ping_interval_ms)
        out->ping_timeout_ms = out->ping_interval_ms * 3;
    if (out->max_message < EK_NET_MAX_FRAME + 64)
        out->max_message = EK_NET_MAX_FRAME + 64;
    return EK_OK;

fail:
    ek_net_cfg_clear(out);
    return rc;
}

void ek_net_cfg_clear(ek_net_cfg *c)
{
    g_free(c->http_base);
    g_free(c->ws_base);
    g_free(c->key);
    g_free(c->id);
    g_free(c->token);
    g_free(c->ice.stun_uri);
    for (size_t i = 0; i < c->ice.n_turn; i++)
        g_free(c->ice.turn_uris[i]);
    g_free(c->ice.turn_uris);
    for (size_t i = 0; i < c->ice.n_local; i++)
        g_free(c->ice.local_addrs[i]);
    g_free(c->ice.local_addrs);
    memset(c, 0, sizeof *c);
}
