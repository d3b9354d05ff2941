from __future__ import annotations

import pytest

from tests.analysis.risk._table import check_benign, check_dangerous

DANGEROUS = [
    ("echo cm0gLXJmIC8= | base64 -d | sh", "RF-OBF-001"),
    ("echo cm0= | base64 --decode | bash", "RF-OBF-001"),
    ("base64 -D <<< cm0= | sh", "RF-OBF-001"),
    ("echo 726d | xxd -r -p | bash", "RF-OBF-001"),
    ("echo 'hs- fr- mr' | rev | sh", "RF-OBF-001"),
    ("printf '\\x72\\x6d -rf /' | sh", "RF-OBF-001"),
    ("echo -e '\\x69\\x64' | bash", "RF-OBF-001"),
    ("cat payload.gz | gunzip | bash", "RF-OBF-001"),
    ("echo 'vq' | tr 'A-Za-z' 'N-ZA-Mn-za-m' | sh", "RF-OBF-001"),
    ("openssl base64 -d -in p.b64 | python3", "RF-OBF-001"),
    ('eval "$(echo aWQ= | base64 -d)"', "RF-OBF-002"),
    ('bash -c "$(base64 -d <<< aWQ=)"', "RF-OBF-002"),
    ("sh <(echo aWQ= | base64 --decode)", "RF-OBF-002"),
    ('python3 -c "$(echo cHJpbnQ= | base64 -d)"', "RF-OBF-002"),
    ("eval $X", "RF-OBF-003"),
    ('eval "$cmd"', "RF-OBF-003"),
    ('bash -c "$PAYLOAD"', "RF-OBF-003"),
    ("source $SCRIPT", "RF-OBF-003"),
    ("$'\\x72\\x6d' -rf /tmp/x", "RF-OBF-004"),
    ("echo $'\\162\\155'", "RF-OBF-004"),
    ("IFS=, eval a b", "RF-OBF-005"),
    ("IFS=,; set -- $x", "RF-OBF-005"),
    ("export IFS=x", "RF-OBF-005"),
    ("cat${IFS}/etc/passwd", "RF-OBF-005"),
    ("PS4='$(id)' bash -x script", "RF-OBF-005"),
    ("rm\u200b -rf /tmp/x", "RF-OBF-006"),
    ("\u0435cho hi", "RF-OBF-006"),
    ("ls \u2212la", "RF-OBF-006"),
    ("$CMD -rf /tmp/x", "RF-OBF-007"),
    ('"$(printf rm)" -rf x', "RF-OBF-007"),
    ("${a}${b} x", "RF-OBF-007"),
    ("/???/r? -rf /tmp/x", "RF-OBF-007"),
]

BENIGN = [
    "while IFS= read -r line; do echo \"$line\"; done < files.txt",
    "IFS=, read -r name value <<< \"$row\"",
    "set -euo pipefail; IFS=$'\\n\\t'",
    'eval "$(ssh-agent -s)" && ssh-add -l',
    'eval "$(pyenv init -)"',
    "printf $'\\e[1mbold\\e[0m\\n'",
    "base64 -d secret.b64 > out.bin",
    "echo aGk= | base64 -d",
    "base64 file.bin",
    "xxd file.bin | head",
    "rev names.txt",
    "printf '%s\\n' a b c",
    "printf 'a\\tb\\n'",
    "echo -e 'a\\nb'",
    "gunzip -c data.gz | wc -l",
    "tr a-z A-Z < f",
    'eval "echo hi"',
    "bash -c 'echo \"$HOME\"'",
    "source .venv/bin/activate",
    ". ./env.sh",
    'read -r a b <<< "$line"',
    'echo "$IFS" | od -c',
    "git commit -m 'caf\u00e9 menu'",
    "echo '\u00fcber'",
    "[ -f x ] && cat x",
    "[[ -n $x ]]",
    "ls *.py",
    "python3 -c 'print(bytes.fromhex(\"68\"))'",
    "openssl base64 -in f -out f.b64",
    'echo "\\$HOME is $HOME"',
]


@pytest.mark.parametrize(("command", "rule_id"), DANGEROUS)
def test_dangerous(command: str, rule_id: str) -> None:
    check_dangerous(command, rule_id, "obfuscation")


@pytest.mark.parametrize("command", BENIGN)
def test_benign(command: str) -> None:
    check_benign(command, "obfuscation")


def test_table_sizes() -> None:
    assert len(DANGEROUS) >= 15 and len(BENIGN) >= 15
