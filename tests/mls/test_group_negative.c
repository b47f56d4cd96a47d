/*
 * test_group_negative.c: fail closed (RFC 9420 §12.4.2, §12.4.3.1, §7.9.2,
 * §7.3). A damaged commit (every single-byte change of it), a commit for
 * another epoch, a replayed application message, a Welcome for someone
 * else or damaged, and a ratchet tree with a wrong parent hash, a wrong
 * unmerged list, a duplicate key or a bad leaf signature: each is refused,
 * and a refused message leaves the group's saved state byte for byte as it
 * was. The trees are the suite-1 trees of tree-validation.json, each changed
 * in every parent node in turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "ek_test.h"
#include "mls/group_internal.h"
#include "mls/tree.h"
#include "mls/treekem.h"
#include "mls/validation.h"
#include "mls_group_util.h"

static const uint8_t group_id[] = "negative";

static int same_state(const ek_mls_group *g, const ek_mls_buf *before)
{
    ek_mls_buf now;
    if (ek_mls_group_save(g, &now) != EK_OK)
        return 0;
    int same = now.len == before->len && memcmp(now.data, before->data, now.len) == 0;
    ek_mls_buf_free(&now);
    return same;
}

/* Process a message that must be refused; the state must not move. */
#define refused(m, msg, len) refused_at(__LINE__, m, msg, len)
static void refused_at(int line, mls_member *m, const uint8_t *msg, size_t len)
{
    ek_mls_buf before;
    EK_CHECK_OK(ek_mls_group_save(m->g, &before));
    ek_mls_received r;
    int rc = ek_mls_group_process(m->g, &r, msg, len);
    if (rc == EK_OK) {
        fprintf(stderr, "  line %d: accepted\n", line);
        ek_mls_received_free(&r);
    }
    EK_CHECK(rc != EK_OK);
    if (!same_state(m->g, &before))
        fprintf(stderr, "  line %d: state changed (%s)\n", line, ek_strerror(rc));
    EK_CHECK(same_state(m->g, &before));
    ek_mls_buf_free(&before);
}

static void three(mls_member *a, mls_member *b, mls_member *c, uint16_t wire)
{
    uint16_t suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;
    EK_CHECK_OK(mls_member_init(a, "a", suite, NULL));
    EK_CHECK_OK(mls_member_init(b, "b", suite, NULL));
    EK_CHECK_OK(mls_member_init(c, "c", suite, NULL));
    ek_mls_group_config cfg = {.handshake_wire_format = wire};
    EK_CHECK_OK(ek_mls_group_create(&a->g, &cfg, a->kp, group_id, sizeof(group_id), NULL));
    ek_mls_group_set_time(a->g, MLS_TEST_NOW_S);
    ek_mls_bytes kps[2];
    ek_mls_key_package_bundle_message(b->kp, &kps[0].data, &kps[0].len);
    ek_mls_key_package_bundle_message(c->kp, &kps[1].data, &kps[1].len);
    ek_mls_commit_options opt = {.add_key_packages = kps, .add_count = 2};
    ek_mls_buf commit, welcome;
    EK_CHECK_OK(ek_mls_group_commit(a->g, &commit, &welcome, &opt));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a->g));
    ek_mls_group_settle(a->g);
    EK_CHECK_OK(ek_mls_group_join(&b->g, &cfg, welcome.data, welcome.len, b->kp, NULL, 0));
    ek_mls_group_set_time(b->g, MLS_TEST_NOW_S);
    EK_CHECK_OK(ek_mls_group_join(&c->g, &cfg, welcome.data, welcome.len, c->kp, NULL, 0));
    ek_mls_group_set_time(c->g, MLS_TEST_NOW_S);
    /* A Welcome is for its KeyPackages only. */
    mls_member x;
    EK_CHECK_OK(mls_member_init(&x, "x", suite, NULL));
    EK_CHECK_RC(ek_mls_group_join(&x.g, NULL, welcome.data, welcome.len, x.kp, NULL, 0),
                EK_ERR_STATE);
    /* A damaged Welcome does not join, unless the damage is in the part
     * for the other new member: then it joins the same group. */
    uint8_t want[EK_MLS_MAX_HASH_LEN], got[EK_MLS_MAX_HASH_LEN];
    size_t wl, gl;
    EK_CHECK_OK(ek_mls_group_epoch_authenticator(b->g, want, &wl));
    size_t joined = 0, refused_n = 0;
    for (size_t i = 4; i < welcome.len; i += 1 + welcome.len / 97) {
        welcome.data[i] ^= 0x04;
        ek_mls_group *g = NULL;
        int rc = ek_mls_group_join(&g, NULL, welcome.data, welcome.len, b->kp, NULL, 0);
        if (rc == EK_OK) {
            joined++;
            EK_CHECK_OK(ek_mls_group_epoch_authenticator(g, got, &gl));
            EK_CHECK(gl == wl && memcmp(got, want, wl) == 0);
        } else {
            refused_n++;
            EK_CHECK(g == NULL);
        }
        ek_mls_group_free(g);
        welcome.data[i] ^= 0x04;
    }
    EK_CHECK(refused_n > joined);
    mls_member_free(&x);
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);
}

