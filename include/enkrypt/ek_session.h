/*
 * ek_session.h: the wire profile "enkrypt profile 1.0" (docs/protocol.md)
 * and the sans-IO session engine that speaks it.
 *
 * The engine never does I/O and never reads a clock: the caller pushes the
 * data channel's messages in, pulls the frames to send out, and tells it
 * the time (../shared/DESIGN.md §2):
 *
 *   ek_session_new(&s, &identity, &config);
 *   ek_session_start(s, now_ms);                  hello, or resume
 *   ek_session_recv(s, frame, len, now_ms);       one data-channel message
 *   while (ek_session_pop_frame(s, &f) == 1)      frames to send, in order
 *       transport_send(f.data, f.len, f.binary);
 *   while (ek_session_pop_event(s, &ev) == 1)     ready, message, failed...
 *       app_handle(&ev);
 *   ek_session_send(s, envelope, len, now_ms);    encrypt and queue
 *   ek_session_tick(s, now_ms);                   stall, reassembly, re-keys
 *
 * Randomness comes from config.rng (NULL: the OS CSPRNG), so a seeded
 * ek_rng reproduces every handshake and the golden vectors byte for byte.
 *
 * Every receive path fails closed: a frame that fails any check yields no
 * plaintext and no event, changes no state a valid frame needs, and costs
 * at most one protocol-error, rate limited (docs/protocol.md §8).
 *
 * The strict PDU codec (ek_pdu_*) is public too: the application builds its
 * envelopes (text, edit, reaction, file-offer...) with it and reads the
 * ones the engine delivers.
 */
#ifndef EK_SESSION_H
#define EK_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Profile constants, limits and timers (docs/protocol.md §7). Timers are in
 * milliseconds of the caller's clock.
 */
#define EK_SPEC_VERSION "1.0"

/* The longest JSON PDU accepted or produced (text frames). */
#define EK_PDU_MAX_JSON_BYTES         ((size_t)64 << 10)
/* The longest inner JSON PDU (an envelope inside the cascade): room for
 * the longest text body (65536 bytes) even with every byte escaped. */
#define EK_PDU_MAX_INNER_JSON_BYTES   ((size_t)512 << 10)
/* The largest inner plaintext (one envelope, or a file chunk with its
 * 21-byte header), in bytes: 1 MiB - 1 KiB, so that with the other layers'
 * overhead it stays within what the Signal layer takes
 * (EK_RATCHET_MAX_PLAINTEXT, 1 MiB) in any order. The original's P8.1
 * allowed 16 MiB per JSON PDU; bulk data travels as file chunks here. */
#define EK_MAX_MESSAGE_BYTES          (((size_t)1 << 20) - 1024)
/* Frames: the default size we cut chunks to (browser peers), and the most
 * a data-channel message may carry (webrtcbin). */
#define EK_FRAME_BYTES_DEFAULT        16384u
#define EK_FRAME_BYTES_MIN            1024u
#define EK_FRAME_BYTES_MAX            65536u
/* Chunk reassembly (the original's P8.3, P8.4). */
#define EK_CHUNK_REASSEMBLY_MS        ((uint64_t)120 * 1000)
#define EK_MAX_REASSEMBLIES           64u
#define EK_MAX_CHUNKS_PER_MESSAGE     4096u
#define EK_MAX_REASSEMBLY_BYTES       ((size_t)32 << 20)
/* From start to ready (the original's P8.3 handshake stall). */
#define EK_HANDSHAKE_STALL_MS         ((uint64_t)300 * 1000)
/* How long the side that answered a resume waits for its resume-finish
 * before it goes back to the state it was in (at most the stall time). */
#define EK_RESUME_CONFIRM_MS          ((uint64_t)30 * 1000)
/* Replay detection: a sliding window of this many sequence numbers. */
#define EK_REPLAY_WINDOW              1024u
/* Frames that cannot be opened yet (a Signal chain not learnt yet) are
 * kept and retried: at most this many, for at most this long. */
#define EK_MAX_DEFERRED_FRAMES        64u
#define EK_DEFERRED_MS                ((uint64_t)30 * 1000)
/* At most one protocol-error per interval. */
#define EK_PROTOCOL_ERROR_INTERVAL_MS ((uint64_t)1000)
/* Output queue bounds (the caller must pop). */
#define EK_MAX_QUEUED_FRAMES          8192u
#define EK_MAX_QUEUED_BYTES           ((size_t)64 << 20)
#define EK_MAX_QUEUED_EVENTS          8192u
/* Safety numbers: Signal's NumericFingerprint iterations. */
#define EK_SAFETY_NUMBER_ITERATIONS   5200u
#define EK_SAFETY_NUMBER_DIGITS       60u

