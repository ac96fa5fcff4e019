#!/usr/bin/python3
"""HTTP/2 conformance and flood suite for readygate's client side (issue 22).

There is no h2spec in Debian: these cases are written frame by frame with python3-hyperframe
and python3-hpack. Conformance: each RFC 9113 rule a proxy must enforce is answered with the
right RST_STREAM or GOAWAY code, and the smuggling cases reach no backend. Attacks: Rapid
Reset, MadeYouReset, CONTINUATION, PING and SETTINGS floods, a zero-window stall and a 1 MB
header list; for each, readygate's CPU and RSS are read from /proc, the attacker's connection
must be closed, and a bystander client must be served all along. Every wait has a deadline.

Last, the graceful close: maxStreamsPerConnection and readygate's SIGTERM each get the two-step
GOAWAY (a notice, then the last stream id after a PING's round trip), and the streams before
it are answered.

Usage: h2_conformance.py PORT READYGATE_PID POD_PORT ADMIN_PORT LIMITED_PORT
"""
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.request

import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PORT, PID, POD, ADMIN, LIMITED = (int(a) for a in sys.argv[1:6])
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CODES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 3: "FLOW_CONTROL_ERROR", 4: "SETTINGS_TIMEOUT",
         5: "STREAM_CLOSED", 7: "REFUSED_STREAM", 8: "CANCEL", 11: "ENHANCE_YOUR_CALM"}
failures = []


def check(ok, what):
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    if not ok:
        failures.append(what)


class Conn:
    """A raw HTTP/2 client connection: frames out as written, frames in as parsed."""

    def __init__(self, ack_settings=True, settings=None, port=None):
        self.sock = socket.create_connection(("127.0.0.1", port or PORT), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.encoder = hpack.Encoder()
        self.buffer = b""
        self.closed = False
        self.goaway = None  # the code of the GOAWAY received, if one came
        self.ack_settings = ack_settings
        first = SettingsFrame(0)
        first.settings = settings or {}
        self.sock.sendall(PREFACE + first.serialize())

    def send(self, *frames):
        try:
            self.sock.sendall(b"".join(f if isinstance(f, bytes) else f.serialize() for f in frames))
            return True
        except OSError:
            self.closed = True
            return False

    def block(self, fields):
        return self.encoder.encode(fields)

    def headers(self, stream, fields, end_stream=True, end_headers=True):
        frame = HeadersFrame(stream)
        frame.data = self.block(fields)
        frame.flags = set()
        if end_stream:
            frame.flags.add("END_STREAM")
        if end_headers:
            frame.flags.add("END_HEADERS")
        return frame

    def frames(self, deadline):
        """Yields frames until the deadline or the close."""
        while time.monotonic() < deadline and not self.closed:
            while len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) < 9 + length:
                    break
                frame, _ = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                frame.parse_body(memoryview(self.buffer[9:9 + length]))
                self.buffer = self.buffer[9 + length:]
                if isinstance(frame, GoAwayFrame):
                    self.goaway = frame.error_code
                if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags and self.ack_settings:
                    ack = SettingsFrame(0)
                    ack.flags.add("ACK")
                    self.send(ack)
                yield frame
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return
            self.buffer += data

    def wait_for(self, predicate, seconds=3):
        """The first frame `predicate` accepts, or None."""
        for frame in self.frames(time.monotonic() + seconds):
            if predicate(frame):
                return frame
        return None

    def answer(self, stream, seconds=3):
        """What the server said of `stream`: ('rst', code), ('goaway', code), ('status', s)."""
        decoder = hpack.Decoder()
        for frame in self.frames(time.monotonic() + seconds):
            if isinstance(frame, RstStreamFrame) and frame.stream_id == stream:
                return ("rst", frame.error_code)
            if isinstance(frame, GoAwayFrame):
                return ("goaway", frame.error_code)
            if isinstance(frame, HeadersFrame) and frame.stream_id == stream:
                fields = dict(decoder.decode(frame.data, raw=False))
                return ("status", fields.get(":status"))
            if isinstance(frame, HeadersFrame):
                decoder.decode(frame.data)  # keep the dynamic table in step
        return ("closed",) if self.closed else ("nothing",)

    def wait_closed(self, seconds):
        for _ in self.frames(time.monotonic() + seconds):
            pass
        return self.closed

    def close(self):
        self.sock.close()


