/*
 * bench.h: measuring and printing for enkrypt-bench.
 *
 * A measurement runs an operation in batches sized to take about 20 ms,
 * seven times, and reports the median batch (robust to a noisy neighbour on
 * a 2-core machine). Results are JSON lines:
 *   {"bench":"crypto","op":"mlkem768.keygen","ns_per_op":...,"ops_per_s":...}
 * with "n" (a size) and "mb_per_s" (throughput) when they apply.
 */
#ifndef EK_BENCH_H
#define EK_BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef void (*ek_bench_fn)(void *ctx);

uint64_t ek_bench_now_ns(void);
/* Median nanoseconds per call of fn(ctx). */
double ek_bench_measure(ek_bench_fn fn, void *ctx);
/* Print one JSON line. n < 0 omits "n"; bytes_per_op == 0 omits "mb_per_s". */
void ek_bench_print(const char *bench, const char *op, long long n, double ns_per_op,
                    double bytes_per_op);
/* Abort the benchmark with a message when an operation fails. */
void ek_bench_check(int rc, const char *what);

/* Suites. */
void ek_bench_suite_crypto(void);
void ek_bench_suite_ratchet(void);
void ek_bench_suite_cascade(void);
void ek_bench_suite_mls(void);
/* Parts of the crypto suite, one file each. */
void ek_bench_crypto_mlkem(void);
void ek_bench_crypto_hpke(void);

#endif
