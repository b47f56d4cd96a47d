/*
 * broker_spawn.c: the embedded broker. When the config names no broker,
 * enkrypt uses ws://127.0.0.1:PORT/ (embedded_broker_port, 9000 by
 * default): if something already listens there (another profile's
 * embedded broker) it is used; otherwise we start enkrypt-broker on
 * 127.0.0.1 as our child. The child dies with us (PR_SET_PDEATHSIG), and
 * when the broker we used goes away, core.c calls app_broker_ensure again
 * so one of the remaining profiles takes over.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "core_internal.h"

#ifndef EK_BROKER_BUILD_PATH
#define EK_BROKER_BUILD_PATH ""
#endif

static gboolean port_listens(int port)
{
    GSocketClient *c = g_socket_client_new();
    g_socket_client_set_timeout(c, 2);
    GSocketConnection *conn =
        g_socket_client_connect_to_host(c, "127.0.0.1", (guint16)port, NULL, NULL);
    gboolean ok = conn != NULL;
    if (conn != NULL) {
        (void)g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
        g_object_unref(conn);
    }
    g_object_unref(c);
    return ok;
}

static char *find_broker(const char *given)
{
    if (given != NULL)
        return g_file_test(given, G_FILE_TEST_IS_EXECUTABLE) ? g_strdup(given) : NULL;
    char *self = g_file_read_link("/proc/self/exe", NULL);
    if (self != NULL) {
        char *dir = g_path_get_dirname(self);
        /* installed side by side; or the build tree: client/app/ and broker/ */
        char *cands[] = {g_build_filename(dir, "enkrypt-broker", NULL),
                         g_build_filename(dir, "..", "..", "broker", "enkrypt-broker", NULL)};
        char *found = NULL;
        for (size_t i = 0; i < G_N_ELEMENTS(cands); i++) {
            if (found == NULL && g_file_test(cands[i], G_FILE_TEST_IS_EXECUTABLE))
                found = g_strdup(cands[i]);
            g_free(cands[i]);
        }
        g_free(dir);
        g_free(self);
        if (found != NULL)
            return found;
    }
    if (EK_BROKER_BUILD_PATH[0] && g_file_test(EK_BROKER_BUILD_PATH, G_FILE_TEST_IS_EXECUTABLE))
        return g_strdup(EK_BROKER_BUILD_PATH);
    return g_find_program_in_path("enkrypt-broker");
}

static void child_setup(gpointer user)
{
    (void)user;
    (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static void broker_exited(GPid pid, gint status, gpointer user)
{
    ek_app *app = user;
    g_spawn_close_pid(pid);
    if (app->broker_pid == pid) {
        g_message("the embedded broker (pid %d) exited with status %d", (int)pid, status);
        app->broker_pid = 0;
        app->broker_watch = 0;
    }
}

/* Keep the child's stdout drained (it prints one line, but never block it). */
static gboolean drain_stdout(gint fd, GIOCondition cond, gpointer user)
{
    (void)user;
    char buf[512];
    if ((cond & G_IO_IN) != 0 && read(fd, buf, sizeof(buf)) > 0)
        return G_SOURCE_CONTINUE;
    close(fd);
    return G_SOURCE_REMOVE;
}

/* Wait up to timeout_ms for the "listening" line. */
static gboolean wait_listening(int fd, GPid pid, unsigned timeout_ms)
{
    GString *out = g_string_new(NULL);
    int64_t until = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    gboolean ok = FALSE;
    while (!ok && g_get_monotonic_time() < until) {
        GPollFD pfd = {fd, G_IO_IN | G_IO_HUP, 0};
        int64_t left = (until - g_get_monotonic_time()) / 1000;
        if (g_poll(&pfd, 1, (gint)(left > 0 ? left : 0)) <= 0)
            break;
        char buf[256];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        g_string_append_len(out, buf, n);
        ok = strstr(out->str, "listening") != NULL;
    }
    if (!ok) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == 0)
            kill(pid, SIGTERM);
    }
    g_string_free(out, TRUE);
    return ok;
}

gboolean app_broker_ensure(ek_app *app, GError **err)
{
    int port = app->cfg.embedded_port;
    app->embedded = 1;
    if (app->broker_url == NULL)
        app->broker_url = g_strdup_printf("ws://127.0.0.1:%d/", port);
    if (app->broker_pid != 0)
        return TRUE;
    if (port_listens(port)) {
        g_message("using the broker already listening on 127.0.0.1:%d", port);
        return TRUE;
    }
    char *exe = find_broker(app->broker_exe);
    if (exe == NULL) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG,
                    "no broker is configured and enkrypt-broker was not found (next to enkrypt, "
                    "in the build tree or on PATH): set [network] broker in %s",
                    app->paths.config_file);
        return FALSE;
    }
    char port_s[16];
    g_snprintf(port_s, sizeof(port_s), "%d", port);
    char *argv[] = {exe, "--host", "127.0.0.1", "--port", port_s, NULL};
    char *log_path = g_build_filename(app->paths.data_dir, "broker.log", NULL);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    GError *e = NULL;
    GPid pid = 0;
    int out_fd = -1;
    gboolean ok = g_spawn_async_with_pipes_and_fds(
        NULL, (const char *const *)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL, -1, -1,
        log_fd, NULL, NULL, 0, &pid, NULL, &out_fd, NULL, &e);
    if (log_fd >= 0)
        close(log_fd);
    if (!ok) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_CONFIG, "cannot start %s: %s", exe, e->message);
        g_clear_error(&e);
        g_free(exe);
        g_free(log_path);
        return FALSE;
    }
    if (!wait_listening(out_fd, pid, 10000)) {
        close(out_fd);
        (void)waitpid(pid, NULL, 0);
        g_spawn_close_pid(pid);
        if (port_listens(port)) {
            /* Another profile started its broker at the same moment. */
            g_message("using the broker another enkrypt started on 127.0.0.1:%d", port);
            g_free(exe);
            g_free(log_path);
            return TRUE;
        }
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_BROKER_UNREACHABLE,
                    "the embedded broker (%s) did not start on 127.0.0.1:%d; see %s", exe, port,
                    log_path);
        g_free(exe);
        g_free(log_path);
        return FALSE;
    }
    g_unix_fd_add(out_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, drain_stdout, NULL);
    app->broker_pid = pid;
    app->broker_watch = g_child_watch_add(pid, broker_exited, app);
    g_message("started the embedded broker %s on 127.0.0.1:%d (pid %d, log %s)", exe, port,
              (int)pid, log_path);
    g_free(exe);
    g_free(log_path);
    return TRUE;
}

void app_broker_stop(ek_app *app)
{
    if (app->broker_pid == 0)
        return;
    GPid pid = app->broker_pid;
    app->broker_pid = 0;
    if (app->broker_watch != 0) {
        g_source_remove(app->broker_watch);
        app->broker_watch = 0;
    }
    kill(pid, SIGTERM);
    int64_t until = g_get_monotonic_time() + (int64_t)3 * G_USEC_PER_SEC;
    int st = 0;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (g_get_monotonic_time() > until) {
            kill(pid, SIGKILL);
            (void)waitpid(pid, &st, 0);
            break;
        }
        g_usleep(10000);
    }
    g_spawn_close_pid(pid);
}
