/*
 * test_protocol.c: enkrypt-broker's protocol tests, run against the real
 * broker process on 127.0.0.1 (docs/broker.md says what each checks).
 *
 *   test_broker_protocol <case> <path to enkrypt-broker>
 *
 * Each case starts its own broker with the flags it needs and stops it with
 * SIGTERM at the end; every wait has a timeout.
 */
#define _GNU_SOURCE

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <enkrypt/ek_crypto.h>

#include "bk_client.h"
#include "ek_test.h"

#define T_MS 3000 /* generous: the machine may be loaded */

static const char *exe;

static bool start(bk_proc *p, const char *const *args)
{
    if (bk_proc_start(p, exe, args)) {
        ek_test_fail(__FILE__, __LINE__, "could not start %s", exe);
        return false;
    }
    return true;
}

static void stop(bk_proc *p)
{
    int rc = bk_proc_stop(p);
    if (rc != 0)
        ek_test_fail(__FILE__, __LINE__, "broker exited with %d, wanted 0", rc);
}

/* Connect id with token and expect OPEN. */
static bool peer(bk_ws *c, int port, const char *id, const char *token)
{
    int st = bk_ws_open_peer(c, port, "peerjs", id, token);
    if (st != 101) {
        ek_test_fail(__FILE__, __LINE__, "upgrade for %s answered %d", id, st);
        return false;
    }
    return bk_ws_expect(c, T_MS, "{\"type\":\"OPEN\"}");
}

static bool has(const char *hay, const char *needle)
{
    if (hay && strcasestr(hay, needle))
        return true;
    fprintf(stderr, "  missing '%s' in:\n%s\n", needle, hay ? hay : "(null)");
    return false;
}

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ http */

static void test_http(void)
{
    bk_proc p;
    const char *args[] = {"--cors", "http://allowed.test", NULL};
    if (!start(&p, NULL))
        return;
    char *h, *b;

    EK_CHECK(bk_http(p.port, NULL, "GET", "/", "", &h, &b) == 200);
    EK_CHECK(has(h, "content-type: application/json; charset=utf-8"));
    EK_CHECK(!strcmp(b, "{\"name\":\"PeerJS Server\",\"description\":\"A server side element to "
                        "broker connections between PeerJS clients.\",\"website\":"
                        "\"https://peerjs.com/\"}"));
    free(h), free(b);

    EK_CHECK(bk_http(p.port, NULL, "GET", "/peerjs/id?ts=1&version=1.5.5",
                     "Origin: http://page.test\r\n", &h, &b) == 200);
    EK_CHECK(has(h, "content-type: text/html"));
    EK_CHECK(has(h, "access-control-allow-origin: http://page.test"));
    EK_CHECK(has(h, "vary: Origin"));
    EK_CHECK(strlen(b) == 36 && b[8] == '-' && b[14] == '4');
    free(h), free(b);

    EK_CHECK(bk_http(p.port, NULL, "GET", "/peerjs/peers", "", &h, &b) == 401);
    EK_CHECK(!strcmp(b, "Unauthorized"));
    EK_CHECK(!strcasestr(h, "access-control-allow-origin"));
    free(h), free(b);

    /* Deviation: a wrong key is not a route. */
    EK_CHECK(bk_http(p.port, NULL, "GET", "/wrongkey/id", "", &h, &b) == 404);
    free(h), free(b);
    EK_CHECK(bk_http(p.port, NULL, "GET", "/nothing/here/at/all", "", &h, &b) == 404);
    free(h), free(b);
    /* A plain GET of the WebSocket path is not found, as with the reference. */
    EK_CHECK(bk_http(p.port, NULL, "GET", "/peerjs", "", &h, &b) == 404);
    free(h), free(b);

    EK_CHECK(bk_http(p.port, NULL, "OPTIONS", "/peerjs/id",
                     "Origin: http://page.test\r\nAccess-Control-Request-Method: GET\r\n"
                     "Access-Control-Request-Headers: x-foo\r\n",
                     &h, &b) == 204);
    EK_CHECK(has(h, "access-control-allow-origin: http://page.test"));
    EK_CHECK(has(h, "access-control-allow-methods: GET,HEAD,PUT,PATCH,POST,DELETE"));
    EK_CHECK(has(h, "access-control-allow-headers: x-foo"));
    free(h), free(b);

    EK_CHECK(bk_http(p.port, NULL, "HEAD", "/", "", &h, &b) == 200);
    free(h), free(b);

    EK_CHECK(bk_http(p.port, NULL, "GET", "/health", "", &h, &b) == 200);
    EK_CHECK(has(b, "\"status\":\"ok\""));
    free(h), free(b);

    /* The WebSocket lives at exactly {path}peerjs. */
    bk_ws w;
    EK_CHECK(bk_ws_connect(&w, p.port, "/other?key=peerjs&id=a&token=b", NULL) == 400);
    bk_ws_free(&w);
    EK_CHECK(bk_ws_connect(&w, p.port, "/peerjs/x?key=peerjs&id=a&token=b", NULL) == 400);
    bk_ws_free(&w);
    stop(&p);

    /* --allow_discovery, --path, --cors */
    const char *args2[] = {"--allow_discovery",   "--path", "/myapp", "--key", "k2", "--cors",
                           "http://allowed.test", NULL};
    (void)args;
    if (!start(&p, args2))
        return;
    bk_ws a;
    int st = bk_ws_connect(&a, p.port, "/myapp/peerjs?key=k2&id=Alice&token=t", NULL);
    EK_CHECK(st == 101 && bk_ws_expect(&a, T_MS, "{\"type\":\"OPEN\"}"));
    EK_CHECK(bk_http(p.port, NULL, "GET", "/myapp/k2/peers", "Origin: http://other.test\r\n", &h,
                     &b) == 200);
    EK_CHECK(!strcmp(b, "[\"Alice\"]"));
    EK_CHECK(!strcasestr(h, "access-control-allow-origin")); /* not in the --cors list */
    free(h), free(b);
    EK_CHECK(bk_http(p.port, NULL, "GET", "/myapp/k2/id", "Origin: http://allowed.test\r\n", &h,
                     &b) == 200);
    EK_CHECK(has(h, "access-control-allow-origin: http://allowed.test"));
    free(h), free(b);
    EK_CHECK(bk_http(p.port, NULL, "GET", "/myapp", "", &h, &b) == 200);
    EK_CHECK(has(b, "PeerJS Server"));
    free(h), free(b);
    EK_CHECK(bk_http(p.port, NULL, "GET", "/myapp/", "", &h, &b) == 200);
    free(h), free(b);
    bk_ws_free(&a);
    stop(&p);
}

