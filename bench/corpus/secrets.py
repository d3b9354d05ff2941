"""A planted-credentials workspace for the secret-scanner benchmark (issue 5, bench/scan.py).

``plant(root)`` writes a small but realistic project tree (services, config, infrastructure,
a web front end, a 5 MB log, binary assets, a git repository) holding FAKE secrets of many
kinds, each where and how people really leave them, and decoys that look like secrets but
are not. It returns a :class:`Manifest` saying where every one is, so a scanner's report can
be scored: a planted item is found when the scanner names its file and, for a ``content``
item, its line; a decoy is flagged when the scanner names its file at its line (or, for a
``file`` decoy, at all).

Rules it keeps:

- Standard library only, importable by the tests and runnable as a script::

      python3 bench/corpus/secrets.py DEST [--seed N] [--manifest PATH]

  plants into DEST (which must not exist or be empty), writes the manifest as JSON beside
  it (``DEST.manifest.json`` unless ``--manifest``; never inside DEST, where scanners would
  read it) and prints the manifest's path.
- Deterministic: every value comes from one ``random.Random(seed)``, drawn in a fixed order,
  so two plants with the same seed are byte-for-byte the same tree (and, with git, the same
  commit). No secret here belongs to any account: each is random text in the shape of its
  kind (prefixes, lengths, alphabets, and for GitHub and npm tokens a valid CRC32 checksum),
  and nothing is ever sent anywhere. The decoys include AWS's documented example keys.
- The corpus was written from the providers' published token formats, not from any
  scanner's rules; it is not tuned to ringfence or to a peer.
- With git on PATH the tree is a repository: ``.gitignore`` hides ``.env``, ``.env.local``,
  ``notes/``, ``logs/`` and ``*.tfstate``; everything else is committed with a fixed author
  and date. Items in ignored files carry ``ignored: true``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import string
import subprocess
import sys
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

SEED = 20261122
LOG_BYTES = 5 * 1024 * 1024
IGNORED = (".env", ".env.local", "notes/", "logs/", "*.tfstate")

_ALNUM = string.ascii_letters + string.digits
_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase  # GitHub's, npm's order
_URLSAFE = _ALNUM + "-_"
_B64 = _ALNUM + "+/"
_HEX = "0123456789abcdef"
_BASE32 = string.ascii_uppercase + "234567"  # AWS access key ids use this alphabet
# AWS's own documentation example pair, split so this file does not read as holding a key.
AWS_EXAMPLE_KEY_ID = "AKIAIOSFODNN7" + "EXAMPLE"
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"


@dataclass(frozen=True)
class Item:
    """A planted secret or a decoy. ``line`` is 1-based, None for a whole-file item."""

    file: str  # relative to the root, "/"-separated
    line: int | None
    kind: str  # "file" (the whole file is the credential) | "content" (one line holds it)
    type: str  # a short label: "github-pat", "aws-secret-key", "placeholder", ...
    text: str  # the planted value (fake) or the decoy's text, as it appears in the file
    ignored: bool = False  # the file is hidden by .gitignore


@dataclass(frozen=True)
class Manifest:
    root: str
    seed: int
    git: bool
    planted: tuple[Item, ...]
    decoys: tuple[Item, ...]
    files: int = 0
    bytes: int = 0
    binaries: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Manifest:
        items = {k: tuple(Item(**i) for i in data[k]) for k in ("planted", "decoys")}  # type: ignore[attr-defined]
        rest = {k: v for k, v in data.items() if k not in items}
        rest["binaries"] = tuple(rest.get("binaries", ()))  # type: ignore[arg-type]
        return cls(**items, **rest)  # type: ignore[arg-type]


# --- value shapes ----------------------------------------------------------------------


class _Values:
    """Random values in each kind's published shape, all from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def raw(self, n: int) -> bytes:
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def password(self, n: int = 20) -> str:
        return self.chars(_ALNUM, n)

    def checksummed(self, prefix: str) -> str:
        """GitHub's and npm's format: 30 random base62 characters, then the CRC32 of those
        30 characters in base62, zero-padded to 6."""
        body = self.chars(_ALNUM, 30)
        return prefix + body + base62(zlib.crc32(body.encode()))

    def aws_key_id(self) -> str:
        return "AKIA" + self.chars(_BASE32, 16)

    def jwt(self, header: dict[str, str], claims: dict[str, object], sig_bytes: int) -> str:
        parts = [json.dumps(header, separators=(",", ":")).encode(),
                 json.dumps(claims, separators=(",", ":")).encode(), self.raw(sig_bytes)]
        return ".".join(b64url(p) for p in parts)

    def pem_body(self, der_prefix: bytes, size: int, width: int = 64) -> list[str]:
        text = base64.b64encode(der_prefix + self.raw(size - len(der_prefix))).decode()
        return [text[i:i + width] for i in range(0, len(text), width)]


