/*
 * e2e_harness.c: processes, the broker, daemons and a JSON-RPC client for
 * the end-to-end tests (e2e_harness.h).
 */
#define _GNU_SOURCE 1 /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "e2e_harness.h"

#define MAX_CHILDREN 32

static char *scratch;
static pid_t children[MAX_CHILDREN];

static void forget_child(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == pid)
            children[i] = 0;
    }
}

static void kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            (void)waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

static void print_logs(void)
{
    if (scratch == NULL)
        return;
    GDir *d = g_dir_open(scratch, 0, NULL);
    const char *n;
    while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(n, ".log"))
            continue;
        char *p = g_build_filename(scratch, n, NULL);
        size_t len = 0;
        char *text = e2e_read_file(p, &len);
        /* the tail is what matters */
        const char *from = text != NULL && len > 6000 ? text + len - 6000 : text;
        fprintf(stderr, "---- %s (last 6000 bytes) ----\n%s\n", n, from != NULL ? from : "");
        g_free(text);
        g_free(p);
    }
    if (d != NULL)
        g_dir_close(d);
}

static void remove_tree(const char *path)
{
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    (void)g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                       NULL, NULL, NULL, NULL, NULL);
}

void e2e_fail(void)
{
    kill_children();
    print_logs();
    fprintf(stderr, "(scratch directory kept: %s)\n", scratch != NULL ? scratch : "-");
    exit(1);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "FAIL: the test ran past its deadline\n";
    if (write(2, m, sizeof(m) - 1) < 0) {
        /* nothing more to do */
    }
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0)
            kill(children[i], SIGKILL);
    }
    _exit(1);
}

static void cleanup_at_exit(void)
{
    kill_children();
}

void e2e_init(e2e_args *a, int argc, char **argv, unsigned deadline_s)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--enkrypt") == 0)
            a->enkrypt = argv[i + 1];
        else if (strcmp(argv[i], "--broker") == 0)
            a->broker = argv[i + 1];
        else if (strcmp(argv[i], "--netcat") == 0)
            a->netcat = argv[i + 1];
        else if (strcmp(argv[i], "--tcpdump") == 0)
            a->tcpdump = argv[i + 1][0] ? argv[i + 1] : NULL;
        else if (strcmp(argv[i], "--lsan-supp") == 0)
            a->lsan_supp = argv[i + 1];
        else if (strcmp(argv[i], "--messages") == 0)
            a->messages = atoi(argv[i + 1]);
    }
    if (a->messages <= 0 || a->messages > 9999)
        a->messages = 1000;
    if (a->enkrypt == NULL || a->broker == NULL) {
        fprintf(stderr,
                "usage: %s MODE --enkrypt PATH --broker PATH [--netcat PATH] "
                "[--tcpdump PATH]\n",
                argv[0]);
        exit(2);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(deadline_s);
    atexit(cleanup_at_exit);
    char tmpl[] = "/tmp/enkrypt-e2e-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (d == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    scratch = g_strdup(d);
    char *cfg = g_build_filename(scratch, "config", NULL);
    char *data = g_build_filename(scratch, "data", NULL);
    g_setenv("XDG_CONFIG_HOME", cfg, TRUE);
    g_setenv("XDG_DATA_HOME", data, TRUE);
    g_setenv("XDG_RUNTIME_DIR", scratch, TRUE);
    /* Cheap Argon2id for test vaults (the vault's parameters, not its
     * design, are what this changes). */
    g_setenv("ENKRYPT_ARGON2_M_KIB", "64", TRUE);
    g_setenv("ENKRYPT_ARGON2_T", "1", TRUE);
    g_unsetenv("ENKRYPT_PASSPHRASE");
    g_free(cfg);
    g_free(data);
}

const char *e2e_dir(void)
{
    return scratch;
}

int64_t e2e_now_us(void)
{
    return g_get_monotonic_time();
}

/* ---- processes ---- */

/* A pipe holding text; returns its read end (close-on-exec: e2e_spawn
 * keeps it open in the child as extra_fd), which the caller closes after
 * spawning. */
static int text_fd(const char *text)
{
    int fds[2];
    E2E_CHECK(pipe2(fds, O_CLOEXEC) == 0, "pipe");
    size_t len = strlen(text);
    E2E_CHECK(write(fds[1], text, len) == (ssize_t)len, "write");
    close(fds[1]);
    return fds[0];
}

