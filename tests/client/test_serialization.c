/*
 * test_serialization.c: frames <-> data-channel messages for `raw`, `json`
 * and `binary` (client/net/serialization.c). The chunk sizes are the ones
 * seen from a browser (webrtc-transport.md §7: a 40000-byte array went as
 * 16331 + 16331 + 7434 bytes), the chunk map is checked byte by byte, and
 * reassembly is checked in and out of order and against every bound
 * (duplicates, a wrong total, too many pieces, too many messages at once,
 * too many bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "binarypack.h"
#include "ek_test.h"
#include "serialization.h"

#define MAX_MSGS 16

typedef struct msgs {
    int n;
    int is_text[MAX_MSGS];
    uint8_t *data[MAX_MSGS];
    size_t len[MAX_MSGS];
} msgs;

static int collect(void *user, int is_text, uint8_t *data, size_t len)
{
    msgs *m = user;
    if (m->n >= MAX_MSGS) {
        free(data);
        return -1;
    }
    m->is_text[m->n] = is_text;
    m->data[m->n] = data;
    m->len[m->n] = len;
    m->n++;
    return 0;
}

static void msgs_free(msgs *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->data[i]);
    memset(m, 0, sizeof *m);
}

typedef struct frames {
    int n;
    ek_net_frame_kind kind;
    uint8_t *data;
    size_t len;
} frames;

static void got(void *user, ek_net_frame_kind kind, const uint8_t *data, size_t len)
{
    frames *f = user;
    f->n++;
    f->kind = kind;
    free(f->data);
    f->data = malloc(len + 1);
    memcpy(f->data, data, len);
    f->data[len] = 0;
    f->len = len;
    /* TEXT and VALUE frames are NUL-terminated for the app */
    if (kind != EK_NET_FRAME_BYTES)
        EK_CHECK(data[len] == 0);
}

static void test_binary_chunking(void)
{
    static uint8_t big[40000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    ek_ser tx, rx;
    ek_ser_init(&tx, EK_NET_SER_BINARY, 1 << 20);
    ek_ser_init(&rx, EK_NET_SER_BINARY, 1 << 20);
    msgs m = {0};
    EK_CHECK_OK(ek_ser_encode(&tx, EK_NET_FRAME_BYTES, big, sizeof big, collect, &m));
    EK_CHECK(m.n == 3);
    EK_CHECK(m.len[0] == 16331 && m.len[1] == 16331 && m.len[2] == 7434);
    /* {__peerData: 1, n: 0, data: <16300 bytes>, total: 3} in PeerJS's key order */
    static const uint8_t head[] = {0x84, 0xba, '_', '_', 'p',  'e',  'e',  'r',
                                   'D',  'a',  't', 'a', 0x01, 0xb1, 'n',  0x00,
                                   0xb4, 'd',  'a', 't', 'a',  0xda, 0x3f, 0xac};
    static const uint8_t tail[] = {0xb5, 't', 'o', 't', 'a', 'l', 0x03};
    EK_CHECK(memcmp(m.data[0], head, sizeof head) == 0);
    EK_CHECK(memcmp(m.data[0] + m.len[0] - sizeof tail, tail, sizeof tail) == 0);
    for (int i = 0; i < 3; i++)
        EK_CHECK(!m.is_text[i]);

    /* out of order: 2, 0, 1 */
    frames f = {0};
    int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++)
        EK_CHECK_OK(ek_ser_decode(&rx, 0, m.data[order[k]], m.len[order[k]], got, &f));
    EK_CHECK(f.n == 1 && f.kind == EK_NET_FRAME_BYTES && f.len == sizeof big &&
             memcmp(f.data, big, sizeof big) == 0);

    /* the next chunked message gets the next number */
    msgs m2 = {0};
    EK_CHECK_OK(ek_ser_encode(&tx, EK_NET_FRAME_BYTES, big, 20000, collect, &m2));
    EK_CHECK(m2.n == 2 && m2.data[0][12] == 0x02);
    /* a duplicate piece is refused and does not complete the message */
    EK_CHECK(ek_ser_decode(&rx, 0, m2.data[0], m2.len[0], got, &f) == EK_OK);
    EK_CHECK(ek_ser_decode(&rx, 0, m2.data[0], m2.len[0], got, &f) == EK_ERR_DECODE);
    EK_CHECK(f.n == 1);
    EK_CHECK_OK(ek_ser_decode(&rx, 0, m2.data[1], m2.len[1], got, &f));
    EK_CHECK(f.n == 2 && f.len == 20000 && memcmp(f.data, big, 20000) == 0);

    msgs_free(&m);
    msgs_free(&m2);
    free(f.data);
    ek_ser_clear(&tx);
    ek_ser_clear(&rx);
}

