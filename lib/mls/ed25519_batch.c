/*
 * ed25519_batch.c: batch verification of Ed25519 signatures (RFC 8032
 * §5.1.7, cofactored equation), for the leaf signatures a new member checks
 * when it joins (RFC 9420 §7.3, §12.4.3.1): one per member, 10,000 for a
 * 10,000-member group.
 *
 * n signatures (R_i, S_i) by A_i on M_i, with h_i = SHA-512(R_i||A_i||M_i)
 * mod L and 128-bit coefficients z_i, are all valid (with overwhelming
 * probability) when
 *     [8] ( sum z_i R_i + sum (z_i h_i) A_i - (sum z_i S_i) B ) = 0,
 * one multi-scalar multiplication (Pippenger's bucket method, signed
 * windows) instead of n double-scalar ones: several times faster for large
 * n. The z_i are derived from a hash of every input (Fiat-Shamir), so no
 * signer can choose its signature knowing them, and the result does not
 * depend on a random generator.
 *
 * Strictness matches ek_ed25519_verify (libsodium) on every input check: S
 * canonical (< L), A and R canonical encodings of curve points, not of
 * small order. The one difference is the equation: RFC 8032 allows the
 * cofactored one used here, libsodium checks the cofactorless one; they
 * differ only on signatures that a signer built on purpose with a
 * small-order component, and such a leaf cannot enter a tree through a
 * commit (single signatures there are checked by libsodium).
 *
 * Everything handled here is public (keys, signatures, messages), so the
 * arithmetic is variable time. Field elements are five 51-bit limbs with
 * 128-bit products; without a 128-bit type the suite keeps single checks.
 *
 * This is group arithmetic that belongs in lib/crypto; it sits here while
 * lib/mls is its only user (see docs/architecture.md).
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "sig_batch.h"

#if defined(__SIZEOF_INT128__)

typedef unsigned __int128 u128;

#define MASK51      ((uint64_t)0x7ffffffffffff)
/* Signatures checked in one multi-scalar multiplication: bounds the memory
 * (about 400 bytes each) of one pass. */
#define BATCH_CHUNK 16384

/* ---- field arithmetic mod p = 2^255 - 19 ---- */

typedef struct fe {
    uint64_t v[5];
} fe;

static void fe_set(fe *h, uint64_t x)
{
    memset(h, 0, sizeof(*h));
    h->v[0] = x;
}

static void fe_add(fe *h, const fe *f, const fe *g)
{
    h->v[0] = f->v[0] + g->v[0];
    h->v[1] = f->v[1] + g->v[1];
    h->v[2] = f->v[2] + g->v[2];
    h->v[3] = f->v[3] + g->v[3];
    h->v[4] = f->v[4] + g->v[4];
}

/* Carry every limb below 2^51 (v[1] below 2^51 + 1): the value mod p is
 * unchanged. Limbs up to 2^63 in. */
static void fe_carry_weak(fe *h)
{
    uint64_t c;
    for (int i = 0; i < 4; i++) {
        c = h->v[i] >> 51;
        h->v[i] &= MASK51;
        h->v[i + 1] += c;
    }
    c = h->v[4] >> 51;
    h->v[4] &= MASK51;
    h->v[0] += 19 * c;
    c = h->v[0] >> 51;
    h->v[0] &= MASK51;
    h->v[1] += c;
}

/* h = f - g + 8p for a g whose limbs are below 2^52: the output of
 * fe_mul, fe_sq or fe_carry_weak, a constant, or a decoded coordinate (the
 * only subtrahends of the point formulas below; each call says which).
 * Every limb of 8p - g then stays positive. f's limbs may be up to 2^62;
 * the result's are below f's + 2^54. */
static void fe_sub_small(fe *h, const fe *f, const fe *g)
{
    h->v[0] = f->v[0] + 0x3fffffffffff68 - g->v[0];
    h->v[1] = f->v[1] + 0x3ffffffffffff8 - g->v[1];
    h->v[2] = f->v[2] + 0x3ffffffffffff8 - g->v[2];
    h->v[3] = f->v[3] + 0x3ffffffffffff8 - g->v[3];
    h->v[4] = f->v[4] + 0x3ffffffffffff8 - g->v[4];
}

