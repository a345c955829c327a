"""``/help``: the commands this person may use, each with what it does and an example (both
declared with the command, :class:`commands.context.Command`)."""

from __future__ import annotations

from commands import permissions
from commands.context import Command, Context
from commands.messages import Reply
from commands.permissions import N_


def help_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    lines = [_("What you can do here:")]
    listed = [c for c in ctx.commands.values() if c.what]
    for name in permissions.allowed_commands(ctx.actor, listed):
        command = ctx.commands[name]
        lines.append(f"/{name} — {_(command.what)}")
        lines.append(_("   for example: {example}", example=_(command.example)))
    return [Reply(text="\n".join(lines), ephemeral=True)]


COMMANDS: tuple[Command, ...] = (
    Command(
        "help",
        help_command,
        permissions.ALL,
        what=N_("this list"),
        example="/help",
        menu=N_("What you can do here"),
        menu_rank=10,
    ),
)
