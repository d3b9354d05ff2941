"""Credential files by name: which paths are credentials, which look-alikes are not, and
the rules confirmed by content (public certificates, an .npmrc without a token...)."""

from __future__ import annotations

import re

import pytest

from ringfence.workspace import credfiles
from ringfence.workspace.credfiles import credential_file, file_rules, is_public_only

# PEM pieces, built so this file does not itself read as holding a key.
DASHES = "-" * 5
BODY = "MIIBOgIBAAJBAK" + "x9" * 30 + "\n" + "Qy7" * 20 + "\n"


def pem(label: str) -> bytes:
    return f"{DASHES}BEGIN {label}{DASHES}\n{BODY}{DASHES}END {label}{DASHES}\n".encode()


CREDENTIAL_FILES = [
    (".env", "RF-FILE-ENV"),
    ("services/api/.env", "RF-FILE-ENV"),
    (".env.local", "RF-FILE-ENV"),
    (".env.production", "RF-FILE-ENV"),
    (".env.development.local", "RF-FILE-ENV"),
    (".env.bak", "RF-FILE-ENV"),
    ("id_rsa", "RF-FILE-SSH-KEY"),
    ("home/.ssh/id_ed25519", "RF-FILE-SSH-KEY"),
    ("keys/id_ecdsa", "RF-FILE-SSH-KEY"),
    ("id_dsa", "RF-FILE-SSH-KEY"),
    ("id_ed25519_sk", "RF-FILE-SSH-KEY"),
    (".ssh/identity", "RF-FILE-SSH-KEY"),
    ("etc/ssh/ssh_host_rsa_key", "RF-FILE-SSH-KEY"),
    ("deploy.ppk", "RF-FILE-SSH-KEY"),
    ("certs/server.pem", "RF-FILE-PRIVATE-KEY"),
    ("certs/server.key", "RF-FILE-PRIVATE-KEY"),
    ("AuthKey_ABC123.p8", "RF-FILE-PRIVATE-KEY"),
    ("Server.PEM", "RF-FILE-PRIVATE-KEY"),
    ("client.p12", "RF-FILE-KEYSTORE"),
    ("client.pfx", "RF-FILE-KEYSTORE"),
    ("release.jks", "RF-FILE-KEYSTORE"),
    ("android/app/upload.keystore", "RF-FILE-KEYSTORE"),
    (".git-credentials", "RF-FILE-GIT-CREDENTIALS"),
    (".netrc", "RF-FILE-NETRC"),
    ("_netrc", "RF-FILE-NETRC"),
    (".aws/credentials", "RF-FILE-AWS"),
    ("home/me/.aws/credentials", "RF-FILE-AWS"),
    (".s3cfg", "RF-FILE-AWS"),
    (".boto", "RF-FILE-AWS"),
    ("application_default_credentials.json", "RF-FILE-GCLOUD"),
    (".config/gcloud/application_default_credentials.json", "RF-FILE-GCLOUD"),
    (".config/gcloud/credentials.db", "RF-FILE-GCLOUD"),
    (".config/gcloud/access_tokens.db", "RF-FILE-GCLOUD"),
    (".config/gcloud/legacy_credentials/me@example.com/adc.json", "RF-FILE-GCLOUD"),
    ("deploy/my-project-service-account.json", "RF-FILE-GCP-SERVICE-ACCOUNT"),
    ("service-account.json", "RF-FILE-GCP-SERVICE-ACCOUNT"),
    ("service-account-prod.json", "RF-FILE-GCP-SERVICE-ACCOUNT"),
    ("service_account.json", "RF-FILE-GCP-SERVICE-ACCOUNT"),
    (".azure/accessTokens.json", "RF-FILE-AZURE"),
    (".azure/msal_token_cache.json", "RF-FILE-AZURE"),
    (".azure/msal_token_cache.bin", "RF-FILE-AZURE"),
    (".azure/service_principal_entries.json", "RF-FILE-AZURE"),
    (".docker/config.json", "RF-FILE-DOCKER"),
    (".dockercfg", "RF-FILE-DOCKER"),
    (".config/containers/auth.json", "RF-FILE-DOCKER"),
    (".kube/config", "RF-FILE-KUBECONFIG"),
    ("kubeconfig", "RF-FILE-KUBECONFIG"),
    ("clusters/prod.kubeconfig", "RF-FILE-KUBECONFIG"),
    ("kubeconfig.yaml", "RF-FILE-KUBECONFIG"),
    (".npmrc", "RF-FILE-NPMRC"),
    ("web/.yarnrc.yml", "RF-FILE-NPMRC"),
    (".pypirc", "RF-FILE-PYPIRC"),
    ("terraform.tfstate", "RF-FILE-TFSTATE"),
    ("infra/terraform.tfstate.backup", "RF-FILE-TFSTATE"),
    ("infra/prod.tfstate", "RF-FILE-TFSTATE"),
    ("credentials.json", "RF-FILE-CREDENTIALS-JSON"),
    (".claude/.credentials.json", "RF-FILE-CREDENTIALS-JSON"),
    ("client_secret_1234.apps.googleusercontent.com.json", "RF-FILE-CREDENTIALS-JSON"),
    (".pgpass", "RF-FILE-DB-PASSWORDS"),
    (".mylogin.cnf", "RF-FILE-DB-PASSWORDS"),
    (".my.cnf", "RF-FILE-MY-CNF"),
    ("public/.htpasswd", "RF-FILE-HTPASSWD"),
    ("vpn/office.ovpn", "RF-FILE-OVPN"),
    (".vault-token", "RF-FILE-TOOL-TOKEN"),
    (".gem/credentials", "RF-FILE-TOOL-TOKEN"),
    (".cargo/credentials", "RF-FILE-TOOL-TOKEN"),
    (".cargo/credentials.toml", "RF-FILE-TOOL-TOKEN"),
    (".composer/auth.json", "RF-FILE-TOOL-TOKEN"),
    (".config/composer/auth.json", "RF-FILE-TOOL-TOKEN"),
    (".terraform.d/credentials.tfrc.json", "RF-FILE-TOOL-TOKEN"),
    (".databrickscfg", "RF-FILE-TOOL-TOKEN"),
    (".kaggle/kaggle.json", "RF-FILE-TOOL-TOKEN"),
]