static size_t chunk(uint8_t *out, size_t cap, int64_t id, int64_t n, int64_t total,
                    const uint8_t *p, size_t len)
{
    ek_writer w;
    ek_writer_init_fixed(&w, out, cap);
    ek_bp_pack_map_header(&w, 4);
    ek_bp_pack_str(&w, "__peerData", 10);
    ek_bp_pack_int(&w, id);
    ek_bp_pack_str(&w, "n", 1);
    ek_bp_pack_int(&w, n);
    ek_bp_pack_str(&w, "data", 4);
    ek_bp_pack_raw(&w, p, len);
    ek_bp_pack_str(&w, "total", 5);
    ek_bp_pack_int(&w, total);
    EK_CHECK(w.err == EK_OK);
    return w.len;
}

static void test_chunk_bounds(void)
{
    ek_ser rx;
    ek_ser_init(&rx, EK_NET_SER_BINARY, 100000);
    frames f = {0};
    uint8_t buf[70000], piece[66000];
    memset(piece, 0x5a, sizeof piece);
    size_t n;

    /* n >= total, total 0, id 0 (falsy: plain data), total over the bound */
    n = chunk(buf, sizeof buf, 5, 3, 3, piece, 10);
    EK_CHECK(ek_ser_decode(&rx, 0, buf, n, got, &f) == EK_ERR_DECODE);
    n = chunk(buf, sizeof buf, 5, 0, 0, piece, 10);
    EK_CHECK(ek_ser_decode(&rx, 0, buf, n, got, &f) == EK_ERR_DECODE);
    n = chunk(buf, sizeof buf, 5, 0, 1000000, piece, 10);
    EK_CHECK(ek_ser_decode(&rx, 0, buf, n, got, &f) == EK_ERR_DECODE);
    n = chunk(buf, sizeof buf, 0, 0, 2, piece, 10);
    EK_CHECK_OK(ek_ser_decode(&rx, 0, buf, n, got, &f));
    EK_CHECK(f.n == 1 && f.kind == EK_NET_FRAME_VALUE); /* __peerData 0 is not a chunk */

    /* same number, another total */
    n = chunk(buf, sizeof buf, 7, 0, 3, piece, 10);
    EK_CHECK_OK(ek_ser_decode(&rx, 0, buf, n, got, &f));
    n = chunk(buf, sizeof buf, 7, 1, 4, piece, 10);
    EK_CHECK(ek_ser_decode(&rx, 0, buf, n, got, &f) == EK_ERR_DECODE);

    /* more bytes than max_message in one partial message */
    n = chunk(buf, sizeof buf, 8, 0, 3, piece, 60000);
    EK_CHECK_OK(ek_ser_decode(&rx, 0, buf, n, got, &f));
    n = chunk(buf, sizeof buf, 8, 1, 3, piece, 60000);
    EK_CHECK(ek_ser_decode(&rx, 0, buf, n, got, &f) == EK_ERR_TOO_LARGE);

    /* many messages half-sent: the oldest are dropped, memory stays bounded.
     * Each message is a packed 1997-byte raw (2000 bytes) in two pieces. */
    uint8_t packed[2000];
    ek_writer pw;
    ek_writer_init_fixed(&pw, packed, sizeof packed);
    ek_bp_pack_raw(&pw, piece, 1997);
    EK_CHECK(pw.len == 2000);
    for (int64_t id = 100; id < 100 + 4 * EK_SER_MAX_PARTIALS; id++) {
        n = chunk(buf, sizeof buf, id, 0, 2, packed, 1000);
        EK_CHECK_OK(ek_ser_decode(&rx, 0, buf, n, got, &f));
    }
    int used = 0;
    for (int i = 0; i < EK_SER_MAX_PARTIALS; i++)
        used += rx.partials[i].id != 0;
    EK_CHECK(used == EK_SER_MAX_PARTIALS);
    /* the newest one still completes; the oldest is gone */
    int before = f.n;
    n = chunk(buf, sizeof buf, 100 + 4 * EK_SER_MAX_PARTIALS - 1, 1, 2, packed + 1000, 1000);
    EK_CHECK_OK(ek_ser_decode(&rx, 0, buf, n, got, &f));
    EK_CHECK(f.n == before + 1 && f.kind == EK_NET_FRAME_BYTES && f.len == 1997);
    n = chunk(buf, sizeof buf, 100, 1, 2, packed + 1000, 1000);
    EK_CHECK_OK(ek_ser_decode(&rx, 0, buf, n, got, &f)); /* starts a new partial */
    EK_CHECK(f.n == before + 1);

    /* a chunk whose reassembly is itself a chunk map is refused */
    uint8_t inner[200];
    size_t ilen = chunk(inner, sizeof inner, 9, 0, 1, piece, 5);
    n = chunk(buf, sizeof buf, 300, 0, 1, inner, ilen);
    EK_CHECK(ek_ser_decode(&rx, 0, buf, n, got, &f) == EK_ERR_DECODE);

    free(f.data);
    ek_ser_clear(&rx);
}

