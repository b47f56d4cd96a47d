/*
 * ed25519_ops.c: the Ed25519 group operations XEdDSA needs (Signal's XEdDSA
 * specification, §2.3 and §3): scalar arithmetic mod L and base-point
 * multiplication without clamping (libsodium's crypto_core_ed25519_* and
 * crypto_scalarmult_ed25519_base_noclamp, constant time), and the
 * Montgomery u -> Edwards y map, y = (u - 1) / (u + 1) mod p.
 *
 * libsodium has no public field API, so the map runs on a small field
 * implementation of our own: five 51-bit limbs, products in unsigned
 * __int128. It only ever sees public keys, so it is written for clarity and
 * need not be constant time (it happens to be, apart from the u >= p check).
 */
#include <string.h>

#include <sodium.h>

#include <enkrypt/ek_crypto.h>

void ek_ed25519_scalar_reduce(uint8_t out[EK_ED25519_SCALAR_LEN],
                              const uint8_t in[EK_ED25519_WIDE_SCALAR_LEN])
{
    crypto_core_ed25519_scalar_reduce(out, in);
}

void ek_ed25519_scalar_mul(uint8_t z[EK_ED25519_SCALAR_LEN], const uint8_t x[EK_ED25519_SCALAR_LEN],
                           const uint8_t y[EK_ED25519_SCALAR_LEN])
{
    crypto_core_ed25519_scalar_mul(z, x, y);
}

void ek_ed25519_scalar_add(uint8_t z[EK_ED25519_SCALAR_LEN], const uint8_t x[EK_ED25519_SCALAR_LEN],
                           const uint8_t y[EK_ED25519_SCALAR_LEN])
{
    crypto_core_ed25519_scalar_add(z, x, y);
}

void ek_ed25519_scalar_negate(uint8_t neg[EK_ED25519_SCALAR_LEN],
                              const uint8_t s[EK_ED25519_SCALAR_LEN])
{
    crypto_core_ed25519_scalar_negate(neg, s);
}

int ek_ed25519_scalarmult_base_noclamp(uint8_t point[EK_ED25519_POINT_LEN],
                                       const uint8_t s[EK_ED25519_SCALAR_LEN])
{
    if (point == NULL || s == NULL)
        return EK_ERR_INVALID_ARG;
    if (sodium_init() < 0)
        return EK_ERR_CRYPTO;
    /* libsodium fails for a zero scalar and for a neutral-element result. */
    if (crypto_scalarmult_ed25519_base_noclamp(point, s) != 0) {
        ek_wipe(point, EK_ED25519_POINT_LEN);
        return EK_ERR_WEAK_KEY;
    }
    return EK_OK;
}

/* ---- GF(2^255 - 19), public data only ---- */

__extension__ typedef unsigned __int128 u128;
typedef uint64_t fe[5]; /* value = sum of limb[i] * 2^(51 i) */

#define LIMB_MASK ((UINT64_C(1) << 51) - 1)

static uint64_t load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Bits 0..254 of the 32-byte little-endian s; bit 255 is dropped. */
static void fe_frombytes(fe h, const uint8_t s[32])
{
    uint64_t w0 = load64_le(s), w1 = load64_le(s + 8), w2 = load64_le(s + 16),
             w3 = load64_le(s + 24);
    h[0] = w0 & LIMB_MASK;
    h[1] = (w0 >> 51 | w1 << 13) & LIMB_MASK;
    h[2] = (w1 >> 38 | w2 << 26) & LIMB_MASK;
    h[3] = (w2 >> 25 | w3 << 39) & LIMB_MASK;
    h[4] = (w3 >> 12) & LIMB_MASK;
}

/* Propagate carries so every limb is below 2^51 (limb 0 may get a little
 * more from the 19 * top carry; a second pass settles it). */
static void fe_carry(fe h)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++) {
            h[i + 1] += h[i] >> 51;
            h[i] &= LIMB_MASK;
        }
        h[0] += 19 * (h[4] >> 51);
        h[4] &= LIMB_MASK;
    }
}

static void fe_add(fe h, const fe f, const fe g)
{
    for (int i = 0; i < 5; i++)
        h[i] = f[i] + g[i];
    fe_carry(h);
}

/* h = f - g, computed as f + 4p - g so no limb goes negative (f and g have
 * carried limbs, below 2^52). */
static void fe_sub(fe h, const fe f, const fe g)
{
    static const uint64_t four_p[5] = {4 * (LIMB_MASK - 18), 4 * LIMB_MASK, 4 * LIMB_MASK,
                                       4 * LIMB_MASK, 4 * LIMB_MASK};
    for (int i = 0; i < 5; i++)
        h[i] = f[i] + four_p[i] - g[i];
    fe_carry(h);
}

