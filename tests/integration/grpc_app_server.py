#!/usr/bin/python3
"""A real gRPC application server (grpcio) for the gRPC proxy tests.

Usage: grpc_app_server.py PORT NAME [--tls CERT KEY] [--max-streams N] [--seconds S]

Methods of service test.Echo, bytes in and bytes out (no generated code):
  Unary         answers NAME + ":" + the request; b"missing" is NOT_FOUND (trailers-only)
  ServerStream  the request is a count N: N messages "NAME:i"
  ClientStream  every message received, joined with ",", after NAME + ":"
  Slow          sleeps the seconds the request says (a decimal), then answers NAME
The server runs until killed, at most --seconds (default 300): bounded whatever the test does.
On SIGTERM it stops as a pod does: a GOAWAY, the calls in flight finish within 5 s.
"""
import argparse
import signal
import sys
import threading
import time
from concurrent import futures

import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("name")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--max-streams", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    name = args.name.encode()

    def unary(request, context):
        if request == b"missing":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such item")
        return name + b":" + request

    def server_stream(request, context):
        for i in range(int(request or b"0")):
            yield name + b":" + str(i).encode()

    def client_stream(requests, context):
        return name + b":" + b",".join(requests)

    def slow(request, context):
        time.sleep(float(request or b"0"))
        return name

    handler = grpc.method_handlers_generic_handler("test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
    })
    options = [("grpc.so_reuseport", 0)]
    if args.max_streams > 0:
        options.append(("grpc.max_concurrent_streams", args.max_streams))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64), options=options,
                         maximum_concurrent_rpcs=None)
    server.add_generic_rpc_handlers((handler,))
    address = f"127.0.0.1:{args.port}"
    if args.tls:
        with open(args.tls[0], "rb") as cert, open(args.tls[1], "rb") as key:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        server.add_secure_port(address, credentials)
    else:
        server.add_insecure_port(address)
    server.start()
    stopped = threading.Event()

    def on_term(*_):
        # As a pod's gRPC server does on SIGTERM: GOAWAY, then the calls in flight end.
        threading.Thread(target=lambda: (server.stop(5).wait(), stopped.set()), daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    print(f"grpc app server {args.name} listening on {address}", flush=True)
    stopped.wait(args.seconds)
    sys.exit(0)


if __name__ == "__main__":
    main()
