/*
 * net-throughput-raw.c: the baseline for net-throughput: two bare webrtcbins
 * in this process, set up the way the research spike's dc.c did
 * (webrtc-transport.md §3, §4) -- SDP and candidates handed across
 * directly, bytes counted inside the receiving streaming thread, pings
 * echoed and re-sent from inside the callbacks, flow control on
 * buffered-amount with the same window. No signaling server, no main-loop
 * marshalling, no queue, no framing: what webrtcbin itself does on this
 * machine right now, so the layer's figures can be compared with a
 * baseline measured under the same load.
 */
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include "net-throughput-raw.h"

typedef struct side {
    GstElement *pipe, *webrtc;
    GstWebRTCDataChannel *dc;
    struct side *other;
    /* receiving (streaming thread) */
    gint64 first_us, last_us;
    guint64 bytes, frames;
    /* pings */
    int pinger;
    gint pings_left;
    gint64 sent_us;
    double *rtt_ms;
    int rtt_n, rtt_warm;
} side;

typedef struct raw_bench {
    side a, b;
    GMutex lock;
    GCond cond;
    int open;
    /* sending (main loop) */
    GBytes *payload;
    gint64 stop_us;
    guint64 high;
    gint pump_scheduled;
    int sending;
} raw_bench;

static raw_bench *rb;

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- negotiation, marshalled to the main loop as the spike did ---- */

typedef struct cand {
    side *to;
    guint mline;
    char *c;
} cand;

static gboolean add_cand(gpointer data)
{
    cand *c = data;
    g_signal_emit_by_name(c->to->webrtc, "add-ice-candidate", c->mline, c->c);
    g_free(c->c);
    g_free(c);
    return G_SOURCE_REMOVE;
}

static void on_ice(GstElement *w, guint mline, gchar *candidate, gpointer data)
{
    (void)w;
    side *s = data;
    cand *c = g_new0(cand, 1);
    c->to = s->other;
    c->mline = mline;
    c->c = g_strdup(candidate);
    g_idle_add(add_cand, c);
}

static GstWebRTCSessionDescription *reply_desc(GstPromise *p, const char *field)
{
    GstWebRTCSessionDescription *d = NULL;
    const GstStructure *r = gst_promise_get_reply(p);
    if (r != NULL)
        gst_structure_get(r, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &d, NULL);
    return d;
}

static void answer_created(GstPromise *p, gpointer data)
{
    side *b = data;
    GstWebRTCSessionDescription *ans = reply_desc(p, "answer");
    gst_promise_unref(p);
    if (ans == NULL)
        return;
    g_signal_emit_by_name(b->webrtc, "set-local-description", ans, NULL);
    g_signal_emit_by_name(b->other->webrtc, "set-remote-description", ans, NULL);
    gst_webrtc_session_description_free(ans);
}

static void offer_created(GstPromise *p, gpointer data)
{
    side *a = data;
    GstWebRTCSessionDescription *off = reply_desc(p, "offer");
    gst_promise_unref(p);
    if (off == NULL)
        return;
    g_signal_emit_by_name(a->webrtc, "set-local-description", off, NULL);
    /* Through text, as over real signaling. */
    gchar *text = gst_sdp_message_as_text(off->sdp);
    GstSDPMessage *msg = NULL;
    gst_sdp_message_new_from_text(text, &msg);
    g_free(text);
    GstWebRTCSessionDescription *remote =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, msg);
    g_signal_emit_by_name(a->other->webrtc, "set-remote-description", remote, NULL);
    gst_webrtc_session_description_free(remote);
    gst_webrtc_session_description_free(off);
    GstPromise *q = gst_promise_new_with_change_func(answer_created, a->other, NULL);
    g_signal_emit_by_name(a->other->webrtc, "create-answer", NULL, q);
}

/* ---- data (streaming threads) ---- */

static void on_data(GstWebRTCDataChannel *dc, GBytes *bytes, gpointer data)
{
    (void)dc;
    side *s = data;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&rb->lock);
    if (s->frames == 0)
        s->first_us = now;
    s->last_us = now;
    s->frames++;
    s->bytes += bytes != NULL ? g_bytes_get_size(bytes) : 0;
    g_mutex_unlock(&rb->lock);
}