/* h = f - g + 8p for any g: the subtrahend is carried first. Subtracting a
 * g with a limb above 8p's (2^54), as an unreduced difference has, wrapped
 * the 64-bit limb and gave a wrong value, which is how an off-curve point
 * decoded (MLS review finding 1). */
static void fe_sub(fe *h, const fe *f, const fe *g)
{
    fe t = *g;
    fe_carry_weak(&t);
    fe_sub_small(h, f, &t);
}

static void fe_neg(fe *h, const fe *f)
{
    fe zero;
    fe_set(&zero, 0);
    fe_sub(h, &zero, f);
}

/* Carry 128-bit column sums into limbs below 2^51 (+ a little in v[1]). */
static inline void fe_carry(fe *h, u128 t0, u128 t1, u128 t2, u128 t3, u128 t4)
{
    t1 += (uint64_t)(t0 >> 51);
    t2 += (uint64_t)(t1 >> 51);
    t3 += (uint64_t)(t2 >> 51);
    t4 += (uint64_t)(t3 >> 51);
    u128 c = (u128)((uint64_t)t0 & MASK51) + (t4 >> 51) * 19;
    h->v[0] = (uint64_t)c & MASK51;
    h->v[1] = ((uint64_t)t1 & MASK51) + (uint64_t)(c >> 51);
    h->v[2] = (uint64_t)t2 & MASK51;
    h->v[3] = (uint64_t)t3 & MASK51;
    h->v[4] = (uint64_t)t4 & MASK51;
}

static void fe_mul(fe *h, const fe *f, const fe *g)
{
    uint64_t a0 = f->v[0], a1 = f->v[1], a2 = f->v[2], a3 = f->v[3], a4 = f->v[4];
    uint64_t b0 = g->v[0], b1 = g->v[1], b2 = g->v[2], b3 = g->v[3], b4 = g->v[4];
    uint64_t b1_19 = 19 * b1, b2_19 = 19 * b2, b3_19 = 19 * b3, b4_19 = 19 * b4;
    u128 t0 =
        (u128)a0 * b0 + (u128)a1 * b4_19 + (u128)a2 * b3_19 + (u128)a3 * b2_19 + (u128)a4 * b1_19;
    u128 t1 =
        (u128)a0 * b1 + (u128)a1 * b0 + (u128)a2 * b4_19 + (u128)a3 * b3_19 + (u128)a4 * b2_19;
    u128 t2 = (u128)a0 * b2 + (u128)a1 * b1 + (u128)a2 * b0 + (u128)a3 * b4_19 + (u128)a4 * b3_19;
    u128 t3 = (u128)a0 * b3 + (u128)a1 * b2 + (u128)a2 * b1 + (u128)a3 * b0 + (u128)a4 * b4_19;
    u128 t4 = (u128)a0 * b4 + (u128)a1 * b3 + (u128)a2 * b2 + (u128)a3 * b1 + (u128)a4 * b0;
    fe_carry(h, t0, t1, t2, t3, t4);
}

static void fe_sq(fe *h, const fe *f)
{
    uint64_t a0 = f->v[0], a1 = f->v[1], a2 = f->v[2], a3 = f->v[3], a4 = f->v[4];
    uint64_t d0 = 2 * a0, d1 = 2 * a1, d2 = 2 * a2, d3 = 2 * a3;
    uint64_t a3_19 = 19 * a3, a4_19 = 19 * a4;
    u128 t0 = (u128)a0 * a0 + (u128)d1 * a4_19 + (u128)d2 * a3_19;
    u128 t1 = (u128)d0 * a1 + (u128)d2 * a4_19 + (u128)a3 * a3_19;
    u128 t2 = (u128)d0 * a2 + (u128)a1 * a1 + (u128)d3 * a4_19;
    u128 t3 = (u128)d0 * a3 + (u128)d1 * a2 + (u128)a4 * a4_19;
    u128 t4 = (u128)d0 * a4 + (u128)d1 * a3 + (u128)a2 * a2;
    fe_carry(h, t0, t1, t2, t3, t4);
}

static void fe_sqn(fe *h, const fe *f, int n)
{
    fe_sq(h, f);
    for (int i = 1; i < n; i++)
        fe_sq(h, h);
}

