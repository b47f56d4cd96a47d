/*
 * transcript.c: the handshake transcript (docs/protocol.md §4.4): every
 * field of hello, response and finish, as decoded values in a fixed binary
 * layout, so that both sides hash the same bytes whatever JSON whitespace or
 * key order carried them. Hashed with SHA-256 at each point the protocol
 * needs (layer positions, before a signature, the session id).
 */
#include <enkrypt/ek_crypto.h>

#include "proto/session_internal.h"

void transcript_u8(ek_session *s, uint8_t v)
{
    ek_write_u8(&s->transcript, v);
}

void transcript_bytes(ek_session *s, const uint8_t *p, size_t len)
{
    ek_write_bytes(&s->transcript, p, len);
}

void transcript_vec(ek_session *s, const uint8_t *p, size_t len)
{
    ek_write_u32(&s->transcript, (uint32_t)len);
    ek_write_bytes(&s->transcript, p, len);
}

void transcript_str(ek_session *s, const char *p, size_t len)
{
    ek_write_u8(&s->transcript, (uint8_t)len);
    ek_write_bytes(&s->transcript, p, len);
}

void transcript_hash(const ek_session *s, uint8_t out[32])
{
    static const char label[] = "enkrypt 1.0 transcript";
    ek_iovec v[2] = {{label, sizeof(label) - 1}, {s->transcript.buf, s->transcript.len}};
    ek_sha256_v(out, v, 2);
}
