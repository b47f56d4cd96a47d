/*
 * codec_framing.c: the codec of message framing (RFC 9420 §6): Sender,
 * FramedContent, FramedContentAuthData (§6.1), AuthenticatedContent,
 * PublicMessage (§6.2), PrivateMessage (§6.3) and the MLSMessage wrapper.
 */
#include "codec.h"

int ek_mls_read_sender(ek_mls_sender *out, ek_reader *r)
{
    *out = (ek_mls_sender){0};
    EK_TRY(ek_read_u8(r, &out->type));
    switch (out->type) {
    case EK_MLS_SENDER_MEMBER:
    case EK_MLS_SENDER_EXTERNAL: return ek_read_u32(r, &out->index);
    case EK_MLS_SENDER_NEW_MEMBER_PROPOSAL:
    case EK_MLS_SENDER_NEW_MEMBER_COMMIT: return EK_OK;
    default: return ek_reader_fail(r, EK_ERR_DECODE);
    }
}

int ek_mls_write_sender(ek_writer *w, const ek_mls_sender *x)
{
    switch (x->type) {
    case EK_MLS_SENDER_MEMBER:
    case EK_MLS_SENDER_EXTERNAL: (void)ek_write_u8(w, x->type); return ek_write_u32(w, x->index);
    case EK_MLS_SENDER_NEW_MEMBER_PROPOSAL:
    case EK_MLS_SENDER_NEW_MEMBER_COMMIT: return ek_write_u8(w, x->type);
    default: return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    }
}

int ek_mls_read_content_body(ek_mls_framed_content *out, ek_mls_arena *a, ek_reader *r)
{
    switch (out->content_type) {
    case EK_MLS_CONTENT_APPLICATION: return ek_mls_read_opaque(&out->u.application_data, r);
    case EK_MLS_CONTENT_PROPOSAL: return ek_mls_read_proposal(&out->u.proposal, a, r);
    case EK_MLS_CONTENT_COMMIT: return ek_mls_read_commit(&out->u.commit, a, r);
    default: return ek_reader_fail(r, EK_ERR_DECODE);
    }
}

int ek_mls_write_content_body(ek_writer *w, const ek_mls_framed_content *x)
{
    switch (x->content_type) {
    case EK_MLS_CONTENT_APPLICATION:
        return ek_mls_write_opaque(w, x->u.application_data.data, x->u.application_data.len);
    case EK_MLS_CONTENT_PROPOSAL: return ek_mls_write_proposal(w, &x->u.proposal);
    case EK_MLS_CONTENT_COMMIT: return ek_mls_write_commit(w, &x->u.commit);
    default: return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    }
}

int ek_mls_read_framed_content(ek_mls_framed_content *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_framed_content){0};
    (void)ek_mls_read_opaque(&out->group_id, r);
    (void)ek_read_u64(r, &out->epoch);
    EK_TRY(ek_mls_read_sender(&out->sender, r));
    (void)ek_mls_read_opaque(&out->authenticated_data, r);
    EK_TRY(ek_read_u8(r, &out->content_type));
    return ek_mls_read_content_body(out, a, r);
}

int ek_mls_write_framed_content(ek_writer *w, const ek_mls_framed_content *x)
{
    (void)ek_mls_write_opaque(w, x->group_id.data, x->group_id.len);
    (void)ek_write_u64(w, x->epoch);
    (void)ek_mls_write_sender(w, &x->sender);
    (void)ek_mls_write_opaque(w, x->authenticated_data.data, x->authenticated_data.len);
    (void)ek_write_u8(w, x->content_type);
    return ek_mls_write_content_body(w, x);
}

int ek_mls_read_auth_data(ek_mls_auth_data *out, uint8_t content_type, ek_reader *r)
{
    *out = (ek_mls_auth_data){0};
    (void)ek_mls_read_opaque(&out->signature, r);
    if (content_type == EK_MLS_CONTENT_COMMIT)
        (void)ek_mls_read_opaque(&out->confirmation_tag, r);
    return r->err;
}

int ek_mls_write_auth_data(ek_writer *w, const ek_mls_auth_data *x, uint8_t content_type)
{
    (void)ek_mls_write_opaque(w, x->signature.data, x->signature.len);
    if (content_type == EK_MLS_CONTENT_COMMIT)
        (void)ek_mls_write_opaque(w, x->confirmation_tag.data, x->confirmation_tag.len);
    return w->err;
}

/* Only the two framed wire formats can carry an AuthenticatedContent. */
static int is_framed_wire_format(uint16_t wf)
{
    return wf == EK_MLS_WIRE_PUBLIC_MESSAGE || wf == EK_MLS_WIRE_PRIVATE_MESSAGE;
}

int ek_mls_read_authenticated_content(ek_mls_authenticated_content *out, ek_mls_arena *a,
                                      ek_reader *r)
{
    *out = (ek_mls_authenticated_content){0};
    EK_TRY(ek_read_u16(r, &out->wire_format));
    if (!is_framed_wire_format(out->wire_format))
        return ek_reader_fail(r, EK_ERR_DECODE);
    EK_TRY(ek_mls_read_framed_content(&out->content, a, r));
    return ek_mls_read_auth_data(&out->auth, out->content.content_type, r);
}

