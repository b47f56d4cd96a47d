/*
 * tui.c: the terminal UI's screen, keys and core events (tui.h).
 *
 *   row 0            title: the window's peer, its ID, state, verified
 *   rows 1..H-3      contacts pane | conversation pane
 *   row H-2          status: clock, our ID, broker, peer, typing, activity
 *   row H-1          input line
 *
 * Window 1 is the status window (notes, errors, log lines); windows 2.. are
 * one conversation each. Everything runs on the GLib main loop: stdin is a
 * g_unix_fd_add watch read with ncurses in no-delay mode, SIGWINCH is a
 * g_unix_signal_add source (installed before ncurses starts, so ncurses
 * leaves the signal to us), core events mark what changed and an idle
 * source redraws once per batch. Text from peers is sanitized before it
 * reaches the terminal (tui_sanitize): no control sequence of theirs is
 * ever written.
 */
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <curses.h>
#include <glib-unix.h>

#include "tui.h"
#include "tui_internal.h"

enum {
    CP_BAR = 1, /* title and status bars */
    CP_OWN,     /* our name */
    CP_PEER,    /* the peer's name */
    CP_ERR,     /* errors, failed peers */
    CP_SYS,     /* the -!- of notes */
    CP_QR,      /* QR codes: dark on light */
    CP_ON,      /* ready peers */
    CP_WAIT,    /* connecting peers, pending requests */
    CP_ACT,     /* activity in the status bar */
};

int64_t tui_mono_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

static attr_t attr_of(const ek_tui *ui, int pair)
{
    return ui->colors ? (attr_t)COLOR_PAIR(pair) : A_NORMAL;
}

/* ---- lines and windows ---- */

static void line_free(tui_line *l)
{
    if (l == NULL)
        return;
    g_free(l->text);
    g_free(l);
}

static tui_win *win_new(const char *peer)
{
    tui_win *w = g_new0(tui_win, 1);
    w->peer = g_strdup(peer);
    w->lines = g_ptr_array_new_with_free_func((GDestroyNotify)line_free);
    w->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    w->shown_state = -1;
    return w;
}

static void win_free(tui_win *w)
{
    if (w == NULL)
        return;
    g_hash_table_destroy(w->ids);
    g_ptr_array_unref(w->lines);
    g_free(w->peer);
    g_free(w);
}

tui_win *tui_win_current(ek_tui *ui)
{
    return g_ptr_array_index(ui->wins, ui->cur);
}

tui_win *tui_win_for_peer(ek_tui *ui, const char *peer, int create)
{
    if (peer == NULL)
        return g_ptr_array_index(ui->wins, 0);
    for (guint i = 1; i < ui->wins->len; i++) {
        tui_win *w = g_ptr_array_index(ui->wins, i);
        if (strcmp(w->peer, peer) == 0)
            return w;
    }
    if (!create)
        return NULL;
    tui_win *w = win_new(peer);
    g_ptr_array_add(ui->wins, w);
    return w;
}

/* The conversation pane's geometry for the current terminal size. */
typedef struct tui_layout {
    int list_w;         /* contacts pane width (0: hidden) */
    int conv_x, conv_w; /* conversation pane */
    int top, height;    /* rows of both panes */
} tui_layout;

static tui_layout layout_of(const ek_tui *ui)
{
    tui_layout l;
    l.list_w = ui->cols >= 70 ? CLAMP(ui->cols / 5, 18, 28) : 0;
    l.conv_x = l.list_w > 0 ? l.list_w + 1 : 0;
    l.conv_w = ui->cols - l.conv_x;
    l.top = 1;
    l.height = ui->rows - 3;
    if (l.conv_w < 1)
        l.conv_w = 1;
    if (l.height < 0)
        l.height = 0;
    return l;
}

/* How a line is drawn: a prefix (time, name or -!-), the text, and for our
 * messages a delivery mark after it. */
typedef struct tui_render {
    const tui_line *line;
    char *full;      /* text + mark */
    size_t mark_off; /* where the mark starts in full */
    char stamp[16];  /* "HH:MM " */
    char *name;      /* "<name> " or "-!- " or "" */
    attr_t name_attr;
    size_t prefix_w; /* columns of stamp + name */
    size_t indent;   /* columns before continuation rows */
    GArray *rows;    /* tui_row */
} tui_render;

static void render_free(tui_render *r)
{
    if (r == NULL)
        return;
    g_free(r->full);
    g_free(r->name);
    g_array_unref(r->rows);
    g_free(r);
}

static const char *status_mark(ek_app_msg_status s)
{
    switch (s) {
    case EK_APP_MSG_QUEUED: return " (queued)";
    case EK_APP_MSG_SENT: return " (sent)";
    case EK_APP_MSG_DELIVERED: return " (delivered)";
    case EK_APP_MSG_READ: return " (read)";
    case EK_APP_MSG_FAILED: return " (failed: not stored)";
    case EK_APP_MSG_RECEIVED:
    default: break; /* the core's enums may grow */
    }
    return "";
}

static void format_stamp(char out[16], int64_t ts_ms)
{
    GDateTime *now = g_date_time_new_now_local();
    GDateTime *t = g_date_time_new_from_unix_local(ts_ms / 1000);
    out[0] = 0;
    if (t != NULL && now != NULL) {
        /* Not today: the date too. */
        int same_day = g_date_time_get_year(t) == g_date_time_get_year(now) &&
                       g_date_time_get_day_of_year(t) == g_date_time_get_day_of_year(now);
        char *s = g_date_time_format(t, same_day ? "%H:%M " : "%m-%d %H:%M ");
        if (s != NULL)
            g_strlcpy(out, s, 16);
        g_free(s);
    }
    if (t != NULL)
        g_date_time_unref(t);
    if (now != NULL)
        g_date_time_unref(now);
}

