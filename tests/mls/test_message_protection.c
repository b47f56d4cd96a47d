/*
 * test_message_protection.c: PublicMessage and PrivateMessage protection
 * (RFC 9420 §6.2, §6.3) on the failure paths: tampered ciphertext, sender
 * data, membership tag or signature; replays; non-zero padding; a sender
 * leaf outside the tree; a blank sender; refused inputs. Every rejected
 * PrivateMessage must leave the secret tree as it was, so the genuine
 * message still opens afterwards.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>
#include <enkrypt/ek_mls.h>

#include "ek_test.h"

typedef struct fx {
    const ek_mls_suite *s;
    uint8_t sig_pub[32], sig_priv[32], other_pub[32], other_priv[32];
    uint8_t encryption_secret[32], sender_data_secret[32], membership_key[32];
    uint8_t group_id[16];
    uint8_t gc[256];
    size_t gc_len;
    int blank_sender; /* the lookup reports the sender's leaf as blank */
    int use_other_key;
} fx;

static int lookup(void *ctx, const ek_mls_framed_content *content, ek_mls_bytes *key)
{
    fx *f = ctx;
    if (f->blank_sender || content->sender.index != 2)
        return EK_ERR_STATE;
    key->data = f->use_other_key ? f->other_pub : f->sig_pub;
    key->len = 32;
    return EK_OK;
}

static void fx_init(fx *f, uint16_t suite)
{
    memset(f, 0, sizeof(*f));
    ek_rng_seeded rng;
    ek_rng_seeded_init(&rng, (const uint8_t *)"mls message protection", 22);
    f->s = ek_mls_suite_get(suite);
    EK_CHECK_OK(ek_ed25519_keypair(f->sig_pub, f->sig_priv, &rng.rng));
    EK_CHECK_OK(ek_ed25519_keypair(f->other_pub, f->other_priv, &rng.rng));
    EK_CHECK_OK(ek_random(&rng.rng, f->encryption_secret, 32));
    EK_CHECK_OK(ek_random(&rng.rng, f->sender_data_secret, 32));
    EK_CHECK_OK(ek_random(&rng.rng, f->membership_key, 32));
    EK_CHECK_OK(ek_random(&rng.rng, f->group_id, sizeof(f->group_id)));
    ek_mls_group_context gc = {
        .version = EK_MLS_VERSION_MLS10,
        .cipher_suite = suite,
        .group_id = {f->group_id, sizeof(f->group_id)},
        .epoch = 7,
        .tree_hash = {f->membership_key, 32},
    };
    ek_writer w;
    ek_writer_init_fixed(&w, f->gc, sizeof(f->gc));
    EK_CHECK_OK(ek_mls_write_group_context(&w, &gc));
    f->gc_len = w.len;
}

static void content_init(ek_mls_authenticated_content *ac, fx *f, uint16_t wire_format,
                         uint8_t type, const char *text)
{
    memset(ac, 0, sizeof(*ac));
    ac->wire_format = wire_format;
    ac->content.group_id = (ek_mls_bytes){f->group_id, sizeof(f->group_id)};
    ac->content.epoch = 7;
    ac->content.sender.type = EK_MLS_SENDER_MEMBER;
    ac->content.sender.index = 2;
    ac->content.authenticated_data = (ek_mls_bytes){(const uint8_t *)"ad", 2};
    ac->content.content_type = type;
    if (type == EK_MLS_CONTENT_APPLICATION) {
        ac->content.u.application_data = (ek_mls_bytes){(const uint8_t *)text, strlen(text)};
    } else {
        ac->content.u.proposal.type = EK_MLS_PROPOSAL_REMOVE;
        ac->content.u.proposal.u.remove = 1;
    }
}

static int open_private(fx *f, ek_mls_secret_tree *rx, const ek_mls_private_message *pm,
                        ek_mls_authenticated_content *out, ek_mls_arena *a)
{
    ek_mls_signer_lookup signer = {lookup, f};
    return ek_mls_private_message_unprotect(out, a, f->s, rx, f->sender_data_secret, pm, f->gc,
                                            f->gc_len, &signer);
}

/* Copy a byte string into the arena so a test can flip bits in it. */
static ek_mls_bytes dup(ek_mls_arena *a, ek_mls_bytes b)
{
    uint8_t *p = ek_mls_arena_alloc(a, b.len);
    memcpy(p, b.data, b.len);
    return (ek_mls_bytes){p, b.len};
}