/* ------------------------------------------------------------- handshake */

static void test_handshake(void)
{
    bk_proc p;
    const char *args[] = {"--concurrent_limit", "3", NULL};
    if (!start(&p, args))
        return;
    bk_ws a, b, c, d;

    EK_CHECK(bk_ws_connect(&c, p.port, "/peerjs?key=peerjs&id=X", NULL) == 101);
    EK_CHECK(bk_ws_expect(&c, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"No id, token, "
                          "or key supplied to websocket server\"}}"));
    EK_CHECK(bk_ws_expect_close(&c, T_MS));
    bk_ws_free(&c);

    EK_CHECK(bk_ws_connect(&c, p.port, "/peerjs?key=peerjs&id=&token=t", NULL) == 101);
    EK_CHECK(bk_ws_expect(&c, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"No id, token, "
                          "or key supplied to websocket server\"}}"));
    bk_ws_free(&c);

    EK_CHECK(bk_ws_open_peer(&c, p.port, "nope", "X", "t") == 101);
    EK_CHECK(bk_ws_expect(&c, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid key provided\"}}"));
    EK_CHECK(bk_ws_expect_close(&c, T_MS));
    bk_ws_free(&c);

    EK_CHECK(peer(&a, p.port, "A", "tokA"));
    /* Same ID, other token: ID-TAKEN, then close. */
    EK_CHECK(bk_ws_open_peer(&c, p.port, "peerjs", "A", "other") == 101);
    EK_CHECK(
        bk_ws_expect(&c, T_MS, "{\"type\":\"ID-TAKEN\",\"payload\":{\"msg\":\"ID is taken\"}}"));
    EK_CHECK(bk_ws_expect_close(&c, T_MS));
    bk_ws_free(&c);

    /* Same ID, same token (peer.reconnect()): decision: OPEN for the new
     * socket, the old one is closed, and the new one receives relays. */
    EK_CHECK(peer(&b, p.port, "A", "tokA"));
    EK_CHECK(bk_ws_expect_close(&a, T_MS));
    bk_ws_free(&a);
    EK_CHECK(peer(&c, p.port, "C", "tokC"));
    bk_ws_send_text(&c, "{\"type\":\"OFFER\",\"dst\":\"A\",\"payload\":1}");
    EK_CHECK(
        bk_ws_expect(&b, T_MS, "{\"type\":\"OFFER\",\"src\":\"C\",\"dst\":\"A\",\"payload\":1}"));

    /* Percent-decoding and '+' as in URLSearchParams; unknown params ignored. */
    EK_CHECK(bk_ws_connect(&d, p.port, "/peerjs?key=peerjs&id=we%21rd+id&token=t&foo=bar", NULL) ==
             101);
    EK_CHECK(bk_ws_expect(&d, T_MS, "{\"type\":\"OPEN\"}"));
    bk_ws_send_text(&c, "{\"type\":\"OFFER\",\"dst\":\"we!rd id\"}");
    EK_CHECK(bk_ws_expect(&d, T_MS, "{\"type\":\"OFFER\",\"src\":\"C\",\"dst\":\"we!rd id\"}"));

    /* concurrent_limit 3: A, C, "we!rd id" are registered. */
    bk_ws e;
    EK_CHECK(bk_ws_open_peer(&e, p.port, "peerjs", "E", "t") == 101);
    EK_CHECK(bk_ws_expect(&e, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Server has "
                          "reached its concurrent user limit\"}}"));
    EK_CHECK(bk_ws_expect_close(&e, T_MS));
    bk_ws_free(&e);
    bk_ws_free(&d);

    /* IDs must be printable UTF-8 (the reference takes anything). */
    usleep(200000); /* let d's close be processed */
    EK_CHECK(bk_ws_connect(&e, p.port, "/peerjs?key=peerjs&id=a%01b&token=t", NULL) == 101);
    EK_CHECK(bk_ws_expect(&e, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"ID or token is "
                          "not printable UTF-8\"}}"));
    bk_ws_free(&e);
    char target[1200] = "/peerjs?key=peerjs&token=t&id=";
    memset(target + strlen(target), 'x', 1000);
    target[1030] = '\0';
    EK_CHECK(bk_ws_connect(&e, p.port, target, NULL) == 101);
    EK_CHECK(bk_ws_expect(&e, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"ID or token too long\"}}"));
    bk_ws_free(&e);

    bk_ws_free(&b);
    bk_ws_free(&c);
    stop(&p);
}

