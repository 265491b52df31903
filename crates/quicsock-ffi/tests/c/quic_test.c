/*
 * Conformance cases for the Linux QUIC socket interface, after the groups of Linux QUIC's
 * kernel selftest (handshake, stream, connection, notification, close). No TLS library:
 * a fake handshake with fixed secrets crosses the handshake interface from C (handshake
 * messages with QUIC_HANDSHAKE_INFO, TRANSPORT_PARAM_EXT, CRYPTO_SECRET). It uses only
 * the socket calls and <linux/quic.h>, so it runs linked with libquic or under
 * LD_PRELOAD alike.
 *
 *   quic_test server ADDR          prints "port MAIN RETRY DEMUX PREFERRED", serves until
 *                                  killed
 *   quic_test client ADDR MAIN RETRY DEMUX PREFERRED
 * DEMUX is one port with three listeners, for ALPNs "quic", "fake" and "http3";
 * PREFERRED a wildcard-bound listener whose connections prefer 127.0.0.2.
 *
 * The client prints one line per case: "ok GROUP N description" or "not ok GROUP N
 * description: why". With QT_DEBUG set in its
 * environment it also writes the events it waits through and each case's time to stderr.
 *
 * Fake handshake (TLS framing: type, 24-bit length, body):
 *   client Initial:   ClientHello(1), laid out as TLS 1.3's (so that listeners sharing
 *                     a port can be chosen by its ALPN) with an ALPN extension when the
 *                     client names one, the transport parameters (0x39) and the cipher
 *                     in a private extension (0xffa5)
 *   server Initial:   ServerHello(2), empty
 *   server Handshake: EncryptedExtensions(8) = transport parameters, Finished(20)
 *   client Handshake: Finished(20)
 * Secret bytes: Handshake 0x10, 1-RTT 0x20, plus 1 written by the client, 2 by the
 * server. The server may send NewSessionTicket(4) at the 1-RTT level on request.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/quic.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_NEW_SESSION_TICKET 4
#define HS_ENCRYPTED_EXTENSIONS 8
#define HS_FINISHED 20

/* ---------- messages ---------- */

static ssize_t send_on(int fd, const void *buf, size_t len, int64_t sid, uint32_t sflags, int flags)
{
	char control[CMSG_SPACE(sizeof(struct quic_stream_info))];
	struct quic_stream_info info = { .stream_id = sid, .stream_flags = sflags };
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_QUIC;
	c->cmsg_type = QUIC_STREAM_INFO;
	c->cmsg_len = CMSG_LEN(sizeof(info));
	memcpy(CMSG_DATA(c), &info, sizeof(info));
	return sendmsg(fd, &msg, flags);
}

/* One recvmsg: the stream (or -1), the message flags with the stream flags ORed in. */
static ssize_t recv_on(int fd, void *buf, size_t len, int64_t *sid, uint32_t *flags, int rflags)
{
	char control[CMSG_SPACE(sizeof(struct quic_stream_info))];
	struct iovec iov = { buf, len };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t n;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	n = recvmsg(fd, &msg, rflags);
	if (n < 0)
		return n;
	*sid = -1;
	*flags = msg.msg_flags;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_QUIC && c->cmsg_type == QUIC_STREAM_INFO) {
			struct quic_stream_info info;

			memcpy(&info, CMSG_DATA(c), sizeof(info));
			*sid = info.stream_id;
			*flags |= info.stream_flags;
		}
	}
	return n;
}

static int send_handshake(int fd, uint8_t level, uint8_t type, const void *body, size_t len)
{
	char control[CMSG_SPACE(sizeof(struct quic_handshake_info))];
	struct quic_handshake_info info = { .crypto_level = level };
	uint8_t m[4096];
	struct iovec iov = { m, len + 4 };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;

	if (len + 4 > sizeof(m))
		return -1;
	m[0] = type;
	m[1] = len >> 16;
	m[2] = len >> 8;
	m[3] = len;
	memcpy(m + 4, body, len);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_QUIC;
	c->cmsg_type = QUIC_HANDSHAKE_INFO;
	c->cmsg_len = CMSG_LEN(sizeof(info));
	memcpy(CMSG_DATA(c), &info, sizeof(info));
	return sendmsg(fd, &msg, 0) == (ssize_t)(len + 4) ? 0 : -1;
}

/* Handshake bytes read so far, per level (Initial, Handshake), split into messages. */
struct hs_reader {
	uint8_t buf[2][8192];
	size_t len[2];
};

/* The next whole handshake message: its level, type and body. */
static int read_handshake(int fd, struct hs_reader *r, uint8_t *level, uint8_t *type,
			  uint8_t *body, size_t *blen)
{
	for (;;) {
		for (int i = 0; i < 2; i++) {
			size_t n;

			if (r->len[i] < 4)
				continue;
			n = (r->buf[i][1] << 16) | (r->buf[i][2] << 8) | r->buf[i][3];
			if (r->len[i] < 4 + n)
				continue;
			*level = i == 0 ? QUIC_CRYPTO_INITIAL : QUIC_CRYPTO_HANDSHAKE;
			*type = r->buf[i][0];
			memcpy(body, r->buf[i] + 4, n);
			*blen = n;
			memmove(r->buf[i], r->buf[i] + 4 + n, r->len[i] - 4 - n);
			r->len[i] -= 4 + n;
			return 0;
		}
		char control[CMSG_SPACE(sizeof(struct quic_handshake_info))];
		uint8_t chunk[4096];
		struct iovec iov = { chunk, sizeof(chunk) };
		struct msghdr msg = { 0 };
		struct cmsghdr *c;
		ssize_t got;
		int i = -1;

		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		got = recvmsg(fd, &msg, 0);
		if (got <= 0)
			return -1;
		c = CMSG_FIRSTHDR(&msg);
		if (!c || c->cmsg_level != SOL_QUIC || c->cmsg_type != QUIC_HANDSHAKE_INFO) {
			errno = EPROTO;
			return -1;
		}
		if (((struct quic_handshake_info *)CMSG_DATA(c))->crypto_level == QUIC_CRYPTO_INITIAL)
			i = 0;
		else if (((struct quic_handshake_info *)CMSG_DATA(c))->crypto_level == QUIC_CRYPTO_HANDSHAKE)
			i = 1;
		if (i < 0 || r->len[i] + got > sizeof(r->buf[i])) {
			errno = EPROTO;
			return -1;
		}
		memcpy(r->buf[i] + r->len[i], chunk, got);
		r->len[i] += got;
	}
}

static int set_secret(int fd, uint8_t level, int send, uint32_t cipher, uint8_t byte)
{
	struct quic_crypto_secret s;

	memset(&s, 0, sizeof(s));
	s.send = send;
	s.level = level;
	s.type = cipher;
	memset(s.secret, byte, sizeof(s.secret));
	return setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CRYPTO_SECRET, &s, sizeof(s));
}

#define EXT_ALPN 0x0010
#define EXT_TRANSPORT_PARAMETERS 0x0039
#define EXT_FAKE_CIPHER 0xffa5

static size_t put16(uint8_t *p, size_t v)
{
	p[0] = v >> 8;
	p[1] = v;
	return 2;
}

/* The fake ClientHello's body: TLS 1.3's layout, ALPN (if any), the transport
 * parameters and the cipher. `bad_length` makes the extensions' length lie. */
static size_t client_hello(uint8_t *out, uint32_t cipher, const uint8_t *tp, size_t tplen,
			   const char *alpn, int bad_length)
{
	size_t n = 0, ext;

	out[n++] = 3;
	out[n++] = 3;
	memset(out + n, 0x11, 32); /* random */
	n += 32;
	out[n++] = 0; /* legacy_session_id */
	n += put16(out + n, 2);
	out[n++] = 0x13;
	out[n++] = 0x01; /* TLS_AES_128_GCM_SHA256 */
	out[n++] = 1;
	out[n++] = 0; /* compression: null */
	ext = n;
	n += 2;
	if (alpn) {
		size_t len = strlen(alpn);

		n += put16(out + n, EXT_ALPN);
		n += put16(out + n, len + 3);
		n += put16(out + n, len + 1);
		out[n++] = len;
		memcpy(out + n, alpn, len);
		n += len;
	}
	n += put16(out + n, EXT_FAKE_CIPHER);
	n += put16(out + n, 1);
	out[n++] = cipher;
	n += put16(out + n, EXT_TRANSPORT_PARAMETERS);
	n += put16(out + n, tplen);
	memcpy(out + n, tp, tplen);
	n += tplen;
	put16(out + ext, bad_length ? 0xfff0 : n - ext - 2);
	return n;
}

