/*
 * test_libsignal_interop.c: our Signal layer against libsignal-protocol-c
 * (Debian's libsignal-protocol-c-dev), the reference C implementation of
 * Signal's protocol version 3.
 *
 *   test_libsignal_interop ours-initiates       our Alice, libsignal's bundle
 *   test_libsignal_interop libsignal-initiates  libsignal's Alice, our bundle
 *   test_libsignal_interop xeddsa               signatures both ways
 *
 * A session runs 10,000 messages each way (and a second, shorter one
 * without a one-time prekey) over a simulated network with random
 * interleaving, reordering and drops. Every delivered message must decrypt
 * to exactly what was sent. Reordering stays within both implementations'
 * bounds: at most WINDOW messages in flight per direction, delivered from
 * the oldest few, and never from a sending chain more than MAX_CHAIN_LAG
 * chains behind the newest one delivered (libsignal keeps 5 receiving
 * chains, we keep 1 + EK_RATCHET_MAX_OLD_CHAINS); forward jumps stay far
 * below both skip bounds (2000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_ratchet.h>

#include "ek_test.h"
#include "libsignal_glue.h"
#include "ratchet/ratchet_internal.h"

enum {
    MESSAGES = 10000,
    SHORT_MESSAGES = 500,
    MAX_PT = 512,
    WIRE = 1024,
    WINDOW = 8,
    PICK = 4,
    MAX_CHAIN_LAG = 3,
    MAX_RATCHET_KEYS = 40000,
};

typedef struct packet {
    uint8_t wire[WIRE];
    size_t len;
    int type;
    uint8_t pt[MAX_PT];
    size_t pt_len;
    uint32_t chain;    /* ordinal of the sender's ratchet key */
    unsigned long seq; /* order of sending */
} packet;

/* One direction of the network. */
typedef struct link {
    packet q[WINDOW];
    size_t n;
    uint8_t (*keys)[32]; /* the sender's ratchet keys, in order of appearance */
    uint32_t n_keys;
    uint32_t newest_delivered;
    unsigned long sent, delivered, dropped, reordered, max_seq;
} link;

/* Either implementation behind one interface. */
typedef struct peer {
    ek_ratchet_session *ours;
    lsg_party *theirs;
    int can_send;
    const char *name;
} peer;

typedef struct net {
    ek_rng_seeded rng;
    peer side[2]; /* 0 = the initiator */
    link dir[2];  /* dir[i]: from side i */
} net;

static uint32_t rnd(net *n, uint32_t bound)
{
    uint8_t b[4];
    if (ek_random(&n->rng.rng, b, 4) != EK_OK)
        abort();
    return ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) % bound;
}

static int peer_encrypt(peer *p, packet *m)
{
    if (p->ours != NULL)
        return ek_ratchet_encrypt(m->wire, sizeof(m->wire), &m->len, &m->type, p->ours, NULL, 0,
                                  m->pt, m->pt_len);
    return lsg_encrypt(p->theirs, m->wire, sizeof(m->wire), &m->len, &m->type, m->pt, m->pt_len);
}

static int peer_decrypt(peer *p, const packet *m, uint8_t *out, size_t *out_len)
{
    if (p->ours != NULL)
        return ek_ratchet_decrypt(out, WIRE, out_len, p->ours, m->type, NULL, 0, m->wire, m->len);
    return lsg_decrypt(p->theirs, out, WIRE, out_len, m->type, m->wire, m->len);
}

/* The chain ordinal of a message: its ratchet key, numbered in order of
 * first appearance (a sender's chains follow one another). */
static uint32_t chain_of(link *l, const packet *m)
{
    const uint8_t *msg = m->wire;
    size_t len = m->len;
    prekey_message pm;
    signal_message sm;
    if (m->type == EK_RATCHET_MSG_PREKEY) {
        if (prekey_message_decode(&pm, msg, len) != EK_OK)
            abort();
        msg = pm.message;
        len = pm.message_len;
    }
    if (signal_message_decode(&sm, msg, len) != EK_OK)
        abort();
    for (uint32_t i = l->n_keys; i > 0; i--)
        if (memcmp(l->keys[i - 1], sm.ratchet_key, 32) == 0)
            return i - 1;
    if (l->n_keys == MAX_RATCHET_KEYS)
        abort();
    memcpy(l->keys[l->n_keys], sm.ratchet_key, 32);
    return l->n_keys++;
}

static void send_one(net *n, int from, unsigned long total)
{
    peer *p = &n->side[from];
    link *l = &n->dir[from];
    if (!p->can_send || l->n == WINDOW || l->sent >= total)
        return;
    packet *m = &l->q[l->n];
    m->pt_len = rnd(n, MAX_PT);
    if (ek_random(&n->rng.rng, m->pt, m->pt_len) != EK_OK)
        abort();
    int rc = peer_encrypt(p, m);
    if (rc != 0) {
        ek_test_fail(__FILE__, __LINE__, "%s: encrypt failed: %d", p->name, rc);
        return;
    }
    m->chain = chain_of(l, m);
    m->seq = l->sent++;
    if (rnd(n, 100) < 2) { /* lost on the way */
        l->dropped++;
        return;
    }
    l->n++;
}

