/*
 * bench_mls.c: `enkrypt-bench mls`, the MLS group figures (RFC 9420) for
 * groups of 2, 10, 100, 1,000 and 10,000 members:
 *   commit          a member commits an update with path (an empty commit,
 *                   handshake as PrivateMessage)
 *   process_commit  another member processes it; the receiver is the
 *                   committer's sibling leaf, the worst case (it derives
 *                   every key of the path above their common parent)
 *   join            a new member processes the Welcome of the commit that
 *                   added it, with the ratchet_tree extension: tree
 *                   validation (parent hashes, every leaf signature) included
 *   welcome_size    that Welcome's size: {"bench":"mls","op":"welcome_size",
 *                   "n":members,"bytes":size} (a size, not a time)
 *   build_group     the one-off time to build the group below
 * Each time is the median of several runs of one operation.
 *
 * How the group is built (fast, and as a real group would look): the
 * members' KeyPackages are made, their leaves fill the tree, then every
 * even leaf, left to right, commits an empty commit. That history leaves
 * every parent node set, as in a group whose members have all committed,
 * and so is the tree on which commit costs are O(log n). The path
 * operations are the library's own (ek_mls_treekem_update_path: path
 * secrets, node keys, parent hashes, re-signed leaf); what is skipped is
 * only encrypting those n/2 commits' path secrets to members that would
 * decrypt them. The members the bench measures (committer, receiver) get
 * the private keys of their paths from the path secrets, and a group state
 * for the resulting epoch; everything after that (commit, process, the add
 * and its Welcome, join with full tree validation) goes through the public
 * API. Building 10,000 members takes seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "bench.h"
#include "mls/group_internal.h"

#define SUITE       EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519
/* KeyPackage lifetimes start here (no clock needed: nothing checks it). */
#define BENCH_NOW_S 1700000000u

static const uint8_t group_id[] = "enkrypt-bench mls group";

typedef struct synth {
    const ek_mls_suite *s;
    uint32_t n;
    ek_mls_tree tree;
    uint8_t (*sig_priv)[EK_ED25519_SEED_LEN];
    uint8_t (*enc_priv)[EK_MLS_MAX_KEM_PRIVATE_LEN];
    uint8_t *path_secret; /* per node, Nh bytes: the last one set there */
    uint8_t epoch_secret[EK_MLS_MAX_HASH_LEN];
    uint8_t confirmed[EK_MLS_MAX_HASH_LEN], interim[EK_MLS_MAX_HASH_LEN];
    ek_rng_seeded rng;
} synth;

static void synth_build(synth *y, uint32_t n)
{
    memset(y, 0, sizeof(*y));
    y->s = ek_mls_suite_get(SUITE);
    y->n = n;
    ek_rng_seeded_init(&y->rng, (const uint8_t *)"enkrypt-bench mls", 17);
    const ek_rng *rng = &y->rng.rng;
    size_t nh = y->s->hash_len;
    uint32_t leaves = 1;
    while (leaves < n)
        leaves *= 2;
    ek_bench_check(ek_mls_tree_init(&y->tree, y->s, NULL, leaves), "tree");
    y->sig_priv = calloc(n, sizeof(*y->sig_priv));
    y->enc_priv = calloc(n, sizeof(*y->enc_priv));
    y->path_secret = calloc((size_t)2 * leaves, nh);
    if (y->sig_priv == NULL || y->enc_priv == NULL || y->path_secret == NULL)
        ek_bench_check(EK_ERR_NOMEM, "alloc");
    for (uint32_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "member %u", i);
        ek_mls_key_package_params p = {
            .cipher_suite = SUITE,
            .identity = (const uint8_t *)name,
            .identity_len = strlen(name),
            .now_s = BENCH_NOW_S,
        };
        ek_mls_key_package_bundle *b = NULL;
        ek_bench_check(ek_mls_key_package_create(&b, &p, rng, NULL), "key package");
        ek_mls_tree_set(&y->tree, 2 * i, b->leaf);
        memcpy(y->sig_priv[i], b->signature_priv, EK_ED25519_SEED_LEN);
        memcpy(y->enc_priv[i], b->encryption_priv, y->s->kem_private_len);
        ek_mls_key_package_bundle_free(b);
    }
    /* Every even leaf commits an empty commit, left to right. */
    for (uint32_t l = 0; l < n; l += 2) {
        ek_mls_arena a;
        ek_mls_arena_init(&a, NULL);
        ek_mls_leaf_node tmpl;
        ek_mls_path_secrets ps;
        ek_mls_keyring ring;
        ek_bench_check(ek_mls_tnode_leaf(&tmpl, &a, ek_mls_tree_leaf(&y->tree, l)), "leaf");
        ek_bench_check(ek_mls_treekem_update_path(&ps, &ring, &y->tree, l, &tmpl, y->sig_priv[l],
                                                  EK_ED25519_SEED_LEN, group_id, sizeof(group_id),
                                                  rng),
                       "update path");
        for (size_t k = 0; k < ps.count; k++)
            memcpy(y->path_secret + (size_t)ps.nodes[k] * nh, ps.secrets[k], nh);
        const uint8_t *leaf_priv = ek_mls_keyring_get(&ring, &y->tree, 2 * l);
        if (leaf_priv != NULL)
            memcpy(y->enc_priv[l], leaf_priv, y->s->kem_private_len);
        else
            ek_bench_check(EK_ERR_STATE, "leaf key");
        ek_mls_path_secrets_wipe(&ps);
        ek_mls_keyring_wipe(&ring);
        ek_mls_arena_free(&a);
    }
    ek_bench_check(ek_random(rng, y->epoch_secret, nh), "rng");
    ek_bench_check(ek_random(rng, y->confirmed, nh), "rng");
    ek_bench_check(ek_random(rng, y->interim, nh), "rng");
}

