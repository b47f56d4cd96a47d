/*
 * pdu.c: parsing and reading PDUs (docs/protocol.md §3.1). jansson does
 * the JSON; everything it hands back is checked against the frozen schema
 * of the PDU's type before anyone reads a field.
 *
 * Before jansson sees a byte: the size (EK_PDU_MAX_JSON_BYTES for outer
 * PDUs, EK_PDU_MAX_INNER_JSON_BYTES for inner ones), the first
 * byte ('{') and the nesting depth (at most 2: the object and its arrays)
 * are checked, so no input makes the parser recurse or allocate beyond
 * what a valid PDU would. Then: duplicate keys refused (jansson's
 * JSON_REJECT_DUPLICATES), NUL in strings refused (jansson's default),
 * invalid UTF-8 refused (jansson), and the schema: known type,
 * specVersion "1.0", no unknown field, every field of its type and within
 * its bounds, every required field present.
 *
 * What jansson allocates lives only as long as the ek_pdu, and holds what
 * the PDU said: for an envelope the engine decrypted, plaintext. So jansson
 * frees through a wiping free: its allocator hook (json_set_alloc_funcs)
 * is set once, when the library is loaded, to malloc and a free that first
 * wipes the block. The hook is process-global and jansson's free gets no
 * size, so the size comes from the C library (malloc_usable_size) rather
 * than from a header of our own: allocation stays plain malloc, and every
 * other user of jansson in the process (who may free json_dumps output
 * with free(), or hold values made before us) keeps working unchanged;
 * only its freed blocks are wiped too. Without malloc_usable_size (neither
 * glibc, musl nor Darwin) the hook is not set.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <enkrypt/ek_crypto.h>

#include "proto/pdu.h"

#if defined(__linux__) || defined(__GLIBC__)
#include <malloc.h>
#define EK_BLOCK_SIZE(p) malloc_usable_size(p)
#elif defined(__APPLE__)
#include <malloc/malloc.h>
#define EK_BLOCK_SIZE(p) malloc_size(p)
#endif

#ifdef EK_BLOCK_SIZE
static void *pdu_json_malloc(size_t n)
{
    return malloc(n);
}

static void pdu_json_free(void *p)
{
    if (p == NULL)
        return;
    ek_wipe(p, EK_BLOCK_SIZE(p));
    free(p);
}

/* Before main, so before any thread or any jansson value exists. */
__attribute__((constructor)) static void pdu_json_wiping_free(void)
{
    json_set_alloc_funcs(pdu_json_malloc, pdu_json_free);
}
#endif

struct ek_pdu {
    json_t *root;
    const pdu_schema *schema;
};

