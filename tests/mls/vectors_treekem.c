/*
 * vectors_treekem.c: treekem.json (RFC 9420 §7.4-§7.6, §7.9): the public
 * tree validates; each member's private state matches the tree; each
 * UpdatePath merges (parent hash of the new leaf checked) to the given tree
 * hash and decrypts, for every other member, to the given path secret and
 * commit secret. Then our own UpdatePath from each sender (fresh secrets,
 * leaf re-signed) is merged and decrypted by every other member to the
 * commit secret we drew.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "mls/tree.h"
#include "mls/treekem.h"
#include "mls/validation.h"
#include "mls_vec.h"

#define MAX_LEAVES 64

typedef struct fixture {
    const ek_mls_suite *s;
    mls_hex_pool pool;
    ek_mls_arena arena;
    ek_mls_tree tree;
    ek_mls_bytes group_id, cth;
    uint64_t epoch;
    ek_mls_keyring rings[MAX_LEAVES];
    int has_ring[MAX_LEAVES];
    ek_mls_bytes sig_priv[MAX_LEAVES];
} fixture;

static int group_context(ek_writer *w, fixture *f, ek_mls_tree *t)
{
    uint8_t th[EK_MLS_MAX_HASH_LEN];
    if (ek_mls_tree_root_hash(th, t) != EK_OK)
        return 0;
    ek_mls_group_context gc = {
        .version = EK_MLS_VERSION_MLS10,
        .cipher_suite = f->s->id,
        .group_id = f->group_id,
        .epoch = f->epoch,
        .tree_hash = {th, f->s->hash_len},
        .confirmed_transcript_hash = f->cth,
    };
    return ek_mls_write_group_context(w, &gc) == EK_OK;
}

static int load_private(fixture *f, const json_t *c)
{
    const json_t *lp = json_object_get(c, "leaves_private");
    size_t i;
    const json_t *e;
    json_array_foreach (lp, i, e) {
        uint32_t idx = (uint32_t)ek_test_json_int(e, "index");
        if (idx >= MAX_LEAVES)
            return 0;
        ek_mls_bytes enc = mls_hex_bytes(&f->pool, e, "encryption_priv");
        f->sig_priv[idx] = mls_hex_bytes(&f->pool, e, "signature_priv");
        const ek_mls_tnode *leaf = ek_mls_tree_leaf(&f->tree, idx);
        uint8_t pub[32];
        if (leaf == NULL || enc.len != 32 || ek_x25519_public(pub, enc.data) != EK_OK ||
            memcmp(pub, leaf->encryption_key.data, 32) != 0)
            return 0;
        ek_mls_keyring *r = &f->rings[idx];
        memset(r, 0, sizeof(*r));
        f->has_ring[idx] = 1;
        if (ek_mls_keyring_put(r, f->s, 2 * idx, pub, enc.data) != EK_OK)
            return 0;
        const json_t *pss = json_object_get(e, "path_secrets");
        size_t j;
        const json_t *ps;
        json_array_foreach (pss, j, ps) {
            uint32_t node = (uint32_t)ek_test_json_int(ps, "node");
            size_t len;
            uint8_t *sec =
                ek_test_unhex(json_string_value(json_object_get(ps, "path_secret")), &len);
            uint8_t npub[EK_MLS_MAX_KEM_PUBLIC_LEN], npriv[EK_MLS_MAX_KEM_PRIVATE_LEN];
            const ek_mls_tnode *n = ek_mls_tree_get(&f->tree, node);
            int ok = len == f->s->hash_len && n != NULL &&
                     ek_mls_node_key_pair(npub, npriv, f->s, sec) == EK_OK &&
                     memcmp(npub, n->encryption_key.data, 32) == 0 &&
                     ek_mls_keyring_put(r, f->s, node, npub, npriv) == EK_OK;
            free(sec);
            if (!ok)
                return 0;
        }
    }
    return 1;
}

/* Merge up (from sender) into a copy of the tree and decrypt it for every
 * member with a private state; path_secrets may be NULL (round trip). */
