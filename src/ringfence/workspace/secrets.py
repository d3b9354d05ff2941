"""Secrets found by content (the second half of ``ringfence scan``).

``scan_text(text, path)`` returns a ``Hit`` per secret: the rule, the line (1-based, lines
split on ``"\\n"``), and ``start``/``end``, the 0-based character offsets of the *value* on
that line (end exclusive), so a caller can replace exactly the value with a placeholder.
A secret spread over several lines (a PEM private key block) is one hit: ``line`` and
``start`` locate its first character, ``end_line`` and ``end`` (on ``end_line``) its end;
for a one-line secret ``end_line == line``. ``value`` is the secret itself, for masking
and the leak guard: it never appears in ``repr`` and callers never print it. Hits are
sorted by line and start and never overlap: when two rules cover the same text, the more
specific one is kept (a checked GitHub token over a ``TOKEN=`` assignment over nothing).

How it stays fast (the target is gitleaks' CPU time per MB or better): each rule
declares literal *anchors* (``ghp_``, ``akia``, ``-----begin``, ``://``, ``passw``,
``token``...). The text is lowercased once and searched for them by one regular expression
(a trie of the anchors' tails from their rarest character: the engine skips quickly to a
rare character, never stopping at every ``e``) and by ``str.find`` for the few anchors
made only of common letters. Only the lines holding an anchor reach the rules that
declared it, so most lines of ordinary code are never looked at twice; on a very long line
(minified code) rules see only the text near each anchor, so the work stays proportional
to the text. Regular expressions compile on first use.

What is never a secret (decoys, every rule): placeholders and documented examples
(``changeme``, ``xxx``, ``your-api-key-here``, ``<token>``, ``***``, ``REDACTED``,
``dummy``, ``example``, ``test``, ``None``/``null``, empty values, AWS's documented
``AKIAIOSFODNN7EXAMPLE`` keys, the Azure storage emulator's key, jwt.io's sample token);
references to a secret kept elsewhere (``${VAR}``, ``$VAR``, ``{{ secret }}``,
``%(x)s``, ``<%= ENV[...] %>``, ``os.environ[...]``, ``process.env.X``, ``ALL_CAPS``
names, paths to a key file); hashes (hex digests and ``sha512-...`` integrity strings in
lockfiles; ``sha256:...``); UUIDs and hex strings that no secret-named key holds; and a
GitHub or npm token whose checksum does not hold. No rule flags a value for its entropy
alone: every rule needs a provider's format or a name that says "secret".

Rules (``secret_rules()``; each function's docstring below says what it matches):

- RF-SECRET-PRIVATE-KEY: a PEM private key block, multi-line or with ``\\n`` escapes.
- RF-SECRET-GCP-SERVICE-ACCOUNT: the ``private_key`` of a Google service-account JSON.
- RF-SECRET-GITHUB-TOKEN: a GitHub ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_`` token
  whose CRC32 checksum holds.
- RF-SECRET-GITHUB-PAT: a GitHub fine-grained personal access token (``github_pat_``).
- RF-SECRET-GITLAB-TOKEN: a GitLab token (``glpat-``, ``gldt-``, ``glrt-``...).
- RF-SECRET-NPM-TOKEN: an npm ``npm_`` token whose CRC32 checksum holds.
- RF-SECRET-PYPI-TOKEN: a PyPI or TestPyPI API token (``pypi-AgEIcHlwaS5vcmc...``).
- RF-SECRET-SLACK-TOKEN: a Slack token (``xoxb-``, ``xoxp-``, ``xapp-``...).
- RF-SECRET-SLACK-WEBHOOK: a Slack incoming-webhook or workflow URL.
- RF-SECRET-STRIPE-KEY: a Stripe live secret or restricted key, or a webhook secret.
- RF-SECRET-AWS-KEY: an AWS access key id (``AKIA``, ``ASIA``...).
- RF-SECRET-AWS-SECRET: an AWS secret access key, next to a key id or named as one.
- RF-SECRET-GOOGLE-API-KEY: a Google API key (``AIza...``).
- RF-SECRET-AZURE-KEY: an Azure storage or Service Bus key in a connection string.
- RF-SECRET-OPENAI-KEY: an OpenAI API key (``sk-...T3BlbkFJ...``, ``sk-proj-``).
- RF-SECRET-ANTHROPIC-KEY: an Anthropic API, admin or OAuth key (``sk-ant-``).
- RF-SECRET-TWILIO: a Twilio auth token on a line that names Twilio.
- RF-SECRET-SENDGRID: a SendGrid API key (``SG.x.y``).
- RF-SECRET-MAILGUN: a Mailgun API key.
- RF-SECRET-SHOPIFY: a Shopify access token or shared secret (``shpat_``...).
- RF-SECRET-DIGITALOCEAN: a DigitalOcean token (``dop_v1_``, ``doo_v1_``, ``dor_v1_``).
- RF-SECRET-VAULT-TOKEN: a HashiCorp Vault token (``hvs.``, ``hvb.``, ``hvr.``).
- RF-SECRET-DATABRICKS: a Databricks personal access token (``dapi...``).
- RF-SECRET-HUGGINGFACE: a Hugging Face token (``hf_...``).
- RF-SECRET-HEROKU: a Heroku API key in the ``HRKU-`` format.
- RF-SECRET-DISCORD: a Discord bot token on a line that names Discord.
- RF-SECRET-TELEGRAM: a Telegram bot token (``123456789:AA...``).
- RF-SECRET-JWT: a signed JSON Web Token.
- RF-SECRET-URL-PASSWORD: the password in a URL (``postgres://user:pass@host``...).
- RF-SECRET-AUTH-HEADER: the credential of an ``Authorization: Bearer|Basic|token`` header.
- RF-SECRET-REGISTRY-AUTH: a container registry login (``"auth": "base64(user:password)"``).
- RF-SECRET-ASSIGNMENT: a literal value given to a name that says password, secret,
  token or key (``DB_PASSWORD=...``, ``"apiKey": "..."``, ``secret_key = "..."``).

Chosen: Stripe *test* keys (``sk_test_``) are not reported: they reach test-mode data
only, and Stripe's documentation is full of them.
"""

from __future__ import annotations

from ringfence._struct import record
from ringfence.analysis._lazyre import lazy

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable

    from ringfence.analysis._lazyre import LazyPattern

    Span = tuple[int, int]
    LineCheck = Callable[[str, "Context"], Iterable[Span]]
    TextCheck = Callable[["Context", int], Iterable[Span]]
    Trie = dict[str, "Trie"]


@record
class Hit:
    """One secret: rule id, where it is (see the module docstring), and its value."""

    rule: str
    line: int
    start: int
    end: int
    value: str
    end_line: int

    def __repr__(self) -> str:  # the value stays out of any repr, log or traceback
        return f"Hit({self.rule} at {self.line}:{self.start}-{self.end_line}:{self.end})"


