"""Cell values as exports write them → numbers, flags, seconds and times, vectorised.

Each parser takes a column (any dtype: typed by pyarrow, strings, or the mixed
objects of an .xlsx sheet) and returns the parsed values plus a boolean mask of
the cells it could not read. Empty cells are NaN/NaT and never an error here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from commands.importing.mapping import ColumnSpec, Mapping
from commands.importing.reading import NULL_VALUES, text_candidates

Parsed = tuple[pd.Series, pd.Series]  # (values, unreadable mask)
_NULLS = set(NULL_VALUES)
_UNIT_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0, "mm:ss": 1.0}
_PERIOD_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$|^(\d{4})(\d{2})$")
_PERIOD_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)


_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_CLOCK_NAMED = r"^(?:(?P<h>\d+):)?(?P<m>\d{1,3}):(?P<s>\d{1,2}(?:\.\d+)?)$"
_NULL_STRING = pa.scalar(None, pa.string())


def _arrow_text(column: pd.Series) -> pa.ChunkedArray:
    """The column as Arrow strings, trimmed, with the spellings of "nothing" as null.

    Only the cells :func:`~commands.importing.reading.text_candidates` names are trimmed
    and compared (a clean column is returned as it is, without a copy).
    """
    if column.dtype == object:  # .xlsx cells: numbers, strings, dates mixed
        column = column.map(lambda v: v if v is None or isinstance(v, str) else _plain(v))
    if isinstance(column.array, pd.arrays.ArrowStringArray):
        array = column.array.__arrow_array__()  # zero-copy
    else:
        array = pa.chunked_array([pa.array(column, type=pa.string(), from_pandas=True)])
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return _clean(array)
    chunks = []
    changed = False
    for chunk in array.chunks:
        candidates = text_candidates(chunk)
        if candidates.any():
            where = pa.array(candidates)
            cleaned = _clean(chunk.filter(where))
            chunk = pc.replace_with_mask(chunk, where, cleaned)
            changed = True
        chunks.append(chunk)
    return pa.chunked_array(chunks, array.type) if changed else array


def _clean(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    array = pc.utf8_trim_whitespace(array)
    nothing = pc.is_in(array, value_set=pa.array(NULL_VALUES, array.type))
    return pc.if_else(nothing, pa.scalar(None, array.type), array) if _any(nothing) else array


def _may_need_cleaning(text: pa.ChunkedArray) -> bool:
    """False when no cell can have surrounding white space or spell "nothing" (see
    :func:`~commands.importing.reading.text_candidates`)."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return True
    return any(text_candidates(chunk).any() for chunk in text.chunks)


def _any(mask: pa.ChunkedArray | pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _series(array: pa.ChunkedArray | pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(array.to_pandas(), index=index)


def _mask(array: pa.ChunkedArray | pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(
        pc.fill_null(array, False).to_numpy(zero_copy_only=False), index=index, dtype=bool
    )


def _to_float(text: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """``(float values, unreadable)``: a cell that is text but not a number is unreadable."""
    try:  # the common case, a clean column: one cast, no regular expression
        values = pc.cast(text, pa.float64())
        return values, pc.is_nan(pc.fill_null(values, 0.0))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    ok = pc.match_substring_regex(text, _NUMBER)
    values = pc.cast(pc.if_else(ok, text, _NULL_STRING), pa.float64())
    return values, pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))


def as_text(column: pd.Series) -> pd.Series:
    """Strings, stripped, with the export's spellings of "nothing" as missing.

    A categorical column (the agent column, read dictionary-encoded) stays categorical:
    only its distinct values are cleaned.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return per_distinct(column, lambda values: _series(_arrow_text(values), values.index))
    return _series(_arrow_text(column), column.index)


def per_distinct(column: pd.Series, clean: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``clean`` (text → text) applied to a categorical column's distinct values only.

    Values that become equal are merged and values that become missing drop out, so
    the result is what cleaning every row would give, as a categorical.
    """
    categories = pd.Series(
        column.cat.categories, dtype=object if column.cat.categories.empty else None
    )
    cleaned = clean(categories)
    if cleaned.notna().all() and cleaned.is_unique and bool((cleaned == categories).all()):
        return column  # nothing to clean: keep the codes as they are
    new_codes, uniques = pd.factorize(cleaned, use_na_sentinel=True)
    old = np.asarray(column.cat.codes.to_numpy(), dtype=np.intp)
    codes = np.append(new_codes, -1)[old]  # a missing cell (code -1) picks the appended -1
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(uniques)), index=column.index
    )