/* ----------------------------------------------------------------- relay */

static void test_relay(void)
{
    bk_proc p;
    if (!start(&p, NULL))
        return;
    bk_ws a, b;
    if (!peer(&a, p.port, "A", "ta") || !peer(&b, p.port, "B", "tb"))
        goto out;

    /* src is the sender's, extra fields go, payload bytes are kept as sent. */
    bk_ws_send_text(&a, "{ \"src\":\"forged\", \"type\":\"OFFER\",\"extra\":[1,2],"
                        "\"payload\":{\"sdp\": {\"type\":\"offer\" , \"sdp\":\"v=0\\r\\n\"},"
                        "\"n\":1.50e3},\"dst\":\"B\" }");
    EK_CHECK(bk_ws_expect(&b, T_MS,
                          "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"B\",\"payload\":{\"sdp\": "
                          "{\"type\":\"offer\" , \"sdp\":\"v=0\\r\\n\"},\"n\":1.50e3}}"));
    /* No payload: none relayed; null payload: kept. */
    bk_ws_send_text(&b, "{\"type\":\"ANSWER\",\"dst\":\"A\"}");
    EK_CHECK(bk_ws_expect(&a, T_MS, "{\"type\":\"ANSWER\",\"src\":\"B\",\"dst\":\"A\"}"));
    bk_ws_send_text(&a, "{\"type\":\"CANDIDATE\",\"dst\":\"B\",\"payload\":null}");
    EK_CHECK(bk_ws_expect(&b, T_MS,
                          "{\"type\":\"CANDIDATE\",\"src\":\"A\",\"dst\":\"B\",\"payload\":null}"));
    /* LEAVE and EXPIRE from a client are relayed to an online peer. */
    bk_ws_send_text(&a, "{\"type\":\"LEAVE\",\"dst\":\"B\"}");
    EK_CHECK(bk_ws_expect(&b, T_MS, "{\"type\":\"LEAVE\",\"src\":\"A\",\"dst\":\"B\"}"));
    bk_ws_send_text(&a, "{\"type\":\"EXPIRE\",\"dst\":\"B\"}");
    EK_CHECK(bk_ws_expect(&b, T_MS, "{\"type\":\"EXPIRE\",\"src\":\"A\",\"dst\":\"B\"}"));
    /* To oneself. */
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"A\",\"payload\":\"me\"}");
    EK_CHECK(bk_ws_expect(&a, T_MS,
                          "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"A\",\"payload\":\"me\"}"));
    /* Escaped dst and type are decoded as JSON.parse would. */
    bk_ws_send_text(&a, "{\"type\":\"OF\\u0046ER\",\"dst\":\"\\u0042\"}");
    EK_CHECK(bk_ws_expect(&b, T_MS, "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"B\"}"));
    /* A binary frame holding JSON is accepted; the relay is text. */
    const char *bin = "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":2}";
    bk_ws_send(&a, 2, bin, strlen(bin), true);
    EK_CHECK(
        bk_ws_expect(&b, T_MS, "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"B\",\"payload\":2}"));
    /* A fragmented message is reassembled. */
    const char *m = "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":\"fragmented\"}";
    bk_ws_send(&a, 1, m, 10, false);
    bk_ws_send(&a, 0, m + 10, 20, false);
    bk_ws_send(&a, 0, m + 30, strlen(m) - 30, true);
    EK_CHECK(bk_ws_expect(
        &b, T_MS, "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"B\",\"payload\":\"fragmented\"}"));
    /* A large (40 KB) message arrives whole. */
    size_t big_n = 40000;
    char *big = malloc(big_n + 100), *want = malloc(big_n + 100);
    int n = snprintf(big, 100, "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":\"");
    memset(big + n, 'z', big_n);
    strcpy(big + n + big_n, "\"}");
    n = snprintf(want, 100, "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"B\",\"payload\":\"");
    memset(want + n, 'z', big_n);
    strcpy(want + n + big_n, "\"}");
    bk_ws_send_text(&a, big);
    EK_CHECK(bk_ws_expect(&b, T_MS, want));
    free(big);
    free(want);

    /* Unknown types, HEARTBEAT, JSON arrays without type: nothing relayed. */
    bk_ws_send_text(&a, "{\"type\":\"FOO\",\"dst\":\"B\"}");
    bk_ws_send_text(&a, "{\"type\":\"OPEN\",\"dst\":\"B\"}");
    bk_ws_send_text(&a, "{\"type\":\"HEARTBEAT\"}");
    bk_ws_send_text(&a, "{\"type\":\"OFFER\"}");
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"\"}");
    EK_CHECK(bk_ws_expect_silence(&b, 300));
    EK_CHECK(bk_ws_expect_silence(&a, 10));

    /* Decision: a frame that is not a JSON object gets an ERROR (the
     * reference stalls the socket); the socket keeps relaying. */
    bk_ws_send_text(&a, "not json");
    EK_CHECK(bk_ws_expect(&a, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid message: "
                          "not a JSON object\"}}"));
    bk_ws_send_text(&a, "5");
    EK_CHECK(bk_ws_expect(&a, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid message: "
                          "not a JSON object\"}}"));
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":5}");
    EK_CHECK(bk_ws_expect(&a, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid message: "
                          "dst must be a string\"}}"));
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":\"after\"}");
    EK_CHECK(bk_ws_expect(
        &b, T_MS, "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"B\",\"payload\":\"after\"}"));
    /* Invalid UTF-8 inside a string is refused (it could not be relayed as text). */
    bk_ws_send(&a, 2, "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":\"\xff\"}", 40, true);
    EK_CHECK(bk_ws_expect(&a, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid message: "
                          "not a JSON object\"}}"));

    /* Decision: LEAVE without dst unregisters the sender and closes it. */
    bk_ws_send_text(&a, "{\"type\":\"LEAVE\"}");
    EK_CHECK(bk_ws_expect_close(&a, T_MS));
    bk_ws c;
    EK_CHECK(peer(&c, p.port, "A", "another-token")); /* the ID is free again */
    bk_ws_free(&c);
