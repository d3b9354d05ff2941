"""A stand-in for the Anthropic Messages API that checks the API key it is sent.

Every request must carry `x-api-key: <api_key>`; otherwise the answer is 401 with the
API's error shape (`{"type": "error", "error": {"type": "authentication_error", ...}}`).
With the key:

- `POST /v1/messages` (after any prefix: `/x/v1/messages` too; a query such as `?beta=true`
  is ignored) answers `reply` as one text
  block: a JSON message, or with `"stream": true` the API's server-sent events in order
  (message_start, ping, content_block_start, content_block_delta per piece of text,
  content_block_stop, message_delta, message_stop), each written as it is made.
- `POST /v1/messages/count_tokens` answers `{"input_tokens": N}` (N from the body's size).
- anything else is 404 `not_found_error`: what Claude Code calls at start-up besides these
  is optional to it (see clients.py).

Every request is recorded (`api.requests`), keyed or not.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from .httpserver import RecordedRequest, RecordingHandler, TestServer
from .pki import TestPki

DEFAULT_KEY = "sk-ant-api03-ringfence-test-key-0123456789"
DEFAULT_REPLY = "pong from the stand-in"
DELTA_SIZE = 6  # characters of reply text per content_block_delta


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def sse_events(model: str, text: str, input_tokens: int) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a streamed answer of `text`, in the API's order."""
    message = _message(model, "", input_tokens) | {"content": [], "stop_reason": None}
    message["usage"]["output_tokens"] = 1
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": message}),
        ("ping", {"type": "ping"}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]
    for start in range(0, len(text), DELTA_SIZE):
        delta = {"type": "text_delta", "text": text[start : start + DELTA_SIZE]}
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": _tokens(text)}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def _message(model: str, text: str, input_tokens: int) -> dict[str, Any]:
    return {
        "id": "msg_" + secrets.token_hex(12), "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": _tokens(text),
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


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
        if not body.get("stream"):
            self.send_json(200, _message(model, self.owner.reply, input_tokens), head)
            return
        self.start_stream(200, [*head, ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        for event, data in sse_events(model, self.owner.reply, input_tokens):
            self.write_chunk(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.end_stream()


class MessagesApi(TestServer):
    """The stand-in at `api.url` (https with a TestPki, plain http without)."""

    handler = _MessagesHandler

    def __init__(self, pki: TestPki | None = None, *, api_key: str = DEFAULT_KEY, reply: str = DEFAULT_REPLY,
                 bind: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(pki, bind=bind, port=port)
        self.api_key = api_key
        self.reply = reply

    def message_requests(self) -> list[RecordedRequest]:
        """The POST /v1/messages requests received (keyed or not)."""
        return [r for r in self.requests if r.method == "POST" and r.route.endswith("/v1/messages")]