/* The cipher and transport parameters of a fake ClientHello body; -1 if malformed. */
static int parse_client_hello(const uint8_t *b, size_t len, uint32_t *cipher, const uint8_t **tp,
			      size_t *tplen)
{
	size_t n = 34, end;

	if (len < n + 1)
		return -1;
	n += 1 + b[n]; /* session id */
	if (len < n + 2)
		return -1;
	n += 2 + ((b[n] << 8) | b[n + 1]); /* cipher suites */
	if (len < n + 1)
		return -1;
	n += 1 + b[n]; /* compression */
	if (len < n + 2)
		return -1;
	end = n + 2 + ((b[n] << 8) | b[n + 1]);
	n += 2;
	if (end > len)
		return -1;
	*tp = NULL;
	*cipher = 0;
	while (n + 4 <= end) {
		size_t type = (b[n] << 8) | b[n + 1], elen = (b[n + 2] << 8) | b[n + 3];

		n += 4;
		if (n + elen > end)
			return -1;
		if (type == EXT_TRANSPORT_PARAMETERS) {
			*tp = b + n;
			*tplen = elen;
		} else if (type == EXT_FAKE_CIPHER && elen == 1) {
			*cipher = b[n];
		}
		n += elen;
	}
	return *tp && *cipher ? 0 : -1;
}

static int client_handshake_alpn(int fd, uint32_t cipher, const char *alpn, int bad_length)
{
	struct hs_reader r = { 0 };
	uint8_t tp[1024], hello[2048], body[8192], level, type;
	socklen_t len = sizeof(tp);
	size_t blen;

	if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, tp, &len))
		return -1;
	blen = client_hello(hello, cipher, tp, len, alpn, bad_length);
	if (send_handshake(fd, QUIC_CRYPTO_INITIAL, HS_CLIENT_HELLO, hello, blen))
		return -1;
	for (;;) {
		if (read_handshake(fd, &r, &level, &type, body, &blen))
			return -1;
		if (level == QUIC_CRYPTO_INITIAL && type == HS_SERVER_HELLO) {
			if (set_secret(fd, QUIC_CRYPTO_HANDSHAKE, 1, cipher, 0x11) ||
			    set_secret(fd, QUIC_CRYPTO_HANDSHAKE, 0, cipher, 0x12))
				return -1;
		} else if (level == QUIC_CRYPTO_HANDSHAKE && type == HS_ENCRYPTED_EXTENSIONS) {
			if (setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, body, blen))
				return -1;
		} else if (level == QUIC_CRYPTO_HANDSHAKE && type == HS_FINISHED) {
			if (set_secret(fd, QUIC_CRYPTO_APP, 1, cipher, 0x21) ||
			    set_secret(fd, QUIC_CRYPTO_APP, 0, cipher, 0x22))
				return -1;
			return send_handshake(fd, QUIC_CRYPTO_HANDSHAKE, HS_FINISHED, "", 0);
		} else {
			errno = EPROTO;
			return -1;
		}
	}
}

static int server_handshake(int fd)
{
	struct hs_reader r = { 0 };
	uint8_t tp[1024], body[8192], level, type;
	socklen_t len = sizeof(tp);
	uint32_t cipher;
	size_t blen;

	if (read_handshake(fd, &r, &level, &type, body, &blen))
		return -1;
	const uint8_t *peer_tp;
	size_t peer_tplen = 0;

	if (level != QUIC_CRYPTO_INITIAL || type != HS_CLIENT_HELLO ||
	    parse_client_hello(body, blen, &cipher, &peer_tp, &peer_tplen)) {
		errno = EPROTO;
		return -1;
	}
	if (setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, peer_tp, peer_tplen))
		return -1;
	if (send_handshake(fd, QUIC_CRYPTO_INITIAL, HS_SERVER_HELLO, "", 0))
		return -1;
	if (set_secret(fd, QUIC_CRYPTO_HANDSHAKE, 1, cipher, 0x12) ||
	    set_secret(fd, QUIC_CRYPTO_HANDSHAKE, 0, cipher, 0x11))
		return -1;
	if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, tp, &len))
		return -1;
	if (send_handshake(fd, QUIC_CRYPTO_HANDSHAKE, HS_ENCRYPTED_EXTENSIONS, tp, len) ||
	    send_handshake(fd, QUIC_CRYPTO_HANDSHAKE, HS_FINISHED, "", 0))
		return -1;
	if (set_secret(fd, QUIC_CRYPTO_APP, 1, cipher, 0x22))
		return -1;
	if (read_handshake(fd, &r, &level, &type, body, &blen))
		return -1;
	if (level != QUIC_CRYPTO_HANDSHAKE || type != HS_FINISHED) {
		errno = EPROTO;
		return -1;
	}
	return set_secret(fd, QUIC_CRYPTO_APP, 0, cipher, 0x21);
}

/* ---------- addresses ---------- */

static socklen_t addr_of(const char *ip, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		return sizeof(*a4);
	}
	inet_pton(AF_INET6, ip, &a6->sin6_addr);
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	return sizeof(*a6);
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ---------- server ---------- */

static int listener_on(const char *ip, int port, int retry, const char *alpn);

static int listener(const char *ip, int retry)
{
	return listener_on(ip, 0, retry, NULL);
}

static int listener_on(const char *ip, int port, int retry, const char *alpn)
{
	struct quic_transport_param p = { 0 };
	struct quic_config cfg = { 0 };
	struct sockaddr_storage ss;
	socklen_t len = addr_of(ip, port, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, IPPROTO_QUIC);

	if (fd < 0)
		return -1;
	if (alpn && setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_ALPN, alpn, strlen(alpn)))
		return -1;
	p.max_datagram_frame_size = 1400;
	p.max_streams_bidi = 100;
	p.max_streams_uni = 100;
	p.disable_1rtt_encryption = 1;
	if (setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, &p, sizeof(p)))
		return -1;
	if (retry) {
		cfg.validate_peer_address = 1;
		if (setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONFIG, &cfg, sizeof(cfg)))
			return -1;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16))
		return -1;
	return fd;
}

/* Which server-initiated uni streams a connection opened. */
struct conn {
	int fd;
	const char *listener;
	int preferred_port;
	uint8_t uni_open[4096];
	char events[4096];
};

static void note_event(struct conn *c, const uint8_t *ev, size_t n)
{
	char line[160];
	const union quic_event *e = (const void *)(ev + 1);

	if (n < 1)
		return;
	switch (ev[0]) {
	case QUIC_EVENT_CONNECTION_MIGRATION:
		snprintf(line, sizeof(line), "migration local=%d;", e->local_migration);
		break;
	case QUIC_EVENT_CONNECTION_ID:
		snprintf(line, sizeof(line), "connection_id dest=%d;", e->info.dest);
		break;
	case QUIC_EVENT_KEY_UPDATE:
		snprintf(line, sizeof(line), "key_update phase=%d;", e->key_update_phase);
		break;
	default:
		snprintf(line, sizeof(line), "event %d;", ev[0]);
	}
	if (strlen(c->events) + strlen(line) < sizeof(c->events))
		strcat(c->events, line);
}

