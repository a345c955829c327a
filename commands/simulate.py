"""``/simulate 退款比例=3% 平均响应=25``: what the agent's own score would be.

Recomputes with the shared scoring module's what-if helper (``scoring.rescore_with``
through ``commands.results.what_if``) and shows what changes. Nothing is stored. Values
are written as a person reads them: shares as ``3%`` (or ``0.03``), times in seconds
(``25``, ``25s``, ``2min``), money as ``300`` or ``¥300``; review dimensions as
``工作能力=4`` or ``主管评价.工作能力=4`` (1–5). Names are typed in either language, by an
unambiguous beginning, or by id (``refund_ratio``): :mod:`commands.names` resolves them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from commands import names, numbers, permissions, results
from commands.context import Command, Context
from commands.forms.common import format_value
from commands.i18n import Translate
from commands.messages import Reply
from commands.permissions import N_
from commands.rank import PERIOD_KEY, resolve_period
from scoring import Scheme
from scoring.scheme import Indicator
from storage import repo

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclass(frozen=True)
class Parsed:
    overrides: dict[str, float]
    problems: list[str]
    period: str | None
    labels: dict[str, str] = field(default_factory=dict)
    """Override key → the name the reader typed it by (their language)."""


def _number(text: str) -> float | None:
    cleaned = text.replace(",", "").replace("，", "").strip()
    return float(cleaned) if NUMBER.match(cleaned) else None


def parse_value(
    _: Translate, ind: Indicator, raw: str, name: str | None = None
) -> tuple[float | None, str | None]:
    """A typed value in the indicator's unit → the raw value the scheme scores; or a hint
    (naming the indicator ``name``, the reader's word for it)."""
    name = name or ind.name.en
    text = raw.strip().lower()
    if ind.unit in ("fraction", "percent"):
        percent = text.endswith("%") or text.endswith("％")
        number = _number(text.rstrip("%％"))
        if number is None:
            return None, _(
                "{name}: {raw} is not a number; write a share such as 3% or 0.03.",
                name=name,
                raw=raw,
            )
        if not percent and number > 1:
            return None, _(
                "{name} is a share: write {raw}% or {fraction}.",
                name=name,
                raw=raw,
                fraction=f"{number / 100:g}",
            )
        value = number / 100 if percent else number
        if not 0 <= value <= 1:
            return None, _("{name} must be between 0% and 100%.", name=name)
        return (value * 100 if ind.unit == "percent" else value), None
    factor = 1.0
    if ind.unit in ("seconds", "minutes"):
        match = re.match(r"^(.*?)(s|sec|秒|min|m|分钟)?$", text)
        assert match is not None
        text, suffix = match.group(1), match.group(2)
        if suffix in ("min", "m", "分钟"):
            factor = 60.0 if ind.unit == "seconds" else 1.0
        elif suffix in ("s", "sec", "秒") and ind.unit == "minutes":
            factor = 1 / 60
    if ind.unit == "yuan":
        text = text.lstrip("¥￥").removesuffix("元")
    number = _number(text)
    if number is None:
        return None, _("{name}: {raw} is not a number.", name=name, raw=raw)
    if number < 0:
        return None, _("{name} cannot be negative.", name=name)
    if ind.unit == "count" and not number.is_integer():
        return None, _("{name} is a count: write a whole number.", name=name)
    return number * factor, None


def review_keys(scheme: Scheme) -> dict[str, str]:
    """``manager.ability`` → the review column; only rated dimensions can be changed."""
    keys = {}
    for comp in scheme.components:
        for dim in comp.rated_dimensions:
            keys[f"{comp.kind}.{dim.id}"] = f"{comp.id}.{dim.id}"
    return keys


PAIR = re.compile(r"\s*([^=＝\s][^=＝]*?)\s*[=＝]\s*([^\s,，;；]*)[\s,，;；]*")
SAMPLES = {"fraction": "3%", "percent": "3%", "seconds": "25", "minutes": "5", "yuan": "300",
           "count": "2", "days": "1", "points": "80"}  # fmt: skip


def example(scheme: Scheme, lang: str) -> str:
    """``退款比例=3% 平均响应时间=25``: the first two indicators by name, with a value in their
    unit."""
    parts = [f"{i.name.get(lang)}={SAMPLES.get(i.unit, '1')}" for i in scheme.indicators[:2]]
    if not parts:
        parts = [f"{o.label}=4" for o in names.dimension_options(scheme, lang)[:1]]
    return " ".join(parts) or "—"


def options(scheme: Scheme, lang: str) -> list[names.Named]:
    """What /simulate changes: the indicators, then the rated review dimensions."""
    return [*names.indicator_options(scheme, lang), *names.dimension_options(scheme, lang)]


def parse(_: Translate, scheme: Scheme, args: str, lang: str = "en") -> Parsed:
    overrides: dict[str, float] = {}
    labels: dict[str, str] = {}
    problems: list[str] = []
    period: str | None = None
    indicators = {i.id: i for i in scheme.indicators}
    reviews = review_keys(scheme)
    choices = options(scheme, lang)
    words = []
    for word in args.split():
        if PERIOD_KEY.match(word):
            period = word.upper() if "q" in word.lower() else word
        else:
            words.append(word)
    text, at = " ".join(words), 0
    while at < len(text):
        match = PAIR.match(text, at)
        if match is None or not match.group(2):
            rest = text[at:].split()[0] if match is None else match.group(0).strip()
            problems.append(_("{token}: write name=value, for example {example}", token=rest,
                              example=example(scheme, lang)))  # fmt: skip
            at = len(text) if match is None else match.end()
            continue
        at = match.end()
        typed, raw = match.group(1), match.group(2)
        found = names.resolve(typed, choices)
        if found.named is None:
            if found.ambiguous:
                problems.append(_("{name} could be {names}: write more of the name.", name=typed,
                                  names=names.listing(found.candidates, lang)))  # fmt: skip
            else:
                problems.append(
                    _(
                        "{name} is not in your scheme. You can change: {names}",
                        name=typed,
                        names=names.listing(choices, lang),
                    )
                )
            continue
        key, label = found.named.key, found.named.label
        if key in indicators:
            value, hint = parse_value(_, indicators[key], raw, label)
        else:
            number = _number(raw)
            if number is None or not number.is_integer() or not 1 <= number <= 5:
                value, hint = (
                    None,
                    _("{name} is a review score: a whole number from 1 to 5.", name=label),
                )
            else:
                value, hint = number, None
                key = reviews[key]
        if hint:
            problems.append(hint)
        elif value is not None:
            overrides[key] = value
            labels[key] = label
    return Parsed(overrides, problems, period, labels)


def usage(_: Translate, scheme: Scheme, lang: str = "en") -> str:
    return _(
        "What-if: change some of your numbers and see your score; nothing is stored.\nExample: "
        "/simulate {example}\nYou can change: {names}",
        example=example(scheme, lang),
        names=names.listing(options(scheme, lang), lang),
    )


def simulate(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    permissions.require(permissions.can_simulate(ctx.actor))
    team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
    assert team is not None
    scheme = results.load_scheme(team, None, session=ctx.session)
    if scheme is None:
        return [
            Reply(
                text=_("Your team has no scheme yet, so there is no score. Ask an admin."),
                private=True,
            )
        ]
    parsed = parse(_, scheme, args, ctx.lang)
    if parsed.problems:
        return [Reply(text="\n".join(parsed.problems), private=True)]
    if not parsed.overrides:
        return [Reply(text=usage(_, scheme, ctx.lang), private=True)]
    period, problem = resolve_period(ctx, team, parsed.period)
    if period is None:
        return [problem] if problem else []
    outcome = results.what_if(team, period, ctx.actor, parsed.overrides, session=ctx.session)
    if outcome is None:
        return [
            Reply(
                text=_("You have no score for {period} to change.", period=period.key), private=True
            )
        ]
    period_scheme = results.load_scheme(team, period, session=ctx.session) or scheme
    return [
        Reply(
            text="\n".join(
                explain(ctx, period_scheme, period.key, outcome, parsed.overrides, parsed.labels)
            ),
            private=True,
        )
    ]


def explain(
    ctx: Context,
    scheme: Scheme,
    period: str,
    outcome: results.WhatIf,
    overrides: dict[str, float],
    labels: dict[str, str] | None = None,
) -> list[str]:
    labels = labels or {}
    _ = ctx._
    before, after, places = outcome.before, outcome.after, outcome.scheme.precision
    lines = [_("What if, for {period} (nothing is stored):", period=period)]
    indicators = {i.id: i for i in scheme.indicators}
    old_items = before.breakdown.get("indicators", {})
    for key in overrides:
        ind = indicators.get(key)
        if ind is None:
            continue
        old = old_items.get(key, {})
        new = after.indicator(key)
        lines.append(_(
            "· {name}: {old} → {new}, points {old_points} → {new_points}",
            name=ind.name.get(ctx.lang), old=format_value(ctx, ind, old.get("value")),
            new=format_value(ctx, ind, new.value),
            old_points=numbers.total(old.get("points"), places),
            new_points=numbers.total(new.points, places),
        ))  # fmt: skip
    for key in overrides:
        if key not in indicators:
            lines.append(
                _("· {name}: {value}", name=labels.get(key, key), value=f"{overrides[key]:g}")
            )
    delta = (after.total or 0.0) - (before.total or 0.0)
    lines.append(
        _(
            "Total: {old} → {new} ({delta})",
            old=numbers.total(before.total, places),
            new=numbers.total(after.total, places),
            delta=numbers.change(delta, places),
        )
    )
    lines.append(
        _(
            "Rank: {old} → {new} of {size}",
            old=before.rank or "—",
            new=after.rank or "—",
            size=after.group_size,
        )
    )
    return lines


COMMANDS: tuple[Command, ...] = (
    Command(
        "simulate",
        simulate,
        permissions.AGENTS,
        what=N_("what-if: your score with other numbers (nothing is stored)"),
        example="/simulate Refund ratio=3%",
        refusal=N_(
            "The command /simulate is not available to you: what-if works only on an agent's own "
            "score."
        ),
        menu=N_("What if: your score with other numbers"),
        menu_rank=8,
    ),
)
