/*
 * vectors_message_protection.c: message-protection.json (RFC 9420 §6):
 * unprotect the given PublicMessages (membership tag, signature) and
 * PrivateMessages (sender data, ratchet key with reuse guard, content,
 * padding, signature) of a proposal, a commit and application data, each
 * against a fresh secret tree; then protect the same contents ourselves and
 * unprotect them again; and application data as a PublicMessage is refused.
 * The sender is always member leaf 1 of a 2-leaf tree.
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "mls_vec.h"

typedef struct fixture {
    const ek_mls_suite *s;
    mls_hex_pool pool;
    ek_mls_bytes group_id, sig_priv, sig_pub, encryption_secret, sender_data_secret;
    ek_mls_bytes membership_key;
    uint64_t epoch;
    ek_writer gc; /* the encoded GroupContext */
} fixture;

/* The only sender in these vectors: member leaf 1, with signature_pub. */
static int lookup_leaf1(void *ctx, const ek_mls_framed_content *content, ek_mls_bytes *key)
{
    const fixture *f = ctx;
    if (content->sender.type != EK_MLS_SENDER_MEMBER || content->sender.index != 1)
        return EK_ERR_AUTH;
    *key = f->sig_pub;
    return EK_OK;
}

/* Encode the body of content (proposal, commit or raw application bytes)
 * and compare with want. */
static int content_is(const ek_mls_framed_content *content, uint8_t type, ek_mls_bytes want)
{
    if (content->content_type != type)
        return 0;
    if (type == EK_MLS_CONTENT_APPLICATION)
        return mls_eq(content->u.application_data.data, content->u.application_data.len, want.data,
                      want.len);
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    int rc = type == EK_MLS_CONTENT_PROPOSAL ? ek_mls_write_proposal(&w, &content->u.proposal)
                                             : ek_mls_write_commit(&w, &content->u.commit);
    int ok = rc == EK_OK && mls_eq(w.buf, w.len, want.data, want.len);
    ek_writer_dispose(&w);
    return ok;
}

/* Unprotect an encoded MLSMessage (public or private) and compare. */
static int unprotect_is(fixture *f, const uint8_t *msg, size_t len, uint8_t type, ek_mls_bytes want)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_message m;
    ek_mls_authenticated_content ac;
    ek_mls_signer_lookup signer = {lookup_leaf1, f};
    int rc = ek_mls_message_decode(&m, &a, msg, len);
    if (rc == EK_OK && m.wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE) {
        rc = ek_mls_public_message_unprotect(&ac, f->s, &m.u.public_message, f->membership_key.data,
                                             f->gc.buf, f->gc.len, &signer);
    } else if (rc == EK_OK && m.wire_format == EK_MLS_WIRE_PRIVATE_MESSAGE) {
        /* A fresh receiver tree per message: all three use generation 0. */
        ek_mls_secret_tree tree;
        rc = ek_mls_secret_tree_init(&tree, f->s, NULL, f->encryption_secret.data, 2);
        if (rc == EK_OK)
            rc = ek_mls_private_message_unprotect(&ac, &a, f->s, &tree, f->sender_data_secret.data,
                                                  &m.u.private_message, f->gc.buf, f->gc.len,
                                                  &signer);
        ek_mls_secret_tree_free(&tree);
    } else if (rc == EK_OK) {
        rc = EK_ERR_DECODE;
    }
    int ok = rc == EK_OK && content_is(&ac.content, type, want);
    if (rc != EK_OK)
        fprintf(stderr, "  unprotect: %s\n", ek_strerror(rc));
    ek_mls_arena_free(&a);
    return ok;
}

/* Build content of the given type from want, sign it for wire_format,
 * protect it, encode the MLSMessage, then unprotect_is it. */