/* Runs one command the client sent; the reply text in `out`. */
static void command(struct conn *c, char *cmd, char *out, size_t room)
{
	long long a = 0, b = 0;
	char text[128] = "";

	snprintf(out, room, "done");
	if (sscanf(cmd, "stop_sending %lld %lld", &a, &b) == 2) {
		struct quic_errinfo e = { .stream_id = a, .errcode = b };

		if (setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_STOP_SENDING, &e, sizeof(e)))
			snprintf(out, room, "error %d", errno);
	} else if (sscanf(cmd, "reset %lld %lld", &a, &b) == 2) {
		struct quic_errinfo e = { .stream_id = a, .errcode = b };

		/* The stream is the client's bidi stream: send on it first. */
		send_on(c->fd, "x", 1, a, 0, 0);
		if (setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_RESET, &e, sizeof(e)))
			snprintf(out, room, "error %d", errno);
	} else if (sscanf(cmd, "reset_own %lld", &b) == 1) {
		/* A bidi stream of the server's own: uni ones answer the client's. */
		struct quic_stream_info si = { .stream_id = -1 };
		socklen_t len = sizeof(si);
		struct quic_errinfo e = { .errcode = b };

		if (getsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &si, &len)) {
			snprintf(out, room, "error %d", errno);
			return;
		}
		e.stream_id = si.stream_id;
		send_on(c->fd, "x", 1, si.stream_id, 0, 0);
		if (setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_RESET, &e, sizeof(e)))
			snprintf(out, room, "error %d", errno);
		else
			snprintf(out, room, "reset %lld", (long long)si.stream_id);
	} else if (!strcmp(cmd, "key_update")) {
		if (setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_KEY_UPDATE, NULL, 0))
			snprintf(out, room, "error %d", errno);
		else
			snprintf(out, room, "updated");
	} else if (!strcmp(cmd, "new_token")) {
		if (setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_TOKEN, NULL, 0))
			snprintf(out, room, "error %d", errno);
	} else if (sscanf(cmd, "retire %lld %lld", &a, &b) == 2) {
		struct quic_connection_id_info i = { .dest = a, .prior_to = b };

		if (setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &i, sizeof(i)))
			snprintf(out, room, "error %d", errno);
	} else if (sscanf(cmd, "close %lld %127[^\n]", &a, text) >= 1) {
		struct quic_connection_close cc = { .errcode = a };

		strncpy((char *)cc.phrase, text, sizeof(cc.phrase) - 1);
		if (setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, &cc, sizeof(cc)))
			snprintf(out, room, "error %d", errno);
		else
			snprintf(out, room, "closing");
	} else if (!strcmp(cmd, "ticket")) {
		uint8_t t[64];

		memset(t, 0x5a, sizeof(t));
		if (send_handshake(c->fd, QUIC_CRYPTO_APP, HS_NEW_SESSION_TICKET, t, sizeof(t)))
			snprintf(out, room, "error %d", errno);
	} else if (!strcmp(cmd, "ticket_key")) {
		/* The server's SESSION_TICKET: its master key, and the bounds of setting one. */
		uint8_t key[4097], mine[64];
		socklen_t len = sizeof(key);
		int got = getsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, key, &len) ? -1 : (int)len;
		int shortkey = setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, key, 10) && errno == EINVAL;
		int longkey = setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, key, 4097) && errno == EINVAL;
		int back;

		memset(mine, 0x33, sizeof(mine));
		len = sizeof(key);
		back = !setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, mine, sizeof(mine)) &&
		       !getsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, key, &len) &&
		       len == sizeof(mine) && !memcmp(key, mine, sizeof(mine));
		snprintf(out, room, "%d %d %d %d", got, shortkey, longkey, back);
	} else if (!strcmp(cmd, "listener")) {
		snprintf(out, room, "%s", c->listener);
	} else if (!strcmp(cmd, "events")) {
		snprintf(out, room, "%s", c->events);
		c->events[0] = '\0';
	} else {
		snprintf(out, room, "unknown command");
	}
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	static const int types[] = { QUIC_EVENT_CONNECTION_MIGRATION, QUIC_EVENT_CONNECTION_ID,
				     QUIC_EVENT_KEY_UPDATE };
	uint8_t buf[65536];
	char reply[4200];
	int closing = 0;

	if (c->preferred_port) {
		struct sockaddr_storage pa;
		socklen_t plen = addr_of("127.0.0.2", c->preferred_port, &pa);

		if (setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_MIGRATION, &pa, plen))
			fprintf(stderr, "server preferred address: %s\n", strerror(errno));
	}
	if (server_handshake(c->fd)) {
		fprintf(stderr, "server handshake: %s\n", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct quic_event_option o = { .type = types[i], .on = 1 };

		setsockopt(c->fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &o, sizeof(o));
	}
	for (;;) {
		int64_t sid;
		uint32_t flags;
		ssize_t n = recv_on(c->fd, buf, sizeof(buf) - 1, &sid, &flags, 0);

		if (n < 0)
			break;
		if (flags & MSG_QUIC_NOTIFICATION) {
			note_event(c, buf, n);
			continue;
		}
		if (flags & MSG_QUIC_DATAGRAM) {
			send(c->fd, buf, n, MSG_QUIC_DATAGRAM);
			continue;
		}
		if (closing)
			continue;
		buf[n] = '\0';
		if (n > 4 && !memcmp(buf, "cmd:", 4)) {
			command(c, (char *)buf + 4, reply, sizeof(reply));
			closing = !strcmp(reply, "closing");
			send_on(c->fd, reply, strlen(reply), sid, MSG_QUIC_STREAM_FIN, 0);
			if (closing)
				shutdown(c->fd, SHUT_WR);
			continue;
		}
		if (sid & QUIC_STREAM_TYPE_UNI_MASK) {
			int64_t out = sid + 1;
			uint32_t f = flags & MSG_QUIC_STREAM_FIN;

			if (out / 4 < (int64_t)sizeof(c->uni_open) && !c->uni_open[out / 4]) {
				c->uni_open[out / 4] = 1;
				f |= MSG_QUIC_STREAM_NEW;
			}
			send_on(c->fd, buf, n, out, f, 0);
		} else {
			send_on(c->fd, buf, n, sid, flags & MSG_QUIC_STREAM_FIN, 0);
		}
	}
out:
	close(c->fd);
	free(c);
	return NULL;
}

static int server(const char *ip)
{
	static const char *names[6] = { "main", "retry", "quic", "fake", "http3", "preferred" };
	struct pollfd p[6];
	int demux, preferred;

	p[0].fd = listener(ip, 0);
	p[1].fd = listener(ip, 1);
	/* Three listeners on one port, told apart by the ClientHello's ALPN. */
	p[2].fd = listener_on(ip, 0, 0, "quic");
	demux = port_of(p[2].fd);
	p[3].fd = listener_on(ip, demux, 0, "fake");
	p[4].fd = listener_on(ip, demux, 0, "http3");
	p[5].fd = listener_on("0.0.0.0", 0, 0, NULL);
	preferred = port_of(p[5].fd);
	for (int i = 0; i < 6; i++) {
		if (p[i].fd < 0) {
			perror("listener");
			return 1;
		}
		/* A connection poll showed may be gone before accept (accept(2), NOTES):
		 * non-blocking listeners, so accept says EAGAIN instead of waiting. */
		fcntl(p[i].fd, F_SETFL, fcntl(p[i].fd, F_GETFL) | O_NONBLOCK);
	}
	printf("port %d %d %d %d\n", port_of(p[0].fd), port_of(p[1].fd), demux, preferred);
	fflush(stdout);
	for (;;) {
		for (int i = 0; i < 6; i++)
			p[i].events = POLLIN;
		if (poll(p, 6, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		for (int i = 0; i < 6; i++) {
			struct conn *c;
			pthread_t t;
			int fd;

			if (!(p[i].revents & POLLIN))
				continue;
			fd = accept(p[i].fd, NULL, NULL);
			if (fd < 0) {
				if (errno == EAGAIN)
					continue;
				perror("accept");
				return 1;
			}
			c = calloc(1, sizeof(*c));
			c->fd = fd;
			c->listener = names[i];
			c->preferred_port = i == 5 ? preferred : 0;
			pthread_create(&t, NULL, serve, c);
			pthread_detach(t);
		}
	}
}

/* ---------- client ---------- */

static const char *group;
static int failures;

static void report(int n, const char *desc, int ok, const char *fmt, ...)
{
	char why[256] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (getenv("QT_DEBUG")) {
		struct timespec t;

		clock_gettime(CLOCK_MONOTONIC, &t);
		fprintf(stderr, "%ld.%03ld %s %d\n", (long)t.tv_sec, t.tv_nsec / 1000000, group, n);
	}
	if (ok) {
		printf("ok %s %d %s\n", group, n, desc);
	} else {
		printf("not ok %s %d %s: %s\n", group, n, desc, why);
		failures++;
	}
	fflush(stdout);
}

/* Cases that expect a call to fail with one of the errnos (0 ends the list). */
#define EXPECT_FAIL(n, desc, call, ...)                                                    \
	do {                                                                               \
		int _e[] = { __VA_ARGS__, 0 }, _ok = 0;                                    \
		errno = 0;                                                                 \
		long _r = (long)(call);                                                    \
		int _saved = errno;                                                        \
		for (int _i = 0; _e[_i]; _i++)                                             \
			_ok |= _r < 0 && _saved == _e[_i];                                 \
		report(n, desc, _ok, "returned %ld, errno %d (%s)", _r, _saved,            \
		       strerror(_saved));                                                  \
	} while (0)

/* A case whose condition makes calls: errno is read after it. */
#define CHECK(n, desc, cond)                                                               \
	do {                                                                               \
		int _ok = (cond), _saved = errno;                                          \
		report(n, desc, _ok, "errno %d (%s)", _saved, strerror(_saved));           \
	} while (0)

#define EXPECT_OK(n, desc, call)                                                           \
	do {                                                                               \
		errno = 0;                                                                 \
		long _r = (long)(call);                                                    \
		int _saved = errno;                                                        \
		report(n, desc, _r >= 0, "returned %ld, errno %d (%s)", _r, _saved,        \
		       strerror(_saved));                                                  \
	} while (0)

static int connect_alpn(const char *ip, int port, const struct quic_transport_param *p,
			const struct quic_config *cfg, uint32_t cipher, const char *alpn, int bad);

/* An event the connections made next enable before their handshake (0: none). */
static uint8_t early_event;

static int connect_to(const char *ip, int port, const struct quic_transport_param *p,
		      const struct quic_config *cfg, uint32_t cipher)
{
	return connect_alpn(ip, port, p, cfg, cipher, NULL, 0);
}

static int connect_alpn(const char *ip, int port, const struct quic_transport_param *p,
			const struct quic_config *cfg, uint32_t cipher, const char *alpn, int bad)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(ip, port, &ss);
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(ss.ss_family, SOCK_DGRAM, IPPROTO_QUIC);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -1;
	if (p && setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, p, sizeof(*p)))
		return -1;
	if (cfg && setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONFIG, cfg, sizeof(*cfg)))
		return -1;
	if (early_event) {
		struct quic_event_option o = { .type = early_event, .on = 1 };

		if (setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &o, sizeof(o)))
			return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len))
		return -1;
	if (client_handshake_alpn(fd, cipher, alpn, bad)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Events read while waiting for data, for wait_event to find. */
static struct {
	uint8_t ev[256];
	size_t len;
} backlog[64];
static int backlog_n;

/* Reads until data arrives (events go to the backlog): the stream, the bytes, the flags. */
static ssize_t read_data(int fd, void *buf, size_t len, int64_t *sid, uint32_t *flags)
{
	for (;;) {
		ssize_t n = recv_on(fd, buf, len, sid, flags, 0);

		if (n < 0 || !(*flags & MSG_QUIC_NOTIFICATION))
			return n;
		if (backlog_n < 64) {
			size_t keep = (size_t)n < sizeof(backlog[0].ev) ? (size_t)n : sizeof(backlog[0].ev);

			memcpy(backlog[backlog_n].ev, buf, keep);
			backlog[backlog_n++].len = keep;
		}
	}
}

/* Reads the echo of `msg` on `reply_sid`, to its FIN when `fin`: 0 when it came whole. */
static int read_reply(int fd, int64_t reply_sid, const char *msg, int fin)
{
	char buf[4096];
	int64_t got_sid;
	uint32_t flags;
	size_t want = strlen(msg);
	size_t have = 0;

	while (have < want || fin) {
		char piece[4096];
		ssize_t n = read_data(fd, piece, sizeof(piece), &got_sid, &flags);

		if (n < 0)
			return -1;
		if (got_sid != reply_sid)
			continue; /* the rest of an earlier case's stream */
		if (have + n > sizeof(buf)) {
			errno = EMSGSIZE;
			return -1;
		}
		memcpy(buf + have, piece, n);
		have += n;
		if (flags & MSG_QUIC_STREAM_FIN)
			break;
	}
	if (have != want || memcmp(buf, msg, want)) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* Sends `msg` on `sid` with `sflags` and reads the echo: 0 when it came on `reply_sid`. */
static int echo(int fd, int64_t sid, uint32_t sflags, int64_t reply_sid, const char *msg)
{
	size_t want = strlen(msg);

	if (send_on(fd, msg, want, sid, sflags, 0) != (ssize_t)want)
		return -1;
	return read_reply(fd, reply_sid, msg, sflags & MSG_QUIC_STREAM_FIN);
}

/* Reads until an event of `type`: its bytes (type first) in `ev`, or -1. Data and
 * other events on the way are dropped. */
static ssize_t wait_event(int fd, uint8_t type, uint8_t *ev, size_t room)
{
	for (int i = 0; i < backlog_n; i++) {
		if (backlog[i].ev[0] == type && backlog[i].len <= room) {
			ssize_t n = backlog[i].len;

			memcpy(ev, backlog[i].ev, n);
			memmove(&backlog[i], &backlog[i + 1], (backlog_n - i - 1) * sizeof(backlog[0]));
			backlog_n--;
			return n;
		}
	}
	for (;;) {
		int64_t sid;
		uint32_t flags;
		ssize_t n = recv_on(fd, ev, room, &sid, &flags, 0);

		if (n < 0)
			return -1;
		if (getenv("QT_DEBUG") && (flags & MSG_QUIC_NOTIFICATION)) {
			struct quic_stream_update u;

			memcpy(&u, ev + 1, sizeof(u));
			fprintf(stderr, "event %d (stream %lld state %d) waiting for %d\n", ev[0], (long long)u.id, u.state, type);
		} else if (getenv("QT_DEBUG")) {
			fprintf(stderr, "data %zd on %lld waiting for %d\n", n, (long long)sid, type);
		}
		if ((flags & MSG_QUIC_NOTIFICATION) && n > 0 && ev[0] == type)
			return n;
	}
}

/* Runs a command on the server; its answer in `out`. */
static int run_command(int fd, const char *cmd, char *out, size_t room)
{
	struct quic_stream_info s = { .stream_id = -1 };
	socklen_t len = sizeof(s);
	char msg[256];
	int64_t sid;
	uint32_t flags;
	ssize_t n;

	if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &s, &len)) {
		snprintf(out, room, "STREAM_OPEN: %s", strerror(errno));
		return -1;
	}
	snprintf(msg, sizeof(msg), "cmd:%s", cmd);
	if (send_on(fd, msg, strlen(msg), s.stream_id, MSG_QUIC_STREAM_FIN, 0) < 0)
		return -1;
	do
		n = read_data(fd, out, room - 1, &sid, &flags);
	while (n >= 0 && sid != s.stream_id);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return strncmp(out, "error", 5) ? 0 : -1;
}

