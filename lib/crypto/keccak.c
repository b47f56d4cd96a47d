/*
 * keccak.c: Keccak-f[1600] (FIPS 202 §3) and the FIPS 202 sponges SHA3-256,
 * SHA3-512, SHAKE128 and SHAKE256 with incremental absorb and squeeze, plus a
 * 4-way batched permutation and sponge for independent instances.
 *
 * Ours rather than OpenSSL's because OpenSSL 3.0 can squeeze an XOF only
 * once, and ML-KEM's SampleNTT must be able to keep squeezing (FIPS 203
 * Algorithm 7; the CCTV "unlucky sample" vector needs 576+ bytes), and
 * because ML-KEM spends most of its time here: batching four independent
 * SHAKE instances (FIPS 203 §4.1 XOF and PRF) in one 256-bit-vector
 * permutation is where most of its speed comes from.
 *
 * The permutation is unrolled over named lanes (two rounds per loop turn, so
 * the lanes swap between the a.. and e.. variables without copies). Nothing
 * here branches on or indexes by data, so secrets (ML-KEM's sigma, z, m)
 * may pass through.
 */
#include <assert.h>
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

/* Every lane as (two-digit name, index), for declaring, loading and storing
 * the 25 lane variables a00..a24 / e00..e24. Lane (x, y) is index x + 5y. */
/* clang-format off */
#define KECCAK_FOR_LANES(M)                                                                    \
    M(00, 0) M(01, 1) M(02, 2) M(03, 3) M(04, 4) M(05, 5) M(06, 6) M(07, 7) M(08, 8) M(09, 9) \
    M(10, 10) M(11, 11) M(12, 12) M(13, 13) M(14, 14) M(15, 15) M(16, 16) M(17, 17) M(18, 18)  \
    M(19, 19) M(20, 20) M(21, 21) M(22, 22) M(23, 23) M(24, 24)
/* clang-format on */

/*
 * One round (FIPS 202 §3.2: theta, rho, pi, chi, iota) from the lanes A.. to
 * the lanes E... ROL rotates a lane left by a constant. b0..b4 hold one
 * output row after rho and pi: output lane (X, Y) comes from input lane
 * (x, y) = ((3 (Y - 3X)) mod 5, X), rotated by rho's offset for (x, y)
 * (FIPS 202 Table 2), with theta's column parity d[x] folded in first.
 */