static void damaged_commits(uint16_t wire)
{
    mls_member a, b, c;
    three(&a, &b, &c, wire);
    uint32_t leaf_c = ek_mls_group_own_leaf(c.g);
    ek_mls_commit_options opt = {.remove_leaves = &leaf_c, .remove_count = 1};
    ek_mls_buf commit;
    EK_CHECK_OK(ek_mls_group_commit(a.g, &commit, NULL, &opt));
    /* Every byte, one at a time. */
    for (size_t i = 0; i < commit.len; i++) {
        commit.data[i] ^= 0x01;
        refused(&b, commit.data, commit.len);
        commit.data[i] ^= 0x01;
    }
    /* Truncated and extended. */
    refused(&b, commit.data, commit.len - 1);
    uint8_t *longer = malloc(commit.len + 1);
    memcpy(longer, commit.data, commit.len);
    longer[commit.len] = 0;
    refused(&b, longer, commit.len + 1);
    free(longer);
    /* The real one goes through; again, it is a duplicate or refused. */
    int kind = 0;
    EK_CHECK_OK(mls_deliver(&b, &commit, &kind));
    EK_CHECK(kind == EK_MLS_RECEIVED_COMMIT);
    ek_mls_group_settle(b.g);
    refused(&b, commit.data, commit.len); /* an epoch b no longer holds */
    ek_mls_buf_free(&commit);

    /* Application data: a replay is refused, so is another group's. */
    ek_mls_buf m;
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a.g));
    ek_mls_group_settle(a.g);
    EK_CHECK_OK(ek_mls_group_protect(a.g, &m, (const uint8_t *)"once", 4, NULL, 0));
    EK_CHECK_OK(mls_deliver(&b, &m, &kind));
    EK_CHECK(kind == EK_MLS_RECEIVED_APPLICATION);
    refused(&b, m.data, m.len);
    ek_mls_buf_free(&m);
    mls_member_free(&a);
    mls_member_free(&b);
    mls_member_free(&c);
}

static ek_mls_bytes vector_group_id;

static int validate_rc(ek_mls_tree *t)
{
    ek_mls_leaf_params lp = {
        .suite = t->suite, .group_id = vector_group_id.data, .group_id_len = vector_group_id.len};
    return ek_mls_tree_validate(t, &lp);
}

static int validates(ek_mls_tree *t)
{
    return validate_rc(t) == EK_OK;
}

/* Replace parent node i by a copy with one field changed. */
static void tamper_parent(ek_mls_tree *t, uint32_t i, int what)
{
    const ek_mls_tnode *p = ek_mls_tree_get(t, i);
    uint8_t pub[64], ph[64];
    uint32_t um[16];
    if (p->encryption_key.len > sizeof(pub) || p->parent_hash.len > sizeof(ph) ||
        p->unmerged.count >= sizeof(um) / sizeof(um[0]))
        return;
    memcpy(pub, p->encryption_key.data, p->encryption_key.len);
    if (p->parent_hash.len > 0)
        memcpy(ph, p->parent_hash.data, p->parent_hash.len);
    size_t um_n = p->unmerged.count;
    if (um_n > 0)
        memcpy(um, p->unmerged.items, um_n * sizeof(uint32_t));
    size_t ph_len = p->parent_hash.len;
    if (what == 0)
        pub[3] ^= 1;
    else if (what == 1 && ph_len > 0)
        ph[0] ^= 1;
    else if (what == 2)
        um[um_n++] = 0; /* a leaf that is not unmerged */
    else if (what == 3 && um_n > 0)
        um_n--; /* drop an unmerged leaf */
    size_t pub_len = p->encryption_key.len;
    if (what == 4)
        pub_len--; /* a key of the wrong length (the MLS review's finding 5) */
    else if (what == 5)
        pub_len = 0;
    ek_mls_tnode *n = NULL;
    EK_CHECK_OK(ek_mls_tnode_new_parent(&n, NULL, pub, pub_len, ph, ph_len, um, um_n));
    ek_mls_tree_set(t, i, n);
    ek_mls_tnode_unref(n, NULL);
}

