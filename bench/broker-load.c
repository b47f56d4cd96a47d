/*
 * broker-load: load benchmark for PeerJS signaling servers (enkrypt-broker
 * and the reference peer@1.0.2), one JSON line per run.
 *
 *   broker-load --port P --pid PID --server NAME [--host 127.0.0.1]
 *               [--peers N] [--pairs P] [--seconds D] [--msg-bytes B]
 *               [--churn-seconds S] [--churn-rate R]
 *
 * It opens N WebSocket peers (ids p0..pN-1), measures connect-to-OPEN, then
 * relays OFFER-shaped messages of B bytes between P pairs in a closed loop
 * (each pair has one message in flight: OFFER one way, ANSWER back) for D
 * seconds, and reads the server's CPU time and RSS from /proc/PID. With
 * --churn-seconds it then closes and reopens connections at R per second and
 * reports the RSS over that time. It only ever connects to 127.0.0.1, and
 * every phase is bounded in time.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { S_FREE, S_CONNECTING, S_UPGRADING, S_WAIT_OPEN, S_OPEN };

typedef struct conn {
    int fd;
    enum state st;
    int partner; /* index of the other side of its pair, or -1 */
    bool initiator;
    unsigned gen;    /* reconnections so far: churned peers take a new ID */
    int64_t t_start; /* ns: connect() called */
    int64_t t_sent;  /* ns: last OFFER sent */
    char *rbuf;
    size_t rlen, rcap;
    char *wbuf;
    size_t wlen, wcap;
} conn;

static conn *conns;
static int n_conns;
static int ep;
static int port;
static char payload_pad[65536];
static size_t msg_bytes = 1024;

static uint32_t *open_lat_us;
static size_t n_open_lat, open_errors;
static uint32_t *rtt_us;
static size_t n_rtt, cap_rtt;
static uint64_t relayed;
static bool relaying;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *msg)
{
    fprintf(stderr, "broker-load: %s\n", msg);
    exit(2);
}

/* ---- server process figures from /proc ---- */

static long proc_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    (void)fclose(f); /* read-only: everything needed has been read */
    return kb;
}

/* utime + stime of the whole process (all threads), in microseconds. */
static int64_t proc_cpu_us(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    (void)fclose(f); /* read-only: everything needed has been read */
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may contain spaces */
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* fields after ')': state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (int64_t)((ut + st) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* ---- buffers and framing ---- */

static void buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n)
            c *= 2;
        *buf = realloc(*buf, c);
        if (!*buf)
            die("out of memory");
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
}

static void conn_flush(conn *c)
{
    while (c->wlen) {
        ssize_t w = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN)
                break;
            return;
        }
        memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
        c->wlen -= (size_t)w;
    }
    struct epoll_event ev = {.events = EPOLLIN | (c->wlen ? EPOLLOUT : 0),
                             .data.u32 = (uint32_t)(c - conns)};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* One masked text frame (mask 0: the XOR is a no-op, and the server must
 * still unmask; it keeps the generator cheap). */
