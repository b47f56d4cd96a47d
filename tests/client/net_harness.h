/*
 * net_harness.h: what the client/net network tests share: starting the
 * servers a test needs on 127.0.0.1 (enkrypt-broker, the reference
 * peer@1.0.2, coturn) and stopping them, free ports, running the GLib main
 * loop until a condition holds or a deadline passes, and the process's
 * thread count and RSS. Children get SIGTERM if the test dies
 * (PR_SET_PDEATHSIG), so nothing outlives a crashed test.
 */
#ifndef EK_NET_HARNESS_H
#define EK_NET_HARNESS_H

#include <stddef.h>

#include <glib.h>

typedef struct nh_proc {
    GPid pid;
    int port;
    char *log_path; /* stdout+stderr of the child, or NULL */
    char *dir;      /* a scratch directory removed at stop, or NULL */
    int status;     /* after nh_stop: the exit code, or 128 + the signal that killed it */
} nh_proc;

/* Arguments every test program takes:
 *   --server broker|peerjs  --broker PATH  --node PATH  --node-dir DIR
 *   --turnserver PATH  --netcat PATH */
typedef struct nh_args {
    const char *server;
    const char *broker;
    const char *node;
    const char *node_dir;
    const char *turnserver;
    const char *netcat;
} nh_args;

void nh_parse_args(nh_args *a, int argc, char **argv);

/* Start the signaling server named by a->server on a free port (port 0) or
 * the given port. expire_ms: the queued-message expiry (EXPIRE); alive_ms:
 * how long the server keeps a client without HEARTBEAT (0: its default). */
int nh_start_signaling(nh_proc *p, const nh_args *a, int port, int expire_ms, int alive_ms);
/* coturn on 127.0.0.1:port with the static user user:pass, relays on
 * 127.0.0.1 (--allow-loopback-peers), logging to p->log_path (session
 * events; with extra_verbose every request, e.g. STUN BINDINGs). */
int nh_start_coturn(nh_proc *p, const nh_args *a, const char *user, const char *pass,
                    int extra_verbose);
/* Any program, stdout/stderr to a log file in a scratch dir. */
int nh_spawn(nh_proc *p, const char *const *argv);
/* SIGTERM, then SIGKILL after 3 s; waits (p->status); removes the scratch dir. */
void nh_stop(nh_proc *p);
/* SIGSTOP / SIGCONT / SIGKILL without waiting. */
void nh_signal(nh_proc *p, int sig);

/* A port free for both TCP and UDP on 127.0.0.1 right now. */
int nh_free_port(void);

/* Iterate the default main context until cond(user) is true or timeout_ms
 * passes; returns cond's last value. */
int nh_run_until(int (*cond)(void *), void *user, unsigned timeout_ms);
/* Iterate for ms milliseconds. */
void nh_run_for(unsigned ms);

/* Threads and resident memory of this process (from /proc/self/status). */
unsigned nh_threads(void);
size_t nh_rss_kb(void);

/* Read a child's log (g_free). */
char *nh_read_log(const nh_proc *p);

#endif
