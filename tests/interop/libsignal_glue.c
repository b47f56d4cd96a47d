/*
 * libsignal_glue.c: a libsignal-protocol-c party for the interop test and
 * the benchmark. libsignal-protocol-c brings its own Curve25519 and
 * protobuf code but asks its host for the rest: the crypto provider below
 * implements it with ek_crypto (HMAC-SHA256, SHA-512, AES-256-CBC with
 * PKCS#7, random), and the stores keep one peer's session record, prekeys
 * and signed prekeys in memory. Trust on first use: every identity is
 * trusted.
 */
#include "libsignal_glue.h"

#include <stdlib.h>
#include <string.h>

#include <curve.h>
#include <key_helper.h>
#include <protocol.h>
#include <ratchet.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <session_pre_key.h>
#include <signal_protocol.h>

enum { LSG_MAX_KEYS = 8 };

typedef struct lsg_blob {
    uint32_t id;
    uint8_t *data;
    size_t len;
    int used;
} lsg_blob;

struct lsg_party {
    signal_context *ctx;
    signal_protocol_store_context *store;
    ratchet_identity_key_pair *identity;
    uint8_t identity_pub[EK_RATCHET_PUBLIC_LEN];
    uint8_t identity_priv[32];
    uint32_t registration_id;
    const ek_rng *rng;
    lsg_blob session;
    lsg_blob prekeys[LSG_MAX_KEYS];
    lsg_blob signed_prekeys[LSG_MAX_KEYS];
    session_cipher *cipher;
};

static const signal_protocol_address peer_address = {"peer", 4, 1};

/* ---- the crypto provider, on ek_crypto ---- */

static int cp_random(uint8_t *data, size_t len, void *ud)
{
    lsg_party *p = ud;
    return ek_random(p->rng, data, len) == EK_OK ? 0 : SG_ERR_UNKNOWN;
}

static int cp_hmac_init(void **ctx, const uint8_t *key, size_t key_len, void *ud)
{
    (void)ud;
    ek_hmac_sha256_ctx *c = malloc(sizeof(*c));
    if (c == NULL)
        return SG_ERR_NOMEM;
    ek_hmac_sha256_init(c, key, key_len);
    *ctx = c;
    return 0;
}

static int cp_hmac_update(void *ctx, const uint8_t *data, size_t len, void *ud)
{
    (void)ud;
    ek_hmac_sha256_update(ctx, data, len);
    return 0;
}

static int cp_hmac_final(void *ctx, signal_buffer **out, void *ud)
{
    (void)ud;
    uint8_t mac[EK_HMAC_SHA256_LEN];
    ek_hmac_sha256_final(ctx, mac);
    *out = signal_buffer_create(mac, sizeof(mac));
    return *out != NULL ? 0 : SG_ERR_NOMEM;
}

static void cp_hmac_cleanup(void *ctx, void *ud)
{
    (void)ud;
    if (ctx != NULL) {
        ek_wipe(ctx, sizeof(ek_hmac_sha256_ctx));
        free(ctx);
    }
}

static int cp_sha512_init(void **ctx, void *ud)
{
    (void)ud;
    ek_sha512_ctx *c = malloc(sizeof(*c));
    if (c == NULL)
        return SG_ERR_NOMEM;
    ek_sha512_init(c);
    *ctx = c;
    return 0;
}

static int cp_sha512_update(void *ctx, const uint8_t *data, size_t len, void *ud)
{
    (void)ud;
    ek_sha512_update(ctx, data, len);
    return 0;
}

static int cp_sha512_final(void *ctx, signal_buffer **out, void *ud)
{
    (void)ud;
    uint8_t digest[EK_SHA512_LEN];
    ek_sha512_final(ctx, digest);
    ek_sha512_init(ctx); /* "prepare the context for reuse" */
    *out = signal_buffer_create(digest, sizeof(digest));
    return *out != NULL ? 0 : SG_ERR_NOMEM;
}

