"""The workspace: credential files and secrets found before the agent sees them.

Public names: ``scan`` (a folder to a ``ScanResult``), ``Finding``, ``ScanResult``,
``ScanError``; ``report`` renders results (JSON contract, SARIF 2.1.0, a table). The rules
themselves are ``credfiles`` (credential files by name) and ``secrets`` (by content), and
``ignore`` reads ``.ringfenceignore``.
"""

from __future__ import annotations

from ringfence.workspace.scan import Finding, ScanError, ScanResult, scan

__all__ = ["Finding", "ScanError", "ScanResult", "scan"]