def base62(n: int, width: int = 6) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def checksum_ok(token: str) -> bool:
    """Whether a ``ghp_``/``gho_``/``ghs_``/``npm_`` token's last 6 characters are its checksum."""
    body = token.split("_", 1)[1]
    return len(body) == 36 and base62(zlib.crc32(body[:30].encode())) == body[30:]


# --- the tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class S:
    """A line holding a planted secret."""

    type: str
    line: str
    value: str


@dataclass(frozen=True)
class D:
    """A line holding a decoy."""

    type: str
    line: str
    text: str


class _Tree:
    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.v = _Values(seed)
        self.planted: list[Item] = []
        self.decoys: list[Item] = []
        self.binaries: list[str] = []

    def text(self, rel: str, *lines: str | S | D) -> None:
        out = []
        for number, part in enumerate(lines, 1):
            if isinstance(part, S):
                assert part.value in part.line, (rel, part)
                self.planted.append(Item(rel, number, "content", part.type, part.value, _ignored(rel)))
                out.append(part.line)
            elif isinstance(part, D):
                assert part.text in part.line, (rel, part)
                self.decoys.append(Item(rel, number, "content", part.type, part.text))
                out.append(part.line)
            else:
                assert "\n" not in part, (rel, part)
                out.append(part)
        self.write(rel, "\n".join(out) + "\n")

    def secret_file(self, rel: str, type_: str, body: str, marker: str) -> None:
        """A file that is a credential as a whole (a private key): found if named at all."""
        self.planted.append(Item(rel, None, "file", type_, marker, _ignored(rel)))
        self.write(rel, body)

    def decoy_file(self, rel: str, type_: str, body: str, marker: str) -> None:
        self.decoys.append(Item(rel, None, "file", type_, marker))
        self.write(rel, body)

    def binary(self, rel: str, data: bytes) -> None:
        self.binaries.append(rel)
        self.write(rel, data)

    def write(self, rel: str, data: str | bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)


