/*
 * quicsock: libquic's API (the library Linux QUIC programs link with -lquic): the TLS
 * handshake over an IPPROTO_QUIC socket and message helpers with stream IDs. The
 * GnuTLS-session functions drive the socket's handshake interface with GnuTLS.
 */
#ifndef QUICSOCK_NETINET_QUIC_H
#define QUICSOCK_NETINET_QUIC_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <linux/quic.h>
#include <gnutls/gnutls.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The GnuTLS priority string of the QUIC handshake: TLS 1.3 only, its AEADs, no
 * middlebox compatibility mode (RFC 9001 §8.4). */
#define QUIC_PRIORITY \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK:-CIPHER-ALL:+AES-128-GCM:" \
	"+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-SECP256R1:" \
	"+GROUP-X25519:+GROUP-SECP384R1:+GROUP-SECP521R1:%DISABLE_TLS13_COMPAT_MODE"

/* One step of a non-blocking handshake: the caller performs `op` on the socket with
 * `msg` and `flags`, and stores the result (or -errno) in `retval`. */
struct quic_handshake_step {
	enum {
		QUIC_HANDSHAKE_STEP_OP_SENDMSG = 0,
		QUIC_HANDSHAKE_STEP_OP_RECVMSG,
	} op;
	struct msghdr *msg;
	int flags;
	ssize_t retval;
};

int quic_client_handshake(int sockfd, const char *pkey_file,
			  const char *hostname, const char *alpns);
int quic_server_handshake(int sockfd, const char *pkey_file,
			  const char *cert_file, const char *alpns);

int quic_handshake(gnutls_session_t session);
int quic_handshake_init(gnutls_session_t session, struct quic_handshake_step **pstep);
int quic_handshake_step(gnutls_session_t session, struct quic_handshake_step **pstep);
void quic_handshake_deinit(gnutls_session_t session);

int quic_session_get_data(gnutls_session_t session, void *data, size_t *size);
int quic_session_set_data(gnutls_session_t session, const void *data, size_t size);
int quic_session_get_alpn(gnutls_session_t session, void *alpn, size_t *size);
int quic_session_set_alpn(gnutls_session_t session, const void *alpns, size_t size);

ssize_t quic_sendmsg(int sockfd, const void *msg, size_t len, int64_t sid, uint32_t flags);
ssize_t quic_recvmsg(int sockfd, void *msg, size_t len, int64_t *sid, uint32_t *flags);

void quic_set_log_level(int level);
void quic_set_log_func(void (*func)(int level, const char *msg));

#ifdef __cplusplus
}
#endif

#endif /* QUICSOCK_NETINET_QUIC_H */
