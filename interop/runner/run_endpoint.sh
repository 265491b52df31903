#!/bin/bash
# The QUIC Interop Runner's entry point for quicsock (https://github.com/quic-interop/quic-interop-runner):
# reads ROLE, TESTCASE, REQUESTS, SSLKEYLOGFILE and QLOGDIR, serves /www or downloads
# into /downloads, with the certificate in /certs. Exits 127 for a test case quicsock
# does not take part in, as the runner asks.
set -euo pipefail

client_args=()
server_args=()
case "${TESTCASE:-}" in
    handshake | transfer | multiplexing | longrtt | blackhole | ecn | ipv6 | \
    amplificationlimit | rebind-port | rebind-addr | transferloss | transfercorruption)
        ;;
    handshakeloss | handshakecorruption)
        # A new connection per file: every handshake is exercised.
        client_args+=(--multiconnect)
        ;;
    chacha20)
        client_args+=(--chacha20)
        server_args+=(--chacha20)
        ;;
    retry)
        server_args+=(--retry)
        ;;
    resumption)
        client_args+=(--resume)
        ;;
    zerortt)
        client_args+=(--zero-rtt)
        server_args+=(--early-data)
        ;;
    keyupdate)
        client_args+=(--key-update)
        ;;
    v2)
        client_args+=(--negotiate-v2)
        ;;
    connectionmigration)
        # The client follows a server's preferred address wherever it is. The server's
        # preferred address must arrive on the socket it listens on (another local IP on
        # the same port), and the simulator gives the server one address per family.
        if [ "$ROLE" == "server" ]; then
            exit 127
        fi
        ;;
    *)
        exit 127
        ;;
esac

# Routes and the network simulator's setup, from the endpoint base image.
/setup.sh

keylog=()
if [ -n "${SSLKEYLOGFILE:-}" ]; then
    keylog=(--keylog "$SSLKEYLOGFILE")
fi

if [ "$ROLE" == "client" ]; then
    # Wait for the simulator to start.
    /wait-for-it.sh sim:57832 -s -t 30
    # REQUESTS is a space-separated list of URLs on one server.
    read -r -a urls <<< "$REQUESTS"
    exec quic-client --output /downloads --insecure --timeout 60 \
        "${keylog[@]}" "${client_args[@]}" "${urls[@]}"
elif [ "$ROLE" == "server" ]; then
    exec quic-server --listen "[::]:443" --cert /certs/cert.pem --key /certs/priv.key \
        --root /www "${keylog[@]}" "${server_args[@]}"
else
    echo "unknown ROLE: ${ROLE:-unset}" >&2
    exit 1
fi
