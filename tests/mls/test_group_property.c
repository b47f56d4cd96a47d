/*
 * test_group_property.c: random group histories (RFC 9420 §12). Members
 * (up to 50) add, remove and update each other with commits that carry the
 * proposals by value or refer to proposals sent before, commit empty
 * updates, and send application messages; every message reaches every
 * member in order. After every step every member has the same epoch, tree
 * hash and epoch authenticator, and every application message reads the
 * same everywhere.
 *
 * A removed member can decrypt nothing of later epochs. Its last state from
 * before the removal is kept (as a saved blob, a "ghost") and, for every
 * later message:
 *   - the ghost refuses it; the commit that removed it only tells it that
 *     it is out, without the new epoch's secrets;
 *   - white box: even told to take a later PrivateMessage as one of its
 *     own epoch, the ghost's secrets open nothing (EK_ERR_AUTH);
 * and after every step no node of the members' ratchet tree holds a public
 * key whose private key a ghost has (so no later UpdatePath encrypts a
 * path secret, hence no commit secret, to a removed member, §7.5, §16.2).
 *
 * Deterministic from a seed; three seeds per run, the third with commits
 * and proposals sent as PublicMessages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "ek_test.h"
#include "mls/group_internal.h"
#include "mls_group_util.h"

#define MAX_CLIENTS 128
#define MAX_MEMBERS 50
#define STEPS       140

/* Keys one member holds at a time: its leaf and path, in up to three
 * epochs, and an Update it proposed. */
#define MAX_GHOST_KEYS ((size_t)3 * (EK_MLS_MAX_TREE_DEPTH + 2))

/* A removed member: its saved state from just before the removal and the
 * public keys of the HPKE private keys it held. */
typedef struct ghost {
    ek_mls_buf state;
    uint8_t keys[MAX_GHOST_KEYS][EK_MLS_MAX_KEM_PUBLIC_LEN];
    size_t n_keys, pub_len;
} ghost;

typedef struct world {
    ek_rng_seeded rng;
    ek_mls_group_config cfg;
    mls_member clients[MAX_CLIENTS];
    size_t n_clients;
    /* Removed members, from just before their removal. */
    ghost ghosts[MAX_CLIENTS];
    size_t n_ghosts;
    unsigned commits, apps, adds, removes, updates;
} world;

static uint32_t rnd(world *w, uint32_t n)
{
    uint8_t b[4];
    if (ek_random(&w->rng.rng, b, 4) != EK_OK)
        return 0;
    uint32_t x = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return n ? x % n : 0;
}

static int is_member(const mls_member *m)
{
    return m->g != NULL && ek_mls_group_active(m->g);
}

static size_t members(world *w, mls_member **out)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n_clients; i++)
        if (is_member(&w->clients[i]))
            out[n++] = &w->clients[i];
    return n;
}

/* The epoch of a PrivateMessage (0 and *is_private 0 for anything else). */
static uint64_t private_epoch(const ek_mls_buf *msg, int *is_private)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_message m;
    uint64_t epoch = 0;
    *is_private = ek_mls_message_decode(&m, &a, msg->data, msg->len) == EK_OK &&
                  m.wire_format == EK_MLS_WIRE_PRIVATE_MESSAGE;
    if (*is_private)
        epoch = m.u.private_message.epoch;
    ek_mls_arena_free(&a);
    return epoch;
}

static int holds_key(const ek_mls_tree *t, const uint8_t *pub, size_t len)
{
    for (uint32_t i = 0; i < ek_mls_tree_nodes(t); i++) {
        const ek_mls_tnode *n = ek_mls_tree_get(t, i);
        if (n != NULL && n->encryption_key.len == len &&
            memcmp(n->encryption_key.data, pub, len) == 0)
            return 1;
    }
    return 0;
}

/* A new ghost from the saved state of a member about to be removed; white
 * box: the public keys of every HPKE private key it holds (own leaf and
 * path, in every epoch it keeps, and an Update it proposed). */
