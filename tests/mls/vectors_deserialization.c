/*
 * vectors_deserialization.c: deserialization.json (RFC 9420 §2.1.2): each
 * variable-length header decodes to its length, consumes exactly its bytes
 * and re-encodes (minimally) to the same bytes.
 */
#include <stdlib.h>

#include <enkrypt/ek_mls.h>

#include "ek_test.h"

int main(int argc, char **argv)
{
    json_t *doc = ek_test_load_json(ek_test_vector_path(argc, argv, "mls/deserialization.json"));
    ek_vec_stats st;
    ek_vec_init(&st, "mls/deserialization");
    size_t i;
    json_t *c;
    json_array_foreach (doc, i, c) {
        size_t len;
        uint8_t *hdr = ek_test_json_hex(c, "vlbytes_header", &len);
        long long want = ek_test_json_int(c, "length");
        ek_reader r;
        ek_reader_init(&r, hdr, len);
        uint32_t v = 0;
        int ok = ek_mls_read_varint(&v, &r) == EK_OK && ek_reader_finish(&r) == EK_OK &&
                 (long long)v == want;
        uint8_t out[4];
        ek_writer w;
        ek_writer_init_fixed(&w, out, sizeof(out));
        ok = ok && ek_mls_write_varint(&w, (size_t)want) == EK_OK && w.len == len &&
             ek_test_bytes_equal(out, hdr, len);
        ek_vec_case(&st, ok, "case %zu (length %lld)", i, want);
        free(hdr);
    }
    json_decref(doc);
    return ek_vec_finish(&st);
}
