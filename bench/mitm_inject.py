"""mitmdump addon for bench/terminate.sh: the work `ringfence proxy` does on a terminated request.

    mitmdump -s bench/mitm_inject.py   (BENCH_API_KEY, BENCH_PLACEHOLDER, BENCH_HOSTS in the environment)

What ringfence does to a request for a host its credential names, done here the same way:

- a leak check of the request target and headers: the secret or the placeholder, raw,
  percent- or base64-encoded, going to a host outside BENCH_HOSTS is refused (403);
- the credential header set to the secret (whatever the client put there is replaced), and
  ``Accept-Encoding: identity`` so the answer can be scrubbed;
- the response's headers and body scrubbed: each occurrence of the secret becomes the
  placeholder (same length, so Content-Length and chunk framing hold); a compressed answer
  is refused (ringfence answers 502; here the flow is killed). Bodies without a length or over 1 MiB (bulk downloads, server-sent
  events) are scrubbed as a stream, holding back only a tail that could start the secret,
  as ringfence does; smaller ones are scrubbed whole once mitmproxy has buffered them.
"""

from __future__ import annotations

import base64
import os
from urllib.parse import quote

from mitmproxy import http

SECRET = os.environ["BENCH_API_KEY"].encode()
PLACEHOLDER = os.environ.get("BENCH_PLACEHOLDER", "").encode() or (b"rfph_" + b"x" * len(SECRET))[: len(SECRET)]
HOSTS = frozenset(h for h in os.environ.get("BENCH_HOSTS", "127.0.0.1").split(",") if h)
HEADER = os.environ.get("BENCH_HEADER", "x-api-key")
STREAM_OVER = 1 << 20

if len(PLACEHOLDER) != len(SECRET):
    raise SystemExit("mitm_inject: BENCH_PLACEHOLDER must be as long as BENCH_API_KEY")


def _forms(value: bytes) -> list[bytes]:
    return [value, quote(value, safe="").encode(), base64.b64encode(value).rstrip(b"=")]


NEEDLES = _forms(SECRET) + _forms(PLACEHOLDER)


class StreamScrub:
    """Replaces the secret in a body fed in pieces; holds back only a tail that could begin it."""

    def __init__(self) -> None:
        self.held = b""

    def __call__(self, chunk: bytes) -> bytes:
        if not chunk:  # mitmproxy's end of the body
            out, self.held = self.held, b""
            return out
        data = (self.held + chunk).replace(SECRET, PLACEHOLDER)
        keep = 0
        for length in range(min(len(data), len(SECRET) - 1), 0, -1):
            if SECRET.startswith(data[-length:]):
                keep = length
                break
        self.held = data[len(data) - keep:] if keep else b""
        return data[: len(data) - keep]


class Inject:
    def request(self, flow: http.HTTPFlow) -> None:
        blob = flow.request.path.encode() + b"\n" + b"\n".join(v for _, v in flow.request.headers.fields)
        found = any(n in blob for n in NEEDLES)
        if flow.request.host not in HOSTS:
            if found:
                flow.response = http.Response.make(403, b"refused: leak guard\n")
            return
        flow.request.headers[HEADER] = SECRET.decode()
        flow.request.headers["accept-encoding"] = "identity"
        flow.metadata["inject"] = True

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None or not flow.metadata.get("inject"):
            return
        fields = response.headers.fields
        if any(SECRET in value for _, value in fields):
            response.headers.fields = tuple((name, value.replace(SECRET, PLACEHOLDER)) for name, value in fields)
        if response.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
            flow.kill()  # ringfence answers 502: a compressed body could hide the secret
            return
        length = response.headers.get("content-length")
        if length is None or int(length) > STREAM_OVER:
            response.stream = StreamScrub()

    def response(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None or not flow.metadata.get("inject") or response.stream:
            return
        if response.raw_content and SECRET in response.raw_content:
            response.raw_content = response.raw_content.replace(SECRET, PLACEHOLDER)


addons = [Inject()]
