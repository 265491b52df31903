/*
 * The TLS handshake of a Linux QUIC program, both ends in C, by mode:
 *   rustls  quic_client_handshake / quic_server_handshake with certificates;
 *   gnutls  the program's own GnuTLS session with X.509 credentials, driven by
 *           quic_handshake (client) or by quic_handshake_init/step on a non-blocking
 *           socket in a poll loop (server);
 *   psk     quic_client_handshake / quic_server_handshake with a pre-shared key file;
 *   resume  gnutls twice: the server's tickets sealed with the SESSION_TICKET key, the
 *           client's second handshake resuming the first's session
 *           (quic_session_get_data / quic_session_set_data);
 *   ccm     (client) gnutls offering AES-128-CCM only, against a gnutls server: the
 *           packets are protected with the suite GnuTLS negotiated;
 *   vn      (client) gnutls stepwise on a non-blocking socket configured for version
 *           123: the transport learns the server's versions first, and the connection
 *           runs in v1.
 * Each connection then carries one message each way and checks the ALPN.
 *
 *   gnutls_test server ADDR MODE CERT KEY PSKFILE    prints "port N", serves one client
 *   gnutls_test client ADDR PORT MODE PSKFILE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/quic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALPN "smbd"

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err));
	return 1;
}

static int gnutls_fail(const char *what, int r)
{
	fprintf(stderr, "%s: %s\n", what, gnutls_strerror(r));
	return 1;
}

/* QUIC_PRIORITY with AES-128-CCM as the only cipher. */
#define CCM_PRIORITY QUIC_PRIORITY ":-CIPHER-ALL:+AES-128-CCM"

static gnutls_session_t x509_session(int fd, int server, const char *cert, const char *key,
				     gnutls_certificate_credentials_t *cred, const char *priority)
{
	gnutls_datum_t alpn = { (unsigned char *)ALPN, strlen(ALPN) };
	gnutls_session_t s;

	if (gnutls_certificate_allocate_credentials(cred) ||
	    gnutls_init(&s, server ? GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET : GNUTLS_CLIENT))
		return NULL;
	if (server && gnutls_certificate_set_x509_key_file(*cred, cert, key, GNUTLS_X509_FMT_PEM))
		return NULL;
	if (gnutls_priority_set_direct(s, priority ? priority : QUIC_PRIORITY, NULL) ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, *cred) ||
	    gnutls_alpn_set_protocols(s, &alpn, 1, 0))
		return NULL;
	gnutls_transport_set_int(s, fd);
	return s;
}

/* The handshake one step at a time, as an event loop runs it, with `fd` non-blocking. */
static int stepwise(gnutls_session_t s, int fd)
{
	struct quic_handshake_step *step;
	int r;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	r = quic_handshake_init(s, &step);
	while (!r && step) {
		ssize_t n;

		if (step->op == QUIC_HANDSHAKE_STEP_OP_SENDMSG)
			n = sendmsg(fd, step->msg, step->flags);
		else
			n = recvmsg(fd, step->msg, step->flags);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { fd, step->op == QUIC_HANDSHAKE_STEP_OP_SENDMSG ? POLLOUT : POLLIN, 0 };

			poll(&p, 1, 1000);
			continue;
		}
		step->retval = n < 0 ? -errno : n;
		r = quic_handshake_step(s, &step);
	}
	quic_handshake_deinit(s);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return r;
}

static int exchange(int fd, int server, gnutls_session_t s)
{
	char msg[128], alpn[32];
	size_t alen = sizeof(alpn) - 1;
	int64_t sid = 0;
	uint32_t flags = 0;
	ssize_t n;

	if (s) {
		int r = quic_session_get_alpn(s, alpn, &alen);

		if (r)
			return fail("quic_session_get_alpn", -r);
		alpn[alen] = '\0';
		if (strcmp(alpn, ALPN)) {
			fprintf(stderr, "ALPN %s\n", alpn);
			return 1;
		}
	}
	if (!server && quic_sendmsg(fd, "ping", 4, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN) != 4)
		return fail("quic_sendmsg", errno);
	n = quic_recvmsg(fd, msg, sizeof(msg) - 1, &sid, &flags);
	if (n < 0)
		return fail("quic_recvmsg", errno);
	msg[n] = '\0';
	if (server) {
		if (strcmp(msg, "ping"))
			return 1;
		if (quic_sendmsg(fd, "pong", 4, sid, MSG_QUIC_STREAM_FIN) != 4)
			return fail("quic_sendmsg", errno);
		/* Until the client closes. */
		n = quic_recvmsg(fd, msg, sizeof(msg), &sid, &flags);
		return 0;
	}
	printf("client got \"%s\"\n", msg);
	return strcmp(msg, "pong") != 0;
}