static int merge_and_decrypt(fixture *f, uint32_t sender, const uint8_t *up_bytes, size_t up_len,
                             const json_t *path_secrets, const uint8_t *want_commit,
                             const uint8_t *want_tree_hash, size_t want_th_len)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_update_path up;
    ek_reader r;
    ek_reader_init(&r, up_bytes, up_len);
    ek_mls_tree t;
    memset(&t, 0, sizeof(t));
    ek_mls_tnode *leaf = NULL;
    ek_writer gc;
    ek_writer_init_growable(&gc, NULL);
    int ok =
        ek_mls_read_update_path(&up, &a, &r) == EK_OK && ek_reader_finish(&r) == EK_OK &&
        ek_mls_tnode_new_leaf(&leaf, NULL, &up.leaf_node) == EK_OK &&
        leaf->source == EK_MLS_LEAF_SOURCE_COMMIT &&
        ek_mls_leaf_verify(leaf, f->s, f->group_id.data, f->group_id.len, sender, NULL) == EK_OK &&
        ek_mls_tree_clone(&t, &f->tree) == EK_OK;
    int rc = ok ? ek_mls_treekem_merge(&t, sender, &up, leaf) : EK_ERR_DECODE;
    if (ok && rc != EK_OK)
        fprintf(stderr, "  merge from %u: %s\n", sender, ek_strerror(rc));
    ok = ok && rc == EK_OK;
    uint8_t th[EK_MLS_MAX_HASH_LEN];
    ok = ok && ek_mls_tree_root_hash(th, &t) == EK_OK;
    if (ok && want_tree_hash != NULL && !mls_eq(th, f->s->hash_len, want_tree_hash, want_th_len)) {
        fprintf(stderr, "  tree hash after merge from %u differs\n", sender);
        ok = 0;
    }
    ok = ok && group_context(&gc, f, &t);
    for (uint32_t j = 0; ok && j < t.n_leaves && j < MAX_LEAVES; j++) {
        if (j == sender || !f->has_ring[j])
            continue;
        ek_mls_keyring ring = f->rings[j];
        uint8_t commit[EK_MLS_MAX_HASH_LEN], first[EK_MLS_MAX_HASH_LEN];
        rc = ek_mls_treekem_decrypt(commit, first, &ring, &t, sender, j, &up, NULL, 0, gc.buf,
                                    gc.len);
        if (rc != EK_OK) {
            fprintf(stderr, "  decrypt by %u from %u: %s\n", j, sender, ek_strerror(rc));
            ok = 0;
            break;
        }
        if (path_secrets != NULL) {
            const json_t *want = json_array_get(path_secrets, j);
            size_t len;
            uint8_t *w = ek_test_unhex(json_string_value(want), &len);
            ok = mls_eq(first, f->s->hash_len, w, len);
            free(w);
        }
        ok = ok && memcmp(commit, want_commit, f->s->hash_len) == 0;
        if (!ok)
            fprintf(stderr, "  secrets of %u from %u differ\n", j, sender);
        ek_mls_keyring_wipe(&ring);
    }
    ek_writer_dispose(&gc);
    ek_mls_tnode_unref(leaf, NULL);
    ek_mls_tree_free(&t);
    ek_mls_arena_free(&a);
    return ok;
}

