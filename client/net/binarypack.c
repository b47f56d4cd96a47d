/*
 * binarypack.c: BinaryPack, the encoding of PeerJS's default `binary`
 * serialization (peerjs-protocol.md §6.5), written from the format table
 * there. Every input byte goes through ek_reader; lengths are checked
 * against what is left before anything is allocated, the depth and the
 * number of nodes are bounded, strings must be valid UTF-8, and the input
 * must be exactly one value.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binarypack.h"

/* ---- decoding ---- */

typedef struct bp_decoder {
    ek_reader r;
    size_t nodes; /* nodes allocated so far, bounded by EK_BP_MAX_NODES */
} bp_decoder;

/* The JavaScript decoder is laxer; we refuse what it would have mangled. */
int ek_bp_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i - 1 < need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            uint8_t cc = s[i + k];
            if ((cc & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (cc & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

static int decode_value(bp_decoder *d, ek_bp_value *out, int depth);

static int read_len(ek_reader *r, int width, size_t *n)
{
    if (width == 2) {
        uint16_t v = 0;
        int rc = ek_read_u16(r, &v);
        *n = v;
        return rc;
    }
    uint32_t v = 0;
    int rc = ek_read_u32(r, &v);
    *n = v;
    return rc;
}

static int decode_bytes(bp_decoder *d, ek_bp_value *out, ek_bp_kind kind, size_t n)
{
    const uint8_t *p = NULL;
    int rc = ek_read_view(&d->r, &p, n);
    if (rc != EK_OK)
        return rc;
    if (kind == EK_BP_STR && !ek_bp_utf8_valid(p, n))
        return ek_reader_fail(&d->r, EK_ERR_DECODE);
    out->kind = kind;
    out->v.bytes.p = p;
    out->v.bytes.n = n;
    return EK_OK;
}

/* count items follow; each takes at least one byte, so a count larger than
 * what is left is refused before allocating anything. */
static int decode_list(bp_decoder *d, ek_bp_value *out, ek_bp_kind kind, size_t n, int depth)
{
    size_t items = kind == EK_BP_MAP ? n * 2 : n;
    if (kind == EK_BP_MAP && n > SIZE_MAX / 2)
        return ek_reader_fail(&d->r, EK_ERR_TOO_LARGE);
    if (items > ek_reader_remaining(&d->r))
        return ek_reader_fail(&d->r, EK_ERR_TRUNCATED);
    if (items > EK_BP_MAX_NODES - d->nodes)
        return ek_reader_fail(&d->r, EK_ERR_TOO_LARGE);
    d->nodes += items;
    out->kind = kind;
    out->v.list.n = n;
    out->v.list.items = NULL;
    if (items == 0)
        return EK_OK;
    out->v.list.items = calloc(items, sizeof(ek_bp_value));
    if (out->v.list.items == NULL)
        return ek_reader_fail(&d->r, EK_ERR_NOMEM);
    for (size_t i = 0; i < items; i++) {
        out->v.list.items[i].kind = EK_BP_NULL;
    }
    for (size_t i = 0; i < items; i++) {
        int rc = decode_value(d, &out->v.list.items[i], depth + 1);
        if (rc != EK_OK)
            return rc;
    }
    return EK_OK;
}

static double double_from_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static double float_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return (double)f;
}

static int decode_value(bp_decoder *d, ek_bp_value *out, int depth)
{
    ek_reader *r = &d->r;
    uint8_t t = 0;
    size_t n = 0;
    int rc;

    out->kind = EK_BP_NULL;
    if (depth > EK_BP_MAX_DEPTH)
        return ek_reader_fail(r, EK_ERR_TOO_LARGE);
    rc = ek_read_u8(r, &t);
    if (rc != EK_OK)
        return rc;

    if (t <= 0x7f) {
        out->kind = EK_BP_INT;
        out->v.i = t;
        return EK_OK;
    }
    if (t >= 0xe0) {
        out->kind = EK_BP_INT;
        out->v.i = (int64_t)t - 256;
        return EK_OK;
    }
    if (t >= 0x80 && t <= 0x8f)
        return decode_list(d, out, EK_BP_MAP, t & 0x0f, depth);
    if (t >= 0x90 && t <= 0x9f)
        return decode_list(d, out, EK_BP_ARRAY, t & 0x0f, depth);
    if (t >= 0xa0 && t <= 0xaf)
        return decode_bytes(d, out, EK_BP_RAW, t & 0x0f);
    if (t >= 0xb0 && t <= 0xbf)
        return decode_bytes(d, out, EK_BP_STR, t & 0x0f);

    switch (t) {
    case 0xc0: out->kind = EK_BP_NULL; return EK_OK;
    case 0xc1:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7: out->kind = EK_BP_UNDEFINED; return EK_OK;
    case 0xc2:
    case 0xc3:
        out->kind = EK_BP_BOOL;
        out->v.b = t == 0xc3;
        return EK_OK;
    case 0xca: {
        uint32_t v = 0;
        rc = ek_read_u32(r, &v);
        out->kind = EK_BP_DOUBLE;
        out->v.d = float_from_bits(v);
        return rc;
    }
    case 0xcb: {
        uint64_t v = 0;
        rc = ek_read_u64(r, &v);
        out->kind = EK_BP_DOUBLE;
        out->v.d = double_from_bits(v);
        return rc;
    }
    case 0xcc: {
        uint8_t v = 0;
        rc = ek_read_u8(r, &v);
        out->kind = EK_BP_INT;
        out->v.i = v;
        return rc;
    }
    case 0xcd: {
        uint16_t v = 0;
        rc = ek_read_u16(r, &v);
        out->kind = EK_BP_INT;
        out->v.i = v;
        return rc;
    }
    case 0xce: {
        uint32_t v = 0;
        rc = ek_read_u32(r, &v);
        out->kind = EK_BP_INT;
        out->v.i = v;
        return rc;
    }
    case 0xcf: {
        uint64_t v = 0;
        rc = ek_read_u64(r, &v);
        if (v <= INT64_MAX) {
            out->kind = EK_BP_INT;
            out->v.i = (int64_t)v;
        } else {
            out->kind = EK_BP_UINT;
            out->v.u = v;
        }
        return rc;
    }
    case 0xd0: {
        uint8_t v = 0;
        rc = ek_read_u8(r, &v);
        out->kind = EK_BP_INT;
        out->v.i = v < 0x80 ? (int64_t)v : (int64_t)v - 0x100;
        return rc;
    }
    case 0xd1: {
        uint16_t v = 0;
        rc = ek_read_u16(r, &v);
        out->kind = EK_BP_INT;
        out->v.i = v < 0x8000 ? (int64_t)v : (int64_t)v - 0x10000;
        return rc;
    }
    case 0xd2: {
        uint32_t v = 0;
        rc = ek_read_u32(r, &v);
        out->kind = EK_BP_INT;
        out->v.i = v < 0x80000000u ? (int64_t)v : (int64_t)v - 0x100000000;
        return rc;
    }
    case 0xd3: {
        uint64_t v = 0;
        rc = ek_read_u64(r, &v);
        out->kind = EK_BP_INT;
        /* two's complement without relying on implementation-defined casts */
        out->v.i = v <= INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
        return rc;
    }
    case 0xd8:
    case 0xd9:
        rc = read_len(r, t == 0xd8 ? 2 : 4, &n);
        return rc != EK_OK ? rc : decode_bytes(d, out, EK_BP_STR, n);
    case 0xda:
    case 0xdb:
        rc = read_len(r, t == 0xda ? 2 : 4, &n);
        return rc != EK_OK ? rc : decode_bytes(d, out, EK_BP_RAW, n);
    case 0xdc:
    case 0xdd:
        rc = read_len(r, t == 0xdc ? 2 : 4, &n);
        return rc != EK_OK ? rc : decode_list(d, out, EK_BP_ARRAY, n, depth);
    case 0xde:
    case 0xdf:
        rc = read_len(r, t == 0xde ? 2 : 4, &n);
        return rc != EK_OK ? rc : decode_list(d, out, EK_BP_MAP, n, depth);
    default: break;
    }
    /* 0xc4-0xc9 have no meaning in BinaryPack. */
    return ek_reader_fail(r, EK_ERR_DECODE);
}

static void free_children(ek_bp_value *v)
{
    if (v->kind != EK_BP_ARRAY && v->kind != EK_BP_MAP)
        return;
    if (v->v.list.items == NULL)
        return;
    size_t items = v->kind == EK_BP_MAP ? v->v.list.n * 2 : v->v.list.n;
    for (size_t i = 0; i < items; i++)
        free_children(&v->v.list.items[i]);
    free(v->v.list.items);
    v->v.list.items = NULL;
}

void ek_bp_value_free(ek_bp_value *v)
{
    if (v == NULL)
        return;
    free_children(v);
    free(v);
}

int ek_bp_decode(ek_bp_value **out, const uint8_t *buf, size_t len)
{
    bp_decoder d;
    *out = NULL;
    ek_bp_value *root = calloc(1, sizeof *root);
    if (root == NULL)
        return EK_ERR_NOMEM;
    root->kind = EK_BP_NULL;
    ek_reader_init(&d.r, buf, len);
    d.nodes = 1;
    int rc = decode_value(&d, root, 0);
    if (rc == EK_OK)
        rc = ek_reader_finish(&d.r);
    if (rc != EK_OK) {
        ek_bp_value_free(root);
        return rc;
    }
    *out = root;
    return EK_OK;
}

const ek_bp_value *ek_bp_map_get(const ek_bp_value *map, const char *key)
{
    if (map == NULL || map->kind != EK_BP_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < map->v.list.n; i++) {
        const ek_bp_value *k = &map->v.list.items[2 * i];
        if (k->kind == EK_BP_STR && k->v.bytes.n == klen && memcmp(k->v.bytes.p, key, klen) == 0)
            return &map->v.list.items[2 * i + 1];
    }
    return NULL;
}

static json_t *number_json(double d)
{
    /* JSON.stringify turns NaN and the infinities into null. */
    if (isnan(d) || isinf(d))
        return json_null();
    return json_real(d);
}

json_t *ek_bp_to_json(const ek_bp_value *v)
{
    switch (v->kind) {
    case EK_BP_NULL:
    case EK_BP_UNDEFINED: return json_null();
    case EK_BP_BOOL: return json_boolean(v->v.b);
    case EK_BP_INT: return json_integer((json_int_t)v->v.i);
    case EK_BP_UINT: return json_real((double)v->v.u);
    case EK_BP_DOUBLE: return number_json(v->v.d);
    case EK_BP_STR: return json_stringn((const char *)v->v.bytes.p, v->v.bytes.n);
    case EK_BP_RAW: {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < v->v.bytes.n; i++) {
            if (json_array_append_new(a, json_integer(v->v.bytes.p[i])) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case EK_BP_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < v->v.list.n; i++) {
            json_t *item = ek_bp_to_json(&v->v.list.items[i]);
            if (item == NULL || json_array_append_new(a, item) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case EK_BP_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; o != NULL && i < v->v.list.n; i++) {
            const ek_bp_value *k = &v->v.list.items[2 * i];
            char num[32];
            const char *key = NULL;
            size_t klen = 0;
            if (k->kind == EK_BP_STR) {
                key = (const char *)k->v.bytes.p;
                klen = k->v.bytes.n;
            } else if (k->kind == EK_BP_INT) {
                /* JavaScript object keys are strings: {1: x} has key "1". */
                int w = snprintf(num, sizeof num, "%lld", (long long)k->v.i);
                key = num;
                klen = (size_t)w;
            } else {
                json_decref(o);
                return NULL;
            }
            json_t *val = ek_bp_to_json(&v->v.list.items[2 * i + 1]);
            if (val == NULL || json_object_setn_new(o, key, klen, val) != 0) {
                json_decref(o);
                o = NULL;
            }
        }
        return o;
    }
    }
    return NULL;
}

/* ---- encoding ---- */

int ek_bp_pack_nil(ek_writer *w)
{
    return ek_write_u8(w, 0xc0);
}

int ek_bp_pack_bool(ek_writer *w, int b)
{
    return ek_write_u8(w, b ? 0xc3 : 0xc2);
}

/* The JavaScript packer's order of integer encodings (peerjs-protocol.md
 * §6.5): fixint, uint8, int8, uint16, int16, uint32, int32, int64. */
int ek_bp_pack_int(ek_writer *w, int64_t v)
{
    if (v >= -32 && v <= 0x7f)
        return ek_write_u8(w, (uint8_t)(v & 0xff));
    if (v >= 0 && v <= 0xff) {
        ek_write_u8(w, 0xcc);
        return ek_write_u8(w, (uint8_t)v);
    }
    if (v >= -128 && v <= 0x7f) {
        ek_write_u8(w, 0xd0);
        return ek_write_u8(w, (uint8_t)(v & 0xff));
    }
    if (v >= 0 && v <= 0xffff) {
        ek_write_u8(w, 0xcd);
        return ek_write_u16(w, (uint16_t)v);
    }
    if (v >= -32768 && v <= 0x7fff) {
        ek_write_u8(w, 0xd1);
        return ek_write_u16(w, (uint16_t)(v & 0xffff));
    }
    if (v >= 0 && v <= 0xffffffff) {
        ek_write_u8(w, 0xce);
        return ek_write_u32(w, (uint32_t)v);
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
        ek_write_u8(w, 0xd2);
        return ek_write_u32(w, (uint32_t)(v & 0xffffffff));
    }
    ek_write_u8(w, 0xd3);
    return ek_write_u64(w, (uint64_t)v);
}

int ek_bp_pack_double(ek_writer *w, double d)
{
    /* JavaScript packs a number with no fractional part as an integer. */
    if (!isnan(d) && !isinf(d) && floor(d) == d && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0)
        return ek_bp_pack_int(w, (int64_t)d);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    ek_write_u8(w, 0xcb);
    return ek_write_u64(w, bits);
}

static int pack_sized(ek_writer *w, uint8_t fix, uint8_t b16, uint8_t b32, size_t n)
{
    if (n <= 0x0f)
        return ek_write_u8(w, (uint8_t)(fix + n));
    if (n <= 0xffff) {
        ek_write_u8(w, b16);
        return ek_write_u16(w, (uint16_t)n);
    }
    if (n <= 0xffffffffu) {
        ek_write_u8(w, b32);
        return ek_write_u32(w, (uint32_t)n);
    }
    /* Cannot happen for our frames; keep the writer's error sticky. */
    w->err = w->err != EK_OK ? w->err : EK_ERR_TOO_LARGE;
    return w->err;
}

int ek_bp_pack_str(ek_writer *w, const char *s, size_t n)
{
    pack_sized(w, 0xb0, 0xd8, 0xd9, n);
    return ek_write_bytes(w, s, n);
}

int ek_bp_pack_raw(ek_writer *w, const uint8_t *p, size_t n)
{
    pack_sized(w, 0xa0, 0xda, 0xdb, n);
    return ek_write_bytes(w, p, n);
}

int ek_bp_pack_array_header(ek_writer *w, size_t n)
{
    return pack_sized(w, 0x90, 0xdc, 0xdd, n);
}

int ek_bp_pack_map_header(ek_writer *w, size_t pairs)
{
    return pack_sized(w, 0x80, 0xde, 0xdf, pairs);
}

static int pack_json(ek_writer *w, const json_t *v, int depth)
{
    if (depth > EK_BP_MAX_DEPTH) {
        w->err = w->err != EK_OK ? w->err : EK_ERR_TOO_LARGE;
        return w->err;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: return ek_bp_pack_nil(w);
    case JSON_TRUE: return ek_bp_pack_bool(w, 1);
    case JSON_FALSE: return ek_bp_pack_bool(w, 0);
    case JSON_INTEGER: return ek_bp_pack_int(w, (int64_t)json_integer_value(v));
    case JSON_REAL: return ek_bp_pack_double(w, json_real_value(v));
    case JSON_STRING: return ek_bp_pack_str(w, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        size_t i;
        const json_t *item;
        ek_bp_pack_array_header(w, json_array_size(v));
        json_array_foreach (v, i, item) {
            if (pack_json(w, item, depth + 1) != EK_OK)
                return w->err;
        }
        return w->err;
    }
    case JSON_OBJECT: {
        const char *key;
        size_t key_len;
        const json_t *item;
        ek_bp_pack_map_header(w, json_object_size(v));
        /* The iteration macro wants a non-const object; it does not modify it. */
        json_t *obj = (json_t *)v;
        json_object_keylen_foreach(obj, key, key_len, item)
        {
            ek_bp_pack_str(w, key, key_len);
            if (pack_json(w, item, depth + 1) != EK_OK)
                return w->err;
        }
        return w->err;
    }
    }
    w->err = w->err != EK_OK ? w->err : EK_ERR_INVALID_ARG;
    return w->err;
}

int ek_bp_pack_json(ek_writer *w, const json_t *v)
{
    return pack_json(w, v, 0);
}

size_t ek_bp_raw_size(size_t n)
{
    return n + (n <= 0x0f ? 1 : n <= 0xffff ? 3 : 5);
}

size_t ek_bp_str_size(size_t n)
{
    return ek_bp_raw_size(n);
}
