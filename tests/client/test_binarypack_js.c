/*
 * test_binarypack_js.c: our BinaryPack against the real JavaScript one
 * (npm peerjs-js-binarypack 2.1.0, what PeerJS's `binary` serialization
 * runs in the browser), both ways:
 *  1. node packs random values; we must produce the same bytes from the
 *     same value and decode its bytes back to the same value;
 *  2. we pack the same values; node's decoder must read them back.
 *   test_net_binarypack_js <node> <tests/client/node/binarypack_vectors.mjs>
 */
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "binarypack.h"
#include "ek_test.h"

static char *hex_of(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = 0;
    return s;
}

static char *run(const char *const *argv, const char *input)
{
    GError *err = NULL;
    GSubprocessFlags flags =
        G_SUBPROCESS_FLAGS_STDOUT_PIPE | (input != NULL ? G_SUBPROCESS_FLAGS_STDIN_PIPE : 0);
    GSubprocess *p = g_subprocess_newv(argv, flags, &err);
    if (p == NULL) {
        ek_test_fail(__FILE__, __LINE__, "cannot run %s: %s", argv[0], err->message);
        g_error_free(err);
        return NULL;
    }
    char *out = NULL;
    if (!g_subprocess_communicate_utf8(p, input, NULL, &out, NULL, &err)) {
        ek_test_fail(__FILE__, __LINE__, "%s failed: %s", argv[1], err->message);
        g_error_free(err);
    }
    if (!g_subprocess_get_if_exited(p) || g_subprocess_get_exit_status(p) != 0)
        ek_test_fail(__FILE__, __LINE__, "%s exited badly", argv[1]);
    g_object_unref(p);
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <node> <binarypack_vectors.mjs>\n", argv[0]);
        return 2;
    }
    const char *gen[] = {argv[1], argv[2], "gen", "600", "12345", NULL};
    char *vectors = run(gen, NULL);
    if (vectors == NULL)
        return ek_test_finish("net.binarypack_js");

    GString *ours = g_string_new(NULL);
    unsigned cases = 0, same_bytes = 0, decoded = 0;
    char **lines = g_strsplit(vectors, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        if ((*l)[0] == 0)
            continue;
        json_error_t jerr;
        json_t *line = json_loads(*l, 0, &jerr);
        EK_CHECK(line != NULL);
        if (line == NULL)
            continue;
        cases++;
        size_t want_len = 0;
        uint8_t *want = ek_test_unhex(json_string_value(json_object_get(line, "hex")), &want_len);
        ek_writer w;
        ek_writer_init_growable(&w, NULL);
        const json_t *val = json_object_get(line, "json");
        json_t *bytes_hex = json_object_get(line, "bytes");
        size_t blen = 0;
        uint8_t *bytes = NULL;
        if (bytes_hex != NULL) {
            bytes = ek_test_unhex(json_string_value(bytes_hex), &blen);
            ek_bp_pack_raw(&w, bytes, blen);
        } else {
            ek_bp_pack_json(&w, val);
        }
        if (w.err == EK_OK && w.len == want_len && memcmp(w.buf, want, want_len) == 0)
            same_bytes++;
        else
            ek_test_fail(__FILE__, __LINE__, "pack differs from JavaScript for %.200s", *l);

        ek_bp_value *v = NULL;
        int rc = ek_bp_decode(&v, want, want_len);
        if (rc == EK_OK && bytes != NULL) {
            if (v->kind == EK_BP_RAW && v->v.bytes.n == blen &&
                memcmp(v->v.bytes.p, bytes, blen) == 0)
                decoded++;
            else
                ek_test_fail(__FILE__, __LINE__, "decode of JavaScript raw differs");
        } else if (rc == EK_OK) {
            json_t *back = ek_bp_to_json(v);
            if (back != NULL && json_equal(back, val))
                decoded++;
            else
                ek_test_fail(__FILE__, __LINE__, "decode of JavaScript bytes differs: %.200s", *l);
            json_decref(back);
            /* the reverse direction: our bytes for node to decode */
            char *h = hex_of(w.buf, w.len);
            char *vj = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
            g_string_append_printf(ours, "{\"json\":%s,\"hex\":\"%s\"}\n", vj, h);
            free(vj);
            free(h);
        } else {
            ek_test_fail(__FILE__, __LINE__, "cannot decode JavaScript's bytes (%d)", rc);
        }
        ek_bp_value_free(v);
        ek_writer_dispose(&w);
        free(want);
        free(bytes);
        json_decref(line);
    }
    g_strfreev(lines);
    g_free(vectors);

    const char *check[] = {argv[1], argv[2], "check", NULL};
    char *verdict = run(check, ours->str);
    printf("javascript -> C: %u values, %u same bytes, %u decoded\n", cases, same_bytes, decoded);
    printf("C -> javascript: %s", verdict != NULL ? verdict : "(no answer)\n");
    EK_CHECK(cases > 500);
    EK_CHECK(verdict != NULL && strstr(verdict, ", failed 0") != NULL);
    g_free(verdict);
    g_string_free(ours, TRUE);
    return ek_test_finish("net.binarypack_js");
}