static void synth_free(synth *y)
{
    ek_mls_tree_free(&y->tree);
    free(y->sig_priv);
    free(y->enc_priv);
    free(y->path_secret);
}

/* The group state of the member at leaf, in the epoch the history ends in:
 * its leaf key and, for every non-blank node above it, the key derived
 * from the path secret last set there (which that member decrypted). */
static ek_mls_group *member_group(synth *y, uint32_t leaf)
{
    const ek_mls_suite *s = y->s;
    ek_mls_group_config cfg = {.rng = &y->rng.rng};
    ek_mls_group *g = NULL;
    ek_mls_epoch *e = NULL;
    ek_bench_check(ek_mls_group_alloc(&g, &cfg, s, group_id, sizeof(group_id)), "group");
    memcpy(g->sig_priv, y->sig_priv[leaf], EK_ED25519_SEED_LEN);
    g->sig_priv_len = EK_ED25519_SEED_LEN;
    ek_bench_check(ek_mls_epoch_new(&e, NULL), "epoch");
    ek_bench_check(ek_mls_tree_clone(&e->tree, &y->tree), "clone");
    e->own_leaf = leaf;
    e->epoch = y->n;
    const ek_mls_tnode *own = ek_mls_tree_leaf(&e->tree, leaf);
    ek_bench_check(
        ek_mls_keyring_put(&e->ring, s, 2 * leaf, own->encryption_key.data, y->enc_priv[leaf]),
        "keyring");
    uint32_t dp[EK_MLS_MAX_TREE_DEPTH];
    size_t count = 0;
    ek_bench_check(ek_mls_tree_direct_path(dp, &count, 2 * leaf, e->tree.n_leaves), "path");
    for (size_t k = 0; k < count; k++) {
        if (ek_mls_tree_get(&e->tree, dp[k]) == NULL)
            continue;
        uint8_t pub[EK_MLS_MAX_KEM_PUBLIC_LEN], priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
        ek_bench_check(
            ek_mls_node_key_pair(pub, priv, s, y->path_secret + (size_t)dp[k] * s->hash_len),
            "node key");
        ek_bench_check(ek_mls_keyring_put(&e->ring, s, dp[k], pub, priv), "keyring");
    }
    ek_bench_check(ek_mls_epoch_set_extensions(e, NULL, NULL), "extensions");
    e->confirmed_len = s->hash_len;
    memcpy(e->confirmed, y->confirmed, s->hash_len);
    memcpy(e->interim, y->interim, s->hash_len);
    ek_bench_check(ek_mls_epoch_refresh_context(e, g), "context");
    ek_bench_check(ek_mls_key_schedule_from_epoch_secret(&e->secrets, s, y->epoch_secret),
                   "key schedule");
    ek_bench_check(ek_mls_epoch_start_secret_tree(e, g), "secret tree");
    g->cur = e;
    return g;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double median(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(v[0]), cmp_u64);
    size_t mid = n / 2;
    return (double)v[mid];
}

