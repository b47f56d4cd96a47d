/*
 * test_secret_tree.c: the secret tree's limits and deletion schedule
 * (RFC 9420 §9.2, §15.3): senders and receivers agree; keys are single-use;
 * out-of-order keys are kept up to EK_MLS_MAX_SKIPPED_KEYS, oldest evicted;
 * a jump beyond EK_MLS_MAX_GENERATION_JUMP is refused; peek never changes
 * state; consumed tree-node secrets are wiped; a ratchet ends at 2^32 - 1.
 */
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "ek_test.h"

static const uint8_t secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static int same_key(const ek_mls_key_nonce *a, const ek_mls_key_nonce *b)
{
    return a->generation == b->generation && memcmp(a->key, b->key, sizeof(a->key)) == 0 &&
           memcmp(a->nonce, b->nonce, sizeof(a->nonce)) == 0;
}

static void test_sender_and_receiver_agree(void)
{
    const ek_mls_suite *s = ek_mls_suite_get(1);
    ek_mls_secret_tree tx, rx;
    EK_CHECK_OK(ek_mls_secret_tree_init(&tx, s, NULL, secret, 4));
    EK_CHECK_OK(ek_mls_secret_tree_init(&rx, s, NULL, secret, 4));
    for (uint32_t g = 0; g < 5; g++) {
        ek_mls_key_nonce a, b;
        EK_CHECK_OK(ek_mls_secret_tree_next(&a, &tx, 2, EK_MLS_RATCHET_APPLICATION));
        EK_CHECK(a.generation == g);
        EK_CHECK_OK(ek_mls_secret_tree_peek(&b, &rx, 2, EK_MLS_RATCHET_APPLICATION, g));
        EK_CHECK(same_key(&a, &b));
        EK_CHECK_OK(ek_mls_secret_tree_consume(&rx, 2, EK_MLS_RATCHET_APPLICATION, g));
    }
    /* Handshake and application ratchets are distinct. */
    ek_mls_key_nonce h, a;
    EK_CHECK_OK(ek_mls_secret_tree_peek(&h, &rx, 2, EK_MLS_RATCHET_HANDSHAKE, 0));
    EK_CHECK_OK(ek_mls_secret_tree_next(&a, &tx, 2, EK_MLS_RATCHET_APPLICATION));
    EK_CHECK(memcmp(h.key, a.key, sizeof(h.key)) != 0);
    /* Bad arguments. */
    EK_CHECK_RC(ek_mls_secret_tree_peek(&h, &rx, 4, EK_MLS_RATCHET_HANDSHAKE, 0),
                EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_mls_secret_tree_peek(&h, &rx, 0, 2, 0), EK_ERR_INVALID_ARG);
    ek_mls_secret_tree_free(&tx);
    ek_mls_secret_tree_free(&rx);
    ek_mls_secret_tree t;
    EK_CHECK_RC(ek_mls_secret_tree_init(&t, s, NULL, secret, 0), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_mls_secret_tree_init(&t, s, NULL, secret, EK_MLS_MAX_LEAVES + 1),
                EK_ERR_INVALID_ARG);
    /* A leaf count that is not a power of two is padded. */
    EK_CHECK_OK(ek_mls_secret_tree_init(&t, s, NULL, secret, 3));
    EK_CHECK_OK(ek_mls_secret_tree_peek(&h, &t, 3, EK_MLS_RATCHET_HANDSHAKE, 0));
    ek_mls_secret_tree_free(&t);
}

static void test_out_of_order_and_reuse(void)
{
    const ek_mls_suite *s = ek_mls_suite_get(3);
    ek_mls_secret_tree rx;
    ek_mls_key_nonce k5, k3, again;
    EK_CHECK_OK(ek_mls_secret_tree_init(&rx, s, NULL, secret, 2));
    EK_CHECK_OK(ek_mls_secret_tree_peek(&k5, &rx, 1, EK_MLS_RATCHET_HANDSHAKE, 5));
    EK_CHECK_OK(ek_mls_secret_tree_peek(&again, &rx, 1, EK_MLS_RATCHET_HANDSHAKE, 5));
    EK_CHECK(same_key(&k5, &again)); /* peek changes nothing */
    EK_CHECK_OK(ek_mls_secret_tree_consume(&rx, 1, EK_MLS_RATCHET_HANDSHAKE, 5));
    EK_CHECK_RC(ek_mls_secret_tree_peek(&again, &rx, 1, EK_MLS_RATCHET_HANDSHAKE, 5), EK_ERR_STATE);
    EK_CHECK_RC(ek_mls_secret_tree_consume(&rx, 1, EK_MLS_RATCHET_HANDSHAKE, 5), EK_ERR_STATE);
    /* 0..4 were kept for late messages; each is usable once. */
    EK_CHECK_OK(ek_mls_secret_tree_peek(&k3, &rx, 1, EK_MLS_RATCHET_HANDSHAKE, 3));
    EK_CHECK(k3.generation == 3);
    EK_CHECK_OK(ek_mls_secret_tree_consume(&rx, 1, EK_MLS_RATCHET_HANDSHAKE, 3));
    EK_CHECK_RC(ek_mls_secret_tree_peek(&again, &rx, 1, EK_MLS_RATCHET_HANDSHAKE, 3), EK_ERR_STATE);
    for (uint32_t g = 0; g < 5; g++)
        if (g != 3)
            EK_CHECK_OK(ek_mls_secret_tree_consume(&rx, 1, EK_MLS_RATCHET_HANDSHAKE, g));
    EK_CHECK(rx.ratchets[2 * 1 + EK_MLS_RATCHET_HANDSHAKE].skipped_count == 0);
    ek_mls_secret_tree_free(&rx);
}

