/*
 * util.c: the helpers every layer shares: enkrypt-labelled HKDF, QUIC
 * variable-length integers, the saved-state header.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "cascade/cascade_internal.h"

int ek_kdf(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
           size_t ikm_len, const char *label, const uint8_t *context, size_t context_len)
{
    uint8_t info[256];
    size_t pre = sizeof(EK_LABEL_PREFIX) - 1;
    size_t lab = strlen(label);
    if (pre + lab + context_len > sizeof(info) || (context == NULL && context_len > 0))
        return EK_ERR_INVALID_ARG;
    memcpy(info, EK_LABEL_PREFIX, pre);
    for (size_t i = 0; i < lab; i++)
        info[pre + i] = (uint8_t)label[i];
    if (context_len > 0)
        memcpy(info + pre + lab, context, context_len);
    int rc =
        ek_hkdf_sha256(out, out_len, salt, salt_len, ikm, ikm_len, info, pre + lab + context_len);
    ek_wipe(info, sizeof(info));
    return rc;
}

size_t ek_varint_len(uint64_t v)
{
    return v < 64 ? 1 : v < 16384 ? 2 : v < ((uint64_t)1 << 30) ? 4 : 8;
}

int ek_varint_write(ek_writer *w, uint64_t v)
{
    if (v >= EK_VARINT_MAX) {
        if (w->err == EK_OK)
            w->err = EK_ERR_TOO_LARGE;
        return w->err;
    }
    switch (ek_varint_len(v)) {
    case 1: return ek_write_u8(w, (uint8_t)v);
    case 2: return ek_write_u16(w, (uint16_t)(0x4000 | v));
    case 4: return ek_write_u32(w, (uint32_t)(0x80000000u | v));
    default: return ek_write_u64(w, 0xc000000000000000ull | v);
    }
}

int ek_varint_read(ek_reader *r, uint64_t *v)
{
    uint8_t b0 = 0;
    int rc = ek_read_u8(r, &b0);
    if (rc != EK_OK)
        return rc;
    size_t n = (size_t)1 << (b0 >> 6);
    uint64_t x = b0 & 0x3f;
    for (size_t i = 1; i < n; i++) {
        uint8_t b = 0;
        rc = ek_read_u8(r, &b);
        if (rc != EK_OK)
            return rc;
        x = x << 8 | b;
    }
    if (ek_varint_len(x) != n)
        return ek_reader_fail(r, EK_ERR_DECODE);
    *v = x;
    return EK_OK;
}

int ek_state_begin(ek_writer *w, const char magic[4], uint8_t format)
{
    ek_write_bytes(w, magic, 4);
    return ek_write_u8(w, format);
}

int ek_state_check(ek_reader *r, const char magic[4], uint8_t format)
{
    uint8_t m[4], f = 0;
    ek_read_bytes(r, m, 4);
    ek_read_u8(r, &f);
    if (r->err != EK_OK)
        return r->err;
    if (memcmp(m, magic, 4) != 0 || f != format)
        return ek_reader_fail(r, EK_ERR_DECODE);
    return EK_OK;
}
