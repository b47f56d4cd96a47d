/*
 * serialization.c: frames <-> data-channel messages for PeerJS's `raw`,
 * `json` and `binary` serializations (peerjs-protocol.md §6.5).
 *
 * What the browser side does, and so what we must match:
 *  - json: TextEncoder(JSON.stringify(x)) sent as a *binary* message; the
 *    receiver runs TextDecoder on it, so a text message would throw there.
 *  - binary: BinaryPack; a packed message over 16300 bytes is cut into
 *    16300-byte pieces, each sent as the map
 *    {__peerData: <message number from 1>, n: <index>, data: <raw>, total: <count>}
 *    in that key order. A map whose __peerData is truthy is a chunk or,
 *    with {type:"close"}, a request to close.
 *  - both: {"__peerData":{"type":"close"}} asks the receiver to close.
 * Everything received is bounded: reassembled size (max_message), number
 * of pieces, number of messages in reassembly at once.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "binarypack.h"
#include "serialization.h"

void ek_ser_init(ek_ser *s, ek_net_serialization kind, size_t max_message)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->max_message = max_message;
    /* PeerJS tests __peerData for truthiness: message numbers start at 1. */
    s->next_chunk_id = 1;
}

static void partial_free(ek_ser_partial *p)
{
    if (p->pieces != NULL) {
        for (uint32_t i = 0; i < p->total; i++)
            free(p->pieces[i]);
    }
    free(p->pieces);
    free(p->piece_len);
    memset(p, 0, sizeof *p);
}

void ek_ser_clear(ek_ser *s)
{
    for (int i = 0; i < EK_SER_MAX_PARTIALS; i++)
        partial_free(&s->partials[i]);
}

/* ---- encoding ---- */

static uint8_t *dup_nul(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n + 1);
    if (d != NULL) {
        if (n > 0)
            memcpy(d, p, n);
        d[n] = 0;
    }
    return d;
}

/* Parse a JSON text (any value, as JSON.parse accepts). */
static json_t *parse_json(const uint8_t *data, size_t len)
{
    json_error_t jerr;
    return json_loadb((const char *)data, len, JSON_DECODE_ANY, &jerr);
}

static int emit_copy(ek_ser_emit_fn emit, void *user, int is_text, const uint8_t *data, size_t len)
{
    if (len > EK_NET_MAX_FRAME)
        return EK_ERR_TOO_LARGE;
    uint8_t *d = dup_nul(data, len);
    if (d == NULL)
        return EK_ERR_NOMEM;
    return emit(user, is_text, d, len);
}

static int encode_raw(ek_net_frame_kind kind, const uint8_t *data, size_t len, ek_ser_emit_fn emit,
                      void *user)
{
    if (kind == EK_NET_FRAME_BYTES)
        return emit_copy(emit, user, 0, data, len);
    /* Text messages go through webrtcbin as C strings: no NUL inside. */
    if (memchr(data, 0, len) != NULL)
        return EK_ERR_UNSUPPORTED;
    if (!ek_bp_utf8_valid(data, len))
        return EK_ERR_DECODE;
    if (kind == EK_NET_FRAME_VALUE) {
        json_t *v = parse_json(data, len);
        if (v == NULL)
            return EK_ERR_DECODE;
        json_decref(v);
    }
    return emit_copy(emit, user, 1, data, len);
}

