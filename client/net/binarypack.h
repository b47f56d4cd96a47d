/*
 * binarypack.h: PeerJS's BinaryPack (peerjs-js-binarypack 2.x), the
 * encoding of the default `binary` serialization (peerjs-protocol.md §6.5).
 * It looks like MessagePack but is not: 0xa0-0xbf and 0xd8-0xdb swap the
 * meaning of raw bytes and strings.
 *
 * Decoding reads untrusted bytes only through libenkrypt's bounds-checked
 * ek_reader, into a small tree of ek_bp_value nodes whose strings and byte
 * strings point into the input (so the input must outlive the tree). The
 * decoder bounds the depth and the node count and needs the whole input to
 * be one value. Encoding follows the JavaScript packer's choices (integer
 * widths, float64 for non-integers) so a browser peer decodes what it would
 * have packed itself.
 */
#ifndef EK_NET_BINARYPACK_H
#define EK_NET_BINARYPACK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <enkrypt/ek_base.h>

#define EK_BP_MAX_DEPTH 64
#define EK_BP_MAX_NODES 262144u

typedef enum ek_bp_kind {
    EK_BP_NULL,
    EK_BP_UNDEFINED, /* 0xc1 and the unused 0xd4-0xd7 decode as JavaScript undefined */
    EK_BP_BOOL,
    EK_BP_INT,    /* every integer that fits int64 */
    EK_BP_UINT,   /* uint64 above INT64_MAX */
    EK_BP_DOUBLE, /* float32 and float64 */
    EK_BP_STR,    /* UTF-8 (checked) */
    EK_BP_RAW,    /* bytes (JavaScript ArrayBuffer) */
    EK_BP_ARRAY,
    EK_BP_MAP, /* items[2i] is a key, items[2i+1] its value */
} ek_bp_kind;

typedef struct ek_bp_value {
    ek_bp_kind kind;
    union {
        int b;
        int64_t i;
        uint64_t u;
        double d;
        struct {
            const uint8_t *p; /* points into the decoded input */
            size_t n;
        } bytes;
        struct {
            struct ek_bp_value *items;
            size_t n; /* elements (array) or pairs (map) */
        } list;
    } v;
} ek_bp_value;

/* Decode buf as exactly one value. 0, or EK_ERR_TRUNCATED / EK_ERR_DECODE /
 * EK_ERR_TRAILING / EK_ERR_TOO_LARGE (depth or node bound) / EK_ERR_NOMEM.
 * Free *out with ek_bp_value_free. */
int ek_bp_decode(ek_bp_value **out, const uint8_t *buf, size_t len);
void ek_bp_value_free(ek_bp_value *v);

/* The value of key in a map whose keys are strings; NULL if absent. */
const ek_bp_value *ek_bp_map_get(const ek_bp_value *map, const char *key);

/* The value as JSON, the way JSON.stringify would see what the browser
 * decoded: undefined becomes null, NaN/Infinity null, raw bytes an array of
 * numbers, integer map keys their decimal text. NULL if not representable
 * (a map key that is neither string nor number) or out of memory. */
json_t *ek_bp_to_json(const ek_bp_value *v);

/* Encoders, appending to w (errors are w's sticky errors). */
int ek_bp_pack_nil(ek_writer *w);
int ek_bp_pack_bool(ek_writer *w, int b);
int ek_bp_pack_int(ek_writer *w, int64_t v);
int ek_bp_pack_double(ek_writer *w, double d);
int ek_bp_pack_str(ek_writer *w, const char *s, size_t n);
int ek_bp_pack_raw(ek_writer *w, const uint8_t *p, size_t n);
int ek_bp_pack_array_header(ek_writer *w, size_t n);
int ek_bp_pack_map_header(ek_writer *w, size_t pairs);
/* A JSON value, recursively (depth bounded by EK_BP_MAX_DEPTH). */
int ek_bp_pack_json(ek_writer *w, const json_t *v);

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF. */
int ek_bp_utf8_valid(const uint8_t *s, size_t n);

/* Encoded sizes, for sizing fixed writers. */
size_t ek_bp_raw_size(size_t n);
size_t ek_bp_str_size(size_t n);

#endif /* EK_NET_BINARYPACK_H */
