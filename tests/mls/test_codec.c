/*
 * test_codec.c: the MLS presentation-language codec at its edges: varints
 * (prefix 11, non-minimal forms, boundaries), vectors (truncated, longer
 * than the limit, length not matching the contents), optional presence
 * bytes, enum values, per-list limits, the ratchet-tree rules, trailing
 * bytes, every truncation of a valid message, and allocation failures.
 */
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "ek_test.h"

static int decode_varint(const uint8_t *buf, size_t len, uint32_t *v)
{
    ek_reader r;
    ek_reader_init(&r, buf, len);
    int rc = ek_mls_read_varint(v, &r);
    return rc != EK_OK ? rc : ek_reader_finish(&r);
}

static void test_varint(void)
{
    static const struct {
        size_t len;
        uint32_t v;
        uint8_t b[4];
    } good[] = {
        {1, 0, {0x00}},
        {1, 63, {0x3f}},
        {2, 64, {0x40, 0x40}},
        {2, 16383, {0x7f, 0xff}},
        {4, 16384, {0x80, 0x00, 0x40, 0x00}},
        {4, 0x3fffffff, {0xbf, 0xff, 0xff, 0xff}},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint32_t v = 0;
        EK_CHECK_OK(decode_varint(good[i].b, good[i].len, &v));
        EK_CHECK(v == good[i].v);
        uint8_t out[4];
        ek_writer w;
        ek_writer_init_fixed(&w, out, sizeof(out));
        EK_CHECK_OK(ek_mls_write_varint(&w, good[i].v));
        EK_CHECK(w.len == good[i].len && memcmp(out, good[i].b, w.len) == 0);
    }
    /* §2.1.2: the smallest encoding is mandatory. */
    static const uint8_t non_minimal[][4] = {
        {0x40, 0x00}, {0x40, 0x3f}, {0x80, 0x00, 0x00, 0x00}, {0x80, 0x00, 0x3f, 0xff}};
    static const size_t non_minimal_len[] = {2, 2, 4, 4};
    for (size_t i = 0; i < 4; i++) {
        uint32_t v = 7;
        EK_CHECK_RC(decode_varint(non_minimal[i], non_minimal_len[i], &v), EK_ERR_DECODE);
        EK_CHECK(v == 7);
    }
    /* Prefix 11 is invalid, whatever follows. */
    static const uint8_t prefix11[] = {0xc0, 0, 0, 0, 0, 0, 0, 0};
    uint32_t v;
    EK_CHECK_RC(decode_varint(prefix11, sizeof(prefix11), &v), EK_ERR_DECODE);
    EK_CHECK_RC(decode_varint((const uint8_t *)"\xff", 1, &v), EK_ERR_DECODE);
    /* Truncated forms. */
    EK_CHECK_RC(decode_varint((const uint8_t *)"\x40", 1, &v), EK_ERR_TRUNCATED);
    EK_CHECK_RC(decode_varint((const uint8_t *)"\x80\x00\x40", 3, &v), EK_ERR_TRUNCATED);
    EK_CHECK_RC(decode_varint(NULL, 0, &v), EK_ERR_TRUNCATED);
    /* Values past 2^30 - 1 cannot be encoded. */
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    EK_CHECK_RC(ek_mls_write_varint(&w, (size_t)1 << 30), EK_ERR_TOO_LARGE);
    EK_CHECK_RC(ek_mls_write_varint(&w, 1), EK_ERR_TOO_LARGE); /* sticky */
    ek_writer_dispose(&w);
}

