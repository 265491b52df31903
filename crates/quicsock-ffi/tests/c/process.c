/*
 * What a QUIC descriptor does as a descriptor: poll, select, O_NONBLOCK, FIONBIO,
 * SIOCINQ, dup, fork and signals. One process runs both ends (a server thread).
 *
 *   process CERT KEY      prints "ok N description" or "not ok N description: why"
 *   process closer PORT [abort]   (run by the above) sends CLOSER_BYTES, closes (after
 *                          SO_LINGER {1, 0} with abort) and exits at once
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/quic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#define ALPN "proc"

static const char *cert, *key;
static int failures;
static struct sockaddr_in server_addr;

static void report(int n, const char *desc, int ok, int err)
{
	if (ok)
		printf("ok %d %s\n", n, desc);
	else {
		printf("not ok %d %s: errno %d (%s)\n", n, desc, err, strerror(err));
		failures++;
	}
	fflush(stdout);
}

/* The server: echoes every message on its stream, and on "hold" waits for "go". */
static void *serve(void *arg)
{
	int lfd = (int)(long)arg, fd = accept(lfd, NULL, NULL);
	char buf[4096];

	if (fd < 0 || quic_server_handshake(fd, key, cert, ALPN))
		return NULL;
	for (;;) {
		int64_t sid;
		uint32_t flags = 0;
		ssize_t n = quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);

		if (n < 0)
			break;
		if (n == 4 && !memcmp(buf, "hold", 4))
			continue;
		if (quic_sendmsg(fd, buf, n, sid, flags & MSG_QUIC_STREAM_FIN) < 0)
			break;
	}
	close(fd);
	return NULL;
}

/* One of several threads sending on the connection at once, each on its own stream. */
struct worker {
	int fd, ok;
	int64_t sid;
};

#define ROUNDS 200
#define PIECE 16

static void *work(void *arg)
{
	struct worker *w = arg;
	char msg[PIECE];

	memset(msg, 'w', sizeof(msg));
	for (int i = 0; i < ROUNDS; i++)
		if (quic_sendmsg(w->fd, msg, PIECE, w->sid, i == ROUNDS - 1 ? MSG_QUIC_STREAM_FIN : 0) != PIECE)
			return NULL;
	w->ok = 1;
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
}

struct interrupt {
	pthread_t target;
	volatile int done;
};

/* Signals the target until it says its call returned: a signal that came before the
 * call blocked is followed by another once it does. */
static void *interrupter(void *arg)
{
	struct interrupt *in = arg;

	while (!in->done) {
		usleep(50000);
		pthread_kill(in->target, SIGUSR1);
	}
	return NULL;
}

#define CLOSER_BYTES (256 * 1024)

/* A client that sends more than one flight, closes and leaves with _exit (no exit
 * handlers): what the server gets is what close delivered before it returned. */
static int closer(int port, int abort)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct linger l = { 1, 0 }, back = { 0, 7 };
	socklen_t len = sizeof(back);
	static char data[CLOSER_BYTES];
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	uint32_t flags = 0;
	int64_t sid;
	char go[8];

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	memset(data, 'c', sizeof(data));
	/* The server's "go" says its handshake is over: the close cannot overtake it. */
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    quic_client_handshake(fd, NULL, NULL, ALPN) || quic_recvmsg(fd, go, sizeof(go), &sid, &flags) != 2 ||
	    quic_sendmsg(fd, data, sizeof(data), 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN) != sizeof(data))
		_exit(2);
	if (abort && (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) ||
		      getsockopt(fd, SOL_SOCKET, SO_LINGER, &back, &len) || back.l_onoff != 1 || back.l_linger))
		_exit(5);
	_exit(close(fd) ? 3 : 0);
}

/*
 * Cases 24 and 25: a child process runs closer(); this end reads what comes, then the
 * close. A default close delivers everything first; with SO_LINGER {1, 0} the close
 * comes at once and what was not sent yet is dropped.
 */
