/*
 * test_e2e.c: the enkrypt program end to end, driven through the JSON-RPC
 * sockets of real daemons, with enkrypt-broker, all on 127.0.0.1.
 *
 *   chat      connect; both sides' safety numbers match; 1,000 messages
 *             each way at once, each delivered exactly once and in order,
 *             with end-to-end latency (send request -> message notification,
 *             median and p99) and connect -> ready times; disconnect and
 *             resume without a new handshake
 *   restart   kill -9 one daemon mid-stream, keep sending to it, restart
 *             it: it unlocks its vault, resumes the session, and every
 *             message arrives once, in order, on both sides
 *   badinput  wrong passphrase, corrupted vault, unreachable broker, peer
 *             ID taken, peer offline, locked profile, bad RPC requests:
 *             each a clear error, no crash, nothing lost
 *   wire      tcpdump on the loopback while messages flow: none of the
 *             texts appears in the capture (which does hold the traffic)
 *   embedded  no broker configured: the first daemon starts one on
 *             127.0.0.1, the second uses it; when the first quits, the
 *             second takes over
 */
#define _GNU_SOURCE 1 /* memmem */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_harness.h"

static e2e_args args;

/* ---- helpers ---- */

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : "";
}

static json_t *params(json_t *m)
{
    return json_object_get(m, "params");
}

/* Wait for peerState of peer on d to be `state`; returns the notification. */
static json_t *wait_state(e2e_daemon *d, const char *peer, const char *state, unsigned ms)
{
    int64_t until = e2e_now_us() + (int64_t)ms * 1000;
    for (;;) {
        int64_t left = (until - e2e_now_us()) / 1000;
        json_t *n =
            left > 0 ? e2e_rpc_wait(&d->rpc, "peerState", "peer", peer, (unsigned)left) : NULL;
        if (n == NULL)
            return NULL;
        if (strcmp(str(params(n), "state"), state) == 0)
            return n;
        json_decref(n);
    }
}

/* Wait for a notification (see e2e_rpc_wait) or fail. A netState may come
 * before our RPC connection does (the daemon registers as soon as it
 * starts), so for it the status method is asked too. */
static void expect_note(e2e_daemon *d, const char *method, const char *key, const char *val,
                        unsigned ms, const char *why)
{
    int net = strcmp(method, "netState") == 0 && strcmp(key, "state") == 0;
    int64_t until = e2e_now_us() + (int64_t)ms * 1000;
    for (;;) {
        int64_t left = (until - e2e_now_us()) / 1000;
        E2E_CHECK(left > 0, "%s: %s", d->profile, why);
        json_t *n =
            e2e_rpc_wait(&d->rpc, method, key, val, net && left > 250 ? 250u : (unsigned)left);
        if (n != NULL) {
            json_decref(n);
            return;
        }
        if (net) {
            json_t *s = e2e_rpc_ok(&d->rpc, "status", NULL);
            int there = strcmp(str(s, "net"), val) == 0;
            json_decref(s);
            if (there)
                return;
        }
    }
}

static char *random_tag(void)
{
    return g_strdup_printf("%08x%08x", g_random_int(), g_random_int());
}

/* The bodies `prefix NNNN tag` received from peer, in history order. */
static GPtrArray *history_bodies(e2e_daemon *d, const char *peer, const char *direction)
{
    json_t *h = e2e_rpc_ok(&d->rpc, "history", json_pack("{s:s,s:i}", "peer", peer, "limit", 0));
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    size_t i;
    json_t *m;
    json_array_foreach (h, i, m) {
        if (strcmp(str(m, "direction"), direction) == 0)
            g_ptr_array_add(out, g_strdup(str(m, "body")));
    }
    json_decref(h);
    return out;
}

static void check_sequence(GPtrArray *bodies, const char *prefix, const char *tag, int n,
                           const char *who)
{
    E2E_CHECK((int)bodies->len == n, "%s holds %u messages %s, expected %d", who, bodies->len,
              prefix, n);
    for (int i = 0; i < n; i++) {
        char *want = g_strdup_printf("%s %04d %s", prefix, i, tag);
        E2E_CHECK(strcmp(g_ptr_array_index(bodies, i), want) == 0,
                  "%s: message %d is \"%s\", expected \"%s\"", who, i,
                  (char *)g_ptr_array_index(bodies, i), want);
        g_free(want);
    }
}

static e2e_proc broker;
static char *broker_url;

static void start_broker(void)
{
    int port = 0;
    E2E_CHECK(e2e_start_broker(&broker, &args, 0, &port) == 0, "enkrypt-broker did not start");
    broker_url = g_strdup_printf("ws://127.0.0.1:%d/", port);
}

/* ---- streaming both ways at once ---- */

typedef struct stream {
    e2e_daemon *from, *to;
    const char *prefix;
    const char *tag;
    int n;         /* messages to send */
    int window;    /* how many may be in flight (1: one at a time) */
    int sent;      /* send requests made */
    int received;  /* messages seen at `to` */
    int delivered; /* delivered notifications at `from` */
    int64_t *t_sent;
    double *lat_ms;
    GHashTable *ids; /* message ids sent (-> 1) and delivered (-> 2) */
    int stop_at;     /* stop sending after this many (restart test), or n */
} stream;

static void stream_init(stream *s, e2e_daemon *from, e2e_daemon *to, const char *prefix,
                        const char *tag, int n, int window)
{
    memset(s, 0, sizeof(*s));
    s->from = from;
    s->to = to;
    s->prefix = prefix;
    s->tag = tag;
    s->n = n;
    s->window = window;
    s->t_sent = g_new0(int64_t, (size_t)n);
    s->lat_ms = g_new0(double, (size_t)n);
    s->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->stop_at = n;
}

static void stream_free(stream *s)
{
    g_free(s->t_sent);
    g_free(s->lat_ms);
    g_hash_table_destroy(s->ids);
}