static void test_private_failures(uint16_t suite)
{
    fx f;
    fx_init(&f, suite);
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_secret_tree tx, rx;
    EK_CHECK_OK(ek_mls_secret_tree_init(&tx, f.s, NULL, f.encryption_secret, 4));
    EK_CHECK_OK(ek_mls_secret_tree_init(&rx, f.s, NULL, f.encryption_secret, 4));

    /* Three application messages, with 100 bytes of padding. */
    ek_mls_private_message pm[3];
    for (int i = 0; i < 3; i++) {
        ek_mls_authenticated_content ac;
        content_init(&ac, &f, EK_MLS_WIRE_PRIVATE_MESSAGE, EK_MLS_CONTENT_APPLICATION, "hello");
        EK_CHECK_OK(ek_mls_sign_content(&ac, &a, f.s, f.sig_priv, 32, f.gc, f.gc_len));
        EK_CHECK_OK(ek_mls_private_message_protect(&pm[i], &a, f.s, &tx, f.sender_data_secret, &ac,
                                                   100, NULL));
        /* body V("hello") 6 + V(signature) 2 + 64 + padding 100 + tag 16 */
        EK_CHECK(pm[i].ciphertext.len == 6 + 66 + 100 + 16);
    }
    ek_mls_authenticated_content out;
    ek_mls_private_message bad;

    /* A flipped ciphertext byte: rejected, nothing consumed. */
    bad = pm[1];
    bad.ciphertext = dup(&a, pm[1].ciphertext);
    ((uint8_t *)bad.ciphertext.data)[40] ^= 0x80;
    EK_CHECK(open_private(&f, &rx, &bad, &out, &a) != EK_OK);
    /* A flipped sender-data byte. */
    bad = pm[1];
    bad.encrypted_sender_data = dup(&a, pm[1].encrypted_sender_data);
    ((uint8_t *)bad.encrypted_sender_data.data)[3] ^= 1;
    EK_CHECK_RC(open_private(&f, &rx, &bad, &out, &a), EK_ERR_AUTH);
    /* A different epoch or authenticated_data (both in the AAD). */
    bad = pm[1];
    bad.epoch = 8;
    EK_CHECK_RC(open_private(&f, &rx, &bad, &out, &a), EK_ERR_AUTH);
    bad = pm[1];
    bad.authenticated_data = (ek_mls_bytes){(const uint8_t *)"AD", 2};
    EK_CHECK_RC(open_private(&f, &rx, &bad, &out, &a), EK_ERR_AUTH);
    /* Signed by someone else, or from a blank leaf. */
    f.use_other_key = 1;
    EK_CHECK_RC(open_private(&f, &rx, &pm[1], &out, &a), EK_ERR_AUTH);
    f.use_other_key = 0;
    f.blank_sender = 1;
    EK_CHECK_RC(open_private(&f, &rx, &pm[1], &out, &a), EK_ERR_STATE);
    f.blank_sender = 0;

    /* Out of order: 2, then 0, then 1 (the one the forgeries aimed at). */
    static const int order[3] = {2, 0, 1};
    for (int i = 0; i < 3; i++) {
        EK_CHECK_OK(open_private(&f, &rx, &pm[order[i]], &out, &a));
        EK_CHECK(out.content.sender.index == 2 &&
                 out.content.content_type == EK_MLS_CONTENT_APPLICATION &&
                 out.content.u.application_data.len == 5 &&
                 memcmp(out.content.u.application_data.data, "hello", 5) == 0);
    }
    /* Replays find their keys gone. */
    for (int i = 0; i < 3; i++)
        EK_CHECK_RC(open_private(&f, &rx, &pm[i], &out, &a), EK_ERR_STATE);

    /* Refused inputs on the sending side. */
    ek_mls_authenticated_content ac;
    content_init(&ac, &f, EK_MLS_WIRE_PUBLIC_MESSAGE, EK_MLS_CONTENT_APPLICATION, "x");
    EK_CHECK_RC(
        ek_mls_private_message_protect(&bad, &a, f.s, &tx, f.sender_data_secret, &ac, 0, NULL),
        EK_ERR_INVALID_ARG);
    content_init(&ac, &f, EK_MLS_WIRE_PRIVATE_MESSAGE, EK_MLS_CONTENT_APPLICATION, "x");
    ac.content.sender.type = EK_MLS_SENDER_EXTERNAL;
    EK_CHECK_RC(
        ek_mls_private_message_protect(&bad, &a, f.s, &tx, f.sender_data_secret, &ac, 0, NULL),
        EK_ERR_INVALID_ARG);
    ac.content.sender.type = EK_MLS_SENDER_MEMBER;
    EK_CHECK_RC(ek_mls_private_message_protect(&bad, &a, f.s, &tx, f.sender_data_secret, &ac,
                                               EK_MLS_MAX_PADDING_BYTES + 1, NULL),
                EK_ERR_INVALID_ARG);
    ek_mls_secret_tree_free(&tx);
    ek_mls_secret_tree_free(&rx);
    ek_mls_arena_free(&a);
}

