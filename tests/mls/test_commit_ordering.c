/*
 * test_commit_ordering.c: the commit-ordering rule of docs/protocol.md
 * ("MLS commit ordering"). Two members commit in the same epoch; whatever
 * order the commits arrive in, every member ends in the epoch of the
 * commit with the smaller CommitRef. The loser is told (switched,
 * own_commit_lost), re-commits what its lost commit carried, and the group
 * carries on. A competing commit that arrives after the epoch settled is
 * refused; a late application message of the retained epoch still opens.
 *
 * Removals and races (rules 3.3 and 3.5, the MLS review's finding 2): a
 * member removed by one commit cannot stay by racing it with a commit of
 * its own, whatever the CommitRefs; when two commits remove each other's
 * committer, or a third member's commit wins the race, the lost Remove is
 * owed, and the next commit makes it, in every arrival order, across a save
 * and restore; a commit that leaves an owed Remove out is refused.
 */
#include <stdio.h>
#include <string.h>

#include <enkrypt/ek_mls.h>

#include "ek_test.h"
#include "mls_group_util.h"

static const uint8_t group_id[] = "ordering";

static ek_mls_bytes kp_of(const mls_member *m)
{
    ek_mls_bytes b;
    ek_mls_key_package_bundle_message(m->kp, &b.data, &b.len);
    return b;
}

static void deliver_ok(mls_member *m, const ek_mls_buf *msg, int want_kind)
{
    int kind = -1;
    EK_CHECK_OK(mls_deliver(m, msg, &kind));
    if (want_kind >= 0 && kind != want_kind)
        ek_test_fail(__FILE__, __LINE__, "%s: kind %d, wanted %d", m->name, kind, want_kind);
}

static void settle_all(mls_member **ms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ms[i]->g != NULL)
            ek_mls_group_settle(ms[i]->g);
}

/* ms[0] creates the group and adds the others (leaf i for ms[i]); all
 * settled, with the tests' clock. */
static void setup_n(mls_member **ms, size_t n)
{
    EK_CHECK_OK(ek_mls_group_create(&ms[0]->g, NULL, ms[0]->kp, group_id, sizeof(group_id), NULL));
    ek_mls_group_set_time(ms[0]->g, MLS_TEST_NOW_S);
    ek_mls_bytes kps[8];
    for (size_t i = 1; i < n; i++)
        kps[i - 1] = kp_of(ms[i]);
    ek_mls_commit_options opt = {.add_key_packages = kps, .add_count = n - 1};
    ek_mls_buf commit, welcome;
    EK_CHECK_OK(ek_mls_group_commit(ms[0]->g, &commit, &welcome, &opt));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(ms[0]->g));
    ek_mls_group_settle(ms[0]->g);
    for (size_t i = 1; i < n; i++) {
        EK_CHECK_OK(
            ek_mls_group_join(&ms[i]->g, NULL, welcome.data, welcome.len, ms[i]->kp, NULL, 0));
        ek_mls_group_set_time(ms[i]->g, MLS_TEST_NOW_S);
        EK_CHECK(ek_mls_group_own_leaf(ms[i]->g) == i);
    }
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);
}

/* Everyone of a, b, c in one epoch, settled. */
static void setup(mls_member *a, mls_member *b, mls_member *c)
{
    mls_member *ms[] = {a, b, c};
    setup_n(ms, 3);
}

