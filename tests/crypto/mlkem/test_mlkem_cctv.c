/*
 * test_mlkem_cctv.c: the C2SP CCTV ML-KEM-768 vectors
 * (vectors/mlkem/README.md §2), for final FIPS 203.
 *   test_mlkem_cctv VECTORS_DIR strcmp|unluckysample|modulus|intermediate
 *
 * strcmp, unluckysample and modulus go through the public API only.
 * intermediate was generated against the FIPS 203 draft, whose KeyGen starts
 * with G(d) instead of G(d || k) (README §2.1): its KeyGen sub-steps are
 * therefore checked from the file's rho and sigma through the internal
 * functions, the final-FIPS-203 KeyGen(d) is checked to differ from the
 * draft's, and Encaps/Decaps run both through the API and step by step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mlkem.h>

#include "crypto/mlkem/mlkem_internal.h"
#include "ek_test.h"

/* ---- the text format (README §2.2) ---- */
enum { MAX_LINES = 64 };

typedef struct cctv_line {
    char *name;   /* before the first " = " */
    uint8_t *hex; /* the value after the last " = ", when it is hex */
    size_t hex_len;
    int16_t dec[MLKEM_N]; /* a "{c0, c1, ...}" listing, when there is one */
    int has_dec;
} cctv_line;

typedef struct cctv_file {
    cctv_line line[MAX_LINES + 1]; /* 1-based, as the README numbers them */
    int n;
} cctv_file;

static int parse_decimals(int16_t out[MLKEM_N], const char *s, const char *end)
{
    int n = 0;
    if (*s != '{')
        return 0;
    s++;
    while (s < end && n < MLKEM_N) {
        char *next;
        long v = strtol(s, &next, 10);
        if (next == s)
            return 0;
        out[n++] = (int16_t)v;
        s = next;
        while (s < end && (*s == ',' || *s == ' '))
            s++;
        if (*s == '}')
            break;
    }
    return n == MLKEM_N;
}

static void parse_file(cctv_file *f, char *text)
{
    memset(f, 0, sizeof(*f));
    for (char *line = text; *line != '\0';) {
        char *eol = strchr(line, '\n');
        if (eol != NULL)
            *eol = '\0';
        if (*line != '\0') {
            if (f->n == MAX_LINES) {
                fprintf(stderr, "too many lines\n");
                exit(2);
            }
            cctv_line *l = &f->line[++f->n];
            char *first = strstr(line, " = ");
            if (first == NULL) {
                fprintf(stderr, "line %d: no \" = \"\n", f->n);
                exit(2);
            }
            char *last = first, *p;
            while ((p = strstr(last + 3, " = ")) != NULL)
                last = p;
            *first = '\0';
            l->name = line;
            char *value = last + 3;
            if (*value == '{') {
                l->has_dec = parse_decimals(l->dec, value, value + strlen(value));
            } else {
                l->hex = ek_test_unhex(value, &l->hex_len);
                if (last != first) /* name = {decimals} = hex, or name = alias = hex */
                    l->has_dec = parse_decimals(l->dec, first + 3, last);
            }
        }
        if (eol == NULL)
            break;
        line = eol + 1;
    }
}

static const cctv_line *get(const cctv_file *f, int n, const char *name, size_t len)
{
    if (n > f->n || strcmp(f->line[n].name, name) != 0 || f->line[n].hex_len != len) {
        fprintf(stderr, "line %d: expected %s of %zu bytes\n", n, name, len);
        exit(2);
    }
    return &f->line[n];
}

static void load(cctv_file *f, int argc, char **argv, const char *rel)
{
    char *text = ek_test_read_file(ek_test_vector_path(argc, argv, rel), NULL);
    parse_file(f, text); /* the lines point into text, kept to the end */
}

