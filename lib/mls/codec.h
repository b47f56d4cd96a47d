/*
 * codec.h: internal helpers shared by the MLS codec files (lib/mls/codec*.c)
 * and the protocol files built on them. The public per-struct readers and
 * writers are in include/enkrypt/ek_mls.h.
 */
#ifndef EK_MLS_CODEC_H
#define EK_MLS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_mls.h>

/* Return the error of expr, if any. */
#define EK_TRY(expr)                                                                               \
    do {                                                                                           \
        int ek_try_rc_ = (expr);                                                                   \
        if (ek_try_rc_ != EK_OK)                                                                   \
            return ek_try_rc_;                                                                     \
    } while (0)

/* Split off the next <V> vector of r as sub (§2.1.2); EK_ERR_TOO_LARGE
 * past EK_MLS_MAX_VECTOR_BYTES. */
int ek_mls_read_vector(ek_reader *sub, ek_reader *r);

/* Propagate a sub-reader's failure to its parent; a sub-reader that was not
 * consumed completely is a decode error (a vector whose length does not
 * match its contents). */
int ek_mls_finish_sub(ek_reader *r, const ek_reader *sub);

/* Append one zeroed element of elem_size to an arena-backed array,
 * doubling its capacity as needed (the outgrown arrays stay in the arena
 * until it is freed: at most twice the final size). NULL when full (count
 * == max) or out of memory; *err says which. */
void *ek_mls_list_push(void **items, size_t *count, size_t *cap, size_t elem_size, size_t max,
                       ek_mls_arena *a, int *err);

/* optional<T> presence byte (§2.1.1): 0 or 1, anything else malformed. */
int ek_mls_read_presence(int *present, ek_reader *r);

/* uint16 / uint32 x<V> lists of at most max entries. */
int ek_mls_read_u16_list(ek_mls_u16_list *out, size_t max, ek_mls_arena *a, ek_reader *r);
int ek_mls_write_u16_list(ek_writer *w, const ek_mls_u16_list *x);
int ek_mls_read_u32_list(ek_mls_u32_list *out, size_t max, ek_mls_arena *a, ek_reader *r);
int ek_mls_write_u32_list(ek_writer *w, const ek_mls_u32_list *x);

/* Record err on a writer (sticky) and return the writer's error. */
int ek_mls_writer_fail(ek_writer *w, int err);

/* The body of FramedContent's select (application_data<V>, Proposal or
 * Commit), shared by FramedContent and PrivateMessageContent. */
int ek_mls_read_content_body(ek_mls_framed_content *out, ek_mls_arena *a, ek_reader *r);
int ek_mls_write_content_body(ek_writer *w, const ek_mls_framed_content *x);

/* ---- the primitives of ek_mls.h with an allocator ----
 * Each is its public namesake with one more argument: the allocator of the
 * scratch memory it needs (the encoded struct it hashes, signs or feeds to
 * the KDF). The public functions pass NULL (malloc); the group code passes
 * the group's allocator, so that every allocation of a group operation
 * goes through the one hook (and can be made to fail in tests). */
int ek_mls_expand_with_label_alloc(uint8_t *out, size_t out_len, const ek_mls_suite *s,
                                   const uint8_t *secret, size_t secret_len, const void *label,
                                   size_t label_len, const void *context, size_t context_len,
                                   const ek_allocator *alloc);
int ek_mls_ref_hash_alloc(uint8_t *out, const ek_mls_suite *s, const void *label, size_t label_len,
                          const void *value, size_t value_len, const ek_allocator *alloc);
int ek_mls_key_package_ref_alloc(uint8_t *out, const ek_mls_suite *s, const uint8_t *key_package,
                                 size_t len, const ek_allocator *alloc);
int ek_mls_proposal_ref_alloc(uint8_t *out, const ek_mls_suite *s,
                              const uint8_t *authenticated_content, size_t len,
                              const ek_allocator *alloc);
int ek_mls_sign_with_label_alloc(uint8_t *sig, size_t *sig_len, const ek_mls_suite *s,
                                 const uint8_t *priv, size_t priv_len, const char *label,
                                 const void *content, size_t content_len,
                                 const ek_allocator *alloc);
int ek_mls_verify_with_label_alloc(const ek_mls_suite *s, const uint8_t *pub, size_t pub_len,
                                   const char *label, const void *content, size_t content_len,
                                   const uint8_t *sig, size_t sig_len, const ek_allocator *alloc);
