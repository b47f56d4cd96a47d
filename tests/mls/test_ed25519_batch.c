/*
 * test_ed25519_batch.c: the Ed25519 batch verifier behind the suites'
 * verify_batch (lib/mls/ed25519_batch.c) against libsodium's single
 * verifier (ek_ed25519_verify): every valid batch passes, at every size;
 * any one damaged signature, message or key fails the batch; the strict
 * input checks (S < L, canonical and non-small-order A and R) refuse what
 * the single verifier refuses.
 *
 * Regressions of the MLS review's finding 1: the four encodings of an
 * off-curve point that decoded, and the reviewer's forged batch (atk2.c,
 * made deterministic) that the verifier accepted. Two differential checks
 * against libsodium: point decoding over random and crafted encodings, and
 * the batch against the AND of single verifications over random mixes of
 * valid and damaged signatures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "ed25519_edge_points.h"
#include "ek_test.h"
#include "mls/sig_batch.h"

#define MAX_ITEMS 300

typedef struct sigset {
    uint8_t pub[MAX_ITEMS][32];
    uint8_t sig[MAX_ITEMS][64];
    uint8_t msg[MAX_ITEMS][48];
    size_t msg_len[MAX_ITEMS];
    ek_mls_signed_item items[MAX_ITEMS];
} sigset;

static void make(sigset *s, size_t n, ek_rng_seeded *rng)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t seed[32];
        EK_CHECK_OK(ek_ed25519_keypair(s->pub[i], seed, &rng->rng));
        s->msg_len[i] = i % sizeof(s->msg[i]);
        EK_CHECK_OK(ek_random(&rng->rng, s->msg[i], sizeof(s->msg[i])));
        EK_CHECK_OK(ek_ed25519_sign(s->sig[i], seed, s->msg[i], s->msg_len[i]));
        s->items[i] = (ek_mls_signed_item){s->pub[i], 32, s->sig[i], 64, s->msg[i], s->msg_len[i]};
    }
}

static int batch(sigset *s, size_t n)
{
    return ek_mls_ed25519_verify_batch(s->items, n, NULL);
}

/* Add L to S (little-endian): a non-canonical S for the same point. */
static void add_order(uint8_t s[32])
{
    static const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                  0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned x = s[i] + l[i] + carry;
        s[i] = (uint8_t)x;
        carry = x >> 8;
    }
}

static void unhex_fixed(uint8_t *out, size_t n, const char *hex)
{
    size_t len = 0;
    uint8_t *b = ek_test_unhex(hex, &len);
    EK_CHECK(len == n);
    memcpy(out, b, len < n ? len : n);
    free(b);
}

/* Four encodings (both signs of two y) of one point that is not on the
 * curve; the old decoder took them (an unreduced limb in y^2 - 1). */
static const char *const off_curve[] = {
    "5b3b98e2a8745331a0b992461ae514dde06e1c95b69e1cd3ce1a552d33f2a246",
    "5b3b98e2a8745331a0b992461ae514dde06e1c95b69e1cd3ce1a552d33f2a2c6",
    "92c4671d578bacce5f466db9e51aeb221f91e36a4961e32c31e5aad2cc0d5d39",
    "92c4671d578bacce5f466db9e51aeb221f91e36a4961e32c31e5aad2cc0d5db9",
};

/* The eight points of small order (RFC 8032 §5.1, the torsion subgroup). */
static const char *const small_order[] = {
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
};

static void test_off_curve_encodings(void)
{
    for (size_t i = 0; i < sizeof(off_curve) / sizeof(off_curve[0]); i++) {
        uint8_t enc[32];
        unhex_fixed(enc, 32, off_curve[i]);
        EK_CHECK_RC(ek_mls_ed25519_point_check(enc), EK_ERR_AUTH);
        EK_CHECK(crypto_core_ed25519_is_valid_point(enc) == 0);
    }
}

/* The reviewer's atk2.c with fixed keys and S values: three "signatures"
 * under victims' keys (libsodium key pairs from seeds 1, 2, 3) whose R are
 * the off-curve point and two points chosen so that a bucket sum of the
 * multi-scalar multiplication collapses to (0:0:0:0), plus one genuine
 * signature. The old verifier returned EK_OK for this batch. */
