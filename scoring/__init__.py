"""The shared scoring module: pure functions over plain data. No I/O, no imports from the rest
of kpibot.

Every score the product shows (monthly broadcast, ``/rank``, ``/review`` preview, ``/simulate``,
``kpibot score``) comes from here; nothing else re-implements a rule.

Schemes (``scoring.scheme``, parsed by ``scoring.scheme_parser``)
-----------------------------------------------------------------
``parse_scheme(text) -> Scheme`` parses and validates a scheme's TOML (format: ``docs/schemes.md``).
A bad scheme raises ``SchemeError``; ``err.problems`` lists *every* problem, each a ``Problem``
with ``where`` (indicator / component id, or ``scheme``), ``field`` (e.g. ``params.bands[2]``),
``code`` and ``params``; ``problem.message`` is English. Translate at the edge with
``_(PROBLEM_TEMPLATES[p.code], **p.params)`` (zh catalogue: ``locale/zh/.../scoring.po``).

``Scheme`` (frozen): ``id, name_zh, name_en, period ("month"|"quarter"), language, publish_ranking,
components, indicators, apply, text, content_hash`` (sha256 of the text), plus
``scheme.name(lang)``, ``scheme.component(kind_or_id)``, ``scheme.indicator(id)``,
``scheme.self_dimensions``, ``scheme.manager_dimensions`` (``Dimension(id, name, weight,
computed, hint)``; ``computed == "kpi"`` means "not asked, it is the KPI table's score"),
``scheme.customer`` (the customer ``Component``: ``csat, min_count, below_min, default,
link_expiry_days, repeat``). ``Indicator(id, name: Names(zh, en), unit, better, points, method,
missing, group, source, provider)``; a component's ``missing`` is ``exclude | zero | block``.
``scheme.apply``: ``ApplyRules(reward, penalty`` (Decimal or None)``, currency,
improvement_last, improvement_days, post_change_after, stars)``.

Scoring a team (``scoring.total``)
----------------------------------
Build a ``ScoreInputs`` of pandas frames, each indexed by agent id (``str``)::

    inputs = ScoreInputs(
        values=pd.DataFrame({"conversion_rate": [0.42, nan], ...}, index=["a1", "a2"]),
        reviews=pd.DataFrame({"self.task_completion": [4, 5],            # stored answers 1–5
                              "manager.ability": [3, 4], ...}, index=[...]),
        review_scale=5,              # or 100 when review columns are already 0–100 (CSV)
        customer=pd.DataFrame({"n1": .., "n2": .., "n3": .., "n4": .., "n5": ..}),  # star counts
        peer=pd.DataFrame({"score": .., "count": ..}),   # 0–100 mean and raters; see peer_summary()
        qa=pd.DataFrame({"score": .., "count": ..}),     # quality-sampling mean 0–100 and samples
        teams=pd.Series({"a1": "t1", ...}),              # optional; ranks within each team
        team_values=pd.DataFrame(..., index=["t1"]),     # optional team-level indicator values
        # past periods oldest→newest; True = was last, None = provisional
        history=pd.DataFrame(...),
    )
    result = score_team(scheme, inputs, as_of=date(2026, 11, 3))   # as_of = publication date

Missing values are ``NaN``, never 0: each indicator's ``missing`` rule either excludes it (the
KPI table is rescaled over the indicators that have data) or scores the worst band. Components
with no data, or below their minimum count (customer ``min_responses``, peer ``min_raters``, qa
``min_samples``), are excluded (the other weights are rescaled) or take the scheme's ``default``.
A whole-component review column (``manager``) stands for every rated dimension without its own
column; the manager's ``performance`` dimension is the KPI table score when computed.

``TeamResult``: ``result.results`` (tuple of ``AgentResult``, best first), ``result.agent(id)``,
``result.frame`` (DataFrame: team, total, rank, kpi, one column per component, best first),
``result.to_dict()`` (JSON-able list, best first), and the raw column-wise arrays in input order
(``result.agents``, ``total``, ``rank``, ``kpi``, ``comp_points`` …) for bulk use. Agent ids come
back as strings (an integer index is converted). Result objects are built lazily: scoring
10,000 agents takes milliseconds; building every object for them takes longer, so ask
``result.agent(id)`` when one is enough. ``AgentResult``: ``agent, team, total`` (0–100,
unrounded; ``None`` if nothing to score), ``rank`` (ties share a rank: 1, 1, 3; ``None`` if
unscored), ``group_size``, ``kpi`` (the KPI table's 0–100 score), ``components``
(``ComponentResult(id, kind, points 0–100, weight``
(effective after rescaling)``, declared_weight, contribution, status, detail)``), ``indicators``
(``IndicatorResult(id, value, points, max_points, status ("ok"|"excluded"|"worst"), detail)``;
``detail`` names the band, deductions, ratio, level or gate), ``flags`` (``Flags(reward,
reward_amount, penalty, penalty_amount, last, improvement_due: date|None, post_change, star)``),
``provisional`` (a ``missing = "block"`` part has no data: unranked, no flags) and ``missing``
(those parts' ids, ``scheme.required_parts``; ``scheme.part_name(id, lang)`` names them),
``to_dict()``. Component status: ``ok, excluded, worst, below_min_excluded, below_min_default,
voided`` (a missed gate). Tie-break for ordering inside a shared rank: higher KPI table score,
then higher manager component, then agent id.

Apply rules: rank 1 → reward; the last (unless everyone ties) → penalty and ``last``; the last
``improvement_last`` positions (ties included, rank 1 never) → improvement plan due
``as_of + improvement_days``; last now and in the previous ``post_change_after − 1`` periods of
``history`` → ``post_change`` (a provisional month, ``None`` there, is skipped: it neither counts
nor breaks the run); ``star`` = highest star level whose ``min_total`` the total reaches.

The calculator (``scoring.table``): ``read_score_table(scheme, table_of_strings) -> ScoreInputs``
checks a ``kpibot score`` CSV cell by cell and raises ``TableError`` (``problems``:
``CellProblem(code, row, column, params)``; English via ``TABLE_TEMPLATES``). ``rank_totals``
is the ranking alone.

What-if: ``rescore_with(scheme, inputs, agent, {"manager.ability": 4, "refund_ratio": 0.02},
as_of=...) -> AgentResult`` rescores the team with one agent's values changed (``/simulate``,
review preview). ``scale_review(v, 5)`` turns a 1–5 answer into 0–100; ``peer_summary(answers)``
turns per-rater peer answers into the ``peer`` frame.
"""

from scoring.scheme import PROBLEM_TEMPLATES, Problem, Scheme, SchemeError
from scoring.scheme_parser import parse_scheme
from scoring.total import (
    AgentResult,
    ComponentResult,
    Flags,
    IndicatorResult,
    ScoreInputs,
    TeamResult,
    peer_summary,
    rescore_with,
    scale_review,
    score_team,
)

__all__ = [
    "PROBLEM_TEMPLATES",
    "AgentResult",
    "ComponentResult",
    "Flags",
    "IndicatorResult",
    "Problem",
    "Scheme",
    "SchemeError",
    "ScoreInputs",
    "TeamResult",
    "parse_scheme",
    "peer_summary",
    "rescore_with",
    "scale_review",
    "score_team",
]
