/*
 * main.c: the `enkrypt` command.
 *
 *   enkrypt [--profile NAME] init [--broker URL]       create the identity and the vault
 *   enkrypt [--profile NAME] daemon --rpc PATH         JSON-RPC 2.0 daemon (docs/rpc.md)
 *   enkrypt [--profile NAME] id                        print our peer ID
 *   enkrypt [--profile NAME] passwd                    change the passphrase
 *   enkrypt [--profile NAME] rpc METHOD [k=v|k:=json]  one request to the running daemon
 *   enkrypt [--profile NAME] rpc --follow              print its notifications
 *   enkrypt [--profile NAME]                           the terminal UI (see run_ui)
 *
 * Common options: --passphrase-fd N (read the passphrase from fd N),
 * --recovery (unlock with the recovery code instead; read the same way),
 * --broker URL (override the config for this run). ENKRYPT_PASSPHRASE is
 * read when no fd is given and there is no terminal to ask.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <jansson.h>

#include "core.h"
#include "passphrase.h"
#include "rpc.h"
#include "tui.h"

typedef struct cli {
    const char *profile;
    int pass_fd;
    int recovery;
    const char *broker;
    const char *rpc_path;
    const char *command;
    int follow;
    char **rest; /* arguments after the command (rpc) */
    int n_rest;
} cli;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: enkrypt [--profile NAME] [--passphrase-fd N] [--recovery] [--broker URL]\n"
            "               [COMMAND]\n"
            "commands:\n"
            "  init [--broker URL]   create the profile: identity, vault, config\n"
            "  daemon --rpc PATH     run the JSON-RPC 2.0 daemon on a Unix socket (docs/rpc.md)\n"
            "  id                    print this profile's peer ID\n"
            "  passwd                change the vault's passphrase\n"
            "  rpc METHOD [k=v ...]  send one request to the running daemon (--rpc PATH, default\n"
            "                        the profile's socket); k:=JSON for non-strings; --follow\n"
            "                        prints its notifications until interrupted\n"
            "  (none)                the terminal UI\n"
            "The passphrase is asked on the terminal (no echo), or read from --passphrase-fd N,\n"
            "or from ENKRYPT_PASSPHRASE. Files: $XDG_CONFIG_HOME/enkrypt/NAME/config and\n"
            "$XDG_DATA_HOME/enkrypt/NAME/vault.db (NAME: default).\n");
}

static int die(GError *err)
{
    fprintf(stderr, "enkrypt: %s\n", err != NULL ? err->message : "failed");
    int code =
        err != NULL && err->domain == EK_APP_ERROR && err->code == EK_APP_ERR_INVALID_ARG ? 2 : 1;
    g_clear_error(&err);
    return code;
}

static int parse_args(cli *c, int argc, char **argv)
{
    memset(c, 0, sizeof(*c));
    c->pass_fd = -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a == NULL)
            break;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--profile") == 0 && v != NULL) {
            c->profile = v;
            i++;
        } else if (strcmp(a, "--passphrase-fd") == 0 && v != NULL) {
            char *end = NULL;
            long fd = strtol(v, &end, 10);
            if (end == v || *end != 0 || fd < 0 || fd > 65535) {
                fprintf(stderr, "enkrypt: --passphrase-fd takes a file descriptor number\n");
                return -1;
            }
            c->pass_fd = (int)fd;
            i++;
        } else if (strcmp(a, "--recovery") == 0) {
            c->recovery = 1;
        } else if (strcmp(a, "--broker") == 0 && v != NULL) {
            c->broker = v;
            i++;
        } else if (strcmp(a, "--rpc") == 0 && v != NULL) {
            c->rpc_path = v;
            i++;
        } else if (strcmp(a, "--follow") == 0) {
            c->follow = 1;
        } else if (c->command != NULL && strcmp(c->command, "rpc") == 0) {
            c->rest = argv + i; /* METHOD and its parameters */
            c->n_rest = argc - i;
            break;
        } else if (a[0] == '-') {
            fprintf(stderr, "enkrypt: unknown or incomplete option %s\n", a);
            return -1;
        } else if (c->command == NULL) {
            c->command = a;
        } else {
            fprintf(stderr, "enkrypt: unexpected argument %s\n", a);
            return -1;
        }
    }
    return 0;
}

/* ---- init ---- */

/* keep_pass: the passphrase chosen, for opening the new profile at once
 * (run_ui) instead of asking again. */