static void stream_pump(stream *s)
{
    while (s->sent < s->stop_at && s->sent - s->received < s->window) {
        char *body = g_strdup_printf("%s %04d %s", s->prefix, s->sent, s->tag);
        s->t_sent[s->sent] = e2e_now_us();
        e2e_rpc_send(&s->from->rpc, "send",
                     json_pack("{s:s,s:s}", "peer", s->to->peer_id, "text", body));
        g_free(body);
        s->sent++;
    }
}

/* One message from a daemon's socket, for whichever stream it concerns. */
static void stream_handle(stream *ss, int ns, e2e_daemon *d, json_t *m)
{
    const char *method = str(m, "method");
    json_t *err = json_object_get(m, "error");
    if (err != NULL) {
        char *e = json_dumps(err, JSON_COMPACT);
        E2E_CHECK(err == NULL, "%s: a request failed: %s", d->profile, e);
    }
    json_t *res = json_object_get(m, "result");
    for (int k = 0; k < ns; k++) {
        stream *s = &ss[k];
        if (res != NULL && d == s->from && json_is_object(res) &&
            json_object_get(res, "id") != NULL && json_object_get(res, "status") != NULL) {
            g_hash_table_insert(s->ids, g_strdup(str(res, "id")), GINT_TO_POINTER(1));
            return;
        }
        if (strcmp(method, "message") == 0 && d == s->to &&
            strcmp(str(params(m), "peer"), s->from->peer_id) == 0) {
            char *want = g_strdup_printf("%s %04d %s", s->prefix, s->received, s->tag);
            const char *body = str(params(m), "body");
            E2E_CHECK(strcmp(body, want) == 0,
                      "%s got \"%s\", expected \"%s\" (duplicate, "
                      "loss or reordering)",
                      d->profile, body, want);
            g_free(want);
            if (s->t_sent[s->received] != 0)
                s->lat_ms[s->received] = (double)(e2e_now_us() - s->t_sent[s->received]) / 1000.0;
            s->received++;
            return;
        }
        if (strcmp(method, "delivered") == 0 && d == s->from &&
            strcmp(str(params(m), "peer"), s->to->peer_id) == 0) {
            const char *id = str(params(m), "id");
            gpointer v = g_hash_table_lookup(s->ids, id);
            /* the send response may come after the receipt: count ids */
            E2E_CHECK(GPOINTER_TO_INT(v) != 2, "%s: delivered twice: %s", d->profile, id);
            g_hash_table_insert(s->ids, g_strdup(id), GINT_TO_POINTER(2));
            s->delivered++;
            return;
        }
    }
}

/* Run the streams until each has sent stop_at and its receiver got them
 * all (and, if want_delivered, every delivery receipt came back). */
static void stream_run(stream *ss, int ns, e2e_daemon **ds, int nd, int want_delivered,
                       unsigned timeout_ms)
{
    int64_t until = e2e_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int done = 1;
        for (int k = 0; k < ns; k++) {
            stream_pump(&ss[k]);
            if (ss[k].received < ss[k].stop_at ||
                (want_delivered && ss[k].delivered < ss[k].stop_at))
                done = 0;
        }
        if (done)
            return;
        E2E_CHECK(e2e_now_us() < until,
                  "streams stalled: %s %d/%d recv %d deliv; %s %d/%d recv "
                  "%d deliv",
                  ss[0].prefix, ss[0].received, ss[0].stop_at, ss[0].delivered,
                  ns > 1 ? ss[1].prefix : "-", ns > 1 ? ss[1].received : 0,
                  ns > 1 ? ss[1].stop_at : 0, ns > 1 ? ss[1].delivered : 0);
        struct pollfd pfd[4];
        for (int i = 0; i < nd; i++) {
            pfd[i].fd = ds[i]->rpc.fd;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        /* queued notifications first */
        for (int i = 0; i < nd; i++) {
            json_t *m;
            while ((m = g_queue_pop_head(&ds[i]->rpc.notes)) != NULL) {
                stream_handle(ss, ns, ds[i], m);
                json_decref(m);
            }
        }
        if (poll(pfd, (nfds_t)nd, 200) <= 0)
            continue;
        for (int i = 0; i < nd; i++) {
            if ((pfd[i].revents & (POLLIN | POLLHUP)) == 0)
                continue;
            E2E_CHECK(e2e_rpc_fill(&ds[i]->rpc, 0) == 0, "%s closed its RPC socket",
                      ds[i]->profile);
            json_t *m;
            while ((m = e2e_rpc_next(&ds[i]->rpc)) != NULL) {
                stream_handle(ss, ns, ds[i], m);
                json_decref(m);
            }
        }
    }
}

/* ---- chat ---- */

