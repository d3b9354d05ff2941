"""The shape of every family's table: dangerous commands with the rule they must trip, and
benign look-alikes that must trip nothing in the family."""

from __future__ import annotations

from ringfence.analysis.bash import parse
from ringfence.analysis.risk import Finding, Severity, analyze


def family_findings(command: str, family: str) -> list[Finding]:
    return [f for f in analyze(parse(command)) if f.family == family]


def check_dangerous(command: str, rule_id: str, family: str) -> None:
    found = family_findings(command, family)
    assert rule_id in {f.rule for f in found}, (command, [(f.rule, f.message) for f in found])


def check_benign(command: str, family: str) -> None:
    found = family_findings(command, family)
    assert not [f for f in found if f.severity > Severity.LOW], (command, [(f.rule, f.message) for f in found])
