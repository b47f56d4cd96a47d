/*
 * test_peerjs_msg.c: parsing and building PeerJS signaling messages
 * (client/net/peerjs_msg.c) with the exact shapes of peerjs-protocol.md
 * §5 and §6.3 (what peer@1.0.2 and peerjs@1.5.5 put on the wire), and the
 * refusals: wrong types, oversized fields, missing fields, garbage.
 */
#include <stdlib.h>
#include <string.h>

#include "ek_test.h"
#include "peerjs_msg.h"

static int parse(ek_pj_msg *m, const char *text)
{
    return ek_pj_parse(m, text, strlen(text));
}

static void test_server_messages(void)
{
    ek_pj_msg m;
    EK_CHECK_OK(parse(&m, "{\"type\":\"OPEN\"}"));
    EK_CHECK(m.type == EK_PJ_OPEN && m.src == NULL);
    ek_pj_msg_clear(&m);

    EK_CHECK_OK(parse(&m, "{\"type\":\"ID-TAKEN\",\"payload\":{\"msg\":\"ID is taken\"}}"));
    EK_CHECK(m.type == EK_PJ_ID_TAKEN && strcmp(m.error_text, "ID is taken") == 0);
    ek_pj_msg_clear(&m);

    EK_CHECK_OK(parse(&m, "{\"type\":\"ERROR\",\"payload\":{\"msg\":\"Invalid key provided\"}}"));
    EK_CHECK(m.type == EK_PJ_ERROR && strcmp(m.error_text, "Invalid key provided") == 0);
    ek_pj_msg_clear(&m);

    EK_CHECK_OK(parse(&m, "{\"type\":\"EXPIRE\",\"src\":\"gone\",\"dst\":\"me\"}"));
    EK_CHECK(m.type == EK_PJ_EXPIRE && strcmp(m.src, "gone") == 0 && strcmp(m.dst, "me") == 0);
    ek_pj_msg_clear(&m);

    EK_CHECK_OK(parse(&m, "{\"type\":\"LEAVE\",\"src\":\"A\",\"dst\":\"B\"}"));
    EK_CHECK(m.type == EK_PJ_LEAVE);
    ek_pj_msg_clear(&m);

    EK_CHECK_OK(parse(&m, "{\"type\":\"FOO\"}"));
    EK_CHECK(m.type == EK_PJ_UNKNOWN);
    ek_pj_msg_clear(&m);
}

static void test_browser_offer(void)
{
    /* A browser's DataConnection OFFER as relayed by the server (§4, §6.3),
     * with the pre-1.5 `browser` field that must be ignored. */
    const char *offer =
        "{\"type\":\"OFFER\",\"src\":\"alice\",\"dst\":\"cpeer\",\"payload\":{"
        "\"sdp\":{\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\",\"type\":\"offer\"},"
        "\"type\":\"data\",\"connectionId\":\"dc_abc123\",\"label\":\"dc_abc123\","
        "\"reliable\":false,\"serialization\":\"binary\",\"metadata\":{\"x\":[1,2]},"
        "\"browser\":\"chrome\"}}";
    ek_pj_msg m;
    EK_CHECK_OK(parse(&m, offer));
    EK_CHECK(m.type == EK_PJ_OFFER);
    EK_CHECK(strcmp(m.src, "alice") == 0);
    EK_CHECK(strcmp(m.connection_id, "dc_abc123") == 0);
    EK_CHECK(strcmp(m.conn_type, "data") == 0);
    EK_CHECK(strcmp(m.sdp_type, "offer") == 0 && strncmp(m.sdp, "v=0\r\n", 5) == 0);
    EK_CHECK(strcmp(m.label, "dc_abc123") == 0);
    EK_CHECK(m.reliable == 0);
    EK_CHECK(strcmp(m.serialization, "binary") == 0);
    EK_CHECK(json_is_object(m.metadata));
    EK_CHECK(!m.has_caps);
    ek_pj_msg_clear(&m);

    /* A browser CANDIDATE (§6.3) */
    const char *cand =
        "{\"type\":\"CANDIDATE\",\"src\":\"alice\",\"dst\":\"cpeer\",\"payload\":{\"candidate\":{"
        "\"candidate\":\"candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host\","
        "\"sdpMid\":\"0\",\"sdpMLineIndex\":0,\"usernameFragment\":\"abcd\"},"
        "\"type\":\"data\",\"connectionId\":\"dc_abc123\"}}";
    EK_CHECK_OK(parse(&m, cand));
    EK_CHECK(m.type == EK_PJ_CANDIDATE && m.mline_index == 0 && strcmp(m.sdp_mid, "0") == 0);
    EK_CHECK(strstr(m.candidate, "typ host") != NULL);
    ek_pj_msg_clear(&m);
}

