"""Reading a CSV or .xlsx export into a frame of the mapped columns.

The encoding of a CSV is *detected and reported*, never guessed silently: a UTF-8
byte-order mark means UTF-8 with BOM; text that is valid UTF-8 is UTF-8; otherwise
the file must decode strictly as GBK (or its superset GB18030), which is then named
in the import's summary and stored on its record. Anything else is refused with
a message saying how to save the file. A mapping can pin the encoding instead.

CSV bodies are parsed by pyarrow's multi-threaded reader, reading only the mapped
columns; text-like fields are read as strings so that ids keep their leading zeros.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import PurePath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from commands.importing.mapping import ColumnSpec, Mapping
from commands.importing.problems import ImportRefused, Problem

MAX_FILE_BYTES = 256 * 1024 * 1024
"""The largest export kpibot reads (a month of one row per session for a large centre is
well under this); a larger file is refused before it is read."""
NULL_VALUES = ["", "-", "--", "—", "N/A", "n/a", "NA", "NULL", "null", "None", "nan", "NaN"]
_NOTHING = frozenset(NULL_VALUES)
STRING_TYPES = {"text", "id", "period"}
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an .xls (BIFF in an OLE container)
MAX_SHEET_ROWS = 1_048_576  # what Excel itself holds
MAX_SHEET_CELLS = 20_000_000
MAX_SHEET_XML_BYTES = 512 * 1024 * 1024
"""A sheet of a zipped workbook (.xlsx, .ods) may unpack to at most this many bytes: a
few bytes of file can hold gigabytes of XML (a "zip bomb"), so the sizes are checked in
the zip's directory, and the sheet's declared dimensions, before anything is unpacked."""
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "gbk": "GBK",
    "gb2312": "GBK",
    "gb18030": "GB18030",
}


@dataclass
class SourceTable:
    """The mapped columns of a file, renamed to their field names.

    ``rows`` gives each frame row's number in the file as a spreadsheet shows it.
    """

    frame: pd.DataFrame
    header: list[str]
    encoding: str
    rows: np.ndarray
    problems: list[Problem]
    skipped: dict[str, int] = dataclass_field(default_factory=dict)
    """Rows left out by the mapping's ``skip_rows``: agent cell → how many rows."""
    blank_rows: int = 0
    no_value_cells: int = 0
    """Mapped cells without a value (empty, or a spelling of "no value" such as - or 延迟统计)."""
    zero_masks: dict[str, np.ndarray] = dataclass_field(default_factory=dict)
    """Per ``blank = "zero"`` column: which rows had an empty cell (read as 0)."""
    repeats: frozenset[str] = frozenset()
    """Fields reading a column another field reads too (counted once in ``no_value_cells``)."""
    clean_text: set[str] = dataclass_field(default_factory=set)
    """Text columns no cell of which a trim would change or spells nothing (read as they are)."""
    empties: dict[str, tuple[np.ndarray | None, bool]] = dataclass_field(default_factory=dict)
    """Per field, what :func:`_empties_and_clean` says of its column, when the reader found it
    already (while it waited for the agent column); :func:`_finish` finds the rest."""

    def file_rows(self, mask: np.ndarray | pd.Series) -> list[int]:
        return [int(r) for r in self.rows[np.asarray(mask, dtype=bool)]]


_ARROWS = re.compile(r"->|→|=>|－>|＞")
_UNIT = re.compile(r"\([^()]{1,6}\)$")


def normalize_header(name: str) -> str:
    """Header cells compared loosely: full-width → half-width (``（秒)`` is ``(秒)``), spaces,
    case and arrows ignored (``询单->最终付款人数`` = ``询单→最终付款人数`` =
    ``询单最终付款人数``)."""
    return _ARROWS.sub("", "".join(unicodedata.normalize("NFKC", name).split()).casefold())


def without_unit(normalized: str) -> str:
    """A normalized header without a trailing unit in brackets: ``首次响应时长(秒)`` →
    ``首次响应时长``."""
    return _UNIT.sub("", normalized)