def raw_frame(kind, flags, stream, payload):
    """A frame's bytes as given, for what hyperframe will not build (a zero increment)."""
    return (len(payload).to_bytes(3, "big") + bytes([kind, flags]) +
            struct.pack(">I", stream & 0x7fffffff) + payload)


def request(path="/", method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":path", path),
            (":authority", f"127.0.0.1:{PORT}")] + list(extra)


def pod_root_hits():
    """Requests for "/" the pod answered (the bystander asks for /status/200)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{POD}/hits", timeout=5) as r:
        return int(r.read())


def pod_requests():
    with urllib.request.urlopen(f"http://127.0.0.1:{POD}/requests", timeout=5) as r:
        return int(r.read())


def proc_cpu_rss():
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    rss = 0
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return ticks / 100.0, rss


# ---- conformance ----

def expect_stream_error(name, fields, code=1, body_frames=(), end_stream=True):
    before = pod_requests()
    conn = Conn()
    conn.send(conn.headers(1, fields, end_stream=end_stream), *body_frames)
    got = conn.answer(1)
    conn.close()
    reached = pod_requests() - before - 1  # the counter's own request
    check(got in (("rst", code), ("goaway", code)),
          f"{name}: {CODES.get(code, code)} (got {got})")
    check(reached == 0, f"{name}: reached no backend ({reached} requests)")


def conformance():
    expect_stream_error("missing :path", [(":method", "GET"), (":scheme", "http"),
                                          (":authority", "a")])
    expect_stream_error("unknown pseudo-header :protocol", [(":protocol", "x")] + request())
    expect_stream_error("pseudo-header after a field",
                        [(":method", "GET"), ("x-a", "1"), (":scheme", "http"), (":path", "/"),
                         (":authority", "a")])
    expect_stream_error("uppercase field name", request(extra=[("X-Upper", "1")]))
    expect_stream_error("connection-specific field", request(extra=[("connection", "keep-alive")]))
    expect_stream_error("TE other than trailers", request(extra=[("te", "gzip")]))
    expect_stream_error("Host disagrees with :authority", request(extra=[("host", "evil.test")]))
    expect_stream_error("CR LF in a value",
                        request(extra=[("x-a", "1\r\nx-injected: 1")]))
    expect_stream_error("NUL in a value", request(extra=[("x-a", "1\x002")]))
    expect_stream_error("CONNECT", [(":method", "CONNECT"), (":authority", "a:443")])
    # The hardening issue's smuggling cases, as HTTP/2 would carry them.
    expect_stream_error("smuggling: content-length and transfer-encoding",
                        request("/", "POST", [("content-length", "5"),
                                              ("transfer-encoding", "chunked")]),
                        end_stream=False)
    expect_stream_error("smuggling: two content-lengths",
                        request("/", "POST", [("content-length", "5"), ("content-length", "6")]),
                        end_stream=False)
    expect_stream_error("smuggling: a request line in :path",
                        request("/a HTTP/1.1\r\nHost: b\r\n\r\nGET /b"))
    expect_stream_error("smuggling: a space in :path", request("/a b"))
    data = DataFrame(1)
    data.data = b"0123456789"
    data.flags.add("END_STREAM")
    expect_stream_error("DATA longer than content-length",
                        request("/echo", "POST", [("content-length", "3")]),
                        body_frames=[data], end_stream=False)
    short = DataFrame(1)
    short.data = b"ab"
    short.flags.add("END_STREAM")
    expect_stream_error("DATA shorter than content-length",
                        request("/echo", "POST", [("content-length", "3")]),
                        body_frames=[short], end_stream=False)

    # DATA after END_STREAM: STREAM_CLOSED (nghttp2 makes it a connection error).
    conn = Conn()
    late = DataFrame(1)
    late.data = b"late"
    conn.send(conn.headers(1, request("/status/200")), late)
    got = conn.answer(1)
    if got[0] == "status":
        got = conn.answer(1)
    check(got in (("rst", 5), ("goaway", 5)), f"DATA after END_STREAM: STREAM_CLOSED (got {got})")
    conn.close()

    # A stream id used again (and a lower one after a higher): PROTOCOL_ERROR for the connection.
    conn = Conn()
    conn.send(conn.headers(5, request("/status/200")))
    conn.wait_for(lambda f: isinstance(f, DataFrame) and f.stream_id == 5 and "END_STREAM" in f.flags)
    conn.send(conn.headers(5, request("/status/200")))
    got = conn.wait_for(lambda f: isinstance(f, GoAwayFrame))
    check(got is not None and got.error_code in (1, 5),
          f"stream id reused: GOAWAY (got {got.error_code if got else None})")
    conn.close()
    conn = Conn()
    conn.send(conn.headers(7, request("/status/200")), conn.headers(3, request("/status/200")))
    got = conn.wait_for(lambda f: isinstance(f, GoAwayFrame))
    check(got is not None and got.error_code == 1,
          f"a lower stream id after a higher: GOAWAY PROTOCOL_ERROR (got {got.error_code if got else None})")
    conn.close()

    # Window overflow: a WINDOW_UPDATE that takes the window past 2^31-1.
    conn = Conn()
    update = WindowUpdateFrame(0)
    update.window_increment = 2 ** 31 - 1
    conn.send(update)
    got = conn.wait_for(lambda f: isinstance(f, GoAwayFrame))
    check(got is not None and got.error_code == 3,
          f"connection window overflow: GOAWAY FLOW_CONTROL_ERROR (got {got.error_code if got else None})")
    conn.close()
    conn = Conn()
    conn.send(conn.headers(1, request("/echo", "POST"), end_stream=False))
    stream_update = WindowUpdateFrame(1)
    stream_update.window_increment = 2 ** 31 - 1
    conn.send(stream_update)
    got = conn.answer(1)
    check(got in (("rst", 3), ("goaway", 3)), f"stream window overflow: FLOW_CONTROL_ERROR (got {got})")
    conn.close()

    # Our SETTINGS never acknowledged: SETTINGS_TIMEOUT (the test config says 1 s).
    conn = Conn(ack_settings=False)
    started = time.monotonic()
    got = conn.wait_for(lambda f: isinstance(f, GoAwayFrame), seconds=5)
    took = time.monotonic() - started
    check(got is not None and got.error_code == 4 and took < 4,
          f"no SETTINGS ACK: GOAWAY SETTINGS_TIMEOUT after {took:.1f} s")
    check(conn.wait_closed(3), "no SETTINGS ACK: then closed")
    conn.close()


# ---- attacks ----

class Bystander(threading.Thread):
    """A well-behaved h2c client served all along: one request after another, each on a
    connection of its own, timed."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.ok = 0
        self.failed = 0
        self.slowest = 0.0

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                conn = Conn()
                conn.send(conn.headers(1, request("/status/200")))
                got = conn.answer(1, seconds=5)
                conn.close()
                if got == ("status", "200"):
                    self.ok += 1
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1
            self.slowest = max(self.slowest, time.monotonic() - started)
            time.sleep(0.05)


