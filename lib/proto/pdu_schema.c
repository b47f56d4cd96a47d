/*
 * pdu_schema.c: the frozen schemas of every PDU of enkrypt profile 1.0
 * (docs/protocol.md §3 for the outer PDUs, §6 for the inner ones). Every
 * PDU also has "type" and "specVersion" ("1.0"), which are not listed here.
 * Changing a line of this table changes the wire format: the tables in
 * docs/protocol.md are the same, field for field.
 */
#include <string.h>

#include "proto/pdu.h"

#define MAX_SAFE_INT ((int64_t)9007199254740991) /* 2^53 - 1: exact in JS */
#define U32          ((int64_t)UINT32_MAX)
#define YEAR_S       ((int64_t)31536000)

/* Field helpers: name, required, bounds. The table reads best one PDU per
 * entry, so clang-format leaves it alone. */
/* clang-format off */
#define STR(n, req, lo, hi)         {n, PF_STRING, req, lo, hi, 0, 0, NULL}
#define BYTES(n, req, lo, hi)       {n, PF_BYTES, req, lo, hi, 0, 0, NULL}
#define INT(n, req, lo, hi)         {n, PF_INT, req, lo, hi, 0, 0, NULL}
#define BOOL(n, req)                {n, PF_BOOL, req, 0, 0, 0, 0, NULL}
#define ENUM(n, req, vals)          {n, PF_ENUM, req, 0, 0, 0, 0, vals}
#define STRS(n, req, lo, hi, il, ih) {n, PF_STRINGS, req, lo, hi, il, ih, NULL}
#define BLIST(n, req, lo, hi, il, ih) {n, PF_BYTES_LIST, req, lo, hi, il, ih, NULL}

#define ID        BYTES("id", 1, 16, 16)
#define TIMESTAMP INT("timestamp", 1, 0, MAX_SAFE_INT)
#define TARGET    BYTES("target", 1, 16, 16)
#define TRANSFER  BYTES("transfer", 1, 16, 16)
#define MATERIAL  BLIST("material", 1, 1, 8, 0, 32768)
#define LAYERS    STRS("layers", 1, 1, 8, 1, 16)

/* clang-format on */

const char *const pdu_error_codes[] = {
    "malformed",           /* not JSON, or not our schema */
    "too-large",           /* over a size limit */
    "unknown-type",        /* a type this version does not know */
    "unsupported-version", /* specVersion or version we do not speak */
    "layer-mismatch",      /* the offered cascade is not ours */
    "unexpected",          /* a PDU or frame the state does not allow */
    "auth-failed",         /* a handshake signature, MAC or key check failed */
    "decrypt-failed",      /* a message frame did not open */
    "replay",              /* a frame seen before */
    "chunk-limit",         /* reassembly caps exceeded */
    "chunk-timeout",       /* a chunked message did not complete in time */
    "handshake-timeout",   /* no ready within the stall time */
    "unknown-session",     /* resume for a session we do not hold (or cannot meet) */
    "internal",            /* our own failure */
    "rekey-stalled",       /* a layer's re-key was never acknowledged */
    NULL,
};

static const char *const typing_states[] = {"start", "stop", NULL};
static const char *const layer_names[] = {"MLS", "Signal", "ML-KEM", "AES", NULL};