def _plain(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _raw(text: pa.ChunkedArray | pa.Array) -> list[bytes] | None:
    """The text bytes of each chunk (one copy, for byte searches), or None for non-strings."""
    found: list[bytes] = []
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return None
        if len(chunk) == chunk.null_count:
            continue
        offset_type = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
        offsets = np.frombuffer(
            chunk.buffers()[1], offset_type, len(chunk) + 1, chunk.offset * offset_type.itemsize
        )
        body = chunk.buffers()[2]
        if body is not None and offsets[-1] > offsets[0]:
            found.append(memoryview(body)[int(offsets[0]) : int(offsets[-1])].tobytes())
    return found


def _has(text: pa.ChunkedArray, part: str, raw: list[bytes] | None = None) -> bool:
    """Whether any cell may contain ``part``: a byte search of the text (True may also come
    from the bytes behind a missing cell; the caller's replacement is then merely unneeded)."""
    raw = _raw(text) if raw is None else raw
    if raw is None:
        return bool(pc.any(pc.match_substring(text, part)).as_py())
    needle = part.encode()
    return any(needle in body for body in raw)


def _clean_number_text(text: pa.ChunkedArray, mapping: Mapping) -> pa.ChunkedArray:
    """Thousands separators and currency signs removed (literal replacements, only when present)."""
    raw = _raw(text)  # searched for each sign; read again only after a replacement
    if (
        mapping.thousands
        and mapping.thousands != mapping.decimal
        and _has(text, mapping.thousands, raw)
    ):
        text = pc.replace_substring(text, mapping.thousands, "")
        raw = _raw(text)
    removed = False
    for sign in sorted(mapping.currency, key=len, reverse=True):
        if _has(text, sign, raw):
            text = pc.replace_substring(text, sign, "")
            raw = _raw(text)
            removed = True
    if removed:
        text = pc.utf8_trim_whitespace(text)
    if mapping.decimal != "." and _has(text, mapping.decimal, raw):
        text = pc.replace_substring(text, mapping.decimal, ".")
    return text


def parse_number(
    column: pd.Series, mapping: Mapping, *, allow_percent: bool = False
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(values, unreadable, had a % sign)``; thousands separators and currency signs removed."""
    index = column.index
    if is_numeric(column):
        false = pd.Series(False, index=index)
        return column.astype("float64"), false, false
    text = _clean_number_text(_arrow_text(column), mapping)
    if not allow_percent:
        values, unreadable = _to_float(text)
        false = pd.Series(False, index=index)
        return _series(values, index).astype("float64"), _mask(unreadable, index), false
    # 12.5 % → 12.5: the sign that ends a cell and the space before it
    pieces = [_without_percent(chunk) for chunk in _chunks(text)]
    text = pa.chunked_array([p[0] for p in pieces], text.type)
    percent = np.concatenate([p[1] for p in pieces]) if pieces else np.zeros(0, bool)
    values, unreadable = _to_float(text)
    return (
        _series(values, index).astype("float64"),
        _mask(unreadable, index),
        pd.Series(percent, index=index),
    )


def _chunks(text: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    return list(text.chunks) if isinstance(text, pa.ChunkedArray) else [text]


def _without_percent(chunk: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """``(the cells without a final % and the white space before it, which cells had it)``.

    When every % sign of the chunk ends its cell (the usual ``87.50%``), the signs are cut
    out of the Arrow buffers in a few numpy passes; otherwise by Arrow's string functions.
    """
    fast = _cut_final_percent(chunk)
    if fast is None:
        had = pc.fill_null(pc.ends_with(chunk, "%"), False)
        chunk = pc.if_else(had, pc.utf8_slice_codeunits(chunk, 0, -1), chunk)
        fast = chunk, np.asarray(had.to_numpy(zero_copy_only=False), dtype=bool)
    chunk, had = fast
    return (pc.utf8_rtrim_whitespace(chunk) if _may_end_in_space(chunk) else chunk), had


def _string_buffers(chunk: pa.Array) -> tuple[np.dtype, np.ndarray, np.ndarray] | None:
    """``(offset type, offsets, bytes)`` of an unsliced string array, else None."""
    if chunk.offset or not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return None
    offset_type = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
    offsets = np.frombuffer(chunk.buffers()[1], offset_type, len(chunk) + 1)
    body = chunk.buffers()[2]
    data = np.frombuffer(body, np.uint8) if body is not None else np.zeros(0, np.uint8)
    return offset_type, offsets, data


def _cut_final_percent(chunk: pa.Array) -> tuple[pa.Array, np.ndarray] | None:
    found = _string_buffers(chunk)
    if found is None:
        return None
    offset_type, offsets, data = found
    ends = offsets[1:]
    if len(data) == 0:
        return chunk, np.zeros(len(chunk), dtype=bool)
    had = (np.diff(offsets) > 0) & (data[np.minimum(ends - 1, len(data) - 1)] == ord("%"))
    if chunk.null_count:
        had &= np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    signs = int(np.count_nonzero(data[int(offsets[0]) : int(offsets[-1])] == ord("%")))
    if signs != int(had.sum()):
        return None  # a % sign inside a cell (or behind a missing one): the general way
    if not signs:
        return chunk, had
    keep = np.ones(len(data), dtype=bool)
    keep[ends[had] - 1] = False
    cut = np.concatenate(([0], np.cumsum(had)))  # signs removed before each cell
    return (
        pa.Array.from_buffers(
            chunk.type,
            len(chunk),
            [
                chunk.buffers()[0],
                pa.py_buffer((offsets - cut).astype(offset_type)),
                pa.py_buffer(data[keep]),
            ],
            null_count=chunk.null_count,
        ),
        had,
    )


def _may_end_in_space(chunk: pa.Array) -> bool:
    """False when no cell can end in white space (each ends in a visible ASCII character)."""
    found = _string_buffers(chunk)
    if found is None:
        return True
    _type, offsets, data = found
    present = np.diff(offsets) > 0
    if chunk.null_count:
        present &= np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if not present.any():
        return False
    last = data[offsets[1:][present] - 1]
    return bool(((last <= 0x20) | (last >= 0x7F)).any())


def parse_ratio(column: pd.Series, spec: ColumnSpec, mapping: Mapping) -> Parsed:
    """``12.5%`` → 0.125; a bare number is a fraction or a percent as the mapping says."""
    values, unreadable, percent = parse_number(column, mapping, allow_percent=True)
    scale = percent | (spec.percent == "percent")
    return values.where(~scale, values / 100.0), unreadable


def parse_seconds(column: pd.Series, spec: ColumnSpec, mapping: Mapping) -> Parsed:
    """Seconds from a number in the column's unit, or from ``mm:ss`` / ``h:mm:ss`` text."""
    factor = _UNIT_SECONDS[spec.unit]
    if column.dtype == object:  # an .xlsx cell may hold a time of day or a timedelta
        column = column.map(_clock_cell)
    if is_numeric(column):
        values = column.astype("float64")
        return (values if factor == 1.0 else values * factor), pd.Series(False, index=column.index)
    if isinstance(column.array, pd.arrays.ArrowStringArray):
        clocks = _plain_clocks(column.array.__arrow_array__())
        if clocks is not None:  # the usual export: every cell empty or a plain clock time
            return pd.Series(clocks, index=column.index, copy=False), pd.Series(
                False, index=column.index
            )
    text = _arrow_text(column)
    if any(bool(pc.any(pc.ends_with(text, end)).as_py()) for end in ("秒", "s", "c")):
        text = pc.replace_substring_regex(text, r"\s*(?:秒|s|sec)$", "")
    if _has(text, ":"):
        clock = _clock_seconds(text)
        rest = pc.and_(pc.is_valid(text), pc.is_null(clock))
        values = clock
        if _any(rest):  # a mixed column: the cells without a clock time are plain numbers
            number, _bad = _to_float(pc.if_else(rest, text, pa.scalar(None, text.type)))
            values = pc.coalesce(clock, pc.multiply(number, factor))
    else:
        number, _bad = _to_float(text)
        values = pc.multiply(number, factor)
    unreadable = pc.and_(pc.is_valid(text), pc.is_null(pc.if_else(pc.is_nan(values), None, values)))
    return _series(values, column.index).astype("float64"), _mask(unreadable, column.index)


# the plain clock shapes by length: each character's worth in seconds, None for the colon
_CLOCK_WEIGHTS: dict[int, tuple[int | None, ...]] = {
    4: (60, None, 10, 1),  # m:ss
    5: (600, 60, None, 10, 1),  # mm:ss
    7: (3600, None, 600, 60, None, 10, 1),  # h:mm:ss
    8: (36000, 3600, None, 600, 60, None, 10, 1),  # hh:mm:ss
}


def _plain_clocks(text: pa.ChunkedArray) -> np.ndarray | None:
    """Seconds when every cell is missing or exactly ``m:ss``, ``mm:ss``, ``h:mm:ss`` or
    ``hh:mm:ss`` in ASCII digits; None as soon as one cell is anything else (spaces, a
    unit, a fraction, a plain number …), for the general parser to read.

    Straight from the Arrow string buffers, a handful of numpy passes per shape. The
    values are those the general parser gives (minutes × 60 + seconds, also for 75:30).
    """
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None
    seconds = np.full(len(text), np.nan)
    at = 0
    for chunk in text.chunks:
        if not _plain_clock_chunk(chunk, seconds[at : at + len(chunk)]):
            return None
        at += len(chunk)
    return seconds


def _plain_clock_chunk(chunk: pa.Array, out: np.ndarray) -> bool:
    """Write the seconds of ``chunk``'s cells into ``out`` (missing cells left as they are);
    False when a cell is not a plain clock time."""
    size = len(chunk)
    offset_type = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
    offsets = np.frombuffer(
        chunk.buffers()[1], offset_type, size + 1, chunk.offset * offset_type.itemsize
    )
    body = chunk.buffers()[2]
    data = np.frombuffer(body, np.uint8) if body is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    valid = (
        None
        if chunk.null_count == 0
        else np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    )
    present = int(size if valid is None else np.count_nonzero(valid))
    if not present:
        return True
    width = int(lengths[0 if valid is None else int(valid.argmax())])
    if width in _CLOCK_WEIGHTS and int(offsets[-1] - offsets[0]) == width * present:
        # the common case, one width (a missing cell takes no bytes): the cells side by side
        first = int(offsets[0])
        cells = data[first : first + width * present].reshape(present, width)
        if bool((lengths == width).all() if valid is None else ((lengths == width) == valid).all()):
            total = _clock_cells(cells, _CLOCK_WEIGHTS[width])
            if total is None:
                return False
            if valid is None:
                out[:] = total
            else:
                out[valid] = total
            return True
    handled = 0
    for length, weights in _CLOCK_WEIGHTS.items():
        rows = np.flatnonzero((lengths == length) if valid is None else valid & (lengths == length))
        if not len(rows):
            continue
        starts = offsets[rows].astype(np.int64)
        gathered = np.zeros(len(rows), dtype=np.int64)
        for position, weight in enumerate(weights):
            byte = data[starts + position]
            if weight is None:
                if not (byte == ord(":")).all():
                    return False
                continue
            digit = byte - np.uint8(ord("0"))  # wraps above 9 for anything but a digit
            if not (digit <= 9).all():
                return False
            gathered += digit.astype(np.int64) * weight
        out[rows] = gathered
        handled += len(rows)
    return handled == present


def _clock_cells(cells: np.ndarray, weights: tuple[int | None, ...]) -> np.ndarray | None:
    """Seconds of clock times of one width, one row of bytes each; None when a byte where a
    digit belongs is not one, or one where a colon belongs is not a colon.

    Horner's rule over the digits in place (each weight is a whole multiple of the next: 600,
    60, 10, 1), then the value of the zeros taken off once: a few passes, one array."""
    digits = [i for i, w in enumerate(weights) if w is not None]
    for colon in (i for i, w in enumerate(weights) if w is None):
        if not bool((cells[:, colon] == ord(":")).all()):
            return None
    picked = cells[:, digits]
    if int(picked.min()) < ord("0") or int(picked.max()) > ord("9"):
        return None
    total = picked[:, 0].astype(np.int32)
    for previous, position in zip(digits, digits[1:], strict=False):
        step = weights[previous] // weights[position]  # type: ignore[operator]
        total *= step
        total += picked[:, digits.index(position)]
    total -= ord("0") * sum(w for w in weights if w is not None)
    return total


_STRPTIME_BASE = -2208988800  # 1900-01-01T00:00:00, the date strptime gives a bare clock time


def _clock_seconds(text: pa.ChunkedArray) -> pa.Array:
    """Seconds of ``mm:ss`` / ``h:mm:ss`` cells, null elsewhere, one chunk at a time.

    The common shapes go through Arrow's ``strptime`` (a fast C++ pass); the rest (minutes
    above 59, fractions of a second) are split at the colons. Working chunk by chunk keeps
    the intermediate arrays small.
    """
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    try:
        parts = [_clock_piece(chunk) for chunk in chunks]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # "3:xx": take the careful path
        return _clock_seconds_regex(pa.chunked_array(chunks, text.type))
    return pa.array(np.concatenate(parts) if parts else np.array([]), from_pandas=True)


def _clock_piece(chunk: pa.Array) -> np.ndarray:
    colon = pc.fill_null(pc.match_substring(chunk, ":"), False)
    result = np.full(len(chunk), np.nan)
    for fmt in ("%M:%S", "%H:%M:%S"):
        stamps = pc.strptime(chunk, format=fmt, unit="s", error_is_null=True)
        seconds = pc.cast(stamps, pa.int64()).to_numpy(zero_copy_only=False)
        found = np.asarray(pc.is_valid(stamps).to_numpy(zero_copy_only=False), dtype=bool)
        result[found] = seconds[found].astype(np.float64) - _STRPTIME_BASE
        rest = np.asarray(colon.to_numpy(zero_copy_only=False), dtype=bool) & np.isnan(result)
        if not rest.any():
            return result
    leftover = pc.if_else(pa.array(rest), chunk, pa.scalar(None, chunk.type))
    split = _clock_chunk(leftover)
    return np.where(rest, split, result)


def _clock_chunk(chunk: pa.Array) -> np.ndarray:
    clocks = pc.if_else(pc.match_substring(chunk, ":"), chunk, pa.scalar(None, chunk.type))
    parts = pc.split_pattern(clocks, ":")
    numbers = pc.cast(pc.list_flatten(parts), pa.float64()).to_numpy(zero_copy_only=False)
    lengths = pc.fill_null(pc.list_value_length(parts), 0).to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    result = np.full(len(chunk), np.nan)
    padded = np.concatenate((numbers, [np.nan, np.nan, np.nan]))
    two, three = lengths == 2, lengths == 3
    result[two] = padded[starts[two]] * 60 + padded[starts[two] + 1]
    result[three] = (
        padded[starts[three]] * 3600 + padded[starts[three] + 1] * 60 + padded[starts[three] + 2]
    )
    result[(two | three) & ~(result >= 0)] = np.nan
    return result


def _clock_seconds_regex(text: pa.Array) -> pa.Array:
    clock = pc.extract_regex(text, _CLOCK_NAMED)
    h = pc.struct_field(clock, "h")
    h = pc.if_else(pc.equal(h, ""), "0", h)
    return pc.add(
        pc.add(
            pc.multiply(pc.cast(h, pa.float64()), 3600.0),
            pc.multiply(pc.cast(pc.struct_field(clock, "m"), pa.float64()), 60.0),
        ),
        pc.cast(pc.struct_field(clock, "s"), pa.float64()),
    )


def _clock_cell(value: object) -> object:
    if isinstance(value, time):
        return f"{value.hour}:{value.minute:02d}:{value.second:02d}"
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def parse_flag(column: pd.Series, spec: ColumnSpec) -> Parsed:
    """True / False (pandas ``boolean``, one byte a cell) from 是/否, Y/N, 1/0 … (case ignored)."""
    if pd.api.types.is_bool_dtype(column):
        return column, pd.Series(False, index=column.index)
    text = pc.utf8_lower(_arrow_text(column))
    truths = pa.array(sorted({v.casefold() for v in spec.true_values}))
    falses = pa.array(sorted({v.casefold() for v in spec.false_values}))
    is_true = pc.is_in(text, value_set=truths)
    known = pc.or_(is_true, pc.is_in(text, value_set=falses))
    values = pd.arrays.BooleanArray(
        np.asarray(pc.fill_null(is_true, False).to_numpy(zero_copy_only=False), dtype=bool),
        ~np.asarray(pc.fill_null(known, False).to_numpy(zero_copy_only=False), dtype=bool),
    )
    unreadable = pc.and_(pc.is_valid(text), pc.invert(known))
    return pd.Series(values, index=column.index), _mask(unreadable, column.index)


def parse_time(column: pd.Series, spec: ColumnSpec) -> Parsed:
    """Timestamps; ``2026/10/03 09:15``, ``2026年10月3日`` and ISO 8601 are all read."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column, pd.Series(False, index=column.index)
    text = as_text(column)
    if spec.format:
        values = pd.to_datetime(text, format=spec.format, errors="coerce")
    else:
        cleaned = _arrow_text(column)
        cleaned = pc.replace_substring(
            pc.replace_substring_regex(cleaned, r"[/.年月]", "-"), "日", ""
        )
        cleaned = pc.replace_substring_regex(cleaned, r"-(\d)(\D|$)", r"-0\1\2")
        cleaned = pc.replace_substring_regex(
            cleaned, r"(\s)(\d):", r"\g<1>0\2:".replace(r"\g<1>", r"\1")
        )
        values = pd.to_datetime(_series(cleaned, column.index), format="ISO8601", errors="coerce")
    return values, text.notna() & values.isna()


def parse_period(value: str) -> tuple[date, date] | None:
    """The first and last day a period cell names: ``2026-10``, ``2026年10月``, ``2026-Q4`` or a
    date."""
    text = value.strip()
    month = _PERIOD_MONTH.match(text)
    if month:
        year, mon = (int(month.group(1) or month.group(3)), int(month.group(2) or month.group(4)))
        if 1 <= mon <= 12:
            return period_bounds(f"{year}-{mon:02d}")
        return None
    quarter = _PERIOD_QUARTER.match(text)
    if quarter:
        return period_bounds(f"{quarter.group(1)}-Q{quarter.group(2)}")
    stamp = pd.to_datetime(text.replace("/", "-"), errors="coerce", format="ISO8601")
    if pd.isna(stamp):
        return None
    return stamp.date(), stamp.date()


def period_bounds(key: str) -> tuple[date, date] | None:
    """First and last day of ``2026-10`` or ``2026-Q4``; None when the key is not a period."""
    match = re.fullmatch(r"(\d{4})-(?:(\d{2})|Q([1-4]))", key.strip())
    if not match:
        return None
    year = int(match.group(1))
    first_month = int(match.group(2)) if match.group(2) else (int(match.group(3)) - 1) * 3 + 1
    last_month = first_month if match.group(2) else first_month + 2
    if not 1 <= first_month <= 12:
        return None
    start = date(year, first_month, 1)
    end = (pd.Timestamp(year=year, month=last_month, day=1) + pd.offsets.MonthEnd(0)).date()
    return start, end


def parser_for(spec: ColumnSpec, mapping: Mapping) -> Callable[[pd.Series], Parsed]:
    """The parser of one mapped column (text-like columns are handled by the validator)."""
    if spec.type == "ratio":
        return lambda c: parse_ratio(c, spec, mapping)
    if spec.type == "seconds":
        return lambda c: parse_seconds(c, spec, mapping)
    if spec.type == "flag":
        return lambda c: parse_flag(c, spec)
    if spec.type == "time":
        return lambda c: parse_time(c, spec)

    def number(c: pd.Series) -> Parsed:
        values, unreadable, _percent = parse_number(c, mapping)
        return values, unreadable

    return number