/* ---------------------------------------------------------------------------
 * Identity.
 */
typedef struct ek_identity {
    uint8_t seed[EK_ED25519_SEED_LEN]; /* the Ed25519 identity key */
    ek_ratchet_identity signal;        /* the Signal layer's identity */
} ek_identity;

EK_API EK_MUST_CHECK int ek_identity_generate(ek_identity *id, const ek_rng *rng);
EK_API EK_MUST_CHECK int ek_identity_public(uint8_t pk[EK_ED25519_PUBLIC_LEN],
                                            const ek_identity *id);

/*
 * The safety number of two identity keys, as Signal's 60-digit numeric
 * fingerprint (docs/protocol.md §4.7): 30 digits per key from
 * SHA-512 iterated EK_SAFETY_NUMBER_ITERATIONS times over the key, the two
 * halves in ascending order. out receives 60 digits and a NUL. Symmetric:
 * both sides compute the same number.
 */
EK_API EK_MUST_CHECK int ek_safety_number(char out[EK_SAFETY_NUMBER_DIGITS + 1],
                                          const uint8_t a[EK_ED25519_PUBLIC_LEN],
                                          const uint8_t b[EK_ED25519_PUBLIC_LEN]);

/* ---------------------------------------------------------------------------
 * The strict PDU codec (docs/protocol.md §3, §6): JSON objects with a type
 * and specVersion "1.0", every field's type and limits frozen per type.
 * Parsing refuses oversize input (before parsing), invalid UTF-8, duplicate
 * keys, unknown types and fields, wrong types, out-of-range numbers,
 * over-long strings and arrays, malformed base64url, missing fields.
 */
typedef struct ek_pdu ek_pdu;

/* Where a PDU may appear. */
#define EK_PDU_OUTER 1 /* a text frame on the data channel */
#define EK_PDU_INNER 2 /* inside the cascade (application and control) */
#define EK_PDU_ANY   3

/* Parse and validate. EK_ERR_TOO_LARGE (size, limits), EK_ERR_DECODE
 * (JSON, schema), EK_ERR_UNSUPPORTED (unknown type or specVersion). The
 * size limit is EK_PDU_MAX_JSON_BYTES for outer PDUs and
 * EK_PDU_MAX_INNER_JSON_BYTES for inner ones. */
EK_API EK_MUST_CHECK int ek_pdu_parse(ek_pdu **out, const uint8_t *json, size_t len, int where);
EK_API void ek_pdu_free(ek_pdu *p);
EK_API const char *ek_pdu_type(const ek_pdu *p);
/* 1 if field is present. */
EK_API int ek_pdu_has(const ek_pdu *p, const char *field);
/* Field accessors: EK_ERR_DECODE when absent or of another type. Strings
 * point into p (UTF-8, not NUL-free: use len). */
EK_API EK_MUST_CHECK int ek_pdu_string(const ek_pdu *p, const char *field, const char **s,
                                       size_t *len);
EK_API EK_MUST_CHECK int ek_pdu_int(const ek_pdu *p, const char *field, int64_t *v);
EK_API EK_MUST_CHECK int ek_pdu_bool(const ek_pdu *p, const char *field, int *v);
/* A base64url field, decoded into out (cap bytes). */
EK_API EK_MUST_CHECK int ek_pdu_bytes(const ek_pdu *p, const char *field, uint8_t *out, size_t cap,
                                      size_t *len);
/* Arrays of strings or of base64url strings. */
EK_API size_t ek_pdu_array_len(const ek_pdu *p, const char *field);
EK_API EK_MUST_CHECK int ek_pdu_array_string(const ek_pdu *p, const char *field, size_t i,
                                             const char **s, size_t *len);
EK_API EK_MUST_CHECK int ek_pdu_array_bytes(const ek_pdu *p, const char *field, size_t i,
                                            uint8_t *out, size_t cap, size_t *len);

/*
 * Building: fields are added in any order and emitted in the schema's
 * order, compact (no whitespace), so equal PDUs are equal bytes.
 * ek_pdu_build_finish validates the result with the parser's rules (we
 * never send what we would refuse) and appends it to out.
 */
typedef struct ek_pdu_builder ek_pdu_builder;

EK_API EK_MUST_CHECK int ek_pdu_build_begin(ek_pdu_builder **b, const char *type);
EK_API EK_MUST_CHECK int ek_pdu_add_string(ek_pdu_builder *b, const char *field, const char *s,
                                           size_t len);
EK_API EK_MUST_CHECK int ek_pdu_add_int(ek_pdu_builder *b, const char *field, int64_t v);
EK_API EK_MUST_CHECK int ek_pdu_add_bool(ek_pdu_builder *b, const char *field, int v);
EK_API EK_MUST_CHECK int ek_pdu_add_bytes(ek_pdu_builder *b, const char *field, const uint8_t *p,
                                          size_t len);
