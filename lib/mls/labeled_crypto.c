/*
 * labeled_crypto.c: the domain-separated primitives of RFC 9420 §5 and §8:
 * ExpandWithLabel, DeriveSecret, DeriveTreeSecret (§9.1), RefHash and the
 * KeyPackage/Proposal references (§5.2), SignWithLabel and VerifyWithLabel
 * (§5.1.2). Each builds its labelled struct with the MLS codec and hands it
 * to the suite's KDF, hash or signature scheme.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"

static const char label_prefix[] = "MLS 1.0 ";
#define LABEL_PREFIX_LEN (sizeof(label_prefix) - 1)

/* Scratch space for the small labelled structs of the ratchets; larger
 * ones (a GroupContext as context) go to a growable writer. */
#define LABEL_STACK_BYTES 256

/* Write V("MLS 1.0 " + label). */
static int write_prefixed_label(ek_writer *w, const void *label, size_t label_len)
{
    if (label_len > EK_MLS_MAX_VECTOR_BYTES - LABEL_PREFIX_LEN)
        return ek_mls_writer_fail(w, EK_ERR_TOO_LARGE);
    (void)ek_mls_write_varint(w, LABEL_PREFIX_LEN + label_len);
    (void)ek_write_bytes(w, label_prefix, LABEL_PREFIX_LEN);
    return ek_write_bytes(w, label, label_len);
}

/* RFC 9420 §8: KDFLabel = uint16 length || V("MLS 1.0 " + Label) ||
 * V(Context); ExpandWithLabel = KDF.Expand(Secret, KDFLabel, Length). */