static void add_ghost(world *w, ek_mls_buf state)
{
    ghost *gh = &w->ghosts[w->n_ghosts++];
    gh->state = state;
    ek_mls_group *g = NULL;
    EK_CHECK_OK(ek_mls_group_restore(&g, NULL, state.data, state.len));
    ek_mls_group_set_time(g, MLS_TEST_NOW_S);
    if (g == NULL)
        return;
    gh->pub_len = g->suite->kem_public_len;
    const ek_mls_epoch *epochs[] = {g->cur, g->prev, g->pending};
    for (size_t e = 0; e < 3; e++) {
        if (epochs[e] == NULL)
            continue;
        const ek_mls_keyring *ring = &epochs[e]->ring;
        for (size_t k = 0; k < ring->count && gh->n_keys < MAX_GHOST_KEYS; k++)
            memcpy(gh->keys[gh->n_keys++], ring->k[k].pub, gh->pub_len);
        for (size_t p = 0; p < epochs[e]->proposal_count && gh->n_keys < MAX_GHOST_KEYS; p++)
            if (epochs[e]->proposals[p].own_update)
                memcpy(gh->keys[gh->n_keys++], epochs[e]->proposals[p].update_pub, gh->pub_len);
    }
    EK_CHECK(gh->n_keys > 0 && gh->n_keys < MAX_GHOST_KEYS);
    ek_mls_group_free(g);
}

/* White box: no node of the members' tree t holds a key a ghost can
 * decrypt to. */
static void ghost_keys_gone(world *w, const ek_mls_tree *t)
{
    for (size_t i = 0; i < w->n_ghosts; i++)
        for (size_t k = 0; k < w->ghosts[i].n_keys; k++)
            EK_CHECK(!holds_key(t, w->ghosts[i].keys[k], w->ghosts[i].pub_len));
}

/* A removed member's old state refuses msg; white box: even made to take a
 * PrivateMessage of a later epoch as one of its own epoch, it cannot open
 * it with the secrets it has. */
static void ghosts_refuse(world *w, const ek_mls_buf *msg)
{
    int is_private = 0;
    uint64_t epoch = private_epoch(msg, &is_private);
    for (size_t i = 0; i < w->n_ghosts; i++) {
        ek_mls_group *g = NULL;
        EK_CHECK_OK(
            ek_mls_group_restore(&g, NULL, w->ghosts[i].state.data, w->ghosts[i].state.len));
        ek_mls_group_set_time(g, MLS_TEST_NOW_S);
        if (g == NULL)
            continue;
        ek_mls_received r;
        int rc = ek_mls_group_process(g, &r, msg->data, msg->len);
        /* Refused, or (the commit that removed it) only the news that it
         * is out, with no secrets of the new epoch. */
        uint8_t auth[EK_MLS_MAX_HASH_LEN];
        size_t al;
        EK_CHECK(rc != EK_OK || (r.kind == EK_MLS_RECEIVED_COMMIT && r.removed &&
                                 ek_mls_group_epoch_authenticator(g, auth, &al) == EK_ERR_STATE));
        ek_mls_received_free(&r);
        /* A refused message left the ghost as it was. */
        if (rc != EK_OK && is_private && epoch != ek_mls_group_epoch(g)) {
            ek_mls_group_settle(g);
            g->cur->epoch = epoch;
            EK_CHECK_RC(ek_mls_group_process(g, &r, msg->data, msg->len), EK_ERR_AUTH);
            ek_mls_received_free(&r);
        }
        ek_mls_group_free(g);
    }
}

/* Deliver msg to every member but from; members the commit removes are
 * kept as ghosts. */