out:
    bk_ws_free(&a);
    bk_ws_free(&b);
    stop(&p);
}

/* ----------------------------------------------------------------- queue */

static void test_queue(void)
{
    bk_proc p;
    const char *args[] = {"--expire_timeout", "600", "--queue_max_messages", "3", NULL};
    if (!start(&p, args))
        return;
    bk_ws a, b, c;
    if (!peer(&a, p.port, "A", "ta"))
        goto out;

    /* Queued for an offline ID, delivered in order right after OPEN. */
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":1}");
    bk_ws_send_text(&a, "{\"type\":\"CANDIDATE\",\"dst\":\"B\",\"payload\":2}");
    bk_ws_send_text(&a, "{\"type\":\"LEAVE\",\"dst\":\"B\"}"); /* LEAVE is not queued */
    usleep(100000);
    EK_CHECK(peer(&b, p.port, "B", "tb"));
    EK_CHECK(
        bk_ws_expect(&b, T_MS, "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"B\",\"payload\":1}"));
    EK_CHECK(bk_ws_expect(&b, T_MS,
                          "{\"type\":\"CANDIDATE\",\"src\":\"A\",\"dst\":\"B\",\"payload\":2}"));
    EK_CHECK(bk_ws_expect_silence(&b, 200));

    /* Expiry: one EXPIRE per sender, about expire_timeout after the first. */
    long long t0 = ms_now();
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"C\",\"payload\":1}");
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"C\",\"payload\":2}");
    bk_ws_send_text(&b, "{\"type\":\"ANSWER\",\"dst\":\"C\"}");
    EK_CHECK(bk_ws_expect(&a, T_MS, "{\"type\":\"EXPIRE\",\"src\":\"C\",\"dst\":\"A\"}"));
    long long dt = ms_now() - t0;
    EK_CHECK(dt >= 550 && dt < 2500);
    EK_CHECK(bk_ws_expect(&b, T_MS, "{\"type\":\"EXPIRE\",\"src\":\"C\",\"dst\":\"B\"}"));
    EK_CHECK(bk_ws_expect_silence(&a, 200));
    /* After expiry C gets nothing. */
    EK_CHECK(peer(&c, p.port, "C", "tc"));
    EK_CHECK(bk_ws_expect_silence(&c, 200));
    bk_ws_free(&c);

    /* Bound: 3 messages per queue; the 4th is refused with EXPIRE at once. */
    for (int i = 0; i < 3; i++)
        bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"D\"}");
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"D\"}");
    EK_CHECK(bk_ws_expect(&a, 400, "{\"type\":\"EXPIRE\",\"src\":\"D\",\"dst\":\"A\"}"));
    char *h, *body;
    EK_CHECK(bk_http(p.port, NULL, "GET", "/metrics", "", &h, &body) == 200);
    EK_CHECK(has(body, "enkrypt_broker_rejected_total{reason=\"queue_full\"} 1"));
    EK_CHECK(has(body, "enkrypt_broker_queued_messages 3"));
    EK_CHECK(has(h, "content-type: text/plain; version=0.0.4"));
    free(h), free(body);
    bk_ws_free(&b);
