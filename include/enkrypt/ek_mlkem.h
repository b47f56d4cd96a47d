/*
 * ek_mlkem.h: ML-KEM-768 (FIPS 203), our own portable, constant-time C.
 *
 * Sizes are those of FIPS 203 for k = 3: encapsulation key 1184 bytes,
 * decapsulation key 2400 (dk_PKE || ek || H(ek) || z), ciphertext 1088,
 * shared secret 32. Secret-dependent code has no secret-dependent branch or
 * memory index; tests/crypto/mlkem checks that under valgrind.
 */
#ifndef EK_MLKEM_H
#define EK_MLKEM_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_crypto.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EK_MLKEM768_EK_LEN 1184
#define EK_MLKEM768_DK_LEN 2400
#define EK_MLKEM768_CT_LEN 1088
#define EK_MLKEM768_SS_LEN 32
#define EK_MLKEM_SEED_LEN  32 /* d, z and m */

/* ML-KEM.KeyGen_internal(d, z) (FIPS 203 Algorithm 16). */
EK_API EK_MUST_CHECK int ek_mlkem768_keypair_derand(uint8_t ek[EK_MLKEM768_EK_LEN],
                                                    uint8_t dk[EK_MLKEM768_DK_LEN],
                                                    const uint8_t d[EK_MLKEM_SEED_LEN],
                                                    const uint8_t z[EK_MLKEM_SEED_LEN]);
/* The 64-byte seed form d || z of a decapsulation key (FIPS 203 §7.1
 * allows storing it instead of dk; so does the vault), expanded with
 * KeyGen_internal. The seed arrives with its length: EK_ERR_DECODE unless
 * seed_len is EK_MLKEM768_SEED_FORM_LEN. */
#define EK_MLKEM768_SEED_FORM_LEN 64
EK_API EK_MUST_CHECK int ek_mlkem768_keypair_from_seed(uint8_t ek[EK_MLKEM768_EK_LEN],
                                                       uint8_t dk[EK_MLKEM768_DK_LEN],
                                                       const uint8_t *seed, size_t seed_len);
/* ML-KEM.KeyGen (Algorithm 19), d and z from rng (NULL: system RNG).
 * EK_ERR_RNG (and nothing written) if the generator fails. */
EK_API EK_MUST_CHECK int ek_mlkem768_keypair(uint8_t ek[EK_MLKEM768_EK_LEN],
                                             uint8_t dk[EK_MLKEM768_DK_LEN], const ek_rng *rng);

/* ML-KEM.Encaps_internal(ek, m) (Algorithm 17) after the §7.2 input check:
 * EK_ERR_BAD_KEY (and nothing written) if ek fails the modulus check. */
EK_API EK_MUST_CHECK int ek_mlkem768_encaps_derand(uint8_t ct[EK_MLKEM768_CT_LEN],
                                                   uint8_t ss[EK_MLKEM768_SS_LEN],
                                                   const uint8_t ek[EK_MLKEM768_EK_LEN],
                                                   const uint8_t m[EK_MLKEM_SEED_LEN]);
/* ML-KEM.Encaps (Algorithm 20), m from rng (NULL: system RNG). The §7.2
 * check comes first: a bad key costs no randomness. */
EK_API EK_MUST_CHECK int ek_mlkem768_encaps(uint8_t ct[EK_MLKEM768_CT_LEN],
                                            uint8_t ss[EK_MLKEM768_SS_LEN],
                                            const uint8_t ek[EK_MLKEM768_EK_LEN],
                                            const ek_rng *rng);

/* ML-KEM.Decaps (Algorithm 21) after the §7.3 hash check of dk (EK_ERR_BAD_KEY
 * and nothing written if it fails). A ciphertext that does not re-encrypt
 * gives the implicit-rejection key J(z || c), in constant time, and still
 * returns EK_OK: that is the KEM's contract, the caller learns nothing.
 * ct and dk of other lengths than these must go through
 * ek_mlkem768_check_ct / ek_mlkem768_check_dk first. */
EK_API EK_MUST_CHECK int ek_mlkem768_decaps(uint8_t ss[EK_MLKEM768_SS_LEN],
                                            const uint8_t ct[EK_MLKEM768_CT_LEN],
                                            const uint8_t dk[EK_MLKEM768_DK_LEN]);

/* Input checks of FIPS 203 §7.2 and §7.3, for bytes that arrive with a
 * length (from the wire or a file). EK_OK, EK_ERR_DECODE for a wrong length,
 * EK_ERR_BAD_KEY for a failed modulus or hash check.
 * Every function of this header returns EK_ERR_INVALID_ARG for a NULL
 * pointer argument (the checks: a NULL pointer with a nonzero length). */
EK_API EK_MUST_CHECK int ek_mlkem768_check_ek(const uint8_t *ek, size_t ek_len);
EK_API EK_MUST_CHECK int ek_mlkem768_check_dk(const uint8_t *dk, size_t dk_len);
EK_API EK_MUST_CHECK int ek_mlkem768_check_ct(const uint8_t *ct, size_t ct_len);

#ifdef __cplusplus
}
#endif
#endif /* EK_MLKEM_H */
