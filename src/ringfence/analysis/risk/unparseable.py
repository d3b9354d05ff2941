"""Commands the parser cannot vouch for.

A command that does not parse, is longer than 10,000 characters, hides characters
(control, invisible or look-alike Unicode, ANSI-C ``$'...'`` quoting), computes its own
command name or flags, evals a string only known at run time, or otherwise keeps what it
runs from a reader is never allowed automatically: ringfence asks, with the parser's own
sentence as the reason. The ``obfuscation`` family flags the tricks behind some of these
with a higher severity of its own.

RF-PARSE-001 (MEDIUM, ask): one finding per problem the parser reported.
"""

from __future__ import annotations

from ringfence.analysis.risk import Severity, parsed_rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand


@parsed_rule("RF-PARSE-001", Severity.MEDIUM, "The parser cannot vouch for what this command runs.")
def problems(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for sentence in parsed.problems:
        yield -1, sentence
