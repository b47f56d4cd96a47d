/*
 * test_key_schedule.c: unit tests of the HPKE key schedule and setups
 * (RFC 9180 §5.1): VerifyPSKInputs and the mode/psk/sender-key
 * combinations each setup accepts or refuses (the refused ones leave ctx
 * and enc wiped), the §9.5 psk length rule, unsupported suite ids on
 * every entry point, and that every input of the key schedule (mode, psk,
 * psk_id, info, the sender's key) is bound: a mismatch fails to open.
 */
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_hpke.h>

#include "crypto/hpke/hpke_internal.h"
#include "ek_test.h"

static const ek_hpke_suite suite = {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256,
                                    EK_HPKE_AEAD_CHACHA20POLY1305};

static uint8_t pk_r[32], sk_r[32], pk_s[32], sk_s[32];
static uint8_t psk[64];
static uint8_t psk_id[8] = {'p', 's', 'k', '-', 'i', 'd', '-', '1'};
static const uint8_t ikm_e[32] = {7, 7, 7};

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static void keypair(uint8_t pk[32], uint8_t sk[32], uint8_t seed)
{
    uint8_t ikm[32];
    memset(ikm, seed, sizeof(ikm));
    EK_CHECK_OK(ek_hpke_derive_keypair(pk, sk, suite, ikm, sizeof(ikm)));
}

/* Both setups with the given opts on both sides; each must give want, and
 * on failure leave its outputs wiped. */
static void expect_setups(const ek_hpke_opts *so, const ek_hpke_opts *ro, int want, int line)
{
    ek_hpke_ctx ctx;
    uint8_t enc[32];
    memset(&ctx, 0xaa, sizeof(ctx));
    memset(enc, 0xaa, sizeof(enc));
    int rc =
        ek_hpke_setup_sender_derand(&ctx, enc, suite, pk_r, "info", 4, so, ikm_e, sizeof(ikm_e));
    if (rc != want)
        ek_test_fail(__FILE__, line, "setup_sender: %d, wanted %d", rc, want);
    if (want != EK_OK && !(all_zero(&ctx, sizeof(ctx)) && all_zero(enc, sizeof(enc))))
        ek_test_fail(__FILE__, line, "setup_sender left output behind");
    /* A well-formed enc for the recipient side. */
    EK_CHECK_OK(ek_hpke_setup_sender_derand(&ctx, enc, suite, pk_r, NULL, 0, NULL, ikm_e, 32));
    memset(&ctx, 0xaa, sizeof(ctx));
    rc = ek_hpke_setup_receiver(&ctx, suite, enc, sk_r, "info", 4, ro);
    if (rc != want)
        ek_test_fail(__FILE__, line, "setup_receiver: %d, wanted %d", rc, want);
    if (want != EK_OK && !all_zero(&ctx, sizeof(ctx)))
        ek_test_fail(__FILE__, line, "setup_receiver left output behind");
    ek_hpke_ctx_wipe(&ctx);
}

#define EXPECT_SETUPS(so, ro, want) expect_setups((so), (ro), (want), __LINE__)

static ek_hpke_opts opts(ek_hpke_mode mode, size_t psk_len, size_t psk_id_len, int sender_key,
                         int recipient_key)
{
    ek_hpke_opts o = {mode,
                      psk_len > 0 ? psk : NULL,
                      psk_len,
                      psk_id_len > 0 ? psk_id : NULL,
                      psk_id_len,
                      sender_key ? sk_s : NULL,
                      recipient_key ? pk_s : NULL};
    return o;
}

