/*
 * serialization.h: frames <-> data-channel messages for PeerJS's three
 * serializations (peerjs-protocol.md §6.5): `raw` (unchanged), `json` (UTF-8
 * JSON in binary messages) and `binary` (BinaryPack, split into chunk maps
 * over 16300 bytes, reassembled on receipt). No GLib, no I/O: the caller
 * hands in received messages and gets frames back through a callback, and
 * hands in frames and gets messages to send. Unit-tested and fuzzed alone.
 */
#ifndef EK_NET_SERIALIZATION_H
#define EK_NET_SERIALIZATION_H

#include <stddef.h>
#include <stdint.h>

#include "ek_net.h"

/* PeerJS's chunkedMTU: packed messages over this are split (§6.5). */
#define EK_SER_CHUNK_MTU    16300u
/* Chunked messages being reassembled at once; the oldest is dropped past this. */
#define EK_SER_MAX_PARTIALS 8

/* ek_ser_decode's positive result: the peer sent PeerJS's close request
 * ({"__peerData":{"type":"close"}}), so the connection should close. */
#define EK_SER_CLOSE_REQUESTED 1

typedef struct ek_ser_partial {
    int64_t id; /* __peerData; 0 = slot free */
    uint32_t total, count;
    size_t bytes;
    uint8_t **pieces; /* total entries, NULL until that piece arrives */
    size_t *piece_len;
    uint64_t age; /* insertion order, for dropping the oldest */
} ek_ser_partial;

typedef struct ek_ser {
    ek_net_serialization kind;
    size_t max_message; /* largest reassembled message */
    int64_t next_chunk_id;
    uint64_t clock;
    ek_ser_partial partials[EK_SER_MAX_PARTIALS];
} ek_ser;

void ek_ser_init(ek_ser *s, ek_net_serialization kind, size_t max_message);
/* Free every partial message. */
void ek_ser_clear(ek_ser *s);

/* A message to send: is_text selects a text (string) data-channel message.
 * data is malloc'd and owned by the callee, which must free() it. For
 * text, data[len] == 0. Return 0 to go on, nonzero to stop. */
typedef int (*ek_ser_emit_fn)(void *user, int is_text, uint8_t *data, size_t len);

/* Encode one frame into one or more messages (more only for `binary` over
 * 16300 bytes). 0, or EK_ERR_UNSUPPORTED (bytes on json; text with a NUL on
 * raw), EK_ERR_DECODE (text not UTF-8, value not JSON), EK_ERR_TOO_LARGE,
 * EK_ERR_NOMEM, or the emit callback's nonzero value. */
int ek_ser_encode(ek_ser *s, ek_net_frame_kind kind, const uint8_t *data, size_t len,
                  ek_ser_emit_fn emit, void *user);

/* A decoded frame; data[len] == 0 for TEXT and VALUE. */
typedef void (*ek_ser_frame_fn)(void *user, ek_net_frame_kind kind, const uint8_t *data,
                                size_t len);

/* Decode one received message. 0 (zero or one frame delivered),
 * EK_SER_CLOSE_REQUESTED, or a negative error for a message that was
 * dropped (malformed, too large); the connection may go on after an error. */
int ek_ser_decode(ek_ser *s, int is_text, const uint8_t *msg, size_t len, ek_ser_frame_fn deliver,
                  void *user);

#endif /* EK_NET_SERIALIZATION_H */