/* Every change to one node of a valid tree (the suite-1 trees of
 * tree-validation.json: full, sparse, with unmerged leaves) is caught. */
static void bad_tree(ek_mls_tree *t, size_t *parents, size_t *with_unmerged)
{
    EK_CHECK(validates(t));
    uint32_t width = ek_mls_tree_nodes(t);
    for (uint32_t i = 1; i < width; i += 2) {
        const ek_mls_tnode *p = ek_mls_tree_get(t, i);
        if (p == NULL)
            continue;
        (*parents)++;
        *with_unmerged += p->unmerged.count > 0;
        for (int what = 0; what < 6; what++) {
            if ((what == 1 && p->parent_hash.len == 0) || (what == 3 && p->unmerged.count == 0))
                continue;
            ek_mls_tree copy;
            EK_CHECK_OK(ek_mls_tree_clone(&copy, t));
            tamper_parent(&copy, i, what);
            int rc = validate_rc(&copy);
            if (rc == EK_OK)
                fprintf(stderr, "  node %u change %d accepted\n", i, what);
            EK_CHECK(rc != EK_OK);
            /* A parent key of the wrong length is refused for its length,
             * before (and whatever) the parent hashes say. */
            if (what >= 4)
                EK_CHECK_RC(rc, EK_ERR_DECODE);
            ek_mls_tree_free(&copy);
        }
    }
    /* A leaf whose signature no longer matches, and one leaf twice. */
    const ek_mls_tnode *l0 = ek_mls_tree_leaf(t, 0);
    uint8_t *enc = malloc(l0->enc_len);
    memcpy(enc, l0->enc, l0->enc_len);
    enc[l0->enc_len - 5] ^= 1; /* inside the signature */
    ek_mls_tnode *n = NULL;
    EK_CHECK_OK(ek_mls_tnode_new_leaf_bytes(&n, NULL, enc, l0->enc_len));
    ek_mls_tree copy;
    EK_CHECK_OK(ek_mls_tree_clone(&copy, t));
    ek_mls_tree_set(&copy, 0, n);
    EK_CHECK(!validates(&copy));
    for (uint32_t l = 1; l < t->n_leaves; l++) {
        if (ek_mls_tree_leaf(t, l) == NULL)
            continue;
        ek_mls_tree_set(&copy, 0, (ek_mls_tnode *)ek_mls_tree_leaf(t, l));
        EK_CHECK(!validates(&copy)); /* duplicate keys */
        break;
    }
    ek_mls_tree_free(&copy);
    ek_mls_tnode_unref(n, NULL);
    free(enc);
}

static void bad_trees(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/tree-validation.json"));
    size_t i, trees = 0, parents = 0, with_unmerged = 0;
    json_t *c;
    json_array_foreach (doc, i, c) {
        if (ek_test_json_int(c, "cipher_suite") != 1)
            continue;
        size_t len, gl;
        uint8_t *raw = ek_test_json_hex(c, "tree", &len);
        uint8_t *gid = ek_test_json_hex(c, "group_id", &gl);
        vector_group_id = (ek_mls_bytes){gid, gl};
        ek_mls_arena arena;
        ek_mls_arena_init(&arena, NULL);
        ek_mls_ratchet_tree rt;
        ek_reader r;
        ek_reader_init(&r, raw, len);
        ek_mls_tree t;
        EK_CHECK_OK(ek_mls_read_ratchet_tree(&rt, &arena, &r));
        EK_CHECK_OK(ek_mls_tree_from_decoded(&t, ek_mls_suite_get(1), NULL, &rt));
        bad_tree(&t, &parents, &with_unmerged);
        ek_mls_tree_free(&t);
        ek_mls_arena_free(&arena);
        free(raw);
        free(gid);
        trees++;
    }
    EK_CHECK(trees == 14 && parents > 50 && with_unmerged >= 2);
    json_decref(doc);
}

/* ---- proposals that must not be cached (the MLS review's finding 3) ---- */

