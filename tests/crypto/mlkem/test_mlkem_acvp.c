/*
 * test_mlkem_acvp.c: the NIST ACVP ML-KEM-768 vectors (internalProjection
 * files, vectors/mlkem/README.md §1), run through the public API.
 *   test_mlkem_acvp VECTORS_DIR keyGen|encapDecap|encapDecap-tr1
 * Every listed output must be byte-equal and every testPassed must match;
 * wrong-length keys (the 1600-byte eks of encapsulationKeyCheck) go through
 * ek_mlkem768_check_ek with their real length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mlkem.h>

#include "ek_test.h"

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

static void run_keygen(ek_vec_stats *st, const json_t *t, long long tc)
{
    hexbuf d = field(t, "d"), z = field(t, "z"), ek = field(t, "ek"), dk = field(t, "dk");
    static uint8_t got_ek[EK_MLKEM768_EK_LEN], got_dk[EK_MLKEM768_DK_LEN];
    int ok = d.n == 32 && z.n == 32 &&
             ek_mlkem768_keypair_derand(got_ek, got_dk, d.p, z.p) == EK_OK &&
             equal(ek, got_ek, sizeof(got_ek)) && equal(dk, got_dk, sizeof(got_dk));
    ek_vec_case(st, ok, "keyGen tcId %lld", tc);
    free(d.p), free(z.p), free(ek.p), free(dk.p);
}

static void run_encapsulation(ek_vec_stats *st, const json_t *t, long long tc)
{
    hexbuf ek = field(t, "ek"), m = field(t, "m"), c = field(t, "c"), k = field(t, "k");
    uint8_t got_c[EK_MLKEM768_CT_LEN], got_k[EK_MLKEM768_SS_LEN];
    int ok = ek_mlkem768_check_ek(ek.p, ek.n) == EK_OK && m.n == 32 &&
             ek_mlkem768_encaps_derand(got_c, got_k, ek.p, m.p) == EK_OK &&
             equal(c, got_c, sizeof(got_c)) && equal(k, got_k, sizeof(got_k));
    ek_vec_case(st, ok, "encapsulation tcId %lld", tc);
    free(ek.p), free(m.p), free(c.p), free(k.p);
}

/* keyFormat "seed": dk comes from KeyGen_internal(d, z); "expanded": dk is
 * given. The expected k is the real key or J(z || c) ("modified
 * ciphertext"); Decaps returns EK_OK either way. */
static void run_decapsulation(ek_vec_stats *st, const json_t *t, long long tc, int seed_format)
{
    hexbuf c = field(t, "c"), k = field(t, "k"), dk = field(t, "dk");
    static uint8_t my_ek[EK_MLKEM768_EK_LEN], my_dk[EK_MLKEM768_DK_LEN];
    uint8_t got_k[EK_MLKEM768_SS_LEN];
    int ok = 1;
    if (seed_format) {
        hexbuf d = field(t, "d"), z = field(t, "z");
        ok = d.n == 32 && z.n == 32 &&
             ek_mlkem768_keypair_derand(my_ek, my_dk, d.p, z.p) == EK_OK &&
             equal(dk, my_dk, sizeof(my_dk));
        free(d.p), free(z.p);
    } else {
        ok = ek_mlkem768_check_dk(dk.p, dk.n) == EK_OK;
        if (ok)
            memcpy(my_dk, dk.p, sizeof(my_dk));
    }
    ok = ok && ek_mlkem768_check_ct(c.p, c.n) == EK_OK &&
         ek_mlkem768_decaps(got_k, c.p, my_dk) == EK_OK && equal(k, got_k, sizeof(got_k));
    ek_vec_case(st, ok, "decapsulation (%s) tcId %lld", seed_format ? "seed" : "expanded", tc);
    free(c.p), free(k.p), free(dk.p);
}