#define KECCAK_ROUND(ROL, A, E, rc)                                                                \
    do {                                                                                           \
        c0 = A##00 ^ A##05 ^ A##10 ^ A##15 ^ A##20;                                                \
        c1 = A##01 ^ A##06 ^ A##11 ^ A##16 ^ A##21;                                                \
        c2 = A##02 ^ A##07 ^ A##12 ^ A##17 ^ A##22;                                                \
        c3 = A##03 ^ A##08 ^ A##13 ^ A##18 ^ A##23;                                                \
        c4 = A##04 ^ A##09 ^ A##14 ^ A##19 ^ A##24;                                                \
        d0 = c4 ^ ROL(c1, 1);                                                                      \
        d1 = c0 ^ ROL(c2, 1);                                                                      \
        d2 = c1 ^ ROL(c3, 1);                                                                      \
        d3 = c2 ^ ROL(c4, 1);                                                                      \
        d4 = c3 ^ ROL(c0, 1);                                                                      \
        b0 = A##00 ^ d0;                                                                           \
        b1 = ROL(A##06 ^ d1, 44);                                                                  \
        b2 = ROL(A##12 ^ d2, 43);                                                                  \
        b3 = ROL(A##18 ^ d3, 21);                                                                  \
        b4 = ROL(A##24 ^ d4, 14);                                                                  \
        E##00 = b0 ^ (~b1 & b2) ^ (rc);                                                            \
        E##01 = b1 ^ (~b2 & b3);                                                                   \
        E##02 = b2 ^ (~b3 & b4);                                                                   \
        E##03 = b3 ^ (~b4 & b0);                                                                   \
        E##04 = b4 ^ (~b0 & b1);                                                                   \
        b0 = ROL(A##03 ^ d3, 28);                                                                  \
        b1 = ROL(A##09 ^ d4, 20);                                                                  \
        b2 = ROL(A##10 ^ d0, 3);                                                                   \
        b3 = ROL(A##16 ^ d1, 45);                                                                  \
        b4 = ROL(A##22 ^ d2, 61);                                                                  \
        E##05 = b0 ^ (~b1 & b2);                                                                   \
        E##06 = b1 ^ (~b2 & b3);                                                                   \
        E##07 = b2 ^ (~b3 & b4);                                                                   \
        E##08 = b3 ^ (~b4 & b0);                                                                   \
        E##09 = b4 ^ (~b0 & b1);                                                                   \
        b0 = ROL(A##01 ^ d1, 1);                                                                   \
        b1 = ROL(A##07 ^ d2, 6);                                                                   \
        b2 = ROL(A##13 ^ d3, 25);                                                                  \
        b3 = ROL(A##19 ^ d4, 8);                                                                   \
        b4 = ROL(A##20 ^ d0, 18);                                                                  \
        E##10 = b0 ^ (~b1 & b2);                                                                   \
        E##11 = b1 ^ (~b2 & b3);                                                                   \
        E##12 = b2 ^ (~b3 & b4);                                                                   \
        E##13 = b3 ^ (~b4 & b0);                                                                   \
        E##14 = b4 ^ (~b0 & b1);                                                                   \
        b0 = ROL(A##04 ^ d4, 27);                                                                  \
        b1 = ROL(A##05 ^ d0, 36);                                                                  \
        b2 = ROL(A##11 ^ d1, 10);                                                                  \
        b3 = ROL(A##17 ^ d2, 15);                                                                  \
        b4 = ROL(A##23 ^ d3, 56);                                                                  \
        E##15 = b0 ^ (~b1 & b2);                                                                   \
        E##16 = b1 ^ (~b2 & b3);                                                                   \
        E##17 = b2 ^ (~b3 & b4);                                                                   \
        E##18 = b3 ^ (~b4 & b0);                                                                   \
        E##19 = b4 ^ (~b0 & b1);                                                                   \
        b0 = ROL(A##02 ^ d2, 62);                                                                  \
        b1 = ROL(A##08 ^ d3, 55);                                                                  \
        b2 = ROL(A##14 ^ d4, 39);                                                                  \
        b3 = ROL(A##15 ^ d0, 41);                                                                  \
        b4 = ROL(A##21 ^ d1, 2);                                                                   \
        E##20 = b0 ^ (~b1 & b2);                                                                   \
        E##21 = b1 ^ (~b2 & b3);                                                                   \
        E##22 = b2 ^ (~b3 & b4);                                                                   \
        E##23 = b3 ^ (~b4 & b0);                                                                   \
        E##24 = b4 ^ (~b0 & b1);                                                                   \
    } while (0)

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

#define DECLARE_LANES(name, i) a##name, e##name,

/* FIPS 202 §3.3: Keccak-p[1600, 24]. */
void ek_keccak_f1600(uint64_t s[25])
{
    uint64_t KECCAK_FOR_LANES(DECLARE_LANES) b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3,
        d4;
#define LOAD_LANE(name, i) a##name = s[i];
    KECCAK_FOR_LANES(LOAD_LANE)
#undef LOAD_LANE
    for (int round = 0; round < 24; round += 2) {
        KECCAK_ROUND(ROL64, a, e, round_constants[round]);
        KECCAK_ROUND(ROL64, e, a, round_constants[round + 1]);
    }
#define STORE_LANE(name, i) s[i] = a##name;
    KECCAK_FOR_LANES(STORE_LANE)
#undef STORE_LANE
}

/* ---------------------------------------------------------------------------
 * The 4-way permutation. With GCC or Clang the four states are permuted
 * together in 256-bit vectors of four lanes (one per state): one instruction
 * stream, four results. Built twice from the same body: once for the
 * baseline target (the compiler splits the vectors into SSE2 halves on
 * x86-64) and, on x86-64, once for AVX2, chosen at run time from CPUID.
 * Other compilers get a plain loop over the scalar permutation.
 */
#if defined(__GNUC__) || defined(__clang__)
typedef uint64_t keccak_v4 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) void f1600_x4_body(ek_keccak_x4 *st)
{
    keccak_v4 KECCAK_FOR_LANES(DECLARE_LANES) b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2,
        d3, d4;
#define LOAD_LANE(name, i) memcpy(&a##name, &st->s[(size_t)4 * (i)], sizeof(keccak_v4));
    KECCAK_FOR_LANES(LOAD_LANE)
#undef LOAD_LANE
    for (int round = 0; round < 24; round += 2) {
        KECCAK_ROUND(ROL64, a, e, round_constants[round]);
        KECCAK_ROUND(ROL64, e, a, round_constants[round + 1]);
    }
#define STORE_LANE(name, i) memcpy(&st->s[(size_t)4 * (i)], &a##name, sizeof(keccak_v4));
    KECCAK_FOR_LANES(STORE_LANE)
#undef STORE_LANE
}

void ek_keccak_f1600_x4_baseline(ek_keccak_x4 *st)
{
    f1600_x4_body(st);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EK_KECCAK_X4_AVX2 1
__attribute__((target("avx2"))) static void f1600_x4_avx2(ek_keccak_x4 *st)
{
    f1600_x4_body(st);
}
#endif

#else /* no vector extensions */

void ek_keccak_f1600_x4_baseline(ek_keccak_x4 *st)
{
    uint64_t s[25];
    for (unsigned l = 0; l < 4; l++) {
        for (unsigned i = 0; i < 25; i++)
            s[i] = st->s[4 * i + l];
        ek_keccak_f1600(s);
        for (unsigned i = 0; i < 25; i++)
            st->s[4 * i + l] = s[i];
    }
    ek_wipe(s, sizeof(s));
}
#endif

void ek_keccak_f1600_x4(ek_keccak_x4 *st)
{
#ifdef EK_KECCAK_X4_AVX2
    /* A CPU feature, not data: the same path runs for every input. */
    if (__builtin_cpu_supports("avx2")) {
        f1600_x4_avx2(st);
        return;
    }
#endif
    ek_keccak_f1600_x4_baseline(st);
}

/* ---------------------------------------------------------------------------
 * Bytes in and out of lanes. Lanes are little-endian (FIPS 202 §B.1): byte
 * i of the state is byte i % 8 of lane i / 8, so on a little-endian machine
 * a lane is one plain 64-bit load or store.
 */
static inline uint64_t load64_le(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
#else
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
#endif
}

static inline void store64_le(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, sizeof(v));
#else
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* XOR n bytes of p into the state from byte offset pos on (pos + n <= 200). */
static void state_xor_bytes(uint64_t s[25], size_t pos, const uint8_t *p, size_t n)
{
    for (; n > 0 && pos % 8 != 0; pos++, p++, n--)
        s[pos / 8] ^= (uint64_t)*p << (8 * (pos % 8));
    for (; n >= 8; pos += 8, p += 8, n -= 8)
        s[pos / 8] ^= load64_le(p);
    for (; n > 0; pos++, p++, n--)
        s[pos / 8] ^= (uint64_t)*p << (8 * (pos % 8));
}

/* Copy n state bytes from byte offset pos on to out (pos + n <= 200). */
static void state_extract_bytes(const uint64_t s[25], size_t pos, uint8_t *out, size_t n)
{
    for (; n > 0 && pos % 8 != 0; pos++, out++, n--)
        *out = (uint8_t)(s[pos / 8] >> (8 * (pos % 8)));
    for (; n >= 8; pos += 8, out += 8, n -= 8)
        store64_le(out, s[pos / 8]);
    for (; n > 0; pos++, out++, n--)
        *out = (uint8_t)(s[pos / 8] >> (8 * (pos % 8)));
}

/* ---------------------------------------------------------------------------
 * The incremental sponge (FIPS 202 §4).
 */
static void keccak_init(ek_keccak *k, uint32_t rate, uint8_t dsep)
{
    memset(k, 0, sizeof(*k));
    k->rate = rate;
    k->dsep = dsep;
}

void ek_shake128_init(ek_keccak *k)
{
    keccak_init(k, EK_KECCAK_RATE_SHAKE128, EK_KECCAK_DSEP_SHAKE);
}

void ek_shake256_init(ek_keccak *k)
{
    keccak_init(k, EK_KECCAK_RATE_SHAKE256, EK_KECCAK_DSEP_SHAKE);
}

void ek_keccak_absorb(ek_keccak *k, const void *in, size_t len)
{
    const uint8_t *p = in;
    while (len > 0) {
        size_t n = k->rate - k->pos;
        if (n > len)
            n = len;
        state_xor_bytes(k->s, k->pos, p, n);
        k->pos += (uint32_t)n;
        p += n;
        len -= n;
        /* A full block is permuted at once; the padding then always lands
         * in a block that still has room (pos < rate). */
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
        k->s[k->pos / 8] ^= (uint64_t)k->dsep << (8 * (k->pos % 8));
        k->s[(k->rate - 1) / 8] ^= 0x80ULL << (8 * ((k->rate - 1) % 8));
        ek_keccak_f1600(k->s);
        k->pos = 0;
        k->squeezing = 1;
    }
    while (len > 0) {
        if (k->pos == k->rate) {
            ek_keccak_f1600(k->s);
            k->pos = 0;
        }
        size_t n = k->rate - k->pos;
        if (n > len)
            n = len;
        state_extract_bytes(k->s, k->pos, out, n);
        k->pos += (uint32_t)n;
        out += n;
        len -= n;
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
    sponge(out, EK_SHA3_256_LEN, EK_KECCAK_RATE_SHAKE256, EK_KECCAK_DSEP_SHA3, in, len);
}

void ek_sha3_512(uint8_t out[EK_SHA3_512_LEN], const void *in, size_t len)
{
    sponge(out, EK_SHA3_512_LEN, EK_KECCAK_RATE_SHA3_512, EK_KECCAK_DSEP_SHA3, in, len);
}

void ek_shake128(uint8_t *out, size_t out_len, const void *in, size_t len)
{
    sponge(out, out_len, EK_KECCAK_RATE_SHAKE128, EK_KECCAK_DSEP_SHAKE, in, len);
}

void ek_shake256(uint8_t *out, size_t out_len, const void *in, size_t len)
{
    sponge(out, out_len, EK_KECCAK_RATE_SHAKE256, EK_KECCAK_DSEP_SHAKE, in, len);
}

/* ---------------------------------------------------------------------------
 * The 4-way sponge: four one-shot absorbs, then whole-block squeezes.
 */
void ek_keccak_x4_absorb_once(ek_keccak_x4 *st, unsigned rate, uint8_t dsep,
                              const uint8_t *const in[4], const size_t len[4])
{
    memset(st, 0, sizeof(*st));
    size_t off = 0;
    for (size_t blocks = len[0] / rate; blocks > 0; blocks--) {
        for (unsigned l = 0; l < 4; l++)
            for (size_t i = 0; i < rate / 8; i++)
                st->s[4 * i + l] ^= load64_le(in[l] + off + 8 * i);
        ek_keccak_f1600_x4(st);
        off += rate;
    }
    /* The last, partial block of each lane with its padding (FIPS 202 §5.1). */
    uint8_t block[200];
    for (unsigned l = 0; l < 4; l++) {
        size_t tail = len[l] - off;
        assert(len[l] >= off && tail < rate); /* same block count in every lane */
        memset(block, 0, rate);
        memcpy(block, in[l] + off, tail);
        block[tail] ^= dsep;
        block[rate - 1] ^= 0x80;
        for (size_t i = 0; i < rate / 8; i++)
            st->s[4 * i + l] ^= load64_le(block + 8 * i);
    }
    ek_wipe(block, sizeof(block));
}

void ek_keccak_x4_squeezeblocks(ek_keccak_x4 *st, unsigned rate, uint8_t *const out[4],
                                size_t nblocks)
{
    for (size_t b = 0; b < nblocks; b++) {
        ek_keccak_f1600_x4(st);
        for (unsigned l = 0; l < 4; l++) {
            if (out[l] == NULL)
                continue;
            for (size_t i = 0; i < rate / 8; i++)
                store64_le(out[l] + b * rate + 8 * i, st->s[4 * i + l]);
        }
    }
}
