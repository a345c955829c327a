"""From a file's bytes to per-agent indicator values, finding every problem first.

:func:`prepare` reads, parses and checks the whole file and either raises
:class:`ImportRefused` with *all* problems it found or returns the values to
store. It touches no database: the roster and the period are passed in.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable
from collections.abc import Mapping as TMapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from commands.importing.mapping import ColumnSpec, Mapping
from commands.importing.parsing import as_text, parse_period, parser_for, per_distinct
from commands.importing.problems import ImportRefused, Problem, at_rows
from commands.importing.reading import (
    SIDE_BY_SIDE_ROWS,
    SourceTable,
    normalize_header,
    read_source,
)
from scoring import kpi

DISTINCT_VALUES_SHOWN = 20


@dataclass(frozen=True)
class Roster:
    """The team's members as an import matches them: display name (or English name) → member id."""

    team: str
    members: TMapping[str, int]
    aliases: TMapping[str, int] = field(default_factory=dict)
    """The accounts of the mapping's source (旺旺 sub-account, JD UID, e-mail …) → member id:
    an agent cell is looked up here first, then among the names."""

    def lookup(self) -> dict[str, int]:
        return {name_key(name): member for name, member in self.members.items()}

    def alias_lookup(self) -> dict[str, int]:
        return {name_key(alias): member for alias, member in self.aliases.items()}


@dataclass(frozen=True)
class PeriodInfo:
    key: str
    starts_on: date
    ends_on: date
    timezone: str = "Asia/Shanghai"


@dataclass
class Prepared:
    """A file that passed every check: per-member values ready to store."""

    mapping: Mapping
    encoding: str
    row_count: int
    values: pd.DataFrame  # index: member id; columns: indicator/measure ids; NaN = no value
    agents: dict[int, str]
    skipped: dict[str, int] = field(default_factory=dict)  # rows that are not agents: cell → rows
    blank_rows: int = 0
    no_value_cells: int = 0
    zero_cells: int = 0
    weight_column: str = ""
    """Daily rows: the header of the column that weighted rates and averages."""


def name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


Progress = Callable[[str], None]


def _silent(step: str) -> None:
    return None


@dataclass
class _Column:
    field: str
    values: pd.Series
    unreadable: pd.Series
    problems: list[Problem]


def prepare(
    data: bytes,
    file_name: str,
    mapping: Mapping,
    roster: Roster,
    period: PeriodInfo,
    progress: Progress = _silent,
) -> Prepared:
    """Read, parse and check ``data``; raises :class:`ImportRefused` listing every problem.

    ``progress`` is called with the name of each step as it finishes (read, parse,
    check), for a progress bar. Columns are parsed one after the other and each raw
    column is freed once parsed, which keeps the peak memory low.
    """
    source = read_source(data, file_name, mapping)
    progress("read")
    agent_spec = mapping.column("agent")
    whole_cells = None  # 店铺:小雨 before take_after cuts it to 小雨: an alias may be either
    if (
        roster.aliases
        and agent_spec is not None
        and agent_spec.take_after
        and "agent" in source.frame.columns
    ):
        whole_cells = as_text(source.frame["agent"])
    parsed = _parse_columns(source, mapping)
    typed, problems = parsed.typed, parsed.problems
    progress("parse")
    if "agent" not in typed:
        raise ImportRefused(problems)
    cells = typed["agent"] if whole_cells is None else whole_cells
    if isinstance(cells.dtype, pd.CategoricalDtype):  # aggregated by category, coded beside
        agents, codes, agent_names = cells, None, None
    else:
        codes, agent_names = agent_codes(cells)
        agents = pd.Series(pd.Categorical.from_codes(codes, pd.RangeIndex(len(agent_names))))
    with _Beside(
        mapping.kind != "summary" and len(cells) >= SIDE_BY_SIDE_ROWS,
        _event_measures,
        mapping,
        typed,
        agents,
    ) as aggregated:
        # the checks below, and kpi.aggregate of an event file beside them (numpy releases the
        # GIL in its loops: on two cores both take the time of one). Its result is used only
        # when the file passes every check, as if it had run after them.
        if codes is None or agent_names is None:
            codes, agent_names = agent_codes(cells)
        member_of = members_of(
            codes, agent_names, roster, None if whole_cells is None else typed["agent"]
        )
        problems += _unknown_agents(
            source,
            codes,
            agent_names,
            member_of,
            roster,
            agent_spec.take_after if whole_cells is not None and agent_spec else None,
        )
        problems += _one_member_twice(source, codes, agent_names, member_of, roster)
        problems += _row_checks(source, mapping, parsed, period)
        if mapping.kind == "summary":
            problems += _summary_checks(source, mapping, typed, period, codes, agent_names)
        progress("check")
        if problems:
            raise ImportRefused(problems)
        return _measures(source, mapping, typed, codes, agent_names, member_of, aggregated)


