/*
 * message_protection.c: PrivateMessage protection (RFC 9420 §6.3): content
 * encryption with the sender's ratchet key and a reuse guard (§6.3.1), and
 * sender-data encryption keyed from a sample of the content ciphertext
 * (§6.3.2). Opening checks everything (sender data, content, zero padding,
 * signature) before the ratchet key is deleted, so a rejected message
 * leaves the secret tree as it was.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"

/* SenderData: uint32 leaf_index || uint32 generation || reuse_guard[4]. */
#define SENDER_DATA_LEN (4 + 4 + EK_MLS_REUSE_GUARD_LEN)

static int ratchet_for(uint8_t content_type)
{
    return content_type == EK_MLS_CONTENT_APPLICATION ? EK_MLS_RATCHET_APPLICATION
                                                      : EK_MLS_RATCHET_HANDSHAKE;
}

int ek_mls_sender_data_key_nonce(uint8_t *key, uint8_t *nonce, const ek_mls_suite *s,
                                 const uint8_t *sender_data_secret, const uint8_t *ciphertext,
                                 size_t ct_len)
{
    if (key == NULL || nonce == NULL || s == NULL || sender_data_secret == NULL ||
        (ciphertext == NULL && ct_len > 0))
        return EK_ERR_INVALID_ARG;
    /* ciphertext_sample = ciphertext[0..KDF.Nh-1], or all of a shorter one. */
    size_t sample_len = ct_len < s->hash_len ? ct_len : s->hash_len;
    int rc = ek_mls_expand_with_label(key, s->aead_key_len, s, sender_data_secret, s->hash_len,
                                      "key", 3, ciphertext, sample_len);
    if (rc == EK_OK)
        rc = ek_mls_expand_with_label(nonce, s->aead_nonce_len, s, sender_data_secret, s->hash_len,
                                      "nonce", 5, ciphertext, sample_len);
    if (rc != EK_OK) {
        ek_wipe(key, s->aead_key_len);
        ek_wipe(nonce, s->aead_nonce_len);
    }
    return rc;
}

/* PrivateContentAAD = V(group_id) || uint64 epoch || uint8 content_type ||
 * V(authenticated_data); SenderDataAAD is its first three fields. */
static int write_content_aad(ek_writer *w, const ek_mls_private_message *pm, int with_ad)
{
    (void)ek_mls_write_opaque(w, pm->group_id.data, pm->group_id.len);
    (void)ek_write_u64(w, pm->epoch);
    (void)ek_write_u8(w, pm->content_type);
    if (with_ad)
        (void)ek_mls_write_opaque(w, pm->authenticated_data.data, pm->authenticated_data.len);
    return w->err;
}

/* Encrypt SenderData under the key and nonce sampled from pm->ciphertext. */
static int seal_sender_data(uint8_t *out, const ek_mls_suite *s, const uint8_t *sender_data_secret,
                            const ek_mls_private_message *pm,
                            const uint8_t sender_data[SENDER_DATA_LEN], const ek_allocator *alloc)
{
    uint8_t key[EK_MLS_MAX_AEAD_KEY_LEN], nonce[EK_MLS_AEAD_NONCE_LEN];
    ek_writer aad;
    ek_writer_init_growable(&aad, alloc);
    int rc = ek_mls_sender_data_key_nonce(key, nonce, s, sender_data_secret, pm->ciphertext.data,
                                          pm->ciphertext.len);
    if (rc == EK_OK)
        rc = write_content_aad(&aad, pm, 0);
    if (rc == EK_OK)
        rc = ek_aead_seal(out, s->aead, key, s->aead_key_len, nonce, s->aead_nonce_len, aad.buf,
                          aad.len, sender_data, SENDER_DATA_LEN);
    ek_writer_dispose(&aad);
    ek_wipe(key, sizeof(key));
    ek_wipe(nonce, sizeof(nonce));
    return rc;
}

