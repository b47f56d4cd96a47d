/*
 * pipe.h: two session engines joined by an in-memory pipe, for the tests of
 * tests/proto (and the benchmarks). A pipe moves every frame one side
 * popped to the other side's recv, in order, optionally through a filter
 * that may drop, change, duplicate, reorder or inject frames.
 */
#ifndef EK_TEST_PIPE_H
#define EK_TEST_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_session.h>

#define PIPE_MAX_FRAME (EK_FRAME_BYTES_MAX + EK_PDU_MAX_JSON_BYTES)

/* One frame in flight. */
typedef struct pipe_frame {
    uint8_t *data;
    size_t len;
    int binary;
} pipe_frame;

typedef struct pipe_side {
    ek_session *s;
    ek_identity id;
    ek_rng_seeded rng;
    /* received application messages, for checks */
    unsigned long messages, ready, failed, closed;
    int last_failed_code_set;
    char last_code[32];
} pipe_side;

typedef struct pipe {
    pipe_side a, b; /* a is the initiator */
    uint64_t now;
    /* a handler for each event, may be NULL */
    void (*on_event)(struct pipe *p, pipe_side *to, const ek_event *ev);
    void *user;
} pipe;

/* Layers NULL: ["Signal", "ML-KEM", "AES"] (the default without MLS when
 * the MLS layer is not available, else the full default). */
void pipe_init(pipe *p, unsigned seed, const char *const *layers, size_t n);
void pipe_free(pipe *p);
/* Start both; move frames until both are quiet. */
void pipe_handshake(pipe *p);
/* Move every queued frame (both ways) until nothing moves. */
void pipe_flush(pipe *p);
/* Pop every frame of from into out (allocated; up to max); returns count. */
size_t pipe_take(pipe_side *from, pipe_frame *out, size_t max);
void pipe_deliver(pipe *p, pipe_side *to, const uint8_t *data, size_t len);
void pipe_events(pipe *p, pipe_side *to);
/* A text envelope with body and id counter. */
size_t pipe_text(uint8_t *out, size_t cap, uint64_t n, const char *body, size_t body_len,
                 uint64_t ts);
/* The default layers the engine can build today. */
size_t pipe_default_layers(const char *const **out);

#endif
