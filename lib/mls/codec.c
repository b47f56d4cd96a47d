/*
 * codec.c: the TLS presentation language as MLS uses it (RFC 9420 §2.1):
 * variable-length integers and <V> vectors (§2.1.2), optional<T> (§2.1.1),
 * integer lists, the Extension list (§7.2), and arena-backed arrays for the
 * decoded structs. Every byte passes through the bounds-checked ek_reader.
 */
#include <string.h>

#include "codec.h"

int ek_mls_writer_fail(ek_writer *w, int err)
{
    if (w->err == EK_OK)
        w->err = err;
    return w->err;
}

/* RFC 9420 §2.1.2: the top two bits give the length (1, 2 or 4 bytes), the
 * rest the value; prefix 11 is invalid and the shortest form is mandatory. */
int ek_mls_read_varint(uint32_t *v, ek_reader *r)
{
    uint8_t b0 = 0;
    EK_TRY(ek_read_u8(r, &b0));
    unsigned prefix = b0 >> 6;
    if (prefix == 3)
        return ek_reader_fail(r, EK_ERR_DECODE);
    size_t len = (size_t)1 << prefix;
    uint32_t x = b0 & 0x3f;
    for (size_t i = 1; i < len; i++) {
        uint8_t b = 0;
        EK_TRY(ek_read_u8(r, &b));
        x = x << 8 | b;
    }
    /* Minimal encoding: a 2-byte form must not fit in 6 bits, a 4-byte
     * form not in 14 bits. */
    if ((len == 2 && x < (1u << 6)) || (len == 4 && x < (1u << 14)))
        return ek_reader_fail(r, EK_ERR_DECODE);
    *v = x;
    return EK_OK;
}

int ek_mls_write_varint(ek_writer *w, size_t v)
{
    if (v < (1u << 6))
        return ek_write_u8(w, (uint8_t)v);
    if (v < (1u << 14))
        return ek_write_u16(w, (uint16_t)(0x4000u | v));
    if (v < (1u << 30))
        return ek_write_u32(w, (uint32_t)(0x80000000u | v));
    return ek_mls_writer_fail(w, EK_ERR_TOO_LARGE);
}

int ek_mls_read_vector(ek_reader *sub, ek_reader *r)
{
    uint32_t n = 0;
    int rc = ek_mls_read_varint(&n, r);
    if (rc != EK_OK) {
        ek_reader_init(sub, NULL, 0);
        sub->err = rc;
        return rc;
    }
    if (n > EK_MLS_MAX_VECTOR_BYTES) {
        ek_reader_init(sub, NULL, 0);
        sub->err = EK_ERR_TOO_LARGE;
        return ek_reader_fail(r, EK_ERR_TOO_LARGE);
    }
    return ek_read_sub(r, sub, n);
}

int ek_mls_finish_sub(ek_reader *r, const ek_reader *sub)
{
    if (sub->err != EK_OK)
        return ek_reader_fail(r, sub->err);
    if (sub->pos != sub->len)
        return ek_reader_fail(r, EK_ERR_DECODE);
    return r->err;
}

int ek_mls_read_opaque(ek_mls_bytes *out, ek_reader *r)
{
    uint32_t n = 0;
    EK_TRY(ek_mls_read_varint(&n, r));
    if (n > EK_MLS_MAX_VECTOR_BYTES)
        return ek_reader_fail(r, EK_ERR_TOO_LARGE);
    const uint8_t *p = NULL;
    EK_TRY(ek_read_view(r, &p, n));
    out->data = n > 0 ? p : NULL;
    out->len = n;
    return EK_OK;
}

int ek_mls_write_opaque(ek_writer *w, const void *p, size_t n)
{
    if (n > EK_MLS_MAX_VECTOR_BYTES)
        return ek_mls_writer_fail(w, EK_ERR_TOO_LARGE);
    if (p == NULL && n > 0)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    EK_TRY(ek_mls_write_varint(w, n));
    return ek_write_bytes(w, p, n);
}

/* The 4-byte placeholder is shrunk to the minimal varint in vector_end;
 * moving the contents left keeps the encoding single-pass. */
size_t ek_mls_vector_begin(ek_writer *w)
{
    size_t mark = w->len;
    (void)ek_write_reserve(w, 4);
    return mark;
}

int ek_mls_vector_end(ek_writer *w, size_t mark)
{
    if (w->err != EK_OK)
        return w->err;
    if (mark + 4 > w->len)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    size_t n = w->len - mark - 4;
    if (n > EK_MLS_MAX_VECTOR_BYTES)
        return ek_mls_writer_fail(w, EK_ERR_TOO_LARGE);
    uint8_t *base = w->buf + mark;
    size_t k = n < (1u << 6) ? 1 : n < (1u << 14) ? 2 : 4;
    if (k != 4)
        memmove(base + k, base + 4, n);
    if (k == 1) {
        base[0] = (uint8_t)n;
    } else if (k == 2) {
        base[0] = (uint8_t)(0x40 | n >> 8);
        base[1] = (uint8_t)n;
    } else {
        base[0] = (uint8_t)(0x80 | n >> 24);
        base[1] = (uint8_t)(n >> 16);
        base[2] = (uint8_t)(n >> 8);
        base[3] = (uint8_t)n;
    }
    w->len -= 4 - k;
    return EK_OK;
}

