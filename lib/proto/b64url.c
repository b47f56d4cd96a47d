/*
 * b64url.c: base64url without padding (RFC 4648 §5), the only way bytes
 * travel inside JSON PDUs (docs/protocol.md §3.2). Decoding is strict: the
 * URL-safe alphabet only, no padding, no whitespace, no length of 1 mod 4,
 * and the unused low bits of the last character must be zero, so every
 * byte string has exactly one encoding.
 */
#include <enkrypt/ek_session.h>

#include "proto/pdu.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t ek_b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

int ek_b64url_encode(char *out, size_t out_cap, size_t *out_len, const uint8_t *in, size_t in_len)
{
    if (out_len == NULL || (in == NULL && in_len > 0) ||
        (out == NULL && (out_cap > 0 || in_len > 0)))
        return EK_ERR_INVALID_ARG;
    size_t need = ek_b64url_encoded_len(in_len);
    if (out_cap < need)
        return EK_ERR_TOO_LARGE;
    size_t o = 0, i = 0;
    for (; i + 3 <= in_len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (in_len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[v >> 12 & 63];
    } else if (in_len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    *out_len = o;
    return EK_OK;
}

static int value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int ek_b64url_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len)
{
    if (out_len == NULL || (in == NULL && in_len > 0) ||
        (out == NULL && (out_cap > 0 || in_len > 0)))
        return EK_ERR_INVALID_ARG;
    *out_len = 0;
    if (in_len % 4 == 1)
        return EK_ERR_DECODE;
    size_t need = in_len / 4 * 3 + (in_len % 4 == 0 ? 0 : in_len % 4 - 1);
    if (out_cap < need)
        return EK_ERR_TOO_LARGE;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = value(in[i]);
        if (v < 0)
            return EK_ERR_DECODE;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* The leftover bits (2 or 4) must be zero: one encoding per string. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return EK_ERR_DECODE;
    *out_len = o;
    return EK_OK;
}

int b64url_check(const char *in, size_t in_len, size_t *decoded_len)
{
    if (in_len % 4 == 1)
        return EK_ERR_DECODE;
    for (size_t i = 0; i < in_len; i++) {
        if (value(in[i]) < 0)
            return EK_ERR_DECODE;
    }
    if (in_len % 4 != 0) {
        int last = value(in[in_len - 1]);
        int mask = in_len % 4 == 2 ? 0x0f : 0x03;
        if ((last & mask) != 0)
            return EK_ERR_DECODE;
    }
    *decoded_len = in_len / 4 * 3 + (in_len % 4 == 0 ? 0 : in_len % 4 - 1);
    return EK_OK;
}
