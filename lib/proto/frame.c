/*
 * frame.c: the binary frames (docs/protocol.md §3.3):
 *
 *   message  0xE1 || varint(seq) || sealed cascade bytes
 *   chunk    0xE2 || varint(msg_id) || u16 index || u16 count || data ||
 *            tag[16]
 *
 * varint is QUIC's (RFC 9000 §16); msg_id is the seq of the message frame
 * the chunks carry, which the reassembled frame must repeat. A frame of len
 * bytes cut for frames of F bytes gives ceil(len / (F - header - 16))
 * chunks, all full but the last. The tag is HMAC-SHA256 truncated to 16
 * bytes, keyed with the direction's chunk key, over everything before it:
 * the reassembled frame is authenticated by the cascade anyway, the tag
 * only keeps forged or altered chunks out of a reassembly so they cannot
 * spoil a genuine message.
 */
#include <enkrypt/ek_crypto.h>

#include "cascade/cascade_internal.h"
#include "proto/session_internal.h"

int frame_message_header(ek_writer *w, uint64_t seq)
{
    ek_write_u8(w, FRAME_MESSAGE);
    return ek_varint_write(w, seq);
}

int frame_parse_message(const uint8_t *f, size_t len, uint64_t *seq, size_t *hdr_len)
{
    ek_reader r;
    ek_reader_init(&r, f, len);
    uint8_t kind = 0;
    ek_read_u8(&r, &kind);
    ek_varint_read(&r, seq);
    if (r.err != EK_OK || kind != FRAME_MESSAGE)
        return EK_ERR_DECODE;
    *hdr_len = r.pos;
    return EK_OK;
}

size_t frame_chunk_header_len(uint64_t msg_id)
{
    return 1 + ek_varint_len(msg_id) + 4;
}

int frame_chunk_header(ek_writer *w, uint64_t msg_id, uint16_t index, uint16_t count)
{
    ek_write_u8(w, FRAME_CHUNK);
    ek_varint_write(w, msg_id);
    ek_write_u16(w, index);
    return ek_write_u16(w, count);
}

int frame_parse_chunk(const uint8_t *f, size_t len, chunk_hdr *h)
{
    ek_reader r;
    ek_reader_init(&r, f, len);
    uint8_t kind = 0;
    ek_read_u8(&r, &kind);
    ek_varint_read(&r, &h->msg_id);
    ek_read_u16(&r, &h->index);
    ek_read_u16(&r, &h->count);
    if (r.err != EK_OK || kind != FRAME_CHUNK)
        return EK_ERR_DECODE;
    if (h->count < 2 || h->count > EK_MAX_CHUNKS_PER_MESSAGE || h->index >= h->count ||
        ek_reader_remaining(&r) <= FRAME_CHUNK_TAG_LEN)
        return EK_ERR_DECODE;
    h->hdr_len = r.pos;
    h->data_len = len - r.pos - FRAME_CHUNK_TAG_LEN;
    return EK_OK;
}

int frame_chunk_verify(const uint8_t *f, size_t len, const uint8_t key[32])
{
    if (len < FRAME_CHUNK_TAG_LEN)
        return EK_ERR_AUTH;
    size_t body = len - FRAME_CHUNK_TAG_LEN;
    return ek_hmac_sha256_verify(f + body, FRAME_CHUNK_TAG_LEN, key, 32, f, body);
}

int frame_chunk_count(size_t len, uint64_t msg_id, uint32_t frame_bytes, size_t *count)
{
    size_t over = frame_chunk_header_len(msg_id) + FRAME_CHUNK_TAG_LEN;
    if (frame_bytes <= over)
        return EK_ERR_INVALID_ARG;
    size_t piece = frame_bytes - over;
    size_t n = (len + piece - 1) / piece;
    if (n < 2 || n > EK_MAX_CHUNKS_PER_MESSAGE)
        return EK_ERR_TOO_LARGE;
    *count = n;
    return EK_OK;
}

int frame_chunk_write(ek_writer *w, const uint8_t *f, size_t len, uint64_t msg_id,
                      uint32_t frame_bytes, size_t index, const uint8_t key[32])
{
    size_t count = 0;
    int rc = frame_chunk_count(len, msg_id, frame_bytes, &count);
    if (rc != EK_OK)
        return rc;
    if (index >= count)
        return EK_ERR_INVALID_ARG;
    size_t piece = frame_bytes - frame_chunk_header_len(msg_id) - FRAME_CHUNK_TAG_LEN;
    size_t off = index * piece;
    size_t n = len - off < piece ? len - off : piece;
    size_t start = w->len;
    frame_chunk_header(w, msg_id, (uint16_t)index, (uint16_t)count);
    ek_write_bytes(w, f + off, n);
    if (w->err != EK_OK)
        return w->err;
    uint8_t tag[EK_HMAC_SHA256_LEN];
    ek_hmac_sha256(tag, key, 32, w->buf + start, w->len - start);
    rc = ek_write_bytes(w, tag, FRAME_CHUNK_TAG_LEN);
    ek_wipe(tag, sizeof(tag));
    return rc;
}