static tui_render *render_line(ek_tui *ui, const tui_win *w, const tui_line *l, int width)
{
    tui_render *r = g_new0(tui_render, 1);
    r->line = l;
    r->rows = g_array_new(FALSE, FALSE, sizeof(tui_row));
    if (l->kind == TUI_LINE_QR) {
        r->full = g_strdup(l->text);
        r->mark_off = strlen(r->full);
        r->name = g_strdup("  ");
        r->prefix_w = 2;
        size_t n = tui_clip(r->full, width > 2 ? (size_t)width - 2 : 0, NULL);
        tui_row row = {0, n};
        g_array_append_val(r->rows, row);
        return r;
    }
    format_stamp(r->stamp, l->ts_ms);
    if (l->kind == TUI_LINE_IN || l->kind == TUI_LINE_OUT) {
        char *who = l->kind == TUI_LINE_OUT
                        ? tui_sanitize(ek_app_profile(ui->app), SIZE_MAX, 0, ui->utf8)
                        : tui_peer_name(ui, w->peer);
        r->name = g_strdup_printf("<%s> ", who);
        g_free(who);
        r->name_attr = attr_of(ui, l->kind == TUI_LINE_OUT ? CP_OWN : CP_PEER) | A_BOLD;
        r->full = g_strconcat(l->text, l->kind == TUI_LINE_OUT ? status_mark(l->status) : "", NULL);
    } else {
        r->name = g_strdup("-!- ");
        r->name_attr = attr_of(ui, l->kind == TUI_LINE_ERR ? CP_ERR : CP_SYS) | A_BOLD;
        r->full = g_strdup(l->text);
    }
    r->mark_off = strlen(l->text);
    r->prefix_w =
        tui_str_width(r->stamp, strlen(r->stamp)) + tui_str_width(r->name, strlen(r->name));
    if (r->prefix_w > (size_t)width / 2)
        r->prefix_w = (size_t)width / 2;
    r->indent = r->prefix_w;
    size_t avail = (size_t)width > r->prefix_w ? (size_t)width - r->prefix_w : 1;
    tui_wrap(r->rows, r->full, avail, avail);
    return r;
}

void tui_add_line(ek_tui *ui, tui_win *w, tui_line *l)
{
    if (w == NULL)
        w = tui_win_current(ui);
    g_ptr_array_add(w->lines, l);
    if (w->peer == NULL && w->lines->len > TUI_LINES_MAX)
        g_ptr_array_remove_index(w->lines, 0);
    if (w->scroll > 0) {
        /* Keep the view where the reader left it. */
        tui_layout lay = layout_of(ui);
        tui_render *r = render_line(ui, w, l, lay.conv_w);
        w->scroll += r->rows->len;
        render_free(r);
    }
    if (w != tui_win_current(ui)) {
        int act = l->kind == TUI_LINE_IN ? 2 : 1;
        if (w->activity < act)
            w->activity = act;
    }
    tui_redraw_later(ui);
}

static void note_va(ek_tui *ui, tui_win *w, tui_line_kind kind, const char *fmt, va_list ap)
    G_GNUC_PRINTF(4, 0);

static void note_va(ek_tui *ui, tui_win *w, tui_line_kind kind, const char *fmt, va_list ap)
{
    char *raw = g_strdup_vprintf(fmt, ap);
    tui_line *l = g_new0(tui_line, 1);
    l->kind = kind;
    l->ts_ms = g_get_real_time() / 1000;
    l->text = tui_sanitize(raw, strlen(raw), 1, ui->utf8);
    g_free(raw);
    tui_add_line(ui, w, l);
}

void tui_note(ek_tui *ui, tui_win *w, tui_line_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note_va(ui, w, kind, fmt, ap);
    va_end(ap);
}

void tui_error(ek_tui *ui, const GError *e)
{
    tui_note(ui, NULL, TUI_LINE_ERR, "%s", e != NULL ? e->message : "unknown error");
}

/* ---- contacts ---- */

void tui_contacts_changed(ek_tui *ui)
{
    ui->contacts_dirty = 1;
    tui_redraw_later(ui);
}

const ek_app_contact *tui_contact(ek_tui *ui, const char *peer)
{
    if (peer == NULL || ui->contacts == NULL)
        return NULL;
    for (guint i = 0; i < ui->contacts->len; i++) {
        const ek_app_contact *c = g_ptr_array_index(ui->contacts, i);
        if (strcmp(c->peer_id, peer) == 0)
            return c;
    }
    return NULL;
}

char *tui_peer_name(ek_tui *ui, const char *peer)
{
    const ek_app_contact *c = tui_contact(ui, peer);
    if (c != NULL && c->nick != NULL && c->nick[0])
        return tui_sanitize(c->nick, strlen(c->nick), 0, ui->utf8);
    return g_strndup(peer != NULL ? peer : "?", 8);
}

/* Read the contacts from the core when something changed; every contact
 * gets a window, and the windows of forgotten ones go. */
void tui_sync_contacts(ek_tui *ui)
{
    if (!ui->contacts_dirty)
        return;
    ui->contacts_dirty = 0;
    if (ui->contacts != NULL)
        g_ptr_array_unref(ui->contacts);
    ui->contacts = ek_app_contacts(ui->app);
    for (guint i = 0; i < ui->contacts->len; i++) {
        const ek_app_contact *c = g_ptr_array_index(ui->contacts, i);
        (void)tui_win_for_peer(ui, c->peer_id, 1);
    }
    for (guint i = ui->wins->len; i-- > 1;) {
        tui_win *w = g_ptr_array_index(ui->wins, i);
        if (tui_contact(ui, w->peer) != NULL)
            continue;
        if (ui->cur == i)
            ui->cur = 0;
        else if (ui->cur > i)
            ui->cur--;
        g_ptr_array_remove_index(ui->wins, i);
    }
}

/* ---- history ---- */

static tui_line *line_of_message(ek_tui *ui, const ek_app_message *m)
{
    tui_line *l = g_new0(tui_line, 1);
    l->kind = m->outgoing ? TUI_LINE_OUT : TUI_LINE_IN;
    l->ts_ms = m->timestamp_ms;
    g_strlcpy(l->id, m->id, sizeof(l->id));
    l->status = m->status;
    l->text = tui_sanitize(m->body, strlen(m->body), 1, ui->utf8);
    return l;
}

/* Show an arrived message (once: the history may have it already). */
static void show_message(ek_tui *ui, tui_win *w, const ek_app_message *m)
{
    tui_line *old = g_hash_table_lookup(w->ids, m->id);
    if (old != NULL) {
        if (m->status > old->status)
            old->status = m->status;
        return;
    }
    tui_line *l = line_of_message(ui, m);
    g_hash_table_insert(w->ids, g_strdup(l->id), l);
    tui_add_line(ui, w, l);
}

/* Put history messages (oldest first) before the window's lines. */
static void prepend_history(ek_tui *ui, tui_win *w, GPtrArray *h)
{
    guint at = 0;
    for (guint i = 0; i < h->len; i++) {
        const ek_app_message *m = g_ptr_array_index(h, i);
        if (g_hash_table_contains(w->ids, m->id))
            continue;
        tui_line *l = line_of_message(ui, m);
        g_hash_table_insert(w->ids, g_strdup(l->id), l);
        g_ptr_array_insert(w->lines, (gint)at++, l);
    }
    if (h->len > 0) {
        const ek_app_message *first = g_ptr_array_index(h, 0);
        w->oldest = first->order;
        w->more_history = first->order > 0;
    } else {
        w->more_history = 0;
    }
}