/* ---- strcmp (README §2.3) ---- */
static void run_strcmp(ek_vec_stats *st, int argc, char **argv)
{
    static cctv_file f;
    load(&f, argc, argv, "mlkem/cctv/strcmp-ML-KEM-768.txt");
    const cctv_line *dk = get(&f, 1, "dk", EK_MLKEM768_DK_LEN);
    const cctv_line *c = get(&f, 2, "c", EK_MLKEM768_CT_LEN);
    const cctv_line *k = get(&f, 3, "K", EK_MLKEM768_SS_LEN);
    uint8_t got[EK_MLKEM768_SS_LEN];
    int ok = ek_mlkem768_check_dk(dk->hex, dk->hex_len) == EK_OK &&
             ek_mlkem768_check_ct(c->hex, c->hex_len) == EK_OK &&
             ek_mlkem768_decaps(got, c->hex, dk->hex) == EK_OK && memcmp(got, k->hex, 32) == 0;
    ek_vec_case(st, ok, "strcmp: Decaps(dk, c) != K");
}

/* ---- unluckysample (README §2.4) ---- */
static void run_unluckysample(ek_vec_stats *st, int argc, char **argv)
{
    static cctv_file f;
    load(&f, argc, argv, "mlkem/cctv/unluckysample-ML-KEM-768.txt");
    const cctv_line *ek = get(&f, 3, "ek", EK_MLKEM768_EK_LEN);
    const cctv_line *dk = get(&f, 4, "dk", EK_MLKEM768_DK_LEN);
    const cctv_line *m = get(&f, 5, "m", 32);
    const cctv_line *k = get(&f, 6, "K", 32);
    const cctv_line *c = get(&f, 7, "c", EK_MLKEM768_CT_LEN);
    /* The point of the vector: Â[0][0] = SampleNTT(rho || 0 || 0) cannot be
     * completed from 575 XOF bytes. Confirm that before trusting the test. */
    uint8_t seed[34], xof[575];
    memcpy(seed, ek->hex + 1152, 32);
    seed[32] = seed[33] = 0;
    ek_shake128(xof, sizeof(xof), seed, sizeof(seed));
    unsigned accepted = 0;
    for (size_t i = 0; i + 3 <= sizeof(xof); i += 3) {
        accepted += (xof[i] | (xof[i + 1] & 15) << 8) < MLKEM_Q;
        accepted += (xof[i + 1] >> 4 | xof[i + 2] << 4) < MLKEM_Q;
    }
    ek_vec_case(st, accepted < MLKEM_N, "unluckysample: 575 bytes already give %u", accepted);
    uint8_t got_c[EK_MLKEM768_CT_LEN], got_k[32], got_k2[32];
    int ok = ek_mlkem768_check_ek(ek->hex, ek->hex_len) == EK_OK &&
             ek_mlkem768_encaps_derand(got_c, got_k, ek->hex, m->hex) == EK_OK &&
             memcmp(got_c, c->hex, sizeof(got_c)) == 0 && memcmp(got_k, k->hex, 32) == 0;
    ek_vec_case(st, ok, "unluckysample: Encaps_internal(ek, m) != (c, K)");
    ok = ek_mlkem768_check_dk(dk->hex, dk->hex_len) == EK_OK &&
         ek_mlkem768_decaps(got_k2, c->hex, dk->hex) == EK_OK && memcmp(got_k2, k->hex, 32) == 0;
    ek_vec_case(st, ok, "unluckysample: Decaps(dk, c) != K");
}

/* ---- modulus (README §2.5): every line's ek must be refused ---- */
static void run_modulus(ek_vec_stats *st, int argc, char **argv)
{
    const char *path = ek_test_vector_path(argc, argv, "mlkem/cctv/modulus-ML-KEM-768.txt.gz");
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    static char line[2 * EK_MLKEM768_EK_LEN + 16];
    int n = 0;
    while (gzgets(gz, line, sizeof(line)) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        n++;
        size_t len;
        uint8_t *ek = ek_test_unhex(line, &len);
        uint8_t c[EK_MLKEM768_CT_LEN], k[32], m[32] = {1};
        memset(c, 0x5a, sizeof(c));
        memset(k, 0x5a, sizeof(k));
        int ok = len == EK_MLKEM768_EK_LEN && ek_mlkem768_check_ek(ek, len) == EK_ERR_BAD_KEY &&
                 ek_mlkem768_encaps_derand(c, k, ek, m) == EK_ERR_BAD_KEY &&
                 ek_mlkem768_encaps(c, k, ek, NULL) == EK_ERR_BAD_KEY && c[0] == 0x5a &&
                 c[sizeof(c) - 1] == 0x5a && k[0] == 0x5a && k[31] == 0x5a;
        ek_vec_case(st, ok, "modulus line %d accepted", n);
        free(ek);
    }
    gzclose(gz);
    if (n != 780)
        ek_vec_case(st, 0, "modulus: %d lines, expected 780", n);
}

