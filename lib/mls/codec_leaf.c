/*
 * codec_leaf.c: the codec of what describes one member: Credential (RFC 9420
 * §5.3), Capabilities and LeafNode with its to-be-signed form (§7.2), and
 * KeyPackage with its to-be-signed form (§10).
 */
#include "codec.h"

/* Certificate certificates<V> of an x509 Credential (§5.3). */
static int read_certificates(ek_mls_credential *out, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    size_t cap = 0;
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        int err = EK_OK;
        ek_mls_bytes *c = ek_mls_list_push((void **)&out->certificates, &out->certificate_count,
                                           &cap, sizeof(*c), EK_MLS_MAX_CERTIFICATES, a, &err);
        if (c == NULL)
            return ek_reader_fail(r, err);
        (void)ek_mls_read_opaque(c, &sub);
    }
    return ek_mls_finish_sub(r, &sub);
}

int ek_mls_read_credential(ek_mls_credential *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_credential){0};
    EK_TRY(ek_read_u16(r, &out->type));
    switch (out->type) {
    case EK_MLS_CREDENTIAL_BASIC: return ek_mls_read_opaque(&out->identity, r);
    case EK_MLS_CREDENTIAL_X509: return read_certificates(out, a, r);
    default:
        /* The body of an unknown credential type has no length prefix, so
         * nothing after it can be parsed (§5.3, §13.3). */
        return ek_reader_fail(r, EK_ERR_UNSUPPORTED);
    }
}

int ek_mls_write_credential(ek_writer *w, const ek_mls_credential *x)
{
    EK_TRY(ek_write_u16(w, x->type));
    switch (x->type) {
    case EK_MLS_CREDENTIAL_BASIC: return ek_mls_write_opaque(w, x->identity.data, x->identity.len);
    case EK_MLS_CREDENTIAL_X509: {
        if (x->certificate_count > 0 && x->certificates == NULL)
            return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
        size_t mark = ek_mls_vector_begin(w);
        for (size_t i = 0; i < x->certificate_count; i++)
            (void)ek_mls_write_opaque(w, x->certificates[i].data, x->certificates[i].len);
        return ek_mls_vector_end(w, mark);
    }
    default: return ek_mls_writer_fail(w, EK_ERR_UNSUPPORTED);
    }
}

int ek_mls_read_capabilities(ek_mls_capabilities *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_capabilities){0};
    (void)ek_mls_read_u16_list(&out->versions, EK_MLS_MAX_CAPABILITY_ITEMS, a, r);
    (void)ek_mls_read_u16_list(&out->cipher_suites, EK_MLS_MAX_CAPABILITY_ITEMS, a, r);
    (void)ek_mls_read_u16_list(&out->extensions, EK_MLS_MAX_CAPABILITY_ITEMS, a, r);
    (void)ek_mls_read_u16_list(&out->proposals, EK_MLS_MAX_CAPABILITY_ITEMS, a, r);
    return ek_mls_read_u16_list(&out->credentials, EK_MLS_MAX_CAPABILITY_ITEMS, a, r);
}

int ek_mls_write_capabilities(ek_writer *w, const ek_mls_capabilities *x)
{
    (void)ek_mls_write_u16_list(w, &x->versions);
    (void)ek_mls_write_u16_list(w, &x->cipher_suites);
    (void)ek_mls_write_u16_list(w, &x->extensions);
    (void)ek_mls_write_u16_list(w, &x->proposals);
    return ek_mls_write_u16_list(w, &x->credentials);
}

