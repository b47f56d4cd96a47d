/*
 * net-throughput.c: the network layer's figures as JSON lines (DESIGN.md
 * §6), in the shape of webrtc-transport.md §4 so they can be set beside the
 * research spike's raw webrtcbin numbers:
 *   - time to open (first connection in the process, then later ones),
 *   - one-way throughput with 64 KiB and 16 KiB frames, counted at the
 *     receiver from its first to its last frame, with flow control (window
 *     4 MiB/1 MiB, the spike's best; 64 KiB also with 1 MiB/256 KiB),
 *   - round-trip time of small frames: 1000 sequential pings after 50
 *     warm-up ones, median and 99th percentile,
 * for C<->C direct (two endpoints in this process, 127.0.0.1 host
 * candidates), C<->C with both peers relay-only through coturn on
 * 127.0.0.1, and C<->Chromium (a page with the real peerjs client, driven by
 * bench/net-throughput-chromium.mjs). Signaling goes through enkrypt-broker,
 * started here on 127.0.0.1. MB = 10^6 bytes.
 *
 *   net-throughput --broker PATH [--turnserver PATH] [--node PATH
 *                  --chromium-script PATH --node-dir DIR] [--seconds S]
 *                  [--rounds N] [--only c2c|turn|chromium]
 *
 * --seconds is the length of one throughput run (default 3); the direct
 * figures alternate --rounds runs (default 5) of the layer with runs of a
 * bare webrtcbin pair (net-throughput-raw.c) and report medians.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>

#include "ek_net.h"
#include "net-throughput-raw.h"
#include "net_harness.h"

static nh_args args;
static nh_proc broker;
static double seconds = 3.0;
static int rounds = 5;
static double last_cpu;

static void emit(const char *op, long long n, double ns_per_op, const char *extra)
{
    printf("{\"bench\":\"net\",\"op\":\"%s\"", op);
    if (n >= 0)
        printf(",\"n\":%lld", n);
    printf(",\"ns_per_op\":%.0f%s%s}\n", ns_per_op, extra[0] ? "," : "", extra);
    (void)fflush(stdout);
}

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- a peer ---- */

typedef struct peer {
    const char *name;
    ek_net *net;
    int registered, opened, closed;
    ek_net_conn *conn;
    int echo;
    /* sending */
    int sending;
    size_t frame;
    double stop_at;
    uint64_t sent_frames;
    /* receiving */
    uint64_t rx_frames, rx_bytes;
    double rx_first, rx_last;
    /* pings */
    int pongs;
    /* text from the browser */
    GString *text;
    int texts;
} peer;

static uint8_t payload[EK_NET_MAX_FRAME];

static void pump(peer *p)
{
    while (p->sending && p->conn != NULL) {
        if (now_s() >= p->stop_at) {
            p->sending = 0;
            return;
        }
        int rc = ek_net_conn_send(p->conn, payload, p->frame);
        if (rc == EK_NET_ERR_WOULD_BLOCK)
            return;
        if (rc != 0) {
            fprintf(stderr, "net-throughput: send: %s\n", ek_net_strerror(rc));
            p->sending = 0;
            return;
        }
        p->sent_frames++;
    }
}

static void on_frame(ek_net_conn *c, ek_net_frame_kind kind, const uint8_t *data, size_t len,
                     void *user)
{
    peer *p = user;
    if (kind == EK_NET_FRAME_TEXT) {
        if (p->echo) {
            ek_net_conn_send_text(c, (const char *)data, len);
            return;
        }
        g_string_assign(p->text, (const char *)data);
        p->texts++;
        if (data[0] == 'P')
            p->pongs++;
        return;
    }
    if (p->echo && len <= 64) {
        ek_net_conn_send(c, data, len);
        return;
    }
    if (len <= 64) {
        p->pongs++;
        return;
    }
    double t = now_s();
    if (p->rx_frames == 0)
        p->rx_first = t;
    p->rx_last = t;
    p->rx_frames++;
    p->rx_bytes += len;
}

static void on_writable(ek_net_conn *c, void *user)
{
    (void)c;
    pump(user);
}

