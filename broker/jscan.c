/*
 * jscan.c: a strict, allocation-free JSON validator that finds the members a
 * relay needs (see jscan.h). Every read goes through the cursor's bounds
 * check; recursion is bounded by BK_JSON_MAX_DEPTH.
 */
#include "jscan.h"

#include <stdint.h>
#include <string.h>

typedef struct cursor {
    const unsigned char *p;
    size_t len;
    size_t pos;
    int depth;
} cursor;

static int peek(const cursor *c)
{
    return c->pos < c->len ? c->p[c->pos] : -1;
}

static void skip_ws(cursor *c)
{
    while (c->pos < c->len) {
        unsigned char ch = c->p[c->pos];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            return;
        c->pos++;
    }
}

/* Length of the UTF-8 sequence at s[0..n), or 0 if it is not valid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char b0 = s[0];
    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xc2 && b0 <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (b0 >= 0xe0 && b0 <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (b0 == 0xe0 && s[1] < 0xa0)
            return 0; /* overlong */
        if (b0 == 0xed && s[1] >= 0xa0)
            return 0; /* UTF-16 surrogate */
        return 3;
    }
    if (b0 >= 0xf0 && b0 <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if (b0 == 0xf0 && s[1] < 0x90)
            return 0; /* overlong */
        if (b0 == 0xf4 && s[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

bool bk_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Does any byte of w need a closer look inside a string: below 0x20, a
 * quote, a backslash, or non-ASCII? ("Bit Twiddling Hacks": a word has a
 * byte less than n if (x - n*ones) & ~x & highs; a zero byte if n = 1.)
 * Exact as an existence test, which is all the caller needs. */
static bool word_is_special(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
    uint64_t lt_space = (w - ones * 0x20) & ~w & highs;
    uint64_t has_quote = (quote - ones) & ~quote & highs;
    uint64_t has_bslash = (bslash - ones) & ~bslash & highs;
    return (lt_space | has_quote | has_bslash | (w & highs)) != 0;
}

static int scan_string(cursor *c)
{
    if (peek(c) != '"')
        return -1;
    c->pos++;
    while (c->pos < c->len) {
        unsigned char ch = c->p[c->pos];
        if (ch == '"') {
            c->pos++;
            return 0;
        }
        if (ch < 0x20)
            return -1; /* raw control characters are not allowed (RFC 8259 §7) */
        if (ch == '\\') {
            if (c->pos + 1 >= c->len)
                return -1;
            unsigned char e = c->p[c->pos + 1];
            if (e == 'u') {
                if (c->pos + 6 > c->len)
                    return -1;
                for (size_t i = 2; i < 6; i++)
                    if (hexval(c->p[c->pos + i]) < 0)
                        return -1;
                c->pos += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                c->pos += 2;
            } else {
                return -1;
            }
            continue;
        }
        if (ch < 0x80) {
            c->pos++;
            /* SDP is long plain ASCII: skip 8 bytes at a time while none
             * is a quote, a backslash, a control or a non-ASCII byte. */
            while (c->len - c->pos >= 8) {
                uint64_t w;
                memcpy(&w, c->p + c->pos, 8);
                if (word_is_special(w))
                    break;
                c->pos += 8;
            }
            continue;
        }
        size_t n = utf8_seq(c->p + c->pos, c->len - c->pos);
        if (!n)
            return -1;
        c->pos += n;
    }
    return -1;
}

static int scan_digits(cursor *c)
{
    size_t start = c->pos;
    while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9')
        c->pos++;
    return c->pos > start ? 0 : -1;
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int scan_number(cursor *c)
{
    if (peek(c) == '-')
        c->pos++;
    if (peek(c) == '0')
        c->pos++;
    else if (scan_digits(c))
        return -1;
    if (peek(c) == '.') {
        c->pos++;
        if (scan_digits(c))
            return -1;
    }
    if (peek(c) == 'e' || peek(c) == 'E') {
        c->pos++;
        if (peek(c) == '+' || peek(c) == '-')
            c->pos++;
        if (scan_digits(c))
            return -1;
    }
    return 0;
}

static int scan_literal(cursor *c, const char *word)
{
    size_t n = strlen(word);
    if (c->len - c->pos < n || memcmp(c->p + c->pos, word, n) != 0)
        return -1;
    c->pos += n;
    return 0;
}

static int scan_value(cursor *c);

static int scan_container(cursor *c, int close, int is_object)
{
    if (++c->depth > BK_JSON_MAX_DEPTH)
        return -1;
    c->pos++; /* the opening bracket */
    skip_ws(c);
    if (peek(c) == close) {
        c->pos++;
        c->depth--;
        return 0;
    }
    for (;;) {
        skip_ws(c);
        if (is_object) {
            if (scan_string(c))
                return -1;
            skip_ws(c);
            if (peek(c) != ':')
                return -1;
            c->pos++;
            skip_ws(c);
        }
        if (scan_value(c))
            return -1;
        skip_ws(c);
        int ch = peek(c);
        c->pos++;
        if (ch == close)
            break;
        if (ch != ',')
            return -1;
    }
    c->depth--;
    return 0;
}

static int scan_value(cursor *c)
{
    switch (peek(c)) {
    case '{': return scan_container(c, '}', 1);
    case '[': return scan_container(c, ']', 0);
    case '"': return scan_string(c);
    case 't': return scan_literal(c, "true");
    case 'f': return scan_literal(c, "false");
    case 'n': return scan_literal(c, "null");
    default: return scan_number(c);
    }
}

/* Is the key token (quotes included) the member name want? Keys written
 * with escapes are decoded first, as JSON.parse would. */
static bool key_is(bk_jspan key, const char *want)
{
    size_t n = strlen(want);
    if (key.len == n + 2 && memcmp(key.p + 1, want, n) == 0)
        return true;
    if (!memchr(key.p, '\\', key.len))
        return false;
    char buf[16];
    long got = bk_json_unescape(buf, sizeof buf, key);
    return got == (long)n && memcmp(buf, want, n) == 0;
}

static enum bk_jkind kind_of(bk_jspan v)
{
    return v.p[0] == '"' ? BK_J_STRING : BK_J_OTHER;
}

int bk_jscan_frame(bk_frame *f, const unsigned char *buf, size_t len)
{
    cursor c = {buf, len, 0, 1};
    memset(f, 0, sizeof *f);

    skip_ws(&c);
    if (peek(&c) != '{')
        return -1;
    c.pos++;
    skip_ws(&c);
    if (peek(&c) == '}') {
        c.pos++;
    } else {
        for (;;) {
            skip_ws(&c);
            size_t k0 = c.pos;
            if (scan_string(&c))
                return -1;
            bk_jspan key = {buf + k0, c.pos - k0};
            skip_ws(&c);
            if (peek(&c) != ':')
                return -1;
            c.pos++;
            skip_ws(&c);
            size_t v0 = c.pos;
            if (scan_value(&c))
                return -1;
            bk_jspan val = {buf + v0, c.pos - v0};
            if (key_is(key, "type")) {
                f->type = val;
                f->type_kind = kind_of(val);
            } else if (key_is(key, "dst")) {
                f->dst = val;
                f->dst_kind = kind_of(val);
            } else if (key_is(key, "payload")) {
                f->payload = val;
                f->has_payload = true;
            }
            skip_ws(&c);
            int ch = peek(&c);
            c.pos++;
            if (ch == '}')
                break;
            if (ch != ',')
                return -1;
        }
    }
    skip_ws(&c);
    return c.pos == len ? 0 : -1;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static unsigned long hex4(const unsigned char *p)
{
    unsigned long v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 4) | (unsigned long)hexval(p[i]);
    return v;
}

long bk_json_unescape(char *out, size_t cap, bk_jspan tok)
{
    if (tok.len < 2 || tok.p[0] != '"' || tok.p[tok.len - 1] != '"')
        return -1;
    const unsigned char *s = tok.p + 1;
    size_t n = tok.len - 2, o = 0;
    for (size_t i = 0; i < n;) {
        char tmp[4];
        size_t w;
        if (s[i] != '\\') {
            tmp[0] = (char)s[i++];
            w = 1;
        } else {
            if (i + 1 >= n)
                return -1;
            unsigned char e = s[i + 1];
            i += 2;
            switch (e) {
            case 'b':
                tmp[0] = '\b';
                w = 1;
                break;
            case 'f':
                tmp[0] = '\f';
                w = 1;
                break;
            case 'n':
                tmp[0] = '\n';
                w = 1;
                break;
            case 'r':
                tmp[0] = '\r';
                w = 1;
                break;
            case 't':
                tmp[0] = '\t';
                w = 1;
                break;
            case 'u': {
                if (i + 4 > n)
                    return -1;
                unsigned long cp = hex4(s + i);
                i += 4;
                if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
                    unsigned long lo = hex4(s + i + 2);
                    if (lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        i += 6;
                    }
                }
                if (cp >= 0xd800 && cp <= 0xdfff)
                    cp = 0xfffd; /* an unpaired surrogate has no UTF-8 form */
                w = put_utf8(tmp, cp);
                break;
            }
            default:
                tmp[0] = (char)e;
                w = 1;
                break; /* " \ / */
            }
        }
        if (o + w > cap)
            return -1;
        memcpy(out + o, tmp, w);
        o += w;
    }
    return (long)o;
}

size_t bk_json_escaped_len(const char *s, size_t len)
{
    size_t n = 2;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            n += 2;
        else if (ch < 0x20)
            n += 6;
        else
            n += 1;
    }
    return n;
}

size_t bk_json_escape(char *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            /* Backslash, 'u', '0', '0' and two hex digits, byte by byte: out is
             * a JSON token of known length, not a NUL-terminated string. */
            out[o] = '\\';
            out[o + 1] = 'u';
            out[o + 2] = '0';
            out[o + 3] = '0';
            out[o + 4] = hex[ch >> 4];
            out[o + 5] = hex[ch & 15];
            o += 6;
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o++] = '"';
    return o;
}
