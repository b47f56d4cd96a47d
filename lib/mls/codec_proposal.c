/*
 * codec_proposal.c: the codec of group changes: PreSharedKeyID (RFC 9420
 * §8.4), Proposal and the bodies of its seven types (§12.1.1-§12.1.7),
 * ProposalOrRef and Commit (§12.4).
 */
#include "codec.h"

int ek_mls_read_psk_id(ek_mls_psk_id *out, ek_reader *r)
{
    *out = (ek_mls_psk_id){0};
    EK_TRY(ek_read_u8(r, &out->type));
    switch (out->type) {
    case EK_MLS_PSK_EXTERNAL: (void)ek_mls_read_opaque(&out->psk_id, r); break;
    case EK_MLS_PSK_RESUMPTION:
        EK_TRY(ek_read_u8(r, &out->usage));
        if (out->usage < EK_MLS_RESUMPTION_APPLICATION || out->usage > EK_MLS_RESUMPTION_BRANCH)
            return ek_reader_fail(r, EK_ERR_DECODE);
        (void)ek_mls_read_opaque(&out->psk_group_id, r);
        (void)ek_read_u64(r, &out->psk_epoch);
        break;
    default: return ek_reader_fail(r, EK_ERR_DECODE);
    }
    return ek_mls_read_opaque(&out->psk_nonce, r);
}

int ek_mls_write_psk_id(ek_writer *w, const ek_mls_psk_id *x)
{
    (void)ek_write_u8(w, x->type);
    switch (x->type) {
    case EK_MLS_PSK_EXTERNAL: (void)ek_mls_write_opaque(w, x->psk_id.data, x->psk_id.len); break;
    case EK_MLS_PSK_RESUMPTION:
        if (x->usage < EK_MLS_RESUMPTION_APPLICATION || x->usage > EK_MLS_RESUMPTION_BRANCH)
            return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
        (void)ek_write_u8(w, x->usage);
        (void)ek_mls_write_opaque(w, x->psk_group_id.data, x->psk_group_id.len);
        (void)ek_write_u64(w, x->psk_epoch);
        break;
    default: return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    }
    return ek_mls_write_opaque(w, x->psk_nonce.data, x->psk_nonce.len);
}

int ek_mls_read_proposal_body(ek_mls_proposal *out, ek_mls_arena *a, uint16_t type, ek_reader *r)
{
    *out = (ek_mls_proposal){0};
    out->type = type;
    switch (type) {
    case EK_MLS_PROPOSAL_ADD: return ek_mls_read_key_package(&out->u.add, a, r);
    case EK_MLS_PROPOSAL_UPDATE: return ek_mls_read_leaf_node(&out->u.update, a, r);
    case EK_MLS_PROPOSAL_REMOVE: return ek_read_u32(r, &out->u.remove);
    case EK_MLS_PROPOSAL_PSK: return ek_mls_read_psk_id(&out->u.psk, r);
    case EK_MLS_PROPOSAL_REINIT:
        (void)ek_mls_read_opaque(&out->u.reinit.group_id, r);
        (void)ek_read_u16(r, &out->u.reinit.version);
        (void)ek_read_u16(r, &out->u.reinit.cipher_suite);
        return ek_mls_read_extensions(&out->u.reinit.extensions, a, r);
    case EK_MLS_PROPOSAL_EXTERNAL_INIT: return ek_mls_read_opaque(&out->u.external_init, r);
    case EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        return ek_mls_read_extensions(&out->u.group_context_extensions, a, r);
    default:
        /* An unknown proposal's body has no length prefix (§12.1), so it
         * cannot be skipped. */
        return ek_reader_fail(r, EK_ERR_UNSUPPORTED);
    }
}