static int test_chat(void)
{
    start_broker();
    e2e_daemon a, b;
    e2e_daemon_init(&a, &args, "alice", broker_url, 0);
    e2e_daemon_init(&b, &args, "bob", broker_url, 0);
    e2e_daemon_start(&a);
    e2e_daemon_start(&b);
    expect_note(&a, "netState", "state", "registered", 15000, "alice did not register");
    expect_note(&b, "netState", "state", "registered", 15000, "bob did not register");

    double first_ms = e2e_connect_pair(&a, &b);

    /* Safety numbers: the same 60 digits on both sides. */
    json_t *sa = e2e_rpc_ok(&a.rpc, "safetyNumber", json_pack("{s:s}", "peer", b.peer_id));
    json_t *sb = e2e_rpc_ok(&b.rpc, "verify", json_pack("{s:s}", "peer", a.peer_id));
    E2E_CHECK(strlen(str(sa, "safetyNumber")) == 60, "a safety number of 60 digits: %s",
              str(sa, "safetyNumber"));
    E2E_CHECK(strcmp(str(sa, "safetyNumber"), str(sb, "safetyNumber")) == 0,
              "safety numbers differ: %s vs %s", str(sa, "safetyNumber"), str(sb, "safetyNumber"));
    E2E_CHECK(json_is_true(json_object_get(sb, "verified")), "verify did not mark verified");
    printf("e2e: safety number on both sides: %s\n", str(sa, "formatted"));
    json_decref(sa);
    json_decref(sb);

    /* 1,000 each way, both directions at once, one message in flight per
     * direction so each latency is the message's own. */
    const int n = args.messages;
    char *tag = random_tag();
    stream ss[2];
    stream_init(&ss[0], &a, &b, "a2b", tag, n, 1);
    stream_init(&ss[1], &b, &a, "b2a", tag, n, 1);
    e2e_daemon *ds[2] = {&a, &b};
    int64_t t0 = e2e_now_us();
    stream_run(ss, 2, ds, 2, 1, 95000);
    double secs = (double)(e2e_now_us() - t0) / 1e6;
    double *lat = g_new(double, 2 * (size_t)n);
    memcpy(lat, ss[0].lat_ms, (size_t)n * sizeof(double));
    memcpy(lat + n, ss[1].lat_ms, (size_t)n * sizeof(double));
    double p50a = e2e_percentile(ss[0].lat_ms, (size_t)n, 0.5),
           p99a = e2e_percentile(ss[0].lat_ms, (size_t)n, 0.99);
    double p50b = e2e_percentile(ss[1].lat_ms, (size_t)n, 0.5),
           p99b = e2e_percentile(ss[1].lat_ms, (size_t)n, 0.99);
    double p50 = e2e_percentile(lat, 2 * (size_t)n, 0.5),
           p99 = e2e_percentile(lat, 2 * (size_t)n, 0.99);
    g_free(lat);

    /* Exactly once and in order, in the vaults too. */
    GPtrArray *hb = history_bodies(&b, a.peer_id, "in");
    GPtrArray *ha = history_bodies(&a, b.peer_id, "in");
    check_sequence(hb, "a2b", tag, n, "bob's history");
    check_sequence(ha, "b2a", tag, n, "alice's history");
    g_ptr_array_free(ha, TRUE);
    g_ptr_array_free(hb, TRUE);

    /* Disconnect, reconnect: the saved session resumes (no handshake). */
    json_decref(e2e_rpc_ok(&a.rpc, "disconnect", json_pack("{s:s}", "peer", b.peer_id)));
    json_t *off = wait_state(&b, a.peer_id, "offline", 15000);
    E2E_CHECK(off != NULL, "bob did not see alice go away");
    json_decref(off);
    e2e_rpc_clear(&a.rpc);
    int64_t t1 = e2e_now_us();
    json_decref(e2e_rpc_ok(&a.rpc, "connect", json_pack("{s:s}", "peer", b.peer_id)));
    json_t *ready = wait_state(&a, b.peer_id, "ready", 20000);
    E2E_CHECK(ready != NULL, "no ready after reconnecting");
    double resume_ms = (double)(e2e_now_us() - t1) / 1000.0;
    E2E_CHECK(json_is_true(json_object_get(params(ready), "resumed")),
              "the reconnect made a new handshake instead of resuming");
    json_decref(ready);

    /* Privacy settings: off (the default) means nothing is sent. */
    char *msg = NULL;
    char *name = e2e_rpc_err(&b.rpc, "typing", json_pack("{s:s}", "peer", a.peer_id), &msg);
    E2E_CHECK(strcmp(name, "disabled") == 0, "typing with indicators off: %s (%s)", name, msg);
    g_free(name);
    g_free(msg);
    json_t *sent =
        e2e_rpc_ok(&a.rpc, "send", json_pack("{s:s,s:s}", "peer", b.peer_id, "text", "read me"));
    char *read_id = g_strdup(str(sent, "id"));
    json_decref(sent);
    json_t *got = e2e_rpc_wait(&b.rpc, "message", "peer", a.peer_id, 20000);
    E2E_CHECK(got != NULL, "no message to mark read");
    json_decref(got);
    json_decref(e2e_rpc_ok(&b.rpc, "markRead", json_pack("{s:s}", "peer", a.peer_id)));
    json_t *none = e2e_rpc_wait(&a.rpc, "read", NULL, NULL, 1500);
    E2E_CHECK(none == NULL, "a read receipt was sent with read receipts off");
    json_decref(e2e_rpc_ok(&b.rpc, "setSettings",
                           json_pack("{s:s,s:b}", "read-receipts", "on", "typing-indicators", 1)));
    json_decref(e2e_rpc_ok(&b.rpc, "typing", json_pack("{s:s}", "peer", a.peer_id)));
    json_t *ty = e2e_rpc_wait(&a.rpc, "typing", "peer", b.peer_id, 20000);
    E2E_CHECK(ty != NULL && json_is_true(json_object_get(params(ty), "typing")),
              "no typing notice with indicators on");
    json_decref(ty);
    sent = e2e_rpc_ok(&a.rpc, "send", json_pack("{s:s,s:s}", "peer", b.peer_id, "text", "and me"));
    char *read_id2 = g_strdup(str(sent, "id"));
    json_decref(sent);
    got = e2e_rpc_wait(&b.rpc, "message", "peer", a.peer_id, 20000);
    E2E_CHECK(got != NULL, "no second message to mark read");
    json_decref(got);
    json_decref(
        e2e_rpc_ok(&b.rpc, "markRead", json_pack("{s:s,s:s}", "peer", a.peer_id, "id", read_id2)));
    json_t *rd = e2e_rpc_wait(&a.rpc, "read", "id", read_id2, 20000);
    E2E_CHECK(rd != NULL, "no read receipt with read receipts on");
    json_decref(rd);
    printf("e2e: typing and read receipts: nothing sent while off (the default), delivered once "
           "turned on\n");
    g_free(read_id);
    g_free(read_id2);

    printf("e2e: connect -> ready: %.1f ms (first contact: WebRTC + full handshake), %.1f ms "
           "(reconnect: WebRTC + resume)\n",
           first_ms, resume_ms);
    printf("e2e: %d messages each way (both directions at once, one in flight per direction), "
           "exactly once and in order, in %.2f s\n",
           n, secs);
    printf("e2e: end-to-end latency (send request -> message notification) alice->bob: median "
           "%.2f ms, p99 %.2f ms; bob->alice: median %.2f ms, p99 %.2f ms; all %d: median "
           "%.2f ms, p99 %.2f ms\n",
           p50a, p99a, p50b, p99b, 2 * n, p50, p99);
    printf("{\"bench\":\"e2e\",\"op\":\"message_latency\",\"n\":%d,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f}\n",
           2 * n, p50, p99);
    printf("{\"bench\":\"e2e\",\"op\":\"connect_to_ready\",\"first_ms\":%.1f,\"resume_ms\":%.1f}\n",
           first_ms, resume_ms);

    stream_free(&ss[0]);
    stream_free(&ss[1]);
    g_free(tag);
    e2e_daemon_shutdown(&a);
    e2e_daemon_shutdown(&b);
    e2e_daemon_free(&a);
    e2e_daemon_free(&b);
    e2e_stop(&broker, 5000);
    g_free(broker_url);
    return 0;
}

