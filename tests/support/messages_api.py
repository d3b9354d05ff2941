"""A stand-in for the Anthropic Messages API that checks the API key it is sent.

Every request must carry `x-api-key: <api_key>`; otherwise the answer is 401 with the
API's error shape (`{"type": "error", "error": {"type": "authentication_error", ...}}`).
With the key:

- `POST /v1/messages` (after any prefix: `/x/v1/messages` too; a query such as `?beta=true`
  is ignored) answers the next scripted turn (see below), or else `reply` as one text
  block: a JSON message, or with `"stream": true` the API's server-sent events in order
  (message_start, ping, then per content block content_block_start, its deltas
  (`text_delta` per piece of text, `input_json_delta` per piece of a tool_use's input
  JSON) and content_block_stop, then message_delta, message_stop), each written as it is
  made.
- `POST /v1/messages/count_tokens` answers `{"input_tokens": N}` (N from the body's size).
- anything else is 404 `not_found_error`: what Claude Code calls at start-up besides these
  is optional to it (see clients.py).

Scripted turns (`MessagesApi(turns=[...])` or `api.script(...)`): a queue of assistant
turns, e.g. `tool_use_turn("Bash", {"command": "..."})` (a `tool_use` block, stop reason
`tool_use`) then `text_turn("done")`. Each keyed request to /v1/messages that offers
`tools` takes the next one; a request without `tools` (a side query an agent may make, such
as a title) and any request once the queue is empty get `reply`. `api.tool_results()` are
the `tool_result` blocks the client sent back, in order.

Every request is recorded (`api.requests`), keyed or not.
"""

from __future__ import annotations

import collections
import json
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .httpserver import RecordedRequest, RecordingHandler, TestServer
from .pki import TestPki

DEFAULT_KEY = "sk-ant-api03-ringfence-test-key-0123456789"
DEFAULT_REPLY = "pong from the stand-in"
DELTA_SIZE = 6  # characters of reply text per content_block_delta


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


@dataclass(frozen=True)
class Turn:
    """One assistant message: its content blocks and its stop reason."""

    content: tuple[dict[str, Any], ...]
    stop_reason: str = "end_turn"


def text_turn(text: str) -> Turn:
    """A final answer: one text block, stop reason `end_turn`."""
    return Turn(({"type": "text", "text": text},))


def tool_use_turn(name: str, tool_input: dict[str, Any], *, tool_use_id: str | None = None,
                  text: str | None = None) -> Turn:
    """A call of tool `name` with `tool_input` (after a text block when `text` is given),
    stop reason `tool_use`. The id is `toolu_` and random hex unless given."""
    block = {"type": "tool_use", "id": tool_use_id or "toolu_" + secrets.token_hex(12), "name": name,
             "input": tool_input}
    return Turn((*([{"type": "text", "text": text}] if text else []), block), "tool_use")


