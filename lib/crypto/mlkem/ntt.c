/*
 * ntt.c: arithmetic modulo q = 3329 and the number-theoretic transform of
 * ML-KEM (FIPS 203 §4.3): NTT (Algorithm 9), NTT^-1 (Algorithm 10) and
 * products in the NTT domain (MultiplyNTTs, Algorithm 11, over
 * BaseCaseMultiply, Algorithm 12), summed over a vector.
 *
 * Montgomery multiplication (R = 2^16) and Barrett reduction keep every step
 * branch-free and division-free; reductions are lazy where the bounds stated
 * at each function allow it. The twiddle factors are public constants, read
 * at indices that depend only on the loop position.
 *
 * Speed comes from the compiler's vectorizer, so the code is written for it:
 * each NTT layer is a separate inlined loop with a constant length, and a
 * multiplication by a constant twiddle is done in 16-bit halves (high and
 * low products, as SIMD multipliers give them) instead of a 32-bit product.
 */
#include "crypto/mlkem/mlkem_internal.h"

/* q^-1 mod 2^16, as a signed 16-bit value. */
#define QINV         MLKEM_QINV
/* R^2 mod q: fqmul(x, MONT_R2) = x * R mod q. */
#define MONT_R2      1353
/* R^2 / 128 mod q: NTT^-1's final scaling by 128^-1 (FIPS 203 Algorithm 10
 * line 14, f = 3303), times R to cancel the R^-1 of a Montgomery product. */
#define INVNTT_SCALE 1441

/* zetas[i] = zeta^BitRev7(i) * R mod q, centred, with zeta = 17 (FIPS 203
 * §4.3). Computed by us from that definition; zetas[0] (= R) is unused. */
static const int16_t zetas[128] = {
    -1044, -758,  -359,  -1517, 1493,  1422,  287,   202,   -171,  622,   1577,  182,   962,
    -1202, -1474, 1468,  573,   -1325, 264,   383,   -829,  1458,  -1602, -130,  -681,  1017,
    732,   608,   -1542, 411,   -205,  -1571, 1223,  652,   -552,  1015,  -1293, 1491,  -282,
    -1544, 516,   -8,    -320,  -666,  -1618, -1162, 126,   1469,  -853,  -90,   -271,  830,
    107,   -1421, -247,  -951,  -398,  961,   -1508, -725,  448,   -1065, 677,   -1275, -1103,
    430,   555,   843,   -1251, 871,   1550,  105,   422,   587,   177,   -235,  -291,  -460,
    1574,  1653,  -246,  778,   1159,  -147,  -777,  1483,  -602,  1119,  -1590, 644,   -872,
    349,   418,   329,   -156,  -75,   817,   1097,  603,   610,   1322,  -1285, -1465, 384,
    -1215, -136,  1218,  -1335, -874,  220,   -1187, -1659, -1185, -1530, -1278, 794,   -1510,
    -854,  -870,  478,   -108,  -308,  996,   991,   958,   -1460, 1522,  1628,
};

/* gammas[i] = zeta^(2 BitRev7(i) + 1) * R mod q, centred: the moduli
 * X^2 - gamma of the 128 base-case products (FIPS 203 Algorithm 11 line 2). */
static const int16_t gammas[128] = {
    -1103, 1103,  430,   -430,  555,   -555,  843,  -843,  -1251, 1251,  871,   -871,  1550,
    -1550, 105,   -105,  422,   -422,  587,   -587, 177,   -177,  -235,  235,   -291,  291,
    -460,  460,   1574,  -1574, 1653,  -1653, -246, 246,   778,   -778,  1159,  -1159, -147,
    147,   -777,  777,   1483,  -1483, -602,  602,  1119,  -1119, -1590, 1590,  644,   -644,
    -872,  872,   349,   -349,  418,   -418,  329,  -329,  -156,  156,   -75,   75,    817,
    -817,  1097,  -1097, 603,   -603,  610,   -610, 1322,  -1322, -1285, 1285,  -1465, 1465,
    384,   -384,  -1215, 1215,  -136,  136,   1218, -1218, -1335, 1335,  -874,  874,   220,
    -220,  -1187, 1187,  -1659, 1659,  -1185, 1185, -1530, 1530,  -1278, 1278,  794,   -794,
    -1510, 1510,  -854,  854,   -870,  870,   478,  -478,  -108,  108,   -308,  308,   996,
    -996,  991,   -991,  958,   -958,  -1460, 1460, 1522,  -1522, 1628,  -1628,
};

/* The high and low 16 bits of a 16 x 16-bit product. */
MLKEM_INLINE int16_t mulhi16(int16_t a, int16_t b)
{
    return (int16_t)(((int32_t)a * b) >> 16);
}

MLKEM_INLINE int16_t mullo16(int16_t a, int16_t b)
{
    return (int16_t)((int32_t)a * b);
}

/*
 * a * b * R^-1 mod q in (-q, q), for |a b| < q 2^15, with b_qinv = b q^-1
 * mod 2^16 given. t = a b q^-1 mod 2^16 makes a b - t q divisible by 2^16;
 * the low halves of a b and t q are then equal, so the difference of the
 * high halves is exactly (a b - t q) / 2^16.
 */
MLKEM_INLINE int16_t fqmul_pre(int16_t a, int16_t b, int16_t b_qinv)
{
    int16_t t = mullo16(a, b_qinv);
    return (int16_t)(mulhi16(a, b) - mulhi16(t, MLKEM_Q));
}

