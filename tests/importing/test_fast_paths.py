"""The fast paths of a large import give exactly what the general ones give.

Plain clock times are read straight from the Arrow buffers, ids in order are proved
distinct without hashing, clean text skips trimming, agent names are cleaned once per
distinct name, and the file is read in slices: each is checked against the general way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

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
from commands.importing.validation import _all_distinct, name_key, resolve_agents
from scoring import kpi
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


one_shape_clocks = st.sampled_from(
    ["{}:{:02d}", "{:02d}:{:02d}", "{}:{:02d}:{:02d}", "{:02d}:{:02d}:{:02d}"]
).flatmap(
    lambda shape: st.lists(
        st.one_of(
            st.none(),
            st.builds(shape.format, st.integers(0, 9), two, two),
        ),
        min_size=1,
        max_size=40,
    )
)


@settings(max_examples=150, deadline=None)
@given(one_shape_clocks, st.integers(1, 4))
@example(["05:34", None, "12:00"], 2)
@example(["1:02:03", "9:59:59", None, None], 1)
def test_clock_times_of_one_width_read_side_by_side_equal_the_general_parser(
    cells: list[str | None], pieces: int
) -> None:
    """Every cell one shape (the usual export): read as rows of bytes, by Horner's rule."""
    spec = MAPPING.column("handle_s")
    assert spec is not None
    fast, fast_bad = parse_seconds(_chunked_str(cells, min(pieces, len(cells))), spec, MAPPING)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parsing, "_plain_clocks", lambda text: None)
        general, _bad = parse_seconds(_chunked_str(cells, 1), spec, MAPPING)
    assert _same(fast, general)
    assert not fast_bad.any()


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
        f"S{i},{' Li Ming' if i % 3 else 'Zhang Wei'},2026-10-05 "
        f"14:00,{i % 7},{i % 60}:{i % 59:02d},{'Y' if i % 4 else 'N'}\n"
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
    plain = resolve_agents(pd.Series(names, dtype="str"), roster)
    encoded = (
        pa.array(names, pa.string()).dictionary_encode().to_pandas()
    )  # as the reader leaves it
    for column in (
        pd.Series(encoded),
        pd.Series(pd.Categorical(names)),
    ):  # in appearance order, or sorted
        codes, uniques, members = resolve_agents(column, roster)
        assert codes.tolist() == plain[0].tolist()
        assert [str(n) for n in uniques] == [str(n) for n in plain[1]]
        assert members.tolist() == plain[2].tolist()


def _member_one_by_one(whole: str, cut: str, roster: Roster) -> int:
    """An agent cell's member, by the rule as written: an alias of the source (the whole
    cell, then the part ``take_after`` keeps; exactly, then loosely), then a name (exactly,
    then loosely)."""
    exact = next((roster.aliases[k] for k in (whole, cut) if k in roster.aliases), None)
    loose_alias = roster.alias_lookup()
    keys = (name_key(whole), name_key(cut))
    found = exact or next((loose_alias[k] for k in keys if k in loose_alias), -1)
    if found == -1:
        found = roster.members.get(cut, -1)
    if found == -1:
        found = roster.lookup().get(name_key(cut), -1)
    return found


cell = st.sampled_from(
    [
        "店铺:小雨",
        "店铺:Li Ming",
        "店铺B:小雨",
        "Li Ming",
        "li  ming",
        "ＬＩ ＭＩＮＧ",
        "张伟",
        "小雨",
        "x",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(cell, min_size=1, max_size=30),
    st.dictionaries(cell, st.integers(0, 4), max_size=4),
    st.booleans(),
    st.booleans(),
)
def test_members_found_for_all_distinct_agents_at_once_are_those_found_one_by_one(
    cells: list[str], aliases: dict[str, int], cut: bool, categorical: bool
) -> None:
    """The member of each distinct agent, looked up at once (exact spellings by a hashed
    look-up, the rest loosely), is the one the rule gives cell by cell; with ``take_after``
    the distinct agents are the whole cells and each is cut as its first row is."""
    roster = Roster("t", {"Li Ming": 2, "张伟": 3, "Wang Xiaohong": 1}, aliases)
    whole = pd.Series(cells, dtype="str")
    if categorical:
        whole = pd.Series(pa.array(cells, pa.string()).dictionary_encode().to_pandas())
    names = whole.astype(str).str.rsplit(":", n=1).str[-1] if cut else None
    codes, uniques, members = resolve_agents(
        whole if names is None else names, roster, whole if cut else None
    )
    want = [
        _member_one_by_one(w, w.rsplit(":", 1)[-1] if cut else w, roster) for w in map(str, uniques)
    ]
    assert members.tolist() == [*want, -1]
    assert [str(uniques[c]) for c in codes] == cells


# --- issue 15: the fast paths of the 1,000,000-row bench --------------------------------------

spaces = "\u00a0\u1680\u2000\u2009\u200a\u2028\u202f\u205f\u3000\x85\x1c\x0b"
messy_text = st.text(alphabet="ab1%.王·中😀-–—" + spaces + " \t\r\n", max_size=9)
messy_cells = st.lists(st.one_of(st.none(), st.sampled_from(NULL_VALUES), messy_text), max_size=40)


def _pieces(cells: list[str | None], pieces: int, large: bool) -> pa.ChunkedArray:
    kind = pa.large_string() if large else pa.string()
    whole = pa.array(cells, kind)
    bounds = np.linspace(0, len(cells), max(1, min(pieces, len(cells))) + 1).astype(int)
    return pa.chunked_array(  # sliced chunks too: offsets that do not start at 0
        [whole.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)], kind
    )


