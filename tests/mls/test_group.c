/*
 * test_group.c: the group API end to end (RFC 9420 §10-§12): create, add
 * by commit and join from the Welcome, application messages both ways,
 * proposals by reference (add, update, remove, PSK, group context
 * extensions), removal (the removed member can no longer read), exporters,
 * and fail-closed processing of tampered commits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "ek_test.h"
#include "mls_group_util.h"

static const uint8_t group_id[] = "test group";

static void commit_and_join(mls_member *committer, mls_member **others, size_t n_others,
                            mls_member **joiners, size_t n_joiners)
{
    ek_mls_bytes kps[8];
    for (size_t i = 0; i < n_joiners; i++) {
        const uint8_t *m;
        size_t l;
        ek_mls_key_package_bundle_message(joiners[i]->kp, &m, &l);
        kps[i] = (ek_mls_bytes){m, l};
    }
    ek_mls_commit_options opt = {.add_key_packages = kps, .add_count = n_joiners};
    ek_mls_buf commit, welcome;
    EK_CHECK_OK(ek_mls_group_commit(committer->g, &commit, &welcome, &opt));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(committer->g));
    ek_mls_group_settle(committer->g);
    for (size_t i = 0; i < n_others; i++) {
        int kind = 0;
        EK_CHECK_OK(mls_deliver(others[i], &commit, &kind));
        EK_CHECK(kind == EK_MLS_RECEIVED_COMMIT);
        ek_mls_group_settle(others[i]->g);
    }
    for (size_t i = 0; i < n_joiners; i++) {
        EK_CHECK_OK(ek_mls_group_join(&joiners[i]->g, NULL, welcome.data, welcome.len,
                                      joiners[i]->kp, NULL, 0));
        ek_mls_group_set_time(joiners[i]->g, MLS_TEST_NOW_S);
    }
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);
}

static void send_and_check(mls_member *from, mls_member **to, size_t n, const char *text)
{
    ek_mls_buf msg;
    EK_CHECK_OK(ek_mls_group_protect(from->g, &msg, (const uint8_t *)text, strlen(text), NULL, 0));
    for (size_t i = 0; i < n; i++) {
        ek_mls_received r;
        EK_CHECK_OK(ek_mls_group_process(to[i]->g, &r, msg.data, msg.len));
        EK_CHECK(r.kind == EK_MLS_RECEIVED_APPLICATION);
        EK_CHECK(r.data.len == strlen(text) && memcmp(r.data.data, text, r.data.len) == 0);
        ek_mls_received_free(&r);
    }
    ek_mls_buf_free(&msg);
}

/* Save m's group, restore it in its place; the restored group saves to
 * the same bytes. Damaged blobs are refused. */
static void roundtrip_state(mls_member *m, const ek_mls_group_config *cfg)
{
    ek_mls_buf blob, again;
    EK_CHECK_OK(ek_mls_group_save(m->g, &blob));
    ek_mls_group *r = NULL;
    EK_CHECK_RC(ek_mls_group_restore(&r, cfg, blob.data, blob.len - 1), EK_ERR_TRUNCATED);
    uint8_t *copy = malloc(blob.len + 1);
    memcpy(copy, blob.data, blob.len);
    copy[blob.len] = 0;
    EK_CHECK_RC(ek_mls_group_restore(&r, cfg, copy, blob.len + 1), EK_ERR_TRAILING);
    copy[9] ^= 1; /* the version */
    EK_CHECK(ek_mls_group_restore(&r, cfg, copy, blob.len) != EK_OK);
    free(copy);
    EK_CHECK_OK(ek_mls_group_restore(&r, cfg, blob.data, blob.len));
    ek_mls_group_set_time(r, MLS_TEST_NOW_S);
    EK_CHECK_OK(ek_mls_group_save(r, &again));
    EK_CHECK(again.len == blob.len && memcmp(again.data, blob.data, blob.len) == 0);
    ek_mls_buf_free(&again);
    ek_mls_buf_free(&blob);
    ek_mls_group_free(m->g);
    m->g = r;
}

