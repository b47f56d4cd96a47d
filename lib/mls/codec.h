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

#endif /* EK_MLS_CODEC_H */
