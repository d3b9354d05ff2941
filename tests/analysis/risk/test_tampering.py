from __future__ import annotations

import pytest

from tests.analysis.risk._table import check_benign, check_dangerous

DANGEROUS = [
    ("sudo ufw disable", "RF-TAMP-001"),
    ("ufw reset", "RF-TAMP-001"),
    ("iptables -F", "RF-TAMP-001"),
    ("iptables -P INPUT ACCEPT", "RF-TAMP-001"),
    ("nft flush ruleset", "RF-TAMP-001"),
    ("systemctl stop firewalld", "RF-TAMP-001"),
    ("sudo pfctl -d", "RF-TAMP-001"),
    ("setenforce 0", "RF-TAMP-002"),
    ("sudo aa-teardown", "RF-TAMP-002"),
    ("systemctl disable apparmor", "RF-TAMP-002"),
    ("csrutil disable", "RF-TAMP-002"),
    ("spctl --master-disable", "RF-TAMP-002"),
    ("sed -i 's/enforcing/disabled/' /etc/selinux/config", "RF-TAMP-002"),
    ("auditctl -e 0", "RF-TAMP-003"),
    ("systemctl stop auditd", "RF-TAMP-003"),
    ("journalctl --vacuum-time=1s", "RF-TAMP-003"),
    ("rm -rf /var/log/*", "RF-TAMP-003"),
    (": > /var/log/auth.log", "RF-TAMP-003"),
    ("echo '[permissions]' > ringfence.toml", "RF-TAMP-004"),
    ("rm .claude/settings.json", "RF-TAMP-004"),
    ("sed -i '/deny/d' .claude/settings.local.json", "RF-TAMP-004"),
    ("cp allow-all.json ~/.claude/settings.json", "RF-TAMP-004"),
    ("echo x > ~/.config/ringfence/policy.toml", "RF-TAMP-004"),
    ("sudo rm -rf /etc/ringfence", "RF-TAMP-004"),
    ("echo '#!/bin/sh' > .claude/hooks/guard.py", "RF-TAMP-004"),
    ("mv .claude/settings.json /tmp/", "RF-TAMP-004"),
    ("history -c", "RF-TAMP-005"),
    ("unset HISTFILE", "RF-TAMP-005"),
    ("export HISTFILE=/dev/null", "RF-TAMP-005"),
    ("HISTSIZE=0", "RF-TAMP-005"),
    ("set +o history", "RF-TAMP-005"),
    ("rm ~/.bash_history", "RF-TAMP-005"),
    ("ln -sf /dev/null ~/.zsh_history", "RF-TAMP-005"),
    ("> ~/.bash_history", "RF-TAMP-005"),
    ("LD_PRELOAD=/tmp/x.so ls", "RF-TAMP-006"),
    ("export LD_PRELOAD=./hook.so", "RF-TAMP-006"),
    ("BASH_ENV=/tmp/x bash -c ls", "RF-TAMP-006"),
    ("export PROMPT_COMMAND='curl x'", "RF-TAMP-006"),
    ("DYLD_INSERT_LIBRARIES=x.dylib app", "RF-TAMP-006"),
    ("HTTPS_PROXY= curl https://x.io", "RF-TAMP-007"),
    ("unset HTTPS_PROXY HTTP_PROXY", "RF-TAMP-007"),
    ("export NO_PROXY='*'", "RF-TAMP-007"),
    ("curl --noproxy '*' https://x.io", "RF-TAMP-007"),
    ("env -u HTTPS_PROXY curl https://x.io", "RF-TAMP-007"),
    ("git config --global http.sslVerify false", "RF-TAMP-008"),
    ("npm config set strict-ssl false", "RF-TAMP-008"),
    ("NODE_TLS_REJECT_UNAUTHORIZED=0 node app.js", "RF-TAMP-008"),
]

BENIGN = [
    "ufw status",
    "sudo iptables -L -n",
    "nft list ruleset",
    "systemctl status firewalld",
    "getenforce",
    "aa-status",
    "journalctl -u nginx --since today",
    "tail -f /var/log/syslog",
    "cat ringfence.toml",
    "cat .claude/settings.json",
    "ringfence check -- ls",
    "history | tail",
    "echo $HISTFILE",
    "LD_LIBRARY_PATH=./lib ./app",
    "export PATH=$HOME/.local/bin:$PATH",
    "echo $HTTPS_PROXY",
    "NO_PROXY=localhost,127.0.0.1 curl http://localhost:8000",
    "curl -x http://proxy:3128 https://x.io",
    "git config --global pull.rebase true",
    "npm config set registry https://registry.npmjs.org/",
    "rm -rf build/logs",
    "echo done > logs/app.log",
    "systemctl restart app",
]


@pytest.mark.parametrize(("command", "rule_id"), DANGEROUS)
def test_dangerous(command: str, rule_id: str) -> None:
    check_dangerous(command, rule_id, "tampering")


@pytest.mark.parametrize("command", BENIGN)
def test_benign(command: str) -> None:
    check_benign(command, "tampering")


def test_table_sizes() -> None:
    assert len(DANGEROUS) >= 15 and len(BENIGN) >= 15
