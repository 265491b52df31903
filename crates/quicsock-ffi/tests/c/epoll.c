/*
 * A C program that drives many non-blocking QUIC sockets with epoll, as an event-driven
 * server or client does: N connections, each sends a 64 KiB message on a stream and
 * reads back the echo, all at once through one epoll set (level-triggered for reading,
 * EPOLLOUT while a send is unfinished).
 *
 *   epoll server ADDR CERT KEY    prints "port N", echoes on every connection
 *   epoll client ADDR PORT N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/quic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define ALPN "echo"
#define MESSAGE (64 * 1024)
#define MAX_CONNS 1024

static const char *cert, *key;

static int fail(const char *what, int err)
{
	fprintf(stderr, "epoll: %s: %s\n", what, strerror(err));
	return 1;
}

static void *echo(void *arg)
{
	int fd = (int)(long)arg;
	static __thread char buf[MESSAGE];

	if (quic_server_handshake(fd, key, cert, ALPN)) {
		close(fd);
		return NULL;
	}
	for (;;) {
		int64_t sid;
		uint32_t flags = 0;
		ssize_t n = quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);

		if (n < 0)
			break;
		if (quic_sendmsg(fd, buf, n, sid, flags & MSG_QUIC_STREAM_FIN) < 0)
			break;
	}
	close(fd);
	return NULL;
}

static int server(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int lfd;

	inet_pton(AF_INET, ip, &a.sin_addr);
	lfd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (lfd < 0 || setsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_ALPN, ALPN, strlen(ALPN)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, MAX_CONNS) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len))
		return fail("listen", errno);
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			return fail("accept", errno);
		pthread_create(&t, NULL, echo, (void *)(long)fd);
		pthread_detach(t);
	}
}

struct conn {
	int fd;
	int64_t sid;
	size_t sent, got;
	int done;
};

static char pattern(size_t i, int conn)
{
	return (char)(i * 7 + conn * 13);
}

static int client(const char *ip, int port, int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	static struct conn conns[MAX_CONNS];
	static char out[MESSAGE], in[MESSAGE];
	int ep = epoll_create1(0), finished = 0, wakeups = 0;

	if (n > MAX_CONNS)
		return fail("connections", E2BIG);
	inet_pton(AF_INET, ip, &a.sin_addr);
	for (int i = 0; i < n; i++) {
		struct quic_stream_info s = { .stream_id = -1 };
		socklen_t len = sizeof(s);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = i };
		int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC), r;

		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fail("connect", errno);
		r = quic_client_handshake(fd, NULL, NULL, ALPN);
		if (r)
			return fail("quic_client_handshake", -r);
		if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &s, &len))
			return fail("STREAM_OPEN", errno);
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
			return fail("O_NONBLOCK", errno);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			return fail("epoll_ctl", errno);
		conns[i] = (struct conn){ .fd = fd, .sid = s.stream_id };
	}
	while (finished < n) {
		struct epoll_event evs[64];
		int k = epoll_wait(ep, evs, 64, 10000);

		if (k <= 0)
			return fail("epoll_wait", k == 0 ? ETIMEDOUT : errno);
		wakeups++;
		for (int e = 0; e < k; e++) {
			int i = evs[e].data.u32;
			struct conn *c = &conns[i];

			if ((evs[e].events & EPOLLOUT) && c->sent < MESSAGE) {
				ssize_t w;

				for (size_t j = 0; j < MESSAGE; j++)
					out[j] = pattern(j, i);
				w = quic_sendmsg(c->fd, out + c->sent, MESSAGE - c->sent, c->sid,
						 MSG_QUIC_STREAM_FIN);
				if (w < 0 && errno != EAGAIN)
					return fail("quic_sendmsg", errno);
				if (w > 0)
					c->sent += w;
				if (c->sent == MESSAGE) {
					struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			}
			if (evs[e].events & EPOLLIN) {
				for (;;) {
					int64_t sid;
					uint32_t flags = 0;
					ssize_t r = quic_recvmsg(c->fd, in, sizeof(in), &sid, &flags);

					if (r < 0 && errno == EAGAIN)
						break;
					if (r < 0)
						return fail("quic_recvmsg", errno);
					for (ssize_t j = 0; j < r; j++)
						if (in[j] != pattern(c->got + j, i)) {
							fprintf(stderr, "epoll: connection %d: byte %zu differs\n", i,
								c->got + j);
							return 1;
						}
					c->got += r;
					if (flags & MSG_QUIC_STREAM_FIN) {
						if (c->got != MESSAGE)
							return fail("short echo", EPROTO);
						c->done = 1;
						finished++;
						epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
						break;
					}
				}
			}
		}
	}
	for (int i = 0; i < n; i++)
		close(conns[i].fd);
	printf("%d connections echoed %d bytes each in %d epoll wakeups\n", n, MESSAGE, wakeups);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "server")) {
		cert = argv[3];
		key = argv[4];
		return server(argv[2]);
	}
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: %s server ADDR CERT KEY | client ADDR PORT N\n", argv[0]);
	return 2;
}
