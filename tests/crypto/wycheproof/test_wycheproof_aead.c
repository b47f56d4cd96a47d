/*
 * test_wycheproof_aead.c: Wycheproof aes_gcm_test.json and
 * chacha20_poly1305_test.json through ek_aead_seal / ek_aead_open.
 *   test_wycheproof_aead VECTORS_DIR wycheproof/<file>.json
 *
 * valid: seal gives ct||tag, open (separate and in-place buffers) gives msg.
 * invalid: open fails and leaves no plaintext behind.
 *
 * Justified skips (printed with their counts):
 *  - AES-192-GCM: ek_aead offers AES-128-GCM, AES-256-GCM and ChaCha20-
 *    Poly1305 only; no protocol of ours (HPKE, MLS suites 1/3, the cascade)
 *    uses AES-192. Each such case is still checked to be refused.
 *  - valid cases whose IV is not 96 bits: ek_aead follows RFC 5116's
 *    AEAD_AES_*_GCM and RFC 8439 (N_MIN = N_MAX = 12 bytes), so the API
 *    refuses other nonce sizes by contract; the test checks that refusal.
 *    Invalid cases with such IVs count as passed when refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ek_test.h"

static int all_equal(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static void run_case(ek_vec_stats *st, int chacha, const json_t *g, const json_t *t)
{
    long long tc = ek_test_json_int(t, "tcId");
    long long key_bits = ek_test_json_int(g, "keySize");
    const char *result = ek_test_json_str(t, "result");
    int valid = strcmp(result, "valid") == 0;
    size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
    uint8_t *key = ek_test_json_hex(t, "key", &key_len);
    uint8_t *iv = ek_test_json_hex(t, "iv", &iv_len);
    uint8_t *aad = ek_test_json_hex(t, "aad", &aad_len);
    uint8_t *msg = ek_test_json_hex(t, "msg", &msg_len);
    uint8_t *ct = ek_test_json_hex(t, "ct", &ct_len);
    uint8_t *tag = ek_test_json_hex(t, "tag", &tag_len);
    size_t full_len = ct_len + tag_len;
    uint8_t *full = malloc(full_len + 1), *out = malloc(full_len + 1);
    if (full == NULL || out == NULL)
        abort();
    memcpy(full, ct, ct_len);
    memcpy(full + ct_len, tag, tag_len);

    ek_aead_alg alg = chacha ? EK_AEAD_CHACHA20POLY1305
                             : (key_bits == 256 ? EK_AEAD_AES256GCM : EK_AEAD_AES128GCM);
    if (!chacha && key_bits == 192) {
        /* No AES-192 in ek_aead: any 24-byte key must be refused. */
        int rc = ek_aead_open(out, EK_AEAD_AES256GCM, key, key_len, iv, iv_len, aad, aad_len, full,
                              full_len);
        EK_CHECK(rc == EK_ERR_INVALID_ARG);
        ek_vec_skip(st, "AES-192-GCM is not offered by ek_aead (refusal checked)");
        goto done;
    }
    if (iv_len != EK_AEAD_NONCE_LEN) {
        int rc_open =
            ek_aead_open(out, alg, key, key_len, iv, iv_len, aad, aad_len, full, full_len);
        int rc_seal = ek_aead_seal(out, alg, key, key_len, iv, iv_len, aad, aad_len, msg, msg_len);
        int refused = rc_open == EK_ERR_INVALID_ARG && rc_seal == EK_ERR_INVALID_ARG;
        if (valid) {
            EK_CHECK(refused);
            ek_vec_skip(st, "valid case with a non-96-bit nonce: ek_aead takes 12-byte nonces "
                            "only (RFC 5116/8439); refusal checked");
        } else {
            ek_vec_case(st, refused, "tc %lld: nonce of %zu bytes not refused", tc, iv_len);
        }
        goto done;
    }
    if (tag_len != EK_AEAD_TAG_LEN) {
        ek_vec_case(st, 0, "tc %lld: unexpected tag size %zu", tc, tag_len);
        goto done;
    }
    if (valid) {
        int ok =
            ek_aead_seal(out, alg, key, key_len, iv, iv_len, aad, aad_len, msg, msg_len) == EK_OK &&
            ek_test_bytes_equal(out, full, full_len);
        memset(out, 0xaa, full_len);
        ok = ok &&
             ek_aead_open(out, alg, key, key_len, iv, iv_len, aad, aad_len, full, full_len) ==
                 EK_OK &&
             ek_test_bytes_equal(out, msg, msg_len);
        /* In place: the plaintext overwrites the ciphertext. */
        memcpy(out, full, full_len);
        ok = ok &&
             ek_aead_open(out, alg, key, key_len, iv, iv_len, aad, aad_len, out, full_len) ==
                 EK_OK &&
             ek_test_bytes_equal(out, msg, msg_len);
        ek_vec_case(st, ok, "tc %lld: valid case failed", tc);
    } else {
        memset(out, 0xaa, full_len);
        int rc = ek_aead_open(out, alg, key, key_len, iv, iv_len, aad, aad_len, full, full_len);
        /* Nothing of a forged message may be left in the output. */
        int ok = rc == EK_ERR_AUTH && all_equal(out, msg_len, 0);
        ek_vec_case(st, ok, "tc %lld: invalid case not rejected cleanly (rc %d)", tc, rc);
    }
done:
    free(key);
    free(iv);
    free(aad);
    free(msg);
    free(ct);
    free(tag);
    free(full);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR FILE\n", argv[0]);
        return 2;
    }
    const char *file = argv[2];
    int chacha = strstr(file, "chacha20") != NULL;
    json_t *root = ek_test_load_json(ek_test_vector_path(argc, argv, file));
    ek_vec_stats st;
    ek_vec_init(&st, chacha ? "wycheproof.chacha20_poly1305_test" : "wycheproof.aes_gcm_test");
    size_t gi, ti;
    json_t *g, *t;
    json_array_foreach (json_object_get(root, "testGroups"), gi, g) {
        json_array_foreach (json_object_get(g, "tests"), ti, t) {
            run_case(&st, chacha, g, t);
        }
    }
    json_decref(root);
    return ek_vec_finish(&st);
}