static void test_verify_psk_inputs(void)
{
    const ek_hpke_mode base = EK_HPKE_MODE_BASE, pskm = EK_HPKE_MODE_PSK;
    const ek_hpke_mode auth = EK_HPKE_MODE_AUTH, apsk = EK_HPKE_MODE_AUTH_PSK;
    EK_CHECK_OK(ek_hpke_verify_psk_inputs(base, NULL, 0, NULL, 0));
    EK_CHECK_OK(ek_hpke_verify_psk_inputs(auth, NULL, 0, NULL, 0));
    EK_CHECK_OK(ek_hpke_verify_psk_inputs(pskm, psk, 32, psk_id, 1));
    EK_CHECK_OK(ek_hpke_verify_psk_inputs(apsk, psk, 64, psk_id, 8));
    /* An empty, non-NULL string is the default "" (absent). */
    EK_CHECK_OK(ek_hpke_verify_psk_inputs(base, psk, 0, psk_id, 0));
    /* "Inconsistent PSK inputs" */
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(pskm, psk, 32, NULL, 0), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(pskm, NULL, 0, psk_id, 8), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(base, NULL, 0, psk_id, 8), EK_ERR_INVALID_ARG);
    /* "PSK input provided when not needed" */
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(base, psk, 32, psk_id, 8), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(auth, psk, 32, psk_id, 8), EK_ERR_INVALID_ARG);
    /* "Missing required PSK input" */
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(pskm, NULL, 0, NULL, 0), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(apsk, NULL, 0, NULL, 0), EK_ERR_INVALID_ARG);
    /* §9.5: at least 32 bytes. */
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(pskm, psk, 31, psk_id, 8), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(pskm, psk, 1, psk_id, 8), EK_ERR_INVALID_ARG);
    /* NULL with a length. */
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(pskm, NULL, 32, psk_id, 8), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_verify_psk_inputs(pskm, psk, 32, NULL, 8), EK_ERR_INVALID_ARG);
    /* Unknown modes. */
    EK_CHECK_RC(ek_hpke_verify_psk_inputs((ek_hpke_mode)4, NULL, 0, NULL, 0), EK_ERR_UNSUPPORTED);
    EK_CHECK_RC(ek_hpke_verify_psk_inputs((ek_hpke_mode)-1, NULL, 0, NULL, 0), EK_ERR_UNSUPPORTED);
}

static void test_mode_combinations(void)
{
    const ek_hpke_mode base = EK_HPKE_MODE_BASE, pskm = EK_HPKE_MODE_PSK;
    const ek_hpke_mode auth = EK_HPKE_MODE_AUTH, apsk = EK_HPKE_MODE_AUTH_PSK;
    ek_hpke_opts s, r;

    /* The four valid shapes. */
    EXPECT_SETUPS(NULL, NULL, EK_OK);
    s = opts(base, 0, 0, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_OK);
    s = opts(pskm, 32, 8, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_OK);
    s = opts(auth, 0, 0, 1, 0);
    r = opts(auth, 0, 0, 0, 1);
    EXPECT_SETUPS(&s, &r, EK_OK);
    s = opts(apsk, 40, 3, 1, 0);
    r = opts(apsk, 40, 3, 0, 1);
    EXPECT_SETUPS(&s, &r, EK_OK);
    /* Each side reads only its own key: both given is fine in auth modes. */
    s = opts(auth, 0, 0, 1, 1);
    EXPECT_SETUPS(&s, &s, EK_OK);

    /* A psk where the mode takes none, or none where it needs one. */
    s = opts(base, 32, 8, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);
    s = opts(base, 0, 8, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);
    s = opts(auth, 32, 8, 1, 1);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);
    s = opts(pskm, 0, 0, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);
    s = opts(pskm, 32, 0, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);
    s = opts(pskm, 0, 8, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);
    s = opts(apsk, 0, 0, 1, 1);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);
    /* §9.5: a 31-byte psk is refused, 32 accepted (above). */
    s = opts(pskm, 31, 8, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);
    s = opts(apsk, 31, 8, 1, 1);
    EXPECT_SETUPS(&s, &s, EK_ERR_INVALID_ARG);

    /* Auth modes without the side's key; non-auth modes with one. */
    s = opts(auth, 0, 0, 0, 1); /* sender lacks sk_s */
    r = opts(auth, 0, 0, 1, 0); /* recipient lacks pk_s */
    EXPECT_SETUPS(&s, &r, EK_ERR_INVALID_ARG);
    s = opts(apsk, 32, 8, 0, 1);
    r = opts(apsk, 32, 8, 1, 0);
    EXPECT_SETUPS(&s, &r, EK_ERR_INVALID_ARG);
    s = opts(base, 0, 0, 1, 0);
    r = opts(base, 0, 0, 0, 1);
    EXPECT_SETUPS(&s, &r, EK_ERR_INVALID_ARG);
    s = opts(pskm, 32, 8, 1, 0);
    r = opts(pskm, 32, 8, 0, 1);
    EXPECT_SETUPS(&s, &r, EK_ERR_INVALID_ARG);

    /* Modes that do not exist. */
    s = opts((ek_hpke_mode)4, 0, 0, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_ERR_UNSUPPORTED);
    s = opts((ek_hpke_mode)0x7fff, 0, 0, 0, 0);
    EXPECT_SETUPS(&s, &s, EK_ERR_UNSUPPORTED);
}

