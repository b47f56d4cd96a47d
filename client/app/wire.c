/*
 * wire.c: the application envelopes the program sends through its
 * sessions, built with libenkrypt's strict PDU codec (docs/protocol.md §6:
 * text, typing, read-receipt), and the delivery receipt.
 *
 * Delivery receipts: profile 1.0 has no envelope that says "I stored your
 * message" (read-receipt says "the user read it", and is only sent when
 * the user allows it). Until the profile gets one, a delivery receipt
 * travels as a file chunk (docs/protocol.md §6.4, a binary inner envelope,
 * sealed by the whole cascade like any message) on the reserved transfer
 * id "enkrypt-receipts": data = 'D' || n message ids (16 bytes each). No
 * file-offer ever names that transfer, so a peer that does not know the
 * convention drops the chunk as one of an unknown transfer. The same
 * transfer carries the low-water mark 'L' || 48-bit sequence number: "I
 * hold nothing older than this for you" (peer.c, "Order").
 *
 * Message ids (the envelope's 16-byte id): "ek" || the sender's 48-bit
 * sequence number for this peer, big-endian || 8 random bytes. Unique per
 * conversation, and they let the receiver put messages back in order.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "core_internal.h"

const uint8_t app_receipt_transfer[16] = {'e', 'n', 'k', 'r', 'y', 'p', 't', '-',
                                          'r', 'e', 'c', 'e', 'i', 'p', 't', 's'};

void app_hex(char *out, const uint8_t *in, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = 0;
}

gboolean app_unhex(uint8_t *out, size_t n, const char *hex)
{
    if (hex == NULL || strlen(hex) != 2 * n)
        return FALSE;
    for (size_t i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]);
        int lo = g_ascii_xdigit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return FALSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return TRUE;
}

int app_msg_id_make(uint8_t id[APP_MSG_ID_LEN], uint64_t seq)
{
    if (seq >= APP_SEQ_MAX || ek_random(NULL, id + 8, 8) != EK_OK)
        return 0;
    id[0] = 'e';
    id[1] = 'k';
    for (int i = 0; i < 6; i++)
        id[2 + i] = (uint8_t)(seq >> (8 * (5 - i)));
    return 1;
}

int app_msg_id_seq(const uint8_t id[APP_MSG_ID_LEN], uint64_t *seq)
{
    if (id[0] != 'e' || id[1] != 'k')
        return 0;
    uint64_t s = 0;
    for (int i = 0; i < 6; i++)
        s = s << 8 | id[2 + i];
    *seq = s;
    return 1;
}

/* Finish a builder into a new GByteArray. */
static gboolean finish(ek_pdu_builder *b, int rc, GByteArray **out)
{
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    if (rc == EK_OK)
        rc = ek_pdu_build_finish(b, &w);
    ek_pdu_build_free(b);
    if (rc == EK_OK && w.err == EK_OK) {
        *out = g_byte_array_sized_new((guint)w.len);
        g_byte_array_append(*out, w.buf, (guint)w.len);
    }
    ek_writer_dispose(&w);
    return rc == EK_OK && *out != NULL;
}

gboolean app_wire_text(GByteArray **out, const uint8_t id[APP_MSG_ID_LEN], int64_t ts_ms,
                       const char *body, size_t body_len)
{
    *out = NULL;
    ek_pdu_builder *b = NULL;
    int rc = ek_pdu_build_begin(&b, "text");
    if (rc == EK_OK)
        rc = ek_pdu_add_bytes(b, "id", id, APP_MSG_ID_LEN);
    if (rc == EK_OK)
        rc = ek_pdu_add_int(b, "timestamp", ts_ms);
    if (rc == EK_OK)
        rc = ek_pdu_add_string(b, "body", body, body_len);
    return finish(b, rc, out);
}

gboolean app_wire_typing(GByteArray **out, int64_t ts_ms, int typing)
{
    *out = NULL;
    ek_pdu_builder *b = NULL;
    int rc = ek_pdu_build_begin(&b, "typing");
    const char *st = typing ? "start" : "stop";
    if (rc == EK_OK)
        rc = ek_pdu_add_int(b, "timestamp", ts_ms);
    if (rc == EK_OK)
        rc = ek_pdu_add_string(b, "state", st, strlen(st));
    return finish(b, rc, out);
}

gboolean app_wire_read_receipt(GByteArray **out, int64_t ts_ms, const uint8_t *ids, size_t n)
{
    *out = NULL;
    ek_pdu_builder *b = NULL;
    int rc = ek_pdu_build_begin(&b, "read-receipt");
    if (rc == EK_OK)
        rc = ek_pdu_add_int(b, "timestamp", ts_ms);
    for (size_t i = 0; i < n && rc == EK_OK; i++)
        rc = ek_pdu_add_array_bytes(b, "targets", ids + i * APP_MSG_ID_LEN, APP_MSG_ID_LEN);
    return finish(b, rc, out);
}