out:
    bk_ws_free(&a);
    stop(&p);
}

/* ------------------------------------------------------------- heartbeat */

static void test_heartbeat(void)
{
    bk_proc p;
    const char *args[] = {"--alive_timeout", "800", NULL};
    if (!start(&p, args))
        return;
    bk_ws a, b;
    if (!peer(&a, p.port, "A", "ta") || !peer(&b, p.port, "B", "tb"))
        goto out;
    /* A sends HEARTBEATs; B only sends OFFERs, which do not count. */
    long long t0 = ms_now();
    bool b_closed = false;
    long long b_closed_at = 0;
    while (ms_now() - t0 < 1600) {
        bk_ws_send_text(&a, "{\"type\":\"HEARTBEAT\"}");
        if (!b_closed) {
            bk_ws_send_text(&b, "{\"type\":\"OFFER\",\"dst\":\"nobody\"}");
            char *msg;
            size_t len;
            int r = bk_ws_recv(&b, 200, &msg, &len);
            if (r == 1)
                free(msg);
            if (r == 0) {
                b_closed = true;
                b_closed_at = ms_now() - t0;
            }
        } else {
            usleep(200000);
        }
    }
    EK_CHECK(b_closed);
    EK_CHECK(b_closed_at >= 700 && b_closed_at < 1500);
    /* A is still there and still relays. */
    bk_ws c;
    EK_CHECK(peer(&c, p.port, "C", "tc"));
    bk_ws_send_text(&c, "{\"type\":\"OFFER\",\"dst\":\"A\"}");
    EK_CHECK(bk_ws_expect(&a, T_MS, "{\"type\":\"OFFER\",\"src\":\"C\",\"dst\":\"A\"}"));
    bk_ws_free(&c);
    char *h, *body;
    EK_CHECK(bk_http(p.port, NULL, "GET", "/metrics", "", &h, &body) == 200);
    EK_CHECK(has(body, "enkrypt_broker_alive_timeouts_total 1"));
    free(h), free(body);
out:
    bk_ws_free(&a);
    bk_ws_free(&b);
    stop(&p);
}

/* ---------------------------------------------------------------- limits */

static void test_limits(void)
{
    bk_proc p;
    const char *args[] = {"--max_message_size",
                          "2048",
                          "--max_connections_per_ip",
                          "3",
                          "--ip_message_rate",
                          "20",
                          "--ip_message_burst",
                          "10",
                          "--max_strikes",
                          "3",
                          NULL};
    if (!start(&p, args))
        return;
    bk_ws a, b, c, d;
    if (!peer(&a, p.port, "A", "ta") || !peer(&b, p.port, "B", "tb"))
        goto out;

    /* Too big: ERROR, then close 1009. Others keep relaying. */
    char big[4000];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"type\":\"OFFER\",\"dst\":\"B\"}", 26);
    bk_ws_send(&a, 1, big, sizeof big, true);
    EK_CHECK(
        bk_ws_expect(&a, T_MS, "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Message too big\"}}"));
    EK_CHECK(bk_ws_expect_close(&a, T_MS) && a.close_code == 1009);
    bk_ws_free(&a);

    /* Per-address connections: B, and two more; the fourth is refused. */
    EK_CHECK(peer(&c, p.port, "C", "tc"));
    EK_CHECK(peer(&a, p.port, "A2", "ta"));
    EK_CHECK(bk_ws_open_peer(&d, p.port, "peerjs", "D", "td") == 101);
    EK_CHECK(bk_ws_expect(&d, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Too many "
                          "connections from your address\"}}"));
    EK_CHECK(bk_ws_expect_close(&d, T_MS));
    bk_ws_free(&d);

    /* Rate: burst 10 per address, then ERRORs; at 3 strikes, closed 1008. */
    usleep(600000); /* refill the bucket */
    for (int i = 0; i < 20; i++)
        bk_ws_send_text(&c, "{\"type\":\"OFFER\",\"dst\":\"B\"}");
    int relayed = 0;
    char *msg;
    size_t len;
    while (bk_ws_recv(&b, 300, &msg, &len) == 1) {
        relayed++;
        free(msg);
    }
    EK_CHECK(relayed >= 10 && relayed <= 13);
    EK_CHECK(bk_ws_expect(&c, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Rate limit exceeded\"}}"));
    EK_CHECK(bk_ws_expect_close(&c, T_MS) && c.close_code == 1008);
    /* The others still relay once the bucket refills. */
    usleep(300000);
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"B\"}");
    EK_CHECK(bk_ws_expect(&b, T_MS, "{\"type\":\"OFFER\",\"src\":\"A2\",\"dst\":\"B\"}"));
    char *h, *body;
    EK_CHECK(bk_http(p.port, NULL, "GET", "/metrics", "", &h, &body) == 200);
    EK_CHECK(has(body, "enkrypt_broker_rejected_total{reason=\"message_too_big\"} 1"));
    EK_CHECK(has(body, "enkrypt_broker_rejected_total{reason=\"ip_connections\"} 1"));
    EK_CHECK(has(body, "enkrypt_broker_rejected_total{reason=\"rate_limited\"}"));
    free(h), free(body);
    bk_ws_free(&c);
