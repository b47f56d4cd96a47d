/*
 * net-throughput-raw.h: the bare-webrtcbin baseline of net-throughput
 * (net-throughput-raw.c).
 */
#ifndef EK_NET_THROUGHPUT_RAW_H
#define EK_NET_THROUGHPUT_RAW_H

#include <stddef.h>

typedef struct raw_result {
    double open_ms;
    double mb_per_s, seconds;
    double cpu_cores; /* CPU time of the whole process / wall time, while sending */
    unsigned long long frames;
    double *rtt_ms; /* rtt_n values, unsorted; static storage */
    int rtt_n;
} raw_result;

/* One connection between two bare webrtcbins: open, frame-sized messages
 * one way for `seconds` with buffered-amount high/low water, then 1000
 * pings after 50. 0 or -1 (did not open). */
int raw_bench_run(raw_result *out, size_t frame, double seconds, size_t high, size_t low);

#endif
