/*
 * test_binarypack.c: BinaryPack (client/net/binarypack.c) against the
 * format table of peerjs-protocol.md §6.5 and the bytes seen on the wire
 * from a browser (§7 of webrtc-transport.md: a 16-byte string is 19 bytes
 * starting d8 00 10), the JavaScript packer's integer choices, round trips
 * of random JSON values, and malformed input (truncated, trailing, bad
 * UTF-8, oversized counts, depth bombs, random bytes). The differential
 * test against the real JavaScript packer is test_binarypack_js.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binarypack.h"
#include "ek_test.h"

/* JSON equality where numbers compare by value: JavaScript has one number
 * type, so 2.0 packs as the integer 2. */
static int json_equiv(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b) &&
               (!json_is_integer(a) || !json_is_integer(b) ||
                json_integer_value(a) == json_integer_value(b));
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_equiv(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach ((json_t *)a, k, v) {
            const json_t *w = json_object_get(b, k);
            if (w == NULL || !json_equiv(v, w))
                return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

static size_t pack_json_text(uint8_t *out, size_t cap, const char *json)
{
    json_error_t jerr;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
    EK_CHECK(v != NULL);
    ek_writer w;
    ek_writer_init_fixed(&w, out, cap);
    EK_CHECK_OK(ek_bp_pack_json(&w, v));
    json_decref(v);
    return w.len;
}

static void check_pack(const char *json, const char *hex)
{
    uint8_t buf[256];
    size_t n = pack_json_text(buf, sizeof buf, json);
    size_t want_len = 0;
    uint8_t *want = ek_test_unhex(hex, &want_len);
    if (n != want_len || memcmp(buf, want, n) != 0)
        ek_test_fail(__FILE__, __LINE__, "pack(%s) differs from %s", json, hex);
    /* and back */
    ek_bp_value *v = NULL;
    EK_CHECK_OK(ek_bp_decode(&v, want, want_len));
    if (v != NULL) {
        json_t *j = ek_bp_to_json(v);
        json_error_t jerr;
        json_t *orig = json_loads(json, JSON_DECODE_ANY, &jerr);
        if (j == NULL || !json_equiv(j, orig))
            ek_test_fail(__FILE__, __LINE__, "decode(%s) is not %s", hex, json);
        json_decref(j);
        json_decref(orig);
    }
    ek_bp_value_free(v);
    free(want);
}

static void test_integers(void)
{
    /* The JavaScript packer's order: fixint, uint8, int8, uint16, int16,
     * uint32, int32, int64 (§6.5). */
    check_pack("0", "00");
    check_pack("127", "7f");
    check_pack("-1", "ff");
    check_pack("-32", "e0");
    check_pack("-33", "d0df");
    check_pack("128", "cc80");
    check_pack("255", "ccff");
    check_pack("-128", "d080");
    check_pack("256", "cd0100");
    check_pack("65535", "cdffff");
    check_pack("-129", "d1ff7f");
    check_pack("-32768", "d18000");
    check_pack("65536", "ce00010000");
    check_pack("4294967295", "ceffffffff");
    check_pack("-32769", "d2ffff7fff");
    check_pack("-2147483648", "d280000000");
    check_pack("4294967296", "d30000000100000000");
    check_pack("-2147483649", "d3ffffffff7fffffff");
    check_pack("9007199254740991", "d3001fffffffffffff");
}

static void test_scalars(void)
{
    check_pack("null", "c0");
    check_pack("true", "c3");
    check_pack("false", "c2");
    check_pack("1.5", "cb3ff8000000000000");
    check_pack("-0.25", "cbbfd0000000000000");
    /* A number with no fraction is packed as an integer, as in JavaScript. */
    check_pack("2.0", "02");
    check_pack("\"\"", "b0");
    check_pack("\"abc\"", "b3616263");
    check_pack("\"\\u00e9\"", "b2c3a9");
    /* webrtc-transport.md §7: a 16-byte string arrived as d8 00 10 ... */
    check_pack("\"0123456789abcdef\"", "d8001030313233343536373839616263646566");
    check_pack("[]", "90");
    check_pack("[1,2]", "920102");
    check_pack("{}", "80");
    check_pack("{\"a\":1}", "81b16101");
    check_pack("[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]", "dc001000000000000000000000000000000000");
}

static void test_raw(void)
{
    uint8_t data[70000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    size_t sizes[] = {0, 1, 15, 16, 65535, 65536, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        size_t cap = ek_bp_raw_size(n);
        uint8_t *buf = malloc(cap);
        ek_writer w;
        ek_writer_init_fixed(&w, buf, cap);
        EK_CHECK_OK(ek_bp_pack_raw(&w, data, n));
        EK_CHECK(w.len == cap);
        uint8_t want_tag = n <= 15 ? (uint8_t)(0xa0 + n) : n <= 0xffff ? 0xda : 0xdb;
        EK_CHECK(buf[0] == want_tag);
        ek_bp_value *v = NULL;
        EK_CHECK_OK(ek_bp_decode(&v, buf, w.len));
        EK_CHECK(v != NULL && v->kind == EK_BP_RAW && v->v.bytes.n == n &&
                 memcmp(v->v.bytes.p, data, n) == 0);
        ek_bp_value_free(v);
        free(buf);
    }
}

static void check_bad(const char *hex, int want)
{
    size_t n = 0;
    uint8_t *b = ek_test_unhex(hex, &n);
    ek_bp_value *v = NULL;
    int rc = ek_bp_decode(&v, b, n);
    if (rc != want)
        ek_test_fail(__FILE__, __LINE__, "decode(%s) gave %d, wanted %d", hex, rc, want);
    EK_CHECK(v == NULL);
    free(b);
}

static void test_malformed(void)
{
    check_bad("", EK_ERR_TRUNCATED);
    check_bad("cd01", EK_ERR_TRUNCATED);
    check_bad("b3616263ff", EK_ERR_TRAILING);
    check_bad("b2c328", EK_ERR_DECODE);        /* bad UTF-8 continuation */
    check_bad("b2c0af", EK_ERR_DECODE);        /* overlong '/' */
    check_bad("b3eda080", EK_ERR_DECODE);      /* a UTF-16 surrogate */
    check_bad("c4", EK_ERR_DECODE);            /* unassigned in BinaryPack */
    check_bad("dd7fffffff", EK_ERR_TRUNCATED); /* 2^31 elements, no bytes */
    check_bad("df7fffffff00", EK_ERR_TRUNCATED);
    check_bad("db00000010aa", EK_ERR_TRUNCATED);
    check_bad("81b161", EK_ERR_TRUNCATED); /* a map missing its value */
    /* 100 nested arrays: deeper than EK_BP_MAX_DEPTH */
    char deep[256];
    for (size_t i = 0; i < 100; i++) {
        deep[2 * i] = '9';
        deep[2 * i + 1] = '1';
    }
    deep[200] = '9';
    deep[201] = '0';
    deep[202] = 0;
    check_bad(deep, EK_ERR_TOO_LARGE);

    /* undefined and the unused codes decode as undefined (JSON null) */
    size_t n = 0;
    uint8_t *b = ek_test_unhex("94c1d4d5d7", &n);
    ek_bp_value *v = NULL;
    EK_CHECK_OK(ek_bp_decode(&v, b, n));
    json_t *j = v != NULL ? ek_bp_to_json(v) : NULL;
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    EK_CHECK(s != NULL && strcmp(s, "[null,null,null,null]") == 0);
    free(s);
    json_decref(j);
    ek_bp_value_free(v);
    free(b);

    /* integer map keys become strings, as JavaScript object keys */
    /* {1: "a", 12: <0 bytes>} */
    b = ek_test_unhex("8201b1610ca0", &n);
    v = NULL;
    EK_CHECK_OK(ek_bp_decode(&v, b, n));
    j = v != NULL ? ek_bp_to_json(v) : NULL;
    s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    EK_CHECK(s != NULL && strcmp(s, "{\"1\":\"a\",\"12\":[]}") == 0);
    free(s);
    json_decref(j);
    ek_bp_value_free(v);
    free(b);
}

/* A small deterministic generator for the property tests. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static json_t *random_json(int depth)
{
    switch (rnd() % (depth > 3 ? 5 : 7)) {
    case 0: return json_null();
    case 1: return json_boolean(rnd() & 1);
    case 2: {
        static const json_int_t edges[] = {0,
                                           127,
                                           128,
                                           -32,
                                           -33,
                                           255,
                                           256,
                                           65535,
                                           65536,
                                           -32768,
                                           -32769,
                                           4294967295LL,
                                           4294967296LL,
                                           -2147483648LL,
                                           -2147483649LL,
                                           9007199254740991LL};
        if (rnd() & 1)
            return json_integer(edges[rnd() % (sizeof edges / sizeof edges[0])]);
        return json_integer((json_int_t)(int32_t)rnd() >> (rnd() % 31));
    }
    case 3: return json_real((double)(int32_t)rnd() / 64.0 + 0.5);
    case 4: {
        char s[64];
        size_t n = rnd() % 40;
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(' ' + rnd() % 95);
        return json_stringn(s, n);
    }
    case 5: {
        json_t *a = json_array();
        size_t n = rnd() % 20;
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, random_json(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        size_t n = rnd() % 18;
        for (size_t i = 0; i < n; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%u", rnd() % 1000);
            json_object_set_new(o, key, random_json(depth + 1));
        }
        return o;
    }
    }
}

static void test_round_trips(void)
{
    for (int i = 0; i < 2000; i++) {
        json_t *v = random_json(0);
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        EK_CHECK_OK(ek_bp_pack_json(&w, v));
        ek_bp_value *d = NULL;
        EK_CHECK_OK(ek_bp_decode(&d, w.buf, w.len));
        json_t *back = d != NULL ? ek_bp_to_json(d) : NULL;
        if (back == NULL || !json_equiv(back, v)) {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            ek_test_fail(__FILE__, __LINE__, "round trip of %s failed", s);
            free(s);
        }
        json_decref(back);
        ek_bp_value_free(d);
        ek_writer_dispose(&w);
        json_decref(v);
    }
}

static void test_random_bytes(void)
{
    /* Whatever the bytes, decode either succeeds or fails cleanly (the
     * sanitizer build checks for the rest). */
    uint8_t buf[512];
    for (int i = 0; i < 20000; i++) {
        size_t n = rnd() % sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)rnd();
        /* bias towards container and length tags */
        if (n > 0 && (rnd() & 1))
            buf[0] = (uint8_t)(0xd8 + rnd() % 8);
        ek_bp_value *v = NULL;
        if (ek_bp_decode(&v, buf, n) == EK_OK) {
            json_t *j = ek_bp_to_json(v);
            json_decref(j);
        }
        ek_bp_value_free(v);
    }
}

int main(void)
{
    test_integers();
    test_scalars();
    test_raw();
    test_malformed();
    test_round_trips();
    test_random_bytes();
    return ek_test_finish("net.binarypack");
}
