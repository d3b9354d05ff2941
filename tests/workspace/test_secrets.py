"""Secrets by content: a positive case for every rule with the exact span of the value,
decoys for every kind of placeholder, checksums, multi-line keys, overlaps, and speed.

Fake secrets are built from pieces and a seeded generator, so this file holds nothing
that reads as a live secret to another scanner."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import random
import re
import string
import time
from pathlib import Path

import pytest

from ringfence.workspace import secrets
from ringfence.workspace.secrets import Hit, format_for, scan_text, secret_name, secret_rules

_RNG = random.Random(5)
ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "-_"
BASE64 = ALNUM + "+/"


def rand(n: int, alphabet: str = ALNUM) -> str:
    """A random string of every kind of character the alphabet has (a real token's shape)."""
    while True:
        value = "".join(_RNG.choice(alphabet) for _ in range(n))
        if not re.search(r"(?i)example|dummy|fake|sample|your|placeholder|redacted|x{5}|(.)\1{7}", value):
            return value


def crc_b62(payload: str) -> str:
    """GitHub's and npm's checksum: CRC32 of the random part, six base62 digits."""
    number = binascii.crc32(payload.encode())
    digits = ""
    for _ in range(6):
        number, digit = divmod(number, 62)
        digits = B62[digit] + digits
    return digits


def checksummed(prefix: str, valid: bool = True) -> str:
    body = rand(30)
    check = crc_b62(body)
    if not valid:
        check = check[1:] + ("A" if check[0] != "A" else "B")
    return prefix + body + check


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(header: dict[str, str], payload: dict[str, object]) -> str:
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), rand(43, URLSAFE)])


DASHES = "-" * 5


def pem_block(label: str, lines: int = 4, indent: str = "") -> str:
    body = [indent + rand(64, BASE64) for _ in range(lines)] + [indent + rand(20, BASE64) + "=="]
    return "\n".join([f"{DASHES}BEGIN {label}{DASHES}", *body, indent + f"{DASHES}END {label}{DASHES}"])


# Values, built once.
GITHUB = checksummed("gh" + "p_")
GITHUB_BAD = checksummed("gh" + "p_", valid=False)
NPM = checksummed("np" + "m_")
NPM_BAD = checksummed("np" + "m_", valid=False)
AWS_ID = "AK" + "IA" + rand(16, string.ascii_uppercase + "234567")
AWS_SECRET = rand(40, BASE64)
DB_PASSWORD = rand(14)
AZURE_KEY = rand(86, BASE64) + "=="
DISCORD = b64url(b"123456789012345678") + "." + rand(6, URLSAFE) + "." + rand(38, URLSAFE)
JWT = jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "42", "role": "admin"})
PRIVATE_KEY = pem_block("RSA " + "PRIVATE KEY")