NOT_CREDENTIAL_FILES = [
    "README.md",
    ".env.example",  # templates: found by content if a real secret was pasted in
    ".env.sample",
    ".env.template",
    ".env.tmpl",
    ".env.dist",
    ".env.defaults",
    ".env.default",
    ".env.schema",
    ".env.vault",
    ".env.local.example",
    "config/.env.production.sample",
    ".envrc",  # direnv: often only `use flake`; content rules read it
    "environment.py",
    "my.env.py",
    ".venv/bin/python",
    ".env/bin/activate",  # a virtual environment named .env
    "id_rsa.pub",
    ".ssh/id_ed25519.pub",
    ".ssh/known_hosts",
    ".ssh/authorized_keys",
    "etc/ssh/ssh_host_rsa_key.pub",
    ".aws/config",  # keys written there are found by content
    "aws/credentials.py",
    "credentials.py",
    "credentials.json.example",
    "src/credentials/__init__.py",
    "auth.json",  # too generic a name: content rules
    "secrets.yml",
    "config/secrets.yaml",
    "settings.py",
    "truststore.jks",
    "cacerts.jks",
    "docker/config.json",  # not under .docker/
    ".kube/cache/discovery.json",
    "kubeconfig.go",
    "tfstate.md",
    "terraform.tfvars",
    "package.json",
    "token.txt",
    "publickey.pem.pub",
]


@pytest.mark.parametrize(("relpath", "rule_id"), CREDENTIAL_FILES)
def test_credential_files_by_name(relpath: str, rule_id: str) -> None:
    found = credential_file(relpath)
    assert found is not None and found.id == rule_id, relpath


@pytest.mark.parametrize("relpath", NOT_CREDENTIAL_FILES)
def test_look_alikes_are_not_credential_files(relpath: str) -> None:
    assert credential_file(relpath) is None


def test_every_rule_has_a_positive_case() -> None:
    assert {r.id for r in file_rules()} == {rule_id for _, rule_id in CREDENTIAL_FILES}


def test_rules_are_documented() -> None:
    ids = [r.id for r in file_rules()]
    assert len(ids) == len(set(ids))
    for item in file_rules():
        assert re.fullmatch(r"RF-FILE-[A-Z0-9-]+", item.id)
        assert item.title.endswith(".") and "\n" not in item.title
        assert item.id in (credfiles.__doc__ or ""), f"{item.id} is missing from the module docstring"


