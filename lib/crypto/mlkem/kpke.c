/*
 * kpke.c: K-PKE, the public-key encryption scheme inside ML-KEM
 * (FIPS 203 §5): KeyGen (Algorithm 13), Encrypt (Algorithm 14) and Decrypt
 * (Algorithm 15), for k = 3, eta1 = eta2 = 2, du = 10, dv = 4.
 *
 * Everything secret (sigma, s, e, m, r, y, e1, e2 and what is computed from
 * them) goes through branch-free arithmetic only, and is wiped before
 * returning. The matrix Â and t̂ are public.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "crypto/mlkem/mlkem_internal.h"

/* FIPS 203 Algorithm 13 lines 3-20, from (rho, sigma) = G(d || k). */
void ek_mlkem_kpke_keygen_from_seeds(uint8_t ek[EK_MLKEM768_EK_LEN],
                                     uint8_t dk_pke[MLKEM_POLYVECBYTES],
                                     const uint8_t rho[MLKEM_SYMBYTES],
                                     const uint8_t sigma[MLKEM_SYMBYTES])
{
    mlkem_polyvec a[MLKEM_K], s, e;
    mlkem_mulcache s_cache[MLKEM_K];
    mlkem_poly t;

    ek_mlkem_gen_matrix(a, rho, 0);

    /* Lines 8-15: s[i] = CBD(PRF(sigma, i)), e[i] = CBD(PRF(sigma, 3 + i)):
     * nonces 0..5, in two batches (the last two lanes of the second idle). */
    mlkem_poly *const batch0[4] = {&s.p[0], &s.p[1], &s.p[2], &e.p[0]};
    mlkem_poly *const batch1[4] = {&e.p[1], &e.p[2], NULL, NULL};
    const uint8_t nonces0[4] = {0, 1, 2, 3}, nonces1[4] = {4, 5, 6, 7};
    ek_mlkem_sample_noise_x4(batch0, sigma, nonces0);
    ek_mlkem_sample_noise_x4(batch1, sigma, nonces1);

    /* Lines 16-18: ŝ = NTT(s), ê = NTT(e), t̂ = Â ∘ ŝ + ê. The product
     * carries R^-1, which tomont cancels before ê is added. */
    for (unsigned i = 0; i < MLKEM_K; i++) {
        ek_mlkem_ntt(&s.p[i]);
        ek_mlkem_ntt(&e.p[i]);
        ek_mlkem_mulcache_compute(&s_cache[i], &s.p[i]);
    }
    for (size_t i = 0; i < MLKEM_K; i++) {
        ek_mlkem_polyvec_basemul_acc(&t, &a[i], &s, s_cache);
        ek_mlkem_poly_tomont(&t);
        ek_mlkem_poly_add(&t, &e.p[i]);
        /* Lines 19-20: ek = ByteEncode_12(t̂) || rho, dk = ByteEncode_12(ŝ). */
        ek_mlkem_poly_tobytes(ek + i * MLKEM_POLYBYTES, &t);
    }
    memcpy(ek + MLKEM_POLYVECBYTES, rho, MLKEM_SYMBYTES);
    ek_mlkem_polyvec_tobytes(dk_pke, &s);

    ek_wipe(&s, sizeof(s));
    ek_wipe(&e, sizeof(e));
    ek_wipe(s_cache, sizeof(s_cache));
    ek_wipe(&t, sizeof(t));
}

/* FIPS 203 Algorithm 13. */
void ek_mlkem_kpke_keygen(uint8_t ek[EK_MLKEM768_EK_LEN], uint8_t dk_pke[MLKEM_POLYVECBYTES],
                          const uint8_t d[MLKEM_SYMBYTES])
{
    /* Line 1: (rho, sigma) = G(d || k); the k byte is what final FIPS 203
     * added over the draft (domain separation between parameter sets). */
    uint8_t in[MLKEM_SYMBYTES + 1], rho_sigma[2 * MLKEM_SYMBYTES];
    memcpy(in, d, MLKEM_SYMBYTES);
    in[MLKEM_SYMBYTES] = MLKEM_K;
    ek_sha3_512(rho_sigma, in, sizeof(in));
    /* rho is public: it is the last 32 bytes of ek. Declassifying it is
     * sound because G's halves are independent outputs, so rho says nothing
     * about sigma; SampleNTT may then branch on the XOF output of rho. */
    EK_CT_DECLASSIFY(rho_sigma, MLKEM_SYMBYTES);
    ek_mlkem_kpke_keygen_from_seeds(ek, dk_pke, rho_sigma, rho_sigma + MLKEM_SYMBYTES);
    ek_wipe(in, sizeof(in));
    ek_wipe(rho_sigma, sizeof(rho_sigma));
}

