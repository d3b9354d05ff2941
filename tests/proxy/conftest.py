"""Fixtures for the proxy tests: a real proxy on port 0 and in-process origin servers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from ringfence.policy.hosts import HostRules
from ringfence.proxy import ProxyConfig, start_in_thread

from .helpers import BlastOrigin, ListSink, OriginServer, RunningProxy, listening_tcp


@pytest.fixture(params=["uvloop", "asyncio"])
def proxy_loop(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_proxy(proxy_loop: str) -> Iterator[Callable[..., RunningProxy]]:
    started: list[RunningProxy] = []

    def start(allow: list[str], deny: list[str] | None = None, *, connect_timeout: float = 5.0) -> RunningProxy:
        sink = ListSink()
        sock = listening_tcp()
        config = ProxyConfig(HostRules.parse(allow, deny or []), run_id="test-run", command="agent --flag",
                             connect_timeout=connect_timeout)
        handle = start_in_thread(config, sink, [sock], use_uvloop=proxy_loop == "uvloop")
        proxy = RunningProxy(sock.getsockname()[1], sink, handle)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.handle.stop()
        assert not proxy.handle.thread.is_alive()


@pytest.fixture
def origin() -> Iterator[OriginServer]:
    server = OriginServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def blast_origin() -> Iterator[BlastOrigin]:
    server = BlastOrigin(8 * 1024 * 1024 + 17)
    yield server
    server.close()
