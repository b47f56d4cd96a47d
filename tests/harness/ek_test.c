/* ek_test.c: the harness behind ek_test.h. */
#include "ek_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ek_test_failures;

void ek_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    ek_test_failures++;
}

int ek_test_finish(const char *name)
{
    if (ek_test_failures != 0) {
        printf("%s: FAILED (%d failed checks)\n", name, ek_test_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

int ek_test_bytes_equal(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

void ek_vec_init(ek_vec_stats *s, const char *name)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
}

void ek_vec_case(ek_vec_stats *s, int ok, const char *fmt, ...)
{
    s->cases++;
    if (ok) {
        s->passed++;
        return;
    }
    s->failed++;
    va_list ap;
    fprintf(stderr, "FAIL %s: ", s->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void ek_vec_skip(ek_vec_stats *s, const char *reason)
{
    s->cases++;
    s->skipped++;
    for (int i = 0; i < EK_VEC_MAX_REASONS; i++) {
        if (s->reasons[i] == NULL || strcmp(s->reasons[i], reason) == 0) {
            s->reasons[i] = reason;
            s->reason_counts[i]++;
            return;
        }
    }
}

int ek_vec_finish(ek_vec_stats *s)
{
    unsigned ran = s->passed + s->failed;
    printf("vectors %s: cases %u, ran %u, passed %u, failed %u, skipped %u\n", s->name, s->cases,
           ran, s->passed, s->failed, s->skipped);
    for (int i = 0; i < EK_VEC_MAX_REASONS && s->reasons[i] != NULL; i++)
        printf("  skipped %u: %s\n", s->reason_counts[i], s->reasons[i]);
    if (ran == 0) {
        printf("vectors %s: FAILED (no case ran)\n", s->name);
        return 1;
    }
    return s->failed != 0 || ek_test_failures != 0;
}

const char *ek_test_vector_path(int argc, char **argv, const char *rel)
{
    static char path[4096];
    const char *dir = argc > 1 ? argv[1] : EK_TEST_VECTORS_DIR;
    int n = snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, "vector path too long\n");
        exit(2);
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "missing vector file %s (is ../shared beside the checkout?)\n", path);
        exit(2);
    }
    fclose(f);
    return path;
}

json_t *ek_test_load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, JSON_DECODE_ANY, &err);
    if (j == NULL) {
        fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
        exit(2);
    }
    return j;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

uint8_t *ek_test_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2 != 0) {
        fprintf(stderr, "odd-length hex\n");
        exit(2);
    }
    uint8_t *out = malloc(n / 2 + 1);
    if (out == NULL)
        abort();
    for (size_t i = 0; i < n / 2; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "bad hex digit\n");
            exit(2);
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

const char *ek_test_json_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        fprintf(stderr, "missing string field \"%s\"\n", key);
        exit(2);
    }
    return json_string_value(v);
}

uint8_t *ek_test_json_hex(const json_t *obj, const char *key, size_t *len)
{
    return ek_test_unhex(ek_test_json_str(obj, key), len);
}

long long ek_test_json_int(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) {
        fprintf(stderr, "missing integer field \"%s\"\n", key);
        exit(2);
    }
    return json_integer_value(v);
}

char *ek_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            abort();
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        char *grown = realloc(buf, cap);
        if (grown == NULL)
            abort(); /* a test harness: out of memory ends the test */
        buf = grown;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}
