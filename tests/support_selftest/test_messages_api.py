"""The Messages API stand-in, exercised with curl: keyed and not, streamed and not."""

from __future__ import annotations

import json
import subprocess

from tests.support.messages_api import (
    DEFAULT_REPLY,
    MessagesApi,
    text_turn,
    tool_use_turn,
)
from tests.support.pki import TestPki

BODY = json.dumps({"model": "claude-test", "max_tokens": 64, "messages": [{"role": "user", "content": "ping"}]})


def post(api: MessagesApi, pki: TestPki, path: str, body: str, key: str | None) -> subprocess.CompletedProcess[str]:
    headers = ["-H", "content-type: application/json", "-H", "anthropic-version: 2023-06-01"]
    if key is not None:
        headers += ["-H", f"x-api-key: {key}"]
    return subprocess.run(["curl", "-sS", "-i", "--cacert", str(pki.ca_pem_path), *headers, "--data-binary", body,
                           f"{api.url}{path}"], capture_output=True, text=True, timeout=30)


def split(response: str) -> tuple[int, dict[str, str], str]:
    head, _, body = response.replace("\r\n", "\n").partition("\n\n")
    status_line, *lines = head.split("\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_non_streaming_message(messages_api: MessagesApi, test_pki: TestPki) -> None:
    status, _, body = split(post(messages_api, test_pki, "/v1/messages", BODY, messages_api.api_key).stdout)
    message = json.loads(body)
    assert status == 200
    assert message["content"] == [{"type": "text", "text": DEFAULT_REPLY}]
    assert (message["model"], message["stop_reason"]) == ("claude-test", "end_turn")
    assert messages_api.last.header("x-api-key") == messages_api.api_key


def test_streaming_message_with_beta_query(messages_api: MessagesApi, test_pki: TestPki) -> None:
    body = json.dumps(json.loads(BODY) | {"stream": True})
    status, headers, text = split(post(messages_api, test_pki, "/v1/messages?beta=true", body,
                                       messages_api.api_key).stdout)
    events = [line[7:] for line in text.split("\n") if line.startswith("event: ")]
    data = [json.loads(line[6:]) for line in text.split("\n") if line.startswith("data: ")]
    assert (status, headers["content-type"]) == (200, "text/event-stream")
    assert events[:3] == ["message_start", "ping", "content_block_start"]
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(events[3:-3]) == {"content_block_delta"}
    assert "".join(d["delta"]["text"] for d in data if d["type"] == "content_block_delta") == DEFAULT_REPLY
    assert [d["type"] for d in data] == events


def test_a_wrong_or_missing_key_is_401_and_not_to_be_retried(messages_api: MessagesApi, test_pki: TestPki) -> None:
    for key in ("sk-ant-wrong", None):
        status, headers, body = split(post(messages_api, test_pki, "/v1/messages", BODY, key).stdout)
        assert (status, headers["x-should-retry"]) == (401, "false")
        assert json.loads(body) == {"type": "error", "error": {"type": "authentication_error",
                                                               "message": "invalid x-api-key"}}
    assert len(messages_api.message_requests()) == 2


def test_count_tokens_a_path_prefix_and_unknown_paths(messages_api: MessagesApi, test_pki: TestPki) -> None:
    key = messages_api.api_key
    status, _, body = split(post(messages_api, test_pki, "/v1/messages/count_tokens", BODY, key).stdout)
    assert status == 200 and json.loads(body)["input_tokens"] > 0
    assert split(post(messages_api, test_pki, "/anthropic/v1/messages", BODY, key).stdout)[0] == 200
    status, _, body = split(post(messages_api, test_pki, "/v1/other", BODY, key).stdout)
    assert status == 404 and json.loads(body)["error"]["type"] == "not_found_error"


def test_plain_http_and_a_chosen_key_and_reply() -> None:
    with MessagesApi(api_key="k-1", reply="custom") as api:
        argv = ["curl", "-sS", "-H", "x-api-key: k-1", "--data-binary", BODY, f"{api.url}/v1/messages"]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert api.url.startswith("http://")
    assert json.loads(result.stdout)["content"][0]["text"] == "custom"


def test_scripted_turns_a_tool_use_streamed_and_not_then_the_tool_results() -> None:
    command = {"command": "touch x", "description": "Create x"}
    with MessagesApi(api_key="k-1") as api:
        api.script(tool_use_turn("Bash", command, tool_use_id="toolu_a"),
                   tool_use_turn("Read", {"file_path": "/x"}, tool_use_id="toolu_b", text="Reading."), text_turn("done"))
        tools = {"tools": [{"name": "Bash", "input_schema": {"type": "object"}}]}

        def send(body: dict[str, object]) -> str:
            argv = ["curl", "-sS", "-H", "x-api-key: k-1", "--data-binary", json.dumps(body), f"{api.url}/v1/messages"]
            return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout

        first = json.loads(send(json.loads(BODY) | tools))
        assert (first["stop_reason"], first["content"]) == ("tool_use", [
            {"type": "tool_use", "id": "toolu_a", "name": "Bash", "input": command}])
        assert json.loads(send(json.loads(BODY)))["content"][0]["text"] == DEFAULT_REPLY  # no tools: not scripted
        result = {"type": "tool_result", "tool_use_id": "toolu_a", "content": "no", "is_error": True}
        messages = [{"role": "user", "content": "go"}, {"role": "assistant", "content": first["content"]},
                    {"role": "user", "content": [result]}]
        text = send(json.loads(BODY) | tools | {"messages": messages, "stream": True})
        data = [json.loads(line[6:]) for line in text.split("\n") if line.startswith("data: ")]
        starts = [d["content_block"] for d in data if d["type"] == "content_block_start"]
        assert starts == [{"type": "text", "text": ""}, {"type": "tool_use", "id": "toolu_b", "name": "Read", "input": {}}]
        partial = "".join(d["delta"]["partial_json"] for d in data if d["type"] == "content_block_delta"
                          and d["delta"]["type"] == "input_json_delta")
        assert json.loads(partial) == {"file_path": "/x"}
        assert [d["delta"]["stop_reason"] for d in data if d["type"] == "message_delta"] == ["tool_use"]
        assert api.pending == 1 and api.tool_results() == [result]