static void test_forged_batch(void)
{
    static const char *const pubs[4] = {
        "cecc1507dc1ddd7295951c290888f095adb9044d1b73d696e6df065d683bd4fc",
        "6b79c57e6a095239282c04818e96112f3f03a4001ba97a564c23852a3f1ea5fc",
        "dadbd184a2d526f1ebdd5c06fdad9359b228759b4d7f79d66689fa254aad8546",
        "9be3287795907809407e14439ff198d5bfc7dce6f9bc743cb369146f610b4801",
    };
    static const char *const sigs[4] = {
        "5b3b98e2a8745331a0b992461ae514dde06e1c95b69e1cd3ce1a552d33f2a246"
        "01f755677fcb357b17abff3dc2a41b0870f28704d962b12916e629a909644d00",
        "54ff25a9b6e2f1a4bf88daac5a286fa66fe44b086673e51c8ba83002459120e1"
        "033d8d4b4011d1dd28057597f676ab486e1bcb3e75206f6674a2e442db8e2a0e",
        "4f417f46b22ec78f843ba0088dbf7dc0974cf28a7b6322c6dd20e9e209b3e297"
        "e193f0ec04023b7c3e73106dc9d416c9f59df8c40a8b56b17bce98a96356e502",
        "ee92ffedf57c2c620a970bcd07d16cc2ac6ffdc9de234ea7ad741704de0bed75"
        "1132f790da9bfcc0a9f7708244b898ddd55cdbbd1d066cafbb93056608dd990d",
    };
    static const char *const msgs[4] = {"forged leaf of victim 1", "forged leaf of victim 2",
                                        "forged leaf of victim 3", "attacker's own leaf"};
    uint8_t pub[4][32], sig[4][64];
    ek_mls_signed_item it[4];
    for (int i = 0; i < 4; i++) {
        unhex_fixed(pub[i], 32, pubs[i]);
        unhex_fixed(sig[i], 64, sigs[i]);
        it[i] =
            (ek_mls_signed_item){pub[i], 32, sig[i], 64, (const uint8_t *)msgs[i], strlen(msgs[i])};
        int single = ek_ed25519_verify(sig[i], 64, pub[i], msgs[i], strlen(msgs[i]));
        EK_CHECK(i == 3 ? single == EK_OK : single != EK_OK);
    }
    EK_CHECK_RC(ek_mls_ed25519_verify_batch(it, 4, NULL), EK_ERR_AUTH);
    /* Without the off-curve R the two chosen points alone fail too. */
    EK_CHECK_RC(ek_mls_ed25519_verify_batch(it + 1, 3, NULL), EK_ERR_AUTH);
    /* The genuine one alone and with itself passes. */
    EK_CHECK_OK(ek_mls_ed25519_verify_batch(it + 3, 1, NULL));
}

/* libsodium's view of an encoding, for the comparison: a canonical
 * encoding of a curve point not of small order. Its point addition decodes
 * and checks the curve equation (and, unlike
 * crypto_core_ed25519_is_valid_point, accepts points with a torsion
 * component, which Ed25519 keys and R values may be); P + 0 comes back in
 * canonical form, so the input was canonical (y < p, no negative zero)
 * exactly when it comes back unchanged; P has small order exactly when
 * [8]P is the neutral element. */
static int sodium_point_ok(const uint8_t enc[32])
{
    static const uint8_t neutral[32] = {1};
    uint8_t q[32], q8[32];
    int ok = crypto_core_ed25519_add(q, enc, neutral) == 0 && memcmp(q, enc, 32) == 0;
    if (ok) {
        memcpy(q8, q, 32);
        for (int i = 0; i < 3 && ok; i++)
            ok = crypto_core_ed25519_add(q8, q8, q8) == 0;
        ok = ok && memcmp(q8, neutral, 32) != 0;
    }
    /* The stricter check (which also wants the prime-order subgroup) never
     * accepts what this one refuses. */
    if (crypto_core_ed25519_is_valid_point(enc))
        EK_CHECK(ok);
    return ok;
}

typedef struct diff_stats {
    unsigned total, accepted, mismatches;
} diff_stats;

static void compare_point(diff_stats *st, const uint8_t enc[32], const char *what)
{
    int ours = ek_mls_ed25519_point_check(enc) == EK_OK;
    int theirs = sodium_point_ok(enc);
    st->total++;
    st->accepted += (unsigned)ours;
    if (ours != theirs) {
        if (st->mismatches++ < 5) {
            char hex[65];
            for (int i = 0; i < 32; i++)
                snprintf(hex + (size_t)2 * i, 3, "%02x", enc[i]);
            ek_test_fail(__FILE__, __LINE__, "%s %s: ours %d, libsodium %d", what, hex, ours,
                         theirs);
        }
    }
}