class _Beside:
    """``work(*args)`` run on a second thread while the ``with`` block runs on this one (or
    run here, when asked, with ``wanted`` false); ``result()`` waits for it and gives its result
    or raises its exception. Leaving the block waits for the thread, so nothing runs on after."""

    def __init__(self, wanted: bool, work: Callable[..., pd.DataFrame], *args: object) -> None:
        self._wanted, self._work, self._args = wanted, work, args
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[pd.DataFrame] | None = None

    def __enter__(self) -> _Beside:
        if self._wanted:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="kpibot-import")
            self._future = self._pool.submit(self._work, *self._args)
        return self

    def result(self) -> pd.DataFrame:
        if self._future is None:
            return self._work(*self._args)
        return self._future.result()

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


@dataclass
class _Parsed:
    """Every mapped column parsed (``sum_of`` parts added up), with the problems found."""

    typed: dict[str, pd.Series]
    problems: list[Problem]
    unreadable_time: pd.Series | None = None
    unreadable_date: pd.Series = field(default_factory=lambda: pd.Series(dtype=bool))


def _parse_columns(source: SourceTable, mapping: Mapping) -> _Parsed:
    """Every column parsed, in the mapping's order; from :data:`SIDE_BY_SIDE_ROWS` rows every
    other column to be read from text (durations, rates, numbers written as text) is parsed on
    a second thread while this one parses the rest (Arrow's string kernels and numpy release
    the GIL). The problems come in the mapping's order either way."""
    parsed = _Parsed({}, list(source.problems))
    specs = [s for s in mapping.columns if s.field in source.frame.columns]
    from_text = [
        s.field
        for s in specs
        if s.type not in ("text", "id", "period") and _is_text(source.frame[s.field])
    ]
    beside = set(from_text[::2]) if len(source.frame) >= SIDE_BY_SIDE_ROWS else set()
    pool = ThreadPoolExecutor(1, thread_name_prefix="kpibot-import") if beside else None
    columns: dict[str, _Column | Future[_Column]] = {}
    try:
        for spec in specs:
            raw = source.frame[spec.field]
            if pool is not None and spec.field in beside:
                columns[spec.field] = pool.submit(_parse_column, source, mapping, spec, raw)
                continue
            columns[spec.field] = done = _parse_column(source, mapping, spec, raw)
            if not done.unreadable.any():
                del source.frame[spec.field]  # the raw cells are no longer needed: free them now
        for spec in specs:
            found = columns[spec.field]
            column = found.result() if isinstance(found, Future) else found
            parsed.typed[spec.field] = column.values
            parsed.problems += column.problems
            if spec.field == "time":
                parsed.unreadable_time = column.unreadable
            if spec.field == "date":
                parsed.unreadable_date = column.unreadable
            if isinstance(found, Future) and not column.unreadable.any():
                del source.frame[spec.field]
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    _add_up(mapping, parsed.typed)
    return parsed


def _row_checks(
    source: SourceTable, mapping: Mapping, parsed: _Parsed, period: PeriodInfo
) -> list[Problem]:
    """Times and days outside the period (or missing), ids given twice."""
    typed = parsed.typed
    problems: list[Problem] = []
    if "time" in typed and parsed.unreadable_time is not None:
        problems += _outside_period(
            source,
            typed["time"],
            parsed.unreadable_time,
            period,
            _header_of(source, mapping, "time"),
        )
    if mapping.daily and "date" in typed:
        problems += _outside_period(
            source,
            typed["date"],
            parsed.unreadable_date,
            period,
            _header_of(source, mapping, "date"),
        )
    for spec in mapping.columns:
        if spec.type == "id" and spec.field in typed:
            problems += _duplicates(
                source, typed[spec.field], _header_of(source, mapping, spec.field)
            )
    return problems


