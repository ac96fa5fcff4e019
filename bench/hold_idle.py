#!/usr/bin/env python3
"""Memory per idle client connection: opens COUNT keep-alive connections to 127.0.0.1:PORT
(HTTPS when TLS is "tls"), sends each one browser-like request, reads the "ok" answer and
holds them all; prints the summed VmRSS (KiB) of PIDS and their children before and after.

usage: hold_idle.py PORT COUNT TLS|plain PID...
"""
import os
import socket
import ssl
import sys
import time


def rss_kib(pids):
    wanted = set(pids)
    for entry in os.listdir("/proc"):  # children too: nginx's workers hold the connections
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[1] in pids:
                        wanted.add(entry)
            except OSError:
                pass
    total = 0
    for pid in wanted:
        try:
            with open(f"/proc/{pid}/status") as status:
                total += int(next(l.split()[1] for l in status if l.startswith("VmRSS:")))
        except (OSError, StopIteration):
            pass
    return total


def main():
    port, count, tls, pids = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "tls", sys.argv[4:]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    head = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) "
            b"Gecko/20100101 Firefox/128.0\r\nAccept: text/html,application/xhtml+xml\r\n"
            b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
    time.sleep(0.5)
    before = rss_kib(pids)
    clients = []
    deadline = time.monotonic() + 180  # bounded whatever happens
    for _ in range(count):
        if time.monotonic() > deadline:
            sys.exit("hold_idle: too slow")
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls:
            s = context.wrap_socket(s, server_hostname="bench.example.com")
        s.sendall(head)
        answer = b""
        while b"\r\n\r\nok\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("hold_idle: closed before answering")
            answer += chunk
        clients.append(s)
    time.sleep(1)  # let the proxy settle (timers, pool sweep)
    print(before, rss_kib(pids))
    for s in clients:
        s.close()


main()
