/*
 * welcome.c: adding members (RFC 9420 §12.4.3): the Welcome a committer
 * sends to the members its commit adds (GroupInfo with the ratchet_tree
 * extension, §12.4.3.3, encrypted under the welcome key; GroupSecrets
 * encrypted to each KeyPackage's init key), and joining from one
 * (§12.4.3.1), with every check a new member must make: the GroupInfo
 * signature, the tree hash, the whole tree (tree_validation.c), the path
 * secret's keys and the confirmation tag.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "group_internal.h"

/* The encoded GroupInfo of epoch next, signed by us (§12.4.3). */
static int write_group_info(ek_writer *w, const ek_mls_group *g, const ek_mls_epoch *next,
                            const uint8_t *confirmation_tag, ek_mls_arena *a)
{
    const ek_mls_suite *s = g->suite;
    ek_mls_group_info gi;
    memset(&gi, 0, sizeof(gi));
    ek_reader r;
    ek_reader_init(&r, next->gc, next->gc_len);
    EK_TRY(ek_mls_read_group_context(&gi.group_context, a, &r));
    EK_TRY(ek_reader_finish(&r));
    ek_writer tw;
    ek_writer_init_growable(&tw, g->alloc);
    int rc = ek_mls_tree_write(&tw, &next->tree);
    uint8_t *tree = rc == EK_OK ? ek_mls_arena_alloc(a, tw.len) : NULL;
    if (rc == EK_OK && tree == NULL)
        rc = EK_ERR_NOMEM;
    if (rc == EK_OK)
        memcpy(tree, tw.buf, tw.len);
    ek_mls_extension ext = {EK_MLS_EXT_RATCHET_TREE, {tree, tw.len}};
    ek_writer_dispose(&tw);
    EK_TRY(rc);
    gi.extensions.items = &ext;
    gi.extensions.count = 1;
    gi.confirmation_tag = (ek_mls_bytes){confirmation_tag, s->hash_len};
    gi.signer = next->own_leaf;
    uint8_t *sig = ek_mls_arena_alloc(a, s->sig_max_len);
    if (sig == NULL)
        return EK_ERR_NOMEM;
    size_t sig_len = 0;
    ek_writer tbs;
    ek_writer_init_growable(&tbs, g->alloc);
    rc = ek_mls_write_group_info_tbs(&tbs, &gi);
    if (rc == EK_OK)
        rc = ek_mls_sign_with_label_alloc(sig, &sig_len, s, g->sig_priv, g->sig_priv_len,
                                          "GroupInfoTBS", tbs.buf, tbs.len, g->alloc);
    ek_writer_dispose(&tbs);
    EK_TRY(rc);
    gi.signature = (ek_mls_bytes){sig, sig_len};
    return ek_mls_write_group_info(w, &gi);
}