/* Seal a PrivateMessage by hand from plaintext pt, so the receiver meets
 * content our sender would never produce. */
static void seal_by_hand(ek_mls_private_message *pm, ek_mls_arena *a, fx *f, ek_mls_secret_tree *tx,
                         uint32_t leaf, const uint8_t *pt, size_t pt_len)
{
    memset(pm, 0, sizeof(*pm));
    pm->group_id = (ek_mls_bytes){f->group_id, sizeof(f->group_id)};
    pm->epoch = 7;
    pm->content_type = EK_MLS_CONTENT_APPLICATION;
    ek_mls_key_nonce kn;
    EK_CHECK_OK(ek_mls_secret_tree_next(&kn, tx, 2, EK_MLS_RATCHET_APPLICATION));
    uint8_t aad[64];
    ek_writer w;
    ek_writer_init_fixed(&w, aad, sizeof(aad));
    (void)ek_mls_write_opaque(&w, f->group_id, sizeof(f->group_id));
    (void)ek_write_u64(&w, 7);
    (void)ek_write_u8(&w, EK_MLS_CONTENT_APPLICATION);
    size_t sd_aad_len = w.len;
    EK_CHECK_OK(ek_mls_write_opaque(&w, NULL, 0));
    uint8_t *ct = ek_mls_arena_alloc(a, pt_len + 16);
    EK_CHECK_OK(ek_aead_seal(ct, f->s->aead, kn.key, f->s->aead_key_len, kn.nonce, 12, aad, w.len,
                             pt, pt_len));
    pm->ciphertext = (ek_mls_bytes){ct, pt_len + 16};
    uint8_t sd[12] = {0};
    sd[3] = (uint8_t)leaf;
    sd[7] = (uint8_t)kn.generation; /* reuse guard 0 */
    uint8_t key[32], nonce[12];
    EK_CHECK_OK(
        ek_mls_sender_data_key_nonce(key, nonce, f->s, f->sender_data_secret, ct, pt_len + 16));
    uint8_t *esd = ek_mls_arena_alloc(a, 28);
    EK_CHECK_OK(ek_aead_seal(esd, f->s->aead, key, f->s->aead_key_len, nonce, 12, aad, sd_aad_len,
                             sd, sizeof(sd)));
    pm->encrypted_sender_data = (ek_mls_bytes){esd, 28};
}

static void test_hand_sealed(void)
{
    fx f;
    fx_init(&f, 1);
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_secret_tree tx, rx;
    EK_CHECK_OK(ek_mls_secret_tree_init(&tx, f.s, NULL, f.encryption_secret, 4));
    EK_CHECK_OK(ek_mls_secret_tree_init(&rx, f.s, NULL, f.encryption_secret, 4));
    /* A genuinely signed content, to isolate the padding check. */
    ek_mls_authenticated_content ac, out;
    content_init(&ac, &f, EK_MLS_WIRE_PRIVATE_MESSAGE, EK_MLS_CONTENT_APPLICATION, "pad");
    EK_CHECK_OK(ek_mls_sign_content(&ac, &a, f.s, f.sig_priv, 32, f.gc, f.gc_len));
    uint8_t pt[128];
    ek_writer w;
    ek_writer_init_fixed(&w, pt, sizeof(pt));
    (void)ek_mls_write_opaque(&w, "pad", 3);
    EK_CHECK_OK(ek_mls_write_auth_data(&w, &ac.auth, EK_MLS_CONTENT_APPLICATION));
    size_t body = w.len;
    memset(pt + body, 0, 8);
    /* The authenticated_data of content_init is "ad", but the hand-sealed
     * message carries none: the signature must then fail. */
    ek_mls_private_message pm;
    seal_by_hand(&pm, &a, &f, &tx, 2, pt, body + 8);
    EK_CHECK_RC(open_private(&f, &rx, &pm, &out, &a), EK_ERR_AUTH);
    /* Same plaintext with a non-zero padding byte: malformed (§6.3.1). */
    ac.content.authenticated_data = (ek_mls_bytes){NULL, 0};
    EK_CHECK_OK(ek_mls_sign_content(&ac, &a, f.s, f.sig_priv, 32, f.gc, f.gc_len));
    ek_writer_init_fixed(&w, pt, sizeof(pt));
    (void)ek_mls_write_opaque(&w, "pad", 3);
    EK_CHECK_OK(ek_mls_write_auth_data(&w, &ac.auth, EK_MLS_CONTENT_APPLICATION));
    memset(pt + body, 0, 8);
    pt[body + 5] = 1;
    seal_by_hand(&pm, &a, &f, &tx, 2, pt, body + 8);
    EK_CHECK_RC(open_private(&f, &rx, &pm, &out, &a), EK_ERR_DECODE);
    /* With zero padding it opens. */
    pt[body + 5] = 0;
    seal_by_hand(&pm, &a, &f, &tx, 2, pt, body + 8);
    EK_CHECK_OK(open_private(&f, &rx, &pm, &out, &a));
    /* Sender data naming leaf 9 of a 4-leaf tree. */
    seal_by_hand(&pm, &a, &f, &tx, 9, pt, body + 8);
    EK_CHECK_RC(open_private(&f, &rx, &pm, &out, &a), EK_ERR_DECODE);
    ek_mls_secret_tree_free(&tx);
    ek_mls_secret_tree_free(&rx);
    ek_mls_arena_free(&a);
}

