/*
 * reassembly.c: chunked messages (docs/protocol.md §3.3, §7): a message
 * frame longer than the frame size travels as chunk frames, reassembled
 * here and then opened like any message frame. Bounded as the original's
 * P8.3/P8.4 ask: EK_MAX_REASSEMBLIES messages at once,
 * EK_MAX_CHUNKS_PER_MESSAGE chunks each, EK_MAX_REASSEMBLY_BYTES buffered in
 * all, and EK_CHUNK_REASSEMBLY_MS (configurable) to complete. Each chunk's
 * tag is checked first (frame.c), so a forged or altered chunk never enters
 * a reassembly; the reassembled frame is then authenticated as a whole by
 * the cascade. A chunk that repeats an index is a duplicate: the first copy
 * stays.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "proto/session_internal.h"

static void reasm_free(ek_session *s, reassembly *r)
{
    if (!r->live)
        return;
    for (uint16_t i = 0; i < r->count; i++) {
        if (r->pieces[i].data != NULL) {
            ek_wipe(r->pieces[i].data, r->pieces[i].len);
            ek_free(s->alloc, r->pieces[i].data, r->pieces[i].len);
        }
    }
    ek_free(s->alloc, r->pieces, (size_t)r->count * sizeof(chunk_piece));
    s->reasm_bytes -= r->bytes;
    memset(r, 0, sizeof(*r));
}

void reasm_free_all(ek_session *s)
{
    for (size_t i = 0; i < EK_MAX_REASSEMBLIES; i++)
        reasm_free(s, &s->reasm[i]);
}

void reasm_expire(ek_session *s, uint64_t now_ms)
{
    for (size_t i = 0; i < EK_MAX_REASSEMBLIES; i++) {
        reassembly *r = &s->reasm[i];
        if (r->live && now_ms >= r->started_ms + s->reassembly_ms) {
            reasm_free(s, r);
            s->stats.dropped_limit++;
            send_protocol_error(s, "chunk-timeout", 0, now_ms);
        }
    }
}

static reassembly *find_or_start(ek_session *s, const chunk_hdr *h, uint64_t now_ms)
{
    reassembly *fresh = NULL;
    for (size_t i = 0; i < EK_MAX_REASSEMBLIES; i++) {
        reassembly *r = &s->reasm[i];
        if (r->live && r->msg_id == h->msg_id)
            return r->count == h->count ? r : NULL;
        if (!r->live && fresh == NULL)
            fresh = r;
    }
    if (fresh == NULL)
        return NULL;
    fresh->pieces = ek_alloc(s->alloc, (size_t)h->count * sizeof(chunk_piece));
    if (fresh->pieces == NULL)
        return NULL;
    memset(fresh->pieces, 0, (size_t)h->count * sizeof(chunk_piece));
    fresh->live = 1;
    fresh->msg_id = h->msg_id;
    fresh->count = h->count;
    fresh->started_ms = now_ms;
    return fresh;
}

int reasm_on_chunk(ek_session *s, const uint8_t *f, size_t len, uint64_t now_ms)
{
    chunk_hdr h;
    if (frame_parse_chunk(f, len, &h) != EK_OK ||
        frame_chunk_verify(f, len, s->chunk_key_recv) != EK_OK) {
        s->stats.dropped_malformed++;
        send_protocol_error(s, "malformed", 0, now_ms);
        return EK_OK;
    }
    if (replay_check(s, h.msg_id) != EK_OK) {
        s->stats.dropped_replay++;
        return EK_OK;
    }
    size_t n = h.data_len;
    reassembly *r = find_or_start(s, &h, now_ms);
    if (r == NULL || n > EK_MAX_REASSEMBLY_BYTES - s->reasm_bytes ||
        r->bytes + n > EK_MAX_MESSAGE_BYTES + EK_FRAME_BYTES_MAX) {
        if (r != NULL && r->have == 0)
            reasm_free(s, r);
        s->stats.dropped_limit++;
        send_protocol_error(s, "chunk-limit", 0, now_ms);
        return EK_OK;
    }
    chunk_piece *p = &r->pieces[h.index];
    if (p->data != NULL)
        return EK_OK; /* a repeat: the first copy stays */
    p->data = ek_alloc(s->alloc, n);
    if (p->data == NULL)
        return EK_ERR_NOMEM;
    memcpy(p->data, f + h.hdr_len, n);
    p->len = n;
    r->have++;
    r->bytes += n;
    s->reasm_bytes += n;
    if (r->have < r->count)
        return EK_OK;
    /* Complete: one frame, which must be the message frame it claims. */
    size_t total = r->bytes;
    uint8_t *frame = ek_alloc(s->alloc, total);
    if (frame == NULL) {
        reasm_free(s, r);
        return EK_ERR_NOMEM;
    }
    size_t off = 0;
    for (uint16_t i = 0; i < r->count; i++) {
        memcpy(frame + off, r->pieces[i].data, r->pieces[i].len);
        off += r->pieces[i].len;
    }
    uint64_t id = r->msg_id;
    reasm_free(s, r);
    uint64_t seq = 0;
    size_t hdr = 0;
    int rc = EK_OK;
    if (frame_parse_message(frame, total, &seq, &hdr) != EK_OK || seq != id) {
        s->stats.dropped_malformed++;
        send_protocol_error(s, "malformed", 0, now_ms);
    } else
        rc = msg_on_message_frame(s, frame, total, now_ms);
    ek_wipe(frame, total);
    ek_free(s->alloc, frame, total);
    return rc;
}