def _ignored(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return (name in (".env", ".env.local") or rel.startswith(("notes/", "logs/"))
            or name.endswith(".tfstate"))


def _dotenv(t: _Tree) -> None:
    v = t.v
    db_password, stripe, openai = v.password(22), "sk_live_51" + v.chars(_ALNUM, 97), (
        "sk-proj-" + v.chars(_URLSAFE, 74) + "T3BlbkFJ" + v.chars(_URLSAFE, 74))
    t.text(".env",
           "# local settings: never commit (see .gitignore)",
           "APP_ENV=development",
           "APP_PORT=8080",
           "DB_HOST=localhost",
           "DB_USER=app",
           S("password-assignment", f"DB_PASSWORD={db_password}", db_password),
           "",
           "# payments",
           S("stripe-secret-key", f"STRIPE_SECRET_KEY={stripe}", stripe),
           "STRIPE_WEBHOOK_TOLERANCE=300",
           S("openai-api-key", f"OPENAI_API_KEY={openai}", openai),
           "LOG_LEVEL=debug")
    t.text(".env.example",
           "# copy to .env and fill in",
           "APP_ENV=development",
           "DB_HOST=localhost",
           "DB_USER=app",
           "DB_PASSWORD=",
           "STRIPE_SECRET_KEY=",
           "OPENAI_API_KEY=")
    t.decoys.append(Item(".env.example", None, "file", "env-example-empty", "DB_PASSWORD="))
    anthropic = "sk-ant-api03-" + v.chars(_URLSAFE, 93) + "AA"
    pg_password = v.password(24)
    pg = f"postgres://api:{pg_password}@db-primary.internal:5432/orders?sslmode=require"
    t.text("services/api/.env.production",
           "NODE_ENV=production",
           "PORT=3000",
           S("postgres-url", f"DATABASE_URL={pg}", pg),
           "DATABASE_POOL_SIZE=20",
           S("anthropic-api-key", f"ANTHROPIC_API_KEY={anthropic}", anthropic),
           "FEATURE_FLAGS=checkout-v2,search-beta")


def _config(t: _Tree) -> None:
    v = t.v
    yaml_password = v.password(18)
    t.text("config/settings.yaml",
           "app:",
           "  name: orders",
           "  debug: false",
           "database:",
           "  engine: postgresql",
           "  host: db-primary.internal",
           "  port: 5432",
           "  user: orders",
           S("password-yaml", f"  password: {yaml_password}", yaml_password),
           "  pool: 10",
           "cache:",
           "  ttl_seconds: 300")
    t.text("config/settings.example.yaml",
           "app:",
           "  name: orders",
           "payments:",
           "  provider: stripe",
           D("placeholder", "  api_key: your-api-key-here", "your-api-key-here"),
           "  currency: EUR")
    t.text("config/defaults.ini",
           "[server]",
           "host = 0.0.0.0",
           "port = 8080",
           "",
           "[admin]",
           "user = admin",
           D("placeholder", "password = changeme", "changeme"),
           "session_minutes = 30")
    conn = ("DefaultEndpointsProtocol=https;AccountName=acmeordersprod;AccountKey="
            + base64.b64encode(v.raw(64)).decode() + ";EndpointSuffix=core.windows.net")
    t.text("services/api/appsettings.json",
           "{",
           '  "Logging": { "LogLevel": { "Default": "Information" } },',
           '  "ConnectionStrings": {',
           S("azure-storage-connection-string", f'    "Storage": "{conn}",', conn),
           '    "Cache": "localhost:6379"',
           "  },",
           '  "AllowedHosts": "*"',
           "}")


def _cloud(t: _Tree) -> None:
    v = t.v
    key_id, secret = v.aws_key_id(), v.chars(_B64, 40)
    t.text(".aws/credentials",
           "[default]",
           S("aws-access-key-id", f"aws_access_key_id = {key_id}", key_id),
           S("aws-secret-key", f"aws_secret_access_key = {secret}", secret),
           "region = eu-west-1")
    t.text("docs/aws-setup.md",
           "# Setting up AWS access",
           "",
           "Create an access key in the IAM console, then run `aws configure`. It writes",
           "`~/.aws/credentials` like this (AWS's documentation example, not a real key):",
           "",
           "```ini",
           "[default]",
           D("aws-documented-example", f"aws_access_key_id = {AWS_EXAMPLE_KEY_ID}", AWS_EXAMPLE_KEY_ID),
           D("aws-documented-example", f"aws_secret_access_key = {AWS_EXAMPLE_SECRET}", AWS_EXAMPLE_SECRET),
           "```")
    project = "acme-orders-" + v.chars(string.digits, 6)
    pkcs8 = "\\n".join(["-----BEGIN PRIVATE KEY-----",
                        *v.pem_body(bytes.fromhex("308204be020100300d06092a864886f70d0101010500"), 1218),
                        "-----END PRIVATE KEY-----", ""])
    t.text("deploy/gcp-service-account.json",
           "{",
           '  "type": "service_account",',
           f'  "project_id": "{project}",',
           f'  "private_key_id": "{v.chars(_HEX, 40)}",',
           S("gcp-service-account-key", f'  "private_key": "{pkcs8}",', pkcs8),
           f'  "client_email": "deployer@{project}.iam.gserviceaccount.com",',
           f'  "client_id": "{v.chars(string.digits, 21)}",',
           '  "auth_uri": "https://accounts.google.com/o/oauth2/auth",',
           '  "token_uri": "https://oauth2.googleapis.com/token"',
           "}")
    do_token = "dop_v1_" + v.chars(_HEX, 64)
    t.text("infra/production.auto.tfvars",
           'region        = "fra1"',
           'droplet_size  = "s-2vcpu-4gb"',
           S("digitalocean-token", f'do_token      = "{do_token}"', do_token),
           "replica_count = 3")
    tf_password = v.password(20)
    t.text("infra/terraform.tfstate",
           "{",
           '  "version": 4,',
           '  "terraform_version": "1.9.5",',
           '  "serial": 42,',
           '  "resources": [',
           "    {",
           '      "mode": "managed",',
           '      "type": "aws_db_instance",',
           '      "name": "orders",',
           '      "instances": [',
           "        {",
           '          "attributes": {',
           '            "engine": "postgres",',
           '            "username": "orders_admin",',
           S("terraform-state-password", f'            "password": "{tf_password}",', tf_password),
           '            "port": 5432',
           "          }",
           "        }",
           "      ]",
           "    }",
           "  ]",
           "}")
    vault = "hvs.CAESI" + v.chars(_URLSAFE, 86)
    t.text("deploy/vault-agent.hcl",
           'vault {',
           '  address = "https://vault.internal:8200"',
           "}",
           "auto_auth {",
           '  method "token_file" {',
           "    config = {",
           '      token_file_path = "/run/vault/token"',
           "    }",
           "  }",
           "}",
           "# bootstrap token for the first start; rotate after deploy",
           S("vault-token", f'token = "{vault}"', vault))


def _keys(t: _Tree) -> None:
    v = t.v
    # OpenSSH's format (PROTOCOL.key): magic, cipher "none", one ed25519 key; random bytes
    # where the key material goes, so the block has the real shape but no real key.
    def sshstr(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b
    pub = v.raw(32)
    check = v.raw(4)
    private = (check + check + sshstr(b"ssh-ed25519") + sshstr(pub) + sshstr(v.raw(32) + pub)
               + sshstr(b"deploy@build") + b"\x01\x02\x03\x04\x05")
    blob = (b"openssh-key-v1\x00" + sshstr(b"none") + sshstr(b"none") + sshstr(b"")
            + (1).to_bytes(4, "big") + sshstr(sshstr(b"ssh-ed25519") + sshstr(pub)) + sshstr(private))
    text = base64.b64encode(blob).decode()
    body = "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----",
                      *[text[i:i + 70] for i in range(0, len(text), 70)],
                      "-----END OPENSSH PRIVATE KEY-----", ""])
    t.secret_file(".ssh/id_ed25519", "ssh-private-key", body, "-----BEGIN OPENSSH PRIVATE KEY-----")
    t.write(".ssh/id_ed25519.pub", "ssh-ed25519 " + base64.b64encode(sshstr(b"ssh-ed25519") + sshstr(pub)).decode()
            + " deploy@build\n")
    rsa = "\n".join(["-----BEGIN RSA PRIVATE KEY-----",
                     *v.pem_body(bytes.fromhex("308204a40201000282010100"), 1192),
                     "-----END RSA PRIVATE KEY-----", ""])
    t.secret_file("deploy/keys/id_rsa", "rsa-private-key", rsa, "-----BEGIN RSA PRIVATE KEY-----")
    cert = "\n".join(["-----BEGIN CERTIFICATE-----",
                      *v.pem_body(bytes.fromhex("308203"), 905),
                      "-----END CERTIFICATE-----", ""])
    t.decoy_file("certs/ca.pem", "certificate-only", cert, "-----BEGIN CERTIFICATE-----")


