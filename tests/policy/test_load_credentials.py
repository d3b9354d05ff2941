"""[[credentials]], [[upstreams]], [[requests]] and the newer [network] keys: parsed, refused
with file and key named, merged across the managed, project and user layers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ringfence.errors import ExitCode, PolicyError
from ringfence.policy import Credential, Gateway, RequestRule, load_policy

from . import conftest
from .conftest import load

CONTRACT = """
[[credentials]]
name   = "anthropic"
hosts  = ["api.anthropic.com"]
header = "x-api-key"
value  = "env:ANTHROPIC_API_KEY"
placeholder_env = "ANTHROPIC_API_KEY"

[[credentials]]
name   = "github"
hosts  = ["api.github.com"]
header = "Authorization"
format = "Bearer {secret}"
value  = "cmd:gh auth token"
methods = ["GET", "HEAD"]
paths   = ["/repos/acme/*"]

[[upstreams]]
name = "anthropic"
url  = "https://api.anthropic.com"
credential = "anthropic"
base_url_env = "ANTHROPIC_BASE_URL"

[network]
upstream_ca = []
inspect = ["api.github.com"]
rate    = { "api.anthropic.com" = "120/min" }
"""


def write(path: Path, text: str) -> Path:
    return conftest.write(path, textwrap.dedent(text))


def test_contract_example(env: dict[str, Path]) -> None:
    source = str(write(env["project"], CONTRACT))
    policy = load(env)
    assert policy.credentials == (
        Credential("anthropic", ("api.anthropic.com",), "x-api-key", "env:ANTHROPIC_API_KEY",
                   placeholder_env="ANTHROPIC_API_KEY", source=source),
        Credential("github", ("api.github.com",), "Authorization", "cmd:gh auth token", format="Bearer {secret}",
                   methods=("GET", "HEAD"), paths=("/repos/acme/*",), source=source),
    )
    assert policy.gateways == (Gateway("anthropic", "https://api.anthropic.com", "anthropic", "ANTHROPIC_BASE_URL"),)
    assert policy.network.inspect == ("api.github.com",)
    assert policy.network.upstream_ca == ()
    assert policy.network.rate == (("api.anthropic.com", 120, 60.0),)
    assert policy.requests == ()
    assert policy.request_rules() == (
        RequestRule('credentials "github"', ("api.github.com",), ("GET", "HEAD"), ("/repos/acme/*",)),
    )
    assert policy.terminated_hosts() == ("api.anthropic.com", "api.github.com")


def test_extensions_and_requests(env: dict[str, Path]) -> None:
    (env["ws"] / "conf").mkdir()
    source = write(
        env["ws"] / "conf" / "p.toml",
        """
        [[credentials]]
        name = "internal"
        hosts = ["*.internal.example.com", "10.1.2.3:8443"]
        header = "X-Token"
        value = "file:../secrets/token"
        file_lines = "all"
        max_body = "10M"

        [[credentials]]
        name = "vault"
        hosts = ["vault.example.com"]
        header = "X-Vault-Token"
        value = "cmd:vault print token"
        cache_ttl = 60

        [[requests]]
        hosts = ["uploads.example.org"]
        max_body = "1M"

        [[requests]]
        hosts = ["api.example.org"]
        methods = ["GET"]
        paths = ["/v1/*", "/health"]

        [[upstreams]]
        name = "plain"
        url = "HTTP://API.Example.org:80/base/v2/"

        [network]
        upstream_ca = ["ca.pem", "~/certs/corp.pem"]
        rate = { "*.example.org" = "10/s", "api.example.org" = "1000/hour" }
        """,
    )
    policy = load_policy(policy_file=source, cwd=env["ws"], home=env["home"], managed=env["managed"])
    internal, vault = policy.credentials
    assert internal.value == f"file:{env['ws'] / 'secrets' / 'token'}"
    assert (internal.file_lines, internal.max_body, internal.cache_ttl) == ("all", 10 << 20, 300.0)
    assert vault.cache_ttl == 60.0 and isinstance(vault.cache_ttl, float)
    assert policy.requests == (
        RequestRule(f"requests[0] ({source})", ("uploads.example.org",), max_body=1 << 20),
        RequestRule(f"requests[1] ({source})", ("api.example.org",), ("GET",), ("/v1/*", "/health")),
    )
    assert [r.name for r in policy.request_rules()] == [
        f"requests[0] ({source})", f"requests[1] ({source})", 'credentials "internal"']
    assert policy.gateways == (Gateway("plain", "http://api.example.org/base/v2"),)
    assert policy.network.upstream_ca == (str(env["ws"] / "conf" / "ca.pem"), str(env["home"] / "certs/corp.pem"))
    assert policy.network.rate == (("*.example.org", 10, 1.0), ("api.example.org", 1000, 3600.0))
    assert policy.terminated_hosts() == (
        "*.internal.example.com", "10.1.2.3:8443", "vault.example.com", "uploads.example.org", "api.example.org",
        "*.example.org",
    )


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://api.anthropic.com", "https://api.anthropic.com"),
        ("https://api.anthropic.com/", "https://api.anthropic.com"),
        ("https://api.anthropic.com:443/v1/", "https://api.anthropic.com/v1"),
        ("https://API.anthropic.com.:8443", "https://api.anthropic.com:8443"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_upstream_urls_are_normalised(env: dict[str, Path], url: str, normal: str) -> None:
    write(env["project"], f'[[upstreams]]\nname = "u"\nurl = "{url}"\n')
    assert load(env).gateways == (Gateway("u", normal),)


CRED = '[[credentials]]\nname = "c"\nhosts = ["api.example.com"]\nheader = "X-Key"\nvalue = "env:KEY"\n'


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        # credentials
        (CRED + "colour = 'red'\n", "credentials[0].colour", "unknown key"),
        (CRED.replace('name = "c"\n', ""), "credentials[0].name", "missing"),
        (CRED.replace('header = "X-Key"\n', ""), "credentials[0].header", "missing"),
        (CRED.replace('"c"', '"Bad Name"'), "credentials[0].name", "not a valid name"),
        (CRED + CRED, "credentials[1].name", "duplicate name 'c' (also credentials[0])"),
        (CRED.replace('["api.example.com"]', "[]"), "credentials[0].hosts", "at least one host"),
        (CRED.replace('["api.example.com"]', '["*"]'), "credentials[0].hosts", "first label"),
        (CRED.replace('["api.example.com"]', '["*.com"]'), "credentials[0].hosts", "public suffix"),
        (CRED.replace('["api.example.com"]', '["https://api.example.com"]'), "credentials[0].hosts", "URL"),
        (CRED.replace('"X-Key"', '"X Key"'), "credentials[0].header", "not an HTTP field name"),
        (CRED.replace('"X-Key"', '"X-Key:"'), "credentials[0].header", "not an HTTP field name"),
        (CRED.replace('"X-Key"', '"Host"'), "credentials[0].header", "manages itself"),
        (CRED.replace('"X-Key"', '"content-length"'), "credentials[0].header", "manages itself"),
        (CRED.replace('"X-Key"', '"Transfer-Encoding"'), "credentials[0].header", "manages itself"),
        (CRED.replace('"X-Key"', '"Connection"'), "credentials[0].header", "manages itself"),
        (CRED + 'format = "Bearer"\n', "credentials[0].format", "{secret} exactly once"),
        (CRED + 'format = "{secret} {secret}"\n', "credentials[0].format", "{secret} exactly once"),
        (CRED + 'format = "Bearer {secret}\\r\\nX-Evil: 1"\n', "credentials[0].format", "control character"),
        (CRED.replace('"env:KEY"', '"env:"'), "credentials[0].value", "environment variable name"),
        (CRED.replace('"env:KEY"', '"env:A-B"'), "credentials[0].value", "environment variable name"),
        (CRED.replace('"env:KEY"', '"file:"'), "credentials[0].value", "not a path"),
        (CRED.replace('"env:KEY"', '"file:~bob/key"'), "credentials[0].value", "invoking user"),
        (CRED.replace('"env:KEY"', '"cmd:"'), "credentials[0].value", "names no command"),
        (CRED.replace('"env:KEY"', '"cmd:echo \'unclosed"'), "credentials[0].value", "shell command line"),
        (CRED.replace('"env:KEY"', '"vault:kv/x"'), "credentials[0].value", "unknown source"),
        (CRED + 'placeholder_env = "1KEY"\n', "credentials[0].placeholder_env", "environment variable name"),
        (CRED + 'methods = ["get"]\n', "credentials[0].methods", "upper-case HTTP method"),
        (CRED + "methods = []\n", "credentials[0].methods", "at least one method"),
        (CRED + 'methods = "GET"\n', "credentials[0].methods", "wrong type"),
        (CRED + 'paths = ["repos/*"]\n', "credentials[0].paths", "starting with '/'"),
        (CRED + "paths = []\n", "credentials[0].paths", "at least one path"),
        (CRED + 'max_body = "lots"\n', "credentials[0].max_body", "not a size"),
        (CRED + "cache_ttl = 60\n", "credentials[0].cache_ttl", "applies only to a cmd: value"),
        (CRED.replace('"env:KEY"', '"cmd:x"') + "cache_ttl = 0\n", "credentials[0].cache_ttl", "not a number"),
        (CRED.replace('"env:KEY"', '"cmd:x"') + "cache_ttl = true\n", "credentials[0].cache_ttl",
         "not a number"),
        (CRED + 'file_lines = "all"\n', "credentials[0].file_lines", "applies only to a file: value"),
        (CRED.replace('"env:KEY"', '"file:k"') + 'file_lines = "last"\n', "credentials[0].file_lines",
         "unknown mode"),
        ("[credentials]\nname = 'c'\n", "credentials", "must be an array of tables"),
        ("credentials = [1]\n", "credentials", "must be an array of tables"),
        # upstreams
        ('[[upstreams]]\nname = "u"\n', "upstreams[0].url", "missing"),
        ('[[upstreams]]\nname = "U/x"\nurl = "https://a.example.com"\n', "upstreams[0].name", "not a valid name"),
        ('[[upstreams]]\nname = "u"\nurl = "ftp://a.example.com"\n', "upstreams[0].url", "http:// and https://"),
        ('[[upstreams]]\nname = "u"\nurl = "a.example.com"\n', "upstreams[0].url", "http:// and https://"),
        ('[[upstreams]]\nname = "u"\nurl = "https://"\n', "upstreams[0].url", "no valid host"),
        ('[[upstreams]]\nname = "u"\nurl = "https://me:pw@a.example.com"\n', "upstreams[0].url", "user name"),
        ('[[upstreams]]\nname = "u"\nurl = "https://a.example.com/x?k=1"\n', "upstreams[0].url", "query"),
        ('[[upstreams]]\nname = "u"\nurl = "https://a.example.com/#top"\n', "upstreams[0].url", "fragment"),
        ('[[upstreams]]\nname = "u"\nurl = "https://a.example.com:99999"\n', "upstreams[0].url", "not a URL"),
        ('[[upstreams]]\nname = "u"\nurl = "https://a.example.com"\nbase_url_env = "A B"\n',
         "upstreams[0].base_url_env", "environment variable name"),
        ('[[upstreams]]\nname = "u"\nurl = "https://a.example.com"\nkey = "x"\n', "upstreams[0].key", "unknown key"),
        ('[[upstreams]]\nname = "u"\nurl = "https://a.example.com"\n' * 2, "upstreams[1].name", "duplicate"),
        # requests
        ('[[requests]]\nmethods = ["GET"]\n', "requests[0].hosts", "missing"),
        ('[[requests]]\nhosts = ["a.example.com"]\n', "requests[0]", "restricts nothing"),
        ('[[requests]]\nhosts = ["a.example.com"]\nheader = "X"\n', "requests[0].header", "unknown key"),
        ('[[requests]]\nhosts = ["a.example.com"]\npaths = ["x"]\n', "requests[0].paths", "starting with '/'"),
        # network
        ("[network]\ninspect = ['*']\n", "network.inspect", "first label"),
        ("[network]\nupstream_ca = 'ca.pem'\n", "network.upstream_ca", "wrong type"),
        ("[network]\nrate = '10/s'\n", "network.rate", "wrong type"),
        ('[network]\nrate = { "*" = "10/s" }\n', 'network.rate."*"', "first label"),
        ('[network]\nrate = { "a.example.com" = "10" }\n', 'network.rate."a.example.com"', "not a rate"),
        ('[network]\nrate = { "a.example.com" = "0/s" }\n', 'network.rate."a.example.com"', "not a rate"),
        ('[network]\nrate = { "a.example.com" = "5/fortnight" }\n', 'network.rate."a.example.com"', "not a rate"),
        ('[network]\nrate = { "a.example.com" = 5 }\n', 'network.rate."a.example.com"', "not a rate"),
    ],
)
def test_bad_entries_name_file_key_and_form(env: dict[str, Path], text: str, key: str, says: str) -> None:
    path = write(env["project"], text)
    with pytest.raises(PolicyError) as info:
        load(env)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}:"), message
    assert says in message
    if says not in ("first label", "public suffix", "URL"):  # host rule errors state the form themselves
        assert "(expected " in message
    assert info.value.exit_code == ExitCode.USAGE


def test_a_value_that_looks_like_a_secret_is_not_echoed(env: dict[str, Path]) -> None:
    write(env["project"], CRED.replace('"env:KEY"', '"sk-ant-api03-NOTASOURCE"'))
    with pytest.raises(PolicyError) as info:
        load(env)
    assert "credentials[0].value" in str(info.value)
    assert "NOTASOURCE" not in str(info.value)
    assert "env:NAME" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        (
            '[[upstreams]]\nname = "u"\nurl = "https://api.example.com"\ncredential = "nope"\n',
            "upstreams[0].credential",
            "no credential named 'nope' in the policy (defined: c)",
        ),
        (
            '[[upstreams]]\nname = "u"\nurl = "https://evil.example.net/v1"\ncredential = "c"\n',
            "upstreams[0].url",
            "the gateway would send the key to a host it is not for",
        ),
        (
            '[[credentials]]\nname = "d"\nhosts = ["API.example.com"]\nheader = "x-key"\nvalue = "env:D"\n',
            "credentials[1].header",
            "and so does credential 'c'",
        ),
        (
            ('placeholder_env = "KEY"\n[[upstreams]]\nname = "u"\nurl = "https://api.example.com"\n'
             'base_url_env = "KEY"\n'),
            "upstreams[0].base_url_env",
            "KEY is already set for credential 'c'",
        ),
    ],
)
def test_checks_across_entries(env: dict[str, Path], text: str, key: str, says: str) -> None:
    path = write(env["project"], CRED + text)
    with pytest.raises(PolicyError) as info:
        load(env)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}:"), message
    assert says in message


def test_the_host_check_includes_the_port(env: dict[str, Path]) -> None:
    text = CRED.replace('["api.example.com"]', '["api.example.com:443"]')
    write(env["project"], text + '[[upstreams]]\nname = "u"\nurl = "https://api.example.com"\ncredential = "c"\n')
    assert load(env).gateways[0].url == "https://api.example.com"
    write(env["project"], text + '[[upstreams]]\nname = "u"\nurl = "http://api.example.com"\ncredential = "c"\n')
    with pytest.raises(PolicyError, match="not among the hosts of credential 'c'"):
        load(env)


def test_an_upstream_may_use_a_credential_of_another_layer(env: dict[str, Path]) -> None:
    write(env["managed"], CRED.replace('["api.example.com"]', '["*.example.com"]'))
    write(env["project"], '[[upstreams]]\nname = "u"\nurl = "https://api.example.com/v1"\ncredential = "c"\n')
    policy = load(env)
    assert policy.gateways == (Gateway("u", "https://api.example.com/v1", "c"),)


def test_host_check_uses_the_credential_that_won(env: dict[str, Path]) -> None:
    """The managed layer's "c" replaces the project's; the project's upstream no longer fits."""
    write(env["managed"], CRED.replace('["api.example.com"]', '["other.example.com"]'))
    project = write(env["project"], CRED + '[[upstreams]]\nname = "u"\nurl = "https://api.example.com"\n'
                                           'credential = "c"\n')
    with pytest.raises(PolicyError) as info:
        load(env)
    assert str(info.value).startswith(f"{project}: upstreams[0].url:")
    assert str(env["managed"]) in str(info.value)  # where the winning credential was defined