static void ws_send(conn *c, const char *text, size_t n)
{
    unsigned char h[14];
    size_t hl = 0;
    h[hl++] = 0x81;
    if (n < 126) {
        h[hl++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else {
        h[hl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memset(h + hl, 0, 4);
    hl += 4;
    bool was_empty = c->wlen == 0;
    buf_append(&c->wbuf, &c->wlen, &c->wcap, h, hl);
    buf_append(&c->wbuf, &c->wlen, &c->wcap, text, n);
    if (was_empty)
        conn_flush(c);
}

/* An OFFER-shaped message of exactly msg_bytes to dst. */
static void send_signal(conn *c, const char *type, int dst, uint64_t seq)
{
    char head[256], msg[70000];
    int hn = snprintf(head, sizeof head,
                      "{\"type\":\"%s\",\"payload\":{\"sdp\":{\"type\":\"%s\",\"sdp\":\"v=0 ", type,
                      type[0] == 'O' ? "offer" : "answer");
    char tail[128];
    int tn = snprintf(tail, sizeof tail,
                      "\"},\"type\":\"data\",\"connectionId\":\"dc_%llu\"},\"dst\":\"p%d\"}",
                      (unsigned long long)seq, dst);
    size_t fixed = (size_t)hn + (size_t)tn;
    size_t pad = msg_bytes > fixed ? msg_bytes - fixed : 0;
    memcpy(msg, head, (size_t)hn);
    memcpy(msg + hn, payload_pad, pad);
    memcpy(msg + (size_t)hn + pad, tail, (size_t)tn);
    ws_send(c, msg, (size_t)hn + pad + (size_t)tn);
}

static void conn_close(conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->st = S_FREE;
    c->rlen = c->wlen = 0;
}

static int conn_open(int i)
{
    conn *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* the only target this program knows */
    c->t_start = now_ns();
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->st = S_CONNECTING;
    c->rlen = c->wlen = 0;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
}

static void on_connected(conn *c)
{
    char req[512], id[32];
    int i = (int)(c - conns);
    if (c->gen)
        snprintf(id, sizeof id, "p%d-%u", i, c->gen);
    else
        snprintf(id, sizeof id, "p%d", i);
    int n = snprintf(req, sizeof req,
                     "GET /peerjs?key=peerjs&id=%s&token=tok%d&version=1.5.5 HTTP/1.1\r\n"
                     "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     id, i, port);
    c->st = S_UPGRADING;
    buf_append(&c->wbuf, &c->wlen, &c->wcap, req, (size_t)n);
    conn_flush(c);
}

static void record_rtt(int64_t ns)
{
    if (n_rtt == cap_rtt) {
        cap_rtt = cap_rtt ? cap_rtt * 2 : 65536;
        rtt_us = realloc(rtt_us, cap_rtt * sizeof *rtt_us);
        if (!rtt_us)
            die("out of memory");
    }
    rtt_us[n_rtt++] = (uint32_t)(ns / 1000);
}

static uint64_t seq;

static void on_message(conn *c, const char *msg, size_t len)
{
    if (c->st == S_WAIT_OPEN) {
        if (len >= 15 && !memcmp(msg, "{\"type\":\"OPEN\"}", 15)) {
            c->st = S_OPEN;
            if (n_open_lat < (size_t)n_conns * 64)
                open_lat_us[n_open_lat++] = (uint32_t)((now_ns() - c->t_start) / 1000);
        } else {
            open_errors++;
            conn_close(c);
        }
        return;
    }
    if (!relaying || c->partner < 0)
        return;
    if (len > 20 && !memcmp(msg, "{\"type\":\"OFFER\"", 15)) {
        relayed++;
        send_signal(c, "ANSWER", c->partner, seq++);
    } else if (len > 20 && !memcmp(msg, "{\"type\":\"ANSWER\"", 16)) {
        relayed++;
        int64_t t = now_ns();
        record_rtt(t - c->t_sent);
        c->t_sent = t;
        send_signal(c, "OFFER", c->partner, seq++);
    }
}

/* Parse what has arrived: the HTTP answer, then frames. */
static void on_readable(conn *c)
{
    char buf[65536];
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            if (c->st != S_OPEN)
                open_errors++;
            conn_close(c);
            return;
        }
        if (r < 0)
            break;
        buf_append(&c->rbuf, &c->rlen, &c->rcap, buf, (size_t)r);
    }
    size_t off = 0;
    if (c->st == S_UPGRADING) {
        char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
        if (!end)
            return;
        if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.1 101", 12) != 0) {
            open_errors++;
            conn_close(c);
            return;
        }
        off = (size_t)(end - c->rbuf) + 4;
        c->st = S_WAIT_OPEN;
    }
    while (c->rlen - off >= 2) {
        const unsigned char *h = (const unsigned char *)c->rbuf + off;
        size_t avail = c->rlen - off, hl = 2;
        uint64_t plen = h[1] & 0x7f;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | h[2 + i];
            hl = 10;
        }
        if (avail < hl + plen)
            break;
        int op = h[0] & 0x0f;
        if (op == 8) {
            if (c->st != S_OPEN)
                open_errors++;
            conn_close(c);
            return;
        }
        if (op == 1 || op == 2)
            on_message(c, (const char *)h + hl, (size_t)plen);
        if (c->st == S_FREE)
            return;
        off += hl + (size_t)plen;
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

static void poll_once(int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    for (int i = 0; i < n; i++) {
        conn *c = &conns[evs[i].data.u32];
        if (c->st == S_FREE)
            continue;
        if (c->st == S_CONNECTING) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) {
                open_errors++;
                conn_close(c);
                continue;
            }
            on_connected(c);
            continue;
        }
        if (evs[i].events & EPOLLOUT)
            conn_flush(c);
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            on_readable(c);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(uint32_t *v, size_t n, double p)
{
    if (!n)
        return -1;
    qsort(v, n, sizeof *v, cmp_u32);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

/* Open connections [from, to) with at most `window` handshakes in flight;
 * bounded by deadline_ns. Returns how many reached OPEN. The in-flight set
 * is a sliding range [oldest, next): only its members are looked at, so a
 * large N costs O(N) in all, not O(N) per event. */
static int connect_range(int from, int to, int window, int64_t deadline_ns)
{
    int next = from, oldest = from, open = 0;
    for (;;) {
        while (oldest < next && conns[oldest].st != S_CONNECTING &&
               conns[oldest].st != S_UPGRADING && conns[oldest].st != S_WAIT_OPEN) {
            open += conns[oldest].st == S_OPEN;
            oldest++;
        }
        int in_flight = 0;
        for (int i = oldest; i < next; i++)
            in_flight += conns[i].st != S_OPEN && conns[i].st != S_FREE;
        while (next < to && in_flight < window) {
            if (conn_open(next) == 0)
                in_flight++;
            else
                open_errors++;
            next++;
        }
        if ((next >= to && in_flight == 0) || now_ns() > deadline_ns) {
            for (int i = oldest; i < next; i++)
                open += conns[i].st == S_OPEN;
            return open;
        }
        poll_once(10);
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *server = "unknown";
    int pid = 0, pairs = 100;
    double seconds = 10, churn_seconds = 0, churn_rate = 200;
    n_conns = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host"))
            host = v;
        else if (!strcmp(k, "--port"))
            port = atoi(v);
        else if (!strcmp(k, "--pid"))
            pid = atoi(v);
        else if (!strcmp(k, "--server"))
            server = v;
        else if (!strcmp(k, "--peers"))
            n_conns = atoi(v);
        else if (!strcmp(k, "--pairs"))
            pairs = atoi(v);
        else if (!strcmp(k, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(k, "--msg-bytes"))
            msg_bytes = (size_t)atol(v);
        else if (!strcmp(k, "--churn-seconds"))
            churn_seconds = atof(v);
        else if (!strcmp(k, "--churn-rate"))
            churn_rate = atof(v);
        else
            die("unknown flag (see the comment at the top of bench/broker-load.c)");
    }
    if (strcmp(host, "127.0.0.1") != 0)
        die("refusing a target other than 127.0.0.1");
    if (port <= 0 || port > 65535 || pid <= 0)
        die("--port and --pid of the server under test are required");
    if (pairs * 2 > n_conns || n_conns > 100000 || seconds <= 0 || seconds > 600 ||
        churn_seconds > 1800 || msg_bytes < 256 || msg_bytes > 60000)
        die("out of range: pairs*2 <= peers <= 100000, seconds <= 600, churn <= 1800, "
            "256 <= msg-bytes <= 60000");

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)n_conns + 64 > rl.rlim_cur)
        die("not enough file descriptors for --peers (ulimit -n)");

    memset(payload_pad, 'a', sizeof payload_pad);
    conns = calloc((size_t)n_conns, sizeof *conns);
    open_lat_us = calloc((size_t)n_conns * 64, sizeof *open_lat_us);
    for (int i = 0; i < n_conns; i++) {
        conns[i].fd = -1;
        conns[i].partner = i < 2 * pairs ? (i ^ 1) : -1;
        conns[i].initiator = i < 2 * pairs && !(i & 1);
    }
    ep = epoll_create1(EPOLL_CLOEXEC);

    long rss0 = proc_rss_kb(pid);
    int64_t t0 = now_ns();
    int held = connect_range(0, n_conns, 256, t0 + (int64_t)300 * 1000000000);
    double connect_s = (double)(now_ns() - t0) / 1e9;
    /* Let the server settle, then read its RSS with everyone connected. */
    int64_t settle = now_ns() + 500000000;
    while (now_ns() < settle)
        poll_once(50);
    long rss1 = proc_rss_kb(pid);

    /* Relay: every initiator starts one exchange, then it is a closed loop. */
    relaying = true;
    int64_t cpu0 = proc_cpu_us(pid);
    int64_t r0 = now_ns();
    for (int i = 0; i < 2 * pairs; i += 2)
        if (conns[i].st == S_OPEN && conns[i + 1].st == S_OPEN) {
            conns[i].t_sent = now_ns();
            send_signal(&conns[i], "OFFER", i + 1, seq++);
        }
    int64_t r_end = r0 + (int64_t)(seconds * 1e9);
    while (now_ns() < r_end)
        poll_once(5);
    int64_t cpu1 = proc_cpu_us(pid);
    double rs = (double)(now_ns() - r0) / 1e9;
    uint64_t relayed_n = relayed;
    relaying = false;

    double p50_open = pct_ms(open_lat_us, n_open_lat, 0.50);
    double p99_open = pct_ms(open_lat_us, n_open_lat, 0.99);
    double cpu_per = relayed_n ? (double)(cpu1 - cpu0) / (double)relayed_n : -1;
    printf("{\"bench\":\"broker-load\",\"server\":\"%s\",\"op\":\"relay\",\"n\":%d,"
           "\"pairs\":%d,\"msg_bytes\":%zu,\"seconds\":%.1f,\"connections_held\":%d,"
           "\"connect_errors\":%zu,\"connect_seconds\":%.2f,\"rss_before_kb\":%ld,"
           "\"rss_after_kb\":%ld,\"rss_per_conn_bytes\":%.0f,\"relayed\":%llu,"
           "\"msgs_per_s\":%.0f,\"cpu_us_per_msg\":%.2f,\"ns_per_op\":%.0f,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"connect_open_p50_ms\":%.3f,"
           "\"connect_open_p99_ms\":%.3f}\n",
           server, n_conns, pairs, msg_bytes, rs, held, open_errors, connect_s, rss0, rss1,
           held ? (double)(rss1 - rss0) * 1024.0 / held : -1, (unsigned long long)relayed_n,
           (double)relayed_n / rs, cpu_per, cpu_per * 1000, pct_ms(rtt_us, n_rtt, 0.50),
           pct_ms(rtt_us, n_rtt, 0.99), p50_open, p99_open);
    /* The relay result is the run's product: it must be out before the
     * churn phase, and a run that cannot write it has failed. */
    if (fflush(stdout) != 0)
        die("cannot write the result to stdout");

    if (churn_seconds > 0) {
        /* Close and reopen peers outside the pairs, round robin, at
         * churn_rate per second; sample RSS every 10 s. */
        long rss_start = proc_rss_kb(pid), rss_max = rss_start, rss_min = rss_start;
        long samples[200];
        int ns = 0;
        int64_t c0 = now_ns(), c_end = c0 + (int64_t)(churn_seconds * 1e9), next_sample = c0;
        uint64_t cycles = 0;
        size_t errors0 = open_errors;
        int victim = 2 * pairs;
        double interval_ns = 1e9 / churn_rate;
        int64_t next_cycle = c0;
        while (now_ns() < c_end && victim < n_conns) {
            int64_t t = now_ns();
            while (t >= next_cycle) {
                conn_close(&conns[victim]);
                conns[victim].gen++;
                if (conn_open(victim))
                    open_errors++;
                cycles++;
                victim = victim + 1 < n_conns ? victim + 1 : 2 * pairs;
                next_cycle += (int64_t)interval_ns;
            }
            if (t >= next_sample) {
                long r = proc_rss_kb(pid);
                if (ns < 200)
                    samples[ns++] = r;
                if (r > rss_max)
                    rss_max = r;
                if (r < rss_min)
                    rss_min = r;
                next_sample += 10 * (int64_t)1000000000;
            }
            poll_once(1);
        }
        int64_t settle2 = now_ns() + 1000000000;
        while (now_ns() < settle2)
            poll_once(50);
        long rss_end = proc_rss_kb(pid);
        int open_now = 0;
        for (int i = 0; i < n_conns; i++)
            open_now += conns[i].st == S_OPEN;
        printf("{\"bench\":\"broker-load\",\"server\":\"%s\",\"op\":\"churn\",\"n\":%d,"
               "\"seconds\":%.0f,\"cycles\":%llu,\"errors\":%zu,\"open_at_end\":%d,"
               "\"rss_start_kb\":%ld,\"rss_min_kb\":%ld,\"rss_max_kb\":%ld,\"rss_end_kb\":%ld,"
               "\"rss_samples_kb\":[",
               server, n_conns, churn_seconds, (unsigned long long)cycles, open_errors - errors0,
               open_now, rss_start, rss_min, rss_max, rss_end);
        for (int i = 0; i < ns; i++)
            printf("%s%ld", i ? "," : "", samples[i]);
        printf("],\"ns_per_op\":0}\n");
    }
    for (int i = 0; i < n_conns; i++)
        conn_close(&conns[i]);
    return 0;
}
