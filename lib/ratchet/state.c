/*
 * state.c: saving a session for the vault and restoring it.
 *
 * The format (docs/ratchet.md) is fixed-layout, big-endian, written through
 * ek_writer and read back through ek_reader:
 *
 *   "EKRS" u8 format(1) u8 phase u8 role u8 flags
 *   root_key[32]
 *   send: ratchet_priv[32] ratchet_pub[32] chain_key[32] u32 Ns u32 PN
 *   recv: ratchet_key[32] chain_key[32] u32 Nr u32 epoch u32 next_epoch
 *   u8 n_old, n_old x (u32 epoch, ratchet_key[32])
 *   self_identity[32] peer_identity[32] base_key[32]
 *   u32 local_registration_id u32 remote_registration_id
 *   u32 signed_prekey_id u32 one_time_prekey_id
 *   responder block (phase 1 only): identity_priv[32] u32 spk_id
 *     spk_priv[32] spk_pub[33] signature[64] u8 has_opk u32 opk_id
 *     opk_priv[32] opk_pub[33] u8 has_expected_peer expected_peer[32]
 *   u16 n_skipped, n_skipped x (u32 epoch, u32 counter, seed[32])
 *
 * Restoring checks every value it can: magic, version, known flags,
 * phase/role/flag combinations, counts within the bounds, skipped keys
 * only for chains the state names, no trailing bytes. The saved bytes hold
 * every secret of the session; the vault seals them.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

static const uint8_t state_magic[4] = {'E', 'K', 'R', 'S'};
enum { STATE_FORMAT = 1 };

enum state_flag {
    FLAG_SEND_CHAIN = 1 << 0,
    FLAG_RECV_CHAIN = 1 << 1,
    FLAG_UNACKNOWLEDGED = 1 << 2,
    FLAG_PEER_IDENTITY = 1 << 3,
    FLAG_ONE_TIME_PREKEY = 1 << 4,
    FLAG_ALL = (1 << 5) - 1,
};

enum {
    CORE_LEN = 4 + 4 + 32 + (32 * 3 + 8) + (32 * 2 + 12) + 1 + 32 * 3 + 16,
    OLD_CHAIN_LEN = 4 + 32,
    RESPONDER_LEN = 32 + 4 + 32 + 33 + 64 + 1 + 4 + 32 + 33 + 1 + 32,
    SKIPPED_LEN = 4 + 4 + 32,
};

size_t ek_ratchet_session_saved_len(const ek_ratchet_session *s)
{
    if (s == NULL)
        return 0;
    return CORE_LEN + s->core.n_old * OLD_CHAIN_LEN +
           (s->core.phase == PHASE_AWAIT_PREKEY ? RESPONDER_LEN : 0) + 2 +
           s->n_skipped * SKIPPED_LEN;
}

static void write_responder(ek_writer *w, const responder_secrets *r)
{
    const ek_ratchet_prekeys *pk = &r->prekeys;
    ek_write_bytes(w, r->identity_priv, 32);
    ek_write_u32(w, pk->signed_prekey_id);
    ek_write_bytes(w, pk->signed_prekey.priv, 32);
    ek_write_bytes(w, pk->signed_prekey.pub, EK_RATCHET_PUBLIC_LEN);
    ek_write_bytes(w, pk->signature, EK_XEDDSA_SIG_LEN);
    ek_write_u8(w, (uint8_t)(pk->has_one_time_prekey != 0));
    ek_write_u32(w, pk->one_time_prekey_id);
    ek_write_bytes(w, pk->one_time_prekey.priv, 32);
    ek_write_bytes(w, pk->one_time_prekey.pub, EK_RATCHET_PUBLIC_LEN);
    ek_write_u8(w, r->has_expected_peer);
    ek_write_bytes(w, r->expected_peer, 32);
}

int ek_ratchet_session_save(uint8_t *out, size_t out_cap, size_t *out_len,
                            const ek_ratchet_session *s)
{
    if (out == NULL || out_len == NULL || s == NULL)
        return EK_ERR_INVALID_ARG;
    *out_len = 0;
    const ratchet_core *c = &s->core;
    size_t want = ek_ratchet_session_saved_len(s);
    if (want > out_cap)
        return EK_ERR_TOO_LARGE;
    uint8_t flags = (uint8_t)((c->has_send_chain ? FLAG_SEND_CHAIN : 0) |
                              (c->has_recv_chain ? FLAG_RECV_CHAIN : 0) |
                              (c->unacknowledged ? FLAG_UNACKNOWLEDGED : 0) |
                              (c->has_peer_identity ? FLAG_PEER_IDENTITY : 0) |
                              (c->has_one_time_prekey ? FLAG_ONE_TIME_PREKEY : 0));
    ek_writer w;
    ek_writer_init_fixed(&w, out, out_cap);
    ek_write_bytes(&w, state_magic, sizeof(state_magic));
    ek_write_u8(&w, STATE_FORMAT);
    ek_write_u8(&w, c->phase);
    ek_write_u8(&w, c->role);
    ek_write_u8(&w, flags);
    ek_write_bytes(&w, c->root_key, 32);
    ek_write_bytes(&w, c->send_ratchet_priv, 32);
    ek_write_bytes(&w, c->send_ratchet_pub, 32);
    ek_write_bytes(&w, c->send_chain_key, 32);
    ek_write_u32(&w, c->send_counter);
    ek_write_u32(&w, c->previous_counter);
    ek_write_bytes(&w, c->recv_ratchet_key, 32);
    ek_write_bytes(&w, c->recv_chain_key, 32);
    ek_write_u32(&w, c->recv_counter);
    ek_write_u32(&w, c->recv_epoch);
    ek_write_u32(&w, c->next_epoch);
    ek_write_u8(&w, (uint8_t)c->n_old);
    for (uint32_t i = 0; i < c->n_old; i++) {
        ek_write_u32(&w, c->old[i].epoch);
        ek_write_bytes(&w, c->old[i].ratchet_key, 32);
    }
    ek_write_bytes(&w, c->self_identity, 32);
    ek_write_bytes(&w, c->peer_identity, 32);
    ek_write_bytes(&w, c->base_key, 32);
    ek_write_u32(&w, c->local_registration_id);
    ek_write_u32(&w, c->remote_registration_id);
    ek_write_u32(&w, c->signed_prekey_id);
    ek_write_u32(&w, c->one_time_prekey_id);
    if (c->phase == PHASE_AWAIT_PREKEY)
        write_responder(&w, &s->responder);
    ek_write_u16(&w, (uint16_t)s->n_skipped);
    for (size_t i = 0; i < s->n_skipped; i++) {
        ek_write_u32(&w, s->skipped[i].epoch);
        ek_write_u32(&w, s->skipped[i].counter);
        ek_write_bytes(&w, s->skipped[i].seed, 32);
    }
    if (w.err != EK_OK || w.len != want) {
        ek_wipe(out, out_cap);
        return w.err != EK_OK ? w.err : EK_ERR_CRYPTO;
    }
    *out_len = w.len;
    return EK_OK;
}

static int read_flag(ek_reader *r, uint8_t *v)
{
    int rc = ek_read_u8(r, v);
    if (rc == EK_OK && *v > 1)
        rc = ek_reader_fail(r, EK_ERR_DECODE);
    return rc;
}

static int read_public(ek_reader *r, uint8_t out[EK_RATCHET_PUBLIC_LEN])
{
    int rc = ek_read_bytes(r, out, EK_RATCHET_PUBLIC_LEN);
    if (rc == EK_OK && out[0] != EK_RATCHET_KEY_TYPE)
        rc = ek_reader_fail(r, EK_ERR_DECODE);
    return rc;
}

static int read_responder(ek_reader *r, responder_secrets *rs)
{
    ek_ratchet_prekeys *pk = &rs->prekeys;
    uint8_t has_one_time = 0;
    ek_read_bytes(r, rs->identity_priv, 32);
    ek_read_u32(r, &pk->signed_prekey_id);
    ek_read_bytes(r, pk->signed_prekey.priv, 32);
    read_public(r, pk->signed_prekey.pub);
    ek_read_bytes(r, pk->signature, EK_XEDDSA_SIG_LEN);
    read_flag(r, &has_one_time);
    pk->has_one_time_prekey = has_one_time;
    ek_read_u32(r, &pk->one_time_prekey_id);
    ek_read_bytes(r, pk->one_time_prekey.priv, 32);
    if (has_one_time)
        read_public(r, pk->one_time_prekey.pub);
    else
        ek_read_bytes(r, pk->one_time_prekey.pub, EK_RATCHET_PUBLIC_LEN);
    read_flag(r, &rs->has_expected_peer);
    return ek_read_bytes(r, rs->expected_peer, 32);
}

static int read_core(ek_reader *r, ratchet_core *c)
{
    uint8_t magic[4] = {0}, format = 0, flags = 0, n_old = 0;
    ek_read_bytes(r, magic, sizeof(magic));
    ek_read_u8(r, &format);
    ek_read_u8(r, &c->phase);
    ek_read_u8(r, &c->role);
    int rc = ek_read_u8(r, &flags);
    if (rc != EK_OK)
        return rc;
    if (memcmp(magic, state_magic, sizeof(magic)) != 0 || format != STATE_FORMAT ||
        (flags & ~FLAG_ALL) != 0 || (c->phase != PHASE_AWAIT_PREKEY && c->phase != PHASE_READY) ||
        (c->role != ROLE_INITIATOR && c->role != ROLE_RESPONDER))
        return ek_reader_fail(r, EK_ERR_DECODE);
    c->has_send_chain = (flags & FLAG_SEND_CHAIN) != 0;
    c->has_recv_chain = (flags & FLAG_RECV_CHAIN) != 0;
    c->unacknowledged = (flags & FLAG_UNACKNOWLEDGED) != 0;
    c->has_peer_identity = (flags & FLAG_PEER_IDENTITY) != 0;
    c->has_one_time_prekey = (flags & FLAG_ONE_TIME_PREKEY) != 0;
    ek_read_bytes(r, c->root_key, 32);
    ek_read_bytes(r, c->send_ratchet_priv, 32);
    ek_read_bytes(r, c->send_ratchet_pub, 32);
    ek_read_bytes(r, c->send_chain_key, 32);
    ek_read_u32(r, &c->send_counter);
    ek_read_u32(r, &c->previous_counter);
    ek_read_bytes(r, c->recv_ratchet_key, 32);
    ek_read_bytes(r, c->recv_chain_key, 32);
    ek_read_u32(r, &c->recv_counter);
    ek_read_u32(r, &c->recv_epoch);
    ek_read_u32(r, &c->next_epoch);
    rc = ek_read_u8(r, &n_old);
    if (rc == EK_OK && n_old > EK_RATCHET_MAX_OLD_CHAINS)
        rc = ek_reader_fail(r, EK_ERR_DECODE);
    c->n_old = n_old;
    for (uint32_t i = 0; rc == EK_OK && i < c->n_old; i++) {
        ek_read_u32(r, &c->old[i].epoch);
        rc = ek_read_bytes(r, c->old[i].ratchet_key, 32);
        if (rc == EK_OK && c->old[i].epoch >= c->next_epoch)
            rc = ek_reader_fail(r, EK_ERR_DECODE);
    }
    ek_read_bytes(r, c->self_identity, 32);
    ek_read_bytes(r, c->peer_identity, 32);
    ek_read_bytes(r, c->base_key, 32);
    ek_read_u32(r, &c->local_registration_id);
    ek_read_u32(r, &c->remote_registration_id);
    ek_read_u32(r, &c->signed_prekey_id);
    return ek_read_u32(r, &c->one_time_prekey_id);
}

/* The combinations a session can actually be in. */
static int core_is_consistent(const ratchet_core *c)
{
    if (c->phase == PHASE_AWAIT_PREKEY)
        return c->role == ROLE_RESPONDER && !c->has_send_chain && !c->has_recv_chain &&
               !c->unacknowledged && !c->has_peer_identity && c->n_old == 0 && c->next_epoch == 0;
    if (!c->has_peer_identity || (c->unacknowledged && c->role != ROLE_INITIATOR))
        return 0;
    if (c->has_recv_chain && c->recv_epoch >= c->next_epoch)
        return 0;
    /* Only a receiving chain that was replaced leaves an old one behind. */
    return c->n_old == 0 || c->has_recv_chain;
}

