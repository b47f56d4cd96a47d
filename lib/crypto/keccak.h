/* keccak.h: internal: the Keccak-f[1600] permutation, for batched users. */
#ifndef EK_CRYPTO_KECCAK_H
#define EK_CRYPTO_KECCAK_H

#include <stdint.h>

void ek_keccak_f1600(uint64_t s[25]);

#endif