out:
    bk_ws_free(&a);
    bk_ws_free(&b);
    stop(&p);
}

/* A client that does not read is dropped; its sender hears LEAVE. */
static void test_slow_consumer(void)
{
    bk_proc p;
    const char *args[] = {"--send_buffer_bytes",
                          "65536",
                          "--ip_message_rate",
                          "0",
                          "--max_message_size",
                          "65536",
                          NULL};
    if (!start(&p, args))
        return;
    bk_ws a, b;
    if (!peer(&a, p.port, "A", "ta") || !peer(&b, p.port, "B", "tb"))
        goto out;
    size_t n = 60000;
    char *m = malloc(n + 64);
    int k = snprintf(m, 64, "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":\"");
    memset(m + k, 'q', n);
    strcpy(m + k + n, "\"}");
    bool got_leave = false;
    long long t0 = ms_now();
    /* B never reads: once the kernel buffers are full, the broker's queue
     * for B passes 64 KiB and B is dropped. Bounded: at most 10 s, 2000 sends. */
    for (int i = 0; i < 2000 && !got_leave && ms_now() - t0 < 10000; i++) {
        if (bk_ws_send_text(&a, m))
            break;
        char *msg;
        size_t len;
        if (bk_ws_recv(&a, 1, &msg, &len) == 1) {
            got_leave = !strcmp(msg, "{\"type\":\"LEAVE\",\"src\":\"B\",\"dst\":\"A\"}");
            free(msg);
        }
    }
    free(m);
    EK_CHECK(got_leave);
out:
    bk_ws_free(&a);
    bk_ws_free(&b);
    stop(&p);
}

/* ------------------------------------------------------------------ auth */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(char *out, const uint8_t *in, size_t n)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = b64url[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* id = "ek-" + hex(pk); token = ms "." nonce "." base64url(sig) */
static void make_auth(char id[80], char token[200], const uint8_t seed[32], long long ms,
                      const char *nonce, const char *realm)
{
    uint8_t pk[32], sig[64];
    if (ek_ed25519_public(pk, seed))
        abort();
    strcpy(id, "ek-");
    for (int i = 0; i < 32; i++)
        sprintf(id + 3 + 2 * i, "%02x", pk[i]);
    char msg[512];
    int n = snprintf(msg, sizeof msg, "enkrypt-broker-auth-v1\n%s\npeerjs\n%s\n%lld\n%s", realm, id,
                     ms, nonce);
    if (ek_ed25519_sign(sig, seed, msg, (size_t)n))
        abort();
    char s64[100];
    b64url_encode(s64, sig, 64);
    snprintf(token, 200, "%lld.%s.%s", ms, nonce, s64);
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_auth(void)
{
    bk_proc p;
    const char *args[] = {"--auth", "optional", "--auth_realm", "test-realm", "--auth_window",
                          "5000",   NULL};
    if (!start(&p, args))
        return;
    uint8_t seed[32], seed2[32];
    memset(seed, 7, sizeof seed);
    memset(seed2, 9, sizeof seed2);
    char id[80], token[200], id2[80], token2[200];
    bk_ws a, b, c, d;

    /* Plain IDs still work in optional mode. */
    EK_CHECK(peer(&a, p.port, "plain", "t"));

    make_auth(id, token, seed, wall_ms(), "nonce-0123456789ab", "test-realm");
    EK_CHECK(peer(&b, p.port, id, token));
    /* Replaying the token: refused, even for the holder's takeover. */
    EK_CHECK(bk_ws_open_peer(&c, p.port, "peerjs", id, token) == 101);
    EK_CHECK(bk_ws_expect(&c, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Token already used\"}}"));
    bk_ws_free(&c);
    /* A fresh token by the same key takes the ID over (the owner reconnecting). */
    make_auth(id, token, seed, wall_ms(), "nonce-second-nonce", "test-realm");
    EK_CHECK(peer(&c, p.port, id, token));
    EK_CHECK(bk_ws_expect_close(&b, T_MS));
    bk_ws_free(&b);
    /* Relays reach the new holder. */
    char offer[200];
    snprintf(offer, sizeof offer, "{\"type\":\"OFFER\",\"dst\":\"%s\"}", id);
    bk_ws_send_text(&a, offer);
    char want[300];
    snprintf(want, sizeof want, "{\"type\":\"OFFER\",\"src\":\"plain\",\"dst\":\"%s\"}", id);
    EK_CHECK(bk_ws_expect(&c, T_MS, want));

    /* Another key's signature for this ID: refused. */
    make_auth(id2, token2, seed2, wall_ms(), "nonce-other-key-00", "test-realm");
    EK_CHECK(bk_ws_open_peer(&d, p.port, "peerjs", id, token2) == 101);
    EK_CHECK(bk_ws_expect(&d, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid token provided\"}}"));
    bk_ws_free(&d);
    /* Wrong realm, stale time, garbage: refused. */
    make_auth(id2, token2, seed2, wall_ms(), "nonce-wrong-realm0", "other-realm");
    EK_CHECK(bk_ws_open_peer(&d, p.port, "peerjs", id2, token2) == 101);
    EK_CHECK(bk_ws_expect(&d, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid token provided\"}}"));
    bk_ws_free(&d);
    make_auth(id2, token2, seed2, wall_ms() - 60000, "nonce-stale-time00", "test-realm");
    EK_CHECK(bk_ws_open_peer(&d, p.port, "peerjs", id2, token2) == 101);
    EK_CHECK(bk_ws_expect(&d, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Token expired "
                          "or clock skew too large\"}}"));
    bk_ws_free(&d);
    EK_CHECK(bk_ws_open_peer(&d, p.port, "peerjs", id2, "just-a-peerjs-token") == 101);
    EK_CHECK(bk_ws_expect(&d, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid token provided\"}}"));
    bk_ws_free(&d);
    /* A tampered signature character. */
    make_auth(id2, token2, seed2, wall_ms(), "nonce-tampered-sig", "test-realm");
    size_t tl = strlen(token2);
    token2[tl - 5] = token2[tl - 5] == 'A' ? 'B' : 'A';
    EK_CHECK(bk_ws_open_peer(&d, p.port, "peerjs", id2, token2) == 101);
    EK_CHECK(bk_ws_expect(&d, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid token provided\"}}"));
    bk_ws_free(&d);
    /* A malformed ek- ID. */
    EK_CHECK(bk_ws_open_peer(&d, p.port, "peerjs", "ek-1234", "x.y.z") == 101);
    EK_CHECK(bk_ws_expect(&d, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"ID must be ek- "
                          "followed by the 64 hex digits of an Ed25519 public key\"}}"));
    bk_ws_free(&d);
    bk_ws_free(&a);
    bk_ws_free(&c);
    stop(&p);

    /* Required mode: plain IDs are refused; /id is not offered. */
    const char *args2[] = {"--auth", "required", NULL};
    if (!start(&p, args2))
        return;
    EK_CHECK(bk_ws_open_peer(&d, p.port, "peerjs", "plain", "t") == 101);
    EK_CHECK(bk_ws_expect(&d, T_MS,
                          "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"ID must be ek- "
                          "followed by the 64 hex digits of an Ed25519 public key\"}}"));
    bk_ws_free(&d);
    make_auth(id, token, seed, wall_ms(), "nonce-required-md0", "enkrypt-broker");
    EK_CHECK(peer(&d, p.port, id, token));
    bk_ws_free(&d);
    char *h, *body;
    EK_CHECK(bk_http(p.port, NULL, "GET", "/peerjs/id", "", &h, &body) == 404);
    free(h), free(body);
    stop(&p);
}

/* ------------------------------------------------------------------- tls */

static int write_test_cert(const char *key_path, const char *cert_path)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!pkey || !x)
        return -1;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509_sign(x, pkey, EVP_sha256());
    FILE *f = fopen(key_path, "w");
    if (!f)
        return -1;
    PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    f = fopen(cert_path, "w");
    if (!f)
        return -1;
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return 0;
}