/* y as a 255-bit little-endian integer plus a small signed delta. */
static void y_plus(uint8_t out[32], const uint8_t y[32], int delta)
{
    memcpy(out, y, 32);
    if (delta >= 0) {
        unsigned carry = (unsigned)delta;
        for (int i = 0; i < 32 && carry; i++) {
            unsigned x = out[i] + carry;
            out[i] = (uint8_t)x;
            carry = x >> 8;
        }
    } else {
        unsigned borrow = (unsigned)-delta;
        for (int i = 0; i < 32 && borrow; i++) {
            int x = (int)out[i] - (int)(borrow & 0xff);
            borrow >>= 8;
            if (x < 0) {
                x += 256;
                borrow++;
            }
            out[i] = (uint8_t)x;
        }
    }
    out[31] &= 0x7f;
}

static void compare_both_signs(diff_stats *st, const uint8_t y[32], const char *what)
{
    uint8_t enc[32];
    memcpy(enc, y, 32);
    enc[31] &= 0x7f;
    compare_point(st, enc, what);
    enc[31] |= 0x80;
    compare_point(st, enc, what);
}

static void test_decode_differential(ek_rng_seeded *rng)
{
    diff_stats st = {0};
    uint8_t enc[32];
    /* Random bytes: about half are points. */
    for (int i = 0; i < 20000; i++) {
        EK_CHECK_OK(ek_random(&rng->rng, enc, 32));
        compare_point(&st, enc, "random");
    }
    /* Points of the group, their negatives, (x, -y) = P + (0, -1), and
     * P plus each small-order point (mixed order: valid keys for the
     * single verifier, which does not check the subgroup). */
    uint8_t tors[8][32];
    for (size_t t = 0; t < 8; t++)
        unhex_fixed(tors[t], 32, small_order[t]);
    for (int i = 0; i < 300; i++) {
        uint8_t pt[32], mixed[32], y[32];
        crypto_core_ed25519_random(pt);
        compare_both_signs(&st, pt, "point");
        memset(y, 0, 32);
        y[0] = 0xed;
        memset(y + 1, 0xff, 30);
        y[31] = 0x7f; /* p */
        /* p - y, by the complement: (x, -y) is on the curve too. */
        uint8_t py[32];
        memcpy(py, pt, 32);
        py[31] &= 0x7f;
        int borrow = 0;
        for (int k = 0; k < 32; k++) {
            int x = (int)y[k] - (int)py[k] - borrow;
            borrow = x < 0;
            py[k] = (uint8_t)(x + (borrow ? 256 : 0));
        }
        compare_both_signs(&st, py, "minus y");
        for (size_t t = 0; t < 8; t++) {
            if (crypto_core_ed25519_add(mixed, pt, tors[t]) == 0)
                compare_both_signs(&st, mixed, "mixed order");
        }
    }
    /* Small order, canonical and not, with either sign. */
    for (size_t t = 0; t < 8; t++) {
        unhex_fixed(enc, 32, small_order[t]);
        compare_both_signs(&st, enc, "small order");
        uint8_t big[32];
        y_plus(big, enc, 0);
        /* y + p where that is still below 2^255: the non-canonical twin. */
        uint8_t pbytes[32];
        memset(pbytes, 0xff, 32);
        pbytes[0] = 0xed;
        pbytes[31] = 0x7f;
        unsigned carry = 0;
        for (int k = 0; k < 32; k++) {
            unsigned x = (unsigned)big[k] + pbytes[k] + carry;
            big[k] = (uint8_t)x;
            carry = x >> 8;
        }
        if (carry == 0 && (big[31] & 0x80) == 0)
            compare_both_signs(&st, big, "small order + p");
    }
    /* y >= p (19 values up to 2^255 - 1), x = 0 with the sign bit, and y
     * near every limb boundary 2^(51 k) and near p. */
    uint8_t p_bytes[32];
    memset(p_bytes, 0xff, 32);
    p_bytes[0] = 0xed;
    p_bytes[31] = 0x7f;
    for (int k = -40; k < 19; k++) {
        y_plus(enc, p_bytes, k);
        compare_both_signs(&st, enc, "near p");
    }
    for (int bit = 0; bit < 255; bit += 51) {
        for (int delta = -6; delta <= 6; delta++) {
            uint8_t y[32] = {0};
            y[bit / 8] = (uint8_t)(1u << (bit % 8));
            y_plus(enc, y, delta);
            compare_both_signs(&st, enc, "limb edge");
            memset(y, 0, 32);
            for (int b = 0; b < bit; b++)
                y[b / 8] |= (uint8_t)(1u << (b % 8));
            y_plus(enc, y, delta); /* 2^bit - 1 + delta: all-ones limbs */
            compare_both_signs(&st, enc, "ones");
        }
    }
    /* The reviewer's candidates: y with y^2 - 1 at the limb limits. */
    for (size_t i = 0; i < sizeof(ed25519_edge_ys) / sizeof(ed25519_edge_ys[0]); i++) {
        unhex_fixed(enc, 32, ed25519_edge_ys[i]);
        compare_both_signs(&st, enc, "edge candidate");
    }
    for (size_t i = 0; i < sizeof(off_curve) / sizeof(off_curve[0]); i++) {
        unhex_fixed(enc, 32, off_curve[i]);
        compare_point(&st, enc, "off curve");
    }
    printf("mls.ed25519_batch: decoding vs libsodium: %u encodings, %u points, %u mismatches\n",
           st.total, st.accepted, st.mismatches);
    EK_CHECK(st.mismatches == 0);
    EK_CHECK(st.accepted > st.total / 4 && st.accepted < st.total);
}