/* order: 0 = C gets X first, 1 = C gets Y first. */
static void race(int order)
{
    uint16_t suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;
    mls_member a, b, c, d, e;
    EK_CHECK_OK(mls_member_init(&a, "a", suite, NULL));
    EK_CHECK_OK(mls_member_init(&b, "b", suite, NULL));
    EK_CHECK_OK(mls_member_init(&c, "c", suite, NULL));
    EK_CHECK_OK(mls_member_init(&d, "d", suite, NULL));
    EK_CHECK_OK(mls_member_init(&e, "e", suite, NULL));
    setup(&a, &b, &c);
    uint64_t epoch = ek_mls_group_epoch(a.g);

    /* A adds D (commit X), B adds E (commit Y), both in the same epoch;
     * each sends and enters its own epoch (retaining the old one). */
    ek_mls_bytes kd = kp_of(&d), ke = kp_of(&e);
    ek_mls_commit_options oa = {.add_key_packages = &kd, .add_count = 1};
    ek_mls_commit_options ob = {.add_key_packages = &ke, .add_count = 1};
    ek_mls_buf x, wx, y, wy;
    EK_CHECK_OK(ek_mls_group_commit(a.g, &x, &wx, &oa));
    EK_CHECK_OK(ek_mls_group_commit(b.g, &y, &wy, &ob));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a.g));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(b.g));

    /* An application message of the old epoch, sent by C before it hears
     * of either commit. */
    ek_mls_buf late;
    EK_CHECK_OK(ek_mls_group_protect(c.g, &late, (const uint8_t *)"late", 4, NULL, 0));

    ek_mls_received ra, rb, rc1, rc2;
    EK_CHECK_OK(ek_mls_group_process(a.g, &ra, y.data, y.len));
    EK_CHECK_OK(ek_mls_group_process(b.g, &rb, x.data, x.len));
    const ek_mls_buf *first = order == 0 ? &x : &y, *second = order == 0 ? &y : &x;
    EK_CHECK_OK(ek_mls_group_process(c.g, &rc1, first->data, first->len));
    EK_CHECK_OK(ek_mls_group_process(c.g, &rc2, second->data, second->len));
    EK_CHECK(rc1.kind == EK_MLS_RECEIVED_COMMIT);

    /* Exactly one of A and B switched; it is the one whose commit lost. */
    int x_won = rb.kind == EK_MLS_RECEIVED_COMMIT;
    EK_CHECK(x_won == (ra.kind == EK_MLS_RECEIVED_COMMIT_LOST));
    if (x_won)
        EK_CHECK(rb.switched && rb.own_commit_lost);
    else
        EK_CHECK(ra.switched && ra.own_commit_lost);
    /* C switched only if the winner came second. */
    int c_second_wins = (order == 0) != x_won;
    EK_CHECK(rc2.kind == (c_second_wins ? EK_MLS_RECEIVED_COMMIT : EK_MLS_RECEIVED_COMMIT_LOST));
    EK_CHECK(!c_second_wins || (rc2.switched && !rc2.own_commit_lost));
    mls_member *abc[] = {&a, &b, &c};
    EK_CHECK(mls_same_view(abc, 3));
    EK_CHECK(ek_mls_group_epoch(a.g) == epoch + 1);
    ek_mls_received_free(&ra);
    ek_mls_received_free(&rb);
    ek_mls_received_free(&rc1);
    ek_mls_received_free(&rc2);

    /* The late message of the retained epoch still opens everywhere. */
    ek_mls_received r;
    EK_CHECK_OK(ek_mls_group_process(a.g, &r, late.data, late.len));
    EK_CHECK(r.kind == EK_MLS_RECEIVED_APPLICATION && r.epoch == epoch);
    ek_mls_received_free(&r);

    /* The winner's new member joins; the loser's Welcome is never used. */
    mls_member *winner_new = x_won ? &d : &e, *loser_new = x_won ? &e : &d;
    mls_member *loser = x_won ? &b : &a;
    ek_mls_buf *w = x_won ? &wx : &wy;
    EK_CHECK_OK(ek_mls_group_join(&winner_new->g, NULL, w->data, w->len, winner_new->kp, NULL, 0));
    mls_member *four[] = {&a, &b, &c, winner_new};
    EK_CHECK(mls_same_view(four, 4));

    /* After the settle time everyone forgets the old epoch; a competing
     * commit for it now is refused (a fork beyond the window: reported,
     * never applied). */
    settle_all(four, 4);
    ek_mls_buf *lost_commit = x_won ? &y : &x;
    EK_CHECK_RC(ek_mls_group_process(c.g, &r, lost_commit->data, lost_commit->len), EK_ERR_STATE);
    EK_CHECK_RC(ek_mls_group_process(c.g, &r, late.data, late.len), EK_ERR_STATE);

    /* The loser re-commits what it lost (the Add) with nothing more. */
    ek_mls_buf z, wz;
    EK_CHECK_OK(ek_mls_group_commit(loser->g, &z, &wz, NULL));
    EK_CHECK(wz.len > 0);
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(loser->g));
    for (size_t i = 0; i < 4; i++) {
        if (four[i] == loser)
            continue;
        int kind = 0;
        EK_CHECK_OK(mls_deliver(four[i], &z, &kind));
        EK_CHECK(kind == EK_MLS_RECEIVED_COMMIT);
    }
    EK_CHECK_OK(ek_mls_group_join(&loser_new->g, NULL, wz.data, wz.len, loser_new->kp, NULL, 0));
    mls_member *five[] = {&a, &b, &c, &d, &e};
    EK_CHECK(mls_same_view(five, 5));
    EK_CHECK(ek_mls_group_member_count(c.g) == 5);
    settle_all(five, 5);

    /* And the group talks. */
    ek_mls_buf msg;
    EK_CHECK_OK(ek_mls_group_protect(loser_new->g, &msg, (const uint8_t *)"hi", 2, NULL, 0));
    for (size_t i = 0; i < 5; i++) {
        if (five[i] == loser_new)
            continue;
        int kind = 0;
        EK_CHECK_OK(mls_deliver(five[i], &msg, &kind));
        EK_CHECK(kind == EK_MLS_RECEIVED_APPLICATION);
    }
    ek_mls_buf_free(&msg);
    ek_mls_buf *bufs[] = {&x, &wx, &y, &wy, &late, &z, &wz};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        ek_mls_buf_free(bufs[i]);
    for (size_t i = 0; i < 5; i++)
        mls_member_free(five[i]);
}

