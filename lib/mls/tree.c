/*
 * tree.c: the ratchet tree (RFC 9420 §4, §7): node objects, the array of
 * nodes with its cached tree hashes (§7.8), resolutions and filtered direct
 * paths (§4.1), the structural changes of Add, Update and Remove (§7.7,
 * §12.1), and the ratchet_tree encoding (§12.4.3.3). Validation of a whole
 * tree (parent hashes, leaves) is in tree_validation.c.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "codec.h"
#include "tree.h"

/* Hash inputs up to this size are built on the stack. */
#define HASH_INPUT_STACK_BYTES 1024
#define BLOCK_ALIGN            8

static size_t align_up(size_t n)
{
    return (n + BLOCK_ALIGN - 1) & ~(size_t)(BLOCK_ALIGN - 1);
}

/* ---- growable uint32 lists ---- */

void ek_mls_u32vec_init(ek_mls_u32vec *x, const ek_allocator *a)
{
    x->v = NULL;
    x->n = x->cap = 0;
    x->alloc = a;
}

int ek_mls_u32vec_push(ek_mls_u32vec *x, uint32_t v)
{
    if (x->n == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 16;
        uint32_t *nv =
            ek_realloc(x->alloc, x->v, x->cap * sizeof(uint32_t), ncap * sizeof(uint32_t));
        if (nv == NULL)
            return EK_ERR_NOMEM;
        x->v = nv;
        x->cap = ncap;
    }
    x->v[x->n++] = v;
    return EK_OK;
}

void ek_mls_u32vec_free(ek_mls_u32vec *x)
{
    if (x->v != NULL)
        ek_free(x->alloc, x->v, x->cap * sizeof(uint32_t));
    x->v = NULL;
    x->n = x->cap = 0;
}

int ek_mls_u32_sorted_has(const uint32_t *v, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == x)
            return 1;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ---- node objects ---- */

void ek_mls_tnode_ref(ek_mls_tnode *n)
{
    if (n != NULL)
        n->refs++;
}

void ek_mls_tnode_unref(ek_mls_tnode *n, const ek_allocator *a)
{
    if (n == NULL || --n->refs > 0)
        return;
    size_t size = n->alloc_size;
    ek_wipe(n, size);
    ek_free(a, n, size);
}

static ek_mls_bytes rebase(ek_mls_bytes b, const uint8_t *from, const uint8_t *to)
{
    ek_mls_bytes r = {NULL, b.len};
    if (b.data != NULL)
        r.data = to + (b.data - from);
    return r;
}

static void copy_u16_list(ek_mls_u16_list *dst, const ek_mls_u16_list *src, uint8_t **cursor)
{
    dst->count = src->count;
    dst->items = NULL;
    if (src->count == 0)
        return;
    dst->items = (uint16_t *)*cursor;
    memcpy(dst->items, src->items, src->count * sizeof(uint16_t));
    *cursor += align_up(src->count * sizeof(uint16_t));
}

static size_t u16_bytes(const ek_mls_u16_list *l)
{
    return align_up(l->count * sizeof(uint16_t));
}

