/*
 * ek_cascade.h: the cascade of encryption layers and the layer interface.
 *
 * A cascade is an ordered list of layers; layer 0 is innermost (it sees the
 * plaintext), the last is outermost (its output goes on the wire). Sealing
 * runs layers 0..n-1, opening runs them n-1..0; any layer failing aborts
 * with no plaintext (docs/protocol.md §5). The default order is the
 * original Enkrypted Chat's: ["MLS", "Signal", "ML-KEM", "AES"].
 *
 * Every layer has its own, independent secret, agreed in the session
 * handshake (ek_session.h): MLS from TreeKEM in the connection's
 * two-member group, Signal from X3DH, ML-KEM from its own encapsulations,
 * AES from its own X25519 exchange. A layer therefore takes part in the
 * handshake: it contributes bytes ("material") to hello / response /
 * finish, reads its peer's, and may contribute a binder (a value derived
 * from its fresh secret) to the handshake's key confirmation.
 *
 * The layer interface (ek_layer_ops) is public so that test layers (the
 * original's mock layers for the golden vectors V1 and V2) and future
 * layers plug in the same way. Layers never do I/O; randomness comes from
 * the ek_rng given at creation; time from the now_ms arguments.
 *
 * Opening is two-phase: open() computes the plaintext and keeps the state
 * change it implies aside; the cascade then calls commit() on every layer
 * when all of them opened, rollback() otherwise. A layer may answer
 * EK_ERR_STATE ("not yet": the engine keeps the frame and retries it); a
 * layer outside it has then opened and rolled back, and must give the same
 * result when the same bytes are opened again. The MLS layer, whose
 * library deletes a key as soon as it is used, keeps the plaintext of a
 * rolled-back open for that (docs/protocol.md §5.3).
 */
#ifndef EK_CASCADE_H
#define EK_CASCADE_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Limits.
 */
/* The most layers one cascade holds. */
#define EK_CASCADE_MAX_LAYERS    8
/* The longest associated data a message may carry through the cascade. */
#define EK_CASCADE_MAX_AD        256
/* The largest plaintext the cascade seals in one message (16 MiB, the
 * original's P8.1 PDU cap). */
#define EK_CASCADE_MAX_PLAINTEXT ((size_t)16 << 20)
/* The longest layer name ("ML-KEM" and friends). */
#define EK_LAYER_MAX_NAME        16
/* The most bytes of handshake material one layer contributes to one PDU. */
#define EK_LAYER_MAX_MATERIAL    ((size_t)32 << 10)
/* Binder length (bytes). */
#define EK_LAYER_BINDER_LEN      32

/* Handshake roles. */
#define EK_ROLE_INITIATOR 1
#define EK_ROLE_RESPONDER 2

/* ---------------------------------------------------------------------------
 * The layer interface.
 */

/* What a layer knows about one message. */
typedef struct ek_layer_msg {
    /* The frame's sequence number in the sender's direction (the engine's
     * counter, authenticated by every layer through ad). */
    uint64_t seq;
    /* 1 when we send this message, 0 when we receive it. */
    int outgoing;
    /* Associated data the layer must bind (the cascade appends the
     * layer's position to the engine's). */
    const uint8_t *ad;
    size_t ad_len;
    uint64_t now_ms;
} ek_layer_msg;

/* What a layer knows during the handshake. */
typedef struct ek_layer_hs {
    int role;          /* EK_ROLE_INITIATOR or EK_ROLE_RESPONDER */
    const ek_rng *rng; /* never NULL */
    uint64_t now_ms;
    /* Ed25519 identity public keys (32 bytes); peer_identity is NULL
     * before the peer's first PDU. */
    const uint8_t *self_identity;
    const uint8_t *peer_identity;
    /* A transcript hash (32 bytes). In hello: of everything before this
     * layer's hello material. In respond, finish and complete: of
     * everything before this layer's response material (the same value
     * on both sides at all three steps). In binder: of the whole PDU
     * before its signature (response or finish). */
    const uint8_t *transcript;
} ek_layer_hs;

