/*
 * queue.c: the engine's two outputs, frames to send and events for the
 * application, as FIFO lists bounded by EK_MAX_QUEUED_FRAMES,
 * EK_MAX_QUEUED_BYTES and EK_MAX_QUEUED_EVENTS. A popped item stays owned
 * by the session until the next pop (so its bytes stay valid), then it is
 * freed (an event, which may hold plaintext, is wiped first).
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "proto/session_internal.h"

int queue_frame(ek_session *s, const uint8_t *data, size_t len, int binary)
{
    if (s->fq_count >= EK_MAX_QUEUED_FRAMES || len > EK_MAX_QUEUED_BYTES - s->fq_bytes)
        return EK_ERR_LIMIT;
    out_frame *f = ek_alloc(s->alloc, sizeof(*f) + len);
    if (f == NULL)
        return EK_ERR_NOMEM;
    f->next = NULL;
    f->len = len;
    f->binary = binary;
    memcpy(f->data, data, len);
    if (s->fq_tail != NULL)
        s->fq_tail->next = f;
    else
        s->fq_head = f;
    s->fq_tail = f;
    s->fq_count++;
    s->fq_bytes += len;
    s->stats.frames_out++;
    return EK_OK;
}

static void free_frame(ek_session *s, out_frame *f)
{
    if (f == NULL)
        return;
    /* Frames are what goes on the wire: nothing secret, no wipe. */
    ek_free(s->alloc, f, sizeof(*f) + f->len);
}

int ek_session_pop_frame(ek_session *s, ek_frame *out)
{
    if (s == NULL || out == NULL)
        return 0;
    free_frame(s, s->fq_popped);
    s->fq_popped = NULL;
    out_frame *f = s->fq_head;
    if (f == NULL) {
        memset(out, 0, sizeof(*out));
        return 0;
    }
    s->fq_head = f->next;
    if (s->fq_head == NULL)
        s->fq_tail = NULL;
    s->fq_count--;
    s->fq_bytes -= f->len;
    s->fq_popped = f;
    out->data = f->data;
    out->len = f->len;
    out->binary = f->binary;
    return 1;
}

int queue_event(ek_session *s, const ek_event *ev, const uint8_t *data, size_t len)
{
    if (s->eq_count >= EK_MAX_QUEUED_EVENTS)
        return EK_ERR_LIMIT;
    queued_event *q = ek_alloc(s->alloc, sizeof(*q) + len);
    if (q == NULL)
        return EK_ERR_NOMEM;
    memset(q, 0, sizeof(*q));
    q->ev = *ev;
    q->len = len;
    if (len > 0)
        memcpy(q->data, data, len);
    if (ev->pdu_type != NULL)
        strncpy(q->pdu_type, ev->pdu_type, sizeof(q->pdu_type) - 1);
    if (ev->code != NULL)
        strncpy(q->code, ev->code, sizeof(q->code) - 1);
    if (s->eq_tail != NULL)
        s->eq_tail->next = q;
    else
        s->eq_head = q;
    s->eq_tail = q;
    s->eq_count++;
    return EK_OK;
}

static void free_event(ek_session *s, queued_event *q)
{
    if (q == NULL)
        return;
    size_t n = sizeof(*q) + q->len;
    ek_wipe(q, n);
    ek_free(s->alloc, q, n);
}

int ek_session_pop_event(ek_session *s, ek_event *out)
{
    if (s == NULL || out == NULL)
        return 0;
    free_event(s, s->eq_popped);
    s->eq_popped = NULL;
    queued_event *q = s->eq_head;
    if (q == NULL) {
        memset(out, 0, sizeof(*out));
        return 0;
    }
    s->eq_head = q->next;
    if (s->eq_head == NULL)
        s->eq_tail = NULL;
    s->eq_count--;
    s->eq_popped = q;
    *out = q->ev;
    out->data = q->len > 0 ? q->data : NULL;
    out->len = q->len;
    out->pdu_type = q->pdu_type[0] != 0 ? q->pdu_type : NULL;
    out->code = q->code[0] != 0 ? q->code : NULL;
    return 1;
}

void queue_free_all(ek_session *s)
{
    while (s->fq_head != NULL) {
        out_frame *f = s->fq_head;
        s->fq_head = f->next;
        free_frame(s, f);
    }
    free_frame(s, s->fq_popped);
    s->fq_popped = NULL;
    s->fq_tail = NULL;
    s->fq_count = s->fq_bytes = 0;
    while (s->eq_head != NULL) {
        queued_event *q = s->eq_head;
        s->eq_head = q->next;
        free_event(s, q);
    }
    free_event(s, s->eq_popped);
    s->eq_popped = NULL;
    s->eq_tail = NULL;
    s->eq_count = 0;
}