static void test_unsupported_suites(void)
{
    const ek_hpke_suite bad[] = {
        {0x0010, EK_HPKE_KDF_HKDF_SHA256, EK_HPKE_AEAD_AES128GCM},   /* P-256 */
        {0x0021, EK_HPKE_KDF_HKDF_SHA256, EK_HPKE_AEAD_AES128GCM},   /* X448 */
        {0x0000, EK_HPKE_KDF_HKDF_SHA256, EK_HPKE_AEAD_AES128GCM},   /* reserved */
        {EK_HPKE_KEM_X25519_SHA256, 0x0002, EK_HPKE_AEAD_AES128GCM}, /* HKDF-SHA384 */
        {EK_HPKE_KEM_X25519_SHA256, 0x0000, EK_HPKE_AEAD_AES128GCM},
        {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256, 0x0000}, /* reserved */
        {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256, 0x0004},
        {EK_HPKE_KEM_X25519_SHA256, EK_HPKE_KDF_HKDF_SHA256, 0xfffe},
    };
    uint8_t pk[32], sk[32], enc[32], ct[32] = {0}, pt[16] = {1}, ikm[32] = {0};
    ek_hpke_ctx ctx;
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"suites", 6);
    EK_CHECK_OK(ek_hpke_setup_sender_derand(&ctx, enc, suite, pk_r, NULL, 0, NULL, ikm, 32));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EK_CHECK_RC(ek_hpke_check_suite(bad[i]), EK_ERR_UNSUPPORTED);
        EK_CHECK_RC(ek_hpke_derive_keypair(pk, sk, bad[i], ikm, 32), EK_ERR_UNSUPPORTED);
        EK_CHECK_RC(ek_hpke_generate_keypair(pk, sk, bad[i], &rng.rng), EK_ERR_UNSUPPORTED);
        uint8_t enc2[32];
        memset(&ctx, 0xaa, sizeof(ctx));
        EK_CHECK_RC(ek_hpke_setup_sender(&ctx, enc2, bad[i], pk_r, NULL, 0, NULL, &rng.rng),
                    EK_ERR_UNSUPPORTED);
        EK_CHECK(all_zero(&ctx, sizeof(ctx)) && all_zero(enc2, sizeof(enc2)));
        EK_CHECK_RC(ek_hpke_setup_sender_derand(&ctx, enc2, bad[i], pk_r, NULL, 0, NULL, ikm, 32),
                    EK_ERR_UNSUPPORTED);
        memset(&ctx, 0xaa, sizeof(ctx));
        EK_CHECK_RC(ek_hpke_setup_receiver(&ctx, bad[i], enc, sk_r, NULL, 0, NULL),
                    EK_ERR_UNSUPPORTED);
        EK_CHECK(all_zero(&ctx, sizeof(ctx)));
        EK_CHECK_RC(ek_hpke_seal_once(enc2, ct, bad[i], pk_r, NULL, 0, NULL, 0, pt, sizeof(pt),
                                      NULL, &rng.rng),
                    EK_ERR_UNSUPPORTED);
        EK_CHECK_RC(
            ek_hpke_open_once(pt, bad[i], enc, sk_r, NULL, 0, NULL, 0, ct, sizeof(ct), NULL),
            EK_ERR_UNSUPPORTED);
        /* A context whose suite was altered refuses to work. */
        ek_hpke_ctx s;
        EK_CHECK_OK(ek_hpke_setup_sender_derand(&s, enc2, suite, pk_r, NULL, 0, NULL, ikm, 32));
        s.suite = bad[i];
        EK_CHECK_RC(ek_hpke_seal(&s, ct, NULL, 0, pt, sizeof(pt)), EK_ERR_STATE);
        EK_CHECK_RC(ek_hpke_export(&s, ct, 16, NULL, 0), EK_ERR_STATE);
    }
}

