/*
 * tui_internal.h: what the files of the terminal UI share (tui.c draws and
 * reads keys, tui_cmd.c runs the commands, tui_main.c unlocks and starts).
 */
#ifndef EK_TUI_INTERNAL_H
#define EK_TUI_INTERNAL_H

#include <stdint.h>

#include <glib.h>

#include "core.h"
#include "tui_text.h"

/* Lines kept per window (older ones are dropped; PageUp reloads them from
 * the history). */
#define TUI_LINES_MAX      2000u
#define TUI_HISTORY_PAGE   200u
#define TUI_TYPING_SHOW_MS 6000 /* how long a peer's "typing" lasts without news */
#define TUI_TYPING_SEND_MS 4000 /* we repeat "typing" this often while typing */
#define TUI_TYPING_IDLE_MS 5000 /* we send "stopped typing" after this long idle */

typedef enum tui_line_kind {
    TUI_LINE_SYS = 0, /* a note from the program */
    TUI_LINE_ERR,     /* an error */
    TUI_LINE_IN,      /* a message from the peer */
    TUI_LINE_OUT,     /* a message of ours */
    TUI_LINE_QR,      /* a row of a QR code */
} tui_line_kind;

typedef struct tui_line {
    tui_line_kind kind;
    int64_t ts_ms;
    char id[33]; /* messages: the message ID */
    ek_app_msg_status status;
    char *text; /* sanitized */
} tui_line;

/* A window: 1 is the status window (peer NULL), the others one
 * conversation each, numbered in the order the contacts appeared. */
typedef struct tui_win {
    char *peer;
    GPtrArray *lines;     /* tui_line * */
    GHashTable *ids;      /* message IDs shown (no duplicates) */
    int loaded;           /* the history was read */
    int more_history;     /* older messages are in the vault */
    uint64_t oldest;      /* order of the oldest message loaded */
    size_t scroll;        /* rows scrolled up from the bottom */
    int at_top;           /* the last draw showed the first line */
    int activity;         /* 0 none, 1 notes, 2 messages since last seen */
    int64_t typing_until; /* the peer types (monotonic ms) */
    int shown_state;      /* the last peer state noted in the window, -1 none */
} tui_win;

typedef struct ek_tui {
    ek_app *app;
    GMainLoop *loop;
    GPtrArray *wins; /* tui_win *; [0] the status window */
    guint cur;
    GPtrArray *contacts; /* ek_app_contact *, from the core */
    int contacts_dirty;
    tui_edit edit;
    int utf8, colors;
    int rows, cols;
    guint redraw_source, stdin_source, clock_source;
    guint sig_sources[4];
    char *typing_peer; /* we told this peer we are typing */
    int64_t typing_sent_ms, typing_key_ms;
    char *last_request; /* the last peer that asked to connect */
    int64_t ctrl_c_ms;  /* the first ctrl-c of a pair */
    int last_minute;
    GAsyncQueue *logq; /* char *: log lines from any thread, drained on the loop */
    int exit_code;
} ek_tui;

/* tui.c */
int64_t tui_mono_ms(void);
tui_win *tui_win_current(ek_tui *ui);
tui_win *tui_win_for_peer(ek_tui *ui, const char *peer, int create);
void tui_switch(ek_tui *ui, guint index);
/* Add a line to a window (NULL: the current one); printf-style text is
 * sanitized. */
void tui_note(ek_tui *ui, tui_win *w, tui_line_kind kind, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
void tui_add_line(ek_tui *ui, tui_win *w, tui_line *l);
void tui_error(ek_tui *ui, const GError *e);
void tui_redraw_later(ek_tui *ui);
void tui_contacts_changed(ek_tui *ui);
/* Read the contacts again if something changed since. */
void tui_sync_contacts(ek_tui *ui);
const ek_app_contact *tui_contact(ek_tui *ui, const char *peer);
/* The name shown for a peer: its nick, else the first 8 characters of its
 * ID (g_free). */
char *tui_peer_name(ek_tui *ui, const char *peer);
void tui_typing_stop(ek_tui *ui);
void tui_quit(ek_tui *ui);
void tui_refresh_status(ek_tui *ui, tui_win *w);

/* tui_cmd.c: run one entered line (a command or a message). */
void tui_cmd_line(ek_tui *ui, const char *line);
void tui_cmd_help(ek_tui *ui);

#endif /* EK_TUI_INTERNAL_H */
