/*
 * log.c: the broker's log, one line per event on stderr.
 *
 * Policy (docs/broker.md, "Logging"): no message payloads ever, no client
 * addresses unless --log_ips, peer IDs only at debug level. libwebsockets'
 * own messages are routed here at error and warning level.
 */
#define _POSIX_C_SOURCE 200809L

#include "broker.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int log_level = BK_LOG_INFO;

void bk_log_set_level(int level)
{
    log_level = level;
}

void bk_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > log_level)
        return;
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* 19 characters for any 4-digit year; should it not fit, strftime leaves
     * stamp undefined, so the line goes out without a time rather than with
     * garbage. */
    if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        stamp[0] = '\0';

    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    /* va_start is just above: a clang-tidy 14 multi-file false positive (llvm-project#40656).
     * NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* A longer message is cut at sizeof line - 1 bytes; on an encoding error
     * the buffer is unspecified, so say that instead. */
    if (n < 0) {
        static const char unformattable[] = "(log message could not be formatted)";
        memcpy(line, unformattable, sizeof unformattable);
    }
    /* Nowhere left to report a failed write to stderr. */
    (void)fprintf(stderr, "%s.%03ldZ enkrypt-broker %s: %s\n", stamp, ts.tv_nsec / 1000000,
                  names[level], line);
}

int64_t bk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bk_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
