/*
 * sample.c: sampling for ML-KEM (FIPS 203 §4.2.2): SampleNTT (Algorithm 7)
 * for the matrix Â from the XOF (SHAKE128), and SamplePolyCBD_2
 * (Algorithm 8) over the PRF (SHAKE256, §4.1 equation 4.3).
 *
 * The XOF and PRF instances of one matrix or one noise vector are
 * independent, so they run four at a time in the batched Keccak
 * (crypto/keccak.h). SampleNTT keeps squeezing, one block at a time, until
 * 256 coefficients have been accepted (Algorithm 7 loops "while j < 256").
 * Rejection sampling branches on XOF output, which depends only on the
 * public rho; the noise sampling has no branch and no table.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "crypto/keccak.h"
#include "crypto/mlkem/mlkem_internal.h"

/* Three SHAKE128 blocks give 336 candidates, enough for 256 accepted
 * coefficients (acceptance 3329/4096) in all but about 1% of instances. */
#define XOF_BLOCKS 3
#define XOF_RATE   EK_KECCAK_RATE_SHAKE128

/*
 * Algorithm 7 lines 5-13 over buf: each 3 bytes give d1 and d2, kept when
 * below q. Writes at most len coefficients and returns how many. buflen is
 * a multiple of 3 (the SHAKE128 rate, 168, is).
 *
 * While two more coefficients fit, each candidate is stored and the count
 * moves past it only if it is accepted: no branch to mispredict on a
 * rejection (one in five candidates, at random). The data is public (it
 * comes from rho), so this is for speed, not for secrecy.
 */
