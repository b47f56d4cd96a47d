/*
 * key_package.c: KeyPackages (RFC 9420 §10): creating ours with its
 * private keys (a "bundle"), importing one with known keys, saving and
 * restoring a bundle, and validating received ones (§10.1).
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "group_internal.h"

/* Bundle blob: magic, version, then the fields (see bundle_save). */
static const uint8_t bundle_magic[8] = {'E', 'K', 'M', 'L', 'S', 'K', 'P', 0};
#define BUNDLE_VERSION 1

void ek_mls_buf_free(ek_mls_buf *b)
{
    if (b == NULL)
        return;
    if (b->data != NULL) {
        ek_wipe(b->data, b->cap);
        ek_free(b->alloc, b->data, b->cap);
    }
    memset(b, 0, sizeof(*b));
}

int ek_mls_buf_from_writer(ek_mls_buf *out, ek_writer *w)
{
    memset(out, 0, sizeof(*out));
    if (w->err != EK_OK)
        return w->err;
    out->alloc = w->alloc;
    return ek_writer_take(w, &out->data, &out->len, &out->cap);
}

void ek_mls_key_package_bundle_free(ek_mls_key_package_bundle *b)
{
    if (b == NULL)
        return;
    const ek_allocator *a = b->alloc;
    if (b->msg != NULL) {
        ek_wipe(b->msg, b->msg_len);
        ek_free(a, b->msg, b->msg_len);
    }
    ek_mls_tnode_unref(b->leaf, a);
    ek_wipe(b, sizeof(*b));
    ek_free(a, b, sizeof(*b));
}

void ek_mls_key_package_bundle_message(const ek_mls_key_package_bundle *b, const uint8_t **msg,
                                       size_t *len)
{
    *msg = b->msg;
    *len = b->msg_len;
}

int ek_mls_key_package_check(ek_mls_tnode **leaf, const ek_mls_key_package *kp,
                             const ek_mls_leaf_params *p, const ek_allocator *a)
{
    const ek_mls_suite *s = p->suite;
    *leaf = NULL;
    if (kp->version != EK_MLS_VERSION_MLS10 || kp->cipher_suite != s->id)
        return EK_ERR_UNSUPPORTED;
    if (kp->init_key.len != s->kem_public_len)
        return EK_ERR_DECODE;
    EK_TRY(ek_mls_extensions_check(&kp->extensions));
    ek_mls_tnode *n = NULL;
    EK_TRY(ek_mls_tnode_new_leaf(&n, a, &kp->leaf_node));
    int rc = ek_mls_leaf_check(n, p, EK_MLS_LEAF_SOURCE_KEY_PACKAGE);
    if (rc == EK_OK)
        rc = ek_mls_leaf_verify(n, s, NULL, 0, 0, a);
    /* §10.1: the KeyPackage signature, with the leaf's signature key. */
    ek_writer w;
    ek_writer_init_growable(&w, a);
    if (rc == EK_OK)
        rc = ek_mls_write_key_package_tbs(&w, kp);
    if (rc == EK_OK)
        rc = ek_mls_verify_with_label_alloc(s, n->signature_key.data, n->signature_key.len,
                                            "KeyPackageTBS", w.buf, w.len, kp->signature.data,
                                            kp->signature.len, a);
    ek_writer_dispose(&w);
    if (rc == EK_OK && kp->init_key.len == n->encryption_key.len &&
        memcmp(kp->init_key.data, n->encryption_key.data, kp->init_key.len) == 0)
        rc = EK_ERR_DECODE;
    if (rc != EK_OK) {
        ek_mls_tnode_unref(n, a);
        return rc;
    }
    *leaf = n;
    return EK_OK;
}

/* Decode a KeyPackage MLSMessage: kp's views point into msg. */
static int decode_key_package(ek_mls_key_package *kp, ek_mls_arena *a, const uint8_t *msg,
                              size_t len)
{
    ek_mls_message m;
    EK_TRY(ek_mls_message_decode(&m, a, msg, len));
    if (m.wire_format != EK_MLS_WIRE_KEY_PACKAGE)
        return EK_ERR_DECODE;
    *kp = m.u.key_package;
    return EK_OK;
}

