/*
 * mlkem_internal.h: internal: the pieces of ML-KEM-768 (FIPS 203), for the
 * KEM itself and for tests that check intermediate values (CCTV
 * "intermediate" vectors) or run the KEM's parts under valgrind.
 *
 * Representation. A polynomial is 256 int16_t coefficients modulo
 * q = 3329, kept in a signed, not necessarily reduced form whose bound each
 * function states. Montgomery arithmetic uses R = 2^16: fqmul(a, b) is
 * a * b * R^-1 mod q. NTT-domain polynomials follow FIPS 203 §4.3 (128
 * degree-one residues, bit-reversed order).
 */
#ifndef EK_MLKEM_INTERNAL_H
#define EK_MLKEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_mlkem.h>

#define MLKEM_N   256
#define MLKEM_Q   3329
#define MLKEM_K   3 /* ML-KEM-768 (FIPS 203 §8, Table 2) */
#define MLKEM_ETA 2 /* eta1 = eta2 = 2 for ML-KEM-768 */
#define MLKEM_DU  10
#define MLKEM_DV  4

#define MLKEM_SYMBYTES      32
#define MLKEM_POLYBYTES     384 /* ByteEncode_12 of one polynomial */
#define MLKEM_POLY_DU_BYTES 320 /* ByteEncode_10 */
#define MLKEM_POLY_DV_BYTES 128 /* ByteEncode_4 */
#define MLKEM_PRF_BYTES     (64 * MLKEM_ETA)

/* Lengths of k polynomials, and the offsets built from them, are size_t:
 * pointer arithmetic with them never multiplies in int. */
#define MLKEM_POLYVECBYTES     ((size_t)MLKEM_K * MLKEM_POLYBYTES)
#define MLKEM_POLYVEC_DU_BYTES ((size_t)MLKEM_K * MLKEM_POLY_DU_BYTES) /* c1 of c = c1 || c2 */

/* Offsets inside dk = dk_PKE || ek || H(ek) || z (FIPS 203 Algorithm 16). */
#define MLKEM_DK_EK_OFF MLKEM_POLYVECBYTES
#define MLKEM_DK_H_OFF  (MLKEM_DK_EK_OFF + EK_MLKEM768_EK_LEN)
#define MLKEM_DK_Z_OFF  (MLKEM_DK_H_OFF + MLKEM_SYMBYTES)

typedef struct mlkem_poly {
    _Alignas(32) int16_t c[MLKEM_N];
} mlkem_poly;

typedef struct mlkem_polyvec {
    mlkem_poly p[MLKEM_K];
} mlkem_polyvec;

/*
 * Constant-time declassification for the valgrind test (tests/crypto/mlkem,
 * ct.mlkem). That test builds its own copy of these sources with
 * -DEK_CT_VALGRIND=1 and marks the secret inputs undefined; a value that is
 * public by construction although computed from secrets (rho, ek, the
 * ciphertext) is marked defined again here, and each use says why that is
 * sound. In the library this expands to nothing.
 */
#if defined(EK_CT_VALGRIND) && EK_CT_VALGRIND
#include <valgrind/memcheck.h>
#define EK_CT_DECLASSIFY(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define EK_CT_DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

/* Hide a value from the optimizer so that mask arithmetic on secrets stays
 * arithmetic and is not turned back into a branch. */
#if defined(__GNUC__) || defined(__clang__)
#define EK_VALUE_BARRIER_U32(x) __asm__("" : "+r"(x))
#else
#define EK_VALUE_BARRIER_U32(x) ((void)(x))
#endif

/* ---- arithmetic mod q ---- */
#define MLKEM_QINV (-3327) /* q^-1 mod 2^16, signed */

#if defined(__GNUC__) || defined(__clang__)
#define MLKEM_INLINE static inline __attribute__((always_inline))
#else
#define MLKEM_INLINE static inline
#endif

