from __future__ import annotations

import pytest

from tests.analysis.risk._table import check_benign, check_dangerous

DANGEROUS = [
    ("rm -rf /", "RF-DEST-001"),
    ("T=/; rm -rf $T", "RF-DEST-001"),
    ("ssh prod 'rm -rf ~'", "RF-DEST-001"),  # on another machine: still a finding  # a value the command sets itself
    ("D=build; [ -n \"$CI\" ] || D=~; rm -rf \"$D\"", "RF-DEST-001"),  # every value it may hold
    ("rm -rf /*", "RF-DEST-001"),
    ("rm -fr ~", "RF-DEST-001"),
    ("rm -rf ~/", "RF-DEST-001"),
    ("rm -rf $HOME", "RF-DEST-001"),
    ('rm -rf "${HOME}"', "RF-DEST-001"),
    ("rm -r --force /usr", "RF-DEST-001"),
    ("rm -rf /etc/", "RF-DEST-001"),
    ("rm --no-preserve-root -rf /", "RF-DEST-001"),
    ("sudo /bin/rm -rf /var", "RF-DEST-001"),
    ("cd /tmp && timeout 5 rm -R /home", "RF-DEST-001"),
    ("bash -c 'rm -rf /'", "RF-DEST-001"),
    ("python3 -c \"import os; os.system('rm -rf ~')\"", "RF-DEST-001"),
    ("rm -rf /home/alice", "RF-DEST-001"),
    ("rm -rf .", "RF-DEST-002"),
    ("rm -rf ./", "RF-DEST-002"),
    ("rm -rf *", "RF-DEST-002"),
    ("rm -rf ..", "RF-DEST-002"),
    ("rm -rf ../..", "RF-DEST-002"),
    ('rm -rf "$PWD"', "RF-DEST-002"),
    ("rm -rf ~/.ssh", "RF-DEST-002"),
    ("rm /etc/passwd", "RF-DEST-002"),
    ("rm -f /usr/bin/python3", "RF-DEST-002"),
    ('rm -rf "$DIR/"', "RF-DEST-003"),
    ("rm -rf $(mktemp -d)/..", "RF-DEST-003"),
    ("dd if=/dev/zero of=/dev/sda bs=1M", "RF-DEST-004"),
    ("dd if=image.iso of=/dev/nvme0n1", "RF-DEST-004"),
    ("cat image > /dev/sdb", "RF-DEST-004"),
    ("cp disk.img /dev/mmcblk0", "RF-DEST-004"),
    ("mkfs.ext4 /dev/sdb1", "RF-DEST-005"),
    ("mkfs -t xfs /dev/vdb", "RF-DEST-005"),
    ("wipefs -a /dev/sda", "RF-DEST-005"),
    ("mkswap /dev/sda2", "RF-DEST-005"),
    ("fdisk /dev/sda", "RF-DEST-006"),
    ("parted /dev/sda mklabel gpt", "RF-DEST-006"),
    ("shred -u secrets.txt", "RF-DEST-007"),
    ("shred -n 3 -z /dev/sda", "RF-DEST-008"),
    ("find / -name '*.log' -delete", "RF-DEST-009"),
    ("find ~ -type f -exec rm {} +", "RF-DEST-009"),
    ("find . -delete", "RF-DEST-010"),
    ("find src -exec rm -f {} \\;", "RF-DEST-010"),
    ("truncate -s 0 /etc/passwd", "RF-DEST-011"),
    (": > /etc/hosts", "RF-DEST-011"),
    ("> /etc/shadow", "RF-DEST-011"),
    ("echo 1 > /proc/sys/kernel/sysrq", "RF-DEST-011"),
    ("cp /dev/null /etc/resolv.conf", "RF-DEST-011"),
    ("chmod -R 777 /", "RF-DEST-012"),
    ("chown -R me /usr", "RF-DEST-012"),
    ("mv ~ /tmp/old-home", "RF-DEST-012"),
    ("shutdown -h now", "RF-DEST-013"),
    ("sudo reboot", "RF-DEST-013"),
    ("systemctl poweroff", "RF-DEST-013"),
    ("kill -9 -1", "RF-DEST-013"),
    (":(){ :|:& };:", "RF-DEST-014"),
    ("cd ~ && rm -rf *", "RF-DEST-015"),
    ("cd / ; rm -rf .", "RF-DEST-015"),
    ("cd && rm -rf ./*", "RF-DEST-015"),
    ("cd /etc && sudo rm -r *", "RF-DEST-015"),
]

BENIGN = [
    'OUT=build; rm -rf "$OUT" && mkdir -p "$OUT"',
    "for d in build dist .pytest_cache; do rm -rf \"$d\"; done",
    "rm -rf node_modules build dist",
    "cd build && rm -rf *",
    "cd ~/projects/app && rm -rf ./dist",
    "rm -rf ./tmp",
    "rm -rf /tmp/build-123",
    "rm -f *.o",
    "rm -rf ./build/*",
    "rm -rf ~/.cache/pip",
    "rm -rf .venv .pytest_cache",
    "rm file.txt",
    "rm -r ../other-project/build",
    "git rm -r --cached dir",
    "dd if=/dev/zero of=disk.img bs=1M count=10",
    "dd if=x.bin of=/dev/null",
    "find . -name '*.pyc' -delete",
    "find /tmp/work -type f -mtime +7 -delete",
    "find . -name '*.orig' -exec rm {} +",
    "echo rm -rf /",
    "git commit -m 'rm -rf / is dangerous'",
    "mkdir -p build && cd build",
    "truncate -s 0 app.log",
    ": > build.log",
    "make clean",
    "cargo clean",
    "ls / && du -sh ~",
    "chmod -R u+w build",
    "mv build dist",
    "echo hi > /dev/null",
    "kill -9 1234",
    "systemctl status nginx",
    "mkfs_helper_doc --help",
    "grep -r shred docs",
]


@pytest.mark.parametrize(("command", "rule_id"), DANGEROUS)
def test_dangerous(command: str, rule_id: str) -> None:
    check_dangerous(command, rule_id, "destructive")


@pytest.mark.parametrize("command", BENIGN)
def test_benign(command: str) -> None:
    check_benign(command, "destructive")


def test_table_sizes() -> None:
    assert len(DANGEROUS) >= 15 and len(BENIGN) >= 15