static void win_load(ek_tui *ui, tui_win *w)
{
    if (w->loaded || w->peer == NULL)
        return;
    w->loaded = 1;
    GError *e = NULL;
    GPtrArray *h = ek_app_history(ui->app, w->peer, TUI_HISTORY_PAGE, 0, &e);
    if (h == NULL) {
        tui_note(ui, w, TUI_LINE_ERR, "cannot read the history: %s", e->message);
        g_clear_error(&e);
        return;
    }
    prepend_history(ui, w, h);
    g_ptr_array_unref(h);
}

static void win_load_older(ek_tui *ui, tui_win *w)
{
    if (!w->loaded || !w->more_history || w->peer == NULL)
        return;
    GError *e = NULL;
    GPtrArray *h = ek_app_history(ui->app, w->peer, TUI_HISTORY_PAGE, w->oldest, &e);
    if (h == NULL) {
        w->more_history = 0;
        tui_note(ui, w, TUI_LINE_ERR, "cannot read the history: %s", e->message);
        g_clear_error(&e);
        return;
    }
    prepend_history(ui, w, h);
    g_ptr_array_unref(h);
    tui_redraw_later(ui);
}

void tui_refresh_status(ek_tui *ui, tui_win *w)
{
    if (w == NULL || !w->loaded || w->peer == NULL)
        return;
    GPtrArray *h = ek_app_history(ui->app, w->peer, TUI_HISTORY_PAGE, 0, NULL);
    if (h == NULL)
        return;
    for (guint i = 0; i < h->len; i++) {
        const ek_app_message *m = g_ptr_array_index(h, i);
        tui_line *l = g_hash_table_lookup(w->ids, m->id);
        if (l != NULL && m->outgoing)
            l->status = m->status;
    }
    g_ptr_array_unref(h);
    tui_redraw_later(ui);
}

/* ---- switching ---- */

void tui_switch(ek_tui *ui, guint index)
{
    if (index >= ui->wins->len) {
        tui_note(ui, NULL, TUI_LINE_ERR, "there is no window %u (1 to %u)", index + 1,
                 ui->wins->len);
        return;
    }
    tui_win *w = g_ptr_array_index(ui->wins, index);
    if (ui->typing_peer != NULL && g_strcmp0(ui->typing_peer, w->peer) != 0)
        tui_typing_stop(ui);
    ui->cur = index;
    w->activity = 0;
    win_load(ui, w);
    tui_redraw_later(ui);
}

static void switch_next_active(ek_tui *ui)
{
    /* Messages first, then notes, as irssi's alt-a. */
    for (int want = 2; want >= 1; want--) {
        for (guint i = 0; i < ui->wins->len; i++) {
            const tui_win *w = g_ptr_array_index(ui->wins, i);
            if (w->activity >= want) {
                tui_switch(ui, i);
                return;
            }
        }
    }
}

/* ---- typing notices ---- */

void tui_typing_stop(ek_tui *ui)
{
    if (ui->typing_peer == NULL)
        return;
    ek_app_settings s;
    ek_app_get_settings(ui->app, &s);
    if (s.typing_indicators)
        (void)ek_app_typing(ui->app, ui->typing_peer, 0, NULL);
    g_free(ui->typing_peer);
    ui->typing_peer = NULL;
}

/* After an edit: tell the peer we type (only when the setting is on and a
 * session is ready; the core sends nothing otherwise either). */
static void typing_note(ek_tui *ui)
{
    const tui_win *w = tui_win_current(ui);
    const char *text = ui->edit.buf->str;
    if (w->peer == NULL || text[0] == 0 || (text[0] == '/' && text[1] != '/')) {
        tui_typing_stop(ui);
        return;
    }
    ek_app_settings s;
    ek_app_get_settings(ui->app, &s);
    if (!s.typing_indicators || ek_app_get_peer_state(ui->app, w->peer) != EK_APP_PEER_READY)
        return;
    int64_t now = tui_mono_ms();
    ui->typing_key_ms = now;
    if (ui->typing_peer != NULL && strcmp(ui->typing_peer, w->peer) == 0 &&
        now - ui->typing_sent_ms < TUI_TYPING_SEND_MS)
        return;
    if (ek_app_typing(ui->app, w->peer, 1, NULL)) {
        g_free(ui->typing_peer);
        ui->typing_peer = g_strdup(w->peer);
        ui->typing_sent_ms = now;
    }
}

/* ---- drawing ---- */

/* Draw s clipped to width columns at (y, x); returns the columns used. */
static int put(int y, int x, const char *s, int width)
{
    if (width <= 0 || s == NULL)
        return 0;
    size_t used = 0;
    size_t n = tui_clip(s, (size_t)width, &used);
    if (n > 0)
        (void)mvaddnstr(y, x, s, (int)n);
    return (int)used;
}

static void fill_row(int y, int x, int width)
{
    if (width > 0)
        (void)mvhline(y, x, ' ', width);
}

typedef struct tui_glyph {
    const char *utf8, *ascii;
} tui_glyph;

static const char *glyph(const ek_tui *ui, tui_glyph g)
{
    return ui->utf8 ? g.utf8 : g.ascii;
}

static const tui_glyph G_READY = {"\u25cf", "*"}, G_WAIT = {"\u25d0", "~"}, G_OFF = {"\u25cb", "o"},
                       G_FAIL = {"\u2717", "x"}, G_ASK = {"?", "?"}, G_VERIFIED = {"\u2713", "v"},
                       G_TYPING = {"\u2026", "."};

static void state_glyph(const ek_tui *ui, const ek_app_contact *c, const char **g, attr_t *attr)
{
    if (!c->accepted) {
        *g = glyph(ui, G_ASK);
        *attr = attr_of(ui, CP_WAIT) | A_BOLD;
        return;
    }
    switch (c->state) {
    case EK_APP_PEER_READY:
        *g = glyph(ui, G_READY);
        *attr = attr_of(ui, CP_ON) | A_BOLD;
        return;
    case EK_APP_PEER_CONNECTING:
    case EK_APP_PEER_HANDSHAKING:
        *g = glyph(ui, G_WAIT);
        *attr = attr_of(ui, CP_WAIT);
        return;
    case EK_APP_PEER_FAILED:
        *g = glyph(ui, G_FAIL);
        *attr = attr_of(ui, CP_ERR);
        return;
    case EK_APP_PEER_OFFLINE:
    default: break;
    }
    *g = glyph(ui, G_OFF);
    *attr = A_DIM;
}

