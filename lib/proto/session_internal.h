/*
 * session_internal.h: the session engine's state and the functions its
 * files share (docs/protocol.md §4 handshake, §5 cascade use, §7 limits,
 * §8 errors, §9 state machines).
 */
#ifndef EK_PROTO_SESSION_INTERNAL_H
#define EK_PROTO_SESSION_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_cascade.h>
#include <enkrypt/ek_session.h>

#include "proto/pdu.h"

/* Binary frame kinds (docs/protocol.md §3.3). */
#define FRAME_MESSAGE    0xE1
#define FRAME_CHUNK      0xE2
/* Inner plaintext kinds: '{' is a JSON envelope. */
#define INNER_FILE_CHUNK 0x01

/* The crypto (handshake) state machine (docs/protocol.md §9.2). */
typedef enum hs_step {
    HS_NONE = 0,
    HS_I_WAIT_RESPONSE, /* initiator: hello sent */
    HS_R_WAIT_HELLO,    /* responder: started, no hello yet */
    HS_R_WAIT_FINISH,   /* responder: response sent */
    HS_DONE,            /* keys established */
} hs_step;

/* ---- queues ---- */
typedef struct out_frame {
    struct out_frame *next;
    size_t len;
    int binary;
    uint8_t data[];
} out_frame;

typedef struct queued_event {
    struct queued_event *next;
    ek_event ev;
    char pdu_type[32];
    char code[32];
    size_t len;
    uint8_t data[];
} queued_event;

/* ---- reassembly ---- */
typedef struct chunk_piece {
    uint8_t *data;
    size_t len;
} chunk_piece;

typedef struct reassembly {
    int live;
    uint64_t msg_id;
    uint16_t count, have;
    size_t bytes;
    uint64_t started_ms;
    chunk_piece *pieces; /* count entries */
} reassembly;

/* ---- resumption (docs/protocol.md §4.6) ---- */
typedef enum resume_step {
    RESUME_NONE = 0,
    RESUME_SENT,     /* we sent resume; waiting for resume-ok */
    RESUME_ANSWERED, /* we sent resume-ok; waiting for resume-finish */
} resume_step;

/* ---- deferred frames ---- */
typedef struct deferred {
    uint8_t *frame;
    size_t len;
    uint64_t since_ms;
} deferred;

struct ek_session {
    const ek_allocator *alloc;
    const ek_rng *rng;
    ek_identity id;
    ek_ed25519_key sign_key;
    uint8_t id_pub[32];

    /* configuration */
    int role;
    char layer_names[EK_CASCADE_MAX_LAYERS][EK_LAYER_MAX_NAME + 1];
    size_t n_layers;
    int have_expected;
    uint8_t expected_peer[32];
    uint64_t stall_ms, reassembly_ms;
    uint32_t frame_bytes;
    int send_typing, send_receipts;

    /* connection and crypto state machines */
    ek_session_state state;
    hs_step step;
    uint64_t start_ms;
    int started;

    ek_cascade *cascade;

    /* handshake */
    ek_writer transcript;
    uint8_t eph_sk[32], eph_pk[32], peer_eph[32];
    uint8_t random[32], peer_random[32];
    uint8_t peer_id[32];
    int have_peer;
    uint8_t hs_dh[32];
    uint8_t layer_th[EK_CASCADE_MAX_LAYERS][32]; /* response positions */

    /* established */
    uint8_t session_id[32];
    uint8_t resume_key[32];
    uint8_t handle[16];
    uint8_t chunk_key_send[32], chunk_key_recv[32];
    /* bound into every frame's associated data: the session id, renewed
     * by each resumption (§5.1) */
    uint8_t traffic_id[32];
    uint64_t send_seq;
    uint64_t recv_top; /* highest sequence number opened + 1 (0: none) */
    uint8_t window[EK_REPLAY_WINDOW / 8];

    /* resumption in progress */
    ek_writer resume_mat;         /* our materials (RESUME_SENT), the peer's (ANSWERED) */
    uint64_t resume_since_ms;     /* when we answered (ANSWERED) */
    resume_step resume;           /* where it stands */
    ek_session_state resume_prev; /* the state to go back to (ANSWERED) */
    uint8_t resume_nonce[16];     /* ours, as the resumer */
    uint8_t resume_hash[32];      /* SHA-256 of the resume transcript (ANSWERED) */

    /* a fresh handshake beside a kept session (§4.6): replaces it only
     * when it completes with the same peer */
    ek_session *shadow;
    ek_session_state shadow_prev;

    /* queues */
    out_frame *fq_head, *fq_tail, *fq_popped;
    size_t fq_count, fq_bytes;
    queued_event *eq_head, *eq_tail, *eq_popped;
    size_t eq_count;

    /* reassembly and deferral */
    reassembly reasm[EK_MAX_REASSEMBLIES];
    size_t reasm_bytes;
    deferred defer[EK_MAX_DEFERRED_FRAMES];
    size_t n_defer;

    /* errors */
    int have_last_error;
    uint64_t last_error_ms;

    /* scratch for seal/open */
    uint8_t *buf;
    size_t buf_cap;

