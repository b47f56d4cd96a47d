/*
 * ice_config.h: STUN/TURN server URLs in RTCIceServer's form, turned into
 * the forms webrtcbin takes, and the ICE settings applied to each new
 * webrtcbin (webrtc-transport.md §5: UPnP off, ICE-TCP off, loopback-only
 * gathering for tests, relay-only policy, keepalive connectivity checks).
 */
#ifndef EK_NET_ICE_CONFIG_H
#define EK_NET_ICE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <gst/gst.h>

typedef enum ek_ice_scheme {
    EK_ICE_STUN,
    EK_ICE_TURN,
    EK_ICE_TURNS,
} ek_ice_scheme;

typedef struct ek_ice_url {
    ek_ice_scheme scheme;
    char host[256]; /* a DNS name, an IPv4 literal, or an IPv6 literal without brackets */
    int ipv6;
    uint16_t port;
    char transport[4]; /* "udp", "tcp" or "" (not given) */
} ek_ice_url;

/* Parse stun:host[:port], turn:host[:port][?transport=udp|tcp] and
 * turns:host[:port][?transport=tcp] (RFC 7064/7065; "scheme://" also
 * accepted). 0 or EK_ERR_DECODE. */
int ek_ice_parse_url(ek_ice_url *out, const char *url);

/* The URI webrtcbin wants: "stun://host:port" or
 * "turn(s)://user:pass@host:port[?transport=tcp]", user and password
 * percent-encoded. NULL (and a g_warning) when a TURN server lacks
 * credentials. Free with g_free. */
char *ek_ice_webrtcbin_uri(const ek_ice_url *u, const char *username, const char *credential);

/* The ICE part of a connection's configuration, already in webrtcbin form. */
typedef struct ek_ice_settings {
    char *stun_uri;   /* or NULL */
    char **turn_uris; /* n_turn entries */
    size_t n_turn;
    char **local_addrs; /* n_local entries */
    size_t n_local;
    int relay_only;
    /* every local address is a loopback one: remote candidates elsewhere
     * are ignored (ek_ice_candidate_allowed) */
    int loopback_only;
} ek_ice_settings;

/* Whether a remote candidate ("candidate:f c transport prio ADDRESS port
 * typ ...") may be given to webrtcbin. With loopback-only gathering, a
 * candidate for any other address is dropped: from a loopback socket it can
 * only mean another interface of this host, and tests must keep every
 * packet on 127.0.0.1. mDNS names and unparsable lines are kept. */
int ek_ice_candidate_allowed(const ek_ice_settings *s, const char *candidate);

/* Apply the settings to a webrtcbin that is not yet PLAYING. 0 or
 * EK_NET_ERR_WEBRTC with *why set (g_free it). */
int ek_ice_apply(GstElement *webrtc, const ek_ice_settings *s, char **why);

#endif /* EK_NET_ICE_CONFIG_H */
