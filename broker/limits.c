/*
 * limits.c: per-address bounds, so that one host cannot take the broker.
 *
 * Each client address has a connection count and a token bucket of
 * messages (ip_message_rate per second, ip_message_burst deep), shared by
 * all of that address's connections. IPv6 clients are grouped by /64,
 * because one host is routinely given a whole /64. An entry lives while the
 * address has a connection.
 */
#define _DEFAULT_SOURCE

#include "broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct bk_ip {
    unsigned char addr[16];
    unsigned conns;
    int64_t millitokens; /* one message costs 1000 */
    int64_t refilled_ms;
} bk_ip;

static const void *ip_key(const void *value, size_t *len)
{
    *len = 16;
    return ((const bk_ip *)value)->addr;
}

int bk_limits_init(bk_broker *b)
{
    return bk_table_init(&b->ips, ip_key);
}

void bk_limits_free(bk_broker *b)
{
    for (size_t i = 0; i < b->ips.cap; i++)
        free(b->ips.slots[i].value);
    bk_table_free(&b->ips);
}

static void map_v4(unsigned char out[16], const void *v4)
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

/* Parse the last X-Forwarded-For entry: the address our own proxy saw. */
static int addr_from_xff(struct lws *wsi, unsigned char addr[16])
{
    char buf[512];
    int n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_X_FORWARDED_FOR);
    if (n <= 0)
        return -1;
    char *last = strrchr(buf, ',');
    last = last ? last + 1 : buf;
    while (*last == ' ' || *last == '\t')
        last++;
    size_t len = strcspn(last, " \t");
    last[len] = '\0';
    unsigned char v4[4];
    if (inet_pton(AF_INET, last, v4) == 1) {
        map_v4(addr, v4);
        return 0;
    }
    return inet_pton(AF_INET6, last, addr) == 1 ? 0 : -1;
}

void bk_limits_client_addr(const bk_broker *b, struct lws *wsi, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (b->cfg.proxied && addr_from_xff(wsi, addr) == 0)
        goto group;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    lws_sockfd_type fd = lws_get_socket_fd(wsi);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl))
        return; /* all-zero: counted as one unknown address */
    if (ss.ss_family == AF_INET)
        map_v4(addr, &((struct sockaddr_in *)&ss)->sin_addr);
    else if (ss.ss_family == AF_INET6)
        memcpy(addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
group:
    /* IPv6 (not v4-mapped): count the /64. */
    if (!(addr[10] == 0xff && addr[11] == 0xff && !memcmp(addr, "\0\0\0\0\0\0\0\0\0\0", 10)))
        memset(addr + 8, 0, 8);
}

int bk_limits_attach(bk_broker *b, bk_client *c, const unsigned char addr[16])
{
    bk_ip *ip = bk_table_get(&b->ips, addr, 16);
    if (!ip) {
        ip = calloc(1, sizeof *ip);
        if (!ip)
            return -1;
        memcpy(ip->addr, addr, 16);
        ip->millitokens = (int64_t)b->cfg.ip_message_burst * 1000;
        ip->refilled_ms = bk_now_ms();
        if (bk_table_put(&b->ips, ip)) {
            free(ip);
            return -1;
        }
    }
    c->ip = ip;
    ip->conns++;
    if (b->cfg.max_connections_per_ip && ip->conns > b->cfg.max_connections_per_ip)
        return -1; /* still attached: detach at close keeps the count right */
    return 0;
}

void bk_limits_detach(bk_broker *b, bk_client *c)
{
    bk_ip *ip = c->ip;
    if (!ip)
        return;
    c->ip = NULL;
    if (--ip->conns == 0) {
        bk_table_del(&b->ips, ip);
        free(ip);
    }
}

bool bk_limits_allow_message(bk_broker *b, bk_client *c, int64_t now_ms)
{
    bk_ip *ip = c->ip;
    if (!b->cfg.ip_message_rate || !ip)
        return true;
    int64_t cap = (int64_t)b->cfg.ip_message_burst * 1000;
    int64_t elapsed = now_ms - ip->refilled_ms;
    if (elapsed > 0) {
        ip->millitokens += elapsed * (int64_t)b->cfg.ip_message_rate;
        if (ip->millitokens > cap)
            ip->millitokens = cap;
        ip->refilled_ms = now_ms;
    }
    if (ip->millitokens < 1000)
        return false;
    ip->millitokens -= 1000;
    return true;
}
