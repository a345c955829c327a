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

The parts are read by the scheme parser (``SchemeParser.pay``: every problem recorded, with a
stable code) into :class:`scoring.scheme.PayPart`; :func:`pay_of` computes one agent's pay from a
result as ``AgentResult.to_dict()`` gives it (a stored score's breakdown alike).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from scoring.scheme import RESULT_KINDS, Names, PayPart, Scheme

CENT = Decimal("0.01")


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
