/*
 * test_ratchet_property.c: two of our sessions over a hostile network, many
 * seeds. Each step sends, delivers (from a window: reordering), drops,
 * duplicates, corrupts, or saves and restores a session. The properties:
 *
 *   - every message delivered for the first time opens, with its plaintext,
 *     unless the documented bound says its chain is gone (more than
 *     EK_RATCHET_MAX_OLD_CHAINS receiving chains ago): the test models that
 *     bound from the chain each message was sent on and expects EK_ERR_AUTH
 *     exactly then;
 *   - every corrupted copy (bit flip, byte change, truncation, extension,
 *     type change) is rejected, and the session is byte-for-byte unchanged
 *     (compared through save). The one exception is documented Signal v3
 *     behaviour: without associated data a PreKeySignalMessage's
 *     registrationId is not authenticated, so a change confined to it opens
 *     (the plaintext must still be the original one). With associated data
 *     (half of the seeds) there is no exception;
 *   - every replay is rejected (EK_ERR_AUTH), the session unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#include "ek_test.h"
#include "ratchet/ratchet_internal.h"

enum {
    SEEDS = 240,
    STEPS = 500,
    MAX_PT = 300,
    WIRE_CAP = 512,
    MAX_FLIGHT = 16, /* undelivered messages per direction */
    WINDOW = 6,      /* deliveries pick among the oldest WINDOW */
    MAX_MSGS = STEPS + 8,
};

typedef struct message {
    uint8_t wire[WIRE_CAP];
    size_t len;
    uint8_t pt[MAX_PT];
    size_t pt_len;
    uint32_t chain; /* the sender's chain ordinal when it was sent */
    int delivered, dropped;
} message;

typedef struct side {
    ek_ratchet_session *s;
    uint8_t last_pub[32];
    uint32_t chain;    /* ordinal of our sending chain */
    uint32_t max_seen; /* highest chain ordinal of the peer we opened */
    int seen_any;
} side;

typedef struct stats {
    unsigned long sent, delivered, dropped, corrupt_rejected, replay_rejected, too_old, regid_only,
        restores;
} stats;

static stats total;

typedef struct world {
    ek_rng_seeded rng;
    side side[2]; /* 0 Alice, 1 Bob */
    message *msgs[2];
    size_t n[2];
    const uint8_t *ad;
    size_t ad_len;
} world;

static uint32_t rnd(world *w, uint32_t n)
{
    uint8_t b[4];
    if (ek_random(&w->rng.rng, b, 4) != EK_OK)
        abort();
    uint32_t x = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return n == 0 ? 0 : x % n;
}

static uint8_t *save(const ek_ratchet_session *s, size_t *len)
{
    size_t n = ek_ratchet_session_saved_len(s);
    uint8_t *b = malloc(n);
    if (b == NULL || ek_ratchet_session_save(b, n, len, s) != EK_OK)
        abort();
    return b;
}

/* Follow a side's sending chain: it changes when it opens a new chain. */
static void track_chain(side *sd)
{
    if (memcmp(sd->last_pub, sd->s->core.send_ratchet_pub, 32) != 0) {
        memcpy(sd->last_pub, sd->s->core.send_ratchet_pub, 32);
        sd->chain++;
    }
}

static size_t undelivered(const world *w, int dir, size_t *idx)
{
    size_t k = 0;
    for (size_t i = 0; i < w->n[dir] && k < MAX_FLIGHT; i++)
        if (!w->msgs[dir][i].delivered && !w->msgs[dir][i].dropped)
            idx[k++] = i;
    return k;
}

static void do_send(world *w, int from)
{
    side *sd = &w->side[from];
    size_t idx[MAX_FLIGHT];
    if (!ek_ratchet_session_ready(sd->s) || w->n[from] >= MAX_MSGS ||
        undelivered(w, from, idx) >= MAX_FLIGHT)
        return;
    message *m = &w->msgs[from][w->n[from]];
    m->pt_len = rnd(w, MAX_PT);
    if (ek_random(&w->rng.rng, m->pt, m->pt_len) != EK_OK)
        abort();
    EK_CHECK_OK(ek_ratchet_seal(m->wire, sizeof(m->wire), &m->len, sd->s, w->ad, w->ad_len, m->pt,
                                m->pt_len));
    m->chain = sd->chain;
    m->delivered = m->dropped = 0;
    w->n[from]++;
    total.sent++;
}

/* Open wire at side to; on failure the session must be unchanged. */
static int open_checked(world *w, int to, const uint8_t *wire, size_t len, uint8_t *out,
                        size_t *out_len)
{
    size_t before_len = 0;
    uint8_t *before = save(w->side[to].s, &before_len);
    int rc = ek_ratchet_open(out, WIRE_CAP, out_len, w->side[to].s, w->ad, w->ad_len, wire, len);
    if (rc != EK_OK) {
        size_t after_len = 0;
        uint8_t *after = save(w->side[to].s, &after_len);
        if (after_len != before_len || memcmp(before, after, before_len) != 0)
            ek_test_fail(__FILE__, __LINE__, "a rejected message (rc %d) changed the session", rc);
        free(after);
    }
    free(before);
    return rc;
}