static void on_conn_state(ek_net_conn *c, ek_net_conn_state st, int err, const char *detail,
                          void *user)
{
    peer *p = user;
    if (st == EK_NET_CONN_OPEN) {
        p->opened++;
        p->conn = c;
    } else if (st == EK_NET_CONN_CLOSED) {
        p->closed++;
        if (p->conn == c)
            p->conn = NULL;
        if (err != 0 && err != EK_NET_ERR_PEER_LEFT)
            fprintf(stderr, "net-throughput: %s: connection closed: %s %s\n", p->name,
                    ek_net_strerror(err), detail ? detail : "");
    }
}

static const ek_net_conn_callbacks conn_cb = {
    .on_state = on_conn_state, .on_frame = on_frame, .on_writable = on_writable};

static void on_incoming(ek_net *net, ek_net_conn *c, const ek_net_offer_info *info, void *user)
{
    (void)net;
    (void)info;
    ek_net_conn_accept(c, &conn_cb, user);
}

static void on_net_state(ek_net *net, ek_net_state st, int err, const char *detail, void *user)
{
    (void)net;
    peer *p = user;
    if (st == EK_NET_REGISTERED)
        p->registered = 1;
    else if (err != 0)
        fprintf(stderr, "net-throughput: %s: broker: %s %s\n", p->name, ek_net_strerror(err),
                detail ? detail : "");
}

static int peer_start(peer *p, const char *name, const char *id, const char *turn_url, size_t high,
                      size_t low)
{
    memset(p, 0, sizeof *p);
    p->name = name;
    p->text = g_string_new(NULL);
    ek_net_config cfg;
    ek_net_config_init(&cfg);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", broker.port);
    cfg.broker_url = url;
    cfg.id = id;
    ek_net_config_add_local_addr(&cfg, "127.0.0.1");
    if (turn_url != NULL) {
        ek_net_config_add_ice_server(&cfg, turn_url, "bench", "benchpass");
        cfg.relay_only = 1;
    }
    cfg.buffer_high_bytes = high;
    cfg.buffer_low_bytes = low;
    cfg.send_queue_bytes = 1u << 20;
    ek_net_callbacks cb = {.on_state = on_net_state, .on_incoming = on_incoming};
    return ek_net_new(&p->net, &cfg, &cb, p);
}

static void peer_stop(peer *p)
{
    if (p->net != NULL)
        ek_net_free(p->net);
    p->net = NULL;
    g_string_free(p->text, TRUE);
}

static int registered2(void *u)
{
    peer **pp = u;
    return pp[0]->registered && pp[1]->registered;
}

static int open2(void *u)
{
    peer **pp = u;
    return (pp[0]->opened > 0 && pp[1]->opened > 0) || pp[0]->closed;
}

static int closed2(void *u)
{
    peer **pp = u;
    return pp[0]->conn == NULL && pp[1]->conn == NULL;
}

/* Open a's connection to b; seconds to open (both sides), or -1. */
static double open_pair(peer *a, peer *b, const char *bid)
{
    peer *pp[2] = {a, b};
    a->opened = b->opened = a->closed = b->closed = 0;
    double t0 = now_s();
    ek_net_conn *c = NULL;
    if (ek_net_connect(&c, a->net, bid, NULL, &conn_cb, a) != 0)
        return -1;
    if (!nh_run_until(open2, pp, 30000) || a->opened == 0)
        return -1;
    return now_s() - t0;
}

static void close_pair(peer *a, peer *b)
{
    peer *pp[2] = {a, b};
    if (a->conn != NULL)
        ek_net_conn_close(a->conn);
    nh_run_until(closed2, pp, 10000);
}

static int send_done(void *u)
{
    peer **pp = u;
    return !pp[0]->sending && pp[1]->rx_frames >= pp[0]->sent_frames;
}

/* a sends frames of size frame to b for `seconds`; MB/s at b. Prints a
 * line when op is not NULL. */