int ek_mls_welcome_create(ek_writer *w, const ek_mls_group *g, const ek_mls_epoch *next,
                          const ek_mls_applied *applied, const ek_mls_path_secrets *ps,
                          int has_path, const uint8_t *confirmation_tag)
{
    const ek_mls_suite *s = g->suite;
    size_t nh = s->hash_len;
    ek_mls_arena a;
    ek_mls_arena_init(&a, g->alloc);
    ek_writer gi;
    ek_writer_init_growable(&gi, g->alloc);
    int rc = write_group_info(&gi, g, next, confirmation_tag, &a);
    /* encrypted_group_info under welcome_key/welcome_nonce, empty aad. */
    uint8_t key[EK_MLS_MAX_AEAD_KEY_LEN], nonce[EK_MLS_AEAD_NONCE_LEN];
    uint8_t *egi = NULL;
    size_t egi_len = gi.len + EK_AEAD_TAG_LEN;
    if (rc == EK_OK)
        rc = ek_mls_welcome_key_nonce(key, nonce, s, next->secrets.welcome_secret);
    if (rc == EK_OK) {
        egi = ek_mls_arena_alloc(&a, egi_len);
        rc = egi != NULL ? EK_OK : EK_ERR_NOMEM;
    }
    if (rc == EK_OK)
        rc = ek_aead_seal(egi, s->aead, key, s->aead_key_len, nonce, s->aead_nonce_len, NULL, 0,
                          gi.buf, gi.len);
    ek_wipe(key, sizeof(key));
    ek_writer_dispose(&gi);

    ek_mls_welcome wel;
    memset(&wel, 0, sizeof(wel));
    wel.cipher_suite = s->id;
    wel.encrypted_group_info = (ek_mls_bytes){egi, egi_len};
    if (rc == EK_OK) {
        wel.secrets = ek_mls_arena_alloc(&a, applied->added_count * sizeof(*wel.secrets));
        rc = wel.secrets != NULL ? EK_OK : EK_ERR_NOMEM;
    }
    ek_mls_psk_id *psk_ids = NULL;
    if (rc == EK_OK && applied->psk_count > 0) {
        psk_ids = ek_mls_arena_alloc(&a, applied->psk_count * sizeof(*psk_ids));
        rc = psk_ids != NULL ? EK_OK : EK_ERR_NOMEM;
        for (size_t i = 0; rc == EK_OK && i < applied->psk_count; i++)
            psk_ids[i] = applied->psks[i].id;
    }
    ek_writer tmp;
    ek_writer_init_growable(&tmp, g->alloc);
    for (size_t i = 0; rc == EK_OK && i < applied->added_count; i++) {
        const ek_mls_key_package *kp = applied->added_kp[i];
        ek_mls_encrypted_group_secrets *es = &wel.secrets[wel.secret_count++];
        /* new_member = KeyPackageRef of the KeyPackage (§5.2). */
        uint8_t *ref = ek_mls_arena_alloc(&a, nh);
        tmp.len = 0;
        rc = ref != NULL ? ek_mls_write_key_package(&tmp, kp) : EK_ERR_NOMEM;
        if (rc == EK_OK)
            rc = ek_mls_key_package_ref_alloc(ref, s, tmp.buf, tmp.len, g->alloc);
        es->new_member = (ek_mls_bytes){ref, nh};
        ek_mls_group_secrets gs;
        memset(&gs, 0, sizeof(gs));
        gs.joiner_secret = (ek_mls_bytes){next->secrets.joiner_secret, nh};
        gs.psks = psk_ids;
        gs.psk_count = applied->psk_count;
        if (rc == EK_OK && has_path) {
            /* The path secret of the lowest node on both our path and the
             * new member's (§12.4.3.1). */
            uint32_t lca = ek_mls_tree_common_ancestor(2 * applied->added[i], 2 * next->own_leaf);
            size_t k = 0;
            while (k < ps->count && ps->nodes[k] != lca)
                k++;
            if (k == ps->count)
                rc = EK_ERR_STATE;
            else {
                gs.has_path_secret = 1;
                gs.path_secret = (ek_mls_bytes){ps->secrets[k], nh};
            }
        }
        tmp.len = 0;
        if (rc == EK_OK)
            rc = ek_mls_write_group_secrets(&tmp, &gs);
        uint8_t *kem = ek_mls_arena_alloc(&a, s->kem_output_len);
        uint8_t *ct = ek_mls_arena_alloc(&a, tmp.len + EK_AEAD_TAG_LEN);
        if (rc == EK_OK && (kem == NULL || ct == NULL))
            rc = EK_ERR_NOMEM;
        if (rc == EK_OK)
            rc = ek_mls_encrypt_with_label_alloc(kem, ct, s, kp->init_key.data, kp->init_key.len,
                                                 "Welcome", egi, egi_len, tmp.buf, tmp.len,
                                                 g->cfg.rng, g->alloc);
        es->encrypted_group_secrets.kem_output = (ek_mls_bytes){kem, s->kem_output_len};
        es->encrypted_group_secrets.ciphertext = (ek_mls_bytes){ct, tmp.len + EK_AEAD_TAG_LEN};
    }
    ek_writer_dispose(&tmp);
    if (rc == EK_OK) {
        ek_mls_message m = {.version = EK_MLS_VERSION_MLS10, .wire_format = EK_MLS_WIRE_WELCOME};
        m.u.welcome = wel;
        rc = ek_mls_write_message(w, &m);
    }
    ek_mls_arena_free(&a);
    return rc;
}

/* ---- joining ---- */

/* A joiner has no earlier state of the group: only external PSKs. */
static int joiner_psks(ek_mls_psk **out, ek_mls_arena *a, const ek_mls_group_config *cfg,
                       const ek_mls_suite *s, const ek_mls_group_secrets *gs)
{
    *out = NULL;
    if (gs->psk_count == 0)
        return EK_OK;
    ek_mls_psk *psks = ek_mls_arena_alloc(a, gs->psk_count * sizeof(*psks));
    if (psks == NULL)
        return EK_ERR_NOMEM;
    for (size_t i = 0; i < gs->psk_count; i++) {
        const ek_mls_psk_id *id = &gs->psks[i];
        if (id->psk_nonce.len != s->hash_len)
            return EK_ERR_DECODE;
        if (id->type != EK_MLS_PSK_EXTERNAL)
            return EK_ERR_UNSUPPORTED; /* resumption: reinit/branch (§11.2-11.3) */
        if (cfg == NULL || cfg->psks.lookup == NULL)
            return EK_ERR_STATE;
        const uint8_t *psk = NULL;
        size_t len = 0;
        if (cfg->psks.lookup(cfg->psks.ctx, id->psk_id.data, id->psk_id.len, &psk, &len) != EK_OK ||
            (psk == NULL && len > 0))
            return EK_ERR_STATE;
        psks[i].id = *id;
        psks[i].secret = (ek_mls_bytes){psk, len};
    }
    *out = psks;
    return EK_OK;
}

