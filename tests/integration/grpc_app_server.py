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
import asyncio
import signal

import grpc


async def serve(args):
    name = args.name.encode()

    async def unary(request, context):
        if request == b"missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such item")
        return name + b":" + request

    async def server_stream(request, context):
        for i in range(int(request or b"0")):
            yield name + b":" + str(i).encode()

    async def client_stream(requests, context):
        parts = [part async for part in requests]
        return name + b":" + b",".join(parts)

    async def slow(request, context):
        await asyncio.sleep(float(request or b"0"))
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
    server = grpc.aio.server(options=options)
    server.add_generic_rpc_handlers((handler,))
    address = f"127.0.0.1:{args.port}"
    if args.tls:
        with open(args.tls[0], "rb") as cert, open(args.tls[1], "rb") as key:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        server.add_secure_port(address, credentials)
    else:
        server.add_insecure_port(address)
    await server.start()
    stopping = asyncio.Event()
    # As a pod's gRPC server does on SIGTERM: GOAWAY, then the calls in flight end.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    print(f"grpc app server {args.name} listening on {address}", flush=True)
    try:
        await asyncio.wait_for(stopping.wait(), args.seconds)
    except asyncio.TimeoutError:
        pass
    await server.stop(5)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("name")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--max-streams", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=300)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
