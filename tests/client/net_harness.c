/*
 * net_harness.c: servers, ports, main-loop helpers and process figures for
 * the client/net network tests (see net_harness.h). Every server listens
 * on 127.0.0.1 only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "net_harness.h"

void nh_parse_args(nh_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->server = "peerjs";
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--server") == 0)
            a->server = v;
        else if (strcmp(k, "--broker") == 0)
            a->broker = v;
        else if (strcmp(k, "--node") == 0)
            a->node = v;
        else if (strcmp(k, "--node-dir") == 0)
            a->node_dir = v;
        else if (strcmp(k, "--turnserver") == 0)
            a->turnserver = v;
        else if (strcmp(k, "--netcat") == 0)
            a->netcat = v;
        else
            fprintf(stderr, "net_harness: unknown argument %s\n", k);
    }
}

static void child_setup(gpointer data)
{
    (void)data;
    /* Die with the test, whatever happens to it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    setpgid(0, 0);
}

/* Start argv with stdout and stderr in dir/log; dir becomes p->dir. */
static int spawn_in(nh_proc *p, char *dir, const char *const *argv)
{
    GError *err = NULL;
    p->dir = dir;
    if (p->log_path == NULL)
        p->log_path = g_build_filename(p->dir, "log", NULL);
    char *out = g_build_filename(p->dir, "log", NULL);
    int fd = g_open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    g_free(out);
    if (fd < 0)
        return -1;
    int ok = g_spawn_async_with_fds(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                    child_setup, NULL, &p->pid, -1, fd, fd, &err);
    close(fd);
    if (!ok) {
        fprintf(stderr, "net_harness: cannot start %s: %s\n", argv[0], err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

static char *scratch_dir(void)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("ek-net-test-XXXXXX", &err);
    if (dir == NULL) {
        fprintf(stderr, "net_harness: no scratch dir: %s\n", err->message);
        g_error_free(err);
    }
    return dir;
}

int nh_spawn(nh_proc *p, const char *const *argv)
{
    memset(p, 0, sizeof *p);
    char *dir = scratch_dir();
    return dir != NULL ? spawn_in(p, dir, argv) : -1;
}

char *nh_read_log(const nh_proc *p)
{
    char *text = NULL;
    if (p->log_path == NULL || !g_file_get_contents(p->log_path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

/* Wait for "listening on http://127.0.0.1:PORT/" in the child's log. */
static int wait_port(nh_proc *p, const char *what, unsigned timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (g_get_monotonic_time() < end) {
        char *log = nh_read_log(p);
        const char *m = strstr(log, "listening on http://127.0.0.1:");
        if (m != NULL) {
            p->port = atoi(m + strlen("listening on http://127.0.0.1:"));
            g_free(log);
            return p->port > 0 ? 0 : -1;
        }
        g_free(log);
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            char *l = nh_read_log(p);
            fprintf(stderr, "net_harness: %s exited before listening:\n%s\n", what, l);
            g_free(l);
            p->pid = 0;
            return -1;
        }
        g_usleep(20000);
    }
    fprintf(stderr, "net_harness: %s did not listen within %u ms\n", what, timeout_ms);
    return -1;
}

int nh_start_signaling(nh_proc *p, const nh_args *a, int port, int expire_ms, int alive_ms)
{
    char port_s[16], expire_s[16], alive_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(expire_s, sizeof expire_s, "%d", expire_ms);
    snprintf(alive_s, sizeof alive_s, "%d", alive_ms > 0 ? alive_ms : 60000);
    if (strcmp(a->server, "broker") == 0) {
        const char *argv[] = {a->broker, "--host",           "127.0.0.1", "--port",
                              port_s,    "--expire_timeout", expire_s,    "--alive_timeout",
                              alive_s,   "--log_level",      "warn",      NULL};
        if (nh_spawn(p, argv) != 0)
            return -1;
        return wait_port(p, "enkrypt-broker", 15000);
    }
    char *script = g_build_filename(a->node_dir, "peer_server.mjs", NULL);
    char *opts = g_strdup_printf("{\"port\":%d,\"expire_timeout\":%d,\"alive_timeout\":%s}", port,
                                 expire_ms, alive_s);
    const char *argv[] = {a->node, script, opts, NULL};
    int rc = nh_spawn(p, argv);
    g_free(script);
    g_free(opts);
    if (rc != 0)
        return -1;
    return wait_port(p, "peer@1.0.2", 20000);
}

int nh_start_coturn(nh_proc *p, const nh_args *a, const char *user, const char *pass,
                    int extra_verbose)
{
    /* coturn picks no free port by itself: take one, and retry if another
     * process grabs it between our check and coturn's bind. */
    for (int attempt = 0; attempt < 5; attempt++) {
        char *dir = scratch_dir();
        if (dir == NULL)
            return -1;
        int port = nh_free_port();
        int relay_lo = 20000 + (int)(g_random_int() % 20000);
        char *port_s = g_strdup_printf("--listening-port=%d", port);
        char *minp = g_strdup_printf("--min-port=%d", relay_lo);
        char *maxp = g_strdup_printf("--max-port=%d", relay_lo + 200);
        char *userarg = g_strdup_printf("--user=%s:%s", user, pass);
        char *db = g_strdup_printf("--userdb=%s/turndb", dir);
        char *log = g_strdup_printf("--log-file=%s/turn.log", dir);
        char *pid = g_strdup_printf("--pidfile=%s/turn.pid", dir);
        /* The command of webrtc-transport.md §5: loopback only, no TLS/DTLS,
         * no CLI, UDP relays on 127.0.0.1; --allow-loopback-peers because
         * both peers and relays are on 127.x; -n: no config file;
         * --simple-log: the log file keeps exactly this name. */
        const char *argv[] = {a->turnserver,
                              "-n",
                              "--listening-ip=127.0.0.1",
                              "--relay-ip=127.0.0.1",
                              port_s,
                              minp,
                              maxp,
                              "--lt-cred-mech",
                              userarg,
                              "--realm=enkrypt.test",
                              "--no-tls",
                              "--no-dtls",
                              "--no-cli",
                              "--fingerprint",
                              "--no-tcp-relay",
                              "--allow-loopback-peers",
                              "--no-multicast-peers",
                              db,
                              log,
                              "--simple-log",
                              pid,
                              extra_verbose ? "--Verbose" : "--verbose",
                              NULL};
        memset(p, 0, sizeof *p);
        p->log_path = g_strdup_printf("%s/turn.log", dir);
        int rc = spawn_in(p, dir, argv);
        g_free(port_s);
        g_free(minp);
        g_free(maxp);
        g_free(userarg);
        g_free(db);
        g_free(log);
        g_free(pid);
        if (rc != 0)
            return -1;
        p->port = port;
        /* Ready when it logs its listener; an early exit means the port was
         * taken after all. */
        gint64 end = g_get_monotonic_time() + (gint64)10 * G_USEC_PER_SEC;
        int exited = 0;
        while (g_get_monotonic_time() < end) {
            char *text = nh_read_log(p);
            int ready = strstr(text, "IPv4. UDP listener opened on") != NULL ||
                        strstr(text, "UDP listener opened on") != NULL;
            g_free(text);
            if (ready)
                return 0;
            int status;
            if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
                p->pid = 0;
                exited = 1;
                break;
            }
            g_usleep(20000);
        }
        nh_stop(p);
        if (!exited)
            return -1;
    }
    return -1;
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d != NULL) {
        const char *name;
        while ((name = g_dir_read_name(d)) != NULL) {
            char *path = g_build_filename(dir, name, NULL);
            g_unlink(path);
            g_free(path);
        }
        g_dir_close(d);
    }
    g_rmdir(dir);
}

void nh_signal(nh_proc *p, int sig)
{
    if (p->pid > 0)
        kill(p->pid, sig);
}

void nh_stop(nh_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGCONT);
        kill(p->pid, SIGTERM);
        int status = 0;
        gint64 end = g_get_monotonic_time() + (gint64)3 * G_USEC_PER_SEC;
        while (waitpid(p->pid, &status, WNOHANG) != p->pid) {
            if (g_get_monotonic_time() > end) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
                break;
            }
            g_usleep(10000);
        }
        p->status = WIFEXITED(status)     ? WEXITSTATUS(status)
                    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                          : -1;
        g_spawn_close_pid(p->pid);
        p->pid = 0;
    }
    if (p->dir != NULL) {
        remove_dir(p->dir);
        g_free(p->dir);
        p->dir = NULL;
    }
    g_free(p->log_path);
    p->log_path = NULL;
}