static void test_limits(void)
{
    const ek_mls_suite *s = ek_mls_suite_get(1);
    ek_mls_secret_tree rx;
    ek_mls_key_nonce k;
    EK_CHECK_OK(ek_mls_secret_tree_init(&rx, s, NULL, secret, 1));
    /* One message may move the ratchet EK_MLS_MAX_GENERATION_JUMP, no more. */
    EK_CHECK_RC(ek_mls_secret_tree_peek(&k, &rx, 0, EK_MLS_RATCHET_APPLICATION,
                                        EK_MLS_MAX_GENERATION_JUMP + 1),
                EK_ERR_LIMIT);
    EK_CHECK_RC(ek_mls_secret_tree_consume(&rx, 0, EK_MLS_RATCHET_APPLICATION,
                                           EK_MLS_MAX_GENERATION_JUMP + 1),
                EK_ERR_LIMIT);
    EK_CHECK_RC(ek_mls_secret_tree_peek(&k, &rx, 0, EK_MLS_RATCHET_APPLICATION, UINT32_MAX),
                EK_ERR_LIMIT);
    EK_CHECK_OK(ek_mls_secret_tree_peek(&k, &rx, 0, EK_MLS_RATCHET_APPLICATION,
                                        EK_MLS_MAX_GENERATION_JUMP));
    EK_CHECK_OK(
        ek_mls_secret_tree_consume(&rx, 0, EK_MLS_RATCHET_APPLICATION, EK_MLS_MAX_GENERATION_JUMP));
    /* Only the newest EK_MLS_MAX_SKIPPED_KEYS skipped keys survive. */
    const ek_mls_ratchet *r = &rx.ratchets[EK_MLS_RATCHET_APPLICATION];
    EK_CHECK(r->skipped_count == EK_MLS_MAX_SKIPPED_KEYS);
    uint32_t oldest_kept = EK_MLS_MAX_GENERATION_JUMP - EK_MLS_MAX_SKIPPED_KEYS;
    EK_CHECK_RC(ek_mls_secret_tree_peek(&k, &rx, 0, EK_MLS_RATCHET_APPLICATION, 0), EK_ERR_STATE);
    EK_CHECK_RC(ek_mls_secret_tree_peek(&k, &rx, 0, EK_MLS_RATCHET_APPLICATION, oldest_kept - 1),
                EK_ERR_STATE);
    EK_CHECK_OK(ek_mls_secret_tree_peek(&k, &rx, 0, EK_MLS_RATCHET_APPLICATION, oldest_kept));
    EK_CHECK(k.generation == oldest_kept);
    /* The jump limit counts from the next generation, not from zero. */
    EK_CHECK_OK(ek_mls_secret_tree_peek(&k, &rx, 0, EK_MLS_RATCHET_APPLICATION,
                                        2 * EK_MLS_MAX_GENERATION_JUMP + 1));
    ek_mls_secret_tree_free(&rx);
}

/* A ratchet whose next generation is 2^32 - 1 gives that one, then no more. */
static void test_exhaustion(void)
{
    const ek_mls_suite *s = ek_mls_suite_get(1);
    ek_mls_secret_tree tx;
    ek_mls_key_nonce k;
    EK_CHECK_OK(ek_mls_secret_tree_init(&tx, s, NULL, secret, 2));
    EK_CHECK_OK(ek_mls_secret_tree_next(&k, &tx, 0, EK_MLS_RATCHET_HANDSHAKE));
    tx.ratchets[EK_MLS_RATCHET_HANDSHAKE].next = UINT32_MAX; /* fast-forward */
    EK_CHECK_OK(ek_mls_secret_tree_next(&k, &tx, 0, EK_MLS_RATCHET_HANDSHAKE));
    EK_CHECK(k.generation == UINT32_MAX);
    EK_CHECK_RC(ek_mls_secret_tree_next(&k, &tx, 0, EK_MLS_RATCHET_HANDSHAKE), EK_ERR_LIMIT);
    EK_CHECK(
        ek_ct_is_zero(tx.ratchets[EK_MLS_RATCHET_HANDSHAKE].secret, sizeof(tx.ratchets[0].secret)));
    EK_CHECK_RC(ek_mls_secret_tree_peek(&k, &tx, 0, EK_MLS_RATCHET_HANDSHAKE, 7), EK_ERR_STATE);
    ek_mls_secret_tree_free(&tx);
}

