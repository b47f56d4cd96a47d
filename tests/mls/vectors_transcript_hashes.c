/*
 * vectors_transcript_hashes.c: transcript-hashes.json (RFC 9420 §8.2,
 * §6.1): from an AuthenticatedContent carrying a commit and the previous
 * interim hash, the confirmed and interim transcript hashes, and the
 * commit's confirmation tag = MAC(confirmation_key, confirmed). The
 * AuthenticatedContent also re-encodes to its bytes.
 */
#include <enkrypt/ek_mls.h>

#include "mls_vec.h"

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/transcript-hashes.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/transcript-hashes");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        mls_hex_pool p = {0};
        ek_mls_bytes raw = mls_hex_bytes(&p, c, "authenticated_content");
        ek_mls_bytes key = mls_hex_bytes(&p, c, "confirmation_key");
        ek_mls_bytes before = mls_hex_bytes(&p, c, "interim_transcript_hash_before");
        ek_mls_bytes confirmed_want = mls_hex_bytes(&p, c, "confirmed_transcript_hash_after");
        ek_mls_bytes interim_want = mls_hex_bytes(&p, c, "interim_transcript_hash_after");
        ek_mls_arena a;
        ek_mls_arena_init(&a, NULL);
        ek_mls_authenticated_content ac;
        ek_reader r;
        ek_reader_init(&r, raw.data, raw.len);
        int ok = ek_mls_read_authenticated_content(&ac, &a, &r) == EK_OK &&
                 ek_reader_finish(&r) == EK_OK;
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        ok = ok && ek_mls_write_authenticated_content(&w, &ac) == EK_OK &&
             mls_eq(w.buf, w.len, raw.data, raw.len);
        ek_writer_dispose(&w);
        uint8_t confirmed[EK_MLS_MAX_HASH_LEN], interim[EK_MLS_MAX_HASH_LEN];
        ok =
            ok &&
            ek_mls_confirmed_transcript_hash(confirmed, s, before.data, before.len, &ac) == EK_OK &&
            mls_eq(confirmed, s->hash_len, confirmed_want.data, confirmed_want.len) &&
            ek_mls_interim_transcript_hash(interim, s, confirmed, ac.auth.confirmation_tag.data,
                                           ac.auth.confirmation_tag.len) == EK_OK &&
            mls_eq(interim, s->hash_len, interim_want.data, interim_want.len) &&
            key.len == s->hash_len &&
            ek_mls_confirmation_tag_verify(s, key.data, confirmed, ac.auth.confirmation_tag.data,
                                           ac.auth.confirmation_tag.len) == EK_OK;
        ek_vec_case(&st, ok, "case %zu (suite %u)", i, s->id);
        ek_mls_arena_free(&a);
        mls_hex_free(&p);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