/* Append one element to an array field (strings, or bytes as base64url). */
EK_API EK_MUST_CHECK int ek_pdu_add_array_string(ek_pdu_builder *b, const char *field,
                                                 const char *s, size_t len);
EK_API EK_MUST_CHECK int ek_pdu_add_array_bytes(ek_pdu_builder *b, const char *field,
                                                const uint8_t *p, size_t len);
EK_API EK_MUST_CHECK int ek_pdu_build_finish(ek_pdu_builder *b, ek_writer *out);
EK_API void ek_pdu_build_free(ek_pdu_builder *b);

/* base64url without padding (RFC 4648 §5), strict: canonical only. */
EK_API size_t ek_b64url_encoded_len(size_t n);
EK_API EK_MUST_CHECK int ek_b64url_encode(char *out, size_t out_cap, size_t *out_len,
                                          const uint8_t *in, size_t in_len);
EK_API EK_MUST_CHECK int ek_b64url_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                          const char *in, size_t in_len);

/* ---------------------------------------------------------------------------
 * The session engine.
 */
typedef struct ek_session ek_session;

/* Connection states (docs/protocol.md §9.1, the original's P7.1 after the
 * data channel opened). */
typedef enum ek_session_state {
    EK_STATE_IDLE = 1,     /* made, not started */
    EK_STATE_HANDSHAKING,  /* hello / response / finish in flight (also a fresh
                              handshake beside a kept session) */
    EK_STATE_RESUMING,     /* resume sent, waiting for resume-ok; or resume-ok
                              sent, waiting for resume-finish */
    EK_STATE_READY,        /* messages flow */
    EK_STATE_DISCONNECTED, /* transport lost or session restored: crypto kept */
    EK_STATE_FAILED,       /* a fatal error; the session is dead */
    EK_STATE_CLOSED,       /* closed by either side */
} ek_session_state;

typedef struct ek_session_config {
    int role; /* EK_ROLE_INITIATOR (sends hello) or EK_ROLE_RESPONDER */
    /* The cascade, innermost first; NULL: ["MLS","Signal","ML-KEM","AES"].
     * Both peers must be configured with the same list. */
    const char *const *layers;
    size_t n_layers;
    /* When set, the peer's Ed25519 identity key must be this (32 bytes). */
    const uint8_t *expected_peer;
    const ek_rng *rng;           /* NULL: the OS CSPRNG */
    const ek_allocator *alloc;   /* NULL: malloc */
    uint64_t handshake_stall_ms; /* 0: EK_HANDSHAKE_STALL_MS */
    uint64_t reassembly_ms;      /* 0: EK_CHUNK_REASSEMBLY_MS */
    uint32_t frame_bytes;        /* chunk size; 0: EK_FRAME_BYTES_DEFAULT */
    /* Privacy settings: when 0, typing (resp. read-receipt) envelopes are
     * refused by ek_session_send and nothing is sent. */
    int send_typing;
    int send_read_receipts;
} ek_session_config;

/* cfg and id are copied; cfg->layers need not outlive the call. */
EK_API EK_MUST_CHECK int ek_session_new(ek_session **out, const ek_identity *id,
                                        const ek_session_config *cfg);
EK_API void ek_session_free(ek_session *s);

/* Begin: the initiator queues hello; the responder waits for it; a
 * restored (or disconnected) session queues resume. Arms the stall timer. */
EK_API EK_MUST_CHECK int ek_session_start(ek_session *s, uint64_t now_ms);
/* One data-channel message. EK_OK also when the frame was dropped (the
 * engine's business, never the caller's); an error only for misuse or
 * resource failure. */
EK_API EK_MUST_CHECK int ek_session_recv(ek_session *s, const uint8_t *frame, size_t len,
                                         uint64_t now_ms);
/* Timers. */
EK_API EK_MUST_CHECK int ek_session_tick(ek_session *s, uint64_t now_ms);
/* The transport went away (ICE lost): Ready -> Disconnected. */
EK_API void ek_session_transport_lost(ek_session *s);

typedef struct ek_frame {
    const uint8_t *data; /* valid until the next ek_session_pop_frame */
    size_t len;
    int binary; /* 1: a binary data-channel message; 0: text (JSON) */
} ek_frame;

/* 1 and *out when a frame is waiting, 0 when none. */
EK_API int ek_session_pop_frame(ek_session *s, ek_frame *out);

