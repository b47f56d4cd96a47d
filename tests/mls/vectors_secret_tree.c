/*
 * vectors_secret_tree.c: secret-tree.json (RFC 9420 §6.3.2, §9): the
 * sender-data key and nonce from a ciphertext sample, and for every leaf
 * the handshake and application key/nonce at each listed generation,
 * taken from an ek_mls_secret_tree (peek, then consume, as a receiver).
 */
#include <enkrypt/ek_mls.h>

#include "mls_vec.h"

static int check_sender_data(const ek_mls_suite *s, mls_hex_pool *p, const json_t *o)
{
    ek_mls_bytes secret = mls_hex_bytes(p, o, "sender_data_secret");
    ek_mls_bytes ct = mls_hex_bytes(p, o, "ciphertext");
    ek_mls_bytes key = mls_hex_bytes(p, o, "key"), nonce = mls_hex_bytes(p, o, "nonce");
    uint8_t k[EK_MLS_MAX_AEAD_KEY_LEN], n[EK_MLS_AEAD_NONCE_LEN];
    return ek_mls_sender_data_key_nonce(k, n, s, secret.data, ct.data, ct.len) == EK_OK &&
           mls_eq(k, s->aead_key_len, key.data, key.len) &&
           mls_eq(n, s->aead_nonce_len, nonce.data, nonce.len);
}

static int check_ratchet(const ek_mls_suite *s, ek_mls_secret_tree *tree, uint32_t leaf,
                         int ratchet, uint32_t generation, ek_mls_bytes key, ek_mls_bytes nonce)
{
    ek_mls_key_nonce kn;
    return ek_mls_secret_tree_peek(&kn, tree, leaf, ratchet, generation) == EK_OK &&
           kn.generation == generation && mls_eq(kn.key, s->aead_key_len, key.data, key.len) &&
           mls_eq(kn.nonce, s->aead_nonce_len, nonce.data, nonce.len) &&
           ek_mls_secret_tree_consume(tree, leaf, ratchet, generation) == EK_OK &&
           /* consumed: the same generation is gone (§9.2) */
           ek_mls_secret_tree_peek(&kn, tree, leaf, ratchet, generation) == EK_ERR_STATE;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/secret-tree.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/secret-tree");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        mls_hex_pool p = {0};
        int ok = check_sender_data(s, &p, json_object_get(c, "sender_data"));
        ek_mls_bytes enc = mls_hex_bytes(&p, c, "encryption_secret");
        const json_t *leaves = json_object_get(c, "leaves");
        uint32_t n_leaves = (uint32_t)json_array_size(leaves);
        ek_mls_secret_tree tree;
        ok = ok && ek_mls_secret_tree_init(&tree, s, NULL, enc.data, n_leaves) == EK_OK;
        size_t checked = 0;
        for (uint32_t leaf = 0; ok && leaf < n_leaves; leaf++) {
            size_t j;
            json_t *g;
            json_array_foreach (json_array_get(leaves, leaf), j, g) {
                mls_hex_pool q = {0};
                uint32_t gen = (uint32_t)ek_test_json_int(g, "generation");
                ok = ok &&
                     check_ratchet(s, &tree, leaf, EK_MLS_RATCHET_HANDSHAKE, gen,
                                   mls_hex_bytes(&q, g, "handshake_key"),
                                   mls_hex_bytes(&q, g, "handshake_nonce")) &&
                     check_ratchet(s, &tree, leaf, EK_MLS_RATCHET_APPLICATION, gen,
                                   mls_hex_bytes(&q, g, "application_key"),
                                   mls_hex_bytes(&q, g, "application_nonce"));
                mls_hex_free(&q);
                checked++;
            }
        }
        ek_mls_secret_tree_free(&tree);
        ek_vec_case(&st, ok && checked > 0, "case %zu (suite %u, %u leaves)", i, s->id, n_leaves);
        mls_hex_free(&p);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
