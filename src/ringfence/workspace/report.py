"""How a scan is shown: the JSON contract, SARIF 2.1.0 and a table for a person.

None of them ever holds a secret: a finding is its rule, file, line and fingerprint.
The JSON is a contract (tests outside this repository read it)::

    {"findings": [{"rule": "...", "kind": "file"|"content", "file": "path relative to PATH",
                   "line": 12 or null, "fingerprint": "..."}], "files_scanned": N}
"""

from __future__ import annotations

from ringfence import __version__

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from ringfence.workspace.scan import Finding, ScanResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/ringfence/ringfence"


def as_json(result: ScanResult) -> dict[str, object]:
    """The contract above, findings in file and line order."""
    return {
        "findings": [
            {"rule": f.rule, "kind": f.kind, "file": f.file, "line": f.line, "fingerprint": f.fingerprint}
            for f in result.findings
        ],
        "files_scanned": result.files_scanned,
    }


def as_sarif(result: ScanResult) -> dict[str, object]:
    """A SARIF 2.1.0 log of one run, for code-scanning tools: a rule per rule id used,
    a result per finding located relative to ``%SRCROOT%`` (the scanned folder), the
    fingerprint as a partial fingerprint."""
    from pathlib import Path
    from urllib.parse import quote

    rule_ids = sorted({f.rule for f in result.findings})
    titles = {f.rule: f.title for f in result.findings}
    index = {rule: i for i, rule in enumerate(rule_ids)}
    rules = [
        {
            "id": rule,
            "name": _camel(rule),
            "shortDescription": {"text": titles[rule]},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "secret"]},
        }
        for rule in rule_ids
    ]
    results = [_result(f, index[f.rule], quote(f.file)) for f in result.findings]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "ringfence", "version": __version__, "semanticVersion": __version__,
                                    "informationUri": INFORMATION_URI, "rules": rules}},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(result.root).as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _result(finding: Finding, rule_index: int, uri: str) -> dict[str, object]:
    location: dict[str, object] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
    if finding.line is not None:
        location["region"] = {"startLine": finding.line}
    what = "a credential file" if finding.kind == "file" else f"a secret on line {finding.line}"
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": "error",
        "kind": "fail",
        "message": {"text": f"{finding.title} ({what}; fingerprint {finding.fingerprint})"},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {"ringfence/v1": finding.fingerprint},
    }


def _camel(rule: str) -> str:
    """``RF-SECRET-AWS-KEY`` -> ``RfSecretAwsKey`` (SARIF's rule ``name`` is an identifier)."""
    return "".join(part.capitalize() for part in rule.replace("_", "-").split("-") if part)


def table(result: ScanResult) -> str:
    """Findings for a person: one line each, then a summary with the next step."""
    lines = []
    if result.findings:
        width = max(len(_where(f)) for f in result.findings)
        rule_width = max(len(f.rule) for f in result.findings)
        for f in result.findings:
            lines.append(f"{_where(f):<{width}}  {f.rule:<{rule_width}}  {f.title}  [{f.fingerprint}]")
        lines.append("")
    files = sum(1 for f in result.findings if f.kind == "file")
    secrets = len(result.findings) - files
    summary = (f"{result.files_scanned:,} file{'s' if result.files_scanned != 1 else ''} scanned: "
               f"{files} credential file{'s' if files != 1 else ''}, {secrets} secret{'s' if secrets != 1 else ''}")
    if result.allowed:
        summary += f" ({result.allowed} more allowed by ringfence:allow comments)"
    lines.append(summary + ".")
    for file, why in result.skipped:
        lines.append(f"skipped {file}: {why}")
    if result.findings:
        lines.append("Secrets are never shown. Allow one with a `# ringfence:allow` comment on its line; "
                     "leave paths out with .ringfenceignore (credential files are always reported).")
    return "\n".join(lines) + "\n"


def _where(finding: Finding) -> str:
    return finding.file if finding.line is None else f"{finding.file}:{finding.line}"
