/*
 * test_jscan.c: the broker's JSON scanner against jansson, which serves as
 * the reference: for every input both must agree on "is this a JSON
 * object" (apart from the documented differences: jansson refuses \u0000 and
 * integers beyond 64 bits, which JSON.parse and the scanner take), and the
 * members the relay reads must be where jansson sees them. Also the string
 * escape and unescape helpers, and the hash table.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ek_test.h"
#include "jscan.h"
#include "table.h"

static const char *const inputs[] = {
    "{}",
    " { } ",
    "{\"type\":\"OFFER\"}",
    "{\"type\":\"OFFER\",\"dst\":\"B\",\"payload\":{}}",
    "{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false}",
    "{\"n\":-0.5e+10}",
    "{\"n\":0}",
    "{\"n\":01}",
    "{\"n\":1.}",
    "{\"n\":.5}",
    "{\"n\":-}",
    "{\"n\":1e}",
    "{\"n\":+1}",
    "{\"s\":\"\\u00e9\\n\\t\\\"\\\\\\/\"}",
    "{\"s\":\"\\x\"}",
    "{\"s\":\"\\u12\"}",
    "{\"s\":\"caf\xc3\xa9\"}",
    "{\"s\":\"\xc3\"}",
    "{\"s\":\"\xed\xa0\x80\"}",
    "{\"s\":\"\xf4\x90\x80\x80\"}",
    "{\"s\":\"\xc0\xaf\"}",
    "{\"s\":\"a\nb\"}",
    "{\"a\":1,}",
    "{\"a\" 1}",
    "{,}",
    "{\"a\":1}}",
    "{\"a\":1} x",
    "[1,2]",
    "5",
    "\"str\"",
    "null",
    "",
    "{",
    "{\"a\":[1,2}",
    "{\"a\":tru}",
    "{\"a\":nulll}",
    "{'a':1}",
    "{\"a\":1 \"b\":2}",
    "{\"type\":\"OFFER\",\"type\":\"ANSWER\"}",
    "{\"\\u0074ype\":\"X\"}",
    "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    "\t\r\n{\"a\":\"b\"}\n",
};

static void check_against_jansson(void)
{
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        const char *in = inputs[i];
        bk_frame f;
        int ours = bk_jscan_frame(&f, (const unsigned char *)in, strlen(in));
        json_error_t err;
        json_t *j = json_loadb(in, strlen(in), JSON_DECODE_ANY, &err);
        int theirs = j && json_is_object(j) ? 0 : -1;
        if (ours != theirs)
            ek_test_fail(__FILE__, __LINE__, "input %zu '%s': scanner %d, jansson %d", i, in, ours,
                         theirs);
        if (j && !ours) {
            json_t *type = json_object_get(j, "type");
            EK_CHECK((type != NULL) == (f.type_kind != BK_J_NONE));
            if (type && json_is_string(type)) {
                char buf[64];
                long n = bk_json_unescape(buf, sizeof buf, f.type);
                EK_CHECK(n == (long)json_string_length(type) &&
                         !memcmp(buf, json_string_value(type), (size_t)n));
            }
        }
        json_decref(j);
    }
    /* Deeper than BK_JSON_MAX_DEPTH: refused. */
    char deep[400];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"a\":");
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    bk_frame f;
    EK_CHECK(bk_jscan_frame(&f, (const unsigned char *)deep, n) == -1);

    /* Members found, last one wins. */
    const char *m = "{\"type\":\"OFFER\",\"payload\": [1, 2] ,\"dst\":\"B\",\"type\":\"ANSWER\"}";
    EK_CHECK(bk_jscan_frame(&f, (const unsigned char *)m, strlen(m)) == 0);
    EK_CHECK(f.type.len == 8 && !memcmp(f.type.p, "\"ANSWER\"", 8));
    EK_CHECK(f.has_payload && f.payload.len == 6 && !memcmp(f.payload.p, "[1, 2]", 6));
    EK_CHECK(f.dst_kind == BK_J_STRING && f.dst.len == 3);
}

/* The scanner skips plain ASCII 8 bytes at a time: put each kind of
 * special byte at every offset of strings of many lengths and compare the
 * verdict with jansson's. */
static void check_word_skipping(void)
{
    static const char *const specials[] = {"\\n",  "\x01", "\xc3\xa9", "\xff",        "\\u0041",
                                           "\\\"", "\\\\", "\x7f",     "\xe2\x82\xac"};
    char body[64], doc[160];
    for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++)
        for (size_t len = 0; len < 40; len++)
            for (size_t at = 0; at <= len; at++) {
                memset(body, 'x', len);
                body[len] = '\0';
                int n = snprintf(doc, sizeof doc, "{\"p\":\"%.*s%s%s\"}", (int)at, body,
                                 specials[k], body + at);
                bk_frame f;
                int ours = bk_jscan_frame(&f, (const unsigned char *)doc, (size_t)n);
                json_error_t err;
                json_t *j = json_loadb(doc, (size_t)n, 0, &err);
                if ((ours == 0) != (j != NULL))
                    ek_test_fail(__FILE__, __LINE__, "special %zu at %zu of %zu: scanner %d", k, at,
                                 len, ours);
                json_decref(j);
            }
}

static void check_escapes(void)
{
    char out[64];
    size_t n = bk_json_escape(out, "a\"b\\c\x01", 6);
    EK_CHECK(n == bk_json_escaped_len("a\"b\\c\x01", 6));
    EK_CHECK(n == 15 && !memcmp(out, "\"a\\\"b\\\\c\\u0001\"", 15));

    bk_jspan s = {(const unsigned char *)"\"\\ud83d\\ude00x\\u00e9\\ud800\"", 27};
    long got = bk_json_unescape(out, sizeof out, s);
    EK_CHECK(got == 4 + 1 + 2 + 3);
    EK_CHECK(!memcmp(out, "\xf0\x9f\x98\x80x\xc3\xa9\xef\xbf\xbd", 10));
    EK_CHECK(bk_json_unescape(out, 3, s) == -1); /* too small: refused, no overflow */
}

typedef struct item {
    char key[16];
    size_t len;
} item;

static const void *item_key(const void *v, size_t *len)
{
    *len = ((const item *)v)->len;
    return ((const item *)v)->key;
}

static void check_table(void)
{
    enum { N = 5000 };
    item *items = calloc(N, sizeof *items);
    bk_table t;
    EK_CHECK_OK(bk_table_init(&t, item_key));
    for (int i = 0; i < N; i++) {
        items[i].len = (size_t)snprintf(items[i].key, sizeof items[i].key, "id-%d", i);
        EK_CHECK_OK(bk_table_put(&t, &items[i]));
    }
    EK_CHECK(t.count == N);
    for (int i = 0; i < N; i += 2)
        bk_table_del(&t, &items[i]);
    for (int i = 0; i < N; i++) {
        item *got = bk_table_get(&t, items[i].key, items[i].len);
        EK_CHECK(got == (i % 2 ? &items[i] : NULL));
    }
    EK_CHECK(t.count == N / 2);
    EK_CHECK(bk_table_get(&t, "id-", 3) == NULL);
    bk_table_free(&t);
    free(items);
    /* SipHash-2-4 test vector (paper, appendix A): key 00..0f, message 00..0e. */
    unsigned char msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (unsigned char)i;
    EK_CHECK(bk_siphash(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, msg, 15) ==
             0xa129ca6149be45e5ULL);
}

int main(void)
{
    check_against_jansson();
    check_word_skipping();
    check_escapes();
    check_table();
    return ek_test_finish("broker.protocol.jscan");
}