static void draw_title(ek_tui *ui)
{
    const tui_win *w = tui_win_current(ui);
    (void)attrset(attr_of(ui, CP_BAR) | (ui->colors ? A_NORMAL : A_REVERSE));
    fill_row(0, 0, ui->cols);
    char *t;
    if (w->peer == NULL) {
        const char *url = ek_app_broker_url(ui->app);
        t = g_strdup_printf(" enkrypt  profile %s  your ID %s  broker %s%s",
                            ek_app_profile(ui->app), ek_app_self_id(ui->app),
                            url != NULL ? url : "-",
                            ek_app_broker_embedded(ui->app) ? " (embedded)" : "");
    } else {
        const ek_app_contact *c = tui_contact(ui, w->peer);
        char *name = tui_peer_name(ui, w->peer);
        const char *state = c == NULL      ? "gone"
                            : !c->accepted ? "asks to connect: /accept"
                                           : ek_app_peer_state_name(c->state);
        const char *ver = c != NULL && c->verified ? "verified" : "not verified (/verify)";
        t = g_strdup_printf(" %s  %s  %s  %s", name, w->peer, state, ver);
        g_free(name);
    }
    char *safe = tui_sanitize(t, strlen(t), 0, ui->utf8);
    put(0, 0, safe, ui->cols);
    g_free(safe);
    g_free(t);
    (void)attrset(A_NORMAL);
}

static void draw_contacts(ek_tui *ui, const tui_layout *lay)
{
    if (lay->list_w <= 0 || lay->height <= 0)
        return;
    (void)mvvline(lay->top, lay->list_w, ui->utf8 ? ACS_VLINE : '|', lay->height);
    guint first = ui->cur >= (guint)lay->height ? ui->cur - (guint)lay->height + 1 : 0;
    for (guint i = first; i < ui->wins->len && (int)(i - first) < lay->height; i++) {
        const tui_win *w = g_ptr_array_index(ui->wins, i);
        int y = lay->top + (int)(i - first);
        int sel = i == ui->cur;
        attr_t base = sel ? A_REVERSE : A_NORMAL;
        (void)attrset(base);
        fill_row(y, 0, lay->list_w);
        char num[16];
        g_snprintf(num, sizeof(num), "%2u ", i + 1);
        int x = put(y, 0, num, lay->list_w);
        if (w->peer == NULL) {
            (void)attrset(base | (w->activity ? A_BOLD : A_NORMAL));
            put(y, x, "  (status)", lay->list_w - x);
            continue;
        }
        const ek_app_contact *c = tui_contact(ui, w->peer);
        if (c == NULL)
            continue;
        const char *g;
        attr_t gattr;
        state_glyph(ui, c, &g, &gattr);
        (void)attrset(base | gattr);
        x += put(y, x, g, lay->list_w - x);
        (void)attrset(base);
        x += put(y, x, " ", lay->list_w - x);
        /* Right side: typing, verified, unread. */
        GString *right = g_string_new(NULL);
        if (w->typing_until > tui_mono_ms())
            g_string_append(right, glyph(ui, G_TYPING));
        if (c->verified)
            g_string_append_printf(right, " %s", glyph(ui, G_VERIFIED));
        if (c->unread > 0)
            g_string_append_printf(right, " %u", c->unread);
        int rw = (int)tui_str_width(right->str, right->len);
        char *name = tui_peer_name(ui, w->peer);
        (void)attrset(base | (c->unread > 0 || w->activity ? A_BOLD : A_NORMAL));
        put(y, x, name, lay->list_w - x - rw - 1);
        g_free(name);
        if (rw > 0 && rw < lay->list_w - x) {
            (void)attrset(base | (c->unread > 0 ? attr_of(ui, CP_WAIT) | A_BOLD : A_NORMAL));
            put(y, lay->list_w - rw, right->str, rw);
        }
        g_string_free(right, TRUE);
    }
    (void)attrset(A_NORMAL);
}

static void draw_row(ek_tui *ui, const tui_render *r, const tui_row *row, int first, int y,
                     const tui_layout *lay)
{
    int x = lay->conv_x;
    int width = lay->conv_w;
    const tui_line *l = r->line;
    if (l->kind == TUI_LINE_QR) {
        (void)attrset(ui->colors ? attr_of(ui, CP_QR) : A_NORMAL);
        (void)mvaddnstr(y, x + 2, r->full + row->off, (int)row->len);
        (void)attrset(A_NORMAL);
        return;
    }
    if (first) {
        (void)attrset(A_DIM);
        int used = put(y, x, r->stamp, width);
        (void)attrset(r->name_attr);
        put(y, x + used, r->name, (int)r->prefix_w - used);
    }
    x += (int)r->indent;
    width -= (int)r->indent;
    attr_t body = l->kind == TUI_LINE_ERR ? attr_of(ui, CP_ERR) : A_NORMAL;
    size_t a = row->off, b = row->off + row->len;
    size_t split = r->mark_off < a ? a : (r->mark_off > b ? b : r->mark_off);
    (void)attrset(body);
    if (split > a) {
        char *part = g_strndup(r->full + a, split - a);
        x += put(y, x, part, width);
        width = lay->conv_x + lay->conv_w - x;
        g_free(part);
    }
    if (b > split) {
        (void)attrset(A_DIM);
        char *part = g_strndup(r->full + split, b - split);
        put(y, x, part, width);
        g_free(part);
    }
    (void)attrset(A_NORMAL);
}

static void draw_conversation(ek_tui *ui, const tui_layout *lay)
{
    tui_win *w = tui_win_current(ui);
    if (lay->height <= 0)
        return;
    size_t want = (size_t)lay->height + w->scroll;
    GPtrArray *rs = g_ptr_array_new_with_free_func((GDestroyNotify)render_free);
    size_t total = 0;
    guint i = w->lines->len;
    while (i > 0 && total < want) {
        i--;
        tui_render *r = render_line(ui, w, g_ptr_array_index(w->lines, i), lay->conv_w);
        total += r->rows->len;
        g_ptr_array_add(rs, r);
    }
    /* rs holds the newest lines, newest first. Clamp the scroll at the top. */
    w->at_top = i == 0 && total <= want;
    if (i == 0 && total < want)
        w->scroll = total > (size_t)lay->height ? total - (size_t)lay->height : 0;
    size_t skip = total > (size_t)lay->height + w->scroll ? total - lay->height - w->scroll : 0;
    size_t n = 0;
    for (guint k = rs->len; k-- > 0;) {
        const tui_render *r = g_ptr_array_index(rs, k);
        for (guint j = 0; j < r->rows->len; j++, n++) {
            if (n < skip)
                continue;
            int y = lay->top + (int)(n - skip);
            if (y >= lay->top + lay->height)
                break;
            draw_row(ui, r, &g_array_index(r->rows, tui_row, j), j == 0, y, lay);
        }
    }
    g_ptr_array_unref(rs);
}

