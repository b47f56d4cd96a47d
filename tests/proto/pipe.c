/*
 * pipe.c: the in-memory pipe of pipe.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_cascade.h>

#include "ek_test.h"
#include "pipe.h"

static const char *const full_layers[] = {"MLS", "Signal", "ML-KEM", "AES"};
static const char *const no_mls[] = {"Signal", "ML-KEM", "AES"};

size_t pipe_default_layers(const char *const **out)
{
    ek_layer *l = NULL;
    if (ek_layer_mls_new(&l, NULL, NULL) == EK_OK) {
        ek_layer_free(l);
        *out = full_layers;
        return 4;
    }
    *out = no_mls;
    return 3;
}

static void side_init(pipe_side *side, unsigned seed, int role, const char *const *layers, size_t n)
{
    memset(side, 0, sizeof(*side));
    uint8_t sd[8] = {(uint8_t)seed,
                     (uint8_t)(seed >> 8),
                     (uint8_t)(seed >> 16),
                     (uint8_t)role,
                     'p',
                     'i',
                     'p',
                     'e'};
    ek_rng_seeded_init(&side->rng, sd, sizeof(sd));
    EK_CHECK_OK(ek_identity_generate(&side->id, &side->rng.rng));
    ek_session_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role;
    cfg.layers = layers;
    cfg.n_layers = n;
    cfg.rng = &side->rng.rng;
    cfg.send_typing = 1;
    cfg.send_read_receipts = 1;
    EK_CHECK_OK(ek_session_new(&side->s, &side->id, &cfg));
}

void pipe_init(pipe *p, unsigned seed, const char *const *layers, size_t n)
{
    memset(p, 0, sizeof(*p));
    if (layers == NULL)
        n = pipe_default_layers(&layers);
    side_init(&p->a, seed, EK_ROLE_INITIATOR, layers, n);
    side_init(&p->b, seed, EK_ROLE_RESPONDER, layers, n);
    p->now = 1717000000000ull;
}

void pipe_free(pipe *p)
{
    ek_session_free(p->a.s);
    ek_session_free(p->b.s);
    p->a.s = p->b.s = NULL;
}

void pipe_events(pipe *p, pipe_side *to)
{
    ek_event ev;
    while (ek_session_pop_event(to->s, &ev) == 1) {
        switch (ev.type) {
        case EK_EVENT_READY: to->ready++; break;
        case EK_EVENT_MESSAGE:
        case EK_EVENT_FILE_CHUNK: to->messages++; break;
        case EK_EVENT_FAILED:
        case EK_EVENT_PEER_ERROR:
            to->failed++;
            snprintf(to->last_code, sizeof(to->last_code), "%s", ev.code != NULL ? ev.code : "");
            break;
        case EK_EVENT_CLOSED: to->closed++; break;
        default: break;
        }
        if (p->on_event != NULL)
            p->on_event(p, to, &ev);
    }
}

void pipe_deliver(pipe *p, pipe_side *to, const uint8_t *data, size_t len)
{
    EK_CHECK_OK(ek_session_recv(to->s, data, len, p->now));
    pipe_events(p, to);
}

size_t pipe_take(pipe_side *from, pipe_frame *out, size_t max)
{
    size_t n = 0;
    ek_frame f;
    while (n < max && ek_session_pop_frame(from->s, &f) == 1) {
        out[n].data = malloc(f.len);
        EK_CHECK(out[n].data != NULL);
        memcpy(out[n].data, f.data, f.len);
        out[n].len = f.len;
        out[n].binary = f.binary;
        n++;
    }
    return n;
}

void pipe_flush(pipe *p)
{
    for (int round = 0; round < 100000; round++) {
        int moved = 0;
        ek_frame f;
        while (ek_session_pop_frame(p->a.s, &f) == 1) {
            pipe_deliver(p, &p->b, f.data, f.len);
            moved = 1;
        }
        while (ek_session_pop_frame(p->b.s, &f) == 1) {
            pipe_deliver(p, &p->a, f.data, f.len);
            moved = 1;
        }
        pipe_events(p, &p->a);
        pipe_events(p, &p->b);
        if (!moved)
            return;
    }
}

void pipe_handshake(pipe *p)
{
    EK_CHECK_OK(ek_session_start(p->b.s, p->now));
    EK_CHECK_OK(ek_session_start(p->a.s, p->now));
    pipe_flush(p);
    EK_CHECK(ek_session_get_state(p->a.s) == EK_STATE_READY);
    EK_CHECK(ek_session_get_state(p->b.s) == EK_STATE_READY);
}

size_t pipe_text(uint8_t *out, size_t cap, uint64_t n, const char *body, size_t body_len,
                 uint64_t ts)
{
    uint8_t id[16] = {0};
    for (int i = 0; i < 8; i++)
        id[8 + i] = (uint8_t)(n >> (56 - 8 * i));
    ek_pdu_builder *b = NULL;
    ek_writer w;
    ek_writer_init_fixed(&w, out, cap);
    EK_CHECK_OK(ek_pdu_build_begin(&b, "text"));
    EK_CHECK_OK(ek_pdu_add_bytes(b, "id", id, 16));
    EK_CHECK_OK(ek_pdu_add_int(b, "timestamp", (int64_t)ts));
    EK_CHECK_OK(ek_pdu_add_string(b, "body", body, body_len));
    EK_CHECK_OK(ek_pdu_build_finish(b, &w));
    ek_pdu_build_free(b);
    return w.len;
}
