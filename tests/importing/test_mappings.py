"""Mapping files: the shipped ones load, and a wrong one says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.i18n import translator
from commands.importing import (
    ImportRefused,
    known_mappings,
    load_mapping,
    parse_mapping,
    render_problems,
)


@pytest.mark.parametrize("name", known_mappings())
def test_every_shipped_mapping_loads_with_titles_in_both_languages(name: str) -> None:
    mapping = load_mapping(name)
    assert mapping.name == name
    assert mapping.title_zh and mapping.title_en
    assert mapping.column("agent") is not None


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        (
            'kind = "summary"\n[columns]\nagent = "A"\nnonsense = "B"\n',
            "mapping_unknown_field",
            "maps a column to nonsense, which a summary file (one row per agent) cannot have",
        ),
        (
            'kind = "orders"\n[columns]\nagent = "A"\n',
            "mapping_invalid",
            "must map amount, order_id",
        ),
        ('kind = "weekly"\n[columns]\nagent = "A"\n', "mapping_invalid", "kind must be one of"),
        (
            'kind = "sessions"\n[columns]\nagent = "A"\ntime = "T"\nhandle_s = { column = "H", '
            'unit = "hours" }\n',
            "mapping_invalid",
            "unit must be one of",
        ),
        (
            'kind = "summary"\ncolour = "red"\n[columns]\nagent = "A"\n',
            "mapping_invalid",
            "unknown keys colour",
        ),
        ('kind = "summary"\n[columns\n', "mapping_invalid", "is not valid"),
    ],
)
def test_a_wrong_mapping_is_refused_with_its_reason(text: str, code: str, fragment: str) -> None:
    with pytest.raises(ImportRefused) as caught:
        parse_mapping(text, default_name="mine")
    assert [p.code for p in caught.value.problems] == [code]
    assert fragment in " ".join(render_problems(caught.value.problems, translator("en")))


def test_an_unknown_mapping_name_lists_the_known_ones() -> None:
    with pytest.raises(ImportRefused) as caught:
        load_mapping("nosuch")
    assert caught.value.problems[0].params["known"] == known_mappings()


def test_a_mapping_can_be_given_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'kind = "complaints"\n[columns]\nagent = "客服"\ntime = "时间"\n', encoding="utf-8"
    )
    assert load_mapping(str(path)).name == "mine"
