/*
 * tui_cmd.c: the terminal UI's commands (/connect, /accept, /verify, /nick,
 * /settings, /help, /quit and a few more) and sending what is typed. Every
 * failure is one line in the window (the core's GError message, which is
 * written for the user); nothing here exits.
 */
#include <string.h>

#include "tui_internal.h"

/* The words of a command line: argv[0] is the command (without '/'). */
typedef struct tui_args {
    char **argv;
    int argc;
} tui_args;

static void args_parse(tui_args *a, const char *line)
{
    memset(a, 0, sizeof(*a));
    GPtrArray *v = g_ptr_array_new();
    const char *p = line;
    while (*p) {
        while (*p == ' ')
            p++;
        if (*p == 0)
            break;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        g_ptr_array_add(v, g_strndup(start, (gsize)(p - start)));
    }
    a->argc = (int)v->len;
    g_ptr_array_add(v, NULL);
    a->argv = (char **)g_ptr_array_free(v, FALSE);
}

static void args_clear(tui_args *a)
{
    g_strfreev(a->argv);
    memset(a, 0, sizeof(*a));
}

static void usage(ek_tui *ui, const char *text)
{
    tui_note(ui, NULL, TUI_LINE_ERR, "usage: %s", text);
}

/* The peer a command is about: the argument, else the current window's. */
static const char *peer_arg(ek_tui *ui, const char *arg, const char *cmd)
{
    if (arg != NULL)
        return arg;
    const tui_win *w = tui_win_current(ui);
    if (w->peer != NULL)
        return w->peer;
    tui_note(ui, NULL, TUI_LINE_ERR,
             "%s: which peer? Give its ID or nick, or use it in a conversation window", cmd);
    return NULL;
}

/* The peer ID a peer ID or nick names (g_free), NULL if none. */
static char *peer_id_of(ek_tui *ui, const char *peer_or_nick)
{
    if (ek_app_peer_id_valid(peer_or_nick))
        return g_strdup(peer_or_nick);
    ek_app_contact *c = ek_app_contact_get(ui->app, peer_or_nick, NULL);
    char *id = c != NULL ? g_strdup(c->peer_id) : NULL;
    ek_app_contact_free(c);
    return id;
}

/* Show the window of a peer (created if the contact is new). */
static tui_win *show_peer(ek_tui *ui, const char *peer_or_nick)
{
    char *id = peer_id_of(ui, peer_or_nick);
    if (id == NULL)
        return NULL;
    tui_contacts_changed(ui);
    tui_win *w = tui_win_for_peer(ui, id, 1);
    g_free(id);
    for (guint i = 0; i < ui->wins->len; i++) {
        if (g_ptr_array_index(ui->wins, i) == w)
            tui_switch(ui, i);
    }
    return w;
}

static void cmd_connect(ek_tui *ui, const tui_args *a)
{
    if (a->argc != 2) {
        usage(ui, "/connect PEER  (a peer ID, 26 characters a-z 2-7, or a contact's nick)");
        return;
    }
    GError *e = NULL;
    if (!ek_app_connect(ui->app, a->argv[1], &e)) {
        tui_error(ui, e);
        g_clear_error(&e);
        return;
    }
    tui_win *w = show_peer(ui, a->argv[1]);
    if (w == NULL)
        return;
    char *name = tui_peer_name(ui, w->peer);
    if (ek_app_get_peer_state(ui->app, w->peer) == EK_APP_PEER_READY) {
        tui_note(ui, w, TUI_LINE_SYS, "already connected to %s", name);
    } else {
        tui_note(ui, w, TUI_LINE_SYS, "connecting to %s (%s)...", name, w->peer);
        w->shown_state = EK_APP_PEER_CONNECTING;
    }
    g_free(name);
}

/* The pending request /accept or /reject means without an argument. */
static const char *pending_peer(ek_tui *ui)
{
    const tui_win *w = tui_win_current(ui);
    const ek_app_contact *c = tui_contact(ui, w->peer);
    if (c != NULL && !c->accepted)
        return c->peer_id;
    c = tui_contact(ui, ui->last_request);
    if (c != NULL && !c->accepted)
        return c->peer_id;
    if (ui->contacts != NULL) {
        for (guint i = 0; i < ui->contacts->len; i++) {
            c = g_ptr_array_index(ui->contacts, i);
            if (!c->accepted)
                return c->peer_id;
        }
    }
    return NULL;
}