/* Deliver one of the oldest PICK messages, unless an older chain would
 * fall too far behind: then the oldest goes first. */
static void deliver_one(net *n, int from)
{
    link *l = &n->dir[from];
    if (l->n == 0)
        return;
    size_t i = rnd(n, l->n < PICK ? (uint32_t)l->n : PICK);
    uint32_t oldest = l->q[0].chain;
    for (size_t k = 1; k < l->n; k++)
        if (l->q[k].chain < oldest)
            oldest = l->q[k].chain;
    if (l->q[i].chain > oldest + MAX_CHAIN_LAG - 1)
        i = 0;
    packet m = l->q[i];
    memmove(&l->q[i], &l->q[i + 1], (l->n - i - 1) * sizeof(packet));
    l->n--;
    peer *to = &n->side[1 - from];
    uint8_t out[WIRE];
    size_t out_len = 0;
    int rc = peer_decrypt(to, &m, out, &out_len);
    if (rc != 0 || out_len != m.pt_len || memcmp(out, m.pt, out_len) != 0) {
        ek_test_fail(__FILE__, __LINE__,
                     "%s -> %s: message %lu (chain %u, type %d) did not decrypt: %d",
                     n->side[from].name, to->name, l->delivered, m.chain, m.type, rc);
        return;
    }
    l->delivered++;
    if (l->delivered > 1 && m.seq < l->max_seq)
        l->reordered++; /* overtaken by a later message */
    if (m.seq > l->max_seq)
        l->max_seq = m.seq;
    if (m.chain > l->newest_delivered)
        l->newest_delivered = m.chain;
    to->can_send = 1; /* a responder may answer once it has heard from Alice */
}

static void run(const char *label, peer alice, peer bob, uint32_t seed, unsigned long total)
{
    net *n = calloc(1, sizeof(*n));
    if (n == NULL)
        abort();
    uint8_t s[4] = {(uint8_t)(seed >> 24), (uint8_t)(seed >> 16), (uint8_t)(seed >> 8),
                    (uint8_t)seed};
    ek_rng_seeded_init(&n->rng, s, sizeof(s));
    n->side[0] = alice;
    n->side[1] = bob;
    n->side[0].can_send = 1;
    for (int d = 0; d < 2; d++) {
        n->dir[d].keys = malloc(MAX_RATCHET_KEYS * 32);
        if (n->dir[d].keys == NULL)
            abort();
    }
    while (ek_test_failures == 0 &&
           (n->dir[0].sent < total || n->dir[1].sent < total || n->dir[0].n || n->dir[1].n)) {
        int d = (int)rnd(n, 2);
        /* Bursts of 1..6 sends, then some deliveries. */
        if (rnd(n, 2) == 0)
            for (uint32_t k = 1 + rnd(n, 6); k > 0; k--)
                send_one(n, d, total);
        else
            for (uint32_t k = 1 + rnd(n, 4); k > 0; k--)
                deliver_one(n, d);
    }
    for (int d = 0; d < 2; d++)
        printf("%s: %s -> %s: sent %lu, delivered %lu (out of order %lu), dropped %lu, "
               "sending chains %u\n",
               label, n->side[d].name, n->side[1 - d].name, n->dir[d].sent, n->dir[d].delivered,
               n->dir[d].reordered, n->dir[d].dropped, n->dir[d].n_keys);
    EK_CHECK(n->dir[0].reordered > 0 && n->dir[1].reordered > 0);
    EK_CHECK(n->dir[0].sent == total && n->dir[1].sent == total);
    EK_CHECK(n->dir[0].delivered + n->dir[0].dropped == total);
    EK_CHECK(n->dir[1].delivered + n->dir[1].dropped == total);
    free(n->dir[0].keys);
    free(n->dir[1].keys);
    free(n);
}

/* Our Alice, with a bundle that libsignal-protocol-c made. */
static void ours_initiates(int one_time, unsigned long total, uint32_t seed)
{
    ek_rng_seeded rng;
    uint8_t s[4] = {(uint8_t)seed, 1, 2, 3};
    ek_rng_seeded_init(&rng, s, sizeof(s));
    lsg_party *bob = lsg_party_new(&rng.rng);
    EK_CHECK(bob != NULL);
    if (bob == NULL)
        return;
    ek_ratchet_bundle b;
    EK_CHECK_OK(lsg_make_bundle(bob, &b, 7, one_time, 31));
    /* The bundle survives our encoding, and its signature ours. */
    uint8_t enc[EK_RATCHET_BUNDLE_MAX_LEN];
    size_t len = 0;
    ek_ratchet_bundle decoded;
    EK_CHECK_OK(ek_ratchet_bundle_encode(enc, sizeof(enc), &len, &b));
    EK_CHECK_OK(ek_ratchet_bundle_decode(&decoded, enc, len));
    ek_ratchet_identity alice_id;
    ek_ratchet_session *alice = NULL;
    EK_CHECK_OK(ek_ratchet_identity_generate(&alice_id, &rng.rng));
    EK_CHECK_OK(ek_ratchet_session_new_initiator(&alice, NULL, &rng.rng, &alice_id, &decoded));
    peer a = {alice, NULL, 0, "ours"}, p = {NULL, bob, 0, "libsignal"};
    if (alice != NULL && bob != NULL)
        run(one_time ? "ours-initiates" : "ours-initiates, no one-time prekey", a, p, seed, total);
    ek_ratchet_session_free(alice);
    lsg_party_free(bob);
}

