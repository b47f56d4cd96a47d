/*
 * ek_base.h: what every enkrypt module shares: error codes and their words,
 * the allocator hook, and the one bounds-checked reader and writer through
 * which all untrusted bytes are parsed and all wire bytes are produced.
 *
 * Conventions (see ../shared/STYLE.md): output parameters first, then inputs;
 * (ptr, len) pairs together; functions return EK_OK (0) or a negative ek_err.
 */
#ifndef EK_BASE_H
#define EK_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EK_BUILDING_LIB) && defined(__GNUC__)
#define EK_API __attribute__((visibility("default")))
#else
#define EK_API
#endif

#if defined(__GNUC__)
#define EK_MUST_CHECK __attribute__((warn_unused_result))
#else
#define EK_MUST_CHECK
#endif

/* Error codes. Zero is success; every failure is negative and stable. */
typedef enum ek_err {
    EK_OK = 0,
    EK_ERR_INVALID_ARG = -1,  /* a caller broke the API contract (NULL, bad length) */
    EK_ERR_NOMEM = -2,        /* an allocation failed */
    EK_ERR_CRYPTO = -3,       /* the crypto backend failed unexpectedly */
    EK_ERR_AUTH = -4,         /* a tag, MAC or signature did not verify */
    EK_ERR_DECODE = -5,       /* malformed input (bad encoding, bad value) */
    EK_ERR_TRUNCATED = -6,    /* input ended before the structure did */
    EK_ERR_TRAILING = -7,     /* bytes left over after a complete structure */
    EK_ERR_TOO_LARGE = -8,    /* a length exceeds what the format or a limit allows */
    EK_ERR_WEAK_KEY = -9,     /* a key agreement gave the all-zero / small-order result */
    EK_ERR_BAD_KEY = -10,     /* a key failed its validity check (e.g. FIPS 203 §7.2) */
    EK_ERR_LIMIT = -11,       /* a counter or budget is exhausted (nonce, sequence) */
    EK_ERR_RNG = -12,         /* the random generator failed */
    EK_ERR_UNSUPPORTED = -13, /* algorithm, mode or version not supported */
    EK_ERR_STATE = -14,       /* the object is not in a state that allows this call */
} ek_err;

/* The human words for an error code; never NULL. */
EK_API const char *ek_strerror(int err);

/*
 * Allocator hook. Everything in libenkrypt that allocates takes an
 * ek_allocator (NULL means the C library's malloc/free), so tests can inject
 * failures and embedders can supply their own. No global state.
 */
typedef struct ek_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
} ek_allocator;

EK_API void *ek_alloc(const ek_allocator *a, size_t size);
EK_API void *ek_realloc(const ek_allocator *a, void *ptr, size_t old_size, size_t new_size);
EK_API void ek_free(const ek_allocator *a, void *ptr, size_t size);

/* A (pointer, length) pair for gather interfaces such as ek_sha256_v. */
typedef struct ek_iovec {
    const void *base;
    size_t len;
} ek_iovec;

/*
 * ek_reader: a cursor over untrusted bytes. Every read is bounds checked; the
 * first failure is sticky (later reads fail with the same code and read
 * nothing), so a parser may check once at the end. Multi-byte integers are
 * big-endian (network order), as in TLS and RFC 9420.
 */
typedef struct ek_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int err;
} ek_reader;

EK_API void ek_reader_init(ek_reader *r, const uint8_t *buf, size_t len);
EK_API size_t ek_reader_remaining(const ek_reader *r);
EK_API int ek_read_u8(ek_reader *r, uint8_t *v);
EK_API int ek_read_u16(ek_reader *r, uint16_t *v);
EK_API int ek_read_u32(ek_reader *r, uint32_t *v);
EK_API int ek_read_u64(ek_reader *r, uint64_t *v);
/* Copy exactly n bytes out. */
EK_API int ek_read_bytes(ek_reader *r, uint8_t *out, size_t n);
/* Borrow exactly n bytes: *p points into the reader's buffer. */
EK_API int ek_read_view(ek_reader *r, const uint8_t **p, size_t n);
/* Split off the next n bytes as their own reader (for length-prefixed data). */
EK_API int ek_read_sub(ek_reader *r, ek_reader *sub, size_t n);
/* Record a decode error found by the caller (e.g. a bad enum value). */
EK_API int ek_reader_fail(ek_reader *r, int err);
/* EK_OK if no read failed and every byte was consumed; else the error. */
EK_API int ek_reader_finish(const ek_reader *r);

/*
 * ek_writer: appends to a buffer. Either fixed (caller memory, never grows)
 * or growable (owned, grown through the allocator). Errors are sticky like
 * the reader's.
 */
typedef struct ek_writer {
    uint8_t *buf;
    size_t len;
    size_t cap;
    int err;
    int growable;
    const ek_allocator *alloc;
} ek_writer;

EK_API void ek_writer_init_fixed(ek_writer *w, uint8_t *buf, size_t cap);
EK_API void ek_writer_init_growable(ek_writer *w, const ek_allocator *a);
EK_API int ek_write_u8(ek_writer *w, uint8_t v);
EK_API int ek_write_u16(ek_writer *w, uint16_t v);
EK_API int ek_write_u32(ek_writer *w, uint32_t v);
EK_API int ek_write_u64(ek_writer *w, uint64_t v);
EK_API int ek_write_bytes(ek_writer *w, const void *p, size_t n);
/* Reserve n bytes and return a pointer to them (NULL on error). */
EK_API uint8_t *ek_write_reserve(ek_writer *w, size_t n);
/* Hand the growable buffer to the caller (free with ek_free(a, buf, cap)). */
EK_API int ek_writer_take(ek_writer *w, uint8_t **buf, size_t *len, size_t *cap);
/* Wipe and release a growable writer's buffer; a fixed writer is only wiped. */
EK_API void ek_writer_dispose(ek_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* EK_BASE_H */