@record
class SecretRule:
    """A registered rule. ``anchors`` are lowercase literals: a line holding none of them
    is never checked. ``rank`` decides between overlapping hits (higher is more specific).
    A rule checks either one line (``on_line``, offsets within the line) or the whole text
    at an anchor (``on_text``, offsets within the text, for secrets over several lines)."""

    id: str
    title: str
    anchors: tuple[str, ...]
    rank: int
    doc: str
    on_line: LineCheck | None = None
    on_text: TextCheck | None = None


class Context:
    """The text being scanned, its lowercased copy, its path and format, and facts about
    the whole text that a rule computes once."""

    __slots__ = ("_facts", "_next", "format", "low", "partial", "path", "text")

    def __init__(self, text: str, low: str, path: str, format: str) -> None:
        self.text, self.low, self.path, self.format = text, low, path, format
        self.partial = False  # True while line rules see a window of a very long line
        self._facts: dict[str, bool] = {}
        self._next: dict[str, int] = {}

    def next(self, marker: str, start: int) -> int:
        """Where ``marker`` next occurs in the text at or after ``start`` (-1: nowhere). Called
        with growing ``start``, it searches the text once per marker, however many calls."""
        known = self._next.get(marker)
        if known is None or 0 <= known < start:
            known = self._next[marker] = self.text.find(marker, start)
        return known

    def mentions(self, word: str) -> bool:
        """Does the lowercased text contain ``word`` (cached)?"""
        found = self._facts.get(word)
        if found is None:
            found = self._facts[word] = word in self.low
        return found


# ---------------------------------------------------------------- registry

_RULES: dict[str, SecretRule] = {}
_prefilter: _Prefilter | None = None


def _line_rule(rule_id: str, title: str, anchors: Iterable[str], rank: int = 30) -> Callable[[LineCheck], LineCheck]:
    def register(check: LineCheck) -> LineCheck:
        _add(SecretRule(rule_id, title, tuple(anchors), rank, _doc(check), on_line=check))
        return check

    return register


def _text_rule(rule_id: str, title: str, anchors: Iterable[str], rank: int = 30) -> Callable[[TextCheck], TextCheck]:
    def register(check: TextCheck) -> TextCheck:
        _add(SecretRule(rule_id, title, tuple(anchors), rank, _doc(check), on_text=check))
        return check

    return register


def _doc(check: Callable[..., object]) -> str:
    return " ".join((check.__doc__ or "").split())


def _add(new: SecretRule) -> None:
    global _prefilter
    if new.id in _RULES:
        raise ValueError(f"secret rule {new.id} is declared twice")
    _RULES[new.id] = new
    _prefilter = None


def secret_rules() -> list[SecretRule]:
    """Every registered rule, by id."""
    return [_RULES[key] for key in sorted(_RULES)]


# Characters rare in source code (under 0.9% each of the lowercased Python standard
# library), roughly rarest first. Searching for a pattern whose first character is common is
# slow: the engine tries a match at each of them. A probe therefore starts at an anchor's
# rarest character (``token`` is found by ``ken``, then checked); an anchor with none is
# found with ``str.find`` instead, by itself or by a shared core (``pass`` for ``pass_``).
_RARE = "$^~&?!@`|;<{}%+/7968qjz4*35[]21>\\kvw#-y=:\"0xbg"
_RANK = {char: rank for rank, char in enumerate(_RARE)}
_FIND_CORES = ("pass", "secret", "credential", "shp")


class _Prefilter:
    """Where the anchors are in a lowercased text, and which rules each leads to."""

    def __init__(self, rules: Iterable[SecretRule]) -> None:
        own: dict[str, list[SecretRule]] = {}
        for item in rules:
            for anchor in item.anchors:
                own.setdefault(anchor, []).append(item)
        self.leads: dict[str, tuple[SecretRule, ...]] = {}
        for anchor in own:  # a found anchor also leads to the rules of those inside it
            self.leads[anchor] = tuple(dict.fromkeys(r for other, mine in own.items() if other in anchor for r in mine))
        probes: dict[str, list[tuple[int, str]]] = {}
        needles: dict[str, list[tuple[int, str]]] = {}
        for anchor in sorted(own):
            ranks = [_RANK.get(c, len(_RARE)) for c in anchor[:-1] or anchor]  # a probe of 2+ characters
            at = ranks.index(min(ranks))
            if ranks[at] < len(_RARE):
                probes.setdefault(anchor[at:], []).append((at, anchor))
            else:
                core = next((c for c in _FIND_CORES if c in anchor), anchor)
                needles.setdefault(core, []).append((anchor.find(core), anchor))
        # A probe is an anchor's tail: what precedes it, by offset, tells which anchor it ends.
        # The pattern reports the longest probe at a position; shorter ones there count too.
        self.probes: dict[str, list[tuple[int, dict[str, list[str]]]]] = {}
        for probe in probes:
            heads: dict[int, dict[str, list[str]]] = {}
            for other, mine in probes.items():
                if probe.startswith(other):
                    for offset, anchor in mine:
                        heads.setdefault(offset, {}).setdefault(anchor[:offset], []).append(anchor)
            self.probes[probe] = sorted(heads.items())
        self.needles = needles
        self.pattern = lazy(_trie(sorted(probes)))

    def find(self, low: str) -> list[tuple[int, str]]:
        """(position, anchor) of every anchor in ``low``, in order."""
        found: list[tuple[int, str]] = []
        probes = self.probes
        for match in self.pattern.finditer(low):
            at = match.start()
            for offset, heads in probes[match.group()]:
                if offset <= at:
                    for anchor in heads.get(low[at - offset:at], ()):
                        found.append((at - offset, anchor))
        for needle, anchors in self.needles.items():
            at = low.find(needle)
            while at >= 0:
                for offset, anchor in anchors:
                    if offset <= at and low.startswith(anchor, at - offset):
                        found.append((at - offset, anchor))
                at = low.find(needle, at + 1)
        if self.needles:
            found.sort()
        return found


def _trie(words: list[str]) -> str:
    """A regular expression matching any of ``words``, factored by common prefixes so the
    engine tries one branch per first character instead of one per word."""
    tree: Trie = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _emit(tree)


def _emit(node: Trie) -> str:
    import re

    branches = [re.escape(char) + _emit(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


# ---------------------------------------------------------------- scanning

_FORMATS_BY_EXT = {
    **dict.fromkeys(("json", "jsonc", "json5", "ipynb", "tfstate"), "json"),
    **dict.fromkeys(("yaml", "yml"), "yaml"),
    **dict.fromkeys(("ini", "cfg", "conf", "cnf", "toml", "properties", "tfvars", "hcl", "tf", "npmrc", "pypirc",
                     "netrc", "gitconfig", "s3cfg", "boto", "databrickscfg"), "ini"),
    **dict.fromkeys(("sh", "bash", "zsh", "ksh", "fish", "bashrc", "zshrc", "profile", "bash_profile", "zprofile",
                     "envrc"), "shell"),
    **dict.fromkeys(("py", "pyi", "pyw", "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "go", "rb", "java",
                     "kt", "kts", "scala", "groovy", "gradle", "cs", "php", "rs", "swift", "c", "h", "cc", "cpp",
                     "hpp", "cxx", "m", "mm", "pl", "pm", "lua", "r", "dart", "ex", "exs", "erl", "clj", "fs",
                     "vb", "ps1", "psm1", "vue", "svelte"), "code"),
    "lock": "lock",
    "env": "env",
}
_LOCKFILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "pipfile.lock",
    "cargo.lock", "composer.lock", "gemfile.lock", "go.sum", "uv.lock", "pdm.lock", "packages.lock.json",
    "flake.lock", "mix.lock", "pubspec.lock", "podfile.lock", "package.resolved",
})


