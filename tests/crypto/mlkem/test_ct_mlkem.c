/*
 * test_ct_mlkem.c: constant-time check of ML-KEM-768 under valgrind
 * (ctest ct.mlkem). The secret inputs are marked undefined with
 * VALGRIND_MAKE_MEM_UNDEFINED: d and z for KeyGen, m for Encaps, and the
 * secret parts of dk (dk_PKE and z) for Decaps, on a valid ciphertext and on
 * one that takes the implicit-rejection path. memcheck then reports every
 * branch and every memory address that depends on them. This program is
 * built with its own copy of the ML-KEM sources compiled with
 * -DEK_CT_VALGRIND=1, where EK_CT_DECLASSIFY marks values that are public by
 * design (rho, ek, the ciphertext) defined again.
 *
 * Run it as: valgrind --tool=memcheck --error-exitcode=1 test_ct_mlkem
 * Outside valgrind the client requests do nothing and it only checks that
 * the KEM round-trips.
 */
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include <enkrypt/ek_mlkem.h>

#define SECRET(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
/* For the test's own checks of outputs, after the code under test ran. */
#define PUBLIC(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))

int main(void)
{
    static uint8_t ek[EK_MLKEM768_EK_LEN], dk[EK_MLKEM768_DK_LEN], ct[EK_MLKEM768_CT_LEN],
        ct_bad[EK_MLKEM768_CT_LEN];
    uint8_t d[32], z[32], m[32], ss_enc[32], ss_dec[32], ss_bad[32];
    int failures = 0;

    for (int round = 0; round < 3; round++) {
        memset(d, 0x11 + round, sizeof(d));
        memset(z, 0x22 + round, sizeof(z));
        memset(m, 0x33 + round, sizeof(m));

        /* KeyGen: d and z secret. */
        SECRET(d, sizeof(d));
        SECRET(z, sizeof(z));
        if (ek_mlkem768_keypair_derand(ek, dk, d, z) != EK_OK)
            failures++;

        /* Encaps: m secret. ek is public input. */
        SECRET(m, sizeof(m));
        if (ek_mlkem768_encaps_derand(ct, ss_enc, ek, m) != EK_OK)
            failures++;

        /* Decaps: dk_PKE and z secret (they already are, as KeyGen's
         * outputs; marked again so the test does not rely on that). */
        SECRET(dk, 1152);
        SECRET(dk + EK_MLKEM768_DK_LEN - 32, 32);
        if (ek_mlkem768_decaps(ss_dec, ct, dk) != EK_OK)
            failures++;

        /* Implicit rejection: a ciphertext that does not re-encrypt. */
        memcpy(ct_bad, ct, sizeof(ct));
        ct_bad[round * 100] ^= 0x01;
        if (ek_mlkem768_decaps(ss_bad, ct_bad, dk) != EK_OK)
            failures++;

        /* The test's own checks look at the outputs: declassify them here,
         * after the code under test has run. */
        PUBLIC(ss_enc, sizeof(ss_enc));
        PUBLIC(ss_dec, sizeof(ss_dec));
        PUBLIC(ss_bad, sizeof(ss_bad));
        if (memcmp(ss_enc, ss_dec, sizeof(ss_enc)) != 0)
            failures++;
        if (memcmp(ss_enc, ss_bad, sizeof(ss_enc)) == 0)
            failures++;
    }
    printf("ct.mlkem: %s (%s valgrind)\n", failures == 0 ? "ok" : "FAILED",
           RUNNING_ON_VALGRIND ? "under" : "not under");
    return failures != 0;
}