static void test_basic(uint16_t suite, uint16_t wire)
{
    mls_member a, b, c, d;
    EK_CHECK_OK(mls_member_init(&a, "alice", suite, NULL));
    EK_CHECK_OK(mls_member_init(&b, "bob", suite, NULL));
    EK_CHECK_OK(mls_member_init(&c, "carol", suite, NULL));
    EK_CHECK_OK(mls_member_init(&d, "dave", suite, NULL));
    ek_mls_group_config cfg = {.handshake_wire_format = wire};
    EK_CHECK_OK(ek_mls_group_create(&a.g, &cfg, a.kp, group_id, sizeof(group_id), NULL));
    ek_mls_group_set_time(a.g, MLS_TEST_NOW_S);
    mls_member *j1[] = {&b, &c};
    commit_and_join(&a, NULL, 0, j1, 2);
    mls_member *all[] = {&a, &b, &c, &d};
    EK_CHECK(mls_same_view(all, 3));
    EK_CHECK(ek_mls_group_member_count(a.g) == 3);
    mls_member *bc[] = {&b, &c}, *ac[] = {&a, &c}, *ab[] = {&a, &b};
    send_and_check(&a, bc, 2, "hello from alice");
    send_and_check(&b, ac, 2, "hello from bob");
    send_and_check(&c, ab, 2, "hello from carol");

    /* bob commits an add of dave; everyone follows. */
    mls_member *j2[] = {&d}, *others[] = {&a, &c};
    commit_and_join(&b, others, 2, j2, 1);
    EK_CHECK(mls_same_view(all, 4));
    mls_member *abd[] = {&a, &b, &d};
    send_and_check(&c, abd, 3, "four of us");
    /* Everyone goes through the vault and carries on. */
    for (size_t i = 0; i < 4; i++)
        roundtrip_state(all[i], &cfg);
    EK_CHECK(mls_same_view(all, 4));
    send_and_check(&a, abd + 1, 2, "after restore");
    send_and_check(&d, all, 3, "after restore too");

    /* carol proposes an update, dave commits it by reference. */
    ek_mls_buf prop, commit;
    int kind = 0;
    EK_CHECK_OK(ek_mls_group_propose_update(c.g, &prop));
    mls_member *not_c[] = {&a, &b, &d};
    for (size_t i = 0; i < 3; i++) {
        EK_CHECK_OK(mls_deliver(not_c[i], &prop, &kind));
        EK_CHECK(kind == EK_MLS_RECEIVED_PROPOSAL);
    }
    ek_mls_buf_free(&prop);
    /* application data waits for the commit (§12.4) */
    ek_mls_buf blocked;
    EK_CHECK_RC(ek_mls_group_protect(a.g, &blocked, (const uint8_t *)"x", 1, NULL, 0),
                EK_ERR_STATE);
    EK_CHECK_OK(ek_mls_group_commit(d.g, &commit, NULL, NULL));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(d.g));
    ek_mls_group_settle(d.g);
    mls_member *not_d[] = {&a, &b, &c};
    for (size_t i = 0; i < 3; i++) {
        EK_CHECK_OK(mls_deliver(not_d[i], &commit, &kind));
        EK_CHECK(kind == EK_MLS_RECEIVED_COMMIT);
        ek_mls_group_settle(not_d[i]->g);
    }
    EK_CHECK(mls_same_view(all, 4));

    /* The same commit again: it started the epoch we are in. */
    EK_CHECK(mls_deliver(&a, &commit, &kind) != EK_OK || kind == EK_MLS_RECEIVED_DUPLICATE);
    ek_mls_buf_free(&commit);

    /* alice removes bob; bob sees he is removed and reads nothing after. */
    uint32_t bob_leaf = ek_mls_group_own_leaf(b.g);
    ek_mls_commit_options rm = {.remove_leaves = &bob_leaf, .remove_count = 1};
    EK_CHECK_OK(ek_mls_group_commit(a.g, &commit, NULL, &rm));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a.g));
    ek_mls_group_settle(a.g);
    mls_member *rest[] = {&c, &d};
    for (size_t i = 0; i < 2; i++) {
        EK_CHECK_OK(mls_deliver(rest[i], &commit, &kind));
        ek_mls_group_settle(rest[i]->g);
    }
    ek_mls_received r;
    EK_CHECK_OK(ek_mls_group_process(b.g, &r, commit.data, commit.len));
    EK_CHECK(r.kind == EK_MLS_RECEIVED_COMMIT && r.removed);
    EK_CHECK(!ek_mls_group_active(b.g));
    ek_mls_received_free(&r);
    ek_mls_buf_free(&commit);
    mls_member *acd[] = {&a, &c, &d};
    EK_CHECK(mls_same_view(acd, 3));
    EK_CHECK(ek_mls_group_member_count(a.g) == 3);
    ek_mls_buf msg;
    EK_CHECK_OK(ek_mls_group_protect(c.g, &msg, (const uint8_t *)"secret", 6, NULL, 0));
    EK_CHECK(ek_mls_group_process(b.g, &r, msg.data, msg.len) != EK_OK);
    ek_mls_buf_free(&msg);

    /* Exporters agree. */
    uint8_t x1[32], x2[32];
    EK_CHECK_OK(ek_mls_group_export(a.g, x1, sizeof(x1), "label", 5, "ctx", 3));
    EK_CHECK_OK(ek_mls_group_export(d.g, x2, sizeof(x2), "label", 5, "ctx", 3));
    EK_CHECK(memcmp(x1, x2, sizeof(x1)) == 0);

    mls_member_free(&a);
    mls_member_free(&b);
    mls_member_free(&c);
    mls_member_free(&d);
}

