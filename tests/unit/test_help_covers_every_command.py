"""/help can list a command only if it knows who may use it and how to explain it."""

from __future__ import annotations

import importlib

from commands import help as help_module
from commands import permissions
from commands.i18n import translator
from commands.router import COMMAND_MODULES

# Typed inside a conversation or before linking; not features a person looks up in /help.
CONTROL_WORDS = {"back", "skip", "cancel", "start"}


def _registered_commands() -> set[str]:
    names: set[str] = set()
    for module_name in COMMAND_MODULES:
        names |= set(getattr(importlib.import_module(module_name), "COMMANDS", {}))
    return names - CONTROL_WORDS


def test_every_registered_command_says_which_roles_may_use_it() -> None:
    missing = sorted(_registered_commands() - set(permissions.COMMAND_ROLES))
    assert missing == [], f"add these to commands.permissions.COMMAND_ROLES: {missing}"


def test_every_registered_command_has_a_help_line_with_an_example() -> None:
    missing = sorted(_registered_commands() - set(help_module.entries(translator("en"))))
    assert missing == [], f"add these to commands.help.entries: {missing}"