static double throughput(const char *op, peer *a, peer *b, size_t frame, const char *window,
                         double raw_mbps)
{
    peer *pp[2] = {a, b};
    b->rx_frames = b->rx_bytes = 0;
    a->sent_frames = 0;
    a->frame = frame;
    a->sending = 1;
    double c0 = cpu_s(), w0 = now_s();
    a->stop_at = w0 + seconds;
    pump(a);
    nh_run_until(send_done, pp, (unsigned)(seconds * 1000) + 30000);
    double cpu = (cpu_s() - c0) / (now_s() - w0);
    double span = b->rx_last - b->rx_first;
    if (b->rx_frames < 2 || span <= 0) {
        fprintf(stderr, "net-throughput: %s: nothing measured\n", op != NULL ? op : "a round");
        return 0;
    }
    double mbps = (double)b->rx_bytes / span / 1e6;
    last_cpu = cpu;
    if (op == NULL)
        return mbps;
    char extra[200], vs[48] = "";
    if (raw_mbps > 0)
        snprintf(vs, sizeof vs, ",\"vs_raw\":%.2f", mbps / raw_mbps);
    snprintf(extra, sizeof extra,
             "\"mb_per_s\":%.1f,\"frames\":%llu,\"seconds\":%.2f,\"cpu_cores\":%.2f,"
             "\"window\":\"%s\"%s",
             mbps, (unsigned long long)b->rx_frames, span, cpu, window, vs);
    emit(op, (long long)frame, span * 1e9 / (double)b->rx_frames, extra);
    return mbps;
}

static double median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

/* The bare-webrtcbin baseline (net-throughput-raw.c) and the layer, in
 * alternating rounds so that the load of a shared machine hits both alike;
 * medians are reported, and their ratio. */
static void compare_with_raw(const char *base, peer *a, peer *b, size_t frame, int with_rtt)
{
    double raw[16] = {0}, ours[16] = {0}, raw_open[16] = {0}, raw_cpu[16] = {0}, ours_cpu[16] = {0};
    int n = 0;
    double saved = seconds;
    for (int r = 0; r < rounds && r < 16; r++) {
        raw_result rr;
        int raw_first = r % 2 == 0;
        double mine = 0;
        double mine_cpu = 0;
        if (!raw_first) {
            mine = throughput(NULL, a, b, frame, "", 0);
            mine_cpu = last_cpu;
        }
        if (raw_bench_run(&rr, frame, seconds, 4u << 20, 1u << 20) != 0 || rr.frames < 2) {
            fprintf(stderr, "net-throughput: the raw webrtcbin baseline did not run\n");
            return;
        }
        if (raw_first) {
            mine = throughput(NULL, a, b, frame, "", 0);
            mine_cpu = last_cpu;
        }
        raw[n] = rr.mb_per_s;
        raw_open[n] = rr.open_ms;
        raw_cpu[n] = rr.cpu_cores;
        ours[n] = mine;
        ours_cpu[n] = mine_cpu;
        n++;
        if (with_rtt && r == 0 && rr.rtt_n > 0) {
            double p50 = median(rr.rtt_ms, rr.rtt_n);
            char extra[96];
            snprintf(extra, sizeof extra, "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"count\":%d", p50,
                     rr.rtt_ms[rr.rtt_n * 99 / 100], rr.rtt_n);
            emit("raw.c2c.rtt", 1, p50 * 1e6, extra);
        }
    }
    seconds = saved;
    GString *rs = g_string_new(NULL), *os = g_string_new(NULL);
    for (int i = 0; i < n; i++) {
        g_string_append_printf(rs, "%s%.1f", i ? "," : "", raw[i]);
        g_string_append_printf(os, "%s%.1f", i ? "," : "", ours[i]);
    }
    double mraw = median(raw, n), mours = median(ours, n); /* sorts: after the strings */
    char extra[400];
    snprintf(extra, sizeof extra,
             "\"mb_per_s\":%.1f,\"rounds\":[%s],\"seconds_each\":%.1f,\"window\":\"4MiB/1MiB\","
             "\"open_ms\":%.1f,\"cpu_cores\":%.2f",
             mraw, rs->str, seconds, median(raw_open, n), median(raw_cpu, n));
    emit("raw.c2c", (long long)frame, (double)frame / mraw * 1e3, extra);
    snprintf(extra, sizeof extra,
             "\"mb_per_s\":%.1f,\"rounds\":[%s],\"seconds_each\":%.1f,\"window\":\"4MiB/1MiB\","
             "\"vs_raw\":%.2f,\"cpu_cores\":%.2f",
             mours, os->str, seconds, mraw > 0 ? mours / mraw : 0, median(ours_cpu, n));
    emit(base, (long long)frame, (double)frame / mours * 1e3, extra);
    g_string_free(rs, TRUE);
    g_string_free(os, TRUE);
}

