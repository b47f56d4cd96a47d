/*
 * test_pdu.c: the strict PDU codec and base64url (docs/protocol.md §3).
 * Every PDU type builds and parses back; the builder's bytes are fixed; and
 * each class of bad input is refused with the right error: size before
 * parsing, nesting, duplicate keys, unknown type / field, wrong
 * specVersion, wrong JSON types, bounds of strings, integers and arrays,
 * non-canonical base64url, NUL and invalid UTF-8, missing fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_session.h>

#include "ek_test.h"
#include "proto/pdu.h"

static int parse_rc(const char *json, int where)
{
    ek_pdu *p = NULL;
    int rc = ek_pdu_parse(&p, (const uint8_t *)json, strlen(json), where);
    ek_pdu_free(p);
    return rc;
}

#define HDR "\"specVersion\":\"1.0\""

static void b64url(void)
{
    static const struct {
        const char *in;
        const char *out;
    } kat[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
               {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        char enc[32];
        uint8_t dec[32];
        size_t n = 0, m = 0;
        EK_CHECK_OK(
            ek_b64url_encode(enc, sizeof(enc), &n, (const uint8_t *)kat[i].in, strlen(kat[i].in)));
        EK_CHECK(n == strlen(kat[i].out) && memcmp(enc, kat[i].out, n) == 0);
        EK_CHECK_OK(ek_b64url_decode(dec, sizeof(dec), &m, kat[i].out, strlen(kat[i].out)));
        EK_CHECK(m == strlen(kat[i].in) && memcmp(dec, kat[i].in, m) == 0);
    }
    uint8_t all[256], back[256];
    char enc[400];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    size_t n = 0, m = 0;
    EK_CHECK_OK(ek_b64url_encode(enc, sizeof(enc), &n, all, sizeof(all)));
    EK_CHECK(memchr(enc, '+', n) == NULL && memchr(enc, '/', n) == NULL);
    EK_CHECK_OK(ek_b64url_decode(back, sizeof(back), &m, enc, n));
    EK_CHECK(m == 256 && memcmp(back, all, 256) == 0);
    /* refused: padding, the standard alphabet, length 1 mod 4, stray
     * bits, whitespace */
    static const char *bad[] = {"Zg==", "Zm8=", "a+b/", "Z", "Zh", "Zm9", "Zm9v Yg", "Zm9\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t d[16];
        size_t k = 0;
        int rc = ek_b64url_decode(d, sizeof(d), &k, bad[i], strlen(bad[i]));
        EK_CHECK(rc != EK_OK); /* "Zm9": "fo" is "Zm8", the 2 spare bits set */
    }
}

static void every_type_round_trips(void)
{
    uint8_t bytes[2048];
    memset(bytes, 0x5a, sizeof(bytes));
    for (size_t i = 0; i < pdu_schema_count(); i++) {
        const pdu_schema *s = pdu_schema_at(i);
        ek_pdu_builder *b = NULL;
        EK_CHECK_OK(ek_pdu_build_begin(&b, s->type));
        for (size_t k = 0; k < s->n_fields; k++) {
            const pdu_field *f = &s->fields[k];
            switch (f->type) {
            case PF_STRING:
                EK_CHECK_OK(
                    ek_pdu_add_string(b, f->name, "abcdefgh", f->min > 1 ? (size_t)f->min : 1));
                break;
            case PF_BYTES: EK_CHECK_OK(ek_pdu_add_bytes(b, f->name, bytes, (size_t)f->min)); break;
            case PF_INT: EK_CHECK_OK(ek_pdu_add_int(b, f->name, f->min)); break;
            case PF_BOOL: EK_CHECK_OK(ek_pdu_add_bool(b, f->name, 1)); break;
            case PF_ENUM:
                EK_CHECK_OK(ek_pdu_add_string(b, f->name, f->values[0], strlen(f->values[0])));
                break;
            case PF_STRINGS: EK_CHECK_OK(ek_pdu_add_array_string(b, f->name, "1.0", 3)); break;
            case PF_BYTES_LIST:
                EK_CHECK_OK(ek_pdu_add_array_bytes(b, f->name, bytes, f->item_min));
                break;
            }
        }
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        EK_CHECK_OK(ek_pdu_build_finish(b, &w));
        ek_pdu_build_free(b);
        ek_pdu *p = NULL;
        EK_CHECK_OK(ek_pdu_parse(&p, w.buf, w.len, EK_PDU_ANY));
        EK_CHECK(p != NULL && strcmp(ek_pdu_type(p), s->type) == 0);
        /* In the wrong place: refused. */
        int other = s->where == EK_PDU_OUTER ? EK_PDU_INNER : EK_PDU_OUTER;
        ek_pdu *q = NULL;
        EK_CHECK_RC(ek_pdu_parse(&q, w.buf, w.len, other), EK_ERR_UNSUPPORTED);
        /* Without its first required field: refused. */
        for (size_t k = 0; k < s->n_fields; k++) {
            if (!s->fields[k].required)
                continue;
            ek_pdu_builder *b2 = NULL;
            EK_CHECK_OK(ek_pdu_build_begin(&b2, s->type));
            ek_writer w2;
            ek_writer_init_growable(&w2, NULL);
            EK_CHECK(ek_pdu_build_finish(b2, &w2) != EK_OK);
            ek_pdu_build_free(b2);
            ek_writer_dispose(&w2);
            break;
        }
        ek_pdu_free(p);
        ek_writer_dispose(&w);
    }
    printf("  %zu PDU types build and parse back\n", pdu_schema_count());
}

