/*
 * ratchet_cascade.h: what the cascade's Signal layer (lib/cascade/
 * layer_signal.c) needs from the ratchet beyond ek_ratchet.h: a two-phase
 * decrypt and a look at the next message's header. Implemented in
 * session.c.
 */
#ifndef EK_RATCHET_CASCADE_H
#define EK_RATCHET_CASCADE_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_ratchet.h>

/*
 * Two-phase decrypt, for the cascade (docs/protocol.md §5.3: a layer's open
 * is kept aside until every layer opened). ratchet_decrypt_prepare is
 * ek_ratchet_decrypt without the commit: on success the session is
 * unchanged and holds the verified result aside; ratchet_decrypt_commit
 * applies it, ratchet_decrypt_abort drops it, so the same bytes open again
 * to the same plaintext. A new prepare, an encrypt or a free drops a
 * pending result first. ek_ratchet_decrypt is prepare then commit.
 */
int ratchet_decrypt_prepare(uint8_t *out, size_t out_cap, size_t *out_len, ek_ratchet_session *s,
                            int type, const void *ad, size_t ad_len, const uint8_t *msg,
                            size_t msg_len);
void ratchet_decrypt_commit(ek_ratchet_session *s);
void ratchet_decrypt_abort(ek_ratchet_session *s);

/* What the next ek_ratchet_encrypt will put in its message header: the
 * sending ratchet key u, the counter N and previous counter PN, and the
 * message type (EK_RATCHET_MSG_PREKEY while unacknowledged). EK_ERR_STATE
 * when the session cannot encrypt. */
int ratchet_next_header(const ek_ratchet_session *s, uint8_t u[32], uint32_t *n, uint32_t *pn,
                        int *type);

#endif /* EK_RATCHET_CASCADE_H */
