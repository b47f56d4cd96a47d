/*
 * test_wycheproof_ecc.c: Wycheproof x25519_test.json and ed25519_test.json
 * through ek_x25519 and ek_ed25519_verify.
 *   test_wycheproof_ecc VECTORS_DIR wycheproof/<file>.json
 *
 * X25519 policy for "acceptable" cases (written down as the README asks):
 * RFC 7748 computes them normally, so we must give the listed shared secret,
 * except where it is all zero (flag ZeroSharedSecret): that result is
 * refused with EK_ERR_WEAK_KEY, as HPKE (RFC 9180 §7.1.4) and Signal need.
 * Ed25519: valid cases verify, invalid ones (malleable S, bad encodings,
 * wrong lengths, small-order points) are refused with EK_ERR_AUTH. No skips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "ek_test.h"

static int has_flag(const json_t *t, const char *flag)
{
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(t, "flags"), i, f) {
        if (json_is_string(f) && strcmp(json_string_value(f), flag) == 0)
            return 1;
    }
    return 0;
}

static void x25519_case(ek_vec_stats *st, const json_t *t)
{
    long long tc = ek_test_json_int(t, "tcId");
    size_t pub_len, priv_len, shared_len;
    uint8_t *pub = ek_test_json_hex(t, "public", &pub_len);
    uint8_t *priv = ek_test_json_hex(t, "private", &priv_len);
    uint8_t *shared = ek_test_json_hex(t, "shared", &shared_len);
    uint8_t out[EK_X25519_LEN];
    int ok = pub_len == 32 && priv_len == 32 && shared_len == 32;
    if (ok) {
        int rc = ek_x25519(out, priv, pub);
        if (has_flag(t, "ZeroSharedSecret"))
            ok = rc == EK_ERR_WEAK_KEY && ek_ct_is_zero(out, sizeof(out)) &&
                 ek_ct_is_zero(shared, shared_len);
        else
            ok = rc == EK_OK && memcmp(out, shared, 32) == 0;
    }
    ek_vec_case(st, ok, "tc %lld: x25519 case failed", tc);
    free(pub);
    free(priv);
    free(shared);
}

static void ed25519_case(ek_vec_stats *st, const json_t *g, const json_t *t)
{
    long long tc = ek_test_json_int(t, "tcId");
    int valid = strcmp(ek_test_json_str(t, "result"), "valid") == 0;
    size_t pk_len, msg_len, sig_len;
    uint8_t *pk = ek_test_json_hex(json_object_get(g, "publicKey"), "pk", &pk_len);
    uint8_t *msg = ek_test_json_hex(t, "msg", &msg_len);
    uint8_t *sig = ek_test_json_hex(t, "sig", &sig_len);
    int ok = pk_len == EK_ED25519_PUBLIC_LEN;
    if (ok) {
        int rc = ek_ed25519_verify(sig, sig_len, pk, msg, msg_len);
        ok = valid ? rc == EK_OK : rc == EK_ERR_AUTH;
    }
    ek_vec_case(st, ok, "tc %lld: ed25519 %s case failed", tc, valid ? "valid" : "invalid");
    free(pk);
    free(msg);
    free(sig);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR FILE\n", argv[0]);
        return 2;
    }
    int ed = strstr(argv[2], "ed25519") != NULL;
    json_t *root = ek_test_load_json(ek_test_vector_path(argc, argv, argv[2]));
    ek_vec_stats st;
    ek_vec_init(&st, ed ? "wycheproof.ed25519_test" : "wycheproof.x25519_test");
    size_t gi, ti;
    json_t *g, *t;
    json_array_foreach (json_object_get(root, "testGroups"), gi, g) {
        json_array_foreach (json_object_get(g, "tests"), ti, t) {
            if (ed)
                ed25519_case(&st, g, t);
            else
                x25519_case(&st, t);
        }
    }
    json_decref(root);
    return ek_vec_finish(&st);
}
