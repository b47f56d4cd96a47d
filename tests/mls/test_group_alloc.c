/*
 * test_group_alloc.c: every allocation of the group operations can fail.
 *
 * An allocator that fails its k-th request (allocation or reallocation)
 * runs each operation for k = 0, 1, 2, ... until the operation succeeds:
 * every run before that must return EK_ERR_NOMEM, hand out nothing (no
 * group, no buffer, no received data), leak nothing (every block and byte
 * obtained is given back) and leave the group it acted on exactly as it
 * was (its saved state, which holds every epoch, key, ratchet position and
 * cached proposal, is byte for byte the same). So every allocation point
 * of each operation is failed once, in order, not a sample.
 *
 * Covered, for both handshake wire formats (PrivateMessage, whose ratchet
 * keys must not be consumed by a failed operation, and PublicMessage):
 * KeyPackage creation, group creation, a commit that adds two members
 * (with its Welcome), joining from the Welcome, proposing an update, an
 * add and a remove, processing each proposal, a commit by reference that
 * also removes and adds, processing it (as a member, and as the member it
 * removes), a competing commit in the same epoch (the commit-ordering rule
 * of docs/protocol.md), saving and restoring the state, protecting and
 * processing application data.
 *
 * The groups are small (three to four members): every code path of the
 * operations runs, and the allocation points number a few dozen per
 * operation, so the whole test takes well under a second (a few under
 * ASan). Larger groups only repeat the same points inside loops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "ek_test.h"
#include "mls_group_util.h"

/* An operation that still fails after this many points is a bug (an
 * operation that never succeeds again after a failure). */
#define MAX_POINTS 5000

typedef struct failing {
    long budget; /* allocations left before failing; < 0: unlimited */
    int failed;  /* a request was refused since the last reset */
    long live;   /* blocks outstanding */
    size_t bytes;
} failing;

static void *f_alloc(void *ctx, size_t n)
{
    failing *f = ctx;
    if (f->budget == 0) {
        f->failed = 1;
        return NULL;
    }
    if (f->budget > 0)
        f->budget--;
    void *p = malloc(n ? n : 1);
    if (p != NULL) {
        f->live++;
        f->bytes += n;
    }
    return p;
}

static void *f_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
    failing *f = ctx;
    if (ptr == NULL)
        return f_alloc(ctx, new_size);
    if (f->budget == 0) {
        f->failed = 1;
        return NULL;
    }
    if (f->budget > 0)
        f->budget--;
    void *p = realloc(ptr, new_size ? new_size : 1);
    if (p != NULL)
        f->bytes = f->bytes - old_size + new_size;
    return p;
}

static void f_free(void *ctx, void *ptr, size_t size)
{
    failing *f = ctx;
    if (ptr == NULL)
        return;
    f->live--;
    f->bytes -= size;
    free(ptr);
}

static failing fa = {-1, 0, 0, 0};
static const ek_allocator alloc = {f_alloc, f_realloc, f_free, &fa};
static ek_mls_group_config cfg = {.alloc = &alloc};

static const uint8_t group_id[] = "alloc";
static const uint16_t suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;

/* One operation with its inputs and outputs. */
typedef struct attempt attempt;
struct attempt {
    int (*run)(attempt *t);
    ek_mls_group *g; /* the group acted on: its state must not change */
    mls_member *m;   /* the member a KeyPackage or join is for */
    const ek_mls_buf *in;
    const ek_mls_commit_options *opt;
    const uint8_t *kp_msg;
    size_t kp_len;
    uint32_t leaf;
    /* outputs */
    ek_mls_buf out, welcome;
    ek_mls_group *made;
    ek_mls_key_package_bundle *kp;
    ek_mls_received r;
};

static int saved(const ek_mls_group *g, ek_mls_buf *out)
{
    long budget = fa.budget;
    fa.budget = -1;
    int rc = ek_mls_group_save(g, out);
    fa.budget = budget;
    return rc;
}

static int same_state(const ek_mls_group *g, const ek_mls_buf *before)
{
    ek_mls_buf now;
    int same = saved(g, &now) == EK_OK && now.len == before->len && now.data != NULL &&
               before->data != NULL && memcmp(now.data, before->data, now.len) == 0;
    ek_mls_buf_free(&now);
    return same;
}