static void test_argument_contracts(void)
{
    ek_hpke_ctx ctx;
    uint8_t enc[32];
    uint8_t ikm[32] = {1};
    EK_CHECK_RC(ek_hpke_setup_sender(NULL, enc, suite, pk_r, NULL, 0, NULL, NULL),
                EK_ERR_INVALID_ARG);
    memset(&ctx, 0xaa, sizeof(ctx));
    EK_CHECK_RC(ek_hpke_setup_sender(&ctx, NULL, suite, pk_r, NULL, 0, NULL, NULL),
                EK_ERR_INVALID_ARG);
    EK_CHECK(all_zero(&ctx, sizeof(ctx)));
    EK_CHECK_RC(ek_hpke_setup_sender(&ctx, enc, suite, NULL, NULL, 0, NULL, NULL),
                EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_setup_sender(&ctx, enc, suite, pk_r, NULL, 1, NULL, NULL),
                EK_ERR_INVALID_ARG);
    memset(enc, 0xaa, sizeof(enc));
    memset(&ctx, 0xaa, sizeof(ctx));
    EK_CHECK_RC(ek_hpke_setup_sender_derand(&ctx, enc, suite, pk_r, NULL, 0, NULL, NULL, 32),
                EK_ERR_INVALID_ARG);
    EK_CHECK(all_zero(&ctx, sizeof(ctx)) && all_zero(enc, sizeof(enc)));
    memset(enc, 0xaa, sizeof(enc));
    EK_CHECK_RC(ek_hpke_setup_sender_derand(&ctx, enc, suite, pk_r, NULL, 0, NULL, ikm, 31),
                EK_ERR_INVALID_ARG);
    EK_CHECK(all_zero(enc, sizeof(enc)));
    EK_CHECK_OK(ek_hpke_setup_sender_derand(&ctx, enc, suite, pk_r, NULL, 0, NULL, ikm, 32));
    EK_CHECK_RC(ek_hpke_setup_receiver(NULL, suite, enc, sk_r, NULL, 0, NULL), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_setup_receiver(&ctx, suite, NULL, sk_r, NULL, 0, NULL), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_setup_receiver(&ctx, suite, enc, NULL, NULL, 0, NULL), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_hpke_setup_receiver(&ctx, suite, enc, sk_r, NULL, 5, NULL), EK_ERR_INVALID_ARG);
}

/* Sender and recipient set up with different inputs: the recipient's
 * context cannot open the sender's message. */
static void expect_mismatch(const ek_hpke_opts *so, const void *s_info, size_t s_info_len,
                            const ek_hpke_opts *ro, const void *r_info, size_t r_info_len, int line)
{
    ek_hpke_ctx s, r;
    uint8_t enc[32], ct[16 + 16], pt[16] = "attack at dawn!";
    if (ek_hpke_setup_sender_derand(&s, enc, suite, pk_r, s_info, s_info_len, so, ikm_e, 32) !=
            EK_OK ||
        ek_hpke_setup_receiver(&r, suite, enc, sk_r, r_info, r_info_len, ro) != EK_OK ||
        ek_hpke_seal(&s, ct, NULL, 0, pt, sizeof(pt)) != EK_OK) {
        ek_test_fail(__FILE__, line, "setup or seal failed");
        return;
    }
    if (ek_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct)) != EK_ERR_AUTH)
        ek_test_fail(__FILE__, line, "mismatched contexts agreed");
    if (!all_zero(pt, sizeof(pt)) || r.seq != 0)
        ek_test_fail(__FILE__, line, "failed open left pt or moved seq");
    uint8_t e1[32], e2[32];
    if (ek_hpke_export(&s, e1, 32, "x", 1) != EK_OK ||
        ek_hpke_export(&r, e2, 32, "x", 1) != EK_OK || memcmp(e1, e2, 32) == 0)
        ek_test_fail(__FILE__, line, "mismatched contexts export the same secret");
    ek_hpke_ctx_wipe(&s);
    ek_hpke_ctx_wipe(&r);
}

#define EXPECT_MISMATCH(so, si, sl, ro, ri, rl) expect_mismatch(so, si, sl, ro, ri, rl, __LINE__)