/* A corrupted copy of m: its open must fail, apart from the documented
 * registrationId case without associated data. */
static void deliver_corrupted(world *w, int dir, message *m)
{
    uint8_t c[WIRE_CAP + 8], out[WIRE_CAP];
    size_t len = m->len, out_len = 0;
    memcpy(c, m->wire, len);
    switch (rnd(w, 5)) {
    case 0: { /* flip a bit */
        size_t bit = rnd(w, (uint32_t)(8 * len));
        c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        break;
    }
    case 1: { /* change a byte */
        size_t at = rnd(w, (uint32_t)len);
        c[at] = (uint8_t)(c[at] + 1 + rnd(w, 255));
        break;
    }
    case 2: /* truncate */ len = rnd(w, (uint32_t)len); break;
    case 3: /* extend */
        for (uint32_t k = 1 + rnd(w, 8); k > 0; k--)
            c[len++] = (uint8_t)rnd(w, 256);
        break;
    default: /* the other message type */
        c[0] = c[0] == EK_RATCHET_MSG_SIGNAL ? EK_RATCHET_MSG_PREKEY : EK_RATCHET_MSG_SIGNAL;
    }
    int to = 1 - dir;
    int rc = open_checked(w, to, c, len, out, &out_len);
    if (rc != EK_OK) {
        total.corrupt_rejected++;
        return;
    }
    /* Accepted: only a registrationId change of a PreKeySignalMessage
     * without associated data may be, and it opens to the same plaintext. */
    prekey_message a, b;
    int only_regid =
        w->ad_len == 0 && m->wire[0] == EK_RATCHET_MSG_PREKEY && c[0] == EK_RATCHET_MSG_PREKEY &&
        prekey_message_decode(&a, m->wire + 1, m->len - 1) == EK_OK &&
        prekey_message_decode(&b, c + 1, len - 1) == EK_OK &&
        a.registration_id != b.registration_id && a.signed_prekey_id == b.signed_prekey_id &&
        a.has_one_time_prekey_id == b.has_one_time_prekey_id &&
        a.one_time_prekey_id == b.one_time_prekey_id && memcmp(a.base_key, b.base_key, 32) == 0 &&
        memcmp(a.identity_key, b.identity_key, 32) == 0 && a.message_len == b.message_len &&
        memcmp(a.message, b.message, a.message_len) == 0;
    if (!only_regid || out_len != m->pt_len || memcmp(out, m->pt, out_len) != 0) {
        ek_test_fail(__FILE__, __LINE__, "a corrupted message was accepted");
        return;
    }
    /* It was, in effect, the delivery of m. */
    total.regid_only++;
    m->delivered = 1;
    side *rs = &w->side[to];
    if (!rs->seen_any || m->chain > rs->max_seen)
        rs->max_seen = m->chain;
    rs->seen_any = 1;
    track_chain(rs);
}

static void do_deliver(world *w, int dir)
{
    size_t idx[MAX_FLIGHT];
    size_t k = undelivered(w, dir, idx);
    if (k == 0)
        return;
    message *m = &w->msgs[dir][idx[rnd(w, k < WINDOW ? (uint32_t)k : WINDOW)]];
    int to = 1 - dir;
    side *rs = &w->side[to];
    if (rnd(w, 4) == 0) {
        deliver_corrupted(w, dir, m);
        if (m->delivered)
            return;
    }
    /* The model of the bound: the receiver keeps its current chain and
     * EK_RATCHET_MAX_OLD_CHAINS older ones. */
    int expect_ok = !rs->seen_any || m->chain + EK_RATCHET_MAX_OLD_CHAINS >= rs->max_seen;
    uint8_t out[WIRE_CAP];
    size_t out_len = 0;
    int rc = open_checked(w, to, m->wire, m->len, out, &out_len);
    m->delivered = 1;
    total.delivered++;
    if (!expect_ok) {
        if (rc != EK_ERR_AUTH)
            ek_test_fail(__FILE__, __LINE__, "a message of a dropped chain: rc %d", rc);
        total.too_old++;
        return;
    }
    if (rc != EK_OK || out_len != m->pt_len || memcmp(out, m->pt, out_len) != 0) {
        ek_test_fail(__FILE__, __LINE__, "delivery failed: rc %d (%s), chain %u, seen %u", rc,
                     ek_strerror(rc), m->chain, rs->max_seen);
        return;
    }
    if (!rs->seen_any || m->chain > rs->max_seen)
        rs->max_seen = m->chain;
    rs->seen_any = 1;
    track_chain(rs);
}