int nh_free_port(void)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        int t = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = 0;
        socklen_t len = sizeof sa;
        if (t < 0 || bind(t, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(t, (struct sockaddr *)&sa, &len) != 0) {
            if (t >= 0)
                close(t);
            continue;
        }
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        int ok = u >= 0 && bind(u, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(t);
        if (u >= 0)
            close(u);
        if (ok)
            return ntohs(sa.sin_port);
    }
    return -1;
}

static gboolean tick_cb(gpointer data)
{
    (void)data;
    return G_SOURCE_CONTINUE;
}

int nh_run_until(int (*cond)(void *), void *user, unsigned timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    GMainContext *ctx = g_main_context_default();
    /* Blocking iterations would sleep past the deadline when nothing
     * happens; one repeating 20 ms source keeps the loop turning (one for
     * the whole wait: the benchmark runs this loop for every event). */
    GSource *tick = g_timeout_source_new(20);
    g_source_set_callback(tick, tick_cb, NULL, NULL);
    g_source_attach(tick, ctx);
    int ok = 1;
    while (!cond(user)) {
        if (g_get_monotonic_time() >= end) {
            ok = cond(user);
            break;
        }
        g_main_context_iteration(ctx, TRUE);
    }
    g_source_destroy(tick);
    g_source_unref(tick);
    return ok;
}

static int never(void *user)
{
    (void)user;
    return 0;
}

void nh_run_for(unsigned ms)
{
    nh_run_until(never, NULL, ms);
}

static long status_field(const char *name)
{
    char *text = NULL;
    long v = -1;
    if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
        return -1;
    const char *m = strstr(text, name);
    if (m != NULL)
        v = strtol(m + strlen(name), NULL, 10);
    g_free(text);
    return v;
}

unsigned nh_threads(void)
{
    return (unsigned)status_field("Threads:");
}

size_t nh_rss_kb(void)
{
    return (size_t)status_field("VmRSS:");
}
