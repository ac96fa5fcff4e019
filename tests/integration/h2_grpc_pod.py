#!/usr/bin/python3
"""A gRPC pod on python3-h2 whose shutdown is one GOAWAY, as nginx's and many servers' are.

Usage: h2_grpc_pod.py PORT NAME [--seconds S]

Serves test.Echo/Unary ("NAME:<request>") and test.Echo/ServerStream (N messages
"NAME:i") over h2c. On SIGTERM it stops beginning new streams, and 100 ms later (the time
its shutdown takes to reach the connection) sends GOAWAY with the last stream it had begun
as the last stream id: the streams that arrived in between were never begun (RFC 9113
§8.7) and get nothing. Streams it began are answered; then each connection closes and the
process exits. Unlike grpcio's two-step GOAWAY this leaves a window in which a proxy's
streams reach a pod that will never answer them: what retrying unprocessed streams is for.
"""
import argparse
import asyncio
import signal
import struct

import h2.config
import h2.connection
import h2.events
import h2.exceptions

stopping = asyncio.Event()
connections = set()


def frame(payload):
    return b"\x00" + struct.pack(">I", len(payload)) + payload


async def handle(reader, writer, name):
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    connection.initiate_connection()
    writer.write(connection.data_to_send())
    bodies = {}
    begun = set()  # streams this pod took on
    last_begun = 0
    goaway_at = None
    task = asyncio.current_task()
    connections.add(task)

    def answer(stream):
        request = bodies.pop(stream, b"")[5:]
        connection.send_headers(stream, [(":status", "200"), ("content-type", "application/grpc")])
        if request.isdigit():  # ServerStream
            for i in range(int(request)):
                connection.send_data(stream, frame(name + b":" + str(i).encode()))
        else:
            connection.send_data(stream, frame(name + b":" + request))
        connection.send_headers(stream, [("grpc-status", "0")], end_stream=True)
        begun.discard(stream)

    try:
        while True:
            if stopping.is_set() and goaway_at is None:
                goaway_at = asyncio.get_running_loop().time() + 0.1
            now = asyncio.get_running_loop().time()
            # python-h2 sends nothing after its GOAWAY: the streams begun are answered
            # first (at most a second more).
            if goaway_at is not None and now >= goaway_at and (not begun or now >= goaway_at + 1):
                connection.close_connection(last_stream_id=last_begun)
                writer.write(connection.data_to_send())
                await writer.drain()
                await asyncio.sleep(0.05)
                return
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.02)
            except asyncio.TimeoutError:
                continue
            if not data:
                return
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    if goaway_at is None:
                        begun.add(event.stream_id)
                        last_begun = max(last_begun, event.stream_id)
                    bodies[event.stream_id] = b""
                elif isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                    connection.acknowledge_received_data(event.flow_controlled_length,
                                                         event.stream_id)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id in begun:
                    answer(event.stream_id)
            writer.write(connection.data_to_send())
            await writer.drain()
    except (ConnectionError, h2.exceptions.ProtocolError):
        pass
    finally:
        connections.discard(task)
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("name")
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.name.encode()),
                                        "127.0.0.1", args.port)
    print(f"h2 grpc pod {args.name} listening on 127.0.0.1:{args.port}", flush=True)
    try:
        await asyncio.wait_for(stopping.wait(), args.seconds)
    except asyncio.TimeoutError:
        return
    server.close()  # no new connections: a pod shutting down
    for _ in range(100):  # its connections' GOAWAYs, at most 5 s
        if not connections:
            break
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main())