static void deliver(world *w, mls_member *from, const ek_mls_buf *msg, int want_kind,
                    const char *text)
{
    mls_member *ms[MAX_CLIENTS];
    size_t n = members(w, ms);
    for (size_t i = 0; i < n; i++) {
        if (ms[i] == from)
            continue;
        ek_mls_buf before = {0};
        if (want_kind == EK_MLS_RECEIVED_COMMIT)
            EK_CHECK_OK(ek_mls_group_save(ms[i]->g, &before));
        ek_mls_received r;
        int rc = ek_mls_group_process(ms[i]->g, &r, msg->data, msg->len);
        EK_CHECK_OK(rc);
        EK_CHECK(rc != EK_OK || r.kind == want_kind);
        if (text != NULL)
            EK_CHECK(r.data.len == strlen(text) && memcmp(r.data.data, text, r.data.len) == 0);
        if (r.removed) {
            EK_CHECK(!ek_mls_group_active(ms[i]->g));
            uint8_t auth[EK_MLS_MAX_HASH_LEN];
            size_t al;
            EK_CHECK_RC(ek_mls_group_epoch_authenticator(ms[i]->g, auth, &al), EK_ERR_STATE);
            add_ghost(w, before);
            before = (ek_mls_buf){0};
        } else if (want_kind == EK_MLS_RECEIVED_COMMIT) {
            ek_mls_group_settle(ms[i]->g);
        }
        ek_mls_buf_free(&before);
        ek_mls_received_free(&r);
    }
    ghosts_refuse(w, msg);
}

static mls_member *new_client(world *w)
{
    if (w->n_clients == MAX_CLIENTS)
        return NULL;
    mls_member *m = &w->clients[w->n_clients];
    char name[32];
    snprintf(name, sizeof(name), "client %zu", w->n_clients);
    if (mls_member_init(m, name, EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, &w->rng.rng) !=
        EK_OK)
        return NULL;
    w->n_clients++;
    return m;
}

/* committer commits (opt, plus the proposals everyone cached); the new
 * clients join from the Welcome. */
static void commit(world *w, mls_member *committer, const ek_mls_commit_options *opt,
                   mls_member **joiners, size_t n_joiners)
{
    ek_mls_buf c, wel;
    EK_CHECK_OK(ek_mls_group_commit(committer->g, &c, &wel, opt));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(committer->g));
    ek_mls_group_settle(committer->g);
    deliver(w, committer, &c, EK_MLS_RECEIVED_COMMIT, NULL);
    for (size_t i = 0; i < n_joiners; i++) {
        EK_CHECK_OK(
            ek_mls_group_join(&joiners[i]->g, &w->cfg, wel.data, wel.len, joiners[i]->kp, NULL, 0));
        ek_mls_group_set_time(joiners[i]->g, MLS_TEST_NOW_S);
    }
    EK_CHECK((n_joiners > 0) == (wel.len > 0));
    ek_mls_buf_free(&c);
    ek_mls_buf_free(&wel);
    w->commits++;
}

