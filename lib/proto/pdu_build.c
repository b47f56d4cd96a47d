/*
 * pdu_build.c: writing PDUs (docs/protocol.md §3.1). Fields may be added in
 * any order; the output is compact JSON with "type" and "specVersion"
 * first and the other fields in the schema's order, so a PDU has exactly
 * one encoding (the golden vectors rely on it). Strings are escaped as
 * RFC 8259 requires (quote, backslash, control characters) and nothing
 * else; bytes are base64url. The finished PDU goes through the parser
 * before it is handed out: we never send what we would refuse.
 */
#include <string.h>

#include <enkrypt/ek_crypto.h>

#include "proto/pdu.h"

struct ek_pdu_builder {
    const pdu_schema *s;
    ek_writer frag[PDU_MAX_FIELDS];
    size_t items[PDU_MAX_FIELDS]; /* scalars: 1 once set; arrays: items */
};

int ek_pdu_build_begin(ek_pdu_builder **b, const char *type)
{
    if (b == NULL || type == NULL)
        return EK_ERR_INVALID_ARG;
    *b = NULL;
    const pdu_schema *s = pdu_schema_find(type, strlen(type));
    if (s == NULL)
        return EK_ERR_UNSUPPORTED;
    ek_pdu_builder *nb = ek_alloc(NULL, sizeof(*nb));
    if (nb == NULL)
        return EK_ERR_NOMEM;
    memset(nb, 0, sizeof(*nb));
    nb->s = s;
    for (size_t i = 0; i < PDU_MAX_FIELDS; i++)
        ek_writer_init_growable(&nb->frag[i], NULL);
    *b = nb;
    return EK_OK;
}

void ek_pdu_build_free(ek_pdu_builder *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < PDU_MAX_FIELDS; i++)
        ek_writer_dispose(&b->frag[i]);
    ek_wipe(b, sizeof(*b));
    ek_free(NULL, b, sizeof(*b));
}

/* The slot of field, if its type is one of the two given. */
static int slot(const ek_pdu_builder *b, const char *field, pdu_field_type t1, pdu_field_type t2,
                size_t *i)
{
    if (b == NULL || field == NULL)
        return EK_ERR_INVALID_ARG;
    for (size_t k = 0; k < b->s->n_fields; k++) {
        const pdu_field *f = &b->s->fields[k];
        if (strcmp(f->name, field) == 0) {
            if (f->type != t1 && f->type != t2)
                return EK_ERR_INVALID_ARG;
            *i = k;
            return EK_OK;
        }
    }
    return EK_ERR_INVALID_ARG;
}

static int put_json_string(ek_writer *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    ek_write_u8(w, '"');
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        switch (c) {
        case '"': ek_write_bytes(w, "\\\"", 2); break;
        case '\\': ek_write_bytes(w, "\\\\", 2); break;
        case '\n': ek_write_bytes(w, "\\n", 2); break;
        case '\r': ek_write_bytes(w, "\\r", 2); break;
        case '\t': ek_write_bytes(w, "\\t", 2); break;
        case '\b': ek_write_bytes(w, "\\b", 2); break;
        case '\f': ek_write_bytes(w, "\\f", 2); break;
        default:
            if (c < 0x20) {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                ek_write_bytes(w, u, sizeof(u));
            } else
                ek_write_u8(w, c);
        }
    }
    return ek_write_u8(w, '"');
}

static int put_b64(ek_writer *w, const uint8_t *p, size_t len)
{
    size_t n = ek_b64url_encoded_len(len), got = 0;
    ek_write_u8(w, '"');
    char *dst = (char *)ek_write_reserve(w, n);
    if (dst == NULL)
        return w->err;
    int rc = ek_b64url_encode(dst, n, &got, p, len);
    if (rc != EK_OK)
        return rc;
    return ek_write_u8(w, '"');
}

int ek_pdu_add_string(ek_pdu_builder *b, const char *field, const char *s, size_t len)
{
    size_t i;
    int rc = slot(b, field, PF_STRING, PF_ENUM, &i);
    if (rc != EK_OK || (s == NULL && len > 0) || b->items[i] != 0)
        return rc != EK_OK ? rc : EK_ERR_INVALID_ARG;
    b->items[i] = 1;
    return put_json_string(&b->frag[i], s, len);
}