int ek_mls_write_authenticated_content(ek_writer *w, const ek_mls_authenticated_content *x)
{
    if (!is_framed_wire_format(x->wire_format))
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    (void)ek_write_u16(w, x->wire_format);
    (void)ek_mls_write_framed_content(w, &x->content);
    return ek_mls_write_auth_data(w, &x->auth, x->content.content_type);
}

int ek_mls_read_public_message(ek_mls_public_message *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_public_message){0};
    EK_TRY(ek_mls_read_framed_content(&out->content, a, r));
    EK_TRY(ek_mls_read_auth_data(&out->auth, out->content.content_type, r));
    if (out->content.sender.type == EK_MLS_SENDER_MEMBER)
        return ek_mls_read_opaque(&out->membership_tag, r);
    return EK_OK;
}

int ek_mls_write_public_message(ek_writer *w, const ek_mls_public_message *x)
{
    (void)ek_mls_write_framed_content(w, &x->content);
    (void)ek_mls_write_auth_data(w, &x->auth, x->content.content_type);
    if (x->content.sender.type == EK_MLS_SENDER_MEMBER)
        (void)ek_mls_write_opaque(w, x->membership_tag.data, x->membership_tag.len);
    return w->err;
}

int ek_mls_read_private_message(ek_mls_private_message *out, ek_reader *r)
{
    *out = (ek_mls_private_message){0};
    (void)ek_mls_read_opaque(&out->group_id, r);
    (void)ek_read_u64(r, &out->epoch);
    EK_TRY(ek_read_u8(r, &out->content_type));
    if (out->content_type < EK_MLS_CONTENT_APPLICATION || out->content_type > EK_MLS_CONTENT_COMMIT)
        return ek_reader_fail(r, EK_ERR_DECODE);
    (void)ek_mls_read_opaque(&out->authenticated_data, r);
    (void)ek_mls_read_opaque(&out->encrypted_sender_data, r);
    return ek_mls_read_opaque(&out->ciphertext, r);
}

int ek_mls_write_private_message(ek_writer *w, const ek_mls_private_message *x)
{
    if (x->content_type < EK_MLS_CONTENT_APPLICATION || x->content_type > EK_MLS_CONTENT_COMMIT)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    (void)ek_mls_write_opaque(w, x->group_id.data, x->group_id.len);
    (void)ek_write_u64(w, x->epoch);
    (void)ek_write_u8(w, x->content_type);
    (void)ek_mls_write_opaque(w, x->authenticated_data.data, x->authenticated_data.len);
    (void)ek_mls_write_opaque(w, x->encrypted_sender_data.data, x->encrypted_sender_data.len);
    return ek_mls_write_opaque(w, x->ciphertext.data, x->ciphertext.len);
}

int ek_mls_read_message(ek_mls_message *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_message){0};
    EK_TRY(ek_read_u16(r, &out->version));
    if (out->version != EK_MLS_VERSION_MLS10)
        return ek_reader_fail(r, EK_ERR_UNSUPPORTED);
    EK_TRY(ek_read_u16(r, &out->wire_format));
    switch (out->wire_format) {
    case EK_MLS_WIRE_PUBLIC_MESSAGE:
        return ek_mls_read_public_message(&out->u.public_message, a, r);
    case EK_MLS_WIRE_PRIVATE_MESSAGE:
        return ek_mls_read_private_message(&out->u.private_message, r);
    case EK_MLS_WIRE_WELCOME: return ek_mls_read_welcome(&out->u.welcome, a, r);
    case EK_MLS_WIRE_GROUP_INFO: return ek_mls_read_group_info(&out->u.group_info, a, r);
    case EK_MLS_WIRE_KEY_PACKAGE: return ek_mls_read_key_package(&out->u.key_package, a, r);
    default: return ek_reader_fail(r, EK_ERR_UNSUPPORTED);
    }
}

int ek_mls_write_message(ek_writer *w, const ek_mls_message *x)
{
    if (x->version != EK_MLS_VERSION_MLS10)
        return ek_mls_writer_fail(w, EK_ERR_UNSUPPORTED);
    (void)ek_write_u16(w, x->version);
    (void)ek_write_u16(w, x->wire_format);
    switch (x->wire_format) {
    case EK_MLS_WIRE_PUBLIC_MESSAGE: return ek_mls_write_public_message(w, &x->u.public_message);
    case EK_MLS_WIRE_PRIVATE_MESSAGE: return ek_mls_write_private_message(w, &x->u.private_message);
    case EK_MLS_WIRE_WELCOME: return ek_mls_write_welcome(w, &x->u.welcome);
    case EK_MLS_WIRE_GROUP_INFO: return ek_mls_write_group_info(w, &x->u.group_info);
    case EK_MLS_WIRE_KEY_PACKAGE: return ek_mls_write_key_package(w, &x->u.key_package);
    default: return ek_mls_writer_fail(w, EK_ERR_UNSUPPORTED);
    }
}

int ek_mls_message_decode(ek_mls_message *out, ek_mls_arena *a, const uint8_t *buf, size_t len)
{
    ek_reader r;
    ek_reader_init(&r, buf, len);
    EK_TRY(ek_mls_read_message(out, a, &r));
    return ek_reader_finish(&r);
}
