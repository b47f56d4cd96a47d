/*
 * poly.c: ML-KEM polynomials as bytes: ByteEncode_d / ByteDecode_d
 * (FIPS 203 §4.2.1, Algorithms 5 and 6) fused with Compress_d / Decompress_d
 * (equations 4.7 and 4.8), plus the coefficient-wise helpers.
 *
 * Compression divides by q. A hardware division takes data-dependent time
 * on many CPUs, and here it would run on secret values (the "KyberSlash"
 * timing leak), so every Compress_d is a multiplication by a precomputed
 * reciprocal and a shift; tests/crypto/mlkem checks it against the exact
 * division for every input.
 */
#include "crypto/mlkem/mlkem_internal.h"

/* x in (-2^15, 2^15) to its representative in [0, q), without a branch. */
static inline uint16_t freeze(int16_t x)
{
    int16_t r = ek_mlkem_barrett_reduce(x);
    /* r is in [-(q-1)/2, (q-1)/2]: add q when negative (sign mask). */
    r = (int16_t)(r + ((r >> 15) & MLKEM_Q));
    return (uint16_t)r;
}

/*
 * Compress_d(x) = round(2^d x / q) mod 2^d for x in [0, q) (FIPS 203 (4.7)).
 * round(n / q) with n = 2^d x is floor((n + (q - 1) / 2) / q) since q is odd,
 * and floor(m / q) = (m * M) >> S for M = ceil(2^S / q) on the whole range
 * of m used here (checked exhaustively by the unit test).
 */
uint16_t ek_mlkem_compress_d(uint16_t x, unsigned d)
{
    uint64_t m = ((uint64_t)x << d) + (MLKEM_Q - 1) / 2;
    uint64_t quot;
    switch (d) { /* d is a public parameter, never data */
    case 1: quot = (m * 315) >> 20; break;
    case 4: quot = (m * 20159) >> 26; break;
    default: /* 10 */ quot = (m * 2580335) >> 33; break;
    }
    return (uint16_t)(quot & ((1u << d) - 1));
}

/* Decompress_d(y) = round(q y / 2^d) (FIPS 203 (4.8)); exact in integers. */
static inline int16_t decompress_d(uint32_t y, unsigned d)
{
    return (int16_t)((y * MLKEM_Q + (1u << (d - 1))) >> d);
}

void ek_mlkem_poly_reduce(mlkem_poly *p)
{
    for (unsigned j = 0; j < MLKEM_N; j++)
        p->c[j] = ek_mlkem_barrett_reduce(p->c[j]);
}

void ek_mlkem_poly_add(mlkem_poly *r, const mlkem_poly *a)
{
    for (unsigned j = 0; j < MLKEM_N; j++)
        r->c[j] = (int16_t)(r->c[j] + a->c[j]);
}

void ek_mlkem_poly_sub(mlkem_poly *r, const mlkem_poly *a, const mlkem_poly *b)
{
    for (unsigned j = 0; j < MLKEM_N; j++)
        r->c[j] = (int16_t)(a->c[j] - b->c[j]);
}

/* ByteEncode_12: two 12-bit values in three bytes, least significant bit
 * first (Algorithm 5 with BitsToBytes, Algorithm 3). */
void ek_mlkem_poly_tobytes(uint8_t r[MLKEM_POLYBYTES], const mlkem_poly *p)
{
    for (size_t i = 0; i < MLKEM_N / 2; i++) {
        uint16_t t0 = freeze(p->c[2 * i]), t1 = freeze(p->c[2 * i + 1]);
        r[3 * i] = (uint8_t)t0;
        r[3 * i + 1] = (uint8_t)((t0 >> 8) | (t1 << 4));
        r[3 * i + 2] = (uint8_t)(t1 >> 4);
    }
}

/* ByteDecode_12 (Algorithm 6): for d = 12 the value is taken mod q. A value
 * in [q, 4096) loses q once, without a branch (dk_PKE is secret). */
void ek_mlkem_poly_frombytes(mlkem_poly *p, const uint8_t a[MLKEM_POLYBYTES])
{
    for (size_t i = 0; i < MLKEM_N / 2; i++) {
        int16_t t0 = (int16_t)(a[3 * i] | ((a[3 * i + 1] & 0x0f) << 8));
        int16_t t1 = (int16_t)((a[3 * i + 1] >> 4) | (a[3 * i + 2] << 4));
        t0 = (int16_t)(t0 - MLKEM_Q);
        t1 = (int16_t)(t1 - MLKEM_Q);
        p->c[2 * i] = (int16_t)(t0 + ((t0 >> 15) & MLKEM_Q));
        p->c[2 * i + 1] = (int16_t)(t1 + ((t1 >> 15) & MLKEM_Q));
    }
}

/* FIPS 203 §7.2 modulus check, for one polynomial: ByteEncode_12 of
 * ByteDecode_12 gives the input back exactly when every 12-bit value is
 * already below q. */
unsigned ek_mlkem_poly_bytes_reduced(const uint8_t a[MLKEM_POLYBYTES])
{
    uint32_t ok = 1;
    for (size_t i = 0; i < MLKEM_N / 2; i++) {
        int32_t t0 = a[3 * i] | ((a[3 * i + 1] & 0x0f) << 8);
        int32_t t1 = (a[3 * i + 1] >> 4) | (a[3 * i + 2] << 4);
        /* The sign bit of t - q is set exactly when t < q. */
        ok &= ((uint32_t)(t0 - MLKEM_Q) >> 31) & ((uint32_t)(t1 - MLKEM_Q) >> 31);
    }
    return ok;
}

