/*
 * skipped.c: message keys kept for messages that have not arrived yet
 * (Double Ratchet §3.5 SkipMessageKeys, §6.4).
 *
 * The store is one array, oldest first, of (chain epoch, counter, seed)
 * entries, allocated through the session's allocator when first needed and
 * never larger than EK_RATCHET_MAX_SKIPPED_KEYS. A chain is named by its
 * epoch, a serial number the session gives each receiving chain; when a
 * chain falls out of the session's short list of old chains, its keys go
 * too. Entries hold the message-key seed (HMAC(ck, 0x01)), expanded only
 * when used; used, dropped and evicted entries are wiped.
 *
 * Opening a message changes the store only through skipped_commit, after
 * the message verified; skipped_reserve makes sure the commit cannot fail.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ratchet_internal.h"

long skipped_find(const ek_ratchet_session *s, uint32_t epoch, uint32_t counter)
{
    for (size_t i = 0; i < s->n_skipped; i++)
        if (s->skipped[i].epoch == epoch && s->skipped[i].counter == counter)
            return (long)i;
    return -1;
}

int skipped_reserve(ek_ratchet_session *s, size_t n)
{
    size_t want = s->n_skipped + n;
    if (want > EK_RATCHET_MAX_SKIPPED_KEYS)
        want = EK_RATCHET_MAX_SKIPPED_KEYS;
    if (want <= s->cap_skipped)
        return EK_OK;
    /* Grow by doubling (at least 64 entries), to the bound at most; the old
     * array is wiped before it is released. */
    size_t cap = s->cap_skipped != 0 ? s->cap_skipped : 64;
    while (cap < want)
        cap *= 2;
    if (cap > EK_RATCHET_MAX_SKIPPED_KEYS)
        cap = EK_RATCHET_MAX_SKIPPED_KEYS;
    skipped_key *grown = ek_alloc(s->alloc, cap * sizeof(skipped_key));
    if (grown == NULL)
        return EK_ERR_NOMEM;
    if (s->n_skipped > 0)
        memcpy(grown, s->skipped, s->n_skipped * sizeof(skipped_key));
    if (s->skipped != NULL) {
        ek_wipe(s->skipped, s->cap_skipped * sizeof(skipped_key));
        ek_free(s->alloc, s->skipped, s->cap_skipped * sizeof(skipped_key));
    }
    s->skipped = grown;
    s->cap_skipped = cap;
    return EK_OK;
}

/* 1 if epoch names the current receiving chain or one of the old ones. */
static int chain_is_kept(const ratchet_core *c, uint32_t epoch)
{
    if (c->has_recv_chain && c->recv_epoch == epoch)
        return 1;
    for (uint32_t i = 0; i < c->n_old; i++)
        if (c->old[i].epoch == epoch)
            return 1;
    return 0;
}

/* Remove the entry at used and those of chains no longer kept, in order. */
static void compact(ek_ratchet_session *s, long used)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n_skipped; i++) {
        if ((long)i == used || !chain_is_kept(&s->core, s->skipped[i].epoch))
            continue;
        if (kept != i)
            s->skipped[kept] = s->skipped[i];
        kept++;
    }
    ek_wipe(s->skipped + kept, (s->n_skipped - kept) * sizeof(skipped_key));
    s->n_skipped = kept;
}

void skipped_commit(ek_ratchet_session *s, long used, const skipped_key *pending, size_t n)
{
    if (s->n_skipped > 0)
        compact(s, used);
    if (n == 0)
        return;
    /* Keep the newest: of the pending keys at most the bound, and of the
     * stored ones as many as still fit. */
    if (n > EK_RATCHET_MAX_SKIPPED_KEYS) {
        pending += n - EK_RATCHET_MAX_SKIPPED_KEYS;
        n = EK_RATCHET_MAX_SKIPPED_KEYS;
    }
    if (s->n_skipped + n > EK_RATCHET_MAX_SKIPPED_KEYS) {
        size_t evict = s->n_skipped + n - EK_RATCHET_MAX_SKIPPED_KEYS;
        ek_wipe(s->skipped, evict * sizeof(skipped_key));
        memmove(s->skipped, s->skipped + evict, (s->n_skipped - evict) * sizeof(skipped_key));
        s->n_skipped -= evict;
        ek_wipe(s->skipped + s->n_skipped, evict * sizeof(skipped_key));
    }
    memcpy(s->skipped + s->n_skipped, pending, n * sizeof(skipped_key));
    s->n_skipped += n;
}

void skipped_free(ek_ratchet_session *s)
{
    if (s->skipped != NULL) {
        ek_wipe(s->skipped, s->cap_skipped * sizeof(skipped_key));
        ek_free(s->alloc, s->skipped, s->cap_skipped * sizeof(skipped_key));
    }
    s->skipped = NULL;
    s->n_skipped = s->cap_skipped = 0;
}