def _home_files(t: _Tree) -> None:
    """Credential files that tools write into a home folder, here in the workspace."""
    v = t.v
    ghs = v.checksummed("ghs_")
    t.text(".git-credentials",
           S("git-credentials", f"https://x-access-token:{ghs}@github.com", ghs))
    npm = v.checksummed("npm_")
    t.text(".npmrc",
           "registry=https://registry.npmjs.org/",
           "save-exact=true",
           S("npm-token", f"//registry.npmjs.org/:_authToken={npm}", npm))
    pypirc_password = v.password(24)
    t.text(".pypirc",
           "[distutils]",
           "index-servers =",
           "    internal",
           "",
           "[internal]",
           "repository = https://pypi.internal.example/simple/",
           "username = release-bot",
           S("pypirc-password", f"password = {pypirc_password}", pypirc_password))
    docker_auth = base64.b64encode(f"deploybot:{v.password(20)}".encode()).decode()
    t.text(".docker/config.json",
           "{",
           '  "auths": {',
           '    "registry.example.com": {',
           S("docker-config-auth", f'      "auth": "{docker_auth}"', docker_auth),
           "    }",
           "  },",
           '  "credsStore": ""',
           "}")
    kube = v.jwt({"alg": "RS256", "kid": v.chars(_URLSAFE, 43)},
                 {"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": "ci",
                  "kubernetes.io/serviceaccount/service-account.name": "deployer",
                  "sub": "system:serviceaccount:ci:deployer"}, 256)
    t.text(".kube/config",
           "apiVersion: v1",
           "kind: Config",
           "clusters:",
           "- cluster:",
           "    server: https://k8s.internal:6443",
           f"    certificate-authority-data: {base64.b64encode(v.raw(48)).decode()}",
           "  name: prod",
           "contexts:",
           "- context: {cluster: prod, user: deployer}",
           "  name: prod",
           "current-context: prod",
           "users:",
           "- name: deployer",
           "  user:",
           S("kubeconfig-token", f"    token: {kube}", kube))
    netrc_password = v.password(20)
    t.text(".netrc",
           "machine artifacts.example.com",
           "  login ci-uploader",
           S("netrc-password", f"  password {netrc_password}", netrc_password))