static int encode_json(ek_net_frame_kind kind, const uint8_t *data, size_t len, ek_ser_emit_fn emit,
                       void *user)
{
    if (kind == EK_NET_FRAME_BYTES)
        return EK_ERR_UNSUPPORTED; /* JSON.stringify has no bytes */
    if (!ek_bp_utf8_valid(data, len))
        return EK_ERR_DECODE;
    if (kind == EK_NET_FRAME_VALUE) {
        json_t *v = parse_json(data, len);
        if (v == NULL)
            return EK_ERR_DECODE;
        json_decref(v);
        return emit_copy(emit, user, 0, data, len);
    }
    /* A string value: its JSON text. */
    json_t *str = json_stringn((const char *)data, len);
    if (str == NULL)
        return EK_ERR_DECODE;
    char *text = json_dumps(str, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(str);
    if (text == NULL)
        return EK_ERR_NOMEM;
    int rc = emit_copy(emit, user, 0, (const uint8_t *)text, strlen(text));
    free(text);
    return rc;
}

/* One chunk map, exactly as PeerJS builds it (key order matters only for
 * byte-identical output; receivers look keys up by name). */
static int emit_chunk(ek_ser_emit_fn emit, void *user, int64_t id, uint32_t n, uint32_t total,
                      const uint8_t *piece, size_t plen)
{
    size_t cap = 64 + ek_bp_raw_size(plen);
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return EK_ERR_NOMEM;
    ek_writer w;
    ek_writer_init_fixed(&w, buf, cap);
    ek_bp_pack_map_header(&w, 4);
    ek_bp_pack_str(&w, "__peerData", 10);
    ek_bp_pack_int(&w, id);
    ek_bp_pack_str(&w, "n", 1);
    ek_bp_pack_int(&w, n);
    ek_bp_pack_str(&w, "data", 4);
    ek_bp_pack_raw(&w, piece, plen);
    ek_bp_pack_str(&w, "total", 5);
    ek_bp_pack_int(&w, total);
    if (w.err != EK_OK) {
        free(buf);
        return w.err;
    }
    return emit(user, 0, buf, w.len);
}

static int encode_binary(ek_ser *s, ek_net_frame_kind kind, const uint8_t *data, size_t len,
                         ek_ser_emit_fn emit, void *user)
{
    json_t *v = NULL;
    size_t cap;
    if (kind == EK_NET_FRAME_VALUE) {
        if (!ek_bp_utf8_valid(data, len))
            return EK_ERR_DECODE;
        v = parse_json(data, len);
        if (v == NULL)
            return EK_ERR_DECODE;
        cap = 0; /* growable */
    } else {
        if (kind == EK_NET_FRAME_TEXT && !ek_bp_utf8_valid(data, len))
            return EK_ERR_DECODE;
        cap = ek_bp_raw_size(len);
    }

    ek_writer w;
    uint8_t *packed = NULL;
    if (cap > 0) {
        packed = malloc(cap);
        if (packed == NULL)
            return EK_ERR_NOMEM;
        ek_writer_init_fixed(&w, packed, cap);
        if (kind == EK_NET_FRAME_BYTES)
            ek_bp_pack_raw(&w, data, len);
        else
            ek_bp_pack_str(&w, (const char *)data, len);
    } else {
        ek_writer_init_growable(&w, NULL);
        ek_bp_pack_json(&w, v);
        json_decref(v);
    }
    if (w.err != EK_OK) {
        int err = w.err;
        if (packed != NULL)
            free(packed);
        else
            ek_writer_dispose(&w);
        return err;
    }
    const uint8_t *p = w.buf;
    size_t plen = w.len;

    int rc;
    if (plen <= EK_SER_CHUNK_MTU) {
        rc = emit_copy(emit, user, 0, p, plen);
    } else {
        /* PeerJS's chunker: ceil(size / 16300) pieces, one message number. */
        int64_t id = s->next_chunk_id++;
        uint32_t total = (uint32_t)((plen + EK_SER_CHUNK_MTU - 1) / EK_SER_CHUNK_MTU);
        rc = EK_OK;
        for (uint32_t i = 0; i < total && rc == EK_OK; i++) {
            size_t off = (size_t)i * EK_SER_CHUNK_MTU;
            size_t n = plen - off < EK_SER_CHUNK_MTU ? plen - off : EK_SER_CHUNK_MTU;
            rc = emit_chunk(emit, user, id, i, total, p + off, n);
        }
    }
    if (packed != NULL)
        free(packed);
    else
        ek_writer_dispose(&w);
    return rc;
}

int ek_ser_encode(ek_ser *s, ek_net_frame_kind kind, const uint8_t *data, size_t len,
                  ek_ser_emit_fn emit, void *user)
{
    if (len > EK_NET_MAX_FRAME)
        return EK_ERR_TOO_LARGE;
    if (data == NULL && len > 0)
        return EK_ERR_INVALID_ARG;
    static const uint8_t empty[1] = {0};
    if (data == NULL)
        data = empty;
    switch (s->kind) {
    case EK_NET_SER_RAW: return encode_raw(kind, data, len, emit, user);
    case EK_NET_SER_JSON: return encode_json(kind, data, len, emit, user);
    case EK_NET_SER_BINARY: return encode_binary(s, kind, data, len, emit, user);
    }
    return EK_ERR_INVALID_ARG;
}

/* ---- decoding ---- */

static int is_close_request_json(const json_t *v)
{
    const json_t *pd = json_is_object(v) ? json_object_get(v, "__peerData") : NULL;
    const json_t *type = json_is_object(pd) ? json_object_get(pd, "type") : NULL;
    return json_is_string(type) && strcmp(json_string_value(type), "close") == 0;
}

static void deliver_copy(ek_ser_frame_fn deliver, void *user, ek_net_frame_kind kind,
                         const uint8_t *p, size_t n, int *rc)
{
    if (kind == EK_NET_FRAME_BYTES) {
        deliver(user, kind, p, n);
        return;
    }
    uint8_t *d = dup_nul(p, n);
    if (d == NULL) {
        *rc = EK_ERR_NOMEM;
        return;
    }
    deliver(user, kind, d, n);
    free(d);
}

static int decode_json_msg(const uint8_t *msg, size_t len, ek_ser_frame_fn deliver, void *user)
{
    if (!ek_bp_utf8_valid(msg, len))
        return EK_ERR_DECODE;
    json_t *v = parse_json(msg, len);
    if (v == NULL)
        return EK_ERR_DECODE;
    int close = is_close_request_json(v);
    json_decref(v);
    if (close)
        return EK_SER_CLOSE_REQUESTED;
    int rc = EK_OK;
    deliver_copy(deliver, user, EK_NET_FRAME_VALUE, msg, len, &rc);
    return rc;
}

/* JavaScript truthiness of a decoded value (for __peerData). */
static int bp_truthy(const ek_bp_value *v)
{
    switch (v->kind) {
    case EK_BP_NULL:
    case EK_BP_UNDEFINED: return 0;
    case EK_BP_BOOL: return v->v.b;
    case EK_BP_INT: return v->v.i != 0;
    case EK_BP_UINT: return 1;
    case EK_BP_DOUBLE: return v->v.d != 0 && v->v.d == v->v.d;
    case EK_BP_STR: return v->v.bytes.n > 0;
    default: return 1;
    }
}

static int deliver_value(const ek_bp_value *v, ek_ser_frame_fn deliver, void *user)
{
    int rc = EK_OK;
    if (v->kind == EK_BP_RAW) {
        deliver_copy(deliver, user, EK_NET_FRAME_BYTES, v->v.bytes.p, v->v.bytes.n, &rc);
        return rc;
    }
    if (v->kind == EK_BP_STR) {
        deliver_copy(deliver, user, EK_NET_FRAME_TEXT, v->v.bytes.p, v->v.bytes.n, &rc);
        return rc;
    }
    json_t *j = ek_bp_to_json(v);
    if (j == NULL)
        return EK_ERR_DECODE;
    char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(j);
    if (text == NULL)
        return EK_ERR_NOMEM;
    deliver(user, EK_NET_FRAME_VALUE, (const uint8_t *)text, strlen(text));
    free(text);
    return EK_OK;
}

static ek_ser_partial *partial_slot(ek_ser *s, int64_t id, uint32_t total)
{
    ek_ser_partial *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < EK_SER_MAX_PARTIALS; i++) {
        ek_ser_partial *p = &s->partials[i];
        if (p->id == id)
            return p->total == total ? p : NULL;
        if (p->id == 0 && free_slot == NULL)
            free_slot = p;
        if (p->id != 0 && (oldest == NULL || p->age < oldest->age))
            oldest = p;
    }
    ek_ser_partial *p = free_slot;
    if (p == NULL) {
        /* Too many messages half-sent: the oldest is the likeliest lost. */
        partial_free(oldest);
        p = oldest;
    }
    p->pieces = calloc(total, sizeof *p->pieces);
    p->piece_len = calloc(total, sizeof *p->piece_len);
    if (p->pieces == NULL || p->piece_len == NULL) {
        free(p->pieces);
        free(p->piece_len);
        p->pieces = NULL;
        p->piece_len = NULL;
        return NULL;
    }
    p->id = id;
    p->total = total;
    p->count = 0;
    p->bytes = 0;
    p->age = ++s->clock;
    return p;
}