static int init_profile(const cli *c, char **keep_pass)
{
    GError *err = NULL;
    ek_app_paths paths;
    if (!ek_app_paths_get(&paths, c->profile, &err))
        return die(err);
    if (g_file_test(paths.vault_file, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "enkrypt: profile \"%s\" already exists (%s); nothing was changed\n",
                paths.profile, paths.vault_file);
        ek_app_paths_clear(&paths);
        return 1;
    }
    printf("Creating profile \"%s\".\n", paths.profile);
    (void)fflush(stdout);
    char *pass = ek_app_passphrase_read(c->pass_fd, "ENKRYPT_PASSPHRASE",
                                        "Choose a passphrase for the vault: ", 1, &err);
    if (pass == NULL) {
        ek_app_paths_clear(&paths);
        return die(err);
    }
    ek_app_created made;
    gboolean ok = ek_app_profile_create(c->profile, pass, c->broker, &made, &err);
    if (ok && keep_pass != NULL)
        *keep_pass = pass;
    else
        ek_app_passphrase_free(pass);
    if (!ok) {
        ek_app_paths_clear(&paths);
        return die(err);
    }
    printf("Your peer ID: %s\n"
           "Give it to the people who should reach you.\n"
           "\n"
           "RECOVERY CODE (shown only this once; write it down and keep it safe,\n"
           "it opens your vault if you forget the passphrase):\n"
           "\n"
           "    %s\n"
           "\n"
           "Config: %s\nVault:  %s\n",
           made.peer_id, made.recovery_code, made.config_file, made.vault_file);
    ek_app_created_clear(&made);
    ek_app_paths_clear(&paths);
    return 0;
}

static int cmd_init(const cli *c)
{
    return init_profile(c, NULL);
}

/* ---- unlocking ---- */

/* Open the profile; known_pass (not NULL): the passphrase just chosen. */
static ek_app *unlock_with(const cli *c, const char *known_pass, GError **err)
{
    ek_app_paths paths;
    if (!ek_app_paths_get(&paths, c->profile, err))
        return NULL;
    if (!g_file_test(paths.vault_file, G_FILE_TEST_EXISTS)) {
        g_set_error(err, EK_APP_ERROR, EK_APP_ERR_NO_PROFILE,
                    "no profile \"%s\": create it with `enkrypt --profile %s init`", paths.profile,
                    paths.profile);
        ek_app_paths_clear(&paths);
        return NULL;
    }
    char *prompt = g_strdup_printf(
        c->recovery ? "Recovery code for \"%s\": " : "Passphrase for \"%s\": ", paths.profile);
    ek_app_paths_clear(&paths);
    char *secret = ek_app_passphrase_read(
        c->pass_fd, c->recovery ? "ENKRYPT_RECOVERY_CODE" : "ENKRYPT_PASSPHRASE", prompt, 0, err);
    g_free(prompt);
    if (secret == NULL)
        return NULL;
    ek_app_options o;
    ek_app_options_init(&o);
    o.profile = c->profile;
    if (c->recovery && known_pass == NULL)
        o.recovery_code = secret;
    else
        o.passphrase = secret;
    o.broker_url = c->broker;
    ek_app *app = ek_app_open(&o, err);
    ek_app_passphrase_free(secret);
    return app;
}

static ek_app *unlock(const cli *c, GError **err)
{
    return unlock_with(c, NULL, err);
}

/* ---- id, passwd ---- */

static int cmd_id(const cli *c)
{
    GError *err = NULL;
    ek_app *app = unlock(c, &err);
    if (app == NULL)
        return die(err);
    printf("%s\n", ek_app_self_id(app));
    ek_app_close(app);
    return 0;
}

static int cmd_passwd(const cli *c)
{
    GError *err = NULL;
    ek_app *app = unlock(c, &err);
    if (app == NULL)
        return die(err);
    char *pass = ek_app_passphrase_read(-1, "ENKRYPT_NEW_PASSPHRASE", "New passphrase: ", 1, &err);
    gboolean ok = pass != NULL && ek_app_change_passphrase(app, pass, &err);
    ek_app_passphrase_free(pass);
    ek_app_close(app);
    if (!ok)
        return die(err);
    printf("Passphrase changed.\n");
    return 0;
}

/* ---- daemon ---- */

typedef struct daemon_ctx {
    GMainLoop *loop;
    ek_rpc *rpc;
} daemon_ctx;