int ek_mls_read_leaf_node(ek_mls_leaf_node *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_leaf_node){0};
    (void)ek_mls_read_opaque(&out->encryption_key, r);
    (void)ek_mls_read_opaque(&out->signature_key, r);
    EK_TRY(ek_mls_read_credential(&out->credential, a, r));
    EK_TRY(ek_mls_read_capabilities(&out->capabilities, a, r));
    EK_TRY(ek_read_u8(r, &out->source));
    switch (out->source) {
    case EK_MLS_LEAF_SOURCE_KEY_PACKAGE:
        (void)ek_read_u64(r, &out->not_before);
        (void)ek_read_u64(r, &out->not_after);
        break;
    case EK_MLS_LEAF_SOURCE_UPDATE: break;
    case EK_MLS_LEAF_SOURCE_COMMIT: (void)ek_mls_read_opaque(&out->parent_hash, r); break;
    default: return ek_reader_fail(r, EK_ERR_DECODE);
    }
    EK_TRY(ek_mls_read_extensions(&out->extensions, a, r));
    return ek_mls_read_opaque(&out->signature, r);
}

/* The fields LeafNode and LeafNodeTBS share (§7.2). */
static int write_leaf_node_content(ek_writer *w, const ek_mls_leaf_node *x)
{
    (void)ek_mls_write_opaque(w, x->encryption_key.data, x->encryption_key.len);
    (void)ek_mls_write_opaque(w, x->signature_key.data, x->signature_key.len);
    (void)ek_mls_write_credential(w, &x->credential);
    (void)ek_mls_write_capabilities(w, &x->capabilities);
    (void)ek_write_u8(w, x->source);
    switch (x->source) {
    case EK_MLS_LEAF_SOURCE_KEY_PACKAGE:
        (void)ek_write_u64(w, x->not_before);
        (void)ek_write_u64(w, x->not_after);
        break;
    case EK_MLS_LEAF_SOURCE_UPDATE: break;
    case EK_MLS_LEAF_SOURCE_COMMIT:
        (void)ek_mls_write_opaque(w, x->parent_hash.data, x->parent_hash.len);
        break;
    default: return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    }
    return ek_mls_write_extensions(w, &x->extensions);
}

int ek_mls_write_leaf_node(ek_writer *w, const ek_mls_leaf_node *x)
{
    EK_TRY(write_leaf_node_content(w, x));
    return ek_mls_write_opaque(w, x->signature.data, x->signature.len);
}

int ek_mls_write_leaf_node_tbs(ek_writer *w, const ek_mls_leaf_node *x, const uint8_t *group_id,
                               size_t group_id_len, uint32_t leaf_index)
{
    EK_TRY(write_leaf_node_content(w, x));
    if (x->source == EK_MLS_LEAF_SOURCE_UPDATE || x->source == EK_MLS_LEAF_SOURCE_COMMIT) {
        (void)ek_mls_write_opaque(w, group_id, group_id_len);
        (void)ek_write_u32(w, leaf_index);
    }
    return w->err;
}

int ek_mls_read_key_package(ek_mls_key_package *out, ek_mls_arena *a, ek_reader *r)
{
    *out = (ek_mls_key_package){0};
    (void)ek_read_u16(r, &out->version);
    (void)ek_read_u16(r, &out->cipher_suite);
    (void)ek_mls_read_opaque(&out->init_key, r);
    EK_TRY(ek_mls_read_leaf_node(&out->leaf_node, a, r));
    EK_TRY(ek_mls_read_extensions(&out->extensions, a, r));
    return ek_mls_read_opaque(&out->signature, r);
}

int ek_mls_write_key_package_tbs(ek_writer *w, const ek_mls_key_package *x)
{
    (void)ek_write_u16(w, x->version);
    (void)ek_write_u16(w, x->cipher_suite);
    (void)ek_mls_write_opaque(w, x->init_key.data, x->init_key.len);
    (void)ek_mls_write_leaf_node(w, &x->leaf_node);
    return ek_mls_write_extensions(w, &x->extensions);
}

int ek_mls_write_key_package(ek_writer *w, const ek_mls_key_package *x)
{
    EK_TRY(ek_mls_write_key_package_tbs(w, x));
    return ek_mls_write_opaque(w, x->signature.data, x->signature.len);
}
