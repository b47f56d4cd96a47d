/*
 * test_ice_config.c: ICE server URLs (RFC 7064/7065 forms, as RTCIceServer
 * takes them) into webrtcbin's forms, the configuration checks of
 * ek_net_new (relay-only needs TURN, TURN needs credentials, addresses must
 * be addresses), and that the defaults name no server at all.
 */
#include <string.h>

#include <glib.h>

#include "ek_net.h"
#include "ek_test.h"
#include "ice_config.h"
#include "net_internal.h"

static void check_uri(const char *url, const char *user, const char *pass, const char *want)
{
    ek_ice_url u;
    int rc = ek_ice_parse_url(&u, url);
    if (rc != EK_OK) {
        ek_test_fail(__FILE__, __LINE__, "refused %s", url);
        return;
    }
    char *got = ek_ice_webrtcbin_uri(&u, user, pass);
    if (got == NULL || strcmp(got, want) != 0)
        ek_test_fail(__FILE__, __LINE__, "%s gave %s, wanted %s", url, got ? got : "NULL", want);
    g_free(got);
}

static void test_urls(void)
{
    check_uri("stun:127.0.0.1:3478", NULL, NULL, "stun://127.0.0.1:3478");
    check_uri("stun:stun.example.org", NULL, NULL, "stun://stun.example.org:3478");
    check_uri("stun://[::1]:19302", NULL, NULL, "stun://[::1]:19302");
    check_uri("turn:127.0.0.1:3478", "u", "p", "turn://u:p@127.0.0.1:3478");
    check_uri("turn:127.0.0.1?transport=udp", "u", "p", "turn://u:p@127.0.0.1:3478");
    check_uri("turn:host:1234?transport=tcp", "u", "p", "turn://u:p@host:1234?transport=tcp");
    check_uri("turns:host", "u", "p", "turns://u:p@host:5349");
    /* userinfo is percent-encoded: webrtcbin splits at the first ':' */
    check_uri("turn:h:1", "us:er@x", "p@ss:w/rd", "turn://us%3Aer%40x:p%40ss%3Aw%2Frd@h:1");

    const char *bad[] = {"",
                         "http://x",
                         "stun:",
                         "stun:host:0",
                         "stun:h:99999",
                         "stun:h:12a",
                         "stun:h?transport=udp",
                         "turn:h?transport=sctp",
                         "turns:h?transport=udp",
                         "turn:[::1",
                         "turn:ho st",
                         "turn:h:1/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ek_ice_url u;
        if (ek_ice_parse_url(&u, bad[i]) == EK_OK)
            ek_test_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
    }
    ek_ice_url u;
    EK_CHECK_OK(ek_ice_parse_url(&u, "turn:h"));
    char *none = ek_ice_webrtcbin_uri(&u, NULL, NULL);
    EK_CHECK(none == NULL); /* TURN without credentials */
}