/* clang-format off */
static const pdu_schema schemas[] = {
    /* ---- outer: handshake (§4) ---- */
    {"hello", EK_PDU_OUTER, PK_HANDSHAKE, 6,
     {STRS("versions", 1, 1, 8, 1, 8), LAYERS, BYTES("identity", 1, 32, 32),
      BYTES("ephemeral", 1, 32, 32), BYTES("random", 1, 32, 32), MATERIAL}},
    {"response", EK_PDU_OUTER, PK_HANDSHAKE, 8,
     {STR("version", 1, 1, 8), LAYERS, BYTES("identity", 1, 32, 32), BYTES("ephemeral", 1, 32, 32),
      BYTES("random", 1, 32, 32), MATERIAL, BYTES("signature", 1, 64, 64),
      BYTES("mac", 1, 32, 32)}},
    {"finish", EK_PDU_OUTER, PK_HANDSHAKE, 3,
     {MATERIAL, BYTES("signature", 1, 64, 64), BYTES("mac", 1, 32, 32)}},
    {"resume", EK_PDU_OUTER, PK_HANDSHAKE, 4,
     {BYTES("session", 1, 16, 16), BYTES("nonce", 1, 16, 16), MATERIAL,
      BYTES("mac", 1, 32, 32)}},
    {"resume-ok", EK_PDU_OUTER, PK_HANDSHAKE, 3,
     {BYTES("nonce", 1, 16, 16), MATERIAL, BYTES("mac", 1, 32, 32)}},
    {"resume-finish", EK_PDU_OUTER, PK_HANDSHAKE, 1, {BYTES("mac", 1, 32, 32)}},
    /* ---- outer: errors (§8) ---- */
    {"protocol-error", EK_PDU_OUTER, PK_ERROR, 3,
     {ENUM("code", 1, pdu_error_codes), BOOL("fatal", 1), STR("detail", 0, 0, 256)}},
    /* ---- inner: application envelopes (§6.2, §6.3) ---- */
    {"text", EK_PDU_INNER, PK_APP, 5,
     {ID, TIMESTAMP, STR("body", 1, 0, 65536), BYTES("replyTo", 0, 16, 16),
      INT("expiresIn", 0, 0, YEAR_S)}},
    {"edit", EK_PDU_INNER, PK_APP, 4, {ID, TIMESTAMP, TARGET, STR("body", 1, 0, 65536)}},
    {"delete", EK_PDU_INNER, PK_APP, 3, {ID, TIMESTAMP, TARGET}},
    {"reaction", EK_PDU_INNER, PK_APP, 5,
     {ID, TIMESTAMP, TARGET, STR("emoji", 1, 1, 64), BOOL("remove", 0)}},
    {"typing", EK_PDU_INNER, PK_APP, 2, {TIMESTAMP, ENUM("state", 1, typing_states)}},
    {"read-receipt", EK_PDU_INNER, PK_APP, 2, {TIMESTAMP, BLIST("targets", 1, 1, 256, 16, 16)}},
    {"disappearing-timer", EK_PDU_INNER, PK_APP, 3, {ID, TIMESTAMP, INT("seconds", 1, 0, YEAR_S)}},
    /* ---- inner: file transfer (§6.4) ---- */
    {"file-offer", EK_PDU_INNER, PK_APP, 9,
     {ID, TIMESTAMP, TRANSFER, STR("name", 1, 1, 255), INT("size", 1, 0, MAX_SAFE_INT),
      STR("mime", 0, 0, 127), BYTES("sha256", 1, 32, 32), INT("chunkSize", 1, 1, 65536),
      INT("chunks", 1, 0, U32)}},
    {"file-accept", EK_PDU_INNER, PK_APP, 2, {TRANSFER, INT("fromChunk", 0, 0, U32)}},
    {"file-reject", EK_PDU_INNER, PK_APP, 2, {TRANSFER, STR("reason", 0, 0, 256)}},
    {"file-complete", EK_PDU_INNER, PK_APP, 2, {TRANSFER, BYTES("sha256", 1, 32, 32)}},
    {"file-cancel", EK_PDU_INNER, PK_APP, 2, {TRANSFER, STR("reason", 0, 0, 256)}},
    /* ---- inner: control (§6.5) ---- */
    {"rotation-timestamp-broadcast", EK_PDU_INNER, PK_CONTROL, 3,
     {ENUM("layer", 1, layer_names), INT("epoch", 1, 0, U32), TIMESTAMP}},
    {"mlkem-rekey", EK_PDU_INNER, PK_CONTROL, 4,
     {ENUM("layer", 1, layer_names), INT("epoch", 1, 0, U32), TIMESTAMP,
      BYTES("data", 1, 1088, 1088)}},
    {"mlkem-rekey-ack", EK_PDU_INNER, PK_CONTROL, 4,
     {ENUM("layer", 1, layer_names), INT("epoch", 1, 0, U32), TIMESTAMP,
      BYTES("data", 1, 1184, 1184)}},
    {"signal-chain-request", EK_PDU_INNER, PK_CONTROL, 3,
     {ENUM("layer", 1, layer_names), INT("epoch", 1, 0, 127), TIMESTAMP}},
    {"signal-chain-announce", EK_PDU_INNER, PK_CONTROL, 4,
     {ENUM("layer", 1, layer_names), INT("epoch", 1, 0, 127), TIMESTAMP,
      BYTES("data", 1, 44, 44)}},
    {"close", EK_PDU_INNER, PK_CONTROL, 1, {STR("reason", 0, 0, 256)}},
};

/* clang-format on */

const pdu_schema *pdu_schema_find(const char *type, size_t len)
{
    for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        if (strlen(schemas[i].type) == len && memcmp(schemas[i].type, type, len) == 0)
            return &schemas[i];
    }
    return NULL;
}

const pdu_schema *pdu_schema_at(size_t i)
{
    return i < sizeof(schemas) / sizeof(schemas[0]) ? &schemas[i] : NULL;
}

size_t pdu_schema_count(void)
{
    return sizeof(schemas) / sizeof(schemas[0]);
}