def match_columns(
    header: list[str], columns: tuple[ColumnSpec, ...]
) -> tuple[dict[str, str], list[Problem]]:
    """``{field: header name}`` for every mapped field found, and the missing or doubled columns."""
    by_norm: dict[str, list[str]] = {}
    for name in header:
        by_norm.setdefault(normalize_header(name), []).append(name)
    by_loose: dict[str, list[str]] = {}
    for name in header:
        by_loose.setdefault(without_unit(normalize_header(name)), []).append(name)
    found: dict[str, str] = {}
    problems: list[Problem] = []
    missing: list[list[str]] = []
    shown = [h for h in header if h.strip()]
    for spec in columns:
        hits = [by_norm[n] for n in (normalize_header(x) for x in spec.names) if n in by_norm]
        if not hits:  # then with or without a unit: 首次响应时长（秒) for 首次响应时长
            hits = [
                by_loose[n]
                for n in (without_unit(normalize_header(x)) for x in spec.names)
                if n in by_loose
            ]
        if not hits:
            if not spec.optional:
                missing.append(list(spec.names))
            continue
        if len(hits[0]) > 1:
            problems.append(Problem("duplicate_column", {"column": hits[0][0]}))
            continue
        found[spec.field] = hits[0][0]
    if missing:  # one problem naming every missing column, and the header once
        problems.insert(0, Problem("missing_columns", {"expected": missing, "found": shown}))
    if not found:
        raise ImportRefused(problems)
    return found, problems


