"""The fast paths of a large import give exactly what the general ones give.

Plain clock times are read straight from the Arrow buffers, ids in order are proved
distinct without hashing, clean text skips trimming, agent names are cleaned once per
distinct name, and the file is read in slices: each is checked against the general way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from commands.importing import ImportRefused, Roster, load_mapping, parsing, prepare, reading
from commands.importing.parsing import _may_need_cleaning, _plain_clocks, as_text, parse_seconds
from commands.importing.reading import NULL_VALUES
from commands.importing.validation import _agents, _all_distinct
from tests.importing.conftest import OCTOBER, sample
from tests.importing.test_value_parsing import MAPPING

HEAD = "Session ID,Agent,Started,First response (s),Handling time,Resolved\n"


def _chunked_str(cells: list[str | None], pieces: int) -> pd.Series:
    """A pandas ``str`` column over an Arrow array of several chunks, as a sliced read gives."""
    bounds = np.linspace(0, len(cells), pieces + 1).astype(int)
    chunks = [
        pa.array(cells[a:b], pa.large_string()) for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks, pa.large_string())))


def _same(a: pd.Series, b: pd.Series) -> bool:
    return bool(
        np.array_equal(
            a.to_numpy(dtype="float64", na_value=np.nan),
            b.to_numpy(dtype="float64", na_value=np.nan),
            equal_nan=True,
        )
    )


two = st.integers(0, 99)
plain_clock = st.one_of(
    st.builds("{}:{:02d}".format, st.integers(0, 9), two),
    st.builds("{:02d}:{:02d}".format, two, two),
    st.builds("{}:{:02d}:{:02d}".format, st.integers(0, 9), two, two),
    st.builds("{:02d}:{:02d}:{:02d}".format, two, two, two),
)
odd_cell = st.sampled_from(
    [
        " 03:04",
        "03:04 ",
        "3:4",
        "03:04.5",
        "12.5",
        "90",
        "abc",
        "03:04s",
        "1:2:3:4",
        "-",
        "",
        "０３:０４",
        "3:0a",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(plain_clock, st.none(), odd_cell), min_size=1, max_size=40),
    st.integers(1, 4),
)
@example(["05:34", None, "12:00"], 2)
@example(["5:34", "75:30", "1:02:03", "10:02:03", None], 1)
def test_clock_times_read_from_the_buffers_equal_the_general_parser(
    cells: list[str | None], pieces: int
) -> None:
    spec = MAPPING.column("handle_s")
    assert spec is not None
    fast, fast_bad = parse_seconds(_chunked_str(cells, min(pieces, len(cells))), spec, MAPPING)
    with pytest.MonkeyPatch.context() as patch:  # the general parser alone
        patch.setattr(parsing, "_plain_clocks", lambda text: None)
        general, general_bad = parse_seconds(_chunked_str(cells, 1), spec, MAPPING)
    assert _same(fast, general)
    assert fast_bad.tolist() == general_bad.tolist()


def test_only_plain_clock_columns_take_the_buffer_path() -> None:
    assert _plain_clocks(pa.chunked_array([pa.array(["04:30", None, "1:00:00"])])).tolist()[
        ::2
    ] == [270.0, 3600.0]
    for odd in (" 04:30", "4:3", "04:30.5", "4.5", "04:3x"):
        assert _plain_clocks(pa.chunked_array([pa.array(["04:30", odd])])) is None


ids_of_one_width = st.integers(1, 10).flatmap(
    lambda w: st.lists(st.text(alphabet="AB019", min_size=w, max_size=w), max_size=60)
)
any_ids = st.lists(st.one_of(st.text(alphabet="AB019 ", max_size=10), st.none()), max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.one_of(ids_of_one_width, any_ids), st.sampled_from(["as is", "sorted", "reversed"]))
def test_ids_are_called_distinct_exactly_when_no_id_repeats(
    ids: list[str | None], order: str
) -> None:
    if order != "as is" and None not in ids:
        ids = sorted(ids, key=lambda v: v.encode(), reverse=order == "reversed")  # type: ignore[union-attr]
    array = pa.chunked_array([pa.array(ids, pa.large_string())])
    assert _all_distinct(array) == (len(set(ids)) == len(ids))


def test_an_unsorted_repeated_id_is_reported_on_both_rows(roster: Roster) -> None:
    numbers = list(range(5000))
    np.random.default_rng(7).shuffle(numbers)
    rows = [f"S{n:06d},Li Ming,2026-10-05 14:00,10,03:00,Y\n" for n in numbers]
    rows[4321] = rows[17]
    with pytest.raises(ImportRefused) as caught:
        prepare(
            (HEAD + "".join(rows)).encode(), "s.csv", load_mapping("sessions_en"), roster, OCTOBER
        )
    [problem] = caught.value.problems
    assert (problem.code, problem.rows) == ("duplicate_id", (19, 4323))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(), st.sampled_from(NULL_VALUES), st.text(alphabet="ab1 \t\u3000王-", max_size=8)
        ),
        max_size=30,
    )
)
@example(["abcde", "fghij"])
def test_text_said_to_need_no_cleaning_is_unchanged_by_it(cells: list[str | None]) -> None:
    array = pa.chunked_array([pa.array(cells, pa.large_string())])
    if not _may_need_cleaning(array):
        assert pc.utf8_trim_whitespace(array).equals(array)
        assert not pc.any(pc.is_in(array, value_set=pa.array(NULL_VALUES))).as_py()


def test_agent_names_are_cleaned_once_per_name_with_the_same_result() -> None:
    cells = [" Li Ming", "Li Ming ", "Li Ming", "-", None, "N/A", "张 伟 "] * 3
    categorical = pd.Series(pd.Categorical(cells))
    plain = pd.Series(cells, dtype="str")
    assert as_text(categorical).astype(object).tolist() == as_text(plain).astype(object).tolist()


def test_a_file_read_in_many_slices_gives_what_a_whole_read_gives(
    roster: Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "".join(
        f"S{i},{' Li Ming' if i % 3 else 'Zhang Wei'},2026-10-05 14:00,{i % 7},{i % 60}:{i % 59:02d},"
        f"{'Y' if i % 4 else 'N'}\n"
        for i in range(3000)
    )
    data = (HEAD + rows).encode()
    mapping = load_mapping("sessions_en")
    whole = prepare(data, "s.csv", mapping, roster, OCTOBER)
    monkeypatch.setattr(reading, "SLICE_BYTES", 500)
    sliced = prepare(data, "s.csv", mapping, roster, OCTOBER)
    pd.testing.assert_frame_equal(sliced.values, whole.values)
    again = prepare(sample("sessions_en.csv"), "s.csv", mapping, roster, OCTOBER)
    monkeypatch.setattr(reading, "SLICE_BYTES", 1 << 30)
    pd.testing.assert_frame_equal(
        again.values, prepare(sample("sessions_en.csv"), "s.csv", mapping, roster, OCTOBER).values
    )


def test_an_odd_cell_in_a_later_slice_is_found_by_its_row(
    roster: Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "SLICE_BYTES", 2000)
    rows = [
        f"S{i},Li Ming,2026-10-05 14:00,{i % 60},03:00,{'Y' if i % 2 else 'N'}\n"
        for i in range(3000)
    ]
    rows[-1] = "S2999,Li Ming,2026-10-05 14:00,soon,03:00,perhaps\n"
    rows[1500] = "S1500,Nobody,2026-10-05 14:00,1,03:00,Y\n"
    with pytest.raises(ImportRefused) as caught:
        prepare(
            (HEAD + "".join(rows)).encode(), "s.csv", load_mapping("sessions_en"), roster, OCTOBER
        )
    found = {(p.code, p.rows) for p in caught.value.problems}
    assert found == {
        ("not_a_duration", (3001,)),
        ("not_a_flag", (3001,)),
        ("unknown_agent", (1502,)),
    }


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(), st.sampled_from(["Li Ming", "张伟", "Wang Xiaohong", "Nobody", "b", "a"])
        ),
        max_size=30,
    )
)
def test_agent_codes_of_a_categorical_are_those_of_factorising_the_names(
    names: list[str | None],
) -> None:
    roster = Roster("t", {"Li Ming": 2, "张伟": 3, "Wang Xiaohong": 1})
    plain = _agents(pd.Series(names, dtype="str"), roster)
    encoded = (
        pa.array(names, pa.string()).dictionary_encode().to_pandas()
    )  # as the reader leaves it
    for column in (
        pd.Series(encoded),
        pd.Series(pd.Categorical(names)),
    ):  # in appearance order, or sorted
        codes, uniques, members = _agents(column, roster)
        assert codes.tolist() == plain[0].tolist()
        assert [str(n) for n in uniques] == [str(n) for n in plain[1]]
        assert members.tolist() == plain[2].tolist()
