/*
 * sig_batch.h: batch verification of Ed25519 signatures for the MLS
 * suites that sign with Ed25519 (ed25519_batch.c).
 */
#ifndef EK_MLS_SIG_BATCH_H
#define EK_MLS_SIG_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_mls.h>

/* EK_OK when every signature verifies (cofactored equation, strict input
 * checks), EK_ERR_AUTH when any does not, EK_ERR_NOMEM. */
int ek_mls_ed25519_verify_batch(const ek_mls_signed_item *items, size_t n,
                                const ek_allocator *alloc);
/* The batch's check of one 32-byte point encoding (A or R): EK_OK when it
 * is the canonical encoding (y < p, no negative zero) of a point on the
 * curve that is not of small order (RFC 8032 §5.1.3), EK_ERR_AUTH when
 * not, EK_ERR_UNSUPPORTED without the batch arithmetic. For the tests,
 * which hold it against libsodium. */
int ek_mls_ed25519_point_check(const uint8_t enc[32]);
/* 1 when the batch arithmetic is compiled in (128-bit integers). */
int ek_mls_ed25519_batch_available(void);

#endif /* EK_MLS_SIG_BATCH_H */