typedef enum ek_event_type {
    EK_EVENT_READY = 1,  /* handshake done or session resumed */
    EK_EVENT_MESSAGE,    /* an application envelope arrived */
    EK_EVENT_FILE_CHUNK, /* a file chunk arrived */
    EK_EVENT_PEER_ERROR, /* the peer's protocol-error during the handshake */
    EK_EVENT_FAILED,     /* the session failed (stall, authentication, rekey-stalled...) */
    EK_EVENT_CLOSED,     /* the peer closed the session */
} ek_event_type;

typedef struct ek_event {
    int type;
    /* MESSAGE: the envelope's type and its JSON bytes; FILE_CHUNK: the
     * chunk's bytes. Valid until the next ek_session_pop_event. */
    const char *pdu_type;
    const uint8_t *data;
    size_t len;
    uint64_t seq; /* MESSAGE, FILE_CHUNK: the frame's sequence number */
    uint8_t transfer[16];
    uint32_t chunk_index;
    int resumed;      /* READY: 1 when a saved session resumed */
    int error;        /* FAILED: the ek_err */
    const char *code; /* FAILED, PEER_ERROR: the protocol-error code */
} ek_event;

EK_API int ek_session_pop_event(ek_session *s, ek_event *out);

/* Encrypt and queue one application envelope (JSON, an application type
 * of docs/protocol.md §6: text, edit, delete, reaction, typing,
 * read-receipt, disappearing-timer, file-*). EK_ERR_STATE unless ready;
 * EK_ERR_DECODE for an envelope the codec refuses; EK_ERR_STATE also for
 * typing / read-receipt when the privacy settings forbid them. */
EK_API EK_MUST_CHECK int ek_session_send(ek_session *s, const uint8_t *envelope, size_t len,
                                         uint64_t now_ms);
/* One file chunk (binary inner envelope, docs/protocol.md §6.4). */
EK_API EK_MUST_CHECK int ek_session_send_file_chunk(ek_session *s, const uint8_t transfer[16],
                                                    uint32_t index, const uint8_t *data, size_t len,
                                                    uint64_t now_ms);
/* Tell the peer we close, and close. */
EK_API EK_MUST_CHECK int ek_session_close(ek_session *s, uint64_t now_ms);
EK_API void ek_session_set_privacy(ek_session *s, int send_typing, int send_read_receipts);

EK_API ek_session_state ek_session_get_state(const ek_session *s);
/* After the handshake: the peer's identity key, the safety number, the
 * session id (the transcript hash, 32 bytes). */
EK_API EK_MUST_CHECK int ek_session_peer_identity(const ek_session *s,
                                                  uint8_t out[EK_ED25519_PUBLIC_LEN]);
EK_API EK_MUST_CHECK int ek_session_safety_number(const ek_session *s,
                                                  char out[EK_SAFETY_NUMBER_DIGITS + 1]);
EK_API EK_MUST_CHECK int ek_session_id(const ek_session *s, uint8_t out[32]);

/* Counters for diagnostics (never secret). */
typedef struct ek_session_stats {
    uint64_t frames_in, frames_out, messages_in, messages_out;
    uint64_t dropped_malformed, dropped_replay, dropped_decrypt, dropped_state, dropped_limit;
    uint64_t deferred, errors_sent, errors_received;
} ek_session_stats;

EK_API void ek_session_get_stats(const ek_session *s, ek_session_stats *out);

/*
 * Saving and restoring (for the vault). A ready, disconnected or resuming
 * session (or one running a fresh handshake beside its kept state) can be
 * saved; what is saved is the established session. The bytes hold every
 * secret of the session: the caller seals them. Save after popping frames
 * and before sending them. A state older than what went on the wire is
 * still safe to resume from: every resumption re-keys the AES and ML-KEM
 * layers from both sides' fresh nonces, so no (key, nonce) repeats there
 * and frames from before do not open; the MLS and Signal ratchets keep
 * their keys (docs/protocol.md §9.3 says what that costs). *out is
 * allocated through cfg's allocator; free it with ek_free(alloc, *out,
 * *cap) after wiping.
 */
EK_API EK_MUST_CHECK int ek_session_save(const ek_session *s, uint8_t **out, size_t *len,
                                         size_t *cap);
/* A session in the Disconnected state; ek_session_start sends resume.
 * The session is pinned to its saved peer (as by cfg->expected_peer, which
 * must match it if set): a hello, or unknown-session, makes it run a fresh
 * handshake beside the saved state, which replaces it only once that
 * handshake completes with the same peer (docs/protocol.md §4.6). */
EK_API EK_MUST_CHECK int ek_session_restore(ek_session **out, const ek_identity *id,
                                            const ek_session_config *cfg, const uint8_t *in,
                                            size_t len);

#ifdef __cplusplus
}
#endif
#endif /* EK_SESSION_H */