static void test_opaque(void)
{
    ek_reader r;
    ek_mls_bytes b;
    /* Length 3 with only 2 bytes left. */
    ek_reader_init(&r, (const uint8_t *)"\x03\x01\x02", 3);
    EK_CHECK_RC(ek_mls_read_opaque(&b, &r), EK_ERR_TRUNCATED);
    /* A length beyond EK_MLS_MAX_VECTOR_BYTES is refused before any read. */
    uint8_t big[4] = {0x80 | (uint8_t)((EK_MLS_MAX_VECTOR_BYTES + 1) >> 24),
                      (uint8_t)((EK_MLS_MAX_VECTOR_BYTES + 1) >> 16),
                      (uint8_t)((EK_MLS_MAX_VECTOR_BYTES + 1) >> 8),
                      (uint8_t)(EK_MLS_MAX_VECTOR_BYTES + 1)};
    ek_reader_init(&r, big, sizeof(big));
    EK_CHECK_RC(ek_mls_read_opaque(&b, &r), EK_ERR_TOO_LARGE);
    /* Empty: a NULL view of length 0. */
    ek_reader_init(&r, (const uint8_t *)"\x00", 1);
    EK_CHECK_OK(ek_mls_read_opaque(&b, &r));
    EK_CHECK(b.len == 0 && b.data == NULL);
    EK_CHECK_OK(ek_reader_finish(&r));
    /* Writing more than the limit fails. */
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    EK_CHECK_RC(ek_mls_write_opaque(&w, "x", EK_MLS_MAX_VECTOR_BYTES + 1), EK_ERR_TOO_LARGE);
    ek_writer_dispose(&w);
}

/* vector_begin/end shrink the 4-byte placeholder to the minimal header. */
static void test_vector_framing(void)
{
    static const size_t sizes[] = {0, 1, 63, 64, 16383, 16384, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        EK_CHECK_OK(ek_write_u8(&w, 0xee));
        size_t mark = ek_mls_vector_begin(&w);
        for (size_t j = 0; j < n; j++)
            (void)ek_write_u8(&w, (uint8_t)j);
        EK_CHECK_OK(ek_mls_vector_end(&w, mark));
        size_t hdr = n < 64 ? 1 : n < 16384 ? 2 : 4;
        EK_CHECK(w.len == 1 + hdr + n);
        ek_reader r;
        ek_reader_init(&r, w.buf + 1, w.len - 1);
        ek_mls_bytes b;
        EK_CHECK_OK(ek_mls_read_opaque(&b, &r));
        EK_CHECK_OK(ek_reader_finish(&r));
        EK_CHECK(b.len == n);
        int same = 1;
        for (size_t j = 0; j < n; j++)
            same &= b.data[j] == (uint8_t)j;
        EK_CHECK(same);
        ek_writer_dispose(&w);
    }
}

/* Decode buf as an MLSMessage; EK_OK only if it also re-encodes to buf. */
static int message_round_trip(const uint8_t *buf, size_t len)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_mls_message m;
    int rc = ek_mls_message_decode(&m, &a, buf, len);
    if (rc == EK_OK) {
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        rc = ek_mls_write_message(&w, &m);
        if (rc == EK_OK && (w.len != len || memcmp(w.buf, buf, len) != 0))
            rc = EK_ERR_STATE;
        ek_writer_dispose(&w);
    }
    ek_mls_arena_free(&a);
    return rc;
}