static guint64 frames_of(side *s)
{
    g_mutex_lock(&rb->lock);
    guint64 f = s->frames;
    g_mutex_unlock(&rb->lock);
    return f;
}

static void on_string(GstWebRTCDataChannel *dc, gchar *str, gpointer data)
{
    side *s = data;
    if (!s->pinger) {
        gst_webrtc_data_channel_send_string_full(dc, str, NULL); /* echo */
        return;
    }
    gint64 now = g_get_monotonic_time();
    int i = s->rtt_warm + s->rtt_n - g_atomic_int_get(&s->pings_left);
    if (i >= s->rtt_warm)
        s->rtt_ms[i - s->rtt_warm] = (double)(now - s->sent_us) / 1e3;
    if (g_atomic_int_dec_and_test(&s->pings_left)) {
        g_mutex_lock(&rb->lock);
        g_cond_signal(&rb->cond);
        g_mutex_unlock(&rb->lock);
        return;
    }
    s->sent_us = g_get_monotonic_time();
    gst_webrtc_data_channel_send_string_full(dc, "P", NULL);
}

static void on_open(GstWebRTCDataChannel *dc, gpointer data)
{
    (void)dc;
    (void)data;
    g_mutex_lock(&rb->lock);
    rb->open++;
    g_cond_signal(&rb->cond);
    g_mutex_unlock(&rb->lock);
}

static void hook_channel(side *s, GstWebRTCDataChannel *dc)
{
    g_signal_connect(dc, "on-message-data", G_CALLBACK(on_data), s);
    g_signal_connect(dc, "on-message-string", G_CALLBACK(on_string), s);
    g_signal_connect(dc, "on-open", G_CALLBACK(on_open), s);
}

static void on_data_channel(GstElement *w, GstWebRTCDataChannel *dc, gpointer data)
{
    (void)w;
    side *s = data;
    s->dc = g_object_ref(dc);
    hook_channel(s, dc);
    on_open(dc, s); /* already open when announced (§6) */
}

/* ---- sending (main loop), the spike's pump ---- */

static gboolean pump(gpointer data)
{
    (void)data;
    g_atomic_int_set(&rb->pump_scheduled, 0);
    while (rb->sending) {
        if (g_get_monotonic_time() >= rb->stop_us) {
            rb->sending = 0;
            break;
        }
        guint64 buffered = 0;
        g_object_get(rb->a.dc, "buffered-amount", &buffered, NULL);
        if (buffered >= rb->high)
            break;
        gst_webrtc_data_channel_send_data_full(rb->a.dc, rb->payload, NULL);
    }
    return G_SOURCE_REMOVE;
}

static void on_low(GstWebRTCDataChannel *dc, gpointer data)
{
    (void)dc;
    (void)data;
    /* flag first, then the idle (§6) */
    if (g_atomic_int_compare_and_exchange(&rb->pump_scheduled, 0, 1))
        g_idle_add(pump, NULL);
}