static void test_config(void)
{
    ek_net_config cfg;
    ek_net_cfg c;
    char *why = NULL;

    ek_net_config_init(&cfg);
    cfg.broker_url = "ws://127.0.0.1:9000";
    EK_CHECK_OK(ek_net_cfg_build(&c, &cfg, &why));
    /* nothing configured means nothing contacted */
    EK_CHECK(c.ice.stun_uri == NULL && c.ice.n_turn == 0 && c.ice.n_local == 0);
    EK_CHECK(strcmp(c.http_base, "http://127.0.0.1:9000/") == 0);
    EK_CHECK(strcmp(c.ws_base, "ws://127.0.0.1:9000/peerjs") == 0);
    EK_CHECK(strcmp(c.key, "peerjs") == 0 && c.id == NULL && strlen(c.token) == 12);
    EK_CHECK(c.heartbeat_ms == 5000);
    ek_net_cfg_clear(&c);

    cfg.broker_url = "https://broker.example/myapp";
    EK_CHECK_OK(ek_net_cfg_build(&c, &cfg, &why));
    EK_CHECK(strcmp(c.http_base, "https://broker.example:443/myapp/") == 0);
    EK_CHECK(strcmp(c.ws_base, "wss://broker.example:443/myapp/peerjs") == 0);
    ek_net_cfg_clear(&c);

    cfg.broker_url = "ftp://x/";
    EK_CHECK(ek_net_cfg_build(&c, &cfg, &why) == EK_NET_ERR_CONFIG && why != NULL);
    g_free(why);
    why = NULL;

    cfg.broker_url = "ws://127.0.0.1:9000/";
    cfg.id = "bad/id";
    EK_CHECK(ek_net_cfg_build(&c, &cfg, &why) == EK_NET_ERR_CONFIG);
    g_free(why);
    why = NULL;
    cfg.id = "good-id_1";
    cfg.relay_only = 1;
    EK_CHECK(ek_net_cfg_build(&c, &cfg, &why) == EK_NET_ERR_CONFIG); /* relay needs TURN */
    g_free(why);
    why = NULL;
    EK_CHECK_OK(ek_net_config_add_ice_server(&cfg, "turn:127.0.0.1:3478", "u", "p"));
    EK_CHECK_OK(ek_net_config_add_ice_server(&cfg, "stun:127.0.0.1:3478", NULL, NULL));
    EK_CHECK(ek_net_config_add_ice_server(&cfg, "bogus", NULL, NULL) == EK_NET_ERR_CONFIG);
    EK_CHECK_OK(ek_net_config_add_local_addr(&cfg, "127.0.0.1"));
    EK_CHECK(ek_net_config_add_local_addr(&cfg, "localhost") == EK_NET_ERR_CONFIG);
    EK_CHECK_OK(ek_net_cfg_build(&c, &cfg, &why));
    EK_CHECK(c.ice.relay_only && c.ice.n_turn == 1 && c.ice.stun_uri != NULL &&
             c.ice.n_local == 1 && strcmp(c.ice.local_addrs[0], "127.0.0.1") == 0);
    EK_CHECK(strcmp(c.id, "good-id_1") == 0);
    ek_net_cfg_clear(&c);

    cfg.buffer_high_bytes = 1000;
    cfg.buffer_low_bytes = 2000;
    EK_CHECK(ek_net_cfg_build(&c, &cfg, &why) == EK_NET_ERR_CONFIG);
    g_free(why);
}

static void test_loopback_filter(void)
{
    ek_ice_settings s = {0};
    const char *lan = "candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host generation 0";
    const char *lo = "candidate:2 1 UDP 2015364095 127.0.0.1 33782 typ host";
    const char *v6 = "candidate:3 1 udp 2122262783 fd00::2 50001 typ host";
    const char *mdns = "candidate:4 1 udp 2122260223 0b9b1f4e-aaaa.local 50002 typ host";
    EK_CHECK(ek_ice_candidate_allowed(&s, lan) && ek_ice_candidate_allowed(&s, lo));
    s.loopback_only = 1;
    EK_CHECK(!ek_ice_candidate_allowed(&s, lan) && !ek_ice_candidate_allowed(&s, v6));
    EK_CHECK(ek_ice_candidate_allowed(&s, lo));
    EK_CHECK(ek_ice_candidate_allowed(&s, mdns)); /* not an address: kept */

    /* loopback-only follows from the configured local addresses */
    ek_net_config cfg;
    ek_net_cfg c;
    char *why = NULL;
    ek_net_config_init(&cfg);
    cfg.broker_url = "ws://127.0.0.1:9000/";
    EK_CHECK_OK(ek_net_config_add_local_addr(&cfg, "127.0.0.1"));
    EK_CHECK_OK(ek_net_cfg_build(&c, &cfg, &why));
    EK_CHECK(c.ice.loopback_only);
    ek_net_cfg_clear(&c);
    EK_CHECK_OK(ek_net_config_add_local_addr(&cfg, "192.0.2.2"));
    EK_CHECK_OK(ek_net_cfg_build(&c, &cfg, &why));
    EK_CHECK(!c.ice.loopback_only);
    ek_net_cfg_clear(&c);
}

static void test_tokens(void)
{
    char *a = ek_net_random_token(12), *b = ek_net_random_token(12);
    EK_CHECK(a != NULL && b != NULL && strlen(a) == 12 && strcmp(a, b) != 0);
    for (const char *p = a != NULL ? a : ""; *p; p++)
        EK_CHECK((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z'));
    g_free(a);
    g_free(b);
}

int main(void)
{
    test_urls();
    test_config();
    test_tokens();
    test_loopback_filter();
    EK_CHECK(strcmp(ek_net_strerror(EK_NET_ERR_ID_TAKEN), "the peer ID is taken") == 0);
    EK_CHECK(strcmp(ek_net_strerror(EK_ERR_NOMEM), "out of memory") == 0);
    return ek_test_finish("net.ice_config");
}