static int handle_chunk(ek_ser *s, const ek_bp_value *map, ek_ser_frame_fn deliver, void *user)
{
    const ek_bp_value *id = ek_bp_map_get(map, "__peerData");
    const ek_bp_value *n = ek_bp_map_get(map, "n");
    const ek_bp_value *total = ek_bp_map_get(map, "total");
    const ek_bp_value *data = ek_bp_map_get(map, "data");
    if (id == NULL || n == NULL || total == NULL || data == NULL || id->kind != EK_BP_INT ||
        n->kind != EK_BP_INT || total->kind != EK_BP_INT || data->kind != EK_BP_RAW)
        return EK_ERR_DECODE;
    /* Every piece carries at least one byte, so total is bounded by the
     * largest message we reassemble. */
    if (id->v.i <= 0 || total->v.i < 1 || (uint64_t)total->v.i > s->max_message || n->v.i < 0 ||
        n->v.i >= total->v.i)
        return EK_ERR_DECODE;
    if (data->v.bytes.n > s->max_message)
        return EK_ERR_TOO_LARGE;

    ek_ser_partial *p = partial_slot(s, id->v.i, (uint32_t)total->v.i);
    if (p == NULL)
        return EK_ERR_DECODE; /* same number, different total, or no memory */
    uint32_t idx = (uint32_t)n->v.i;
    if (p->pieces[idx] != NULL)
        return EK_ERR_DECODE; /* a duplicate piece; keep the first */
    if (data->v.bytes.n > s->max_message - p->bytes) {
        partial_free(p);
        return EK_ERR_TOO_LARGE;
    }
    p->pieces[idx] = dup_nul(data->v.bytes.p, data->v.bytes.n);
    if (p->pieces[idx] == NULL)
        return EK_ERR_NOMEM;
    p->piece_len[idx] = data->v.bytes.n;
    p->bytes += data->v.bytes.n;
    p->count++;
    if (p->count < p->total)
        return EK_OK;

    uint8_t *whole = malloc(p->bytes > 0 ? p->bytes : 1);
    if (whole == NULL) {
        partial_free(p);
        return EK_ERR_NOMEM;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < p->total; i++) {
        memcpy(whole + off, p->pieces[i], p->piece_len[i]);
        off += p->piece_len[i];
    }
    partial_free(p);

    ek_bp_value *v = NULL;
    int rc = ek_bp_decode(&v, whole, off);
    if (rc == EK_OK) {
        const ek_bp_value *pd = ek_bp_map_get(v, "__peerData");
        /* A reassembled message is data; a chunk inside a chunk is refused
         * rather than recursed into. */
        if (pd != NULL && bp_truthy(pd))
            rc = EK_ERR_DECODE;
        else
            rc = deliver_value(v, deliver, user);
    }
    ek_bp_value_free(v);
    free(whole);
    return rc;
}

