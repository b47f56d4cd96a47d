/*
 * bk_client.h: what the broker's protocol tests need to talk to a running
 * enkrypt-broker: start and stop the broker process, a small blocking
 * WebSocket client (RFC 6455, client side, optionally over TLS) with
 * timeouts on every read, and one-shot HTTP requests.
 */
#ifndef BK_TEST_CLIENT_H
#define BK_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

typedef struct bk_proc {
    pid_t pid;
    int port;
    int out_fd; /* the broker's stdout */
} bk_proc;

/* Start exe --host 127.0.0.1 --port 0 [args...] (NULL-terminated) and wait
 * (at most 10 s) for its "listening on" line. 0 or -1. */
int bk_proc_start(bk_proc *p, const char *exe, const char *const *args);
/* SIGTERM, wait at most 5 s (then SIGKILL). Returns the exit status, or -1
 * if it had to be killed. */
int bk_proc_stop(bk_proc *p);

typedef struct bk_ws {
    int fd;
    SSL *ssl;       /* NULL for plain TCP */
    int close_code; /* after a close frame: its code (1005 if none) */
} bk_ws;

/* Connect to 127.0.0.1:port and upgrade "target" (path and query).
 * Returns the HTTP status of the answer (101 when upgraded), or -1. */
int bk_ws_connect(bk_ws *c, int port, const char *target, SSL_CTX *tls);
/* Open {path}peerjs?key=&id=&token= (url-encoding is the caller's). */
int bk_ws_open_peer(bk_ws *c, int port, const char *key, const char *id, const char *token);
int bk_ws_send(bk_ws *c, int opcode, const void *buf, size_t len, bool fin);
int bk_ws_send_text(bk_ws *c, const char *text);
/* Next message (control frames other than close are answered or skipped).
 * Returns 1 with *msg malloc'd and NUL-terminated; 0 on a close frame
 * (close_code set) or a closed connection (close_code 1006); -1 on timeout. */
int bk_ws_recv(bk_ws *c, int timeout_ms, char **msg, size_t *len);
/* Receive one message and compare it with want; prints both on mismatch. */
bool bk_ws_expect(bk_ws *c, int timeout_ms, const char *want);
/* true if the connection gets closed within timeout_ms (messages before the
 * close are skipped); the code is in c->close_code. */
bool bk_ws_expect_close(bk_ws *c, int timeout_ms);
/* true if nothing arrives within timeout_ms. */
bool bk_ws_expect_silence(bk_ws *c, int timeout_ms);
void bk_ws_free(bk_ws *c);

/* One HTTP/1.1 request; the response's status, headers and body (malloc'd,
 * NUL-terminated). extra_headers: "" or lines ending in \r\n. */
int bk_http(int port, SSL_CTX *tls, const char *method, const char *target,
            const char *extra_headers, char **head, char **body);

#endif
