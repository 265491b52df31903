/*
 * The header's layout, checked by the C compiler against the Linux x86_64 sizes and
 * offsets, and printed for tests/header.rs to compare with the Rust mirrors.
 */
#include <stddef.h>
#include <stdio.h>
#include <netinet/quic.h>

#define SIZE(t, n) _Static_assert(sizeof(t) == (n), #t " size")
#define OFF(t, f, n) _Static_assert(offsetof(t, f) == (n), #t "." #f " offset")

SIZE(struct quic_stream_info, 16);
OFF(struct quic_stream_info, stream_flags, 8);
SIZE(struct quic_handshake_info, 1);
SIZE(struct quic_transport_param, 56);
OFF(struct quic_transport_param, max_datagram_frame_size, 8);
OFF(struct quic_transport_param, max_udp_payload_size, 10);
OFF(struct quic_transport_param, max_idle_timeout, 12);
OFF(struct quic_transport_param, max_ack_delay, 16);
OFF(struct quic_transport_param, max_streams_bidi, 20);
OFF(struct quic_transport_param, max_streams_uni, 22);
OFF(struct quic_transport_param, max_data, 24);
OFF(struct quic_transport_param, max_stream_data_bidi_local, 32);
OFF(struct quic_transport_param, max_stream_data_bidi_remote, 40);
OFF(struct quic_transport_param, max_stream_data_uni, 48);
SIZE(struct quic_config, 28);
OFF(struct quic_config, payload_cipher_type, 12);
OFF(struct quic_config, congestion_control_algo, 16);
OFF(struct quic_config, certificate_request, 20);
OFF(struct quic_config, keepalive_probe_interval, 24);
SIZE(struct quic_crypto_secret, 56);
OFF(struct quic_crypto_secret, type, 4);
OFF(struct quic_crypto_secret, secret, 8);
SIZE(struct quic_event_option, 2);
SIZE(struct quic_stream_update, 24);
OFF(struct quic_stream_update, state, 8);
OFF(struct quic_stream_update, errcode, 12);
OFF(struct quic_stream_update, finalsz, 16);
SIZE(struct quic_stream_max_data, 16);
SIZE(struct quic_connection_close, 72);
OFF(struct quic_connection_close, frame, 4);
OFF(struct quic_connection_close, phrase, 8);
SIZE(struct quic_connection_id_info, 12);
OFF(struct quic_connection_id_info, active, 4);
OFF(struct quic_connection_id_info, prior_to, 8);
SIZE(struct quic_errinfo, 16);
OFF(struct quic_errinfo, errcode, 8);
SIZE(union quic_event, 72);

#define LAYOUT(name, t) printf("layout %s %zu %zu\n", name, sizeof(t), _Alignof(t))
#define CONST(c) printf("const %s %lld\n", #c, (long long)(c))