def format_for(path: str) -> str:
    """The format rules assume for ``path``: ``env`` (dotenv), ``shell``, ``json``,
    ``yaml``, ``ini`` (INI, TOML, properties, HCL, netrc-like), ``code`` (source code:
    only quoted values count), ``lock`` (lockfiles: hashes, no assignments) or ``text``."""
    name = path.rpartition("/")[2].lower()
    if name in _LOCKFILES:
        return "lock"
    if name == ".env" or name.startswith(".env.") or name == ".flaskenv":
        return "env"
    if name == "config":  # .git/config, .kube/config, .aws/config, .ssh/config
        return "ini"
    ext = name.rpartition(".")[2] if "." in name.lstrip(".") or name.startswith(".") else ""
    return _FORMATS_BY_EXT.get(ext, "text")


def _lowered(text: str) -> str:
    """``text.lower()``, the same length as ``text`` so offsets carry over. Only U+0130
    (I with a dot above) lowers to two characters; it stands in as a plain ``i``."""
    low = text.lower()
    if len(low) != len(text):
        low = text.replace("\u0130", "i").lower()
    return low


def scan_text(text: str, path: str = "") -> list[Hit]:
    """Every secret in ``text`` (the content of the file at ``path``, a ``/``-separated
    path relative to the scanned folder, which picks format-aware rules), in line order."""
    global _prefilter
    if _prefilter is None:
        _prefilter = _Prefilter(_RULES.values())
    leads = _prefilter.leads
    low = _lowered(text)
    ctx = Context(text, low, path, format_for(path))
    spans: list[tuple[int, int, int, str]] = []
    line_start, line_end = 0, -1  # the line of the last anchor
    start, end = 0, -1  # the part of it line rules see: all of it, or near anchors if it is long
    pending: list[SecretRule] = []
    for at, anchor in _prefilter.find(low):
        if at > line_end or at >= end:
            if pending:
                _check_line(ctx, start, end, start > line_start, pending, spans)
                pending = []
            if at > line_end:
                line_start = low.rfind("\n", line_end + 1, at) + 1 or line_end + 1
                found = low.find("\n", at)
                line_end = len(low) if found < 0 else found
            start, end = line_start, line_end
            if line_end - line_start > _LONG_LINE:
                start, end = max(line_start, at - _NEAR), min(line_end, at + _NEAR)
        elif line_end - line_start > _LONG_LINE:
            end = max(end, min(line_end, at + _NEAR))
        for item in leads[anchor]:
            if item.on_text is not None:
                spans.extend((s, e, item.rank, item.id) for s, e in item.on_text(ctx, at))
            elif item not in pending:
                pending.append(item)
    if pending:
        _check_line(ctx, start, end, start > line_start, pending, spans)
    return _hits(text, _resolve(spans)) if spans else []


# Past this length (minified code, data on one line) line rules see only the text within
# _NEAR characters of each anchor, so the work stays proportional to the text.
_LONG_LINE = 4096


def _check_line(ctx: Context, start: int, end: int, partial: bool, rules: list[SecretRule],
                spans: list[tuple[int, int, int, str]]) -> None:
    line = ctx.text[start:end].removesuffix("\r")
    ctx.partial = partial
    for item in rules:
        assert item.on_line is not None
        spans.extend((start + s, start + e, item.rank, item.id) for s, e in item.on_line(line, ctx))


def _resolve(spans: list[tuple[int, int, int, str]]) -> list[tuple[int, int, int, str]]:
    """No overlaps: of two overlapping spans the higher rank stays (then the earlier, longer)."""
    spans.sort(key=lambda s: (s[0], -s[2], s[0] - s[1]))
    kept: list[tuple[int, int, int, str]] = []
    for span in spans:
        if span[1] <= span[0]:
            continue
        if kept and span[0] < kept[-1][1]:
            if span[2] > kept[-1][2]:
                kept[-1] = span
            continue
        kept.append(span)
    return kept


def _hits(text: str, spans: list[tuple[int, int, int, str]]) -> list[Hit]:
    hits: list[Hit] = []
    line, line_start, counted = 1, 0, 0  # counted: newlines before it are in ``line``
    for start, end, _, rule_id in spans:
        newlines = text.count("\n", counted, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted, start) + 1
        counted = start
        last = text.rfind("\n", start, end)  # a value over several lines ends on another
        end_line = line + text.count("\n", start, end) if last >= 0 else line
        end_column = end - (last + 1) if last >= 0 else end - line_start
        hits.append(Hit(rule_id, line, start - line_start, end_column, text[start:end], end_line))
    return hits


# ---------------------------------------------------------------- shared checks

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _checksum_ok(body: str) -> bool:
    """GitHub's and npm's token formats end in a CRC32 of the random part, in base62 over
    six characters (github.blog, 2021-04-05 and 2021-09-23)."""
    from binascii import crc32

    number = crc32(body[:-6].encode("ascii"))
    digits = []
    for _ in range(6):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits)) == body[-6:]


# Markers of a made-up value, for rules with a provider's format (which a placeholder can
# imitate: "glpat-xxxxxxxxxxxxxxxxxxxx", "AKIAIOSFODNN7EXAMPLE").
_DUMMY = lazy(r"(?i)example|dummy|fake|placeholder|sample|redacted|your|x{5}|\*{3}|\.{3}|…|[<>]|(.)\1{7}"
              r"|0123456789|123456789|abcdefghij")
# Well-known public values that look like secrets: the Azure storage emulator's key,
# jwt.io's sample payload ({"sub":"1234567890","name":"John Doe","iat":1516239022}).
_KNOWN_PUBLIC = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq",
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
)


def _dummy(value: str) -> bool:
    return _DUMMY.search(value) is not None or any(known in value for known in _KNOWN_PUBLIC)


def _mixed(value: str, classes: int = 2) -> bool:
    """At least ``classes`` of: lowercase, uppercase, digits, other characters."""
    lower = upper = digit = other = False
    for char in value:
        if "a" <= char <= "z":
            lower = True
        elif "A" <= char <= "Z":
            upper = True
        elif "0" <= char <= "9":
            digit = True
        else:
            other = True
    return lower + upper + digit + other >= classes


def _spans(pattern: LazyPattern, line: str, ok: Callable[[str], bool] | None = None, group: int | str = 0) -> list[Span]:
    """The spans of ``pattern``'s ``group`` in ``line`` whose text passes ``ok``."""
    found = []
    for match in pattern.finditer(line):
        value = match.group(group)
        if value and (ok is None or ok(value)):
            found.append(match.span(group))
    return found


def _random(value: str) -> bool:
    """Looks like a generated token: no marker of a made-up value, and mixed characters."""
    return not _dummy(value) and _mixed(value)


