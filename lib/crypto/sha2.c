/*
 * sha2.c: SHA-256 and SHA-512 over OpenSSL's low-level implementation, which
 * uses the CPU's SHA extensions and needs no allocation (the EVP interface
 * would cost a fetch and a malloc per call on every ratchet step).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

#include <enkrypt/ek_crypto.h>

_Static_assert(sizeof(ek_sha256_ctx) >= sizeof(SHA256_CTX), "ek_sha256_ctx too small");
_Static_assert(sizeof(ek_sha512_ctx) >= sizeof(SHA512_CTX), "ek_sha512_ctx too small");
_Static_assert(_Alignof(ek_sha256_ctx) >= _Alignof(SHA256_CTX), "ek_sha256_ctx misaligned");
_Static_assert(_Alignof(ek_sha512_ctx) >= _Alignof(SHA512_CTX), "ek_sha512_ctx misaligned");

void ek_sha256_init(ek_sha256_ctx *c)
{
    SHA256_Init((SHA256_CTX *)c);
}

void ek_sha256_update(ek_sha256_ctx *c, const void *in, size_t len)
{
    if (len > 0)
        SHA256_Update((SHA256_CTX *)c, in, len);
}

void ek_sha256_final(ek_sha256_ctx *c, uint8_t out[EK_SHA256_LEN])
{
    SHA256_Final(out, (SHA256_CTX *)c);
    ek_wipe(c, sizeof(*c));
}

void ek_sha256(uint8_t out[EK_SHA256_LEN], const void *in, size_t len)
{
    ek_sha256_ctx c;
    ek_sha256_init(&c);
    ek_sha256_update(&c, in, len);
    ek_sha256_final(&c, out);
}

void ek_sha256_v(uint8_t out[EK_SHA256_LEN], const ek_iovec *parts, size_t n)
{
    ek_sha256_ctx c;
    ek_sha256_init(&c);
    for (size_t i = 0; i < n; i++)
        ek_sha256_update(&c, parts[i].base, parts[i].len);
    ek_sha256_final(&c, out);
}

void ek_sha512_init(ek_sha512_ctx *c)
{
    SHA512_Init((SHA512_CTX *)c);
}

void ek_sha512_update(ek_sha512_ctx *c, const void *in, size_t len)
{
    if (len > 0)
        SHA512_Update((SHA512_CTX *)c, in, len);
}

void ek_sha512_final(ek_sha512_ctx *c, uint8_t out[EK_SHA512_LEN])
{
    SHA512_Final(out, (SHA512_CTX *)c);
    ek_wipe(c, sizeof(*c));
}

void ek_sha512(uint8_t out[EK_SHA512_LEN], const void *in, size_t len)
{
    ek_sha512_ctx c;
    ek_sha512_init(&c);
    ek_sha512_update(&c, in, len);
    ek_sha512_final(&c, out);
}
