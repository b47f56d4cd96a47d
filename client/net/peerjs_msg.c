/*
 * peerjs_msg.c: parse and build PeerJS signaling messages
 * (peerjs-protocol.md §3.1, §4, §5, §6.3). The broker relays
 * {type, src, dst, payload}; payload fields are looked up by name because
 * browsers differ in key order. Clients before 1.5 also sent
 * payload.browser, which is ignored like any unknown field.
 */
#include <string.h>

#include <enkrypt/ek_base.h>

#include "peerjs_msg.h"

static const struct {
    const char *name;
    ek_pj_type type;
} type_names[] = {
    {"OPEN", EK_PJ_OPEN},           {"ERROR", EK_PJ_ERROR},
    {"ID-TAKEN", EK_PJ_ID_TAKEN},   {"INVALID-KEY", EK_PJ_INVALID_KEY},
    {"OFFER", EK_PJ_OFFER},         {"ANSWER", EK_PJ_ANSWER},
    {"CANDIDATE", EK_PJ_CANDIDATE}, {"LEAVE", EK_PJ_LEAVE},
    {"EXPIRE", EK_PJ_EXPIRE},       {"HEARTBEAT", EK_PJ_HEARTBEAT},
};

void ek_pj_msg_clear(ek_pj_msg *m)
{
    if (m->root != NULL)
        json_decref(m->root);
    memset(m, 0, sizeof *m);
    m->mline_index = -1;
}

/* A string field of at most max bytes with no NUL inside; absent is fine
 * (NULL), any other type or size is an error. */
static int get_str(const json_t *obj, const char *key, size_t max, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return EK_OK;
    if (!json_is_string(v))
        return EK_ERR_DECODE;
    size_t n = json_string_length(v);
    if (n > max)
        return EK_ERR_TOO_LARGE;
    if (strlen(json_string_value(v)) != n)
        return EK_ERR_DECODE; /* an embedded NUL */
    *out = json_string_value(v);
    return EK_OK;
}

static int parse_payload(ek_pj_msg *m, const json_t *payload)
{
    int rc = EK_OK;
    if (m->type == EK_PJ_ERROR || m->type == EK_PJ_ID_TAKEN || m->type == EK_PJ_INVALID_KEY) {
        if (json_is_object(payload))
            rc = get_str(payload, "msg", EK_PJ_MAX_ERROR_TEXT, &m->error_text);
        /* A too-long error text is not a reason to miss the error itself. */
        return rc == EK_ERR_TOO_LARGE ? EK_OK : rc;
    }
    if (m->type != EK_PJ_OFFER && m->type != EK_PJ_ANSWER && m->type != EK_PJ_CANDIDATE)
        return EK_OK;
    if (!json_is_object(payload))
        return EK_ERR_DECODE;

    if ((rc = get_str(payload, "connectionId", EK_PJ_MAX_CONNECTION_ID, &m->connection_id)) ||
        (rc = get_str(payload, "type", 16, &m->conn_type)))
        return rc;
    if (m->connection_id == NULL || m->connection_id[0] == 0)
        return EK_ERR_DECODE;

    if (m->type == EK_PJ_CANDIDATE) {
        const json_t *cand = json_object_get(payload, "candidate");
        if (!json_is_object(cand))
            return EK_ERR_DECODE;
        if ((rc = get_str(cand, "candidate", EK_PJ_MAX_CANDIDATE, &m->candidate)) ||
            (rc = get_str(cand, "sdpMid", 64, &m->sdp_mid)))
            return rc;
        const json_t *idx = json_object_get(cand, "sdpMLineIndex");
        if (idx != NULL && !json_is_null(idx)) {
            if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
                json_integer_value(idx) > 65535)
                return EK_ERR_DECODE;
            m->mline_index = (int)json_integer_value(idx);
        }
        if (m->candidate == NULL)
            return EK_ERR_DECODE;
        return EK_OK;
    }

    /* OFFER / ANSWER: payload.sdp is {type, sdp}. */
    const json_t *sdp = json_object_get(payload, "sdp");
    if (!json_is_object(sdp))
        return EK_ERR_DECODE;
    if ((rc = get_str(sdp, "type", 16, &m->sdp_type)) ||
        (rc = get_str(sdp, "sdp", EK_PJ_MAX_SDP, &m->sdp)))
        return rc;
    if (m->sdp == NULL || m->sdp_type == NULL)
        return EK_ERR_DECODE;
    if (strcmp(m->sdp_type, m->type == EK_PJ_OFFER ? "offer" : "answer") != 0)
        return EK_ERR_DECODE;
    m->has_caps = json_is_object(json_object_get(payload, EK_PJ_CAPS_FIELD));
    if (m->type == EK_PJ_ANSWER)
        return EK_OK;

    if ((rc = get_str(payload, "label", EK_PJ_MAX_LABEL, &m->label)) ||
        (rc = get_str(payload, "serialization", 32, &m->serialization)))
        return rc;
    const json_t *rel = json_object_get(payload, "reliable");
    /* PeerJS sends a boolean; its default is false (§6.3). */
    m->reliable = rel != NULL && json_is_true(rel);
    m->metadata = json_object_get(payload, "metadata");
    return EK_OK;
}

