/* hmac.c: HMAC-SHA256 (RFC 2104) on ek_sha256. */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#define BLOCK 64

void ek_hmac_sha256_init(ek_hmac_sha256_ctx *c, const void *key, size_t key_len)
{
    uint8_t k[BLOCK] = {0}, pad[BLOCK];
    /* A key longer than the block is hashed first (RFC 2104 §2). */
    if (key_len > BLOCK)
        ek_sha256(k, key, key_len);
    else if (key_len > 0)
        memcpy(k, key, key_len);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    ek_sha256_init(&c->inner);
    ek_sha256_update(&c->inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ek_sha256_init(&c->outer);
    ek_sha256_update(&c->outer, pad, BLOCK);
    ek_wipe(k, sizeof(k));
    ek_wipe(pad, sizeof(pad));
}

void ek_hmac_sha256_update(ek_hmac_sha256_ctx *c, const void *msg, size_t len)
{
    ek_sha256_update(&c->inner, msg, len);
}

void ek_hmac_sha256_final(ek_hmac_sha256_ctx *c, uint8_t out[EK_HMAC_SHA256_LEN])
{
    uint8_t ih[EK_SHA256_LEN];
    ek_sha256_final(&c->inner, ih);
    ek_sha256_update(&c->outer, ih, sizeof(ih));
    ek_sha256_final(&c->outer, out);
    ek_wipe(ih, sizeof(ih));
}

void ek_hmac_sha256(uint8_t out[EK_HMAC_SHA256_LEN], const void *key, size_t key_len,
                    const void *msg, size_t msg_len)
{
    ek_hmac_sha256_ctx c;
    ek_hmac_sha256_init(&c, key, key_len);
    ek_hmac_sha256_update(&c, msg, msg_len);
    ek_hmac_sha256_final(&c, out);
}

int ek_hmac_sha256_verify(const uint8_t *tag, size_t tag_len, const void *key, size_t key_len,
                          const void *msg, size_t msg_len)
{
    if (tag == NULL || tag_len < EK_HMAC_MIN_TAG_LEN || tag_len > EK_HMAC_SHA256_LEN)
        return EK_ERR_INVALID_ARG;
    uint8_t want[EK_HMAC_SHA256_LEN];
    ek_hmac_sha256(want, key, key_len, msg, msg_len);
    int ok = ek_ct_equal(want, tag, tag_len);
    ek_wipe(want, sizeof(want));
    return ok ? EK_OK : EK_ERR_AUTH;
}
