from __future__ import annotations

import pytest

from tests.analysis.risk._table import check_benign, check_dangerous, family_findings

DANGEROUS = [
    ("cat ~/.ssh/id_rsa", "RF-READ-001"),
    ("cat /home/me/.ssh/id_ed25519", "RF-READ-001"),
    ("tar czf keys.tgz ~/.ssh", "RF-READ-001"),
    ("cp -r ~/.ssh ./backup", "RF-READ-001"),
    ("head -5 ~/.aws/credentials", "RF-READ-001"),
    ("grep secret ~/.aws/config", "RF-READ-001"),
    ("cat ~/.config/gcloud/application_default_credentials.json", "RF-READ-001"),
    ("cat ~/.kube/config", "RF-READ-001"),
    ("jq . ~/.docker/config.json", "RF-READ-001"),
    ("cat ~/.netrc", "RF-READ-001"),
    ("cat ~/.git-credentials", "RF-READ-001"),
    ("cat ~/.config/gh/hosts.yml", "RF-READ-001"),
    ("cat ~/.npmrc ~/.pypirc", "RF-READ-001"),
    ("cat /proc/1/environ", "RF-READ-001"),
    ("strings /proc/self/environ", "RF-READ-001"),
    ("sudo cat /etc/shadow", "RF-READ-001"),
    ("sqlite3 ~/.mozilla/firefox/abc.default/cookies.sqlite .dump", "RF-READ-001"),
    ("cp ~/.config/google-chrome/Default/Login\\ Data /tmp/x", "RF-READ-001"),
    ("ls ~/Library/Keychains && cat ~/Library/Keychains/login.keychain-db", "RF-READ-001"),
    ("base64 < ~/.ssh/id_rsa", "RF-READ-001"),
    ("cat ~/.gnupg/private-keys-v1.d/x.key", "RF-READ-001"),
    ('echo "$(< ~/.ssh/id_rsa)"', "RF-READ-001"),
    ("cat ~/.s*/id_*", "RF-READ-001"),
    ("cat /proc/*/environ", "RF-READ-001"),
    ("k=~/.aws/credentials; cat $k", "RF-READ-001"),
    ("cat .env", "RF-READ-002"),
    ("grep KEY .env.production", "RF-READ-002"),
    ("cat ~/.bash_history", "RF-READ-002"),
    ("cat certs/server.key", "RF-READ-002"),
    ("gh auth token", "RF-READ-003"),
    ("gcloud auth print-access-token", "RF-READ-003"),
    ("aws configure export-credentials", "RF-READ-003"),
    ("aws ecr get-login-password --region eu-west-1", "RF-READ-003"),
    ("kubectl config view --raw", "RF-READ-003"),
    ("security find-generic-password -s github -w", "RF-READ-003"),
    ("secret-tool lookup service x", "RF-READ-003"),
    ("echo url=https://github.com | git credential fill", "RF-READ-003"),
    ("gpg --export-secret-keys -a me", "RF-READ-003"),
]

BENIGN = [
    "ls -la ~/.ssh",
    "cat ~/.ssh/id_ed25519.pub",
    "cat ~/.ssh/known_hosts",
    "ssh -i ~/.ssh/id_ed25519 host uptime",
    "scp -i ~/.ssh/deploy build.tgz host:/srv/",
    "ssh-add ~/.ssh/id_ed25519",
    "chmod 600 ~/.ssh/id_rsa",
    "aws s3 ls",
    "kubectl --kubeconfig ~/.kube/config get pods",
    "gcloud config list",
    "gh auth status",
    "cat .env.example",
    "cp .env.example .env",
    "cat /etc/hosts",
    "cat /proc/cpuinfo",
    "cat README.md",
    "grep -r token src/",
    "git config --get user.email",
    "docker login ghcr.io -u me --password-stdin < token.txt",
    "echo $HOME/.aws/credentials",
    "test -f ~/.aws/credentials && echo yes",
    "wc -l ~/.bash_history",
    "kubectl config view",
]


@pytest.mark.parametrize(("command", "rule_id"), DANGEROUS)
def test_dangerous(command: str, rule_id: str) -> None:
    check_dangerous(command, rule_id, "sensitive_reads")


@pytest.mark.parametrize("command", BENIGN)
def test_benign(command: str) -> None:
    check_benign(command, "sensitive_reads")


def test_printing_the_environment_is_a_note() -> None:
    found = family_findings("env", "sensitive_reads")
    assert [(f.rule, f.severity.name) for f in found] == [("RF-READ-004", "LOW")]
    assert family_findings("env FOO=1 make", "sensitive_reads") == []


def test_table_sizes() -> None:
    assert len(DANGEROUS) >= 15 and len(BENIGN) >= 15
