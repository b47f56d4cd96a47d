/* memory.c: wiping, constant-time comparison and guarded memory (libsodium). */
#include <sodium.h>

#include <enkrypt/ek_crypto.h>

void ek_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

int ek_ct_equal(const void *a, const void *b, size_t n)
{
    /* OR all differences together; no early exit, no branch on data. */
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return (int)(1 & ((uint32_t)(d - 1) >> 8));
}

int ek_ct_is_zero(const void *p, size_t n)
{
    const volatile uint8_t *x = p;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i];
    return (int)(1 & ((uint32_t)(d - 1) >> 8));
}

void *ek_secure_alloc(size_t n)
{
    if (sodium_init() < 0)
        return NULL;
    return sodium_malloc(n);
}

void ek_secure_free(void *p)
{
    if (p != NULL)
        sodium_free(p);
}
