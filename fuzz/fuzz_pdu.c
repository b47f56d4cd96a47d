/*
 * fuzz_pdu.c: the strict PDU codec (docs/protocol.md §3) and base64url on
 * arbitrary bytes. The first byte picks the entry point, the rest is the
 * input:
 *
 *   0  ek_pdu_parse, outer PDUs       2  ek_b64url_decode
 *   1  ek_pdu_parse, inner PDUs       3+ ek_pdu_parse, any PDU
 *
 * Properties: no crash, leak or sanitizer report; a PDU that parses is
 * rebuilt field by field with the builder, the rebuilt bytes parse, and
 * rebuilding those gives the same bytes again (the builder is canonical);
 * base64url that decodes re-encodes to exactly the input.
 *
 * The seed corpus (fuzz/corpus/fuzz_pdu/) holds one valid PDU of every
 * type and the golden vectors' handshake PDUs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <enkrypt/ek_session.h>

#include "proto/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need(int ok)
{
    if (!ok)
        abort();
}

/* Rebuild p with the builder; the bytes go to out. */
static void rebuild(const ek_pdu *p, ek_writer *out)
{
    const pdu_schema *s = pdu_schema_find(ek_pdu_type(p), strlen(ek_pdu_type(p)));
    need(s != NULL);
    ek_pdu_builder *b = NULL;
    need(ek_pdu_build_begin(&b, s->type) == EK_OK);
    static uint8_t buf[70000];
    for (size_t k = 0; k < s->n_fields; k++) {
        const pdu_field *f = &s->fields[k];
        if (!ek_pdu_has(p, f->name))
            continue;
        const char *str;
        size_t n;
        int64_t v;
        int bv;
        switch (f->type) {
        case PF_STRING:
        case PF_ENUM:
            need(ek_pdu_string(p, f->name, &str, &n) == EK_OK);
            need(ek_pdu_add_string(b, f->name, str, n) == EK_OK);
            break;
        case PF_BYTES:
            need(ek_pdu_bytes(p, f->name, buf, sizeof(buf), &n) == EK_OK);
            need(ek_pdu_add_bytes(b, f->name, buf, n) == EK_OK);
            break;
        case PF_INT:
            need(ek_pdu_int(p, f->name, &v) == EK_OK);
            need(ek_pdu_add_int(b, f->name, v) == EK_OK);
            break;
        case PF_BOOL:
            need(ek_pdu_bool(p, f->name, &bv) == EK_OK);
            need(ek_pdu_add_bool(b, f->name, bv) == EK_OK);
            break;
        case PF_STRINGS:
            for (size_t i = 0; i < ek_pdu_array_len(p, f->name); i++) {
                need(ek_pdu_array_string(p, f->name, i, &str, &n) == EK_OK);
                need(ek_pdu_add_array_string(b, f->name, str, n) == EK_OK);
            }
            break;
        case PF_BYTES_LIST:
            for (size_t i = 0; i < ek_pdu_array_len(p, f->name); i++) {
                need(ek_pdu_array_bytes(p, f->name, i, buf, sizeof(buf), &n) == EK_OK);
                need(ek_pdu_add_array_bytes(b, f->name, buf, n) == EK_OK);
            }
            break;
        }
    }
    need(ek_pdu_build_finish(b, out) == EK_OK);
    ek_pdu_build_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    if (mode == 2) {
        static uint8_t out[1 << 16];
        static char enc[1 << 17];
        size_t n = 0, m = 0;
        if (ek_b64url_decode(out, sizeof(out), &n, (const char *)in, len) == EK_OK) {
            need(ek_b64url_encode(enc, sizeof(enc), &m, out, n) == EK_OK);
            need(m == len && memcmp(enc, in, len) == 0);
        }
        return 0;
    }
    int where = mode == 0 ? EK_PDU_OUTER : mode == 1 ? EK_PDU_INNER : EK_PDU_ANY;
    ek_pdu *p = NULL;
    if (ek_pdu_parse(&p, in, len, where) != EK_OK)
        return 0;
    ek_writer w1, w2;
    ek_writer_init_growable(&w1, NULL);
    ek_writer_init_growable(&w2, NULL);
    rebuild(p, &w1);
    ek_pdu *q = NULL;
    need(ek_pdu_parse(&q, w1.buf, w1.len, where) == EK_OK);
    need(strcmp(ek_pdu_type(p), ek_pdu_type(q)) == 0);
    rebuild(q, &w2);
    need(w1.len == w2.len && memcmp(w1.buf, w2.buf, w1.len) == 0);
    ek_pdu_free(p);
    ek_pdu_free(q);
    ek_writer_dispose(&w1);
    ek_writer_dispose(&w2);
    return 0;
}