/* ---- intermediate (README §2.7) ---- */
static int poly_matches(const mlkem_poly *p, const cctv_line *l)
{
    uint8_t b[MLKEM_POLYBYTES];
    ek_mlkem_poly_tobytes(b, p);
    if (l->hex != NULL && (l->hex_len != MLKEM_POLYBYTES || memcmp(b, l->hex, sizeof(b)) != 0))
        return 0;
    if (l->has_dec) {
        mlkem_poly r;
        ek_mlkem_poly_frombytes(&r, b); /* the [0, q) representatives */
        if (memcmp(r.c, l->dec, sizeof(r.c)) != 0)
            return 0;
    }
    return l->hex != NULL || l->has_dec;
}

static int vec_matches(const mlkem_polyvec *v, const cctv_line *l)
{
    uint8_t b[MLKEM_POLYVECBYTES];
    ek_mlkem_polyvec_tobytes(b, v);
    return l->hex_len == sizeof(b) && memcmp(b, l->hex, sizeof(b)) == 0;
}

static int matrix_matches(const mlkem_polyvec a[MLKEM_K], const cctv_line *l)
{
    if (l->hex_len != MLKEM_K * MLKEM_POLYVECBYTES)
        return 0;
    for (int i = 0; i < MLKEM_K; i++)
        if (!vec_matches(&a[i], &(cctv_line){.hex = l->hex + i * MLKEM_POLYVECBYTES,
                                             .hex_len = MLKEM_POLYVECBYTES}))
            return 0;
    return 1;
}

#define CHECK_LINE(ok, n) ek_vec_case(st, (ok), "intermediate line %d (%s)", (n), f.line[n].name)