static void step(world *w)
{
    mls_member *ms[MAX_CLIENTS];
    size_t n = members(w, ms);
    if (n == 0)
        return;
    mls_member *actor = ms[rnd(w, (uint32_t)n)];
    uint32_t op = rnd(w, 10);
    int by_ref = (int)rnd(w, 2);
    if (op < 3 && n < MAX_MEMBERS) {
        /* Add one to three new clients. */
        size_t k = 1 + rnd(w, 3);
        if (n + k > MAX_MEMBERS)
            k = MAX_MEMBERS - n;
        mls_member *joiners[3];
        ek_mls_bytes kps[3];
        size_t got = 0;
        for (size_t i = 0; i < k; i++) {
            joiners[got] = new_client(w);
            if (joiners[got] == NULL)
                break;
            ek_mls_key_package_bundle_message(joiners[got]->kp, &kps[got].data, &kps[got].len);
            got++;
        }
        if (got == 0)
            return;
        if (by_ref) {
            /* The actor proposes, someone else commits the proposals. */
            for (size_t i = 0; i < got; i++) {
                ek_mls_buf p;
                EK_CHECK_OK(ek_mls_group_propose_add(actor->g, &p, kps[i].data, kps[i].len));
                deliver(w, actor, &p, EK_MLS_RECEIVED_PROPOSAL, NULL);
                ek_mls_buf_free(&p);
            }
            commit(w, ms[rnd(w, (uint32_t)n)], NULL, joiners, got);
        } else {
            ek_mls_commit_options opt = {.add_key_packages = kps, .add_count = got};
            commit(w, actor, &opt, joiners, got);
        }
        w->adds += (unsigned)got;
    } else if (op < 5 && n > 2) {
        /* Remove someone other than the committer. */
        mls_member *victim = ms[rnd(w, (uint32_t)n)];
        mls_member *committer = actor;
        while (committer == victim)
            committer = ms[rnd(w, (uint32_t)n)];
        uint32_t leaf = ek_mls_group_own_leaf(victim->g);
        if (by_ref) {
            ek_mls_buf p;
            EK_CHECK_OK(ek_mls_group_propose_remove(actor->g, &p, leaf));
            deliver(w, actor, &p, EK_MLS_RECEIVED_PROPOSAL, NULL);
            ek_mls_buf_free(&p);
            commit(w, committer, NULL, NULL, 0);
        } else {
            ek_mls_commit_options opt = {.remove_leaves = &leaf, .remove_count = 1};
            commit(w, committer, &opt, NULL, 0);
        }
        w->removes++;
    } else if (op < 7) {
        /* An Update proposal, committed by someone else; or an empty
         * commit (an update with path) by the actor. */
        if (by_ref && n > 1) {
            ek_mls_buf p;
            EK_CHECK_OK(ek_mls_group_propose_update(actor->g, &p));
            deliver(w, actor, &p, EK_MLS_RECEIVED_PROPOSAL, NULL);
            ek_mls_buf_free(&p);
            mls_member *committer = actor;
            while (committer == actor)
                committer = ms[rnd(w, (uint32_t)n)];
            commit(w, committer, NULL, NULL, 0);
        } else {
            commit(w, actor, NULL, NULL, 0);
        }
        w->updates++;
    } else {
        char text[64];
        snprintf(text, sizeof(text), "message %u from %s", w->apps, actor->name);
        ek_mls_buf m;
        EK_CHECK_OK(
            ek_mls_group_protect(actor->g, &m, (const uint8_t *)text, strlen(text), NULL, 0));
        deliver(w, actor, &m, EK_MLS_RECEIVED_APPLICATION, text);
        ek_mls_buf_free(&m);
        w->apps++;
    }
}

static void run(const char *seed, uint16_t handshake_wire_format)
{
    world *w = calloc(1, sizeof(*w));
    ek_rng_seeded_init(&w->rng, (const uint8_t *)seed, strlen(seed));
    w->cfg.handshake_wire_format = handshake_wire_format;
    mls_member *creator = new_client(w);
    EK_CHECK_OK(ek_mls_group_create(&creator->g, &w->cfg, creator->kp, (const uint8_t *)seed,
                                    strlen(seed), NULL));
    ek_mls_group_set_time(creator->g, MLS_TEST_NOW_S);
    size_t peak = 1;
    for (int s = 0; s < STEPS; s++) {
        step(w);
        mls_member *ms[MAX_CLIENTS];
        size_t n = members(w, ms);
        if (n > peak)
            peak = n;
        if (!mls_same_view(ms, n)) {
            EK_CHECK(!"views differ");
            break;
        }
        for (size_t i = 0; i < n; i++)
            EK_CHECK(ek_mls_group_member_count(ms[i]->g) == n);
        ghost_keys_gone(w, &ms[0]->g->cur->tree);
        if (ek_test_failures > 0)
            break;
    }
    printf("  seed %s (%s handshake): %u commits (%u adds, %u removes, %u updates), %u messages, "
           "peak %zu "
           "members, %zu removed\n",
           seed, handshake_wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE ? "public" : "private",
           w->commits, w->adds, w->removes, w->updates, w->apps, peak, w->n_ghosts);
    for (size_t i = 0; i < w->n_clients; i++)
        mls_member_free(&w->clients[i]);
    for (size_t i = 0; i < w->n_ghosts; i++)
        ek_mls_buf_free(&w->ghosts[i].state);
    free(w);
}

int main(void)
{
    run("property 1", EK_MLS_WIRE_PRIVATE_MESSAGE);
    run("property 2", EK_MLS_WIRE_PRIVATE_MESSAGE);
    run("property 3", EK_MLS_WIRE_PUBLIC_MESSAGE);
    return ek_test_finish("mls.group_property");
}