static void cp_sha512_cleanup(void *ctx, void *ud)
{
    (void)ud;
    if (ctx != NULL) {
        ek_wipe(ctx, sizeof(ek_sha512_ctx));
        free(ctx);
    }
}

static int cp_encrypt(signal_buffer **out, int cipher, const uint8_t *key, size_t key_len,
                      const uint8_t *iv, size_t iv_len, const uint8_t *pt, size_t pt_len, void *ud)
{
    (void)ud;
    if (cipher != SG_CIPHER_AES_CBC_PKCS5 || key_len != 32 || iv_len != 16)
        return SG_ERR_UNKNOWN; /* v3 sessions use only AES-256-CBC */
    signal_buffer *b = signal_buffer_alloc(EK_AES256_CBC_CT_LEN(pt_len));
    if (b == NULL)
        return SG_ERR_NOMEM;
    if (ek_aes256_cbc_encrypt(signal_buffer_data(b), key, iv, pt, pt_len) != EK_OK) {
        signal_buffer_free(b);
        return SG_ERR_UNKNOWN;
    }
    *out = b;
    return 0;
}

static int cp_decrypt(signal_buffer **out, int cipher, const uint8_t *key, size_t key_len,
                      const uint8_t *iv, size_t iv_len, const uint8_t *ct, size_t ct_len, void *ud)
{
    (void)ud;
    if (cipher != SG_CIPHER_AES_CBC_PKCS5 || key_len != 32 || iv_len != 16 || ct_len == 0)
        return SG_ERR_UNKNOWN;
    uint8_t *tmp = malloc(ct_len);
    size_t n = 0;
    if (tmp == NULL)
        return SG_ERR_NOMEM;
    int rc = ek_aes256_cbc_decrypt(tmp, &n, key, iv, ct, ct_len);
    if (rc == EK_OK)
        *out = signal_buffer_create(tmp, n);
    ek_wipe(tmp, ct_len);
    free(tmp);
    if (rc != EK_OK)
        return SG_ERR_UNKNOWN;
    return *out != NULL ? 0 : SG_ERR_NOMEM;
}

/* ---- stores ---- */

static int blob_set(lsg_blob *b, uint32_t id, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return SG_ERR_NOMEM;
    memcpy(copy, data, len);
    free(b->data);
    b->id = id;
    b->data = copy;
    b->len = len;
    b->used = 1;
    return 0;
}

