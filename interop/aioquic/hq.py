"""HTTP/0.9 over QUIC (ALPN hq-interop) with aioquic: an independent peer for quicsock's
interop tests.

    hq.py server --cert CHAIN --key KEY --root DIR [--host H] [--port P] [--chacha20]
                 [--retry] [--keylog FILE]
    hq.py client --output DIR (--ca CA | --insecure) [--chacha20] [--negotiate-v2]
                 [--resume | --zero-rtt | --multiconnect] [--key-update] [--keylog FILE]
                 URL...

The server prints "listening on HOST:PORT" once it is ready (the port it bound, for
--port 0) and serves until killed; with --retry it answers first Initials with a Retry; it
speaks v1 and v2 and switches a client to the first of them the client lists (RFC 9368).
The client stores each URL's response under its file name, prints the QUIC version the
connection ended in ("version v1" or "version v2") and exits 0 when every response ended
with FIN. With --negotiate-v2 it starts in v1 and lists v2 first. With --resume the first
URL goes on one connection and the rest on a second that resumes its session; with
--zero-rtt the second sends its requests in 0-RTT; it prints "resumed True|False" and
"early data accepted True|False" for the second connection. With --multiconnect each URL
has a connection of its own, one after the other; with --key-update the client updates its
1-RTT keys once the handshake is confirmed, before its requests. --keylog appends TLS
secrets in the NSS key-log format. The server keeps its session
tickets (single use) and accepts early data with them.
"""

import argparse
import asyncio
import os
import ssl
import sys
from urllib.parse import urlparse

from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.packet import QuicProtocolVersion
from aioquic.quic.events import ConnectionTerminated, HandshakeCompleted, StreamDataReceived
from aioquic.tls import CipherSuite

ALPN = ["hq-interop"]


class Server(QuicConnectionProtocol):
    root = "."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests = {}

    def quic_event_received(self, event):
        if not isinstance(event, StreamDataReceived):
            return
        buf = self.requests.get(event.stream_id, b"") + event.data
        self.requests[event.stream_id] = buf
        if not event.end_stream:
            return
        del self.requests[event.stream_id]
        line = buf.decode("ascii", "replace").strip()
        body = b""
        if line.startswith("GET /"):
            name = os.path.normpath(line[5:])
            path = os.path.join(self.root, name)
            if not name.startswith("..") and os.path.isfile(path):
                with open(path, "rb") as f:
                    body = f.read()
        self._quic.send_stream_data(event.stream_id, body, end_stream=True)
        self.transmit()


class Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.responses = {}
        self.waiting = {}
        self.closed = asyncio.get_event_loop().create_future()
        self.handshake = None

    async def get(self, path):
        stream_id = self._quic.get_next_available_stream_id()
        done = asyncio.get_event_loop().create_future()
        self.responses[stream_id] = []
        self.waiting[stream_id] = done
        self._quic.send_stream_data(stream_id, f"GET {path}\r\n".encode(), end_stream=True)
        self.transmit()
        return await done

    def quic_event_received(self, event):
        if isinstance(event, HandshakeCompleted):
            self.handshake = event
        if isinstance(event, StreamDataReceived) and event.stream_id in self.responses:
            self.responses[event.stream_id].append(event.data)
            if event.end_stream:
                data = b"".join(self.responses.pop(event.stream_id))
                self.waiting.pop(event.stream_id).set_result(data)
        elif isinstance(event, ConnectionTerminated):
            for f in self.waiting.values():
                if not f.done():
                    f.set_exception(ConnectionError(f"connection closed: {event.reason_phrase}"))


def configuration(args, is_client):
    config = QuicConfiguration(is_client=is_client, alpn_protocols=ALPN)
    if args.keylog:
        config.secrets_log_file = open(args.keylog, "a", buffering=1)
    if args.chacha20:
        config.cipher_suites = [CipherSuite.CHACHA20_POLY1305_SHA256]
    return config


class TicketStore:
    """The server's session tickets, each good for one resumption."""

    def __init__(self):
        self.tickets = {}

    def add(self, ticket):
        self.tickets[ticket.ticket] = ticket

    def pop(self, label):
        return self.tickets.pop(label, None)


