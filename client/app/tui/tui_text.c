/*
 * tui_text.c: widths, sanitizing, wrapping, the line editor and QR codes
 * for the terminal UI (tui_text.h). Nothing here touches the terminal.
 */
#include <string.h>
#include <wchar.h>

#include <qrencode.h>

#include "tui_text.h"

/* ---- widths ---- */

int tui_char_width(gunichar c)
{
    /* The C library's wcwidth() is what ncursesw uses to place characters,
     * so the layout agrees with the screen. */
    int w = wcwidth((wchar_t)c);
    if (w < 0)
        return 1; /* tui_sanitize replaces these; count them as the replacement */
    return w > 2 ? 2 : w;
}

size_t tui_str_width(const char *s, size_t len)
{
    size_t w = 0;
    const char *end = s + len;
    for (const char *p = s; p < end && *p; p = g_utf8_next_char(p))
        w += (size_t)tui_char_width(g_utf8_get_char(p));
    return w;
}

size_t tui_clip(const char *s, size_t width, size_t *used)
{
    size_t w = 0;
    const char *p = s;
    while (*p) {
        size_t cw = (size_t)tui_char_width(g_utf8_get_char(p));
        if (w + cw > width)
            break;
        w += cw;
        p = g_utf8_next_char(p);
    }
    if (used != NULL)
        *used = w;
    return (size_t)(p - s);
}

static int is_unsafe(gunichar c)
{
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
        return 1; /* C0, DEL, C1: terminal control */
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        return 1; /* bidi embeddings, overrides and isolates (Trojan Source) */
    if (c == 0x2028 || c == 0x2029 || c == 0xfeff)
        return 1; /* line and paragraph separators, BOM */
    return 0;
}

char *tui_sanitize(const char *s, size_t len, int keep_newlines, int utf8)
{
    if (s == NULL)
        return g_strdup("");
    char *valid = g_utf8_make_valid(s, (gssize)len);
    GString *out = g_string_sized_new(strlen(valid) + 1);
    for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c == '\n') {
            g_string_append_c(out, keep_newlines ? '\n' : ' ');
        } else if (c == '\t') {
            g_string_append_c(out, ' ');
        } else if (is_unsafe(c) || (utf8 && wcwidth((wchar_t)c) < 0)) {
            if (utf8)
                g_string_append_unichar(out, 0xfffd);
            else
                g_string_append_c(out, '?');
        } else if (!utf8 && c >= 0x80) {
            g_string_append_c(out, '?');
        } else {
            g_string_append_unichar(out, c);
        }
    }
    g_free(valid);
    return g_string_free(out, FALSE);
}

/* ---- wrapping ---- */

static void add_row(GArray *rows, const char *text, const char *start, const char *end)
{
    tui_row r = {(size_t)(start - text), (size_t)(end - start)};
    g_array_append_val(rows, r);
}

size_t tui_wrap(GArray *rows, const char *text, size_t first_width, size_t rest_width)
{
    size_t added = 0;
    size_t width = first_width > 0 ? first_width : 1;
    const char *row = text;
    const char *p = text;
    const char *brk = NULL; /* just after the last space of this row */
    size_t used = 0;
    while (*p) {
        if (*p == '\n') {
            add_row(rows, text, row, p);
            added++;
            row = ++p;
            used = 0;
            brk = NULL;
            width = rest_width > 0 ? rest_width : 1;
            continue;
        }
        gunichar c = g_utf8_get_char(p);
        size_t w = (size_t)tui_char_width(c);
        if (used + w > width && p > row) {
            const char *end = brk != NULL && brk > row ? brk : p;
            add_row(rows, text, row, end);
            added++;
            /* Rescan from the break: the next row may be narrower. */
            row = p = end;
            used = 0;
            brk = NULL;
            width = rest_width > 0 ? rest_width : 1;
            continue;
        }
        used += w;
        p = g_utf8_next_char(p);
        if (c == ' ')
            brk = p;
    }
    add_row(rows, text, row, p);
    return added + 1;
}

/* ---- the input line ---- */

void tui_edit_init(tui_edit *e)
{
    memset(e, 0, sizeof(*e));
    e->buf = g_string_new(NULL);
    e->history = g_ptr_array_new_with_free_func(g_free);
}