int ek_pj_parse(ek_pj_msg *out, const char *text, size_t len)
{
    memset(out, 0, sizeof *out);
    out->mline_index = -1;
    if (len > EK_PJ_MAX_FRAME)
        return EK_ERR_TOO_LARGE;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return EK_ERR_DECODE;
    out->root = root;
    if (!json_is_object(root)) {
        ek_pj_msg_clear(out);
        return EK_ERR_DECODE;
    }
    const char *type = NULL;
    int rc = get_str(root, "type", 32, &type);
    if (rc == EK_OK)
        rc = get_str(root, "src", EK_PJ_MAX_ID, &out->src);
    if (rc == EK_OK)
        rc = get_str(root, "dst", EK_PJ_MAX_ID, &out->dst);
    if (rc != EK_OK || type == NULL) {
        ek_pj_msg_clear(out);
        return rc != EK_OK ? rc : EK_ERR_DECODE;
    }
    out->type = EK_PJ_UNKNOWN;
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcmp(type, type_names[i].name) == 0)
            out->type = type_names[i].type;
    }
    rc = parse_payload(out, json_object_get(root, "payload"));
    if (rc != EK_OK) {
        ek_pj_msg_clear(out);
        return rc;
    }
    return EK_OK;
}

char *ek_pj_frame(const char *type, const char *dst, json_t *payload)
{
    json_t *o = json_object();
    if (o == NULL) {
        json_decref(payload);
        return NULL;
    }
    json_object_set_new(o, "type", json_string(type));
    if (payload != NULL)
        json_object_set_new(o, "payload", payload);
    if (dst != NULL)
        json_object_set_new(o, "dst", json_string(dst));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static json_t *sdp_object(const char *type, const char *sdp)
{
    return json_pack("{s:s, s:s}", "type", type, "sdp", sdp);
}

static json_t *caps_object(void)
{
    /* v: this marker's version; ping: we answer and send liveness pings. */
    return json_pack("{s:i, s:b}", "v", 1, "ping", 1);
}

json_t *ek_pj_offer_payload(const char *sdp, const char *connection_id, const char *label,
                            int reliable, const char *serialization, json_t *metadata)
{
    /* The keys of PeerJS's own offer, plus our capability marker. */
    return json_pack("{s:o, s:s, s:s, s:o, s:s, s:b, s:s, s:o}", "sdp", sdp_object("offer", sdp),
                     "type", "data", "connectionId", connection_id, "metadata",
                     metadata != NULL ? metadata : json_null(), "label", label, "reliable",
                     reliable, "serialization", serialization, EK_PJ_CAPS_FIELD, caps_object());
}

json_t *ek_pj_answer_payload(const char *sdp, const char *connection_id)
{
    return json_pack("{s:o, s:s, s:s, s:o}", "sdp", sdp_object("answer", sdp), "type", "data",
                     "connectionId", connection_id, EK_PJ_CAPS_FIELD, caps_object());
}

json_t *ek_pj_candidate_payload(const char *candidate, unsigned mline_index,
                                const char *connection_id)
{
    /* Chromium needs {candidate, sdpMLineIndex}; sdpMid is optional
     * (webrtc-transport.md §5). */
    return json_pack("{s:{s:s, s:i}, s:s, s:s}", "candidate", "candidate", candidate,
                     "sdpMLineIndex", (int)mline_index, "type", "data", "connectionId",
                     connection_id);
}
