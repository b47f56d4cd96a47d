/*
 * cascade_internal.h: what the layers of lib/cascade share: the key
 * derivation with enkrypt's labels, the QUIC-style variable-length integers
 * the compact layer encodings use, and the saved-state framing.
 */
#ifndef EK_CASCADE_INTERNAL_H
#define EK_CASCADE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_base.h>
#include <enkrypt/ek_cascade.h>

/* Every label starts with this prefix (docs/protocol.md §2.1). */
#define EK_LABEL_PREFIX "enkrypt 1.0 "

/*
 * out = HKDF-SHA256(salt, ikm, info = "enkrypt 1.0 " || label || context),
 * out_len bytes. The label is a NUL-terminated ASCII string.
 */
int ek_kdf(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
           size_t ikm_len, const char *label, const uint8_t *context, size_t context_len);

/* QUIC variable-length integers (RFC 9000 §16): 1, 2, 4 or 8 bytes, the two
 * high bits of the first byte giving the length; values below 2^62. The
 * reader refuses a non-minimal encoding. */
#define EK_VARINT_MAX ((uint64_t)1 << 62)
size_t ek_varint_len(uint64_t v);
int ek_varint_write(ek_writer *w, uint64_t v);
int ek_varint_read(ek_reader *r, uint64_t *v);

/* Saved layer states start with a 4-byte magic and a 1-byte format. */
int ek_state_begin(ek_writer *w, const char magic[4], uint8_t format);
int ek_state_check(ek_reader *r, const char magic[4], uint8_t format);

#endif /* EK_CASCADE_INTERNAL_H */