/* Runs of an operation: more for the fast ones. */
static size_t runs_for(uint32_t n)
{
    return n >= 10000 ? 7 : n >= 1000 ? 15 : 31;
}

static void bench_size(uint32_t n)
{
    synth y;
    uint64_t t0 = ek_bench_now_ns();
    synth_build(&y, n);
    ek_bench_print("mls", "build_group", n, (double)(ek_bench_now_ns() - t0), 0);

    /* Committer and receiver: siblings in the middle of the tree. */
    uint32_t c = (n / 2) & ~1u, r = c + 1 < n ? c + 1 : c - 1;
    ek_mls_group *gc = member_group(&y, c), *gr = member_group(&y, r);
    ek_mls_group_set_time(gc, BENCH_NOW_S); /* Adds need a clock (RFC 9420 §7.3) */
    size_t runs = runs_for(n);
    size_t join_runs = n >= 10000 ? 5 : runs; /* at most runs */
    uint64_t *t = calloc(runs, sizeof(uint64_t));
    ek_mls_buf *commits = calloc(runs, sizeof(ek_mls_buf));
    for (size_t i = 0; i < runs; i++) {
        uint64_t a = ek_bench_now_ns();
        ek_bench_check(ek_mls_group_commit(gc, &commits[i], NULL, NULL), "commit");
        t[i] = ek_bench_now_ns() - a;
        ek_mls_group_discard_pending_commit(gc);
    }
    ek_bench_print("mls", "commit", n, median(t, runs), 0);
    /* The receiver processes each (the first moves it to the next epoch,
     * the others compete for the epoch it retains: the same work). */
    for (size_t i = 0; i < runs; i++) {
        ek_mls_received rec;
        uint64_t a = ek_bench_now_ns();
        ek_bench_check(ek_mls_group_process(gr, &rec, commits[i].data, commits[i].len),
                       "process commit");
        t[i] = ek_bench_now_ns() - a;
        ek_mls_received_free(&rec);
        ek_mls_buf_free(&commits[i]);
    }
    ek_bench_print("mls", "process_commit", n, median(t, runs), 0);

    /* A new member: the committer adds it; the Welcome carries the tree. */
    ek_mls_key_package_bundle *j = NULL;
    ek_mls_key_package_params jp = {
        .cipher_suite = SUITE,
        .identity = (const uint8_t *)"joiner",
        .identity_len = 6,
        .now_s = BENCH_NOW_S,
    };
    ek_bench_check(ek_mls_key_package_create(&j, &jp, &y.rng.rng, NULL), "key package");
    const uint8_t *kp;
    size_t kp_len;
    ek_mls_key_package_bundle_message(j, &kp, &kp_len);
    ek_mls_bytes kpb = {kp, kp_len};
    ek_mls_commit_options opt = {.add_key_packages = &kpb, .add_count = 1};
    ek_mls_buf commit, welcome;
    ek_bench_check(ek_mls_group_commit(gc, &commit, &welcome, &opt), "add commit");
    for (size_t i = 0; i < join_runs; i++) {
        ek_mls_group *gj = NULL;
        uint64_t a = ek_bench_now_ns();
        ek_bench_check(ek_mls_group_join(&gj, NULL, welcome.data, welcome.len, j, NULL, 0), "join");
        t[i] = ek_bench_now_ns() - a;
        if (ek_mls_group_member_count(gj) != n + 1)
            ek_bench_check(EK_ERR_STATE, "join: member count");
        ek_mls_group_free(gj);
    }
    ek_bench_print("mls", "join", n, median(t, join_runs), 0);
    printf("{\"bench\":\"mls\",\"op\":\"welcome_size\",\"n\":%u,\"bytes\":%zu}\n", n, welcome.len);
    (void)fflush(stdout);

    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);
    ek_mls_key_package_bundle_free(j);
    free(t);
    free(commits);
    ek_mls_group_free(gc);
    ek_mls_group_free(gr);
    synth_free(&y);
}

void ek_bench_suite_mls(void)
{
    static const uint32_t sizes[] = {2, 10, 100, 1000, 10000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        bench_size(sizes[i]);
}