def read_source(data: bytes, file_name: str, mapping: Mapping) -> SourceTable:
    """The mapped columns of ``data`` (a CSV or .xlsx file's bytes)."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(
            [
                Problem(
                    "file_too_large",
                    {
                        "size_mb": round(len(data) / 1024 / 1024, 1),
                        "limit_mb": MAX_FILE_BYTES // 1024 // 1024,
                    },
                )
            ]
        )
    if not data or (len(data) < 1 << 16 and not data.strip()):  # no copy of a large file
        raise ImportRefused([Problem("empty_file")])
    suffix = PurePath(file_name).suffix.lower()
    if suffix in SPREADSHEETS or data[:4] == b"PK\x03\x04" or data[:8] == OLE_MAGIC:
        return _finish(_read_sheet(data, mapping), mapping)
    if suffix not in ("", ".csv", ".txt", ".tsv"):
        raise ImportRefused([Problem("unsupported_file", {"suffix": suffix})])
    return _finish(_read_csv(data, mapping), mapping)


def header_of(data: bytes, file_name: str, mapping: Mapping) -> list[str]:
    """The column names on the mapping's header row, read without the rows below it (to see
    which mappings fit a file); :class:`ImportRefused` when the file cannot be read so far."""
    suffix = PurePath(file_name).suffix.lower()
    if suffix in SPREADSHEETS or data[:4] == b"PK\x03\x04" or data[:8] == OLE_MAGIC:
        from python_calamine import CalamineWorkbook

        if data[:4] == b"PK\x03\x04":
            check_zipped_sheets(data)
        book = None
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            names = list(book.sheet_names)
            if not names or (mapping.sheet and mapping.sheet not in names):
                return []
            sheet = (
                book.get_sheet_by_name(mapping.sheet)
                if mapping.sheet
                else book.get_sheet_by_index(0)
            )
            first = sheet.start[0] if sheet.start else 0
            rows = sheet.to_python(skip_empty_area=False, nrows=mapping.header_row)
        except Exception as exc:  # calamine raises its own kinds for a damaged file
            raise ImportRefused(
                [Problem("xlsx_unreadable", {"detail": str(exc) or type(exc).__name__})]
            ) from None
        finally:
            if book is not None:
                book.close()
        row = mapping.header_row - 1 - first
        return [_cell_text(c).strip() for c in rows[row]] if 0 <= row < len(rows) else []
    _encoding, buffer = detect_encoding(data, mapping.encoding)
    return _header(buffer, mapping)


def _finish(source: SourceTable, mapping: Mapping) -> SourceTable:
    """Leave out the rows that are not agents (``skip_rows``) and blank rows; count the
    cells without a value; note the empty cells of ``blank = "zero"`` columns."""
    frame = source.frame
    keep = np.ones(len(frame), dtype=bool)
    if "agent" in frame.columns and mapping.skip_rows:
        pattern = re.compile("|".join(f"(?:{p})" for p in mapping.skip_rows))
        agents = frame["agent"]
        distinct = (
            agents.cat.categories
            if isinstance(agents.dtype, pd.CategoricalDtype)
            else pd.Index(agents.dropna().unique())
        )
        hits = [
            v
            for v in _may_match(distinct, mapping.skip_rows).tolist()  # a list: iterating
            # an Arrow-backed index is slow
            if isinstance(v, str | int | float) and pattern.fullmatch(str(v).strip())
        ]
        if hits:
            matched = agents.isin(hits).to_numpy(dtype=bool)
            for hit in hits:
                source.skipped[str(hit).strip()] = int((agents == hit).sum())
            keep &= ~matched
    empty: dict[str, np.ndarray | None] = {}  # None: no cell of the column is empty
    for name in frame.columns:
        found = source.empties.pop(name, None)
        empty[name], clean = _empties_and_clean(frame[name]) if found is None else found
        if clean:
            source.clean_text.add(name)
    masks = [m for m in empty.values() if m is not None]
    if masks and len(masks) == len(empty):  # a row is blank when every cell is empty
        blank_row = np.logical_and.reduce(masks)
        source.blank_rows = int(np.count_nonzero(blank_row & keep))
        keep &= ~blank_row
    for spec in mapping.columns:
        if spec.blank == "zero" and spec.field in frame.columns:
            source.zero_masks[spec.field] = _blank(frame[spec.field])[keep]
    if not keep.all():
        frame = frame[keep].reset_index(drop=True)
        source.rows = source.rows[keep]
        empty = {name: None if mask is None else mask[keep] for name, mask in empty.items()}
    if len(frame) == 0:
        raise ImportRefused([Problem("no_rows")])
    zero = sum(np.count_nonzero(m) for m in source.zero_masks.values())
    source.no_value_cells = int(
        sum(
            np.count_nonzero(m)
            for name, m in empty.items()
            if m is not None and name not in source.repeats
        )
        - zero
    )
    source.frame = frame
    return source


def _may_match(distinct: pd.Index, patterns: tuple[str, ...]) -> pd.Index:
    """The distinct agent cells a ``skip_rows`` pattern may match: when every pattern is plain
    text (合计, 全店汇总值 …), only the cells containing one of them, found in one vectorised
    pass over the Arrow strings; the caller still matches each of those exactly."""
    if not isinstance(distinct.array, pd.arrays.ArrowStringArray) or any(
        re.escape(p) != p for p in patterns
    ):
        return distinct
    text = distinct.array.__arrow_array__()
    near = np.zeros(len(distinct), dtype=bool)
    for plain in patterns:
        found = pc.fill_null(pc.match_substring(text, plain), False)
        near |= np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return distinct[near]


def _says_nothing(value: object) -> bool:
    return isinstance(value, str) and (not value.strip() or value.strip() in _NOTHING)


_NOTHING_ARROW = pa.array(sorted(_NOTHING), pa.string())
LONGEST_NOTHING = max(len(v.encode()) for v in NULL_VALUES)
assert LONGEST_NOTHING >= 3  # text_candidates reads the last three bytes of a longer cell


_SPACE_LEADS = np.zeros(256, dtype=bool)
"""The UTF-8 first bytes that may begin a white space or control character: ASCII space and
controls, and every character of U+0080…U+00BF and U+1000…U+3FFF (no-break space, the
U+2000 spaces, the ideographic space U+3000 …). A superset: no other character is either."""
_SPACE_LEADS[: 0x20 + 1] = True
_SPACE_LEADS[0x7F : 0xC2 + 1] = True
_SPACE_LEADS[0xE1 : 0xE3 + 1] = True


def text_candidates(chunk: pa.Array) -> np.ndarray:
    """Which cells of a string array trimming might change or might spell "nothing": a cell
    present and no longer than the longest spelling of nothing, or whose first or last
    character may be white space. Every other cell certainly is neither.

    Straight from the Arrow offsets and bytes (a few numpy passes, no copy of the text),
    so that a clean column of a million cells is judged without trimming it.
    """
    size = len(chunk)
    offset_type = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
    offsets = np.frombuffer(
        chunk.buffers()[1], offset_type, size + 1, chunk.offset * offset_type.itemsize
    )
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    candidates = lengths <= LONGEST_NOTHING
    body = chunk.buffers()[2]
    data = np.frombuffer(body, np.uint8) if body is not None else np.zeros(0, np.uint8)
    valid = (
        np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if chunk.null_count
        else None
    )
    present = np.ones(size, dtype=bool) if valid is None else valid
    width = int(lengths[present.argmax()]) if present.any() else 0
    if width > LONGEST_NOTHING and bool(((lengths == width) == present).all()):
        # ids and clock times of one width (S0001234, 04:30; a missing cell takes no bytes):
        # the cells side by side, one row of a 2-D view each, their first and last bytes read
        # as columns (no gather)
        count = int(present.sum()) if valid is not None else size
        cells = data[int(offsets[0]) : int(offsets[0]) + width * count].reshape(count, width)
        last = cells[:, -1]
        lead = (
            last
            if bool((last < 0x80).all())  # every cell ends in ASCII (ids, clocks, numbers)
            else np.where(
                last < 0x80,
                last,
                np.where(
                    cells[:, -2] >= 0xC0,
                    cells[:, -2],
                    np.where(cells[:, -3] >= 0xE0, cells[:, -3], 0xF0),
                ),
            )
        )
        named = _SPACE_LEADS[cells[:, 0]] | _SPACE_LEADS[lead]
        if valid is None:
            return named
        candidates = np.zeros(size, dtype=bool)
        candidates[valid] = named
        return candidates
    if len(data) and not candidates.all():
        top = len(data) - 1  # an empty cell may point past the end (its byte is ignored)
        last = data[np.minimum(ends - 1, top)]
        ascii_end = last < 0x80
        candidates |= _SPACE_LEADS[data[np.minimum(starts, top)]] | (ascii_end & _SPACE_LEADS[last])
        wide = np.flatnonzero(~ascii_end & ~candidates)  # ends in a character of 2-4 bytes
        if len(wide):
            # its first byte: two back for U+0080…U+07FF, three for U+0800…U+FFFF, else a
            # character of 4 bytes (a long cell has at least LONGEST_NOTHING + 1 > 3 bytes)
            second = data[ends[wide] - 2]
            third = data[ends[wide] - 3]
            lead = np.where(second >= 0xC0, second, np.where(third >= 0xE0, third, 0xF0))
            candidates[wide] = _SPACE_LEADS[lead]
    if valid is not None:
        candidates &= valid
    return candidates


def _empty(column: pd.Series) -> np.ndarray:
    """Cells without a value: missing, or text that is blank or spells "nothing".

    A categorical column is judged by its distinct values, an Arrow-backed text column
    by looking closer only at the cells :func:`text_candidates` names; only a
    spreadsheet's mixed cells are looked at one by one.
    """
    mask = _empties_and_clean(column)[0]
    return np.zeros(len(column), dtype=bool) if mask is None else mask


def _empties_and_clean(column: pd.Series) -> tuple[np.ndarray | None, bool]:
    """:func:`_empty`, None when no cell is empty (the usual column of a clean export: nothing
    to count, nothing to combine), and whether the column is Arrow text that needs no cleaning
    at all (no cell a trim would change or that spells nothing: the parser may then take it as
    it is)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return _categorical_empties(column), False
    if isinstance(column.array, pd.arrays.ArrowStringArray):
        text = column.array.__arrow_array__()
        mask = _nulls(text)
        looked = _arrow_cells(column, mask, blank_only=False)
        return (mask if mask.any() else None), not looked
    if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
        mask = column.isna().to_numpy(dtype=bool, copy=True)
        mask |= column.astype(object).map(_says_nothing).to_numpy(bool)
        return (mask if mask.any() else None), False
    if column.dtype == bool:  # numpy booleans hold no missing value
        return None, False
    mask = column.isna().to_numpy(dtype=bool)
    return (mask if mask.any() else None), False


