/*
 * test_tui_text.c: the terminal UI's pure parts (client/app/tui/tui_text.h):
 * widths, sanitizing of untrusted text, wrapping, the line editor and the
 * QR code rows. No terminal needed.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <qrencode.h>

#include "tui_text.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            (void)fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (strcmp(g_, w_) != 0) {                                                                 \
            (void)fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, g_, w_); \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void test_widths(void)
{
    CHECK(tui_char_width('a') == 1);
    CHECK(tui_char_width(0x4e2d) == 2); /* 中 */
    CHECK(tui_char_width(0x0301) == 0); /* combining acute */
    CHECK(tui_str_width("h\xc3\xa9llo", 6) == 5);
    CHECK(tui_str_width("\xe4\xb8\xad\xe6\x96\x87", 6) == 4); /* 中文 */
    size_t used = 0;
    /* A wide character that does not fit is left out whole. */
    CHECK(tui_clip("ab\xe4\xb8\xad", 3, &used) == 2 && used == 2);
    CHECK(tui_clip("ab\xe4\xb8\xad", 4, &used) == 5 && used == 4);
    CHECK(tui_clip("", 4, &used) == 0 && used == 0);
}

static void test_sanitize(void)
{
    /* Escape sequences from a peer never reach the terminal. */
    char *s = tui_sanitize("a\x1b[2Jb\x07", 7, 0, 1);
    CHECK(strchr(s, 0x1b) == NULL && strchr(s, 0x07) == NULL);
    CHECK_STR(s, "a\xef\xbf\xbd[2Jb\xef\xbf\xbd");
    g_free(s);
    /* C1 CSI (U+009B), a bidi override, invalid UTF-8. */
    s = tui_sanitize("x\xc2\x9by\xe2\x80\xaez\xff", 9, 0, 1);
    CHECK_STR(s, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd");
    g_free(s);
    s = tui_sanitize("one\ntwo\tthree", 13, 1, 1);
    CHECK_STR(s, "one\ntwo three");
    g_free(s);
    s = tui_sanitize("one\ntwo", 7, 0, 1);
    CHECK_STR(s, "one two");
    g_free(s);
    s = tui_sanitize("caf\xc3\xa9\x1b", 6, 0, 0);
    CHECK_STR(s, "caf??");
    g_free(s);
    /* An embedded NUL is not a terminator the peer controls. */
    s = tui_sanitize("a\0b", 3, 0, 1);
    CHECK_STR(s, "a\xef\xbf\xbd"
                 "b");
    g_free(s);
    s = tui_sanitize(NULL, 0, 0, 1);
    CHECK_STR(s, "");
    g_free(s);
}

static char *row_text(const char *text, GArray *rows, guint i)
{
    const tui_row *r = &g_array_index(rows, tui_row, i);
    return g_strndup(text + r->off, r->len);
}

static void test_wrap(void)
{
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(tui_row));
    const char *t = "the quick brown fox";
    CHECK(tui_wrap(rows, t, 10, 10) == 2);
    char *a = row_text(t, rows, 0), *b = row_text(t, rows, 1);
    CHECK_STR(a, "the quick ");
    CHECK_STR(b, "brown fox");
    g_free(a);
    g_free(b);
    g_array_set_size(rows, 0);
    /* A long word breaks inside; the rest rows may be narrower. */
    t = "abcdefghij";
    CHECK(tui_wrap(rows, t, 4, 3) == 3);
    a = row_text(t, rows, 0);
    b = row_text(t, rows, 2);
    CHECK_STR(a, "abcd");
    CHECK_STR(b, "hij");
    g_free(a);
    g_free(b);
    g_array_set_size(rows, 0);
    /* Newlines, an empty text, wide characters, a width of 1. */
    CHECK(tui_wrap(rows, "a\n\nb", 10, 10) == 3);
    g_array_set_size(rows, 0);
    CHECK(tui_wrap(rows, "", 10, 10) == 1);
    g_array_set_size(rows, 0);
    t = "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"; /* 3 wide: 6 columns */
    CHECK(tui_wrap(rows, t, 5, 5) == 2);
    g_array_set_size(rows, 0);
    CHECK(tui_wrap(rows, t, 1, 1) == 3); /* progress even when nothing fits */
    g_array_unref(rows);
}

