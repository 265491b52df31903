/*
 * A Linux QUIC program as its users write them: a server that accepts one connection,
 * runs the TLS handshake with libquic's quic_server_handshake, reads a message and
 * answers it on the same stream; a client that connects, runs quic_client_handshake,
 * sends and reads the answer. It knows nothing of quicsock.
 *
 *   sample server ADDR CERT KEY      prints "port N" once listening
 *   sample client ADDR PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/quic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALPN "sample"

static int fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	return 1;
}

static int addr_of(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return AF_INET6;
	}
	return -1;
}

static int server(const char *ip, const char *cert, const char *key)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char msg[256];
	int64_t sid = 0;
	uint32_t flags = 0;
	int family = addr_of(ip, 0, &ss, &len);
	int lfd, fd, ret;

	lfd = socket(family, SOCK_DGRAM, IPPROTO_QUIC);
	if (lfd < 0)
		return fail("socket");
	if (setsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_ALPN, ALPN, strlen(ALPN)))
		return fail("setsockopt ALPN");
	if (bind(lfd, (struct sockaddr *)&ss, len))
		return fail("bind");
	if (listen(lfd, 1))
		return fail("listen");
	len = sizeof(ss);
	if (getsockname(lfd, (struct sockaddr *)&ss, &len))
		return fail("getsockname");
	printf("port %d\n", ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port));
	fflush(stdout);

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("accept");
	ret = quic_server_handshake(fd, key, cert, ALPN);
	if (ret) {
		errno = -ret;
		return fail("quic_server_handshake");
	}
	ret = quic_recvmsg(fd, msg, sizeof(msg) - 1, &sid, &flags);
	if (ret < 0)
		return fail("quic_recvmsg");
	msg[ret] = '\0';
	printf("server got \"%s\" on stream %lld%s\n", msg, (long long)sid,
	       (flags & MSG_QUIC_STREAM_FIN) ? " with FIN" : "");
	strcpy(msg, "hello quic client!");
	ret = quic_sendmsg(fd, msg, strlen(msg), sid, MSG_QUIC_STREAM_FIN);
	if (ret < 0)
		return fail("quic_sendmsg");
	/* Wait for the client to close once it has the answer. */
	ret = quic_recvmsg(fd, msg, sizeof(msg), &sid, &flags);
	if (ret >= 0 || (errno != ENOTCONN && errno != ECONNRESET && errno != EPIPE))
		fprintf(stderr, "server: after the answer recv gave %d (%s)\n", ret, strerror(errno));
	close(fd);
	close(lfd);
	return 0;
}

static int client(const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char msg[256];
	int64_t sid;
	uint32_t flags = 0;
	int family = addr_of(ip, port, &ss, &len);
	int fd, ret;

	fd = socket(family, SOCK_DGRAM, IPPROTO_QUIC);
	if (fd < 0)
		return fail("socket");
	if (connect(fd, (struct sockaddr *)&ss, len))
		return fail("connect");
	ret = quic_client_handshake(fd, NULL, NULL, ALPN);
	if (ret) {
		errno = -ret;
		return fail("quic_client_handshake");
	}
	strcpy(msg, "hello quic server!");
	sid = 0;
	ret = quic_sendmsg(fd, msg, strlen(msg), sid, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN);
	if (ret < 0)
		return fail("quic_sendmsg");
	ret = quic_recvmsg(fd, msg, sizeof(msg) - 1, &sid, &flags);
	if (ret < 0)
		return fail("quic_recvmsg");
	msg[ret] = '\0';
	printf("client got \"%s\" on stream %lld%s\n", msg, (long long)sid,
	       (flags & MSG_QUIC_STREAM_FIN) ? " with FIN" : "");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "server"))
		return server(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: %s server ADDR CERT KEY | client ADDR PORT\n", argv[0]);
	return 2;
}
