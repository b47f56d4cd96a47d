/*
 * mls_interop_driver.c: our side of the ts-mls interop test
 * (tests/interop/mls-node/mls_interop.mjs drives it). One line in, one line
 * out on stdin/stdout; byte strings are hex; each client has a name and
 * holds a KeyPackage bundle and at most one group. After a commit of its
 * own or a received one, a client settles at once (docs/protocol.md: the
 * test has no concurrent commits).
 *
 *   new NAME                      -> ok KEYPACKAGE (an MLSMessage)
 *   create NAME GROUPID           -> ok
 *   join NAME WELCOME             -> ok
 *   commit NAME [add:KP]... [remove:LEAF]...
 *                                 -> ok COMMIT WELCOME|-
 *   propose_update NAME           -> ok PROPOSAL
 *   process NAME MESSAGE          -> ok KIND DATA|- REMOVED
 *   protect NAME DATA             -> ok MESSAGE
 *   auth NAME                     -> ok EPOCH_AUTHENTICATOR EPOCH
 *   treehash NAME                 -> ok TREE_HASH
 *   leaf NAME                     -> ok LEAF_INDEX
 *   members NAME                  -> ok COUNT
 *   export NAME LABEL CONTEXT LEN -> ok SECRET
 *   quit
 * Errors: "err WHAT".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <enkrypt/ek_mls.h>

#define MAX_CLIENTS 8
#define MAX_ARGS    64

typedef struct client {
    char name[32];
    ek_mls_key_package_bundle *kp;
    ek_mls_group *g;
} client;

static client clients[MAX_CLIENTS];

static client *find(const char *name, int create)
{
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].name[0] != 0 && strcmp(clients[i].name, name) == 0)
            return &clients[i];
    if (!create)
        return NULL;
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].name[0] == 0) {
            snprintf(clients[i].name, sizeof(clients[i].name), "%s", name);
            return &clients[i];
        }
    return NULL;
}

static void put_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static int unhex(uint8_t **out, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (n % 2 != 0)
        return -1;
    *out = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        (*out)[i] = (uint8_t)v;
    }
    *len = n / 2;
    return 0;
}

static int fail(const char *what, int rc)
{
    printf("err %s: %s\n", what, ek_strerror(rc));
    return 0;
}

static int cmd_commit(client *c, char **argv, int argc)
{
    ek_mls_bytes adds[MAX_ARGS];
    uint32_t removes[MAX_ARGS];
    uint8_t *bufs[MAX_ARGS];
    size_t na = 0, nr = 0;
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "add:", 4) == 0) {
            size_t len;
            if (unhex(&bufs[na], &len, argv[i] + 4) != 0)
                return fail("hex", EK_ERR_DECODE);
            adds[na] = (ek_mls_bytes){bufs[na], len};
            na++;
        } else if (strncmp(argv[i], "remove:", 7) == 0) {
            removes[nr++] = (uint32_t)strtoul(argv[i] + 7, NULL, 10);
        }
    }
    ek_mls_commit_options opt = {
        .add_key_packages = adds, .add_count = na, .remove_leaves = removes, .remove_count = nr};
    ek_mls_buf commit, welcome;
    int rc = ek_mls_group_commit(c->g, &commit, &welcome, &opt);
    for (size_t i = 0; i < na; i++)
        free(bufs[i]);
    if (rc != EK_OK)
        return fail("commit", rc);
    rc = ek_mls_group_merge_pending_commit(c->g);
    if (rc != EK_OK)
        return fail("merge", rc);
    ek_mls_group_settle(c->g);
    printf("ok ");
    put_hex(commit.data, commit.len);
    printf(" ");
    if (welcome.len > 0)
        put_hex(welcome.data, welcome.len);
    else
        printf("-");
    printf("\n");
    ek_mls_buf_free(&commit);
    ek_mls_buf_free(&welcome);
    return 0;
}

static int handle(char **argv, int argc)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "quit") == 0)
        return 1;
    if (argc < 2)
        return fail("usage", EK_ERR_INVALID_ARG);
    client *c = find(argv[1], strcmp(cmd, "new") == 0);
    if (c == NULL)
        return fail("no such client", EK_ERR_INVALID_ARG);
    uint8_t *b = NULL;
    size_t len = 0;
    int rc;
    if (strcmp(cmd, "new") == 0) {
        ek_mls_key_package_params p = {
            .cipher_suite = EK_MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
            .identity = (const uint8_t *)c->name,
            .identity_len = strlen(c->name),
            .now_s = (uint64_t)time(NULL),
        };
        ek_mls_key_package_bundle_free(c->kp);
        rc = ek_mls_key_package_create(&c->kp, &p, NULL, NULL);
        if (rc != EK_OK)
            return fail("key package", rc);
        const uint8_t *m;
        size_t ml;
        ek_mls_key_package_bundle_message(c->kp, &m, &ml);
        printf("ok ");
        put_hex(m, ml);
        printf("\n");
    } else if (strcmp(cmd, "create") == 0 && argc == 3) {
        if (unhex(&b, &len, argv[2]) != 0)
            return fail("hex", EK_ERR_DECODE);
        rc = ek_mls_group_create(&c->g, NULL, c->kp, b, len, NULL);
        free(b);
        if (rc != EK_OK)
            return fail("create", rc);
        printf("ok\n");
    } else if (strcmp(cmd, "join") == 0 && argc == 3) {
        if (unhex(&b, &len, argv[2]) != 0)
            return fail("hex", EK_ERR_DECODE);
        rc = ek_mls_group_join(&c->g, NULL, b, len, c->kp, NULL, 0);
        free(b);
        if (rc != EK_OK)
            return fail("join", rc);
        printf("ok\n");
    } else if (strcmp(cmd, "commit") == 0) {
        return cmd_commit(c, argv, argc);
    } else if (strcmp(cmd, "propose_update") == 0) {
        ek_mls_buf msg;
        rc = ek_mls_group_propose_update(c->g, &msg);
        if (rc != EK_OK)
            return fail("propose_update", rc);
        printf("ok ");
        put_hex(msg.data, msg.len);
        printf("\n");
        ek_mls_buf_free(&msg);
    } else if (strcmp(cmd, "process") == 0 && argc == 3) {
        if (unhex(&b, &len, argv[2]) != 0)
            return fail("hex", EK_ERR_DECODE);
        ek_mls_received r;
        rc = ek_mls_group_process(c->g, &r, b, len);
        free(b);
        if (rc != EK_OK)
            return fail("process", rc);
        if (r.kind == EK_MLS_RECEIVED_COMMIT)
            ek_mls_group_settle(c->g);
        printf("ok %d ", r.kind);
        if (r.kind == EK_MLS_RECEIVED_APPLICATION)
            put_hex(r.data.data, r.data.len);
        else
            printf("-");
        printf(" %d\n", r.removed);
        ek_mls_received_free(&r);
    } else if (strcmp(cmd, "protect") == 0 && argc == 3) {
        if (unhex(&b, &len, argv[2]) != 0)
            return fail("hex", EK_ERR_DECODE);
        ek_mls_buf msg;
        rc = ek_mls_group_protect(c->g, &msg, b, len, NULL, 0);
        free(b);
        if (rc != EK_OK)
            return fail("protect", rc);
        printf("ok ");
        put_hex(msg.data, msg.len);
        printf("\n");
        ek_mls_buf_free(&msg);
    } else if (strcmp(cmd, "auth") == 0) {
        uint8_t a[EK_MLS_MAX_HASH_LEN];
        size_t al;
        rc = ek_mls_group_epoch_authenticator(c->g, a, &al);
        if (rc != EK_OK)
            return fail("auth", rc);
        printf("ok ");
        put_hex(a, al);
        printf(" %llu\n", (unsigned long long)ek_mls_group_epoch(c->g));
    } else if (strcmp(cmd, "treehash") == 0) {
        uint8_t th[EK_MLS_MAX_HASH_LEN];
        size_t tl;
        rc = ek_mls_group_tree_hash(c->g, th, &tl);
        if (rc != EK_OK)
            return fail("treehash", rc);
        printf("ok ");
        put_hex(th, tl);
        printf("\n");
    } else if (strcmp(cmd, "leaf") == 0) {
        printf("ok %u\n", ek_mls_group_own_leaf(c->g));
    } else if (strcmp(cmd, "members") == 0) {
        printf("ok %u\n", ek_mls_group_member_count(c->g));
    } else if (strcmp(cmd, "export") == 0 && argc == 5) {
        uint8_t *label, *ctx, out[64];
        size_t ll, cl;
        size_t n = strtoul(argv[4], NULL, 10);
        if (n > sizeof(out) || unhex(&label, &ll, argv[2]) != 0 || unhex(&ctx, &cl, argv[3]) != 0)
            return fail("args", EK_ERR_INVALID_ARG);
        rc = ek_mls_group_export(c->g, out, n, label, ll, ctx, cl);
        free(label);
        free(ctx);
        if (rc != EK_OK)
            return fail("export", rc);
        printf("ok ");
        put_hex(out, n);
        printf("\n");
    } else {
        return fail("unknown command", EK_ERR_INVALID_ARG);
    }
    return 0;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int done = 0;
    while (!done && (n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = 0;
        char *argv[MAX_ARGS + 2];
        int argc = 0;
        for (char *tok = strtok(line, " "); tok != NULL && argc < MAX_ARGS + 2;
             tok = strtok(NULL, " "))
            argv[argc++] = tok;
        if (argc == 0)
            continue;
        done = handle(argv, argc);
        (void)fflush(stdout);
    }
    free(line);
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
        ek_mls_group_free(clients[i].g);
        ek_mls_key_package_bundle_free(clients[i].kp);
    }
    return 0;
}