/* a * R^-1 mod q for |a| < q * 2^15; the result lies in (-q, q). */
MLKEM_INLINE int16_t ek_mlkem_montgomery_reduce(int32_t a)
{
    /* t = a * q^-1 mod 2^16, so a - t q is divisible by 2^16. The casts to
     * int16_t keep the low 16 bits (two's complement, as GCC and Clang
     * define the conversion). */
    int16_t t = (int16_t)((int16_t)a * MLKEM_QINV);
    return (int16_t)((a - (int32_t)t * MLKEM_Q) >> 16);
}

/* a mod q, centred: the result lies in [-(q-1)/2, (q-1)/2] for every
 * int16_t a (checked exhaustively by the unit test). 20159 = round(2^26/q). */
MLKEM_INLINE int16_t ek_mlkem_barrett_reduce(int16_t a)
{
    int16_t t = (int16_t)((20159 * (int32_t)a + (1 << 25)) >> 26);
    return (int16_t)(a - t * MLKEM_Q);
}

/* ---- ntt.c: NTT (FIPS 203 §4.3) ---- */
/* NTT (Algorithm 9): coefficients |x| < q in, Barrett-reduced out
 * (|x| <= q/2). */
void ek_mlkem_ntt(mlkem_poly *p);
/* NTT^-1 (Algorithm 10) times R: |x| < q in, |x| < q out. Applied to a
 * product from ek_mlkem_polyvec_basemul_acc (which carries R^-1) it gives
 * the plain result. */
void ek_mlkem_invntt_tomont(mlkem_poly *p);
/* The per-coefficient-pair factor b[2i+1] * zeta^(2 BitRev7(i) + 1) of a
 * multiplicand (FIPS 203 Algorithm 11 and 12), computed once and reused for
 * each row it is multiplied with. b must be reduced (|x| < q). */
typedef struct mlkem_mulcache {
    int16_t c[MLKEM_N / 2];
} mlkem_mulcache;
void ek_mlkem_mulcache_compute(mlkem_mulcache *cache, const mlkem_poly *b);
/* r = sum_k a[k] x b[k] in the NTT domain (Algorithm 11 summed over a
 * vector), times R^-1. a: coefficients in [0, q); b: |x| < q. |r| < q. */
void ek_mlkem_polyvec_basemul_acc(mlkem_poly *r, const mlkem_polyvec *a, const mlkem_polyvec *b,
                                  const mlkem_mulcache bcache[MLKEM_K]);

/* ---- poly.c: polynomials, compression, ByteEncode/ByteDecode (§4.2.1) ---- */
void ek_mlkem_poly_reduce(mlkem_poly *p);                   /* Barrett: |x| <= q/2 after */
void ek_mlkem_poly_tomont(mlkem_poly *p);                   /* times R, |x| < q after */
void ek_mlkem_poly_add(mlkem_poly *r, const mlkem_poly *a); /* r += a, no reduction */
void ek_mlkem_poly_sub(mlkem_poly *r, const mlkem_poly *a, const mlkem_poly *b); /* r = a - b */
/* ByteEncode_12 (Algorithm 5) of p after full reduction to [0, q); p must be
 * Barrett-reduced (|x| <= q/2) or in (-q, q). */
void ek_mlkem_poly_tobytes(uint8_t r[MLKEM_POLYBYTES], const mlkem_poly *p);
/* ByteDecode_12 (Algorithm 6), each value taken mod q into [0, q). */
void ek_mlkem_poly_frombytes(mlkem_poly *p, const uint8_t a[MLKEM_POLYBYTES]);
/* 1 if every 12-bit value of a is < q (the §7.2 modulus check for one
 * polynomial), else 0; no early exit. */