static void test_inputs_are_bound(void)
{
    const ek_hpke_mode pskm = EK_HPKE_MODE_PSK, auth = EK_HPKE_MODE_AUTH;
    ek_hpke_opts s = opts(pskm, 32, 8, 0, 0), r = s;
    uint8_t other_pk[32], other_sk[32];
    keypair(other_pk, other_sk, 9);

    EXPECT_MISMATCH(NULL, "a", 1, NULL, "b", 1); /* info */
    EXPECT_MISMATCH(NULL, "a", 1, NULL, "a\0", 2);
    EXPECT_MISMATCH(&s, NULL, 0, NULL, NULL, 0); /* mode psk vs base */
    r.psk_len = 33;                              /* psk */
    EXPECT_MISMATCH(&s, NULL, 0, &r, NULL, 0);
    r = s;
    r.psk_id_len = 7; /* psk_id */
    EXPECT_MISMATCH(&s, NULL, 0, &r, NULL, 0);
    /* Auth: the wrong sender public key (§8.2: found at AEAD time). */
    s = opts(auth, 0, 0, 1, 0);
    r = opts(auth, 0, 0, 0, 0);
    r.pk_s = other_pk;
    EXPECT_MISMATCH(&s, NULL, 0, &r, NULL, 0);
    /* Auth sender, base recipient. */
    EXPECT_MISMATCH(&s, NULL, 0, NULL, NULL, 0);

    /* The mode byte leads the key schedule context. */
    uint8_t ksc[EK_HPKE_KS_CONTEXT_LEN], ksc2[EK_HPKE_KS_CONTEXT_LEN];
    for (int m = 0; m < 4; m++) {
        EK_CHECK_OK(ek_hpke_key_schedule_context(ksc, suite, (ek_hpke_mode)m, NULL, 0, NULL, 0));
        EK_CHECK(ksc[0] == m);
    }
    EK_CHECK_OK(ek_hpke_key_schedule_context(ksc2, suite, EK_HPKE_MODE_AUTH_PSK, NULL, 0, NULL, 0));
    EK_CHECK_BYTES(ksc + 1, ksc2 + 1, EK_HPKE_KS_CONTEXT_LEN - 1);
}

/* Inputs longer than the labeled functions' stack buffer take the heap
 * path; both sides must still agree. */
static void test_long_inputs(void)
{
    size_t n = 5000;
    uint8_t *info = malloc(n), *id = malloc(n), *key = malloc(n);
    if (info == NULL || id == NULL || key == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        info[i] = (uint8_t)i;
        id[i] = (uint8_t)(i * 3);
        key[i] = (uint8_t)(i * 7 + 1);
    }
    ek_hpke_opts o = {EK_HPKE_MODE_PSK, key, n, id, n, NULL, NULL};
    ek_hpke_ctx s, r;
    uint8_t enc[32], ct[21], pt[5] = {'h', 'e', 'l', 'l', 'o'}, e1[64], e2[64];
    EK_CHECK_OK(ek_hpke_setup_sender_derand(&s, enc, suite, pk_r, info, n, &o, ikm_e, 32));
    EK_CHECK_OK(ek_hpke_setup_receiver(&r, suite, enc, sk_r, info, n, &o));
    EK_CHECK_OK(ek_hpke_seal(&s, ct, info, n, pt, sizeof(pt)));
    memset(pt, 0, sizeof(pt));
    EK_CHECK_OK(ek_hpke_open(&r, pt, info, n, ct, sizeof(ct)));
    EK_CHECK_BYTES(pt, "hello", 5);
    EK_CHECK_OK(ek_hpke_export(&s, e1, sizeof(e1), key, n));
    EK_CHECK_OK(ek_hpke_export(&r, e2, sizeof(e2), key, n));
    EK_CHECK_BYTES(e1, e2, sizeof(e1));
    /* One byte less of info is another context. */
    EK_CHECK_OK(ek_hpke_setup_receiver(&r, suite, enc, sk_r, info, n - 1, &o));
    EK_CHECK_OK(ek_hpke_export(&r, e2, sizeof(e2), key, n));
    EK_CHECK(memcmp(e1, e2, sizeof(e1)) != 0);
    free(info);
    free(id);
    free(key);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(psk); i++)
        psk[i] = (uint8_t)(0x40 + i);
    keypair(pk_r, sk_r, 1);
    keypair(pk_s, sk_s, 2);
    test_verify_psk_inputs();
    test_mode_combinations();
    test_unsupported_suites();
    test_argument_contracts();
    test_inputs_are_bound();
    test_long_inputs();
    return ek_test_finish("unit.hpke.key_schedule");
}