def _categorical_empties(column: pd.Series) -> np.ndarray | None:
    """A categorical's empty cells: a missing code, or a category blank or spelling nothing."""
    codes = np.asarray(column.cat.codes.to_numpy())
    mask = codes < 0
    categories = column.cat.categories
    if len(categories):
        nothing = (
            _empty(pd.Series(categories))
            if isinstance(categories.array, pd.arrays.ArrowStringArray)
            else np.fromiter((_says_nothing(v) for v in categories.tolist()), bool, len(categories))
        )
        if nothing.any():  # rare: a category such as "-" the reader did not read as missing
            mask |= (codes >= 0) & nothing[np.maximum(codes, 0)]
    return mask if mask.any() else None


def _nulls(text: pa.ChunkedArray) -> np.ndarray:
    """The missing cells of Arrow text, from the validity bitmaps (zeros when there are none)."""
    if text.null_count == 0:
        return np.zeros(len(text), dtype=bool)
    mask = np.asarray(pc.is_null(text).to_numpy(zero_copy_only=False), dtype=bool)
    return mask if mask.flags.writeable else mask.copy()


def _arrow_cells(column: pd.Series, mask: np.ndarray, *, blank_only: bool) -> bool:
    """Mark in ``mask`` the text cells that are blank (or, unless ``blank_only``, spell nothing);
    whether any cell was a candidate (:func:`text_candidates`)."""
    at = 0
    looked = False
    for chunk in column.array.__arrow_array__().chunks:
        where = np.flatnonzero(text_candidates(chunk))
        if len(where):
            looked = True
            text = pc.utf8_trim_whitespace(chunk.take(pa.array(where)))
            said = pc.equal(text, "")
            if not blank_only:
                said = pc.or_(said, pc.is_in(text, value_set=_NOTHING_ARROW.cast(text.type)))
            hits = np.asarray(pc.fill_null(said, False).to_numpy(zero_copy_only=False), bool)
            mask[at + where[hits]] = True
        at += len(chunk)
    return looked


