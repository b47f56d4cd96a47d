/*
 * reader.c: the bounds-checked cursor over untrusted bytes (s2n_stuffer's
 * role). Nothing else in libenkrypt indexes a network buffer directly.
 */
#include <string.h>

#include <enkrypt/ek_base.h>

void ek_reader_init(ek_reader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = buf != NULL ? len : 0;
    r->pos = 0;
    r->err = EK_OK;
}

size_t ek_reader_remaining(const ek_reader *r)
{
    return r->err != EK_OK ? 0 : r->len - r->pos;
}

int ek_reader_fail(ek_reader *r, int err)
{
    if (r->err == EK_OK)
        r->err = err;
    return r->err;
}

/* Claim n bytes; on success *p points at them and the cursor moves past. */
static int take(ek_reader *r, const uint8_t **p, size_t n)
{
    if (r->err != EK_OK)
        return r->err;
    if (n > r->len - r->pos)
        return ek_reader_fail(r, EK_ERR_TRUNCATED);
    *p = r->buf + r->pos;
    r->pos += n;
    return EK_OK;
}

int ek_read_u8(ek_reader *r, uint8_t *v)
{
    const uint8_t *p = NULL;
    int rc = take(r, &p, 1);
    if (rc == EK_OK)
        *v = p[0];
    return rc;
}

int ek_read_u16(ek_reader *r, uint16_t *v)
{
    const uint8_t *p = NULL;
    int rc = take(r, &p, 2);
    if (rc == EK_OK)
        *v = (uint16_t)((unsigned)p[0] << 8 | p[1]);
    return rc;
}

int ek_read_u32(ek_reader *r, uint32_t *v)
{
    const uint8_t *p = NULL;
    int rc = take(r, &p, 4);
    if (rc == EK_OK)
        *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return rc;
}

int ek_read_u64(ek_reader *r, uint64_t *v)
{
    const uint8_t *p = NULL;
    int rc = take(r, &p, 8);
    if (rc == EK_OK) {
        uint64_t x = 0;
        for (int i = 0; i < 8; i++)
            x = x << 8 | p[i];
        *v = x;
    }
    return rc;
}

int ek_read_bytes(ek_reader *r, uint8_t *out, size_t n)
{
    const uint8_t *p = NULL;
    int rc = take(r, &p, n);
    if (rc == EK_OK && n > 0)
        memcpy(out, p, n);
    return rc;
}

int ek_read_view(ek_reader *r, const uint8_t **p, size_t n)
{
    return take(r, p, n);
}

int ek_read_sub(ek_reader *r, ek_reader *sub, size_t n)
{
    const uint8_t *p = NULL;
    int rc = take(r, &p, n);
    ek_reader_init(sub, rc == EK_OK ? p : NULL, rc == EK_OK ? n : 0);
    if (rc != EK_OK)
        sub->err = rc;
    return rc;
}

int ek_reader_finish(const ek_reader *r)
{
    if (r->err != EK_OK)
        return r->err;
    return r->pos == r->len ? EK_OK : EK_ERR_TRAILING;
}
