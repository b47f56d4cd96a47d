/*
 * ice_config.c: ICE server URLs and the ICE settings of each webrtcbin.
 *
 * Why each setting (webrtc-transport.md §5):
 *  - UPnP off: Debian's libnice is built with gupnp-igd and does SSDP
 *    multicast discovery on every gather otherwise.
 *  - ICE-TCP off: browsers do not use ICE-TCP host candidates; UDP is kept.
 *  - keepalive-conncheck on: without it a vanished peer is never noticed at
 *    the ICE level; with it ICE fails after about 50 s (the app ping is
 *    faster, see liveness.c).
 *  - add-local-ip-address: libnice never gathers loopback addresses, and
 *    once any address is added it gathers only on those, which is how tests
 *    stay on 127.0.0.1.
 *  - No STUN/TURN unless configured: nothing outside is ever contacted by
 *    default (DESIGN.md §4).
 */
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <gst/webrtc/webrtc.h>

#include <enkrypt/ek_base.h>

#include "ek_net.h"
#include "ice_config.h"

static int host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

static int v6_char_ok(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
           c == '.';
}

static int parse_port(const char *s, size_t n, uint16_t *port)
{
    if (n == 0 || n > 5)
        return EK_ERR_DECODE;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return EK_ERR_DECODE;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return EK_ERR_DECODE;
    *port = (uint16_t)v;
    return EK_OK;
}

int ek_ice_parse_url(ek_ice_url *out, const char *url)
{
    memset(out, 0, sizeof *out);
    if (url == NULL)
        return EK_ERR_DECODE;
    const char *p;
    if (strncmp(url, "stun:", 5) == 0) {
        out->scheme = EK_ICE_STUN;
        p = url + 5;
    } else if (strncmp(url, "turn:", 5) == 0) {
        out->scheme = EK_ICE_TURN;
        p = url + 5;
    } else if (strncmp(url, "turns:", 6) == 0) {
        out->scheme = EK_ICE_TURNS;
        p = url + 6;
    } else {
        return EK_ERR_DECODE;
    }
    if (strncmp(p, "//", 2) == 0)
        p += 2;

    /* Split off the query. */
    const char *q = strchr(p, '?');
    size_t hp_len = q != NULL ? (size_t)(q - p) : strlen(p);
    if (q != NULL) {
        if (out->scheme == EK_ICE_STUN)
            return EK_ERR_DECODE;
        if (strcmp(q, "?transport=udp") == 0)
            memcpy(out->transport, "udp", 4);
        else if (strcmp(q, "?transport=tcp") == 0)
            memcpy(out->transport, "tcp", 4);
        else
            return EK_ERR_DECODE;
        if (out->scheme == EK_ICE_TURNS && out->transport[0] == 'u')
            return EK_ERR_DECODE; /* TLS runs over TCP */
    }

    const char *host = p;
    size_t host_len;
    const char *port_s = NULL;
    size_t port_len = 0;
    if (hp_len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', hp_len);
        if (close == NULL)
            return EK_ERR_DECODE;
        host = p + 1;
        host_len = (size_t)(close - host);
        for (size_t i = 0; i < host_len; i++)
            if (!v6_char_ok(host[i]))
                return EK_ERR_DECODE;
        out->ipv6 = 1;
        size_t rest = hp_len - (size_t)(close + 1 - p);
        if (rest > 0) {
            if (close[1] != ':')
                return EK_ERR_DECODE;
            port_s = close + 2;
            port_len = rest - 1;
        }
    } else {
        const char *colon = memchr(p, ':', hp_len);
        host_len = colon != NULL ? (size_t)(colon - p) : hp_len;
        if (colon != NULL) {
            port_s = colon + 1;
            port_len = hp_len - host_len - 1;
        }
        for (size_t i = 0; i < host_len; i++)
            if (!host_char_ok(host[i]))
                return EK_ERR_DECODE;
    }
    if (host_len == 0 || host_len >= sizeof out->host)
        return EK_ERR_DECODE;
    memcpy(out->host, host, host_len);
    out->host[host_len] = 0;
    out->port = out->scheme == EK_ICE_TURNS ? 5349 : 3478;
    if (port_s != NULL && parse_port(port_s, port_len, &out->port) != EK_OK)
        return EK_ERR_DECODE;
    return EK_OK;
}