static int round_trip(fixture *f, uint16_t wire_format, uint8_t type, ek_mls_bytes want)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_authenticated_content ac;
    memset(&ac, 0, sizeof(ac));
    ac.wire_format = wire_format;
    ac.content.group_id = f->group_id;
    ac.content.epoch = f->epoch;
    ac.content.sender.type = EK_MLS_SENDER_MEMBER;
    ac.content.sender.index = 1;
    ac.content.content_type = type;
    ek_reader r;
    ek_reader_init(&r, want.data, want.len);
    int rc = EK_OK;
    if (type == EK_MLS_CONTENT_APPLICATION)
        ac.content.u.application_data = want;
    else if (type == EK_MLS_CONTENT_PROPOSAL)
        rc = ek_mls_read_proposal(&ac.content.u.proposal, &a, &r);
    else
        rc = ek_mls_read_commit(&ac.content.u.commit, &a, &r);
    if (rc == EK_OK && type != EK_MLS_CONTENT_APPLICATION)
        rc = ek_reader_finish(&r);
    if (rc == EK_OK && type == EK_MLS_CONTENT_COMMIT) {
        /* A commit's tag cannot be derived here (no confirmation key in the
         * file); any Nh bytes exercise the framing. */
        uint8_t *tag = ek_mls_arena_alloc(&a, f->s->hash_len);
        ac.auth.confirmation_tag.data = tag;
        ac.auth.confirmation_tag.len = tag != NULL ? f->s->hash_len : 0;
    }
    if (rc == EK_OK)
        rc = ek_mls_sign_content(&ac, &a, f->s, f->sig_priv.data, f->sig_priv.len, f->gc.buf,
                                 f->gc.len);
    ek_mls_message m;
    memset(&m, 0, sizeof(m));
    m.version = EK_MLS_VERSION_MLS10;
    m.wire_format = wire_format;
    ek_mls_secret_tree tree;
    memset(&tree, 0, sizeof(tree));
    if (rc == EK_OK && wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE) {
        rc = ek_mls_public_message_protect(&m.u.public_message, &a, f->s, &ac,
                                           f->membership_key.data, f->gc.buf, f->gc.len);
    } else if (rc == EK_OK) {
        rc = ek_mls_secret_tree_init(&tree, f->s, NULL, f->encryption_secret.data, 2);
        if (rc == EK_OK)
            rc = ek_mls_private_message_protect(&m.u.private_message, &a, f->s, &tree,
                                                f->sender_data_secret.data, &ac, 0, NULL);
        ek_mls_secret_tree_free(&tree);
    }
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    if (rc == EK_OK)
        rc = ek_mls_write_message(&w, &m);
    int ok = rc == EK_OK && unprotect_is(f, w.buf, w.len, type, want);
    if (rc != EK_OK)
        fprintf(stderr, "  protect: %s\n", ek_strerror(rc));
    ek_writer_dispose(&w);
    ek_mls_arena_free(&a);
    return ok;
}

