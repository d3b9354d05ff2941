"""The public entry points: lazy import, serve_forever under signals, idle timeout."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ringfence.policy.hosts import HostRules
from ringfence.proxy import ProxyConfig, start_in_thread

from .helpers import ListSink, OriginServer, closed_port, listening_tcp


def test_importing_the_package_does_not_import_asyncio() -> None:
    code = "import sys, ringfence.proxy; print('asyncio' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def _wait_for_port(port: int, proc: subprocess.Popen[str]) -> None:
    end = time.monotonic() + 20
    while time.monotonic() < end and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"serve_forever did not listen: {proc.communicate()}")


def test_serve_forever_tcp_until_sigterm(origin: OriginServer, tmp_path: Path) -> None:
    port = closed_port()
    script = textwrap.dedent(f"""
        from ringfence.policy.hosts import HostRules
        from ringfence.proxy import ProxyConfig, serve_forever
        class Sink:
            def record(self, rec):
                print(rec.decision.value, rec.host, rec.path, flush=True)
        serve_forever(ProxyConfig(HostRules.parse(["127.0.0.1"], []), run_id="cli"), Sink(), "tcp:127.0.0.1:{port}")
        print("stopped", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_port(port, proc)
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(f"GET http://127.0.0.1:{origin.port}/sf HTTP/1.0\r\n\r\n".encode())
            assert sock.makefile("rb").read().endswith(b"hello from /sf")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.splitlines() == ["allow 127.0.0.1 /sf", "stopped"]


def test_serve_forever_unix(origin: OriginServer, tmp_path: Path) -> None:
    path = tmp_path / "p.sock"
    script = textwrap.dedent(f"""
        from ringfence.policy.hosts import HostRules
        from ringfence.proxy import ProxyConfig, serve_forever
        class Sink:
            def record(self, rec): pass
        serve_forever(ProxyConfig(HostRules.parse(["127.0.0.1"], []), run_id="cli"), Sink(), "unix:{path}")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 20
        while not path.exists() and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(20)
            sock.connect(str(path))
            sock.sendall(f"GET http://127.0.0.1:{origin.port}/u HTTP/1.0\r\n\r\n".encode())
            assert sock.makefile("rb").read().endswith(b"hello from /u")
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0


def test_idle_connection_is_closed() -> None:
    sink = ListSink()
    sock = listening_tcp()
    config = ProxyConfig(HostRules.parse(["127.0.0.1"], []), run_id="idle", idle_timeout=0.5)
    handle = start_in_thread(config, sink, [sock])
    try:
        with socket.create_connection(sock.getsockname(), timeout=30) as client:
            client.sendall(b"GET http://127.0.0.1/ HTTP/1.1\r\n")  # never finishes its head
            try:
                assert client.recv(100) == b""
            except ConnectionResetError:
                pass
    finally:
        handle.stop()


def test_stop_closes_the_listeners(proxy_loop: str) -> None:
    sock = listening_tcp()
    address = sock.getsockname()
    handle = start_in_thread(ProxyConfig(HostRules.parse([], []), run_id="s"), ListSink(), [sock],
                             use_uvloop=proxy_loop == "uvloop")
    socket.create_connection(address, timeout=10).close()
    handle.stop()
    assert not handle.thread.is_alive()
    try:
        socket.create_connection(address, timeout=10).close()
    except ConnectionRefusedError:
        return
    raise AssertionError("the listener still accepts after stop()")


def test_proxy_server_serve_and_aclose(origin: OriginServer) -> None:
    import asyncio

    from ringfence.proxy import ProxyServer

    sock = listening_tcp()
    sink = ListSink()

    async def main() -> bytes:
        server = ProxyServer(ProxyConfig(HostRules.parse(["127.0.0.1"], []), run_id="a"), sink)
        serving = asyncio.ensure_future(server.serve([sock]))
        reader, writer = await asyncio.open_connection(*sock.getsockname())
        writer.write(f"GET http://127.0.0.1:{origin.port}/a HTTP/1.0\r\n\r\n".encode())
        body = await reader.read()
        writer.close()
        await server.aclose()
        await asyncio.wait_for(serving, 10)
        return body

    assert asyncio.run(main()).endswith(b"hello from /a")
    assert [r.path for r in sink.snapshot()] == ["/a"]


def test_start_in_thread_reports_a_bad_listener() -> None:
    import pytest

    from ringfence.errors import ProxyError

    not_listening = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with pytest.raises(ProxyError, match="could not start"):
        start_in_thread(ProxyConfig(HostRules.parse([], []), run_id="bad"), ListSink(), [not_listening])
    not_listening.close()


def test_bind_listener_refuses_an_out_of_range_port() -> None:
    import pytest

    from ringfence.errors import ProxyError
    from ringfence.proxy.server import bind_listener

    with pytest.raises(ProxyError):
        bind_listener("tcp:127.0.0.1:99999")