static void run_key_check(ek_vec_stats *st, const json_t *t, long long tc, int is_ek)
{
    const json_t *passed = json_object_get(t, "testPassed");
    if (!json_is_boolean(passed)) {
        fprintf(stderr, "tcId %lld: no testPassed\n", tc);
        exit(2);
    }
    hexbuf key = field(t, is_ek ? "ek" : "dk");
    int rc = is_ek ? ek_mlkem768_check_ek(key.p, key.n) : ek_mlkem768_check_dk(key.p, key.n);
    int ok = (rc == EK_OK) == json_is_true(passed);
    /* A key that fails must fail for the right reason: its length (type
     * check, EK_ERR_DECODE) or the modulus / hash check (EK_ERR_BAD_KEY). */
    if (rc != EK_OK) {
        size_t want_len = is_ek ? EK_MLKEM768_EK_LEN : EK_MLKEM768_DK_LEN;
        ok = ok && rc == (key.n == want_len ? EK_ERR_BAD_KEY : EK_ERR_DECODE);
    }
    /* encaps must refuse exactly the eks that the check refuses. */
    if (is_ek && key.n == EK_MLKEM768_EK_LEN) {
        uint8_t c[EK_MLKEM768_CT_LEN], k[EK_MLKEM768_SS_LEN], m[32] = {0};
        ok = ok && ek_mlkem768_encaps_derand(c, k, key.p, m) == rc;
    }
    ek_vec_case(st, ok, "%s tcId %lld (check returned %d)",
                is_ek ? "encapsulationKeyCheck" : "decapsulationKeyCheck", tc, rc);
    free(key.p);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR keyGen|encapDecap|encapDecap-tr1\n", argv[0]);
        return 2;
    }
    const char *which = argv[2], *rel, *name;
    if (strcmp(which, "keyGen") == 0) {
        rel = "mlkem/acvp/ML-KEM-keyGen-FIPS203.internalProjection.ML-KEM-768.json";
        name = "mlkem.acvp-keyGen";
    } else if (strcmp(which, "encapDecap") == 0) {
        rel = "mlkem/acvp/ML-KEM-encapDecap-FIPS203.internalProjection.ML-KEM-768.json";
        name = "mlkem.acvp-encapDecap";
    } else if (strcmp(which, "encapDecap-tr1") == 0) {
        rel = "mlkem/acvp/ML-KEM-encapDecap-FIPS203-tr1.internalProjection.ML-KEM-768.json";
        name = "mlkem.acvp-encapDecap-tr1";
    } else {
        fprintf(stderr, "unknown set %s\n", which);
        return 2;
    }
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, rel));
    ek_vec_stats st;
    ek_vec_init(&st, name);
    const char *mode = ek_test_json_str(doc, "mode");
    size_t gi;
    json_t *g;
    json_array_foreach (json_object_get(doc, "testGroups"), gi, g) {
        if (strcmp(ek_test_json_str(g, "parameterSet"), "ML-KEM-768") != 0) {
            fprintf(stderr, "unexpected parameter set\n");
            return 2;
        }
        const json_t *fn_j = json_object_get(g, "function");
        const char *fn = json_is_string(fn_j) ? json_string_value(fn_j) : mode;
        const json_t *fmt_j = json_object_get(g, "keyFormat");
        const char *fmt = json_is_string(fmt_j) ? json_string_value(fmt_j) : "";
        size_t ti;
        json_t *t;
        json_array_foreach (json_object_get(g, "tests"), ti, t) {
            long long tc = ek_test_json_int(t, "tcId");
            if (strcmp(fn, "keyGen") == 0)
                run_keygen(&st, t, tc);
            else if (strcmp(fn, "encapsulation") == 0)
                run_encapsulation(&st, t, tc);
            else if (strcmp(fn, "decapsulation") == 0)
                run_decapsulation(&st, t, tc, strcmp(fmt, "seed") == 0);
            else if (strcmp(fn, "encapsulationKeyCheck") == 0)
                run_key_check(&st, t, tc, 1);
            else if (strcmp(fn, "decapsulationKeyCheck") == 0)
                run_key_check(&st, t, tc, 0);
            else
                ek_vec_case(&st, 0, "tcId %lld: unknown function %s", tc, fn);
        }
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
