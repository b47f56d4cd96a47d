/*
 * liveness.c: the application-level ping between enkrypt peers.
 *
 * Why (webrtc-transport.md §6): when the remote side vanishes, webrtcbin
 * says nothing at all with default settings, and with keepalive
 * connectivity checks ICE fails only after about 50 s; libnice's
 * consent-freshness cannot be turned on for webrtcbin's agent. So both
 * ends of a connection between enkrypt peers send a small ping every
 * ping_interval_ms, answer pings at once, and declare the peer dead after
 * ping_timeout_ms with no message of any kind.
 *
 * Only peers that advertised the capability in their OFFER/ANSWER payload
 * (peerjs_msg.h, EK_PJ_CAPS_FIELD) get pings, so a browser PeerJS peer
 * never sees one. Pings are *text* messages starting with U+0001 "ek:",
 * on the connection's own channel: PeerJS's json and binary connections
 * only ever send binary messages, and on raw connections between enkrypt
 * peers text frames with that prefix are reserved.
 */
#include <string.h>

#include "net_internal.h"

#define EK_LIVE_PREFIX "\001ek:"
#define EK_LIVE_PING   "\001ek:ping:"
#define EK_LIVE_PONG   "\001ek:pong:"

void ek_live_seen(ek_net_conn *c)
{
    c->last_rx_us = g_get_monotonic_time();
}

static gboolean ping_cb(gpointer data)
{
    ek_net_conn *c = data;
    if (c->state != PC_OPEN)
        return G_SOURCE_CONTINUE; /* stop() removes us */
    gint64 silent_ms = (g_get_monotonic_time() - c->last_rx_us) / 1000;
    if (silent_ms >= (gint64)c->ping_timeout_ms) {
        char *why = g_strdup_printf("nothing from the peer for %" G_GINT64_FORMAT " ms", silent_ms);
        ek_conn_finish(c, EK_NET_ERR_PEER_TIMEOUT, why);
        g_free(why);
        return G_SOURCE_CONTINUE;
    }
    char msg[48];
    g_snprintf(msg, sizeof msg, EK_LIVE_PING "%" G_GUINT64_FORMAT, ++c->ping_seq);
    ek_dc_send_control(c, msg);
    return G_SOURCE_CONTINUE;
}

static void source_data_free(gpointer data)
{
    ek_conn_unref(data);
}

void ek_live_start(ek_net_conn *c)
{
    ek_live_seen(c);
    if (!c->remote_caps || c->ping_timer != NULL || c->net == NULL)
        return;
    c->ping_timer = g_timeout_source_new(c->ping_interval_ms);
    g_source_set_callback(c->ping_timer, ping_cb, ek_conn_ref(c), source_data_free);
    g_source_attach(c->ping_timer, c->net->ctx);
}

void ek_live_stop(ek_net_conn *c)
{
    if (c->ping_timer != NULL) {
        g_source_destroy(c->ping_timer);
        g_source_unref(c->ping_timer);
        c->ping_timer = NULL;
    }
}

int ek_live_handle_control(ek_net_conn *c, const char *text, size_t len)
{
    if (!c->remote_caps || len < sizeof EK_LIVE_PREFIX - 1 ||
        memcmp(text, EK_LIVE_PREFIX, sizeof EK_LIVE_PREFIX - 1) != 0)
        return 0;
    size_t plen = sizeof EK_LIVE_PING - 1;
    if (len > plen && len <= plen + 20 && memcmp(text, EK_LIVE_PING, plen) == 0) {
        char reply[48];
        g_snprintf(reply, sizeof reply, EK_LIVE_PONG "%.*s", (int)(len - plen), text + plen);
        ek_dc_send_control(c, reply);
    }
    /* Pongs only prove the peer is there, which ek_live_seen recorded;
     * unknown control messages from a newer peer are ignored. */
    return 1;
}
