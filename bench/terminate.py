#!/usr/bin/env python3
"""Helpers for bench/terminate.sh (standard library, plus ringfence for ``leaf``).

    terminate.py sse-origin --port P --cert F --key F       HTTPS server-sent-events origin
    terminate.py sse-client --url URL [--proxy H:P] --ca F [--key K] [--runs 5]
    terminate.py leaf [--n 200]                             LeafCache.context_for, new names
    terminate.py cpu PGID                                   CPU s of a process group: all, main threads
    terminate.py pki FOLDER                                 test CA + 127.0.0.1 server cert
    terminate.py profile OUT.prof -- RINGFENCE-ARGS...       ringfence's CLI under cProfile

``profile`` exists because ``python -m cProfile -m ringfence`` writes nothing: the CLI ends
with ``os._exit`` (no interpreter finalisation). Stop the proxy with SIGTERM; the stats are
written when ``serve_forever`` returns (read them with ``python -m pstats OUT.prof``).

The origin answers ``GET /sse?n=N&gap=MS`` (keep-alive, chunked ``text/event-stream``) with N
events ``data: <CLOCK_MONOTONIC ns at send>``, the first at once, then one every MS ms; with
``BENCH_API_KEY`` set, a request without that ``x-api-key`` gets 401 (so a proxy that did
not inject is seen). CLOCK_MONOTONIC is one clock for every process on the machine, so the
client's arrival time minus the origin's send time is the event's delay on its way.

The client opens ``--runs`` fresh connections (through ``--proxy`` with CONNECT when given)
and on each makes two requests: the first timed from the start of the TCP connect to the
first event (a new connection: TCP, CONNECT, both TLS handshakes, the request), the second
from sending the request to the first event (an established connection). It prints one
tab-separated line of key=value: medians in ms, and the per-event delay (events after the
first of each request) median and p90.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import ssl
import statistics
import sys
import time


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- the origin ----
def sse_origin(port: int, cert: str, key: str) -> None:
    import asyncio

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    api_key = os.environ.get("BENCH_API_KEY", "").encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, _, rest = head.partition(b"\r\n")
                target = line.split(b" ")[1].decode()
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (h.partition(b":") for h in rest.split(b"\r\n") if h)}
                if api_key and headers.get(b"x-api-key") != api_key:
                    writer.write(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 7\r\n\r\nno key\n")
                    await writer.drain()
                    continue
                query = dict(p.split("=", 1) for p in target.partition("?")[2].split("&") if "=" in p)
                n, gap = int(query.get("n", "10")), float(query.get("gap", "50")) / 1000
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
                             b"transfer-encoding: chunked\r\n\r\n")
                start = time.monotonic()
                for i in range(n):
                    await asyncio.sleep(max(0.0, start + i * gap - time.monotonic()))
                    event = b"data: %d\n\n" % time.monotonic_ns()
                    writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=context, backlog=256)
        async with server:
            await server.serve_forever()

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    uvloop.run(main())


# ---- the client ----
_EVENT = re.compile(rb"data: (\d+)\n\n")


def _connect(host: str, port: int, proxy: str | None, context: ssl.SSLContext, timeout: float) -> ssl.SSLSocket:
    if proxy:
        phost, _, pport = proxy.rpartition(":")
        sock = socket.create_connection((phost, int(pport)), timeout=timeout)
        sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            data = sock.recv(4096)
            if not data:
                raise OSError("the proxy closed the connection after CONNECT")
            reply += data
        if reply.split(b" ", 2)[1] != b"200":
            raise OSError(f"CONNECT refused: {reply.splitlines()[0]!r}")
    else:
        sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return context.wrap_socket(sock, server_hostname=host)


def _stream(sock: ssl.SSLSocket, request: bytes, n: int, t0: int) -> tuple[float, list[float]]:
    """Send ``request``, read its ``n`` events: (ms from t0 to the first, delays of the others in ms)."""
    sock.sendall(request)
    buf, first, delays, seen = b"", 0.0, [], 0
    while seen < n:
        data = sock.recv(65536)
        if not data:
            raise OSError(f"connection closed after {seen} of {n} events")
        now = time.monotonic_ns()
        buf += data
        if seen == 0 and b"\r\n" in buf:
            status = buf.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                raise OSError(f"status line {status!r}")
        for match in _EVENT.finditer(buf):
            if seen == 0:
                first = (now - t0) / 1e6
            else:
                delays.append((now - int(match.group(1))) / 1e6)
            seen += 1
        last = buf.rfind(b"\n\n")
        if last >= 0:
            buf = buf[last + 2:]
    # the terminating chunk: read it so the next request starts on a clean stream
    while not buf.endswith(b"0\r\n\r\n"):
        data = sock.recv(65536)
        if not data:
            break
        buf += data
    return first, delays


def sse_client(url: str, proxy: str | None, ca: str, key: str, runs: int, timeout: float) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context(cafile=ca)
    context.set_alpn_protocols(["http/1.1"])
    n = int(dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("n", "10"))
    extra = f"x-api-key: {key}\r\n" if key else ""
    request = (f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               f"accept: text/event-stream\r\n{extra}\r\n").encode()
    cold, warm, delays, errors = [], [], [], 0
    for _ in range(runs):
        try:
            t0 = time.monotonic_ns()
            sock = _connect(host, port, proxy, context, timeout)
            with sock:
                first, d1 = _stream(sock, request, n, t0)
                cold.append(first)
                first, d2 = _stream(sock, request, n, time.monotonic_ns())
                warm.append(first)
                delays += d1 + d2
        except (OSError, ssl.SSLError) as exc:
            errors += 1
            print(f"sse-client: {exc}", file=sys.stderr)
    if not cold:
        print(f"sse_err={errors}")
        return
    print("\t".join([f"sse_cold_ms={statistics.median(cold):.2f}", f"sse_warm_ms={statistics.median(warm):.2f}",
                     f"sse_delay_ms={statistics.median(delays):.3f}", f"sse_delay_p90_ms={_quantile(delays, 0.9):.3f}",
                     f"sse_events={len(delays)}", f"sse_err={errors}"]))


# ---- leaf certificates ----
def leaf(n: int) -> None:
    import tempfile

    from ringfence.tls import LeafCache, load_or_create

    with tempfile.TemporaryDirectory(prefix="rfbench-leaf.") as state:
        t = time.perf_counter()
        ca = load_or_create(state)
        ca_ms = (time.perf_counter() - t) * 1000
        cache = LeafCache(ca, maxsize=n + 8)
        t = time.perf_counter()
        cache.context_for("first.bench.test")
        first_ms = (time.perf_counter() - t) * 1000
        times = []
        for i in range(n):
            t = time.perf_counter()
            cache.context_for(f"host{i}.bench.test")
            times.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        for i in range(n):
            cache.context_for(f"host{i}.bench.test")
        hit_us = (time.perf_counter() - t) * 1e6 / n
    print("\t".join(["name=leaf", f"n={n}", f"ca_ms={ca_ms:.1f}", f"first_ms={first_ms:.2f}",
                     f"median_ms={statistics.median(times):.2f}", f"p90_ms={_quantile(times, 0.9):.2f}",
                     f"max_ms={max(times):.2f}", f"cached_us={hit_us:.1f}"]))


# ---- CPU time of a process group (utime + stime of every thread, /proc/PID/stat) ----
def _ticks(stat_path: str) -> tuple[int, int]:
    """(process group, utime + stime) from a /proc stat file; (-1, 0) if it is gone."""
    try:
        with open(stat_path) as fh:
            stat = fh.read()
    except OSError:
        return -1, 0
    fields = stat[stat.rindex(")") + 2:].split()  # from field 3 (state) on
    return int(fields[2]), int(fields[11]) + int(fields[12])  # fields 5 (pgrp), 14 and 15 (utime, stime)


def cpu(pgid: int) -> tuple[float, float]:
    """CPU seconds of the whole group (every process, all threads: /proc/PID/stat counts them
    all), and of the event-loop threads alone: the main thread of each process."""
    total = main = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            group, ticks = _ticks(f"/proc/{entry}/stat")
            if group == pgid:
                total += ticks
                main += _ticks(f"/proc/{entry}/task/{entry}/stat")[1]
    tick = os.sysconf("SC_CLK_TCK")
    return total / tick, main / tick


def pki(folder: str) -> None:
    from pathlib import Path

    from tests.support.pki import make_test_pki

    made = make_test_pki(Path(folder))
    print(made.ca_pem_path, made.cert_path, made.key_path)


def profile(out: str, argv: list[str]) -> None:
    import cProfile

    from ringfence.cli import main as ringfence_main

    sys.argv = ["ringfence", *argv]
    profiler = cProfile.Profile()
    try:
        profiler.runcall(ringfence_main)
    finally:
        profiler.dump_stats(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sse-origin")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p = sub.add_parser("sse-client")
    p.add_argument("--url", required=True)
    p.add_argument("--proxy")
    p.add_argument("--ca", required=True)
    p.add_argument("--key", default="", help="x-api-key to send (direct runs: no proxy injects it)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--timeout", type=float, default=20)
    p = sub.add_parser("leaf")
    p.add_argument("--n", type=int, default=200)
    p = sub.add_parser("cpu")
    p.add_argument("pgid", type=int)
    p = sub.add_parser("pki")
    p.add_argument("folder")
    p = sub.add_parser("profile")
    p.add_argument("out")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.cmd == "sse-origin":
        sse_origin(args.port, args.cert, args.key)
    elif args.cmd == "sse-client":
        sse_client(args.url, args.proxy, args.ca, args.key, args.runs, args.timeout)
    elif args.cmd == "leaf":
        leaf(args.n)
    elif args.cmd == "cpu":
        total, main_threads = cpu(args.pgid)
        print(f"{total:.2f} {main_threads:.2f}")
    elif args.cmd == "pki":
        pki(args.folder)
    elif args.cmd == "profile":
        profile(args.out, args.argv[1:] if args.argv[:1] == ["--"] else args.argv)


if __name__ == "__main__":
    main()
