/*
 * transcript.c: the transcript hashes of RFC 9420 §8.2 and the confirmation
 * tag of §6.1. The confirmed hash covers a commit's content and signature;
 * the interim hash adds its confirmation tag and feeds the next commit.
 */
#include <enkrypt/ek_crypto.h>

#include "codec.h"

/* ConfirmedTranscriptHashInput = WireFormat || FramedContent (a commit) ||
 * V(signature): an AuthenticatedContent without its confirmation tag. */
int ek_mls_confirmed_transcript_hash_alloc(uint8_t *out, const ek_mls_suite *s,
                                           const uint8_t *interim_before, size_t interim_len,
                                           const ek_mls_authenticated_content *commit,
                                           const ek_allocator *alloc)
{
    if (out == NULL || s == NULL || commit == NULL || (interim_before == NULL && interim_len > 0))
        return EK_ERR_INVALID_ARG;
    if (commit->content.content_type != EK_MLS_CONTENT_COMMIT)
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    (void)ek_write_bytes(&w, interim_before, interim_len);
    (void)ek_write_u16(&w, commit->wire_format);
    (void)ek_mls_write_framed_content(&w, &commit->content);
    int rc = ek_mls_write_opaque(&w, commit->auth.signature.data, commit->auth.signature.len);
    if (rc == EK_OK)
        s->hash(out, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_confirmed_transcript_hash(uint8_t *out, const ek_mls_suite *s,
                                     const uint8_t *interim_before, size_t interim_len,
                                     const ek_mls_authenticated_content *commit)
{
    return ek_mls_confirmed_transcript_hash_alloc(out, s, interim_before, interim_len, commit,
                                                  NULL);
}

/* interim_transcript_hash = Hash(confirmed || InterimTranscriptHashInput),
 * where the input is MAC confirmation_tag, i.e. V(tag). */
int ek_mls_interim_transcript_hash_alloc(uint8_t *out, const ek_mls_suite *s,
                                         const uint8_t *confirmed, const uint8_t *confirmation_tag,
                                         size_t tag_len, const ek_allocator *alloc)
{
    if (out == NULL || s == NULL || confirmed == NULL || (confirmation_tag == NULL && tag_len > 0))
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_growable(&w, alloc);
    (void)ek_write_bytes(&w, confirmed, s->hash_len);
    int rc = ek_mls_write_opaque(&w, confirmation_tag, tag_len);
    if (rc == EK_OK)
        s->hash(out, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_interim_transcript_hash(uint8_t *out, const ek_mls_suite *s, const uint8_t *confirmed,
                                   const uint8_t *confirmation_tag, size_t tag_len)
{
    return ek_mls_interim_transcript_hash_alloc(out, s, confirmed, confirmation_tag, tag_len, NULL);
}

void ek_mls_confirmation_tag(uint8_t *out, const ek_mls_suite *s, const uint8_t *confirmation_key,
                             const uint8_t *confirmed)
{
    s->mac(out, confirmation_key, s->hash_len, confirmed, s->hash_len);
}

int ek_mls_confirmation_tag_verify(const ek_mls_suite *s, const uint8_t *confirmation_key,
                                   const uint8_t *confirmed, const uint8_t *tag, size_t tag_len)
{
    if (s == NULL || confirmation_key == NULL || confirmed == NULL)
        return EK_ERR_INVALID_ARG;
    if (tag == NULL || tag_len != s->hash_len)
        return EK_ERR_AUTH;
    uint8_t want[EK_MLS_MAX_HASH_LEN];
    ek_mls_confirmation_tag(want, s, confirmation_key, confirmed);
    int ok = ek_ct_equal(want, tag, tag_len);
    ek_wipe(want, sizeof(want));
    return ok ? EK_OK : EK_ERR_AUTH;
}
