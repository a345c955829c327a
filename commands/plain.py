"""Text without control characters: what kpibot stores from people and prints to a terminal.

A self-review answer, a comment, a survey reference or a name can carry bytes a person never
meant as text: ``ESC [ 2 J`` clears a terminal, ``BEL`` rings, a NUL or ``\\x0b`` makes
openpyxl refuse to save the whole ``.xlsx`` (``IllegalCharacterError``). :func:`printable`
removes C0 controls (except newline and tab), DEL and C1 controls (U+0080–U+009F, which
include the 8-bit CSI); everything else, Chinese included, is kept as it is.
"""

from __future__ import annotations

import re

CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Control characters except ``\\t`` (0x09) and ``\\n`` (0x0a), and the bidirectional
overrides and isolates that make a terminal show text in another order ("Trojan Source")."""


def printable(text: str) -> str:
    """``text`` without control characters; ``\\r\\n`` and a lone ``\\r`` become ``\\n``."""
    return CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str) -> str:
    """:func:`printable`, with every run of whitespace (newlines too) made one space."""
    return " ".join(printable(text).split())