# (rule, path, template with @@ where the value goes, value): the hit must cover exactly the value.
POSITIVES = [
    ("RF-SECRET-GITHUB-TOKEN", "ci.yml", "  GH_TOKEN: @@", GITHUB),
    ("RF-SECRET-GITHUB-TOKEN", "x.py", 'requests.get(url, headers={"Authorization": "token @@"})', GITHUB),
    ("RF-SECRET-GITHUB-TOKEN", ".git/config", "\turl = https://x-access-token:@@@github.com/o/r.git", checksummed("gh" + "s_")),
    ("RF-SECRET-GITHUB-TOKEN", "notes.txt", "oauth @@", checksummed("gh" + "o_")),
    ("RF-SECRET-GITHUB-PAT", ".env", "GITHUB_TOKEN=@@", "github_" + "pat_" + rand(22) + "_" + rand(59)),
    ("RF-SECRET-GITLAB-TOKEN", "deploy.sh", "curl --header 'PRIVATE-TOKEN: @@' https://gitlab.com/api/v4/user", "gl" + "pat-" + rand(20, URLSAFE)),
    ("RF-SECRET-NPM-TOKEN", ".npmrc", "//registry.npmjs.org/:_authToken=@@", NPM),
    ("RF-SECRET-PYPI-TOKEN", ".pypirc", "password = @@", "pypi-" + "AgEIcHlwaS5vcmc" + rand(70, URLSAFE)),
    ("RF-SECRET-PYPI-TOKEN", "release.sh", "twine upload -p @@ dist/*", "pypi-" + "AgENdGVzdC5weXBpLm9yZw" + rand(70, URLSAFE)),
    ("RF-SECRET-SLACK-TOKEN", "bot.js", "const slack = new WebClient('@@');",
     "xo" + "xb-" + rand(11, string.digits) + "-" + rand(12, string.digits) + "-" + rand(24)),
    ("RF-SECRET-SLACK-TOKEN", "notes.md", "user token: @@",
     "xo" + "xp-" + rand(11, string.digits) + "-" + rand(11, string.digits) + "-" + rand(13, string.digits) + "-" + rand(32, HEX)),
    ("RF-SECRET-SLACK-WEBHOOK", "alert.py", 'WEBHOOK = "@@"',
     "https://hooks." + "slack.com/services/T" + rand(8, string.ascii_uppercase + string.digits) + "/B"
     + rand(10, string.ascii_uppercase + string.digits) + "/" + rand(24)),
    ("RF-SECRET-STRIPE-KEY", "pay.rb", "Stripe.api_key = '@@'", "sk_" + "live_" + rand(24)),
    ("RF-SECRET-STRIPE-KEY", "pay.ts", "const restricted = '@@';", "rk_" + "live_" + rand(24)),
    ("RF-SECRET-STRIPE-KEY", "hooks.env", "STRIPE_WEBHOOK=@@", "wh" + "sec_" + rand(32)),
    ("RF-SECRET-AWS-KEY", "deploy.sh", "aws configure set aws_access_key_id @@", AWS_ID),
    ("RF-SECRET-AWS-SECRET", "settings.py", 'AWS_SECRET_ACCESS_KEY = "@@"', AWS_SECRET),
    ("RF-SECRET-AWS-SECRET", "creds.txt", "SecretAccessKey: @@", AWS_SECRET),
    ("RF-SECRET-GOOGLE-API-KEY", "maps.html", '<script src="https://maps.googleapis.com/maps/api/js?key=@@"></script>',
     "AI" + "za" + rand(35, URLSAFE)),
    ("RF-SECRET-AZURE-KEY", "appsettings.json",
     '  "Storage": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=@@;EndpointSuffix=core.windows.net"',
     AZURE_KEY),
    ("RF-SECRET-AZURE-KEY", "bus.cs", 'var c = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=app;SharedAccessKey=@@";',
     rand(43, BASE64) + "="),
    ("RF-SECRET-OPENAI-KEY", "agent.py", 'client = OpenAI(api_key="@@")', "sk-" + "proj-" + rand(74, URLSAFE) + "T3Blbk" + "FJ" + rand(74, URLSAFE)),
    ("RF-SECRET-OPENAI-KEY", "old.txt", "key @@", "sk-" + rand(20) + "T3Blbk" + "FJ" + rand(20)),
    ("RF-SECRET-ANTHROPIC-KEY", ".env", "ANTHROPIC_API_KEY=@@", "sk-" + "ant-api03-" + rand(93, URLSAFE) + "AA"),
    ("RF-SECRET-ANTHROPIC-KEY", "admin.sh", "export KEY='@@'", "sk-" + "ant-admin01-" + rand(93, URLSAFE) + "AA"),
    ("RF-SECRET-TWILIO", "sms.py", 'client = Client("AC' + rand(32, HEX) + '", "@@")  # twilio', rand(32, HEX)),
    ("RF-SECRET-TWILIO", ".env", "TWILIO_AUTH_TOKEN=@@", rand(32, HEX)),
    ("RF-SECRET-SENDGRID", "mail.py", 'sg = SendGridAPIClient("@@")', "S" + "G." + rand(22, URLSAFE) + "." + rand(43, URLSAFE)),
    ("RF-SECRET-MAILGUN", "mail.rb", 'auth = ["api", "@@"]', "ke" + "y-" + rand(32, HEX)),
    ("RF-SECRET-MAILGUN", "mail.yml", "mailgun_key: @@", rand(32, HEX) + "-" + rand(8, HEX) + "-" + rand(8, HEX)),
    ("RF-SECRET-SHOPIFY", "shop.js", "headers['X-Shopify-Access-Token'] = '@@'", "shp" + "at_" + rand(32, HEX)),
    ("RF-SECRET-DIGITALOCEAN", "do.tf", 'token = "@@"', "dop" + "_v1_" + rand(64, HEX)),
    ("RF-SECRET-VAULT-TOKEN", "vault.sh", "vault login @@", "hv" + "s." + rand(95, URLSAFE)),
    ("RF-SECRET-DATABRICKS", "job.cfg", "host = x\ncluster = c @@", "da" + "pi" + rand(32, HEX)),
    ("RF-SECRET-HUGGINGFACE", "train.py", 'login(token="@@")', "h" + "f_" + rand(34, string.ascii_letters)),
    ("RF-SECRET-HEROKU", "deploy.sh", "heroku auth:token @@", "HRKU" + "-AA" + rand(58, URLSAFE)),
    ("RF-SECRET-DISCORD", "bot.py", 'bot.run("@@")  # discord', DISCORD),
    ("RF-SECRET-TELEGRAM", "bot.py", 'app = Application.builder().token("@@").build()',
     rand(10, string.digits) + ":" + "AA" + rand(33, URLSAFE)),
    ("RF-SECRET-JWT", "request.http", "Cookie: session=@@", JWT),
    ("RF-SECRET-PRIVATE-KEY", "key.txt", "@@", PRIVATE_KEY),
    ("RF-SECRET-GCP-SERVICE-ACCOUNT", "sa.json", "x", ""),  # replaced below
    ("RF-SECRET-URL-PASSWORD", "settings.py", 'DATABASE_URL = "postgres://app:@@@db.internal:5432/app"', DB_PASSWORD),
    ("RF-SECRET-URL-PASSWORD", "app.yml", "uri: mongodb+srv://admin:@@@cluster0.mongodb.net/db", DB_PASSWORD),
    ("RF-SECRET-URL-PASSWORD", "docker-compose.yml", "      REDIS_URL: redis://:@@@cache:6379/0", DB_PASSWORD),
    ("RF-SECRET-URL-PASSWORD", "worker.py", 'BROKER = "amqp://worker:@@@rabbit//"', DB_PASSWORD),
    ("RF-SECRET-URL-PASSWORD", "README.md", "clone https://bot:@@@git.example.com/r.git", DB_PASSWORD),
    ("RF-SECRET-URL-PASSWORD", "db.php", "$dsn = 'mysql://root:@@@localhost/shop';", DB_PASSWORD),
    ("RF-SECRET-AUTH-HEADER", "call.sh", "curl -H 'Authorization: Bearer @@' https://api.internal/", rand(40, URLSAFE)),
    ("RF-SECRET-AUTH-HEADER", "api.http", "Authorization: Basic @@", base64.b64encode(b"user:" + rand(12).encode()).decode()),
    ("RF-SECRET-ASSIGNMENT", ".env", "DB_PASSWORD=@@", DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", ".env.production", 'SECRET_KEY_BASE="@@"', rand(64, HEX)),
    ("RF-SECRET-ASSIGNMENT", "env.sh", "export API_TOKEN=@@", rand(24)),
    ("RF-SECRET-ASSIGNMENT", "config.json", '  "apiKey": "@@",', rand(32)),
    ("RF-SECRET-ASSIGNMENT", "config.yaml", "  password: @@", DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", ".netrc", "machine example.com\n  login ci\n  password @@", rand(20)),
    ("RF-SECRET-ASSIGNMENT", "_netrc", "machine h login u password @@", rand(20)),
    ("RF-SECRET-ASSIGNMENT", ".pypirc", "[pypi]\nusername = bot\npassword = @@", "no" + rand(22)),
    ("RF-SECRET-ASSIGNMENT", ".env", "API_TOKEN=@@", "On" + rand(22)),
    ("RF-SECRET-REGISTRY-AUTH", ".docker/config.json", '{"auths": {"r.example.com": {\n  "auth": "@@"\n}}}',
     base64.b64encode(b"deploybot:" + rand(20).encode()).decode()),
    ("RF-SECRET-REGISTRY-AUTH", "k8s/pull-secret.json", '{"auths":{"ghcr.io":{"auth":"@@"}}}',
     base64.b64encode(b"u:" + rand(16).encode()).decode()),
    ("RF-SECRET-ASSIGNMENT", "config.yaml", '  client_secret: "@@"', rand(30, URLSAFE)),
    ("RF-SECRET-ASSIGNMENT", "settings.toml", 'secret_key = "@@"', rand(40, URLSAFE)),
    ("RF-SECRET-ASSIGNMENT", "app.ini", "db_password = @@", DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", "app.properties", "spring.datasource.password=@@", DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", "db.py", 'conn = connect(host="db", user="app", password="@@")', DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", "client.ts", "const apiKey: string = '@@';", rand(32)),
    ("RF-SECRET-ASSIGNMENT", "main.go", 'cfg := Config{Password: "@@"}', DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", "wp-config.php", "define( 'DB_PASSWORD', '@@' );", DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", "appsettings.json", '"Db": "Server=db;Database=app;User Id=sa;Password=@@;"', DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", "Dockerfile", "ENV ADMIN_PASSWORD=@@", DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", "settings.xml", "      <password>@@</password>", DB_PASSWORD),
    ("RF-SECRET-ASSIGNMENT", "settings.py", 'SECRET_KEY: str = "@@"', rand(50, BASE64)),
]

SERVICE_ACCOUNT_KEY = "\\n".join(PRIVATE_KEY.replace("RSA ", "").split("\n")) + "\\n"
SERVICE_ACCOUNT = json.dumps({"type": "service_account", "project_id": "demo", "private_key_id": rand(40, HEX),
                              "private_key": "@@", "client_email": "sa@demo.iam.gserviceaccount.com"}, indent=2)
POSITIVES = [
    case if case[0] != "RF-SECRET-GCP-SERVICE-ACCOUNT" else (case[0], case[1], SERVICE_ACCOUNT, SERVICE_ACCOUNT_KEY)
    for case in POSITIVES
]


def located(template: str, value: str) -> tuple[str, int, int, int]:
    """The text, and the line, start and end where the value lands."""
    text = template.replace("@@", value)
    before = template[: template.index("@@")]
    line = before.count("\n") + 1
    start = len(before) - (before.rfind("\n") + 1)
    return text, line, start, start + len(value)


@pytest.mark.parametrize(("rule_id", "path", "template", "value"), POSITIVES, ids=lambda v: v if isinstance(v, str) and v.startswith("RF-") else "")
def test_each_rule_finds_its_secret_with_the_exact_span(rule_id: str, path: str, template: str, value: str) -> None:
    text, line, start, end = located(template, value)
    hits = scan_text(text, path)
    assert [(h.rule, h.value) for h in hits] == [(rule_id, value)], (path, [h.rule for h in hits])
    hit = hits[0]
    assert (hit.line, hit.start) == (line, start)
    if "\n" not in value:
        assert (hit.end_line, hit.end) == (line, end)


def test_every_rule_has_a_positive_case() -> None:
    assert {r.id for r in secret_rules()} == {case[0] for case in POSITIVES}


def test_rules_are_registered_once_and_documented() -> None:
    ids = [r.id for r in secret_rules()]
    assert ids == sorted(set(ids))
    for item in secret_rules():
        assert re.fullmatch(r"RF-SECRET-[A-Z0-9-]+", item.id)
        assert item.title.endswith(".") and len(item.title) < 80
        assert item.doc, item.id
        assert item.anchors and all(a == a.lower() for a in item.anchors), item.id
        assert item.id in (secrets.__doc__ or ""), f"{item.id} is missing from the module docstring"
    with pytest.raises(ValueError, match="declared twice"):
        secrets._line_rule("RF-SECRET-JWT", "Again.", ("x",))(lambda line, ctx: [])


# Decoys: (path, text). None of them is a secret; every placeholder class has one.
DECOYS = [
    # documented examples
    (".env", "AWS_ACCESS_KEY_ID=AKIA" + "IOSFODNN7EXAMPLE"),
    (".env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"),
    ("creds", "[default]\naws_access_key_id = AKIA" + "IOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"),
    ("local.settings.json", '"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;'
     + "AccountKey=" + "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq" + "/K1SZFPTOtr/KBHBeksoGMGw==" + ';"'),
    ("auth.md", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "."  # jwt.io's sample token
     + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" + "."
     + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ("pay.py", 'stripe.api_key = "sk_' + 'test_' + rand(24) + '"'),  # test mode: chosen not to report
    ("pay.js", "const pk = 'pk_" + "live_" + rand(24) + "';"),  # publishable: public
    # placeholder values
    (".env", "DB_PASSWORD=changeme"),
    (".env", "DB_PASSWORD=password"),
    (".env", "DB_PASSWORD=password123"),
    (".env", "API_KEY=xxx"),
    (".env", "API_KEY=xxxxxxxxxxxxxxxxxxxxxxxx"),
    (".env", "API_KEY=your-api-key-here"),
    (".env", "OPENAI_API_KEY=<your key>"),
    (".env", "TOKEN=<token>"),
    (".env", "TOKEN=${GITHUB_TOKEN}"),
    (".env", "TOKEN=$GITHUB_TOKEN"),
    (".env", "TOKEN="),
    (".env", 'TOKEN=""'),
    (".env", "SECRET_KEY=REDACTED"),
    (".env", "SECRET_KEY=***"),
    (".env", "SECRET_KEY=********"),
    (".env", "SECRET_KEY=dummy"),
    (".env", "SECRET_KEY=dummy-secret-key"),
    (".env", "SECRET_KEY=example"),
    (".env", "SECRET_KEY=test"),
    (".env", "SECRET_KEY=test-secret-123"),
    (".env", "SECRET_KEY=None"),
    (".env", "SECRET_KEY=null"),
    (".env", "DB_PASSWORD=DATABASE_PASSWORD"),
    ("config.yaml", "password: {{ db_password }}"),
    ("config.yaml", 'password: "{{ .Values.password }}"'),
    ("config.yaml", "password: !vault |"),
    ("config.yaml", "api_key: ~"),
    ("config.yml", "secret_key_base: <%= ENV['SECRET_KEY_BASE'] %>"),
    ("app.ini", "password = %(db_password)s"),
    ("deploy.yml", "token: ${{ secrets.DEPLOY_TOKEN }}"),
    ("config.json", '"apiKey": "YOUR_API_KEY"'),
    ("config.json", '"apiKey": "<API_KEY>"'),
    ("config.json", '"password": null'),
    ("config.json", '"password": ""'),
    # references to secrets kept elsewhere
    ("settings.py", 'SECRET_KEY = os.environ["SECRET_KEY"]'),
    ("settings.py", 'password = os.environ.get("DB_PASSWORD", "")'),
    ("settings.py", "token = get_token()"),
    ("settings.py", "password = settings.DB_PASSWORD"),
    ("settings.py", 'password = f"{user}-{suffix}"'),
    ("index.js", "const apiKey = process.env.API_KEY;"),
    ("index.js", "const apiKey = `${process.env.API_KEY}`;"),
    ("run.sh", 'export TOKEN="$(cat /run/secrets/token)"'),
    ("run.sh", "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com"),
    ("run.sh", "curl -H 'Authorization: Bearer <token>' https://api.example.com"),
    ("k8s.yaml", "password_file: /run/secrets/db_password"),
    ("app.toml", 'private_key = "keys/server.pem"'),
    ("app.py", 'op_ref = "op://vault/item/password"'),
    # hashes, integrity strings, UUIDs, ids
    ("package-lock.json", '"integrity": "sha512-' + rand(86, BASE64) + '=="'),
    ("package-lock.json", '"resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz", "token": "' + rand(40, HEX) + '"'),
    ("requirements.txt", "requests==2.31.0 --hash=sha256:" + rand(64, HEX)),
    ("yarn.lock", "  integrity sha1-" + rand(27, BASE64) + "="),
    ("poetry.lock", 'content-hash = "' + rand(64, HEX) + '"'),
    ("yarn.lock", '"twilio@^4.0.0":\n  resolved "https://registry.yarnpkg.com/twilio/-/twilio-4.0.0.tgz#' + rand(32, HEX) + '"'),
    ("pom.xml", "<passwordEncoderClass>org.example.Bcrypt</passwordEncoderClass>"),
    ("go.sum", "golang.org/x/net v0.17.0 h1:" + rand(43, BASE64) + "="),
    ("checksums.txt", "sha256 = " + rand(64, HEX)),
    ("build.py", 'COMMIT = "' + rand(40, HEX) + '"'),
    ("ids.py", 'REQUEST_ID = "123e4567-e89b-12d3-a456-426614174000"'),
    ("app.json", '"client_id": "123e4567-e89b-12d3-a456-426614174000"'),
    ("app.py", 'password_hash = "$2b$12$' + rand(53, BASE64.replace("+", ".")) + '"'),
    ("app.py", 'public_key = "' + rand(44, BASE64) + '"'),
    # GitHub and npm tokens whose checksum does not hold
    (".env", "GITHUB_TOKEN=" + GITHUB_BAD),
    ("ci.yml", "token: " + GITHUB_BAD),
    (".npmrc", "//registry.npmjs.org/:_authToken=" + NPM_BAD),
    # registry auth that is no login, and netrc without a real password
    (".docker/config.json", '"auth": "' + base64.b64encode(b"no colon here").decode() + '"'),
    (".docker/config.json", '"auth": "' + base64.b64encode(b"user:password").decode() + '"'),
    (".docker/config.json", '"auth": ""'),
    (".netrc", "machine h login u password changeme"),
    ("notes.txt", "the password field of a netrc"),
    # placeholders whose words are whole
    (".env", "API_TOKEN=your_api_token_here"),
    (".env", "DB_PASSWORD=dummyPassword1"),
    # names that are not secrets
    ("client.py", 'token_type = "Bearer"'),
    ("client.py", "max_tokens = 4096"),
    ("client.py", 'next_page_token = "' + rand(24) + '"'),
    ("tok.py", 'eos_token = "</s>"'),
    ("forms.py", 'password_field = "password_input_field"'),
    ("ui.py", 'label = "Enter your password"'),
    ("ui.py", 'password = "Enter your password"'),
    ("ui.py", 'print("token: " + tok + " done")'),
    ("models.py", 'if password == "hunter2-abc":'),
    ("docs.md", "Set `password: ...` in the config."),
    ("notes.txt", "Token: the thing you get from the settings page"),
    # high entropy with no context is never enough
    ("data.py", 'BLOB = "' + rand(40, BASE64) + '"'),
    ("data.py", 'x = "' + rand(64, HEX) + '"'),
    ("data.txt", rand(120, BASE64)),
    ("app.py", "session_id = '" + rand(32) + "'"),
    # private key look-alikes
    ("ssl.py", 'PEM_HEADER = "' + DASHES + "BEGIN CERTIFICATE" + DASHES + '"'),
    ("cert.pem", pem_block("CERTIFICATE")),
    ("pub.pem", pem_block("PUBLIC KEY")),
    ("docs.md", DASHES + "BEGIN RSA " + "PRIVATE KEY" + DASHES + "\n...\n" + DASHES + "END RSA " + "PRIVATE KEY" + DASHES),
    ("docs.md", DASHES + "BEGIN " + "PRIVATE KEY" + DASHES + "\n<your key here>\n" + DASHES + "END " + "PRIVATE KEY" + DASHES),
    ("tls.py", 'BEGIN = "' + DASHES + "BEGIN " + "PRIVATE KEY" + DASHES + '"\nEND = "' + DASHES + "END " + "PRIVATE KEY" + DASHES + '"'),
    # URLs without a real password
    ("README.md", "postgres://user:password@localhost:5432/db"),
    ("README.md", "postgres://postgres:postgres@localhost:5432/db"),
    ("settings.py", 'URL = f"postgres://{user}:{password}@{host}/db"'),
    ("settings.py", 'URL = "postgres://%s:%s@%s/db" % (u, p, h)'),
    ("settings.py", 'URL = "postgres://app:${DB_PASSWORD}@db/app"'),
    ("README.md", "https://user@example.com/path and git@github.com:o/r.git"),
    ("README.md", "https://jo%40email.com:a%20secret@example.com"),
    ("README.md", "redis://:@cache:6379/0"),
    ("README.md", "mysql://root:****@localhost/db"),
    # made-up provider look-alikes
    ("README.md", "GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx"),
    ("README.md", "SLACK_TOKEN=xoxb-your-token"),
    ("README.md", "hf_hub_download_and_cache_for_ever_and_ever"),
    ("README.md", "JWT: eyJhbGciOiJub25lIn0." + b64url(b'{"sub":"1"}') + "."),
]


@pytest.mark.parametrize(("path", "text"), DECOYS)
def test_decoys_are_not_secrets(path: str, text: str) -> None:
    assert [(h.rule, h.line) for h in scan_text(text, path)] == []


def test_a_pem_private_key_over_many_lines_is_one_hit() -> None:
    text = "before\n  key: |\n" + pem_block("OPENSSH " + "PRIVATE KEY", indent="    ") + "\nafter\n"
    text = text.replace("-----BEGIN", "    -----BEGIN", 1)
    (hit,) = scan_text(text, "values.yaml")
    assert hit.rule == "RF-SECRET-PRIVATE-KEY"
    lines = text.split("\n")
    assert (hit.line, hit.start) == (3, 4)
    assert hit.end_line == 9 and hit.end == len(lines[8])
    assert hit.value.startswith(DASHES + "BEGIN OPENSSH") and hit.value.endswith("KEY" + DASHES)
    assert text.count(hit.value) == 1


def test_a_private_key_with_escaped_newlines_on_one_line() -> None:
    escaped = PRIVATE_KEY.replace("\n", "\\n")
    template = 'PRIVATE_KEY="@@"'
    text, _, start, end = located(template, escaped)
    (hit,) = scan_text(text, ".env")
    assert (hit.rule, hit.line, hit.start, hit.end, hit.end_line) == ("RF-SECRET-PRIVATE-KEY", 1, start, end, 1)


@pytest.mark.parametrize("label", ["PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
                                   "OPENSSH PRIVATE KEY", "PGP PRIVATE KEY BLOCK"])
def test_every_kind_of_private_key_block(label: str) -> None:
    assert [h.rule for h in scan_text(pem_block(label), "k.txt")] == ["RF-SECRET-PRIVATE-KEY"]


def test_a_legacy_encrypted_pem_with_headers() -> None:
    block = pem_block("RSA " + "PRIVATE KEY").split("\n")
    block[1:1] = ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC," + rand(32, HEX.upper()), ""]
    assert [h.rule for h in scan_text("\n".join(block), "k.pem")] == ["RF-SECRET-PRIVATE-KEY"]


def test_a_service_account_json_is_one_hit_over_the_private_key_value() -> None:
    text = SERVICE_ACCOUNT.replace("@@", SERVICE_ACCOUNT_KEY)
    json.loads(text)  # the fixture is valid JSON
    (hit,) = scan_text(text, "key.json")
    assert hit.rule == "RF-SECRET-GCP-SERVICE-ACCOUNT"
    assert json.loads(text)["private_key"] == hit.value.replace("\\n", "\n")


def test_a_private_key_in_other_json_is_still_a_private_key() -> None:
    text = json.dumps({"type": "authorized_user", "private_key": PRIVATE_KEY})
    assert [h.rule for h in scan_text(text, "x.json")] == ["RF-SECRET-PRIVATE-KEY"]


@pytest.mark.parametrize("prefix", ["gh" + "p_", "gh" + "o_", "gh" + "u_", "gh" + "s_", "gh" + "r_", "np" + "m_"])
def test_checksums_decide_github_and_npm_tokens(prefix: str) -> None:
    valid, invalid = checksummed(prefix), checksummed(prefix, valid=False)
    rule = "RF-SECRET-NPM-TOKEN" if prefix.startswith("npm") else "RF-SECRET-GITHUB-TOKEN"
    assert [h.rule for h in scan_text(f"token {valid}\n", "t.txt")] == [rule]
    assert scan_text(f"token {invalid}\n", "t.txt") == []
    assert scan_text(f"{valid}x\n", "t.txt") == []  # part of a longer word


def test_aws_secret_next_to_its_key_id() -> None:
    text = f"[prod]\nkey = {AWS_ID}\nvalue = {AWS_SECRET}\n"
    hits = scan_text(text, "notes.txt")
    assert [(h.rule, h.line, h.value) for h in hits] == [("RF-SECRET-AWS-KEY", 2, AWS_ID), ("RF-SECRET-AWS-SECRET", 3, AWS_SECRET)]
    far = f"key = {AWS_ID}\n" + "\n" * 10 + f"value = {AWS_SECRET}\n"
    assert [h.rule for h in scan_text(far, "notes.txt")] == ["RF-SECRET-AWS-KEY"]
    hex_sha1 = f"key = {AWS_ID}\ncommit = {rand(40, HEX)}\n"
    assert [h.rule for h in scan_text(hex_sha1, "notes.txt")] == ["RF-SECRET-AWS-KEY"]


def test_the_more_specific_rule_wins_an_overlap() -> None:
    for text in (f"GITHUB_TOKEN={GITHUB}", f'"token": "{GITHUB}"', f"https://x:{GITHUB}@github.com",
                 f"Authorization: Bearer {GITHUB}"):
        hits = scan_text(text, "a.env")
        assert [h.rule for h in hits] == ["RF-SECRET-GITHUB-TOKEN"], text


def test_hits_are_sorted_and_never_overlap() -> None:
    text = "\n".join([
        f'creds = {{"token": "{GITHUB}", "password": "{DB_PASSWORD}"}}',
        f"url = postgres://app:{DB_PASSWORD}@db/app",
        PRIVATE_KEY,
        f"npm = {NPM}",
    ])
    hits = scan_text(text, "mixed.txt")
    assert [h.rule for h in hits] == ["RF-SECRET-GITHUB-TOKEN", "RF-SECRET-ASSIGNMENT", "RF-SECRET-URL-PASSWORD",
                                      "RF-SECRET-PRIVATE-KEY", "RF-SECRET-NPM-TOKEN"]
    keys = [(h.line, h.start) for h in hits]
    assert keys == sorted(keys)
    for first, second in itertools.pairwise(hits):
        assert (first.end_line, first.end) <= (second.line, second.start)


def test_values_can_be_replaced_exactly() -> None:
    text = f"DB_PASSWORD={DB_PASSWORD}\r\nurl: https://u:{DB_PASSWORD}@h/x\r\nother\r\n"
    lines = text.split("\n")
    for hit in scan_text(text, "x.env"):
        assert lines[hit.line - 1][hit.start:hit.end] == hit.value
        lines[hit.line - 1] = lines[hit.line - 1][:hit.start] + "MASKED" + lines[hit.line - 1][hit.end:]
    assert DB_PASSWORD not in "\n".join(lines) and "\n".join(lines).count("MASKED") == 2


def test_offsets_survive_characters_that_change_length_when_lowered() -> None:
    text = "İstanbul \u0130\u0130\u0130\nDB_PASSWORD=" + DB_PASSWORD + " # İ"
    (hit,) = scan_text(text, ".env")
    assert text.split("\n")[hit.line - 1][hit.start:hit.end] == DB_PASSWORD


@pytest.mark.parametrize(("path", "key"), [("bundle.json", '"apiKey":"@@"'), ("app.min.js", 'token:"@@"')])
def test_a_secret_in_a_very_long_line(path: str, key: str) -> None:
    filler = ",".join(f'"k{i}":"v{i}"' for i in range(5000))
    value = GITHUB if path.endswith(".js") else rand(32)
    text, line, start, end = located("{" + filler + "," + key + "," + filler + "}", value)
    hits = scan_text(text, path)
    assert [(h.line, h.start, h.end, h.value) for h in hits] == [(line, start, end, value)]


@pytest.mark.parametrize(
    "text",
    [
        "key=" * 200_000,
        (DASHES + "BEGIN " + "PRIVATE KEY" + DASHES + "\n" + "A" * 64 + "\n") * 5_000,
        "eyJ" * 300_000,
        ("AK" + "IA" + "B" * 16 + " ") * 20_000,
        base64.b64encode(random.Random(1).randbytes(750_000)).decode(),
    ],
    ids=["anchors", "begins-without-end", "jwt-heads", "key-ids-on-one-line", "base64"],
)
def test_pathological_texts_stay_linear(text: str) -> None:
    started = time.process_time()
    scan_text(text, "x.txt")
    assert time.process_time() - started < 5


def test_repr_never_shows_the_value() -> None:
    (hit,) = scan_text(f"DB_PASSWORD={DB_PASSWORD}", ".env")
    assert DB_PASSWORD not in repr(hit) and DB_PASSWORD not in str(hit)
    assert "RF-SECRET-ASSIGNMENT" in repr(hit)
    assert isinstance(hit, Hit)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("DB_PASSWORD", "password"),
        ("dbPassword", "password"),
        ("passwd", "password"),
        ("PASS", "password"),
        ("smtp_pass", "password"),
        ("apiKey", "token"),
        ("APIKey", "token"),
        ("x-api-key", "token"),
        ("secret_key_base", "token"),
        ("AWS_SECRET_ACCESS_KEY", "token"),
        ("client_secret", "token"),
        ("GITHUB_TOKEN", "token"),
        ("//registry.npmjs.org/:_authToken", "token"),
        ("//registry.npmjs.org/:_auth", "token"),
        ("credentials", "token"),
        ("self.api_token", "token"),
        ("token_type", None),
        ("password_file", None),
        ("max_tokens", None),
        ("next_page_token", None),
        ("public_key", None),
        ("publishable_key", None),
        ("key", None),
        ("bypass", None),
        ("use_password", None),
        ("access_key_id", None),
        ("tokenizer", None),
    ],
)
def test_secret_names(key: str, kind: str | None) -> None:
    assert secret_name(key) == kind


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (".env", "env"), ("sub/.env.local", "env"), ("prod.env", "env"), ("run.sh", "shell"), (".bashrc", "shell"),
        ("a.json", "json"), ("a.yml", "yaml"), ("pyproject.toml", "ini"), (".npmrc", "ini"), (".git/config", "ini"),
        ("app.py", "code"), ("App.Java", "code"), ("package-lock.json", "lock"), ("yarn.lock", "lock"),
        ("go.sum", "lock"), ("README.md", "text"), ("Dockerfile", "text"), ("", "text"),
    ],
)
def test_format_for(path: str, fmt: str) -> None:
    assert format_for(path) == fmt