int ek_mls_encrypt_with_label_alloc(uint8_t *kem_output, uint8_t *ciphertext, const ek_mls_suite *s,
                                    const uint8_t *pub, size_t pub_len, const char *label,
                                    const void *context, size_t context_len, const void *pt,
                                    size_t pt_len, const ek_rng *rng, const ek_allocator *alloc);
int ek_mls_decrypt_with_label_alloc(uint8_t *pt, const ek_mls_suite *s, const uint8_t *priv,
                                    size_t priv_len, const char *label, const void *context,
                                    size_t context_len, const uint8_t *kem_output,
                                    size_t kem_output_len, const uint8_t *ct, size_t ct_len,
                                    const ek_allocator *alloc);
int ek_mls_psk_secret_alloc(uint8_t *out, const ek_mls_suite *s, const ek_mls_psk *psks,
                            size_t count, const ek_allocator *alloc);
int ek_mls_confirmed_transcript_hash_alloc(uint8_t *out, const ek_mls_suite *s,
                                           const uint8_t *interim_before, size_t interim_len,
                                           const ek_mls_authenticated_content *commit,
                                           const ek_allocator *alloc);
int ek_mls_interim_transcript_hash_alloc(uint8_t *out, const ek_mls_suite *s,
                                         const uint8_t *confirmed, const uint8_t *confirmation_tag,
                                         size_t tag_len, const ek_allocator *alloc);
int ek_mls_key_schedule_from_joiner_alloc(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                                          const uint8_t *joiner_secret, const uint8_t *psk_secret,
                                          const uint8_t *group_context, size_t group_context_len,
                                          const ek_allocator *alloc);
int ek_mls_key_schedule_alloc(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                              const uint8_t *prev_init_secret, const uint8_t *commit_secret,
                              const uint8_t *psk_secret, const uint8_t *group_context,
                              size_t group_context_len, const ek_allocator *alloc);
int ek_mls_exporter_alloc(uint8_t *out, size_t out_len, const ek_mls_suite *s,
                          const uint8_t *exporter_secret, const void *label, size_t label_len,
                          const void *context, size_t context_len, const ek_allocator *alloc);
int ek_mls_verify_content_alloc(const ek_mls_authenticated_content *ac, const ek_mls_suite *s,
                                const uint8_t *sig_pub, size_t sig_pub_len,
                                const uint8_t *group_context, size_t group_context_len,
                                const ek_allocator *alloc);
int ek_mls_public_message_unprotect_alloc(ek_mls_authenticated_content *out, const ek_mls_suite *s,
                                          const ek_mls_public_message *pm,
                                          const uint8_t *membership_key,
                                          const uint8_t *group_context, size_t group_context_len,
                                          const ek_mls_signer_lookup *signer,
                                          const ek_allocator *alloc);

/* ---- PrivateMessage keys, used in two steps (message_protection.c) ----
 * Sealing or opening a PrivateMessage uses one ratchet key; the group
 * deletes it only after everything else the message causes has succeeded,
 * so that an operation failing (e.g. for memory) leaves the state as it
 * was. */
typedef struct ek_mls_key_use {
    int pending; /* 1: generation of (leaf, ratchet) is still to be consumed */
    uint32_t leaf;
    int ratchet;
    uint32_t generation;
} ek_mls_key_use;

/* The generation a sender uses next on (leaf, ratchet): EK_ERR_LIMIT when
 * the ratchet is exhausted. Changes nothing. */
int ek_mls_secret_tree_next_generation(uint32_t *generation, const ek_mls_secret_tree *st,
                                       uint32_t leaf, int ratchet);
/* ek_mls_private_message_protect without consuming the key: *use says
 * which one to consume. */
int ek_mls_private_message_seal(ek_mls_private_message *out, ek_mls_key_use *use, ek_mls_arena *a,
                                const ek_mls_suite *s, ek_mls_secret_tree *st,
                                const uint8_t *sender_data_secret,
                                const ek_mls_authenticated_content *ac, size_t padding_len,
                                const ek_rng *rng);
/* ek_mls_private_message_unprotect without consuming the key. */
int ek_mls_private_message_open(ek_mls_authenticated_content *out, ek_mls_key_use *use,
                                ek_mls_arena *a, const ek_mls_suite *s, ek_mls_secret_tree *st,
                                const uint8_t *sender_data_secret, const ek_mls_private_message *pm,
                                const uint8_t *group_context, size_t group_context_len,
                                const ek_mls_signer_lookup *signer);
/* Consume the key *use names (nothing when none is pending). Fails for
 * memory only before changing anything. */
int ek_mls_key_use_consume(ek_mls_secret_tree *st, const ek_mls_key_use *use);

#endif /* EK_MLS_CODEC_H */