static int psk_lookup(void *ctx, const uint8_t *id, size_t id_len, const uint8_t **psk,
                      size_t *psk_len)
{
    (void)ctx;
    static const uint8_t secret[32] = {1, 2, 3};
    if (id_len != 7 || memcmp(id, "our psk", 7) != 0)
        return EK_ERR_STATE;
    *psk = secret;
    *psk_len = sizeof(secret);
    return EK_OK;
}

/* An external PSK and new GroupContext extensions, each proposed by one
 * member and committed by another (§12.1.4, §12.1.7); a PSK nobody has is
 * refused. */
static void test_psk_and_extensions(void)
{
    uint16_t suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;
    mls_member a, b;
    EK_CHECK_OK(mls_member_init(&a, "a", suite, NULL));
    EK_CHECK_OK(mls_member_init(&b, "b", suite, NULL));
    ek_mls_group_config cfg = {.psks = {psk_lookup, NULL}};
    EK_CHECK_OK(ek_mls_group_create(&a.g, &cfg, a.kp, group_id, sizeof(group_id), NULL));
    ek_mls_group_set_time(a.g, MLS_TEST_NOW_S);
    const uint8_t *kp;
    size_t kp_len;
    ek_mls_key_package_bundle_message(b.kp, &kp, &kp_len);
    ek_mls_bytes kpb = {kp, kp_len};
    ek_mls_commit_options opt = {.add_key_packages = &kpb, .add_count = 1};
    ek_mls_buf commit, welcome, prop;
    EK_CHECK_OK(ek_mls_group_commit(a.g, &commit, &welcome, &opt));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a.g));
    ek_mls_group_settle(a.g);
    EK_CHECK_OK(ek_mls_group_join(&b.g, &cfg, welcome.data, welcome.len, b.kp, NULL, 0));
    ek_mls_group_set_time(b.g, MLS_TEST_NOW_S);
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);
    EK_CHECK_RC(ek_mls_group_propose_psk(a.g, &prop, (const uint8_t *)"no psk", 6), EK_ERR_STATE);
    EK_CHECK_OK(ek_mls_group_propose_psk(a.g, &prop, (const uint8_t *)"our psk", 7));
    int kind = 0;
    EK_CHECK_OK(mls_deliver(&b, &prop, &kind));
    EK_CHECK(kind == EK_MLS_RECEIVED_PROPOSAL);
    ek_mls_buf_free(&prop);
    static const uint8_t app_id[] = "enkrypt test";
    ek_mls_extension ext = {EK_MLS_EXT_APPLICATION_ID, {app_id, sizeof(app_id)}};
    ek_mls_extensions exts = {&ext, 1};
    EK_CHECK_OK(ek_mls_group_propose_group_context_extensions(b.g, &prop, &exts));
    EK_CHECK_OK(mls_deliver(&a, &prop, &kind));
    ek_mls_buf_free(&prop);
    EK_CHECK_OK(ek_mls_group_commit(b.g, &commit, NULL, NULL));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(b.g));
    EK_CHECK_OK(mls_deliver(&a, &commit, &kind));
    EK_CHECK(kind == EK_MLS_RECEIVED_COMMIT);
    ek_mls_buf_free(&commit);
    mls_member *ab[] = {&a, &b};
    EK_CHECK(mls_same_view(ab, 2));
    ek_mls_group_settle(a.g);
    ek_mls_group_settle(b.g);
    mls_member_free(&a);
    mls_member_free(&b);
}

