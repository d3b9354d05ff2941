"""render_table() and render_json_lines(): exact text, escaping, every column."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from ringfence.audit import AuditRow, render_json_lines, render_table
from ringfence.audit.render import human_bytes, iso_utc

from .conftest import T0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The table shows local time; pin the zone so the expected text is fixed."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _row(**fields: Any) -> AuditRow:
    row: dict[str, Any] = {
        "id": 1,
        "time": T0,
        "run_id": "3f9a2c71-5b1e-4d0a-9c44-1e2f3a4b5c6d",
        "command": "agent",
        "protocol": "http",
        "host": "pypi.org",
        "port": 443,
        "decision": "allow",
        "rule": "pypi.org",
        "reason": "allowed by pypi.org",
        "method": "GET",
        "path": "/simple/requests/",
        "status": 200,
        "bytes_up": 312,
        "bytes_down": 1_572_864,
        "duration_ms": 84.25,
        "credential": "",
    }
    row.update(fields)
    return row  # type: ignore[return-value]


def test_table() -> None:
    rows = [
        _row(),
        _row(
            time=T0 + 61.9,
            run_id="b7",
            protocol="connect",
            host="2001:db8::1",
            decision="deny",
            rule="",
            method="",
            path="",
            status=0,
            bytes_up=0,
            bytes_down=0,
            duration_ms=0.4,
        ),
    ]
    assert render_table(rows) == (
        "TIME      RUN       PROTO    HOST:PORT          DECISION  RULE      REQUEST                STATUS     UP     DOWN    MS\n"
        "22:13:20  3f9a2c71  http     pypi.org:443       allow     pypi.org  GET /simple/requests/     200  312 B  1.5 MiB  84.2\n"
        "22:14:21  b7        connect  [2001:db8::1]:443  deny      -         -                           -    0 B      0 B   0.4\n"
    )


def test_table_with_credentials() -> None:
    rows = [
        _row(protocol="https", host="api.github.com", rule="api.github.com", credential="github", path="/user"),
        _row(protocol="gateway", host="127.0.0.1", port=8080, rule="openai", credential="", path="/v1/models"),
        _row(protocol="connect", decision="deny", rule="", method="", path="", status=0),
    ]
    assert render_table(rows) == (
        "TIME      RUN       PROTO    HOST:PORT           DECISION  RULE            CREDENTIAL  REQUEST         STATUS     UP     DOWN    MS\n"
        "22:13:20  3f9a2c71  https    api.github.com:443  allow     api.github.com  github      GET /user          200  312 B  1.5 MiB  84.2\n"
        "22:13:20  3f9a2c71  gateway  127.0.0.1:8080      allow     openai          -           GET /v1/models     200  312 B  1.5 MiB  84.2\n"
        "22:13:20  3f9a2c71  connect  pypi.org:443        deny      -               -           -                    -  312 B  1.5 MiB  84.2\n"
    )


def test_empty_table_is_the_header() -> None:
    assert render_table([]) == "TIME  RUN  PROTO  HOST:PORT  DECISION  RULE  REQUEST  STATUS  UP  DOWN  MS\n"


@pytest.mark.parametrize(
    ("field", "hostile", "shown"),
    [
        ("host", "evil\x1b[2J.example", "evil\\x1b[2J.example:443"),
        ("path", "/a\rOK", "GET /a\\x0dOK"),
        ("path", "/\u202etxt.exe", "GET /\\u202etxt.exe"),
        ("rule", "r\x00", "r\\x00"),
        ("run_id", "\x07bell", "\\x07bell"),
        ("credential", "gh\x1b]0;x\x07", "gh\\x1b]0;x\\x07"),
    ],
)
def test_table_escapes_control_characters(field: str, hostile: str, shown: str) -> None:
    text = render_table([_row(**{field: hostile})])
    assert shown in text
    body = text.replace("\n", "")
    assert body.isprintable()


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (2 * 1024**4, "2.0 TiB"),
        (2048 * 1024**4, "2048.0 TiB"),
    ],
)
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text


def test_json_lines_have_every_column() -> None:
    rows = [_row(), _row(id=2, host="evil\x1b.example", decision="deny", protocol="https", credential="github")]
    text = render_json_lines(rows)
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) == 2
    for line, row in zip(lines, rows):
        parsed = json.loads(line)
        assert parsed == {**row, "time": "2023-11-14T22:13:20.000000Z"}
        assert list(parsed) == list(row)
    assert "\x1b" not in text  # JSON escapes it as \u001b
    assert json.loads(lines[1])["credential"] == "github"


@pytest.mark.parametrize("unix_time", [0.0, T0, T0 + 0.123456, 4_102_444_800.5])
def test_iso_utc_round_trips(unix_time: float) -> None:
    text = iso_utc(unix_time)
    assert text.endswith("Z")
    assert datetime.fromisoformat(text).timestamp() == pytest.approx(unix_time, abs=1e-6)


def test_json_lines_of_nothing() -> None:
    assert render_json_lines([]) == ""