# ---------------------------------------------------------------- multi-line and structured

_PEM_BEGIN = lazy(r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |SSH2 ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----")
_PEM_LIMIT = 64 * 1024  # the largest private key block looked for (a 16384-bit RSA key is ~13 KiB)
_BASE64_LINE = lazy(r"[A-Za-z0-9+/=]*")
# A made-up body: a marker word, or a run of one character other than "A" and "/" (the
# base64 of zero and 0xff bytes, which real keys hold: "AAAAAAAAAAAB" in every OpenSSH key).
_PEM_DUMMY = lazy(r"(?i:example|redacted|placeholder)|([^A/\s\\])\1{7}")
_PEM_ESCAPES = lazy(r"\\[nr]|[\"'+,;\s\\]")


@_text_rule("RF-SECRET-PRIVATE-KEY", "A private key block.", ("-----begin",), rank=45)
def private_key(ctx: Context, at: int) -> list[Span]:
    """A PEM private key: ``-----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP ]PRIVATE KEY
    [BLOCK]-----`` through its ``-----END ...-----`` line, whether on many lines (a key
    file, a YAML block, a Python string per line) or on one line with ``\\n`` escapes (JSON,
    an environment variable). The body must be base64 (header lines such as ``Proc-Type:``
    aside) of at least 64 characters, so ``-----BEGIN PRIVATE KEY-----\\n...`` in
    documentation is not a key. Public keys and certificates are never matched. A block
    without its END line within 64 KiB is not reported."""
    match = _PEM_BEGIN.compiled.match(ctx.text, at)
    if match is None:
        return []
    end_marker = f"-----END {match.group(1)}-----"
    end = ctx.next(end_marker, match.end())
    if end < 0 or end - match.end() > _PEM_LIMIT:
        return []
    body = ctx.text[match.end():end]
    if not _pem_body(body):
        return []
    return [(at, end + len(end_marker))]


def _pem_body(body: str) -> bool:
    data = 0
    for line in body.replace("\\n", "\n").replace("\\r", "\n").split("\n"):
        line = _PEM_ESCAPES.sub("", line)
        if not line or ":" in line:  # empty, or a header such as Proc-Type: 4,ENCRYPTED
            continue
        if _BASE64_LINE.fullmatch(line) is None:
            return False
        data += len(line)
    return data >= 64 and _PEM_DUMMY.search(body) is None


_SA_KEY = lazy(r'"private_key"\s*:\s*"((?:[^"\\]|\\.)+)"')


@_line_rule("RF-SECRET-GCP-SERVICE-ACCOUNT", "A Google Cloud service-account private key.", ('"private_key"',), rank=50)
def gcp_service_account(line: str, ctx: Context) -> list[Span]:
    """The ``"private_key"`` value of a JSON file that declares ``"type":
    "service_account"``: the whole string value (with its ``\\n`` escapes) is the secret."""
    if not ctx.mentions("service_account"):
        return []
    return _spans(_SA_KEY, line, _sa_private_key, 1)


def _sa_private_key(value: str) -> bool:
    parts = value.split("-----")  # "", "BEGIN PRIVATE KEY", body, "END PRIVATE KEY", ...
    return len(parts) >= 4 and parts[1].endswith("PRIVATE KEY") and _pem_body(parts[2])


# ---------------------------------------------------------------- provider formats

_GITHUB = lazy(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])")


@_line_rule("RF-SECRET-GITHUB-TOKEN", "A GitHub token.", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), rank=40)
def github_token(line: str, ctx: Context) -> list[Span]:
    """``ghp_`` (personal), ``gho_`` (OAuth), ``ghu_``/``ghs_`` (app user and server) and
    ``ghr_`` (refresh) tokens: 30 random base62 characters, then a CRC32 of them in base62.
    Only a token whose checksum holds is reported: a made-up one is a decoy."""
    return _spans(_GITHUB, line, lambda v: _checksum_ok(v[4:]))


_GITHUB_PAT = lazy(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])")


@_line_rule("RF-SECRET-GITHUB-PAT", "A GitHub fine-grained personal access token.", ("github_pat_",))
def github_pat(line: str, ctx: Context) -> list[Span]:
    """``github_pat_`` then 22 and 59 base62 characters joined by ``_``."""
    return _spans(_GITHUB_PAT, line, _random)


_GITLAB = lazy(r"(?<![A-Za-z0-9_-])gl(?:pat|dt|rt|ptt|soat|oas|cbt|ft|imt|agent)-[A-Za-z0-9_.-]{20,}")
_GITLAB_ANCHORS = ("glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "gloas-", "glcbt-", "glft-", "glimt-", "glagent-")


@_line_rule("RF-SECRET-GITLAB-TOKEN", "A GitLab token.", _GITLAB_ANCHORS)
def gitlab_token(line: str, ctx: Context) -> list[Span]:
    """GitLab personal (``glpat-``), deploy (``gldt-``), runner (``glrt-``), pipeline
    trigger (``glptt-``), OAuth (``gloas-``) and other prefixed tokens with 20 or more
    characters."""
    return _spans(_GITLAB, line, _random)


_NPM = lazy(r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])")


@_line_rule("RF-SECRET-NPM-TOKEN", "An npm access token.", ("npm_",), rank=40)
def npm_token(line: str, ctx: Context) -> list[Span]:
    """``npm_`` then 30 random base62 characters and their CRC32 in base62, as GitHub's.
    Only a token whose checksum holds is reported."""
    return _spans(_NPM, line, lambda v: _checksum_ok(v[4:]))


_PYPI = lazy(r"pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}")


@_line_rule("RF-SECRET-PYPI-TOKEN", "A PyPI API token.", ("pypi-ag",))
def pypi_token(line: str, ctx: Context) -> list[Span]:
    """``pypi-`` then a macaroon whose first bytes name ``pypi.org`` or ``test.pypi.org``
    (``AgEIcHlwaS5vcmc``, ``AgENdGVzdC5weXBpLm9yZw``)."""
    return _spans(_PYPI, line, lambda v: not _dummy(v))


_SLACK = lazy(r"(?<![A-Za-z0-9-])(?:xox[abposre]-[0-9]{6,}-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Z0-9]{8,}-[0-9]{6,}-[a-f0-9]{32,})")


@_line_rule("RF-SECRET-SLACK-TOKEN", "A Slack token.", ("xox", "xapp-"))
def slack_token(line: str, ctx: Context) -> list[Span]:
    """Bot, user, app, refresh and configuration tokens: ``xoxb-``, ``xoxp-``, ``xoxa-``,
    ``xoxo-``, ``xoxs-``, ``xoxr-``, ``xoxe-`` followed by a numeric team or user id, and
    app-level ``xapp-`` tokens."""
    return _spans(_SLACK, line, lambda v: not _dummy(v))


_SLACK_WEBHOOK = lazy(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,}/[A-Za-z0-9/]{20,}")


