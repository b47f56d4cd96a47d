/*
 * vectors_psk_secret.c: psk_secret.json (RFC 9420 §8.4): a list of external
 * PSKs (id, value, nonce) chained into psk_secret.
 */
#include <enkrypt/ek_mls.h>

#include "mls_vec.h"

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/psk_secret.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/psk_secret");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        mls_hex_pool p = {0};
        const json_t *list = json_object_get(c, "psks");
        ek_mls_psk psks[16] = {0};
        size_t n = json_array_size(list);
        int ok = n <= 16;
        for (size_t j = 0; ok && j < n; j++) {
            const json_t *e = json_array_get(list, j);
            psks[j].id.type = EK_MLS_PSK_EXTERNAL;
            psks[j].id.psk_id = mls_hex_bytes(&p, e, "psk_id");
            psks[j].id.psk_nonce = mls_hex_bytes(&p, e, "psk_nonce");
            psks[j].secret = mls_hex_bytes(&p, e, "psk");
        }
        ek_mls_bytes want = mls_hex_bytes(&p, c, "psk_secret");
        uint8_t out[EK_MLS_MAX_HASH_LEN];
        ok = ok && ek_mls_psk_secret(out, s, psks, n) == EK_OK &&
             mls_eq(out, s->hash_len, want.data, want.len);
        ek_vec_case(&st, ok, "case %zu (suite %u, %zu PSKs)", i, s->id, n);
        mls_hex_free(&p);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
