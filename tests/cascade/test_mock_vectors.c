/*
 * test_mock_vectors.c: the original Enkrypted Chat's golden vectors V1 and
 * V2 (tests/vectors/mock-cascade.json, docs/protocol.md Appendix A.1),
 * reproduced exactly by our cascade with the original's mock layers (layer
 * i appends the byte i + 1): seal gives finalCiphertext, open gives the
 * plaintext back, and a ciphertext with any layer's byte wrong opens to
 * nothing.
 *   test_cascade_mock_vectors FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_cascade.h>

#include "ek_test.h"

static int run_one(const json_t *v)
{
    const json_t *names = json_object_get(v, "layers");
    size_t n = json_array_size(names);
    ek_layer *layers[EK_CASCADE_MAX_LAYERS];
    if (n == 0 || n > EK_CASCADE_MAX_LAYERS)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (ek_layer_mock_new(&layers[i], NULL, json_string_value(json_array_get(names, i)),
                              (uint8_t)(i + 1)) != EK_OK)
            return 0;
    }
    ek_cascade *c = NULL;
    if (ek_cascade_new(&c, NULL, layers, n) != EK_OK)
        return 0;
    size_t pt_len, ct_len;
    uint8_t *pt = ek_test_json_hex(v, "plaintext", &pt_len);
    uint8_t *want = ek_test_json_hex(v, "finalCiphertext", &ct_len);
    uint8_t out[256], back[256];
    size_t out_len = 0, back_len = 0;
    ek_layer_msg m = {0, 1, NULL, 0, 0};
    int ok = ek_cascade_seal(c, out, sizeof(out), &out_len, &m, pt, pt_len) == EK_OK &&
             out_len == ct_len && memcmp(out, want, ct_len) == 0;
    m.outgoing = 0;
    ok = ok && ek_cascade_open(c, back, sizeof(back), &back_len, &m, want, ct_len) == EK_OK &&
         back_len == pt_len && memcmp(back, pt, pt_len) == 0;
    /* Any layer's byte wrong: no plaintext. */
    for (size_t i = 0; ok && i < n; i++) {
        memcpy(out, want, ct_len);
        out[pt_len + i] ^= 0x80;
        ok = ek_cascade_open(c, back, sizeof(back), &back_len, &m, out, ct_len) == EK_ERR_AUTH &&
             back_len == 0;
    }
    printf("  %s: %s -> %s through %zu mock layers: %s\n",
           json_string_value(json_object_get(v, "id")),
           json_string_value(json_object_get(v, "plaintext")),
           json_string_value(json_object_get(v, "finalCiphertext")), n, ok ? "exact" : "DIFFERS");
    free(pt);
    free(want);
    ek_cascade_free(c);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s mock-cascade.json\n", argv[0]);
        return 2;
    }
    json_t *doc = ek_test_load_json(argv[1]);
    ek_vec_stats st;
    ek_vec_init(&st, "cascade.mock-cascade");
    const json_t *vs = json_object_get(doc, "vectors");
    for (size_t i = 0; i < json_array_size(vs); i++)
        ek_vec_case(&st, run_one(json_array_get(vs, i)), "vector %zu", i);
    json_decref(doc);
    return ek_vec_finish(&st);
}