def _source(t: _Tree) -> None:
    v = t.v
    ghp = v.checksummed("ghp_")
    t.text("scripts/publish.sh",
           "#!/usr/bin/env bash",
           "# Publishes the release notes to GitHub.",
           "set -euo pipefail",
           S("github-pat", f"export GH_TOKEN={ghp}", ghp),
           'gh release create "v$1" --notes-file CHANGELOG.md')
    fine = "github_pat_11" + v.chars(string.ascii_uppercase + string.digits, 20) + "_" + v.chars(_ALNUM, 59)
    t.text("tools/ci/github.toml",
           "[github]",
           'owner = "acme"',
           'repo = "orders"',
           S("github-fine-grained-pat", f'token = "{fine}"', fine))
    glpat = "glpat-" + v.chars(_URLSAFE, 20)
    t.text("scripts/mirror.sh",
           "#!/bin/sh",
           "# Mirrors the repository to the internal GitLab.",
           S("gitlab-pat", f"git push --mirror https://oauth2:{glpat}@gitlab.internal/acme/orders.git", glpat))
    macaroon = (b"\x02\x01\x08pypi.org\x02\x24" + str(_uuid(v)).encode() + b"\x00\x02\x20"
                + v.raw(130) + b"\x00\x06\x20" + v.raw(32))
    pypi = "pypi-" + b64url(macaroon)
    assert pypi.startswith("pypi-AgEIcHlwaS5vcmc")
    t.text("Makefile",
           ".PHONY: build publish",
           "build:",
           "\tpython -m build",
           "",
           "TWINE_USERNAME ?= __token__",
           S("pypi-token", f"TWINE_PASSWORD ?= {pypi}", pypi),
           "publish: build",
           "\ttwine upload dist/*")
    xoxb = f"xoxb-{v.chars(string.digits, 12)}-{v.chars(string.digits, 13)}-{v.chars(_ALNUM, 24)}"
    t.text("bots/slack/config.json",
           "{",
           '  "channel": "#deploys",',
           S("slack-bot-token", f'  "bot_token": "{xoxb}",', xoxb),
           '  "notify_on": ["failure", "rollback"]',
           "}")
    hook = (f"https://hooks.slack.com/services/T{v.chars(_BASE32, 8)}/B{v.chars(_BASE32, 10)}/"
            f"{v.chars(_ALNUM, 24)}")
    t.text("monitoring/alertmanager.yml",
           "route:",
           "  receiver: ops",
           "receivers:",
           "  - name: ops",
           "    slack_configs:",
           S("slack-webhook", f"      - api_url: {hook}", hook),
           "        channel: '#ops-alerts'",
           "        send_resolved: true")
    maps = "AIza" + v.chars(_URLSAFE, 35)
    t.text("web/src/maps.js",
           "import { Loader } from '@googlemaps/js-api-loader';",
           "",
           S("google-api-key", f"const MAPS_KEY = '{maps}';", maps),
           "",
           "export function loadMaps() {",
           "  return new Loader({ apiKey: MAPS_KEY, version: 'weekly' }).load();",
           "}")
    sendgrid = f"SG.{v.chars(_URLSAFE, 22)}.{v.chars(_URLSAFE, 43)}"
    t.text("services/mailer/settings.py",
           '"""Mailer settings."""',
           "",
           'FROM_ADDRESS = "orders@example.com"',
           S("sendgrid-api-key", f'SENDGRID_API_KEY = "{sendgrid}"', sendgrid),
           "RETRIES = 3")
    hf = "hf_" + v.chars(string.ascii_letters, 34)
    t.text("ml/train.py",
           "from huggingface_hub import login",
           "",
           S("huggingface-token", f'HF_TOKEN = "{hf}"', hf),
           "",
           "",
           "def main() -> None:",
           "    login(token=HF_TOKEN)",
           "    print('training...')")
    jwt = v.jwt({"alg": "HS256", "typ": "JWT"},
                {"sub": "svc-orders", "role": "service", "iat": 1767225600, "exp": 1798761600}, 32)
    t.text("web/src/api/client.ts",
           "import axios from 'axios';",
           "",
           "// service-to-service token for the internal API",
           S("jwt", f"const SERVICE_TOKEN = '{jwt}';", jwt),
           "",
           "export const api = axios.create({",
           "  baseURL: '/api',",
           "  headers: { Authorization: `Bearer ${SERVICE_TOKEN}` },",
           "});")
    mongo_password = v.password(16)
    mongo = f"mongodb+srv://worker:{mongo_password}@cluster0.x7k2p.mongodb.net/jobs?retryWrites=true"
    t.text("services/worker/config.js",
           "module.exports = {",
           "  concurrency: 4,",
           S("mongodb-url", f"  mongoUrl: '{mongo}',", mongo),
           "  queue: 'jobs',",
           "};")
    amqp = f"amqp://worker:{v.password(18)}@rabbitmq:5672/%2F"
    t.text("services/worker/celeryconfig.py",
           S("amqp-url", f'broker_url = "{amqp}"', amqp),
           'result_backend = "rpc://"',
           'task_serializer = "json"',
           "worker_prefetch_multiplier = 1")
    redis = f"redis://:{v.password(24)}@redis:6379/0"
    t.text("docker-compose.yml",
           "services:",
           "  api:",
           "    build: ./services/api",
           "    environment:",
           S("redis-url", f"      REDIS_URL: {redis}", redis),
           D("placeholder", "      API_KEY: ${API_KEY}", "${API_KEY}"),
           "    ports: ['3000:3000']",
           "  redis:",
           "    image: redis:7")
    db_password = v.password(20)
    t.text("app/db.py",
           '"""Database access."""',
           "",
           "import psycopg",
           "",
           'DB_HOST = "db-primary.internal"',
           'DB_USER = "orders"',
           S("password-assignment", f'DB_PASSWORD = "{db_password}"', db_password),
           "",
           "",
           "def connect() -> psycopg.Connection:",
           "    return psycopg.connect(host=DB_HOST, user=DB_USER, password=DB_PASSWORD)")
    shpat = "shpat_" + v.chars(_HEX, 32)
    deep = "packages/core/src/lib/internal/vendor/legacy/adapters/payments/config/keys.py"
    t.text(deep,
           "# Legacy storefront adapter (kept for the 2019 stores).",
           'SHOP_DOMAIN = "acme-legacy.myshopify.com"',
           S("shopify-token", f'SHOPIFY_ADMIN_TOKEN = "{shpat}"', shpat))


