"""A scheme (考核方案): which components and indicators score a team, parsed from TOML and
validated.

``parse_scheme(text)`` returns a frozen :class:`Scheme` or raises :class:`SchemeError` whose
``problems`` list *every* problem at once, each naming where (indicator / component id), the
field, a stable ``code`` with ``params`` (for translation at the edge) and an English message.
The format is documented in ``docs/schemes.md``; ``parse_scheme`` and the checks live in
``scoring.scheme_parser``, which builds the classes here (this module never imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any, Literal

from scoring.cycle_rules import CycleRules
from scoring.methods import Method

UNITS: tuple[str, ...] = (
    "fraction",
    "percent",
    "seconds",
    "minutes",
    "yuan",
    "count",
    "days",
    "points",
)
COMPONENT_KINDS: tuple[str, ...] = ("kpi", "self", "manager", "customer", "peer", "qa", "team")
MANAGER_DIMENSIONS: tuple[str, ...] = ("performance", "ability", "collaboration", "service")
TOLERANCE = 1e-6
# What a component (or a review dimension) with no data means: ``exclude`` leaves it out and
# spreads its weight over its group; ``zero`` scores it 0; ``block`` leaves it out like
# ``exclude`` *and* makes the result provisional (never ranked, rewarded or penalised).
MISSING_RULES: tuple[str, ...] = ("exclude", "zero", "block")
MissingRule = Literal["exclude", "zero", "block"]
# Who fills an indicator's value in: an import (a file's column or a formula over its
# measures), the manager in ``/review``, quality sampling, the customer survey, an admin by hand.
PROVIDERS: tuple[str, ...] = ("import", "manager", "qa", "survey", "admin")
Provider = Literal["import", "manager", "qa", "survey", "admin"]

# English message templates, one per problem code. The edge translates them with
# ``_(PROBLEM_TEMPLATES[code], **params)``; the zh catalogue is
# commands/locale/zh/LC_MESSAGES/scoring.po.
PROBLEM_TEMPLATES: dict[str, str] = {
    "toml_syntax": "The file is not valid TOML: {error}",
    "required": "Required field is missing.",
    "expected_text": "Expected a non-empty text.",
    "expected_number": "Expected a number.",
    "expected_whole_number": "Expected a whole number.",
    "expected_names": "Expected a table with zh and en names.",
    "expected_tables": "Expected an array of tables.",
    "expected_bool": "Expected true or false.",
    "expected_table": "Expected a table.",
    "expected_id_list": "Expected a non-empty list of indicator ids.",
    "bad_choice": "Unknown value {value!r}; expected one of: {choices}.",
    "missing_name": "Missing the {lang} name.",
    "duplicate_id": "Duplicate id {id!r}.",
    "bad_id": "Id {id!r} must be lower-case letters, digits and underscores.",
    "weights_not_100": "Weights add up to {total}, not 100.",
    "points_not_100": "Indicator points add up to {total}, not 100.",
    "negative": "Must not be negative (got {value}).",
    "not_positive": "Must be greater than zero (got {value}).",
    "unknown_method": "Unknown method {value!r}; expected one of: {choices}.",
    "unknown_param": "Unknown parameter {param!r} for method {method}.",
    "band_edges": "Band {band} has a bad edge: use at most one of gt/ge and one of lt/le.",
    "band_empty": "Band {band} contains no value.",
    "band_overlap": "Bands {first} and {second} overlap at {at}.",
    "band_gap": "Bands {first} and {second} leave a gap at {at}.",
    "band_open_start": "The first band must have no lower edge, so that every value falls in a "
    "band.",
    "band_open_end": "The last band must have no upper edge, so that every value falls in a band.",
    "band_points": "Band {band} gives {value} points, outside 0 to the indicator's {full}.",
    "not_monotone": "Points must not get worse as the value gets better (better = {better}).",
    "level_points": "Level {level} gives {value} points, outside 0 to the indicator's {full}.",
    "deduction_direction": 'A deduction indicator counts events, so better must be "lower".',
    "descriptive_direction": "A descriptive indicator's levels are listed worst first, "
    'so better must be "higher".',
    "unknown_component": "No component with id {id!r}.",
    "unknown_indicator": "No indicator with id {id!r}.",
    "unknown_indicator_close": "No indicator with id {id!r}; did you mean {close!r}?",
    "computed_not_kpi": 'Only computed = "kpi" is supported.',
    "no_indicators_for_kpi": "The scheme computes the KPI table but declares no indicators.",
    "dimensions_required": "A {kind} component needs at least one dimension.",
    "money_not_float": 'Money must be a whole number or a quoted decimal such as "100.00", '
    "not a float.",
    "bad_money": "Not an amount of money: {value!r}.",
    "star_order": "Star levels must have distinct levels and thresholds within 0–100.",
    "default_range": "The default score must be within 0–100 (got {value}).",
    "duplicate_kind": "Only one {kind} component is allowed.",
    "gate_voids_self": "A gate cannot void the component it belongs to.",
    "share_range": "A share must be within 0–1 (got {value}).",
    "total_range": "A total must be within 0–100 (got {value}).",
    "points_or_weight": "Give a check points or a weight, not both.",
    "share_or_count": "Give the sample a share or a count, not both.",
    "link_needs_ref": "The link must contain {placeholder}, where the session's reference goes.",
    "checks_only_qa": "Only a qa component has checks.",
    "bad_clock_time": 'Expected a time of day such as "09:00" (got {value!r}).',
    "bad_day_of_month": "Expected a day of the month from 1 to {last} (got {value}).",
    "bad_day_list": "Expected a list of whole numbers from {low} to {high} (got {value}).",
    "window_order": "The {first} time must come before the {then} time.",
    "no_working_day": "At least one day of the week must be a working day.",
    "unknown_field": "Unknown field {field!r}.",
    "unknown_key": "Unknown key {key!r} (line {line}); expected one of: {choices}.",
    "unknown_key_close": "Unknown key {key!r} (line {line}); did you mean {close!r}?",
    "pay_key_not_for_kind": "{key!r} does not belong in a {kind} pay part; it takes: {keys}.",
    "commission_not_money": "A commission is a share of an amount of money, but {id!r} is in "
    "{unit}; "
    "use an indicator in yuan.",
    "rate_not_float": 'Write the rate as a quoted decimal such as "0.003" '
    'or a percent such as "0.3%", '
    "not a float.",
    "bad_rate": 'Not a rate from 0 to 100 %: {value!r} (write "0.003" or "0.3%").',
    "star_bonus_needs_bases": "A star bonus needs star levels with a bonus_base in [apply] stars.",
    "reward_penalty_needs_amounts": "A reward/penalty part needs a reward or a penalty in [apply].",
    "precision_range": "The precision must be a whole number of decimals from 0 to 4 (got "
    "{value}).",
    "no_provider": "No {provider} data fills an indicator value; "
    'use provider = "import", "manager" or "admin".',
    "not_importable": "No import stores {column!r}, so nothing can fill this indicator; map it in "
    "an import, "
    'or set provider = "manager" or "admin".',
    "not_importable_close": "No import stores {column!r}, so nothing can fill this indicator; did "
    "you mean "
    '{close!r}? (Or set provider = "manager" or "admin".)',
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scheme: ``where`` (id or ``scheme``), ``field``, ``code``,
    ``params``."""

    where: str
    field: str
    code: str
    params: dict[str, Any] = dc_field(default_factory=dict)

    @property
    def message(self) -> str:
        return PROBLEM_TEMPLATES[self.code].format(**self.params)

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