def _summary_checks(
    source: SourceTable,
    mapping: Mapping,
    typed: dict[str, pd.Series],
    period: PeriodInfo,
    agent_codes: np.ndarray,
    agent_names: pd.Index,
) -> list[Problem]:
    """A summary's period cells, and each agent once (once a day for daily rows)."""
    problems: list[Problem] = []
    if "period" in typed:
        problems += _wrong_period(
            source, typed["period"], period, _header_of(source, mapping, "period")
        )
    if mapping.daily:
        return problems + _duplicate_days(source, agent_codes, agent_names, typed.get("date"))
    dup = pd.Series(agent_codes).duplicated(keep=False).to_numpy() & (agent_codes >= 0)
    for code in np.unique(agent_codes[dup]):
        problems.append(
            at_rows(
                "duplicate_agent",
                source.file_rows(agent_codes == code),
                name=str(agent_names[int(code)]),
            )
        )
    return problems


def _parse_column(
    source: SourceTable, mapping: Mapping, spec: ColumnSpec, column: pd.Series
) -> _Column:
    """One column (``column``, the raw cells of ``spec.field``) parsed, with its unreadable,
    out-of-range and empty required cells. It reads nothing of ``source`` but its header, row
    numbers and the masks of _finish (so that it may run on a second thread)."""
    shown = _header_of(source, mapping, spec.field)
    problems: list[Problem] = []
    if spec.type in ("text", "id", "period"):
        values = column if spec.field in source.clean_text else as_text(column)
        if spec.take_after:
            values = _take_after(values, spec.take_after)
        unreadable = pd.Series(False, index=column.index)
    else:
        values, unreadable = parser_for(spec, mapping)(column)
        zero = source.zero_masks.get(spec.field)
        if zero is not None and zero.any():  # an empty cell of a blank = "zero" column is 0
            values = values.mask(pd.Series(zero, index=values.index) & values.isna(), 0)
        problems += _unreadable(source, column, unreadable, spec.type, shown, spec)
        problems += _out_of_range(source, column, values, spec.type, shown, spec.low, spec.high)
    if spec.field in kpi.REQUIRED_FIELDS[mapping.kind] and spec.field != "time":
        empty = (values.isna() & ~unreadable).to_numpy(dtype=bool)
        if empty.any():
            problems.append(at_rows("empty_value", source.file_rows(empty), column=shown))
    return _Column(spec.field, values, unreadable, problems)


def _is_text(column: pd.Series) -> bool:
    """Cells still to be read from text (not typed by the reader)."""
    return column.dtype == object or isinstance(column.array, pd.arrays.ArrowStringArray)


def _take_after(values: pd.Series, separator: str) -> pd.Series:
    def cut(text: pd.Series) -> pd.Series:
        return text.str.rsplit(separator, n=1).str[-1].str.strip()

    if isinstance(values.dtype, pd.CategoricalDtype):
        return per_distinct(values, cut)
    return cut(values)


def resolve_agents(
    names: pd.Series, roster: Roster, whole: pd.Series | None = None
) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """``(code per row, distinct names, member id per code + a trailing -1 for no name)``.

    An agent is found by an alias of the mapping's source first (the whole cell, then the part
    ``take_after`` keeps), then by name; exact spellings first, then loosely (full-width, spaces
    and case ignored). With ``whole`` (the cells before ``take_after``) the distinct agents are
    the whole cells: two sub-accounts 店铺A:小雨 and 店铺B:小雨 are two accounts."""
    codes, uniques = agent_codes(names if whole is None else whole)
    return codes, uniques, members_of(codes, uniques, roster, None if whole is None else names)