/* KeyPackages: verification, damage, a bundle through save/restore, the
 * clock requirement (§10, §10.1). */
static void test_key_packages(void)
{
    mls_member a;
    EK_CHECK_OK(mls_member_init(&a, "kp", EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, NULL));
    const uint8_t *m;
    size_t len;
    ek_mls_key_package_bundle_message(a.kp, &m, &len);
    EK_CHECK_OK(ek_mls_key_package_verify(m, len, 0));
    EK_CHECK_OK(ek_mls_key_package_verify(m, len, MLS_TEST_NOW_S + 3600));
    EK_CHECK_RC(ek_mls_key_package_verify(m, len, MLS_TEST_NOW_S - 1), EK_ERR_STATE);
    uint8_t *copy = malloc(len);
    for (size_t i = 4; i < len; i += 7) {
        memcpy(copy, m, len);
        copy[i] ^= 0x40;
        EK_CHECK(ek_mls_key_package_verify(copy, len, 0) != EK_OK);
    }
    free(copy);
    ek_mls_buf blob;
    EK_CHECK_OK(ek_mls_key_package_bundle_save(&blob, a.kp));
    ek_mls_key_package_bundle *b = NULL;
    EK_CHECK_RC(ek_mls_key_package_bundle_restore(&b, blob.data, blob.len - 1, NULL),
                EK_ERR_TRUNCATED);
    EK_CHECK_OK(ek_mls_key_package_bundle_restore(&b, blob.data, blob.len, NULL));
    const uint8_t *m2;
    size_t len2;
    ek_mls_key_package_bundle_message(b, &m2, &len2);
    EK_CHECK(len2 == len && memcmp(m, m2, len) == 0);
    ek_mls_key_package_bundle_free(b);
    ek_mls_buf_free(&blob);
    /* No lifetime and no clock: refused (we have no clock of our own). */
    ek_mls_key_package_params p = {.cipher_suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519};
    EK_CHECK_RC(ek_mls_key_package_create(&b, &p, NULL, NULL), EK_ERR_INVALID_ARG);
    mls_member_free(&a);
}

int main(void)
{
    test_key_packages();
    test_psk_and_extensions();
    test_basic(EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, EK_MLS_WIRE_PRIVATE_MESSAGE);
    test_basic(EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, EK_MLS_WIRE_PUBLIC_MESSAGE);
    test_basic(EK_MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519, EK_MLS_WIRE_PRIVATE_MESSAGE);
    return ek_test_finish("mls.group");
}
