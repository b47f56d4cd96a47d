/*
 * pdu.h: the schema tables of the strict PDU codec (docs/protocol.md §3,
 * §6) and what the codec's files share.
 */
#ifndef EK_PROTO_PDU_H
#define EK_PROTO_PDU_H

#include <stddef.h>
#include <stdint.h>

#include <enkrypt/ek_session.h>

typedef enum pdu_field_type {
    PF_STRING = 1, /* UTF-8 string; min/max in bytes */
    PF_BYTES,      /* base64url string; min/max in decoded bytes */
    PF_INT,        /* JSON integer; min/max are the value range */
    PF_BOOL,       /* true / false */
    PF_ENUM,       /* a string from values */
    PF_STRINGS,    /* array of strings; min/max items, item_min/item_max bytes */
    PF_BYTES_LIST, /* array of base64url strings; item_min/item_max decoded bytes */
} pdu_field_type;

typedef struct pdu_field {
    const char *name;
    pdu_field_type type;
    int required;
    int64_t min, max;
    size_t item_min, item_max;
    const char *const *values; /* PF_ENUM, NULL-terminated */
} pdu_field;

/* What a PDU is for; the engine dispatches on it. */
typedef enum pdu_kind {
    PK_HANDSHAKE = 1, /* hello, response, finish, resume, resume-ok, resume-finish */
    PK_ERROR,         /* protocol-error */
    PK_APP,           /* application envelopes (inner) */
    PK_CONTROL,       /* the layers' and the engine's control (inner) */
} pdu_kind;

#define PDU_MAX_FIELDS 12

typedef struct pdu_schema {
    const char *type;
    int where; /* EK_PDU_OUTER or EK_PDU_INNER */
    pdu_kind kind;
    size_t n_fields;
    pdu_field fields[PDU_MAX_FIELDS];
} pdu_schema;

/* The schema of type (NULL when unknown). */
const pdu_schema *pdu_schema_find(const char *type, size_t len);
/* The table, for documentation checks and tests. */
const pdu_schema *pdu_schema_at(size_t i);
size_t pdu_schema_count(void);

/* The protocol-error codes (docs/protocol.md §8), NULL-terminated. */
extern const char *const pdu_error_codes[];

/* ek_pdu_parse, also giving the protocol-error code that names a refusal
 * (docs/protocol.md §8): "too-large", "malformed", "unknown-type" or
 * "unsupported-version" (NULL on success; code may be NULL). */
int pdu_parse(ek_pdu **out, const uint8_t *json, size_t len, int where, const char **code);

/* A PDU's kind (after ek_pdu_parse). */
pdu_kind pdu_kind_of(const ek_pdu *p);

/* Validate base64url without decoding: EK_OK and the decoded length. */
int b64url_check(const char *in, size_t in_len, size_t *decoded_len);

#endif /* EK_PROTO_PDU_H */