/* The status line's part about the current window: the peer's state,
 * whether it types, whether we scrolled back. */
static void status_peer(ek_tui *ui, const tui_win *w, GString *s)
{
    if (w->peer != NULL) {
        char *name = tui_peer_name(ui, w->peer);
        const ek_app_contact *c = tui_contact(ui, w->peer);
        g_string_append_printf(
            s, " [%s: %s%s]", name,
            c != NULL && !c->accepted
                ? "request"
                : ek_app_peer_state_name(ek_app_get_peer_state(ui->app, w->peer)),
            c != NULL && c->queued > 0 ? ", queued" : "");
        if (w->typing_until > tui_mono_ms())
            g_string_append_printf(s, " [%s is typing%s]", name, glyph(ui, G_TYPING));
        g_free(name);
    }
    if (w->scroll > 0)
        g_string_append(s, " [-- more --]");
}

static void draw_status(ek_tui *ui)
{
    int y = ui->rows - 2;
    const tui_win *w = tui_win_current(ui);
    attr_t bar = attr_of(ui, CP_BAR) | (ui->colors ? A_NORMAL : A_REVERSE);
    (void)attrset(bar);
    fill_row(y, 0, ui->cols);
    GDateTime *now = g_date_time_new_now_local();
    char *clock = now != NULL ? g_date_time_format(now, "%H:%M") : g_strdup("--:--");
    if (now != NULL)
        g_date_time_unref(now);
    GString *s = g_string_new(NULL);
    for (int shortened = 0; shortened < 2; shortened++) {
        /* Our whole ID when it fits, else its start. */
        g_string_truncate(s, 0);
        char *me = shortened
                       ? g_strdup_printf("%.8s%s", ek_app_self_id(ui->app), glyph(ui, G_TYPING))
                       : g_strdup(ek_app_self_id(ui->app));
        g_string_append_printf(s, "[%s] [%s %s] [broker: %s]", clock, ek_app_profile(ui->app), me,
                               ek_app_net_state_name(ek_app_get_net_state(ui->app)));
        g_free(me);
        status_peer(ui, w, s);
        if (tui_str_width(s->str, s->len) <= (size_t)ui->cols)
            break;
    }
    g_free(clock);
    int x = put(y, 0, s->str, ui->cols);
    g_string_free(s, TRUE);
    /* Activity: window numbers, messages highlighted. */
    int any = 0;
    for (guint i = 0; i < ui->wins->len; i++) {
        const tui_win *aw = g_ptr_array_index(ui->wins, i);
        if (aw->activity == 0 || i == ui->cur)
            continue;
        char num[24];
        g_snprintf(num, sizeof(num), "%s%u", any ? "," : " [Act: ", i + 1);
        (void)attrset(aw->activity >= 2 ? (attr_of(ui, CP_ACT) | A_BOLD) : bar);
        x += put(y, x, num, ui->cols - x);
        any = 1;
    }
    (void)attrset(bar);
    if (any)
        put(y, x, "]", ui->cols - x);
    (void)attrset(A_NORMAL);
}

static void draw_input(ek_tui *ui)
{
    int y = ui->rows - 1;
    const tui_win *w = tui_win_current(ui);
    fill_row(y, 0, ui->cols);
    char *name = w->peer != NULL ? tui_peer_name(ui, w->peer) : g_strdup("enkrypt");
    char *prompt = g_strdup_printf("[%s] ", name);
    g_free(name);
    int px = put(y, 0, prompt, ui->cols / 2);
    g_free(prompt);
    size_t first = 0;
    size_t col = tui_edit_layout(&ui->edit, (size_t)(ui->cols - px), &first);
    put(y, px, ui->edit.buf->str + first, ui->cols - px);
    (void)move(y, px + (int)col);
}

/* Mark the current conversation read when it is on screen at its end. */
static void mark_seen(ek_tui *ui)
{
    tui_win *w = tui_win_current(ui);
    w->activity = 0;
    if (w->peer == NULL || w->scroll > 0)
        return;
    const ek_app_contact *c = tui_contact(ui, w->peer);
    if (c == NULL || !c->accepted || c->unread == 0)
        return;
    GError *e = NULL;
    if (!ek_app_mark_read(ui->app, w->peer, NULL, &e)) {
        g_message("cannot mark the messages read: %s", e->message);
        g_clear_error(&e);
    }
    ui->contacts_dirty = 1;
    tui_sync_contacts(ui);
}

static void redraw_now(ek_tui *ui)
{
    tui_sync_contacts(ui);
    mark_seen(ui);
    getmaxyx(stdscr, ui->rows, ui->cols);
    (void)erase();
    if (ui->rows < 4 || ui->cols < 10) {
        put(0, 0, "enkrypt: the terminal is too small", ui->cols);
        (void)refresh();
        return;
    }
    tui_layout lay = layout_of(ui);
    draw_title(ui);
    draw_contacts(ui, &lay);
    draw_conversation(ui, &lay);
    draw_status(ui);
    draw_input(ui);
    (void)refresh();
}

static gboolean redraw_cb(gpointer user)
{
    ek_tui *ui = user;
    ui->redraw_source = 0;
    redraw_now(ui);
    return G_SOURCE_REMOVE;
}

void tui_redraw_later(ek_tui *ui)
{
    if (ui->redraw_source == 0)
        ui->redraw_source = g_idle_add_full(G_PRIORITY_DEFAULT_IDLE + 10, redraw_cb, ui, NULL);
}

/* ---- core events ---- */