char *ek_ice_webrtcbin_uri(const ek_ice_url *u, const char *username, const char *credential)
{
    const char *lb = u->ipv6 ? "[" : "", *rb = u->ipv6 ? "]" : "";
    if (u->scheme == EK_ICE_STUN)
        return g_strdup_printf("stun://%s%s%s:%u", lb, u->host, rb, (unsigned)u->port);
    if (username == NULL || credential == NULL || username[0] == 0) {
        g_warning("ek-net: a TURN server needs a username and a credential");
        return NULL;
    }
    /* webrtcbin splits the userinfo at the first ':' and unescapes each
     * half, so both are escaped here. */
    char *user = g_uri_escape_string(username, NULL, FALSE);
    char *pass = g_uri_escape_string(credential, NULL, FALSE);
    const char *query = u->transport[0] == 't' ? "?transport=tcp" : "";
    char *uri =
        g_strdup_printf("%s://%s:%s@%s%s%s:%u%s", u->scheme == EK_ICE_TURNS ? "turns" : "turn",
                        user, pass, lb, u->host, rb, (unsigned)u->port, query);
    g_free(user);
    g_free(pass);
    return uri;
}

int ek_ice_candidate_allowed(const ek_ice_settings *s, const char *candidate)
{
    if (!s->loopback_only)
        return 1;
    /* The fifth field is the connection address (RFC 8839 §5.1). */
    char **f = g_strsplit(candidate, " ", 7);
    int allowed = 1;
    if (g_strv_length(f) >= 6) {
        GInetAddress *a = g_inet_address_new_from_string(f[4]);
        if (a != NULL) {
            allowed = g_inet_address_get_is_loopback(a);
            g_object_unref(a);
        }
    }
    g_strfreev(f);
    return allowed;
}

static int has_property(gpointer obj, const char *name)
{
    return g_object_class_find_property(G_OBJECT_GET_CLASS(obj), name) != NULL;
}

int ek_ice_apply(GstElement *webrtc, const ek_ice_settings *s, char **why)
{
    GObject *ice = NULL;
    GObject *agent = NULL;
    *why = NULL;

    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (ice == NULL) {
        *why = g_strdup("webrtcbin has no ICE agent (is gstreamer1.0-nice installed?)");
        return EK_NET_ERR_WEBRTC;
    }
    if (has_property(ice, "ice-tcp"))
        g_object_set(ice, "ice-tcp", FALSE, NULL);
    if (has_property(ice, "agent"))
        g_object_get(ice, "agent", &agent, NULL);
    if (agent != NULL) {
        if (has_property(agent, "upnp"))
            g_object_set(agent, "upnp", FALSE, NULL);
        if (has_property(agent, "keepalive-conncheck"))
            g_object_set(agent, "keepalive-conncheck", TRUE, NULL);
        g_object_unref(agent);
    } else {
        g_warning("ek-net: no NiceAgent behind webrtcbin's ICE agent: UPnP stays on");
    }

    for (size_t i = 0; i < s->n_local; i++) {
        gboolean ok = FALSE;
        g_signal_emit_by_name(ice, "add-local-ip-address", s->local_addrs[i], &ok);
        if (!ok) {
            *why = g_strdup_printf("the ICE agent refused local address %s", s->local_addrs[i]);
            g_object_unref(ice);
            return EK_NET_ERR_WEBRTC;
        }
    }
    g_object_unref(ice);

    if (s->stun_uri != NULL)
        g_object_set(webrtc, "stun-server", s->stun_uri, NULL);
    for (size_t i = 0; i < s->n_turn; i++) {
        gboolean ok = FALSE;
        g_signal_emit_by_name(webrtc, "add-turn-server", s->turn_uris[i], &ok);
        if (!ok) {
            *why = g_strdup("webrtcbin refused a TURN server URI");
            return EK_NET_ERR_WEBRTC;
        }
    }
    if (s->relay_only)
        g_object_set(webrtc, "ice-transport-policy", GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY, NULL);
    return EK_OK;
}