int e2e_spawn(e2e_proc *p, const char *const *argv, const char *const *env, const char *log,
              int extra_fd)
{
    memset(p, 0, sizeof(*p));
    p->log = g_strdup(log);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (extra_fd >= 0)
            (void)fcntl(extra_fd, F_SETFD, 0); /* keep it across exec */
        for (const char *const *e = env; e != NULL && *e != NULL; e++)
            putenv((char *)*e);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd);
    p->pid = pid;
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            break;
        }
    }
    return 0;
}

int e2e_wait(e2e_proc *p, unsigned timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    int64_t until = e2e_now_us() + (int64_t)timeout_ms * 1000;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            forget_child(p->pid);
            p->pid = 0;
            return st;
        }
        if (e2e_now_us() > until)
            return -1;
        g_usleep(5000);
    }
}

void e2e_kill9(e2e_proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    (void)waitpid(p->pid, NULL, 0);
    forget_child(p->pid);
    p->pid = 0;
}

int e2e_stop(e2e_proc *p, unsigned timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    int st = e2e_wait(p, timeout_ms);
    if (st == -1)
        e2e_kill9(p);
    g_free(p->log);
    p->log = NULL;
    return st;
}

int e2e_run(const char *const *argv, const char *const *env, char **out, unsigned timeout_ms)
{
    static int n;
    char *log = g_strdup_printf("%s/run-%d.out", scratch, n++);
    e2e_proc p;
    if (e2e_spawn(&p, argv, env, log, -1) != 0) {
        g_free(log);
        return -1;
    }
    int st = e2e_wait(&p, timeout_ms);
    if (st == -1)
        e2e_kill9(&p);
    if (out != NULL) {
        size_t len = 0;
        *out = e2e_read_file(log, &len);
        if (*out == NULL)
            *out = g_strdup("");
    }
    g_free(p.log);
    g_free(log);
    return st;
}

char *e2e_read_file(const char *path, size_t *len)
{
    char *text = NULL;
    gsize n = 0;
    if (!g_file_get_contents(path, &text, &n, NULL))
        return NULL;
    if (len != NULL)
        *len = n;
    return text;
}

int e2e_free_port(void)
{
    for (int tries = 0; tries < 50; tries++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(a);
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            getsockname(s, (struct sockaddr *)&a, &len) != 0) {
            close(s);
            continue;
        }
        close(s);
        int port = ntohs(a.sin_port);
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        a.sin_port = htons((uint16_t)port);
        int ok = bind(u, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(u);
        if (ok)
            return port;
    }
    return -1;
}

int e2e_start_broker(e2e_proc *p, const e2e_args *a, int port, int *port_out)
{
    if (port == 0)
        port = e2e_free_port();
    char port_s[16];
    g_snprintf(port_s, sizeof(port_s), "%d", port);
    char *log = g_strdup_printf("%s/broker-%s.log", scratch, port_s);
    const char *argv[] = {a->broker, "--host", "127.0.0.1", "--port", port_s, NULL};
    int rc = e2e_spawn(p, argv, NULL, log, -1);
    int64_t until = e2e_now_us() + 10 * G_USEC_PER_SEC;
    int up = 0;
    while (rc == 0 && !up && e2e_now_us() < until) {
        char *text = e2e_read_file(log, NULL);
        up = text != NULL && strstr(text, "listening") != NULL;
        g_free(text);
        if (!up)
            g_usleep(10000);
    }
    g_free(log);
    if (port_out != NULL)
        *port_out = port;
    return up ? 0 : -1;
}

/* ---- JSON-RPC client ---- */

int e2e_rpc_connect(e2e_rpc *c, const char *path, const char *name, unsigned timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->name = g_strdup(name);
    c->buf = g_string_new(NULL);
    g_queue_init(&c->notes);
    c->next_id = 1;
    int64_t until = e2e_now_us() + (int64_t)timeout_ms * 1000;
    while (e2e_now_us() < until) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a;
        memset(&a, 0, sizeof(a));
        a.sun_family = AF_UNIX;
        g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
            c->fd = fd;
            return 0;
        }
        close(fd);
        g_usleep(10000);
    }
    e2e_rpc_close(c);
    return -1;
}

void e2e_rpc_close(e2e_rpc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->buf != NULL)
        g_string_free(c->buf, TRUE);
    c->buf = NULL;
    g_queue_clear_full(&c->notes, (GDestroyNotify)json_decref);
    g_free(c->name);
    c->name = NULL;
}

static void send_line(e2e_rpc *c, const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = write(c->fd, s + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        E2E_CHECK(n > 0, "%s: cannot write to the RPC socket: %s", c->name, strerror(errno));
        off += (size_t)n;
    }
}