@_line_rule("RF-SECRET-SLACK-WEBHOOK", "A Slack webhook URL.", ("hooks.slack.com",))
def slack_webhook(line: str, ctx: Context) -> list[Span]:
    """``https://hooks.slack.com/services/T.../B.../...`` (and ``workflows``/``triggers``):
    whoever holds the URL can post to the channel. The whole URL is the secret."""
    return _spans(_SLACK_WEBHOOK, line, lambda v: not _dummy(v))


_STRIPE = lazy(r"(?<![A-Za-z0-9_])(?:(?:sk|rk)_live_[A-Za-z0-9]{20,}|whsec_[A-Za-z0-9+/=]{32,})")


@_line_rule("RF-SECRET-STRIPE-KEY", "A Stripe live secret key or webhook secret.", ("sk_live_", "rk_live_", "whsec_"))
def stripe_key(line: str, ctx: Context) -> list[Span]:
    """Live secret (``sk_live_``) and restricted (``rk_live_``) keys, and webhook signing
    secrets (``whsec_``). Test-mode keys (``sk_test_``) are not reported (see above);
    publishable keys (``pk_``) are public."""
    return _spans(_STRIPE, line, _random)


_AWS_KEY_ID = lazy(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])")
_AWS_ID_ANCHORS = ("akia", "asia", "abia")


@_line_rule("RF-SECRET-AWS-KEY", "An AWS access key id.", _AWS_ID_ANCHORS)
def aws_key_id(line: str, ctx: Context) -> list[Span]:
    """``AKIA`` (long-term), ``ASIA`` (temporary), ``ABIA``/``ACCA`` key ids: the prefix
    then 16 base32 characters. Not secret alone, but never written down without its
    secret nearby. ``AKIAIOSFODNN7EXAMPLE`` and other ``EXAMPLE`` ids are documentation."""
    return _spans(_AWS_KEY_ID, line, lambda v: "EXAMPLE" not in v)


_AWS_SECRET = lazy(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])")
_AWS_SECRET_NAMED = lazy(r"(?i)(?:secret_?access_?key|secret-access-key|aws_?secret(?:_key)?)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9+/]{40})(?![A-Za-z0-9+/=])")
_AWS_WINDOW = 4  # lines either side of a key id searched for its secret


@_text_rule("RF-SECRET-AWS-SECRET", "An AWS secret access key.",
            (*_AWS_ID_ANCHORS, "secret_access_key", "secretaccesskey", "secret-access-key", "aws_secret"))
def aws_secret(ctx: Context, at: int) -> list[Span]:
    """A 40-character secret access key (base64 alphabet, with upper- and lowercase
    letters and a digit or ``+``/``/``): within four lines of a valid access key id, or
    given to a name such as ``aws_secret_access_key`` / ``SecretAccessKey``.
    ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`` is documentation."""
    text = ctx.text
    if ctx.low.startswith(_AWS_ID_ANCHORS, at):
        key_id = _AWS_KEY_ID.compiled.match(text, at)
        if key_id is None or "EXAMPLE" in key_id.group():
            return []
        start, end = _window(text, at, _AWS_WINDOW)
        return [m.span() for m in _AWS_SECRET.compiled.finditer(text, start, end) if _aws_secret_value(m.group())]
    named = _AWS_SECRET_NAMED.compiled.search(text, at, at + _NEAR)
    if named is not None and _aws_secret_value(named.group(1)):
        return [named.span(1)]
    return []


_NEAR = 1024  # characters looked at around an anchor, whatever the lines' length


def _window(text: str, at: int, lines: int) -> tuple[int, int]:
    """The start and end of the lines from ``lines`` before the one holding ``at`` to
    ``lines`` after it, at most ``_NEAR`` characters either side."""
    low, high = max(0, at - _NEAR), min(len(text), at + _NEAR)
    start = at
    for _ in range(lines + 1):  # back to the newline before the first line
        found = text.rfind("\n", low, start)
        if found < 0:
            start = low
            break
        start = found
    else:
        start += 1
    end = at
    for _ in range(lines + 1):  # on to the newline after the last line
        found = text.find("\n", end, high)
        if found < 0:
            end = high
            break
        end = found + 1
    else:
        end -= 1
    return start, end


def _aws_secret_value(value: str) -> bool:
    has = set(value)
    upper = any("A" <= c <= "Z" for c in has)
    lower = any("a" <= c <= "z" for c in has)
    other = any("0" <= c <= "9" or c in "+/" for c in has)
    return upper and lower and other and len(has) >= 16 and not _dummy(value) and "EXAMPLE" not in value


