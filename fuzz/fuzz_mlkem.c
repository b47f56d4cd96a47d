/*
 * fuzz_mlkem.c: ML-KEM-768's input checks and Encaps/Decaps (FIPS 203
 * §7.2, §7.3) on arbitrary bytes.
 *
 * Byte 0 chooses what the rest is:
 *   0  an encapsulation key of any length, then m: ek_mlkem768_check_ek,
 *      and Encaps on the first 1184 bytes, which must agree with the check
 *      (EK_OK, or EK_ERR_BAD_KEY with nothing written)
 *   1  a decapsulation key of any length, then a ciphertext:
 *      ek_mlkem768_check_dk, and Decaps on the first 2400 + 1088 bytes,
 *      which must agree with the check
 *   2  a ciphertext of any length: ek_mlkem768_check_ct
 *   3  d || z || m || ciphertext bytes: KeyGen, Encaps, Decaps must round
 *      trip; then Decaps of the ciphertext with the input's bytes XORed in
 *      must give the implicit-rejection key J(z || c) unless unchanged
 *   4  arbitrary dk || c, with the H(ek) field of dk made consistent, so
 *      that Decaps runs to the end on unreduced dk_PKE and ek values
 * Missing bytes are taken as zero. Properties: no crash, no sanitizer
 * report, and the agreements above (abort() otherwise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mlkem.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { EK = EK_MLKEM768_EK_LEN, DK = EK_MLKEM768_DK_LEN, CT = EK_MLKEM768_CT_LEN };

/* The first n bytes of the input from off on, zero-padded. */
static void take(uint8_t *out, size_t n, const uint8_t *data, size_t size, size_t off)
{
    memset(out, 0, n);
    if (off < size)
        memcpy(out, data + off, size - off < n ? size - off : n);
}

static void fuzz_ek(const uint8_t *p, size_t n)
{
    int rc = ek_mlkem768_check_ek(p, n);
    if (rc != EK_OK && rc != EK_ERR_DECODE && rc != EK_ERR_BAD_KEY)
        abort();
    if ((rc == EK_ERR_DECODE) != (n != EK))
        abort();
    if (n < EK)
        return;
    uint8_t m[32], ct[CT], ss[32];
    take(m, sizeof(m), p, n, EK);
    memset(ct, 0xa5, sizeof(ct));
    memset(ss, 0xa5, sizeof(ss));
    int rc_enc = ek_mlkem768_encaps_derand(ct, ss, p, m);
    int rc_check = ek_mlkem768_check_ek(p, EK);
    if (rc_enc != rc_check)
        abort();
    if (rc_enc != EK_OK && (ct[0] != 0xa5 || ct[CT - 1] != 0xa5 || ss[0] != 0xa5))
        abort();
}

static void fuzz_dk(const uint8_t *p, size_t n)
{
    int rc = ek_mlkem768_check_dk(p, n);
    if ((rc == EK_ERR_DECODE) != (n != DK))
        abort();
    if (n < DK + CT)
        return;
    uint8_t ss[32];
    int rc_dec = ek_mlkem768_decaps(ss, p + DK, p);
    if (rc_dec != ek_mlkem768_check_dk(p, DK))
        abort();
}

static void fuzz_roundtrip(const uint8_t *p, size_t n)
{
    static uint8_t ek[EK], dk[DK], ct[CT], ct2[CT];
    uint8_t seeds[96], ss[32], ss2[32], ss3[32];
    take(seeds, sizeof(seeds), p, n, 0);
    if (ek_mlkem768_keypair_derand(ek, dk, seeds, seeds + 32) != EK_OK ||
        ek_mlkem768_check_ek(ek, EK) != EK_OK || ek_mlkem768_check_dk(dk, DK) != EK_OK ||
        ek_mlkem768_encaps_derand(ct, ss, ek, seeds + 64) != EK_OK ||
        ek_mlkem768_decaps(ss2, ct, dk) != EK_OK || memcmp(ss, ss2, 32) != 0)
        abort();
    take(ct2, sizeof(ct2), p, n, sizeof(seeds));
    for (size_t i = 0; i < CT; i++)
        ct2[i] ^= ct[i];
    if (ek_mlkem768_decaps(ss3, ct2, dk) != EK_OK)
        abort();
    if (memcmp(ct2, ct, CT) == 0) {
        if (memcmp(ss3, ss, 32) != 0)
            abort();
    } else {
        uint8_t j_in[32 + CT], kbar[32];
        memcpy(j_in, dk + DK - 32, 32);
        memcpy(j_in + 32, ct2, CT);
        ek_shake256(kbar, sizeof(kbar), j_in, sizeof(j_in));
        if (memcmp(ss3, kbar, 32) != 0)
            abort();
    }
}

static void fuzz_decaps_any_dk(const uint8_t *p, size_t n)
{
    static uint8_t dk[DK], ct[CT];
    take(dk, DK, p, n, 0);
    take(ct, CT, p, n, DK);
    /* dk = dk_PKE || ek || H(ek) || z: make H(ek) right so the hash check
     * passes and the rest of Decaps sees the arbitrary values. */
    ek_sha3_256(dk + DK - 64, dk + DK - 64 - EK, EK);
    uint8_t ss[32];
    if (ek_mlkem768_check_dk(dk, DK) != EK_OK || ek_mlkem768_decaps(ss, ct, dk) != EK_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: fuzz_ek(p, n); break;
    case 1: fuzz_dk(p, n); break;
    case 2:
        if ((ek_mlkem768_check_ct(p, n) == EK_OK) != (n == CT))
            abort();
        break;
    case 3: fuzz_roundtrip(p, n); break;
    default: fuzz_decaps_any_dk(p, n);
    }
    return 0;
}