static int pong_seen(void *u)
{
    peer *p = u;
    return p->pongs > 0 || p->conn == NULL;
}

static void rtt(const char *op, peer *a)
{
    enum { WARM = 50, N = 1000 };
    static double ms[N];
    uint8_t ping[16];
    memset(ping, 0x50, sizeof ping);
    for (int i = 0; i < WARM + N; i++) {
        a->pongs = 0;
        double t0 = now_s();
        if (ek_net_conn_send(a->conn, ping, sizeof ping) != 0)
            return;
        if (!nh_run_until(pong_seen, a, 5000) || a->conn == NULL)
            return;
        if (i >= WARM)
            ms[i - WARM] = (now_s() - t0) * 1e3;
    }
    qsort(ms, N, sizeof ms[0], cmp_double);
    char extra[96];
    snprintf(extra, sizeof extra, "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"count\":%d", ms[N / 2],
             ms[N * 99 / 100], N);
    emit(op, 16, ms[N / 2] * 1e6, extra);
}

/* ---- C <-> C ---- */

static void run_c2c(const char *base, const char *turn_url)
{
    char op[64], ida[32], idb[32];
    struct {
        size_t high, low;
        const char *name;
    } windows[] = {{4u << 20, 1u << 20, "4MiB/1MiB"}, {1u << 20, 256u << 10, "1MiB/256KiB"}};
    for (int w = 0; w < (turn_url != NULL ? 1 : 2); w++) {
        /* Fresh IDs each time: the broker may not have seen the previous
         * endpoint's socket close yet, and would answer ID-TAKEN. */
        snprintf(ida, sizeof ida, "bench-%s%d-a", turn_url != NULL ? "turn" : "direct", w);
        snprintf(idb, sizeof idb, "bench-%s%d-b", turn_url != NULL ? "turn" : "direct", w);
        peer a, b;
        if (peer_start(&a, "A", ida, turn_url, windows[w].high, windows[w].low) != 0 ||
            peer_start(&b, "B", idb, turn_url, windows[w].high, windows[w].low) != 0) {
            fprintf(stderr, "net-throughput: cannot start the endpoints\n");
            return;
        }
        peer *pp[2] = {&a, &b};
        if (!nh_run_until(registered2, pp, 15000)) {
            fprintf(stderr, "net-throughput: not registered with the broker\n");
            return;
        }
        b.echo = 1;
        if (w == 0) {
            /* The first connection pays for the process's DTLS certificate
             * (webrtc-transport.md §4: 80-300 ms of RSA key generation). */
            static int first_done;
            double first = open_pair(&a, &b, idb);
            if (!first_done) {
                char extra[48];
                snprintf(extra, sizeof extra, "\"ms\":%.1f", first * 1e3);
                snprintf(op, sizeof op, "%s.open.first", base);
                emit(op, -1, first * 1e9, extra);
                first_done = 1;
            }
            close_pair(&a, &b);
            enum { OPENS = 10 };
            double t[OPENS];
            int n = 0;
            for (int i = 0; i < OPENS; i++) {
                double s = open_pair(&a, &b, idb);
                close_pair(&a, &b);
                if (s > 0)
                    t[n++] = s;
            }
            if (n > 0) {
                qsort(t, (size_t)n, sizeof t[0], cmp_double);
                char extra[64];
                snprintf(extra, sizeof extra, "\"ms\":%.1f,\"count\":%d", t[n / 2] * 1e3, n);
                snprintf(op, sizeof op, "%s.open", base);
                emit(op, -1, t[n / 2] * 1e9, extra);
            }
        }
        if (open_pair(&a, &b, idb) > 0) {
            b.echo = 0;
            if (w == 0) {
                /* The direct figures sit next to a bare-webrtcbin run made
                 * just before, under the same machine load. */
                if (turn_url == NULL) {
                    compare_with_raw(base, &a, &b, 65536, 1);
                    compare_with_raw(base, &a, &b, 16384, 0);
                } else {
                    throughput(base, &a, &b, 65536, windows[w].name, 0);
                    throughput(base, &a, &b, 16384, windows[w].name, 0);
                }
                b.echo = 1;
                snprintf(op, sizeof op, "%s.rtt", base);
                rtt(op, &a);
            } else {
                throughput(base, &a, &b, 65536, windows[w].name, 0);
            }
            close_pair(&a, &b);
        }
        peer_stop(&a);
        peer_stop(&b);
    }
}