# (path, content, still a credential file?)
CONFIRMED_BY_CONTENT = [
    ("server.pem", pem("PRIVATE KEY"), True),
    ("server.pem", pem("CERTIFICATE") + pem("RSA PRIVATE KEY"), True),
    ("server.pem", pem("EC PARAMETERS") + pem("EC PRIVATE KEY"), True),
    ("ca.pem", pem("CERTIFICATE"), False),
    ("chain.pem", pem("CERTIFICATE") + pem("CERTIFICATE"), False),
    ("pub.pem", pem("PUBLIC KEY"), False),
    ("server.key", pem("ENCRYPTED PRIVATE KEY"), True),
    ("master.key", b"0f3b" * 8 + b"\n", True),  # Rails' master key: no PEM, a secret
    ("server.key", pem("PUBLIC KEY"), False),
    ("unknown.pem", pem("SOMETHING ELSE"), True),
    (".npmrc", b"//registry.npmjs.org/:_authToken=abc123def456\n", True),
    (".npmrc", b"registry=https://registry.npmjs.org/\nsave-exact=true\n", False),
    (".npmrc", b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", False),
    (".yarnrc.yml", b'npmAuthToken: "abc123def456"\n', True),
    (".pypirc", b"[pypi]\nusername = __token__\npassword = pypi-abc\n", True),
    (".pypirc", b"[distutils]\nindex-servers = pypi\n", False),
    (".docker/config.json", b'{"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}}', True),
    (".docker/config.json", b'{"credsStore": "desktop", "auths": {"ghcr.io": {}}}', False),
    (".kube/config", b"users:\n- name: me\n  user:\n    token: abc\n", True),
    (".kube/config", b"users:\n- name: me\n  user:\n    exec:\n      command: aws\n", False),
    (".my.cnf", b"[client]\npassword = hunter22\n", True),
    (".my.cnf", b"[client]\nhost = db\n", False),
    ("office.ovpn", b"client\n<key>\n...\n</key>\n", True),
    ("office.ovpn", b"client\nauth-user-pass\n", False),
    (".env", b"DEBUG=1\n", True),  # not confirmed by content: a .env always is one
]


@pytest.mark.parametrize(("relpath", "data", "flagged"), CONFIRMED_BY_CONTENT)
def test_confirmed_by_content(relpath: str, data: bytes, flagged: bool) -> None:
    assert (credential_file(relpath, data) is not None) == flagged
    assert credential_file(relpath) is not None  # unread, it fails closed


def test_is_public_only() -> None:
    assert is_public_only(pem("CERTIFICATE"))
    assert is_public_only(pem("CERTIFICATE") + pem("X509 CRL") + pem("PUBLIC KEY"))
    assert not is_public_only(pem("CERTIFICATE") + pem("OPENSSH PRIVATE KEY"))
    assert not is_public_only(b"")
    assert not is_public_only(b"\x30\x82\x01\x0a")  # DER: cannot tell


def jks(*tags: int) -> bytes:
    """A minimal Java key store with entries of the given tags (1 key, 2 trusted cert)."""
    out = b"\xfe\xed\xfe\xed" + (2).to_bytes(4, "big") + len(tags).to_bytes(4, "big")
    for tag in tags:
        alias = b"alias"
        out += tag.to_bytes(4, "big") + len(alias).to_bytes(2, "big") + alias + bytes(8)
        if tag == 2:
            out += (5).to_bytes(2, "big") + b"X.509" + (3).to_bytes(4, "big") + b"\x30\x01\x00"
        else:
            out += (4).to_bytes(4, "big") + b"\x00\x01\x02\x03" + (0).to_bytes(4, "big")
    return out + bytes(20)


@pytest.mark.parametrize(
    ("data", "flagged"),
    [
        (jks(2), False),
        (jks(2, 2, 2), False),
        (jks(2, 1), True),
        (jks(1), True),
        (jks(2)[:20], True),  # truncated: fail closed
        (b"\x30\x82\x0a\x00", True),  # PKCS#12: cannot tell
    ],
)
def test_java_key_stores_of_trusted_certificates_only_are_not_credentials(data: bytes, flagged: bool) -> None:
    assert (credential_file("app.jks", data) is not None) == flagged
