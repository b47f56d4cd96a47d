/*
 * rng.c: the injectable random generator. The system generator is OpenSSL's
 * private DRBG (seeded from getrandom); the seeded one is a deterministic
 * SHA-256 counter-mode stream for tests and reproducible vectors only.
 */
#include <string.h>

#include <openssl/rand.h>

#include <enkrypt/ek_crypto.h>

static int system_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        if (RAND_priv_bytes(out, chunk) != 1)
            return EK_ERR_RNG;
        out += chunk;
        len -= (size_t)chunk;
    }
    return EK_OK;
}

static const ek_rng system_rng = {system_fill, NULL};

const ek_rng *ek_rng_system(void)
{
    return &system_rng;
}

int ek_random(const ek_rng *rng, uint8_t *out, size_t len)
{
    if (rng == NULL)
        rng = &system_rng;
    if (out == NULL && len > 0)
        return EK_ERR_INVALID_ARG;
    int rc = rng->fill(rng->ctx, out, len);
    if (rc != EK_OK) {
        ek_wipe(out, len);
        return EK_ERR_RNG;
    }
    return EK_OK;
}

static int seeded_fill(void *ctx, uint8_t *out, size_t len)
{
    ek_rng_seeded *s = ctx;
    while (len > 0) {
        if (s->block_used == sizeof(s->block)) {
            uint8_t ctr[8];
            for (int i = 0; i < 8; i++)
                ctr[i] = (uint8_t)(s->counter >> (56 - 8 * i));
            ek_iovec parts[2] = {{s->key, sizeof(s->key)}, {ctr, sizeof(ctr)}};
            ek_sha256_v(s->block, parts, 2);
            s->counter++;
            s->block_used = 0;
        }
        size_t n = sizeof(s->block) - s->block_used;
        if (n > len)
            n = len;
        memcpy(out, s->block + s->block_used, n);
        s->block_used += n;
        out += n;
        len -= n;
    }
    return EK_OK;
}

void ek_rng_seeded_init(ek_rng_seeded *s, const uint8_t *seed, size_t seed_len)
{
    memset(s, 0, sizeof(*s));
    ek_sha256(s->key, seed, seed_len);
    s->block_used = sizeof(s->block);
    s->rng.fill = seeded_fill;
    s->rng.ctx = s;
}