static void note_peer_state(ek_tui *ui, tui_win *w, const ek_app_event *ev)
{
    if (w->shown_state == (int)ev->peer_state && ev->peer_state != EK_APP_PEER_FAILED)
        return;
    w->shown_state = (int)ev->peer_state;
    char *name = tui_peer_name(ui, ev->peer);
    const char *d = ev->detail;
    switch (ev->peer_state) {
    case EK_APP_PEER_CONNECTING: tui_note(ui, w, TUI_LINE_SYS, "connecting to %s...", name); break;
    case EK_APP_PEER_HANDSHAKING:
        tui_note(ui, w, TUI_LINE_SYS, "channel to %s open; securing the session...", name);
        break;
    case EK_APP_PEER_READY:
        tui_note(ui, w, TUI_LINE_SYS, "%s is ready: %s", name,
                 ev->resumed ? "the saved session resumed"
                             : "end-to-end encrypted session established");
        break;
    case EK_APP_PEER_OFFLINE:
        tui_note(ui, w, TUI_LINE_SYS, "%s is offline%s%s", name, d != NULL ? ": " : "",
                 d != NULL ? d : "");
        break;
    case EK_APP_PEER_FAILED:
        tui_note(ui, w, TUI_LINE_ERR, "connection to %s failed%s%s", name, d != NULL ? ": " : "",
                 d != NULL ? d : "");
        break;
    default: break;
    }
    g_free(name);
}

static void note_request(ek_tui *ui, tui_win *w, const char *peer)
{
    tui_note(ui, w, TUI_LINE_SYS, "%s wants to connect: type /accept %s to talk (or /reject %s)",
             peer, peer, peer);
}

static void on_event(ek_app *app, const ek_app_event *ev, void *user)
{
    (void)app;
    ek_tui *ui = user;
    tui_win *status = g_ptr_array_index(ui->wins, 0);
    switch (ev->type) {
    case EK_APP_EV_MESSAGE: {
        if (ev->msg == NULL || ev->peer == NULL)
            break;
        tui_win *w = tui_win_for_peer(ui, ev->peer, 1);
        w->typing_until = 0;
        if (w->loaded)
            show_message(ui, w, ev->msg);
        else if (w != tui_win_current(ui))
            w->activity = 2;
        tui_contacts_changed(ui);
        break;
    }
    case EK_APP_EV_DELIVERED:
    case EK_APP_EV_READ: {
        tui_win *w = tui_win_for_peer(ui, ev->peer, 0);
        tui_line *l =
            w != NULL && ev->msg_id != NULL ? g_hash_table_lookup(w->ids, ev->msg_id) : NULL;
        ek_app_msg_status st = ev->type == EK_APP_EV_READ ? EK_APP_MSG_READ : EK_APP_MSG_DELIVERED;
        if (l != NULL && l->status < st)
            l->status = st;
        tui_contacts_changed(ui);
        break;
    }
    case EK_APP_EV_PEER_STATE: {
        if (ev->peer == NULL)
            break;
        tui_win *w = tui_win_for_peer(ui, ev->peer, 1);
        note_peer_state(ui, w, ev);
        if (ev->peer_state == EK_APP_PEER_READY)
            tui_refresh_status(ui, w);
        else
            w->typing_until = 0;
        tui_contacts_changed(ui);
        break;
    }
    case EK_APP_EV_CONTACT_REQUEST: {
        if (ev->peer == NULL)
            break;
        g_free(ui->last_request);
        ui->last_request = g_strdup(ev->peer);
        tui_win *w = tui_win_for_peer(ui, ev->peer, 1);
        note_request(ui, w, ev->peer);
        note_request(ui, status, ev->peer);
        tui_win *cur = tui_win_current(ui);
        if (cur != w && cur != status)
            note_request(ui, cur, ev->peer);
        tui_contacts_changed(ui);
        break;
    }
    case EK_APP_EV_TYPING: {
        tui_win *w = tui_win_for_peer(ui, ev->peer, 0);
        if (w != NULL)
            w->typing_until = ev->typing ? tui_mono_ms() + TUI_TYPING_SHOW_MS : 0;
        break;
    }
    case EK_APP_EV_NET_STATE: {
        int bad = ev->net_state == EK_APP_NET_FAILED ||
                  (ev->net_state == EK_APP_NET_RECONNECTING && ev->error != 0);
        tui_line_kind k = bad ? TUI_LINE_ERR : TUI_LINE_SYS;
        if (ev->detail != NULL)
            tui_note(ui, status, k, "broker: %s", ev->detail);
        else
            tui_note(ui, status, k, "broker: %s", ek_app_net_state_name(ev->net_state));
        if (ev->net_state == EK_APP_NET_FAILED && tui_win_current(ui) != status)
            tui_note(ui, NULL, TUI_LINE_ERR, "broker: %s",
                     ev->detail != NULL ? ev->detail : "failed");
        break;
    }
    case EK_APP_EV_ERROR: {
        tui_win *w = ev->peer != NULL ? tui_win_for_peer(ui, ev->peer, 0) : NULL;
        const char *d = ev->detail != NULL ? ev->detail : "an error occurred";
        tui_note(ui, w != NULL ? w : status, TUI_LINE_ERR, "%s", d);
        if (tui_win_current(ui) != w && tui_win_current(ui) != status)
            tui_note(ui, NULL, TUI_LINE_ERR, "%s", d);
        break;
    }
    default: break; /* an event this UI does not show */
    }
    tui_redraw_later(ui);
}

/* ---- keys ---- */

void tui_quit(ek_tui *ui)
{
    if (ui->loop != NULL)
        g_main_loop_quit(ui->loop);
}

static void scroll_page(ek_tui *ui, int up)
{
    tui_win *w = tui_win_current(ui);
    tui_layout lay = layout_of(ui);
    size_t page = lay.height > 2 ? (size_t)lay.height - 2 : 1;
    if (up) {
        if (w->at_top)
            win_load_older(ui, w);
        w->scroll += page;
    } else {
        w->scroll = w->scroll > page ? w->scroll - page : 0;
    }
    tui_redraw_later(ui);
}

static void window_step(ek_tui *ui, int delta)
{
    guint n = ui->wins->len;
    tui_switch(ui, (guint)(((int)ui->cur + delta + (int)n) % (int)n));
}

static void enter_line(ek_tui *ui)
{
    char *line = tui_edit_take(&ui->edit);
    tui_typing_stop(ui);
    tui_cmd_line(ui, line);
    g_free(line);
}

