"""A scheme's TOML read into :class:`~scoring.scheme.Scheme`: :func:`parse_scheme` and its checks.

Each reader records a :class:`~scoring.scheme.Problem` (where, field, code, params) and carries
on with a harmless default, so one pass finds every problem in a file.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, assert_never

from scoring.cycle_rules import CycleRules, parse_cycle_rules
from scoring.methods import (
    METHOD_KINDS,
    METHODS,
    Band,
    Deduction,
    Descriptive,
    EitherOr,
    Gate,
    Level,
    Method,
    MethodKind,
    Ratio,
    Tiered,
)
from scoring.scheme import (
    ALL_PART_KEYS,
    COMMON_KEYS,
    COMPONENT_KINDS,
    MISSING_RULES,
    PART_KEYS,
    PART_KINDS,
    PROVIDERS,
    SCALES,
    TOLERANCE,
    UNITS,
    ApplyRules,
    CalibrationRules,
    Check,
    Component,
    Dimension,
    DistributionTarget,
    Indicator,
    Names,
    PayPart,
    Problem,
    Sampling,
    Scheme,
    SchemeError,
    Scorecard,
    StarLevel,
)
from scoring.scheme_keys import unknown_keys

REVIEWER_ROLES: tuple[str, ...] = ("qa", "manager", "admin")


def parse_scheme(text: str) -> Scheme:
    """Parse and validate a scheme's TOML text; raise :class:`SchemeError` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemeError([Problem("scheme", "toml", "toml_syntax", {"error": str(exc)})]) from None
    parser = SchemeParser()
    scheme = parser.scheme(data, text)
    problems = unknown_keys(data, text) + parser.problems
    if problems or scheme is None:
        raise SchemeError(problems)
    return scheme


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class SchemeParser:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str, fld: str, code: str, **params: Any) -> None:
        self.problems.append(Problem(where, fld, code, params))

    # -- small typed readers ------------------------------------------------------------
    def str_(
        self, d: dict[str, Any], key: str, where: str, *, required: bool = True, default: str = ""
    ) -> str:
        if key not in d:
            if required:
                self.add(where, key, "required")
            return default
        value = d[key]
        if not isinstance(value, str) or not value.strip():
            self.add(where, key, "expected_text")
            return default
        return value

    def num(
        self,
        d: dict[str, Any],
        key: str,
        where: str,
        *,
        default: float | None = None,
        positive: bool = False,
        nonneg: bool = True,
    ) -> float | None:
        if key not in d:
            if default is None:
                self.add(where, key, "required")
            return default
        value = d[key]
        if not _is_number(value):
            self.add(where, key, "expected_number")
            return default
        value = float(value)
        if positive and value <= 0:
            self.add(where, key, "not_positive", value=_fmt(value))
            return default
        if nonneg and value < 0:
            self.add(where, key, "negative", value=_fmt(value))
            return default
        return value

    def int_(self, d: dict[str, Any], key: str, where: str, default: int) -> int:
        if key not in d:
            return default
        value = d[key]
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(where, key, "expected_whole_number")
            return default
        if value < 0:
            self.add(where, key, "negative", value=value)
            return default
        return value

    def positive_int(self, d: dict[str, Any], key: str, where: str, default: int) -> int:
        value = self.int_(d, key, where, default)
        if value == 0:
            self.add(where, key, "not_positive", value=value)
            return default
        return value

    def choice(
        self,
        d: dict[str, Any],
        key: str,
        where: str,
        choices: tuple[str, ...],
        default: str | None = None,
    ) -> str:
        if key not in d:
            if default is None:
                self.add(where, key, "required")
                return choices[0]
            return default
        value = d[key]
        if value not in choices:
            self.add(where, key, "bad_choice", value=str(value), choices=", ".join(choices))
            return default or choices[0]
        return str(value)

    def names(
        self,
        d: dict[str, Any],
        where: str,
        key: str = "name",
        required: bool = True,
        prefix: str = "",
    ) -> Names | None:
        raw = d.get(key)
        if raw is None:
            if required:
                self.add(where, f"{prefix}{key}.zh", "missing_name", lang="zh")
                self.add(where, f"{prefix}{key}.en", "missing_name", lang="en")
                return Names("", "")
            return None
        if not isinstance(raw, dict):
            self.add(where, f"{prefix}{key}", "expected_names")
            return Names("", "")
        out = {}
        for lang in ("zh", "en"):
            value = raw.get(lang)
            if not isinstance(value, str) or not value.strip():
                self.add(where, f"{prefix}{key}.{lang}", "missing_name", lang=lang)
                out[lang] = ""
            else:
                out[lang] = value
        return Names(out["zh"], out["en"])

    def ident(self, d: dict[str, Any], where: str, key: str = "id") -> str:
        value = self.str_(d, key, where)
        if value and not (
            value.replace("_", "a").isalnum() and value.isascii() and value == value.lower()
        ):
            self.add(where, key, "bad_id", id=value)
        return value

    def table_list(self, d: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
        raw = d.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
            self.add(where, key, "expected_tables")
            return []
        return raw

    def money(self, d: dict[str, Any], key: str, where: str) -> Decimal | None:
        if key not in d:
            return None
        value = d[key]
        if isinstance(value, float):
            self.add(where, key, "money_not_float")
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.add(where, key, "bad_money", value=str(value))
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.add(where, key, "bad_money", value=str(value))
            return None
        if not amount.is_finite() or amount < 0:
            self.add(where, key, "bad_money", value=str(value))
            return None
        return amount

    # -- the scheme ---------------------------------------------------------------------------
    def scheme(self, data: dict[str, Any], text: str) -> Scheme | None:
        sid = self.ident(data, "scheme")
        names = self.names(data, "scheme") or Names("", "")
        period = self.choice(data, "period", "scheme", ("month", "quarter"), default="month")
        language = self.choice(data, "language", "scheme", ("zh", "en"), default="zh")
        publish = data.get("publish_ranking", False)
        if not isinstance(publish, bool):
            self.add("scheme", "publish_ranking", "expected_bool")
            publish = False
        indicators = self.indicators(data)
        components = self.components(data, indicators)
        self.check_gates(indicators, components)
        apply = self.apply(data.get("apply", {}))
        calibration = self.calibration(data.get("calibration", {}))
        cycle = self.cycle(data.get("cycle"))
        pay = read_pay(self, data.get("pay"), indicators, apply)
        precision = data.get("precision", 1)
        if not isinstance(precision, int) or isinstance(precision, bool) or not 0 <= precision <= 4:
            self.add("scheme", "precision", "precision_range", value=str(precision))
            precision = 1
        if self.problems:
            return None
        return Scheme(
            id=sid,
            name_zh=names.zh,
            name_en=names.en,
            period=period,  # type: ignore[arg-type]
            language=language,
            publish_ranking=publish,
            components=components,
            indicators=indicators,
            apply=apply,
            text=text,
            content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            calibration=calibration,
            cycle=cycle,
            precision=precision,
            pay=pay,
        )

    def indicators(self, data: dict[str, Any]) -> tuple[Indicator, ...]:
        out: list[Indicator] = []
        seen: set[str] = set()
        for i, raw in enumerate(self.table_list(data, "indicators", "scheme")):
            where = str(raw.get("id") or f"indicators[{i + 1}]")
            iid = self.ident(raw, where)
            if iid in seen:
                self.add(where, "id", "duplicate_id", id=iid)
            seen.add(iid)
            names = self.names(raw, where) or Names("", "")
            unit = self.choice(raw, "unit", where, UNITS)
            better = self.choice(raw, "better", where, ("higher", "lower"))
            points = self.num(raw, "points", where, default=None)
            missing = self.choice(raw, "missing", where, ("exclude", "worst"), default="exclude")
            group = raw.get("group", "")
            source = self.ident(raw, where, key="source") if "source" in raw else ""
            provider = self.choice(raw, "provider", where, PROVIDERS, default="import")
            method = self.method(raw, where, better, points if points is not None else 0.0)
            if method is not None and points is not None:
                out.append(
                    Indicator(
                        iid,
                        names,
                        unit,
                        better,  # type: ignore[arg-type]
                        points,
                        method,
                        missing,  # type: ignore[arg-type]
                        str(group),
                        source,
                        provider,  # type: ignore[arg-type]
                    )
                )
        total = sum(
            float(r.get("points", 0))
            for r in data.get("indicators", [])
            if _is_number(r.get("points", 0))
        )
        if (out or data.get("indicators")) and abs(total - 100) > TOLERANCE:
            self.add("scheme", "indicators.points", "points_not_100", total=_fmt(total))
        return tuple(out)

    def method(self, raw: dict[str, Any], where: str, better: str, full: float) -> Method | None:
        kind = raw.get("method")
        if kind is None:
            self.add(where, "method", "required")
            return None
        if kind not in METHOD_KINDS:
            self.add(
                where, "method", "unknown_method", value=str(kind), choices=", ".join(METHOD_KINDS)
            )
            return None
        params = raw.get("params", {})
        if not isinstance(params, dict):
            self.add(where, "params", "expected_table")
            return None
        known: MethodKind = kind
        for key in params:
            if key not in METHODS[known].PARAMS:
                self.add(where, f"params.{key}", "unknown_param", param=key, method=kind)
        before = len(self.problems)
        method: Method | None
        match known:
            case "tiered":
                method = self.tiered(params, where, better, full)
            case "deduction":
                if better != "lower":
                    self.add(where, "better", "deduction_direction")
                per = self.num(params, "per_event", f"{where}", default=None, positive=True)
                allowance = self.num(params, "allowance", where, default=0.0)
                method = Deduction(per or 0.0, allowance or 0.0)
            case "ratio":
                method = Ratio(
                    self.num(params, "target", where, default=None, positive=True) or 1.0
                )
            case "either_or":
                target = self.num(params, "target", where, default=None, nonneg=False) or 0.0
                method = EitherOr(target)
            case "descriptive":
                method = self.descriptive(params, where, better, full)
            case "gate":
                target = self.num(params, "target", where, default=None, nonneg=False) or 0.0
                voids = self.str_(params, "voids", where)
                scope = self.choice(params, "scope", where, ("agent", "team"), default="agent")
                method = Gate(target, voids, scope)  # type: ignore[arg-type]
            case _:  # a kind in METHOD_KINDS that nobody parses is a bug, never a gate
                assert_never(known)
        self._prefix_params(before)
        return method

    def _prefix_params(self, start: int) -> None:
        """Fields read from ``params`` are reported as ``params.<field>``."""
        for i in range(start, len(self.problems)):
            p = self.problems[i]
            if not p.field.startswith(("params", "better", "band")):
                self.problems[i] = Problem(p.where, f"params.{p.field}", p.code, p.params)

    def tiered(self, params: dict[str, Any], where: str, better: str, full: float) -> Tiered | None:
        raw_bands = self.table_list(params, "bands", where)
        if not raw_bands:
            self.add(where, "bands", "required")
            return None
        bands: list[Band] = []
        for i, rb in enumerate(raw_bands, start=1):
            fld = f"params.bands[{i}]"
            unknown = set(rb) - {"gt", "ge", "lt", "le", "points"}
            for key in sorted(unknown):
                self.add(where, f"{fld}.{key}", "unknown_param", param=key, method="tiered")
            if ("gt" in rb and "ge" in rb) or ("lt" in rb and "le" in rb):
                self.add(where, fld, "band_edges", band=i)
                continue
            edges: dict[str, float] = {}
            ok = True
            for key in ("gt", "ge", "lt", "le"):
                if key in rb:
                    if not _is_number(rb[key]):
                        self.add(where, f"{fld}.{key}", "expected_number")
                        ok = False
                    else:
                        edges[key] = float(rb[key])
            pts: Any = rb.get("points")
            if not _is_number(pts):
                self.add(where, f"{fld}.points", "required" if pts is None else "expected_number")
                ok = False
            elif not 0 <= float(pts) <= full + TOLERANCE:
                self.add(
                    where,
                    f"{fld}.points",
                    "band_points",
                    band=i,
                    value=_fmt(float(pts)),
                    full=_fmt(full),
                )
            if not ok:
                continue
            lower = edges.get("gt", edges.get("ge"))
            upper = edges.get("lt", edges.get("le"))
            band = Band(float(pts), lower, "ge" in edges, upper, "le" in edges)
            if (
                lower is not None
                and upper is not None
                and (
                    lower > upper
                    or (lower == upper and not (band.lower_inclusive and band.upper_inclusive))
                )
            ):
                self.add(where, fld, "band_empty", band=i)
                continue
            bands.append(band)
        if len(bands) != len(raw_bands):
            return None
        self.check_bands(bands, where, better)
        return Tiered(tuple(bands))

    def check_bands(self, bands: list[Band], where: str, better: str) -> None:
        order = sorted(
            range(len(bands)),
            key=lambda i: (
                -math.inf if bands[i].lower is None else bands[i].lower,
                not bands[i].lower_inclusive,
            ),
        )
        first, last = bands[order[0]], bands[order[-1]]
        if first.lower is not None:
            self.add(where, f"params.bands[{order[0] + 1}]", "band_open_start")
        if last.upper is not None:
            self.add(where, f"params.bands[{order[-1] + 1}]", "band_open_end")
        for a_i, b_i in zip(order, order[1:], strict=False):
            a, b = bands[a_i], bands[b_i]
            names = {"first": a_i + 1, "second": b_i + 1}
            fld = f"params.bands[{b_i + 1}]"
            if a.upper is None or b.lower is None:
                at = (
                    _fmt(b.lower)
                    if b.lower is not None
                    else (_fmt(a.upper) if a.upper is not None else "-inf")
                )
                self.add(where, fld, "band_overlap", at=at, **names)
                continue
            if a.upper > b.lower or (
                a.upper == b.lower and a.upper_inclusive and b.lower_inclusive
            ):
                self.add(where, fld, "band_overlap", at=_fmt(b.lower), **names)
            elif a.upper < b.lower or (not a.upper_inclusive and not b.lower_inclusive):
                self.add(where, fld, "band_gap", at=_fmt(a.upper), **names)
        points = [bands[i].points for i in order]
        steps = list(zip(points, points[1:], strict=False))
        rising = all(x <= y for x, y in steps)
        falling = all(x >= y for x, y in steps)
        if (better == "higher" and not rising) or (better == "lower" and not falling):
            self.add(where, "params.bands", "not_monotone", better=better)

    def descriptive(
        self, params: dict[str, Any], where: str, better: str, full: float
    ) -> Descriptive | None:
        raw_levels = self.table_list(params, "levels", where)
        if not raw_levels:
            self.add(where, "levels", "required")
            return None
        if better != "higher":
            self.add(where, "better", "descriptive_direction")
        levels: list[Level] = []
        seen: set[str] = set()
        for i, rl in enumerate(raw_levels, start=1):
            lwhere = f"{where}"
            fld = f"params.levels[{i}]"
            lid = rl.get("id")
            if not isinstance(lid, str) or not lid:
                self.add(lwhere, f"{fld}.id", "required")
                lid = f"level{i}"
            elif lid in seen:
                self.add(lwhere, f"{fld}.id", "duplicate_id", id=lid)
            seen.add(lid)
            names = self.names(rl, lwhere, prefix=f"{fld}.") or Names("", "")
            pts: Any = rl.get("points")
            if not _is_number(pts):
                self.add(lwhere, f"{fld}.points", "required" if pts is None else "expected_number")
                continue
            if not 0 <= float(pts) <= full + TOLERANCE:
                self.add(
                    lwhere,
                    f"{fld}.points",
                    "level_points",
                    level=lid,
                    value=_fmt(float(pts)),
                    full=_fmt(full),
                )
            levels.append(Level(lid, names.zh, names.en, float(pts)))
        if any(a.points > b.points for a, b in zip(levels, levels[1:], strict=False)):
            self.add(where, "params.levels", "not_monotone", better="higher")
        return Descriptive(tuple(levels)) if levels else None

    def components(
        self, data: dict[str, Any], indicators: tuple[Indicator, ...]
    ) -> tuple[Component, ...]:
        out: list[Component] = []
        seen: set[str] = set()
        kinds: set[str] = set()
        raw_list = self.table_list(data, "components", "scheme")
        if not raw_list:
            self.add("scheme", "components", "required")
        for i, raw in enumerate(raw_list):
            out.append(self.component(raw, i, seen, kinds, indicators))
        total = sum(c.weight for c in out)
        if raw_list and abs(total - 100) > TOLERANCE:
            self.add("scheme", "components.weight", "weights_not_100", total=_fmt(total))
        if any(d.computed == "kpi" for c in out for d in c.dimensions) and not indicators:
            self.add("scheme", "indicators", "no_indicators_for_kpi")
        return tuple(out)

    def component(
        self,
        raw: dict[str, Any],
        i: int,
        seen: set[str],
        kinds: set[str],
        indicators: tuple[Indicator, ...],
    ) -> Component:
        """One ``[[components]]`` table; ``seen`` and ``kinds`` are the ids and kinds before it."""
        kind = self.choice(
            raw,
            "kind",
            str(raw.get("id") or raw.get("kind") or f"components[{i + 1}]"),
            COMPONENT_KINDS,
        )
        cid = str(raw.get("id", kind))
        where = cid
        if "id" in raw:
            self.ident(raw, where)
        if cid in seen:
            self.add(where, "id", "duplicate_id", id=cid)
        seen.add(cid)
        if kind in kinds and kind != "team":
            self.add(where, "kind", "duplicate_kind", kind=kind)
        kinds.add(kind)
        weight = self.num(raw, "weight", where, default=None)
        names = self.names(raw, where, required=False)
        missing = self.missing_rule(raw, where)
        dims = self.dimensions(raw, where, kind) if kind in ("self", "manager") else ()
        inds = self.team_indicators(raw, where, indicators) if kind == "team" else ()
        if kind == "kpi" and not indicators:
            self.add(where, "kind", "no_indicators_for_kpi")
        min_count, below_min, default = self.minimum_rule(raw, where, kind)
        csat = self.choice(raw, "csat", where, ("share_4_5", "mean"), default="share_4_5")
        expiry = self.int_(raw, "link_expiry_days", where, 7)
        repeat = self.choice(raw, "repeat", where, ("replace", "refuse"), default="replace")
        scorecard = None
        if "checks" in raw:
            if kind == "qa":
                scorecard = self.scorecard(raw, where)
            else:
                self.add(where, "checks", "checks_only_qa")
        return Component(
            id=cid,
            kind=kind,
            weight=weight or 0.0,
            name=names,
            missing=missing,  # type: ignore[arg-type]
            dimensions=dims,
            indicators=inds,
            csat=csat,  # type: ignore[arg-type]
            min_count=min_count,
            below_min=below_min,  # type: ignore[arg-type]
            default=default,
            link_expiry_days=expiry,
            repeat=repeat,  # type: ignore[arg-type]
            scorecard=scorecard,
        )

    def team_indicators(
        self, raw: dict[str, Any], where: str, indicators: tuple[Indicator, ...]
    ) -> tuple[str, ...]:
        """A team component's ``indicators``: a list of the scheme's indicator ids."""
        raw_inds = raw.get("indicators")
        if (
            not isinstance(raw_inds, list)
            or not raw_inds
            or not all(isinstance(x, str) for x in raw_inds)
        ):
            self.add(where, "indicators", "expected_id_list")
            return ()
        indicator_ids = {i.id for i in indicators}
        for ref in raw_inds:
            if ref not in indicator_ids:
                self.add(where, "indicators", "unknown_indicator", id=ref)
        return tuple(raw_inds)

    def minimum_rule(
        self, raw: dict[str, Any], where: str, kind: str
    ) -> tuple[int, str, float | None]:
        """The least count of raters, responses or samples, what happens below it, and the default
        score then: ``(min_count, below_min, default)``."""
        min_default = {"peer": 3, "customer": 1, "qa": 1}.get(kind, 0)
        min_key = {"peer": "min_raters", "customer": "min_responses", "qa": "min_samples"}.get(kind)
        min_count = self.int_(raw, min_key, where, min_default) if min_key else 0
        below_min = self.choice(raw, "below_min", where, ("exclude", "default"), default="exclude")
        default = self.num(raw, "default", where, default=math.nan) if "default" in raw else None
        if default is not None and math.isnan(default):
            default = None
        if below_min == "default" and default is None:
            self.add(where, "default", "required")
        if default is not None and not 0 <= default <= 100:
            self.add(where, "default", "default_range", value=_fmt(default))
        return min_count, below_min, default

    def scorecard(self, raw: dict[str, Any], where: str) -> Scorecard:
        """A qa component's checklist, sampling rule, blind flag, reviewer roles and link."""
        checks: list[Check] = []
        raw_checks = self.table_list(raw, "checks", where)
        if not raw_checks and isinstance(raw.get("checks"), list):
            self.add(where, "checks", "required")
        seen: set[str] = set()
        for i, rc in enumerate(raw_checks, start=1):
            cwhere = f"{where}.{rc.get('id') or f'checks[{i}]'}"
            cid = self.ident(rc, cwhere)
            if cid in seen:
                self.add(cwhere, "id", "duplicate_id", id=cid)
            seen.add(cid)
            names = self.names(rc, cwhere) or Names("", "")
            if "points" in rc and "weight" in rc:
                self.add(cwhere, "points", "points_or_weight")
            key = "weight" if "weight" in rc and "points" not in rc else "points"
            points = self.num(rc, key, cwhere, default=None, positive=True)
            critical = self.bool_(rc, "critical", cwhere, False)
            na = self.bool_(rc, "na", cwhere, True)
            checks.append(Check(cid, names, points or 1.0, critical, na))
        blind = self.bool_(raw, "blind", where, False)
        link = raw.get("link", "")
        if link != "" and (not isinstance(link, str) or "{ref}" not in link):
            self.add(where, "link", "link_needs_ref", placeholder="{ref}")
            link = ""
        reviewers: tuple[str, ...] = ("qa", "manager")
        if "reviewers" in raw:
            roles = raw["reviewers"]
            if (
                not isinstance(roles, list)
                or not roles
                or not all(isinstance(r, str) for r in roles)
            ):
                self.add(
                    where,
                    "reviewers",
                    "bad_choice",
                    value=str(roles),
                    choices=", ".join(REVIEWER_ROLES),
                )
            else:
                for role in roles:
                    if role not in REVIEWER_ROLES:
                        self.add(
                            where,
                            "reviewers",
                            "bad_choice",
                            value=role,
                            choices=", ".join(REVIEWER_ROLES),
                        )
                reviewers = tuple(r for r in roles if r in REVIEWER_ROLES) or reviewers
        return Scorecard(
            tuple(checks), self.sampling(raw.get("sample"), where), blind, reviewers, str(link)
        )

    def sampling(self, raw: Any, where: str) -> Sampling:
        if raw is None:
            return Sampling(count=2)
        if not isinstance(raw, dict):
            self.add(where, "sample", "expected_table")
            return Sampling(count=2)
        before = len(self.problems)
        per = self.choice(raw, "per", where, ("day", "week", "period"), default="week")
        count: int | None = None
        share: float | None = None
        if "count" in raw and "share" in raw:
            self.add(where, "count", "share_or_count")
        elif "share" in raw:
            share = self.num(raw, "share", where, default=None, positive=True)
            if share is not None and share > 1:
                self.add(where, "share", "share_range", value=_fmt(share))
                share = None
        elif "count" in raw:
            count = self.int_(raw, "count", where, 0)
            if (
                "count" in raw
                and count == 0
                and isinstance(raw["count"], int)
                and not isinstance(raw["count"], bool)
            ):
                self.add(where, "count", "not_positive", value=0)
        else:
            self.add(where, "count", "required")
        for i in range(before, len(self.problems)):
            p = self.problems[i]
            self.problems[i] = Problem(p.where, f"sample.{p.field}", p.code, p.params)
        return Sampling(per, count or (None if share else 2), share)  # type: ignore[arg-type]

    def dimensions(self, raw: dict[str, Any], where: str, kind: str) -> tuple[Dimension, ...]:
        out: list[Dimension] = []
        raw_dims = self.table_list(raw, "dimensions", where)
        if not raw_dims:
            self.add(where, "dimensions", "dimensions_required", kind=kind)
            return ()
        seen: set[str] = set()
        total = 0.0
        for i, rd in enumerate(raw_dims, start=1):
            dwhere = f"{where}.{rd.get('id') or f'dimensions[{i}]'}"
            did = self.ident(rd, dwhere)
            if did in seen:
                self.add(dwhere, "id", "duplicate_id", id=did)
            seen.add(did)
            names = self.names(rd, dwhere) or Names("", "")
            hint = self.names(rd, dwhere, key="hint", required=False)
            weight = self.num(rd, "weight", dwhere, default=None) or 0.0
            total += weight
            computed = rd.get("computed")
            if computed is not None and computed != "kpi":
                self.add(dwhere, "computed", "computed_not_kpi")
                computed = None
            missing = self.missing_rule(rd, dwhere)
            out.append(Dimension(did, names, weight, computed, hint, missing))  # type: ignore[arg-type]
        if abs(total - 100) > TOLERANCE:
            self.add(where, "dimensions.weight", "weights_not_100", total=_fmt(total))
        return tuple(out)

    def missing_rule(self, d: dict[str, Any], where: str) -> str:
        """A component's or dimension's ``missing``: exclude, zero or block (``worst``: the older
        name of zero)."""
        if d.get("missing") == "worst":
            return "zero"
        return self.choice(d, "missing", where, MISSING_RULES, default="exclude")

    def check_gates(
        self, indicators: tuple[Indicator, ...], components: tuple[Component, ...]
    ) -> None:
        ids = {c.id for c in components}
        for ind in indicators:
            if isinstance(ind.method, Gate):
                if ind.method.voids and ind.method.voids not in ids:
                    self.add(ind.id, "params.voids", "unknown_component", id=ind.method.voids)
                elif ind.method.voids == "kpi" and any(c.id == "kpi" for c in components):
                    self.add(ind.id, "params.voids", "gate_voids_self")

    def apply(self, raw: Any) -> ApplyRules:
        where = "apply"
        if not isinstance(raw, dict):
            self.add(where, "apply", "expected_table")
            return ApplyRules()
        stars: list[StarLevel] = []
        for rs in self.table_list(raw, "stars", where):
            level = rs.get("level")
            threshold: Any = rs.get("min_total")
            if not isinstance(level, int) or not _is_number(threshold):
                self.add(where, "stars", "star_order")
                continue
            stars.append(
                StarLevel(level, float(threshold), self.money(rs, "bonus_base", "apply.stars"))
            )
        if (
            len({s.level for s in stars}) != len(stars)
            or len({s.min_total for s in stars}) != len(stars)
            or any(not 0 <= s.min_total <= 100 for s in stars)
        ):
            self.add(where, "stars", "star_order")
        return ApplyRules(
            reward=self.money(raw, "reward", where),
            penalty=self.money(raw, "penalty", where),
            currency=str(raw.get("currency", "CNY")),
            improvement_last=self.int_(raw, "improvement_last", where, 2),
            improvement_days=self.int_(raw, "improvement_days", where, 7),
            post_change_after=self.int_(raw, "post_change_after", where, 3),
            stars=tuple(sorted(stars, key=lambda s: -s.min_total)),
            appeal_days=self.int_(raw, "appeal_days", where, 7),
            appeal_answer_days=self.positive_int(raw, "appeal_answer_days", where, 3),
            ties=self.choice(raw, "ties", where, ("share", "all", "none"), default="share"),  # type: ignore[arg-type]
            announce_best=self.bool_(raw, "announce_best", where, False),
            personal_goals=self.bool_(raw, "personal_goals", where, True),
        )

    def bool_(self, d: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = d.get(key, default)
        if not isinstance(value, bool):
            self.add(where, key, "expected_bool")
            return default
        return value

    def cycle(self, raw: Any) -> CycleRules:
        rules, problems = parse_cycle_rules(raw)
        for fld, code, params in problems:
            self.add("cycle", fld, code, **params)
        return rules

    def calibration(self, raw: Any) -> CalibrationRules:
        where = "calibration"
        if not isinstance(raw, dict):
            self.add(where, "calibration", "expected_table")
            return CalibrationRules()
        k = self.num(raw, "outlier_k", where, default=2.0, positive=True)
        targets: list[DistributionTarget] = []
        seen: set[str] = set()
        for i, rt in enumerate(self.table_list(raw, "targets", where), start=1):
            twhere = str(rt.get("id") or f"calibration.targets[{i}]")
            tid = self.ident(rt, twhere)
            if tid in seen:
                self.add(twhere, "id", "duplicate_id", id=tid)
            seen.add(tid)
            names = self.names(rt, twhere) or Names("", "")
            min_total = self.num(rt, "min_total", twhere, default=None)
            max_share = self.num(rt, "max_share", twhere, default=None)
            if min_total is not None and min_total > 100:
                self.add(twhere, "min_total", "total_range", value=_fmt(min_total))
            if max_share is not None and max_share > 1:
                self.add(twhere, "max_share", "share_range", value=_fmt(max_share))
            if min_total is not None and max_share is not None:
                targets.append(DistributionTarget(tid, names, min_total, max_share))
        return CalibrationRules(
            outlier_k=k if k is not None else 2.0,
            min_reviews=self.int_(raw, "min_reviews", where, 3),
            targets=tuple(targets),
        )


# -- pay parts ([[pay]]) ---------------------------------------------------------------------


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
    """The ``[[pay]]`` parts (``scoring.pay`` computes them), every problem recorded on ``parser``
    (unknown keys are ``scoring.scheme_keys``'s; a key known but not for this kind is refused
    here)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        parser.add("pay", "pay", "expected_tables")
        return ()
    by_id = {i.id: i for i in indicators}
    seen: set[str] = set()
    return tuple(_pay_part(parser, rp, n, by_id, apply, seen) for n, rp in enumerate(raw, start=1))


def _pay_part(
    parser: SchemeParser,
    rp: dict[str, Any],
    n: int,
    by_id: Mapping[str, Indicator],
    apply: ApplyRules,
    seen: set[str],
) -> PayPart:
    """The ``n``-th ``[[pay]]`` table; ``seen`` holds the ids of the tables before it."""
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
    if kind in ("fixed", "indicator_bonus"):
        amount = parser.money(rp, "amount", where)
        if amount is None and "amount" not in rp:
            parser.add(where, "amount", "required")
        met = _all_met(parser, rp, where, by_id) if kind == "indicator_bonus" else None
        if met is not None:
            return PayPart(pid, kind, names, amount=amount, all_met=met)  # type: ignore[arg-type]
        return PayPart(pid, kind, names, amount=amount)  # type: ignore[arg-type]
    if kind == "commission":
        iid = parser.str_(rp, "indicator", where)
        if iid and iid not in by_id:
            _unknown_indicator(parser, where, "indicator", iid, by_id)
        elif iid and by_id[iid].unit != "yuan":
            parser.add(where, "indicator", "commission_not_money", id=iid, unit=by_id[iid].unit)
        rate = _commission_rate(parser, rp, where)
        return PayPart(pid, kind, names, indicator=iid, rate=rate)  # type: ignore[arg-type]
    if kind == "star_bonus":
        scale = parser.choice(rp, "scale", where, SCALES, default="none")
        if not any(s.bonus_base is not None for s in apply.stars):
            parser.add(where, "kind", "star_bonus_needs_bases")
        return PayPart(pid, kind, names, scale=scale)  # type: ignore[arg-type]
    if kind == "reward_penalty" and apply.reward is None and apply.penalty is None:
        parser.add(where, "kind", "reward_penalty_needs_amounts")
    return PayPart(pid, kind, names)  # type: ignore[arg-type]


def _all_met(
    parser: SchemeParser, rp: dict[str, Any], where: str, by_id: Mapping[str, Indicator]
) -> tuple[str, ...] | None:
    """An indicator bonus's ``all_met`` (the indicators that must all be met), None if absent."""
    if "all_met" not in rp:
        return None
    met = rp["all_met"]
    if not isinstance(met, list) or not met or not all(isinstance(x, str) for x in met):
        parser.add(where, "all_met", "expected_id_list")
        met = []
    for iid in met:
        if iid not in by_id:
            _unknown_indicator(parser, where, "all_met", iid, by_id)
    return tuple(met)


def _commission_rate(parser: SchemeParser, rp: dict[str, Any], where: str) -> Decimal | None:
    """A commission's ``rate``: a fraction from 0 to 1 (``"0.3%"`` or ``"0.003"``, never a
    float)."""
    if "rate" not in rp:
        parser.add(where, "rate", "required")
        return None
    if isinstance(rp["rate"], float):
        parser.add(where, "rate", "rate_not_float")
        return None
    rate = parse_rate(rp["rate"])
    if rate is None or not 0 <= rate <= 1:
        parser.add(where, "rate", "bad_rate", value=str(rp["rate"]))
        return None
    return rate


def _unknown_indicator(
    parser: SchemeParser, where: str, fld: str, iid: str, by_id: Mapping[str, Indicator]
) -> None:
    close = difflib.get_close_matches(iid, list(by_id), n=1, cutoff=0.6)
    if close:
        parser.add(where, fld, "unknown_indicator_close", id=iid, close=close[0])
    else:
        parser.add(where, fld, "unknown_indicator", id=iid)