static int nothing_out(const attempt *t)
{
    return t->out.data == NULL && t->out.len == 0 && t->welcome.data == NULL && t->made == NULL &&
           t->kp == NULL && t->r.data.data == NULL && t->r.authenticated_data.data == NULL;
}

/* Run t for every failure point, then once with success (its outputs are
 * left in t). Returns the number of failure points. */
static long every_failure(const char *name, attempt *t)
{
    ek_mls_buf before = {0};
    if (t->g != NULL)
        EK_CHECK_OK(saved(t->g, &before));
    long k;
    for (k = 0; k < MAX_POINTS; k++) {
        long live = fa.live;
        size_t bytes = fa.bytes;
        memset(&t->out, 0, sizeof(t->out));
        memset(&t->welcome, 0, sizeof(t->welcome));
        t->made = NULL;
        t->kp = NULL;
        fa.failed = 0;
        fa.budget = k;
        int rc = t->run(t);
        fa.budget = -1;
        if (rc == EK_OK && !fa.failed)
            break;
        if (rc != EK_ERR_NOMEM || !fa.failed || fa.live != live || fa.bytes != bytes ||
            !nothing_out(t) || (t->g != NULL && !same_state(t->g, &before))) {
            ek_test_fail(__FILE__, __LINE__,
                         "%s, allocation %ld failing: rc %d (%s), injected %d, blocks %+ld, "
                         "bytes %+ld, outputs %s, state %s",
                         name, k, rc, ek_strerror(rc), fa.failed, fa.live - live,
                         (long)(fa.bytes - bytes), nothing_out(t) ? "none" : "LEFT",
                         t->g == NULL || same_state(t->g, &before) ? "same" : "CHANGED");
            break;
        }
    }
    ek_mls_buf_free(&before);
    EK_CHECK(k > 0); /* the operation allocates through the hook */
    EK_CHECK(k < MAX_POINTS);
    printf("  %s: %ld allocation points, each failing cleanly\n", name, k);
    return k;
}

/* ---- the operations ---- */

static int op_key_package(attempt *t)
{
    ek_mls_key_package_params p = {
        .cipher_suite = suite,
        .identity = (const uint8_t *)t->m->name,
        .identity_len = strlen(t->m->name),
        .now_s = MLS_TEST_NOW_S,
    };
    return ek_mls_key_package_create(&t->kp, &p, NULL, &alloc);
}

static int op_create(attempt *t)
{
    return ek_mls_group_create(&t->made, &cfg, t->m->kp, group_id, sizeof(group_id), NULL);
}

static int op_commit(attempt *t)
{
    return ek_mls_group_commit(t->g, &t->out, &t->welcome, t->opt);
}

static int op_join(attempt *t)
{
    return ek_mls_group_join(&t->made, &cfg, t->in->data, t->in->len, t->m->kp, NULL, 0);
}

static int op_process(attempt *t)
{
    return ek_mls_group_process(t->g, &t->r, t->in->data, t->in->len);
}

static int op_propose_update(attempt *t)
{
    return ek_mls_group_propose_update(t->g, &t->out);
}

static int op_propose_add(attempt *t)
{
    return ek_mls_group_propose_add(t->g, &t->out, t->kp_msg, t->kp_len);
}

static int op_propose_remove(attempt *t)
{
    return ek_mls_group_propose_remove(t->g, &t->out, t->leaf);
}

static int op_save(attempt *t)
{
    return ek_mls_group_save(t->g, &t->out);
}

static int op_restore(attempt *t)
{
    return ek_mls_group_restore(&t->made, &cfg, t->in->data, t->in->len);
}

static int op_protect(attempt *t)
{
    return ek_mls_group_protect(t->g, &t->out, (const uint8_t *)"hello", 5, (const uint8_t *)"ad",
                                2);
}

/* ---- the scenario ---- */

static void member(mls_member *m, const char *name)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    attempt t = {.run = op_key_package, .m = m};
    every_failure("create a KeyPackage", &t);
    m->kp = t.kp;
}

