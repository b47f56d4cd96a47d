/*
 * keccak.h: internal: the Keccak-f[1600] permutation (FIPS 202 §3) and a
 * 4-way batched sponge for callers that run independent SHAKE/SHA-3
 * instances side by side (ML-KEM's SampleNTT and PRF calls, FIPS 203 §4.1).
 *
 * The batched state holds four independent Keccak states; lane i of state l
 * is s[4 * i + l]. One call of ek_keccak_f1600_x4 permutes all four, which
 * costs little more than one scalar permutation when the compiler gives us
 * 256-bit vectors (GCC/Clang vector extensions; AVX2 chosen at run time).
 */
#ifndef EK_CRYPTO_KECCAK_H
#define EK_CRYPTO_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define EK_KECCAK_RATE_SHAKE128 168
#define EK_KECCAK_RATE_SHAKE256 136 /* also SHA3-256 */
#define EK_KECCAK_RATE_SHA3_512 72
#define EK_KECCAK_DSEP_SHA3     0x06
#define EK_KECCAK_DSEP_SHAKE    0x1f

typedef struct ek_keccak_x4 {
    _Alignas(32) uint64_t s[25 * 4];
} ek_keccak_x4;

void ek_keccak_f1600(uint64_t s[25]);
void ek_keccak_f1600_x4(ek_keccak_x4 *st);
/* The baseline-target build of the same 4-way permutation, which
 * ek_keccak_f1600_x4 uses when the CPU lacks AVX2; exposed so that tests
 * check both builds on any machine. */
void ek_keccak_f1600_x4_baseline(ek_keccak_x4 *st);

/*
 * Start four sponges of the same rate and domain byte and absorb one whole
 * message into each, padding included (no permutation yet: the squeeze does
 * it). in[l] is len[l] bytes; every len[l] / rate must be equal, so the four
 * lanes need the same number of permutations.
 */
void ek_keccak_x4_absorb_once(ek_keccak_x4 *st, unsigned rate, uint8_t dsep,
                              const uint8_t *const in[4], const size_t len[4]);

/* Permute and copy out nblocks whole rate-sized blocks per lane; out[l] gets
 * nblocks * rate bytes, or nothing when out[l] is NULL (an unused lane). */
void ek_keccak_x4_squeezeblocks(ek_keccak_x4 *st, unsigned rate, uint8_t *const out[4],
                                size_t nblocks);

#endif
