from __future__ import annotations

import pytest

from tests.analysis.risk._table import check_benign, check_dangerous, family_findings

DANGEROUS = [
    ("docker run --rm -v /etc:/mnt/etc alpine sh", "RF-PRIV-007"),
    ("podman run -it --volume=/root:/r:rw busybox", "RF-PRIV-007"),
    ("docker run --mount type=bind,source=/var/run,target=/x ubuntu", "RF-PRIV-007"),
    ("nsenter -t 1 -m -u -n -i sh", "RF-PRIV-009"),
    ("sudo nsenter --target 1 --all", "RF-PRIV-009"),
    ("unshare --map-root-user --user sh", "RF-PRIV-009"),
    ("unshare -r -n python3 x.py", "RF-PRIV-009"),
    ("systemd-run --user --scope bash", "RF-PRIV-009"),
    ("newgrp wheel", "RF-PRIV-009"),
    ("sg docker -c 'docker ps'", "RF-PRIV-009"),
    ("""kubectl run x --image=busybox --overrides='{"spec":{"hostNetwork": true}}'""", "RF-PRIV-009"),
    ("kubectl debug node/worker-1 -it --image=busybox", "RF-PRIV-009"),
    ("find /usr -perm /4000 2>/dev/null", "RF-PRIV-010"),
    ("find / -type f -perm -u=s", "RF-PRIV-010"),
    ("getcap -r /usr/bin", "RF-PRIV-010"),
    ("sudo rm -rf /tmp/x", "RF-PRIV-001"),
    ("sudo -u root -E make install", "RF-PRIV-001"),
    ("doas vi /etc/hosts", "RF-PRIV-001"),
    ("pkexec --user root id", "RF-PRIV-001"),
    ("echo x | sudo tee /etc/apt/sources.list", "RF-PRIV-001"),
    ("timeout 5 sudo ls", "RF-PRIV-001"),
    ("find . -exec sudo chown me {} +", "RF-PRIV-001"),
    ("sudo bash -c 'id'", "RF-PRIV-001"),
    ("su -c 'id' root", "RF-PRIV-001"),
    ("su -", "RF-PRIV-002"),
    ("su root", "RF-PRIV-002"),
    ("sudo -i", "RF-PRIV-002"),
    ("sudo -s", "RF-PRIV-002"),
    ("sudo su", "RF-PRIV-002"),
    ("sudoedit /etc/ssh/sshd_config", "RF-PRIV-002"),
    ("sudo -v", "RF-PRIV-002"),
    ("pkexec", "RF-PRIV-002"),
    ("chmod u+s /usr/local/bin/tool", "RF-PRIV-003"),
    ("chmod 4755 ./bin", "RF-PRIV-003"),
    ("chmod g+s dir", "RF-PRIV-003"),
    ("chmod +s helper", "RF-PRIV-003"),
    ("chmod 6755 x", "RF-PRIV-003"),
    ("install -m 4755 build/tool /usr/local/bin/tool", "RF-PRIV-003"),
    ("setcap cap_net_raw+ep ./ping", "RF-PRIV-004"),
    ("setcap 'cap_sys_admin=eip' /usr/bin/python3", "RF-PRIV-004"),
    ("chown root:root /usr/local/bin/tool", "RF-PRIV-005"),
    ("chown 0:0 file", "RF-PRIV-005"),
    ("chgrp root f", "RF-PRIV-005"),
    ("visudo", "RF-PRIV-006"),
    ("echo 'me ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers.d/me", "RF-PRIV-006"),
    ("usermod -aG sudo me", "RF-PRIV-006"),
    ("usermod -a -G docker me", "RF-PRIV-006"),
    ("gpasswd -a me wheel", "RF-PRIV-006"),
    ("adduser me sudo", "RF-PRIV-006"),
    ("passwd root", "RF-PRIV-006"),
    ("docker run --privileged -it ubuntu", "RF-PRIV-007"),
    ("docker run -v /:/host alpine chroot /host", "RF-PRIV-007"),
    ("docker run -v /var/run/docker.sock:/var/run/docker.sock img", "RF-PRIV-007"),
    ("podman run --pid=host img", "RF-PRIV-007"),
    ("docker run --cap-add=SYS_ADMIN img", "RF-PRIV-007"),
]

BENIGN = [
    'docker run --rm -v "$PWD":/app -w /app node:20 npm test',
    "docker run --rm -v ./data:/data alpine ls /data",
    "find . -perm -u+x -type f -name '*.sh'",
    "find . -perm 644 -name '*.py'",
    "kubectl run tmp --rm -it --image=busybox -- sh",
    "kubectl debug pod/api-1 -it --image=busybox",
    "getcap /usr/bin/ping",
    "unshare --help",
    "chmod +x script.sh",
    "chmod 755 dir",
    "chmod 0644 file",
    "chmod u+x,g-w f",
    "chmod 1777 /tmp/shared",
    "chmod -R u+rwX .",
    "chown me:me file",
    "chown -R $USER build",
    "echo sudo is not used here",
    "git commit -m 'use sudo less'",
    "man sudo",
    "which sudo su",
    "grep -r sudo docs/",
    "sudo_helper --check",
    "getcap /usr/bin/ping",
    "setcap -r ./ping",
    "id -u && groups",
    "ls /etc/sudoers.d",
    "usermod -aG audio me",
    "docker run --rm -v $PWD:/work -w /work img make",
    "docker run --rm alpine echo hi",
    "install -m 755 build/tool ~/.local/bin/tool",
    "stat -c %a file",
    "cat README | grep privilege",
    "sudo -k",
]


@pytest.mark.parametrize(("command", "rule_id"), DANGEROUS)
def test_dangerous(command: str, rule_id: str) -> None:
    check_dangerous(command, rule_id, "privilege")


@pytest.mark.parametrize("command", BENIGN)
def test_benign(command: str) -> None:
    check_benign(command, "privilege")


def test_sudo_list_is_asked_as_a_survey() -> None:
    found = family_findings("sudo -l", "privilege")
    assert [(f.rule, f.severity.name) for f in found] == [("RF-PRIV-010", "MEDIUM")]


def test_table_sizes() -> None:
    assert len(DANGEROUS) >= 15 and len(BENIGN) >= 15