def test_three_layers_merge(env: dict[str, Path]) -> None:
    write(
        env["managed"],
        """
        [[credentials]]
        name = "corp"
        hosts = ["git.corp.example.com"]
        header = "Authorization"
        format = "token {secret}"
        value = "file:/etc/ringfence/corp-token"

        [[requests]]
        hosts = ["git.corp.example.com"]
        methods = ["GET"]

        [network]
        inspect = ["a.example.com"]
        upstream_ca = ["/etc/ringfence/corp-ca.pem"]
        rate = { "git.corp.example.com" = "10/min" }
        """,
    )
    write(
        env["project"],
        """
        [[credentials]]
        name = "corp"
        hosts = ["evil.example.net"]
        header = "Authorization"
        value = "env:CORP"

        [[credentials]]
        name = "gh"
        hosts = ["api.github.com"]
        header = "Authorization"
        value = "env:GH_TOKEN"

        [[upstreams]]
        name = "corp"
        url = "https://git.corp.example.com/api"
        credential = "corp"

        [[requests]]
        hosts = ["api.github.com"]
        paths = ["/repos/acme/*"]

        [network]
        inspect = ["b.example.com", "a.example.com"]
        rate = { "git.corp.example.com" = "1000/s", "api.github.com" = "5/second" }
        """,
    )
    write(
        env["user"],
        """
        [[credentials]]
        name = "gh"
        hosts = ["api.github.com"]
        header = "Authorization"
        value = "cmd:gh auth token"

        [[credentials]]
        name = "mine"
        hosts = ["api.example.org"]
        header = "X-Api-Key"
        value = "env:MINE"

        [[upstreams]]
        name = "corp"
        url = "https://evil.example.net"

        [network]
        upstream_ca = ["ca.pem"]
        rate = { "api.github.com" = "1/day", "api.example.org" = "2/day" }
        """,
    )
    policy = load(env)
    by_name = {c.name: c for c in policy.credentials}
    assert list(by_name) == ["corp", "gh", "mine"]
    # the managed credential wins entirely over the project's of the same name
    assert by_name["corp"] == Credential(
        "corp", ("git.corp.example.com",), "Authorization", "file:/etc/ringfence/corp-token",
        format="token {secret}", source=str(env["managed"]))
    assert by_name["gh"].value == "env:GH_TOKEN" and by_name["gh"].source == str(env["project"])
    assert by_name["mine"].source == str(env["user"])
    assert policy.gateways == (Gateway("corp", "https://git.corp.example.com/api", "corp"),)
    assert [r.hosts for r in policy.requests] == [("git.corp.example.com",), ("api.github.com",)]
    assert policy.network.inspect == ("a.example.com", "b.example.com")
    assert policy.network.upstream_ca == ("/etc/ringfence/corp-ca.pem", str(env["home"] / ".config/ringfence/ca.pem"))
    assert policy.network.rate == (
        ("git.corp.example.com", 10, 60.0), ("api.github.com", 5, 1.0), ("api.example.org", 2, 86400.0))


