/*
 * error.c: protocol-error, both ways (docs/protocol.md §8). We send at
 * most one per EK_PROTOCOL_ERROR_INTERVAL_MS, never in answer to a
 * protocol-error, and never more than one for one bad frame. A received
 * protocol-error is not authenticated: during the handshake a fatal one
 * fails the handshake (an on-path attacker could as well drop frames) and
 * "unknown-session" answers our resume; after ready it is only counted.
 */
#include <string.h>

#include "proto/session_internal.h"

void send_protocol_error(ek_session *s, const char *code, int fatal, uint64_t now_ms)
{
    if (s->have_last_error && now_ms < s->last_error_ms + EK_PROTOCOL_ERROR_INTERVAL_MS)
        return;
    ek_pdu_builder *b = NULL;
    ek_writer w;
    ek_writer_init_growable(&w, s->alloc);
    int rc = ek_pdu_build_begin(&b, "protocol-error");
    if (rc == EK_OK)
        rc = ek_pdu_add_string(b, "code", code, strlen(code));
    if (rc == EK_OK)
        rc = ek_pdu_add_bool(b, "fatal", fatal);
    if (rc == EK_OK)
        rc = ek_pdu_build_finish(b, &w);
    ek_pdu_build_free(b);
    if (rc == EK_OK && queue_frame(s, w.buf, w.len, 0) == EK_OK) {
        s->have_last_error = 1;
        s->last_error_ms = now_ms;
        s->stats.errors_sent++;
    }
    ek_writer_dispose(&w);
}