static void cmd_accept(ek_tui *ui, const tui_args *a, int accept)
{
    const char *cmd = accept ? "/accept" : "/reject";
    if (a->argc > 2) {
        usage(ui, accept ? "/accept [PEER]" : "/reject [PEER]");
        return;
    }
    char *peer = g_strdup(a->argc == 2 ? a->argv[1] : pending_peer(ui));
    if (peer == NULL) {
        tui_note(ui, NULL, TUI_LINE_ERR, "%s: no pending contact request", cmd);
        return;
    }
    GError *e = NULL;
    gboolean ok = accept ? ek_app_accept(ui->app, peer, &e) : ek_app_reject(ui->app, peer, &e);
    if (!ok) {
        tui_error(ui, e);
        g_clear_error(&e);
    } else if (accept) {
        tui_win *w = show_peer(ui, peer);
        if (w != NULL)
            tui_note(ui, w, TUI_LINE_SYS, "accepted %s; connecting...", w->peer);
    } else {
        tui_note(ui, g_ptr_array_index(ui->wins, 0), TUI_LINE_SYS, "refused %s", peer);
        tui_contacts_changed(ui);
    }
    g_free(peer);
}

static void cmd_disconnect(ek_tui *ui, const tui_args *a)
{
    const char *peer = peer_arg(ui, a->argc > 1 ? a->argv[1] : NULL, "/disconnect");
    if (peer == NULL)
        return;
    GError *e = NULL;
    if (!ek_app_disconnect(ui->app, peer, &e)) {
        tui_error(ui, e);
        g_clear_error(&e);
        return;
    }
    tui_note(ui, NULL, TUI_LINE_SYS, "disconnected from %s (/connect resumes the session)", peer);
    tui_contacts_changed(ui);
}

/* Show the safety number (12 groups of 5 digits) and its QR code. */
static void show_safety_number(ek_tui *ui, tui_win *w, const char digits[61])
{
    char *name = tui_peer_name(ui, w->peer);
    char *groups = ek_app_format_safety_number(digits);
    const ek_app_contact *c = tui_contact(ui, w->peer);
    tui_note(ui, w, TUI_LINE_SYS, "safety number with %s (%s):", name, w->peer);
    tui_note(ui, w, TUI_LINE_SYS, "  %s", groups);
    /* With colours the code is dark on light; without, light modules are
     * the (usually light) foreground. */
    GPtrArray *rows = tui_qr_rows(digits, 4, ui->utf8, ui->colors ? 0 : 1);
    for (guint i = 0; rows != NULL && i < rows->len; i++) {
        tui_line *l = g_new0(tui_line, 1);
        l->kind = TUI_LINE_QR;
        l->ts_ms = g_get_real_time() / 1000;
        l->text = g_strdup(g_ptr_array_index(rows, i));
        tui_add_line(ui, w, l);
    }
    if (rows == NULL)
        tui_note(ui, w, TUI_LINE_ERR, "cannot draw the QR code");
    else
        g_ptr_array_unref(rows);
    tui_note(ui, w, TUI_LINE_SYS,
             "compare it with %s's screen (in person or on a call) or scan the code; if they "
             "match, type /verify yes. Now: %s",
             name, c != NULL && c->verified ? "verified" : "not verified");
    g_free(groups);
    g_free(name);
}

static void cmd_verify(ek_tui *ui, const tui_args *a)
{
    int mark = -1;
    const char *peer_given = NULL;
    for (int i = 1; i < a->argc; i++) {
        if (g_ascii_strcasecmp(a->argv[i], "yes") == 0)
            mark = 1;
        else if (g_ascii_strcasecmp(a->argv[i], "no") == 0)
            mark = 0;
        else if (peer_given == NULL)
            peer_given = a->argv[i];
        else
            mark = -2;
    }
    if (mark == -2) {
        usage(ui, "/verify [PEER] [yes|no]");
        return;
    }
    const char *peer = peer_arg(ui, peer_given, "/verify");
    if (peer == NULL)
        return;
    GError *e = NULL;
    char digits[61];
    if (!ek_app_safety_number(ui->app, peer, digits, &e)) {
        tui_error(ui, e);
        g_clear_error(&e);
        return;
    }
    tui_win *w = peer_given != NULL ? show_peer(ui, peer_given) : tui_win_current(ui);
    if (w == NULL || w->peer == NULL)
        return;
    if (mark < 0) {
        show_safety_number(ui, w, digits);
        return;
    }
    if (!ek_app_set_verified(ui->app, w->peer, mark, &e)) {
        tui_error(ui, e);
        g_clear_error(&e);
        return;
    }
    char *name = tui_peer_name(ui, w->peer);
    tui_note(ui, w, TUI_LINE_SYS,
             mark ? "%s (%s) is now marked verified" : "%s (%s) is no longer marked verified", name,
             w->peer);
    g_free(name);
    tui_contacts_changed(ui);
}

