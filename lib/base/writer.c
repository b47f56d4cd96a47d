/*
 * writer.c: the one way wire bytes are produced. A fixed writer fills caller
 * memory and fails with EK_ERR_TOO_LARGE when full; a growable writer owns
 * its buffer and grows it through the allocator hook.
 */
#include <string.h>

#include <sodium.h>

#include <enkrypt/ek_base.h>

void ek_writer_init_fixed(ek_writer *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
}

void ek_writer_init_growable(ek_writer *w, const ek_allocator *a)
{
    memset(w, 0, sizeof(*w));
    w->growable = 1;
    w->alloc = a;
}

static int fail(ek_writer *w, int err)
{
    if (w->err == EK_OK)
        w->err = err;
    return w->err;
}

/* Make room for n more bytes. Growth doubles; the old buffer is wiped
 * before release because writers often hold key material. */
static int ensure(ek_writer *w, size_t n)
{
    if (w->err != EK_OK)
        return w->err;
    if (n <= w->cap - w->len)
        return EK_OK;
    if (!w->growable)
        return fail(w, EK_ERR_TOO_LARGE);
    if (n > SIZE_MAX / 2 - w->len)
        return fail(w, EK_ERR_TOO_LARGE);
    size_t want = w->len + n;
    size_t cap = w->cap != 0 ? w->cap : 64;
    while (cap < want)
        cap *= 2;
    uint8_t *nb = ek_alloc(w->alloc, cap);
    if (nb == NULL)
        return fail(w, EK_ERR_NOMEM);
    if (w->len > 0)
        memcpy(nb, w->buf, w->len);
    if (w->buf != NULL) {
        sodium_memzero(w->buf, w->cap);
        ek_free(w->alloc, w->buf, w->cap);
    }
    w->buf = nb;
    w->cap = cap;
    return EK_OK;
}

uint8_t *ek_write_reserve(ek_writer *w, size_t n)
{
    if (ensure(w, n) != EK_OK)
        return NULL;
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

int ek_write_bytes(ek_writer *w, const void *p, size_t n)
{
    if (n == 0)
        return w->err;
    uint8_t *dst = ek_write_reserve(w, n);
    if (dst == NULL)
        return w->err;
    memcpy(dst, p, n);
    return EK_OK;
}

int ek_write_u8(ek_writer *w, uint8_t v)
{
    return ek_write_bytes(w, &v, 1);
}

int ek_write_u16(ek_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return ek_write_bytes(w, b, sizeof(b));
}

int ek_write_u32(ek_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return ek_write_bytes(w, b, sizeof(b));
}

int ek_write_u64(ek_writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
    return ek_write_bytes(w, b, sizeof(b));
}

int ek_writer_take(ek_writer *w, uint8_t **buf, size_t *len, size_t *cap)
{
    if (w->err != EK_OK)
        return w->err;
    if (!w->growable)
        return EK_ERR_STATE;
    *buf = w->buf;
    *len = w->len;
    *cap = w->cap;
    w->buf = NULL;
    w->len = w->cap = 0;
    return EK_OK;
}

void ek_writer_dispose(ek_writer *w)
{
    if (w->buf != NULL)
        sodium_memzero(w->buf, w->cap);
    if (w->growable)
        ek_free(w->alloc, w->buf, w->cap);
    w->buf = NULL;
    w->len = w->cap = 0;
}