/* Closes streams one at a time until `call` on `target` (an open or a send that must not
 * wait) stops failing with EAGAIN: the peer raises its limit as streams close. When only
 * the target is left below the limit's reach, `call` waits for the peer's MAX_STREAMS
 * instead (`wait`). */
static int grow_until(int fd, int64_t target, int uni, int (*call)(int fd, int64_t target, int wait))
{
	for (;;) {
		struct quic_stream_info s = { .stream_id = -1,
					      .stream_flags = uni ? MSG_QUIC_STREAM_UNI : 0 };
		socklen_t len = sizeof(s);

		if (!call(fd, target, 0))
			return 0;
		if (errno != EAGAIN)
			return -1;
		if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &s, &len))
			return -1;
		if (echo(fd, s.stream_id, MSG_QUIC_STREAM_FIN, uni ? s.stream_id + 1 : s.stream_id, "c"))
			return -1;
		if (s.stream_id + 4 >= target)
			return call(fd, target, 1);
	}
}

static int send_dontwait(int fd, int64_t target, int wait)
{
	int uni = target & QUIC_STREAM_TYPE_UNI_MASK;
	uint32_t flags = MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN | (wait ? 0 : MSG_QUIC_STREAM_DONTWAIT);

	if (send_on(fd, "d", 1, target, flags, 0) != 1)
		return -1;
	return read_reply(fd, uni ? target + 1 : target, "d", 1);
}

static int open_dontwait(int fd, int64_t target, int wait)
{
	struct quic_stream_info s = { .stream_id = target,
				      .stream_flags = wait ? 0 : MSG_QUIC_STREAM_DONTWAIT };
	socklen_t len = sizeof(s);
	int uni = target & QUIC_STREAM_TYPE_UNI_MASK;

	if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &s, &len))
		return -1;
	return echo(fd, target, MSG_QUIC_STREAM_FIN, uni ? target + 1 : target, "o");
}

static int reset(int fd, int64_t sid, uint32_t code)
{
	struct quic_errinfo e = { .stream_id = sid, .errcode = code };

	return setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_RESET, &e, sizeof(e));
}

static int stop_sending(int fd, int64_t sid, uint32_t code)
{
	struct quic_errinfo e = { .stream_id = sid, .errcode = code };

	return setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_STOP_SENDING, &e, sizeof(e));
}

static int64_t stream_open(int fd, int64_t sid, uint32_t flags)
{
	struct quic_stream_info s = { .stream_id = sid, .stream_flags = flags };
	socklen_t len = sizeof(s);

	if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &s, &len))
		return -1;
	return s.stream_id;
}