def agent_codes(cells: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``(code per row, -1 for none; the distinct cells in order of first appearance)``."""
    if isinstance(cells.dtype, pd.CategoricalDtype) and _in_order_of_appearance(cells):
        codes = np.asarray(cells.cat.codes.to_numpy(), dtype=np.intp)
        return codes, cells.cat.categories  # what factorising would give, without hashing rows
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    return codes, uniques


def members_of(
    codes: np.ndarray, uniques: pd.Index, roster: Roster, names: pd.Series | None = None
) -> np.ndarray:
    """The member id of each distinct agent (:func:`resolve_agents`), and a trailing -1. With
    ``names`` (the cells after ``take_after``), ``uniques`` are the whole cells.

    Exact spellings are looked up for all distinct agents at once (Arrow's hashed
    ``index_in``); only the few left over are normalised one by one for the loose look-ups."""
    whole = _Texts(uniques)
    if names is None:
        cut = whole
    else:  # the name each whole cell gives (the first row's: the same cell cuts the same way)
        shown = names.iloc[_first_rows(codes, len(uniques))].to_numpy(dtype=object)
        cut = _Texts(pd.Index([str(v) for v in shown], dtype=object))
    found = np.full(len(uniques), -1, dtype=np.int64)
    if roster.aliases:
        by_whole = whole.ids(roster.aliases)
        exact = np.where(by_whole != -1, by_whole, cut.ids(roster.aliases))
        found[:] = exact
        loose_alias = roster.alias_lookup()
        # a falsy id found exactly goes on to the loose spellings too (as ``exact or loose``)
        for i in np.flatnonzero((exact == -1) | (exact == 0)).tolist():
            keys = (name_key(whole[i]), name_key(cut[i]))
            found[i] = next((loose_alias[k] for k in keys if k in loose_alias), -1)
    missing = found == -1
    if missing.any():  # most exports spell names exactly
        found[missing] = cut.ids(roster.members)[missing]
    missing = found == -1
    if missing.any():  # then compare loosely: full-width, spaces and case ignored
        loose = roster.lookup()
        for i in np.flatnonzero(missing).tolist():
            found[i] = loose.get(name_key(cut[i]), -1)
    return np.append(found, -1)


class _Texts:
    """The distinct agent cells as text (``str`` of each), for look-ups at once or one by one."""

    def __init__(self, values: pd.Index) -> None:
        self.values = values
        self._listed: list[str] | None = None

    def __getitem__(self, i: int) -> str:
        if self._listed is None:
            self._listed = [str(v) for v in self.values.tolist()]
        return self._listed[i]

    def ids(self, table: TMapping[str, int]) -> np.ndarray:
        """The id ``table`` gives each text spelled exactly as one of its keys, else -1."""
        if not table or not len(self.values):
            return np.full(len(self.values), -1, dtype=np.int64)
        if isinstance(self.values.array, pd.arrays.ArrowStringArray):
            text = self.values.array.__arrow_array__()
        else:
            text = pa.array([str(v) for v in self.values.tolist()], pa.string())
        at = pc.index_in(text, value_set=pa.array(list(table), text.type))
        position = np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        ids = np.fromiter(table.values(), dtype=np.int64, count=len(table))
        return np.where(position >= 0, ids[np.maximum(position, 0)], -1)


def _first_rows(codes: np.ndarray, count: int) -> np.ndarray:
    """The first row of each code 0 … ``count`` − 1. Codes in order of first appearance (as
    :func:`agent_codes` gives them) raise their running maximum by one at each first row:
    one pass, no grouping; other codes are grouped."""
    if len(codes):
        highest = np.maximum.accumulate(np.asarray(codes, dtype=np.intp))
        starts = np.flatnonzero(np.diff(highest, prepend=-1) > 0)
        if len(starts) == count:
            return starts
    first = pd.Series(np.arange(len(codes))).groupby(codes).first()
    return first.reindex(pd.RangeIndex(count)).to_numpy()


def _in_order_of_appearance(column: pd.Series) -> bool:
    """True when every category occurs and each first occurs after the one before it
    (as the reader's dictionary encoding leaves them): the codes are then factorised already."""
    codes = column.cat.codes.to_numpy()
    codes = codes[codes >= 0] if column.hasnans else codes
    size = len(column.cat.categories)
    if len(codes) == 0 or codes[0] != 0:
        return size == 0
    highest = np.maximum.accumulate(codes)
    return bool(highest[-1] == size - 1 and (codes[1:] <= highest[:-1] + 1).all())


def _header_of(source: SourceTable, mapping: Mapping, field: str) -> str:
    spec = mapping.column(field)
    if spec is None:
        return field
    wanted = {normalize_header(n) for n in spec.names}
    return next((h for h in source.header if normalize_header(h) in wanted), spec.names[0])


def _by_value(
    source: SourceTable, raw: pd.Series, mask: pd.Series | np.ndarray, code: str, **params: object
) -> list[Problem]:
    """One problem per distinct bad value (the first :data:`DISTINCT_VALUES_SHOWN`), then a
    count."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    bad = raw[mask].map(lambda v: str(v).strip())
    rows = source.rows[mask]
    codes, uniques = pd.factorize(bad)
    found: list[Problem] = []
    for i, value in enumerate(uniques[:DISTINCT_VALUES_SHOWN]):
        found.append(at_rows(code, (int(r) for r in rows[codes == i]), value=value, **params))
    rest = np.isin(codes, np.arange(DISTINCT_VALUES_SHOWN, len(uniques)))
    if rest.any():
        found.append(at_rows(code, (int(r) for r in rows[rest]), value="…", **params))
    return found


def _unreadable(
    source: SourceTable, raw: pd.Series, mask: pd.Series, type_: str, column: str, spec: object
) -> list[Problem]:
    code = {"seconds": "not_a_duration", "flag": "not_a_flag", "time": "not_a_time"}.get(
        type_, "not_a_number"
    )
    params: dict[str, object] = {"column": column}
    if code == "not_a_flag":
        allowed = getattr(spec, "true_values", ())[:3] + getattr(spec, "false_values", ())[:3]
        params["allowed"] = list(allowed)
    return _by_value(source, raw, mask, code, **params)


def _out_of_range(
    source: SourceTable,
    raw: pd.Series,
    values: pd.Series,
    type_: str,
    column: str,
    low: float | None,
    high: float | None,
) -> list[Problem]:
    if type_ in ("time", "flag"):
        return []
    lo = 0.0 if low is None else low
    hi = (1.0 if type_ == "ratio" else np.inf) if high is None else high
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    problems: list[Problem] = []
    outside = (numbers < lo) | (numbers > hi)
    shown_low, shown_high = _fmt(lo), ("∞" if hi == np.inf else _fmt(hi))
    problems += _by_value(
        source, raw, outside, "out_of_range", column=column, low=shown_low, high=shown_high
    )
    if type_ == "count":
        fractional = ~outside & ~np.isnan(numbers) & (np.floor(numbers) != numbers)
        problems += _by_value(source, raw, fractional, "not_whole", column=column)
    return problems


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _unknown_agents(
    source: SourceTable,
    codes: np.ndarray,
    names: pd.Index,
    member_of: np.ndarray,
    roster: Roster,
    take_after: str | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    known = sorted(roster.members)
    for code in np.flatnonzero(member_of[:-1] < 0):
        name = str(names[int(code)])
        name_part = name.rsplit(take_after, 1)[-1].strip() if take_after else name
        close = difflib.get_close_matches(name_part, known, n=3, cutoff=0.4)
        problems.append(
            at_rows(
                "unknown_agent",
                source.file_rows(codes == code),
                name=name,
                suggestions=close,
                team=roster.team,
            )
        )
    return problems


def _one_member_twice(
    source: SourceTable, codes: np.ndarray, names: pd.Index, member_of: np.ndarray, roster: Roster
) -> list[Problem]:
    """Two spellings in the file (a sub-account and a name, 李明 and 李 明) that are one member:
    their rows would overwrite each other, so the file is refused naming both."""
    found = member_of[:-1]
    problems: list[Problem] = []
    members, counts = np.unique(found[found >= 0], return_counts=True)
    for member in members[counts > 1]:  # the usual file has none: one pass, no loop per agent
        spellings = np.flatnonzero(found == member)
        member_name = next((n for n, m in roster.members.items() if m == member), "?")
        rows = np.isin(codes, spellings)
        problems.append(
            at_rows(
                "agent_spelled_twice",
                source.file_rows(rows),
                member=member_name,
                names=[str(names[int(i)]) for i in spellings],
            )
        )
    return problems


def _outside_period(
    source: SourceTable, times: pd.Series, unreadable: pd.Series, period: PeriodInfo, column: str
) -> list[Problem]:
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert(period.timezone).dt.tz_localize(None)
    start = pd.Timestamp(period.starts_on)
    end = pd.Timestamp(period.ends_on + timedelta(days=1))
    stamps = times.to_numpy()
    outside = ((stamps < start.to_datetime64()) | (stamps >= end.to_datetime64())) & ~pd.isna(
        stamps
    )
    problems: list[Problem] = []
    if outside.any():
        first = times[outside].iloc[0]
        problems.append(
            at_rows(
                "outside_period",
                source.file_rows(outside),
                column=column,
                value=str(first),
                period=period.key,
                start=period.starts_on.isoformat(),
                end=period.ends_on.isoformat(),
            )
        )
    missing = pd.isna(stamps) & ~unreadable.to_numpy(dtype=bool)
    if missing.any():
        problems.append(at_rows("empty_value", source.file_rows(missing), column=column))
    return problems


def _duplicates(source: SourceTable, ids: pd.Series, column: str) -> list[Problem]:
    array = (
        ids.array.__arrow_array__()
        if isinstance(ids.array, pd.arrays.ArrowStringArray)
        else pa.chunked_array([pa.array(ids, from_pandas=True)])
    )
    if _all_distinct(array):  # the usual case: no duplicates, said without hashing every id
        return []
    doubled = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    return _by_value(source, ids, doubled, "duplicate_id", column=column)


def _all_distinct(ids: pa.ChunkedArray) -> bool:
    """True when no id occurs twice (False may also mean "look closer": the caller then does).

    Exports usually list ids in ascending order: one comparison of each id with the next
    proves them distinct. Otherwise ids of one width (``S0001234``) are packed into
    integers and sorted; anything else is hashed.
    """
    if len(ids) < 2:
        return True
    if ids.null_count == 0 and (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        for later in (pc.greater, pc.less):
            if pc.all(later(ids[1:], ids[:-1])).as_py():
                return True
        packed = _packed_ids(ids.combine_chunks())
        if packed is not None:
            packed.sort()
            return not bool((packed[1:] == packed[:-1]).any())
    return len(pc.unique(ids)) == len(ids)


def _packed_ids(ids: pa.Array) -> np.ndarray | None:
    """Ids of one width up to 8 bytes as one unsigned integer each (equal ids, equal numbers)."""
    offset_type = np.int64 if pa.types.is_large_string(ids.type) else np.int32
    offsets = np.frombuffer(
        ids.buffers()[1], offset_type, len(ids) + 1, ids.offset * np.dtype(offset_type).itemsize
    )
    width = int(offsets[1] - offsets[0])
    if (
        not 0 < width <= 8
        or int(offsets[-1] - offsets[0]) != width * len(ids)
        or not (np.diff(offsets) == width).all()
    ):
        return None
    body = np.frombuffer(ids.buffers()[2], np.uint8, width * len(ids), int(offsets[0])).reshape(
        -1, width
    )
    padded = np.zeros((len(ids), 8), dtype=np.uint8)
    padded[:, :width] = body
    return padded.view(np.uint64).ravel()


def _wrong_period(
    source: SourceTable, cells: pd.Series, period: PeriodInfo, column: str
) -> list[Problem]:
    bad = np.zeros(len(cells), dtype=bool)
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)) or pd.isna(cell):
            continue
        bounds = parse_period(str(cell))
        bad[i] = bounds is None or bounds[0] < period.starts_on or bounds[1] > period.ends_on
    return _by_value(source, cells, bad, "wrong_period", column=column, period=period.key)


def _add_up(mapping: Mapping, typed: dict[str, pd.Series]) -> None:
    """Fields mapped with ``sum_of`` (ACD Time + ACW Time): the parts added, a row with no
    part at all has no value."""
    for target, parts in mapping.sums:
        found = [typed.pop(p) for p in parts if p in typed]
        if found:
            typed[target] = pd.concat(found, axis=1).sum(axis=1, min_count=1)


def _duplicate_days(
    source: SourceTable, codes: np.ndarray, names: pd.Index, days: pd.Series | None
) -> list[Problem]:
    """Daily rows: an agent with two rows for the same day (a file pasted twice)."""
    if days is None:
        return []
    stamps = days.to_numpy(dtype="datetime64[ns]")
    known = ~np.isnat(stamps) & (codes >= 0)
    day = stamps.astype("datetime64[D]").astype(np.int64)
    # one integer per (agent, day): the days since the file's first (the period bounds them far
    # below 2**20; a day outside it is refused anyway) beside the agent's code
    if not known.any():
        return []
    offset = np.clip(day - day[known].min(), 0, (1 << 20) - 1)
    span = int(offset[known].max()) + 1
    agents = int(codes.max()) + 1
    if agents * span <= max(4 * len(codes), 1 << 22):  # a month of days: count in a table
        key = np.where(known, codes.astype(np.int64) * span + offset, 0)
        doubled = (np.bincount(key[known], minlength=agents * span) > 1)[key] & known
    else:
        key = np.where(known, codes.astype(np.int64) * (1 << 20) + offset, -1)
        doubled = pd.Series(key).duplicated(keep=False).to_numpy() & known
    problems = []
    for code in np.unique(codes[doubled]):
        mine = doubled & (codes == code)
        first = pd.Timestamp(stamps[mine][0]).date().isoformat()
        problems.append(
            at_rows(
                "duplicate_agent_day", source.file_rows(mine), name=str(names[int(code)]), day=first
            )
        )
    return problems


def _day_rules(mapping: Mapping, fields: list[str]) -> dict[str, kpi.RowRule]:
    """How each column of a daily file makes the period's value
    (:func:`scoring.kpi.combine_rows`)."""
    declared = {d.id: d for d in mapping.declared}
    rules: dict[str, kpi.RowRule] = {}
    for field_name in fields:
        item = declared.get(field_name)
        if item is not None:
            rules[field_name] = kpi.RowRule(item.combine, item.weight)
        elif (
            field_name in kpi.SUMMARY_FIELDS
            and kpi.SUMMARY_FIELDS[field_name].combine == "weighted"
        ):
            spec = mapping.column(field_name)
            rules[field_name] = kpi.RowRule(
                "weighted", (spec.weight if spec else None) or mapping.weight
            )
        else:  # counts, money, totals, a declared indicator's numerator and denominator
            rules[field_name] = kpi.RowRule("sum")
    return rules


def _recomputable(fields: set[str]) -> set[str]:
    """Rates and averages a daily file gives whose numerator and denominator it gives too:
    recomputed from the summed parts rather than combined as they are."""
    return {
        f
        for f in fields
        if f in kpi.FORMULAS
        and kpi.FORMULAS[f].kind != "identity"
        and {kpi.FORMULAS[f].numerator, kpi.FORMULAS[f].denominator} <= fields
    }


def _per_member(
    mapping: Mapping, typed: dict[str, pd.Series], codes: np.ndarray, member_of: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """The file's numbers, one row per agent (daily rows combined): ``(frame, agent code per
    row)``."""
    numbers = {
        f: s.to_numpy(dtype="float64", na_value=np.nan)
        for f, s in typed.items()
        if f not in ("agent", "period", "date")
    }
    if not mapping.daily:
        return pd.DataFrame(numbers, index=pd.Index(member_of[codes], name="member")), codes
    for given in _recomputable(set(numbers)):
        del numbers[given]
    frame = pd.DataFrame(numbers, copy=False)
    combined = kpi.combine_rows(frame, codes, _day_rules(mapping, list(numbers)))
    groups = combined.index.to_numpy()
    return combined.set_axis(pd.Index(member_of[groups], name="member")), groups


class _Labels:
    """The agent name of each row of the per-member frame, looked up only when asked."""

    def __init__(self, names: pd.Index, row_codes: np.ndarray) -> None:
        self.names, self.row_codes = names, row_codes

    def __getitem__(self, row: int) -> str:
        return str(self.names[int(self.row_codes[row])])


def _declared_values(
    mapping: Mapping, frame: pd.DataFrame, labels: _Labels, source: SourceTable
) -> pd.DataFrame:
    """The mapping's own indicators: a numerator over a denominator divided (a rate's
    numerator above its denominator refused), the part columns dropped."""
    impossible: list[Problem] = []
    for item in mapping.declared:
        if not item.numerator:
            continue
        top_field, bottom_field = item.fields
        if top_field not in frame.columns or bottom_field not in frame.columns:
            frame = frame.drop(columns=[c for c in item.fields if c in frame.columns])
            continue
        top = frame[top_field].to_numpy(dtype="float64")
        bottom = frame[bottom_field].to_numpy(dtype="float64")
        if item.unit == "%":
            bad = top > bottom + 1e-9
            impossible += [
                Problem(
                    "impossible_ratio",
                    {
                        "name": labels[int(i)],
                        "numerator": _col(mapping, source, top_field),
                        "denominator": _col(mapping, source, bottom_field),
                    },
                )
                for i in np.flatnonzero(bad)
            ]
        frame = frame.drop(columns=list(item.fields))
        frame[item.id] = top / np.where(bottom > 0, bottom, np.nan)
    if impossible:
        raise ImportRefused(impossible)
    return frame


def _measures(
    source: SourceTable,
    mapping: Mapping,
    typed: dict[str, pd.Series],
    codes: np.ndarray,
    names: pd.Index,
    member_of: np.ndarray,
    aggregated: _Beside,
) -> Prepared:
    rows = len(source.rows)
    if mapping.kind == "summary":
        per_member, row_codes = _per_member(mapping, typed, codes, member_of)
        labels = _Labels(names, row_codes)  # an agent's name, made only for a problem's message
        impossible = kpi.ratio_violations(
            kpi.complete_ratings(per_member).set_axis(pd.RangeIndex(len(per_member)))
        )
        if impossible:
            raise ImportRefused(
                [
                    Problem(
                        "impossible_ratio",
                        {
                            "name": labels[int(row)],
                            "numerator": _col(mapping, source, a),
                            "denominator": _col(mapping, source, b),
                        },
                    )
                    for row, a, b in impossible
                ]
            )
        measures = _declared_values(mapping, per_member, labels, source)
    else:
        measures = _in_code_order(aggregated.result(), names)
        measures.index = pd.Index(member_of[:-1], name="member")
    values = kpi.derive(measures)
    keep = kpi.indicators_of(values) + [d.id for d in mapping.declared if d.id in values.columns]
    values = values[keep]
    agents = dict(zip(member_of[:-1].tolist(), (str(n) for n in names.tolist()), strict=True))
    weight = _col(mapping, source, mapping.weight) if mapping.daily and mapping.weight else ""
    return Prepared(
        mapping,
        source.encoding,
        rows,
        values,
        agents,
        dict(source.skipped),
        source.blank_rows,
        source.no_value_cells,
        sum(int(m.sum()) for m in source.zero_masks.values()),
        weight,
    )


def _event_measures(
    mapping: Mapping, typed: dict[str, pd.Series], agents: pd.Series
) -> pd.DataFrame:
    """An event file's measures per category of ``agents`` (:func:`scoring.kpi.aggregate`)."""
    events = pd.DataFrame(
        copy=False,
        data={
            f: s
            for f, s in typed.items()
            if f not in ("time",) and kpi.fields_for(mapping.kind)[f].type not in ("text", "id")
        },
    )
    events["agent"] = agents
    return kpi.aggregate(events, mapping.kind)


def _in_code_order(measures: pd.DataFrame, names: pd.Index) -> pd.DataFrame:
    """The aggregation's rows (one per category of the agent column it was given: the agent
    codes, or the agent column's own categories) in the order of the agent codes."""
    index = measures.index
    if isinstance(index, pd.RangeIndex) or (len(index) == len(names) and index.equals(names)):
        return measures
    return measures.reindex(pd.Index(list(names), dtype=index.dtype))


def _col(mapping: Mapping, source: SourceTable, field: str) -> str:
    return _header_of(source, mapping, field) if mapping.column(field) else field