/* A member may not commit before the epoch it entered has settled. */
static void commit_needs_settle(void)
{
    uint16_t suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;
    mls_member a, b, c;
    EK_CHECK_OK(mls_member_init(&a, "a", suite, NULL));
    EK_CHECK_OK(mls_member_init(&b, "b", suite, NULL));
    EK_CHECK_OK(mls_member_init(&c, "c", suite, NULL));
    setup(&a, &b, &c);
    ek_mls_buf x;
    EK_CHECK_OK(ek_mls_group_commit(a.g, &x, NULL, NULL));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(a.g));
    int kind = 0;
    EK_CHECK_OK(mls_deliver(&b, &x, &kind));
    ek_mls_buf y;
    EK_CHECK_RC(ek_mls_group_commit(b.g, &y, NULL, NULL), EK_ERR_STATE);
    ek_mls_group_settle(b.g);
    EK_CHECK_OK(ek_mls_group_commit(b.g, &y, NULL, NULL));
    ek_mls_buf_free(&x);
    ek_mls_buf_free(&y);
    mls_member_free(&a);
    mls_member_free(&b);
    mls_member_free(&c);
}

/* Four members a, b, m, f (leaves 0-3). */
static void four_members(mls_member *a, mls_member *b, mls_member *m, mls_member *f)
{
    uint16_t suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519;
    EK_CHECK_OK(mls_member_init(a, "a", suite, NULL));
    EK_CHECK_OK(mls_member_init(b, "b", suite, NULL));
    EK_CHECK_OK(mls_member_init(m, "m", suite, NULL));
    EK_CHECK_OK(mls_member_init(f, "f", suite, NULL));
    mls_member *ms[] = {a, b, m, f};
    setup_n(ms, 4);
}

static void commit_removing(mls_member *who, ek_mls_buf *out, uint32_t leaf)
{
    ek_mls_commit_options opt = {.remove_leaves = &leaf, .remove_count = 1};
    EK_CHECK_OK(ek_mls_group_commit(who->g, out, NULL, leaf == UINT32_MAX ? NULL : &opt));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(who->g));
}

static uint32_t own_count(mls_member *const *ms, size_t n)
{
    uint32_t active = 0;
    for (size_t i = 0; i < n; i++)
        active += ms[i]->g != NULL && ek_mls_group_active(ms[i]->g);
    return active;
}

/* A removes M (commit X); M, still a member of the old epoch, races X with
 * a commit Y of its own for that epoch (an empty commit, which a real
 * attacker would grind for a small CommitRef). X wins everywhere, in every
 * arrival order, whichever CommitRef is smaller: M is out. */
static void removed_member_races(int round)
{
    mls_member a, b, m, f;
    four_members(&a, &b, &m, &f);
    ek_mls_buf x, y;
    commit_removing(&a, &x, 2);
    commit_removing(&m, &y, UINT32_MAX);
    deliver_ok(&a, &y, EK_MLS_RECEIVED_COMMIT_LOST);
    ek_mls_received r = {0};
    EK_CHECK_OK(ek_mls_group_process(m.g, &r, x.data, x.len));
    EK_CHECK(r.kind == EK_MLS_RECEIVED_COMMIT && r.removed);
    ek_mls_received_free(&r);
    EK_CHECK(!ek_mls_group_active(m.g));
    /* b hears X first in even rounds, f the other way round. */
    mls_member *first = round % 2 == 0 ? &b : &f, *second = round % 2 == 0 ? &f : &b;
    deliver_ok(first, &x, EK_MLS_RECEIVED_COMMIT);
    deliver_ok(first, &y, EK_MLS_RECEIVED_COMMIT_LOST);
    deliver_ok(second, &y, EK_MLS_RECEIVED_COMMIT);
    EK_CHECK_OK(ek_mls_group_process(second->g, &r, x.data, x.len));
    EK_CHECK(r.kind == EK_MLS_RECEIVED_COMMIT && r.switched && !r.own_commit_lost);
    ek_mls_received_free(&r);
    mls_member *abf[] = {&a, &b, &f};
    EK_CHECK(mls_same_view(abf, 3));
    EK_CHECK(ek_mls_group_member_count(b.g) == 3 && ek_mls_group_member_count(f.g) == 3);
    EK_CHECK(ek_mls_group_member_identity(b.g, 2, &(const uint8_t *){NULL}, &(size_t){0}) ==
             EK_ERR_STATE);
    ek_mls_buf_free(&x);
    ek_mls_buf_free(&y);
    mls_member *all[] = {&a, &b, &m, &f};
    for (size_t i = 0; i < 4; i++)
        mls_member_free(all[i]);
}