/* Our own UpdatePath from sender, then everyone decrypts it. */
static int round_trip(fixture *f, uint32_t sender)
{
    if (!f->has_ring[sender])
        return 0;
    ek_mls_tree t;
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_leaf_node tmpl;
    ek_mls_path_secrets ps;
    ek_mls_keyring ring;
    ek_writer gc, enc;
    ek_writer_init_growable(&gc, NULL);
    ek_writer_init_growable(&enc, NULL);
    ek_mls_update_path up;
    int ok =
        ek_mls_tree_clone(&t, &f->tree) == EK_OK &&
        ek_mls_tnode_leaf(&tmpl, &a, ek_mls_tree_leaf(&f->tree, sender)) == EK_OK &&
        ek_mls_treekem_update_path(&ps, &ring, &t, sender, &tmpl, f->sig_priv[sender].data,
                                   f->sig_priv[sender].len, f->group_id.data, f->group_id.len,
                                   NULL) == EK_OK &&
        group_context(&gc, f, &t) &&
        ek_mls_treekem_encrypt(&up, &a, &t, sender, &ps, NULL, 0, gc.buf, gc.len, NULL) == EK_OK &&
        ek_mls_write_update_path(&enc, &up) == EK_OK;
    uint8_t th[EK_MLS_MAX_HASH_LEN];
    ok = ok && ek_mls_tree_root_hash(th, &t) == EK_OK;
    ok = ok &&
         merge_and_decrypt(f, sender, enc.buf, enc.len, NULL, ps.commit_secret, th, f->s->hash_len);
    ek_mls_path_secrets_wipe(&ps);
    ek_writer_dispose(&gc);
    ek_writer_dispose(&enc);
    ek_mls_tree_free(&t);
    ek_mls_arena_free(&a);
    return ok;
}

static int check_case(const ek_mls_suite *s, const json_t *c)
{
    fixture *f = calloc(1, sizeof(*f));
    f->s = s;
    ek_mls_arena_init(&f->arena, NULL);
    ek_mls_bytes raw = mls_hex_bytes(&f->pool, c, "ratchet_tree");
    f->group_id = mls_hex_bytes(&f->pool, c, "group_id");
    f->cth = mls_hex_bytes(&f->pool, c, "confirmed_transcript_hash");
    f->epoch = (uint64_t)ek_test_json_int(c, "epoch");
    ek_mls_ratchet_tree rt;
    ek_reader r;
    ek_reader_init(&r, raw.data, raw.len);
    int ok = ek_mls_read_ratchet_tree(&rt, &f->arena, &r) == EK_OK &&
             ek_reader_finish(&r) == EK_OK &&
             ek_mls_tree_from_decoded(&f->tree, s, NULL, &rt) == EK_OK;
    ek_mls_leaf_params lp = {
        .suite = s, .group_id = f->group_id.data, .group_id_len = f->group_id.len};
    ok = ok && ek_mls_tree_validate(&f->tree, &lp) == EK_OK;
    if (ok && !load_private(f, c)) {
        fprintf(stderr, "  private state does not match the tree\n");
        ok = 0;
    }
    const json_t *ups = json_object_get(c, "update_paths");
    size_t i;
    const json_t *u;
    json_array_foreach (ups, i, u) {
        if (!ok)
            break;
        uint32_t sender = (uint32_t)ek_test_json_int(u, "sender");
        size_t up_len, cs_len, th_len;
        uint8_t *up = ek_test_unhex(json_string_value(json_object_get(u, "update_path")), &up_len);
        uint8_t *cs =
            ek_test_unhex(json_string_value(json_object_get(u, "commit_secret")), &cs_len);
        uint8_t *th =
            ek_test_unhex(json_string_value(json_object_get(u, "tree_hash_after")), &th_len);
        ok = cs_len == s->hash_len &&
             merge_and_decrypt(f, sender, up, up_len, json_object_get(u, "path_secrets"), cs, th,
                               th_len);
        ok = ok && round_trip(f, sender);
        free(up);
        free(cs);
        free(th);
    }
    for (size_t k = 0; k < MAX_LEAVES; k++)
        ek_mls_keyring_wipe(&f->rings[k]);
    ek_mls_tree_free(&f->tree);
    ek_mls_arena_free(&f->arena);
    mls_hex_free(&f->pool);
    free(f);
    return ok;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/treekem.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/treekem");
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