/* At most depth 2 ({ [ ] }), counted outside strings. */
static int depth_ok(const uint8_t *p, size_t len)
{
    int depth = 0, in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[') {
            if (++depth > 2)
                return 0;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return 1;
}

static const pdu_field *find_field(const pdu_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_fields; i++) {
        if (strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    }
    return NULL;
}

static int check_bytes(const json_t *v, size_t lo, size_t hi)
{
    if (!json_is_string(v))
        return EK_ERR_DECODE;
    size_t n = 0;
    size_t slen = json_string_length(v);
    if (slen > ek_b64url_encoded_len(hi))
        return EK_ERR_TOO_LARGE;
    if (b64url_check(json_string_value(v), slen, &n) != EK_OK)
        return EK_ERR_DECODE;
    return n >= lo && n <= hi ? EK_OK : EK_ERR_DECODE;
}

static int check_string(const json_t *v, size_t lo, size_t hi)
{
    if (!json_is_string(v))
        return EK_ERR_DECODE;
    size_t n = json_string_length(v);
    if (n > hi)
        return EK_ERR_TOO_LARGE;
    return n >= lo ? EK_OK : EK_ERR_DECODE;
}

static int check_field(const pdu_field *f, const json_t *v)
{
    switch (f->type) {
    case PF_STRING: return check_string(v, (size_t)f->min, (size_t)f->max);
    case PF_BYTES: return check_bytes(v, (size_t)f->min, (size_t)f->max);
    case PF_INT: {
        if (!json_is_integer(v))
            return EK_ERR_DECODE;
        json_int_t x = json_integer_value(v);
        return x >= f->min && x <= f->max ? EK_OK : EK_ERR_DECODE;
    }
    case PF_BOOL: return json_is_boolean(v) ? EK_OK : EK_ERR_DECODE;
    case PF_ENUM: {
        if (!json_is_string(v))
            return EK_ERR_DECODE;
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        for (const char *const *e = f->values; *e != NULL; e++) {
            if (strlen(*e) == n && memcmp(*e, s, n) == 0)
                return EK_OK;
        }
        return EK_ERR_DECODE;
    }
    case PF_STRINGS:
    case PF_BYTES_LIST: {
        if (!json_is_array(v))
            return EK_ERR_DECODE;
        size_t n = json_array_size(v);
        if ((int64_t)n > f->max)
            return EK_ERR_TOO_LARGE;
        if ((int64_t)n < f->min)
            return EK_ERR_DECODE;
        for (size_t i = 0; i < n; i++) {
            const json_t *it = json_array_get(v, i);
            int rc = f->type == PF_STRINGS ? check_string(it, f->item_min, f->item_max)
                                           : check_bytes(it, f->item_min, f->item_max);
            if (rc != EK_OK)
                return rc;
        }
        return EK_OK;
    }
    }
    return EK_ERR_DECODE;
}

static int validate(ek_pdu *p, int where, const char **code)
{
    if (!json_is_object(p->root))
        return EK_ERR_DECODE;
    const json_t *type = json_object_get(p->root, "type");
    const json_t *ver = json_object_get(p->root, "specVersion");
    if (!json_is_string(type) || !json_is_string(ver))
        return EK_ERR_DECODE;
    if (json_string_length(ver) != strlen(EK_SPEC_VERSION) ||
        memcmp(json_string_value(ver), EK_SPEC_VERSION, strlen(EK_SPEC_VERSION)) != 0) {
        *code = "unsupported-version";
        return EK_ERR_UNSUPPORTED;
    }
    const pdu_schema *s = pdu_schema_find(json_string_value(type), json_string_length(type));
    if (s == NULL || (s->where & where) == 0) {
        *code = "unknown-type";
        return EK_ERR_UNSUPPORTED;
    }
    p->schema = s;
    const char *key;
    json_t *v;
    size_t seen = 0;
    json_object_foreach (p->root, key, v) {
        if (strcmp(key, "type") == 0 || strcmp(key, "specVersion") == 0)
            continue;
        const pdu_field *f = find_field(s, key);
        if (f == NULL)
            return EK_ERR_DECODE; /* unknown field */
        int rc = check_field(f, v);
        if (rc != EK_OK)
            return rc;
        seen++;
    }
    for (size_t i = 0; i < s->n_fields; i++) {
        if (s->fields[i].required && json_object_get(p->root, s->fields[i].name) == NULL)
            return EK_ERR_DECODE;
    }
    (void)seen;
    return EK_OK;
}

static int pdu_parse_inner(ek_pdu **out, const uint8_t *json, size_t len, int where,
                           const char **code)
{
    if (out == NULL || (json == NULL && len > 0))
        return EK_ERR_INVALID_ARG;
    *out = NULL;
    if (len > (where == EK_PDU_OUTER ? EK_PDU_MAX_JSON_BYTES : EK_PDU_MAX_INNER_JSON_BYTES))
        return EK_ERR_TOO_LARGE;
    if (len < 2 || json[0] != '{' || !depth_ok(json, len))
        return EK_ERR_DECODE;
    ek_pdu *p = ek_alloc(NULL, sizeof(*p));
    if (p == NULL)
        return EK_ERR_NOMEM;
    memset(p, 0, sizeof(*p));
    json_error_t err;
    p->root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &err);
    if (p->root == NULL) {
        ek_free(NULL, p, sizeof(*p));
        return EK_ERR_DECODE;
    }
    int rc = validate(p, where, code);
    if (rc == EK_OK && p->schema->where == EK_PDU_OUTER && len > EK_PDU_MAX_JSON_BYTES)
        rc = EK_ERR_TOO_LARGE; /* parsed as "any": an outer PDU keeps its limit */
    if (rc != EK_OK) {
        ek_pdu_free(p);
        return rc;
    }
    *out = p;
    return EK_OK;
}

