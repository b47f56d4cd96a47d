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
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ enkrypt-broker %s: %s\n", stamp, ts.tv_nsec / 1000000, names[level],
            line);
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
