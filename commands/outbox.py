"""Messages kpibot says on its own go through the outbox: enqueue now, a sender delivers.

    from commands.outbox import enqueue
    enqueue(session, team=team, period=period, member=agent, kind="result",
            reply=Reply(text="…", private=True))        # True: queued; False: already there

A message is one row with a unique key ``<team id>/<period key>/<member id>/<kind>``
(``team`` instead of a member id for the team's channel), so enqueueing the same thing
twice (a step re-run, two replicas) changes nothing and the person hears it once.
``kind`` names what it is (``result``, ``reminder.self.1``, ``manager.table``,
``feedback.prompt`` …); use a new kind for a second message of the same sort.

The :class:`~commands.messages.Reply` is stored as JSON (:func:`reply_to_json`):
text, buttons, private/ephemeral flags, an image or file as base64. A chart can also be
stored by reference (:class:`ChartRef`): a renderer's name from the table in
:mod:`commands.outbox_charts` and its JSON parameters, drawn when the message is sent (a
broadcast of thousands does not store thousands of PNGs). ``bot/sender.py`` delivers the rows.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from commands.messages import Button, ChartRef, Choice, FileAttachment, Image, Question, Reply
from storage import outbox as store

if TYPE_CHECKING:
    from sqlmodel import Session

    from storage.models import Member, Period, Team

ChartRenderer = Callable[["Session", Mapping[str, Any]], Image | None]


TEAM_CHANNEL = "team"


def outbox_key(team: Team, period: Period | None, member: Member | None, kind: str) -> str:
    """The unique key of one message: team / period / person / kind."""
    who = str(member.id) if member is not None else TEAM_CHANNEL
    return f"{team.id}/{period.key if period is not None else '-'}/{who}/{kind}"


def enqueue(
    session: Session,
    *,
    team: Team,
    period: Period | None,
    member: Member | None,
    kind: str,
    reply: Reply,
    chart: ChartRef | None = None,
    not_before: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue ``reply`` for ``member`` (None: the team's channel). ``True`` when queued now,
    ``False`` when the same key was queued before (nothing changes then)."""
    if team.id is None or (member is not None and member.id is None):
        raise ValueError("enqueue needs stored rows (flush the team and member first)")
    if period is not None and period.id is None:
        raise ValueError("enqueue needs a stored period (flush it first)")
    data = reply_to_json(replace(reply, chart=chart) if chart is not None else reply)
    return store.insert_message(
        session=session,
        team_id=team.id,
        period_id=period.id if period is not None else None,
        member_id=member.id if member is not None else None,
        kind=kind,
        key=outbox_key(team, period, member, kind),
        reply=data,
        not_before=not_before,
        now=now,
    )


# --- Reply <-> JSON ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _question_to_json(q: Question) -> dict[str, Any]:
    return {
        "form_id": q.form_id, "conversation_id": q.conversation_id, "field_id": q.field_id,
        "kind": q.kind, "prompt": q.prompt, "step": q.step, "total": q.total, "help": q.help,
        "required": q.required, "choices": [[c.label, c.value] for c in q.choices],
        "minimum": q.minimum, "maximum": q.maximum, "max_length": q.max_length,
        "current": q.current,
    }  # fmt: skip


def _question_from_json(d: Mapping[str, Any]) -> Question:
    return Question(
        form_id=str(d["form_id"]), conversation_id=int(d["conversation_id"]),
        field_id=str(d["field_id"]), kind=cast(Any, d["kind"]), prompt=str(d["prompt"]),
        step=int(d["step"]), total=int(d["total"]), help=str(d.get("help", "")),
        required=bool(d.get("required", True)),
        choices=tuple(Choice(str(label), str(value)) for label, value in d.get("choices", [])),
        minimum=d.get("minimum"), maximum=d.get("maximum"), max_length=d.get("max_length"),
        current=d.get("current"),
    )  # fmt: skip


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A JSON-safe dict of a reply (bytes as base64); :func:`reply_from_json` reverses it."""
    data: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        data["buttons"] = [
            {"label": b.label, "action": b.action, "value": b.value, "style": b.style}
            for b in reply.buttons
        ]
    if reply.image is not None:
        data["image"] = {
            "filename": reply.image.filename,
            "data": _b64(reply.image.data),
            "alt": reply.image.alt,
        }
    if reply.file is not None:
        data["file"] = {
            "filename": reply.file.filename,
            "data": _b64(reply.file.data),
            "mime": reply.file.mime,
        }
    if reply.question is not None:
        data["question"] = _question_to_json(reply.question)
    if reply.form:
        data["form"] = [_question_to_json(q) for q in reply.form]
    if reply.errors:
        data["errors"] = dict(reply.errors)
    for flag in ("private", "ephemeral", "replace"):
        if getattr(reply, flag):
            data[flag] = True
    if reply.relist:
        data["relist"] = reply.relist
    if reply.chart is not None:
        data["chart"] = {"name": reply.chart.name, "params": dict(reply.chart.params)}
    return data


def reply_from_json(data: Mapping[str, Any], *, image: Image | None = None) -> Reply:
    """The reply stored by :func:`reply_to_json`; ``image`` fills in a chart drawn at send time
    (the reply then has no chart left to draw)."""
    stored_image = data.get("image")
    if image is None and stored_image is not None:
        image = Image(
            str(stored_image["filename"]),
            base64.b64decode(stored_image["data"]),
            str(stored_image.get("alt", "")),
        )
    stored_file = data.get("file")
    file = None
    if stored_file is not None:
        file = FileAttachment(
            str(stored_file["filename"]),
            base64.b64decode(stored_file["data"]),
            str(stored_file.get("mime", "application/octet-stream")),
        )
    buttons = tuple(
        Button(
            str(b["label"]),
            str(b["action"]),
            str(b.get("value", "")),
            cast(Literal["primary", "danger"] | None, b.get("style")),
        )
        for b in data.get("buttons", [])
    )
    question = data.get("question")
    return Reply(
        text=str(data.get("text", "")),
        buttons=buttons,
        question=_question_from_json(question) if question is not None else None,
        image=image,
        file=file,
        private=bool(data.get("private", False)),
        ephemeral=bool(data.get("ephemeral", False)),
        replace=bool(data.get("replace", False)),
        form=tuple(_question_from_json(q) for q in data.get("form", [])),
        errors={str(k): str(v) for k, v in data.get("errors", {}).items()},
        relist=str(data.get("relist", "")),
        chart=chart_of(data) if image is None else None,
    )


def chart_of(data: Mapping[str, Any]) -> ChartRef | None:
    """The chart reference stored with a message, if any."""
    chart = data.get("chart")
    if not chart:
        return None
    return ChartRef(str(chart["name"]), dict(chart.get("params", {})))