static int read_skipped(ek_reader *r, ek_ratchet_session *s)
{
    uint16_t n = 0;
    int rc = ek_read_u16(r, &n);
    if (rc == EK_OK && n > EK_RATCHET_MAX_SKIPPED_KEYS)
        rc = ek_reader_fail(r, EK_ERR_DECODE);
    if (rc == EK_OK)
        rc = skipped_reserve(s, n);
    for (size_t i = 0; rc == EK_OK && i < n; i++) {
        skipped_key *k = &s->skipped[i];
        ek_read_u32(r, &k->epoch);
        ek_read_u32(r, &k->counter);
        rc = ek_read_bytes(r, k->seed, 32);
        if (rc != EK_OK)
            break;
        s->n_skipped = i + 1;
        /* A key for a chain the state does not name could never be used. */
        int kept = s->core.has_recv_chain && k->epoch == s->core.recv_epoch &&
                   k->counter < s->core.recv_counter;
        for (uint32_t j = 0; j < s->core.n_old; j++)
            kept |= k->epoch == s->core.old[j].epoch;
        if (!kept || skipped_find(s, k->epoch, k->counter) != (long)i)
            rc = ek_reader_fail(r, EK_ERR_DECODE);
    }
    return rc;
}

int ek_ratchet_session_restore(ek_ratchet_session **out, const ek_allocator *a, const ek_rng *rng,
                               const uint8_t *in, size_t in_len)
{
    if (out == NULL || (in == NULL && in_len > 0))
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    ek_ratchet_session *s = NULL;
    int rc = session_alloc(&s, a, rng);
    if (rc != EK_OK)
        return rc;
    ek_reader r;
    ek_reader_init(&r, in, in_len);
    rc = read_core(&r, &s->core);
    if (rc == EK_OK && !core_is_consistent(&s->core))
        rc = EK_ERR_DECODE;
    if (rc == EK_OK && s->core.phase == PHASE_AWAIT_PREKEY)
        rc = read_responder(&r, &s->responder);
    if (rc == EK_OK)
        rc = read_skipped(&r, s);
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    if (rc != EK_OK) {
        ek_ratchet_session_free(s);
        return rc;
    }
    *out = s;
    return EK_OK;
}