static void exact_bytes(void)
{
    ek_pdu_builder *b = NULL;
    uint8_t buf[256];
    ek_writer w;
    ek_writer_init_fixed(&w, buf, sizeof(buf));
    uint8_t id[16] = {0};
    id[15] = 1;
    /* fields added out of order come out in the schema's order */
    EK_CHECK_OK(ek_pdu_build_begin(&b, "text"));
    EK_CHECK_OK(ek_pdu_add_string(b, "body", "a\"b\\c\n\x01/\xc3\xa9", 10));
    EK_CHECK_OK(ek_pdu_add_int(b, "timestamp", 1717000000000));
    EK_CHECK_OK(ek_pdu_add_bytes(b, "id", id, 16));
    EK_CHECK_RC(ek_pdu_add_int(b, "timestamp", 1), EK_ERR_INVALID_ARG); /* twice */
    EK_CHECK_RC(ek_pdu_add_int(b, "nosuch", 1), EK_ERR_INVALID_ARG);
    EK_CHECK_RC(ek_pdu_add_bool(b, "body", 1), EK_ERR_INVALID_ARG); /* wrong type */
    EK_CHECK_OK(ek_pdu_build_finish(b, &w));
    ek_pdu_build_free(b);
    static const char want[] = "{\"type\":\"text\",\"specVersion\":\"1.0\",\"id\":"
                               "\"AAAAAAAAAAAAAAAAAAAAAQ\",\"timestamp\":1717000000000,\"body\":"
                               "\"a\\\"b\\\\c\\n\\u0001/\xc3\xa9\"}";
    EK_CHECK(w.len == sizeof(want) - 1 && memcmp(buf, want, w.len) == 0);
    ek_pdu *p = NULL;
    EK_CHECK_OK(ek_pdu_parse(&p, buf, w.len, EK_PDU_INNER));
    const char *s;
    size_t n;
    int64_t ts;
    uint8_t got[16];
    size_t gn;
    EK_CHECK_OK(ek_pdu_string(p, "body", &s, &n));
    EK_CHECK(n == 10 && memcmp(s, "a\"b\\c\n\x01/\xc3\xa9", 10) == 0);
    EK_CHECK_OK(ek_pdu_int(p, "timestamp", &ts));
    EK_CHECK(ts == 1717000000000);
    EK_CHECK_OK(ek_pdu_bytes(p, "id", got, sizeof(got), &gn));
    EK_CHECK(gn == 16 && memcmp(got, id, 16) == 0);
    EK_CHECK(!ek_pdu_has(p, "replyTo"));
    ek_pdu_free(p);
    /* The builder refuses what the parser would: a body over 64 KiB. */
    static char big[70000];
    memset(big, 'a', sizeof(big));
    EK_CHECK_OK(ek_pdu_build_begin(&b, "text"));
    EK_CHECK_OK(ek_pdu_add_bytes(b, "id", id, 16));
    EK_CHECK_OK(ek_pdu_add_int(b, "timestamp", 1));
    EK_CHECK_OK(ek_pdu_add_string(b, "body", big, sizeof(big)));
    ek_writer_init_fixed(&w, buf, sizeof(buf));
    EK_CHECK(ek_pdu_build_finish(b, &w) != EK_OK);
    ek_pdu_build_free(b);
}

