"""Playbook tests of the sans-IO connection flow: feed events, assert the commands."""

from __future__ import annotations

import dataclasses

import pytest

from ringfence.audit.record import ConnectionRecord, Decision
from ringfence.policy.hosts import HostRules
from ringfence.proxy import flow as f
from ringfence.proxy.policy import Decider
from ringfence.proxy.socks5 import Reply, reply


def make_flow(allow: list[str] | None = None, deny: list[str] | None = None) -> f.Flow:
    rules = HostRules.parse(allow if allow is not None else ["example.com", "other.test", "10.0.0.1"], deny or [])
    return f.Flow(f.Context(Decider(rules), run_id="run-1", command="agent"))


def sent_client(cmds: list[f.Command]) -> bytes:
    return b"".join(c.data for c in cmds if isinstance(c, f.SendClient))


def sent_upstream(cmds: list[f.Command]) -> bytes:
    return b"".join(c.data for c in cmds if isinstance(c, f.SendUpstream))


def records(cmds: list[f.Command]) -> list[ConnectionRecord]:
    return [c.record for c in cmds if isinstance(c, f.Record)]


def kinds(cmds: list[f.Command]) -> list[type]:
    return [type(c) for c in cmds]


GET = b"GET http://example.com/a?token=SECRET123 HTTP/1.1\r\nHost: example.com\r\nProxy-Connection: keep-alive\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\n\r\nhi"


def test_forward_get_opens_upstream_then_sends_origin_form() -> None:
    flow = make_flow()
    cmds = flow.client_data(GET)
    assert kinds(cmds) == [f.OpenUpstream]
    open_cmd = cmds[0]
    assert isinstance(open_cmd, f.OpenUpstream)
    assert (open_cmd.outcome.host, open_cmd.outcome.port, open_cmd.literal) == ("example.com", 80, False)
    cmds = flow.upstream_connected()
    assert sent_upstream(cmds) == b"GET /a?token=SECRET123 HTTP/1.1\r\nHost: example.com\r\n\r\n"
    cmds = flow.upstream_data(RESPONSE)
    assert sent_client(cmds) == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    (rec,) = records(cmds)
    assert (rec.protocol, rec.decision, rec.method, rec.path, rec.status, rec.bytes_down) == ("http", Decision.ALLOW, "GET", "/a", 200, 2)
    assert "SECRET123" not in repr(rec)


def test_keep_alive_reuses_upstream_for_same_host_and_reopens_for_another() -> None:
    flow = make_flow()
    flow.client_data(GET)
    flow.upstream_connected()
    flow.upstream_data(RESPONSE)
    cmds = flow.client_data(GET)
    assert kinds(cmds) == [f.SendUpstream]  # same host: reused, no new connection
    flow.upstream_data(RESPONSE)
    cmds = flow.client_data(b"GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n")
    assert kinds(cmds) == [f.CloseUpstream, f.OpenUpstream]


def test_pipelined_request_waits_for_the_response() -> None:
    flow = make_flow()
    flow.client_data(GET + GET)
    cmds = flow.upstream_connected()
    assert sent_upstream(cmds).count(b"GET ") == 1
    cmds = flow.upstream_data(RESPONSE)
    assert sent_upstream(cmds).count(b"GET ") == 1


def test_denied_forward_request_gets_403_and_keeps_connection() -> None:
    flow = make_flow()
    cmds = flow.client_data(b"GET http://blocked.test/x?k=SECRET123 HTTP/1.1\r\nHost: blocked.test\r\n\r\n")
    body = sent_client(cmds)
    assert body.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b'allow = ["blocked.test"]' in body
    assert f.CloseClient not in kinds(cmds)
    (rec,) = records(cmds)
    assert (rec.decision, rec.host, rec.port, rec.path, rec.status) == (Decision.DENY, "blocked.test", 80, "/x", 403)
    assert kinds(flow.client_data(GET)) == [f.OpenUpstream]  # the next request is decided on its own


def test_deny_wins_and_names_the_rule() -> None:
    flow = make_flow(["*.example.com"], ["bad.example.com"])
    cmds = flow.client_data(b"CONNECT bad.example.com:443 HTTP/1.1\r\n\r\n")
    assert b"deny rule 'bad.example.com'" in sent_client(cmds)
    assert b"Connection: close" in sent_client(cmds)
    assert kinds(cmds)[-1] is f.CloseClient
    assert records(cmds)[0].rule == "bad.example.com"