/* Schoolbook product; 2^255 = 19 (mod p) folds the high half back. */
static void fe_mul(fe h, const fe f, const fe g)
{
    uint64_t g1_19 = 19 * g[1], g2_19 = 19 * g[2], g3_19 = 19 * g[3], g4_19 = 19 * g[4];
    u128 r0 = (u128)f[0] * g[0] + (u128)f[1] * g4_19 + (u128)f[2] * g3_19 + (u128)f[3] * g2_19 +
              (u128)f[4] * g1_19;
    u128 r1 = (u128)f[0] * g[1] + (u128)f[1] * g[0] + (u128)f[2] * g4_19 + (u128)f[3] * g3_19 +
              (u128)f[4] * g2_19;
    u128 r2 = (u128)f[0] * g[2] + (u128)f[1] * g[1] + (u128)f[2] * g[0] + (u128)f[3] * g4_19 +
              (u128)f[4] * g3_19;
    u128 r3 = (u128)f[0] * g[3] + (u128)f[1] * g[2] + (u128)f[2] * g[1] + (u128)f[3] * g[0] +
              (u128)f[4] * g4_19;
    u128 r4 = (u128)f[0] * g[4] + (u128)f[1] * g[3] + (u128)f[2] * g[2] + (u128)f[3] * g[1] +
              (u128)f[4] * g[0];
    r1 += (uint64_t)(r0 >> 51);
    r2 += (uint64_t)(r1 >> 51);
    r3 += (uint64_t)(r2 >> 51);
    r4 += (uint64_t)(r3 >> 51);
    /* The top carry is below 2^61, so 19 times it needs the wide type. */
    u128 t = (u128)((uint64_t)r0 & LIMB_MASK) + (u128)19 * (uint64_t)(r4 >> 51);
    h[0] = (uint64_t)t & LIMB_MASK;
    h[1] = ((uint64_t)r1 & LIMB_MASK) + (uint64_t)(t >> 51);
    h[2] = (uint64_t)r2 & LIMB_MASK;
    h[3] = (uint64_t)r3 & LIMB_MASK;
    h[4] = (uint64_t)r4 & LIMB_MASK;
    fe_carry(h);
}

/* h = f^(2^n) */
static void fe_sqn(fe h, const fe f, int n)
{
    memcpy(h, f, sizeof(fe));
    for (int i = 0; i < n; i++)
        fe_mul(h, h, h);
}

/* h = z^(p-2) = z^(2^255 - 21): 1/z for z != 0, and 0 for z = 0, which is
 * the inv() of XEdDSA §2.1. The usual chain: 254 squarings, 11 products. */
static void fe_invert(fe h, const fe z)
{
    fe z2, z9, z11, t, z_5_0, z_10_0, z_20_0, z_50_0, z_100_0;
    fe_mul(z2, z, z);     /* z^2 */
    fe_sqn(t, z2, 2);     /* z^8 */
    fe_mul(z9, t, z);     /* z^9 */
    fe_mul(z11, z9, z2);  /* z^11 */
    fe_mul(t, z11, z11);  /* z^22 */
    fe_mul(z_5_0, t, z9); /* z^(2^5 - 1) */
    fe_sqn(t, z_5_0, 5);
    fe_mul(z_10_0, t, z_5_0); /* z^(2^10 - 1) */
    fe_sqn(t, z_10_0, 10);
    fe_mul(z_20_0, t, z_10_0); /* z^(2^20 - 1) */
    fe_sqn(t, z_20_0, 20);
    fe_mul(t, t, z_20_0); /* z^(2^40 - 1) */
    fe_sqn(t, t, 10);
    fe_mul(z_50_0, t, z_10_0); /* z^(2^50 - 1) */
    fe_sqn(t, z_50_0, 50);
    fe_mul(z_100_0, t, z_50_0); /* z^(2^100 - 1) */
    fe_sqn(t, z_100_0, 100);
    fe_mul(t, t, z_100_0); /* z^(2^200 - 1) */
    fe_sqn(t, t, 50);
    fe_mul(t, t, z_50_0); /* z^(2^250 - 1) */
    fe_sqn(t, t, 5);      /* z^(2^255 - 32) */
    fe_mul(h, t, z11);    /* z^(2^255 - 21) */
}

/* The canonical 32-byte encoding (fully reduced mod p). */
static void fe_tobytes(uint8_t s[32], const fe f)
{
    fe h;
    memcpy(h, f, sizeof(fe));
    fe_carry(h);
    /* h < 2^255 now; h >= p exactly when h + 19 carries out of bit 255. */
    uint64_t q = (h[0] + 19) >> 51;
    for (int i = 1; i < 5; i++)
        q = (h[i] + q) >> 51;
    h[0] += 19 * q;
    for (int i = 0; i < 4; i++) {
        h[i + 1] += h[i] >> 51;
        h[i] &= LIMB_MASK;
    }
    h[4] &= LIMB_MASK; /* drops the 2^255 that adding 19 made: h - p */
    uint64_t w[4] = {h[0] | h[1] << 51, h[1] >> 13 | h[2] << 38, h[2] >> 26 | h[3] << 25,
                     h[3] >> 39 | h[4] << 12};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

/* 1 if the 32-byte little-endian u is at least p = 2^255 - 19. */
static int is_noncanonical(const uint8_t u[32])
{
    if (u[31] != 0x7f)
        return u[31] > 0x7f;
    for (int i = 30; i > 0; i--)
        if (u[i] != 0xff)
            return 0;
    return u[0] >= 0xed;
}

int ek_ed25519_from_x25519_public(uint8_t ed_pk[EK_ED25519_POINT_LEN],
                                  const uint8_t u[EK_X25519_LEN], int sign_bit)
{
    if (ed_pk == NULL || u == NULL || (sign_bit != 0 && sign_bit != 1))
        return EK_ERR_INVALID_ARG;
    if (is_noncanonical(u))
        return EK_ERR_BAD_KEY;
    /* XEdDSA §2.3 u_to_y: y = (u - 1) * inv(u + 1) mod p. */
    fe fu, one = {1, 0, 0, 0, 0}, num, den, inv, y;
    fe_frombytes(fu, u);
    fe_sub(num, fu, one);
    fe_add(den, fu, one);
    fe_invert(inv, den);
    fe_mul(y, num, inv);
    fe_tobytes(ed_pk, y);
    ed_pk[31] |= (uint8_t)(sign_bit << 7);
    return EK_OK;
}