static void run_intermediate(ek_vec_stats *st, int argc, char **argv)
{
    static cctv_file f;
    load(&f, argc, argv, "mlkem/cctv/intermediate-ML-KEM-768.txt");
    const uint8_t *d = get(&f, 1, "d", 32)->hex;
    const uint8_t *rho = get(&f, 2, "\xcf\x81", 32)->hex;   /* ρ */
    const uint8_t *sigma = get(&f, 3, "\xcf\x83", 32)->hex; /* σ */
    const uint8_t *z = get(&f, 15, "z", 32)->hex;
    const uint8_t *m = get(&f, 18, "m", 32)->hex;
    static const int decimal_lines[] = {4, 6, 8, 28, 29, 31, 32};
    for (size_t i = 0; i < sizeof(decimal_lines) / sizeof(decimal_lines[0]); i++) {
        if (!f.line[decimal_lines[i]].has_dec) {
            fprintf(stderr, "line %d: no decimal listing parsed\n", decimal_lines[i]);
            exit(2);
        }
    }

    /* Lines 2-3 hold the draft's G(d); the final KeyGen uses G(d || 3) and
     * must therefore give another key (README §2.1). */
    uint8_t g[64], d3[33];
    ek_sha3_512(g, d, 32);
    ek_vec_case(st, memcmp(g, rho, 32) == 0 && memcmp(g + 32, sigma, 32) == 0,
                "intermediate lines 2-3: rho || sigma is not the draft's G(d)");
    memcpy(d3, d, 32);
    d3[32] = 3;
    static uint8_t ek_final[EK_MLKEM768_EK_LEN], dk_final[EK_MLKEM768_DK_LEN];
    ek_sha3_512(g, d3, sizeof(d3));
    EK_CHECK_OK(ek_mlkem768_keypair_derand(ek_final, dk_final, d, z));
    ek_vec_case(st,
                memcmp(ek_final + 1152, g, 32) == 0 &&
                    memcmp(ek_final, get(&f, 13, "ek", EK_MLKEM768_EK_LEN)->hex, 1152) != 0,
                "intermediate: final KeyGen(d) does not use G(d || k)");

    /* KeyGen sub-steps (lines 4-17) from the file's rho and sigma. */
    mlkem_polyvec a[MLKEM_K], s, e, s_hat, e_hat, t;
    mlkem_mulcache s_cache[MLKEM_K];
    mlkem_poly a00;
    ek_mlkem_sample_ntt(&a00, rho, 0, 0);
    CHECK_LINE(poly_matches(&a00, &f.line[4]), 4);
    ek_mlkem_gen_matrix(a, rho, 0);
    CHECK_LINE(matrix_matches(a, &f.line[5]), 5);
    mlkem_poly *const b0[4] = {&s.p[0], &s.p[1], &s.p[2], &e.p[0]};
    mlkem_poly *const b1[4] = {&e.p[1], &e.p[2], NULL, NULL};
    ek_mlkem_sample_noise_x4(b0, sigma, (const uint8_t[4]){0, 1, 2, 3});
    ek_mlkem_sample_noise_x4(b1, sigma, (const uint8_t[4]){4, 5, 6, 7});
    CHECK_LINE(poly_matches(&s.p[0], &f.line[6]), 6);
    CHECK_LINE(vec_matches(&s, &f.line[7]), 7);
    s_hat = s;
    e_hat = e;
    for (int i = 0; i < MLKEM_K; i++) {
        ek_mlkem_ntt(&s_hat.p[i]);
        ek_mlkem_ntt(&e_hat.p[i]);
        ek_mlkem_mulcache_compute(&s_cache[i], &s_hat.p[i]);
    }
    CHECK_LINE(poly_matches(&s_hat.p[0], &f.line[8]), 8);
    CHECK_LINE(vec_matches(&s_hat, &f.line[9]), 9);
    CHECK_LINE(vec_matches(&e, &f.line[10]), 10);
    CHECK_LINE(vec_matches(&e_hat, &f.line[11]), 11);
    for (int i = 0; i < MLKEM_K; i++) {
        ek_mlkem_polyvec_basemul_acc(&t.p[i], &a[i], &s_hat, s_cache);
        ek_mlkem_poly_tomont(&t.p[i]);
        ek_mlkem_poly_add(&t.p[i], &e_hat.p[i]);
    }
    CHECK_LINE(vec_matches(&t, &f.line[12]), 12);
    static uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN];
    ek_mlkem_kpke_keygen_from_seeds(ek, dk, rho, sigma);
    CHECK_LINE(memcmp(ek, get(&f, 13, "ek", EK_MLKEM768_EK_LEN)->hex, sizeof(ek)) == 0, 13);
    /* Line 14 is mislabelled dkPKE but holds ek_PKE (README §2.7). */
    CHECK_LINE(memcmp(ek, get(&f, 14, "dkPKE", EK_MLKEM768_EK_LEN)->hex, sizeof(ek)) == 0, 14);
    CHECK_LINE(memcmp(dk, f.line[9].hex, MLKEM_POLYVECBYTES) == 0 && f.line[9].hex_len == 1152, 9);
    uint8_t h[32];
    ek_sha3_256(h, ek, sizeof(ek));
    CHECK_LINE(memcmp(h, get(&f, 16, "H(ek)", 32)->hex, 32) == 0, 16);
    memcpy(dk + MLKEM_DK_EK_OFF, ek, sizeof(ek));
    memcpy(dk + MLKEM_DK_H_OFF, h, 32);
    memcpy(dk + MLKEM_DK_Z_OFF, z, 32);
    CHECK_LINE(memcmp(dk, get(&f, 17, "dk", EK_MLKEM768_DK_LEN)->hex, sizeof(dk)) == 0, 17);

    /* Encaps through the API (lines 19 and 34). */
    const uint8_t *c_want = get(&f, 34, "c", EK_MLKEM768_CT_LEN)->hex;
    const uint8_t *k_want = get(&f, 19, "K", 32)->hex;
    uint8_t c[EK_MLKEM768_CT_LEN], k[32];
    int ok = ek_mlkem768_check_ek(ek, sizeof(ek)) == EK_OK &&
             ek_mlkem768_encaps_derand(c, k, ek, m) == EK_OK;
    CHECK_LINE(ok && memcmp(k, k_want, 32) == 0, 19);
    CHECK_LINE(ok && memcmp(c, c_want, sizeof(c)) == 0, 34);

    /* Encaps step by step (lines 20-33). */
    uint8_t g_in[64], k_r[64];
    memcpy(g_in, m, 32);
    memcpy(g_in + 32, h, 32);
    ek_sha3_512(k_r, g_in, sizeof(g_in));
    CHECK_LINE(memcmp(k_r + 32, get(&f, 20, "r", 32)->hex, 32) == 0, 20);
    const uint8_t *r = k_r + 32;
    mlkem_poly mu, e2, v, tmp;
    ek_mlkem_poly_frommsg(&mu, m);
    CHECK_LINE(poly_matches(&mu, &f.line[21]), 21);
    mlkem_polyvec at[MLKEM_K], y, y_hat, e1, u, t_hat;
    mlkem_mulcache y_cache[MLKEM_K];
    ek_mlkem_gen_matrix(at, rho, 1);
    CHECK_LINE(matrix_matches(at, &f.line[22]), 22);
    mlkem_poly *const c0[4] = {&y.p[0], &y.p[1], &y.p[2], &e1.p[0]};
    mlkem_poly *const c1[4] = {&e1.p[1], &e1.p[2], &e2, NULL};
    ek_mlkem_sample_noise_x4(c0, r, (const uint8_t[4]){0, 1, 2, 3});
    ek_mlkem_sample_noise_x4(c1, r, (const uint8_t[4]){4, 5, 6, 7});
    CHECK_LINE(vec_matches(&y, &f.line[23]), 23);
    y_hat = y;
    for (int i = 0; i < MLKEM_K; i++) {
        ek_mlkem_ntt(&y_hat.p[i]);
        ek_mlkem_mulcache_compute(&y_cache[i], &y_hat.p[i]);
    }
    CHECK_LINE(vec_matches(&y_hat, &f.line[24]), 24);
    CHECK_LINE(vec_matches(&e1, &f.line[25]), 25);
    CHECK_LINE(poly_matches(&e2, &f.line[26]), 26);
    for (int i = 0; i < MLKEM_K; i++) {
        ek_mlkem_polyvec_basemul_acc(&u.p[i], &at[i], &y_hat, y_cache);
        ek_mlkem_invntt_tomont(&u.p[i]);
        ek_mlkem_poly_add(&u.p[i], &e1.p[i]);
    }
    CHECK_LINE(vec_matches(&u, &f.line[27]), 27);
    CHECK_LINE(poly_matches(&u.p[0], &f.line[28]), 28);
    int bad = !f.line[29].has_dec;
    uint8_t enc[MLKEM_POLYBYTES];
    ek_mlkem_poly_tobytes(enc, &u.p[0]);
    ek_mlkem_poly_frombytes(&tmp, enc);
    for (int i = 0; i < MLKEM_N; i++)
        bad |= ek_mlkem_compress_d((uint16_t)tmp.c[i], MLKEM_DU) != (uint16_t)f.line[29].dec[i];
    CHECK_LINE(!bad, 29);
    uint8_t cc[EK_MLKEM768_CT_LEN];
    for (int i = 0; i < MLKEM_K; i++)
        ek_mlkem_poly_compress_du(cc + i * MLKEM_POLY_DU_BYTES, &u.p[i]);
    CHECK_LINE(memcmp(cc, get(&f, 30, "c1", 960)->hex, 960) == 0, 30);
    ek_mlkem_polyvec_frombytes(&t_hat, ek);
    ek_mlkem_polyvec_basemul_acc(&v, &t_hat, &y_hat, y_cache);
    ek_mlkem_invntt_tomont(&v);
    ek_mlkem_poly_add(&v, &e2);
    ek_mlkem_poly_add(&v, &mu);
    CHECK_LINE(poly_matches(&v, &f.line[31]), 31);
    ek_mlkem_poly_tobytes(enc, &v);
    ek_mlkem_poly_frombytes(&tmp, enc);
    bad = !f.line[32].has_dec;
    for (int i = 0; i < MLKEM_N; i++)
        bad |= ek_mlkem_compress_d((uint16_t)tmp.c[i], MLKEM_DV) != (uint16_t)f.line[32].dec[i];
    CHECK_LINE(!bad, 32);
    ek_mlkem_poly_compress_dv(cc + 960, &v);
    CHECK_LINE(memcmp(cc + 960, get(&f, 33, "c2", 128)->hex, 128) == 0, 33);
    ek_mlkem_kpke_encrypt(cc, ek, m, r);
    CHECK_LINE(memcmp(cc, c_want, sizeof(cc)) == 0, 34);

    /* Decaps step by step (lines 35-39), then through the API. */
    mlkem_polyvec ud, ud_hat;
    mlkem_mulcache u_cache[MLKEM_K];
    mlkem_poly vd, w;
    for (int i = 0; i < MLKEM_K; i++)
        ek_mlkem_poly_decompress_du(&ud.p[i], c_want + i * MLKEM_POLY_DU_BYTES);
    CHECK_LINE(vec_matches(&ud, &f.line[35]), 35);
    ud_hat = ud;
    for (int i = 0; i < MLKEM_K; i++) {
        ek_mlkem_ntt(&ud_hat.p[i]);
        ek_mlkem_mulcache_compute(&u_cache[i], &ud_hat.p[i]);
    }
    CHECK_LINE(vec_matches(&ud_hat, &f.line[36]), 36);
    ek_mlkem_poly_decompress_dv(&vd, c_want + 960);
    CHECK_LINE(poly_matches(&vd, &f.line[37]), 37);
    ek_mlkem_polyvec_frombytes(&s_hat, dk);
    ek_mlkem_polyvec_basemul_acc(&w, &s_hat, &ud_hat, u_cache);
    ek_mlkem_invntt_tomont(&w);
    ek_mlkem_poly_sub(&w, &vd, &w);
    uint8_t m2[32];
    ek_mlkem_poly_tomsg(m2, &w);
    CHECK_LINE(poly_matches(&w, &f.line[38]) && memcmp(m2, m, 32) == 0, 38);
    uint8_t j_in[32 + EK_MLKEM768_CT_LEN], kbar[32];
    memcpy(j_in, z, 32);
    memcpy(j_in + 32, c_want, EK_MLKEM768_CT_LEN);
    ek_shake256(kbar, 32, j_in, sizeof(j_in));
    CHECK_LINE(memcmp(kbar, get(&f, 39, "KBar", 32)->hex, 32) == 0, 39);
    ok = ek_mlkem768_check_dk(dk, sizeof(dk)) == EK_OK &&
         ek_mlkem768_decaps(k, c_want, dk) == EK_OK && memcmp(k, k_want, 32) == 0;
    ek_vec_case(st, ok, "intermediate: Decaps(dk, c) != K");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s VECTORS_DIR strcmp|unluckysample|modulus|intermediate\n",
                argv[0]);
        return 2;
    }
    static char name[64];
    snprintf(name, sizeof(name), "mlkem.cctv-%s", argv[2]);
    ek_vec_stats st;
    ek_vec_init(&st, name);
    if (strcmp(argv[2], "strcmp") == 0)
        run_strcmp(&st, argc, argv);
    else if (strcmp(argv[2], "unluckysample") == 0)
        run_unluckysample(&st, argc, argv);
    else if (strcmp(argv[2], "modulus") == 0)
        run_modulus(&st, argc, argv);
    else if (strcmp(argv[2], "intermediate") == 0)
        run_intermediate(&st, argc, argv);
    else {
        fprintf(stderr, "unknown set %s\n", argv[2]);
        return 2;
    }
    return ek_vec_finish(&st);
}
