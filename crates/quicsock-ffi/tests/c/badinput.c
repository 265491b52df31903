/*
 * Bad input from C to every QUIC socket call: NULL pointers, short option lengths, wrong
 * levels and names, calls in the wrong state, unknown control messages and flags. Each
 * must fail with the errno Linux QUIC gives, and nothing may crash. No handshake is
 * needed: a listener and a connection to it that never starts one.
 *
 *   badinput      prints "ok N description" or "not ok N description: why"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/quic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int failures, count;

#define EXPECT(desc, call, want)                                                           \
	do {                                                                               \
		errno = 0;                                                                 \
		long _r = (long)(call);                                                    \
		int _e = errno;                                                            \
		count++;                                                                   \
		if (_r < 0 && _e == (want))                                                \
			printf("ok %d %s\n", count, desc);                                 \
		else {                                                                     \
			printf("not ok %d %s: returned %ld errno %d (%s), wanted %s\n", count, \
			       desc, _r, _e, strerror(_e), #want);                         \
			failures++;                                                        \
		}                                                                          \
	} while (0)

static ssize_t send_cmsg(int fd, int level, int type, const void *data, size_t len, int flags)
{
	char control[CMSG_SPACE(64)];
	struct iovec iov = { "x", 1 };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = CMSG_SPACE(len);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	return sendmsg(fd, &msg, flags);
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct quic_stream_info si = { .stream_id = 0, .stream_flags = MSG_QUIC_STREAM_NEW };
	struct quic_crypto_secret secret = { .send = 1, .level = QUIC_CRYPTO_HANDSHAKE, .type = TLS_CIPHER_AES_GCM_128 };
	struct quic_event_option ev = { 0 };
	struct quic_transport_param tp = { 0 };
	socklen_t len = sizeof(a);
	char buf[256];
	int lfd, fd, fresh;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	EXPECT("socket: an unknown family", socket(AF_UNIX, SOCK_DGRAM, IPPROTO_QUIC), EAFNOSUPPORT);
	EXPECT("socket: a raw socket type", socket(AF_INET, SOCK_RAW, IPPROTO_QUIC), EPROTONOSUPPORT);
	lfd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	fresh = socket(AF_INET, SOCK_STREAM, IPPROTO_QUIC);
	if (lfd < 0 || fresh < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len)) {
		perror("setup");
		return 1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_QUIC);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		return 1;
	}

	/* Addresses. */
	EXPECT("bind: a NULL address", bind(fresh, NULL, sizeof(a)), EFAULT);
	EXPECT("bind: a short address", bind(fresh, (struct sockaddr *)&a, 4), EINVAL);
	EXPECT("connect: a NULL address", connect(fresh, NULL, sizeof(a)), EFAULT);
	EXPECT("connect: to port 0", connect(fresh, (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_INET }, sizeof(a)), EINVAL);
	EXPECT("connect: AF_UNSPEC (disconnect)", connect(fd, (struct sockaddr *)&(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)), EOPNOTSUPP);
	EXPECT("connect: twice", connect(fd, (struct sockaddr *)&a, sizeof(a)), EISCONN);
	EXPECT("connect: a listener", connect(lfd, (struct sockaddr *)&a, sizeof(a)), EINVAL);
	EXPECT("getsockname: a NULL length", getsockname(fd, (struct sockaddr *)&a, NULL), EFAULT);
	EXPECT("getpeername: not connected", getpeername(fresh, (struct sockaddr *)&a, &len), ENOTCONN);

	/* States. */
	EXPECT("accept: not a listener", accept(fresh, NULL, NULL), EINVAL);
	EXPECT("accept4: unknown flags", accept4(lfd, NULL, NULL, 0x4000000), EINVAL);
	EXPECT("sendmsg: a socket never connected", send(fresh, "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT("recvmsg: a socket never connected", recv(fresh, buf, sizeof(buf), 0), ENOTCONN);
	EXPECT("sendmsg: a listener", send(lfd, "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT("recvmsg: a listener", recv(lfd, buf, sizeof(buf), 0), ENOTCONN);
	EXPECT("shutdown: not connected", shutdown(fresh, SHUT_WR), ENOTCONN);
	EXPECT("shutdown: an unknown how", shutdown(fd, 7), EINVAL);
	EXPECT("STREAM_RESET before the handshake", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_RESET, &(struct quic_errinfo){ 0 }, sizeof(struct quic_errinfo)), EINVAL);
	EXPECT("KEY_UPDATE before the handshake", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_KEY_UPDATE, NULL, 0), EINVAL);
	EXPECT("CRYPTO_SECRET on a socket never connected", setsockopt(fresh, SOL_QUIC, QUIC_SOCKOPT_CRYPTO_SECRET, &secret, sizeof(secret)), EINVAL);
	EXPECT("ALPN on a listener", setsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_ALPN, "h3", 2), EINVAL);
	EXPECT("TRANSPORT_PARAM once connected", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, &tp, sizeof(tp)), EINVAL);
	EXPECT("SESSION_TICKET on a listener", setsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_SESSION_TICKET, buf, 64), EPIPE);
	EXPECT("STREAM_OPEN on a listener", getsockopt(lfd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &si, &(socklen_t){ sizeof(si) }), EPIPE);

	/* Option values. */
	EXPECT("setsockopt: NULL with a length", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, NULL, 2), EFAULT);
	EXPECT("setsockopt: over 4096 bytes", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_ALPN, buf, 5000), EINVAL);
	EXPECT("getsockopt: a NULL length", getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &ev, NULL), EFAULT);
	EXPECT("an unknown SOL_QUIC option", setsockopt(fd, SOL_QUIC, 99, buf, 4), ENOPROTOOPT);
	EXPECT("an unknown level", setsockopt(fd, 12345, 1, buf, 4), ENOPROTOOPT);
	EXPECT("SO_LINGER: a short optlen", setsockopt(fd, SOL_SOCKET, SO_LINGER, buf, 4), EINVAL);
	EXPECT("IPPROTO_QUIC is not the option level", setsockopt(fd, IPPROTO_QUIC, QUIC_SOCKOPT_EVENT, &ev, sizeof(ev)), ENOPROTOOPT);
	ev.type = 0;
	ev.on = 1;
	EXPECT("EVENT: type 0", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &ev, sizeof(ev)), EINVAL);
	ev.type = QUIC_EVENT_END;
	EXPECT("EVENT: a type past the last", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_EVENT, &ev, sizeof(ev)), EINVAL);
	EXPECT("CRYPTO_SECRET: a short value", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CRYPTO_SECRET, &secret, 8), EINVAL);
	secret.level = QUIC_CRYPTO_INITIAL;
	EXPECT("CRYPTO_SECRET: the Initial level", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CRYPTO_SECRET, &secret, sizeof(secret)), EINVAL);
	secret.level = QUIC_CRYPTO_HANDSHAKE;
	secret.type = 99;
	EXPECT("CRYPTO_SECRET: an unknown cipher", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CRYPTO_SECRET, &secret, sizeof(secret)), EINVAL);
	EXPECT("ALPN: over 128 bytes", setsockopt(fresh, SOL_QUIC, QUIC_SOCKOPT_ALPN, buf, 200), EINVAL);
	tp.active_connection_id_limit = 9;
	EXPECT("TRANSPORT_PARAM: active_connection_id_limit 9", setsockopt(fresh, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, &tp, sizeof(tp)), EINVAL);
	tp.active_connection_id_limit = 0;
	tp.max_udp_payload_size = 1000;
	EXPECT("TRANSPORT_PARAM: max_udp_payload_size 1000", setsockopt(fresh, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, &tp, sizeof(tp)), EINVAL);
	tp.max_udp_payload_size = 0;
	tp.remote = 1;
	EXPECT("TRANSPORT_PARAM: remote before connect", setsockopt(fresh, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, &tp, sizeof(tp)), EINVAL);
	EXPECT("CONFIG: version 123", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONFIG, &(struct quic_config){ .version = 123 }, sizeof(struct quic_config)), EINVAL);
	EXPECT("TOKEN: empty on a client", setsockopt(fresh, SOL_QUIC, QUIC_SOCKOPT_TOKEN, buf, 0), EINVAL);
	EXPECT("STREAM_OPEN: a short value", getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_STREAM_OPEN, &si, &(socklen_t){ 4 }), EINVAL);
	EXPECT("CONNECTION_MIGRATION: a short address", setsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_CONNECTION_MIGRATION, &a, 4), EINVAL);
	EXPECT("getsockopt: a set-only option (KEY_UPDATE)", getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_KEY_UPDATE, buf, &(socklen_t){ 4 }), EINVAL);
	EXPECT("getsockopt: TRANSPORT_PARAM_EXT into 1 byte", getsockopt(fd, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, buf, &(socklen_t){ 1 }), EINVAL);

	/* Messages. */
	EXPECT("sendmsg: a NULL message", sendmsg(fd, NULL, 0), EFAULT);
	EXPECT("sendmsg: a NULL buffer", sendmsg(fd, &(struct msghdr){ .msg_iovlen = 1 }, 0), EFAULT);
	EXPECT("sendmsg: an unknown flag (MSG_OOB)", send(fd, "x", 1, MSG_OOB), EINVAL);
	EXPECT("sendmsg: a control message of another level", send_cmsg(fd, SOL_SOCKET, QUIC_STREAM_INFO, &si, sizeof(si), 0), EINVAL);
	EXPECT("sendmsg: an unknown SOL_QUIC control message", send_cmsg(fd, SOL_QUIC, 7, &si, sizeof(si), 0), EINVAL);
	EXPECT("sendmsg: a short QUIC_STREAM_INFO", send_cmsg(fd, SOL_QUIC, QUIC_STREAM_INFO, &si, 4, 0), EINVAL);
	EXPECT("sendmsg: QUIC_HANDSHAKE_INFO at the 0-RTT level", send_cmsg(fd, SOL_QUIC, QUIC_HANDSHAKE_INFO, &(struct quic_handshake_info){ QUIC_CRYPTO_EARLY }, 1, 0), EINVAL);
	EXPECT("sendmsg: QUIC_HANDSHAKE_INFO at an unknown level", send_cmsg(fd, SOL_QUIC, QUIC_HANDSHAKE_INFO, &(struct quic_handshake_info){ 9 }, 1, 0), EINVAL);
	EXPECT("recvmsg: a NULL message", recvmsg(fd, NULL, 0), EFAULT);
	EXPECT("recvmsg: a NULL buffer", recvmsg(fd, &(struct msghdr){ .msg_iovlen = 1 }, MSG_DONTWAIT), EFAULT);
	EXPECT("recvmsg: nothing yet, non-blocking", recv(fd, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	EXPECT("ioctl: an unknown request", ioctl(fd, 0x1234, buf), ENOTTY);
	EXPECT("ioctl: SIOCINQ with NULL", ioctl(fd, 0x541B, NULL), EFAULT);

	close(fd);
	close(fresh);
	close(lfd);
	EXPECT("send on a closed number", send(fd, "x", 1, MSG_NOSIGNAL), EBADF);
	printf("%d cases, %d failed\n", count, failures);
	return failures ? 1 : 0;
}