def _blank(column: pd.Series) -> np.ndarray:
    """Cells that are truly empty (not a spelling of "no value")."""
    if isinstance(column.array, pd.arrays.ArrowStringArray):
        mask = column.isna().to_numpy(dtype=bool, copy=True)
        _arrow_cells(column, mask, blank_only=True)
        return mask
    text = column.astype(object)
    return text.map(
        lambda v: (
            v is None
            or (isinstance(v, float) and np.isnan(v))
            or (isinstance(v, str) and not v.strip())
        )
    ).to_numpy(bool)


# --- encodings --------------------------------------------------------------------------


def _is_utf8(buffer: pa.Buffer) -> bool:
    """Validate UTF-8 without decoding into a Python string (no copy of the file)."""
    offsets = pa.array([0, buffer.size], pa.int64()).buffers()[1]
    array = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, buffer])
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def detect_encoding(data: bytes, wanted: str = "auto") -> tuple[str, pa.Buffer]:
    """``(encoding name as shown to people, UTF-8 buffer of the text without BOM)``."""
    buffer = pa.py_buffer(data)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportRefused([Problem("encoding_utf16")])
    if wanted != "auto":
        try:
            text = data.decode("utf-8-sig" if wanted in ("utf-8", "utf8") else wanted)
        except (UnicodeDecodeError, LookupError):
            raise ImportRefused([Problem("encoding_mismatch", {"encoding": wanted})]) from None
        return ENCODING_NAMES.get(wanted, wanted.upper()), pa.py_buffer(text.encode("utf-8"))
    if data[:3] == b"\xef\xbb\xbf":
        body = buffer.slice(3)
        if _is_utf8(body):
            return ENCODING_NAMES["utf-8-sig"], body
        raise ImportRefused([Problem("encoding_unknown")])
    if _is_utf8(buffer):
        return ENCODING_NAMES["utf-8"], buffer
    for codec in ("gbk", "gb18030"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        return ENCODING_NAMES[codec], pa.py_buffer(text.encode("utf-8"))
    raise ImportRefused([Problem("encoding_unknown")])


# --- CSV --------------------------------------------------------------------------------


def _header(buffer: pa.Buffer, mapping: Mapping) -> list[str]:
    head = buffer.slice(0, min(buffer.size, 1 << 16)).to_pybytes().decode("utf-8", "ignore")
    reader = csv.reader(io.StringIO(head), delimiter=mapping.delimiter)
    for number, row in enumerate(reader, start=1):
        if number == mapping.header_row:
            return [cell.strip() for cell in row]
    raise ImportRefused([Problem("no_rows")])


def _flag_spellings(mapping: Mapping, fields: list[str]) -> tuple[list[str], list[str]] | None:
    """One set of yes/no spellings for every flag column, for pyarrow to read them as booleans.

    None when the columns spell yes and no differently (one column's "否" is another's
    true): those flags are read as text and parsed per column.
    """
    specs = [s for s in mapping.columns if s.field in fields and s.type == "flag"]
    if not specs or any(
        (s.true_values, s.false_values) != (specs[0].true_values, specs[0].false_values)
        for s in specs
    ):
        return None

    def variants(values: tuple[str, ...]) -> list[str]:
        return sorted(
            {
                v
                for value in values
                for v in (value, value.lower(), value.upper(), value.capitalize())
            }
        )

    return variants(specs[0].true_values), variants(specs[0].false_values)


def _read_csv(data: bytes, mapping: Mapping) -> SourceTable:
    encoding, buffer = detect_encoding(data, mapping.encoding)
    header = _header(buffer, mapping)
    found, problems = match_columns(header, mapping.columns)
    specs = {spec.field: spec for spec in mapping.columns}
    flags = _flag_spellings(mapping, list(found))
    try:
        table = _arrow_read(buffer, mapping, found, specs, flags)
    except pa.ArrowInvalid as exc:
        if "conversion error" not in str(exc):
            raise ImportRefused([Problem("unreadable", {"detail": str(exc).strip()})]) from None
        try:  # a cell unlike the rest of its column: read everything as text to say which rows
            table = _arrow_read(buffer, mapping, found, specs, None, all_text=True)
        except pa.ArrowInvalid as again:
            raise ImportRefused([Problem("unreadable", {"detail": str(again).strip()})]) from None
    if table.num_rows == 0:
        raise ImportRefused([Problem("no_rows")])
    fields_of: dict[
        str, list[str]
    ] = {}  # a column may feed two fields (Answered: calls and AHT's count)
    for field_name, name in found.items():
        fields_of.setdefault(name, []).append(field_name)
    names = list(fields_of)
    table = table.select(names)
    empties: dict[str, tuple[np.ndarray | None, bool]] = {}
    agent = None  # the agent column's Arrow text, made a categorical beside the conversion below
    for at, name in enumerate(names):
        column = table.column(at)
        if pa.types.is_time(column.type):  # a seconds column written as h:mm[:ss]
            table = table.set_column(at, name, pc.cast(column, pa.string()))
        elif "agent" in fields_of[name] and pa.types.is_string(column.type) and agent is None:
            agent = name
    if agent is None:
        converted = _pandas_columns(table)
    else:
        # a few thousand names over many rows: a categorical, so that each name is cleaned and
        # matched once. Arrow's dictionary encoding (the GIL released) runs on a second thread
        # while this one converts the other columns: on two cores the two take the time of one.
        text = table.column(agent)
        table = table.drop_columns([agent])
        if len(text) < SIDE_BY_SIDE_ROWS:
            converted = _pandas_columns(table)
            converted[agent] = _categorical(text)
        else:
            with ThreadPoolExecutor(1, thread_name_prefix="kpibot-import") as side:
                encoded = side.submit(_categorical, text)
                del text
                converted = _pandas_columns(table)
                # while the names are still being encoded: the other columns' empty cells,
                # which _finish would look for next
                empties = {n: _empties_and_clean(c) for n, c in converted.items()}
                converted[agent] = encoded.result()
    del table
    columns: dict[str, pd.Series] = {}
    found_empties: dict[str, tuple[np.ndarray | None, bool]] = {}
    for name, fields in fields_of.items():
        for field_name in fields:
            columns[field_name] = converted[name]
            if name in empties:
                found_empties[field_name] = empties[name]
    frame = pd.DataFrame(columns, copy=False)
    rows = np.arange(mapping.header_row + 1, mapping.header_row + 1 + len(frame))
    repeats = frozenset(f for fields in fields_of.values() for f in fields[1:])
    return SourceTable(
        frame, header, encoding, rows, problems, repeats=repeats, empties=found_empties
    )


SIDE_BY_SIDE_ROWS = 100_000
"""From this many rows a step that releases the GIL runs on a second thread beside the next one
(the agent column's dictionary encoding beside the conversion of the others, an event file's
aggregation beside its checks); below it the thread would cost more than it saves."""


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """All columns at once, each Arrow column freed as its pandas one is made (self_destruct), so
    the peak stays near one copy. Dates as datetime64, not an object each; booleans as numpy
    booleans, unpacked straight from Arrow's bits, or, when a boolean column has gaps, all of
    them as pandas "boolean" (those without gaps then made numpy booleans by the caller)."""
    gaps = any(pa.types.is_boolean(c.type) and c.null_count for c in table.columns)
    frame: pd.DataFrame = table.to_pandas(
        use_threads=True,
        self_destruct=True,
        split_blocks=True,
        date_as_object=False,
        types_mapper={pa.bool_(): pd.BooleanDtype()}.get if gaps else None,
    )
    return frame


def _pandas_columns(table: pa.Table) -> dict[str, pd.Series]:
    """:func:`_to_pandas`, column by name; booleans without gaps as plain numpy booleans."""
    frame = _to_pandas(table)
    columns: dict[str, pd.Series] = {}
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, pd.BooleanDtype) and not series.hasnans:
            series = pd.Series(series.to_numpy(dtype=bool), index=series.index, name=name)
        columns[name] = series
    return columns