/* A function key or a key ncurses decoded (KEY_*). */
static void on_function_key(ek_tui *ui, wint_t k)
{
    tui_edit *e = &ui->edit;
    switch (k) {
    case KEY_LEFT: tui_edit_left(e); return;
    case KEY_RIGHT: tui_edit_right(e); return;
    case KEY_HOME: tui_edit_home(e); return;
    case KEY_END: tui_edit_end(e); return;
    case KEY_UP: tui_edit_history_up(e); return;
    case KEY_DOWN: tui_edit_history_down(e); return;
    case KEY_BACKSPACE:
        tui_edit_backspace(e);
        typing_note(ui);
        return;
    case KEY_DC:
        tui_edit_delete(e);
        typing_note(ui);
        return;
    case KEY_PPAGE: scroll_page(ui, 1); return;
    case KEY_NPAGE: scroll_page(ui, 0); return;
    case KEY_ENTER: enter_line(ui); return;
    case KEY_RESIZE: clearok(curscr, TRUE); return;
    default: break;
    }
    if (k == (wint_t)KEY_F(1)) {
        tui_cmd_help(ui);
    } else if (k == (wint_t)KEY_F(5)) {
        window_step(ui, -1);
    } else if (k == (wint_t)KEY_F(6)) {
        window_step(ui, 1);
    } else {
        /* xterm-style modified arrows have no KEY_ constant: by name. */
        const char *name = keyname((int)k);
        if (name == NULL)
            return;
        if (strcmp(name, "kLFT3") == 0)
            window_step(ui, -1); /* alt-left */
        else if (strcmp(name, "kRIT3") == 0)
            window_step(ui, 1); /* alt-right */
        else if (strcmp(name, "kLFT5") == 0)
            tui_edit_word_left(e); /* ctrl-left */
        else if (strcmp(name, "kRIT5") == 0)
            tui_edit_word_right(e);
    }
}

/* ESC then c: alt-c. */
static void on_alt_key(ek_tui *ui, wint_t c)
{
    if (c >= '1' && c <= '9')
        tui_switch(ui, (guint)(c - '1'));
    else if (c == '0')
        tui_switch(ui, 9);
    else if (c == 'a')
        switch_next_active(ui);
    else if (c == 'b')
        tui_edit_word_left(&ui->edit);
    else if (c == 'f')
        tui_edit_word_right(&ui->edit);
}

static void on_char(ek_tui *ui, wint_t c)
{
    tui_edit *e = &ui->edit;
    switch (c) {
    case 1: tui_edit_home(e); return;  /* ctrl-a */
    case 2: tui_edit_left(e); return;  /* ctrl-b */
    case 5: tui_edit_end(e); return;   /* ctrl-e */
    case 6: tui_edit_right(e); return; /* ctrl-f */
    case 4: tui_edit_delete(e); break; /* ctrl-d */
    case 8:
    case 127: tui_edit_backspace(e); break;
    case 11: tui_edit_kill_to_end(e); break;   /* ctrl-k */
    case 21: tui_edit_kill_to_start(e); break; /* ctrl-u */
    case 23: tui_edit_kill_word(e); break;     /* ctrl-w */
    case 25: tui_edit_yank(e); break;          /* ctrl-y */
    case 12: clearok(curscr, TRUE); return;    /* ctrl-l */
    case 14: window_step(ui, 1); return;       /* ctrl-n */
    case 16: window_step(ui, -1); return;      /* ctrl-p */
    case 10:
    case 13: enter_line(ui); return;
    case 3: { /* ctrl-c: twice to quit */
        int64_t now = tui_mono_ms();
        if (ui->ctrl_c_ms != 0 && now - ui->ctrl_c_ms < 2000) {
            tui_quit(ui);
        } else {
            ui->ctrl_c_ms = now;
            tui_note(ui, NULL, TUI_LINE_SYS, "press ctrl-c again to quit (or type /quit)");
        }
        return;
    }
    default:
        if (c < 0x20)
            return;
        tui_edit_insert(e, (gunichar)c);
        break;
    }
    typing_note(ui);
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer user)
{
    (void)fd;
    ek_tui *ui = user;
    if ((cond & (G_IO_HUP | G_IO_ERR)) != 0 && (cond & G_IO_IN) == 0) {
        /* The terminal went away. */
        ui->stdin_source = 0;
        tui_quit(ui);
        return G_SOURCE_REMOVE;
    }
    for (;;) {
        wint_t k = 0;
        int r = get_wch(&k);
        if (r == ERR)
            break;
        if (r == KEY_CODE_YES) {
            on_function_key(ui, k);
        } else if (k == 27) {
            wint_t n = 0;
            int r2 = get_wch(&n);
            if (r2 == OK)
                on_alt_key(ui, n);
            else if (r2 == KEY_CODE_YES)
                on_function_key(ui, n);
        } else {
            on_char(ui, k);
        }
    }
    tui_redraw_later(ui);
    return G_SOURCE_CONTINUE;
}

/* ---- signals, the clock, the log ---- */

static gboolean on_winch(gpointer user)
{
    ek_tui *ui = user;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        (void)resize_term(ws.ws_row, ws.ws_col);
    clearok(curscr, TRUE);
    redraw_now(ui);
    return G_SOURCE_CONTINUE;
}

static gboolean on_quit_signal(gpointer user)
{
    tui_quit(user);
    return G_SOURCE_CONTINUE;
}

/* Log lines from any thread wait here for the main loop (never freed:
 * a thread may still log while the UI closes). */
static GAsyncQueue *tui_log_queue(void)
{
    static gsize once = 0;
    static GAsyncQueue *q = NULL;
    if (g_once_init_enter(&once)) {
        q = g_async_queue_new_full(g_free);
        g_once_init_leave(&once, 1);
    }
    return q;
}

static void on_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user)
{
    (void)user;
    if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) != 0)
        return;
    int bad = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) != 0;
    g_async_queue_push(tui_log_queue(),
                       g_strdup_printf("%c%s%s%s", bad ? 'E' : 'N', domain != NULL ? domain : "",
                                       domain != NULL ? ": " : "", message != NULL ? message : ""));
    g_main_context_wakeup(NULL);
}

static int drain_log(ek_tui *ui)
{
    int any = 0;
    char *s;
    tui_win *status = g_ptr_array_index(ui->wins, 0);
    while ((s = g_async_queue_try_pop(tui_log_queue())) != NULL) {
        tui_note(ui, status, s[0] == 'E' ? TUI_LINE_ERR : TUI_LINE_SYS, "%s", s + 1);
        g_free(s);
        any = 1;
    }
    return any;
}

