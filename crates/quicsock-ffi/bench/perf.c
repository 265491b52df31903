/*
 * Linux QUIC's perf_test modes as a C program on the socket interface: throughput (the
 * client sends --tot_len bytes in --msg_len messages on stream 0, then FIN; the server
 * reads them and answers when all arrived) and request/response (--num_reqs requests of
 * --req_len bytes, each answered with --rsp_len bytes). --no_crypt turns 1-RTT
 * encryption off on both ends (disable_1rtt_encryption); --mtu caps the UDP payload
 * both ends send (max_udp_payload_size), like quicperf's --mtu.
 *
 *   perf -l [--addr A] [--port P] --cert C --pkey K [--no_crypt] [--mtu N]
 *   perf --addr A --port P [--mode 0|1] [--msg_len N] [--tot_len N] [--req_len N]
 *        [--rsp_len N] [--num_reqs N] [--no_crypt] [--mtu N]
 *
 * Throughput is reported in Mbit/s (10^6 bit/s, as quicperf reports it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/quic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ALPN "sample"
#define MAX_MSG (1 << 20)

static char *addr = "127.0.0.1", *cert, *pkey;
static int port = 1234, mode, no_crypt, listening, mtu;
static size_t msg_len = 4096, tot_len = 1UL << 30, req_len = 1, rsp_len = 1, num_reqs = 100000;

static int fail(const char *what, int err)
{
	fprintf(stderr, "perf: %s: %s\n", what, strerror(err));
	return 1;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int params(int fd)
{
	struct quic_transport_param p = { 0 };

	p.disable_1rtt_encryption = no_crypt;
	p.max_idle_timeout = 120000000;
	/* The largest UDP payload the peer may send us (both ends set it: quicperf's --mtu). */
	p.max_udp_payload_size = mtu;
	return setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, &p, sizeof(p));
}

static int recv_all(int fd, char *buf, size_t len, int64_t *sid, uint32_t *flags)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = quic_recvmsg(fd, buf + got, len - got, sid, flags);

		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/* Every connection starts with a 16-byte header on stream 0: "bulk", or "rr REQ RSP". */
#define HEADER 16

static int serve(int fd)
{
	static char buf[MAX_MSG];
	char header[HEADER + 1] = "";
	int64_t sid;
	uint32_t flags = 0;
	size_t rq = 0, rs = 0;

	if (quic_server_handshake(fd, pkey, cert, ALPN))
		return fail("quic_server_handshake", EPROTO);
	if (recv_all(fd, header, HEADER, &sid, &flags))
		return 0;
	if (sscanf(header, "rr %zu %zu", &rq, &rs) == 2) {
		if (rq == 0 || rs == 0 || rq > MAX_MSG || rs > MAX_MSG)
			return 1;
		for (;;) {
			if (recv_all(fd, buf, rq, &sid, &flags))
				return 0;
			if (quic_sendmsg(fd, buf, rs, sid, 0) < 0)
				return 0;
		}
	}
	while (!(flags & MSG_QUIC_STREAM_FIN)) {
		flags = 0;
		if (quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags) < 0)
			return 0;
	}
	quic_sendmsg(fd, "done", 4, sid, MSG_QUIC_STREAM_FIN);
	/* Until the client closes. */
	quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags);
	return 0;
}

static int server(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int lfd;

	inet_pton(AF_INET, addr, &a.sin_addr);
	lfd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (lfd < 0 || params(lfd) || setsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_ALPN, ALPN, strlen(ALPN)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4))
		return fail("listen", errno);
	printf("listening on %s:%d\n", addr, port);
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			return fail("accept", errno);
		serve(fd);
		close(fd);
	}
}