/* ---- restart ---- */

static int test_restart(void)
{
    start_broker();
    e2e_daemon a, b;
    e2e_daemon_init(&a, &args, "alice", broker_url, 0);
    e2e_daemon_init(&b, &args, "bob", broker_url, 0);
    e2e_daemon_start(&a);
    e2e_daemon_start(&b);
    e2e_connect_pair(&a, &b);

    const int n = args.messages * 3 / 5 < 300 ? 300 : args.messages * 3 / 5;
    char *tag = random_tag();
    stream ss[2];
    stream_init(&ss[0], &a, &b, "a2b", tag, n, 20);
    stream_init(&ss[1], &b, &a, "b2a", tag, n, 20);
    e2e_daemon *ds[2] = {&a, &b};
    /* Phase 1: both directions flowing, 20 in flight each way. */
    ss[0].stop_at = 200;
    ss[1].stop_at = 200;
    stream_run(ss, 2, ds, 2, 0, 60000);
    /* Bob sends 50 more and we wait only for his send responses (they are
     * in his outbox then); alice sends 50 and we kill bob at once: some of
     * hers are in flight, some of his are not delivered yet. */
    for (int i = 200; i < 250; i++) {
        char *body = g_strdup_printf("b2a %04d %s", i, tag);
        json_decref(
            e2e_rpc_ok(&b.rpc, "send", json_pack("{s:s,s:s}", "peer", a.peer_id, "text", body)));
        g_free(body);
        body = g_strdup_printf("a2b %04d %s", i, tag);
        e2e_rpc_send(&a.rpc, "send", json_pack("{s:s,s:s}", "peer", b.peer_id, "text", body));
        g_free(body);
    }
    ss[0].sent = 250;
    ss[1].sent = 250;
    e2e_daemon_kill9(&b);
    int64_t killed = e2e_now_us();
    printf("e2e: bob killed with SIGKILL mid-stream (alice had received %d, bob %d)\n",
           ss[1].received, ss[0].received);
    /* While bob is down alice keeps writing: queued in her outbox. */
    for (int i = 250; i < 300; i++) {
        char *body = g_strdup_printf("a2b %04d %s", i, tag);
        json_t *r =
            e2e_rpc_ok(&a.rpc, "send", json_pack("{s:s,s:s}", "peer", b.peer_id, "text", body));
        json_decref(r);
        g_free(body);
    }
    ss[0].sent = 300;
    g_usleep(1000 * 1000);
    e2e_daemon_start(&b); /* unlocks its vault (--passphrase-fd), resumes */
    json_t *ready = wait_state(&a, b.peer_id, "ready", 30000);
    E2E_CHECK(ready != NULL, "alice never got bob back");
    E2E_CHECK(json_is_true(json_object_get(params(ready), "resumed")),
              "after the restart the session was not resumed (a new handshake ran)");
    printf("e2e: bob restarted; session resumed %.0f ms after the kill\n",
           (double)(e2e_now_us() - killed) / 1000.0);
    json_decref(ready);
    /* Phase 2: the rest, both ways. Bob's received counter restarts with
     * his new socket: what he got before is checked in his history. */
    ss[0].stop_at = n;
    ss[1].stop_at = n;
    GPtrArray *hb = history_bodies(&b, a.peer_id, "in");
    /* Messages bob stored before the kill or got since; notifications
     * for the rest follow in order. */
    ss[0].received = (int)hb->len;
    printf("e2e: bob's history after the restart holds %u of alice's messages%s%s\n", hb->len,
           hb->len > 0 ? ", the last: " : "",
           hb->len > 0 ? (char *)g_ptr_array_index(hb, hb->len - 1) : "");
    g_ptr_array_free(hb, TRUE);
    /* Alice's received counter continues: nothing she got is lost. */
    stream_run(ss, 2, ds, 2, 0, 90000);
    /* Wait until every outbox is empty (all delivery receipts back). */
    int64_t until = e2e_now_us() + 30 * G_USEC_PER_SEC;
    for (;;) {
        json_t *sa = e2e_rpc_ok(&a.rpc, "status", NULL);
        json_t *sb = e2e_rpc_ok(&b.rpc, "status", NULL);
        int qa = (int)json_integer_value(json_object_get(sa, "queued"));
        int qb = (int)json_integer_value(json_object_get(sb, "queued"));
        json_decref(sa);
        json_decref(sb);
        if (qa == 0 && qb == 0)
            break;
        E2E_CHECK(e2e_now_us() < until, "outboxes not empty: alice %d, bob %d", qa, qb);
        g_usleep(100000);
    }
    GPtrArray *h1 = history_bodies(&b, a.peer_id, "in");
    GPtrArray *h2 = history_bodies(&a, b.peer_id, "in");
    check_sequence(h1, "a2b", tag, n, "bob's history");
    check_sequence(h2, "b2a", tag, n, "alice's history");
    GPtrArray *h3 = history_bodies(&b, a.peer_id, "out");
    check_sequence(h3, "b2a", tag, n, "bob's sent history");
    printf("e2e: after kill -9 and restart: %d messages each way, each stored once and in "
           "order on both sides\n",
           n);
    g_ptr_array_free(h1, TRUE);
    g_ptr_array_free(h2, TRUE);
    g_ptr_array_free(h3, TRUE);
    stream_free(&ss[0]);
    stream_free(&ss[1]);
    g_free(tag);
    e2e_daemon_shutdown(&a);
    e2e_daemon_shutdown(&b);
    e2e_daemon_free(&a);
    e2e_daemon_free(&b);
    e2e_stop(&broker, 5000);
    g_free(broker_url);
    return 0;
}