void ek_mlkem_polyvec_tobytes(uint8_t r[MLKEM_POLYVECBYTES], const mlkem_polyvec *v)
{
    for (size_t i = 0; i < MLKEM_K; i++)
        ek_mlkem_poly_tobytes(r + i * MLKEM_POLYBYTES, &v->p[i]);
}

void ek_mlkem_polyvec_frombytes(mlkem_polyvec *v, const uint8_t a[MLKEM_POLYVECBYTES])
{
    for (size_t i = 0; i < MLKEM_K; i++)
        ek_mlkem_poly_frombytes(&v->p[i], a + i * MLKEM_POLYBYTES);
}

/* mu = Decompress_1(ByteDecode_1(m)) (Algorithm 14 line 20): bit b becomes
 * b * round(q/2) = b * 1665, through a mask since m is secret. */
void ek_mlkem_poly_frommsg(mlkem_poly *p, const uint8_t m[MLKEM_SYMBYTES])
{
    for (unsigned i = 0; i < MLKEM_SYMBYTES; i++) {
        for (unsigned j = 0; j < 8; j++) {
            int16_t mask = (int16_t) - (int16_t)((m[i] >> j) & 1);
            p->c[8 * i + j] = (int16_t)(mask & ((MLKEM_Q + 1) / 2));
        }
    }
}

/* m = ByteEncode_1(Compress_1(w)) (Algorithm 15 line 7). */
void ek_mlkem_poly_tomsg(uint8_t m[MLKEM_SYMBYTES], const mlkem_poly *p)
{
    for (unsigned i = 0; i < MLKEM_SYMBYTES; i++) {
        uint8_t byte = 0;
        for (unsigned j = 0; j < 8; j++)
            byte |= (uint8_t)(ek_mlkem_compress_d(freeze(p->c[8 * i + j]), 1) << j);
        m[i] = byte;
    }
}

/* ByteEncode_10(Compress_10(u)): four 10-bit values in five bytes. */
void ek_mlkem_poly_compress_du(uint8_t r[MLKEM_POLY_DU_BYTES], const mlkem_poly *p)
{
    for (size_t i = 0; i < MLKEM_N / 4; i++) {
        uint16_t t[4];
        for (unsigned k = 0; k < 4; k++)
            t[k] = ek_mlkem_compress_d(freeze(p->c[4 * i + k]), MLKEM_DU);
        r[5 * i] = (uint8_t)t[0];
        r[5 * i + 1] = (uint8_t)((t[0] >> 8) | (t[1] << 2));
        r[5 * i + 2] = (uint8_t)((t[1] >> 6) | (t[2] << 4));
        r[5 * i + 3] = (uint8_t)((t[2] >> 4) | (t[3] << 6));
        r[5 * i + 4] = (uint8_t)(t[3] >> 2);
    }
}

/* Decompress_10(ByteDecode_10(c1)) (Algorithm 15 line 3). */
void ek_mlkem_poly_decompress_du(mlkem_poly *p, const uint8_t a[MLKEM_POLY_DU_BYTES])
{
    for (size_t i = 0; i < MLKEM_N / 4; i++) {
        const uint8_t *b = a + 5 * i;
        uint32_t t0 = b[0] | ((uint32_t)(b[1] & 0x03) << 8);
        uint32_t t1 = (b[1] >> 2) | ((uint32_t)(b[2] & 0x0f) << 6);
        uint32_t t2 = (b[2] >> 4) | ((uint32_t)(b[3] & 0x3f) << 4);
        uint32_t t3 = (b[3] >> 6) | ((uint32_t)b[4] << 2);
        p->c[4 * i] = decompress_d(t0, MLKEM_DU);
        p->c[4 * i + 1] = decompress_d(t1, MLKEM_DU);
        p->c[4 * i + 2] = decompress_d(t2, MLKEM_DU);
        p->c[4 * i + 3] = decompress_d(t3, MLKEM_DU);
    }
}

/* ByteEncode_4(Compress_4(v)): two 4-bit values a byte, low nibble first. */
void ek_mlkem_poly_compress_dv(uint8_t r[MLKEM_POLY_DV_BYTES], const mlkem_poly *p)
{
    for (size_t i = 0; i < MLKEM_N / 2; i++) {
        uint16_t t0 = ek_mlkem_compress_d(freeze(p->c[2 * i]), MLKEM_DV);
        uint16_t t1 = ek_mlkem_compress_d(freeze(p->c[2 * i + 1]), MLKEM_DV);
        r[i] = (uint8_t)(t0 | (t1 << 4));
    }
}

/* Decompress_4(ByteDecode_4(c2)) (Algorithm 15 line 4). */
void ek_mlkem_poly_decompress_dv(mlkem_poly *p, const uint8_t a[MLKEM_POLY_DV_BYTES])
{
    for (size_t i = 0; i < MLKEM_N / 2; i++) {
        p->c[2 * i] = decompress_d(a[i] & 0x0f, MLKEM_DV);
        p->c[2 * i + 1] = decompress_d((uint32_t)a[i] >> 4, MLKEM_DV);
    }
}