void *ek_mls_list_push(void **items, size_t *count, size_t *cap, size_t elem_size, size_t max,
                       ek_mls_arena *a, int *err)
{
    if (*count >= max) {
        *err = EK_ERR_TOO_LARGE;
        return NULL;
    }
    if (*count == *cap) {
        size_t ncap = *cap != 0 ? *cap * 2 : 4;
        if (ncap > max)
            ncap = max;
        uint8_t *n = ek_mls_arena_alloc(a, ncap * elem_size);
        if (n == NULL) {
            *err = EK_ERR_NOMEM;
            return NULL;
        }
        if (*count > 0)
            memcpy(n, *items, *count * elem_size);
        *items = n;
        *cap = ncap;
    }
    uint8_t *e = (uint8_t *)*items + *count * elem_size;
    (*count)++;
    return e;
}

int ek_mls_read_presence(int *present, ek_reader *r)
{
    uint8_t b;
    EK_TRY(ek_read_u8(r, &b));
    if (b > 1)
        return ek_reader_fail(r, EK_ERR_DECODE);
    *present = b;
    return EK_OK;
}

int ek_mls_read_u16_list(ek_mls_u16_list *out, size_t max, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    EK_TRY(ek_mls_read_vector(&sub, r));
    if (sub.len % 2 != 0)
        return ek_reader_fail(r, EK_ERR_DECODE);
    size_t n = sub.len / 2;
    if (n > max)
        return ek_reader_fail(r, EK_ERR_TOO_LARGE);
    out->count = n;
    out->items = NULL;
    if (n == 0)
        return EK_OK;
    out->items = ek_mls_arena_alloc(a, n * sizeof(uint16_t));
    if (out->items == NULL)
        return ek_reader_fail(r, EK_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        (void)ek_read_u16(&sub, &out->items[i]);
    return ek_mls_finish_sub(r, &sub);
}

int ek_mls_write_u16_list(ek_writer *w, const ek_mls_u16_list *x)
{
    if (x->count > 0 && x->items == NULL)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    if (x->count > EK_MLS_MAX_VECTOR_BYTES / 2)
        return ek_mls_writer_fail(w, EK_ERR_TOO_LARGE);
    EK_TRY(ek_mls_write_varint(w, x->count * 2));
    for (size_t i = 0; i < x->count; i++)
        (void)ek_write_u16(w, x->items[i]);
    return w->err;
}

int ek_mls_read_u32_list(ek_mls_u32_list *out, size_t max, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    EK_TRY(ek_mls_read_vector(&sub, r));
    if (sub.len % 4 != 0)
        return ek_reader_fail(r, EK_ERR_DECODE);
    size_t n = sub.len / 4;
    if (n > max)
        return ek_reader_fail(r, EK_ERR_TOO_LARGE);
    out->count = n;
    out->items = NULL;
    if (n == 0)
        return EK_OK;
    out->items = ek_mls_arena_alloc(a, n * sizeof(uint32_t));
    if (out->items == NULL)
        return ek_reader_fail(r, EK_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        (void)ek_read_u32(&sub, &out->items[i]);
    return ek_mls_finish_sub(r, &sub);
}

int ek_mls_write_u32_list(ek_writer *w, const ek_mls_u32_list *x)
{
    if (x->count > 0 && x->items == NULL)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    if (x->count > EK_MLS_MAX_VECTOR_BYTES / 4)
        return ek_mls_writer_fail(w, EK_ERR_TOO_LARGE);
    EK_TRY(ek_mls_write_varint(w, x->count * 4));
    for (size_t i = 0; i < x->count; i++)
        (void)ek_write_u32(w, x->items[i]);
    return w->err;
}

/* Extension extensions<V> (§7.2). Duplicate types are a validation matter
 * (§13.4) left to the layer that interprets the list. */
int ek_mls_read_extensions(ek_mls_extensions *out, ek_mls_arena *a, ek_reader *r)
{
    ek_reader sub;
    size_t cap = 0;
    out->items = NULL;
    out->count = 0;
    EK_TRY(ek_mls_read_vector(&sub, r));
    while (ek_reader_remaining(&sub) > 0) {
        int err = EK_OK;
        ek_mls_extension *e = ek_mls_list_push((void **)&out->items, &out->count, &cap, sizeof(*e),
                                               EK_MLS_MAX_EXTENSIONS, a, &err);
        if (e == NULL)
            return ek_reader_fail(r, err);
        (void)ek_read_u16(&sub, &e->type);
        (void)ek_mls_read_opaque(&e->data, &sub);
    }
    return ek_mls_finish_sub(r, &sub);
}

int ek_mls_write_extensions(ek_writer *w, const ek_mls_extensions *x)
{
    if (x->count > 0 && x->items == NULL)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    size_t mark = ek_mls_vector_begin(w);
    for (size_t i = 0; i < x->count; i++) {
        (void)ek_write_u16(w, x->items[i].type);
        (void)ek_mls_write_opaque(w, x->items[i].data.data, x->items[i].data.len);
    }
    return ek_mls_vector_end(w, mark);
}