def _beside_binaries(t: _Tree) -> None:
    v = t.v
    t.binary("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + v.raw(4096))
    t.binary("assets/Inter.woff2", b"wOF2\x00\x01\x00\x00" + v.raw(16384))
    dapi = "dapi" + v.chars(_HEX, 32)
    t.text("assets/upload.cfg",
           "[databricks]",
           "host = https://adb-1234567890123456.7.azuredatabricks.net",
           S("databricks-token", f"token = {dapi}", dapi))
    t.binary("vendor/sms/libsms.so", b"\x7fELF\x02\x01\x01\x00" + bytes(8) + v.raw(8192))
    twilio = "SK" + v.chars(_HEX, 32)
    t.text("vendor/sms/twilio.json",
           "{",
           f'  "account_sid": "AC{v.chars(_HEX, 32)}",',
           S("twilio-api-key", f'  "api_key": "{twilio}",', twilio),
           '  "from": "+15550100"',
           "}")


def _ignored_and_logs(t: _Tree) -> None:
    v = t.v
    rk = "rk_live_51" + v.chars(_ALNUM, 97)
    t.text("notes/prod-access.txt",
           "Prod access, 2026-11",
           "- dashboard: ask ops for an account",
           S("stripe-restricted-key", f"- reporting key: {rk}", rk),
           "- rotate quarterly")
    gho = v.checksummed("gho_")
    lines: list[str | S | D] = []
    size, planted_at = 0, None
    routes = ("/api/orders", "/api/orders/{id}", "/api/cart", "/healthz", "/api/search?q=shoes")
    i = 0
    while size < LOG_BYTES:
        i += 1
        if planted_at is None and size > LOG_BYTES * 3 // 5:
            line = (f"2026-11-20T14:{i // 3600 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z DEBUG oauth callback: "
                    f"exchanged code, access_token={gho} scope=repo")
            lines.append(S("github-oauth-token", line, gho))
            planted_at = i
        else:
            route = v.rng.choice(routes).replace("{id}", str(v.rng.randint(1000, 99999)))
            line = (f"2026-11-20T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z INFO "
                    f"request_id={v.chars(_HEX, 16)} method=GET path={route} status={v.rng.choice((200, 200, 200, 304, 404))} "
                    f"ms={v.rng.randint(1, 900)}")
            lines.append(line)
        size += len(line) + 1
    t.text("logs/app.log", *lines)


def _decoys(t: _Tree) -> None:
    v = t.v
    good = v.checksummed("ghp_")
    wrong = good[:-6] + base62((zlib.crc32(good[4:34].encode()) + 1) % 2**32)
    assert not checksum_ok(wrong)
    t.text("tests/test_tokens.py",
           '"""The token parser rejects a GitHub token whose checksum is wrong."""',
           "",
           "from orders.tokens import is_github_token",
           "",
           "# the last six characters are deliberately not this token's CRC32",
           D("bad-checksum-github-token", f'BAD_CHECKSUM = "{wrong}"', wrong),
           "",
           "",
           "def test_bad_checksum() -> None:",
           "    assert not is_github_token(BAD_CHECKSUM)")
    t.text("docs/deploy.md",
           "# Deploying",
           "",
           "Trigger a deploy with your personal token:",
           "",
           D("placeholder", 'curl -H "Authorization: Bearer <token>" https://deploy.internal/v1/deploys',
             "<token>"),
           "",
           "The token comes from the deploy dashboard.")
    integrity = "sha512-" + base64.b64encode(v.raw(64)).decode()
    t.text("web/package-lock.json",
           "{",
           '  "name": "orders-web",',
           '  "lockfileVersion": 3,',
           '  "packages": {',
           '    "node_modules/axios": {',
           '      "version": "1.7.7",',
           '      "resolved": "https://registry.npmjs.org/axios/-/axios-1.7.7.tgz",',
           D("lockfile-integrity", f'      "integrity": "{integrity}",', integrity),
           '      "license": "MIT"',
           "    }",
           "  }",
           "}")
    digest = hashlib.sha256(v.raw(64)).hexdigest()
    t.text("dist/SHA256SUMS",
           D("sha256-digest", f"{digest}  orders-1.4.0.tar.gz", digest))
    uuid = str(_uuid(v))
    t.text("app/models.py",
           '"""Tenants."""',
           "",
           "# the tenant every install starts with",
           D("uuid", f'DEFAULT_TENANT_ID = "{uuid}"', uuid),
           "",
           "",
           "class Tenant:",
           "    pass")
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + v.raw(54)).decode()
    t.text("tests/fixtures/images.py",
           '"""Image fixtures."""',
           "",
           "import base64",
           "",
           D("base64-fixture", f'TINY_PNG = base64.b64decode("{pixel}")', pixel))
    sha = v.chars(_HEX, 40)
    t.text(".git-blame-ignore-revs",
           "# reformat with black",
           D("git-commit-sha", sha, sha))


