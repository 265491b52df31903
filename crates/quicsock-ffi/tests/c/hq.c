/*
 * HTTP/0.9 over QUIC (ALPN hq-interop, the interop runner's protocol) as a Linux QUIC
 * program: libquic's handshake with certificates, one request per bidirectional stream.
 *
 *   hq client ADDR PORT OUTDIR PATH...   requests every path at once, stores each
 *                                        response as OUTDIR/<name>
 *   hq server ADDR CERT KEY ROOT         prints "port N", serves until killed
 *
 * The client checks the server's certificate for "localhost" against the CA file that
 * SSL_CERT_FILE names.
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
#include <unistd.h>

#define ALPN "hq-interop"
#define MAX_REQUESTS 64

static int fail(const char *what, int err)
{
	fprintf(stderr, "hq: %s: %s\n", what, strerror(err));
	return 1;
}

static int client(const char *ip, int port, const char *outdir, int n, char **paths)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int64_t sids[MAX_REQUESTS];
	int files[MAX_REQUESTS], open_count = 0;
	static char buf[65536];
	int fd, r;

	if (n > MAX_REQUESTS)
		return fail("requests", E2BIG);
	inet_pton(AF_INET, ip, &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_QUIC);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fail("connect", errno);
	r = quic_client_handshake(fd, NULL, "localhost", ALPN);
	if (r)
		return fail("quic_client_handshake", -r);
	for (int i = 0; i < n; i++) {
		struct quic_stream_info s = { .stream_id = -1 };
		socklen_t len = sizeof(s);
		const char *name = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
		char req[512], out[512];

		if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &s, &len))
			return fail("STREAM_OPEN", errno);
		sids[i] = s.stream_id;
		snprintf(out, sizeof(out), "%s/%s", outdir, name);
		files[i] = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (files[i] < 0)
			return fail(out, errno);
		snprintf(req, sizeof(req), "GET %s\r\n", paths[i]);
		if (quic_sendmsg(fd, req, strlen(req), s.stream_id, MSG_QUIC_STREAM_FIN) < 0)
			return fail("quic_sendmsg", errno);
		open_count++;
	}
	while (open_count > 0) {
		int64_t sid;
		uint32_t flags = 0;
		ssize_t got = quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);
		int i;

		if (got < 0)
			return fail("quic_recvmsg", errno);
		if (flags & MSG_QUIC_NOTIFICATION)
			continue;
		for (i = 0; i < n && sids[i] != sid; i++)
			;
		if (i == n || files[i] < 0) {
			fprintf(stderr, "hq: data on stream %lld\n", (long long)sid);
			return 1;
		}
		if (write(files[i], buf, got) != got)
			return fail("write", errno);
		if (flags & MSG_QUIC_STREAM_FIN) {
			close(files[i]);
			files[i] = -1;
			open_count--;
		}
	}
	close(fd);
	return 0;
}

struct serving {
	int fd;
	const char *cert, *key, *root;
};

/* Answers one request on `sid`: the file, then FIN. */
static void answer(int fd, int64_t sid, const char *root, const char *req)
{
	static __thread char buf[65536];
	char path[1024], name[512];
	int file;
	ssize_t n;

	if (sscanf(req, "GET %511s", name) != 1 || strstr(name, "..")) {
		quic_sendmsg(fd, "", 0, sid, MSG_QUIC_STREAM_FIN);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", root, name[0] == '/' ? name + 1 : name);
	file = open(path, O_RDONLY);
	if (file < 0) {
		quic_sendmsg(fd, "", 0, sid, MSG_QUIC_STREAM_FIN);
		return;
	}
	while ((n = read(file, buf, sizeof(buf))) > 0)
		if (quic_sendmsg(fd, buf, n, sid, 0) < 0)
			break;
	quic_sendmsg(fd, "", 0, sid, MSG_QUIC_STREAM_FIN);
	close(file);
}

static void *serve(void *arg)
{
	struct serving *s = arg;
	struct {
		int64_t sid;
		char req[512];
		size_t len;
	} pending[MAX_REQUESTS] = { 0 };
	int r = quic_server_handshake(s->fd, s->key, s->cert, ALPN);

	if (r) {
		fail("quic_server_handshake", -r);
		goto out;
	}
	for (;;) {
		char buf[512];
		int64_t sid;
		uint32_t flags = 0;
		ssize_t n = quic_recvmsg(s->fd, buf, sizeof(buf), &sid, &flags);
		int i, slot = -1;

		if (n < 0)
			break;
		if (flags & (MSG_QUIC_NOTIFICATION | MSG_QUIC_DATAGRAM))
			continue;
		for (i = 0; i < MAX_REQUESTS; i++) {
			if (pending[i].len && pending[i].sid == sid)
				break;
			if (slot < 0 && !pending[i].len)
				slot = i;
		}
		if (i == MAX_REQUESTS) {
			if (slot < 0)
				break;
			i = slot;
			pending[i].sid = sid;
		}
		if (pending[i].len + n >= sizeof(pending[i].req))
			break;
		memcpy(pending[i].req + pending[i].len, buf, n);
		pending[i].len += n;
		pending[i].req[pending[i].len] = '\0';
		if (flags & MSG_QUIC_STREAM_FIN) {
			answer(s->fd, sid, s->root, pending[i].req);
			pending[i].len = 0;
		}
	}
out:
	close(s->fd);
	free(s);
	return NULL;
}

static int server(const char *ip, const char *cert, const char *key, const char *root)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int lfd;

	inet_pton(AF_INET, ip, &a.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, IPPROTO_QUIC);
	if (lfd < 0 || setsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_ALPN, ALPN, strlen(ALPN)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len))
		return fail("listen", errno);
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		struct serving *s;
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			return fail("accept", errno);
		s = calloc(1, sizeof(*s));
		*s = (struct serving){ fd, cert, key, root };
		pthread_create(&t, NULL, serve, s);
		pthread_detach(t);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), argv[4], argc - 5, argv + 5);
	if (argc == 6 && !strcmp(argv[1], "server"))
		return server(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: %s client ADDR PORT OUTDIR PATH... | server ADDR CERT KEY ROOT\n", argv[0]);
	return 2;
}