static void handshake_tests(const char *ip, int port, int retry_port, int demux_port, int preferred_port)
{
	struct quic_transport_param p = { 0 };
	struct quic_config cfg = { 0 };
	socklen_t len;
	int fd;

	group = "handshake";
	fd = connect_to(ip, retry_port, NULL, NULL, TLS_CIPHER_AES_GCM_128);
	CHECK(1, "Retry (validate_peer_address)", fd >= 0 && !echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "retry"));
	close(fd);

	cfg.version = QUIC_VERSION_V2;
	fd = connect_to(ip, port, NULL, &cfg, TLS_CIPHER_AES_GCM_128);
	memset(&cfg, 0, sizeof(cfg));
	len = sizeof(cfg);
	report(2, "QUIC v2", fd >= 0 && !echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "v2") &&
	       !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONFIG, &cfg, &len) && cfg.version == QUIC_VERSION_V2,
	       "errno %d (%s), version %#x", errno, strerror(errno), cfg.version);
	close(fd);

	memset(&cfg, 0, sizeof(cfg));
	cfg.version = 123;
	fd = connect_to(ip, port, NULL, &cfg, TLS_CIPHER_AES_GCM_128);
	memset(&cfg, 0, sizeof(cfg));
	len = sizeof(cfg);
	report(3, "Version Negotiation (version 123): the connection runs in v1",
	       fd >= 0 && !echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "vn") &&
	       !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONFIG, &cfg, &len) && cfg.version == QUIC_VERSION_V1,
	       "errno %d (%s), version %#x", errno, strerror(errno), cfg.version);
	if (fd >= 0)
		close(fd);

	fd = connect_to(ip, port, NULL, NULL, TLS_CIPHER_AES_GCM_256);
	CHECK(4, "AES-256-GCM", fd >= 0 && !echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "aes256"));
	close(fd);

	fd = connect_to(ip, port, NULL, NULL, TLS_CIPHER_AES_CCM_128);
	CHECK(5, "AES-128-CCM", fd >= 0 && !echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "ccm"));
	close(fd);

	fd = connect_to(ip, port, NULL, NULL, TLS_CIPHER_CHACHA20_POLY1305);
	CHECK(6, "ChaCha20-Poly1305", fd >= 0 && !echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "chacha"));
	close(fd);

	{
		/*
		 * The server prefers 127.0.0.2: the client validates it and moves there, as soon
		 * as its handshake is confirmed (so the event is enabled before the handshake).
		 */
		struct sockaddr_in peer = { 0 };
		socklen_t plen = sizeof(peer);
		uint8_t ev[64] = { 0 };
		ssize_t n = -1;

		const char *step = "connect";
		int e = 0;

		early_event = QUIC_EVENT_CONNECTION_MIGRATION;
		fd = connect_to(ip, preferred_port, NULL, NULL, TLS_CIPHER_AES_GCM_128);
		early_event = 0;
		if (fd >= 0) {
			step = "echo";
			if (!echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "preferred")) {
				step = "migration event";
				n = wait_event(fd, QUIC_EVENT_CONNECTION_MIGRATION, ev, sizeof(ev));
			}
		}
		e = errno;
		if (n > 0)
			getpeername(fd, (struct sockaddr *)&peer, &plen);
		report(7, "Preferred address: the client moves to the server's, getpeername shows it",
		       n > 1 && ev[1] == 0 && peer.sin_addr.s_addr == htonl(0x7f000002) &&
		       ntohs(peer.sin_port) == preferred_port && !echo(fd, 4, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 4, "moved"),
		       "%s: %s; event %zd local %d, peer %x:%d", step, n > 0 ? "ok" : strerror(e), n, ev[1],
		       ntohl(peer.sin_addr.s_addr), ntohs(peer.sin_port));
		if (fd >= 0)
			close(fd);
	}
	{
		/* Each connection reaches the listener of its ALPN. */
		static const char *alpns[3] = { "fake", "http3", "quic" };
		char out[64];
		int ok = 1;

		for (int i = 0; i < 3; i++) {
			struct timeval tv = { .tv_sec = 3 };

			fd = connect_alpn(ip, demux_port, NULL, NULL, TLS_CIPHER_AES_GCM_128, alpns[i], 0);
			if (fd >= 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			ok &= fd >= 0 && !run_command(fd, "listener", out, sizeof(out)) && !strcmp(out, alpns[i]);
			if (fd >= 0)
				close(fd);
		}
		CHECK(8, "ALPN demux: three listeners on one port, each connection to its ALPN's", ok);
		/* A ClientHello whose length lies is refused; the port serves the next client. */
		fd = connect_alpn(ip, demux_port, NULL, NULL, TLS_CIPHER_AES_GCM_128, "fake", 1);
		ok = fd < 0;
		if (fd >= 0)
			close(fd);
		fd = connect_alpn(ip, demux_port, NULL, NULL, TLS_CIPHER_AES_GCM_128, "fake", 0);
		ok &= fd >= 0 && !run_command(fd, "listener", out, sizeof(out)) && !strcmp(out, "fake");
		if (fd >= 0)
			close(fd);
		CHECK(9, "ALPN demux: a malformed ClientHello is refused and harms nothing", ok);
	}

	p.disable_1rtt_encryption = 1;
	fd = connect_to(ip, port, &p, NULL, TLS_CIPHER_AES_GCM_128);
	memset(&p, 0, sizeof(p));
	p.remote = 1;
	len = sizeof(p);
	CHECK(10, "1-RTT encryption disabled, with an echo", fd >= 0 && !echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "plain") &&
	       !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, &p, &len) && p.disable_1rtt_encryption);
	close(fd);

	memset(&p, 0, sizeof(p));
	p.max_datagram_frame_size = 1400;
	fd = connect_to(ip, port, &p, NULL, TLS_CIPHER_AES_GCM_128);
	{
		char buf[64];
		int64_t sid;
		uint32_t flags = 0;
		ssize_t n = -1;

		if (fd >= 0 && send(fd, "datagram", 8, MSG_QUIC_DATAGRAM) == 8)
			n = recv_on(fd, buf, sizeof(buf), &sid, &flags, 0);
		report(11, "Datagram enabled", n == 8 && (flags & MSG_QUIC_DATAGRAM) && !memcmp(buf, "datagram", 8),
		       "n %zd flags %#x errno %d (%s)", n, flags, errno, strerror(errno));
	}
	close(fd);
}

static void stream_tests(int fd)
{
	char buf[256];
	int64_t sid;

	group = "stream";
	EXPECT_FAIL(1, "Cannot send on a non-opened stream", send_on(fd, "a", 1, 0, 0, 0), EINVAL);
	EXPECT_OK(2, "Open a stream with STREAM_NEW (sid 4 opens 0 as well)",
		  echo(fd, 4, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 4, "four"));
	EXPECT_OK(3, "Streams open in order: sid 0 is usable", echo(fd, 0, MSG_QUIC_STREAM_FIN, 0, "zero"));
	EXPECT_OK(4, "Next bidi stream with sid -1",
		  echo(fd, -1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 8, "next bidi"));
	EXPECT_OK(5, "Next uni stream with sid -1",
		  echo(fd, -1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_UNI | MSG_QUIC_STREAM_FIN, 3, "next uni"));
	EXPECT_FAIL(6, "Cannot reopen a closed stream", send_on(fd, "a", 1, 0, MSG_QUIC_STREAM_NEW, 0), EINVAL, ENOSTR);
	sid = stream_open(fd, -1, 0);
	report(7, "STREAM_OPEN: next bidi", sid == 12, "got %lld errno %d", (long long)sid, errno);
	sid = stream_open(fd, -1, MSG_QUIC_STREAM_UNI);
	report(8, "STREAM_OPEN: next uni", sid == 6, "got %lld errno %d", (long long)sid, errno);
	report(9, "Several STREAM_OPENs", stream_open(fd, -1, 0) == 16 && stream_open(fd, -1, 0) == 20,
	       "errno %d", errno);
	CHECK(10, "Data on several streams", !echo(fd, 12, MSG_QUIC_STREAM_FIN, 12, "twelve") && !echo(fd, 16, MSG_QUIC_STREAM_FIN, 16, "sixteen") &&
	       !echo(fd, 20, MSG_QUIC_STREAM_FIN, 20, "twenty") && !echo(fd, 6, MSG_QUIC_STREAM_FIN, 7, "six"));
	sid = stream_open(fd, -1, 0); /* 24, open */
	EXPECT_FAIL(11, "STREAM_NEW not allowed on an open stream", send_on(fd, "a", 1, sid, MSG_QUIC_STREAM_NEW, 0), EINVAL);
	EXPECT_FAIL(12, "STREAM_OPEN not allowed on an open stream", stream_open(fd, sid, 0), EINVAL);
	EXPECT_FAIL(13, "STREAM_NEW not allowed with sid -1 while the active stream is open",
		    send_on(fd, "a", 1, -1, MSG_QUIC_STREAM_NEW, 0), EINVAL);
	{
		int64_t got;
		uint32_t flags = 0;
		ssize_t n = -2;

		if (send_on(fd, "", 0, sid, MSG_QUIC_STREAM_FIN, 0) == 0)
			n = read_data(fd, buf, sizeof(buf), &got, &flags);
		report(14, "A FIN-only frame", n == 0 && got == sid && (flags & MSG_QUIC_STREAM_FIN),
		       "n %zd sid %lld flags %#x errno %d", n, (long long)got, flags, errno);
	}
	/* The server allows 100 streams of each kind at a time and more as they close. */
	EXPECT_OK(15, "sid 400, above the initial bidi limit, once earlier streams closed",
		  echo(fd, 400, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 400, "400"));
	EXPECT_OK(16, "sid 402, above the initial uni limit, once earlier streams closed",
		  echo(fd, 402, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 403, "402"));
	EXPECT_FAIL(17, "sid above the current bidi limit with STREAM_DONTWAIT",
		    send_on(fd, "a", 1, 1200, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_DONTWAIT, 0), EAGAIN);
	CHECK(18, "Send after max_streams_bidi increases", !grow_until(fd, 1200, 0, send_dontwait));
	EXPECT_FAIL(19, "sid above the current uni limit with STREAM_DONTWAIT",
		    send_on(fd, "a", 1, 1202, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_DONTWAIT, 0), EAGAIN);
	CHECK(20, "Send after max_streams_uni increases", !grow_until(fd, 1202, 1, send_dontwait));
	/* 21-26: the same through STREAM_OPEN; the peer allows 100 streams beyond the last
	 * closed one. */
	{
		/* A stream past the next one: within what the peer allows now. */
		int64_t next = stream_open(fd, -1, 0), want = next + 4;

		echo(fd, next, MSG_QUIC_STREAM_FIN, next, "n");
		sid = stream_open(fd, want, 0);
		report(21, "STREAM_OPEN: a sid above the initial bidi limit, once earlier streams closed",
		       sid == want && want > 400 && !echo(fd, sid, MSG_QUIC_STREAM_FIN, sid, "o"),
		       "wanted %lld got %lld errno %d", (long long)want, (long long)sid, errno);
		next = stream_open(fd, -1, MSG_QUIC_STREAM_UNI);
		want = next + 4;
		echo(fd, next, MSG_QUIC_STREAM_FIN, next + 1, "n");
		sid = stream_open(fd, want, MSG_QUIC_STREAM_UNI);
		report(22, "STREAM_OPEN: a sid above the initial uni limit, once earlier streams closed",
		       sid == want && want > 400 && !echo(fd, sid, MSG_QUIC_STREAM_FIN, sid + 1, "o"),
		       "wanted %lld got %lld errno %d", (long long)want, (long long)sid, errno);
	}
	EXPECT_FAIL(23, "STREAM_OPEN above the current bidi limit with STREAM_DONTWAIT",
		    stream_open(fd, 2800, MSG_QUIC_STREAM_DONTWAIT), EAGAIN);
	CHECK(24, "STREAM_OPEN after max_streams_bidi increases", !grow_until(fd, 2800, 0, open_dontwait));
	EXPECT_FAIL(25, "STREAM_OPEN above the current uni limit with STREAM_DONTWAIT",
		    stream_open(fd, 2802, MSG_QUIC_STREAM_UNI | MSG_QUIC_STREAM_DONTWAIT), EAGAIN);
	CHECK(26, "STREAM_OPEN after max_streams_uni increases", !grow_until(fd, 2802, 1, open_dontwait));
}