void tui_edit_free(tui_edit *e)
{
    if (e->buf != NULL)
        g_string_free(e->buf, TRUE);
    if (e->history != NULL)
        g_ptr_array_unref(e->history);
    g_free(e->saved);
    g_free(e->killed);
    memset(e, 0, sizeof(*e));
}

void tui_edit_insert(tui_edit *e, gunichar c)
{
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || !g_unichar_validate(c))
        return;
    char u[8];
    int n = g_unichar_to_utf8(c, u);
    g_string_insert_len(e->buf, (gssize)e->cur, u, n);
    e->cur += (size_t)n;
}

void tui_edit_insert_str(tui_edit *e, const char *s)
{
    for (const char *p = s; *p; p = g_utf8_next_char(p))
        tui_edit_insert(e, g_utf8_get_char(p));
}

void tui_edit_left(tui_edit *e)
{
    if (e->cur > 0)
        e->cur = (size_t)(g_utf8_prev_char(e->buf->str + e->cur) - e->buf->str);
}

void tui_edit_right(tui_edit *e)
{
    if (e->cur < e->buf->len)
        e->cur = (size_t)(g_utf8_next_char(e->buf->str + e->cur) - e->buf->str);
}

void tui_edit_home(tui_edit *e)
{
    e->cur = 0;
}

void tui_edit_end(tui_edit *e)
{
    e->cur = e->buf->len;
}

/* The byte before the cursor is a space (ASCII only: words split there). */
static int space_before(const tui_edit *e, size_t at)
{
    return at > 0 && e->buf->str[at - 1] == ' ';
}

static size_t word_start(const tui_edit *e)
{
    size_t at = e->cur;
    while (space_before(e, at))
        at--;
    while (at > 0 && !space_before(e, at))
        at = (size_t)(g_utf8_prev_char(e->buf->str + at) - e->buf->str);
    return at;
}

void tui_edit_word_left(tui_edit *e)
{
    e->cur = word_start(e);
}

void tui_edit_word_right(tui_edit *e)
{
    size_t at = e->cur;
    const char *s = e->buf->str;
    while (at < e->buf->len && s[at] == ' ')
        at++;
    while (at < e->buf->len && s[at] != ' ')
        at = (size_t)(g_utf8_next_char(s + at) - s);
    e->cur = at;
}

void tui_edit_backspace(tui_edit *e)
{
    if (e->cur == 0)
        return;
    size_t from = (size_t)(g_utf8_prev_char(e->buf->str + e->cur) - e->buf->str);
    g_string_erase(e->buf, (gssize)from, (gssize)(e->cur - from));
    e->cur = from;
}

void tui_edit_delete(tui_edit *e)
{
    if (e->cur >= e->buf->len)
        return;
    size_t to = (size_t)(g_utf8_next_char(e->buf->str + e->cur) - e->buf->str);
    g_string_erase(e->buf, (gssize)e->cur, (gssize)(to - e->cur));
}

static void kill_range(tui_edit *e, size_t from, size_t to)
{
    if (to <= from)
        return;
    g_free(e->killed);
    e->killed = g_strndup(e->buf->str + from, to - from);
    g_string_erase(e->buf, (gssize)from, (gssize)(to - from));
    e->cur = from;
}

void tui_edit_kill_to_start(tui_edit *e)
{
    kill_range(e, 0, e->cur);
}

void tui_edit_kill_to_end(tui_edit *e)
{
    kill_range(e, e->cur, e->buf->len);
}

void tui_edit_kill_word(tui_edit *e)
{
    kill_range(e, word_start(e), e->cur);
}

void tui_edit_yank(tui_edit *e)
{
    if (e->killed != NULL)
        tui_edit_insert_str(e, e->killed);
}

void tui_edit_set(tui_edit *e, const char *s)
{
    g_string_truncate(e->buf, 0);
    e->cur = 0;
    e->view = 0;
    tui_edit_insert_str(e, s != NULL ? s : "");
}