def _categorical(text: pa.ChunkedArray) -> pd.Series:
    """Text as a pandas categorical whose categories are in order of first appearance (as Arrow's
    dictionary encoding gives them), made straight from the dictionary and its indices."""
    encoded = pc.dictionary_encode(text.combine_chunks())
    indices = encoded.indices
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    categories = pd.CategoricalDtype(pd.Index(encoded.dictionary.to_pandas()))
    codes = indices.to_numpy(zero_copy_only=False)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=categories, validate=False))


SLICE_BYTES = 8 << 20
BLOCK_BYTES = SLICE_BYTES // 2
"""Each slice is parsed in two blocks (one per core of a small host): fewer, longer chunks per
column than pyarrow's 1 MB default, so that every later pass over a column's chunks costs less."""


def _arrow_read(
    buffer: pa.Buffer,
    mapping: Mapping,
    found: dict[str, str],
    specs: dict[str, ColumnSpec],
    flags: tuple[list[str], list[str]] | None,
    *,
    all_text: bool = False,
) -> pa.Table:
    """Only the mapped columns; text-like ones as strings, flags as booleans when they can be.

    The file is read in slices of about :data:`SLICE_BYTES`, cut at line ends, each by
    pyarrow's multi-threaded reader: as fast as reading it whole, but the reader's
    temporaries (about 1.5 × its result) exist for one slice at a time, so the peak
    memory stays near the size of the result. As in a whole-file read, column types
    are inferred from the start of the file and then held: a later cell unlike the
    rest of its column is a conversion error.
    """
    column_types: dict[str, pa.DataType] = {}
    for field, name in found.items():
        spec = specs[field]
        if all_text:
            column_types[name] = pa.string()
        elif spec.type == "flag":
            column_types[name] = pa.bool_() if flags is not None else pa.string()
        elif spec.type in STRING_TYPES or (spec.type == "seconds" and spec.unit == "mm:ss"):
            column_types[name] = pa.string()  # "04:30" must stay text, not become a time of day

    zero_blank = any(specs[f].blank == "zero" for f in found)
    nulls = [*NULL_VALUES, *mapping.no_value]
    if zero_blank:  # text columns keep their cells as written: an empty one means 0, "-" no value
        for field, name in found.items():
            if specs[field].blank == "zero":
                column_types[name] = pa.string()

    def convert(types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            include_columns=list(dict.fromkeys(found.values())),
            column_types=types,
            null_values=nulls,
            strings_can_be_null=not zero_blank,
            quoted_strings_can_be_null=not zero_blank,
            **({"true_values": flags[0], "false_values": flags[1]} if flags is not None else {}),
        )

    parse = pacsv.ParseOptions(delimiter=mapping.delimiter)
    cuts = _slices(buffer)
    first = pacsv.read_csv(
        pa.BufferReader(buffer.slice(0, cuts[0])),
        parse_options=parse,
        read_options=pacsv.ReadOptions(skip_rows=mapping.header_row - 1, block_size=BLOCK_BYTES),
        convert_options=convert(column_types),
    )
    if len(cuts) == 1:
        return first
    names = _column_names(buffer, mapping, parse)
    held = convert({f.name: f.type for f in first.schema})  # the types the first slice found
    tables = [first]
    for start, stop in zip(cuts, cuts[1:], strict=False):
        tables.append(
            pacsv.read_csv(
                pa.BufferReader(buffer.slice(start, stop - start)),
                parse_options=parse,
                read_options=pacsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES),
                convert_options=held,
            )
        )
    return pa.concat_tables(tables)


