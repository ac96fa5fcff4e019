#!/usr/bin/python3
"""gRPC load for the proxy tests (grpcio's asyncio API), a client that never retries.

Usage:
  grpc_load.py burst TARGET CALLS CHANNELS SLEEP
      CALLS Slow calls (each sleeps SLEEP seconds at the backend) at once over CHANNELS
      connections; prints {"ok": n, "failed": {code: n}, "seconds": s}. SLEEP "unary":
      Unary calls instead, and "backends" counts who answered.
  grpc_load.py steady TARGET STOP_FILE MAX_SECONDS
      unary calls and 5-message server streams back to back on 8 tasks until STOP_FILE
      exists (or MAX_SECONDS pass); prints {"ok": n, "failed": {code: n}, "backends": {...}}
      every second on one line, the last line being the total.
Each call has a 10 s deadline; retries are off (grpc.enable_retries 0), so every failure
the proxy lets through is counted.
"""
import asyncio
import collections
import json
import os
import sys
import time

import grpc

OPTIONS = [("grpc.enable_retries", 0), ("grpc.use_local_subchannel_pool", 1)]


async def burst(target, calls, channels, sleep):
    opened = [grpc.aio.insecure_channel(target, options=OPTIONS) for _ in range(channels)]
    failed = collections.Counter()
    ok = 0
    started = time.monotonic()

    backends = collections.Counter()

    async def one(i):
        nonlocal ok
        channel = opened[i % channels]
        try:
            if sleep == "unary":
                answer = await channel.unary_unary("/test.Echo/Unary")(b"x", timeout=20)
                backends[answer.split(b":")[0].decode()] += 1
            else:
                await channel.unary_unary("/test.Echo/Slow")(sleep.encode(), timeout=20)
            ok += 1
        except grpc.aio.AioRpcError as error:
            failed[error.code().name] += 1

    await asyncio.gather(*(one(i) for i in range(calls)))
    print(json.dumps({"ok": ok, "failed": failed, "backends": backends,
                      "seconds": time.monotonic() - started}), flush=True)
    for channel in opened:
        await channel.close()


async def steady(target, stop_file, max_seconds):
    channel = grpc.aio.insecure_channel(target, options=OPTIONS)
    unary = channel.unary_unary("/test.Echo/Unary")
    stream = channel.unary_stream("/test.Echo/ServerStream")
    ok = 0
    failed = collections.Counter()
    errors = collections.Counter()
    backends = collections.Counter()
    deadline = time.monotonic() + max_seconds

    def over():
        return os.path.exists(stop_file) or time.monotonic() > deadline

    async def worker(kind):
        nonlocal ok
        while not over():
            try:
                if kind == "unary":
                    answer = await unary(b"x", timeout=10)
                    backends[answer.split(b":")[0].decode()] += 1
                else:
                    parts = [part async for part in stream(b"5", timeout=10)]
                    if len(parts) != 5:
                        raise RuntimeError(f"stream cut after {len(parts)} messages")
                    backends[parts[0].split(b":")[0].decode()] += 1
                ok += 1
            except grpc.aio.AioRpcError as error:
                failed[error.code().name] += 1
                errors[f"{error.code().name}: {error.details()}"] += 1
            except RuntimeError as error:
                failed["CUT"] += 1
                errors[str(error)] += 1

    async def report():
        while not over():
            await asyncio.sleep(1)
            print(json.dumps({"ok": ok, "failed": failed, "backends": backends}), flush=True)

    await asyncio.gather(report(), *(worker("unary" if i % 2 else "stream") for i in range(8)))
    print(json.dumps({"ok": ok, "failed": failed, "backends": backends,
                      "errors": dict(errors.most_common(5))}), flush=True)
    await channel.close()


def main():
    if sys.argv[1] == "burst":
        asyncio.run(burst(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
    else:
        asyncio.run(steady(sys.argv[2], sys.argv[3], float(sys.argv[4])))


if __name__ == "__main__":
    main()
