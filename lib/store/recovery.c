/*
 * recovery.c: the recovery code (docs/vault.md §3.2).
 *
 * 16 random bytes and a 4-byte checksum, SHA-256(label || secret)[0..4],
 * make 160 bits: 32 characters of Crockford's base32 alphabet
 * (0-9 A-Z without I L O U), most significant bits first. They are shown
 * in 8 groups of 4, each followed by one check character computed with
 * the Luhn mod N algorithm (N = 32) over the group's position and its 4
 * characters, so that a mistyped character or two swapped neighbours are
 * pinned to their group, and a group typed in the wrong place is caught:
 *
 *     XXXXC-XXXXC-XXXXC-XXXXC-XXXXC-XXXXC-XXXXC-XXXXC
 *
 * Reading is forgiving where it cannot be ambiguous: any case, hyphens and
 * spaces anywhere, O read as 0, I and L as 1.
 *
 * The code is a secret: characters are mapped to and from values without
 * table lookups indexed by them.
 */
#include <string.h>

#include "store/vault_internal.h"

#define DATA_CHARS  32 /* 160 bits */
#define GROUP_DATA  ((size_t)4)
#define GROUP_CHARS ((size_t)5)
#define TOTAL_CHARS (EK_VAULT_RECOVERY_GROUPS * GROUP_CHARS)
#define CHECK_LEN   4

static const char alphabet[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char label_check[] = "enkrypt-vault-recovery-v1";

/* 0xff.. when a == b, else 0; no branch on the values. */
static unsigned ct_eq_mask(unsigned a, unsigned b)
{
    unsigned x = a ^ b;
    return (unsigned)((((uint32_t)x | (uint32_t) - (int32_t)x) >> 31) - 1u);
}

/* The character of value x (0..31). */
static char to_char(unsigned x)
{
    unsigned c = 0, i;
    for (i = 0; i < 32; i++)
        c |= (unsigned)(unsigned char)alphabet[i] & ct_eq_mask(i, x);
    return (char)c;
}

/* The value of an upper-cased character, or -1. */
static int from_char(unsigned char ch)
{
    unsigned v = 0, found = 0, i;
    ch = (unsigned char)(ch == 'O' ? '0' : ch);
    ch = (unsigned char)(ch == 'I' || ch == 'L' ? '1' : ch);
    for (i = 0; i < 32; i++) {
        unsigned m = ct_eq_mask((unsigned char)alphabet[i], ch);
        v |= i & m;
        found |= m;
    }
    return found ? (int)v : -1;
}

/* Luhn mod 32 check character value of (position, four values). */
static unsigned luhn32(unsigned group, const unsigned d[GROUP_DATA])
{
    unsigned seq[GROUP_DATA + 1], factor = 2, sum = 0;
    int i;
    seq[0] = group;
    memcpy(seq + 1, d, GROUP_DATA * sizeof d[0]);
    for (i = GROUP_DATA; i >= 0; i--) {
        unsigned addend = factor * seq[i];
        factor = factor == 2 ? 1 : 2;
        sum += addend / 32 + addend % 32;
    }
    return (32 - sum % 32) % 32;
}

static void checksum(uint8_t out[CHECK_LEN], const uint8_t secret[VAULT_RECOVERY_LEN])
{
    uint8_t h[EK_SHA256_LEN];
    ek_iovec parts[2] = {{label_check, sizeof label_check - 1}, {secret, VAULT_RECOVERY_LEN}};
    ek_sha256_v(h, parts, 2);
    memcpy(out, h, CHECK_LEN);
    ek_wipe(h, sizeof h);
}

void vault_recovery_encode(char out[EK_VAULT_RECOVERY_LEN + 1],
                           const uint8_t secret[VAULT_RECOVERY_LEN])
{
    uint8_t bytes[VAULT_RECOVERY_LEN + CHECK_LEN];
    unsigned vals[DATA_CHARS];
    size_t i, pos = 0;
    size_t g;

    memcpy(bytes, secret, VAULT_RECOVERY_LEN);
    checksum(bytes + VAULT_RECOVERY_LEN, secret);
    for (i = 0; i < DATA_CHARS; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned w = (unsigned)bytes[byte] << 8;
        if (byte + 1 < sizeof bytes)
            w |= bytes[byte + 1];
        vals[i] = (w >> (11 - shift)) & 31;
    }
    for (g = 0; g < EK_VAULT_RECOVERY_GROUPS; g++) {
        if (g > 0)
            out[pos++] = '-';
        for (i = 0; i < GROUP_DATA; i++)
            out[pos++] = to_char(vals[g * GROUP_DATA + i]);
        out[pos++] = to_char(luhn32((unsigned)g, vals + g * GROUP_DATA));
    }
    out[pos] = 0;
    ek_wipe(bytes, sizeof bytes);
    ek_wipe(vals, sizeof vals);
}

int vault_recovery_decode(uint8_t secret[VAULT_RECOVERY_LEN], unsigned *bad_group, const char *code)
{
    unsigned chars[TOTAL_CHARS], vals[DATA_CHARS];
    uint8_t bytes[VAULT_RECOVERY_LEN + CHECK_LEN], want[CHECK_LEN];
    size_t n = 0, i;
    size_t g;
    int rc = EK_ERR_VAULT_RECOVERY_TYPO;

    if (bad_group != NULL)
        *bad_group = 0;
    memset(secret, 0, VAULT_RECOVERY_LEN);
    for (; *code != 0; code++) {
        unsigned char ch = (unsigned char)*code;
        int x;
        if (ch == '-' || ch == ' ' || ch == '\t')
            continue;
        if (n >= TOTAL_CHARS)
            goto done; /* too long */
        if (ch >= 'a' && ch <= 'z')
            ch = (unsigned char)(ch - 'a' + 'A');
        x = from_char(ch);
        if (x < 0) {
            if (bad_group != NULL)
                *bad_group = (unsigned)(n / GROUP_CHARS) + 1;
            goto done;
        }
        chars[n++] = (unsigned)x;
    }
    if (n != TOTAL_CHARS)
        goto done;
    for (g = 0; g < EK_VAULT_RECOVERY_GROUPS; g++) {
        const unsigned *grp = chars + g * GROUP_CHARS;
        if (luhn32((unsigned)g, grp) != grp[GROUP_DATA]) {
            if (bad_group != NULL)
                *bad_group = (unsigned)g + 1;
            goto done;
        }
        memcpy(vals + g * GROUP_DATA, grp, GROUP_DATA * sizeof grp[0]);
    }
    memset(bytes, 0, sizeof bytes);
    for (i = 0; i < DATA_CHARS; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned w = vals[i] << (11 - shift);
        bytes[byte] |= (uint8_t)(w >> 8);
        if (byte + 1 < sizeof bytes)
            bytes[byte + 1] |= (uint8_t)w;
    }
    checksum(want, bytes);
    if (!ek_ct_equal(want, bytes + VAULT_RECOVERY_LEN, CHECK_LEN))
        goto done;
    memcpy(secret, bytes, VAULT_RECOVERY_LEN);
    rc = EK_OK;
done:
    ek_wipe(chars, sizeof chars);
    ek_wipe(vals, sizeof vals);
    ek_wipe(bytes, sizeof bytes);
    return rc;
}