def attack(name, run, goaway=(), max_seconds=20, max_rss_kb=64 * 1024):
    """Runs `run(conn)` beside a bystander; readygate's CPU and RSS before and after."""
    bystander = Bystander()
    bystander.start()
    cpu0, rss0 = proc_cpu_rss()
    peak = rss0
    started = time.monotonic()
    conn = Conn()
    # Our SETTINGS acknowledged first, so what follows is the attack and nothing else (a
    # slow machine would otherwise see SETTINGS_TIMEOUT beat the attack's own answer).
    conn.wait_for(lambda f: isinstance(f, SettingsFrame) and "ACK" not in f.flags)
    result = {}
    worker = threading.Thread(target=lambda: result.update(closed=run(conn)), daemon=True)
    worker.start()
    while worker.is_alive() and time.monotonic() - started < max_seconds:
        peak = max(peak, proc_cpu_rss()[1])
        worker.join(0.1)
    seconds = time.monotonic() - started
    time.sleep(0.3)  # a last bystander request after the attack
    bystander.stop.set()
    bystander.join(10)
    cpu1, rss1 = proc_cpu_rss()
    conn.close()
    closed = result.get("closed", False)
    said = CODES.get(conn.goaway, conn.goaway)
    print(f"# {name}: GOAWAY {said}, {seconds:.1f} s, readygate CPU {cpu1 - cpu0:.2f} s, RSS {rss0} -> peak "
          f"{peak} -> {rss1} kB; bystander {bystander.ok} ok, {bystander.failed} failed, "
          f"slowest {bystander.slowest * 1000:.0f} ms", flush=True)
    check(closed, f"{name}: the attacker's connection is closed")
    if goaway:
        wanted = " or ".join(CODES[code] for code in goaway)
        check(conn.goaway in goaway, f"{name}: GOAWAY {wanted} (got {said})")
    check(seconds < max_seconds, f"{name}: over in {seconds:.1f} s (< {max_seconds})")
    check(bystander.failed == 0 and bystander.ok > 0,
          f"{name}: a bystander served meanwhile ({bystander.ok} ok, {bystander.failed} failed)")
    check(peak - rss0 < max_rss_kb, f"{name}: RSS grew {peak - rss0} kB (< {max_rss_kb} kB)")


