"""Every command module of kpibot, listed once, explicitly (the router serves exactly these).

Each module declares its chat commands in ``COMMANDS`` (a tuple of
:class:`commands.context.Command`: handler, roles, help line, example, refusal, menu entry) and
may expose ``ACTIONS`` / ``ACTION_IDS`` (buttons), ``TEXT_HANDLER`` (plain text while a
conversation is active), ``UNLINKED_COMMANDS`` (what a not-yet-linked person may run) and
``FORM`` (a conversational form: the engine finds a stored conversation's form among these).
Nothing registers itself on import: a module not listed here serves nothing.

The order is the order of ``/help`` (and of the platforms' menus, after ``menu_rank``); text
handlers are asked in this order too, so the form engine comes first.
"""

from __future__ import annotations

from types import ModuleType

from commands import (
    admin,
    appeal,
    calibration,
    export,
    feedback,
    forms,
    help,
    improve,
    inbox_view,
    linking,
    me,
    peer,
    profile,
    progress,
    rank,
    review,
    schedule_admin,
    scheme_view,
    selfreview,
    simulate,
    survey,
)
from commands.context import Command
from commands.importing import chat as importing_chat
from commands.qa import chat as qa_chat

MODULES: tuple[ModuleType, ...] = (
    forms,
    help,
    profile,
    selfreview,
    peer,
    me,
    simulate,
    scheme_view,
    rank,
    review,
    progress,
    admin,
    linking,
    importing_chat,
    survey,
    qa_chat,
    feedback,
    improve,
    appeal,
    calibration,
    export,
    schedule_admin,
    inbox_view,
)
"""Every command module. (The cycle's hooks are not here: ``commands.cycle.CYCLE`` lists them.)"""


def commands(modules: tuple[ModuleType, ...] = MODULES) -> dict[str, Command]:
    """Every declared command of ``modules`` by name, in order (the router checks the rest)."""
    return {c.name: c for module in modules for c in getattr(module, "COMMANDS", ())}