/* Serves one resumption-enabled GnuTLS connection on `lfd`. */
static int serve_resumable(int lfd, const char *cert, const char *key)
{
	gnutls_certificate_credentials_t cred = NULL;
	unsigned char master[64];
	socklen_t mlen = sizeof(master);
	gnutls_datum_t ticket_key = { master, 0 };
	gnutls_session_t s;
	int fd = accept(lfd, NULL, NULL), r;

	if (fd < 0)
		return fail("accept", errno);
	/* The listener's ticket master key, as libquic's server takes it. */
	if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, master, &mlen))
		return fail("SESSION_TICKET", errno);
	ticket_key.size = mlen;
	s = x509_session(fd, 1, cert, key, &cred, NULL);
	if (!s)
		return fail("gnutls session", EINVAL);
	r = gnutls_session_ticket_enable_server(s, &ticket_key);
	if (r)
		return gnutls_fail("gnutls_session_ticket_enable_server", r);
	r = quic_handshake(s);
	if (r)
		return fail("server handshake", -r);
	r = exchange(fd, 1, s);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	close(fd);
	return r;
}

static int server(const char *ip, const char *mode, const char *cert, const char *key, const char *psk)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	int lfd, fd, r;

	inet_pton(AF_INET, ip, &a.sin_addr);
	lfd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (lfd < 0 || setsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_ALPN, ALPN, strlen(ALPN)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len))
		return fail("listen", errno);
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	if (!strcmp(mode, "resume"))
		return serve_resumable(lfd, cert, key) || serve_resumable(lfd, cert, key);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("accept", errno);
	if (!strcmp(mode, "rustls")) {
		r = quic_server_handshake(fd, key, cert, ALPN);
	} else if (!strcmp(mode, "psk")) {
		r = quic_server_handshake(fd, psk, NULL, ALPN);
	} else {
		s = x509_session(fd, 1, cert, key, &cred, NULL);
		if (!s)
			return fail("gnutls session", EINVAL);
		r = stepwise(s, fd);
	}
	if (r)
		return fail("server handshake", -r);
	r = exchange(fd, 1, s);
	if (s)
		gnutls_deinit(s);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	close(fd);
	close(lfd);
	return r;
}

/* One GnuTLS connection, resuming `data` when given; the session data to resume with
 * next in `out`. */
static int resumable(const char *ip, int port, const unsigned char *data, size_t len,
		     unsigned char *out, size_t *outlen, int *resumed)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s;
	int fd, r;

	inet_pton(AF_INET, ip, &a.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fail("connect", errno);
	s = x509_session(fd, 0, NULL, NULL, &cred, NULL);
	if (!s)
		return fail("gnutls session", EINVAL);
	if (data && (r = quic_session_set_data(s, data, len)))
		return fail("quic_session_set_data", -r);
	r = quic_handshake(s);
	if (r)
		return fail("client handshake", -r);
	*resumed = gnutls_session_is_resumed(s);
	r = exchange(fd, 0, s);
	/* The server's ticket came before its answer. */
	if (!r && (r = quic_session_get_data(s, out, outlen)))
		r = fail("quic_session_get_data", -r);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	close(fd);
	return r;
}

static int client(const char *ip, int port, const char *mode, const char *psk)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	int fd, r;

	if (!strcmp(mode, "resume")) {
		static unsigned char data[8192], next[8192];
		size_t len = sizeof(data), nlen = sizeof(next);
		int first = 1, second = 0;

		if (resumable(ip, port, NULL, 0, data, &len, &first) ||
		    resumable(ip, port, data, len, next, &nlen, &second))
			return 1;
		printf("first %s, second %s\n", first ? "resumed" : "full", second ? "resumed" : "full");
		return first || !second;
	}
	inet_pton(AF_INET, ip, &a.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (fd >= 0 && !strcmp(mode, "vn")) {
		struct quic_config cfg = { .version = 123 };

		if (setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONFIG, &cfg, sizeof(cfg)))
			return fail("CONFIG version 123", errno);
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fail("connect", errno);
	if (!strcmp(mode, "vn")) {
		struct quic_config cfg = { 0 };
		socklen_t clen = sizeof(cfg);

		s = x509_session(fd, 0, NULL, NULL, &cred, NULL);
		if (!s)
			return fail("gnutls session", EINVAL);
		r = stepwise(s, fd);
		if (!r && !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONFIG, &cfg, &clen))
			printf("version %#x\n", cfg.version);
	} else if (!strcmp(mode, "rustls")) {
		r = quic_client_handshake(fd, NULL, NULL, ALPN);
	} else if (!strcmp(mode, "psk")) {
		r = quic_client_handshake(fd, psk, NULL, ALPN);
	} else {
		s = x509_session(fd, 0, NULL, NULL, &cred, strcmp(mode, "ccm") ? NULL : CCM_PRIORITY);
		if (!s)
			return fail("gnutls session", EINVAL);
		r = quic_handshake(s);
	}
	if (r)
		return fail("client handshake", -r);
	if (s)
		printf("cipher %s\n", gnutls_cipher_get_name(gnutls_cipher_get(s)));
	r = exchange(fd, 0, s);
	if (s)
		gnutls_deinit(s);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "server"))
		return server(argv[2], argv[3], argv[4], argv[5], argv[6]);
	if (argc == 6 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), argv[4], argv[5]);
	fprintf(stderr, "usage: %s server ADDR MODE CERT KEY PSK | client ADDR PORT MODE PSK\n", argv[0]);
	return 2;
}