static void refusals(void)
{
    const char *ok = "{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":\"stop\"}";
    EK_CHECK_OK(parse_rc(ok, EK_PDU_INNER));
    /* whitespace between tokens is JSON and accepted */
    EK_CHECK_OK(parse_rc("{\"type\" : \"typing\", " HDR ",\n\"timestamp\":5,\"state\":\"stop\"}",
                         EK_PDU_INNER));
    struct {
        const char *json;
        int rc;
    } bad[] = {
        {"", EK_ERR_DECODE},
        {" {\"type\":\"typing\"}", EK_ERR_DECODE}, /* must start with { */
        {"[1]", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":\"stop\"", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":\"stop\"}x", EK_ERR_DECODE},
        {"{\"type\":\"typing\",\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":\"stop\"}",
         EK_ERR_DECODE}, /* duplicate key */
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"timestamp\":6,\"state\":\"stop\"}",
         EK_ERR_DECODE},
        {"{\"type\":\"nosuch\"," HDR "}", EK_ERR_UNSUPPORTED},
        {"{\"type\":\"typing\",\"specVersion\":\"1.1\",\"timestamp\":5,\"state\":\"stop\"}",
         EK_ERR_UNSUPPORTED},
        {"{\"type\":\"typing\",\"specVersion\":1.0,\"timestamp\":5,\"state\":\"stop\"}",
         EK_ERR_DECODE},
        {"{\"type\":\"typing\",\"timestamp\":5,\"state\":\"stop\"}", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":\"stop\",\"x\":1}",
         EK_ERR_DECODE},                                                  /* unknown field */
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5}", EK_ERR_DECODE}, /* missing */
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":\"5\",\"state\":\"stop\"}", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5.0,\"state\":\"stop\"}", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":-1,\"state\":\"stop\"}", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":9007199254740992,\"state\":\"stop\"}",
         EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":99999999999999999999999,\"state\":\"stop\"}",
         EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":\"STOP\"}", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":null}", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":[\"stop\"]}", EK_ERR_DECODE},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":{\"a\":[1]}}", EK_ERR_DECODE},
        {"{\"type\":\"text\"," HDR
         ",\"id\":\"AAAAAAAAAAAAAAAAAAAAAQ==\",\"timestamp\":1,\"body\":\"\"}",
         EK_ERR_TOO_LARGE}, /* padded: longer than 16 bytes can be */
        {"{\"type\":\"text\"," HDR
         ",\"id\":\"AAAAAAAAAAAAAAAAAAAAAR\",\"timestamp\":1,\"body\":\"\"}",
         EK_ERR_DECODE}, /* stray bits */
        {"{\"type\":\"text\"," HDR
         ",\"id\":\"AAAAAAAAAAAAAAAAAAAA\",\"timestamp\":1,\"body\":\"\"}",
         EK_ERR_DECODE}, /* 15 bytes */
        {"{\"type\":\"text\"," HDR
         ",\"id\":\"AAAAAAAAAAAAAAAAAAAAAQ\",\"timestamp\":1,\"body\":\"a\\u0000b\"}",
         EK_ERR_DECODE}, /* NUL */
        {"{\"type\":\"text\"," HDR
         ",\"id\":\"AAAAAAAAAAAAAAAAAAAAAQ\",\"timestamp\":1,\"body\":\"\xff\"}",
         EK_ERR_DECODE}, /* invalid UTF-8 */
        {"{\"type\":\"text\"," HDR
         ",\"id\":\"AAAAAAAAAAAAAAAAAAAAAQ\",\"timestamp\":1,\"body\":\"\\ud800\"}",
         EK_ERR_DECODE}, /* lone surrogate */
        {"{\"type\":\"read-receipt\"," HDR ",\"timestamp\":1,\"targets\":[]}", EK_ERR_DECODE},
        {"{\"type\":\"reaction\"," HDR ",\"id\":\"AAAAAAAAAAAAAAAAAAAAAQ\",\"timestamp\":1,"
         "\"target\":\"AAAAAAAAAAAAAAAAAAAAAQ\",\"emoji\":\"\"}",
         EK_ERR_DECODE}, /* empty emoji */
        {"{\"type\":\"protocol-error\"," HDR ",\"code\":\"nope\",\"fatal\":true}", EK_ERR_DECODE},
        {"{\"type\":\"protocol-error\"," HDR ",\"code\":\"malformed\",\"fatal\":1}", EK_ERR_DECODE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse_rc(bad[i].json, EK_PDU_ANY);
        if (rc != bad[i].rc)
            ek_test_fail(__FILE__, __LINE__, "case %zu: %s -> %d, wanted %d", i, bad[i].json, rc,
                         bad[i].rc);
    }
    /* Size is refused before parsing; depth before jansson. */
    static char huge[EK_PDU_MAX_JSON_BYTES + 2];
    memset(huge, ' ', sizeof(huge) - 1);
    huge[0] = '{';
    huge[sizeof(huge) - 2] = '}';
    EK_CHECK_RC(parse_rc(huge, EK_PDU_OUTER), EK_ERR_TOO_LARGE);
    static char huge_inner[EK_PDU_MAX_INNER_JSON_BYTES + 2];
    memset(huge_inner, ' ', sizeof(huge_inner) - 1);
    huge_inner[0] = '{';
    huge_inner[sizeof(huge_inner) - 2] = '}';
    EK_CHECK_RC(parse_rc(huge_inner, EK_PDU_INNER), EK_ERR_TOO_LARGE);
    EK_CHECK_RC(parse_rc(huge_inner, EK_PDU_ANY), EK_ERR_TOO_LARGE);
    static char deep[20000];
    for (size_t i = 0; i < 9999; i++)
        deep[i] = '[';
    deep[0] = '{';
    EK_CHECK_RC(parse_rc(deep, EK_PDU_ANY), EK_ERR_DECODE);
    /* A string over its bound: too large. */
    static char longb[70100];
    int n = snprintf(longb, sizeof(longb),
                     "{\"type\":\"text\"," HDR
                     ",\"id\":\"AAAAAAAAAAAAAAAAAAAAAQ\",\"timestamp\":1,\"body\":\"");
    static const char close_json[3] = {'"', '}', 0};
    memset(longb + n, 'a', 65537);
    memcpy(longb + n + 65537, close_json, sizeof(close_json));
    EK_CHECK_RC(parse_rc(longb, EK_PDU_INNER), EK_ERR_TOO_LARGE);
    /* The longest body fits, even when every byte must be escaped (an inner
     * PDU may be longer than an outer one). */
    static char longest[EK_PDU_MAX_INNER_JSON_BYTES];
    n = snprintf(longest, sizeof(longest),
                 "{\"type\":\"text\"," HDR
                 ",\"id\":\"AAAAAAAAAAAAAAAAAAAAAQ\",\"timestamp\":1,\"body\":\"");
    static const char esc[6] = {'\\', 'u', '0', '0', '0', '1'};
    size_t at = (size_t)n;
    for (size_t i = 0; i < 65536; i++, at += sizeof(esc))
        memcpy(longest + at, esc, sizeof(esc));
    memcpy(longest + at, close_json, sizeof(close_json));
    EK_CHECK_OK(parse_rc(longest, EK_PDU_INNER));
    EK_CHECK_RC(parse_rc(longest, EK_PDU_OUTER), EK_ERR_TOO_LARGE);
    printf("  %zu refusal cases\n", sizeof(bad) / sizeof(bad[0]) + 3);
}