static gboolean on_clock(gpointer user)
{
    ek_tui *ui = user;
    int changed = drain_log(ui);
    int64_t now = tui_mono_ms();
    for (guint i = 1; i < ui->wins->len; i++) {
        tui_win *w = g_ptr_array_index(ui->wins, i);
        if (w->typing_until != 0 && w->typing_until <= now) {
            w->typing_until = 0;
            changed = 1;
        }
    }
    if (ui->typing_peer != NULL && now - ui->typing_key_ms > TUI_TYPING_IDLE_MS)
        tui_typing_stop(ui);
    GDateTime *t = g_date_time_new_now_local();
    int minute = t != NULL ? g_date_time_get_minute(t) : 0;
    if (t != NULL)
        g_date_time_unref(t);
    if (minute != ui->last_minute) {
        ui->last_minute = minute;
        changed = 1;
    }
    if (changed)
        tui_redraw_later(ui);
    return G_SOURCE_CONTINUE;
}

/* stderr to <data dir>/tui.log while the screen is ours; returns the
 * saved descriptor or -1. */
static int redirect_stderr(ek_app *app)
{
    ek_app_paths p;
    if (!ek_app_paths_get(&p, ek_app_profile(app), NULL))
        return -1;
    char *path = g_build_filename(p.data_dir, "tui.log", NULL);
    ek_app_paths_clear(&p);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    g_free(path);
    if (fd < 0)
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    (void)fflush(stderr);
    int saved = dup(STDERR_FILENO);
    if (saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
        if (saved >= 0)
            close(saved);
        saved = -1;
    }
    close(fd);
    return saved;
}

static void restore_stderr(int saved)
{
    if (saved < 0)
        return;
    (void)fflush(stderr);
    (void)dup2(saved, STDERR_FILENO);
    close(saved);
}

static void init_colors(ek_tui *ui)
{
    if (!has_colors() || start_color() == ERR)
        return;
    (void)use_default_colors();
    (void)init_pair(CP_BAR, COLOR_WHITE, COLOR_BLUE);
    (void)init_pair(CP_OWN, COLOR_CYAN, -1);
    (void)init_pair(CP_PEER, COLOR_GREEN, -1);
    (void)init_pair(CP_ERR, COLOR_RED, -1);
    (void)init_pair(CP_SYS, COLOR_YELLOW, -1);
    (void)init_pair(CP_QR, COLOR_BLACK, COLOR_WHITE);
    (void)init_pair(CP_ON, COLOR_GREEN, -1);
    (void)init_pair(CP_WAIT, COLOR_YELLOW, -1);
    (void)init_pair(CP_ACT, COLOR_YELLOW, COLOR_BLUE);
    ui->colors = 1;
}

static void welcome(ek_tui *ui)
{
    tui_win *st = g_ptr_array_index(ui->wins, 0);
    tui_note(ui, st, TUI_LINE_SYS, "enkrypt: profile %s unlocked", ek_app_profile(ui->app));
    tui_note(ui, st, TUI_LINE_SYS, "your peer ID is %s", ek_app_self_id(ui->app));
    tui_note(ui, st, TUI_LINE_SYS,
             "give it to your contact (they type /connect %s), or /connect THEIR-ID",
             ek_app_self_id(ui->app));
    tui_note(ui, st, TUI_LINE_SYS,
             "/help lists the commands; Alt-1..9, ctrl-n/ctrl-p or F5/F6 switch windows");
}

int ek_tui_run(ek_app *app)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        (void)fprintf(stderr, "enkrypt: the terminal UI needs a terminal; scripts can use "
                              "`enkrypt daemon --rpc PATH`\n");
        return 1;
    }
    (void)setlocale(LC_CTYPE, "");
    ek_tui ui;
    memset(&ui, 0, sizeof(ui));
    ui.app = app;
    ui.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    ui.wins = g_ptr_array_new_with_free_func((GDestroyNotify)win_free);
    g_ptr_array_add(ui.wins, win_new(NULL));
    ui.last_minute = -1;
    tui_edit_init(&ui.edit);
    /* Our SIGWINCH source first: ncurses then keeps its hands off it. */
    ui.sig_sources[0] = g_unix_signal_add(SIGWINCH, on_winch, &ui);
    ui.sig_sources[1] = g_unix_signal_add(SIGINT, on_quit_signal, &ui);
    ui.sig_sources[2] = g_unix_signal_add(SIGTERM, on_quit_signal, &ui);
    ui.sig_sources[3] = g_unix_signal_add(SIGHUP, on_quit_signal, &ui);
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (scr == NULL) {
        const char *term = g_getenv("TERM");
        (void)fprintf(stderr, "enkrypt: cannot use the terminal (TERM=%s)\n",
                      term != NULL ? term : "");
        for (size_t i = 0; i < G_N_ELEMENTS(ui.sig_sources); i++)
            g_source_remove(ui.sig_sources[i]);
        tui_edit_free(&ui.edit);
        g_ptr_array_unref(ui.wins);
        return 1;
    }
    (void)raw();
    (void)noecho();
    (void)keypad(stdscr, TRUE);
    (void)nodelay(stdscr, TRUE);
    (void)set_escdelay(25);
    init_colors(&ui);
    int saved_stderr = redirect_stderr(app);
    GLogFunc old_log = g_log_set_default_handler(on_log, NULL);
    ui.loop = g_main_loop_new(NULL, FALSE);
    ek_app_set_event_callback(app, on_event, &ui);
    welcome(&ui);
    ui.contacts_dirty = 1;
    tui_sync_contacts(&ui);
    GError *e = NULL;
    if (!ek_app_start(app, &e)) {
        tui_note(&ui, NULL, TUI_LINE_ERR, "cannot start the network: %s", e->message);
        g_clear_error(&e);
    }
    ui.stdin_source = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &ui);
    ui.clock_source = g_timeout_add(1000, on_clock, &ui);
    redraw_now(&ui);
    g_main_loop_run(ui.loop);

    tui_typing_stop(&ui);
    ek_app_set_event_callback(app, NULL, NULL);
    if (ui.stdin_source != 0)
        g_source_remove(ui.stdin_source);
    g_source_remove(ui.clock_source);
    if (ui.redraw_source != 0)
        g_source_remove(ui.redraw_source);
    for (size_t i = 0; i < G_N_ELEMENTS(ui.sig_sources); i++)
        g_source_remove(ui.sig_sources[i]);
    (void)endwin();
    delscreen(scr);
    (void)g_log_set_default_handler(old_log, NULL);
    restore_stderr(saved_stderr);
    char *s;
    while ((s = g_async_queue_try_pop(tui_log_queue())) != NULL)
        g_free(s);
    g_main_loop_unref(ui.loop);
    tui_edit_free(&ui.edit);
    g_ptr_array_unref(ui.wins);
    if (ui.contacts != NULL)
        g_ptr_array_unref(ui.contacts);
    g_free(ui.typing_peer);
    g_free(ui.last_request);
    return ui.exit_code;
}