/* Binder stages: the response's confirmation (what both sides know once
 * the response is read) and the finish's (everything). */
#define EK_HS_STAGE_RESPONSE 1
#define EK_HS_STAGE_FINISH   2

/* A layer's control message (a re-key, a rotation notice), carried by the
 * engine as an inner PDU through the whole cascade (docs/protocol.md §6.5).
 * type is one of the control PDU types; data may be empty. */
typedef struct ek_layer_control {
    const char *type;
    uint64_t epoch;
    uint64_t timestamp;
    const uint8_t *data;
    size_t data_len;
} ek_layer_control;

typedef struct ek_layer ek_layer;

typedef struct ek_layer_ops {
    const char *name; /* the wire name, e.g. "AES" */

    /* --- handshake (docs/protocol.md §4). Every function may be NULL
     * when the layer has nothing to do at that step (no material). ---*/
    /* Initiator: our material for hello. */
    int (*hello)(ek_layer *l, ek_writer *out, const ek_layer_hs *h);
    /* Responder: read the initiator's hello material, write ours for
     * response. */
    int (*respond)(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                   const ek_layer_hs *h);
    /* Initiator: read the responder's response material, write ours for
     * finish. */
    int (*finish)(ek_layer *l, ek_writer *out, const uint8_t *in, size_t in_len,
                  const ek_layer_hs *h);
    /* Responder: read the initiator's finish material. */
    int (*complete)(ek_layer *l, const uint8_t *in, size_t in_len, const ek_layer_hs *h);
    /* The binder of stage EK_HS_STAGE_* (*len 0 when the layer confirms
     * itself another way); at most EK_LAYER_BINDER_LEN bytes. */
    int (*binder)(ek_layer *l, uint8_t *out, size_t *len, int stage, const ek_layer_hs *h);
    /* The handshake is over: derive traffic keys from the session id. */
    int (*established)(ek_layer *l, const uint8_t session_id[32]);

    /* --- messages --- */
    /* The most bytes seal may add to pt_len bytes. */
    size_t (*overhead)(const ek_layer *l, size_t pt_len);
    int (*seal)(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len, const ek_layer_msg *m,
                const uint8_t *pt, size_t pt_len);
    /* out has room for ct_len bytes. The state change is pending until
     * commit or rollback. */
    int (*open)(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len, const ek_layer_msg *m,
                const uint8_t *ct, size_t ct_len);
    void (*commit)(ek_layer *l);
    void (*rollback)(ek_layer *l);

    /* --- control messages (may be NULL) --- */
    /* 1 and *out filled when the layer wants to send one (the data stays
     * valid until the next call on the layer), 0 when not, or an error. */
    int (*poll_control)(ek_layer *l, ek_layer_control *out, uint64_t now_ms);
    int (*control)(ek_layer *l, const ek_layer_control *in, uint64_t now_ms);

    /* --- state (the bytes hold secrets: the vault seals them) --- */
    int (*save)(const ek_layer *l, ek_writer *w);
    int (*restore)(ek_layer *l, const uint8_t *in, size_t in_len);
    /* Wipe every secret and free the layer. */
    void (*free)(ek_layer *l);

    /* --- resumption (docs/protocol.md §4.6). Both may be NULL: a layer
     * without counter-keyed state of its own sends no material and is not
     * re-keyed. (Added after free, so layers written before keep working.)
     * A resumed session must never use a (key, nonce) it used before, even
     * when one side came back from an older saved state: every layer whose
     * keys or nonces follow counters re-keys from its current keys and the
     * resume context, which both sides' fresh nonces make new each time. */
    /* Where our keys stand (epochs, chain positions, our current public
     * key: whatever the peer needs to meet us), for resume / resume-ok. */
    int (*resume_material)(const ek_layer *l, ek_writer *out);
    /* With the peer's material: apply 0 checks only that both sides can
     * agree on a starting point (EK_ERR_STATE when the states are too far
     * apart: the session then falls back to a fresh handshake; EK_ERR_DECODE
     * for malformed material) and changes nothing; apply 1 re-keys both
     * directions from that point and ctx (32 bytes, the same on both
     * sides, secret). Called with apply 1 only after apply 0 succeeded. */
    int (*resume)(ek_layer *l, const uint8_t *peer, size_t peer_len, const uint8_t ctx[32],
                  int apply);
} ek_layer_ops;

