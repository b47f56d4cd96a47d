/*
 * tui_text.h: the parts of the terminal UI that need no terminal: display
 * widths of UTF-8 text, making untrusted text safe to draw, word wrapping,
 * the input line editor (emacs keys as in irssi, weechat and readline) and
 * the QR code of a safety number as rows of text. Tested by
 * tests/app/test_tui_text.c.
 */
#ifndef EK_TUI_TEXT_H
#define EK_TUI_TEXT_H

#include <stddef.h>

#include <glib.h>

/* ---- widths ---- */

/* Columns a character takes: 2 for East Asian wide and emoji, 0 for
 * combining marks and other zero-width characters, else 1. */
int tui_char_width(gunichar c);
/* Columns of the first len bytes of valid UTF-8 s. */
size_t tui_str_width(const char *s, size_t len);
/* Bytes of the longest prefix of s (valid UTF-8, NUL-terminated) that fits
 * in width columns; *used gets its width (may be NULL). */
size_t tui_clip(const char *s, size_t width, size_t *used);

/* Untrusted text (a peer's message, a nickname, a log line) made safe to
 * draw: invalid UTF-8 replaced, every control character (C0, DEL, C1, and
 * the bidi overrides that could disguise text) replaced by U+FFFD (or '?'
 * when utf8 is 0, which also replaces every non-ASCII character), a tab by
 * a space; '\n' is kept when keep_newlines is 1, else replaced by a space.
 * g_free the result. */
char *tui_sanitize(const char *s, size_t len, int keep_newlines, int utf8);

/* ---- wrapping ---- */

typedef struct tui_row {
    size_t off; /* byte offset of the row in the text */
    size_t len; /* bytes */
} tui_row;

/* Split sanitized text into rows: the first at most first_width columns,
 * the others at most rest_width; breaks at '\n', else after the last space
 * that fits, else inside a word. Every row holds at least one character, so
 * tiny widths still make progress. Appends to rows (a GArray of tui_row);
 * returns the number of rows added (at least 1). */
size_t tui_wrap(GArray *rows, const char *text, size_t first_width, size_t rest_width);

/* ---- the input line ---- */

#define TUI_EDIT_HISTORY_MAX 500u

typedef struct tui_edit {
    GString *buf;       /* the line, valid UTF-8 */
    size_t cur;         /* cursor: a byte offset on a character boundary */
    size_t view;        /* first byte shown (horizontal scrolling) */
    GPtrArray *history; /* char *: lines entered, oldest first */
    guint hist_pos;     /* history->len: the line being typed */
    char *saved;        /* the line being typed while browsing the history */
    char *killed;       /* the last text cut by ctrl-u/k/w, for ctrl-y */
} tui_edit;

void tui_edit_init(tui_edit *e);
void tui_edit_free(tui_edit *e);
/* Insert a character (controls are ignored) or a string at the cursor. */
void tui_edit_insert(tui_edit *e, gunichar c);
void tui_edit_insert_str(tui_edit *e, const char *s);
void tui_edit_left(tui_edit *e);
void tui_edit_right(tui_edit *e);
void tui_edit_home(tui_edit *e);
void tui_edit_end(tui_edit *e);
void tui_edit_word_left(tui_edit *e);
void tui_edit_word_right(tui_edit *e);
void tui_edit_backspace(tui_edit *e);
void tui_edit_delete(tui_edit *e);
void tui_edit_kill_to_start(tui_edit *e); /* ctrl-u */
void tui_edit_kill_to_end(tui_edit *e);   /* ctrl-k */
void tui_edit_kill_word(tui_edit *e);     /* ctrl-w: the word before the cursor */
void tui_edit_yank(tui_edit *e);          /* ctrl-y */
void tui_edit_history_up(tui_edit *e);
void tui_edit_history_down(tui_edit *e);
/* Take the line (g_free), remember it in the history if not empty, and
 * start a new one. */
char *tui_edit_take(tui_edit *e);
/* Replace the line. */
void tui_edit_set(tui_edit *e, const char *s);
/* Scroll so the cursor is visible in width columns: *first gets the first
 * byte to draw, the return value the cursor's column. */
size_t tui_edit_layout(tui_edit *e, size_t width, size_t *first);

/* ---- QR codes ---- */

/* The QR code of text (ISO/IEC 18004 via libqrencode, error correction
 * level M) as rows of text with a quiet zone of margin modules. utf8 1:
 * two modules per row with the half blocks U+2580/U+2584/U+2588, which
 * show dark modules in the foreground colour (draw them dark on light;
 * invert 1 for the opposite: light modules in the foreground); utf8 0:
 * "##" per module, one row each. NULL when text cannot be encoded. A
 * GPtrArray of char * that frees them. */
GPtrArray *tui_qr_rows(const char *text, int margin, int utf8, int invert);

#endif /* EK_TUI_TEXT_H */