/* A proposal message from m carrying p, signed and framed as m's group
 * would, but with none of the checks the API makes before sending: what a
 * malicious member can send. PublicMessage, so m's ratchet is untouched.
 * With update_priv (an Update's private key), m caches it as its own. */
static void raw_proposal(ek_mls_buf *out, mls_member *m, const ek_mls_proposal *p,
                         const uint8_t *update_priv)
{
    ek_mls_group *g = m->g;
    ek_mls_epoch *e = g->cur;
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_authenticated_content ac;
    memset(&ac, 0, sizeof(ac));
    ac.wire_format = EK_MLS_WIRE_PUBLIC_MESSAGE;
    ek_mls_group_content_header(&ac.content, g, e, EK_MLS_CONTENT_PROPOSAL);
    ac.content.u.proposal = *p;
    EK_CHECK_OK(
        ek_mls_sign_content(&ac, &a, g->suite, g->sig_priv, g->sig_priv_len, e->gc, e->gc_len));
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    ek_mls_key_use use;
    EK_CHECK_OK(ek_mls_group_frame(&w, &use, g, e, &ac, &a));
    EK_CHECK_OK(ek_mls_buf_from_writer(out, &w));
    ek_writer_dispose(&w);
    if (update_priv != NULL) {
        ek_mls_cached_proposal cp;
        memset(&cp, 0, sizeof(cp));
        ek_writer_init_growable(&w, NULL);
        EK_CHECK_OK(ek_mls_write_authenticated_content(&w, &ac));
        EK_CHECK_OK(ek_mls_proposal_ref_alloc(cp.ref, g->suite, w.buf, w.len, NULL));
        w.len = 0;
        EK_CHECK_OK(ek_mls_write_proposal(&w, p));
        cp.sender = ac.content.sender;
        cp.enc = w.buf;
        cp.enc_len = w.len;
        cp.own_update = 1;
        memcpy(cp.update_pub, p->u.update.encryption_key.data, g->suite->kem_public_len);
        memcpy(cp.update_priv, update_priv, g->suite->kem_private_len);
        EK_CHECK_OK(ek_mls_epoch_cache_proposal(e, NULL, &cp));
        ek_writer_dispose(&w);
    }
    ek_mls_arena_free(&a);
}

/* An Update leaf for m, signed by m, with encryption key enc (Npk bytes);
 * corrupt: flip a bit of the signature. Views live in a. */
static void update_leaf(ek_mls_leaf_node *leaf, ek_mls_tnode **n, ek_mls_arena *a, mls_member *m,
                        const uint8_t *enc, int corrupt)
{
    ek_mls_group *g = m->g;
    EK_CHECK_OK(ek_mls_tnode_leaf(leaf, a, ek_mls_tree_leaf(&g->cur->tree, g->cur->own_leaf)));
    uint8_t *key = ek_mls_arena_alloc(a, g->suite->kem_public_len);
    memcpy(key, enc, g->suite->kem_public_len);
    leaf->encryption_key = (ek_mls_bytes){key, g->suite->kem_public_len};
    leaf->source = EK_MLS_LEAF_SOURCE_UPDATE;
    leaf->not_before = leaf->not_after = 0;
    leaf->parent_hash = (ek_mls_bytes){NULL, 0};
    EK_CHECK_OK(ek_mls_leaf_sign(n, leaf, a, NULL, g->suite, g->sig_priv, g->sig_priv_len,
                                 g->group_id, g->group_id_len, g->cur->own_leaf));
    if (corrupt) {
        uint8_t *sig = ek_mls_arena_alloc(a, leaf->signature.len);
        memcpy(sig, leaf->signature.data, leaf->signature.len);
        sig[7] ^= 1;
        leaf->signature.data = sig;
    }
}

/* Deliver msg to every member in to; all refuse it, cache nothing, and can
 * still send application data. */
static void refused_everywhere(mls_member **to, size_t n, const ek_mls_buf *msg, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        ek_mls_received r;
        memset(&r, 0, sizeof(r));
        int rc = ek_mls_group_process(to[i]->g, &r, msg->data, msg->len);
        if (rc == EK_OK) {
            fprintf(stderr, "  %s accepted by %s\n", what, to[i]->name);
            ek_mls_received_free(&r);
        }
        EK_CHECK(rc != EK_OK);
        EK_CHECK(to[i]->g->cur->proposal_count == 0);
        ek_mls_buf app;
        EK_CHECK_OK(ek_mls_group_protect(to[i]->g, &app, (const uint8_t *)"x", 1, NULL, 0));
        ek_mls_buf_free(&app);
    }
}

