/*
 * peerjs_msg.h: the PeerJS signaling messages (peerjs-protocol.md §3-§6),
 * parsed from and built into JSON text with jansson. Pure functions, no
 * I/O, so the parser is unit-tested and fuzzed alone. Every field from the
 * network is checked for type and size before use; a message that fails a
 * check is refused whole.
 */
#ifndef EK_NET_PEERJS_MSG_H
#define EK_NET_PEERJS_MSG_H

#include <stddef.h>

#include <jansson.h>

#include "ek_net.h"

/* Bounds on what we accept from the broker. Real SDP offers run to a few
 * KB, about 20 KB at most (peerjs-protocol.md §7). */
#define EK_PJ_MAX_FRAME         262144u /* 256 KiB */
#define EK_PJ_MAX_ID            256u
#define EK_PJ_MAX_CONNECTION_ID 128u
#define EK_PJ_MAX_SDP           131072u /* 128 KiB */
#define EK_PJ_MAX_CANDIDATE     2048u
#define EK_PJ_MAX_LABEL         1024u
#define EK_PJ_MAX_ERROR_TEXT    512u

/* Our capability marker in OFFER and ANSWER payloads. Browsers' PeerJS
 * ignores unknown payload fields and brokers relay payloads untouched; a
 * peer that sends it answers the liveness ping (liveness.c). */
#define EK_PJ_CAPS_FIELD "enkrypt"

typedef enum ek_pj_type {
    EK_PJ_UNKNOWN = 0,
    EK_PJ_OPEN,
    EK_PJ_ERROR,
    EK_PJ_ID_TAKEN,
    EK_PJ_INVALID_KEY,
    EK_PJ_OFFER,
    EK_PJ_ANSWER,
    EK_PJ_CANDIDATE,
    EK_PJ_LEAVE,
    EK_PJ_EXPIRE,
    EK_PJ_HEARTBEAT,
} ek_pj_type;

/* A parsed server->client message. Strings point into root, which the
 * caller releases with ek_pj_msg_clear. */
typedef struct ek_pj_msg {
    json_t *root;
    ek_pj_type type;
    const char *src; /* may be NULL (OPEN, ERROR...) */
    const char *dst;
    const char *error_text; /* ERROR / ID-TAKEN payload.msg, or NULL */

    /* OFFER / ANSWER / CANDIDATE payload */
    const char *connection_id;
    const char *conn_type; /* "data" or "media" */
    const char *sdp_type;  /* "offer" / "answer" */
    const char *sdp;
    const char *label;
    const char *serialization; /* OFFER: the PeerJS serialization name */
    int reliable;
    const json_t *metadata; /* borrowed, may be NULL */
    int has_caps;           /* the enkrypt capability marker is present */
    const char *candidate;
    int mline_index; /* -1 if absent */
    const char *sdp_mid;
} ek_pj_msg;

/* Parse one WebSocket text frame. 0, EK_ERR_DECODE (not JSON, not an
 * object, a field of the wrong type or size) or EK_ERR_TOO_LARGE. An
 * unknown type parses fine as EK_PJ_UNKNOWN. */
int ek_pj_parse(ek_pj_msg *out, const char *text, size_t len);
void ek_pj_msg_clear(ek_pj_msg *m);

/* Build client->server frames: {"type":T,"payload":P,"dst":D} (no src; the
 * server sets it). The payload reference is stolen. Free with free(). */
char *ek_pj_frame(const char *type, const char *dst, json_t *payload);

/* Payloads in PeerJS's exact shapes (§6.3). metadata is stolen (NULL = null). */
json_t *ek_pj_offer_payload(const char *sdp, const char *connection_id, const char *label,
                            int reliable, const char *serialization, json_t *metadata);
json_t *ek_pj_answer_payload(const char *sdp, const char *connection_id);
json_t *ek_pj_candidate_payload(const char *candidate, unsigned mline_index,
                                const char *connection_id);

#endif /* EK_NET_PEERJS_MSG_H */