/* Batch == AND of single verifications over random mixes. */
static void test_batch_differential(const sigset *s, ek_rng_seeded *rng)
{
    enum { TRIALS = 400, MAX_BATCH = 12 };
    unsigned accepted = 0, rejected = 0;
    uint8_t bad[4][32];
    for (int i = 0; i < 4; i++)
        unhex_fixed(bad[i], 32, off_curve[i]);
    for (int trial = 0; trial < TRIALS; trial++) {
        uint8_t pick[2];
        EK_CHECK_OK(ek_random(&rng->rng, pick, 2));
        size_t n = 1 + pick[0] % MAX_BATCH;
        /* Half the trials all valid, the rest with a damage rate of 1/4. */
        int damage_rate = pick[1] & 1 ? 4 : 0;
        uint8_t pub[MAX_BATCH][32], sig[MAX_BATCH][64], msg[MAX_BATCH][48];
        ek_mls_signed_item it[MAX_BATCH];
        int all_single = 1;
        for (size_t i = 0; i < n; i++) {
            uint8_t r[4];
            EK_CHECK_OK(ek_random(&rng->rng, r, 4));
            size_t src = ((size_t)r[0] << 8 | r[1]) % MAX_ITEMS;
            memcpy(pub[i], s->pub[src], 32);
            memcpy(sig[i], s->sig[src], 64);
            memcpy(msg[i], s->msg[src], 48);
            size_t mlen = s->msg_len[src];
            if (damage_rate != 0 && r[2] % damage_rate == 0) {
                switch (r[3] % 9) {
                case 0:
                    msg[i][0] ^= 1;
                    mlen = mlen ? mlen : 1;
                    break;
                case 1: sig[i][32 + r[2] % 32] ^= (uint8_t)(1u << (r[3] % 8)); break;
                case 2: sig[i][r[2] % 32] ^= (uint8_t)(1u << (r[3] % 8)); break;
                case 3: pub[i][r[2] % 32] ^= (uint8_t)(1u << (r[3] % 8)); break;
                case 4: add_order(sig[i] + 32); break;
                case 5: memcpy(pub[i], s->pub[(src + 1) % MAX_ITEMS], 32); break;
                case 6: memcpy(sig[i], bad[r[2] % 4], 32); break;
                case 7: memcpy(pub[i], bad[r[2] % 4], 32); break;
                default: crypto_core_ed25519_random(sig[i]); break; /* another R */
                }
            }
            it[i] = (ek_mls_signed_item){pub[i], 32, sig[i], 64, msg[i], mlen};
            all_single &= ek_ed25519_verify(sig[i], 64, pub[i], msg[i], mlen) == EK_OK;
        }
        int rc = ek_mls_ed25519_verify_batch(it, n, NULL);
        EK_CHECK(rc == EK_OK || rc == EK_ERR_AUTH);
        if ((rc == EK_OK) != all_single)
            ek_test_fail(__FILE__, __LINE__, "trial %d: batch %d, singles %d", trial, rc,
                         all_single);
        if (rc == EK_OK)
            accepted++;
        else
            rejected++;
    }
    printf("mls.ed25519_batch: batch vs single: %u accepted, %u rejected\n", accepted, rejected);
    EK_CHECK(accepted > TRIALS / 4 && rejected > TRIALS / 8);
}