/* ---- bad input ---- */

static void expect_in(const char *text, const char *needle, const char *what)
{
    E2E_CHECK(text != NULL && strstr(text, needle) != NULL, "%s: \"%s\" not in: %s", what, needle,
              text != NULL ? text : "(nothing)");
}

static char *file_sum(const char *path)
{
    size_t len = 0;
    char *data = e2e_read_file(path, &len);
    E2E_CHECK(data != NULL, "cannot read %s", path);
    char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
    g_free(data);
    return sum;
}

static int test_badinput(void)
{
    start_broker();
    e2e_daemon a, b;
    e2e_daemon_init(&a, &args, "alice", broker_url, 0);
    e2e_daemon_init(&b, &args, "bob", broker_url, 0);

    /* 1. Wrong passphrase: a clear message, exit 1, the vault untouched. */
    char *before = file_sum(a.vault);
    int st = 0;
    char *out = e2e_daemon_start_fail(&a, "not the passphrase", &st);
    E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "wrong passphrase: status %d", st);
    expect_in(out, "wrong passphrase", "wrong passphrase");
    char *after = file_sum(a.vault);
    E2E_CHECK(strcmp(before, after) == 0, "a wrong passphrase changed the vault");
    printf("e2e: wrong passphrase -> %s", strstr(out, "enkrypt: "));
    g_free(out);
    g_free(before);
    g_free(after);

    /* 2. Peer offline: alice connects to bob (not running) and writes to
     * him; a clear state, the message queued, then delivered when bob
     * comes. */
    e2e_daemon_start(&a);
    json_decref(e2e_rpc_ok(&a.rpc, "connect", json_pack("{s:s}", "peer", b.peer_id)));
    json_t *n1 = NULL;
    for (int i = 0; i < 20 && n1 == NULL; i++) {
        json_t *n = e2e_rpc_wait(&a.rpc, "peerState", "peer", b.peer_id, 15000);
        E2E_CHECK(n != NULL, "no peer-offline state for an absent peer");
        if (strcmp(str(params(n), "error"), "peer-offline") == 0)
            n1 = n;
        else
            json_decref(n);
    }
    E2E_CHECK(n1 != NULL, "no peer-offline error");
    printf("e2e: peer offline -> peerState %s: %s\n", str(params(n1), "state"),
           str(params(n1), "detail"));
    json_decref(n1);
    json_t *sent =
        e2e_rpc_ok(&a.rpc, "send", json_pack("{s:s,s:s}", "peer", b.peer_id, "text", "while away"));
    E2E_CHECK(strcmp(str(sent, "status"), "queued") == 0, "a message to an offline peer: %s",
              str(sent, "status"));
    json_decref(sent);

    /* 3. Bad RPC requests: JSON-RPC errors, the daemon goes on. */
    e2e_rpc_send_raw(&a.rpc, "{not json");
    json_t *m = NULL;
    for (int i = 0; i < 100 && m == NULL; i++) {
        E2E_CHECK(e2e_rpc_fill(&a.rpc, 5000) == 0, "socket closed after bad JSON");
        json_t *x;
        while ((x = e2e_rpc_next(&a.rpc)) != NULL) {
            if (m == NULL && json_object_get(x, "error") != NULL)
                m = x;
            else if (json_object_get(x, "method") != NULL)
                g_queue_push_tail(&a.rpc.notes, x);
            else
                json_decref(x);
        }
    }
    E2E_CHECK(m != NULL && json_integer_value(
                               json_object_get(json_object_get(m, "error"), "code")) == -32700,
              "no parse error for bad JSON");
    json_decref(m);
    char *msg = NULL;
    char *name = e2e_rpc_err(&a.rpc, "nosuchmethod", NULL, &msg);
    E2E_CHECK(strcmp(name, "-32601") == 0, "unknown method: %s", name);
    g_free(name);
    g_free(msg);
    name = e2e_rpc_err(&a.rpc, "send", json_pack("{s:s}", "peer", b.peer_id), &msg);
    E2E_CHECK(strcmp(name, "invalid-argument") == 0, "missing text: %s (%s)", name, msg);
    g_free(name);
    g_free(msg);
    name = e2e_rpc_err(&a.rpc, "send",
                       json_pack("{s:s,s:s}", "peer", "aaaaaaaaaaaaaaaaaaaaaaaaaa", "text", "x"),
                       &msg);
    E2E_CHECK(strcmp(name, "unknown-peer") == 0, "send to a stranger: %s (%s)", name, msg);
    printf("e2e: send to a non-contact -> %s: %s\n", name, msg);
    g_free(name);
    g_free(msg);
    name = e2e_rpc_err(&a.rpc, "connect", json_pack("{s:s}", "peer", "not a peer id!"), &msg);
    E2E_CHECK(strcmp(name, "unknown-peer") == 0, "a bad peer ID: %s (%s)", name, msg);
    g_free(name);
    g_free(msg);
    name = e2e_rpc_err(&a.rpc, "setSettings", json_pack("{s:s}", "read-receipts", "maybe"), &msg);
    E2E_CHECK(strcmp(name, "invalid-argument") == 0, "a bad setting: %s (%s)", name, msg);
    g_free(name);
    g_free(msg);

    /* 4. The same profile twice: refused, the first one unharmed. */
    e2e_daemon a2 = a;
    a2.sock = g_strdup_printf("%s/alice2.sock", e2e_dir());
    a2.proc.pid = 0;
    a2.proc.log = NULL;
    out = e2e_daemon_start_fail(&a2, a.pass, &st);
    E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "second instance: status %d", st);
    expect_in(out, "another enkrypt process has this profile open", "locked profile");
    g_free(out);
    g_free(a2.sock);
    g_free(a2.proc.log);

    /* 5. Bob starts: alice (still retrying) is a contact request; bob
     * accepts, and the queued message arrives, nothing lost. */
    e2e_daemon_start(&b);
    json_t *req = e2e_rpc_wait(&b.rpc, "contactRequest", "peer", a.peer_id, 30000);
    E2E_CHECK(req != NULL, "bob got no contact request from alice");
    json_decref(req);
    json_decref(e2e_rpc_ok(&b.rpc, "accept", json_pack("{s:s}", "peer", a.peer_id)));
    json_t *got = e2e_rpc_wait(&b.rpc, "message", "peer", a.peer_id, 30000);
    E2E_CHECK(got != NULL, "the message queued for an offline peer never arrived");
    E2E_CHECK(strcmp(str(params(got), "body"), "while away") == 0, "wrong body %s",
              str(params(got), "body"));
    json_decref(got);
    printf("e2e: bob came online, got alice's contact request, accepted it, and the message "
           "queued while he was offline arrived\n");

    /* 6. Peer ID taken: someone else holds alice's ID at the broker. */
    e2e_daemon_shutdown(&a);
    if (args.netcat != NULL) {
        e2e_proc nc;
        char *log = g_strdup_printf("%s/netcat.log", e2e_dir());
        const char *argv[] = {args.netcat, "--broker", broker_url, "--id",
                              a.peer_id,   "--listen", "--quiet",  NULL};
        E2E_CHECK(e2e_spawn(&nc, argv, NULL, log, -1) == 0, "netcat");
        int64_t until = e2e_now_us() + 10 * G_USEC_PER_SEC;
        for (;;) {
            char *t = e2e_read_file(log, NULL);
            int up = t != NULL && strstr(t, "READY") != NULL;
            g_free(t);
            if (up)
                break;
            E2E_CHECK(e2e_now_us() < until, "netcat did not register");
            g_usleep(20000);
        }
        e2e_daemon_start(&a);
        /* The netState notification may come before our RPC connection
         * does: status keeps the last broker error too. */
        json_t *f = e2e_rpc_wait(&a.rpc, "netState", "state", "failed", 15000);
        if (f != NULL) {
            E2E_CHECK(strcmp(str(params(f), "error"), "id-taken") == 0, "error %s",
                      str(params(f), "error"));
            printf("e2e: peer ID taken -> netState failed (id-taken): %s\n",
                   str(params(f), "detail"));
            json_decref(f);
        }
        json_t *s = e2e_rpc_ok(&a.rpc, "status", NULL);
        E2E_CHECK(strcmp(str(s, "net"), "failed") == 0, "status net %s", str(s, "net"));
        E2E_CHECK(strcmp(str(s, "netError"), "id-taken") == 0, "status netError %s",
                  str(s, "netError"));
        printf("e2e: peer ID taken -> status net failed (id-taken): %s\n", str(s, "netDetail"));
        json_decref(s);
        e2e_daemon_shutdown(&a);
        e2e_stop(&nc, 5000);
        g_free(log);
    }

    /* 7. Unreachable broker: the daemon runs, says why, queues messages,
     * and registers once a broker appears on that port. */
    int dead_port = e2e_free_port();
    char *cfg = e2e_read_file(a.config, NULL);
    char *moved = g_strdup_printf("broker=ws://127.0.0.1:%d/", dead_port);
    char **lines = g_strsplit(cfg, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        if (g_str_has_prefix(*l, "broker=")) {
            g_free(*l);
            *l = g_strdup(moved);
        }
    }
    char *newcfg = g_strjoinv("\n", lines);
    E2E_CHECK(g_file_set_contents(a.config, newcfg, -1, NULL), "write config");
    g_strfreev(lines);
    g_free(newcfg);
    g_free(moved);
    g_free(cfg);
    e2e_daemon_start(&a);
    json_t *r = e2e_rpc_wait(&a.rpc, "netState", "error", "broker-unreachable", 15000);
    E2E_CHECK(r != NULL, "no broker-unreachable notification");
    printf("e2e: unreachable broker -> netState %s (broker-unreachable): %s\n",
           str(params(r), "state"), str(params(r), "detail"));
    json_decref(r);
    json_t *q = e2e_rpc_ok(&a.rpc, "send",
                           json_pack("{s:s,s:s}", "peer", b.peer_id, "text", "no broker yet"));
    E2E_CHECK(strcmp(str(q, "status"), "queued") == 0, "status %s", str(q, "status"));
    json_decref(q);
    e2e_proc broker2;
    E2E_CHECK(e2e_start_broker(&broker2, &args, dead_port, NULL) == 0, "second broker");
    expect_note(&a, "netState", "state", "registered", 20000,
                "alice did not register once the broker came up");
    printf("e2e: ... and registered once a broker listened there\n");
    e2e_daemon_shutdown(&a);

    /* 8. A corrupted vault: a clear message, no crash. Damage a copy. */
    char *copy = g_strdup_printf("%s.good", a.vault);
    size_t vlen = 0;
    char *vault = e2e_read_file(a.vault, &vlen);
    E2E_CHECK(vault != NULL && vlen > 512, "vault size %zu", vlen);
    E2E_CHECK(g_file_set_contents(copy, vault, (gssize)vlen, NULL), "copy");
    for (size_t i = 100; i < 400; i++)
        vault[i] ^= 0x5a; /* the SQLite header page: the vault's header row */
    E2E_CHECK(g_file_set_contents(a.vault, vault, (gssize)vlen, NULL), "corrupt");
    out = e2e_daemon_start_fail(&a, a.pass, &st);
    E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "corrupted vault: status %d: %s", st, out);
    E2E_CHECK(strstr(out, "damaged") != NULL || strstr(out, "not an enkrypt vault") != NULL,
              "corrupted vault: %s", out);
    printf("e2e: corrupted vault -> %s", strstr(out, "enkrypt: "));
    g_free(out);
    /* A vault cut short. */
    E2E_CHECK(g_file_set_contents(a.vault, vault, 300, NULL), "truncate");
    out = e2e_daemon_start_fail(&a, a.pass, &st);
    E2E_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "truncated vault: status %d: %s", st, out);
    printf("e2e: truncated vault -> %s", strstr(out, "enkrypt: "));
    g_free(out);
    g_free(vault);
    /* Put the good copy back: everything is still there. */
    char *good = e2e_read_file(copy, &vlen);
    E2E_CHECK(g_file_set_contents(a.vault, good, (gssize)vlen, NULL), "restore");
    g_free(good);
    (void)unlink(copy);
    g_free(copy);
    e2e_daemon_start(&a);
    json_t *h =
        e2e_rpc_ok(&a.rpc, "history", json_pack("{s:s,s:i}", "peer", b.peer_id, "limit", 0));
    E2E_CHECK(json_array_size(h) == 2, "alice's history after all that: %zu messages",
              json_array_size(h));
    json_decref(h);

    e2e_daemon_shutdown(&a);
    e2e_daemon_shutdown(&b);
    e2e_daemon_free(&a);
    e2e_daemon_free(&b);
    e2e_stop(&broker2, 5000);
    e2e_stop(&broker, 5000);
    g_free(broker_url);
    return 0;
}

