"""Conversational forms: declared questions (``spec``) walked by one engine (``engine``).

As a command module it contributes the ``form:*`` buttons, the plain-text answers of an
active conversation, and ``/back``, ``/skip``, ``/cancel`` typed during a form.
"""

from __future__ import annotations

from commands import permissions
from commands.context import Command, Handler
from commands.forms.engine import OPS, control_command, on_action, on_text, start
from commands.forms.spec import N_, Field, FormDefinition, Localized, Option

COMMANDS: tuple[Command, ...] = (
    Command("back", control_command("back"), permissions.ALL),
    Command("skip", control_command("skip"), permissions.ALL),
    Command("cancel", control_command("cancel"), permissions.ALL),
)
ACTIONS: dict[str, Handler] = {"form": on_action}
ACTION_IDS: dict[str, tuple[str, ...]] = {
    f"form:{op}": ("conversation", "step", "text") for op in OPS
}
TEXT_HANDLER: Handler = on_text

__all__ = [
    "ACTION_IDS",
    "ACTIONS",
    "COMMANDS",
    "TEXT_HANDLER",
    "Field",
    "FormDefinition",
    "Localized",
    "N_",
    "Option",
    "start",
]
