/*
 * config.h: enkrypt-broker's settings, from defaults, a JSON config file and
 * command-line flags (in that order; later wins). Flag names follow the
 * `peerjs` CLI of the reference server so that scripts can switch servers.
 */
#ifndef BK_CONFIG_H
#define BK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum bk_auth_mode { BK_AUTH_OFF, BK_AUTH_OPTIONAL, BK_AUTH_REQUIRED };

#define BK_MAX_CORS      16
/* Longest peer ID and token accepted on the WebSocket URL. */
#define BK_MAX_ID_LEN    128
#define BK_MAX_TOKEN_LEN 256

typedef struct bk_config {
    char host[64]; /* listen address; empty: every interface */
    int port;
    char key[128];
    char path[256]; /* starts and ends with '/' */
    char ws_path[264];
    int64_t expire_timeout_ms;
    int64_t alive_timeout_ms;
    unsigned concurrent_limit;
    bool allow_discovery;
    bool proxied;
    char sslkey[512];
    char sslcert[512];
    char cors[BK_MAX_CORS][256];
    unsigned n_cors; /* 0: echo any Origin, as the reference's default */
    size_t max_message_size;
    unsigned queue_max_messages;
    size_t queue_max_bytes;
    size_t queue_total_bytes;
    unsigned max_connections_per_ip;
    unsigned ip_message_rate; /* messages per second; 0: unlimited */
    unsigned ip_message_burst;
    unsigned max_strikes;
    size_t send_buffer_bytes;
    size_t rx_buffer_bytes;
    enum bk_auth_mode auth;
    char auth_realm[128];
    int64_t auth_window_ms;
    unsigned auth_replay_cache;
    int log_level;
    bool log_ips;
    bool metrics;
    bool libev; /* use the libev event loop (epoll) instead of poll() */
} bk_config;

void bk_config_defaults(bk_config *cfg);
/* Parse argv (after --config FILE, if any, was loaded). Returns 0, 1 for
 * --help/--version (already printed), or -1 after printing the reason. */
int bk_config_parse(bk_config *cfg, int argc, char **argv);
/* Load a JSON config file whose keys are the long flag names. */
int bk_config_load_file(bk_config *cfg, const char *path);
/* Checks that hold across settings; prints the reason on failure. */
int bk_config_finish(bk_config *cfg);
void bk_config_usage(FILE *out);

#endif
