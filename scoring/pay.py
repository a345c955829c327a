"""Pay (薪酬): a scheme's pay formula as a list of parts, computed with Decimal to the cent.

Seed 001: "月底成交订单总额 × 千分之三 + 售后指标完成奖金 + 基础工资" (and "有一样不达标,部门
指标奖金全无"); seed 003: "星级越高的座席代表则奖金的基数越高"; seed 004: rank 1 rewarded, the last
place's commission docked. A scheme declares its pay as data, one ``[[pay]]`` table per part —
never an expression to evaluate::

    [[pay]]
    id = "base"
    kind = "fixed"               # a fixed amount: base pay (基础工资)
    amount = "3000"
    name = { zh = "基础工资", en = "Base pay" }

Kinds (:data:`PART_KINDS`) and the keys each takes (:data:`PART_KEYS`):

- ``fixed``: ``amount``.
- ``commission``: ``indicator`` (a ``yuan`` indicator: its raw value) × ``rate`` (a quoted decimal
  ``"0.003"`` or percent ``"0.3%"``, 0–100 %).
- ``indicator_bonus``: ``amount``, paid in full when every indicator of ``all_met`` earned its full
  points (达标), else nothing (without ``all_met``: always).
- ``star_bonus``: the bonus base (``[apply] stars … bonus_base``) of the agent's star level;
  ``scale = "total"`` multiplies it by total / 100.
- ``reward_penalty``: the place's reward minus its penalty (``[apply]``, ties settled as the
  scheme says).

Every part is rounded to the cent, half up; the pay is the sum of the rounded parts, so the parts
shown add up to the sum shown. A part whose input is missing is ``None``, and so is the sum; a
provisional result (a required part missing) has its result-dependent parts (indicator bonus,
star bonus, reward/penalty) and its sum held (``None``) until it is complete.

:func:`read_pay` is the scheme parser's reader (every problem recorded, with a stable code);
:func:`pay_of` computes one agent's pay from a result as ``AgentResult.to_dict()`` gives it (a
stored score's breakdown alike).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from scoring.scheme import ApplyRules, Indicator, Names

if TYPE_CHECKING:
    from scoring.scheme import Scheme
    from scoring.scheme_parser import SchemeParser

CENT = Decimal("0.01")
PART_KINDS: tuple[str, ...] = (
    "fixed",
    "commission",
    "indicator_bonus",
    "star_bonus",
    "reward_penalty",
)
PartKind = Literal["fixed", "commission", "indicator_bonus", "star_bonus", "reward_penalty"]
COMMON_KEYS: tuple[str, ...] = ("id", "kind", "name")
PART_KEYS: dict[str, tuple[str, ...]] = {
    "fixed": ("amount",),
    "commission": ("indicator", "rate"),
    "indicator_bonus": ("amount", "all_met"),
    "star_bonus": ("scale",),
    "reward_penalty": (),
}
ALL_PART_KEYS: tuple[str, ...] = COMMON_KEYS + ("amount", "indicator", "rate", "all_met", "scale")
SCALES: tuple[str, ...] = ("none", "total")
# The parts whose amount depends on the result itself: held while the result is provisional.
RESULT_KINDS: tuple[str, ...] = ("indicator_bonus", "star_bonus", "reward_penalty")


@dataclass(frozen=True)
class PayPart:
    """One part of the pay formula (one ``[[pay]]`` table)."""

    id: str
    kind: PartKind
    name: Names
    amount: Decimal | None = None  # fixed, indicator_bonus
    indicator: str = ""  # commission
    rate: Decimal | None = None  # commission: a fraction (0.003 = 0.3 %)
    all_met: tuple[str, ...] = ()  # indicator_bonus
    scale: Literal["none", "total"] = "none"  # star_bonus


@dataclass(frozen=True)
class PayLine:
    """One part of one agent's pay: its amount in cents (``None`` = missing input or held)."""

    id: str
    kind: str
    name: Names
    amount: Decimal | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pay:
    """An agent's pay: one line per part, and their sum (``None`` when a line is ``None``)."""

    lines: tuple[PayLine, ...]
    total: Decimal | None
    currency: str
    held: bool = False  # provisional result: the result-dependent parts wait for it to be complete

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, money as exact decimal strings (``None`` = missing or held)."""
        return {
            "parts": {ln.id: None if ln.amount is None else str(ln.amount) for ln in self.lines},
            "total": None if self.total is None else str(self.total),
            "currency": self.currency,
            "held": self.held,
        }

    def line(self, part_id: str) -> PayLine:
        for line in self.lines:
            if line.id == part_id:
                return line
        raise KeyError(part_id)


def cents(x: Decimal) -> Decimal:
    """Rounded to the cent, half up (0.005 → 0.01)."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_rate(value: Any) -> Decimal | None:
    """A rate as a fraction: ``"0.003"`` → 0.003, ``"0.3%"`` → 0.003; ``None`` if not one (a
    float is refused like money is: 0.003 written as a float is not exact)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        rate = Decimal(text.removesuffix("%").strip())
    except InvalidOperation:
        return None
    if not rate.is_finite():
        return None
    return rate / 100 if percent else rate


def read_pay(
    parser: SchemeParser, raw: Any, indicators: tuple[Indicator, ...], apply: ApplyRules
) -> tuple[PayPart, ...]:
    """The ``[[pay]]`` parts, every problem recorded on ``parser`` (unknown keys are
    ``scoring.scheme_keys``'s; a key that is known but not for this kind is refused here)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        parser.add("pay", "pay", "expected_tables")
        return ()
    by_id = {i.id: i for i in indicators}
    parts: list[PayPart] = []
    seen: set[str] = set()
    for n, rp in enumerate(raw, start=1):
        where = f"pay.{rp['id']}" if isinstance(rp.get("id"), str) and rp["id"] else f"pay[{n}]"
        pid = parser.ident(rp, where)
        if pid in seen:
            parser.add(where, "id", "duplicate_id", id=pid)
        seen.add(pid)
        names = parser.names(rp, where) or Names("", "")
        kind = parser.choice(rp, "kind", where, PART_KINDS)
        for key in rp if rp.get("kind") in PART_KINDS else ():
            if key in ALL_PART_KEYS and key not in COMMON_KEYS + PART_KEYS[kind]:
                parser.add(
                    where,
                    key,
                    "pay_key_not_for_kind",
                    key=key,
                    kind=kind,
                    keys=", ".join(PART_KEYS[kind]) or "-",
                )
        part = PayPart(pid, kind, names)  # type: ignore[arg-type]
        if kind in ("fixed", "indicator_bonus"):
            amount = parser.money(rp, "amount", where)
            if amount is None and "amount" not in rp:
                parser.add(where, "amount", "required")
            part = PayPart(pid, kind, names, amount=amount)  # type: ignore[arg-type]
        if kind == "indicator_bonus" and "all_met" in rp:
            met = rp["all_met"]
            if not isinstance(met, list) or not met or not all(isinstance(x, str) for x in met):
                parser.add(where, "all_met", "expected_id_list")
                met = []
            for iid in met:
                if iid not in by_id:
                    _unknown_indicator(parser, where, "all_met", iid, by_id)
            part = PayPart(pid, kind, names, amount=part.amount, all_met=tuple(met))  # type: ignore[arg-type]
        if kind == "commission":
            iid = parser.str_(rp, "indicator", where)
            if iid and iid not in by_id:
                _unknown_indicator(parser, where, "indicator", iid, by_id)
            elif iid and by_id[iid].unit != "yuan":
                parser.add(where, "indicator", "commission_not_money", id=iid, unit=by_id[iid].unit)
            rate: Decimal | None = None
            if "rate" not in rp:
                parser.add(where, "rate", "required")
            elif isinstance(rp["rate"], float):
                parser.add(where, "rate", "rate_not_float")
            else:
                rate = parse_rate(rp["rate"])
                if rate is None or not 0 <= rate <= 1:
                    parser.add(where, "rate", "bad_rate", value=str(rp["rate"]))
                    rate = None
            part = PayPart(pid, kind, names, indicator=iid, rate=rate)  # type: ignore[arg-type]
        if kind == "star_bonus":
            scale = parser.choice(rp, "scale", where, SCALES, default="none")
            if not any(s.bonus_base is not None for s in apply.stars):
                parser.add(where, "kind", "star_bonus_needs_bases")
            part = PayPart(pid, kind, names, scale=scale)  # type: ignore[arg-type]
        if kind == "reward_penalty" and apply.reward is None and apply.penalty is None:
            parser.add(where, "kind", "reward_penalty_needs_amounts")
        parts.append(part)
    return tuple(parts)


def _unknown_indicator(
    parser: SchemeParser, where: str, fld: str, iid: str, by_id: Mapping[str, Indicator]
) -> None:
    close = difflib.get_close_matches(iid, list(by_id), n=1, cutoff=0.6)
    if close:
        parser.add(where, fld, "unknown_indicator_close", id=iid, close=close[0])
    else:
        parser.add(where, fld, "unknown_indicator", id=iid)


def _number(x: Any) -> Decimal | None:
    """A value from a result (float, int, str or None) as an exact Decimal, or None."""
    if x is None or isinstance(x, bool):
        return None
    if isinstance(x, float):
        return Decimal(repr(x)) if math.isfinite(x) else None
    try:
        d = Decimal(str(x))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _line(scheme: Scheme, part: PayPart, result: Mapping[str, Any]) -> PayLine:
    indicators: Mapping[str, Any] = result.get("indicators") or {}
    flags: Mapping[str, Any] = result.get("flags") or {}

    def line(amount: Decimal | None, **detail: Any) -> PayLine:
        return PayLine(
            part.id, part.kind, part.name, None if amount is None else cents(amount), detail
        )

    if part.kind == "fixed":
        return line(part.amount)
    if part.kind == "commission":
        value = _number((indicators.get(part.indicator) or {}).get("value"))
        if value is None or part.rate is None:
            return line(None, reason="missing", indicator=part.indicator)
        return line(value * part.rate, value=value, rate=part.rate)
    if part.kind == "indicator_bonus":
        unmet: list[str] = []
        for iid in part.all_met:
            ind = indicators.get(iid) or {}
            points, full = _number(ind.get("points")), _number(ind.get("max_points"))
            if points is None or full is None:
                return line(None, reason="missing", indicator=iid)
            if points < full:
                unmet.append(iid)
        return line(Decimal(0) if unmet else part.amount, unmet=unmet)
    if part.kind == "star_bonus":
        star = flags.get("star")
        base = (
            next((s.bonus_base for s in scheme.apply.stars if s.level == star), None)
            if star
            else None
        )
        if base is None:
            return line(Decimal(0), star=star)
        if part.scale == "total":
            total = _number(result.get("total"))
            if total is None:
                return line(None, reason="missing", star=star)
            return line(base * total / 100, star=star, bonus_base=base, total=total)
        return line(base, star=star, bonus_base=base)
    # reward_penalty
    reward = _number(flags.get("reward_amount")) if flags.get("reward") else None
    penalty = _number(flags.get("penalty_amount")) if flags.get("penalty") else None
    return line((reward or Decimal(0)) - (penalty or Decimal(0)), reward=reward, penalty=penalty)


def pay_of(scheme: Scheme, result: Mapping[str, Any]) -> Pay:
    """One agent's pay under ``scheme.pay`` from ``result`` (``AgentResult.to_dict()`` or a
    stored breakdown: ``indicators``, ``total``, ``flags``, ``provisional``)."""
    held = bool(result.get("provisional"))
    lines: list[PayLine] = []
    for part in scheme.pay:
        if held and part.kind in RESULT_KINDS:
            lines.append(PayLine(part.id, part.kind, part.name, None, {"reason": "provisional"}))
        else:
            lines.append(_line(scheme, part, result))
    amounts = [ln.amount for ln in lines]
    total = (
        None
        if any(a is None for a in amounts)
        else cents(sum((a for a in amounts if a is not None), Decimal(0)))
    )
    return Pay(tuple(lines), total, scheme.apply.currency, held)