MLKEM_INLINE int16_t fqmul(int16_t a, int16_t b)
{
    return fqmul_pre(a, b, mullo16(b, QINV));
}

/* One layer of Algorithm 9 (lines 3-10): blocks of 2 len coefficients,
 * twiddles zetas[k], zetas[k + 1], ... */
MLKEM_INLINE void ntt_layer(int16_t c[MLKEM_N], unsigned len, unsigned k)
{
    for (unsigned start = 0; start < MLKEM_N; start += 2 * len, k++) {
        const int16_t zeta = zetas[k], zeta_qinv = mullo16(zetas[k], QINV);
        for (unsigned j = start; j < start + len; j++) {
            int16_t t = fqmul_pre(c[j + len], zeta, zeta_qinv);
            c[j + len] = (int16_t)(c[j] - t);
            c[j] = (int16_t)(c[j] + t);
        }
    }
}

/*
 * FIPS 203 Algorithm 9. Each of the 7 layers adds less than q to the
 * magnitude (|t| < q), so inputs below q stay below 8q < 2^15 without
 * reduction; one Barrett pass at the end gives |x| <= q/2, the bound the
 * base-case products need.
 */
void ek_mlkem_ntt(mlkem_poly *p)
{
    ntt_layer(p->c, 128, 1);
    ntt_layer(p->c, 64, 2);
    ntt_layer(p->c, 32, 4);
    ntt_layer(p->c, 16, 8);
    ntt_layer(p->c, 8, 16);
    ntt_layer(p->c, 4, 32);
    ntt_layer(p->c, 2, 64);
    for (unsigned j = 0; j < MLKEM_N; j++)
        p->c[j] = ek_mlkem_barrett_reduce(p->c[j]);
}

/* One layer of Algorithm 10 (lines 3-10), twiddles zetas[k], zetas[k - 1],
 * ... The sums are Barrett-reduced at once, so every value stays below q in
 * magnitude and every difference below 2q. */
MLKEM_INLINE void invntt_layer(int16_t c[MLKEM_N], unsigned len, unsigned k)
{
    for (unsigned start = 0; start < MLKEM_N; start += 2 * len, k--) {
        const int16_t zeta = zetas[k], zeta_qinv = mullo16(zetas[k], QINV);
        for (unsigned j = start; j < start + len; j++) {
            int16_t t = c[j];
            c[j] = ek_mlkem_barrett_reduce((int16_t)(t + c[j + len]));
            c[j + len] = fqmul_pre((int16_t)(c[j + len] - t), zeta, zeta_qinv);
        }
    }
}

/* FIPS 203 Algorithm 10, with the final multiplication by 128^-1 folded into
 * one Montgomery multiplication by INVNTT_SCALE. */
void ek_mlkem_invntt_tomont(mlkem_poly *p)
{
    invntt_layer(p->c, 2, 127);
    invntt_layer(p->c, 4, 63);
    invntt_layer(p->c, 8, 31);
    invntt_layer(p->c, 16, 15);
    invntt_layer(p->c, 32, 7);
    invntt_layer(p->c, 64, 3);
    invntt_layer(p->c, 128, 1);
    const int16_t scale_qinv = mullo16(INVNTT_SCALE, QINV);
    for (unsigned j = 0; j < MLKEM_N; j++)
        p->c[j] = fqmul_pre(p->c[j], INVNTT_SCALE, scale_qinv);
}

/* FIPS 203 Algorithm 12 needs a1 * b1 * gamma; b1 * gamma depends only on
 * the multiplicand, so it is computed once per vector, not once per row. */
void ek_mlkem_mulcache_compute(mlkem_mulcache *cache, const mlkem_poly *b)
{
    for (unsigned i = 0; i < MLKEM_N / 2; i++)
        cache->c[i] = fqmul(b->c[2 * i + 1], gammas[i]);
}

/*
 * FIPS 203 Algorithms 11 and 12 summed over k:
 *   r[2i]   = sum_k a0 b0 + a1 (b1 gamma_i)
 *   r[2i+1] = sum_k a0 b1 + a1 b0
 * accumulated in 32 bits and reduced once. With a in [0, q), |b| < q and
 * |b1 gamma| < q, the six products of a sum stay below 6 q^2 < q 2^15, the
 * input bound of the Montgomery reduction, which contributes the R^-1.
 */
void ek_mlkem_polyvec_basemul_acc(mlkem_poly *r, const mlkem_polyvec *a, const mlkem_polyvec *b,
                                  const mlkem_mulcache bcache[MLKEM_K])
{
    for (size_t i = 0; i < MLKEM_N / 2; i++) {
        int32_t c0 = 0, c1 = 0;
        for (unsigned k = 0; k < MLKEM_K; k++) {
            const int32_t a0 = a->p[k].c[2 * i], a1 = a->p[k].c[2 * i + 1];
            const int32_t b0 = b->p[k].c[2 * i], b1 = b->p[k].c[2 * i + 1];
            c0 += a0 * b0 + a1 * bcache[k].c[i];
            c1 += a0 * b1 + a1 * b0;
        }
        r->c[2 * i] = ek_mlkem_montgomery_reduce(c0);
        r->c[2 * i + 1] = ek_mlkem_montgomery_reduce(c1);
    }
}

void ek_mlkem_poly_tomont(mlkem_poly *p)
{
    for (unsigned j = 0; j < MLKEM_N; j++)
        p->c[j] = fqmul(p->c[j], MONT_R2);
}