def _plain(t: _Tree) -> None:
    """Ordinary files with nothing in them, so the secrets are not all there is."""
    t.text(".gitignore", "__pycache__/", "node_modules/", *IGNORED)
    t.text("README.md", "# orders", "", "The order service, its worker and its web front end.")
    t.text("app/__init__.py", '"""The order service."""')
    t.text("app/main.py", "from app.db import connect", "", "", "def main() -> None:", "    connect()")
    t.text("web/package.json", "{", '  "name": "orders-web",', '  "private": true,',
           '  "dependencies": { "axios": "1.7.7" }', "}")
    t.text("services/api/Dockerfile", "FROM node:22-slim", "WORKDIR /app", "COPY . .",
           'CMD ["node", "server.js"]')


def _uuid(v: _Values) -> str:
    h = v.chars(_HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _git(root: Path) -> bool:
    if shutil.which("git") is None:
        return False
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root), "LC_ALL": "C",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "orders: initial import"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return True


def plant(root: Path, seed: int = SEED, *, git: bool = True) -> Manifest:
    """Write the workspace into ``root`` (created; must be empty) and say what is where."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise ValueError(f"{root} is not empty: plant() writes a fresh workspace")
    tree = _Tree(root, seed)
    for part in (_plain, _dotenv, _config, _cloud, _keys, _home_files, _source, _beside_binaries,
                 _ignored_and_logs, _decoys):
        part(tree)
    files = [p for p in root.rglob("*") if p.is_file()]
    used_git = _git(root) if git else False
    return Manifest(root=str(root), seed=seed, git=used_git, planted=tuple(tree.planted),
                    decoys=tuple(tree.decoys), files=len(files),
                    bytes=sum(p.stat().st_size for p in files), binaries=tuple(tree.binaries))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="the folder to plant into (new or empty)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--manifest", type=Path, help="where to write the manifest (default DEST.manifest.json)")
    parser.add_argument("--no-git", action="store_true", help="do not make it a git repository")
    args = parser.parse_args(argv)
    try:
        manifest = plant(args.dest, args.seed, git=not args.no_git)
    except ValueError as exc:
        print(f"secrets.py: {exc}", file=sys.stderr)
        return 2
    out = args.manifest or args.dest.with_name(args.dest.name + ".manifest.json")
    out.write_text(json.dumps(manifest.to_json(), indent=1) + "\n", encoding="utf-8")
    print(out.resolve())
    return 0


if __name__ == "__main__":
    # Run as a script, this file's folder comes first on sys.path, where its own name would
    # hide the standard library's `secrets` from anything imported later.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    sys.exit(main())