void e2e_rpc_send_raw(e2e_rpc *c, const char *line)
{
    send_line(c, line);
    send_line(c, "\n");
}

int e2e_rpc_send(e2e_rpc *c, const char *method, json_t *params)
{
    int id = c->next_id++;
    json_t *r = json_pack("{s:s,s:i,s:s}", "jsonrpc", "2.0", "id", id, "method", method);
    if (params != NULL)
        json_object_set_new(r, "params", params);
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    e2e_rpc_send_raw(c, s);
    free(s);
    return id;
}

int e2e_rpc_fill(e2e_rpc *c, unsigned timeout_ms)
{
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int)timeout_ms);
    if (r <= 0)
        return 0;
    char buf[65536];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    if (n <= 0)
        return -1;
    g_string_append_len(c->buf, buf, n);
    return 0;
}

json_t *e2e_rpc_next(e2e_rpc *c)
{
    char *nl = memchr(c->buf->str, '\n', c->buf->len);
    if (nl == NULL)
        return NULL;
    size_t len = (size_t)(nl - c->buf->str);
    json_error_t e;
    json_t *m = json_loadb(c->buf->str, len, 0, &e);
    E2E_CHECK(m != NULL, "%s sent a line that is not JSON: %.*s", c->name, (int)len, c->buf->str);
    g_string_erase(c->buf, 0, (gssize)len + 1);
    return m;
}

json_t *e2e_rpc_call(e2e_rpc *c, const char *method, json_t *params, unsigned timeout_ms)
{
    int id = e2e_rpc_send(c, method, params);
    int64_t until = e2e_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        json_t *m;
        while ((m = e2e_rpc_next(c)) != NULL) {
            json_t *mid = json_object_get(m, "id");
            if (json_is_integer(mid) && json_integer_value(mid) == id)
                return m;
            if (json_object_get(m, "method") != NULL)
                g_queue_push_tail(&c->notes, m);
            else
                json_decref(m);
        }
        int64_t left = (until - e2e_now_us()) / 1000;
        E2E_CHECK(left > 0, "%s: no answer to %s within %u ms", c->name, method, timeout_ms);
        E2E_CHECK(e2e_rpc_fill(c, (unsigned)left) == 0, "%s: the RPC socket closed during %s",
                  c->name, method);
    }
}

json_t *e2e_rpc_ok(e2e_rpc *c, const char *method, json_t *params)
{
    json_t *r = e2e_rpc_call(c, method, params, 20000);
    json_t *err = json_object_get(r, "error");
    if (err != NULL) {
        char *s = json_dumps(err, JSON_COMPACT);
        E2E_CHECK(err == NULL, "%s: %s failed: %s", c->name, method, s);
    }
    json_t *res = json_incref(json_object_get(r, "result"));
    json_decref(r);
    return res;
}

char *e2e_rpc_err(e2e_rpc *c, const char *method, json_t *params, char **message)
{
    json_t *r = e2e_rpc_call(c, method, params, 20000);
    json_t *err = json_object_get(r, "error");
    E2E_CHECK(err != NULL, "%s: %s succeeded but should have failed", c->name, method);
    const char *name = json_string_value(json_object_get(json_object_get(err, "data"), "name"));
    char *out = name != NULL ? g_strdup(name)
                             : g_strdup_printf("%" JSON_INTEGER_FORMAT,
                                               json_integer_value(json_object_get(err, "code")));
    if (message != NULL)
        *message = g_strdup(json_string_value(json_object_get(err, "message")));
    json_decref(r);
    return out;
}

static int note_matches(json_t *m, const char *method, const char *key, const char *val)
{
    const char *mm = json_string_value(json_object_get(m, "method"));
    if (mm == NULL || strcmp(mm, method) != 0)
        return 0;
    if (key == NULL)
        return 1;
    const char *v = json_string_value(json_object_get(json_object_get(m, "params"), key));
    return v != NULL && strcmp(v, val) == 0;
}

json_t *e2e_rpc_wait(e2e_rpc *c, const char *method, const char *key, const char *val,
                     unsigned timeout_ms)
{
    for (GList *l = c->notes.head; l != NULL; l = l->next) {
        if (note_matches(l->data, method, key, val)) {
            json_t *m = l->data;
            g_queue_delete_link(&c->notes, l);
            return m;
        }
    }
    int64_t until = e2e_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        json_t *m;
        while ((m = e2e_rpc_next(c)) != NULL) {
            if (note_matches(m, method, key, val))
                return m;
            if (json_object_get(m, "method") != NULL)
                g_queue_push_tail(&c->notes, m);
            else
                json_decref(m);
        }
        int64_t left = (until - e2e_now_us()) / 1000;
        if (left <= 0 || e2e_rpc_fill(c, (unsigned)left) != 0)
            return NULL;
    }
}