/* The protocol-error code each kind of refusal is reported with (§8). */
static void refusal_codes(void)
{
    static const struct {
        const char *json;
        const char *code;
    } cases[] = {
        {"{\"type\":\"typing\",\"specVersion\":\"1.1\",\"timestamp\":5,\"state\":\"stop\"}",
         "unsupported-version"},
        {"{\"type\":\"nosuch\"," HDR "}", "unknown-type"},
        {"{\"type\":\"typing\"," HDR ",\"timestamp\":5,\"state\":\"stop\"}", "unknown-type"},
        {"{\"type\":\"typing\"," HDR "", "malformed"},
        {"{\"type\":\"hello\"," HDR ",\"x\":1}", "malformed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ek_pdu *p = NULL;
        const char *code = NULL;
        EK_CHECK(pdu_parse(&p, (const uint8_t *)cases[i].json, strlen(cases[i].json), EK_PDU_OUTER,
                           &code) != EK_OK);
        EK_CHECK(p == NULL && code != NULL && strcmp(code, cases[i].code) == 0);
    }
    static char huge[EK_PDU_MAX_JSON_BYTES + 2];
    memset(huge, ' ', sizeof(huge) - 1);
    huge[0] = '{';
    ek_pdu *p = NULL;
    const char *code = NULL;
    EK_CHECK(pdu_parse(&p, (const uint8_t *)huge, sizeof(huge) - 1, EK_PDU_OUTER, &code) ==
             EK_ERR_TOO_LARGE);
    EK_CHECK(code != NULL && strcmp(code, "too-large") == 0);
}

/* Parsed PDUs hold plaintext (decrypted envelopes): jansson frees through
 * the codec's wiping free (pdu.c), installed before main, and values made
 * with the default allocator still free cleanly through it. */
static void wiping_free(void)
{
#if defined(__linux__) || defined(__GLIBC__) || defined(__APPLE__)
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    EK_CHECK(m != NULL && f != NULL && f != free);
    json_t *j = json_pack("{s:s}", "body", "secret");
    char *dumped = json_dumps(j, JSON_COMPACT);
    EK_CHECK(dumped != NULL);
    free(dumped); /* what other jansson users do: still fine */
    json_decref(j);
    printf("  jansson frees through a wiping free\n");
#endif
}

int main(void)
{
    wiping_free();
    b64url();
    every_type_round_trips();
    exact_bytes();
    refusals();
    refusal_codes();
    return ek_test_finish("proto.pdu");
}