/* Every layer object starts with this header. */
struct ek_layer {
    const ek_layer_ops *ops;
    const ek_allocator *alloc;
    const ek_rng *rng;
};

/* The built-in layers. a may be NULL (malloc); rng NULL means the system
 * CSPRNG; both must outlive the layer. */
EK_API EK_MUST_CHECK int ek_layer_aes_new(ek_layer **out, const ek_allocator *a, const ek_rng *rng);
EK_API EK_MUST_CHECK int ek_layer_mlkem_new(ek_layer **out, const ek_allocator *a,
                                            const ek_rng *rng);
/* The Signal layer runs a session of id (copied). */
EK_API EK_MUST_CHECK int ek_layer_signal_new(ek_layer **out, const ek_allocator *a,
                                             const ek_rng *rng, const ek_ratchet_identity *id);
EK_API EK_MUST_CHECK int ek_layer_mls_new(ek_layer **out, const ek_allocator *a, const ek_rng *rng);
/* The original's golden-vector mock layer (Appendix A, V1 and V2): seal
 * appends the byte tag, open checks and removes it. Not a cipher. */
EK_API EK_MUST_CHECK int ek_layer_mock_new(ek_layer **out, const ek_allocator *a, const char *name,
                                           uint8_t tag);
/* One of the four built-in layers by wire name; EK_ERR_UNSUPPORTED for
 * any other name. id is used by the Signal layer only. */
EK_API EK_MUST_CHECK int ek_layer_new_by_name(ek_layer **out, const char *name,
                                              const ek_allocator *a, const ek_rng *rng,
                                              const ek_ratchet_identity *id);
EK_API void ek_layer_free(ek_layer *l);
EK_API const char *ek_layer_name(const ek_layer *l);

/* ---------------------------------------------------------------------------
 * The cascade.
 */
typedef struct ek_cascade ek_cascade;

/* A cascade over layers[0..n) (layer 0 innermost); it takes ownership of
 * the layers, also on failure. */
EK_API EK_MUST_CHECK int ek_cascade_new(ek_cascade **out, const ek_allocator *a,
                                        ek_layer *const *layers, size_t n);
EK_API void ek_cascade_free(ek_cascade *c);
EK_API size_t ek_cascade_layer_count(const ek_cascade *c);
EK_API ek_layer *ek_cascade_layer(const ek_cascade *c, size_t i);

/* The most bytes sealing pt_len bytes may produce; SIZE_MAX when pt_len is
 * too large for one of the layers (the Signal layer takes at most
 * EK_RATCHET_MAX_PLAINTEXT bytes). */
EK_API size_t ek_cascade_sealed_max(const ek_cascade *c, size_t pt_len);
/* Seal pt through layers 0..n-1. m->ad is extended with each layer's
 * position before the layer sees it. */
EK_API EK_MUST_CHECK int ek_cascade_seal(ek_cascade *c, uint8_t *out, size_t out_cap,
                                         size_t *out_len, const ek_layer_msg *m, const uint8_t *pt,
                                         size_t pt_len);
/* Open ct through layers n-1..0 into out (room for ct_len bytes). All
 * layers commit when every one opened; otherwise every layer rolls back,
 * out is wiped and the first layer's error returned. */
EK_API EK_MUST_CHECK int ek_cascade_open(ek_cascade *c, uint8_t *out, size_t out_cap,
                                         size_t *out_len, const ek_layer_msg *m, const uint8_t *ct,
                                         size_t ct_len);

#ifdef __cplusplus
}
#endif
#endif /* EK_CASCADE_H */