static ek_mls_bytes kp_of(const mls_member *m)
{
    ek_mls_bytes b;
    ek_mls_key_package_bundle_message(m->kp, &b.data, &b.len);
    return b;
}

/* Process msg at g under failure injection; the received kind. */
static int process_failing(const char *name, ek_mls_group *g, const ek_mls_buf *msg)
{
    attempt t = {.run = op_process, .g = g, .in = msg};
    every_failure(name, &t);
    int kind = t.r.kind;
    ek_mls_received_free(&t.r);
    return kind;
}

static void deliver(mls_member *m, const ek_mls_buf *msg, int want_kind)
{
    int kind = 0;
    EK_CHECK_OK(mls_deliver(m, msg, &kind));
    EK_CHECK(kind == want_kind);
}

static void scenario(uint16_t wire_format)
{
    printf(" handshake messages as %s\n",
           wire_format == EK_MLS_WIRE_PUBLIC_MESSAGE ? "PublicMessage" : "PrivateMessage");
    cfg.handshake_wire_format = wire_format;
    mls_member a, b, c, d, e;
    member(&a, "a");
    EK_CHECK_OK(mls_member_init(&b, "b", suite, NULL));
    EK_CHECK_OK(mls_member_init(&c, "c", suite, NULL));
    EK_CHECK_OK(mls_member_init(&d, "d", suite, NULL));
    EK_CHECK_OK(mls_member_init(&e, "e", suite, NULL));

    attempt t = {.run = op_create, .m = &a};
    every_failure("create a group", &t);
    a.g = t.made;
    ek_mls_group_set_time(a.g, MLS_TEST_NOW_S);

    /* A adds B and C (commit with path and Welcome); B joins. */
    ek_mls_bytes kps[2] = {kp_of(&b), kp_of(&c)};
    ek_mls_commit_options add2 = {.add_key_packages = kps, .add_count = 2};
    t = (attempt){.run = op_commit, .g = a.g, .opt = &add2};
    every_failure("commit adding two (with Welcome)", &t);
    ek_mls_buf welcome = t.welcome;
    ek_mls_buf_free(&t.out);
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a.g));
    ek_mls_group_settle(a.g);
    t = (attempt){.run = op_join, .m = &b, .in = &welcome};
    every_failure("join from the Welcome", &t);
    b.g = t.made;
    ek_mls_group_set_time(b.g, MLS_TEST_NOW_S);
    EK_CHECK_OK(ek_mls_group_join(&c.g, &cfg, welcome.data, welcome.len, c.kp, NULL, 0));
    ek_mls_group_set_time(c.g, MLS_TEST_NOW_S);
    ek_mls_buf_free(&welcome);

    /* Proposals: B an update, C an add of D, A a remove of C. */
    t = (attempt){.run = op_propose_update, .g = b.g};
    every_failure("propose an update", &t);
    ek_mls_buf upd = t.out;
    ek_mls_bytes kd = kp_of(&d);
    t = (attempt){.run = op_propose_add, .g = c.g, .kp_msg = kd.data, .kp_len = kd.len};
    every_failure("propose an add", &t);
    ek_mls_buf add = t.out;
    t = (attempt){.run = op_propose_remove, .g = a.g, .leaf = ek_mls_group_own_leaf(c.g)};
    every_failure("propose a remove", &t);
    ek_mls_buf rem = t.out;
    EK_CHECK(process_failing("process a proposal (update)", a.g, &upd) == EK_MLS_RECEIVED_PROPOSAL);
    EK_CHECK(process_failing("process a proposal (add)", a.g, &add) == EK_MLS_RECEIVED_PROPOSAL);
    deliver(&b, &add, EK_MLS_RECEIVED_PROPOSAL);
    deliver(&b, &rem, EK_MLS_RECEIVED_PROPOSAL);
    deliver(&c, &upd, EK_MLS_RECEIVED_PROPOSAL);
    deliver(&c, &rem, EK_MLS_RECEIVED_PROPOSAL);
    ek_mls_buf_free(&upd);
    ek_mls_buf_free(&add);
    ek_mls_buf_free(&rem);

    /* A commits the three by reference and adds E by value. */
    ek_mls_bytes ke = kp_of(&e);
    ek_mls_commit_options add1 = {.add_key_packages = &ke, .add_count = 1};
    t = (attempt){.run = op_commit, .g = a.g, .opt = &add1};
    every_failure("commit by reference (update, add, remove) and by value (add)", &t);
    ek_mls_buf commit = t.out;
    welcome = t.welcome;
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a.g));
    EK_CHECK(process_failing("process a commit", b.g, &commit) == EK_MLS_RECEIVED_COMMIT);
    EK_CHECK(process_failing("process the commit removing us", c.g, &commit) ==
             EK_MLS_RECEIVED_COMMIT);
    EK_CHECK(!ek_mls_group_active(c.g));
    ek_mls_buf_free(&commit);
    EK_CHECK_OK(ek_mls_group_join(&d.g, &cfg, welcome.data, welcome.len, d.kp, NULL, 0));
    ek_mls_group_set_time(d.g, MLS_TEST_NOW_S);
    EK_CHECK_OK(ek_mls_group_join(&e.g, &cfg, welcome.data, welcome.len, e.kp, NULL, 0));
    ek_mls_group_set_time(e.g, MLS_TEST_NOW_S);
    ek_mls_buf_free(&welcome);
    ek_mls_group_settle(a.g);
    ek_mls_group_settle(b.g);
    mls_member *all[] = {&a, &b, &d, &e};
    EK_CHECK(mls_same_view(all, 4));

    /* Two commits in one epoch (docs/protocol.md): D has entered its own
     * epoch when E's competing commit arrives. */
    EK_CHECK_OK(ek_mls_group_commit(d.g, &commit, NULL, NULL));
    ek_mls_buf rival;
    EK_CHECK_OK(ek_mls_group_commit(e.g, &rival, NULL, NULL));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(d.g));
    int kind = process_failing("process a competing commit", d.g, &rival);
    EK_CHECK(kind == EK_MLS_RECEIVED_COMMIT || kind == EK_MLS_RECEIVED_COMMIT_LOST);
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(e.g));
    ek_mls_received r;
    EK_CHECK_OK(ek_mls_group_process(e.g, &r, commit.data, commit.len));
    ek_mls_received_free(&r);
    for (size_t i = 0; i < 2; i++) {
        EK_CHECK_OK(ek_mls_group_process(all[i]->g, &r, commit.data, commit.len));
        ek_mls_received_free(&r);
        EK_CHECK_OK(ek_mls_group_process(all[i]->g, &r, rival.data, rival.len));
        ek_mls_received_free(&r);
    }
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&rival);
    for (size_t i = 0; i < 4; i++)
        ek_mls_group_settle(all[i]->g);
    EK_CHECK(mls_same_view(all, 4));

    /* Save and restore. */
    t = (attempt){.run = op_save, .g = b.g};
    every_failure("save the state", &t);
    ek_mls_buf blob = t.out;
    t = (attempt){.run = op_restore, .in = &blob};
    every_failure("restore the state", &t);
    ek_mls_group_free(t.made);
    ek_mls_buf_free(&blob);

    /* Application data. */
    t = (attempt){.run = op_protect, .g = a.g};
    every_failure("protect application data", &t);
    ek_mls_buf msg = t.out;
    EK_CHECK(process_failing("process application data", b.g, &msg) == EK_MLS_RECEIVED_APPLICATION);
    ek_mls_buf_free(&msg);

    mls_member_free(&a);
    mls_member_free(&b);
    mls_member_free(&c);
    mls_member_free(&d);
    mls_member_free(&e);
}

int main(void)
{
    scenario(EK_MLS_WIRE_PRIVATE_MESSAGE);
    scenario(EK_MLS_WIRE_PUBLIC_MESSAGE);
    EK_CHECK(fa.live == 0 && fa.bytes == 0);
    if (fa.live != 0)
        fprintf(stderr, "  %ld blocks (%zu bytes) outstanding\n", fa.live, fa.bytes);
    return ek_test_finish("mls.group_alloc");
}
