/*
 * http.c: the HTTP routes under {path} (the reference's Express app) plus
 * /health and /metrics, with the reference's CORS behaviour: echo the
 * request's Origin (or only listed ones with --cors), always Vary: Origin,
 * and answer preflights with 204.
 */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "jscan.h"

static const char root_body[] =
    "{\"name\":\"PeerJS Server\",\"description\":\"A server side element to broker connections "
    "between PeerJS clients.\",\"website\":\"https://peerjs.com/\"}";

#define CT_JSON "application/json; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

static bk_broker *broker_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* Access-Control-Allow-Origin for this request, or "" for none. */
static void cors_origin(const bk_broker *b, struct lws *wsi, char *out, size_t cap)
{
    out[0] = '\0';
    if (lws_hdr_copy(wsi, out, (int)cap, WSI_TOKEN_ORIGIN) <= 0) {
        out[0] = '\0';
        return;
    }
    if (!b->cfg.n_cors)
        return;
    for (unsigned i = 0; i < b->cfg.n_cors; i++)
        if (!strcmp(out, b->cfg.cors[i]))
            return;
    out[0] = '\0';
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Write the status line and headers; the body (owned, may be NULL) follows
 * from the WRITEABLE callback. Returns what the lws callback should return. */
static int respond(struct lws *wsi, bk_http_req *req, unsigned status, const char *ctype,
                   char *body, size_t len, bool head_only)
{
    bk_broker *b = broker_of(wsi);
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    char origin[512];

    b->m.http_requests++;
    cors_origin(b, wsi, origin, sizeof origin);
    if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
        (origin[0] && add_header(wsi, "access-control-allow-origin:", origin, &p, end)) ||
        add_header(wsi, "vary:", "Origin", &p, end) ||
        add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        free(body);
        return -1;
    }
    if (head_only || !len) {
        free(body);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    req->body = body;
    req->len = len;
    req->off = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_static(struct lws *wsi, bk_http_req *req, unsigned status, const char *ctype,
                          const char *text, bool head_only)
{
    size_t n = strlen(text);
    char *body = malloc(n + 1);
    if (!body)
        return -1;
    memcpy(body, text, n + 1);
    return respond(wsi, req, status, ctype, body, n, head_only);
}

static int preflight(struct lws *wsi)
{
    bk_broker *b = broker_of(wsi);
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    char origin[512], req_headers[512];

    b->m.http_requests++;
    cors_origin(b, wsi, origin, sizeof origin);
    if (lws_hdr_copy(wsi, req_headers, sizeof req_headers, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS) <= 0)
        req_headers[0] = '\0';
    if (lws_add_http_common_headers(wsi, 204, NULL, 0, &p, end) ||
        (origin[0] && add_header(wsi, "access-control-allow-origin:", origin, &p, end)) ||
        add_header(wsi, "access-control-allow-methods:", "GET,HEAD,PUT,PATCH,POST,DELETE", &p,
                   end) ||
        (req_headers[0] &&
         add_header(wsi, "access-control-allow-headers:", req_headers, &p, end)) ||
        add_header(wsi, "vary:", "Origin, Access-Control-Request-Headers", &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A random UUID v4 that is not a connected peer's ID (as the reference). */
static int new_id(bk_broker *b, char out[37])
{
    for (int tries = 0; tries < 8; tries++) {
        unsigned char u[16];
        if (RAND_bytes(u, sizeof u) != 1)
            return -1;
        u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
        u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                 u[13], u[14], u[15]);
        if (!bk_registry_find(b, out, 36))
            return 0;
    }
    return -1;
}

/* ["id1","id2",...] of every registered peer. */
static char *peer_list(bk_broker *b, size_t *len)
{
    size_t cap = 2;
    for (size_t i = 0; i < b->peers.cap; i++) {
        const bk_client *c = b->peers.slots[i].value;
        if (c)
            cap += bk_json_escaped_len(c->id, c->id_len) + 1;
    }
    char *out = malloc(cap + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    out[n++] = '[';
    for (size_t i = 0; i < b->peers.cap; i++) {
        const bk_client *c = b->peers.slots[i].value;
        if (!c)
            continue;
        if (n > 1)
            out[n++] = ',';
        n += bk_json_escape(out + n, c->id, c->id_len);
    }
    out[n++] = ']';
    out[n] = '\0';
    *len = n;
    return out;
}

static int route(struct lws *wsi, bk_http_req *req, const char *uri)
{
    bk_broker *b = broker_of(wsi);
    const bk_config *cfg = &b->cfg;
    bool head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
    bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;

    if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0)
        return preflight(wsi);
    if (!get && !head)
        return respond_static(wsi, req, 404, CT_TEXT, "Not Found", false);

    if (cfg->metrics && !strcmp(uri, "/health")) {
        char body[160];
        snprintf(body, sizeof body, "{\"status\":\"%s\",\"connections\":%llu,\"peers\":%zu}",
                 b->stopping ? "stopping" : "ok", (unsigned long long)b->m.connections,
                 b->peers.count);
        return respond_static(wsi, req, b->stopping ? 503 : 200, CT_JSON, body, head);
    }
    if (cfg->metrics && !strcmp(uri, "/metrics")) {
        size_t len;
        char *body = bk_metrics_render(b, &len);
        if (!body)
            return -1;
        return respond(wsi, req, 200, CT_PROM, body, len, head);
    }

    /* {path} itself, with or without its trailing slash (Express's
     * non-strict routing). */
    size_t plen = strlen(cfg->path);
    if (!strcmp(uri, cfg->path) ||
        (plen > 1 && strlen(uri) == plen - 1 && !strncmp(uri, cfg->path, plen - 1)))
        return respond_static(wsi, req, 200, CT_JSON, root_body, head);

    if (strncmp(uri, cfg->path, plen) != 0)
        return respond_static(wsi, req, 404, CT_TEXT, "Not Found", head);
    const char *rest = uri + plen; /* "{key}/id" or "{key}/peers" */
    const char *slash = strchr(rest, '/');
    /* Unlike the reference, the key must be right (docs/broker.md). */
    if (!slash || (size_t)(slash - rest) != strlen(cfg->key) ||
        strncmp(rest, cfg->key, strlen(cfg->key)) != 0)
        return respond_static(wsi, req, 404, CT_TEXT, "Not Found", head);
    const char *what = slash + 1;
    if (!strcmp(what, "id") || !strcmp(what, "id/")) {
        char id[37];
        if (cfg->auth == BK_AUTH_REQUIRED)
            return respond_static(wsi, req, 404, CT_TEXT,
                                  "Authenticated mode: clients choose their own ek- ID", head);
        if (new_id(b, id))
            return -1;
        return respond_static(wsi, req, 200, CT_HTML, id, head);
    }
    if (!strcmp(what, "peers") || !strcmp(what, "peers/")) {
        if (!cfg->allow_discovery)
            return respond_static(wsi, req, 401, CT_TEXT, "Unauthorized", head);
        size_t len;
        char *body = peer_list(b, &len);
        if (!body)
            return -1;
        return respond(wsi, req, 200, CT_JSON, body, len, head);
    }
    return respond_static(wsi, req, 404, CT_TEXT, "Not Found", head);
}

static int write_body(struct lws *wsi, bk_http_req *req)
{
    unsigned char buf[LWS_PRE + 16384];
    if (!req->body)
        return 0;
    size_t n = req->len - req->off;
    if (n > sizeof buf - LWS_PRE)
        n = sizeof buf - LWS_PRE;
    memcpy(buf + LWS_PRE, req->body + req->off, n);
    req->off += n;
    bool last = req->off == req->len;
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(req->body);
    req->body = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int bk_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    bk_http_req *req = user;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        free(req->body);
        memset(req, 0, sizeof *req);
        return route(wsi, req, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* bodies are not used by any route; the answer was sent */
    case LWS_CALLBACK_HTTP_WRITEABLE: return write_body(wsi, req);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        free(req->body);
        req->body = NULL;
        return 0;
    default: return 0;
    }
}
