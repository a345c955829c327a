"""``/help``: the commands this person may use (``commands.permissions``), each with an example."""

from __future__ import annotations

from commands import permissions
from commands.context import Context, Handler
from commands.i18n import Translate
from commands.messages import Reply


def entries(_: Translate) -> dict[str, tuple[str, str]]:
    """Command → (what it does, an example), in the asker's language."""
    return {
        "help": (_("this list"), "/help"),
        "lang": (_("the language kpibot speaks to you: Chinese or English"), "/lang en"),
        "selfreview": (_("fill your self-review for the period"), "/selfreview"),
        "peer": (_("rate a teammate anonymously"), "/peer"),
        "me": (_("your score explained, number by number"), "/me 2026-10"),
        "simulate": (_("what-if: your score with other numbers (nothing is stored)"), "/simulate refund_ratio=3% avg_response_s=25"),
        "scheme": (_("the scheme that scores you: parts, weights, indicators, targets and what the result leads to"), "/scheme"),
        "rank": (_("a team's ranking with a chart"), "/rank demo 2026-10"),
        "review": (_("review an agent of your team"), "/review @王小红 2026-10"),
        "status": (_("who has done what this period: self-review, manager review, KPI data, ratings, QA; remind those missing"), "/status demo 2026-10"),
        "period": (_("open or close a team's period"), "/period open demo 2026-11"),
        "team": (_("add a team; set its scheme, language, time zone"), "/team set demo lang=en tz=Asia/Shanghai scheme=online_shop"),
        "member": (_("add members, change them, mark someone who left"), _("/member set demo 王小红 role=manager slack=U123")),
        "import": (_("KPI exports: send me the file (caption: team, period, mapping) to import it; list the imports; undo one"), "/import list demo 2026-10"),
        "linkcode": (_("a one-time code that links a member's Telegram account"), "/linkcode demo 王小红"),
        "survey": (_("survey links for your customers (one, a batch, or a QR code)"), "/survey 20"),
        "qa": (_("quality sampling: review samples, or read and dispute your QA results"), "/qa"),
        "feedback": (_("feedback meetings: the prompt, the time, notes and goals; agents acknowledge"), "/feedback Carol"),
        "improve": (_("improvement plans: write yours, or approve and return your team's"), "/improve"),
        "appeal": (_("appeal a part of your published result; managers and admins decide"), "/appeal kpi my response time was 29 s"),
        "calibrate": (_("compare managers' review scores, adjust one with a reason, lock the period"), "/calibrate 2026-10"),
        "export": (_("results, rewards, plans and appeals as a spreadsheet (xlsx or csv)"), "/export demo 2026-10 csv"),
        "schedule": (_("the monthly schedule of a team: when the window opens, reminders, close, results"), "/schedule demo"),
        "runstep": (_("run one step of the monthly schedule now (open, remind, close, publish); results that lack a required part are listed first and wait for confirm or hold"), "/runstep publish demo 2026-10"),
        "pause": (_("pause a team's monthly schedule"), "/pause demo"),
        "resume": (_("resume a team's monthly schedule"), "/resume demo"),
        "inbox": (_("messages waiting for people with no Slack or Telegram account: a list, or one person's in full"), "/inbox 王小红"),
    }  # fmt: skip


def help_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    known = entries(_)
    lines = [_("What you can do here:")]
    for name in permissions.allowed_commands(ctx.actor):
        what, example = known.get(name, ("", f"/{name}"))
        lines.append(f"/{name} — {what}" if what else f"/{name}")
        lines.append(_("   for example: {example}", example=example))
    return [Reply(text="\n".join(lines), ephemeral=True)]


COMMANDS: dict[str, Handler] = {"help": help_command}