def rapid_reset(conn):
    # 10,000 streams a second: HEADERS then RST_STREAM at once, in batches of 100.
    stream = 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not conn.closed:
        batch_started = time.monotonic()
        frames = []
        for _ in range(100):
            rst = RstStreamFrame(stream)
            rst.error_code = 8
            frames += [conn.headers(stream, request("/status/200")), rst]
            stream += 2
        if not conn.send(*frames):
            break
        for _ in conn.frames(time.monotonic() + 0.001):
            pass
        time.sleep(max(0.0, 0.01 - (time.monotonic() - batch_started)))
    return conn.wait_closed(5)


def made_you_reset(conn):
    # Streams the server must reset itself: a WINDOW_UPDATE that overflows the stream's
    # window is a stream error (FLOW_CONTROL_ERROR). nghttp2's reset-rate limit counts only
    # resets it receives; readygate counts the ones it sends as glitches. (A WINDOW_UPDATE
    # of 0, the other classic, nghttp2 answers with GOAWAY at once.)
    stream = 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not conn.closed:
        frames = []
        for _ in range(100):
            overflow = raw_frame(0x8, 0, stream, struct.pack(">I", 2 ** 31 - 1))
            frames += [conn.headers(stream, request("/status/200")), overflow]
            stream += 2
        if not conn.send(*frames):
            break
        for _ in conn.frames(time.monotonic() + 0.01):
            pass
    return conn.wait_closed(5)