def test_policies_without_the_new_keys_keep_their_defaults(env: dict[str, Path]) -> None:
    write(env["project"], '[network]\nallow = ["pypi.org"]\n')
    policy = load(env)
    assert (policy.credentials, policy.gateways, policy.requests) == ((), (), ())
    assert (policy.network.inspect, policy.network.upstream_ca, policy.network.rate) == ((), (), ())
    assert policy.request_rules() == () and policy.terminated_hosts() == ()


_PROBE = """
import sys
from ringfence.policy import load_policy
policy = load_policy(cwd={ws!r}, home={home!r}, managed={managed!r})
print(sorted(m for m in {modules!r} if m in sys.modules))
"""


def _probe(env: dict[str, Path], modules: list[str]) -> str:
    code = _PROBE.format(ws=str(env["ws"]), home=str(env["home"]), managed=str(env["managed"]), modules=modules)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=dict(os.environ)) for _ in range(2)]
    return runs[1].stdout.strip()  # the second run reads the parse cache: no tomllib (nor its re)


def test_a_policy_without_credentials_loads_no_heavy_module(env: dict[str, Path]) -> None:
    write(env["project"], '[network]\nallow = ["pypi.org"]\n[sandbox]\nenv = ["PATH"]\n')
    assert _probe(env, ["re", "shlex", "urllib", "urllib.parse", "ringfence.credentials"]) == "[]"


def test_only_what_the_keys_need_is_loaded(env: dict[str, Path]) -> None:
    write(env["project"], CRED + '[network]\ninspect = ["api.example.com"]\n')
    assert _probe(env, ["re", "shlex", "urllib.parse", "ringfence.credentials"]) == "[]"
