/*
 * test_vault_crash.c: a crash loses nothing that was committed.
 *
 * A child process writes in a loop (single appends, status updates, and
 * transactions that append a message, save a session state and queue an
 * outbox entry together) and reports each commit on a pipe; the parent
 * SIGKILLs it at varying moments (the WAL checkpoints often, so some kills
 * land in a checkpoint), then: a wrong passphrase still leaves the files
 * untouched; the vault opens; every reported commit is there, intact and
 * in order; each transaction is all there or not at all. Five rounds,
 * each continuing from what the previous one left.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <enkrypt/ek_vault.h>

#include "ek_test.h"
#include "store/vault_internal.h"
#include "vault_util.h"

static const char pass[] = "crash test passphrase";
#define BATCH_EVERY 7

static size_t body_of(char *out, size_t cap, uint64_t i)
{
    size_t n = 300 + (size_t)(i * 37 % 3000), k;
    if (n >= cap)
        n = cap - 1;
    for (k = 0; k < n; k++)
        out[k] = (char)('a' + (i * 7 + k * 13) % 26);
    k = (size_t)snprintf(out, cap, "message %llu:", (unsigned long long)i);
    out[k] = ' ';
    out[n] = 0;
    return n;
}

static void state_of(uint8_t out[64], uint64_t i)
{
    vt_blob(out, 64, 99, (unsigned)i);
}

static int append_msg(ek_vault *v, uint64_t i)
{
    char id[32], body[4096];
    ek_vault_message m;
    memset(&m, 0, sizeof m);
    (void)snprintf(id, sizeof id, "m%llu", (unsigned long long)i);
    m.conversation = "conv";
    m.id = id;
    m.direction = EK_VAULT_OUTGOING;
    m.status = EK_VAULT_MSG_SENT;
    m.timestamp_ms = i;
    m.body = (const uint8_t *)body;
    m.body_len = body_of(body, sizeof body, i);
    return ek_vault_msg_append(v, NULL, &m);
}

/* The child: write forever, report each commit. */
static void child(const char *path, int fd)
{
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    uint64_t i = 0;
    int rc = ek_vault_open(&v, path, pass, strlen(pass), &o);
    if (rc != EK_OK)
        _exit(2);
    (void)sqlite3_exec(v->db, "PRAGMA wal_autocheckpoint = 25", NULL, NULL, NULL);
    if (ek_vault_msg_count(v, &i, "conv") != EK_OK)
        _exit(3);
    for (;; i++) {
        if (i % BATCH_EVERY == 0) {
            uint8_t st[64];
            char oid[32];
            ek_vault_outbox_item it;
            state_of(st, i);
            (void)snprintf(oid, sizeof oid, "o%llu", (unsigned long long)i);
            memset(&it, 0, sizeof it);
            it.peer_id = "peer";
            it.msg_id = oid;
            it.payload = st;
            it.payload_len = sizeof st;
            rc = ek_vault_begin(v);
            if (rc == EK_OK)
                rc = append_msg(v, i);
            if (rc == EK_OK)
                rc = ek_vault_session_put(v, "peer", st, sizeof st);
            if (rc == EK_OK)
                rc = ek_vault_outbox_push(v, NULL, &it);
            if (rc == EK_OK)
                rc = ek_vault_commit(v);
        } else {
            rc = append_msg(v, i);
            if (rc == EK_OK && i % 5 == 0) {
                char id[32];
                (void)snprintf(id, sizeof id, "m%llu", (unsigned long long)(i - 1));
                rc = ek_vault_msg_set_status(v, "conv", id, EK_VAULT_MSG_READ);
            }
        }
        if (rc != EK_OK)
            _exit(4);
        if (write(fd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(5);
    }
}

struct check_ctx {
    uint64_t next;
    unsigned bad;
};

static int check_msg(void *ctx, const ek_vault_message *m)
{
    struct check_ctx *c = ctx;
    char id[32], body[4096];
    size_t n;
    (void)snprintf(id, sizeof id, "m%llu", (unsigned long long)c->next);
    n = body_of(body, sizeof body, c->next);
    if (m->index != c->next || strcmp(m->id, id) != 0 || m->body_len != n ||
        memcmp(m->body, body, n) != 0 || m->timestamp_ms != c->next)
        c->bad++;
    c->next++;
    return EK_OK;
}

static int count_outbox(void *ctx, const ek_vault_outbox_item *it)
{
    uint64_t *last = ctx;
    uint8_t st[64];
    uint64_t i = strtoull(it->msg_id + 1, NULL, 10);
    state_of(st, i);
    if (it->payload_len != 64 || memcmp(it->payload, st, 64) != 0)
        return EK_ERR_VAULT_CORRUPT;
    *last = i;
    return EK_OK;
}

int main(void)
{
    char *dir = vt_tempdir(), *path = vt_join(dir, "vault.db");
    char code[EK_VAULT_RECOVERY_LEN + 1];
    ek_vault_options o = vt_opts();
    ek_vault *v = NULL;
    int round;

    EK_CHECK_OK(ek_vault_create(&v, code, path, pass, strlen(pass), &o));
    ek_vault_close(v);

    for (round = 0; round < 5; round++) {
        int fds[2], status = 0;
        uint64_t last = 0, got, count = 0, last_batch = 0, outbox_last = 0, n_outbox = 0;
        unsigned reported = 0, target = 40 + (unsigned)round * 30;
        uint8_t *state = NULL;
        size_t state_len = 0;
        struct check_ctx cc = {0, 0};
        vt_snapshot before, after;
        pid_t pid;

        EK_CHECK(pipe(fds) == 0);
        pid = fork();
        EK_CHECK(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(path, fds[1]);
        }
        close(fds[1]);
        while (reported < target && read(fds[0], &got, sizeof got) == (ssize_t)sizeof got) {
            last = got;
            reported++;
        }
        {
            /* Let it get somewhere inside its next write. */
            struct timespec ts = {0, (long)(round * 173 % 900) * 1000};
            (void)nanosleep(&ts, NULL);
        }
        EK_CHECK(kill(pid, SIGKILL) == 0);
        EK_CHECK(waitpid(pid, &status, 0) == pid);
        EK_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        while (read(fds[0], &got, sizeof got) == (ssize_t)sizeof got) {
            last = got;
            reported++;
        }
        close(fds[0]);
        EK_CHECK(reported >= target);

        /* A wrong passphrase touches nothing, even with a WAL left over. */
        vt_snap(&before, dir);
        EK_CHECK_RC(ek_vault_open(&v, path, "wrong", 5, &o), EK_ERR_VAULT_BAD_PASSPHRASE);
        vt_snap(&after, dir);
        EK_CHECK(vt_snap_equal(&before, &after));

        EK_CHECK_OK(ek_vault_open(&v, path, pass, strlen(pass), &o));
        if (v == NULL)
            break;
        EK_CHECK_OK(ek_vault_msg_count(v, &count, "conv"));
        /* Every reported commit is there; at most the one in flight more. */
        EK_CHECK(count >= last + 1 && count <= last + 2);
        EK_CHECK_OK(ek_vault_msg_list(v, "conv", 0, count, check_msg, &cc));
        EK_CHECK(cc.next == count && cc.bad == 0);
        /* The latest transaction is whole: its session state and its outbox
         * entry go with its message. */
        last_batch = (count - 1) / BATCH_EVERY * BATCH_EVERY;
        EK_CHECK_OK(ek_vault_session_get(v, &state, &state_len, "peer"));
        if (state != NULL) {
            uint8_t want[64];
            state_of(want, last_batch);
            EK_CHECK(state_len == 64 && memcmp(state, want, 64) == 0);
            ek_vault_free(NULL, state, state_len);
        }
        EK_CHECK_OK(ek_vault_outbox_list(v, "peer", count_outbox, &outbox_last));
        EK_CHECK_OK(ek_vault_outbox_count(v, &n_outbox, "peer"));
        EK_CHECK(outbox_last == last_batch && n_outbox == last_batch / BATCH_EVERY + 1);
        printf("round %d: %u commits reported (last %llu), %llu messages, %s\n", round, reported,
               (unsigned long long)last, (unsigned long long)count,
               before.n > 1 ? "WAL left by the kill" : "no WAL");
        vt_snap_free(&before);
        vt_snap_free(&after);
        ek_vault_close(v);
    }
    vt_rmtree(dir);
    free(path);
    free(dir);
    return ek_test_finish("store.crash");
}
