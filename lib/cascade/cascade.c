/*
 * cascade.c: the cascade itself: seal through layers 0..n-1, open through
 * n-1..0, all-or-nothing (docs/protocol.md §5).
 *
 * Each layer sees the engine's associated data followed by two bytes, its
 * position and the layer count, so a layer's output is bound to where it
 * sits in this cascade. Intermediate results live in two scratch buffers
 * owned by the cascade (grown through the allocator hook, wiped when
 * released); the first layer of a seal reads the caller's plaintext and the
 * last layer of an open writes into the caller's buffer, so the scratch
 * never holds plaintext.
 */
#include <string.h>

#include <enkrypt/ek_cascade.h>

#include "cascade/cascade_internal.h"

struct ek_cascade {
    const ek_allocator *alloc;
    size_t n;
    ek_layer *layers[EK_CASCADE_MAX_LAYERS];
    uint8_t *scratch[2];
    size_t scratch_cap[2];
};

int ek_cascade_new(ek_cascade **out, const ek_allocator *a, ek_layer *const *layers, size_t n)
{
    if (out == NULL || (n > 0 && layers == NULL) || n > EK_CASCADE_MAX_LAYERS) {
        for (size_t i = 0; layers != NULL && i < n; i++)
            ek_layer_free(layers[i]);
        return EK_ERR_INVALID_ARG;
    }
    ek_cascade *c = ek_alloc(a, sizeof(*c));
    if (c == NULL) {
        for (size_t i = 0; i < n; i++)
            ek_layer_free(layers[i]);
        return EK_ERR_NOMEM;
    }
    memset(c, 0, sizeof(*c));
    c->alloc = a;
    c->n = n;
    for (size_t i = 0; i < n; i++)
        c->layers[i] = layers[i];
    *out = c;
    return EK_OK;
}

void ek_cascade_free(ek_cascade *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        ek_layer_free(c->layers[i]);
    for (int i = 0; i < 2; i++) {
        if (c->scratch[i] != NULL) {
            ek_wipe(c->scratch[i], c->scratch_cap[i]);
            ek_free(c->alloc, c->scratch[i], c->scratch_cap[i]);
        }
    }
    const ek_allocator *a = c->alloc;
    ek_wipe(c, sizeof(*c));
    ek_free(a, c, sizeof(*c));
}

size_t ek_cascade_layer_count(const ek_cascade *c)
{
    return c != NULL ? c->n : 0;
}

ek_layer *ek_cascade_layer(const ek_cascade *c, size_t i)
{
    return c != NULL && i < c->n ? c->layers[i] : NULL;
}

size_t ek_cascade_sealed_max(const ek_cascade *c, size_t pt_len)
{
    size_t len = pt_len;
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        size_t o = c->layers[i]->ops->overhead(c->layers[i], len);
        if (o >= SIZE_MAX - len)
            return SIZE_MAX; /* too large for a layer */
        len += o;
    }
    return len;
}

/* Scratch buffer k with room for need bytes. */
static uint8_t *scratch(ek_cascade *c, int k, size_t need)
{
    if (c->scratch[k] != NULL && c->scratch_cap[k] >= need)
        return c->scratch[k];
    size_t cap = need < 4096 ? 4096 : need;
    uint8_t *nb = ek_alloc(c->alloc, cap);
    if (nb == NULL)
        return NULL;
    if (c->scratch[k] != NULL) {
        ek_wipe(c->scratch[k], c->scratch_cap[k]);
        ek_free(c->alloc, c->scratch[k], c->scratch_cap[k]);
    }
    c->scratch[k] = nb;
    c->scratch_cap[k] = cap;
    return nb;
}

/* The layer-i view of the message: the engine's AD, then i and n. */
static int layer_msg(ek_layer_msg *lm, uint8_t ad[EK_CASCADE_MAX_AD + 2], const ek_layer_msg *m,
                     size_t i, size_t n)
{
    if (m->ad_len > EK_CASCADE_MAX_AD || (m->ad_len > 0 && m->ad == NULL))
        return EK_ERR_INVALID_ARG;
    *lm = *m;
    if (m->ad_len > 0)
        memcpy(ad, m->ad, m->ad_len);
    ad[m->ad_len] = (uint8_t)i;
    ad[m->ad_len + 1] = (uint8_t)n;
    lm->ad = ad;
    lm->ad_len = m->ad_len + 2;
    return EK_OK;
}

