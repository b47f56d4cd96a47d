/*
 * replay.c: replay and duplicate detection (docs/protocol.md §5.2): a
 * sliding window of EK_REPLAY_WINDOW sequence numbers below the highest one
 * opened, as in IPsec (RFC 4303 §3.4.3) and DTLS. A sequence number is
 * marked only after its frame opened through the whole cascade, so a forged
 * copy can never mark the real one as seen.
 */
#include <string.h>

#include "proto/session_internal.h"

static int bit(const ek_session *s, uint64_t seq)
{
    uint64_t i = seq % EK_REPLAY_WINDOW;
    return s->window[i / 8] >> (i % 8) & 1;
}

int replay_check(const ek_session *s, uint64_t seq)
{
    if (seq >= s->recv_top)
        return EK_OK; /* ahead of everything opened */
    if (s->recv_top - seq > EK_REPLAY_WINDOW)
        return EK_ERR_AUTH; /* too old to tell: refused */
    return bit(s, seq) ? EK_ERR_AUTH : EK_OK;
}

void replay_mark(ek_session *s, uint64_t seq)
{
    if (seq >= s->recv_top) {
        /* Slide: clear the bits of the numbers we jump over. */
        uint64_t gap = seq - s->recv_top + 1;
        if (gap >= EK_REPLAY_WINDOW)
            memset(s->window, 0, sizeof(s->window));
        else {
            for (uint64_t k = s->recv_top; k <= seq; k++) {
                uint64_t i = k % EK_REPLAY_WINDOW;
                s->window[i / 8] &= (uint8_t) ~(1u << (i % 8));
            }
        }
        s->recv_top = seq + 1;
    }
    uint64_t i = seq % EK_REPLAY_WINDOW;
    s->window[i / 8] |= (uint8_t)(1u << (i % 8));
}