int ek_mls_welcome_open(ek_mls_group_secrets *gs, ek_mls_group_info *gi, uint8_t *psk_secret,
                        ek_mls_arena *a, const ek_mls_group_config *cfg, const ek_mls_welcome *wel,
                        const ek_mls_suite *s, const uint8_t *kp_ref, const uint8_t *init_priv)
{
    size_t nh = s->hash_len;
    if (wel->cipher_suite != s->id)
        return EK_ERR_UNSUPPORTED;
    const ek_mls_encrypted_group_secrets *mine = NULL;
    for (size_t i = 0; i < wel->secret_count && mine == NULL; i++)
        if (wel->secrets[i].new_member.len == nh &&
            memcmp(wel->secrets[i].new_member.data, kp_ref, nh) == 0)
            mine = &wel->secrets[i];
    if (mine == NULL)
        return EK_ERR_STATE; /* not for this KeyPackage */
    const ek_mls_hpke_ciphertext *ct = &mine->encrypted_group_secrets;
    if (ct->ciphertext.len < EK_AEAD_TAG_LEN)
        return EK_ERR_AUTH;
    size_t pt_len = ct->ciphertext.len - EK_AEAD_TAG_LEN;
    uint8_t *pt = ek_mls_arena_alloc(a, pt_len);
    if (pt == NULL)
        return EK_ERR_NOMEM;
    EK_TRY(ek_mls_decrypt_with_label_alloc(
        pt, s, init_priv, s->kem_private_len, "Welcome", wel->encrypted_group_info.data,
        wel->encrypted_group_info.len, ct->kem_output.data, ct->kem_output.len, ct->ciphertext.data,
        ct->ciphertext.len, a->alloc));
    ek_reader r;
    ek_reader_init(&r, pt, pt_len);
    EK_TRY(ek_mls_read_group_secrets(gs, a, &r));
    EK_TRY(ek_reader_finish(&r));
    if (gs->joiner_secret.len != nh || (gs->has_path_secret && gs->path_secret.len != nh))
        return EK_ERR_DECODE;
    ek_mls_psk *psks = NULL;
    EK_TRY(joiner_psks(&psks, a, cfg, s, gs));
    EK_TRY(ek_mls_psk_secret_alloc(psk_secret, s, psks, gs->psk_count, a->alloc));
    /* welcome_secret = DeriveSecret(Extract(joiner_secret, psk_secret),
     * "welcome"), then the key and nonce of encrypted_group_info. */
    uint8_t member[EK_MLS_MAX_HASH_LEN], welcome_secret[EK_MLS_MAX_HASH_LEN];
    uint8_t key[EK_MLS_MAX_AEAD_KEY_LEN], nonce[EK_MLS_AEAD_NONCE_LEN];
    s->kdf_extract(member, gs->joiner_secret.data, nh, psk_secret, nh);
    int rc = ek_mls_derive_secret(welcome_secret, s, member, "welcome");
    if (rc == EK_OK)
        rc = ek_mls_welcome_key_nonce(key, nonce, s, welcome_secret);
    size_t egi_len = wel->encrypted_group_info.len;
    uint8_t *gi_bytes = NULL;
    if (rc == EK_OK && egi_len < EK_AEAD_TAG_LEN)
        rc = EK_ERR_AUTH;
    if (rc == EK_OK) {
        gi_bytes = ek_mls_arena_alloc(a, egi_len - EK_AEAD_TAG_LEN);
        rc = gi_bytes != NULL ? EK_OK : EK_ERR_NOMEM;
    }
    if (rc == EK_OK)
        rc = ek_aead_open(gi_bytes, s->aead, key, s->aead_key_len, nonce, s->aead_nonce_len, NULL,
                          0, wel->encrypted_group_info.data, egi_len);
    ek_wipe(member, sizeof(member));
    ek_wipe(welcome_secret, sizeof(welcome_secret));
    ek_wipe(key, sizeof(key));
    if (rc != EK_OK)
        return rc;
    ek_reader_init(&r, gi_bytes, egi_len - EK_AEAD_TAG_LEN);
    EK_TRY(ek_mls_read_group_info(gi, a, &r));
    return ek_reader_finish(&r);
}