/* A KeyPackage exercising most of the leaf codec, as an MLSMessage. */
static void build_key_package(ek_writer *w)
{
    static uint16_t versions[] = {1}, suites[] = {1, 3, 0x0a0a}, exts[] = {0xff00};
    static ek_mls_extension leaf_ext[] = {{0xff00, {(const uint8_t *)"ext", 3}}};
    static ek_mls_bytes certs[] = {{(const uint8_t *)"cert-one", 8}, {NULL, 0}};
    ek_mls_message m;
    memset(&m, 0, sizeof(m));
    m.version = EK_MLS_VERSION_MLS10;
    m.wire_format = EK_MLS_WIRE_KEY_PACKAGE;
    ek_mls_key_package *kp = &m.u.key_package;
    kp->version = 1;
    kp->cipher_suite = 1;
    kp->init_key = (ek_mls_bytes){(const uint8_t *)"0123456789abcdef0123456789abcdef", 32};
    kp->leaf_node.encryption_key = kp->init_key;
    kp->leaf_node.signature_key = kp->init_key;
    kp->leaf_node.credential.type = EK_MLS_CREDENTIAL_X509;
    kp->leaf_node.credential.certificates = certs;
    kp->leaf_node.credential.certificate_count = 2;
    kp->leaf_node.capabilities.versions = (ek_mls_u16_list){versions, 1};
    kp->leaf_node.capabilities.cipher_suites = (ek_mls_u16_list){suites, 3};
    kp->leaf_node.capabilities.extensions = (ek_mls_u16_list){exts, 1};
    kp->leaf_node.source = EK_MLS_LEAF_SOURCE_KEY_PACKAGE;
    kp->leaf_node.not_before = 1;
    kp->leaf_node.not_after = UINT64_MAX;
    kp->leaf_node.extensions = (ek_mls_extensions){leaf_ext, 1};
    kp->leaf_node.signature = (ek_mls_bytes){(const uint8_t *)"sig", 3};
    kp->signature = (ek_mls_bytes){(const uint8_t *)"kp-sig", 6};
    ek_writer_init_growable(w, NULL);
    EK_CHECK_OK(ek_mls_write_message(w, &m));
}

static void test_message_edges(void)
{
    ek_writer w;
    build_key_package(&w);
    EK_CHECK_OK(message_round_trip(w.buf, w.len));
    /* Every strict prefix fails (and nothing crashes: ASan watches). */
    int prefixes_fail = 1;
    for (size_t n = 0; n < w.len; n++)
        prefixes_fail &= message_round_trip(w.buf, n) != EK_OK;
    EK_CHECK(prefixes_fail);
    /* One byte too many. */
    /* Credential type (after version, suite, init key, two keys) 0x0003. */
    size_t cred = 4 + 2 + 2 + 33 + 33 + 33;
    uint8_t *longer = malloc(w.len + 1);
    EK_CHECK(longer != NULL && w.len > cred + 1);
    if (longer == NULL || w.len <= cred + 1) {
        free(longer);
        ek_writer_dispose(&w);
        return;
    }
    memcpy(longer, w.buf, w.len);
    longer[w.len] = 0;
    EK_CHECK_RC(message_round_trip(longer, w.len + 1), EK_ERR_TRAILING);
    /* Protocol version 2 and wire format 6 cannot be parsed. */
    longer[1] = 2;
    EK_CHECK_RC(message_round_trip(longer, w.len), EK_ERR_UNSUPPORTED);
    longer[1] = 1;
    longer[3] = 6;
    EK_CHECK_RC(message_round_trip(longer, w.len), EK_ERR_UNSUPPORTED);
    longer[3] = 5;
    EK_CHECK(longer[cred] == 0 && longer[cred + 1] == EK_MLS_CREDENTIAL_X509);
    longer[cred + 1] = 3;
    EK_CHECK_RC(message_round_trip(longer, w.len), EK_ERR_UNSUPPORTED);
    free(longer);
    ek_writer_dispose(&w);
}

static int decode_commit(const uint8_t *buf, size_t len)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_reader r;
    ek_reader_init(&r, buf, len);
    ek_mls_commit c;
    int rc = ek_mls_read_commit(&c, &a, &r);
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    ek_mls_arena_free(&a);
    return rc;
}

