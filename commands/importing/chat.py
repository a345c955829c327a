"""``/import`` in chat, for admins: the imports of a team, undo one.

    /import list [TEAM] [2026-10]
    /import undo N

The same service functions as ``kpibot import list`` / ``kpibot import undo N``
(:func:`~commands.importing.store.list_imports`, :func:`~commands.importing.store.undo_import`),
so chat and CLI answer the same. Importing a file is ``kpibot import FILE`` for now
(sending the file to the bot in a DM is issue 15's item still open).
"""

from __future__ import annotations

import re

from commands import permissions
from commands.context import Context, Handler
from commands.importing.store import list_imports, undo_import
from commands.messages import Reply
from storage import repo

_PERIOD = re.compile(r"^\d{4}-(\d{2}|Q[1-4])$", re.IGNORECASE)


def import_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    decision = permissions.can_administer(ctx.actor)
    if not decision:
        return [permissions.refusal(decision, _)]
    words = args.split()
    usage = _("Usage: /import list [TEAM] [2026-10] · /import undo N · files are imported with kpibot import FILE")
    if words[:1] == ["list"] and len(words) <= 3:
        rest = words[1:]
        period = next((w.upper() for w in rest if _PERIOD.match(w)), None)
        names = [w for w in rest if not _PERIOD.match(w)]
        if len(names) > 1:
            return [Reply(text=usage, ephemeral=True)]
        if names:
            team_name = names[0]
        else:
            team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
            assert team is not None
            team_name = team.name
        listing = list_imports(ctx.session, team=team_name, period_key=period)
        return [Reply(text="\n".join(listing.lines(ctx.lang)), ephemeral=True)]
    if words[:1] == ["undo"] and len(words) == 2:
        number = words[1].lstrip("#")
        if not number.isdigit():
            return [Reply(text=usage, ephemeral=True)]
        report = undo_import(ctx.session, import_id=int(number), actor=repo.actor_of(ctx.actor),
                             lang=ctx.lang, now=ctx.now)
        return [Reply(text="\n".join(report.lines(ctx.lang)), ephemeral=not report.ok)]
    return [Reply(text=usage, ephemeral=True)]


COMMANDS: dict[str, Handler] = {"import": import_command}
