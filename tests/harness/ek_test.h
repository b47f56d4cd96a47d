/*
 * ek_test.h: the small test harness of enkrypt's suite.
 *
 * Unit checks (EK_CHECK...) count failures and report file:line; a test's
 * main returns ek_test_finish(). Vector tests keep ek_vec_stats: every case
 * is run and recorded as passed or failed, or skipped with a reason that the
 * test's source justifies; ek_vec_finish prints the counts in one line:
 *   vectors <name>: cases 316, ran 313, passed 313, failed 0, skipped 3
 * and fails when any case failed or none ran.
 */
#ifndef EK_TEST_H
#define EK_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <enkrypt/ek_base.h>

extern int ek_test_failures;

void ek_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define EK_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ek_test_fail(__FILE__, __LINE__, "check failed: %s", #cond);                           \
    } while (0)

#define EK_CHECK_RC(expr, want)                                                                    \
    do {                                                                                           \
        int ek_rc_ = (expr);                                                                       \
        if (ek_rc_ != (want))                                                                      \
            ek_test_fail(__FILE__, __LINE__, "%s returned %d (%s), wanted %d", #expr, ek_rc_,      \
                         ek_strerror(ek_rc_), (int)(want));                                        \
    } while (0)

#define EK_CHECK_OK(expr) EK_CHECK_RC(expr, 0)

#define EK_CHECK_BYTES(got, want, n)                                                               \
    do {                                                                                           \
        if (!ek_test_bytes_equal((got), (want), (n)))                                              \
            ek_test_fail(__FILE__, __LINE__, "bytes differ: %s vs %s", #got, #want);               \
    } while (0)

/* Prints the unit-test summary; the exit status for main. */
int ek_test_finish(const char *name);

int ek_test_bytes_equal(const void *a, const void *b, size_t n);

/* ---- vector tests ---- */
#define EK_VEC_MAX_REASONS 16
typedef struct ek_vec_stats {
    const char *name;
    unsigned cases, passed, failed, skipped;
    const char *reasons[EK_VEC_MAX_REASONS];
    unsigned reason_counts[EK_VEC_MAX_REASONS];
} ek_vec_stats;

void ek_vec_init(ek_vec_stats *s, const char *name);
/* Record one case; on failure print the formatted description. */
void ek_vec_case(ek_vec_stats *s, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record one skipped case; reason must be a string literal. */
void ek_vec_skip(ek_vec_stats *s, const char *reason);
/* Print the one-line summary (and skip reasons); the exit status for main. */
int ek_vec_finish(ek_vec_stats *s);

/* ---- inputs ---- */
/* The path of a vector file: dir given as argv[1] (ctest passes it), else
 * the EK_VECTORS_DIR the build was configured with. Aborts if missing. */
const char *ek_test_vector_path(int argc, char **argv, const char *rel);
/* Load a JSON document (aborts with a message on error). */
json_t *ek_test_load_json(const char *path);
/* Decode hex (either case) into a fresh buffer (free with free()); aborts on
 * malformed hex. An empty string gives a non-NULL buffer of length 0. */
uint8_t *ek_test_unhex(const char *hex, size_t *len);
/* The hex string field key of obj, decoded; aborts if absent. */
uint8_t *ek_test_json_hex(const json_t *obj, const char *key, size_t *len);
/* The integer field key of obj; aborts if absent. */
long long ek_test_json_int(const json_t *obj, const char *key);
/* The string field key of obj; aborts if absent. */
const char *ek_test_json_str(const json_t *obj, const char *key);
/* Read a whole file (aborts on error); NUL-terminated. */
char *ek_test_read_file(const char *path, size_t *len);

#endif
