"""``TeamResult.to_dict()`` builds the rows straight from the arrays (issue 20: what storing a
team's results costs); it must say exactly what the result objects say."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from scoring import ScoreInputs, parse_scheme, score_team

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import scoring_bench  # noqa: E402

SHIPPED = Path(__file__).parents[2] / "schemes"


def _same(result: object) -> None:
    fast = result.to_dict()  # type: ignore[attr-defined]
    slow = [r.to_dict() for r in result.results]  # type: ignore[attr-defined]
    assert json.dumps(fast, sort_keys=True, default=str) == json.dumps(
        slow, sort_keys=True, default=str
    )


def test_the_rows_equal_the_result_objects_with_gaps_and_ties() -> None:
    scheme = parse_scheme(scoring_bench.scheme_text())
    agents, values, reviews = scoring_bench.make_data(300)
    values[::7, 3] = np.nan  # missing values
    values[5] = values[6]  # a tie
    reviews[5] = reviews[6]
    reviews[::11] = np.nan
    ids = [i.id for i in scheme.indicators]
    inputs = ScoreInputs(
        values=pd.DataFrame(values, index=agents, columns=ids),
        reviews=pd.DataFrame({"self.task": reviews}, index=agents),
    )
    _same(score_team(scheme, inputs, as_of=date(2026, 11, 3)))


def test_the_rows_equal_the_result_objects_for_every_shipped_scheme_with_its_indicators() -> None:
    rng = np.random.default_rng(20)
    for path in sorted(SHIPPED.glob("*.toml")):
        scheme = parse_scheme(path.read_text(encoding="utf-8"))
        agents = [f"a{i}" for i in range(40)]
        columns = [i.column for i in scheme.indicators]
        frame = pd.DataFrame(rng.random((40, len(columns))) * 100, index=agents, columns=columns)
        frame.iloc[::5, 0] = np.nan
        _same(
            score_team(
                scheme, ScoreInputs(values=frame, agents=tuple(agents)), as_of=date(2026, 11, 3)
            )
        )