/* The GroupInfo's context is usable by us (§12.4.3.1, §13.4). */
static int check_group_info(const ek_mls_group_info *gi, const ek_mls_suite *s)
{
    const ek_mls_group_context *gc = &gi->group_context;
    if (gc->version != EK_MLS_VERSION_MLS10 || gc->cipher_suite != s->id)
        return EK_ERR_UNSUPPORTED;
    if (gc->group_id.len == 0 || gc->group_id.len > EK_MLS_MAX_GROUP_ID_BYTES)
        return EK_ERR_DECODE;
    if (gc->tree_hash.len != s->hash_len ||
        (gc->confirmed_transcript_hash.len != s->hash_len &&
         !(gc->epoch == 0 && gc->confirmed_transcript_hash.len == 0)) ||
        gi->confirmation_tag.len != s->hash_len)
        return EK_ERR_DECODE;
    EK_TRY(ek_mls_extensions_check(&gc->extensions));
    return ek_mls_extensions_check(&gi->extensions);
}

static int load_tree(ek_mls_tree *t, ek_mls_arena *a, const ek_mls_suite *s,
                     const ek_allocator *alloc, const ek_mls_group_info *gi,
                     const uint8_t *ratchet_tree, size_t rt_len)
{
    const ek_mls_extension *ext = ek_mls_extension_find(&gi->extensions, EK_MLS_EXT_RATCHET_TREE);
    const uint8_t *bytes = ratchet_tree;
    size_t len = rt_len;
    if (ext != NULL) {
        bytes = ext->data.data;
        len = ext->data.len;
    }
    if (bytes == NULL)
        return EK_ERR_STATE; /* no tree in the GroupInfo and none given */
    ek_mls_ratchet_tree rt;
    ek_reader r;
    ek_reader_init(&r, bytes, len);
    EK_TRY(ek_mls_read_ratchet_tree(&rt, a, &r));
    EK_TRY(ek_reader_finish(&r));
    return ek_mls_tree_from_decoded(t, s, alloc, &rt);
}

/* Build the epoch from the GroupInfo and the tree; check everything. */
static int join_epoch(ek_mls_group *g, ek_mls_epoch *e, ek_mls_arena *a,
                      const ek_mls_group_info *gi, const ek_mls_group_secrets *gs,
                      const uint8_t *psk_secret, const ek_mls_key_package_bundle *kp)
{
    const ek_mls_suite *s = g->suite;
    size_t nh = s->hash_len;
    const ek_mls_group_context *gc = &gi->group_context;
    /* §12.4.3.1: the GroupInfo signature with the key of leaf signer. */
    const ek_mls_tnode *signer = ek_mls_tree_leaf(&e->tree, gi->signer);
    if (signer == NULL)
        return EK_ERR_DECODE;
    ek_writer w;
    ek_writer_init_growable(&w, g->alloc);
    int rc = ek_mls_write_group_info_tbs(&w, gi);
    if (rc == EK_OK)
        rc = ek_mls_verify_with_label_alloc(s, signer->signature_key.data,
                                            signer->signature_key.len, "GroupInfoTBS", w.buf, w.len,
                                            gi->signature.data, gi->signature.len, g->alloc);
    ek_writer_dispose(&w);
    EK_TRY(rc);
    /* The epoch's context, re-encoded from the fields; its tree hash must
     * be the tree's. */
    e->epoch = gc->epoch;
    e->confirmed_len = gc->confirmed_transcript_hash.len;
    if (e->confirmed_len > 0)
        memcpy(e->confirmed, gc->confirmed_transcript_hash.data, nh);
    EK_TRY(ek_mls_epoch_set_extensions(e, g->alloc, &gc->extensions));
    EK_TRY(ek_mls_epoch_refresh_context(e, g));
    if (!ek_ct_equal(e->tree_hash, gc->tree_hash.data, nh))
        return EK_ERR_AUTH;
    /* The whole tree (§7.9.2, §7.3, unmerged leaves, unique keys). */
    ek_mls_leaf_params lp;
    ek_mls_epoch_leaf_params(&lp, g, &gc->extensions);
    lp.now_s = 0;          /* members' lifetimes: RECOMMENDED only (§7.3) */
    lp.max_lifetime_s = 0; /* the cap applies to KeyPackages we add */
    EK_TRY(ek_mls_tree_validate(&e->tree, &lp));
    /* Our leaf is the KeyPackage's (§12.4.3.1). */
    uint32_t me = ek_mls_tree_find_leaf(&e->tree, kp->leaf->enc, kp->leaf->enc_len);
    if (me == UINT32_MAX)
        return EK_ERR_STATE;
    e->own_leaf = me;
    EK_TRY(ek_mls_keyring_put(&e->ring, s, 2 * me, kp->leaf->encryption_key.data,
                              kp->encryption_priv));
    if (gs->has_path_secret) {
        if (gi->signer == me)
            return EK_ERR_DECODE;
        uint32_t from = ek_mls_tree_common_ancestor(2 * me, 2 * gi->signer);
        EK_TRY(
            ek_mls_treekem_install_path_secret(&e->ring, &e->tree, me, from, gs->path_secret.data));
    }
    /* Key schedule from the joiner secret, then the confirmation tag over
     * the confirmed transcript hash, and the interim hash (§8.2). */
    EK_TRY(ek_mls_key_schedule_from_joiner_alloc(&e->secrets, s, gs->joiner_secret.data, psk_secret,
                                                 e->gc, e->gc_len, g->alloc));
    uint8_t want[EK_MLS_MAX_HASH_LEN];
    s->mac(want, e->secrets.confirmation_key, nh, e->confirmed, e->confirmed_len);
    int ok = ek_ct_equal(want, gi->confirmation_tag.data, nh);
    ek_wipe(want, sizeof(want));
    if (!ok)
        return EK_ERR_AUTH;
    ek_writer_init_growable(&w, g->alloc);
    (void)ek_write_bytes(&w, e->confirmed, e->confirmed_len);
    rc = ek_mls_write_opaque(&w, gi->confirmation_tag.data, nh);
    if (rc == EK_OK)
        s->hash(e->interim, w.buf, w.len);
    ek_writer_dispose(&w);
    EK_TRY(rc);
    ek_wipe(e->secrets.joiner_secret, sizeof(e->secrets.joiner_secret));
    ek_wipe(e->secrets.welcome_secret, sizeof(e->secrets.welcome_secret));
    (void)a;
    return ek_mls_epoch_start_secret_tree(e, g);
}

