/*
 * vectors_crypto_basics.c: crypto-basics.json (RFC 9420 §5, §8, §9.1):
 * RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret,
 * SignWithLabel/VerifyWithLabel (the given signature verifies; ours equals
 * it, EdDSA being deterministic, and verifies) and EncryptWithLabel /
 * DecryptWithLabel (the given ciphertext opens; a fresh one round-trips).
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "mls_vec.h"

static int check_ref_hash(const ek_mls_suite *s, mls_hex_pool *p, const json_t *o)
{
    const char *label = ek_test_json_str(o, "label");
    ek_mls_bytes value = mls_hex_bytes(p, o, "value"), want = mls_hex_bytes(p, o, "out");
    uint8_t out[EK_MLS_MAX_HASH_LEN];
    return ek_mls_ref_hash(out, s, label, strlen(label), value.data, value.len) == EK_OK &&
           mls_eq(out, s->hash_len, want.data, want.len);
}

static int check_expand_with_label(const ek_mls_suite *s, mls_hex_pool *p, const json_t *o)
{
    const char *label = ek_test_json_str(o, "label");
    ek_mls_bytes secret = mls_hex_bytes(p, o, "secret"), ctx = mls_hex_bytes(p, o, "context");
    ek_mls_bytes want = mls_hex_bytes(p, o, "out");
    size_t n = (size_t)ek_test_json_int(o, "length");
    uint8_t out[256];
    return n <= sizeof(out) &&
           ek_mls_expand_with_label(out, n, s, secret.data, secret.len, label, strlen(label),
                                    ctx.data, ctx.len) == EK_OK &&
           mls_eq(out, n, want.data, want.len);
}

static int check_derive_secret(const ek_mls_suite *s, mls_hex_pool *p, const json_t *o)
{
    ek_mls_bytes secret = mls_hex_bytes(p, o, "secret"), want = mls_hex_bytes(p, o, "out");
    uint8_t out[EK_MLS_MAX_HASH_LEN];
    return secret.len == s->hash_len &&
           ek_mls_derive_secret(out, s, secret.data, ek_test_json_str(o, "label")) == EK_OK &&
           mls_eq(out, s->hash_len, want.data, want.len);
}

static int check_derive_tree_secret(const ek_mls_suite *s, mls_hex_pool *p, const json_t *o)
{
    ek_mls_bytes secret = mls_hex_bytes(p, o, "secret"), want = mls_hex_bytes(p, o, "out");
    size_t n = (size_t)ek_test_json_int(o, "length");
    uint32_t generation = (uint32_t)ek_test_json_int(o, "generation");
    uint8_t out[256];
    return secret.len == s->hash_len && n <= sizeof(out) &&
           ek_mls_derive_tree_secret(out, n, s, secret.data, ek_test_json_str(o, "label"),
                                     generation) == EK_OK &&
           mls_eq(out, n, want.data, want.len);
}

static int check_sign_with_label(const ek_mls_suite *s, mls_hex_pool *p, const json_t *o)
{
    const char *label = ek_test_json_str(o, "label");
    ek_mls_bytes priv = mls_hex_bytes(p, o, "priv"), pub = mls_hex_bytes(p, o, "pub");
    ek_mls_bytes content = mls_hex_bytes(p, o, "content"), sig = mls_hex_bytes(p, o, "signature");
    if (ek_mls_verify_with_label(s, pub.data, pub.len, label, content.data, content.len, sig.data,
                                 sig.len) != EK_OK)
        return 0;
    uint8_t ours[EK_MLS_MAX_SIGNATURE_LEN], derived_pub[64];
    size_t ours_len = 0;
    if (s->sig_public(derived_pub, priv.data, priv.len) != EK_OK ||
        !mls_eq(derived_pub, s->sig_public_len, pub.data, pub.len))
        return 0;
    if (ek_mls_sign_with_label(ours, &ours_len, s, priv.data, priv.len, label, content.data,
                               content.len) != EK_OK)
        return 0;
    /* A flipped content byte must not verify. */
    int tampered_ok = 1;
    if (content.len > 0) {
        uint8_t *c = (uint8_t *)content.data;
        c[0] ^= 1;
        tampered_ok = ek_mls_verify_with_label(s, pub.data, pub.len, label, c, content.len, ours,
                                               ours_len) == EK_ERR_AUTH;
        c[0] ^= 1;
    }
    return tampered_ok && mls_eq(ours, ours_len, sig.data, sig.len) &&
           ek_mls_verify_with_label(s, pub.data, pub.len, label, content.data, content.len, ours,
                                    ours_len) == EK_OK;
}

static int check_encrypt_with_label(const ek_mls_suite *s, mls_hex_pool *p, const json_t *o)
{
    const char *label = ek_test_json_str(o, "label");
    ek_mls_bytes priv = mls_hex_bytes(p, o, "priv"), pub = mls_hex_bytes(p, o, "pub");
    ek_mls_bytes ctx = mls_hex_bytes(p, o, "context"), pt = mls_hex_bytes(p, o, "plaintext");
    ek_mls_bytes kem = mls_hex_bytes(p, o, "kem_output"), ct = mls_hex_bytes(p, o, "ciphertext");
    uint8_t out[512], kem2[EK_MLS_MAX_KEM_PUBLIC_LEN], ct2[512];
    if (pt.len + 16 > sizeof(out))
        return 0;
    int rc = ek_mls_decrypt_with_label(out, s, priv.data, priv.len, label, ctx.data, ctx.len,
                                       kem.data, kem.len, ct.data, ct.len);
    if (rc != EK_OK) {
        fprintf(stderr, "DecryptWithLabel: %s\n", ek_strerror(rc));
        return 0;
    }
    if (!mls_eq(out, ct.len - 16, pt.data, pt.len))
        return 0;
    rc = ek_mls_encrypt_with_label(kem2, ct2, s, pub.data, pub.len, label, ctx.data, ctx.len,
                                   pt.data, pt.len, NULL);
    if (rc != EK_OK)
        return 0;
    memset(out, 0, sizeof(out));
    return ek_mls_decrypt_with_label(out, s, priv.data, priv.len, label, ctx.data, ctx.len, kem2,
                                     s->kem_output_len, ct2, pt.len + 16) == EK_OK &&
           mls_eq(out, pt.len, pt.data, pt.len) &&
           /* the wrong context must not open it */
           ek_mls_decrypt_with_label(out, s, priv.data, priv.len, label, "x", 1, kem2,
                                     s->kem_output_len, ct2, pt.len + 16) == EK_ERR_AUTH;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/crypto-basics.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/crypto-basics");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        mls_hex_pool p = {0};
        int r1 = check_ref_hash(s, &p, json_object_get(c, "ref_hash"));
        int r2 = check_expand_with_label(s, &p, json_object_get(c, "expand_with_label"));
        int r3 = check_derive_secret(s, &p, json_object_get(c, "derive_secret"));
        int r4 = check_derive_tree_secret(s, &p, json_object_get(c, "derive_tree_secret"));
        int r5 = check_sign_with_label(s, &p, json_object_get(c, "sign_with_label"));
        int r6 = check_encrypt_with_label(s, &p, json_object_get(c, "encrypt_with_label"));
        ek_vec_case(&st, r1 && r2 && r3 && r4 && r5 && r6,
                    "suite %u: ref_hash %d expand_with_label %d derive_secret %d "
                    "derive_tree_secret %d sign_with_label %d encrypt_with_label %d",
                    s->id, r1, r2, r3, r4, r5, r6);
        mls_hex_free(&p);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