static void do_replay(world *w, int dir)
{
    if (w->n[dir] == 0)
        return;
    message *m = &w->msgs[dir][rnd(w, (uint32_t)w->n[dir])];
    if (!m->delivered)
        return;
    uint8_t out[WIRE_CAP];
    size_t out_len = 0;
    int rc = open_checked(w, 1 - dir, m->wire, m->len, out, &out_len);
    if (rc != EK_ERR_AUTH)
        ek_test_fail(__FILE__, __LINE__, "a replay: rc %d (%s)", rc, ek_strerror(rc));
    total.replay_rejected++;
}

static void do_drop(world *w, int dir)
{
    size_t idx[MAX_FLIGHT];
    size_t k = undelivered(w, dir, idx);
    if (k > 0) {
        w->msgs[dir][idx[rnd(w, (uint32_t)k)]].dropped = 1;
        total.dropped++;
    }
}

static void do_restore(world *w, int who)
{
    size_t len = 0;
    uint8_t *b = save(w->side[who].s, &len);
    ek_ratchet_session *r = NULL;
    EK_CHECK_OK(ek_ratchet_session_restore(&r, NULL, &w->rng.rng, b, len));
    free(b);
    if (r != NULL) {
        ek_ratchet_session_free(w->side[who].s);
        w->side[who].s = r;
        total.restores++;
    }
}

static void run_seed(uint32_t seed)
{
    world *w = calloc(1, sizeof(*w));
    if (w == NULL)
        abort();
    w->msgs[0] = calloc(MAX_MSGS, sizeof(message));
    w->msgs[1] = calloc(MAX_MSGS, sizeof(message));
    if (w->msgs[0] == NULL || w->msgs[1] == NULL)
        abort();
    uint8_t seed_bytes[4] = {(uint8_t)(seed >> 24), (uint8_t)(seed >> 16), (uint8_t)(seed >> 8),
                             (uint8_t)seed};
    ek_rng_seeded_init(&w->rng, seed_bytes, sizeof(seed_bytes));
    static const uint8_t ad[] = "transcript hash of the cascade handshake";
    if (seed % 2 == 1) {
        w->ad = ad;
        w->ad_len = sizeof(ad) - 1;
    }
    ek_ratchet_identity alice, bob;
    ek_ratchet_prekeys pk;
    ek_ratchet_bundle bundle;
    EK_CHECK_OK(ek_ratchet_identity_generate(&alice, &w->rng.rng));
    EK_CHECK_OK(ek_ratchet_identity_generate(&bob, &w->rng.rng));
    EK_CHECK_OK(ek_ratchet_prekeys_generate(&pk, &bob, 1, seed % 3 != 0, 2, &w->rng.rng));
    ek_ratchet_bundle_from_prekeys(&bundle, &bob, &pk, 1);
    EK_CHECK_OK(
        ek_ratchet_session_new_initiator(&w->side[0].s, NULL, &w->rng.rng, &alice, &bundle));
    EK_CHECK_OK(
        ek_ratchet_session_new_responder(&w->side[1].s, NULL, &w->rng.rng, &bob, &pk, NULL));
    if (w->side[0].s == NULL || w->side[1].s == NULL)
        abort();
    for (int i = 0; i < 2; i++)
        memcpy(w->side[i].last_pub, w->side[i].s->core.send_ratchet_pub, 32);

    for (int step = 0; step < STEPS; step++) {
        uint32_t r = rnd(w, 100);
        int dir = (int)rnd(w, 2);
        if (r < 40)
            do_send(w, dir);
        else if (r < 85)
            do_deliver(w, dir);
        else if (r < 90)
            do_drop(w, dir);
        else if (r < 97)
            do_replay(w, dir);
        else
            do_restore(w, dir);
    }
    /* Drain: everything still in flight must open (or be too old). */
    for (int dir = 0; dir < 2; dir++) {
        size_t idx[MAX_FLIGHT];
        while (undelivered(w, dir, idx) > 0)
            do_deliver(w, dir);
    }
    for (int i = 0; i < 2; i++)
        ek_ratchet_session_free(w->side[i].s);
    free(w->msgs[0]);
    free(w->msgs[1]);
    free(w);
}

int main(void)
{
    for (uint32_t seed = 1; seed <= SEEDS && ek_test_failures < 20; seed++)
        run_seed(seed);
    printf("property: %d seeds x %d steps: sent %lu, delivered %lu (too old %lu), dropped %lu, "
           "corrupted rejected %lu, registrationId-only accepted %lu, replays rejected %lu, "
           "restores %lu\n",
           SEEDS, STEPS, total.sent, total.delivered, total.too_old, total.dropped,
           total.corrupt_rejected, total.regid_only, total.replay_rejected, total.restores);
    EK_CHECK(total.corrupt_rejected > 1000 && total.replay_rejected > 1000);
    return ek_test_finish("ratchet.property");
}