def _slices(buffer: pa.Buffer) -> list[int]:
    """Where each slice ends: after a line end about every :data:`SLICE_BYTES`, and the buffer's
    end."""
    data = memoryview(buffer)  # no copy
    cuts: list[int] = []
    at = SLICE_BYTES
    while at < buffer.size:
        end = _find_newline(data, at)
        if end < 0:
            break
        cuts.append(end + 1)
        at = end + 1 + SLICE_BYTES
    if not cuts or cuts[-1] < buffer.size:
        cuts.append(buffer.size)
    return cuts


def _find_newline(data: memoryview, start: int) -> int:
    """The position of the first line feed at or after ``start``, or -1."""
    step = 1 << 16
    while start < len(data):
        found = bytes(data[start : start + step]).find(b"\n")
        if found >= 0:
            return start + found
        start += step
    return -1


def _column_names(buffer: pa.Buffer, mapping: Mapping, parse: pacsv.ParseOptions) -> list[str]:
    """The header's column names as pyarrow reads them (for the slices after the first)."""
    data = memoryview(buffer)
    end = -1
    for _ in range(mapping.header_row):
        end = _find_newline(data, end + 1)
    header = pacsv.read_csv(
        pa.BufferReader(buffer.slice(0, end + 1)),
        parse_options=parse,
        read_options=pacsv.ReadOptions(skip_rows=mapping.header_row - 1),
    )
    return [str(name) for name in header.column_names]