static void test_commit_edges(void)
{
    /* proposals<V> = [Remove(5)], no path. */
    static const uint8_t ok[] = {0x07, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x05, 0x00};
    EK_CHECK_OK(decode_commit(ok, sizeof(ok)));
    uint8_t b[sizeof(ok)];
    memcpy(b, ok, sizeof(b));
    b[8] = 2; /* optional<UpdatePath> presence byte 2: malformed (§2.1.1) */
    EK_CHECK_RC(decode_commit(b, sizeof(b)), EK_ERR_DECODE);
    memcpy(b, ok, sizeof(b));
    b[1] = 3; /* ProposalOrRefType 3 */
    EK_CHECK_RC(decode_commit(b, sizeof(b)), EK_ERR_DECODE);
    memcpy(b, ok, sizeof(b));
    b[3] = 0x08; /* proposal type 8: body cannot be parsed */
    EK_CHECK_RC(decode_commit(b, sizeof(b)), EK_ERR_UNSUPPORTED);
    memcpy(b, ok, sizeof(b));
    b[0] = 0x06; /* vector ends inside the Remove */
    EK_CHECK(decode_commit(b, sizeof(b)) == EK_ERR_TRUNCATED);
    memcpy(b, ok, sizeof(b));
    b[0] = 0x08; /* the vector swallows the presence byte: a ProposalOrRef of type 0 */
    EK_CHECK_RC(decode_commit(b, sizeof(b)), EK_ERR_DECODE);
}

static int decode_tree(const uint8_t *buf, size_t len)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_reader r;
    ek_reader_init(&r, buf, len);
    ek_mls_ratchet_tree t;
    int rc = ek_mls_read_ratchet_tree(&t, &a, &r);
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    ek_mls_arena_free(&a);
    return rc;
}

static void test_ratchet_tree_edges(void)
{
    /* [blank leaf, parent{key "", ph "", unmerged [7]}]: last node non-blank. */
    static const uint8_t good[] = {0x0a, 0x00, 0x01, 0x02, 0x00, 0x00, 0x04, 0, 0, 0, 7};
    EK_CHECK_OK(decode_tree(good, sizeof(good)));
    uint8_t b[sizeof(good)];
    memcpy(b, good, sizeof(b));
    b[3] = EK_MLS_NODE_LEAF; /* a leaf at odd index 1 */
    EK_CHECK_RC(decode_tree(b, sizeof(b)), EK_ERR_DECODE);
    memcpy(b, good, sizeof(b));
    b[6] = 0x03; /* unmerged_leaves of 3 bytes: not a uint32 list */
    EK_CHECK(decode_tree(b, sizeof(b)) != EK_OK);
    /* Trailing blank node: the sender must strip it (§12.4.3.3). */
    static const uint8_t trailing_blank[] = {0x02, 0x00, 0x00};
    EK_CHECK_RC(decode_tree(trailing_blank, sizeof(trailing_blank)), EK_ERR_DECODE);
    static const uint8_t empty[] = {0x00};
    EK_CHECK_RC(decode_tree(empty, sizeof(empty)), EK_ERR_DECODE);
    /* More nodes than EK_MLS_MAX_TREE_NODES (all blank): refused at the
     * limit, before the last-node check. */
    size_t n = (size_t)EK_MLS_MAX_TREE_NODES + 1;
    uint8_t *many = calloc(4 + n, 1);
    many[0] = (uint8_t)(0x80 | n >> 24);
    many[1] = (uint8_t)(n >> 16);
    many[2] = (uint8_t)(n >> 8);
    many[3] = (uint8_t)n;
    EK_CHECK_RC(decode_tree(many, 4 + n), EK_ERR_TOO_LARGE);
    free(many);
}

static int decode_extensions(const uint8_t *buf, size_t len)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_reader r;
    ek_reader_init(&r, buf, len);
    ek_mls_extensions e;
    int rc = ek_mls_read_extensions(&e, &a, &r);
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    ek_mls_arena_free(&a);
    return rc;
}