/* §6: application data as a PublicMessage must be refused. */
static int public_application_refused(fixture *f, ek_mls_bytes app)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_authenticated_content ac;
    memset(&ac, 0, sizeof(ac));
    ac.wire_format = EK_MLS_WIRE_PUBLIC_MESSAGE;
    ac.content.group_id = f->group_id;
    ac.content.epoch = f->epoch;
    ac.content.sender.type = EK_MLS_SENDER_MEMBER;
    ac.content.sender.index = 1;
    ac.content.content_type = EK_MLS_CONTENT_APPLICATION;
    ac.content.u.application_data = app;
    ek_mls_public_message pm;
    int ok = ek_mls_sign_content(&ac, &a, f->s, f->sig_priv.data, f->sig_priv.len, f->gc.buf,
                                 f->gc.len) == EK_OK &&
             ek_mls_public_message_protect(&pm, &a, f->s, &ac, f->membership_key.data, f->gc.buf,
                                           f->gc.len) != EK_OK;
    ek_mls_arena_free(&a);
    return ok;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/message-protection.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/message-protection");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        const ek_mls_suite *s = mls_vec_suite(&st, c);
        if (s == NULL)
            continue;
        fixture f;
        memset(&f, 0, sizeof(f));
        f.s = s;
        mls_hex_pool *p = &f.pool;
        f.group_id = mls_hex_bytes(p, c, "group_id");
        f.epoch = (uint64_t)ek_test_json_int(c, "epoch");
        f.sig_priv = mls_hex_bytes(p, c, "signature_priv");
        f.sig_pub = mls_hex_bytes(p, c, "signature_pub");
        f.encryption_secret = mls_hex_bytes(p, c, "encryption_secret");
        f.sender_data_secret = mls_hex_bytes(p, c, "sender_data_secret");
        f.membership_key = mls_hex_bytes(p, c, "membership_key");
        ek_mls_group_context gc = {
            .version = EK_MLS_VERSION_MLS10,
            .cipher_suite = s->id,
            .group_id = f.group_id,
            .epoch = f.epoch,
            .tree_hash = mls_hex_bytes(p, c, "tree_hash"),
            .confirmed_transcript_hash = mls_hex_bytes(p, c, "confirmed_transcript_hash"),
        };
        ek_writer_init_growable(&f.gc, NULL);
        int ok = ek_mls_write_group_context(&f.gc, &gc) == EK_OK;
        ek_mls_bytes proposal = mls_hex_bytes(p, c, "proposal");
        ek_mls_bytes commit = mls_hex_bytes(p, c, "commit");
        ek_mls_bytes app = mls_hex_bytes(p, c, "application");
        ek_mls_bytes proposal_pub = mls_hex_bytes(p, c, "proposal_pub");
        ek_mls_bytes proposal_priv = mls_hex_bytes(p, c, "proposal_priv");
        ek_mls_bytes commit_pub = mls_hex_bytes(p, c, "commit_pub");
        ek_mls_bytes commit_priv = mls_hex_bytes(p, c, "commit_priv");
        ek_mls_bytes app_priv = mls_hex_bytes(p, c, "application_priv");
        int r[10];
        r[0] = unprotect_is(&f, proposal_pub.data, proposal_pub.len, EK_MLS_CONTENT_PROPOSAL,
                            proposal);
        r[1] = unprotect_is(&f, proposal_priv.data, proposal_priv.len, EK_MLS_CONTENT_PROPOSAL,
                            proposal);
        r[2] = unprotect_is(&f, commit_pub.data, commit_pub.len, EK_MLS_CONTENT_COMMIT, commit);
        r[3] = unprotect_is(&f, commit_priv.data, commit_priv.len, EK_MLS_CONTENT_COMMIT, commit);
        r[4] = unprotect_is(&f, app_priv.data, app_priv.len, EK_MLS_CONTENT_APPLICATION, app);
        r[5] = round_trip(&f, EK_MLS_WIRE_PUBLIC_MESSAGE, EK_MLS_CONTENT_PROPOSAL, proposal);
        r[6] = round_trip(&f, EK_MLS_WIRE_PUBLIC_MESSAGE, EK_MLS_CONTENT_COMMIT, commit);
        r[7] = round_trip(&f, EK_MLS_WIRE_PRIVATE_MESSAGE, EK_MLS_CONTENT_PROPOSAL, proposal);
        r[8] = round_trip(&f, EK_MLS_WIRE_PRIVATE_MESSAGE, EK_MLS_CONTENT_COMMIT, commit) &&
               round_trip(&f, EK_MLS_WIRE_PRIVATE_MESSAGE, EK_MLS_CONTENT_APPLICATION, app);
        r[9] = public_application_refused(&f, app);
        for (int k = 0; k < 10; k++)
            ok = ok && r[k];
        ek_vec_case(&st, ok,
                    "suite %u: unprotect pub/priv proposal %d/%d commit %d/%d app-priv %d; "
                    "round trip pub proposal %d commit %d, priv proposal %d commit+app %d; "
                    "public application refused %d",
                    s->id, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]);
        ek_writer_dispose(&f.gc);
        mls_hex_free(p);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
