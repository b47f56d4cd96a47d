/*
 * enkrypt-bench: measured figures of libenkrypt as JSON lines.
 *   enkrypt-bench SUITE...   (suites: crypto; "all" runs every suite)
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

struct suite {
    const char *name;
    void (*run)(void);
};

static const struct suite suites[] = {
    {"crypto", ek_bench_suite_crypto},
    {"ratchet", ek_bench_suite_ratchet},
    {"cascade", ek_bench_suite_cascade},
    {"mls", ek_bench_suite_mls},
};

static void usage(void)
{
    fprintf(stderr, "usage: enkrypt-bench SUITE...\nsuites: all");
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        fprintf(stderr, " %s", suites[i].name);
    fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    for (int a = 1; a < argc; a++) {
        int found = 0;
        for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
            if (strcmp(argv[a], "all") == 0 || strcmp(argv[a], suites[i].name) == 0) {
                suites[i].run();
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "enkrypt-bench: unknown suite \"%s\"\n", argv[a]);
            usage();
            return 2;
        }
    }
    return 0;
}
