/*
 * test_mlkem_wycheproof.c: the Wycheproof ML-KEM-768 files
 * (vectors/wycheproof/README.md), run through the public API.
 *   test_mlkem_wycheproof VECTORS_DIR mlkem_768_test|mlkem_768_encaps_test|
 *                        mlkem_768_keygen_seed_test|
 *                        mlkem_768_semi_expanded_decaps_test
 * "valid": the operation succeeds with exactly the listed output. "invalid":
 * it must be refused, by the check function that matches the input that is
 * wrong (ek: ek_mlkem768_check_ek and encaps; dk: ek_mlkem768_check_dk and
 * decaps; c: ek_mlkem768_check_ct). No file has "acceptable" cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mlkem.h>

#include "ek_test.h"

/* dk = dk_PKE (1152 bytes) || ek || H(ek) || z (FIPS 203 Algorithm 16). */
#define DK_EK_OFF (EK_MLKEM768_DK_LEN - EK_MLKEM768_EK_LEN - 64)

typedef struct hexbuf {
    uint8_t *p;
    size_t n;
} hexbuf;

static hexbuf field(const json_t *t, const char *key)
{
    hexbuf b;
    b.p = ek_test_json_hex(t, key, &b.n);
    return b;
}

static int equal(hexbuf want, const uint8_t *got, size_t n)
{
    return want.n == n && memcmp(want.p, got, n) == 0;
}

/* The seed form d || z of a decapsulation key, with its length: the
 * library refuses a seed of any other length (EK_ERR_DECODE). */
static int keygen_from_seed(uint8_t ek[EK_MLKEM768_EK_LEN], uint8_t dk[EK_MLKEM768_DK_LEN],
                            hexbuf seed)
{
    return ek_mlkem768_keypair_from_seed(ek, dk, seed.p, seed.n);
}

/* mlkem_768_test: seed -> KeyGen must give ek; Decaps(dk, c) = K. Invalid
 * cases have a wrong seed length or a wrong ciphertext length. */
static int run_test(const json_t *t, int valid)
{
    hexbuf seed = field(t, "seed"), c = field(t, "c"), k = field(t, "K");
    static uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN];
    uint8_t got[EK_MLKEM768_SS_LEN];
    int ok;
    int rc = keygen_from_seed(ek, dk, seed);
    if (valid) {
        hexbuf want_ek = field(t, "ek");
        ok = rc == EK_OK && equal(want_ek, ek, sizeof(ek)) &&
             ek_mlkem768_check_ct(c.p, c.n) == EK_OK && ek_mlkem768_decaps(got, c.p, dk) == EK_OK &&
             equal(k, got, sizeof(got));
        free(want_ek.p);
    } else if (rc != EK_OK) {
        ok = rc == EK_ERR_DECODE && seed.n != 2 * EK_MLKEM_SEED_LEN;
    } else {
        ok = ek_mlkem768_check_ct(c.p, c.n) == EK_ERR_DECODE;
    }
    free(seed.p), free(c.p), free(k.p);
    return ok;
}

/* mlkem_768_encaps_test: Encaps_internal(ek, m) = (c, K); invalid eks are
 * unreduced (modulus check) or of the wrong length (type check). */
static int run_encaps(const json_t *t, int valid)
{
    hexbuf ek = field(t, "ek"), m = field(t, "m"), c = field(t, "c"), k = field(t, "K");
    uint8_t got_c[EK_MLKEM768_CT_LEN], got_k[EK_MLKEM768_SS_LEN];
    int ok, rc = ek_mlkem768_check_ek(ek.p, ek.n);
    if (valid) {
        ok = rc == EK_OK && m.n == 32 &&
             ek_mlkem768_encaps_derand(got_c, got_k, ek.p, m.p) == EK_OK &&
             equal(c, got_c, sizeof(got_c)) && equal(k, got_k, sizeof(got_k));
    } else if (ek.n != EK_MLKEM768_EK_LEN) {
        ok = rc == EK_ERR_DECODE;
    } else {
        /* Encaps itself refuses it and writes nothing. */
        memset(got_c, 0x5a, sizeof(got_c));
        memset(got_k, 0x5a, sizeof(got_k));
        ok = rc == EK_ERR_BAD_KEY && m.n == 32 &&
             ek_mlkem768_encaps_derand(got_c, got_k, ek.p, m.p) == EK_ERR_BAD_KEY &&
             got_c[0] == 0x5a && got_c[sizeof(got_c) - 1] == 0x5a && got_k[0] == 0x5a &&
             got_k[sizeof(got_k) - 1] == 0x5a;
    }
    free(ek.p), free(m.p), free(c.p), free(k.p);
    return ok;
}