void e2e_rpc_clear(e2e_rpc *c)
{
    g_queue_clear_full(&c->notes, (GDestroyNotify)json_decref);
    g_queue_init(&c->notes);
}

/* ---- daemons ---- */

static const char test_config[] = "[network]\n"
                                  "%s\n"
                                  "embedded_broker_port=%d\n"
                                  "local_addresses=127.0.0.1\n"
                                  "ping_interval_ms=500\n"
                                  "ping_timeout_ms=2500\n"
                                  "open_timeout_ms=10000\n"
                                  "reconnect_min_ms=200\n"
                                  "reconnect_max_ms=1000\n";

void e2e_daemon_init(e2e_daemon *d, const e2e_args *a, const char *profile, const char *broker_url,
                     int embedded_port)
{
    memset(d, 0, sizeof(*d));
    d->args = a;
    d->profile = g_strdup(profile);
    d->pass = g_strdup_printf("pass of %s", profile);
    d->sock = g_strdup_printf("%s/%s.sock", scratch, profile);
    d->rpc.fd = -1;
    /* The passphrase arrives on a pipe (--passphrase-fd). */
    char *line = g_strdup_printf("%s\n", d->pass);
    int fd = text_fd(line);
    g_free(line);
    char fd_s[16];
    g_snprintf(fd_s, sizeof(fd_s), "%d", fd);
    const char *argv[] = {a->enkrypt, "--profile", profile, "--passphrase-fd", fd_s, "init", NULL};
    char *log = g_strdup_printf("%s/init-%s.out", scratch, profile);
    e2e_proc p;
    E2E_CHECK(e2e_spawn(&p, argv, NULL, log, fd) == 0, "spawn init");
    close(fd);
    int st = e2e_wait(&p, 30000);
    char *out = e2e_read_file(log, NULL);
    E2E_CHECK(st == 0, "enkrypt init %s exited with %d: %s", profile, st, out);
    char *idl = strstr(out, "Your peer ID: ");
    E2E_CHECK(idl != NULL, "no peer ID in: %s", out);
    d->peer_id = g_strndup(idl + 14, 26);
    E2E_CHECK(strstr(out, "RECOVERY CODE") != NULL, "no recovery code shown: %s", out);
    g_free(out);
    g_free(log);
    g_free(p.log);
    d->config = g_strdup_printf("%s/config/enkrypt/%s/config", scratch, profile);
    d->vault = g_strdup_printf("%s/data/enkrypt/%s/vault.db", scratch, profile);
    char *broker_line = broker_url != NULL ? g_strdup_printf("broker=%s", broker_url)
                                           : g_strdup("# no broker: the embedded one");
    char *cfg = g_strdup_printf(test_config, broker_line, embedded_port > 0 ? embedded_port : 9000);
    E2E_CHECK(g_file_set_contents(d->config, cfg, -1, NULL), "write %s", d->config);
    g_free(cfg);
    g_free(broker_line);
}

static void spawn_daemon(e2e_daemon *d, const char *pass)
{
    char *line = g_strdup_printf("%s\n", pass);
    int fd = text_fd(line);
    g_free(line);
    char fd_s[16];
    g_snprintf(fd_s, sizeof(fd_s), "%d", fd);
    const char *argv[] = {d->args->enkrypt,  "--profile", d->profile,
                          "--passphrase-fd", fd_s,        "daemon",
                          "--rpc",           d->sock,     NULL};
    char *log = g_strdup_printf("%s/%s.log", scratch, d->profile);
    char *lsan = d->args->lsan_supp != NULL
                     ? g_strdup_printf("LSAN_OPTIONS=suppressions=%s:print_suppressions=0",
                                       d->args->lsan_supp)
                     : NULL;
    const char *env[] = {"G_MESSAGES_DEBUG=", lsan, NULL};
    g_free(d->proc.log);
    E2E_CHECK(e2e_spawn(&d->proc, argv, env, log, fd) == 0, "spawn daemon");
    close(fd);
    g_free(log);
    g_free(lsan);
}