int ek_mls_key_package_verify(const uint8_t *msg, size_t len, uint64_t now_s)
{
    if (msg == NULL)
        return EK_ERR_INVALID_ARG;
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_key_package kp;
    int rc = decode_key_package(&kp, &a, msg, len);
    const ek_mls_suite *s = rc == EK_OK ? ek_mls_suite_get(kp.cipher_suite) : NULL;
    if (rc == EK_OK && s == NULL)
        rc = EK_ERR_UNSUPPORTED;
    ek_mls_tnode *leaf = NULL;
    if (rc == EK_OK) {
        ek_mls_leaf_params p = {.suite = s, .now_s = now_s};
        rc = ek_mls_key_package_check(&leaf, &kp, &p, NULL);
    }
    ek_mls_tnode_unref(leaf, NULL);
    ek_mls_arena_free(&a);
    return rc;
}

/* Fill in a bundle from its MLSMessage bytes (taken over) and keys. */
static int bundle_finish(ek_mls_key_package_bundle *b)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, b->alloc);
    ek_mls_key_package kp;
    int rc = decode_key_package(&kp, &a, b->msg, b->msg_len);
    const ek_mls_suite *s = rc == EK_OK ? ek_mls_suite_get(kp.cipher_suite) : NULL;
    if (rc == EK_OK && s == NULL)
        rc = EK_ERR_UNSUPPORTED;
    if (rc == EK_OK) {
        b->suite = s;
        /* KeyPackageRef over the KeyPackage without the 4-byte wrapper. */
        rc = ek_mls_key_package_ref_alloc(b->ref, s, b->msg + 4, b->msg_len - 4, b->alloc);
    }
    if (rc == EK_OK)
        rc = ek_mls_tnode_new_leaf(&b->leaf, b->alloc, &kp.leaf_node);
    /* The private keys must match the public ones. */
    uint8_t pub[EK_MLS_MAX_KEM_PUBLIC_LEN > EK_ED25519_PUBLIC_LEN ? EK_MLS_MAX_KEM_PUBLIC_LEN
                                                                  : EK_ED25519_PUBLIC_LEN];
    if (rc == EK_OK && s->kem_private_len != EK_X25519_LEN)
        rc = EK_ERR_UNSUPPORTED;
    if (rc == EK_OK &&
        (ek_x25519_public(pub, b->init_priv) != EK_OK || kp.init_key.len != EK_X25519_LEN ||
         !ek_ct_equal(pub, kp.init_key.data, EK_X25519_LEN)))
        rc = EK_ERR_BAD_KEY;
    if (rc == EK_OK && (ek_x25519_public(pub, b->encryption_priv) != EK_OK ||
                        b->leaf->encryption_key.len != EK_X25519_LEN ||
                        !ek_ct_equal(pub, b->leaf->encryption_key.data, EK_X25519_LEN)))
        rc = EK_ERR_BAD_KEY;
    if (rc == EK_OK && (b->signature_priv_len != s->sig_private_len ||
                        s->sig_public(pub, b->signature_priv, b->signature_priv_len) != EK_OK ||
                        b->leaf->signature_key.len != s->sig_public_len ||
                        !ek_ct_equal(pub, b->leaf->signature_key.data, s->sig_public_len)))
        rc = EK_ERR_BAD_KEY;
    ek_mls_arena_free(&a);
    return rc;
}

static int bundle_new(ek_mls_key_package_bundle **out, const ek_allocator *a)
{
    ek_mls_key_package_bundle *b = ek_alloc(a, sizeof(*b));
    if (b == NULL)
        return EK_ERR_NOMEM;
    memset(b, 0, sizeof(*b));
    b->alloc = a;
    *out = b;
    return EK_OK;
}

int ek_mls_key_package_bundle_import(ek_mls_key_package_bundle **out,
                                     const uint8_t *key_package_msg, size_t len,
                                     const uint8_t *init_priv, size_t init_priv_len,
                                     const uint8_t *encryption_priv, size_t encryption_priv_len,
                                     const uint8_t *signature_priv, size_t signature_priv_len,
                                     const ek_allocator *a)
{
    if (out == NULL || key_package_msg == NULL || len < 4 || init_priv == NULL ||
        encryption_priv == NULL || signature_priv == NULL ||
        init_priv_len > EK_MLS_MAX_KEM_PRIVATE_LEN ||
        encryption_priv_len > EK_MLS_MAX_KEM_PRIVATE_LEN ||
        signature_priv_len > sizeof(((ek_mls_key_package_bundle *)0)->signature_priv) ||
        init_priv_len != EK_X25519_LEN || encryption_priv_len != EK_X25519_LEN)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    ek_mls_key_package_bundle *b = NULL;
    EK_TRY(bundle_new(&b, a));
    b->msg = ek_alloc(a, len);
    int rc = b->msg != NULL ? EK_OK : EK_ERR_NOMEM;
    if (rc == EK_OK) {
        memcpy(b->msg, key_package_msg, len);
        b->msg_len = len;
        memcpy(b->init_priv, init_priv, init_priv_len);
        memcpy(b->encryption_priv, encryption_priv, encryption_priv_len);
        memcpy(b->signature_priv, signature_priv, signature_priv_len);
        b->signature_priv_len = signature_priv_len;
        rc = bundle_finish(b);
    }
    if (rc != EK_OK) {
        ek_mls_key_package_bundle_free(b);
        return rc;
    }
    *out = b;
    return EK_OK;
}

