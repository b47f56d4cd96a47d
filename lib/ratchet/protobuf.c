/*
 * protobuf.c: the smallest protobuf codec that the Signal v3 messages and
 * our prekey bundle need: varints (wire type 0) and length-delimited bytes
 * (wire type 2), read through ek_reader and written through ek_writer.
 *
 * Reading is stricter than protobuf requires, since nobody we talk to needs
 * the slack: varints must be minimal and at most 10 bytes, uint32 fields
 * must fit, and the wire types 1, 3, 4 and 5 are refused. Which fields may
 * appear, and how often, is the message decoders' business (message.c,
 * bundle.c).
 */
#include <enkrypt/ek_base.h>

#include "ratchet_internal.h"

enum { MAX_VARINT_LEN = 10, MAX_FIELD = (1 << 29) - 1 };

size_t pb_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t pb_bytes_field_len(uint32_t field, size_t n)
{
    return pb_varint_len((uint64_t)field << 3 | PB_LEN) + pb_varint_len(n) + n;
}

size_t pb_uint32_field_len(uint32_t field, uint32_t v)
{
    return pb_varint_len((uint64_t)field << 3 | PB_VARINT) + pb_varint_len(v);
}

void pb_write_varint(ek_writer *w, uint64_t v)
{
    uint8_t buf[MAX_VARINT_LEN];
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (uint8_t)v;
    ek_write_bytes(w, buf, n);
}

void pb_write_uint32(ek_writer *w, uint32_t field, uint32_t v)
{
    pb_write_varint(w, (uint64_t)field << 3 | PB_VARINT);
    pb_write_varint(w, v);
}

uint8_t *pb_reserve_bytes(ek_writer *w, uint32_t field, size_t n)
{
    pb_write_varint(w, (uint64_t)field << 3 | PB_LEN);
    pb_write_varint(w, n);
    return ek_write_reserve(w, n);
}

void pb_write_bytes(ek_writer *w, uint32_t field, const void *p, size_t n)
{
    pb_write_varint(w, (uint64_t)field << 3 | PB_LEN);
    pb_write_varint(w, n);
    ek_write_bytes(w, p, n);
}

void pb_write_public_key(ek_writer *w, uint32_t field, const uint8_t u[RATCHET_KEY_LEN])
{
    uint8_t key[EK_RATCHET_PUBLIC_LEN];
    ratchet_public_key(key, u);
    pb_write_bytes(w, field, key, sizeof(key));
}

int pb_read_varint(ek_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < MAX_VARINT_LEN; i++) {
        uint8_t b;
        int rc = ek_read_u8(r, &b);
        if (rc != EK_OK)
            return rc;
        /* The tenth byte may only hold bit 63. */
        if (i == MAX_VARINT_LEN - 1 && b > 1)
            return ek_reader_fail(r, EK_ERR_DECODE);
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            /* A zero last byte after others would be a longer encoding of
             * the same value. */
            if (i > 0 && b == 0)
                return ek_reader_fail(r, EK_ERR_DECODE);
            *v = x;
            return EK_OK;
        }
    }
    return ek_reader_fail(r, EK_ERR_DECODE);
}

int pb_read_key(ek_reader *r, uint32_t *field, unsigned *wire)
{
    uint64_t key = 0;
    int rc = pb_read_varint(r, &key);
    if (rc != EK_OK)
        return rc;
    uint64_t number = key >> 3;
    unsigned type = (unsigned)(key & 7);
    if (number == 0 || number > MAX_FIELD || (type != PB_VARINT && type != PB_LEN))
        return ek_reader_fail(r, EK_ERR_DECODE);
    *field = (uint32_t)number;
    *wire = type;
    return EK_OK;
}

int pb_read_uint32(ek_reader *r, uint32_t *v)
{
    uint64_t x = 0;
    int rc = pb_read_varint(r, &x);
    if (rc != EK_OK)
        return rc;
    if (x > UINT32_MAX)
        return ek_reader_fail(r, EK_ERR_DECODE);
    *v = (uint32_t)x;
    return EK_OK;
}

int pb_read_bytes(ek_reader *r, const uint8_t **p, size_t *n)
{
    uint64_t len = 0;
    int rc = pb_read_varint(r, &len);
    if (rc != EK_OK)
        return rc;
    if (len > ek_reader_remaining(r))
        return ek_reader_fail(r, EK_ERR_TRUNCATED);
    *n = (size_t)len;
    return ek_read_view(r, p, (size_t)len);
}

int pb_read_public_key(ek_reader *r, const uint8_t **u)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    int rc = pb_read_bytes(r, &p, &n);
    if (rc != EK_OK)
        return rc;
    if (n != EK_RATCHET_PUBLIC_LEN || ratchet_parse_public_key(u, p) != EK_OK)
        return ek_reader_fail(r, EK_ERR_DECODE);
    return EK_OK;
}