static void close_delivers(const char *self, int lfd, int abort)
{
	char port[16], buf[65536];
	size_t got = 0;
	int fin = 0, status = 0, fd, ended, e;
	struct timeval tv = { 10, 0 };
	pid_t child;

	snprintf(port, sizeof(port), "%d", ntohs(server_addr.sin_port));
	child = fork();
	if (child == 0) {
		execl(self, self, "closer", port, abort ? "abort" : (char *)NULL, (char *)NULL);
		_exit(4);
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || quic_server_handshake(fd, key, cert, ALPN) ||
	    quic_sendmsg(fd, "go", 2, 1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN) != 2) {
		report(24 + abort, "the peer's close", 0, errno);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!fin) {
		int64_t sid;
		uint32_t flags = 0;
		ssize_t n = quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);

		if (n < 0)
			break;
		got += n;
		fin = !!(flags & MSG_QUIC_STREAM_FIN);
	}
	errno = 0;
	{
		int64_t sid;
		uint32_t flags = 0;

		ended = quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags) < 0 && errno != EAGAIN;
	}
	e = errno;
	waitpid(child, &status, 0);
	close(fd);
	if (abort)
		report(25, "SO_LINGER {1, 0}: close ends the connection at once, dropping what was not sent",
		       !fin && got < CLOSER_BYTES && ended && WIFEXITED(status) && WEXITSTATUS(status) == 0, e);
	else
		report(24, "close delivers what was sent, then the close, before it returns (a child that _exits next)",
		       fin && got == CLOSER_BYTES && ended && WIFEXITED(status) && WEXITSTATUS(status) == 0, e);
}