/* ---- wire ---- */

/* Does any file under dir (recursively; skip: a file name to ignore)
 * contain needle? Returns the first such path (g_free) or NULL. */
static char *find_in_files(const char *dir, const char *needle, const char *skip1,
                           const char *skip2)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    char *found = NULL;
    while (found == NULL && d != NULL && (n = g_dir_read_name(d)) != NULL) {
        char *p = g_build_filename(dir, n, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
            found = find_in_files(p, needle, skip1, skip2);
        } else if (strcmp(n, skip1) != 0 && strcmp(n, skip2) != 0 &&
                   !g_file_test(p, G_FILE_TEST_IS_SYMLINK)) {
            size_t len = 0;
            char *data = e2e_read_file(p, &len);
            if (data != NULL && memmem(data, len, needle, strlen(needle)) != NULL)
                found = g_strdup(p);
            g_free(data);
        }
        g_free(p);
    }
    if (d != NULL)
        g_dir_close(d);
    return found;
}

static int test_wire(void)
{
    if (args.tcpdump == NULL || geteuid() != 0) {
        printf("SKIP: capturing on the loopback needs tcpdump and root\n");
        return 77;
    }
    start_broker();
    char *pcap = g_strdup_printf("%s/lo.pcap", e2e_dir());
    char *log = g_strdup_printf("%s/tcpdump.log", e2e_dir());
    /* All UDP on lo (the ICE ports are random) and the broker's TCP port. */
    int bport = 0;
    E2E_CHECK(sscanf(broker_url, "ws://127.0.0.1:%d/", &bport) == 1, "%s", broker_url);
    char *filter = g_strdup_printf("udp or (tcp port %d)", bport);
    e2e_proc td;
    const char *argv[] = {args.tcpdump, "-i", "lo", "-n",   "-U", "-s",
                          "0",          "-w", pcap, filter, NULL};
    E2E_CHECK(e2e_spawn(&td, argv, NULL, log, -1) == 0, "tcpdump");
    int64_t until = e2e_now_us() + 10 * G_USEC_PER_SEC;
    for (;;) {
        char *t = e2e_read_file(log, NULL);
        int up = t != NULL && strstr(t, "listening on") != NULL;
        g_free(t);
        if (up)
            break;
        int st = 0;
        if (waitpid(td.pid, &st, WNOHANG) == td.pid) {
            char *t2 = e2e_read_file(log, NULL);
            printf("SKIP: tcpdump cannot capture here: %s\n", t2 != NULL ? t2 : "");
            g_free(t2);
            return 77;
        }
        E2E_CHECK(e2e_now_us() < until, "tcpdump did not start");
        g_usleep(20000);
    }
    e2e_daemon a, b;
    e2e_daemon_init(&a, &args, "alice", broker_url, 0);
    e2e_daemon_init(&b, &args, "bob", broker_url, 0);
    e2e_daemon_start(&a);
    e2e_daemon_start(&b);
    e2e_connect_pair(&a, &b);
    char *tag = random_tag();
    stream ss[2];
    stream_init(&ss[0], &a, &b, "wire-secret-a2b", tag, 100, 10);
    stream_init(&ss[1], &b, &a, "wire-secret-b2a", tag, 100, 10);
    e2e_daemon *ds[2] = {&a, &b};
    stream_run(ss, 2, ds, 2, 1, 60000);
    g_usleep(300 * 1000); /* let the last packets reach the capture */
    kill(td.pid, SIGINT);
    E2E_CHECK(e2e_wait(&td, 10000) != -1, "tcpdump did not stop");
    size_t len = 0;
    char *cap = e2e_read_file(pcap, &len);
    E2E_CHECK(cap != NULL, "no capture file");
    /* The capture holds the traffic: the signaling (plain ws on the
     * broker's port) names both peers, and there are many more bytes than
     * the texts. */
    E2E_CHECK(memmem(cap, len, a.peer_id, strlen(a.peer_id)) != NULL &&
                  memmem(cap, len, b.peer_id, strlen(b.peer_id)) != NULL,
              "the capture does not hold the signaling: capture broken");
    E2E_CHECK(len > 200 * 40, "the capture is too small (%zu bytes)", len);
    int found = 0;
    for (int i = 0; i < 100; i++) {
        for (int d = 0; d < 2; d++) {
            char *body =
                g_strdup_printf("%s %04d %s", d ? "wire-secret-b2a" : "wire-secret-a2b", i, tag);
            if (memmem(cap, len, body, strlen(body)) != NULL)
                found++;
            g_free(body);
        }
    }
    /* Nor any piece: the tag, and the common prefix. */
    int tag_seen = memmem(cap, len, tag, strlen(tag)) != NULL;
    int prefix_seen = memmem(cap, len, "wire-secret", 11) != NULL;
    E2E_CHECK(found == 0 && !tag_seen && !prefix_seen,
              "plaintext on the wire: %d messages, tag %d, prefix %d", found, tag_seen,
              prefix_seen);
    printf("e2e: captured %zu bytes on lo (UDP + broker TCP) while 200 messages flowed: none of "
           "the texts, their tag or prefix is in it\n",
           len);
    g_free(cap);
    e2e_daemon_shutdown(&a);
    e2e_daemon_shutdown(&b);
    /* Nor on disk: every file the daemons and the broker wrote (vaults,
     * WAL, config, logs), all but the capture itself. */
    char *hit = find_in_files(e2e_dir(), tag, "lo.pcap", "tcpdump.log");
    E2E_CHECK(hit == NULL, "the message tag is in plaintext in %s", hit);
    hit = find_in_files(e2e_dir(), "wire-secret", "lo.pcap", "tcpdump.log");
    E2E_CHECK(hit == NULL, "a message text is in plaintext in %s", hit);
    printf("e2e: ... and none of them is in any file under the test's directory (vaults, WAL, "
           "config, logs)\n");
    stream_free(&ss[0]);
    stream_free(&ss[1]);
    g_free(tag);
    g_free(pcap);
    g_free(log);
    g_free(filter);
    g_free(td.log);
    e2e_daemon_free(&a);
    e2e_daemon_free(&b);
    e2e_stop(&broker, 5000);
    g_free(broker_url);
    return 0;
}