def test_source_code_needs_quotes_and_a_digit_or_symbol() -> None:
    assert scan_text("password = IAmSensitive1", "a.py") == []  # not a literal in code
    assert scan_text("password = 'IAmSensitive'", "a.py") == []  # an example
    assert [h.rule for h in scan_text("password: HunterTwoThree", "a.yaml")] == ["RF-SECRET-ASSIGNMENT"]


def test_empty_and_plain_texts() -> None:
    assert scan_text("") == []
    assert scan_text("hello\nworld\n", "a.txt") == []


STDLIB = Path("/usr/lib/python3.11")


@pytest.mark.skipif(not STDLIB.is_dir(), reason="needs the Python 3.11 standard library at /usr/lib/python3.11")
def test_speed_and_silence_over_the_standard_library() -> None:
    files = sorted(STDLIB.glob("*.py")) + sorted((STDLIB / "email").rglob("*.py")) + sorted((STDLIB / "urllib").rglob("*.py"))
    texts = [(str(f.relative_to(STDLIB)), f.read_text(encoding="utf-8", errors="surrogateescape")) for f in files]
    size = sum(len(t.encode("utf-8", "surrogateescape")) for _, t in texts)
    scan_text("warm up", "x.py")
    started = time.process_time()
    found = [(p, h.rule, h.line) for p, t in texts for h in scan_text(t, p)]
    spent = time.process_time() - started
    assert found == []  # the standard library holds no secrets
    assert size / max(spent, 1e-9) > 5e6, f"{size / spent / 1e6:.1f} MB/s"  # a loose floor: CI machines are slow
