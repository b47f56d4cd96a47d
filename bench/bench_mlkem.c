/*
 * bench_mlkem.c: ML-KEM-768 key generation, encapsulation and
 * decapsulation (derandomized entry points, so the RNG is not measured).
 */
#include <string.h>

#include <enkrypt/ek_mlkem.h>

#include "bench.h"

struct mlkem_ctx {
    uint8_t d[EK_MLKEM_SEED_LEN], z[EK_MLKEM_SEED_LEN], m[EK_MLKEM_SEED_LEN];
    uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN], ct[EK_MLKEM768_CT_LEN];
    uint8_t ss[EK_MLKEM768_SS_LEN];
};

static void run_keygen(void *p)
{
    struct mlkem_ctx *c = p;
    ek_bench_check(ek_mlkem768_keypair_derand(c->ek, c->dk, c->d, c->z), "mlkem768 keygen");
    c->d[0]++; /* a fresh key each time */
}

static void run_encaps(void *p)
{
    struct mlkem_ctx *c = p;
    ek_bench_check(ek_mlkem768_encaps_derand(c->ct, c->ss, c->ek, c->m), "mlkem768 encaps");
    c->m[0]++;
}

static void run_decaps(void *p)
{
    struct mlkem_ctx *c = p;
    ek_bench_check(ek_mlkem768_decaps(c->ss, c->ct, c->dk), "mlkem768 decaps");
}

void ek_bench_crypto_mlkem(void)
{
    static struct mlkem_ctx c;
    memset(&c, 0x42, sizeof(c));
    ek_bench_print("crypto", "mlkem768.keygen", -1, ek_bench_measure(run_keygen, &c), 0);
    ek_bench_check(ek_mlkem768_keypair_derand(c.ek, c.dk, c.d, c.z), "mlkem768 keygen");
    ek_bench_print("crypto", "mlkem768.encaps", -1, ek_bench_measure(run_encaps, &c), 0);
    ek_bench_check(ek_mlkem768_encaps_derand(c.ct, c.ss, c.ek, c.m), "mlkem768 encaps");
    ek_bench_print("crypto", "mlkem768.decaps", -1, ek_bench_measure(run_decaps, &c), 0);
}
