/*
 * bk_client.c: the test side of the wire (see bk_client.h). Written for
 * tests: blocking sockets, poll() timeouts, short and plain.
 */
#define _GNU_SOURCE

#include "bk_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bk_proc_start(bk_proc *p, const char *exe, const char *const *args)
{
    const char *argv[64];
    int n = 0, pipefd[2];
    argv[n++] = exe;
    argv[n++] = "--host";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = "0";
    for (; args && *args && n < 62; args++)
        argv[n++] = *args;
    argv[n] = NULL;

    if (pipe2(pipefd, O_CLOEXEC))
        return -1;
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        /* If the test dies, so does its broker: nothing is left behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pipefd[1], 1);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    p->out_fd = pipefd[0];
    p->port = 0;

    char line[512];
    size_t len = 0;
    long long deadline = now_ms() + 10000;
    while (len < sizeof line - 1) {
        struct pollfd pfd = {p->out_fd, POLLIN, 0};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            break;
        ssize_t r = read(p->out_fd, line + len, 1);
        if (r <= 0)
            break;
        if (line[len++] == '\n') {
            line[len] = '\0';
            const char *s = strstr(line, "://");
            const char *colon = s ? strchr(s + 3, ':') : NULL;
            if (colon)
                p->port = atoi(colon + 1);
            break;
        }
    }
    if (p->port <= 0) {
        fprintf(stderr, "broker did not start\n");
        bk_proc_stop(p);
        return -1;
    }
    return 0;
}

int bk_proc_stop(bk_proc *p)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    int status = 0;
    long long deadline = now_ms() + 5000;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            status = -1;
            break;
        }
        usleep(10000);
    }
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->pid = 0;
    p->out_fd = -1;
    if (status == -1)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- raw I/O with deadlines ---- */

static int io_wait(int fd, short events, long long deadline)
{
    struct pollfd pfd = {fd, events, 0};
    int left = (int)(deadline - now_ms());
    if (left < 0)
        left = 0;
    return poll(&pfd, 1, left) > 0 ? 0 : -1;
}

static ssize_t io_read(int fd, SSL *ssl, void *buf, size_t len, long long deadline)
{
    for (;;) {
        if (ssl && SSL_pending(ssl) > 0)
            return SSL_read(ssl, buf, (int)len);
        if (io_wait(fd, POLLIN, deadline))
            return -2; /* timeout */
        if (!ssl)
            return read(fd, buf, len);
        int r = SSL_read(ssl, buf, (int)len);
        if (r > 0)
            return r;
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return 0;
    }
}

static int io_read_full(int fd, SSL *ssl, void *buf, size_t len, long long deadline)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = io_read(fd, ssl, (char *)buf + got, len - got, deadline);
        if (r == -2)
            return -2;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int io_write(int fd, SSL *ssl, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = ssl ? SSL_write(ssl, (const char *)buf + done, (int)(len - done))
                        : send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
        if (r <= 0) {
            if (!ssl && r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static SSL *tls_start(int fd, SSL_CTX *tls)
{
    if (!tls)
        return NULL;
    SSL *ssl = SSL_new(tls);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

/* Read an HTTP response head (up to the blank line). */
static char *read_head(int fd, SSL *ssl, long long deadline, int *status)
{
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap + 1);
    while (len < cap) {
        if (io_read_full(fd, ssl, buf + len, 1, deadline)) {
            free(buf);
            return NULL;
        }
        len++;
        if (len >= 4 && !memcmp(buf + len - 4, "\r\n\r\n", 4))
            break;
    }
    buf[len] = '\0';
    *status = 0;
    sscanf(buf, "HTTP/1.%*d %d", status);
    return buf;
}

int bk_ws_connect(bk_ws *c, int port, const char *target, SSL_CTX *tls)
{
    memset(c, 0, sizeof *c);
    c->fd = tcp_connect(port);
    if (c->fd < 0)
        return -1;
    if (tls && !(c->ssl = tls_start(c->fd, tls))) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    unsigned char nonce[16];
    char key[32];
    RAND_bytes(nonce, sizeof nonce);
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof nonce);
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n",
                     target, port, key);
    if (n <= 0 || (size_t)n >= sizeof req || io_write(c->fd, c->ssl, req, (size_t)n))
        return -1;
    int status;
    char *head = read_head(c->fd, c->ssl, now_ms() + 5000, &status);
    if (!head)
        return -1;
    /* RFC 6455 §4.2.2: accept = base64(SHA-1(key + GUID)). */
    if (status == 101) {
        char src[128], want[64];
        unsigned char digest[20];
        snprintf(src, sizeof src, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
        EVP_Digest(src, strlen(src), digest, NULL, EVP_sha1(), NULL);
        EVP_EncodeBlock((unsigned char *)want, digest, sizeof digest);
        if (!strcasestr(head, want))
            status = -1;
    }
    free(head);
    return status;
}

int bk_ws_open_peer(bk_ws *c, int port, const char *key, const char *id, const char *token)
{
    char target[1024];
    snprintf(target, sizeof target, "/peerjs?key=%s&id=%s&token=%s&version=1.5.5", key, id, token);
    return bk_ws_connect(c, port, target, NULL);
}

int bk_ws_send(bk_ws *c, int opcode, const void *buf, size_t len, bool fin)
{
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    unsigned char mask[4];
    RAND_bytes(mask, 4);
    memcpy(hdr + h, mask, 4);
    h += 4;
    unsigned char *frame = malloc(h + len + 1);
    memcpy(frame, hdr, h);
    for (size_t i = 0; i < len; i++)
        frame[h + i] = ((const unsigned char *)buf)[i] ^ mask[i & 3];
    int rc = io_write(c->fd, c->ssl, frame, h + len);
    free(frame);
    return rc;
}

int bk_ws_send_text(bk_ws *c, const char *text)
{
    return bk_ws_send(c, 1, text, strlen(text), true);
}

int bk_ws_recv(bk_ws *c, int timeout_ms, char **msg, size_t *len)
{
    long long deadline = now_ms() + timeout_ms;
    char *acc = NULL;
    size_t acc_len = 0;
    *msg = NULL;
    *len = 0;
    if (c->fd < 0)
        return 0;
    for (;;) {
        unsigned char h[2];
        int r = io_read_full(c->fd, c->ssl, h, 2, deadline);
        if (r == -2) {
            free(acc);
            return -1;
        }
        if (r) {
            free(acc);
            c->close_code = 1006;
            return 0;
        }
        int op = h[0] & 0x0f;
        bool fin = h[0] & 0x80;
        uint64_t plen = h[1] & 0x7f;
        unsigned char ext[8];
        if (plen == 126 || plen == 127) {
            size_t n = plen == 126 ? 2 : 8;
            if (io_read_full(c->fd, c->ssl, ext, n, deadline)) {
                free(acc);
                c->close_code = 1006;
                return 0;
            }
            plen = 0;
            for (size_t i = 0; i < n; i++)
                plen = (plen << 8) | ext[i];
        }
        if (plen > (64u << 20)) {
            free(acc);
            c->close_code = 1006;
            return 0;
        }
        char *payload = malloc((size_t)plen + 1);
        if (plen && io_read_full(c->fd, c->ssl, payload, (size_t)plen, deadline)) {
            free(payload);
            free(acc);
            c->close_code = 1006;
            return 0;
        }
        payload[plen] = '\0';
        if (op == 8) {
            c->close_code =
                plen >= 2 ? ((unsigned char)payload[0] << 8 | (unsigned char)payload[1]) : 1005;
            /* Answer the close, as RFC 6455 §5.5.1 asks. */
            bk_ws_send(c, 8, payload, plen >= 2 ? 2 : 0, true);
            free(payload);
            free(acc);
            return 0;
        }
        if (op == 9) {
            bk_ws_send(c, 10, payload, (size_t)plen, true);
            free(payload);
            continue;
        }
        if (op == 10) {
            free(payload);
            continue;
        }
        char *grown = realloc(acc, acc_len + (size_t)plen + 1);
        if (!grown) {
            free(payload);
            free(acc);
            c->close_code = 1006;
            return 0;
        }
        acc = grown;
        memcpy(acc + acc_len, payload, (size_t)plen);
        acc_len += (size_t)plen;
        acc[acc_len] = '\0';
        free(payload);
        if (fin) {
            *msg = acc;
            *len = acc_len;
            return 1;
        }
    }
}

bool bk_ws_expect(bk_ws *c, int timeout_ms, const char *want)
{
    char *msg;
    size_t len;
    int r = bk_ws_recv(c, timeout_ms, &msg, &len);
    if (r != 1) {
        fprintf(stderr, "  wanted %s\n  got %s (close code %d)\n", want,
                r < 0 ? "a timeout" : "a close", c->close_code);
        return false;
    }
    bool ok = strlen(want) == len && !memcmp(msg, want, len);
    if (!ok)
        fprintf(stderr, "  wanted %s\n  got    %s\n", want, msg);
    free(msg);
    return ok;
}

bool bk_ws_expect_close(bk_ws *c, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        char *msg;
        size_t len;
        int left = (int)(deadline - now_ms());
        int r = bk_ws_recv(c, left > 0 ? left : 0, &msg, &len);
        if (r == 0)
            return true;
        if (r < 0)
            return false;
        free(msg);
    }
}

bool bk_ws_expect_silence(bk_ws *c, int timeout_ms)
{
    char *msg;
    size_t len;
    int r = bk_ws_recv(c, timeout_ms, &msg, &len);
    if (r == 1) {
        fprintf(stderr, "  wanted silence, got %s\n", msg);
        free(msg);
    }
    return r < 0;
}

void bk_ws_free(bk_ws *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int bk_http(int port, SSL_CTX *tls, const char *method, const char *target,
            const char *extra_headers, char **head, char **body)
{
    *head = *body = NULL;
    int fd = tcp_connect(port);
    if (fd < 0)
        return -1;
    SSL *ssl = tls_start(fd, tls);
    if (tls && !ssl) {
        close(fd);
        return -1;
    }
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n", method,
                     target, extra_headers);
    int status = -1;
    long long deadline = now_ms() + 5000;
    if (n > 0 && (size_t)n < sizeof req && !io_write(fd, ssl, req, (size_t)n)) {
        *head = read_head(fd, ssl, deadline, &status);
        if (*head) {
            size_t clen = 0;
            const char *cl = strcasestr(*head, "\r\ncontent-length:");
            if (cl)
                clen = strtoul(cl + 17, NULL, 10);
            if (!strcmp(method, "HEAD"))
                clen = 0;
            *body = calloc(1, clen + 1);
            if (clen && io_read_full(fd, ssl, *body, clen, deadline))
                status = -1;
        } else {
            status = -1;
        }
    }
    if (ssl)
        SSL_free(ssl);
    close(fd);
    return status;
}
