/*
 * mls_group_util.h: helpers for the group tests: members with their
 * KeyPackage bundles, delivering one message to a set of members, and
 * comparing everyone's view (epoch, tree hash, epoch authenticator).
 */
#ifndef EK_TEST_MLS_GROUP_UTIL_H
#define EK_TEST_MLS_GROUP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

/* The clock of the tests (2023-11-14), for KeyPackage lifetimes. */
#define MLS_TEST_NOW_S 1700000000u

typedef struct mls_member {
    char name[32];
    ek_mls_key_package_bundle *kp;
    ek_mls_group *g;
} mls_member;

/* A fresh KeyPackage for m (identity = name) in suite; deterministic when
 * rng is a seeded generator. */
int mls_member_init(mls_member *m, const char *name, uint16_t suite, const ek_rng *rng);
void mls_member_free(mls_member *m);
/* Process msg at m; returns the ek_mls_group_process code, *kind the
 * received kind. */
int mls_deliver(mls_member *m, const ek_mls_buf *msg, int *kind);
/* 1 if every member in ms[0..n) with a group has the same epoch, tree hash
 * and epoch authenticator. */
int mls_same_view(mls_member *const *ms, size_t n);

#endif