class SchemeError(ValueError):
    """A scheme that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Names:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Indicator:
    id: str
    name: Names
    unit: str
    better: Literal["higher", "lower"]
    points: float
    method: Method
    missing: Literal["exclude", "worst"] = "exclude"
    group: str = ""
    source: str = ""
    provider: Provider = "import"

    @property
    def column(self) -> str:
        """The input column this indicator reads: ``source`` if set (two rules, one value), else
        ``id``."""
        return self.source or self.id

    @property
    def worst_points(self) -> float:
        return self.method.worst(self.points)


@dataclass(frozen=True)
class Dimension:
    """A review dimension (self or manager); ``computed = "kpi"`` means the KPI table's score."""

    id: str
    name: Names
    weight: float
    computed: Literal["kpi"] | None = None
    hint: Names | None = None
    missing: MissingRule = "exclude"


@dataclass(frozen=True)
class Check:
    """One line of a QA scorecard. ``points`` (or a weight: the same, relative) count towards the
    sample's score; failing a ``critical`` check fails the whole sample (0); ``na``: may be
    answered "not applicable", which leaves the check out of the sample's total."""

    id: str
    name: Names
    points: float
    critical: bool = False
    na: bool = True


@dataclass(frozen=True)
class Sampling:
    """How many sessions to draw per agent: ``count`` sessions or a ``share`` of them, per
    ``day``, ``week`` or the whole ``period``."""

    per: Literal["day", "week", "period"] = "week"
    count: int | None = None
    share: float | None = None


