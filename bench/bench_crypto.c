/*
 * bench_crypto.c: the "crypto" suite: primitives, ML-KEM-768 and HPKE.
 * Sizes follow issue 2: AEAD throughput on 16 KiB buffers, HPKE on 1 KiB.
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "bench.h"

enum { AEAD_BUF = 16384 };

struct aead_ctx {
    ek_aead_alg alg;
    uint8_t key[32];
    uint8_t nonce[EK_AEAD_NONCE_LEN];
    uint8_t pt[AEAD_BUF];
    uint8_t ct[AEAD_BUF + EK_AEAD_TAG_LEN];
};

static void run_aead_seal(void *p)
{
    struct aead_ctx *c = p;
    ek_bench_check(ek_aead_seal(c->ct, c->alg, c->key, ek_aead_key_len(c->alg), c->nonce,
                                sizeof(c->nonce), NULL, 0, c->pt, sizeof(c->pt)),
                   "aead seal");
}

static void run_aead_open(void *p)
{
    struct aead_ctx *c = p;
    ek_bench_check(ek_aead_open(c->pt, c->alg, c->key, ek_aead_key_len(c->alg), c->nonce,
                                sizeof(c->nonce), NULL, 0, c->ct, sizeof(c->ct)),
                   "aead open");
}

static void bench_aead(const char *name, ek_aead_alg alg)
{
    static struct aead_ctx c;
    memset(&c, 0x5a, sizeof(c));
    c.alg = alg;
    char op[64];
    run_aead_seal(&c);
    snprintf(op, sizeof(op), "%s.seal", name);
    ek_bench_print("crypto", op, AEAD_BUF, ek_bench_measure(run_aead_seal, &c), AEAD_BUF);
    snprintf(op, sizeof(op), "%s.open", name);
    ek_bench_print("crypto", op, AEAD_BUF, ek_bench_measure(run_aead_open, &c), AEAD_BUF);
}

struct dh_ctx {
    uint8_t sk[32], pk[32], peer[32], shared[32], seed[32], sig[64], msg[64];
};

static void run_x25519(void *p)
{
    struct dh_ctx *c = p;
    ek_bench_check(ek_x25519(c->shared, c->sk, c->peer), "x25519");
}

static void run_ed25519_sign(void *p)
{
    struct dh_ctx *c = p;
    ek_bench_check(ek_ed25519_sign(c->sig, c->seed, c->msg, sizeof(c->msg)), "ed25519 sign");
}

static void run_ed25519_verify(void *p)
{
    struct dh_ctx *c = p;
    ek_bench_check(ek_ed25519_verify(c->sig, sizeof(c->sig), c->pk, c->msg, sizeof(c->msg)),
                   "ed25519 verify");
}

struct hash_ctx {
    uint8_t buf[1024];
    uint8_t out[64];
};

static void run_sha256(void *p)
{
    struct hash_ctx *c = p;
    ek_sha256(c->out, c->buf, sizeof(c->buf));
}

static void run_hmac(void *p)
{
    struct hash_ctx *c = p;
    ek_hmac_sha256(c->out, c->out, 32, c->buf, 64);
}

static void run_shake128(void *p)
{
    struct hash_ctx *c = p;
    ek_shake128(c->buf, 840, c->out, 34); /* ML-KEM SampleNTT-sized squeeze */
}

void ek_bench_suite_crypto(void)
{
    bench_aead("aes256gcm", EK_AEAD_AES256GCM);
    bench_aead("aes128gcm", EK_AEAD_AES128GCM);
    bench_aead("chacha20poly1305", EK_AEAD_CHACHA20POLY1305);

    static struct dh_ctx d;
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"bench", 5);
    uint8_t peer_sk[32];
    ek_bench_check(ek_x25519_keypair(d.pk, d.sk, &rng.rng), "x25519 keypair");
    ek_bench_check(ek_x25519_keypair(d.peer, peer_sk, &rng.rng), "x25519 keypair");
    ek_bench_print("crypto", "x25519", -1, ek_bench_measure(run_x25519, &d), 0);
    ek_bench_check(ek_ed25519_keypair(d.pk, d.seed, &rng.rng), "ed25519 keypair");
    run_ed25519_sign(&d);
    ek_bench_print("crypto", "ed25519.sign", sizeof(d.msg), ek_bench_measure(run_ed25519_sign, &d),
                   0);
    ek_bench_print("crypto", "ed25519.verify", sizeof(d.msg),
                   ek_bench_measure(run_ed25519_verify, &d), 0);

    static struct hash_ctx h;
    ek_bench_print("crypto", "sha256", sizeof(h.buf), ek_bench_measure(run_sha256, &h),
                   sizeof(h.buf));
    ek_bench_print("crypto", "hmac_sha256", 64, ek_bench_measure(run_hmac, &h), 0);
    ek_bench_print("crypto", "shake128", 840, ek_bench_measure(run_shake128, &h), 840);

    ek_bench_crypto_mlkem();
    ek_bench_crypto_hpke();
}