int main(int argc, char **argv)
{
	socklen_t len = sizeof(server_addr);
	char buf[256];
	int64_t sid;
	uint32_t flags;
	pthread_t t;
	int lfd, fd, r;

	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "closer"))
		return closer(atoi(argv[2]), argc == 4);
	if (argc != 3) {
		fprintf(stderr, "usage: %s CERT KEY | closer PORT\n", argv[0]);
		return 2;
	}
	cert = argv[1];
	key = argv[2];
	server_addr.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &server_addr.sin_addr);
	lfd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (lfd < 0 || setsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_ALPN, ALPN, strlen(ALPN)) ||
	    bind(lfd, (struct sockaddr *)&server_addr, sizeof(server_addr)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&server_addr, &len)) {
		perror("listen");
		return 1;
	}
	pthread_create(&t, NULL, serve, (void *)(long)lfd);
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) ||
	    quic_client_handshake(fd, NULL, NULL, ALPN)) {
		perror("connect");
		return 1;
	}

	{
		struct pollfd p = { fd, POLLIN | POLLOUT, 0 };

		r = poll(&p, 1, 0);
		report(1, "poll: a connection with room is POLLOUT, not POLLIN", r == 1 && (p.revents & POLLOUT) &&
		       !(p.revents & POLLIN), errno);
	}
	quic_sendmsg(fd, "ping", 4, 0, MSG_QUIC_STREAM_NEW);
	{
		struct pollfd p = { fd, POLLIN, 0 };

		r = poll(&p, 1, 5000);
		report(2, "poll: POLLIN once the echo arrived", r == 1 && (p.revents & POLLIN), errno);
	}
	{
		int n = -1;

		r = ioctl(fd, SIOCINQ, &n);
		report(3, "SIOCINQ counts the bytes waiting", r == 0 && n == 4, errno);
	}
	{
		fd_set rd;
		struct timeval tv = { 0, 0 };

		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		r = select(fd + 1, &rd, NULL, NULL, &tv);
		report(4, "select: readable", r == 1 && FD_ISSET(fd, &rd), errno);
	}
	r = quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);
	report(5, "recv reads the echo", r == 4 && !memcmp(buf, "ping", 4), errno);
	{
		int fl = fcntl(fd, F_GETFL);

		r = fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		errno = 0;
		r = quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);
		report(6, "O_NONBLOCK: recv with nothing there is EAGAIN", r < 0 && errno == EAGAIN, errno);
		report(7, "F_GETFL reports O_NONBLOCK", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, errno);
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		report(8, "F_GETFL reports it cleared", (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0, errno);
	}
	{
		int on = 1, off = 0;

		ioctl(fd, FIONBIO, &on);
		errno = 0;
		r = recv(fd, buf, sizeof(buf), 0);
		report(9, "FIONBIO: recv is EAGAIN", r < 0 && errno == EAGAIN, errno);
		ioctl(fd, FIONBIO, &off);
		errno = 0;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		report(10, "MSG_DONTWAIT: recv is EAGAIN", r < 0 && errno == EAGAIN, errno);
	}
	{
		struct sigaction sa = { 0 };
		struct interrupt in = { pthread_self(), 0 };
		pthread_t k;
		int e;

		sa.sa_handler = on_signal;
		sigaction(SIGUSR1, &sa, NULL);
		pthread_create(&k, NULL, interrupter, &in);
		errno = 0;
		r = recv(fd, buf, sizeof(buf), 0);
		e = errno;
		in.done = 1;
		pthread_join(k, NULL);
		report(11, "A signal interrupts a blocking recv: EINTR", r < 0 && e == EINTR, e);
	}
	{
		struct timeval tv = { 0, 100000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		errno = 0;
		r = recv(fd, buf, sizeof(buf), 0);
		report(12, "SO_RCVTIMEO ends a blocking recv with EAGAIN", r < 0 && errno == EAGAIN, errno);
		tv.tv_usec = 0;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	{
		int d = dup(fd);

		r = quic_sendmsg(d, "dup", 3, 0, 0);
		report(13, "dup: the duplicate sends on the same connection", r == 3, errno);
		r = quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);
		report(14, "dup: and the original reads the echo", r == 3 && !memcmp(buf, "dup", 3), errno);
		close(d);
		r = quic_sendmsg(fd, "after", 5, 0, 0);
		report(15, "closing the duplicate leaves the socket open", r == 5, errno);
		quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);
	}
	{
		int to = dup(0);

		r = dup2(fd, to);
		report(16, "dup2 onto another descriptor names the socket", r == to && quic_sendmsg(to, "two", 3, 0, 0) == 3,
		       errno);
		quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);
		close(to);
	}
	{
		pid_t child = fork();
		int status = 0;

		if (child == 0) {
			int bad = send(fd, "x", 1, MSG_NOSIGNAL) < 0 && errno == EBADF;
			int closed = close(fd) == 0;

			_exit(bad && closed ? 0 : 1);
		}
		waitpid(child, &status, 0);
		report(17, "fork: the child's copy fails with EBADF and closes quietly",
		       WIFEXITED(status) && WEXITSTATUS(status) == 0, errno);
		r = quic_sendmsg(fd, "parent", 6, 0, 0);
		report(18, "fork: the parent's socket is unaffected",
		       r == 6 && quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags) == 6, errno);
	}
	{
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);

		r = getpeername(fd, (struct sockaddr *)&peer, &plen);
		report(19, "getpeername: the server's address", r == 0 && peer.sin_port == server_addr.sin_port, errno);
	}
	{
		int rcv = 0;
		socklen_t olen = sizeof(rcv);
		int type = 0, proto = 0;
		socklen_t tlen = sizeof(type), plen = sizeof(proto);

		r = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) ||
		    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) ||
		    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &olen);
		report(20, "SO_TYPE, SO_PROTOCOL (IPPROTO_QUIC) and SO_RCVBUF read", !r && proto == IPPROTO_QUIC && rcv > 0,
		       errno);
	}
	{
		/* Eight threads send at once while this one reads every echo. */
		struct worker w[8];
		pthread_t th[8];
		size_t got[8] = { 0 };
		int all = 1, fins = 0;

		for (int i = 0; i < 8; i++) {
			struct quic_stream_info s = { .stream_id = -1 };
			socklen_t slen = sizeof(s);

			getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &s, &slen);
			w[i] = (struct worker){ fd, 0, s.stream_id };
			pthread_create(&th[i], NULL, work, &w[i]);
		}
		while (fins < 8) {
			uint32_t f = 0;
			int64_t s;
			ssize_t n = quic_recvmsg(fd, buf, sizeof(buf), &s, &f);
			int i;

			if (n < 0)
				break;
			for (i = 0; i < 8 && w[i].sid != s; i++)
				;
			if (i == 8)
				continue;
			got[i] += n;
			fins += !!(f & MSG_QUIC_STREAM_FIN);
		}
		for (int i = 0; i < 8; i++) {
			pthread_join(th[i], NULL);
			all &= w[i].ok && got[i] == ROUNDS * PIECE;
		}
		report(23, "8 threads send on one connection at once while another reads every echo", all && fins == 8, errno);
	}
	quic_sendmsg(fd, "bye", 3, 0, MSG_QUIC_STREAM_FIN);
	quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);
	r = close(fd);
	report(21, "close", r == 0, errno);
	errno = 0;
	r = send(fd, "x", 1, MSG_NOSIGNAL);
	report(22, "the closed number is no socket any more: EBADF", r < 0 && errno == EBADF, errno);
	pthread_join(t, NULL);
	close_delivers(argv[0], lfd, 0);
	close_delivers(argv[0], lfd, 1);
	return failures ? 1 : 0;
}