def continuation_flood(conn):
    # HEADERS without END_HEADERS, then CONTINUATION after CONTINUATION.
    conn.send(conn.headers(1, request("/"), end_stream=True, end_headers=False))
    piece = ContinuationFrame(1)
    piece.data = conn.block([("x-flood", "a" * 4000)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and conn.send(*([piece] * 50)):
        for _ in conn.frames(time.monotonic() + 0.001):
            pass
    return conn.wait_closed(5)


def ping_flood(conn):
    ping = PingFrame(0)
    ping.opaque_data = b"12345678"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and conn.send(*([ping] * 1000)):
        for _ in conn.frames(time.monotonic() + 0.001):
            pass
    return conn.wait_closed(5)


def settings_flood(conn):
    settings = SettingsFrame(0)
    settings.settings = {SettingsFrame.MAX_CONCURRENT_STREAMS: 100}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and conn.send(*([settings] * 1000)):
        for _ in conn.frames(time.monotonic() + 0.001):
            pass
    return conn.wait_closed(5)


def zero_window_stall(conn):
    # 100 streams of 200 kB responses the client never lets through (its window is 0):
    # readygate holds at most about 1 MiB for the connection's responses together (the
    # backends are not read past it) and the idle timeout (3 s in this config) closes it.
    stall = Conn(settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0})
    stall.wait_for(lambda f: isinstance(f, SettingsFrame) and "ACK" not in f.flags)
    for stream in range(1, 200, 2):
        stall.send(stall.headers(stream, request("/bytes/200000")))
    closed = stall.wait_closed(15)
    stall.close()
    conn.closed = closed  # the attack's connection is the stalled one
    return closed


def huge_header_list(conn):
    # 1 MB of header fields in one HEADERS and its CONTINUATIONs.
    fields = request("/") + [(f"x-h{i}", "v" * 1000) for i in range(1000)]
    block = conn.block(fields)
    first = HeadersFrame(1)
    first.data = block[:16384]
    frames = [first]
    for offset in range(16384, len(block), 16384):
        piece = ContinuationFrame(1)
        piece.data = block[offset:offset + 16384]
        frames.append(piece)
    frames[-1].flags.add("END_HEADERS")
    before = pod_root_hits()
    conn.send(*frames)
    closed = conn.wait_closed(5)
    check(pod_root_hits() == before, "1 MB header list: reached no backend")
    return closed


# ---- the graceful close ----

def read_until_closed(conn, seconds, on_frame):
    decoder = hpack.Decoder()
    for frame in conn.frames(time.monotonic() + seconds):
        fields = dict(decoder.decode(frame.data, raw=False)) if isinstance(frame, HeadersFrame) else {}
        on_frame(frame, fields)
    return conn.closed


def max_streams_per_connection():
    conn = Conn(port=LIMITED)
    statuses, goaways = {}, []
    for stream in (1, 3, 5):  # the limit is 3: the third begins the graceful close
        conn.send(conn.headers(stream, request("/status/200")))

    def on_frame(frame, fields):
        if isinstance(frame, GoAwayFrame):
            goaways.append(frame.last_stream_id)
        if isinstance(frame, PingFrame) and "ACK" not in frame.flags:
            ack = PingFrame(0)
            ack.flags.add("ACK")
            ack.opaque_data = frame.opaque_data
            conn.send(ack)
        if ":status" in fields:
            statuses[frame.stream_id] = fields[":status"]
    closed = read_until_closed(conn, 5, on_frame)
    conn.close()
    check(statuses == {1: "200", 3: "200", 5: "200"}, f"maxStreamsPerConnection 3: all answered ({statuses})")
    check(goaways == [2 ** 31 - 1, 5], f"maxStreamsPerConnection: notice, then last stream 5 ({goaways})")
    check(closed, "maxStreamsPerConnection: then closed")


def active_streams():
    with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('readygate_http2_active_streams{service="web"}'):
                return float(line.split()[1])
    return -1


def graceful_shutdown():
    conn = Conn()
    conn.send(conn.headers(1, request("/status/200?delay_ms=1500")))
    deadline = time.monotonic() + 5
    while active_streams() < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(PID, signal.SIGTERM)
    statuses, goaways, order = {}, [], []

    def on_frame(frame, fields):
        if isinstance(frame, GoAwayFrame):
            goaways.append((frame.last_stream_id, frame.error_code))
            order.append("goaway")
        if isinstance(frame, PingFrame) and "ACK" not in frame.flags:
            # A request sent after the notice and before the round trip ends: still taken.
            conn.send(conn.headers(3, request("/status/201")))
            ack = PingFrame(0)
            ack.flags.add("ACK")
            ack.opaque_data = frame.opaque_data
            conn.send(ack)
            order.append("ping")
        if ":status" in fields:
            statuses[frame.stream_id] = fields[":status"]
            order.append(f"status {frame.stream_id}")
    closed = read_until_closed(conn, 8, on_frame)
    conn.close()
    check(goaways == [(2 ** 31 - 1, 0), (3, 0)],
          f"SIGTERM: GOAWAY notice, then last stream 3 after the PING ({goaways}, {order})")
    check(statuses == {1: "200", 3: "201"},
          f"SIGTERM: the stream in flight and the one sent after the notice answered ({statuses})")
    check(closed, "SIGTERM: then closed")


if __name__ == "__main__":
    conformance()
    attack("Rapid Reset (10,000 streams/s)", rapid_reset, goaway=(11,))
    # ENHANCE_YOUR_CALM once the resets it provoked pass the threshold; when readygate
    # answers faster than the client provokes (its streams already closed), nghttp2 ends
    # the connection itself with PROTOCOL_ERROR first.
    attack("MadeYouReset (server-made resets)", made_you_reset, goaway=(11, 1))
    attack("CONTINUATION flood", continuation_flood, goaway=(1,))
    attack("PING flood", ping_flood, goaway=(11,))
    attack("SETTINGS flood", settings_flood, goaway=(11,))
    # 100 streams x 200 kB would be 20 MB held, bufferBytes per stream 6.4 MB; without the
    # per-connection cap readygate's RSS grew 12.7 MB here, with it 3-5.5 MB.
    attack("zero-window stall", zero_window_stall, max_rss_kb=8 * 1024)
    attack("1 MB header list", huge_header_list, goaway=(1,))
    check(os.path.exists(f"/proc/{PID}"),
          "readygate alive after every attack")
    max_streams_per_connection()
    graceful_shutdown()
    if failures:
        print(f"h2_conformance: {len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("h2_conformance: all checks passed")