static void test_refusals(void)
{
    ek_pj_msg m;
    const char *bad[] = {
        "",
        "not json",
        "[]",
        "{\"type\":5}",
        "{\"payload\":{}}",
        "{\"type\":\"OPEN\",\"src\":7}",
        /* OFFER without connectionId / with a non-object sdp / wrong sdp type */
        "{\"type\":\"OFFER\",\"src\":\"a\",\"payload\":{\"sdp\":{\"type\":\"offer\",\"sdp\":\"v="
        "0\"}}}",
        "{\"type\":\"OFFER\",\"src\":\"a\",\"payload\":{\"sdp\":\"v=0\",\"connectionId\":\"dc_1\"}"
        "}",
        "{\"type\":\"OFFER\",\"src\":\"a\",\"payload\":{\"sdp\":{\"type\":\"answer\",\"sdp\":\"v\"}"
        ","
        "\"connectionId\":\"dc_1\"}}",
        /* CANDIDATE with a negative or huge index, or no candidate string */
        "{\"type\":\"CANDIDATE\",\"src\":\"a\",\"payload\":{\"candidate\":{\"candidate\":\"c\","
        "\"sdpMLineIndex\":-1},\"connectionId\":\"dc_1\"}}",
        "{\"type\":\"CANDIDATE\",\"src\":\"a\",\"payload\":{\"candidate\":{\"candidate\":\"c\","
        "\"sdpMLineIndex\":70000},\"connectionId\":\"dc_1\"}}",
        "{\"type\":\"CANDIDATE\",\"src\":\"a\",\"payload\":{\"candidate\":{},\"connectionId\":"
        "\"x\"}}",
        /* duplicate keys are refused rather than guessed at */
        "{\"type\":\"OPEN\",\"type\":\"ERROR\"}",
        /* an embedded NUL in a string */
        "{\"type\":\"LEAVE\",\"src\":\"a\\u0000b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(&m, bad[i]);
        if (rc == EK_OK)
            ek_test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
        EK_CHECK(m.root == NULL);
    }
    /* an oversized src */
    char *big = malloc(EK_PJ_MAX_ID + 64);
    int n = snprintf(big, EK_PJ_MAX_ID + 64, "{\"type\":\"LEAVE\",\"src\":\"");
    memset(big + n, 'a', EK_PJ_MAX_ID + 1);
    memcpy(big + n + EK_PJ_MAX_ID + 1, "\"}", 3);
    EK_CHECK(parse(&m, big) == EK_ERR_TOO_LARGE);
    free(big);
}

static void test_building(void)
{
    /* OFFER payload keys of PeerJS plus our capability marker (§6.3) */
    json_t *p = ek_pj_offer_payload("v=0\r\n", "dc_x", "lbl", 1, "raw", NULL);
    char *frame = ek_pj_frame("OFFER", "bob", p);
    EK_CHECK(frame != NULL);
    json_error_t jerr;
    json_t *o = json_loads(frame, 0, &jerr);
    EK_CHECK(o != NULL);
    EK_CHECK(strcmp(json_string_value(json_object_get(o, "type")), "OFFER") == 0);
    EK_CHECK(strcmp(json_string_value(json_object_get(o, "dst")), "bob") == 0);
    EK_CHECK(json_object_get(o, "src") == NULL); /* the server sets src */
    json_t *pl = json_object_get(o, "payload");
    EK_CHECK(strcmp(json_string_value(json_object_get(json_object_get(pl, "sdp"), "type")),
                    "offer") == 0);
    EK_CHECK(strcmp(json_string_value(json_object_get(pl, "type")), "data") == 0);
    EK_CHECK(strcmp(json_string_value(json_object_get(pl, "connectionId")), "dc_x") == 0);
    EK_CHECK(strcmp(json_string_value(json_object_get(pl, "label")), "lbl") == 0);
    EK_CHECK(json_is_true(json_object_get(pl, "reliable")));
    EK_CHECK(strcmp(json_string_value(json_object_get(pl, "serialization")), "raw") == 0);
    EK_CHECK(json_is_null(json_object_get(pl, "metadata")));
    EK_CHECK(json_is_object(json_object_get(pl, EK_PJ_CAPS_FIELD)));
    json_decref(o);

    /* and it parses back as an OFFER with the marker */
    char *relayed = NULL;
    {
        json_t *r = json_loads(frame, 0, &jerr);
        json_object_set_new(r, "src", json_string("alice"));
        relayed = json_dumps(r, JSON_COMPACT);
        json_decref(r);
    }
    ek_pj_msg m;
    EK_CHECK_OK(parse(&m, relayed));
    EK_CHECK(m.type == EK_PJ_OFFER && m.has_caps && m.reliable == 1);
    ek_pj_msg_clear(&m);
    free(relayed);
    free(frame);

    p = ek_pj_candidate_payload("candidate:1 1 UDP 1 127.0.0.1 4000 typ host", 0, "dc_x");
    frame = ek_pj_frame("CANDIDATE", "bob", p);
    o = json_loads(frame, 0, &jerr);
    json_t *c = json_object_get(json_object_get(o, "payload"), "candidate");
    EK_CHECK(json_integer_value(json_object_get(c, "sdpMLineIndex")) == 0);
    EK_CHECK(json_is_string(json_object_get(c, "candidate")));
    json_decref(o);
    free(frame);

    frame = ek_pj_frame("HEARTBEAT", NULL, NULL);
    EK_CHECK(strcmp(frame, "{\"type\":\"HEARTBEAT\"}") == 0);
    free(frame);
}

int main(void)
{
    test_server_messages();
    test_browser_offer();
    test_refusals();
    test_building();
    return ek_test_finish("net.peerjs_msg");
}
