/*
 * fuzz_mls_message.c: the MLSMessage decoder (RFC 9420 §6) on arbitrary
 * bytes: PublicMessage, PrivateMessage, Welcome, GroupInfo and KeyPackage
 * with everything nested in them (LeafNode, Credential, Capabilities,
 * Extensions, Proposals, Commit, UpdatePath, GroupContext).
 *
 * Properties: no crash, leak or sanitizer report; whatever decodes
 * re-encodes to exactly the input (decode -> encode is the identity). A
 * ratchet_tree extension found in a GroupInfo (§12.4.3.3) is decoded as a
 * ratchet tree too and must round-trip the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_equal(const ek_writer *w, const uint8_t *data, size_t size)
{
    if (w->err != EK_OK || w->len != size || (size > 0 && memcmp(w->buf, data, size) != 0))
        abort();
}

static void check_ratchet_tree_extensions(const ek_mls_extensions *exts, ek_mls_arena *a)
{
    for (size_t i = 0; i < exts->count; i++) {
        if (exts->items[i].type != EK_MLS_EXT_RATCHET_TREE)
            continue;
        const ek_mls_bytes *d = &exts->items[i].data;
        ek_reader r;
        ek_reader_init(&r, d->data, d->len);
        ek_mls_ratchet_tree tree;
        if (ek_mls_read_ratchet_tree(&tree, a, &r) != EK_OK || ek_reader_finish(&r) != EK_OK)
            continue;
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        (void)ek_mls_write_ratchet_tree(&w, &tree);
        must_equal(&w, d->data, d->len);
        ek_writer_dispose(&w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_message m;
    if (ek_mls_message_decode(&m, &a, data, size) == EK_OK) {
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        (void)ek_mls_write_message(&w, &m);
        must_equal(&w, data, size);
        ek_writer_dispose(&w);
        if (m.wire_format == EK_MLS_WIRE_GROUP_INFO)
            check_ratchet_tree_extensions(&m.u.group_info.extensions, &a);
    }
    ek_mls_arena_free(&a);
    return 0;
}