static void blob_clear(lsg_blob *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static lsg_blob *blob_find(lsg_blob *set, uint32_t id)
{
    for (int i = 0; i < LSG_MAX_KEYS; i++)
        if (set[i].used && set[i].id == id)
            return &set[i];
    return NULL;
}

static int blob_store(lsg_blob *set, uint32_t id, const uint8_t *data, size_t len)
{
    lsg_blob *b = blob_find(set, id);
    for (int i = 0; b == NULL && i < LSG_MAX_KEYS; i++)
        if (!set[i].used)
            b = &set[i];
    return b != NULL ? blob_set(b, id, data, len) : SG_ERR_NOMEM;
}

static int ss_load(signal_buffer **record, signal_buffer **user_record,
                   const signal_protocol_address *address, void *ud)
{
    (void)user_record;
    (void)address;
    lsg_party *p = ud;
    if (!p->session.used)
        return 0;
    *record = signal_buffer_create(p->session.data, p->session.len);
    return *record != NULL ? 1 : SG_ERR_NOMEM;
}

static int ss_sub_devices(signal_int_list **sessions, const char *name, size_t name_len, void *ud)
{
    (void)name;
    (void)name_len;
    (void)ud;
    *sessions = signal_int_list_alloc();
    return *sessions != NULL ? 0 : SG_ERR_NOMEM;
}

static int ss_store(const signal_protocol_address *address, uint8_t *record, size_t record_len,
                    uint8_t *user_record, size_t user_record_len, void *ud)
{
    (void)address;
    (void)user_record;
    (void)user_record_len;
    lsg_party *p = ud;
    return blob_set(&p->session, 0, record, record_len);
}

static int ss_contains(const signal_protocol_address *address, void *ud)
{
    (void)address;
    return ((lsg_party *)ud)->session.used;
}

static int ss_delete(const signal_protocol_address *address, void *ud)
{
    (void)address;
    lsg_party *p = ud;
    int had = p->session.used;
    blob_clear(&p->session);
    return had;
}

static int ss_delete_all(const char *name, size_t name_len, void *ud)
{
    (void)name;
    (void)name_len;
    return ss_delete(NULL, ud);
}

static void store_destroy(void *ud)
{
    (void)ud;
}

static int pk_load(signal_buffer **record, uint32_t id, void *ud)
{
    lsg_blob *b = blob_find(((lsg_party *)ud)->prekeys, id);
    if (b == NULL)
        return SG_ERR_INVALID_KEY_ID;
    *record = signal_buffer_create(b->data, b->len);
    return *record != NULL ? SG_SUCCESS : SG_ERR_NOMEM;
}

static int pk_store(uint32_t id, uint8_t *record, size_t len, void *ud)
{
    return blob_store(((lsg_party *)ud)->prekeys, id, record, len);
}

static int pk_contains(uint32_t id, void *ud)
{
    return blob_find(((lsg_party *)ud)->prekeys, id) != NULL;
}

static int pk_remove(uint32_t id, void *ud)
{
    lsg_blob *b = blob_find(((lsg_party *)ud)->prekeys, id);
    if (b != NULL)
        blob_clear(b);
    return 0;
}

static int spk_load(signal_buffer **record, uint32_t id, void *ud)
{
    lsg_blob *b = blob_find(((lsg_party *)ud)->signed_prekeys, id);
    if (b == NULL)
        return SG_ERR_INVALID_KEY_ID;
    *record = signal_buffer_create(b->data, b->len);
    return *record != NULL ? SG_SUCCESS : SG_ERR_NOMEM;
}

static int spk_store(uint32_t id, uint8_t *record, size_t len, void *ud)
{
    return blob_store(((lsg_party *)ud)->signed_prekeys, id, record, len);
}

static int spk_contains(uint32_t id, void *ud)
{
    return blob_find(((lsg_party *)ud)->signed_prekeys, id) != NULL;
}

static int spk_remove(uint32_t id, void *ud)
{
    lsg_blob *b = blob_find(((lsg_party *)ud)->signed_prekeys, id);
    if (b != NULL)
        blob_clear(b);
    return 0;
}

static int ik_get_pair(signal_buffer **pub, signal_buffer **priv, void *ud)
{
    lsg_party *p = ud;
    *pub = signal_buffer_create(p->identity_pub, sizeof(p->identity_pub));
    *priv = signal_buffer_create(p->identity_priv, sizeof(p->identity_priv));
    return *pub != NULL && *priv != NULL ? 0 : SG_ERR_NOMEM;
}

static int ik_get_registration_id(void *ud, uint32_t *id)
{
    *id = ((lsg_party *)ud)->registration_id;
    return 0;
}

static int ik_save(const signal_protocol_address *address, uint8_t *key, size_t len, void *ud)
{
    (void)address;
    (void)key;
    (void)len;
    (void)ud;
    return 0;
}

static int ik_trusted(const signal_protocol_address *address, uint8_t *key, size_t len, void *ud)
{
    (void)address;
    (void)key;
    (void)len;
    (void)ud;
    return 1;
}

/* ---- the party ---- */

/* Copy a libsignal buffer of exactly n bytes out, and free it. */
static int take_buffer(uint8_t *out, size_t n, signal_buffer *b)
{
    int rc = b != NULL && signal_buffer_len(b) == n ? 0 : SG_ERR_UNKNOWN;
    if (rc == 0)
        memcpy(out, signal_buffer_data(b), n);
    signal_buffer_bzero_free(b);
    return rc;
}

static int party_setup(lsg_party *p)
{
    signal_crypto_provider cp = {
        .random_func = cp_random,
        .hmac_sha256_init_func = cp_hmac_init,
        .hmac_sha256_update_func = cp_hmac_update,
        .hmac_sha256_final_func = cp_hmac_final,
        .hmac_sha256_cleanup_func = cp_hmac_cleanup,
        .sha512_digest_init_func = cp_sha512_init,
        .sha512_digest_update_func = cp_sha512_update,
        .sha512_digest_final_func = cp_sha512_final,
        .sha512_digest_cleanup_func = cp_sha512_cleanup,
        .encrypt_func = cp_encrypt,
        .decrypt_func = cp_decrypt,
        .user_data = p,
    };
    signal_protocol_session_store ss = {ss_load,   ss_sub_devices, ss_store,      ss_contains,
                                        ss_delete, ss_delete_all,  store_destroy, p};
    signal_protocol_pre_key_store pks = {pk_load,   pk_store,      pk_contains,
                                         pk_remove, store_destroy, p};
    signal_protocol_signed_pre_key_store spks = {spk_load,   spk_store,     spk_contains,
                                                 spk_remove, store_destroy, p};
    signal_protocol_identity_key_store iks = {ik_get_pair, ik_get_registration_id, ik_save,
                                              ik_trusted,  store_destroy,          p};
    if (signal_context_create(&p->ctx, p) != 0 ||
        signal_context_set_crypto_provider(p->ctx, &cp) != 0 ||
        signal_protocol_store_context_create(&p->store, p->ctx) != 0 ||
        signal_protocol_store_context_set_session_store(p->store, &ss) != 0 ||
        signal_protocol_store_context_set_pre_key_store(p->store, &pks) != 0 ||
        signal_protocol_store_context_set_signed_pre_key_store(p->store, &spks) != 0 ||
        signal_protocol_store_context_set_identity_key_store(p->store, &iks) != 0)
        return SG_ERR_UNKNOWN;
    signal_buffer *b = NULL;
    if (signal_protocol_key_helper_generate_identity_key_pair(&p->identity, p->ctx) != 0 ||
        signal_protocol_key_helper_generate_registration_id(&p->registration_id, 0, p->ctx) != 0)
        return SG_ERR_UNKNOWN;
    if (ec_public_key_serialize(&b, ratchet_identity_key_pair_get_public(p->identity)) != 0 ||
        take_buffer(p->identity_pub, sizeof(p->identity_pub), b) != 0)
        return SG_ERR_UNKNOWN;
    b = NULL;
    if (ec_private_key_serialize(&b, ratchet_identity_key_pair_get_private(p->identity)) != 0 ||
        take_buffer(p->identity_priv, sizeof(p->identity_priv), b) != 0)
        return SG_ERR_UNKNOWN;
    return 0;
}

lsg_party *lsg_party_new(const ek_rng *rng)
{
    lsg_party *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->rng = rng;
    if (party_setup(p) != 0) {
        lsg_party_free(p);
        return NULL;
    }
    return p;
}

void lsg_party_free(lsg_party *p)
{
    if (p == NULL)
        return;
    if (p->cipher != NULL)
        session_cipher_free(p->cipher);
    if (p->identity != NULL)
        SIGNAL_UNREF(p->identity);
    if (p->store != NULL)
        signal_protocol_store_context_destroy(p->store);
    if (p->ctx != NULL)
        signal_context_destroy(p->ctx);
    blob_clear(&p->session);
    for (int i = 0; i < LSG_MAX_KEYS; i++) {
        blob_clear(&p->prekeys[i]);
        blob_clear(&p->signed_prekeys[i]);
    }
    ek_wipe(p, sizeof(*p));
    free(p);
}

void lsg_identity_public(const lsg_party *p, uint8_t out[EK_RATCHET_PUBLIC_LEN])
{
    memcpy(out, p->identity_pub, EK_RATCHET_PUBLIC_LEN);
}

static int serialize_public(uint8_t out[EK_RATCHET_PUBLIC_LEN], const ec_public_key *k)
{
    signal_buffer *b = NULL;
    int rc = ec_public_key_serialize(&b, k);
    return rc != 0 ? rc : take_buffer(out, EK_RATCHET_PUBLIC_LEN, b);
}

int lsg_make_bundle(lsg_party *p, ek_ratchet_bundle *out, uint32_t signed_id, int with_one_time,
                    uint32_t one_time_id)
{
    memset(out, 0, sizeof(*out));
    session_signed_pre_key *spk = NULL;
    int rc =
        signal_protocol_key_helper_generate_signed_pre_key(&spk, p->identity, signed_id, 0, p->ctx);
    if (rc == 0)
        rc = signal_protocol_signed_pre_key_store_key(p->store, spk);
    if (rc == 0)
        rc = serialize_public(out->signed_prekey,
                              ec_key_pair_get_public(session_signed_pre_key_get_key_pair(spk)));
    if (rc == 0 && session_signed_pre_key_get_signature_len(spk) != EK_XEDDSA_SIG_LEN)
        rc = SG_ERR_UNKNOWN;
    if (rc == 0)
        memcpy(out->signed_prekey_signature, session_signed_pre_key_get_signature(spk),
               EK_XEDDSA_SIG_LEN);
    if (spk != NULL)
        SIGNAL_UNREF(spk);
    if (rc == 0 && with_one_time) {
        signal_protocol_key_helper_pre_key_list_node *head = NULL;
        rc = signal_protocol_key_helper_generate_pre_keys(&head, one_time_id, 1, p->ctx);
        session_pre_key *pk = rc == 0 ? signal_protocol_key_helper_key_list_element(head) : NULL;
        if (rc == 0)
            rc = signal_protocol_pre_key_store_key(p->store, pk);
        if (rc == 0)
            rc = serialize_public(out->one_time_prekey,
                                  ec_key_pair_get_public(session_pre_key_get_key_pair(pk)));
        if (rc == 0) {
            out->has_one_time_prekey = 1;
            out->one_time_prekey_id = session_pre_key_get_id(pk);
        }
        signal_protocol_key_helper_key_list_free(head);
    }
    out->registration_id = p->registration_id;
    out->device_id = 1;
    memcpy(out->identity_key, p->identity_pub, EK_RATCHET_PUBLIC_LEN);
    out->signed_prekey_id = signed_id;
    return rc;
}

static int decode_point(ec_public_key **k, const uint8_t *serialized, lsg_party *p)
{
    return curve_decode_point(k, serialized, EK_RATCHET_PUBLIC_LEN, p->ctx);
}

int lsg_process_bundle(lsg_party *p, const ek_ratchet_bundle *b)
{
    ec_public_key *identity = NULL, *spk = NULL, *opk = NULL;
    session_pre_key_bundle *bundle = NULL;
    session_builder *builder = NULL;
    int rc = decode_point(&identity, b->identity_key, p);
    if (rc == 0)
        rc = decode_point(&spk, b->signed_prekey, p);
    if (rc == 0 && b->has_one_time_prekey)
        rc = decode_point(&opk, b->one_time_prekey, p);
    if (rc == 0)
        rc = session_pre_key_bundle_create(&bundle, b->registration_id, (int)b->device_id,
                                           b->has_one_time_prekey ? b->one_time_prekey_id : 0, opk,
                                           b->signed_prekey_id, spk, b->signed_prekey_signature,
                                           EK_XEDDSA_SIG_LEN, identity);
    if (rc == 0)
        rc = session_builder_create(&builder, p->store, &peer_address, p->ctx);
    if (rc == 0)
        rc = session_builder_process_pre_key_bundle(builder, bundle);
    if (builder != NULL)
        session_builder_free(builder);
    if (bundle != NULL)
        SIGNAL_UNREF(bundle);
    if (identity != NULL)
        SIGNAL_UNREF(identity);
    if (spk != NULL)
        SIGNAL_UNREF(spk);
    if (opk != NULL)
        SIGNAL_UNREF(opk);
    return rc;
}

void lsg_forget_session(lsg_party *p)
{
    blob_clear(&p->session);
}

static int cipher_of(lsg_party *p, session_cipher **c)
{
    if (p->cipher == NULL) {
        int rc = session_cipher_create(&p->cipher, p->store, &peer_address, p->ctx);
        if (rc != 0)
            return rc;
    }
    *c = p->cipher;
    return 0;
}

int lsg_encrypt(lsg_party *p, uint8_t *out, size_t cap, size_t *out_len, int *type,
                const uint8_t *pt, size_t pt_len)
{
    session_cipher *c = NULL;
    ciphertext_message *m = NULL;
    int rc = cipher_of(p, &c);
    if (rc == 0)
        rc = session_cipher_encrypt(c, pt, pt_len, &m);
    if (rc == 0) {
        signal_buffer *s = ciphertext_message_get_serialized(m);
        int t = ciphertext_message_get_type(m);
        *type = t == CIPHERTEXT_PREKEY_TYPE ? EK_RATCHET_MSG_PREKEY : EK_RATCHET_MSG_SIGNAL;
        if (signal_buffer_len(s) > cap) {
            rc = SG_ERR_NOMEM;
        } else {
            memcpy(out, signal_buffer_data(s), signal_buffer_len(s));
            *out_len = signal_buffer_len(s);
        }
    }
    if (m != NULL)
        SIGNAL_UNREF(m);
    return rc;
}

int lsg_decrypt(lsg_party *p, uint8_t *out, size_t cap, size_t *out_len, int type,
                const uint8_t *msg, size_t msg_len)
{
    session_cipher *c = NULL;
    signal_buffer *pt = NULL;
    int rc = cipher_of(p, &c);
    if (rc == 0 && type == EK_RATCHET_MSG_PREKEY) {
        pre_key_signal_message *m = NULL;
        rc = pre_key_signal_message_deserialize(&m, msg, msg_len, p->ctx);
        if (rc == 0)
            rc = session_cipher_decrypt_pre_key_signal_message(c, m, NULL, &pt);
        if (m != NULL)
            SIGNAL_UNREF(m);
    } else if (rc == 0) {
        signal_message *m = NULL;
        rc = signal_message_deserialize(&m, msg, msg_len, p->ctx);
        if (rc == 0)
            rc = session_cipher_decrypt_signal_message(c, m, NULL, &pt);
        if (m != NULL)
            SIGNAL_UNREF(m);
    }
    if (rc == 0) {
        if (signal_buffer_len(pt) > cap) {
            rc = SG_ERR_NOMEM;
        } else {
            memcpy(out, signal_buffer_data(pt), signal_buffer_len(pt));
            *out_len = signal_buffer_len(pt);
        }
    }
    if (pt != NULL)
        signal_buffer_bzero_free(pt);
    return rc;
}

int lsg_sign(lsg_party *p, uint8_t sig[64], const uint8_t priv[32], const uint8_t *msg, size_t len)
{
    ec_private_key *k = NULL;
    signal_buffer *s = NULL;
    int rc = curve_decode_private_point(&k, priv, 32, p->ctx);
    if (rc == 0)
        rc = curve_calculate_signature(p->ctx, &s, k, msg, len);
    if (rc == 0)
        rc = take_buffer(sig, 64, s);
    if (k != NULL)
        SIGNAL_UNREF(k);
    return rc;
}

int lsg_verify(lsg_party *p, const uint8_t pub[EK_RATCHET_PUBLIC_LEN], const uint8_t *msg,
               size_t len, const uint8_t sig[64])
{
    ec_public_key *k = NULL;
    int rc = decode_point(&k, pub, p);
    if (rc == 0)
        rc = curve_verify_signature(k, msg, len, sig, 64);
    if (k != NULL)
        SIGNAL_UNREF(k);
    return rc;
}
