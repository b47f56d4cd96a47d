/*
 * identity.c: identities and safety numbers (docs/protocol.md §4.7).
 *
 * The safety number is Signal's 60-digit NumericFingerprint (version 0)
 * computed over our Ed25519 identity keys: for each key K,
 *   h = SHA-512(u16be(0) || K || K); then EK_SAFETY_NUMBER_ITERATIONS - 1
 *   more times h = SHA-512(h || K)
 * This is Signal's NumericFingerprintGenerator with an EMPTY stable
 * identifier: Signal starts from version || key || identifier and each of
 * its EK_SAFETY_NUMBER_ITERATIONS rounds hashes that with the key appended,
 * so the first round is SHA-512(u16be(0) || K || K) (the second K is the
 * round's, not an identifier). The first 30 bytes make 6 groups of 5
 * bytes, each read as a big-endian integer mod 100000 and printed as 5
 * digits. The two 30-digit halves are joined smaller first, so both sides
 * display the same number.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_session.h>

int ek_identity_generate(ek_identity *id, const ek_rng *rng)
{
    if (id == NULL)
        return EK_ERR_INVALID_ARG;
    memset(id, 0, sizeof(*id));
    int rc = ek_random(rng, id->seed, sizeof(id->seed));
    if (rc == EK_OK)
        rc = ek_ratchet_identity_generate(&id->signal, rng);
    if (rc != EK_OK)
        ek_wipe(id, sizeof(*id));
    return rc;
}

int ek_identity_public(uint8_t pk[EK_ED25519_PUBLIC_LEN], const ek_identity *id)
{
    if (pk == NULL || id == NULL)
        return EK_ERR_INVALID_ARG;
    return ek_ed25519_public(pk, id->seed);
}

static void half(char out[30], const uint8_t key[32])
{
    uint8_t h[EK_SHA512_LEN];
    ek_sha512_ctx c;
    static const uint8_t version[2] = {0, 0};
    ek_sha512_init(&c);
    ek_sha512_update(&c, version, 2);
    ek_sha512_update(&c, key, 32);
    ek_sha512_update(&c, key, 32);
    ek_sha512_final(&c, h);
    for (unsigned i = 1; i < EK_SAFETY_NUMBER_ITERATIONS; i++) {
        ek_sha512_init(&c);
        ek_sha512_update(&c, h, sizeof(h));
        ek_sha512_update(&c, key, 32);
        ek_sha512_final(&c, h);
    }
    for (int g = 0; g < 6; g++) {
        uint64_t x = 0;
        for (int i = 0; i < 5; i++)
            x = x << 8 | h[g * 5 + i];
        x %= 100000;
        for (int d = 4; d >= 0; d--) {
            out[g * 5 + d] = (char)('0' + x % 10);
            x /= 10;
        }
    }
}

int ek_safety_number(char out[EK_SAFETY_NUMBER_DIGITS + 1], const uint8_t a[32],
                     const uint8_t b[32])
{
    if (out == NULL || a == NULL || b == NULL)
        return EK_ERR_INVALID_ARG;
    char ha[30], hb[30];
    half(ha, a);
    half(hb, b);
    int a_first = memcmp(ha, hb, 30) <= 0;
    memcpy(out, a_first ? ha : hb, 30);
    memcpy(out + 30, a_first ? hb : ha, 30);
    out[60] = 0;
    return EK_OK;
}
