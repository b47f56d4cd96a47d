/*
 * keccak.c: Keccak-f[1600] and the FIPS 202 sponges SHA3-256, SHA3-512,
 * SHAKE128 and SHAKE256, with incremental absorb and squeeze.
 *
 * Ours rather than OpenSSL's because OpenSSL 3.0 can squeeze an XOF only
 * once, and ML-KEM's SampleNTT must be able to keep squeezing (FIPS 203
 * Algorithm 7; the CCTV "unlucky sample" vector needs 576+ bytes).
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "crypto/keccak.h"

static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

static inline uint64_t rol64(uint64_t x, unsigned n)
{
    return (x << n) | (x >> ((64 - n) & 63));
}

/* FIPS 202 §3.3: 24 rounds of theta, rho, pi, chi, iota. */
void ek_keccak_f1600(uint64_t s[25])
{
    static const unsigned rho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                     25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
    uint64_t b[25], c[5], d[5];
    for (int round = 0; round < 24; round++) {
        for (int x = 0; x < 5; x++)
            c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
        for (int x = 0; x < 5; x++)
            d[x] = c[(x + 4) % 5] ^ rol64(c[(x + 1) % 5], 1);
        for (int i = 0; i < 25; i++)
            s[i] ^= d[i % 5];
        /* rho and pi: lane (x, y) moves to (y, 2x + 3y). */
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rol64(s[x + 5 * y], rho[x + 5 * y]);
        for (int y = 0; y < 25; y += 5)
            for (int x = 0; x < 5; x++)
                s[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
        s[0] ^= round_constants[round];
    }
}

static void keccak_init(ek_keccak *k, uint32_t rate, uint8_t dsep)
{
    memset(k, 0, sizeof(*k));
    k->rate = rate;
    k->dsep = dsep;
}

void ek_shake128_init(ek_keccak *k)
{
    keccak_init(k, 168, 0x1f);
}

void ek_shake256_init(ek_keccak *k)
{
    keccak_init(k, 136, 0x1f);
}

/* Lanes are little-endian (FIPS 202 §B.1); byte i of the state is byte
 * i % 8 of lane i / 8. */
static inline void xor_byte(ek_keccak *k, uint32_t i, uint8_t v)
{
    k->s[i / 8] ^= (uint64_t)v << (8 * (i % 8));
}

static inline uint8_t get_byte(const ek_keccak *k, uint32_t i)
{
    return (uint8_t)(k->s[i / 8] >> (8 * (i % 8)));
}

void ek_keccak_absorb(ek_keccak *k, const void *in, size_t len)
{
    const uint8_t *p = in;
    while (len > 0) {
        if (k->pos == 0) {
            /* Whole blocks straight into the state. */
            while (len >= k->rate) {
                for (uint32_t i = 0; i < k->rate / 8; i++) {
                    uint64_t lane = 0;
                    for (int j = 7; j >= 0; j--)
                        lane = lane << 8 | p[8 * i + (uint32_t)j];
                    k->s[i] ^= lane;
                }
                ek_keccak_f1600(k->s);
                p += k->rate;
                len -= k->rate;
            }
            if (len == 0)
                break;
        }
        xor_byte(k, k->pos++, *p++);
        len--;
        if (k->pos == k->rate) {
            ek_keccak_f1600(k->s);
            k->pos = 0;
        }
    }
}

void ek_keccak_squeeze(ek_keccak *k, uint8_t *out, size_t len)
{
    if (!k->squeezing) {
        /* pad10*1 with the domain separation bits (FIPS 202 §5.1, §6). */
        xor_byte(k, k->pos, k->dsep);
        xor_byte(k, k->rate - 1, 0x80);
        ek_keccak_f1600(k->s);
        k->pos = 0;
        k->squeezing = 1;
    }
    while (len > 0) {
        if (k->pos == k->rate) {
            ek_keccak_f1600(k->s);
            k->pos = 0;
        }
        *out++ = get_byte(k, k->pos++);
        len--;
    }
}

static void sponge(uint8_t *out, size_t out_len, uint32_t rate, uint8_t dsep, const void *in,
                   size_t len)
{
    ek_keccak k;
    keccak_init(&k, rate, dsep);
    ek_keccak_absorb(&k, in, len);
    ek_keccak_squeeze(&k, out, out_len);
    ek_wipe(&k, sizeof(k));
}

void ek_sha3_256(uint8_t out[EK_SHA3_256_LEN], const void *in, size_t len)
{
    sponge(out, EK_SHA3_256_LEN, 136, 0x06, in, len);
}

void ek_sha3_512(uint8_t out[EK_SHA3_512_LEN], const void *in, size_t len)
{
    sponge(out, EK_SHA3_512_LEN, 72, 0x06, in, len);
}

void ek_shake128(uint8_t *out, size_t out_len, const void *in, size_t len)
{
    sponge(out, out_len, 168, 0x1f, in, len);
}

void ek_shake256(uint8_t *out, size_t out_len, const void *in, size_t len)
{
    sponge(out, out_len, 136, 0x1f, in, len);
}