static void test_public_failures(void)
{
    fx f;
    fx_init(&f, 1);
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_signer_lookup signer = {lookup, &f};
    ek_mls_authenticated_content ac, out;
    content_init(&ac, &f, EK_MLS_WIRE_PUBLIC_MESSAGE, EK_MLS_CONTENT_PROPOSAL, NULL);
    EK_CHECK_OK(ek_mls_sign_content(&ac, &a, f.s, f.sig_priv, 32, f.gc, f.gc_len));
    ek_mls_public_message pm, bad;
    EK_CHECK_OK(ek_mls_public_message_protect(&pm, &a, f.s, &ac, f.membership_key, f.gc, f.gc_len));
    EK_CHECK_OK(
        ek_mls_public_message_unprotect(&out, f.s, &pm, f.membership_key, f.gc, f.gc_len, &signer));
    EK_CHECK(out.content.u.proposal.u.remove == 1);
    /* Tampered membership tag, signature, content; another group context. */
    bad = pm;
    bad.membership_tag = dup(&a, pm.membership_tag);
    ((uint8_t *)bad.membership_tag.data)[0] ^= 1;
    EK_CHECK_RC(
        ek_mls_public_message_unprotect(&out, f.s, &bad, f.membership_key, f.gc, f.gc_len, &signer),
        EK_ERR_AUTH);
    bad = pm;
    bad.membership_tag.len = 31;
    EK_CHECK_RC(
        ek_mls_public_message_unprotect(&out, f.s, &bad, f.membership_key, f.gc, f.gc_len, &signer),
        EK_ERR_AUTH);
    bad = pm;
    bad.content.u.proposal.u.remove = 0;
    EK_CHECK_RC(
        ek_mls_public_message_unprotect(&out, f.s, &bad, f.membership_key, f.gc, f.gc_len, &signer),
        EK_ERR_AUTH);
    uint8_t gc2[256];
    memcpy(gc2, f.gc, f.gc_len);
    gc2[f.gc_len - 2] ^= 1;
    EK_CHECK_RC(
        ek_mls_public_message_unprotect(&out, f.s, &pm, f.membership_key, gc2, f.gc_len, &signer),
        EK_ERR_AUTH);
    /* A valid membership tag cannot save a bad signature. */
    f.use_other_key = 1;
    EK_CHECK_RC(
        ek_mls_public_message_unprotect(&out, f.s, &pm, f.membership_key, f.gc, f.gc_len, &signer),
        EK_ERR_AUTH);
    f.use_other_key = 0;
    EK_CHECK_RC(ek_mls_public_message_unprotect(&out, f.s, &pm, NULL, f.gc, f.gc_len, &signer),
                EK_ERR_INVALID_ARG);
    /* Application data is never a PublicMessage, in either direction. */
    bad = pm;
    bad.content.content_type = EK_MLS_CONTENT_APPLICATION;
    bad.content.u.application_data = (ek_mls_bytes){(const uint8_t *)"x", 1};
    EK_CHECK_RC(
        ek_mls_public_message_unprotect(&out, f.s, &bad, f.membership_key, f.gc, f.gc_len, &signer),
        EK_ERR_DECODE);
    content_init(&ac, &f, EK_MLS_WIRE_PUBLIC_MESSAGE, EK_MLS_CONTENT_APPLICATION, "x");
    EK_CHECK_RC(ek_mls_public_message_protect(&bad, &a, f.s, &ac, f.membership_key, f.gc, f.gc_len),
                EK_ERR_INVALID_ARG);
    ek_mls_arena_free(&a);
}

int main(void)
{
    test_private_failures(1);
    test_private_failures(3);
    test_hand_sealed();
    test_public_failures();
    return ek_test_finish("unit.mls.message_protection");
}
