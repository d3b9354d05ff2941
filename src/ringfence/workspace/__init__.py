"""The workspace: credential files and secrets found before the agent sees them.

``scan`` walks a folder (``scan.scan``: a ``ScanResult`` of ``Finding`` records, or
``ScanError``); ``report`` renders results (JSON contract, SARIF 2.1.0, a table); ``mask``
says what the agent sees masked; ``copy`` makes a sanitized copy. The rules themselves are
``credfiles`` (credential files by name) and ``secrets`` (by content), and ``ignore`` reads
``.ringfenceignore``. Nothing is imported here: ``ringfence run`` needs only ``mask.Masks``
in its main process.
"""