/* A removes M (X) and M removes A (Y), each racing the other: the
 * CommitRef decides which lands, and the other's Remove is owed, so the
 * next commit removes the survivor too. Every member agrees, in every
 * arrival order; the survivor cannot commit; the owed Remove survives a
 * save and restore; a member that never saw the losing commit (so owes
 * nothing) has its commit refused by the others. */
static void mutual_removal(int round)
{
    mls_member a, b, m, f, x_only;
    four_members(&a, &b, &m, &f);
    ek_mls_buf x, y;
    commit_removing(&a, &x, 2);
    commit_removing(&m, &y, 0);
    /* A copy of f's state before the race: it will hear only the winner. */
    ek_mls_buf saved;
    EK_CHECK_OK(ek_mls_group_save(f.g, &saved));
    memset(&x_only, 0, sizeof(x_only));
    snprintf(x_only.name, sizeof(x_only.name), "f (winner only)");
    EK_CHECK_OK(ek_mls_group_restore(&x_only.g, NULL, saved.data, saved.len));
    ek_mls_buf_free(&saved);

    mls_member *first = round % 2 == 0 ? &b : &f, *second = round % 2 == 0 ? &f : &b;
    int k1 = -1, k2 = -1;
    EK_CHECK_OK(mls_deliver(first, &x, &k1));
    EK_CHECK_OK(mls_deliver(first, &y, &k2));
    int x_won = k2 == EK_MLS_RECEIVED_COMMIT_LOST;
    deliver_ok(second, &y, EK_MLS_RECEIVED_COMMIT);
    deliver_ok(second, &x, x_won ? EK_MLS_RECEIVED_COMMIT : EK_MLS_RECEIVED_COMMIT_LOST);
    ek_mls_received ra, rm;
    EK_CHECK_OK(ek_mls_group_process(a.g, &ra, y.data, y.len));
    EK_CHECK_OK(ek_mls_group_process(m.g, &rm, x.data, x.len));
    mls_member *gone = x_won ? &m : &a, *owed = x_won ? &a : &m;
    EK_CHECK(!ek_mls_group_active(gone->g) && ek_mls_group_active(owed->g));
    EK_CHECK(x_won ? rm.removed : ra.removed);
    ek_mls_received_free(&ra);
    ek_mls_received_free(&rm);
    mls_member *three[] = {&b, &f, owed};
    EK_CHECK(mls_same_view(three, 3));
    EK_CHECK(ek_mls_group_member_count(b.g) == 3);
    settle_all(three, 3);

    /* The survivor owes its removal: it cannot commit. */
    ek_mls_buf z;
    EK_CHECK_RC(ek_mls_group_commit(owed->g, &z, NULL, NULL), EK_ERR_STATE);

    /* The member that heard only the winner owes nothing and commits
     * without the Remove: everyone else refuses that commit. */
    deliver_ok(&x_only, x_won ? &x : &y, EK_MLS_RECEIVED_COMMIT);
    ek_mls_group_settle(x_only.g);
    EK_CHECK(ek_mls_group_member_count(x_only.g) == 3);
    ek_mls_buf bad;
    EK_CHECK_OK(ek_mls_group_commit(x_only.g, &bad, NULL, NULL));
    ek_mls_received r = {0};
    EK_CHECK_RC(ek_mls_group_process(b.g, &r, bad.data, bad.len), EK_ERR_DECODE);
    EK_CHECK_RC(ek_mls_group_process(owed->g, &r, bad.data, bad.len), EK_ERR_DECODE);
    ek_mls_buf_free(&bad);
    mls_member_free(&x_only);

    /* b, across a save and restore, commits: the owed Remove is in it. */
    ek_mls_buf blob;
    EK_CHECK_OK(ek_mls_group_save(b.g, &blob));
    ek_mls_group_free(b.g);
    b.g = NULL;
    EK_CHECK_OK(ek_mls_group_restore(&b.g, NULL, blob.data, blob.len));
    ek_mls_buf_free(&blob);
    EK_CHECK_OK(ek_mls_group_commit(b.g, &z, NULL, NULL));
    EK_CHECK_OK(ek_mls_group_merge_pending_commit(b.g));
    deliver_ok(&f, &z, EK_MLS_RECEIVED_COMMIT);
    EK_CHECK_OK(ek_mls_group_process(owed->g, &r, z.data, z.len));
    EK_CHECK(r.kind == EK_MLS_RECEIVED_COMMIT && r.removed);
    ek_mls_received_free(&r);
    mls_member *bf[] = {&b, &f};
    EK_CHECK(mls_same_view(bf, 2));
    EK_CHECK(ek_mls_group_member_count(b.g) == 2 && ek_mls_group_member_count(f.g) == 2);
    EK_CHECK(own_count((mls_member *[]){&a, &b, &m, &f}, 4) == 2);
    ek_mls_buf_free(&x);
    ek_mls_buf_free(&y);
    ek_mls_buf_free(&z);
    mls_member *all[] = {&a, &b, &m, &f};
    for (size_t i = 0; i < 4; i++)
        mls_member_free(all[i]);
}

