/*
 * fuzz_mls_group.c: the group's receive paths (RFC 9420 §12.4.2,
 * §12.4.3.1) and the saved-state parser on arbitrary bytes. The first
 * byte picks the path, the rest is the input:
 *   0  a member of a three-member group (handshake as PublicMessage, so
 *      mutations reach commit and proposal processing) processes it as an
 *      MLSMessage, from a fresh copy of its state each time;
 *   1  a client joins with it as a Welcome;
 *   2  it is restored as a saved group state (and, if accepted, saved and
 *      used once more).
 * Properties: no crash, leak or sanitizer report; a refused message leaves
 * the member's state byte for byte unchanged (fail closed).
 *
 * The group is built once, deterministically (seeded generator), so the
 * seed corpus (fuzz/corpus/fuzz_mls_group/, made by building this file
 * with -DFUZZ_MLS_GROUP_SEEDS) matches it: a commit, a proposal, an
 * application message, a Welcome and a saved state.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_S 1700000000u

typedef struct world {
    ek_rng_seeded rng;
    ek_mls_group_config cfg;
    ek_mls_key_package_bundle *kp[4];
    ek_mls_group *g[3];
    ek_mls_buf b_state;               /* member 1's saved state */
    ek_mls_buf commit, proposal, app; /* for the seeds */
    ek_mls_buf welcome;               /* adds member 3 */
} world;

static world *w;

static void must(int rc)
{
    if (rc != EK_OK) {
        (void)fprintf(stderr, "fuzz_mls_group setup: %s\n", ek_strerror(rc));
        abort();
    }
}

static void setup(void)
{
    w = calloc(1, sizeof(*w));
    ek_rng_seeded_init(&w->rng, (const uint8_t *)"fuzz_mls_group", 14);
    w->cfg.rng = &w->rng.rng;
    w->cfg.handshake_wire_format = EK_MLS_WIRE_PUBLIC_MESSAGE;
    for (int i = 0; i < 4; i++) {
        char name[8] = {'m', (char)('0' + i), 0};
        ek_mls_key_package_params p = {
            .cipher_suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
            .identity = (const uint8_t *)name,
            .identity_len = 2,
            .now_s = NOW_S,
        };
        must(ek_mls_key_package_create(&w->kp[i], &p, &w->rng.rng, NULL));
    }
    must(ek_mls_group_create(&w->g[0], &w->cfg, w->kp[0], (const uint8_t *)"fuzz", 4, NULL));
    ek_mls_group_set_time(w->g[0], NOW_S); /* Adds need a clock (RFC 9420 §7.3) */
    ek_mls_bytes kps[2];
    ek_mls_key_package_bundle_message(w->kp[1], &kps[0].data, &kps[0].len);
    ek_mls_key_package_bundle_message(w->kp[2], &kps[1].data, &kps[1].len);
    ek_mls_commit_options opt = {.add_key_packages = kps, .add_count = 2};
    ek_mls_buf c, wel;
    must(ek_mls_group_commit(w->g[0], &c, &wel, &opt));
    must(ek_mls_group_merge_pending_commit(w->g[0]));
    ek_mls_group_settle(w->g[0]);
    must(ek_mls_group_join(&w->g[1], &w->cfg, wel.data, wel.len, w->kp[1], NULL, 0));
    must(ek_mls_group_join(&w->g[2], &w->cfg, wel.data, wel.len, w->kp[2], NULL, 0));
    ek_mls_buf_free(&c);
    ek_mls_buf_free(&wel);
    must(ek_mls_group_save(w->g[1], &w->b_state));
    /* Messages member 1 could receive next. */
    must(ek_mls_group_protect(w->g[0], &w->app, (const uint8_t *)"hello", 5, NULL, 0));
    must(ek_mls_group_propose_update(w->g[2], &w->proposal));
    ek_mls_bytes kp3;
    ek_mls_key_package_bundle_message(w->kp[3], &kp3.data, &kp3.len);
    uint32_t leaf2 = ek_mls_group_own_leaf(w->g[2]);
    ek_mls_commit_options opt2 = {
        .add_key_packages = &kp3, .add_count = 1, .remove_leaves = &leaf2, .remove_count = 1};
    must(ek_mls_group_commit(w->g[0], &w->commit, &w->welcome, &opt2));
}

static int same(const ek_mls_buf *a, const ek_mls_buf *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (w == NULL)
        setup();
    if (size < 1)
        return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    ek_mls_group *g = NULL;
    switch (data[0] % 3) {
    case 0: {
        must(ek_mls_group_restore(&g, &w->cfg, w->b_state.data, w->b_state.len));
        ek_mls_received r;
        if (ek_mls_group_process(g, &r, in, len) == EK_OK) {
            ek_mls_received_free(&r);
        } else {
            ek_mls_buf now;
            must(ek_mls_group_save(g, &now));
            if (!same(&now, &w->b_state))
                abort(); /* a refused message changed the state */
            ek_mls_buf_free(&now);
        }
        break;
    }
    case 1:
        if (ek_mls_group_join(&g, &w->cfg, in, len, w->kp[3], NULL, 0) == EK_OK) {
            ek_mls_buf m;
            if (ek_mls_group_protect(g, &m, (const uint8_t *)"x", 1, NULL, 0) == EK_OK)
                ek_mls_buf_free(&m);
        }
        break;
    default:
        if (ek_mls_group_restore(&g, &w->cfg, in, len) == EK_OK) {
            ek_mls_buf again, m;
            must(ek_mls_group_save(g, &again));
            ek_mls_buf_free(&again);
            if (ek_mls_group_protect(g, &m, (const uint8_t *)"x", 1, NULL, 0) == EK_OK)
                ek_mls_buf_free(&m);
        }
        break;
    }
    ek_mls_group_free(g);
    return 0;
}

#ifdef FUZZ_MLS_GROUP_SEEDS
/* Write the seed corpus into the directory argv[1]. */
static void put(const char *dir, const char *name, uint8_t mode, const ek_mls_buf *b)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    (void)fwrite(&mode, 1, 1, f);
    (void)fwrite(b->data, 1, b->len, f);
    (void)fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    setup();
    put(argv[1], "commit", 0, &w->commit);
    put(argv[1], "proposal", 0, &w->proposal);
    put(argv[1], "application", 0, &w->app);
    put(argv[1], "welcome", 1, &w->welcome);
    put(argv[1], "state", 2, &w->b_state);
    return 0;
}
#endif
