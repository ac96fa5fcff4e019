#!/usr/bin/python3
"""A real gRPC server (grpcio) answering grpc.health.v1.Health/Check, for interop tests.

Usage: grpc_health_server.py PORT STATUS_FILE
The status is read from STATUS_FILE ("SERVING" or "NOT_SERVING") on every call, so a
test flips it by rewriting the file. The messages are serialised by hand (no generated
code): HealthCheckResponse{status} is 08 <status>.
"""
import sys
import time
from concurrent import futures

import grpc

STATUSES = {"SERVING": 1, "NOT_SERVING": 2}


def main():
    port, status_file = int(sys.argv[1]), sys.argv[2]

    def check(request, context):
        with open(status_file) as f:
            status = STATUSES.get(f.read().strip(), 0)
        return bytes([0x08, status])

    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health",
        {"Check": grpc.unary_unary_rpc_method_handler(check)})  # bytes in, bytes out
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("grpc health server listening", flush=True)
    time.sleep(120)  # bounded: the test kills it long before


if __name__ == "__main__":
    main()