# --- spreadsheets (.xlsx, .xls, .ods) -------------------------------------------------------


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def check_zipped_sheets(data: bytes) -> None:
    """Refuse a zipped workbook (.xlsx, .ods) whose sheets would unpack past the limits,
    reading only the zip's directory and the first bytes of each sheet (its
    ``<dimension ref="A1:AB120000">``), never a whole sheet."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ImportRefused([Problem("xlsx_unreadable", {"detail": str(exc)})]) from None
    limits = {"rows": MAX_SHEET_ROWS, "cells": MAX_SHEET_CELLS}
    with archive:
        for info in archive.infolist():
            name = info.filename
            if (
                not (name.startswith("xl/worksheets/") and name.endswith(".xml"))
                and name != "content.xml"
            ):
                continue
            if info.file_size > MAX_SHEET_XML_BYTES:
                raise ImportRefused(
                    [
                        Problem(
                            "sheet_too_large",
                            {
                                "sheet": name,
                                "detail": f"{info.file_size // 1024 // 1024} MB of XML",
                                **limits,
                            },
                        )
                    ]
                )
            if name == "content.xml":
                continue
            with archive.open(info) as stream:
                head = stream.read(4096)
            found = _DIMENSION.search(head)
            if found is None or found.group(3) is None:
                continue
            rows = int(found.group(4)) - int(found.group(2)) + 1
            columns = _column_number(found.group(3)) - _column_number(found.group(1)) + 1
            if rows > MAX_SHEET_ROWS or rows * columns > MAX_SHEET_CELLS:
                raise ImportRefused(
                    [
                        Problem(
                            "sheet_too_large",
                            {"sheet": name, "detail": f"{rows} rows × {columns} columns", **limits},
                        )
                    ]
                )


def _read_sheet(data: bytes, mapping: Mapping) -> SourceTable:
    """A sheet of an .xlsx, .xls or .ods workbook, read with calamine (python-calamine).

    Zipped workbooks are checked first (:func:`check_zipped_sheets`); an .xls is not
    compressed, so the file size limit bounds it.
    """
    from python_calamine import CalamineWorkbook

    if data[:4] == b"PK\x03\x04":
        check_zipped_sheets(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own kinds for a damaged file
        raise ImportRefused(
            [Problem("xlsx_unreadable", {"detail": str(exc) or type(exc).__name__})]
        ) from None
    try:
        names = list(book.sheet_names)
        if mapping.sheet:
            if mapping.sheet not in names:
                raise ImportRefused(
                    [Problem("sheet_missing", {"sheet": mapping.sheet, "found": names})]
                )
            sheet = book.get_sheet_by_name(mapping.sheet)
        elif names:
            sheet = book.get_sheet_by_index(0)
        else:
            raise ImportRefused([Problem("no_rows")])
        if sheet.height > MAX_SHEET_ROWS or sheet.height * max(sheet.width, 1) > MAX_SHEET_CELLS:
            raise ImportRefused(
                [
                    Problem(
                        "sheet_too_large",
                        {
                            "sheet": sheet.name,
                            "detail": f"{sheet.height} rows × {sheet.width} columns",
                            "rows": MAX_SHEET_ROWS,
                            "cells": MAX_SHEET_CELLS,
                        },
                    )
                ]
            )
        first = sheet.start[0] if sheet.start else 0  # calamine starts at the first used row
        table = sheet.to_python(skip_empty_area=False)
    except ImportRefused:
        raise
    except Exception as exc:
        raise ImportRefused(
            [Problem("xlsx_unreadable", {"detail": str(exc) or type(exc).__name__})]
        ) from None
    finally:
        book.close()
    at = mapping.header_row - 1 - first  # the header's index in ``table``
    if at < 0 or at >= len(table):
        raise ImportRefused([Problem("no_rows")])
    header = [_cell_text(v) for v in table[at]]
    found, problems = match_columns(header, mapping.columns)
    positions = {field: header.index(name) for field, name in found.items()}
    body = table[at + 1 :]
    nothing = set(mapping.no_value)
    columns: dict[str, pd.Series] = {}
    for field_name, i in positions.items():
        cells = [
            None if (c == "" or (isinstance(c, str) and c.strip() in nothing)) else c
            for c in (row[i] if i < len(row) else None for row in body)
        ]
        columns[field_name] = pd.Series(cells, dtype=object)
    if not body:
        raise ImportRefused([Problem("no_rows")])
    frame = pd.DataFrame(columns)
    rows = np.arange(mapping.header_row + 1, mapping.header_row + 1 + len(body))
    seen: set[int] = set()
    repeats = frozenset(f for f, i in positions.items() if i in seen or seen.add(i))  # type: ignore[func-returns-value]
    return SourceTable(
        frame,
        header,
        "xlsx" if data[:4] == b"PK\x03\x04" else "xls",
        rows,
        problems,
        repeats=repeats,
    )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