/* 27-36 on a connection of their own: 1-26 use up the peer's stream allowance. */
static void stream_reset_tests(int fd)
{
	char buf[256];
	int64_t sid;

	group = "stream";
	/* Stream 0 closed, client uni 2 (send-only) and server uni 3 (receive-only) open. */
	if (echo(fd, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN, 0, "zero") ||
	    echo(fd, 2, MSG_QUIC_STREAM_NEW, 3, "two"))
		report(27, "setting up streams 0, 2 and 3", 0, "%s", strerror(errno));
	EXPECT_FAIL(27, "Cannot reset a closed stream", reset(fd, 0, 1), EINVAL, ENOSTR);
	EXPECT_FAIL(28, "Cannot reset a stream never opened", reset(fd, 4000, 1), EINVAL, ENOSTR);
	EXPECT_FAIL(29, "Cannot reset a receive-only stream", reset(fd, 3, 1), EINVAL, ENOSTR);
	sid = stream_open(fd, -1, 0);
	echo(fd, sid, 0, sid, "partial");
	EXPECT_OK(30, "Reset an open stream", reset(fd, sid, 1));
	EXPECT_FAIL(31, "Cannot send on a reset stream", send_on(fd, "a", 1, sid, 0, 0), EINVAL, EPIPE, ECONNRESET);
	EXPECT_FAIL(32, "Cannot stop-sending on a closed stream", stop_sending(fd, 0, 1), EINVAL, ENOSTR);
	EXPECT_FAIL(33, "Cannot stop-sending on a stream never opened", stop_sending(fd, 4000, 1), EINVAL, ENOSTR);
	EXPECT_FAIL(34, "Cannot stop-sending on a send-only stream", stop_sending(fd, 2, 1), EINVAL, ENOSTR);
	sid = stream_open(fd, -1, 0);
	/* The server has the stream once it answered on it. */
	echo(fd, sid, 0, sid, "still open");
	snprintf(buf, sizeof(buf), "stop_sending %lld 7", (long long)sid);
	{
		char out[128];

		report(35, "The peer's STOP_SENDING is taken", !run_command(fd, buf, out, sizeof(out)),
		       "%s errno %d", out, errno);
	}
	EXPECT_FAIL(36, "Cannot send after the peer's STOP_SENDING", send_on(fd, "a", 1, sid, 0, 0), EPIPE, ECONNRESET, EINVAL);
}

static void connection_tests(int fd, const char *ip)
{
	struct quic_connection_id_info info;
	socklen_t len;
	char out[4200];

	group = "connection";
	memset(&info, 0, sizeof(info));
	info.dest = 0;
	info.prior_to = 3;
	len = sizeof(info);
	{
		int r = setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &info, sizeof(info));
		int e = errno, trips = 0;

		/*
		 * The peer retires them when it hears: a round trip, and once in many runs on a
		 * loaded machine more, which the loop allows.
		 */
		do {
			int64_t sid = stream_open(fd, -1, 0);

			echo(fd, sid, MSG_QUIC_STREAM_FIN, sid, "retire");
			len = sizeof(info);
			getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &info, &len);
		} while (!r && info.prior_to != 3 && ++trips < 10);
		report(1, "Retire source connection IDs below 3", !r && info.prior_to == 3,
		       "set %d errno %d, then active %u prior_to %u after %d more round trips", r, e, info.active,
		       info.prior_to, trips);
	}
	memset(&info, 0, sizeof(info));
	info.active = 1;
	EXPECT_FAIL(2, "An active source connection ID is refused",
		    setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &info, sizeof(info)), EINVAL);
	memset(&info, 0, sizeof(info));
	info.prior_to = 100;
	EXPECT_FAIL(3, "A source prior_to beyond the issued IDs is refused",
		    setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &info, sizeof(info)), EINVAL);
	memset(&info, 0, sizeof(info));
	info.dest = 1;
	info.prior_to = 2;
	len = sizeof(info);
	EXPECT_OK(4, "Retire destination connection IDs below 2",
		  setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &info, sizeof(info)) ||
		  getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &info, &len) || info.prior_to != 2 ? -1 : 0);
	memset(&info, 0, sizeof(info));
	info.dest = 1;
	info.active = 100;
	EXPECT_FAIL(5, "A destination connection ID that does not exist cannot be made active",
		    setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &info, sizeof(info)), EINVAL);
	memset(&info, 0, sizeof(info));
	info.dest = 1;
	info.prior_to = 100;
	EXPECT_FAIL(6, "A destination prior_to beyond the issued IDs is refused",
		    setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_ID, &info, sizeof(info)), EINVAL);
	{
		struct sockaddr_storage ss;
		socklen_t alen = sizeof(ss);

		getsockname(fd, (struct sockaddr *)&ss, &alen);
		EXPECT_FAIL(7, "Migration to the same address is refused",
			    setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_MIGRATION, &ss, alen), EINVAL);
		EXPECT_FAIL(8, "Migration with a short optlen is refused",
			    setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_MIGRATION, &ss, 4), EINVAL);
		{
			/*
			 * quicsock moves a connection to another local IP on its UDP socket. A second
			 * migration asked for while the first is validating is refused with EAGAIN; on
			 * loopback the first can be complete before the second is asked (it is then
			 * the same address: EINVAL), so the pair is tried again to another address,
			 * up to five times.
			 */
			static const char *const ips[] = { "127.0.0.2", "127.0.0.3" };
			struct quic_event_option o = { .type = QUIC_EVENT_CONNECTION_MIGRATION, .on = 1 };
			int r = -1, e = 0, refused = 0, moved = 1, tries = 0;
			const char *ip_to = ips[0];
			uint8_t ev[256];

			(void)ip;
			setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &o, sizeof(o));
			while (!refused && moved && tries < 5) {
				struct sockaddr_storage to;
				socklen_t tlen;

				ip_to = ips[tries++ % 2];
				tlen = addr_of(ss.ss_family == AF_INET ? ip_to : "::1", 0, &to);
				if (setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_MIGRATION, &to, tlen)) {
					e = errno;
					break;
				}
				errno = 0;
				r = setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_MIGRATION, &to, tlen);
				e = errno;
				refused = r < 0 && e == EAGAIN;
				r = wait_event(fd, QUIC_EVENT_CONNECTION_MIGRATION, ev, sizeof(ev));
				alen = sizeof(ss);
				getsockname(fd, (struct sockaddr *)&ss, &alen);
				moved = r > 0 && ev[1] == 1 && ss.ss_family == AF_INET &&
					((struct sockaddr_in *)&ss)->sin_addr.s_addr == inet_addr(ip_to);
			}
			report(9, "A migration while another is pending is refused", refused,
			       "%d tries, the last second call: errno %d (%s)", tries, e, strerror(e));
			report(10, "Migration succeeds: the event, and getsockname shows the new address", moved,
			       "to %s: event %d local %d", ip_to, r, ev[1]);
			o.on = 0;
			setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &o, sizeof(o));
		}
	}
	report(13, "The peer's key update completes, data flows", !run_command(fd, "key_update", out, sizeof(out)),
	       "%s: %s", out, strerror(errno));
	{
		/* Refused (EINVAL) until the peer's update is complete, about 2 PTO. */
		int r = -1, tries = 0, e;
		int64_t sid;

		while (tries++ < 500 && (r = setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_KEY_UPDATE, NULL, 0)) && errno == EINVAL)
			usleep(10000);
		e = errno;
		EXPECT_FAIL(11, "A second key update while one is pending is refused",
			    setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_KEY_UPDATE, NULL, 0), EINVAL);
		sid = stream_open(fd, -1, 0);
		report(12, "A local key update (once the peer's completed) starts and data flows after it",
		       !r && !echo(fd, sid, MSG_QUIC_STREAM_FIN, sid, "after update"),
		       "update %d (%s) after %d tries, then %s", r, strerror(e), tries, strerror(errno));
	}
	{
		uint8_t token[256];
		int r = run_command(fd, "new_token", out, sizeof(out));

		len = sizeof(token);
		report(14, "NEW_TOKEN is received and TOKEN reads it",
		       !r && !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TOKEN, token, &len) && len > 0, "%s: len %u errno %d",
		       out, len, errno);
	}
	EXPECT_FAIL(15, "A NULL token is refused", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TOKEN, NULL, 0), EINVAL);
	{
		uint8_t token[121] = { 1 };

		EXPECT_FAIL(16, "A token over 120 bytes is refused",
			    setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TOKEN, token, sizeof(token)), EINVAL);
	}
	{
		uint8_t t[4096];

		len = sizeof(t);
		report(17, "No session ticket yet: length 0",
		       !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, t, &len) && len == 0, "len %u errno %d", len, errno);
	}
	{
		int got = 0, shortkey = 0, longkey = 0, back = 0;

		if (!run_command(fd, "ticket_key", out, sizeof(out)))
			sscanf(out, "%d %d %d %d", &got, &shortkey, &longkey, &back);
		report(18, "The server's ticket master key is 64 bytes", got == 64, "%s", out);
		report(19, "A master key under 64 bytes is refused", shortkey, "%s", out);
		report(20, "A master key over 4096 bytes is refused", longkey, "%s", out);
		report(21, "A master key can be set and read back", back, "%s", out);
	}
	{
		char buf[64];
		int64_t sid;
		uint32_t flags = 0;
		ssize_t n = -1;

		if (send(fd, "datagram", 8, MSG_QUIC_DATAGRAM) == 8)
			do
				n = recv_on(fd, buf, sizeof(buf), &sid, &flags, 0);
			while (n >= 0 && !(flags & MSG_QUIC_DATAGRAM));
		report(22, "A datagram is echoed", n == 8 && (flags & MSG_QUIC_DATAGRAM) && !memcmp(buf, "datagram", 8),
		       "n %zd flags %#x errno %d", n, flags, errno);
	}
	{
		static char big[4096];

		EXPECT_FAIL(23, "A 4096-byte datagram is refused", send(fd, big, sizeof(big), MSG_QUIC_DATAGRAM), EMSGSIZE);
	}
}

