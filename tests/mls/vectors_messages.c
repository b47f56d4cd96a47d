/*
 * vectors_messages.c: messages.json (RFC 9420 wire formats): each of the 17
 * fields of every case decodes with its struct, leaves no byte over, and
 * re-encodes to identical bytes. MLSMessage fields must also carry the
 * expected wire format (and content type, for the PublicMessages).
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "mls_vec.h"

typedef enum kind { MESSAGE, RATCHET_TREE, GROUP_SECRETS, PROPOSAL_BODY, COMMIT } kind;

static const struct field {
    const char *name;
    kind kind;
    uint16_t param;  /* wire format (MESSAGE) or proposal type (PROPOSAL_BODY) */
    uint8_t content; /* content type of a PublicMessage, or 0 */
} fields[] = {
    {"mls_welcome", MESSAGE, EK_MLS_WIRE_WELCOME, 0},
    {"mls_group_info", MESSAGE, EK_MLS_WIRE_GROUP_INFO, 0},
    {"mls_key_package", MESSAGE, EK_MLS_WIRE_KEY_PACKAGE, 0},
    {"ratchet_tree", RATCHET_TREE, 0, 0},
    {"group_secrets", GROUP_SECRETS, 0, 0},
    {"add_proposal", PROPOSAL_BODY, EK_MLS_PROPOSAL_ADD, 0},
    {"update_proposal", PROPOSAL_BODY, EK_MLS_PROPOSAL_UPDATE, 0},
    {"remove_proposal", PROPOSAL_BODY, EK_MLS_PROPOSAL_REMOVE, 0},
    {"pre_shared_key_proposal", PROPOSAL_BODY, EK_MLS_PROPOSAL_PSK, 0},
    {"re_init_proposal", PROPOSAL_BODY, EK_MLS_PROPOSAL_REINIT, 0},
    {"external_init_proposal", PROPOSAL_BODY, EK_MLS_PROPOSAL_EXTERNAL_INIT, 0},
    {"group_context_extensions_proposal", PROPOSAL_BODY, EK_MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS,
     0},
    {"commit", COMMIT, 0, 0},
    {"public_message_application", MESSAGE, EK_MLS_WIRE_PUBLIC_MESSAGE, EK_MLS_CONTENT_APPLICATION},
    {"public_message_proposal", MESSAGE, EK_MLS_WIRE_PUBLIC_MESSAGE, EK_MLS_CONTENT_PROPOSAL},
    {"public_message_commit", MESSAGE, EK_MLS_WIRE_PUBLIC_MESSAGE, EK_MLS_CONTENT_COMMIT},
    {"private_message", MESSAGE, EK_MLS_WIRE_PRIVATE_MESSAGE, 0},
};

/* Decode bytes as f's struct, check, re-encode into w. */
static int decode_encode(const struct field *f, const uint8_t *buf, size_t len, ek_writer *w)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_reader r;
    ek_reader_init(&r, buf, len);
    int rc;
    switch (f->kind) {
    case MESSAGE: {
        ek_mls_message m;
        rc = ek_mls_read_message(&m, &a, &r);
        if (rc == EK_OK && m.wire_format != f->param)
            rc = EK_ERR_DECODE;
        if (rc == EK_OK && f->content != 0 && m.u.public_message.content.content_type != f->content)
            rc = EK_ERR_DECODE;
        if (rc == EK_OK)
            rc = ek_reader_finish(&r);
        if (rc == EK_OK)
            rc = ek_mls_write_message(w, &m);
        break;
    }
    case RATCHET_TREE: {
        ek_mls_ratchet_tree t;
        rc = ek_mls_read_ratchet_tree(&t, &a, &r);
        if (rc == EK_OK)
            rc = ek_reader_finish(&r);
        if (rc == EK_OK)
            rc = ek_mls_write_ratchet_tree(w, &t);
        break;
    }
    case GROUP_SECRETS: {
        ek_mls_group_secrets g;
        rc = ek_mls_read_group_secrets(&g, &a, &r);
        if (rc == EK_OK)
            rc = ek_reader_finish(&r);
        if (rc == EK_OK)
            rc = ek_mls_write_group_secrets(w, &g);
        break;
    }
    case PROPOSAL_BODY: {
        ek_mls_proposal p;
        rc = ek_mls_read_proposal_body(&p, &a, f->param, &r);
        if (rc == EK_OK)
            rc = ek_reader_finish(&r);
        if (rc == EK_OK)
            rc = ek_mls_write_proposal_body(w, &p);
        break;
    }
    default: {
        ek_mls_commit c;
        rc = ek_mls_read_commit(&c, &a, &r);
        if (rc == EK_OK)
            rc = ek_reader_finish(&r);
        if (rc == EK_OK)
            rc = ek_mls_write_commit(w, &c);
        break;
    }
    }
    ek_mls_arena_free(&a);
    return rc;
}

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/messages.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/messages");
    size_t i, nfields = sizeof(fields) / sizeof(fields[0]);
    json_t *c;
    json_array_foreach (doc, i, c) {
        mls_hex_pool p = {0};
        int ok = 1;
        for (size_t k = 0; k < nfields; k++) {
            size_t len;
            uint8_t *buf = mls_hex(&p, c, fields[k].name, &len);
            ek_writer w;
            ek_writer_init_growable(&w, NULL);
            int rc = decode_encode(&fields[k], buf, len, &w);
            int same = rc == EK_OK && mls_eq(w.buf, w.len, buf, len);
            if (!same) {
                fprintf(stderr, "  case %zu %s: %s\n", i, fields[k].name,
                        rc != EK_OK ? ek_strerror(rc) : "re-encoding differs");
                ok = 0;
            }
            ek_writer_dispose(&w);
        }
        ek_vec_case(&st, ok, "case %zu", i);
        mls_hex_free(&p);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
