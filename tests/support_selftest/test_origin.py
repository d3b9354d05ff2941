"""The origin, exercised by real clients (curl, urllib, requests, httpx) and by raw sockets."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import httpx
import pytest
import requests

from tests.support.origin import REFLECT_CHUNK, Origin, Reply, expected_bytes, reflect_body
from tests.support.pki import TestPki

SECRET = "sk-secret-value-that-must-split"


def curl(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=timeout)


def test_curl_over_tls_with_the_test_ca(https_origin: Origin, test_pki: TestPki) -> None:
    result = curl("--cacert", str(test_pki.ca_pem_path), f"{https_origin.url}/anything")
    assert (result.returncode, result.stdout) == (0, "ok\n")
    assert https_origin.last.tls and https_origin.last.route == "/anything"


def test_curl_without_the_test_ca_fails_and_the_origin_records_the_failed_handshake(https_origin: Origin) -> None:
    result = curl(f"{https_origin.url}/")
    assert result.returncode == 60  # CURLE_PEER_FAILED_VERIFICATION
    assert https_origin.requests == []
    assert https_origin.tls_errors


def test_echo_records_method_path_headers_body_and_sni(https_origin: Origin, test_pki: TestPki) -> None:
    url = f"https://localhost:{https_origin.port}/echo?a=1&b=2"
    result = curl("--cacert", str(test_pki.ca_pem_path), "--resolve", f"localhost:{https_origin.port}:127.0.0.1",
                  "-H", "X-Api-Key: k1", "-H", "X-Twice: 1", "-H", "X-Twice: 2", "--data-binary", "the body", url)
    echoed = json.loads(result.stdout)
    request = https_origin.last
    assert echoed["path"] == request.path == "/echo?a=1&b=2"
    assert echoed["method"] == request.method == "POST"
    assert echoed["body"] == "the body" and request.body == b"the body"
    assert ["X-Api-Key", "k1"] in echoed["headers"]
    assert request.header("x-api-key") == "k1"
    assert request.header_values("x-twice") == ["1", "2"]
    assert request.query == {"a": ["1"], "b": ["2"]}
    assert request.sni == echoed["sni"] == "localhost"
    assert request.contains("k1") and not request.contains("k2")


def test_keep_alive_serves_several_requests_on_one_connection(http_origin: Origin) -> None:
    curl(f"{http_origin.url}/one", f"{http_origin.url}/two")
    first, second = http_origin.requests
    assert first.connection == second.connection


def test_chunked_request_body(http_origin: Origin) -> None:
    curl("-H", "Transfer-Encoding: chunked", "--data-binary", "chunked body", f"{http_origin.url}/echo")
    assert http_origin.last.body == b"chunked body"
    assert http_origin.last.header("transfer-encoding") == "chunked"


def test_reflect_splits_a_secret_across_3_byte_chunks(https_origin: Origin, test_pki: TestPki) -> None:
    head, chunks = raw_chunked_get(test_pki, https_origin, "/reflect", [("X-Secret", SECRET)])
    assert f"x-reflect-x-secret: {SECRET}" in head
    assert all(len(chunk) <= REFLECT_CHUNK for chunk in chunks)
    assert not any(SECRET.encode() in chunk for chunk in chunks)
    body = b"".join(chunks)
    assert SECRET.encode() in body
    assert body == reflect_body(https_origin.last.headers)


def test_reflect_reads_back_whole_through_a_client(https_origin: Origin, test_pki: TestPki) -> None:
    response = requests.get(f"{https_origin.url}/reflect", headers={"X-Secret": SECRET},
                            verify=str(test_pki.ca_pem_path), timeout=30)
    assert response.headers["x-reflect-x-secret"] == SECRET
    assert f"X-Secret: {SECRET}\n" in response.text


def test_sse_events_arrive_one_by_one(https_origin: Origin, test_pki: TestPki) -> None:
    count, delay = 4, 0.3
    connection = http.client.HTTPSConnection("127.0.0.1", https_origin.port, context=test_pki.client_context(),
                                             timeout=30)
    connection.request("GET", f"/sse?n={count}&delay={delay}")
    response = connection.getresponse()
    assert response.getheader("content-type") == "text/event-stream"
    events = list(read_events(response))
    connection.close()
    assert [event["i"] for event, _ in events] == list(range(count))
    first_arrived, last_sent = events[0][1], events[-1][0]["sent"]
    assert first_arrived < last_sent  # the first event was read before the last was even sent
    assert events[-1][1] - events[0][1] > (count - 1) * delay / 2  # not all at once


def test_status_route(http_origin: Origin) -> None:
    result = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                  f"{http_origin.url}/status/302?location=/elsewhere")
    assert result.stdout == f"302 {http_origin.url}/elsewhere"
    assert curl("-o", "/dev/null", "-w", "%{http_code}", f"{http_origin.url}/status/503").stdout == "503"


def test_a_bad_number_is_a_400(http_origin: Origin) -> None:
    for path in ("/sse?n=x", "/delay/nan", "/sse?delay=-1"):
        assert curl("-o", "/dev/null", "-w", "%{http_code}", f"{http_origin.url}{path}").stdout == "400"
    assert http_origin.errors == []


def test_bytes_route_with_requests(https_origin: Origin, test_pki: TestPki) -> None:
    size = 3 * 1024 * 1024 + 5
    response = requests.get(f"{https_origin.url}/bytes/{size}", verify=str(test_pki.ca_pem_path), timeout=60)
    assert response.content == expected_bytes(size)


def test_big_upload_with_httpx_streaming_a_chunked_body(https_origin: Origin, test_pki: TestPki) -> None:
    piece, pieces = b"u" * 65536, 128

    def body() -> Iterator[bytes]:
        for _ in range(pieces):
            yield piece

    response = httpx.post(f"{https_origin.url}/big-upload", content=body(), verify=test_pki.client_context(),
                          timeout=60)
    assert response.json() == {"size": len(piece) * pieces, "sha256": hashlib.sha256(piece * pieces).hexdigest()}
    assert https_origin.last.body_size == len(piece) * pieces and https_origin.last.body == b""


def test_urllib_and_head(https_origin: Origin, test_pki: TestPki) -> None:
    context = test_pki.client_context()
    request = urllib.request.Request(f"{https_origin.url}/bytes/10", method="HEAD")
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        assert response.headers["Content-Length"] == "10"
        assert response.read() == b""


def test_two_hosts_on_loopback(https_origin: Origin, https_origin2: Origin, test_pki: TestPki) -> None:
    assert (https_origin.host, https_origin2.host) == ("127.0.0.1", "127.0.0.2")
    curl("--cacert", str(test_pki.ca_pem_path), f"{https_origin2.url}/only-two")
    assert https_origin.requests == []
    assert https_origin2.last.route == "/only-two" and https_origin2.last.client[0] == "127.0.0.1"


def test_custom_route(http_origin: Origin) -> None:
    http_origin.route("/canned", Reply(201, b"made\n", (("X-Made", "yes"),)))
    http_origin.route("/computed", lambda request: Reply(body=request.method.encode()))
    assert curl("-i", f"{http_origin.url}/canned").stdout.replace("\r", "").count("X-Made: yes") == 1
    assert curl("-X", "PUT", f"{http_origin.url}/computed").stdout == "PUT"


def test_clear_and_last(http_origin: Origin) -> None:
    with pytest.raises(LookupError, match="no request"):
        http_origin.last  # noqa: B018
    curl(f"{http_origin.url}/x")
    http_origin.clear()
    assert http_origin.requests == []


def test_stop_ends_kept_alive_connections() -> None:
    origin = Origin().start()
    sock = socket.create_connection(("127.0.0.1", origin.port), timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"\r\n\r\nok\n"):
        answer += sock.recv(4096)
    started = time.monotonic()
    origin.stop()
    assert sock.recv(4096) == b""  # closed by the server, not left to the idle timeout
    assert time.monotonic() - started < 5
    sock.close()


# ---- helpers -------------------------------------------------------------------------------


def raw_chunked_get(pki: TestPki, origin: Origin, path: str,
                    headers: list[tuple[str, str]]) -> tuple[str, list[bytes]]:
    """GET over a raw TLS socket; returns the response head and the body's chunks as framed."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {origin.netloc}", *(f"{k}: {v}" for k, v in headers),
             "Connection: close", "", ""]
    with socket.create_connection((origin.host, origin.port), timeout=30) as raw, \
            pki.client_context().wrap_socket(raw, server_hostname=origin.host) as tls:
        tls.sendall("\r\n".join(lines).encode())
        data = read_all(tls)
    head, _, rest = data.partition(b"\r\n\r\n")
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        rest = rest[size + 2 :]
    return head.decode("latin-1"), chunks


def read_all(sock: ssl.SSLSocket) -> bytes:
    parts = []
    while True:
        try:
            piece = sock.recv(65536)
        except ssl.SSLZeroReturnError:
            break
        if not piece:
            break
        parts.append(piece)
    return b"".join(parts)


def read_events(response: http.client.HTTPResponse) -> Iterator[tuple[dict[str, float], float]]:
    """(the event's data, when it arrived) for each server-sent event."""
    for line in response:
        if line.startswith(b"data: "):
            yield json.loads(line[6:]), time.time()