int main(void)
{
    if (!ek_mls_ed25519_batch_available()) {
        printf("mls.ed25519_batch: skipped (no 128-bit integers)\n");
        return 0;
    }
    if (sodium_init() < 0)
        return 1;
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"batch", 5);
    sigset *s = calloc(1, sizeof(*s));
    make(s, MAX_ITEMS, &rng);
    static const size_t sizes[] = {1, 2, 3, 7, 64, 129, MAX_ITEMS};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
        EK_CHECK_OK(batch(s, sizes[k]));
    /* Every kind of damage, at a few positions, fails the batch and the
     * single verifier alike. */
    for (size_t pos = 0; pos < MAX_ITEMS; pos += 37) {
        for (int what = 0; what < 6; what++) {
            sigset *t = malloc(sizeof(*t));
            memcpy(t, s, sizeof(*t));
            for (size_t i = 0; i < MAX_ITEMS; i++)
                t->items[i] =
                    (ek_mls_signed_item){t->pub[i], 32, t->sig[i], 64, t->msg[i], t->msg_len[i]};
            switch (what) {
            case 0:
                t->msg[pos][0] ^= 1;
                t->msg_len[pos] = t->msg_len[pos] ? t->msg_len[pos] : 1;
                t->items[pos].msg_len = t->msg_len[pos];
                break;
            case 1: t->sig[pos][40] ^= 0x10; break;     /* S */
            case 2: t->sig[pos][3] ^= 0x01; break;      /* R */
            case 3: t->pub[pos][5] ^= 0x20; break;      /* A */
            case 4: add_order(t->sig[pos] + 32); break; /* S + L */
            case 5: memcpy(t->pub[pos], t->pub[(pos + 1) % MAX_ITEMS], 32); break;
            }
            int single =
                ek_ed25519_verify(t->sig[pos], 64, t->pub[pos], t->msg[pos], t->items[pos].msg_len);
            EK_CHECK(single != EK_OK);
            EK_CHECK_RC(batch(t, MAX_ITEMS), EK_ERR_AUTH);
            EK_CHECK_RC(ek_mls_ed25519_verify_batch(&t->items[pos], 1, NULL), EK_ERR_AUTH);
            free(t);
        }
    }
    /* Small-order and non-canonical encodings of A and R. */
    static const uint8_t identity[32] = {1};
    uint8_t minus_one[32];
    memset(minus_one, 0xff, 32);
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    uint8_t p_plus_1[32];
    memset(p_plus_1, 0xff, 32);
    p_plus_1[0] = 0xee;
    p_plus_1[31] = 0x7f;
    const uint8_t *bad[] = {identity, minus_one, p_plus_1};
    for (size_t b = 0; b < 3; b++) {
        uint8_t pub[32], sig[64];
        memcpy(pub, s->pub[0], 32);
        memcpy(sig, s->sig[0], 64);
        ek_mls_signed_item it = {bad[b], 32, sig, 64, s->msg[0], s->msg_len[0]};
        EK_CHECK_RC(ek_mls_ed25519_verify_batch(&it, 1, NULL), EK_ERR_AUTH);
        memcpy(sig, bad[b], 32);
        it.pub = pub;
        EK_CHECK_RC(ek_mls_ed25519_verify_batch(&it, 1, NULL), EK_ERR_AUTH);
        EK_CHECK(ek_ed25519_verify(sig, 64, pub, s->msg[0], s->msg_len[0]) != EK_OK);
    }
    /* Wrong lengths. */
    ek_mls_signed_item it = s->items[0];
    it.sig_len = 63;
    EK_CHECK_RC(ek_mls_ed25519_verify_batch(&it, 1, NULL), EK_ERR_AUTH);
    test_off_curve_encodings();
    test_forged_batch();
    test_decode_differential(&rng);
    test_batch_differential(s, &rng);
    free(s);
    return ek_test_finish("mls.ed25519_batch");
}
