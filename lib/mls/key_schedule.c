/*
 * key_schedule.c: the MLS key schedule (RFC 9420 §8, Figure 22): joiner,
 * welcome and epoch secrets, the secrets derived from the epoch secret
 * (Table 4), the exporter (§8.5), the Welcome key and nonce (§12.4.3.1)
 * and the external key pair (§8). Intermediate secrets (the extracted
 * values, the epoch secret) are wiped as soon as they are used (§9.2).
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"

void ek_mls_epoch_secrets_wipe(ek_mls_epoch_secrets *es)
{
    ek_wipe(es, sizeof(*es));
}

/* Table 4: every secret derived from epoch_secret. */
static int derive_from_epoch(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                             const uint8_t *epoch_secret)
{
    static const struct {
        const char *label;
        size_t offset;
    } table[] = {
        {"sender data", offsetof(ek_mls_epoch_secrets, sender_data_secret)},
        {"encryption", offsetof(ek_mls_epoch_secrets, encryption_secret)},
        {"exporter", offsetof(ek_mls_epoch_secrets, exporter_secret)},
        {"external", offsetof(ek_mls_epoch_secrets, external_secret)},
        {"confirm", offsetof(ek_mls_epoch_secrets, confirmation_key)},
        {"membership", offsetof(ek_mls_epoch_secrets, membership_key)},
        {"resumption", offsetof(ek_mls_epoch_secrets, resumption_psk)},
        {"authentication", offsetof(ek_mls_epoch_secrets, epoch_authenticator)},
        {"init", offsetof(ek_mls_epoch_secrets, init_secret)},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        EK_TRY(ek_mls_derive_secret((uint8_t *)out + table[i].offset, s, epoch_secret,
                                    table[i].label));
    out->len = s->hash_len;
    return EK_OK;
}

int ek_mls_key_schedule_from_epoch_secret(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                                          const uint8_t *epoch_secret)
{
    if (out == NULL || s == NULL || epoch_secret == NULL || s->hash_len > EK_MLS_MAX_HASH_LEN)
        return EK_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    int rc = derive_from_epoch(out, s, epoch_secret);
    if (rc != EK_OK)
        ek_mls_epoch_secrets_wipe(out);
    return rc;
}

int ek_mls_key_schedule_from_joiner_alloc(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                                          const uint8_t *joiner_secret, const uint8_t *psk_secret,
                                          const uint8_t *group_context, size_t group_context_len,
                                          const ek_allocator *alloc)
{
    if (out == NULL || s == NULL || joiner_secret == NULL || psk_secret == NULL ||
        group_context == NULL || s->hash_len > EK_MLS_MAX_HASH_LEN)
        return EK_ERR_INVALID_ARG;
    size_t nh = s->hash_len;
    uint8_t member[EK_MLS_MAX_HASH_LEN], epoch[EK_MLS_MAX_HASH_LEN];
    /* psk_secret --> KDF.Extract(salt = joiner_secret); done before out is
     * cleared, as the inputs may live in out. */
    s->kdf_extract(member, joiner_secret, nh, psk_secret, nh);
    memmove(epoch, joiner_secret, nh);
    memset(out, 0, sizeof(*out));
    memcpy(out->joiner_secret, epoch, nh);
    int rc = ek_mls_derive_secret(out->welcome_secret, s, member, "welcome");
    if (rc == EK_OK)
        rc = ek_mls_expand_with_label_alloc(epoch, nh, s, member, nh, "epoch", 5, group_context,
                                            group_context_len, alloc);
    if (rc == EK_OK)
        rc = derive_from_epoch(out, s, epoch);
    ek_wipe(member, sizeof(member));
    ek_wipe(epoch, sizeof(epoch));
    if (rc != EK_OK)
        ek_mls_epoch_secrets_wipe(out);
    return rc;
}

int ek_mls_key_schedule_from_joiner(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                                    const uint8_t *joiner_secret, const uint8_t *psk_secret,
                                    const uint8_t *group_context, size_t group_context_len)
{
    return ek_mls_key_schedule_from_joiner_alloc(out, s, joiner_secret, psk_secret, group_context,
                                                 group_context_len, NULL);
}

int ek_mls_key_schedule_alloc(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                              const uint8_t *prev_init_secret, const uint8_t *commit_secret,
                              const uint8_t *psk_secret, const uint8_t *group_context,
                              size_t group_context_len, const ek_allocator *alloc)
{
    if (out == NULL || s == NULL || prev_init_secret == NULL || commit_secret == NULL ||
        group_context == NULL || s->hash_len > EK_MLS_MAX_HASH_LEN)
        return EK_ERR_INVALID_ARG;
    size_t nh = s->hash_len;
    uint8_t extracted[EK_MLS_MAX_HASH_LEN], joiner[EK_MLS_MAX_HASH_LEN];
    /* commit_secret --> KDF.Extract(salt = init_secret_[n-1]), then
     * ExpandWithLabel(., "joiner", GroupContext_[n], KDF.Nh). */
    s->kdf_extract(extracted, prev_init_secret, nh, commit_secret, nh);
    int rc = ek_mls_expand_with_label_alloc(joiner, nh, s, extracted, nh, "joiner", 6,
                                            group_context, group_context_len, alloc);
    if (rc == EK_OK)
        rc = ek_mls_key_schedule_from_joiner_alloc(out, s, joiner, psk_secret, group_context,
                                                   group_context_len, alloc);
    ek_wipe(extracted, sizeof(extracted));
    ek_wipe(joiner, sizeof(joiner));
    return rc;
}

int ek_mls_key_schedule(ek_mls_epoch_secrets *out, const ek_mls_suite *s,
                        const uint8_t *prev_init_secret, const uint8_t *commit_secret,
                        const uint8_t *psk_secret, const uint8_t *group_context,
                        size_t group_context_len)
{
    return ek_mls_key_schedule_alloc(out, s, prev_init_secret, commit_secret, psk_secret,
                                     group_context, group_context_len, NULL);
}

/* RFC 9420 §8.5: MLS-Exporter(Label, Context, Length) =
 *   ExpandWithLabel(DeriveSecret(exporter_secret, Label), "exported",
 *                   Hash(Context), Length). */
int ek_mls_exporter_alloc(uint8_t *out, size_t out_len, const ek_mls_suite *s,
                          const uint8_t *exporter_secret, const void *label, size_t label_len,
                          const void *context, size_t context_len, const ek_allocator *alloc)
{
    if (out == NULL || s == NULL || exporter_secret == NULL || (label == NULL && label_len > 0) ||
        (context == NULL && context_len > 0))
        return EK_ERR_INVALID_ARG;
    size_t nh = s->hash_len;
    uint8_t derived[EK_MLS_MAX_HASH_LEN], context_hash[EK_MLS_MAX_HASH_LEN];
    int rc = ek_mls_expand_with_label_alloc(derived, nh, s, exporter_secret, nh, label, label_len,
                                            NULL, 0, alloc);
    if (rc == EK_OK) {
        s->hash(context_hash, context, context_len);
        rc = ek_mls_expand_with_label_alloc(out, out_len, s, derived, nh, "exported", 8,
                                            context_hash, nh, alloc);
    }
    ek_wipe(derived, sizeof(derived));
    return rc;
}

int ek_mls_exporter(uint8_t *out, size_t out_len, const ek_mls_suite *s,
                    const uint8_t *exporter_secret, const void *label, size_t label_len,
                    const void *context, size_t context_len)
{
    return ek_mls_exporter_alloc(out, out_len, s, exporter_secret, label, label_len, context,
                                 context_len, NULL);
}

/* RFC 9420 §12.4.3.1: welcome_nonce = ExpandWithLabel(welcome_secret,
 * "nonce", "", AEAD.Nn); welcome_key likewise with "key" and AEAD.Nk. */
int ek_mls_welcome_key_nonce(uint8_t *key, uint8_t *nonce, const ek_mls_suite *s,
                             const uint8_t *welcome_secret)
{
    if (key == NULL || nonce == NULL || s == NULL || welcome_secret == NULL)
        return EK_ERR_INVALID_ARG;
    int rc = ek_mls_expand_with_label(key, s->aead_key_len, s, welcome_secret, s->hash_len, "key",
                                      3, NULL, 0);
    if (rc == EK_OK)
        rc = ek_mls_expand_with_label(nonce, s->aead_nonce_len, s, welcome_secret, s->hash_len,
                                      "nonce", 5, NULL, 0);
    if (rc != EK_OK) {
        ek_wipe(key, s->aead_key_len);
        ek_wipe(nonce, s->aead_nonce_len);
    }
    return rc;
}

int ek_mls_external_key_pair(uint8_t *pub, uint8_t *priv, const ek_mls_suite *s,
                             const uint8_t *external_secret)
{
    if (s == NULL)
        return EK_ERR_INVALID_ARG;
    return ek_mls_derive_key_pair(pub, priv, s, external_secret, s->hash_len);
}