/* A removes M (X); F, M's friend, races X with an empty commit Y. If Y
 * wins on CommitRef, X's Remove is owed and the next commit makes it: M is
 * out after one more commit either way. */
static void third_party_race(int round)
{
    mls_member a, b, m, f;
    four_members(&a, &b, &m, &f);
    ek_mls_buf x, y;
    commit_removing(&a, &x, 2);
    commit_removing(&f, &y, UINT32_MAX);
    int ka = -1, kf = -1, kb1 = -1, kb2 = -1, km1 = -1, km2 = -1;
    EK_CHECK_OK(mls_deliver(&a, &y, &ka));
    EK_CHECK_OK(mls_deliver(&f, &x, &kf));
    const ek_mls_buf *b1 = round % 2 == 0 ? &x : &y, *b2 = round % 2 == 0 ? &y : &x;
    EK_CHECK_OK(mls_deliver(&b, b1, &kb1));
    EK_CHECK_OK(mls_deliver(&b, b2, &kb2));
    /* m hears Y first: if X loses afterwards, m stays, owing its removal. */
    EK_CHECK_OK(mls_deliver(&m, &y, &km1));
    EK_CHECK_OK(mls_deliver(&m, &x, &km2));
    int y_won = ka == EK_MLS_RECEIVED_COMMIT;
    EK_CHECK(y_won == (kf == EK_MLS_RECEIVED_COMMIT_LOST));
    EK_CHECK(y_won == ek_mls_group_active(m.g));
    mls_member *abf[] = {&a, &b, &f};
    EK_CHECK(mls_same_view(abf, 3));
    mls_member *all[] = {&a, &b, &m, &f};
    settle_all(all, 4);
    if (y_won) {
        ek_mls_buf z;
        EK_CHECK_RC(ek_mls_group_commit(m.g, &z, NULL, NULL), EK_ERR_STATE);
        EK_CHECK_OK(ek_mls_group_commit(b.g, &z, NULL, NULL));
        EK_CHECK_OK(ek_mls_group_merge_pending_commit(b.g));
        deliver_ok(&a, &z, EK_MLS_RECEIVED_COMMIT);
        deliver_ok(&f, &z, EK_MLS_RECEIVED_COMMIT);
        ek_mls_received r = {0};
        EK_CHECK_OK(ek_mls_group_process(m.g, &r, z.data, z.len));
        EK_CHECK(r.removed);
        ek_mls_received_free(&r);
        ek_mls_buf_free(&z);
    }
    EK_CHECK(!ek_mls_group_active(m.g));
    EK_CHECK(mls_same_view(abf, 3));
    EK_CHECK(ek_mls_group_member_count(a.g) == 3);
    ek_mls_buf_free(&x);
    ek_mls_buf_free(&y);
    for (size_t i = 0; i < 4; i++)
        mls_member_free(all[i]);
}

int main(void)
{
    for (int round = 0; round < 8; round++)
        race(round % 2);
    commit_needs_settle();
    /* Enough rounds that both CommitRef orders occur (each 1/2). */
    for (int round = 0; round < 16; round++) {
        removed_member_races(round);
        mutual_removal(round);
        third_party_race(round);
    }
    return ek_test_finish("mls.commit_ordering");
}