int ek_mls_key_package_create(ek_mls_key_package_bundle **out, const ek_mls_key_package_params *p,
                              const ek_rng *rng, const ek_allocator *a)
{
    if (out == NULL || p == NULL || (p->identity == NULL && p->identity_len > 0))
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    const ek_mls_suite *s = ek_mls_suite_get(p->cipher_suite);
    if (s == NULL)
        return EK_ERR_UNSUPPORTED;
    if (s->kem_private_len != EK_X25519_LEN)
        return EK_ERR_UNSUPPORTED;
    uint8_t init_pub[EK_X25519_LEN], enc_pub[EK_X25519_LEN], sig_pub[EK_ED25519_PUBLIC_LEN];
    uint8_t init_priv[EK_X25519_LEN], enc_priv[EK_X25519_LEN], sig_priv[EK_ED25519_SEED_LEN];
    int rc = EK_OK;
    if (p->signature_priv != NULL) {
        if (p->signature_priv_len != s->sig_private_len)
            return EK_ERR_INVALID_ARG;
        memcpy(sig_priv, p->signature_priv, s->sig_private_len);
        rc = s->sig_public(sig_pub, sig_priv, s->sig_private_len);
    } else {
        rc = ek_ed25519_keypair(sig_pub, sig_priv, rng);
    }
    if (rc == EK_OK)
        rc = ek_x25519_keypair(init_pub, init_priv, rng);
    if (rc == EK_OK)
        rc = ek_x25519_keypair(enc_pub, enc_priv, rng);

    static const uint16_t versions[] = {EK_MLS_VERSION_MLS10};
    static const uint16_t suites[] = {EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                      EK_MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519};
    static const uint16_t credentials[] = {EK_MLS_CREDENTIAL_BASIC};
    ek_mls_capabilities caps = {
        .versions = {(uint16_t *)versions, 1},
        .cipher_suites = {(uint16_t *)suites, 2},
        .credentials = {(uint16_t *)credentials, 1},
    };
    ek_mls_extensions none = {0};
    ek_mls_key_package kp = {
        .version = EK_MLS_VERSION_MLS10,
        .cipher_suite = s->id,
        .init_key = {init_pub, sizeof(init_pub)},
        .leaf_node =
            {
                .encryption_key = {enc_pub, sizeof(enc_pub)},
                .signature_key = {sig_pub, s->sig_public_len},
                .credential = {.type = EK_MLS_CREDENTIAL_BASIC,
                               .identity = {p->identity, p->identity_len}},
                .capabilities = p->capabilities != NULL ? *p->capabilities : caps,
                .source = EK_MLS_LEAF_SOURCE_KEY_PACKAGE,
                .not_before = p->not_before,
                .not_after = p->not_after,
                .extensions = p->leaf_extensions != NULL ? *p->leaf_extensions : none,
            },
        .extensions = p->extensions != NULL ? *p->extensions : none,
    };
    if (p->not_before == 0 && p->not_after == 0) {
        /* No clock of our own: without a lifetime, the caller's time. */
        if (p->now_s == 0)
            rc = rc == EK_OK ? EK_ERR_INVALID_ARG : rc;
        kp.leaf_node.not_before = p->now_s;
        kp.leaf_node.not_after = p->now_s + EK_MLS_DEFAULT_KEY_PACKAGE_LIFETIME_S;
    }
    ek_mls_arena arena;
    ek_mls_arena_init(&arena, a);
    ek_writer w;
    ek_writer_init_growable(&w, a);
    /* Sign the leaf (key_package source: no group context), then the
     * KeyPackage over KeyPackageTBS. */
    uint8_t *leaf_sig = ek_mls_arena_alloc(&arena, s->sig_max_len);
    uint8_t *kp_sig = ek_mls_arena_alloc(&arena, s->sig_max_len);
    size_t sig_len = 0;
    if (rc == EK_OK && (leaf_sig == NULL || kp_sig == NULL))
        rc = EK_ERR_NOMEM;
    if (rc == EK_OK)
        rc = ek_mls_write_leaf_node_tbs(&w, &kp.leaf_node, NULL, 0, 0);
    if (rc == EK_OK)
        rc = ek_mls_sign_with_label_alloc(leaf_sig, &sig_len, s, sig_priv, s->sig_private_len,
                                          "LeafNodeTBS", w.buf, w.len, a);
    kp.leaf_node.signature = (ek_mls_bytes){leaf_sig, sig_len};
    w.len = 0;
    if (rc == EK_OK)
        rc = ek_mls_write_key_package_tbs(&w, &kp);
    if (rc == EK_OK)
        rc = ek_mls_sign_with_label_alloc(kp_sig, &sig_len, s, sig_priv, s->sig_private_len,
                                          "KeyPackageTBS", w.buf, w.len, a);
    kp.signature = (ek_mls_bytes){kp_sig, sig_len};
    w.len = 0;
    ek_mls_message m = {.version = EK_MLS_VERSION_MLS10, .wire_format = EK_MLS_WIRE_KEY_PACKAGE};
    m.u.key_package = kp;
    if (rc == EK_OK)
        rc = ek_mls_write_message(&w, &m);
    if (rc == EK_OK)
        rc = ek_mls_key_package_bundle_import(out, w.buf, w.len, init_priv, sizeof(init_priv),
                                              enc_priv, sizeof(enc_priv), sig_priv,
                                              s->sig_private_len, a);
    ek_writer_dispose(&w);
    ek_mls_arena_free(&arena);
    ek_wipe(init_priv, sizeof(init_priv));
    ek_wipe(enc_priv, sizeof(enc_priv));
    ek_wipe(sig_priv, sizeof(sig_priv));
    return rc;
}