/* Commit at from, everyone else follows: the group is not stuck. */
static void commit_goes_through(mls_member *from, mls_member **others, size_t n)
{
    ek_mls_buf c;
    EK_CHECK_OK(ek_mls_group_commit(from->g, &c, NULL, NULL));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(from->g));
    ek_mls_group_settle(from->g);
    for (size_t i = 0; i < n; i++) {
        int kind = 0;
        EK_CHECK_OK(mls_deliver(others[i], &c, &kind));
        EK_CHECK(kind == EK_MLS_RECEIVED_COMMIT);
        ek_mls_group_settle(others[i]->g);
    }
    ek_mls_buf_free(&c);
}

static void bad_proposals(void)
{
    mls_member a, b, c;
    three(&a, &b, &c, EK_MLS_WIRE_PRIVATE_MESSAGE);
    mls_member *bc[] = {&b, &c}, *ab[] = {&a, &b};
    const ek_mls_suite *s = a.g->suite;
    ek_mls_arena arena;
    ek_mls_arena_init(&arena, NULL);
    uint8_t fresh[EK_MLS_MAX_KEM_PUBLIC_LEN], priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    uint8_t secret[EK_MLS_MAX_HASH_LEN] = {7};
    EK_CHECK_OK(ek_mls_node_key_pair(fresh, priv, s, secret));
    ek_mls_buf msg;

    /* 1. An Update whose leaf signature is wrong. */
    ek_mls_leaf_node leaf;
    ek_mls_tnode *n = NULL;
    update_leaf(&leaf, &n, &arena, &a, fresh, 1);
    ek_mls_proposal p = {.type = EK_MLS_PROPOSAL_UPDATE};
    p.u.update = leaf;
    raw_proposal(&msg, &a, &p, NULL);
    refused_everywhere(bc, 2, &msg, "update with a bad signature");
    ek_mls_buf_free(&msg);
    ek_mls_tnode_unref(n, NULL);

    /* 2. An Update that repeats another member's encryption key. */
    const ek_mls_tnode *bl = ek_mls_tree_leaf(&a.g->cur->tree, 1);
    update_leaf(&leaf, &n, &arena, &a, bl->encryption_key.data, 0);
    p.u.update = leaf;
    raw_proposal(&msg, &a, &p, NULL);
    refused_everywhere(bc, 2, &msg, "update repeating a key");
    ek_mls_buf_free(&msg);
    ek_mls_tnode_unref(n, NULL);

    /* 3. GroupContextExtensions with one type twice; 4. with a type no
     * member supports. */
    static const uint8_t v1[] = "one", v2[] = "two";
    ek_mls_extension twice[2] = {{EK_MLS_EXT_APPLICATION_ID, {v1, sizeof(v1)}},
                                 {EK_MLS_EXT_APPLICATION_ID, {v2, sizeof(v2)}}};
    ek_mls_extension unknown[1] = {{0xff0a, {v1, sizeof(v1)}}};
    const ek_mls_extension *lists[2] = {twice, unknown};
    size_t counts[2] = {2, 1};
    for (int k = 0; k < 2; k++) {
        ek_mls_proposal q = {.type = EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS};
        q.u.group_context_extensions.items = (ek_mls_extension *)lists[k];
        q.u.group_context_extensions.count = counts[k];
        raw_proposal(&msg, &a, &q, NULL);
        refused_everywhere(bc, 2, &msg, k == 0 ? "duplicate extension" : "unsupported extension");
        ek_mls_buf_free(&msg);
    }
    commit_goes_through(&b, (mls_member *[]){&a, &c}, 2);

    /* 5. An invalid proposal already in the cache (as if cached before the
     * checks on receipt) and two proposals valid alone but not together
     * (Updates of a and b with one encryption key): the committer leaves
     * out what does not fit, and the commit goes through. */
    ek_mls_extensions dup = {twice, 2};
    ek_mls_proposal q = {.type = EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS};
    q.u.group_context_extensions = dup;
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    EK_CHECK_OK(ek_mls_write_proposal(&w, &q));
    ek_mls_cached_proposal cp;
    memset(&cp, 0, sizeof(cp));
    memset(cp.ref, 0x5a, sizeof(cp.ref));
    cp.sender = (ek_mls_sender){EK_MLS_SENDER_MEMBER, 0};
    cp.enc = w.buf;
    cp.enc_len = w.len;
    EK_CHECK_OK(ek_mls_epoch_cache_proposal(c.g->cur, NULL, &cp));
    ek_writer_dispose(&w);
    uint8_t shared[EK_MLS_MAX_KEM_PUBLIC_LEN], shared_priv[EK_MLS_MAX_KEM_PRIVATE_LEN];
    secret[0] = 9;
    EK_CHECK_OK(ek_mls_node_key_pair(shared, shared_priv, s, secret));
    ek_mls_buf upd_a, upd_b;
    update_leaf(&leaf, &n, &arena, &a, shared, 0);
    p.u.update = leaf;
    raw_proposal(&upd_a, &a, &p, shared_priv);
    ek_mls_tnode_unref(n, NULL);
    update_leaf(&leaf, &n, &arena, &b, shared, 0);
    p.u.update = leaf;
    raw_proposal(&upd_b, &b, &p, shared_priv);
    ek_mls_tnode_unref(n, NULL);
    int kind = 0;
    EK_CHECK_OK(mls_deliver(&c, &upd_a, &kind));
    EK_CHECK_OK(mls_deliver(&c, &upd_b, &kind));
    EK_CHECK_OK(mls_deliver(&a, &upd_b, &kind));
    EK_CHECK_OK(mls_deliver(&b, &upd_a, &kind));
    EK_CHECK(c.g->cur->proposal_count == 3);
    ek_mls_buf cm;
    EK_CHECK_OK(ek_mls_group_commit(c.g, &cm, NULL, NULL));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(c.g));
    for (int i = 0; i < 2; i++) {
        EK_CHECK_OK(mls_deliver(ab[i], &cm, &kind));
        EK_CHECK(kind == EK_MLS_RECEIVED_COMMIT);
    }
    mls_member *abc[] = {&a, &b, &c};
    EK_CHECK(mls_same_view(abc, 3));
    /* a's Update came first and was applied; b's was left out. */
    const ek_mls_tnode *la = ek_mls_tree_leaf(&c.g->cur->tree, 0);
    const ek_mls_tnode *lb = ek_mls_tree_leaf(&c.g->cur->tree, 1);
    EK_CHECK(memcmp(la->encryption_key.data, shared, s->kem_public_len) == 0);
    EK_CHECK(memcmp(lb->encryption_key.data, shared, s->kem_public_len) != 0);
    ek_mls_buf_free(&upd_a);
    ek_mls_buf_free(&upd_b);
    ek_mls_buf_free(&cm);

    /* 6. A cached Update whose sender index is far outside the tree (the
     * review's finding 6: the index was used before its bounds check). */
    update_leaf(&leaf, &n, &arena, &a, fresh, 0);
    p.u.update = leaf;
    ek_writer_init_growable(&w, NULL);
    EK_CHECK_OK(ek_mls_write_proposal(&w, &p));
    ek_mls_tnode_unref(n, NULL);
    memset(&cp, 0, sizeof(cp));
    memset(cp.ref, 0xa5, sizeof(cp.ref));
    cp.sender = (ek_mls_sender){EK_MLS_SENDER_MEMBER, 0x40000000u};
    cp.enc = w.buf;
    cp.enc_len = w.len;
    EK_CHECK_OK(ek_mls_epoch_cache_proposal(c.g->cur, NULL, &cp));
    ek_writer_dispose(&w);
    ek_mls_group_settle(c.g);
    commit_goes_through(&c, ab, 2);
    ek_mls_arena_free(&arena);
    mls_member_free(&a);
    mls_member_free(&b);
    mls_member_free(&c);
}

