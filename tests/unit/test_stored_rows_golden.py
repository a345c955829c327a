"""The stored ``result`` rows do not change while their building gets faster (issue 20).

``tests/data/scoring/stored_rows_golden.json.gz`` holds the rows (``storage.results.row_values`` of
``TeamResult.to_dict()``, the breakdown as the JSON text kpibot stores) of fixed teams under every
shipped scheme, the bench's scheme and the hiring example, generated with main's code of
2026-12-04 (2a923c6) before the rows' building was cut: gaps, ties, several teams, reviews,
customer stars, peer and QA figures, a last-place history, a provisional result. Any change of a
single character of what is stored fails here.
"""

from __future__ import annotations

import gzip
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring import ScoreInputs, parse_scheme, score_team
from scoring.methods import Descriptive
from scoring.scheme import Scheme
from storage.results import row_values

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "scoring" / "stored_rows_golden.json.gz"
sys.path.insert(0, str(ROOT / "bench"))
import scoring_bench  # noqa: E402

AS_OF = date(2026, 11, 3)
N = 30


def _schemes() -> dict[str, Scheme]:
    paths = sorted((ROOT / "schemes").glob("*.toml")) + sorted(
        (ROOT / "schemes" / "examples").glob("*.toml")
    )
    out = {p.stem: parse_scheme(p.read_text(encoding="utf-8")) for p in paths}
    out["bench"] = parse_scheme(scoring_bench.scheme_text())
    return out


def _inputs(scheme: Scheme, seed: int, *, teams: bool) -> ScoreInputs:
    rng = np.random.default_rng(seed)
    agents = [f"a{i:02d}" for i in range(N)]
    columns = [i.column for i in scheme.indicators]
    values = rng.random((N, len(columns)))
    for j, ind in enumerate(scheme.indicators):
        if isinstance(ind.method, Descriptive):
            values[:, j] = rng.integers(0, len(ind.method.levels) + 1, N)  # 0: not a level
        elif ind.unit == "count":
            values[:, j] = rng.integers(0, 5, N)
        elif ind.unit not in ("fraction",):
            values[:, j] *= 200
    values[::7, 0] = np.nan
    if len(columns) > 2:
        values[3::9, 2] = np.nan
    values[5] = values[6]  # a tie
    review_columns: dict[str, np.ndarray] = {}
    for comp in scheme.components:
        if comp.kind in ("self", "manager"):
            for dim in comp.rated_dimensions:
                review_columns[f"{comp.id}.{dim.id}"] = rng.integers(1, 6, N).astype(float)
    reviews = pd.DataFrame(review_columns, index=agents)
    if len(reviews.columns):
        reviews.iloc[::11, 0] = np.nan
        reviews.iloc[5] = reviews.iloc[6]
    stars = pd.DataFrame(
        rng.integers(0, 6, (N, 5)), index=agents, columns=["n1", "n2", "n3", "n4", "n5"]
    )
    stars.iloc[5] = stars.iloc[6]
    figures = {
        name: pd.DataFrame(
            {"score": rng.random(N) * 100, "count": rng.integers(0, 9, N)}, index=agents
        )
        for name in ("peer", "qa")
    }
    for frame in figures.values():
        frame.iloc[5] = frame.iloc[6]
    history = pd.DataFrame(
        {"p1": rng.random(N) < 0.2, "p2": rng.random(N) < 0.2, "p3": rng.random(N) < 0.2},
        index=agents,
    ).astype(object)
    history.iloc[::13, 1] = None
    return ScoreInputs(
        values=pd.DataFrame(values, index=agents, columns=columns),
        reviews=reviews,
        customer=stars,
        peer=figures["peer"],
        qa=figures["qa"],
        teams=pd.Series([f"t{i % 3}" for i in range(N)], index=agents) if teams else None,
        history=history,
        agents=(*agents, "nobody"),  # one agent with no data at all
    )


def stored_rows() -> dict[str, list[dict[str, Any]]]:
    """Every case's stored rows, as ``commands.results`` stores them (best first)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for k, (name, scheme) in enumerate(sorted(_schemes().items())):
        for teams in (False, True):
            result = score_team(scheme, _inputs(scheme, 20261204 + k, teams=teams), as_of=AS_OF)
            out[f"{name}/{'teams' if teams else 'one'}"] = [
                row_values(7, position, {
                    "member_id": position, "name": b["agent"], "total": b["total"],
                    "rank": b["rank"], "group_size": b["group_size"],
                    "provisional": b["provisional"], "flags": b["flags"], "breakdown": b,
                })
                for position, b in enumerate(result.to_dict())
            ]  # fmt: skip
    return out


def test_the_stored_rows_are_exactly_those_of_before() -> None:
    golden = json.loads(gzip.decompress(GOLDEN.read_bytes()).decode("utf-8"))
    now = json.loads(json.dumps(stored_rows(), ensure_ascii=False))
    assert sorted(now) == sorted(golden)
    for case, rows in golden.items():
        assert len(now[case]) == len(rows), case
        for a, b in zip(now[case], rows, strict=True):
            assert a == b, (case, a["name"])
            assert a["breakdown"] == b["breakdown"], case  # the stored text, character by character


def test_the_golden_cases_cover_what_the_rows_carry() -> None:
    golden = json.loads(gzip.decompress(GOLDEN.read_bytes()).decode("utf-8"))
    texts = "".join(r["breakdown"] for rows in golden.values() for r in rows)
    for needle in ('"provisional":true', '"spread_over"', '"reason":"missing"', '"band"',
                   '"ratio"', '"met"', '"deducted"', '"level"', '"reward_amount":"', '"team":"t1"',
                   '"rank":null'):  # fmt: skip
        assert needle in texts, needle
