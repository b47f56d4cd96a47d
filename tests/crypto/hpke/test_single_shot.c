/*
 * test_single_shot.c: unit and property tests of the single-shot APIs
 * (RFC 9180 §6.1): a round trip in every mode with every AEAD; then
 * random round trips driven by ek_rng_seeded (random mode, AEAD, keys,
 * psk, info, aad and message lengths), each followed by corruptions of
 * enc and ct, the wrong recipient key and the wrong psk, which must all
 * fail without leaving plaintext behind.
 */
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_hpke.h>

#include "ek_test.h"

static const uint16_t aeads[] = {EK_HPKE_AEAD_AES128GCM, EK_HPKE_AEAD_AES256GCM,
                                 EK_HPKE_AEAD_CHACHA20POLY1305};

enum { RANDOM_ROUNDS = 300, MAX_PT = 700 };

static ek_hpke_suite suite_with(uint16_t aead_id)
{
    ek_hpke_suite s = {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256, aead_id};
    return s;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static uint32_t rand_u32(ek_rng_seeded *rng)
{
    uint8_t b[4];
    if (ek_random(&rng->rng, b, sizeof(b)) != EK_OK)
        abort();
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void rand_bytes(ek_rng_seeded *rng, uint8_t *p, size_t n)
{
    if (ek_random(&rng->rng, p, n) != EK_OK)
        abort();
}

/* The sender's and the recipient's opts for mode. */
static void mode_opts(ek_hpke_opts *so, ek_hpke_opts *ro, ek_hpke_mode mode, const uint8_t *psk,
                      size_t psk_len, const uint8_t *psk_id, size_t psk_id_len, const uint8_t *sk_s,
                      const uint8_t *pk_s)
{
    int with_psk = mode == EK_HPKE_MODE_PSK || mode == EK_HPKE_MODE_AUTH_PSK;
    int auth = mode == EK_HPKE_MODE_AUTH || mode == EK_HPKE_MODE_AUTH_PSK;
    memset(so, 0, sizeof(*so));
    so->mode = mode;
    if (with_psk) {
        so->psk = psk;
        so->psk_len = psk_len;
        so->psk_id = psk_id;
        so->psk_id_len = psk_id_len;
    }
    *ro = *so;
    if (auth) {
        so->sk_s = sk_s;
        ro->pk_s = pk_s;
    }
}

static void test_every_mode_and_aead(void)
{
    uint8_t pk_r[32], sk_r[32], pk_s[32], sk_s[32], psk[32], enc[32];
    uint8_t msg[33], ct[sizeof(msg) + 16], pt[sizeof(msg)];
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"every", 5);
    memset(psk, 0x50, sizeof(psk));
    memset(msg, 0x4d, sizeof(msg));
    for (int m = 0; m < 4; m++) {
        for (size_t a = 0; a < sizeof(aeads) / sizeof(aeads[0]); a++) {
            ek_hpke_suite suite = suite_with(aeads[a]);
            ek_hpke_opts so, ro;
            EK_CHECK_OK(ek_hpke_generate_keypair(pk_r, sk_r, suite, &rng.rng));
            EK_CHECK_OK(ek_hpke_generate_keypair(pk_s, sk_s, suite, &rng.rng));
            mode_opts(&so, &ro, (ek_hpke_mode)m, psk, sizeof(psk), (const uint8_t *)"id", 2, sk_s,
                      pk_s);
            EK_CHECK_OK(ek_hpke_seal_once(enc, ct, suite, pk_r, "info", 4, "aad", 3, msg,
                                          sizeof(msg), &so, &rng.rng));
            memset(pt, 0, sizeof(pt));
            EK_CHECK_OK(
                ek_hpke_open_once(pt, suite, enc, sk_r, "info", 4, "aad", 3, ct, sizeof(ct), &ro));
            EK_CHECK_BYTES(pt, msg, sizeof(msg));
            /* The recipient's single shot refuses a sender-side opts in
             * auth modes (no pk_s). */
            if (m >= EK_HPKE_MODE_AUTH)
                EK_CHECK_RC(ek_hpke_open_once(pt, suite, enc, sk_r, "info", 4, "aad", 3, ct,
                                              sizeof(ct), &so),
                            EK_ERR_INVALID_ARG);
        }
        /* Export-only cannot seal or open, in any mode. */
        ek_hpke_opts so, ro;
        mode_opts(&so, &ro, (ek_hpke_mode)m, psk, sizeof(psk), (const uint8_t *)"id", 2, sk_s,
                  pk_s);
        ek_hpke_suite eo = suite_with(EK_HPKE_AEAD_EXPORT_ONLY);
        memset(enc, 0xaa, sizeof(enc));
        EK_CHECK_RC(
            ek_hpke_seal_once(enc, ct, eo, pk_r, NULL, 0, NULL, 0, msg, sizeof(msg), &so, &rng.rng),
            EK_ERR_STATE);
        EK_CHECK(all_zero(enc, sizeof(enc)));
        EK_CHECK_OK(ek_hpke_seal_once(enc, ct, suite_with(EK_HPKE_AEAD_AES128GCM), pk_r, NULL, 0,
                                      NULL, 0, msg, sizeof(msg), &so, &rng.rng));
        memset(pt, 0x5a, sizeof(pt));
        EK_CHECK_RC(ek_hpke_open_once(pt, eo, enc, sk_r, NULL, 0, NULL, 0, ct, sizeof(ct), &ro),
                    EK_ERR_STATE);
        EK_CHECK(all_zero(pt, sizeof(pt)));
    }
}

/* Two seals of the same message under the system RNG differ. */
static void test_fresh_encapsulation(void)
{
    uint8_t pk_r[32], sk_r[32], enc1[32], enc2[32], ct1[16 + 5], ct2[16 + 5], pt[5];
    ek_hpke_suite suite = suite_with(EK_HPKE_AEAD_AES128GCM);
    EK_CHECK_OK(ek_hpke_generate_keypair(pk_r, sk_r, suite, NULL));
    EK_CHECK_OK(
        ek_hpke_seal_once(enc1, ct1, suite, pk_r, NULL, 0, NULL, 0, "hello", 5, NULL, NULL));
    EK_CHECK_OK(
        ek_hpke_seal_once(enc2, ct2, suite, pk_r, NULL, 0, NULL, 0, "hello", 5, NULL, NULL));
    EK_CHECK(memcmp(enc1, enc2, 32) != 0 && memcmp(ct1, ct2, sizeof(ct1)) != 0);
    EK_CHECK_OK(ek_hpke_open_once(pt, suite, enc1, sk_r, NULL, 0, NULL, 0, ct1, sizeof(ct1), NULL));
    EK_CHECK_OK(ek_hpke_open_once(pt, suite, enc2, sk_r, NULL, 0, NULL, 0, ct2, sizeof(ct2), NULL));
    EK_CHECK_BYTES(pt, "hello", 5);
    /* enc and ct of different messages do not mix. */
    EK_CHECK_RC(ek_hpke_open_once(pt, suite, enc1, sk_r, NULL, 0, NULL, 0, ct2, sizeof(ct2), NULL),
                EK_ERR_AUTH);
}

static void random_round(ek_rng_seeded *rng, uint8_t *msg, uint8_t *ct, uint8_t *pt, uint8_t *info,
                         uint8_t *aad)
{
    uint8_t pk_r[32], sk_r[32], pk_s[32], sk_s[32], psk[64], psk_id[40], enc[32];
    ek_hpke_mode mode = (ek_hpke_mode)(rand_u32(rng) % 4);
    ek_hpke_suite suite = suite_with(aeads[rand_u32(rng) % 3]);
    size_t msg_len = rand_u32(rng) % (MAX_PT + 1), info_len = rand_u32(rng) % 300;
    size_t aad_len = rand_u32(rng) % 65, psk_len = 32 + rand_u32(rng) % 33;
    size_t psk_id_len = 1 + rand_u32(rng) % 40, ct_len = msg_len + EK_HPKE_TAG_LEN;
    rand_bytes(rng, msg, msg_len);
    rand_bytes(rng, info, info_len);
    rand_bytes(rng, aad, aad_len);
    rand_bytes(rng, psk, psk_len);
    rand_bytes(rng, psk_id, psk_id_len);
    EK_CHECK_OK(ek_hpke_generate_keypair(pk_r, sk_r, suite, &rng->rng));
    EK_CHECK_OK(ek_hpke_generate_keypair(pk_s, sk_s, suite, &rng->rng));
    ek_hpke_opts so, ro;
    mode_opts(&so, &ro, mode, psk, psk_len, psk_id, psk_id_len, sk_s, pk_s);

    EK_CHECK_OK(ek_hpke_seal_once(enc, ct, suite, pk_r, info, info_len, aad, aad_len, msg, msg_len,
                                  &so, &rng->rng));
    memset(pt, 0, MAX_PT);
    EK_CHECK_OK(
        ek_hpke_open_once(pt, suite, enc, sk_r, info, info_len, aad, aad_len, ct, ct_len, &ro));
    EK_CHECK_BYTES(pt, msg, msg_len);

    /* A flipped bit anywhere in ct. */
    size_t at = rand_u32(rng) % ct_len;
    ct[at] ^= (uint8_t)(1u << (rand_u32(rng) % 8));
    memset(pt, 0x5a, MAX_PT);
    EK_CHECK_RC(
        ek_hpke_open_once(pt, suite, enc, sk_r, info, info_len, aad, aad_len, ct, ct_len, &ro),
        EK_ERR_AUTH);
    EK_CHECK(all_zero(pt, msg_len));

    /* A flipped bit in enc: another point (or one of small order); even
     * bit 255, which X25519 ignores, changes kem_context. */
    EK_CHECK_OK(ek_hpke_seal_once(enc, ct, suite, pk_r, info, info_len, aad, aad_len, msg, msg_len,
                                  &so, &rng->rng));
    uint8_t bad_enc[32];
    memcpy(bad_enc, enc, 32);
    bad_enc[rand_u32(rng) % 32] ^= (uint8_t)(1u << (rand_u32(rng) % 8));
    memset(pt, 0x5a, MAX_PT);
    int rc =
        ek_hpke_open_once(pt, suite, bad_enc, sk_r, info, info_len, aad, aad_len, ct, ct_len, &ro);
    EK_CHECK(rc == EK_ERR_AUTH || rc == EK_ERR_WEAK_KEY);
    EK_CHECK(all_zero(pt, msg_len));

    /* The wrong recipient. */
    uint8_t pk_x[32], sk_x[32];
    EK_CHECK_OK(ek_hpke_generate_keypair(pk_x, sk_x, suite, &rng->rng));
    EK_CHECK_RC(
        ek_hpke_open_once(pt, suite, enc, sk_x, info, info_len, aad, aad_len, ct, ct_len, &ro),
        EK_ERR_AUTH);
    EK_CHECK(all_zero(pt, msg_len));

    /* The wrong psk (psk modes) or the wrong sender (auth modes). */
    if (mode != EK_HPKE_MODE_BASE) {
        ek_hpke_opts wrong = ro;
        if (mode == EK_HPKE_MODE_AUTH)
            wrong.pk_s = pk_x;
        else
            psk[rand_u32(rng) % psk_len] ^= 1;
        EK_CHECK_RC(ek_hpke_open_once(pt, suite, enc, sk_r, info, info_len, aad, aad_len, ct,
                                      ct_len, &wrong),
                    EK_ERR_AUTH);
        EK_CHECK(all_zero(pt, msg_len));
    }

    /* The genuine message still opens. */
    if (mode == EK_HPKE_MODE_BASE || mode == EK_HPKE_MODE_AUTH) {
        EK_CHECK_OK(
            ek_hpke_open_once(pt, suite, enc, sk_r, info, info_len, aad, aad_len, ct, ct_len, &ro));
        EK_CHECK_BYTES(pt, msg, msg_len);
    }
}

static void test_random_round_trips(void)
{
    uint8_t *msg = malloc(MAX_PT), *ct = malloc(MAX_PT + EK_HPKE_TAG_LEN), *pt = malloc(MAX_PT);
    uint8_t *info = malloc(300), *aad = malloc(64);
    if (msg == NULL || ct == NULL || pt == NULL || info == NULL || aad == NULL)
        abort();
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"hpke random round trips", 23);
    for (int i = 0; i < RANDOM_ROUNDS; i++)
        random_round(&rng, msg, ct, pt, info, aad);
    free(msg);
    free(ct);
    free(pt);
    free(info);
    free(aad);
}

int main(void)
{
    test_every_mode_and_aead();
    test_fresh_encapsulation();
    test_random_round_trips();
    return ek_test_finish("unit.hpke.single_shot");
}
