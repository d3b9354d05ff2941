"""What the proxy does to a request it can read, beyond deciding its destination (sans-IO).

A request is readable when it is plain HTTP, when it arrives through a gateway, or when the
proxy terminated the agent's TLS for its host. For each such request ``Inspector.admit``
applies, in this order: the request rules (methods, paths, body size), the rate limits, the
leak guard over the target and the headers, and then credential injection. What it admits
comes with the filters its bodies go through: a leak scan of the request body and a scrub of
the response that replaces an injected secret with the run's placeholder.

Rules this module keeps:

- a credential goes only to the hosts its policy entry names; whatever the agent put in that
  header (a placeholder or nothing) is replaced;
- a request to any host that carries a secret or a placeholder of a credential that is not
  for that host is refused, wherever it is (target, headers, body) and however it is encoded
  (raw, percent, base64): the guard reports the credential, never the value;
- a request body that needs a leak scan is held back by as many bytes as a needle can span,
  so a refused secret never reaches the upstream whole;
- a response to a request that carried an injected secret is scrubbed, headers and body,
  across chunk boundaries; replacements keep lengths, so framing never changes. Such a
  request asks for ``Accept-Encoding: identity``: a compressed answer could hide the secret
  from the scrub, and one that comes compressed anyway is refused (502);
- nothing here performs I/O or reads a clock other than the one it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ringfence.policy.hosts import HostRules
from ringfence.proxy import http1
from ringfence.proxy.http1 import Framing, HttpError

if TYPE_CHECKING:
    from ringfence.credentials import Hit, LeakGuard, RateLimiter, RequestPolicy, Scrubber, SecretStore


class Transform(Protocol):
    """A stream filter over a body's payload: what goes in comes out, possibly later."""

    def feed(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


@dataclass(frozen=True)
class Binding:
    """One credential as the proxy applies it."""

    name: str
    hosts: HostRules
    header: str  # as the policy spells it
    placeholder: str

    def applies(self, host: str, port: int) -> bool:
        return self.hosts.decide_name(host, port).allowed


@dataclass(frozen=True)
class Route:
    """One ``[[upstreams]]`` gateway: ``/NAME/rest`` goes to ``scheme://host:port/base/rest``."""

    name: str
    scheme: str  # "http" | "https"
    host: str
    port: int
    base: str  # base path without a trailing slash ("" for none)
    authority: str  # for the Host header


@dataclass(frozen=True)
class Refusal:
    """A request the inspection refuses: the status and text the agent gets, the record's words."""

    status: int
    rule: str
    reason: str
    retry_after: int = 0
    leak: bool = False

    def response(self) -> bytes:
        # x-should-retry: the Anthropic and OpenAI SDKs retry many statuses unless told not to;
        # a policy refusal will not change on a retry (a 429 will, after Retry-After).
        extra = f"Retry-After: {self.retry_after}\r\n" if self.retry_after else "x-should-retry: false\r\n"
        return http1.error_response(self.status, f"ringfence: refused: {self.reason}\n", close=True, extra=extra)


@dataclass
class Admitted:
    """A request the inspection lets through, and what its exchange needs."""

    block: bytes  # the header block to send upstream (credential injected)
    credential: str = ""  # the name of the injected credential
    scan: Transform | None = None  # leak scan of the request body
    scrub: Callable[[], Transform] | None = None  # a fresh response scrubber
    scrub_headers: Callable[[bytes], bytes] | None = None
    max_body: int = 0  # 0: no limit


class LeakFound(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


_COMPRESSION_FIELDS = frozenset({b"accept-encoding"})
_IDENTITY = b"Accept-Encoding: identity\r\n"


@dataclass
class Inspector:
    """The per-server inspection state: credentials, rules, limits and gateways."""

    terminate: HostRules
    bindings: Sequence[Binding] = ()
    store: SecretStore | None = None
    requests: RequestPolicy | None = None
    rates: RateLimiter | None = None
    routes: Mapping[str, Route] = field(default_factory=dict)
    extra_needles: Sequence[tuple[str, str]] = ()  # (label, value) that may go nowhere (workspace secrets)
    clock: Callable[[], float] = time.monotonic
    _terminates: dict[tuple[str, int], bool] = field(default_factory=dict)
    _bound: dict[tuple[str, int], Binding | None] = field(default_factory=dict)
    _scrubbers: dict[str, tuple[tuple[str, ...], Scrubber]] = field(default_factory=dict)  # by credential
    _guard: LeakGuard | None = None
    _guard_key: tuple[str, ...] = ()
    _max_span: int = 0

    # ---- what to terminate, where gateways go ----
    def terminates(self, host: str, port: int) -> bool:
        key = (host, port)
        found = self._terminates.get(key)
        if found is None:
            found = self.terminate.decide_name(host, port).allowed
            if len(self._terminates) > 4096:
                self._terminates.clear()
            self._terminates[key] = found
        return found

    def route(self, path: str) -> tuple[Route, str] | None:
        """The gateway an origin-form path names, and the path to send upstream."""
        name, slash, rest = path[1:].partition("/")
        if "?" in name:
            name, _, query = name.partition("?")
            rest, slash = "?" + query, ""
        found = self.routes.get(name)
        if found is None:
            return None
        upstream = found.base + "/" + rest if slash else found.base + (rest or "/")
        if not upstream.startswith("/"):
            upstream = "/" + upstream
        return found, upstream

    # ---- one request ----
    def admit(self, method: str, target: str, path: str, block: bytes, host: str, port: int,
              body_length: int | None) -> Admitted | Refusal:
        """Decide one readable request addressed to ``host:port`` (already allowed by the host rules)."""
        if self.requests is not None:
            refused = self.requests.check(host, port, method, path, body_length)
            if refused is not None:
                return Refusal(refused.status, refused.rule, refused.reason)
        if self.rates is not None:
            pattern, wait = self.rates.check(host, port, self.clock())
            if wait > 0:
                seconds = max(1, int(wait + 0.999))
                reason = f"rate limit of [network] rate {pattern!r} reached; retry in {seconds} s"
                return Refusal(429, f"rate {pattern}", reason, retry_after=seconds)
        guard = self.guard()
        if guard is not None:
            hit = guard.find(target.encode("latin-1") + b"\n" + block, host, port)
            if hit is not None:
                return _leak_refusal(hit, host, "the request target or headers")
        admitted = Admitted(block)
        binding = self._binding_for(host, port)
        if binding is not None:
            self._inject(binding, admitted)
        if guard is not None:
            admitted.scan = _HoldBackScan(guard, host, port, self._max_span)
        if self.requests is not None:
            admitted.max_body = self.requests.max_body_for(host, port)
        return admitted

    def _binding_for(self, host: str, port: int) -> Binding | None:
        key = (host, port)
        if key in self._bound:
            return self._bound[key]
        found = next((b for b in self.bindings if b.applies(host, port)), None)
        if len(self._bound) > 4096:
            self._bound.clear()
        self._bound[key] = found
        return found

    def _inject(self, binding: Binding, admitted: Admitted) -> None:
        assert self.store is not None, "bindings come with their store"
        value = self.store.current_header_value(binding.name)  # never runs a command on the loop
        name = binding.header.encode("ascii")
        line = name + b": " + value.encode("latin-1") + b"\r\n"
        drop = frozenset({name.lower()}) | _COMPRESSION_FIELDS
        admitted.block = http1.replace_fields(admitted.block, drop, line + _IDENTITY)
        admitted.credential = binding.name
        template = self._scrubber(binding)
        admitted.scrub = template.fresh
        admitted.scrub_headers = template.scrub

    def _scrubber(self, binding: Binding) -> Scrubber:
        """The prepared scrubber of a credential, remade only when its values change."""
        from ringfence.credentials import Scrubber, mask_for

        assert self.store is not None
        values = tuple(self.store.all_values(binding.name))
        cached = self._scrubbers.get(binding.name)
        if cached is not None and cached[0] == values:
            return cached[1]
        replacements = {v.encode("latin-1"): mask_for(binding.placeholder, v).encode("latin-1") for v in values}
        template = Scrubber(replacements)
        self._scrubbers[binding.name] = (values, template)
        return template

    # ---- the leak guard, rebuilt when a credential's value changes (cmd: refreshes) ----
    def guard(self) -> LeakGuard | None:
        if not self.bindings and not self.extra_needles:
            return None
        values = self._needle_values()
        key = tuple(v for _, v, _ in values)
        if self._guard is None or key != self._guard_key:
            from ringfence.credentials import LeakGuard

            self._guard = LeakGuard.build(values)
            self._guard_key = key
            # the longest form a needle can take in a body: percent-encoding triples a byte
            self._max_span = 3 * max((len(v.encode("utf-8")) for v in key), default=0) + 8
        return self._guard

    def _needle_values(self) -> list[tuple[str, str, HostRules]]:
        nowhere = HostRules((), ())
        values: list[tuple[str, str, HostRules]] = []
        for binding in self.bindings:
            values.append((binding.name, binding.placeholder, binding.hosts))
            if self.store is not None:
                values += [(binding.name, secret, binding.hosts) for secret in self.store.all_values(binding.name)]
        values += [(label, value, nowhere) for label, value in self.extra_needles]
        return values


WORKSPACE_LABEL = "workspace secret "  # how ringfence run labels the values its workspace scan found


def _leak_refusal(hit: Hit, host: str, where: str) -> Refusal:
    shown = "" if hit.encoding == "raw" else f" ({hit.encoding}-encoded)"
    if hit.credential.startswith(WORKSPACE_LABEL):
        found = hit.credential[len(WORKSPACE_LABEL):]
        reason = (f"leak guard: {where} carry a secret found in the workspace ({found}){shown}, "
                  f"which may go to no host, {host} included")
    else:
        reason = (f"leak guard: {where} carry the {hit.kind} of credential {hit.credential!r}{shown}, "
                  f"which may only go to its own hosts, not {host}")
    return Refusal(403, "leak guard", reason, leak=True)


class _HoldBackScan:
    """Scans a request body for needles, holding back enough bytes that none leaves whole."""

    def __init__(self, guard: LeakGuard, host: str, port: int, keep: int) -> None:
        self._scanner = guard.scanner(host, port)
        self._host = host
        self._keep = keep
        self._tail = b""

    def feed(self, data: bytes) -> bytes:
        hit = self._scanner.feed(data)
        if hit is not None:
            raise LeakFound(_leak_refusal(hit, self._host, "the request body"))
        buffered = self._tail + data
        if len(buffered) <= self._keep:
            self._tail = buffered
            return b""
        cut = len(buffered) - self._keep
        self._tail = buffered[cut:]
        return buffered[:cut]

    def flush(self) -> bytes:
        tail, self._tail = self._tail, b""
        return tail


class BodyFilter:
    """Runs a body through a ``Transform``, keeping its framing: chunked stays chunked (with our
    chunk sizes), a Content-Length body keeps its length (transforms conserve bytes), and a
    body that ends with the connection still does."""

    __slots__ = ("_framer", "_transform", "_chunked", "done", "until_close")

    def __init__(self, framing: Framing, length: int, limits: http1.Limits, transform: Transform) -> None:
        self._framer = http1.BodyFramer(framing, length, limits)
        self._transform = transform
        self._chunked = framing is Framing.CHUNKED
        self.until_close = framing is Framing.UNTIL_CLOSE
        self.done = self._framer.done

    def feed(self, data: bytes) -> tuple[int, bytes]:
        """(raw bytes of ``data`` that belong to the body, bytes to send on)."""
        payload: list[bytes] = []
        n = self._framer.feed_payload(data, payload)
        out = self._transform.feed(b"".join(payload)) if payload else b""
        if self._chunked and out:
            out = http1.encode_chunk(out)
        if self._framer.done:
            self.done = True
            out += self._finish()
        return n, out

    def eof(self) -> bytes:
        """The connection ended the body (until-close framing): the bytes still held."""
        self._framer.eof()
        self.done = True
        return self._finish()

    def _finish(self) -> bytes:
        tail = self._transform.flush()
        if not self._chunked:
            return tail
        return (http1.encode_chunk(tail) if tail else b"") + http1.LAST_CHUNK


def content_encoded(special_encoding: Sequence[bytes]) -> bool:
    """Does a response's Content-Encoding hide its body from the scrub?"""
    for value in special_encoding:
        for coding in value.split(b","):
            if coding.strip().lower() not in (b"", b"identity"):
                return True
    return False


__all__ = ["Admitted", "Binding", "BodyFilter", "HttpError", "Inspector", "LeakFound", "Refusal", "Route",
           "Transform", "content_encoded"]