static void test_list_limits(void)
{
    /* EK_MLS_MAX_EXTENSIONS empty extensions pass, one more does not. */
    for (size_t count = EK_MLS_MAX_EXTENSIONS; count <= EK_MLS_MAX_EXTENSIONS + 1; count++) {
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        size_t mark = ek_mls_vector_begin(&w);
        for (size_t i = 0; i < count; i++) {
            (void)ek_write_u16(&w, (uint16_t)i);
            (void)ek_write_u8(&w, 0);
        }
        EK_CHECK_OK(ek_mls_vector_end(&w, mark));
        EK_CHECK_RC(decode_extensions(w.buf, w.len),
                    count <= EK_MLS_MAX_EXTENSIONS ? EK_OK : EK_ERR_TOO_LARGE);
        ek_writer_dispose(&w);
    }
    /* A capabilities list of EK_MLS_MAX_CAPABILITY_ITEMS + 1 entries. */
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    (void)ek_mls_write_varint(&w, (size_t)2 * (EK_MLS_MAX_CAPABILITY_ITEMS + 1));
    for (size_t i = 0; i <= EK_MLS_MAX_CAPABILITY_ITEMS; i++)
        (void)ek_write_u16(&w, 1);
    for (int i = 0; i < 4; i++)
        (void)ek_write_u8(&w, 0);
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    ek_reader r;
    ek_reader_init(&r, w.buf, w.len);
    ek_mls_capabilities caps;
    EK_CHECK_RC(ek_mls_read_capabilities(&caps, &a, &r), EK_ERR_TOO_LARGE);
    /* An odd-length uint16 list. */
    static const uint8_t odd[] = {0x03, 0, 1, 0, 0, 0, 0, 0};
    ek_reader_init(&r, odd, sizeof(odd));
    EK_CHECK_RC(ek_mls_read_capabilities(&caps, &a, &r), EK_ERR_DECODE);
    ek_mls_arena_free(&a);
    ek_writer_dispose(&w);
}

static void test_enum_values(void)
{
    ek_reader r;
    ek_mls_sender s;
    ek_reader_init(&r, (const uint8_t *)"\x05", 1);
    EK_CHECK_RC(ek_mls_read_sender(&s, &r), EK_ERR_DECODE);
    ek_reader_init(&r, (const uint8_t *)"\x00", 1);
    EK_CHECK_RC(ek_mls_read_sender(&s, &r), EK_ERR_DECODE);
    ek_reader_init(&r, (const uint8_t *)"\x03", 1);
    EK_CHECK_OK(ek_mls_read_sender(&s, &r));
    ek_mls_psk_id p;
    ek_reader_init(&r, (const uint8_t *)"\x03\x00\x00", 3);
    EK_CHECK_RC(ek_mls_read_psk_id(&p, &r), EK_ERR_DECODE);
    ek_reader_init(&r, (const uint8_t *)"\x02\x04\x00", 3); /* usage 4 */
    EK_CHECK_RC(ek_mls_read_psk_id(&p, &r), EK_ERR_DECODE);
    ek_mls_private_message pm;
    static const uint8_t bad_ct[] = {0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0};
    ek_reader_init(&r, bad_ct, sizeof(bad_ct));
    EK_CHECK_RC(ek_mls_read_private_message(&pm, &r), EK_ERR_DECODE);
    /* Writers refuse what they cannot encode. */
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    ek_mls_sender bad = {9, 0};
    EK_CHECK_RC(ek_mls_write_sender(&w, &bad), EK_ERR_INVALID_ARG);
    ek_writer_dispose(&w);
}

/* An allocator that fails after a budget of allocations and counts what
 * is still outstanding. */
typedef struct failing_alloc {
    int budget;
    long outstanding;
} failing_alloc;

static void *fa_alloc(void *ctx, size_t n)
{
    failing_alloc *f = ctx;
    if (f->budget-- <= 0)
        return NULL;
    f->outstanding++;
    return malloc(n);
}

static void *fa_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)ctx;
    (void)old;
    return realloc(p, n);
}

static void fa_free(void *ctx, void *p, size_t n)
{
    failing_alloc *f = ctx;
    (void)n;
    if (p != NULL)
        f->outstanding--;
    free(p);
}