int main(void)
{
	LAYOUT("quic_handshake_info", struct quic_handshake_info);
	LAYOUT("quic_stream_info", struct quic_stream_info);
	LAYOUT("quic_transport_param", struct quic_transport_param);
	LAYOUT("quic_config", struct quic_config);
	LAYOUT("quic_crypto_secret", struct quic_crypto_secret);
	LAYOUT("quic_event_option", struct quic_event_option);
	LAYOUT("quic_stream_update", struct quic_stream_update);
	LAYOUT("quic_stream_max_data", struct quic_stream_max_data);
	LAYOUT("quic_connection_close", struct quic_connection_close);
	LAYOUT("quic_connection_id_info", struct quic_connection_id_info);
	LAYOUT("quic_errinfo", struct quic_errinfo);
	LAYOUT("quic_event", union quic_event);

	CONST(IPPROTO_QUIC); CONST(SOL_QUIC);
	CONST(QUIC_STREAM_INFO); CONST(QUIC_HANDSHAKE_INFO);
	CONST(QUIC_STREAM_TYPE_SERVER_MASK); CONST(QUIC_STREAM_TYPE_UNI_MASK);
	CONST(QUIC_STREAM_TYPE_MASK);
	CONST(MSG_QUIC_STREAM_NEW); CONST(MSG_QUIC_STREAM_FIN); CONST(MSG_QUIC_STREAM_UNI);
	CONST(MSG_QUIC_STREAM_DONTWAIT); CONST(MSG_QUIC_STREAM_SNDBLOCK);
	CONST(MSG_QUIC_DATAGRAM); CONST(MSG_QUIC_NOTIFICATION);
	CONST(QUIC_CRYPTO_APP); CONST(QUIC_CRYPTO_INITIAL); CONST(QUIC_CRYPTO_HANDSHAKE);
	CONST(QUIC_CRYPTO_EARLY); CONST(QUIC_CRYPTO_MAX);
	CONST(QUIC_VERSION_V1); CONST(QUIC_VERSION_V2);
	CONST(QUIC_SOCKOPT_EVENT); CONST(QUIC_SOCKOPT_STREAM_OPEN);
	CONST(QUIC_SOCKOPT_STREAM_RESET); CONST(QUIC_SOCKOPT_STREAM_STOP_SENDING);
	CONST(QUIC_SOCKOPT_CONNECTION_ID); CONST(QUIC_SOCKOPT_CONNECTION_CLOSE);
	CONST(QUIC_SOCKOPT_CONNECTION_MIGRATION); CONST(QUIC_SOCKOPT_KEY_UPDATE);
	CONST(QUIC_SOCKOPT_TRANSPORT_PARAM); CONST(QUIC_SOCKOPT_CONFIG);
	CONST(QUIC_SOCKOPT_TOKEN); CONST(QUIC_SOCKOPT_ALPN); CONST(QUIC_SOCKOPT_SESSION_TICKET);
	CONST(QUIC_SOCKOPT_CRYPTO_SECRET); CONST(QUIC_SOCKOPT_TRANSPORT_PARAM_EXT);
	CONST(QUIC_CONG_ALG_RENO); CONST(QUIC_CONG_ALG_CUBIC); CONST(QUIC_CONG_ALG_MAX);
	CONST(TLS_CIPHER_AES_GCM_128); CONST(TLS_CIPHER_AES_GCM_256);
	CONST(TLS_CIPHER_AES_CCM_128); CONST(TLS_CIPHER_CHACHA20_POLY1305);
	CONST(QUIC_EVENT_NONE); CONST(QUIC_EVENT_STREAM_UPDATE); CONST(QUIC_EVENT_STREAM_MAX_DATA);
	CONST(QUIC_EVENT_STREAM_MAX_STREAM); CONST(QUIC_EVENT_CONNECTION_ID);
	CONST(QUIC_EVENT_CONNECTION_CLOSE); CONST(QUIC_EVENT_CONNECTION_MIGRATION);
	CONST(QUIC_EVENT_KEY_UPDATE); CONST(QUIC_EVENT_NEW_TOKEN);
	CONST(QUIC_EVENT_NEW_SESSION_TICKET); CONST(QUIC_EVENT_END); CONST(QUIC_EVENT_MAX);
	CONST(QUIC_STREAM_SEND_STATE_READY); CONST(QUIC_STREAM_SEND_STATE_SEND);
	CONST(QUIC_STREAM_SEND_STATE_SENT); CONST(QUIC_STREAM_SEND_STATE_RECVD);
	CONST(QUIC_STREAM_SEND_STATE_RESET_SENT); CONST(QUIC_STREAM_SEND_STATE_RESET_RECVD);
	CONST(QUIC_STREAM_RECV_STATE_RECV); CONST(QUIC_STREAM_RECV_STATE_SIZE_KNOWN);
	CONST(QUIC_STREAM_RECV_STATE_RECVD); CONST(QUIC_STREAM_RECV_STATE_READ);
	CONST(QUIC_STREAM_RECV_STATE_RESET_RECVD); CONST(QUIC_STREAM_RECV_STATE_RESET_READ);
#define ERR(n) printf("error %s %lld\n", #n, (long long)QUIC_TRANSPORT_ERROR_##n)
	ERR(NONE); ERR(INTERNAL); ERR(CONNECTION_REFUSED); ERR(FLOW_CONTROL);
	ERR(STREAM_LIMIT); ERR(STREAM_STATE); ERR(FINAL_SIZE); ERR(FRAME_ENCODING);
	ERR(TRANSPORT_PARAM); ERR(CONNECTION_ID_LIMIT); ERR(PROTOCOL_VIOLATION);
	ERR(INVALID_TOKEN); ERR(APPLICATION); ERR(CRYPTO_BUF_EXCEEDED); ERR(KEY_UPDATE);
	ERR(AEAD_LIMIT_REACHED); ERR(NO_VIABLE_PATH); ERR(CRYPTO);
	return 0;
}
