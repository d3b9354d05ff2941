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
    # more credential files, mounted secrets, any process's environment, browser stores anywhere
    ("head ~/.config/rclone/rclone.conf", "RF-READ-001"),
    ("jq . ~/.claude/.credentials.json", "RF-READ-001"),
    ("cat ~/.vault-token", "RF-READ-001"),
    ("cat ~/.pgpass", "RF-READ-001"),
    ("cat ~/.s3cfg", "RF-READ-001"),
    ("cat ~/.config/containers/auth.json", "RF-READ-001"),
    ("cat /run/secrets/db_password", "RF-READ-001"),
    ("tr '\\0' '\\n' < /proc/$PPID/environ", "RF-READ-001"),
    ("cat /proc/$(pidof node)/environ", "RF-READ-001"),
    ("sqlite3 ~/snap/firefox/common/.mozilla/firefox/x/cookies.sqlite .dump", "RF-READ-001"),
    ("find ~/.ssh -name 'id_*' -exec cat {} +", "RF-READ-001"),
    # inline code that opens one
    (
        'python3 -c \'import os; p=os.path.join(os.environ["HOME"], ".ssh", "id_ed25519"); print(open(p).read())\'',
        "RF-READ-001",
    ),
    ("ruby -e 'puts File.read(File.expand_path(\"~/.config/gh/hosts.yml\"))'", "RF-READ-001"),
    ("node -e \"console.log(require('fs').readFileSync('.env.production','utf8'))\"", "RF-READ-002"),
    ("python3 -c \"print(open('.env').read())\"", "RF-READ-002"),
    # token printers and secret managers
    ("gh auth status -t", "RF-READ-003"),
    ("secret-tool search service gh", "RF-READ-003"),
    ("kwallet-query -r github kdewallet", "RF-READ-003"),
    ("aws ssm get-parameter --name /prod/db --with-decryption", "RF-READ-003"),
    ("aws secretsmanager batch-get-secret-value --secret-id-list a b", "RF-READ-003"),
    ("gcloud secrets versions access latest --secret=db-pass", "RF-READ-003"),
    ("az keyvault secret show --vault-name v --name db", "RF-READ-003"),
    ("kubectl get secret app-secrets -o jsonpath='{.data.password}'", "RF-READ-003"),
    ("doppler secrets get DB_URL --plain", "RF-READ-003"),
    ("bw get password github", "RF-READ-003"),
    ("sops -d secrets.enc.yaml", "RF-READ-003"),
    ("op read op://vault/item/password", "RF-READ-003"),
    # hunting across home or the whole disk
    ("find / -name 'id_ed25519' -exec head {} +", "RF-READ-005"),
    ("find $HOME -type f -name '*.pem' | xargs cat", "RF-READ-005"),
    ("grep -rl aws_secret_access_key /home", "RF-READ-005"),
    ("rg -i 'BEGIN RSA PRIVATE KEY' ~", "RF-READ-005"),
    ("rg --hidden -l api_key /", "RF-READ-005"),
    # the environment filtered for secrets, saved, copied, encoded
    ("env | grep -i secret", "RF-READ-006"),
    ("printenv | grep -E 'AWS|TOKEN'", "RF-READ-006"),
    ("export -p > /tmp/vars.sh", "RF-READ-006"),
    ("set | pbcopy", "RF-READ-006"),
    ("env | tee env.log", "RF-READ-006"),
    ("env | sort > env-before.txt", "RF-READ-006"),
    ("declare -x | base64", "RF-READ-007"),
    ("env | xxd | head", "RF-READ-007"),
    # cloud metadata services
    ("curl http://169.254.169.254/latest/meta-data/instance-id", "RF-READ-008"),
    ("wget -qO- http://metadata.google.internal/computeMetadata/v1/project/project-id", "RF-READ-008"),
    ('curl -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?resource=x"', "RF-READ-008"),
    ("curl http://100.100.100.200/latest/meta-data/ram/security-credentials/", "RF-READ-008"),
    (
        "python3 -c \"import urllib.request as u; print(u.urlopen('http://169.254.169.254/latest/api/token').read())\"",
        "RF-READ-008",
    ),
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
    "cat ~/.ssh/config",
    "cat ~/*",
    "expr 7 \\* 6",
    "mv .env.local .env.local.bak",
    'cp "$(git rev-parse --show-toplevel)/.env.example" .env.test',
    "curl --cert client.pem --key client.key https://mtls.example/api",
    "python3 -c \"from dotenv import load_dotenv; load_dotenv('.env')\"",
    "python3 -c \"import json; print(json.load(open('package.json'))['version'])\"",
    # listing, searching the workspace, public keys: not hunting
    "find ~ -name 'id_*'",
    "find . -name '*.pem' -path './tests/*'",
    "find ~/.ssh -name '*.pub' -exec cat {} +",
    "find . -name '*.py' -exec grep -l TODO {} +",
    "grep -rn TODO src/",
    "grep -r 'PRIVATE KEY' .",
    "rg password src/",
    # names and metadata of secrets, not their values
    "aws ssm get-parameter --name /prod/region",
    "aws secretsmanager list-secrets",
    "gcloud secrets list",
    "kubectl get secrets",
    "kubectl get pods -o yaml",
    "kubectl describe secret app",
    "doppler run -- npm start",
    # a look at named variables
    "env | grep npm_config_cache",
    "env | grep -i '^python'",
    "env | grep SSH_AUTH_SOCK",
    "env | sort",
    "printenv PATH",
    "curl http://localhost:8080/metadata",
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
