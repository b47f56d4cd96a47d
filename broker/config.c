/*
 * config.c: defaults, the JSON config file and the command-line flags.
 *
 * Every setting is one row of the option table below; a flag and a config
 * file key with the same name go through the same setter, so the two can
 * never disagree on syntax or range.
 */
#define _POSIX_C_SOURCE 200809L

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

enum opt_kind { K_STR, K_UINT, K_MS, K_SIZE, K_BOOL, K_PORT, K_AUTH, K_LOG, K_CORS, K_CONFIG };

typedef struct opt {
    const char *name;
    int short_name;
    enum opt_kind kind;
    size_t offset;
    size_t size; /* K_STR: buffer size */
    unsigned long long max;
    const char *help;
} opt;

#define F(field) offsetof(bk_config, field), sizeof(((bk_config *)0)->field)

static const opt options[] = {
    {"port", 'p', K_PORT, F(port), 65535,
     "TCP port to listen on (default 9000; 0 picks a free one)"},
    {"host", 'H', K_STR, F(host), 0, "address to listen on (default: every interface)"},
    {"key", 'k', K_STR, F(key), 0, "the only accepted `key` (default peerjs)"},
    {"path", 0, K_STR, F(path), 0,
     "mount path of the API; the WebSocket is at {path}peerjs (default /)"},
    {"expire_timeout", 't', K_MS, F(expire_timeout_ms), 86400000,
     "ms before queued messages expire (default 5000)"},
    {"alive_timeout", 0, K_MS, F(alive_timeout_ms), 86400000,
     "ms without HEARTBEAT before a client is dropped (default 60000)"},
    {"concurrent_limit", 'c', K_UINT, F(concurrent_limit), 10000000,
     "most registered peer IDs (default 50000)"},
    {"allow_discovery", 0, K_BOOL, F(allow_discovery), 0, "serve GET {path}{key}/peers"},
    {"proxied", 0, K_BOOL, F(proxied), 0,
     "behind a reverse proxy: take the client address from X-Forwarded-For"},
    {"sslkey", 0, K_STR, F(sslkey), 0,
     "TLS private key file (PEM); with --sslcert serves HTTPS and WSS"},
    {"sslcert", 0, K_STR, F(sslcert), 0, "TLS certificate chain file (PEM)"},
    {"cors", 0, K_CORS, 0, 0, 0, "allowed Origin (repeatable); default: echo any Origin"},
    {"max_message_size", 0, K_SIZE, F(max_message_size), 16u << 20,
     "largest WebSocket message in bytes (default 65536)"},
    {"queue_max_messages", 0, K_UINT, F(queue_max_messages), 1000000,
     "messages queued per offline ID (default 64)"},
    {"queue_max_bytes", 0, K_SIZE, F(queue_max_bytes), 1ull << 30,
     "bytes queued per offline ID (default 262144)"},
    {"queue_total_bytes", 0, K_SIZE, F(queue_total_bytes), 1ull << 40,
     "bytes queued in all (default 67108864)"},
    {"max_connections_per_ip", 0, K_UINT, F(max_connections_per_ip), 10000000,
     "WebSocket connections per client address; 0 = no limit (default 64)"},
    {"ip_message_rate", 0, K_UINT, F(ip_message_rate), 100000000,
     "messages per second per client address; 0 = no limit (default 200)"},
    {"ip_message_burst", 0, K_UINT, F(ip_message_burst), 100000000,
     "burst above that rate (default 400)"},
    {"max_strikes", 0, K_UINT, F(max_strikes), 255,
     "bound violations before a client is disconnected (default 5)"},
    {"send_buffer_bytes", 0, K_SIZE, F(send_buffer_bytes), 1ull << 30,
     "bytes waiting to be sent to one client before it is dropped as too slow (default 1048576)"},
    {"rx_buffer_bytes", 0, K_SIZE, F(rx_buffer_bytes), 1u << 20,
     "per-connection receive buffer; smaller saves memory, larger saves CPU (default 1536)"},
    {"auth", 0, K_AUTH, F(auth), 0,
     "authenticated IDs: off, optional (ek- IDs must sign) or required (default off)"},
    {"auth_realm", 0, K_STR, F(auth_realm), 0,
     "string bound into every auth signature (default enkrypt-broker)"},
    {"auth_window", 0, K_MS, F(auth_window_ms), 3600000,
     "ms an auth token is fresh on either side of its time (default 60000)"},
    {"auth_replay_cache", 0, K_UINT, F(auth_replay_cache), 10000000,
     "tokens remembered to refuse replays (default 100000)"},
    {"log_level", 0, K_LOG, F(log_level), 0, "error, warn, info or debug (default info)"},
    {"log_ips", 0, K_BOOL, F(log_ips), 0, "put client addresses in the log (default off)"},
    {"metrics", 0, K_BOOL, F(metrics), 0, "serve /health and /metrics (default on)"},
    {"libev", 0, K_BOOL, F(libev), 0,
     "event loop: libev on epoll (default), or poll() with --libev false"},
    {"config", 0, K_CONFIG, 0, 0, 0,
     "JSON file whose keys are these flag names; flags given after it win"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

void bk_config_defaults(bk_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 9000;
    strcpy(cfg->key, "peerjs");
    strcpy(cfg->path, "/");
    cfg->expire_timeout_ms = 5000;
    cfg->alive_timeout_ms = 60000; /* the peerjs CLI's default, not the library's 90000 */
    cfg->concurrent_limit = 50000;
    cfg->max_message_size = 65536;
    cfg->queue_max_messages = 64;
    cfg->queue_max_bytes = (size_t)256 * 1024;
    cfg->queue_total_bytes = 64u << 20;
    cfg->max_connections_per_ip = 64;
    cfg->ip_message_rate = 200;
    cfg->ip_message_burst = 400;
    cfg->max_strikes = 5;
    cfg->send_buffer_bytes = 1u << 20;
    cfg->rx_buffer_bytes = 1536;
    cfg->auth = BK_AUTH_OFF;
    strcpy(cfg->auth_realm, "enkrypt-broker");
    cfg->auth_window_ms = 60000;
    cfg->auth_replay_cache = 100000;
    cfg->log_level = 2;
    cfg->metrics = true;
    cfg->libev = true;
}

void bk_config_usage(FILE *out)
{
    fprintf(out, "usage: enkrypt-broker [flags]\n"
                 "A PeerJS-compatible signaling server (see docs/broker.md).\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt *o = &options[i];
        char flag[64];
        if (o->short_name)
            snprintf(flag, sizeof flag, "-%c, --%s", o->short_name, o->name);
        else
            snprintf(flag, sizeof flag, "    --%s", o->name);
        fprintf(out, "  %-28s %s\n", flag, o->help);
    }
    fprintf(out, "  %-28s %s\n  %-28s %s\n", "-h, --help", "this text", "    --version",
            "print the version");
}

static int parse_ull(const char *name, const char *v, unsigned long long max,
                     unsigned long long *out)
{
    char *end;
    if (!v || !*v || *v == '-' || *v == '+') {
        fprintf(stderr, "enkrypt-broker: --%s needs a non-negative integer\n", name);
        return -1;
    }
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n > max) {
        fprintf(stderr, "enkrypt-broker: --%s: '%s' is not an integer in 0..%llu\n", name, v, max);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_bool(const char *name, const char *v, bool *out)
{
    if (!v || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on")) {
        *out = true;
    } else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off")) {
        *out = false;
    } else {
        fprintf(stderr, "enkrypt-broker: --%s: '%s' is not true or false\n", name, v);
        return -1;
    }
    return 0;
}

/* Apply one setting. value is NULL for a bare boolean flag. */
static int set_option(bk_config *cfg, const opt *o, const char *value)
{
    char *base = (char *)cfg;
    unsigned long long n;

    if (o->kind != K_BOOL && !value) {
        fprintf(stderr, "enkrypt-broker: --%s needs a value\n", o->name);
        return -1;
    }
    switch (o->kind) {
    case K_STR:
        if (strlen(value) >= o->size) {
            fprintf(stderr, "enkrypt-broker: --%s: value longer than %zu bytes\n", o->name,
                    o->size - 1);
            return -1;
        }
        memcpy(base + o->offset, value, strlen(value) + 1);
        return 0;
    case K_PORT:
    case K_UINT:
        if (parse_ull(o->name, value, o->max, &n))
            return -1;
        if (o->kind == K_PORT)
            *(int *)(void *)(base + o->offset) = (int)n;
        else
            *(unsigned *)(void *)(base + o->offset) = (unsigned)n;
        return 0;
    case K_MS:
        if (parse_ull(o->name, value, o->max, &n))
            return -1;
        *(int64_t *)(void *)(base + o->offset) = (int64_t)n;
        return 0;
    case K_SIZE:
        if (parse_ull(o->name, value, o->max, &n))
            return -1;
        *(size_t *)(void *)(base + o->offset) = (size_t)n;
        return 0;
    case K_BOOL: return parse_bool(o->name, value, (bool *)(void *)(base + o->offset));
    case K_AUTH:
        if (!strcmp(value, "off"))
            cfg->auth = BK_AUTH_OFF;
        else if (!strcmp(value, "optional"))
            cfg->auth = BK_AUTH_OPTIONAL;
        else if (!strcmp(value, "required"))
            cfg->auth = BK_AUTH_REQUIRED;
        else {
            fprintf(stderr, "enkrypt-broker: --auth: '%s' is not off, optional or required\n",
                    value);
            return -1;
        }
        return 0;
    case K_LOG: {
        static const char *const levels[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(value, levels[i])) {
                cfg->log_level = i;
                return 0;
            }
        fprintf(stderr, "enkrypt-broker: --log_level: '%s' is not error, warn, info or debug\n",
                value);
        return -1;
    }
    case K_CORS: {
        size_t len = strlen(value);
        if (cfg->n_cors >= BK_MAX_CORS || len >= sizeof cfg->cors[0]) {
            fprintf(stderr, "enkrypt-broker: --cors: at most %d origins of at most %zu bytes\n",
                    BK_MAX_CORS, sizeof cfg->cors[0] - 1);
            return -1;
        }
        memcpy(cfg->cors[cfg->n_cors++], value, len + 1); /* fits: checked above */
        return 0;
    }
    case K_CONFIG: return bk_config_load_file(cfg, value);
    }
    return -1;
}

static const opt *find_option(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (!strcmp(options[i].name, name))
            return &options[i];
    return NULL;
}

int bk_config_load_file(bk_config *cfg, const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        fprintf(stderr, "enkrypt-broker: config %s:%d: %s\n", path, err.line, err.text);
        return -1;
    }
    int rc = 0;
    if (!json_is_object(root)) {
        fprintf(stderr, "enkrypt-broker: config %s: the top level must be an object\n", path);
        rc = -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach (root, k, v) {
        if (rc)
            break;
        const opt *o = find_option(k);
        if (!o || o->kind == K_CONFIG) {
            fprintf(stderr, "enkrypt-broker: config %s: unknown setting '%s'\n", path, k);
            rc = -1;
            break;
        }
        char num[32];
        if (o->kind == K_CORS && json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach (v, i, e) {
                if (!json_is_string(e) || set_option(cfg, o, json_string_value(e))) {
                    fprintf(stderr, "enkrypt-broker: config %s: cors must be strings\n", path);
                    rc = -1;
                    break;
                }
            }
        } else if (json_is_string(v)) {
            rc = set_option(cfg, o, json_string_value(v));
        } else if (json_is_integer(v) && json_integer_value(v) >= 0) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            rc = set_option(cfg, o, num);
        } else if (json_is_boolean(v)) {
            rc = set_option(cfg, o, json_is_true(v) ? "true" : "false");
        } else {
            fprintf(stderr, "enkrypt-broker: config %s: '%s' has a value of the wrong type\n", path,
                    k);
            rc = -1;
        }
    }
    json_decref(root);
    return rc;
}

int bk_config_parse(bk_config *cfg, int argc, char **argv)
{
    struct option longopts[N_OPTIONS + 3];
    char shortopts[64] = "+h";
    size_t ns = strlen(shortopts);

    for (size_t i = 0; i < N_OPTIONS; i++) {
        longopts[i].name = options[i].name;
        longopts[i].has_arg = options[i].kind == K_BOOL ? optional_argument : required_argument;
        longopts[i].flag = NULL;
        longopts[i].val = 256 + (int)i;
        if (options[i].short_name && ns + 2 < sizeof shortopts) {
            shortopts[ns++] = (char)options[i].short_name;
            shortopts[ns++] = ':';
        }
    }
    longopts[N_OPTIONS] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[N_OPTIONS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    longopts[N_OPTIONS + 2] = (struct option){0, 0, 0, 0};
    shortopts[ns] = '\0';

    /* The reference CLI reads these from the environment. */
    const char *env = getenv("PORT");
    if (env && set_option(cfg, find_option("port"), env))
        return -1;
    env = getenv("PEERSERVER_PATH");
    if (env && set_option(cfg, find_option("path"), env))
        return -1;

    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shortopts, longopts, NULL);
        if (c == -1)
            break;
        if (c == 'h') {
            bk_config_usage(stdout);
            return 1;
        }
        if (c == 'V') {
            printf("enkrypt-broker 0.1.0\n");
            return 1;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "enkrypt-broker: unknown flag or missing value: %s (try --help)\n",
                    argv[optind - 1]);
            return -1;
        }
        const opt *o = NULL;
        if (c >= 256)
            o = &options[c - 256];
        else
            for (size_t i = 0; i < N_OPTIONS; i++)
                if (options[i].short_name == c)
                    o = &options[i];
        if (!o)
            return -1;
        const char *value = optarg;
        /* `--allow_discovery true` as well as `--allow_discovery` */
        if (o->kind == K_BOOL && !value && optind < argc &&
            (!strcmp(argv[optind], "true") || !strcmp(argv[optind], "false"))) {
            value = argv[optind++];
        }
        if (set_option(cfg, o, value))
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "enkrypt-broker: unexpected argument '%s' (try --help)\n", argv[optind]);
        return -1;
    }
    return 0;
}