/* ---- KeyPackage lifetimes need a clock (the MLS review's finding 4) ---- */

static void make_kp(mls_member *m, const char *name, uint64_t not_before, uint64_t not_after)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    ek_mls_key_package_params kpp = {
        .cipher_suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
        .identity = (const uint8_t *)name,
        .identity_len = strlen(name),
        .not_before = not_before,
        .not_after = not_after,
    };
    EK_CHECK_OK(ek_mls_key_package_create(&m->kp, &kpp, NULL, NULL));
}

static ek_mls_bytes kp_bytes(const mls_member *m)
{
    ek_mls_bytes b;
    ek_mls_key_package_bundle_message(m->kp, &b.data, &b.len);
    return b;
}

/* The committer (or proposer) of an Add checks the KeyPackage's lifetime
 * (RFC 9420 §7.3): with the clock, the whole window; before the
 * application sets one, at least that it had not expired when our own
 * KeyPackage was made (kept across save and restore); with no time known
 * at all, no Add. */
static void expired_key_packages(void)
{
    const uint64_t day = 86400u, now = MLS_TEST_NOW_S;
    mls_member a, timeless, old, fresh, early;
    make_kp(&a, "a", now, now + 90 * day);
    make_kp(&timeless, "timeless", 0, UINT64_MAX / 2);
    make_kp(&old, "old", now - 400 * day, now - 365 * day); /* expired a year ago */
    make_kp(&fresh, "fresh", now, now + 90 * day);
    make_kp(&early, "early", now + 30 * day, now + 60 * day); /* not valid yet */
    ek_mls_bytes b_old = kp_bytes(&old), b_fresh = kp_bytes(&fresh), b_early = kp_bytes(&early);
    ek_mls_commit_options add_old = {.add_key_packages = &b_old, .add_count = 1};
    ek_mls_commit_options add_fresh = {.add_key_packages = &b_fresh, .add_count = 1};
    ek_mls_commit_options add_early = {.add_key_packages = &b_early, .add_count = 1};
    ek_mls_buf commit, welcome, prop;

    /* No time known at all (a KeyPackage with no real lifetime): no Add,
     * whatever the KeyPackage, until the application sets the clock. */
    EK_CHECK_OK(
        ek_mls_group_create(&timeless.g, NULL, timeless.kp, group_id, sizeof(group_id), NULL));
    EK_CHECK_RC(ek_mls_group_commit(timeless.g, &commit, &welcome, &add_fresh), EK_ERR_STATE);
    EK_CHECK_RC(ek_mls_group_propose_add(timeless.g, &prop, b_fresh.data, b_fresh.len),
                EK_ERR_STATE);
    EK_CHECK(timeless.g->pending == NULL && timeless.g->cur->proposal_count == 0);
    ek_mls_group_set_time(timeless.g, now);
    EK_CHECK_RC(ek_mls_group_commit(timeless.g, &commit, &welcome, &add_old), EK_ERR_STATE);
    EK_CHECK_RC(ek_mls_group_commit(timeless.g, &commit, &welcome, &add_early), EK_ERR_STATE);
    EK_CHECK_OK(ek_mls_group_commit(timeless.g, &commit, &welcome, &add_fresh));
    ek_mls_group_discard_pending_commit(timeless.g);
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);

    /* No clock set, but a's own KeyPackage dates the group: the expired
     * KeyPackage is refused (by commit and by proposal), also after a save
     * and restore; the fresh one is added. */
    EK_CHECK_OK(ek_mls_group_create(&a.g, NULL, a.kp, group_id, sizeof(group_id), NULL));
    ek_mls_buf blob;
    EK_CHECK_OK(ek_mls_group_save(a.g, &blob));
    ek_mls_group_free(a.g);
    a.g = NULL;
    EK_CHECK_OK(ek_mls_group_restore(&a.g, NULL, blob.data, blob.len));
    ek_mls_buf_free(&blob);
    EK_CHECK_RC(ek_mls_group_commit(a.g, &commit, &welcome, &add_old), EK_ERR_STATE);
    EK_CHECK_RC(ek_mls_group_propose_add(a.g, &prop, b_old.data, b_old.len), EK_ERR_STATE);
    EK_CHECK(a.g->pending == NULL && a.g->cur->proposal_count == 0);
    EK_CHECK_OK(ek_mls_group_commit(a.g, &commit, &welcome, &add_fresh));
    EK_CHECK(welcome.len > 0);
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a.g));
    EK_CHECK(ek_mls_group_member_count(a.g) == 2);
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);
    mls_member *ms[] = {&a, &timeless, &old, &fresh, &early};
    for (size_t i = 0; i < 5; i++)
        mls_member_free(ms[i]);
}

int main(int argc, char **argv)
{
    bad_proposals();
    expired_key_packages();
    damaged_commits(EK_MLS_WIRE_PUBLIC_MESSAGE);
    damaged_commits(EK_MLS_WIRE_PRIVATE_MESSAGE);
    bad_trees(argc, argv);
    return ek_test_finish("mls.group_negative");
}