/* libsignal-protocol-c's Alice, with a bundle that we made. */
static void libsignal_initiates(int one_time, unsigned long total, uint32_t seed)
{
    ek_rng_seeded rng;
    uint8_t s[4] = {(uint8_t)seed, 4, 5, 6};
    ek_rng_seeded_init(&rng, s, sizeof(s));
    ek_ratchet_identity bob_id;
    ek_ratchet_prekeys pk;
    ek_ratchet_bundle b, decoded;
    EK_CHECK_OK(ek_ratchet_identity_generate(&bob_id, &rng.rng));
    EK_CHECK_OK(ek_ratchet_prekeys_generate(&pk, &bob_id, 3, one_time, 12, &rng.rng));
    ek_ratchet_bundle_from_prekeys(&b, &bob_id, &pk, 1);
    uint8_t enc[EK_RATCHET_BUNDLE_MAX_LEN];
    size_t len = 0;
    EK_CHECK_OK(ek_ratchet_bundle_encode(enc, sizeof(enc), &len, &b));
    EK_CHECK_OK(ek_ratchet_bundle_decode(&decoded, enc, len));
    lsg_party *alice = lsg_party_new(&rng.rng);
    EK_CHECK(alice != NULL);
    if (alice == NULL)
        return;
    /* libsignal verifies our XEdDSA signature on the signed prekey here. */
    EK_CHECK_OK(lsg_process_bundle(alice, &decoded));
    uint8_t alice_pub[EK_RATCHET_PUBLIC_LEN];
    lsg_identity_public(alice, alice_pub);
    ek_ratchet_session *bob = NULL;
    EK_CHECK_OK(ek_ratchet_session_new_responder(&bob, NULL, &rng.rng, &bob_id, &pk, alice_pub));
    peer a = {NULL, alice, 0, "libsignal"}, p = {bob, NULL, 0, "ours"};
    if (alice != NULL && bob != NULL)
        run(one_time ? "libsignal-initiates" : "libsignal-initiates, no one-time prekey", a, p,
            seed, total);
    ek_ratchet_session_free(bob);
    lsg_party_free(alice);
}

/* XEdDSA both ways, with keys from both sides. */
static void xeddsa(void)
{
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"xeddsa interop", 14);
    lsg_party *p = lsg_party_new(&rng.rng);
    EK_CHECK(p != NULL);
    unsigned ok = 0;
    for (int i = 0; i < 300 && p != NULL; i++) {
        ek_ratchet_keypair kp;
        uint8_t msg[100], sig[64];
        size_t len = (size_t)i % sizeof(msg);
        EK_CHECK_OK(ek_ratchet_keypair_generate(&kp, &rng.rng));
        /* libsignal signs with clamped private keys, as it stores them. */
        kp.priv[0] &= 248;
        kp.priv[31] &= 127;
        kp.priv[31] |= 64;
        EK_CHECK_OK(ek_random(&rng.rng, msg, sizeof(msg)));
        EK_CHECK_OK(ek_xeddsa_sign(sig, kp.priv, msg, len, &rng.rng));
        EK_CHECK(lsg_verify(p, kp.pub, msg, len, sig) == 1);
        EK_CHECK_OK(lsg_sign(p, sig, kp.priv, msg, len));
        EK_CHECK_OK(ek_xeddsa_verify(sig, 64, kp.pub + 1, msg, len));
        sig[i % 64] ^= (uint8_t)(1u << (i % 8));
        EK_CHECK(lsg_verify(p, kp.pub, msg, len, sig) != 1);
        EK_CHECK_RC(ek_xeddsa_verify(sig, 64, kp.pub + 1, msg, len), EK_ERR_AUTH);
        ok++;
    }
    printf("xeddsa: %u keys, signatures cross-verified both ways\n", ok);
    lsg_party_free(p);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "ours-initiates") == 0) {
        ours_initiates(1, MESSAGES, 11);
        ours_initiates(0, SHORT_MESSAGES, 12);
    } else if (strcmp(what, "libsignal-initiates") == 0) {
        libsignal_initiates(1, MESSAGES, 21);
        libsignal_initiates(0, SHORT_MESSAGES, 22);
    } else if (strcmp(what, "xeddsa") == 0) {
        xeddsa();
    } else {
        fprintf(stderr, "usage: %s ours-initiates|libsignal-initiates|xeddsa\n", argv[0]);
        return 2;
    }
    char name[64];
    snprintf(name, sizeof(name), "interop.signal.libsignal-%s", what);
    return ek_test_finish(name);
}