    ek_session_stats stats;
};

/* ---- session.c ---- */
uint8_t *session_scratch(ek_session *s, size_t need);
void session_fail(ek_session *s, int err, const char *code, uint64_t now_ms);
void session_set_ready(ek_session *s, int resumed);
int session_make_cascade(ek_session *s);

/* ---- queue.c ---- */
int queue_frame(ek_session *s, const uint8_t *data, size_t len, int binary);
int queue_event(ek_session *s, const ek_event *ev, const uint8_t *data, size_t len);
void queue_free_all(ek_session *s);

/* ---- error.c ---- */
/* Queue a protocol-error if the rate limit allows (never for a frame that
 * was itself a protocol-error). */
void send_protocol_error(ek_session *s, const char *code, int fatal, uint64_t now_ms);
/* ---- session.c: a protocol-error from the peer ---- */
void on_protocol_error(ek_session *s, const ek_pdu *p, uint64_t now_ms);

/* ---- handshake.c ---- */
int hs_send_hello(ek_session *s, uint64_t now_ms);
int hs_on_hello(ek_session *s, const ek_pdu *p, uint64_t now_ms);
int hs_on_response(ek_session *s, const ek_pdu *p, uint64_t now_ms);
int hs_on_finish(ek_session *s, const ek_pdu *p, uint64_t now_ms);
int hs_send_resume(ek_session *s, uint64_t now_ms);
int hs_on_resume(ek_session *s, const ek_pdu *p, uint64_t now_ms);
int hs_on_resume_ok(ek_session *s, const ek_pdu *p, uint64_t now_ms);
int hs_on_resume_finish(ek_session *s, const ek_pdu *p, uint64_t now_ms);
/* Forget a resumption in progress (its materials, nonces, hash). */
void hs_resume_clear(ek_session *s);
void hs_wipe(ek_session *s);

/* ---- session.c: the fresh handshake beside a kept session ---- */
/* Start one in role (the kept session's peer pinned). */
int shadow_begin(ek_session *s, int role, uint64_t now_ms);
/* Give it up: the kept session is as it was. */
void shadow_discard(ek_session *s);
/* The time a responder waits for resume-finish. */
uint64_t resume_confirm_ms(const ek_session *s);

/* ---- transcript.c ---- */
void transcript_u8(ek_session *s, uint8_t v);
void transcript_bytes(ek_session *s, const uint8_t *p, size_t len);
/* u32 length, then the bytes. */
void transcript_vec(ek_session *s, const uint8_t *p, size_t len);
/* u8 length, then the bytes (names, versions). */
void transcript_str(ek_session *s, const char *p, size_t len);
void transcript_hash(const ek_session *s, uint8_t out[32]);

/* ---- replay.c ---- */
/* EK_OK when seq may be new; EK_ERR_AUTH when seen or too old. */
int replay_check(const ek_session *s, uint64_t seq);
void replay_mark(ek_session *s, uint64_t seq);

/* ---- frame.c ---- */
int frame_message_header(ek_writer *w, uint64_t seq);
int frame_parse_message(const uint8_t *f, size_t len, uint64_t *seq, size_t *hdr_len);
#define FRAME_CHUNK_TAG_LEN 16
typedef struct chunk_hdr {
    uint64_t msg_id;
    uint16_t index, count;
    size_t hdr_len, data_len;
} chunk_hdr;
int frame_parse_chunk(const uint8_t *f, size_t len, chunk_hdr *h);
/* EK_OK when the chunk's tag verifies under key. */
int frame_chunk_verify(const uint8_t *f, size_t len, const uint8_t key[32]);
size_t frame_chunk_header_len(uint64_t msg_id);
int frame_chunk_header(ek_writer *w, uint64_t msg_id, uint16_t index, uint16_t count);
/* How many chunks a message frame of len bytes becomes, and chunk index. */
int frame_chunk_count(size_t len, uint64_t msg_id, uint32_t frame_bytes, size_t *count);
int frame_chunk_write(ek_writer *w, const uint8_t *f, size_t len, uint64_t msg_id,
                      uint32_t frame_bytes, size_t index, const uint8_t key[32]);

/* ---- message.c ---- */
/* Seal an inner plaintext and queue its frame(s). */
int msg_send_inner(ek_session *s, const uint8_t *pt, size_t len, uint64_t now_ms);
/* A whole message frame from the peer (possibly reassembled). */
int msg_on_message_frame(ek_session *s, const uint8_t *f, size_t len, uint64_t now_ms);
/* Send what the layers want to say (re-keys, rotations). */
int msg_pump_controls(ek_session *s, uint64_t now_ms);
void msg_retry_deferred(ek_session *s, uint64_t now_ms);
void msg_expire_deferred(ek_session *s, uint64_t now_ms);
void msg_free_deferred(ek_session *s);

/* ---- reassembly.c ---- */
int reasm_on_chunk(ek_session *s, const uint8_t *f, size_t len, uint64_t now_ms);
void reasm_expire(ek_session *s, uint64_t now_ms);
void reasm_free_all(ek_session *s);

#endif /* EK_PROTO_SESSION_INTERNAL_H */
