"""RequestPolicy: methods, path globs (query ignored), ambiguous paths refused, body sizes."""

from __future__ import annotations

import time

import pytest

from ringfence.credentials import RequestPolicy
from ringfence.credentials.rules import ambiguity, glob_match
from ringfence.policy import RequestRule

GITHUB = RequestRule('credentials "github"', ("api.github.com",), ("GET", "HEAD"), ("/repos/acme/*", "/user"))
UPLOADS = RequestRule("requests[0] (/p/ringfence.toml)", ("*.example.org",), max_body=1000)
BOTH = RequestRule("requests[1] (/p/ringfence.toml)", ("up.example.org",), ("PUT",), max_body=100)


@pytest.fixture
def policy() -> RequestPolicy:
    return RequestPolicy([GITHUB, UPLOADS, BOTH])


@pytest.mark.parametrize(
    ("host", "method", "path", "length", "status", "says"),
    [
        ("api.github.com", "GET", "/repos/acme/widget/issues", None, None, ""),
        ("api.github.com", "HEAD", "/repos/acme/x?per_page=100&q=/../x", 0, None, ""),
        ("api.github.com", "GET", "/user", None, None, ""),
        ("api.github.com", "GET", "/user?x=1", None, None, ""),
        ("api.github.com", "POST", "/repos/acme/x", 10, 403,
         "method POST is not allowed for api.github.com; allowed: GET, HEAD"),
        ("api.github.com", "get", "/repos/acme/x", None, 403, "method get"),
        ("api.github.com", "GET", "/repos/other/x", None, 403,
         "the path '/repos/other/x' is not allowed for api.github.com; allowed: /repos/acme/*, /user"),
        ("api.github.com", "GET", "/repos/acme", None, 403, "not allowed"),
        ("api.github.com", "GET", "/REPOS/acme/x", None, 403, "not allowed"),
        ("api.github.com", "GET", "/users", None, 403, "not allowed"),
        # dodges: refused as ambiguous, whatever the glob would say
        ("api.github.com", "GET", "/repos/acme/../other/x", None, 400, "contains a dot segment"),
        ("api.github.com", "GET", "/repos/acme/x/..", None, 400, "dot segment"),
        ("api.github.com", "GET", "/repos/acme/./x", None, 400, "dot segment"),
        ("api.github.com", "GET", "/repos/acme/..;/other", None, 400, "dot segment"),
        ("api.github.com", "GET", "/repos/acme/%2e%2e/other", None, 400, "encoded character '%2e'"),
        ("api.github.com", "GET", "/repos/acme/%2E%2E/other", None, 400, "encoded character '%2E'"),
        ("api.github.com", "GET", "/repos/acme/..%2Fother", None, 400, "encoded character '%2F'"),
        ("api.github.com", "GET", "/repos/acme/x%2f..%2f..%2fother", None, 400, "encoded character"),
        ("api.github.com", "GET", "/repos/acme/..%5cother", None, 400, "encoded character '%5c'"),
        ("api.github.com", "GET", "/repos/acme/..\\other", None, 400, "backslash"),
        ("api.github.com", "GET", "/repos/acme/x%00", None, 400, "encoded character '%00'"),
        ("api.github.com", "GET", "/repos/acme/x\x00", None, 400, "control character"),
        ("api.github.com", "GET", "/repos/acme/%c0%ae%c0%ae/x", None, 400, "encoded character '%c0'"),
        ("api.github.com", "GET", "*", None, 400, "not an absolute path"),
        ("api.github.com", "GET", "https://api.github.com/repos/acme/x", None, 400, "not an absolute path"),
        # max_body (413), and every applying rule must pass
        ("up.example.org", "PUT", "/f", 100, None, ""),
        ("up.example.org", "PUT", "/f", 101, 413, "a body of 101 bytes is over the limit of 100 bytes"),
        ("up.example.org", "POST", "/f", 1, 403, "requests[1] (/p/ringfence.toml): method POST"),
        ("dl.example.org", "POST", "/f", 1000, None, ""),
        ("dl.example.org", "POST", "/f", 1001, 413, "requests[0] (/p/ringfence.toml): a body of 1001 bytes"),
        ("dl.example.org", "POST", "/../f", 5000, 413, "over the limit"),  # no path rule: path not judged
        ("up.example.org", "PUT", "/f", None, None, ""),  # unknown length: cut off while streaming
        ("pypi.org", "DELETE", "/../x", 10**9, None, ""),
    ],
)
def test_check(policy: RequestPolicy, host: str, method: str, path: str, length: int | None,
               status: int | None, says: str) -> None:
    refusal = policy.check(host, 443, method, path, length)
    if status is None:
        assert refusal is None
        return
    assert refusal is not None
    assert refusal.status == status
    assert says in refusal.reason
    assert refusal.reason.startswith(refusal.rule + ": ")


def test_the_query_never_reaches_the_reason(policy: RequestPolicy) -> None:
    refusal = policy.check("api.github.com", 443, "GET", "/repos/other/x?token=abc123", None)
    assert refusal is not None and "abc123" not in refusal.reason


def test_max_body_for(policy: RequestPolicy) -> None:
    assert policy.max_body_for("up.example.org", 443) == 100
    assert policy.max_body_for("dl.example.org", 443) == 1000
    assert policy.max_body_for("api.github.com", 443) == 0
    assert policy.max_body_for("pypi.org", 443) == 0


def test_rules_are_matched_by_host_and_port() -> None:
    policy = RequestPolicy([RequestRule("r", ("api.example.com:8443",), ("GET",))])
    assert policy.check("api.example.com", 443, "POST", "/", None) is None
    assert policy.check("api.example.com", 8443, "POST", "/", None) is not None


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("/repos/acme/*", "/repos/acme/x/y/z", True),
        ("/repos/acme/*", "/repos/acme/", True),
        ("/repos/acme/*", "/repos/acme", False),
        ("/repos/*/issues", "/repos/a/b/issues", True),
        ("/repos/*/issues", "/repos/a/b/issues/1", False),
        ("/v?/x", "/v1/x", True),
        ("/v?/x", "/v10/x", False),
        ("/a*b*c", "/aXbYc", True),
        ("/a*b*c", "/aXbY", False),
        ("*", "/anything", True),
        ("/exact", "/exact", True),
        ("/exact", "/exact/", False),
        ("/a**", "/a", True),
        ("/a.b", "/aXb", False),  # '.' is literal
        ("/[ab]", "/a", False),  # no character classes
        ("/[ab]", "/[ab]", True),
    ],
)
def test_glob(pattern: str, text: str, matches: bool) -> None:
    assert glob_match(pattern, text) is matches


def test_glob_has_no_catastrophic_backtracking() -> None:
    pattern = "/" + "*a" * 30 + "*b"
    text = "/" + "a" * 4000
    started = time.monotonic()
    assert not glob_match(pattern, text)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "path",
    ["/a/b", "/a/b.c", "/a/..b", "/a/b../c", "/a/%41", "/a/%7e", "/a/%20x", "/a;x=1/b", "/a/%25", "/"],
)
def test_plain_paths_are_not_ambiguous(path: str) -> None:
    assert ambiguity(path) == ""
