/*
 * listen.c: the broker's listening socket, made and accepted by us.
 *
 * libwebsockets 4.1 binds a dual-stack socket to every address when it is
 * given an IPv4 literal as its interface, so --host 127.0.0.1 would listen
 * on the whole network. We bind exactly what --host names, watch the socket
 * through lws (as an adopted descriptor) and hand each accepted connection
 * to the vhost, which then does TLS, HTTP and the WebSocket upgrade.
 */
#define _GNU_SOURCE

#include "broker.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Accepted per readable event, so a connection storm cannot starve the
 * clients already connected. */
#define ACCEPT_BATCH 64

static int bind_one(const struct addrinfo *ai, int *port_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int one = 1, zero = 0;
    /* A restarted broker must be able to bind while old connections of the
     * previous process linger in TIME_WAIT. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
        close(fd);
        return -1;
    }
    /* Zeroed, so that the family read below is defined even where
     * getsockname wrote less than a whole address. */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *port_out = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *port_out = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

int bk_listen_open(const char *host, int port, int *port_out)
{
    struct addrinfo hints, *res = NULL;
    char service[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof service, "%d", port);
    /* No host: every address. Prefer the IPv6 wildcard, which also takes
     * IPv4 (V6ONLY off); fall back to 0.0.0.0 where IPv6 is off. */
    int rc = getaddrinfo(host && *host ? host : NULL, service, &hints, &res);
    if (rc) {
        fprintf(stderr, "enkrypt-broker: cannot resolve --host '%s': %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (int pass = 0; pass < 2 && fd < 0; pass++)
        for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            if ((pass == 0) != (ai->ai_family == AF_INET6))
                continue;
            fd = bind_one(ai, port_out);
            if (fd < 0)
                err = errno;
        }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "enkrypt-broker: cannot listen on %s port %d: %s\n",
                host && *host ? host : "*", port, strerror(err));
    return fd;
}

/* The listening socket is readable: take what is waiting. */
int bk_listen_accept(bk_broker *b, int listen_fd)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                bk_log(BK_LOG_WARN, "out of file descriptors: a connection waits");
            return 0;
        }
        if (b->stopping) {
            close(fd);
            continue;
        }
        /* Signaling is small request/response traffic: Nagle's algorithm
         * with delayed ACKs would add tens of milliseconds. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* lws closes the descriptor itself if it cannot adopt it. */
        if (!lws_adopt_socket_vhost(b->vhost, fd))
            bk_log(BK_LOG_WARN, "could not take a new connection");
    }
    return 0;
}