static void test_tls(void)
{
    char dir[] = "/tmp/ek-broker-tls-XXXXXX";
    if (!mkdtemp(dir)) {
        EK_CHECK(!"mkdtemp");
        return;
    }
    char key[128], cert[128];
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    EK_CHECK(write_test_cert(key, cert) == 0);

    bk_proc p;
    const char *args[] = {"--sslkey", key, "--sslcert", cert, NULL};
    if (start(&p, args)) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_load_verify_locations(ctx, cert, NULL);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        char *h, *b;
        EK_CHECK(bk_http(p.port, ctx, "GET", "/health", "", &h, &b) == 200);
        EK_CHECK(has(b, "\"status\":\"ok\""));
        free(h), free(b);
        bk_ws a, c;
        EK_CHECK(bk_ws_connect(&a, p.port, "/peerjs?key=peerjs&id=A&token=t", ctx) == 101);
        EK_CHECK(bk_ws_expect(&a, T_MS, "{\"type\":\"OPEN\"}"));
        EK_CHECK(bk_ws_connect(&c, p.port, "/peerjs?key=peerjs&id=C&token=t", ctx) == 101);
        EK_CHECK(bk_ws_expect(&c, T_MS, "{\"type\":\"OPEN\"}"));
        bk_ws_send_text(&c, "{\"type\":\"OFFER\",\"dst\":\"A\",\"payload\":\"over tls\"}");
        EK_CHECK(bk_ws_expect(
            &a, T_MS, "{\"type\":\"OFFER\",\"src\":\"C\",\"dst\":\"A\",\"payload\":\"over tls\"}"));
        bk_ws_free(&a);
        bk_ws_free(&c);
        /* Plain HTTP on the TLS port gets nothing useful. */
        EK_CHECK(bk_http(p.port, NULL, "GET", "/health", "", &h, &b) != 200);
        free(h), free(b);
        SSL_CTX_free(ctx);
        stop(&p);
    }
    unlink(key);
    unlink(cert);
    rmdir(dir);
}