@dataclass(frozen=True)
class Scorecard:
    """The qa component's checklist (质检评分表) and how samples are drawn and reviewed.

    ``blind``: reviewers never see whose conversation it is. ``reviewers``: the roles that get
    a review queue. ``link``: a URL template with ``{ref}`` that opens the original session.
    """

    checks: tuple[Check, ...]
    sampling: Sampling = Sampling(count=2)
    blind: bool = False
    reviewers: tuple[str, ...] = ("qa", "manager")
    link: str = ""

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)


@dataclass(frozen=True)
class Component:
    """A weighted part of the total. Fields beyond ``id/kind/weight`` apply to some kinds only.

    - ``self``/``manager``: ``dimensions`` (weights inside the component add up to 100).
    - ``customer``: ``csat`` (``share_4_5`` | ``mean``), ``min_count`` (= min_responses),
      ``below_min``/``default``, ``link_expiry_days``, ``repeat`` (``replace`` | ``refuse``).
    - ``peer``: ``min_count`` (= min_raters, default 3), ``below_min``/``default``.
    - ``qa``: ``min_count`` (= min_samples), ``below_min``/``default``, ``scorecard``
      (checks, sampling, blind review; ``None`` when the scheme declares no checks).
    - ``team``: ``indicators``: ids scored on the team's own values.
    ``missing`` (``exclude`` | ``zero`` | ``block``) applies when there is no data at all (or,
    for ``customer``/``peer``/``qa``, too little and ``below_min = "exclude"``): see
    :data:`MISSING_RULES`. ``block`` marks a *required* part.
    """

    id: str
    kind: str
    weight: float
    name: Names | None = None
    missing: MissingRule = "exclude"
    dimensions: tuple[Dimension, ...] = ()
    indicators: tuple[str, ...] = ()
    csat: Literal["share_4_5", "mean"] = "share_4_5"
    min_count: int = 0
    below_min: Literal["exclude", "default"] = "exclude"
    default: float | None = None
    link_expiry_days: int = 7
    repeat: Literal["replace", "refuse"] = "replace"
    scorecard: Scorecard | None = None

    @property
    def rated_dimensions(self) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions if d.computed is None)


@dataclass(frozen=True)
class StarLevel:
    """A star level (星级, 003): reached at ``min_total`` (the rounded total); ``bonus_base`` is
    the bonus base it sets ("星级越高的座席代表则奖金的基数越高"), Decimal in the scheme's
    currency."""

    level: int
    min_total: float
    bonus_base: Decimal | None = None