static uint64_t load64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* The low 255 bits of s (the top bit is the caller's). */
static void fe_frombytes(fe *h, const uint8_t s[32])
{
    h->v[0] = load64(s) & MASK51;
    h->v[1] = (load64(s + 6) >> 3) & MASK51;
    h->v[2] = (load64(s + 12) >> 6) & MASK51;
    h->v[3] = (load64(s + 19) >> 1) & MASK51;
    h->v[4] = (load64(s + 24) >> 12) & MASK51;
}

/* The canonical encoding (fully reduced mod p). */
static void fe_tobytes(uint8_t s[32], const fe *f)
{
    uint64_t h[5];
    memcpy(h, f->v, sizeof(h));
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++) {
            h[i + 1] += h[i] >> 51;
            h[i] &= MASK51;
        }
        h[0] += 19 * (h[4] >> 51);
        h[4] &= MASK51;
    }
    /* Now h < 2^255; subtract p once if h >= p, i.e. if h + 19 >= 2^255. */
    uint64_t q = (h[0] + 19) >> 51;
    for (int i = 1; i < 5; i++)
        q = (h[i] + q) >> 51;
    h[0] += 19 * q;
    for (int i = 0; i < 4; i++) {
        h[i + 1] += h[i] >> 51;
        h[i] &= MASK51;
    }
    h[4] &= MASK51;
    uint64_t w[4] = {h[0] | h[1] << 51, h[1] >> 13 | h[2] << 38, h[2] >> 26 | h[3] << 25,
                     h[3] >> 39 | h[4] << 12};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

/* Zero and equality compare canonical encodings (fe_tobytes reduces any
 * limbs below 2^64 fully), never a difference of unreduced limbs. */
static int fe_is_zero(const fe *f)
{
    uint8_t s[32];
    fe_tobytes(s, f);
    uint8_t acc = 0;
    for (int i = 0; i < 32; i++)
        acc |= s[i];
    return acc == 0;
}

static int fe_equal(const fe *f, const fe *g)
{
    uint8_t a[32], b[32];
    fe_tobytes(a, f);
    fe_tobytes(b, g);
    return memcmp(a, b, 32) == 0;
}

/* f^(2^252 - 3) = f^((p - 5) / 8), for the square root in decoding. */
static void fe_pow22523(fe *out, const fe *z)
{
    fe t0, t1, t2;
    fe_sq(&t0, z);         /* 2 */
    fe_sqn(&t1, &t0, 2);   /* 8 */
    fe_mul(&t1, z, &t1);   /* 9 */
    fe_mul(&t0, &t0, &t1); /* 11 */
    fe_sq(&t0, &t0);       /* 22 */
    fe_mul(&t0, &t1, &t0); /* 2^5 - 1 */
    fe_sqn(&t1, &t0, 5);
    fe_mul(&t0, &t1, &t0); /* 2^10 - 1 */
    fe_sqn(&t1, &t0, 10);
    fe_mul(&t1, &t1, &t0); /* 2^20 - 1 */
    fe_sqn(&t2, &t1, 20);
    fe_mul(&t1, &t2, &t1); /* 2^40 - 1 */
    fe_sqn(&t1, &t1, 10);
    fe_mul(&t0, &t1, &t0); /* 2^50 - 1 */
    fe_sqn(&t1, &t0, 50);
    fe_mul(&t1, &t1, &t0); /* 2^100 - 1 */
    fe_sqn(&t2, &t1, 100);
    fe_mul(&t1, &t2, &t1); /* 2^200 - 1 */
    fe_sqn(&t1, &t1, 50);
    fe_mul(&t0, &t1, &t0); /* 2^250 - 1 */
    fe_sqn(&t0, &t0, 2);   /* 2^252 - 4 */
    fe_mul(out, &t0, z);   /* 2^252 - 3 */
}

/* ---- the group ---- */

/* Extended coordinates (RFC 8032 §5.1.4): x = X/Z, y = Y/Z, xy = T/Z. */
typedef struct ge {
    fe X, Y, Z, T;
} ge;

/* A point prepared for addition: Y+X, Y-X, Z, 2d T. */
typedef struct ge_cached {
    fe ypx, ymx, z, t2d;
} ge_cached;

typedef struct curve {
    fe d, d2, sqrtm1;
} curve;

static const uint8_t d_bytes[32] = {
    0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
    0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52};