one_width = st.one_of(  # every cell of one width in bytes: the 2-D path of text_candidates
    st.integers(5, 9).flatmap(
        lambda w: st.lists(st.one_of(st.none(), st.text("ab1 \t-%", min_size=w, max_size=w)))
    ),
    st.integers(2, 3).flatmap(
        lambda w: st.lists(st.one_of(st.none(), st.text("王中\u3000", min_size=w, max_size=w)))
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(messy_cells, one_width), st.integers(1, 4), st.booleans())
@example(["S0001", "S0002", " 0003", "0004 ", None], 1, False)
@example(["王中王", "王中\u3000", None, "\u3000中王"], 2, True)
@example(["\u3000王小红", "王小红\u3000", "王小红\u00a0", "😀😀", "中中中-"], 1, False)
def test_a_cell_not_named_a_candidate_is_neither_trimmed_nor_nothing(
    cells: list[str | None], pieces: int, large: bool
) -> None:
    for chunk in _pieces(cells, pieces, large).chunks:
        candidates = reading.text_candidates(chunk)
        for cell, named in zip(chunk.to_pylist(), candidates.tolist(), strict=True):
            if cell is None:
                assert not named
            elif not named:
                trimmed = pc.utf8_trim_whitespace(pa.array([cell])).to_pylist()[0]
                assert trimmed == cell and cell.strip() == cell and cell not in NULL_VALUES


@settings(max_examples=200, deadline=None)
@given(messy_cells, st.integers(1, 4))
def test_empty_and_blank_cells_found_as_one_by_one_finds_them(
    cells: list[str | None], pieces: int
) -> None:
    column = pd.Series(pd.arrays.ArrowStringArray(_pieces(cells, pieces, large=True)))
    nothing = set(NULL_VALUES)
    assert reading._empty(column).tolist() == [
        c is None or not c.strip() or c.strip() in nothing for c in cells
    ]
    assert reading._blank(column).tolist() == [c is None or not c.strip() for c in cells]


percent_cells = st.one_of(
    st.none(),
    st.builds("{:.2f}%".format, st.floats(0, 100)),
    st.builds("{:.1f} %".format, st.floats(0, 100)),
    st.sampled_from(["12", "-", "5%%", "%", "1%2", " 7 %", "80％", "3.5", "abc%", "1,250.5%"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(percent_cells, min_size=1, max_size=30), st.integers(1, 3))
@example(["87.50%", None, "12.5 %"], 1)
@example(["87.50%", "1%2"], 2)
def test_percent_signs_cut_from_the_buffers_read_as_the_general_parser_reads_them(
    cells: list[str | None], pieces: int
) -> None:
    spec = load_mapping("jd_workload").column("answer_30s_rate")
    mapping = load_mapping("jd_workload")
    column = pd.Series(pd.arrays.ArrowStringArray(_pieces(cells, pieces, large=False)))
    fast, fast_bad = parsing.parse_ratio(column, spec or MAPPING.columns[0], mapping)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parsing, "_cut_final_percent", lambda chunk: None)
        patch.setattr(parsing, "_may_end_in_space", lambda chunk: True)
        general, general_bad = parsing.parse_ratio(column, spec or MAPPING.columns[0], mapping)
    assert _same(fast, general)
    assert fast_bad.tolist() == general_bad.tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.one_of(st.none(), st.floats(0, 1e6))), max_size=60))