static int client(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	static char buf[MAX_MSG];
	int64_t sid = 0;
	uint32_t flags = 0;
	double start, ms;
	int fd, r;

	inet_pton(AF_INET, addr, &a.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (fd < 0 || params(fd) || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fail("connect", errno);
	r = quic_client_handshake(fd, NULL, NULL, ALPN);
	if (r)
		return fail("quic_client_handshake", -r);
	memset(buf, 'q', sizeof(buf));
	if (mode == 0) {
		size_t sent = 0;
		uint32_t f = 0;
		char header[HEADER] = "bulk";

		if (quic_sendmsg(fd, header, HEADER, 0, MSG_QUIC_STREAM_NEW) < 0)
			return fail("quic_sendmsg", errno);

		start = now_ms();
		while (sent < tot_len) {
			size_t n = tot_len - sent < msg_len ? tot_len - sent : msg_len;
			ssize_t w = quic_sendmsg(fd, buf, n, 0, f | (sent + n == tot_len ? MSG_QUIC_STREAM_FIN : 0));

			if (w < 0)
				return fail("quic_sendmsg", errno);
			sent += w;
			f = 0;
		}
		if (quic_recvmsg(fd, buf, sizeof(buf), &sid, &flags) < 0)
			return fail("quic_recvmsg", errno);
		ms = now_ms() - start;
		printf("throughput: %zu bytes in %zu-byte messages in %.0f ms: %.2f Mbit/s%s\n", tot_len, msg_len, ms,
		       tot_len * 8.0 / ms / 1e3, no_crypt ? " (no 1-RTT encryption)" : "");
	} else {
		double min = 1e18, max = 0, total = 0;
		char header[HEADER + 8] = "";

		snprintf(header, sizeof(header), "rr %zu %zu", req_len, rsp_len);
		if (quic_sendmsg(fd, header, HEADER, 0, MSG_QUIC_STREAM_NEW) < 0)
			return fail("quic_sendmsg", errno);
		start = now_ms();
		for (size_t i = 0; i < num_reqs; i++) {
			double t = now_ms(), d;

			if (quic_sendmsg(fd, buf, req_len, 0, 0) < 0)
				return fail("quic_sendmsg", errno);
			if (recv_all(fd, buf, rsp_len, &sid, &flags))
				return fail("quic_recvmsg", errno);
			d = (now_ms() - t) * 1e3;
			total += d;
			min = d < min ? d : min;
			max = d > max ? d : max;
		}
		ms = now_ms() - start;
		printf("request/response: %zu requests of %zu bytes, %zu-byte responses: latency avg %.1f us, "
		       "min %.1f us, max %.1f us; %.0f requests/s%s\n", num_reqs, req_len, rsp_len,
		       total / num_reqs, min, max, num_reqs / ms * 1e3, no_crypt ? " (no 1-RTT encryption)" : "");
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "addr", 1, 0, 'a' },     { "port", 1, 0, 'p' },     { "cert", 1, 0, 'c' },
		{ "pkey", 1, 0, 'k' },     { "mode", 1, 0, 'm' },     { "msg_len", 1, 0, 'M' },
		{ "tot_len", 1, 0, 'T' },  { "req_len", 1, 0, 'Q' },  { "rsp_len", 1, 0, 'S' },
		{ "num_reqs", 1, 0, 'N' }, { "no_crypt", 0, 0, 'x' }, { "mtu", 1, 0, 'u' },
		{ 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "l", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listening = 1; break;
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': cert = optarg; break;
		case 'k': pkey = optarg; break;
		case 'm': mode = atoi(optarg); break;
		case 'M': msg_len = strtoul(optarg, NULL, 0); break;
		case 'T': tot_len = strtoul(optarg, NULL, 0); break;
		case 'Q': req_len = strtoul(optarg, NULL, 0); break;
		case 'S': rsp_len = strtoul(optarg, NULL, 0); break;
		case 'N': num_reqs = strtoul(optarg, NULL, 0); break;
		case 'x': no_crypt = 1; break;
		case 'u': mtu = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: see the comment at the top of perf.c\n");
			return 2;
		}
	}
	if (msg_len == 0 || msg_len > MAX_MSG || req_len == 0 || req_len > MAX_MSG || rsp_len == 0 ||
	    rsp_len > MAX_MSG || (mode != 0 && mode != 1)) {
		fprintf(stderr, "perf: sizes are 1..%d bytes and --mode is 0 or 1\n", MAX_MSG);
		return 2;
	}
	if (listening && (!cert || !pkey)) {
		fprintf(stderr, "perf: a server needs --cert and --pkey\n");
		return 2;
	}
	return listening ? server() : client();
}