int pdu_parse(ek_pdu **out, const uint8_t *json, size_t len, int where, const char **code)
{
    const char *why = NULL;
    int rc = pdu_parse_inner(out, json, len, where, &why);
    if (code != NULL)
        *code = rc == EK_OK              ? NULL
                : why != NULL            ? why
                : rc == EK_ERR_TOO_LARGE ? "too-large"
                                         : "malformed";
    return rc;
}

int ek_pdu_parse(ek_pdu **out, const uint8_t *json, size_t len, int where)
{
    return pdu_parse(out, json, len, where, NULL);
}

void ek_pdu_free(ek_pdu *p)
{
    if (p == NULL)
        return;
    json_decref(p->root);
    ek_free(NULL, p, sizeof(*p));
}

const char *ek_pdu_type(const ek_pdu *p)
{
    return p != NULL && p->schema != NULL ? p->schema->type : "";
}

pdu_kind pdu_kind_of(const ek_pdu *p)
{
    return p->schema->kind;
}

int ek_pdu_has(const ek_pdu *p, const char *field)
{
    return p != NULL && field != NULL && json_object_get(p->root, field) != NULL;
}

static const json_t *get(const ek_pdu *p, const char *field)
{
    return p != NULL && field != NULL ? json_object_get(p->root, field) : NULL;
}

int ek_pdu_string(const ek_pdu *p, const char *field, const char **s, size_t *len)
{
    const json_t *v = get(p, field);
    if (!json_is_string(v) || s == NULL || len == NULL)
        return EK_ERR_DECODE;
    *s = json_string_value(v);
    *len = json_string_length(v);
    return EK_OK;
}

int ek_pdu_int(const ek_pdu *p, const char *field, int64_t *v)
{
    const json_t *x = get(p, field);
    if (!json_is_integer(x) || v == NULL)
        return EK_ERR_DECODE;
    *v = json_integer_value(x);
    return EK_OK;
}

int ek_pdu_bool(const ek_pdu *p, const char *field, int *v)
{
    const json_t *x = get(p, field);
    if (!json_is_boolean(x) || v == NULL)
        return EK_ERR_DECODE;
    *v = json_is_true(x);
    return EK_OK;
}

static int decode_into(const json_t *v, uint8_t *out, size_t cap, size_t *len)
{
    if (!json_is_string(v) || len == NULL)
        return EK_ERR_DECODE;
    return ek_b64url_decode(out, cap, len, json_string_value(v), json_string_length(v));
}

int ek_pdu_bytes(const ek_pdu *p, const char *field, uint8_t *out, size_t cap, size_t *len)
{
    return decode_into(get(p, field), out, cap, len);
}

size_t ek_pdu_array_len(const ek_pdu *p, const char *field)
{
    const json_t *v = get(p, field);
    return json_is_array(v) ? json_array_size(v) : 0;
}

int ek_pdu_array_string(const ek_pdu *p, const char *field, size_t i, const char **s, size_t *len)
{
    const json_t *v = json_array_get(get(p, field), i);
    if (!json_is_string(v) || s == NULL || len == NULL)
        return EK_ERR_DECODE;
    *s = json_string_value(v);
    *len = json_string_length(v);
    return EK_OK;
}

int ek_pdu_array_bytes(const ek_pdu *p, const char *field, size_t i, uint8_t *out, size_t cap,
                       size_t *len)
{
    return decode_into(json_array_get(get(p, field), i), out, cap, len);
}