int bk_config_finish(bk_config *cfg)
{
    /* The reference normalises the mount path to start and end with '/'. */
    char path[sizeof cfg->path + 2];
    size_t n = strlen(cfg->path);
    snprintf(path, sizeof path, "%s%s%s", cfg->path[0] == '/' ? "" : "/", cfg->path,
             n && cfg->path[n - 1] == '/' ? "" : "/");
    size_t path_len = strlen(path);
    if (path_len >= sizeof cfg->path) {
        fprintf(stderr, "enkrypt-broker: --path is too long\n");
        return -1;
    }
    memcpy(cfg->path, path, path_len + 1);
    snprintf(cfg->ws_path, sizeof cfg->ws_path, "%speerjs", cfg->path);

    if (!cfg->key[0]) {
        fprintf(stderr, "enkrypt-broker: --key must not be empty\n");
        return -1;
    }
    if (!!cfg->sslkey[0] != !!cfg->sslcert[0]) {
        fprintf(stderr, "enkrypt-broker: give both --sslkey and --sslcert, or neither\n");
        return -1;
    }
    if (cfg->max_message_size < 1024) {
        fprintf(stderr, "enkrypt-broker: --max_message_size must be at least 1024\n");
        return -1;
    }
    if (cfg->ip_message_rate && cfg->ip_message_burst < 1) {
        fprintf(stderr, "enkrypt-broker: --ip_message_burst must be at least 1\n");
        return -1;
    }
    if (cfg->rx_buffer_bytes < 128) {
        fprintf(stderr, "enkrypt-broker: --rx_buffer_bytes must be at least 128\n");
        return -1;
    }
    if (cfg->max_strikes < 1)
        cfg->max_strikes = 1;
    if (cfg->auth != BK_AUTH_OFF && cfg->auth_replay_cache < 1) {
        fprintf(stderr, "enkrypt-broker: --auth_replay_cache must be at least 1\n");
        return -1;
    }
    return 0;
}