void e2e_daemon_start(e2e_daemon *d)
{
    spawn_daemon(d, d->pass);
    d->starts++;
    if (d->rpc.buf != NULL)
        e2e_rpc_close(&d->rpc);
    /* A stale socket of a killed daemon may still be there: connect only
     * once the new process has replaced it (it answers status). */
    int64_t until = e2e_now_us() + 20 * G_USEC_PER_SEC;
    for (;;) {
        E2E_CHECK(e2e_now_us() < until, "daemon %s did not open its RPC socket", d->profile);
        int st = 0;
        E2E_CHECK(waitpid(d->proc.pid, &st, WNOHANG) == 0, "daemon %s exited early (%d)",
                  d->profile, st);
        if (e2e_rpc_connect(&d->rpc, d->sock, d->profile, 200) == 0) {
            e2e_rpc_send(&d->rpc, "status", NULL);
            int ok = 0;
            for (int i = 0; i < 50 && !ok; i++) {
                if (e2e_rpc_fill(&d->rpc, 100) != 0)
                    break;
                json_t *m;
                while ((m = e2e_rpc_next(&d->rpc)) != NULL) {
                    ok = ok || json_object_get(m, "result") != NULL;
                    if (json_object_get(m, "method") != NULL)
                        g_queue_push_tail(&d->rpc.notes, m);
                    else
                        json_decref(m);
                }
            }
            if (ok)
                return;
            e2e_rpc_close(&d->rpc);
        }
        g_usleep(20000);
    }
}

char *e2e_daemon_start_fail(e2e_daemon *d, const char *pass, int *status)
{
    char *log = g_strdup_printf("%s/%s.log", scratch, d->profile);
    size_t before = 0;
    g_free(e2e_read_file(log, &before));
    spawn_daemon(d, pass);
    int st = e2e_wait(&d->proc, 20000);
    E2E_CHECK(st != -1, "daemon %s did not exit", d->profile);
    if (status != NULL)
        *status = st;
    size_t len = 0;
    char *all = e2e_read_file(log, &len);
    g_free(log);
    /* only what this run wrote (the log is appended to) */
    char *out = g_strdup(all != NULL && len >= before ? all + before : "");
    g_free(all);
    return out;
}

void e2e_daemon_shutdown(e2e_daemon *d)
{
    json_t *r = e2e_rpc_ok(&d->rpc, "shutdown", NULL);
    json_decref(r);
    int st = e2e_wait(&d->proc, 15000);
    E2E_CHECK(st != -1, "daemon %s did not stop after shutdown", d->profile);
    E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon %s exit status %d (%s)", d->profile,
              st, WIFEXITED(st) ? "exit" : "signal");
    e2e_rpc_close(&d->rpc);
}

void e2e_daemon_kill9(e2e_daemon *d)
{
    e2e_kill9(&d->proc);
    e2e_rpc_close(&d->rpc);
}

void e2e_daemon_free(e2e_daemon *d)
{
    if (d->proc.pid > 0)
        e2e_kill9(&d->proc);
    if (d->rpc.buf != NULL)
        e2e_rpc_close(&d->rpc);
    g_free(d->profile);
    g_free(d->peer_id);
    g_free(d->sock);
    g_free(d->config);
    g_free(d->vault);
    g_free(d->pass);
    g_free(d->proc.log);
    memset(d, 0, sizeof(*d));
}

double e2e_connect_pair(e2e_daemon *a, e2e_daemon *b)
{
    json_decref(e2e_rpc_ok(&b->rpc, "setSettings", json_pack("{s:s}", "accept", "all")));
    int64_t t0 = e2e_now_us();
    json_decref(e2e_rpc_ok(&a->rpc, "connect", json_pack("{s:s}", "peer", b->peer_id)));
    json_t *ra = NULL;
    for (;;) {
        ra = e2e_rpc_wait(&a->rpc, "peerState", "peer", b->peer_id, 30000);
        E2E_CHECK(ra != NULL, "%s never became ready with %s", a->profile, b->profile);
        const char *st = json_string_value(json_object_get(json_object_get(ra, "params"), "state"));
        if (strcmp(st, "ready") == 0)
            break;
        json_decref(ra);
    }
    double ms = (double)(e2e_now_us() - t0) / 1000.0;
    json_decref(ra);
    for (;;) {
        json_t *rb = e2e_rpc_wait(&b->rpc, "peerState", "peer", a->peer_id, 30000);
        E2E_CHECK(rb != NULL, "%s never became ready with %s", b->profile, a->profile);
        const char *st = json_string_value(json_object_get(json_object_get(rb, "params"), "state"));
        int ready = strcmp(st, "ready") == 0;
        json_decref(rb);
        if (ready)
            break;
    }
    return ms;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

double e2e_percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

void e2e_cleanup_scratch(void)
{
    if (scratch != NULL && g_getenv("E2E_KEEP") == NULL)
        remove_tree(scratch);
}