int ek_cascade_seal(ek_cascade *c, uint8_t *out, size_t out_cap, size_t *out_len,
                    const ek_layer_msg *m, const uint8_t *pt, size_t pt_len)
{
    if (c == NULL || out == NULL || out_len == NULL || m == NULL || (pt == NULL && pt_len > 0))
        return EK_ERR_INVALID_ARG;
    *out_len = 0;
    if (pt_len > EK_CASCADE_MAX_PLAINTEXT)
        return EK_ERR_TOO_LARGE;
    if (c->n == 0) {
        if (out_cap < pt_len)
            return EK_ERR_TOO_LARGE;
        if (pt_len > 0)
            memmove(out, pt, pt_len);
        *out_len = pt_len;
        return EK_OK;
    }
    uint8_t ad[EK_CASCADE_MAX_AD + 2];
    const uint8_t *cur = pt;
    size_t cur_len = pt_len;
    int rc = EK_OK;
    for (size_t i = 0; i < c->n && rc == EK_OK; i++) {
        ek_layer *l = c->layers[i];
        ek_layer_msg lm;
        rc = layer_msg(&lm, ad, m, i, c->n);
        if (rc != EK_OK)
            break;
        size_t over = l->ops->overhead(l, cur_len);
        if (over >= SIZE_MAX - cur_len) {
            rc = EK_ERR_TOO_LARGE;
            break;
        }
        size_t need = cur_len + over;
        uint8_t *dst;
        size_t cap;
        if (i + 1 == c->n) {
            dst = out;
            cap = out_cap;
        } else {
            dst = scratch(c, (int)(i & 1), need);
            cap = need;
            if (dst == NULL) {
                rc = EK_ERR_NOMEM;
                break;
            }
        }
        size_t len = 0;
        rc = l->ops->seal(l, dst, cap, &len, &lm, cur, cur_len);
        cur = dst;
        cur_len = len;
    }
    if (rc != EK_OK) {
        ek_wipe(out, out_cap);
        return rc;
    }
    *out_len = cur_len;
    return EK_OK;
}

int ek_cascade_open(ek_cascade *c, uint8_t *out, size_t out_cap, size_t *out_len,
                    const ek_layer_msg *m, const uint8_t *ct, size_t ct_len)
{
    if (c == NULL || out == NULL || out_len == NULL || m == NULL || (ct == NULL && ct_len > 0))
        return EK_ERR_INVALID_ARG;
    *out_len = 0;
    if (out_cap < ct_len)
        return EK_ERR_TOO_LARGE;
    if (c->n == 0) {
        if (ct_len > 0)
            memmove(out, ct, ct_len);
        *out_len = ct_len;
        return EK_OK;
    }
    uint8_t ad[EK_CASCADE_MAX_AD + 2];
    const uint8_t *cur = ct;
    size_t cur_len = ct_len;
    size_t opened = 0; /* layers n-1 .. n-opened have a pending state */
    int rc = EK_OK;
    for (size_t k = c->n; k-- > 0;) {
        ek_layer *l = c->layers[k];
        ek_layer_msg lm;
        rc = layer_msg(&lm, ad, m, k, c->n);
        if (rc != EK_OK)
            break;
        uint8_t *dst;
        size_t cap;
        if (k == 0) {
            dst = out;
            cap = out_cap;
        } else {
            /* Alternate so a layer never reads and writes the same buffer. */
            dst = scratch(c, (int)(k & 1), cur_len);
            cap = cur_len;
            if (dst == NULL) {
                rc = EK_ERR_NOMEM;
                break;
            }
        }
        size_t len = 0;
        rc = l->ops->open(l, dst, cap, &len, &lm, cur, cur_len);
        if (rc != EK_OK)
            break;
        opened++;
        cur = dst;
        cur_len = len;
    }
    if (rc != EK_OK) {
        for (size_t j = 0; j < opened; j++) {
            ek_layer *l = c->layers[c->n - 1 - j];
            if (l->ops->rollback != NULL)
                l->ops->rollback(l);
        }
        ek_wipe(out, out_cap);
        return rc;
    }
    for (size_t k = 0; k < c->n; k++) {
        if (c->layers[k]->ops->commit != NULL)
            c->layers[k]->ops->commit(c->layers[k]);
    }
    *out_len = cur_len;
    return EK_OK;
}
