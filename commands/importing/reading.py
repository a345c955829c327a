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
import unicodedata
from dataclasses import dataclass
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
STRING_TYPES = {"text", "id", "period"}
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "gbk": "GBK",
                  "gb2312": "GBK", "gb18030": "GB18030"}


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

    def file_rows(self, mask: np.ndarray | pd.Series) -> list[int]:
        return [int(r) for r in self.rows[np.asarray(mask, dtype=bool)]]


def normalize_header(name: str) -> str:
    """Header cells compared loosely: full-width → half-width, spaces and case ignored."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def match_columns(header: list[str], columns: tuple[ColumnSpec, ...]) -> tuple[dict[str, str], list[Problem]]:
    """``{field: header name}`` for every mapped field found, and the missing or doubled columns."""
    by_norm: dict[str, list[str]] = {}
    for name in header:
        by_norm.setdefault(normalize_header(name), []).append(name)
    found: dict[str, str] = {}
    problems: list[Problem] = []
    shown = [h for h in header if h.strip()]
    for spec in columns:
        hits = [by_norm[n] for n in (normalize_header(x) for x in spec.names) if n in by_norm]
        if not hits:
            if not spec.optional:
                problems.append(Problem("missing_column", {
                    "field": spec.field, "expected": list(spec.names), "found": shown}))
            continue
        if len(hits[0]) > 1:
            problems.append(Problem("duplicate_column", {"column": hits[0][0]}))
            continue
        found[spec.field] = hits[0][0]
    if not found:
        raise ImportRefused(problems)
    return found, problems


def read_source(data: bytes, file_name: str, mapping: Mapping) -> SourceTable:
    """The mapped columns of ``data`` (a CSV or .xlsx file's bytes)."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused([Problem("file_too_large", {"size_mb": round(len(data) / 1024 / 1024, 1),
                                                        "limit_mb": MAX_FILE_BYTES // 1024 // 1024})])
    if not data or (len(data) < 1 << 16 and not data.strip()):  # no copy of a large file
        raise ImportRefused([Problem("empty_file")])
    suffix = PurePath(file_name).suffix.lower()
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, mapping)
    if suffix not in ("", ".csv", ".txt", ".tsv"):
        raise ImportRefused([Problem("unsupported_file", {"suffix": suffix})])
    return _read_csv(data, mapping)


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
    if not specs or any((s.true_values, s.false_values) != (specs[0].true_values, specs[0].false_values)
                        for s in specs):
        return None

    def variants(values: tuple[str, ...]) -> list[str]:
        return sorted({v for value in values for v in (value, value.lower(), value.upper(), value.capitalize())})

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
    by_name = {v: k for k, v in found.items()}
    pending = {name: table.column(name) for name in found.values()}
    del table
    columns: dict[str, pd.Series] = {}
    for name in found.values():
        column = pending.pop(name)  # converted one at a time: the Arrow copy goes as the pandas one comes
        if pa.types.is_time(column.type):  # a seconds column written as h:mm[:ss]
            column = pc.cast(column, pa.string())
        if by_name[name] == "agent" and pa.types.is_string(column.type):
            # a few thousand names over many rows: a categorical, so that each name is
            # cleaned and matched once (pandas keeps the Arrow dictionary's codes)
            column = pc.dictionary_encode(column.combine_chunks())
        # booleans with gaps become pandas "boolean", not an object array of True/False/None
        if pa.types.is_boolean(column.type):
            columns[by_name[name]] = column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
        else:
            columns[by_name[name]] = column.to_pandas()
        del column
    frame = pd.DataFrame(columns, copy=False)
    rows = np.arange(mapping.header_row + 1, mapping.header_row + 1 + len(frame))
    return SourceTable(frame, header, encoding, rows, problems)


SLICE_BYTES = 8 << 20


def _arrow_read(buffer: pa.Buffer, mapping: Mapping, found: dict[str, str], specs: dict[str, ColumnSpec],
                flags: tuple[list[str], list[str]] | None, *, all_text: bool = False) -> pa.Table:
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

    def convert(types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            include_columns=list(found.values()), column_types=types,
            null_values=NULL_VALUES, strings_can_be_null=True, quoted_strings_can_be_null=True,
            **({"true_values": flags[0], "false_values": flags[1]} if flags is not None else {}),
        )

    parse = pacsv.ParseOptions(delimiter=mapping.delimiter)
    cuts = _slices(buffer)
    first = pacsv.read_csv(pa.BufferReader(buffer.slice(0, cuts[0])), parse_options=parse,
                           read_options=pacsv.ReadOptions(skip_rows=mapping.header_row - 1),
                           convert_options=convert(column_types))
    if len(cuts) == 1:
        return first
    names = _column_names(buffer, mapping, parse)
    held = convert({f.name: f.type for f in first.schema})  # the types the first slice found
    tables = [first]
    for start, stop in zip(cuts, cuts[1:], strict=False):
        tables.append(pacsv.read_csv(pa.BufferReader(buffer.slice(start, stop - start)), parse_options=parse,
                                     read_options=pacsv.ReadOptions(column_names=names), convert_options=held))
    return pa.concat_tables(tables)


def _slices(buffer: pa.Buffer) -> list[int]:
    """Where each slice ends: after a line end about every :data:`SLICE_BYTES`, and the buffer's end."""
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
        found = bytes(data[start:start + step]).find(b"\n")
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
    header = pacsv.read_csv(pa.BufferReader(buffer.slice(0, end + 1)), parse_options=parse,
                            read_options=pacsv.ReadOptions(skip_rows=mapping.header_row - 1))
    return [str(name) for name in header.column_names]


# --- xlsx -------------------------------------------------------------------------------


def _read_xlsx(data: bytes, mapping: Mapping) -> SourceTable:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportRefused([Problem("xlsx_unreadable", {"detail": str(exc) or type(exc).__name__})]) from None
    try:
        if mapping.sheet:
            if mapping.sheet not in book.sheetnames:
                raise ImportRefused([Problem("sheet_missing", {"sheet": mapping.sheet, "found": book.sheetnames})])
            sheet = book[mapping.sheet]
        else:
            sheet = book.worksheets[0]
        rows_iter = sheet.iter_rows(values_only=True)
        header: list[str] = []
        for number, row in enumerate(rows_iter, start=1):
            if number == mapping.header_row:
                header = ["" if v is None else str(v).strip() for v in row]
                break
        if not header:
            raise ImportRefused([Problem("no_rows")])
        found, problems = match_columns(header, mapping.columns)
        positions = {field: header.index(name) for field, name in found.items()}
        columns: dict[str, list[object]] = {field: [] for field in found}
        numbers: list[int] = []
        for number, row in enumerate(rows_iter, start=mapping.header_row + 1):
            cells = [row[i] if i < len(row) else None for i in positions.values()]
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            for field, cell in zip(positions, cells, strict=True):
                columns[field].append(cell)
            numbers.append(number)
    finally:
        book.close()
    if not numbers:
        raise ImportRefused([Problem("no_rows")])
    frame = pd.DataFrame({f: pd.Series(v, dtype=object) for f, v in columns.items()})
    return SourceTable(frame, header, "xlsx", np.asarray(numbers), problems)