async def run_server(args):
    config = configuration(args, False)
    config.load_cert_chain(args.cert, args.key)
    Server.root = args.root
    store = TicketStore()
    server = await serve(
        args.host,
        args.port,
        configuration=config,
        create_protocol=Server,
        session_ticket_fetcher=store.pop,
        session_ticket_handler=store.add,
        retry=args.retry,
    )
    port = server._transport.get_extra_info("sockname")[1]
    print(f"listening on {args.host}:{port}", flush=True)
    await asyncio.Future()


async def run_client(args):
    config = configuration(args, True)
    if args.insecure:
        config.verify_mode = ssl.CERT_NONE
    else:
        config.load_verify_locations(args.ca)
    urls = [urlparse(u) for u in args.urls]
    host, port = urls[0].hostname, urls[0].port or 443
    config.server_name = host
    if args.negotiate_v2:
        config.original_version = QuicProtocolVersion.VERSION_1
        config.supported_versions = [QuicProtocolVersion.VERSION_2, QuicProtocolVersion.VERSION_1]
    if args.multiconnect:
        for u in urls:
            await fetch(host, port, config, [u], args.output, key_update=args.key_update)
        return
    if not (args.resume or args.zero_rtt):
        await fetch(host, port, config, urls, args.output, key_update=args.key_update)
        return
    tickets = []
    await fetch(host, port, config, urls[:1], args.output, tickets)
    if not tickets:
        raise ConnectionError("no session ticket to resume with")
    config.session_ticket = tickets[-1]
    client = await fetch(host, port, config, urls[1:], args.output, early=args.zero_rtt)
    print(f"resumed {client.handshake.session_resumed}", file=sys.stderr)
    print(f"early data accepted {client.handshake.early_data_accepted}", file=sys.stderr)


async def fetch(host, port, config, urls, output, tickets=None, early=False, key_update=False):
    async with connect(
        host,
        port,
        configuration=config,
        create_protocol=Client,
        session_ticket_handler=None if tickets is None else tickets.append,
        wait_connected=not early,
    ) as client:
        if key_update:
            # A key update needs a confirmed handshake (RFC 9001 §6.1).
            for _ in range(5000):
                if client._quic._handshake_confirmed:
                    break
                await asyncio.sleep(0.001)
            client._quic.request_key_update()
            client.transmit()
            print("key updated", file=sys.stderr)
        bodies = await asyncio.gather(*(client.get(u.path) for u in urls))
        for u, body in zip(urls, bodies):
            with open(os.path.join(output, os.path.basename(u.path)), "wb") as f:
                f.write(body)
            print(f"{u.path}: {len(body)} bytes", file=sys.stderr)
        names = {QuicProtocolVersion.VERSION_1: "v1", QuicProtocolVersion.VERSION_2: "v2"}
        version = client._quic._version
        print(f"version {names.get(version, hex(version))}", file=sys.stderr)
        if tickets is not None:
            # The ticket follows the handshake: give it a moment to arrive.
            for _ in range(500):
                if tickets:
                    break
                await asyncio.sleep(0.01)
        client.close()
        await client.wait_closed()
    return client


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("server")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--root", required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=4433)
    s.add_argument("--chacha20", action="store_true")
    s.add_argument("--retry", action="store_true")
    s.add_argument("--keylog")
    c = sub.add_parser("client")
    c.add_argument("--output", required=True)
    c.add_argument("--ca")
    c.add_argument("--insecure", action="store_true")
    c.add_argument("--chacha20", action="store_true")
    c.add_argument("--negotiate-v2", action="store_true")
    c.add_argument("--resume", action="store_true")
    c.add_argument("--zero-rtt", action="store_true")
    c.add_argument("--multiconnect", action="store_true")
    c.add_argument("--key-update", action="store_true")
    c.add_argument("--keylog")
    c.add_argument("--timeout", type=float, default=60)
    c.add_argument("urls", nargs="+")
    args = p.parse_args()
    if args.command == "server":
        asyncio.run(run_server(args))
    else:
        asyncio.run(asyncio.wait_for(run_client(args), timeout=args.timeout))


if __name__ == "__main__":
    main()
