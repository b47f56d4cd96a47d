/*
 * test_keccak.c: our Keccak (lib/crypto/keccak.c), which ML-KEM is built on:
 * FIPS 202 known answers (the NIST example values for "", "abc" and 200
 * bytes of 0xa3) for SHA3-256, SHA3-512, SHAKE128 and SHAKE256, and a
 * differential test against OpenSSL's EVP SHA-3/SHAKE as an oracle: one-shot
 * and incremental absorb/squeeze with random split points, the 4-way
 * batched sponge, and both builds of the 4-way permutation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <enkrypt/ek_crypto.h>

#include "crypto/keccak.h"
#include "ek_test.h"

enum { ALG_SHA3_256, ALG_SHA3_512, ALG_SHAKE128, ALG_SHAKE256, ALG_COUNT };

static const char *const alg_names[ALG_COUNT] = {"SHA3-256", "SHA3-512", "SHAKE128", "SHAKE256"};
static const unsigned alg_rate[ALG_COUNT] = {136, 72, 168, 136};
static const uint8_t alg_dsep[ALG_COUNT] = {0x06, 0x06, 0x1f, 0x1f};

/* OpenSSL's answer for len input bytes and out_len output bytes. */
static void oracle(int alg, uint8_t *out, size_t out_len, const uint8_t *in, size_t len)
{
    const EVP_MD *md = alg == ALG_SHA3_256   ? EVP_sha3_256()
                       : alg == ALG_SHA3_512 ? EVP_sha3_512()
                       : alg == ALG_SHAKE128 ? EVP_shake128()
                                             : EVP_shake256();
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL || EVP_DigestInit_ex(c, md, NULL) != 1 || EVP_DigestUpdate(c, in, len) != 1) {
        fprintf(stderr, "OpenSSL failed\n");
        exit(2);
    }
    int ok = alg >= ALG_SHAKE128 ? EVP_DigestFinalXOF(c, out, out_len)
                                 : EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
    if (ok != 1) {
        fprintf(stderr, "OpenSSL failed\n");
        exit(2);
    }
}

/* Our one-shot functions. */
static void ours(int alg, uint8_t *out, size_t out_len, const uint8_t *in, size_t len)
{
    switch (alg) {
    case ALG_SHA3_256: ek_sha3_256(out, in, len); break;
    case ALG_SHA3_512: ek_sha3_512(out, in, len); break;
    case ALG_SHAKE128: ek_shake128(out, out_len, in, len); break;
    default: ek_shake256(out, out_len, in, len);
    }
}

static size_t out_len_of(int alg, size_t want)
{
    return alg == ALG_SHA3_256 ? 32 : alg == ALG_SHA3_512 ? 64 : want;
}