static void cmd_nick(ek_tui *ui, const tui_args *a)
{
    const char *peer = NULL, *nick = NULL;
    if (a->argc == 2) {
        nick = a->argv[1];
    } else if (a->argc == 3) {
        peer = a->argv[1];
        nick = a->argv[2];
    } else {
        usage(ui, "/nick NAME (names the current contact; /nick - removes the name), "
                  "or /nick PEER NAME");
        return;
    }
    peer = peer_arg(ui, peer, "/nick");
    if (peer == NULL)
        return;
    char *id = peer_id_of(ui, peer);
    GError *e = NULL;
    if (!ek_app_set_nick(ui->app, peer, strcmp(nick, "-") == 0 ? "" : nick, &e)) {
        tui_error(ui, e);
        g_clear_error(&e);
        g_free(id);
        return;
    }
    tui_contacts_changed(ui);
    tui_win *w = id != NULL ? tui_win_for_peer(ui, id, 0) : NULL;
    if (strcmp(nick, "-") == 0)
        tui_note(ui, w, TUI_LINE_SYS, "%s has no name now", id != NULL ? id : peer);
    else
        tui_note(ui, w, TUI_LINE_SYS, "%s is now known as %s", id != NULL ? id : peer, nick);
    g_free(id);
}

static const char *setting_name(const char *alias)
{
    if (g_ascii_strcasecmp(alias, "typing") == 0)
        return "typing-indicators";
    if (g_ascii_strcasecmp(alias, "receipts") == 0 || g_ascii_strcasecmp(alias, "read") == 0)
        return "read-receipts";
    return alias;
}

static void show_setting(ek_tui *ui, const char *name)
{
    GError *e = NULL;
    char *v = ek_app_setting_get(ui->app, name, &e);
    if (v == NULL) {
        tui_error(ui, e);
        g_clear_error(&e);
        return;
    }
    const char *what = "";
    if (strcmp(name, "typing-indicators") == 0)
        what = strcmp(v, "on") == 0 ? "we tell the peer when we type"
                                    : "off: no typing notice is ever sent";
    else if (strcmp(name, "read-receipts") == 0)
        what = strcmp(v, "on") == 0 ? "we tell the peer when we read its messages"
                                    : "off: no read receipt is ever sent";
    else if (strcmp(name, "accept") == 0)
        what = strcmp(v, "all") == 0 ? "every peer that connects is accepted"
                                     : "unknown peers ask first (/accept)";
    tui_note(ui, NULL, TUI_LINE_SYS, "%-18s %-4s %s", name, v, what);
    g_free(v);
}

static void cmd_settings(ek_tui *ui, const tui_args *a)
{
    if (a->argc == 1) {
        for (const char *const *n = ek_app_setting_names(); *n != NULL; n++)
            show_setting(ui, *n);
        tui_note(ui, NULL, TUI_LINE_SYS,
                 "change one with /settings typing on|off, /settings receipts on|off, "
                 "/settings accept ask|all");
        return;
    }
    const char *name = setting_name(a->argv[1]);
    if (a->argc == 2) {
        show_setting(ui, name);
        return;
    }
    if (a->argc != 3) {
        usage(ui, "/settings [NAME [VALUE]]");
        return;
    }
    /* Turning typing notices off: say "stopped" while still allowed. */
    if (strcmp(name, "typing-indicators") == 0)
        tui_typing_stop(ui);
    GError *e = NULL;
    if (!ek_app_setting_set(ui->app, name, a->argv[2], &e)) {
        tui_error(ui, e);
        g_clear_error(&e);
        return;
    }
    show_setting(ui, name);
}

static void cmd_window(ek_tui *ui, const tui_args *a)
{
    guint64 n = 0;
    if (a->argc != 2 || !g_ascii_string_to_unsigned(a->argv[1], 10, 1, 1000, &n, NULL)) {
        usage(ui, "/window N");
        return;
    }
    tui_switch(ui, (guint)n - 1);
}

static void cmd_clear(ek_tui *ui)
{
    tui_win *w = tui_win_current(ui);
    /* Only the screen: the history stays in the vault (PageUp reloads it). */
    g_hash_table_remove_all(w->ids);
    g_ptr_array_set_size(w->lines, 0);
    w->scroll = 0;
    w->more_history = w->loaded && w->peer != NULL;
    w->oldest = UINT64_MAX;
}

