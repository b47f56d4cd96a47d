/*
 * relay.c: what the broker does with one message from a registered client.
 *
 * The frame is validated and scanned once (jscan.c). HEARTBEAT refreshes
 * liveness; OFFER, ANSWER, CANDIDATE, LEAVE and EXPIRE are rebuilt as
 * exactly {"type","src","dst","payload"} with src set to the sender's own ID
 * (so nobody can forge it) and the payload's bytes copied unchanged; any
 * other type is ignored, as by the reference. A message for an ID that is not
 * connected is queued (OFFER, ANSWER, CANDIDATE) or dropped (LEAVE, EXPIRE).
 */
#include "broker.h"

#include <stdlib.h>
#include <string.h>

#include "jscan.h"

bk_msg *bk_msg_new(size_t len)
{
    bk_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (m) {
        m->next = NULL;
        m->len = len;
    }
    return m;
}

bk_msg *bk_relay_build(const char *type, const char *src, size_t src_len, const char *dst,
                       size_t dst_len, const unsigned char *payload, size_t payload_len)
{
    static const char k_type[] = "{\"type\":", k_src[] = ",\"src\":", k_dst[] = ",\"dst\":",
                      k_payload[] = ",\"payload\":";
    size_t type_len = strlen(type);
    size_t len = (sizeof k_type - 1) + bk_json_escaped_len(type, type_len) + (sizeof k_src - 1) +
                 bk_json_escaped_len(src, src_len) + (sizeof k_dst - 1) +
                 bk_json_escaped_len(dst, dst_len) + 1;
    if (payload)
        len += (sizeof k_payload - 1) + payload_len;

    bk_msg *m = bk_msg_new(len);
    if (!m)
        return NULL;
    char *p = (char *)BK_MSG_DATA(m);
    memcpy(p, k_type, sizeof k_type - 1);
    p += sizeof k_type - 1;
    p += bk_json_escape(p, type, type_len);
    memcpy(p, k_src, sizeof k_src - 1);
    p += sizeof k_src - 1;
    p += bk_json_escape(p, src, src_len);
    memcpy(p, k_dst, sizeof k_dst - 1);
    p += sizeof k_dst - 1;
    p += bk_json_escape(p, dst, dst_len);
    if (payload) {
        memcpy(p, k_payload, sizeof k_payload - 1);
        p += sizeof k_payload - 1;
        memcpy(p, payload, payload_len);
        p += payload_len;
    }
    *p++ = '}';
    m->len = (size_t)(p - (char *)BK_MSG_DATA(m));
    return m;
}

void bk_strike(bk_broker *b, bk_client *c, enum bk_reject why, const char *text)
{
    b->m.rejected[why]++;
    if (c->closing)
        return;
    if (++c->strikes >= b->cfg.max_strikes) {
        bk_log(BK_LOG_INFO, "disconnecting a client after %u violations (last: %s)", c->strikes,
               bk_reject_name(why));
        bk_send_error(b, c, text, LWS_CLOSE_STATUS_POLICY_VIOLATION);
    } else {
        bk_send_error(b, c, text, 0);
    }
}

static int message_type(const char *t, enum bk_mtype *out)
{
    static const char *const names[BK_T_COUNT] = {"OFFER", "ANSWER", "CANDIDATE", "LEAVE",
                                                  "EXPIRE"};
    for (int i = 0; i < BK_T_COUNT; i++)
        if (!strcmp(t, names[i])) {
            *out = (enum bk_mtype)i;
            return 0;
        }
    return -1;
}

/* Tell the sender that dst cannot be reached, the way the reference does
 * when a send to dst fails: {"type":"LEAVE","src":dst,"dst":sender}. */
static void tell_sender(bk_broker *b, bk_client *c, const char *type, const char *dst,
                        size_t dst_len)
{
    bk_msg *m = bk_relay_build(type, dst, dst_len, c->id, c->id_len, NULL, 0);
    if (m)
        bk_send_msg(b, c, m);
}

static void relay(bk_broker *b, bk_client *c, const unsigned char *buf, size_t len)
{
    int64_t now = bk_now_ms();
    if (!bk_limits_allow_message(b, c, now)) {
        bk_strike(b, c, BK_REJ_RATE_LIMITED, "Rate limit exceeded");
        return;
    }
    bk_frame f;
    if (bk_jscan_frame(&f, buf, len)) {
        bk_strike(b, c, BK_REJ_BAD_MESSAGE, "Invalid message: not a JSON object");
        return;
    }
    char type[16];
    long type_len = -1;
    if (f.type_kind == BK_J_STRING)
        type_len = bk_json_unescape(type, sizeof type - 1, f.type);
    if (type_len < 0) {
        b->m.ignored++; /* no type, or not one we know: the reference ignores it */
        return;
    }
    type[type_len] = '\0';
    if (!strcmp(type, "HEARTBEAT")) {
        b->m.heartbeats++;
        bk_registry_touch(b, c, now);
        return;
    }
    enum bk_mtype t;
    if (message_type(type, &t)) {
        b->m.ignored++;
        return;
    }
    if (f.dst_kind == BK_J_OTHER) {
        bk_strike(b, c, BK_REJ_BAD_MESSAGE, "Invalid message: dst must be a string");
        return;
    }
    char dst[BK_MAX_ID_LEN];
    long dst_len = 0;
    if (f.dst_kind == BK_J_STRING)
        dst_len = bk_json_unescape(dst, sizeof dst, f.dst);
    if (dst_len < 0) {
        b->m.ignored++; /* longer than any ID can be: nobody to deliver to */
        return;
    }
    if (dst_len == 0) {
        if (t == BK_T_LEAVE) {
            /* The reference unregisters the sender but leaves its socket
             * open; we close it too, so no socket speaks for a free ID. */
            bk_log(BK_LOG_DEBUG, "client %s: LEAVE without dst, unregistering", c->id);
            bk_registry_remove(b, c);
            bk_close_after_flush(c, LWS_CLOSE_STATUS_NORMAL);
        } else {
            b->m.ignored++;
        }
        return;
    }

    bk_client *to = bk_registry_find(b, dst, (size_t)dst_len);
    if (!to && (t == BK_T_LEAVE || t == BK_T_EXPIRE)) {
        b->m.ignored++;
        return;
    }
    bk_msg *m = bk_relay_build(type, c->id, c->id_len, dst, (size_t)dst_len,
                               f.has_payload ? f.payload.p : NULL, f.payload.len);
    if (!m)
        return;
    if (to) {
        b->m.relayed[t]++;
        b->m.relayed_bytes += m->len;
        if (bk_send_msg(b, to, m))
            tell_sender(b, c, "LEAVE", dst, (size_t)dst_len); /* to was dropped as too slow */
        return;
    }
    if (bk_queue_push(b, dst, (size_t)dst_len, c->id, c->id_len, m)) {
        /* A full queue is not the sender's fault: tell it the peer cannot be
         * reached (PeerJS shows EXPIRE as a non-fatal peer-unavailable). */
        free(m);
        b->m.rejected[BK_REJ_QUEUE_FULL]++;
        b->m.expire_sent++;
        tell_sender(b, c, "EXPIRE", dst, (size_t)dst_len);
    }
}

void bk_relay_message(bk_broker *b, bk_client *c, const unsigned char *buf, size_t len)
{
    b->direct_send = true;
    relay(b, c, buf, len);
    b->direct_send = false;
}
