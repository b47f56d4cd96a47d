/*
 * vectors_passive_client.c: passive-client-welcome.json,
 * passive-client-handling-commit.json and passive-client-random.json (RFC
 * 9420 §12.4.2, §12.4.3.1): join from the Welcome with the given
 * KeyPackage and private keys (external PSKs from the file), then process
 * each epoch's proposals and commit through the group API; the epoch
 * authenticator must match after the join and after every commit.
 * argv[2] names the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "mls_vec.h"

typedef struct psk_table {
    const json_t *list;
    mls_hex_pool *pool;
} psk_table;

static int lookup_psk(void *ctx, const uint8_t *id, size_t id_len, const uint8_t **psk,
                      size_t *psk_len)
{
    psk_table *t = ctx;
    size_t i;
    const json_t *e;
    json_array_foreach (t->list, i, e) {
        size_t len;
        uint8_t *want = ek_test_unhex(json_string_value(json_object_get(e, "psk_id")), &len);
        int match = mls_eq(want, len, id, id_len);
        free(want);
        if (match) {
            ek_mls_bytes b = mls_hex_bytes(t->pool, e, "psk");
            *psk = b.data;
            *psk_len = b.len;
            return EK_OK;
        }
    }
    return EK_ERR_STATE;
}

static int authenticator_is(const ek_mls_group *g, const json_t *obj, const char *key)
{
    uint8_t got[EK_MLS_MAX_HASH_LEN];
    size_t len = 0, wl;
    if (ek_mls_group_epoch_authenticator(g, got, &len) != EK_OK)
        return 0;
    uint8_t *want = ek_test_unhex(json_string_value(json_object_get(obj, key)), &wl);
    int ok = mls_eq(got, len, want, wl);
    free(want);
    return ok;
}

static int process(ek_mls_group *g, const char *hex, int kind, const char *what, size_t epoch)
{
    size_t len;
    uint8_t *msg = ek_test_unhex(hex, &len);
    ek_mls_received r;
    int rc = ek_mls_group_process(g, &r, msg, len);
    free(msg);
    int ok = rc == EK_OK && r.kind == kind;
    if (!ok)
        fprintf(stderr, "  epoch %zu: %s: %s (kind %d)\n", epoch, what, ek_strerror(rc), r.kind);
    ek_mls_received_free(&r);
    return ok;
}

static int check_case(const ek_mls_suite *s, const json_t *c)
{
    mls_hex_pool p = {0};
    psk_table psks = {json_object_get(c, "external_psks"), &p};
    ek_mls_bytes kp = mls_hex_bytes(&p, c, "key_package");
    ek_mls_bytes init = mls_hex_bytes(&p, c, "init_priv");
    ek_mls_bytes enc = mls_hex_bytes(&p, c, "encryption_priv");
    ek_mls_bytes sig = mls_hex_bytes(&p, c, "signature_priv");
    ek_mls_bytes wel = mls_hex_bytes(&p, c, "welcome");
    ek_mls_bytes tree = {NULL, 0};
    if (json_is_string(json_object_get(c, "ratchet_tree")))
        tree = mls_hex_bytes(&p, c, "ratchet_tree");
    ek_mls_group_config cfg = {
        .max_lifetime_s = UINT64_MAX,
        .psks = {lookup_psk, &psks},
    };
    ek_mls_key_package_bundle *b = NULL;
    ek_mls_group *g = NULL;
    int rc = ek_mls_key_package_bundle_import(&b, kp.data, kp.len, init.data, init.len, enc.data,
                                              enc.len, sig.data, sig.len, NULL);
    if (rc == EK_OK)
        rc = ek_mls_group_join(&g, &cfg, wel.data, wel.len, b, tree.data, tree.len);
    if (rc != EK_OK)
        fprintf(stderr, "  join: %s\n", ek_strerror(rc));
    int ok = rc == EK_OK && ek_mls_group_suite(g) == s &&
             authenticator_is(g, c, "initial_epoch_authenticator");
    const json_t *epochs = json_object_get(c, "epochs");
    size_t i;
    const json_t *e;
    json_array_foreach (epochs, i, e) {
        if (!ok)
            break;
        size_t j;
        const json_t *prop;
        json_array_foreach (json_object_get(e, "proposals"), j, prop) {
            ok = ok && process(g, json_string_value(prop), EK_MLS_RECEIVED_PROPOSAL, "proposal", i);
        }
        ok = ok && process(g, ek_test_json_str(e, "commit"), EK_MLS_RECEIVED_COMMIT, "commit", i);
        ek_mls_group_settle(g);
        if (ok && !authenticator_is(g, e, "epoch_authenticator")) {
            fprintf(stderr, "  epoch %zu: epoch authenticator differs\n", i);
            ok = 0;
        }
    }
    ek_mls_group_free(g);
    ek_mls_key_package_bundle_free(b);
    mls_hex_free(&p);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR FILE\n", argv[0]);
        return 2;
    }
    char rel[256];
    snprintf(rel, sizeof(rel), "mls/%s.json", argv[2]);
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, rel));
    char name[256];
    snprintf(name, sizeof(name), "mls/%s", argv[2]);
    ek_vec_stats st;
    ek_vec_init(&st, name);
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        ek_vec_case(&st, check_case(s, c), "case %zu (suite %u)", i, s->id);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