int ek_mls_tnode_new_leaf_bytes(ek_mls_tnode **out, const ek_allocator *a, const uint8_t *enc,
                                size_t len)
{
    *out = NULL;
    ek_mls_arena arena;
    ek_mls_arena_init(&arena, a);
    ek_mls_leaf_node d;
    ek_reader r;
    ek_reader_init(&r, enc, len);
    int rc = ek_mls_read_leaf_node(&d, &arena, &r);
    if (rc == EK_OK)
        rc = ek_reader_finish(&r);
    if (rc != EK_OK) {
        ek_mls_arena_free(&arena);
        return rc;
    }
    const ek_mls_capabilities *c = &d.capabilities;
    size_t size = align_up(sizeof(ek_mls_tnode)) + align_up(len) + u16_bytes(&c->versions) +
                  u16_bytes(&c->cipher_suites) + u16_bytes(&c->extensions) +
                  u16_bytes(&c->proposals) + u16_bytes(&c->credentials) +
                  align_up(d.extensions.count * sizeof(uint16_t));
    ek_mls_tnode *n = ek_alloc(a, size);
    if (n == NULL) {
        ek_mls_arena_free(&arena);
        return EK_ERR_NOMEM;
    }
    memset(n, 0, size);
    uint8_t *cursor = (uint8_t *)n + align_up(sizeof(ek_mls_tnode));
    uint8_t *own = cursor;
    memcpy(own, enc, len);
    cursor += align_up(len);
    n->refs = 1;
    n->type = EK_MLS_NODE_LEAF;
    n->alloc_size = size;
    n->enc = own;
    n->enc_len = len;
    n->source = d.source;
    n->credential_type = d.credential.type;
    n->encryption_key = rebase(d.encryption_key, enc, own);
    n->signature_key = rebase(d.signature_key, enc, own);
    n->parent_hash = rebase(d.parent_hash, enc, own);
    n->signature = rebase(d.signature, enc, own);
    /* The signature vector is the last field: everything before it is the
     * common part of LeafNodeTBS (§7.2). */
    size_t sig_header = d.signature.len < (1u << 6) ? 1 : d.signature.len < (1u << 14) ? 2 : 4;
    n->tbs_len = len - d.signature.len - sig_header;
    n->not_before = d.not_before;
    n->not_after = d.not_after;
    copy_u16_list(&n->caps.versions, &c->versions, &cursor);
    copy_u16_list(&n->caps.cipher_suites, &c->cipher_suites, &cursor);
    copy_u16_list(&n->caps.extensions, &c->extensions, &cursor);
    copy_u16_list(&n->caps.proposals, &c->proposals, &cursor);
    copy_u16_list(&n->caps.credentials, &c->credentials, &cursor);
    n->extension_types.count = d.extensions.count;
    if (d.extensions.count > 0) {
        n->extension_types.items = (uint16_t *)cursor;
        for (size_t i = 0; i < d.extensions.count; i++)
            n->extension_types.items[i] = d.extensions.items[i].type;
    }
    ek_mls_arena_free(&arena);
    *out = n;
    return EK_OK;
}