_GOOGLE = lazy(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")


@_line_rule("RF-SECRET-GOOGLE-API-KEY", "A Google API key.", ("aiza",))
def google_api_key(line: str, ctx: Context) -> list[Span]:
    """``AIza`` then 35 characters: a Google Cloud / Firebase / Maps API key."""
    return _spans(_GOOGLE, line, _random)


_AZURE = lazy(r"(?i:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/]{40,}={0,2})")


@_line_rule("RF-SECRET-AZURE-KEY", "An Azure storage or Service Bus key.", ("accountkey=", "sharedaccesskey="))
def azure_key(line: str, ctx: Context) -> list[Span]:
    """The ``AccountKey=`` of an Azure Storage connection string and the
    ``SharedAccessKey=`` of a Service Bus / Event Hubs one. The storage emulator's
    published key (``Eby8vdM0...``) is not a secret."""
    return _spans(_AZURE, line, _random, 1)


_OPENAI = lazy(r"(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])")


@_line_rule("RF-SECRET-OPENAI-KEY", "An OpenAI API key.", ("t3blbkfj", "sk-proj-", "sk-svcacct-", "sk-admin-"))
def openai_key(line: str, ctx: Context) -> list[Span]:
    """``sk-`` keys holding ``T3BlbkFJ`` (base64 of "OpenAI") and project, service-account
    and admin keys (``sk-proj-``, ``sk-svcacct-``, ``sk-admin-``) of 40 or more characters."""
    return _spans(_OPENAI, line, _openai_value)


def _openai_value(value: str) -> bool:
    if value.startswith("sk-ant-"):
        return False
    if "T3BlbkFJ" not in value and not (value.startswith(("sk-proj-", "sk-svcacct-", "sk-admin-")) and len(value) >= 48):
        return False
    return _random(value)


_ANTHROPIC = lazy(r"(?<![A-Za-z0-9_-])sk-ant-(?:api|admin|oat|ort)\d{2}-[A-Za-z0-9_-]{80,}")


@_line_rule("RF-SECRET-ANTHROPIC-KEY", "An Anthropic API key.", ("sk-ant-",))
def anthropic_key(line: str, ctx: Context) -> list[Span]:
    """``sk-ant-api03-`` API keys, ``sk-ant-admin01-`` admin keys and ``sk-ant-oat01-`` /
    ``sk-ant-ort01-`` OAuth tokens, with 80 or more characters after the prefix."""
    return _spans(_ANTHROPIC, line, _random)


_TWILIO = lazy(r"(?<![A-Za-z0-9])[0-9a-f]{32}(?![A-Za-z0-9])")


@_line_rule("RF-SECRET-TWILIO", "A Twilio auth token.", ("twilio",))
def twilio(line: str, ctx: Context) -> list[Span]:
    """A 32-digit lowercase hex value on a line that names Twilio (``TWILIO_AUTH_TOKEN=``,
    ``Client("AC...", "...")``); account (``AC``) and key (``SK``) ids are not secrets."""
    if ctx.format == "lock":  # a lockfile's digests are hex too
        return []
    return _spans(_TWILIO, line, lambda v: _random(v) and len(set(v)) >= 10)


_SENDGRID = lazy(r"(?<![A-Za-z0-9_.-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


@_line_rule("RF-SECRET-SENDGRID", "A SendGrid API key.", ("sg.",))
def sendgrid(line: str, ctx: Context) -> list[Span]:
    """``SG.`` then a 22-character id and a 43-character secret, joined by a dot."""
    return _spans(_SENDGRID, line, _random)


_MAILGUN = lazy(r"(?<![A-Za-z0-9_-])key-[0-9a-f]{32}(?![A-Za-z0-9_-])")
_MAILGUN_NEW = lazy(r"(?<![A-Za-z0-9_-])[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}(?![A-Za-z0-9_-])")


@_line_rule("RF-SECRET-MAILGUN", "A Mailgun API key.", ("key-", "mailgun"))
def mailgun(line: str, ctx: Context) -> list[Span]:
    """A private API key: ``key-`` then 32 hex digits, or on a line that names Mailgun,
    the newer ``<32 hex>-<8 hex>-<8 hex>`` form."""
    found = _spans(_MAILGUN, line, _random)
    if "mailgun" in line.lower() and ctx.format != "lock":
        found += _spans(_MAILGUN_NEW, line, _random)
    return found


_SHOPIFY = lazy(r"(?<![A-Za-z0-9_])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9_])")


@_line_rule("RF-SECRET-SHOPIFY", "A Shopify access token or shared secret.", ("shpat_", "shpca_", "shppa_", "shpss_"))
def shopify(line: str, ctx: Context) -> list[Span]:
    """Admin API (``shpat_``), custom-app (``shpca_``), private-app (``shppa_``) tokens and
    shared secrets (``shpss_``): the prefix then 32 hex digits."""
    return _spans(_SHOPIFY, line, _random)


_DIGITALOCEAN = lazy(r"(?<![A-Za-z0-9_])do[por]_v1_[a-f0-9]{64}(?![A-Za-z0-9_])")


@_line_rule("RF-SECRET-DIGITALOCEAN", "A DigitalOcean token.", ("dop_v1_", "doo_v1_", "dor_v1_"))
def digitalocean(line: str, ctx: Context) -> list[Span]:
    """Personal access (``dop_v1_``), OAuth (``doo_v1_``) and refresh (``dor_v1_``) tokens:
    the prefix then 64 hex digits."""
    return _spans(_DIGITALOCEAN, line, _random)


_VAULT = lazy(r"(?<![A-Za-z0-9_.])hv[sbr]\.[A-Za-z0-9_-]{90,}")


@_line_rule("RF-SECRET-VAULT-TOKEN", "A HashiCorp Vault token.", ("hvs.", "hvb.", "hvr."))
def vault_token(line: str, ctx: Context) -> list[Span]:
    """Service (``hvs.``), batch (``hvb.``) and recovery (``hvr.``) tokens of Vault 1.10
    and later, 90 or more characters after the prefix. Older ``s.`` tokens are found by
    RF-SECRET-ASSIGNMENT when named (``VAULT_TOKEN=``)."""
    return _spans(_VAULT, line, _random)


_DATABRICKS = lazy(r"(?<![A-Za-z0-9_])dapi[a-f0-9]{32}(?:-\d)?(?![A-Za-z0-9_])")


@_line_rule("RF-SECRET-DATABRICKS", "A Databricks access token.", ("dapi",))
def databricks(line: str, ctx: Context) -> list[Span]:
    """``dapi`` then 32 hex digits (and an optional ``-N`` suffix)."""
    return _spans(_DATABRICKS, line, _random)


_HUGGINGFACE = lazy(r"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])")


@_line_rule("RF-SECRET-HUGGINGFACE", "A Hugging Face access token.", ("hf_",))
def huggingface(line: str, ctx: Context) -> list[Span]:
    """``hf_`` then 34 letters in mixed case (an identifier such as ``hf_hub_download`` has
    underscores and one case)."""
    return _spans(_HUGGINGFACE, line, _random)


_HEROKU = lazy(r"(?<![A-Za-z0-9_-])HRKU-AA[A-Za-z0-9_-]{58}(?![A-Za-z0-9_-])")


@_line_rule("RF-SECRET-HEROKU", "A Heroku API key.", ("hrku-",))
def heroku(line: str, ctx: Context) -> list[Span]:
    """``HRKU-AA`` then 58 characters (the 2024 format). Older keys are bare UUIDs, found
    by RF-SECRET-ASSIGNMENT when named (``HEROKU_API_KEY=``)."""
    return _spans(_HEROKU, line, _random)


_DISCORD = lazy(r"(?<![A-Za-z0-9_.-])[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}(?![A-Za-z0-9_-])")


@_line_rule("RF-SECRET-DISCORD", "A Discord bot token.", ("discord",))
def discord(line: str, ctx: Context) -> list[Span]:
    """On a line that names Discord, a token of three dot-separated parts whose first part
    is the base64 of the bot's numeric id."""
    return _spans(_DISCORD, line, lambda v: _b64_digits(v.partition(".")[0]) and _random(v))


def _b64_digits(part: str) -> bool:
    decoded = _b64decode(part)
    return decoded is not None and 16 <= len(decoded) <= 20 and decoded.isdigit()


def _b64decode(part: str) -> bytes | None:
    from binascii import Error, a2b_base64

    try:
        return a2b_base64(part.replace("-", "+").replace("_", "/") + "=" * (-len(part) % 4))
    except (Error, ValueError):
        return None


_TELEGRAM = lazy(r"(?<![A-Za-z0-9_:])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])")


@_line_rule("RF-SECRET-TELEGRAM", "A Telegram bot token.", (":aa",))
def telegram(line: str, ctx: Context) -> list[Span]:
    """The bot's numeric id, a colon, then ``AA`` and 33 characters."""
    return _spans(_TELEGRAM, line, _random)


_JWT = lazy(r"(?<![A-Za-z0-9_.-])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_.-])")


@_line_rule("RF-SECRET-JWT", "A signed JSON Web Token.", ("eyj",), rank=25)
def jwt(line: str, ctx: Context) -> list[Span]:
    """Three base64url parts joined by dots, whose first part decodes to a JSON header with
    an ``alg`` other than ``none``, and a signature of 16 or more characters. jwt.io's
    sample token is not a secret."""
    return _spans(_JWT, line, _jwt_value)


def _jwt_value(value: str) -> bool:
    import json

    header = _b64decode(value.partition(".")[0])
    if header is None or _dummy(value):
        return False
    try:
        fields = json.loads(header)
    except ValueError:
        return False
    return isinstance(fields, dict) and isinstance(fields.get("alg"), str) and fields["alg"].lower() != "none"


# ---------------------------------------------------------------- context rules

_PLACEHOLDER_WORDS = frozenset({
    "password", "passwd", "pass", "pwd", "secret", "secrets", "token", "key", "apikey", "api", "changeme", "none",
    "null", "nil", "undefined", "true", "false", "yes", "no", "on", "off", "test", "tests", "testing", "dummy",
    "example", "examples", "sample", "fake", "mock", "placeholder", "redacted", "hidden", "masked", "todo",
    "fixme", "tbd", "foo", "bar", "baz", "foobar", "admin", "root", "guest", "default", "empty", "string", "str",
    "value", "your", "here", "insert", "replace", "demo", "invalid", "required", "optional", "postgres",
    "mysql", "redis", "user", "username", "qwerty", "letmein", "hunter2", "s3cr3t", "xxx", "abc", "abc123",
    "bytes", "int", "bool", "text", "env", "environ", "getenv", "config", "settings", "geheim", "passwort",
    "parole", "contrasena", "motdepasse", "senha", "segreto", "sensitive",
})
_PERCENT = lazy(r"%([0-9A-Fa-f]{2})")
_TRAILING_DIGITS = lazy(r"\d+$")
_REFERENCE = lazy(
    r"(?i)\$\{|\$\(|\{\{|\}\}|\{%|%\(|%s\b|<%|#\{|\{[0-9a-z_]*\}|os\.environ|getenv|process\.env|\benv\(|env\[|"
    r"environ\[|settings\.|secrets\.|vault:|op://|ssm:|arn:aws:|keyvault|^!|^\$[A-Za-z_]|(?-i:^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$)"
)
_PATH_LIKE = lazy(r"(?i)^(?:/|\./|\.\./|~/|[a-z]:\\|file:|https?://)|\.(?:pem|key|crt|cer|p12|pfx|json|txt|ya?ml|env|jks|der|pub)$")
_HASH_LIKE = lazy(r"(?i)^(?:sha1|sha224|sha256|sha384|sha512|md5|blake2b?)[-:=]|^\$2[aby]?\$|^\$argon2|^\$[156]\$|^\$pbkdf2")
_WORD_SPLIT = lazy(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = lazy(r"[^A-Za-z0-9]+")
_GITHUB_SHAPE = lazy(r"(?:gh[pousr]|npm)_[A-Za-z0-9]{36}")


def _placeholder(value: str) -> bool:
    """A value that stands for a secret rather than being one (see the module docstring)."""
    if len(value) < 3 or _dummy(value) or _REFERENCE.search(value) is not None:
        return True
    if _PATH_LIKE.search(value) is not None or _HASH_LIKE.search(value) is not None:
        return True
    if "%" in value:  # percent-encoded, as in a URL: "a%20secret"
        value = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), value)
    words = [_TRAILING_DIGITS.sub("", w.lower()) for w in _WORD_SPLIT.compiled.split(value) if w]
    if not words:
        return True
    # "password1", "your_api_key", "dummyPassword" are placeholders; a short word that is only
    # a camel-case piece of a random value ("no" in "noCOVoBfsh...") is chance, not a word
    segments = {_TRAILING_DIGITS.sub("", w.lower()) for w in _SEPARATORS.compiled.split(value)}
    if any(w in _PLACEHOLDER_WORDS and (len(w) >= 4 or w in segments) for w in words):
        return True
    if value.isdigit():
        return True
    return _GITHUB_SHAPE.fullmatch(value) is not None and not _checksum_ok(value[4:])  # a decoy token


_PASSWORD_NAMES = ("password", "passwd", "passphrase", "passcode", "pwd")
_TOKEN_NAMES = (
    "secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "signingkey", "encryptionkey", "masterkey",
    "accountkey", "authkey", "appkey", "consumerkey", "sharedkey", "hmackey", "sessionkey", "jwtkey", "webhookkey",
    "clientkey", "credential", "credentials", "apitoken", "storagekey", "subscriptionkey", "licensekey", "deploykey",
    "ingestkey", "writekey", "adminkey", "servicekey", "cryptkey",
)
_IGNORED_TAIL = frozenset({"value", "base", "b64", "base64", "hex", "raw", "str", "string", "plain", "plaintext"})
# Names that are not credentials: a pagination, cancellation or tokenizer's token just
# before the last word (``next_page_token``, ``eos_token``), public keys, and flags or
# counts about a secret (``use_password``, ``max_tokens``).
_NOT_CREDENTIAL = frozenset({
    "page", "next", "prev", "previous", "continuation", "sync", "cancellation", "cancel", "bos", "eos", "pad",
    "unk", "sep", "cls", "mask", "start", "end", "stop", "special", "csrf", "xsrf",
})
_PUBLIC = frozenset({"public", "publishable", "pub"})
_NOT_A_VALUE = frozenset({"is", "has", "use", "no", "show", "hide", "max", "min", "num", "count", "require", "allow"})


def secret_name(key: str) -> str | None:
    """``"password"`` or ``"token"`` when ``key`` (a variable, field or setting name) names
    a secret, else None: ``DB_PASSWORD``, ``apiKey``, ``secret_key_base``,
    ``AWS_SECRET_ACCESS_KEY``, ``//registry/:_authToken`` do; ``token_type``,
    ``password_file``, ``max_tokens``, ``next_page_token``, ``public_key`` do not."""
    words = [w.lower() for w in _WORD_SPLIT.compiled.split(key) if w]
    while len(words) > 1 and words[-1] in _IGNORED_TAIL:
        words.pop()
    if not words or words[0] in _NOT_A_VALUE or _PUBLIC.intersection(words):
        return None
    if len(words) > 1 and words[-2] in _NOT_CREDENTIAL:
        return None
    last = words[-1]
    if last == "pass" or last.endswith(_PASSWORD_NAMES):
        return "password"
    if "".join(words[-3:]).endswith(_TOKEN_NAMES) or last == "auth" and (key == "_auth" or key.endswith(":_auth")):
        return "token"
    return None


def _secret_value(kind: str, value: str, strict: bool = False) -> bool:
    """A password of 6+ characters or a token of 8+, without spaces, with two kinds of
    character (lowercase, uppercase, digits, others) or 16+ characters, and 5+ distinct
    characters; and not a placeholder. ``strict`` (source code and prose, where examples
    abound) also wants a digit or a symbol: ``password='IAmSensitive'`` is an example."""
    if len(value) < (6 if kind == "password" else 8) or len(set(value)) < 5:
        return False
    if any(c.isspace() for c in value):
        return False
    if not (_mixed(value) or len(value) >= 16):
        return False
    if strict and value.isalpha():
        return False
    return not _placeholder(value)


_QUOTED = lazy(
    r"""(?P<key>"[^"\n]{1,80}"|'[^'\n]{1,80}'|(?<![\w$@.-])[A-Za-z_$@][\w.$@-]{0,80})\]?"""
    r"""\s*(?::\s*[A-Za-z_][\w.\[\], |]{0,40}?\s*(?==(?!=)))?(?:=>|:=|=(?!=)|:)\s*"""
    r"""(?:"(?P<v1>(?:[^"\\\n]|\\.){1,400})"|'(?P<v2>(?:[^'\\\n]|\\.){1,400})'|`(?P<v3>[^`\n]{1,400})`)"""
)
_UNQUOTED = lazy(
    r"""^[ \t]*(?:export[ \t]+|set[ \t]+|ENV[ \t]+|-[ \t]+)?"""
    r"""(?P<key>[A-Za-z_/][\w.:/-]{0,120}|"[^"\n]{1,80}"|'[^'\n]{1,80}')[ \t]*[:=][ \t]*"""
    r"""(?P<value>[^\s"'`#;|>&!*{\[(][^\s]{0,400})"""
)
_DEFINE = lazy(r"""define\(\s*['"](?P<key>\w+)['"]\s*,\s*(?:'(?P<v1>[^'\n]{1,400})'|"(?P<v2>[^"\n]{1,400})")""")
_XML = lazy(r"<(?P<key>[\w.:-]{1,80})>(?P<value>[^<\s]{1,400})</(?P=key)>")
_CONNECTION = lazy(r"(?i)(?:^|[;\s\"'])(?:password|pwd)\s*=\s*(?P<value>[^;\"'\s]{1,200})\s*(?=;|[\"']|$)")
_ASSIGNMENT_ANCHORS = (
    "passw", "passphrase", "passcode", "_pass", "pass_", "-pass", ".pass", "pass=", "pass:", "pwd", "secret", "token",
    "credential", "api_key", "api-key", "apikey", "access_key", "access-key", "accesskey", "private_key",
    "private-key", "privatekey", "signing_key", "signingkey", "encryption_key", "encryptionkey", "master_key",
    "masterkey", "account_key", "auth_key", "authkey", "app_key", "appkey", "consumer_key", "hmac_key",
    "session_key", "license_key", "subscription_key", "deploy_key",
)


_NETRC_NAMES = frozenset({".netrc", "_netrc", ".authinfo"})
_NETRC_PASSWORD = lazy(r"(?:^|\s)password\s+(?P<value>[^\s\"']{1,400})")


@_line_rule("RF-SECRET-ASSIGNMENT", "A password, token or key written in a file.", _ASSIGNMENT_ANCHORS, rank=10)
def assignment(line: str, ctx: Context) -> list[Span]:
    """A literal value given to a name that says password, secret, token or key: dotenv and
    shell (``DB_PASSWORD=...``, ``export TOKEN=...``), JSON (``"apiKey": "..."``), YAML
    (``password: ...``), INI/TOML/properties (``secret_key = ...``), source code
    (``password="..."``, ``const apiKey = '...'``, PHP ``define('DB_PASSWORD', '...')``), XML
    elements (``<password>...</password>``, Maven's ``settings.xml``), connection strings
    (``...;Password=...;``) and ``password`` tokens of a ``.netrc``. In source code only quoted values count (a
    variable or a call is not a secret). The value needs the shape of a secret (see
    ``_secret_value``) and must not be a placeholder or reference. Lockfiles are skipped."""
    if ctx.format == "lock":
        return []
    strict = ctx.format in ("code", "text")
    found: list[Span] = []
    for match in _QUOTED.finditer(line):
        _add_named(found, match, _quoted_group(match), strict)
    if ctx.format not in ("code", "json") and not ctx.partial:  # it needs the line's start
        start = _UNQUOTED.match(line)
        if start is not None:
            _add_named(found, start, "value", strict)
    if "define" in line:
        for match in _DEFINE.finditer(line):
            _add_named(found, match, _quoted_group(match), strict)
    if "</" in line:
        for match in _XML.finditer(line):
            _add_named(found, match, "value", strict)
    if ";" in line:
        for match in _CONNECTION.finditer(line):
            if _secret_value("password", match.group("value"), strict):
                found.append(match.span("value"))
    if ctx.path.rpartition("/")[2].lower() in _NETRC_NAMES:
        for match in _NETRC_PASSWORD.finditer(line):
            if _secret_value("password", match.group("value")):
                found.append(match.span("value"))
    return found


def _quoted_group(match: re.Match[str]) -> str:
    return next(name for name in ("v1", "v2", "v3") if match.groupdict().get(name) is not None)


def _add_named(found: list[Span], match: re.Match[str], group: str, strict: bool) -> None:
    kind = secret_name(match.group("key").strip("\"'"))
    if kind is None:
        return
    start = match.start(group)
    value = match.group(group)
    if group == "value":  # unquoted: a trailing comma or semicolon is syntax
        value = value.rstrip(",;")
    if _secret_value(kind, value, strict):
        found.append((start, start + len(value)))


_URL = lazy(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://(?P<user>[^\s:/@\"'<>`]{0,100}):(?P<password>[^\s/@\"'<>`]{1,200})@(?=[A-Za-z0-9\[])")


@_line_rule("RF-SECRET-URL-PASSWORD", "A password in a URL.", ("://",), rank=20)
def url_password(line: str, ctx: Context) -> list[Span]:
    """The password of ``scheme://user:password@host``: database URLs (``postgres://``,
    ``mysql://``, ``mongodb+srv://``, ``redis://:password@``, ``amqp://``) and any other
    (``https://user:token@host``). Placeholders (``user:password@``, ``${DB_PASSWORD}``)
    and a password equal to the user name (``postgres:postgres@``) are not reported."""
    if "@" not in line:
        return []
    found = []
    for match in _URL.finditer(line):
        password = match.group("password")
        if password != match.group("user") and len(password) >= 3 and not _placeholder(password):
            found.append(match.span("password"))
    return found


_REGISTRY_AUTH = lazy(r"\"auth\"\s*:\s*\"(?P<value>[A-Za-z0-9+/]{8,600}={0,2})\"")


@_line_rule("RF-SECRET-REGISTRY-AUTH", "A registry login (user:password in base64).", ('"auth"',), rank=15)
def registry_auth(line: str, ctx: Context) -> list[Span]:
    """The ``"auth"`` value of a container registry's credentials (``.docker/config.json``,
    ``containers/auth.json``, a Kubernetes ``.dockerconfigjson``): ``user:password`` in
    base64. Only a value that decodes to printable ``user:password`` with a password that is
    not a placeholder counts."""
    return _spans(_REGISTRY_AUTH, line, _basic_credentials, "value")


def _basic_credentials(value: str) -> bool:
    import base64
    import binascii

    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    user, colon, password = decoded.partition(":")
    return bool(colon and user and decoded.isprintable()) and len(password) >= 4 and not _placeholder(password)


_AUTH_HEADER = lazy(r"(?i)\bauthorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|bot)\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})")


@_line_rule("RF-SECRET-AUTH-HEADER", "A credential in an Authorization header.", ("authorization",), rank=15)
def auth_header(line: str, ctx: Context) -> list[Span]:
    """The credential of an ``Authorization: Bearer ...``, ``Basic ...``, ``token ...``
    or ``Bot ...`` header written out (a ``curl -H``, an HTTP file, a config), when it is
    not a placeholder or a variable."""
    if ctx.format == "lock":
        return []
    return _spans(_AUTH_HEADER, line, lambda v: _mixed(v) and not _placeholder(v), "value")
