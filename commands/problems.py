"""What is wrong with an admin's request, in the asker's language (chat and command line).

A :class:`Problem` is an English msgid with parameters (``row`` for a file); an
:class:`AdminError` carries every problem of one request. ``commands.admin`` (teams, members,
periods) and ``commands.aliases`` (accounts in exports) raise them; ``kpibot team …`` /
``kpibot member …`` print them. A leaf: it imports no command module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from commands.i18n import Translate
from storage.models import ROLE_VALUES


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: an English msgid with parameters (``row`` for a file)."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    row: int | None = None

    def text(self, _: Translate) -> str:
        params = dict(self.params)
        if params.get("role") in ROLE_VALUES:  # people read 客服, not agent
            params["role"] = role_name(_, str(params["role"]))
        body = _(self.message, **params)
        return (
            _("row {row}: {problem}", row=self.row, problem=body) if self.row is not None else body
        )


class AdminError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    def lines(self, _: Translate) -> list[str]:
        return [p.text(_) for p in self.problems]


def role_name(_: Translate, role: str) -> str:
    names = {
        "agent": _("agent"),
        "manager": _("manager"),
        "admin": _("admin"),
        "qa": _("quality inspector"),
    }
    return names.get(role, role)