/* FIPS 203 Algorithm 14. */
void ek_mlkem_kpke_encrypt(uint8_t c[EK_MLKEM768_CT_LEN], const uint8_t ek[EK_MLKEM768_EK_LEN],
                           const uint8_t m[MLKEM_SYMBYTES], const uint8_t r[MLKEM_SYMBYTES])
{
    mlkem_polyvec at[MLKEM_K], t_hat, y, e1, u;
    mlkem_mulcache y_cache[MLKEM_K];
    mlkem_poly e2, v, mu;

    /* Lines 2-8: t̂ = ByteDecode_12(ek[0:384k]), rho = ek[384k:], Âᵀ. */
    ek_mlkem_polyvec_frombytes(&t_hat, ek);
    ek_mlkem_gen_matrix(at, ek + MLKEM_POLYVECBYTES, 1);

    /* Lines 9-17: y[i] = CBD(PRF(r, i)), e1[i] = CBD(PRF(r, 3 + i)),
     * e2 = CBD(PRF(r, 6)); the fourth lane of the second batch is idle. */
    mlkem_poly *const batch0[4] = {&y.p[0], &y.p[1], &y.p[2], &e1.p[0]};
    mlkem_poly *const batch1[4] = {&e1.p[1], &e1.p[2], &e2, NULL};
    const uint8_t nonces0[4] = {0, 1, 2, 3}, nonces1[4] = {4, 5, 6, 7};
    ek_mlkem_sample_noise_x4(batch0, r, nonces0);
    ek_mlkem_sample_noise_x4(batch1, r, nonces1);

    /* Line 18: ŷ = NTT(y). */
    for (unsigned i = 0; i < MLKEM_K; i++) {
        ek_mlkem_ntt(&y.p[i]);
        ek_mlkem_mulcache_compute(&y_cache[i], &y.p[i]);
    }
    /* Line 19: u = NTT^-1(Âᵀ ∘ ŷ) + e1. */
    for (unsigned i = 0; i < MLKEM_K; i++) {
        ek_mlkem_polyvec_basemul_acc(&u.p[i], &at[i], &y, y_cache);
        ek_mlkem_invntt_tomont(&u.p[i]);
        ek_mlkem_poly_add(&u.p[i], &e1.p[i]);
    }
    /* Lines 20-21: mu = Decompress_1(ByteDecode_1(m)),
     * v = NTT^-1(t̂ᵀ ∘ ŷ) + e2 + mu. */
    ek_mlkem_polyvec_basemul_acc(&v, &t_hat, &y, y_cache);
    ek_mlkem_invntt_tomont(&v);
    ek_mlkem_poly_add(&v, &e2);
    ek_mlkem_poly_frommsg(&mu, m);
    ek_mlkem_poly_add(&v, &mu);

    /* Lines 22-24: c1 = ByteEncode_du(Compress_du(u)),
     * c2 = ByteEncode_dv(Compress_dv(v)), c = c1 || c2. */
    for (size_t i = 0; i < MLKEM_K; i++)
        ek_mlkem_poly_compress_du(c + i * MLKEM_POLY_DU_BYTES, &u.p[i]);
    ek_mlkem_poly_compress_dv(c + MLKEM_POLYVEC_DU_BYTES, &v);

    ek_wipe(&y, sizeof(y));
    ek_wipe(&e1, sizeof(e1));
    ek_wipe(&e2, sizeof(e2));
    ek_wipe(y_cache, sizeof(y_cache));
    ek_wipe(&u, sizeof(u));
    ek_wipe(&v, sizeof(v));
    ek_wipe(&mu, sizeof(mu));
}

/* FIPS 203 Algorithm 15. */
void ek_mlkem_kpke_decrypt(uint8_t m[MLKEM_SYMBYTES], const uint8_t dk_pke[MLKEM_POLYVECBYTES],
                           const uint8_t c[EK_MLKEM768_CT_LEN])
{
    mlkem_polyvec u, s_hat;
    mlkem_mulcache u_cache[MLKEM_K];
    mlkem_poly v, w;

    /* Lines 1-4: u' = Decompress_du(ByteDecode_du(c1)),
     * v' = Decompress_dv(ByteDecode_dv(c2)). */
    for (size_t i = 0; i < MLKEM_K; i++) {
        ek_mlkem_poly_decompress_du(&u.p[i], c + i * MLKEM_POLY_DU_BYTES);
        ek_mlkem_ntt(&u.p[i]);
        ek_mlkem_mulcache_compute(&u_cache[i], &u.p[i]);
    }
    ek_mlkem_poly_decompress_dv(&v, c + MLKEM_POLYVEC_DU_BYTES);

    /* Lines 5-6: ŝ = ByteDecode_12(dk_PKE), w = v' - NTT^-1(ŝᵀ ∘ NTT(u')). */
    ek_mlkem_polyvec_frombytes(&s_hat, dk_pke);
    ek_mlkem_polyvec_basemul_acc(&w, &s_hat, &u, u_cache);
    ek_mlkem_invntt_tomont(&w);
    ek_mlkem_poly_sub(&w, &v, &w);

    /* Line 7: m = ByteEncode_1(Compress_1(w)). */
    ek_mlkem_poly_tomsg(m, &w);

    ek_wipe(&s_hat, sizeof(s_hat));
    ek_wipe(&w, sizeof(w));
}