int ek_mls_tnode_new_leaf(ek_mls_tnode **out, const ek_allocator *a, const ek_mls_leaf_node *leaf)
{
    ek_writer w;
    ek_writer_init_growable(&w, a);
    int rc = ek_mls_write_leaf_node(&w, leaf);
    if (rc == EK_OK)
        rc = ek_mls_tnode_new_leaf_bytes(out, a, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}

int ek_mls_tnode_new_parent(ek_mls_tnode **out, const ek_allocator *a, const uint8_t *pub,
                            size_t pub_len, const uint8_t *parent_hash, size_t ph_len,
                            const uint32_t *unmerged, size_t unmerged_count)
{
    *out = NULL;
    ek_mls_parent_node p = {
        .encryption_key = {pub, pub_len},
        .parent_hash = {ph_len > 0 ? parent_hash : NULL, ph_len},
        .unmerged_leaves = {(uint32_t *)unmerged, unmerged_count},
    };
    ek_writer w;
    ek_writer_init_growable(&w, a);
    int rc = ek_mls_write_parent_node(&w, &p);
    if (rc != EK_OK) {
        ek_writer_dispose(&w);
        return rc;
    }
    size_t size = align_up(sizeof(ek_mls_tnode)) + align_up(w.len) +
                  align_up(unmerged_count * sizeof(uint32_t));
    ek_mls_tnode *n = ek_alloc(a, size);
    if (n == NULL) {
        ek_writer_dispose(&w);
        return EK_ERR_NOMEM;
    }
    memset(n, 0, size);
    uint8_t *own = (uint8_t *)n + align_up(sizeof(ek_mls_tnode));
    memcpy(own, w.buf, w.len);
    n->refs = 1;
    n->type = EK_MLS_NODE_PARENT;
    n->alloc_size = size;
    n->enc = own;
    n->enc_len = w.len;
    /* encryption_key<V> then parent_hash<V>, each with its varint header. */
    size_t h1 = pub_len < (1u << 6) ? 1 : pub_len < (1u << 14) ? 2 : 4;
    size_t h2 = ph_len < (1u << 6) ? 1 : ph_len < (1u << 14) ? 2 : 4;
    n->encryption_key.data = own + h1;
    n->encryption_key.len = pub_len;
    n->parent_hash.data = ph_len > 0 ? own + h1 + pub_len + h2 : NULL;
    n->parent_hash.len = ph_len;
    n->unmerged.count = unmerged_count;
    if (unmerged_count > 0) {
        n->unmerged.items = (uint32_t *)(own + align_up(w.len));
        memcpy(n->unmerged.items, unmerged, unmerged_count * sizeof(uint32_t));
    }
    ek_writer_dispose(&w);
    *out = n;
    return EK_OK;
}

int ek_mls_tnode_leaf(ek_mls_leaf_node *out, ek_mls_arena *arena, const ek_mls_tnode *n)
{
    if (n == NULL || n->type != EK_MLS_NODE_LEAF)
        return EK_ERR_INVALID_ARG;
    ek_reader r;
    ek_reader_init(&r, n->enc, n->enc_len);
    EK_TRY(ek_mls_read_leaf_node(out, arena, &r));
    return ek_reader_finish(&r);
}

/* ---- the tree container ---- */

/* Arrays for cap_leaves leaves; n_leaves may be smaller after truncation. */
static int tree_alloc(ek_mls_tree *t, uint32_t cap_leaves)
{
    size_t width = 2 * (size_t)cap_leaves - 1;
    size_t nh = t->suite->hash_len;
    t->nodes = ek_alloc(t->alloc, width * sizeof(ek_mls_tnode *));
    t->hashes = ek_alloc(t->alloc, width * nh);
    t->hash_ok = ek_alloc(t->alloc, width);
    t->cap_leaves = cap_leaves;
    if (t->nodes == NULL || t->hashes == NULL || t->hash_ok == NULL)
        return EK_ERR_NOMEM;
    memset(t->nodes, 0, width * sizeof(ek_mls_tnode *));
    memset(t->hash_ok, 0, width);
    return EK_OK;
}

static void tree_release_arrays(ek_mls_tree *t)
{
    size_t width = 2 * (size_t)t->cap_leaves - 1;
    if (t->nodes != NULL)
        ek_free(t->alloc, t->nodes, width * sizeof(ek_mls_tnode *));
    if (t->hashes != NULL)
        ek_free(t->alloc, t->hashes, width * t->suite->hash_len);
    if (t->hash_ok != NULL)
        ek_free(t->alloc, t->hash_ok, width);
    t->nodes = NULL;
    t->hashes = NULL;
    t->hash_ok = NULL;
    t->cap_leaves = 0;
}

int ek_mls_tree_init(ek_mls_tree *t, const ek_mls_suite *s, const ek_allocator *a,
                     uint32_t n_leaves)
{
    memset(t, 0, sizeof(*t));
    if (s == NULL || n_leaves == 0 || n_leaves > EK_MLS_MAX_LEAVES ||
        (n_leaves & (n_leaves - 1)) != 0)
        return EK_ERR_INVALID_ARG;
    t->suite = s;
    t->alloc = a;
    int rc = tree_alloc(t, n_leaves);
    if (rc != EK_OK) {
        tree_release_arrays(t);
        memset(t, 0, sizeof(*t));
        return rc;
    }
    t->n_leaves = n_leaves;
    return EK_OK;
}

void ek_mls_tree_free(ek_mls_tree *t)
{
    if (t == NULL)
        return;
    if (t->suite != NULL && t->nodes != NULL) {
        uint32_t width = 2 * t->cap_leaves - 1;
        for (uint32_t i = 0; i < width; i++)
            ek_mls_tnode_unref(t->nodes[i], t->alloc);
        tree_release_arrays(t);
    }
    memset(t, 0, sizeof(*t));
}

int ek_mls_tree_clone(ek_mls_tree *dst, const ek_mls_tree *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->suite = src->suite;
    dst->alloc = src->alloc;
    int rc = tree_alloc(dst, src->n_leaves);
    if (rc != EK_OK) {
        tree_release_arrays(dst);
        memset(dst, 0, sizeof(*dst));
        return rc;
    }
    dst->n_leaves = src->n_leaves;
    uint32_t width = ek_mls_tree_nodes(src);
    memcpy(dst->nodes, src->nodes, width * sizeof(ek_mls_tnode *));
    memcpy(dst->hashes, src->hashes, (size_t)width * src->suite->hash_len);
    memcpy(dst->hash_ok, src->hash_ok, width);
    for (uint32_t i = 0; i < width; i++)
        ek_mls_tnode_ref(dst->nodes[i]);
    return EK_OK;
}

void ek_mls_tree_move(ek_mls_tree *dst, ek_mls_tree *src)
{
    ek_mls_tree_free(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

/* A node changed: its hash and every ancestor's are stale. Hashes are only
 * ever computed children first, so a stale node has only stale ancestors
 * and the walk can stop at the first one already stale. */
static void invalidate(ek_mls_tree *t, uint32_t i)
{
    uint32_t root = ek_mls_tree_root(t->n_leaves);
    t->hash_ok[i] = 0;
    while (i != root) {
        if (ek_mls_tree_parent(&i, i, t->n_leaves) != EK_OK || !t->hash_ok[i])
            return;
        t->hash_ok[i] = 0;
    }
}

void ek_mls_tree_set(ek_mls_tree *t, uint32_t i, ek_mls_tnode *n)
{
    if (i >= ek_mls_tree_nodes(t))
        return;
    ek_mls_tnode_ref(n);
    ek_mls_tnode_unref(t->nodes[i], t->alloc);
    t->nodes[i] = n;
    invalidate(t, i);
}

int ek_mls_tree_extend(ek_mls_tree *t)
{
    uint32_t old = t->n_leaves;
    if (old >= EK_MLS_MAX_LEAVES)
        return EK_ERR_LIMIT;
    if (t->cap_leaves < 2 * old) {
        size_t old_width = 2 * (size_t)old - 1;
        size_t nh = t->suite->hash_len;
        ek_mls_tree n = {.suite = t->suite, .alloc = t->alloc};
        int rc = tree_alloc(&n, old * 2);
        if (rc != EK_OK) {
            tree_release_arrays(&n);
            return rc;
        }
        /* Node indices do not change when the tree grows to the right, and
         * neither do the hashes of the old nodes (same subtrees). */
        memcpy(n.nodes, t->nodes, old_width * sizeof(ek_mls_tnode *));
        memcpy(n.hashes, t->hashes, old_width * nh);
        memcpy(n.hash_ok, t->hash_ok, old_width);
        tree_release_arrays(t);
        t->nodes = n.nodes;
        t->hashes = n.hashes;
        t->hash_ok = n.hash_ok;
        t->cap_leaves = n.cap_leaves;
    } else {
        /* Capacity left over from a truncation: clear the new half. */
        size_t from = 2 * (size_t)old - 1, to = 4 * (size_t)old - 1;
        memset(t->nodes + from, 0, (to - from) * sizeof(ek_mls_tnode *));
        memset(t->hash_ok + from, 0, to - from);
    }
    t->n_leaves = old * 2;
    /* The new root is stale (its flag was cleared above). */
    return EK_OK;
}

void ek_mls_tree_truncate(ek_mls_tree *t)
{
    while (t->n_leaves > 1) {
        uint32_t root = ek_mls_tree_root(t->n_leaves);
        uint32_t right;
        if (ek_mls_tree_right(&right, root) != EK_OK || !ek_mls_tree_subtree_blank(t, right))
            return;
        /* The root and the right half go (§7.7), blank or not. The arrays
         * keep their capacity; only n_leaves shrinks. */
        uint32_t width = ek_mls_tree_nodes(t);
        uint32_t half = t->n_leaves / 2;
        for (uint32_t i = 2 * half - 1; i < width; i++) {
            ek_mls_tnode_unref(t->nodes[i], t->alloc);
            t->nodes[i] = NULL;
            t->hash_ok[i] = 0;
        }
        t->n_leaves = half;
    }
}

uint32_t ek_mls_tree_member_count(const ek_mls_tree *t)
{
    uint32_t c = 0;
    for (uint32_t l = 0; l < t->n_leaves; l++)
        c += t->nodes[(size_t)2 * l] != NULL;
    return c;
}

/* ---- hashes ---- */

/* Hash a buffer built by fill(), on the stack when it fits. */
typedef struct hash_buf {
    uint8_t stack[HASH_INPUT_STACK_BYTES];
    ek_writer w;
} hash_buf;

static void hash_buf_init(hash_buf *b, const ek_allocator *a, size_t need)
{
    if (need <= sizeof(b->stack))
        ek_writer_init_fixed(&b->w, b->stack, sizeof(b->stack));
    else
        ek_writer_init_growable(&b->w, a);
}

/* LeafNodeHashInput / ParentNodeHashInput for node i given child hashes,
 * with the unmerged list of a parent optionally filtered by excl. */
static int hash_node(uint8_t *out, ek_mls_tree *t, uint32_t i, const uint8_t *left,
                     const uint8_t *right, const uint32_t *excl, size_t excl_n, int leaf_excluded)
{
    const ek_mls_suite *s = t->suite;
    const ek_mls_tnode *n = t->nodes[i];
    size_t nh = s->hash_len;
    hash_buf b;
    if (i % 2 == 0) {
        hash_buf_init(&b, t->alloc, 16 + (n != NULL ? n->enc_len : 0));
        (void)ek_write_u8(&b.w, EK_MLS_NODE_LEAF);
        (void)ek_write_u32(&b.w, i / 2);
        if (n == NULL || leaf_excluded) {
            (void)ek_write_u8(&b.w, 0);
        } else {
            (void)ek_write_u8(&b.w, 1);
            (void)ek_write_bytes(&b.w, n->enc, n->enc_len);
        }
    } else {
        hash_buf_init(&b, t->alloc, 16 + 2 * nh + (n != NULL ? n->enc_len : 0));
        (void)ek_write_u8(&b.w, EK_MLS_NODE_PARENT);
        if (n == NULL) {
            (void)ek_write_u8(&b.w, 0);
        } else {
            (void)ek_write_u8(&b.w, 1);
            int filtered = 0;
            for (size_t k = 0; k < n->unmerged.count && excl_n > 0; k++)
                if (ek_mls_u32_sorted_has(excl, excl_n, n->unmerged.items[k]))
                    filtered = 1;
            if (!filtered) {
                (void)ek_write_bytes(&b.w, n->enc, n->enc_len);
            } else {
                (void)ek_mls_write_opaque(&b.w, n->encryption_key.data, n->encryption_key.len);
                (void)ek_mls_write_opaque(&b.w, n->parent_hash.data, n->parent_hash.len);
                size_t mark = ek_mls_vector_begin(&b.w);
                for (size_t k = 0; k < n->unmerged.count; k++)
                    if (!ek_mls_u32_sorted_has(excl, excl_n, n->unmerged.items[k]))
                        (void)ek_write_u32(&b.w, n->unmerged.items[k]);
                (void)ek_mls_vector_end(&b.w, mark);
            }
        }
        (void)ek_mls_write_opaque(&b.w, left, nh);
        (void)ek_mls_write_opaque(&b.w, right, nh);
    }
    int rc = b.w.err;
    if (rc == EK_OK)
        s->hash(out, b.w.buf, b.w.len);
    ek_writer_dispose(&b.w);
    return rc;
}

int ek_mls_tree_hash(uint8_t *out, ek_mls_tree *t, uint32_t i)
{
    size_t nh = t->suite->hash_len;
    if (i >= ek_mls_tree_nodes(t))
        return EK_ERR_INVALID_ARG;
    uint8_t *slot = t->hashes + (size_t)i * nh;
    if (!t->hash_ok[i]) {
        if (i % 2 == 0) {
            EK_TRY(hash_node(slot, t, i, NULL, NULL, NULL, 0, 0));
        } else {
            uint8_t l[EK_MLS_MAX_HASH_LEN], r[EK_MLS_MAX_HASH_LEN];
            uint32_t li, ri;
            EK_TRY(ek_mls_tree_left(&li, i));
            EK_TRY(ek_mls_tree_right(&ri, i));
            EK_TRY(ek_mls_tree_hash(l, t, li));
            EK_TRY(ek_mls_tree_hash(r, t, ri));
            EK_TRY(hash_node(slot, t, i, l, r, NULL, 0, 0));
        }
        t->hash_ok[i] = 1;
    }
    if (out != NULL)
        memcpy(out, slot, nh);
    return EK_OK;
}

int ek_mls_tree_root_hash(uint8_t *out, ek_mls_tree *t)
{
    return ek_mls_tree_hash(out, t, ek_mls_tree_root(t->n_leaves));
}

/* Leaves of the subtree under node i: [lo, hi). */
static void subtree_leaves(uint32_t i, uint32_t *lo, uint32_t *hi)
{
    uint32_t k = ek_mls_tree_level(i);
    uint32_t first_node = i - (((uint32_t)1 << k) - 1);
    *lo = first_node / 2;
    *hi = *lo + ((uint32_t)1 << k);
}

int ek_mls_tree_hash_excluding(uint8_t *out, ek_mls_tree *t, uint32_t i, const uint32_t *excl,
                               size_t excl_n)
{
    /* Keep only the excluded leaves inside this subtree. */
    uint32_t lo, hi;
    subtree_leaves(i, &lo, &hi);
    size_t a = 0;
    while (a < excl_n && excl[a] < lo)
        a++;
    size_t b = a;
    while (b < excl_n && excl[b] < hi)
        b++;
    if (a == b)
        return ek_mls_tree_hash(out, t, i);
    excl += a;
    excl_n = b - a;
    if (i % 2 == 0)
        return hash_node(out, t, i, NULL, NULL, NULL, 0, 1);
    uint8_t l[EK_MLS_MAX_HASH_LEN], r[EK_MLS_MAX_HASH_LEN];
    uint32_t li, ri;
    EK_TRY(ek_mls_tree_left(&li, i));
    EK_TRY(ek_mls_tree_right(&ri, i));
    EK_TRY(ek_mls_tree_hash_excluding(l, t, li, excl, excl_n));
    EK_TRY(ek_mls_tree_hash_excluding(r, t, ri, excl, excl_n));
    return hash_node(out, t, i, l, r, excl, excl_n, 0);
}

/* ParentHashInput = V(encryption_key) || V(parent_hash) ||
 * V(original_sibling_tree_hash) (§7.9). */
int ek_mls_parent_hash(uint8_t *out, const ek_mls_suite *s, const ek_mls_tnode *p,
                       const uint8_t *sibling_hash)
{
    uint8_t buf[3 * 4 + EK_MLS_MAX_KEM_PUBLIC_LEN + 2 * EK_MLS_MAX_HASH_LEN];
    if (p == NULL || p->type != EK_MLS_NODE_PARENT ||
        p->encryption_key.len > EK_MLS_MAX_KEM_PUBLIC_LEN ||
        p->parent_hash.len > EK_MLS_MAX_HASH_LEN)
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_fixed(&w, buf, sizeof(buf));
    (void)ek_mls_write_opaque(&w, p->encryption_key.data, p->encryption_key.len);
    (void)ek_mls_write_opaque(&w, p->parent_hash.data, p->parent_hash.len);
    int rc = ek_mls_write_opaque(&w, sibling_hash, s->hash_len);
    if (rc == EK_OK)
        s->hash(out, w.buf, w.len);
    return rc;
}

/* ---- resolution and paths ---- */

static int resolution_rec(ek_mls_u32vec *out, const ek_mls_tree *t, uint32_t i,
                          const uint32_t *excl, size_t excl_n)
{
    const ek_mls_tnode *n = t->nodes[i];
    if (n != NULL) {
        if (i % 2 == 0) {
            if (ek_mls_u32_sorted_has(excl, excl_n, i / 2))
                return EK_OK;
            return ek_mls_u32vec_push(out, i);
        }
        EK_TRY(ek_mls_u32vec_push(out, i));
        for (size_t k = 0; k < n->unmerged.count; k++) {
            uint32_t leaf = n->unmerged.items[k];
            if (!ek_mls_u32_sorted_has(excl, excl_n, leaf))
                EK_TRY(ek_mls_u32vec_push(out, 2 * leaf));
        }
        return EK_OK;
    }
    if (i % 2 == 0)
        return EK_OK;
    uint32_t l, r;
    EK_TRY(ek_mls_tree_left(&l, i));
    EK_TRY(ek_mls_tree_right(&r, i));
    EK_TRY(resolution_rec(out, t, l, excl, excl_n));
    return resolution_rec(out, t, r, excl, excl_n);
}

int ek_mls_tree_resolution(ek_mls_u32vec *out, const ek_mls_tree *t, uint32_t i,
                           const uint32_t *excl, size_t excl_n)
{
    if (i >= ek_mls_tree_nodes(t))
        return EK_ERR_INVALID_ARG;
    return resolution_rec(out, t, i, excl, excl_n);
}

int ek_mls_tree_subtree_blank(const ek_mls_tree *t, uint32_t i)
{
    uint32_t k = ek_mls_tree_level(i);
    uint32_t first = i - (((uint32_t)1 << k) - 1);
    uint32_t last = i + (((uint32_t)1 << k) - 1);
    if (last >= ek_mls_tree_nodes(t))
        last = ek_mls_tree_nodes(t) - 1;
    for (uint32_t x = first; x <= last; x++)
        if (t->nodes[x] != NULL)
            return 0;
    return 1;
}

int ek_mls_tree_filtered_path(uint32_t *path, uint32_t *copath, size_t *count, const ek_mls_tree *t,
                              uint32_t leaf)
{
    uint32_t dp[EK_MLS_MAX_TREE_DEPTH], cp[EK_MLS_MAX_TREE_DEPTH];
    size_t n = 0, m = 0;
    if (leaf >= t->n_leaves)
        return EK_ERR_INVALID_ARG;
    EK_TRY(ek_mls_tree_direct_path(dp, &n, 2 * leaf, t->n_leaves));
    EK_TRY(ek_mls_tree_copath(cp, &m, 2 * leaf, t->n_leaves));
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        /* §4.1.2: drop a parent whose copath child has an empty resolution,
         * i.e. whose subtree is all blank. */
        if (ek_mls_tree_subtree_blank(t, cp[j]))
            continue;
        path[k] = dp[j];
        copath[k] = cp[j];
        k++;
    }
    *count = k;
    return EK_OK;
}

/* ---- Add, Update, Remove ---- */

uint32_t ek_mls_tree_free_leaf(const ek_mls_tree *t)
{
    for (uint32_t l = 0; l < t->n_leaves; l++)
        if (t->nodes[(size_t)2 * l] == NULL)
            return l;
    return t->n_leaves;
}

/* A copy of parent node p with leaf inserted into its sorted unmerged list. */
static int with_unmerged(ek_mls_tnode **out, const ek_allocator *a, const ek_mls_tnode *p,
                         uint32_t leaf)
{
    size_t n = p->unmerged.count;
    uint32_t stack[64];
    uint32_t *list = stack;
    if (n + 1 > sizeof(stack) / sizeof(stack[0])) {
        list = ek_alloc(a, (n + 1) * sizeof(uint32_t));
        if (list == NULL)
            return EK_ERR_NOMEM;
    }
    size_t k = 0, j = 0;
    while (j < n && p->unmerged.items[j] < leaf)
        list[k++] = p->unmerged.items[j++];
    list[k++] = leaf;
    while (j < n)
        list[k++] = p->unmerged.items[j++];
    int rc = ek_mls_tnode_new_parent(out, a, p->encryption_key.data, p->encryption_key.len,
                                     p->parent_hash.data, p->parent_hash.len, list, k);
    if (list != stack)
        ek_free(a, list, (n + 1) * sizeof(uint32_t));
    return rc;
}

int ek_mls_tree_add(uint32_t *leaf_out, ek_mls_tree *t, ek_mls_tnode *leaf_node)
{
    uint32_t leaf = ek_mls_tree_free_leaf(t);
    if (leaf == t->n_leaves)
        EK_TRY(ek_mls_tree_extend(t));
    uint32_t dp[EK_MLS_MAX_TREE_DEPTH];
    size_t n = 0;
    EK_TRY(ek_mls_tree_direct_path(dp, &n, 2 * leaf, t->n_leaves));
    /* Build every replacement first, so a failure changes nothing. */
    ek_mls_tnode *repl[EK_MLS_MAX_TREE_DEPTH] = {0};
    int rc = EK_OK;
    for (size_t j = 0; j < n && rc == EK_OK; j++)
        if (t->nodes[dp[j]] != NULL)
            rc = with_unmerged(&repl[j], t->alloc, t->nodes[dp[j]], leaf);
    if (rc == EK_OK) {
        for (size_t j = 0; j < n; j++) {
            if (repl[j] != NULL)
                ek_mls_tree_set(t, dp[j], repl[j]);
        }
        ek_mls_tree_set(t, 2 * leaf, leaf_node);
        *leaf_out = leaf;
    }
    for (size_t j = 0; j < n; j++)
        ek_mls_tnode_unref(repl[j], t->alloc);
    return rc;
}

void ek_mls_tree_blank_path(ek_mls_tree *t, uint32_t leaf)
{
    uint32_t dp[EK_MLS_MAX_TREE_DEPTH];
    size_t n = 0;
    if (ek_mls_tree_direct_path(dp, &n, 2 * leaf, t->n_leaves) != EK_OK)
        return;
    for (size_t j = 0; j < n; j++)
        if (t->nodes[dp[j]] != NULL)
            ek_mls_tree_set(t, dp[j], NULL);
}

void ek_mls_tree_update(ek_mls_tree *t, uint32_t leaf, ek_mls_tnode *leaf_node)
{
    ek_mls_tree_set(t, 2 * leaf, leaf_node);
    ek_mls_tree_blank_path(t, leaf);
}

void ek_mls_tree_remove(ek_mls_tree *t, uint32_t leaf)
{
    ek_mls_tree_set(t, 2 * leaf, NULL);
    ek_mls_tree_blank_path(t, leaf);
    ek_mls_tree_truncate(t);
}

/* ---- encoding ---- */

int ek_mls_tree_write(ek_writer *w, const ek_mls_tree *t)
{
    uint32_t width = ek_mls_tree_nodes(t);
    uint32_t last = width;
    while (last > 0 && t->nodes[last - 1] == NULL)
        last--;
    if (last == 0)
        return ek_mls_writer_fail(w, EK_ERR_INVALID_ARG);
    size_t mark = ek_mls_vector_begin(w);
    for (uint32_t i = 0; i < last; i++) {
        const ek_mls_tnode *n = t->nodes[i];
        if (n == NULL) {
            (void)ek_write_u8(w, 0);
            continue;
        }
        (void)ek_write_u8(w, 1);
        (void)ek_write_u8(w, n->type);
        (void)ek_write_bytes(w, n->enc, n->enc_len);
    }
    return ek_mls_vector_end(w, mark);
}

int ek_mls_tree_from_decoded(ek_mls_tree *t, const ek_mls_suite *s, const ek_allocator *a,
                             const ek_mls_ratchet_tree *rt)
{
    memset(t, 0, sizeof(*t));
    if (rt->count == 0 || rt->count > EK_MLS_MAX_TREE_NODES)
        return EK_ERR_DECODE;
    uint32_t n_leaves = 1;
    while (2 * (size_t)n_leaves - 1 < rt->count)
        n_leaves *= 2;
    EK_TRY(ek_mls_tree_init(t, s, a, n_leaves));
    int rc = EK_OK;
    for (size_t i = 0; i < rt->count && rc == EK_OK; i++) {
        const ek_mls_node *n = rt->nodes[i];
        if (n == NULL)
            continue;
        ek_mls_tnode *obj = NULL;
        if (n->type == EK_MLS_NODE_LEAF) {
            rc = ek_mls_tnode_new_leaf(&obj, a, &n->u.leaf);
        } else {
            const ek_mls_parent_node *p = &n->u.parent;
            rc = ek_mls_tnode_new_parent(&obj, a, p->encryption_key.data, p->encryption_key.len,
                                         p->parent_hash.data, p->parent_hash.len,
                                         p->unmerged_leaves.items, p->unmerged_leaves.count);
        }
        if (rc == EK_OK)
            t->nodes[i] = obj; /* the tree owns the one reference */
    }
    if (rc != EK_OK)
        ek_mls_tree_free(t);
    return rc;
}

uint32_t ek_mls_tree_find_leaf(const ek_mls_tree *t, const uint8_t *enc, size_t len)
{
    for (uint32_t l = 0; l < t->n_leaves; l++) {
        const ek_mls_tnode *n = t->nodes[(size_t)2 * l];
        if (n != NULL && n->enc_len == len && memcmp(n->enc, enc, len) == 0)
            return l;
    }
    return UINT32_MAX;
}