static void daemon_event(ek_app *app, const ek_app_event *ev, void *user)
{
    (void)app;
    daemon_ctx *d = user;
    switch (ev->type) {
    case EK_APP_EV_PEER_STATE:
        g_message("peer %s: %s%s%s", ev->peer, ek_app_peer_state_name(ev->peer_state),
                  ev->detail != NULL ? " - " : "", ev->detail != NULL ? ev->detail : "");
        break;
    case EK_APP_EV_NET_STATE:
        g_message("broker: %s%s%s", ek_app_net_state_name(ev->net_state),
                  ev->detail != NULL ? " - " : "", ev->detail != NULL ? ev->detail : "");
        break;
    case EK_APP_EV_CONTACT_REQUEST: g_message("contact request from %s", ev->peer); break;
    case EK_APP_EV_ERROR: g_warning("%s", ev->detail != NULL ? ev->detail : "error"); break;
    default: break;
    }
    if (d->rpc != NULL)
        ek_rpc_notify(d->rpc, ev);
}

static gboolean on_signal(gpointer user)
{
    daemon_ctx *d = user;
    g_main_loop_quit(d->loop);
    return G_SOURCE_CONTINUE;
}

static void on_shutdown(void *user)
{
    daemon_ctx *d = user;
    g_main_loop_quit(d->loop);
}

static char *default_rpc_path(const char *profile)
{
    const char *rt = g_getenv("XDG_RUNTIME_DIR");
    char *dir = rt != NULL && g_path_is_absolute(rt)
                    ? g_build_filename(rt, "enkrypt", NULL)
                    : g_strdup_printf("/tmp/enkrypt-%u", (unsigned)getuid());
    (void)g_mkdir_with_parents(dir, 0700);
    char *name = g_strdup_printf("%s.sock", profile != NULL ? profile : "default");
    char *p = g_build_filename(dir, name, NULL);
    g_free(name);
    g_free(dir);
    return p;
}

static int run_daemon(const cli *c, const char *rpc_path, const char *known_pass)
{
    GError *err = NULL;
    ek_app *app = unlock_with(c, known_pass, &err);
    if (app == NULL)
        return die(err);
    daemon_ctx d = {g_main_loop_new(NULL, FALSE), NULL};
    ek_app_set_event_callback(app, daemon_event, &d);
    d.rpc = ek_rpc_new(app, rpc_path, on_shutdown, &d, &err);
    if (d.rpc == NULL || !ek_app_start(app, &err)) {
        ek_rpc_free(d.rpc);
        ek_app_close(app);
        g_main_loop_unref(d.loop);
        return die(err);
    }
    printf("enkrypt daemon: profile %s, peer ID %s, broker %s%s, RPC on %s\n", ek_app_profile(app),
           ek_app_self_id(app), ek_app_broker_url(app),
           ek_app_broker_embedded(app) ? " (local)" : "", rpc_path);
    (void)fflush(stdout);
    guint s1 = g_unix_signal_add(SIGINT, on_signal, &d);
    guint s2 = g_unix_signal_add(SIGTERM, on_signal, &d);
    g_main_loop_run(d.loop);
    g_source_remove(s1);
    g_source_remove(s2);
    ek_rpc_free(d.rpc);
    d.rpc = NULL;
    ek_app_close(app);
    g_main_loop_unref(d.loop);
    return 0;
}

/* ---- rpc: a small client of the daemon ---- */

