"""Every indicator of a shipped scheme is filled by a shipped mapping or asked in a form (issue 14
"Done when"): walked indicator by indicator, an imported one must come out of a shipped mapping's
sample file with a value — not merely be a column some formula could produce.

Besides each mapping's own sample (``test_sample_files.SAMPLES``): the default scheme's churn
(客户流失率) has no column in any real platform export (/work/shared/exports); only a hand-made
summary with 流失人数 fills it, read by ``shop_zh``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commands.importing import Roster, load_mapping, prepare
from scoring.provision import FORM_PROVIDERS
from scoring.scheme_parser import parse_scheme
from tests.importing.conftest import OCTOBER, sample
from tests.importing.test_sample_files import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("online_shop", "after_sales", "call_centre")
MORE_SAMPLES = {"shop_zh": ("shop_zh_summary_churn.csv",)}


_IMPORTED: dict[tuple[str, str], pd.DataFrame] = {}  # the roster fixture is the same in every test


def _imported(mapping: str, file: str, roster: Roster) -> pd.DataFrame:
    if (mapping, file) not in _IMPORTED:
        _IMPORTED[mapping, file] = prepare(
            sample(file), file, load_mapping(mapping), roster, OCTOBER
        ).values
    return _IMPORTED[mapping, file]


def filled_by(column: str, roster: Roster) -> list[str]:
    """The shipped mappings whose sample files, imported, give ``column`` a value for some agent."""
    out = []
    for mapping in sorted(SAMPLES):
        for file in (SAMPLES[mapping], *MORE_SAMPLES.get(mapping, ())):
            values = _imported(mapping, file, roster)
            if column in values.columns and values[column].notna().any():
                out.append(mapping)
                break
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_every_indicator_of_a_shipped_scheme_is_filled_by_a_shipped_mapping_or_a_form(
    name: str, roster: Roster
) -> None:
    scheme = parse_scheme((ROOT / "schemes" / f"{name}.toml").read_text(encoding="utf-8"))
    unfilled = []
    for ind in scheme.indicators:
        if ind.provider in FORM_PROVIDERS:
            continue  # asked in a form (the manager's /review, or typed by an admin)
        assert ind.provider == "import", (
            f"{ind.id}: provider {ind.provider} fills no indicator value"
        )
        if not filled_by(ind.column, roster):
            unfilled.append(f"{ind.id} ({ind.column})")
    assert not unfilled, f"{name}: no shipped mapping's sample fills " + ", ".join(unfilled)


def test_the_call_centres_complaints_and_calls_come_from_the_complaints_and_call_logs(
    roster: Roster,
) -> None:
    assert "complaints_zh" in filled_by("complaints", roster)
    assert "calls_zh" in filled_by("sessions_handled", roster)
    # the default scheme's churn (客户流失率) comes from a hand-made summary's 流失人数
    assert filled_by("churn_rate", roster) == ["shop_zh"]
