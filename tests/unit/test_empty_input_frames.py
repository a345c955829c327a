"""An input frame with no rows means "nobody has any", exactly as no frame at all (issue 20):
the one-agent what-if of /review's preview passes the agent's own slice of each frame, which
is empty for an agent nobody rated yet, and scoring must not fail on it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.scheme_parser import parse_scheme
from scoring.total import ScoreInputs, score_team

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ("a1", "a2", "a3")


@pytest.mark.parametrize("scheme_name", ["call_centre", "online_shop", "after_sales"])
@pytest.mark.parametrize("frame", ["customer", "peer", "qa"])
def test_an_input_frame_without_rows_scores_as_no_frame(scheme_name: str, frame: str) -> None:
    scheme = parse_scheme((ROOT / "schemes" / f"{scheme_name}.toml").read_text(encoding="utf-8"))
    rng = np.random.default_rng(7)
    values = pd.DataFrame(
        {ind.column: rng.uniform(0.2, 0.9, len(AGENTS)) for ind in scheme.indicators},
        index=list(AGENTS),
    )
    columns = ["n1", "n2", "n3", "n4", "n5"] if frame == "customer" else ["score", "count"]
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    as_of = date(2026, 11, 3)
    without = score_team(scheme, ScoreInputs(values=values, agents=AGENTS), as_of=as_of)
    with_empty = score_team(
        scheme, ScoreInputs(values=values, agents=AGENTS, **{frame: empty}), as_of=as_of
    )
    for agent in AGENTS:
        assert with_empty.agent(agent).to_dict() == without.agent(agent).to_dict()
