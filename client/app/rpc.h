/*
 * rpc.h: the JSON-RPC 2.0 server of `enkrypt daemon --rpc PATH`: a Unix
 * stream socket, one JSON object (or batch array) per line each way, in
 * the manner of signal-cli's daemon. Requests call the core (core.h);
 * core events go to every connected client as notifications. The methods,
 * notifications and error codes are documented in docs/rpc.md.
 */
#ifndef EK_APP_RPC_H
#define EK_APP_RPC_H

#include <glib.h>

#include "core.h"

typedef struct ek_rpc ek_rpc;
typedef void (*ek_rpc_shutdown_fn)(void *user);

/* Listen on path (a stale socket file is replaced; a live one is an
 * error). The socket is created with mode 0600. on_shutdown runs (from
 * the main loop) when a client calls "shutdown". */
ek_rpc *ek_rpc_new(ek_app *app, const char *path, ek_rpc_shutdown_fn on_shutdown, void *user,
                   GError **err);
/* Close every client, remove the socket file, free. */
void ek_rpc_free(ek_rpc *rpc);
/* Send ev to every client as a notification. */
void ek_rpc_notify(ek_rpc *rpc, const ek_app_event *ev);

/* Handle one request line (for tests and the server): returns the
 * response line (without newline; g_free) or NULL for a notification. */
char *ek_rpc_handle_line(ek_rpc *rpc, const char *line, size_t len);

#endif /* EK_APP_RPC_H */