static void test_close_requests(void)
{
    ek_ser s;
    frames f = {0};
    ek_ser_init(&s, EK_NET_SER_JSON, 1 << 20);
    const char *close_json = "{\"__peerData\":{\"type\":\"close\"}}";
    EK_CHECK(ek_ser_decode(&s, 0, (const uint8_t *)close_json, strlen(close_json), got, &f) ==
             EK_SER_CLOSE_REQUESTED);
    EK_CHECK(f.n == 0);
    ek_ser_clear(&s);

    ek_ser_init(&s, EK_NET_SER_BINARY, 1 << 20);
    uint8_t buf[64];
    ek_writer w;
    ek_writer_init_fixed(&w, buf, sizeof buf);
    ek_bp_pack_map_header(&w, 1);
    ek_bp_pack_str(&w, "__peerData", 10);
    ek_bp_pack_map_header(&w, 1);
    ek_bp_pack_str(&w, "type", 4);
    ek_bp_pack_str(&w, "close", 5);
    EK_CHECK(ek_ser_decode(&s, 0, buf, w.len, got, &f) == EK_SER_CLOSE_REQUESTED);
    EK_CHECK(f.n == 0);
    ek_ser_clear(&s);
}

static void test_json(void)
{
    ek_ser s;
    msgs m = {0};
    frames f = {0};
    ek_ser_init(&s, EK_NET_SER_JSON, 1 << 20);
    const char *v = "{\"hello\":\"from C\",\"n\":42}";
    EK_CHECK_OK(ek_ser_encode(&s, EK_NET_FRAME_VALUE, (const uint8_t *)v, strlen(v), collect, &m));
    /* PeerJS decodes json with TextDecoder: a binary message */
    EK_CHECK(m.n == 1 && !m.is_text[0] && m.len[0] == strlen(v));
    EK_CHECK_OK(ek_ser_encode(&s, EK_NET_FRAME_TEXT, (const uint8_t *)"a\"b", 3, collect, &m));
    EK_CHECK(m.n == 2 && m.len[1] == 6 && memcmp(m.data[1], "\"a\\\"b\"", 6) == 0);
    EK_CHECK(ek_ser_encode(&s, EK_NET_FRAME_BYTES, (const uint8_t *)"x", 1, collect, &m) ==
             EK_ERR_UNSUPPORTED);
    EK_CHECK(ek_ser_encode(&s, EK_NET_FRAME_VALUE, (const uint8_t *)"{bad", 4, collect, &m) ==
             EK_ERR_DECODE);
    EK_CHECK_OK(ek_ser_decode(&s, 0, m.data[0], m.len[0], got, &f));
    EK_CHECK(f.n == 1 && f.kind == EK_NET_FRAME_VALUE && strcmp((char *)f.data, v) == 0);
    EK_CHECK(ek_ser_decode(&s, 0, (const uint8_t *)"not json", 8, got, &f) == EK_ERR_DECODE);
    EK_CHECK(f.n == 1);
    msgs_free(&m);
    free(f.data);
    ek_ser_clear(&s);
}