static void test_known_answers(void)
{
    static const struct {
        int alg;
        int msg; /* 0: "", 1: "abc", 2: 200 x 0xa3 */
        const char *hex;
    } kat[] = {
        {ALG_SHA3_256, 0, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"},
        {ALG_SHA3_256, 1, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"},
        {ALG_SHA3_256, 2, "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787"},
        {ALG_SHA3_512, 0,
         "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a615b2123af1f5f94c11e3e9402"
         "c3a"
         "c558f500199d95b6d3e301758586281dcd26"},
        {ALG_SHA3_512, 1,
         "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec5764"
         "7e3"
         "934057340b4cf408d5a56592f8274eec53f0"},
        {ALG_SHA3_512, 2,
         "e76dfad22084a8b1467fcf2ffa58361bec7628edf5f3fdc0e4805dc48caeeca81b7c13c30adf52a3659584739"
         "a2d"
         "f46be589c51ca1a4a8416df6545a1ce8ba00"},
        {ALG_SHAKE128, 0, "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26"},
        {ALG_SHAKE128, 1, "5881092dd818bf5cf8a3ddb793fbcba74097d5c526a6d35f97b83351940f2cc8"},
        {ALG_SHAKE128, 2, "131ab8d2b594946b9c81333f9bb6e0ce75c3b93104fa3469d3917457385da037"},
        {ALG_SHAKE256, 0,
         "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762fd75dc4ddd8c0f200cb05019d6"
         "7b5"
         "92f6fc821c49479ab48640292eacb3b7c4be"},
        {ALG_SHAKE256, 1,
         "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739d5a15bef186a5386c75744c05"
         "27e"
         "1faa9f8726e462a12a4feb06bd8801e751e4"},
        {ALG_SHAKE256, 2,
         "cd8a920ed141aa0407a22d59288652e9d9f1a7ee0c1e7c1ca699424da84a904d2d700caae7396ece966044405"
         "77d"
         "a4f3aa22aeb8857f961c4cd8e06f0ae6610b"},
    };
    uint8_t a3[200];
    memset(a3, 0xa3, sizeof(a3));
    const uint8_t *msgs[3] = {(const uint8_t *)"", (const uint8_t *)"abc", a3};
    const size_t lens[3] = {0, 3, sizeof(a3)};
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        size_t n;
        uint8_t *want = ek_test_unhex(kat[i].hex, &n);
        uint8_t got[64];
        ours(kat[i].alg, got, n, msgs[kat[i].msg], lens[kat[i].msg]);
        if (!ek_test_bytes_equal(got, want, n))
            ek_test_fail(__FILE__, __LINE__, "%s known answer %zu", alg_names[kat[i].alg], i);
        free(want);
    }
}

static uint32_t rand_u32(ek_rng_seeded *r)
{
    uint8_t b[4];
    if (ek_random(&r->rng, b, sizeof(b)) != EK_OK)
        abort();
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void start(ek_keccak *k, int alg)
{
    /* SHA-3 has no public incremental init: the sponge state is plain
     * data (ek_crypto.h), so set its rate and domain byte directly. */
    memset(k, 0, sizeof(*k));
    k->rate = alg_rate[alg];
    k->dsep = alg_dsep[alg];
}

enum { MAX_MSG = 1200, MAX_OUT = 1100 };

/* One-shot and incremental against OpenSSL, at lengths around every rate
 * boundary and at random lengths, with random absorb and squeeze splits. */
static void test_differential(ek_rng_seeded *r)
{
    static uint8_t msg[MAX_MSG], want[MAX_OUT], got[MAX_OUT];
    int cases = 0;
    for (int alg = 0; alg < ALG_COUNT; alg++) {
        for (int iter = 0; iter < 400; iter++) {
            size_t len;
            if (iter < 24) { /* boundaries: 0, rate - 1, rate, rate + 1, ... */
                size_t rate = alg_rate[alg];
                len = (size_t)(iter / 3) * rate + (size_t)(iter % 3) - 1;
                if (iter == 0)
                    len = 0;
            } else {
                len = rand_u32(r) % MAX_MSG;
            }
            if (len >= MAX_MSG)
                len = MAX_MSG - 1;
            size_t out_len = out_len_of(alg, 1 + rand_u32(r) % MAX_OUT);
            if (ek_random(&r->rng, msg, len) != EK_OK)
                abort();
            oracle(alg, want, out_len, msg, len);
            ours(alg, got, out_len, msg, len);
            if (!ek_test_bytes_equal(got, want, out_len))
                ek_test_fail(__FILE__, __LINE__, "%s one-shot, %zu bytes", alg_names[alg], len);
            /* Incremental: absorb in random pieces, squeeze in random
             * pieces (SHA-3 output comes from the same sponge). */
            ek_keccak k;
            start(&k, alg);
            for (size_t off = 0; off < len;) {
                size_t piece = rand_u32(r) % (len - off + 1);
                if (rand_u32(r) % 4 == 0)
                    piece = 0; /* empty absorbs are allowed too */
                ek_keccak_absorb(&k, msg + off, piece);
                off += piece;
            }
            memset(got, 0, sizeof(got));
            for (size_t off = 0; off < out_len;) {
                size_t piece = rand_u32(r) % (out_len - off + 1);
                ek_keccak_squeeze(&k, got + off, piece);
                off += piece;
            }
            if (!ek_test_bytes_equal(got, want, out_len))
                ek_test_fail(__FILE__, __LINE__, "%s incremental, %zu bytes", alg_names[alg], len);
            cases++;
        }
    }
    EK_CHECK(cases == 4 * 400);
}

/* The 4-way sponge, lane by lane against OpenSSL, for each rate and domain
 * byte and for lane lengths that differ but need the same number of blocks. */
static void test_batched(ek_rng_seeded *r)
{
    static uint8_t msg[4][MAX_MSG], out[4][4 * 168], want[4 * 168];
    for (int alg = 0; alg < ALG_COUNT; alg++) {
        unsigned rate = alg_rate[alg];
        for (int iter = 0; iter < 50; iter++) {
            size_t blocks = rand_u32(r) % 6, len[4];
            const uint8_t *in[4];
            uint8_t *outp[4];
            for (int l = 0; l < 4; l++) {
                len[l] = blocks * rate + rand_u32(r) % rate;
                if (ek_random(&r->rng, msg[l], len[l]) != EK_OK)
                    abort();
                in[l] = msg[l];
                outp[l] = out[l];
            }
            size_t nblocks = 1 + rand_u32(r) % 4;
            ek_keccak_x4 st;
            ek_keccak_x4_absorb_once(&st, rate, alg_dsep[alg], in, len);
            ek_keccak_x4_squeezeblocks(&st, rate, outp, nblocks);
            for (int l = 0; l < 4; l++) {
                size_t n = alg < ALG_SHAKE128 ? out_len_of(alg, 0) : nblocks * rate;
                oracle(alg, want, n, msg[l], len[l]);
                if (!ek_test_bytes_equal(out[l], want, n))
                    ek_test_fail(__FILE__, __LINE__, "%s x4 lane %d, %zu bytes", alg_names[alg], l,
                                 len[l]);
            }
        }
    }
    /* Both builds of the 4-way permutation against the scalar one. */
    for (int iter = 0; iter < 20; iter++) {
        ek_keccak_x4 a = {0}, b;
        uint64_t s[4][25];
        if (ek_random(&r->rng, (uint8_t *)a.s, sizeof(a.s)) != EK_OK)
            abort();
        b = a;
        for (int l = 0; l < 4; l++)
            for (int i = 0; i < 25; i++)
                s[l][i] = a.s[4 * i + l];
        ek_keccak_f1600_x4(&a);
        ek_keccak_f1600_x4_baseline(&b);
        int bad = 0;
        for (int l = 0; l < 4; l++) {
            ek_keccak_f1600(s[l]);
            for (int i = 0; i < 25; i++)
                bad |= (s[l][i] != a.s[4 * i + l]) | (s[l][i] != b.s[4 * i + l]);
        }
        EK_CHECK(bad == 0);
    }
}

int main(void)
{
    ek_rng_seeded r;
    ek_rng_seeded_init(&r, (const uint8_t *)"keccak", 6);
    test_known_answers();
    test_differential(&r);
    test_batched(&r);
    return ek_test_finish("unit.crypto.mlkem.keccak");
}