static void side_init(side *s, side *other)
{
    s->other = other;
    s->pipe = gst_pipeline_new(NULL);
    s->webrtc = gst_element_factory_make("webrtcbin", NULL);
    gst_bin_add(GST_BIN(s->pipe), s->webrtc);
    g_object_set(s->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    GObject *ice = NULL, *agent = NULL;
    g_object_get(s->webrtc, "ice-agent", &ice, NULL);
    g_object_set(ice, "ice-tcp", FALSE, NULL);
    g_object_get(ice, "agent", &agent, NULL);
    g_object_set(agent, "upnp", FALSE, NULL);
    g_object_unref(agent);
    gboolean ok;
    g_signal_emit_by_name(ice, "add-local-ip-address", "127.0.0.1", &ok);
    g_object_unref(ice);
    g_signal_connect(s->webrtc, "on-ice-candidate", G_CALLBACK(on_ice), s);
    g_signal_connect(s->webrtc, "on-data-channel", G_CALLBACK(on_data_channel), s);
    /* the bus is never read: drop everything */
    GstBus *bus = gst_pipeline_get_bus(GST_PIPELINE(s->pipe));
    gst_bus_set_flushing(bus, TRUE);
    gst_object_unref(bus);
    gst_element_set_state(s->pipe, GST_STATE_PLAYING);
}

static void side_free(side *s)
{
    gst_element_set_state(s->pipe, GST_STATE_NULL);
    if (s->dc != NULL)
        g_object_unref(s->dc);
    gst_object_unref(s->pipe);
}

static int wait_open(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    int ok;
    for (;;) {
        g_mutex_lock(&rb->lock);
        ok = rb->open >= 2;
        g_mutex_unlock(&rb->lock);
        if (ok || g_get_monotonic_time() > end)
            return ok;
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

int raw_bench_run(raw_result *out, size_t frame, double seconds, size_t high, size_t low)
{
    memset(out, 0, sizeof *out);
    rb = g_new0(raw_bench, 1);
    g_mutex_init(&rb->lock);
    g_cond_init(&rb->cond);
    side_init(&rb->a, &rb->b);
    side_init(&rb->b, &rb->a);

    gint64 t0 = g_get_monotonic_time();
    GstStructure *opts =
        gst_structure_new("application/data-channel", "ordered", G_TYPE_BOOLEAN, TRUE, NULL);
    g_signal_emit_by_name(rb->a.webrtc, "create-data-channel", "raw", opts, &rb->a.dc);
    gst_structure_free(opts);
    hook_channel(&rb->a, rb->a.dc);
    g_signal_connect(rb->a.dc, "on-buffered-amount-low", G_CALLBACK(on_low), NULL);
    g_object_set(rb->a.dc, "buffered-amount-low-threshold", (guint64)low, NULL);
    GstPromise *p = gst_promise_new_with_change_func(offer_created, &rb->a, NULL);
    g_signal_emit_by_name(rb->a.webrtc, "create-offer", NULL, p);
    int rc = -1;
    if (!wait_open(20000))
        goto done;
    out->open_ms = (double)(g_get_monotonic_time() - t0) / 1e3;

    /* throughput a -> b */
    static uint8_t data[65536];
    rb->payload = g_bytes_new_static(data, frame);
    rb->high = high;
    rb->sending = 1;
    rb->stop_us = g_get_monotonic_time() + (gint64)(seconds * 1e6);
    double cpu0 = cpu_now();
    gint64 wall0 = g_get_monotonic_time();
    pump(NULL);
    while (rb->sending)
        g_main_context_iteration(NULL, TRUE);
    /* let the last ones arrive */
    guint64 frames = 0;
    for (int i = 0; i < 200; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(10000);
        if (frames_of(&rb->b) == frames && i > 20)
            break;
        frames = frames_of(&rb->b);
    }
    out->cpu_cores = (cpu_now() - cpu0) / ((double)(g_get_monotonic_time() - wall0) / 1e6);
    out->frames = rb->b.frames;
    out->seconds = (double)(rb->b.last_us - rb->b.first_us) / 1e6;
    out->mb_per_s = out->seconds > 0 ? (double)rb->b.bytes / out->seconds / 1e6 : 0;
    g_bytes_unref(rb->payload);

    /* pings, echoed inside the callbacks */
    enum { WARM = 50, N = 1000 };
    static double ms[N];
    rb->a.pinger = 1;
    rb->a.rtt_ms = ms;
    rb->a.rtt_n = N;
    rb->a.rtt_warm = WARM;
    g_atomic_int_set(&rb->a.pings_left, WARM + N);
    g_mutex_lock(&rb->lock);
    rb->a.sent_us = g_get_monotonic_time();
    gst_webrtc_data_channel_send_string_full(rb->a.dc, "P", NULL);
    gint64 end = g_get_monotonic_time() + (gint64)30 * G_USEC_PER_SEC;
    while (g_atomic_int_get(&rb->a.pings_left) > 0)
        if (!g_cond_wait_until(&rb->cond, &rb->lock, end))
            break;
    g_mutex_unlock(&rb->lock);
    if (g_atomic_int_get(&rb->a.pings_left) == 0) {
        out->rtt_ms = ms;
        out->rtt_n = N;
    }
    rc = 0;
done:
    side_free(&rb->a);
    side_free(&rb->b);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_mutex_clear(&rb->lock);
    g_cond_clear(&rb->cond);
    g_free(rb);
    rb = NULL;
    return rc;
}