/* §9.2: deriving leaf 0 of a 4-leaf tree consumes (wipes) the root, node 1
 * and leaf 0's own secret, and keeps the siblings 2 (leaf 1) and 5. */
static void test_deletion(void)
{
    const ek_mls_suite *s = ek_mls_suite_get(1);
    ek_mls_secret_tree t;
    ek_mls_key_nonce k;
    EK_CHECK_OK(ek_mls_secret_tree_init(&t, s, NULL, secret, 4));
    EK_CHECK(t.node_present[3] == 1);
    EK_CHECK_OK(ek_mls_secret_tree_next(&k, &t, 0, EK_MLS_RATCHET_APPLICATION));
    EK_CHECK(t.node_present[3] == 0 && t.node_present[1] == 0 && t.node_present[0] == 0);
    EK_CHECK(t.node_present[2] == 1 && t.node_present[5] == 1);
    EK_CHECK(ek_ct_is_zero(t.node_secrets + (size_t)3 * 32, 32));
    EK_CHECK(ek_ct_is_zero(t.node_secrets + (size_t)1 * 32, 32));
    EK_CHECK(ek_ct_is_zero(t.node_secrets + (size_t)0 * 32, 32));
    EK_CHECK(!ek_ct_is_zero(t.node_secrets + (size_t)5 * 32, 32));
    /* Peeking at leaf 3 (a message not verified yet) changes nothing;
     * consuming consumes node 5 and leaf 3's secret, keeping leaf 2's. */
    EK_CHECK_OK(ek_mls_secret_tree_peek(&k, &t, 3, EK_MLS_RATCHET_HANDSHAKE, 0));
    EK_CHECK(t.node_present[5] == 1 && t.node_present[6] == 0 && t.node_present[4] == 0);
    EK_CHECK_OK(ek_mls_secret_tree_consume(&t, 3, EK_MLS_RATCHET_HANDSHAKE, 0));
    EK_CHECK(t.node_present[5] == 0 && t.node_present[6] == 0 && t.node_present[4] == 1);
    EK_CHECK(ek_ct_is_zero(t.node_secrets + (size_t)5 * 32, 32));
    /* The sender's ratchet secret moved on: generation 0's key is gone. */
    EK_CHECK_RC(ek_mls_secret_tree_peek(&k, &t, 0, EK_MLS_RATCHET_APPLICATION, 0), EK_ERR_STATE);
    ek_mls_secret_tree_free(&t);
    EK_CHECK(t.node_secrets == NULL && t.ratchets == NULL);
}

typedef struct failing_alloc {
    int budget;
    long outstanding;
} failing_alloc;

static void *fa_alloc(void *ctx, size_t n)
{
    failing_alloc *f = ctx;
    if (f->budget-- <= 0)
        return NULL;
    f->outstanding++;
    return malloc(n);
}

static void *fa_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)ctx;
    (void)old;
    return realloc(p, n);
}

static void fa_free(void *ctx, void *p, size_t n)
{
    failing_alloc *f = ctx;
    (void)n;
    if (p != NULL)
        f->outstanding--;
    free(p);
}

static void test_allocation_failures(void)
{
    const ek_mls_suite *s = ek_mls_suite_get(1);
    for (int budget = 0; budget <= 4; budget++) {
        failing_alloc f = {budget, 0};
        ek_allocator al = {fa_alloc, fa_realloc, fa_free, &f};
        ek_mls_secret_tree t;
        int rc = ek_mls_secret_tree_init(&t, s, &al, secret, 8);
        EK_CHECK(rc == (budget < 3 ? EK_ERR_NOMEM : EK_OK));
        if (rc == EK_OK) {
            /* The skipped-key store is the fourth allocation. */
            rc = ek_mls_secret_tree_consume(&t, 1, EK_MLS_RATCHET_HANDSHAKE, 4);
            EK_CHECK(rc == (budget < 4 ? EK_ERR_NOMEM : EK_OK));
            if (rc == EK_ERR_NOMEM) /* nothing moved: generation 0 still there */
                EK_CHECK_OK(ek_mls_secret_tree_consume(&t, 1, EK_MLS_RATCHET_HANDSHAKE, 0));
        }
        ek_mls_secret_tree_free(&t);
        EK_CHECK(f.outstanding == 0);
    }
}

int main(void)
{
    test_sender_and_receiver_agree();
    test_out_of_order_and_reuse();
    test_limits();
    test_exhaustion();
    test_deletion();
    test_allocation_failures();
    return ek_test_finish("unit.mls.secret_tree");
}
