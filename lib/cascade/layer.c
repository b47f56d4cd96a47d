/*
 * layer.c: the generic side of the layer interface: names, freeing, and
 * making a built-in layer from its wire name.
 */
#include <string.h>

#include <enkrypt/ek_cascade.h>

void ek_layer_free(ek_layer *l)
{
    if (l != NULL && l->ops != NULL && l->ops->free != NULL)
        l->ops->free(l);
}

const char *ek_layer_name(const ek_layer *l)
{
    return l != NULL && l->ops != NULL ? l->ops->name : "";
}

int ek_layer_new_by_name(ek_layer **out, const char *name, const ek_allocator *a, const ek_rng *rng,
                         const ek_ratchet_identity *id)
{
    if (out == NULL || name == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    if (strcmp(name, "MLS") == 0)
        return ek_layer_mls_new(out, a, rng);
    if (strcmp(name, "Signal") == 0)
        return id != NULL ? ek_layer_signal_new(out, a, rng, id) : EK_ERR_INVALID_ARG;
    if (strcmp(name, "ML-KEM") == 0)
        return ek_layer_mlkem_new(out, a, rng);
    if (strcmp(name, "AES") == 0)
        return ek_layer_aes_new(out, a, rng);
    return EK_ERR_UNSUPPORTED;
}
