/*
 * framing.c: content authentication (RFC 9420 §6.1) and PublicMessage
 * protection (§6.2): FramedContentTBS, the content signature, and the
 * membership tag over AuthenticatedContentTBM.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"

/* The GroupContext is part of FramedContentTBS for senders that are (or
 * become, by this commit) members. */
static int tbs_has_context(uint8_t sender_type)
{
    return sender_type == EK_MLS_SENDER_MEMBER || sender_type == EK_MLS_SENDER_NEW_MEMBER_COMMIT;
}

int ek_mls_write_framed_content_tbs(ek_writer *w, uint16_t wire_format,
                                    const ek_mls_framed_content *content,
                                    const uint8_t *group_context, size_t group_context_len)
{
    (void)ek_write_u16(w, EK_MLS_VERSION_MLS10);
    (void)ek_write_u16(w, wire_format);
    EK_TRY(ek_mls_write_framed_content(w, content));
    if (tbs_has_context(content->sender.type)) {
        if (group_context == NULL)
            return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
        (void)ek_write_bytes(w, group_context, group_context_len);
    }
    return w->err;
}

int ek_mls_sign_content(ek_mls_authenticated_content *ac, ek_mls_arena *a, const ek_mls_suite *s,
                        const uint8_t *sig_priv, size_t sig_priv_len, const uint8_t *group_context,
                        size_t group_context_len)
{
    if (ac == NULL || a == NULL || s == NULL || sig_priv == NULL)
        return EK_ERR_INVALID_ARG;
    uint8_t *sig = ek_mls_arena_alloc(a, s->sig_max_len);
    if (sig == NULL)
        return EK_ERR_NOMEM;
    size_t sig_len = 0;
    ek_writer w;
    ek_writer_init_growable(&w, a->alloc);
    int rc = ek_mls_write_framed_content_tbs(&w, ac->wire_format, &ac->content, group_context,
                                             group_context_len);
    if (rc == EK_OK)
        rc = ek_mls_sign_with_label_alloc(sig, &sig_len, s, sig_priv, sig_priv_len,
                                          "FramedContentTBS", w.buf, w.len, a->alloc);
    ek_writer_dispose(&w);
    if (rc != EK_OK)
        return rc;
    ac->auth.signature.data = sig;
    ac->auth.signature.len = sig_len;
    return EK_OK;
}