def test_group_sums_by_bincount_equal_a_pandas_groupby(
    rows: list[tuple[int, float | None]],
) -> None:
    codes = np.array([g for g, _v in rows], dtype=np.intp)
    values = np.array([np.nan if v is None else v for _g, v in rows], dtype="float64")
    got = kpi._group_sums({"x": values}, codes)
    plain = pd.DataFrame({"x": values}, index=pd.Index(codes, name="group"))
    want = plain.groupby(level=0, sort=True).sum(min_count=1)
    assert got.index.tolist() == want.index.tolist()
    assert np.allclose(got["x"], want["x"], equal_nan=True, rtol=1e-12)


def test_two_rows_of_one_agent_on_one_day_are_found_among_many(roster: Roster) -> None:
    head = "日期,客服,接待量,首次平均响应时间,平均响应时间,30s应答率\n"
    rows = [
        f"2026-10-{day:02d},{name},10,5,9,90.00%\n"
        for day in range(1, 32)
        for name in ("王小红", "李明", "张伟")
    ]
    rows.insert(50, rows[7])  # 李明 on 3 October twice (rows 9 and 52 of the file)
    with pytest.raises(ImportRefused) as caught:
        prepare(
            (head + "".join(rows)).encode(), "w.csv", load_mapping("jd_workload"), roster, OCTOBER
        )
    [problem] = caught.value.problems
    assert (problem.code, problem.rows, problem.params["day"]) == (
        "duplicate_agent_day",
        (9, 52),
        "2026-10-03",
    )


def test_two_spellings_of_one_member_are_refused_naming_both(roster: Roster) -> None:
    rows = [
        f"S{i:04d},{'Li Ming' if i % 2 else 'li  ming'},2026-10-05 14:00,10,03:00,Y\n"
        for i in range(40)
    ]
    with pytest.raises(ImportRefused) as caught:
        prepare(
            (HEAD + "".join(rows)).encode(), "s.csv", load_mapping("sessions_en"), roster, OCTOBER
        )
    [problem] = caught.value.problems
    assert problem.code == "agent_spelled_twice"
    assert sorted(problem.params["names"]) == ["Li Ming", "li  ming"]
    assert (problem.params["member"], problem.row_total) == ("李明", 40)


class _CountedPool(ThreadPoolExecutor):
    ran: ClassVar[list[str]] = []  # the steps handed to a second thread

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        type(self).ran.append(fn.__name__)
        return super().submit(fn, *args, **kwargs)


def _outcome(data: bytes, mapping_name: str, roster: Roster) -> object:
    """What prepare() gives: the values and counts, or the problems (code, rows, params)."""
    try:
        got = prepare(data, "file.csv", load_mapping(mapping_name), roster, OCTOBER)
    except ImportRefused as refused:
        return [(p.code, p.rows, repr(p.params)) for p in refused.problems]
    return (got.values, got.agents, got.row_count, got.blank_rows, got.no_value_cells)


def _many_sessions(bad: bool) -> bytes:
    rows = [
        f"S{i:05d},{('Li Ming', ' Zhang Wei', '王小红')[i % 3]},2026-10-{1 + i % 28:02d} 14:00,"
        f"{'' if i % 9 == 0 else i % 7},{i % 60}:{i % 59:02d},{'Y' if i % 4 else 'N'}\n"
        for i in range(3000)
    ]
    if bad:
        rows[10] = "S00010,Nobody,2026-11-05 14:00,1,03:00,Y\n"
        rows[20] = rows[21]  # an id given twice
        rows[2500] = "S02500,Li Ming,2026-10-05 14:00,soon,03:00,perhaps\n"
    return (HEAD + "".join(rows)).encode()