static int set_event(int fd, uint8_t type, int on)
{
	struct quic_event_option o = { .type = type, .on = on };

	return setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &o, sizeof(o));
}

static int event_on(int fd, uint8_t type)
{
	struct quic_event_option o = { .type = type };
	socklen_t len = sizeof(o);

	if (getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &o, &len))
		return -1;
	return o.on;
}

/* The next stream-update event for `sid` with `state`; other events and data dropped. */
static int wait_stream_state(int fd, int64_t sid, uint8_t state, struct quic_stream_update *u)
{
	uint8_t ev[256];

	for (;;) {
		ssize_t n = wait_event(fd, QUIC_EVENT_STREAM_UPDATE, ev, sizeof(ev));

		if (n < 0)
			return -1;
		memcpy(u, ev + 1, sizeof(*u));
		if (u->id == sid && u->state == state)
			return 0;
	}
}

static void notification_tests(int fd)
{
	struct quic_stream_update u;
	uint8_t ev[256], buf[256];
	char out[4200];
	int64_t sid, got;
	uint32_t flags;
	int seen_recv = 0, seen_recvd = 0, data_after = 0;

	group = "notification";
	CHECK(1, "Enable STREAM_UPDATE", !set_event(fd, QUIC_EVENT_STREAM_UPDATE, 1) &&
	      event_on(fd, QUIC_EVENT_STREAM_UPDATE) == 1);
	/* A uni stream: the echo comes on a stream the server opens, its events before its
	 * data. */
	sid = stream_open(fd, -1, MSG_QUIC_STREAM_UNI);
	send_on(fd, "notify", 6, sid, MSG_QUIC_STREAM_FIN, 0);
	for (;;) {
		ssize_t n = recv_on(fd, buf, sizeof(buf), &got, &flags, 0);

		if (n < 0)
			break;
		if (flags & MSG_QUIC_NOTIFICATION) {
			memcpy(&u, buf + 1, sizeof(u));
			if (buf[0] == QUIC_EVENT_STREAM_UPDATE && u.id == sid + 1) {
				seen_recv |= u.state == QUIC_STREAM_RECV_STATE_RECV;
				seen_recvd |= u.state == QUIC_STREAM_RECV_STATE_RECVD;
			} else if (backlog_n < 64) {
				memcpy(backlog[backlog_n].ev, buf, n);
				backlog[backlog_n++].len = n;
			}
			continue;
		}
		if (got == sid + 1) {
			data_after = seen_recv && seen_recvd && n == 6 && !memcmp(buf, "notify", 6);
			break;
		}
	}
	CHECK(2, "SEND_STATE_RECVD once the data is acknowledged",
	      !wait_stream_state(fd, sid, QUIC_STREAM_SEND_STATE_RECVD, &u));
	report(3, "RECV_STATE_RECV when the peer's stream first had data", seen_recv, "not seen");
	report(4, "RECV_STATE_RECVD when all of it came", seen_recvd, "not seen");
	report(5, "The data is read after its events", data_after, "recv %d recvd %d", seen_recv, seen_recvd);
	sid = stream_open(fd, -1, 0);
	echo(fd, sid, 0, sid, "to reset");
	reset(fd, sid, 3);
	CHECK(6, "SEND_STATE_RESET_RECVD once our RESET_STREAM is acknowledged",
	      !wait_stream_state(fd, sid, QUIC_STREAM_SEND_STATE_RESET_RECVD, &u));
	sid = stream_open(fd, -1, 0);
	echo(fd, sid, 0, sid, "to stop");
	snprintf((char *)buf, sizeof(buf), "stop_sending %lld 9", (long long)sid);
	run_command(fd, (char *)buf, out, sizeof(out));
	CHECK(7, "SEND_STATE_RESET_SENT after the peer's STOP_SENDING",
	      !wait_stream_state(fd, sid, QUIC_STREAM_SEND_STATE_RESET_SENT, &u) && u.errcode == 9);
	CHECK(8, "SEND_STATE_RESET_RECVD after it", !wait_stream_state(fd, sid, QUIC_STREAM_SEND_STATE_RESET_RECVD, &u));
	{
		long long reset_sid = -1;

		if (!run_command(fd, "reset_own 11", out, sizeof(out)))
			sscanf(out, "reset %lld", &reset_sid);
		CHECK(9, "RECV_STATE_RECV on the peer's stream it then resets",
		      !wait_stream_state(fd, reset_sid, QUIC_STREAM_RECV_STATE_RECV, &u));
		CHECK(10, "RECV_STATE_RESET_RECVD with the peer's code",
		      !wait_stream_state(fd, reset_sid, QUIC_STREAM_RECV_STATE_RESET_RECVD, &u) && u.errcode == 11);
	}
	CHECK(11, "Disable STREAM_UPDATE", !set_event(fd, QUIC_EVENT_STREAM_UPDATE, 0) &&
	      event_on(fd, QUIC_EVENT_STREAM_UPDATE) == 0);

	CHECK(12, "Enable STREAM_MAX_STREAM", !set_event(fd, QUIC_EVENT_STREAM_MAX_STREAM, 1));
	{
		uint64_t most = 0;

		sid = stream_open(fd, -1, 0);
		echo(fd, sid, MSG_QUIC_STREAM_FIN, sid, "m");
		if (wait_event(fd, QUIC_EVENT_STREAM_MAX_STREAM, ev, sizeof(ev)) > 0)
			memcpy(&most, ev + 1, sizeof(most));
		report(13, "STREAM_MAX_STREAM for bidi streams, once one closed", most > (uint64_t)sid && !(most & 3),
		       "stream %lld, most %llu", (long long)sid, (unsigned long long)most);
		most = 0;
		sid = stream_open(fd, -1, MSG_QUIC_STREAM_UNI);
		echo(fd, sid, MSG_QUIC_STREAM_FIN, sid + 1, "m");
		/* Skip the bidi ones still queued. */
		while ((most & 3) != 2 && wait_event(fd, QUIC_EVENT_STREAM_MAX_STREAM, ev, sizeof(ev)) > 0)
			memcpy(&most, ev + 1, sizeof(most));
		report(14, "STREAM_MAX_STREAM for uni streams", most > (uint64_t)sid && (most & 3) == 2,
		       "stream %lld, most %llu", (long long)sid, (unsigned long long)most);
	}
	CHECK(15, "Disable STREAM_MAX_STREAM", !set_event(fd, QUIC_EVENT_STREAM_MAX_STREAM, 0));

	CHECK(16, "Enable CONNECTION_MIGRATION", !set_event(fd, QUIC_EVENT_CONNECTION_MIGRATION, 1));
	{
		struct sockaddr_storage to;
		socklen_t tlen = addr_of("127.0.0.2", 0, &to);
		ssize_t n = -1;

		if (!setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_MIGRATION, &to, tlen))
			n = wait_event(fd, QUIC_EVENT_CONNECTION_MIGRATION, ev, sizeof(ev));
		report(17, "CONNECTION_MIGRATION with local_migration 1 after ours", n > 1 && ev[1] == 1,
		       "n %zd errno %d", n, errno);
		run_command(fd, "events", out, sizeof(out));
		report(18, "The peer's CONNECTION_MIGRATION says local_migration 0", !!strstr(out, "migration local=0"),
		       "server saw: %s", out);
	}
	CHECK(19, "Disable CONNECTION_MIGRATION", !set_event(fd, QUIC_EVENT_CONNECTION_MIGRATION, 0));

	CHECK(20, "Enable KEY_UPDATE", !set_event(fd, QUIC_EVENT_KEY_UPDATE, 1));
	{
		int tries = 0, r;

		while ((r = run_command(fd, "key_update", out, sizeof(out))) && tries++ < 500)
			usleep(10000);
		sid = stream_open(fd, -1, 0);
		CHECK(21, "Data flows after the peer's key update", !r && !echo(fd, sid, MSG_QUIC_STREAM_FIN, sid, "k"));
		r = wait_event(fd, QUIC_EVENT_KEY_UPDATE, ev, sizeof(ev));
		report(22, "KEY_UPDATE for the peer's update, with the new phase", r > 1 && ev[1] == 1,
		       "n %d phase %d", r, ev[1]);
	}
	CHECK(23, "Disable KEY_UPDATE", !set_event(fd, QUIC_EVENT_KEY_UPDATE, 0));

	CHECK(24, "Enable NEW_TOKEN", !set_event(fd, QUIC_EVENT_NEW_TOKEN, 1));
	{
		ssize_t n = -1;

		if (!run_command(fd, "new_token", out, sizeof(out)))
			n = wait_event(fd, QUIC_EVENT_NEW_TOKEN, ev, sizeof(ev));
		report(25, "NEW_TOKEN with the token", n > 1, "n %zd: %s", n, out);
	}
	CHECK(26, "Disable NEW_TOKEN", !set_event(fd, QUIC_EVENT_NEW_TOKEN, 0));

	CHECK(27, "Enable CONNECTION_ID", !set_event(fd, QUIC_EVENT_CONNECTION_ID, 1));
	{
		struct quic_connection_id_info info;
		ssize_t n = -1;

		/* The server retires its destination IDs: ours. */
		if (!run_command(fd, "retire 1 2", out, sizeof(out)))
			n = wait_event(fd, QUIC_EVENT_CONNECTION_ID, ev, sizeof(ev));
		memcpy(&info, ev + 1, sizeof(info));
		report(28, "CONNECTION_ID for our (source) IDs the peer retired", n > 0 && info.dest == 0,
		       "n %zd dest %d: %s", n, info.dest, out);
		n = -1;
		/* The server retires its source IDs: we retire our destination IDs. */
		if (!run_command(fd, "retire 0 3", out, sizeof(out)))
			n = wait_event(fd, QUIC_EVENT_CONNECTION_ID, ev, sizeof(ev));
		memcpy(&info, ev + 1, sizeof(info));
		report(29, "CONNECTION_ID for the peer's (destination) IDs it asked us to retire",
		       n > 0 && info.dest == 1, "n %zd dest %d: %s", n, info.dest, out);
	}
	CHECK(30, "Disable CONNECTION_ID", !set_event(fd, QUIC_EVENT_CONNECTION_ID, 0));

	CHECK(31, "Enable NEW_SESSION_TICKET", !set_event(fd, QUIC_EVENT_NEW_SESSION_TICKET, 1));
	{
		ssize_t n = -1;
		uint8_t t[4200];
		socklen_t len = sizeof(t);

		if (!run_command(fd, "ticket", out, sizeof(out)))
			n = wait_event(fd, QUIC_EVENT_NEW_SESSION_TICKET, ev, sizeof(ev));
		report(32, "NEW_SESSION_TICKET with the raw message", n == 1 + 4 + 64 && ev[1] == HS_NEW_SESSION_TICKET,
		       "n %zd: %s", n, out);
		report(33, "SESSION_TICKET reads it", !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, t, &len) &&
		       len == 4 + 64 && t[4] == 0x5a, "len %u", len);
	}
	CHECK(34, "Disable NEW_SESSION_TICKET", !set_event(fd, QUIC_EVENT_NEW_SESSION_TICKET, 0));
}