int ek_mls_private_message_seal(ek_mls_private_message *out, ek_mls_key_use *use, ek_mls_arena *a,
                                const ek_mls_suite *s, ek_mls_secret_tree *st,
                                const uint8_t *sender_data_secret,
                                const ek_mls_authenticated_content *ac, size_t padding_len,
                                const ek_rng *rng)
{
    if (use == NULL)
        return EK_ERR_INVALID_ARG;
    memset(use, 0, sizeof(*use));
    if (out == NULL || a == NULL || s == NULL || st == NULL || st->suite != s ||
        sender_data_secret == NULL || ac == NULL)
        return EK_ERR_INVALID_ARG;
    /* §6.3.2: only members send PrivateMessages. */
    if (ac->wire_format != EK_MLS_WIRE_PRIVATE_MESSAGE ||
        ac->content.sender.type != EK_MLS_SENDER_MEMBER ||
        ac->content.content_type < EK_MLS_CONTENT_APPLICATION ||
        ac->content.content_type > EK_MLS_CONTENT_COMMIT || padding_len > EK_MLS_MAX_PADDING_BYTES)
        return EK_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    out->group_id = ac->content.group_id;
    out->epoch = ac->content.epoch;
    out->content_type = ac->content.content_type;
    out->authenticated_data = ac->content.authenticated_data;

    /* PrivateMessageContent = body || FramedContentAuthData || zero padding. */
    ek_writer pt, aad;
    ek_writer_init_growable(&pt, a->alloc);
    ek_writer_init_growable(&aad, a->alloc);
    (void)ek_mls_write_content_body(&pt, &ac->content);
    (void)ek_mls_write_auth_data(&pt, &ac->auth, ac->content.content_type);
    uint8_t *pad = ek_write_reserve(&pt, padding_len);
    if (pad != NULL)
        memset(pad, 0, padding_len);
    int rc = pt.err;
    if (rc == EK_OK)
        rc = write_content_aad(&aad, out, 1);

    ek_mls_key_nonce kn;
    uint8_t guard[EK_MLS_REUSE_GUARD_LEN];
    uint8_t sender_data[SENDER_DATA_LEN];
    uint8_t *ct = NULL, *esd = NULL;
    memset(&kn, 0, sizeof(kn));
    if (rc == EK_OK) {
        ct = ek_mls_arena_alloc(a, pt.len + EK_AEAD_TAG_LEN);
        esd = ek_mls_arena_alloc(a, SENDER_DATA_LEN + EK_AEAD_TAG_LEN);
        if (ct == NULL || esd == NULL)
            rc = EK_ERR_NOMEM;
    }
    if (rc == EK_OK)
        rc = ek_random(rng, guard, sizeof(guard));
    /* The next generation's key, not consumed yet (the caller consumes it
     * once nothing else can fail). */
    uint32_t leaf = ac->content.sender.index, generation = 0;
    int ratchet = ratchet_for(ac->content.content_type);
    if (rc == EK_OK)
        rc = ek_mls_secret_tree_next_generation(&generation, st, leaf, ratchet);
    if (rc == EK_OK)
        rc = ek_mls_secret_tree_peek(&kn, st, leaf, ratchet, generation);
    if (rc == EK_OK) {
        /* §6.3.1: XOR the reuse guard into the first four nonce bytes. */
        for (size_t i = 0; i < EK_MLS_REUSE_GUARD_LEN; i++)
            kn.nonce[i] ^= guard[i];
        rc = ek_aead_seal(ct, s->aead, kn.key, s->aead_key_len, kn.nonce, s->aead_nonce_len,
                          aad.buf, aad.len, pt.buf, pt.len);
    }
    if (rc == EK_OK) {
        out->ciphertext.data = ct;
        out->ciphertext.len = pt.len + EK_AEAD_TAG_LEN;
        ek_writer sd;
        ek_writer_init_fixed(&sd, sender_data, sizeof(sender_data));
        (void)ek_write_u32(&sd, ac->content.sender.index);
        (void)ek_write_u32(&sd, kn.generation);
        rc = ek_write_bytes(&sd, guard, sizeof(guard));
    }
    if (rc == EK_OK)
        rc = seal_sender_data(esd, s, sender_data_secret, out, sender_data, a->alloc);
    if (rc == EK_OK) {
        out->encrypted_sender_data.data = esd;
        out->encrypted_sender_data.len = SENDER_DATA_LEN + EK_AEAD_TAG_LEN;
        *use = (ek_mls_key_use){1, leaf, ratchet, generation};
    }
    ek_wipe(&kn, sizeof(kn));
    ek_wipe(sender_data, sizeof(sender_data));
    ek_writer_dispose(&pt);
    ek_writer_dispose(&aad);
    if (rc != EK_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* §6.3.2: open SenderData and read leaf, generation and reuse guard. */
static int open_sender_data(uint32_t *leaf, uint32_t *generation, uint8_t *guard,
                            const ek_mls_suite *s, const uint8_t *sender_data_secret,
                            const ek_mls_private_message *pm, const ek_allocator *alloc)
{
    if (pm->encrypted_sender_data.len != SENDER_DATA_LEN + EK_AEAD_TAG_LEN)
        return EK_ERR_AUTH;
    uint8_t key[EK_MLS_MAX_AEAD_KEY_LEN], nonce[EK_MLS_AEAD_NONCE_LEN];
    uint8_t sender_data[SENDER_DATA_LEN];
    ek_writer aad;
    ek_writer_init_growable(&aad, alloc);
    int rc = ek_mls_sender_data_key_nonce(key, nonce, s, sender_data_secret, pm->ciphertext.data,
                                          pm->ciphertext.len);
    if (rc == EK_OK)
        rc = write_content_aad(&aad, pm, 0);
    if (rc == EK_OK)
        rc = ek_aead_open(sender_data, s->aead, key, s->aead_key_len, nonce, s->aead_nonce_len,
                          aad.buf, aad.len, pm->encrypted_sender_data.data,
                          pm->encrypted_sender_data.len);
    if (rc == EK_OK) {
        ek_reader r;
        ek_reader_init(&r, sender_data, sizeof(sender_data));
        (void)ek_read_u32(&r, leaf);
        (void)ek_read_u32(&r, generation);
        (void)ek_read_bytes(&r, guard, EK_MLS_REUSE_GUARD_LEN);
        rc = ek_reader_finish(&r);
    }
    ek_writer_dispose(&aad);
    ek_wipe(key, sizeof(key));
    ek_wipe(nonce, sizeof(nonce));
    ek_wipe(sender_data, sizeof(sender_data));
    return rc;
}

/* §6.3.1: PrivateMessageContent is the body, the auth data, then padding
 * that must be all zero. */
static int parse_private_content(ek_mls_framed_content *content, ek_mls_auth_data *auth,
                                 ek_mls_arena *a, const uint8_t *pt, size_t pt_len)
{
    ek_reader r;
    ek_reader_init(&r, pt, pt_len);
    EK_TRY(ek_mls_read_content_body(content, a, &r));
    EK_TRY(ek_mls_read_auth_data(auth, content->content_type, &r));
    size_t rest = ek_reader_remaining(&r);
    const uint8_t *padding = NULL;
    EK_TRY(ek_read_view(&r, &padding, rest));
    if (rest > 0 && !ek_ct_is_zero(padding, rest))
        return EK_ERR_DECODE;
    return EK_OK;
}

int ek_mls_private_message_open(ek_mls_authenticated_content *out, ek_mls_key_use *use,
                                ek_mls_arena *a, const ek_mls_suite *s, ek_mls_secret_tree *st,
                                const uint8_t *sender_data_secret, const ek_mls_private_message *pm,
                                const uint8_t *group_context, size_t group_context_len,
                                const ek_mls_signer_lookup *signer)
{
    if (use == NULL)
        return EK_ERR_INVALID_ARG;
    memset(use, 0, sizeof(*use));
    if (out == NULL || a == NULL || s == NULL || st == NULL || st->suite != s ||
        sender_data_secret == NULL || pm == NULL || signer == NULL || signer->lookup == NULL)
        return EK_ERR_INVALID_ARG;
    if (pm->content_type < EK_MLS_CONTENT_APPLICATION || pm->content_type > EK_MLS_CONTENT_COMMIT)
        return EK_ERR_DECODE;
    if (pm->ciphertext.len < EK_AEAD_TAG_LEN)
        return EK_ERR_AUTH;

    uint32_t leaf = 0, generation = 0;
    uint8_t guard[EK_MLS_REUSE_GUARD_LEN];
    EK_TRY(open_sender_data(&leaf, &generation, guard, s, sender_data_secret, pm, a->alloc));
    if (leaf >= st->n_leaves)
        return EK_ERR_DECODE;
    int ratchet = ratchet_for(pm->content_type);

    ek_mls_key_nonce kn;
    EK_TRY(ek_mls_secret_tree_peek(&kn, st, leaf, ratchet, generation));
    for (size_t i = 0; i < EK_MLS_REUSE_GUARD_LEN; i++)
        kn.nonce[i] ^= guard[i];

    size_t pt_len = pm->ciphertext.len - EK_AEAD_TAG_LEN;
    uint8_t *pt = ek_mls_arena_alloc(a, pt_len);
    ek_writer aad;
    ek_writer_init_growable(&aad, a->alloc);
    int rc = pt != NULL ? write_content_aad(&aad, pm, 1) : EK_ERR_NOMEM;
    if (rc == EK_OK)
        rc = ek_aead_open(pt, s->aead, kn.key, s->aead_key_len, kn.nonce, s->aead_nonce_len,
                          aad.buf, aad.len, pm->ciphertext.data, pm->ciphertext.len);
    ek_writer_dispose(&aad);
    ek_wipe(&kn, sizeof(kn));
    if (rc != EK_OK)
        return rc;

    ek_mls_authenticated_content ac;
    memset(&ac, 0, sizeof(ac));
    ac.wire_format = EK_MLS_WIRE_PRIVATE_MESSAGE;
    ac.content.group_id = pm->group_id;
    ac.content.epoch = pm->epoch;
    ac.content.sender.type = EK_MLS_SENDER_MEMBER;
    ac.content.sender.index = leaf;
    ac.content.authenticated_data = pm->authenticated_data;
    ac.content.content_type = pm->content_type;
    EK_TRY(parse_private_content(&ac.content, &ac.auth, a, pt, pt_len));

    ek_mls_bytes key = {0};
    EK_TRY(signer->lookup(signer->ctx, &ac.content, &key));
    EK_TRY(ek_mls_verify_content_alloc(&ac, s, key.data, key.len, group_context, group_context_len,
                                       a->alloc));
    *use = (ek_mls_key_use){1, leaf, ratchet, generation};
    *out = ac;
    return EK_OK;
}

int ek_mls_key_use_consume(ek_mls_secret_tree *st, const ek_mls_key_use *use)
{
    if (use == NULL || !use->pending)
        return EK_OK;
    return ek_mls_secret_tree_consume(st, use->leaf, use->ratchet, use->generation);
}

int ek_mls_private_message_protect(ek_mls_private_message *out, ek_mls_arena *a,
                                   const ek_mls_suite *s, ek_mls_secret_tree *st,
                                   const uint8_t *sender_data_secret,
                                   const ek_mls_authenticated_content *ac, size_t padding_len,
                                   const ek_rng *rng)
{
    ek_mls_key_use use;
    EK_TRY(
        ek_mls_private_message_seal(out, &use, a, s, st, sender_data_secret, ac, padding_len, rng));
    int rc = ek_mls_key_use_consume(st, &use);
    if (rc != EK_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

int ek_mls_private_message_unprotect(ek_mls_authenticated_content *out, ek_mls_arena *a,
                                     const ek_mls_suite *s, ek_mls_secret_tree *st,
                                     const uint8_t *sender_data_secret,
                                     const ek_mls_private_message *pm, const uint8_t *group_context,
                                     size_t group_context_len, const ek_mls_signer_lookup *signer)
{
    ek_mls_key_use use;
    EK_TRY(ek_mls_private_message_open(out, &use, a, s, st, sender_data_secret, pm, group_context,
                                       group_context_len, signer));
    /* Everything checked: now the key of this generation is consumed. */
    return ek_mls_key_use_consume(st, &use);
}