static int cmd_rpc(const cli *c, const char *path)
{
    if (c->n_rest < 1 && !c->follow) {
        fprintf(stderr, "enkrypt: rpc needs a METHOD (see docs/rpc.md) or --follow\n");
        return 2;
    }
    json_t *params = json_object();
    for (int i = 1; i < c->n_rest; i++) {
        const char *arg = c->rest[i];
        const char *eq = strchr(arg, '=');
        if (eq == NULL || eq == arg) {
            fprintf(stderr, "enkrypt: parameters are key=value (a string) or key:=JSON: %s\n", arg);
            json_decref(params);
            return 2;
        }
        int raw = eq > arg && eq[-1] == ':';
        char *key = g_strndup(arg, (gsize)(eq - arg - raw));
        json_t *v = NULL;
        if (raw) {
            json_error_t e;
            v = json_loads(eq + 1, JSON_DECODE_ANY, &e);
        } else {
            v = json_string(eq + 1);
        }
        if (v == NULL) {
            fprintf(stderr, "enkrypt: %s: not valid JSON (or not UTF-8)\n", arg);
            g_free(key);
            json_decref(params);
            return 2;
        }
        json_object_set_new(params, key, v);
        g_free(key);
    }
    GError *err = NULL;
    GSocketClient *sc = g_socket_client_new();
    GSocketAddress *addr = g_unix_socket_address_new(path);
    GSocketConnection *conn = g_socket_client_connect(sc, G_SOCKET_CONNECTABLE(addr), NULL, &err);
    g_object_unref(addr);
    g_object_unref(sc);
    if (conn == NULL) {
        fprintf(stderr, "enkrypt: no daemon on %s (%s): start one with `enkrypt daemon --rpc %s`\n",
                path, err->message, path);
        g_clear_error(&err);
        json_decref(params);
        return 1;
    }
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    GDataInputStream *in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
    int rc = 0;
    if (c->n_rest >= 1) {
        json_t *req = json_pack("{s:s,s:i,s:s,s:o}", "jsonrpc", "2.0", "id", 1, "method",
                                c->rest[0], "params", params);
        params = NULL;
        char *line = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        gboolean ok = g_output_stream_write_all(out, line, strlen(line), NULL, NULL, &err) &&
                      g_output_stream_write_all(out, "\n", 1, NULL, NULL, &err);
        free(line);
        rc = 1; /* until the answer comes */
        while (ok) {
            char *l = g_data_input_stream_read_line(in, NULL, NULL, &err);
            if (l == NULL)
                break;
            json_t *m = json_loads(l, 0, NULL);
            g_free(l);
            if (m != NULL && json_integer_value(json_object_get(m, "id")) == 1) {
                json_t *res = json_object_get(m, "result");
                json_t *e = json_object_get(m, "error");
                char *txt = json_dumps(res != NULL ? res : e, JSON_INDENT(2) | JSON_ENCODE_ANY);
                fprintf(res != NULL ? stdout : stderr, "%s%s\n", res != NULL ? "" : "error: ", txt);
                free(txt);
                rc = res != NULL ? 0 : 1;
                json_decref(m);
                break;
            }
            json_decref(m);
        }
    }
    json_decref(params);
    while (c->follow && rc == 0) {
        char *l = g_data_input_stream_read_line(in, NULL, NULL, &err);
        if (l == NULL)
            break;
        printf("%s\n", l);
        (void)fflush(stdout);
        g_free(l);
    }
    if (err != NULL) {
        fprintf(stderr, "enkrypt: %s\n", err->message);
        g_clear_error(&err);
        rc = 1;
    }
    g_object_unref(in);
    g_object_unref(conn);
    return rc;
}

/* The terminal UI (client/app/tui): `enkrypt` without a command creates
 * the profile if needed, unlocks it and runs the UI until /quit. */
static int run_ui(const cli *c)
{
    GError *err = NULL;
    ek_app_paths paths;
    if (!ek_app_paths_get(&paths, c->profile, &err))
        return die(err);
    int exists = g_file_test(paths.vault_file, G_FILE_TEST_EXISTS);
    ek_app_paths_clear(&paths);
    char *pass = NULL; /* a new profile opens with the passphrase just chosen */
    if (!exists) {
        int rc = init_profile(c, &pass);
        if (rc != 0)
            return rc;
        /* The UI takes the whole screen: let the user write the recovery
         * code down first. */
        if (isatty(STDIN_FILENO)) {
            fprintf(stderr, "Write the recovery code down, then press Enter to start enkrypt.");
            int ch;
            do
                ch = getchar();
            while (ch != '\n' && ch != EOF);
        }
    }
    ek_app *app = unlock_with(c, pass, &err);
    ek_app_passphrase_free(pass);
    if (app == NULL)
        return die(err);
    int rc = ek_tui_run(app);
    ek_app_close(app);
    return rc;
}

int main(int argc, char **argv)
{
    (void)setlocale(LC_ALL, "");
    cli c;
    if (parse_args(&c, argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    if (c.command == NULL)
        c.command = "ui";
    if (strcmp(c.command, "init") == 0)
        return cmd_init(&c);
    if (strcmp(c.command, "id") == 0)
        return cmd_id(&c);
    if (strcmp(c.command, "passwd") == 0)
        return cmd_passwd(&c);
    if (strcmp(c.command, "daemon") == 0) {
        if (c.rpc_path == NULL) {
            fprintf(stderr, "enkrypt: daemon needs --rpc PATH (a Unix socket to create)\n");
            return 2;
        }
        return run_daemon(&c, c.rpc_path, NULL);
    }
    if (strcmp(c.command, "ui") == 0)
        return run_ui(&c);
    if (strcmp(c.command, "rpc") == 0) {
        char *path = c.rpc_path != NULL ? g_strdup(c.rpc_path) : default_rpc_path(c.profile);
        int rc = cmd_rpc(&c, path);
        g_free(path);
        return rc;
    }
    fprintf(stderr, "enkrypt: unknown command \"%s\"\n", c.command);
    usage(stderr);
    return 2;
}