void tui_edit_history_up(tui_edit *e)
{
    if (e->hist_pos == 0)
        return;
    if (e->hist_pos == e->history->len) {
        g_free(e->saved);
        e->saved = g_strdup(e->buf->str);
    }
    e->hist_pos--;
    tui_edit_set(e, g_ptr_array_index(e->history, e->hist_pos));
}

void tui_edit_history_down(tui_edit *e)
{
    if (e->hist_pos >= e->history->len)
        return;
    e->hist_pos++;
    if (e->hist_pos == e->history->len) {
        tui_edit_set(e, e->saved);
        g_free(e->saved);
        e->saved = NULL;
    } else {
        tui_edit_set(e, g_ptr_array_index(e->history, e->hist_pos));
    }
}

char *tui_edit_take(tui_edit *e)
{
    char *line = g_strdup(e->buf->str);
    if (line[0] != 0) {
        const char *last =
            e->history->len > 0 ? g_ptr_array_index(e->history, e->history->len - 1) : NULL;
        if (g_strcmp0(last, line) != 0)
            g_ptr_array_add(e->history, g_strdup(line));
        if (e->history->len > TUI_EDIT_HISTORY_MAX)
            g_ptr_array_remove_index(e->history, 0);
    }
    e->hist_pos = e->history->len;
    g_free(e->saved);
    e->saved = NULL;
    tui_edit_set(e, "");
    return line;
}

size_t tui_edit_layout(tui_edit *e, size_t width, size_t *first)
{
    const char *s = e->buf->str;
    if (width < 2)
        width = 2;
    if (e->view > e->cur || e->view > e->buf->len)
        e->view = e->cur;
    if (e->view == e->cur && e->view > 0) {
        /* Moving left past the edge: show some context before the cursor. */
        size_t back = 0;
        while (e->view > 0 && back < width / 3) {
            e->view = (size_t)(g_utf8_prev_char(s + e->view) - s);
            back += (size_t)tui_char_width(g_utf8_get_char(s + e->view));
        }
    }
    /* The cursor's cell must be on screen: at most width - 1 columns before
     * it (one pass: a pasted line may be long). */
    size_t w = tui_str_width(s + e->view, e->cur - e->view);
    while (w > width - 1) {
        w -= (size_t)tui_char_width(g_utf8_get_char(s + e->view));
        e->view = (size_t)(g_utf8_next_char(s + e->view) - s);
    }
    *first = e->view;
    return w;
}

/* ---- QR codes ---- */

/* 1 when module (x, y) of the code with its quiet zone is drawn in the
 * foreground; rows past the end are background. */
static int qr_fg(const QRcode *qr, int margin, int invert, int x, int y)
{
    int total = qr->width + 2 * margin;
    if (y >= total)
        return 0;
    int mx = x - margin, my = y - margin;
    int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
               (qr->data[(size_t)my * (size_t)qr->width + (size_t)mx] & 1) != 0;
    return dark ^ (invert ? 1 : 0);
}

GPtrArray *tui_qr_rows(const char *text, int margin, int utf8, int invert)
{
    if (text == NULL || margin < 0 || margin > 8)
        return NULL;
    /* Digits only are encoded in numeric mode by libqrencode's splitter. */
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return NULL;
    int total = qr->width + 2 * margin;
    GPtrArray *rows = g_ptr_array_new_with_free_func(g_free);
    if (utf8) {
        for (int y = 0; y < total; y += 2) {
            GString *row = g_string_new(NULL);
            for (int x = 0; x < total; x++) {
                int top = qr_fg(qr, margin, invert, x, y),
                    bottom = qr_fg(qr, margin, invert, x, y + 1);
                if (top && bottom)
                    g_string_append(row, "\u2588");
                else if (top)
                    g_string_append(row, "\u2580");
                else if (bottom)
                    g_string_append(row, "\u2584");
                else
                    g_string_append_c(row, ' ');
            }
            g_ptr_array_add(rows, g_string_free(row, FALSE));
        }
    } else {
        for (int y = 0; y < total; y++) {
            GString *row = g_string_new(NULL);
            for (int x = 0; x < total; x++)
                g_string_append(row, qr_fg(qr, margin, invert, x, y) ? "##" : "  ");
            g_ptr_array_add(rows, g_string_free(row, FALSE));
        }
    }
    QRcode_free(qr);
    return rows;
}