/* mlkem_768_keygen_seed_test: KeyGen_internal(seed[0:32], seed[32:64]). */
static int run_keygen(const json_t *t, int valid)
{
    hexbuf seed = field(t, "seed"), ek = field(t, "ek"), dk = field(t, "dk");
    static uint8_t got_ek[EK_MLKEM768_EK_LEN], got_dk[EK_MLKEM768_DK_LEN];
    int ok = valid && keygen_from_seed(got_ek, got_dk, seed) == EK_OK &&
             equal(ek, got_ek, sizeof(got_ek)) && equal(dk, got_dk, sizeof(got_dk));
    free(seed.p), free(ek.p), free(dk.p);
    return ok;
}

/* mlkem_768_semi_expanded_decaps_test: Decaps with an expanded dk. */
static int run_semi_expanded(const json_t *t, int valid)
{
    hexbuf dk = field(t, "dk"), c = field(t, "c"), ek = field(t, "ek");
    uint8_t got[EK_MLKEM768_SS_LEN];
    int ok;
    int rc_dk = ek_mlkem768_check_dk(dk.p, dk.n), rc_c = ek_mlkem768_check_ct(c.p, c.n);
    if (valid) {
        hexbuf k = field(t, "K");
        ok = rc_dk == EK_OK && rc_c == EK_OK && ek.n == EK_MLKEM768_EK_LEN &&
             memcmp(dk.p + DK_EK_OFF, ek.p, ek.n) == 0 &&
             ek_mlkem768_decaps(got, c.p, dk.p) == EK_OK && equal(k, got, sizeof(got));
        free(k.p);
    } else if (dk.n != EK_MLKEM768_DK_LEN) {
        ok = rc_dk == EK_ERR_DECODE;
    } else if (c.n != EK_MLKEM768_CT_LEN) {
        ok = rc_dk == EK_OK && rc_c == EK_ERR_DECODE;
    } else {
        /* Corrupted H(ek) or embedded ek: the §7.3 hash check, in the check
         * function and in Decaps (which then writes nothing). */
        memset(got, 0x5a, sizeof(got));
        ok = rc_dk == EK_ERR_BAD_KEY && ek_mlkem768_decaps(got, c.p, dk.p) == EK_ERR_BAD_KEY &&
             got[0] == 0x5a && got[sizeof(got) - 1] == 0x5a;
    }
    free(dk.p), free(c.p), free(ek.p);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR FILE_STEM\n", argv[0]);
        return 2;
    }
    const char *stem = argv[2];
    int (*run)(const json_t *, int);
    if (strcmp(stem, "mlkem_768_test") == 0)
        run = run_test;
    else if (strcmp(stem, "mlkem_768_encaps_test") == 0)
        run = run_encaps;
    else if (strcmp(stem, "mlkem_768_keygen_seed_test") == 0)
        run = run_keygen;
    else if (strcmp(stem, "mlkem_768_semi_expanded_decaps_test") == 0)
        run = run_semi_expanded;
    else {
        fprintf(stderr, "unknown file %s\n", stem);
        return 2;
    }
    char rel[256], name[256];
    snprintf(rel, sizeof(rel), "wycheproof/%s.json", stem);
    snprintf(name, sizeof(name), "wycheproof.%s", stem);
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, rel));
    ek_vec_stats st;
    ek_vec_init(&st, name);
    size_t gi;
    json_t *g;
    json_array_foreach (json_object_get(doc, "testGroups"), gi, g) {
        if (strcmp(ek_test_json_str(g, "parameterSet"), "ML-KEM-768") != 0) {
            fprintf(stderr, "unexpected parameter set\n");
            return 2;
        }
        size_t ti;
        json_t *t;
        json_array_foreach (json_object_get(g, "tests"), ti, t) {
            long long tc = ek_test_json_int(t, "tcId");
            const char *result = ek_test_json_str(t, "result");
            if (strcmp(result, "valid") != 0 && strcmp(result, "invalid") != 0) {
                /* None exist in these files; fail loudly if one appears. */
                ek_vec_case(&st, 0, "tcId %lld: unexpected result \"%s\"", tc, result);
                continue;
            }
            ek_vec_case(&st, run(t, strcmp(result, "valid") == 0), "tcId %lld (%s)", tc, result);
        }
    }
    long long declared = ek_test_json_int(doc, "numberOfTests");
    if (declared != (long long)st.cases)
        ek_vec_case(&st, 0, "numberOfTests %lld, ran %u", declared, st.cases);
    json_decref(doc);
    return ek_vec_finish(&st);
}