# -- pay parts (``[[pay]]``; computed by scoring.pay, read by the scheme parser) ----------------

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
class ApplyRules:
    """结果应用. Amounts are Decimal in ``currency`` units (never float); ``None`` = no
    reward/penalty."""

    reward: Decimal | None = None
    penalty: Decimal | None = None
    currency: str = "CNY"
    improvement_last: int = 2
    improvement_days: int = 7
    post_change_after: int = 3
    stars: tuple[StarLevel, ...] = ()
    appeal_days: int = 7
    appeal_answer_days: int = (
        3  # working days the decider has to answer an appeal (seed 002: a timely answer)
    )
    ties: Literal["share", "all", "none"] = (
        "share"  # several agents at a rewarded or penalised place
    )
    announce_best: bool = False
    personal_goals: bool = True


@dataclass(frozen=True)
class DistributionTarget:
    """A calibration target: at most ``max_share`` of the agents with a total of ``min_total`` or
    more."""

    id: str
    name: Names
    min_total: float
    max_share: float


@dataclass(frozen=True)
class CalibrationRules:
    """校准 before publishing: how far a manager's mean review may stray, and distribution targets.

    A manager is flagged lenient (strict) when the mean of their review scores (0–100) is more
    than ``outlier_k`` standard errors above (below) the organisation's mean, counting only
    managers with at least ``min_reviews`` reviews.
    """

    outlier_k: float = 2.0
    min_reviews: int = 3
    targets: tuple[DistributionTarget, ...] = ()


@dataclass(frozen=True)
class Scheme:
    id: str
    name_zh: str
    name_en: str
    period: Literal["month", "quarter"]
    language: str
    publish_ranking: bool
    components: tuple[Component, ...]
    indicators: tuple[Indicator, ...]
    apply: ApplyRules
    text: str
    content_hash: str
    calibration: CalibrationRules = CalibrationRules()
    cycle: CycleRules = CycleRules()
    precision: int = (
        1  # decimals of every shown total and contribution; ranks use the rounded total
    )
    pay: tuple[PayPart, ...] = ()  # the pay formula's parts (``[[pay]]``, scoring.pay), in order

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def component(self, kind_or_id: str) -> Component | None:
        for c in self.components:
            if c.id == kind_or_id:
                return c
        for c in self.components:
            if c.kind == kind_or_id:
                return c
        return None

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)

    @property
    def self_dimensions(self) -> tuple[Dimension, ...]:
        c = self.component("self")
        return c.dimensions if c else ()

    @property
    def manager_dimensions(self) -> tuple[Dimension, ...]:
        c = self.component("manager")
        return c.dimensions if c else ()

    @property
    def customer(self) -> Component | None:
        """The customer-rating settings (csat, min_count, link_expiry_days, repeat …), if any."""
        return self.component("customer")

    @property
    def qa(self) -> Component | None:
        """The quality-sampling component (its ``scorecard``, ``min_count`` …), if any."""
        return self.component("qa")

    @property
    def required_parts(self) -> tuple[str, ...]:
        """Ids of the parts a complete result needs (``missing = "block"``): a component id, or
        ``<component>.<dimension>`` for a review dimension (the computed table:
        ``manager.performance``)."""
        out: list[str] = []
        for c in self.components:
            if c.missing == "block":
                out.append(c.id)
            out += [f"{c.id}.{d.id}" for d in c.dimensions if d.missing == "block"]
        return tuple(out)

    def part_name(self, part: str, lang: str) -> str:
        """A part id of :attr:`required_parts` (or a component id) as a person reads it."""
        cid, _, did = part.partition(".")
        comp = self.component(cid)
        if comp is None:
            return part
        if did:
            for d in comp.dimensions:
                if d.id == did:
                    return d.name.get(lang)
            return part
        return comp.name.get(lang) if comp.name is not None else comp.id

    @property
    def uses_kpi_table(self) -> bool:
        return any(c.kind == "kpi" for c in self.components) or any(
            d.computed == "kpi" for c in self.components for d in c.dimensions
        )