def test_host_mismatch_is_refused() -> None:
    flow = make_flow()
    cmds = flow.client_data(b"GET http://example.com/ HTTP/1.1\r\nHost: other.test\r\n\r\n")
    assert sent_client(cmds).startswith(b"HTTP/1.1 403")
    assert b"does not match" in sent_client(cmds)
    rec = records(cmds)[0]
    assert rec.decision is Decision.DENY and "does not match" in rec.reason and "other.test" not in rec.reason


@pytest.mark.parametrize("host", [b"example.com", b"EXAMPLE.com:80", b"example.com."])
def test_host_header_equivalent_forms_match(host: bytes) -> None:
    flow = make_flow()
    assert kinds(flow.client_data(b"GET http://example.com/ HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")) == [f.OpenUpstream]


def test_connect_tunnel() -> None:
    flow = make_flow()
    assert kinds(flow.client_data(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nEARLY")) == [f.OpenUpstream]
    cmds = flow.upstream_connected()
    assert sent_client(cmds) == b"HTTP/1.1 200 Connection established\r\n\r\n"
    assert f.StartTunnel(b"EARLY") in cmds
    (rec,) = records(flow.tunnel_ended(10, 20))
    assert (rec.protocol, rec.decision, rec.bytes_up, rec.bytes_down, rec.status) == ("connect", Decision.ALLOW, 10, 20, 0)


def test_upstream_failure_is_502_and_error_record() -> None:
    flow = make_flow()
    flow.client_data(b"CONNECT example.com:443 HTTP/1.1\r\n\r\n")
    cmds = flow.upstream_failed("cannot connect to 1.2.3.4 port 443: Connection refused", Reply.CONNECTION_REFUSED)
    assert sent_client(cmds).startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    (rec,) = records(cmds)
    assert rec.decision is Decision.ERROR and "refused" in rec.reason


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /relative HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET http://example.com/ HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
        (b"GET http://exa_mple!.com/ HTTP/1.1\r\n\r\n", 400),
        (b"POST http://example.com/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ],
)
def test_bad_requests(data: bytes, status: int) -> None:
    cmds = make_flow().client_data(data)
    assert sent_client(cmds).startswith(b"HTTP/1.1 %d " % status)
    assert kinds(cmds)[-1] is f.CloseClient
    assert records(cmds)[0].status == status


def test_chunked_request_and_response_bodies_relayed_verbatim() -> None:
    flow = make_flow()
    flow.client_data(b"POST http://example.com/u HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab")
    cmds = flow.upstream_connected()
    assert sent_upstream(cmds).endswith(b"\r\n\r\n3\r\nab")
    cmds = flow.client_data(b"c\r\n0\r\n\r\n")
    assert sent_upstream(cmds) == b"c\r\n0\r\n\r\n"
    cmds = flow.upstream_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
    assert sent_client(cmds).endswith(b"2\r\nok\r\n0\r\n\r\n")
    (rec,) = records(cmds)
    assert rec.bytes_up == len(b"3\r\nabc\r\n0\r\n\r\n")


def test_close_delimited_response_ends_at_upstream_eof() -> None:
    flow = make_flow()
    flow.client_data(GET)
    flow.upstream_connected()
    cmds = flow.upstream_data(b"HTTP/1.0 200 OK\r\n\r\npart")
    assert b"Connection: close" in sent_client(cmds)
    assert records(cmds) == []
    cmds = flow.upstream_eof()
    (rec,) = records(cmds)
    assert rec.bytes_down == 4
    assert kinds(cmds)[-1] is f.CloseClient


def test_truncated_response_aborts() -> None:
    flow = make_flow()
    flow.client_data(GET)
    flow.upstream_connected()
    flow.upstream_data(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart")
    cmds = flow.upstream_eof()
    assert f.CloseClient(abort=True) in cmds
    assert records(cmds)[0].decision is Decision.ERROR
    assert flow.upstream_eof() == []  # a second report of the same end records nothing


def test_idle_upstream_closing_is_quiet_and_next_request_reconnects() -> None:
    flow = make_flow()
    flow.client_data(GET)
    flow.upstream_connected()
    flow.upstream_data(RESPONSE)
    assert flow.upstream_eof() == [f.CloseUpstream()]
    assert kinds(flow.client_data(GET)) == [f.OpenUpstream]


def test_client_half_close_after_request_still_gets_response() -> None:
    flow = make_flow()
    flow.client_data(GET)
    assert flow.client_eof() == []
    flow.upstream_connected()
    cmds = flow.upstream_data(RESPONSE)
    assert sent_client(cmds).endswith(b"hi")
    assert kinds(cmds)[-1] is f.CloseClient


def test_pending_bytes_are_bounded() -> None:
    flow = make_flow()
    flow.client_data(b"CONNECT example.com:443 HTTP/1.1\r\n\r\n")
    cmds = flow.client_data(b"x" * (300 * 1024))
    assert f.PauseClient() in cmds
    assert f.ResumeClient() in flow.upstream_connected()


# ---- SOCKS5 ----
SOCKS_HELLO = b"\x05\x01\x00"


def socks_connect(name: bytes, port: int) -> bytes:
    return b"\x05\x01\x00\x03" + bytes((len(name),)) + name + port.to_bytes(2, "big")


def test_socks5_allowed() -> None:
    flow = make_flow()
    cmds = flow.client_data(SOCKS_HELLO + socks_connect(b"example.com", 443))
    assert sent_client(cmds) == b"\x05\x00"
    assert kinds(cmds)[-1] is f.OpenUpstream
    cmds = flow.upstream_connected()
    assert sent_client(cmds) == reply(Reply.SUCCEEDED)
    assert records(flow.tunnel_ended(1, 2))[0].protocol == "socks5"


def test_socks5_denied_is_reply_2() -> None:
    cmds = make_flow().client_data(SOCKS_HELLO + socks_connect(b"blocked.test", 443))
    assert sent_client(cmds) == b"\x05\x00" + reply(Reply.NOT_ALLOWED)
    assert records(cmds)[0].decision is Decision.DENY


def test_socks5_ip_literal_decided_by_address_rules() -> None:
    flow = make_flow()
    cmds = flow.client_data(SOCKS_HELLO + b"\x05\x01\x00\x01" + bytes((10, 0, 0, 1)) + (80).to_bytes(2, "big"))
    open_cmd = cmds[-1]
    assert isinstance(open_cmd, f.OpenUpstream) and open_cmd.literal


def test_socks5_bind_refused_with_7() -> None:
    cmds = make_flow().client_data(SOCKS_HELLO + b"\x05\x02\x00\x01" + bytes(6))
    assert sent_client(cmds) == b"\x05\x00" + reply(Reply.COMMAND_NOT_SUPPORTED)
    assert kinds(cmds)[-1] is f.CloseClient


def test_socks5_upstream_refused_is_reply_5() -> None:
    flow = make_flow()
    flow.client_data(SOCKS_HELLO + socks_connect(b"example.com", 443))
    cmds = flow.upstream_failed("refused", Reply.CONNECTION_REFUSED)
    assert sent_client(cmds) == reply(Reply.CONNECTION_REFUSED)
    assert records(cmds)[0].decision is Decision.ERROR


def test_rebinding_refusal_after_vetting() -> None:
    flow = make_flow(["evil.test"])
    cmds = flow.client_data(b"GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n")
    open_cmd = cmds[0]
    assert isinstance(open_cmd, f.OpenUpstream)
    import ipaddress

    vetted = flow.ctx.decider.vet(open_cmd.outcome, [ipaddress.ip_address("127.0.0.1")], frozenset())
    cmds = flow.upstream_refused(vetted)
    assert sent_client(cmds).startswith(b"HTTP/1.1 403")
    assert b'allow = ["127.0.0.1"]' in sent_client(cmds)
    assert records(cmds)[0].decision is Decision.DENY


@pytest.mark.parametrize("plain", [True, False])
def test_allowed_record_equals_the_constructed_one(plain: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # The per-request record is built without the dataclass __init__ (see flow._allowed_record);
    # it must be indistinguishable from one built the ordinary way, and the fallback must work.
    monkeypatch.setattr(f, "_RECORD_IS_PLAIN", plain)
    flow = make_flow()
    flow.client_data(GET)
    flow.upstream_connected()
    [rec] = records(flow.upstream_data(RESPONSE))
    expected = ConnectionRecord(time=rec.time, run_id="run-1", command="agent", protocol="http", host="example.com",
                                port=80, decision=Decision.ALLOW, rule="example.com", method="GET", path="/a",
                                status=200, bytes_up=0, bytes_down=2, duration_ms=rec.duration_ms)
    assert rec == expected and hash(rec) == hash(expected) and repr(rec) == repr(expected)
    assert type(rec) is ConnectionRecord and "SECRET" not in repr(rec)
    with pytest.raises(AttributeError):
        rec.path = "/changed"  # type: ignore[misc]  # still frozen


def test_record_fast_path_is_in_use_while_the_record_is_a_plain_dataclass() -> None:
    if dataclasses.is_dataclass(ConnectionRecord) and not hasattr(ConnectionRecord, "__slots__"):
        assert f._RECORD_IS_PLAIN, "ConnectionRecord's fields changed: update flow._RECORD_FIELDS"