/* Blob: magic[8] || uint16 version || V(key package message) ||
 * V(init_priv) || V(encryption_priv) || V(signature_priv). */
int ek_mls_key_package_bundle_save(ek_mls_buf *out, const ek_mls_key_package_bundle *b)
{
    if (out == NULL || b == NULL)
        return EK_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    const ek_mls_suite *s = b->suite;
    ek_writer w;
    ek_writer_init_growable(&w, b->alloc);
    (void)ek_write_bytes(&w, bundle_magic, sizeof(bundle_magic));
    (void)ek_write_u16(&w, BUNDLE_VERSION);
    (void)ek_mls_write_opaque(&w, b->msg, b->msg_len);
    (void)ek_mls_write_opaque(&w, b->init_priv, s->kem_private_len);
    (void)ek_mls_write_opaque(&w, b->encryption_priv, s->kem_private_len);
    (void)ek_mls_write_opaque(&w, b->signature_priv, b->signature_priv_len);
    int rc = ek_mls_buf_from_writer(out, &w);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_key_package_bundle_restore(ek_mls_key_package_bundle **out, const uint8_t *buf,
                                      size_t len, const ek_allocator *a)
{
    if (out == NULL || buf == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    ek_reader r;
    ek_reader_init(&r, buf, len);
    const uint8_t *magic = NULL;
    uint16_t version = 0;
    ek_mls_bytes msg, init, enc, sig;
    (void)ek_read_view(&r, &magic, sizeof(bundle_magic));
    (void)ek_read_u16(&r, &version);
    (void)ek_mls_read_opaque(&msg, &r);
    (void)ek_mls_read_opaque(&init, &r);
    (void)ek_mls_read_opaque(&enc, &r);
    (void)ek_mls_read_opaque(&sig, &r);
    EK_TRY(ek_reader_finish(&r));
    if (memcmp(magic, bundle_magic, sizeof(bundle_magic)) != 0)
        return EK_ERR_DECODE;
    if (version != BUNDLE_VERSION)
        return EK_ERR_UNSUPPORTED;
    if (msg.len == 0)
        return EK_ERR_DECODE;
    return ek_mls_key_package_bundle_import(out, msg.data, msg.len, init.data, init.len, enc.data,
                                            enc.len, sig.data, sig.len, a);
}