int ek_pdu_add_int(ek_pdu_builder *b, const char *field, int64_t v)
{
    size_t i;
    int rc = slot(b, field, PF_INT, PF_INT, &i);
    if (rc != EK_OK || b->items[i] != 0)
        return rc != EK_OK ? rc : EK_ERR_INVALID_ARG;
    b->items[i] = 1;
    char digits[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        ek_write_u8(&b->frag[i], '-');
    while (n > 0)
        ek_write_u8(&b->frag[i], (uint8_t)digits[--n]);
    return b->frag[i].err;
}

int ek_pdu_add_bool(ek_pdu_builder *b, const char *field, int v)
{
    size_t i;
    int rc = slot(b, field, PF_BOOL, PF_BOOL, &i);
    if (rc != EK_OK || b->items[i] != 0)
        return rc != EK_OK ? rc : EK_ERR_INVALID_ARG;
    b->items[i] = 1;
    return v ? ek_write_bytes(&b->frag[i], "true", 4) : ek_write_bytes(&b->frag[i], "false", 5);
}

int ek_pdu_add_bytes(ek_pdu_builder *b, const char *field, const uint8_t *p, size_t len)
{
    size_t i;
    int rc = slot(b, field, PF_BYTES, PF_BYTES, &i);
    if (rc != EK_OK || (p == NULL && len > 0) || b->items[i] != 0)
        return rc != EK_OK ? rc : EK_ERR_INVALID_ARG;
    b->items[i] = 1;
    return put_b64(&b->frag[i], p, len);
}

int ek_pdu_add_array_string(ek_pdu_builder *b, const char *field, const char *s, size_t len)
{
    size_t i;
    int rc = slot(b, field, PF_STRINGS, PF_STRINGS, &i);
    if (rc != EK_OK || (s == NULL && len > 0))
        return rc != EK_OK ? rc : EK_ERR_INVALID_ARG;
    if (b->items[i]++ > 0)
        ek_write_u8(&b->frag[i], ',');
    return put_json_string(&b->frag[i], s, len);
}

int ek_pdu_add_array_bytes(ek_pdu_builder *b, const char *field, const uint8_t *p, size_t len)
{
    size_t i;
    int rc = slot(b, field, PF_BYTES_LIST, PF_BYTES_LIST, &i);
    if (rc != EK_OK || (p == NULL && len > 0))
        return rc != EK_OK ? rc : EK_ERR_INVALID_ARG;
    if (b->items[i]++ > 0)
        ek_write_u8(&b->frag[i], ',');
    return put_b64(&b->frag[i], p, len);
}

int ek_pdu_build_finish(ek_pdu_builder *b, ek_writer *out)
{
    if (b == NULL || out == NULL)
        return EK_ERR_INVALID_ARG;
    ek_writer w;
    ek_writer_init_growable(&w, NULL);
    static const char head[] = "{\"type\":";
    ek_write_bytes(&w, head, sizeof(head) - 1);
    put_json_string(&w, b->s->type, strlen(b->s->type));
    static const char ver[] = ",\"specVersion\":\"" EK_SPEC_VERSION "\"";
    ek_write_bytes(&w, ver, sizeof(ver) - 1);
    for (size_t i = 0; i < b->s->n_fields; i++) {
        const pdu_field *f = &b->s->fields[i];
        if (b->items[i] == 0)
            continue;
        if (b->frag[i].err != EK_OK) {
            w.err = b->frag[i].err;
            break;
        }
        ek_write_u8(&w, ',');
        put_json_string(&w, f->name, strlen(f->name));
        ek_write_u8(&w, ':');
        int array = f->type == PF_STRINGS || f->type == PF_BYTES_LIST;
        if (array)
            ek_write_u8(&w, '[');
        ek_write_bytes(&w, b->frag[i].buf, b->frag[i].len);
        if (array)
            ek_write_u8(&w, ']');
    }
    ek_write_u8(&w, '}');
    int rc = w.err;
    if (rc == EK_OK) {
        ek_pdu *check = NULL;
        rc = ek_pdu_parse(&check, w.buf, w.len, b->s->where);
        ek_pdu_free(check);
    }
    if (rc == EK_OK)
        rc = ek_write_bytes(out, w.buf, w.len);
    ek_writer_dispose(&w);
    return rc;
}