int ek_mls_expand_with_label_alloc(uint8_t *out, size_t out_len, const ek_mls_suite *s,
                                   const uint8_t *secret, size_t secret_len, const void *label,
                                   size_t label_len, const void *context, size_t context_len,
                                   const ek_allocator *alloc)
{
    if (s == NULL || out == NULL || secret == NULL || (label == NULL && label_len > 0) ||
        (context == NULL && context_len > 0))
        return EK_ERR_INVALID_ARG;
    if (out_len == 0 || out_len > UINT16_MAX)
        return EK_ERR_INVALID_ARG;
    uint8_t stack[LABEL_STACK_BYTES];
    ek_writer w;
    if (2 + 4 + LABEL_PREFIX_LEN + label_len + 4 + context_len <= sizeof(stack))
        ek_writer_init_fixed(&w, stack, sizeof(stack));
    else
        ek_writer_init_growable(&w, alloc);
    (void)ek_write_u16(&w, (uint16_t)out_len);
    (void)write_prefixed_label(&w, label, label_len);
    int rc = ek_mls_write_opaque(&w, context, context_len);
    if (rc == EK_OK)
        rc = s->kdf_expand(out, out_len, secret, secret_len, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_expand_with_label(uint8_t *out, size_t out_len, const ek_mls_suite *s,
                             const uint8_t *secret, size_t secret_len, const void *label,
                             size_t label_len, const void *context, size_t context_len)
{
    return ek_mls_expand_with_label_alloc(out, out_len, s, secret, secret_len, label, label_len,
                                          context, context_len, NULL);
}

int ek_mls_derive_secret(uint8_t *out, const ek_mls_suite *s, const uint8_t *secret,
                         const char *label)
{
    if (s == NULL || label == NULL)
        return EK_ERR_INVALID_ARG;
    return ek_mls_expand_with_label(out, s->hash_len, s, secret, s->hash_len, label, strlen(label),
                                    NULL, 0);
}

/* RFC 9420 §9.1: the context is the generation as a big-endian uint32. */
int ek_mls_derive_tree_secret(uint8_t *out, size_t out_len, const ek_mls_suite *s,
                              const uint8_t *secret, const char *label, uint32_t generation)
{
    if (s == NULL || label == NULL)
        return EK_ERR_INVALID_ARG;
    uint8_t g[4] = {(uint8_t)(generation >> 24), (uint8_t)(generation >> 16),
                    (uint8_t)(generation >> 8), (uint8_t)generation};
    return ek_mls_expand_with_label(out, out_len, s, secret, s->hash_len, label, strlen(label), g,
                                    sizeof(g));
}

/* RFC 9420 §5.2: RefHash(label, value) = Hash(V(label) || V(value)); the
 * label is used as given (it already carries "MLS 1.0 "). */
int ek_mls_ref_hash_alloc(uint8_t *out, const ek_mls_suite *s, const void *label, size_t label_len,
                          const void *value, size_t value_len, const ek_allocator *alloc)
{
    if (s == NULL || out == NULL)
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    (void)ek_mls_write_opaque(&w, label, label_len);
    int rc = ek_mls_write_opaque(&w, value, value_len);
    if (rc == EK_OK)
        s->hash(out, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_ref_hash(uint8_t *out, const ek_mls_suite *s, const void *label, size_t label_len,
                    const void *value, size_t value_len)
{
    return ek_mls_ref_hash_alloc(out, s, label, label_len, value, value_len, NULL);
}

int ek_mls_key_package_ref_alloc(uint8_t *out, const ek_mls_suite *s, const uint8_t *key_package,
                                 size_t len, const ek_allocator *alloc)
{
    static const char label[] = "MLS 1.0 KeyPackage Reference";
    return ek_mls_ref_hash_alloc(out, s, label, sizeof(label) - 1, key_package, len, alloc);
}

int ek_mls_key_package_ref(uint8_t *out, const ek_mls_suite *s, const uint8_t *key_package,
                           size_t len)
{
    return ek_mls_key_package_ref_alloc(out, s, key_package, len, NULL);
}

int ek_mls_proposal_ref_alloc(uint8_t *out, const ek_mls_suite *s,
                              const uint8_t *authenticated_content, size_t len,
                              const ek_allocator *alloc)
{
    static const char label[] = "MLS 1.0 Proposal Reference";
    return ek_mls_ref_hash_alloc(out, s, label, sizeof(label) - 1, authenticated_content, len,
                                 alloc);
}

int ek_mls_proposal_ref(uint8_t *out, const ek_mls_suite *s, const uint8_t *authenticated_content,
                        size_t len)
{
    return ek_mls_proposal_ref_alloc(out, s, authenticated_content, len, NULL);
}

/* RFC 9420 §5.1.2: SignContent = V("MLS 1.0 " + Label) || V(Content). */
static int write_sign_content(ek_writer *w, const char *label, const void *content,
                              size_t content_len)
{
    (void)write_prefixed_label(w, label, strlen(label));
    return ek_mls_write_opaque(w, content, content_len);
}

int ek_mls_sign_with_label_alloc(uint8_t *sig, size_t *sig_len, const ek_mls_suite *s,
                                 const uint8_t *priv, size_t priv_len, const char *label,
                                 const void *content, size_t content_len, const ek_allocator *alloc)
{
    if (s == NULL || sig == NULL || sig_len == NULL || priv == NULL || label == NULL ||
        (content == NULL && content_len > 0))
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    int rc = write_sign_content(&w, label, content, content_len);
    if (rc == EK_OK)
        rc = s->sign(sig, sig_len, priv, priv_len, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_sign_with_label(uint8_t *sig, size_t *sig_len, const ek_mls_suite *s,
                           const uint8_t *priv, size_t priv_len, const char *label,
                           const void *content, size_t content_len)
{
    return ek_mls_sign_with_label_alloc(sig, sig_len, s, priv, priv_len, label, content,
                                        content_len, NULL);
}

int ek_mls_verify_with_label_alloc(const ek_mls_suite *s, const uint8_t *pub, size_t pub_len,
                                   const char *label, const void *content, size_t content_len,
                                   const uint8_t *sig, size_t sig_len, const ek_allocator *alloc)
{
    if (s == NULL || label == NULL || (content == NULL && content_len > 0))
        return EK_ERR_INVALID_ARG;
    if (pub == NULL || sig == NULL)
        return EK_ERR_AUTH;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    int rc = write_sign_content(&w, label, content, content_len);
    if (rc == EK_OK)
        rc = s->verify(sig, sig_len, pub, pub_len, w.buf, w.len) == EK_OK ? EK_OK : EK_ERR_AUTH;
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_verify_with_label(const ek_mls_suite *s, const uint8_t *pub, size_t pub_len,
                             const char *label, const void *content, size_t content_len,
                             const uint8_t *sig, size_t sig_len)
{
    return ek_mls_verify_with_label_alloc(s, pub, pub_len, label, content, content_len, sig,
                                          sig_len, NULL);
}
