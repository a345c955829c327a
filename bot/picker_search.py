"""Finding people in a long picker by what was typed (Slack's type-ahead, a name typed in Telegram).

A picker is a run of buttons of one action whose labels are names, perhaps with a period and
a mark after them (``王小红 (2026-11) ✓``). :func:`search` ranks the buttons whose name
matches the typed text: the name itself first, then names starting with it, then names
containing it; case, width (``ＡＢ`` = ``ab``) and spaces do not count, so ``wang x`` finds
``Wang Xiaohong`` and ``小红`` finds ``王小红``. Pure functions, shared by both adapters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from commands.messages import Button

_MARKS = re.compile(r"(\s+(\([^()]*\)|✓))+\s*$")
"""What a picker's label carries after the name: `` (2026-11)``, `` ✓``."""


def name_of(label: str) -> str:
    """The name in a picker's label: ``王小红 (2026-11) ✓`` → ``王小红``."""
    return _MARKS.sub("", label).strip() or label.strip()


def folded(text: str) -> str:
    """For comparing: NFKC (full-width letters as ASCII), case-folded, without spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def search(buttons: Sequence[Button], typed: str) -> list[Button]:
    """The buttons whose name matches ``typed``, best first (the name exactly, then a name
    starting with it, then one containing it; in the picker's own order within each); every
    button, in order, for an empty query."""
    query = folded(typed)
    if not query:
        return list(buttons)
    ranked: list[tuple[int, int, Button]] = []
    for index, button in enumerate(buttons):
        name = folded(name_of(button.label))
        if name == query:
            rank = 0
        elif name.startswith(query):
            rank = 1
        elif query in name or query in folded(button.label):
            rank = 2
        else:
            continue
        ranked.append((rank, index, button))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [button for _rank, _index, button in ranked]


def the_one(buttons: Sequence[Button], typed: str) -> Button | None:
    """The one button ``typed`` means: the only match, or the only one whose name it is
    exactly (``李明`` among ``李明`` and ``李明华``); ``None`` when it could be several or none."""
    found = search(buttons, typed)
    if len(found) == 1:
        return found[0]
    exact = [b for b in found if folded(name_of(b.label)) == folded(typed)]
    return exact[0] if len(exact) == 1 else None