static void close_tests(int fd)
{
	struct quic_connection_close cc;
	uint8_t ev[256];
	char out[256];
	socklen_t len = sizeof(cc);

	group = "close";
	memset(&cc, 0xff, sizeof(cc));
	report(3, "The default close info, at its full length",
	       !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, &cc, &len) && len == sizeof(cc) &&
	       cc.errcode == 0 && cc.phrase[0] == 0, "len %u errcode %u", len, cc.errcode);
	memset(&cc, 0, sizeof(cc));
	cc.errcode = 5;
	strcpy((char *)cc.phrase, "local phrase");
	len = sizeof(cc);
	report(4, "Close info set and read back",
	       !setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, &cc, sizeof(cc)) &&
	       (memset(&cc, 0, sizeof(cc)), !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, &cc, &len)) &&
	       cc.errcode == 5 && !strcmp((char *)cc.phrase, "local phrase"), "errcode %u phrase %s", cc.errcode, cc.phrase);
	CHECK(5, "Enable CONNECTION_CLOSE", !set_event(fd, QUIC_EVENT_CONNECTION_CLOSE, 1));
	CHECK(6, "The peer sets its close info and closes", !run_command(fd, "close 10 this is app err", out, sizeof(out)));
	{
		ssize_t n = wait_event(fd, QUIC_EVENT_CONNECTION_CLOSE, ev, sizeof(ev));
		int e = errno;

		memcpy(&cc, ev + 1, sizeof(cc));
		report(7, "CONNECTION_CLOSE with the peer's code and phrase",
		       n > 0 && cc.errcode == 10 && !strcmp((char *)cc.phrase, "this is app err"),
		       "n %zd (%s) errcode %u phrase %.64s", n, strerror(e), cc.errcode, cc.phrase);
	}
	memset(&cc, 0, sizeof(cc));
	len = sizeof(cc);
	report(8, "CONNECTION_CLOSE reads the peer's close after it",
	       !getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, &cc, &len) && cc.errcode == 10 &&
	       !strcmp((char *)cc.phrase, "this is app err"), "errcode %u phrase %.64s", cc.errcode, cc.phrase);
	{
		char buf[16];
		int64_t sid;
		uint32_t flags;

		EXPECT_FAIL(9, "recvmsg on the closed connection", recv_on(fd, buf, sizeof(buf), &sid, &flags, 0), ENOTCONN);
		EXPECT_FAIL(10, "sendmsg on the closed connection", send_on(fd, "x", 1, -1, MSG_QUIC_STREAM_NEW, 0), EPIPE);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(argv[2]);
	if (argc == 7 && !strcmp(argv[1], "client")) {
		const char *ip = argv[2];
		int port = atoi(argv[3]), retry = atoi(argv[4]), demux = atoi(argv[5]), preferred = atoi(argv[6]);
		struct quic_transport_param p = { 0 };
		int fd;

		/* A send on a closed connection raises SIGPIPE, as on Linux; report it instead. */
		signal(SIGPIPE, SIG_IGN);
		handshake_tests(ip, port, retry, demux, preferred);
		p.max_datagram_frame_size = 1400;
		fd = connect_to(ip, port, &p, NULL, TLS_CIPHER_AES_GCM_128);
		if (fd < 0) {
			perror("connect");
			return 1;
		}
		stream_tests(fd);
		close(fd);
		fd = connect_to(ip, port, &p, NULL, TLS_CIPHER_AES_GCM_128);
		stream_reset_tests(fd);
		close(fd);
		fd = connect_to(ip, port, &p, NULL, TLS_CIPHER_AES_GCM_128);
		connection_tests(fd, ip);
		close(fd);
		fd = connect_to(ip, port, &p, NULL, TLS_CIPHER_AES_GCM_128);
		notification_tests(fd);
		close(fd);
		fd = connect_to(ip, port, &p, NULL, TLS_CIPHER_AES_GCM_128);
		close_tests(fd);
		close(fd);
		return failures ? 1 : 0;
	}
	fprintf(stderr, "usage: %s server ADDR | client ADDR MAIN RETRY DEMUX PREFERRED\n", argv[0]);
	return 2;
}