/* ---- C <-> Chromium ---- */

static int text_seen(void *u)
{
    peer *p = u;
    return p->texts > 0 || p->conn == NULL;
}

static int wait_text(peer *p, unsigned ms)
{
    return nh_run_until(text_seen, p, ms) && p->texts > 0;
}

static int b_open(void *u)
{
    peer *p = u;
    return p->opened > 0;
}

static int b_send_done(void *u)
{
    peer *p = u;
    return p->texts > 0 && g_str_has_prefix(p->text->str, "sent") && p->conn != NULL
               ? p->rx_bytes >= g_ascii_strtoull(p->text->str + 5, NULL, 10)
               : p->conn == NULL;
}

static void run_chromium(void)
{
    peer c;
    char id[48];
    snprintf(id, sizeof id, "bench-c-%08x", g_random_int());
    if (peer_start(&c, "C", id, NULL, 4u << 20, 1u << 20) != 0)
        return;
    peer *self[2] = {&c, &c};
    if (!nh_run_until(registered2, self, 15000))
        return;
    char port[16], secs[16];
    snprintf(port, sizeof port, "%d", broker.port);
    snprintf(secs, sizeof secs, "%.1f", seconds);
    const char *argv[] = {args.node,   g_getenv("EK_NET_CHROMIUM_SCRIPT"),
                          "--port",    port,
                          "--cpeer",   id,
                          "--seconds", secs,
                          NULL};
    nh_proc js;
    if (nh_spawn(&js, argv) != 0)
        return;
    if (!nh_run_until(b_open, &c, 60000)) {
        char *log = nh_read_log(&js);
        fprintf(stderr, "net-throughput: the browser did not connect:\n%s\n", log);
        g_free(log);
        nh_stop(&js);
        return;
    }
    /* The page reports its own open time: from connect() to 'open'. */
    if (wait_text(&c, 10000) && g_str_has_prefix(c.text->str, "open ")) {
        double ms = g_ascii_strtod(c.text->str + 5, NULL);
        char extra[48];
        snprintf(extra, sizeof extra, "\"ms\":%.1f,\"offerer\":\"browser\"", ms);
        emit("c2chromium.open", -1, ms * 1e6, extra);
    }
    size_t frames[] = {65536, 16384};
    for (int i = 0; i < 2; i++) {
        /* C -> browser: the page counts, and reports bytes and its first
         * to last receive time. */
        c.frame = frames[i];
        c.sent_frames = 0;
        c.sending = 1;
        ek_net_conn_send_text(c.conn, "reset", 5);
        c.stop_at = now_s() + seconds;
        pump(&c);
        while (c.sending && c.conn != NULL)
            nh_run_for(50);
        c.texts = 0;
        ek_net_conn_send_text(c.conn, "count?", 6);
        if (wait_text(&c, 30000) && g_str_has_prefix(c.text->str, "count ")) {
            unsigned long long bytes = 0, nframes = 0;
            double ms = 0;
            if (sscanf(c.text->str, "count %llu %llu %lf", &bytes, &nframes, &ms) == 3 && ms > 0) {
                char extra[128];
                snprintf(extra, sizeof extra,
                         "\"mb_per_s\":%.1f,\"frames\":%llu,\"seconds\":%.2f,"
                         "\"window\":\"4MiB/1MiB\"",
                         (double)bytes / (ms / 1e3) / 1e6, nframes, ms / 1e3);
                emit("c2chromium.c_to_browser", (long long)frames[i], ms * 1e6 / (double)nframes,
                     extra);
            }
        }
    }
    /* browser -> C, the browser's flow control as in the spike (4 MiB high,
     * 1 MiB low threshold); we count here. */
    c.rx_frames = c.rx_bytes = 0;
    c.texts = 0;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "send %.1f 65536", seconds);
    ek_net_conn_send_text(c.conn, cmd, strlen(cmd));
    if (nh_run_until(b_send_done, &c, (unsigned)(seconds * 1000) + 30000) && c.rx_frames > 1) {
        double span = c.rx_last - c.rx_first;
        char extra[128];
        snprintf(extra, sizeof extra,
                 "\"mb_per_s\":%.1f,\"frames\":%llu,\"seconds\":%.2f,\"window\":\"4MiB/1MiB\"",
                 (double)c.rx_bytes / span / 1e6, (unsigned long long)c.rx_frames, span);
        emit("c2chromium.browser_to_c", 65536, span * 1e9 / (double)c.rx_frames, extra);
    }
    /* pings: text "P" frames echoed by the page */
    {
        enum { WARM = 50, N = 1000 };
        static double ms[N];
        int ok = 1;
        for (int i = 0; i < WARM + N && ok; i++) {
            c.texts = 0;
            c.pongs = 0;
            double t0 = now_s();
            ek_net_conn_send_text(c.conn, "P0123456789abcde", 16);
            ok = nh_run_until(pong_seen, &c, 5000) && c.conn != NULL;
            if (ok && i >= WARM)
                ms[i - WARM] = (now_s() - t0) * 1e3;
        }
        if (ok) {
            qsort(ms, N, sizeof ms[0], cmp_double);
            char extra[96];
            snprintf(extra, sizeof extra, "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"count\":%d", ms[N / 2],
                     ms[N * 99 / 100], N);
            emit("c2chromium.rtt", 16, ms[N / 2] * 1e6, extra);
        }
    }
    if (c.conn != NULL)
        ek_net_conn_send_text(c.conn, "bye", 3);
    nh_run_for(300);
    nh_stop(&js);
    peer_stop(&c);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    /* Our own flags first; the rest are the harness's. */
    char **rest = g_new0(char *, (size_t)argc + 1);
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = g_ascii_strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--chromium-script") == 0 && i + 1 < argc)
            g_setenv("EK_NET_CHROMIUM_SCRIPT", argv[++i], TRUE);
        else
            rest[nrest++] = argv[i];
    }
    nh_parse_args(&args, nrest, rest);
    g_free(rest);
    args.server = "broker";
    if (args.broker == NULL) {
        fprintf(stderr, "usage: net-throughput --broker PATH [--turnserver PATH] [--node PATH "
                        "--chromium-script PATH] [--seconds S] [--only c2c|turn|chromium]\n");
        return 2;
    }
    if (nh_start_signaling(&broker, &args, 0, 5000, 0) != 0)
        return 1;
    /* g_message from the layer goes to stderr; stdout is JSON only. */
    if (only == NULL || strcmp(only, "c2c") == 0)
        run_c2c("c2c.direct", NULL);
    if ((only == NULL || strcmp(only, "turn") == 0) && args.turnserver != NULL) {
        nh_proc turn;
        if (nh_start_coturn(&turn, &args, "bench", "benchpass", 0) == 0) {
            char url[64];
            snprintf(url, sizeof url, "turn:127.0.0.1:%d", turn.port);
            run_c2c("c2c.turn", url);
            nh_stop(&turn);
        } else {
            fprintf(stderr, "net-throughput: coturn did not start\n");
        }
    }
    if ((only == NULL || strcmp(only, "chromium") == 0) && args.node != NULL &&
        g_getenv("EK_NET_CHROMIUM_SCRIPT") != NULL)
        run_chromium();
    nh_stop(&broker);
    return 0;
}
