"""How a score is written (``commands.numbers``): a total with every place of the scheme's
precision, a part without trailing zeros, a spreadsheet cell as a number with those places, the
unit as each language says it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commands import numbers
from commands.i18n import translator


@pytest.mark.parametrize(
    ("value", "precision", "shown"),
    [
        (85.47, 0, "85"),
        (85.47, 1, "85.5"),
        (85.47, 2, "85.47"),
        (85.0, 1, "85.0"),
        (85.5, 2, "85.50"),
        (72.5, 0, "73"),  # half up, as scoring rounds (not half to even)
        (74.95, 1, "75.0"),  # as written, not the binary 74.9499…
        (100.0, 4, "100.0000"),
        (1250.0, 0, "1,250"),
        (None, 1, "—"),
        (float("nan"), 2, "—"),
    ],
)
def test_a_total_shows_every_place_of_the_schemes_precision(
    value: float | None, precision: int, shown: str
) -> None:
    assert numbers.total(value, precision) == shown


@pytest.mark.parametrize(
    ("value", "precision", "shown"),
    [
        (30.0, 2, "30"),
        (2.5, 1, "2.5"),
        (24.354, 2, "24.35"),
        (24.354, 0, "24"),
        (-0.0001, 2, "0"),
        ("12.5", 1, "12.5"),
        (None, 1, "—"),
    ],
)
def test_a_part_is_written_at_most_at_the_precision_without_trailing_zeros(
    value: object, precision: int, shown: str
) -> None:
    assert numbers.part(value, precision) == shown


@pytest.mark.parametrize(
    ("value", "precision", "shown"),
    [(1.46, 1, "+1.5"), (-0.3, 1, "-0.3"), (0.0, 2, "+0.00"), (1.0, 0, "+1"), (None, 1, "—")],
)
def test_a_change_of_total_carries_its_sign_and_the_precision(
    value: float | None, precision: int, shown: str
) -> None:
    assert numbers.change(value, precision) == shown


@pytest.mark.parametrize(
    ("value", "precision", "cell"),
    [
        (85.47, 2, Decimal("85.47")),
        (85.5, 2, Decimal("85.50")),
        (85.0, 1, Decimal("85.0")),
        (85.47, 0, Decimal("85")),
        (74.95, 1, Decimal("75.0")),  # half up as written, as scoring rounds
        ("83.3", 1, Decimal("83.3")),
        (None, 1, None),
        ("", 1, None),
    ],
)
def test_a_cell_is_a_number_with_exactly_the_precisions_places(
    value: object, precision: int, cell: Decimal | None
) -> None:
    got = numbers.cell(value, precision)
    assert got == cell
    if got is not None:
        assert str(got) == str(cell)  # the places themselves, not only the value


@pytest.mark.parametrize(
    ("lang", "precision", "shown"),
    [
        ("en", 0, "86 points"),
        ("en", 2, "85.47 points"),
        ("zh", 1, "85.5 分"),
        ("zh", 2, "85.47 分"),
    ],
)
def test_points_are_written_with_the_unit_people_read(
    lang: str, precision: int, shown: str
) -> None:
    assert numbers.points(translator(lang), 85.47 if precision else 85.5, precision) == shown