int ek_mls_write_proposal_body(ek_writer *w, const ek_mls_proposal *x)
{
    switch (x->type) {
    case EK_MLS_PROPOSAL_ADD: return ek_mls_write_key_package(w, &x->u.add);
    case EK_MLS_PROPOSAL_UPDATE: return ek_mls_write_leaf_node(w, &x->u.update);
    case EK_MLS_PROPOSAL_REMOVE: return ek_write_u32(w, x->u.remove);
    case EK_MLS_PROPOSAL_PSK: return ek_mls_write_psk_id(w, &x->u.psk);
    case EK_MLS_PROPOSAL_REINIT:
        (void)ek_mls_write_opaque(w, x->u.reinit.group_id.data, x->u.reinit.group_id.len);
        (void)ek_write_u16(w, x->u.reinit.version);
        (void)ek_write_u16(w, x->u.reinit.cipher_suite);
        return ek_mls_write_extensions(w, &x->u.reinit.extensions);
    case EK_MLS_PROPOSAL_EXTERNAL_INIT:
        return ek_mls_write_opaque(w, x->u.external_init.data, x->u.external_init.len);
    case EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        return ek_mls_write_extensions(w, &x->u.group_context_extensions);
    default: return ek_mls_writer_fail(w, EK_ERR_UNSUPPORTED);
    }
}

int ek_mls_read_proposal(ek_mls_proposal *out, ek_mls_arena *a, ek_reader *r)
{
    uint16_t type;
    EK_TRY(ek_read_u16(r, &type));
    return ek_mls_read_proposal_body(out, a, type, r);
}

int ek_mls_write_proposal(ek_writer *w, const ek_mls_proposal *x)
{
    EK_TRY(ek_write_u16(w, x->type));
    return ek_mls_write_proposal_body(w, x);
}

static int read_proposal_or_ref(ek_mls_proposal_or_ref *out, ek_mls_arena *a, ek_reader *r)
{
    EK_TRY(ek_read_u8(r, &out->type));
    switch (out->type) {
    case EK_MLS_PROPOSAL_OR_REF_PROPOSAL:
        out->proposal = ek_mls_arena_alloc(a, sizeof(*out->proposal));
        if (out->proposal == NULL)
            return ek_reader_fail(r, EK_ERR_NOMEM);
        return ek_mls_read_proposal(out->proposal, a, r);
    case EK_MLS_PROPOSAL_OR_REF_REFERENCE: return ek_mls_read_opaque(&out->reference, r);
    default: return ek_reader_fail(r, EK_ERR_DECODE);
    }
}

int ek_mls_read_commit(ek_mls_commit *out, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    size_t cap = 0;
    int present = 0;
    *out = (ek_mls_commit){0};
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        int err = EK_OK;
        ek_mls_proposal_or_ref *p =
            ek_mls_list_push((void **)&out->proposals, &out->proposal_count, &cap, sizeof(*p),
                             EK_MLS_MAX_PROPOSALS, a, &err);
        if (p == NULL)
            return ek_reader_fail(r, err);
        (void)read_proposal_or_ref(p, a, &sub);
    }
    EK_TRY(ek_mls_finish_sub(r, &sub));
    EK_TRY(ek_mls_read_presence(&present, r));
    if (!present)
        return EK_OK;
    out->path = ek_mls_arena_alloc(a, sizeof(*out->path));
    if (out->path == NULL)
        return ek_reader_fail(r, EK_ERR_NOMEM);
    return ek_mls_read_update_path(out->path, a, r);
}

int ek_mls_write_commit(ek_writer *w, const ek_mls_commit *x)
{
    if (x->proposal_count > 0 && x->proposals == NULL)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    size_t mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < x->proposal_count; i++) {
        const ek_mls_proposal_or_ref *p = &x->proposals[i];
        (void)ek_write_u8(w, p->type);
        if (p->type == EK_MLS_PROPOSAL_OR_REF_PROPOSAL && p->proposal != NULL)
            (void)ek_mls_write_proposal(w, p->proposal);
        else if (p->type == EK_MLS_PROPOSAL_OR_REF_REFERENCE)
            (void)ek_mls_write_opaque(w, p->reference.data, p->reference.len);
        else
            return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    }
    EK_TRY(ek_mls_vector_end(w, mark));
    if (x->path == NULL)
        return ek_write_u8(w, 0);
    (void)ek_write_u8(w, 1);
    return ek_mls_write_update_path(w, x->path);
}