static int decode_binary_msg(ek_ser *s, const uint8_t *msg, size_t len, ek_ser_frame_fn deliver,
                             void *user)
{
    ek_bp_value *v = NULL;
    int rc = ek_bp_decode(&v, msg, len);
    if (rc != EK_OK)
        return rc;
    const ek_bp_value *pd = ek_bp_map_get(v, "__peerData");
    if (pd != NULL && bp_truthy(pd)) {
        const ek_bp_value *type = ek_bp_map_get(pd, "type");
        if (type != NULL && type->kind == EK_BP_STR && type->v.bytes.n == 5 &&
            memcmp(type->v.bytes.p, "close", 5) == 0)
            rc = EK_SER_CLOSE_REQUESTED;
        else
            rc = handle_chunk(s, v, deliver, user);
    } else {
        rc = deliver_value(v, deliver, user);
    }
    ek_bp_value_free(v);
    return rc;
}

int ek_ser_decode(ek_ser *s, int is_text, const uint8_t *msg, size_t len, ek_ser_frame_fn deliver,
                  void *user)
{
    static const uint8_t empty[1] = {0};
    if (msg == NULL)
        msg = empty, len = 0;
    if (len > s->max_message)
        return EK_ERR_TOO_LARGE;
    int rc = EK_OK;
    if (is_text) {
        /* PeerJS's json and binary connections only send binary messages;
         * a text message is passed on as text whatever the serialization. */
        if (!ek_bp_utf8_valid(msg, len))
            return EK_ERR_DECODE;
        deliver_copy(deliver, user, EK_NET_FRAME_TEXT, msg, len, &rc);
        return rc;
    }
    switch (s->kind) {
    case EK_NET_SER_RAW: deliver_copy(deliver, user, EK_NET_FRAME_BYTES, msg, len, &rc); return rc;
    case EK_NET_SER_JSON: return decode_json_msg(msg, len, deliver, user);
    case EK_NET_SER_BINARY: return decode_binary_msg(s, msg, len, deliver, user);
    }
    return EK_ERR_INVALID_ARG;
}
