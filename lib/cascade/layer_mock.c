/*
 * layer_mock.c: the original Enkrypted Chat's golden-vector mock layer
 * (Profile-v0 Appendix A, V1 and V2; docs/protocol.md Appendix A.1): seal
 * appends one tag byte, open checks and removes it. It only exercises the
 * cascade's plumbing (order, reverse order, abort); it is not a cipher and
 * the session never uses it.
 */
#include <string.h>

#include <enkrypt/ek_cascade.h>

typedef struct mock_layer {
    ek_layer base;
    ek_layer_ops ops; /* per instance: the name is the instance's */
    char name[EK_LAYER_MAX_NAME + 1];
    uint8_t tag;
} mock_layer;

static size_t mock_overhead(const ek_layer *l, size_t pt_len)
{
    (void)l;
    (void)pt_len;
    return 1;
}

static int mock_seal(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                     const ek_layer_msg *m, const uint8_t *pt, size_t pt_len)
{
    (void)m;
    const mock_layer *k = (const mock_layer *)l;
    if (out_cap < pt_len + 1)
        return EK_ERR_TOO_LARGE;
    if (pt_len > 0)
        memcpy(out, pt, pt_len);
    out[pt_len] = k->tag;
    *out_len = pt_len + 1;
    return EK_OK;
}

static int mock_open(ek_layer *l, uint8_t *out, size_t out_cap, size_t *out_len,
                     const ek_layer_msg *m, const uint8_t *ct, size_t ct_len)
{
    (void)m;
    const mock_layer *k = (const mock_layer *)l;
    if (ct_len < 1 || ct[ct_len - 1] != k->tag)
        return EK_ERR_AUTH;
    if (out_cap < ct_len - 1)
        return EK_ERR_TOO_LARGE;
    if (ct_len > 1)
        memcpy(out, ct, ct_len - 1);
    *out_len = ct_len - 1;
    return EK_OK;
}

static int mock_save(const ek_layer *l, ek_writer *w)
{
    const mock_layer *k = (const mock_layer *)l;
    return ek_write_u8(w, k->tag);
}

static int mock_restore(ek_layer *l, const uint8_t *in, size_t in_len)
{
    mock_layer *k = (mock_layer *)l;
    if (in_len != 1 || in[0] != k->tag)
        return EK_ERR_DECODE;
    return EK_OK;
}

static void mock_free(ek_layer *l)
{
    const ek_allocator *a = l->alloc;
    ek_wipe(l, sizeof(mock_layer));
    ek_free(a, l, sizeof(mock_layer));
}

int ek_layer_mock_new(ek_layer **out, const ek_allocator *a, const char *name, uint8_t tag)
{
    if (out == NULL || name == NULL || strlen(name) == 0 || strlen(name) > EK_LAYER_MAX_NAME)
        return EK_ERR_INVALID_ARG;
    mock_layer *k = ek_alloc(a, sizeof(*k));
    if (k == NULL)
        return EK_ERR_NOMEM;
    memset(k, 0, sizeof(*k));
    memcpy(k->name, name, strlen(name));
    k->tag = tag;
    k->ops.name = k->name;
    k->ops.overhead = mock_overhead;
    k->ops.seal = mock_seal;
    k->ops.open = mock_open;
    k->ops.save = mock_save;
    k->ops.restore = mock_restore;
    k->ops.free = mock_free;
    k->base.ops = &k->ops;
    k->base.alloc = a;
    *out = &k->base;
    return EK_OK;
}