@pytest.mark.parametrize(
    ("data", "mapping_name", "beside"),
    [
        (_many_sessions(bad=False), "sessions_en", ["_categorical", "_parse_column"]),
        # a cell unlike its column: every column read as text, every other one parsed beside
        (_many_sessions(bad=True), "sessions_en", ["_categorical"] + ["_parse_column"] * 2),
        (sample("sessions_en.csv"), "sessions_en", ["_categorical", "_parse_column"]),
        (sample("broken_unknown_agent.csv"), "shop_zh", ["_categorical", "_parse_column"]),
        (sample("orders_zh.csv"), "orders_zh", ["_categorical", "_parse_column"]),
        (sample("broken_orders_duplicate_id.csv"), "orders_zh", ["_categorical"]),
        (sample("complaints_zh.csv"), "complaints_zh", ["_categorical"]),
        (sample("jd_workload_daily.csv"), "jd_workload", ["_categorical", "_parse_column"]),
    ],
)
def test_steps_run_on_a_second_thread_give_what_one_thread_gives(
    data: bytes,
    mapping_name: str,
    beside: list[str],
    roster: Roster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The agent column encoded beside the conversion of the others, every other column read
    from text parsed beside the rest, an event file aggregated beside its checks: the same
    values, counts and problems as one step after the other."""
    from commands.importing import validation

    monkeypatch.setattr(reading, "SIDE_BY_SIDE_ROWS", 1 << 40)
    monkeypatch.setattr(validation, "SIDE_BY_SIDE_ROWS", 1 << 40)
    alone = _outcome(data, mapping_name, roster)
    monkeypatch.setattr(reading, "SIDE_BY_SIDE_ROWS", 0)
    monkeypatch.setattr(validation, "SIDE_BY_SIDE_ROWS", 0)
    monkeypatch.setattr(reading, "ThreadPoolExecutor", _CountedPool)
    monkeypatch.setattr(validation, "ThreadPoolExecutor", _CountedPool)
    _CountedPool.ran = []
    both = _outcome(data, mapping_name, roster)
    events = load_mapping(mapping_name).kind != "summary"
    assert sorted(_CountedPool.ran) == sorted(beside + ["_event_measures"] * events)
    if isinstance(alone, list):
        assert both == alone
    else:
        assert isinstance(both, tuple)
        pd.testing.assert_frame_equal(both[0], alone[0])
        assert both[1:] == alone[1:]


@pytest.mark.parametrize(
    "categories",
    [["b", "a", "c"], ["a", "b", "c", "unused"]],  # in order of appearance, or sorted
)
def test_an_aggregation_by_category_comes_in_the_order_of_the_agent_codes(
    categories: list[str],
) -> None:
    """prepare() aggregates an event file by the agent column's own categories (beside the
    coding): its rows, put in code order, are those of the aggregation by code."""
    from commands.importing import validation

    mapping = load_mapping("sessions_en")
    cells = pd.Series(pd.Categorical(["b", "a", "b", "c", "a"], categories=categories))
    typed = {
        "agent": cells,
        "resolved": pd.Series([True, False, True, True, False]),
        "first_response_s": pd.Series([1.0, 2.0, np.nan, 4.0, 5.0]),
    }
    codes, names = validation.agent_codes(cells)
    by_code = pd.Series(pd.Categorical.from_codes(codes, pd.RangeIndex(len(names))))
    expected = validation._event_measures(mapping, typed, by_code)
    got = validation._in_code_order(validation._event_measures(mapping, typed, cells), names)
    assert got.to_numpy().tolist() == expected.to_numpy().tolist()
    assert got.columns.tolist() == expected.columns.tolist()


@pytest.mark.parametrize("gaps", [False, True])
def test_converting_the_read_columns_frees_the_arrow_table_as_it_goes(gaps: bool) -> None:
    """The reader's table is converted with self_destruct while its caller still holds it:
    each Arrow column is freed as its pandas one is made, booleans included, so the peak stays
    near one copy (a conversion from a copy of the table freed nothing until the end)."""
    import pyarrow.csv as pacsv

    rows = 200_000
    cells = [
        (("" if i % 10 == 0 else f"{i / 7:.3f}"), ("" if gaps and i == 7 else "YN"[i % 3 == 0]))
        for i in range(rows)
    ]
    text = "number,flag\n" + "".join(f"{a},{b}\n" for a, b in cells)
    table = pacsv.read_csv(
        pa.BufferReader(text.encode()),
        convert_options=pacsv.ConvertOptions(
            column_types={"number": pa.float64(), "flag": pa.bool_()},
            true_values=["Y"],
            false_values=["N"],
        ),
    )
    number_bytes = table.column("number").nbytes
    held = pa.total_allocated_bytes()
    columns = reading._pandas_columns(table)
    # the pandas columns (made in Arrow's pool) took the place of the Arrow ones, not added to
    # them: a conversion from a copy of the table would hold both until the end
    assert pa.total_allocated_bytes() < held + number_bytes // 2
    assert int(columns["number"].isna().sum()) == rows // 10
    assert columns["flag"].dtype == (pd.BooleanDtype() if gaps else np.dtype(bool))
    assert columns["flag"].isna().sum() == int(gaps)
    assert columns["flag"].fillna(False).astype(bool).tolist() == [b == "Y" for _a, b in cells]