void tui_cmd_help(ek_tui *ui)
{
    static const char *const lines[] = {
        "commands:",
        "  /connect PEER        add PEER (its 26-character ID, or a nick) and connect",
        "  /accept [PEER]       accept a contact request (the pending one if no PEER)",
        "  /reject [PEER]       refuse a contact request",
        "  /verify [PEER]       show the safety number and its QR code",
        "  /verify yes|no       mark the contact verified (after comparing) or not",
        "  /nick NAME           name the current contact (/nick - removes the name)",
        "  /settings            show the settings (typing notices, read receipts, accept)",
        "  /settings typing on|off, /settings receipts on|off   off: nothing is sent",
        "  /disconnect [PEER]   close the connection (the session is kept)",
        "  /window N            go to window N;  /clear  clear the window",
        "  /id                  show your peer ID",
        "  /help                this;  /quit  leave",
        "  //text               send text that starts with a slash",
        "keys:",
        "  Alt-1..9, Alt-0      window 1..10 (1 is the status window);  Alt-a  next active",
        "  ctrl-n / ctrl-p, F6 / F5, Alt-right / Alt-left   next / previous window",
        "  PageUp / PageDown    scroll;  up / down  input history",
        "  left/right, home/end, ctrl-a/e, ctrl-b/f, Alt-b/f   move in the line",
        "  ctrl-u / ctrl-k / ctrl-w  cut to start / to end / the word before;  ctrl-y paste",
        "  ctrl-l redraw;  ctrl-c twice  quit",
        "marks: (queued) not sent yet, (sent), (delivered) the peer has it, (read), (failed)",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++)
        tui_note(ui, NULL, TUI_LINE_SYS, "%s", lines[i]);
}

static void send_text(ek_tui *ui, const char *text)
{
    tui_win *w = tui_win_current(ui);
    if (w->peer == NULL) {
        tui_note(ui, w, TUI_LINE_ERR,
                 "this is the status window: /connect PEER starts a conversation; Alt-2 "
                 "(or ctrl-n) goes to one");
        return;
    }
    char id[33];
    GError *e = NULL;
    if (!ek_app_send_text(ui->app, w->peer, text, id, &e)) {
        tui_error(ui, e);
        g_clear_error(&e);
        return;
    }
    tui_line *l = g_new0(tui_line, 1);
    l->kind = TUI_LINE_OUT;
    l->ts_ms = g_get_real_time() / 1000;
    g_strlcpy(l->id, id, sizeof(l->id));
    l->status = ek_app_get_peer_state(ui->app, w->peer) == EK_APP_PEER_READY ? EK_APP_MSG_SENT
                                                                             : EK_APP_MSG_QUEUED;
    l->text = tui_sanitize(text, strlen(text), 1, ui->utf8);
    if (!g_hash_table_contains(w->ids, l->id))
        g_hash_table_insert(w->ids, g_strdup(l->id), l);
    w->scroll = 0;
    tui_add_line(ui, w, l);
    tui_contacts_changed(ui);
}

void tui_cmd_line(ek_tui *ui, const char *line)
{
    if (line[0] == 0)
        return;
    tui_sync_contacts(ui);
    if (line[0] != '/' || line[1] == '/') {
        send_text(ui, line[0] == '/' ? line + 1 : line);
        return;
    }
    tui_args a;
    args_parse(&a, line + 1);
    const char *c = a.argc > 0 ? a.argv[0] : "";
    if (a.argc == 0)
        usage(ui, "/COMMAND ... (see /help)");
    else if (strcmp(c, "connect") == 0)
        cmd_connect(ui, &a);
    else if (strcmp(c, "accept") == 0)
        cmd_accept(ui, &a, 1);
    else if (strcmp(c, "reject") == 0)
        cmd_accept(ui, &a, 0);
    else if (strcmp(c, "disconnect") == 0)
        cmd_disconnect(ui, &a);
    else if (strcmp(c, "verify") == 0)
        cmd_verify(ui, &a);
    else if (strcmp(c, "nick") == 0)
        cmd_nick(ui, &a);
    else if (strcmp(c, "settings") == 0 || strcmp(c, "set") == 0)
        cmd_settings(ui, &a);
    else if (strcmp(c, "window") == 0 || strcmp(c, "win") == 0)
        cmd_window(ui, &a);
    else if (strcmp(c, "id") == 0)
        tui_note(ui, NULL, TUI_LINE_SYS, "your peer ID is %s", ek_app_self_id(ui->app));
    else if (strcmp(c, "clear") == 0)
        cmd_clear(ui);
    else if (strcmp(c, "help") == 0)
        tui_cmd_help(ui);
    else if (strcmp(c, "quit") == 0 || strcmp(c, "exit") == 0)
        tui_quit(ui);
    else
        tui_note(ui, NULL, TUI_LINE_ERR, "unknown command /%s (see /help)", c);
    args_clear(&a);
}