static void test_edit(void)
{
    tui_edit e;
    tui_edit_init(&e);
    tui_edit_insert_str(&e, "hello w\xc3\xb6rld");
    CHECK_STR(e.buf->str, "hello w\xc3\xb6rld");
    tui_edit_left(&e);
    tui_edit_left(&e);
    tui_edit_left(&e);
    tui_edit_backspace(&e); /* removes the two-byte ö as one character */
    CHECK_STR(e.buf->str, "hello wrld");
    tui_edit_home(&e);
    tui_edit_insert(&e, '>');
    tui_edit_insert(&e, 0x1b); /* controls are not inserted */
    CHECK_STR(e.buf->str, ">hello wrld");
    tui_edit_end(&e);
    tui_edit_kill_word(&e); /* ctrl-w */
    CHECK_STR(e.buf->str, ">hello ");
    tui_edit_yank(&e);
    CHECK_STR(e.buf->str, ">hello wrld");
    tui_edit_home(&e);
    tui_edit_right(&e);
    tui_edit_kill_to_end(&e); /* ctrl-k */
    CHECK_STR(e.buf->str, ">");
    tui_edit_kill_to_start(&e); /* ctrl-u */
    CHECK_STR(e.buf->str, "");
    tui_edit_insert_str(&e, "one two three");
    tui_edit_word_left(&e);
    CHECK(e.cur == 8);
    tui_edit_word_left(&e);
    CHECK(e.cur == 4);
    tui_edit_word_right(&e);
    CHECK(e.cur == 7);
    tui_edit_delete(&e);
    CHECK_STR(e.buf->str, "one twothree");
    /* History: up/down, and the line being typed comes back. */
    char *l1 = tui_edit_take(&e);
    CHECK_STR(l1, "one twothree");
    g_free(l1);
    tui_edit_insert_str(&e, "second");
    g_free(tui_edit_take(&e));
    tui_edit_insert_str(&e, "draft");
    tui_edit_history_up(&e);
    CHECK_STR(e.buf->str, "second");
    tui_edit_history_up(&e);
    CHECK_STR(e.buf->str, "one twothree");
    tui_edit_history_up(&e); /* at the oldest: stays */
    CHECK_STR(e.buf->str, "one twothree");
    tui_edit_history_down(&e);
    tui_edit_history_down(&e);
    CHECK_STR(e.buf->str, "draft");
    CHECK(e.cur == 5);
    /* Horizontal scrolling keeps the cursor on screen. */
    tui_edit_set(&e, "0123456789abcdefghij");
    size_t first = 0;
    size_t col = tui_edit_layout(&e, 8, &first);
    CHECK(col <= 7 && first > 0);
    CHECK(tui_str_width(e.buf->str + first, e.cur - first) == col);
    tui_edit_home(&e);
    col = tui_edit_layout(&e, 8, &first);
    CHECK(col == 0 && first == 0);
    tui_edit_free(&e);
}

static void test_qr(void)
{
    const char *digits = "123451234512345123451234512345123451234512345123451234512345";
    GPtrArray *rows = tui_qr_rows(digits, 4, 1, 0);
    CHECK(rows != NULL);
    if (rows != NULL) {
        /* 60 digits at level M: version 2, 25 modules; + 2 x 4 quiet zone =
         * 33 columns and ceil(33 / 2) = 17 rows of half blocks. */
        CHECK(rows->len == 17);
        for (guint i = 0; i < rows->len; i++)
            CHECK(g_utf8_strlen(g_ptr_array_index(rows, i), -1) == 33);
        /* The quiet zone is light: blank first row; the finder pattern's
         * top edge is dark from column 4 to 10. */
        const char *r0 = g_ptr_array_index(rows, 0);
        CHECK(strspn(r0, " ") == 33);
        const char *r2 = g_ptr_array_index(rows, 2);
        CHECK(g_str_has_prefix(r2, "    \xe2\x96\x88")); /* full block at column 4 */
        g_ptr_array_unref(rows);
    }
    /* Decoded back, the half blocks are libqrencode's modules exactly, in
     * both polarities, with a light (background) quiet zone. */
    QRcode *qr = QRcode_encodeString(digits, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    CHECK(qr != NULL && qr->width == 25);
    for (int invert = 0; invert < 2 && qr != NULL; invert++) {
        rows = tui_qr_rows(digits, 4, 1, invert);
        int bad = 0;
        for (guint r = 0; rows != NULL && r < rows->len; r++) {
            const char *p = g_ptr_array_index(rows, r);
            for (int x = 0; *p; x++, p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);
                int fg[2] = {c == 0x2588 || c == 0x2580, c == 0x2588 || c == 0x2584};
                for (int h = 0; h < 2; h++) {
                    int y = 2 * (int)r + h, mx = x - 4, my = y - 4;
                    if (y >= 33) {
                        bad += fg[h]; /* the half row past the end stays empty */
                        continue;
                    }
                    int dark = mx >= 0 && my >= 0 && mx < 25 && my < 25 &&
                               (qr->data[my * 25 + mx] & 1) != 0;
                    bad += fg[h] != (dark ^ invert);
                }
            }
        }
        CHECK(rows != NULL && bad == 0);
        if (rows != NULL)
            g_ptr_array_unref(rows);
    }
    if (qr != NULL)
        QRcode_free(qr);
    rows = tui_qr_rows(digits, 2, 0, 0);
    CHECK(rows != NULL && rows->len == 29 && strlen(g_ptr_array_index(rows, 0)) == 58);
    if (rows != NULL)
        g_ptr_array_unref(rows);
    CHECK(tui_qr_rows(NULL, 4, 1, 0) == NULL);
    CHECK(tui_qr_rows(digits, -1, 1, 0) == NULL);
}

int main(void)
{
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
        (void)fprintf(stderr, "no C.UTF-8 locale\n");
        return 1;
    }
    test_widths();
    test_sanitize();
    test_wrap();
    test_edit();
    test_qr();
    if (failures > 0) {
        (void)fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("tui_text: all checks passed\n");
    return 0;
}