/* -------------------------------------------------------------- shutdown */

static void test_shutdown(void)
{
    bk_proc p;
    if (!start(&p, NULL))
        return;
    bk_ws a, b;
    EK_CHECK(peer(&a, p.port, "A", "ta"));
    EK_CHECK(peer(&b, p.port, "B", "tb"));
    bk_ws_send_text(&a, "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":\"last\"}");
    usleep(100000);
    int port = p.port;
    long long t0 = ms_now();
    EK_CHECK(bk_proc_stop(&p) == 0); /* SIGTERM: exit 0 */
    EK_CHECK(ms_now() - t0 < 3000);
    EK_CHECK(bk_ws_expect(&b, T_MS,
                          "{\"type\":\"OFFER\",\"src\":\"A\",\"dst\":\"B\",\"payload\":\"last\"}"));
    EK_CHECK(bk_ws_expect_close(&a, T_MS) && a.close_code == 1001);
    EK_CHECK(bk_ws_expect_close(&b, T_MS) && b.close_code == 1001);
    bk_ws_free(&a);
    bk_ws_free(&b);

    /* Restart-safe: the same port binds again at once. */
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *argv2[] = {exe, "--host", "127.0.0.1", "--port", port_s, NULL};
    (void)argv2;
    bk_proc q;
    const char *args[] = {"--port", port_s, NULL}; /* the later --port wins */
    if (start(&q, args)) {
        EK_CHECK(q.port == port);
        EK_CHECK(peer(&a, q.port, "A", "ta"));
        bk_ws_free(&a);
        stop(&q);
    }
}

/* ---------------------------------------------------------------- config */

static int run_exit_code(const char *const *args)
{
    bk_proc p;
    /* Not expected to start: run it and collect its status. */
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[32];
        int n = 0;
        argv[n++] = exe;
        for (; *args && n < 31; args++)
            argv[n++] = *args;
        argv[n] = NULL;
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    long long deadline = ms_now() + 5000;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (ms_now() > deadline) {
            p.pid = pid;
            p.out_fd = -1;
            bk_proc_stop(&p);
            return -1;
        }
        usleep(10000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_config(void)
{
    char path[] = "/tmp/ek-broker-config-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        EK_CHECK(!"mkstemp");
        return;
    }
    const char *json = "{\"key\":\"fromfile\",\"expire_timeout\":300,\"allow_discovery\":true,"
                       "\"cors\":[\"http://a.test\"]}";
    EK_CHECK(write(fd, json, strlen(json)) == (ssize_t)strlen(json));
    close(fd);

    bk_proc p;
    const char *args[] = {"--config", path, NULL};
    if (start(&p, args)) {
        bk_ws a;
        EK_CHECK(bk_ws_open_peer(&a, p.port, "fromfile", "A", "t") == 101);
        EK_CHECK(bk_ws_expect(&a, T_MS, "{\"type\":\"OPEN\"}"));
        bk_ws_free(&a);
        char *h, *b;
        EK_CHECK(bk_http(p.port, NULL, "GET", "/fromfile/peers", "", &h, &b) == 200);
        free(h), free(b);
        stop(&p);
    }
    /* A flag after --config wins. */
    const char *args2[] = {"--config", path, "--key", "fromflag", NULL};
    if (start(&p, args2)) {
        bk_ws a;
        EK_CHECK(bk_ws_open_peer(&a, p.port, "fromflag", "A", "t") == 101);
        EK_CHECK(bk_ws_expect(&a, T_MS, "{\"type\":\"OPEN\"}"));
        bk_ws_free(&a);
        stop(&p);
    }
    unlink(path);

    const char *bad1[] = {"--sslkey", "/nonexistent", NULL};
    EK_CHECK(run_exit_code(bad1) == 2);
    const char *bad2[] = {"--expire_timeout", "-5", NULL};
    EK_CHECK(run_exit_code(bad2) == 2);
    const char *bad3[] = {"--config", "/nonexistent.json", NULL};
    EK_CHECK(run_exit_code(bad3) == 2);
    const char *bad4[] = {"--no_such_flag", NULL};
    EK_CHECK(run_exit_code(bad4) == 2);
    const char *help[] = {"--help", NULL};
    EK_CHECK(run_exit_code(help) == 0);
}

static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {
    {"http", test_http},
    {"handshake", test_handshake},
    {"relay", test_relay},
    {"queue", test_queue},
    {"heartbeat", test_heartbeat},
    {"limits", test_limits},
    {"slow-consumer", test_slow_consumer},
    {"auth", test_auth},
    {"tls", test_tls},
    {"shutdown", test_shutdown},
    {"config", test_config},
};

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <case> <enkrypt-broker>\n", argv[0]);
        return 2;
    }
    exe = argv[2];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!strcmp(cases[i].name, argv[1])) {
            cases[i].fn();
            char name[64];
            snprintf(name, sizeof name, "broker.protocol.%s", argv[1]);
            return ek_test_finish(name);
        }
    fprintf(stderr, "no case '%s'\n", argv[1]);
    return 2;
}