unsigned ek_mlkem_poly_bytes_reduced(const uint8_t a[MLKEM_POLYBYTES]);
/* Decompress_1(ByteDecode_1(m)) and ByteEncode_1(Compress_1(p)). */
void ek_mlkem_poly_frommsg(mlkem_poly *p, const uint8_t m[MLKEM_SYMBYTES]);
void ek_mlkem_poly_tomsg(uint8_t m[MLKEM_SYMBYTES], const mlkem_poly *p);
/* ByteEncode_du(Compress_du(p)) and the reverse, du = 10; dv = 4. */
void ek_mlkem_poly_compress_du(uint8_t r[MLKEM_POLY_DU_BYTES], const mlkem_poly *p);
void ek_mlkem_poly_decompress_du(mlkem_poly *p, const uint8_t a[MLKEM_POLY_DU_BYTES]);
void ek_mlkem_poly_compress_dv(uint8_t r[MLKEM_POLY_DV_BYTES], const mlkem_poly *p);
void ek_mlkem_poly_decompress_dv(mlkem_poly *p, const uint8_t a[MLKEM_POLY_DV_BYTES]);
/* Compress_d of one coefficient x in [0, q) (d = 1, 4, 10), division-free. */
uint16_t ek_mlkem_compress_d(uint16_t x, unsigned d);
void ek_mlkem_polyvec_tobytes(uint8_t r[MLKEM_POLYVECBYTES], const mlkem_polyvec *v);
void ek_mlkem_polyvec_frombytes(mlkem_polyvec *v, const uint8_t a[MLKEM_POLYVECBYTES]);

/* ---- sample.c: SampleNTT, SamplePolyCBD and the PRF (§4.2.2, §4.1) ---- */
/* Â[i][j] = SampleNTT(rho || j || i) for all i, j (FIPS 203 Algorithm 13
 * line 6, Algorithm 14 line 6). Coefficients in [0, q). */
/* With transposed set, a[i].p[j] holds Â[j][i] instead (Âᵀ, Algorithm 14
 * lines 19 and 21 multiply by the transpose). */
void ek_mlkem_gen_matrix(mlkem_polyvec a[MLKEM_K], const uint8_t rho[MLKEM_SYMBYTES],
                         int transposed);
/* One entry: SampleNTT(rho || j || i) with the scalar XOF. */
void ek_mlkem_sample_ntt(mlkem_poly *p, const uint8_t rho[MLKEM_SYMBYTES], uint8_t j, uint8_t i);
/* SamplePolyCBD_2 (Algorithm 8) of 128 PRF bytes. */
void ek_mlkem_sample_cbd2(mlkem_poly *p, const uint8_t buf[MLKEM_PRF_BYTES]);
/* p[l] = SamplePolyCBD_2(PRF_2(seed, nonce[l])) for l = 0..3, the four PRF
 * calls batched; a NULL p[l] is computed and dropped. */
void ek_mlkem_sample_noise_x4(mlkem_poly *const p[4], const uint8_t seed[MLKEM_SYMBYTES],
                              const uint8_t nonce[4]);

/* ---- kpke.c: K-PKE (§5) ---- */
/* K-PKE.KeyGen (Algorithm 13) from (rho, sigma) = G(d || k) onward: the
 * hook that the CCTV intermediate test starts from. */
void ek_mlkem_kpke_keygen_from_seeds(uint8_t ek[EK_MLKEM768_EK_LEN],
                                     uint8_t dk_pke[MLKEM_POLYVECBYTES],
                                     const uint8_t rho[MLKEM_SYMBYTES],
                                     const uint8_t sigma[MLKEM_SYMBYTES]);
void ek_mlkem_kpke_keygen(uint8_t ek[EK_MLKEM768_EK_LEN], uint8_t dk_pke[MLKEM_POLYVECBYTES],
                          const uint8_t d[MLKEM_SYMBYTES]);
/* K-PKE.Encrypt (Algorithm 14); ek must have passed the modulus check. */
void ek_mlkem_kpke_encrypt(uint8_t c[EK_MLKEM768_CT_LEN], const uint8_t ek[EK_MLKEM768_EK_LEN],
                           const uint8_t m[MLKEM_SYMBYTES], const uint8_t r[MLKEM_SYMBYTES]);
/* K-PKE.Decrypt (Algorithm 15). */
void ek_mlkem_kpke_decrypt(uint8_t m[MLKEM_SYMBYTES], const uint8_t dk_pke[MLKEM_POLYVECBYTES],
                           const uint8_t c[EK_MLKEM768_CT_LEN]);

#endif
