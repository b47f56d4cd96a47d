/* bench.c: timing and JSON output for enkrypt-bench. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <enkrypt/ek_base.h>

uint64_t ek_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ek_bench_measure(ek_bench_fn fn, void *ctx)
{
    enum { RUNS = 7 };
    const uint64_t target_ns = 20000000; /* 20 ms a batch */
    /* Warm up and size the batch. */
    uint64_t iters = 1;
    for (;;) {
        uint64_t t0 = ek_bench_now_ns();
        for (uint64_t i = 0; i < iters; i++)
            fn(ctx);
        uint64_t dt = ek_bench_now_ns() - t0;
        if (dt >= target_ns / 4 || iters >= (1u << 30))
            break;
        iters *= 2;
    }
    iters *= 4;
    double runs[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = ek_bench_now_ns();
        for (uint64_t i = 0; i < iters; i++)
            fn(ctx);
        runs[r] = (double)(ek_bench_now_ns() - t0) / (double)iters;
    }
    qsort(runs, RUNS, sizeof(runs[0]), cmp_double);
    return runs[RUNS / 2];
}

void ek_bench_print(const char *bench, const char *op, long long n, double ns_per_op,
                    double bytes_per_op)
{
    printf("{\"bench\":\"%s\",\"op\":\"%s\"", bench, op);
    if (n >= 0)
        printf(",\"n\":%lld", n);
    printf(",\"ns_per_op\":%.1f,\"ops_per_s\":%.0f", ns_per_op, 1e9 / ns_per_op);
    if (bytes_per_op > 0)
        printf(",\"mb_per_s\":%.1f", bytes_per_op / ns_per_op * 1e3);
    printf("}\n");
    (void)fflush(stdout);
}

void ek_bench_check(int rc, const char *what)
{
    if (rc != EK_OK) {
        fprintf(stderr, "enkrypt-bench: %s failed: %s\n", what, ek_strerror(rc));
        exit(1);
    }
}
