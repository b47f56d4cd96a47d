/*
 * bench_hpke.c: HPKE (RFC 9180) in the "crypto" suite. One operation is a
 * single-shot base-mode seal of 1 KiB to a recipient plus the matching
 * single-shot open, with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
 * AES-128-GCM: what one sealed message costs both ends together (four
 * X25519 operations, the key schedule twice, one AEAD each way).
 */
#include <string.h>

#include <enkrypt/ek_hpke.h>

#include "bench.h"

enum { HPKE_MSG = 1024 };

struct hpke_ctx {
    ek_hpke_suite suite;
    uint8_t pk_r[EK_HPKE_PK_LEN], sk_r[EK_HPKE_SK_LEN], enc[EK_HPKE_ENC_LEN];
    uint8_t info[16], aad[16];
    uint8_t pt[HPKE_MSG], ct[HPKE_MSG + EK_HPKE_TAG_LEN], out[HPKE_MSG];
};

static void run_hpke_seal_open(void *p)
{
    struct hpke_ctx *c = p;
    /* The sender's ephemeral key comes from the system RNG, as in use. */
    ek_bench_check(ek_hpke_seal_once(c->enc, c->ct, c->suite, c->pk_r, c->info, sizeof(c->info),
                                     c->aad, sizeof(c->aad), c->pt, sizeof(c->pt), NULL, NULL),
                   "hpke seal");
    ek_bench_check(ek_hpke_open_once(c->out, c->suite, c->enc, c->sk_r, c->info, sizeof(c->info),
                                     c->aad, sizeof(c->aad), c->ct, sizeof(c->ct), NULL),
                   "hpke open");
}

void ek_bench_crypto_hpke(void)
{
    static struct hpke_ctx c;
    memset(&c, 0x5a, sizeof(c));
    c.suite.kem_id = EK_HPKE_KEM_X25519_SHA256;
    c.suite.kdf_id = EK_HPKE_KDF_HKDF_SHA256;
    c.suite.aead_id = EK_HPKE_AEAD_AES128GCM;
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"bench hpke", 10);
    ek_bench_check(ek_hpke_generate_keypair(c.pk_r, c.sk_r, c.suite, &rng.rng), "hpke keypair");
    run_hpke_seal_open(&c);
    if (memcmp(c.out, c.pt, sizeof(c.pt)) != 0)
        ek_bench_check(EK_ERR_AUTH, "hpke round trip");
    ek_bench_print("crypto", "hpke.base.seal_open", HPKE_MSG,
                   ek_bench_measure(run_hpke_seal_open, &c), HPKE_MSG);
}
