/*
 * codec_group.c: the codec of group state shared with joiners:
 * GroupContext (RFC 9420 §8.1), GroupInfo and its to-be-signed form
 * (§12.4.3), GroupSecrets and Welcome (§12.4.3.1).
 */
#include "codec.h"

int ek_mls_read_group_context(ek_mls_group_context *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_group_context){0};
    (void)ek_read_u16(r, &out->version);
    (void)ek_read_u16(r, &out->cipher_suite);
    (void)ek_mls_read_opaque(&out->group_id, r);
    (void)ek_read_u64(r, &out->epoch);
    (void)ek_mls_read_opaque(&out->tree_hash, r);
    (void)ek_mls_read_opaque(&out->confirmed_transcript_hash, r);
    return ek_mls_read_extensions(&out->extensions, a, r);
}

int ek_mls_write_group_context(ek_writer *w, const ek_mls_group_context *x)
{
    (void)ek_write_u16(w, x->version);
    (void)ek_write_u16(w, x->cipher_suite);
    (void)ek_mls_write_opaque(w, x->group_id.data, x->group_id.len);
    (void)ek_write_u64(w, x->epoch);
    (void)ek_mls_write_opaque(w, x->tree_hash.data, x->tree_hash.len);
    (void)ek_mls_write_opaque(w, x->confirmed_transcript_hash.data,
                              x->confirmed_transcript_hash.len);
    return ek_mls_write_extensions(w, &x->extensions);
}

int ek_mls_read_group_info(ek_mls_group_info *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_group_info){0};
    EK_TRY(ek_mls_read_group_context(&out->group_context, a, r));
    EK_TRY(ek_mls_read_extensions(&out->extensions, a, r));
    (void)ek_mls_read_opaque(&out->confirmation_tag, r);
    (void)ek_read_u32(r, &out->signer);
    return ek_mls_read_opaque(&out->signature, r);
}

int ek_mls_write_group_info_tbs(ek_writer *w, const ek_mls_group_info *x)
{
    (void)ek_mls_write_group_context(w, &x->group_context);
    (void)ek_mls_write_extensions(w, &x->extensions);
    (void)ek_mls_write_opaque(w, x->confirmation_tag.data, x->confirmation_tag.len);
    return ek_write_u32(w, x->signer);
}

int ek_mls_write_group_info(ek_writer *w, const ek_mls_group_info *x)
{
    EK_TRY(ek_mls_write_group_info_tbs(w, x));
    return ek_mls_write_opaque(w, x->signature.data, x->signature.len);
}

int ek_mls_read_group_secrets(ek_mls_group_secrets *out, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    size_t cap = 0;
    *out = (ek_mls_group_secrets){0};
    (void)ek_mls_read_opaque(&out->joiner_secret, r);
    EK_TRY(ek_mls_read_presence(&out->has_path_secret, r));
    if (out->has_path_secret)
        (void)ek_mls_read_opaque(&out->path_secret, r); /* PathSecret.path_secret */
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        int err = EK_OK;
        ek_mls_psk_id *p = ek_mls_list_push((void **)&out->psks, &out->psk_count, &cap, sizeof(*p),
                                            EK_MLS_MAX_PSKS, a, &err);
        if (p == NULL)
            return ek_reader_fail(r, err);
        (void)ek_mls_read_psk_id(p, &sub);
    }
    return ek_mls_finish_sub(r, &sub);
}

int ek_mls_write_group_secrets(ek_writer *w, const ek_mls_group_secrets *x)
{
    if (x->psk_count > 0 && x->psks == NULL)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    (void)ek_mls_write_opaque(w, x->joiner_secret.data, x->joiner_secret.len);
    (void)ek_write_u8(w, x->has_path_secret ? 1 : 0);
    if (x->has_path_secret)
        (void)ek_mls_write_opaque(w, x->path_secret.data, x->path_secret.len);
    size_t mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < x->psk_count; i++)
        (void)ek_mls_write_psk_id(w, &x->psks[i]);
    return ek_mls_vector_end(w, mark);
}

int ek_mls_read_welcome(ek_mls_welcome *out, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    size_t cap = 0;
    *out = (ek_mls_welcome){0};
    (void)ek_read_u16(r, &out->cipher_suite);
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        int err = EK_OK;
        ek_mls_encrypted_group_secrets *s =
            ek_mls_list_push((void **)&out->secrets, &out->secret_count, &cap, sizeof(*s),
                             EK_MLS_MAX_LEAVES, a, &err);
        if (s == NULL)
            return ek_reader_fail(r, err);
        (void)ek_mls_read_opaque(&s->new_member, &sub);
        (void)ek_mls_read_hpke_ciphertext(&s->encrypted_group_secrets, &sub);
    }
    EK_TRY(ek_mls_finish_sub(r, &sub));
    return ek_mls_read_opaque(&out->encrypted_group_info, r);
}

int ek_mls_write_welcome(ek_writer *w, const ek_mls_welcome *x)
{
    if (x->secret_count > 0 && x->secrets == NULL)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    (void)ek_write_u16(w, x->cipher_suite);
    size_t mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < x->secret_count; i++) {
        (void)ek_mls_write_opaque(w, x->secrets[i].new_member.data, x->secrets[i].new_member.len);
        (void)ek_mls_write_hpke_ciphertext(w, &x->secrets[i].encrypted_group_secrets);
    }
    (void)ek_mls_vector_end(w, mark);
    return ek_mls_write_opaque(w, x->encrypted_group_info.data, x->encrypted_group_info.len);
}
