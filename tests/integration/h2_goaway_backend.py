#!/usr/bin/python3
"""An HTTP/2 (h2c) gRPC backend that sends GOAWAY below the streams in flight (python3-h2).

Usage: h2_goaway_backend.py PORT NAME [--after N] [--seconds S]

On each connection it collects requests until N are open (default 8, or what came once
200 ms pass without more), answers the first
(a gRPC unary answer "NAME:<request>") and sends GOAWAY with it as the last stream id: the
others were never begun by this backend (RFC 9113 §8.7) and get nothing. Then it closes. Every request it never
began is counted on stdout ("refused N"), so the test knows how many a proxy had to retry.
It serves until killed, at most --seconds (default 300).
"""
import argparse
import asyncio
import struct

import h2.config
import h2.connection
import h2.events

refused_total = 0


def grpc_message(payload):
    return b"\x00" + struct.pack(">I", len(payload)) + payload


async def handle(reader, writer, name, after):
    global refused_total
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    connection.initiate_connection()
    writer.write(connection.data_to_send())
    bodies = {}
    ended = set()
    goaway_sent = False
    try:
        idle_reads = 0
        while True:
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.2)
            except asyncio.TimeoutError:
                data = None  # fewer than N came: the GOAWAY goes anyway
                idle_reads += 1
                if idle_reads > 150:
                    return
            if data == b"":
                return
            for event in connection.receive_data(data or b""):
                if isinstance(event, h2.events.RequestReceived):
                    bodies[event.stream_id] = b""
                elif isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                    connection.acknowledge_received_data(event.flow_controlled_length,
                                                         event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
            enough = len(bodies) >= after or (data is None and bodies)
            if not goaway_sent and enough and min(bodies) in ended:
                # The first stream is answered, then GOAWAY names it the last: python-h2
                # sends nothing after its GOAWAY, so the answer goes just before it.
                goaway_sent = True
                last = min(bodies)
                request = bodies[last][5:]  # past the gRPC message prefix
                connection.send_headers(last, [(":status", "200"),
                                               ("content-type", "application/grpc")])
                connection.send_data(last, grpc_message(name.encode() + b":" + request))
                connection.send_headers(last, [("grpc-status", "0")], end_stream=True)
                connection.close_connection(last_stream_id=last)
                refused_total += len([s for s in bodies if s > last])
                print(f"refused {refused_total}", flush=True)
                writer.write(connection.data_to_send())
                await writer.drain()
                await asyncio.sleep(0.05)  # the FIN after the GOAWAY, as servers do
                return
            writer.write(connection.data_to_send())
            await writer.drain()
    except (asyncio.TimeoutError, ConnectionError, h2.exceptions.ProtocolError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("name")
    parser.add_argument("--after", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.name, args.after),
                                        "127.0.0.1", args.port)
    print(f"goaway backend {args.name} listening on 127.0.0.1:{args.port}", flush=True)
    async with server:
        await asyncio.sleep(args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