static unsigned rej_uniform(int16_t *r, unsigned len, const uint8_t *buf, size_t buflen)
{
    unsigned ctr = 0;
    size_t pos = 0;
    for (; ctr + 2 <= len && pos + 3 <= buflen; pos += 3) {
        uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
        uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
        r[ctr] = (int16_t)d1;
        ctr += d1 < MLKEM_Q;
        r[ctr] = (int16_t)d2;
        ctr += d2 < MLKEM_Q;
    }
    for (; ctr < len && pos + 3 <= buflen; pos += 3) {
        uint16_t d1 = (uint16_t)(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
        uint16_t d2 = (uint16_t)((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
        if (d1 < MLKEM_Q)
            r[ctr++] = (int16_t)d1;
        if (d2 < MLKEM_Q && ctr < len)
            r[ctr++] = (int16_t)d2;
    }
    return ctr;
}

void ek_mlkem_sample_ntt(mlkem_poly *p, const uint8_t rho[MLKEM_SYMBYTES], uint8_t j, uint8_t i)
{
    uint8_t buf[XOF_BLOCKS * XOF_RATE];
    const uint8_t idx[2] = {j, i};
    ek_keccak xof;
    ek_shake128_init(&xof);
    ek_keccak_absorb(&xof, rho, MLKEM_SYMBYTES);
    ek_keccak_absorb(&xof, idx, sizeof(idx));
    ek_keccak_squeeze(&xof, buf, sizeof(buf));
    unsigned ctr = rej_uniform(p->c, MLKEM_N, buf, sizeof(buf));
    while (ctr < MLKEM_N) {
        ek_keccak_squeeze(&xof, buf, XOF_RATE);
        ctr += rej_uniform(p->c + ctr, MLKEM_N - ctr, buf, XOF_RATE);
    }
}

/*
 * Four entries of Â at once. Entry e (0..8) is row e / 3, column e % 3:
 * Â[i][j] = SampleNTT(rho || j || i) (FIPS 203 Algorithm 13 lines 3-7).
 */
static void gen_matrix_x4(mlkem_polyvec a[MLKEM_K], const uint8_t rho[MLKEM_SYMBYTES],
                          int transposed, unsigned first)
{
    uint8_t seeds[4][MLKEM_SYMBYTES + 2];
    uint8_t buf[4][XOF_BLOCKS * XOF_RATE];
    int16_t *coeffs[4];
    unsigned ctr[4];
    for (unsigned l = 0; l < 4; l++) {
        unsigned i = (first + l) / MLKEM_K, j = (first + l) % MLKEM_K;
        memcpy(seeds[l], rho, MLKEM_SYMBYTES);
        /* Âᵀ[i][j] = Â[j][i] = SampleNTT(rho || i || j). */
        seeds[l][MLKEM_SYMBYTES] = (uint8_t)(transposed ? i : j);
        seeds[l][MLKEM_SYMBYTES + 1] = (uint8_t)(transposed ? j : i);
        coeffs[l] = a[i].p[j].c;
    }
    const uint8_t *in[4] = {seeds[0], seeds[1], seeds[2], seeds[3]};
    const size_t len[4] = {sizeof(seeds[0]), sizeof(seeds[0]), sizeof(seeds[0]), sizeof(seeds[0])};
    uint8_t *out[4] = {buf[0], buf[1], buf[2], buf[3]};
    ek_keccak_x4 st;
    ek_keccak_x4_absorb_once(&st, XOF_RATE, EK_KECCAK_DSEP_SHAKE, in, len);
    ek_keccak_x4_squeezeblocks(&st, XOF_RATE, out, XOF_BLOCKS);
    unsigned done = 1;
    for (unsigned l = 0; l < 4; l++) {
        ctr[l] = rej_uniform(coeffs[l], MLKEM_N, buf[l], sizeof(buf[l]));
        done &= ctr[l] == MLKEM_N;
    }
    /* Rare: some lane needs more XOF output. All four sponges move on one
     * block together; lanes already complete ignore theirs. */
    while (!done) {
        ek_keccak_x4_squeezeblocks(&st, XOF_RATE, out, 1);
        done = 1;
        for (unsigned l = 0; l < 4; l++) {
            ctr[l] += rej_uniform(coeffs[l] + ctr[l], MLKEM_N - ctr[l], buf[l], XOF_RATE);
            done &= ctr[l] == MLKEM_N;
        }
    }
}

void ek_mlkem_gen_matrix(mlkem_polyvec a[MLKEM_K], const uint8_t rho[MLKEM_SYMBYTES],
                         int transposed)
{
    /* 9 entries: two batches of four and the last one alone, where the
     * scalar permutation is cheaper than a batch with three idle lanes. */
    gen_matrix_x4(a, rho, transposed, 0);
    gen_matrix_x4(a, rho, transposed, 4);
    ek_mlkem_sample_ntt(&a[2].p[2], rho, 2, 2);
}

/*
 * FIPS 203 Algorithm 8 for eta = 2: coefficient i is
 * (b[4i] + b[4i+1]) - (b[4i+2] + b[4i+3]) over the bits b of buf. The bit
 * pairs of a 32-bit word are summed in parallel, then each nibble holds one
 * coefficient's two sums; no branch, no table.
 */
void ek_mlkem_sample_cbd2(mlkem_poly *p, const uint8_t buf[MLKEM_PRF_BYTES])
{
    for (size_t i = 0; i < MLKEM_N / 8; i++) {
        const uint8_t *b = buf + 4 * i;
        uint32_t t =
            (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        uint32_t d = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
        for (unsigned k = 0; k < 8; k++) {
            int16_t x = (int16_t)((d >> (4 * k)) & 3);
            int16_t y = (int16_t)((d >> (4 * k + 2)) & 3);
            p->c[8 * i + k] = (int16_t)(x - y);
        }
    }
}

/* PRF_2(seed, N) = SHAKE256(seed || N, 128 bytes) (FIPS 203 (4.3)), four
 * nonces in one batch: 33 input bytes and 128 output bytes both fit one
 * SHAKE256 block, so each batch is a single 4-way permutation. */
void ek_mlkem_sample_noise_x4(mlkem_poly *const p[4], const uint8_t seed[MLKEM_SYMBYTES],
                              const uint8_t nonce[4])
{
    uint8_t in_buf[4][MLKEM_SYMBYTES + 1];
    uint8_t buf[4][EK_KECCAK_RATE_SHAKE256];
    for (unsigned l = 0; l < 4; l++) {
        memcpy(in_buf[l], seed, MLKEM_SYMBYTES);
        in_buf[l][MLKEM_SYMBYTES] = nonce[l];
    }
    const uint8_t *in[4] = {in_buf[0], in_buf[1], in_buf[2], in_buf[3]};
    const size_t len[4] = {sizeof(in_buf[0]), sizeof(in_buf[0]), sizeof(in_buf[0]),
                           sizeof(in_buf[0])};
    uint8_t *out[4];
    for (unsigned l = 0; l < 4; l++)
        out[l] = p[l] != NULL ? &buf[l][0] : NULL; /* where lane l goes; NULL: dropped */
    ek_keccak_x4 st;
    ek_keccak_x4_absorb_once(&st, EK_KECCAK_RATE_SHAKE256, EK_KECCAK_DSEP_SHAKE, in, len);
    ek_keccak_x4_squeezeblocks(&st, EK_KECCAK_RATE_SHAKE256, out, 1);
    for (unsigned l = 0; l < 4; l++)
        if (p[l] != NULL) /* which lanes are used is fixed by the caller, not data */
            ek_mlkem_sample_cbd2(p[l], buf[l]);
    ek_wipe(in_buf, sizeof(in_buf));
    ek_wipe(buf, sizeof(buf));
    ek_wipe(&st, sizeof(st));
}