static void test_allocation_failures(void)
{
    /* A ratchet tree big enough to need several arena chunks. */
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    size_t mark = ek_mls_vector_begin(&w);
    for (int i = 0; i < 200; i++) {
        (void)ek_write_u8(&w, 1);
        (void)ek_write_u8(&w, i % 2 == 0 ? EK_MLS_NODE_LEAF : EK_MLS_NODE_PARENT);
        if (i % 2 == 1) {
            static const uint8_t parent[] = {0x00, 0x00, 0x04, 0, 0, 0, 1};
            (void)ek_write_bytes(&w, parent, sizeof(parent));
            continue;
        }
        static const uint8_t leaf[] = {0x01, 'e',  0x01, 's',  0x00, 0x01, 0x01,
                                       'i', /* keys, basic credential */
                                       0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* capabilities */
                                       0x02,                                     /* source update */
                                       0x00, 0x01, 'g'}; /* extensions, signature */
        (void)ek_write_bytes(&w, leaf, sizeof(leaf));
    }
    (void)ek_write_u8(&w, 1);
    (void)ek_write_u8(&w, EK_MLS_NODE_LEAF);
    static const uint8_t last[] = {0x01, 'e',  0x01, 's',  0x00, 0x01, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00};
    (void)ek_write_bytes(&w, last, sizeof(last));
    EK_CHECK_OK(ek_mls_vector_end(&w, mark));
    EK_CHECK_OK(decode_tree(w.buf, w.len));
    int succeeded = 0;
    for (int budget = 0; budget < 1000 && !succeeded; budget++) {
        failing_alloc f = {budget, 0};
        ek_allocator al = {fa_alloc, fa_realloc, fa_free, &f};
        ek_mls_arena a;
        ek_mls_arena_init(&a, &al);
        ek_reader r;
        ek_reader_init(&r, w.buf, w.len);
        ek_mls_ratchet_tree t;
        int rc = ek_mls_read_ratchet_tree(&t, &a, &r);
        EK_CHECK(rc == EK_OK || rc == EK_ERR_NOMEM);
        succeeded = rc == EK_OK;
        if (succeeded)
            EK_CHECK(t.count == 201 && budget > 1);
        ek_mls_arena_free(&a);
        EK_CHECK(f.outstanding == 0);
    }
    EK_CHECK(succeeded);
    ek_writer_dispose(&w);
}

/* The arena: zeroed, 16-byte aligned memory, refused past its cap. */
static void test_arena(void)
{
    ek_mls_arena a;
    ek_mls_arena_init(&a, NULL);
    for (size_t n = 1; n < 5000; n += 997) {
        uint8_t *p = ek_mls_arena_alloc(&a, n);
        EK_CHECK(p != NULL && ((uintptr_t)p & 15u) == 0);
        int zero = 1;
        for (size_t i = 0; i < n; i++)
            zero &= p[i] == 0;
        EK_CHECK(zero);
        memset(p, 0xab, n);
    }
    EK_CHECK(ek_mls_arena_alloc(&a, EK_MLS_MAX_ARENA_BYTES + 1) == NULL);
    EK_CHECK(ek_mls_arena_alloc(&a, EK_MLS_MAX_ARENA_BYTES) == NULL); /* some is in use */
    EK_CHECK(ek_mls_arena_alloc(&a, 16) != NULL);
    ek_mls_arena_free(&a);
    EK_CHECK(a.head == NULL && a.total == 0);
    ek_mls_arena_free(&a); /* twice is harmless */
}

int main(void)
{
    test_arena();
    test_varint();
    test_opaque();
    test_vector_framing();
    test_message_edges();
    test_commit_edges();
    test_ratchet_tree_edges();
    test_list_limits();
    test_enum_values();
    test_allocation_failures();
    return ek_test_finish("unit.mls.codec");
}