int ek_mls_group_join(ek_mls_group **out, const ek_mls_group_config *cfg, const uint8_t *welcome,
                      size_t welcome_len, const ek_mls_key_package_bundle *kp,
                      const uint8_t *ratchet_tree, size_t ratchet_tree_len)
{
    if (out == NULL || welcome == NULL || kp == NULL)
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    const ek_allocator *alloc = cfg != NULL ? cfg->alloc : NULL;
    const ek_mls_suite *s = kp->suite;
    ek_mls_arena a;
    ek_mls_arena_init(&a, alloc);
    ek_mls_message m;
    ek_mls_group_secrets gs;
    ek_mls_group_info gi;
    uint8_t psk_secret[EK_MLS_MAX_HASH_LEN];
    int rc = ek_mls_message_decode(&m, &a, welcome, welcome_len);
    if (rc == EK_OK && m.wire_format != EK_MLS_WIRE_WELCOME)
        rc = EK_ERR_DECODE;
    if (rc == EK_OK)
        rc = ek_mls_welcome_open(&gs, &gi, psk_secret, &a, cfg, &m.u.welcome, s, kp->ref,
                                 kp->init_priv);
    if (rc == EK_OK)
        rc = check_group_info(&gi, s);
    ek_mls_group *g = NULL;
    if (rc == EK_OK)
        rc = ek_mls_group_alloc(&g, cfg, s, gi.group_context.group_id.data,
                                gi.group_context.group_id.len);
    ek_mls_epoch *e = NULL;
    if (rc == EK_OK)
        rc = ek_mls_epoch_new(&e, alloc);
    if (rc == EK_OK)
        rc = load_tree(&e->tree, &a, s, alloc, &gi, ratchet_tree, ratchet_tree_len);
    if (rc == EK_OK) {
        memcpy(g->sig_priv, kp->signature_priv, kp->signature_priv_len);
        g->sig_priv_len = kp->signature_priv_len;
        rc = join_epoch(g, e, &a, &gi, &gs, psk_secret, kp);
    }
    ek_wipe(psk_secret, sizeof(psk_secret));
    ek_mls_arena_free(&a);
    if (rc != EK_OK) {
        ek_mls_epoch_free(e, alloc);
        ek_mls_group_free(g);
        return rc;
    }
    g->cur = e;
    /* The joiner's KeyPackage was made no later than now. */
    g->clock_floor_s = kp->leaf->not_before;
    ek_mls_group_remember_resumption(g, e);
    *out = g;
    return EK_OK;
}