static void test_raw(void)
{
    ek_ser s;
    msgs m = {0};
    frames f = {0};
    ek_ser_init(&s, EK_NET_SER_RAW, 1 << 20);
    static uint8_t max[EK_NET_MAX_FRAME + 1];
    EK_CHECK_OK(ek_ser_encode(&s, EK_NET_FRAME_BYTES, max, EK_NET_MAX_FRAME, collect, &m));
    EK_CHECK(m.n == 1 && !m.is_text[0] && m.len[0] == EK_NET_MAX_FRAME);
    EK_CHECK(ek_ser_encode(&s, EK_NET_FRAME_BYTES, max, EK_NET_MAX_FRAME + 1, collect, &m) ==
             EK_ERR_TOO_LARGE);
    EK_CHECK_OK(ek_ser_encode(&s, EK_NET_FRAME_TEXT, (const uint8_t *)"hi", 2, collect, &m));
    EK_CHECK(m.n == 2 && m.is_text[1] && m.data[1][2] == 0);
    EK_CHECK(ek_ser_encode(&s, EK_NET_FRAME_TEXT, (const uint8_t *)"a\0b", 3, collect, &m) ==
             EK_ERR_UNSUPPORTED);
    EK_CHECK(ek_ser_encode(&s, EK_NET_FRAME_TEXT, (const uint8_t *)"\xff", 1, collect, &m) ==
             EK_ERR_DECODE);
    EK_CHECK_OK(ek_ser_encode(&s, EK_NET_FRAME_BYTES, NULL, 0, collect, &m));
    EK_CHECK(m.n == 3 && m.len[2] == 0);
    EK_CHECK_OK(ek_ser_decode(&s, 0, m.data[0], m.len[0], got, &f));
    EK_CHECK(f.kind == EK_NET_FRAME_BYTES && f.len == EK_NET_MAX_FRAME);
    EK_CHECK_OK(ek_ser_decode(&s, 1, (const uint8_t *)"text", 4, got, &f));
    EK_CHECK(f.kind == EK_NET_FRAME_TEXT && strcmp((char *)f.data, "text") == 0);
    msgs_free(&m);
    free(f.data);
    ek_ser_clear(&s);
}

static void test_binary_values(void)
{
    ek_ser s;
    msgs m = {0};
    frames f = {0};
    ek_ser_init(&s, EK_NET_SER_BINARY, 1 << 20);
    const char *v = "{\"bytes\":[0,1,2,250,255],\"s\":\"x\"}";
    EK_CHECK_OK(ek_ser_encode(&s, EK_NET_FRAME_VALUE, (const uint8_t *)v, strlen(v), collect, &m));
    EK_CHECK_OK(ek_ser_decode(&s, 0, m.data[0], m.len[0], got, &f));
    EK_CHECK(f.kind == EK_NET_FRAME_VALUE);
    json_error_t e1, e2;
    json_t *a = json_loads(v, 0, &e1), *b = json_loads((char *)f.data, 0, &e2);
    EK_CHECK(a != NULL && b != NULL && json_equal(a, b));
    json_decref(a);
    json_decref(b);
    EK_CHECK_OK(ek_ser_encode(&s, EK_NET_FRAME_TEXT, (const uint8_t *)"text over binarypack", 20,
                              collect, &m));
    EK_CHECK_OK(ek_ser_decode(&s, 0, m.data[1], m.len[1], got, &f));
    EK_CHECK(f.kind == EK_NET_FRAME_TEXT && strcmp((char *)f.data, "text over binarypack") == 0);
    msgs_free(&m);
    free(f.data);
    ek_ser_clear(&s);
}

int main(void)
{
    test_binary_chunking();
    test_chunk_bounds();
    test_close_requests();
    test_json();
    test_raw();
    test_binary_values();
    return ek_test_finish("net.serialization");
}
