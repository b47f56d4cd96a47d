/*
 * e2e_harness.h: what the end-to-end tests of the enkrypt program share:
 * a scratch directory with its own XDG dirs, enkrypt-broker on 127.0.0.1,
 * enkrypt daemons (init, config, start, kill -9, restart), and a JSON-RPC
 * client for their Unix sockets. Children die with the test
 * (PR_SET_PDEATHSIG) and every wait has a deadline.
 */
#ifndef EK_E2E_HARNESS_H
#define EK_E2E_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>
#include <jansson.h>

/* Fail the test: print where and why, kill the children, exit 1. */
#define E2E_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            e2e_fail();                                                                            \
        }                                                                                          \
    } while (0)

void e2e_fail(void) G_GNUC_NORETURN;

typedef struct e2e_args {
    const char *enkrypt; /* the enkrypt program */
    const char *broker;  /* enkrypt-broker */
    const char *netcat;  /* enkrypt-netcat (ID-taken case) */
    const char *tcpdump; /* tcpdump or NULL */
    const char *lsan_supp;
    int messages; /* --messages N: how many each way (chat; restart uses 3/5) [1000] */
} e2e_args;

void e2e_init(e2e_args *a, int argc, char **argv, unsigned deadline_s);
const char *e2e_dir(void); /* the scratch directory */
int64_t e2e_now_us(void);

/* ---- processes ---- */

typedef struct e2e_proc {
    pid_t pid;
    char *log;
} e2e_proc;

/* argv with extra environment (NULL-terminated "K=V" list or NULL);
 * stdout+stderr to log (appended); extra_fd >= 0 is kept open in the child
 * under the same number. */
int e2e_spawn(e2e_proc *p, const char *const *argv, const char *const *env, const char *log,
              int extra_fd);
/* SIGKILL without waiting for a clean exit, then reap. */
void e2e_kill9(e2e_proc *p);
/* SIGTERM, wait up to timeout_ms (then SIGKILL); the exit status (waitpid
 * form) or -1. Frees p->log. */
int e2e_stop(e2e_proc *p, unsigned timeout_ms);
/* Wait up to timeout_ms for exit; the status or -1 on timeout. */
int e2e_wait(e2e_proc *p, unsigned timeout_ms);
/* Run argv to the end; output in *out (stdout+stderr, g_free); returns
 * the exit status (waitpid form), -1 on timeout. */
int e2e_run(const char *const *argv, const char *const *env, char **out, unsigned timeout_ms);

/* enkrypt-broker on 127.0.0.1 (port 0: a free one); *port receives it. */
int e2e_start_broker(e2e_proc *p, const e2e_args *a, int port, int *port_out);
int e2e_free_port(void);
char *e2e_read_file(const char *path, size_t *len);

/* ---- JSON-RPC client ---- */

typedef struct e2e_rpc {
    int fd;
    char *name;
    GString *buf;
    GQueue notes; /* json_t * notifications not consumed yet */
    int next_id;
} e2e_rpc;

int e2e_rpc_connect(e2e_rpc *c, const char *path, const char *name, unsigned timeout_ms);
void e2e_rpc_close(e2e_rpc *c);
/* Send a request; returns its id. params is stolen (may be NULL). */
int e2e_rpc_send(e2e_rpc *c, const char *method, json_t *params);
/* Send a raw line (for malformed-input cases). */
void e2e_rpc_send_raw(e2e_rpc *c, const char *line);
/* Read what is available (wait up to timeout_ms for the first byte);
 * 0 ok, -1 EOF or error. */
int e2e_rpc_fill(e2e_rpc *c, unsigned timeout_ms);
/* The next complete message already read, or NULL. */
json_t *e2e_rpc_next(e2e_rpc *c);
/* Call and wait for the response (notifications are queued). Returns the
 * whole response object (owned). */
json_t *e2e_rpc_call(e2e_rpc *c, const char *method, json_t *params, unsigned timeout_ms);
/* Call; the test fails on an error; returns the result (owned). */
json_t *e2e_rpc_ok(e2e_rpc *c, const char *method, json_t *params);
/* Call; the test fails unless it is an error; returns error.data.name (or
 * the code as text) and the message in *message (g_free). */
char *e2e_rpc_err(e2e_rpc *c, const char *method, json_t *params, char **message);
/* Wait for a notification of `method` whose params[key] equals val (key
 * NULL: any); queued ones first. NULL on timeout. Owned. */
json_t *e2e_rpc_wait(e2e_rpc *c, const char *method, const char *key, const char *val,
                     unsigned timeout_ms);
/* Drop queued notifications. */
void e2e_rpc_clear(e2e_rpc *c);

/* ---- daemons ---- */

typedef struct e2e_daemon {
    const e2e_args *args;
    char *profile;
    char *peer_id;
    char *sock;
    char *config;
    char *vault;
    char *pass;
    e2e_proc proc;
    e2e_rpc rpc;
    int starts;
} e2e_daemon;

/* enkrypt init (passphrase on an fd), then write the test config: broker
 * (NULL: none, embedded on embedded_port), 127.0.0.1 only, short pings. */
void e2e_daemon_init(e2e_daemon *d, const e2e_args *a, const char *profile, const char *broker_url,
                     int embedded_port);
/* Start the daemon (passphrase on --passphrase-fd) and connect to its
 * socket. */
void e2e_daemon_start(e2e_daemon *d);
/* Start with another passphrase and expect it to exit with an error;
 * returns its output (g_free). */
char *e2e_daemon_start_fail(e2e_daemon *d, const char *pass, int *status);
/* "shutdown" over RPC and wait for exit 0. */
void e2e_daemon_shutdown(e2e_daemon *d);
void e2e_daemon_kill9(e2e_daemon *d);
void e2e_daemon_free(e2e_daemon *d);

/* Make b accept everyone, a connect to b; wait until both are ready.
 * Returns connect->ready in ms (a's clock: connect sent -> a's ready). */
double e2e_connect_pair(e2e_daemon *a, e2e_daemon *b);

/* Remove the scratch directory (after success; E2E_KEEP=1 keeps it). */
void e2e_cleanup_scratch(void);

/* Sorting helper for latencies. */
double e2e_percentile(double *v, size_t n, double p);

#endif /* EK_E2E_HARNESS_H */