def sse_events(model: str, text: str | Turn, input_tokens: int) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a streamed answer of `text` (or of a whole turn), in the API's order."""
    turn = text_turn(text) if isinstance(text, str) else text
    message = _message(model, turn, input_tokens) | {"content": [], "stop_reason": None}
    message["usage"]["output_tokens"] = 1
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": message}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(turn.content):
        if block["type"] == "tool_use":
            start, pieces = block | {"input": {}}, json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": pieces[i : i + DELTA_SIZE]}
                      for i in range(0, len(pieces), DELTA_SIZE)]
        elif block["type"] == "text":
            start, pieces = block | {"text": ""}, block["text"]
            deltas = [{"type": "text_delta", "text": pieces[i : i + DELTA_SIZE]}
                      for i in range(0, len(pieces), DELTA_SIZE)]
        else:
            raise ValueError(f"the stand-in streams text and tool_use blocks, not {block['type']!r}")
        events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": start}))
        events += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                   for delta in deltas]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events += [
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
                           "usage": {"output_tokens": _turn_tokens(turn)}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def _message(model: str, text: str | Turn, input_tokens: int) -> dict[str, Any]:
    turn = text_turn(text) if isinstance(text, str) else text
    return {
        "id": "msg_" + secrets.token_hex(12), "type": "message", "role": "assistant", "model": model,
        "content": [dict(block) for block in turn.content], "stop_reason": turn.stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": _turn_tokens(turn),
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _turn_tokens(turn: Turn) -> int:
    return _tokens("".join(str(b["text"]) if b["type"] == "text" else json.dumps(b.get("input")) for b in turn.content))


class _MessagesHandler(RecordingHandler):
    owner: MessagesApi

    def respond(self) -> None:
        request = self.receive()
        head = [("request-id", "req_" + secrets.token_hex(12)), ("anthropic-organization-id", "org-test")]
        if request.header("x-api-key") != self.owner.api_key:
            # x-should-retry: the SDK would otherwise retry (Claude Code: 10 times, ~3 minutes)
            self.send_json(401, error_body("authentication_error", "invalid x-api-key"),
                           [*head, ("x-should-retry", "false")])
            return
        if request.method == "POST" and request.route.endswith("/v1/messages"):
            self._messages(request, head)
        elif request.method == "POST" and request.route.endswith("/v1/messages/count_tokens"):
            self.send_json(200, {"input_tokens": _tokens(request.body.decode("utf-8", "replace"))}, head)
        else:
            self.send_json(404, error_body("not_found_error", f"{request.method} {request.route}: not here"), head)

    def _messages(self, request: RecordedRequest, head: list[tuple[str, str]]) -> None:
        try:
            body = json.loads(request.body)
            model = str(body["model"])
        except (ValueError, KeyError, TypeError):
            self.send_json(400, error_body("invalid_request_error", "a JSON body with a model"), head)
            return
        input_tokens = _tokens(request.body.decode("utf-8", "replace"))
        turn = self.owner.next_turn(body)
        if not body.get("stream"):
            self.send_json(200, _message(model, turn, input_tokens), head)
            return
        self.start_stream(200, [*head, ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        for event, data in sse_events(model, turn, input_tokens):
            self.write_chunk(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.end_stream()


class MessagesApi(TestServer):
    """The stand-in at `api.url` (https with a TestPki, plain http without)."""

    handler = _MessagesHandler

    def __init__(self, pki: TestPki | None = None, *, api_key: str = DEFAULT_KEY, reply: str = DEFAULT_REPLY,
                 turns: Iterable[Turn] = (), bind: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(pki, bind=bind, port=port)
        self.api_key = api_key
        self.reply = reply
        self._turns: collections.deque[Turn] = collections.deque(turns)
        self._turns_lock = threading.Lock()

    def script(self, *turns: Turn) -> None:
        """Queue `turns`: the next requests that offer tools get them, in order."""
        with self._turns_lock:
            self._turns.extend(turns)

    @property
    def pending(self) -> int:
        """Scripted turns not yet answered."""
        with self._turns_lock:
            return len(self._turns)

    def next_turn(self, body: dict[str, Any]) -> Turn:
        """The answer to one keyed /v1/messages request (see the module's docstring)."""
        with self._turns_lock:
            if body.get("tools") and self._turns:
                return self._turns.popleft()
        return text_turn(self.reply)

    def message_requests(self) -> list[RecordedRequest]:
        """The POST /v1/messages requests received (keyed or not)."""
        return [r for r in self.requests if r.method == "POST" and r.route.endswith("/v1/messages")]

    def message_bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the keyed /v1/messages requests, in order (a body that is not a
        JSON object is left out: it got a 400)."""
        bodies = []
        for request in self.message_requests():
            if request.header("x-api-key") != self.api_key:
                continue
            try:
                body = json.loads(request.body)
            except ValueError:
                continue
            if isinstance(body, dict):
                bodies.append(body)
        return bodies

    def tool_results(self) -> list[dict[str, Any]]:
        """The distinct `tool_result` blocks sent back, in the order they first appeared
        (each request repeats the conversation so far)."""
        seen: dict[str, dict[str, Any]] = {}
        for body in self.message_bodies():
            for message in body.get("messages", []):
                content = message.get("content")
                if message.get("role") != "user" or not isinstance(content, list):
                    continue
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        seen.setdefault(str(block.get("tool_use_id")), block)
        return list(seen.values())
