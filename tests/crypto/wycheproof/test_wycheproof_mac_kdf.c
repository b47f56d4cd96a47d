/*
 * test_wycheproof_mac_kdf.c: Wycheproof hmac_sha256_test.json and
 * hkdf_sha256_test.json through ek_hmac_sha256* and ek_hkdf_sha256.
 *   test_wycheproof_mac_kdf VECTORS_DIR wycheproof/<file>.json
 *
 * HMAC valid: the tag (full or truncated to its tagSize) is computed and
 * verifies; invalid (modified tags): ek_hmac_sha256_verify refuses.
 * HKDF valid: okm is reproduced, also through extract + expand;
 * invalid (size > 255 * 32): refused with EK_ERR_TOO_LARGE. No skips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ek_test.h"

static void hmac_case(ek_vec_stats *st, const json_t *t)
{
    long long tc = ek_test_json_int(t, "tcId");
    int valid = strcmp(ek_test_json_str(t, "result"), "valid") == 0;
    size_t key_len, msg_len, tag_len;
    uint8_t *key = ek_test_json_hex(t, "key", &key_len);
    uint8_t *msg = ek_test_json_hex(t, "msg", &msg_len);
    uint8_t *tag = ek_test_json_hex(t, "tag", &tag_len);
    uint8_t full[EK_HMAC_SHA256_LEN];
    ek_hmac_sha256(full, key, key_len, msg, msg_len);
    /* The incremental interface, fed in two pieces, must agree. */
    uint8_t inc[EK_HMAC_SHA256_LEN];
    ek_hmac_sha256_ctx c;
    ek_hmac_sha256_init(&c, key, key_len);
    ek_hmac_sha256_update(&c, msg, msg_len / 2);
    ek_hmac_sha256_update(&c, msg + msg_len / 2, msg_len - msg_len / 2);
    ek_hmac_sha256_final(&c, inc);
    int rc = ek_hmac_sha256_verify(tag, tag_len, key, key_len, msg, msg_len);
    int ok;
    if (valid)
        ok = rc == EK_OK && tag_len <= sizeof(full) && memcmp(full, tag, tag_len) == 0 &&
             memcmp(full, inc, sizeof(full)) == 0;
    else
        ok = rc == EK_ERR_AUTH;
    ek_vec_case(st, ok, "tc %lld: hmac %s case failed (rc %d)", tc, valid ? "valid" : "invalid",
                rc);
    free(key);
    free(msg);
    free(tag);
}

static void hkdf_case(ek_vec_stats *st, const json_t *t)
{
    long long tc = ek_test_json_int(t, "tcId");
    int valid = strcmp(ek_test_json_str(t, "result"), "valid") == 0;
    size_t ikm_len, salt_len, info_len, okm_len;
    uint8_t *ikm = ek_test_json_hex(t, "ikm", &ikm_len);
    uint8_t *salt = ek_test_json_hex(t, "salt", &salt_len);
    uint8_t *info = ek_test_json_hex(t, "info", &info_len);
    uint8_t *okm = ek_test_json_hex(t, "okm", &okm_len);
    size_t size = (size_t)ek_test_json_int(t, "size");
    uint8_t *out = calloc(1, size + 1);
    if (out == NULL)
        abort();
    int rc = ek_hkdf_sha256(out, size, salt, salt_len, ikm, ikm_len, info, info_len);
    int ok;
    if (valid) {
        ok = rc == EK_OK && size == okm_len && memcmp(out, okm, size) == 0;
        uint8_t prk[EK_SHA256_LEN];
        ek_hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len);
        memset(out, 0, size);
        ok = ok && ek_hkdf_sha256_expand(out, size, prk, sizeof(prk), info, info_len) == EK_OK &&
             memcmp(out, okm, size) == 0;
    } else {
        ok = rc == EK_ERR_TOO_LARGE;
    }
    ek_vec_case(st, ok, "tc %lld: hkdf %s case failed (rc %d)", tc, valid ? "valid" : "invalid",
                rc);
    free(ikm);
    free(salt);
    free(info);
    free(okm);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR FILE\n", argv[0]);
        return 2;
    }
    int hkdf = strstr(argv[2], "hkdf") != NULL;
    json_t *root = ek_test_load_json(ek_test_vector_path(argc, argv, argv[2]));
    ek_vec_stats st;
    ek_vec_init(&st, hkdf ? "wycheproof.hkdf_sha256_test" : "wycheproof.hmac_sha256_test");
    size_t gi, ti;
    json_t *g, *t;
    json_array_foreach (json_object_get(root, "testGroups"), gi, g) {
        json_array_foreach (json_object_get(g, "tests"), ti, t) {
            if (hkdf)
                hkdf_case(&st, t);
            else
                hmac_case(&st, t);
        }
    }
    json_decref(root);
    return ek_vec_finish(&st);
}