/* ---- embedded broker ---- */

static int test_embedded(void)
{
    int port = e2e_free_port();
    e2e_daemon a, b;
    e2e_daemon_init(&a, &args, "alice", NULL, port);
    e2e_daemon_init(&b, &args, "bob", NULL, port);
    e2e_daemon_start(&a);
    expect_note(&a, "netState", "state", "registered", 20000,
                "alice did not register with her embedded broker");
    e2e_daemon_start(&b);
    expect_note(&b, "netState", "state", "registered", 20000,
                "bob did not register with alice's embedded broker");
    json_t *s = e2e_rpc_ok(&b.rpc, "status", NULL);
    E2E_CHECK(json_is_true(json_object_get(s, "brokerEmbedded")), "bob: brokerEmbedded false");
    printf("e2e: embedded broker: %s (alice started it, bob uses it)\n", str(s, "broker"));
    json_decref(s);
    e2e_connect_pair(&a, &b);
    json_decref(
        e2e_rpc_ok(&a.rpc, "send", json_pack("{s:s,s:s}", "peer", b.peer_id, "text", "via local")));
    json_t *m = e2e_rpc_wait(&b.rpc, "message", "peer", a.peer_id, 20000);
    E2E_CHECK(m != NULL, "no message through the embedded broker");
    json_decref(m);
    /* Alice quits, and her broker with her: bob starts his own. */
    e2e_daemon_shutdown(&a);
    int64_t until = e2e_now_us() + 20 * G_USEC_PER_SEC;
    for (;;) {
        json_t *r = e2e_rpc_wait(&b.rpc, "netState", "state", "registered", 1000);
        if (r != NULL) {
            json_decref(r);
            break;
        }
        E2E_CHECK(e2e_now_us() < until, "bob did not take over the embedded broker");
    }
    e2e_daemon_start(&a);
    json_t *ready = wait_state(&b, a.peer_id, "ready", 30000);
    E2E_CHECK(ready != NULL, "alice and bob did not meet again on bob's broker");
    json_decref(ready);
    json_decref(e2e_rpc_ok(&b.rpc, "send",
                           json_pack("{s:s,s:s}", "peer", a.peer_id, "text", "still here")));
    m = e2e_rpc_wait(&a.rpc, "message", "peer", b.peer_id, 20000);
    E2E_CHECK(m != NULL, "no message after the broker moved");
    json_decref(m);
    printf("e2e: alice quit with her broker; bob started his own on the same port; they met "
           "again\n");
    e2e_daemon_shutdown(&a);
    e2e_daemon_shutdown(&b);
    e2e_daemon_free(&a);
    e2e_daemon_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s chat|restart|badinput|wire|embedded --enkrypt PATH ...\n",
                argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    e2e_init(&args, argc - 1, argv + 1, 115);
    int rc;
    if (strcmp(mode, "chat") == 0)
        rc = test_chat();
    else if (strcmp(mode, "restart") == 0)
        rc = test_restart();
    else if (strcmp(mode, "badinput") == 0)
        rc = test_badinput();
    else if (strcmp(mode, "wire") == 0)
        rc = test_wire();
    else if (strcmp(mode, "embedded") == 0)
        rc = test_embedded();
    else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    if (rc == 0) {
        e2e_cleanup_scratch();
        printf("PASS e2e.%s\n", mode);
    }
    return rc;
}