int ek_mls_verify_content_alloc(const ek_mls_authenticated_content *ac, const ek_mls_suite *s,
                                const uint8_t *sig_pub, size_t sig_pub_len,
                                const uint8_t *group_context, size_t group_context_len,
                                const ek_allocator *alloc)
{
    if (ac == NULL || s == NULL)
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    int rc = ek_mls_write_framed_content_tbs(&w, ac->wire_format, &ac->content, group_context,
                                             group_context_len);
    if (rc == EK_OK)
        rc = ek_mls_verify_with_label_alloc(s, sig_pub, sig_pub_len, "FramedContentTBS", w.buf,
                                            w.len, ac->auth.signature.data, ac->auth.signature.len,
                                            alloc);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_verify_content(const ek_mls_authenticated_content *ac, const ek_mls_suite *s,
                          const uint8_t *sig_pub, size_t sig_pub_len, const uint8_t *group_context,
                          size_t group_context_len)
{
    return ek_mls_verify_content_alloc(ac, s, sig_pub, sig_pub_len, group_context,
                                       group_context_len, NULL);
}

/* membership_tag = MAC(membership_key, AuthenticatedContentTBM), where
 * AuthenticatedContentTBM = FramedContentTBS || FramedContentAuthData. */
static int membership_tag(uint8_t *out, const ek_mls_suite *s, uint16_t wire_format,
                          const ek_mls_framed_content *content, const ek_mls_auth_data *auth,
                          const uint8_t *membership_key, const uint8_t *group_context,
                          size_t group_context_len, const ek_allocator *alloc)
{
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    (void)ek_mls_write_framed_content_tbs(&w, wire_format, content, group_context,
                                          group_context_len);
    int rc = ek_mls_write_auth_data(&w, auth, content->content_type);
    if (rc == EK_OK)
        s->mac(out, membership_key, s->hash_len, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_public_message_protect(ek_mls_public_message *out, ek_mls_arena *a,
                                  const ek_mls_suite *s, const ek_mls_authenticated_content *ac,
                                  const uint8_t *membership_key, const uint8_t *group_context,
                                  size_t group_context_len)
{
    if (out == NULL || a == NULL || s == NULL || ac == NULL)
        return EK_ERR_INVALID_ARG;
    /* §6: application data MUST travel as a PrivateMessage. */
    if (ac->wire_format != EK_MLS_WIRE_PUBLIC_MESSAGE ||
        ac->content.content_type == EK_MLS_CONTENT_APPLICATION)
        return EK_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    out->content = ac->content;
    out->auth = ac->auth;
    if (ac->content.sender.type != EK_MLS_SENDER_MEMBER)
        return EK_OK;
    if (membership_key == NULL)
        return EK_ERR_INVALID_ARG;
    uint8_t *tag = ek_mls_arena_alloc(a, s->hash_len);
    if (tag == NULL)
        return EK_ERR_NOMEM;
    EK_TRY(membership_tag(tag, s, EK_MLS_WIRE_PUBLIC_MESSAGE, &ac->content, &ac->auth,
                          membership_key, group_context, group_context_len, a->alloc));
    out->membership_tag.data = tag;
    out->membership_tag.len = s->hash_len;
    return EK_OK;
}

int ek_mls_public_message_unprotect_alloc(ek_mls_authenticated_content *out, const ek_mls_suite *s,
                                          const ek_mls_public_message *pm,
                                          const uint8_t *membership_key,
                                          const uint8_t *group_context, size_t group_context_len,
                                          const ek_mls_signer_lookup *signer,
                                          const ek_allocator *alloc)
{
    if (out == NULL || s == NULL || pm == NULL || signer == NULL || signer->lookup == NULL)
        return EK_ERR_INVALID_ARG;
    if (pm->content.content_type == EK_MLS_CONTENT_APPLICATION)
        return EK_ERR_DECODE;
    ek_mls_authenticated_content ac = {
        .wire_format = EK_MLS_WIRE_PUBLIC_MESSAGE,
        .content = pm->content,
        .auth = pm->auth,
    };
    if (pm->content.sender.type == EK_MLS_SENDER_MEMBER) {
        if (membership_key == NULL)
            return EK_ERR_INVALID_ARG;
        uint8_t want[EK_MLS_MAX_HASH_LEN];
        EK_TRY(membership_tag(want, s, EK_MLS_WIRE_PUBLIC_MESSAGE, &pm->content, &pm->auth,
                              membership_key, group_context, group_context_len, alloc));
        int ok = pm->membership_tag.len == s->hash_len &&
                 ek_ct_equal(want, pm->membership_tag.data, s->hash_len);
        ek_wipe(want, sizeof(want));
        if (!ok)
            return EK_ERR_AUTH;
    }
    ek_mls_bytes key = {0};
    EK_TRY(signer->lookup(signer->ctx, &ac.content, &key));
    EK_TRY(ek_mls_verify_content_alloc(&ac, s, key.data, key.len, group_context, group_context_len,
                                       alloc));
    *out = ac;
    return EK_OK;
}

int ek_mls_public_message_unprotect(ek_mls_authenticated_content *out, const ek_mls_suite *s,
                                    const ek_mls_public_message *pm, const uint8_t *membership_key,
                                    const uint8_t *group_context, size_t group_context_len,
                                    const ek_mls_signer_lookup *signer)
{
    return ek_mls_public_message_unprotect_alloc(out, s, pm, membership_key, group_context,
                                                 group_context_len, signer, NULL);
}