static const uint8_t sqrtm1_bytes[32] = {
    0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f, 0xad, 0x06, 0x18, 0x43, 0x2f,
    0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00, 0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b};
/* The base point B: y = 4/5, x even (RFC 8032 §5.1). */
static const uint8_t base_bytes[32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
/* The group order L, little-endian. */
static const uint8_t order_bytes[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

static void curve_init(curve *c)
{
    fe_frombytes(&c->d, d_bytes);
    fe_add(&c->d2, &c->d, &c->d);
    fe_frombytes(&c->sqrtm1, sqrtm1_bytes);
}

static void ge_identity(ge *p)
{
    fe_set(&p->X, 0);
    fe_set(&p->Y, 1);
    fe_set(&p->Z, 1);
    fe_set(&p->T, 0);
}

static void ge_to_cached(ge_cached *r, const ge *p, const curve *c)
{
    fe_add(&r->ypx, &p->Y, &p->X);
    fe_sub_small(&r->ymx, &p->Y, &p->X); /* X: a product, or decoded and carried */
    r->z = p->Z;
    fe_mul(&r->t2d, &p->T, &c->d2);
}

/* r = p + q (neg: p - q), with the unified formulas for a = -1, which are
 * complete on this curve (d is not a square). */
static void ge_add(ge *r, const ge *p, const ge_cached *q, int neg)
{
    fe a, b, cc, d, e, f, g, h, t;
    /* Subtrahends: X, a and cc are products (ge_decode's X is carried). */
    fe_sub_small(&t, &p->Y, &p->X);
    fe_mul(&a, &t, neg ? &q->ypx : &q->ymx);
    fe_add(&t, &p->Y, &p->X);
    fe_mul(&b, &t, neg ? &q->ymx : &q->ypx);
    fe_mul(&cc, &p->T, &q->t2d);
    fe_mul(&d, &p->Z, &q->z);
    fe_add(&d, &d, &d);
    fe_sub_small(&e, &b, &a);
    if (neg) {
        fe_add(&f, &d, &cc);
        fe_sub_small(&g, &d, &cc);
    } else {
        fe_sub_small(&f, &d, &cc);
        fe_add(&g, &d, &cc);
    }
    fe_add(&h, &b, &a);
    fe_mul(&r->X, &e, &f);
    fe_mul(&r->Y, &g, &h);
    fe_mul(&r->Z, &f, &g);
    fe_mul(&r->T, &e, &h);
}

static void ge_dbl(ge *r, const ge *p)
{
    fe a, b, cc, e, f, g, h, t;
    fe_sq(&a, &p->X);
    fe_sq(&b, &p->Y);
    fe_sq(&cc, &p->Z);
    fe_add(&cc, &cc, &cc);
    fe_add(&h, &a, &b);
    fe_add(&t, &p->X, &p->Y);
    fe_sq(&t, &t);
    fe_sub_small(&e, &h, &t); /* t and b are squares */
    fe_sub_small(&g, &a, &b);
    fe_add(&f, &cc, &g);
    fe_mul(&r->X, &e, &f);
    fe_mul(&r->Y, &g, &h);
    fe_mul(&r->Z, &f, &g);
    fe_mul(&r->T, &e, &h);
}

/* The neutral element (0 : Z : Z : 0) with Z != 0. (0 : 0 : 0 : 0) is not
 * a point: the formulas give it only for inputs off the curve, and it must
 * never pass as the identity (MLS review finding 1). */
static int ge_is_identity(const ge *p)
{
    return !fe_is_zero(&p->Z) && fe_is_zero(&p->X) && fe_equal(&p->Y, &p->Z);
}

static int ge_small_order(const ge *p)
{
    ge q;
    ge_dbl(&q, p);
    ge_dbl(&q, &q);
    ge_dbl(&q, &q);
    return ge_is_identity(&q);
}

/* -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032 §5.1): the curve equation, checked
 * on its own after decoding so that no slip in the square root can let an
 * off-curve point through (the addition formulas are complete only on the
 * curve). */
static int ge_on_curve(const fe *x, const fe *y, const curve *c)
{
    fe x2, y2, lhs, rhs, one;
    fe_set(&one, 1);
    fe_sq(&x2, x);
    fe_sq(&y2, y);
    fe_sub(&lhs, &y2, &x2);
    fe_mul(&rhs, &x2, &y2);
    fe_mul(&rhs, &rhs, &c->d);
    fe_add(&rhs, &rhs, &one);
    return fe_equal(&lhs, &rhs);
}

/* RFC 8032 §5.1.3 decoding, strict: y < p, on the curve, no "negative
 * zero" x; 0 on success. */
static int ge_decode(ge *p, const uint8_t s[32], const curve *c)
{
    uint8_t y_bytes[32], check[32];
    memcpy(y_bytes, s, 32);
    int sign = y_bytes[31] >> 7;
    y_bytes[31] &= 0x7f;
    fe y, u, v, v3, x, t, vx2;
    fe_frombytes(&y, y_bytes);
    fe_tobytes(check, &y);
    if (memcmp(check, y_bytes, 32) != 0)
        return -1; /* y >= p */
    fe one;
    fe_set(&one, 1);
    fe_sq(&u, &y);
    fe_mul(&v, &u, &c->d);
    fe_sub(&u, &u, &one); /* u = y^2 - 1 */
    fe_add(&v, &v, &one); /* v = d y^2 + 1 */
    fe_carry_weak(&u);    /* both reduced before any use: limbs below 2^51 + 1 */
    fe_carry_weak(&v);
    /* x = u v^3 (u v^7)^((p-5)/8) */
    fe_sq(&v3, &v);
    fe_mul(&v3, &v3, &v);
    fe_sq(&x, &v3);
    fe_mul(&x, &x, &v);
    fe_mul(&x, &x, &u);
    fe_pow22523(&x, &x);
    fe_mul(&x, &x, &v3);
    fe_mul(&x, &x, &u);
    fe_sq(&vx2, &x);
    fe_mul(&vx2, &vx2, &v);
    if (!fe_equal(&vx2, &u)) {
        fe_neg(&t, &u);
        if (!fe_equal(&vx2, &t))
            return -1; /* u / v is not a square: no x */
        fe_mul(&x, &x, &c->sqrtm1);
    }
    uint8_t xb[32];
    fe_tobytes(xb, &x);
    int x_zero = fe_is_zero(&x);
    if (x_zero && sign)
        return -1;
    if ((xb[0] & 1) != sign) {
        fe_neg(&x, &x);
        fe_carry_weak(&x);
    }
    if (!ge_on_curve(&x, &y, c))
        return -1;
    p->X = x;
    p->Y = y;
    fe_set(&p->Z, 1);
    fe_mul(&p->T, &x, &y);
    return 0;
}

/* ---- scalars ---- */

static int scalar_canonical(const uint8_t s[32])
{
    for (int i = 31; i >= 0; i--) {
        if (s[i] < order_bytes[i])
            return 1;
        if (s[i] > order_bytes[i])
            return 0;
    }
    return 0; /* s == L */
}

/* Signed digits of a scalar below 2^253 in base 2^w: sum d_j 2^(w j),
 * |d_j| <= 2^(w-1). */
static void recode(int16_t *digits, size_t windows, const uint8_t s[32], unsigned w)
{
    uint8_t padded[40] = {0};
    memcpy(padded, s, 32);
    int carry = 0;
    uint32_t mask = ((uint32_t)1 << w) - 1;
    for (size_t j = 0; j < windows; j++) {
        size_t bit = j * w;
        uint32_t v = 0;
        if (bit < 256) {
            uint64_t chunk = load64(padded + bit / 8) >> (bit % 8);
            v = (uint32_t)chunk & mask;
        }
        int x = (int)v + carry;
        if (x >= (1 << (w - 1))) {
            digits[j] = (int16_t)(x - (1 << w));
            carry = 1;
        } else {
            digits[j] = (int16_t)x;
            carry = 0;
        }
    }
}

/* ---- the batch ---- */

typedef struct batch {
    const ek_allocator *alloc;
    size_t terms, windows;
    unsigned w;
    ge_cached *points;
    int16_t *digits; /* terms * windows */
    ge *buckets;
} batch;

static void batch_free(batch *b)
{
    if (b->points != NULL)
        ek_free(b->alloc, b->points, b->terms * sizeof(ge_cached));
    if (b->digits != NULL)
        ek_free(b->alloc, b->digits, b->terms * b->windows * sizeof(int16_t));
    if (b->buckets != NULL)
        ek_free(b->alloc, b->buckets, ((size_t)1 << (b->w - 1)) * sizeof(ge));
}

/* Window width for a multi-scalar multiplication of n terms. */
static unsigned window_for(size_t n)
{
    unsigned w = 4;
    while (w < 16 && ((size_t)1 << (w + 1)) < n)
        w++;
    return w > 2 ? w - 2 : w;
}

/* result = sum digits-weighted points (Pippenger, top window first). */
static void msm(ge *result, batch *b, const curve *c)
{
    size_t nb = (size_t)1 << (b->w - 1);
    ge acc;
    ge_identity(&acc);
    for (size_t j = b->windows; j-- > 0;) {
        for (unsigned k = 0; k < b->w && j + 1 < b->windows; k++)
            ge_dbl(&acc, &acc);
        for (size_t k = 0; k < nb; k++)
            ge_identity(&b->buckets[k]);
        int any = 0;
        for (size_t t = 0; t < b->terms; t++) {
            int d = b->digits[t * b->windows + j];
            if (d == 0)
                continue;
            any = 1;
            if (d > 0)
                ge_add(&b->buckets[d - 1], &b->buckets[d - 1], &b->points[t], 0);
            else
                ge_add(&b->buckets[-d - 1], &b->buckets[-d - 1], &b->points[t], 1);
        }
        if (!any)
            continue;
        /* sum_k k * bucket[k]: a running sum from the top. */
        ge running, sum;
        ge_cached tmp;
        ge_identity(&running);
        ge_identity(&sum);
        for (size_t k = nb; k-- > 0;) {
            ge_to_cached(&tmp, &b->buckets[k], c);
            ge_add(&running, &running, &tmp, 0);
            ge_to_cached(&tmp, &running, c);
            ge_add(&sum, &sum, &tmp, 0);
        }
        ge_to_cached(&tmp, &sum, c);
        ge_add(&acc, &acc, &tmp, 0);
    }
    *result = acc;
}

/* h = SHA-512(R || A || M) mod L. */
static void challenge(uint8_t h[32], const ek_mls_signed_item *it)
{
    uint8_t digest[64];
    ek_sha512_ctx ctx;
    ek_sha512_init(&ctx);
    ek_sha512_update(&ctx, it->sig, 32);
    ek_sha512_update(&ctx, it->pub, 32);
    ek_sha512_update(&ctx, it->msg, it->msg_len);
    ek_sha512_final(&ctx, digest);
    ek_ed25519_scalar_reduce(h, digest);
}

static int verify_chunk(const ek_mls_signed_item *items, size_t n, const ek_allocator *alloc)
{
    curve c;
    curve_init(&c);
    batch b = {.alloc = alloc, .terms = 2 * n + 1};
    b.w = window_for(b.terms);
    b.windows = (253 + b.w - 1) / b.w + 1;
    int rc = EK_OK;
    uint8_t(*h)[32] = ek_alloc(alloc, n * 32);
    b.points = ek_alloc(alloc, b.terms * sizeof(ge_cached));
    b.digits = ek_alloc(alloc, b.terms * b.windows * sizeof(int16_t));
    b.buckets = ek_alloc(alloc, ((size_t)1 << (b.w - 1)) * sizeof(ge));
    if (h == NULL || b.points == NULL || b.digits == NULL || b.buckets == NULL)
        rc = EK_ERR_NOMEM;
    /* Input checks and h_i; the transcript of everything seeds the z_i. */
    ek_sha512_ctx seed_ctx;
    ek_sha512_init(&seed_ctx);
    static const char domain[] = "enkrypt ed25519 batch v1";
    ek_sha512_update(&seed_ctx, domain, sizeof(domain) - 1);
    for (size_t i = 0; i < n && rc == EK_OK; i++) {
        const ek_mls_signed_item *it = &items[i];
        ge point;
        ge_identity(&point);
        if (it->sig_len != 64 || it->pub_len != 32 || it->sig == NULL || it->pub == NULL ||
            (it->msg == NULL && it->msg_len > 0) || !scalar_canonical(it->sig + 32) ||
            ge_decode(&point, it->pub, &c) != 0 || ge_small_order(&point)) {
            rc = EK_ERR_AUTH;
            break;
        }
        ge_to_cached(&b.points[2 * i + 1], &point, &c);
        if (ge_decode(&point, it->sig, &c) != 0 || ge_small_order(&point)) {
            rc = EK_ERR_AUTH;
            break;
        }
        ge_to_cached(&b.points[2 * i], &point, &c);
        challenge(h[i], it);
        ek_sha512_update(&seed_ctx, h[i], 32);
        ek_sha512_update(&seed_ctx, it->sig, 64);
        ek_sha512_update(&seed_ctx, it->pub, 32);
    }
    uint8_t seed[64];
    ek_sha512_final(&seed_ctx, seed);
    /* Scalars: z_i for R_i, z_i h_i for A_i, -(sum z_i S_i) for B. */
    uint8_t s_sum[32] = {0};
    for (size_t i = 0; i < n && rc == EK_OK; i++) {
        uint8_t z[32] = {0}, zh[32], zs[32], block[64 + 8];
        memcpy(block, seed, 64);
        for (int k = 0; k < 8; k++)
            block[64 + k] = (uint8_t)((uint64_t)i >> (8 * k));
        uint8_t digest[64];
        ek_sha512(digest, block, sizeof(block));
        memcpy(z, digest, 16); /* 128-bit coefficient */
        z[0] |= 1;             /* never zero */
        ek_ed25519_scalar_mul(zh, z, h[i]);
        ek_ed25519_scalar_mul(zs, z, items[i].sig + 32);
        ek_ed25519_scalar_add(s_sum, s_sum, zs);
        recode(&b.digits[(2 * i) * b.windows], b.windows, z, b.w);
        recode(&b.digits[(2 * i + 1) * b.windows], b.windows, zh, b.w);
    }
    if (rc == EK_OK) {
        uint8_t neg[32];
        ek_ed25519_scalar_negate(neg, s_sum);
        ge base;
        ge_identity(&base);
        if (ge_decode(&base, base_bytes, &c) != 0) {
            rc = EK_ERR_CRYPTO;
        } else {
            ge_to_cached(&b.points[2 * n], &base, &c);
            recode(&b.digits[(2 * n) * b.windows], b.windows, neg, b.w);
            ge r;
            msm(&r, &b, &c);
            rc = ge_small_order(&r) ? EK_OK : EK_ERR_AUTH; /* [8] r == 0 */
        }
    }
    if (h != NULL)
        ek_free(alloc, h, n * 32);
    batch_free(&b);
    return rc;
}

int ek_mls_ed25519_verify_batch(const ek_mls_signed_item *items, size_t n,
                                const ek_allocator *alloc)
{
    if (items == NULL && n > 0)
        return EK_ERR_INVALID_ARG;
    for (size_t off = 0; off < n; off += BATCH_CHUNK) {
        size_t k = n - off < BATCH_CHUNK ? n - off : BATCH_CHUNK;
        int rc = verify_chunk(items + off, k, alloc);
        if (rc != EK_OK)
            return rc == EK_ERR_NOMEM ? rc : EK_ERR_AUTH;
    }
    return EK_OK;
}

int ek_mls_ed25519_point_check(const uint8_t enc[32])
{
    if (enc == NULL)
        return EK_ERR_INVALID_ARG;
    curve c;
    curve_init(&c);
    ge p;
    return ge_decode(&p, enc, &c) == 0 && !ge_small_order(&p) ? EK_OK : EK_ERR_AUTH;
}

int ek_mls_ed25519_batch_available(void)
{
    return 1;
}

#else /* no 128-bit integers: single checks only */

int ek_mls_ed25519_verify_batch(const ek_mls_signed_item *items, size_t n,
                                const ek_allocator *alloc)
{
    (void)alloc;
    for (size_t i = 0; i < n; i++)
        if (items[i].pub_len != EK_ED25519_PUBLIC_LEN ||
            ek_ed25519_verify(items[i].sig, items[i].sig_len, items[i].pub, items[i].msg,
                              items[i].msg_len) != EK_OK)
            return EK_ERR_AUTH;
    return EK_OK;
}

int ek_mls_ed25519_point_check(const uint8_t enc[32])
{
    (void)enc;
    return EK_ERR_UNSUPPORTED;
}

int ek_mls_ed25519_batch_available(void)
{
    return 0;
}

#endif
