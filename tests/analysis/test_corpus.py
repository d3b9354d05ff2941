"""The labelled corpus (bench/corpus) through the risk analyser: issue 4's quality targets
(recall >= 98 % on dangerous commands, <= 3 % of benign ones flagged) held per family and
per area, so a rule change that loses a family or starts flagging everyday work fails here.
Quality only: speed is measured in bench/permissions.py, never asserted in a test."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from ringfence.analysis.bash import parse
from ringfence.analysis.risk import FAMILIES, verdict

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "corpus"
RECALL = 0.98
FLAGGED = 0.03


def _rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (CORPUS / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _decision(command: str) -> str:
    found = verdict(parse(command))
    return "allow" if found is None else found[0]


@pytest.fixture(scope="module")
def dangerous() -> dict[str, list[tuple[str, str]]]:
    """family -> [(command, decision)]"""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in _rows("dangerous.jsonl"):
        out[row["family"]].append((row["cmd"], _decision(row["cmd"])))
    return out


@pytest.fixture(scope="module")
def benign() -> dict[str, list[tuple[str, str]]]:
    """area -> [(command, decision)]"""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in _rows("benign.jsonl"):
        out[row["area"]].append((row["cmd"], _decision(row["cmd"])))
    return out


def test_the_corpus_is_well_formed() -> None:
    done = subprocess.run([sys.executable, str(CORPUS / "check.py"), str(CORPUS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_risk_family_has_labelled_commands(dangerous: dict[str, list[tuple[str, str]]]) -> None:
    families = set(FAMILIES) - {"unparseable"}
    assert set(dangerous) == families
    assert all(len(dangerous[f]) >= 45 for f in families)


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "unparseable"])
def test_recall_per_family(family: str, dangerous: dict[str, list[tuple[str, str]]]) -> None:
    rows = dangerous[family]
    missed = [command for command, decision in rows if decision == "allow"]
    recall = 1 - len(missed) / len(rows)
    assert recall >= RECALL, f"{family}: recall {recall:.1%}, missed:\n" + "\n".join(missed)


def test_recall_overall(dangerous: dict[str, list[tuple[str, str]]]) -> None:
    rows = [decision for family in dangerous.values() for _, decision in family]
    assert sum(d != "allow" for d in rows) / len(rows) >= RECALL


@pytest.mark.parametrize("area", ["build", "data", "edit", "git", "inspect", "package", "runtime", "shell", "test"])
def test_benign_flagged_per_area(area: str, benign: dict[str, list[tuple[str, str]]]) -> None:
    rows = benign[area]
    flagged = [f"{decision}: {command}" for command, decision in rows if decision != "allow"]
    assert len(rows) >= 100
    assert len(flagged) / len(rows) <= FLAGGED, f"{area}: {len(flagged)}/{len(rows)} flagged:\n" + "\n".join(flagged)


def test_benign_flagged_overall(benign: dict[str, list[tuple[str, str]]]) -> None:
    rows = [decision for area in benign.values() for _, decision in area]
    assert sum(d != "allow" for d in rows) / len(rows) <= FLAGGED


def test_nothing_benign_is_denied(benign: dict[str, list[tuple[str, str]]]) -> None:
    """A deny on everyday work would stop an agent outright: none is acceptable."""
    denied = [command for area in benign.values() for command, decision in area if decision == "deny"]
    assert denied == []
