"""Every command says who may run it and how /help explains it; none exists without roles."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy.engine import Engine

from commands import permissions, registry
from commands.context import AppConfig, Command, Context
from commands.i18n import catalog
from commands.messages import Reply
from commands.router import collect

# Typed inside a conversation or before linking; not features a person looks up in /help.
CONTROL_WORDS = {"back", "skip", "cancel", "start"}


def _noop(ctx: Context, args: str) -> list[Reply]:
    return []


def test_every_command_of_the_registry_is_a_declaration_with_roles() -> None:
    declared = collect(registry.MODULES).commands
    assert set(declared) >= {"help", "review", "export", "inbox"} | CONTROL_WORDS
    assert all(isinstance(c, Command) and c.roles for c in declared.values())


def test_every_command_but_the_control_words_has_a_help_line_with_an_example() -> None:
    declared = registry.commands()
    missing = sorted(n for n, c in declared.items() if not c.what and n not in CONTROL_WORDS)
    assert missing == [], f"declare what these do and an example: {missing}"
    zh = catalog("zh")
    untranslated = [c.what for c in declared.values() if c.what and zh.gettext(c.what) == c.what]
    assert untranslated == []


def test_every_refusal_and_menu_line_has_a_chinese_translation() -> None:
    zh = catalog("zh")
    texts = [t for c in registry.commands().values() for t in (c.refusal, c.menu) if t]
    assert texts and [t for t in texts if zh.gettext(t) == t] == []


def test_a_command_handler_without_a_role_declaration_is_refused_at_start_up() -> None:
    """Before: a command missing from COMMAND_ROLES was open to every role."""
    module = SimpleNamespace(__name__="m", COMMANDS={"secret": _noop})
    with pytest.raises(ValueError, match="Command declarations"):
        collect([module])  # type: ignore[list-item]


@pytest.mark.parametrize("roles", [(), ("agent", "superuser"), ("Admin",)])
def test_a_command_declared_with_no_or_an_unknown_role_fails_at_start_up(
    roles: tuple[str, ...],
) -> None:
    with pytest.raises(ValueError, match="roles"):
        Command("secret", _noop, roles)


def test_an_undeclared_command_is_refused_to_everyone_even_an_admin() -> None:
    admin = SimpleNamespace(id=1, team_id=1, role="admin", manager_id=None, active=True)
    assert not permissions.can_use(admin, None)
    declared = Command("secret", _noop, permissions.ADMINS)
    assert permissions.can_use(admin, declared)
    agent = SimpleNamespace(id=2, team_id=1, role="agent", manager_id=None, active=True)
    assert not permissions.can_use(agent, declared)


def test_a_router_serves_only_declared_commands(engine: Engine) -> None:
    from commands.router import Router

    with pytest.raises(ValueError, match="Command declarations"):
        Router(engine, AppConfig(), modules=[SimpleNamespace(__name__="m", COMMANDS={"x": _noop})])  # type: ignore[list-item]
